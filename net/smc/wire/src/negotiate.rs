// SPDX-License-Identifier: GPL-2.0

//! What each side of an SMC handshake decides, as plain functions of the
//! messages and of what the local node has: the choices the C
//! implementation makes in `smc_listen_work()` (server) and `__smc_connect()`
//! (client), `net/smc/af_smc.c`, so that a peer sees the decline reason a C
//! node would have sent in the same setup.
//!
//! Like `clc.rs`, this file has no crate-level attributes and no `crate::`
//! paths (it reaches `clc` as `super::clc` and `eid` as `super::eid`), so the
//! kernel module compiles it with `#[path]` beside `clc.rs` and `eid.rs`
//! (the crate root needs `#[path = "wire/src/eid.rs"] pub mod eid;`).

use super::clc::{
    chid_is_emulated, compress_bufsize, uncompress_bufsize, AcceptConfirm, AcceptConfirmBody,
    AcceptConfirmKind, BoundedVec, ClcLocal, DeclineReason, Eid, Eyecatcher, FceV2x,
    FirstContactExt, GidChid, Proposal, SmcType, SmcdAcceptConfirm, SmcdAcceptConfirmV2,
    SmcdInfo, SmcdV2Extension, V2Extension, EID_LEN, HOSTNAME_LEN, MAX_V2_GID_ENTRIES, OS_LINUX,
    SMC_BUF_MIN_SIZE, SMC_FEATURE_MASK, SMC_RELEASE, SMC_RELEASE_1, SMC_V1, SMC_V2,
};
use super::eid::match_eid;

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
/// would look for a device. (With no device, C never gets to compare EIDs
/// for SMC-D: that happens only for a matched device. For SMC-Rv2 C compares
/// them before it looks for a device; here a node with a user EID is taken
/// to share it, see [`server_choose`] for the exact comparison.)
pub fn server_decline(p: &Proposal, caps: &LocalCaps) -> DeclineReason {
    let (v, _) = match listen_checks(p, caps) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let ism_v2 = if ism_v2_searched(p, v) {
        IsmV2::NoDevice
    } else {
        IsmV2::NotSearched
    };
    find_device_decline(p, caps, v, ism_v2, v.smcr_v2 && caps.ueid_count > 0)
}

/// `smc_listen_v2_check()` and `smc_clc_srv_v2x_features_validate()`: the
/// versions still in the running and the release (`ini->release_nr`), or
/// the decline reason.
fn listen_checks(p: &Proposal, caps: &LocalCaps) -> Result<(Versions, u8), DeclineReason> {
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
        return Err(rc);
    }

    // smc_clc_srv_v2x_features_validate() (SMC-Rv2 only).
    if (v.smcd_v2 || v.smcr_v2) && release >= SMC_RELEASE_1 {
        if let (true, Some(ext)) = (v.smcr_v2, &p.v2_ext) {
            // `net.smc.smcr_max_conns_per_lgr` defaults to 255: the peer's value decides.
            if ext.max_conns < CONN_PER_LGR_MIN {
                return Err(DeclineReason::MaxConnErr);
            }
            if ext.max_links.min(LINKS_ADD_LNK_MAX) < LINKS_ADD_LNK_MIN {
                return Err(DeclineReason::MaxLinkErr);
            }
        }
    }
    Ok((v, release))
}

/// Whether `smc_find_ism_v2_device_serv()` gets to look at the devices.
fn ism_v2_searched(p: &Proposal, v: Versions) -> bool {
    v.smcd_v2 && p.smcd.is_some() && p.v2_ext.is_some() && p.smcd_v2_ext.is_some()
}

/// How `smc_find_ism_v2_device_serv()` ended when it found nothing usable.
#[derive(Clone, Copy)]
enum IsmV2 {
    /// It did not look (no SMC-Dv2, or a part of the proposal missing).
    NotSearched,
    /// No local device matched: `SMC_CLC_DECL_NOSMCD2DEV` is stored.
    NoDevice,
    /// Devices matched but no EID: nothing is stored.
    NoEid,
    /// Devices matched, none could be initialised: the first error is stored.
    InitFailed(DeclineReason),
}

