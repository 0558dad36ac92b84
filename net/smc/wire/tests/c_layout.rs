// SPDX-License-Identifier: GPL-2.0

//! Cross-check against C: `tests/c/clc_layout.c` builds the test vectors with
//! the kernel's own struct declarations (verbatim copy of net/smc/smc_clc.h)
//! and the C senders' statements; the Rust encoder must give the same bytes.
//! This settles the bit-field order independently of the hand-written vectors.
//!
//! Skipped (with a note) when no C compiler can be run (`$CC`, else `cc`) or
//! the host is not little-endian.

mod c_harness;
mod common;

#[test]
fn c_structs_give_the_same_bytes() {
    let Some(lines) = c_harness::run("clc_layout", &[]) else {
        return;
    };
    let from_c: Vec<(String, Vec<u8>)> = lines
        .iter()
        .map(|l| {
            let (name, hex) = l.split_once(' ').unwrap();
            (name.to_string(), c_harness::hex(hex))
        })
        .collect();
    let vectors = common::vectors();
    assert_eq!(
        from_c.len(),
        vectors.len(),
        "C harness and vectors list differ"
    );
    for (name, bytes, msg) in vectors {
        let (_, c_bytes) = from_c
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("{name} not built in C"));
        assert_eq!(
            &bytes, c_bytes,
            "{name}: hand-written vector differs from C"
        );
        assert_eq!(
            &common::enc(&msg),
            c_bytes,
            "{name}: Rust encoder differs from C"
        );
    }
}
