//! `smc-bench ueid add EID`: sets a user EID in the kernel's C smc over
//! generic netlink (`SMC_GEN_NETLINK`, `SMC_NETLINK_ADD_UEID`), as
//! smc-tools' `smcd ueid add` does. On x86 the C smc proposes SMC-D v2 only
//! with a user EID, and both peers need the same one. The benchmark's VM
//! script uses this when `smctest ueid` (tests/guest) is not there.

use crate::sys;

/// `GENL_ID_CTRL`: the generic netlink controller's family.
const GENL_ID_CTRL: u16 = 0x10;
/// `CTRL_CMD_GETFAMILY`.
const CTRL_CMD_GETFAMILY: u8 = 3;
/// `CTRL_ATTR_FAMILY_ID` (u16).
const CTRL_ATTR_FAMILY_ID: u16 = 1;
/// `CTRL_ATTR_FAMILY_NAME` (string).
const CTRL_ATTR_FAMILY_NAME: u16 = 2;
/// `SMC_GENL_FAMILY_NAME`.
const SMC_FAMILY: &str = "SMC_GEN_NETLINK";
/// `SMC_GENL_FAMILY_VERSION`.
const SMC_VERSION: u8 = 1;
/// `SMC_NETLINK_ADD_UEID`.
const SMC_NETLINK_ADD_UEID: u8 = 10;
/// `SMC_NLA_EID_TABLE_ENTRY`.
const SMC_NLA_EID_TABLE_ENTRY: u16 = 1;
/// `SMC_MAX_EID_LEN`.
const EID_LEN: usize = 32;

const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLMSG_HDRLEN: usize = 16;
const GENL_HDRLEN: usize = 4;

/// The EID as the kernel wants it: upper-case letters, digits, `.` and
/// `-`, starting with a letter or digit, at most 32 characters, padded
/// with blanks to 32 and NUL-terminated (33 bytes).
pub fn encode_eid(eid: &str) -> Result<[u8; EID_LEN + 1], String> {
    let b = eid.as_bytes();
    let ok_char = |c: &u8| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'.' || *c == b'-';
    if b.is_empty() || b.len() > EID_LEN || !b[0].is_ascii_alphanumeric() || !b.iter().all(ok_char)
    {
        return Err(format!(
            "bad EID {eid:?}: 1 to 32 upper-case letters, digits, '.' or '-', starting with a letter or digit"
        ));
    }
    let mut out = [b' '; EID_LEN + 1];
    out[..b.len()].copy_from_slice(b);
    out[EID_LEN] = 0;
    Ok(out)
}

/// One generic netlink request: nlmsghdr, genlmsghdr and attributes.
fn request(ty: u16, flags: u16, seq: u32, cmd: u8, version: u8, attrs: &[(u16, &[u8])]) -> Vec<u8> {
    let mut m = vec![0u8; NLMSG_HDRLEN];
    m.extend_from_slice(&[cmd, version, 0, 0]);
    for (t, v) in attrs {
        let len = 4 + v.len();
        m.extend_from_slice(&(len as u16).to_ne_bytes());
        m.extend_from_slice(&t.to_ne_bytes());
        m.extend_from_slice(v);
        m.resize(m.len().next_multiple_of(4), 0);
    }
    let total = m.len() as u32;
    m[0..4].copy_from_slice(&total.to_ne_bytes());
    m[4..6].copy_from_slice(&ty.to_ne_bytes());
    m[6..8].copy_from_slice(&(flags | NLM_F_REQUEST).to_ne_bytes());
    m[8..12].copy_from_slice(&seq.to_ne_bytes());
    m
}

