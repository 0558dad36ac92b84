// SPDX-License-Identifier: GPL-2.0

//! PCI memory BARs mapped as ordinary, cacheable system memory.
//!
//! Some PCI functions expose a BAR that is not device registers but plain
//! memory: QEMU's `ivshmem` device, for one, backs BAR 2 with host RAM shared
//! between virtual machines. Mapping such a BAR uncached (as [`Bar`] does with
//! `pci_iomap()`) makes every access slow for no gain; [`MemBar`] maps it
//! write-back with `memremap(MEMREMAP_WB)` instead.
//!
//! The memory behind a [`MemBar`] may be written at any time by someone else
//! (another virtual machine, a device): it is only ever accessed through the
//! volatile accessors of the [`Io`] trait, never through Rust references.
//!
//! [`Bar`]: super::Bar
//! [`Io`]: crate::io::Io

use super::Device;
use crate::{
    bindings,
    device,
    io::{IoBase, Region, SysMem},
    prelude::*,
    str::CStr,
};

/// A PCI memory BAR mapped write-back.
///
/// Accesses go through [`Io`](crate::io::Io), which bounds-checks them against the BAR size
/// (at compile time for offsets below `SIZE`).
///
/// # Invariants
///
/// - `addr` is the start of a `memremap(MEMREMAP_WB)` mapping of `len` bytes of BAR `num` of
///   `pdev`, and the BAR's region has been requested with `pci_request_region()`; both are
///   released on drop.
/// - `len >= SIZE`.
pub struct MemBar<'a, const SIZE: usize = 0> {
    pdev: &'a Device<device::Bound>,
    addr: *mut u8,
    len: usize,
    num: i32,
}

// SAFETY: A `MemBar` is a handle to a memory mapping that any thread may access through volatile
// accessors; it holds no thread-affine state.
unsafe impl<const SIZE: usize> Send for MemBar<'_, SIZE> {}

// SAFETY: All accesses through `&MemBar` are volatile reads and writes of plain memory.
unsafe impl<const SIZE: usize> Sync for MemBar<'_, SIZE> {}

impl<'a, const SIZE: usize> MemBar<'a, SIZE> {
    fn new(pdev: &'a Device<device::Bound>, num: u32, name: &'static CStr) -> Result<Self> {
        let len = usize::try_from(pdev.resource_len(num)?)?;
        if len == 0 || len < SIZE {
            return Err(ENOMEM);
        }
        let start = pdev.resource_start(num)?;
        let num = i32::try_from(num)?;

        // SAFETY: `pdev` is valid by the invariants of `Device`; `num` was checked by
        // `resource_len()`; `name` is a valid C string that outlives the region (`'static`).
        let ret = unsafe { bindings::pci_request_region(pdev.as_raw(), num, name.as_char_ptr()) };
        if ret != 0 {
            return Err(EBUSY);
        }

        // SAFETY: `start..start + len` is the physical range of the BAR just requested.
        let addr = unsafe {
            bindings::memremap(start, len, bindings::MEMREMAP_WB as crate::ffi::c_ulong)
        };
        if addr.is_null() {
            // SAFETY: The region was requested above and is not used by anyone else.
            unsafe { bindings::pci_release_region(pdev.as_raw(), num) };
            return Err(ENOMEM);
        }

        // INVARIANT: The region is requested and `addr` maps all of it write-back.
        Ok(Self {
            pdev,
            addr: addr.cast(),
            len,
            num,
        })
    }

    /// Returns the size of the BAR in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Returns `true` if the BAR is empty (never the case for a mapped BAR).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<const SIZE: usize> Drop for MemBar<'_, SIZE> {
    fn drop(&mut self) {
        // SAFETY: By the type invariants, `addr` is a live `memremap()` mapping and the region
        // `num` of `pdev` is requested; neither is used after this.
        unsafe {
            bindings::memunmap(self.addr.cast());
            bindings::pci_release_region(self.pdev.as_raw(), self.num);
        }
    }
}

impl<'a, const SIZE: usize> IoBase<'a> for &'a MemBar<'_, SIZE> {
    type Backend = crate::io::SysMemBackend;
    type Target = Region<SIZE>;

    #[inline]
    fn as_view(self) -> SysMem<'a, Region<SIZE>> {
        let ptr = Region::<SIZE>::ptr_from_raw_parts_mut(self.addr, self.len);
        // SAFETY: By the type invariants, `addr..addr + len` is mapped kernel memory for as long
        // as `self` lives, which outlives `'a`; `len >= SIZE`.
        unsafe { SysMem::new(ptr) }
    }
}

impl Device<device::Bound> {
    /// Maps PCI memory BAR `bar` write-back after requesting its region.
    ///
    /// Use this for BARs backed by ordinary memory; device registers want
    /// [`Device::iomap_region_sized`]. Offsets below `SIZE` are bounds-checked at compile time.
    ///
    /// # Examples
    ///
    /// ```
    /// # use kernel::{device::Bound, io::Io, pci};
    /// fn first_word(pdev: &pci::Device<Bound>) -> Result<u64> {
    ///     let shm = pdev.memremap_bar_sized::<4096>(2, c"example")?;
    ///     Ok((&shm).read64(0))
    /// }
    /// ```
    pub fn memremap_bar_sized<'a, const SIZE: usize>(
        &'a self,
        bar: u32,
        name: &'static CStr,
    ) -> Result<MemBar<'a, SIZE>> {
        MemBar::new(self, bar, name)
    }
}
