// SPDX-License-Identifier: GPL-2.0

//! Device-managed interrupt handlers on PCI MSI/MSI-X vectors.
//!
//! [`Device::request_vectors`] allocates a range of vectors and installs one
//! handler for all of them. Everything it sets up belongs to the device's
//! managed resources and is torn down when the driver unbinds: `free_irq()`
//! for each vector, then `pci_free_irq_vectors()`. Because the driver never
//! owns the registration, it cannot leak it, and so, unlike
//! [`irq::Registration::new`](crate::irq::Registration::new), requesting
//! vectors this way is safe.
//!
//! The handler is shared through an [`Arc`]: it may run until the driver
//! unbinds, after the driver's own data is gone, so it must not borrow from
//! that data.
//!
//! Each vector is a threaded interrupt: [`VectorHandler::handle`] runs in hard
//! interrupt context and by default only wakes the vector's interrupt thread,
//! where [`VectorHandler::handle_threaded`] runs in process context. A driver
//! that hands work to subsystems whose locks are also taken with interrupts
//! enabled (so that taking them in hard interrupt context would be an
//! inconsistent lock usage) does that work in the thread. An interrupt that
//! arrives while the thread runs makes it run once more, so none is lost.

use super::{Device, IrqTypes};
use crate::{
    bindings, device,
    devres,
    irq::{IrqReturn, ThreadedIrqReturn},
    prelude::*,
    str::CStr,
    sync::{aref::ARef, Arc},
};
use core::ffi::c_void;

/// A handler for interrupts on a set of PCI vectors.
pub trait VectorHandler: Send + Sync + 'static {
    /// The hard interrupt part for vector `vector` (0-based, in allocation order).
    ///
    /// Runs in hard interrupt context. The default wakes the vector's thread, which then runs
    /// [`VectorHandler::handle_threaded`].
    fn handle(&self, _vector: u16) -> ThreadedIrqReturn {
        ThreadedIrqReturn::WakeThread
    }

    /// The threaded part for vector `vector`, after [`VectorHandler::handle`] returned
    /// [`ThreadedIrqReturn::WakeThread`].
    ///
    /// Runs in the vector's interrupt thread (process context, may not sleep for long) with
    /// bottom halves disabled, as a forced-threaded handler does: softirqs it raises (a tasklet
    /// it schedules, say) run on this CPU as soon as it returns, not later in `ksoftirqd`.
    fn handle_threaded(&self, vector: u16) -> IrqReturn;
}

/// What `request_threaded_irq()` gets as its cookie for one vector.
struct Cookie<T: VectorHandler> {
    handler: Arc<T>,
    vector: u16,
    irq: u32,
}

/// The vectors and handlers of one device, released on unbind.
///
/// # Invariants
///
/// - `pdev` has `nvec` vectors allocated by `pci_alloc_irq_vectors()`.
/// - For each element `c` of `cookies[..requested]`, `request_threaded_irq(c.irq, .., c)`
///   succeeded with the address of `c` as cookie; `cookies` is never resized, so those addresses
///   are stable.
struct Vectors<T: VectorHandler> {
    pdev: ARef<super::Device>,
    cookies: KVec<Cookie<T>>,
    requested: usize,
}

impl<T: VectorHandler> Drop for Vectors<T> {
    fn drop(&mut self) {
        for c in &self.cookies[..self.requested] {
            let cookie: *const Cookie<T> = c;
            // SAFETY: By the type invariants, `c.irq` was requested with this exact cookie.
            unsafe { bindings::free_irq(c.irq, cookie.cast_mut().cast()) };
        }
        // SAFETY: By the type invariants the vectors are allocated, and no handler is left.
        unsafe { bindings::pci_free_irq_vectors(self.pdev.as_raw()) };
    }
}

// SAFETY: `Vectors` only holds a device reference and `Arc`s of `Send + Sync` handlers; the raw
// cookies are only dereferenced by the interrupt core.
unsafe impl<T: VectorHandler> Send for Vectors<T> {}

extern "C" fn handle_vector<T: VectorHandler>(_irq: i32, ptr: *mut c_void) -> bindings::irqreturn_t {
    // SAFETY: `ptr` is the cookie passed to `request_threaded_irq()`, a `Cookie<T>` that lives
    // until after `free_irq()` returns (type invariants of `Vectors`).
    let cookie = unsafe { &*ptr.cast::<Cookie<T>>() };
    bindings::irqreturn_t(cookie.handler.handle(cookie.vector) as crate::ffi::c_uint)
}

