// SPDX-License-Identifier: GPL-2.0

//! The client side of DIBS devices: what a [`Client`] does with a device the DIBS layer gave
//! it.
//!
//! A [`DeviceUser`] is the client's hold on one device. While one lives, the device's
//! operations can be called through it: registering DMBs ([`DeviceUser::register_dmb`], giving
//! a [`Dmb`]), moving data into a peer's DMB ([`DeviceUser::move_data`]), attaching a peer's
//! DMB for direct writes ([`DeviceUser::attach_dmb`], giving a [`RemoteDmb`]).
//!
//! The device's removal waits for its users: the abstraction's `del_dev` callback first stops
//! handing out new ones, then runs [`Client::del_dev`], then waits until every `DeviceUser` of
//! the device (each `Dmb` and `RemoteDmb` holds one) is gone, and only then lets the DIBS layer
//! go on to remove the device. A client that keeps one past its `del_dev` stalls the removal
//! (and says so in the log) instead of calling into a driver that went away.
//!
//! The memory of a DMB is written by a peer, possibly another machine, at any time: it is only
//! ever copied as bytes ([`Dmb::read`]) or accessed as atomics ([`Dmb::atomic_u64`]), never
//! referenced as Rust data.
//!
//! [`Client`]: super::Client
//! [`Client::del_dev`]: super::Client::del_dev

use super::{Device, Gid};
use crate::{
    bindings,
    error::to_result,
    ffi::c_void,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{Atomic, AtomicType},
        Completion,
    },
};
use crate::{
    rbtree::{RBTree, RBTreeNode},
    static_lock_class,
    sync::{Arc, SpinLockIrq},
};

/// The lock name of `Presence::signals`.
static SIGNALS_NAME: &CStr = c"dibs::Presence::signals";
use core::{
    ptr::NonNull,
    sync::atomic::{AtomicPtr, AtomicUsize, Ordering},
};

/// What a DMB's signals are delivered to (see [`Dmb::on_signal`]).
pub trait DmbSignal: Send + Sync {
    /// The peer signalled the DMB (`dmbemask`: which signals). Called from the device's
    /// interrupt path, with the device's lock held and interrupts off: must not sleep, and
    /// should only hand the work on (queue a work item).
    fn signalled(&self, dmbemask: u16);
}

/// The `struct dibs_client` of the registered Rust client (see `ClientRegistration`), null
/// while none is registered.
pub(super) static CLIENT_RAW: AtomicPtr<bindings::dibs_client> = AtomicPtr::new(core::ptr::null_mut());

/// DMBs registered through [`DeviceUser::register_dmb`] and not unregistered yet, on all
/// devices: the Rust client must not unregister from the DIBS layer before they are gone (the
/// DIBS layer refuses with a warning and keeps calling the client).
pub(super) static LIVE_DMBS: AtomicUsize = AtomicUsize::new(0);

/// What the abstraction keeps for the Rust client per device, in `dibs_dev.priv[client id]`
/// from `add_dev` to `del_dev`.
#[pin_data]
pub(super) struct Presence {
    /// The device's [`DeviceUser`]s, plus one while the device is present (dropped at
    /// `del_dev`).
    users: AtomicUsize,
    /// Completed when `users` drops to zero.
    #[pin]
    idle: Completion,
    /// The signal handlers of the client's DMBs on this device, by DMB index. Taken with
    /// interrupts off: inside the device's lock on the signal path, alone elsewhere (nothing
    /// is called with it held).
    #[pin]
    signals: SpinLockIrq<RBTree<u32, Arc<dyn DmbSignal>>>,
}

impl Presence {
    pub(super) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            users: AtomicUsize::new(1),
            idle <- Completion::new(),
            // The name from a static, not a literal: this initialiser is instantiated in the
            // client's crate (through the generic `add_dev` callback), where a literal would be
            // another copy, and lockdep wants one name per class key.
            signals <- SpinLockIrq::new(RBTree::new(), SIGNALS_NAME, static_lock_class!()),
        })
    }

    /// Takes one more use; the caller holds one, or the device is present.
    fn get(&self) {
        self.users.fetch_add(1, Ordering::Relaxed);
    }

    /// Drops one use; the last one completes `idle`.
    fn put(&self) {
        if self.users.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.idle.complete_all();
        }
    }

    /// Delivers a signal of DMB `idx` to its handler; false if it has none.
    pub(super) fn signal(&self, idx: u32, dmbemask: u16) -> bool {
        match self.signals.lock().get(&idx) {
            Some(h) => {
                h.signalled(dmbemask);
                true
            }
            None => false,
        }
    }

    /// Drops the device's own use and waits until the users are gone.
    pub(super) fn retire_and_wait(&self, dev: &Device) {
        self.put();
        if self.users.load(Ordering::Acquire) != 0 {
            dev_info!(
                dev.as_dev(),
                "dibs: waiting for the client to let go of the device\n"
            );
        }
        self.idle.wait_for_completion();
    }
}

