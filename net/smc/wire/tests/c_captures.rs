// SPDX-License-Identifier: GPL-2.0

//! CLC messages that the kernel's C smc really sent, captured off the wire
//! in the VM rig (`c_captures.txt` says how): each decodes to what that
//! exchange must contain, re-encodes to exactly the captured bytes, and
//! fails cleanly when cut short. The messages of one exchange must agree
//! with each other (GIDs, CHIDs, EIDs, link group id, first contact).
//!
//! They are fuzz seeds too: `fuzz/corpus/<target>/c-<name>`
//! (`SMC_WIRE_WRITE_CORPUS=1` writes them).

use std::collections::BTreeMap;
use std::path::PathBuf;

use smc_wire::negotiate::{client_proposal, OfferedDevice};
use smc_wire::*;

const DATA: &str = include_str!("c_captures.txt");

/// The user EID the capture scripts set on both ends.
const EID: &[u8] = b"SMC-RS-CLCCAP.TEST";

/// One captured message: `<capture>.<conn>.<c2s|s2c>.<type> <hex>`.
struct Cap {
    name: String,
    capture: String,
    conn: u32,
    c2s: bool,
    ty: MessageType,
    bytes: Vec<u8>,
}

fn parse_hex(h: &str) -> Vec<u8> {
    assert!(h.len() % 2 == 0, "odd hex length");
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).expect("hex"))
        .collect()
}

fn captures() -> Vec<Cap> {
    DATA.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (name, hex) = l.split_once(' ').expect("name hex");
            let parts: Vec<&str> = name.split('.').collect();
            assert_eq!(parts.len(), 4, "{name}");
            let ty = match parts[3] {
                "proposal" => MessageType::Proposal,
                "accept" => MessageType::Accept,
                "confirm" => MessageType::Confirm,
                "decline" => MessageType::Decline,
                t => panic!("{name}: type {t}"),
            };
            Cap {
                name: name.to_string(),
                capture: parts[0].to_string(),
                conn: parts[1].parse().expect("conn"),
                c2s: match parts[2] {
                    "c2s" => true,
                    "s2c" => false,
                    d => panic!("{name}: direction {d}"),
                },
                ty,
                bytes: parse_hex(hex.trim()),
            }
        })
        .collect()
}

/// The exchanges: (capture, conn) -> its messages in the order seen.
fn exchanges(caps: &[Cap]) -> BTreeMap<(String, u32), Vec<&Cap>> {
    let mut m: BTreeMap<(String, u32), Vec<&Cap>> = BTreeMap::new();
    for c in caps {
        m.entry((c.capture.clone(), c.conn)).or_default().push(c);
    }
    m
}

fn dec(c: &Cap) -> Message {
    Message::decode(&c.bytes).unwrap_or_else(|e| panic!("{}: {e:?}", c.name))
}

fn prop(c: &Cap) -> Proposal {
    match dec(c) {
        Message::Proposal(p) => p,
        m => panic!("{}: not a proposal: {m:?}", c.name),
    }
}

fn acc(c: &Cap) -> AcceptConfirm {
    match dec(c) {
        Message::AcceptConfirm(a) => a,
        m => panic!("{}: not an accept/confirm: {m:?}", c.name),
    }
}

fn smcd(a: &AcceptConfirm) -> SmcdAcceptConfirm {
    match a.body {
        AcceptConfirmBody::SmcD(d) => d,
        AcceptConfirmBody::SmcR(_) => panic!("SMC-R body"),
    }
}

fn padded(s: &[u8]) -> [u8; 32] {
    let mut out = [b' '; 32];
    out[..s.len()].copy_from_slice(s);
    out
}

