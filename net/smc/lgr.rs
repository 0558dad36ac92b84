// SPDX-License-Identifier: GPL-2.0

//! SMC-D link groups: the connections between this node and one peer over one DIBS device.
//!
//! A link group is made at a connection's first contact and reused by later connections to
//! the same peer over the same device, as the handshake says (the first contact bit of the
//! Accept and Confirm, C: `smc_conn_create()`): a server reuses one it has with the peer, a
//! client makes one when the server says first contact and must otherwise have one (else the
//! two ends disagree: `SYNCERR`). As in C, a group is matched by device and peer GID only,
//! whichever side made it: both ends share one group per device pair for connections in
//! either direction. The group's id goes in the Accept/Confirm (`linkid`).
//!
//! An idle group (no connection) is kept as long as C keeps one (C: `smc_lgr_schedule_free_work`,
//! 600 s for a server, 610 s for a client, so that a server always forgets first), then no
//! longer reused; it is dropped at the next lookup.
//!
//! A group ends ([`LinkGroup::terminate`]) when its device goes away ([`Core::device_gone`])
//! or the module unloads ([`Core::shutdown`]): every connection is aborted, its DMB
//! unregistered and its hold on the device dropped, so the device's removal can go on.
//!
//! [`CORE`] is the module's SMC-D state, published at module init for the socket calls and
//! work items, which have no other path to it.
//!
//! Locking: [`Core::lgrs`] ("Core::lgrs") → [`LinkGroup::conns`] ("LinkGroup::conns") →
//! `Conn::inner`; nothing is allocated under the first two (vectors are reserved before).

use crate::{conn::Conn, dibs::Entry, dibs::MAX_DEVICES};
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use kernel::{
    alloc::KVVec,
    dibs::{DeviceUser, Dmb, Gid},
    global_arc::GlobalArc,
    new_mutex, new_spinlock_irq, new_work,
    prelude::*,
    sync::{Arc, Mutex, SpinLockIrq},
    time::{Instant, Monotonic},
    workqueue::{self, impl_has_work, Work, WorkItem},
};

/// The software event a node sends the peer when it ends its link groups with it, and which
/// ends the receiver's (C: `ISM_EVENT_CODE_SHUTDOWN`, sent by `smc_ism_signal_shutdown()`).
pub(crate) const EVENT_CODE_SHUTDOWN: u32 = 0x80;
/// `ISM_EVENT_REQUEST` (the `code` of the event's information word).
const EVENT_REQUEST: u16 = 0x0001;
/// `ISM_EVENT_REQUEST_IR`: the event raises an interrupt at the peer.
const EVENT_REQUEST_IR: bool = true;

/// How many peer-gone events wait for [`Core`]'s work at most (more are dropped, with a
/// warning: they come one per vanished peer).
const MAX_GONE: usize = 16;

/// Peers gone, from the device's event path to [`Core`]'s work.
struct Gone {
    n: usize,
    items: [(usize, Gid); MAX_GONE],
}

/// The module's SMC-D state.
pub(crate) static CORE: GlobalArc<Core> = GlobalArc::new();

/// How long an idle link group stays reusable: a server's (C: `SMC_LGR_FREE_DELAY_SERV`),
/// a client's (`SMC_LGR_FREE_DELAY_CLNT`).
const IDLE_KEEP_SERVER_MS: i64 = 600_000;
const IDLE_KEEP_CLIENT_MS: i64 = 610_000;

/// Link group ids step by this (C: `SMC_LGR_NUM_INCR`).
const LGR_NUM_INCR: u32 = 256;

/// The module's SMC-D state: the devices and the link groups.
#[pin_data]
pub(crate) struct Core {
    /// The DIBS devices SMC-D may use, packed at the front in C's list order (see
    /// [`crate::dibs`]).
    #[pin]
    pub(crate) devices: Mutex<[Option<Entry>; MAX_DEVICES]>,
    /// The link groups.
    #[pin]
    lgrs: Mutex<KVVec<Arc<LinkGroup>>>,
    /// The last link group id handed out.
    lgr_num: AtomicU32,
    /// No new link groups: the module is going.
    closing: AtomicBool,
    /// Peers that went away (device events), for `work` ("Core::gone", taken in the device's
    /// event path with interrupts off; nothing is called under it).
    #[pin]
    gone: SpinLockIrq<Gone>,
    /// Ends the link groups of the peers in `gone`.
    #[pin]
    work: Work<Core>,
}

