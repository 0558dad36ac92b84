// SPDX-License-Identifier: GPL-2.0

//! The `net.smc.*` sysctls of a network namespace: C's names, types, ranges and defaults
//! (`net/smc/smc_sysctl.c`), so that `sysctl net.smc` reads the same with either module.
//!
//! Honoured here:
//! - `rmem`, `wmem`: where a socket's DMB and send buffer sizes start (the send buffer only
//!   where the device cannot attach the peer's DMB, as in C; C: a new socket's
//!   `sk_rcvbuf`/`sk_sndbuf` are twice these, and the buffers half those), unless the
//!   application set `SO_RCVBUF`/`SO_SNDBUF`; read when the connection's buffers are made.
//! - `limit_smc_hs`: new sockets limit their handshakes while their listener is congested;
//!   the same switch as `SMC_NETLINK_ENABLE/DISABLE_HS_LIMITATION`.
//!
//! Kept for tools and scripts but without effect: `autocorking_size` (the data path sends
//! what each call gives, it does not cork yet) and the SMC-R ones (`smcr_*`: there is no
//! SMC-R here). C's `hs_ctrl` exists only with BPF handshake control
//! (`CONFIG_SMC_HS_CTRL_BPF`), which this module does not offer.

use crate::{clc::SMC_BUF_MIN_SIZE, netns::Netns};
use kernel::{
    sysctl::{Entry, Int, Kind, Table, UInt},
    time::msecs_to_jiffies,
};

/// The settings of one namespace.
pub(crate) struct Settings {
    /// Bytes a send call moves before the data path pushes (C: `sysctl_autocorking_size`).
    autocorking_size: UInt,
    /// SMC-R buffer type (C: `sysctl_smcr_buf_type`).
    smcr_buf_type: UInt,
    /// SMC-R link test interval, in jiffies (C: `sysctl_smcr_testlink_time`).
    smcr_testlink_time: Int,
    /// Half a new socket's send buffer (C: `sysctl_wmem`).
    pub(crate) wmem: Int,
    /// Half a new socket's receive buffer: its DMB size (C: `sysctl_rmem`).
    pub(crate) rmem: Int,
    /// SMC-R links per link group (C: `sysctl_max_links_per_lgr`).
    smcr_max_links_per_lgr: Int,
    /// SMC-R connections per link group (C: `sysctl_max_conns_per_lgr`).
    smcr_max_conns_per_lgr: Int,
    /// 1: new sockets limit their handshakes (C: `limit_smc_hs`).
    pub(crate) limit_smc_hs: Int,
    /// SMC-R send work requests (C: `sysctl_smcr_max_send_wr`).
    smcr_max_send_wr: Int,
    /// SMC-R receive work requests (C: `sysctl_smcr_max_recv_wr`).
    smcr_max_recv_wr: Int,
}

/// C's defaults and bounds (`smc_sysctl.c`, `smc.h`, `smc_core.h`, `smc_llc.h`).
const AUTOCORKING_DEFAULT: u32 = 64 * 1024;
const BUF_DEFAULT: i32 = 64 * 1024;
const BUF_MIN: i32 = SMC_BUF_MIN_SIZE as i32;
const BUF_MAX: i32 = i32::MAX / 2;
const TESTLINK_DEFAULT_S: u32 = 30;
const LINKS_MIN: i32 = 1;
const LINKS_MAX: i32 = 2;
const LINKS_DEFAULT: i32 = 2;
const CONNS_MIN: i32 = 16;
const CONNS_MAX: i32 = 255;
const CONNS_DEFAULT: i32 = 255;
const WR_MIN: i32 = 2;
const WR_MAX: i32 = 2048;
const SEND_WR_DEFAULT: i32 = 16;
const RECV_WR_DEFAULT: i32 = 48;

