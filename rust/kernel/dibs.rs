// SPDX-License-Identifier: GPL-2.0

//! Direct Internal Buffer Sharing (DIBS) devices.
//!
//! C header: [`include/linux/dibs.h`](srctree/include/linux/dibs.h)
//!
//! A DIBS device lets its clients (the SMC-D protocol, first of all) write into
//! DMBs, direct memory buffers, that a peer system registered on a device of the
//! same fabric. This module lets a driver implement a DIBS device in safe Rust:
//!
//! - the driver implements [`Driver`], whose methods are the device operations
//!   of `struct dibs_dev_ops`, in Rust terms: tokens and GIDs as values, the data
//!   of `move_data()` as a slice, a DMB as a [`DmbPlacement`] inside the memory
//!   the driver names with [`Driver::Memory`];
//! - [`Registration`] adds the device to the DIBS layer and removes it on drop;
//! - [`Device`], a reference-counted handle to the C `struct dibs_dev`, lets the
//!   driver's interrupt handler hand DMB signals ([`Device::deliver_irq`]) and
//!   device events ([`Device::deliver_event`]) to the clients.
//!
//! And a client (SMC-D) in safe Rust: it implements [`Client`] and registers with
//! [`ClientRegistration`], which hands it the devices as they come and go; [`Device::user`]
//! gives it a [`DeviceUser`], a hold on a device through which it registers [`Dmb`]s, moves
//! data into peers' DMBs and attaches them ([`RemoteDmb`]). A device's removal waits until
//! the client has let go of every hold on it, so nothing calls into a driver that went away.
//!
//! The abstraction owns the DMB index space: an index is taken (the DIBS layer's
//! `dmb_clientid_arr[idx]` set to the registering client) before
//! [`Driver::register_dmb`] is called, and given back only after
//! [`Driver::unregister_dmb`] succeeded, so a signal for an index always reaches
//! the client that owns the DMB there, and two DMBs never share an index.
//!
//! # Examples
//!
//! ```
//! use kernel::{dibs, prelude::*, sync::Arc};
//!
//! /// A device that cannot reach anyone and has no room for DMBs.
//! struct Lonely {
//!     mem: Memory,
//! }
//!
//! struct Memory;
//!
//! // SAFETY: An empty memory: no byte is ever handed out.
//! unsafe impl dibs::DmbMemory for Memory {
//!     fn base(&self) -> *mut u8 {
//!         core::ptr::NonNull::dangling().as_ptr()
//!     }
//!     fn size(&self) -> usize {
//!         0
//!     }
//! }
//!
//! #[vtable]
//! impl dibs::Driver for Lonely {
//!     type Memory = Memory;
//!     const MAX_DMBS: u16 = 1;
//!
//!     fn memory(&self) -> &Memory {
//!         &self.mem
//!     }
//!     fn fabric_id(&self) -> u16 {
//!         0x1234
//!     }
//!     fn query_remote_gid(&self, _rgid: &dibs::Gid, _vlan: Option<u32>) -> Result {
//!         Err(ENETUNREACH)
//!     }
//!     fn register_dmb(&self, _req: &dibs::DmbRequest) -> Result<dibs::DmbPlacement> {
//!         Err(ENOSPC)
//!     }
//!     fn unregister_dmb(&self, _token: u64, _idx: u32) -> Result {
//!         Err(EINVAL)
//!     }
//!     fn move_data(&self, _t: u64, _i: u32, _s: bool, _o: u32, _d: &[u8]) -> Result {
//!         Err(EINVAL)
//!     }
//! }
//! ```

use crate::{
    bindings,
    device,
    error::{from_result, to_result, VTABLE_DEFAULT_ERROR},
    ffi::{c_int, c_uint, c_void},
    prelude::*,
    str::CStr,
    sync::{aref::AlwaysRefCounted, Arc},
    sync::aref::ARef,
    types::Opaque,
};
use core::{marker::PhantomData, ptr::NonNull};

mod client;
pub use client::{DeviceUser, Dmb, DmbSignal, RemoteDmb};

/// The fabric ID every loopback device reports (`DIBS_LOOPBACK_FABRIC`).
pub const LOOPBACK_FABRIC: u16 = bindings::DIBS_LOOPBACK_FABRIC as u16;

/// The most clients the DIBS layer serves (`MAX_DIBS_CLIENTS`).
pub const MAX_CLIENTS: usize = bindings::MAX_DIBS_CLIENTS as usize;

/// `NO_DIBS_CLIENT`: the client ID of a free DMB index.
const NO_CLIENT: u8 = bindings::NO_DIBS_CLIENT as u8;

// The fields of `struct dibs_dev` Rust touches, where bindgen put them and where the C compiler
// did. They must agree: `struct dibs_dev` embeds a `struct device`, and bindgen has been seen to
// get such large structures wrong (see `kernel::net::family`).
const _: () = {
    use core::mem::offset_of;
    assert!(offset_of!(bindings::dibs_dev, dev) == bindings::DIBS_DEV_DEV_OFFSET);
    assert!(offset_of!(bindings::dibs_dev, ops) == bindings::DIBS_DEV_OPS_OFFSET);
    assert!(offset_of!(bindings::dibs_dev, gid) == bindings::DIBS_DEV_GID_OFFSET);
    assert!(offset_of!(bindings::dibs_dev, drv_priv) == bindings::DIBS_DEV_DRV_PRIV_OFFSET);
    assert!(offset_of!(bindings::dibs_dev, lock) == bindings::DIBS_DEV_LOCK_OFFSET);
    assert!(
        offset_of!(bindings::dibs_dev, dmb_clientid_arr) == bindings::DIBS_DEV_CLIENTID_OFFSET
    );
    assert!(offset_of!(bindings::dibs_dev, subs) == bindings::DIBS_DEV_SUBS_OFFSET);
    assert!(core::mem::size_of::<bindings::dibs_dev>() == bindings::DIBS_DEV_SIZE);
    assert!(core::mem::size_of::<bindings::dibs_dmb>() == bindings::DIBS_DMB_SIZE);
};

