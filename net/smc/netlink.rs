// SPDX-License-Identifier: GPL-2.0

//! The generic netlink family `SMC_GEN_NETLINK` (`include/uapi/linux/smc.h`), so that
//! smc-tools (`smcd ueid ...`) steer this module as they steer the C one.
//!
//! Every command of C's family, with C's policies, flags, attributes and errors: the dumps
//! anyone may ask for (`GET_SYS_INFO`, `GET_LGR_SMCD`, `GET_DEV_SMCD`, `GET_STATS`,
//! `GET_FBACK_STATS`, `DUMP_UEID`, `DUMP_SEID`, `DUMP_HS_LIMITATION`; the SMC-R ones answer
//! empty, there is no SMC-R here) and the changes that need `CAP_NET_ADMIN` (`ADD_UEID`,
//! `REMOVE_UEID`, `FLUSH_UEID`, `ENABLE_HS_LIMITATION`, `DISABLE_HS_LIMITATION`, and the SEID
//! switches, which C supports on s390 only: `EOPNOTSUPP` elsewhere). The family is
//! registered without `parallel_ops`, so the generic netlink core runs its requests one at a
//! time (under `genl_mutex`): that serialises the writers of [`crate::ueid::UEIDS`].

use crate::{
    clc::{HOSTNAME_LEN, SMC_RELEASE, SMC_V2},
    lgr::{self, LgrDiag},
    netns,
    ueid::{self, UEIDS},
};
use kernel::{
    bindings,
    net::genl::{self, Attrs, Dump, Family, Handler, Op, Policy, Request, ADMIN_PERM, NLM_F_MULTI},
    prelude::*,
    utsname,
};

/// `SMC_NLA_EID_TABLE_ENTRY`.
const NLA_EID_TABLE_ENTRY: u16 = bindings::SMC_NLA_EID_TABLE_ENTRY as u16;

const GET_SYS_INFO: u8 = bindings::SMC_NETLINK_GET_SYS_INFO as u8;
const GET_LGR_SMCR: u8 = bindings::SMC_NETLINK_GET_LGR_SMCR as u8;
const GET_LINK_SMCR: u8 = bindings::SMC_NETLINK_GET_LINK_SMCR as u8;
const GET_LGR_SMCD: u8 = bindings::SMC_NETLINK_GET_LGR_SMCD as u8;
const GET_DEV_SMCD: u8 = bindings::SMC_NETLINK_GET_DEV_SMCD as u8;
const GET_DEV_SMCR: u8 = bindings::SMC_NETLINK_GET_DEV_SMCR as u8;
const GET_STATS: u8 = bindings::SMC_NETLINK_GET_STATS as u8;
const GET_FBACK_STATS: u8 = bindings::SMC_NETLINK_GET_FBACK_STATS as u8;
const DUMP_UEID: u8 = bindings::SMC_NETLINK_DUMP_UEID as u8;
const ADD_UEID: u8 = bindings::SMC_NETLINK_ADD_UEID as u8;
const REMOVE_UEID: u8 = bindings::SMC_NETLINK_REMOVE_UEID as u8;
const FLUSH_UEID: u8 = bindings::SMC_NETLINK_FLUSH_UEID as u8;
const DUMP_SEID: u8 = bindings::SMC_NETLINK_DUMP_SEID as u8;
const ENABLE_SEID: u8 = bindings::SMC_NETLINK_ENABLE_SEID as u8;
const DISABLE_SEID: u8 = bindings::SMC_NETLINK_DISABLE_SEID as u8;
const DUMP_HS_LIMITATION: u8 = bindings::SMC_NETLINK_DUMP_HS_LIMITATION as u8;
const ENABLE_HS_LIMITATION: u8 = bindings::SMC_NETLINK_ENABLE_HS_LIMITATION as u8;
const DISABLE_HS_LIMITATION: u8 = bindings::SMC_NETLINK_DISABLE_HS_LIMITATION as u8;

/// An attribute number of `include/uapi/linux/smc.h` (bindgen gives them as `u32`).
pub(crate) const fn a(v: u32) -> u16 {
    v as u16
}

/// The requests of the family.
pub(crate) struct SmcGenl;

/// C's `smc_gen_nl_policy`: the one attribute type of the family's own policy is refused.
static FAMILY_POLICY: [Policy; 2] = [Policy::unspec(), Policy::reject()];
/// C's `smc_gen_ueid_policy`.
static UEID_POLICY: [Policy; 2] = [Policy::unspec(), Policy::string(ueid::EID_LEN as u16)];