/// The rest of `smc_listen_find_device()` after SMC-Dv2 found nothing: the
/// reason C declines with when there is no SMC-Dv1 and no RDMA device.
/// `smcr_v2_eid` says whether `smc_find_rdma_v2_device_serv()` finds a
/// common EID (and then stores `NOSMCRDEV`, having no RDMA device).
fn find_device_decline(
    p: &Proposal,
    caps: &LocalCaps,
    v: Versions,
    ism_v2: IsmV2,
    smcr_v2_eid: bool,
) -> DeclineReason {
    let mut stored = None;
    match ism_v2 {
        IsmV2::NoDevice => store(&mut stored, DeclineReason::NoSmcd2Dev),
        IsmV2::InitFailed(r) => store(&mut stored, r),
        IsmV2::NotSearched | IsmV2::NoEid => {}
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
    if smcr_v2_eid {
        store(&mut stored, DeclineReason::NoSmcrDev);
    }
    if prefix_mismatch {
        return DeclineReason::DiffPrefix;
    }
    store(&mut stored, DeclineReason::NoSmcDev);
    stored.unwrap_or(DeclineReason::NoSmcDev)
}

/// A local SMC-D (DIBS) device as the server matches it against a proposal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LocalDevice {
    /// The first 8 bytes of the device's GID.
    pub gid: u64,
    /// The last 8 bytes (sent in accept/confirm for an Emulated-ISM device).
    pub gid_ext: u64,
    /// The device's CHID (C: `smc_ism_get_chid()`, the DIBS fabric ID).
    pub chid: u16,
}

/// A local device that can reach one of the devices the client offered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Candidate {
    /// Index of the local device in the `devs` given to [`server_choose`].
    pub dev: usize,
    /// The peer's GID on that fabric (C: `ini->ism_peer_gid[i].gid`).
    pub peer_gid: u64,
    /// The peer's `gid_ext`: the second GID/CHID entry of an Emulated-ISM
    /// device, else 0 (also 0 for the native device of the SMC-D area).
    pub peer_gid_ext: u64,
}

/// Most candidates: the native device of the SMC-D area and 8 GID/CHID
/// entries (C: `SMC_MAX_V2_ISM_DEVS + 1` slots in `ini->ism_dev`).
pub const MAX_CANDIDATES: usize = MAX_V2_GID_ENTRIES + 1;

/// What a server that takes SMC-Dv2 for a proposal has decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerChoice {
    /// The matching devices in C's order (`ini->ism_dev[]`): the server
    /// tries them in turn (`smc_listen_ism_init()`: link group, DMB) and
    /// takes the first that works; when none does, it declines with
    /// [`server_decline_init_failed`]. Never empty.
    pub candidates: BoundedVec<Candidate, MAX_CANDIDATES>,
    /// The negotiated EID (`ini->negotiated_eid`), sent in the accept.
    pub eid: Eid,
    /// The release: the peer's, at most ours (`ini->release_nr`).
    pub release: u8,
    /// The feature mask the accept offers (`ini->feature_mask`: C sends its
    /// own [`SMC_FEATURE_MASK`], not the intersection).
    pub feature_mask: u16,
    /// The version of the accept (`ini->smcd_version` = [`SMC_V2`]).
    pub version: u8,
}

/// `smc_check_ism_v2_match()`: the first local device (in list order) not
/// chosen yet with this CHID that can talk to the peer GID.
fn match_device(
    out: &mut BoundedVec<Candidate, MAX_CANDIDATES>,
    devs: &[LocalDevice],
    chid: u16,
    peer_gid: u64,
    peer_gid_ext: u64,
    can_talk: &mut impl FnMut(usize, u64, u64) -> bool,
) {
    for (i, d) in devs.iter().enumerate() {
        if out.iter().any(|c| c.dev == i) || d.chid != chid {
            continue;
        }
        if can_talk(i, peer_gid, peer_gid_ext) {
            let _ = out.push(Candidate { dev: i, peer_gid, peer_gid_ext });
            return;
        }
    }
}

