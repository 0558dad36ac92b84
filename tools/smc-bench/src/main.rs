//! `smc-bench`: a uperf-style benchmark of stream sockets (TCP, AF_SMC,
//! IPPROTO_SMC) with the workload profiles of the IBM SMC-D studies:
//! `rr1c-200x1000`, `rr1c-1x1` (request/response) and `str-readx30k`
//! (stream). It reports transactions/s or Gb/s, latency percentiles, and
//! the server's whole-system CPU time per Gb moved. See
//! `Documentation/benchmark.md` and `smc-bench --help`.
//!
//! Exit status: 0 on success, 1 on a run error, 2 on bad usage.

mod cli;
mod client;
mod procfs;
mod proto;
mod report;
mod server;
mod stats;
mod sys;
mod ueid;

use std::process::ExitCode;

use cli::Command;

/// Parses the command line and runs the server or the client.
fn main() -> ExitCode {
    let cmd = match cli::parse(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("smc-bench: {e}\n\n{}", cli::USAGE);
            return ExitCode::from(2);
        }
    };
    let r = match cmd {
        Command::Help => {
            println!("{}", cli::USAGE);
            Ok(())
        }
        Command::UeidAdd(eid) => ueid::add(&eid).map(|added| {
            if added {
                println!("smc-bench: user EID {eid} added");
            } else {
                println!("smc-bench: user EID {eid} was already set");
            }
        }),
        Command::Server(args) => server::Server::bind(&args).and_then(|s| {
            let (data, ctl) = s.ports();
            eprintln!(
                "smc-bench server: {} on port {data}, control (tcp) on port {ctl}",
                args.family.name()
            );
            s.run()
        }),
        Command::Client(args) => client::run(&args).map(|r| {
            if args.json {
                println!("{}", report::json(&r));
            } else {
                print!("{}", report::table(&r));
            }
        }),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("smc-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use std::time::Duration;

    /// A whole run over TCP loopback on the machine running the tests.
    fn loopback(profile: &str, conns: u32) -> client::RunResult {
        let s = server::Server::bind(&cli::ServerArgs {
            port: 0,
            ctl_port: 0,
            family: cli::Family::Tcp,
        })
        .unwrap();
        let (port, ctl_port) = s.ports();
        std::thread::spawn(move || s.run());
        client::run(&cli::ClientArgs {
            addr: Ipv4Addr::LOCALHOST,
            port,
            ctl_port,
            family: cli::Family::Tcp,
            profile: cli::Profile::parse(profile).unwrap(),
            conns,
            secs: Duration::from_millis(300),
            warmup: Duration::from_millis(100),
            wait: Duration::from_secs(5),
            label: None,
            json: true,
        })
        .unwrap()
    }

    #[test]
    fn loopback_rr() {
        let r = loopback("rr1c-200x1000", 4);
        assert!(r.transactions > 0);
        assert_eq!(r.bytes, r.transactions * 1200);
        assert_eq!(r.latency.count(), r.transactions);
        assert!(r.secs >= 0.3);
        let f = report::figures(&r);
        assert!(f.data_over_tcp, "{}", report::json(&r));
        assert!(r.server.cpu.ticks.total() > 0);
        assert!(r.server.cpu.wall_us >= 300_000);
    }

    #[test]
    fn loopback_crr() {
        let r = loopback("crr-1x1", 3);
        assert!(r.transactions > 0);
        assert_eq!(r.bytes, r.transactions * 2);
        assert_eq!(r.latency.count(), r.transactions);
        assert!(report::figures(&r).tps.is_some());
    }

    #[test]
    fn loopback_stream() {
        let r = loopback("str-readx30k", 2);
        assert!(r.bytes > 0);
        assert_eq!(r.transactions, 0);
        assert!(report::figures(&r).tps.is_none());
    }

    #[test]
    fn refused() {
        // Nothing listens on the control port: a quick, clean error.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let e = client::run(&cli::ClientArgs {
            addr: Ipv4Addr::LOCALHOST,
            port,
            ctl_port: port,
            family: cli::Family::Tcp,
            profile: cli::Profile::parse("rr1c-1x1").unwrap(),
            conns: 1,
            secs: Duration::from_millis(100),
            warmup: Duration::ZERO,
            wait: Duration::ZERO,
            label: None,
            json: false,
        });
        assert!(e.is_err());
    }
}