/// The registered Rust client's `struct dibs_client`, if one is registered.
fn client() -> Result<NonNull<bindings::dibs_client>> {
    NonNull::new(CLIENT_RAW.load(Ordering::Acquire)).ok_or(ENODEV)
}

/// A client's hold on a DIBS device: while it lives, the device's operations can be called,
/// and the device's removal waits for it.
///
/// # Invariants
///
/// `presence` is the live [`Presence`] of `dev` for the client `client`, on which this holds
/// one use; so `dev`'s operations table and driver stay valid, and `client` registered.
pub struct DeviceUser {
    dev: ARef<Device>,
    presence: NonNull<Presence>,
    client: NonNull<bindings::dibs_client>,
}

// SAFETY: The device's operations may be called from any thread; `Presence` is only used
// through atomics and a completion.
unsafe impl Send for DeviceUser {}
// SAFETY: See above; `&DeviceUser` only offers operations the DIBS contract lets run
// concurrently.
unsafe impl Sync for DeviceUser {}

impl Device {
    /// A hold on this device for the registered Rust client, if the device is present for it
    /// (between its `add_dev` and its `del_dev`); `ENODEV` otherwise.
    pub fn user(&self) -> Result<DeviceUser> {
        let client = client()?;
        // SAFETY: `client` is registered, and its `id` is set by `dibs_register_client()`.
        let id = usize::from(unsafe { client.as_ref().id });
        let presence = self.with_clients(|c| {
            // SAFETY: `priv_` is only written under this lock (see `set_presence()`); a
            // non-null entry of the Rust client is its live `Presence`, which `del_dev` frees
            // only after clearing the entry and waiting for the users.
            let p = unsafe { (*c.raw).priv_[id] }.cast::<Presence>();
            let p = NonNull::new(p)?;
            // SAFETY: Live, see above; the device is present, so it holds a use.
            unsafe { p.as_ref() }.get();
            Some(p)
        });
        let presence = presence.ok_or(ENODEV)?;
        // INVARIANT: One use taken above, on the device's live `Presence`.
        Ok(DeviceUser {
            dev: self.into(),
            presence,
            client,
        })
    }

    /// The Rust client's `Presence` for this device, read by a caller that holds the device's
    /// lock already.
    ///
    /// # Safety
    ///
    /// The caller holds `dibs_dev.lock` (the DIBS layer calls `handle_irq` with it held) for
    /// the lifetime of the returned reference.
    pub(super) unsafe fn presence_locked(&self) -> Option<&Presence> {
        // SAFETY: The callbacks run only while the client is registered.
        let id = usize::from(unsafe { client().ok()?.as_ref().id });
        // SAFETY: `priv_` is only written under the device's lock, which the caller holds; a
        // non-null entry is the live `Presence`, freed only after it is cleared under the
        // lock (see `del_dev_callback`).
        let p = unsafe { (*self.as_raw()).priv_[id] }.cast::<Presence>();
        // SAFETY: See above: live while the lock is held.
        NonNull::new(p).map(|p| unsafe { &*p.as_ptr() })
    }

    /// Sets (`Some`) or clears (`None`) the Rust client's `Presence` for this device; returns
    /// the one it replaces.
    pub(super) fn set_presence(&self, p: Option<NonNull<Presence>>) -> Option<NonNull<Presence>> {
        let id = usize::from(
            // SAFETY: The callbacks run only while the client is registered.
            unsafe { client().ok()?.as_ref().id },
        );
        self.with_clients(|c| {
            let new = p.map_or(core::ptr::null_mut(), |p| p.as_ptr().cast::<c_void>());
            // SAFETY: The lock is held; `id` is below `MAX_DIBS_CLIENTS`.
            let old = core::mem::replace(unsafe { &mut (*c.raw).priv_[id] }, new);
            NonNull::new(old.cast::<Presence>())
        })
    }
}

