//! Netlink messages: building requests, parsing replies and attributes, and
//! a small request/reply socket (generic netlink and sock_diag).
//!
//! The encoding follows `include/uapi/linux/netlink.h`: a 16-byte
//! `nlmsghdr` (length, type, flags, sequence, port id, host byte order),
//! then the family header (4 bytes `genlmsghdr` for generic netlink), then
//! attributes, each a 4-byte `nlattr` (length including the header, type)
//! and its payload, padded to 4 bytes. Nested attributes carry
//! `NLA_F_NESTED`.

use crate::sys;
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

pub use crate::sys::errname;

pub const NLMSG_HDRLEN: usize = 16;
pub const GENL_HDRLEN: usize = 4;
pub const NLA_HDRLEN: usize = 4;

pub const NLMSG_NOOP: u16 = 1;
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;

pub const NLM_F_REQUEST: u16 = 0x1;
pub const NLM_F_MULTI: u16 = 0x2;
pub const NLM_F_ACK: u16 = 0x4;
pub const NLM_F_DUMP: u16 = 0x300;
/// In an `NLMSG_ERROR`: the original request is not echoed.
pub const NLM_F_CAPPED: u16 = 0x100;
/// In an `NLMSG_ERROR`: extended-ack attributes follow.
pub const NLM_F_ACK_TLVS: u16 = 0x200;

pub const NLA_F_NESTED: u16 = 0x8000;
pub const NLA_F_NET_BYTEORDER: u16 = 0x4000;
pub const NLA_TYPE_MASK: u16 = !(NLA_F_NESTED | NLA_F_NET_BYTEORDER);

/// Extended ack attribute: the error message.
const NLMSGERR_ATTR_MSG: u16 = 1;
const NETLINK_EXT_ACK: i32 = 11;

pub const GENL_ID_CTRL: u16 = 0x10;
pub const CTRL_CMD_GETFAMILY: u8 = 3;
pub const CTRL_ATTR_FAMILY_ID: u16 = 1;
pub const CTRL_ATTR_FAMILY_NAME: u16 = 2;

/// Rounds up to the 4-byte netlink alignment.
pub const fn align(len: usize) -> usize {
    (len + 3) & !3
}

/// A request under construction.
pub struct MsgBuilder {
    buf: Vec<u8>,
    nests: Vec<usize>,
}

impl MsgBuilder {
    /// A message of `ty` with `flags`; the port id is 0 (the kernel).
    pub fn new(ty: u16, flags: u16, seq: u32) -> Self {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(&0u32.to_ne_bytes());
        buf.extend_from_slice(&ty.to_ne_bytes());
        buf.extend_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(&seq.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes());
        MsgBuilder {
            buf,
            nests: Vec::new(),
        }
    }

    /// A generic netlink message: `nlmsghdr` + `genlmsghdr`.
    pub fn genl(family: u16, flags: u16, seq: u32, cmd: u8, version: u8) -> Self {
        let mut m = Self::new(family, flags, seq);
        m.put_raw(&[cmd, version, 0, 0]);
        m
    }

    /// Appends bytes (a family header), padded to the alignment.
    pub fn put_raw(&mut self, data: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(data);
        self.pad();
        self
    }

    fn pad(&mut self) {
        let n = align(self.buf.len()) - self.buf.len();
        self.buf.extend(std::iter::repeat_n(0, n));
    }

    /// Appends the attribute `ty` with payload `data`.
    pub fn attr(&mut self, ty: u16, data: &[u8]) -> &mut Self {
        let len = NLA_HDRLEN + data.len();
        assert!(len <= u16::MAX as usize, "netlink attribute too long");
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.pad();
        self
    }

    /// A NUL-terminated string attribute (`NLA_STRING`/`NLA_NUL_STRING`).
    pub fn attr_str(&mut self, ty: u16, s: &str) -> &mut Self {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        self.attr(ty, &v)
    }

    pub fn attr_u8(&mut self, ty: u16, v: u8) -> &mut Self {
        self.attr(ty, &[v])
    }

    pub fn attr_u16(&mut self, ty: u16, v: u16) -> &mut Self {
        self.attr(ty, &v.to_ne_bytes())
    }

    pub fn attr_u32(&mut self, ty: u16, v: u32) -> &mut Self {
        self.attr(ty, &v.to_ne_bytes())
    }

