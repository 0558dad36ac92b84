// SPDX-License-Identifier: GPL-2.0

//! The ism_ivshmem fabric: how VMs sharing one ivshmem region lay it out.
//!
//! Plain Rust with no kernel dependency: the driver compiles this file in
//! (`#[path]`), and `cargo test` checks it on the host. The full description,
//! with the reasoning, is `Documentation/ism-ivshmem.md`; in short (all
//! integers little-endian, offsets from the start of the region):
//!
//! ```text
//! 0x0000  header: magic, init state, version, geometry, fabric ID
//! 0x0800  server words (the ivshmem server's magic and epoch)
//! 0x1000  presence bitmap, one bit per ivshmem peer ID (written by the server)
//! 0x4000  NSLOTS slots, one per VM on the fabric (SLOT_SIZE each):
//!           +0x000 state, owner peer ID, GID, generation
//!           +0x040 signal summary: one bit per DMB index with signals pending
//!           +0x100 event mailboxes, one per sending slot
//!           +0x1000 DMB descriptors, MAX_DMBS of them
//!           +0xb000 attach words: who writes straight into which DMB
//! AREA    NSLOTS data areas (area_size each): the DMBs a slot owns
//! ```
//!
//! Only a slot's owner writes its state, descriptors and area allocation; any
//! VM may set signal bits, post to a mailbox, write into a DMB registered for it
//! as the sender (by copy, or directly once attached), record or clear its own
//! attach bits, and free a slot whose owner the server reports gone.

#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod attach;
pub mod layout;

pub use layout::*;
