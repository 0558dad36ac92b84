//! `smctest clccap`: captures the CLC handshakes of the TCP connections to
//! or from one port and prints every CLC message in hex.
//!
//! SMC runs its CLC handshake (proposal, accept, confirm, decline) in the
//! first bytes of each direction of an ordinary TCP connection, and marks
//! the SYN and SYN-ACK with an experimental TCP option. An AF_PACKET socket
//! bound to one interface sees those segments (on `lo` every packet twice,
//! once sent and once received; the sequence numbers make that harmless);
//! this reassembles the start of each direction by sequence number and cuts
//! it into CLC messages by the length in their headers. The byte vectors
//! are what the `smc-wire` crate's `tests/c_captures.rs` tests against.
//!
//! Only the frame parsing and the reassembly (`Capture`) are pure; `run`
//! adds the socket.

use crate::args::{parse_num, Args};
use crate::sys::{self, errname, Fd};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

pub const USAGE: &str = "\
smctest clccap --port P [--iface lo|eth0] [--count N] [--timeout S]
  Captures (AF_PACKET, one interface, default lo) the TCP connections to or
  from port P and prints for each one, once it has closed:
    SYNOPT <conn#> syn=<0|1> synack=<0|1>     SMC TCP option in SYN / SYN-ACK
    CLC <conn#> <c2s|s2c> <type> <hex>         each CLC message, in the order seen
    CONN <conn#> <client> <server> closed|reset|open
  `capturing` once the socket captures; stops after N (default 1) connections
  have closed, or after S seconds (default 60; then it fails if fewer closed).";

/// "SMCR" in EBCDIC: a CLC eye catcher, and the SMC TCP option's magic
/// (`TCPOPT_SMC_MAGIC`, include/net/tcp.h).
const EYE_SMCR: [u8; 4] = [0xE2, 0xD4, 0xC3, 0xD9];
/// "SMCD" in EBCDIC: the eye catcher of SMC-D accepts and confirms.
const EYE_SMCD: [u8; 4] = [0xE2, 0xD4, 0xC3, 0xC4];
/// `TCPOPT_EXP`: the SMC option is an experimental option with a magic.
const TCPOPT_EXP: u8 = 254;
/// `TCPOLEN_EXP_SMC_BASE`: kind, length, 4 bytes magic.
const TCPOLEN_EXP_SMC_BASE: usize = 6;
/// How much of each direction is kept. The handshake is at most two
/// messages per direction and none is longer than 652 bytes
/// (`struct smc_clc_msg_proposal_area`); later bytes are not CLC.
const KEEP: usize = 4096;
/// The CLC header: eye catcher, type, length (big-endian at 5), version byte.
const CLC_HDR_LEN: usize = 8;

const ETH_HLEN: usize = 14;
const ETH_P_IP: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86DD;
const ETH_P_8021Q: u16 = 0x8100;
const IPPROTO_TCP: u8 = 6;

const TH_FIN: u8 = 0x01;
const TH_SYN: u8 = 0x02;
const TH_RST: u8 = 0x04;
const TH_ACK: u8 = 0x10;

/// One TCP segment of a captured frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment<'a> {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub flags: u8,
    /// The SMC TCP option is present (only meaningful on SYN segments).
    pub smc_opt: bool,
    pub payload: &'a [u8],
}

impl Segment<'_> {
    fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The TCP segment in an Ethernet frame (the link header of both `lo` and
/// virtio-net), if it is one; VLAN tags are skipped.
pub fn parse_frame(f: &[u8]) -> Option<Segment<'_>> {
    let mut off = ETH_HLEN - 2;
    let mut ty = be16(f, off)?;
    while ty == ETH_P_8021Q {
        off += 4;
        ty = be16(f, off)?;
    }
    parse_ip(ty, f.get(off + 2..)?)
}

