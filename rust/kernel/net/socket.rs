// SPDX-License-Identifier: GPL-2.0

//! Kernel sockets, and the arguments of socket calls.
//!
//! [`KernelSocket`] owns a socket the kernel created for itself (`sock_create_kern()`), the
//! way a protocol layered on TCP keeps its TCP connection. The argument types here
//! ([`SockAddr`], [`MsgHdr`], [`PollArgs`], ...) carry what the socket layer passed to a
//! family's operation; a family can inspect the little it needs and hand them on, unchanged,
//! to a kernel socket.
//!
//! C header: [`include/linux/net.h`](srctree/include/linux/net.h).

use crate::{
    bindings,
    error::{to_result, Error},
    fs::File,
    prelude::*,
    sync::{
        poll::{PollCondVar, PollTable},
        Arc,
    },
    types::Opaque,
    uaccess::{UserPtr, UserSlice},
};
use core::{marker::PhantomData, ptr::NonNull};

/// A network namespace (`struct net`).
///
/// # Invariants
///
/// The namespace is live while a `&Net` to it exists.
#[repr(transparent)]
pub struct Net(Opaque<bindings::net>);

impl Net {
    /// Returns the namespace at `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` is a live namespace that stays live for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::net) -> &'a Net {
        // SAFETY: `Net` is transparent over `struct net`; liveness is the caller's promise.
        unsafe { &*ptr.cast() }
    }

    pub(crate) fn as_ptr(&self) -> *mut bindings::net {
        self.0.get()
    }

    /// The initial network namespace (`init_net`).
    pub fn init_ns() -> &'static Net {
        // SAFETY: `init_net` is a static object that is never freed.
        unsafe { Net::from_raw(&raw mut bindings::init_net) }
    }

    /// Whether this is the initial network namespace.
    pub fn is_init(&self) -> bool {
        core::ptr::eq(self.as_ptr(), &raw mut bindings::init_net)
    }
}

/// The address a socket call got (`bind`, `connect`), already copied into the kernel.
pub struct SockAddr<'a> {
    ptr: *mut bindings::sockaddr_unsized,
    len: i32,
    _p: PhantomData<&'a ()>,
}

impl<'a> SockAddr<'a> {
    /// # Safety
    ///
    /// `ptr` is valid for reads of `len` bytes for `'a`.
    pub(crate) unsafe fn from_raw(ptr: *mut bindings::sockaddr_unsized, len: i32) -> Self {
        Self { ptr, len, _p: PhantomData }
    }

    /// An address given by its bytes (a `struct sockaddr_in`, `sockaddr_in6`, ...), for calls
    /// on a [`KernelSocket`].
    pub fn from_bytes(bytes: &'a [u8]) -> Self {
        // The socket calls taking an address only read it, and for its length at most.
        Self {
            ptr: bytes.as_ptr().cast_mut().cast(),
            len: i32::try_from(bytes.len()).unwrap_or(i32::MAX),
            _p: PhantomData,
        }
    }

    /// The address's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        let len = usize::try_from(self.len).unwrap_or(0);
        // SAFETY: `len` bytes are readable for `'a` (safety requirement of `from_raw`).
        unsafe { core::slice::from_raw_parts(self.ptr.cast::<u8>(), len) }
    }

    /// The address family (`sa_family`), if the address is long enough to have one.
    pub fn family(&self) -> Option<u16> {
        let b = self.as_bytes();
        Some(u16::from_ne_bytes([*b.first()?, *b.get(1)?]))
    }

    /// The length the caller gave.
    pub fn len(&self) -> i32 {
        self.len
    }
}

/// Where `getsockname()`/`getpeername()` want the address written (a `sockaddr_storage`).
pub struct AddrOut<'a> {
    ptr: *mut bindings::sockaddr,
    _p: PhantomData<&'a mut ()>,
}

impl AddrOut<'_> {
    /// # Safety
    ///
    /// `ptr` is valid for writes of a `struct sockaddr_storage` for `'a`.
    pub(crate) unsafe fn from_raw(ptr: *mut bindings::sockaddr) -> Self {
        Self { ptr, _p: PhantomData }
    }
}