impl Settings {
    /// A new namespace's settings (C: `smc_sysctl_net_init()`).
    pub(crate) fn new() -> Self {
        Self {
            autocorking_size: UInt::new(AUTOCORKING_DEFAULT),
            smcr_buf_type: UInt::new(0),
            // In jiffies (`bindings::HZ` is the user-space `USER_HZ`, not `CONFIG_HZ`).
            smcr_testlink_time: Int::new(msecs_to_jiffies(TESTLINK_DEFAULT_S * 1000) as i32),
            wmem: Int::new(BUF_DEFAULT),
            rmem: Int::new(BUF_DEFAULT),
            smcr_max_links_per_lgr: Int::new(LINKS_DEFAULT),
            smcr_max_conns_per_lgr: Int::new(CONNS_DEFAULT),
            limit_smc_hs: Int::new(0),
            smcr_max_send_wr: Int::new(SEND_WR_DEFAULT),
            smcr_max_recv_wr: Int::new(RECV_WR_DEFAULT),
        }
    }

    /// Whether new sockets limit their handshakes.
    pub(crate) fn limit_hs(&self) -> bool {
        self.limit_smc_hs.get() != 0
    }

    /// Switches the handshake limitation of new sockets.
    pub(crate) fn set_limit_hs(&self, on: bool) {
        self.limit_smc_hs.set(i32::from(on))
    }

    /// The DMB size a connection starts from: half the receive buffer the application set,
    /// else `rmem` (the size C's new socket gets), at least the smallest buffer.
    pub(crate) fn dmb_want(&self, rcvbuf: Option<i32>) -> u32 {
        buf_want(rcvbuf, self.rmem.get())
    }

    /// The send buffer size a connection starts from: as [`Self::dmb_want`], from
    /// `SO_SNDBUF` or `wmem`.
    pub(crate) fn sndbuf_want(&self, sndbuf: Option<i32>) -> u32 {
        buf_want(sndbuf, self.wmem.get())
    }
}

/// Half the buffer size the application set (the socket layer doubles what it asks for,
/// and C halves it again for the buffer), else the namespace's setting.
fn buf_want(set: Option<i32>, default: i32) -> u32 {
    let b = set.map_or(default, |b| b / 2);
    u32::try_from(b).unwrap_or(0).max(SMC_BUF_MIN_SIZE)
}

/// Read by everyone, written by root (of the namespace's user namespace).
const MODE: u16 = 0o644;

impl Table for Netns {
    // C's order (`smc_table[]`).
    const ENTRIES: &'static [Entry<Self>] = &[
        Entry {
            name: c"autocorking_size",
            mode: MODE,
            kind: Kind::UInt { var: |n| &n.settings.autocorking_size, min: 0, max: u32::MAX },
        },
        Entry {
            name: c"smcr_buf_type",
            mode: MODE,
            kind: Kind::UInt { var: |n| &n.settings.smcr_buf_type, min: 0, max: 2 },
        },
        Entry {
            name: c"smcr_testlink_time",
            mode: MODE,
            kind: Kind::Jiffies { var: |n| &n.settings.smcr_testlink_time },
        },
        Entry {
            name: c"wmem",
            mode: MODE,
            kind: Kind::Int { var: |n| &n.settings.wmem, min: BUF_MIN, max: BUF_MAX },
        },
        Entry {
            name: c"rmem",
            mode: MODE,
            kind: Kind::Int { var: |n| &n.settings.rmem, min: BUF_MIN, max: BUF_MAX },
        },
        Entry {
            name: c"smcr_max_links_per_lgr",
            mode: MODE,
            kind: Kind::Int { var: |n| &n.settings.smcr_max_links_per_lgr, min: LINKS_MIN, max: LINKS_MAX },
        },
        Entry {
            name: c"smcr_max_conns_per_lgr",
            mode: MODE,
            kind: Kind::Int { var: |n| &n.settings.smcr_max_conns_per_lgr, min: CONNS_MIN, max: CONNS_MAX },
        },
        Entry {
            name: c"limit_smc_hs",
            mode: MODE,
            kind: Kind::Int { var: |n| &n.settings.limit_smc_hs, min: 0, max: 1 },
        },
        Entry {
            name: c"smcr_max_send_wr",
            mode: MODE,
            kind: Kind::Int { var: |n| &n.settings.smcr_max_send_wr, min: WR_MIN, max: WR_MAX },
        },
        Entry {
            name: c"smcr_max_recv_wr",
            mode: MODE,
            kind: Kind::Int { var: |n| &n.settings.smcr_max_recv_wr, min: WR_MIN, max: WR_MAX },
        },
    ];
}
