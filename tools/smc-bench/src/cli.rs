//! Command line parsing: the two modes, socket families and workload
//! profiles.

use std::fmt;
use std::net::Ipv4Addr;
use std::time::Duration;

/// The usage text printed by `--help` and after a usage error.
pub const USAGE: &str = "\
usage: smc-bench server --port P [--ctl-port C] [--family tcp|smc|inet-smc]
       smc-bench client --addr IP --port P --profile PROFILE --conns N --secs S
                        [--warmup S] [--ctl-port C] [--family tcp|smc|inet-smc]
                        [--label NAME] [--wait S] [--json]
       smc-bench ueid add EID

Profiles (uperf names):
  rr1c-200x1000   N persistent connections (TCP_NODELAY), each loops: write
                  200 bytes, read a 1000-byte response
  rr1c-1x1        the same with 1 byte each way
  rr1c-AxB        the same with A-byte requests and B-byte responses
                  (a `k` suffix means KiB: rr1c-1000x30k)
  str-readx30k    the server writes 30720-byte chunks continuously, the
                  client reads (str-readxB: B-byte chunks)
  crr-1x1         connection set-up rate: N threads, each loops: connect,
                  write 1 byte, read the 1-byte response, the server
                  closes, close (crr-AxB: A-byte requests, B-byte
                  responses); a transaction is a whole connection

Families:
  tcp             socket(AF_INET, SOCK_STREAM, 0)
  smc             socket(AF_SMC, SOCK_STREAM, SMCPROTO_SMC), sockaddr_in
  inet-smc        socket(AF_INET, SOCK_STREAM, IPPROTO_SMC)

The server serves any profile on its data port (the client names the
profile in a header on each connection) and answers on a plain TCP control
port (default P+1) with its whole-system CPU time and TCP segment counts
over the client's measurement window. It runs until killed.

The client connects (retrying for --wait seconds, default 60), runs
--warmup seconds (default 2) unmeasured, then --secs seconds measured, and
prints a table, or with --json one JSON line.

`ueid add` sets a user EID in the kernel's C smc (generic netlink, like
smc-tools' `smcd ueid add`): without one it does not use SMC-D on x86.

Exit status: 0 on success, 1 on a run error, 2 on bad usage.";

/// A socket family to benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// `socket(AF_INET, SOCK_STREAM, 0)`.
    Tcp,
    /// `socket(AF_SMC, SOCK_STREAM, SMCPROTO_SMC)`.
    Smc,
    /// `socket(AF_INET, SOCK_STREAM, IPPROTO_SMC)`.
    InetSmc,
}

impl Family {
    /// Parses a family name as the command line spells it.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "tcp" => Ok(Family::Tcp),
            "smc" => Ok(Family::Smc),
            "inet-smc" => Ok(Family::InetSmc),
            _ => Err(format!("unknown family {s:?} (tcp, smc or inet-smc)")),
        }
    }

    /// The name as the command line spells it.
    pub fn name(self) -> &'static str {
        match self {
            Family::Tcp => "tcp",
            Family::Smc => "smc",
            Family::InetSmc => "inet-smc",
        }
    }
}

/// What each connection of a run does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// Request/response: the client writes `req` bytes, the server answers
    /// with `resp` bytes, one transaction at a time per connection.
    Rr {
        /// Request size in bytes.
        req: u32,
        /// Response size in bytes.
        resp: u32,
    },
    /// Stream: the server writes `chunk`-byte chunks, the client reads.
    Stream {
        /// Bytes per server write (and client read buffer size).
        chunk: u32,
    },
    /// Connect/request/response/close (netperf's TCP_CRR): each client
    /// thread loops: connect, write `req` bytes, read `resp` bytes, the
    /// server closes, close. One transaction per connection.
    Crr {
        /// Request size in bytes.
        req: u32,
        /// Response size in bytes.
        resp: u32,
    },
}

/// A workload profile with its uperf name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    /// The name as given (`rr1c-200x1000`).
    pub name: String,
    /// What it does.
    pub workload: Workload,
}

/// Largest request, response or chunk size accepted (16 MiB).
const MAX_SIZE: u32 = 16 << 20;

