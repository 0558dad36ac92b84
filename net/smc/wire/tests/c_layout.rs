// SPDX-License-Identifier: GPL-2.0

//! Cross-check against C: `tests/c/clc_layout.c` builds the test vectors with
//! the kernel's own struct declarations (verbatim copy of net/smc/smc_clc.h)
//! and the C senders' statements; the Rust encoder must give the same bytes.
//! This settles the bit-field order independently of the hand-written vectors.
//!
//! Skipped (with a note) when no C compiler can be run (`$CC`, else `cc`) or
//! the host is not little-endian.

mod common;

use std::path::PathBuf;
use std::process::Command;

#[test]
fn c_structs_give_the_same_bytes() {
    if cfg!(target_endian = "big") {
        eprintln!("c_layout: skipped on a big-endian host");
        return;
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/c");
    let exe = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("clc_layout");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .arg("-std=gnu11")
        .arg("-Wall")
        .arg("-Werror")
        .arg("-o")
        .arg(&exe)
        .arg(dir.join("clc_layout.c"))
        .status();
    let status = match status {
        Ok(s) => s,
        Err(e) => {
            eprintln!("c_layout: skipped, cannot run C compiler {cc:?}: {e}");
            return;
        }
    };
    assert!(status.success(), "compiling tests/c/clc_layout.c failed");
    let out = Command::new(&exe).output().expect("run clc_layout");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let from_c: Vec<(String, Vec<u8>)> = text
        .lines()
        .map(|l| {
            let (name, hex) = l.split_once(' ').unwrap();
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            (name.to_string(), bytes)
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
