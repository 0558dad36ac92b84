// SPDX-License-Identifier: GPL-2.0

//! What each side of an SMC handshake decides, as plain functions of the
//! messages and of what the local node has: the choices the C
//! implementation makes in `smc_listen_work()` (server) and `__smc_connect()`
//! (client), `net/smc/af_smc.c`, so that a peer sees the decline reason a C
//! node would have sent in the same setup.
//!
//! Like `clc.rs`, this file has no crate-level attributes and no `crate::`
//! paths (it reaches `clc` as `super::clc`), so the kernel module compiles it
//! with `#[path]` beside `clc.rs`.

use super::clc::{
    chid_is_emulated, BoundedVec, ClcLocal, DeclineReason, Eyecatcher, GidChid, Proposal,
    SmcType, SmcdInfo, SmcdV2Extension, V2Extension, MAX_V2_GID_ENTRIES, SMC_FEATURE_MASK,
    SMC_RELEASE, SMC_RELEASE_1, SMC_V1, SMC_V2,
};

/// What the local node can offer a connection, as the handshake needs it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LocalCaps {
    /// Some ISM device is SMC-Dv2 capable (C: `smc_ism_is_v2_capable()`; any
    /// DIBS device with the v2 feature, the loopback device included).
    pub ism_v2_capable: bool,
    /// How many user EIDs the node has (C: `smc_clc_ueid_count()`).
    pub ueid_count: usize,
    /// Whether one of the proposal's IP prefixes is the one of the interface
    /// the connection runs on (C: `smc_clc_prfx_match()` found a match).
    pub prefix_match: bool,
}

/// `SMC_CONN_PER_LGR_MIN` (`smc_core.h`).
const CONN_PER_LGR_MIN: u8 = 16;
/// `SMC_LINKS_ADD_LNK_MIN`.
const LINKS_ADD_LNK_MIN: u8 = 1;
/// `SMC_LINKS_ADD_LNK_MAX`: the default of `net.smc.smcr_max_links_per_lgr`.
const LINKS_ADD_LNK_MAX: u8 = 2;

/// The versions of each SMC flavour still in the running (C's
/// `ini->smcd_version` / `ini->smcr_version`).
#[derive(Clone, Copy, Debug, Default)]
struct Versions {
    smcd_v1: bool,
    smcd_v2: bool,
    smcr_v1: bool,
    smcr_v2: bool,
}

impl Versions {
    fn any(self) -> bool {
        self.smcd_v1 || self.smcd_v2 || self.smcr_v1 || self.smcr_v2
    }
}

/// The first reason stored wins (C: `smc_init_info_store_rc()`).
fn store(slot: &mut Option<DeclineReason>, r: DeclineReason) {
    if slot.is_none() {
        *slot = Some(r);
    }
}

/// The server's answer to `p` when it has no ISM or RDMA device it can use
/// for the connection: the decline reason a C server sends in that state.
///
/// It follows `smc_listen_v2_check()`, `smc_clc_srv_v2x_features_validate()`
/// and `smc_listen_find_device()` in their order; each finds nothing where C
/// would look for a device. (With no device, C never gets to compare EIDs:
/// that happens only for a matched device.)
pub fn server_decline(p: &Proposal, caps: &LocalCaps) -> DeclineReason {
    let v2_msg = p.version > SMC_V1;
    let mut v = Versions {
        smcd_v1: p.typev1.smcd_indicated(),
        smcr_v1: p.typev1.smcr_indicated(),
        smcd_v2: v2_msg && p.typev2.smcd_indicated(),
        smcr_v2: v2_msg && p.typev2.smcr_indicated(),
    };

    // smc_listen_v2_check().
    let mut rc = DeclineReason::PeerNoSmc;
    let mut release = 0;
    if v.smcd_v2 || v.smcr_v2 {
        match &p.v2_ext {
            None => {
                v.smcd_v2 = false;
                v.smcr_v2 = false;
                rc = DeclineReason::NoV2Ext;
            }
            Some(ext) => {
                if v.smcd_v2 {
                    if !caps.ism_v2_capable {
                        v.smcd_v2 = false;
                        rc = DeclineReason::NoIsm2Supp;
                    } else if p.smcd_v2_ext.is_none() {
                        v.smcd_v2 = false;
                        rc = DeclineReason::NoV2DExt;
                    } else if ext.eids.is_empty() && !ext.seid {
                        v.smcd_v2 = false;
                        rc = DeclineReason::NoUeid;
                    }
                }
                if v.smcr_v2 && ext.eids.is_empty() {
                    v.smcr_v2 = false;
                    rc = DeclineReason::NoUeid;
                }
                release = ext.release.min(SMC_RELEASE);
            }
        }
    }
    if !v.any() {
        return rc;
    }

    // smc_clc_srv_v2x_features_validate() (SMC-Rv2 only).
    if (v.smcd_v2 || v.smcr_v2) && release >= SMC_RELEASE_1 {
        if let (true, Some(ext)) = (v.smcr_v2, &p.v2_ext) {
            // `net.smc.smcr_max_conns_per_lgr` defaults to 255: the peer's value decides.
            if ext.max_conns < CONN_PER_LGR_MIN {
                return DeclineReason::MaxConnErr;
            }
            if ext.max_links.min(LINKS_ADD_LNK_MAX) < LINKS_ADD_LNK_MIN {
                return DeclineReason::MaxLinkErr;
            }
        }
    }

    // smc_listen_find_device().
    let mut stored = None;
    // ISMv2: no device matches any offered GID/CHID.
    if v.smcd_v2 && p.smcd.is_some() && p.v2_ext.is_some() && p.smcd_v2_ext.is_some() {
        store(&mut stored, DeclineReason::NoSmcd2Dev);
    }
    // The IP prefix (only when SMC v1 is offered at all).
    let prefix_mismatch = p.typev1 != SmcType::N && !caps.prefix_match;
    if prefix_mismatch {
        store(&mut stored, DeclineReason::DiffPrefix);
    }
    // ISMv1: no device.
    if !prefix_mismatch && v.smcd_v1 && p.smcd.is_some() {
        store(&mut stored, DeclineReason::NoSmcdDev);
    }
    if !p.typev1.smcr_indicated() && !p.typev2.smcr_indicated() {
        return stored.unwrap_or(DeclineReason::NoSmcdDev);
    }
    // RDMAv2 needs a matching EID first, then a device; RDMAv1 a device.
    if v.smcr_v2 && caps.ueid_count > 0 {
        store(&mut stored, DeclineReason::NoSmcrDev);
    }
    if prefix_mismatch {
        return DeclineReason::DiffPrefix;
    }
    store(&mut stored, DeclineReason::NoSmcDev);
    stored.unwrap_or(DeclineReason::NoSmcDev)
}