/// The exchange `name` (capture.conn), with the message types it must have.
fn exchange<'a>(caps: &'a [Cap], name: &str, types: &[MessageType]) -> Vec<&'a Cap> {
    let (capture, conn) = name.split_once('.').unwrap();
    let conn: u32 = conn.parse().unwrap();
    let v: Vec<&Cap> = caps
        .iter()
        .filter(|c| c.capture == capture && c.conn == conn)
        .collect();
    let got: Vec<MessageType> = v.iter().map(|c| c.ty).collect();
    assert_eq!(got, types, "{name}: message types");
    // The client speaks first and sends proposal and confirm.
    for c in &v {
        let c2s = matches!(c.ty, MessageType::Proposal | MessageType::Confirm);
        assert!(
            c.c2s == c2s || c.ty == MessageType::Decline,
            "{}: direction",
            c.name
        );
    }
    v
}

const PAC: &[MessageType] = &[
    MessageType::Proposal,
    MessageType::Accept,
    MessageType::Confirm,
];
const PD: &[MessageType] = &[MessageType::Proposal, MessageType::Decline];

#[test]
fn data_file_has_every_shape() {
    let caps = captures();
    let ex = exchanges(&caps);
    let names: Vec<String> = ex.keys().map(|(c, n)| format!("{c}.{n}")).collect();
    for want in [
        "x-v2.1",
        "x-v1v2.1",
        "x-v1.1",
        "lo-v2-smc.1",
        "lo-v2-smc.2",
        "lo-v2-inet.1",
        "lo-v2-smc6.1",
        "lo-noueid.1",
        "lo-pnet.1",
        "lo-pnet6.1",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} missing");
    }
    assert_eq!(caps.len(), 27);
}

#[test]
fn every_capture_decodes_and_reencodes_to_the_same_bytes() {
    for c in captures() {
        let hdr = Header::decode(&c.bytes).unwrap();
        assert_eq!(usize::from(hdr.length), c.bytes.len(), "{}: length", c.name);
        assert_eq!(hdr.msg_type, c.ty, "{}: type", c.name);
        let m = dec(&c);
        assert_eq!(m.msg_type(), c.ty, "{}", c.name);
        assert_eq!(
            Message::decode_expected(&c.bytes, c.ty),
            Ok(m),
            "{}",
            c.name
        );
        assert_eq!(
            m.encoded_len(),
            Ok(c.bytes.len()),
            "{}: encoded_len",
            c.name
        );
        let mut out = [0u8; 1024];
        let n = m.encode(&mut out).unwrap();
        assert_eq!(
            &out[..n],
            &c.bytes[..],
            "{}: re-encoding differs from what C sent",
            c.name
        );
        // Bytes after the message (the next one, or stream data) are not
        // looked at.
        let mut more = c.bytes.clone();
        more.extend_from_slice(&EYECATCHER_SMCD);
        assert_eq!(Message::decode(&more), Ok(m), "{}: with more bytes", c.name);
    }
}

#[test]
fn truncations_fail_cleanly() {
    for c in captures() {
        for n in 0..c.bytes.len() {
            match Message::decode(&c.bytes[..n]) {
                Err(DecodeError::Truncated { needed, available }) => {
                    assert_eq!(available, n, "{} cut to {n}", c.name);
                    assert!(needed > n, "{} cut to {n}", c.name);
                }
                r => panic!("{} cut to {n}: {r:?}", c.name),
            }
        }
        // A header that claims less than the message is a wrong length or a
        // bad trailer, never a panic or a silent success.
        let mut short = c.bytes.clone();
        let len = (c.bytes.len() - 1) as u16;
        short[5..7].copy_from_slice(&len.to_be_bytes());
        assert!(Message::decode(&short).is_err(), "{}: length - 1", c.name);
    }
}

/// `linkid` is the sender's own `lgr->id` (smcd_clc_prep_confirm_accept()),
/// the bytes of `smc_lgr_list.num` (smc_lgr_create()): a u32 counted in
/// steps of `SMC_LGR_NUM_INCR` (256) and copied in host byte order, i.e.
/// little-endian on x86, so its first byte is 0. The two ends of one
/// connection have different link group objects, so their ids need not
/// match (over lo they never do: one counter, two link groups).
fn lgr_id_ok(id: [u8; 4]) -> bool {
    let n = u32::from_le_bytes(id);
    n != 0 && n % 256 == 0
}

