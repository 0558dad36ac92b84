// SPDX-License-Identifier: GPL-2.0

//! Sysctls: integer settings under `/proc/sys`, one set per network namespace.
//!
//! A module keeps its settings in a type of its own whose fields are [`Int`]s and [`UInt`]s,
//! and describes them by implementing [`Table`]: one [`Entry`] per file, with its name, mode
//! and range. [`Registration::new_net`] puts the entries under a path (`"net/smc"` makes
//! `/proc/sys/net/smc/*`) in one namespace, for one shared instance of the settings, which the
//! module reads and writes with [`Int::get`]/[`Int::set`] (atomically: a reader never sees
//! half a write, and a netlink command may set the same value a sysctl shows).
//!
//! The text is parsed and formatted by the kernel's own `proc_do*` handlers, so ranges,
//! errors (`EINVAL` out of range) and formatting are those of every C sysctl. They work on a
//! copy of the value; the Rust value is stored only when a write was accepted.
//!
//! Unregistering waits for handlers that are running, so the settings outlive every access
//! through `/proc/sys`.
//!
//! C header: [`include/linux/sysctl.h`](srctree/include/linux/sysctl.h)
//!
//! # Examples
//!
//! ```
//! use kernel::sysctl::{Entry, Int, Kind, Registration, Table};
//! use kernel::{net::socket::Net, prelude::*, sync::Arc};
//!
//! struct Limits {
//!     depth: Int,
//! }
//!
//! impl Table for Limits {
//!     const ENTRIES: &'static [Entry<Self>] = &[Entry {
//!         name: c"depth",
//!         mode: 0o644,
//!         kind: Kind::Int { var: |l| &l.depth, min: 1, max: 64 },
//!     }];
//! }
//!
//! let limits = Arc::new(Limits { depth: Int::new(8) }, GFP_KERNEL)?;
//! let reg = Registration::new_net(Net::init_ns(), c"net/rust_sysctl_doctest", limits.clone())?;
//! assert_eq!(reg.vars().depth.get(), 8);
//! limits.depth.set(9);
//! assert_eq!(reg.vars().depth.get(), 9);
//! drop(reg);
//! # Ok::<(), Error>(())
//! ```

use crate::{bindings, ffi, net::socket::Net, prelude::*, sync::Arc};
use core::{
    ptr::NonNull,
    sync::atomic::{AtomicI32, AtomicU32, Ordering},
};

/// A signed integer setting.
#[repr(transparent)]
pub struct Int(AtomicI32);

impl Int {
    /// A setting of value `v`.
    pub const fn new(v: i32) -> Self {
        Self(AtomicI32::new(v))
    }

    /// The current value.
    pub fn get(&self) -> i32 {
        self.0.load(Ordering::Relaxed)
    }

    /// Sets the value (from the module: the range is the module's to keep).
    pub fn set(&self, v: i32) {
        self.0.store(v, Ordering::Relaxed)
    }
}

/// An unsigned integer setting.
#[repr(transparent)]
pub struct UInt(AtomicU32);

impl UInt {
    /// A setting of value `v`.
    pub const fn new(v: u32) -> Self {
        Self(AtomicU32::new(v))
    }

    /// The current value.
    pub fn get(&self) -> u32 {
        self.0.load(Ordering::Relaxed)
    }

    /// Sets the value (from the module: the range is the module's to keep).
    pub fn set(&self, v: u32) {
        self.0.store(v, Ordering::Relaxed)
    }
}

/// What a file holds, where the value is in the settings `V`, and which values it takes.
pub enum Kind<V: 'static> {
    /// A signed integer in `min..=max` (C: `proc_dointvec_minmax`).
    Int {
        /// The value in the settings.
        var: fn(&V) -> &Int,
        /// The smallest value a write may set.
        min: i32,
        /// The largest value a write may set.
        max: i32,
    },
    /// An unsigned integer in `min..=max` (C: `proc_douintvec_minmax`).
    UInt {
        /// The value in the settings.
        var: fn(&V) -> &UInt,
        /// The smallest value a write may set.
        min: u32,
        /// The largest value a write may set.
        max: u32,
    },
    /// A time kept in jiffies and shown in seconds (C: `proc_dointvec_jiffies`).
    Jiffies {
        /// The value in the settings, in jiffies.
        var: fn(&V) -> &Int,
    },
}