/// What identifies the PCI function of a device ([`Device::pci_info`]).
#[derive(Clone, Copy, Debug)]
pub struct PciInfo {
    /// The vendor id.
    pub vendor: u16,
    /// The device id.
    pub device: u16,
    /// The PCI name, nul-terminated.
    pub name: [u8; 32],
}

/// A DIBS device GID (a UUID; SMC-D reads it as two big-endian 64-bit halves).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Gid(pub [u8; 16]);

impl Gid {
    /// The GID whose first (SMC: `gid`) and second (SMC: `gid_ext`) halves are `hi` and `lo`.
    pub fn from_halves(hi: u64, lo: u64) -> Self {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&hi.to_be_bytes());
        b[8..].copy_from_slice(&lo.to_be_bytes());
        Self(b)
    }

    /// The first half, as SMC-D puts it in CLC messages (`gid`).
    pub fn hi(&self) -> u64 {
        let mut h = [0u8; 8];
        h.copy_from_slice(&self.0[..8]);
        u64::from_be_bytes(h)
    }

    /// The second half (SMC-D's `gid_ext`, zero for devices outside the emulated range).
    pub fn lo(&self) -> u64 {
        let mut l = [0u8; 8];
        l.copy_from_slice(&self.0[8..]);
        u64::from_be_bytes(l)
    }

    fn from_raw(u: &bindings::uuid_t) -> Self {
        Self(u.b)
    }

    fn to_raw(self) -> bindings::uuid_t {
        bindings::uuid_t { b: self.0 }
    }
}

/// A client's request to register a DMB (the input fields of `struct dibs_dmb`).
#[derive(Clone, Copy, Debug)]
pub struct DmbRequest {
    /// The only remote device allowed to write into the DMB.
    pub rgid: Gid,
    /// The DMB's length in bytes.
    pub len: u32,
    /// The DMB index the abstraction reserved for it, below [`Driver::MAX_DMBS`].
    pub idx: u32,
    /// The VLAN the DMB belongs to, if any (deprecated).
    pub vlan: Option<u32>,
}

/// Where a registered DMB lives.
#[derive(Clone, Copy, Debug)]
pub struct DmbPlacement {
    /// The DMB's token, unique on the fabric.
    pub token: u64,
    /// The DMB's offset inside [`Driver::memory`]; it spans the requested length from there.
    pub offset: usize,
}

/// A remote DMB attached for direct writes ([`Driver::attach_dmb`]).
#[derive(Clone, Copy, Debug)]
pub struct Attachment {
    /// The remote DMB's index on its owning device.
    pub idx: u32,
    /// Its offset inside [`Driver::memory`].
    pub offset: usize,
    /// Its length in bytes.
    pub len: u32,
}

/// The kind of a [`Event`] (`enum dibs_event_type`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u32)]
pub enum EventType {
    /// A buffer event, e.g. a remote DMB was unregistered.
    Buffer = bindings::dibs_event_type_DIBS_BUF_EVENT,
    /// A device event, e.g. a remote device was disabled.
    Device = bindings::dibs_event_type_DIBS_DEV_EVENT,
    /// A software event a client sent with `signal_event()`.
    Software = bindings::dibs_event_type_DIBS_SW_EVENT,
}

/// Event subtypes of the DIBS layer (`enum dibs_event_subtype`); software events carry the
/// sender's code instead.
pub mod subtype {
    /// A remote DMB was unregistered.
    pub const BUF_UNREGISTERED: u32 = crate::bindings::dibs_event_subtype_DIBS_BUF_UNREGISTERED;
    /// A remote device was disabled.
    pub const DEV_DISABLED: u32 = crate::bindings::dibs_event_subtype_DIBS_DEV_DISABLED;
    /// A remote device is in an error state.
    pub const DEV_ERR_STATE: u32 = crate::bindings::dibs_event_subtype_DIBS_DEV_ERR_STATE;
}

/// An event a device reports to its clients (`struct dibs_event`).
#[derive(Clone, Copy, Debug)]
pub struct Event {
    /// What happened.
    pub ty: EventType,
    /// The subtype ([`subtype`]) or, for software events, the sender's event code.
    pub subtype: u32,
    /// The remote device concerned (for software events: the sender).
    pub gid: Gid,
    /// The DMB concerned, or zero.
    pub buffer_tok: u64,
    /// When it happened, or zero.
    pub time: u64,
    /// More information, or zero (software events: the sender's data).
    pub data: u64,
}

/// Memory that a device's DMBs are placed in.
///
/// # Safety
///
/// [`DmbMemory::base`] must return the same pointer every time, and `base()..base() + size()`
/// must be valid for reads and writes, by the CPU, for as long as the value lives. Others (another
/// system sharing the memory, the hardware) may write it at any time.
pub unsafe trait DmbMemory: Send + Sync {
    /// The start of the memory.
    fn base(&self) -> *mut u8;
    /// Its size in bytes.
    fn size(&self) -> usize;
}

