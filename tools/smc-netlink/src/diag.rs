//! Which SMC sockets use SMC-D, SMC-R or fell back to TCP: the `smc_diag`
//! dump (`NETLINK_SOCK_DIAG`, family `AF_SMC`, `include/uapi/linux/smc_diag.h`).
//! It lists every SMC socket of the network namespace, `AF_SMC` and
//! `AF_INET`/`IPPROTO_SMC` alike; sockets are matched by inode.

use crate::netlink::{align, find_attr, MsgBuilder, NlSocket, NLM_F_DUMP, NLM_F_REQUEST};
use std::collections::HashMap;

/// The kernel's `AF_SMC` (include/linux/socket.h).
pub const AF_SMC: i32 = 43;

const SOCK_DIAG_BY_FAMILY: u16 = 20;
const SMC_DIAG_FALLBACK: u16 = 5;
/// `struct smc_diag_req`: family, pad[2], ext, `inet_diag_sockid` (48 bytes).
const REQ_LEN: usize = 52;
/// `struct smc_diag_msg`: 4 bytes, sockid (48), uid (4), inode (8, aligned).
const MSG_LEN: usize = 64;
const INODE_OFFSET: usize = 56;

/// How a connection transfers data (`smc_diag_msg.diag_mode`). The C smc
/// reports a socket that is neither connected over SMC-D nor fallen back
/// (listening, or still in the handshake) as SMC-R.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Smcr,
    Fallback,
    Smcd,
    Other(u8),
}

impl Mode {
    pub fn from_raw(m: u8) -> Mode {
        match m {
            0 => Mode::Smcr,
            1 => Mode::Fallback,
            2 => Mode::Smcd,
            x => Mode::Other(x),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Mode::Smcr => "smcr",
            Mode::Fallback => "fallback",
            Mode::Smcd => "smcd",
            Mode::Other(_) => "other",
        }
    }
}

/// The name of an SMC socket state (`enum smc_state`, net/smc/smc.h).
pub fn state_name(s: u8) -> &'static str {
    match s {
        1 => "ACTIVE",
        2 => "INIT",
        7 => "CLOSED",
        10 => "LISTEN",
        20 => "PEERCLOSEWAIT1",
        21 => "PEERCLOSEWAIT2",
        22 => "APPCLOSEWAIT1",
        23 => "APPCLOSEWAIT2",
        24 => "APPFINCLOSEWAIT",
        25 => "PEERFINCLOSEWAIT",
        26 => "PEERABORTWAIT",
        27 => "PROCESSABORT",
        _ => "?",
    }
}

/// One socket of the dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SockInfo {
    pub inode: u64,
    pub state: u8,
    pub mode: Mode,
    /// `smc->fallback_rsn`: why this side fell back (0 if it did not).
    pub reason: u32,
    /// `smc->peer_diagnosis`: the reason code in the peer's decline.
    pub peer_diagnosis: u32,
}

/// Decodes one `smc_diag_msg` with its attributes.
pub fn parse_msg(p: &[u8]) -> Option<SockInfo> {
    if p.len() < MSG_LEN {
        return None;
    }
    let inode = u64::from_ne_bytes(p[INODE_OFFSET..INODE_OFFSET + 8].try_into().ok()?);
    let (mut reason, mut peer_diagnosis) = (0, 0);
    if let Some(a) = find_attr(&p[align(MSG_LEN)..], SMC_DIAG_FALLBACK) {
        if a.data.len() >= 8 {
            reason = u32::from_ne_bytes(a.data[0..4].try_into().ok()?);
            peer_diagnosis = u32::from_ne_bytes(a.data[4..8].try_into().ok()?);
        }
    }
    Some(SockInfo {
        inode,
        state: p[1],
        mode: Mode::from_raw(p[2]),
        reason,
        peer_diagnosis,
    })
}

/// All SMC sockets of this network namespace, by inode. Needs the
/// `smc_diag` module (the kernel autoloads it).
pub fn dump() -> Result<HashMap<u64, SockInfo>, String> {
    let mut s = NlSocket::open(libc::NETLINK_SOCK_DIAG)?;
    let seq = s.next_seq();
    let mut m = MsgBuilder::new(SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, seq);
    let mut req = [0u8; REQ_LEN];
    req[0] = AF_SMC as u8;
    m.put_raw(&req);
    let replies = s
        .transact(&m.finish())
        .map_err(|e| format!("smc_diag dump: {e}"))?;
    Ok(replies
        .iter()
        .filter_map(|r| parse_msg(&r.payload))
        .map(|i| (i.inode, i))
        .collect())
}

/// The sockets with the given inodes. The kernel resumes a multi-part dump
/// by position in its socket list, so sockets opened or closed meanwhile
/// (by another process: the peer of a loopback test closing its end) can
/// shift entries out of a dump; dump again until every inode was seen.
pub fn lookup(inodes: &[u64]) -> Result<HashMap<u64, SockInfo>, String> {
    let mut found = HashMap::new();
    for attempt in 0..10 {
        if attempt > 0 {
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        let all = dump()?;
        found.extend(inodes.iter().filter_map(|i| all.get(i).map(|s| (*i, *s))));
        if found.len() == inodes.len() {
            break;
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diag_message_decoding() {
        let mut p = vec![0u8; MSG_LEN];
        p[0] = AF_SMC as u8;
        p[1] = 1; // SMC_ACTIVE
        p[2] = 2; // SMC-D
        p[INODE_OFFSET..INODE_OFFSET + 8].copy_from_slice(&123456u64.to_ne_bytes());
        let mut m = MsgBuilder::new(0, 0, 0);
        m.attr_u8(4, 0); // SMC_DIAG_SHUTDOWN
        let mut fb = 0x0303_0008u32.to_ne_bytes().to_vec();
        fb.extend(0x0500_0000u32.to_ne_bytes());
        m.attr(SMC_DIAG_FALLBACK, &fb);
        p.extend(&m.finish()[crate::netlink::NLMSG_HDRLEN..]);
        let i = parse_msg(&p).unwrap();
        assert_eq!(
            i,
            SockInfo {
                inode: 123456,
                state: 1,
                mode: Mode::Smcd,
                reason: 0x0303_0008,
                peer_diagnosis: 0x0500_0000
            }
        );
        assert!(parse_msg(&p[..MSG_LEN - 1]).is_none());
        assert_eq!(Mode::from_raw(1).name(), "fallback");
    }
}
