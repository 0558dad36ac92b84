// SPDX-License-Identifier: GPL-2.0

//! Per-network-namespace state: a `struct pernet_operations` with `id` and `size`.
//!
//! A module declares where its state's slot number lives, a `static` [`PernetId`], names it
//! in [`PernetState::id`], and registers with [`Registration`]: from then on every network
//! namespace, present and future, carries a `T` (built by [`PernetState::init`], dropped when
//! the namespace goes or the registration does), which [`Net::pernet`] returns.
//!
//! C header: [`include/net/net_namespace.h`](srctree/include/net/net_namespace.h),
//! [`include/net/netns/generic.h`](srctree/include/net/netns/generic.h).
//!
//! # Examples
//!
//! ```
//! use kernel::net::pernet::{PernetId, PernetState, Registration};
//! use kernel::{net::socket::Net, prelude::*};
//! use core::sync::atomic::AtomicU64;
//!
//! struct Counters {
//!     packets: AtomicU64,
//! }
//!
//! static COUNTERS: PernetId<Counters> = PernetId::new();
//!
//! impl PernetState for Counters {
//!     fn id() -> &'static PernetId<Self> {
//!         &COUNTERS
//!     }
//!     fn init(_net: &Net) -> impl PinInit<Self, Error> {
//!         try_init!(Counters { packets: AtomicU64::new(0) }? Error)
//!     }
//! }
//!
//! let reg = KBox::pin_init(Registration::<Counters>::new(), GFP_KERNEL)?;
//! assert!(Net::init_ns().pernet::<Counters>().is_some());
//! drop(reg);
//! assert!(Net::init_ns().pernet::<Counters>().is_none());
//! # Ok::<(), Error>(())
//! ```

use crate::{bindings, error::to_result, net::socket::Net, prelude::*, types::Opaque};
use core::{
    cell::UnsafeCell,
    marker::PhantomData,
    sync::atomic::{AtomicBool, Ordering},
};

/// Where the slot number of a per-namespace state of type `T` is kept (`pernet_operations::id`).
///
/// # Invariants
///
/// While `live` is true, `id` holds the slot that a live [`Registration<T>`] was given, and
/// every live namespace carries an initialised `T` there.
pub struct PernetId<T> {
    id: UnsafeCell<u32>,
    live: AtomicBool,
    _t: PhantomData<fn() -> T>,
}

// SAFETY: `id` is written only by `register_pernet_subsys()` before `live` is set (with
// `Release`) and read only after `live` was seen set (with `Acquire`).
unsafe impl<T> Sync for PernetId<T> {}

impl<T> PernetId<T> {
    /// A slot that no registration uses yet.
    pub const fn new() -> Self {
        Self { id: UnsafeCell::new(0), live: AtomicBool::new(false), _t: PhantomData }
    }
}

impl<T> Default for PernetId<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// State a module keeps in every network namespace.
pub trait PernetState: Send + Sync + Sized + 'static {
    /// The `static` that holds the slot number.
    fn id() -> &'static PernetId<Self>;

    /// Builds the state of a namespace (a new one, or each existing one at registration).
    fn init(net: &Net) -> impl PinInit<Self, Error>;
}

impl Net {
    /// The state of type `T` of this namespace, while a [`Registration<T>`] is live.
    pub fn pernet<T: PernetState>(&self) -> Option<&T> {
        let slot = T::id();
        if !slot.live.load(Ordering::Acquire) {
            return None;
        }
        // SAFETY: `live` is set, so `id` is no longer written (type invariant of `PernetId`).
        let id = unsafe { *slot.id.get() };
        // SAFETY: The namespace is live (invariant of `Net`).
        let p = unsafe { bindings::net_generic(self.as_ptr(), id) };
        // SAFETY: The registration is live, so the namespace carries an initialised `T` at
        // `id`, freed only with the namespace (which outlives `&self`) or the registration
        // (which the module drops only once nothing of it runs).
        Some(unsafe { &*p.cast::<T>() })
    }
}