/// The operations of a DIBS device (`struct dibs_dev_ops`).
///
/// The methods may be called concurrently, from any context the DIBS clients call device
/// operations in: process context, and (for [`Driver::move_data`] and
/// [`Driver::signal_event`]) soft interrupt context. They must not sleep.
#[vtable]
pub trait Driver: Send + Sync + Sized + 'static {
    /// The memory DMBs are placed in.
    type Memory: DmbMemory;

    /// How many DMBs a device of this kind can register at most.
    const MAX_DMBS: u16;

    /// Returns the memory DMBs are placed in.
    fn memory(&self) -> &Self::Memory;

    /// Returns the device's fabric ID; devices on different fabrics cannot reach each other.
    fn fabric_id(&self) -> u16;

    /// Succeeds if the device with GID `rgid` is reachable through this one (on `vlan`, if the
    /// device supports VLANs).
    fn query_remote_gid(&self, rgid: &Gid, vlan: Option<u32>) -> Result;

    /// Places and registers a DMB of `req.len` bytes at index `req.idx`, writable by `req.rgid`.
    ///
    /// On success the DMB spans `req.len` bytes from the returned offset, which must lie inside
    /// [`Driver::memory`] (the abstraction checks, and treats a DMB outside as an error).
    fn register_dmb(&self, req: &DmbRequest) -> Result<DmbPlacement>;

    /// Unregisters the DMB with `token` at index `idx` and frees its memory.
    ///
    /// Must fail, changing nothing, if no DMB with `token` is registered at `idx`.
    fn unregister_dmb(&self, token: u64, idx: u32) -> Result;

    /// Writes `data` at `offset` into the remote DMB `token`, then, if `signal`, sets bit `idx`
    /// in that DMB's signal mask and signals the owning device.
    fn move_data(&self, token: u64, idx: u32, signal: bool, offset: u32, data: &[u8]) -> Result;

    /// Adds the device to VLAN `vlan` (optional, deprecated).
    fn add_vlan_id(&self, _vlan: u64) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Removes the device from VLAN `vlan` (optional, deprecated).
    fn del_vlan_id(&self, _vlan: u64) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Sends a software event to the remote device `rgid` (optional).
    fn signal_event(&self, _rgid: &Gid, _trigger_irq: bool, _code: u32, _info: u64) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Maps the remote DMB `token` for direct writes (optional; with [`Driver::detach_dmb`]).
    ///
    /// Clients may attach a DMB they have attached already (the C smc does when a new
    /// connection gets a DMB an older one has not detached yet): attaches count, and the DMB
    /// stays attached until each has been matched by a [`Driver::detach_dmb`], as in
    /// `dibs_loopback`.
    fn attach_dmb(&self, _token: u64) -> Result<Attachment> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Ends a mapping made by [`Driver::attach_dmb`].
    fn detach_dmb(&self, _token: u64) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// A DIBS device (`struct dibs_dev`), reference counted.
///
/// # Invariants
///
/// The wrapped `struct dibs_dev` was allocated by `dibs_dev_alloc()` (so its `lock` is
/// initialised), and a reference to its embedded `struct device` is held while a `&Device`
/// exists. Its `dmb_clientid_arr`, once set by `dibs_dev_add()`, has `max_dmbs()` entries and
/// lives as long as the device.
#[repr(transparent)]
pub struct Device(Opaque<bindings::dibs_dev>);

// SAFETY: The C DIBS layer uses `struct dibs_dev` from any thread, under its own locking.
unsafe impl Send for Device {}
// SAFETY: See above; `&Device` only offers operations that take `dibs_dev.lock`.
unsafe impl Sync for Device {}

// SAFETY: A `struct dibs_dev` is reference counted through its embedded `struct device`.
unsafe impl AlwaysRefCounted for Device {
    fn inc_ref(&self) {
        // SAFETY: The existence of `&self` means the refcount is non-zero.
        unsafe { bindings::get_device(&raw mut (*self.0.get()).dev) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller owns a reference, so the device is alive.
        unsafe { bindings::put_device(&raw mut (*obj.as_ref().0.get()).dev) }
    }
}

impl Device {
    /// # Safety
    ///
    /// `ptr` must point to a live `struct dibs_dev` allocated by `dibs_dev_alloc()`, and stay
    /// live for `'a`.
    unsafe fn from_raw<'a>(ptr: *mut bindings::dibs_dev) -> &'a Self {
        // SAFETY: `Device` is a transparent wrapper of `struct dibs_dev`; the caller guarantees
        // the pointee lives for `'a`.
        unsafe { &*ptr.cast() }
    }

    fn as_raw(&self) -> *mut bindings::dibs_dev {
        self.0.get()
    }

    /// Returns the embedded generic device.
    pub fn as_dev(&self) -> &device::Device {
        // SAFETY: `dev` is an initialised `struct device` that lives as long as `self`.
        unsafe { device::Device::from_raw(&raw mut (*self.as_raw()).dev) }
    }

    /// The name of the device's parent (e.g. the PCI function's, `0000:00:04.0`), if it has
    /// one (a loopback device has none).
    pub fn parent_name(&self) -> Option<&CStr> {
        self.as_dev().parent().map(|p| p.name())
    }

    /// The PCI function the device sits on, if its parent is one (not for a loopback
    /// device): vendor, device id and PCI name (as `pci_name()` gives it, e.g.
    /// `0000:00:04.0`), as SMC reports a device to its users.
    pub fn pci_info(&self) -> Option<PciInfo> {
        let parent = self.as_dev().parent()?;
        let pdev: &crate::pci::Device = parent.try_into().ok()?;
        let mut name = [0u8; 32];
        let src = pdev.as_ref().name().to_bytes();
        let n = src.len().min(name.len() - 1);
        name[..n].copy_from_slice(&src[..n]);
        Some(PciInfo { vendor: pdev.vendor_id().as_raw(), device: pdev.device_id(), name })
    }

