//! `smc-bench server`: a data listener of the chosen family (one thread per
//! connection, as uperf runs one thread per connection) and a plain TCP
//! control listener that reports the whole system's CPU time and TCP
//! segments over the client's measurement window.

use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use crate::cli::{Family, ServerArgs, Workload};
use crate::procfs::{self, CpuTimes, CpuWindow, TcpSegs};
use crate::proto::{self, ServerWindow, HEADER_LEN};
use crate::sys;

/// Stack size of the per-connection threads (their buffers are on the heap).
pub const THREAD_STACK: usize = 256 * 1024;
/// How long a new data connection may take to send its header.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// Accept queue length of the listeners.
const BACKLOG: i32 = 1024;

/// A bound server, not yet serving.
pub struct Server {
    data: TcpListener,
    ctl: TcpListener,
    family: Family,
}

impl Server {
    /// Binds the data listener (of `args.family`) and the control listener
    /// (TCP) on all addresses. Port 0 picks a free port.
    pub fn bind(args: &ServerArgs) -> Result<Server, String> {
        let any = |port| SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port);
        let data = sys::listen(args.family, any(args.port), BACKLOG)
            .map_err(|e| format!("{} listener on port {}: {e}", args.family.name(), args.port))?;
        let ctl = sys::listen(Family::Tcp, any(args.ctl_port), BACKLOG)
            .map_err(|e| format!("control listener on port {}: {e}", args.ctl_port))?;
        Ok(Server {
            data,
            ctl,
            family: args.family,
        })
    }

    /// The data and control ports.
    pub fn ports(&self) -> (u16, u16) {
        (
            sys::local_port(&self.data).unwrap_or(0),
            sys::local_port(&self.ctl).unwrap_or(0),
        )
    }

    /// Serves until the process ends.
    pub fn run(self) -> Result<(), String> {
        let ctl = self.ctl;
        thread::Builder::new()
            .name("control".into())
            .spawn(move || accept_loop(&ctl, "control", control))
            .map_err(|e| format!("cannot start the control thread: {e}"))?;
        let family = self.family;
        accept_loop(&self.data, family.name(), |s| {
            if let Err(e) = data(s) {
                eprintln!("smc-bench server: data connection: {e}");
            }
        });
        Ok(())
    }
}

/// Accepts connections for ever, each served by `serve` in its own thread.
fn accept_loop<F>(listener: &TcpListener, what: &str, serve: F)
where
    F: Fn(TcpStream) + Clone + Send + 'static,
{
    loop {
        match sys::accept(listener) {
            Ok(s) => {
                let f = serve.clone();
                if let Err(e) = thread::Builder::new()
                    .stack_size(THREAD_STACK)
                    .spawn(move || f(s))
                {
                    eprintln!(
                        "smc-bench server: cannot start a thread for a {what} connection: {e}"
                    );
                }
            }
            Err(e)
                if e.kind() == ErrorKind::Interrupted
                    || e.kind() == ErrorKind::ConnectionAborted => {}
            Err(e) => {
                // EMFILE, ENOMEM and the like: wait for connections to end.
                eprintln!("smc-bench server: accept on the {what} listener: {e}");
                thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// Whether an error is the normal end of a connection the client closed.
fn is_hangup(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::UnexpectedEof
            | ErrorKind::ConnectionReset
            | ErrorKind::BrokenPipe
            | ErrorKind::ConnectionAborted
    )
}

/// Serves one data connection: reads the header, then answers requests or
/// streams until the client goes away.
fn data(mut s: TcpStream) -> Result<(), String> {
    s.set_read_timeout(Some(HEADER_TIMEOUT))
        .map_err(|e| e.to_string())?;
    let mut h = [0u8; HEADER_LEN];
    match s.read_exact(&mut h) {
        Ok(()) => {}
        Err(e) if is_hangup(&e) => return Ok(()),
        Err(e) => return Err(format!("reading the header: {e}")),
    }
    let w = proto::decode_header(&h)?;
    s.set_read_timeout(None).map_err(|e| e.to_string())?;
    let r = match w {
        Workload::Rr { req, resp } => {
            s.set_nodelay(true)
                .map_err(|e| format!("TCP_NODELAY: {e}"))?;
            serve_rr(&mut s, req as usize, resp as usize)
        }
        Workload::Stream { chunk } => serve_stream(&mut s, chunk as usize),
        Workload::Crr { req, resp } => {
            s.set_nodelay(true)
                .map_err(|e| format!("TCP_NODELAY: {e}"))?;
            serve_crr(&mut s, req as usize, resp as usize)
        }
    };
    match r {
        Err(e) if !is_hangup(&e) => Err(e.to_string()),
        _ => Ok(()),
    }
}

/// Request/response: read `req` bytes, write `resp` bytes, until EOF.
fn serve_rr(s: &mut TcpStream, req: usize, resp: usize) -> io::Result<()> {
    let mut inb = vec![0u8; req];
    let out = vec![0xa5u8; resp];
    loop {
        s.read_exact(&mut inb)?;
        s.write_all(&out)?;
    }
}

/// Connect/request/response/close: read `req` bytes, write `resp` bytes,
/// and close (the server closes first, so the TIME_WAIT sockets are the
/// server's and the client does not run out of ports).
fn serve_crr(s: &mut TcpStream, req: usize, resp: usize) -> io::Result<()> {
    let mut inb = vec![0u8; req];
    s.read_exact(&mut inb)?;
    s.write_all(&vec![0xa5u8; resp])
}

/// Stream: write `chunk`-byte chunks until the client goes away.
fn serve_stream(s: &mut TcpStream, chunk: usize) -> io::Result<()> {
    let out = vec![0xa5u8; chunk];
    loop {
        s.write_all(&out)?;
    }
}

/// A snapshot of the counters the control connection reports.
fn snapshot() -> Result<(Instant, CpuTimes, TcpSegs), String> {
    Ok((Instant::now(), procfs::read_stat()?, procfs::read_snmp()?))
}

/// Serves one control connection: `ping` → `ok`; `start` → snapshot,
/// `ok`; `stop` → the counters since `start` as a `stats ...` line.
fn control(s: TcpStream) {
    let Ok(mut w) = s.try_clone() else { return };
    let mut start = None;
    for line in BufReader::new(s).lines() {
        let Ok(line) = line else { return };
        let reply = match line.trim() {
            "ping" => "ok".to_string(),
            "start" => match snapshot() {
                Ok(snap) => {
                    start = Some(snap);
                    "ok".to_string()
                }
                Err(e) => format!("error {e}"),
            },
            "stop" => match (start.take(), snapshot()) {
                (Some((i0, c0, t0)), Ok((i1, c1, t1))) => ServerWindow {
                    cpu: CpuWindow {
                        ticks: c1.since(&c0),
                        hz: procfs::ticks_per_sec(),
                        wall_us: u64::try_from(i1.duration_since(i0).as_micros())
                            .unwrap_or(u64::MAX),
                    },
                    tcp: t1.since(&t0),
                }
                .encode(),
                (None, _) => "error stop without start".to_string(),
                (_, Err(e)) => format!("error {e}"),
            },
            other => format!("error unknown command {other:?}"),
        };
        if writeln!(w, "{reply}").is_err() {
            return;
        }
    }
}