impl Clone for DeviceUser {
    fn clone(&self) -> Self {
        // SAFETY: Live while `self` holds a use (type invariant).
        unsafe { self.presence.as_ref() }.get();
        // INVARIANT: The use just taken.
        Self {
            dev: self.dev.clone(),
            presence: self.presence,
            client: self.client,
        }
    }
}

impl Drop for DeviceUser {
    fn drop(&mut self) {
        // SAFETY: Live while `self` holds a use (type invariant); this gives it back, and
        // nothing uses `presence` afterwards.
        unsafe { self.presence.as_ref() }.put();
    }
}

impl DeviceUser {
    /// The device.
    pub fn device(&self) -> &Device {
        &self.dev
    }

    fn raw(&self) -> *mut bindings::dibs_dev {
        self.dev.as_raw()
    }

    fn presence(&self) -> &Presence {
        // SAFETY: Live while `self` holds a use (type invariant).
        unsafe { self.presence.as_ref() }
    }

    /// The device's operations.
    fn ops(&self) -> &bindings::dibs_dev_ops {
        // SAFETY: `ops` is set before the device is added and points to a table that lives as
        // long as the driver, which stays while this user does (type invariant).
        unsafe { &*(*self.raw()).ops }
    }

    /// Registers a DMB of `len` bytes that only the device `rgid` may write into.
    pub fn register_dmb(&self, len: u32, rgid: &Gid) -> Result<Dmb> {
        let register = self.ops().register_dmb.ok_or(EOPNOTSUPP)?;
        let mut raw = bindings::dibs_dmb::default();
        raw.dmb_len = len;
        raw.rgid = rgid.to_raw();
        // SAFETY: The device is live with its driver (type invariant), `raw` is valid for the
        // call and `client` is registered.
        to_result(unsafe { register(self.raw(), &mut raw, self.client.as_ptr()) })?;
        let dmb = Dmb {
            user: self.clone(),
            raw,
        };
        LIVE_DMBS.fetch_add(1, Ordering::Relaxed);
        if dmb.raw.cpu_addr.is_null() || dmb.raw.dmb_len < len {
            // Dropping it unregisters it.
            return Err(EIO);
        }
        // INVARIANT: Registered by the device for this client, mapped at `cpu_addr`.
        Ok(dmb)
    }

    /// Copies `data` into the peer's DMB `token` (index `idx` on the peer's device) at
    /// `offset`, and signals the peer if `signal`.
    pub fn move_data(&self, token: u64, idx: u32, signal: bool, offset: u32, data: &[u8]) -> Result {
        let move_data = self.ops().move_data.ok_or(EOPNOTSUPP)?;
        let size = u32::try_from(data.len()).map_err(|_| EINVAL)?;
        // SAFETY: The device is live with its driver (type invariant); the driver only reads
        // `size` bytes from `data` (`move_data` takes a non-const pointer but copies from it).
        to_result(unsafe {
            move_data(
                self.raw(),
                token,
                idx,
                signal,
                offset,
                data.as_ptr().cast_mut().cast(),
                size,
            )
        })
    }

    /// Whether the device `rgid` can be reached through this device (on VLAN `vlan`).
    pub fn query_remote_gid(&self, rgid: &Gid, vlan: Option<u32>) -> Result {
        let query = self.ops().query_remote_gid.ok_or(EOPNOTSUPP)?;
        let raw = rgid.to_raw();
        // SAFETY: The device is live with its driver (type invariant); `raw` outlives the call.
        to_result(unsafe { query(self.raw(), &raw, u32::from(vlan.is_some()), vlan.unwrap_or(0)) })
    }

    /// Sends the software event `code` with `info` to the device `rgid` (the peer's client
    /// gets it as an [`super::Event`] of type `Software`), raising an interrupt there if
    /// `trigger_irq`. `EOPNOTSUPP` if the device has no such operation.
    pub fn signal_event(&self, rgid: &Gid, trigger_irq: bool, code: u32, info: u64) -> Result {
        let signal = self.ops().signal_event.ok_or(EOPNOTSUPP)?;
        let raw = rgid.to_raw();
        // SAFETY: The device is live with its driver (type invariant); `raw` outlives the call.
        to_result(unsafe { signal(self.raw(), &raw, u32::from(trigger_irq), code, info) })
    }

