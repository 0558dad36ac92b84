// SPDX-License-Identifier: GPL-2.0

//! Test vectors written out by hand from the C struct definitions in
//! `net/smc/smc_clc.h` and the way `net/smc/smc_clc.c` fills them, together
//! with the message each one decodes to.
//!
//! `tests/c/clc_layout.c` builds the same messages with the C structs and
//! the C senders' statements; `tests/c_layout.rs` checks that it produces the
//! same bytes.

#![allow(dead_code)]

use smc_wire::*;

pub const R: [u8; 4] = EYECATCHER_SMCR;
pub const D: [u8; 4] = EYECATCHER_SMCD;

/// A blank-padded 32-byte EID or host name.
pub fn padded(s: &[u8]) -> [u8; 32] {
    let mut out = [b' '; 32];
    out[..s.len()].copy_from_slice(s);
    out
}

pub fn eid() -> Eid {
    padded(b"SMC-TEST-EID")
}

pub fn seid() -> Eid {
    *b"IBM-SYSZ-ISMSEID0000000012345678"
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.iter().flat_map(|p| p.iter().copied()).collect()
}

// ---------------------------------------------------------------------------
// Proposal, v1, SMC-D only (as a v1-only sender lays it out).
// ---------------------------------------------------------------------------

pub fn proposal_v1_smcd_bytes() -> Vec<u8> {
    cat(&[
        // struct smc_clc_msg_hdr
        &R,          // eyecatcher: C always sends SMC_EYECATCHER in a proposal
        &[0x01],     // type: SMC_CLC_PROPOSAL
        &[0x00, 92], // length: 40 + 40 + 8 + 4
        &[0x11],     // version 1 (bits 7..4), typev2 0 (3..2), typev1 SMC_TYPE_D (1..0)
        // struct smc_clc_msg_local: not filled for SMC-D only
        &[0; 8],     // id_for_peer
        &[0; 16],    // gid
        &[0; 6],     // mac
        &[0x00, 40], // iparea_offset: sizeof(struct smc_clc_msg_smcd)
        // struct smc_clc_msg_smcd
        &[0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88], // ism.gid
        &[0x00, 0x00],                                     // ism.chid
        &[0x00, 0x00],                                     // v2_ext_offset
        &[0; 3],                                           // vendor_oui
        &[0; 5],                                           // vendor_exp_options
        &[0; 20],                                          // reserved
        // struct smc_clc_msg_proposal_prefix
        &[192, 168, 1, 0], // outgoing_subnet
        &[24],             // prefix_len
        &[0, 0],           // reserved
        &[0],              // ipv6_prefixes_cnt
        // struct smc_clc_msg_trail
        &R,
    ])
}

pub fn proposal_v1_smcd() -> Proposal {
    Proposal {
        eyecatcher: Eyecatcher::SmcR,
        version: 1,
        typev1: SmcType::D,
        typev2: SmcType::R, // bits 0: ignored in v1
        local: ClcLocal::default(),
        smcd: Some(SmcdInfo {
            ism: GidChid {
                gid: 0x1122_3344_5566_7788,
                chid: 0,
            },
            ..Default::default()
        }),
        prefix: Some(PrefixInfo {
            outgoing_subnet: [192, 168, 1, 0],
            prefix_len: 24,
            ipv6_prefixes: BoundedVec::new(),
        }),
        v2_ext: None,
        smcd_v2_ext: None,
    }
}

// ---------------------------------------------------------------------------
// Proposal, v2, SMC-D v1+v2, one IPv6 prefix, one UEID, one extra GID.
// ---------------------------------------------------------------------------

