// SPDX-License-Identifier: GPL-2.0

//! Round trips for each message kind and version, including the layouts the C
//! sender never produces but the C receiver accepts.

mod common;

use common::*;
use smc_wire::*;

fn roundtrip(m: Message) -> Vec<u8> {
    let bytes = enc(&m);
    assert_eq!(Message::decode(&bytes), Ok(m), "bytes {bytes:02x?}");
    bytes
}

fn v6(n: u8) -> Ipv6Prefix {
    let mut prefix = [0u8; 16];
    prefix[0] = 0xfd;
    prefix[1] = n;
    Ipv6Prefix {
        prefix,
        prefix_len: 48 + n,
    }
}

fn full_v2_ext() -> V2Extension {
    let eids: Vec<Eid> = (0..MAX_UEIDS as u8)
        .map(|i| padded(&[b'E', b'0' + i]))
        .collect();
    V2Extension {
        eids: BoundedVec::from_slice(&eids).unwrap(),
        seid: true,
        release: 15,
        roce_gid: [0x5a; 16],
        max_conns: 255,
        max_links: 2,
        feature_mask: 0xffff,
    }
}

fn full_smcd_v2_ext() -> SmcdV2Extension {
    let gids: Vec<GidChid> = (0..MAX_V2_GID_ENTRIES as u64)
        .map(|i| GidChid {
            gid: 0x1000 + i,
            chid: 0xff00 | i as u16,
        })
        .collect();
    SmcdV2Extension {
        system_eid: seid(),
        gid_chids: BoundedVec::from_slice(&gids).unwrap(),
    }
}

#[test]
fn proposal_v1_smcr_only() {
    let p = Proposal {
        eyecatcher: Eyecatcher::SmcR,
        version: 1,
        typev1: SmcType::R,
        typev2: SmcType::R,
        local: ClcLocal {
            id_for_peer: [9; 8],
            gid: [8; 16],
            mac: [7; 6],
        },
        smcd: None,
        prefix: Some(PrefixInfo {
            outgoing_subnet: [10, 0, 0, 0],
            prefix_len: 8,
            ..Default::default()
        }),
        v2_ext: None,
        smcd_v2_ext: None,
    };
    let b = roundtrip(Message::Proposal(p));
    assert_eq!(b.len(), 52);
    assert_eq!(&b[38..40], &[0, 0]); // iparea_offset 0: no SMC-D area
}

#[test]
fn proposal_v1_both_with_eight_ipv6_prefixes() {
    let prefixes: Vec<Ipv6Prefix> = (0..8).map(v6).collect();
    let p = Proposal {
        eyecatcher: Eyecatcher::SmcR,
        version: 1,
        typev1: SmcType::B,
        typev2: SmcType::N,
        local: ClcLocal {
            id_for_peer: [1; 8],
            ..Default::default()
        },
        smcd: Some(SmcdInfo {
            ism: GidChid { gid: 42, chid: 7 },
            vendor_oui: [1, 2, 3],
            vendor_exp_options: [4, 5, 6, 7, 8],
        }),
        prefix: Some(PrefixInfo {
            ipv6_prefixes: BoundedVec::from_slice(&prefixes).unwrap(),
            ..Default::default()
        }),
        v2_ext: None,
        smcd_v2_ext: None,
    };
    let b = roundtrip(Message::Proposal(p));
    assert_eq!(b.len(), 40 + 40 + 8 + 8 * 17 + 4);
}

