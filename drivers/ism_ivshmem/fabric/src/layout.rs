// SPDX-License-Identifier: GPL-2.0

//! The layout of the shared region; see the crate documentation.

/// `"ISMIVF01"`, read as a little-endian `u64`.
pub const MAGIC: u64 = u64::from_le_bytes(*b"ISMIVF01");
/// The layout version; VMs with different versions refuse to share a region.
pub const VERSION: u32 = 2;

/// Header: `u64` magic.
pub const HDR_MAGIC: usize = 0x00;
/// Header: `u32` initialisation state ([`INIT_NONE`], [`INIT_BUSY`], [`INIT_DONE`]).
pub const HDR_STATE: usize = 0x08;
/// Header: `u32` [`VERSION`].
pub const HDR_VERSION: usize = 0x0c;
/// Header: `u32` number of slots.
pub const HDR_NSLOTS: usize = 0x10;
/// Header: `u32` DMBs per slot.
pub const HDR_MAX_DMBS: usize = 0x14;
/// Header: `u32` fabric ID (16 bits used).
pub const HDR_FABRIC: usize = 0x18;
/// Header: `u64` region size the layout was made for.
pub const HDR_REGION_SIZE: usize = 0x20;
/// Header: `u64` offset of the first data area.
pub const HDR_AREA_OFF: usize = 0x28;
/// Header: `u64` size of each data area.
pub const HDR_AREA_SIZE: usize = 0x30;

/// Nobody has initialised the header yet (a fresh region is all zero).
pub const INIT_NONE: u32 = 0;
/// A VM is initialising the header.
pub const INIT_BUSY: u32 = 1;
/// The header is valid.
pub const INIT_DONE: u32 = 2;

/// Server word: `u64` magic, present if the server maintains the presence bitmap.
pub const SRV_MAGIC: usize = 0x800;
/// The server's magic: `"1IVSVPR1"` read as a little-endian `u64`.
pub const SRV_MAGIC_VALUE: u64 = 0x3152_5056_5356_4931;
/// Server word: `u64` epoch, bumped on every presence change.
pub const SRV_EPOCH: usize = 0x808;
/// The presence bitmap: bit `p` of the `u64` word `p / 64` is set while ivshmem peer `p` is
/// connected to the server.
pub const PRESENCE: usize = 0x1000;

/// Number of slots, i.e. of VMs that can be on one fabric at a time.
pub const NSLOTS: usize = 4;
/// DMBs each VM can register.
pub const MAX_DMBS: usize = 1024;
/// Allocation unit of a data area.
pub const GRANULE: usize = 4096;
/// Offset of slot 0.
pub const SLOTS_OFF: usize = 0x4000;
/// Size of one slot.
pub const SLOT_SIZE: usize = 0xd000;
/// Data areas start at a multiple of this.
pub const AREA_ALIGN: usize = 1 << 20;

/// Slot: `u32` state ([`SLOT_FREE`], [`SLOT_CLAIMING`], [`SLOT_LIVE`]).
pub const SLOT_STATE: usize = 0x00;
/// Slot: `u32` ivshmem peer ID of the owner.
pub const SLOT_OWNER: usize = 0x04;
/// Slot: `u64` the owner's GID (first half; the second half is zero).
pub const SLOT_GID: usize = 0x08;
/// Slot: `u64` generation, bumped on every claim.
pub const SLOT_GENERATION: usize = 0x10;
/// Slot: the signal summary, `MAX_DMBS / 64` `u64` words.
pub const SLOT_SUMMARY: usize = 0x40;
/// Slot: the mailboxes.
pub const SLOT_MBOX: usize = 0x100;
/// Slot: the DMB descriptors.
pub const SLOT_DESC: usize = 0x1000;
/// Slot: the attach words, [`ATTACH_ENTRIES`] `u64`s (see the `attach` module).
pub const SLOT_ATTACH: usize = 0xb000;
/// Attach words per slot: one per DMB, plus those of retired DMBs a peer still has attached.
pub const ATTACH_ENTRIES: usize = MAX_DMBS;

