// SPDX-License-Identifier: GPL-2.0

//! Attach words: which VMs write straight into a DMB, so its owner never reuses the memory
//! under them.
//!
//! A VM that attaches a peer's DMB (DIBS `attach_dmb`) writes into it through its own mapping
//! of the region, with no call into the driver per write. When the owner unregisters such a
//! DMB, it must not hand the granules out again until every attacher has detached (or has
//! left the fabric): otherwise the attacher's late writes land in someone else's buffer.
//!
//! Each DMB has an attach word in its owner's slot (`u64`, little-endian):
//!
//! ```text
//! bits  0..16   one bit per attaching slot
//! bit  16       retired: the owner unregistered the DMB; the word waits for the last detach
//! bits 24..64   the sequence number of the DMB's token
//! ```
//!
//! Every change is a compare-and-exchange of the whole word, computed by the functions here:
//! an attach succeeds only while the word carries the token's sequence number and is not
//! retired, so it cannot race with the owner retiring the DMB or reusing the word for a new
//! one. The owner frees the granules when it retires a word with no attachers, or later, when
//! it finds a retired word whose attachers are all gone.

/// The sequence-number bits of a DMB token (the layout's `TOKEN_SEQ_MASK`; this file stands
/// alone so the driver can compile it in by itself).
const TOKEN_SEQ_MASK: u64 = (1 << 40) - 1;

/// How many slots the attacher bits can name.
pub const MAX_ATTACHERS: usize = 16;

const ATTACHERS: u64 = (1 << MAX_ATTACHERS) - 1;
const RETIRED: u64 = 1 << 16;
const SEQ_SHIFT: u32 = 24;

/// The word of a newly registered DMB whose token has sequence number `token & TOKEN_SEQ_MASK`.
pub fn fresh(token: u64) -> u64 {
    (token & TOKEN_SEQ_MASK) << SEQ_SHIFT
}

fn same_dmb(word: u64, token: u64) -> bool {
    let seq = token & TOKEN_SEQ_MASK;
    seq != 0 && word >> SEQ_SHIFT == seq
}

fn bit(slot: usize) -> Option<u64> {
    (slot < MAX_ATTACHERS).then(|| 1 << slot)
}

/// Why an attach was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttachError {
    /// The word belongs to no live DMB with this token: it was unregistered or replaced.
    Stale,
    /// This slot has the DMB attached already.
    Busy,
}

/// The word after `slot` attaches the DMB `token`, given the word now.
pub fn attach(word: u64, token: u64, slot: usize) -> Result<u64, AttachError> {
    let b = bit(slot).ok_or(AttachError::Stale)?;
    if !same_dmb(word, token) || word & RETIRED != 0 {
        return Err(AttachError::Stale);
    }
    if word & b != 0 {
        return Err(AttachError::Busy);
    }
    Ok(word | b)
}

/// The word after `slot` detaches the DMB `token`, if the word still records that attach.
pub fn detach(word: u64, token: u64, slot: usize) -> Option<u64> {
    let b = bit(slot)?;
    (same_dmb(word, token) && word & b != 0).then_some(word & !b)
}

/// The word after `slot` left the fabric: its attaches are void, whatever the DMB.
pub fn forget(word: u64, slot: usize) -> Option<u64> {
    let b = bit(slot)?;
    (word & b != 0).then_some(word & !b)
}

/// What the owner does when it unregisters a DMB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retire {
    /// Nobody has it attached: store this word (zero) and free the memory now.
    Free(u64),
    /// Peers have it attached: store this word and free the memory once
    /// [`reclaimable`] says so.
    Defer(u64),
}

/// The owner's step for a word when it unregisters the DMB.
pub fn retire(word: u64) -> Retire {
    if word & ATTACHERS == 0 {
        Retire::Free(0)
    } else {
        Retire::Defer(word | RETIRED)
    }
}

/// Whether the memory of a retired DMB with this word can be reused: no attacher is left.
pub fn reclaimable(word: u64) -> bool {
    word & ATTACHERS == 0
}

/// The slots that have the DMB attached, as a bit mask.
pub fn attachers(word: u64) -> u64 {
    word & ATTACHERS
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Token, NSLOTS};

    const _: () = assert!(NSLOTS <= MAX_ATTACHERS && TOKEN_SEQ_MASK == crate::TOKEN_SEQ_MASK);

    #[test]
    fn attach_detach_round_trip() {
        let t = Token::encode(1, 7, 0x12345);
        let w = fresh(t);
        let w1 = attach(w, t, 2).unwrap();
        assert_eq!(attachers(w1), 1 << 2);
        let w2 = attach(w1, t, 0).unwrap();
        assert_eq!(attach(w2, t, 2), Err(AttachError::Busy));
        let w3 = detach(w2, t, 2).unwrap();
        assert_eq!(detach(w3, t, 2), None);
        assert_eq!(detach(w3, t, 0), Some(w));
    }

    #[test]
    fn stale_tokens_cannot_attach_or_detach() {
        let old = Token::encode(0, 3, 10);
        let new = Token::encode(0, 3, 11);
        let w = fresh(new);
        assert_eq!(attach(w, old, 1), Err(AttachError::Stale));
        assert_eq!(attach(0, old, 1), Err(AttachError::Stale));
        let w = attach(w, new, 1).unwrap();
        assert_eq!(detach(w, old, 1), None);
        // A token that is not one at all.
        assert_eq!(attach(fresh(0), 0, 1), Err(AttachError::Stale));
    }

    #[test]
    fn retire_frees_at_once_or_waits_for_the_last_detach() {
        let t = Token::encode(2, 0, 99);
        assert_eq!(retire(fresh(t)), Retire::Free(0));
        let w = attach(attach(fresh(t), t, 0).unwrap(), t, 1).unwrap();
        let Retire::Defer(r) = retire(w) else {
            panic!("attached DMB freed");
        };
        // Retired: no new attaches, but the old ones detach.
        assert_eq!(attach(r, t, 3), Err(AttachError::Stale));
        assert!(!reclaimable(r));
        let r = detach(r, t, 0).unwrap();
        assert!(!reclaimable(r));
        let r = detach(r, t, 1).unwrap();
        assert!(reclaimable(r));
    }

    #[test]
    fn departed_slots_are_forgotten() {
        let t = Token::encode(0, 1, 5);
        let w = attach(fresh(t), t, 3).unwrap();
        let Retire::Defer(r) = retire(w) else {
            panic!("attached DMB freed");
        };
        assert_eq!(forget(r, 2), None);
        let r = forget(r, 3).unwrap();
        assert!(reclaimable(r));
    }

    #[test]
    fn slots_beyond_the_bits_are_refused() {
        let t = Token::encode(0, 1, 5);
        assert_eq!(attach(fresh(t), t, MAX_ATTACHERS), Err(AttachError::Stale));
        assert_eq!(detach(fresh(t), t, MAX_ATTACHERS), None);
        assert_eq!(forget(u64::MAX, MAX_ATTACHERS), None);
    }

    #[test]
    fn the_sequence_number_survives_in_the_word() {
        let t = Token::encode(0, 0, TOKEN_SEQ_MASK);
        let w = attach(fresh(t), t, 15).unwrap();
        assert_eq!(detach(w, t, 15), Some(fresh(t)));
    }
}
