// SPDX-License-Identifier: GPL-2.0

//! The client's proposal for any list of devices (18 bytes each: GID, GID
//! extension, CHID): it never panics; when there is one, it encodes, decodes
//! back to itself, offers at most 8 GID entries with each CHID once, and a
//! server without an EID declines it as C does (never with `PEERDECL`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use smc_wire::negotiate::{client_proposal, server_decline, LocalCaps, OfferedDevice};
use smc_wire::{chid_is_emulated, DeclineReason, Proposal, MAX_V2_GID_ENTRIES, PROPOSAL_MAX_LEN};

fuzz_target!(|data: &[u8]| {
    let devs: Vec<OfferedDevice> = data
        .chunks_exact(18)
        .take(40)
        .map(|c| OfferedDevice {
            gid: u64::from_be_bytes(c[..8].try_into().unwrap()),
            gid_ext: u64::from_be_bytes(c[8..16].try_into().unwrap()),
            chid: u16::from_be_bytes([c[16], c[17]]),
        })
        .collect();
    let Some(p) = client_proposal(&devs) else {
        assert!(devs.is_empty());
        return;
    };
    let mut buf = [0u8; PROPOSAL_MAX_LEN];
    let n = p.encode(&mut buf).expect("encodes");
    assert_eq!(Proposal::decode(&buf[..n]).expect("decodes"), p);
    let g = p.smcd_v2_ext.expect("SMC-Dv2 extension").gid_chids;
    assert!(!g.is_empty() && g.len() <= MAX_V2_GID_ENTRIES);
    let mut chids: Vec<u16> = Vec::new();
    let mut it = g.iter();
    while let Some(e) = it.next() {
        assert!(!chids.contains(&e.chid));
        chids.push(e.chid);
        if chid_is_emulated(e.chid) {
            assert_eq!(it.next().map(|x| x.chid), Some(e.chid));
        }
    }
    let caps = LocalCaps { ism_v2_capable: true, ueid_count: 0, prefix_match: true };
    assert_ne!(server_decline(&p, &caps), DeclineReason::PeerDecl);
});