    /// Returns the device's GID.
    pub fn gid(&self) -> Gid {
        // SAFETY: `gid` is set before the device is added and never changed afterwards.
        Gid::from_raw(unsafe { &(*self.as_raw()).gid })
    }

    /// Returns the device's fabric ID ([`LOOPBACK_FABRIC`] for a loopback device).
    pub fn fabric_id(&self) -> u16 {
        // SAFETY: `ops` is set before the device is added and static; `get_fabric_id` is a
        // mandatory operation.
        unsafe {
            match (*(*self.as_raw()).ops).get_fabric_id {
                Some(f) => f(self.as_raw()),
                None => 0,
            }
        }
    }

    /// Runs `f` with `dibs_dev.lock` held and interrupts off, on the client table.
    fn with_clients<R>(&self, f: impl FnOnce(&mut Clients<'_>) -> R) -> R {
        let raw = self.as_raw();
        // SAFETY: `lock` was initialised by `dibs_dev_alloc()` (type invariant).
        unsafe { bindings::spin_lock_irq_disable(&raw mut (*raw).lock) };
        let mut clients = Clients {
            raw,
            max_dmbs: Clients::read_max_dmbs(raw),
            _lock: PhantomData,
        };
        let r = f(&mut clients);
        // SAFETY: Taken above.
        unsafe { bindings::spin_unlock_irq_enable(&raw mut (*raw).lock) };
        r
    }

    /// Hands a DMB signal to the client owning the DMB at `idx`: `dmbemask` tells which signal
    /// bits were set. Does nothing if no client owns `idx` or the device is being removed.
    ///
    /// Callable from any context, including hard interrupts.
    pub fn deliver_irq(&self, idx: u32, dmbemask: u16) {
        self.with_clients(|c| {
            if let Some(client) = c.owner(idx) {
                // SAFETY: `client` is a registered client (`subs[]` is only set for those, and
                // cleared before they go away, under the lock we hold); its ops table is
                // static. The DIBS contract calls `handle_irq` under this lock.
                unsafe {
                    if let Some(handle_irq) = (*(*client).ops).handle_irq {
                        handle_irq(c.raw, idx, dmbemask);
                    }
                }
            }
        })
    }

    /// Hands `event` to every client of the device.
    ///
    /// Callable from any context, including hard interrupts.
    pub fn deliver_event(&self, event: &Event) {
        let raw = bindings::dibs_event {
            type_: event.ty as u32,
            subtype: event.subtype,
            gid: event.gid.to_raw(),
            buffer_tok: event.buffer_tok,
            time: event.time,
            data: event.data,
        };
        self.with_clients(|c| {
            for i in 0..MAX_CLIENTS {
                // SAFETY: `subs` is read under the lock, as the DIBS layer writes it.
                let client = unsafe { (*c.raw).subs[i] };
                if client.is_null() {
                    continue;
                }
                // SAFETY: As in `deliver_irq`; `raw` outlives the call.
                unsafe {
                    if let Some(handle_event) = (*(*client).ops).handle_event {
                        handle_event(c.raw, &raw);
                    }
                }
            }
        })
    }
}

/// The client table of a device, while `dibs_dev.lock` is held.
struct Clients<'a> {
    raw: *mut bindings::dibs_dev,
    /// The number of DMB indexes (the length of `dmb_clientid_arr`), read once per lock hold.
    max_dmbs: u32,
    _lock: PhantomData<&'a mut ()>,
}

impl Clients<'_> {
    /// Asks the driver for the number of DMB indexes (an indirect call).
    fn read_max_dmbs(raw: *mut bindings::dibs_dev) -> u32 {
        // SAFETY: `raw` is a live device whose `ops` is set before it is added and points to a
        // static table whose `max_dmbs` is mandatory.
        let n = unsafe { (*(*raw).ops).max_dmbs.map_or(0, |f| f()) };
        u32::try_from(n).unwrap_or(0)
    }

    fn max_dmbs(&self) -> u32 {
        self.max_dmbs
    }

    /// The client array slot of DMB `idx`, if `idx` is in range and the device is added.
    fn slot(&mut self, idx: u32) -> Option<*mut u8> {
        // SAFETY: The lock is held; `dmb_clientid_arr` is set once by `dibs_dev_add()`.
        let arr = unsafe { (*self.raw).dmb_clientid_arr };
        if arr.is_null() || idx >= self.max_dmbs() {
            return None;
        }
        // SAFETY: `idx < max_dmbs`, the array's length (type invariant of `Device`).
        Some(unsafe { arr.add(idx as usize) })
    }

    /// The client owning DMB `idx`, if any.
    fn owner(&mut self, idx: u32) -> Option<*mut bindings::dibs_client> {
        let slot = self.slot(idx)?;
        // SAFETY: `slot` is in the array and the lock is held.
        let id = unsafe { *slot };
        if usize::from(id) >= MAX_CLIENTS {
            return None;
        }
        // SAFETY: The lock is held.
        let client = unsafe { (*self.raw).subs[usize::from(id)] };
        (!client.is_null()).then_some(client)
    }

    /// Takes a free DMB index for client `id`, `hint` if it is free.
    fn take_index(&mut self, hint: u32, id: u8) -> Option<u32> {
        let free = |c: &mut Self, i: u32| {
            let slot = c.slot(i)?;
            // SAFETY: `slot` is in the array and the lock is held.
            unsafe { (*slot == NO_CLIENT).then(|| *slot = id) }
        };
        if free(self, hint).is_some() {
            return Some(hint);
        }
        (0..self.max_dmbs()).find(|&i| free(self, i).is_some())
    }

