//! The C smc module's generic netlink interface (`include/uapi/linux/smc.h`):
//! the `SMC_GEN_NETLINK` family (system info, statistics, SMC-D devices and
//! link groups, user EIDs). The `SMC_PNETID` family (the PNET table) is
//! [`crate::pnet`].
//!
//! [`Smc`] sends the requests; the decoders here turn the attribute areas
//! of a dump into text. Output is one `key value` pair per line (`key`
//! without spaces), so shell tests can pick values with
//! `awk '$1 == "smcd_clnt_v2_succ" { print $2 }'`.
//! The fallback reasons are `fback_srv 0xCODE COUNT NAME` and
//! `fback_clnt 0xCODE COUNT NAME`.

use crate::netlink::{Attr, AttrIter, Genl, NlError, OpenError};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// `SMC_GENL_FAMILY_NAME`.
pub const SMC_GENL_FAMILY_NAME: &str = "SMC_GEN_NETLINK";

/// `SMC_MAX_EID_LEN`: an EID is 32 bytes, padded with blanks.
pub const SMC_MAX_EID_LEN: usize = 32;

// SMC_GENL_FAMILY commands.
pub const SMC_NETLINK_GET_SYS_INFO: u8 = 1;
pub const SMC_NETLINK_GET_LGR_SMCD: u8 = 4;
pub const SMC_NETLINK_GET_DEV_SMCD: u8 = 5;
pub const SMC_NETLINK_GET_STATS: u8 = 7;
pub const SMC_NETLINK_GET_FBACK_STATS: u8 = 8;
pub const SMC_NETLINK_DUMP_UEID: u8 = 9;
pub const SMC_NETLINK_ADD_UEID: u8 = 10;
pub const SMC_NETLINK_REMOVE_UEID: u8 = 11;
pub const SMC_NETLINK_FLUSH_UEID: u8 = 12;
pub const SMC_NETLINK_DUMP_SEID: u8 = 13;
pub const SMC_NETLINK_ENABLE_SEID: u8 = 14;
pub const SMC_NETLINK_DISABLE_SEID: u8 = 15;
pub const SMC_NETLINK_DUMP_HS_LIMITATION: u8 = 16;
pub const SMC_NETLINK_ENABLE_HS_LIMITATION: u8 = 17;
pub const SMC_NETLINK_DISABLE_HS_LIMITATION: u8 = 18;
/// `SMC_NLA_HS_LIMITATION_ENABLED` (u8).
pub const SMC_NLA_HS_LIMITATION_ENABLED: u16 = 1;

// Top-level attributes.
const SMC_GEN_SYS_INFO: u16 = 1;
const SMC_GEN_LGR_SMCD: u16 = 4;
const SMC_GEN_DEV_SMCD: u16 = 5;
const SMC_GEN_STATS: u16 = 7;
const SMC_GEN_FBACK_STATS: u16 = 8;

// SMC_GEN_STATS.
const SMC_NLA_STATS_SMCD_TECH: u16 = 1;
const SMC_NLA_STATS_SMCR_TECH: u16 = 2;
const SMC_NLA_STATS_CLNT_HS_ERR_CNT: u16 = 3;
const SMC_NLA_STATS_SRV_HS_ERR_CNT: u16 = 4;

// SMC_GEN_FBACK_STATS.
const SMC_NLA_FBACK_STATS_TYPE: u16 = 1;
const SMC_NLA_FBACK_STATS_SRV_CNT: u16 = 2;
const SMC_NLA_FBACK_STATS_CLNT_CNT: u16 = 3;
const SMC_NLA_FBACK_STATS_RSN_CODE: u16 = 4;
const SMC_NLA_FBACK_STATS_RSN_CNT: u16 = 5;

// SMC_NETLINK_UEID / SEID.
pub const SMC_NLA_EID_TABLE_ENTRY: u16 = 1;
const SMC_NLA_SEID_ENTRY: u16 = 1;
const SMC_NLA_SEID_ENABLED: u16 = 2;

