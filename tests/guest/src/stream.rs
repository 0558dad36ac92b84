//! `smctest stream server|client`: a data-integrity stream test over N
//! parallel connections of one socket kind.
//!
//! Each connection carries both directions at once. The client opens with
//! a 40-byte hello (magic, its index, the connection count, the seed, the
//! byte counts of both directions); then each side sends its byte count of
//! the pseudo-random stream for (seed, index, direction) and a trailer
//! (checksum and length of what it sent), checks what it receives byte for
//! byte and against the peer's trailer, sends a one-byte verdict once its
//! receive side checked out, shuts down its write side and reads the
//! peer's verdict and end of stream. Every socket is non-blocking and every
//! wait is a poll bounded by the run's deadline and an idle timeout.
//!
//! With `--order serial` the directions take turns instead, as a
//! request/response server has them: the client writes all of its bytes and
//! its trailer and shuts down its write side before it reads anything; the
//! server reads all of that, checks it, then writes its bytes and trailer
//! and closes the socket at once (no verdicts: the data still in flight when
//! the server closes must all arrive).
//!
//! After all connections are done (and before they are closed) the
//! `smc_diag` dump tells which ones used SMC-D, SMC-R or fell back to TCP.

use crate::args::{parse_num, parse_size, Args};
use crate::pattern::{conn_seed, Checksum, Pattern};
use crate::sys::{self, errname, Fd, RawAddr, AF_SMC, IPPROTO_SMC, SMCPROTO_SMC, SMCPROTO_SMC6};
use crate::Report;
use smc_netlink::diag::{self, Mode};
use smc_netlink::smc::reason_name;
use std::collections::BTreeMap;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

const MAGIC: &[u8; 8] = b"SMCTSTR1";
/// The hello's magic with `--order serial`.
const MAGIC_SERIAL: &[u8; 8] = b"SMCTSER1";
const HELLO_LEN: usize = 40;
const TRAILER_LEN: usize = 16;
const VERDICT_OK: u8 = 1;

/// Which socket the test uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `socket(AF_SMC, SOCK_STREAM, SMCPROTO_SMC[6])`.
    Smc,
    /// `socket(AF_INET[6], SOCK_STREAM, IPPROTO_SMC)`.
    Inet,
    /// Plain TCP, for comparison.
    Tcp,
}

impl Family {
    fn parse(s: &str) -> Result<Family, String> {
        match s {
            "smc" => Ok(Family::Smc),
            "inet" => Ok(Family::Inet),
            "tcp" => Ok(Family::Tcp),
            _ => Err("smc, inet or tcp".into()),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Family::Smc => "smc",
            Family::Inet => "inet",
            Family::Tcp => "tcp",
        }
    }

    /// A non-blocking socket of this kind for `ip`.
    fn socket(self, ip: &IpAddr) -> Result<Fd, i32> {
        let ty = libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
        match self {
            Family::Smc => {
                let proto = if ip.is_ipv4() {
                    SMCPROTO_SMC
                } else {
                    SMCPROTO_SMC6
                };
                sys::socket(AF_SMC, ty, proto)
            }
            Family::Inet => sys::socket(sys::ip_domain(ip), ty, IPPROTO_SMC),
            Family::Tcp => sys::socket(sys::ip_domain(ip), ty, libc::IPPROTO_TCP),
        }
    }
}

/// What every connection must have used (checked with `smc_diag`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Any,
    Smcd,
    Smcr,
    Fallback,
}

impl Expect {
    fn parse(s: &str) -> Result<Expect, String> {
        match s {
            "any" => Ok(Expect::Any),
            "smcd" => Ok(Expect::Smcd),
            "smcr" => Ok(Expect::Smcr),
            "fallback" | "tcp" => Ok(Expect::Fallback),
            _ => Err("any, smcd, smcr or fallback".into()),
        }
    }

    fn allows(self, m: Mode) -> bool {
        match self {
            Expect::Any => true,
            Expect::Smcd => m == Mode::Smcd,
            Expect::Smcr => m == Mode::Smcr,
            Expect::Fallback => m == Mode::Fallback,
        }
    }
}

#[derive(Clone)]
pub struct Opts {
    server: bool,
    family: Family,
    addr: IpAddr,
    port: u16,
    conns: u32,
    c2s: u64,
    s2c: u64,
    /// Client: per-connection byte counts instead of `c2s`/`s2c` (`--sizes`): connection `i`
    /// sends `sizes[i % n]` and asks for `sizes[(i + 1) % n]`.
    sizes: Vec<u64>,
    /// Client: one connection after another instead of all at once.
    sequential: bool,
    /// The server checks the client's byte counts against these when given.
    bytes_given: bool,
    seed: u64,
    chunk: usize,
    serial: bool,
    timeout: Duration,
    idle: Duration,
    connect_timeout: Duration,
    expect: Expect,
    name: String,
    verbose: bool,
}

