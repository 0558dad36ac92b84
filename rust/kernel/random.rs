// SPDX-License-Identifier: GPL-2.0

//! Random numbers from the kernel's CRNG.
//!
//! C header: [`include/linux/random.h`](srctree/include/linux/random.h)

use crate::bindings;

/// Returns a random `u64` (`get_random_u64()`).
///
/// Suitable for tokens and identifiers that must not collide or be guessed.
///
/// # Examples
///
/// ```
/// let a = kernel::random::u64();
/// let b = kernel::random::u64();
/// assert!(a != b || a != kernel::random::u64());
/// ```
#[inline]
pub fn u64() -> u64 {
    // SAFETY: `get_random_u64()` has no preconditions and may be called from any context.
    unsafe { bindings::get_random_u64() }
}

/// Returns a random `u32` (`get_random_u32()`).
#[inline]
pub fn u32() -> u32 {
    // SAFETY: `get_random_u32()` has no preconditions and may be called from any context.
    unsafe { bindings::get_random_u32() }
}