/// One file of a table.
pub struct Entry<V: 'static> {
    /// The file name.
    pub name: &'static CStr,
    /// The file mode (`0o644`: root writes, everyone reads).
    pub mode: u16,
    /// What it holds.
    pub kind: Kind<V>,
}

/// Settings that can be shown as a sysctl table.
pub trait Table: Send + Sync + Sized + 'static {
    /// The files, in order.
    const ENTRIES: &'static [Entry<Self>];
}

/// A `proc_handler` of the kernel's (`proc_dointvec_minmax()` and its like).
type ProcHandler = unsafe extern "C" fn(
    *const bindings::ctl_table,
    ffi::c_int,
    *mut ffi::c_void,
    *mut usize,
    *mut bindings::loff_t,
) -> ffi::c_int;

/// One of the kernel's text handlers and the value type it converts.
trait Proc {
    /// The Rust value.
    type Var;
    /// The C value the handler reads and writes.
    type Raw;
    /// The kernel's handler.
    const HANDLER: ProcHandler;
    fn load(v: &Self::Var) -> Self::Raw;
    fn store(v: &Self::Var, raw: Self::Raw);
}

struct IntMinMax;
impl Proc for IntMinMax {
    type Var = Int;
    type Raw = ffi::c_int;
    const HANDLER: ProcHandler = bindings::proc_dointvec_minmax;
    fn load(v: &Int) -> ffi::c_int {
        v.get()
    }
    fn store(v: &Int, raw: ffi::c_int) {
        v.set(raw)
    }
}

struct UIntMinMax;
impl Proc for UIntMinMax {
    type Var = UInt;
    type Raw = ffi::c_uint;
    const HANDLER: ProcHandler = bindings::proc_douintvec_minmax;
    fn load(v: &UInt) -> ffi::c_uint {
        v.get()
    }
    fn store(v: &UInt, raw: ffi::c_uint) {
        v.set(raw)
    }
}

struct IntJiffies;
impl Proc for IntJiffies {
    type Var = Int;
    type Raw = ffi::c_int;
    const HANDLER: ProcHandler = bindings::proc_dointvec_jiffies;
    fn load(v: &Int) -> ffi::c_int {
        v.get()
    }
    fn store(v: &Int, raw: ffi::c_int) {
        v.set(raw)
    }
}

/// `ctl_table::proc_handler` of an entry of kind `P`: runs the kernel's handler on a copy of
/// the value and stores the copy back if a write was accepted.
///
/// # Safety
///
/// `ctl` is an entry of a live [`Registration`]: its `data` points to a `P::Var` and its
/// `extra1`/`extra2` (if used by `P::HANDLER`) to `P::Raw` bounds, all outliving the call.
unsafe extern "C" fn handler<P: Proc>(
    ctl: *const bindings::ctl_table,
    dir: ffi::c_int,
    buf: *mut ffi::c_void,
    lenp: *mut usize,
    ppos: *mut bindings::loff_t,
) -> ffi::c_int {
    // SAFETY: `ctl` is valid for reads (the caller's guarantee).
    let mut copy = unsafe { *ctl };
    // SAFETY: `data` points to a live `P::Var` (the caller's guarantee).
    let var = unsafe { &*copy.data.cast::<P::Var>() };
    let mut raw = P::load(var);
    copy.data = (&raw mut raw).cast();
    // SAFETY: `copy` is `*ctl` with its data at `raw`, a `P::Raw` that lives through the call
    // (`maxlen` is its size, set at registration); the buffer arguments are the caller's.
    let ret = unsafe { P::HANDLER(&copy, dir, buf, lenp, ppos) };
    if ret == 0 && dir != 0 {
        P::store(var, raw);
    }
    ret
}