/// The message of a `sendmsg()`/`recvmsg()` call (`struct msghdr`): its data, address and
/// control buffers, and the iterator over the data.
///
/// # Invariants
///
/// `ptr` is a live `msghdr`, ours to use exclusively for `'a`.
pub struct MsgHdr<'a> {
    ptr: *mut bindings::msghdr,
    _p: PhantomData<&'a mut ()>,
}

impl MsgHdr<'_> {
    /// # Safety
    ///
    /// `ptr` is a live `msghdr` the caller may use exclusively for `'a`.
    pub(crate) unsafe fn from_raw(ptr: *mut bindings::msghdr) -> Self {
        Self { ptr, _p: PhantomData }
    }

    /// The `MSG_*` flags of a `sendmsg()` (`MSG_DONTWAIT` set for a non-blocking file too).
    pub fn flags(&self) -> u32 {
        // SAFETY: `ptr` is live for `'a` (type invariant).
        unsafe { bindings::msghdr_flags(self.ptr) }
    }

    /// How many bytes of data the message has left (to send from, or room to receive into).
    pub fn data_left(&self) -> usize {
        // SAFETY: `ptr` is live for `'a` (type invariant).
        unsafe { bindings::msghdr_data_left(self.ptr) }
    }

    /// Copies the message's next bytes into `buf` (as many as fit); returns how many were
    /// copied, fewer than asked at the end of the data or on a fault.
    pub fn copy_from(&mut self, buf: &mut [u8]) -> usize {
        // SAFETY: `ptr` is live and ours (type invariant); `buf` is writable for its length.
        unsafe { bindings::msghdr_copy_from(self.ptr, buf.as_mut_ptr().cast(), buf.len()) }
    }

    /// Copies `buf` into the message's data; returns how many bytes were copied, fewer than
    /// `buf.len()` when the message has no more room or on a fault.
    pub fn copy_to(&mut self, buf: &[u8]) -> usize {
        // SAFETY: `ptr` is live and ours (type invariant); `buf` is readable for its length.
        unsafe { bindings::msghdr_copy_to(self.ptr, buf.as_ptr().cast(), buf.len()) }
    }

    /// The data of a message being sent, as the iterator to copy from (for copies into
    /// memory Rust does not reference, e.g. [`crate::dibs::RemoteDmb::copy_from_iter`]);
    /// `None` for a message to receive.
    pub fn source(&mut self) -> Option<&mut crate::iov::IovIterSource<'_>> {
        // SAFETY: `ptr` is live and ours while `self` is borrowed (type invariant).
        let iter = unsafe { &raw mut (*self.ptr).msg_iter };
        // SAFETY: `iter` is the live message's iterator; `data_source` is a plain field.
        if unsafe { (*iter).data_source } != (bindings::ITER_SOURCE != 0) {
            return None;
        }
        // SAFETY: The iterator is live and, while `self` is borrowed, used only through the
        // returned reference; it is a source, whose memory the C copy functions may read for
        // the call that gave the message (which outlives `self`).
        Some(unsafe { crate::iov::IovIterSource::from_raw(iter) })
    }

    /// The data of a message being received, as the iterator to copy into (for copies from
    /// memory Rust does not reference, e.g. [`crate::dibs::Dmb::copy_to_iter`]); `None` for
    /// a message to send.
    pub fn dest(&mut self) -> Option<&mut crate::iov::IovIterDest<'_>> {
        // SAFETY: `ptr` is live and ours while `self` is borrowed (type invariant).
        let iter = unsafe { &raw mut (*self.ptr).msg_iter };
        // SAFETY: `iter` is the live message's iterator; `data_source` is a plain field.
        if unsafe { (*iter).data_source } != (bindings::ITER_DEST != 0) {
            return None;
        }
        // SAFETY: The iterator is live and, while `self` is borrowed, used only through the
        // returned reference; it is a destination, whose memory the C copy functions may write
        // for the call that gave the message (which outlives `self`).
        Some(unsafe { crate::iov::IovIterDest::from_raw(iter) })
    }
}

/// The arguments of a `poll` operation: the file polled and its poll table.
pub struct PollArgs<'a> {
    file: *mut bindings::file,
    wait: *mut bindings::poll_table_struct,
    _p: PhantomData<&'a ()>,
}

