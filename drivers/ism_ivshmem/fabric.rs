// SPDX-License-Identifier: GPL-2.0

//! One VM's view of the ism_ivshmem fabric: its slot in the shared region, its DMBs, and the
//! DIBS device operations on top of them.
//!
//! The layout itself (offsets, tokens, GIDs, the granule allocator) is plain Rust in
//! `fabric/src/lib.rs`; `Documentation/ism-ivshmem.md` explains it.
//!
//! # Locking
//!
//! - [`Fabric::dmbs`] (spinlock, "Fabric::dmbs") protects this VM's DMB table and the
//!   allocation of its data area. Held only to pick or release space; the DMB is zeroed and its
//!   descriptor published outside it.
//! - [`Fabric::peers`] (spinlock, "Fabric::peers") protects the GIDs of the peers last seen
//!   alive, which turn into device events when they disappear.
//! - [`Fabric::mbox`] (spinlock, "Fabric::mbox") serialises this VM's posts to peers'
//!   mailboxes (each mailbox has a single sender).
//! - [`Fabric::attached`] (spinlock, "Fabric::attached") protects the table of peers' DMBs
//!   this VM has attached (written into directly), and the attach bits it sets and clears.
//!
//! None nests in another; none is held while calling a DIBS client. They are taken from process
//! context (the doorbell vectors' interrupt threads among it) and soft-interrupt context (the C
//! smc moves data from its tasklets), and the DIBS clients may call in with interrupts off, so
//! they are `SpinLockIrq`s: interrupts are off while one is held.
//!
//! Everything in the shared region is accessed with atomics or copied as bytes: another VM may
//! write any of it at any time, so every value read from it is checked before use.

use crate::{fabric_attach as fa, fabric_layout as fl, regs, Regs};
use fl::Layout;
use kernel::{
    dibs::{self, Attachment, DmbPlacement, DmbRequest, Event, EventType, Gid},
    io::Io,
    new_spinlock_irq, pci,
    prelude::*,
    random,
    sync::{
        atomic::{Acquire, Atomic, Full, Relaxed, Release},
        SpinLockIrq,
    },
    time::{delay::fsleep, Delta},
};

// Every slot must have an attach bit.
const _: () = assert!(fl::NSLOTS <= fa::MAX_ATTACHERS);

/// A DMB this VM registered.
#[derive(Clone, Copy)]
struct Dmb {
    token: u64,
    first: usize,
    count: usize,
    /// Its attach word.
    entry: usize,
}

/// What an attach word of this VM's slot is used for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Entry {
    Free,
    /// A registered DMB's.
    Live,
    /// An unregistered DMB's that peers still have attached: its granules stay taken until
    /// they detach or leave.
    Retired { first: usize, count: usize },
}

/// This VM's DMBs.
struct Dmbs {
    /// Allocation bitmap of the data area, one bit per granule.
    granules: KVec<u64>,
    /// The registered DMBs, by index.
    by_idx: KVec<Option<Dmb>>,
    /// The attach words, by number.
    entries: KVec<Entry>,
    /// How many entries are [`Entry::Retired`].
    retired: usize,
    /// Sequence number of the last token handed out.
    seq: u64,
}

/// A peer's DMB this VM attached.
#[derive(Clone, Copy)]
struct Attached {
    token: u64,
    /// The offset of its attach word in the region.
    word: usize,
    /// How many `attach_dmb` calls hold it. A DIBS client may attach one DMB again before it
    /// detaches it (the C smc does when a new connection reuses a DMB whose older connection
    /// has not let go yet; `dibs_lo` counts attaches too): this VM's attach bit stays set until
    /// the last detach.
    refs: u32,
}

/// One VM's membership of the fabric.
#[pin_data]
pub(crate) struct Fabric {
    shm: pci::MemBar,
    regs: Regs,
    layout: Layout,
    /// This VM's slot.
    slot: usize,
    /// This VM's GID (first half).
    gid: u64,
    /// This VM's ivshmem peer ID.
    peer_id: u16,
    fabric_id: u16,
    /// Whether the ivshmem server keeps the presence bitmap.
    presence: bool,
    #[pin]
    dmbs: SpinLockIrq<Dmbs>,
    #[pin]
    peers: SpinLockIrq<[u64; fl::NSLOTS]>,
    #[pin]
    mbox: SpinLockIrq<()>,
    /// Peers' DMBs attached here, by owner slot and attach word. Unlike a DMB index, which
    /// its owner hands out again once the DMB is unregistered, an attach word is not reused
    /// while this VM's bit is set in it: one record is never mistaken for a later DMB's.
    #[pin]
    attached: SpinLockIrq<KVVec<Option<Attached>>>,
    refused: Refused,
}