    pub fn attr_u64(&mut self, ty: u16, v: u64) -> &mut Self {
        self.attr(ty, &v.to_ne_bytes())
    }

    /// Opens a nested attribute; close it with [`MsgBuilder::end_nest`].
    pub fn begin_nest(&mut self, ty: u16) -> &mut Self {
        self.nests.push(self.buf.len());
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf
            .extend_from_slice(&(ty | NLA_F_NESTED).to_ne_bytes());
        self
    }

    pub fn end_nest(&mut self) -> &mut Self {
        let start = self.nests.pop().expect("end_nest without begin_nest");
        let len = self.buf.len() - start;
        assert!(len <= u16::MAX as usize, "nested attribute too long");
        self.buf[start..start + 2].copy_from_slice(&(len as u16).to_ne_bytes());
        self
    }

    /// The finished message, its length filled in.
    pub fn finish(mut self) -> Vec<u8> {
        assert!(self.nests.is_empty(), "unclosed nested attribute");
        let len = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf
    }
}

/// The fixed header of a received message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NlHdr {
    pub len: u32,
    pub ty: u16,
    pub flags: u16,
    pub seq: u32,
    pub pid: u32,
}

fn ne_u16(b: &[u8]) -> u16 {
    u16::from_ne_bytes([b[0], b[1]])
}

fn ne_u32(b: &[u8]) -> u32 {
    u32::from_ne_bytes([b[0], b[1], b[2], b[3]])
}

impl NlHdr {
    pub fn parse(b: &[u8]) -> Option<NlHdr> {
        if b.len() < NLMSG_HDRLEN {
            return None;
        }
        Some(NlHdr {
            len: ne_u32(&b[0..]),
            ty: ne_u16(&b[4..]),
            flags: ne_u16(&b[6..]),
            seq: ne_u32(&b[8..]),
            pid: ne_u32(&b[12..]),
        })
    }
}

/// Splits a datagram into messages: `(header, payload after the header)`.
/// A truncated or malformed tail is an error.
pub fn split_messages(mut b: &[u8]) -> Result<Vec<(NlHdr, &[u8])>, String> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let h =
            NlHdr::parse(b).ok_or_else(|| format!("short netlink header ({} bytes)", b.len()))?;
        let len = h.len as usize;
        if len < NLMSG_HDRLEN || len > b.len() {
            return Err(format!(
                "bad netlink message length {len} ({} bytes left)",
                b.len()
            ));
        }
        out.push((h, &b[NLMSG_HDRLEN..len]));
        b = &b[align(len).min(b.len())..];
    }
    Ok(out)
}

/// One attribute: its type (flags masked off) and payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attr<'a> {
    pub ty: u16,
    pub nested: bool,
    pub data: &'a [u8],
}

impl<'a> Attr<'a> {
    /// An unsigned integer of any width 1, 2, 4 or 8 (`NLA_UINT` is 4 or 8).
    pub fn uint(&self) -> Option<u64> {
        let d = self.data;
        Some(match d.len() {
            1 => d[0] as u64,
            2 => ne_u16(d) as u64,
            4 => ne_u32(d) as u64,
            8 => u64::from_ne_bytes(d.try_into().ok()?),
            _ => return None,
        })
    }

    /// A string attribute, up to its first NUL.
    pub fn str(&self) -> String {
        let end = self
            .data
            .iter()
            .position(|&c| c == 0)
            .unwrap_or(self.data.len());
        String::from_utf8_lossy(&self.data[..end]).into_owned()
    }

    /// The attributes nested in this one.
    pub fn nested(&self) -> AttrIter<'a> {
        AttrIter::new(self.data)
    }
}

/// Iterates over the attributes in a byte range. Stops at the first
/// malformed attribute and remembers that in `error`.
pub struct AttrIter<'a> {
    rest: &'a [u8],
    pub error: bool,
}

impl<'a> AttrIter<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        AttrIter {
            rest: b,
            error: false,
        }
    }
}

impl<'a> Iterator for AttrIter<'a> {
    type Item = Attr<'a>;