/// A message of a reply.
#[derive(Debug, PartialEq, Eq)]
enum Reply<'a> {
    /// `NLMSG_ERROR`: 0 (an ACK) or a negative errno.
    Ack(i32),
    /// Anything else: its type and the attributes after the genlmsghdr.
    Msg(u16, Vec<(u16, &'a [u8])>),
}

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(i..i + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

/// The attributes in `b`.
fn attrs(mut b: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while let (Some(len), Some(ty)) = (u16_at(b, 0), u16_at(b, 2)) {
        let len = len as usize;
        if len < 4 || len > b.len() {
            break;
        }
        out.push((ty & 0x3fff, &b[4..len]));
        b = &b[len.next_multiple_of(4).min(b.len())..];
    }
    out
}

/// The messages of one received datagram answering `seq`.
fn parse(mut b: &[u8], seq: u32) -> Result<Vec<Reply<'_>>, String> {
    let mut out = Vec::new();
    while b.len() >= NLMSG_HDRLEN {
        let bad = || "netlink: malformed reply".to_string();
        let len = u32_at(b, 0).ok_or_else(bad)? as usize;
        let ty = u16_at(b, 4).ok_or_else(bad)?;
        if len < NLMSG_HDRLEN || len > b.len() {
            return Err(bad());
        }
        let body = &b[NLMSG_HDRLEN..len];
        if u32_at(b, 8) == Some(seq) {
            if ty == NLMSG_ERROR {
                out.push(Reply::Ack(u32_at(body, 0).ok_or_else(bad)? as i32));
            } else if body.len() >= GENL_HDRLEN {
                out.push(Reply::Msg(ty, attrs(&body[GENL_HDRLEN..])));
            }
        }
        b = &b[len.next_multiple_of(4).min(b.len())..];
    }
    Ok(out)
}

fn errname(neg: i32) -> String {
    std::io::Error::from_raw_os_error(-neg).to_string()
}

/// A generic netlink socket.
struct Genl {
    fd: std::os::fd::OwnedFd,
    seq: u32,
}

impl Genl {
    fn open() -> Result<Genl, String> {
        let fd = sys::genl_socket().map_err(|e| format!("netlink socket: {e}"))?;
        Ok(Genl { fd, seq: 0 })
    }

    /// Sends a request and returns the received datagram.
    fn call(
        &mut self,
        ty: u16,
        flags: u16,
        cmd: u8,
        version: u8,
        attrs: &[(u16, &[u8])],
    ) -> Result<Vec<u8>, String> {
        self.seq += 1;
        let m = request(ty, flags, self.seq, cmd, version, attrs);
        sys::send(&self.fd, &m).map_err(|e| format!("netlink send: {e}"))?;
        let mut buf = vec![0u8; 32 * 1024];
        let n = sys::recv(&self.fd, &mut buf).map_err(|e| format!("netlink recv: {e}"))?;
        buf.truncate(n);
        Ok(buf)
    }

    /// The id of generic netlink family `name`.
    fn family(&mut self, name: &str) -> Result<u16, String> {
        let mut n = name.as_bytes().to_vec();
        n.push(0);
        let buf = self.call(
            GENL_ID_CTRL,
            0,
            CTRL_CMD_GETFAMILY,
            1,
            &[(CTRL_ATTR_FAMILY_NAME, &n)],
        )?;
        for r in parse(&buf, self.seq)? {
            match r {
                Reply::Ack(e) if e < 0 => {
                    return Err(format!("generic netlink family {name}: {}", errname(e)))
                }
                Reply::Msg(GENL_ID_CTRL, a) => {
                    if let Some((_, v)) = a.iter().find(|(t, _)| *t == CTRL_ATTR_FAMILY_ID) {
                        return u16_at(v, 0).ok_or_else(|| "netlink: short family id".to_string());
                    }
                }
                _ => {}
            }
        }
        Err(format!("generic netlink family {name}: no id in the reply"))
    }
}

/// Adds user EID `eid` to the C smc's table. Ok(true) if added, Ok(false)
/// if it was already there.
pub fn add(eid: &str) -> Result<bool, String> {
    let entry = encode_eid(eid)?;
    let mut nl = Genl::open()?;
    let family = nl
        .family(SMC_FAMILY)
        .map_err(|e| format!("{e} (is the smc module loaded?)"))?;
    let buf = nl.call(
        family,
        NLM_F_ACK,
        SMC_NETLINK_ADD_UEID,
        SMC_VERSION,
        &[(SMC_NLA_EID_TABLE_ENTRY, &entry)],
    )?;
    match parse(&buf, nl.seq)?.first() {
        Some(Reply::Ack(0)) => Ok(true),
        Some(Reply::Ack(e)) if -e == libc::EEXIST => Ok(false),
        Some(Reply::Ack(e)) => Err(format!("SMC_NETLINK_ADD_UEID {eid}: {}", errname(*e))),
        _ => Err("SMC_NETLINK_ADD_UEID: no acknowledgement".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eids() {
        let e = encode_eid("SMC-RS.BENCH1").unwrap();
        assert_eq!(&e[..13], b"SMC-RS.BENCH1");
        assert!(e[13..32].iter().all(|&c| c == b' '));
        assert_eq!(e[32], 0);
        assert!(encode_eid(&"A".repeat(32)).is_ok());
        for bad in ["", "-A", ".A", "lower", "A B", "A_B", &"A".repeat(33)] {
            assert!(encode_eid(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn request_layout() {
        let m = request(0x1c, NLM_F_ACK, 7, 10, 1, &[(1, b"abcde")]);
        // 16 header + 4 genl + 4 attr header + 5 payload, padded to 32.
        assert_eq!(m.len(), 32);
        assert_eq!(u32_at(&m, 0), Some(32));
        assert_eq!(u16_at(&m, 4), Some(0x1c));
        assert_eq!(u16_at(&m, 6), Some(NLM_F_ACK | NLM_F_REQUEST));
        assert_eq!(u32_at(&m, 8), Some(7));
        assert_eq!(&m[16..20], &[10, 1, 0, 0]);
        assert_eq!(u16_at(&m, 20), Some(9));
        assert_eq!(u16_at(&m, 22), Some(1));
        assert_eq!(&m[24..29], b"abcde");
        assert_eq!(&m[29..], &[0, 0, 0]);
    }

    #[test]
    fn replies() {
        // An ACK with error -EEXIST for seq 3, then a message for seq 4.
        let mut b = request(NLMSG_ERROR, 0, 3, 0, 0, &[]);
        b.truncate(NLMSG_HDRLEN);
        b.extend_from_slice(&(-libc::EEXIST).to_ne_bytes());
        b[0..4].copy_from_slice(&20u32.to_ne_bytes());
        b[6..8].copy_from_slice(&0u16.to_ne_bytes());
        assert_eq!(parse(&b, 3), Ok(vec![Reply::Ack(-libc::EEXIST)]));
        assert_eq!(parse(&b, 4), Ok(vec![]));
        let m = request(
            GENL_ID_CTRL,
            0,
            4,
            1,
            1,
            &[(CTRL_ATTR_FAMILY_ID, &0x1cu16.to_ne_bytes()), (2, b"x\0")],
        );
        let r = parse(&m, 4).unwrap();
        assert_eq!(r.len(), 1);
        let Reply::Msg(ty, a) = &r[0] else { panic!() };
        assert_eq!(*ty, GENL_ID_CTRL);
        assert_eq!(a[0], (CTRL_ATTR_FAMILY_ID, &0x1cu16.to_ne_bytes()[..]));
        assert_eq!(a[1], (2, &b"x\0"[..]));
        // A length past the end is an error, not a panic.
        let mut m = m;
        m[0..4].copy_from_slice(&1000u32.to_ne_bytes());
        assert!(parse(&m, 4).is_err());
        assert!(attrs(&[0xff, 0xff, 0, 0]).is_empty());
    }

    #[test]
    fn live_controller() {
        // The controller knows itself; skip where netlink is not allowed.
        let Ok(mut nl) = Genl::open() else {
            eprintln!("no netlink here: skipped");
            return;
        };
        assert_eq!(nl.family("nlctrl"), Ok(GENL_ID_CTRL));
        assert!(nl.family("NO_SUCH_FAMILY_X").is_err());
    }
}
