// SPDX-License-Identifier: GPL-2.0

//! Socket protocol families.
//!
//! A protocol family is what `socket(2)` dispatches on: `struct net_proto_family`
//! creates the socket, `struct proto_ops` carries the BSD socket calls, and
//! `struct proto` sizes and accounts the `struct sock` behind it.
//! [`Registration`] registers all three for a [`Family`] implemented in Rust.
//!
//! Each socket carries the family's per-socket state ([`Family::Sock`]) in the
//! same allocation as its `struct sock`: built in place when the socket is
//! created, dropped when the last reference to the `struct sock` goes.
//!
//! A family may also be an IP protocol ([`Family::INET`]): `socket(AF_INET | AF_INET6, type,
//! protocol)` then creates sockets of the family too, registered with `struct inet_protosw`.
//!
//! C header: [`include/linux/net.h`](srctree/include/linux/net.h),
//! [`include/net/sock.h`](srctree/include/net/sock.h).

use super::socket::{AddrOut, MsgHdr, Net, OptIn, OptOut, PollArgs, SockAddr};
use crate::{
    bindings,
    error::{from_result, to_result},
    new_spinlock_irq,
    prelude::*,
    str::CStr,
    sync::SpinLockIrq,
    types::Opaque,
    ThisModule,
};
use core::{
    marker::PhantomPinned,
    sync::atomic::{AtomicPtr, Ordering},
};

/// The type argument of `socket(2)`, without the `SOCK_NONBLOCK`/`SOCK_CLOEXEC` flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SockType {
    /// `SOCK_STREAM`.
    Stream,
    /// `SOCK_DGRAM`.
    Dgram,
    /// `SOCK_SEQPACKET`.
    SeqPacket,
    /// `SOCK_RAW`.
    Raw,
    /// Any other type.
    Other(i32),
}

impl SockType {
    fn from_raw(ty: i32) -> Self {
        match ty as u32 {
            bindings::sock_type_SOCK_STREAM => Self::Stream,
            bindings::sock_type_SOCK_DGRAM => Self::Dgram,
            bindings::sock_type_SOCK_SEQPACKET => Self::SeqPacket,
            bindings::sock_type_SOCK_RAW => Self::Raw,
            _ => Self::Other(ty),
        }
    }

    const fn to_raw(self) -> u32 {
        match self {
            Self::Stream => bindings::sock_type_SOCK_STREAM,
            Self::Dgram => bindings::sock_type_SOCK_DGRAM,
            Self::SeqPacket => bindings::sock_type_SOCK_SEQPACKET,
            Self::Raw => bindings::sock_type_SOCK_RAW,
            Self::Other(ty) => ty as u32,
        }
    }
}

/// The IP protocol under which a family's sockets are also created: see [`Family::INET`].
pub struct InetProtocol {
    /// The socket type (`socket(2)`'s second argument).
    pub ty: SockType,
    /// The protocol number (`IPPROTO_*`, `socket(2)`'s third argument).
    pub protocol: u16,
    /// The name of the protocol over IPv4, as `/proc/net/protocols` shows it (at most 31
    /// bytes).
    pub name: &'static CStr,
    /// The name over IPv6.
    pub name6: &'static CStr,
}

/// A socket protocol family implemented in Rust.
///
/// Socket calls the family does not implement are the kernel's `sock_no_*()` operations
/// (`EOPNOTSUPP`), or missing from its `proto_ops` where the socket layer has a default. Each operation gets the socket it is called on as a [`Sock`],
/// through which it reaches the family's per-socket state.
///
/// # Examples
///
/// ```
/// use kernel::net::family::{Family, SockType};
/// use kernel::net::socket::Net;
/// use kernel::prelude::*;
///
/// struct Example;
///
/// #[pin_data]
/// struct ExampleSock {
///     protocol: i32,
/// }
///
/// #[vtable]
/// impl Family for Example {
///     const FAMILY: u16 = kernel::bindings::AF_SMC as u16;
///     const NAME: &'static CStr = c"EXAMPLE";
///     type Sock = ExampleSock;
///
///     fn create(
///         _net: &Net,
///         _family: u16,
///         ty: SockType,
///         protocol: i32,
///         _kern: bool,
///     ) -> Result<impl PinInit<ExampleSock, Error>> {
///         if ty != SockType::Stream || protocol != 0 {
///             return Err(EPROTONOSUPPORT);
///         }
///         Ok(try_pin_init!(ExampleSock { protocol }))
///     }
/// }
/// ```
#[vtable]
pub trait Family: Sized + 'static {
    /// The address family number (`AF_*`).
    const FAMILY: u16;

    /// The name of the protocol, as `/proc/net/protocols` shows it (at most 31 bytes).
    const NAME: &'static CStr;

    /// Whether `SOL_SOCKET` options reach [`Family::setsockopt`] instead of being applied to
    /// this socket by the socket layer (`SOCK_CUSTOM_SOCKOPT`). `getsockopt(SOL_SOCKET)` is
    /// always answered by the socket layer from this socket's `struct sock`.
    const CUSTOM_SOL_SOCKET: bool = false;

    /// The IP protocol under which the family's sockets are also created, if any:
    /// `socket(AF_INET | AF_INET6, INET.ty, INET.protocol)` calls [`Family::create`] with
    /// `AF_INET` or `AF_INET6` as the family, and the socket's calls are the family's.
    ///
    /// To the socket layer such a socket is an IP socket (`struct inet_sock`, and `struct
    /// ipv6_pinfo` over IPv6, both before the family's state), but no IP state of its own is
    /// kept: its destructor drops the family's state only, as the C implementation of SMC's
    /// does. Sockets it accepts are of [`Family::FAMILY`], as the C implementation of SMC
    /// makes them. Every socket of a family with an IP protocol has room for the IP
    /// structures.
    const INET: Option<InetProtocol> = None;

    /// The state each socket of this family carries beside its `struct sock`.
    ///
    /// It is dropped when the last reference to the `struct sock` goes, in process context:
    /// this abstraction takes and drops references only there.
    type Sock: Send + Sync;

    /// How many socket tables the family keeps (at most [`MAX_SOCK_TABLES`]; 0, the
    /// default, keeps none). A socket is on the table [`Family::sock_table`] names from its
    /// creation until `close(2)`, so that diagnostics can list the family's sockets
    /// ([`sockets`]), as the C families keep theirs in their `struct proto`'s hash tables.
    const SOCK_TABLES: usize = 0;

    /// The table a new socket with state `state` goes on (below [`Family::SOCK_TABLES`]).
    fn sock_table(_state: &Self::Sock) -> usize {
        0
    }

    /// Called by `socket(2)` in namespace `net`: validates the type and protocol and builds
    /// the per-socket state. `family` is [`Family::FAMILY`], or `AF_INET`/`AF_INET6` for a
    /// socket of the family's IP protocol ([`Family::INET`]).
    fn create(
        net: &Net,
        family: u16,
        ty: SockType,
        protocol: i32,
        kern: bool,
    ) -> Result<impl PinInit<Self::Sock, Error>>;

    /// `close(2)` of the socket's last file reference; no other call on it is in flight.
    fn release(_sock: &Sock<Self>) {}

    /// `bind(2)`.
    fn bind(_sock: &Sock<Self>, _addr: &SockAddr<'_>) -> Result {
        Err(EOPNOTSUPP)
    }

    /// `connect(2)`; `flags` are the file's flags (`O_NONBLOCK`).
    fn connect(_sock: &Sock<Self>, _addr: &SockAddr<'_>, _flags: i32) -> Result {
        Err(EOPNOTSUPP)
    }

    /// `listen(2)`.
    fn listen(_sock: &Sock<Self>, _backlog: i32) -> Result {
        Err(EOPNOTSUPP)
    }

    /// `accept(2)`: waits for a connection (unless `flags` has `O_NONBLOCK`) and returns the
    /// state of the new socket, which the abstraction creates around it.
    fn accept(_sock: &Sock<Self>, _flags: i32) -> Result<impl PinInit<Self::Sock, Error>> {
        Err::<(), _>(EOPNOTSUPP).map(|()| {
            // SAFETY: Never built (the `Err` above); it would fail without touching the slot,
            // as a failing initialiser may.
            unsafe { pin_init::pin_init_from_closure::<Self::Sock, Error>(|_| Err(EOPNOTSUPP)) }
        })
    }

    /// Called once the socket `accept` returned has its `struct sock` (`new`), before the
    /// caller sees it: for what only a full socket takes (its `sk_state`, options inherited from
    /// the listener `sock`).
    fn accepted(_sock: &Sock<Self>, _new: &Sock<Self>) {}

    /// `getsockname(2)` (`peer` false) or `getpeername(2)`: returns the address length.
    fn getname(_sock: &Sock<Self>, _out: &mut AddrOut<'_>, _peer: bool) -> Result<i32> {
        Err(EOPNOTSUPP)
    }

    /// `poll(2)` and friends: the socket's `EPOLL*` events.
    fn poll(_sock: &Sock<Self>, _args: &PollArgs<'_>) -> u32 {
        0
    }

    /// `ioctl(2)`.
    fn ioctl(_sock: &Sock<Self>, _cmd: u32, _arg: usize) -> Result<i32> {
        Err(ENOIOCTLCMD)
    }

    /// `shutdown(2)`: `how` is `SHUT_RD`, `SHUT_WR` or `SHUT_RDWR`.
    fn shutdown(_sock: &Sock<Self>, _how: i32) -> Result {
        Err(EOPNOTSUPP)
    }

    /// `setsockopt(2)` (`SOL_SOCKET` too if [`Family::CUSTOM_SOL_SOCKET`]).
    fn setsockopt(_sock: &Sock<Self>, _level: i32, _name: i32, _val: &OptIn<'_>) -> Result {
        Err(EOPNOTSUPP)
    }

    /// `getsockopt(2)` at levels other than `SOL_SOCKET`.
    fn getsockopt(_sock: &Sock<Self>, _level: i32, _name: i32, _out: &OptOut<'_>) -> Result {
        Err(EOPNOTSUPP)
    }

    /// `sendmsg(2)` and friends: the bytes sent.
    fn sendmsg(_sock: &Sock<Self>, _msg: &mut MsgHdr<'_>, _len: usize) -> Result<usize> {
        Err(EOPNOTSUPP)
    }

    /// `recvmsg(2)` and friends: the bytes received.
    fn recvmsg(
        _sock: &Sock<Self>,
        _msg: &mut MsgHdr<'_>,
        _len: usize,
        _flags: i32,
    ) -> Result<usize> {
        Err(EOPNOTSUPP)
    }

    /// A splice into the socket ended (the socket may push what it held back).
    fn splice_eof(_sock: &Sock<Self>) {}
}

