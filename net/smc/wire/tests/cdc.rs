// SPDX-License-Identifier: GPL-2.0

//! The SMC-D CDC message and cursor arithmetic: byte layout against the C declarations
//! (`tests/c/cdc_layout.c`), cursor rules against the C helpers' meaning, and the checks a
//! received message goes through.

mod c_harness;

use smc_wire::cdc::*;

fn cur(wrap: u16, count: u32) -> Cursor {
    Cursor { wrap, count }
}

/// (C harness argument, the same message in Rust).
fn cases() -> Vec<(&'static str, SmcdCdc)> {
    let m = |pw, pc, cw, cc, pf, sf| SmcdCdc {
        prod: cur(pw, pc),
        cons: cur(cw, cc),
        prod_flags: ProducerFlags(pf),
        conn_state: ConnStateFlags(sf),
    };
    vec![
        ("0,0,0,0,none", m(0, 0, 0, 0, 0, 0)),
        ("1,4096,0,65503,none", m(1, 4096, 0, 65503, 0, 0)),
        ("65535,305419896,4660,1,write_blocked", m(65535, 0x1234_5678, 0x1234, 1, 0x80, 0)),
        ("2,3,4,5,urg_data_pending+urg_data_present", m(2, 3, 4, 5, 0x60, 0)),
        ("7,8,9,10,cons_curs_upd_req", m(7, 8, 9, 10, 0x10, 0)),
        ("0,1,0,2,peer_done_writing", m(0, 1, 0, 2, 0, 0x80)),
        ("0,1,0,2,peer_conn_closed", m(0, 1, 0, 2, 0, 0x40)),
        ("0,1,0,2,peer_conn_abort+write_blocked", m(0, 1, 0, 2, 0x80, 0x20)),
        (
            "9,99,999,9999,write_blocked+urg_data_pending+urg_data_present+cons_curs_upd_req+peer_done_writing+peer_conn_closed+peer_conn_abort",
            m(9, 99, 999, 9999, 0xf0, 0xe0),
        ),
    ]
}

#[test]
fn c_declarations_give_the_same_bytes() {
    let cases = cases();
    let args: Vec<&str> = cases.iter().map(|(arg, _)| *arg).collect();
    let Some(lines) = c_harness::run("cdc_layout", &args) else {
        return;
    };
    assert_eq!(lines.len(), cases.len());
    for ((arg, msg), line) in cases.iter().zip(&lines) {
        let c = c_harness::hex(line);
        assert_eq!(msg.encode().as_slice(), c.as_slice(), "{arg}: Rust encoder differs from C");
        assert_eq!(SmcdCdc::decode(&c), Ok(*msg), "{arg}: Rust decoder reads C differently");
    }
}

#[test]
fn layout_by_hand() {
    let msg = SmcdCdc {
        prod: cur(0x0102, 0x0304_0506),
        cons: cur(0x0708, 0x090a_0b0c),
        prod_flags: ProducerFlags(ProducerFlags::WRITE_BLOCKED),
        conn_state: ConnStateFlags(ConnStateFlags::PEER_DONE_WRITING),
    };
    let b = msg.encode();
    assert_eq!(b.len(), SMCD_CDC_LEN);
    assert_eq!(b[0], CDC_MSG_TYPE);
    assert!(b[1..8].iter().all(|&x| x == 0));
    let ne16 = |v: u16| v.to_ne_bytes();
    let ne32 = |v: u32| v.to_ne_bytes();
    assert_eq!(b[8..10], ne16(0x0102));
    assert_eq!(b[10..14], ne32(0x0304_0506));
    assert_eq!(b[14..16], [0, 0]);
    assert_eq!(b[16..18], ne16(0x0708));
    assert_eq!(b[18..22], ne32(0x090a_0b0c));
    assert_eq!(b[22..24], [0x80, 0x80]);
    assert!(b[24..].iter().all(|&x| x == 0));
}