/// The TCP segment in an IPv4 or IPv6 packet (`ethertype` says which).
pub fn parse_ip(ethertype: u16, p: &[u8]) -> Option<Segment<'_>> {
    match ethertype {
        ETH_P_IP => {
            let b0 = *p.first()?;
            let ihl = usize::from(b0 & 0x0f) * 4;
            if b0 >> 4 != 4 || ihl < 20 {
                return None;
            }
            // Fragments carry no TCP header we could use (TCP avoids them).
            if be16(p, 6)? & 0x3fff != 0 || *p.get(9)? != IPPROTO_TCP {
                return None;
            }
            // The total length trims Ethernet padding; 0 is a GSO packet
            // larger than 64 KiB, then the frame is the packet.
            let total = usize::from(be16(p, 2)?);
            let end = if total == 0 {
                p.len()
            } else {
                total.min(p.len())
            };
            let src = Ipv4Addr::from(<[u8; 4]>::try_from(p.get(12..16)?).ok()?);
            let dst = Ipv4Addr::from(<[u8; 4]>::try_from(p.get(16..20)?).ok()?);
            parse_tcp(src.into(), dst.into(), p.get(ihl..end)?)
        }
        ETH_P_IPV6 => {
            if *p.first()? >> 4 != 6 {
                return None;
            }
            let plen = usize::from(be16(p, 4)?);
            let end = if plen == 0 {
                p.len()
            } else {
                (40 + plen).min(p.len())
            };
            let src = Ipv6Addr::from(<[u8; 16]>::try_from(p.get(8..24)?).ok()?);
            let dst = Ipv6Addr::from(<[u8; 16]>::try_from(p.get(24..40)?).ok()?);
            let mut next = *p.get(6)?;
            let mut off = 40;
            // Hop-by-hop, routing and destination options headers; a
            // fragment header (44) or anything else ends the search.
            while matches!(next, 0 | 43 | 60) {
                next = *p.get(off)?;
                off += (usize::from(*p.get(off + 1)?) + 1) * 8;
            }
            if next != IPPROTO_TCP {
                return None;
            }
            parse_tcp(src.into(), dst.into(), p.get(off..end)?)
        }
        _ => None,
    }
}

fn parse_tcp(src: IpAddr, dst: IpAddr, t: &[u8]) -> Option<Segment<'_>> {
    let doff = usize::from(*t.get(12)? >> 4) * 4;
    if doff < 20 {
        return None;
    }
    Some(Segment {
        src: SocketAddr::new(src, be16(t, 0)?),
        dst: SocketAddr::new(dst, be16(t, 2)?),
        seq: be32(t, 4)?,
        flags: *t.get(13)?,
        smc_opt: has_smc_option(t.get(20..doff)?),
        payload: t.get(doff..)?,
    })
}

/// Whether TCP options hold the SMC option: kind `TCPOPT_EXP`, a length of
/// at least 6, the magic (what `smc_parse_options()` in tcp_input.c takes).
pub fn has_smc_option(mut o: &[u8]) -> bool {
    while let Some(&kind) = o.first() {
        match kind {
            0 => return false, // end of options
            1 => o = &o[1..],  // NOP
            _ => {
                let Some(&len) = o.get(1) else { return false };
                let len = usize::from(len);
                if len < 2 || len > o.len() {
                    return false;
                }
                if kind == TCPOPT_EXP
                    && len >= TCPOLEN_EXP_SMC_BASE
                    && len % 2 == 0
                    && o.get(2..6) == Some(&EYE_SMCR[..])
                {
                    return true;
                }
                o = &o[len..];
            }
        }
    }
    false
}

/// The name of a CLC message type (`SMC_CLC_PROPOSAL` ...).
pub fn type_name(ty: u8) -> String {
    match ty {
        1 => "proposal".into(),
        2 => "accept".into(),
        3 => "confirm".into(),
        4 => "decline".into(),
        t => format!("type{t}"),
    }
}

pub fn hex(b: &[u8]) -> String {
    b.iter()
        .fold(String::with_capacity(b.len() * 2), |mut s, x| {
            let _ = write!(s, "{x:02x}");
            s
        })
}

