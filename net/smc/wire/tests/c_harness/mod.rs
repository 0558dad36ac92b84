// SPDX-License-Identifier: GPL-2.0

//! Runs a C harness of `tests/c/`: compiles `tests/c/NAME.c` for this host and runs it.
//!
//! `None` (with a note on stderr) where the cross-check cannot be made: no C compiler can be
//! run (`$CC`, else `cc`), or the host is big-endian (the harnesses model the little-endian
//! layout Linux uses on x86).

use std::path::PathBuf;
use std::process::Command;

/// The harness's output lines, run with `args`.
pub fn run(name: &str, args: &[&str]) -> Option<Vec<String>> {
    if cfg!(target_endian = "big") {
        eprintln!("{name}: skipped on a big-endian host");
        return None;
    }
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/c/{name}.c"));
    let exe = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .args(["-std=gnu11", "-Wall", "-Werror", "-o"])
        .arg(&exe)
        .arg(&src)
        .status();
    match status {
        Ok(s) => assert!(s.success(), "compiling {} failed", src.display()),
        Err(e) => {
            eprintln!("{name}: skipped, cannot run C compiler {cc:?}: {e}");
            return None;
        }
    }
    let out = Command::new(&exe).args(args).output().expect("run the C harness");
    assert!(out.status.success(), "{name} failed");
    let text = String::from_utf8(out.stdout).expect("harness output is text");
    Some(text.lines().map(str::to_string).collect())
}

/// The bytes a line of hex digits spells.
pub fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digits"))
        .collect()
}
