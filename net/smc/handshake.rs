// SPDX-License-Identifier: GPL-2.0

//! The CLC handshake on a connected CLC socket: what each side sends and receives, and how
//! the connection goes on: over SMC-D ([`Established::Smcd`]) or on TCP (a fallback, with its
//! reason), with the messages and reasons a C node has in the same setup.
//!
//! - client: no SMC option from the peer means `PEERNOSMC` and no CLC at all. With DIBS
//!   devices, it proposes SMC-Dv2 with them and its user EIDs
//!   ([`crate::negotiate::client_proposal_eids`]); a Decline means `PEERDECL`; an Accept is
//!   checked ([`crate::negotiate::client_check_accept`]), the link group found or made as the
//!   Accept says (none where the server reuses one: `SYNCERR`), a DMB registered and the
//!   Confirm sent. Without a device, a Decline (`NOSMCDEV`) instead of a Proposal, as C's
//!   `__smc_connect()` sends when `smc_find_proposal_devices()` finds nothing;
//! - server: no SMC option means `PEERNOSMC`; otherwise it waits (at most [`CLC_WAIT_MS`]) for
//!   the client's Proposal or Decline. A Decline means `PEERDECL`; a Proposal is matched
//!   against the devices and user EIDs ([`crate::negotiate::server_choose`]), declined as C
//!   would, or accepted: link group, DMB, Accept, then the client's Confirm (or Decline).
//!
//! Errors (a peer that resets, stalls past the timeout, or sends what is not a valid CLC
//! message) end the connection, as in C (`smc_listen_out_err()`): they are not fallbacks.

use crate::{
    clc::{self, AcceptConfirm, Decline, DeclineReason, Header, Message, MessageType},
    conn::Conn,
    dibs,
    lgr::{Role, CORE},
    negotiate::{self, AcceptError, LocalCaps, LocalDevice, OfferedDevice, SmcdLocalConn},
    netns::Netns,
    ueid::UEIDS,
};
use kernel::{
    alloc::KVVec,
    bindings,
    dibs::{DeviceUser, Dmb, Gid},
    net::socket::KernelSocket,
    prelude::*,
    sync::Arc,
    time::{msecs_to_jiffies, Jiffies},
    utsname,
};

/// How long a side waits for the peer's next CLC message (C: `CLC_WAIT_TIME`, 6 s).
const CLC_WAIT_MS: u32 = 6000;

/// A CLC message larger than any this node receives (a v2 proposal with all extensions).
pub(crate) const CLC_BUF_LEN: usize = clc::PROPOSAL_MAX_LEN;

/// What this node has to offer, for the decisions of `negotiate`.
fn local_caps(ueid_count: usize) -> LocalCaps {
    LocalCaps {
        ism_v2_capable: crate::dibs::ism_v2_capable(),
        ueid_count,
        // Not checked yet: the rig's peers share one subnet.
        prefix_match: true,
    }
}

fn wait_jiffies() -> isize {
    let j: Jiffies = msecs_to_jiffies(CLC_WAIT_MS);
    isize::try_from(j).unwrap_or(isize::MAX)
}

/// Receives the next CLC message, which must be a Decline or of type `expected`, waiting at
/// most [`CLC_WAIT_MS`] for each part, as C's `smc_clc_wait_msg()`: the header is peeked
/// first so nothing after the message is consumed.
fn recv_msg(clc: &KernelSocket, buf: &mut [u8], expected: MessageType) -> Result<Message> {
    let old = clc.set_rcvtimeo(wait_jiffies());
    let r = recv_msg_timed(clc, buf, expected);
    clc.set_rcvtimeo(old);
    r
}

fn recv_msg_timed(clc: &KernelSocket, buf: &mut [u8], expected: MessageType) -> Result<Message> {
    let peek = bindings::MSG_PEEK | bindings::MSG_WAITALL;
    let head = buf.get_mut(..clc::HEADER_LEN).ok_or(EINVAL)?;
    match clc.recv_bytes(head, peek)? {
        // The peer closed its end.
        0 => return Err(ECONNRESET),
        n if n < clc::HEADER_LEN => return Err(EPROTO),
        _ => {}
    }
    let hdr = Header::decode(head).map_err(|_| EPROTO)?;
    if hdr.msg_type != MessageType::Decline && hdr.msg_type != expected {
        return Err(EPROTO);
    }
    // A message longer than the buffer is invalid for the types received here.
    let len = usize::from(hdr.length);
    let msg = buf.get_mut(..len).ok_or(EPROTO)?;
    if clc.recv_bytes(msg, bindings::MSG_WAITALL)? < len {
        return Err(EPROTO);
    }
    Message::decode_expected(msg, expected).map_err(|_| EPROTO)
}