/// The first `KEEP` bytes of one direction of a connection, put together
/// by sequence number, and the CLC messages found at its start so far.
#[derive(Default)]
struct Stream {
    /// Initial sequence number (of the SYN or SYN-ACK).
    isn: Option<u32>,
    buf: Vec<u8>,
    have: Vec<bool>,
    /// Bytes already cut into messages.
    parsed: usize,
    /// A non-CLC byte (or an impossible length) ended the handshake part.
    stopped: bool,
    fin: bool,
}

impl Stream {
    fn add(&mut self, seq: u32, data: &[u8]) {
        let Some(isn) = self.isn else { return };
        if self.buf.is_empty() {
            self.buf = vec![0; KEEP];
            self.have = vec![false; KEEP];
        }
        // Stream offset of the first byte; the SYN takes one sequence number.
        // A segment that starts before it (wrapping distance) skips ahead.
        let rel = seq.wrapping_sub(isn.wrapping_add(1)) as i32;
        let (start, skip) = if rel < 0 {
            (0, rel.unsigned_abs() as usize)
        } else {
            (rel as usize, 0)
        };
        for (i, &b) in data.iter().enumerate().skip(skip) {
            let at = start + i - skip;
            if at >= KEEP {
                break;
            }
            // Retransmissions and the second copy on lo carry the same bytes.
            self.buf[at] = b;
            self.have[at] = true;
        }
    }

    fn contiguous(&self) -> usize {
        self.have.iter().position(|h| !h).unwrap_or(self.have.len())
    }

    /// The messages completed since the last call.
    fn take_messages(&mut self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let avail = self.contiguous();
        while !self.stopped && avail >= self.parsed + CLC_HDR_LEN {
            let m = &self.buf[self.parsed..avail];
            let len = usize::from(u16::from_be_bytes([m[5], m[6]]));
            let eye = &m[..4];
            if (eye != EYE_SMCR && eye != EYE_SMCD) || len < CLC_HDR_LEN || self.parsed + len > KEEP
            {
                self.stopped = true;
                break;
            }
            if m.len() < len {
                break;
            }
            out.push(m[..len].to_vec());
            self.parsed += len;
        }
        out
    }

    /// Bytes of an unfinished CLC message at the end (have, declared length).
    fn partial(&self) -> Option<(usize, usize)> {
        let m = self.buf.get(self.parsed..self.contiguous())?;
        if self.stopped || m.is_empty() {
            return None;
        }
        let len = m
            .get(5..7)
            .map_or(0, |l| usize::from(u16::from_be_bytes([l[0], l[1]])));
        Some((m.len(), len))
    }
}

/// Client to server, server to client.
const DIRS: [&str; 2] = ["c2s", "s2c"];

struct Conn {
    client: SocketAddr,
    server: SocketAddr,
    syn_opt: bool,
    synack_opt: bool,
    dirs: [Stream; 2],
    rst: bool,
    /// (direction, message) in the order they completed.
    msgs: Vec<(usize, Vec<u8>)>,
    reported: bool,
}

impl Conn {
    fn closed(&self) -> bool {
        self.rst || (self.dirs[0].fin && self.dirs[1].fin)
    }

    fn lines(&self, n: usize) -> Vec<String> {
        let mut v = vec![format!(
            "SYNOPT {n} syn={} synack={}",
            u8::from(self.syn_opt),
            u8::from(self.synack_opt)
        )];
        for (d, m) in &self.msgs {
            v.push(format!(
                "CLC {n} {} {} {}",
                DIRS[*d],
                type_name(m[4]),
                hex(m)
            ));
        }
        for (d, s) in self.dirs.iter().enumerate() {
            if let Some((have, len)) = s.partial() {
                v.push(format!("CLCPART {n} {} have {have} of {len}", DIRS[d]));
            }
        }
        let state = if self.rst {
            "reset"
        } else if self.closed() {
            "closed"
        } else {
            "open"
        };
        v.push(format!("CONN {n} {} {} {state}", self.client, self.server));
        v
    }
}

/// The connections to or from one port, in the order of their SYNs.
pub struct Capture {
    port: u16,
    conns: Vec<Conn>,
    by_key: HashMap<(SocketAddr, SocketAddr), usize>,
}

