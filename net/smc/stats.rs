// SPDX-License-Identifier: GPL-2.0

//! Connection statistics: why connections stayed on TCP, counted per reason and role, how
//! many handshakes failed outright (the connection was dropped), and how many went on over
//! SMC-D.
//!
//! Kept per network namespace, as in C, and reported as C's generic netlink interface does
//! (`SMC_NETLINK_GET_STATS`, `SMC_NETLINK_GET_FBACK_STATS`): each namespace's state
//! ([`crate::netns::Netns`]) has a [`NetStats`]. Debugfs (`smc_rs/fallback`) shows the
//! initial namespace's.
//!
//! Lock-free: a reason takes a slot by compare-and-exchange of its code into a free one (at
//! most [`MAX_REASONS`] distinct reasons, as C's `SMC_MAX_FBACK_RSN_CNT`; more are counted
//! under `other`).

use crate::{clc::DeclineReason, netlink::a};
use core::{
    fmt,
    sync::atomic::{AtomicU32, AtomicU64, Ordering},
};
use kernel::{
    bindings,
    net::{
        genl::{Attrs, Dump, NLM_F_MULTI},
        socket::Net,
    },
    prelude::*,
};

/// Distinct reasons kept per role (C: `SMC_MAX_FBACK_RSN_CNT`).
const MAX_REASONS: usize = 36;

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
    /// Fallbacks, every reason (C: `*_fback_cnt`).
    total: AtomicU64,
}

impl Fallbacks {
    const fn new() -> Self {
        Self {
            slots: [const { Slot { code: AtomicU32::new(0), count: AtomicU64::new(0) } };
                MAX_REASONS],
            other: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            smcd: AtomicU64::new(0),
            total: AtomicU64::new(0),
        }
    }