    /// Gives DMB index `idx` back.
    fn put_index(&mut self, idx: u32) {
        if let Some(slot) = self.slot(idx) {
            // SAFETY: `slot` is in the array and the lock is held.
            unsafe { *slot = NO_CLIENT };
        }
    }
}

/// A device registered with the DIBS layer; removed from it on drop.
///
/// # Invariants
///
/// `dev` was added with `dibs_dev_add()`; its `drv_priv` holds an `Arc<T>` (from
/// [`Arc::into_raw`]), and its `ops` the vtable of `T`.
pub struct Registration<T: Driver> {
    dev: ARef<Device>,
    _data: PhantomData<Arc<T>>,
}

impl<T: Driver> Registration<T> {
    /// Registers a DIBS device named `name`, child of `parent`, with GID `gid`, operated by
    /// `data`.
    ///
    /// The DIBS layer calls `add_dev()` of every client before this returns: `data` must be
    /// ready to serve.
    pub fn new(parent: &device::Device<device::Bound>, name: &CStr, gid: Gid, data: Arc<T>)
        -> Result<Self>
    {
        // SAFETY: No preconditions.
        let raw = unsafe { bindings::dibs_dev_alloc() };
        if raw.is_null() {
            return Err(ENOMEM);
        }
        // INVARIANT: Allocated by `dibs_dev_alloc()`, which holds one reference; `ARef` owns it.
        // SAFETY: `raw` is live; the reference from `dibs_dev_alloc()` moves into the `ARef`.
        let dev: ARef<Device> = unsafe { ARef::from_raw(NonNull::new_unchecked(raw.cast())) };

        let ops: &'static bindings::dibs_dev_ops = &Self::OPS;
        // SAFETY: `raw` is a fresh, unshared device: nothing else reads these fields yet.
        unsafe {
            (*raw).ops = ops;
            (*raw).gid = gid.to_raw();
            (*raw).dev.parent = parent.as_raw();
            to_result(bindings::dev_set_name(
                &raw mut (*raw).dev,
                c"%s".as_char_ptr(),
                name.as_char_ptr(),
            ))?;
        }
        let priv_ = Arc::into_raw(data);
        // SAFETY: As above.
        unsafe { (*raw).drv_priv = priv_.cast_mut().cast() };

        // SAFETY: `dev`, `ops`, `drv_priv` are set as `dibs_dev_add()` requires.
        if let Err(e) = to_result(unsafe { bindings::dibs_dev_add(raw) }) {
            // SAFETY: The device was not added, so no client saw `drv_priv`; reclaim it.
            drop(unsafe { Arc::from_raw(priv_) });
            return Err(e);
        }
        // INVARIANT: Added, with `drv_priv` and `ops` set as required.
        Ok(Self {
            dev,
            _data: PhantomData,
        })
    }

    /// The registered device, to deliver signals and events through.
    pub fn device(&self) -> &ARef<Device> {
        &self.dev
    }

    const OPS: bindings::dibs_dev_ops = bindings::dibs_dev_ops {
        get_fabric_id: Some(Self::get_fabric_id),
        query_remote_gid: Some(Self::query_remote_gid),
        max_dmbs: Some(Self::max_dmbs),
        register_dmb: Some(Self::register_dmb),
        unregister_dmb: Some(Self::unregister_dmb),
        move_data: Some(Self::move_data),
        add_vlan_id: if T::HAS_ADD_VLAN_ID { Some(Self::add_vlan_id) } else { None },
        del_vlan_id: if T::HAS_DEL_VLAN_ID { Some(Self::del_vlan_id) } else { None },
        signal_event: if T::HAS_SIGNAL_EVENT { Some(Self::signal_event) } else { None },
        support_mmapped_rdmb: if T::HAS_ATTACH_DMB && T::HAS_DETACH_DMB {
            Some(Self::support_mmapped_rdmb)
        } else {
            None
        },
        attach_dmb: if T::HAS_ATTACH_DMB && T::HAS_DETACH_DMB {
            Some(Self::attach_dmb)
        } else {
            None
        },
        detach_dmb: if T::HAS_ATTACH_DMB && T::HAS_DETACH_DMB {
            Some(Self::detach_dmb)
        } else {
            None
        },
    };

    /// # Safety
    ///
    /// `dev` is a device registered by a `Registration<T>` that has not been dropped.
    unsafe fn data<'a>(dev: *mut bindings::dibs_dev) -> &'a T {
        // SAFETY: By the type invariants `drv_priv` came from `Arc::<T>::into_raw()`, and it is
        // reclaimed only after `dibs_dev_del()`, after which no operation is called.
        unsafe { &*(*dev).drv_priv.cast::<T>() }
    }

    unsafe extern "C" fn get_fabric_id(dev: *mut bindings::dibs_dev) -> u16 {
        // SAFETY: Called by the DIBS layer on a device this registration added.
        unsafe { Self::data(dev) }.fabric_id()
    }

    unsafe extern "C" fn query_remote_gid(
        dev: *mut bindings::dibs_dev,
        rgid: *const bindings::uuid_t,
        vid_valid: u32,
        vid: u32,
    ) -> c_int {
        // SAFETY: As above; `rgid` is valid for the call.
        let (data, rgid) = unsafe { (Self::data(dev), Gid::from_raw(&*rgid)) };
        from_result(|| {
            data.query_remote_gid(&rgid, (vid_valid != 0).then_some(vid))?;
            Ok(0)
        })
    }

    unsafe extern "C" fn max_dmbs() -> c_int {
        T::MAX_DMBS.into()
    }