/// A socket of family `F`, as its operations see it.
///
/// # Invariants
///
/// `sock` is a live socket of family `F` with its `struct sock` attached (created by
/// [`Registration`]'s callbacks, so its per-socket state is initialised).
pub struct Sock<F: Family> {
    sock: *mut bindings::socket,
    sk: *mut bindings::sock,
    _f: core::marker::PhantomData<F>,
}

impl<F: Family> Sock<F> {
    /// # Safety
    ///
    /// `sock` is a live socket of family `F` with its `sk` attached, for the lifetime of the
    /// returned object.
    unsafe fn from_raw(sock: *mut bindings::socket) -> Self {
        // SAFETY: `sock` is live (caller).
        let sk = unsafe { (*sock).sk };
        Self { sock, sk, _f: core::marker::PhantomData }
    }

    /// The family's state of this socket.
    pub fn state(&self) -> &F::Sock {
        // SAFETY: `sk` is a socket of family `F` whose state is initialised (type invariant)
        // and lives at least as long as `self`.
        unsafe { &*state_ptr::<F>(self.sk) }
    }

    /// The network namespace of the socket.
    pub fn net(&self) -> &Net {
        // SAFETY: A socket holds its namespace for as long as it lives.
        unsafe { Net::from_raw(bindings::sock_net(self.sk)) }
    }

    /// Sets the socket's state (`sk_state`), which `SO_ACCEPTCONN` and diagnostics read.
    pub fn set_sk_state(&self, state: u8) {
        // SAFETY: `sk` is live.
        unsafe { bindings::sk_write_state(self.sk, state) };
    }

    /// The socket's state (`sk_state`).
    pub fn sk_state(&self) -> u8 {
        // SAFETY: `sk` is live.
        unsafe { bindings::sk_read_state(self.sk) }
    }

    /// Takes over the `SOL_SOCKET` settings of `from`, the connection this socket stands for:
    /// time-outs, mark, priority, `SO_RCVLOWAT`, `SO_BINDTODEVICE`, the pending error, buffer
    /// sizes the user set, `SO_KEEPALIVE`, `SO_LINGER`, `SO_OOBINLINE` and `SO_DEBUG` (the
    /// settings the C implementation of SMC copies to an accepted socket).
    pub fn inherit_sol_socket(&self, from: &super::socket::KernelSocket) {
        // SAFETY: Both sockets are live; the helper only copies plain fields.
        unsafe { bindings::sk_copy_sol_socket(self.sk, from.sk()) };
    }

    /// The time a blocking send (`send`) or receive waits (`SO_SNDTIMEO`/`SO_RCVTIMEO`) in
    /// jiffies, 0 for a non-blocking call, `MAX_SCHEDULE_TIMEOUT` for no limit.
    pub fn timeo(&self, send: bool, nonblock: bool) -> isize {
        // SAFETY: `sk` is live; the helper reads the fields.
        unsafe { bindings::sk_timeo(self.sk, send, nonblock) as isize }
    }

    /// The socket's send (`send`) or receive buffer size (`sk_sndbuf`/`sk_rcvbuf`, which
    /// `SO_SNDBUF`/`SO_RCVBUF` set to twice the value asked for).
    pub fn bufsize(&self, send: bool) -> i32 {
        // SAFETY: `sk` is live; the helper reads the field with `READ_ONCE()`.
        unsafe { bindings::sk_read_bufsize(self.sk, send) }
    }

