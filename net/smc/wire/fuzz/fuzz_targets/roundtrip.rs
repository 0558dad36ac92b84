// SPDX-License-Identifier: GPL-2.0

//! Any message: decode, re-encode, decode again; the two decodes agree and
//! the re-encoded (canonical) bytes are a fixed point.

#![no_main]

use libfuzzer_sys::fuzz_target;
use smc_wire::{Message, MessageType};

fuzz_target!(|data: &[u8]| {
    for t in [
        MessageType::Proposal,
        MessageType::Accept,
        MessageType::Confirm,
    ] {
        let _ = Message::decode_expected(data, t);
    }
    let Ok(m) = Message::decode(data) else { return };
    let mut out = [0u8; 1024];
    let n = m.encode(&mut out).expect("a decoded message re-encodes");
    assert_eq!(m.encoded_len(), Ok(n));
    let again = Message::decode(&out[..n]).expect("re-encoded message decodes");
    assert_eq!(again, m);
    let mut out2 = [0u8; 1024];
    let n2 = again.encode(&mut out2).expect("re-encodes");
    assert_eq!(&out[..n], &out2[..n2]);
});