    unsafe extern "C" fn register_dmb(
        dev: *mut bindings::dibs_dev,
        dmb: *mut bindings::dibs_dmb,
        client: *mut bindings::dibs_client,
    ) -> c_int {
        // SAFETY: Called by the DIBS layer on a device this registration added, with valid
        // `dmb` and `client` for the duration of the call.
        let (this, data, dmb, client_id) =
            unsafe { (Device::from_raw(dev), Self::data(dev), &mut *dmb, (*client).id) };
        from_result(|| {
            let idx = this
                .with_clients(|c| c.take_index(dmb.idx, client_id))
                .ok_or(ENOSPC)?;
            let req = DmbRequest {
                rgid: Gid::from_raw(&dmb.rgid),
                len: dmb.dmb_len,
                idx,
                vlan: (dmb.vlan_valid != 0).then_some(dmb.vlan_id),
            };
            let placed = data.register_dmb(&req).and_then(|p| {
                let mem = data.memory();
                let end = p.offset.checked_add(req.len as usize).ok_or(EINVAL)?;
                if end > mem.size() {
                    // A driver bug: undo and refuse rather than hand out foreign memory.
                    let _ = data.unregister_dmb(p.token, idx);
                    return Err(EINVAL);
                }
                Ok(p)
            });
            let p = match placed {
                Ok(p) => p,
                Err(e) => {
                    this.with_clients(|c| c.put_index(idx));
                    return Err(e);
                }
            };
            dmb.idx = idx;
            dmb.dmb_tok = p.token;
            // The offset is within the memory, checked above.
            dmb.cpu_addr = data.memory().base().wrapping_add(p.offset).cast();
            dmb.dma_addr = !0;
            Ok(0)
        })
    }

    unsafe extern "C" fn unregister_dmb(
        dev: *mut bindings::dibs_dev,
        dmb: *mut bindings::dibs_dmb,
    ) -> c_int {
        // SAFETY: As in `register_dmb`.
        let (this, data, dmb) = unsafe { (Device::from_raw(dev), Self::data(dev), &*dmb) };
        from_result(|| {
            data.unregister_dmb(dmb.dmb_tok, dmb.idx)?;
            this.with_clients(|c| c.put_index(dmb.idx));
            Ok(0)
        })
    }

    unsafe extern "C" fn move_data(
        dev: *mut bindings::dibs_dev,
        dmb_tok: u64,
        idx: c_uint,
        sf: bool,
        offset: c_uint,
        data: *mut c_void,
        size: c_uint,
    ) -> c_int {
        let buf = if size == 0 {
            &[][..]
        } else {
            // SAFETY: The caller passes `size` readable bytes at `data`, unchanged during the
            // call (the DIBS contract: "data can be freed when this function returns").
            unsafe { core::slice::from_raw_parts(data.cast::<u8>(), size as usize) }
        };
        // SAFETY: As in `register_dmb`.
        let drv = unsafe { Self::data(dev) };
        from_result(|| {
            drv.move_data(dmb_tok, idx, sf, offset, buf)?;
            Ok(0)
        })
    }

    unsafe extern "C" fn add_vlan_id(dev: *mut bindings::dibs_dev, vlan_id: u64) -> c_int {
        // SAFETY: As in `register_dmb`.
        let data = unsafe { Self::data(dev) };
        from_result(|| data.add_vlan_id(vlan_id).map(|()| 0))
    }

    unsafe extern "C" fn del_vlan_id(dev: *mut bindings::dibs_dev, vlan_id: u64) -> c_int {
        // SAFETY: As in `register_dmb`.
        let data = unsafe { Self::data(dev) };
        from_result(|| data.del_vlan_id(vlan_id).map(|()| 0))
    }

    unsafe extern "C" fn signal_event(
        dev: *mut bindings::dibs_dev,
        rgid: *const bindings::uuid_t,
        trigger_irq: u32,
        event_code: u32,
        info: u64,
    ) -> c_int {
        // SAFETY: As in `query_remote_gid`.
        let (data, rgid) = unsafe { (Self::data(dev), Gid::from_raw(&*rgid)) };
        from_result(|| {
            data.signal_event(&rgid, trigger_irq != 0, event_code, info)
                .map(|()| 0)
        })
    }

    unsafe extern "C" fn support_mmapped_rdmb(_dev: *mut bindings::dibs_dev) -> c_int {
        1
    }

    unsafe extern "C" fn attach_dmb(
        dev: *mut bindings::dibs_dev,
        dmb: *mut bindings::dibs_dmb,
    ) -> c_int {
        // SAFETY: As in `register_dmb`.
        let (data, dmb) = unsafe { (Self::data(dev), &mut *dmb) };
        from_result(|| {
            let a = data.attach_dmb(dmb.dmb_tok)?;
            let end = a.offset.checked_add(a.len as usize).ok_or(EINVAL)?;
            if end > data.memory().size() {
                let _ = data.detach_dmb(dmb.dmb_tok);
                return Err(EINVAL);
            }
            dmb.idx = a.idx;
            dmb.dmb_len = a.len;
            dmb.cpu_addr = data.memory().base().wrapping_add(a.offset).cast();
            dmb.dma_addr = !0;
            Ok(0)
        })
    }

    unsafe extern "C" fn detach_dmb(dev: *mut bindings::dibs_dev, token: u64) -> c_int {
        // SAFETY: As in `register_dmb`.
        let data = unsafe { Self::data(dev) };
        from_result(|| data.detach_dmb(token).map(|()| 0))
    }
}