    /// The error a stream send returns for `err`, as TCP's: `EPIPE` also raises `SIGPIPE`
    /// at the caller unless `flags` has `MSG_NOSIGNAL` (`sk_stream_error()`).
    pub fn stream_error(&self, flags: u32, err: Error) -> Error {
        // SAFETY: `sk` is live; called from the socket's own `sendmsg`, in the sender's task.
        let e = unsafe { bindings::sk_stream_error(self.sk, flags as i32, err.to_errno()) };
        Error::from_errno(e)
    }

    /// The socket's send (`send`) or receive buffer size if the application set it
    /// (`SO_SNDBUF`/`SO_RCVBUF`: `sk_userlocks` says so), `None` while it is the default.
    pub fn bufsize_set(&self, send: bool) -> Option<i32> {
        // SAFETY: `sk` is live; the helper reads the field with `READ_ONCE()`.
        let locked = unsafe { bindings::sk_bufsize_locked(self.sk, send) };
        locked.then(|| self.bufsize(send))
    }

    /// Sets the socket's pending error (what `SO_ERROR` reports), a positive errno or 0.
    pub fn set_error(&self, err: i32) {
        // SAFETY: `sk` is live.
        unsafe { bindings::sk_write_err(self.sk, err) };
    }

    /// Applies a `SOL_SOCKET` option to this socket's own `struct sock` (for families with
    /// [`Family::CUSTOM_SOL_SOCKET`], which the socket layer leaves them to).
    pub fn set_sol_socket(&self, name: i32, val: &OptIn<'_>) -> Result {
        val.set_on(self.sock, name)
    }
}

/// Where a family's per-socket state sits: after the `struct sock`, aligned; for a family
/// with an IP protocol after `struct inet_sock` and `struct ipv6_pinfo`.
///
/// Object sizes and `struct sock` fields come from the C compiler's view of the structure
/// (`SOCK_SIZE`, C helpers), not from bindgen's. Bindgen's layout of `struct sock` cannot be
/// trusted on this configuration: a store to `sk_destruct` through it was seen to land on C's
/// `sk_peer_cred`. So no Rust code here touches a `struct sock` field directly.
const fn state_offset<F: Family>() -> usize {
    let base = if F::INET.is_some() { INET_END } else { bindings::SOCK_SIZE };
    let align = core::mem::align_of::<F::Sock>();
    base.div_ceil(align) * align
}

/// Where `struct ipv6_pinfo` sits in the sockets of a family with an IP protocol (what
/// `inet6_create()` finds through `proto.ipv6_pinfo_offset`).
const IPV6_PINFO_OFFSET: usize =
    bindings::INET_SOCK_SIZE.div_ceil(bindings::IPV6_PINFO_ALIGN) * bindings::IPV6_PINFO_ALIGN;

/// The end of the IP structures in the sockets of a family with an IP protocol.
const INET_END: usize = IPV6_PINFO_OFFSET + bindings::IPV6_PINFO_SIZE;

/// The size of the objects of family `F`.
const fn obj_size<F: Family>() -> usize {
    state_offset::<F>() + core::mem::size_of::<F::Sock>()
}

// `struct socket` fields are read and written from Rust: bindgen must agree with C on them.
const _: () = {
    use core::mem::offset_of;
    assert!(offset_of!(bindings::socket, type_) == bindings::SOCKET_TYPE_OFFSET);
    assert!(offset_of!(bindings::socket, sk) == bindings::SOCKET_SK_OFFSET);
    assert!(offset_of!(bindings::socket, ops) == bindings::SOCKET_OPS_OFFSET);
};

// So are the fields of `struct proto` and `struct inet_protosw` that are set from Rust.
const _: () = {
    use bindings::{inet_protosw, proto};
    use core::mem::offset_of;
    assert!(offset_of!(proto, name) == bindings::PROTO_NAME_OFFSET);
    assert!(offset_of!(proto, owner) == bindings::PROTO_OWNER_OFFSET);
    assert!(offset_of!(proto, obj_size) == bindings::PROTO_OBJ_SIZE_OFFSET);
    assert!(offset_of!(proto, init) == bindings::PROTO_INIT_OFFSET);
    assert!(offset_of!(proto, hash) == bindings::PROTO_HASH_OFFSET);
    assert!(offset_of!(proto, unhash) == bindings::PROTO_UNHASH_OFFSET);
    assert!(offset_of!(proto, ipv6_pinfo_offset) == bindings::PROTO_IPV6_PINFO_OFFSET_OFFSET);
    assert!(offset_of!(inet_protosw, type_) == bindings::INET_PROTOSW_TYPE_OFFSET);
    assert!(offset_of!(inet_protosw, protocol) == bindings::INET_PROTOSW_PROTOCOL_OFFSET);
    assert!(offset_of!(inet_protosw, prot) == bindings::INET_PROTOSW_PROT_OFFSET);
    assert!(offset_of!(inet_protosw, ops) == bindings::INET_PROTOSW_OPS_OFFSET);
    assert!(offset_of!(inet_protosw, flags) == bindings::INET_PROTOSW_FLAGS_OFFSET);
};

/// Returns the per-socket state slot of `sk`.
///
/// # Safety
///
/// `sk` must be a `struct sock` allocated for family `F` (sized by `proto.obj_size`).
unsafe fn state_ptr<F: Family>(sk: *mut bindings::sock) -> *mut F::Sock {
    // SAFETY: Per the safety requirements the object extends past `state_offset()` by
    // `size_of::<F::Sock>()` bytes.
    unsafe { sk.cast::<u8>().add(state_offset::<F>()).cast() }
}

/// The registration currently live for each address family (`NPROTO` of them), so the
/// callbacks, which get no context pointer from the socket layer, can find their tables.
static REGISTERED: [AtomicPtr<Tables>; bindings::NPROTO as usize] =
    [const { AtomicPtr::new(core::ptr::null_mut()) }; bindings::NPROTO as usize];

/// The C tables of one registered family.
#[pin_data]
struct Tables {
    #[pin]
    proto: Opaque<bindings::proto>,
    #[pin]
    family: Opaque<bindings::net_proto_family>,
    #[pin]
    ops: Opaque<bindings::proto_ops>,
    /// The family's IP protocol over IPv4 (registered only with [`Family::INET`]).
    #[pin]
    inet: InetTables,
    /// Over IPv6.
    #[pin]
    inet6: InetTables,
    /// The family's sockets, per table ("family::socks": taken in process context only, by
    /// socket creation and release and by [`sockets`]; nothing is called under it).
    #[pin]
    socks: SpinLockIrq<SockLists>,
}

/// The most socket tables a family may keep.
pub const MAX_SOCK_TABLES: usize = 2;

/// The heads of a family's socket tables: lists of `struct sock` linked through their
/// `sk_node` (as `sk_add_node()` links them), each holding a reference on its socket.
struct SockLists {
    heads: [bindings::hlist_head; MAX_SOCK_TABLES],
}