    fn next(&mut self) -> Option<Attr<'a>> {
        if self.rest.len() < NLA_HDRLEN {
            // Anything left but a header is padding at most.
            if self.rest.iter().any(|&c| c != 0) {
                self.error = true;
            }
            self.rest = &[];
            return None;
        }
        let len = ne_u16(self.rest) as usize;
        let raw_ty = ne_u16(&self.rest[2..]);
        if len < NLA_HDRLEN || len > self.rest.len() {
            self.error = true;
            self.rest = &[];
            return None;
        }
        let a = Attr {
            ty: raw_ty & NLA_TYPE_MASK,
            nested: raw_ty & NLA_F_NESTED != 0,
            data: &self.rest[NLA_HDRLEN..len],
        };
        self.rest = &self.rest[align(len).min(self.rest.len())..];
        Some(a)
    }
}

/// Finds the first attribute of type `ty`.
pub fn find_attr(b: &[u8], ty: u16) -> Option<Attr<'_>> {
    AttrIter::new(b).find(|a| a.ty == ty)
}

/// A netlink error: the errno and, if the kernel gave one, its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NlError {
    pub errno: i32,
    pub msg: Option<String>,
}

impl std::fmt::Display for NlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", errname(self.errno))?;
        if let Some(m) = &self.msg {
            write!(f, ": {m}")?;
        }
        Ok(())
    }
}

/// Parses the payload of an `NLMSG_ERROR`: `Ok(())` for an ack (error 0).
pub fn parse_error(h: &NlHdr, payload: &[u8]) -> Result<(), NlError> {
    if payload.len() < 4 {
        return Err(NlError {
            errno: libc::EPROTO,
            msg: Some("short NLMSG_ERROR".into()),
        });
    }
    let err = i32::from_ne_bytes([payload[0], payload[1], payload[2], payload[3]]);
    if err == 0 {
        return Ok(());
    }
    let mut msg = None;
    if h.flags & NLM_F_ACK_TLVS != 0 && payload.len() >= 4 + NLMSG_HDRLEN {
        // The echoed request: just its header when capped, else all of it.
        let orig = NlHdr::parse(&payload[4..])
            .map(|o| o.len as usize)
            .unwrap_or(0);
        let skip = if h.flags & NLM_F_CAPPED != 0 {
            NLMSG_HDRLEN
        } else {
            orig.max(NLMSG_HDRLEN)
        };
        let tlvs = payload.get(4 + align(skip)..).unwrap_or(&[]);
        msg = find_attr(tlvs, NLMSGERR_ATTR_MSG).map(|a| a.str());
    }
    Err(NlError { errno: -err, msg })
}

/// One message of a reply: its header and the payload after it.
pub struct Reply {
    pub hdr: NlHdr,
    pub payload: Vec<u8>,
}

/// A netlink socket for request/reply exchanges, every wait bounded.
pub struct NlSocket {
    fd: OwnedFd,
    seq: u32,
    timeout: Duration,
    buf: Vec<u8>,
}