/// Names of the `SMC_NLA_STATS_T_*` counters (index = attribute type).
const TECH_NAMES: [&str; 22] = [
    "pad",
    "tx_rmb_size",
    "rx_rmb_size",
    "tx_pload",
    "rx_pload",
    "tx_rmb",
    "rx_rmb",
    "clnt_v1_succ",
    "clnt_v2_succ",
    "srv_v1_succ",
    "srv_v2_succ",
    "sendpage_cnt",
    "splice_cnt",
    "cork_cnt",
    "ndly_cnt",
    "urg_data_cnt",
    "rx_bytes",
    "tx_bytes",
    "rx_cnt",
    "tx_cnt",
    "rx_rmb_usage",
    "tx_rmb_usage",
];

/// The per-technology counters printed without `--all`.
const TECH_COMPACT: [&str; 8] = [
    "clnt_v1_succ",
    "clnt_v2_succ",
    "srv_v1_succ",
    "srv_v2_succ",
    "rx_bytes",
    "tx_bytes",
    "rx_cnt",
    "tx_cnt",
];

/// `SMC_NLA_STATS_PLOAD_*` buckets.
const PLOAD_NAMES: [&str; 10] = [
    "pad", "8k", "16k", "32k", "64k", "128k", "256k", "512k", "1024k", "g1024k",
];

/// `SMC_NLA_STATS_RMB_*` counters.
const RMB_NAMES: [&str; 8] = [
    "pad",
    "size_sm_peer_cnt",
    "size_sm_cnt",
    "full_peer_cnt",
    "full_cnt",
    "reuse_cnt",
    "alloc_cnt",
    "dgrade_cnt",
];

/// Short names of the CLC decline / fallback reason codes (`smc_clc.h`).
pub fn reason_name(code: u32) -> &'static str {
    match code {
        0 => "NONE",
        0x0101_0000 => "MEM",
        0x0201_0000 => "TIMEOUT_CL",
        0x0202_0000 => "TIMEOUT_AL",
        0x0300_0000 => "CNFERR",
        0x0301_0000 => "PEERNOSMC",
        0x0302_0000 => "IPSEC",
        0x0303_0000 => "NOSMCDEV",
        0x0303_0001 => "NOSMCDDEV",
        0x0303_0002 => "NOSMCRDEV",
        0x0303_0003 => "NOISM2SUPP",
        0x0303_0004 => "NOV2EXT",
        0x0303_0005 => "NOV2DEXT",
        0x0303_0006 => "NOSEID",
        0x0303_0007 => "NOSMCD2DEV",
        0x0303_0008 => "NOUEID",
        0x0303_0009 => "RELEASEERR",
        0x0303_000a => "MAXCONNERR",
        0x0303_000b => "MAXLINKERR",
        0x0304_0000 => "MODEUNSUPP",
        0x0305_0000 => "RMBE_EC",
        0x0306_0000 => "OPTUNSUPP",
        0x0307_0000 => "DIFFPREFIX",
        0x0308_0000 => "GETVLANERR",
        0x0309_0000 => "ISMVLANERR",
        0x030a_0000 => "NOACTLINK",
        0x030b_0000 => "NOSRVLINK",
        0x030c_0000 => "VERSMISMAT",
        0x030d_0000 => "MAX_DMB",
        0x030e_0000 => "NOROUTE",
        0x030f_0000 => "NOINDIRECT",
        0x0400_0000 => "SYNCERR",
        0x0500_0000 => "PEERDECL",
        0x0999_0000 => "INTERR",
        0x0999_0001 => "ERR_RTOK",
        0x0999_0002 => "ERR_RDYLNK",
        0x0999_0003 => "ERR_REGBUF",
        _ => "?",
    }
}

/// Whether `eid` (without its padding) is a user EID the kernel accepts
/// (`smc_clc_ueid_valid`): 1 to 32 upper-case letters, digits, `.` or `-`,
/// starting with a letter or digit.
pub fn ueid_valid(eid: &str) -> bool {
    let b = eid.as_bytes();
    let ok_char = |c: &u8| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'.' || *c == b'-';
    !b.is_empty()
        && b.len() <= SMC_MAX_EID_LEN
        && b[0].is_ascii_alphanumeric()
        && b.iter().all(ok_char)
}

