//! `smctest`: checks of the AF_SMC socket API and tools for the SMC tests,
//! run inside a guest.
//!
//! Each check prints `TEST <name> PASS` or `TEST <name> FAIL: <why>`, the
//! convention the VM rig counts. The exit code is non-zero if any failed
//! (1), or on a usage error (2).

mod args;
mod clccap;
mod nlcmd;
mod pattern;
mod sockapi;
mod stream;
mod sys;

use args::{parse_num, Args};
use smc_netlink::{diag, pnet, smc};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use sys::{errname, socket, RawAddr, AF_SMC, SMCPROTO_SMC, SMCPROTO_SMC6};

const USAGE: &str = "\
usage: smctest COMMAND ...
  skeleton                      AF_SMC socket creation, address checks, churn
  stream server|client [opts]   data-integrity stream test (smctest stream --help)
  sockapi --family F [opts]     socket-API conformance (smctest sockapi --help)
  stats [--all] [--since FILE]  SMC statistics and fallback reasons (C smc)
  devices                       SMC-D devices (SMC_NETLINK_GET_DEV_SMCD)
  linkgroups                    SMC-D link groups (SMC_NETLINK_GET_LGR_SMCD)
  sysinfo                       SMC system info and system EID
  hslimit [on|off]              the handshake limitation switch
  seid on|off                   switch the system EID (s390 only)
  diag                          every SMC socket: mode and fallback reason (smc_diag)
  ueid add|del EID | flush | list
  pnet add PNETID NAME | add PNETID [--eth NETDEV] [--ib DEV [--ib-port N]]
  pnet del PNETID | flush | list | count
  pnet add-many N               N entries PN<i> naming interfaces e<i> (one socket)
  as-user UID COMMAND [ARGS...] run COMMAND as UID (no capabilities)
  clccap --port P [--iface IF] [--count N] [--timeout S]   print captured CLC messages";

/// Records and prints check results.
#[derive(Default)]
pub struct Report {
    failed: usize,
}

impl Report {
    pub fn check(&mut self, name: &str, result: Result<(), String>) {
        match result {
            Ok(()) => println!("TEST {name} PASS"),
            Err(why) => {
                self.failed += 1;
                println!("TEST {name} FAIL: {why}");
            }
        }
    }
}

/// Expects `r` to be the error `want`.
fn expect_err<T>(r: Result<T, i32>, want: i32, what: &str) -> Result<(), String> {
    match r {
        Ok(_) => Err(format!("{what} succeeded, expected {}", errname(want))),
        Err(got) if got == want => Ok(()),
        Err(got) => Err(format!(
            "{what}: got {}, expected {}",
            errname(got),
            errname(want)
        )),
    }
}