/// A table of settings `V` registered in one network namespace; unregistered on drop.
///
/// # Invariants
///
/// `header` was returned by `register_net_sysctl_sz()` for `_table`, whose entries point into
/// `*vars` and into `V::ENTRIES`; it is unregistered only on drop.
pub struct Registration<V: Table> {
    header: NonNull<bindings::ctl_table_header>,
    _table: KVec<bindings::ctl_table>,
    vars: Arc<V>,
}

// SAFETY: The registration is a handle for unregistering (from any thread) and a shared
// reference to `V`, which is `Send + Sync`.
unsafe impl<V: Table> Send for Registration<V> {}
// SAFETY: `&self` only gives out `&V`, which is `Sync`.
unsafe impl<V: Table> Sync for Registration<V> {}

impl<V: Table> Registration<V> {
    /// Registers `V::ENTRIES` under `path` in `net`, for `vars`. Fails with `ENOMEM`, or if
    /// the path already has files of those names (the kernel logs which).
    pub fn new_net(net: &Net, path: &'static CStr, vars: Arc<V>) -> Result<Self> {
        let mut table = KVec::with_capacity(V::ENTRIES.len(), GFP_KERNEL)?;
        for e in V::ENTRIES {
            let (data, handler, maxlen, extra1, extra2): (*const ffi::c_void, bindings::proc_handler, usize, *const ffi::c_void, *const ffi::c_void) =
                match &e.kind {
                    Kind::Int { var, min, max } => (
                        core::ptr::from_ref(var(&vars)).cast(),
                        Some(handler::<IntMinMax>),
                        size_of::<ffi::c_int>(),
                        core::ptr::from_ref(min).cast(),
                        core::ptr::from_ref(max).cast(),
                    ),
                    Kind::UInt { var, min, max } => (
                        core::ptr::from_ref(var(&vars)).cast(),
                        Some(handler::<UIntMinMax>),
                        size_of::<ffi::c_uint>(),
                        core::ptr::from_ref(min).cast(),
                        core::ptr::from_ref(max).cast(),
                    ),
                    Kind::Jiffies { var } => (
                        core::ptr::from_ref(var(&vars)).cast(),
                        Some(handler::<IntJiffies>),
                        size_of::<ffi::c_int>(),
                        core::ptr::null(),
                        core::ptr::null(),
                    ),
                };
            table.push(
                bindings::ctl_table {
                    procname: e.name.as_char_ptr(),
                    data: data.cast_mut(),
                    // The size of a C integer: always fits.
                    maxlen: maxlen as ffi::c_int,
                    mode: e.mode,
                    proc_handler: handler,
                    poll: core::ptr::null_mut(),
                    extra1: extra1.cast_mut(),
                    extra2: extra2.cast_mut(),
                },
                GFP_KERNEL,
            )?;
        }
        // SAFETY: `net` is live; `path` is a NUL-terminated string that lives for ever;
        // `table` holds `table.len()` valid entries whose handlers' requirements hold while
        // the registration lives: `data` points into `*vars` (kept by the `Arc`), the
        // bounds into `V::ENTRIES` (static). The entries stay put: a `KVec`'s buffer does
        // not move with it and is not changed again.
        let header = unsafe {
            bindings::register_net_sysctl_sz(net.as_ptr(), path.as_char_ptr(), table.as_ptr(), table.len())
        };
        let header = NonNull::new(header).ok_or(ENOMEM)?;
        // INVARIANT: Registered just above for `table`.
        Ok(Self { header, _table: table, vars })
    }

    /// The settings.
    pub fn vars(&self) -> &V {
        &self.vars
    }
}

impl<V: Table> Drop for Registration<V> {
    fn drop(&mut self) {
        // SAFETY: Registered (type invariant). Returns once no handler of the table runs:
        // only then are `_table` and `vars` dropped (after this body).
        unsafe { bindings::unregister_net_sysctl_table(self.header.as_ptr()) };
    }
}
