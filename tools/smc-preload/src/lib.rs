//! `libsmc_preload.so`: run unmodified TCP programs over SMC.
//!
//! Loaded with `LD_PRELOAD` (see `smc_run`), it interposes `socket()`. A
//! call for a TCP socket, `socket(AF_INET | AF_INET6, SOCK_STREAM [|
//! SOCK_NONBLOCK | SOCK_CLOEXEC], 0 | IPPROTO_TCP)`, gets an SMC socket
//! instead:
//!
//! * by default `socket(AF_SMC, same type, SMCPROTO_SMC | SMCPROTO_SMC6)`;
//! * with `SMC_PRELOAD_MODE=inet`, `socket(same domain, same type,
//!   IPPROTO_SMC)` (Linux 6.11 and later).
//!
//! SMC sockets take the same addresses and calls as TCP sockets and fall
//! back to TCP on the wire when the peer cannot do SMC, so the program
//! does not notice. Every other socket passes through untouched. If the
//! kernel refuses the SMC socket (no SMC module, a security policy, ...),
//! the original call is made, so the program still works over TCP; when
//! the refusal says the kernel has no SMC at all, later calls do not ask
//! again (each attempt would cost a module-loading upcall).
//!
//! `SMC_DEBUG=1` prints one line per mapped socket on stderr.
//!
//! `socket()` may be called from any thread and from signal handlers, so the
//! path through it takes no lock and allocates nothing: the configuration
//! and the real `socket()` live in atomics, set up once (by a constructor,
//! or by the first call if another library's constructor comes first).

#![deny(unsafe_op_in_unsafe_fn)]

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use libc::c_int;
use std::ffi::CStr;

/// The SMC address family (`include/linux/socket.h`).
pub const AF_SMC: c_int = 43;
/// `AF_SMC` protocols: an SMC socket over IPv4 or IPv6 (`net/smc/smc.h`).
pub const SMCPROTO_SMC: c_int = 0;
pub const SMCPROTO_SMC6: c_int = 1;
/// The `AF_INET`/`AF_INET6` protocol number of SMC (`include/uapi/linux/in.h`).
pub const IPPROTO_SMC: c_int = 256;

/// The flags `socket()` accepts in its type argument.
const TYPE_FLAGS: c_int = libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;

/// The signature of `socket()`.
pub type SocketFn = unsafe extern "C" fn(c_int, c_int, c_int) -> c_int;

/// Which kind of SMC socket a TCP socket becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `socket(AF_SMC, type, SMCPROTO_SMC | SMCPROTO_SMC6)`.
    Smc,
    /// `socket(AF_INET | AF_INET6, type, IPPROTO_SMC)`.
    Inet,
}

impl Mode {
    /// From the value of `SMC_PRELOAD_MODE`: `inet`, else the default.
    pub fn from_env(v: Option<&[u8]>) -> Mode {
        match v {
            Some(b"inet") => Mode::Inet,
            _ => Mode::Smc,
        }
    }
}

/// From the value of `SMC_DEBUG`: on unless unset, empty or `0`.
pub fn debug_from_env(v: Option<&[u8]>) -> bool {
    matches!(v, Some(v) if !v.is_empty() && v != b"0")
}

/// The arguments of a `socket()` call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Call {
    pub domain: c_int,
    pub ty: c_int,
    pub protocol: c_int,
}

/// The SMC socket call that replaces `c`, or `None` if `c` is not for a
/// TCP socket. The type flags (`SOCK_NONBLOCK`, `SOCK_CLOEXEC`) are kept.
pub fn map(mode: Mode, c: Call) -> Option<Call> {
    let v6 = match c.domain {
        libc::AF_INET => false,
        libc::AF_INET6 => true,
        _ => return None,
    };
    if c.ty & !TYPE_FLAGS != libc::SOCK_STREAM {
        return None;
    }
    if c.protocol != 0 && c.protocol != libc::IPPROTO_TCP {
        return None;
    }
    Some(match mode {
        Mode::Smc => Call {
            domain: AF_SMC,
            ty: c.ty,
            protocol: if v6 { SMCPROTO_SMC6 } else { SMCPROTO_SMC },
        },
        Mode::Inet => Call {
            domain: c.domain,
            ty: c.ty,
            protocol: IPPROTO_SMC,
        },
    })
}

/// Whether a failed SMC `socket()` means the kernel has no SMC for this
/// domain at all (no module, none loadable), as opposed to a refusal of this
/// one socket (a limit, a security policy).
pub fn means_no_smc(errno: c_int) -> bool {
    errno == libc::EAFNOSUPPORT || errno == libc::EPROTONOSUPPORT
}