impl PollArgs<'_> {
    /// # Safety
    ///
    /// `file` and `wait` (which may be null) are the live arguments of a `poll` call.
    pub(crate) unsafe fn from_raw(
        file: *mut bindings::file,
        wait: *mut bindings::poll_table_struct,
    ) -> Self {
        Self { file, wait, _p: PhantomData }
    }

    /// Registers the poll on `cv` too: the poller is woken when `cv` is notified.
    pub fn register(&self, cv: &PollCondVar) {
        if self.wait.is_null() {
            return;
        }
        // SAFETY: `wait` is the live poll table of this call (safety requirement of
        // `from_raw`), and `file` the live file polled.
        let (table, file) = unsafe { (PollTable::from_raw(self.wait), File::from_raw_file(self.file)) };
        table.register_wait(file, cv);
    }
}

/// The value of a `setsockopt()` call (user or kernel memory).
pub struct OptIn<'a> {
    val: bindings::sockptr_t,
    len: u32,
    _p: PhantomData<&'a ()>,
}

impl OptIn<'_> {
    /// # Safety
    ///
    /// `val` is valid for reads of `len` bytes (in the address space it names) for `'a`.
    pub(crate) unsafe fn from_raw(val: bindings::sockptr_t, len: u32) -> Self {
        Self { val, len, _p: PhantomData }
    }

    /// The length of the value.
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Reads the value as an `int`, as most options are: `EINVAL` if it is shorter.
    pub fn read_int(&self) -> Result<i32> {
        if (self.len as usize) < core::mem::size_of::<i32>() {
            return Err(EINVAL);
        }
        let mut v: i32 = 0;
        // SAFETY: `val` holds at least 4 readable bytes (checked above, type invariant);
        // `v` is writable.
        let left = unsafe {
            bindings::copy_from_sockptr((&raw mut v).cast(), self.val, core::mem::size_of::<i32>())
        };
        if left != 0 {
            return Err(EFAULT);
        }
        Ok(v)
    }

    /// Applies this value as `SOL_SOCKET` option `name` to the `struct sock` of `sock`.
    pub(crate) fn set_on(&self, sock: *mut bindings::socket, name: i32) -> Result {
        // SAFETY: `sock` is live (caller); `val` holds `len` readable bytes.
        to_result(unsafe {
            bindings::sock_setsockopt(sock, bindings::SOL_SOCKET as i32, name, self.val, self.len)
        })
    }
}

/// Where a `getsockopt()` call wants its value: user memory, and the user's length.
pub struct OptOut<'a> {
    val: *mut u8,
    len: *mut i32,
    _p: PhantomData<&'a ()>,
}

impl OptOut<'_> {
    /// # Safety
    ///
    /// `val` and `len` are the user pointers a `getsockopt()` call passed.
    pub(crate) unsafe fn from_raw(val: *mut u8, len: *mut i32) -> Self {
        Self { val, len, _p: PhantomData }
    }

    /// Writes `v` as an `int` option (truncated to the user's length, as `sock_getsockopt()`
    /// does), and the length written.
    pub fn write_int(&self, v: i32) -> Result {
        let mut r = UserSlice::new(UserPtr::from_ptr(self.len.cast()), 4).reader();
        let len: i32 = r.read()?;
        if len < 0 {
            return Err(EINVAL);
        }
        let n = (len as usize).min(4);
        let mut w = UserSlice::new(UserPtr::from_ptr(self.val.cast()), n).writer();
        w.write_slice(&v.to_ne_bytes()[..n])?;
        let mut w = UserSlice::new(UserPtr::from_ptr(self.len.cast()), 4).writer();
        w.write(&(n as i32))
    }
}

/// The identity of an IP socket as diagnostics report it (`struct inet_diag_sockid`).
pub struct SockId(bindings::inet_diag_sockid);

