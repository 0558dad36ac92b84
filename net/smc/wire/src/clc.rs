// SPDX-License-Identifier: GPL-2.0

//! SMC CLC (connection layer control) messages: the handshake that SMC runs
//! over the TCP connection before it moves the data to shared memory.
//!
//! The byte layouts are those of the kernel's C implementation
//! (`net/smc/smc_clc.h`, `net/smc/smc_clc.c`) as it puts them on the wire on
//! x86 (`__LITTLE_ENDIAN_BITFIELD`; the `__BIG_ENDIAN_BITFIELD` variants in the
//! C headers are declared in the opposite order precisely so that both give
//! the same bytes). All multi-byte fields are big-endian. Bit fields inside
//! one byte are given here as "high nibble"/"bit 7" etc.: in C's
//! little-endian bit-field allocation the *first* declared member takes the
//! *least* significant bits.
//!
//! Decoding mirrors what the C receiver accepts: `smc_clc_wait_msg()` (header
//! peek), `smc_clc_msg_hdr_valid()`, `smc_clc_msg_prop_valid()`,
//! `smc_clc_msg_acc_conf_valid()` and `smc_clc_msg_decl_valid()`. Where C
//! follows an offset or count found in the message it reads its receive
//! buffer, which is zeroed beyond the received bytes (`kzalloc`/`memset` in
//! `af_smc.c`); the decoders here read such bytes as zero too, so they accept
//! exactly the messages C accepts and see the same values. See [`DecodeError`]
//! for what C does with a message that it rejects.
//!
//! Encoding produces the layout the C senders produce
//! (`smc_clc_send_proposal()`, `smc_clc_send_confirm_accept()`,
//! `smc_clc_send_decline()`), and refuses (with [`EncodeError`]) to produce a
//! message that a C receiver would reject or read differently.
//!
//! Nothing here panics on any input: no slice indexing, no unchecked
//! arithmetic, no `unwrap`.

// The parts live in `clc/`. Every one is declared with an explicit `#[path]`
// relative to this file: the kernel module loads this file itself through
// `#[path = "wire/src/clc.rs"]`, which makes rustc treat it like a `mod.rs`,
// so a plain `mod header;` would be looked for in `wire/src/header.rs` there
// but in `src/clc/header.rs` under cargo. Like this file, the parts have no
// crate-level attributes and no `crate::` paths; they reach this module as
// `super`.
#[path = "clc/accept_confirm.rs"]
mod accept_confirm;
#[path = "clc/bounded_vec.rs"]
mod bounded_vec;
#[path = "clc/codec.rs"]
mod codec;
#[path = "clc/decline.rs"]
mod decline;
#[path = "clc/error.rs"]
mod error;
#[path = "clc/header.rs"]
mod header;
#[path = "clc/message.rs"]
mod message;
#[path = "clc/proposal.rs"]
mod proposal;
#[path = "clc/shared.rs"]
mod shared;

pub use accept_confirm::*;
pub use bounded_vec::*;
pub use decline::*;
pub use error::*;
pub use header::*;
pub use message::*;
pub use proposal::*;
pub use shared::*;

// ---------------------------------------------------------------------------
// Constants (names follow the C ones).
// ---------------------------------------------------------------------------

/// Eye catcher "SMCR" in EBCDIC (`SMC_EYECATCHER`, smc_clc.c).
pub const EYECATCHER_SMCR: [u8; 4] = [0xE2, 0xD4, 0xC3, 0xD9];
/// Eye catcher "SMCD" in EBCDIC (`SMCD_EYECATCHER`, smc_clc.c).
pub const EYECATCHER_SMCD: [u8; 4] = [0xE2, 0xD4, 0xC3, 0xC4];