/// Sends the first `n` bytes of `buf` whole.
fn send_all(clc: &KernelSocket, buf: &[u8], n: usize) -> Result {
    let bytes = buf.get(..n).ok_or(EINVAL)?;
    if clc.send_bytes(bytes, bindings::MSG_NOSIGNAL)? < n {
        return Err(EPIPE);
    }
    Ok(())
}

/// Sends `d` whole.
fn send_decline(clc: &KernelSocket, d: &Decline) -> Result {
    let mut out = [0u8; clc::DECLINE_V2_LEN];
    let n = d.encode(&mut out).map_err(|_| EINVAL)?;
    send_all(clc, &out, n)
}

/// How a handshake ended for a connection that goes on.
#[derive(Clone)]
pub(crate) enum Established {
    /// Over SMC-D.
    Smcd(Arc<Conn>),
    /// On TCP.
    Fallback(Fallback),
}

/// Why a connection stays on TCP.
#[derive(Clone, Copy)]
pub(crate) struct Fallback {
    /// The reason (C: `fallback_rsn`); `PEERDECL` when the peer declined.
    pub(crate) reason: DeclineReason,
    /// The reason the peer gave in its Decline, 0 if it sent none (C: `peer_diagnosis`).
    pub(crate) peer_diagnosis: u32,
}

impl Fallback {
    /// A fallback this side chose.
    pub(crate) fn ours(reason: DeclineReason) -> Established {
        Established::Fallback(Fallback { reason, peer_diagnosis: 0 })
    }

    /// A fallback because the peer declined with `d`.
    pub(crate) fn declined(d: &Decline) -> Established {
        Established::Fallback(Fallback { reason: DeclineReason::PeerDecl, peer_diagnosis: d.reason.code() })
    }
}

/// The buffer sizes a connection starts from ([`crate::settings::Settings::dmb_want`],
/// [`crate::settings::Settings::sndbuf_want`]); the data path downsizes from there when memory
/// or the device's room is short.
#[derive(Clone, Copy)]
pub(crate) struct Bufs {
    /// Our DMB's size (with its CDC area).
    pub(crate) dmb: u32,
    /// The send buffer's size.
    pub(crate) sndbuf: u32,
}

/// Registers a DMB for the peer `rgid` on `user`'s device: the wanted size, then smaller
/// ones when the device refuses (as C's `__smc_buf_create()` downsizes; out of memory ends
/// the search). Returns it and its size code, or the decline reason.
fn register_dmb(user: &DeviceUser, rgid: &Gid, want: u32) -> Result<(Dmb, u8), DeclineReason> {
    let mut no_space = false;
    for (code, len) in negotiate::smcd_dmb_sizes_from(want) {
        match user.register_dmb(len, rgid) {
            Ok(dmb) => {
                // The CDC message area starts out zero: cursors at the start of the ring.
                if dmb.zero(0, crate::cdc::SMCD_CDC_LEN).is_err() {
                    return Err(DeclineReason::Mem);
                }
                return Ok((dmb, code));
            }
            Err(e) if e == ENOMEM => break,
            Err(e) => no_space = e == ENOSPC,
        }
    }
    Err(negotiate::buf_create_decline(no_space))
}

/// What this side sends of itself in an Accept/Confirm.
fn local_conn(user: &DeviceUser, dmb: &Dmb, code: u8, lgr_id: [u8; 4], first: bool) -> SmcdLocalConn {
    let gid = user.device().gid();
    SmcdLocalConn {
        gid: gid.hi(),
        gid_ext: gid.lo(),
        chid: user.device().fabric_id(),
        token: dmb.token(),
        dmbe_size: code,
        lgr_id,
        first_contact: first,
    }
}

/// Sends an Accept or Confirm.
fn send_accept_confirm(clc: &KernelSocket, m: &AcceptConfirm) -> Result {
    let mut out = [0u8; clc::MAX_ACCEPT_LEN];
    let n = m.encode(&mut out).map_err(|_| EINVAL)?;
    send_all(clc, &out, n)
}

