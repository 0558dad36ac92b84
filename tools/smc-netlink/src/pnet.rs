//! The C smc module's `SMC_PNETID` generic netlink family
//! (`net/smc/smc_pnet.h`): the PNET table, which says which net devices and
//! IB or ISM (dibs) devices share a physical network (a PNETID).

use crate::netlink::{Attr, AttrIter, Genl, NlError, OpenError, GENL_HDRLEN};
use crate::smc::{get_s, get_u};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// `SMCR_GENL_FAMILY_NAME`.
pub const SMCR_GENL_FAMILY_NAME: &str = "SMC_PNETID";
/// `SMC_MAX_PNETID_LEN`.
pub const SMC_MAX_PNETID_LEN: usize = 16;

// SMC_PNETID family.
pub const SMC_PNETID_GET: u8 = 1;
pub const SMC_PNETID_ADD: u8 = 2;
pub const SMC_PNETID_DEL: u8 = 3;
pub const SMC_PNETID_FLUSH: u8 = 4;
pub const SMC_PNETID_NAME: u16 = 1;
pub const SMC_PNETID_ETHNAME: u16 = 2;
pub const SMC_PNETID_IBNAME: u16 = 3;
pub const SMC_PNETID_IBPORT: u16 = 4;

/// What a PNET table entry names: a net device and/or an IB or ISM (dibs) device.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PnetTarget {
    pub eth: Option<String>,
    pub ib: Option<String>,
    pub ib_port: Option<u8>,
}

/// Decodes the `SMC_PNETID_GET` dump, one line per entry:
/// `pnet PNETID eth=NETDEV ib=DEV port=N` (`-` for no device).
pub fn format_entries(msgs: &[Vec<u8>]) -> String {
    let mut s = String::new();
    for m in msgs {
        let m: BTreeMap<u16, Attr<'_>> = AttrIter::new(m).map(|a| (a.ty, a)).collect();
        writeln!(
            s,
            "pnet {} eth={} ib={} port={}",
            get_s(&m, SMC_PNETID_NAME),
            get_s(&m, SMC_PNETID_ETHNAME),
            get_s(&m, SMC_PNETID_IBNAME),
            get_u(&m, SMC_PNETID_IBPORT)
        )
        .unwrap();
    }
    s
}

/// A client of the `SMC_PNETID` family.
pub struct Pnet {
    genl: Genl,
}

impl Pnet {
    /// Resolves the family ([`Genl::open`]; the kernel autoloads the C smc).
    pub fn open() -> Result<Pnet, OpenError> {
        Genl::open(SMCR_GENL_FAMILY_NAME).map(|genl| Pnet { genl })
    }

    /// `SMC_PNETID_ADD`: `pnetid` for the devices of `target` (the IB port
    /// only goes with an IB device).
    pub fn add(&mut self, pnetid: &str, target: &PnetTarget) -> Result<(), NlError> {
        self.genl
            .command(SMC_PNETID_ADD, |m| {
                m.attr_str(SMC_PNETID_NAME, pnetid);
                if let Some(e) = &target.eth {
                    m.attr_str(SMC_PNETID_ETHNAME, e);
                }
                if let Some(i) = &target.ib {
                    m.attr_str(SMC_PNETID_IBNAME, i);
                    if let Some(p) = target.ib_port {
                        m.attr_u8(SMC_PNETID_IBPORT, p);
                    }
                }
            })
            .map(drop)
    }

    /// `SMC_PNETID_DEL`: every entry of `pnetid`.
    pub fn del(&mut self, pnetid: &str) -> Result<(), NlError> {
        self.genl
            .command(SMC_PNETID_DEL, |m| {
                m.attr_str(SMC_PNETID_NAME, pnetid);
            })
            .map(drop)
    }

    /// `SMC_PNETID_FLUSH`: empties the table.
    pub fn flush(&mut self) -> Result<(), NlError> {
        self.genl.command(SMC_PNETID_FLUSH, |_| {}).map(drop)
    }

    /// The `SMC_PNETID_GET` dump (decode with [`format_entries`]).
    pub fn dump(&mut self) -> Result<Vec<Vec<u8>>, NlError> {
        self.genl.dump(SMC_PNETID_GET)
    }

    /// `SMC_PNETID_GET` as a request: the entries of `pnetid`, which the kernel sends as
    /// a multi-part reply (decode with [`format_entries`]).
    pub fn get(&mut self, pnetid: &str) -> Result<Vec<Vec<u8>>, NlError> {
        let family = self.genl.family;
        let replies = self.genl.command(SMC_PNETID_GET, |m| {
            m.attr_str(SMC_PNETID_NAME, pnetid);
        })?;
        Ok(replies
            .into_iter()
            .filter(|r| r.hdr.ty == family)
            .map(|r| r.payload.get(GENL_HDRLEN..).unwrap_or(&[]).to_vec())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::{MsgBuilder, NLMSG_HDRLEN};

    #[test]
    fn entry_lines() {
        let mut m = MsgBuilder::genl(30, 0, 1, SMC_PNETID_GET, 1);
        m.attr_str(SMC_PNETID_NAME, "NET1")
            .attr_str(SMC_PNETID_ETHNAME, "eth0")
            .attr_str(SMC_PNETID_IBNAME, "")
            .attr_u8(SMC_PNETID_IBPORT, 0);
        let a = m.finish()[NLMSG_HDRLEN + GENL_HDRLEN..].to_vec();
        let mut m = MsgBuilder::genl(30, 0, 1, SMC_PNETID_GET, 1);
        m.attr_str(SMC_PNETID_NAME, "NET2")
            .attr_str(SMC_PNETID_IBNAME, "0000:00:04.0")
            .attr_u8(SMC_PNETID_IBPORT, 1);
        let b = m.finish()[NLMSG_HDRLEN + GENL_HDRLEN..].to_vec();
        assert_eq!(
            format_entries(&[a, b]),
            "pnet NET1 eth=eth0 ib=- port=0\npnet NET2 eth=- ib=0000:00:04.0 port=1\n"
        );
        assert_eq!(format_entries(&[]), "");
    }
}
