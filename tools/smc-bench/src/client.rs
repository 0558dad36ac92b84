//! `smc-bench client`: opens the connections, runs the warm-up and the
//! measurement window, and collects the figures (its own and the
//! server's).

use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, SocketAddrV4, TcpStream};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::cli::{ClientArgs, Workload};
use crate::procfs::{self, CpuWindow};
use crate::proto::{self, ServerWindow};
use crate::server::THREAD_STACK;
use crate::stats::Histogram;
use crate::sys;

/// Phases of a run, shared with the connection threads.
const WARMUP: u8 = 0;
const MEASURE: u8 = 1;
const STOP: u8 = 2;

/// Timeout of connecting and of control requests: a server that stops
/// answering fails the run instead of hanging it.
const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// Receive/send timeout of the data connections once connected: how often
/// a connection that makes no progress looks whether the run has stopped.
/// (AF_SMC copies its timeouts to its TCP socket at connect time, so a
/// fallback connection keeps IO_TIMEOUT; it only stops later.)
const POLL: Duration = Duration::from_secs(1);

/// What one run measured.
#[derive(Clone)]
pub struct RunResult {
    /// The arguments of the run.
    pub args: ClientArgs,
    /// Length of the measurement window as measured.
    pub secs: f64,
    /// Transactions completed in the window (request/response only).
    pub transactions: u64,
    /// Payload bytes moved in the window, both directions.
    pub bytes: u64,
    /// Transaction times of the window (request/response only), in ns.
    pub latency: Histogram,
    /// The server's whole-system counters over the window.
    pub server: ServerWindow,
    /// This machine's whole-system CPU time over the window.
    pub client_cpu: CpuWindow,
}

/// What one connection thread counted.
struct Counted {
    transactions: u64,
    bytes: u64,
    latency: Histogram,
}

impl Counted {
    /// Counts a transaction that took `dt`, if it ended inside the window.
    fn transaction(&mut self, phase: &AtomicU8, dt: Duration) {
        if phase.load(Ordering::Relaxed) == MEASURE {
            self.transactions += 1;
            self.latency
                .record(u64::try_from(dt.as_nanos()).unwrap_or(u64::MAX));
        }
    }
}

/// The control connection.
struct Control {
    r: BufReader<TcpStream>,
    w: TcpStream,
}

impl Control {
    /// Connects, retrying until `wait` has passed (the server may still be
    /// starting), and checks that a server answers.
    fn connect(addr: SocketAddrV4, wait: Duration) -> Result<Control, String> {
        let deadline = Instant::now() + wait;
        let s = loop {
            match TcpStream::connect_timeout(&SocketAddr::V4(addr), Duration::from_secs(5)) {
                Ok(s) => break s,
                Err(e) if Instant::now() >= deadline => {
                    return Err(format!("control connection to {addr}: {e}"))
                }
                Err(_) => thread::sleep(Duration::from_millis(500)),
            }
        };
        s.set_read_timeout(Some(IO_TIMEOUT))
            .map_err(|e| e.to_string())?;
        s.set_nodelay(true).map_err(|e| e.to_string())?;
        let w = s.try_clone().map_err(|e| e.to_string())?;
        let mut c = Control {
            r: BufReader::new(s),
            w,
        };
        c.expect_ok("ping")?;
        Ok(c)
    }

    /// Sends a command and returns the reply line.
    fn ask(&mut self, cmd: &str) -> Result<String, String> {
        writeln!(self.w, "{cmd}").map_err(|e| format!("control: {e}"))?;
        let mut line = String::new();
        match self.r.read_line(&mut line) {
            Ok(0) => Err("control: the server closed the connection".into()),
            Ok(_) => Ok(line.trim_end().to_string()),
            Err(e) => Err(format!("control: {e}")),
        }
    }

    fn expect_ok(&mut self, cmd: &str) -> Result<(), String> {
        match self.ask(cmd)?.as_str() {
            "ok" => Ok(()),
            other => Err(format!("control: {cmd}: {other}")),
        }
    }
}

/// Opens one data connection and sends the header.
fn open(args: &ClientArgs) -> Result<TcpStream, String> {
    let addr = SocketAddrV4::new(args.addr, args.port);
    let mut s = sys::connect(args.family, addr, IO_TIMEOUT)
        .map_err(|e| format!("{} connection to {addr}: {e}", args.family.name()))?;
    if let Workload::Rr { .. } = args.profile.workload {
        s.set_nodelay(true)
            .map_err(|e| format!("TCP_NODELAY: {e}"))?;
    }
    s.write_all(&proto::encode_header(args.profile.workload))
        .map_err(|e| format!("sending the header: {e}"))?;
    s.set_read_timeout(Some(POLL))
        .and_then(|()| s.set_write_timeout(Some(POLL)))
        .map_err(|e| format!("timeouts: {e}"))?;
    Ok(s)
}

