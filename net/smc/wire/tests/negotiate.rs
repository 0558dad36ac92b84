// SPDX-License-Identifier: GPL-2.0

//! The server's decline choice (`negotiate::server_decline`) against what C
//! servers really declined in the VM rig (`c_captures.txt`), and against
//! the branches of `smc_listen_v2_check()` / `smc_listen_find_device()`.

use smc_wire::negotiate::*;
use smc_wire::*;
use smc_wire::cdc;

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

// ---------------------------------------------------------------------------
// SMC-Dv2 taken: server_choose / server_accept, client_check_accept /
// client_confirm, against the accepts and confirms C sent in the captures.
// ---------------------------------------------------------------------------

/// The user EID the capture scripts set on both ends.
const CAP_EID: &[u8] = b"SMC-RS-CLCCAP.TEST";

fn padded(s: &[u8]) -> Eid {
    let mut out = [b' '; 32];
    out[..s.len()].copy_from_slice(s);
    out
}

fn acc(name: &str, what: &str) -> (AcceptConfirm, Vec<u8>) {
    let bytes = capture(&format!("{name}.{what}"));
    (AcceptConfirm::decode(&bytes).expect("accept/confirm"), bytes)
}

fn smcd(a: &AcceptConfirm) -> (SmcdAcceptConfirm, SmcdAcceptConfirmV2) {
    match a.body {
        AcceptConfirmBody::SmcD(d) => (d, d.v2.expect("v2")),
        AcceptConfirmBody::SmcR(_) => panic!("SMC-R"),
    }
}

fn encode(m: &AcceptConfirm) -> Vec<u8> {
    let mut out = [0u8; 256];
    let n = m.encode(&mut out).expect("encode");
    out[..n].to_vec()
}

/// The devices a proposal offers in its SMC-Dv2 extension.
fn offered(p: &Proposal) -> Vec<OfferedDevice> {
    let g = p.smcd_v2_ext.unwrap().gid_chids;
    let mut out = Vec::new();
    let mut it = g.iter();
    while let Some(e) = it.next() {
        let gid_ext = if chid_is_emulated(e.chid) { it.next().unwrap().gid } else { 0 };
        out.push(OfferedDevice { gid: e.gid, gid_ext, chid: e.chid });
    }
    out
}

/// The server's devices in a capture and which of them can reach the
/// client: over lo the loopback device (it reaches its own GID); between
/// the VMs the loopback device (reaching nothing remote) and the fabric.
fn server_devices(a: &AcceptConfirm) -> Vec<LocalDevice> {
    let (d, x) = smcd(a);
    let own = LocalDevice { gid: d.gid, gid_ext: x.gid_ext, chid: x.chid };
    if chid_is_emulated(x.chid) {
        vec![own]
    } else {
        vec![LocalDevice { gid: 0x1234, gid_ext: 0x5678, chid: 0xFFFF }, own]
    }
}

const SMCD_V2: &[&str] = &["lo-v2-smc.1", "lo-v2-smc.2", "lo-v2-inet.1", "lo-v2-smc6.1", "x-v2.1", "x-v1v2.1"];

