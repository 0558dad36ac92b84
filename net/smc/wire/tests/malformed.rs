// SPDX-License-Identifier: GPL-2.0

//! Malformations, each with what the C receiver does with it.

mod common;

use common::*;
use smc_wire::*;

fn set_len(b: &mut [u8], len: usize) {
    b[5..7].copy_from_slice(&(len as u16).to_be_bytes());
}

fn resized(mut b: Vec<u8>, len: usize) -> Vec<u8> {
    // Keep the trailer at the end.
    let trl: [u8; 4] = b[b.len() - 4..].try_into().unwrap();
    b.truncate(b.len() - 4);
    b.resize(len - 4, 0);
    b.extend_from_slice(&trl);
    set_len(&mut b, len);
    b
}

#[test]
fn header_checks() {
    // smc_clc_msg_hdr_valid(): eye catcher
    let mut b = proposal_v2_smcd_bytes();
    b[3] = 0;
    assert_eq!(
        Message::decode(&b),
        Err(DecodeError::BadEyecatcher([0xE2, 0xD4, 0xC3, 0]))
    );
    // smc_clc_wait_msg(): version < SMC_V1
    let mut b = decline_v1_bytes();
    b[7] &= 0x0f;
    assert_eq!(Message::decode(&b), Err(DecodeError::BadVersion(0)));
    // unknown types
    for t in [0u8, 5, 0xff] {
        let mut b = decline_v1_bytes();
        b[4] = t;
        assert_eq!(Message::decode(&b), Err(DecodeError::UnknownType(t)));
    }
    // smc_clc_wait_msg(): neither the expected type nor a decline
    let b = accept_v1_smcd_bytes();
    assert_eq!(
        Message::decode_expected(&b, MessageType::Confirm),
        Err(DecodeError::UnexpectedType {
            expected: MessageType::Confirm,
            found: MessageType::Accept
        })
    );
    // ... but a decline is always taken (C: SMC_CLC_DECL_PEERDECL, fallback)
    let b = decline_v2_bytes();
    for t in [
        MessageType::Proposal,
        MessageType::Accept,
        MessageType::Confirm,
    ] {
        assert_eq!(
            Message::decode_expected(&b, t),
            Ok(Message::Decline(decline_v2()))
        );
    }
    assert_eq!(
        Header::decode(&[0; 7]),
        Err(DecodeError::Truncated {
            needed: 8,
            available: 7
        })
    );
}

#[test]
fn trailer_checks() {
    // smc_clc_msg_hdr_valid(): the trailer may be either eye catcher ...
    let mut b = proposal_v2_smcd_bytes();
    let n = b.len();
    b[n - 4..].copy_from_slice(&D);
    assert!(Message::decode(&b).is_ok());
    // ... but must be one.
    b[n - 1] = 0;
    assert_eq!(
        Message::decode(&b),
        Err(DecodeError::BadTrailer([0xE2, 0xD4, 0xC3, 0]))
    );
    let mut b = accept_v2_smcd_fc_bytes();
    let n = b.len();
    b[n - 2] = 0;
    assert!(matches!(
        Message::decode(&b),
        Err(DecodeError::BadTrailer(_))
    ));
    // A decline's trailer is never checked (check_trl = false).
    for mut b in [decline_v1_bytes(), decline_v2_bytes()] {
        let n = b.len();
        b[n - 4..].copy_from_slice(&[1, 2, 3, 4]);
        assert!(Message::decode(&b).is_ok());
    }
}

#[test]
fn accept_longer_than_cs_receive_buffer_skips_the_trailer_check() {
    // An accept longer than SMC_CLC_MAX_ACCEPT_LEN (160) is read only in part
    // by C, which then does not check its trailer.
    let mut b = resized(accept_v2_smcd_fc_bytes(), 200);
    let n = b.len();
    b[n - 4..].copy_from_slice(&[0; 4]);
    assert_eq!(
        Message::decode(&b),
        Ok(Message::AcceptConfirm(accept_v2_smcd_fc()))
    );
    // A confirm is received into a 652-byte buffer: still checked at 200.
    b[4] = MessageType::Confirm.as_u8();
    assert!(matches!(
        Message::decode(&b),
        Err(DecodeError::BadTrailer(_))
    ));
    // ... and not past 652.
    let mut b = resized(confirm_v2_smcd_bytes(), 700);
    let n = b.len();
    b[n - 4..].copy_from_slice(&[0; 4]);
    assert_eq!(
        Message::decode(&b),
        Ok(Message::AcceptConfirm(confirm_v2_smcd()))
    );
}