/// SMC version 1 (`SMC_V1`, smc.h).
pub const SMC_V1: u8 = 1;
/// SMC version 2 (`SMC_V2`, smc.h).
pub const SMC_V2: u8 = 2;
/// SMC v2 release 0 (`SMC_RELEASE_0`, smc.h).
pub const SMC_RELEASE_0: u8 = 0;
/// SMC v2 release 1, "v2.1" (`SMC_RELEASE_1`, smc.h).
pub const SMC_RELEASE_1: u8 = 1;
/// The latest release the C implementation speaks (`SMC_RELEASE`, smc.h).
pub const SMC_RELEASE: u8 = SMC_RELEASE_1;
/// Supplemental feature bit: Emulated-ISM devices (`SMC_SPF_EMULATED_ISM_DEV`).
pub const SMC_FEATURE_EMULATED_ISM_DEV: u16 = 1 << 0;
/// All supplemental features the C implementation knows (`SMC_FEATURE_MASK`).
pub const SMC_FEATURE_MASK: u16 = SMC_FEATURE_EMULATED_ISM_DEV;

/// `typev2` bit that marks a first contact (`SMC_FIRST_CONTACT_MASK`).
pub const FIRST_CONTACT_MASK: u8 = 0b10;

/// Peer OS type z/OS (`SMC_CLC_OS_ZOS`).
pub const OS_ZOS: u8 = 1;
/// Peer OS type Linux (`SMC_CLC_OS_LINUX`).
pub const OS_LINUX: u8 = 2;
/// Peer OS type AIX (`SMC_CLC_OS_AIX`).
pub const OS_AIX: u8 = 3;

/// Length of a system id (`SMC_SYSTEMID_LEN`, smc.h).
pub const SYSTEMID_LEN: usize = 8;
/// Length of an RoCE GID (`SMC_GID_SIZE`, smc_ib.h).
pub const GID_SIZE: usize = 16;
/// Length of an EID (`SMC_MAX_EID_LEN`, uapi/linux/smc.h).
pub const EID_LEN: usize = 32;
/// Length of the host name (`SMC_MAX_HOSTNAME_LEN`, uapi/linux/smc.h).
pub const HOSTNAME_LEN: usize = 32;

/// Length of the CLC header (`struct smc_clc_msg_hdr`).
pub const HEADER_LEN: usize = 8;
/// Length of the CLC trailer (`struct smc_clc_msg_trail`).
pub const TRAILER_LEN: usize = 4;
/// Length of `struct smc_clc_msg_local` (system id, GID, MAC).
pub const LOCAL_LEN: usize = 30;
/// Length of `struct smc_clc_msg_proposal` (header, local, iparea offset).
pub const PROPOSAL_BASE_LEN: usize = 40;
/// Length of `struct smc_clc_msg_smcd` (the SMC-D info area).
pub const SMCD_INFO_LEN: usize = 40;
/// Length of `struct smc_clc_msg_proposal_prefix`.
pub const PREFIX_LEN: usize = 8;
/// Length of `struct smc_clc_ipv6_prefix`.
pub const IPV6_PREFIX_LEN: usize = 17;
/// Length of `struct smc_clc_v2_extension_fixed`.
pub const V2_EXT_FIXED_LEN: usize = 40;
/// Length of `struct smc_clc_smcd_v2_extension_fixed`.
pub const SMCD_V2_EXT_FIXED_LEN: usize = 48;
/// Length of `struct smc_clc_smcd_gid_chid`.
pub const GID_CHID_LEN: usize = 10;
/// Most IPv6 prefixes in a proposal (`SMC_CLC_MAX_V6_PREFIX`).
pub const MAX_IPV6_PREFIXES: usize = 8;
/// Most user EIDs in a proposal (`SMC_CLC_MAX_UEID`; the local table holds at
/// most `SMC_MAX_UEID` = 4, the wire allows 8).
pub const MAX_UEIDS: usize = 8;
/// Most GID/CHID entries in the SMC-Dv2 extension (`SMCD_CLC_MAX_V2_GID_ENTRIES`).
pub const MAX_V2_GID_ENTRIES: usize = 8;
/// Largest valid `iparea_offset` (`sizeof(struct smc_clc_msg_smcd)`,
/// `smc_clc_proposal_get_prefix()`).
pub const IPAREA_OFFSET_MAX: u16 = 40;
/// Largest valid SMC-Dv1 area `v2_ext_offset` (the `max_offset` of
/// `smc_get_clc_v2_ext()`: 224 - 40 - 12).
pub const V2_EXT_OFFSET_MAX: u16 = 172;
/// Largest valid `smcd_v2_ext_offset` (the `max_offset` of
/// `smc_get_clc_smcd_v2_ext()`: 520 - 224 - 8).
pub const SMCD_V2_EXT_OFFSET_MAX: u16 = 288;
/// `sizeof(struct smc_clc_msg_proposal_area)`: the largest valid proposal, and
/// the receive buffer C uses for proposals and confirms.
pub const PROPOSAL_MAX_LEN: usize = 652;