impl SockId {
    /// The wire form of `struct inet_diag_sockid` with cookie `cookie`: ports and addresses
    /// in network byte order, the device index and the cookie in host byte order.
    pub fn to_bytes(&self, cookie: [u32; 2]) -> [u8; 48] {
        const _: () = assert!(core::mem::size_of::<bindings::inet_diag_sockid>() == 48);
        let id = &self.0;
        let mut b = [0u8; 48];
        let words = Iterator::chain(id.idiag_src.iter(), id.idiag_dst.iter());
        for (dst, w) in b[4..36].chunks_exact_mut(4).zip(words) {
            dst.copy_from_slice(&w.to_ne_bytes());
        }
        b[0..2].copy_from_slice(&id.idiag_sport.to_ne_bytes());
        b[2..4].copy_from_slice(&id.idiag_dport.to_ne_bytes());
        b[36..40].copy_from_slice(&id.idiag_if.to_ne_bytes());
        b[40..44].copy_from_slice(&cookie[0].to_ne_bytes());
        b[44..48].copy_from_slice(&cookie[1].to_ne_bytes());
        b
    }
}

/// A socket the kernel created for itself, closed (`sock_release()`) on drop.
///
/// # Invariants
///
/// `sock` is a socket this object owns, with `ops` and `sk` set (created by
/// `sock_create_kern()` or accepted by `kernel_accept()`).
pub struct KernelSocket {
    sock: NonNull<bindings::socket>,
}

// SAFETY: A `struct socket` is not tied to the thread that created it; the socket layer
// serialises its operations internally (the `struct sock` lock).
unsafe impl Send for KernelSocket {}
// SAFETY: Every `&self` method is a socket operation the kernel allows to run concurrently
// with the others (as two threads of a process may on one socket).
unsafe impl Sync for KernelSocket {}

/// Converts a negative errno or a count, as socket calls return them.
fn count(ret: isize) -> Result<usize> {
    if ret < 0 {
        Err(Error::from_errno(ret as i32))
    } else {
        Ok(ret as usize)
    }
}

impl KernelSocket {
    /// Creates a socket in `net`, as `socket(family, ty, protocol)` would.
    pub fn new(net: &Net, family: u16, ty: i32, protocol: i32) -> Result<Self> {
        let mut sock = core::ptr::null_mut();
        // SAFETY: `net` is live; `sock` is writable.
        to_result(unsafe {
            bindings::sock_create_kern(net.as_ptr(), i32::from(family), ty, protocol, &mut sock)
        })?;
        // INVARIANT: Created by `sock_create_kern()`, which sets `ops` and `sk`.
        Ok(Self { sock: NonNull::new(sock).ok_or(ENOMEM)? })
    }

    fn raw(&self) -> *mut bindings::socket {
        self.sock.as_ptr()
    }

    fn ops(&self) -> &bindings::proto_ops {
        // SAFETY: `ops` is set and static while the socket lives (type invariant).
        unsafe { &*(*self.raw()).ops }
    }

    pub(crate) fn sk(&self) -> *mut bindings::sock {
        // SAFETY: The socket is live (type invariant).
        unsafe { (*self.raw()).sk }
    }

    /// `bind()`.
    pub fn bind(&self, addr: &SockAddr<'_>) -> Result {
        let f = self.ops().bind.ok_or(EOPNOTSUPP)?;
        // SAFETY: The socket is live; `addr` is a kernel address of `len` bytes.
        to_result(unsafe { f(self.raw(), addr.ptr, addr.len) })
    }

    /// `connect()`; `flags` are the file flags (`O_NONBLOCK`).
    pub fn connect(&self, addr: &SockAddr<'_>, flags: i32) -> Result {
        let f = self.ops().connect.ok_or(EOPNOTSUPP)?;
        // SAFETY: As for `bind`.
        to_result(unsafe { f(self.raw(), addr.ptr, addr.len, flags) })
    }

    /// `listen()`.
    pub fn listen(&self, backlog: i32) -> Result {
        // SAFETY: The socket is live.
        to_result(unsafe { bindings::kernel_listen(self.raw(), backlog) })
    }