/// C's `smc_gen_nl_ops`, in its order.
static OPS: [Op; 18] = [
    Op::dump::<SmcGenl>(GET_SYS_INFO, 0),
    Op::dump::<SmcGenl>(GET_LGR_SMCR, 0),
    Op::dump::<SmcGenl>(GET_LINK_SMCR, 0),
    Op::dump::<SmcGenl>(GET_LGR_SMCD, 0),
    Op::dump::<SmcGenl>(GET_DEV_SMCD, 0),
    Op::dump::<SmcGenl>(GET_DEV_SMCR, 0),
    Op::dump::<SmcGenl>(GET_STATS, 0),
    Op::dump::<SmcGenl>(GET_FBACK_STATS, 0),
    Op::dump::<SmcGenl>(DUMP_UEID, 0),
    Op::doit::<SmcGenl>(ADD_UEID, ADMIN_PERM, Some(&UEID_POLICY)),
    Op::doit::<SmcGenl>(REMOVE_UEID, ADMIN_PERM, Some(&UEID_POLICY)),
    Op::doit::<SmcGenl>(FLUSH_UEID, ADMIN_PERM, None),
    Op::dump::<SmcGenl>(DUMP_SEID, 0),
    Op::doit::<SmcGenl>(ENABLE_SEID, ADMIN_PERM, None),
    Op::doit::<SmcGenl>(DISABLE_SEID, ADMIN_PERM, None),
    Op::dump::<SmcGenl>(DUMP_HS_LIMITATION, 0),
    Op::doit::<SmcGenl>(ENABLE_HS_LIMITATION, ADMIN_PERM, None),
    Op::doit::<SmcGenl>(DISABLE_HS_LIMITATION, ADMIN_PERM, None),
];

/// `SMC_GEN_NETLINK`, version 1; commands up to `DISABLE_HS_LIMITATION` are validated
/// leniently, as C's `resv_start_op` says.
pub(crate) static FAMILY: Family = Family::const_new::<SmcGenl>(
    kernel::module::this_module::<crate::LocalModule>(),
    bindings::SMC_GENL_FAMILY_NAME,
    bindings::SMC_GENL_FAMILY_VERSION,
    &FAMILY_POLICY,
    &OPS,
    bindings::SMC_NETLINK_DISABLE_HS_LIMITATION as u8 + 1,
);

impl Handler for SmcGenl {
    const MAXATTR: u16 = 1;

    fn doit(cmd: u8, req: &Request<'_>) -> Result {
        match cmd {
            // The attribute's checks (present, exactly the 32 bytes and the nul) are the
            // table's, in C's order.
            ADD_UEID => UEIDS.update(|t| t.add(req.attr(NLA_EID_TABLE_ENTRY))),
            REMOVE_UEID => UEIDS.update(|t| t.remove(req.attr(NLA_EID_TABLE_ENTRY))),
            FLUSH_UEID => {
                UEIDS.update(|t| {
                    t.flush();
                    Ok(())
                })
            }
            // C switches the SEID on s390 only.
            ENABLE_SEID | DISABLE_SEID => Err(EOPNOTSUPP),
            ENABLE_HS_LIMITATION | DISABLE_HS_LIMITATION => {
                let ns = netns::of(req.net()).ok_or(ENODEV)?;
                ns.settings.set_limit_hs(cmd == ENABLE_HS_LIMITATION);
                Ok(())
            }
            _ => Err(EOPNOTSUPP),
        }
    }

    fn dumpit(cmd: u8, dump: &mut Dump<'_>) -> Result {
        match cmd {
            DUMP_UEID => dump_ueid(dump),
            GET_SYS_INFO => once(dump, |d| d.message(GET_SYS_INFO, NLM_F_MULTI, |m| {
                m.nest(a(bindings::SMC_GEN_SYS_INFO), sys_info)
            })),
            GET_LGR_SMCD => dump_lgrs(dump),
            GET_DEV_SMCD => dump_devices(dump),
            GET_STATS => {
                let ns = netns::of(dump.net()).ok_or(ENODEV)?;
                once(dump, |d| d.message(GET_STATS, NLM_F_MULTI, |m| {
                    m.nest(a(bindings::SMC_GEN_STATS), |m| ns.stats.put_stats(m))
                }))
            }
            GET_FBACK_STATS => {
                let ns = netns::of(dump.net()).ok_or(ENODEV)?;
                ns.stats.dump_fallbacks(dump, GET_FBACK_STATS, a(bindings::SMC_GEN_FBACK_STATS))
            }
            DUMP_SEID => once(dump, |d| d.message(DUMP_SEID, NLM_F_MULTI, |m| {
                if crate::dibs::ism_v2_capable() {
                    // The system EID: all zeroes off s390, so an empty string; never enabled.
                    m.put_string(a(bindings::SMC_NLA_SEID_ENTRY), b"")?;
                    m.put_u8(a(bindings::SMC_NLA_SEID_ENABLED), 0)?;
                }
                Ok(())
            })),
            DUMP_HS_LIMITATION => {
                let ns = netns::of(dump.net()).ok_or(ENODEV)?;
                let on = ns.settings.limit_hs();
                once(dump, |d| d.message(DUMP_HS_LIMITATION, NLM_F_MULTI, |m| {
                    m.put_u8(a(bindings::SMC_NLA_HS_LIMITATION_ENABLED), u8::from(on))
                }))
            }
            // No SMC-R: nothing to list.
            GET_LGR_SMCR | GET_LINK_SMCR | GET_DEV_SMCR => Ok(()),
            _ => Err(EOPNOTSUPP),
        }
    }
}