#[test]
fn proposal_v2_largest() {
    let prefixes: Vec<Ipv6Prefix> = (0..8).map(v6).collect();
    let p = Proposal {
        eyecatcher: Eyecatcher::SmcR,
        version: 2,
        typev1: SmcType::B,
        typev2: SmcType::B,
        local: ClcLocal {
            id_for_peer: [1; 8],
            gid: [2; 16],
            mac: [3; 6],
        },
        smcd: Some(SmcdInfo {
            ism: GidChid { gid: 1, chid: 2 },
            ..Default::default()
        }),
        prefix: Some(PrefixInfo {
            ipv6_prefixes: BoundedVec::from_slice(&prefixes).unwrap(),
            ..Default::default()
        }),
        v2_ext: Some(full_v2_ext()),
        smcd_v2_ext: Some(full_smcd_v2_ext()),
    };
    let b = roundtrip(Message::Proposal(p));
    // The largest valid proposal is exactly C's receive buffer.
    assert_eq!(b.len(), PROPOSAL_MAX_LEN);
    // Offsets as smc_clc_send_proposal() computes them.
    assert_eq!(u16::from_be_bytes([b[50], b[51]]) as usize, 28 + 8 + 8 * 17);
    let v2 = 52 + 28 + 8 + 8 * 17;
    assert_eq!(
        u16::from_be_bytes([b[v2 + 6], b[v2 + 7]]) as usize,
        32 + 8 * 32
    );
}

#[test]
fn proposal_v2_smcd_only_typev1_n() {
    // As Linux sends it when no IP prefix is found: typev1 N, iparea_offset 0.
    let p = Proposal {
        eyecatcher: Eyecatcher::SmcR,
        version: 2,
        typev1: SmcType::N,
        typev2: SmcType::D,
        local: ClcLocal::default(),
        smcd: Some(SmcdInfo::default()),
        prefix: None,
        v2_ext: Some(V2Extension {
            eids: BoundedVec::from_slice(&[eid()]).unwrap(),
            ..Default::default()
        }),
        smcd_v2_ext: Some(SmcdV2Extension::default()),
    };
    let b = roundtrip(Message::Proposal(p));
    assert_eq!(&b[38..40], &[0, 0]);
    assert_eq!(b.len(), 80 + 40 + 32 + 48 + 4);
}

#[test]
fn proposal_v2_typev1_n_with_gid_that_c_would_read_as_a_prefix_count() {
    // C reads ipv6_prefixes_cnt at 40 + iparea_offset + 7 even with typev1 N;
    // with iparea_offset 0 that is the GID's last byte. The encoder moves the
    // offset so that the message stays acceptable.
    let p = Proposal {
        eyecatcher: Eyecatcher::SmcR,
        version: 2,
        typev1: SmcType::N,
        typev2: SmcType::D,
        local: ClcLocal::default(),
        smcd: Some(SmcdInfo {
            ism: GidChid { gid: 0xff, chid: 1 },
            ..Default::default()
        }),
        prefix: None,
        v2_ext: Some(V2Extension::default()),
        smcd_v2_ext: Some(SmcdV2Extension::default()),
    };
    let b = roundtrip(Message::Proposal(p));
    assert_eq!(&b[38..40], &[0, 20]);
    // With offset 0 the C receiver would reject it.
    let mut c = b.clone();
    c[39] = 0;
    assert_eq!(
        Message::decode(&c),
        Err(DecodeError::TooMany {
            field: CountField::Ipv6Prefixes,
            count: 0xff,
            max: 8
        })
    );
}

#[test]
fn proposal_v2_smcr_only() {
    let p = Proposal {
        eyecatcher: Eyecatcher::SmcR,
        version: 2,
        typev1: SmcType::R,
        typev2: SmcType::R,
        local: ClcLocal {
            id_for_peer: [1; 8],
            gid: [2; 16],
            mac: [3; 6],
        },
        smcd: Some(SmcdInfo::default()),
        prefix: Some(PrefixInfo {
            outgoing_subnet: [10, 1, 0, 0],
            prefix_len: 16,
            ..Default::default()
        }),
        v2_ext: Some(V2Extension {
            eids: BoundedVec::from_slice(&[eid()]).unwrap(),
            release: 1,
            roce_gid: [0xfe; 16],
            max_conns: 255,
            max_links: 2,
            feature_mask: 1,
            ..Default::default()
        }),
        smcd_v2_ext: None,
    };
    roundtrip(Message::Proposal(p));
}

