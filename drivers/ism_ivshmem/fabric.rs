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
//!
//! None nests in another; none is held while calling a DIBS client. They are taken from process,
//! soft-interrupt and hard-interrupt context, so they are `SpinLockIrq`s: interrupts are off
//! while one is held.
//!
//! Everything in the shared region is accessed with atomics or copied as bytes: another VM may
//! write any of it at any time, so every value read from it is checked before use.

use crate::{fabric_layout as fl, regs, Regs};
use fl::Layout;
use kernel::{
    dibs::{self, DmbPlacement, DmbRequest, Event, EventType, Gid},
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

/// A DMB this VM registered.
#[derive(Clone, Copy)]
struct Dmb {
    token: u64,
    first: usize,
    count: usize,
}

/// This VM's DMBs.
struct Dmbs {
    /// Allocation bitmap of the data area, one bit per granule.
    granules: KVec<u64>,
    /// The registered DMBs, by index.
    by_idx: KVec<Option<Dmb>>,
    /// Sequence number of the last token handed out.
    seq: u64,
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
}

/// Sets `bits` in `a`; returns the old value.
fn fetch_or_u64(a: &Atomic<u64>, bits: u64) -> u64 {
    let mut cur = a.load(Relaxed);
    loop {
        match a.cmpxchg(cur, cur | bits, Full) {
            Ok(old) => return old,
            Err(now) => cur = now,
        }
    }
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
            dmbs <- new_spinlock_irq!(Dmbs { granules, by_idx, seq: random::u64() }, "Fabric::dmbs"),
            peers <- new_spinlock_irq!([0; fl::NSLOTS], "Fabric::peers"),
            mbox <- new_spinlock_irq!((), "Fabric::mbox"),
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

    /// Registered DMBs and free granules, for debugfs.
    pub(crate) fn usage(&self) -> (usize, usize) {
        let mut d = self.dmbs.lock();
        let n = self.layout.granules();
        let used = d.by_idx.iter().filter(|e| e.is_some()).count();
        let free = fl::Granules::attach(&mut d.granules[..], n).map_or(0, |g| g.free_count());
        (used, free)
    }

    /// The ivshmem peer ID.
    pub(crate) fn peer_id(&self) -> u16 {
        self.peer_id
    }
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
        let len = req.len as usize;
        let idx = req.idx as usize;
        if len == 0 || idx >= fl::MAX_DMBS {
            return Err(EINVAL);
        }
        let count = fl::granules_for(len);
        let n = self.layout.granules();
        let (token, first) = {
            let mut d = self.dmbs.lock();
            if d.by_idx[idx].is_some() {
                return Err(EBUSY);
            }
            let first = fl::Granules::attach(&mut d.granules[..], n)
                .and_then(|mut g| g.alloc(count))
                // ENOMEM: the client may retry with a smaller buffer.
                .ok_or(ENOMEM)?;
            d.seq = d.seq.wrapping_add(1);
            let token = fl::Token::encode(self.slot, idx, d.seq);
            d.by_idx[idx] = Some(Dmb {
                token,
                first,
                count,
            });
            (token, first)
        };
        let offset = self.layout.area(self.slot) + first * fl::GRANULE;
        let desc = self.layout.desc(self.slot, idx);
        let publish = || -> Result {
            self.shm.zero(offset, count * fl::GRANULE)?;
            self.shm.atomic_u64(desc + fl::DESC_RGID)?.store(req.rgid.hi(), Relaxed);
            self.shm.atomic_u64(desc + fl::DESC_OFFSET)?.store(offset as u64, Relaxed);
            self.shm.atomic_u32(desc + fl::DESC_LEN)?.store(req.len, Relaxed);
            self.shm.atomic_u32(desc + fl::DESC_MASK)?.store(0, Relaxed);
            self.shm.atomic_u64(desc + fl::DESC_TOKEN)?.store(token, Release);
            Ok(())
        };
        if let Err(e) = publish() {
            let _ = self.unregister_dmb(token, req.idx);
            return Err(e);
        }
        Ok(DmbPlacement { token, offset })
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
        if let Some(mut g) = fl::Granules::attach(&mut d.granules[..], n) {
            g.free(dmb.first, dmb.count);
        }
        d.by_idx[idx] = None;
        Ok(())
    }

    fn move_data(&self, token: u64, idx: u32, signal: bool, offset: u32, data: &[u8]) -> Result {
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