#[test]
fn server_accepts_as_c() {
    let ueids = [padded(CAP_EID)];
    for name in SMCD_V2 {
        let p = proposal(name);
        let (a, bytes) = acc(name, "s2c.accept");
        let (c, _) = acc(name, "c2s.confirm");
        let (ad, ax) = smcd(&a);
        let (cd, cx) = smcd(&c);
        let devs = server_devices(&a);
        let mut asked = Vec::new();
        let choice = server_choose(&p, &LO, &devs, &ueids, |i, g, ge| {
            asked.push((i, g, ge));
            devs[i].chid == ax.chid && (!chid_is_emulated(ax.chid) || (g, ge) == (ad.gid, ax.gid_ext))
        })
        .unwrap_or_else(|r| panic!("{name}: {r:?}"));
        assert!(!asked.is_empty());
        let c0 = choice.candidates.as_slice()[0];
        assert_eq!(c0.dev, devs.len() - 1, "{name}");
        // The client's device as its confirm names it.
        assert_eq!((c0.peer_gid, c0.peer_gid_ext), (cd.gid, cx.gid_ext), "{name}");
        assert_eq!(choice.eid, padded(CAP_EID));
        assert_eq!((choice.release, choice.feature_mask, choice.version), (SMC_RELEASE_1, SMC_FEATURE_MASK, SMC_V2));
        let dev = devs[c0.dev];
        let conn = SmcdLocalConn {
            gid: dev.gid,
            gid_ext: dev.gid_ext,
            chid: dev.chid,
            token: ad.token,
            dmbe_size: ad.dmbe_size,
            lgr_id: ad.linkid,
            first_contact: a.first_contact,
        };
        let ours = server_accept(&choice, &conn, b"host");
        assert_eq!(ours, a, "{name}");
        assert_eq!(encode(&ours), bytes, "{name}: bytes");
        // C's default buffer: sk_rcvbuf / 2 = 64 KiB, code 2.
        assert_eq!(smcd_dmb_sizes_from(64 * 1024).next(), Some((ad.dmbe_size, 64 * 1024)), "{name}");

        // And the confirm that came back.
        let sc = server_check_confirm(&choice, &c).unwrap();
        assert_eq!((sc.peer_dmb.token, sc.peer_dmb.dmbe_idx), (cd.token, 0));
        assert_eq!(sc.peer_dmb.space, sc.peer_dmb.len - cdc::SMCD_CDC_LEN as u32);
        assert_eq!(sc.feature_mask, SMC_FEATURE_MASK);
        assert_eq!(sc.peer.is_some(), c.first_contact, "{name}");
        if let Some(peer) = sc.peer {
            assert_eq!((peer.os_type, peer.release, peer.eid), (OS_LINUX, SMC_RELEASE_1, padded(CAP_EID)));
            assert!(peer.hostname.is_some());
        }
    }
}

#[test]
fn client_takes_c_accepts_and_confirms_as_c() {
    let ueids = [padded(CAP_EID)];
    // x-v1v2.1 is left out: there the server took the SMC-Dv1 device of the
    // SMC-D area, which our client never offers.
    for name in &SMCD_V2[..5] {
        let p = proposal(name);
        let offered = offered(&p);
        // Our proposal for these devices and EID is the C client's.
        assert_eq!(client_proposal_eids(&offered, &ueids), Some(p), "{name}");
        let (a, _) = acc(name, "s2c.accept");
        let (c, bytes) = acc(name, "c2s.confirm");
        let (ad, ax) = smcd(&a);
        let (cd, cx) = smcd(&c);
        let choice = client_check_accept(&offered, &a).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let dev = offered[choice.dev];
        assert_eq!(dev.chid, ax.chid);
        assert_eq!((choice.peer_gid, choice.peer_gid_ext), (ad.gid, ax.gid_ext), "{name}");
        assert_eq!(choice.peer_lgr_id, ad.linkid);
        assert_eq!(choice.peer_dmb.token, ad.token);
        assert_eq!(choice.peer_dmb.len, uncompress_bufsize(ad.dmbe_size).unwrap());
        assert_eq!(choice.first_contact, a.first_contact);
        assert_eq!(choice.eid, padded(CAP_EID));
        let want = if a.first_contact { (SMC_RELEASE_1, SMC_FEATURE_MASK) } else { (0, 0) };
        assert_eq!((choice.release, choice.feature_mask), want, "{name}");
        assert_eq!(choice.peer.map(|x| x.hostname), a.first_contact.then_some(Some(padded(b"host"))));
        // A connection after the first finds the link group of the first.
        let first = client_link_group(choice.first_contact, !a.first_contact).unwrap();
        let conn = SmcdLocalConn {
            gid: dev.gid,
            gid_ext: dev.gid_ext,
            chid: dev.chid,
            token: cd.token,
            dmbe_size: cd.dmbe_size,
            lgr_id: cd.linkid,
            first_contact: first,
        };
        let host: &[u8] = if chid_is_emulated(dev.chid) { b"host" } else { b"guest" };
        let ours = client_confirm(&choice, &conn, host);
        assert_eq!(ours, c, "{name}");
        assert_eq!(encode(&ours), bytes, "{name}: bytes");
        assert_eq!(cx.gid_ext, if chid_is_emulated(dev.chid) { dev.gid_ext } else { 0 });
    }
}

