//! `smctest`: checks of the AF_SMC socket API, run inside a guest.
//!
//! Each check prints `TEST <name> PASS` or `TEST <name> FAIL: <why>`, the
//! convention the VM rig counts. The exit code is non-zero if any failed.
//!
//! Usage: `smctest skeleton` (the socket family before data transfer exists).

use std::io::Error;
use std::process::ExitCode;

const AF_SMC: i32 = 43;
const SMCPROTO_SMC: i32 = 0;
const SMCPROTO_SMC6: i32 = 1;

/// One socket, closed on drop.
struct Fd(i32);

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: `self.0` is an open file descriptor this value owns.
        unsafe { libc::close(self.0) };
    }
}

fn socket(domain: i32, ty: i32, proto: i32) -> Result<Fd, i32> {
    // SAFETY: socket(2) takes plain integers.
    let fd = unsafe { libc::socket(domain, ty, proto) };
    if fd < 0 {
        Err(errno())
    } else {
        Ok(Fd(fd))
    }
}

fn errno() -> i32 {
    Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn errname(e: i32) -> String {
    format!("{} ({})", Error::from_raw_os_error(e), e)
}

/// Records and prints check results.
#[derive(Default)]
struct Report {
    failed: usize,
}

impl Report {
    fn check(&mut self, name: &str, result: Result<(), String>) {
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
fn expect_err(r: i32, want: i32, what: &str) -> Result<(), String> {
    if r >= 0 {
        return Err(format!("{what} succeeded, expected {}", errname(want)));
    }
    let got = errno();
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {}, expected {}", errname(got), errname(want)))
    }
}

fn sockaddr_in(port: u16) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as u16,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(std::net::Ipv4Addr::LOCALHOST).to_be(),
        },
        sin_zero: [0; 8],
    }
}

/// The family before data transfer: sockets open and close, the rest is `EOPNOTSUPP`.
fn skeleton(report: &mut Report) {
    report.check(
        "smc-socket-v4",
        socket(AF_SMC, libc::SOCK_STREAM, SMCPROTO_SMC).map(drop).map_err(errname),
    );
    report.check(
        "smc-socket-v6",
        socket(AF_SMC, libc::SOCK_STREAM, SMCPROTO_SMC6).map(drop).map_err(errname),
    );
    report.check(
        "smc-socket-flags",
        socket(AF_SMC, libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0)
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
    let sin = sockaddr_in(4242);
    let sa = &sin as *const libc::sockaddr_in as *const libc::sockaddr;
    let salen = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: `sa` points to a valid `sockaddr_in` of `salen` bytes.
    let r = unsafe { libc::bind(s.0, sa, salen) };
    report.check("smc-bind-eopnotsupp", expect_err(r, libc::EOPNOTSUPP, "bind"));
    // SAFETY: As above.
    let r = unsafe { libc::connect(s.0, sa, salen) };
    report.check("smc-connect-eopnotsupp", expect_err(r, libc::EOPNOTSUPP, "connect"));
    // SAFETY: listen(2) takes plain integers.
    let r = unsafe { libc::listen(s.0, 8) };
    report.check("smc-listen-eopnotsupp", expect_err(r, libc::EOPNOTSUPP, "listen"));
    let buf = [0u8; 16];
    // SAFETY: `buf` is valid for reads of its length.
    let r = unsafe { libc::send(s.0, buf.as_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
    report.check(
        "smc-send-eopnotsupp",
        expect_err(r as i32, libc::EOPNOTSUPP, "send"),
    );
    // Socket-level options are the socket layer's and work on any family.
    let one: i32 = 1;
    // SAFETY: `one` is a valid `int` option value.
    let r = unsafe {
        libc::setsockopt(
            s.0,
            libc::SOL_SOCKET,
            libc::SO_KEEPALIVE,
            (&one as *const i32).cast(),
            4,
        )
    };
    report.check(
        "smc-sol-socket-option",
        if r == 0 { Ok(()) } else { Err(errname(errno())) },
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

fn main() -> ExitCode {
    let mut report = Report::default();
    match std::env::args().nth(1).as_deref() {
        Some("skeleton") => skeleton(&mut report),
        _ => {
            eprintln!("usage: smctest skeleton");
            return ExitCode::from(2);
        }
    }
    if report.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