/// The client's side, on a CLC socket whose TCP connection is established; `bufs` are the
/// buffer sizes to start from.
pub(crate) fn client(clc: &KernelSocket, bufs: Bufs, ns: &Arc<Netns>) -> Result<Established> {
    if !clc.smc_option() {
        return Ok(Fallback::ours(DeclineReason::PeerNoSmc));
    }
    let ueids = UEIDS.read();
    let caps = local_caps(ueids.count());
    let mut devs = KBox::new([OfferedDevice::default(); dibs::MAX_DEVICES], GFP_KERNEL)?;
    let n = if caps.ism_v2_capable { dibs::OFFERED.read(&mut devs, true) } else { 0 };
    let offered = devs.get(..n).unwrap_or(&[]);
    let Some(p) = negotiate::client_proposal_eids(offered, ueids.as_slice()) else {
        let version = negotiate::client_decline_version(&caps);
        let reason = negotiate::CLIENT_NO_DEVICE;
        send_decline(clc, &Decline::new(version, reason, [0; clc::SYSTEMID_LEN]))?;
        return Ok(Fallback::ours(reason));
    };
    let mut buf = KVVec::from_elem(0u8, CLC_BUF_LEN, GFP_KERNEL)?;
    let n = p.encode(&mut buf).map_err(|_| EINVAL)?;
    send_all(clc, &buf, n)?;
    let reply = buf.get_mut(..clc::MAX_ACCEPT_LEN).ok_or(EINVAL)?;
    let accept = match recv_msg(clc, reply, MessageType::Accept)? {
        Message::Decline(d) => return Ok(Fallback::declined(&d)),
        Message::AcceptConfirm(a) => a,
        _ => return Err(EPROTO),
    };
    let decline = |reason: DeclineReason| -> Result<Established> {
        let version = negotiate::accept_decline_version(&accept);
        send_decline(clc, &Decline::new(version, reason, [0; clc::SYSTEMID_LEN]))?;
        Ok(Fallback::ours(reason))
    };
    let choice = match negotiate::client_check_accept(offered, &accept) {
        Ok(c) => c,
        Err(AcceptError::Decline(r)) => return decline(r),
        Err(AcceptError::Proto) => return Err(EPROTO),
    };
    let Some(core) = CORE.get() else {
        return decline(DeclineReason::NoSmcdDev);
    };
    let chid = offered.get(choice.dev).map_or(0, |d| d.chid);
    let Some(user) = core.device_user(chid) else {
        return decline(DeclineReason::NoSmcdDev);
    };
    let peer = Gid::from_halves(choice.peer_gid, choice.peer_gid_ext);
    let (lgr, new) = match core.link_group(Role::Client, &user, peer, choice.first_contact)? {
        Some(x) => x,
        // The server reuses a link group this side does not have.
        None => return decline(DeclineReason::SyncErr),
    };
    if let (true, Some(p)) = (new, &choice.peer) {
        lgr.set_peer(p);
    }
    let (dmb, code) = match register_dmb(&user, &peer, bufs.dmb) {
        Ok(x) => x,
        Err(r) => {
            if new {
                core.discard(&lgr);
            }
            return decline(r);
        }
    };
    let confirm = negotiate::client_confirm(&choice, &local_conn(&user, &dmb, code, lgr.id, new), &utsname::nodename());
    let conn = match Conn::new(lgr.clone(), user, dmb, choice.peer_dmb.token, choice.peer_dmb.len, bufs, ns.clone()) {
        Ok(c) => c,
        Err(_) => {
            if new {
                core.discard(&lgr);
            }
            return decline(DeclineReason::Mem);
        }
    };
    if let Err(e) = send_accept_confirm(clc, &confirm) {
        conn.terminate(ECONNABORTED);
        return Err(e);
    }
    Ok(Established::Smcd(conn))
}