/// Proposal, accept and confirm of SMC-Dv2 agree with each other.
fn check_smcd_v2(caps: &[Cap], name: &str, first_contact: bool, emulated: bool) {
    let v = exchange(caps, name, PAC);
    let p = prop(v[0]);
    let (a, c) = (acc(v[1]), acc(v[2]));
    assert_eq!(a.kind, AcceptConfirmKind::Accept);
    assert_eq!(c.kind, AcceptConfirmKind::Confirm);
    // smc_clc_send_proposal(): SMC-R eye catcher, version 2; SMC-Dv2 offered.
    assert_eq!(
        (p.eyecatcher, p.version),
        (Eyecatcher::SmcR, SMC_V2),
        "{name}"
    );
    assert_eq!(p.typev2, SmcType::D, "{name}");
    let x = p.v2_ext.expect("v2 extension");
    assert_eq!(x.eids.as_slice(), &[padded(EID)], "{name}: user EIDs");
    assert_eq!((x.release, x.seid), (SMC_RELEASE, false), "{name}");
    assert_eq!(x.feature_mask, SMC_FEATURE_MASK, "{name}");
    let dv2 = p.smcd_v2_ext.expect("SMC-Dv2 extension");
    assert_eq!(dv2.system_eid, [0; 32], "{name}: no system EID on x86");

    for m in [&a, &c] {
        assert_eq!(
            (m.eyecatcher, m.version),
            (Eyecatcher::SmcD, SMC_V2),
            "{name}"
        );
        assert_eq!(m.first_contact, first_contact, "{name}");
    }
    let (ad, cd) = (smcd(&a), smcd(&c));
    let (av2, cv2) = (ad.v2.unwrap(), cd.v2.unwrap());
    // One device, one EID; each side names its own link group.
    assert!(
        lgr_id_ok(ad.linkid) && lgr_id_ok(cd.linkid),
        "{name}: link group ids"
    );
    assert_eq!(av2.chid, cv2.chid, "{name}: CHID");
    assert_eq!(
        (av2.eid, cv2.eid),
        (padded(EID), padded(EID)),
        "{name}: EID"
    );
    assert_ne!(ad.token, cd.token, "{name}: each side its own DMB");
    assert_eq!((ad.dmbe_idx, cd.dmbe_idx), (0, 0));
    assert!(uncompress_bufsize(ad.dmbe_size).is_some());
    assert_eq!(chid_is_emulated(av2.chid), emulated, "{name}");
    // The client's device, as the confirm names it, is among those offered
    // (an Emulated-ISM device with both halves of its GID).
    let mut offered: Vec<GidChid> = dv2.gid_chids.as_slice().to_vec();
    if let Some(s) = p.smcd {
        offered.push(s.ism);
    }
    let client = GidChid {
        gid: cd.gid,
        chid: cv2.chid,
    };
    assert!(
        offered.contains(&client),
        "{name}: {client:?} not in {offered:?}"
    );
    if emulated {
        // The loopback device: the same GID on both ends, gid_ext sent.
        assert_eq!(ad.gid, cd.gid, "{name}");
        assert_ne!(cv2.gid_ext, 0, "{name}");
        assert_eq!(av2.gid_ext, cv2.gid_ext, "{name}");
        let ext = GidChid {
            gid: cv2.gid_ext,
            chid: cv2.chid,
        };
        assert!(offered.contains(&ext), "{name}: gid_ext not offered");
    } else {
        assert_ne!(ad.gid, cd.gid, "{name}: two VMs, two GIDs");
        assert_eq!((av2.gid_ext, cv2.gid_ext), (0, 0), "{name}");
    }
    if first_contact {
        let (af, cf) = (av2.fce.unwrap(), cv2.fce.unwrap());
        for f in [&af, &cf] {
            assert_eq!(
                (f.os_type, f.release, f.v2_direct),
                (OS_LINUX, SMC_RELEASE_1, false)
            );
            assert_eq!(f.v2x.unwrap().feature_mask, SMC_FEATURE_MASK, "{name}");
        }
        // smc_clc_send_confirm_accept(): the host name, blank padded.
        assert_eq!(af.hostname, padded(b"host"), "{name}: server");
        let client_host: &[u8] = if emulated { b"host" } else { b"guest" };
        assert_eq!(cf.hostname, padded(client_host), "{name}: client");
        assert_eq!(
            v[1].bytes.len(),
            SMCD_FCE_OFFSET + FCE_V2X_LEN + TRAILER_LEN
        );
    } else {
        assert_eq!((av2.fce, cv2.fce), (None, None), "{name}");
        assert_eq!(v[1].bytes.len(), SMCD_ACCEPT_CONFIRM_LEN_V2);
        assert_eq!(v[2].bytes.len(), SMCD_ACCEPT_CONFIRM_LEN_V2);
    }
}