impl<T: Driver> Drop for Registration<T> {
    fn drop(&mut self) {
        let raw = self.dev.as_raw();
        // SAFETY: Added in `new()` (type invariant). After this returns, every client has run
        // `del_dev()` and no device operation is called any more.
        unsafe { bindings::dibs_dev_del(raw) };
        // SAFETY: `drv_priv` came from `Arc::<T>::into_raw()` in `new()`, and nothing uses it
        // after `dibs_dev_del()`.
        drop(unsafe { Arc::<T>::from_raw((*raw).drv_priv.cast()) });
        // The `ARef` drops the reference taken by `dibs_dev_alloc()`.
    }
}

// SAFETY: A `MemBar` maps its `len()` bytes from `as_ptr()` for as long as it lives, and the
// pointer never changes.
#[cfg(CONFIG_PCI)]
unsafe impl<const SIZE: usize> DmbMemory for crate::pci::MemBar<SIZE> {
    fn base(&self) -> *mut u8 {
        self.as_ptr()
    }

    fn size(&self) -> usize {
        self.len()
    }
}

impl EventType {
    fn from_raw(t: u32) -> Option<Self> {
        match t {
            bindings::dibs_event_type_DIBS_BUF_EVENT => Some(Self::Buffer),
            bindings::dibs_event_type_DIBS_DEV_EVENT => Some(Self::Device),
            bindings::dibs_event_type_DIBS_SW_EVENT => Some(Self::Software),
            _ => None,
        }
    }
}

/// A DIBS client: sees the DIBS devices come and go, and gets the signals and events of the
/// devices it uses (`struct dibs_client_ops`).
#[vtable]
pub trait Client: Send + Sync + Sized + 'static {
    /// A device was added, or existed when the client registered. Process context; the
    /// device stays usable until [`Client::del_dev`] (keep an `ARef` to hold on to it).
    fn add_dev(&self, dev: &Device);

    /// A device is going away: it no longer delivers anything to this client, and the client
    /// must not use it after this returns. Process context.
    fn del_dev(&self, dev: &Device);

    /// A DMB of this client at `idx` was signalled (`dmbemask`: which signals). Called with
    /// the device's lock held and interrupts off: must not sleep.
    fn handle_irq(&self, _dev: &Device, _idx: u32, _dmbemask: u16) {}

    /// The device reports `event`. Same context as [`Client::handle_irq`].
    fn handle_event(&self, _dev: &Device, _event: &Event) {}
}

/// The registered Rust client: the callbacks get only a device, so they find their client
/// here. The DIBS layer holds at most one Rust client at a time.
static RUST_CLIENT: core::sync::atomic::AtomicPtr<c_void> =
    core::sync::atomic::AtomicPtr::new(core::ptr::null_mut());

/// The registration of a DIBS client with the DIBS layer.
///
/// While it lives, the client's callbacks run for every DIBS device; dropping it unregisters
/// the client (its [`Client::del_dev`] runs for each device first). Only one Rust client can
/// be registered at a time (`EBUSY` otherwise).
///
/// # Invariants
///
/// `inner.client` is registered with `dibs_register_client()`, and `RUST_CLIENT` points to
/// `inner`, whose address never changes.
pub struct ClientRegistration<C: Client> {
    inner: Pin<KBox<ClientInner<C>>>,
}

// SAFETY: The C structures are written once, before registration, and only read afterwards
// (by the DIBS layer, under its own locks); `C` is `Send`.
unsafe impl<C: Client> Send for ClientRegistration<C> {}
// SAFETY: `&self` only reads the client, which is `Sync`.
unsafe impl<C: Client> Sync for ClientRegistration<C> {}

#[pin_data]
struct ClientInner<C: Client> {
    #[pin]
    client: Opaque<bindings::dibs_client>,
    #[pin]
    ops: Opaque<bindings::dibs_client_ops>,
    #[pin]
    data: C,
}

impl<C: Client> ClientRegistration<C> {
    /// Registers the client `init` builds as a DIBS client named `name`: [`Client::add_dev`] runs for the
    /// devices that exist, before this returns.
    pub fn new(name: &'static CStr, init: impl PinInit<C, Error>) -> Result<Self> {
        let inner = KBox::pin_init(
            try_pin_init!(ClientInner::<C> {
                client <- Opaque::ffi_init(|_| {}),
                ops <- Opaque::ffi_init(|p: *mut bindings::dibs_client_ops| {
                    // SAFETY: `p` is valid for writes.
                    unsafe {
                        p.write(bindings::dibs_client_ops {
                            add_dev: Some(add_dev_callback::<C>),
                            del_dev: Some(del_dev_callback::<C>),
                            handle_irq: Some(handle_irq_callback::<C>),
                            handle_event: Some(handle_event_callback::<C>),
                        })
                    };
                }),
                data <- init,
            }? Error),
            GFP_KERNEL,
        )?;
        let ptr: *const ClientInner<C> = &*inner;
        // SAFETY: `client` and `ops` live in the pinned allocation.
        unsafe {
            inner.client.get().write(bindings::dibs_client {
                name: name.as_char_ptr(),
                ops: inner.ops.get(),
                id: 0,
            })
        };
        // Claim the slot before the callbacks can run.
        if RUST_CLIENT
            .compare_exchange(
                core::ptr::null_mut(),
                ptr.cast_mut().cast(),
                core::sync::atomic::Ordering::AcqRel,
                core::sync::atomic::Ordering::Acquire,
            )
            .is_err()
        {
            return Err(EBUSY);
        }
        client::CLIENT_RAW.store(inner.client.get(), core::sync::atomic::Ordering::Release);
        // SAFETY: `client` is initialised and pinned; it stays registered until `drop`.
        let ret = unsafe { bindings::dibs_register_client(inner.client.get()) };
        if ret != 0 {
            client::CLIENT_RAW.store(core::ptr::null_mut(), core::sync::atomic::Ordering::Release);
            RUST_CLIENT.store(core::ptr::null_mut(), core::sync::atomic::Ordering::Release);
            return Err(Error::from_errno(ret));
        }
        // INVARIANT: Registered, and the slot points to `inner`.
        Ok(Self { inner })
    }