/// Whether an I/O error is a receive or send timeout.
fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

/// Reads or writes all of `buf` with `op`, sitting out timeouts until the
/// run stops. Ok(false) if it stopped first. A connection that makes no
/// progress for a while (TCP backing off after losses, under TCG) is part
/// of what is measured, not an error.
fn io_full<F>(buf_len: usize, phase: &AtomicU8, what: &str, mut op: F) -> Result<bool, String>
where
    F: FnMut(usize) -> io::Result<usize>,
{
    let mut off = 0;
    while off < buf_len {
        match op(off) {
            Ok(0) => return Err(format!("{what}: the server closed the connection")),
            Ok(n) => off += n,
            Err(e) if is_timeout(&e) => {
                if phase.load(Ordering::Relaxed) == STOP {
                    return Ok(false);
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("{what}: {e}")),
        }
    }
    Ok(true)
}

/// One connection's loop until the phase is STOP. Counts what completes
/// while the phase is MEASURE.
fn worker(mut s: TcpStream, w: Workload, phase: &AtomicU8) -> Result<Counted, String> {
    let mut c = Counted {
        transactions: 0,
        bytes: 0,
        latency: Histogram::new(),
    };
    match w {
        Workload::Rr { req, resp } => {
            let out = vec![0x5au8; req as usize];
            let mut inb = vec![0u8; resp as usize];
            while phase.load(Ordering::Relaxed) != STOP {
                let t = Instant::now();
                if !io_full(out.len(), phase, "write", |o| s.write(&out[o..]))?
                    || !io_full(inb.len(), phase, "read", |o| s.read(&mut inb[o..]))?
                {
                    break;
                }
                c.transaction(phase, t.elapsed());
            }
            c.bytes = c.transactions * (u64::from(req) + u64::from(resp));
        }
        Workload::Crr { .. } => return Err("crr runs in crr_worker".into()),
        Workload::Stream { chunk } => {
            let mut inb = vec![0u8; chunk as usize];
            while phase.load(Ordering::Relaxed) != STOP {
                let n = match s.read(&mut inb) {
                    Ok(0) => return Err("read: the server closed the connection".into()),
                    Ok(n) => n,
                    Err(e) if is_timeout(&e) || e.kind() == ErrorKind::Interrupted => continue,
                    Err(e) => return Err(format!("read: {e}")),
                };
                if phase.load(Ordering::Relaxed) == MEASURE {
                    c.bytes += n as u64;
                }
            }
        }
    }
    Ok(c)
}

/// One thread of a connect/request/response/close run until the phase is
/// STOP: connect, write the header and the request in one write, read the
/// response, wait for the server's close, close. Counts the connections
/// that complete while the phase is MEASURE; a transaction's latency is
/// from the start of the connect to the server's close.
fn crr_worker(args: &ClientArgs, phase: &AtomicU8) -> Result<Counted, String> {
    let Workload::Crr { req, resp } = args.profile.workload else {
        return Err("not a crr profile".into());
    };
    let addr = SocketAddrV4::new(args.addr, args.port);
    let mut out = proto::encode_header(args.profile.workload).to_vec();
    out.resize(proto::HEADER_LEN + req as usize, 0x5a);
    let mut inb = vec![0u8; resp as usize];
    let mut rest = [0u8; 64];
    let mut c = Counted {
        transactions: 0,
        bytes: 0,
        latency: Histogram::new(),
    };
    'run: while phase.load(Ordering::Relaxed) != STOP {
        let t = Instant::now();
        let mut s = sys::connect(args.family, addr, IO_TIMEOUT)
            .map_err(|e| format!("{} connection to {addr}: {e}", args.family.name()))?;
        s.set_nodelay(true)
            .and_then(|()| s.set_read_timeout(Some(POLL)))
            .and_then(|()| s.set_write_timeout(Some(POLL)))
            .map_err(|e| format!("socket options: {e}"))?;
        if !io_full(out.len(), phase, "write", |o| s.write(&out[o..]))?
            || !io_full(inb.len(), phase, "read", |o| s.read(&mut inb[o..]))?
        {
            break;
        }
        loop {
            match s.read(&mut rest) {
                Ok(0) => break,
                Ok(_) => return Err("read: more than the response".into()),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if is_timeout(&e) => {
                    if phase.load(Ordering::Relaxed) == STOP {
                        break 'run;
                    }
                }
                Err(e) => return Err(format!("waiting for the server's close: {e}")),
            }
        }
        drop(s);
        c.transaction(phase, t.elapsed());
    }
    c.bytes = c.transactions * (u64::from(req) + u64::from(resp));
    Ok(c)
}

