// SPDX-License-Identifier: GPL-2.0

//! The ivshmem device's register BAR (BAR 0), as QEMU's ivshmem spec defines it.

use kernel::io::register;

register! {
    /// The VM's own peer ID on the ivshmem server ("IVPosition"), read-only.
    pub(crate) IV_POSITION(u32) @ 0x08 {
        15:0 id;
    }

    /// Writing rings vector `vector` of peer `peer`; the device drops doorbells to peers the
    /// server does not know.
    pub(crate) DOORBELL(u32) @ 0x0c {
        31:16 peer;
        15:0 vector;
    }
}

/// The size of BAR 0.
pub(crate) const END: usize = 0x100;