#[test]
fn decode_needs_the_whole_message_and_ignores_the_rest() {
    let msg = cases()[2].1;
    let b = msg.encode();
    for n in 0..SMCD_CDC_LEN {
        assert_eq!(SmcdCdc::decode(&b[..n]), Err(CdcError::Short));
    }
    let mut longer = b.to_vec();
    longer.extend_from_slice(&[0xaa; 100]);
    assert_eq!(SmcdCdc::decode(&longer), Ok(msg));
    // Producer cursor flag bytes are not part of the message's meaning.
    let mut odd = b;
    odd[14] = 0xff;
    odd[15] = 0xff;
    assert_eq!(SmcdCdc::decode(&odd), Ok(msg));
}

#[test]
fn cursors_add_as_smc_curs_add() {
    let size = 1000;
    assert_eq!(cur(0, 0).add(size, 0), Some(cur(0, 0)));
    assert_eq!(cur(0, 10).add(size, 989), Some(cur(0, 999)));
    assert_eq!(cur(0, 10).add(size, 990), Some(cur(1, 0)));
    assert_eq!(cur(3, 999).add(size, 1000), Some(cur(4, 999)));
    assert_eq!(cur(u16::MAX, 500).add(size, 600), Some(cur(0, 100)));
    // Not a position in the ring, or more than the ring.
    assert_eq!(cur(0, 1000).add(size, 1), None);
    assert_eq!(cur(0, 0).add(size, 1001), None);
    assert_eq!(cur(0, u32::MAX).add(u32::MAX, u32::MAX), None);
    assert_eq!(cur(0, u32::MAX - 1).add(u32::MAX, u32::MAX), Some(cur(1, u32::MAX - 1)));
}

#[test]
fn distances_are_at_most_one_ring() {
    let size = 1000;
    assert_eq!(cur(5, 100).distance_to(size, cur(5, 100)), Some(0));
    assert_eq!(cur(5, 100).distance_to(size, cur(5, 999)), Some(899));
    assert_eq!(cur(5, 100).distance_to(size, cur(6, 0)), Some(900));
    assert_eq!(cur(5, 100).distance_to(size, cur(6, 100)), Some(1000));
    assert_eq!(cur(u16::MAX, 900).distance_to(size, cur(0, 50)), Some(150));
    // Behind, more than a ring ahead, outside the ring.
    assert_eq!(cur(5, 100).distance_to(size, cur(5, 99)), None);
    assert_eq!(cur(5, 100).distance_to(size, cur(4, 500)), None);
    assert_eq!(cur(5, 100).distance_to(size, cur(6, 101)), None);
    assert_eq!(cur(5, 100).distance_to(size, cur(7, 0)), None);
    assert_eq!(cur(5, 100).distance_to(size, cur(5, 1000)), None);
    assert_eq!(cur(5, 1000).distance_to(size, cur(5, 1000)), None);
}

#[test]
fn adding_then_measuring_agree() {
    for size in [1u32, 2, 7, 16352, 65504, 1 << 20] {
        for start in [0, 1, size / 2, size - 1].into_iter().filter(|&s| s < size) {
            for n in [0, 1, size / 3, size - 1, size] {
                let a = cur(0xfffe, start);
                let b = a.add(size, n).unwrap();
                assert_eq!(a.distance_to(size, b), Some(n), "size {size} start {start} n {n}");
            }
        }
    }
}

#[test]
fn ring_pieces_split_at_the_end() {
    assert_eq!(ring_pieces(100, cur(0, 0), 100), Some([(0, 100), (0, 0)]));
    assert_eq!(ring_pieces(100, cur(3, 90), 10), Some([(90, 10), (0, 0)]));
    assert_eq!(ring_pieces(100, cur(3, 90), 11), Some([(90, 10), (0, 1)]));
    assert_eq!(ring_pieces(100, cur(3, 99), 100), Some([(99, 1), (0, 99)]));
    assert_eq!(ring_pieces(100, cur(0, 100), 1), None);
    assert_eq!(ring_pieces(100, cur(0, 0), 101), None);
}

fn view() -> RxView {
    RxView {
        rx_ring: 1000,
        peer_prod: cur(2, 900),
        local_cons: cur(2, 400),
        tx_ring: 500,
        peer_cons: cur(7, 100),
        local_prod: cur(7, 300),
    }
}

fn msg(prod: Cursor, cons: Cursor) -> SmcdCdc {
    SmcdCdc {
        prod,
        cons,
        ..Default::default()
    }
}