// SAFETY: The lists are only touched under the lock that holds them; the sockets on them
// are reference counted and may be used from any thread.
unsafe impl Send for SockLists {}

/// The C tables of a family's IP protocol in one IP family.
#[pin_data]
struct InetTables {
    #[pin]
    proto: Opaque<bindings::proto>,
    #[pin]
    ops: Opaque<bindings::proto_ops>,
    #[pin]
    sw: Opaque<bindings::inet_protosw>,
}

/// The registration of a protocol family with the socket layer.
///
/// While it lives, `socket(F::FAMILY, ..)` creates sockets of family `F`, and so does
/// `socket(AF_INET | AF_INET6, ..)` with the family's IP protocol ([`Family::INET`]).
/// Dropping it unregisters the family; sockets that still exist keep the owning module loaded.
///
/// # Invariants
///
/// - `tables.proto` is registered with `proto_register()` and `tables.family` with
///   `sock_register()`; `REGISTERED[F::FAMILY]` points to `tables`.
/// - If `F::INET` is set, `tables.inet.proto` and `tables.inet6.proto` are registered with
///   `proto_register()`, `tables.inet.sw` with `inet_register_protosw()` and
///   `tables.inet6.sw` with `inet6_register_protosw()`.
/// - `F::FAMILY < NPROTO`.
#[pin_data(PinnedDrop)]
pub struct Registration<F: Family> {
    #[pin]
    tables: Tables,
    #[pin]
    _pin: PhantomPinned,
    _family: core::marker::PhantomData<F>,
}

// SAFETY: The registration is only touched at creation and drop; the C tables it holds are
// read-only once registered.
unsafe impl<F: Family> Send for Registration<F> {}

// SAFETY: See above: no `&self` method mutates anything.
unsafe impl<F: Family> Sync for Registration<F> {}

impl<F: Family> Registration<F> {
    /// Registers family `F`, owned by `module`.
    ///
    /// Fails with `EEXIST` when another protocol already owns the address family (for
    /// example the kernel's C implementation of it).
    pub fn new(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            tables <- Tables::new::<F>(module),
            _pin: PhantomPinned,
            _family: core::marker::PhantomData,
        })
    }
}

/// Fills `p` as the `struct proto` of family `F` named `name`.
///
/// # Safety
///
/// `p` is valid for writes.
unsafe fn init_proto<F: Family>(
    p: *mut bindings::proto,
    name: &CStr,
    module: &'static ThisModule,
    inet: bool,
) -> Result {
    let name = name.to_bytes_with_nul();
    // SAFETY: `p` is valid for writes (function safety requirements); all-zeroes is a valid
    // `struct proto`.
    unsafe {
        p.write_bytes(0, 1);
        let dst = &mut (*p).name;
        if name.len() > dst.len() {
            return Err(EINVAL);
        }
        for (d, s) in dst.iter_mut().zip(name) {
            *d = *s as _;
        }
        (*p).owner = module.as_ptr();
        (*p).obj_size = obj_size::<F>() as _;
        if inet {
            // `inet_create()` calls `init` once the socket is an IP socket; releases after a
            // failure unhash it (it never is hashed).
            (*p).init = Some(inet_init_callback::<F>);
            (*p).hash = Some(hash_callback);
            (*p).unhash = Some(unhash_callback::<F>);
            (*p).ipv6_pinfo_offset = IPV6_PINFO_OFFSET as _;
        }
    }
    Ok(())
}

/// Fills `p` as the `struct proto_ops` of family `F` for sockets of address family `af`.
///
/// # Safety
///
/// `p` is valid for writes.
unsafe fn init_ops<F: Family>(p: *mut bindings::proto_ops, af: i32, module: &'static ThisModule) {
    // SAFETY: `p` is valid for writes; all-zeroes is a valid `proto_ops`, and the `sock_no_*()`
    // functions have exactly the signatures of the slots they fill.
    unsafe {
        p.write_bytes(0, 1);
        (*p).family = af;
        (*p).owner = module.as_ptr();
        (*p).release = Some(release_callback::<F>);
        (*p).bind = Some(if F::HAS_BIND { bind_callback::<F> } else { bindings::sock_no_bind });
        (*p).connect =
            Some(if F::HAS_CONNECT { connect_callback::<F> } else { bindings::sock_no_connect });
        (*p).socketpair = Some(bindings::sock_no_socketpair);
        (*p).accept =
            Some(if F::HAS_ACCEPT { accept_callback::<F> } else { bindings::sock_no_accept });
        (*p).getname =
            Some(if F::HAS_GETNAME { getname_callback::<F> } else { bindings::sock_no_getname });
        (*p).poll = F::HAS_POLL.then_some(poll_callback::<F> as _);
        (*p).ioctl = F::HAS_IOCTL.then_some(ioctl_callback::<F> as _);
        (*p).listen =
            Some(if F::HAS_LISTEN { listen_callback::<F> } else { bindings::sock_no_listen });
        (*p).shutdown = Some(if F::HAS_SHUTDOWN {
            shutdown_callback::<F>
        } else {
            bindings::sock_no_shutdown
        });
        (*p).setsockopt = F::HAS_SETSOCKOPT.then_some(setsockopt_callback::<F> as _);
        (*p).getsockopt = F::HAS_GETSOCKOPT.then_some(getsockopt_callback::<F> as _);
        (*p).sendmsg =
            Some(if F::HAS_SENDMSG { sendmsg_callback::<F> } else { bindings::sock_no_sendmsg });
        (*p).recvmsg =
            Some(if F::HAS_RECVMSG { recvmsg_callback::<F> } else { bindings::sock_no_recvmsg });
        (*p).mmap = Some(bindings::sock_no_mmap);
        // Without `splice_read`, splice(2) from the socket copies through `recvmsg`.
        (*p).splice_eof = F::HAS_SPLICE_EOF.then_some(splice_eof_callback::<F> as _);
    }
}

impl InetTables {
    fn new<F: Family>(module: &'static ThisModule, af: u32) -> impl PinInit<Self, Error> {
        let (name, ty, protocol) = match &F::INET {
            Some(i) => (if af == bindings::AF_INET6 { i.name6 } else { i.name }, i.ty, i.protocol),
            None => (F::NAME, SockType::Stream, 0),
        };
        try_pin_init!(&this in Self {
            // SAFETY: `p` is valid for writes.
            proto <- Opaque::try_ffi_init(move |p| unsafe { init_proto::<F>(p, name, module, true) }),
            ops <- Opaque::try_ffi_init(move |p| {
                // SAFETY: `p` is valid for writes.
                unsafe { init_ops::<F>(p, af as i32, module) };
                Ok::<(), Error>(())
            }),
            sw <- Opaque::try_ffi_init(move |p: *mut bindings::inet_protosw| {
                let this: *mut Self = this.as_ptr();
                // SAFETY: `p` is valid for writes; all-zeroes is a valid `inet_protosw`. The
                // `proto` and `ops` it points to are pinned beside it.
                unsafe {
                    p.write_bytes(0, 1);
                    (*p).type_ = ty.to_raw() as _;
                    (*p).protocol = protocol;
                    (*p).prot = (*this).proto.get();
                    (*p).ops = (*this).ops.get();
                }
                Ok::<(), Error>(())
            }),
        })
    }