/// The server's decision on `p`: SMC-Dv2 over one of the local DIBS devices
/// `devs` (in C's `smcd_dev_list` order), or the reason C declines with.
///
/// It follows `smc_listen_v2_check()`, `smc_clc_srv_v2x_features_validate()`
/// and `smc_find_ism_v2_device_serv()`: the native device of the SMC-D area
/// if its CHID is not 0, then each GID/CHID entry (an Emulated-ISM device
/// needs two entries with the same CHID, the second giving `gid_ext`, else
/// the entry is skipped), each matched by `smc_check_ism_v2_match()`: the
/// first local device with that CHID, not matched before, for which
/// `can_talk(device index, peer gid, peer gid_ext)` holds (C:
/// `smc_ism_cantalk()` with `ISM_RESERVED_VLANID`, i.e. no VLAN). With a
/// device, the EID: [`match_eid`] with the local user EIDs `ueids` (the
/// system EID plays no part on x86, where `seid_enabled` is 0).
///
/// When SMC-Dv2 fails the rest of `smc_listen_find_device()` runs as in
/// [`server_decline`] (this node has no SMC-Dv1 and no RDMA device); no
/// matching device stores `SMC_CLC_DECL_NOSMCD2DEV`, no common EID stores
/// nothing, so an SMC-D-only v2 proposal without a common EID is declined
/// `SMC_CLC_DECL_NOSMCDDEV`. For SMC-Rv2 the EIDs are compared exactly
/// (`smc_find_rdma_v2_device_serv()`).
pub fn server_choose(
    p: &Proposal,
    caps: &LocalCaps,
    devs: &[LocalDevice],
    ueids: &[Eid],
    mut can_talk: impl FnMut(usize, u64, u64) -> bool,
) -> Result<ServerChoice, DeclineReason> {
    let (v, release) = listen_checks(p, caps)?;
    let smcr_v2_eid = v.smcr_v2 && p.v2_ext.as_ref().is_some_and(|x| smcr_eid(x, ueids).is_some());
    let ism_v2 = match (ism_v2_searched(p, v), &p.smcd, &p.v2_ext, &p.smcd_v2_ext) {
        (true, Some(smcd), Some(ext), Some(dext)) => {
            let mut found = BoundedVec::new();
            if smcd.ism.chid != 0 {
                match_device(&mut found, devs, smcd.ism.chid, smcd.ism.gid, 0, &mut can_talk);
            }
            let mut entries = dext.gid_chids.iter().peekable();
            while let Some(e) = entries.next() {
                let mut gid_ext = 0;
                if chid_is_emulated(e.chid) {
                    match entries.peek() {
                        Some(next) if next.chid == e.chid => {
                            gid_ext = next.gid;
                            entries.next();
                        }
                        _ => continue,
                    }
                }
                match_device(&mut found, devs, e.chid, e.gid, gid_ext, &mut can_talk);
            }
            if found.is_empty() {
                IsmV2::NoDevice
            } else {
                match match_eid(ext, None, None, ueids, false) {
                    None => IsmV2::NoEid,
                    Some(eid) => {
                        return Ok(ServerChoice {
                            candidates: found,
                            eid,
                            release,
                            feature_mask: SMC_FEATURE_MASK,
                            version: SMC_V2,
                        })
                    }
                }
            }
        }
        _ => IsmV2::NotSearched,
    };
    Err(find_device_decline(p, caps, v, ism_v2, smcr_v2_eid))
}

/// `smc_find_rdma_v2_device_serv()`'s EID comparison (no system EID).
fn smcr_eid(ext: &V2Extension, ueids: &[Eid]) -> Option<Eid> {
    match_eid(ext, None, None, ueids, false)
}