#[test]
fn server_choose_declines_as_c() {
    let ueids = [padded(CAP_EID)];
    let lo = |_: usize, _: u64, _: u64| true;
    let p = proposal("lo-v2-smc.1");
    let lodev = offered(&p)[0];
    let devs = [LocalDevice { gid: lodev.gid, gid_ext: lodev.gid_ext, chid: lodev.chid }];
    assert!(server_choose(&p, &LO, &devs, &ueids, lo).is_ok());
    // A device but no common EID: nothing is stored, SMC-D only ends with
    // SMC_CLC_DECL_NOSMCDDEV.
    let other = [padded(b"OTHER")];
    assert_eq!(server_choose(&p, &LO, &devs, &other, lo), Err(DeclineReason::NoSmcdDev));
    assert_eq!(server_choose(&p, &LO, &devs, &[], lo), Err(DeclineReason::NoSmcdDev));
    // No device, or none that can talk: SMC_CLC_DECL_NOSMCD2DEV.
    assert_eq!(server_choose(&p, &LO, &[], &ueids, lo), Err(DeclineReason::NoSmcd2Dev));
    assert_eq!(server_choose(&p, &LO, &devs, &ueids, |_, _, _| false), Err(DeclineReason::NoSmcd2Dev));
    let elsewhere = [LocalDevice { chid: 0x0101, ..devs[0] }];
    assert_eq!(server_choose(&p, &LO, &elsewhere, &ueids, lo), Err(DeclineReason::NoSmcd2Dev));
    // The peer without an EID: NOUEID before any device is looked at.
    let q = proposal("lo-noueid.1");
    assert_eq!(server_choose(&q, &LO, &devs, &ueids, lo), Err(DeclineReason::NoUeid));
    // No ISMv2 support.
    let none = LocalCaps { ism_v2_capable: false, ..LO };
    assert_eq!(server_choose(&p, &none, &devs, &ueids, lo), Err(DeclineReason::NoIsm2Supp));
    // Without devices server_choose is server_decline, for every capture.
    for name in ["x-v2.1", "x-v1v2.1", "x-v1.1", "lo-v2-smc.1", "lo-v2-inet.1", "lo-v2-smc6.1", "lo-noueid.1", "lo-pnet.1", "lo-pnet6.1"] {
        let p = proposal(name);
        for caps in [LO, none, LocalCaps { prefix_match: false, ..LO }] {
            assert_eq!(server_choose(&p, &caps, &[], &ueids, lo), Err(server_decline(&p, &caps)), "{name}");
        }
    }
    // The C servers' declines in the captures, with their devices: the
    // loopback device under another PNET ID matches nothing (lo-pnet: the
    // proposal offers it for SMC-Dv1 only).
    for name in ["lo-pnet.1", "lo-pnet6.1", "lo-noueid.1"] {
        assert_eq!(server_choose(&proposal(name), &LO, &devs, &ueids, lo), Err(declined(name)), "{name}");
    }
    // All candidates failed to initialise: their first error is stored.
    assert_eq!(server_decline_init_failed(&p, &LO, &ueids, buf_create_decline(true)), DeclineReason::MaxDmb);
    assert_eq!(server_decline_init_failed(&proposal("x-v1v2.1"), &LO, &ueids, buf_create_decline(false)), DeclineReason::Mem);
}