#[test]
fn proposal_checks() {
    // v1 with typev1 N
    let mut b = proposal_v1_smcd_bytes();
    b[7] = 0x12;
    assert_eq!(Message::decode(&b), Err(DecodeError::BadSmcType(2)));
    // iparea_offset > 40: smc_clc_proposal_get_prefix() NULL
    let mut b = proposal_v1_smcd_bytes();
    b[39] = 41;
    assert_eq!(
        Message::decode(&b),
        Err(DecodeError::BadOffset {
            field: OffsetField::IpArea,
            value: 41
        })
    );
    // more than 8 IPv6 prefixes
    let mut b = proposal_v1_smcd_bytes();
    b[87] = 9;
    assert_eq!(
        Message::decode(&b),
        Err(DecodeError::TooMany {
            field: CountField::Ipv6Prefixes,
            count: 9,
            max: 8
        })
    );
    // v1 length mismatch
    let mut b = proposal_v1_smcd_bytes();
    b[87] = 1; // one IPv6 prefix claimed, none there
    assert_eq!(
        Message::decode(&b),
        Err(DecodeError::LengthMismatch {
            declared: 92,
            expected: 109
        })
    );
    let b = resized(proposal_v1_smcd_bytes(), 96);
    assert_eq!(
        Message::decode(&b),
        Err(DecodeError::LengthMismatch {
            declared: 96,
            expected: 92
        })
    );
    let b = resized(proposal_v1_smcd_bytes(), 51);
    assert_eq!(
        Message::decode(&b),
        Err(DecodeError::LengthTooShort {
            declared: 51,
            minimum: 52
        })
    );

    // v2: the v2 extension must be locatable
    for off in [0u16, 173, 0xffff] {
        let mut b = proposal_v2_smcd_bytes();
        b[50..52].copy_from_slice(&off.to_be_bytes());
        assert_eq!(
            Message::decode(&b),
            Err(DecodeError::BadOffset {
                field: OffsetField::V2Ext,
                value: off
            })
        );
    }
    // SMC-D in typev1 but iparea_offset != 40: no SMC-D area, so no v2 ext
    let mut b = proposal_v2_smcd_bytes();
    b[39] = 0;
    assert_eq!(
        Message::decode(&b),
        Err(DecodeError::BadOffset {
            field: OffsetField::IpArea,
            value: 0
        })
    );
    // eid_cnt > 8
    let v2 = 52 + 53;
    let mut b = proposal_v2_smcd_bytes();
    b[v2] = 9;
    assert_eq!(
        Message::decode(&b),
        Err(DecodeError::TooMany {
            field: CountField::Eids,
            count: 9,
            max: 8
        })
    );
    // ism_gid_cnt > 8 (SMC-D in typev2)
    let mut b = proposal_v2_smcd_bytes();
    b[v2 + 1] = 9;
    assert_eq!(
        Message::decode(&b),
        Err(DecodeError::TooMany {
            field: CountField::IsmGids,
            count: 9,
            max: 8
        })
    );
    // ... not checked without SMC-D in typev2, nor counted in the length
    let mut b = proposal_v2_smcd_bytes();
    b[7] = 0x21; // typev2 R, typev1 D
    b[v2 + 1] = 9;
    assert!(matches!(
        Message::decode(&b),
        Err(DecodeError::LengthMismatch { expected: 181, .. })
    ));
    // v2 length mismatch
    let mut b = proposal_v2_smcd_bytes();
    b[v2] = 2;
    assert_eq!(
        Message::decode(&b),
        Err(DecodeError::LengthMismatch {
            declared: 239,
            expected: 271
        })
    );
    // v2.x: unknown release and seid bits are carried, reserved bits ignored
    let mut b = proposal_v2_smcd_bytes();
    b[v2 + 3] = 0xfe; // release 15, reserved bits set, seid 0
    let Ok(Message::Proposal(p)) = Message::decode(&b) else {
        panic!()
    };
    let x = p.v2_ext.unwrap();
    assert_eq!((x.release, x.seid), (15, false));
}