/// The reason a C server declines `p` with when [`server_choose`] gave a
/// choice but none of its candidates could be initialised, `first` being the
/// first failure (C: `smc_init_info_store_rc()` in
/// `smc_find_ism_v2_device_serv()`; e.g. [`buf_create_decline`], or
/// `SMC_CLC_DECL_MEM` for a link group that could not be created): the
/// rest of `smc_listen_find_device()` runs with it stored.
pub fn server_decline_init_failed(
    p: &Proposal,
    caps: &LocalCaps,
    ueids: &[Eid],
    first: DeclineReason,
) -> DeclineReason {
    let (v, _) = match listen_checks(p, caps) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let smcr_v2_eid = v.smcr_v2 && p.v2_ext.as_ref().is_some_and(|x| smcr_eid(x, ueids).is_some());
    find_device_decline(p, caps, v, IsmV2::InitFailed(first), smcr_v2_eid)
}

/// The decline reason when a DMB or send buffer cannot be created
/// (`smc_listen_ism_init()`, `smc_connect_ism()`): `SMC_CLC_DECL_MAX_DMB`
/// when the device has no DMB left (`-ENOSPC`), else `SMC_CLC_DECL_MEM`.
pub fn buf_create_decline(no_space: bool) -> DeclineReason {
    if no_space {
        DeclineReason::MaxDmb
    } else {
        DeclineReason::Mem
    }
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
/// user EID nor a system EID: [`client_proposal_eids`] with no user EID.
pub fn client_proposal(devs: &[OfferedDevice]) -> Option<Proposal> {
    client_proposal_eids(devs, &[])
}

/// The devices of `devs` a C client offers, as indices into `devs`:
/// `smc_find_ism_v2_device_clnt()` (a CHID offered once, an Emulated-ISM
/// device taking two of the 8 GID/CHID entries and skipped if only one is
/// left).
fn offered_indices(devs: &[OfferedDevice]) -> BoundedVec<usize, MAX_V2_GID_ENTRIES> {
    let mut chosen: BoundedVec<usize, MAX_V2_GID_ENTRIES> = BoundedVec::new();
    let mut entries = 0usize;
    for (i, d) in devs.iter().enumerate() {
        if chosen.iter().any(|&c| devs.get(c).is_some_and(|o| o.chid == d.chid)) {
            continue;
        }
        let need = if chid_is_emulated(d.chid) { 2 } else { 1 };
        if entries.saturating_add(need) > MAX_V2_GID_ENTRIES {
            if entries < MAX_V2_GID_ENTRIES {
                continue;
            }
            break;
        }
        if chosen.push(i).is_err() {
            break;
        }
        entries = entries.saturating_add(need);
        if entries >= MAX_V2_GID_ENTRIES {
            break;
        }
    }
    chosen
}

/// The proposal a C client sends when its only devices are the SMC-Dv2
/// devices `devs` (in the order of C's device list) and its user EID table
/// holds `ueids` (in table order; no system EID: no PNET ID on any device,
/// no RDMA device; x86: `seid_enabled` is 0). `None` when there is no
/// device to offer: the client then declines with [`CLIENT_NO_DEVICE`].
///
/// It follows `smc_find_ism_v2_device_clnt()` (a CHID offered once, an
/// Emulated-ISM device taking two of the 8 GID/CHID entries and skipped if
/// only one is left) and `smc_clc_send_proposal()` for SMC-Dv2 only: no
/// SMC-Dv1 device (zero in the SMC-D info area), no IP area; `eid_cnt` and
/// `user_eids` from the table, the `seid` flag clear and no system EID.
/// (A C client proposes SMC-Dv2 without any EID too; the server then
/// declines `SMC_CLC_DECL_NOUEID`.) At most 8 EIDs fit; the table holds 4.
pub fn client_proposal_eids(devs: &[OfferedDevice], ueids: &[Eid]) -> Option<Proposal> {
    let mut entries: BoundedVec<GidChid, MAX_V2_GID_ENTRIES> = BoundedVec::new();
    for d in offered_indices(devs).iter().filter_map(|&i| devs.get(i)) {
        let _ = entries.push(GidChid { gid: d.gid, chid: d.chid });
        if chid_is_emulated(d.chid) {
            let _ = entries.push(GidChid { gid: d.gid_ext, chid: d.chid });
        }
    }
    if entries.is_empty() {
        return None;
    }
    let mut eids = BoundedVec::new();
    for e in ueids {
        if eids.push(*e).is_err() {
            break;
        }
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
            eids,
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

// ---------------------------------------------------------------------------
// Accept and confirm (SMC-Dv2).
// ---------------------------------------------------------------------------

/// Length of `struct smcd_cdc_msg`, which C keeps at the start of every DMB
/// (`cdc::SMCD_CDC_LEN`).
const SMCD_CDC_MSG_LEN: u32 = 32;

/// `smc_hostname` as `smc_clc_init()` makes it from the node name
/// (`utsname()->nodename`): blanks, overwritten with the node name up to its
/// first NUL, cut at 32 bytes.
pub fn hostname_field(nodename: &[u8]) -> [u8; HOSTNAME_LEN] {
    let mut out = [b' '; HOSTNAME_LEN];
    let name = nodename.split(|&c| c == 0).next().unwrap_or(&[]);
    for (o, c) in out.iter_mut().zip(name) {
        *o = *c;
    }
    out
}

/// This side of an SMC-D connection as its accept or confirm names it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SmcdLocalConn {
    /// GID (first 8 bytes) of the device used.
    pub gid: u64,
    /// Its `gid_ext`, sent only if `chid` is an Emulated-ISM CHID.
    pub gid_ext: u64,
    /// Its CHID.
    pub chid: u16,
    /// The token of this side's DMB (`conn->rmb_desc->token`).
    pub token: u64,
    /// The size code of this side's DMB (`conn->rmbe_size_comp`, see
    /// [`smcd_dmb_sizes_from`]).
    pub dmbe_size: u8,
    /// This side's link group id (`lgr->id`, 4 bytes as C copies them).
    pub lgr_id: [u8; 4],
    /// Whether this side created the link group for this connection
    /// (`ini->first_contact_local`).
    pub first_contact: bool,
}

/// An SMC-D v2 accept or confirm as `smc_clc_send_confirm_accept()`,
/// `smcd_clc_prep_confirm_accept()` and `smc_clc_fill_fce_v2x()` build it:
/// SMC-D eye catchers, `typev1` D, the first contact bit, `gid`, `token`,
/// `dmbe_idx` 0, `dmbe_size`, `linkid` = the link group id, `chid`, the EID
/// (zeros if its first byte is 0), `gid_ext` only for an Emulated-ISM CHID;
/// on first contact the first contact extension: OS Linux, `release`, the
/// host name ([`hostname_field`] of `nodename`), and for `release >= 1` the
/// v2.1 part with `feature_mask` (52 bytes; else 36). The message is 78
/// bytes, 130 with the v2.1 first contact extension, 114 without.
pub fn smcd_v2_accept_confirm(
    kind: AcceptConfirmKind,
    conn: &SmcdLocalConn,
    eid: &Eid,
    release: u8,
    feature_mask: u16,
    nodename: &[u8],
) -> AcceptConfirm {
    let fce = conn.first_contact.then(|| FirstContactExt {
        v2_direct: false,
        os_type: OS_LINUX,
        release,
        hostname: hostname_field(nodename),
        v2x: (release >= SMC_RELEASE_1).then_some(FceV2x {
            feature_mask,
            ..FceV2x::default()
        }),
    });
    AcceptConfirm {
        kind,
        eyecatcher: Eyecatcher::SmcD,
        version: SMC_V2,
        first_contact: conn.first_contact,
        body: AcceptConfirmBody::SmcD(SmcdAcceptConfirm {
            gid: conn.gid,
            token: conn.token,
            dmbe_idx: 0,
            dmbe_size: conn.dmbe_size,
            linkid: conn.lgr_id,
            v2: Some(SmcdAcceptConfirmV2 {
                chid: conn.chid,
                eid: if eid.first().is_some_and(|&c| c != 0) { *eid } else { [0; EID_LEN] },
                gid_ext: if chid_is_emulated(conn.chid) { conn.gid_ext } else { 0 },
                fce,
            }),
        }),
    }
}

/// The server's accept for `choice` on the candidate it could set up
/// (`smc_clc_send_accept()`): version 2, the negotiated EID, the release
/// and C's own feature mask.
pub fn server_accept(choice: &ServerChoice, conn: &SmcdLocalConn, nodename: &[u8]) -> AcceptConfirm {
    smcd_v2_accept_confirm(
        AcceptConfirmKind::Accept,
        conn,
        &choice.eid,
        choice.release,
        choice.feature_mask,
        nodename,
    )
}

/// The client's confirm for an accept it took (`smc_clc_send_confirm()` in
/// `smc_connect_ism()`): the accept's EID echoed, the release and feature
/// mask [`client_check_accept`] derived; `conn.first_contact` is
/// `ini->first_contact_local` ([`client_link_group`]).
pub fn client_confirm(choice: &ClientChoice, conn: &SmcdLocalConn, nodename: &[u8]) -> AcceptConfirm {
    smcd_v2_accept_confirm(
        AcceptConfirmKind::Confirm,
        conn,
        &choice.eid,
        choice.release,
        choice.feature_mask,
        nodename,
    )
}

/// Why an accept or confirm cannot be taken up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AcceptError {
    /// Decline with this reason and fall back to TCP.
    Decline(DeclineReason),
    /// C returns `-EPROTO`: no decline, no fallback; the connection fails
    /// with `EPROTO` (`smc_connect_decline_fallback()` with a negative code).
    Proto,
}

/// The peer's DMB as its accept or confirm describes it
/// (`smcd_conn_save_peer_info()`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PeerDmb {
    /// `peer_token`: the DMB token to write to.
    pub token: u64,
    /// `peer_rmbe_idx` (`dmbe_idx`; C writes at `len * dmbe_idx`).
    pub dmbe_idx: u8,
    /// The size code (`dmbe_size`).
    pub dmbe_size: u8,
    /// The DMB length (`smc_uncompress_bufsize(dmbe_size)`).
    pub len: u32,
    /// The data space (`peer_rmbe_size`): `len` less the 32-byte CDC
    /// message at the start of the DMB.
    pub space: u32,
}