/// A dump of one message: put by `f` in the first part only (C: `cb_ctx->pos[0]`).
fn once(dump: &mut Dump<'_>, f: impl FnOnce(&mut Dump<'_>) -> Result) -> Result {
    if dump.pos(0) != 0 {
        return Ok(());
    }
    f(dump)?;
    dump.set_pos(0, 1);
    Ok(())
}

/// `s` up to its first nul, as `nla_put_string()` of a C string copy puts it.
fn c_str(s: &[u8]) -> &[u8] {
    s.iter().position(|&b| b == 0).map_or(s, |n| s.get(..n).unwrap_or(s))
}

/// The host name as C's CLC has it (`smc_hostname`: the node name, blank padded).
fn hostname() -> [u8; HOSTNAME_LEN] {
    let mut h = [b' '; HOSTNAME_LEN];
    let n = utsname::nodename();
    for (d, s) in h.iter_mut().zip(c_str(&n)) {
        *d = *s;
    }
    h
}

/// `SMC_GEN_SYS_INFO` (C: `smc_nl_get_sys_info()`).
fn sys_info(m: &mut Attrs<'_>) -> Result {
    let v2 = crate::dibs::ism_v2_capable();
    m.put_u8(a(bindings::SMC_NLA_SYS_VER), SMC_V2)?;
    m.put_u8(a(bindings::SMC_NLA_SYS_REL), SMC_RELEASE)?;
    m.put_u8(a(bindings::SMC_NLA_SYS_IS_ISM_V2), u8::from(v2))?;
    m.put_u8(a(bindings::SMC_NLA_SYS_IS_SMCR_V2), 1)?;
    m.put_string(a(bindings::SMC_NLA_SYS_LOCAL_HOST), c_str(&hostname()))?;
    if v2 {
        // The system EID, all zeroes off s390.
        m.put_string(a(bindings::SMC_NLA_SYS_SEID), b"")?;
    }
    Ok(())
}

/// `GET_LGR_SMCD`: the link groups by device, resumed at position 0 (the device, counting
/// those with groups) and 1 (the group within it), as C's `smc_nl_fill_smcd_dev()`.
fn dump_lgrs(dump: &mut Dump<'_>) -> Result {
    let core = lgr::CORE.get().ok_or(ENODEV)?;
    let groups = core.lgr_diag()?;
    let (skip_dev, skip_lgr) = (dump.pos(0), dump.pos(1));
    let mut dev_num = 0i64;
    let mut i = 0;
    while let Some(first) = groups.get(i) {
        let dev = first.dev;
        let n = groups.iter().skip(i).take_while(|g| g.dev == dev).count();
        if dev_num >= skip_dev {
            let mut num = 0i64;
            for g in groups.iter().skip(i).take(n) {
                if num >= skip_lgr {
                    if let Err(e) = dump.message(GET_LGR_SMCD, NLM_F_MULTI, |m| {
                        m.nest(a(bindings::SMC_GEN_LGR_SMCD), |m| lgr_attrs(m, g))
                    }) {
                        dump.set_pos(1, num);
                        dump.set_pos(0, dev_num);
                        return Err(e);
                    }
                }
                num += 1;
            }
            dump.set_pos(1, num);
        }
        dev_num += 1;
        i += n;
    }
    dump.set_pos(0, dev_num);
    Ok(())
}

