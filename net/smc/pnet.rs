// SPDX-License-Identifier: GPL-2.0

//! The pnet table and the generic netlink family `SMC_PNETID` that edits it (`smc_pnet`), as
//! C's `net/smc/smc_pnet.c` has them.
//!
//! Each network namespace has a table of entries, each a PNET ID with the name of a network
//! interface (`ETHNAME`) or, in the initial namespace only, of an IB or SMC-D device
//! (`IBNAME`, with a port). An `IBNAME` entry that names an SMC-D device gives the device its
//! PNET ID "by user" (unless it had one), also when the device comes later; deleting the
//! entry takes it away again. Off s390 no network interface has a PNET ID of its own, so, as
//! in C, a device with a PNET ID is no longer offered in a client's SMC-Dv2 proposal (C offers
//! it only if an interface of the namespace has the same PNET ID), while a server still
//! accepts over it.
//!
//! Entries name devices, they do not hold them: an interface or device that goes, or comes
//! back under the same name, needs no notifier and leaves nothing dangling (C's table holds
//! `net_device` references and has had use-after-free bugs over them). Interface entries
//! matter to SMC-Dv1, which this module does not offer; they are kept and listed as C lists
//! them.
//!
//! Locking: [`PnetTable::entries`] (mutex, "PnetTable::entries") protects a namespace's
//! entries. It is never held with [`crate::lgr::Core::devices`]: what one needs of the other
//! is copied out first. Requests of the family run one at a time (no `parallel_ops`).

use crate::{
    lgr::{self, Core},
    netlink::a,
    netns::{self, Netns},
    pnetid::{self as rules, PnetId, ETHNAME_LEN, IBNAME_LEN, MAX_PORTS, PNETID_LEN},
};
use kernel::{
    bindings,
    net::{
        genl::{self, Attrs, Dump, Family, Handler, Op, Policy, Request, ADMIN_PERM, NLM_F_MULTI},
        socket::Net,
    },
    new_mutex,
    prelude::*,
    sync::Mutex,
};

const GET: u8 = bindings::SMC_PNETID_GET as u8;
const ADD: u8 = bindings::SMC_PNETID_ADD as u8;
const DEL: u8 = bindings::SMC_PNETID_DEL as u8;
const FLUSH: u8 = bindings::SMC_PNETID_FLUSH as u8;

const NAME: u16 = a(bindings::SMC_PNETID_NAME);
const ETHNAME: u16 = a(bindings::SMC_PNETID_ETHNAME);
const IBNAME: u16 = a(bindings::SMC_PNETID_IBNAME);
const IBPORT: u16 = a(bindings::SMC_PNETID_IBPORT);

/// What an entry names.
#[derive(Clone, Copy)]
enum Target {
    /// A network interface.
    Eth([u8; ETHNAME_LEN + 1]),
    /// An IB or SMC-D device and its port.
    Ib([u8; IBNAME_LEN + 1], u8),
}

/// An entry of the table.
#[derive(Clone, Copy)]
struct Entry {
    id: PnetId,
    target: Target,
}

/// The pnet table of one namespace.
#[pin_data]
pub(crate) struct PnetTable {
    /// The entries, in the order they were added.
    #[pin]
    entries: Mutex<KVec<Entry>>,
}