/// Normalises a user EID the way smc-tools does: upper case, padded with
/// blanks to 32 bytes. The kernel checks the characters (`smc_clc_ueid_valid`:
/// first an upper-case letter or digit, then those, `.` or `-`).
pub fn pad_eid(eid: &str) -> Result<String, String> {
    let eid = eid.trim();
    if eid.is_empty() || eid.len() > SMC_MAX_EID_LEN {
        return Err(format!(
            "an EID has 1 to {SMC_MAX_EID_LEN} characters, not {}",
            eid.len()
        ));
    }
    if !eid.is_ascii() {
        return Err("an EID is ASCII".into());
    }
    Ok(format!(
        "{:<width$}",
        eid.to_ascii_uppercase(),
        width = SMC_MAX_EID_LEN
    ))
}

/// One output line: `key value [note]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub key: String,
    pub value: u64,
    pub note: Option<String>,
}

impl Line {
    fn new(key: impl Into<String>, value: u64) -> Line {
        Line {
            key: key.into(),
            value,
            note: None,
        }
    }
}

pub fn format_lines(lines: &[Line]) -> String {
    let mut s = String::new();
    for l in lines {
        match &l.note {
            Some(n) => writeln!(s, "{} {} {}", l.key, l.value, n).unwrap(),
            None => writeln!(s, "{} {}", l.key, l.value).unwrap(),
        }
    }
    s
}

/// Parses the output of `smctest stats` (for `--since`): `key value` lines,
/// and the two-word keys `fback_srv 0xCODE` / `fback_clnt 0xCODE`.
pub fn parse_lines(text: &str) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for line in text.lines() {
        let t: Vec<&str> = line.split_whitespace().collect();
        if t.len() >= 3 && t[1].starts_with("0x") {
            if let Ok(v) = t[2].parse() {
                m.insert(format!("{} {}", t[0], t[1]), v);
            }
        } else if t.len() >= 2 {
            if let Ok(v) = t[1].parse() {
                m.insert(t[0].to_string(), v);
            }
        }
    }
    m
}

fn tech_lines(prefix: &str, tech: &Attr<'_>, all: bool, out: &mut Vec<Line>) {
    let mut counters = BTreeMap::new();
    let mut extra = Vec::new();
    for a in tech.nested() {
        let name = TECH_NAMES.get(a.ty as usize).copied().unwrap_or("unknown");
        if a.nested {
            if !all {
                continue;
            }
            let sub: &[&str] = if a.ty <= 4 { &PLOAD_NAMES } else { &RMB_NAMES };
            for b in a.nested() {
                if let (Some(n), Some(v)) = (sub.get(b.ty as usize), b.uint()) {
                    if b.ty != 0 {
                        extra.push(Line::new(format!("{prefix}_{name}_{n}"), v));
                    }
                }
            }
        } else if let Some(v) = a.uint() {
            if a.ty == 0 {
                continue;
            }
            if TECH_COMPACT.contains(&name) {
                counters.insert(name, v);
            } else if all {
                extra.push(Line::new(format!("{prefix}_{name}"), v));
            }
        }
    }
    for n in TECH_COMPACT {
        out.push(Line::new(
            format!("{prefix}_{n}"),
            counters.get(n).copied().unwrap_or(0),
        ));
    }
    out.extend(extra);
}

/// Decodes the `SMC_NETLINK_GET_STATS` dump (attribute areas of its messages).
pub fn parse_stats(msgs: &[Vec<u8>], all: bool) -> Result<Vec<Line>, String> {
    let mut out = Vec::new();
    let top = msgs
        .iter()
        .flat_map(|m| AttrIter::new(m))
        .find(|a| a.ty == SMC_GEN_STATS)
        .ok_or("no SMC_GEN_STATS in the reply")?;
    let mut hs = (0, 0);
    let (mut d, mut r) = (None, None);
    for a in top.nested() {
        match a.ty {
            SMC_NLA_STATS_SMCD_TECH => d = Some(a),
            SMC_NLA_STATS_SMCR_TECH => r = Some(a),
            SMC_NLA_STATS_CLNT_HS_ERR_CNT => hs.0 = a.uint().unwrap_or(0),
            SMC_NLA_STATS_SRV_HS_ERR_CNT => hs.1 = a.uint().unwrap_or(0),
            _ => {}
        }
    }
    let empty = Attr {
        ty: 0,
        nested: true,
        data: &[],
    };
    tech_lines("smcd", &d.unwrap_or(empty), all, &mut out);
    tech_lines("smcr", &r.unwrap_or(empty), all, &mut out);
    out.push(Line::new("clnt_hshake_err", hs.0));
    out.push(Line::new("srv_hshake_err", hs.1));
    Ok(out)
}