impl Capture {
    pub fn new(port: u16) -> Self {
        Capture {
            port,
            conns: Vec::new(),
            by_key: HashMap::new(),
        }
    }

    pub fn feed(&mut self, s: &Segment<'_>) {
        // (client, server) and the direction of this segment.
        let (key, d) = if s.dst.port() == self.port {
            ((s.src, s.dst), 0)
        } else if s.src.port() == self.port {
            ((s.dst, s.src), 1)
        } else {
            return;
        };
        let syn = s.has(TH_SYN);
        if syn && !s.has(TH_ACK) && d == 0 {
            let known = self.by_key.get(&key).map(|&i| &self.conns[i]);
            // A retransmitted SYN has the same ISN; another ISN on the same
            // addresses is a new connection.
            if known.is_none_or(|c| c.dirs[0].isn != Some(s.seq)) {
                let mut c = Conn {
                    client: key.0,
                    server: key.1,
                    syn_opt: s.smc_opt,
                    synack_opt: false,
                    dirs: Default::default(),
                    rst: false,
                    msgs: Vec::new(),
                    reported: false,
                };
                c.dirs[0].isn = Some(s.seq);
                self.by_key.insert(key, self.conns.len());
                self.conns.push(c);
            }
        }
        let Some(&i) = self.by_key.get(&key) else {
            return; // begun before the capture
        };
        let c = &mut self.conns[i];
        if syn && s.has(TH_ACK) && d == 1 && c.dirs[1].isn.is_none() {
            c.dirs[1].isn = Some(s.seq);
            c.synack_opt = s.smc_opt;
        }
        let st = &mut c.dirs[d];
        st.add(s.seq, s.payload);
        c.msgs
            .extend(st.take_messages().into_iter().map(|m| (d, m)));
        if s.has(TH_FIN) {
            st.fin = true;
        }
        if s.has(TH_RST) {
            c.rst = true;
        }
    }

    pub fn closed(&self) -> usize {
        self.conns.iter().filter(|c| c.closed()).count()
    }

    pub fn len(&self) -> usize {
        self.conns.len()
    }

    /// The report lines of the connections that closed since the last
    /// call, or with `all` of every one not reported yet.
    pub fn take_report(&mut self, all: bool) -> Vec<String> {
        let mut out = Vec::new();
        for (i, c) in self.conns.iter_mut().enumerate() {
            if !c.reported && (all || c.closed()) {
                c.reported = true;
                out.extend(c.lines(i + 1));
            }
        }
        out
    }
}

pub struct Opts {
    port: u16,
    iface: String,
    count: usize,
    timeout: Duration,
}

impl Opts {
    /// Parses the options; an error comes with the usage.
    pub fn parse(a: Args) -> Result<Opts, String> {
        Self::parse_args(a).map_err(|e| format!("{e}\n{USAGE}"))
    }

    fn parse_args(mut a: Args) -> Result<Opts, String> {
        let port = a
            .opt_with("port", parse_num)?
            .ok_or_else(|| "--port is required".to_string())?;
        let o = Opts {
            port,
            iface: a.opt("iface").unwrap_or_else(|| "lo".into()),
            count: a.opt_with("count", parse_num)?.unwrap_or(1),
            timeout: Duration::from_secs(a.opt_with("timeout", parse_num)?.unwrap_or(60)),
        };
        a.finish()?;
        if a.pos.len() > 1 {
            return Err(format!("clccap: unexpected {}", a.pos[1]));
        }
        Ok(o)
    }
}

/// A packet socket that receives every frame of interface `ifindex`.
fn packet_socket(ifindex: i32) -> Result<Fd, String> {
    // Protocol 0 receives nothing until bind() names the interface, so no
    // frame of another interface gets queued in between.
    let fd = sys::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0)
        .map_err(|e| format!("socket(AF_PACKET): {}", errname(e)))?;
    // Room for bursts while this (slow, emulated) process is not scheduled.
    let _ = sys::setsockopt_int(&fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, 8 << 20);
    sys::bind_packet(&fd, ifindex).map_err(|e| format!("bind(AF_PACKET): {}", errname(e)))?;
    Ok(fd)
}

