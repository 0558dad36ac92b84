// SPDX-License-Identifier: GPL-2.0

//! No input panics the decoders, and whatever decodes re-encodes to bytes that
//! decode to the same message (the property the `roundtrip` fuzz target
//! checks).

mod common;

use common::*;
use smc_wire::*;

/// Decodes `buf` every way there is; if it is a message, checks that it
/// re-encodes and decodes back to itself.
fn exercise(buf: &[u8]) -> bool {
    let _ = Header::decode(buf);
    let _ = Proposal::decode(buf);
    let _ = AcceptConfirm::decode(buf);
    let _ = Decline::decode(buf);
    for t in [
        MessageType::Proposal,
        MessageType::Accept,
        MessageType::Confirm,
        MessageType::Decline,
    ] {
        let _ = Message::decode_expected(buf, t);
    }
    match Message::decode(buf) {
        Ok(m) => {
            let mut out = [0u8; 1024];
            let n = m
                .encode(&mut out)
                .unwrap_or_else(|e| panic!("{m:?} does not re-encode: {e:?}"));
            let again = Message::decode(&out[..n]);
            assert_eq!(again, Ok(m), "from {buf:02x?}");
            // and canonical bytes are a fixed point
            let mut out2 = [0u8; 1024];
            let n2 = again.unwrap().encode(&mut out2).unwrap();
            assert_eq!(&out[..n], &out2[..n2]);
            true
        }
        Err(_) => false,
    }
}

#[test]
fn random_buffers() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for _ in 0..100_000 {
        let len = rng.below(700);
        let buf: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
        exercise(&buf);
    }
}

#[test]
fn random_buffers_with_valid_headers() {
    // Random bodies behind plausible headers reach the deeper checks.
    let mut rng = XorShift(12345);
    let mut ok = 0;
    for _ in 0..100_000 {
        let ty = 1 + rng.below(4) as u8;
        let len = match ty {
            1 => [52, 84, 92, 124, 239, 652][rng.below(6)],
            2 | 3 => [48, 68, 78, 108, 114, 130, 160, 170][rng.below(8)],
            _ => [28, 44][rng.below(2)],
        } as usize;
        let mut buf: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
        buf[..4].copy_from_slice(if rng.below(2) == 0 { &R } else { &D });
        buf[4] = ty;
        buf[5..7].copy_from_slice(&(len as u16).to_be_bytes());
        buf[7] = (1 + rng.below(3) as u8) << 4 | (rng.byte() & 0x0f);
        buf[len - 4..].copy_from_slice(&R);
        if ty == 1 {
            // Make the offsets and counts plausible now and then.
            if rng.below(2) == 0 {
                buf[38] = 0;
                buf[39] = [0, 40][rng.below(2)];
            }
        }
        if exercise(&buf) {
            ok += 1;
        }
    }
    assert!(ok > 1000, "only {ok} random messages decoded");
}

#[test]
fn mutated_vectors() {
    let mut rng = XorShift(0xC0FF_EE00_1234_5678);
    let vectors = vectors();
    let mut decoded = 0;
    for i in 0..200_000 {
        let (_, bytes, _) = &vectors[i % vectors.len()];
        let mut buf = bytes.clone();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(buf.len());
            match rng.below(4) {
                0 => buf[at] = rng.byte(),
                1 => buf[at] ^= 1 << rng.below(8),
                2 => buf[at] = [0, 1, 8, 9, 40, 41, 0xff][rng.below(7)],
                _ => {
                    let n = rng.below(40);
                    buf.resize(buf.len() + n, rng.byte());
                }
            }
        }
        if exercise(&buf) {
            decoded += 1;
        }
        // and every prefix of it
        if i % 100 == 0 {
            for cut in 0..buf.len() {
                exercise(&buf[..cut]);
            }
        }
    }
    assert!(decoded > 10_000, "only {decoded} mutants decoded");
}

#[test]
fn proposals_with_random_offsets_and_counts() {
    // The offset and count fields are what C's pointer arithmetic follows.
    let mut rng = XorShift(77);
    let base = proposal_v2_smcd_bytes();
    let v2 = 52 + 53;
    for _ in 0..50_000 {
        let mut buf = base.clone();
        buf.resize(PROPOSAL_MAX_LEN + rng.below(10), 0);
        let len = 52 + rng.below(buf.len() - 52);
        buf.truncate(len);
        buf[5..7].copy_from_slice(&(len as u16).to_be_bytes());
        buf[7] = [0x10, 0x20, 0x30][rng.below(3)] | (rng.byte() & 0x0f);
        buf[38..40].copy_from_slice(&(rng.below(42) as u16).to_be_bytes());
        buf[50..52].copy_from_slice(&(rng.below(175) as u16).to_be_bytes());
        if v2 + 8 < len {
            buf[v2] = rng.below(10) as u8;
            buf[v2 + 1] = rng.below(10) as u8;
            buf[v2 + 6..v2 + 8].copy_from_slice(&(rng.below(300) as u16).to_be_bytes());
        }
        let n = buf.len();
        buf[n - 4..].copy_from_slice(&R);
        exercise(&buf);
    }
}
