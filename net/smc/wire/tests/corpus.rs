// SPDX-License-Identifier: GPL-2.0

//! The fuzz seed corpus (`fuzz/corpus/<target>/<vector>`) is the test vectors.
//! This test checks that the committed files are current; with
//! `SMC_WIRE_WRITE_CORPUS=1` it (re)writes them instead.

mod common;

use std::path::PathBuf;

use smc_wire::Message;

fn targets(m: &Message) -> &'static [&'static str] {
    match m {
        Message::Proposal(_) => &["clc_header", "clc_proposal", "roundtrip"],
        Message::AcceptConfirm(_) => &["clc_header", "clc_accept", "roundtrip"],
        Message::Decline(_) => &["clc_header", "clc_decline", "roundtrip"],
    }
}

#[test]
fn seed_corpus_is_current() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let write = std::env::var_os("SMC_WIRE_WRITE_CORPUS").is_some();
    for (name, bytes, msg) in common::vectors() {
        for target in targets(&msg) {
            let path = root.join(target).join(name);
            if write {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, &bytes).unwrap();
            } else {
                let on_disk = std::fs::read(&path).unwrap_or_else(|e| {
                    panic!("{}: {e}; run with SMC_WIRE_WRITE_CORPUS=1", path.display())
                });
                assert_eq!(
                    on_disk,
                    bytes,
                    "{}: stale; run with SMC_WIRE_WRITE_CORPUS=1",
                    path.display()
                );
            }
        }
    }
}