#[test]
fn server_choose_walks_the_entries_as_c() {
    let eid = padded(b"E");
    let cl = |gid: u64, gid_ext: u64, chid: u16| OfferedDevice { gid, gid_ext, chid };
    let mut p = client_proposal_eids(&[cl(1, 0, 0x100), cl(2, 3, 0xFFFF), cl(4, 0, 0x200)], &[eid]).unwrap();
    let dev = |gid: u64, chid: u16| LocalDevice { gid, gid_ext: gid + 1, chid };
    let devs = [dev(10, 0x200), dev(20, 0xFFFF), dev(30, 0x100), dev(40, 0x100)];
    let all = |_: usize, _: u64, _: u64| true;
    let pick = |p: &Proposal| -> Vec<(usize, u64, u64)> {
        server_choose(p, &LO, &devs, &[eid], all)
            .unwrap()
            .candidates
            .iter()
            .map(|c| (c.dev, c.peer_gid, c.peer_gid_ext))
            .collect()
    };
    // In the order of the proposal's entries, each the first local device
    // with that CHID; an Emulated-ISM device's second entry gives gid_ext.
    assert_eq!(pick(&p), [(2, 1, 0), (1, 2, 3), (0, 4, 0)]);
    // The native device of the SMC-D area comes first (gid_ext 0), and a
    // device is chosen once: the entry with the same CHID takes the next.
    p.smcd = Some(SmcdInfo { ism: GidChid { gid: 9, chid: 0x100 }, ..SmcdInfo::default() });
    assert_eq!(pick(&p), [(2, 9, 0), (3, 1, 0), (1, 2, 3), (0, 4, 0)]);
    // A native CHID 0 is not looked at.
    p.smcd = Some(SmcdInfo { ism: GidChid { gid: 9, chid: 0 }, ..SmcdInfo::default() });
    assert_eq!(pick(&p), [(2, 1, 0), (1, 2, 3), (0, 4, 0)]);
    // can_talk is asked about devices with the CHID only.
    let mut asked = Vec::new();
    let _ = server_choose(&p, &LO, &devs, &[eid], |i, g, ge| {
        asked.push((i, g, ge));
        i != 2
    });
    assert_eq!(asked, [(2, 1, 0), (3, 1, 0), (1, 2, 3), (0, 4, 0)]);
    // An Emulated-ISM entry without its partner (last, or followed by
    // another CHID) is skipped.
    let mut x = p.smcd_v2_ext.unwrap();
    x.gid_chids = BoundedVec::from_slice(&[GidChid { gid: 2, chid: 0xFFFF }, GidChid { gid: 4, chid: 0x200 }]).unwrap();
    p.smcd_v2_ext = Some(x);
    assert_eq!(pick(&p), [(0, 4, 0)]);
    x.gid_chids = BoundedVec::from_slice(&[GidChid { gid: 4, chid: 0x200 }, GidChid { gid: 2, chid: 0xFFFF }]).unwrap();
    p.smcd_v2_ext = Some(x);
    assert_eq!(pick(&p), [(0, 4, 0)]);
    x.gid_chids = BoundedVec::from_slice(&[GidChid { gid: 2, chid: 0xFFFF }]).unwrap();
    p.smcd_v2_ext = Some(x);
    assert_eq!(server_choose(&p, &LO, &devs, &[eid], all), Err(DeclineReason::NoSmcd2Dev));
    // The release: the peer's, at most ours.
    let mut v = p.v2_ext.unwrap();
    v.release = 0;
    x.gid_chids = BoundedVec::from_slice(&[GidChid { gid: 4, chid: 0x200 }]).unwrap();
    p.smcd_v2_ext = Some(x);
    p.v2_ext = Some(v);
    assert_eq!(server_choose(&p, &LO, &devs, &[eid], all).unwrap().release, 0);
    v.release = 7;
    p.v2_ext = Some(v);
    assert_eq!(server_choose(&p, &LO, &devs, &[eid], all).unwrap().release, SMC_RELEASE);
}

fn conn(chid: u16, first_contact: bool) -> SmcdLocalConn {
    SmcdLocalConn {
        gid: 0x1111_2222_3333_4444,
        gid_ext: 0x5555_6666_7777_8888,
        chid,
        token: 0xAAAA_BBBB_CCCC_DDDD,
        dmbe_size: 2,
        lgr_id: [0, 1, 0, 0],
        first_contact,
    }
}

