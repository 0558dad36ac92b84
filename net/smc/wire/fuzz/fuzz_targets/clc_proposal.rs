// SPDX-License-Identifier: GPL-2.0

//! `Proposal::decode` on arbitrary bytes; whatever decodes re-encodes and
//! decodes back to the same message.

#![no_main]

use libfuzzer_sys::fuzz_target;
use smc_wire::Proposal;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Proposal::decode(data) {
        let mut out = [0u8; 1024];
        let n = m.encode(&mut out).expect("a decoded message re-encodes");
        assert_eq!(Proposal::decode(&out[..n]), Ok(m));
    }
});