    /// Registers the protocol with the IP family `af`.
    ///
    /// # Safety
    ///
    /// The tables are initialised and stay pinned until [`InetTables::unregister`].
    unsafe fn register(&self, af: u32) -> Result {
        // SAFETY: `proto` is initialised and pinned. `inet_create()` wants a slab for it.
        to_result(unsafe { bindings::proto_register(self.proto.get(), 1) })?;
        let ret = if af == bindings::AF_INET6 {
            // SAFETY: `sw` is initialised and pinned, and points to the registered `proto`.
            unsafe { bindings::inet6_register_protosw(self.sw.get()) }
        } else {
            // SAFETY: As above.
            unsafe { bindings::inet_register_protosw(self.sw.get()) };
            0
        };
        if ret != 0 {
            // SAFETY: Registered above, and no socket can use it.
            unsafe { bindings::proto_unregister(self.proto.get()) };
        }
        to_result(ret)
    }

    /// Unregisters the protocol from the IP family `af`.
    ///
    /// # Safety
    ///
    /// [`InetTables::register`] succeeded for `af`; the protocol's sockets are all gone or
    /// keep the module (and so the tables) alive.
    unsafe fn unregister(&self, af: u32) {
        // SAFETY: Registered (function safety requirements); both wait (RCU) until no
        // `socket(2)` can reach the protocol any more.
        unsafe {
            if af == bindings::AF_INET6 {
                bindings::inet6_unregister_protosw(self.sw.get());
            } else {
                bindings::inet_unregister_protosw(self.sw.get());
            }
            bindings::proto_unregister(self.proto.get());
        }
    }
}

impl Tables {
    fn new<F: Family>(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        let af = usize::from(F::FAMILY);
        try_pin_init!(&this in Self {
            // SAFETY: `p` is valid for writes.
            proto <- Opaque::try_ffi_init(move |p| unsafe { init_proto::<F>(p, F::NAME, module, false) }),
            family <- Opaque::try_ffi_init(move |p: *mut bindings::net_proto_family| {
                if af >= bindings::NPROTO as usize {
                    return Err(EINVAL);
                }
                // SAFETY: `p` is valid for writes; all-zeroes is a valid `net_proto_family`.
                unsafe {
                    p.write_bytes(0, 1);
                    (*p).family = af as i32;
                    (*p).create = Some(create_callback::<F>);
                    (*p).owner = module.as_ptr();
                }
                Ok(())
            }),
            ops <- Opaque::try_ffi_init(move |p| {
                // SAFETY: `p` is valid for writes.
                unsafe { init_ops::<F>(p, af as i32, module) };
                Ok::<(), Error>(())
            }),
            inet <- InetTables::new::<F>(module, bindings::AF_INET),
            inet6 <- InetTables::new::<F>(module, bindings::AF_INET6),
            socks <- new_spinlock_irq!(
                SockLists { heads: [bindings::hlist_head { first: core::ptr::null_mut() }; MAX_SOCK_TABLES] },
                "family::socks"
            ),
            _: {
                let tables: *mut Tables = this.as_ptr();
                // SAFETY: `proto` is initialised; it stays pinned until `PinnedDrop`
                // unregisters it.
                to_result(unsafe { bindings::proto_register((*tables).proto.get(), 0) })?;
                // Publish the tables before `sock_register()` makes `create` reachable. The
                // slot is only ever claimed when empty, so a second Rust registration of the
                // same family can never redirect the first one's sockets.
                if REGISTERED[af]
                    .compare_exchange(
                        core::ptr::null_mut(),
                        tables,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    )
                    .is_err()
                {
                    // SAFETY: Registered above, and no socket can use it.
                    unsafe { bindings::proto_unregister((*tables).proto.get()) };
                    return Err(EEXIST);
                }
                // SAFETY: `family` is initialised and stays pinned until `PinnedDrop`.
                let mut ret = unsafe { bindings::sock_register((*tables).family.get()) };
                // The IP protocol only once the family is this module's: the IP families
                // let two protocols register the same number, the last one winning.
                if ret == 0 && F::INET.is_some() {
                    // SAFETY: The tables are initialised and stay pinned until `PinnedDrop`.
                    ret = match unsafe { (*tables).inet.register(bindings::AF_INET) } {
                        Ok(()) => {
                            // SAFETY: As above.
                            let r = unsafe { (*tables).inet6.register(bindings::AF_INET6) };
                            if r.is_err() {
                                // SAFETY: Registered just above; no socket exists yet.
                                unsafe { (*tables).inet.unregister(bindings::AF_INET) };
                            }
                            r.err().map_or(0, |e| e.to_errno())
                        }
                        Err(e) => e.to_errno(),
                    };
                    if ret != 0 {
                        // SAFETY: Registered above.
                        unsafe { bindings::sock_unregister(af as i32) };
                    }
                }
                if ret != 0 {
                    REGISTERED[af].store(core::ptr::null_mut(), Ordering::Release);
                    // SAFETY: Registered above, and no socket can use it.
                    unsafe { bindings::proto_unregister((*tables).proto.get()) };
                    return Err(Error::from_errno(ret));
                }
            },
        })
    }
}

#[pinned_drop]
impl<F: Family> PinnedDrop for Registration<F> {
    fn drop(self: Pin<&mut Self>) {
        let family = usize::from(F::FAMILY);
        if F::INET.is_some() {
            // SAFETY: Registered by `new` (type invariants); sockets still alive hold a
            // reference on the owning module, so this only runs once they are all gone.
            unsafe {
                self.tables.inet6.unregister(bindings::AF_INET6);
                self.tables.inet.unregister(bindings::AF_INET);
            }
        }
        // SAFETY: By the type invariants the family is registered; `sock_unregister()` waits
        // (RCU) until no `socket(2)` can reach `create_callback` any more.
        unsafe { bindings::sock_unregister(family as i32) };
        REGISTERED[family].store(core::ptr::null_mut(), Ordering::Release);
        // SAFETY: Registered by `new`. Sockets still alive hold a reference on the owning
        // module, so this only runs once they are all gone.
        unsafe { bindings::proto_unregister(self.tables.proto.get()) };
    }
}

