//! `smctest sockapi --family F`: socket-API conformance. Everything a TCP
//! program does with a stream socket, one named case each, against one
//! socket kind: `AF_SMC` (`smc`, `smc6`), `AF_INET[6]`/`IPPROTO_SMC`
//! (`inet`, `inet6`) or plain TCP (`tcp`, `tcp6`, the baseline every case
//! must pass). Both ends live in this process, over 127.0.0.1 or ::1.
//!
//! Each case prints `TEST sockapi-FAMILY-CASE PASS|FAIL: why`. Every wait is
//! bounded: sockets get `SO_RCVTIMEO`/`SO_SNDTIMEO` before they connect or
//! listen (so the C smc copies them to its internal TCP socket too), polls
//! have deadlines, and a watchdog thread fails a case that hangs anyway and
//! ends the process.
//!
//! Where the kernel's C smc provably differs from TCP on an SMC data path
//! (SMC-D or SMC-R, not after a fallback to TCP), the case accepts the C
//! behaviour as well, says so in a comment, and prints a `NOTE` line when
//! it took that branch; TCP behaviour always passes.

use crate::args::{parse_num, Args};
use crate::pattern::Pattern;
use crate::sys::{self, errname, Fd, RawAddr, AF_SMC, IPPROTO_SMC, SMCPROTO_SMC, SMCPROTO_SMC6};
use crate::Report;
use smc_netlink::diag::{self, Mode};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// `SOL_SMC` (include/linux/socket.h).
const SOL_SMC: i32 = 286;
/// `SMC_LIMIT_HS` (include/uapi/linux/smc.h): limit handshakes under load.
const SMC_LIMIT_HS: i32 = 1;
/// `SIOCINQ` = `FIONREAD`, `SIOCOUTQ` = `TIOCOUTQ` (include/uapi/linux/sockios.h).
const SIOCINQ: libc::Ioctl = libc::FIONREAD;
const SIOCOUTQ: libc::Ioctl = libc::TIOCOUTQ;
/// `SIOCOUTQNSD` (include/uapi/linux/sockios.h): bytes queued but not sent.
const SIOCOUTQNSD: libc::Ioctl = 0x894B;

/// How long one step may wait (TCG VMs with a debug kernel are slow).
const WAIT: Duration = Duration::from_secs(10);
/// A case that takes longer than this hangs: the watchdog ends the run.
const CASE_LIMIT: Duration = Duration::from_secs(180);

pub const USAGE: &str = "\
smctest sockapi --family smc|smc6|inet|inet6|tcp|tcp6 [options]
  --only NAME[,NAME...]   run only these cases (names without the sockapi-FAMILY- prefix)
  --port BASE             first port of the listeners (default 7300; each case takes new ones)
  --expect any|smcd|fallback  mode every connection must have (smc_diag; SMC families)
  --name NAME             test name prefix (default sockapi-FAMILY)
  --churn N               connect/close cycles of the connect-close-churn case (default 200)
Prints `TEST NAME-CASE PASS|FAIL: why`, `NOTE ...` lines where the
C smc's known deviations from TCP were accepted, and `key value` lines
(conns, mode_smcd, mode_smcr, mode_fallback, mode_unknown).";

/// Which socket the cases use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Smc,
    Smc6,
    Inet,
    Inet6,
    Tcp,
    Tcp6,
}

impl Family {
    pub fn parse(s: &str) -> Result<Family, String> {
        Ok(match s {
            "smc" => Family::Smc,
            "smc6" => Family::Smc6,
            "inet" => Family::Inet,
            "inet6" => Family::Inet6,
            "tcp" => Family::Tcp,
            "tcp6" => Family::Tcp6,
            _ => return Err("smc, smc6, inet, inet6, tcp or tcp6".into()),
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Family::Smc => "smc",
            Family::Smc6 => "smc6",
            Family::Inet => "inet",
            Family::Inet6 => "inet6",
            Family::Tcp => "tcp",
            Family::Tcp6 => "tcp6",
        }
    }

    pub fn v6(self) -> bool {
        matches!(self, Family::Smc6 | Family::Inet6 | Family::Tcp6)
    }

    /// An SMC socket (as opposed to the TCP baseline).
    pub fn is_smc(self) -> bool {
        !matches!(self, Family::Tcp | Family::Tcp6)
    }

    /// `socket(2)`'s domain.
    pub fn domain(self) -> i32 {
        match self {
            Family::Smc | Family::Smc6 => AF_SMC,
            _ => self.ip_family(),
        }
    }

    /// `socket(2)`'s protocol, which `SO_PROTOCOL` gives back.
    pub fn proto(self) -> i32 {
        match self {
            Family::Smc => SMCPROTO_SMC,
            Family::Smc6 => SMCPROTO_SMC6,
            Family::Inet | Family::Inet6 => IPPROTO_SMC,
            Family::Tcp | Family::Tcp6 => libc::IPPROTO_TCP,
        }
    }

    /// The family of the addresses the socket takes and reports: the C smc
    /// forwards bind, connect and getsockname/getpeername to its internal
    /// TCP socket, so an `AF_SMC` socket speaks `AF_INET`/`AF_INET6` too.
    pub fn ip_family(self) -> i32 {
        if self.v6() {
            libc::AF_INET6
        } else {
            libc::AF_INET
        }
    }

    pub fn loopback(self) -> IpAddr {
        if self.v6() {
            IpAddr::V6(Ipv6Addr::LOCALHOST)
        } else {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        }
    }
}

/// How a connection moves its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnMode {
    /// The plain TCP baseline.
    Tcp,
    Smcd,
    Smcr,
    /// An SMC socket that fell back to TCP.
    Fallback,
    /// smc_diag did not say.
    Unknown,
}

impl ConnMode {
    /// Data moves over SMC, not TCP: the C smc's own code paths.
    pub fn smc_path(self) -> bool {
        matches!(self, ConnMode::Smcd | ConnMode::Smcr)
    }

    fn from_diag(m: Mode) -> ConnMode {
        match m {
            Mode::Smcd => ConnMode::Smcd,
            Mode::Smcr => ConnMode::Smcr,
            Mode::Fallback => ConnMode::Fallback,
            Mode::Other(_) => ConnMode::Unknown,
        }
    }

    fn name(self) -> &'static str {
        match self {
            ConnMode::Tcp => "tcp",
            ConnMode::Smcd => "smcd",
            ConnMode::Smcr => "smcr",
            ConnMode::Fallback => "fallback",
            ConnMode::Unknown => "unknown",
        }
    }
}

/// `--expect`: the mode every connection must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Any,
    Smcd,
    Fallback,
}

impl Expect {
    fn parse(s: &str) -> Result<Expect, String> {
        match s {
            "any" => Ok(Expect::Any),
            "smcd" => Ok(Expect::Smcd),
            "fallback" => Ok(Expect::Fallback),
            _ => Err("any, smcd or fallback".into()),
        }
    }

    fn allows(self, m: ConnMode) -> bool {
        match self {
            Expect::Any => true,
            Expect::Smcd => m == ConnMode::Smcd,
            Expect::Fallback => m == ConnMode::Fallback,
        }
    }
}

pub struct Opts {
    family: Family,
    only: Option<Vec<String>>,
    port: u16,
    expect: Expect,
    name: String,
    churn: usize,
}

impl Opts {
    pub fn parse(mut a: Args) -> Result<Opts, String> {
        if a.pos.len() > 1 {
            return Err(format!("sockapi: unexpected {}", a.pos[1]));
        }
        let family = a.opt_with("family", Family::parse)?;
        let only = a.opt("only").map(|s| parse_only(&s));
        let port = a.opt_with("port", parse_num)?.unwrap_or(7300);
        let expect = a.opt_with("expect", Expect::parse)?.unwrap_or(Expect::Any);
        let name = a.opt("name");
        let churn = a.opt_with("churn", parse_num)?.unwrap_or(200);
        a.finish()?;
        let family = family.ok_or("sockapi: --family is required")?;
        let name = name.unwrap_or_else(|| format!("sockapi-{}", family.name()));
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err("--name without spaces".into());
        }
        if let Some(only) = &only {
            if let Some(bad) = only.iter().find(|n| !CASES.iter().any(|(c, _)| c == n)) {
                return Err(format!(
                    "sockapi: no case {bad} (see smctest sockapi --help)"
                ));
            }
        }
        if !family.is_smc() && expect != Expect::Any {
            return Err("--expect needs an SMC family".into());
        }
        Ok(Opts {
            family,
            only,
            port,
            expect,
            name,
            churn,
        })
    }
}

/// `--only a,b,,c` → `[a, b, c]`.
fn parse_only(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(String::from)
        .collect()
}

type Res<T = ()> = Result<T, String>;

/// Fails the case with a formatted message unless the condition holds.
macro_rules! ensure {
    ($c:expr, $($f:tt)+) => {
        if !$c {
            return Err(format!($($f)+));
        }
    };
}

/// A system call's `errno` as the case's failure text.
fn os<T>(what: &str, r: Result<T, i32>) -> Res<T> {
    r.map_err(|e| format!("{what}: {}", errname(e)))
}

/// Expects `r` to fail with `want`.
fn want_err<T>(what: &str, r: Result<T, i32>, want: i32) -> Res {
    match r {
        Ok(_) => Err(format!("{what} succeeded, expected {}", errname(want))),
        Err(e) if e == want => Ok(()),
        Err(e) => Err(format!(
            "{what}: got {}, expected {}",
            errname(e),
            errname(want)
        )),
    }
}

/// The shared state of one run.
struct Ctx {
    fam: Family,
    /// Cycles of `connect-close-churn`.
    churn: usize,
    next_port: AtomicU16,
    /// Connection modes of the pairs made so far.
    modes: Mutex<Vec<ConnMode>>,
    /// `NOTE` lines of the current case.
    notes: Mutex<Vec<String>>,
}

/// A connected pair: `c` connected to the listener, `s` accepted.
struct Pair {
    c: Fd,
    s: Fd,
    mode: ConnMode,
}

impl Ctx {
    fn port(&self) -> u16 {
        self.next_port.fetch_add(1, Ordering::Relaxed)
    }

    fn addr(&self, port: u16) -> RawAddr {
        RawAddr::from_socket_addr(&SocketAddr::new(self.fam.loopback(), port))
    }

    /// A socket of the family, `flags` or'ed into the type.
    fn socket(&self, flags: i32) -> Result<Fd, i32> {
        sys::socket(
            self.fam.domain(),
            libc::SOCK_STREAM | flags,
            self.fam.proto(),
        )
    }

    /// A socket with bounded blocking calls.
    fn sock(&self, flags: i32) -> Res<Fd> {
        let s = os("socket", self.socket(flags | libc::SOCK_CLOEXEC))?;
        os("SO_RCVTIMEO", raw::set_timeout(&s, libc::SO_RCVTIMEO, WAIT))?;
        os("SO_SNDTIMEO", raw::set_timeout(&s, libc::SO_SNDTIMEO, WAIT))?;
        Ok(s)
    }

    /// A listener (`SO_REUSEADDR`, so that no `TIME_WAIT` of an earlier run
    /// is in the way) on `port`.
    fn listener_on(&self, port: u16, flags: i32) -> Res<Fd> {
        let l = self.sock(flags)?;
        os(
            "SO_REUSEADDR",
            sys::setsockopt_int(&l, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1),
        )?;
        os(
            &format!("bind port {port}"),
            sys::bind(&l, &self.addr(port)),
        )?;
        os("listen", sys::listen(&l, 16))?;
        Ok(l)
    }

    fn listener(&self) -> Res<(Fd, u16)> {
        let port = self.port();
        Ok((self.listener_on(port, 0)?, port))
    }

    /// A blocking connect to `port`.
    fn connect_to(&self, port: u16) -> Res<Fd> {
        let c = self.sock(0)?;
        os("connect", sys::connect(&c, &self.addr(port)))?;
        Ok(c)
    }

    /// Accepts once the listener says a connection is there.
    fn accept(&self, l: &Fd) -> Res<Fd> {
        wait_for(l, libc::POLLIN, "listener readable")?;
        os("accept", sys::accept4(l, libc::SOCK_CLOEXEC))
    }

    fn pair(&self) -> Res<Pair> {
        let (l, port) = self.listener()?;
        let c = self.connect_to(port)?;
        let s = self.accept(&l)?;
        let mode = self.mode_of(&c);
        Ok(Pair { c, s, mode })
    }

    /// The connection's mode (smc_diag), recorded for the summary.
    fn mode_of(&self, fd: &Fd) -> ConnMode {
        let mode = if !self.fam.is_smc() {
            ConnMode::Tcp
        } else {
            match sys::inode(fd).map_err(errname).and_then(|i| {
                diag::lookup(&[i]).map(|m| m.get(&i).map(|s| ConnMode::from_diag(s.mode)))
            }) {
                Ok(Some(m)) => m,
                _ => ConnMode::Unknown,
            }
        };
        self.modes.lock().unwrap().push(mode);
        mode
    }

    /// Records that the C smc's known deviation `what` was accepted.
    fn note(&self, what: String) {
        self.notes.lock().unwrap().push(what);
    }
}