#[test]
fn proposal_v2_without_v2_types() {
    // version 2 header but typev2 N: no v2 extension on the wire.
    let p = Proposal {
        eyecatcher: Eyecatcher::SmcR,
        version: 2,
        typev1: SmcType::D,
        typev2: SmcType::N,
        local: ClcLocal::default(),
        smcd: Some(SmcdInfo {
            ism: GidChid { gid: 5, chid: 6 },
            ..Default::default()
        }),
        prefix: Some(PrefixInfo::default()),
        v2_ext: None,
        smcd_v2_ext: None,
    };
    let b = roundtrip(Message::Proposal(p));
    assert_eq!(b.len(), 80 + 8 + 4);
}

#[test]
fn proposal_v2_smcd_v2_ext_not_locatable() {
    // smcd_v2_ext_offset 0: C accepts the message, declines later (NOV2DEXT).
    let p = Proposal {
        eyecatcher: Eyecatcher::SmcR,
        version: 2,
        typev1: SmcType::N,
        typev2: SmcType::B,
        local: ClcLocal::default(),
        smcd: Some(SmcdInfo::default()),
        prefix: None,
        v2_ext: Some(V2Extension {
            eids: BoundedVec::from_slice(&[eid()]).unwrap(),
            ..Default::default()
        }),
        smcd_v2_ext: None,
    };
    let b = roundtrip(Message::Proposal(p));
    assert_eq!(b.len(), 80 + 40 + 32 + 48 + 4);
}

#[test]
fn proposal_v2_smcd_area_that_c_does_not_see() {
    // typev1 D with iparea_offset != 40: smc_get_clc_msg_smcd() is NULL.
    let p = Proposal {
        eyecatcher: Eyecatcher::SmcR,
        version: 2,
        typev1: SmcType::D,
        typev2: SmcType::N,
        local: ClcLocal::default(),
        smcd: None,
        prefix: Some(PrefixInfo {
            ipv6_prefixes: BoundedVec::from_slice(&[v6(1)]).unwrap(),
            ..Default::default()
        }),
        v2_ext: None,
        smcd_v2_ext: None,
    };
    let b = roundtrip(Message::Proposal(p));
    assert_eq!(&b[38..40], &[0, 0]);
}

#[test]
fn proposal_higher_versions_are_v2() {
    let mut p = proposal_v2_smcd();
    p.version = 15;
    roundtrip(Message::Proposal(p));
}

#[test]
fn accept_confirm_smcd_all_shapes() {
    for kind in [AcceptConfirmKind::Accept, AcceptConfirmKind::Confirm] {
        for fc in [false, true] {
            // v1
            let mut a = accept_v1_smcd();
            a.kind = kind;
            a.first_contact = fc;
            assert_eq!(
                roundtrip(Message::AcceptConfirm(a)).len(),
                SMCD_ACCEPT_CONFIRM_LEN
            );
            // v2, releases 0 and 1, with and without the v2.1 part
            for (release, v2x, len) in [
                (0, None, 78 + 36),
                (0, Some(FceV2x::default()), 78 + 52),
                (
                    1,
                    Some(FceV2x {
                        max_conns: 1,
                        max_links: 2,
                        feature_mask: 3,
                        vendor_exp_options: 4,
                    }),
                    78 + 52,
                ),
            ] {
                let mut a = accept_v2_smcd_fc();
                a.kind = kind;
                a.first_contact = fc;
                if let AcceptConfirmBody::SmcD(d) = &mut a.body {
                    let v2 = d.v2.as_mut().unwrap();
                    v2.gid_ext = 0xdead_beef;
                    v2.fce = fc.then_some(FirstContactExt {
                        v2_direct: true,
                        os_type: 15,
                        release,
                        hostname: padded(b"h"),
                        v2x,
                    });
                }
                let b = roundtrip(Message::AcceptConfirm(a));
                assert_eq!(b.len(), if fc { len } else { 78 });
            }
        }
    }
}