/// How many DIBS client requests this VM refused, by operation (debugfs `fabric`). A refused
/// registration or attach is a connection that falls back or fails: worth seeing when a test
/// goes wrong.
struct Refused {
    register: Atomic<u64>,
    attach: Atomic<u64>,
    move_data: Atomic<u64>,
}

/// Runs a DIBS operation, counting it in `n` if it fails.
fn counted<T>(n: &Atomic<u64>, op: impl FnOnce() -> Result<T>) -> Result<T> {
    let r = op();
    if r.is_err() {
        n.add(1, Relaxed);
    }
    r
}

/// Replaces the value `v` of `a` with `f(v)` until that sticks or `f` declines; returns the
/// value `f` last saw and what it made of it.
fn update_u64(a: &Atomic<u64>, mut f: impl FnMut(u64) -> Option<u64>) -> (u64, Option<u64>) {
    let mut cur = a.load(Relaxed);
    loop {
        let Some(new) = f(cur) else {
            return (cur, None);
        };
        match a.cmpxchg(cur, new, Full) {
            Ok(_) => return (cur, Some(new)),
            Err(now) => cur = now,
        }
    }
}

/// Sets `bits` in `a`; returns the old value.
fn fetch_or_u64(a: &Atomic<u64>, bits: u64) -> u64 {
    update_u64(a, |w| Some(w | bits)).0
}

/// Sets `bits` in `a`; returns the old value.
fn fetch_or_u32(a: &Atomic<u32>, bits: u32) -> u32 {
    let mut cur = a.load(Relaxed);
    loop {
        match a.cmpxchg(cur, cur | bits, Full) {
            Ok(old) => return old,
            Err(now) => cur = now,
        }
    }
}

impl Fabric {
    /// Joins the fabric on `shm`: sets the region up if this VM is the first, and claims a slot.
    pub(crate) fn join(
        shm: pci::MemBar,
        regs: Regs,
        peer_id: u16,
    ) -> Result<impl PinInit<Self, Error>> {
        let layout = Layout::new(shm.len()).ok_or(ENOSPC)?;
        let fabric_id = Self::init_header(&shm, &layout)?;
        let presence = shm.atomic_u64(fl::SRV_MAGIC)?.load(Relaxed) == fl::SRV_MAGIC_VALUE;
        if !presence {
            pr_warn!("ism_ivshmem: the ivshmem server keeps no presence table; peers that die go unnoticed\n");
        }

        let n = layout.granules();
        let mut granules = KVec::with_capacity(fl::Granules::words(n), GFP_KERNEL)?;
        granules.resize(fl::Granules::words(n), 0, GFP_KERNEL)?;
        let mut by_idx = KVec::with_capacity(fl::MAX_DMBS, GFP_KERNEL)?;
        by_idx.resize(fl::MAX_DMBS, None, GFP_KERNEL)?;
        let mut entries = KVec::with_capacity(fl::ATTACH_ENTRIES, GFP_KERNEL)?;
        entries.resize(fl::ATTACH_ENTRIES, Entry::Free, GFP_KERNEL)?;
        let mut attached = KVVec::with_capacity(fl::NSLOTS * fl::ATTACH_ENTRIES, GFP_KERNEL)?;
        attached.resize(fl::NSLOTS * fl::ATTACH_ENTRIES, None, GFP_KERNEL)?;

        let (slot, gid) = Self::claim(&shm, &layout, presence, peer_id)?;
        Ok(try_pin_init!(Self {
            shm,
            regs,
            layout,
            slot,
            gid,
            peer_id,
            fabric_id,
            presence,
            dmbs <- new_spinlock_irq!(
                Dmbs { granules, by_idx, entries, retired: 0, seq: random::u64() },
                "Fabric::dmbs"
            ),
            peers <- new_spinlock_irq!([0; fl::NSLOTS], "Fabric::peers"),
            mbox <- new_spinlock_irq!((), "Fabric::mbox"),
            attached <- new_spinlock_irq!(attached, "Fabric::attached"),
            refused: Refused {
                register: Atomic::new(0),
                attach: Atomic::new(0),
                move_data: Atomic::new(0),
            },
        }))
    }