impl PnetTable {
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self { entries <- new_mutex!(KVec::new(), "PnetTable::entries") })
    }

    /// Adds `e` unless an entry of the same kind names the same interface or device: `false`
    /// then (C: `-EEXIST`). The table grows outside its lock.
    fn add(&self, e: Entry) -> Result<bool> {
        let dup = |x: &Entry| match (&x.target, &e.target) {
            (Target::Eth(a), Target::Eth(b)) => rules::names_match(a, b),
            (Target::Ib(a, _), Target::Ib(b, _)) => rules::names_match(a, b),
            _ => false,
        };
        loop {
            let want = {
                let mut entries = self.entries.lock();
                if entries.iter().any(dup) {
                    return Ok(false);
                }
                if entries.push_within_capacity(e).is_ok() {
                    return Ok(true);
                }
                entries.len() * 2 + 8
            };
            let mut bigger = KVec::with_capacity(want, GFP_KERNEL)?;
            let mut entries = self.entries.lock();
            if entries.capacity() < want {
                for x in entries.iter() {
                    // Room for all: `want` is more than there were, and only this request
                    // (requests run one at a time) adds.
                    let _ = bigger.push_within_capacity(*x);
                }
                let old = core::mem::replace(&mut *entries, bigger);
                drop(entries);
                drop(old);
            }
        }
    }

    /// Removes the entries whose PNET ID is `id` (all if `None`); whether any went.
    fn remove(&self, id: Option<&[u8]>) -> bool {
        let mut entries = self.entries.lock();
        let before = entries.len();
        entries.retain(|e| id.is_some_and(|id| !rules::same(&e.id, id)));
        before != entries.len()
    }

    /// The PNET ID of an `IBNAME` entry that names `name` (or `parent`).
    pub(crate) fn device_pnetid(&self, name: &[u8], parent: Option<&[u8]>) -> Option<PnetId> {
        let entries = self.entries.lock();
        entries.iter().find_map(|e| match &e.target {
            Target::Ib(n, _) if rules::names_match(n, name) || parent.is_some_and(|p| rules::names_match(n, p)) => {
                Some(e.id)
            }
            _ => None,
        })
    }

    /// A copy of the entries whose PNET ID is `id` (all if `None`), in order, into `out`
    /// (allocated first: entries added meanwhile may be left out).
    fn snapshot(&self, id: Option<&[u8]>, out: &mut KVec<Entry>) -> Result {
        let n = self.entries.lock().len();
        out.reserve(n, GFP_KERNEL)?;
        let entries = self.entries.lock();
        for e in entries.iter().filter(|e| id.is_none_or(|id| rules::same(&e.id, id))) {
            if out.push_within_capacity(*e).is_err() {
                break;
            }
        }
        Ok(())
    }
}

/// The requests of the family.
struct PnetGenl;

/// C's `smc_pnet_policy`.
static POLICY: [Policy; 5] = [
    Policy::unspec(),
    Policy::nul_string(PNETID_LEN as u16),
    Policy::nul_string(ETHNAME_LEN as u16),
    Policy::nul_string(IBNAME_LEN as u16),
    Policy::u8(),
];

/// C's `smc_pnet_ops`: lenient validation, the changes need `CAP_NET_ADMIN`.
static OPS: [Op; 4] = [
    Op::doit::<PnetGenl>(GET, 0, None).and_dump::<PnetGenl>().lenient(),
    Op::doit::<PnetGenl>(ADD, ADMIN_PERM, None).lenient(),
    Op::doit::<PnetGenl>(DEL, ADMIN_PERM, None).lenient(),
    Op::doit::<PnetGenl>(FLUSH, ADMIN_PERM, None).lenient(),
];

/// `SMC_PNETID`, version 1.
static FAMILY: Family = Family::const_new::<PnetGenl>(
    kernel::module::this_module::<crate::LocalModule>(),
    bindings::SMCR_GENL_FAMILY_NAME,
    bindings::SMCR_GENL_FAMILY_VERSION,
    &POLICY,
    &OPS,
    FLUSH + 1,
);

/// Registers the family.
pub(crate) fn register() -> Result<genl::Registration> {
    FAMILY.register()
}

fn table(net: &Net) -> Result<kernel::sync::Arc<Netns>> {
    netns::of(net).ok_or(ENODEV)
}

impl Handler for PnetGenl {
    const MAXATTR: u16 = bindings::SMC_PNETID_MAX as u16;