/// SMC-R v1 accept/confirm length (`SMCR_CLC_ACCEPT_CONFIRM_LEN`).
pub const SMCR_ACCEPT_CONFIRM_LEN: usize = 68;
/// SMC-D v1 accept/confirm length (`SMCD_CLC_ACCEPT_CONFIRM_LEN`).
pub const SMCD_ACCEPT_CONFIRM_LEN: usize = 48;
/// SMC-D v2 accept/confirm length without extensions (`SMCD_CLC_ACCEPT_CONFIRM_LEN_V2`).
pub const SMCD_ACCEPT_CONFIRM_LEN_V2: usize = 78;
/// SMC-R v2 accept/confirm length without extensions (`SMCR_CLC_ACCEPT_CONFIRM_LEN_V2`).
pub const SMCR_ACCEPT_CONFIRM_LEN_V2: usize = 108;
/// Offset of the first contact extension in an SMC-D v2 accept/confirm
/// (`offsetofend(struct smc_clc_msg_accept_confirm, d1)`).
pub const SMCD_FCE_OFFSET: usize = 74;
/// Offset of the first contact extension in an SMC-R v2 accept/confirm
/// (`offsetofend(struct smc_clc_msg_accept_confirm, r1)`).
pub const SMCR_FCE_OFFSET: usize = 104;
/// Length of `struct smc_clc_first_contact_ext`.
pub const FCE_LEN: usize = 36;
/// Length of `struct smc_clc_first_contact_ext_v2x`.
pub const FCE_V2X_LEN: usize = 52;
/// Length of the fixed part of `struct smc_clc_fce_gid_ext`.
pub const FCE_GID_EXT_FIXED_LEN: usize = 4;
/// Most GIDs this crate carries in an SMC-R confirm GID list (C sends at most
/// `GID_LIST_SIZE` = 2 and never reads the list).
pub const MAX_FCE_GIDS: usize = 8;
/// C's receive buffer for an accept (`SMC_CLC_MAX_ACCEPT_LEN`, af_smc.c):
/// `sizeof(smc_clc_msg_accept_confirm) + sizeof(fce_v2x) + trailer`.
pub const MAX_ACCEPT_LEN: usize = 160;
/// C's receive buffer for a confirm (`sizeof(struct smc_clc_msg_proposal_area)`).
pub const MAX_CONFIRM_LEN: usize = PROPOSAL_MAX_LEN;

/// SMC-D v1 decline length (`sizeof(struct smc_clc_msg_decline)`).
pub const DECLINE_LEN: usize = 28;
/// SMC v2 decline length (`sizeof(struct smc_clc_msg_decline_v2)`).
pub const DECLINE_V2_LEN: usize = 44;
/// Number of additional v2 diagnosis codes (`SMC_DECL_DIAG_COUNT_V2`).
pub const DECL_DIAG_COUNT_V2: usize = 4;

/// Number of distinct SMC-D DMBE sizes (`SMCD_DMBE_SIZES`, smc_core.c):
/// 0 -> 16 KiB ... 6 -> 1 MiB.
pub const SMCD_DMBE_SIZES: u8 = 6;
/// Number of distinct SMC-R RMBE sizes (`SMCR_RMBE_SIZES`, smc_core.c):
/// 0 -> 16 KiB ... 15 -> 512 MiB.
pub const SMCR_RMBE_SIZES: u8 = 15;
/// Smallest buffer (`SMC_BUF_MIN_SIZE`, smc_core.h).
pub const SMC_BUF_MIN_SIZE: u32 = 16384;

/// An EID (enterprise id), blank padded.
pub type Eid = [u8; EID_LEN];
