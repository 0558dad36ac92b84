//! Thin wrappers around the system calls the tests use.
//!
//! This is the only module with `unsafe` code: each wrapper is a single
//! libc call whose pointer arguments come from Rust references or owned
//! buffers of the stated length.

use std::io::Error;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

/// The kernel's `AF_SMC`.
pub const AF_SMC: i32 = 43;
/// `AF_SMC` protocol for IPv4.
pub const SMCPROTO_SMC: i32 = 0;
/// `AF_SMC` protocol for IPv6.
pub const SMCPROTO_SMC6: i32 = 1;
/// `IPPROTO_SMC`: `socket(AF_INET, SOCK_STREAM, IPPROTO_SMC)` makes an SMC socket.
pub const IPPROTO_SMC: i32 = 256;

/// The current `errno`.
pub fn errno() -> i32 {
    Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// `errno` as text, e.g. `Connection refused (111)`.
pub fn errname(e: i32) -> String {
    Error::from_raw_os_error(e).to_string()
}

/// One file descriptor, closed on drop.
#[derive(Debug)]
pub struct Fd(pub i32);

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: `self.0` is an open file descriptor this value owns.
        unsafe { libc::close(self.0) };
    }
}

/// Maps a `-1` return value to `Err(errno)`.
fn check(r: isize) -> Result<usize, i32> {
    if r < 0 {
        Err(errno())
    } else {
        Ok(r as usize)
    }
}

/// `socket(2)`.
pub fn socket(domain: i32, ty: i32, proto: i32) -> Result<Fd, i32> {
    // SAFETY: socket(2) takes plain integers.
    let fd = unsafe { libc::socket(domain, ty, proto) };
    check(fd as isize).map(|_| Fd(fd))
}

/// A socket address in the kernel's layout.
pub struct RawAddr {
    storage: libc::sockaddr_storage,
    len: libc::socklen_t,
}

impl RawAddr {
    /// Overwrites the address family (to make a malformed address).
    pub fn set_family(&mut self, family: u16) {
        self.storage.ss_family = family;
    }

    /// The `sockaddr_in`/`sockaddr_in6` of `addr`.
    pub fn from_socket_addr(addr: &SocketAddr) -> Self {
        // An all-zero `sockaddr_storage` is valid.
        let mut storage: libc::sockaddr_storage = zeroed_storage();
        let len = match addr {
            SocketAddr::V4(a) => {
                let sin = libc::sockaddr_in {
                    sin_family: libc::AF_INET as u16,
                    sin_port: a.port().to_be(),
                    sin_addr: libc::in_addr {
                        s_addr: u32::from(*a.ip()).to_be(),
                    },
                    sin_zero: [0; 8],
                };
                write_into_storage(&mut storage, &sin);
                std::mem::size_of::<libc::sockaddr_in>()
            }
            SocketAddr::V6(a) => {
                let sin6 = libc::sockaddr_in6 {
                    sin6_family: libc::AF_INET6 as u16,
                    sin6_port: a.port().to_be(),
                    sin6_flowinfo: a.flowinfo(),
                    sin6_addr: libc::in6_addr {
                        s6_addr: a.ip().octets(),
                    },
                    sin6_scope_id: a.scope_id(),
                };
                write_into_storage(&mut storage, &sin6);
                std::mem::size_of::<libc::sockaddr_in6>()
            }
        };
        RawAddr {
            storage,
            len: len as libc::socklen_t,
        }
    }

    fn ptr(&self) -> *const libc::sockaddr {
        (&self.storage as *const libc::sockaddr_storage).cast()
    }
}

fn zeroed_storage() -> libc::sockaddr_storage {
    // SAFETY: `sockaddr_storage` is plain old data; all-zero is a valid value.
    unsafe { std::mem::zeroed() }
}

/// Copies a `sockaddr_in`/`sockaddr_in6` (both plain old data smaller than
/// `sockaddr_storage`) to the start of `storage`.
fn write_into_storage<T: Copy>(storage: &mut libc::sockaddr_storage, v: &T) {
    assert!(std::mem::size_of::<T>() <= std::mem::size_of::<libc::sockaddr_storage>());
    // SAFETY: `storage` is large enough (asserted) and suitably aligned for
    // any sockaddr type (that is its purpose); `T` is `Copy` plain old data.
    unsafe { std::ptr::write((storage as *mut libc::sockaddr_storage).cast::<T>(), *v) };
}

/// `bind(2)`.
pub fn bind(fd: &Fd, addr: &RawAddr) -> Result<(), i32> {
    // SAFETY: `addr` holds a valid socket address of `addr.len` bytes.
    let r = unsafe { libc::bind(fd.0, addr.ptr(), addr.len) };
    check(r as isize).map(drop)
}

/// `connect(2)`.
pub fn connect(fd: &Fd, addr: &RawAddr) -> Result<(), i32> {
    // SAFETY: As in `bind`.
    let r = unsafe { libc::connect(fd.0, addr.ptr(), addr.len) };
    check(r as isize).map(drop)
}

