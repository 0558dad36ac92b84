// SPDX-License-Identifier: GPL-2.0

//! `AcceptConfirm::decode` on arbitrary bytes; whatever decodes re-encodes and
//! decodes back to the same message.

#![no_main]

use libfuzzer_sys::fuzz_target;
use smc_wire::AcceptConfirm;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = AcceptConfirm::decode(data) {
        let mut out = [0u8; 1024];
        let n = m.encode(&mut out).expect("a decoded message re-encodes");
        assert_eq!(AcceptConfirm::decode(&out[..n]), Ok(m));
    }
});