const CFG_READ: u8 = 1;
const CFG_INET: u8 = 2;
const CFG_DEBUG: u8 = 4;

/// The mapper's state: configuration and what it learnt from the kernel.
pub struct State {
    /// `CFG_*` bits; 0 until the environment has been read.
    config: AtomicU8,
    /// Per domain (IPv4, IPv6): the kernel said it has no SMC.
    no_smc: [AtomicBool; 2],
}

impl State {
    /// A state that reads its configuration from the environment on first use.
    pub const fn from_env() -> State {
        State {
            config: AtomicU8::new(0),
            no_smc: [AtomicBool::new(false), AtomicBool::new(false)],
        }
    }

    /// A state with a fixed configuration.
    pub const fn new(mode: Mode, debug: bool) -> State {
        let mut c = CFG_READ;
        if let Mode::Inet = mode {
            c |= CFG_INET;
        }
        if debug {
            c |= CFG_DEBUG;
        }
        State {
            config: AtomicU8::new(c),
            no_smc: [AtomicBool::new(false), AtomicBool::new(false)],
        }
    }

    /// The mode and the debug switch. Racing first callers all compute the
    /// same value from the environment, so a plain store is enough.
    pub fn config(&self) -> (Mode, bool) {
        let mut c = self.config.load(Ordering::Relaxed);
        if c == 0 {
            c = CFG_READ;
            if Mode::from_env(getenv(c"SMC_PRELOAD_MODE")) == Mode::Inet {
                c |= CFG_INET;
            }
            if debug_from_env(getenv(c"SMC_DEBUG")) {
                c |= CFG_DEBUG;
            }
            self.config.store(c, Ordering::Relaxed);
        }
        let mode = if c & CFG_INET != 0 { Mode::Inet } else { Mode::Smc };
        (mode, c & CFG_DEBUG != 0)
    }

    /// Whether the kernel has told us it has no SMC for `domain`.
    pub fn smc_unavailable(&self, domain: c_int) -> bool {
        self.no_smc[(domain == libc::AF_INET6) as usize].load(Ordering::Relaxed)
    }

    /// `socket()` through the mapper, with `real` as the underlying call.
    ///
    /// # Safety
    /// `real` must behave like `socket()`.
    pub unsafe fn socket(&self, real: SocketFn, c: Call) -> c_int {
        let (mode, debug) = self.config();
        let Some(m) = map(mode, c) else {
            // SAFETY: `real` behaves like socket() (this function's contract), which takes integers.
            return unsafe { real(c.domain, c.ty, c.protocol) };
        };
        let no_smc = &self.no_smc[(c.domain == libc::AF_INET6) as usize];
        if no_smc.load(Ordering::Relaxed) {
            // SAFETY: `real` behaves like socket() (this function's contract), which takes integers.
            let fd = unsafe { real(c.domain, c.ty, c.protocol) };
            if debug {
                log(format_args!("{} -> no SMC in this kernel, TCP = {fd}", Show(c)));
            }
            return fd;
        }
        // SAFETY: `real` behaves like socket() (this function's contract), which takes integers.
        let fd = unsafe { real(m.domain, m.ty, m.protocol) };
        if fd >= 0 {
            if debug {
                log(format_args!("{} -> {} = {fd}", Show(c), Show(m)));
            }
            return fd;
        }
        let err = errno();
        if means_no_smc(err) {
            no_smc.store(true, Ordering::Relaxed);
        }
        // The original call sets errno itself if it fails too.
        // SAFETY: `real` behaves like socket() (this function's contract), which takes integers.
        let fd = unsafe { real(c.domain, c.ty, c.protocol) };
        if debug {
            log(format_args!(
                "{} -> {} failed (errno {err}), TCP = {fd}",
                Show(c),
                Show(m)
            ));
        }
        fd
    }
}

fn getenv(name: &CStr) -> Option<&'static [u8]> {
    // SAFETY: getenv returns null or a NUL-terminated string that stays
    // valid as long as nobody changes that variable, which programs do not
    // do with these.
    unsafe {
        let p = libc::getenv(name.as_ptr());
        (!p.is_null()).then(|| CStr::from_ptr(p).to_bytes())
    }
}

fn errno() -> c_int {
    // SAFETY: __errno_location returns this thread's errno.
    unsafe { *libc::__errno_location() }
}

fn set_errno(e: c_int) {
    // SAFETY: as in errno().
    unsafe { *libc::__errno_location() = e }
}

/// A `socket()` call, printed with symbolic names where it has them.
pub struct Show(pub Call);