impl NlSocket {
    /// Opens a socket of netlink `protocol` (`NETLINK_GENERIC`, `NETLINK_SOCK_DIAG`).
    pub fn open(protocol: i32) -> Result<NlSocket, String> {
        let fd = sys::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            protocol,
        )
        .map_err(|e| format!("netlink socket: {}", errname(e)))?;
        sys::bind_netlink(&fd).map_err(|e| format!("netlink bind: {}", errname(e)))?;
        // Best effort: error messages in acks.
        let _ = sys::setsockopt_int(&fd, libc::SOL_NETLINK, NETLINK_EXT_ACK, 1);
        Ok(NlSocket {
            fd,
            seq: std::process::id().wrapping_mul(1000),
            timeout: Duration::from_secs(10),
            buf: vec![0; 256 * 1024],
        })
    }

    pub fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// Sends `req` (built with sequence `seq`) and collects the reply: for
    /// a dump (`NLM_F_DUMP`) every message up to `NLMSG_DONE`, for a
    /// request with `NLM_F_ACK` every message up to the ack, otherwise the
    /// first message (a request that the kernel answers with exactly one
    /// message, or with an error).
    pub fn transact(&mut self, req: &[u8]) -> Result<Vec<Reply>, NlError> {
        let h = NlHdr::parse(req).expect("request without header");
        let dump = h.flags & NLM_F_DUMP == NLM_F_DUMP;
        let ack = h.flags & NLM_F_ACK != 0;
        let n = sys::send(&self.fd, req, 0).map_err(|e| NlError {
            errno: e,
            msg: None,
        })?;
        if n != req.len() {
            return Err(NlError {
                errno: libc::EMSGSIZE,
                msg: Some("short send".into()),
            });
        }
        let deadline = Instant::now() + self.timeout;
        let mut out = Vec::new();
        loop {
            let ev = sys::poll_until(&self.fd, libc::POLLIN, deadline).map_err(|e| NlError {
                errno: e,
                msg: None,
            })?;
            if ev == 0 {
                return Err(NlError {
                    errno: libc::ETIMEDOUT,
                    msg: Some("no netlink reply".into()),
                });
            }
            let n = sys::recv(
                &self.fd,
                &mut self.buf,
                libc::MSG_DONTWAIT | libc::MSG_TRUNC,
            );
            let n = match n {
                Ok(n) => n,
                Err(e) if e == libc::EAGAIN || e == libc::EINTR => continue,
                Err(e) => {
                    return Err(NlError {
                        errno: e,
                        msg: None,
                    })
                }
            };
            if n > self.buf.len() {
                return Err(NlError {
                    errno: libc::EMSGSIZE,
                    msg: Some(format!("netlink reply of {n} bytes truncated")),
                });
            }
            let msgs = split_messages(&self.buf[..n]).map_err(|m| NlError {
                errno: libc::EPROTO,
                msg: Some(m),
            })?;
            for (mh, payload) in msgs {
                if mh.seq != h.seq {
                    continue; // a stale reply to an earlier request
                }
                match mh.ty {
                    NLMSG_NOOP => {}
                    NLMSG_ERROR => {
                        parse_error(&mh, payload)?;
                        if !dump {
                            return Ok(out);
                        }
                    }
                    NLMSG_DONE => {
                        // A dump may end with an error code in DONE.
                        if payload.len() >= 4 {
                            let e = i32::from_ne_bytes([
                                payload[0], payload[1], payload[2], payload[3],
                            ]);
                            if e < 0 {
                                return Err(NlError {
                                    errno: -e,
                                    msg: None,
                                });
                            }
                        }
                        return Ok(out);
                    }
                    _ => {
                        out.push(Reply {
                            hdr: mh,
                            payload: payload.to_vec(),
                        });
                        if !dump && !ack {
                            return Ok(out);
                        }
                    }
                }
            }
        }
    }
}

/// Why [`Genl::open`] failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenError {
    /// The netlink socket could not be opened or bound (the text says which).
    Socket(String),
    /// nlctrl answered `CTRL_CMD_GETFAMILY` with an error (`ENOENT`: no
    /// family of that name is registered), or did not answer.
    Resolve { name: String, err: NlError },
    /// nlctrl's reply carried no family id.
    NoId { name: String },
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::Socket(m) => write!(f, "{m}"),
            OpenError::Resolve { name, err } if err.errno == libc::ENOENT => write!(
                f,
                "generic netlink family {name} not found (is the module loaded?)"
            ),
            OpenError::Resolve { name, err } => {
                write!(f, "resolving generic netlink family {name}: {err}")
            }
            OpenError::NoId { name } => write!(f, "no id for generic netlink family {name}"),
        }
    }
}

impl std::error::Error for OpenError {}

impl From<OpenError> for String {
    fn from(e: OpenError) -> String {
        e.to_string()
    }
}

/// A generic netlink family, resolved by name.
pub struct Genl {
    pub sock: NlSocket,
    pub family: u16,
}

impl Genl {
    /// Resolves `name` through nlctrl (`CTRL_CMD_GETFAMILY`). The kernel
    /// autoloads a module that declares the family alias (the C smc does).
    pub fn open(name: &str) -> Result<Genl, OpenError> {
        Self::open_with(name, NLM_F_REQUEST | NLM_F_ACK)
    }

    /// [`Genl::open`] with the flags of the `CTRL_CMD_GETFAMILY` request:
    /// `NLM_F_REQUEST | NLM_F_ACK` (what [`Genl::open`] sends) or just
    /// `NLM_F_REQUEST` (nlctrl answers with the one family message only).
    pub fn open_with(name: &str, flags: u16) -> Result<Genl, OpenError> {
        let mut sock = NlSocket::open(libc::NETLINK_GENERIC).map_err(OpenError::Socket)?;
        let seq = sock.next_seq();
        let mut m = MsgBuilder::genl(GENL_ID_CTRL, flags, seq, CTRL_CMD_GETFAMILY, 1);
        m.attr_str(CTRL_ATTR_FAMILY_NAME, name);
        let replies = sock
            .transact(&m.finish())
            .map_err(|err| OpenError::Resolve {
                name: name.to_string(),
                err,
            })?;
        let family = replies
            .iter()
            .filter_map(|r| r.payload.get(GENL_HDRLEN..))
            .find_map(|attrs| find_attr(attrs, CTRL_ATTR_FAMILY_ID).and_then(|a| a.uint()))
            .ok_or_else(|| OpenError::NoId {
                name: name.to_string(),
            })?;
        Ok(Genl {
            sock,
            family: family as u16,
        })
    }