/// The slot is free.
pub const SLOT_FREE: u32 = 0;
/// A VM is claiming the slot.
pub const SLOT_CLAIMING: u32 = 1;
/// The slot's owner is on the fabric.
pub const SLOT_LIVE: u32 = 2;

/// Size of one mailbox.
pub const MBOX_SIZE: usize = 0x200;
/// Mailbox: `u32` head, written by the sender.
pub const MBOX_HEAD: usize = 0x00;
/// Mailbox: `u32` tail, written by the receiver.
pub const MBOX_TAIL: usize = 0x04;
/// Mailbox: the entries.
pub const MBOX_ENTRIES: usize = 0x20;
/// Entries per mailbox.
pub const MBOX_LEN: u32 = 8;
/// Size of one mailbox entry.
pub const MBOX_ENTRY_SIZE: usize = 0x20;
/// Entry: `u32` event code.
pub const ENTRY_CODE: usize = 0x00;
/// Entry: `u64` sender GID.
pub const ENTRY_GID: usize = 0x08;
/// Entry: `u64` event data.
pub const ENTRY_INFO: usize = 0x10;

/// Size of one DMB descriptor.
pub const DESC_SIZE: usize = 0x28;
/// Descriptor: `u64` token, zero while the descriptor is unused.
pub const DESC_TOKEN: usize = 0x00;
/// Descriptor: `u64` GID of the only VM allowed to write the DMB.
pub const DESC_RGID: usize = 0x08;
/// Descriptor: `u64` offset of the DMB in the region.
pub const DESC_OFFSET: usize = 0x10;
/// Descriptor: `u32` length of the DMB.
pub const DESC_LEN: usize = 0x18;
/// Descriptor: `u32` pending signal mask (16 bits used).
pub const DESC_MASK: usize = 0x1c;
/// Descriptor: `u32` number of the DMB's attach word in the owner's slot.
pub const DESC_ATTACH: usize = 0x20;

/// The doorbell vector for DMB signals.
pub const VECTOR_SIGNAL: u16 = 0;
/// The doorbell vector for fabric events: mailboxes, departures.
pub const VECTOR_EVENT: u16 = 1;

// The slot's parts must not overlap.
const _: () = {
    assert!(SLOT_SUMMARY + MAX_DMBS / 8 <= SLOT_MBOX);
    assert!(SLOT_MBOX + NSLOTS * MBOX_SIZE <= SLOT_DESC);
    assert!(MBOX_ENTRIES + MBOX_LEN as usize * MBOX_ENTRY_SIZE <= MBOX_SIZE);
    assert!(SLOT_DESC + MAX_DMBS * DESC_SIZE <= SLOT_ATTACH);
    assert!(SLOT_ATTACH + ATTACH_ENTRIES * 8 <= SLOT_SIZE);
    assert!(DESC_SIZE.is_multiple_of(8) && SLOT_ATTACH.is_multiple_of(8));
    assert!(PRESENCE + 65536 / 8 <= SLOTS_OFF);
    assert!(MAX_DMBS.is_multiple_of(64) && MAX_DMBS <= 1 << 16);
    assert!(NSLOTS <= 256);
};

/// The geometry of a region of a given size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Size of the region in bytes.
    pub region_size: usize,
    /// Offset of the first data area.
    pub area_off: usize,
    /// Size of each data area.
    pub area_size: usize,
}

impl Layout {
    /// The layout of a region of `region_size` bytes, if it is large enough to hold at least
    /// one granule per slot.
    pub fn new(region_size: usize) -> Option<Self> {
        let slots_end = SLOTS_OFF + NSLOTS * SLOT_SIZE;
        let area_off = slots_end.div_ceil(AREA_ALIGN) * AREA_ALIGN;
        let area_size = (region_size.checked_sub(area_off)? / NSLOTS) / GRANULE * GRANULE;
        if area_size == 0 {
            return None;
        }
        Some(Self {
            region_size,
            area_off,
            area_size,
        })
    }