pub const USAGE: &str = "\
smctest stream server|client [options]
  --family smc|inet|tcp   AF_SMC, AF_INET+IPPROTO_SMC, or plain TCP (default smc)
  --addr IP               client: server address (default 127.0.0.1);
                          server: bind address (default 0.0.0.0)
  --port P                (default 7100)
  --conns N               parallel connections; the server accepts exactly N (default 1)
  --bytes B               bytes each way per connection, K/M/G suffixes (default 1M)
  --c2s B / --s2c B       client-to-server / server-to-client bytes (client side)
  --sizes B,B,...         client: connection i sends the (i mod n)th size and
                          receives the next one (instead of --bytes/--c2s/--s2c)
  --sequential            client: the connections one after another (each
                          connected, exchanged and closed before the next)
  --seed S                pattern seed (client side, default 1)
  --chunk B               send/receive size (default 64K)
  --order duplex|serial   client side: both directions at once (default), or
                          client writes all then reads, server reads all
                          then writes and closes
  --timeout S             whole run (default 300)
  --idle-timeout S        a connection without progress fails (default 60)
  --connect-timeout S     client: retry refused or reset connects this long
                          (default 120; counted in connect_refused, connect_reset)
  --expect any|smcd|smcr|fallback   mode every connection must have (smc_diag)
  --name NAME             test name (default stream-ROLE-FAMILY-N)
  --verbose               one line per connection
Prints `key value` lines (conns, conns_ok, mode_smcd, mode_fallback, ...,
fallback_rsn 0xCODE N NAME, tx_bytes, rx_bytes, seconds, tx_mbit_s,
rx_mbit_s) and `TEST NAME PASS|FAIL`.";

impl Opts {
    pub fn parse(mut a: Args) -> Result<Opts, String> {
        let role = a.pos.get(1).cloned().unwrap_or_default();
        let server = match role.as_str() {
            "server" => true,
            "client" => false,
            _ => return Err("stream: server or client?".into()),
        };
        if a.pos.len() > 2 {
            return Err(format!("stream: unexpected {}", a.pos[2]));
        }
        let family = a.opt_with("family", Family::parse)?.unwrap_or(Family::Smc);
        let default_addr = if server {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        } else {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        };
        let addr = a
            .opt_with("addr", |s| s.parse::<IpAddr>().map_err(|e| e.to_string()))?
            .unwrap_or(default_addr);
        let port = a.opt_with("port", parse_num)?.unwrap_or(7100);
        let conns: u32 = a.opt_with("conns", parse_num)?.unwrap_or(1);
        if conns == 0 {
            return Err("--conns must be at least 1".into());
        }
        let bytes = a.opt_with("bytes", parse_size)?;
        let c2s = a.opt_with("c2s", parse_size)?.or(bytes).unwrap_or(1 << 20);
        let s2c = a.opt_with("s2c", parse_size)?.or(bytes).unwrap_or(1 << 20);
        let bytes_given = bytes.is_some();
        let sizes = match a.opt("sizes") {
            None => Vec::new(),
            Some(l) => l.split(',').map(parse_size).collect::<Result<Vec<u64>, String>>()?,
        };
        let sequential = a.flag("sequential");
        if server && (!sizes.is_empty() || sequential) {
            return Err("--sizes and --sequential are client options".into());
        }
        let seed = a.opt_with("seed", parse_num)?.unwrap_or(1);
        let chunk = a.opt_with("chunk", parse_size)?.unwrap_or(64 << 10) as usize;
        if chunk == 0 || chunk > 16 << 20 {
            return Err("--chunk must be 1 byte to 16M".into());
        }
        let serial = match a.opt("order").as_deref() {
            None | Some("duplex") => false,
            Some("serial") => true,
            Some(o) => return Err(format!("--order {o}: duplex or serial")),
        };
        let secs = |v: Option<u64>, d: u64| Duration::from_secs(v.unwrap_or(d));
        let timeout = secs(a.opt_with("timeout", parse_num)?, 300);
        let idle = secs(a.opt_with("idle-timeout", parse_num)?, 60);
        let connect_timeout = secs(a.opt_with("connect-timeout", parse_num)?, 120);
        let expect = a.opt_with("expect", Expect::parse)?.unwrap_or(Expect::Any);
        if family == Family::Tcp && !matches!(expect, Expect::Any) {
            return Err("--expect needs an SMC family".into());
        }
        let name = a
            .opt("name")
            .unwrap_or_else(|| format!("stream-{role}-{}-{conns}", family.name()));
        if name.contains(char::is_whitespace) || name.is_empty() {
            return Err("--name without spaces".into());
        }
        let verbose = a.flag("verbose");
        a.finish()?;
        Ok(Opts {
            server,
            family,
            addr,
            port,
            conns,
            c2s,
            s2c,
            sizes,
            sequential,
            bytes_given,
            seed,
            chunk,
            serial,
            timeout,
            idle,
            connect_timeout,
            expect,
            name,
            verbose,
        })
    }
}

/// The client's first message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hello {
    /// `--order serial`.
    pub serial: bool,
    pub index: u32,
    pub conns: u32,
    pub seed: u64,
    pub c2s: u64,
    pub s2c: u64,
}

impl Hello {
    pub fn encode(&self) -> [u8; HELLO_LEN] {
        let mut b = [0u8; HELLO_LEN];
        b[0..8].copy_from_slice(if self.serial { MAGIC_SERIAL } else { MAGIC });
        b[8..12].copy_from_slice(&self.index.to_le_bytes());
        b[12..16].copy_from_slice(&self.conns.to_le_bytes());
        b[16..24].copy_from_slice(&self.seed.to_le_bytes());
        b[24..32].copy_from_slice(&self.c2s.to_le_bytes());
        b[32..40].copy_from_slice(&self.s2c.to_le_bytes());
        b
    }