    /// `accept()`: waits for a connection unless `flags` has `O_NONBLOCK`.
    pub fn accept(&self, flags: i32) -> Result<KernelSocket> {
        let mut new = core::ptr::null_mut();
        // SAFETY: The socket is live; `new` is writable.
        to_result(unsafe { bindings::kernel_accept(self.raw(), &mut new, flags) })?;
        // INVARIANT: `kernel_accept()` set `ops` and `sk` of the socket it returns.
        let new = KernelSocket { sock: NonNull::new(new).ok_or(ENOMEM)? };
        // A connection of a listener with a [`DataReadyHook`] was cloned with the hook's
        // callback: it gets the listener's own.
        // SAFETY: Both sockets are live; `new` is not yet seen by anyone else.
        unsafe { bindings::sk_data_ready_inherit(self.sk(), new.sk()) };
        Ok(new)
    }

    /// `getsockname()` (`peer` false) or `getpeername()`: the address length.
    pub fn getname(&self, out: &mut AddrOut<'_>, peer: bool) -> Result<i32> {
        let f = self.ops().getname.ok_or(EOPNOTSUPP)?;
        // SAFETY: The socket is live; `out` holds a `sockaddr_storage`.
        let ret = unsafe { f(self.raw(), out.ptr, i32::from(peer)) };
        count(ret as isize).map(|n| n as i32)
    }

    /// `poll`: the socket's events; registers on its wait queue through `args`.
    pub fn poll(&self, args: &PollArgs<'_>) -> u32 {
        match self.ops().poll {
            // SAFETY: The socket is live; `args` are a live poll call's.
            Some(f) => unsafe { f(args.file, self.raw(), args.wait) },
            None => 0,
        }
    }

    /// `ioctl()`.
    pub fn ioctl(&self, cmd: u32, arg: usize) -> Result<i32> {
        let f = self.ops().ioctl.ok_or(ENOIOCTLCMD)?;
        // SAFETY: The socket is live; `arg` is passed on as the caller gave it.
        let ret = unsafe { f(self.raw(), cmd, arg as _) };
        count(ret as isize).map(|n| n as i32)
    }

    /// `shutdown()`: `how` is `SHUT_RD`, `SHUT_WR` or `SHUT_RDWR`.
    pub fn shutdown(&self, how: i32) -> Result {
        let f = self.ops().shutdown.ok_or(EOPNOTSUPP)?;
        // SAFETY: The socket is live.
        to_result(unsafe { f(self.raw(), how) })
    }

    /// `setsockopt()` at `level`, `SOL_SOCKET` included.
    pub fn setsockopt(&self, level: i32, name: i32, val: &OptIn<'_>) -> Result {
        if level == bindings::SOL_SOCKET as i32 {
            return val.set_on(self.raw(), name);
        }
        let f = self.ops().setsockopt.ok_or(EOPNOTSUPP)?;
        // SAFETY: As above.
        to_result(unsafe { f(self.raw(), level, name, val.val, val.len) })
    }

    /// `getsockopt()` at a level other than `SOL_SOCKET`.
    pub fn getsockopt(&self, level: i32, name: i32, out: &OptOut<'_>) -> Result {
        let f = self.ops().getsockopt.ok_or(EOPNOTSUPP)?;
        // SAFETY: The socket is live; `out` holds the caller's user pointers.
        to_result(unsafe { f(self.raw(), level, name, out.val.cast(), out.len) })
    }

    /// `sendmsg()`: the bytes sent.
    pub fn sendmsg(&self, msg: &mut MsgHdr<'_>, len: usize) -> Result<usize> {
        let f = self.ops().sendmsg.ok_or(EOPNOTSUPP)?;
        // SAFETY: The socket is live; `msg` is a live message we may use.
        count(unsafe { f(self.raw(), msg.ptr, len) } as isize)
    }

    /// `recvmsg()`: the bytes received.
    pub fn recvmsg(&self, msg: &mut MsgHdr<'_>, len: usize, flags: i32) -> Result<usize> {
        let f = self.ops().recvmsg.ok_or(EOPNOTSUPP)?;
        // SAFETY: As for `sendmsg`.
        count(unsafe { f(self.raw(), msg.ptr, len, flags) } as isize)
    }

    /// `splice_eof`: a splice into the socket ended.
    pub fn splice_eof(&self) {
        if let Some(f) = self.ops().splice_eof {
            // SAFETY: The socket is live.
            unsafe { f(self.raw()) };
        }
    }