#[test]
fn proposal_smcd_v2_ext_offset_out_of_range_is_accepted_without_it() {
    // C's smc_clc_msg_prop_valid() does not look at smcd_v2_ext_offset;
    // smc_get_clc_smcd_v2_ext() later returns NULL (decline NOV2DEXT).
    let v2 = 52 + 53;
    for off in [0u16, 289] {
        let mut b = proposal_v2_smcd_bytes();
        b[v2 + 6..v2 + 8].copy_from_slice(&off.to_be_bytes());
        let Ok(Message::Proposal(p)) = Message::decode(&b) else {
            panic!("{off}")
        };
        assert_eq!(p.smcd_v2_ext, None);
        assert_eq!(p.v2_ext, proposal_v2_smcd().v2_ext);
    }
    // In range but elsewhere: C reads from there.
    let mut b = proposal_v2_smcd_bytes();
    b[v2 + 6..v2 + 8].copy_from_slice(&(64u16 + 10).to_be_bytes());
    let Ok(Message::Proposal(p)) = Message::decode(&b) else {
        panic!()
    };
    assert_ne!(p.smcd_v2_ext, proposal_v2_smcd().smcd_v2_ext);
}

#[test]
fn proposal_offsets_past_the_message_read_zeros_like_c() {
    // C follows v2_ext_offset into its zeroed receive buffer. A message whose
    // v2 extension "is" past its end thus has eid_cnt 0 etc.
    let mut p = proposal_v2_smcd();
    p.typev2 = SmcType::R;
    p.smcd_v2_ext = None;
    p.v2_ext.as_mut().unwrap().eids = BoundedVec::new();
    let mut b = enc(&Message::Proposal(p));
    assert_eq!(b.len(), 80 + 25 + 40 + 4);
    b[50..52].copy_from_slice(&172u16.to_be_bytes()); // v2 ext at 224, past the end
    let Ok(Message::Proposal(q)) = Message::decode(&b) else {
        panic!()
    };
    assert_eq!(q.v2_ext, Some(V2Extension::default()));
}

#[test]
fn accept_confirm_checks() {
    // typev1 must be R or D
    for t in [2u8, 3] {
        let mut b = accept_v1_smcd_bytes();
        b[7] = (b[7] & !3) | t;
        assert_eq!(Message::decode(&b), Err(DecodeError::BadSmcType(t)));
    }
    // v1: exact lengths
    let b = resized(accept_v1_smcd_bytes(), 52);
    assert_eq!(
        Message::decode(&b),
        Err(DecodeError::LengthMismatch {
            declared: 52,
            expected: 48
        })
    );
    let b = resized(accept_v1_smcr_bytes(), 64);
    assert_eq!(
        Message::decode(&b),
        Err(DecodeError::LengthMismatch {
            declared: 64,
            expected: 68
        })
    );
    // an SMC-D v1 header on an SMC-R body
    let mut b = accept_v1_smcr_bytes();
    b[7] |= 1;
    assert_eq!(
        Message::decode(&b),
        Err(DecodeError::LengthMismatch {
            declared: 68,
            expected: 48
        })
    );
    // v2: minimum lengths
    let b = resized(confirm_v2_smcd_bytes(), 77);
    assert_eq!(
        Message::decode(&b),
        Err(DecodeError::LengthTooShort {
            declared: 77,
            minimum: 78
        })
    );
    let mut b = resized(confirm_v2_smcd_bytes(), 107);
    b[7] &= !3; // SMC-R
    assert_eq!(
        Message::decode(&b),
        Err(DecodeError::LengthTooShort {
            declared: 107,
            minimum: 108
        })
    );
    // v2: longer is fine, the rest is ignored
    let b = resized(confirm_v2_smcd_bytes(), 90);
    assert_eq!(
        Message::decode(&b),
        Ok(Message::AcceptConfirm(confirm_v2_smcd()))
    );
}