#[test]
fn smcd_v2_over_the_loopback_device() {
    let caps = captures();
    check_smcd_v2(&caps, "lo-v2-smc.1", true, true);
    // The second connection reuses the link group of the first.
    check_smcd_v2(&caps, "lo-v2-smc.2", false, true);
    let l1 = smcd(&acc(exchange(&caps, "lo-v2-smc.1", PAC)[1])).linkid;
    let l2 = smcd(&acc(exchange(&caps, "lo-v2-smc.2", PAC)[1])).linkid;
    assert_eq!(l1, l2, "the server's link group, reused");
    check_smcd_v2(&caps, "lo-v2-inet.1", false, true);
    check_smcd_v2(&caps, "lo-v2-smc6.1", false, true);
    for name in ["lo-v2-smc.1", "lo-v2-inet.1", "lo-v2-smc6.1"] {
        let p = prop(exchange(&caps, name, PAC)[0]);
        assert!(loopback_only(&p), "{name}");
        // SMC-Dv2 only (the loopback device has no SMC-Dv1): no IP area.
        assert_eq!((p.typev1, p.prefix), (SmcType::N, None), "{name}");
        assert_eq!(p.v2_ext.unwrap().eids.len(), 1);
    }
}

/// Only the loopback device (two entries, CHID 0xFFFF) is offered for v2.
fn loopback_only(p: &Proposal) -> bool {
    let g = p.smcd_v2_ext.unwrap().gid_chids;
    g.len() == 2 && g.iter().all(|e| e.chid == 0xFFFF)
}

#[test]
fn smcd_v2_between_two_vms() {
    let caps = captures();
    check_smcd_v2(&caps, "x-v2.1", true, false);
    let v = exchange(&caps, "x-v2.1", PAC);
    let p = prop(v[0]);
    // Both devices are offered: the loopback device (two entries) and the
    // fabric; the server picks the fabric, the only one reaching it.
    let g = p.smcd_v2_ext.unwrap().gid_chids;
    assert_eq!(g.len(), 3);
    assert_eq!(g.iter().filter(|e| e.chid == 0xFFFF).count(), 2);
    assert_eq!((p.typev1, p.prefix), (SmcType::N, None));

    // With PNET IDs the fabric device is the SMC-Dv1 device as well (and
    // no longer offered for v2); the server still takes v2, on the link
    // group of the first connection.
    check_smcd_v2(&caps, "x-v1v2.1", false, false);
    let w = exchange(&caps, "x-v1v2.1", PAC);
    let q = prop(w[0]);
    assert_eq!((q.typev1, q.typev2), (SmcType::D, SmcType::D));
    let ism = q.smcd.unwrap().ism;
    let cd = smcd(&acc(w[2]));
    assert_eq!(ism.gid, cd.gid);
    assert_eq!(ism.chid, cd.v2.unwrap().chid);
    // The IP area: the IPv4 subnet of eth0 (192.0.2.0/24).
    let pre = q.prefix.unwrap();
    assert_eq!((pre.outgoing_subnet, pre.prefix_len), ([192, 0, 2, 0], 24));
    assert!(pre.ipv6_prefixes.is_empty());
    assert_eq!(
        smcd(&acc(v[1])).linkid,
        smcd(&acc(w[1])).linkid,
        "the server's link group, reused"
    );
}