/// Runs one benchmark point.
pub fn run(args: &ClientArgs) -> Result<RunResult, String> {
    let mut ctl = Control::connect(SocketAddrV4::new(args.addr, args.ctl_port), args.wait)?;

    // All connections first (uperf's connection set-up is not measured),
    // except for crr, whose threads connect over and over.
    let crr = matches!(args.profile.workload, Workload::Crr { .. });
    let mut streams = Vec::with_capacity(args.conns as usize);
    for i in 0..args.conns {
        streams.push(if crr {
            None
        } else {
            Some(open(args).map_err(|e| format!("connection {}: {e}", i + 1))?)
        });
    }
    let phase = Arc::new(AtomicU8::new(WARMUP));
    let mut workers = Vec::with_capacity(streams.len());
    for (i, s) in streams.into_iter().enumerate() {
        let mine = Arc::clone(&phase);
        let w = args.profile.workload;
        let a = args.clone();
        let h = thread::Builder::new()
            .name(format!("conn{i}"))
            .stack_size(THREAD_STACK)
            .spawn(move || match s {
                Some(s) => worker(s, w, &mine),
                None => crr_worker(&a, &mine),
            })
            .map_err(|e| format!("cannot start a thread: {e}"));
        match h {
            Ok(h) => workers.push(h),
            Err(e) => {
                phase.store(STOP, Ordering::Relaxed);
                return Err(e);
            }
        }
    }

    let window = (|| {
        thread::sleep(args.warmup);
        ctl.expect_ok("start")?;
        let c0 = procfs::read_stat()?;
        phase.store(MEASURE, Ordering::Relaxed);
        let t0 = Instant::now();
        thread::sleep(args.secs);
        phase.store(STOP, Ordering::Relaxed);
        let elapsed = t0.elapsed();
        let c1 = procfs::read_stat()?;
        let server = ServerWindow::decode(&ctl.ask("stop")?)?;
        let cpu = CpuWindow {
            ticks: c1.since(&c0),
            hz: procfs::ticks_per_sec(),
            wall_us: u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
        };
        Ok::<_, String>((elapsed.as_secs_f64(), cpu, server))
    })();
    phase.store(STOP, Ordering::Relaxed);

    let mut transactions = 0;
    let mut bytes = 0;
    let mut latency = Histogram::new();
    let mut first_err = None;
    for (i, h) in workers.into_iter().enumerate() {
        match h.join() {
            Ok(Ok(c)) => {
                transactions += c.transactions;
                bytes += c.bytes;
                latency.merge(&c.latency);
            }
            Ok(Err(e)) => {
                first_err.get_or_insert(format!("connection {}: {e}", i + 1));
            }
            Err(_) => {
                first_err.get_or_insert(format!("connection {}: thread panicked", i + 1));
            }
        }
    }
    let (secs, client_cpu, server) = window?;
    if let Some(e) = first_err {
        return Err(e);
    }
    Ok(RunResult {
        args: args.clone(),
        secs,
        transactions,
        bytes,
        latency,
        server,
        client_cpu,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_full_sits_out_timeouts() {
        let phase = AtomicU8::new(MEASURE);
        // Partial transfers and a timeout in between: done.
        let mut steps = vec![Ok(3), Err(ErrorKind::WouldBlock.into()), Ok(7)].into_iter();
        assert_eq!(
            io_full(10, &phase, "read", |_| steps.next().unwrap()),
            Ok(true)
        );
        // A timeout once the run has stopped: stopped, not an error.
        phase.store(STOP, Ordering::Relaxed);
        let mut steps = vec![Ok(3), Err(ErrorKind::TimedOut.into())].into_iter();
        assert_eq!(
            io_full(10, &phase, "read", |_| steps.next().unwrap()),
            Ok(false)
        );
        // EOF and other errors are errors.
        assert!(io_full(10, &phase, "read", |_| Ok(0)).is_err());
        assert!(io_full(10, &phase, "read", |_| Err(
            ErrorKind::ConnectionReset.into()
        ))
        .is_err());
        // The offset handed to the operation advances.
        let mut seen = Vec::new();
        let r = io_full(6, &phase, "write", |o| {
            seen.push(o);
            Ok(2)
        });
        assert_eq!((r, seen), (Ok(true), vec![0, 2, 4]));
    }
}