    /// The pending error of the socket (`SO_ERROR`), without clearing it.
    pub fn error(&self) -> i32 {
        // SAFETY: `sk` is live while the socket is.
        unsafe { bindings::sk_read_err(self.sk()) }
    }

    /// Asks for the SMC experimental TCP option on this TCP socket's SYN (or SYN-ACK, when
    /// listening): `tcp_sock::syn_smc`. Must be called before `connect()`/`listen()`.
    pub fn request_smc_option(&self) {
        // SAFETY: `sk` is live; the caller made the socket a TCP one.
        unsafe { bindings::tcp_sk_set_syn_smc(self.sk(), true) };
    }

    /// Sends `buf` from kernel memory; `flags` are `MSG_*` flags. Returns the bytes sent
    /// (all of them unless `MSG_DONTWAIT` or an error cut the send short).
    pub fn send_bytes(&self, buf: &[u8], flags: u32) -> Result<usize> {
        // SAFETY: The socket is live; `buf` is readable for its length during the call.
        let ret = unsafe {
            bindings::kernel_send_bytes(self.raw(), buf.as_ptr().cast(), buf.len(), flags as i32)
        };
        count(ret as isize)
    }

    /// Receives into `buf` (kernel memory); `flags` are `MSG_*` flags (`MSG_PEEK`,
    /// `MSG_WAITALL`, `MSG_DONTWAIT`). Returns the bytes received, 0 at end of stream.
    /// A blocking receive waits at most the receive timeout ([`KernelSocket::set_rcvtimeo`]).
    pub fn recv_bytes(&self, buf: &mut [u8], flags: u32) -> Result<usize> {
        // SAFETY: The socket is live; `buf` is writable for its length during the call.
        let ret = unsafe {
            bindings::kernel_recv_bytes(self.raw(), buf.as_mut_ptr().cast(), buf.len(), flags as i32)
        };
        count(ret as isize)
    }

    /// Sets the receive timeout (`SO_RCVTIMEO`) in jiffies (`MAX_SCHEDULE_TIMEOUT`: none) and
    /// returns the one it replaces.
    pub fn set_rcvtimeo(&self, jiffies: isize) -> isize {
        // SAFETY: `sk` is live; the helper writes the field with `WRITE_ONCE()`.
        unsafe { bindings::sk_swap_rcvtimeo(self.sk(), jiffies as _) as isize }
    }

    /// The receive timeout (`SO_RCVTIMEO`) in jiffies (`MAX_SCHEDULE_TIMEOUT`: none).
    pub fn rcvtimeo(&self) -> isize {
        // SAFETY: `sk` is live; the helper reads the field with `READ_ONCE()`.
        unsafe { bindings::sk_read_rcvtimeo(self.sk()) as isize }
    }

    /// Waits while a TCP connection is being set up (`SYN_SENT`, `SYN_RECV`), as a blocking
    /// socket call would: up to the send timeout (`SO_SNDTIMEO`), or not at all if
    /// `nonblock`. Returns at once in any other state, without consuming the error of a
    /// connection that failed ([`KernelSocket::sk_state`] tells how it ended); fails with
    /// `EAGAIN` at the timeout, or `EINTR`/`ERESTARTSYS` on a signal.
    pub fn wait_connected(&self, nonblock: bool) -> Result {
        // SAFETY: The socket is live (type invariant).
        to_result(unsafe { bindings::kernel_wait_connected(self.raw(), nonblock) })
    }

    /// Wakes everyone waiting on the socket: blocked calls and pollers (`poll`, `select`,
    /// `epoll`), which look at it again.
    pub fn wake_all(&self) {
        // SAFETY: `sk` is live.
        unsafe { bindings::sk_wake_all(self.sk()) };
    }

    /// Sets the socket's pending error (what its next call and `SO_ERROR` report), a positive
    /// errno.
    pub fn set_error(&self, err: i32) {
        // SAFETY: `sk` is live; the helper writes the field with `WRITE_ONCE()`.
        unsafe { bindings::sk_write_err(self.sk(), err) };
    }

    /// The protocol state of the socket (`sk_state`: `TCP_ESTABLISHED`, ... for TCP).
    pub fn sk_state(&self) -> u8 {
        // SAFETY: `sk` is live.
        unsafe { bindings::sk_read_state(self.sk()) }
    }

