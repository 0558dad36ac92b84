//! The system calls of a netlink socket: each a thin wrapper around one
//! libc call whose pointer arguments come from Rust references or owned
//! buffers of the stated length. This is the only module with `unsafe`
//! code. Errors are the `errno` value.

use std::io::Error;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Instant;

/// The current `errno`.
fn errno() -> i32 {
    Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// `errno` as text, e.g. `Connection refused (os error 111)`.
pub fn errname(e: i32) -> String {
    Error::from_raw_os_error(e).to_string()
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
pub fn socket(domain: i32, ty: i32, proto: i32) -> Result<OwnedFd, i32> {
    // SAFETY: socket(2) takes plain integers.
    let fd = unsafe { libc::socket(domain, ty, proto) };
    check(fd as isize)?;
    // SAFETY: `fd` is a freshly created descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Binds a netlink socket to an automatically assigned port id.
pub fn bind_netlink(fd: &OwnedFd) -> Result<(), i32> {
    // SAFETY: `sockaddr_nl` is plain old data; all-zero is a valid value.
    let mut sa: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    sa.nl_family = libc::AF_NETLINK as u16;
    // SAFETY: `sa` is a valid `sockaddr_nl` of the given size.
    let r = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&sa as *const libc::sockaddr_nl).cast(),
            std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    check(r as isize).map(drop)
}

/// `setsockopt(2)` with an `int` value.
pub fn setsockopt_int(fd: &OwnedFd, level: i32, name: i32, value: i32) -> Result<(), i32> {
    // SAFETY: `value` is a valid `int` for the duration of the call.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&value as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    check(r as isize).map(drop)
}

/// `send(2)`.
pub fn send(fd: &OwnedFd, buf: &[u8], flags: i32) -> Result<usize, i32> {
    // SAFETY: `buf` is valid for reads of its length.
    let r = unsafe { libc::send(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len(), flags) };
    check(r)
}

/// `recv(2)`; with `MSG_TRUNC` on a datagram socket the result may exceed `buf.len()`.
pub fn recv(fd: &OwnedFd, buf: &mut [u8], flags: i32) -> Result<usize, i32> {
    // SAFETY: `buf` is valid for writes of its length.
    let r = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), flags) };
    check(r)
}

/// Waits until `fd` has one of `events`, or until `deadline`. Returns the
/// `revents` (0 on timeout). `EINTR` is retried.
pub fn poll_until(fd: &OwnedFd, events: i16, deadline: Instant) -> Result<i16, i32> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ms = left.as_millis().min(i32::MAX as u128) as i32;
        // Round up so that a sub-millisecond wait does not spin.
        let ms = if ms == 0 && !left.is_zero() { 1 } else { ms };
        let mut pfd = libc::pollfd {
            fd: fd.as_raw_fd(),
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