/// Allocates the `struct sock` of family `F` for `sock`, with the state `init` builds, and
/// attaches it. The caller has set `sock`'s `ops`.
///
/// # Safety
///
/// `net` and `sock` are live; `sock` has no `sk`; `tables` are `F`'s registered tables.
unsafe fn attach_sk<F: Family>(
    tables: *mut Tables,
    net: *mut bindings::net,
    sock: *mut bindings::socket,
    protocol: i32,
    kern: i32,
    init: impl PinInit<F::Sock, Error>,
) -> Result {
    // SAFETY: `net` is live; `tables` is registered and outlives every socket of the family
    // (its owner module stays loaded while any socket exists).
    let sk = unsafe {
        bindings::sk_alloc(net, i32::from(F::FAMILY), bindings::GFP_KERNEL, (*tables).proto.get(), kern)
    };
    if sk.is_null() {
        return Err(ENOMEM);
    }
    // Objects come from kmalloc, aligned to at least `ARCH_KMALLOC_MINALIGN`.
    const { assert!(core::mem::align_of::<F::Sock>() <= bindings::ARCH_KMALLOC_MINALIGN) };
    // SAFETY: `sk_alloc()` sized the object by `proto.obj_size`; the state slot is
    // uninitialised, suitably aligned (above), and never moves.
    let res = unsafe { init.__init(state_ptr::<F>(sk)) };
    if let Err(e) = res {
        // SAFETY: `sk` came from `sk_alloc()` above and nothing else knows it.
        unsafe { bindings::sk_free(sk) };
        return Err(e);
    }
    // SAFETY: `sock` and `sk` are live.
    unsafe {
        bindings::sock_init_data(sock, sk);
        bindings::sk_set_protocol(sk, protocol as u16);
        bindings::sk_set_destruct(sk, Some(destruct_callback::<F>));
        if F::CUSTOM_SOL_SOCKET {
            bindings::socket_set_custom_sockopt(sock);
        }
        hash_sock::<F>(tables, sk);
    }
    Ok(())
}

/// `net_proto_family::create`.
///
/// # Safety
///
/// Called by the socket layer with a live `net`, and a `sock` without `sk` or `ops`.
unsafe extern "C" fn create_callback<F: Family>(
    net: *mut bindings::net,
    sock: *mut bindings::socket,
    protocol: i32,
    kern: i32,
) -> i32 {
    from_result(|| {
        let tables = REGISTERED[usize::from(F::FAMILY)].load(Ordering::Acquire);
        if tables.is_null() {
            return Err(EAFNOSUPPORT);
        }
        // SAFETY: `sock` is live (function safety requirements).
        let ty = SockType::from_raw(unsafe { (*sock).type_ } as i32);
        // SAFETY: `net` is live during the call.
        let init = F::create(unsafe { Net::from_raw(net) }, F::FAMILY, ty, protocol, kern != 0)?;
        // SAFETY: Per the function's safety requirements; the `ops` are registered for the
        // family.
        unsafe {
            (*sock).ops = (*tables).ops.get();
            attach_sk::<F>(tables, net, sock, protocol, kern, init)
        }?;
        Ok(0)
    })
}

/// `proto::init` of the family's IP protocol: builds the family's state of a socket
/// `inet_create()` or `inet6_create()` has just made.
///
/// # Safety
///
/// Called once for a new `sk` of one of `F`'s IP protocols, attached to its socket and
/// initialised as an IP socket, whose destructor is still the IP family's.
unsafe extern "C" fn inet_init_callback<F: Family>(sk: *mut bindings::sock) -> i32 {
    from_result(|| {
        // SAFETY: `sk` is live (function safety requirements).
        let (sock, family, ty, protocol, kern, net) = unsafe {
            (
                bindings::sk_read_socket(sk),
                bindings::sk_read_family(sk),
                bindings::sk_read_type(sk),
                bindings::sk_read_protocol(sk),
                bindings::sk_read_kern(sk),
                bindings::sock_net(sk),
            )
        };
        let ty = SockType::from_raw(ty.into());
        // SAFETY: A socket's namespace is live while it is.
        let init = F::create(unsafe { Net::from_raw(net) }, family, ty, protocol.into(), kern)?;
        // Objects come from the protocol's slab, aligned to at least `ARCH_SLAB_MINALIGN`.
        const { assert!(core::mem::align_of::<F::Sock>() <= bindings::ARCH_SLAB_MINALIGN) };
        // SAFETY: `sk_alloc()` sized the object by `proto.obj_size`; the state slot is
        // uninitialised, suitably aligned (above), and never moves. On failure the IP family
        // releases `sk` with its own destructor, which does not touch the slot.
        unsafe { init.__init(state_ptr::<F>(sk)) }?;
        // SAFETY: `sk` is live, its state built; `sock` is its socket (`sock_init_data()`).
        unsafe {
            bindings::sk_set_destruct(sk, Some(destruct_callback::<F>));
            if F::CUSTOM_SOL_SOCKET && !sock.is_null() {
                bindings::socket_set_custom_sockopt(sock);
            }
        }
        let tables = tables_of::<F>();
        if !tables.is_null() {
            // SAFETY: `sk` is live, its state built, on no table; `tables` are `F`'s.
            unsafe { hash_sock::<F>(tables, sk) };
        }
        Ok(0)
    })
}

/// `proto::hash` of a family's IP protocol: its sockets are in no IP lookup table.
unsafe extern "C" fn hash_callback(_sk: *mut bindings::sock) -> i32 {
    0
}

/// `proto::unhash` of a family's IP protocol: called by `sk_common_release()` when
/// `inet_create()` fails after the family's `init`; takes the socket off its table.
///
/// # Safety
///
/// `sk` is a live socket of one of `F`'s IP protocols.
unsafe extern "C" fn unhash_callback<F: Family>(sk: *mut bindings::sock) {
    // SAFETY: Per the function's safety requirements.
    unsafe { unhash_sock::<F>(sk) };
}

/// The registered tables of family `F` (null when `F` is not registered).
fn tables_of<F: Family>() -> *mut Tables {
    REGISTERED[usize::from(F::FAMILY)].load(Ordering::Acquire)
}

/// Puts `sk`, a new socket of family `F` with its state built, on its socket table.
///
/// # Safety
///
/// `sk` is live, not on a table, its state initialised; `tables` are `F`'s registered tables.
unsafe fn hash_sock<F: Family>(tables: *mut Tables, sk: *mut bindings::sock) {
    if F::SOCK_TABLES == 0 {
        return;
    }
    // SAFETY: The state is initialised (function safety requirements).
    let t = F::sock_table(unsafe { &*state_ptr::<F>(sk) }).min(F::SOCK_TABLES - 1);
    // SAFETY: `tables` outlive every socket of the family (function safety requirements).
    let mut lists = unsafe { (*tables).socks.lock() };
    if let Some(head) = lists.heads.get_mut(t) {
        // SAFETY: `sk` is live and on no list; `sk_add_node()` takes a reference for the
        // list, dropped by `unhash_sock`.
        unsafe { bindings::sk_add_node(sk, head) };
    }
}

/// Takes `sk`, a socket of family `F`, off its socket table if it is on one.
///
/// # Safety
///
/// `sk` is a live socket of family `F` (or of its IP protocols).
unsafe fn unhash_sock<F: Family>(sk: *mut bindings::sock) {
    let tables = tables_of::<F>();
    if F::SOCK_TABLES == 0 || tables.is_null() {
        return;
    }
    // SAFETY: The tables are registered and outlive the family's sockets.
    let lists = unsafe { (*tables).socks.lock() };
    // SAFETY: `sk` is live; under the lock its node is on one of `lists` or on none. Its
    // caller holds a reference of its own, so dropping the list's cannot free it.
    unsafe { bindings::sk_del_node_init(sk) };
    drop(lists);
}