impl PeerDmb {
    fn of(d: &SmcdAcceptConfirm) -> Self {
        let len = uncompress_bufsize(d.dmbe_size).unwrap_or(SMC_BUF_MIN_SIZE);
        Self {
            token: d.token,
            dmbe_idx: d.dmbe_idx,
            dmbe_size: d.dmbe_size,
            len,
            space: len.saturating_sub(SMCD_CDC_MSG_LEN),
        }
    }
}

/// What a first contact accept or confirm tells about the peer
/// (`smc_conn_save_peer_info_fce()`, into the link group).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PeerInfo {
    /// The EID of the message (`lgr->negotiated_eid`).
    pub eid: Eid,
    /// `peer_os`.
    pub os_type: u8,
    /// `peer_smc_release`.
    pub release: u8,
    /// `peer_hostname`: taken only if all 32 bytes are ASCII (`smc_isascii()`).
    pub hostname: Option<[u8; HOSTNAME_LEN]>,
}

impl PeerInfo {
    fn of(eid: &Eid, fce: &FirstContactExt) -> Self {
        Self {
            eid: *eid,
            os_type: fce.os_type,
            release: fce.release,
            hostname: fce.hostname.iter().all(u8::is_ascii).then_some(fce.hostname),
        }
    }
}

/// What a client takes from the server's accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientChoice {
    /// Index (into the `offered` given to [`client_check_accept`]) of the
    /// device the server chose (`ini->ism_selected`).
    pub dev: usize,
    /// The server's GID (`ini->ism_peer_gid[].gid`).
    pub peer_gid: u64,
    /// The server's `gid_ext` for an Emulated-ISM device, else 0.
    pub peer_gid_ext: u64,
    /// The server's link group id (`linkid`; C does not keep it).
    pub peer_lgr_id: [u8; 4],
    /// The server's DMB.
    pub peer_dmb: PeerDmb,
    /// The first contact bit (`ini->first_contact_peer`): the server created
    /// a new link group (see [`client_link_group`]).
    pub first_contact: bool,
    /// The accept's EID, echoed in the confirm (C does not check it
    /// against its own table).
    pub eid: Eid,
    /// `ini->release_nr`: the accept's release on first contact (taken as
    /// is, not checked), else 0.
    pub release: u8,
    /// `ini->feature_mask`: with release >= 1 the accept's feature mask
    /// limited to [`SMC_FEATURE_MASK`], else 0.
    pub feature_mask: u16,
    /// On first contact, what the accept says about the server.
    pub peer: Option<PeerInfo>,
}

