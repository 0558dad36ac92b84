// SPDX-License-Identifier: GPL-2.0

//! A CDC message a peer wrote, checked against any connection state: the check never
//! panics, and what it accepts stays inside the rings.

#![no_main]

use libfuzzer_sys::fuzz_target;
use smc_wire::cdc::{Cursor, RxView, SmcdCdc, SMCD_CDC_LEN};

fn word(b: &[u8], i: usize) -> u32 {
    let mut w = [0u8; 4];
    for (k, x) in w.iter_mut().enumerate() {
        *x = b.get(i * 4 + k).copied().unwrap_or(0);
    }
    u32::from_le_bytes(w)
}

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = SmcdCdc::decode(data) else {
        assert!(data.len() < SMCD_CDC_LEN);
        return;
    };
    assert_eq!(SmcdCdc::decode(&msg.encode()), Ok(msg));
    // The state to check against comes from the bytes after the message.
    let st = data.get(SMCD_CDC_LEN..).unwrap_or(&[]);
    let c = |i: usize| Cursor {
        wrap: word(st, i) as u16,
        count: word(st, i + 1),
    };
    let v = RxView {
        rx_ring: word(st, 0).max(1),
        peer_prod: c(1),
        local_cons: c(3),
        tx_ring: word(st, 5).max(1),
        peer_cons: c(6),
        local_prod: c(8),
    };
    if let Ok(u) = msg.check(&v) {
        assert!(u.produced <= v.rx_ring && u.unread <= v.rx_ring && u.consumed <= v.tx_ring);
        assert!(msg.prod.count < v.rx_ring && msg.cons.count < v.tx_ring);
        assert_eq!(v.peer_prod.add(v.rx_ring, u.produced), Some(msg.prod));
        assert_eq!(v.peer_cons.add(v.tx_ring, u.consumed), Some(msg.cons));
    }
});