impl_has_work! {
    impl HasWork<Core> for Core { self.work }
}

/// The role of this node in a link group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Client,
    Server,
}

/// The connections with one peer over one device.
#[pin_data]
pub(crate) struct LinkGroup {
    /// The id sent in the Accept/Confirm.
    pub(crate) id: [u8; 4],
    pub(crate) role: Role,
    /// The peer's GID.
    pub(crate) peer_gid: Gid,
    /// The device (`None` once terminated).
    #[pin]
    user: Mutex<Option<DeviceUser>>,
    /// The device's address, to match groups and devices (never dereferenced).
    dev_key: usize,
    #[pin]
    conns: Mutex<Conns>,
    terminated: AtomicBool,
    /// What the handshake told of the peer ("LinkGroup::peer", a leaf).
    #[pin]
    peer: Mutex<PeerInfo>,
}

/// What a link group knows of its peer (C: `lgr->smc_version`, `peer_smc_release`,
/// `peer_os`, `peer_hostname`, `negotiated_eid`), for `SMC_NETLINK_GET_LGR_SMCD`.
#[derive(Clone, Copy)]
pub(crate) struct PeerInfo {
    pub(crate) version: u8,
    pub(crate) release: u8,
    pub(crate) os: u8,
    pub(crate) hostname: [u8; crate::clc::HOSTNAME_LEN],
    pub(crate) eid: [u8; crate::clc::EID_LEN],
}

/// A link group as `SMC_NETLINK_GET_LGR_SMCD` reports it, a snapshot.
pub(crate) struct LgrDiag {
    /// The index of the group's device in the device list.
    pub(crate) dev: usize,
    pub(crate) id: [u8; 4],
    pub(crate) my_gid: Gid,
    pub(crate) peer_gid: Gid,
    pub(crate) chid: u16,
    pub(crate) conns: u32,
    /// Send buffers and DMBs (with their CDC areas) of the connections (C: `alloc_sndbufs`,
    /// `alloc_rmbs`).
    pub(crate) sndbuf_alloc: u64,
    pub(crate) dmb_alloc: u64,
    pub(crate) peer: PeerInfo,
    /// The device's PNET ID (C reports the device's, `lgr->smcd->pnetid`).
    pub(crate) pnetid: crate::pnetid::PnetId,
}

/// An SMC-D device as `SMC_NETLINK_GET_DEV_SMCD` reports it.
pub(crate) struct DevDiag {
    /// Link groups over it (C: `lgr_cnt`).
    pub(crate) lgrs: u32,
    pub(crate) pci: Option<kernel::dibs::PciInfo>,
    /// Its PNET ID (the user's: [`crate::pnet`]).
    pub(crate) pnetid: Option<crate::pnetid::PnetId>,
}

struct Conns {
    list: KVVec<Arc<Conn>>,
    /// The DMBs of connections that ended in an abort, kept registered until the group ends
    /// (room for one per connection is reserved when it joins). The peer does not answer an
    /// abort, so it may still hold such a DMB attached or write into it: its late writes land
    /// here and not in a buffer registered anew, and the loopback device never sees a DMB
    /// unregistered under an attachment of the peer's (which it mishandles: see
    /// `Conn::send_cdc`).
    parked: KVVec<Dmb>,
    /// When the group last became idle.
    idle_since: Option<Instant<Monotonic>>,
}

fn dev_key(user: &DeviceUser) -> usize {
    core::ptr::from_ref(user.device()) as usize
}

