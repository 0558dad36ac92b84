// SPDX-License-Identifier: GPL-2.0

//! `Header::decode` on arbitrary bytes; a decoded header re-encodes to the
//! same 8 bytes (every header bit is represented).

#![no_main]

use libfuzzer_sys::fuzz_target;
use smc_wire::Header;

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = Header::decode(data) {
        let mut out = [0u8; 8];
        assert_eq!(h.encode(&mut out), Ok(8));
        assert_eq!(&out[..], &data[..8]);
    }
});