#[test]
fn accept_confirm_smcr_all_shapes() {
    for kind in [AcceptConfirmKind::Accept, AcceptConfirmKind::Confirm] {
        for fc in [false, true] {
            let mut a = accept_v1_smcr();
            a.kind = kind;
            a.first_contact = fc;
            assert_eq!(
                roundtrip(Message::AcceptConfirm(a)).len(),
                SMCR_ACCEPT_CONFIRM_LEN
            );

            let mut a = accept_v1_smcr();
            a.kind = kind;
            a.version = 2;
            a.first_contact = fc;
            let gids = [[0x11u8; 16], [0x22u8; 16]];
            if let AcceptConfirmBody::SmcR(r) = &mut a.body {
                r.qpn = 0xff_ffff;
                r.psn = 0xab_cdef;
                r.rmbe_size = 15;
                r.qp_mtu = 5;
                r.v2 = Some(SmcrAcceptConfirmV2 {
                    eid: eid(),
                    fce: fc.then_some(FirstContactExt {
                        v2_direct: true,
                        os_type: OS_LINUX,
                        release: 1,
                        hostname: padded(b"srv"),
                        v2x: Some(FceV2x {
                            max_conns: 255,
                            max_links: 2,
                            feature_mask: 1,
                            vendor_exp_options: 0,
                        }),
                    }),
                    gid_list: (fc && kind == AcceptConfirmKind::Confirm)
                        .then(|| BoundedVec::from_slice(&gids).unwrap()),
                });
            }
            let b = roundtrip(Message::AcceptConfirm(a));
            let expected = match (fc, kind) {
                (false, _) => 108,
                (true, AcceptConfirmKind::Accept) => 108 + 52,
                (true, AcceptConfirmKind::Confirm) => 108 + 52 + 4 + 2 * 16,
            };
            assert_eq!(b.len(), expected);
        }
    }
}

#[test]
fn declines() {
    for version in [1u8, 2, 3] {
        for code in [0u32, 0x0303_0001, 0x0400_0000, 0xdead_beef, u32::MAX] {
            let mut d = Decline::new(version, DeclineReason::from(code), [7; 8]);
            d.eyecatcher = Eyecatcher::SmcD;
            if let Some(v2) = &mut d.diagnosis_v2 {
                *v2 = [1, 2, 3, code];
            }
            let b = roundtrip(Message::Decline(d));
            assert_eq!(b.len(), if version == 1 { 28 } else { 44 });
            assert_eq!(u32::from_be_bytes([b[16], b[17], b[18], b[19]]), code);
        }
    }
}