    /// Makes sure the region header is valid, initialising it if nobody has; returns the
    /// fabric ID.
    fn init_header(shm: &pci::MemBar, layout: &Layout) -> Result<u16> {
        let state = shm.atomic_u32(fl::HDR_STATE)?;
        if state.cmpxchg(fl::INIT_NONE, fl::INIT_BUSY, Full).is_ok() {
            let fabric = fl::fabric_id(random::u32());
            shm.atomic_u32(fl::HDR_VERSION)?.store(fl::VERSION, Relaxed);
            shm.atomic_u32(fl::HDR_NSLOTS)?.store(fl::NSLOTS as u32, Relaxed);
            shm.atomic_u32(fl::HDR_MAX_DMBS)?.store(fl::MAX_DMBS as u32, Relaxed);
            shm.atomic_u32(fl::HDR_FABRIC)?.store(fabric.into(), Relaxed);
            shm.atomic_u64(fl::HDR_REGION_SIZE)?.store(layout.region_size as u64, Relaxed);
            shm.atomic_u64(fl::HDR_AREA_OFF)?.store(layout.area_off as u64, Relaxed);
            shm.atomic_u64(fl::HDR_AREA_SIZE)?.store(layout.area_size as u64, Relaxed);
            shm.atomic_u64(fl::HDR_MAGIC)?.store(fl::MAGIC, Relaxed);
            state.store(fl::INIT_DONE, Release);
        }
        // Another VM may be initialising right now: give it two seconds.
        let mut waited = 0;
        while state.load(Acquire) != fl::INIT_DONE {
            if waited >= 200 {
                pr_err!("ism_ivshmem: the shared region's header was never initialised\n");
                return Err(ETIMEDOUT);
            }
            fsleep(Delta::from_millis(10));
            waited += 1;
        }
        let same = shm.atomic_u64(fl::HDR_MAGIC)?.load(Relaxed) == fl::MAGIC
            && shm.atomic_u32(fl::HDR_VERSION)?.load(Relaxed) == fl::VERSION
            && shm.atomic_u32(fl::HDR_NSLOTS)?.load(Relaxed) == fl::NSLOTS as u32
            && shm.atomic_u32(fl::HDR_MAX_DMBS)?.load(Relaxed) == fl::MAX_DMBS as u32
            && shm.atomic_u64(fl::HDR_REGION_SIZE)?.load(Relaxed) == layout.region_size as u64
            && shm.atomic_u64(fl::HDR_AREA_OFF)?.load(Relaxed) == layout.area_off as u64
            && shm.atomic_u64(fl::HDR_AREA_SIZE)?.load(Relaxed) == layout.area_size as u64;
        if !same {
            pr_err!("ism_ivshmem: the shared region has another layout (version, size)\n");
            return Err(EPROTO);
        }
        let fabric = shm.atomic_u32(fl::HDR_FABRIC)?.load(Relaxed);
        match u16::try_from(fabric) {
            Ok(f) if f != 0 && f < 0xff00 => Ok(f),
            _ => Err(EPROTO),
        }
    }

    /// Whether ivshmem peer `peer` is connected, as far as the server says.
    fn present(shm: &pci::MemBar, presence: bool, peer: u32) -> bool {
        if !presence {
            return true;
        }
        let Ok(peer) = u16::try_from(peer) else {
            return false;
        };
        let (off, bit) = fl::presence(peer);
        shm.atomic_u64(off).is_ok_and(|w| w.load(Acquire) & bit != 0)
    }

    /// The GID in `slot` if its owner is on the fabric; frees the slot if the server says its
    /// owner left.
    fn live_gid(shm: &pci::MemBar, layout: &Layout, presence: bool, slot: usize) -> Option<u64> {
        let base = layout.slot(slot);
        let state = shm.atomic_u32(base + fl::SLOT_STATE).ok()?;
        if state.load(Acquire) != fl::SLOT_LIVE {
            return None;
        }
        let owner = shm.atomic_u32(base + fl::SLOT_OWNER).ok()?.load(Relaxed);
        let gid = shm.atomic_u64(base + fl::SLOT_GID).ok()?.load(Relaxed);
        if !Self::present(shm, presence, owner) {
            // Its owner is gone without leaving: free the slot for the next VM.
            let _ = state.cmpxchg(fl::SLOT_LIVE, fl::SLOT_FREE, Full);
            return None;
        }
        Some(gid)
    }