    /// A `doit` command: sends `cmd` with the attributes `fill` adds, waits for the ack.
    pub fn command(
        &mut self,
        cmd: u8,
        fill: impl FnOnce(&mut MsgBuilder),
    ) -> Result<Vec<Reply>, NlError> {
        let seq = self.sock.next_seq();
        let mut m = MsgBuilder::genl(self.family, NLM_F_REQUEST | NLM_F_ACK, seq, cmd, 1);
        fill(&mut m);
        self.sock.transact(&m.finish())
    }

    /// A `dumpit` command: returns the attribute area (after `genlmsghdr`) of every message.
    pub fn dump(&mut self, cmd: u8) -> Result<Vec<Vec<u8>>, NlError> {
        let seq = self.sock.next_seq();
        let m = MsgBuilder::genl(self.family, NLM_F_REQUEST | NLM_F_DUMP, seq, cmd, 1);
        let replies = self.sock.transact(&m.finish())?;
        Ok(replies
            .into_iter()
            .filter(|r| r.hdr.ty == self.family)
            .map(|r| r.payload.get(GENL_HDRLEN..).unwrap_or(&[]).to_vec())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn align_rounds_up_to_four() {
        assert_eq!(align(0), 0);
        assert_eq!(align(1), 4);
        assert_eq!(align(4), 4);
        assert_eq!(align(5), 8);
        assert_eq!(align(33), 36);
    }

    #[test]
    fn header_and_genl_header() {
        let m = MsgBuilder::genl(0x1234, NLM_F_REQUEST | NLM_F_ACK, 77, 10, 1).finish();
        assert_eq!(m.len(), NLMSG_HDRLEN + GENL_HDRLEN);
        let h = NlHdr::parse(&m).unwrap();
        assert_eq!(
            h,
            NlHdr {
                len: 20,
                ty: 0x1234,
                flags: 5,
                seq: 77,
                pid: 0
            }
        );
        assert_eq!(&m[16..20], &[10, 1, 0, 0]);
    }

    #[test]
    fn attribute_padding() {
        let mut m = MsgBuilder::new(20, NLM_F_REQUEST, 1);
        m.attr_u8(1, 0xab)
            .attr_str(2, "abc")
            .attr_u16(3, 0x1122)
            .attr(4, &[]);
        let m = m.finish();
        let attrs = &m[NLMSG_HDRLEN..];
        // u8: 4 header + 1 data + 3 padding.
        assert_eq!(&attrs[0..8], &[5, 0, 1, 0, 0xab, 0, 0, 0]);
        // "abc\0": 4 + 4, no padding.
        assert_eq!(&attrs[8..16], &[8, 0, 2, 0, b'a', b'b', b'c', 0]);
        // u16: 4 + 2 + 2 padding.
        assert_eq!(&attrs[16..24], &[6, 0, 3, 0, 0x22, 0x11, 0, 0]);
        // Empty attribute: header only.
        assert_eq!(&attrs[24..28], &[4, 0, 4, 0]);
        assert_eq!(m.len(), NLMSG_HDRLEN + 28);
        assert_eq!(NlHdr::parse(&m).unwrap().len as usize, m.len());
    }

    #[test]
    fn eid_attribute_is_33_bytes_padded_to_36() {
        let mut m = MsgBuilder::genl(30, NLM_F_REQUEST | NLM_F_ACK, 1, 10, 1);
        let eid = format!("{:<32}", "SMC-RS-TEST");
        m.attr_str(1, &eid);
        let m = m.finish();
        let a = AttrIter::new(&m[NLMSG_HDRLEN + GENL_HDRLEN..])
            .next()
            .unwrap();
        assert_eq!(a.data.len(), 33);
        assert_eq!(a.data[32], 0);
        assert_eq!(m.len(), NLMSG_HDRLEN + GENL_HDRLEN + 4 + 36);
    }

    #[test]
    fn nested_roundtrip() {
        let mut m = MsgBuilder::genl(30, NLM_F_REQUEST, 1, 7, 1);
        m.begin_nest(7)
            .begin_nest(1)
            .attr_u64(8, 42)
            .attr_u32(9, 7)
            .end_nest()
            .attr_u64(3, u64::MAX)
            .end_nest();
        let m = m.finish();
        let msgs = split_messages(&m).unwrap();
        assert_eq!(msgs.len(), 1);
        let top: Vec<_> = AttrIter::new(&msgs[0].1[GENL_HDRLEN..]).collect();
        assert_eq!(top.len(), 1);
        assert_eq!(top[0].ty, 7);
        assert!(top[0].nested);
        let inner: Vec<_> = top[0].nested().collect();
        assert_eq!(inner.len(), 2);
        assert_eq!(inner[0].ty, 1);
        let tech: Vec<_> = inner[0].nested().map(|a| (a.ty, a.uint())).collect();
        assert_eq!(tech, vec![(8, Some(42)), (9, Some(7))]);
        assert_eq!(inner[1].uint(), Some(u64::MAX));
        // The nest length covers its children exactly.
        assert_eq!(top[0].data.len(), (4 + 12 + 8) + 12);
    }

    #[test]
    fn several_messages_in_one_datagram() {
        let mut a = MsgBuilder::new(30, NLM_F_MULTI, 5);
        a.attr_u8(1, 1);
        let mut b = MsgBuilder::new(NLMSG_DONE, NLM_F_MULTI, 5);
        b.put_raw(&0i32.to_ne_bytes());
        let mut dgram = a.finish();
        dgram.extend(b.finish());
        let msgs = split_messages(&dgram).unwrap();
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].0.ty, 30);
        assert_eq!(msgs[1].0.ty, NLMSG_DONE);
        assert_eq!(msgs[1].1, &[0, 0, 0, 0]);
    }