fn lgr_attrs(m: &mut Attrs<'_>, g: &LgrDiag) -> Result {
    let pad = a(bindings::SMC_NLA_LGR_D_PAD);
    m.put_u32(a(bindings::SMC_NLA_LGR_D_ID), u32::from_ne_bytes(g.id))?;
    m.put_u64(a(bindings::SMC_NLA_LGR_D_GID), g.my_gid.hi(), pad)?;
    m.put_u64(a(bindings::SMC_NLA_LGR_D_EXT_GID), g.my_gid.lo(), pad)?;
    m.put_u64(a(bindings::SMC_NLA_LGR_D_PEER_GID), g.peer_gid.hi(), pad)?;
    m.put_u64(a(bindings::SMC_NLA_LGR_D_PEER_EXT_GID), g.peer_gid.lo(), pad)?;
    m.put_u8(a(bindings::SMC_NLA_LGR_D_VLAN_ID), 0)?;
    m.put_u32(a(bindings::SMC_NLA_LGR_D_CONNS_NUM), g.conns)?;
    m.put_u32(a(bindings::SMC_NLA_LGR_D_CHID), u32::from(g.chid))?;
    m.put_uint(a(bindings::SMC_NLA_LGR_D_SNDBUF_ALLOC), g.sndbuf_alloc)?;
    m.put_uint(a(bindings::SMC_NLA_LGR_D_DMB_ALLOC), g.dmb_alloc)?;
    m.put_string(a(bindings::SMC_NLA_LGR_D_PNETID), c_str(&g.pnetid))?;
    if g.peer.version > 1 {
        m.nest(a(bindings::SMC_NLA_LGR_D_V2_COMMON), |m| {
            m.put_u8(a(bindings::SMC_NLA_LGR_V2_VER), g.peer.version)?;
            m.put_u8(a(bindings::SMC_NLA_LGR_V2_REL), g.peer.release)?;
            m.put_u8(a(bindings::SMC_NLA_LGR_V2_OS), g.peer.os)?;
            m.put_string(a(bindings::SMC_NLA_LGR_V2_PEER_HOST), c_str(&g.peer.hostname))?;
            m.put_string(a(bindings::SMC_NLA_LGR_V2_NEG_EID), c_str(&g.peer.eid))
        })?;
    }
    Ok(())
}

/// `GET_DEV_SMCD`: the devices other than the loopback one, by list position (C:
/// `smc_nl_prep_smcd_dev()`).
fn dump_devices(dump: &mut Dump<'_>) -> Result {
    let core = lgr::CORE.get().ok_or(ENODEV)?;
    let devs = core.dev_diag()?;
    let skip = dump.pos(0);
    for (i, d) in devs.iter() {
        let i = *i as i64;
        if i < skip {
            continue;
        }
        let r = dump.message(GET_DEV_SMCD, NLM_F_MULTI, |m| {
            m.nest(a(bindings::SMC_GEN_DEV_SMCD), |m| {
                m.put_u32(a(bindings::SMC_NLA_DEV_USE_CNT), d.lgrs)?;
                m.put_u8(a(bindings::SMC_NLA_DEV_IS_CRIT), u8::from(d.lgrs > 0))?;
                // The function and physical channel ids are s390's.
                m.put_u32(a(bindings::SMC_NLA_DEV_PCI_FID), 0)?;
                m.put_u16(a(bindings::SMC_NLA_DEV_PCI_CHID), 0)?;
                let (vendor, device, name) =
                    d.pci.map_or((0, 0, [0u8; 32]), |p| (p.vendor, p.device, p.name));
                m.put_u16(a(bindings::SMC_NLA_DEV_PCI_VENDOR), vendor)?;
                m.put_u16(a(bindings::SMC_NLA_DEV_PCI_DEVICE), device)?;
                m.put_string(a(bindings::SMC_NLA_DEV_PCI_ID), c_str(&name))?;
                m.nest(a(bindings::SMC_NLA_DEV_PORT), |m| {
                    let id = d.pnetid.unwrap_or_default();
                    m.put_u8(a(bindings::SMC_NLA_DEV_PORT_PNET_USR), u8::from(d.pnetid.is_some()))?;
                    m.put_string(a(bindings::SMC_NLA_DEV_PORT_PNETID), c_str(&id))
                })
            })
        });
        if let Err(e) = r {
            dump.set_pos(0, i);
            return Err(e);
        }
    }
    dump.set_pos(0, devs.iter().last().map_or(skip, |(i, _)| (*i as i64 + 1).max(skip)));
    Ok(())
}

/// `DUMP_UEID`.
fn dump_ueid(dump: &mut Dump<'_>) -> Result {
    {
        let table = UEIDS.read();
        let start = usize::try_from(dump.pos(0)).unwrap_or(0);
        for (i, eid) in table.iter().enumerate().skip(start) {
            let r = dump.message(DUMP_UEID, NLM_F_MULTI, |m| m.put_string(NLA_EID_TABLE_ENTRY, eid));
            if r.is_err() {
                dump.set_pos(0, i as i64);
                return r;
            }
        }
        dump.set_pos(0, table.iter().count() as i64);
    }
    Ok(())
}

/// Registers [`FAMILY`].
pub(crate) fn register() -> Result<genl::Registration> {
    FAMILY.register()
}