/// The family before data transfer: sockets open and close, the rest is `EOPNOTSUPP`.
fn skeleton(report: &mut Report) {
    report.check(
        "smc-socket-v4",
        socket(AF_SMC, libc::SOCK_STREAM, SMCPROTO_SMC)
            .map(drop)
            .map_err(errname),
    );
    report.check(
        "smc-socket-v6",
        socket(AF_SMC, libc::SOCK_STREAM, SMCPROTO_SMC6)
            .map(drop)
            .map_err(errname),
    );
    report.check(
        "smc-socket-flags",
        socket(
            AF_SMC,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
        .map(drop)
        .map_err(errname),
    );
    report.check(
        "smc-socket-bad-protocol",
        match socket(AF_SMC, libc::SOCK_STREAM, 2) {
            Ok(_) => Err("protocol 2 accepted".into()),
            Err(e) if e == libc::EPROTONOSUPPORT => Ok(()),
            Err(e) => Err(errname(e)),
        },
    );
    report.check(
        "smc-socket-bad-type",
        match socket(AF_SMC, libc::SOCK_DGRAM, 0) {
            Ok(_) => Err("SOCK_DGRAM accepted".into()),
            Err(e) if e == libc::ESOCKTNOSUPPORT => Ok(()),
            Err(e) => Err(errname(e)),
        },
    );

    let s = match socket(AF_SMC, libc::SOCK_STREAM, 0) {
        Ok(s) => s,
        Err(e) => return report.check("smc-ops", Err(errname(e))),
    };
    // Addresses are checked as the C family checks them.
    let mut unix = RawAddr::from_socket_addr(&SocketAddr::from((Ipv4Addr::LOCALHOST, 4242)));
    unix.set_family(libc::AF_UNIX as u16);
    report.check(
        "smc-bind-non-ip-family",
        expect_err(sys::bind(&s, &unix), libc::EAFNOSUPPORT, "bind"),
    );
    report.check(
        "smc-connect-non-ip-family",
        expect_err(sys::connect(&s, &unix), libc::EINVAL, "connect"),
    );
    // Socket-level options are the socket layer's and work on any family.
    report.check(
        "smc-sol-socket-option",
        sys::setsockopt_int(&s, libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1).map_err(errname),
    );
    drop(s);

    // Many sockets opened and closed: nothing may leak (kmemleak checks after the run).
    let mut ok = Ok(());
    for _ in 0..2000 {
        if let Err(e) = socket(AF_SMC, libc::SOCK_STREAM, 0) {
            ok = Err(errname(e));
            break;
        }
    }
    report.check("smc-socket-churn", ok);
}

/// Runs a tool command: `Ok` prints nothing more, `Err` goes to stderr.
fn tool(r: Result<(), String>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("smctest: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage(msg: &str) -> ExitCode {
    eprintln!("smctest: {msg}\n{USAGE}");
    ExitCode::from(2)
}

/// `smctest pnet ...`: the device is a net device if `/sys/class/net/NAME`
/// exists, else an IB or ISM (dibs) device; `--eth`/`--ib` say it explicitly.
fn pnet_cmd(mut a: Args) -> Result<(), String> {
    let op = a.pos.get(1).cloned().unwrap_or_default();
    let id = a.pos.get(2).cloned();
    let mut t = pnet::PnetTarget {
        eth: a.opt("eth"),
        ib: a.opt("ib"),
        ib_port: a.opt_with("ib-port", parse_num)?,
    };
    a.finish()?;
    if let Some(name) = a.pos.get(3) {
        if std::path::Path::new("/sys/class/net").join(name).exists() {
            t.eth = Some(name.clone());
        } else {
            t.ib = Some(name.clone());
        }
    }
    if a.pos.len() > 4 {
        return Err(format!("pnet: unexpected {}", a.pos[4]));
    }
    nlcmd::pnet(&op, id.as_deref(), &t)
}

/// `smctest diag`: one line per SMC socket.
fn diag_cmd() -> Result<(), String> {
    let map = diag::dump()?;
    let mut v: Vec<_> = map.values().collect();
    v.sort_by_key(|i| i.inode);
    for i in v {
        println!(
            "sock inode={} state={} mode={} rsn=0x{:08x} ({}) peer_rsn=0x{:08x}",
            i.inode,
            diag::state_name(i.state),
            i.mode.name(),
            i.reason,
            smc::reason_name(i.reason),
            i.peer_diagnosis
        );
    }
    println!("socks {}", map.len());
    Ok(())
}

/// `smctest as-user UID COMMAND...`: drops to `UID` (and its group, no supplementary
/// groups: no capabilities are left) and runs COMMAND.
fn as_user(argv: &[String]) -> ExitCode {
    use std::os::unix::process::CommandExt;
    let (Some(uid), Some(cmd)) = (argv.get(1).and_then(|u| u.parse::<u32>().ok()), argv.get(2)) else {
        return usage("as-user UID COMMAND [ARGS...]");
    };
    // SAFETY: Plain system calls on this process's credentials.
    let dropped = unsafe {
        libc::setgroups(0, std::ptr::null()) == 0
            && libc::setresgid(uid, uid, uid) == 0
            && libc::setresuid(uid, uid, uid) == 0
    };
    if !dropped {
        eprintln!("smctest: as-user {uid}: {}", std::io::Error::last_os_error());
        return ExitCode::from(1);
    }
    let e = std::process::Command::new(cmd).args(&argv[3..]).exec();
    eprintln!("smctest: as-user: {cmd}: {e}");
    ExitCode::from(127)
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.first().map(String::as_str) == Some("as-user") {
        return as_user(&argv);
    }
    let a = match Args::parse(&argv, &["all", "verbose", "help", "sequential"]) {
        Ok(a) => a,
        Err(e) => return usage(&e),
    };
    let cmd = a.pos.first().cloned().unwrap_or_default();
    let pos = |i: usize| a.pos.get(i).map(String::as_str);
    let mut report = Report::default();
    match cmd.as_str() {
        "skeleton" => skeleton(&mut report),
        "stream" => {
            let mut a = a;
            if a.flag("help") {
                println!("{}", stream::USAGE);
                return ExitCode::SUCCESS;
            }
            match stream::Opts::parse(a) {
                Ok(o) => stream::run(&o, &mut report),
                Err(e) => {
                    eprintln!("smctest: {e}\n{}", stream::USAGE);
                    return ExitCode::from(2);
                }
            }
        }
        "sockapi" => {
            let mut a = a;
            if a.flag("help") {
                println!("{}", sockapi::usage());
                return ExitCode::SUCCESS;
            }
            match sockapi::Opts::parse(a) {
                Ok(o) => sockapi::run(&o, &mut report),
                Err(e) => return usage(&e),
            }
        }
        "stats" => {
            let mut a = a;
            let all = a.flag("all");
            let since = a.opt("since");
            if let Err(e) = a.finish() {
                return usage(&e);
            }
            return tool(nlcmd::stats(all, since.as_deref()));
        }
        "devices" if a.pos.len() == 1 => return tool(nlcmd::devices()),
        "linkgroups" if a.pos.len() == 1 => return tool(nlcmd::linkgroups()),
        "sysinfo" if a.pos.len() == 1 => return tool(nlcmd::sysinfo()),
        "hslimit" if a.pos.len() <= 2 => return tool(nlcmd::hslimit(pos(1))),
        "seid" if a.pos.len() == 2 => return tool(nlcmd::seid(pos(1).unwrap_or(""))),
        "diag" if a.pos.len() == 1 => return tool(diag_cmd()),
        "ueid" if a.pos.len() <= 3 => {
            let (op, eid) = (pos(1).unwrap_or(""), pos(2));
            return tool(a.finish().and_then(|()| nlcmd::ueid(op, eid)));
        }
        "pnet" => return tool(pnet_cmd(a)),
        "clccap" => return tool(clccap::Opts::parse(a).and_then(|o| clccap::run(&o))),
        _ => return usage("unknown command"),
    }
    if report.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