    /// Claims a free slot (freeing those whose owners left), resets it, and goes live.
    fn claim(shm: &pci::MemBar, layout: &Layout, presence: bool, peer: u16) -> Result<(usize, u64)> {
        for slot in 0..fl::NSLOTS {
            let _ = Self::live_gid(shm, layout, presence, slot);
            let base = layout.slot(slot);
            let state = shm.atomic_u32(base + fl::SLOT_STATE)?;
            if state.cmpxchg(fl::SLOT_FREE, fl::SLOT_CLAIMING, Full).is_err() {
                continue;
            }
            // Ours now: nobody may use stale descriptors, signals or mailbox entries.
            for idx in 0..fl::MAX_DMBS {
                shm.atomic_u64(layout.desc(slot, idx) + fl::DESC_TOKEN)?.store(0, Relaxed);
            }
            shm.zero(base + fl::SLOT_SUMMARY, fl::MAX_DMBS / 8)?;
            shm.zero(base + fl::SLOT_ATTACH, fl::ATTACH_ENTRIES * 8)?;
            for sender in 0..fl::NSLOTS {
                let mbox = layout.mbox(slot, sender);
                let head = shm.atomic_u32(mbox + fl::MBOX_HEAD)?.load(Relaxed);
                shm.atomic_u32(mbox + fl::MBOX_TAIL)?.store(head, Relaxed);
            }
            let gid = fl::gid(random::u64(), slot);
            shm.atomic_u32(base + fl::SLOT_OWNER)?.store(peer.into(), Relaxed);
            shm.atomic_u64(base + fl::SLOT_GID)?.store(gid, Relaxed);
            let generation = shm.atomic_u64(base + fl::SLOT_GENERATION)?;
            generation.store(generation.load(Relaxed).wrapping_add(1), Relaxed);
            state.store(fl::SLOT_LIVE, Release);
            return Ok((slot, gid));
        }
        pr_err!("ism_ivshmem: all {} fabric slots are taken\n", fl::NSLOTS);
        Err(EBUSY)
    }

    /// Leaves the fabric: stale tokens die with the slot, and the peers are told.
    pub(crate) fn leave(&self) {
        for idx in 0..fl::MAX_DMBS {
            if let Ok(t) = self.shm.atomic_u64(self.layout.desc(self.slot, idx) + fl::DESC_TOKEN) {
                t.store(0, Relaxed);
            }
        }
        if let Ok(state) = self.shm.atomic_u32(self.layout.slot(self.slot) + fl::SLOT_STATE) {
            state.store(fl::SLOT_FREE, Release);
        }
        for slot in (0..fl::NSLOTS).filter(|&s| s != self.slot) {
            if let Some(owner) = self.owner_if_live(slot) {
                let _ = self.ring(owner, fl::VECTOR_EVENT);
            }
        }
    }

    /// This VM's GID.
    pub(crate) fn gid(&self) -> Gid {
        Gid::from_halves(self.gid, 0)
    }

    /// This VM's slot.
    pub(crate) fn slot(&self) -> usize {
        self.slot
    }

    fn owner_if_live(&self, slot: usize) -> Option<u16> {
        Self::live_gid(&self.shm, &self.layout, self.presence, slot)?;
        let owner = self.shm.atomic_u32(self.layout.slot(slot) + fl::SLOT_OWNER).ok()?;
        u16::try_from(owner.load(Relaxed)).ok()
    }

    /// Rings doorbell `vector` of ivshmem peer `peer`; fails once the device is unbound.
    pub(crate) fn ring(&self, peer: u16, vector: u16) -> Result {
        self.regs
            .try_access_with(|regs| {
                regs.write_reg(regs::DOORBELL::zeroed().with_peer(peer).with_vector(vector))
            })
            .ok_or(ENXIO)
    }

    /// The slot of the live peer with GID `rgid`, and its ivshmem peer ID.
    fn peer(&self, rgid: &Gid) -> Result<(usize, u16)> {
        let slot = fl::gid_slot(rgid.hi()).ok_or(ENETUNREACH)?;
        if rgid.lo() != 0 {
            return Err(ENETUNREACH);
        }
        match Self::live_gid(&self.shm, &self.layout, self.presence, slot) {
            Some(gid) if gid == rgid.hi() => {}
            _ => return Err(ENETUNREACH),
        }
        let owner = self.shm.atomic_u32(self.layout.slot(slot) + fl::SLOT_OWNER)?;
        let owner = u16::try_from(owner.load(Relaxed)).map_err(|_| ENETUNREACH)?;
        if slot != self.slot {
            self.peers.lock()[slot] = rgid.hi();
        }
        Ok((slot, owner))
    }