/// The version of a client's decline after an accept (`__smc_connect()`:
/// 1 if the accept is v1, else 2).
pub fn accept_decline_version(a: &AcceptConfirm) -> u8 {
    if a.version == SMC_V1 {
        SMC_V1
    } else {
        SMC_V2
    }
}

/// Which of the devices `offered` (as given to [`client_proposal_eids`])
/// the server took in its accept `a`, and what the client needs from it:
/// `smc_connect_check_aclc()` (an SMC-R accept, or any v1 accept, answers a
/// proposal of SMC-Dv2 only: `SMC_CLC_DECL_MODEUNSUPP`), then of
/// `smc_connect_ism()`: the release and feature mask from the first contact
/// extension (`smc_clc_clnt_v2x_features_validate()`, which cannot fail for
/// SMC-D) and `smc_v2_determine_accepted_chid()`: the first offered device
/// with the accept's CHID, else [`AcceptError::Proto`].
///
/// C's `smc_connect_ism()` takes the v2 path only for version 2 exactly;
/// a higher version would leave it without a device (a NULL dereference in
/// `smc_conn_create()`): [`AcceptError::Proto`] here. What follows in C is
/// the link group ([`client_link_group`]) and the buffers
/// ([`smcd_dmb_sizes_from`], [`buf_create_decline`]).
pub fn client_check_accept(
    offered: &[OfferedDevice],
    a: &AcceptConfirm,
) -> Result<ClientChoice, AcceptError> {
    if a.kind != AcceptConfirmKind::Accept {
        return Err(AcceptError::Proto);
    }
    let d = match (&a.body, a.version) {
        (AcceptConfirmBody::SmcD(d), v) if v >= SMC_V2 => d,
        _ => return Err(AcceptError::Decline(DeclineReason::ModeUnsupp)),
    };
    let x = match (&d.v2, a.version) {
        (Some(x), SMC_V2) => x,
        _ => return Err(AcceptError::Proto),
    };
    let fce = x.fce.as_ref().filter(|_| a.first_contact);
    let release = fce.map_or(0, |f| f.release);
    let feature_mask = match fce.and_then(|f| f.v2x.as_ref()) {
        Some(v2x) if release >= SMC_RELEASE_1 => v2x.feature_mask & SMC_FEATURE_MASK,
        _ => 0,
    };
    let dev = offered_indices(offered)
        .iter()
        .copied()
        .find(|&i| offered.get(i).is_some_and(|o| o.chid == x.chid))
        .ok_or(AcceptError::Proto)?;
    Ok(ClientChoice {
        dev,
        peer_gid: d.gid,
        peer_gid_ext: if chid_is_emulated(x.chid) { x.gid_ext } else { 0 },
        peer_lgr_id: d.linkid,
        peer_dmb: PeerDmb::of(d),
        first_contact: a.first_contact,
        eid: x.eid,
        release,
        feature_mask,
        peer: fce.map(|f| PeerInfo::of(&x.eid, f)),
    })
}