    /// The socket's identity as `struct inet_diag_sockid` reports it: local and remote port,
    /// bound device, and with `addrs` the local and remote address (no cookie). Read without
    /// the socket's lock, as the diagnostics of the C families read it.
    pub fn diag_sockid(&self, addrs: bool) -> SockId {
        let mut id = bindings::inet_diag_sockid::default();
        // SAFETY: `sk` is live (type invariants), an IP socket (made by `sock_create_kern()`
        // for an IP family or accepted from one); `id` is valid for writes.
        unsafe { bindings::sk_diag_sockid(self.sk(), &mut id, addrs) };
        SockId(id)
    }

    /// Makes this TCP listener (to be hooked, [`DataReadyHook`]) ask its hook's
    /// [`DataReady::congested`] before it offers the SMC option to a new connection (C:
    /// `tcp_sock::smc_hs_congested`, set for `SMC_LIMIT_HS`). Before `listen()`.
    pub fn limit_smc_handshakes(&self, on: bool) {
        // SAFETY: `sk` is live and a TCP socket (type invariants).
        unsafe { bindings::tcp_sk_limit_smc_hs(self.sk(), on) };
    }

    /// Whether both ends of this TCP connection agreed on the SMC option.
    pub fn smc_option(&self) -> bool {
        // SAFETY: `sk` is live.
        unsafe { bindings::tcp_sk_syn_smc(self.sk()) }
    }
}

impl Drop for KernelSocket {
    fn drop(&mut self) {
        // SAFETY: Owned (type invariant) and not used again.
        unsafe { bindings::sock_release(self.raw()) };
    }
}

/// What a [`DataReadyHook`] calls.
pub trait DataReady: Send + Sync {
    /// The socket signalled new data (a listening socket: a new connection to accept).
    ///
    /// Called in atomic context (from the network stack, often in softirq), after the
    /// socket's own callback and with the socket's callback lock held for reading: it must
    /// not sleep, and should only note the event or queue work. The hook keeps `this` alive
    /// during the call, so a clone of it may be dropped here.
    fn data_ready(this: &Arc<Self>);

    /// Whether a TCP listener that limits SMC handshakes
    /// ([`KernelSocket::limit_smc_handshakes`]) is to answer a new connection's SYN without
    /// the SMC option (so that it goes on as plain TCP). Called in the same context as
    /// [`DataReady::data_ready`].
    fn congested(_this: &Arc<Self>) -> bool {
        false
    }
}

/// What a hook installs as the socket's user data: `raw` first, so that the C dispatcher's
/// pointer is one to the whole.
#[repr(C)]
struct HookData<T> {
    raw: bindings::rust_sk_data_ready,
    target: Arc<T>,
}

/// Calls [`DataReady::data_ready`] of a target each time a kernel socket signals new data
/// (its `sk_data_ready` callback), until dropped: what a protocol layered on TCP uses to
/// learn of new connections or data without a thread blocked on the socket.
///
/// The hook takes the socket's user data (`sk_user_data`): a socket has at most one. The
/// connections a hooked listener accepts do not inherit it ([`KernelSocket::accept`] gives
/// them the listener's own callback).
///
/// The hook holds a reference to its target: a target that owns its hook must drop it (to
/// break the cycle), as a listener does when it closes.
///
/// # Invariants
///
/// `data` comes from [`KBox::into_raw`] and is the user data of `sock`'s `struct sock`, with
/// the dispatcher of `rust/helpers/net/sock.c` as its `sk_data_ready`, for as long as `self`
/// lives.
pub struct DataReadyHook<T: DataReady> {
    sock: Arc<KernelSocket>,
    data: NonNull<HookData<T>>,
}

// SAFETY: The hook owns an `Arc<T>` and an `Arc<KernelSocket>` (both `Send`, `T` being
// `Send + Sync`); `data` is only freed by `drop`, on whichever thread.
unsafe impl<T: DataReady> Send for DataReadyHook<T> {}
// SAFETY: `&self` gives access to nothing (no method reads `data`).
unsafe impl<T: DataReady> Sync for DataReadyHook<T> {}