#[test]
#[allow(clippy::unnecessary_fallible_conversions)] // TryFrom is part of the API
fn decline_reasons() {
    use core::convert::TryFrom;
    assert_eq!(
        DeclineReason::try_from(0x0303_0005u32),
        Ok(DeclineReason::NoV2DExt)
    );
    assert_eq!(DeclineReason::from(0x0999_0003), DeclineReason::ErrRegBuf);
    assert!(matches!(
        DeclineReason::from(0x0303_00ff),
        DeclineReason::Other(0x0303_00ff)
    ));
    assert_eq!(DeclineReason::Other(0x0101_0000), DeclineReason::Mem);
    assert_eq!(u32::from(DeclineReason::PeerDecl), 0x0500_0000);
    let all = [
        (DeclineReason::Mem, 0x0101_0000),
        (DeclineReason::TimeoutCl, 0x0201_0000),
        (DeclineReason::TimeoutAl, 0x0202_0000),
        (DeclineReason::CnfErr, 0x0300_0000),
        (DeclineReason::PeerNoSmc, 0x0301_0000),
        (DeclineReason::Ipsec, 0x0302_0000),
        (DeclineReason::NoSmcDev, 0x0303_0000),
        (DeclineReason::NoSmcdDev, 0x0303_0001),
        (DeclineReason::NoSmcrDev, 0x0303_0002),
        (DeclineReason::NoIsm2Supp, 0x0303_0003),
        (DeclineReason::NoV2Ext, 0x0303_0004),
        (DeclineReason::NoV2DExt, 0x0303_0005),
        (DeclineReason::NoSeid, 0x0303_0006),
        (DeclineReason::NoSmcd2Dev, 0x0303_0007),
        (DeclineReason::NoUeid, 0x0303_0008),
        (DeclineReason::ReleaseErr, 0x0303_0009),
        (DeclineReason::MaxConnErr, 0x0303_000a),
        (DeclineReason::MaxLinkErr, 0x0303_000b),
        (DeclineReason::ModeUnsupp, 0x0304_0000),
        (DeclineReason::RmbeEc, 0x0305_0000),
        (DeclineReason::OptUnsupp, 0x0306_0000),
        (DeclineReason::DiffPrefix, 0x0307_0000),
        (DeclineReason::GetVlanErr, 0x0308_0000),
        (DeclineReason::IsmVlanErr, 0x0309_0000),
        (DeclineReason::NoActLink, 0x030a_0000),
        (DeclineReason::NoSrvLink, 0x030b_0000),
        (DeclineReason::VersMismat, 0x030c_0000),
        (DeclineReason::MaxDmb, 0x030d_0000),
        (DeclineReason::NoRoute, 0x030e_0000),
        (DeclineReason::NoIndirect, 0x030f_0000),
        (DeclineReason::SyncErr, 0x0400_0000),
        (DeclineReason::PeerDecl, 0x0500_0000),
        (DeclineReason::IntErr, 0x0999_0000),
        (DeclineReason::ErrRtok, 0x0999_0001),
        (DeclineReason::ErrRdyLnk, 0x0999_0002),
        (DeclineReason::ErrRegBuf, 0x0999_0003),
    ];
    for (r, code) in all {
        assert_eq!(r.code(), code);
        let back = DeclineReason::from_code(code);
        assert!(
            !matches!(back, DeclineReason::Other(_)),
            "{code:#x} has a name"
        );
        assert_eq!(back, r);
    }
}

#[test]
fn bufsize_codes_match_smc_core() {
    // smc_compress_bufsize() / smc_uncompress_bufsize()
    assert_eq!(compress_bufsize(0, true), 0);
    assert_eq!(compress_bufsize(16384, true), 0);
    assert_eq!(compress_bufsize(16385, true), 1);
    assert_eq!(compress_bufsize(32768, true), 1);
    assert_eq!(compress_bufsize(65536, true), 2);
    assert_eq!(compress_bufsize(1 << 20, true), 6);
    assert_eq!(compress_bufsize(1 << 30, true), 6); // SMCD_DMBE_SIZES
    assert_eq!(compress_bufsize(1 << 29, false), 15);
    assert_eq!(compress_bufsize(u32::MAX, false), 15); // SMCR_RMBE_SIZES
    for code in 0..=15u8 {
        let size = uncompress_bufsize(code).unwrap();
        assert_eq!(size, 1 << (code + 14));
        assert_eq!(compress_bufsize(size, false), code);
    }
    assert_eq!(uncompress_bufsize(16), None);
    assert!(chid_is_emulated(0xffff) && chid_is_emulated(0xff00) && !chid_is_emulated(0xfeff));
}