/// The client's link group decision in `smc_conn_create()`: on the
/// server's first contact always a new one (`Ok(true)`, C's
/// `ini->first_contact_local`); else an existing one if there is one to
/// reuse (same device, same peer GID and, for an Emulated-ISM device,
/// `gid_ext`, not out of sync: `smcd_lgr_match()`), else
/// `SMC_CLC_DECL_SYNCERR` (whose decline C sends with the first contact bit).
pub fn client_link_group(peer_first_contact: bool, reusable: bool) -> Result<bool, DeclineReason> {
    match (peer_first_contact, reusable) {
        (true, _) => Ok(true),
        (false, true) => Ok(false),
        (false, false) => Err(DeclineReason::SyncErr),
    }
}

/// What a server takes from the client's confirm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerConfirm {
    /// The client's DMB.
    pub peer_dmb: PeerDmb,
    /// `ini->feature_mask`: on a first contact v2.1 confirm the confirm's
    /// (as is), else the accept's.
    pub feature_mask: u16,
    /// On first contact, what the confirm says about the client (its EID
    /// replaces the link group's negotiated EID, as in C).
    pub peer: Option<PeerInfo>,
}

/// The server's check of the client's confirm `c` after it sent the accept
/// for `choice`: `smc_clc_v2x_features_confirm_check()` (on a v2 first
/// contact confirm the release must be `choice.release`, else
/// `SMC_CLC_DECL_RELEASEERR`), then `smc_conn_save_peer_info_fce()` and
/// `smcd_conn_save_peer_info()`.
///
/// C reads an SMC-R confirm to an SMC-D accept through the SMC-D view of
/// its union; that is [`AcceptError::Proto`] here, as is an accept.
pub fn server_check_confirm(
    choice: &ServerChoice,
    c: &AcceptConfirm,
) -> Result<ServerConfirm, AcceptError> {
    let AcceptConfirmBody::SmcD(d) = &c.body else {
        return Err(AcceptError::Proto);
    };
    if c.kind != AcceptConfirmKind::Confirm {
        return Err(AcceptError::Proto);
    }
    let v2 = d.v2.as_ref().filter(|_| c.version != SMC_V1);
    let fc = v2.and_then(|x| x.fce.as_ref().filter(|_| c.first_contact).map(|f| (x, f)));
    let mut feature_mask = choice.feature_mask;
    if let Some((_, f)) = fc {
        if f.release != choice.release {
            return Err(AcceptError::Decline(DeclineReason::ReleaseErr));
        }
        if let (true, Some(v2x)) = (f.release >= SMC_RELEASE_1, &f.v2x) {
            feature_mask = v2x.feature_mask;
        }
    }
    Ok(ServerConfirm {
        peer_dmb: PeerDmb::of(d),
        feature_mask,
        peer: fc.map(|(x, f)| PeerInfo::of(&x.eid, f)),
    })
}

/// The DMB (or SMC-D send buffer) sizes C tries for a connection, largest
/// first: `__smc_buf_create()` starts at `smc_compress_bufsize(want)` (for
/// the DMB `want` is `sk_rcvbuf / 2`, for the send buffer `sk_sndbuf / 2`;
/// by default `2 * net.smc.rmem / 2` = 64 KiB, code 2) and on a failed
/// allocation (`-EAGAIN`, `-ENOSPC`, `-EIO` from `smcd_new_buf_create()`)
/// tries the next smaller size down to code 0 (16 KiB). It stops early
/// only when the buffer descriptor itself cannot be allocated (`-ENOMEM`).
/// If every size fails, the last error decides ([`buf_create_decline`]).
/// Gives `(size code, bytes)`: codes 6..=0, 1 MiB..16 KiB.
pub fn smcd_dmb_sizes_from(want: u32) -> impl Iterator<Item = (u8, u32)> {
    (0..=compress_bufsize(want, true))
        .rev()
        .filter_map(|c| uncompress_bufsize(c).map(|size| (c, size)))
}
