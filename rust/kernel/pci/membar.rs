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
//! volatile accessors of the [`Io`] trait, through atomics ([`MemBar::atomic_u64`]),
//! or copied in and out as bytes ([`MemBar::write_slice`]); never through plain Rust
//! references to its contents.
//!
//! A [`MemBar`] holds a reference to its device rather than borrowing it, so that
//! interrupt handlers, which may outlive the driver's bound data, can share it
//! (in an [`Arc`](crate::sync::Arc)). Its region is released when the last
//! owner drops it, which may be shortly after the driver unbound.
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
    sync::atomic::{Atomic, AtomicType},
    sync::aref::ARef,
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
pub struct MemBar<const SIZE: usize = 0> {
    pdev: ARef<Device>,
    addr: *mut u8,
    len: usize,
    num: i32,
}

// SAFETY: A `MemBar` is a handle to a memory mapping that any thread may access through volatile
// accessors; it holds no thread-affine state.
unsafe impl<const SIZE: usize> Send for MemBar<SIZE> {}

// SAFETY: All accesses through `&MemBar` are volatile reads and writes of plain memory.
unsafe impl<const SIZE: usize> Sync for MemBar<SIZE> {}

impl<const SIZE: usize> MemBar<SIZE> {
    fn new(pdev: &Device<device::Bound>, num: u32, name: &'static CStr) -> Result<Self> {
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
            pdev: pdev.into(),
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

    /// Returns the start of the mapping.
    ///
    /// The `len()` bytes from there stay mapped while `self` lives.
    pub fn as_ptr(&self) -> *mut u8 {
        self.addr
    }

    /// Returns the start of `offset..offset + len` if it lies inside the BAR.
    fn range(&self, offset: usize, len: usize) -> Result<*mut u8> {
        match offset.checked_add(len) {
            Some(end) if end <= self.len => Ok(self.addr.wrapping_add(offset)),
            _ => Err(ERANGE),
        }
    }

    /// Returns the naturally aligned `T` at `offset` as an atomic.
    ///
    /// Fails with `ERANGE` if it does not lie inside the BAR, `EINVAL` if it is misaligned.
    pub fn atomic<T: AtomicType>(&self, offset: usize) -> Result<&Atomic<T>> {
        let ptr = self.range(offset, core::mem::size_of::<T>())?;
        if (ptr as usize) % core::mem::align_of::<T>() != 0 {
            return Err(EINVAL);
        }
        // SAFETY: `ptr` is inside the mapping and aligned for `T` (both checked above), and the
        // mapping outlives the returned reference. Every bit pattern is a valid integer, and concurrent writers are
        // what atomics are for.
        Ok(unsafe { Atomic::from_ptr(ptr.cast::<T>()) })
    }

    /// Returns the `u64` at `offset` as an atomic; see [`MemBar::atomic`].
    pub fn atomic_u64(&self, offset: usize) -> Result<&Atomic<u64>> {
        self.atomic(offset)
    }

    /// Returns the `u32` at `offset` as an atomic; see [`MemBar::atomic`].
    pub fn atomic_u32(&self, offset: usize) -> Result<&Atomic<u32>> {
        self.atomic(offset)
    }

    /// Copies `data` into the BAR at `offset`.
    pub fn write_slice(&self, offset: usize, data: &[u8]) -> Result {
        let dst = self.range(offset, data.len())?;
        // SAFETY: `dst..dst + data.len()` is inside the mapping (checked above), which Rust
        // code never references, so it cannot overlap `data`.
        unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), dst, data.len()) };
        Ok(())
    }

    /// Copies `out.len()` bytes from the BAR at `offset` into `out`.
    pub fn read_slice(&self, offset: usize, out: &mut [u8]) -> Result {
        let src = self.range(offset, out.len())?;
        // SAFETY: As in `write_slice`, the other way round.
        unsafe { core::ptr::copy_nonoverlapping(src, out.as_mut_ptr(), out.len()) };
        Ok(())
    }

    /// Sets `len` bytes of the BAR at `offset` to zero.
    pub fn zero(&self, offset: usize, len: usize) -> Result {
        let dst = self.range(offset, len)?;
        // SAFETY: `dst..dst + len` is inside the mapping (checked above).
        unsafe { core::ptr::write_bytes(dst, 0, len) };
        Ok(())
    }
}

impl<const SIZE: usize> Drop for MemBar<SIZE> {
    fn drop(&mut self) {
        // SAFETY: By the type invariants, `addr` is a live `memremap()` mapping and the region
        // `num` of `pdev` is requested; neither is used after this.
        unsafe {
            bindings::memunmap(self.addr.cast());
            bindings::pci_release_region(self.pdev.as_raw(), self.num);
        }
    }
}

impl<'a, const SIZE: usize> IoBase<'a> for &'a MemBar<SIZE> {
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
    pub fn memremap_bar_sized<const SIZE: usize>(
        &self,
        bar: u32,
        name: &'static CStr,
    ) -> Result<MemBar<SIZE>> {
        MemBar::new(self, bar, name)
    }
}