/// A reference to a live socket of family `F`, from [`sockets`].
///
/// # Invariants
///
/// `sk` is a socket of family `F` (or of its IP protocols) with its state initialised, on
/// which this object holds a reference.
pub struct SockRef<F: Family> {
    sk: core::ptr::NonNull<bindings::sock>,
    _f: core::marker::PhantomData<F>,
}

// SAFETY: Socket references may be taken and dropped on any thread; the state is `Sync`.
unsafe impl<F: Family> Send for SockRef<F> {}
// SAFETY: See above; `&self` methods only read.
unsafe impl<F: Family> Sync for SockRef<F> {}

impl<F: Family> SockRef<F> {
    /// The family's state of the socket (alive for as long as any reference to the socket).
    pub fn state(&self) -> &F::Sock {
        // SAFETY: The state lives until the socket's destructor, which cannot run while this
        // reference is held (type invariants).
        unsafe { &*state_ptr::<F>(self.sk.as_ptr()) }
    }

    /// The socket's address family (`sk_family`): [`Family::FAMILY`], or `AF_INET`/`AF_INET6`
    /// for a socket of the family's IP protocol.
    pub fn family(&self) -> u16 {
        // SAFETY: `sk` is live (type invariants).
        unsafe { bindings::sk_read_family(self.sk.as_ptr()) }
    }

    /// The socket's protocol (`sk_protocol`).
    pub fn protocol(&self) -> u16 {
        // SAFETY: `sk` is live (type invariants).
        unsafe { bindings::sk_read_protocol(self.sk.as_ptr()) }
    }

    /// The socket's state (`sk_state`).
    pub fn sk_state(&self) -> u8 {
        // SAFETY: `sk` is live (type invariants).
        unsafe { bindings::sk_read_state(self.sk.as_ptr()) }
    }

    /// The directions shut down (`sk_shutdown`: `RCV_SHUTDOWN`, `SEND_SHUTDOWN`).
    pub fn shutdown(&self) -> u8 {
        // SAFETY: `sk` is live (type invariants).
        unsafe { bindings::sk_read_shutdown(self.sk.as_ptr()) }
    }

    /// The inode number of the socket's file (0 once closed).
    pub fn inode(&self) -> u64 {
        // SAFETY: `sk` is live (type invariants); `sock_i_ino()` copes with an orphan.
        unsafe { bindings::sk_read_ino(self.sk.as_ptr()) }
    }

    /// The socket's cookie as `inet_diag_sockid.idiag_cookie` has it (made on first use).
    pub fn cookie(&self) -> [u32; 2] {
        let mut c = [0u32; 2];
        // SAFETY: `sk` is live (type invariants); `c` has room for the two words.
        unsafe { bindings::sock_diag_save_cookie(self.sk.as_ptr(), c.as_mut_ptr()) };
        c
    }

    pub(crate) fn as_ptr(&self) -> *mut bindings::sock {
        self.sk.as_ptr()
    }
}

impl<F: Family> Drop for SockRef<F> {
    fn drop(&mut self) {
        // SAFETY: The reference is ours (type invariants). Dropping the last one frees the
        // socket in the caller's context, which is a process context: [`sockets`] is only
        // for process context.
        unsafe { bindings::sock_put(self.sk.as_ptr()) };
    }
}

/// Collects sockets of namespace `net` from table `table` of family `F` into `out`, as
/// many as its spare capacity holds (nothing is allocated), skipping the first `skip` of
/// them. Returns whether the table has more after the last one collected.
///
/// Tables list the newest socket first, so the positions of a resumed listing shift by the
/// sockets made in between (as with the C families' tables). Process context only: the
/// references in `out` may be the last ones when dropped.
pub fn sockets<F: Family>(net: &Net, table: usize, skip: usize, out: &mut KVec<SockRef<F>>) -> bool {
    let tables = tables_of::<F>();
    if tables.is_null() || table >= F::SOCK_TABLES {
        return false;
    }
    // SAFETY: Registered tables live until the registration is dropped, which its owner
    // only does once no caller of its module's code (like this one) is left.
    let lists = unsafe { (*tables).socks.lock() };
    let Some(head) = lists.heads.get(table) else { return false };
    let mut seen = 0usize;
    // SAFETY: Under the lock the list is stable; every socket on it is live (the list holds
    // a reference).
    let mut sk = unsafe { bindings::sk_head(head) };
    while !sk.is_null() {
        // SAFETY: `sk` is live (above).
        let ours = unsafe { bindings::sock_net(sk) } == net.as_ptr();
        if ours {
            if seen >= skip {
                if out.len() == out.capacity() {
                    return true;
                }
                // SAFETY: `sk` is live; the new reference is the `SockRef`'s.
                unsafe { bindings::sock_hold(sk) };
                // INVARIANT: `sk` is a socket of `F` on its table, state built before it was
                // hashed; the reference was just taken.
                let r = SockRef { sk: unsafe { core::ptr::NonNull::new_unchecked(sk) }, _f: core::marker::PhantomData };
                // Cannot fail: there is spare capacity (checked above).
                if out.push(r, GFP_ATOMIC).is_err() {
                    return true;
                }
            }
            seen += 1;
        }
        // SAFETY: `sk` is on the list, which is stable under the lock.
        sk = unsafe { bindings::sk_next(sk) };
    }
    false
}

/// `proto_ops::accept`.
///
/// # Safety
///
/// Called by the socket layer for a socket of family `F`, with a new socket without `sk`
/// whose `ops` are `F`'s (the listener's).
unsafe extern "C" fn accept_callback<F: Family>(
    sock: *mut bindings::socket,
    newsock: *mut bindings::socket,
    arg: *mut bindings::proto_accept_arg,
) -> i32 {
    from_result(|| {
        let tables = REGISTERED[usize::from(F::FAMILY)].load(Ordering::Acquire);
        if tables.is_null() {
            return Err(EAFNOSUPPORT);
        }
        // SAFETY: `sock` is a live socket of family `F`.
        let s = unsafe { Sock::<F>::from_raw(sock) };
        // SAFETY: `arg` is live during the call.
        let (flags, kern) = unsafe { ((*arg).flags, i32::from((*arg).kern)) };
        let init = F::accept(&s, flags)?;
        // SAFETY: `s.sk` is live.
        let protocol = unsafe { bindings::sk_read_protocol(s.sk) };
        // SAFETY: Per the function's safety requirements; a socket's namespace is live.
        unsafe {
            attach_sk::<F>(tables, bindings::sock_net(s.sk), newsock, protocol.into(), kern, init)?;
            bindings::socket_set_connected(newsock);
        }
        // SAFETY: `newsock` now has its `sk` attached, with the state `init` built.
        let new = unsafe { Sock::<F>::from_raw(newsock) };
        F::accepted(&s, &new);
        Ok(0)
    })
}