/// The client's reason to decline instead of proposing, when it has no
/// device to offer (C: `smc_find_proposal_devices()` finds none).
pub const CLIENT_NO_DEVICE: DeclineReason = DeclineReason::NoSmcDev;

/// The client's reason to decline a server's Accept it cannot take up: the
/// node has no device it can carry data on yet, so what it offered was only
/// ever going to be declined (as it always is without an EID).
pub const CLIENT_CANNOT_ACCEPT: DeclineReason = DeclineReason::NoSmcDev;

/// An SMC-Dv2 device as a client offers it in a proposal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OfferedDevice {
    /// The first 8 bytes of the device's GID.
    pub gid: u64,
    /// The last 8 bytes, sent only for an Emulated-ISM device.
    pub gid_ext: u64,
    /// The device's CHID (C: `smc_ism_get_chid()`, the DIBS fabric ID).
    pub chid: u16,
}

/// The proposal a C client sends when its only devices are the SMC-Dv2
/// devices `devs` (in the order of C's device list) and it has neither a
/// user EID nor a system EID (no PNET ID on any device, no RDMA device; x86:
/// `seid_enabled` is 0). `None` when there is no device to offer: the client
/// then declines with [`CLIENT_NO_DEVICE`].
///
/// It follows `smc_find_ism_v2_device_clnt()` (a CHID offered once, an
/// Emulated-ISM device taking two of the 8 GID/CHID entries and skipped if
/// only one is left) and `smc_clc_send_proposal()` for SMC-Dv2 only: no
/// SMC-Dv1 device (zero in the SMC-D info area), no IP area.
pub fn client_proposal(devs: &[OfferedDevice]) -> Option<Proposal> {
    let mut entries: BoundedVec<GidChid, MAX_V2_GID_ENTRIES> = BoundedVec::new();
    let mut chids: BoundedVec<u16, MAX_V2_GID_ENTRIES> = BoundedVec::new();
    for d in devs {
        if chids.iter().any(|&c| c == d.chid) {
            continue;
        }
        let emulated = chid_is_emulated(d.chid);
        let need = if emulated { 2 } else { 1 };
        if entries.len().saturating_add(need) > MAX_V2_GID_ENTRIES {
            if entries.len() < MAX_V2_GID_ENTRIES {
                continue;
            }
            break;
        }
        let _ = entries.push(GidChid { gid: d.gid, chid: d.chid });
        if emulated {
            let _ = entries.push(GidChid { gid: d.gid_ext, chid: d.chid });
        }
        let _ = chids.push(d.chid);
        if entries.len() >= MAX_V2_GID_ENTRIES {
            break;
        }
    }
    if entries.is_empty() {
        return None;
    }
    Some(Proposal {
        eyecatcher: Eyecatcher::SmcR,
        version: SMC_V2,
        typev1: SmcType::N,
        typev2: SmcType::D,
        local: ClcLocal::default(),
        smcd: Some(SmcdInfo::default()),
        prefix: None,
        v2_ext: Some(V2Extension {
            release: SMC_RELEASE,
            feature_mask: SMC_FEATURE_MASK,
            ..V2Extension::default()
        }),
        smcd_v2_ext: Some(SmcdV2Extension { gid_chids: entries, ..SmcdV2Extension::default() }),
    })
}

/// The version of a client's decline sent instead of a proposal (C:
/// `__smc_connect()` starts with v2 if an ISM device is v2 capable).
pub fn client_decline_version(caps: &LocalCaps) -> u8 {
    if caps.ism_v2_capable {
        SMC_V2
    } else {
        SMC_V1
    }
}

/// The version of a server's decline of `p` (C: v2 if the proposal is).
pub fn server_decline_version(p: &Proposal) -> u8 {
    if p.version > SMC_V1 {
        SMC_V2
    } else {
        SMC_V1
    }
}
