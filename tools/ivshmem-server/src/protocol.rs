//! Encoding and sending of ivshmem server-to-client messages.
//!
//! The protocol is described in QEMU's `docs/specs/ivshmem-spec.txt`,
//! section "The ivshmem Client-Server Protocol". It is one-way: the server
//! sends, the client only reads. Every message is a single little-endian
//! signed 64-bit integer, optionally accompanied by exactly one file
//! descriptor passed with `SCM_RIGHTS`.
//!
//! Message kinds used by this server:
//!
//! | value        | fd          | meaning                                     |
//! |--------------|-------------|---------------------------------------------|
//! | `0`          | none        | protocol version (first message)            |
//! | own ID       | none        | the client's ID (second message)            |
//! | `-1`         | shared mem  | the shared-memory object (third message)    |
//! | peer ID      | eventfd     | vector *k* of that peer (sent in *k* order) |
//! | peer ID      | none        | that peer disconnected                      |

use std::io;
use std::mem;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::ptr;

/// The protocol version this server speaks (spec, step 1).
pub const PROTOCOL_VERSION: i64 = 0;

/// The value accompanying the shared-memory file descriptor (spec, step 3).
pub const SHM_MARKER: i64 = -1;

/// Size in bytes of every message's payload.
pub const MESSAGE_LEN: usize = mem::size_of::<i64>();

/// One server-to-client message: a number and an optional file descriptor.
#[derive(Debug, Clone, Copy)]
pub struct Message<'fd> {
    /// The number, sent as a little-endian `i64`.
    pub value: i64,
    /// The file descriptor passed along with the number, if any.
    pub fd: Option<BorrowedFd<'fd>>,
}

impl<'fd> Message<'fd> {
    /// A message carrying only a number.
    pub fn plain(value: i64) -> Self {
        Message { value, fd: None }
    }

    /// A message carrying a number and a file descriptor.
    pub fn with_fd(value: i64, fd: BorrowedFd<'fd>) -> Self {
        Message {
            value,
            fd: Some(fd),
        }
    }
}

/// Encodes a message's number as it travels on the wire.
pub fn encode(value: i64) -> [u8; MESSAGE_LEN] {
    value.to_le_bytes()
}

/// The first three messages a new client receives (spec, steps 1-3):
/// the protocol version, the client's own ID and the shared memory.
pub fn greeting(id: u16, shm: BorrowedFd<'_>) -> [Message<'_>; 3] {
    [
        Message::plain(PROTOCOL_VERSION),
        Message::plain(i64::from(id)),
        Message::with_fd(SHM_MARKER, shm),
    ]
}

/// The messages handing out peer `id`'s eventfds, one per vector in vector
/// order (spec, steps 4, 5 and 6): to another client these are connect
/// notifications, to the peer itself they are its interrupt setup.
pub fn vectors_of(id: u16, vectors: &[OwnedFd]) -> impl Iterator<Item = Message<'_>> {
    vectors
        .iter()
        .map(move |fd| Message::with_fd(i64::from(id), fd.as_fd()))
}

/// The disconnect notification for peer `id` (spec, step 6): its ID
/// without a file descriptor.
pub fn departure(id: u16) -> Message<'static> {
    Message::plain(i64::from(id))
}

/// Control-message buffer, aligned for `cmsghdr` and large enough for one fd.
#[repr(C, align(8))]
struct CmsgBuf([u8; 64]);

/// Sends one message on a connected UNIX stream socket.
///
/// Uses `MSG_NOSIGNAL`, so a vanished client yields `EPIPE` rather than a
/// `SIGPIPE`. A short write is reported as an error: the byte stream would
/// be out of step with message boundaries, so the caller must drop the
/// client.
pub fn send(sock: BorrowedFd<'_>, msg: &Message<'_>) -> io::Result<()> {
    let mut payload = encode(msg.value);
    let mut iov = libc::iovec {
        iov_base: payload.as_mut_ptr().cast(),
        iov_len: payload.len(),
    };
    let mut cmsg_buf = CmsgBuf([0; 64]);

    // SAFETY: an all-zero msghdr is a valid "no name, no control" header.
    let mut hdr: libc::msghdr = unsafe { mem::zeroed() };
    hdr.msg_iov = &mut iov;
    hdr.msg_iovlen = 1;

    if let Some(fd) = msg.fd {
        let fd_len = mem::size_of::<libc::c_int>() as libc::c_uint;
        // SAFETY: CMSG_SPACE/CMSG_LEN are pure arithmetic.
        let (space, len) = unsafe { (libc::CMSG_SPACE(fd_len), libc::CMSG_LEN(fd_len)) };
        let space = space as usize;
        if space > cmsg_buf.0.len() {
            return Err(io::Error::other("control buffer too small"));
        }
        hdr.msg_control = cmsg_buf.0.as_mut_ptr().cast();
        hdr.msg_controllen = space as _;
        // SAFETY: msg_control points at `space` zeroed, suitably aligned
        // bytes, enough for one header plus one int, so the first header
        // exists and its data area can hold the fd.
        unsafe {
            let cmsg = libc::CMSG_FIRSTHDR(&hdr);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = len as _;
            ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::c_int>(), fd.as_raw_fd());
        }
    }

    loop {
        // SAFETY: `hdr` and everything it points to live across the call.
        let n = unsafe { libc::sendmsg(sock.as_raw_fd(), &hdr, libc::MSG_NOSIGNAL) };
        if n < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        if n as usize != MESSAGE_LEN {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!("short write of {n} bytes"),
            ));
        }
        return Ok(());
    }
}

/// Sends a sequence of messages, stopping at the first error.
pub fn send_all<'fd>(
    sock: BorrowedFd<'_>,
    msgs: impl IntoIterator<Item = Message<'fd>>,
) -> io::Result<()> {
    msgs.into_iter().try_for_each(|m| send(sock, &m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_little_endian() {
        assert_eq!(encode(0), [0; 8]);
        assert_eq!(encode(-1), [0xff; 8]);
        assert_eq!(encode(0x0102), [2, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(encode(65535), [0xff, 0xff, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn departure_has_no_fd() {
        let m = departure(7);
        assert_eq!(m.value, 7);
        assert!(m.fd.is_none());
    }
}