/// Parses a size: decimal bytes, or with a `k` suffix KiB.
fn parse_size(s: &str) -> Option<u32> {
    let (digits, mult) = match s.strip_suffix(['k', 'K']) {
        Some(d) => (d, 1024),
        None => (s, 1),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = digits.parse::<u32>().ok()?.checked_mul(mult)?;
    (1..=MAX_SIZE).contains(&n).then_some(n)
}

impl Profile {
    /// Parses a uperf-style profile name: `rr1c-AxB`, `str-readxB` or
    /// `crr-AxB`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "unknown profile {s:?} (rr1c-200x1000, rr1c-1x1, str-readx30k, crr-1x1, rr1c-AxB, \
                 str-readxB, crr-AxB)"
            )
        };
        let sizes = |rest: &str| {
            let (a, b) = rest.split_once('x').ok_or_else(bad)?;
            Ok::<_, String>((
                parse_size(a).ok_or_else(bad)?,
                parse_size(b).ok_or_else(bad)?,
            ))
        };
        let workload = if let Some(rest) = s.strip_prefix("rr1c-") {
            let (req, resp) = sizes(rest)?;
            Workload::Rr { req, resp }
        } else if let Some(rest) = s.strip_prefix("crr-") {
            let (req, resp) = sizes(rest)?;
            Workload::Crr { req, resp }
        } else if let Some(rest) = s.strip_prefix("str-readx") {
            Workload::Stream {
                chunk: parse_size(rest).ok_or_else(bad)?,
            }
        } else {
            return Err(bad());
        };
        Ok(Profile {
            name: s.to_string(),
            workload,
        })
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// `smc-bench server` arguments.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerArgs {
    /// Data port.
    pub port: u16,
    /// Control port (plain TCP).
    pub ctl_port: u16,
    /// Family of the data listener.
    pub family: Family,
}

/// `smc-bench client` arguments.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientArgs {
    /// The server's address.
    pub addr: Ipv4Addr,
    /// The server's data port.
    pub port: u16,
    /// The server's control port.
    pub ctl_port: u16,
    /// Family of the data connections.
    pub family: Family,
    /// The workload.
    pub profile: Profile,
    /// Number of data connections.
    pub conns: u32,
    /// Length of the measurement window.
    pub secs: Duration,
    /// Length of the unmeasured warm-up before it.
    pub warmup: Duration,
    /// How long to keep retrying the first connection to the server.
    pub wait: Duration,
    /// A free-form name for the transport, copied into the output.
    pub label: Option<String>,
    /// One JSON line instead of the table.
    pub json: bool,
}

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Run the server.
    Server(ServerArgs),
    /// Run the client.
    Client(ClientArgs),
    /// Add a user EID to the C smc.
    UeidAdd(String),
    /// Print the usage.
    Help,
}

/// Most data connections a client opens.
pub const MAX_CONNS: u32 = 10_000;

fn parse_secs(opt: &str, v: &str) -> Result<Duration, String> {
    match v.parse::<f64>() {
        Ok(s) if s.is_finite() && (0.0..=86_400.0).contains(&s) => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!("{opt}: bad number of seconds {v:?}")),
    }
}

fn parse_num<T: std::str::FromStr>(opt: &str, v: &str) -> Result<T, String> {
    v.parse().map_err(|_| format!("{opt}: bad number {v:?}"))
}