pub fn proposal_v2_smcd_bytes() -> Vec<u8> {
    let eid = eid();
    let seid = seid();
    cat(&[
        // struct smc_clc_msg_hdr
        &R,
        &[0x01],
        &[0x00, 239], // 40 + 40 + (8 + 17) + (40 + 32) + (48 + 10) + 4
        &[0x25],      // version 2, typev2 SMC_TYPE_D, typev1 SMC_TYPE_D
        // struct smc_clc_msg_local
        &[0; 30],
        &[0x00, 40], // iparea_offset
        // struct smc_clc_msg_smcd
        &[0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08], // ism.gid
        &[0x01, 0x23],                                     // ism.chid
        &[0x00, 53],                                       // v2_ext_offset: 40 - 12 + 8 + 1 * 17
        &[0; 3],
        &[0; 5],
        &[0; 20],
        // struct smc_clc_msg_proposal_prefix (IPv6: subnet and length 0)
        &[0, 0, 0, 0],
        &[0],
        &[0, 0],
        &[1], // ipv6_prefixes_cnt
        // struct smc_clc_ipv6_prefix
        &[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        &[64],
        // struct smc_clc_v2_extension: struct smc_clnt_opts_area_hdr
        &[1],          // eid_cnt
        &[1],          // ism_gid_cnt
        &[0],          // reserved1
        &[0x11],       // flag: release 1 (bits 7..4), rsvd (3..1), seid 1 (bit 0)
        &[0, 0],       // reserved2
        &[0x00, 64],   // smcd_v2_ext_offset: 40 - 8 + 1 * 32
        &[0; 16],      // roce
        &[0],          // max_conns
        &[0],          // max_links
        &[0x00, 0x01], // feature_mask: SMC_FEATURE_MASK
        &[0; 12],
        &eid, // user_eids[0]
        // struct smc_clc_smcd_v2_extension
        &seid,
        &[0; 16],
        &[0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88], // gidchid[0].gid
        &[0x04, 0x56],                                     // gidchid[0].chid
        &R,
    ])
}

pub fn proposal_v2_smcd() -> Proposal {
    Proposal {
        eyecatcher: Eyecatcher::SmcR,
        version: 2,
        typev1: SmcType::D,
        typev2: SmcType::D,
        local: ClcLocal::default(),
        smcd: Some(SmcdInfo {
            ism: GidChid {
                gid: 0x0102_0304_0506_0708,
                chid: 0x0123,
            },
            ..Default::default()
        }),
        prefix: Some(PrefixInfo {
            outgoing_subnet: [0; 4],
            prefix_len: 0,
            ipv6_prefixes: BoundedVec::from_slice(&[Ipv6Prefix {
                prefix: [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                prefix_len: 64,
            }])
            .unwrap(),
        }),
        v2_ext: Some(V2Extension {
            eids: BoundedVec::from_slice(&[eid()]).unwrap(),
            seid: true,
            release: 1,
            roce_gid: [0; 16],
            max_conns: 0,
            max_links: 0,
            feature_mask: SMC_FEATURE_MASK,
        }),
        smcd_v2_ext: Some(SmcdV2Extension {
            system_eid: seid(),
            gid_chids: BoundedVec::from_slice(&[GidChid {
                gid: 0x1122_3344_5566_7788,
                chid: 0x0456,
            }])
            .unwrap(),
        }),
    }
}

// ---------------------------------------------------------------------------
// Accept, SMC-D v1, first contact.
// ---------------------------------------------------------------------------

pub fn accept_v1_smcd_bytes() -> Vec<u8> {
    cat(&[
        &D,          // SMCD_EYECATCHER
        &[0x02],     // SMC_CLC_ACCEPT
        &[0x00, 48], // SMCD_CLC_ACCEPT_CONFIRM_LEN
        &[0x19],     // version 1, typev2 first contact (0b10), typev1 SMC_TYPE_D
        // struct smcd_clc_msg_accept_confirm_common
        &[0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11], // gid
        &[0x10, 0x00, 0x20, 0x00, 0x30, 0x00, 0x40, 0x00], // token
        &[0x00],                                           // dmbe_idx
        &[0x20],                   // dmbe_size 2 (64 KiB) in bits 7..4, reserved3 in 3..0
        &[0x00, 0x00],             // reserved4
        &[0x00, 0x00, 0x05, 0x00], // linkid (lgr->id)
        &[0; 12],                  // d1: reserved in v1
        &D,
    ])
}

pub fn accept_v1_smcd() -> AcceptConfirm {
    AcceptConfirm {
        kind: AcceptConfirmKind::Accept,
        eyecatcher: Eyecatcher::SmcD,
        version: 1,
        first_contact: true,
        body: AcceptConfirmBody::SmcD(SmcdAcceptConfirm {
            gid: 0x0a0b_0c0d_0e0f_1011,
            token: 0x1000_2000_3000_4000,
            dmbe_idx: 0,
            dmbe_size: 2,
            linkid: [0, 0, 5, 0],
            v2: None,
        }),
    }
}

// ---------------------------------------------------------------------------
// Accept, SMC-D v2, first contact, release 1 (with the v2.1 part).
// ---------------------------------------------------------------------------

pub fn accept_v2_smcd_fc_bytes() -> Vec<u8> {
    let eid = eid();
    let host = padded(b"vm1");
    cat(&[
        &D,
        &[0x02],
        &[0x00, 130], // SMCD_CLC_ACCEPT_CONFIRM_LEN_V2 + sizeof(fce_v2x)
        &[0x29],      // version 2, first contact, SMC_TYPE_D
        &[0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11], // gid
        &[0x10, 0x00, 0x20, 0x00, 0x30, 0x00, 0x40, 0x01], // token
        &[0x00],      // dmbe_idx
        &[0x10],      // dmbe_size 1 (32 KiB)
        &[0x00, 0x00],
        &[0x00, 0x00, 0x06, 0x00], // linkid
        // d1
        &[0x04, 0x56], // chid
        &eid,          // eid
        &[0; 8],       // gid_ext (not Emulated-ISM)
        // struct smc_clc_first_contact_ext_v2x
        &[0x00],       // v2_direct (bit 7) 0, reserved
        &[0x21],       // os_type SMC_CLC_OS_LINUX (bits 7..4), release 1 (3..0)
        &[0x00, 0x00], // reserved2
        &host,         // hostname
        &[0x00, 0x00], // reserved3 (max_conns/max_links are SMC-R only)
        &[0x00, 0x01], // feature_mask
        &[0; 4],       // vendor_exp_options
        &[0; 8],       // reserved4
        &D,
    ])
}

pub fn accept_v2_smcd_fc() -> AcceptConfirm {
    AcceptConfirm {
        kind: AcceptConfirmKind::Accept,
        eyecatcher: Eyecatcher::SmcD,
        version: 2,
        first_contact: true,
        body: AcceptConfirmBody::SmcD(SmcdAcceptConfirm {
            gid: 0x0a0b_0c0d_0e0f_1011,
            token: 0x1000_2000_3000_4001,
            dmbe_idx: 0,
            dmbe_size: 1,
            linkid: [0, 0, 6, 0],
            v2: Some(SmcdAcceptConfirmV2 {
                chid: 0x0456,
                eid: eid(),
                gid_ext: 0,
                fce: Some(FirstContactExt {
                    v2_direct: false,
                    os_type: OS_LINUX,
                    release: 1,
                    hostname: padded(b"vm1"),
                    v2x: Some(FceV2x {
                        max_conns: 0,
                        max_links: 0,
                        feature_mask: 1,
                        vendor_exp_options: 0,
                    }),
                }),
            }),
        }),
    }
}

// ---------------------------------------------------------------------------
// Confirm, SMC-D v2, first contact, release 0 (no v2.1 part), Emulated-ISM.
// ---------------------------------------------------------------------------

pub fn confirm_v2_smcd_fc_rel0_bytes() -> Vec<u8> {
    let eid = eid();
    let host = padded(b"client");
    cat(&[
        &D,
        &[0x03],      // SMC_CLC_CONFIRM
        &[0x00, 114], // 78 + sizeof(struct smc_clc_first_contact_ext)
        &[0x29],
        &[0, 0, 0, 0, 0, 0, 0x12, 0x34], // gid
        &[0, 0, 0, 0, 0, 0, 0x56, 0x78], // token
        &[0x00],
        &[0x60], // dmbe_size 6 (1 MiB)
        &[0x00, 0x00],
        &[0x01, 0x02, 0x03, 0x04], // linkid
        &[0xff, 0xff],             // chid: loopback-ism (Emulated-ISM)
        &eid,
        &[0, 0, 0, 0, 0, 0, 0x9a, 0xbc], // gid_ext
        // struct smc_clc_first_contact_ext
        &[0x00],
        &[0x20], // os_type Linux, release 0
        &[0x00, 0x00],
        &host,
        &D,
    ])
}

pub fn confirm_v2_smcd_fc_rel0() -> AcceptConfirm {
    AcceptConfirm {
        kind: AcceptConfirmKind::Confirm,
        eyecatcher: Eyecatcher::SmcD,
        version: 2,
        first_contact: true,
        body: AcceptConfirmBody::SmcD(SmcdAcceptConfirm {
            gid: 0x1234,
            token: 0x5678,
            dmbe_idx: 0,
            dmbe_size: 6,
            linkid: [1, 2, 3, 4],
            v2: Some(SmcdAcceptConfirmV2 {
                chid: 0xffff,
                eid: eid(),
                gid_ext: 0x9abc,
                fce: Some(FirstContactExt {
                    v2_direct: false,
                    os_type: OS_LINUX,
                    release: 0,
                    hostname: padded(b"client"),
                    v2x: None,
                }),
            }),
        }),
    }
}

// ---------------------------------------------------------------------------
// Confirm, SMC-D v2, not first contact.
// ---------------------------------------------------------------------------

pub fn confirm_v2_smcd_bytes() -> Vec<u8> {
    let eid = eid();
    cat(&[
        &D,
        &[0x03],
        &[0x00, 78], // SMCD_CLC_ACCEPT_CONFIRM_LEN_V2
        &[0x21],     // version 2, no first contact, SMC_TYPE_D
        &[0, 0, 0, 0, 0, 0, 0x12, 0x34],
        &[0, 0, 0, 0, 0, 0, 0x56, 0x79],
        &[0x00],
        &[0x00], // dmbe_size 0 (16 KiB)
        &[0x00, 0x00],
        &[0x01, 0x02, 0x03, 0x04],
        &[0x01, 0x23], // chid
        &eid,
        &[0; 8],
        &D,
    ])
}

pub fn confirm_v2_smcd() -> AcceptConfirm {
    AcceptConfirm {
        kind: AcceptConfirmKind::Confirm,
        eyecatcher: Eyecatcher::SmcD,
        version: 2,
        first_contact: false,
        body: AcceptConfirmBody::SmcD(SmcdAcceptConfirm {
            gid: 0x1234,
            token: 0x5679,
            dmbe_idx: 0,
            dmbe_size: 0,
            linkid: [1, 2, 3, 4],
            v2: Some(SmcdAcceptConfirmV2 {
                chid: 0x0123,
                eid: eid(),
                gid_ext: 0,
                fce: None,
            }),
        }),
    }
}

// ---------------------------------------------------------------------------
// Accept, SMC-R v1, first contact.
// ---------------------------------------------------------------------------

pub fn accept_v1_smcr_bytes() -> Vec<u8> {
    cat(&[
        &R,
        &[0x02],
        &[0x00, 68], // SMCR_CLC_ACCEPT_CONFIRM_LEN
        &[0x18],     // version 1, first contact, SMC_TYPE_R
        // struct smc_clc_msg_local
        &[1, 2, 3, 4, 5, 6, 7, 8],
        &[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01],
        &[0x02, 0x00, 0x00, 0x00, 0x00, 0x01],
        &[0x00, 0x01, 0x23],                               // qpn
        &[0x00, 0x00, 0x45, 0x67],                         // rmb_rkey
        &[0x01],                                           // rmbe_idx
        &[0x00, 0x00, 0x00, 0x09],                         // rmbe_alert_token
        &[0x23], // rmbe_size 2 (bits 7..4), qp_mtu 3 (3..0)
        &[0x00], // reserved
        &[0x00, 0x00, 0x7f, 0x00, 0x12, 0x34, 0x50, 0x00], // rmb_dma_addr
        &[0x00], // reserved2
        &[0x00, 0x00, 0x77], // psn
        &R,
    ])
}

pub fn accept_v1_smcr() -> AcceptConfirm {
    AcceptConfirm {
        kind: AcceptConfirmKind::Accept,
        eyecatcher: Eyecatcher::SmcR,
        version: 1,
        first_contact: true,
        body: AcceptConfirmBody::SmcR(SmcrAcceptConfirm {
            local: ClcLocal {
                id_for_peer: [1, 2, 3, 4, 5, 6, 7, 8],
                gid: [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01],
                mac: [0x02, 0, 0, 0, 0, 0x01],
            },
            qpn: 0x123,
            rmb_rkey: 0x4567,
            rmbe_idx: 1,
            rmbe_alert_token: 9,
            rmbe_size: 2,
            qp_mtu: 3,
            rmb_dma_addr: 0x7f00_1234_5000,
            psn: 0x77,
            v2: None,
        }),
    }
}

// ---------------------------------------------------------------------------
// Declines.
// ---------------------------------------------------------------------------

pub fn decline_v1_bytes() -> Vec<u8> {
    cat(&[
        &R,                        // C always sends SMC_EYECATCHER in a decline
        &[0x04],                   // SMC_CLC_DECLINE
        &[0x00, 28],               // sizeof(struct smc_clc_msg_decline)
        &[0x10],                   // version 1, typev2 0, typev1 0
        &[1, 2, 3, 4, 5, 6, 7, 8], // id_for_peer
        &[0x03, 0x03, 0x00, 0x01], // peer_diagnosis: SMC_CLC_DECL_NOSMCDDEV
        &[0x00],                   // os_type 0 in v1 (bits 7..4)
        &[0, 0, 0],                // reserved2
        &R,
    ])
}

pub fn decline_v1() -> Decline {
    Decline::new(1, DeclineReason::NoSmcdDev, [1, 2, 3, 4, 5, 6, 7, 8])
}

pub fn decline_v2_bytes() -> Vec<u8> {
    cat(&[
        &R,
        &[0x04],
        &[0x00, 44],               // sizeof(struct smc_clc_msg_decline_v2)
        &[0x28],                   // version 2, typev2 first contact (with SYNCERR), typev1 0
        &[0; 8],                   // id_for_peer (SMC-D)
        &[0x04, 0x00, 0x00, 0x00], // SMC_CLC_DECL_SYNCERR
        &[0x20],                   // os_type SMC_CLC_OS_LINUX
        &[0, 0, 0],
        &[0; 16], // peer_diagnosis_v2[4]
        &R,
    ])
}

pub fn decline_v2() -> Decline {
    Decline::new(2, DeclineReason::SyncErr, [0; 8])
}

// ---------------------------------------------------------------------------
// All of them.
// ---------------------------------------------------------------------------

/// (name, bytes, message): the name is also the C harness's name and the
/// seed-corpus file name.
pub fn vectors() -> Vec<(&'static str, Vec<u8>, Message)> {
    vec![
        (
            "proposal_v1_smcd",
            proposal_v1_smcd_bytes(),
            Message::Proposal(proposal_v1_smcd()),
        ),
        (
            "proposal_v2_smcd",
            proposal_v2_smcd_bytes(),
            Message::Proposal(proposal_v2_smcd()),
        ),
        (
            "accept_v1_smcd",
            accept_v1_smcd_bytes(),
            Message::AcceptConfirm(accept_v1_smcd()),
        ),
        (
            "accept_v2_smcd_fc",
            accept_v2_smcd_fc_bytes(),
            Message::AcceptConfirm(accept_v2_smcd_fc()),
        ),
        (
            "confirm_v2_smcd_fc_rel0",
            confirm_v2_smcd_fc_rel0_bytes(),
            Message::AcceptConfirm(confirm_v2_smcd_fc_rel0()),
        ),
        (
            "confirm_v2_smcd",
            confirm_v2_smcd_bytes(),
            Message::AcceptConfirm(confirm_v2_smcd()),
        ),
        (
            "accept_v1_smcr",
            accept_v1_smcr_bytes(),
            Message::AcceptConfirm(accept_v1_smcr()),
        ),
        (
            "decline_v1",
            decline_v1_bytes(),
            Message::Decline(decline_v1()),
        ),
        (
            "decline_v2",
            decline_v2_bytes(),
            Message::Decline(decline_v2()),
        ),
    ]
}

/// Encodes a message into a fresh buffer.
pub fn enc(m: &Message) -> Vec<u8> {
    let mut buf = vec![0u8; 1024];
    let n = m.encode(&mut buf).expect("encode");
    assert_eq!(Ok(n), m.encoded_len());
    buf.truncate(n);
    buf
}

/// A small xorshift generator (no extra crates).
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}