#[test]
fn accept_lengths_and_roundtrip() {
    let eid = padded(b"SMC-EID");
    for (chid, first, release, len) in [
        (0xFFFF, true, 1, 130),
        (0x0123, true, 1, 130),
        (0xFFFF, true, 0, 114),
        (0xFFFF, false, 1, 78),
        (0x0123, false, 0, 78),
    ] {
        assert_eq!(SMCD_ACCEPT_CONFIRM_LEN_V2 + FCE_V2X_LEN, 130);
        for kind in [AcceptConfirmKind::Accept, AcceptConfirmKind::Confirm] {
            let m = smcd_v2_accept_confirm(kind, &conn(chid, first), &eid, release, 0xFFFF, b"node\0junk");
            let bytes = encode(&m);
            assert_eq!(bytes.len(), len, "{chid:#x} {first} {release}");
            assert_eq!(Header::decode(&bytes).unwrap().length as usize, len);
            assert_eq!(&bytes[..4], &EYECATCHER_SMCD);
            assert_eq!(&bytes[len - 4..], &EYECATCHER_SMCD);
            // version 2, first contact bit, typev1 D.
            assert_eq!(bytes[7], 0x20 | if first { 0x08 } else { 0 } | 1);
            assert_eq!(AcceptConfirm::decode(&bytes), Ok(m));
            let (d, x) = smcd(&m);
            assert_eq!((d.dmbe_idx, d.dmbe_size, d.linkid), (0, 2, [0, 1, 0, 0]));
            assert_eq!(x.gid_ext, if chid == 0xFFFF { 0x5555_6666_7777_8888 } else { 0 });
            assert_eq!(x.eid, eid);
            if let Some(f) = x.fce {
                assert_eq!((f.os_type, f.release, f.v2_direct), (OS_LINUX, release, false));
                assert_eq!(f.hostname, padded(b"node"));
                assert_eq!(f.v2x.map(|v| v.feature_mask), (release >= 1).then_some(0xFFFF));
                assert_eq!(f.v2x.map(|v| (v.max_conns, v.max_links)), (release >= 1).then_some((0, 0)));
            }
        }
    }
    // An EID whose first byte is 0 is not copied.
    let mut e = padded(b"X");
    e[0] = 0;
    let m = smcd_v2_accept_confirm(AcceptConfirmKind::Accept, &conn(1, false), &e, 1, 1, b"h");
    assert_eq!(smcd(&m).1.eid, [0; 32]);
    // Host names: blank padded, cut at 32, up to a NUL.
    assert_eq!(hostname_field(b"host"), padded(b"host"));
    assert_eq!(hostname_field(&[b'a'; 40]), [b'a'; 32]);
    assert_eq!(hostname_field(b"a\0b"), padded(b"a"));
}

#[test]
fn client_check_accept_declines_as_c() {
    let offered = [
        OfferedDevice { gid: 1, gid_ext: 2, chid: 0xFFFF },
        OfferedDevice { gid: 3, gid_ext: 0, chid: 0x0100 },
    ];
    let eid = padded(b"E");
    let acc = |chid: u16, first: bool, release: u8| {
        smcd_v2_accept_confirm(AcceptConfirmKind::Accept, &conn(chid, first), &eid, release, 0xFFFF, b"srv")
    };
    let c = client_check_accept(&offered, &acc(0x0100, true, 1)).unwrap();
    assert_eq!((c.dev, c.peer_gid, c.peer_gid_ext), (1, 0x1111_2222_3333_4444, 0));
    // The feature mask is limited to ours; the release taken as sent.
    assert_eq!((c.release, c.feature_mask), (1, SMC_FEATURE_MASK));
    assert_eq!(c.peer_dmb.len, 65536);
    assert_eq!(c.peer_dmb.space, 65536 - 32);
    assert_eq!(c.peer.unwrap().hostname, Some(padded(b"srv")));
    let c = client_check_accept(&offered, &acc(0xFFFF, true, 0)).unwrap();
    assert_eq!((c.dev, c.peer_gid_ext), (0, 0x5555_6666_7777_8888));
    assert_eq!((c.release, c.feature_mask), (0, 0));
    let c = client_check_accept(&offered, &acc(0xFFFF, false, 1)).unwrap();
    assert_eq!((c.release, c.feature_mask, c.peer), (0, 0, None));
    // A CHID not offered: -EPROTO, no decline.
    assert_eq!(client_check_accept(&offered, &acc(0x0200, true, 1)), Err(AcceptError::Proto));
    // A device C would not have offered (its CHID offered already) ...
    let dup = [offered[1], OfferedDevice { gid: 9, gid_ext: 0, chid: 0x0100 }];
    assert_eq!(client_check_accept(&dup, &acc(0x0100, false, 1)).unwrap().dev, 0);
    // ... or no room left for it (seven plain devices, then Emulated-ISM).
    let full: Vec<OfferedDevice> =
        (1..=7).map(|c| OfferedDevice { gid: c, gid_ext: 0, chid: c as u16 }).chain([offered[0]]).collect();
    assert_eq!(client_check_accept(&full, &acc(0xFFFF, false, 1)), Err(AcceptError::Proto));
    // SMC-R, or SMC-D v1, to an SMC-Dv2-only proposal: MODEUNSUPP.
    let mut v1 = acc(0x0100, true, 1);
    v1.version = SMC_V1;
    v1.body = AcceptConfirmBody::SmcD(SmcdAcceptConfirm { v2: None, ..smcd(&v1).0 });
    assert_eq!(client_check_accept(&offered, &v1), Err(AcceptError::Decline(DeclineReason::ModeUnsupp)));
    assert_eq!(accept_decline_version(&v1), SMC_V1);
    let r = AcceptConfirm::decode(&capture("x-v1.1.s2c.accept")).unwrap();
    assert_eq!(client_check_accept(&offered, &r), Err(AcceptError::Decline(DeclineReason::ModeUnsupp)));
    let mut smcr = acc(0x0100, false, 1);
    smcr.eyecatcher = Eyecatcher::SmcR;
    smcr.body = AcceptConfirmBody::SmcR(SmcrAcceptConfirm {
        v2: Some(SmcrAcceptConfirmV2::default()),
        ..SmcrAcceptConfirm::default()
    });
    assert_eq!(client_check_accept(&offered, &smcr), Err(AcceptError::Decline(DeclineReason::ModeUnsupp)));
    // Version 3: C's v2 path is for version 2 only.
    let mut v3 = acc(0x0100, false, 1);
    v3.version = 3;
    assert_eq!(client_check_accept(&offered, &v3), Err(AcceptError::Proto));
    assert_eq!(accept_decline_version(&v3), SMC_V2);
    // A confirm is not an accept.
    let mut cf = acc(0x0100, false, 1);
    cf.kind = AcceptConfirmKind::Confirm;
    assert_eq!(client_check_accept(&offered, &cf), Err(AcceptError::Proto));
    // The link group: a server reusing one the client does not have.
    assert_eq!(client_link_group(true, true), Ok(true));
    assert_eq!(client_link_group(false, true), Ok(false));
    assert_eq!(client_link_group(false, false), Err(DeclineReason::SyncErr));
}