    pub fn decode(b: &[u8]) -> Result<Hello, String> {
        let serial = match b.get(0..8) {
            Some(m) if b.len() == HELLO_LEN && m == MAGIC => false,
            Some(m) if b.len() == HELLO_LEN && m == MAGIC_SERIAL => true,
            _ => return Err(format!("bad hello {:02x?}", &b[..b.len().min(8)])),
        };
        let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
        let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
        Ok(Hello {
            serial,
            index: u32_at(8),
            conns: u32_at(12),
            seed: u64_at(16),
            c2s: u64_at(24),
            s2c: u64_at(32),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tx {
    /// Server: nothing to send before the hello arrived (with `--order serial`: before the
    /// client's bytes all arrived and checked out).
    Idle,
    Hello,
    Data,
    Trailer,
    AwaitVerdict,
    Verdict,
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rx {
    Hello,
    Data,
    Trailer,
    Verdict,
    Eof,
    Done,
}

/// The protocol state of one connection, independent of the socket.
pub struct Conn {
    server: bool,
    chunk: usize,
    /// The server's own byte counts, if it must check the client's.
    server_check: Option<(u64, u64)>,
    pub hello: Option<Hello>,
    /// `--order serial` (known to the server from the hello).
    serial: bool,
    tx: Tx,
    tx_buf: Vec<u8>,
    tx_off: usize,
    tx_left: u64,
    tx_pat: Pattern,
    tx_sum: Checksum,
    rx: Rx,
    rx_left: u64,
    rx_pat: Pattern,
    rx_sum: Checksum,
    exp_buf: Vec<u8>,
    acc: Vec<u8>,
    verdict_ok: bool,
    pub data_sent: u64,
    pub data_received: u64,
}

impl Conn {
    pub fn client(hello: Hello, chunk: usize) -> Conn {
        let mut c = Conn::new(false, chunk, None);
        c.start(hello);
        c.tx = Tx::Hello;
        c.tx_buf = hello.encode().to_vec();
        c.rx = Rx::Data;
        c.check_rx_data_end();
        c
    }

    pub fn server(chunk: usize, check: Option<(u64, u64)>) -> Conn {
        Conn::new(true, chunk, check)
    }

    fn new(server: bool, chunk: usize, server_check: Option<(u64, u64)>) -> Conn {
        Conn {
            server,
            chunk,
            server_check,
            hello: None,
            serial: false,
            tx: Tx::Idle,
            tx_buf: Vec::with_capacity(chunk),
            tx_off: 0,
            tx_left: 0,
            tx_pat: Pattern::new(0),
            tx_sum: Checksum::default(),
            rx: Rx::Hello,
            rx_left: 0,
            rx_pat: Pattern::new(0),
            rx_sum: Checksum::default(),
            exp_buf: vec![0; chunk],
            acc: Vec::with_capacity(HELLO_LEN),
            verdict_ok: false,
            data_sent: 0,
            data_received: 0,
        }
    }

    /// Sets up both directions from the hello.
    fn start(&mut self, h: Hello) {
        let (tx_dir, tx_len, rx_dir, rx_len) = if self.server {
            (1, h.s2c, 0, h.c2s)
        } else {
            (0, h.c2s, 1, h.s2c)
        };
        self.tx_pat = Pattern::new(conn_seed(h.seed, h.index, tx_dir));
        self.tx_left = tx_len;
        self.rx_pat = Pattern::new(conn_seed(h.seed, h.index, rx_dir));
        self.rx_left = rx_len;
        self.serial = h.serial;
        self.hello = Some(h);
    }

    fn check_rx_data_end(&mut self) {
        if self.rx == Rx::Data && self.rx_left == 0 {
            self.rx = Rx::Trailer;
        }
    }

    pub fn done(&self) -> bool {
        self.tx == Tx::Done && self.rx == Rx::Done
    }

    pub fn wants_input(&self) -> bool {
        // A serial client reads nothing before it has written everything.
        self.rx != Rx::Done && !(self.serial && !self.server && self.tx != Tx::Done)
    }

    pub fn state(&self) -> String {
        format!(
            "tx {:?} ({} bytes sent, {} left), rx {:?} ({} bytes received, {} left)",
            self.tx, self.data_sent, self.tx_left, self.rx, self.data_received, self.rx_left
        )
    }

    /// The bytes to send next, if any. `shutdown` is set when the write side
    /// is to be shut down now (after the verdict).
    pub fn pending(&mut self) -> (&[u8], bool) {
        while self.tx_off == self.tx_buf.len() {
            self.tx_buf.clear();
            self.tx_off = 0;
            match self.tx {
                Tx::Idle | Tx::Done => break,
                Tx::Hello => self.tx = Tx::Data,
                Tx::Data if self.tx_left == 0 => {
                    self.tx_buf
                        .extend_from_slice(&self.tx_sum.value().to_le_bytes());
                    self.tx_buf
                        .extend_from_slice(&self.tx_sum.len().to_le_bytes());
                    self.tx = Tx::Trailer;
                }
                Tx::Data => {
                    let n = (self.chunk as u64).min(self.tx_left) as usize;
                    self.tx_buf.resize(n, 0);
                    self.tx_pat.fill(&mut self.tx_buf);
                    self.tx_sum.update(&self.tx_buf);
                    self.tx_left -= n as u64;
                }
                // Serial: no verdicts; the write side goes down after the trailer.
                Tx::Trailer if self.serial => self.tx = Tx::Verdict,
                Tx::Trailer => self.tx = Tx::AwaitVerdict,
                Tx::AwaitVerdict if self.verdict_ok => {
                    self.tx_buf.push(VERDICT_OK);
                    self.tx = Tx::Verdict;
                }
                Tx::AwaitVerdict => break,
                Tx::Verdict => return (&[], true),
            }
        }
        (&self.tx_buf[self.tx_off..], false)
    }

    /// `n` bytes of [`Conn::pending`] went out.
    pub fn sent(&mut self, n: usize) {
        if self.tx == Tx::Data {
            self.data_sent += n as u64;
        }
        self.tx_off += n;
    }

    pub fn shut_down(&mut self) {
        self.tx = Tx::Done;
    }

    /// Takes bytes into `acc` until it holds `want`; returns the bytes used.
    fn accumulate(&mut self, data: &[u8], want: usize) -> usize {
        let n = (want - self.acc.len()).min(data.len());
        self.acc.extend_from_slice(&data[..n]);
        n
    }

    /// Processes received bytes.
    pub fn received(&mut self, mut data: &[u8]) -> Result<(), String> {
        while !data.is_empty() {
            match self.rx {
                Rx::Hello => {
                    let n = self.accumulate(data, HELLO_LEN);
                    data = &data[n..];
                    if self.acc.len() == HELLO_LEN {
                        let h = Hello::decode(&self.acc)?;
                        self.acc.clear();
                        if let Some((c2s, s2c)) = self.server_check {
                            if (c2s, s2c) != (h.c2s, h.s2c) {
                                return Err(format!(
                                    "client sends {} and wants {} bytes, server set up for {c2s} and {s2c}",
                                    h.c2s, h.s2c
                                ));
                            }
                        }
                        self.start(h);
                        // Serial: the server writes once it has read and checked everything.
                        self.tx = if h.serial { Tx::Idle } else { Tx::Data };
                        self.rx = Rx::Data;
                        self.check_rx_data_end();
                    }
                }
                Rx::Data => {
                    let n = (data.len().min(self.exp_buf.len()) as u64).min(self.rx_left) as usize;
                    let exp = &mut self.exp_buf[..n];
                    self.rx_pat.fill(exp);
                    if exp != &data[..n] {
                        let i = (0..n).find(|&i| exp[i] != data[i]).unwrap_or(0);
                        return Err(format!(
                            "data mismatch at byte {}: got 0x{:02x}, expected 0x{:02x}",
                            self.data_received + i as u64,
                            data[i],
                            exp[i]
                        ));
                    }
                    self.rx_sum.update(&data[..n]);
                    self.rx_left -= n as u64;
                    self.data_received += n as u64;
                    data = &data[n..];
                    self.check_rx_data_end();
                }
                Rx::Trailer => {
                    let n = self.accumulate(data, TRAILER_LEN);
                    data = &data[n..];
                    if self.acc.len() == TRAILER_LEN {
                        let sum = u64::from_le_bytes(self.acc[0..8].try_into().unwrap());
                        let len = u64::from_le_bytes(self.acc[8..16].try_into().unwrap());
                        self.acc.clear();
                        if len != self.rx_sum.len() || sum != self.rx_sum.value() {
                            return Err(format!(
                                "checksum mismatch: peer sent {len} bytes with checksum {sum:016x}, received {} with {:016x}",
                                self.rx_sum.len(),
                                self.rx_sum.value()
                            ));
                        }
                        self.verdict_ok = true;
                        if self.serial {
                            self.rx = Rx::Eof;
                            if self.server {
                                self.tx = Tx::Data;
                            }
                        } else {
                            self.rx = Rx::Verdict;
                        }
                    }
                }
                Rx::Verdict => {
                    if data[0] != VERDICT_OK {
                        return Err(format!("peer reported failure (verdict {})", data[0]));
                    }
                    data = &data[1..];
                    self.rx = Rx::Eof;
                }
                Rx::Eof | Rx::Done => {
                    return Err(format!(
                        "{} bytes after the end of the exchange",
                        data.len()
                    ));
                }
            }
        }
        Ok(())
    }

    /// The peer shut down its write side.
    pub fn eof(&mut self) -> Result<(), String> {
        if self.rx == Rx::Eof {
            self.rx = Rx::Done;
            Ok(())
        } else {
            Err("peer closed the connection early".into())
        }
    }
}

/// Runs the exchange of one connection on `fd` (non-blocking).
fn run_conn(fd: &Fd, conn: &mut Conn, deadline: Instant, idle: Duration) -> Result<(), String> {
    let mut rbuf = vec![0u8; conn.chunk];
    let mut last_progress = Instant::now();
    let with_state = |conn: &Conn, msg: String| format!("{msg}; {}", conn.state());
    while !conn.done() {
        let mut progress = false;
        // Send what can go out now.
        for _ in 0..8 {
            let (buf, shut) = conn.pending();
            if shut {
                sys::shutdown(fd, libc::SHUT_WR)
                    .map_err(|e| with_state(conn, format!("shutdown: {}", errname(e))))?;
                conn.shut_down();
                progress = true;
                break;
            }
            if buf.is_empty() {
                break;
            }
            match sys::send(fd, buf, libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL) {
                Ok(0) => break,
                Ok(n) => {
                    conn.sent(n);
                    progress = true;
                }
                Err(e) if e == libc::EAGAIN || e == libc::EINTR => break,
                Err(e) => return Err(with_state(conn, format!("send: {}", errname(e)))),
            }
        }
        // Receive what is there.
        for _ in 0..8 {
            if !conn.wants_input() {
                break;
            }
            match sys::recv(fd, &mut rbuf, libc::MSG_DONTWAIT) {
                Ok(0) => {
                    conn.eof().map_err(|m| with_state(conn, m))?;
                    progress = true;
                    break;
                }
                Ok(n) => {
                    conn.received(&rbuf[..n]).map_err(|m| with_state(conn, m))?;
                    progress = true;
                }
                Err(e) if e == libc::EAGAIN || e == libc::EINTR => break,
                Err(e) => return Err(with_state(conn, format!("recv: {}", errname(e)))),
            }
        }
        if conn.done() {
            break;
        }
        let now = Instant::now();
        if progress {
            last_progress = now;
            continue;
        }
        if now >= deadline {
            return Err(with_state(conn, "run timeout".into()));
        }
        let idle_deadline = last_progress + idle;
        if now >= idle_deadline {
            return Err(with_state(
                conn,
                format!("no progress for {} s", idle.as_secs()),
            ));
        }
        let mut events = 0;
        if conn.wants_input() {
            events |= libc::POLLIN;
        }
        if !conn.pending().0.is_empty() || conn.tx == Tx::Verdict {
            events |= libc::POLLOUT;
        }
        let rev = sys::poll_until(fd, events, deadline.min(idle_deadline))
            .map_err(|e| with_state(conn, format!("poll: {}", errname(e))))?;
        if rev & libc::POLLERR != 0 {
            let e = sys::getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_ERROR).unwrap_or(0);
            if e != 0 {
                return Err(with_state(conn, format!("socket error: {}", errname(e))));
            }
        }
        if rev & (libc::POLLHUP | libc::POLLERR) != 0 && rev & (libc::POLLIN | libc::POLLOUT) == 0 {
            // Nothing readable or writable after a hang-up: a last try, then give up.
            let mut b = [0u8; 1];
            match sys::recv(fd, &mut b, libc::MSG_DONTWAIT | libc::MSG_PEEK) {
                Ok(_) => {}
                Err(e) => return Err(with_state(conn, format!("hang-up ({})", errname(e)))),
            }
        }
    }
    Ok(())
}

/// A finished connection: the socket stays open until `smc_diag` looked at it.
struct Outcome {
    index: Option<u32>,
    fd: Option<Fd>,
    result: Result<(), String>,
    sent: u64,
    received: u64,
    /// Client: connects retried after `ECONNREFUSED` / `ECONNRESET`.
    refused: u32,
    reset: u32,
    /// When the connection was established and when its exchange ended.
    span: Option<(Instant, Instant)>,
    /// Closed as soon as its exchange ended (a serial server's): `smc_diag` cannot see it.
    closed: bool,
    /// Client: how long `connect` took (retries included).
    connect_time: Option<Duration>,
}

/// Connects, retrying a refused or reset connect (the server may not
/// listen yet) until the connect timeout; counts the retries.
fn connect(
    opts: &Opts,
    deadline: Instant,
    refused: &mut u32,
    reset: &mut u32,
) -> Result<Fd, String> {
    let sa = SocketAddr::new(opts.addr, opts.port);
    let raw = RawAddr::from_socket_addr(&sa);
    let give_up = (Instant::now() + opts.connect_timeout).min(deadline);
    loop {
        let fd = opts
            .family
            .socket(&opts.addr)
            .map_err(|e| format!("socket: {}", errname(e)))?;
        let err = match sys::connect(&fd, &raw) {
            Ok(()) => return Ok(fd),
            Err(e) if e == libc::EINPROGRESS => {
                let rev = sys::poll_until(&fd, libc::POLLOUT, give_up)
                    .map_err(|e| format!("poll: {}", errname(e)))?;
                if rev == 0 {
                    return Err(format!("connect to {sa}: timed out"));
                }
                match sys::getsockopt_int(&fd, libc::SOL_SOCKET, libc::SO_ERROR) {
                    Ok(0) => return Ok(fd),
                    Ok(e) => e,
                    Err(e) => e,
                }
            }
            Err(e) => e,
        };
        match err {
            libc::ECONNREFUSED => *refused += 1,
            libc::ECONNRESET => *reset += 1,
            _ => return Err(format!("connect to {sa}: {}", errname(err))),
        }
        if Instant::now() >= give_up {
            return Err(format!("connect to {sa}: {}", errname(err)));
        }
        drop(fd);
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn spawn<F: FnOnce() -> Outcome + Send + 'static>(
    f: F,
) -> Result<std::thread::JoinHandle<Outcome>, String> {
    std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(f)
        .map_err(|e| format!("thread: {e}"))
}

fn client_conn(opts: &Opts, index: u32, deadline: Instant) -> Outcome {
    let (mut refused, mut reset) = (0, 0);
    let t0 = Instant::now();
    let fd = match connect(opts, deadline, &mut refused, &mut reset) {
        Ok(fd) => fd,
        Err(e) => {
            return Outcome {
                connect_time: None,
                index: Some(index),
                fd: None,
                result: Err(e),
                sent: 0,
                received: 0,
                refused,
                reset,
                span: None,
                closed: false,
            }
        }
    };
    let (c2s, s2c) = match opts.sizes.len() {
        0 => (opts.c2s, opts.s2c),
        n => {
            let i = index as usize;
            (opts.sizes[i % n], opts.sizes[(i + 1) % n])
        }
    };
    let hello = Hello {
        serial: opts.serial,
        index,
        conns: opts.conns,
        seed: opts.seed,
        c2s,
        s2c,
    };
    let mut conn = Conn::client(hello, opts.chunk);
    let t = Instant::now();
    let connect_time = Some(t - t0);
    let result = run_conn(&fd, &mut conn, deadline, opts.idle);
    let span = Some((t, Instant::now()));
    Outcome {
        index: Some(index),
        fd: Some(fd),
        result,
        sent: conn.data_sent,
        received: conn.data_received,
        refused,
        reset,
        span,
        closed: false,
        connect_time,
    }
}

fn server_conn(
    fd: Fd,
    chunk: usize,
    check: Option<(u64, u64)>,
    deadline: Instant,
    idle: Duration,
) -> Outcome {
    let mut conn = Conn::server(chunk, check);
    let t = Instant::now();
    let result = run_conn(&fd, &mut conn, deadline, idle);
    let span = Some((t, Instant::now()));
    // A serial server closes as soon as it has written everything, with its last bytes
    // possibly still on the way: the client must get them all the same.
    let closed = conn.serial && result.is_ok();
    let fd = if closed {
        drop(fd);
        None
    } else {
        Some(fd)
    };
    Outcome {
        index: conn.hello.map(|h| h.index),
        fd,
        result,
        sent: conn.data_sent,
        received: conn.data_received,
        refused: 0,
        reset: 0,
        span,
        closed,
        connect_time: None,
    }
}

fn listen(opts: &Opts) -> Result<Fd, String> {
    let sa = SocketAddr::new(opts.addr, opts.port);
    let fd = opts
        .family
        .socket(&opts.addr)
        .map_err(|e| format!("socket: {}", errname(e)))?;
    sys::setsockopt_int(&fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)
        .map_err(|e| format!("SO_REUSEADDR: {}", errname(e)))?;
    sys::bind(&fd, &RawAddr::from_socket_addr(&sa))
        .map_err(|e| format!("bind {sa}: {}", errname(e)))?;
    // Room for every connection twice over: a full SYN queue means syncookies,
    // and a connection made with a syncookie cannot use SMC.
    let backlog = (opts.conns.saturating_mul(2)).clamp(128, 4096) as i32;
    sys::listen(&fd, backlog).map_err(|e| format!("listen: {}", errname(e)))?;
    Ok(fd)
}

/// `smctest stream ...`.
pub fn run(opts: &Opts, report: &mut Report) {
    let start = Instant::now();
    let deadline = start + opts.timeout;
    let mut outcomes = Vec::new();
    let mut setup_error = None;
    let role = if opts.server { "server" } else { "client" };
    println!(
        "stream {role} family={} addr={} port={} conns={} c2s={} s2c={} chunk={}",
        opts.family.name(),
        opts.addr,
        opts.port,
        opts.conns,
        opts.c2s,
        opts.s2c,
        opts.chunk
    );
    if opts.server {
        match listen(opts) {
            Err(e) => setup_error = Some(e),
            Ok(l) => {
                println!("listening");
                let _ = std::io::stdout().flush();
                let check = opts.bytes_given.then_some((opts.c2s, opts.s2c));
                let mut handles = Vec::new();
                // Once connections arrive, a gap of the idle timeout without a new one ends the
                // wait: a connection the client made that never reaches accept (a handshake
                // the server dropped) fails within the idle time, not at the run's deadline.
                let mut accept_by = deadline;
                while handles.len() < opts.conns as usize {
                    match sys::poll_until(&l, libc::POLLIN, accept_by) {
                        Ok(0) => {
                            let why = if accept_by < deadline {
                                format!("none for {} s", opts.idle.as_secs() * 2)
                            } else {
                                "before the timeout".into()
                            };
                            setup_error = Some(format!(
                                "accepted {} of {} connections {why}",
                                handles.len(),
                                opts.conns
                            ));
                            break;
                        }
                        Ok(_) => {}
                        Err(e) => {
                            setup_error = Some(format!("poll: {}", errname(e)));
                            break;
                        }
                    }
                    match sys::accept4(&l, libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) {
                        Ok(fd) => {
                            // Twice the idle time: a client connection that stalls
                            // (failing after the idle time) must not make the server
                            // give up before the client's next one arrives.
                            accept_by = (Instant::now() + opts.idle * 2).min(deadline);
                            let (chunk, idle) = (opts.chunk, opts.idle);
                            match spawn(move || server_conn(fd, chunk, check, deadline, idle)) {
                                Ok(h) => handles.push(h),
                                Err(e) => {
                                    setup_error = Some(e);
                                    break;
                                }
                            }
                        }
                        Err(e)
                            if e == libc::EAGAIN || e == libc::EINTR || e == libc::ECONNABORTED => {
                        }
                        Err(e) => {
                            setup_error = Some(format!("accept: {}", errname(e)));
                            break;
                        }
                    }
                }
                drop(l);
                outcomes.extend(
                    handles
                        .into_iter()
                        .map(|h| h.join().expect("connection thread panicked")),
                );
            }
        }
    } else {
        let shared = std::sync::Arc::new(opts.clone());
        let mut handles = Vec::new();
        if opts.sequential {
            // One connection after another, each socket closed before the next connect (so no
            // `smc_diag` look at them afterwards). A failed one does not end the run (the rest
            // still say whether the server works), three in a row do.
            let mut in_a_row = 0;
            for i in 0..opts.conns {
                let mut out = client_conn(&shared, i, deadline);
                out.fd = None;
                out.closed = true;
                in_a_row = if out.result.is_err() { in_a_row + 1 } else { 0 };
                outcomes.push(out);
                if in_a_row == 3 {
                    break;
                }
            }
        }
        for i in (0..opts.conns).filter(|_| !opts.sequential) {
            let o = shared.clone();
            match spawn(move || client_conn(&o, i, deadline)) {
                Ok(h) => handles.push(h),
                Err(e) => {
                    setup_error = Some(e);
                    break;
                }
            }
        }
        outcomes.extend(
            handles
                .into_iter()
                .map(|h| h.join().expect("connection thread panicked")),
        );
    }
    // From the first connection established to the last one done.
    let first = outcomes.iter().filter_map(|o| o.span.map(|s| s.0)).min();
    let last = outcomes.iter().filter_map(|o| o.span.map(|s| s.1)).max();
    let secs = match (first, last) {
        (Some(a), Some(b)) => b.duration_since(a).as_secs_f64(),
        _ => 0.0,
    }
    .max(1e-6);
    outcomes.sort_by_key(|o| o.index.unwrap_or(u32::MAX));

    // Which transport each connection used, before the sockets close.
    let mut modes: Vec<Option<diag::SockInfo>> = vec![None; outcomes.len()];
    if opts.family != Family::Tcp {
        let inodes: Vec<Option<u64>> = outcomes
            .iter()
            .map(|o| o.fd.as_ref().and_then(|fd| sys::inode(fd).ok()))
            .collect();
        let mut wanted: Vec<u64> = inodes.iter().flatten().copied().collect();
        wanted.sort_unstable();
        wanted.dedup();
        match diag::lookup(&wanted) {
            Ok(map) => {
                for (ino, m) in inodes.iter().zip(modes.iter_mut()) {
                    *m = ino.and_then(|i| map.get(&i).copied());
                }
            }
            Err(e) => println!("diag_error {e}"),
        }
    }

    let mut failures = Vec::new();
    if let Some(e) = &setup_error {
        failures.push(format!("{role}: {e}"));
    }
    let mut count: BTreeMap<&str, u64> = BTreeMap::new();
    let mut reasons: BTreeMap<(&str, u32), u64> = BTreeMap::new();
    let (mut ok, mut sent, mut received, mut refused, mut reset) = (0, 0, 0, 0, 0);
    for (o, m) in outcomes.iter().zip(&modes) {
        let idx = o.index.map(|i| i.to_string()).unwrap_or_else(|| "?".into());
        let mode = match (opts.family, m) {
            (Family::Tcp, _) => "tcp",
            (_, None) if o.closed => "closed",
            (_, Some(i)) => i.mode.name(),
            (_, None) => "unknown",
        };
        *count.entry(mode).or_default() += 1;
        if let Some(i) = m {
            if i.reason != 0 {
                *reasons.entry(("fallback_rsn", i.reason)).or_default() += 1;
            }
            if i.peer_diagnosis != 0 {
                *reasons
                    .entry(("fallback_peer_rsn", i.peer_diagnosis))
                    .or_default() += 1;
            }
        }
        let mut result = o.result.clone();
        if result.is_ok() && opts.expect != Expect::Any && !o.closed {
            match m {
                Some(i) if opts.expect.allows(i.mode) => {}
                Some(i) => {
                    result = Err(format!(
                        "mode {}, expected {:?} (reason 0x{:08x} {}, peer 0x{:08x})",
                        i.mode.name(),
                        opts.expect,
                        i.reason,
                        reason_name(i.reason),
                        i.peer_diagnosis
                    ))
                }
                None => result = Err("mode unknown (not in the smc_diag dump)".into()),
            }
        }
        if opts.verbose {
            let (r, p) = m.map(|i| (i.reason, i.peer_diagnosis)).unwrap_or((0, 0));
            println!(
                "conn {idx} mode {mode} rsn 0x{r:08x} peer_rsn 0x{p:08x} tx {} rx {} {}",
                o.sent,
                o.received,
                if result.is_ok() { "ok" } else { "FAIL" }
            );
        }
        sent += o.sent;
        received += o.received;
        refused += o.refused;
        reset += o.reset;
        match result {
            Ok(()) => ok += 1,
            Err(e) => failures.push(match o.connect_time {
                Some(t) => format!("conn {idx} ({mode}, connected in {} ms): {e}", t.as_millis()),
                None => format!("conn {idx} ({mode}): {e}"),
            }),
        }
    }
    let mut times: Vec<Duration> = outcomes.iter().filter_map(|o| o.connect_time).collect();
    times.sort_unstable();
    let ms = |q: usize| times.get(q).map_or(0, |t| t.as_millis());
    drop(outcomes); // closes the sockets

    println!("conns {}", opts.conns);
    println!("conns_ok {ok}");
    let mode_names: &[&str] = if opts.family == Family::Tcp {
        &["tcp"]
    } else {
        &["smcd", "smcr", "fallback", "closed", "unknown"]
    };
    for m in mode_names {
        println!("mode_{m} {}", count.get(m).copied().unwrap_or(0));
    }
    for ((k, code), n) in &reasons {
        println!("{k} 0x{code:08x} {n} {}", reason_name(*code));
    }
    if !opts.server {
        println!("connect_ms_median {}", ms(times.len() / 2));
        println!("connect_ms_max {}", ms(times.len().wrapping_sub(1)));
        println!("connect_refused {refused}");
        println!("connect_reset {reset}");
    }
    println!("tx_bytes {sent}");
    println!("rx_bytes {received}");
    println!("seconds {secs:.3}");
    println!("tx_mbit_s {:.1}", sent as f64 * 8.0 / secs / 1e6);
    println!("rx_mbit_s {:.1}", received as f64 * 8.0 / secs / 1e6);
    for f in failures.iter().take(20) {
        println!("  {f}");
    }
    if failures.len() > 20 {
        println!("  ... and {} more", failures.len() - 20);
    }
    let verdict = if failures.is_empty() && ok == opts.conns {
        Ok(())
    } else if let Some(first) = failures.first() {
        Err(format!("{} of {} connections ok; {first}", ok, opts.conns))
    } else {
        Err(format!("{} of {} connections ok", ok, opts.conns))
    };
    report.check(&opts.name, verdict);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Moves bytes between two `Conn`s in pieces of `step`, as a socket pair would.
    fn pump(client: &mut Conn, server: &mut Conn, step: usize) -> Result<(), String> {
        let mut c2s: Vec<u8> = Vec::new();
        let mut s2c: Vec<u8> = Vec::new();
        let (mut c_shut, mut s_shut) = (false, false);
        for _ in 0..100_000 {
            if client.done() && server.done() {
                return Ok(());
            }
            for (conn, wire, shut) in [
                (&mut *client, &mut c2s, &mut c_shut),
                (&mut *server, &mut s2c, &mut s_shut),
            ] {
                let (buf, sd) = conn.pending();
                if sd {
                    conn.shut_down();
                    *shut = true;
                } else if !buf.is_empty() {
                    let n = buf.len().min(step);
                    wire.extend_from_slice(&buf[..n]);
                    conn.sent(n);
                }
            }
            for (conn, wire, shut) in [
                (&mut *server, &mut c2s, c_shut),
                (&mut *client, &mut s2c, s_shut),
            ] {
                if !wire.is_empty() {
                    let n = wire.len().min(step);
                    let d: Vec<u8> = wire.drain(..n).collect();
                    conn.received(&d)?;
                } else if shut && conn.wants_input() {
                    conn.eof()?;
                }
            }
        }
        Err("no end".into())
    }

    fn hello(c2s: u64, s2c: u64) -> Hello {
        Hello {
            serial: false,
            index: 3,
            conns: 10,
            seed: 99,
            c2s,
            s2c,
        }
    }

    #[test]
    fn hello_roundtrip() {
        let h = hello(1 << 40, 5);
        assert_eq!(Hello::decode(&h.encode()).unwrap(), h);
        let mut b = h.encode();
        b[0] = b'X';
        assert!(Hello::decode(&b).is_err());
        assert!(Hello::decode(&b[..39]).is_err());
    }

    #[test]
    fn full_exchange_in_various_pieces() {
        for (c2s, s2c) in [(0, 0), (1, 0), (0, 1), (100_000, 7), (12345, 54321)] {
            for step in [1, 7, 4096, 1 << 20] {
                if step == 1 && c2s + s2c > 20_000 {
                    continue;
                }
                let mut c = Conn::client(hello(c2s, s2c), 1000);
                let mut s = Conn::server(1000, None);
                pump(&mut c, &mut s, step)
                    .unwrap_or_else(|e| panic!("{c2s} {s2c} step {step}: {e}"));
                assert_eq!(c.data_sent, c2s);
                assert_eq!(s.data_received, c2s);
                assert_eq!(s.data_sent, s2c);
                assert_eq!(c.data_received, s2c);
                assert_eq!(s.hello, Some(hello(c2s, s2c)));
            }
        }
    }

    #[test]
    fn serial_exchange_takes_turns() {
        for (c2s, s2c) in [(0, 0), (1, 1), (100_000, 7), (7, 100_000)] {
            for step in [7, 4096, 1 << 20] {
                let h = Hello {
                    serial: true,
                    ..hello(c2s, s2c)
                };
                assert_eq!(Hello::decode(&h.encode()).unwrap(), h);
                let mut c = Conn::client(h, 1000);
                let mut s = Conn::server(1000, None);
                // The client reads nothing before it has written everything.
                assert!(!c.wants_input());
                pump(&mut c, &mut s, step)
                    .unwrap_or_else(|e| panic!("{c2s} {s2c} step {step}: {e}"));
                assert_eq!((s.data_received, c.data_received), (c2s, s2c));
            }
        }
        // The server writes nothing before the client's bytes all arrived.
        let mut s = Conn::server(1000, None);
        let h = Hello {
            serial: true,
            ..hello(10, 10)
        };
        s.received(&h.encode()).unwrap();
        assert!(s.pending().0.is_empty());
    }

    #[test]
    fn corruption_is_detected() {
        let mut c = Conn::client(hello(5000, 0), 512);
        let mut s = Conn::server(512, None);
        let mut wire = Vec::new();
        loop {
            let (b, _) = c.pending();
            if b.is_empty() {
                break;
            }
            let n = b.len();
            wire.extend_from_slice(b);
            c.sent(n);
        }
        wire[HELLO_LEN + 4321] ^= 0x10;
        let e = s.received(&wire).unwrap_err();
        assert!(e.starts_with("data mismatch at byte 4321"), "{e}");
    }

    #[test]
    fn early_close_and_extra_data_fail() {
        let mut s = Conn::server(512, None);
        s.received(&hello(10, 10).encode()[..20]).unwrap();
        assert!(s.eof().is_err());
        // A server set up for other byte counts refuses the hello.
        let mut s = Conn::server(512, Some((10, 11)));
        assert!(s.received(&hello(10, 10).encode()).is_err());
        // A wrong trailer.
        let mut s = Conn::server(512, None);
        s.received(&hello(0, 0).encode()).unwrap();
        assert!(s
            .received(&[0u8; TRAILER_LEN])
            .unwrap_err()
            .starts_with("checksum mismatch"));
    }
}