impl Core {
    pub(crate) fn new() -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            devices <- new_mutex!([const { None }; MAX_DEVICES], "Core::devices"),
            lgrs <- new_mutex!(KVVec::new(), "Core::lgrs"),
            lgr_num: AtomicU32::new(0),
            closing: AtomicBool::new(false),
            gone <- new_spinlock_irq!(Gone { n: 0, items: [(0, Gid::default()); MAX_GONE] }, "Core::gone"),
            work <- new_work!("Core::work"),
        }? Error)
    }

    /// The peer `gid` of the device `key` is gone (a device event) or ended its link groups
    /// with us (its shutdown event): its groups end, without telling it. Called from the
    /// device's event path (must not sleep): the work does it.
    pub(crate) fn peer_gone(self: &Arc<Self>, key: usize, gid: Gid) {
        let queued = {
            let mut g = self.gone.lock();
            let n = g.n;
            match g.items.get_mut(n) {
                Some(slot) => {
                    *slot = (key, gid);
                    g.n = n + 1;
                    true
                }
                None => false,
            }
        };
        if !queued {
            pr_warn!("smc_rs: too many peer events at once; one is dropped\n");
        }
        // Held by the caller: a reference handed back is never the last one.
        let _ = workqueue::system().enqueue(self.clone());
    }

    /// Ends the groups with the peers in `gone`.
    fn end_gone(&self) {
        loop {
            let item = {
                let mut g = self.gone.lock();
                if g.n == 0 {
                    return;
                }
                g.n -= 1;
                let n = g.n;
                g.items[n]
            };
            let (key, gid) = item;
            let ended = self.take_groups(|g| g.dev_key == key && g.peer_gid == gid);
            for g in ended.iter() {
                g.end(false);
            }
        }
    }

    /// Takes the groups `which` selects out of the list (those that did not fit a vector
    /// stay, to be ended with the device or the module).
    fn take_groups(&self, which: impl Fn(&LinkGroup) -> bool) -> KVVec<Arc<LinkGroup>> {
        let mut lgrs = self.lgrs.lock();
        let mut out = KVVec::new();
        let _ = out.reserve(lgrs.len(), GFP_KERNEL);
        let mut i = 0;
        while i < lgrs.len() {
            if which(&lgrs[i]) && out.len() < out.capacity() {
                if let Ok(g) = lgrs.remove(i) {
                    let _ = out.push_within_capacity(g);
                }
            } else {
                i += 1;
            }
        }
        out
    }

    /// A hold on the device of fabric `chid` (a client offers one device per CHID).
    pub(crate) fn device_user(&self, chid: u16) -> Option<DeviceUser> {
        let devices = self.devices.lock();
        let e = devices.iter().flatten().find(|e| e.offer.chid == chid)?;
        e.dev.user().ok()
    }

    /// The link groups as netlink reports them, by device in list order.
    pub(crate) fn lgr_diag(&self) -> Result<KVVec<LgrDiag>> {
        let groups = self.groups()?;
        let keys = self.device_keys();
        let mut out = KVVec::with_capacity(groups.len(), GFP_KERNEL)?;
        for (dev, key) in keys.iter().enumerate() {
            let Some((key, pnetid)) = *key else { continue };
            for g in groups.iter().filter(|g| g.dev_key == key) {
                if let Some(mut d) = g.diag(dev) {
                    d.pnetid = pnetid;
                    out.push_within_capacity(d).map_err(|_| ENOMEM)?;
                }
            }
        }
        Ok(out)
    }

    /// The devices as netlink reports them (the loopback device is not one of them, as in C):
    /// by list index.
    pub(crate) fn dev_diag(&self) -> Result<KVVec<(usize, DevDiag)>> {
        let groups = self.groups()?;
        let mut out = KVVec::with_capacity(MAX_DEVICES, GFP_KERNEL)?;
        let devices = self.devices.lock();
        for (i, e) in devices.iter().enumerate() {
            let Some(e) = e else { continue };
            if e.loopback {
                continue;
            }
            let key = key_of(&e.dev);
            let lgrs = groups.iter().filter(|g| g.dev_key == key && g.reusable()).count() as u32;
            // Room for every device was made above.
            let _ = out.push_within_capacity((i, DevDiag { lgrs, pci: e.dev.pci_info(), pnetid: e.pnetid }));
        }
        Ok(out)
    }

    /// Gives the device the pnet table names `name` the PNET ID `id` unless it has one (C:
    /// `smc_pnet_apply_smcd()`): `None` if no device has that name, else whether it took it.
    pub(crate) fn apply_user_pnetid(&self, name: &[u8], id: &crate::pnetid::PnetId) -> Option<bool> {
        let mut devices = self.devices.lock();
        let e = devices.iter_mut().flatten().find(|e| e.named(name))?;
        if e.pnetid.is_some() {
            return Some(false);
        }
        e.pnetid = Some(*id);
        let dev = e.dev.clone();
        crate::dibs::OFFERED.publish(&devices[..]);
        drop(devices);
        let id = kernel::str::BStr::from_bytes(crate::pnetid::nul_terminated(id));
        dev_info!(dev.as_dev(), "smc_rs: user defined PNET ID {id} applied\n");
        Some(true)
    }

    /// Takes the user's PNET ID `id` (every one if `None`) from the devices that have it;
    /// whether one had it.
    pub(crate) fn clear_user_pnetids(&self, id: Option<&[u8]>) -> bool {
        let mut devices = self.devices.lock();
        let mut any = false;
        for e in devices.iter_mut().flatten() {
            if let Some(p) = e.pnetid.filter(|p| id.is_none_or(|id| crate::pnetid::same(id, p))) {
                e.pnetid = None;
                any = true;
                let p = kernel::str::BStr::from_bytes(crate::pnetid::nul_terminated(&p));
                dev_info!(e.dev.as_dev(), "smc_rs: user defined PNET ID {p} erased\n");
            }
        }
        if any {
            crate::dibs::OFFERED.publish(&devices[..]);
        }
        any
    }

    /// The device keys and PNET IDs in list order.
    fn device_keys(&self) -> [Option<(usize, crate::pnetid::PnetId)>; MAX_DEVICES] {
        let devices = self.devices.lock();
        let mut keys = [None; MAX_DEVICES];
        for (k, e) in keys.iter_mut().zip(devices.iter()) {
            *k = e.as_ref().map(|e| (key_of(&e.dev), e.pnetid.unwrap_or_default()));
        }
        keys
    }

    /// The link groups, copied out of the list (allocated outside its lock).
    fn groups(&self) -> Result<KVVec<Arc<LinkGroup>>> {
        loop {
            let n = self.lgrs.lock().len();
            let mut v = KVVec::with_capacity(n, GFP_KERNEL)?;
            let lgrs = self.lgrs.lock();
            if lgrs.len() > n {
                continue;
            }
            for g in lgrs.iter() {
                let _ = v.push_within_capacity(g.clone());
            }
            return Ok(v);
        }
    }

    /// The newest connection in the newest link group of `role` that has one, that group and
    /// a hold on its device (for the KUnit cases that play a bad peer).
    #[cfg(CONFIG_KUNIT = "y")]
    pub(crate) fn newest_conn(&self, role: Role) -> Option<(Arc<LinkGroup>, Arc<Conn>, DeviceUser)> {
        let groups = self.groups().ok()?;
        groups.iter().rev().filter(|g| g.role == role).find_map(|g| {
            let c = g.conns.lock().list.last().cloned()?;
            let user = g.user.lock().clone()?;
            Some((g.clone(), c, user))
        })
    }

    /// A hold on the `i`-th device of the list.
    pub(crate) fn device_at(&self, i: usize) -> Option<DeviceUser> {
        let devices = self.devices.lock();
        devices.get(i)?.as_ref()?.dev.user().ok()
    }

    /// The link group for a new connection of `role` with `peer` over `user`'s device:
    /// `first_contact` (client: what the Accept said) makes a new one; otherwise an existing
    /// one is reused (a server makes one if it has none; a client must have one: `None`).
    /// Returns the group and whether it is new.
    pub(crate) fn link_group(
        &self,
        role: Role,
        user: &DeviceUser,
        peer: Gid,
        first_contact: bool,
    ) -> Result<Option<(Arc<LinkGroup>, bool)>> {
        if self.closing.load(Ordering::Acquire) {
            return Err(ENODEV);
        }
        let key = dev_key(user);
        // Allocated before the lock: a new group and room for it in the list.
        let fresh = LinkGroup::new(self, role, user.clone(), peer)?;
        let mut lgrs = self.lgrs.lock();
        lgrs.reserve(1, GFP_KERNEL)?;
        // Forget groups that are gone or idle past their time.
        lgrs.retain(|g| g.reusable());
        if !(role == Role::Client && first_contact) {
            // Either role's group: C matches SMC-D groups by device and peer only
            // (`smcd_lgr_match()`), so a peer that was our client reuses, as our server, the
            // group we made for it.
            let found = lgrs.iter().find(|g| g.dev_key == key && g.peer_gid == peer);
            if let Some(g) = found {
                return Ok(Some((g.clone(), false)));
            }
            if role == Role::Client {
                return Ok(None);
            }
        }
        lgrs.push_within_capacity(fresh.clone()).map_err(|_| ENOMEM)?;
        Ok(Some((fresh, true)))
    }

    /// Drops `lgr`, made for a first contact whose handshake then failed (C:
    /// `smc_lgr_cleanup_early()`): the peer never learnt of it, so it must not be reused.
    pub(crate) fn discard(&self, lgr: &Arc<LinkGroup>) {
        let gone = {
            let mut lgrs = self.lgrs.lock();
            lgrs.iter().position(|g| Arc::ptr_eq(g, lgr)).and_then(|i| lgrs.remove(i).ok())
        };
        if let Some(g) = gone {
            g.terminate();
        }
    }

    /// Ends `groups` (taken out of the list) as the module's exit does: every connection
    /// detaches first (for the KUnit cases that play a bad peer).
    #[cfg(CONFIG_KUNIT = "y")]
    pub(crate) fn end_groups(&self, groups: &[Arc<LinkGroup>]) {
        self.lgrs.lock().retain(|g| !groups.iter().any(|x| Arc::ptr_eq(g, x)));
        end_all(groups);
    }

    /// The device behind `key` is going: ends its link groups.
    pub(crate) fn device_gone(&self, key: usize) {
        let gone = self.take_groups(|g| g.dev_key == key);
        end_all(&gone);
    }

    /// The module is going: no new groups, and every group ends.
    pub(crate) fn shutdown(&self) {
        self.closing.store(true, Ordering::Release);
        let all = core::mem::take(&mut *self.lgrs.lock());
        end_all(&all);
    }
}