/// The server's side, on a CLC socket just accepted. `buf` is scratch space of
/// [`CLC_BUF_LEN`] bytes; `bufs` as for [`client`].
pub(crate) fn server(clc: &KernelSocket, buf: &mut [u8], bufs: Bufs, ns: &Arc<Netns>) -> Result<Established> {
    if !clc.smc_option() {
        return Ok(Fallback::ours(DeclineReason::PeerNoSmc));
    }
    let p = match recv_msg(clc, buf, MessageType::Proposal)? {
        Message::Decline(d) => return Ok(Fallback::declined(&d)),
        Message::Proposal(p) => p,
        _ => return Err(EPROTO),
    };
    let ueids = UEIDS.read();
    let caps = local_caps(ueids.count());
    let version = negotiate::server_decline_version(&p);
    let decline = |reason: DeclineReason| -> Result<Established> {
        send_decline(clc, &Decline::new(version, reason, [0; clc::SYSTEMID_LEN]))?;
        Ok(Fallback::ours(reason))
    };
    let core = CORE.get();
    let mut offered = KBox::new([OfferedDevice::default(); dibs::MAX_DEVICES], GFP_KERNEL)?;
    let n = if caps.ism_v2_capable && core.is_some() { dibs::OFFERED.read(&mut offered, false) } else { 0 };
    let mut local = KBox::new([LocalDevice::default(); dibs::MAX_DEVICES], GFP_KERNEL)?;
    for (l, o) in local.iter_mut().zip(offered.iter()).take(n) {
        *l = LocalDevice { gid: o.gid, gid_ext: o.gid_ext, chid: o.chid };
    }
    let devs = local.get(..n).unwrap_or(&[]);
    let choice = negotiate::server_choose(&p, &caps, devs, ueids.as_slice(), |i, g, ge| {
        core.as_ref()
            .and_then(|c| c.device_at(i))
            .is_some_and(|u| u.query_remote_gid(&Gid::from_halves(g, ge), None).is_ok())
    });
    let choice = match choice {
        Ok(c) => c,
        Err(r) => return decline(r),
    };
    let Some(core) = core else {
        return decline(DeclineReason::NoSmcdDev);
    };
    // The first candidate that has a link group and a DMB.
    let mut first_err = None;
    let mut set_up = None;
    for cand in choice.candidates.iter() {
        let Some(user) = core.device_at(cand.dev) else {
            continue;
        };
        let peer = Gid::from_halves(cand.peer_gid, cand.peer_gid_ext);
        let (lgr, new) = match core.link_group(Role::Server, &user, peer, false) {
            Ok(Some(x)) => x,
            _ => {
                first_err.get_or_insert(DeclineReason::Mem);
                continue;
            }
        };
        match register_dmb(&user, &peer, bufs.dmb) {
            Ok((dmb, code)) => {
                set_up = Some((user, lgr, new, dmb, code));
                break;
            }
            Err(r) => {
                if new {
                    core.discard(&lgr);
                }
                first_err.get_or_insert(r);
            }
        }
    }
    let Some((user, lgr, new, dmb, code)) = set_up else {
        let first = first_err.unwrap_or(DeclineReason::NoSmcd2Dev);
        return decline(negotiate::server_decline_init_failed(&p, &caps, ueids.as_slice(), first));
    };
    let accept = negotiate::server_accept(&choice, &local_conn(&user, &dmb, code, lgr.id, new), &utsname::nodename());
    let fail = |e: Error| -> Result<Established> {
        if new {
            core.discard(&lgr);
        }
        Err(e)
    };
    if let Err(e) = send_accept_confirm(clc, &accept) {
        return fail(e);
    }
    let confirm = match recv_msg(clc, buf, MessageType::Confirm) {
        Ok(Message::AcceptConfirm(c)) => c,
        Ok(Message::Decline(d)) => {
            // The client's group is out of sync with ours (C: `sync_err`, the group ends).
            if new || d.first_contact {
                core.discard(&lgr);
            }
            return Ok(Fallback::declined(&d));
        }
        Ok(_) => return fail(EPROTO),
        Err(e) => return fail(e),
    };
    let peer = match negotiate::server_check_confirm(&choice, &confirm) {
        Ok(c) => {
            if let (true, Some(p)) = (new, &c.peer) {
                lgr.set_peer(p);
            }
            c.peer_dmb
        }
        Err(AcceptError::Decline(r)) => {
            if new {
                core.discard(&lgr);
            }
            return decline(r);
        }
        Err(AcceptError::Proto) => return fail(EPROTO),
    };
    let (peer_token, peer_len) = (peer.token, peer.len);
    match Conn::new(lgr.clone(), user, dmb, peer_token, peer_len, bufs, ns.clone()) {
        Ok(c) => Ok(Established::Smcd(c)),
        Err(e) => fail(e),
    }
}