/// `listen(2)`.
pub fn listen(fd: &Fd, backlog: i32) -> Result<(), i32> {
    // SAFETY: listen(2) takes plain integers.
    let r = unsafe { libc::listen(fd.0, backlog) };
    check(r as isize).map(drop)
}

/// `accept4(2)` without the peer address.
pub fn accept4(fd: &Fd, flags: i32) -> Result<Fd, i32> {
    // SAFETY: Null address pointers are allowed and mean "do not return the address".
    let r = unsafe { libc::accept4(fd.0, std::ptr::null_mut(), std::ptr::null_mut(), flags) };
    check(r as isize).map(|_| Fd(r))
}

/// `send(2)`.
pub fn send(fd: &Fd, buf: &[u8], flags: i32) -> Result<usize, i32> {
    // SAFETY: `buf` is valid for reads of its length.
    let r = unsafe { libc::send(fd.0, buf.as_ptr().cast(), buf.len(), flags) };
    check(r)
}

/// `recv(2)`; with `MSG_TRUNC` on a datagram socket the result may exceed `buf.len()`.
pub fn recv(fd: &Fd, buf: &mut [u8], flags: i32) -> Result<usize, i32> {
    // SAFETY: `buf` is valid for writes of its length.
    let r = unsafe { libc::recv(fd.0, buf.as_mut_ptr().cast(), buf.len(), flags) };
    check(r)
}

/// `shutdown(2)`.
pub fn shutdown(fd: &Fd, how: i32) -> Result<(), i32> {
    // SAFETY: shutdown(2) takes plain integers.
    let r = unsafe { libc::shutdown(fd.0, how) };
    check(r as isize).map(drop)
}

/// `setsockopt(2)` with an `int` value.
pub fn setsockopt_int(fd: &Fd, level: i32, name: i32, value: i32) -> Result<(), i32> {
    // SAFETY: `value` is a valid `int` for the duration of the call.
    let r = unsafe {
        libc::setsockopt(
            fd.0,
            level,
            name,
            (&value as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    check(r as isize).map(drop)
}

/// `getsockopt(2)` of an `int` value.
pub fn getsockopt_int(fd: &Fd, level: i32, name: i32) -> Result<i32, i32> {
    let mut value: i32 = 0;
    let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
    // SAFETY: `value` and `len` are valid for writes; `len` holds `value`'s size.
    let r =
        unsafe { libc::getsockopt(fd.0, level, name, (&mut value as *mut i32).cast(), &mut len) };
    check(r as isize).map(|_| value)
}

/// The inode number of the file behind `fd` (for sockets: what `sock_diag` reports).
pub fn inode(fd: &Fd) -> Result<u64, i32> {
    // SAFETY: `stat` is plain old data; all-zero is a valid value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is valid for writes of a `struct stat`.
    let r = unsafe { libc::fstat(fd.0, &mut st) };
    check(r as isize).map(|_| st.st_ino)
}

/// Waits until `fd` has one of `events`, or until `deadline`. Returns the
/// `revents` (0 on timeout). `EINTR` is retried.
pub fn poll_until(fd: &Fd, events: i16, deadline: Instant) -> Result<i16, i32> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ms = left.as_millis().min(i32::MAX as u128) as i32;
        // Round up so that a sub-millisecond wait does not spin.
        let ms = if ms == 0 && !left.is_zero() { 1 } else { ms };
        let mut pfd = libc::pollfd {
            fd: fd.0,
            events,
            revents: 0,
        };
        // SAFETY: `pfd` is one valid `pollfd`.
        let r = unsafe { libc::poll(&mut pfd, 1, ms) };
        if r < 0 {
            let e = errno();
            if e == libc::EINTR {
                continue;
            }
            return Err(e);
        }
        return Ok(if r == 0 { 0 } else { pfd.revents });
    }
}

/// The socket domain for `ip` with a given family choice.
pub fn ip_domain(ip: &IpAddr) -> i32 {
    match ip {
        IpAddr::V4(_) => libc::AF_INET,
        IpAddr::V6(_) => libc::AF_INET6,
    }
}

/// Binds a packet socket to every protocol (`ETH_P_ALL`) of one interface.
pub fn bind_packet(fd: &Fd, ifindex: i32) -> Result<(), i32> {
    let sa = libc::sockaddr_ll {
        sll_family: libc::AF_PACKET as u16,
        sll_protocol: (libc::ETH_P_ALL as u16).to_be(),
        sll_ifindex: ifindex,
        sll_hatype: 0,
        sll_pkttype: 0,
        sll_halen: 0,
        sll_addr: [0; 8],
    };
    // SAFETY: `sa` is a valid `sockaddr_ll` of the given size.
    let r = unsafe {
        libc::bind(
            fd.0,
            (&sa as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    check(r as isize).map(drop)
}