    /// Counts a fallback for `reason`.
    pub(crate) fn fallback(&self, reason: DeclineReason) {
        self.total.fetch_add(1, Ordering::Relaxed);
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

impl NetStats {
    /// A new namespace's: all zero.
    pub(crate) const fn new() -> Self {
        Self { server: Fallbacks::new(), client: Fallbacks::new() }
    }

    /// The attributes of `SMC_GEN_STATS` (C: `smc_nl_get_stats()`): SMC-D, then SMC-R (all
    /// zero: no SMC-R here), then the handshake errors. Only the connection counts are kept
    /// so far; the byte, buffer and call counters report 0.
    pub(crate) fn put_stats(&self, m: &mut Attrs<'_>) -> Result {
        let pad = a(bindings::SMC_NLA_STATS_PAD);
        let smcd = (self.client.smcd.load(Ordering::Relaxed), self.server.smcd.load(Ordering::Relaxed));
        m.nest(a(bindings::SMC_NLA_STATS_SMCD_TECH), |m| put_tech(m, smcd))?;
        m.nest(a(bindings::SMC_NLA_STATS_SMCR_TECH), |m| put_tech(m, (0, 0)))?;
        m.put_u64(a(bindings::SMC_NLA_STATS_CLNT_HS_ERR_CNT), self.client.errors.load(Ordering::Relaxed), pad)?;
        m.put_u64(a(bindings::SMC_NLA_STATS_SRV_HS_ERR_CNT), self.server.errors.load(Ordering::Relaxed), pad)
    }

    /// `SMC_NETLINK_GET_FBACK_STATS` (C: `smc_nl_get_fback_stats()`): one message per reason
    /// slot and role, server first, the first also with both roles' totals; resumed at
    /// position 0 (the slot), 1 (the server's of it was put) and 2 (the totals were put).
    pub(crate) fn dump_fallbacks(&self, dump: &mut Dump<'_>, cmd: u8, nest: u16) -> Result {
        let mut skip_srv = dump.pos(1) != 0;
        let mut k = usize::try_from(dump.pos(0)).unwrap_or(0);
        let mut r = Ok(());
        while k < MAX_REASONS {
            let mut srv_none = false;
            if !skip_srv {
                match self.fallback_msg(dump, cmd, nest, k, true) {
                    Ok(put) => srv_none = !put,
                    Err(e) => {
                        r = Err(e);
                        break;
                    }
                }
            } else {
                skip_srv = false;
            }
            match self.fallback_msg(dump, cmd, nest, k, false) {
                Ok(put) => {
                    if !put && srv_none {
                        break;
                    }
                }
                Err(e) => {
                    skip_srv = true;
                    r = Err(e);
                    break;
                }
            }
            k += 1;
        }
        dump.set_pos(1, i64::from(skip_srv));
        dump.set_pos(0, k as i64);
        r
    }

    /// The message of slot `k` of a role, if the slot is taken (`Ok(false)` if not).
    fn fallback_msg(&self, dump: &mut Dump<'_>, cmd: u8, nest: u16, k: usize, srv: bool) -> Result<bool> {
        let f = if srv { &self.server } else { &self.client };
        let Some(slot) = f.slots.get(k) else { return Ok(false) };
        let code = slot.code.load(Ordering::Acquire);
        if code == 0 {
            return Ok(false);
        }
        let count = slot.count.load(Ordering::Relaxed);
        let totals = dump.pos(2) == 0;
        let pad = a(bindings::SMC_NLA_FBACK_STATS_PAD);
        let (st, ct) = (self.server.total.load(Ordering::Relaxed), self.client.total.load(Ordering::Relaxed));
        dump.message(cmd, NLM_F_MULTI, |m| {
            m.nest(nest, |m| {
                m.put_u8(a(bindings::SMC_NLA_FBACK_STATS_TYPE), u8::from(srv))?;
                if totals {
                    m.put_u64(a(bindings::SMC_NLA_FBACK_STATS_SRV_CNT), st, pad)?;
                    m.put_u64(a(bindings::SMC_NLA_FBACK_STATS_CLNT_CNT), ct, pad)?;
                }
                m.put_u32(a(bindings::SMC_NLA_FBACK_STATS_RSN_CODE), code)?;
                // C counts a reason in 16 bits.
                m.put_u16(a(bindings::SMC_NLA_FBACK_STATS_RSN_CNT), count as u16)
            })
        })?;
        dump.set_pos(2, 1);
        Ok(true)
    }
}

/// A `SMC_NLA_STATS_*_TECH` nest with success counts `(client, server)` (SMC-Dv2).
fn put_tech(m: &mut Attrs<'_>, (clnt, srv): (u64, u64)) -> Result {
    let pad = a(bindings::SMC_NLA_STATS_PAD);
    for ty in [bindings::SMC_NLA_STATS_T_TX_RMB_STATS, bindings::SMC_NLA_STATS_T_RX_RMB_STATS] {
        let rpad = a(bindings::SMC_NLA_STATS_RMB_PAD);
        m.nest(a(ty), |m| {
            for k in [
                bindings::SMC_NLA_STATS_RMB_REUSE_CNT,
                bindings::SMC_NLA_STATS_RMB_SIZE_SM_PEER_CNT,
                bindings::SMC_NLA_STATS_RMB_SIZE_SM_CNT,
                bindings::SMC_NLA_STATS_RMB_FULL_PEER_CNT,
                bindings::SMC_NLA_STATS_RMB_FULL_CNT,
                bindings::SMC_NLA_STATS_RMB_ALLOC_CNT,
                bindings::SMC_NLA_STATS_RMB_DGRADE_CNT,
            ] {
                m.put_u64(a(k), 0, rpad)?;
            }
            Ok(())
        })?;
    }
    for ty in [
        bindings::SMC_NLA_STATS_T_TXPLOAD_SIZE,
        bindings::SMC_NLA_STATS_T_RXPLOAD_SIZE,
        bindings::SMC_NLA_STATS_T_TX_RMB_SIZE,
        bindings::SMC_NLA_STATS_T_RX_RMB_SIZE,
    ] {
        let ppad = a(bindings::SMC_NLA_STATS_PLOAD_PAD);
        m.nest(a(ty), |m| {
            for k in bindings::SMC_NLA_STATS_PLOAD_8K..=bindings::SMC_NLA_STATS_PLOAD_G_1024K {
                m.put_u64(a(k), 0, ppad)?;
            }
            Ok(())
        })?;
    }
    m.put_u64(a(bindings::SMC_NLA_STATS_T_CLNT_V1_SUCC), 0, pad)?;
    m.put_u64(a(bindings::SMC_NLA_STATS_T_CLNT_V2_SUCC), clnt, pad)?;
    m.put_u64(a(bindings::SMC_NLA_STATS_T_SRV_V1_SUCC), 0, pad)?;
    m.put_u64(a(bindings::SMC_NLA_STATS_T_SRV_V2_SUCC), srv, pad)?;
    m.put_u64(a(bindings::SMC_NLA_STATS_T_RX_BYTES), 0, pad)?;
    m.put_u64(a(bindings::SMC_NLA_STATS_T_TX_BYTES), 0, pad)?;
    m.put_uint(a(bindings::SMC_NLA_STATS_T_RX_RMB_USAGE), 0)?;
    m.put_uint(a(bindings::SMC_NLA_STATS_T_TX_RMB_USAGE), 0)?;
    for k in [
        bindings::SMC_NLA_STATS_T_RX_CNT,
        bindings::SMC_NLA_STATS_T_TX_CNT,
        bindings::SMC_NLA_STATS_T_SENDPAGE_CNT,
        bindings::SMC_NLA_STATS_T_CORK_CNT,
        bindings::SMC_NLA_STATS_T_NDLY_CNT,
        bindings::SMC_NLA_STATS_T_SPLICE_CNT,
        bindings::SMC_NLA_STATS_T_URG_DATA_CNT,
    ] {
        m.put_u64(a(k), 0, pad)?;
    }
    Ok(())
}

/// The debugfs view of the initial namespace: one line per role and reason,
/// `<role> <code> <count>`.
pub(crate) struct FallbackView;

impl fmt::Debug for FallbackView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(ns) = crate::netns::of(Net::init_ns()) {
            let s = &ns.stats;
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