/// Parses the arguments (without the program name).
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Command, String> {
    let mut it = args.into_iter();
    let mode = it.next().ok_or("no mode (server or client)")?;
    if mode == "-h" || mode == "--help" || mode == "help" {
        return Ok(Command::Help);
    }
    if mode == "ueid" {
        return match (it.next().as_deref(), it.next(), it.next()) {
            (Some("add"), Some(eid), None) => Ok(Command::UeidAdd(eid)),
            _ => Err("usage: smc-bench ueid add EID".into()),
        };
    }
    if mode != "server" && mode != "client" {
        return Err(format!("unknown mode {mode:?} (server, client or ueid)"));
    }
    let (mut addr, mut port, mut ctl_port, mut family, mut profile) =
        (None, None, None, Family::Tcp, None);
    let (mut conns, mut secs, mut label, mut json) = (None, None, None, false);
    let mut warmup = Duration::from_secs(2);
    let mut wait = Duration::from_secs(60);
    while let Some(opt) = it.next() {
        if opt == "-h" || opt == "--help" {
            return Ok(Command::Help);
        }
        if opt == "--json" && mode == "client" {
            json = true;
            continue;
        }
        let (name, inline) = match opt.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (opt.clone(), None),
        };
        let client_only = matches!(
            name.as_str(),
            "--addr" | "--profile" | "--conns" | "--secs" | "--warmup" | "--wait" | "--label"
        );
        let known = client_only || matches!(name.as_str(), "--port" | "--ctl-port" | "--family");
        if !known || (client_only && mode == "server") {
            return Err(format!("unknown option {opt:?} for {mode}"));
        }
        let v = match inline {
            Some(v) => v,
            None => it.next().ok_or_else(|| format!("{name} needs a value"))?,
        };
        match name.as_str() {
            "--addr" => {
                addr = Some(
                    v.parse::<Ipv4Addr>()
                        .map_err(|_| format!("--addr: bad IPv4 address {v:?}"))?,
                )
            }
            "--port" => port = Some(parse_num::<u16>(&name, &v)?),
            "--ctl-port" => ctl_port = Some(parse_num::<u16>(&name, &v)?),
            "--family" => family = Family::parse(&v)?,
            "--profile" => profile = Some(Profile::parse(&v)?),
            "--conns" => {
                let n = parse_num::<u32>(&name, &v)?;
                if n == 0 || n > MAX_CONNS {
                    return Err(format!("--conns: {n} is not in 1..={MAX_CONNS}"));
                }
                conns = Some(n);
            }
            "--secs" => secs = Some(parse_secs(&name, &v)?),
            "--warmup" => warmup = parse_secs(&name, &v)?,
            "--wait" => wait = parse_secs(&name, &v)?,
            "--label" => label = Some(v),
            _ => unreachable!("option list above"),
        }
    }
    let port = port.ok_or("--port is required")?;
    let ctl_port = match ctl_port {
        Some(c) => c,
        None if port == 0 => 0,
        None => port
            .checked_add(1)
            .ok_or("--port 65535 needs an explicit --ctl-port")?,
    };
    if mode == "server" {
        return Ok(Command::Server(ServerArgs {
            port,
            ctl_port,
            family,
        }));
    }
    if port == 0 || ctl_port == 0 {
        return Err("the client needs non-zero ports".into());
    }
    let secs = secs.ok_or("--secs is required")?;
    if secs.is_zero() {
        return Err("--secs must be more than 0".into());
    }
    Ok(Command::Client(ClientArgs {
        addr: addr.ok_or("--addr is required")?,
        port,
        ctl_port,
        family,
        profile: profile.ok_or("--profile is required")?,
        conns: conns.ok_or("--conns is required")?,
        secs,
        warmup,
        wait,
        label,
        json,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Command, String> {
        parse(s.split_whitespace().map(String::from))
    }

    #[test]
    fn profiles() {
        assert_eq!(
            Profile::parse("rr1c-200x1000").unwrap().workload,
            Workload::Rr {
                req: 200,
                resp: 1000
            }
        );
        assert_eq!(
            Profile::parse("rr1c-1x1").unwrap().workload,
            Workload::Rr { req: 1, resp: 1 }
        );
        assert_eq!(
            Profile::parse("rr1c-1000x30k").unwrap().workload,
            Workload::Rr {
                req: 1000,
                resp: 30720
            }
        );
        assert_eq!(
            Profile::parse("str-readx30k").unwrap().workload,
            Workload::Stream { chunk: 30720 }
        );
        assert_eq!(
            Profile::parse("crr-1x1").unwrap().workload,
            Workload::Crr { req: 1, resp: 1 }
        );
        assert_eq!(
            Profile::parse("crr-200x1k").unwrap().workload,
            Workload::Crr {
                req: 200,
                resp: 1024
            }
        );
        for bad in [
            "",
            "rr1c-",
            "rr1c-200",
            "rr1c-0x1",
            "rr1c-x1",
            "rr1c-1x",
            "str-readx",
            "str-readx0",
            "str-readxk",
            "rr1c-+1x1",
            "rr1c-99999999999x1",
            "rr1c-20000kx1",
            "str-writex30k",
            "crr-",
            "crr-1",
            "crr-0x1",
            "crr-1x",
            "crr1x1",
            "uperf",
        ] {
            assert!(Profile::parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn families() {
        for f in [Family::Tcp, Family::Smc, Family::InetSmc] {
            assert_eq!(Family::parse(f.name()), Ok(f));
        }
        assert!(Family::parse("udp").is_err());
    }

    #[test]
    fn server() {
        assert_eq!(
            p("server --port 5000"),
            Ok(Command::Server(ServerArgs {
                port: 5000,
                ctl_port: 5001,
                family: Family::Tcp
            }))
        );
        assert_eq!(
            p("server --port=5000 --ctl-port 7 --family inet-smc"),
            Ok(Command::Server(ServerArgs {
                port: 5000,
                ctl_port: 7,
                family: Family::InetSmc
            }))
        );
        assert_eq!(
            p("server --port 0"),
            Ok(Command::Server(ServerArgs {
                port: 0,
                ctl_port: 0,
                family: Family::Tcp
            }))
        );
        assert!(p("server").is_err());
        assert!(p("server --port 65535").is_err());
        assert!(p("server --port 1 --conns 3").is_err());
        assert!(p("server --port 1 --json").is_err());
        assert!(p("server --port").is_err());
        assert!(p("server --port x").is_err());
        assert!(p("server --port 1 --family sctp").is_err());
    }

    #[test]
    fn client() {
        let c = p("client --addr 192.0.2.1 --port 5000 --profile rr1c-200x1000 --conns 10 --secs 5 --family smc --json");
        let Ok(Command::Client(c)) = c else {
            panic!("{c:?}")
        };
        assert_eq!(c.addr, Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(
            (c.port, c.ctl_port, c.conns, c.family, c.json),
            (5000, 5001, 10, Family::Smc, true)
        );
        assert_eq!(c.secs, Duration::from_secs(5));
        assert_eq!(c.warmup, Duration::from_secs(2));
        assert_eq!(c.wait, Duration::from_secs(60));
        assert_eq!(c.profile.name, "rr1c-200x1000");
        assert_eq!(c.label, None);

        let c = p("client --addr 127.0.0.1 --port 5 --ctl-port 9 --profile str-readx30k --conns 1 --secs 0.5 --warmup 0 --label=smcd-lo");
        let Ok(Command::Client(c)) = c else {
            panic!("{c:?}")
        };
        assert_eq!((c.ctl_port, c.json), (9, false));
        assert_eq!(c.secs, Duration::from_millis(500));
        assert_eq!(c.warmup, Duration::ZERO);
        assert_eq!(c.label.as_deref(), Some("smcd-lo"));

        let base = "client --addr 127.0.0.1 --port 5 --profile rr1c-1x1";
        assert!(p(&format!("{base} --conns 1")).is_err(), "no --secs");
        assert!(p(&format!("{base} --secs 1")).is_err(), "no --conns");
        assert!(p(&format!("{base} --secs 0 --conns 1")).is_err());
        assert!(p(&format!("{base} --secs -1 --conns 1")).is_err());
        assert!(p(&format!("{base} --secs nan --conns 1")).is_err());
        assert!(p(&format!("{base} --secs 1 --conns 0")).is_err());
        assert!(p(&format!("{base} --secs 1 --conns 10001")).is_err());
        assert!(p(&format!("{base} --secs 1 --conns 1 --bogus")).is_err());
        assert!(p("client --addr ::1 --port 5 --profile rr1c-1x1 --secs 1 --conns 1").is_err());
        assert!(p("client --port 5 --profile rr1c-1x1 --secs 1 --conns 1").is_err());
        assert!(
            p("client --addr 127.0.0.1 --port 0 --profile rr1c-1x1 --secs 1 --conns 1").is_err()
        );
    }

    #[test]
    fn modes() {
        assert_eq!(p("--help"), Ok(Command::Help));
        assert_eq!(p("client -h"), Ok(Command::Help));
        assert!(p("").is_err());
        assert!(p("bench").is_err());
        assert_eq!(p("ueid add SMC-1"), Ok(Command::UeidAdd("SMC-1".into())));
        assert!(p("ueid add").is_err());
        assert!(p("ueid del X").is_err());
        assert!(p("ueid add X Y").is_err());
    }
}
