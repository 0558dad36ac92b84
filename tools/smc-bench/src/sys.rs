//! The few system calls std does not offer for other socket families: each
//! a tiny wrapper, the only `unsafe` code of the crate. Sockets come back
//! as `std::net::TcpStream` / `TcpListener` (they only need a connected or
//! listening stream socket fd: read, write, TCP_NODELAY, timeouts and
//! shutdown work the same on AF_SMC).

use std::io;
use std::mem;
use std::net::{SocketAddrV4, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::cli::Family;

/// `AF_SMC` (include/linux/socket.h).
pub const AF_SMC: i32 = 43;
/// `SMCPROTO_SMC`: AF_SMC over IPv4 addresses.
pub const SMCPROTO_SMC: i32 = 0;
/// `IPPROTO_SMC` (include/uapi/linux/in.h).
pub const IPPROTO_SMC: i32 = 256;

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// A new stream socket of `family` (close-on-exec).
pub fn socket(family: Family) -> io::Result<OwnedFd> {
    let (domain, proto) = match family {
        Family::Tcp => (libc::AF_INET, 0),
        Family::Smc => (AF_SMC, SMCPROTO_SMC),
        Family::InetSmc => (libc::AF_INET, IPPROTO_SMC),
    };
    // SAFETY: socket(2) takes plain integers and returns a new fd or -1.
    let fd = cvt(unsafe { libc::socket(domain, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, proto) })?;
    // SAFETY: `fd` is a freshly created descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn sockaddr(addr: SocketAddrV4) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: addr.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*addr.ip()).to_be(),
        },
        sin_zero: [0; 8],
    }
}

const SIN_LEN: libc::socklen_t = mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;

/// Sets an `int` socket option.
fn setsockopt_int(fd: &OwnedFd, level: i32, name: i32, value: i32) -> io::Result<()> {
    // SAFETY: `value` is a live c_int for the duration of the call and the
    // length passed is its size.
    cvt(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&raw const value).cast(),
            mem::size_of::<i32>() as libc::socklen_t,
        )
    })
    .map(drop)
}

/// A listening socket of `family` on `addr` (SO_REUSEADDR).
pub fn listen(family: Family, addr: SocketAddrV4, backlog: i32) -> io::Result<TcpListener> {
    let fd = socket(family)?;
    setsockopt_int(&fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
    let sa = sockaddr(addr);
    // SAFETY: `sa` is a valid sockaddr_in that outlives the call; SIN_LEN
    // is its size.
    cvt(unsafe { libc::bind(fd.as_raw_fd(), (&raw const sa).cast(), SIN_LEN) })?;
    // SAFETY: listen(2) on a descriptor we own.
    cvt(unsafe { libc::listen(fd.as_raw_fd(), backlog) })?;
    Ok(TcpListener::from(fd))
}

/// Accepts one connection on `listener` (close-on-exec), without asking
/// for the peer's address (which std would insist be AF_INET/AF_INET6).
pub fn accept(listener: &TcpListener) -> io::Result<TcpStream> {
    // SAFETY: accept4(2) with null address pointers only returns an fd.
    let fd = cvt(unsafe {
        libc::accept4(
            listener.as_raw_fd(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            libc::SOCK_CLOEXEC,
        )
    })?;
    // SAFETY: `fd` is a freshly accepted descriptor that nothing else owns.
    Ok(TcpStream::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// The local port a listener is bound to.
pub fn local_port(listener: &TcpListener) -> io::Result<u16> {
    // SAFETY: sockaddr_in is plain data; all zeroes is a valid value.
    let mut sa: libc::sockaddr_in = unsafe { mem::zeroed() };
    let mut len = SIN_LEN;
    // SAFETY: `sa` and `len` are live and `len` holds the size of `sa`;
    // the kernel writes at most `len` bytes.
    cvt(unsafe { libc::getsockname(listener.as_raw_fd(), (&raw mut sa).cast(), &raw mut len) })?;
    Ok(u16::from_be(sa.sin_port))
}

/// Connects a new socket of `family` to `addr`. `timeout` is set as the
/// receive and send timeout before connecting (AF_SMC copies them to its
/// internal TCP socket at connect time, which serves a fallback).
pub fn connect(
    family: Family,
    addr: SocketAddrV4,
    timeout: std::time::Duration,
) -> io::Result<TcpStream> {
    let fd = socket(family)?;
    let s = TcpStream::from(fd);
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    let sa = sockaddr(addr);
    // SAFETY: `sa` is a valid sockaddr_in that outlives the call; SIN_LEN
    // is its size.
    cvt(unsafe { libc::connect(s.as_raw_fd(), (&raw const sa).cast(), SIN_LEN) })?;
    Ok(s)
}

/// sysconf(_SC_CLK_TCK): the unit of `/proc/stat`.
pub fn clock_ticks() -> Option<u64> {
    // SAFETY: sysconf(3) takes a plain integer.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(t).ok().filter(|&t| t > 0)
}