/// Runs `f` on socket `sock` of family `F`.
///
/// # Safety
///
/// `sock` is a live socket of family `F` with its `sk` attached, for the duration of the call.
unsafe fn with_sock<F: Family, R>(sock: *mut bindings::socket, f: impl FnOnce(&Sock<F>) -> R) -> R {
    // SAFETY: Per the function's safety requirements.
    f(&unsafe { Sock::<F>::from_raw(sock) })
}

/// Converts a count for a C socket call (which returns `int`).
fn ret_count(r: Result<usize>) -> i32 {
    match r {
        Ok(n) => n.min(i32::MAX as usize) as i32,
        Err(e) => e.to_errno(),
    }
}

// The callbacks below are the `proto_ops` of family `F`; the socket layer calls them for a live
// socket of the family, with its `sk` attached (it only detaches it in `release`), and with
// arguments valid for the call.

unsafe extern "C" fn bind_callback<F: Family>(
    sock: *mut bindings::socket,
    addr: *mut bindings::sockaddr_unsized,
    len: i32,
) -> i32 {
    // SAFETY: See above: `addr` is a kernel copy of `len` bytes.
    unsafe { with_sock::<F, _>(sock, |s| from_result(|| F::bind(s, &SockAddr::from_raw(addr, len)).map(|()| 0))) }
}

unsafe extern "C" fn connect_callback<F: Family>(
    sock: *mut bindings::socket,
    addr: *mut bindings::sockaddr_unsized,
    len: i32,
    flags: i32,
) -> i32 {
    // SAFETY: See above.
    unsafe {
        with_sock::<F, _>(sock, |s| {
            from_result(|| F::connect(s, &SockAddr::from_raw(addr, len), flags).map(|()| 0))
        })
    }
}

unsafe extern "C" fn listen_callback<F: Family>(sock: *mut bindings::socket, backlog: i32) -> i32 {
    // SAFETY: See above.
    unsafe { with_sock::<F, _>(sock, |s| from_result(|| F::listen(s, backlog).map(|()| 0))) }
}

unsafe extern "C" fn getname_callback<F: Family>(
    sock: *mut bindings::socket,
    addr: *mut bindings::sockaddr,
    peer: i32,
) -> i32 {
    // SAFETY: See above: `addr` holds a `sockaddr_storage`.
    unsafe {
        with_sock::<F, _>(sock, |s| from_result(|| F::getname(s, &mut AddrOut::from_raw(addr), peer != 0)))
    }
}

unsafe extern "C" fn poll_callback<F: Family>(
    file: *mut bindings::file,
    sock: *mut bindings::socket,
    wait: *mut bindings::poll_table_struct,
) -> bindings::__poll_t {
    // SAFETY: See above.
    unsafe { with_sock::<F, _>(sock, |s| F::poll(s, &PollArgs::from_raw(file, wait))) }
}

unsafe extern "C" fn ioctl_callback<F: Family>(
    sock: *mut bindings::socket,
    cmd: u32,
    arg: usize,
) -> i32 {
    // SAFETY: See above.
    unsafe { with_sock::<F, _>(sock, |s| from_result(|| F::ioctl(s, cmd, arg))) }
}

unsafe extern "C" fn shutdown_callback<F: Family>(sock: *mut bindings::socket, how: i32) -> i32 {
    // SAFETY: See above.
    unsafe { with_sock::<F, _>(sock, |s| from_result(|| F::shutdown(s, how).map(|()| 0))) }
}

unsafe extern "C" fn setsockopt_callback<F: Family>(
    sock: *mut bindings::socket,
    level: i32,
    name: i32,
    val: bindings::sockptr_t,
    len: u32,
) -> i32 {
    // SAFETY: See above: `val` holds `len` bytes.
    unsafe {
        with_sock::<F, _>(sock, |s| {
            from_result(|| F::setsockopt(s, level, name, &OptIn::from_raw(val, len)).map(|()| 0))
        })
    }
}

unsafe extern "C" fn getsockopt_callback<F: Family>(
    sock: *mut bindings::socket,
    level: i32,
    name: i32,
    val: *mut crate::ffi::c_char,
    len: *mut i32,
) -> i32 {
    // SAFETY: See above: `val` and `len` are the caller's user pointers.
    unsafe {
        with_sock::<F, _>(sock, |s| {
            from_result(|| F::getsockopt(s, level, name, &OptOut::from_raw(val.cast(), len)).map(|()| 0))
        })
    }
}

unsafe extern "C" fn sendmsg_callback<F: Family>(
    sock: *mut bindings::socket,
    msg: *mut bindings::msghdr,
    len: usize,
) -> i32 {
    // SAFETY: See above: the message is ours for the call.
    unsafe { with_sock::<F, _>(sock, |s| ret_count(F::sendmsg(s, &mut MsgHdr::from_raw(msg), len))) }
}

unsafe extern "C" fn recvmsg_callback<F: Family>(
    sock: *mut bindings::socket,
    msg: *mut bindings::msghdr,
    len: usize,
    flags: i32,
) -> i32 {
    // SAFETY: See above.
    unsafe {
        with_sock::<F, _>(sock, |s| ret_count(F::recvmsg(s, &mut MsgHdr::from_raw(msg), len, flags)))
    }
}

unsafe extern "C" fn splice_eof_callback<F: Family>(sock: *mut bindings::socket) {
    // SAFETY: See above.
    unsafe { with_sock::<F, _>(sock, |s| F::splice_eof(s)) }
}

/// `sock::sk_destruct`: drops the per-socket state when the last reference goes.
///
/// # Safety
///
/// Called once, by `__sk_destruct()`, for a `struct sock` created by `create_callback::<F>`.
unsafe extern "C" fn destruct_callback<F: Family>(sk: *mut bindings::sock) {
    // SAFETY: The state was initialised by `create_callback` (which only installs this
    // destructor once it was) and nothing uses it any more.
    unsafe { core::ptr::drop_in_place(state_ptr::<F>(sk)) };
}

/// `proto_ops::release`: detaches the `struct sock` from the closing socket.
///
/// # Safety
///
/// Called by the socket layer for a socket of family `F`.
unsafe extern "C" fn release_callback<F: Family>(sock: *mut bindings::socket) -> i32 {
    // SAFETY: `sock` is live.
    let sk = unsafe { (*sock).sk };
    if sk.is_null() {
        return 0;
    }
    // Off its table first, so that a listing never sees it half released.
    // SAFETY: `sk` is a live socket of family `F`, attached to `sock`, which holds a
    // reference on it.
    unsafe { unhash_sock::<F>(sk) };
    // SAFETY: `sock` is a live socket of family `F` with `sk` attached.
    unsafe { with_sock::<F, _>(sock, |s| F::release(s)) };
    // SAFETY: `sk` is live and attached to `sock`; after orphaning it, our reference is dropped.
    unsafe {
        bindings::sock_orphan(sk);
        (*sock).sk = core::ptr::null_mut();
        bindings::sock_put(sk);
    }
    0
}