#[test]
fn smcd_v1_between_two_vms() {
    let caps = captures();
    let v = exchange(&caps, "x-v1.1", PAC);
    let p = prop(v[0]);
    // No EID: the client still offers SMC-Dv2 (the loopback device, no EID),
    // which the server cannot take (no EID), and the fabric device (PNET
    // ID) for SMC-Dv1, which it takes.
    assert_eq!(
        (p.version, p.typev1, p.typev2),
        (SMC_V2, SmcType::D, SmcType::D)
    );
    assert!(p.v2_ext.unwrap().eids.is_empty());
    assert!(loopback_only(&p));
    let pre = p.prefix.unwrap();
    assert_eq!((pre.outgoing_subnet, pre.prefix_len), ([192, 0, 2, 0], 24));
    let (a, c) = (acc(v[1]), acc(v[2]));
    for m in [&a, &c] {
        // SMCD_CLC_ACCEPT_CONFIRM_LEN, version 1, a new link group.
        assert_eq!((m.eyecatcher, m.version), (Eyecatcher::SmcD, SMC_V1));
        assert!(m.first_contact);
    }
    assert_eq!(v[1].bytes.len(), SMCD_ACCEPT_CONFIRM_LEN);
    let (ad, cd) = (smcd(&a), smcd(&c));
    assert_eq!((ad.v2, cd.v2), (None, None));
    assert!(lgr_id_ok(ad.linkid) && lgr_id_ok(cd.linkid));
    assert_ne!(ad.gid, cd.gid);
    assert_eq!(p.smcd.unwrap().ism.gid, cd.gid, "the client's device");
    assert!(!chid_is_emulated(p.smcd.unwrap().ism.chid));
}

fn check_decline(caps: &[Cap], name: &str, reason: DeclineReason) -> Proposal {
    let v = exchange(caps, name, PD);
    assert!(!v[1].c2s, "{name}: the server declines");
    let d = match dec(v[1]) {
        Message::Decline(d) => d,
        m => panic!("{name}: {m:?}"),
    };
    // smc_clc_send_decline(): v2 layout, SMC-D has no system id to send.
    assert_eq!(d, Decline::new(SMC_V2, reason, [0; SYSTEMID_LEN]), "{name}");
    assert_eq!(d.reason.code(), reason.code());
    assert_eq!(v[1].bytes.len(), DECLINE_V2_LEN);
    prop(v[0])
}

#[test]
fn declines() {
    let caps = captures();
    // No user EID anywhere: the client still proposes SMC-Dv2 (without an
    // EID), the server declines SMC_CLC_DECL_NOUEID.
    let p = check_decline(&caps, "lo-noueid.1", DeclineReason::NoUeid);
    assert_eq!(DeclineReason::from(0x0303_0008u32), DeclineReason::NoUeid);
    assert_eq!((p.typev1, p.typev2), (SmcType::N, SmcType::D));
    assert!(p.v2_ext.unwrap().eids.is_empty());
    assert!(loopback_only(&p));

    // A PNET ID on lo and the loopback device: the loopback device is
    // offered for SMC-Dv1 too, with the IP prefix of the connection; the
    // server has no SMC-Dv1 device (the loopback device is v2 only):
    // SMC_CLC_DECL_NOSMCDDEV.
    let p = check_decline(&caps, "lo-pnet.1", DeclineReason::NoSmcdDev);
    assert_eq!(p.typev1, SmcType::D);
    assert_eq!(p.smcd.unwrap().ism.chid, 0xFFFF);
    let pre = p.prefix.unwrap();
    assert_eq!((pre.outgoing_subnet, pre.prefix_len), ([127, 0, 0, 0], 8));
    assert!(pre.ipv6_prefixes.is_empty());
    // IPv6: the prefixes instead of the IPv4 subnet.
    let p = check_decline(&caps, "lo-pnet6.1", DeclineReason::NoSmcdDev);
    let pre = p.prefix.unwrap();
    assert_eq!((pre.outgoing_subnet, pre.prefix_len), ([0; 4], 0));
    let mut one = [0u8; 16];
    one[15] = 1;
    assert_eq!(
        pre.ipv6_prefixes.as_slice(),
        &[Ipv6Prefix {
            prefix: one,
            prefix_len: 128
        }]
    );
}