fn sysfs(iface: &str, file: &str) -> Result<i32, String> {
    let p = format!("/sys/class/net/{iface}/{file}");
    let s = std::fs::read_to_string(&p).map_err(|e| format!("{p}: {e}"))?;
    s.trim().parse().map_err(|_| format!("{p}: {s:?}"))
}

pub fn run(o: &Opts) -> Result<(), String> {
    // ARPHRD_ETHER and ARPHRD_LOOPBACK both have an Ethernet header.
    let hatype = sysfs(&o.iface, "type")?;
    if hatype != libc::ARPHRD_ETHER as i32 && hatype != libc::ARPHRD_LOOPBACK as i32 {
        return Err(format!(
            "{}: link type {hatype} has no Ethernet header",
            o.iface
        ));
    }
    let fd = packet_socket(sysfs(&o.iface, "ifindex")?)?;
    println!("capturing iface {} port {}", o.iface, o.port);
    let deadline = Instant::now() + o.timeout;
    let mut cap = Capture::new(o.port);
    // lo carries GSO packets of up to 64 KiB; only the start matters anyway.
    let mut buf = vec![0u8; 128 << 10];
    while cap.closed() < o.count {
        let ev = sys::poll_until(&fd, libc::POLLIN, deadline).map_err(errname)?;
        if ev == 0 {
            break;
        }
        loop {
            match sys::recv(&fd, &mut buf, libc::MSG_DONTWAIT) {
                Ok(n) => {
                    if let Some(s) = parse_frame(&buf[..n.min(buf.len())]) {
                        cap.feed(&s);
                    }
                }
                Err(e) if e == libc::EAGAIN || e == libc::EINTR => break,
                Err(e) => return Err(format!("recv: {}", errname(e))),
            }
        }
        for l in cap.take_report(false) {
            println!("{l}");
        }
    }
    for l in cap.take_report(true) {
        println!("{l}");
    }
    println!("conns {}", cap.len());
    println!("conns_closed {}", cap.closed());
    if cap.closed() < o.count {
        return Err(format!(
            "timeout: {} of {} connections closed",
            cap.closed(),
            o.count
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMC_OPT: [u8; 8] = [1, 1, 254, 6, 0xE2, 0xD4, 0xC3, 0xD9];

    /// An Ethernet + IPv4/IPv6 + TCP frame.
    fn frame(
        src: SocketAddr,
        dst: SocketAddr,
        seq: u32,
        flags: u8,
        opts: &[u8],
        data: &[u8],
    ) -> Vec<u8> {
        let mut tcp = Vec::new();
        tcp.extend(src.port().to_be_bytes());
        tcp.extend(dst.port().to_be_bytes());
        tcp.extend(seq.to_be_bytes());
        tcp.extend(0u32.to_be_bytes());
        assert_eq!(opts.len() % 4, 0);
        tcp.push((((20 + opts.len()) / 4) as u8) << 4);
        tcp.push(flags);
        tcp.extend([0xff, 0xff, 0, 0, 0, 0]);
        tcp.extend(opts);
        tcp.extend(data);
        let mut f = vec![0u8; 12];
        match (src.ip(), dst.ip()) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                f.extend(ETH_P_IP.to_be_bytes());
                f.extend([0x45, 0]);
                f.extend(((20 + tcp.len()) as u16).to_be_bytes());
                f.extend([0, 0, 0x40, 0, 64, 6, 0, 0]); // DF, TTL, TCP
                f.extend(s.octets());
                f.extend(d.octets());
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                f.extend(ETH_P_IPV6.to_be_bytes());
                f.extend([0x60, 0, 0, 0]);
                // With a destination options header before TCP.
                f.extend(((8 + tcp.len()) as u16).to_be_bytes());
                f.extend([60, 64]);
                f.extend(s.octets());
                f.extend(d.octets());
                f.extend([6, 0, 1, 4, 0, 0, 0, 0]); // next TCP, PadN
            }
            _ => unreachable!(),
        }
        f.extend(tcp);
        // Ethernet padding must not count as payload.
        f.extend([0xAA; 6]);
        f
    }

    fn clc(ty: u8, len: usize, eye: [u8; 4]) -> Vec<u8> {
        let mut m = eye.to_vec();
        m.push(ty);
        m.extend((len as u16).to_be_bytes());
        m.push(0x20);
        m.extend((8..len - 4).map(|i| i as u8));
        m.extend(eye);
        m
    }

    fn feed(cap: &mut Capture, f: &[u8]) {
        cap.feed(&parse_frame(f).expect("a TCP frame"));
    }

    #[test]
    fn smc_option() {
        assert!(has_smc_option(&SMC_OPT));
        // After MSS, SACK-permitted, timestamps, window scale (what Linux sends).
        let mut o = vec![
            2, 4, 0xff, 0xd7, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
        ];
        assert!(!has_smc_option(&o));
        o.extend(SMC_OPT);
        assert!(has_smc_option(&o));
        assert!(!has_smc_option(&[254, 6, 0xE2, 0xD4, 0xC3, 0xC4])); // other magic
        assert!(!has_smc_option(&[254, 4, 0xE2, 0xD4])); // too short
        assert!(!has_smc_option(&[0, 254, 6, 0xE2, 0xD4, 0xC3, 0xD9])); // after EOL
        assert!(!has_smc_option(&[2, 40, 0, 0])); // length past the end
        assert!(!has_smc_option(&[3]));
    }

    #[test]
    fn frames() {
        let c: SocketAddr = "192.0.2.2:40000".parse().unwrap();
        let s: SocketAddr = "192.0.2.1:7200".parse().unwrap();
        let f = frame(c, s, 77, TH_SYN, &SMC_OPT, b"");
        let seg = parse_frame(&f).unwrap();
        assert_eq!((seg.src, seg.dst, seg.seq, seg.flags), (c, s, 77, TH_SYN));
        assert!(seg.smc_opt);
        assert!(seg.payload.is_empty());
        let c6: SocketAddr = "[::1]:40000".parse().unwrap();
        let s6: SocketAddr = "[::1]:7200".parse().unwrap();
        let f = frame(s6, c6, 5, TH_ACK, &[], b"abc");
        let seg = parse_frame(&f).unwrap();
        assert_eq!((seg.src, seg.dst, seg.payload), (s6, c6, &b"abc"[..]));
        assert!(!seg.smc_opt);
        // Every truncation is refused or parses without panicking.
        for n in 0..f.len() {
            let _ = parse_frame(&f[..n]);
        }
        let mut arp = f.clone();
        arp[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
        assert!(parse_frame(&arp).is_none());
    }

    /// A whole handshake with segments split, reordered, duplicated.
    #[test]
    fn reassembly() {
        let c: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let s: SocketAddr = "127.0.0.1:7200".parse().unwrap();
        let other: SocketAddr = "127.0.0.1:22".parse().unwrap();
        let prop = clc(1, 100, EYE_SMCR);
        let acc = clc(2, 78, EYE_SMCD);
        let conf = clc(3, 78, EYE_SMCD);
        let mut cap = Capture::new(7200);
        // Not this port: ignored.
        feed(&mut cap, &frame(c, other, 1, TH_SYN, &SMC_OPT, b""));
        // ISNs near the wrap.
        let (ci, si) = (u32::MAX - 10, 1000);
        for _ in 0..2 {
            // lo shows each packet twice; the SYN is retransmitted too.
            feed(&mut cap, &frame(c, s, ci, TH_SYN, &SMC_OPT, b""));
        }
        feed(&mut cap, &frame(s, c, si, TH_SYN | TH_ACK, &SMC_OPT, b""));
        // The proposal in two pieces, the second first, then the first twice.
        let p1 = ci.wrapping_add(1);
        feed(
            &mut cap,
            &frame(c, s, p1.wrapping_add(60), TH_ACK, &[], &prop[60..]),
        );
        feed(&mut cap, &frame(c, s, p1, TH_ACK, &[], &prop[..60]));
        feed(&mut cap, &frame(c, s, p1, TH_ACK, &[], &prop[..60]));
        feed(&mut cap, &frame(s, c, si + 1, TH_ACK, &[], &acc));
        // Confirm and the first data bytes in one segment.
        let mut tail = conf.clone();
        tail.extend(b"SMCTSTR1 and so on");
        feed(
            &mut cap,
            &frame(c, s, p1.wrapping_add(100), TH_ACK, &[], &tail),
        );
        assert_eq!(cap.closed(), 0);
        feed(
            &mut cap,
            &frame(
                c,
                s,
                p1.wrapping_add(100 + tail.len() as u32),
                TH_FIN | TH_ACK,
                &[],
                b"",
            ),
        );
        feed(
            &mut cap,
            &frame(s, c, si + 1 + 78, TH_FIN | TH_ACK, &[], b""),
        );
        assert_eq!(cap.closed(), 1);
        let r = cap.take_report(false);
        assert_eq!(
            r,
            vec![
                "SYNOPT 1 syn=1 synack=1".to_string(),
                format!("CLC 1 c2s proposal {}", hex(&prop)),
                format!("CLC 1 s2c accept {}", hex(&acc)),
                format!("CLC 1 c2s confirm {}", hex(&conf)),
                "CONN 1 127.0.0.1:40000 127.0.0.1:7200 closed".to_string(),
            ]
        );
        assert!(cap.take_report(true).is_empty());

        // Same addresses, new ISN: a second connection; plain TCP server
        // (no option in the SYN-ACK), no CLC, reset.
        feed(&mut cap, &frame(c, s, 5, TH_SYN, &SMC_OPT, b""));
        feed(&mut cap, &frame(s, c, 9, TH_SYN | TH_ACK, &[], b""));
        feed(&mut cap, &frame(c, s, 6, TH_ACK, &[], b"SMCTSTR1"));
        feed(&mut cap, &frame(c, s, 14, TH_ACK, &[], &prop));
        feed(&mut cap, &frame(s, c, 10, TH_RST, &[], b""));
        assert_eq!(
            cap.take_report(false),
            vec![
                "SYNOPT 2 syn=1 synack=0",
                "CONN 2 127.0.0.1:40000 127.0.0.1:7200 reset"
            ]
        );
    }

    /// IPv6, a decline, and a connection still open at the end with half a
    /// message.
    #[test]
    fn ipv6_and_partial() {
        let c: SocketAddr = "[::1]:50000".parse().unwrap();
        let s: SocketAddr = "[::1]:7300".parse().unwrap();
        let prop = clc(1, 120, EYE_SMCR);
        let decl = clc(4, 44, EYE_SMCR);
        let mut cap = Capture::new(7300);
        feed(&mut cap, &frame(c, s, 0, TH_SYN, &SMC_OPT, b""));
        feed(&mut cap, &frame(s, c, 0, TH_SYN | TH_ACK, &SMC_OPT, b""));
        feed(&mut cap, &frame(c, s, 1, TH_ACK, &[], &prop));
        feed(&mut cap, &frame(s, c, 1, TH_ACK, &[], &decl[..30]));
        let r = cap.take_report(true);
        assert_eq!(r[0], "SYNOPT 1 syn=1 synack=1");
        assert_eq!(r[1], format!("CLC 1 c2s proposal {}", hex(&prop)));
        assert_eq!(r[2], "CLCPART 1 s2c have 30 of 44");
        assert_eq!(r[3], "CONN 1 [::1]:50000 [::1]:7300 open");
        assert_eq!(r.len(), 4);
    }

    /// A bogus length ends the CLC part rather than waiting forever.
    #[test]
    fn bogus_length_stops() {
        let mut st = Stream {
            isn: Some(0),
            ..Default::default()
        };
        let mut m = clc(1, 100, EYE_SMCR);
        m[5..7].copy_from_slice(&4u16.to_be_bytes());
        st.add(1, &m);
        assert!(st.take_messages().is_empty());
        assert!(st.stopped);
        assert_eq!(st.partial(), None);
    }
}