/// Polls until one of `events` (or an error/hang-up) is there; fails after [`WAIT`].
fn wait_for(fd: &Fd, events: i16, what: &str) -> Res<i16> {
    let r = os("poll", sys::poll_until(fd, events, Instant::now() + WAIT))?;
    ensure!(r != 0, "{what}: no poll event within {WAIT:?}");
    Ok(r)
}

/// The poll events that are there right now.
fn poll_now(fd: &Fd, events: i16) -> Res<i16> {
    os("poll", sys::poll_until(fd, events, Instant::now()))
}

/// Polls until `pred(revents)` holds (other events are waited past).
fn wait_until(fd: &Fd, events: i16, what: &str, pred: impl Fn(i16) -> bool) -> Res<i16> {
    let deadline = Instant::now() + WAIT;
    loop {
        let r = poll_now(fd, events)?;
        if pred(r) {
            return Ok(r);
        }
        ensure!(
            Instant::now() < deadline,
            "{what}: not within {WAIT:?} (revents {})",
            poll_names(r)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `POLLIN|POLLOUT|...` for messages.
pub fn poll_names(r: i16) -> String {
    let names = [
        (libc::POLLIN, "POLLIN"),
        (libc::POLLPRI, "POLLPRI"),
        (libc::POLLOUT, "POLLOUT"),
        (libc::POLLERR, "POLLERR"),
        (libc::POLLHUP, "POLLHUP"),
        (libc::POLLNVAL, "POLLNVAL"),
        (libc::POLLRDHUP, "POLLRDHUP"),
    ];
    let v: Vec<&str> = names
        .iter()
        .filter(|(b, _)| r & b != 0)
        .map(|(_, n)| *n)
        .collect();
    if v.is_empty() {
        "0".into()
    } else {
        v.join("|")
    }
}

/// Sends all of `data` without blocking in the call (polls for space).
fn send_all(fd: &Fd, data: &[u8]) -> Res {
    let deadline = Instant::now() + WAIT;
    let mut off = 0;
    while off < data.len() {
        match sys::send(fd, &data[off..], libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL) {
            Ok(n) => off += n,
            Err(libc::EAGAIN) => {
                let r = os("poll", sys::poll_until(fd, libc::POLLOUT, deadline))?;
                ensure!(r != 0, "send stuck after {off} of {} bytes", data.len());
            }
            Err(e) => return Err(format!("send after {off} bytes: {}", errname(e))),
        }
    }
    Ok(())
}

/// Receives exactly `n` bytes without blocking in the call.
fn recv_exact(fd: &Fd, n: usize) -> Res<Vec<u8>> {
    let deadline = Instant::now() + WAIT;
    let mut buf = vec![0u8; n];
    let mut off = 0;
    while off < n {
        match sys::recv(fd, &mut buf[off..], libc::MSG_DONTWAIT) {
            Ok(0) => return Err(format!("EOF after {off} of {n} bytes")),
            Ok(k) => off += k,
            Err(libc::EAGAIN) => {
                let r = os("poll", sys::poll_until(fd, libc::POLLIN, deadline))?;
                ensure!(r != 0, "received only {off} of {n} bytes within {WAIT:?}");
            }
            Err(e) => return Err(format!("recv after {off} bytes: {}", errname(e))),
        }
    }
    Ok(buf)
}

/// The next read gives end of stream.
fn expect_eof(fd: &Fd) -> Res {
    wait_for(fd, libc::POLLIN, "EOF")?;
    let mut b = [0u8; 16];
    match sys::recv(fd, &mut b, libc::MSG_DONTWAIT) {
        Ok(0) => Ok(()),
        Ok(n) => Err(format!("expected EOF, got {n} bytes")),
        Err(e) => Err(format!("expected EOF, got {}", errname(e))),
    }
}

/// Sends without blocking until the socket takes no more (`EAGAIN`).
fn fill(fd: &Fd) -> Res<usize> {
    let chunk = vec![0x5au8; 64 << 10];
    let mut total = 0;
    while total < 512 << 20 {
        match sys::send(fd, &chunk, libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL) {
            Ok(n) => total += n,
            Err(libc::EAGAIN) => return Ok(total),
            Err(e) => return Err(format!("send after {total} bytes: {}", errname(e))),
        }
    }
    Err(format!("{total} bytes sent and still no EAGAIN"))
}

/// `n` bytes of the test pattern for `seed`.
fn pattern(seed: u64, n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    Pattern::new(seed).fill(&mut v);
    v
}

/// Index of the first difference, if any (also a length difference).
pub fn first_diff(a: &[u8], b: &[u8]) -> Option<usize> {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .or(if a.len() != b.len() {
            Some(a.len().min(b.len()))
        } else {
            None
        })
}

fn same(what: &str, got: &[u8], want: &[u8]) -> Res {
    match first_diff(got, want) {
        None => Ok(()),
        Some(i) => Err(format!(
            "{what}: data differs at byte {i} (got {} bytes, want {})",
            got.len(),
            want.len()
        )),
    }
}

/// A few bytes each way over a pair: the connection works.
fn exchange(c: &Fd, s: &Fd) -> Res {
    send_all(c, b"ping")?;
    same("client to server", &recv_exact(s, 4)?, b"ping")?;
    send_all(s, b"pong")?;
    same("server to client", &recv_exact(c, 4)?, b"pong")
}

fn getint(fd: &Fd, level: i32, name: i32, what: &str) -> Res<i32> {
    os(
        &format!("getsockopt {what}"),
        sys::getsockopt_int(fd, level, name),
    )
}

fn has_flag(v: i32, f: i32) -> bool {
    v & f != 0
}

/// A port nobody listens on (taken from the kernel, then given back).
fn closed_port(c: &Ctx) -> Res<u16> {
    let s = os(
        "socket",
        sys::socket(c.fam.ip_family(), libc::SOCK_STREAM, 0),
    )?;
    os("bind", sys::bind(&s, &c.addr(0)))?;
    let (_, a) = os("getsockname", raw::sockname(&s, false))?;
    a.map(|a| a.port())
        .ok_or_else(|| "getsockname: no address".into())
}

// ---- signals --------------------------------------------------------------

static SIGPIPES: AtomicUsize = AtomicUsize::new(0);
static SIGUSR1S: AtomicUsize = AtomicUsize::new(0);

extern "C" fn on_signal(sig: i32) {
    // Only an atomic add: async-signal-safe.
    if sig == libc::SIGPIPE {
        SIGPIPES.fetch_add(1, Ordering::SeqCst);
    } else {
        SIGUSR1S.fetch_add(1, Ordering::SeqCst);
    }
}

/// Runs `f` (a blocking call) in a thread and sends that thread SIGUSR1
/// until `f` returns, so a signal arriving before the call blocked is
/// followed by another one. Gives `f`'s result.
fn interrupted<T: Send>(f: impl FnOnce() -> T + Send) -> Res<T> {
    let tid = AtomicU64::new(0);
    let done = AtomicBool::new(false);
    std::thread::scope(|sc| {
        let h = sc.spawn(|| {
            tid.store(raw::thread_self(), Ordering::SeqCst);
            let r = f();
            done.store(true, Ordering::SeqCst);
            r
        });
        let start = Instant::now();
        while !done.load(Ordering::SeqCst) && start.elapsed() < 2 * WAIT {
            std::thread::sleep(Duration::from_millis(150));
            let t = tid.load(Ordering::SeqCst);
            // The thread is not joined before the scope ends, so its id stays valid.
            if t != 0 && !done.load(Ordering::SeqCst) {
                raw::thread_kill(t, libc::SIGUSR1);
            }
        }
        h.join().map_err(|_| "thread panicked".to_string())
    })
}

// ---- the cases ------------------------------------------------------------

type Case = fn(&Ctx) -> Res;

const CASES: &[(&str, Case)] = &[
    ("socket-flags", socket_flags),
    ("bind-port0", bind_port0),
    ("bind-eaddrinuse", bind_eaddrinuse),
    ("bind-reuseaddr", bind_reuseaddr),
    ("listen", listen),
    ("accept-blocking", accept_blocking),
    ("accept-nonblocking", accept_nonblocking),
    ("accept4-flags", accept4_flags),
    ("connect-blocking", connect_blocking),
    ("connect-nonblocking-poll", connect_nonblocking_poll),
    ("connect-nonblocking-epoll", connect_nonblocking_epoll),
    ("connect-refused", connect_refused),
    ("connect-refused-nonblocking", connect_refused_nonblocking),
    ("send-recv", send_recv),
    ("write-read", write_read),
    ("sendmsg-recvmsg", sendmsg_recvmsg),
    ("msg-dontwait", msg_dontwait),
    ("msg-peek", msg_peek),
    ("msg-waitall", msg_waitall),
    ("msg-more", msg_more),
    ("tcp-cork", tcp_cork),
    ("msg-nosignal-epipe", msg_nosignal_epipe),
    ("sigpipe", sigpipe),
    ("sendfile", sendfile),
    ("splice-read", splice_read),
    ("splice-write", splice_write),
    ("poll-in", poll_in),
    ("poll-out", poll_out),
    ("poll-rdhup-hup", poll_rdhup_hup),
    ("poll-peer-close", poll_peer_close),
    ("epoll", epoll),
    ("epoll-et", epoll_et),
    ("shutdown-wr", shutdown_wr),
    ("shutdown-rd", shutdown_rd),
    ("shutdown-rdwr", shutdown_rdwr),
    ("shutdown-unconnected", shutdown_unconnected),
    ("close-pending-small", close_pending_small),
    ("close-pending-large", close_pending_large),
    ("sockname", sockname),
    ("so-error", so_error),
    ("sockopt-tcp-nodelay", sockopt_tcp_nodelay),
    ("sockopt-tcp-cork", sockopt_tcp_cork),
    ("sockopt-rcvbuf", sockopt_rcvbuf),
    ("sockopt-sndbuf", sockopt_sndbuf),
    ("sockopt-reuseaddr", sockopt_reuseaddr),
    ("sockopt-keepalive", sockopt_keepalive),
    ("sockopt-keepidle", sockopt_keepidle),
    ("sockopt-linger", sockopt_linger),
    ("sockopt-inherited", sockopt_inherited),
    ("sockopt-maxseg", sockopt_maxseg),
    ("sockopt-smc-limit-hs", sockopt_smc_limit_hs),
    ("so-timeouts", so_timeouts),
    ("ioctl-inq-outq", ioctl_inq_outq),
    ("ioctl-listen-einval", ioctl_listen_einval),
    ("ioctl-fionbio", ioctl_fionbio),
    ("eintr-recv", eintr_recv),
    ("eintr-accept", eintr_accept),
    ("large-transfer", large_transfer),
    ("connect-close-churn", connect_close_churn),
    ("listener-closed-with-pending", listener_closed_with_pending),
];

fn socket_flags(c: &Ctx) -> Res {
    let s = os(
        "socket(SOCK_NONBLOCK|SOCK_CLOEXEC)",
        c.socket(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC),
    )?;
    let fl = os("F_GETFL", raw::fcntl(&s, libc::F_GETFL, 0))?;
    ensure!(has_flag(fl, libc::O_NONBLOCK), "O_NONBLOCK not set");
    let fd = os("F_GETFD", raw::fcntl(&s, libc::F_GETFD, 0))?;
    ensure!(has_flag(fd, libc::FD_CLOEXEC), "FD_CLOEXEC not set");
    let p = os("socket", c.socket(0))?;
    let fl = os("F_GETFL", raw::fcntl(&p, libc::F_GETFL, 0))?;
    ensure!(
        !has_flag(fl, libc::O_NONBLOCK),
        "O_NONBLOCK set without SOCK_NONBLOCK"
    );
    let fd = os("F_GETFD", raw::fcntl(&p, libc::F_GETFD, 0))?;
    ensure!(
        !has_flag(fd, libc::FD_CLOEXEC),
        "FD_CLOEXEC set without SOCK_CLOEXEC"
    );
    let ty = getint(&s, libc::SOL_SOCKET, libc::SO_TYPE, "SO_TYPE")?;
    ensure!(ty == libc::SOCK_STREAM, "SO_TYPE {ty}");
    let dom = getint(&s, libc::SOL_SOCKET, libc::SO_DOMAIN, "SO_DOMAIN")?;
    ensure!(
        dom == c.fam.domain(),
        "SO_DOMAIN {dom}, want {}",
        c.fam.domain()
    );
    let pr = getint(&s, libc::SOL_SOCKET, libc::SO_PROTOCOL, "SO_PROTOCOL")?;
    ensure!(
        pr == c.fam.proto(),
        "SO_PROTOCOL {pr}, want {}",
        c.fam.proto()
    );
    Ok(())
}

/// The family and address of `getsockname`/`getpeername`.
fn name_of(fd: &Fd, peer: bool) -> Res<(i32, SocketAddr)> {
    let what = if peer { "getpeername" } else { "getsockname" };
    let (f, a) = os(what, raw::sockname(fd, peer))?;
    let a = a.ok_or_else(|| format!("{what}: address family {f}"))?;
    Ok((f, a))
}

fn bind_port0(c: &Ctx) -> Res {
    let s = c.sock(0)?;
    os("bind port 0", sys::bind(&s, &c.addr(0)))?;
    let (f, a) = name_of(&s, false)?;
    ensure!(
        f == c.fam.ip_family(),
        "getsockname family {f}, want {}",
        c.fam.ip_family()
    );
    ensure!(a.ip() == c.fam.loopback(), "getsockname address {a}");
    ensure!(a.port() != 0, "getsockname port 0 after bind to port 0");
    // A second bind of a bound socket is refused.
    want_err("second bind", sys::bind(&s, &c.addr(0)), libc::EINVAL)
}

fn bind_eaddrinuse(c: &Ctx) -> Res {
    let port = c.port();
    let a = c.sock(0)?;
    os("bind", sys::bind(&a, &c.addr(port)))?;
    os("listen", sys::listen(&a, 4))?;
    let b = c.sock(0)?;
    want_err(
        "bind of a listening port",
        sys::bind(&b, &c.addr(port)),
        libc::EADDRINUSE,
    )?;
    // SO_REUSEADDR does not share a port with a listener.
    os(
        "SO_REUSEADDR",
        sys::setsockopt_int(&b, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1),
    )?;
    want_err(
        "SO_REUSEADDR bind of a listening port",
        sys::bind(&b, &c.addr(port)),
        libc::EADDRINUSE,
    )?;
    // The failed binds left `b` usable.
    os("bind port 0 after EADDRINUSE", sys::bind(&b, &c.addr(0)))
}

fn bind_reuseaddr(c: &Ctx) -> Res {
    // Two sockets with SO_REUSEADDR share a port while neither listens.
    let port = c.port();
    let reuse = |s: &Fd| {
        os(
            "SO_REUSEADDR",
            sys::setsockopt_int(s, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1),
        )
    };
    let a = c.sock(0)?;
    let b = c.sock(0)?;
    let x = c.sock(0)?;
    reuse(&a)?;
    reuse(&b)?;
    os("first SO_REUSEADDR bind", sys::bind(&a, &c.addr(port)))?;
    os("second SO_REUSEADDR bind", sys::bind(&b, &c.addr(port)))?;
    want_err(
        "bind without SO_REUSEADDR",
        sys::bind(&x, &c.addr(port)),
        libc::EADDRINUSE,
    )?;
    os("listen on the first", sys::listen(&a, 4))?;
    want_err("listen on the second", sys::listen(&b, 4), libc::EADDRINUSE)?;
    drop((a, b, x));
    // A port whose connection just closed (TIME_WAIT on one side) binds
    // again with SO_REUSEADDR.
    let (l, port) = c.listener()?;
    let cl = c.connect_to(port)?;
    let s = c.accept(&l)?;
    exchange(&cl, &s)?;
    drop(s);
    expect_eof(&cl)?;
    drop((cl, l));
    let n = c.sock(0)?;
    reuse(&n)?;
    os(
        "SO_REUSEADDR bind after close",
        sys::bind(&n, &c.addr(port)),
    )?;
    os("listen after close", sys::listen(&n, 4))
}

fn listen(c: &Ctx) -> Res {
    let port = c.port();
    let l = c.sock(0)?;
    os("bind", sys::bind(&l, &c.addr(port)))?;
    os("listen", sys::listen(&l, 4))?;
    os("listen again (new backlog)", sys::listen(&l, 32))?;
    // An unbound socket listens on an ephemeral port.
    let u = c.sock(0)?;
    os("listen unbound", sys::listen(&u, 4))?;
    let (_, a) = name_of(&u, false)?;
    ensure!(a.port() != 0, "unbound listener got no port");
    // A connected socket cannot listen.
    let cl = c.connect_to(port)?;
    let _s = c.accept(&l)?;
    want_err(
        "listen on a connected socket",
        sys::listen(&cl, 4),
        libc::EINVAL,
    )
}

fn accept_blocking(c: &Ctx) -> Res {
    let (l, port) = c.listener()?;
    let (s, cl) = std::thread::scope(|sc| {
        let h = sc.spawn(|| {
            std::thread::sleep(Duration::from_millis(300));
            c.connect_to(port)
        });
        let s = os("blocking accept", sys::accept4(&l, libc::SOCK_CLOEXEC));
        (s, h.join().map_err(|_| "thread panicked".to_string()))
    });
    let cl = cl??;
    let s = s?;
    exchange(&cl, &s)
}

fn accept_nonblocking(c: &Ctx) -> Res {
    let port = c.port();
    let l = c.listener_on(port, libc::SOCK_NONBLOCK)?;
    want_err(
        "accept with nothing pending",
        sys::accept4(&l, 0),
        libc::EAGAIN,
    )?;
    let r = poll_now(&l, libc::POLLIN)?;
    ensure!(
        r & libc::POLLIN == 0,
        "listener readable with nothing pending: {}",
        poll_names(r)
    );
    let cl = c.connect_to(port)?;
    let r = wait_for(&l, libc::POLLIN, "listener readable")?;
    ensure!(r & libc::POLLIN != 0, "listener revents {}", poll_names(r));
    let s = os("accept after POLLIN", sys::accept4(&l, libc::SOCK_CLOEXEC))?;
    want_err("second accept", sys::accept4(&l, 0), libc::EAGAIN)?;
    exchange(&cl, &s)
}

fn accept4_flags(c: &Ctx) -> Res {
    let (l, port) = c.listener()?;
    let c1 = c.connect_to(port)?;
    let c2 = c.connect_to(port)?;
    wait_for(&l, libc::POLLIN, "listener readable")?;
    let s1 = os(
        "accept4(SOCK_NONBLOCK|SOCK_CLOEXEC)",
        sys::accept4(&l, libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC),
    )?;
    let fl = os("F_GETFL", raw::fcntl(&s1, libc::F_GETFL, 0))?;
    ensure!(
        has_flag(fl, libc::O_NONBLOCK),
        "accepted socket lacks O_NONBLOCK"
    );
    let fd = os("F_GETFD", raw::fcntl(&s1, libc::F_GETFD, 0))?;
    ensure!(
        has_flag(fd, libc::FD_CLOEXEC),
        "accepted socket lacks FD_CLOEXEC"
    );
    wait_for(&l, libc::POLLIN, "listener readable")?;
    let s2 = os("accept4(0)", sys::accept4(&l, 0))?;
    let fl = os("F_GETFL", raw::fcntl(&s2, libc::F_GETFL, 0))?;
    ensure!(
        !has_flag(fl, libc::O_NONBLOCK),
        "accept4(0) gave O_NONBLOCK"
    );
    let fd = os("F_GETFD", raw::fcntl(&s2, libc::F_GETFD, 0))?;
    ensure!(
        !has_flag(fd, libc::FD_CLOEXEC),
        "accept4(0) gave FD_CLOEXEC"
    );
    // The non-blocking accepted socket says EAGAIN instead of waiting.
    let mut b = [0u8; 4];
    want_err(
        "recv on the O_NONBLOCK socket",
        sys::recv(&s1, &mut b, 0),
        libc::EAGAIN,
    )?;
    exchange(&c1, &s1)?;
    exchange(&c2, &s2)
}

fn connect_blocking(c: &Ctx) -> Res {
    let (l, port) = c.listener()?;
    let cl = c.connect_to(port)?;
    want_err(
        "second connect",
        sys::connect(&cl, &c.addr(port)),
        libc::EISCONN,
    )?;
    let s = c.accept(&l)?;
    exchange(&cl, &s)
}

/// Checks the state after a non-blocking connect reported completion.
fn after_nonblocking_connect(c: &Ctx, cl: &Fd, l: &Fd, port: u16) -> Res {
    let err = getint(cl, libc::SOL_SOCKET, libc::SO_ERROR, "SO_ERROR")?;
    ensure!(err == 0, "SO_ERROR {}", errname(err));
    // The classic idiom: connect again to learn the outcome (0), then EISCONN.
    os("connect after completion", sys::connect(cl, &c.addr(port)))?;
    want_err(
        "third connect",
        sys::connect(cl, &c.addr(port)),
        libc::EISCONN,
    )?;
    let s = c.accept(l)?;
    exchange(cl, &s)
}

fn connect_nonblocking_poll(c: &Ctx) -> Res {
    let (l, port) = c.listener()?;
    let cl = c.sock(libc::SOCK_NONBLOCK)?;
    want_err(
        "non-blocking connect",
        sys::connect(&cl, &c.addr(port)),
        libc::EINPROGRESS,
    )?;
    want_err(
        "connect while connecting",
        sys::connect(&cl, &c.addr(port)),
        libc::EALREADY,
    )
    .or_else(|e| {
        // It may have completed in between: then it is 0 or EISCONN.
        match sys::connect(&cl, &c.addr(port)) {
            Ok(()) | Err(libc::EISCONN) => Ok(()),
            _ => Err(e),
        }
    })?;
    let r = wait_for(&cl, libc::POLLOUT, "POLLOUT after connect")?;
    ensure!(
        r & libc::POLLOUT != 0 && r & (libc::POLLERR | libc::POLLHUP) == 0,
        "revents {}",
        poll_names(r)
    );
    // Re-check the state from scratch if the EALREADY probe completed it.
    let err = getint(&cl, libc::SOL_SOCKET, libc::SO_ERROR, "SO_ERROR")?;
    ensure!(err == 0, "SO_ERROR {}", errname(err));
    let s = c.accept(&l)?;
    exchange(&cl, &s)
}

fn connect_nonblocking_epoll(c: &Ctx) -> Res {
    let (l, port) = c.listener()?;
    let cl = c.sock(libc::SOCK_NONBLOCK)?;
    let ep = os("epoll_create1", raw::epoll_create())?;
    os(
        "epoll_ctl",
        raw::epoll_ctl(&ep, libc::EPOLL_CTL_ADD, &cl, libc::EPOLLOUT as u32, 7),
    )?;
    want_err(
        "non-blocking connect",
        sys::connect(&cl, &c.addr(port)),
        libc::EINPROGRESS,
    )?;
    let ev = os("epoll_wait", raw::epoll_wait(&ep, WAIT))?;
    ensure!(
        ev.len() == 1,
        "epoll_wait: {} events within {WAIT:?}",
        ev.len()
    );
    let (e, data) = ev[0];
    ensure!(data == 7, "epoll data {data}");
    ensure!(
        e & libc::EPOLLOUT as u32 != 0 && e & (libc::EPOLLERR | libc::EPOLLHUP) as u32 == 0,
        "epoll events {e:#x}"
    );
    after_nonblocking_connect(c, &cl, &l, port)
}

fn connect_refused(c: &Ctx) -> Res {
    let port = closed_port(c)?;
    let cl = c.sock(0)?;
    want_err(
        "connect to a closed port",
        sys::connect(&cl, &c.addr(port)),
        libc::ECONNREFUSED,
    )
}

fn connect_refused_nonblocking(c: &Ctx) -> Res {
    let port = closed_port(c)?;
    let cl = c.sock(libc::SOCK_NONBLOCK)?;
    want_err(
        "non-blocking connect to a closed port",
        sys::connect(&cl, &c.addr(port)),
        libc::EINPROGRESS,
    )?;
    let r = wait_for(&cl, libc::POLLOUT, "connect outcome")?;
    ensure!(
        r & libc::POLLERR != 0,
        "revents {}, want POLLERR",
        poll_names(r)
    );
    let err = getint(&cl, libc::SOL_SOCKET, libc::SO_ERROR, "SO_ERROR")?;
    ensure!(
        err == libc::ECONNREFUSED,
        "SO_ERROR {}, want ECONNREFUSED",
        errname(err)
    );
    // Reading SO_ERROR clears it.
    let err = getint(&cl, libc::SOL_SOCKET, libc::SO_ERROR, "SO_ERROR")?;
    ensure!(err == 0, "SO_ERROR not cleared: {}", errname(err));
    Ok(())
}

/// Blocking `recv` (bounded by `SO_RCVTIMEO`) until `n` bytes came.
fn recv_blocking(fd: &Fd, n: usize) -> Res<Vec<u8>> {
    let mut v = vec![0u8; n];
    let mut off = 0;
    while off < n {
        match os("recv", sys::recv(fd, &mut v[off..], 0))? {
            0 => return Err(format!("EOF after {off} of {n} bytes")),
            k => off += k,
        }
    }
    Ok(v)
}

fn send_recv(c: &Ctx) -> Res {
    let p = c.pair()?;
    let a = pattern(1, 3000);
    for part in a.chunks(1000) {
        let n = os("send", sys::send(&p.c, part, libc::MSG_NOSIGNAL))?;
        ensure!(
            n == part.len(),
            "short blocking send: {n} of {}",
            part.len()
        );
    }
    same("client to server", &recv_blocking(&p.s, a.len())?, &a)?;
    let b = pattern(2, 5000);
    let n = os("send", sys::send(&p.s, &b, libc::MSG_NOSIGNAL))?;
    ensure!(n == b.len(), "short blocking send: {n}");
    same("server to client", &recv_blocking(&p.c, b.len())?, &b)
}

fn write_read(c: &Ctx) -> Res {
    let p = c.pair()?;
    let a = pattern(3, 4096);
    let n = os("write", raw::write(&p.c, &a))?;
    ensure!(n == a.len(), "short write {n}");
    let mut got = Vec::new();
    let mut buf = [0u8; 1500];
    while got.len() < a.len() {
        match os("read", raw::read(&p.s, &mut buf))? {
            0 => return Err(format!("EOF after {} bytes", got.len())),
            k => got.extend_from_slice(&buf[..k]),
        }
    }
    same("write/read", &got, &a)?;
    let n = os("write", raw::write(&p.s, b"back"))?;
    ensure!(n == 4, "short write {n}");
    let mut b4 = [0u8; 4];
    let k = os("read", raw::read(&p.c, &mut b4))?;
    same("read back", &b4[..k], &b"back"[..k])
}

fn sendmsg_recvmsg(c: &Ctx) -> Res {
    let p = c.pair()?;
    let whole = pattern(4, 10 + 100 + 1000);
    let (a, rest) = whole.split_at(10);
    let (b, d) = rest.split_at(100);
    let n = os(
        "sendmsg",
        raw::sendmsg(&p.c, &[a, b, d], libc::MSG_NOSIGNAL),
    )?;
    ensure!(n == whole.len(), "sendmsg sent {n} of {}", whole.len());
    let mut x = vec![0u8; 555];
    let mut y = vec![0u8; 555];
    let (n, flags) = os(
        "recvmsg",
        raw::recvmsg(&p.s, &mut [&mut x, &mut y], libc::MSG_WAITALL),
    )?;
    ensure!(
        n == whole.len(),
        "recvmsg(MSG_WAITALL) got {n} of {}",
        whole.len()
    );
    ensure!(flags & libc::MSG_TRUNC == 0, "msg_flags {flags:#x}");
    x.extend_from_slice(&y);
    same("sendmsg/recvmsg", &x, &whole)
}

fn msg_dontwait(c: &Ctx) -> Res {
    let p = c.pair()?;
    let mut b = [0u8; 16];
    let t = Instant::now();
    want_err(
        "recv(MSG_DONTWAIT) with no data",
        sys::recv(&p.s, &mut b, libc::MSG_DONTWAIT),
        libc::EAGAIN,
    )?;
    ensure!(
        t.elapsed() < Duration::from_secs(2),
        "MSG_DONTWAIT recv waited {:?}",
        t.elapsed()
    );
    send_all(&p.c, b"abc")?;
    wait_for(&p.s, libc::POLLIN, "data")?;
    let n = os(
        "recv(MSG_DONTWAIT)",
        sys::recv(&p.s, &mut b, libc::MSG_DONTWAIT),
    )?;
    same("data", &b[..n], &b"abc"[..n])?;
    // On a blocking socket, MSG_DONTWAIT sends until the buffers are full.
    let sent = fill(&p.c)?;
    ensure!(sent > 0, "nothing sent");
    Ok(())
}

fn msg_peek(c: &Ctx) -> Res {
    let p = c.pair()?;
    send_all(&p.c, b"peek!")?;
    let mut b = [0u8; 16];
    let deadline = Instant::now() + WAIT;
    loop {
        wait_for(&p.s, libc::POLLIN, "data")?;
        let n = os("recv(MSG_PEEK)", sys::recv(&p.s, &mut b, libc::MSG_PEEK))?;
        if n == 5 {
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "MSG_PEEK sees only {n} of 5 bytes"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    same("first peek", &b[..5], b"peek!")?;
    let n = os(
        "recv(MSG_PEEK)",
        sys::recv(&p.s, &mut b[..2], libc::MSG_PEEK),
    )?;
    same("short peek", &b[..n], b"pe")?;
    let n = os("recv", sys::recv(&p.s, &mut b, 0))?;
    same("recv after peeks", &b[..n], b"peek!")?;
    want_err(
        "recv after the data was read",
        sys::recv(&p.s, &mut b, libc::MSG_DONTWAIT),
        libc::EAGAIN,
    )
}

fn msg_waitall(c: &Ctx) -> Res {
    let p = c.pair()?;
    let data = pattern(5, 4000);
    let mut got = vec![0u8; 4000];
    let (n, sent) = std::thread::scope(|sc| {
        let h = sc.spawn(|| -> Res {
            for part in data.chunks(1000) {
                std::thread::sleep(Duration::from_millis(60));
                send_all(&p.c, part)?;
            }
            Ok(())
        });
        let n = os(
            "recv(MSG_WAITALL)",
            sys::recv(&p.s, &mut got, libc::MSG_WAITALL),
        );
        (n, h.join().map_err(|_| "thread panicked".to_string()))
    });
    sent??;
    let n = n?;
    ensure!(n == 4000, "MSG_WAITALL returned {n} of 4000 bytes");
    same("MSG_WAITALL", &got, &data)
}

fn msg_more(c: &Ctx) -> Res {
    let p = c.pair()?;
    let data = pattern(6, 400);
    for (i, part) in data.chunks(100).enumerate() {
        let more = if i < 3 { libc::MSG_MORE } else { 0 };
        let n = os("send", sys::send(&p.c, part, more | libc::MSG_NOSIGNAL))?;
        ensure!(n == 100, "short send {n}");
    }
    same("MSG_MORE data", &recv_exact(&p.s, 400)?, &data)
}

fn tcp_cork(c: &Ctx) -> Res {
    let p = c.pair()?;
    let data = pattern(7, 300);
    os(
        "TCP_CORK 1",
        sys::setsockopt_int(&p.c, libc::IPPROTO_TCP, libc::TCP_CORK, 1),
    )?;
    for part in data.chunks(100) {
        send_all(&p.c, part)?;
    }
    if p.mode == ConnMode::Smcd {
        // On SMC-D the data is in the peer's DMB, but the peer is not told of it while the
        // ring has room (C: `smc_tx_should_cork()`, no time limit as TCP's 200 ms): it reads
        // nothing, and the sender counts it as not sent.
        std::thread::sleep(Duration::from_millis(300));
        let inq = os("SIOCINQ", raw::ioctl_get(&p.s, SIOCINQ))?;
        ensure!(inq == 0, "SIOCINQ {inq} at the peer while corked");
        let nsd = os("SIOCOUTQNSD", raw::ioctl_get(&p.c, SIOCOUTQNSD))?;
        ensure!(nsd == 300, "SIOCOUTQNSD {nsd} while corked, want 300");
    }
    os(
        "TCP_CORK 0",
        sys::setsockopt_int(&p.c, libc::IPPROTO_TCP, libc::TCP_CORK, 0),
    )?;
    same("corked data", &recv_exact(&p.s, 300)?, &data)
}

/// After the peer closed: sends one byte at a time with `flags` until one
/// fails. Gives the error and how many SIGPIPEs came meanwhile.
fn send_to_closed_peer(c: &Ctx, flags: i32) -> Res<(i32, usize, ConnMode)> {
    let p = c.pair()?;
    let mode = p.mode;
    let Pair { c: cl, s, .. } = p;
    drop(s);
    expect_eof(&cl)?;
    let before = SIGPIPES.load(Ordering::SeqCst);
    for _ in 0..100 {
        match sys::send(&cl, b"x", flags) {
            // TCP: the first send makes the peer answer with a reset.
            Ok(_) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Ok((e, SIGPIPES.load(Ordering::SeqCst) - before, mode)),
        }
    }
    Err("sends to a closed peer keep succeeding".into())
}

/// C smc on an SMC data path: once the peer closed, `smc_tx_sendmsg()`
/// returns `-ECONNRESET` (`smc_cdc_rxed_any_close()`) without going through
/// `sk_stream_error()`, so no `EPIPE` and no SIGPIPE (TCP: `EPIPE` and
/// SIGPIPE unless `MSG_NOSIGNAL`).
fn smc_closed_peer_deviation(c: &Ctx, mode: ConnMode, e: i32, sigs: usize) -> bool {
    if mode.smc_path() && e == libc::ECONNRESET && sigs == 0 {
        c.note(format!(
            "C smc ({}): send to a closed peer gave ECONNRESET without SIGPIPE; TCP gives EPIPE",
            mode.name()
        ));
        return true;
    }
    false
}

fn msg_nosignal_epipe(c: &Ctx) -> Res {
    let (e, sigs, mode) = send_to_closed_peer(c, libc::MSG_NOSIGNAL)?;
    if smc_closed_peer_deviation(c, mode, e, sigs) {
        return Ok(());
    }
    ensure!(
        e == libc::EPIPE,
        "send to a closed peer: {}, want EPIPE",
        errname(e)
    );
    ensure!(sigs == 0, "SIGPIPE despite MSG_NOSIGNAL");
    Ok(())
}

fn sigpipe(c: &Ctx) -> Res {
    let (e, sigs, mode) = send_to_closed_peer(c, 0)?;
    if smc_closed_peer_deviation(c, mode, e, sigs) {
        return Ok(());
    }
    ensure!(
        e == libc::EPIPE,
        "send to a closed peer: {}, want EPIPE",
        errname(e)
    );
    ensure!(sigs == 1, "{sigs} SIGPIPEs, want 1");
    Ok(())
}

fn sendfile(c: &Ctx) -> Res {
    let p = c.pair()?;
    let data = pattern(8, 256 << 10);
    let path = std::env::temp_dir().join(format!("smctest-sendfile-{}", std::process::id()));
    std::fs::write(&path, &data).map_err(|e| format!("write {}: {e}", path.display()))?;
    let file = std::fs::File::open(&path).map_err(|e| format!("open: {e}"));
    let _ = std::fs::remove_file(&path);
    let file = file?;
    let (got, sent) = std::thread::scope(|sc| {
        let h = sc.spawn(|| -> Res {
            let mut off = 0;
            while off < data.len() {
                // Blocking, bounded by SO_SNDTIMEO; the file position advances.
                match os("sendfile", raw::sendfile(&p.c, &file, data.len() - off))? {
                    0 => return Err(format!("sendfile returned 0 after {off} bytes")),
                    n => off += n,
                }
            }
            Ok(())
        });
        (
            recv_exact(&p.s, data.len()),
            h.join().map_err(|_| "thread panicked".to_string()),
        )
    });
    sent??;
    same("sendfile data", &got?, &data)
}

fn splice_read(c: &Ctx) -> Res {
    let p = c.pair()?;
    let data = pattern(9, 64 << 10);
    let (r, w) = os("pipe2", raw::pipe())?;
    let mut got = Vec::new();
    std::thread::scope(|sc| {
        let h = sc.spawn(|| send_all(&p.c, &data));
        let mut buf = vec![0u8; 16 << 10];
        while got.len() < data.len() {
            // socket -> pipe, then empty the pipe so the next splice has room.
            let n = os(
                "splice socket->pipe",
                raw::splice(&p.s, &w, (data.len() - got.len()).min(16 << 10), 0),
            )?;
            ensure!(n > 0, "splice socket->pipe: EOF after {} bytes", got.len());
            let mut left = n;
            while left > 0 {
                let k = os("read pipe", raw::read(&r, &mut buf[..left.min(16 << 10)]))?;
                got.extend_from_slice(&buf[..k]);
                left -= k;
            }
        }
        h.join().map_err(|_| "thread panicked".to_string())?
    })?;
    same("spliced data", &got, &data)
}

fn splice_write(c: &Ctx) -> Res {
    let p = c.pair()?;
    let data = pattern(10, 48 << 10);
    let (r, w) = os("pipe2", raw::pipe())?;
    // The whole pattern fits in the pipe (64 KiB by default).
    let n = os("write pipe", raw::write(&w, &data))?;
    ensure!(n == data.len(), "short pipe write {n}");
    let (got, spliced) = std::thread::scope(|sc| {
        let h = sc.spawn(|| -> Res {
            let mut off = 0;
            while off < data.len() {
                match os(
                    "splice pipe->socket",
                    raw::splice(&r, &p.c, data.len() - off, 0),
                )? {
                    0 => return Err(format!("splice returned 0 after {off} bytes")),
                    n => off += n,
                }
            }
            Ok(())
        });
        (
            recv_exact(&p.s, data.len()),
            h.join().map_err(|_| "thread panicked".to_string()),
        )
    });
    spliced??;
    same("spliced data", &got?, &data)
}

fn poll_in(c: &Ctx) -> Res {
    let p = c.pair()?;
    let r = poll_now(&p.s, libc::POLLIN)?;
    ensure!(
        r & libc::POLLIN == 0,
        "POLLIN without data: {}",
        poll_names(r)
    );
    send_all(&p.c, b"0123456789")?;
    let r = wait_for(&p.s, libc::POLLIN, "POLLIN")?;
    ensure!(r == libc::POLLIN, "revents {}, want POLLIN", poll_names(r));
    recv_exact(&p.s, 10)?;
    let r = poll_now(&p.s, libc::POLLIN)?;
    ensure!(
        r & libc::POLLIN == 0,
        "POLLIN after reading everything: {}",
        poll_names(r)
    );
    Ok(())
}

fn poll_out(c: &Ctx) -> Res {
    let p = c.pair()?;
    let r = wait_for(&p.c, libc::POLLOUT, "POLLOUT on a new connection")?;
    ensure!(r == libc::POLLOUT, "revents {}", poll_names(r));
    let mut total = fill(&p.c)?;
    // Late space (buffers settling) is filled too before asking poll.
    std::thread::sleep(Duration::from_millis(200));
    total += fill(&p.c)?;
    let r = poll_now(&p.c, libc::POLLOUT)?;
    ensure!(
        r & libc::POLLOUT == 0,
        "POLLOUT with full buffers ({total} bytes sent): {}",
        poll_names(r)
    );
    // The peer reads it all: writable again.
    let deadline = Instant::now() + WAIT;
    let mut buf = vec![0u8; 256 << 10];
    let mut got = 0;
    while got < total {
        match sys::recv(&p.s, &mut buf, libc::MSG_DONTWAIT) {
            Ok(0) => return Err("EOF while draining".into()),
            Ok(n) => got += n,
            Err(libc::EAGAIN) => {
                ensure!(Instant::now() < deadline, "drained only {got} of {total}");
                sys::poll_until(&p.s, libc::POLLIN, deadline).map_err(errname)?;
            }
            Err(e) => return Err(format!("recv: {}", errname(e))),
        }
    }
    let r = wait_for(&p.c, libc::POLLOUT, "POLLOUT after the peer read")?;
    ensure!(r == libc::POLLOUT, "revents {}", poll_names(r));
    Ok(())
}

fn poll_rdhup_hup(c: &Ctx) -> Res {
    let p = c.pair()?;
    let ev = libc::POLLIN | libc::POLLOUT | libc::POLLRDHUP;
    os("shutdown(SHUT_WR)", sys::shutdown(&p.s, libc::SHUT_WR))?;
    let r = wait_until(&p.c, ev, "POLLRDHUP after the peer's SHUT_WR", |r| {
        r & libc::POLLRDHUP != 0
    })?;
    ensure!(
        r & libc::POLLIN != 0 && r & libc::POLLHUP == 0,
        "after the peer's SHUT_WR: {}, want POLLIN|POLLRDHUP without POLLHUP",
        poll_names(r)
    );
    os("shutdown(SHUT_WR)", sys::shutdown(&p.c, libc::SHUT_WR))?;
    // Both directions shut down: hang-up on both ends.
    wait_until(&p.c, ev, "POLLHUP after both SHUT_WR", |r| {
        r & libc::POLLHUP != 0
    })?;
    wait_until(&p.s, ev, "POLLHUP on the peer", |r| r & libc::POLLHUP != 0)?;
    expect_eof(&p.c)?;
    expect_eof(&p.s)
}

fn poll_peer_close(c: &Ctx) -> Res {
    let Pair { c: cl, s, .. } = c.pair()?;
    send_all(&s, b"last")?;
    drop(s);
    let ev = libc::POLLIN | libc::POLLRDHUP;
    let r = wait_until(&cl, ev, "POLLRDHUP after the peer's close", |r| {
        r & libc::POLLRDHUP != 0
    })?;
    ensure!(r & libc::POLLIN != 0, "revents {}", poll_names(r));
    same("data before close", &recv_exact(&cl, 4)?, b"last")?;
    expect_eof(&cl)
}

fn epoll(c: &Ctx) -> Res {
    let p = c.pair()?;
    let ep = os("epoll_create1", raw::epoll_create())?;
    let ein = libc::EPOLLIN as u32;
    let erdhup = libc::EPOLLRDHUP as u32;
    os(
        "epoll_ctl",
        raw::epoll_ctl(&ep, libc::EPOLL_CTL_ADD, &p.s, ein | erdhup, 1),
    )?;
    let ev = os("epoll_wait", raw::epoll_wait(&ep, Duration::ZERO))?;
    ensure!(ev.is_empty(), "events without data: {ev:x?}");
    send_all(&p.c, b"epoll")?;
    for round in 0..2 {
        // Level-triggered: reported again while the data is unread.
        let ev = os("epoll_wait", raw::epoll_wait(&ep, WAIT))?;
        ensure!(
            ev.len() == 1 && ev[0].0 == ein && ev[0].1 == 1,
            "round {round}: events {ev:x?}, want EPOLLIN"
        );
    }
    recv_exact(&p.s, 5)?;
    let ev = os("epoll_wait", raw::epoll_wait(&ep, Duration::ZERO))?;
    ensure!(ev.is_empty(), "events after reading: {ev:x?}");
    // EPOLLOUT on the writable client.
    let ep2 = os("epoll_create1", raw::epoll_create())?;
    let eout = libc::EPOLLOUT as u32;
    os(
        "epoll_ctl",
        raw::epoll_ctl(&ep2, libc::EPOLL_CTL_ADD, &p.c, eout, 2),
    )?;
    let ev = os("epoll_wait", raw::epoll_wait(&ep2, WAIT))?;
    ensure!(
        ev.len() == 1 && ev[0].0 == eout,
        "client events {ev:x?}, want EPOLLOUT"
    );
    // The peer's SHUT_WR: EPOLLIN|EPOLLRDHUP.
    os("shutdown", sys::shutdown(&p.c, libc::SHUT_WR))?;
    let deadline = Instant::now() + WAIT;
    loop {
        let ev = os("epoll_wait", raw::epoll_wait(&ep, WAIT))?;
        if ev.len() == 1 && ev[0].0 == ein | erdhup {
            return Ok(());
        }
        ensure!(
            Instant::now() < deadline,
            "after SHUT_WR: events {ev:x?}, want EPOLLIN|EPOLLRDHUP"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn epoll_et(c: &Ctx) -> Res {
    let p = c.pair()?;
    let ep = os("epoll_create1", raw::epoll_create())?;
    let ein = libc::EPOLLIN as u32;
    let et = libc::EPOLLET as u32;
    os(
        "epoll_ctl",
        raw::epoll_ctl(&ep, libc::EPOLL_CTL_ADD, &p.s, ein | et, 3),
    )?;
    send_all(&p.c, b"edge")?;
    let ev = os("epoll_wait", raw::epoll_wait(&ep, WAIT))?;
    ensure!(ev.len() == 1 && ev[0].0 & ein != 0, "first edge: {ev:x?}");
    // No new data: no new edge, although the data is still unread.
    let ev = os(
        "epoll_wait",
        raw::epoll_wait(&ep, Duration::from_millis(300)),
    )?;
    ensure!(
        ev.is_empty(),
        "edge-triggered reported again without new data: {ev:x?}"
    );
    send_all(&p.c, b"more")?;
    let ev = os("epoll_wait", raw::epoll_wait(&ep, WAIT))?;
    ensure!(ev.len() == 1 && ev[0].0 & ein != 0, "second edge: {ev:x?}");
    same("edge data", &recv_exact(&p.s, 8)?, b"edgemore")
}

/// C smc on an SMC data path: `smc_sendmsg()` refuses a socket whose
/// state left ACTIVE/APPCLOSEWAIT1 (after SHUT_WR: PEERCLOSEWAIT1) with a
/// bare `-EPIPE`, without SIGPIPE (TCP raises SIGPIPE unless
/// `MSG_NOSIGNAL`).
fn epipe_sigpipe_after_shutdown(c: &Ctx, fd: &Fd, mode: ConnMode) -> Res {
    want_err(
        "send(MSG_NOSIGNAL) after SHUT_WR",
        sys::send(fd, b"x", libc::MSG_NOSIGNAL),
        libc::EPIPE,
    )?;
    let before = SIGPIPES.load(Ordering::SeqCst);
    want_err("send after SHUT_WR", sys::send(fd, b"x", 0), libc::EPIPE)?;
    let sigs = SIGPIPES.load(Ordering::SeqCst) - before;
    if sigs == 0 && mode.smc_path() {
        c.note(format!(
            "C smc ({}): send after SHUT_WR gave EPIPE without SIGPIPE",
            mode.name()
        ));
        return Ok(());
    }
    ensure!(
        sigs == 1,
        "{sigs} SIGPIPEs for a send after SHUT_WR, want 1"
    );
    Ok(())
}

fn shutdown_wr(c: &Ctx) -> Res {
    let p = c.pair()?;
    send_all(&p.c, b"before")?;
    os("shutdown(SHUT_WR)", sys::shutdown(&p.c, libc::SHUT_WR))?;
    same("data before SHUT_WR", &recv_exact(&p.s, 6)?, b"before")?;
    expect_eof(&p.s)?;
    epipe_sigpipe_after_shutdown(c, &p.c, p.mode)?;
    // The other direction still works.
    send_all(&p.s, b"reply")?;
    same("reply after SHUT_WR", &recv_exact(&p.c, 5)?, b"reply")?;
    os("peer shutdown(SHUT_WR)", sys::shutdown(&p.s, libc::SHUT_WR))?;
    expect_eof(&p.c)
}

fn shutdown_rd(c: &Ctx) -> Res {
    let p = c.pair()?;
    os("shutdown(SHUT_RD)", sys::shutdown(&p.c, libc::SHUT_RD))?;
    let mut b = [0u8; 8];
    let t = Instant::now();
    let n = os("recv after SHUT_RD", sys::recv(&p.c, &mut b, 0))?;
    ensure!(n == 0, "recv after SHUT_RD gave {n} bytes, want EOF");
    ensure!(
        t.elapsed() < Duration::from_secs(2),
        "recv after SHUT_RD blocked"
    );
    // Sending still works.
    send_all(&p.c, b"still")?;
    same("send after SHUT_RD", &recv_exact(&p.s, 5)?, b"still")
}

fn shutdown_rdwr(c: &Ctx) -> Res {
    let p = c.pair()?;
    send_all(&p.c, b"bye")?;
    os("shutdown(SHUT_RDWR)", sys::shutdown(&p.c, libc::SHUT_RDWR))?;
    same("data before SHUT_RDWR", &recv_exact(&p.s, 3)?, b"bye")?;
    expect_eof(&p.s)?;
    want_err(
        "send after SHUT_RDWR",
        sys::send(&p.c, b"x", libc::MSG_NOSIGNAL),
        libc::EPIPE,
    )?;
    let mut b = [0u8; 8];
    let n = os(
        "recv after SHUT_RDWR",
        sys::recv(&p.c, &mut b, libc::MSG_DONTWAIT),
    )?;
    ensure!(n == 0, "recv after SHUT_RDWR gave {n} bytes");
    Ok(())
}

/// Many short connections, one after the other: connect, one byte each way,
/// close (both ends). Nothing may fail, hang or leak (kmemleak after the run).
fn connect_close_churn(c: &Ctx) -> Res {
    let (l, port) = c.listener()?;
    let n = c.churn;
    std::thread::scope(|sc| {
        let server = sc.spawn(|| -> Res {
            for i in 0..n {
                let s = c.accept(&l).map_err(|e| format!("accept {i}: {e}"))?;
                let b = recv_exact(&s, 1)?;
                send_all(&s, &b)?;
                expect_eof(&s).map_err(|e| format!("cycle {i}: {e}"))?;
            }
            Ok(())
        });
        let mut r = Ok(());
        for i in 0..n {
            let one = (|| -> Res {
                let s = c.connect_to(port)?;
                send_all(&s, &[i as u8])?;
                same("echo", &recv_exact(&s, 1)?, &[i as u8])
            })();
            if let Err(e) = one {
                r = Err(format!("cycle {i}: {e}"));
                break;
            }
        }
        // A failed client leaves the server waiting: unblock it.
        if r.is_err() {
            drop(c.connect_to(port));
        }
        let sr = server.join().map_err(|_| "server thread panicked".to_string())?;
        r.and(sr)
    })
}

/// A listener closed with connections it never accepted: each client sees
/// the end of its connection (EOF or a reset) within the wait, no hang.
fn listener_closed_with_pending(c: &Ctx) -> Res {
    let (l, port) = c.listener()?;
    let clients = (0..4).map(|_| c.connect_to(port)).collect::<Res<Vec<_>>>()?;
    drop(l);
    for (i, cl) in clients.iter().enumerate() {
        wait_for(cl, libc::POLLIN, "end of the unaccepted connection")?;
        let mut b = [0u8; 16];
        match sys::recv(cl, &mut b, libc::MSG_DONTWAIT) {
            Ok(0) => {}
            Err(e) if e == libc::ECONNRESET => {}
            Ok(n) => return Err(format!("client {i}: {n} bytes from a closed listener")),
            Err(e) => return Err(format!("client {i}: {}", errname(e))),
        }
    }
    Ok(())
}

fn shutdown_unconnected(c: &Ctx) -> Res {
    let s = c.sock(0)?;
    want_err("shutdown(99)", sys::shutdown(&s, 99), libc::EINVAL)?;
    want_err(
        "shutdown of an unconnected socket",
        sys::shutdown(&s, libc::SHUT_RDWR),
        libc::ENOTCONN,
    )
}

fn close_pending_small(c: &Ctx) -> Res {
    let Pair { c: cl, s, .. } = c.pair()?;
    let data = pattern(11, 16 << 10);
    send_all(&cl, &data)?;
    drop(cl);
    // The reader starts only after the close.
    same(
        "data sent before close",
        &recv_exact(&s, data.len())?,
        &data,
    )?;
    expect_eof(&s)
}

fn close_pending_large(c: &Ctx) -> Res {
    let Pair { c: cl, s, .. } = c.pair()?;
    let data = pattern(12, 4 << 20);
    std::thread::scope(|sc| {
        let h = sc.spawn(|| -> Res {
            let got = recv_exact(&s, data.len())?;
            same("data sent before close", &got, &data)?;
            expect_eof(&s)
        });
        // Blocking sends (bounded by SO_SNDTIMEO), then close at once:
        // whatever is still queued must arrive.
        let mut off = 0;
        while off < data.len() {
            off += os("send", sys::send(&cl, &data[off..], libc::MSG_NOSIGNAL))?;
        }
        drop(cl);
        h.join().map_err(|_| "thread panicked".to_string())?
    })
}

fn sockname(c: &Ctx) -> Res {
    let (l, port) = c.listener()?;
    let cl = c.connect_to(port)?;
    let s = c.accept(&l)?;
    let lo = c.fam.loopback();
    let want_f = c.fam.ip_family();
    let (f, la) = name_of(&l, false)?;
    ensure!(
        f == want_f && la == SocketAddr::new(lo, port),
        "listener name {la} (family {f})"
    );
    let (f, ca) = name_of(&cl, false)?;
    ensure!(f == want_f, "client getsockname family {f}, want {want_f}");
    ensure!(
        ca.ip() == lo && ca.port() != 0 && ca.port() != port,
        "client name {ca}"
    );
    let (f, cp) = name_of(&cl, true)?;
    ensure!(
        f == want_f && cp == la,
        "client peer {cp} (family {f}), want {la}"
    );
    let (f, sa) = name_of(&s, false)?;
    ensure!(
        f == want_f && sa == la,
        "server name {sa} (family {f}), want {la}"
    );
    let (f, sp) = name_of(&s, true)?;
    ensure!(
        f == want_f && sp == ca,
        "server peer {sp} (family {f}), want {ca}"
    );
    let u = c.sock(0)?;
    want_err(
        "getpeername unconnected",
        raw::sockname(&u, true),
        libc::ENOTCONN,
    )
}

fn so_error(c: &Ctx) -> Res {
    let p = c.pair()?;
    for (fd, who) in [(&p.c, "client"), (&p.s, "server")] {
        let e = getint(fd, libc::SOL_SOCKET, libc::SO_ERROR, "SO_ERROR")?;
        ensure!(e == 0, "{who} SO_ERROR {}", errname(e));
    }
    let u = c.sock(0)?;
    let e = getint(&u, libc::SOL_SOCKET, libc::SO_ERROR, "SO_ERROR")?;
    ensure!(e == 0, "unconnected SO_ERROR {}", errname(e));
    Ok(())
}

/// Sets `level`/`name` to each `(set, want)` value and reads `want` back,
/// on an unconnected socket and on both ends of a connection.
fn roundtrip(c: &Ctx, level: i32, name: i32, what: &str, vals: &[(i32, i32)]) -> Res {
    let u = c.sock(0)?;
    let p = c.pair()?;
    for (fd, who) in [(&u, "unconnected"), (&p.c, "client"), (&p.s, "server")] {
        for &(set, want) in vals {
            os(
                &format!("{who} set {what} {set}"),
                sys::setsockopt_int(fd, level, name, set),
            )?;
            let got = getint(fd, level, name, what)?;
            ensure!(
                got == want,
                "{who}: {what} set {set}, got {got}, want {want}"
            );
        }
    }
    exchange(&p.c, &p.s)
}

fn sockopt_tcp_nodelay(c: &Ctx) -> Res {
    roundtrip(
        c,
        libc::IPPROTO_TCP,
        libc::TCP_NODELAY,
        "TCP_NODELAY",
        &[(1, 1), (0, 0)],
    )
}

fn sockopt_tcp_cork(c: &Ctx) -> Res {
    roundtrip(
        c,
        libc::IPPROTO_TCP,
        libc::TCP_CORK,
        "TCP_CORK",
        &[(1, 1), (0, 0)],
    )
}

/// The kernel doubles a buffer size for its bookkeeping.
fn sockopt_rcvbuf(c: &Ctx) -> Res {
    roundtrip(
        c,
        libc::SOL_SOCKET,
        libc::SO_RCVBUF,
        "SO_RCVBUF",
        &[(65536, 131072)],
    )
}

fn sockopt_sndbuf(c: &Ctx) -> Res {
    roundtrip(
        c,
        libc::SOL_SOCKET,
        libc::SO_SNDBUF,
        "SO_SNDBUF",
        &[(65536, 131072)],
    )
}

fn sockopt_reuseaddr(c: &Ctx) -> Res {
    roundtrip(
        c,
        libc::SOL_SOCKET,
        libc::SO_REUSEADDR,
        "SO_REUSEADDR",
        &[(1, 1), (0, 0)],
    )
}

fn sockopt_keepalive(c: &Ctx) -> Res {
    roundtrip(
        c,
        libc::SOL_SOCKET,
        libc::SO_KEEPALIVE,
        "SO_KEEPALIVE",
        &[(1, 1), (0, 0)],
    )
}

fn sockopt_keepidle(c: &Ctx) -> Res {
    roundtrip(
        c,
        libc::IPPROTO_TCP,
        libc::TCP_KEEPIDLE,
        "TCP_KEEPIDLE",
        &[(77, 77), (600, 600)],
    )
}

fn sockopt_linger(c: &Ctx) -> Res {
    let u = c.sock(0)?;
    let p = c.pair()?;
    for (fd, who) in [(&u, "unconnected"), (&p.c, "client"), (&p.s, "server")] {
        // Turning lingering off keeps the old time.
        for (set, want) in [((1, 7), (1, 7)), ((0, 0), (0, 7))] {
            os("set SO_LINGER", raw::set_linger(fd, set))?;
            let got = os("get SO_LINGER", raw::get_linger(fd))?;
            ensure!(
                got == want,
                "{who}: SO_LINGER set {set:?}, got {got:?}, want {want:?}"
            );
        }
    }
    exchange(&p.c, &p.s)
}

/// The `SOL_SOCKET` options a listener had when it listened are the accepted
/// socket's too, as a TCP listener passes them on (and the C smc copies them
/// through its CLC sockets).
fn sockopt_inherited(c: &Ctx) -> Res {
    let port = c.port();
    let l = c.sock(0)?;
    let rcvtimeo = Duration::from_millis(7250);
    os(
        "SO_KEEPALIVE",
        sys::setsockopt_int(&l, libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1),
    )?;
    os("SO_LINGER", raw::set_linger(&l, (1, 9)))?;
    os("SO_RCVTIMEO", raw::set_timeout(&l, libc::SO_RCVTIMEO, rcvtimeo))?;
    os(
        "SO_REUSEADDR",
        sys::setsockopt_int(&l, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1),
    )?;
    os("bind", sys::bind(&l, &c.addr(port)))?;
    os("listen", sys::listen(&l, 16))?;
    let cl = c.connect_to(port)?;
    let s = c.accept(&l)?;
    let ka = getint(&s, libc::SOL_SOCKET, libc::SO_KEEPALIVE, "SO_KEEPALIVE")?;
    ensure!(ka == 1, "accepted SO_KEEPALIVE {ka}, the listener's is 1");
    let (on, _) = os("get SO_LINGER", raw::get_linger(&s))?;
    ensure!(on == 1, "accepted SO_LINGER off, the listener's is on");
    // As the listener reports it (rounded to the kernel's clock ticks).
    let want = os("get SO_RCVTIMEO", raw::get_timeout(&l, libc::SO_RCVTIMEO))?;
    let t = os("get SO_RCVTIMEO", raw::get_timeout(&s, libc::SO_RCVTIMEO))?;
    ensure!(
        t == want && t >= rcvtimeo,
        "accepted SO_RCVTIMEO {t:?}, the listener's is {want:?} (set {rcvtimeo:?})"
    );
    // The client's own settings are untouched by the listener's.
    let ka = getint(&cl, libc::SOL_SOCKET, libc::SO_KEEPALIVE, "SO_KEEPALIVE")?;
    ensure!(ka == 0, "client SO_KEEPALIVE {ka}");
    exchange(&cl, &s)
}

fn sockopt_maxseg(c: &Ctx) -> Res {
    let u = c.sock(0)?;
    let m = getint(&u, libc::IPPROTO_TCP, libc::TCP_MAXSEG, "TCP_MAXSEG")?;
    ensure!(m > 0, "unconnected TCP_MAXSEG {m}");
    let p = c.pair()?;
    for (fd, who) in [(&p.c, "client"), (&p.s, "server")] {
        let m = getint(fd, libc::IPPROTO_TCP, libc::TCP_MAXSEG, "TCP_MAXSEG")?;
        ensure!(m > 0 && m <= 65535, "{who} TCP_MAXSEG {m}");
    }
    Ok(())
}

/// SMC's own option. TCP does not know level `SOL_SMC`: setting it is
/// `ENOPROTOOPT`; reading it is `EOPNOTSUPP` on IPv4 (`do_ip_getsockopt()`)
/// and `ENOPROTOOPT` on IPv6 (`ipv6_getsockopt()`).
fn sockopt_smc_limit_hs(c: &Ctx) -> Res {
    let u = c.sock(0)?;
    if !c.fam.is_smc() {
        want_err(
            "TCP setsockopt SOL_SMC",
            sys::setsockopt_int(&u, SOL_SMC, SMC_LIMIT_HS, 1),
            libc::ENOPROTOOPT,
        )?;
        let want = if c.fam.v6() {
            libc::ENOPROTOOPT
        } else {
            libc::EOPNOTSUPP
        };
        return want_err(
            "TCP getsockopt SOL_SMC",
            sys::getsockopt_int(&u, SOL_SMC, SMC_LIMIT_HS),
            want,
        );
    }
    for (set, want) in [(1, 1), (0, 0), (5, 1)] {
        os(
            "set SMC_LIMIT_HS",
            sys::setsockopt_int(&u, SOL_SMC, SMC_LIMIT_HS, set),
        )?;
        let got = getint(&u, SOL_SMC, SMC_LIMIT_HS, "SMC_LIMIT_HS")?;
        ensure!(
            got == want,
            "SMC_LIMIT_HS set {set}, got {got}, want {want}"
        );
    }
    want_err(
        "unknown SOL_SMC option",
        sys::getsockopt_int(&u, SOL_SMC, 99),
        libc::EOPNOTSUPP,
    )?;
    // A listener with the handshake limit still serves connections.
    let port = c.port();
    let l = c.sock(0)?;
    os(
        "set SMC_LIMIT_HS",
        sys::setsockopt_int(&l, SOL_SMC, SMC_LIMIT_HS, 1),
    )?;
    os(
        "SO_REUSEADDR",
        sys::setsockopt_int(&l, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1),
    )?;
    os("bind", sys::bind(&l, &c.addr(port)))?;
    os("listen", sys::listen(&l, 4))?;
    let cl = c.connect_to(port)?;
    let s = c.accept(&l)?;
    exchange(&cl, &s)
}

/// `SO_RCVTIMEO`/`SO_SNDTIMEO` set on a connected socket bound its waits
/// (set after the connection exists, unlike the [`WAIT`] set before).
fn so_timeouts(c: &Ctx) -> Res {
    let p = c.pair()?;
    let short = Duration::from_millis(300);
    let bound = |what: &str, t: Duration| -> Res {
        if t < Duration::from_millis(250) {
            return Err(format!("{what} returned after {t:?}, before the timeout"));
        }
        ensure!(
            t < Duration::from_secs(3),
            "{what} with a {short:?} timeout took {t:?}"
        );
        Ok(())
    };
    os(
        "SO_RCVTIMEO",
        raw::set_timeout(&p.s, libc::SO_RCVTIMEO, short),
    )?;
    let mut b = [0u8; 8];
    let t = Instant::now();
    want_err(
        "recv with SO_RCVTIMEO",
        sys::recv(&p.s, &mut b, 0),
        libc::EAGAIN,
    )?;
    bound("recv", t.elapsed())?;
    os(
        "SO_SNDTIMEO",
        raw::set_timeout(&p.c, libc::SO_SNDTIMEO, short),
    )?;
    fill(&p.c)?;
    let big = vec![0u8; 1 << 20];
    let t = Instant::now();
    match sys::send(&p.c, &big, libc::MSG_NOSIGNAL) {
        Err(libc::EAGAIN) => {}
        // A partial send is how a timeout ends once some space came.
        Ok(n) if n < big.len() => {}
        r => return Err(format!("send with SO_SNDTIMEO on full buffers: {r:?}")),
    }
    bound("send", t.elapsed())?;
    Ok(())
}

fn ioctl_inq_outq(c: &Ctx) -> Res {
    let p = c.pair()?;
    let inq = |fd: &Fd| os("SIOCINQ", raw::ioctl_get(fd, SIOCINQ));
    let outq = |fd: &Fd| os("SIOCOUTQ", raw::ioctl_get(fd, SIOCOUTQ));
    ensure!(inq(&p.s)? == 0, "SIOCINQ on a new connection");
    send_all(&p.c, &pattern(13, 1000))?;
    let deadline = Instant::now() + WAIT;
    while inq(&p.s)? != 1000 {
        ensure!(
            Instant::now() < deadline,
            "SIOCINQ {} after 1000 bytes",
            inq(&p.s)?
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // Delivered: nothing left in the sender's queue (TCP: all acked).
    //
    // C smc on an SMC-D device with `support_dmb_nocopy` (the dibs loopback
    // device: the send buffer is the peer's DMB) frees send buffer space,
    // and so SIOCOUTQ, only when the peer's consumer cursor update arrives
    // (`smc_cdc_msg_recv_action()`), and the reader sends that update only
    // when it consumed more than `rmbe_update_limit` and the sender runs
    // short of space or asked (`smc_tx_consumer_update()`), which 1000 bytes
    // do not make: there SIOCOUTQ stays 1000, even after the peer read
    // everything.
    let drained = |when: &str| -> Res {
        let deadline = Instant::now() + WAIT;
        loop {
            let q = outq(&p.c)?;
            if q == 0 {
                return Ok(());
            }
            // smc_rs counts the same way (its data sits in the peer's DMB until consumed);
            // it has no smc_diag yet, so its SMC-D connections show as `Unknown`.
            let smcd = matches!(p.mode, ConnMode::Smcd | ConnMode::Unknown);
            if q == 1000 && smcd && Instant::now() + WAIT / 2 > deadline {
                c.note(format!("SMC-D (data in the peer's DMB): SIOCOUTQ 1000 {when}"));
                return Ok(());
            }
            ensure!(Instant::now() < deadline, "SIOCOUTQ {q} {when}");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    drained("after delivery")?;
    recv_exact(&p.s, 400)?;
    ensure!(
        inq(&p.s)? == 600,
        "SIOCINQ {} after reading 400 of 1000",
        inq(&p.s)?
    );
    recv_exact(&p.s, 600)?;
    ensure!(inq(&p.s)? == 0, "SIOCINQ {} after reading all", inq(&p.s)?);
    drained("after the peer read all")?;
    // The peer does not read: data queues on both ends.
    let total = fill(&p.c)?;
    let q = outq(&p.c)?;
    // Plus the 1000 bytes the C smc may still count (see above).
    ensure!(
        q > 0 && q as usize <= total + 1000,
        "SIOCOUTQ {q} with full buffers ({total} sent)"
    );
    let i = inq(&p.s)?;
    ensure!(
        i > 0 && i as usize <= total,
        "SIOCINQ {i} with full buffers ({total} sent)"
    );
    Ok(())
}

fn ioctl_listen_einval(c: &Ctx) -> Res {
    let (l, _) = c.listener()?;
    want_err(
        "SIOCINQ on a listener",
        raw::ioctl_get(&l, SIOCINQ),
        libc::EINVAL,
    )?;
    want_err(
        "SIOCOUTQ on a listener",
        raw::ioctl_get(&l, SIOCOUTQ),
        libc::EINVAL,
    )
}

fn ioctl_fionbio(c: &Ctx) -> Res {
    let p = c.pair()?;
    os("FIONBIO 1", raw::ioctl_set(&p.s, libc::FIONBIO, 1))?;
    let fl = os("F_GETFL", raw::fcntl(&p.s, libc::F_GETFL, 0))?;
    ensure!(
        has_flag(fl, libc::O_NONBLOCK),
        "FIONBIO 1 did not set O_NONBLOCK"
    );
    let mut b = [0u8; 8];
    want_err(
        "recv after FIONBIO 1",
        sys::recv(&p.s, &mut b, 0),
        libc::EAGAIN,
    )?;
    os("FIONBIO 0", raw::ioctl_set(&p.s, libc::FIONBIO, 0))?;
    let fl = os("F_GETFL", raw::fcntl(&p.s, libc::F_GETFL, 0))?;
    ensure!(!has_flag(fl, libc::O_NONBLOCK), "FIONBIO 0 left O_NONBLOCK");
    // Blocking again: recv waits for data sent a little later.
    let (n, t, sent) = std::thread::scope(|sc| {
        let h = sc.spawn(|| {
            std::thread::sleep(Duration::from_millis(300));
            send_all(&p.c, b"late")
        });
        let t = Instant::now();
        let n = sys::recv(&p.s, &mut b, 0);
        (
            n,
            t.elapsed(),
            h.join().map_err(|_| "thread panicked".to_string()),
        )
    });
    sent??;
    let n = os("blocking recv after FIONBIO 0", n)?;
    ensure!(n > 0 && b[..n] == b"late"[..n], "recv got {:?}", &b[..n]);
    ensure!(
        t >= Duration::from_millis(200),
        "recv returned after {t:?}: did not block"
    );
    Ok(())
}

fn eintr_recv(c: &Ctx) -> Res {
    let p = c.pair()?;
    let before = SIGUSR1S.load(Ordering::SeqCst);
    let r = interrupted(|| {
        let mut b = [0u8; 8];
        sys::recv(&p.s, &mut b, 0)
    })?;
    ensure!(
        SIGUSR1S.load(Ordering::SeqCst) > before,
        "no signal was handled"
    );
    want_err("blocking recv interrupted by a signal", r, libc::EINTR)?;
    exchange(&p.c, &p.s)
}

fn eintr_accept(c: &Ctx) -> Res {
    let (l, port) = c.listener()?;
    let before = SIGUSR1S.load(Ordering::SeqCst);
    let r = interrupted(|| sys::accept4(&l, 0))?;
    ensure!(
        SIGUSR1S.load(Ordering::SeqCst) > before,
        "no signal was handled"
    );
    want_err("blocking accept interrupted by a signal", r, libc::EINTR)?;
    // The listener still works.
    let cl = c.connect_to(port)?;
    let s = c.accept(&l)?;
    exchange(&cl, &s)
}

/// Sends `n` bytes of the pattern for `seed` in blocking sends, then SHUT_WR.
fn blast(fd: &Fd, seed: u64, n: usize) -> Res {
    let mut pat = Pattern::new(seed);
    let mut buf = vec![0u8; 64 << 10];
    let mut left = n;
    while left > 0 {
        let k = left.min(buf.len());
        pat.fill(&mut buf[..k]);
        let mut off = 0;
        while off < k {
            off += os("send", sys::send(fd, &buf[off..k], libc::MSG_NOSIGNAL))?;
        }
        left -= k;
    }
    os("shutdown", sys::shutdown(fd, libc::SHUT_WR))
}

/// Receives (blocking) until EOF and checks it is the pattern for `seed`, `n` bytes.
fn soak(fd: &Fd, seed: u64, n: usize) -> Res {
    let mut pat = Pattern::new(seed);
    let mut buf = vec![0u8; 64 << 10];
    let mut want = vec![0u8; 64 << 10];
    let mut got = 0;
    loop {
        let k = os(
            &format!("recv after {got} bytes"),
            sys::recv(fd, &mut buf, 0),
        )?;
        if k == 0 {
            break;
        }
        ensure!(got + k <= n, "more than {n} bytes");
        pat.fill(&mut want[..k]);
        if let Some(i) = first_diff(&buf[..k], &want[..k]) {
            return Err(format!("data differs at byte {}", got + i));
        }
        got += k;
    }
    ensure!(got == n, "EOF after {got} of {n} bytes");
    Ok(())
}

fn large_transfer(c: &Ctx) -> Res {
    let p = c.pair()?;
    let n = 8 << 20;
    std::thread::scope(|sc| {
        let hs = [
            sc.spawn(|| blast(&p.c, 21, n)),
            sc.spawn(|| blast(&p.s, 22, n)),
            sc.spawn(|| soak(&p.s, 21, n).map_err(|e| format!("client to server: {e}"))),
            sc.spawn(|| soak(&p.c, 22, n).map_err(|e| format!("server to client: {e}"))),
        ];
        for h in hs {
            h.join().map_err(|_| "thread panicked".to_string())??;
        }
        Ok(())
    })
}

// ---- the run --------------------------------------------------------------

/// The case the watchdog watches: its full name and start.
static CURRENT: Mutex<Option<(String, Instant)>> = Mutex::new(None);

fn watchdog() {
    std::thread::spawn(|| loop {
        std::thread::sleep(Duration::from_millis(500));
        if let Some((name, t)) = CURRENT.lock().unwrap().as_ref() {
            if t.elapsed() > CASE_LIMIT {
                println!("TEST {name} FAIL: hung for {:?}, giving up", t.elapsed());
                std::process::exit(1);
            }
        }
    });
}

/// The usage text with the case names.
pub fn usage() -> String {
    let names: Vec<&str> = CASES.iter().map(|(n, _)| *n).collect();
    format!("{USAGE}\ncases: {}", names.join(" "))
}

pub fn run(o: &Opts, report: &mut Report) {
    let fam = o.family;
    for sig in [libc::SIGPIPE, libc::SIGUSR1] {
        if let Err(e) = raw::catch(sig, on_signal) {
            report.check(
                &format!("{}-setup", o.name),
                Err(format!("sigaction: {}", errname(e))),
            );
            return;
        }
    }
    watchdog();
    let c = Ctx {
        fam,
        churn: o.churn,
        next_port: AtomicU16::new(o.port),
        modes: Mutex::new(Vec::new()),
        notes: Mutex::new(Vec::new()),
    };
    for (name, f) in CASES {
        if let Some(only) = &o.only {
            if !only.iter().any(|n| n == name) {
                continue;
            }
        }
        let full = format!("{}-{name}", o.name);
        *CURRENT.lock().unwrap() = Some((full.clone(), Instant::now()));
        let t = Instant::now();
        let r = f(&c);
        *CURRENT.lock().unwrap() = None;
        for n in c.notes.lock().unwrap().drain(..) {
            println!("NOTE {full}: {n}");
        }
        if t.elapsed() > Duration::from_secs(5) {
            println!("time {full} {:.1}s", t.elapsed().as_secs_f64());
        }
        report.check(&full, r);
    }
    let modes = c.modes.lock().unwrap().clone();
    println!("conns {}", modes.len());
    for m in [
        ConnMode::Smcd,
        ConnMode::Smcr,
        ConnMode::Fallback,
        ConnMode::Unknown,
    ] {
        if fam.is_smc() {
            println!(
                "mode_{} {}",
                m.name(),
                modes.iter().filter(|&&x| x == m).count()
            );
        }
    }
    if o.expect != Expect::Any {
        let bad: Vec<_> = modes.iter().filter(|m| !o.expect.allows(**m)).collect();
        report.check(
            &format!("{}-mode", o.name),
            if bad.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "{} of {} connections in another mode: {bad:?}",
                    bad.len(),
                    modes.len()
                ))
            },
        );
    }
}

/// Decodes a `sockaddr` of `len` bytes: its family and, for
/// `AF_INET`/`AF_INET6`, the address.
pub fn decode_sockaddr(b: &[u8]) -> (i32, Option<SocketAddr>) {
    if b.len() < 2 {
        return (0, None);
    }
    let fam = u16::from_ne_bytes([b[0], b[1]]) as i32;
    let port = |b: &[u8]| u16::from_be_bytes([b[2], b[3]]);
    let a = match fam {
        libc::AF_INET if b.len() >= 8 => {
            let ip = Ipv4Addr::new(b[4], b[5], b[6], b[7]);
            Some(SocketAddr::V4(SocketAddrV4::new(ip, port(b))))
        }
        libc::AF_INET6 if b.len() >= 28 => {
            let flow = u32::from_be_bytes(b[4..8].try_into().unwrap());
            let ip: [u8; 16] = b[8..24].try_into().unwrap();
            let scope = u32::from_ne_bytes(b[24..28].try_into().unwrap());
            Some(SocketAddr::V6(SocketAddrV6::new(
                ip.into(),
                port(b),
                flow,
                scope,
            )))
        }
        _ => None,
    };
    (fam, a)
}

/// The system calls `sys` has no wrapper for. Each is one libc call on
/// file descriptors this process owns and buffers of the stated length.
mod raw {
    use crate::sys::{errno, Fd};
    use std::os::fd::AsRawFd;
    use std::time::Duration;

    fn check(r: isize) -> Result<usize, i32> {
        if r < 0 {
            Err(errno())
        } else {
            Ok(r as usize)
        }
    }

    pub fn fcntl(fd: &Fd, cmd: i32, arg: i32) -> Result<i32, i32> {
        // SAFETY: F_GETFL/F_GETFD/F_SETFL take and return plain integers.
        let r = unsafe { libc::fcntl(fd.0, cmd, arg) };
        check(r as isize).map(|v| v as i32)
    }

    /// An ioctl that writes one `int` (SIOCINQ, SIOCOUTQ).
    pub fn ioctl_get(fd: &Fd, req: libc::Ioctl) -> Result<i32, i32> {
        let mut v: libc::c_int = 0;
        // SAFETY: `v` is a valid `int` for the kernel to write.
        let r = unsafe { libc::ioctl(fd.0, req, &mut v as *mut libc::c_int) };
        check(r as isize).map(|_| v)
    }

    /// An ioctl that reads one `int` (FIONBIO).
    pub fn ioctl_set(fd: &Fd, req: libc::Ioctl, val: i32) -> Result<(), i32> {
        let v: libc::c_int = val;
        // SAFETY: `v` is a valid `int` for the kernel to read.
        let r = unsafe { libc::ioctl(fd.0, req, &v as *const libc::c_int) };
        check(r as isize).map(drop)
    }

    /// `getsockname` or `getpeername`.
    pub fn sockname(fd: &Fd, peer: bool) -> Result<(i32, Option<std::net::SocketAddr>), i32> {
        // SAFETY: `sockaddr_storage` is plain old data; all-zero is valid.
        let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<libc::sockaddr_storage>();
        let mut len = size as libc::socklen_t;
        let p = (&mut ss as *mut libc::sockaddr_storage).cast::<libc::sockaddr>();
        // SAFETY: `p` points to `len` writable bytes, `len` is writable.
        let r = unsafe {
            if peer {
                libc::getpeername(fd.0, p, &mut len)
            } else {
                libc::getsockname(fd.0, p, &mut len)
            }
        };
        check(r as isize)?;
        // SAFETY: `ss` is `size` initialised bytes.
        let bytes = unsafe {
            std::slice::from_raw_parts((&ss as *const libc::sockaddr_storage).cast::<u8>(), size)
        };
        Ok(super::decode_sockaddr(&bytes[..(len as usize).min(size)]))
    }

    pub fn read(fd: &Fd, buf: &mut [u8]) -> Result<usize, i32> {
        // SAFETY: `buf` is valid for writes of its length.
        check(unsafe { libc::read(fd.0, buf.as_mut_ptr().cast(), buf.len()) })
    }

    pub fn write(fd: &Fd, buf: &[u8]) -> Result<usize, i32> {
        // SAFETY: `buf` is valid for reads of its length.
        check(unsafe { libc::write(fd.0, buf.as_ptr().cast(), buf.len()) })
    }

    pub fn sendmsg(fd: &Fd, bufs: &[&[u8]], flags: i32) -> Result<usize, i32> {
        let iov: Vec<libc::iovec> = bufs
            .iter()
            .map(|b| libc::iovec {
                iov_base: b.as_ptr() as *mut libc::c_void,
                iov_len: b.len(),
            })
            .collect();
        // SAFETY: `msghdr` is plain old data; all-zero is valid (no name, no control).
        let mut m: libc::msghdr = unsafe { std::mem::zeroed() };
        m.msg_iov = iov.as_ptr() as *mut libc::iovec;
        m.msg_iovlen = iov.len();
        // SAFETY: every iovec points into a live slice of its length; the
        // kernel only reads them.
        check(unsafe { libc::sendmsg(fd.0, &m, flags) })
    }

    /// Gives the byte count and `msg_flags`.
    pub fn recvmsg(fd: &Fd, bufs: &mut [&mut [u8]], flags: i32) -> Result<(usize, i32), i32> {
        let mut iov: Vec<libc::iovec> = bufs
            .iter_mut()
            .map(|b| libc::iovec {
                iov_base: b.as_mut_ptr().cast(),
                iov_len: b.len(),
            })
            .collect();
        // SAFETY: As in `sendmsg`.
        let mut m: libc::msghdr = unsafe { std::mem::zeroed() };
        m.msg_iov = iov.as_mut_ptr();
        m.msg_iovlen = iov.len();
        // SAFETY: every iovec points into a live, exclusively borrowed slice of its length.
        let n = check(unsafe { libc::recvmsg(fd.0, &mut m, flags) })?;
        Ok((n, m.msg_flags))
    }

    /// `sendfile` from the file's current position.
    pub fn sendfile(out: &Fd, file: &std::fs::File, count: usize) -> Result<usize, i32> {
        // SAFETY: A null offset means "use and advance the file position".
        check(unsafe { libc::sendfile(out.0, file.as_raw_fd(), std::ptr::null_mut(), count) })
    }

    pub fn splice(from: &Fd, to: &Fd, len: usize, flags: u32) -> Result<usize, i32> {
        // SAFETY: Null offsets: pipes and sockets have none.
        check(unsafe {
            libc::splice(
                from.0,
                std::ptr::null_mut(),
                to.0,
                std::ptr::null_mut(),
                len,
                flags,
            )
        })
    }

    /// A pipe: (read end, write end).
    pub fn pipe() -> Result<(Fd, Fd), i32> {
        let mut p = [0i32; 2];
        // SAFETY: `p` has room for the two descriptors.
        check(unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) } as isize)?;
        Ok((Fd(p[0]), Fd(p[1])))
    }

    pub fn epoll_create() -> Result<Fd, i32> {
        // SAFETY: Plain integer argument.
        let r = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        check(r as isize).map(|_| Fd(r))
    }

    pub fn epoll_ctl(ep: &Fd, op: i32, fd: &Fd, events: u32, data: u64) -> Result<(), i32> {
        let mut ev = libc::epoll_event { events, u64: data };
        // SAFETY: `ev` is a valid `epoll_event` for the call.
        check(unsafe { libc::epoll_ctl(ep.0, op, fd.0, &mut ev) } as isize).map(drop)
    }

    /// Up to 8 (events, data) pairs; retries `EINTR`.
    pub fn epoll_wait(ep: &Fd, timeout: Duration) -> Result<Vec<(u32, u64)>, i32> {
        let mut evs = [libc::epoll_event { events: 0, u64: 0 }; 8];
        let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        loop {
            // SAFETY: `evs` has room for the 8 events the kernel may write.
            let r = unsafe { libc::epoll_wait(ep.0, evs.as_mut_ptr(), 8, ms) };
            match check(r as isize) {
                Err(libc::EINTR) => continue,
                Err(e) => return Err(e),
                Ok(n) => return Ok(evs[..n].iter().map(|e| (e.events, e.u64)).collect()),
            }
        }
    }

    pub fn set_timeout(fd: &Fd, name: i32, d: Duration) -> Result<(), i32> {
        let tv = libc::timeval {
            tv_sec: d.as_secs() as libc::time_t,
            tv_usec: d.subsec_micros() as libc::suseconds_t,
        };
        // SAFETY: `tv` is a valid `timeval` of the given size.
        let r = unsafe {
            libc::setsockopt(
                fd.0,
                libc::SOL_SOCKET,
                name,
                (&tv as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        check(r as isize).map(drop)
    }

    pub fn get_timeout(fd: &Fd, name: i32) -> Result<Duration, i32> {
        let mut tv = libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        };
        let mut len = std::mem::size_of::<libc::timeval>() as libc::socklen_t;
        // SAFETY: `tv` and `len` are valid for writes; `len` holds `tv`'s size.
        let r = unsafe {
            libc::getsockopt(
                fd.0,
                libc::SOL_SOCKET,
                name,
                (&mut tv as *mut libc::timeval).cast(),
                &mut len,
            )
        };
        check(r as isize)?;
        Ok(Duration::from_secs(tv.tv_sec as u64) + Duration::from_micros(tv.tv_usec as u64))
    }

    pub fn set_linger(fd: &Fd, (on, secs): (i32, i32)) -> Result<(), i32> {
        let l = libc::linger {
            l_onoff: on,
            l_linger: secs,
        };
        // SAFETY: `l` is a valid `linger` of the given size.
        let r = unsafe {
            libc::setsockopt(
                fd.0,
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&l as *const libc::linger).cast(),
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            )
        };
        check(r as isize).map(drop)
    }

    pub fn get_linger(fd: &Fd) -> Result<(i32, i32), i32> {
        let mut l = libc::linger {
            l_onoff: -1,
            l_linger: -1,
        };
        let mut len = std::mem::size_of::<libc::linger>() as libc::socklen_t;
        // SAFETY: `l` and `len` are valid for writes; `len` holds `l`'s size.
        let r = unsafe {
            libc::getsockopt(
                fd.0,
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&mut l as *mut libc::linger).cast(),
                &mut len,
            )
        };
        check(r as isize).map(|_| (l.l_onoff, l.l_linger))
    }

    /// Installs `handler` for `sig` without `SA_RESTART`, so that blocking
    /// calls it interrupts fail with `EINTR`.
    pub fn catch(sig: i32, handler: extern "C" fn(i32)) -> Result<(), i32> {
        // SAFETY: `sigaction` is plain old data; all-zero is valid.
        let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
        sa.sa_sigaction = handler as usize;
        sa.sa_flags = 0;
        // SAFETY: `sa.sa_mask` is a valid `sigset_t`.
        unsafe { libc::sigemptyset(&mut sa.sa_mask) };
        // SAFETY: `sa` is valid; the handler only does an atomic add.
        check(unsafe { libc::sigaction(sig, &sa, std::ptr::null_mut()) } as isize).map(drop)
    }

    pub fn thread_self() -> u64 {
        // SAFETY: No arguments.
        unsafe { libc::pthread_self() as u64 }
    }

    /// Sends `sig` to a thread of this process that has not been joined.
    pub fn thread_kill(t: u64, sig: i32) {
        // SAFETY: The caller keeps the thread unjoined, so `t` is valid.
        unsafe { libc::pthread_kill(t as libc::pthread_t, sig) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families() {
        for n in ["smc", "smc6", "inet", "inet6", "tcp", "tcp6"] {
            assert_eq!(Family::parse(n).unwrap().name(), n);
        }
        assert!(Family::parse("udp").is_err());
        assert_eq!(Family::Smc.domain(), AF_SMC);
        assert_eq!(Family::Smc6.proto(), SMCPROTO_SMC6);
        assert_eq!(Family::Smc6.ip_family(), libc::AF_INET6);
        assert_eq!(Family::Inet.domain(), libc::AF_INET);
        assert_eq!(Family::Inet6.proto(), IPPROTO_SMC);
        assert_eq!(Family::Tcp6.loopback(), IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert!(!Family::Tcp.is_smc() && Family::Inet6.is_smc());
    }

    #[test]
    fn case_names_unique_and_only_parsing() {
        let mut names: Vec<_> = CASES.iter().map(|(n, _)| *n).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), CASES.len());
        assert!(names.iter().all(|n| !n.contains(char::is_whitespace)));
        assert_eq!(parse_only("a, b,,c"), vec!["a", "b", "c"]);
        let a = |s: &str| Args::parse(&s.split(' ').map(String::from).collect::<Vec<_>>(), &[]);
        assert!(Opts::parse(a("sockapi --family smc --only listen,poll-in").unwrap()).is_ok());
        assert!(Opts::parse(a("sockapi --family smc --only nosuch").unwrap()).is_err());
        assert!(Opts::parse(a("sockapi --family tcp --expect smcd").unwrap()).is_err());
        assert!(Opts::parse(a("sockapi").unwrap()).is_err());
        assert!(usage().contains(" large-transfer"));
    }

    #[test]
    fn sockaddr_decoding() {
        let mut v4 = vec![0u8; 16];
        v4[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
        v4[2..4].copy_from_slice(&7300u16.to_be_bytes());
        v4[4..8].copy_from_slice(&[127, 0, 0, 1]);
        assert_eq!(
            decode_sockaddr(&v4),
            (libc::AF_INET, Some("127.0.0.1:7300".parse().unwrap()))
        );
        let mut v6 = vec![0u8; 28];
        v6[..2].copy_from_slice(&(libc::AF_INET6 as u16).to_ne_bytes());
        v6[2..4].copy_from_slice(&80u16.to_be_bytes());
        v6[23] = 1;
        assert_eq!(
            decode_sockaddr(&v6),
            (libc::AF_INET6, Some("[::1]:80".parse().unwrap()))
        );
        assert_eq!(decode_sockaddr(&v6[..20]), (libc::AF_INET6, None));
        let smc = (AF_SMC as u16).to_ne_bytes();
        assert_eq!(decode_sockaddr(&smc), (AF_SMC, None));
        assert_eq!(decode_sockaddr(&[]), (0, None));
    }

    #[test]
    fn helpers() {
        assert_eq!(first_diff(b"abc", b"abc"), None);
        assert_eq!(first_diff(b"abc", b"abd"), Some(2));
        assert_eq!(first_diff(b"ab", b"abc"), Some(2));
        assert_eq!(
            poll_names(libc::POLLIN | libc::POLLRDHUP),
            "POLLIN|POLLRDHUP"
        );
        assert_eq!(poll_names(0), "0");
        assert!(Expect::Smcd.allows(ConnMode::Smcd) && !Expect::Smcd.allows(ConnMode::Fallback));
        assert!(ConnMode::Smcd.smc_path() && !ConnMode::Fallback.smc_path());
    }

    /// The whole suite against plain TCP on the build host's loopback.
    #[test]
    #[ignore = "opens sockets on the host's loopback; run with --ignored"]
    fn tcp_on_host() {
        let mut r = Report::default();
        let a = Args::parse(
            &[
                "sockapi".into(),
                "--family".into(),
                "tcp".into(),
                "--port".into(),
                "47300".into(),
            ],
            &[],
        )
        .unwrap();
        run(&Opts::parse(a).unwrap(), &mut r);
    }
}