    /// Whether the device can map peers' DMBs for direct writes ([`DeviceUser::attach_dmb`]).
    pub fn supports_attach(&self) -> bool {
        let ops = self.ops();
        let (Some(supported), Some(_), Some(_)) =
            (ops.support_mmapped_rdmb, ops.attach_dmb, ops.detach_dmb)
        else {
            return false;
        };
        // SAFETY: The device is live with its driver (type invariant).
        unsafe { supported(self.raw()) != 0 }
    }

    /// Maps the peer's DMB `token` for direct writes; detached when the [`RemoteDmb`] drops.
    pub fn attach_dmb(&self, token: u64) -> Result<RemoteDmb> {
        if !self.supports_attach() {
            return Err(EOPNOTSUPP);
        }
        let attach = self.ops().attach_dmb.ok_or(EOPNOTSUPP)?;
        let mut raw = bindings::dibs_dmb::default();
        raw.dmb_tok = token;
        // SAFETY: The device is live with its driver (type invariant); `raw` is valid.
        to_result(unsafe { attach(self.raw(), &mut raw) })?;
        let remote = RemoteDmb {
            user: self.clone(),
            raw,
        };
        if remote.raw.cpu_addr.is_null() {
            return Err(EIO);
        }
        // INVARIANT: Attached, mapped at `cpu_addr` for `dmb_len` bytes.
        Ok(remote)
    }
}

/// Returns the start of `offset..offset + len` in the `size` bytes at `base`, if inside.
fn range(base: *mut c_void, size: u32, offset: usize, len: usize) -> Result<*mut u8> {
    match offset.checked_add(len) {
        Some(end) if end <= size as usize => Ok(base.cast::<u8>().wrapping_add(offset)),
        _ => Err(ERANGE),
    }
}

/// A DMB the client registered on a device; unregistered on drop.
///
/// # Invariants
///
/// `raw` was filled in by the device's `register_dmb()` for the client of `user` and stays
/// registered until `drop`; `raw.cpu_addr` maps `raw.dmb_len` bytes while it does. Counted in
/// `LIVE_DMBS`.
pub struct Dmb {
    user: DeviceUser,
    raw: bindings::dibs_dmb,
}

// SAFETY: The DMB's memory is only copied or accessed atomically, from any thread; the
// device's operations may be called from any thread.
unsafe impl Send for Dmb {}
// SAFETY: See above.
unsafe impl Sync for Dmb {}

impl Dmb {
    /// The DMB's token, which the peer names it by.
    pub fn token(&self) -> u64 {
        self.raw.dmb_tok
    }

    /// The DMB's index on the device (signals for it carry this index).
    pub fn idx(&self) -> u32 {
        self.raw.idx
    }

    /// The DMB's length in bytes.
    pub fn len(&self) -> u32 {
        self.raw.dmb_len
    }

    /// Whether the DMB is empty (never: devices refuse empty DMBs).
    pub fn is_empty(&self) -> bool {
        self.raw.dmb_len == 0
    }

    /// The device user this DMB holds.
    pub fn user(&self) -> &DeviceUser {
        &self.user
    }

    /// Delivers the DMB's signals to `handler` from now on, until the DMB is unregistered
    /// (replacing a handler set before).
    pub fn on_signal(&self, handler: Arc<dyn DmbSignal>) -> Result {
        let node = RBTreeNode::new(self.raw.idx, handler, GFP_KERNEL)?;
        let old = self.user.presence().signals.lock().insert(node);
        // Dropped outside the lock.
        drop(old);
        Ok(())
    }

    /// Copies `out.len()` bytes of the DMB at `offset` into `out`.
    pub fn read(&self, offset: usize, out: &mut [u8]) -> Result {
        let src = range(self.raw.cpu_addr, self.raw.dmb_len, offset, out.len())?;
        // SAFETY: `src..src + out.len()` is inside the DMB's mapping (checked above, type
        // invariant), which Rust code never references, so it cannot overlap `out`.
        unsafe { core::ptr::copy_nonoverlapping(src, out.as_mut_ptr(), out.len()) };
        Ok(())
    }

    /// Copies `len` bytes of the DMB at `offset` into `dest` (a `recvmsg()`'s buffer, say),
    /// with no copy in between; returns how many were copied, fewer when `dest` has no more
    /// room or on a fault.
    #[cfg(CONFIG_NET)]
    pub fn copy_to_iter(&self, offset: usize, len: usize, dest: &mut crate::iov::IovIterDest<'_>) -> Result<usize> {
        let src = range(self.raw.cpu_addr, self.raw.dmb_len, offset, len)?;
        // SAFETY: `src..src + len` is inside the DMB's mapping (checked above, type invariant),
        // read here by the C copy only (Rust never references it); `dest` is a valid
        // destination iterator (its type invariant).
        Ok(unsafe { bindings::_copy_to_iter(src.cast(), len, dest.as_raw()) })
    }