    /// Hands pending DMB signals of this VM to `deliver(idx, mask)`.
    pub(crate) fn take_signals(&self, mut deliver: impl FnMut(u32, u16)) {
        for word in 0..fl::MAX_DMBS / 64 {
            let (off, _) = self.layout.summary(self.slot, word * 64);
            let Ok(summary) = self.shm.atomic_u64(off) else {
                return;
            };
            let mut bits = summary.xchg(0, Full);
            while bits != 0 {
                let idx = word * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let desc = self.layout.desc(self.slot, idx);
                let Ok(mask) = self.shm.atomic_u32(desc + fl::DESC_MASK) else {
                    continue;
                };
                let mask = mask.xchg(0, Full) as u16;
                if mask != 0 {
                    deliver(idx as u32, mask);
                }
            }
        }
    }

    /// Hands fabric events to `deliver`: peers that left, and software events posted to this
    /// VM's mailboxes.
    pub(crate) fn take_events(&self, mut deliver: impl FnMut(&Event)) {
        let mut gone = [0u64; fl::NSLOTS];
        {
            let mut known = self.peers.lock();
            for slot in (0..fl::NSLOTS).filter(|&s| s != self.slot) {
                let now = Self::live_gid(&self.shm, &self.layout, self.presence, slot).unwrap_or(0);
                if known[slot] != 0 && known[slot] != now {
                    gone[slot] = known[slot];
                }
                known[slot] = now;
            }
        }
        for slot in (0..fl::NSLOTS).filter(|&s| gone[s] != 0) {
            self.forget_attacher(slot);
        }
        for gid in gone.into_iter().filter(|&g| g != 0) {
            deliver(&Event {
                ty: EventType::Device,
                subtype: dibs::subtype::DEV_DISABLED,
                gid: Gid::from_halves(gid, 0),
                buffer_tok: 0,
                time: 0,
                data: 0,
            });
        }

        for sender in 0..fl::NSLOTS {
            let mbox = self.layout.mbox(self.slot, sender);
            let (Ok(head), Ok(tail)) = (
                self.shm.atomic_u32(mbox + fl::MBOX_HEAD),
                self.shm.atomic_u32(mbox + fl::MBOX_TAIL),
            ) else {
                continue;
            };
            let end = head.load(Acquire);
            let mut at = tail.load(Relaxed);
            if end.wrapping_sub(at) > fl::MBOX_LEN {
                // Nonsense from the sender: drop it all.
                tail.store(end, Release);
                continue;
            }
            while at != end {
                let e = Layout::mbox_entry(mbox, at);
                let field = |o| self.shm.atomic_u64(e + o).map(|a| a.load(Relaxed)).unwrap_or(0);
                let code = self.shm.atomic_u32(e + fl::ENTRY_CODE).map(|a| a.load(Relaxed));
                deliver(&Event {
                    ty: EventType::Software,
                    subtype: code.unwrap_or(0),
                    gid: Gid::from_halves(field(fl::ENTRY_GID), 0),
                    buffer_tok: 0,
                    time: 0,
                    data: field(fl::ENTRY_INFO),
                });
                at = at.wrapping_add(1);
            }
            tail.store(at, Release);
        }
    }

    /// Voids the attaches of the peer in `slot`, which left the fabric: the granules of DMBs
    /// only it still had attached can be reused.
    fn forget_attacher(&self, slot: usize) {
        let d = self.dmbs.lock();
        for (entry, _) in d.entries.iter().enumerate().filter(|(_, e)| **e != Entry::Free) {
            if let Ok(w) = self.shm.atomic_u64(self.layout.attach_word(self.slot, entry)) {
                update_u64(w, |w| fa::forget(w, slot));
            }
        }
    }

    /// Frees the granules of retired DMBs nobody has attached any more.
    fn reclaim(&self, d: &mut Dmbs) {
        let n = self.layout.granules();
        for entry in 0..d.entries.len() {
            let Entry::Retired { first, count } = d.entries[entry] else {
                continue;
            };
            let Ok(w) = self.shm.atomic_u64(self.layout.attach_word(self.slot, entry)) else {
                continue;
            };
            if !fa::reclaimable(w.load(Acquire)) {
                continue;
            }
            w.store(0, Relaxed);
            if let Some(mut g) = fl::Granules::attach(&mut d.granules[..], n) {
                g.free(first, count);
            }
            d.entries[entry] = Entry::Free;
            d.retired -= 1;
        }
    }

