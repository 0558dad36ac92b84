// SPDX-License-Identifier: GPL-2.0

//! Hand-written byte vectors (see `common/mod.rs`): encoding gives exactly
//! these bytes, decoding gives the message back, and every truncation fails.

mod common;

use common::*;
use smc_wire::*;

#[test]
fn encode_matches_hand_written_bytes() {
    for (name, bytes, msg) in vectors() {
        assert_eq!(enc(&msg), bytes, "{name}: encode");
        assert_eq!(msg.encoded_len(), Ok(bytes.len()), "{name}: encoded_len");
    }
}

#[test]
fn decode_gives_the_message() {
    for (name, bytes, msg) in vectors() {
        assert_eq!(Message::decode(&bytes), Ok(msg), "{name}: decode");
        assert_eq!(decode(&bytes), Ok(msg), "{name}: decode()");
        let expected = msg.msg_type();
        assert_eq!(
            Message::decode_expected(&bytes, expected),
            Ok(msg),
            "{name}"
        );
        let hdr = Header::decode(&bytes).unwrap();
        assert_eq!(
            usize::from(hdr.length),
            bytes.len(),
            "{name}: header length"
        );
        assert_eq!(hdr.msg_type, expected);
    }
}

#[test]
fn typed_decoders_agree() {
    for (name, bytes, msg) in vectors() {
        match msg {
            Message::Proposal(p) => assert_eq!(Proposal::decode(&bytes), Ok(p), "{name}"),
            Message::AcceptConfirm(a) => assert_eq!(AcceptConfirm::decode(&bytes), Ok(a), "{name}"),
            Message::Decline(d) => assert_eq!(Decline::decode(&bytes), Ok(d), "{name}"),
        }
    }
}

#[test]
fn typed_decoders_reject_other_types() {
    let prop = proposal_v2_smcd_bytes();
    let acc = accept_v2_smcd_fc_bytes();
    let decl = decline_v2_bytes();
    assert!(matches!(
        AcceptConfirm::decode(&prop),
        Err(DecodeError::UnexpectedType {
            found: MessageType::Proposal,
            ..
        })
    ));
    assert!(matches!(
        Proposal::decode(&acc),
        Err(DecodeError::UnexpectedType {
            expected: MessageType::Proposal,
            found: MessageType::Accept
        })
    ));
    assert!(matches!(
        Decline::decode(&prop),
        Err(DecodeError::UnexpectedType { .. })
    ));
    assert!(matches!(
        Proposal::decode(&decl),
        Err(DecodeError::UnexpectedType { .. })
    ));
}

#[test]
fn every_truncation_is_an_error() {
    for (name, bytes, _) in vectors() {
        for cut in 0..bytes.len() {
            let r = Message::decode(&bytes[..cut]);
            assert!(
                matches!(r, Err(DecodeError::Truncated { .. })),
                "{name}: truncated to {cut} gave {r:?}"
            );
        }
    }
}

#[test]
fn trailing_bytes_after_the_message_are_not_read() {
    for (name, bytes, msg) in vectors() {
        let mut longer = bytes.clone();
        longer.extend_from_slice(&[0xAA; 100]);
        assert_eq!(Message::decode(&longer), Ok(msg), "{name}");
    }
}

#[test]
fn encode_into_short_buffer_fails() {
    for (name, bytes, msg) in vectors() {
        for n in [0, 1, 8, bytes.len() - 1] {
            let mut out = vec![0u8; n];
            assert_eq!(
                msg.encode(&mut out),
                Err(EncodeError::BufferTooSmall {
                    needed: bytes.len(),
                    available: n
                }),
                "{name}"
            );
        }
    }
}

#[test]
fn header_fields() {
    let h = Header::decode(&accept_v2_smcd_fc_bytes()).unwrap();
    assert_eq!(
        h,
        Header {
            eyecatcher: Eyecatcher::SmcD,
            msg_type: MessageType::Accept,
            length: 130,
            version: 2,
            typev2: FIRST_CONTACT_MASK,
            typev1: SmcType::D.bits(),
        }
    );
    assert!(h.first_contact());
    let mut out = [0u8; 8];
    assert_eq!(h.encode(&mut out), Ok(8));
    assert_eq!(&out[..], &accept_v2_smcd_fc_bytes()[..8]);
}