    #[test]
    fn malformed_input_is_rejected() {
        assert!(split_messages(&[1, 2, 3]).is_err());
        let mut m = MsgBuilder::new(30, 0, 1).finish();
        m[0] = 200; // length beyond the buffer
        assert!(split_messages(&m).is_err());
        // An attribute whose length runs past the end.
        let mut it = AttrIter::new(&[12, 0, 1, 0, 1, 2]);
        assert!(it.next().is_none());
        assert!(it.error);
        // An attribute shorter than its header.
        let mut it = AttrIter::new(&[2, 0, 1, 0]);
        assert!(it.next().is_none());
        assert!(it.error);
        // The last attribute may lack its padding.
        let v: Vec<_> = AttrIter::new(&[5, 0, 1, 0, 9]).collect();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].uint(), Some(9));
    }

    #[test]
    fn uint_widths_and_strings() {
        fn a(d: &[u8]) -> Attr<'_> {
            Attr {
                ty: 1,
                nested: false,
                data: d,
            }
        }
        assert_eq!(a(&[7]).uint(), Some(7));
        assert_eq!(a(&3u16.to_ne_bytes()).uint(), Some(3));
        assert_eq!(a(&[1, 2, 3]).uint(), None);
        assert_eq!(a(b"lo\0\0").str(), "lo");
        assert_eq!(a(b"abc").str(), "abc");
    }

    #[test]
    fn error_with_extended_ack_message() {
        // NLMSG_ERROR: error -22, the capped request header, then NLMSGERR_ATTR_MSG.
        let mut m = MsgBuilder::new(NLMSG_ERROR, NLM_F_CAPPED | NLM_F_ACK_TLVS, 9);
        let req = MsgBuilder::new(30, NLM_F_REQUEST, 9).finish();
        let mut p = (-22i32).to_ne_bytes().to_vec();
        p.extend(&req);
        m.put_raw(&p);
        m.attr_str(NLMSGERR_ATTR_MSG, "invalid eid");
        let m = m.finish();
        let msgs = split_messages(&m).unwrap();
        let e = parse_error(&msgs[0].0, msgs[0].1).unwrap_err();
        assert_eq!(e.errno, 22);
        assert_eq!(e.msg.as_deref(), Some("invalid eid"));
        // An ack.
        let mut m = MsgBuilder::new(NLMSG_ERROR, 0, 9);
        let mut p = 0i32.to_ne_bytes().to_vec();
        p.extend(&req);
        m.put_raw(&p);
        let m = m.finish();
        let msgs = split_messages(&m).unwrap();
        assert!(parse_error(&msgs[0].0, msgs[0].1).is_ok());
    }

    fn u16_at(b: &[u8], i: usize) -> u16 {
        ne_u16(&b[i..])
    }

    #[test]
    fn request_layout() {
        let mut m = MsgBuilder::genl(0x1c, NLM_F_REQUEST | NLM_F_ACK, 7, 10, 1);
        m.attr(1, b"abcde");
        let m = m.finish();
        // 16 header + 4 genl + 4 attr header + 5 payload, padded to 32.
        assert_eq!(m.len(), 32);
        assert_eq!(ne_u32(&m), 32);
        assert_eq!(u16_at(&m, 4), 0x1c);
        assert_eq!(u16_at(&m, 6), NLM_F_ACK | NLM_F_REQUEST);
        assert_eq!(ne_u32(&m[8..]), 7);
        assert_eq!(&m[16..20], &[10, 1, 0, 0]);
        assert_eq!(u16_at(&m, 20), 9);
        assert_eq!(u16_at(&m, 22), 1);
        assert_eq!(&m[24..29], b"abcde");
        assert_eq!(&m[29..], &[0, 0, 0]);
    }

    #[test]
    fn replies() {
        // An ack with error -EEXIST (no request echoed).
        let mut b = MsgBuilder::new(NLMSG_ERROR, 0, 3);
        b.put_raw(&(-libc::EEXIST).to_ne_bytes());
        let b = b.finish();
        assert_eq!(b.len(), 20);
        let msgs = split_messages(&b).unwrap();
        assert_eq!(msgs[0].0.seq, 3);
        let e = parse_error(&msgs[0].0, msgs[0].1).unwrap_err();
        assert_eq!(e.errno, libc::EEXIST);
        assert_eq!(e.msg, None);
        // A controller reply: the family id and name.
        let mut m = MsgBuilder::genl(GENL_ID_CTRL, 0, 4, 1, 1);
        m.attr_u16(CTRL_ATTR_FAMILY_ID, 0x1c).attr(2, b"x\0");
        let mut m = m.finish();
        let msgs = split_messages(&m).unwrap();
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].0.ty, GENL_ID_CTRL);
        let a: Vec<_> = AttrIter::new(&msgs[0].1[GENL_HDRLEN..]).collect();
        assert_eq!(a[0].ty, CTRL_ATTR_FAMILY_ID);
        assert_eq!(a[0].uint(), Some(0x1c));
        assert_eq!((a[1].ty, a[1].data), (2, &b"x\0"[..]));
        // A length past the end is an error, not a panic.
        m[0..4].copy_from_slice(&1000u32.to_ne_bytes());
        assert!(split_messages(&m).is_err());
        let mut it = AttrIter::new(&[0xff, 0xff, 0, 0]);
        assert!(it.next().is_none());
        assert!(it.error);
    }

    #[test]
    fn live_controller() {
        // The controller knows itself; skip where netlink is not allowed.
        if NlSocket::open(libc::NETLINK_GENERIC).is_err() {
            eprintln!("no netlink here: skipped");
            return;
        }
        assert_eq!(Genl::open("nlctrl").unwrap().family, GENL_ID_CTRL);
        assert_eq!(
            Genl::open_with("nlctrl", NLM_F_REQUEST).unwrap().family,
            GENL_ID_CTRL
        );
        for flags in [NLM_F_REQUEST, NLM_F_REQUEST | NLM_F_ACK] {
            // A name of 15 characters at most (GENL_NAMSIZ with the NUL)
            // that no family has: ENOENT.
            match Genl::open_with("NO_SUCH_FAMILY", flags) {
                Err(e @ OpenError::Resolve { .. }) => assert_eq!(
                    e.to_string(),
                    "generic netlink family NO_SUCH_FAMILY not found (is the module loaded?)"
                ),
                Err(e) => panic!("{e}"),
                Ok(g) => panic!("NO_SUCH_FAMILY has id {}", g.family),
            }
            // A longer name fails nlctrl's attribute policy: EINVAL.
            match Genl::open_with("NO_SUCH_FAMILY_X", flags) {
                Err(OpenError::Resolve { err, .. }) => assert_eq!(err.errno, libc::EINVAL),
                Err(e) => panic!("{e}"),
                Ok(g) => panic!("NO_SUCH_FAMILY_X has id {}", g.family),
            }
        }
    }
}
