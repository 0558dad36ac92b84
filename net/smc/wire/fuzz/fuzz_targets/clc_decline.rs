// SPDX-License-Identifier: GPL-2.0

//! `Decline::decode` on arbitrary bytes; whatever decodes re-encodes and
//! decodes back to the same message.

#![no_main]

use libfuzzer_sys::fuzz_target;
use smc_wire::Decline;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Decline::decode(data) {
        let mut out = [0u8; 1024];
        let n = m.encode(&mut out).expect("a decoded message re-encodes");
        assert_eq!(Decline::decode(&out[..n]), Ok(m));
    }
});