/// The registration of a per-namespace state `T`; unregistered (and every `T` dropped) on
/// drop.
///
/// # Invariants
///
/// `ops` is registered with `register_pernet_subsys()` with the callbacks of `T`, `id`
/// pointing to `T::id()`'s slot.
#[pin_data(PinnedDrop)]
pub struct Registration<T: PernetState> {
    #[pin]
    ops: Opaque<bindings::pernet_operations>,
    _t: PhantomData<T>,
}

// SAFETY: The registration is only a handle for unregistering, from any thread.
unsafe impl<T: PernetState> Send for Registration<T> {}
// SAFETY: No `&self` method.
unsafe impl<T: PernetState> Sync for Registration<T> {}

impl<T: PernetState> Registration<T> {
    /// Registers `T`: every namespace gets its state before this returns.
    pub fn new() -> impl PinInit<Self, Error> {
        const {
            // `net_generic()` memory comes from `kzalloc()`, aligned to `ARCH_KMALLOC_MINALIGN`.
            assert!(core::mem::align_of::<T>() <= bindings::ARCH_KMALLOC_MINALIGN);
        };
        try_pin_init!(Self {
            ops <- Opaque::try_ffi_init(|ops: *mut bindings::pernet_operations| {
                let slot = T::id();
                if slot.live.load(Ordering::Acquire) {
                    // A second registration would share the slot.
                    return Err(EBUSY);
                }
                // SAFETY: `ops` is valid for writes; all-zero is a valid `pernet_operations`
                // (no callbacks, empty list head to be initialised by registration).
                unsafe {
                    ops.write(core::mem::zeroed());
                    (*ops).init = Some(init_callback::<T>);
                    (*ops).exit = Some(exit_callback::<T>);
                    (*ops).id = slot.id.get();
                    (*ops).size = core::mem::size_of::<T>();
                }
                // SAFETY: `ops` is initialised and pinned; it stays registered until drop.
                to_result(unsafe { bindings::register_pernet_subsys(ops) })?;
                slot.live.store(true, Ordering::Release);
                Ok(())
            }),
            _t: PhantomData,
        })
    }
}

#[pinned_drop]
impl<T: PernetState> PinnedDrop for Registration<T> {
    fn drop(self: Pin<&mut Self>) {
        T::id().live.store(false, Ordering::Release);
        // SAFETY: Registered (type invariant); after this no callback of it runs.
        unsafe { bindings::unregister_pernet_subsys(self.ops.get()) };
    }
}

/// Returns the state slot of `T` in `net`.
///
/// # Safety
///
/// `net` is live and `T`'s registration is under way or live (its `id` is assigned).
unsafe fn slot_of<T: PernetState>(net: *mut bindings::net) -> *mut T {
    // SAFETY: `id` was assigned by `register_pernet_subsys()` before any callback runs and is
    // not written again while the registration lives.
    let id = unsafe { *T::id().id.get() };
    // SAFETY: `net` is live (caller).
    unsafe { bindings::net_generic(net, id) }.cast()
}

/// `pernet_operations::init`: builds `T` in the zeroed memory the core allocated for it.
unsafe extern "C" fn init_callback<T: PernetState>(net: *mut bindings::net) -> i32 {
    // SAFETY: The core calls `init` with a live namespace, after assigning the slot memory.
    let slot = unsafe { slot_of::<T>(net) };
    // SAFETY: `net` is live during the call.
    let init = T::init(unsafe { Net::from_raw(net) });
    // SAFETY: `slot` is valid, aligned (checked in `new`) memory for a `T`, which stays put
    // until `exit_callback` drops it.
    match unsafe { init.__init(slot) } {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `pernet_operations::exit`: drops the namespace's `T` (the core frees the memory).
unsafe extern "C" fn exit_callback<T: PernetState>(net: *mut bindings::net) {
    // SAFETY: `init_callback` succeeded for this namespace (the core calls `exit` only then).
    unsafe { core::ptr::drop_in_place(slot_of::<T>(net)) };
}
