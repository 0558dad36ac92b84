// SPDX-License-Identifier: GPL-2.0

//! A static slot for a reference-counted object that a module sets up at init and takes down
//! at exit, so that code with no path to the module's state (socket calls, work items,
//! callbacks) can get a reference to it without `unsafe`.
//!
//! [`GlobalArc::set`] puts an `Arc` in and returns a [`Published`] guard; dropping the guard
//! (at module exit) takes it out again, and [`GlobalArc::get`] returns `None` from then on.
//! References handed out before stay valid (they are `Arc`s): the module is responsible for
//! them being gone before its code goes away, as for any object it created.
//!
//! The slot is guarded by a tiny spinning lock over a pointer copy and a reference count
//! increment, with local interrupts off: no allocation, no sleeping, usable in any context.

use crate::{interrupt::local_interrupt_disable, sync::Arc};
use core::{
    cell::UnsafeCell,
    sync::atomic::{AtomicBool, Ordering},
};

/// A static slot for an `Arc<T>`.
///
/// # Invariants
///
/// `slot` is only accessed while `locked` is held (set by a successful compare-exchange from
/// false, with local interrupts disabled).
pub struct GlobalArc<T: Send + Sync> {
    locked: AtomicBool,
    slot: UnsafeCell<Option<Arc<T>>>,
}

// SAFETY: `slot` is only accessed under the lock (type invariant), and `T` is `Send + Sync`.
unsafe impl<T: Send + Sync> Sync for GlobalArc<T> {}

impl<T: Send + Sync> GlobalArc<T> {
    /// An empty slot.
    pub const fn new() -> Self {
        Self { locked: AtomicBool::new(false), slot: UnsafeCell::new(None) }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Option<Arc<T>>) -> R) -> R {
        // Neither preempted nor interrupted while holding it.
        let irq_off = local_interrupt_disable();
        while self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            core::hint::spin_loop();
        }
        // SAFETY: The lock is held (type invariant).
        let r = f(unsafe { &mut *self.slot.get() });
        self.locked.store(false, Ordering::Release);
        drop(irq_off);
        r
    }

    /// A reference to the object, if one is published.
    pub fn get(&self) -> Option<Arc<T>> {
        self.with(|s| s.clone())
    }

    /// Publishes `value` until the returned guard drops. Fails with `EBUSY` if an object is
    /// published already.
    pub fn set(&'static self, value: Arc<T>) -> crate::error::Result<Published<T>> {
        let refused = self.with(|s| {
            if s.is_some() {
                Some(value)
            } else {
                *s = Some(value);
                None
            }
        });
        match refused {
            // Dropped outside the lock.
            Some(_) => Err(crate::error::code::EBUSY),
            None => Ok(Published { global: self }),
        }
    }
}

impl<T: Send + Sync> Default for GlobalArc<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// The publication of an object in a [`GlobalArc`]; taken out of it on drop.
pub struct Published<T: Send + Sync + 'static> {
    global: &'static GlobalArc<T>,
}

impl<T: Send + Sync> Drop for Published<T> {
    fn drop(&mut self) {
        let old = self.global.with(|s| s.take());
        // The last reference may go here: outside the lock.
        drop(old);
    }
}