#[test]
fn a_good_update_says_what_changed() {
    let v = view();
    assert_eq!(
        msg(cur(3, 100), cur(7, 250)).check(&v),
        Ok(RxUpdate {
            produced: 200,
            consumed: 150,
            unread: 700
        })
    );
    // Nothing new.
    assert_eq!(
        msg(v.peer_prod, v.peer_cons).check(&v),
        Ok(RxUpdate {
            produced: 0,
            consumed: 0,
            unread: 500
        })
    );
    // The ring exactly full, everything this side wrote consumed.
    assert_eq!(
        msg(cur(3, 400), v.local_prod).check(&v),
        Ok(RxUpdate {
            produced: 500,
            consumed: 200,
            unread: 1000
        })
    );
}

#[test]
fn a_bad_update_is_refused() {
    let v = view();
    let ok_cons = cur(7, 200);
    let ok_prod = cur(3, 0);
    assert_eq!(msg(cur(3, 1000), ok_cons).check(&v), Err(CdcError::OutOfRing));
    assert_eq!(msg(ok_prod, cur(7, 500)).check(&v), Err(CdcError::OutOfRing));
    assert_eq!(msg(cur(2, 899), ok_cons).check(&v), Err(CdcError::ProducerMoved));
    assert_eq!(msg(cur(4, 0), ok_cons).check(&v), Err(CdcError::ProducerMoved));
    // Within a ring of the last producer cursor, but more than the ring unread.
    assert_eq!(msg(cur(3, 401), ok_cons).check(&v), Err(CdcError::Overfilled));
    assert_eq!(msg(ok_prod, cur(7, 99)).check(&v), Err(CdcError::ConsumerMoved));
    // Consumed more than this side produced.
    assert_eq!(msg(ok_prod, cur(7, 301)).check(&v), Err(CdcError::ConsumerMoved));
}

#[test]
fn consumer_updates_as_smc_tx_consumer_update() {
    let ring = 65504;
    let limit = update_limit(ring);
    assert_eq!(limit, 6550);
    assert_eq!(update_limit(16352), SOCK_MIN_SNDBUF / 2);
    let none = ProducerFlags(0);
    let blocked = ProducerFlags(ProducerFlags::WRITE_BLOCKED);
    let asks = ProducerFlags(ProducerFlags::CONS_CURS_UPD_REQ);
    assert!(consumer_update_due(ring, 0, ring, none, true));
    assert!(consumer_update_due(ring, 0, ring, asks, false));
    assert!(!consumer_update_due(ring, limit, 0, blocked, false));
    assert!(!consumer_update_due(ring, limit + 1, ring / 2 + 1, none, false));
    assert!(consumer_update_due(ring, limit + 1, ring / 2, none, false));
    assert!(consumer_update_due(ring, limit + 1, ring, blocked, false));
}

/// The fuzz target's invariants (`fuzz/fuzz_targets/cdc.rs`) over pseudo-random states and
/// messages, with small rings so that wraps, full rings and near misses come up often.
#[test]
fn checked_updates_stay_inside_the_rings() {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut accepted = 0;
    for _ in 0..400_000 {
        let ring = (next() % 8 + 1) as u32;
        let c = |r: u64, ring: u32| cur((r >> 32) as u16 % 3, (r as u32) % (ring + 1));
        let v = RxView {
            rx_ring: ring,
            peer_prod: c(next(), ring),
            local_cons: c(next(), ring),
            tx_ring: ring,
            peer_cons: c(next(), ring),
            local_prod: c(next(), ring),
        };
        let m = msg(c(next(), ring), c(next(), ring));
        if let Ok(u) = m.check(&v) {
            accepted += 1;
            assert!(u.produced <= ring && u.unread <= ring && u.consumed <= ring);
            assert_eq!(v.peer_prod.add(ring, u.produced), Some(m.prod));
            assert_eq!(v.peer_cons.add(ring, u.consumed), Some(m.cons));
            assert_eq!(v.local_cons.add(ring, u.unread), Some(m.prod));
        }
    }
    assert!(accepted > 1000, "only {accepted} accepted: the test explores too little");
}