#[test]
fn server_check_confirm_as_c() {
    let eid = padded(b"E");
    let p = client_proposal_eids(&[OfferedDevice { gid: 1, gid_ext: 0, chid: 0x100 }], &[eid]).unwrap();
    let devs = [LocalDevice { gid: 5, gid_ext: 0, chid: 0x100 }];
    let choice = server_choose(&p, &LO, &devs, &[eid], |_, _, _| true).unwrap();
    let confirm = |first: bool, release: u8, mask: u16| {
        smcd_v2_accept_confirm(AcceptConfirmKind::Confirm, &conn(0x100, first), &eid, release, mask, b"cl")
    };
    let s = server_check_confirm(&choice, &confirm(true, 1, 0)).unwrap();
    // The client's mask as it is.
    assert_eq!(s.feature_mask, 0);
    assert_eq!(s.peer.unwrap().eid, eid);
    assert_eq!(s.peer_dmb.token, 0xAAAA_BBBB_CCCC_DDDD);
    assert_eq!(
        server_check_confirm(&choice, &confirm(true, 0, 1)),
        Err(AcceptError::Decline(DeclineReason::ReleaseErr))
    );
    // No first contact: nothing to check, the accept's mask stays.
    let s = server_check_confirm(&choice, &confirm(false, 0, 0)).unwrap();
    assert_eq!((s.feature_mask, s.peer), (SMC_FEATURE_MASK, None));
}

#[test]
fn dmb_sizes_as_smc_buf_create() {
    let sizes = |want: u32| smcd_dmb_sizes_from(want).collect::<Vec<_>>();
    assert_eq!(sizes(64 * 1024), [(2, 65536), (1, 32768), (0, 16384)]);
    assert_eq!(sizes(0), [(0, 16384)]);
    assert_eq!(sizes(16384), [(0, 16384)]);
    assert_eq!(sizes(16385)[0], (1, 32768));
    assert_eq!(sizes(1 << 20)[0], (6, 1 << 20));
    assert_eq!(sizes((1 << 20) + 1)[0], (6, 1 << 20));
    assert_eq!(sizes(u32::MAX).len(), 7);
    assert_eq!(compress_bufsize(100_000, true), 3);
    assert_eq!(compress_bufsize(1 << 30, false), 15);
}
