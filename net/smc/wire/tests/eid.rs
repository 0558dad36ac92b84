// SPDX-License-Identifier: GPL-2.0

//! The user EID table and EID matching (`smc_wire::eid`) against what
//! `smc_clc.c` / `smc_netlink.c` do: `smc_clc_ueid_valid()`, the netlink
//! policy and length checks, `smc_clc_ueid_add()` / `_remove()` and the
//! errnos they return, `smc_clc_match_eid()`.

use smc_wire::eid::*;
use smc_wire::*;

fn padded(s: &[u8]) -> Eid {
    blank_padded(s).expect("at most 32 bytes")
}

/// The netlink attribute payload user space sends: 32 bytes and a NUL.
fn attr(s: &[u8]) -> Vec<u8> {
    let mut a = padded(s).to_vec();
    a.push(0);
    a
}

#[test]
fn validity_as_smc_clc_ueid_valid() {
    for ok in [
        &b"SMC-RS-CLCCAP.TEST"[..],
        b"A",
        b"0",
        b"9.-.-",
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345",
    ] {
        assert!(ueid_valid(&padded(ok)), "{:?}", core::str::from_utf8(ok));
    }
    for bad in [
        &b""[..],   // blanks only
        b"smc",     // lower case
        b"SMc",     // lower case inside
        b".SMC",    // must start alphanumeric
        b"-SMC",    //
        b"SMC EID", // inner blank
        b"SMC_EID", // '_' not allowed
        b" SMC",    // leading blank
    ] {
        assert!(!ueid_valid(&padded(bad)), "{:?}", core::str::from_utf8(bad));
    }
    // Trailing white space is the kernel's isspace(): \t..\r and 0xA0 too.
    let mut e = padded(b"SMC");
    e[3] = b'\t';
    e[4] = 0x0d;
    e[31] = 0xa0;
    assert!(ueid_valid(&e));
    // NUL is neither space nor allowed: the kernel pads nothing itself.
    let mut e = [0u8; 32];
    e[..3].copy_from_slice(b"SMC");
    assert!(!ueid_valid(&e));
    // Latin-1 as the kernel's ctype table sees it: 0xC0..0xDE upper case
    // (but 0xD7, punctuation), 0xDF..0xFF lower case (but 0xF7).
    for (c, ok) in [
        (0xc0u8, true),
        (0xde, true),
        (0xd7, false),
        (0xdf, false),
        (0xe9, false),
        (0x80, false),
    ] {
        let mut e = padded(b"SMC");
        e[0] = c;
        assert_eq!(ueid_valid(&e), ok, "first byte {c:#x}");
        let mut e = padded(b"SMC");
        e[1] = c;
        assert_eq!(ueid_valid(&e), ok, "second byte {c:#x}");
    }
    // All 32 bytes used.
    assert!(ueid_valid(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"));
    assert_eq!(blank_padded(&[b'A'; 33]), None);
}

#[test]
fn add_checks_and_errnos() {
    let mut t = UeidTable::new();
    assert_eq!(t.count(), 0);
    // No attribute / wrong length: EINVAL; failing the NLA_STRING policy
    // (longer than 32 without its NUL, or empty): ERANGE.
    assert_eq!(t.add(None), Err(EidError::BadAttribute));
    assert_eq!(
        t.add(Some(&padded(b"SMC")[..])),
        Err(EidError::BadAttribute)
    );
    assert_eq!(t.add(Some(&b"SMC\0"[..])), Err(EidError::BadAttribute));
    let mut no_nul = attr(b"SMC");
    no_nul[32] = b' ';
    assert_eq!(t.add(Some(&no_nul)), Err(EidError::Policy));
    assert_eq!(t.add(Some(&[][..])), Err(EidError::Policy));
    assert_eq!(t.add(Some(&attr(b"smc"))), Err(EidError::Invalid));
    assert_eq!(EidError::BadAttribute.errno(), 22);
    assert_eq!(EidError::Invalid.errno(), 22);
    assert_eq!(EidError::Policy.errno(), 34);
    assert_eq!(t.count(), 0);

    t.add(Some(&attr(b"EID-1"))).unwrap();
    assert_eq!(t.add(Some(&attr(b"EID-1"))), Err(EidError::Exists));
    assert_eq!(EidError::Exists.errno(), 17);
    for n in 2..=4 {
        t.add_eid(&padded(format!("EID-{n}").as_bytes())).unwrap();
    }
    assert_eq!(t.count(), SMC_MAX_UEID);
    assert_eq!(SMC_MAX_UEID, 4);
    // Full is checked before duplicates (and after validity).
    assert_eq!(t.add(Some(&attr(b"EID-5"))), Err(EidError::TableFull));
    assert_eq!(t.add(Some(&attr(b"EID-1"))), Err(EidError::TableFull));
    assert_eq!(t.add(Some(&attr(b"eid"))), Err(EidError::Invalid));
    assert_eq!(EidError::TableFull.errno(), 34);
    // Table order = order of adding.
    let names: Vec<Eid> = t.iter().copied().collect();
    assert_eq!(
        names,
        (1..=4)
            .map(|n| padded(format!("EID-{n}").as_bytes()))
            .collect::<Vec<_>>()
    );
    assert_eq!(t.as_slice().len(), 4);
}

#[test]
fn remove_and_flush() {
    let mut t = UeidTable::new();
    for n in 1..=3 {
        t.add(Some(&attr(format!("EID-{n}").as_bytes()))).unwrap();
    }
    // A missing attribute is EINVAL, not a flush.
    assert_eq!(t.remove(None), Err(EidError::BadAttribute));
    assert_eq!(t.count(), 3);
    assert_eq!(t.remove(Some(&attr(b"EID-9"))), Err(EidError::NotFound));
    assert_eq!(EidError::NotFound.errno(), 2);
    // Removal compares, it does not validate.
    assert_eq!(t.remove(Some(&attr(b"not valid"))), Err(EidError::NotFound));
    t.remove(Some(&attr(b"EID-2"))).unwrap();
    assert_eq!(t.as_slice(), &[padded(b"EID-1"), padded(b"EID-3")]);
    assert_eq!(t.remove_eid(&padded(b"EID-2")), Err(EidError::NotFound));
    t.add(Some(&attr(b"EID-2"))).unwrap();
    assert_eq!(
        t.as_slice(),
        &[padded(b"EID-1"), padded(b"EID-3"), padded(b"EID-2")]
    );
    t.flush();
    assert_eq!(t.count(), 0);
    t.flush();
    assert_eq!(t, UeidTable::default());
    // Off s390 the system EID stays disabled.
    assert!(!t.seid_enabled());
    assert_eq!(t.enable_seid(), Err(EidError::NotSupported));
    assert_eq!(t.disable_seid(), Err(EidError::NotSupported));
    assert_eq!(EidError::NotSupported.errno(), 95);
}

fn ext(eids: &[Eid], seid: bool) -> V2Extension {
    V2Extension {
        eids: BoundedVec::from_slice(eids).unwrap(),
        seid,
        release: SMC_RELEASE,
        ..V2Extension::default()
    }
}

#[test]
fn match_as_smc_clc_match_eid() {
    let (a, b, c) = (padded(b"A"), padded(b"B"), padded(b"C"));
    let seid = *b"IBM-SYSZ-ISMSEID0000000012345678";
    // The first of the peer's EIDs (in its order) that we have.
    assert_eq!(
        match_eid(&ext(&[a, b], false), None, None, &[b, a], false),
        Some(a)
    );
    assert_eq!(
        match_eid(&ext(&[c, b], false), None, None, &[a, b], false),
        Some(b)
    );
    assert_eq!(
        match_eid(&ext(&[c], false), None, None, &[a, b], false),
        None
    );
    assert_eq!(match_eid(&ext(&[], false), None, None, &[a], false), None);
    assert_eq!(match_eid(&ext(&[a], false), None, None, &[], false), None);
    // The system EID needs seid_enabled, the peer's flag and both EIDs.
    let e = ext(&[a], true);
    assert_eq!(
        match_eid(&e, Some(&seid), Some(&seid), &[b], true),
        Some(seid)
    );
    assert_eq!(
        match_eid(&e, Some(&seid), Some(&seid), &[a], true),
        Some(seid)
    );
    assert_eq!(
        match_eid(&e, Some(&seid), Some(&seid), &[a], false),
        Some(a)
    );
    assert_eq!(
        match_eid(&ext(&[a], false), Some(&seid), Some(&seid), &[b], true),
        None
    );
    assert_eq!(match_eid(&e, None, Some(&seid), &[b], true), None);
    assert_eq!(match_eid(&e, Some(&seid), Some(&c), &[a], true), Some(a));
    // A table's slice is what the matcher takes.
    let mut t = UeidTable::new();
    t.add_eid(&b).unwrap();
    assert_eq!(
        match_eid(
            &ext(&[a, b], false),
            None,
            None,
            t.as_slice(),
            t.seid_enabled()
        ),
        Some(b)
    );
}
