// SPDX-License-Identifier: GPL-2.0

//! Socket diagnostics handlers (`NETLINK_SOCK_DIAG`) of a protocol family.
//!
//! `ss` and tools like it ask the kernel for a family's sockets with a `SOCK_DIAG_BY_FAMILY`
//! dump request on a `NETLINK_SOCK_DIAG` socket; the request goes to the handler registered
//! for its family (loading the module aliased `net-pf-16-proto-4-type-<family>` when none
//! is). A [`Handler`] here answers those dumps in Rust: the socket layer's dump machinery
//! calls [`DumpHandler::dump`] once per part, with a [`Dump`] to put messages into, until a
//! part adds nothing. Requests that are not dumps are ignored, as the C handlers ignore them.
//!
//! A family that keeps socket tables ([`super::family::Family::SOCK_TABLES`]) lists its
//! sockets with [`super::family::sockets`], which holds a reference on each socket it returns:
//! a socket closed during a dump is still safe to report.
//!
//! C header: [`include/linux/sock_diag.h`](srctree/include/linux/sock_diag.h)

use super::{
    family::{Family, SockRef},
    genl::Attrs,
    socket::Net,
};
use crate::{bindings, error::to_result, prelude::*, types::Opaque, ThisModule};
use core::sync::atomic::{AtomicPtr, Ordering};

pub use super::genl::NLM_F_MULTI;

/// How a family answers dumps.
pub trait DumpHandler: 'static {
    /// Puts the next part of a dump into `dump`. `Ok` or `EMSGSIZE` (the part is full) end
    /// the part: the dump goes on with another call until a part adds nothing; other errors
    /// end the dump with that error.
    fn dump(dump: &mut Dump<'_>) -> Result;
}

/// The owner of each family's handler, for the dumps it starts (netlink holds the module
/// while one runs).
static OWNERS: [AtomicPtr<bindings::module>; bindings::AF_MAX as usize] =
    [const { AtomicPtr::new(core::ptr::null_mut()) }; bindings::AF_MAX as usize];

/// A sock_diag handler of one address family, built in const context.
///
/// # Invariants
///
/// `inner` is a `sock_diag_handler` whose `dump` is the trampoline of one [`DumpHandler`].
#[repr(transparent)]
pub struct Handler {
    inner: Opaque<bindings::sock_diag_handler>,
}

// SAFETY: The handler is only read once built (by the socket layer and `register`).
unsafe impl Sync for Handler {}

impl Handler {
    /// The handler of address family `family` owned by `module`, answering with `H`.
    pub const fn const_new<H: DumpHandler>(module: &ThisModule, family: u8) -> Handler {
        if family as u32 >= bindings::AF_MAX {
            panic!("no such address family");
        }
        let mut h: bindings::sock_diag_handler = pin_init::zeroed();
        h.owner = module.as_ptr();
        h.family = family;
        h.dump = Some(request_callback::<H>);
        // INVARIANT: `dump` is `H`'s.
        Handler { inner: Opaque::new(h) }
    }

    /// Registers the handler; unregistered when the [`Registration`] drops. Fails with
    /// `EBUSY` if the family has a handler already (for example a C one).
    pub fn register(&'static self) -> Result<Registration> {
        let h = self.inner.get();
        // SAFETY: `h` is a valid handler (type invariant) that lives for ever.
        let (family, owner) = unsafe { (usize::from((*h).family), (*h).owner) };
        let slot = OWNERS.get(family).ok_or(EINVAL)?;
        slot.store(owner, Ordering::Release);
        // SAFETY: As above.
        to_result(unsafe { bindings::sock_diag_register(h) })?;
        Ok(Registration { handler: self })
    }
}

/// A registered [`Handler`].
///
/// # Invariants
///
/// `handler` is registered until `drop`.
pub struct Registration {
    handler: &'static Handler,
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: Registered (type invariant). Requests already past the lookup hold the
        // module, and so do running dumps (`netlink_dump_start()` takes it).
        unsafe { bindings::sock_diag_unregister(self.handler.inner.get()) };
    }
}

/// One part of a dump being answered.
///
/// # Invariants
///
/// `skb` and `cb` are the live arguments of a dump call started by a [`Handler`].
pub struct Dump<'a> {
    skb: &'a mut bindings::sk_buff,
    cb: &'a mut bindings::netlink_callback,
}

