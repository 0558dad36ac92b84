// SPDX-License-Identifier: GPL-2.0

//! The server's decline choice on every proposal that decodes, whatever the
//! local capabilities (the first byte picks them): it never panics, and the
//! reason is one a C server can send for a proposal (never the peer's own
//! `PEERDECL`, never 0).

#![no_main]

use libfuzzer_sys::fuzz_target;
use smc_wire::negotiate::{server_decline, server_decline_version, LocalCaps};
use smc_wire::{DeclineReason, Proposal};

fuzz_target!(|data: &[u8]| {
    let Some((&caps, msg)) = data.split_first() else { return };
    let caps = LocalCaps {
        ism_v2_capable: caps & 1 != 0,
        ueid_count: usize::from(caps >> 1 & 1),
        prefix_match: caps & 4 != 0,
    };
    if let Ok(p) = Proposal::decode(msg) {
        let r = server_decline(&p, &caps);
        assert_ne!(r, DeclineReason::PeerDecl);
        assert_ne!(r.code(), 0);
        assert!(matches!(server_decline_version(&p), 1 | 2));
    }
});