fn targets(ty: MessageType) -> &'static [&'static str] {
    match ty {
        MessageType::Proposal => &["clc_header", "clc_proposal", "roundtrip"],
        MessageType::Accept | MessageType::Confirm => &["clc_header", "clc_accept", "roundtrip"],
        MessageType::Decline => &["clc_header", "clc_decline", "roundtrip"],
    }
}

#[test]
fn captures_are_fuzz_seeds() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let write = std::env::var_os("SMC_WIRE_WRITE_CORPUS").is_some();
    for c in captures() {
        for t in targets(c.ty) {
            let path = root.join(t).join(format!("c-{}", c.name));
            if write {
                std::fs::write(&path, &c.bytes).unwrap();
            } else {
                let on_disk = std::fs::read(&path).unwrap_or_else(|e| {
                    panic!("{}: {e}; run with SMC_WIRE_WRITE_CORPUS=1", path.display())
                });
                assert_eq!(on_disk, c.bytes, "{}: stale", path.display());
            }
        }
    }
}

/// The devices a captured proposal offers, as the client's device list had them.
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

#[test]
fn client_proposal_is_the_c_clients() {
    let caps = captures();
    // No EID: the C client's proposal with the loopback device, byte for byte.
    let c = exchange(&caps, "lo-noueid.1", PD)[0];
    let p = prop(c);
    let ours = client_proposal(&offered(&p)).unwrap();
    assert_eq!(ours, p);
    let mut buf = [0u8; PROPOSAL_MAX_LEN];
    let n = ours.encode(&mut buf).unwrap();
    assert_eq!(&buf[..n], &c.bytes[..]);
    // With the fabric's device too: the same devices in the same order (the C
    // client also sent its user EID, which we have none of).
    let p = prop(exchange(&caps, "x-v2.1", PAC)[0]);
    let devs = offered(&p);
    assert_eq!(devs.len(), 2);
    let ours = client_proposal(&devs).unwrap();
    assert_eq!(ours.smcd_v2_ext, p.smcd_v2_ext);
    assert_eq!(ours.v2_ext.unwrap().eids.len(), 0);
    // Without a device there is nothing to propose.
    assert_eq!(client_proposal(&[]), None);
}

#[test]
fn client_proposal_fills_the_entries_as_c_does() {
    let dev = |chid: u16| OfferedDevice { gid: u64::from(chid), gid_ext: 0xE0 + u64::from(chid), chid };
    // Seven plain devices leave one entry: an Emulated-ISM device needs two
    // and is skipped, a later plain device takes it.
    let mut devs: Vec<_> = (1..=7).map(dev).collect();
    devs.push(dev(0xFFFF));
    devs.push(dev(9));
    let g = client_proposal(&devs).unwrap().smcd_v2_ext.unwrap().gid_chids;
    let chids: Vec<u16> = g.iter().map(|e| e.chid).collect();
    assert_eq!(chids, [1, 2, 3, 4, 5, 6, 7, 9]);
    // A CHID is offered once; an Emulated-ISM device takes two entries.
    let g = client_proposal(&[dev(0xFFFF), dev(3), dev(3)]).unwrap().smcd_v2_ext.unwrap().gid_chids;
    let e: Vec<(u64, u16)> = g.iter().map(|e| (e.gid, e.chid)).collect();
    assert_eq!(e, [(0xFFFF, 0xFFFF), (0xE0 + 0xFFFF, 0xFFFF), (3, 3)]);
    // More than eight entries' worth: the first eight.
    let many: Vec<_> = (1..=12).map(dev).collect();
    assert_eq!(client_proposal(&many).unwrap().smcd_v2_ext.unwrap().gid_chids.len(), 8);
}