    /// Usage counts, for debugfs.
    pub(crate) fn usage(&self) -> Usage {
        let mut d = self.dmbs.lock();
        let n = self.layout.granules();
        let dmbs = d.by_idx.iter().filter(|e| e.is_some()).count();
        let retired = d.retired;
        let free_granules =
            fl::Granules::attach(&mut d.granules[..], n).map_or(0, |g| g.free_count());
        drop(d);
        let attached = self.attached.lock().iter().filter(|a| a.is_some()).count();
        let r = &self.refused;
        Usage {
            refused: [
                r.register.load(Relaxed),
                r.attach.load(Relaxed),
                r.move_data.load(Relaxed),
            ],
            dmbs,
            retired,
            free_granules,
            attached,
        }
    }

    /// The ivshmem peer ID.
    pub(crate) fn peer_id(&self) -> u16 {
        self.peer_id
    }
}

/// A peer's DMB as its descriptor describes it, checked ([`Fabric::remote_dmb`]).
struct RemoteDmb {
    t: fl::Token,
    /// The owner's ivshmem peer ID.
    owner: u16,
    /// The descriptor's offset.
    desc: usize,
    /// The DMB's offset in the region.
    start: u64,
    len: u32,
}

impl Fabric {
    /// The DMB `token` of a live VM, registered with this VM as its one allowed writer and
    /// lying inside its owner's area: what must hold before this VM writes into it.
    fn remote_dmb(&self, token: u64) -> Result<RemoteDmb> {
        let t = fl::Token::decode(token).ok_or(EINVAL)?;
        let owner = self.owner_if_live(t.slot).ok_or(ENETUNREACH)?;
        let desc = self.layout.desc(t.slot, t.idx);
        if self.shm.atomic_u64(desc + fl::DESC_TOKEN)?.load(Acquire) != token {
            return Err(EINVAL);
        }
        if self.shm.atomic_u64(desc + fl::DESC_RGID)?.load(Relaxed) != self.gid {
            return Err(EACCES);
        }
        let start = self.shm.atomic_u64(desc + fl::DESC_OFFSET)?.load(Relaxed);
        let len = self.shm.atomic_u32(desc + fl::DESC_LEN)?.load(Relaxed);
        // The descriptor comes from another VM: the DMB must lie in its owner's area.
        if !self.layout.in_area(t.slot, start, len) {
            return Err(EINVAL);
        }
        Ok(RemoteDmb {
            t,
            owner,
            desc,
            start,
            len,
        })
    }
}

/// What [`Fabric::usage`] counts.
pub(crate) struct Usage {
    /// DMBs registered here.
    pub(crate) dmbs: usize,
    /// DMBs unregistered here that peers still have attached.
    pub(crate) retired: usize,
    /// Free granules in this VM's data area.
    pub(crate) free_granules: usize,
    /// Peers' DMBs attached here.
    pub(crate) attached: usize,
    /// Refused `register_dmb`, `attach_dmb` and `move_data` calls.
    pub(crate) refused: [u64; 3],
}

#[vtable]
impl dibs::Driver for Fabric {
    type Memory = pci::MemBar;
    const MAX_DMBS: u16 = fl::MAX_DMBS as u16;

    fn memory(&self) -> &pci::MemBar {
        &self.shm
    }

    fn fabric_id(&self) -> u16 {
        self.fabric_id
    }

    fn query_remote_gid(&self, rgid: &Gid, _vlan: Option<u32>) -> Result {
        self.peer(rgid).map(|_| ())
    }

