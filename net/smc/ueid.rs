// SPDX-License-Identifier: GPL-2.0

//! The user EIDs of this node (C: `smc_clc_eid_table`, global, not per namespace), which
//! `SMC_NETLINK_ADD_UEID` and friends change ([`crate::netlink`]) and every handshake reads.
//!
//! The table is [`eid::UeidTable`] (plain Rust, with C's rules); here it is published for
//! readers without a lock, as a sequence count over atomic words (a seqlock): handshakes read
//! it often, netlink writes it rarely. Writers are serialised by the generic netlink core (the
//! family runs one request at a time), so [`Published::update`] needs no lock of its own.

use crate::{
    clc::Eid,
    eid::{self, UeidTable, SMC_MAX_UEID},
};
use core::sync::atomic::{fence, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use kernel::prelude::*;

pub(crate) use crate::clc::EID_LEN;

/// Words of one EID.
const WORDS: usize = EID_LEN / 8;

/// The table as readers see it.
pub(crate) struct Published {
    seq: AtomicU32,
    count: AtomicUsize,
    words: [[AtomicU64; WORDS]; SMC_MAX_UEID],
}

/// This node's user EIDs.
pub(crate) static UEIDS: Published = Published {
    seq: AtomicU32::new(0),
    count: AtomicUsize::new(0),
    words: [const { [const { AtomicU64::new(0) }; WORDS] }; SMC_MAX_UEID],
};

fn eid_words(e: &Eid) -> [u64; WORDS] {
    core::array::from_fn(|i| {
        let mut b = [0u8; 8];
        if let Some(c) = e.get(i * 8..i * 8 + 8) {
            b.copy_from_slice(c);
        }
        u64::from_ne_bytes(b)
    })
}

fn words_eid(w: &[u64; WORDS]) -> Eid {
    core::array::from_fn(|i| w[i / 8].to_ne_bytes()[i % 8])
}

impl Published {
    /// A copy of the table.
    pub(crate) fn read(&self) -> UeidTable {
        loop {
            let s1 = self.seq.load(Ordering::Acquire);
            if s1 & 1 == 0 {
                let n = self.count.load(Ordering::Relaxed).min(SMC_MAX_UEID);
                let mut t = UeidTable::new();
                let mut ok = true;
                for entry in self.words.iter().take(n) {
                    let mut w = [0u64; WORDS];
                    for (d, a) in w.iter_mut().zip(entry.iter()) {
                        *d = a.load(Ordering::Relaxed);
                    }
                    // Entries were valid when published; a torn read fails here or below.
                    ok &= t.add_eid(&words_eid(&w)).is_ok();
                }
                fence(Ordering::Acquire);
                if ok && self.seq.load(Ordering::Relaxed) == s1 {
                    return t;
                }
            }
            core::hint::spin_loop();
        }
    }

    /// Applies `f` to the table and publishes the result if `f` succeeds. Called only by the
    /// generic netlink requests, which the core serialises.
    pub(crate) fn update(&self, f: impl FnOnce(&mut UeidTable) -> Result<(), eid::EidError>) -> Result {
        let mut t = self.read();
        f(&mut t).map_err(|e| Error::from_errno(-e.errno()))?;
        self.seq.fetch_add(1, Ordering::Relaxed);
        fence(Ordering::Release);
        for (entry, e) in self.words.iter().zip(t.iter()) {
            for (a, w) in entry.iter().zip(eid_words(e)) {
                a.store(w, Ordering::Relaxed);
            }
        }
        self.count.store(t.count(), Ordering::Relaxed);
        self.seq.fetch_add(1, Ordering::Release);
        Ok(())
    }
}