/// Ends `groups`: first every connection lets go of its attached peer DMB, then the groups
/// end and the DMBs are unregistered (the peers of loopback connections are ours too: see
/// `Conn::send_cdc` for why detaches go first).
fn end_all(groups: &[Arc<LinkGroup>]) {
    for g in groups {
        g.detach_remotes();
    }
    for g in groups {
        g.terminate();
    }
}

impl WorkItem for Core {
    type Pointer = Arc<Core>;

    fn run(this: Arc<Core>) {
        this.end_gone();
    }
}

/// The key [`Core::device_gone`] takes for a device.
pub(crate) fn key_of(dev: &kernel::dibs::Device) -> usize {
    core::ptr::from_ref(dev) as usize
}

impl LinkGroup {
    fn new(core: &Core, role: Role, user: DeviceUser, peer_gid: Gid) -> Result<Arc<Self>> {
        let num = core.lgr_num.fetch_add(LGR_NUM_INCR, Ordering::Relaxed).wrapping_add(LGR_NUM_INCR);
        let dev_key = dev_key(&user);
        Arc::pin_init(
            try_pin_init!(Self {
                id: num.to_ne_bytes(),
                role,
                peer_gid,
                user <- new_mutex!(Some(user), "LinkGroup::user"),
                dev_key,
                conns <- new_mutex!(
                    Conns { list: KVVec::new(), parked: KVVec::new(), idle_since: Some(Instant::now()) },
                    "LinkGroup::conns"
                ),
                terminated: AtomicBool::new(false),
                peer <- new_mutex!(
                    PeerInfo {
                        version: crate::clc::SMC_V2,
                        release: 0,
                        os: 0,
                        hostname: [0; crate::clc::HOSTNAME_LEN],
                        eid: [0; crate::clc::EID_LEN],
                    },
                    "LinkGroup::peer"
                ),
            }? Error),
            GFP_KERNEL,
        )
    }