impl fmt::Display for Show {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Call { domain, ty, protocol } = self.0;
        f.write_str("socket(")?;
        match domain {
            libc::AF_INET => f.write_str("AF_INET")?,
            libc::AF_INET6 => f.write_str("AF_INET6")?,
            AF_SMC => f.write_str("AF_SMC")?,
            d => write!(f, "{d}")?,
        }
        match ty & !TYPE_FLAGS {
            libc::SOCK_STREAM => f.write_str(", SOCK_STREAM")?,
            t => write!(f, ", {t}")?,
        }
        if ty & libc::SOCK_NONBLOCK != 0 {
            f.write_str("|SOCK_NONBLOCK")?;
        }
        if ty & libc::SOCK_CLOEXEC != 0 {
            f.write_str("|SOCK_CLOEXEC")?;
        }
        match (domain, protocol) {
            (AF_SMC, SMCPROTO_SMC) => f.write_str(", SMCPROTO_SMC)"),
            (AF_SMC, SMCPROTO_SMC6) => f.write_str(", SMCPROTO_SMC6)"),
            (_, libc::IPPROTO_TCP) if domain != AF_SMC => f.write_str(", IPPROTO_TCP)"),
            (_, IPPROTO_SMC) if domain != AF_SMC => f.write_str(", IPPROTO_SMC)"),
            (_, p) => write!(f, ", {p})"),
        }
    }
}

/// A fixed buffer that formatted text goes into, cut off when full.
pub struct LineBuf {
    buf: [u8; 256],
    len: usize,
}

impl LineBuf {
    pub const fn new() -> LineBuf {
        LineBuf { buf: [0; 256], len: 0 }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl Default for LineBuf {
    fn default() -> Self {
        Self::new()
    }
}

impl Write for LineBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// The debug line for `msg`, newline included (kept if the text is cut).
pub fn format_line(pid: c_int, msg: fmt::Arguments<'_>) -> LineBuf {
    let mut b = LineBuf::new();
    let _ = write!(b, "smc-preload[{pid}]: {msg}");
    if b.len == b.buf.len() {
        b.len -= 1;
    }
    b.buf[b.len] = b'\n';
    b.len += 1;
    b
}

/// Writes a debug line to stderr with one write(2) (lines from several
/// threads do not mix), leaving errno as the caller's `socket()` set it.
fn log(msg: fmt::Arguments<'_>) {
    let saved = errno();
    // SAFETY: getpid cannot fail; write gets a valid buffer and length.
    unsafe {
        let line = format_line(libc::getpid(), msg);
        let b = line.as_bytes();
        let _ = libc::write(2, b.as_ptr().cast(), b.len());
    }
    set_errno(saved);
}

/// The raw system call, if the dynamic linker cannot find a next `socket()`.
unsafe extern "C" fn raw_socket(domain: c_int, ty: c_int, protocol: c_int) -> c_int {
    // SAFETY: socket(2) takes three integers.
    unsafe { libc::syscall(libc::SYS_socket, domain, ty, protocol) as c_int }
}

/// The `socket()` our definition hides (normally libc's), as a `SocketFn`
/// address; 0 until looked up.
static REAL: AtomicUsize = AtomicUsize::new(0);

/// The `socket()` that comes after this library in the lookup order.
pub fn real_socket() -> SocketFn {
    let p = REAL.load(Ordering::Acquire);
    let f: SocketFn = if p != 0 {
        // SAFETY: REAL only ever holds a SocketFn.
        unsafe { core::mem::transmute::<usize, SocketFn>(p) }
    } else {
        // SAFETY: dlsym is thread-safe; "socket" has the signature of SocketFn.
        // Racing first callers find the same function.
        let sym = unsafe { libc::dlsym(libc::RTLD_NEXT, c"socket".as_ptr()) };
        let f = if sym.is_null() {
            raw_socket as SocketFn
        } else {
            unsafe { core::mem::transmute::<*mut libc::c_void, SocketFn>(sym) }
        };
        REAL.store(f as usize, Ordering::Release);
        f
    };
    f
}

/// The process-wide mapper behind the exported `socket()`.
static GLOBAL: State = State::from_env();

/// The interposed `socket()`.
///
/// # Safety
/// Same contract as libc's `socket()`.
#[no_mangle]
pub unsafe extern "C" fn socket(domain: c_int, ty: c_int, protocol: c_int) -> c_int {
    let c = Call { domain, ty, protocol };
    // SAFETY: real_socket() is socket() or the raw system call.
    unsafe { GLOBAL.socket(real_socket(), c) }
}

/// Runs when the library is loaded, before the program's main() and its
/// threads: reads the environment and looks up the real socket().
extern "C" fn init() {
    GLOBAL.config();
    real_socket();
}

#[used]
#[link_section = ".init_array"]
static INIT: extern "C" fn() = init;

#[cfg(test)]
mod tests;