#[test]
fn encoder_refuses_inconsistent_messages() {
    let inconsistent = |m: Message| {
        let mut out = [0u8; 1024];
        let r = m.encode(&mut out);
        assert!(
            matches!(
                r,
                Err(EncodeError::Inconsistent(_)) | Err(EncodeError::FieldOutOfRange { .. })
            ),
            "{m:?} gave {r:?}"
        );
    };
    let mut p = proposal_v1_smcd();
    p.typev1 = SmcType::N;
    inconsistent(Message::Proposal(p));
    let mut p = proposal_v1_smcd();
    p.prefix = None;
    inconsistent(Message::Proposal(p));
    let mut p = proposal_v1_smcd();
    p.v2_ext = Some(V2Extension::default());
    inconsistent(Message::Proposal(p));
    let mut p = proposal_v2_smcd();
    p.v2_ext = None;
    inconsistent(Message::Proposal(p));
    let mut p = proposal_v2_smcd();
    p.prefix = None;
    inconsistent(Message::Proposal(p));
    let mut p = proposal_v2_smcd();
    p.smcd = None;
    inconsistent(Message::Proposal(p));
    let mut p = proposal_v2_smcd();
    p.typev2 = SmcType::R;
    inconsistent(Message::Proposal(p)); // SMC-Dv2 extension without SMC-D in typev2
    let mut p = proposal_v2_smcd();
    p.version = 0;
    inconsistent(Message::Proposal(p));
    let mut p = proposal_v2_smcd();
    p.version = 16;
    inconsistent(Message::Proposal(p));
    let mut p = proposal_v2_smcd();
    p.v2_ext.as_mut().unwrap().release = 16;
    inconsistent(Message::Proposal(p));

    let mut a = accept_v2_smcd_fc();
    a.first_contact = false; // fce present without first contact
    inconsistent(Message::AcceptConfirm(a));
    let mut a = confirm_v2_smcd();
    a.first_contact = true; // first contact without fce
    inconsistent(Message::AcceptConfirm(a));
    let mut a = accept_v1_smcd();
    a.version = 2; // v2 without the v2 part
    inconsistent(Message::AcceptConfirm(a));
    let mut a = accept_v2_smcd_fc();
    a.version = 1; // v1 with a v2 part
    inconsistent(Message::AcceptConfirm(a));
    let mut a = accept_v2_smcd_fc();
    if let AcceptConfirmBody::SmcD(d) = &mut a.body {
        d.v2.as_mut().unwrap().fce.as_mut().unwrap().v2x = None; // release 1 without v2.1 part
    }
    inconsistent(Message::AcceptConfirm(a));
    let mut a = accept_v1_smcd();
    if let AcceptConfirmBody::SmcD(d) = &mut a.body {
        d.dmbe_size = 16;
    }
    inconsistent(Message::AcceptConfirm(a));
    let mut a = accept_v1_smcr();
    if let AcceptConfirmBody::SmcR(r) = &mut a.body {
        r.qpn = 1 << 24;
    }
    inconsistent(Message::AcceptConfirm(a));
    let mut a = accept_v1_smcr();
    a.version = 2;
    if let AcceptConfirmBody::SmcR(r) = &mut a.body {
        // GID list in an accept
        r.v2 = Some(SmcrAcceptConfirmV2 {
            eid: eid(),
            fce: None,
            gid_list: Some(BoundedVec::new()),
        });
    }
    inconsistent(Message::AcceptConfirm(a));

    let mut d = decline_v1();
    d.diagnosis_v2 = Some([0; 4]);
    inconsistent(Message::Decline(d));
    let mut d = decline_v2();
    d.diagnosis_v2 = None;
    inconsistent(Message::Decline(d));
    let mut d = decline_v2();
    d.os_type = 16;
    inconsistent(Message::Decline(d));
}

#[test]
fn bounded_vec() {
    let mut v: BoundedVec<u8, 2> = BoundedVec::new();
    assert!(v.is_empty());
    assert_eq!(v.push(1), Ok(()));
    assert_eq!(v.push(2), Ok(()));
    assert_eq!(v.push(3), Err(3));
    assert_eq!(v.as_slice(), &[1, 2]);
    assert_eq!(v.len(), 2);
    assert_eq!(BoundedVec::<u8, 2>::from_slice(&[1, 2, 3]), None);
    assert_eq!(BoundedVec::<u8, 2>::from_slice(&[1, 2]), Some(v));
    assert_eq!(format!("{v:?}"), "[1, 2]");
}