    /// Whether a new connection may still join the group.
    fn reusable(&self) -> bool {
        if self.terminated.load(Ordering::Acquire) {
            return false;
        }
        let c = self.conns.lock();
        let keep = match self.role {
            Role::Server => IDLE_KEEP_SERVER_MS,
            Role::Client => IDLE_KEEP_CLIENT_MS,
        };
        match c.idle_since {
            Some(t) if c.list.is_empty() => t.elapsed().as_millis() < keep,
            _ => true,
        }
    }

    /// Takes note of what a first contact's handshake told of the peer (C:
    /// `smc_conn_save_peer_info_fce()`).
    pub(crate) fn set_peer(&self, p: &crate::negotiate::PeerInfo) {
        let mut g = self.peer.lock();
        g.release = p.release;
        g.os = p.os_type;
        if let Some(h) = p.hostname {
            g.hostname = h;
        }
        g.eid = p.eid;
    }

    /// The group as netlink reports it (without its device's PNET ID, which the device list
    /// has); `None` once it ended or is no longer reusable.
    fn diag(&self, dev: usize) -> Option<LgrDiag> {
        if !self.reusable() {
            return None;
        }
        let (my_gid, chid) = {
            let u = self.user.lock();
            let d = u.as_ref()?.device();
            (d.gid(), d.fabric_id())
        };
        let (conns, sndbuf_alloc, dmb_alloc) = {
            let c = self.conns.lock();
            let (s, d) = c.list.iter().fold((0u64, 0u64), |(s, d), x| {
                let (xs, xd) = x.buf_sizes();
                (s + u64::from(xs), d + u64::from(xd))
            });
            (c.list.len() as u32, s, d)
        };
        let peer = *self.peer.lock();
        let pnetid = Default::default();
        Some(LgrDiag { dev, id: self.id, my_gid, peer_gid: self.peer_gid, chid, conns, sndbuf_alloc, dmb_alloc, peer, pnetid })
    }

