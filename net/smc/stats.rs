// SPDX-License-Identifier: GPL-2.0

//! Connection statistics: why connections stayed on TCP, counted per reason and role, how
//! many handshakes failed outright (the connection was dropped), and how many went on over
//! SMC-D.
//!
//! Kept per network namespace, as in C (for its generic netlink interface,
//! `SMC_NETLINK_GET_FBACK_STATS`, still to come): each namespace has an [`NetStats`], which
//! every SMC socket of the namespace holds a reference to (so its listener's work items can
//! count without a namespace reference). Debugfs (`smc_rs/fallback`) shows the initial
//! namespace's.
//!
//! Lock-free: a reason takes a slot by compare-and-exchange of its code into a free one (at
//! most [`MAX_REASONS`] distinct reasons, as C's `SMC_MAX_FBACK_RSN_CNT`; more are counted
//! under `other`).

use crate::clc::DeclineReason;
use core::{
    fmt,
    sync::atomic::{AtomicU32, AtomicU64, Ordering},
};
use kernel::{
    net::{
        pernet::{PernetId, PernetState},
        socket::Net,
    },
    prelude::*,
    sync::Arc,
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
    /// Connections that went on over SMC-D (C: `smc[CLNT|SERV].succ`, SMC-Dv2).
    smcd: AtomicU64,
}

impl Fallbacks {
    const fn new() -> Self {
        Self {
            slots: [const { Slot { code: AtomicU32::new(0), count: AtomicU64::new(0) } };
                MAX_REASONS],
            other: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            smcd: AtomicU64::new(0),
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

    /// Counts a connection that went on over SMC-D.
    pub(crate) fn smcd(&self) {
        self.smcd.fetch_add(1, Ordering::Relaxed);
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
        writeln!(f, "{role} hshake_err {}", self.errors.load(Ordering::Relaxed))?;
        writeln!(f, "{role} smcd {}", self.smcd.load(Ordering::Relaxed))
    }
}

/// The statistics of one network namespace.
pub(crate) struct NetStats {
    /// Connections accepted.
    pub(crate) server: Fallbacks,
    /// Connections made.
    pub(crate) client: Fallbacks,
}

/// The module's state in each network namespace.
pub(crate) struct SmcNet {
    stats: Arc<NetStats>,
}

static SMC_NET: PernetId<SmcNet> = PernetId::new();

impl PernetState for SmcNet {
    fn id() -> &'static PernetId<Self> {
        &SMC_NET
    }

    fn init(_net: &Net) -> impl PinInit<Self, Error> {
        let stats = Arc::new(NetStats { server: Fallbacks::new(), client: Fallbacks::new() }, GFP_KERNEL);
        try_init!(SmcNet { stats: stats? }? Error)
    }
}

/// The statistics of `net` (`None` only before the module registered its namespace state).
pub(crate) fn of(net: &Net) -> Option<Arc<NetStats>> {
    net.pernet::<SmcNet>().map(|n| n.stats.clone())
}

/// The debugfs view of the initial namespace: one line per role and reason,
/// `<role> <code> <count>`.
pub(crate) struct FallbackView;

impl fmt::Debug for FallbackView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(s) = of(Net::init_ns()) {
            s.server.show("srv", f)?;
            s.client.show("clnt", f)?;
        }
        // All namespaces: CDC messages that failed their checks.
        let ignored = crate::conn::CDC_IGNORED.load(Ordering::Relaxed);
        let refused = crate::conn::CDC_REFUSED.load(Ordering::Relaxed);
        writeln!(f, "cdc ignored {ignored}")?;
        writeln!(f, "cdc refused {refused}")
    }
}