    /// Sets `len` bytes of the DMB at `offset` to zero.
    pub fn zero(&self, offset: usize, len: usize) -> Result {
        let dst = range(self.raw.cpu_addr, self.raw.dmb_len, offset, len)?;
        // SAFETY: Inside the DMB's mapping (checked above, type invariant).
        unsafe { core::ptr::write_bytes(dst, 0, len) };
        Ok(())
    }

    /// The naturally aligned `T` at `offset` in the DMB, as an atomic (a peer's CDC cursors
    /// are read a word at a time, so they are never torn).
    pub fn atomic<T: AtomicType>(&self, offset: usize) -> Result<&Atomic<T>> {
        let p = range(self.raw.cpu_addr, self.raw.dmb_len, offset, core::mem::size_of::<T>())?;
        if (p as usize) % core::mem::align_of::<T>() != 0 {
            return Err(EINVAL);
        }
        // SAFETY: Inside the DMB's mapping and aligned (checked above), which lives as long as
        // `self`; every bit pattern is a valid integer, and concurrent writers are what atomics
        // are for.
        Ok(unsafe { Atomic::from_ptr(p.cast::<T>()) })
    }

    /// The `u64` at `offset` as an atomic; see [`Dmb::atomic`].
    pub fn atomic_u64(&self, offset: usize) -> Result<&Atomic<u64>> {
        self.atomic(offset)
    }
}

impl Drop for Dmb {
    fn drop(&mut self) {
        // No more signals for it: the index may go to another DMB once unregistered.
        let handler = self.user.presence().signals.lock().remove(&self.raw.idx);
        drop(handler);
        if let Some(unregister) = self.user.ops().unregister_dmb {
            // SAFETY: Registered by this device (type invariant), whose driver is live while
            // `user` is; nothing uses `raw` afterwards.
            let rc = unsafe { unregister(self.user.raw(), &mut self.raw) };
            if rc != 0 {
                dev_warn!(
                    self.user.dev.as_dev(),
                    "dibs: unregistering DMB {:#x} failed: {rc}\n",
                    self.raw.dmb_tok
                );
            }
        }
        LIVE_DMBS.fetch_sub(1, Ordering::Release);
    }
}

/// A peer's DMB attached for direct writes; detached on drop.
///
/// # Invariants
///
/// `raw` was filled in by the device's `attach_dmb()` and stays attached until `drop`;
/// `raw.cpu_addr` maps `raw.dmb_len` bytes of the peer's DMB while it does.
pub struct RemoteDmb {
    user: DeviceUser,
    raw: bindings::dibs_dmb,
}

// SAFETY: As for `Dmb`.
unsafe impl Send for RemoteDmb {}
// SAFETY: As for `Dmb`.
unsafe impl Sync for RemoteDmb {}

impl RemoteDmb {
    /// The peer DMB's token.
    pub fn token(&self) -> u64 {
        self.raw.dmb_tok
    }

    /// The peer DMB's length.
    pub fn len(&self) -> u32 {
        self.raw.dmb_len
    }

    /// Whether the DMB is empty (never).
    pub fn is_empty(&self) -> bool {
        self.raw.dmb_len == 0
    }

    /// Copies `len` bytes from `src` (a `sendmsg()`'s data, say) into the peer's DMB at
    /// `offset`, with no copy in between (no signal: the client signals with
    /// [`DeviceUser::move_data`]); returns how many were copied, fewer at the end of `src`'s
    /// data or on a fault. The client orders these writes before the message that tells the
    /// peer about them (e.g. with `smp_wmb()`).
    #[cfg(CONFIG_NET)]
    pub fn copy_from_iter(&self, offset: usize, len: usize, src: &mut crate::iov::IovIterSource<'_>) -> Result<usize> {
        let dst = range(self.raw.cpu_addr, self.raw.dmb_len, offset, len)?;
        // SAFETY: `dst..dst + len` is inside the attached mapping (checked above, type
        // invariant), written here by the C copy only (Rust never references it); `src` is a
        // valid source iterator (its type invariant).
        Ok(unsafe { bindings::_copy_from_iter(dst.cast(), len, src.as_raw()) })
    }