    fn doit(cmd: u8, req: &Request<'_>) -> Result {
        let net = req.net();
        let ns = table(net)?;
        let init = net.is_init();
        match cmd {
            ADD => add(&ns.pnet, init, req),
            DEL => {
                let id = req.attr(NAME).ok_or(EINVAL)?;
                let id = rules::nul_terminated(id);
                let mut gone = ns.pnet.remove(Some(id));
                if init {
                    gone |= core().is_some_and(|c| c.clear_user_pnetids(Some(id)));
                }
                if gone { Ok(()) } else { Err(ENOENT) }
            }
            FLUSH => {
                ns.pnet.remove(None);
                if let (true, Some(c)) = (init, core()) {
                    c.clear_user_pnetids(None);
                }
                Ok(())
            }
            GET => {
                let id = rules::nul_terminated(req.attr(NAME).ok_or(EINVAL)?);
                let mut entries = KVec::new();
                ns.pnet.snapshot(Some(id), &mut entries)?;
                req.reply_multi(|r| {
                    for e in entries.iter().filter(|e| init || matches!(e.target, Target::Eth(_))) {
                        r.message(GET, NLM_F_MULTI, |m| put_entry(m, e))?;
                    }
                    Ok(())
                })
            }
            _ => Err(EOPNOTSUPP),
        }
    }

    fn dumpit(_cmd: u8, dump: &mut Dump<'_>) -> Result {
        let net = dump.net();
        let init = net.is_init();
        let ns = table(net)?;
        let mut entries = KVec::new();
        ns.pnet.snapshot(None, &mut entries)?;
        // The position counts every entry, listed or not (as C's `idx`).
        let skip = usize::try_from(dump.pos(0)).unwrap_or(0);
        for (i, e) in entries.iter().enumerate().skip(skip) {
            if !init && !matches!(e.target, Target::Eth(_)) {
                continue;
            }
            if let Err(err) = dump.message(GET, NLM_F_MULTI, |m| put_entry(m, e)) {
                dump.set_pos(0, i as i64);
                return Err(err);
            }
        }
        dump.set_pos(0, entries.len().max(skip) as i64);
        Ok(())
    }
}

fn core() -> Option<kernel::sync::Arc<Core>> {
    lgr::CORE.get()
}

/// C's `smc_pnet_set_nla()`.
fn put_entry(m: &mut Attrs<'_>, e: &Entry) -> Result {
    m.put_string(NAME, rules::nul_terminated(&e.id))?;
    match &e.target {
        Target::Eth(n) => {
            m.put_string(ETHNAME, rules::nul_terminated(n))?;
            m.put_string(IBNAME, b"n/a")?;
            m.put_u8(IBPORT, 0xff)
        }
        Target::Ib(n, port) => {
            m.put_string(ETHNAME, b"n/a")?;
            m.put_string(IBNAME, rules::nul_terminated(n))?;
            m.put_u8(IBPORT, *port)
        }
    }
}

/// C's `smc_pnet_enter()`: the PNET ID must be valid; an interface entry, then (initial
/// namespace only) a device entry. `EEXIST` if neither was new.
fn add(t: &PnetTable, init: bool, req: &Request<'_>) -> Result {
    let id = rules::parse_pnetid(req.attr(NAME).ok_or(EINVAL)?).ok_or(EINVAL)?;
    let mut new_eth = false;
    if let Some(name) = req.attr(ETHNAME) {
        // Off s390 no interface has a PNET ID of its own that would refuse the entry.
        let target = Target::Eth(rules::fixed(name));
        new_eth = t.add(Entry { id, target })?;
    }
    if !init {
        return if new_eth { Ok(()) } else { Err(EEXIST) };
    }
    let mut new_ib = false;
    if let Some(name) = req.attr(IBNAME) {
        let name = rules::trim(rules::nul_terminated(name));
        let port = match req.attr(IBPORT) {
            Some(&[p, ..]) if (1..=MAX_PORTS).contains(&p) => p,
            Some(_) => return Err(EINVAL),
            None => 1,
        };
        // A device with a PNET ID already keeps it, and the entry is not added.
        let applied = core().and_then(|c| c.apply_user_pnetid(name, &id)).unwrap_or(true);
        if applied {
            new_ib = t.add(Entry { id, target: Target::Ib(rules::fixed(name), port) })?;
        }
    }
    if new_eth || new_ib { Ok(()) } else { Err(EEXIST) }
}
