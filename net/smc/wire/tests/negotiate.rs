// SPDX-License-Identifier: GPL-2.0

//! The server's decline choice (`negotiate::server_decline`) against what C
//! servers really declined in the VM rig (`c_captures.txt`), and against
//! the branches of `smc_listen_v2_check()` / `smc_listen_find_device()`.

use smc_wire::negotiate::*;
use smc_wire::*;

const DATA: &str = include_str!("c_captures.txt");

fn capture(name: &str) -> Vec<u8> {
    let line = DATA
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no capture {name}"));
    let h = line.split_whitespace().nth(1).expect("hex");
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).expect("hex"))
        .collect()
}

fn proposal(name: &str) -> Proposal {
    Proposal::decode(&capture(&format!("{name}.c2s.proposal"))).expect("proposal")
}

fn declined(name: &str) -> DeclineReason {
    Decline::decode(&capture(&format!("{name}.s2c.decline")))
        .expect("decline")
        .reason
}

/// A node with the DIBS loopback device (v2 capable) and no usable device.
const LO: LocalCaps = LocalCaps {
    ism_v2_capable: true,
    ueid_count: 0,
    prefix_match: true,
};

#[test]
fn no_ueid_as_c() {
    // The C client offered SMC-Dv2 without a UEID: C's server said NOUEID.
    assert_eq!(server_decline(&proposal("lo-noueid.1"), &LO), declined("lo-noueid.1"));
    assert_eq!(declined("lo-noueid.1"), DeclineReason::NoUeid);
}

#[test]
fn no_matching_device_as_c() {
    // The C server had the loopback device but under another PNET ID: no
    // device matched what the client offered.
    for name in ["lo-pnet.1", "lo-pnet6.1"] {
        let p = proposal(name);
        assert_eq!(server_decline(&p, &LO), declined(name), "{name}: {p:?}");
    }
}

#[test]
fn proposals_c_accepted_get_a_device_reason() {
    // Where C accepted (it had the device), a server without one declines
    // for the device, never for the message.
    for name in ["x-v2.1", "x-v1v2.1", "x-v1.1", "lo-v2-smc.1", "lo-v2-inet.1", "lo-v2-smc6.1"] {
        let r = server_decline(&proposal(name), &LO);
        assert!(
            matches!(r, DeclineReason::NoSmcd2Dev | DeclineReason::NoSmcdDev),
            "{name}: {r:?}"
        );
    }
}

#[test]
fn without_ismv2_support() {
    let caps = LocalCaps { ism_v2_capable: false, ..LO };
    // v2 only: NOISM2SUPP, as smc_listen_v2_check() says.
    assert_eq!(server_decline(&proposal("x-v2.1"), &caps), DeclineReason::NoIsm2Supp);
    // v1 and v2: v1 goes on, and finds no device.
    assert_eq!(server_decline(&proposal("x-v1v2.1"), &caps), DeclineReason::NoSmcdDev);
}

#[test]
fn prefix_mismatch() {
    let caps = LocalCaps { prefix_match: false, ..LO };
    assert_eq!(server_decline(&proposal("x-v1.1"), &caps), DeclineReason::DiffPrefix);
    // A v2 device search fails first and its reason is kept.
    assert_eq!(server_decline(&proposal("x-v1v2.1"), &caps), DeclineReason::NoSmcd2Dev);
}

#[test]
fn v2_without_extension_parts() {
    let mut p = proposal("x-v2.1");
    p.smcd_v2_ext = None;
    assert_eq!(server_decline(&p, &LO), DeclineReason::NoV2DExt);
    p.v2_ext = None;
    assert_eq!(server_decline(&p, &LO), DeclineReason::NoV2Ext);
}

#[test]
fn decline_versions() {
    let mut v1 = proposal("x-v1.1");
    v1.version = 1;
    assert_eq!(server_decline_version(&v1), 1);
    assert_eq!(server_decline_version(&proposal("x-v2.1")), 2);
    assert_eq!(client_decline_version(&LO), 2);
    assert_eq!(client_decline_version(&LocalCaps::default()), 1);
}