    /// Offset of `slot`.
    pub fn slot(&self, slot: usize) -> usize {
        SLOTS_OFF + slot * SLOT_SIZE
    }

    /// Offset of the summary word holding DMB index `idx` of `slot`, and its bit.
    pub fn summary(&self, slot: usize, idx: usize) -> (usize, u64) {
        (self.slot(slot) + SLOT_SUMMARY + idx / 64 * 8, 1 << (idx % 64))
    }

    /// Offset of the descriptor of DMB index `idx` of `slot`.
    pub fn desc(&self, slot: usize, idx: usize) -> usize {
        self.slot(slot) + SLOT_DESC + idx * DESC_SIZE
    }

    /// Offset of attach word `entry` of `slot`.
    pub fn attach_word(&self, slot: usize, entry: usize) -> usize {
        self.slot(slot) + SLOT_ATTACH + entry * 8
    }

    /// Offset of the mailbox in `slot` that `sender` posts to.
    pub fn mbox(&self, slot: usize, sender: usize) -> usize {
        self.slot(slot) + SLOT_MBOX + sender * MBOX_SIZE
    }

    /// Offset of entry `n` (counted from zero, forever) of the mailbox at `mbox`.
    pub fn mbox_entry(mbox: usize, n: u32) -> usize {
        mbox + MBOX_ENTRIES + (n % MBOX_LEN) as usize * MBOX_ENTRY_SIZE
    }

    /// Offset of the data area of `slot`.
    pub fn area(&self, slot: usize) -> usize {
        self.area_off + slot * self.area_size
    }

    /// Number of granules in a data area.
    pub fn granules(&self) -> usize {
        self.area_size / GRANULE
    }

    /// Whether `offset..offset + len` lies inside the data area of `slot`: what a descriptor
    /// read from the region must satisfy before anyone writes there.
    pub fn in_area(&self, slot: usize, offset: u64, len: u32) -> bool {
        let start = self.area(slot) as u64;
        let end = start + self.area_size as u64;
        offset >= start && offset.checked_add(u64::from(len)).is_some_and(|e| e <= end)
    }
}

/// Offset of the presence word of ivshmem peer `peer`, and its bit.
pub fn presence(peer: u16) -> (usize, u64) {
    (PRESENCE + usize::from(peer) / 64 * 8, 1 << (peer % 64))
}

/// A DMB token: slot (8 bits), DMB index (16 bits), sequence number (40 bits, never zero).
///
/// The slot and index say where the descriptor is; the whole token must match the
/// descriptor's, so a token outlives neither its DMB nor its owner's claim on the slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    /// The owning slot.
    pub slot: usize,
    /// The DMB index on the owning VM.
    pub idx: usize,
}

/// Mask of a token's sequence number.
pub const TOKEN_SEQ_MASK: u64 = (1 << 40) - 1;

impl Token {
    /// The token for DMB `idx` of `slot`, with sequence number `seq` (made non-zero).
    pub fn encode(slot: usize, idx: usize, seq: u64) -> u64 {
        let seq = match seq & TOKEN_SEQ_MASK {
            0 => 1,
            s => s,
        };
        ((slot as u64 & 0xff) << 56) | ((idx as u64 & 0xffff) << 40) | seq
    }

    /// Where the token's descriptor is, if the token can be valid at all.
    pub fn decode(token: u64) -> Option<Self> {
        let slot = (token >> 56) as usize;
        let idx = ((token >> 40) & 0xffff) as usize;
        (slot < NSLOTS && idx < MAX_DMBS && token & TOKEN_SEQ_MASK != 0)
            .then_some(Self { slot, idx })
    }
}

/// The GID (first half) of the VM in `slot`: 48 random bits, then the slot.
pub fn gid(random: u64, slot: usize) -> u64 {
    let r = random << 16;
    let r = if r == 0 { 1 << 16 } else { r };
    r | slot as u64
}

/// The slot a GID names, if it can name one.
pub fn gid_slot(gid: u64) -> Option<usize> {
    let slot = (gid & 0xffff) as usize;
    (gid >> 16 != 0 && slot < NSLOTS).then_some(slot)
}

