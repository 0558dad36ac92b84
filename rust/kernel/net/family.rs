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
//! C header: [`include/linux/net.h`](srctree/include/linux/net.h),
//! [`include/net/sock.h`](srctree/include/net/sock.h).

use crate::{
    bindings,
    error::{from_result, to_result},
    prelude::*,
    str::CStr,
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
}

/// A socket protocol family implemented in Rust.
///
/// Socket calls the family does not implement fail with `EOPNOTSUPP`, as with the kernel's
/// `sock_no_*()` operations.
///
/// # Examples
///
/// ```
/// use kernel::net::family::{Family, SockType};
/// use kernel::prelude::*;
///
/// struct Example;
///
/// #[pin_data]
/// struct ExampleSock {
///     protocol: i32,
/// }
///
/// impl Family for Example {
///     const FAMILY: u16 = kernel::bindings::AF_SMC as u16;
///     const NAME: &'static CStr = c"EXAMPLE";
///     type Sock = ExampleSock;
///
///     fn create(
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
pub trait Family: Sized + 'static {
    /// The address family number (`AF_*`).
    const FAMILY: u16;

    /// The name of the protocol, as `/proc/net/protocols` shows it (at most 31 bytes).
    const NAME: &'static CStr;

    /// The state each socket of this family carries beside its `struct sock`.
    type Sock: Send + Sync;

    /// Called by `socket(2)`: validates the type and protocol and builds the per-socket state.
    fn create(ty: SockType, protocol: i32, kern: bool) -> Result<impl PinInit<Self::Sock, Error>>;
}

/// Where a family's per-socket state sits: after the `struct sock`, aligned.
///
/// Object sizes and `struct sock` fields come from the C compiler's view of the structure
/// (`SOCK_SIZE`, C helpers), not from bindgen's. Bindgen's layout of `struct sock` cannot be
/// trusted on this configuration: a store to `sk_destruct` through it was seen to land on C's
/// `sk_peer_cred`. So no Rust code here touches a `struct sock` field directly.
const fn state_offset<T>() -> usize {
    let align = core::mem::align_of::<T>();
    bindings::SOCK_SIZE.div_ceil(align) * align
}

// `struct socket` fields are read and written from Rust: bindgen must agree with C on them.
const _: () = {
    use core::mem::offset_of;
    assert!(offset_of!(bindings::socket, type_) == bindings::SOCKET_TYPE_OFFSET);
    assert!(offset_of!(bindings::socket, sk) == bindings::SOCKET_SK_OFFSET);
    assert!(offset_of!(bindings::socket, ops) == bindings::SOCKET_OPS_OFFSET);
};

/// Returns the per-socket state slot of `sk`.
///
/// # Safety
///
/// `sk` must be a `struct sock` allocated for family `F` (sized by `proto.obj_size`).
unsafe fn state_ptr<F: Family>(sk: *mut bindings::sock) -> *mut F::Sock {
    // SAFETY: Per the safety requirements the object extends past `state_offset()` by
    // `size_of::<F::Sock>()` bytes.
    unsafe { sk.cast::<u8>().add(state_offset::<F::Sock>()).cast() }
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
}

/// The registration of a protocol family with the socket layer.
///
/// While it lives, `socket(F::FAMILY, ..)` creates sockets of family `F`. Dropping it
/// unregisters the family; sockets that still exist keep the owning module loaded.
///
/// # Invariants
///
/// - `tables.proto` is registered with `proto_register()` and `tables.family` with
///   `sock_register()`; `REGISTERED[F::FAMILY]` points to `tables`.
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

impl Tables {
    fn new<F: Family>(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        let af = usize::from(F::FAMILY);
        try_pin_init!(&this in Self {
            proto <- Opaque::try_ffi_init(move |p: *mut bindings::proto| {
                // SAFETY: `p` is valid for writes; all-zeroes is a valid `struct proto`.
                unsafe { p.write_bytes(0, 1) };
                let name = F::NAME.to_bytes_with_nul();
                // SAFETY: `p` is valid; the name fits (checked), including its NUL.
                unsafe {
                    let dst = &mut (*p).name;
                    if name.len() > dst.len() {
                        return Err(EINVAL);
                    }
                    for (d, s) in dst.iter_mut().zip(name) {
                        *d = *s as _;
                    }
                    (*p).owner = module.as_ptr();
                    (*p).obj_size =
                        (state_offset::<F::Sock>() + core::mem::size_of::<F::Sock>()) as _;
                }
                Ok(())
            }),
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
            ops <- Opaque::try_ffi_init(move |p: *mut bindings::proto_ops| {
                // SAFETY: `p` is valid for writes; all-zeroes is a valid `proto_ops`, and the
                // `sock_no_*()` functions have exactly the signatures of the slots they fill.
                unsafe {
                    p.write_bytes(0, 1);
                    (*p).family = af as i32;
                    (*p).owner = module.as_ptr();
                    (*p).release = Some(release_callback::<F>);
                    (*p).bind = Some(bindings::sock_no_bind);
                    (*p).connect = Some(bindings::sock_no_connect);
                    (*p).socketpair = Some(bindings::sock_no_socketpair);
                    (*p).accept = Some(bindings::sock_no_accept);
                    (*p).getname = Some(bindings::sock_no_getname);
                    (*p).listen = Some(bindings::sock_no_listen);
                    (*p).shutdown = Some(bindings::sock_no_shutdown);
                    (*p).sendmsg = Some(bindings::sock_no_sendmsg);
                    (*p).recvmsg = Some(bindings::sock_no_recvmsg);
                    (*p).mmap = Some(bindings::sock_no_mmap);
                }
                Ok::<(), Error>(())
            }),
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
                let ret = unsafe { bindings::sock_register((*tables).family.get()) };
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
        // SAFETY: By the type invariants the family is registered; `sock_unregister()` waits
        // (RCU) until no `socket(2)` can reach `create_callback` any more.
        unsafe { bindings::sock_unregister(family as i32) };
        REGISTERED[family].store(core::ptr::null_mut(), Ordering::Release);
        // SAFETY: Registered by `new`. Sockets still alive hold a reference on the owning
        // module, so this only runs once they are all gone.
        unsafe { bindings::proto_unregister(self.tables.proto.get()) };
    }
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
        let init = F::create(ty, protocol, kern != 0)?;

        // SAFETY: `net` is live; `tables` is registered and outlives every socket of the family
        // (its owner module stays loaded while any socket exists).
        let sk = unsafe {
            bindings::sk_alloc(
                net,
                i32::from(F::FAMILY),
                bindings::GFP_KERNEL,
                (*tables).proto.get(),
                kern,
            )
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
        // SAFETY: `sock` and `sk` are live; `ops` is registered for the family.
        unsafe {
            (*sock).ops = (*tables).ops.get();
            bindings::sock_init_data(sock, sk);
            bindings::sk_set_protocol(sk, protocol as u16);
            bindings::sk_set_destruct(sk, Some(destruct_callback::<F>));
        }
        Ok(0)
    })
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
    // SAFETY: `sk` is live and attached to `sock`; after orphaning it, our reference is dropped.
    unsafe {
        bindings::sock_orphan(sk);
        (*sock).sk = core::ptr::null_mut();
        bindings::sock_put(sk);
    }
    0
}
