// SPDX-License-Identifier: GPL-2.0

//! The generic netlink family `SMC_GEN_NETLINK` (`include/uapi/linux/smc.h`), so that
//! smc-tools (`smcd ueid ...`) steer this module as they steer the C one.
//!
//! For now the user EID commands: `DUMP_UEID` (anyone), `ADD_UEID`, `REMOVE_UEID`,
//! `FLUSH_UEID` (`CAP_NET_ADMIN`), with C's policies, flags and errors. The family is
//! registered without `parallel_ops`, so the generic netlink core runs its requests one at a
//! time (under `genl_mutex`): that serialises the writers of [`crate::ueid::UEIDS`].

use crate::ueid::{self, UEIDS};
use kernel::{
    bindings,
    net::genl::{self, Dump, Family, Handler, Op, Policy, Request, ADMIN_PERM, NLM_F_MULTI},
    prelude::*,
};

/// `SMC_NLA_EID_TABLE_ENTRY`.
const NLA_EID_TABLE_ENTRY: u16 = bindings::SMC_NLA_EID_TABLE_ENTRY as u16;

const DUMP_UEID: u8 = bindings::SMC_NETLINK_DUMP_UEID as u8;
const ADD_UEID: u8 = bindings::SMC_NETLINK_ADD_UEID as u8;
const REMOVE_UEID: u8 = bindings::SMC_NETLINK_REMOVE_UEID as u8;
const FLUSH_UEID: u8 = bindings::SMC_NETLINK_FLUSH_UEID as u8;

/// The requests of the family.
pub(crate) struct SmcGenl;

/// C's `smc_gen_nl_policy`: the one attribute type of the family's own policy is refused.
static FAMILY_POLICY: [Policy; 2] = [Policy::unspec(), Policy::reject()];
/// C's `smc_gen_ueid_policy`.
static UEID_POLICY: [Policy; 2] = [Policy::unspec(), Policy::string(ueid::EID_LEN as u16)];

static OPS: [Op; 4] = [
    Op::dump::<SmcGenl>(DUMP_UEID, 0),
    Op::doit::<SmcGenl>(ADD_UEID, ADMIN_PERM, Some(&UEID_POLICY)),
    Op::doit::<SmcGenl>(REMOVE_UEID, ADMIN_PERM, Some(&UEID_POLICY)),
    Op::doit::<SmcGenl>(FLUSH_UEID, ADMIN_PERM, None),
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
            _ => Err(EOPNOTSUPP),
        }
    }

    fn dumpit(cmd: u8, dump: &mut Dump<'_>) -> Result {
        if cmd != DUMP_UEID {
            return Err(EOPNOTSUPP);
        }
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
        Ok(())
    }
}

/// Registers [`FAMILY`].
pub(crate) fn register() -> Result<genl::Registration> {
    FAMILY.register()
}