/// A fabric ID from random bits: never the loopback ID, never in the range SMC treats as
/// emulated ISM (0xff00..=0xffff), never zero.
pub fn fabric_id(random: u32) -> u16 {
    (random % 0xfeff) as u16 + 1
}

/// The signal mask bit for signal index `idx` (as ISM and the DIBS loopback device set it).
pub fn dmbe_mask(idx: u32) -> u16 {
    0x1000u16.rotate_right(idx % 16)
}

/// First-fit allocator of runs of granules in a data area, over a caller-provided bitmap.
///
/// Only the slot's owner allocates, so the bitmap lives in the owner's private memory.
pub struct Granules<'a> {
    bits: &'a mut [u64],
    n: usize,
}

impl<'a> Granules<'a> {
    /// An allocator of `n` granules, all free; `bits` must hold at least `n` bits.
    pub fn new(bits: &'a mut [u64], n: usize) -> Option<Self> {
        if bits.len() * 64 < n {
            return None;
        }
        bits.iter_mut().for_each(|w| *w = 0);
        Some(Self { bits, n })
    }

    /// An allocator of `n` granules over a bitmap set up earlier by [`Granules::new`].
    pub fn attach(bits: &'a mut [u64], n: usize) -> Option<Self> {
        (bits.len() * 64 >= n).then_some(Self { bits, n })
    }

    /// Number of bitmap words needed for `n` granules.
    pub fn words(n: usize) -> usize {
        n.div_ceil(64)
    }

    fn used(&self, g: usize) -> bool {
        self.bits[g / 64] & (1 << (g % 64)) != 0
    }

    fn set(&mut self, g: usize, used: bool) {
        if used {
            self.bits[g / 64] |= 1 << (g % 64);
        } else {
            self.bits[g / 64] &= !(1 << (g % 64));
        }
    }

    /// Takes `count` consecutive free granules; returns the first.
    pub fn alloc(&mut self, count: usize) -> Option<usize> {
        if count == 0 || count > self.n {
            return None;
        }
        let mut start = 0;
        while start + count <= self.n {
            // Skip whole used words quickly.
            if start % 64 == 0 && self.bits[start / 64] == u64::MAX {
                start += 64;
                continue;
            }
            match (start..start + count).find(|&g| self.used(g)) {
                Some(used) => start = used + 1,
                None => {
                    (start..start + count).for_each(|g| self.set(g, true));
                    return Some(start);
                }
            }
        }
        None
    }

    /// Gives back `count` granules from `first`, which [`Granules::alloc`] returned.
    pub fn free(&mut self, first: usize, count: usize) {
        (first..(first + count).min(self.n)).for_each(|g| self.set(g, false));
    }

    /// Number of free granules.
    pub fn free_count(&self) -> usize {
        (0..self.n).filter(|&g| !self.used(g)).count()
    }
}