    fn register_dmb(&self, req: &DmbRequest) -> Result<DmbPlacement> {
        counted(&self.refused.register, || {
            let len = req.len as usize;
            let idx = req.idx as usize;
            if len == 0 || idx >= fl::MAX_DMBS {
                return Err(EINVAL);
            }
            let count = fl::granules_for(len);
            let n = self.layout.granules();
            let (token, first, entry) = {
                let mut d = self.dmbs.lock();
                if d.by_idx[idx].is_some() {
                    return Err(EBUSY);
                }
                if d.retired != 0 {
                    self.reclaim(&mut d);
                }
                // ENOMEM for either: the client may retry with a smaller buffer.
                let entry = d.entries.iter().position(|e| *e == Entry::Free).ok_or(ENOMEM)?;
                let first = fl::Granules::attach(&mut d.granules[..], n)
                    .and_then(|mut g| g.alloc(count))
                    .ok_or(ENOMEM)?;
                d.seq = d.seq.wrapping_add(1);
                let token = fl::Token::encode(self.slot, idx, d.seq);
                d.by_idx[idx] = Some(Dmb {
                    token,
                    first,
                    count,
                    entry,
                });
                d.entries[entry] = Entry::Live;
                (token, first, entry)
            };
            let offset = self.layout.area(self.slot) + first * fl::GRANULE;
            let desc = self.layout.desc(self.slot, idx);
            let publish = || -> Result {
                self.shm.zero(offset, count * fl::GRANULE)?;
                self.shm.atomic_u64(desc + fl::DESC_RGID)?.store(req.rgid.hi(), Relaxed);
                self.shm.atomic_u64(desc + fl::DESC_OFFSET)?.store(offset as u64, Relaxed);
                self.shm.atomic_u32(desc + fl::DESC_LEN)?.store(req.len, Relaxed);
                self.shm.atomic_u32(desc + fl::DESC_MASK)?.store(0, Relaxed);
                self.shm.atomic_u32(desc + fl::DESC_ATTACH)?.store(entry as u32, Relaxed);
                self.shm
                    .atomic_u64(self.layout.attach_word(self.slot, entry))?
                    .store(fa::fresh(token), Relaxed);
                self.shm.atomic_u64(desc + fl::DESC_TOKEN)?.store(token, Release);
                Ok(())
            };
            if let Err(e) = publish() {
                let _ = self.unregister_dmb(token, req.idx);
                return Err(e);
            }
            Ok(DmbPlacement { token, offset })
    })
    }

    fn unregister_dmb(&self, token: u64, idx: u32) -> Result {
        let idx = idx as usize;
        let n = self.layout.granules();
        let mut d = self.dmbs.lock();
        let dmb = match d.by_idx.get(idx) {
            Some(Some(dmb)) if dmb.token == token => *dmb,
            _ => return Err(EINVAL),
        };
        let desc = self.layout.desc(self.slot, idx);
        if let Ok(t) = self.shm.atomic_u64(desc + fl::DESC_TOKEN) {
            t.store(0, Release);
        }
        d.by_idx[idx] = None;
        // Peers that attached the DMB may still write into it: its memory waits for them.
        let word = self.shm.atomic_u64(self.layout.attach_word(self.slot, dmb.entry));
        let retire = match word {
            Ok(w) => {
                let (old, _) = update_u64(w, |w| match fa::retire(w) {
                    fa::Retire::Free(new) | fa::Retire::Defer(new) => Some(new),
                });
                fa::retire(old)
            }
            Err(_) => fa::Retire::Free(0),
        };
        match retire {
            fa::Retire::Free(_) => {
                if let Some(mut g) = fl::Granules::attach(&mut d.granules[..], n) {
                    g.free(dmb.first, dmb.count);
                }
                d.entries[dmb.entry] = Entry::Free;
            }
            fa::Retire::Defer(_) => {
                d.entries[dmb.entry] = Entry::Retired {
                    first: dmb.first,
                    count: dmb.count,
                };
                d.retired += 1;
            }
        }
        Ok(())
    }

    fn move_data(&self, token: u64, idx: u32, signal: bool, offset: u32, data: &[u8]) -> Result {
        counted(&self.refused.move_data, || {
            let RemoteDmb {
                t,
                owner,
                desc,
                start,
                len,
            } = self.remote_dmb(token)?;
            let size = u32::try_from(data.len()).map_err(|_| EINVAL)?;
            if u64::from(offset) + u64::from(size) > u64::from(len) {
                return Err(EINVAL);
            }
            self.shm.write_slice(start as usize + offset as usize, data)?;
            if signal {
                fetch_or_u32(
                    self.shm.atomic_u32(desc + fl::DESC_MASK)?,
                    fl::dmbe_mask(idx).into(),
                );
                let (off, bit) = self.layout.summary(t.slot, t.idx);
                fetch_or_u64(self.shm.atomic_u64(off)?, bit);
                self.ring(owner, fl::VECTOR_SIGNAL)?;
            }
            Ok(())
    })
    }