/// Decodes the `SMC_NETLINK_GET_FBACK_STATS` dump: totals, then one line per reason.
pub fn parse_fback(msgs: &[Vec<u8>]) -> Vec<Line> {
    let (mut srv_cnt, mut clnt_cnt) = (0, 0);
    let mut reasons = Vec::new();
    for m in msgs {
        for top in AttrIter::new(m).filter(|a| a.ty == SMC_GEN_FBACK_STATS) {
            let (mut is_srv, mut code, mut cnt) = (false, None, 0);
            for a in top.nested() {
                match a.ty {
                    SMC_NLA_FBACK_STATS_TYPE => is_srv = a.uint() == Some(1),
                    SMC_NLA_FBACK_STATS_SRV_CNT => srv_cnt = a.uint().unwrap_or(0),
                    SMC_NLA_FBACK_STATS_CLNT_CNT => clnt_cnt = a.uint().unwrap_or(0),
                    SMC_NLA_FBACK_STATS_RSN_CODE => code = a.uint(),
                    SMC_NLA_FBACK_STATS_RSN_CNT => cnt = a.uint().unwrap_or(0),
                    _ => {}
                }
            }
            if let Some(code) = code {
                let kind = if is_srv { "fback_srv" } else { "fback_clnt" };
                reasons.push(Line {
                    key: format!("{kind} 0x{code:08x}"),
                    value: cnt,
                    note: Some(reason_name(code as u32).to_string()),
                });
            }
        }
    }
    reasons.sort_by(|a, b| a.key.cmp(&b.key));
    let mut out = vec![
        Line::new("fback_srv_cnt", srv_cnt),
        Line::new("fback_clnt_cnt", clnt_cnt),
    ];
    out.extend(reasons);
    out
}

/// The lines with `value - old value` (signed; the counters reset when the module reloads).
pub fn format_delta(lines: &[Line], old: &BTreeMap<String, u64>) -> String {
    let mut s = String::new();
    for l in lines {
        let d = l.value as i128 - old.get(&l.key).copied().unwrap_or(0) as i128;
        match &l.note {
            Some(n) => writeln!(s, "{} {} {}", l.key, d, n).unwrap(),
            None => writeln!(s, "{} {}", l.key, d).unwrap(),
        }
    }
    s
}

fn nest_map<'a>(a: &Attr<'a>) -> BTreeMap<u16, Attr<'a>> {
    a.nested().map(|b| (b.ty, b)).collect()
}

pub(crate) fn get_u(m: &BTreeMap<u16, Attr<'_>>, ty: u16) -> u64 {
    m.get(&ty).and_then(|a| a.uint()).unwrap_or(0)
}

pub(crate) fn get_s(m: &BTreeMap<u16, Attr<'_>>, ty: u16) -> String {
    let s = m.get(&ty).map(|a| a.str()).unwrap_or_default();
    let s = s.trim();
    if s.is_empty() {
        "-".into()
    } else {
        s.replace(' ', "_")
    }
}

/// Decodes the `SMC_NETLINK_GET_SYS_INFO` dump: `smc_ver`, `smc_rel`,
/// `ism_v2`, `local_host`, `seid`, `smcr_v2`.
pub fn format_sys_info(msgs: &[Vec<u8>]) -> String {
    let mut s = String::new();
    for top in msgs
        .iter()
        .flat_map(|m| AttrIter::new(m))
        .filter(|a| a.ty == SMC_GEN_SYS_INFO)
    {
        let m = nest_map(&top);
        writeln!(s, "smc_ver {}", get_u(&m, 1)).unwrap();
        writeln!(s, "smc_rel {}", get_u(&m, 2)).unwrap();
        writeln!(s, "ism_v2 {}", get_u(&m, 3)).unwrap();
        writeln!(s, "local_host {}", get_s(&m, 4)).unwrap();
        writeln!(s, "seid {}", get_s(&m, 5)).unwrap();
        writeln!(s, "smcr_v2 {}", get_u(&m, 6)).unwrap();
    }
    s
}