#[test]
fn first_contact_without_extension_reads_like_c() {
    // A v2 first contact accept of only 78 bytes: C reads the extension at 74
    // from its receive buffer: the trailer, then zeros.
    let mut b = confirm_v2_smcd_bytes();
    b[4] = MessageType::Accept.as_u8();
    b[7] |= FIRST_CONTACT_MASK << 2;
    let Ok(Message::AcceptConfirm(a)) = Message::decode(&b) else {
        panic!()
    };
    let AcceptConfirmBody::SmcD(d) = a.body else {
        panic!()
    };
    let fce = d.v2.unwrap().fce.unwrap();
    assert!(fce.v2_direct); // 0xE2 bit 7
    assert_eq!((fce.os_type, fce.release), (0xD, 4)); // 0xD4
    assert_eq!(fce.hostname, [0; 32]);
    assert_eq!(fce.v2x, Some(FceV2x::default())); // release >= 1: C reads the v2.1 part
                                                  // It re-encodes to a complete message that decodes to the same.
    assert_eq!(
        Message::decode(&enc(&Message::AcceptConfirm(a))),
        Ok(Message::AcceptConfirm(a))
    );
}

#[test]
fn smcr_confirm_gid_list_is_optional() {
    // C never reads the GID list: a malformed one is ignored.
    let mut a = accept_v1_smcr();
    a.kind = AcceptConfirmKind::Confirm;
    a.version = 2;
    if let AcceptConfirmBody::SmcR(r) = &mut a.body {
        r.v2 = Some(SmcrAcceptConfirmV2 {
            eid: eid(),
            fce: Some(FirstContactExt {
                release: 1,
                v2x: Some(FceV2x::default()),
                ..Default::default()
            }),
            gid_list: Some(BoundedVec::from_slice(&[[1u8; 16]]).unwrap()),
        });
    }
    let mut b = enc(&Message::AcceptConfirm(a));
    assert_eq!(b.len(), 108 + 52 + 4 + 16);
    b[156] = 2; // claims two GIDs, has one
    let Ok(Message::AcceptConfirm(x)) = Message::decode(&b) else {
        panic!()
    };
    let AcceptConfirmBody::SmcR(r) = x.body else {
        panic!()
    };
    assert_eq!(r.v2.unwrap().gid_list, None);
}

#[test]
fn decline_checks() {
    // smc_clc_msg_decl_valid(): exact lengths
    let b = resized(decline_v1_bytes(), 44);
    assert_eq!(
        Message::decode(&b),
        Err(DecodeError::LengthMismatch {
            declared: 44,
            expected: 28
        })
    );
    let b = resized(decline_v2_bytes(), 28);
    assert_eq!(
        Message::decode(&b),
        Err(DecodeError::LengthMismatch {
            declared: 28,
            expected: 44
        })
    );
    // typev1 is not looked at
    let mut b = decline_v1_bytes();
    b[7] |= 3;
    assert_eq!(Message::decode(&b), Ok(Message::Decline(decline_v1())));
    // unknown reason codes survive
    let mut b = decline_v2_bytes();
    b[16..20].copy_from_slice(&[0x0a, 0xbc, 0xde, 0xf0]);
    let Ok(Message::Decline(d)) = Message::decode(&b) else {
        panic!()
    };
    assert!(matches!(d.reason, DeclineReason::Other(0x0abc_def0)));
    assert!(d.first_contact);
}

#[test]
fn errors_display() {
    let e = DecodeError::LengthMismatch {
        declared: 1,
        expected: 2,
    };
    assert_eq!(e.to_string(), "CLC length 1, content implies 2");
    let e = EncodeError::BufferTooSmall {
        needed: 3,
        available: 1,
    };
    assert!(e.to_string().contains("need 3"));
}