/// Granules needed for `len` bytes.
pub fn granules_for(len: usize) -> usize {
    len.div_ceil(GRANULE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_of_64m() {
        let l = Layout::new(64 << 20).unwrap();
        assert_eq!(l.area_off, 1 << 20);
        assert_eq!(l.area_size, (63 << 20) / 4);
        assert!(l.area(NSLOTS - 1) + l.area_size <= 64 << 20);
        assert!(l.slot(NSLOTS - 1) + SLOT_SIZE <= l.area_off);
        assert_eq!(l.granules(), l.area_size / 4096);
    }

    #[test]
    fn tiny_regions_refused() {
        assert!(Layout::new(0).is_none());
        assert!(Layout::new(1 << 20).is_none());
        assert!(Layout::new((1 << 20) + 4 * 4096).is_some());
    }

    #[test]
    fn parts_do_not_overlap() {
        let l = Layout::new(64 << 20).unwrap();
        let s = l.slot(1);
        assert_eq!(l.summary(1, 0), (s + SLOT_SUMMARY, 1));
        assert_eq!(l.summary(1, 65), (s + SLOT_SUMMARY + 8, 2));
        assert!(l.summary(1, MAX_DMBS - 1).0 < l.mbox(1, 0));
        assert!(l.mbox(1, NSLOTS - 1) + MBOX_SIZE <= l.desc(1, 0));
        assert!(l.desc(1, MAX_DMBS - 1) + DESC_SIZE <= l.attach_word(1, 0));
        assert!(l.attach_word(1, ATTACH_ENTRIES - 1) + 8 <= l.slot(2));
        assert_eq!(Layout::mbox_entry(0, 9), MBOX_ENTRIES + MBOX_ENTRY_SIZE);
    }

    #[test]
    fn tokens_round_trip_and_reject_nonsense() {
        let t = Token::encode(3, 1023, 0xdead_beef);
        assert_eq!(Token::decode(t), Some(Token { slot: 3, idx: 1023 }));
        assert_ne!(Token::encode(1, 2, 0) & TOKEN_SEQ_MASK, 0);
        assert_eq!(Token::decode(0), None);
        assert_eq!(Token::decode(Token::encode(NSLOTS, 0, 1)), None);
        assert_eq!(Token::decode(((1 << 40) * 1024) | 1), None);
        assert_ne!(Token::encode(0, 0, 1), Token::encode(0, 0, 2));
    }

    #[test]
    fn gids_name_their_slot() {
        for s in 0..NSLOTS {
            let g = gid(0x1234_5678_9abc, s);
            assert_eq!(gid_slot(g), Some(s));
            assert_ne!(gid(0, s), s as u64);
        }
        assert_eq!(gid_slot(0), None);
        assert_eq!(gid_slot(7 << 16 | NSLOTS as u64), None);
    }

    #[test]
    fn fabric_ids_avoid_loopback_and_emulated() {
        for r in [0, 1, 0xfefe, 0xfeff, 0xffff, u32::MAX, 123_456_789] {
            let f = fabric_id(r);
            assert!(f != 0 && f < 0xff00, "{r} -> {f:#x}");
        }
    }

    #[test]
    fn dmbe_masks_like_loopback() {
        assert_eq!(dmbe_mask(0), 0x1000);
        assert_eq!(dmbe_mask(4), 0x0100);
        assert_eq!(dmbe_mask(13), 0x8000);
    }

    #[test]
    fn presence_bits() {
        assert_eq!(presence(0), (PRESENCE, 1));
        assert_eq!(presence(65), (PRESENCE + 8, 2));
        assert_eq!(presence(u16::MAX).0, PRESENCE + 8191 / 8 * 8);
    }

    #[test]
    fn granules_first_fit() {
        let mut bits = [0u64; 4];
        let mut g = Granules::new(&mut bits, 200).unwrap();
        assert_eq!(g.alloc(17), Some(0));
        assert_eq!(g.alloc(17), Some(17));
        g.free(0, 17);
        assert_eq!(g.alloc(16), Some(0));
        assert_eq!(g.alloc(2), Some(34));
        assert_eq!(g.alloc(0), None);
        assert_eq!(g.alloc(201), None);
        assert_eq!(g.free_count(), 200 - 16 - 17 - 2);
        assert_eq!(g.alloc(200 - 36), Some(36));
        assert_eq!(g.alloc(1), Some(16));
        assert_eq!(g.alloc(1), None);
    }

    #[test]
    fn granules_exhaust_and_recover() {
        let n = 1000;
        let mut bits = [0u64; 16];
        let mut g = Granules::new(&mut bits, n).unwrap();
        let mut taken = [0usize; 64];
        let mut k = 0;
        while let Some(s) = g.alloc(17) {
            taken[k] = s;
            k += 1;
        }
        assert_eq!(k, n / 17);
        for &s in &taken[..k] {
            g.free(s, 17);
        }
        assert_eq!(g.free_count(), n);
        assert!(Granules::new(&mut [0u64; 1], 65).is_none());
        assert_eq!(granules_for(65536 + 32), 17);
    }
}
