// SPDX-License-Identifier: GPL-2.0

//! The CLC handshake on a connected CLC socket: what each side sends and receives, and why a
//! connection stays on TCP.
//!
//! This node has no SMC-D data path yet, so every handshake ends in a fallback, with the
//! messages and reasons a C node has in the same setup:
//!
//! - client: no SMC option from the peer means `PEERNOSMC` and no CLC at all. With DIBS
//!   devices, it sends the Proposal a C client with these devices and no EID sends
//!   ([`crate::negotiate::client_proposal`]), which a server declines (`PEERDECL`; C servers
//!   always do: SMC-Dv2 without an EID is `NOUEID`); should a server accept anyway, the
//!   client declines the Accept (`NOSMCDEV`). Without a device, a Decline (`NOSMCDEV`)
//!   instead of a Proposal, as C's `__smc_connect()` sends when
//!   `smc_find_proposal_devices()` finds nothing;
//! - server: no SMC option means `PEERNOSMC`; otherwise it waits (at most [`CLC_WAIT_MS`]) for
//!   the client's Proposal or Decline. A Decline means `PEERDECL`; a Proposal is answered with
//!   the Decline C would send ([`crate::negotiate::server_decline`]).
//!
//! Errors (a peer that resets, stalls past the timeout, or sends what is not a valid CLC
//! message) end the connection, as in C (`smc_listen_out_err()`): they are not fallbacks.

use crate::{
    clc::{self, Decline, DeclineReason, Header, Message, MessageType},
    dibs,
    negotiate::{self, LocalCaps, OfferedDevice},
};
use kernel::{
    alloc::KVVec,
    bindings,
    net::socket::KernelSocket,
    prelude::*,
    time::{msecs_to_jiffies, Jiffies},
};

/// How long a side waits for the peer's next CLC message (C: `CLC_WAIT_TIME`, 6 s).
const CLC_WAIT_MS: u32 = 6000;

/// A CLC message larger than any this node receives (a v2 proposal with all extensions).
pub(crate) const CLC_BUF_LEN: usize = clc::PROPOSAL_MAX_LEN;

/// What this node has to offer, for the decisions of `negotiate`.
fn local_caps() -> LocalCaps {
    LocalCaps {
        ism_v2_capable: crate::dibs::ism_v2_capable(),
        // No user EIDs yet (no generic netlink family to set them).
        ueid_count: 0,
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

/// The client's side, on a CLC socket whose TCP connection is established: returns why the
/// connection stays on TCP.
pub(crate) fn client(clc: &KernelSocket) -> Result<DeclineReason> {
    if !clc.smc_option() {
        return Ok(DeclineReason::PeerNoSmc);
    }
    let caps = local_caps();
    let proposal = if caps.ism_v2_capable {
        let mut devs = KBox::new([OfferedDevice::default(); dibs::MAX_DEVICES], GFP_KERNEL)?;
        let n = dibs::OFFERED.read(&mut devs);
        devs.get(..n).and_then(negotiate::client_proposal)
    } else {
        None
    };
    let Some(p) = proposal else {
        let version = negotiate::client_decline_version(&caps);
        let reason = negotiate::CLIENT_NO_DEVICE;
        send_decline(clc, &Decline::new(version, reason, [0; clc::SYSTEMID_LEN]))?;
        return Ok(reason);
    };
    let mut buf = KVVec::from_elem(0u8, CLC_BUF_LEN, GFP_KERNEL)?;
    let n = p.encode(&mut buf).map_err(|_| EINVAL)?;
    send_all(clc, &buf, n)?;
    let reply = buf.get_mut(..clc::MAX_ACCEPT_LEN).ok_or(EINVAL)?;
    match recv_msg(clc, reply, MessageType::Accept)? {
        Message::Decline(_) => Ok(DeclineReason::PeerDecl),
        Message::AcceptConfirm(_) => {
            let reason = negotiate::CLIENT_CANNOT_ACCEPT;
            send_decline(clc, &Decline::new(clc::SMC_V2, reason, [0; clc::SYSTEMID_LEN]))?;
            Ok(reason)
        }
        _ => Err(EPROTO),
    }
}

/// The server's side, on a CLC socket just accepted: returns why the connection stays on
/// TCP. `buf` is scratch space of [`CLC_BUF_LEN`] bytes.
pub(crate) fn server(clc: &KernelSocket, buf: &mut [u8]) -> Result<DeclineReason> {
    if !clc.smc_option() {
        return Ok(DeclineReason::PeerNoSmc);
    }
    match recv_msg(clc, buf, MessageType::Proposal)? {
        Message::Decline(_) => Ok(DeclineReason::PeerDecl),
        Message::Proposal(p) => {
            let reason = negotiate::server_decline(&p, &local_caps());
            let version = negotiate::server_decline_version(&p);
            send_decline(clc, &Decline::new(version, reason, [0; clc::SYSTEMID_LEN]))?;
            Ok(reason)
        }
        _ => Err(EPROTO),
    }
}