    /// Copies `data` into the peer's DMB at `offset` (no signal: the client signals with
    /// [`DeviceUser::move_data`]).
    pub fn write(&self, offset: usize, data: &[u8]) -> Result {
        let dst = range(self.raw.cpu_addr, self.raw.dmb_len, offset, data.len())?;
        // SAFETY: Inside the attached mapping (checked above, type invariant), which Rust code
        // never references, so it cannot overlap `data`.
        unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), dst, data.len()) };
        Ok(())
    }
}

impl Drop for RemoteDmb {
    fn drop(&mut self) {
        if let Some(detach) = self.user.ops().detach_dmb {
            // SAFETY: Attached through this device (type invariant), whose driver is live while
            // `user` is.
            let _ = unsafe { detach(self.user.raw(), self.raw.dmb_tok) };
        }
    }
}

#[macros::kunit_tests(smc_rs_dibs_client)]
mod tests {
    use super::super::{Client, ClientRegistration, Device, LOOPBACK_FABRIC};
    use crate::{
        new_mutex,
        prelude::*,
        sync::{atomic::Relaxed, aref::ARef, Mutex},
    };

    /// A client that keeps the loopback device.
    #[pin_data]
    struct Catch {
        #[pin]
        lo: Mutex<Option<ARef<Device>>>,
    }

    #[vtable]
    impl Client for Catch {
        fn add_dev(&self, dev: &Device) {
            if dev.fabric_id() == LOOPBACK_FABRIC {
                *self.lo.lock() = Some(dev.into());
            }
        }

        fn del_dev(&self, dev: &Device) {
            let mut lo = self.lo.lock();
            if lo.as_deref().is_some_and(|d| core::ptr::eq(d, dev)) {
                *lo = None;
            }
        }
    }

    /// Over the dibs loopback device (built in): a DMB of this client takes bytes moved into
    /// it by token and written through an attachment, reads and atomics stay inside it, and
    /// everything goes away again (the client unregisters cleanly, so no DMB was left).
    #[test]
    fn loopback_dmbs_carry_bytes() -> Result {
        let reg = ClientRegistration::new(
            c"smc_rs_kunit",
            try_pin_init!(Catch {
                lo <- new_mutex!(None, "Catch::lo"),
            }? Error),
        )?;
        let lo = reg.client().lo.lock().clone().ok_or(ENODEV)?;
        let user = lo.user()?;
        let dmb = user.register_dmb(16384, &lo.gid())?;
        assert_eq!(dmb.len(), 16384);
        assert_eq!(
            reg.client().lo.lock().as_deref().map(|d| d.gid().hi()),
            Some(user.device().gid().hi())
        );

        user.move_data(dmb.token(), dmb.idx(), false, 100, b"hello, dmb")?;
        let mut out = [0u8; 10];
        dmb.read(100, &mut out)?;
        assert_eq!(&out, b"hello, dmb");
        assert_eq!(dmb.read(16380, &mut [0u8; 8]), Err(ERANGE));
        assert_eq!(dmb.read(usize::MAX, &mut [0u8; 1]), Err(ERANGE));

        if user.supports_attach() {
            let remote = user.attach_dmb(dmb.token())?;
            assert_eq!(remote.len(), 16384);
            remote.write(200, b"direct")?;
            let mut out = [0u8; 6];
            dmb.read(200, &mut out)?;
            assert_eq!(&out, b"direct");
            assert_eq!(remote.write(16384, b"x"), Err(ERANGE));
        }

        // A cursor word, read as the peer wrote it.
        user.move_data(dmb.token(), dmb.idx(), false, 8, &0x1122_3344_5566_7788u64.to_ne_bytes())?;
        assert_eq!(dmb.atomic_u64(8)?.load(Relaxed), 0x1122_3344_5566_7788);
        assert_eq!(dmb.atomic_u64(9).err(), Some(EINVAL));
        assert_eq!(dmb.atomic_u64(16384).err(), Some(ERANGE));

        dmb.zero(0, 16384)?;
        dmb.read(100, &mut out[..6])?;
        assert_eq!(out[..6], [0u8; 6]);

        // Unknown tokens are the driver's to refuse.
        assert!(user.move_data(!dmb.token(), 0, false, 0, b"x").is_err());

        drop(dmb);
        drop(user);
        drop(lo);
        drop(reg);
        Ok(())
    }
}
