// SPDX-License-Identifier: GPL-2.0

//! Fallback statistics: why connections stayed on TCP, counted per reason and role, and how
//! many handshakes failed outright (the connection was dropped).
//!
//! The C implementation keeps these per network namespace for its generic netlink interface
//! (`SMC_NETLINK_GET_FBACK_STATS`); here they are module-wide for now, readable in debugfs
//! (`smc_rs/fallback`), until the module has per-namespace state and the netlink family.
//!
//! Lock-free: a reason takes a slot by compare-and-exchange of its code into a free one (at
//! most [`MAX_REASONS`] distinct reasons, as C's `SMC_MAX_FBACK_RSN_CNT`; more are counted
//! under `other`).

use crate::clc::DeclineReason;
use core::{
    fmt,
    sync::atomic::{AtomicU32, AtomicU64, Ordering},
};

/// Distinct reasons kept per role (C: `SMC_MAX_FBACK_RSN_CNT`).
const MAX_REASONS: usize = 30;

struct Slot {
    /// The reason's code, 0 while free.
    code: AtomicU32,
    count: AtomicU64,
}

/// Fallback counts of one role.
pub(crate) struct Fallbacks {
    slots: [Slot; MAX_REASONS],
    /// Reasons beyond the slots.
    other: AtomicU64,
    /// Handshakes that failed without a fallback (C: `*_hshake_err_cnt`).
    errors: AtomicU64,
}

impl Fallbacks {
    const fn new() -> Self {
        Self {
            slots: [const { Slot { code: AtomicU32::new(0), count: AtomicU64::new(0) } };
                MAX_REASONS],
            other: AtomicU64::new(0),
            errors: AtomicU64::new(0),
        }
    }

    /// Counts a fallback for `reason`.
    pub(crate) fn fallback(&self, reason: DeclineReason) {
        let code = reason.code();
        for slot in &self.slots {
            let taken = match slot.code.load(Ordering::Acquire) {
                0 => match slot.code.compare_exchange(0, code, Ordering::AcqRel, Ordering::Acquire)
                {
                    Ok(_) => code,
                    Err(other) => other,
                },
                c => c,
            };
            if taken == code {
                slot.count.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        self.other.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a handshake that failed (the connection was dropped).
    pub(crate) fn error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    /// How many handshakes failed.
    #[cfg_attr(not(CONFIG_KUNIT = "y"), allow(dead_code))]
    pub(crate) fn error_count(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    fn show(&self, role: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for slot in &self.slots {
            let code = slot.code.load(Ordering::Acquire);
            if code != 0 {
                writeln!(f, "{role} {code:#010x} {}", slot.count.load(Ordering::Relaxed))?;
            }
        }
        writeln!(f, "{role} other {}", self.other.load(Ordering::Relaxed))?;
        writeln!(f, "{role} hshake_err {}", self.errors.load(Ordering::Relaxed))
    }
}

/// Connections this node accepted.
pub(crate) static SERVER: Fallbacks = Fallbacks::new();
/// Connections this node made.
pub(crate) static CLIENT: Fallbacks = Fallbacks::new();

/// The debugfs view: one line per role and reason, `<role> <code> <count>`.
pub(crate) struct FallbackView;

impl fmt::Debug for FallbackView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        SERVER.show("srv", f)?;
        CLIENT.show("clnt", f)
    }
}