    /// The client.
    pub fn client(&self) -> &C {
        &self.inner.data
    }
}

impl<C: Client> Drop for ClientRegistration<C> {
    fn drop(&mut self) {
        // The DIBS layer refuses to unregister a client with DMBs (and would keep calling it):
        // wait for the client's to go.
        let mut waited = 0u32;
        while client::LIVE_DMBS.load(core::sync::atomic::Ordering::Acquire) != 0 {
            if waited % 1000 == 0 {
                pr_warn!("dibs: waiting for the Rust client's DMBs to be unregistered\n");
            }
            waited = waited.wrapping_add(1);
            crate::time::delay::fsleep(crate::time::Delta::from_millis(10));
        }
        // SAFETY: Registered (type invariant). None of the client's DMBs is left, so
        // unregistering cannot fail with `EBUSY`; after it returns no callback runs (each
        // device's `del_dev` has waited for the client's users of it).
        unsafe { bindings::dibs_unregister_client(self.inner.client.get()) };
        client::CLIENT_RAW.store(core::ptr::null_mut(), core::sync::atomic::Ordering::Release);
        RUST_CLIENT.store(core::ptr::null_mut(), core::sync::atomic::Ordering::Release);
    }
}

/// The registered client of type `C`.
///
/// # Safety
///
/// Called from a callback of `C`'s ops table: those run only while `C`'s registration is
/// registered, and so owns the slot (type invariants of [`ClientRegistration`]).
unsafe fn registered<'a, C: Client>() -> &'a C {
    let p = RUST_CLIENT.load(core::sync::atomic::Ordering::Acquire);
    // SAFETY: Per the safety requirements `p` is `C`'s live `ClientInner`.
    unsafe { &(*p.cast::<ClientInner<C>>()).data }
}

// The callbacks below are `C`'s `dibs_client_ops`, called by the DIBS layer with a live device
// while `C` is registered.

unsafe extern "C" fn add_dev_callback<C: Client>(dev: *mut bindings::dibs_dev) {
    // SAFETY: See above.
    let d = unsafe { Device::from_raw(dev) };
    // The device's users are counted from here (see `client`); without that, the client does
    // not get the device.
    let presence = match KBox::pin_init(client::Presence::new(), GFP_KERNEL) {
        Ok(p) => p,
        Err(_) => {
            dev_err!(d.as_dev(), "dibs: out of memory; the Rust client does not use this device\n");
            return;
        }
    };
    // SAFETY: The `Presence` stays pinned: it is only turned back into a box in
    // `del_dev_callback`, to be freed.
    let raw = KBox::into_raw(unsafe { Pin::into_inner_unchecked(presence) });
    // `raw` comes from a box, so it is not null.
    if let Some(old) = d.set_presence(NonNull::new(raw)) {
        // Cannot happen: `del_dev` clears it. Put it back and keep the old one.
        d.set_presence(Some(old));
        // SAFETY: `raw` came from `KBox::into_raw` above and was never shared.
        drop(unsafe { KBox::from_raw(raw) });
        return;
    }
    // SAFETY: See above.
    unsafe { registered::<C>().add_dev(d) }
}

unsafe extern "C" fn del_dev_callback<C: Client>(dev: *mut bindings::dibs_dev) {
    // SAFETY: See above.
    let d = unsafe { Device::from_raw(dev) };
    // No new users from here on.
    let Some(presence) = d.set_presence(None) else {
        // The client never got the device.
        return;
    };
    // SAFETY: See above.
    unsafe { registered::<C>().del_dev(d) };
    // SAFETY: `presence` came from `KBox::into_raw` in `add_dev_callback`; the device's entry
    // no longer names it, and it is freed only below, once its users are gone.
    unsafe { presence.as_ref() }.retire_and_wait(d);
    // SAFETY: See above; nothing uses it any more.
    drop(unsafe { KBox::from_raw(presence.as_ptr()) });
}

unsafe extern "C" fn handle_irq_callback<C: Client>(
    dev: *mut bindings::dibs_dev,
    idx: c_uint,
    dmbemask: u16,
) {
    // SAFETY: See above.
    let d = unsafe { Device::from_raw(dev) };
    // A DMB with a handler of its own gets the signal there.
    // SAFETY: The DIBS layer calls `handle_irq` with the device's lock held.
    if let Some(p) = unsafe { d.presence_locked() } {
        if p.signal(idx, dmbemask) {
            return;
        }
    }
    // SAFETY: See above.
    unsafe { registered::<C>().handle_irq(d, idx, dmbemask) }
}

unsafe extern "C" fn handle_event_callback<C: Client>(
    dev: *mut bindings::dibs_dev,
    event: *const bindings::dibs_event,
) {
    // SAFETY: See above; `event` is live for the call.
    let raw = unsafe { &*event };
    let Some(ty) = EventType::from_raw(raw.type_) else {
        return;
    };
    let event = Event {
        ty,
        subtype: raw.subtype,
        gid: Gid::from_raw(&raw.gid),
        buffer_tok: raw.buffer_tok,
        time: raw.time,
        data: raw.data,
    };
    // SAFETY: See above.
    unsafe { registered::<C>().handle_event(Device::from_raw(dev), &event) }
}
