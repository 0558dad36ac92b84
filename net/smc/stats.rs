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
//!
//! The data path's counters (C's `struct smc_stats_tech` of SMC-D: calls, bytes, payload and
//! buffer size classes, buffers made and downsized, buffer bytes in use, corking and
//! no-delay requests) are kept per CPU, as C keeps them: each CPU adds to its own cache-line
//! aligned `Shard` (relaxed atomics; a task that moved CPU meanwhile adds to another's,
//! which is still correct), and a dump sums the shards.

use crate::{clc::DeclineReason, netlink::a};
use core::{
    fmt,
    sync::atomic::{AtomicU32, AtomicU64, Ordering},
};
use kernel::{
    bindings,
    cpu::{nr_cpu_ids, CpuId},
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

/// Buffer and payload size classes (C: `SMC_BUF_8K` .. `SMC_BUF_G_1024K`).
const SIZE_CLASSES: usize = 9;

/// The size class of `len` bytes (C: `fls64((len - 1) >> 13)`, at most the last).
fn size_class(len: u64) -> usize {
    let v = len.saturating_sub(1) >> 13;
    ((u64::BITS - v.leading_zeros()) as usize).min(SIZE_CLASSES - 1)
}

/// A data path counter (C: the `u64` fields of `smc_stats_tech` and `smc_stats_rmbcnt`).
#[derive(Clone, Copy)]
pub(crate) enum Count {
    TxCnt,
    RxCnt,
    TxBytes,
    RxBytes,
    /// Send buffer and DMB bytes in use (C: `tx_rmbuse`, `rx_rmbuse`).
    TxRmbUse,
    RxRmbUse,
    TxAlloc,
    RxAlloc,
    TxDowngrade,
    RxDowngrade,
    /// A send larger than the send buffer, than the peer's DMB; a receive larger than ours.
    TxSizeSmall,
    TxPeerSizeSmall,
    RxSizeSmall,
    /// A write that found the peer's ring full; a receive that found ours full.
    TxPeerFull,
    RxFull,
    Cork,
    NoDelay,
}
const COUNTS: usize = Count::NoDelay as usize + 1;

/// A size histogram (C: the `smc_stats_memsize` fields).
#[derive(Clone, Copy)]
pub(crate) enum Hist {
    TxRmbSize,
    RxRmbSize,
    TxPayload,
    RxPayload,
}
const HISTS: usize = Hist::RxPayload as usize + 1;

/// One CPU's data path counters, on cache lines of its own.
#[repr(align(64))]
struct Shard {
    counts: [AtomicU64; COUNTS],
    hists: [[AtomicU64; SIZE_CLASSES]; HISTS],
}

impl Shard {
    const fn new() -> Self {
        Self {
            counts: [const { AtomicU64::new(0) }; COUNTS],
            hists: [const { [const { AtomicU64::new(0) }; SIZE_CLASSES] }; HISTS],
        }
    }

    fn add(&self, c: Count, v: u64) {
        self.counts[c as usize].fetch_add(v, Ordering::Relaxed);
    }

    /// Counts `len` bytes in its size class of histogram `h`.
    fn hist(&self, h: Hist, len: u64) {
        self.hists[h as usize][size_class(len)].fetch_add(1, Ordering::Relaxed);
    }
}

/// The data path counters summed over the CPUs.
struct Sums {
    counts: [u64; COUNTS],
    hists: [[u64; SIZE_CLASSES]; HISTS],
}

impl Sums {
    fn count(&self, c: Count) -> u64 {
        self.counts[c as usize]
    }
}

/// The statistics of one network namespace.
pub(crate) struct NetStats {
    /// Connections accepted.
    pub(crate) server: Fallbacks,
    /// Connections made.
    pub(crate) client: Fallbacks,
    /// The data path's counters, one shard per possible CPU.
    shards: KVec<Shard>,
}

impl NetStats {
    /// A new namespace's: all zero.
    pub(crate) fn new() -> Result<Self> {
        let n = (nr_cpu_ids() as usize).max(1);
        let mut shards = KVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            shards.push(Shard::new(), GFP_KERNEL)?;
        }
        Ok(Self { server: Fallbacks::new(), client: Fallbacks::new(), shards })
    }

    /// This CPU's shard (another's if the task moves meanwhile: still counted right).
    fn shard(&self) -> Option<&Shard> {
        let cpu = CpuId::current().as_u32() as usize;
        self.shards.get(cpu % self.shards.len().max(1))
    }

    /// Adds `v` to counter `c`.
    pub(crate) fn add(&self, c: Count, v: u64) {
        if let Some(s) = self.shard() {
            s.add(c, v);
        }
    }

    /// Takes `v` from counter `c` (a gauge: the shards' sum is right, one may wrap).
    pub(crate) fn sub(&self, c: Count, v: u64) {
        if let Some(s) = self.shard() {
            s.counts[c as usize].fetch_sub(v, Ordering::Relaxed);
        }
    }

    /// A `sendmsg` of `len` bytes over SMC-D that returned `rc` (C: `SMC_STAT_TX_PAYLOAD`).
    pub(crate) fn sent(&self, len: usize, rc: &Result<usize>) {
        let Some(s) = self.shard() else { return };
        s.add(Count::TxCnt, 1);
        if let (Ok(n @ 1..), 1..) = (rc, len) {
            s.hist(Hist::TxPayload, len as u64);
            s.add(Count::TxBytes, *n as u64);
        }
    }

    /// A `recvmsg` over SMC-D that returned `rc` (C: `SMC_STAT_RX_PAYLOAD`).
    pub(crate) fn received(&self, rc: &Result<usize>) {
        let Some(s) = self.shard() else { return };
        s.add(Count::RxCnt, 1);
        if let Ok(n @ 1..) = rc {
            s.hist(Hist::RxPayload, *n as u64);
            s.add(Count::RxBytes, *n as u64);
        }
    }

    /// A connection's send buffer of `sndbuf.0` bytes (wanted: `sndbuf.1`) and DMB of `dmb`
    /// bytes (wanted: `want_dmb`) were made (C: `SMC_STAT_RMB_ALLOC`, `_SIZE`, `_DOWNGRADED`).
    /// No send buffer (`None`) when the peer's DMB is attached instead, as C counts it.
    pub(crate) fn buffers_made(&self, sndbuf: Option<(u32, u32)>, (dmb, want_dmb): (u32, u32)) {
        let tx = sndbuf.map(|(len, want)| (len, want, Count::TxAlloc, Count::TxDowngrade, Hist::TxRmbSize, Count::TxRmbUse));
        let rx = (dmb, want_dmb, Count::RxAlloc, Count::RxDowngrade, Hist::RxRmbSize, Count::RxRmbUse);
        let Some(s) = self.shard() else { return };
        for (len, want, alloc, down, hist, used) in Iterator::chain(tx.into_iter(), [rx]) {
            if len < want {
                s.add(down, 1);
            }
            s.add(alloc, 1);
            s.hist(hist, len.into());
            s.add(used, len.into());
        }
    }

    /// A connection's buffers went (C: `smc_buf_unuse()`).
    pub(crate) fn buffers_gone(&self, sndbuf: u32, dmb: u32) {
        self.sub(Count::TxRmbUse, sndbuf.into());
        self.sub(Count::RxRmbUse, dmb.into());
    }

    fn sums(&self) -> Sums {
        let mut s = Sums { counts: [0; COUNTS], hists: [[0; SIZE_CLASSES]; HISTS] };
        for sh in self.shards.iter() {
            for (t, c) in s.counts.iter_mut().zip(&sh.counts) {
                *t = t.wrapping_add(c.load(Ordering::Relaxed));
            }
            for (th, h) in s.hists.iter_mut().zip(&sh.hists) {
                for (t, c) in th.iter_mut().zip(h) {
                    *t = t.wrapping_add(c.load(Ordering::Relaxed));
                }
            }
        }
        s
    }

    /// The attributes of `SMC_GEN_STATS` (C: `smc_nl_get_stats()`): SMC-D, then SMC-R (all
    /// zero: no SMC-R here), then the handshake errors.
    pub(crate) fn put_stats(&self, m: &mut Attrs<'_>) -> Result {
        let pad = a(bindings::SMC_NLA_STATS_PAD);
        let smcd = (self.client.smcd.load(Ordering::Relaxed), self.server.smcd.load(Ordering::Relaxed));
        let sums = self.sums();
        m.nest(a(bindings::SMC_NLA_STATS_SMCD_TECH), |m| put_tech(m, smcd, Some(&sums)))?;
        m.nest(a(bindings::SMC_NLA_STATS_SMCR_TECH), |m| put_tech(m, (0, 0), None))?;
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

/// A `SMC_NLA_STATS_*_TECH` nest with success counts `(client, server)` (SMC-Dv2) and the
/// data path's counters (`None`: all zero), in C's order (`smc_nl_fill_stats_tech_data()`).
fn put_tech(m: &mut Attrs<'_>, (clnt, srv): (u64, u64), sums: Option<&Sums>) -> Result {
    let pad = a(bindings::SMC_NLA_STATS_PAD);
    let c = |k: Count| sums.map_or(0, |s| s.count(k));
    let tx = (Some(Count::TxPeerSizeSmall), Count::TxSizeSmall, Some(Count::TxPeerFull), None);
    let rx = (None, Count::RxSizeSmall, None, Some(Count::RxFull));
    for (ty, (small_peer, small, full_peer, full), (alloc, down)) in [
        (bindings::SMC_NLA_STATS_T_TX_RMB_STATS, tx, (Count::TxAlloc, Count::TxDowngrade)),
        (bindings::SMC_NLA_STATS_T_RX_RMB_STATS, rx, (Count::RxAlloc, Count::RxDowngrade)),
    ] {
        let rpad = a(bindings::SMC_NLA_STATS_RMB_PAD);
        m.nest(a(ty), |m| {
            // No buffer is reused. The send buffer is never full on its own: unsent data
            // is not queued, a write waits for the peer's ring.
            m.put_u64(a(bindings::SMC_NLA_STATS_RMB_REUSE_CNT), 0, rpad)?;
            m.put_u64(a(bindings::SMC_NLA_STATS_RMB_SIZE_SM_PEER_CNT), small_peer.map_or(0, c), rpad)?;
            m.put_u64(a(bindings::SMC_NLA_STATS_RMB_SIZE_SM_CNT), c(small), rpad)?;
            m.put_u64(a(bindings::SMC_NLA_STATS_RMB_FULL_PEER_CNT), full_peer.map_or(0, c), rpad)?;
            m.put_u64(a(bindings::SMC_NLA_STATS_RMB_FULL_CNT), full.map_or(0, c), rpad)?;
            m.put_u64(a(bindings::SMC_NLA_STATS_RMB_ALLOC_CNT), c(alloc), rpad)?;
            m.put_u64(a(bindings::SMC_NLA_STATS_RMB_DGRADE_CNT), c(down), rpad)
        })?;
    }
    for (ty, h) in [
        (bindings::SMC_NLA_STATS_T_TXPLOAD_SIZE, Hist::TxPayload),
        (bindings::SMC_NLA_STATS_T_RXPLOAD_SIZE, Hist::RxPayload),
        (bindings::SMC_NLA_STATS_T_TX_RMB_SIZE, Hist::TxRmbSize),
        (bindings::SMC_NLA_STATS_T_RX_RMB_SIZE, Hist::RxRmbSize),
    ] {
        let ppad = a(bindings::SMC_NLA_STATS_PLOAD_PAD);
        m.nest(a(ty), |m| {
            let classes = bindings::SMC_NLA_STATS_PLOAD_8K..=bindings::SMC_NLA_STATS_PLOAD_G_1024K;
            for (i, k) in classes.enumerate() {
                let v = sums.map_or(0, |s| s.hists[h as usize].get(i).copied().unwrap_or(0));
                m.put_u64(a(k), v, ppad)?;
            }
            Ok(())
        })?;
    }
    m.put_u64(a(bindings::SMC_NLA_STATS_T_CLNT_V1_SUCC), 0, pad)?;
    m.put_u64(a(bindings::SMC_NLA_STATS_T_CLNT_V2_SUCC), clnt, pad)?;
    m.put_u64(a(bindings::SMC_NLA_STATS_T_SRV_V1_SUCC), 0, pad)?;
    m.put_u64(a(bindings::SMC_NLA_STATS_T_SRV_V2_SUCC), srv, pad)?;
    m.put_u64(a(bindings::SMC_NLA_STATS_T_RX_BYTES), c(Count::RxBytes), pad)?;
    m.put_u64(a(bindings::SMC_NLA_STATS_T_TX_BYTES), c(Count::TxBytes), pad)?;
    m.put_uint(a(bindings::SMC_NLA_STATS_T_RX_RMB_USAGE), c(Count::RxRmbUse))?;
    m.put_uint(a(bindings::SMC_NLA_STATS_T_TX_RMB_USAGE), c(Count::TxRmbUse))?;
    m.put_u64(a(bindings::SMC_NLA_STATS_T_RX_CNT), c(Count::RxCnt), pad)?;
    m.put_u64(a(bindings::SMC_NLA_STATS_T_TX_CNT), c(Count::TxCnt), pad)?;
    // No sendpage (C reports 0 too), splice or urgent data on SMC-D here.
    m.put_u64(a(bindings::SMC_NLA_STATS_T_SENDPAGE_CNT), 0, pad)?;
    m.put_u64(a(bindings::SMC_NLA_STATS_T_CORK_CNT), c(Count::Cork), pad)?;
    m.put_u64(a(bindings::SMC_NLA_STATS_T_NDLY_CNT), c(Count::NoDelay), pad)?;
    m.put_u64(a(bindings::SMC_NLA_STATS_T_SPLICE_CNT), 0, pad)?;
    m.put_u64(a(bindings::SMC_NLA_STATS_T_URG_DATA_CNT), 0, pad)
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