    /// Adds `conn` to the group.
    pub(crate) fn add(&self, conn: Arc<Conn>) -> Result {
        let mut c = self.conns.lock();
        if self.terminated.load(Ordering::Acquire) {
            return Err(ECONNABORTED);
        }
        c.list.reserve(1, GFP_KERNEL)?;
        // Room to park every live connection's DMB.
        let live = c.list.len() + 1;
        c.parked.reserve(live, GFP_KERNEL)?;
        c.list.push_within_capacity(conn).map_err(|_| ENOMEM)?;
        c.idle_since = None;
        Ok(())
    }

    /// Takes `conn` out of the group (its connection ended), keeping `park` (its DMB, after
    /// an abort) registered until the group ends.
    pub(crate) fn remove(&self, conn: &Conn, park: Option<Dmb>) {
        let (gone, unparked) = {
            let mut c = self.conns.lock();
            // `end` takes the parked DMBs under this lock after it set `terminated`.
            let unparked = match park {
                Some(d) if !self.terminated.load(Ordering::Acquire) => {
                    c.parked.push_within_capacity(d).err().map(|e| e.0)
                }
                d => d,
            };
            let gone = c
                .list
                .iter()
                .position(|x| core::ptr::eq(&**x, conn))
                .and_then(|i| c.list.remove(i).ok());
            if c.list.is_empty() {
                c.idle_since = Some(Instant::now());
            }
            (gone, unparked)
        };
        // The last reference may go here, outside the lock.
        drop(unparked);
        drop(gone);
    }

    /// Its connections let go of their attached peer DMBs. Takes [`Conn`]'s lock under the
    /// group's `conns` lock (the only nesting of the two; a connection never takes `conns`
    /// with its own lock held).
    fn detach_remotes(&self) {
        let conns = self.conns.lock();
        for c in conns.list.iter() {
            c.detach_remote();
        }
    }

    /// Ends the group: every connection is aborted and lets go of the device; the peer is
    /// told (its groups with us end too, as C's `smc_ism_signal_shutdown()` tells it).
    pub(crate) fn terminate(&self) {
        self.end(true);
    }

    /// Ends the group, telling the peer if `tell` (else the peer is gone or told us).
    fn end(&self, tell: bool) {
        let err = if tell { ECONNABORTED } else { ECONNRESET };
        if self.terminated.swap(true, Ordering::AcqRel) {
            return;
        }
        let (conns, parked) = {
            let mut c = self.conns.lock();
            (core::mem::take(&mut c.list), core::mem::take(&mut c.parked))
        };
        for c in conns.iter() {
            c.terminate(err);
        }
        drop(conns);
        drop(parked);
        let user = self.user.lock().take();
        if let (true, Some(u)) = (tell, user.as_ref()) {
            // `union smcd_sw_event_info`: the group id, the VLAN (none), the code.
            let [a, b, c, d] = self.id;
            let [e, f] = 0u16.to_ne_bytes();
            let [g, h] = EVENT_REQUEST.to_ne_bytes();
            let info = u64::from_ne_bytes([a, b, c, d, e, f, g, h]);
            // Devices without the operation (the loopback device) need no telling.
            let _ = u.signal_event(&self.peer_gid, EVENT_REQUEST_IR, EVENT_CODE_SHUTDOWN, info);
        }
        drop(user);
    }
}