/// Decodes the `SMC_NETLINK_DUMP_SEID` dump: whether the system EID is
/// enabled (`SMC_NLA_SEID_ENABLED`, 0 if absent).
pub fn parse_seid_enabled(msgs: &[Vec<u8>]) -> u64 {
    let mut enabled = 0;
    for m in msgs {
        for a in AttrIter::new(m) {
            match a.ty {
                SMC_NLA_SEID_ENABLED => enabled = a.uint().unwrap_or(0),
                SMC_NLA_SEID_ENTRY => {}
                _ => {}
            }
        }
    }
    enabled
}

/// Decodes the `SMC_NETLINK_DUMP_HS_LIMITATION` dump: whether the handshake
/// limitation is on (0 or 1).
pub fn parse_hs_limitation(msgs: &[Vec<u8>]) -> u64 {
    let mut on = 0;
    for m in msgs {
        for a in AttrIter::new(m) {
            if a.ty == SMC_NLA_HS_LIMITATION_ENABLED {
                on = a.uint().unwrap_or(0);
            }
        }
    }
    on
}

/// Decodes the `SMC_NETLINK_GET_DEV_SMCD` dump, one line per device.
pub fn format_devices(msgs: &[Vec<u8>]) -> String {
    let mut s = String::new();
    let mut n = 0;
    for top in msgs
        .iter()
        .flat_map(|m| AttrIter::new(m))
        .filter(|a| a.ty == SMC_GEN_DEV_SMCD)
    {
        let m = nest_map(&top);
        let port = m.get(&8).map(nest_map).unwrap_or_default();
        n += 1;
        writeln!(
            s,
            "smcd_dev pci_id={} vendor=0x{:04x} device=0x{:04x} chid=0x{:04x} fid={} pnetid={} pnetid_by_user={} use_cnt={} crit={}",
            get_s(&m, 7),
            get_u(&m, 5),
            get_u(&m, 6),
            get_u(&m, 4),
            get_u(&m, 3),
            get_s(&port, 2),
            get_u(&port, 1),
            get_u(&m, 1),
            get_u(&m, 2),
        )
        .unwrap();
    }
    writeln!(s, "smcd_devs {n}").unwrap();
    s
}

/// Decodes the `SMC_NETLINK_GET_LGR_SMCD` dump, one line per link group.
pub fn format_lgrs(msgs: &[Vec<u8>]) -> String {
    let mut s = String::new();
    let mut n = 0;
    for top in msgs
        .iter()
        .flat_map(|m| AttrIter::new(m))
        .filter(|a| a.ty == SMC_GEN_LGR_SMCD)
    {
        let m = nest_map(&top);
        n += 1;
        write!(
            s,
            "smcd_lgr id=0x{:08x} gid=0x{:016x} ext_gid=0x{:016x} peer_gid=0x{:016x} peer_ext_gid=0x{:016x} chid=0x{:04x} conns={} vlan={} pnetid={} sndbufs={} dmbs={}",
            get_u(&m, 1),
            get_u(&m, 2),
            get_u(&m, 10),
            get_u(&m, 3),
            get_u(&m, 11),
            get_u(&m, 7),
            get_u(&m, 5),
            get_u(&m, 4),
            get_s(&m, 6),
            get_u(&m, 12),
            get_u(&m, 13),
        )
        .unwrap();
        if let Some(v2) = m.get(&9).map(nest_map) {
            // SMC_NLA_LGR_V2_VER is attribute type 0 in this nest.
            write!(
                s,
                " ver={} rel={} os={} neg_eid={} peer_host={}",
                get_u(&v2, 0),
                get_u(&v2, 1),
                get_u(&v2, 2),
                get_s(&v2, 3),
                get_s(&v2, 4)
            )
            .unwrap();
        } else {
            write!(s, " ver=1").unwrap();
        }
        s.push('\n');
    }
    writeln!(s, "smcd_lgrs {n}").unwrap();
    s
}

/// Decodes the `SMC_NETLINK_DUMP_UEID` dump: the user EIDs, blanks trimmed.
pub fn parse_ueids(msgs: &[Vec<u8>]) -> Vec<String> {
    msgs.iter()
        .flat_map(|m| AttrIter::new(m).filter(|a| a.ty == SMC_NLA_EID_TABLE_ENTRY))
        .map(|a| a.str().trim_end().to_string())
        .collect()
}