    fn attach_dmb(&self, token: u64) -> Result<Attachment> {
        counted(&self.refused.attach, || {
            let RemoteDmb {
                t, desc, start, len, ..
            } = self.remote_dmb(token)?;
            let entry = self.shm.atomic_u32(desc + fl::DESC_ATTACH)?.load(Relaxed) as usize;
            // Like the rest of the descriptor, checked before use.
            if entry >= fl::ATTACH_ENTRIES {
                return Err(EINVAL);
            }
            let word = self.layout.attach_word(t.slot, entry);
            let w = self.shm.atomic_u64(word)?;
            let mut attached = self.attached.lock();
            let rec = &mut attached[t.slot * fl::ATTACH_ENTRIES + entry];
            let held = rec.filter(|a| a.token == token && a.word == word);
            // The word still carries this token's sequence number only while the DMB is
            // registered, so the fields read above are this DMB's; once the bit is set, the owner
            // keeps the memory until it is cleared.
            let mut refused = None;
            update_u64(w, |w| match fa::attach(w, token, self.slot) {
                Ok(new) => Some(new),
                Err(e) => {
                    refused = Some(e);
                    None
                }
            });
            *rec = match (refused, held) {
                (None, _) => Some(Attached {
                    token,
                    word,
                    refs: 1,
                }),
                // Attached already, through this record: one more hold on it.
                (Some(fa::AttachError::Busy), Some(a)) => Some(Attached {
                    refs: a.refs.checked_add(1).ok_or(EBUSY)?,
                    ..a
                }),
                // The bit is set but not by an attach this VM remembers.
                (Some(fa::AttachError::Busy), None) => return Err(EBUSY),
                // Unregistered meanwhile (retired words refuse new attaches).
                (Some(fa::AttachError::Stale), _) => return Err(EINVAL),
            };
            Ok(Attachment {
                idx: t.idx as u32,
                offset: start as usize,
                len,
            })
    })
    }

    fn detach_dmb(&self, token: u64) -> Result {
        let t = fl::Token::decode(token).ok_or(EINVAL)?;
        // While the DMB is registered its descriptor names its attach word; after that, look
        // through the owner's words.
        let desc = self.layout.desc(t.slot, t.idx);
        let hint = match self.shm.atomic_u64(desc + fl::DESC_TOKEN)?.load(Acquire) {
            tok if tok == token => {
                Some(self.shm.atomic_u32(desc + fl::DESC_ATTACH)?.load(Relaxed) as usize)
            }
            _ => None,
        };
        let mut attached = self.attached.lock();
        let recs = &mut attached[t.slot * fl::ATTACH_ENTRIES..(t.slot + 1) * fl::ATTACH_ENTRIES];
        let holds = |r: &Option<Attached>| r.is_some_and(|a| a.token == token);
        let at = hint
            .filter(|&e| recs.get(e).is_some_and(holds))
            .or_else(|| recs.iter().position(holds))
            .ok_or(EINVAL)?;
        let rec = &mut recs[at];
        let Some(a) = *rec else {
            return Err(EINVAL);
        };
        if a.refs > 1 {
            *rec = Some(Attached {
                refs: a.refs - 1,
                ..a
            });
            return Ok(());
        }
        *rec = None;
        // If the owner left or moved on meanwhile, there is nothing to clear.
        if let Ok(w) = self.shm.atomic_u64(a.word) {
            update_u64(w, |w| fa::detach(w, token, self.slot));
        }
        Ok(())
    }

    fn add_vlan_id(&self, _vlan: u64) -> Result {
        // VLANs are deprecated for DIBS and mean nothing on this fabric: every VM on it can
        // reach every other. Accepting them is what makes SMC treat the device as SMC-Dv2
        // capable (it registers the reserved VLAN ID to find out).
        Ok(())
    }

    fn del_vlan_id(&self, _vlan: u64) -> Result {
        Ok(())
    }

    fn signal_event(&self, rgid: &Gid, _trigger_irq: bool, code: u32, info: u64) -> Result {
        let (slot, owner) = self.peer(rgid)?;
        let mbox = self.layout.mbox(slot, self.slot);
        {
            let _guard = self.mbox.lock();
            let head = self.shm.atomic_u32(mbox + fl::MBOX_HEAD)?;
            let tail = self.shm.atomic_u32(mbox + fl::MBOX_TAIL)?;
            let at = head.load(Relaxed);
            if at.wrapping_sub(tail.load(Acquire)) >= fl::MBOX_LEN {
                return Err(EAGAIN);
            }
            let e = Layout::mbox_entry(mbox, at);
            self.shm.atomic_u32(e + fl::ENTRY_CODE)?.store(code, Relaxed);
            self.shm.atomic_u64(e + fl::ENTRY_GID)?.store(self.gid, Relaxed);
            self.shm.atomic_u64(e + fl::ENTRY_INFO)?.store(info, Relaxed);
            head.store(at.wrapping_add(1), Release);
        }
        self.ring(owner, fl::VECTOR_EVENT)
    }
}
