// SPDX-License-Identifier: GPL-2.0

//! The node's names (`struct new_utsname`), as `uname(2)` reports them.
//!
//! C header: [`include/linux/utsname.h`](srctree/include/linux/utsname.h)

use crate::bindings;

/// The length of a `new_utsname` field, its nul included (`__NEW_UTS_LEN + 1`).
pub const LEN: usize = 65;

/// The node name (`hostname`) of the calling task's UTS namespace, nul-padded.
pub fn nodename() -> [u8; LEN] {
    let mut out = [0u8; LEN];
    // SAFETY: `out` is writable for `LEN` bytes; the helper copies at most that, nul-padded.
    unsafe { bindings::uts_nodename_copy(out.as_mut_ptr().cast(), LEN) };
    out
}