impl Dump<'_> {
    /// The namespace of the requesting socket.
    pub fn net(&self) -> &Net {
        let skb: *const bindings::sk_buff = &raw const *self.skb;
        // SAFETY: `skb` is the dump's buffer, owned by the requesting socket, which holds its
        // namespace for as long as the dump runs.
        unsafe { Net::from_raw(bindings::skb_sock_net(skb)) }
    }

    /// The request's payload (the family's request structure and its attributes).
    pub fn request(&self) -> &[u8] {
        let cb: *const bindings::netlink_callback = &raw const *self.cb;
        // SAFETY: `cb` is live (type invariant); its request was validated by the netlink core
        // to hold `nlmsg_len()` bytes after its header.
        unsafe {
            let len = usize::try_from(bindings::nlcb_len(cb)).unwrap_or(0);
            core::slice::from_raw_parts(bindings::nlcb_data(cb).cast::<u8>(), len)
        }
    }

    /// The dump's saved position `i` (0 to 5; 0 at the start of a dump).
    pub fn pos(&self, i: usize) -> i64 {
        super::genl::cb_pos(self.cb, i)
    }

    /// Saves position `i` for the next part.
    pub fn set_pos(&mut self, i: usize, v: i64) {
        super::genl::cb_set_pos(self.cb, i, v)
    }

    /// The user id owning `sk` as the requester's user namespace sees it.
    pub fn uid<F: Family>(&self, sk: &SockRef<F>) -> u32 {
        let cb: *const bindings::netlink_callback = &raw const *self.cb;
        // SAFETY: `sk` is live (a reference is held) and `cb` is the live dump.
        unsafe { bindings::sk_diag_uid(sk.as_ptr(), cb) }
    }

    /// Adds one message of the request's type, flagged [`NLM_F_MULTI`]: the fixed header `hdr`
    /// and the attributes `fill` puts. Fails with `EMSGSIZE` (and adds nothing) if it does
    /// not fit.
    pub fn message(&mut self, hdr: &[u8], fill: impl FnOnce(&mut Attrs<'_>) -> Result) -> Result {
        let skb: *mut bindings::sk_buff = &raw mut *self.skb;
        let cb: *const bindings::netlink_callback = &raw const *self.cb;
        let len = i32::try_from(hdr.len()).map_err(|_| EMSGSIZE)?;
        // SAFETY: `skb` and `cb` are live (type invariant).
        let nlh = unsafe { bindings::nlcb_msg_put(skb, cb, len, NLM_F_MULTI as i32) };
        if nlh.is_null() {
            return Err(EMSGSIZE);
        }
        // SAFETY: `nlmsg_put()` reserved `hdr.len()` bytes of payload after `nlh`.
        unsafe {
            core::ptr::copy_nonoverlapping(hdr.as_ptr(), bindings::nlmsg_data(nlh).cast(), hdr.len())
        };
        // SAFETY: `skb` is live with a message started in it.
        let mut attrs = unsafe { Attrs::from_skb(skb) };
        match fill(&mut attrs) {
            Ok(()) => {
                // SAFETY: `nlh` is the message just put into `skb`.
                unsafe { bindings::nlmsg_end(skb, nlh) };
                Ok(())
            }
            Err(e) => {
                // SAFETY: `nlh` is the message just put into `skb`; this removes it.
                unsafe { bindings::nlmsg_cancel(skb, nlh) };
                Err(e)
            }
        }
    }
}

/// `sock_diag_handler::dump`: starts a dump for a `SOCK_DIAG_BY_FAMILY` dump request.
///
/// # Safety
///
/// Called by the socket layer with a live request `skb` and its message `nlh`, for the
/// family of a [`Handler`] built with `H`.
unsafe extern "C" fn request_callback<H: DumpHandler>(
    skb: *mut bindings::sk_buff,
    nlh: *mut bindings::nlmsghdr,
) -> i32 {
    // SAFETY: `nlh` is live (caller); the family byte is the first of its payload, present
    // since the socket layer dispatched on it.
    let (ty, flags, family) = unsafe {
        ((*nlh).nlmsg_type, (*nlh).nlmsg_flags, *bindings::nlmsg_data(nlh).cast::<u8>())
    };
    if u32::from(ty) != bindings::SOCK_DIAG_BY_FAMILY || u32::from(flags) & bindings::NLM_F_DUMP == 0 {
        return 0;
    }
    let owner = OWNERS.get(usize::from(family)).map_or(core::ptr::null_mut(), |o| o.load(Ordering::Acquire));
    // SAFETY: `skb` and `nlh` are live (caller); `owner` owns `dump_callback::<H>` (the
    // handler's module) and netlink holds it while the dump runs. Buffers of 32 KiB, as the
    // C handlers ask for.
    unsafe { bindings::sock_diag_dump_start(skb, nlh, Some(dump_callback::<H>), owner, 32768) }
}

/// `netlink_dump_control::dump`.
///
/// # Safety
///
/// Called by the netlink core for a dump started by `request_callback::<H>`.
unsafe extern "C" fn dump_callback<H: DumpHandler>(
    skb: *mut bindings::sk_buff,
    cb: *mut bindings::netlink_callback,
) -> i32 {
    // SAFETY: Both are live and ours for the duration of the call (caller).
    let mut dump = Dump { skb: unsafe { &mut *skb }, cb: unsafe { &mut *cb } };
    let r = H::dump(&mut dump);
    let len = dump.skb.len as i32;
    match r {
        Ok(()) => len,
        Err(e) if e == EMSGSIZE => len,
        Err(e) => e.to_errno(),
    }
}