/// A [`DataReadyHook`] made but not installed ([`DataReadyHook::prepare`]): installing it
/// allocates nothing, so it may be done under a lock.
pub struct PreparedHook<T: DataReady>(KBox<HookData<T>>);

impl<T: DataReady> PreparedHook<T> {
    /// Hooks the target to `sock`; fails with `EBUSY` if the socket has user data already.
    pub fn install(self, sock: Arc<KernelSocket>) -> Result<DataReadyHook<T>> {
        let data = NonNull::from(KBox::leak(self.0));
        // SAFETY: `sock` is live; `data` is valid, and stays so until `drop` unhooks it (or
        // below, if hooking failed).
        let ret = unsafe { bindings::sk_data_ready_hook(sock.sk(), data.as_ptr().cast()) };
        if ret != 0 {
            // SAFETY: Not hooked: `data`, leaked from a box above, is ours alone again.
            drop(unsafe { KBox::from_raw(data.as_ptr()) });
            return Err(Error::from_errno(ret));
        }
        // INVARIANT: Hooked above; `data` came from a box.
        Ok(DataReadyHook { sock, data })
    }
}

impl<T: DataReady> DataReadyHook<T> {
    /// Hooks `target` to `sock`; fails with `EBUSY` if the socket has user data already.
    pub fn new(sock: Arc<KernelSocket>, target: Arc<T>) -> Result<Self> {
        Self::prepare(target)?.install(sock)
    }

    /// Makes a hook for `target`, to install later.
    pub fn prepare(target: Arc<T>) -> Result<PreparedHook<T>> {
        let raw = bindings::rust_sk_data_ready {
            orig: None,
            func: Some(Self::call),
            congested: Some(Self::congested_call),
        };
        Ok(PreparedHook(KBox::new(HookData { raw, target }, GFP_KERNEL)?))
    }

    /// The C dispatcher's call of the hook.
    ///
    /// # Safety
    ///
    /// `raw` is the `raw` field of a hooked [`HookData<T>`], and the socket's callback lock is
    /// held for reading (so the hook is not dropped during the call).
    unsafe extern "C" fn call(raw: *mut bindings::rust_sk_data_ready) {
        // SAFETY: `raw` is the first field of a `repr(C)` `HookData<T>` that stays live during
        // the call (the function's safety requirements).
        let data = unsafe { &*raw.cast::<HookData<T>>() };
        T::data_ready(&data.target);
    }

    /// The C side's question whether the listener is congested.
    ///
    /// # Safety
    ///
    /// As for [`DataReadyHook::call`].
    unsafe extern "C" fn congested_call(raw: *mut bindings::rust_sk_data_ready) -> bool {
        // SAFETY: As in `call`.
        let data = unsafe { &*raw.cast::<HookData<T>>() };
        T::congested(&data.target)
    }
}

impl<T: DataReady> Drop for DataReadyHook<T> {
    fn drop(&mut self) {
        let data = self.data.as_ptr();
        // SAFETY: `data` is hooked to the live `sock` (type invariant). Once this returns the
        // dispatcher no longer uses it: unhooking takes the callback lock for writing, which
        // every call of the hook holds for reading.
        unsafe { bindings::sk_data_ready_unhook(self.sock.sk(), data.cast()) };
        // SAFETY: Unhooked: nothing else refers to `data`, which came from `KBox::into_raw`.
        drop(unsafe { KBox::from_raw(data) });
    }
}

/// A use of the SMC experimental TCP option: while one exists, TCP sends the option on the SYN
/// of sockets that ask for it ([`KernelSocket::request_smc_option`]) and answers it on the
/// SYN-ACK of listeners that do.
pub struct SmcOptionUse(());

impl SmcOptionUse {
    /// Turns the option on (it stays on while any use exists).
    pub fn new() -> Self {
        // SAFETY: Balanced by `drop`.
        unsafe { bindings::tcp_smc_option_get() };
        Self(())
    }
}

impl Default for SmcOptionUse {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for SmcOptionUse {
    fn drop(&mut self) {
        // SAFETY: Taken by `new`.
        unsafe { bindings::tcp_smc_option_put() };
    }
}