/// A client of the `SMC_GEN_NETLINK` family.
pub struct Smc {
    genl: Genl,
}

impl Smc {
    /// Resolves the family ([`Genl::open`]; the kernel autoloads the C smc).
    pub fn open() -> Result<Smc, OpenError> {
        Genl::open(SMC_GENL_FAMILY_NAME).map(|genl| Smc { genl })
    }

    /// [`Smc::open`] with the flags of the `CTRL_CMD_GETFAMILY` request
    /// ([`Genl::open_with`]).
    pub fn open_with(getfamily_flags: u16) -> Result<Smc, OpenError> {
        Genl::open_with(SMC_GENL_FAMILY_NAME, getfamily_flags).map(|genl| Smc { genl })
    }

    /// A dump (`SMC_NETLINK_GET_*`, `SMC_NETLINK_DUMP_*`): the attribute
    /// area of every message, for the decoders of this module.
    pub fn dump(&mut self, cmd: u8) -> Result<Vec<Vec<u8>>, NlError> {
        self.genl.dump(cmd)
    }

    /// `SMC_NETLINK_ADD_UEID` of `eid` as [`pad_eid`] makes it (the
    /// attribute is its 32 bytes and a NUL). `EEXIST` if it is there already.
    pub fn add_ueid(&mut self, eid: &str) -> Result<(), NlError> {
        self.ueid_cmd(SMC_NETLINK_ADD_UEID, eid)
    }

    /// `SMC_NETLINK_REMOVE_UEID` of `eid` (padded, as for [`Smc::add_ueid`]).
    pub fn remove_ueid(&mut self, eid: &str) -> Result<(), NlError> {
        self.ueid_cmd(SMC_NETLINK_REMOVE_UEID, eid)
    }

    /// `SMC_NETLINK_FLUSH_UEID`: removes every user EID.
    pub fn flush_ueid(&mut self) -> Result<(), NlError> {
        self.genl.command(SMC_NETLINK_FLUSH_UEID, |_| {}).map(drop)
    }

    /// A command without attributes (`SMC_NETLINK_ENABLE_SEID`, `..._HS_LIMITATION`).
    pub fn simple(&mut self, cmd: u8) -> Result<(), NlError> {
        self.genl.command(cmd, |_| {}).map(drop)
    }