extern "C" fn handle_vector_thread<T: VectorHandler>(
    _irq: i32,
    ptr: *mut c_void,
) -> bindings::irqreturn_t {
    // SAFETY: As in `handle_vector`: the thread function gets the same cookie.
    let cookie = unsafe { &*ptr.cast::<Cookie<T>>() };
    // SAFETY: The interrupt thread is process context, where bottom halves may be disabled; they
    // are enabled again below, on the same thread, before it returns.
    unsafe { bindings::local_bh_disable() };
    let ret = cookie.handler.handle_threaded(cookie.vector);
    // SAFETY: Disabled above on this thread.
    unsafe { bindings::local_bh_enable() };
    bindings::irqreturn_t(ret as crate::ffi::c_uint)
}

impl Device<device::Bound> {
    /// Allocates between `min` and `max` interrupt vectors of the types in `types` and installs
    /// `handler` on all of them; returns how many vectors were set up.
    ///
    /// The vectors and the handler stay installed until the driver unbinds. `name` shows in
    /// `/proc/interrupts`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use kernel::{device::Bound, irq::IrqReturn, pci, prelude::*, sync::Arc};
    /// # use kernel::sync::atomic::{Atomic, Relaxed};
    /// struct Counter(Atomic<u64>);
    ///
    /// impl pci::VectorHandler for Counter {
    ///     // The hard interrupt part wakes the thread (the default `handle`).
    ///     fn handle_threaded(&self, _vector: u16) -> IrqReturn {
    ///         self.0.fetch_add(1, Relaxed);
    ///         IrqReturn::Handled
    ///     }
    /// }
    ///
    /// fn setup(pdev: &pci::Device<Bound>) -> Result<Arc<Counter>> {
    ///     let counter = Arc::new(Counter(Atomic::new(0)), GFP_KERNEL)?;
    ///     let msix = pci::IrqTypes::default().with(pci::IrqType::MsiX);
    ///     pdev.request_vectors(1, 4, msix, c"example", counter.clone())?;
    ///     Ok(counter)
    /// }
    /// ```
    pub fn request_vectors<T: VectorHandler>(
        &self,
        min: u16,
        max: u16,
        types: IrqTypes,
        name: &'static CStr,
        handler: Arc<T>,
    ) -> Result<u16> {
        // Allocate the cookies before the vectors, so nothing needs undoing if this fails.
        let cookies = KVec::with_capacity(usize::from(max), GFP_KERNEL)?;

        let nvec = {
            let vecs = self.alloc_irq_vectors(u32::from(min), u32::from(max), types)?;
            let n = vecs.len();
            // The allocation is handed over to `Vectors` below, which frees it.
            core::mem::forget(vecs);
            n
        };

        // From here on, dropping `this` undoes everything done so far.
        let mut this = Vectors {
            pdev: self.into(),
            cookies,
            requested: 0,
        };
        for vector in 0..nvec {
            // SAFETY: `self.as_raw()` is a valid `struct pci_dev` with `nvec` vectors allocated.
            let irq = unsafe { bindings::pci_irq_vector(self.as_raw(), vector as u32) };
            let irq = u32::try_from(irq).map_err(|_| EINVAL)?;
            // Within the capacity reserved above (`max >= nvec`): never reallocates.
            this.cookies.push(
                Cookie {
                    handler: handler.clone(),
                    vector: vector as u16,
                    irq,
                },
                GFP_ATOMIC,
            )?;
        }

        for c in this.cookies.iter() {
            let cookie: *const Cookie<T> = c;
            // SAFETY: `handle_vector::<T>` and `handle_vector_thread::<T>` match the cookie's
            // type; the cookie lives in the heap buffer of `this.cookies`, which is never resized
            // and outlives the registration (`free_irq()` in `Vectors::drop`, which also stops
            // the thread); `name` is `'static`.
            let ret = unsafe {
                bindings::request_threaded_irq(
                    c.irq,
                    Some(handle_vector::<T>),
                    Some(handle_vector_thread::<T>),
                    0,
                    name.as_char_ptr(),
                    cookie.cast_mut().cast(),
                )
            };
            crate::error::to_result(ret)?;
            // INVARIANT: One more vector has its handler installed.
            this.requested += 1;
        }

        devres::register(self.as_ref(), this, GFP_KERNEL)?;
        Ok(nvec as u16)
    }
}