    fn ueid_cmd(&mut self, cmd: u8, eid: &str) -> Result<(), NlError> {
        self.genl
            .command(cmd, |m| {
                m.attr_str(SMC_NLA_EID_TABLE_ENTRY, eid);
            })
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::MsgBuilder;

    fn attrs_of(m: MsgBuilder) -> Vec<u8> {
        m.finish()[crate::netlink::NLMSG_HDRLEN + crate::netlink::GENL_HDRLEN..].to_vec()
    }

    #[test]
    fn eid_padding() {
        assert_eq!(pad_eid("smc-rs.1").unwrap(), format!("{:<32}", "SMC-RS.1"));
        assert_eq!(pad_eid("X").unwrap().len(), 32);
        assert!(pad_eid("").is_err());
        assert!(pad_eid(&"A".repeat(33)).is_err());
        assert_eq!(pad_eid(&"B".repeat(32)).unwrap(), "B".repeat(32));
    }

    #[test]
    fn stats_decoding() {
        let mut m = MsgBuilder::genl(30, 0, 1, SMC_NETLINK_GET_STATS, 1);
        m.begin_nest(SMC_GEN_STATS)
            .begin_nest(SMC_NLA_STATS_SMCD_TECH);
        m.begin_nest(5).attr_u64(5, 3).end_nest(); // tx_rmb reuse_cnt
        m.begin_nest(3).attr_u64(1, 11).end_nest(); // tx_pload 8k
        m.attr_u64(8, 51)
            .attr_u64(10, 50)
            .attr_u64(16, 1 << 40)
            .attr_u32(20, 9);
        m.end_nest();
        m.begin_nest(SMC_NLA_STATS_SMCR_TECH)
            .attr_u64(7, 2)
            .end_nest();
        m.attr_u64(SMC_NLA_STATS_CLNT_HS_ERR_CNT, 4)
            .attr_u64(SMC_NLA_STATS_SRV_HS_ERR_CNT, 5);
        m.end_nest();
        let msgs = vec![attrs_of(m)];
        let l = parse_stats(&msgs, false).unwrap();
        let map: BTreeMap<_, _> = l.iter().map(|l| (l.key.as_str(), l.value)).collect();
        assert_eq!(map["smcd_clnt_v2_succ"], 51);
        assert_eq!(map["smcd_srv_v2_succ"], 50);
        assert_eq!(map["smcd_clnt_v1_succ"], 0);
        assert_eq!(map["smcd_rx_bytes"], 1 << 40);
        assert_eq!(map["smcr_clnt_v1_succ"], 2);
        assert_eq!(map["clnt_hshake_err"], 4);
        assert_eq!(map["srv_hshake_err"], 5);
        assert!(!map.contains_key("smcd_tx_pload_8k"));
        let l = parse_stats(&msgs, true).unwrap();
        let map: BTreeMap<_, _> = l.iter().map(|l| (l.key.as_str(), l.value)).collect();
        assert_eq!(map["smcd_tx_pload_8k"], 11);
        assert_eq!(map["smcd_tx_rmb_reuse_cnt"], 3);
        assert_eq!(map["smcd_rx_rmb_usage"], 9);
        assert!(parse_stats(&[], false).is_err());
    }

    #[test]
    fn fback_decoding() {
        let mut msgs = Vec::new();
        let mut m = MsgBuilder::genl(30, 0, 1, SMC_NETLINK_GET_FBACK_STATS, 1);
        m.begin_nest(SMC_GEN_FBACK_STATS)
            .attr_u8(SMC_NLA_FBACK_STATS_TYPE, 1)
            .attr_u64(SMC_NLA_FBACK_STATS_SRV_CNT, 7)
            .attr_u64(SMC_NLA_FBACK_STATS_CLNT_CNT, 6)
            .attr_u32(SMC_NLA_FBACK_STATS_RSN_CODE, 0x0303_0008)
            .attr_u16(SMC_NLA_FBACK_STATS_RSN_CNT, 7)
            .end_nest();
        msgs.push(attrs_of(m));
        let mut m = MsgBuilder::genl(30, 0, 1, SMC_NETLINK_GET_FBACK_STATS, 1);
        m.begin_nest(SMC_GEN_FBACK_STATS)
            .attr_u8(SMC_NLA_FBACK_STATS_TYPE, 0)
            .attr_u32(SMC_NLA_FBACK_STATS_RSN_CODE, 0x0500_0000)
            .attr_u16(SMC_NLA_FBACK_STATS_RSN_CNT, 6)
            .end_nest();
        msgs.push(attrs_of(m));
        let text = format_lines(&parse_fback(&msgs));
        assert_eq!(
            text,
            "fback_srv_cnt 7\nfback_clnt_cnt 6\nfback_clnt 0x05000000 6 PEERDECL\nfback_srv 0x03030008 7 NOUEID\n"
        );
        assert_eq!(
            format_lines(&parse_fback(&[])),
            "fback_srv_cnt 0\nfback_clnt_cnt 0\n"
        );
    }

    #[test]
    fn since_delta() {
        let old = parse_lines(
            "smcd_clnt_v2_succ 10\nfback_srv 0x03030008 2 NOUEID\njunk\nfback_clnt_cnt 5\n",
        );
        assert_eq!(old["fback_srv 0x03030008"], 2);
        assert_eq!(old["smcd_clnt_v2_succ"], 10);
        let now = vec![
            Line::new("smcd_clnt_v2_succ", 61),
            Line::new("fback_clnt_cnt", 3),
            Line {
                key: "fback_srv 0x03030008".into(),
                value: 5,
                note: Some("NOUEID".into()),
            },
            Line {
                key: "fback_clnt 0x03030000".into(),
                value: 1,
                note: Some("NOSMCDEV".into()),
            },
        ];
        assert_eq!(
            format_delta(&now, &old),
            "smcd_clnt_v2_succ 51\nfback_clnt_cnt -2\nfback_srv 0x03030008 3 NOUEID\nfback_clnt 0x03030000 1 NOSMCDEV\n"
        );
    }

    #[test]
    fn device_and_lgr_lines() {
        let mut m = MsgBuilder::genl(30, 0, 1, SMC_NETLINK_GET_DEV_SMCD, 1);
        m.begin_nest(SMC_GEN_DEV_SMCD)
            .attr_u32(1, 2)
            .attr_u8(2, 1)
            .attr_u32(3, 0)
            .attr_u16(4, 0xffff)
            .attr_u16(5, 0x1af4)
            .attr_u16(6, 0x1110)
            .attr_str(7, "0000:00:04.0")
            .begin_nest(8)
            .attr_u8(1, 1)
            .attr_str(2, "NET1            ")
            .end_nest()
            .end_nest();
        assert_eq!(
            format_devices(&[attrs_of(m)]),
            "smcd_dev pci_id=0000:00:04.0 vendor=0x1af4 device=0x1110 chid=0xffff fid=0 pnetid=NET1 pnetid_by_user=1 use_cnt=2 crit=1\nsmcd_devs 1\n"
        );
        let mut m = MsgBuilder::genl(30, 0, 1, SMC_NETLINK_GET_LGR_SMCD, 1);
        m.begin_nest(SMC_GEN_LGR_SMCD)
            .attr_u32(1, 0x01020300)
            .attr_u64(2, 5)
            .attr_u64(3, 6)
            .attr_u8(4, 0)
            .attr_u32(5, 50)
            .attr_str(6, "")
            .attr_u32(7, 0xffff)
            .begin_nest(9)
            .attr_u8(0, 2)
            .attr_u8(1, 1)
            .attr_u8(2, 3)
            .attr_str(3, &pad_eid("SMC-RS").unwrap())
            .attr_str(4, "host")
            .end_nest()
            .end_nest();
        let s = format_lgrs(&[attrs_of(m)]);
        assert!(s.contains("peer_gid=0x0000000000000006"), "{s}");
        assert!(s.contains("chid=0xffff conns=50"), "{s}");
        assert!(
            s.contains("ver=2 rel=1 os=3 neg_eid=SMC-RS peer_host=host"),
            "{s}"
        );
        assert!(s.ends_with("smcd_lgrs 1\n"));
    }

    #[test]
    fn ueid_rule() {
        assert!(ueid_valid("SMC-RS.BENCH1"));
        assert!(ueid_valid(&"A".repeat(32)));
        assert!(ueid_valid("1A"));
        for bad in ["", "-A", ".A", "lower", "A B", "A_B", &"A".repeat(33)] {
            assert!(!ueid_valid(bad), "{bad:?}");
        }
        // A valid EID is what pad_eid leaves alone but for the padding.
        assert_eq!(
            pad_eid("SMC-RS.BENCH1").unwrap(),
            format!("{:<32}", "SMC-RS.BENCH1")
        );
    }

    #[test]
    fn sys_info_seid_and_ueid_decoding() {
        let mut m = MsgBuilder::genl(30, 0, 1, SMC_NETLINK_GET_SYS_INFO, 1);
        m.begin_nest(SMC_GEN_SYS_INFO)
            .attr_u8(1, 2)
            .attr_u8(2, 1)
            .attr_u8(3, 0)
            .attr_str(4, "my host")
            .attr_str(5, "")
            .attr_u8(6, 1)
            .end_nest();
        assert_eq!(
            format_sys_info(&[attrs_of(m)]),
            "smc_ver 2\nsmc_rel 1\nism_v2 0\nlocal_host my_host\nseid -\nsmcr_v2 1\n"
        );
        assert_eq!(format_sys_info(&[]), "");
        let mut m = MsgBuilder::genl(30, 0, 1, SMC_NETLINK_DUMP_SEID, 1);
        m.attr_str(SMC_NLA_SEID_ENTRY, "SEID")
            .attr_u8(SMC_NLA_SEID_ENABLED, 1);
        assert_eq!(parse_seid_enabled(&[attrs_of(m)]), 1);
        assert_eq!(parse_seid_enabled(&[]), 0);
        let mut msgs = Vec::new();
        for e in ["SMC-RS", "X.1"] {
            let mut m = MsgBuilder::genl(30, 0, 1, SMC_NETLINK_DUMP_UEID, 1);
            m.attr_str(SMC_NLA_EID_TABLE_ENTRY, &pad_eid(e).unwrap());
            msgs.push(attrs_of(m));
        }
        assert_eq!(parse_ueids(&msgs), ["SMC-RS", "X.1"]);
    }
}
