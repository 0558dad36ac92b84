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

use core::fmt;

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

/// Smallest possible proposal (v1, no SMC-D area, no IPv6 prefix).
const PROPOSAL_MIN_LEN: usize = PROPOSAL_BASE_LEN + PREFIX_LEN + TRAILER_LEN;
/// Offset of `v2_ext_offset` inside the SMC-D info area, and the end of that
/// field (the v2 extension offset counts from there).
const SMCD_V2_EXT_OFFSET_FIELD: usize = PROPOSAL_BASE_LEN + 10;
const SMCD_V2_EXT_OFFSET_BASE: usize = PROPOSAL_BASE_LEN + 12;
/// The `smcd_v2_ext_offset` counts from the end of the v2 extension header.
const V2_EXT_HDR_LEN: usize = 8;
/// `v2_ext_offset` as C sends it, before adding the IP area:
/// `sizeof(smc_clc_msg_smcd) - offsetofend(smc_clc_msg_smcd, v2_ext_offset)`.
const V2_EXT_OFFSET_CANON_BASE: usize = 28;
/// `smcd_v2_ext_offset` as C sends it, before adding the EIDs:
/// `sizeof(smc_clc_v2_extension) - offsetofend(smc_clnt_opts_area_hdr, smcd_v2_ext_offset)`.
const SMCD_V2_EXT_OFFSET_CANON_BASE: usize = 32;

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

// ---------------------------------------------------------------------------
// Errors.
// ---------------------------------------------------------------------------

/// Which offset field of a proposal was bad.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OffsetField {
    /// `smc_clc_msg_proposal.iparea_offset`.
    IpArea,
    /// `smc_clc_msg_smcd.v2_ext_offset`.
    V2Ext,
}

/// Which count field of a proposal was too large.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CountField {
    /// `ipv6_prefixes_cnt` (max [`MAX_IPV6_PREFIXES`]).
    Ipv6Prefixes,
    /// `eid_cnt` of the v2 extension (max [`MAX_UEIDS`]).
    Eids,
    /// `ism_gid_cnt` of the v2 extension (max [`MAX_V2_GID_ENTRIES`]).
    IsmGids,
}

/// Why a buffer is not a CLC message the C implementation would accept.
///
/// What C does: every one of these makes `smc_clc_wait_msg()` return
/// `-EPROTO` (and set `sk_err = EPROTO`), except [`DecodeError::Truncated`],
/// where C keeps waiting for the rest of the message until the CLC timeout
/// (then `-EAGAIN`/`-ETIMEDOUT`) or an orderly shutdown (`-ECONNRESET`).
/// A negative result aborts the handshake **without** sending a DECLINE and
/// **without** falling back to TCP: on the client `connect()` fails
/// (`smc_connect_decline_fallback()` with `reason_code < 0`), on the server the
/// new socket is dropped (`smc_listen_decline()` -> `smc_listen_out_err()`).
/// A well-formed DECLINE, in contrast, makes `smc_clc_wait_msg()` return
/// `SMC_CLC_DECL_PEERDECL` and both sides fall back to TCP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The buffer ends before the header or before the length the header
    /// declares.
    Truncated {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// The header eye catcher is neither "SMCR" nor "SMCD" in EBCDIC
    /// (`smc_clc_msg_hdr_valid()`).
    BadEyecatcher([u8; 4]),
    /// Header version 0 (`clcm->version < SMC_V1` in `smc_clc_wait_msg()`).
    BadVersion(u8),
    /// Message type other than 1..=4 (`smc_clc_wait_msg()` /
    /// `smc_clc_msg_hdr_valid()` default case).
    UnknownType(u8),
    /// A known type other than the one expected and not a DECLINE
    /// (`smc_clc_wait_msg()`).
    UnexpectedType {
        /// The type asked for.
        expected: MessageType,
        /// The type found.
        found: MessageType,
    },
    /// The declared length is below what this type and version needs
    /// (`smc_clc_msg_acc_conf_valid()` for v2, and the length formulas of
    /// `smc_clc_msg_prop_valid()`).
    LengthTooShort {
        /// `hdr.length`.
        declared: u16,
        /// The minimum.
        minimum: usize,
    },
    /// The declared length is not the one the content implies
    /// (`smc_clc_msg_prop_valid()`, `smc_clc_msg_acc_conf_valid()` for v1,
    /// `smc_clc_msg_decl_valid()`).
    LengthMismatch {
        /// `hdr.length`.
        declared: u16,
        /// The length the content implies.
        expected: usize,
    },
    /// The trailer eye catcher (at `hdr.length - 4`) is neither "SMCR" nor
    /// "SMCD" (`smc_clc_msg_hdr_valid()` with `check_trl`).
    BadTrailer([u8; 4]),
    /// `typev1` not allowed here: `SMC_TYPE_N` in a v1 proposal
    /// (`smc_clc_msg_prop_valid()`), or not R or D in an accept/confirm
    /// (`smc_clc_msg_acc_conf_valid()`).
    BadSmcType(u8),
    /// An offset that C cannot follow: `iparea_offset > 40`
    /// (`smc_clc_proposal_get_prefix()` returns NULL), or a v2 proposal
    /// indicating a v2 type whose v2 extension cannot be located
    /// (`smc_get_clc_v2_ext()` returns NULL: `v2_ext_offset` 0 or above 172,
    /// or, reported as [`OffsetField::IpArea`], an SMC-D/B `typev1` with
    /// `iparea_offset != 40` so that `smc_get_clc_msg_smcd()` returns NULL).
    BadOffset {
        /// Which offset.
        field: OffsetField,
        /// Its value.
        value: u16,
    },
    /// A count above C's limit (`smc_clc_msg_prop_valid()`).
    TooMany {
        /// Which count.
        field: CountField,
        /// Its value.
        count: u8,
        /// The limit.
        max: u8,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { needed, available } => {
                write!(
                    f,
                    "CLC message truncated: need {needed} bytes, have {available}"
                )
            }
            Self::BadEyecatcher(e) => write!(f, "bad CLC eye catcher {e:02x?}"),
            Self::BadVersion(v) => write!(f, "bad CLC version {v}"),
            Self::UnknownType(t) => write!(f, "unknown CLC message type {t}"),
            Self::UnexpectedType { expected, found } => {
                write!(f, "expected CLC {expected:?}, got {found:?}")
            }
            Self::LengthTooShort { declared, minimum } => {
                write!(f, "CLC length {declared} below minimum {minimum}")
            }
            Self::LengthMismatch { declared, expected } => {
                write!(f, "CLC length {declared}, content implies {expected}")
            }
            Self::BadTrailer(e) => write!(f, "bad CLC trailer {e:02x?}"),
            Self::BadSmcType(t) => write!(f, "SMC type {t} not allowed here"),
            Self::BadOffset { field, value } => write!(f, "bad CLC {field:?} offset {value}"),
            Self::TooMany { field, count, max } => {
                write!(f, "CLC {field:?} count {count} above {max}")
            }
        }
    }
}

/// Why a message cannot be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// The output buffer is too small.
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// A field does not fit its wire width (a nibble above 15, a 24-bit value
    /// above `0xFF_FFFF`, version 0 or above 15).
    FieldOutOfRange {
        /// The field.
        field: &'static str,
        /// Its value.
        value: u64,
    },
    /// The parts present do not fit the version/type, or the C receiver
    /// would reject or misread the message.
    Inconsistent(&'static str),
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BufferTooSmall { needed, available } => {
                write!(
                    f,
                    "output buffer too small: need {needed} bytes, have {available}"
                )
            }
            Self::FieldOutOfRange { field, value } => {
                write!(f, "CLC field {field} value {value} out of range")
            }
            Self::Inconsistent(what) => write!(f, "inconsistent CLC message: {what}"),
        }
    }
}

// ---------------------------------------------------------------------------
// Small helpers: a zero-extending reader and a bounds-checked writer.
// ---------------------------------------------------------------------------

/// Reads big-endian fields from a message; bytes past its end read as zero,
/// as they do in C's zeroed receive buffer.
struct ZRd<'a> {
    msg: &'a [u8],
    pos: usize,
}

impl<'a> ZRd<'a> {
    fn at(msg: &'a [u8], pos: usize) -> Self {
        Self { msg, pos }
    }

    fn u8(&mut self) -> u8 {
        let v = self.msg.get(self.pos).copied().unwrap_or(0);
        self.pos = self.pos.saturating_add(1);
        v
    }

    fn arr<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for b in out.iter_mut() {
            *b = self.u8();
        }
        out
    }

    fn be16(&mut self) -> u16 {
        u16::from_be_bytes(self.arr())
    }

    fn be24(&mut self) -> u32 {
        let [a, b, c] = self.arr();
        u32::from_be_bytes([0, a, b, c])
    }

    fn be32(&mut self) -> u32 {
        u32::from_be_bytes(self.arr())
    }

    fn be64(&mut self) -> u64 {
        u64::from_be_bytes(self.arr())
    }

    fn skip(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n);
    }
}

/// The byte at `pos`, or zero past the end (see [`ZRd`]).
fn zbyte(msg: &[u8], pos: usize) -> u8 {
    msg.get(pos).copied().unwrap_or(0)
}

/// Writes into an output buffer, failing instead of panicking.
struct Wr<'a> {
    out: &'a mut [u8],
    pos: usize,
}

impl<'a> Wr<'a> {
    fn new(out: &'a mut [u8]) -> Self {
        Self { out, pos: 0 }
    }

    /// A writer for a message of `len` bytes, if `out` can hold it.
    fn for_message(out: &'a mut [u8], len: usize) -> Result<Self, EncodeError> {
        if out.len() < len {
            return Err(EncodeError::BufferTooSmall {
                needed: len,
                available: out.len(),
            });
        }
        Ok(Self::new(out))
    }

    fn put(&mut self, data: &[u8]) -> Result<(), EncodeError> {
        let available = self.out.len();
        // `checked_add`, not `saturating_add`: with a saturated end the slice below could be
        // shorter than `data`, and `copy_from_slice` would keep a (never taken) panic path.
        let end = self.pos.checked_add(data.len()).ok_or(EncodeError::BufferTooSmall {
            needed: usize::MAX,
            available,
        })?;
        let dst = self
            .out
            .get_mut(self.pos..end)
            .ok_or(EncodeError::BufferTooSmall {
                needed: end,
                available,
            })?;
        dst.copy_from_slice(data);
        self.pos = end;
        Ok(())
    }

    fn u8(&mut self, v: u8) -> Result<(), EncodeError> {
        self.put(&[v])
    }

    fn be16(&mut self, v: u16) -> Result<(), EncodeError> {
        self.put(&v.to_be_bytes())
    }

    fn be24(&mut self, field: &'static str, v: u32) -> Result<(), EncodeError> {
        let [hi, a, b, c] = v.to_be_bytes();
        if hi != 0 {
            return Err(EncodeError::FieldOutOfRange {
                field,
                value: u64::from(v),
            });
        }
        self.put(&[a, b, c])
    }

    fn be32(&mut self, v: u32) -> Result<(), EncodeError> {
        self.put(&v.to_be_bytes())
    }

    fn be64(&mut self, v: u64) -> Result<(), EncodeError> {
        self.put(&v.to_be_bytes())
    }

    fn zeros(&mut self, n: usize) -> Result<(), EncodeError> {
        let available = self.out.len();
        let end = self.pos.saturating_add(n);
        let dst = self
            .out
            .get_mut(self.pos..end)
            .ok_or(EncodeError::BufferTooSmall {
                needed: end,
                available,
            })?;
        dst.fill(0);
        self.pos = end;
        Ok(())
    }
}

/// Checks that `v` fits in `bits` bits.
fn check_bits(field: &'static str, v: u8, bits: u32) -> Result<u8, EncodeError> {
    if u32::from(v).checked_shr(bits).unwrap_or(0) != 0 {
        return Err(EncodeError::FieldOutOfRange {
            field,
            value: u64::from(v),
        });
    }
    Ok(v)
}

/// `a` in the high nibble, `b` in the low nibble.
fn nibbles(a: u8, b: u8) -> u8 {
    (a & 0x0f).wrapping_shl(4) | (b & 0x0f)
}

fn hi_nibble(b: u8) -> u8 {
    b.wrapping_shr(4) & 0x0f
}

fn lo_nibble(b: u8) -> u8 {
    b & 0x0f
}

/// `n * size`, as a length; counts here are at most 255 so this cannot
/// saturate in practice, and a saturated value fails every comparison.
fn times(n: usize, size: usize) -> usize {
    n.saturating_mul(size)
}

/// Sum of lengths (saturating; see [`times`]).
fn sum(parts: &[usize]) -> usize {
    parts.iter().fold(0usize, |acc, p| acc.saturating_add(*p))
}

fn len_u16(len: usize) -> Result<u16, EncodeError> {
    u16::try_from(len).map_err(|_| EncodeError::Inconsistent("message longer than 65535 bytes"))
}

fn count_u8(n: usize) -> u8 {
    // Every list here has a capacity of at most 8.
    u8::try_from(n).unwrap_or(u8::MAX)
}

// ---------------------------------------------------------------------------
// A fixed-capacity list (no alloc).
// ---------------------------------------------------------------------------

/// A list of at most `N` elements stored inline (the crate does not allocate).
#[derive(Clone, Copy)]
pub struct BoundedVec<T: Copy + Default, const N: usize> {
    items: [T; N],
    len: usize,
}

impl<T: Copy + Default, const N: usize> BoundedVec<T, N> {
    /// The capacity.
    pub const CAPACITY: usize = N;

    /// An empty list.
    pub fn new() -> Self {
        Self {
            items: [T::default(); N],
            len: 0,
        }
    }

    /// A list holding `items`, or `None` if there are more than `N`.
    pub fn from_slice(items: &[T]) -> Option<Self> {
        let mut v = Self::new();
        for item in items {
            v.push(*item).ok()?;
        }
        Some(v)
    }

    /// Appends `item`; gives it back if the list is full.
    pub fn push(&mut self, item: T) -> Result<(), T> {
        match self.items.get_mut(self.len) {
            Some(slot) => {
                *slot = item;
                self.len = self.len.saturating_add(1);
                Ok(())
            }
            None => Err(item),
        }
    }

    /// The elements.
    pub fn as_slice(&self) -> &[T] {
        self.items.get(..self.len).unwrap_or(&[])
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Iterates over the elements.
    pub fn iter(&self) -> core::slice::Iter<'_, T> {
        self.as_slice().iter()
    }
}

impl<T: Copy + Default, const N: usize> Default for BoundedVec<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Copy + Default + PartialEq, const N: usize> PartialEq for BoundedVec<T, N> {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<T: Copy + Default + Eq, const N: usize> Eq for BoundedVec<T, N> {}

impl<T: Copy + Default + fmt::Debug, const N: usize> fmt::Debug for BoundedVec<T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

impl<'a, T: Copy + Default, const N: usize> IntoIterator for &'a BoundedVec<T, N> {
    type Item = &'a T;
    type IntoIter = core::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

// ---------------------------------------------------------------------------
// Header.
// ---------------------------------------------------------------------------

/// The eye catcher at the start (and end) of every CLC message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Eyecatcher {
    /// "SMCR" in EBCDIC. C uses it for proposals, declines and SMC-R
    /// accepts/confirms.
    SmcR,
    /// "SMCD" in EBCDIC. C uses it for SMC-D accepts/confirms.
    SmcD,
}

impl Eyecatcher {
    /// The four wire bytes.
    pub const fn bytes(self) -> [u8; 4] {
        match self {
            Self::SmcR => EYECATCHER_SMCR,
            Self::SmcD => EYECATCHER_SMCD,
        }
    }

    /// The eye catcher these bytes are, if any.
    pub fn from_bytes(b: [u8; 4]) -> Option<Self> {
        if b == EYECATCHER_SMCR {
            Some(Self::SmcR)
        } else if b == EYECATCHER_SMCD {
            Some(Self::SmcD)
        } else {
            None
        }
    }
}

/// CLC message type (`SMC_CLC_PROPOSAL` ... `SMC_CLC_DECLINE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageType {
    /// `SMC_CLC_PROPOSAL` (1).
    Proposal = 1,
    /// `SMC_CLC_ACCEPT` (2).
    Accept = 2,
    /// `SMC_CLC_CONFIRM` (3).
    Confirm = 3,
    /// `SMC_CLC_DECLINE` (4).
    Decline = 4,
}

impl MessageType {
    /// The type for a wire value.
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(Self::Proposal),
            2 => Some(Self::Accept),
            3 => Some(Self::Confirm),
            4 => Some(Self::Decline),
            _ => None,
        }
    }

    /// The wire value.
    pub fn as_u8(self) -> u8 {
        self as u8
    }
}

/// An SMC type as carried in the 2-bit `typev1`/`typev2` header fields of a
/// proposal (`SMC_TYPE_R` ... `SMC_TYPE_B`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmcType {
    /// `SMC_TYPE_R` (0): SMC-R only.
    R = 0,
    /// `SMC_TYPE_D` (1): SMC-D only.
    D = 1,
    /// `SMC_TYPE_N` (2): neither.
    N = 2,
    /// `SMC_TYPE_B` (3): both.
    B = 3,
}

impl SmcType {
    /// The type in the low two bits of `v`.
    pub fn from_bits(v: u8) -> Self {
        match v & 0b11 {
            0 => Self::R,
            1 => Self::D,
            2 => Self::N,
            _ => Self::B,
        }
    }

    /// The 2-bit wire value.
    pub fn bits(self) -> u8 {
        self as u8
    }

    /// `smcr_indicated()`.
    pub fn smcr_indicated(self) -> bool {
        matches!(self, Self::R | Self::B)
    }

    /// `smcd_indicated()`.
    pub fn smcd_indicated(self) -> bool {
        matches!(self, Self::D | Self::B)
    }

    /// `smc_indicated_type()`.
    pub fn indicated(smcd: bool, smcr: bool) -> Self {
        match (smcd, smcr) {
            (true, true) => Self::B,
            (true, false) => Self::D,
            (false, true) => Self::R,
            (false, false) => Self::N,
        }
    }
}

/// `struct smc_clc_msg_hdr` (smc_clc.h), 8 bytes:
///
/// | byte | field |
/// |------|-------|
/// | 0..4 | eye catcher |
/// | 4    | type |
/// | 5..7 | length (big-endian, whole message incl. header and trailer) |
/// | 7    | `version` bits 7..4, `typev2` bits 3..2, `typev1` bits 1..0 |
///
/// (C declares `u8 typev1:2, typev2:2, version:4` for little-endian bit
/// fields: the first member takes the least significant bits.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Eye catcher.
    pub eyecatcher: Eyecatcher,
    /// Message type.
    pub msg_type: MessageType,
    /// Declared message length.
    pub length: u16,
    /// SMC version (4 bits).
    pub version: u8,
    /// `typev2` (2 bits): an [`SmcType`] in a proposal, the first contact bit
    /// ([`FIRST_CONTACT_MASK`]) in an accept/confirm/decline.
    pub typev2: u8,
    /// `typev1` (2 bits): an [`SmcType`].
    pub typev1: u8,
}

impl Header {
    /// Decodes the first 8 bytes of `buf` as C's `smc_clc_wait_msg()` peeks
    /// them (version, type) plus the eye catcher check of
    /// `smc_clc_msg_hdr_valid()`.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        if buf.len() < HEADER_LEN {
            return Err(DecodeError::Truncated {
                needed: HEADER_LEN,
                available: buf.len(),
            });
        }
        let mut r = ZRd::at(buf, 0);
        let eye = r.arr::<4>();
        let ty = r.u8();
        let length = r.be16();
        let bits = r.u8();
        let version = hi_nibble(bits);
        if version < SMC_V1 {
            return Err(DecodeError::BadVersion(version));
        }
        let msg_type = MessageType::from_u8(ty).ok_or(DecodeError::UnknownType(ty))?;
        let eyecatcher = Eyecatcher::from_bytes(eye).ok_or(DecodeError::BadEyecatcher(eye))?;
        Ok(Self {
            eyecatcher,
            msg_type,
            length,
            version,
            typev2: bits.wrapping_shr(2) & 0b11,
            typev1: bits & 0b11,
        })
    }

    /// Encodes the header into the first 8 bytes of `out`.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        check_version(self.version)?;
        check_bits("typev2", self.typev2, 2)?;
        check_bits("typev1", self.typev1, 2)?;
        let mut w = Wr::new(out);
        w.put(&self.eyecatcher.bytes())?;
        w.u8(self.msg_type.as_u8())?;
        w.be16(self.length)?;
        w.u8(version_byte(self.version, self.typev2, self.typev1))?;
        Ok(HEADER_LEN)
    }

    /// Whether the first contact bit is set in `typev2`.
    pub fn first_contact(&self) -> bool {
        self.typev2 & FIRST_CONTACT_MASK != 0
    }
}

fn check_version(v: u8) -> Result<(), EncodeError> {
    if v == 0 || v > 15 {
        return Err(EncodeError::FieldOutOfRange {
            field: "version",
            value: u64::from(v),
        });
    }
    Ok(())
}

fn version_byte(version: u8, typev2: u8, typev1: u8) -> u8 {
    (version & 0x0f).wrapping_shl(4) | (typev2 & 0b11).wrapping_shl(2) | (typev1 & 0b11)
}

fn write_header(
    w: &mut Wr<'_>,
    eye: Eyecatcher,
    ty: MessageType,
    len: usize,
    version: u8,
    typev2: u8,
    typev1: u8,
) -> Result<(), EncodeError> {
    check_version(version)?;
    w.put(&eye.bytes())?;
    w.u8(ty.as_u8())?;
    w.be16(len_u16(len)?)?;
    w.u8(version_byte(version, typev2, typev1))
}

/// Decodes the header, checks the type and that the whole declared message is
/// in `buf`; returns the header and the message bytes (`buf[..length]`).
fn begin<'a>(buf: &'a [u8], want: &[MessageType]) -> Result<(Header, &'a [u8]), DecodeError> {
    let hdr = Header::decode(buf)?;
    if !want.contains(&hdr.msg_type) {
        let expected = want.first().copied().unwrap_or(hdr.msg_type);
        return Err(DecodeError::UnexpectedType {
            expected,
            found: hdr.msg_type,
        });
    }
    let len = usize::from(hdr.length);
    let msg = buf.get(..len).ok_or(DecodeError::Truncated {
        needed: len,
        available: buf.len(),
    })?;
    Ok((hdr, msg))
}

/// The trailer check of `smc_clc_msg_hdr_valid()`: the last four bytes must be
/// either eye catcher (not necessarily the header's).
fn check_trailer(msg: &[u8]) -> Result<(), DecodeError> {
    let start = msg.len().saturating_sub(TRAILER_LEN);
    let t = ZRd::at(msg, start).arr::<4>();
    if msg.len() < TRAILER_LEN || Eyecatcher::from_bytes(t).is_none() {
        return Err(DecodeError::BadTrailer(t));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Pieces shared by several messages.
// ---------------------------------------------------------------------------

/// `struct smc_clc_msg_local` (30 bytes): the SMC-R identity of the sender.
/// In a proposal C fills it only when SMC-R is indicated in `typev1`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClcLocal {
    /// `id_for_peer`: the unique system id.
    pub id_for_peer: [u8; SYSTEMID_LEN],
    /// `gid`: GID of the RoCE port.
    pub gid: [u8; GID_SIZE],
    /// `mac`: MAC of the RoCE port.
    pub mac: [u8; 6],
}

impl ClcLocal {
    fn read(r: &mut ZRd<'_>) -> Self {
        Self {
            id_for_peer: r.arr(),
            gid: r.arr(),
            mac: r.arr(),
        }
    }

    fn write(&self, w: &mut Wr<'_>) -> Result<(), EncodeError> {
        w.put(&self.id_for_peer)?;
        w.put(&self.gid)?;
        w.put(&self.mac)
    }
}

/// `struct smc_clc_smcd_gid_chid` (10 bytes, packed): an ISM GID and the
/// CHID (fabric id) of its device.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GidChid {
    /// `gid` (big-endian 64 bit).
    pub gid: u64,
    /// `chid` (big-endian 16 bit).
    pub chid: u16,
}

impl GidChid {
    fn read(r: &mut ZRd<'_>) -> Self {
        Self {
            gid: r.be64(),
            chid: r.be16(),
        }
    }

    fn write(&self, w: &mut Wr<'_>) -> Result<(), EncodeError> {
        w.be64(self.gid)?;
        w.be16(self.chid)
    }
}

/// `__smc_ism_is_emulated()`: CHIDs 0xFF00..=0xFFFF are Emulated-ISM devices
/// (loopback-ism 0xFFFF, virtio-ism 0xFF00..=0xFFFE), which take two GID/CHID
/// entries in a proposal and send `gid_ext` in accept/confirm.
pub fn chid_is_emulated(chid: u16) -> bool {
    chid & 0xFF00 == 0xFF00
}

/// `smc_compress_bufsize()` (smc_core.c, without the
/// `CONFIG_ARCH_NO_SG_CHAIN` clamp): the 4-bit size code sent as
/// `dmbe_size`/`rmbe_size`.
pub fn compress_bufsize(size: u32, is_smcd: bool) -> u8 {
    if size <= SMC_BUF_MIN_SIZE {
        return 0;
    }
    let units = size.saturating_sub(1).wrapping_shr(14); // >= 1 here
    let log = units.checked_ilog2().unwrap_or(0);
    let code = u8::try_from(log.saturating_add(1)).unwrap_or(u8::MAX);
    let max = if is_smcd {
        SMCD_DMBE_SIZES
    } else {
        SMCR_RMBE_SIZES
    };
    code.min(max)
}

/// `smc_uncompress_bufsize()`: the buffer size for a 4-bit size code
/// (`1 << (code + 14)`); `None` for codes that do not fit in 4 bits.
pub fn uncompress_bufsize(code: u8) -> Option<u32> {
    if code > 15 {
        return None;
    }
    1u32.checked_shl(u32::from(code).saturating_add(14))
}

// ---------------------------------------------------------------------------
// Proposal.
// ---------------------------------------------------------------------------

/// `struct smc_clc_msg_smcd` (40 bytes): the SMC-D (v1) info area of a
/// proposal: ISM GID/CHID, the v2 extension offset (derived, not stored
/// here), vendor OUI and options, 20 reserved bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SmcdInfo {
    /// `ism`: the native ISM device of the requester (C fills it only when
    /// SMC-D is indicated in `typev1`).
    pub ism: GidChid,
    /// `vendor_oui` (C sends zeros).
    pub vendor_oui: [u8; 3],
    /// `vendor_exp_options` (C sends zeros).
    pub vendor_exp_options: [u8; 5],
}

impl SmcdInfo {
    fn read(msg: &[u8]) -> Self {
        let mut r = ZRd::at(msg, PROPOSAL_BASE_LEN);
        let ism = GidChid::read(&mut r);
        r.skip(2); // v2_ext_offset
        Self {
            ism,
            vendor_oui: r.arr(),
            vendor_exp_options: r.arr(),
        }
    }

    fn write(&self, w: &mut Wr<'_>, v2_ext_offset: u16) -> Result<(), EncodeError> {
        self.ism.write(w)?;
        w.be16(v2_ext_offset)?;
        w.put(&self.vendor_oui)?;
        w.put(&self.vendor_exp_options)?;
        w.zeros(20)
    }
}

/// `struct smc_clc_ipv6_prefix` (17 bytes, packed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ipv6Prefix {
    /// The prefix (address with host bits cleared).
    pub prefix: [u8; 16],
    /// Its length in bits.
    pub prefix_len: u8,
}

/// `struct smc_clc_msg_proposal_prefix` (8 bytes) followed by its IPv6
/// prefix array: the IP area of a proposal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PrefixInfo {
    /// `outgoing_subnet`: the IPv4 subnet, in network byte order (C leaves it
    /// zero for IPv6).
    pub outgoing_subnet: [u8; 4],
    /// `prefix_len`: significant bits of the IPv4 subnet.
    pub prefix_len: u8,
    /// The IPv6 prefixes (`ipv6_prefixes_cnt` of them; C sends IPv6 prefixes
    /// xor an IPv4 subnet and matches IPv4 iff the count is zero).
    pub ipv6_prefixes: BoundedVec<Ipv6Prefix, MAX_IPV6_PREFIXES>,
}

impl PrefixInfo {
    fn read(msg: &[u8], pos: usize) -> Self {
        let mut r = ZRd::at(msg, pos);
        let outgoing_subnet = r.arr();
        let prefix_len = r.u8();
        r.skip(2);
        let cnt = r.u8();
        let mut ipv6_prefixes = BoundedVec::new();
        for _ in 0..cnt {
            let p = Ipv6Prefix {
                prefix: r.arr(),
                prefix_len: r.u8(),
            };
            // The caller has checked cnt <= MAX_IPV6_PREFIXES.
            let _ = ipv6_prefixes.push(p);
        }
        Self {
            outgoing_subnet,
            prefix_len,
            ipv6_prefixes,
        }
    }

    fn wire_len(&self) -> usize {
        PREFIX_LEN.saturating_add(times(self.ipv6_prefixes.len(), IPV6_PREFIX_LEN))
    }

    fn write(&self, w: &mut Wr<'_>) -> Result<(), EncodeError> {
        w.put(&self.outgoing_subnet)?;
        w.u8(self.prefix_len)?;
        w.zeros(2)?;
        w.u8(count_u8(self.ipv6_prefixes.len()))?;
        for p in &self.ipv6_prefixes {
            w.put(&p.prefix)?;
            w.u8(p.prefix_len)?;
        }
        Ok(())
    }
}

/// `struct smc_clc_v2_extension` (40 fixed bytes + EIDs): the SMC v2
/// extension of a proposal.
///
/// | byte   | field |
/// |--------|-------|
/// | 0      | `eid_cnt` |
/// | 1      | `ism_gid_cnt` (derived from [`SmcdV2Extension::gid_chids`]) |
/// | 2      | reserved |
/// | 3      | `flag`: `release` bits 7..4, reserved bits 3..1, `seid` bit 0 |
/// | 4..6   | reserved |
/// | 6..8   | `smcd_v2_ext_offset` (derived; counts from byte 8) |
/// | 8..24  | `roce`: RoCEv2 GID |
/// | 24     | `max_conns` (v2.1, SMC-R) |
/// | 25     | `max_links` (v2.1, SMC-R) |
/// | 26..28 | `feature_mask` (v2.1) |
/// | 28..40 | reserved |
/// | 40..   | `eid_cnt` user EIDs of 32 bytes |
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct V2Extension {
    /// User EIDs (`user_eids`, `eid_cnt` of them).
    pub eids: BoundedVec<Eid, MAX_UEIDS>,
    /// `flag.seid`: the system EID (in the SMC-Dv2 extension) may be used.
    pub seid: bool,
    /// `flag.release` (4 bits): the highest release the sender speaks.
    pub release: u8,
    /// `roce`: RoCEv2 GID (SMC-Rv2).
    pub roce_gid: [u8; GID_SIZE],
    /// `max_conns` (v2.1; C fills it for SMC-Rv2).
    pub max_conns: u8,
    /// `max_links` (v2.1; C fills it for SMC-Rv2).
    pub max_links: u8,
    /// `feature_mask` (v2.1).
    pub feature_mask: u16,
}

/// `struct smc_clc_smcd_v2_extension` (48 fixed bytes + GID/CHID entries):
/// system EID, 16 reserved bytes, the offered ISMv2 devices.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SmcdV2Extension {
    /// `system_eid` (C fills it only when `seid` is set).
    pub system_eid: Eid,
    /// `gidchid`: the offered ISM devices beyond the native one in the SMC-D
    /// info area (an Emulated-ISM device takes two entries, the second with
    /// the same CHID and `gid_ext` as its GID).
    pub gid_chids: BoundedVec<GidChid, MAX_V2_GID_ENTRIES>,
}

/// An SMC CLC proposal (`SMC_CLC_PROPOSAL`), v1 or v2: the message area of
/// `struct smc_clc_msg_proposal_area` (smc_clc.h) as the C sender lays it out.
///
/// Layout (v2, as sent by `smc_clc_send_proposal()`):
///
/// | offset | part |
/// |--------|------|
/// | 0      | header ([`Header`]) |
/// | 8      | [`ClcLocal`] (30 bytes) |
/// | 38     | `iparea_offset` (counts from byte 40; 40 when the IP area follows the SMC-D area, 0 when there is none) |
/// | 40     | [`SmcdInfo`] area (40 bytes; v1: only when `iparea_offset` is 40) |
/// | 40+iparea_offset | [`PrefixInfo`] (8 bytes + 17 per IPv6 prefix; v2: only when `typev1 != N`) |
/// | 52+v2_ext_offset | [`V2Extension`] (only v2 with `typev2 != N`) |
/// | v2ext+8+smcd_v2_ext_offset | [`SmcdV2Extension`] (only when `typev2` indicates SMC-D) |
/// | length-4 | trailer eye catcher (C writes the header's) |
///
/// Reserved fields are sent as zero and ignored on receipt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Proposal {
    /// Eye catcher of header and trailer (C always sends [`Eyecatcher::SmcR`]).
    pub eyecatcher: Eyecatcher,
    /// Version (1..=15; C sends 2; every version other than 1 is read as v2).
    pub version: u8,
    /// SMC types offered in v1.
    pub typev1: SmcType,
    /// SMC types offered in v2 (ignored for version 1).
    pub typev2: SmcType,
    /// SMC-R identity (zero unless SMC-R is indicated in `typev1`).
    pub local: ClcLocal,
    /// The SMC-D info area. v1: present iff `iparea_offset == 40`. v2: always
    /// on the wire; `None` only where C's `smc_get_clc_msg_smcd()` returns
    /// NULL (SMC-D in `typev1` but `iparea_offset != 40`), which C accepts
    /// only when `typev2` is N.
    pub smcd: Option<SmcdInfo>,
    /// The IP area: v1 always, v2 iff `typev1 != N`.
    pub prefix: Option<PrefixInfo>,
    /// The v2 extension: iff v2 and `typev2 != N`.
    pub v2_ext: Option<V2Extension>,
    /// The SMC-Dv2 extension: only if v2 and `typev2` indicates SMC-D; `None`
    /// there when `smcd_v2_ext_offset` is 0 or above 288, which C accepts as a
    /// message and later answers with `SMC_CLC_DECL_NOV2DEXT`
    /// (`smc_listen_v2_check()`).
    pub smcd_v2_ext: Option<SmcdV2Extension>,
}

impl Proposal {
    /// Decodes a proposal, accepting what `smc_clc_msg_prop_valid()` and the
    /// trailer check accept. `buf` may hold more than the message (the bytes
    /// after `hdr.length` are not looked at).
    ///
    /// C checks, in this order: `iparea_offset <= 40`; `ipv6_prefixes_cnt <= 8`
    /// (read at `40 + iparea_offset + 7` even when there is no IP area: in a
    /// v2 proposal with `typev1 == N` and `iparea_offset == 0` that is the
    /// last byte of the SMC-D GID); then for v1: `typev1 != N` and the exact
    /// length; for v2: a locatable v2 extension with `eid_cnt <= 8` when
    /// `typev2 != N`, `ism_gid_cnt <= 8` when `typev2` indicates SMC-D, and
    /// the exact length; finally the trailer. Any failure is `-EPROTO`.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let (hdr, msg) = begin(buf, &[MessageType::Proposal])?;
        let declared = hdr.length;
        let len = msg.len();
        if len < PROPOSAL_MIN_LEN {
            return Err(DecodeError::LengthTooShort {
                declared,
                minimum: PROPOSAL_MIN_LEN,
            });
        }
        let typev1 = SmcType::from_bits(hdr.typev1);
        let typev2 = SmcType::from_bits(hdr.typev2);

        let mut r = ZRd::at(msg, HEADER_LEN);
        let local = ClcLocal::read(&mut r);
        let iparea_offset = r.be16();
        if iparea_offset > IPAREA_OFFSET_MAX {
            return Err(DecodeError::BadOffset {
                field: OffsetField::IpArea,
                value: iparea_offset,
            });
        }
        let prefix_pos = PROPOSAL_BASE_LEN.saturating_add(usize::from(iparea_offset));
        let v6_cnt = zbyte(msg, prefix_pos.saturating_add(7));
        if usize::from(v6_cnt) > MAX_IPV6_PREFIXES {
            return Err(DecodeError::TooMany {
                field: CountField::Ipv6Prefixes,
                count: v6_cnt,
                max: MAX_IPV6_PREFIXES as u8,
            });
        }
        let prefix_len = PREFIX_LEN.saturating_add(times(usize::from(v6_cnt), IPV6_PREFIX_LEN));

        if hdr.version == SMC_V1 {
            if typev1 == SmcType::N {
                return Err(DecodeError::BadSmcType(typev1.bits()));
            }
            let expected = sum(&[prefix_pos, prefix_len, TRAILER_LEN]);
            if len != expected {
                return Err(DecodeError::LengthMismatch { declared, expected });
            }
            check_trailer(msg)?;
            let smcd = (iparea_offset == IPAREA_OFFSET_MAX).then(|| SmcdInfo::read(msg));
            return Ok(Self {
                eyecatcher: hdr.eyecatcher,
                version: hdr.version,
                typev1,
                typev2,
                local,
                smcd,
                prefix: Some(PrefixInfo::read(msg, prefix_pos)),
                v2_ext: None,
                smcd_v2_ext: None,
            });
        }

        // v2 (C treats every version other than 1 as v2).
        // smc_get_clc_msg_smcd(): NULL for SMC-D in typev1 with a foreign offset.
        let smcd_null = typev1.smcd_indicated() && iparea_offset != IPAREA_OFFSET_MAX;
        let mut v2_pos = 0usize;
        let mut eid_cnt = 0u8;
        let mut gid_cnt = 0u8;
        if typev2 != SmcType::N {
            if smcd_null {
                return Err(DecodeError::BadOffset {
                    field: OffsetField::IpArea,
                    value: iparea_offset,
                });
            }
            let off = ZRd::at(msg, SMCD_V2_EXT_OFFSET_FIELD).be16();
            if off == 0 || off > V2_EXT_OFFSET_MAX {
                return Err(DecodeError::BadOffset {
                    field: OffsetField::V2Ext,
                    value: off,
                });
            }
            v2_pos = SMCD_V2_EXT_OFFSET_BASE.saturating_add(usize::from(off));
            eid_cnt = zbyte(msg, v2_pos);
            if usize::from(eid_cnt) > MAX_UEIDS {
                return Err(DecodeError::TooMany {
                    field: CountField::Eids,
                    count: eid_cnt,
                    max: MAX_UEIDS as u8,
                });
            }
            gid_cnt = zbyte(msg, v2_pos.saturating_add(1));
            if typev2.smcd_indicated() && usize::from(gid_cnt) > MAX_V2_GID_ENTRIES {
                return Err(DecodeError::TooMany {
                    field: CountField::IsmGids,
                    count: gid_cnt,
                    max: MAX_V2_GID_ENTRIES as u8,
                });
            }
        }
        let expected = sum(&[
            PROPOSAL_BASE_LEN,
            SMCD_INFO_LEN,
            if typev1 != SmcType::N { prefix_len } else { 0 },
            if typev2 != SmcType::N {
                V2_EXT_FIXED_LEN.saturating_add(times(usize::from(eid_cnt), EID_LEN))
            } else {
                0
            },
            if typev2.smcd_indicated() {
                SMCD_V2_EXT_FIXED_LEN.saturating_add(times(usize::from(gid_cnt), GID_CHID_LEN))
            } else {
                0
            },
            TRAILER_LEN,
        ]);
        if len != expected {
            return Err(DecodeError::LengthMismatch { declared, expected });
        }
        check_trailer(msg)?;

        let smcd = (!smcd_null).then(|| SmcdInfo::read(msg));
        let prefix = (typev1 != SmcType::N).then(|| PrefixInfo::read(msg, prefix_pos));
        let mut v2_ext = None;
        let mut smcd_v2_ext = None;
        if typev2 != SmcType::N {
            let mut r = ZRd::at(msg, v2_pos);
            r.skip(3); // eid_cnt, ism_gid_cnt, reserved1
            let flag = r.u8();
            r.skip(2);
            let smcd_off = r.be16();
            let roce_gid = r.arr();
            let max_conns = r.u8();
            let max_links = r.u8();
            let feature_mask = r.be16();
            r.skip(12);
            let mut eids = BoundedVec::new();
            for _ in 0..eid_cnt {
                let _ = eids.push(r.arr::<EID_LEN>());
            }
            v2_ext = Some(V2Extension {
                eids,
                seid: flag & 1 != 0,
                release: hi_nibble(flag),
                roce_gid,
                max_conns,
                max_links,
                feature_mask,
            });
            // smc_get_clc_smcd_v2_ext(); C only checks the offset when it
            // uses the extension.
            if typev2.smcd_indicated() && smcd_off != 0 && smcd_off <= SMCD_V2_EXT_OFFSET_MAX {
                let pos = sum(&[v2_pos, V2_EXT_HDR_LEN, usize::from(smcd_off)]);
                let mut r = ZRd::at(msg, pos);
                let system_eid = r.arr::<EID_LEN>();
                r.skip(16);
                let mut gid_chids = BoundedVec::new();
                for _ in 0..gid_cnt {
                    let _ = gid_chids.push(GidChid::read(&mut r));
                }
                smcd_v2_ext = Some(SmcdV2Extension {
                    system_eid,
                    gid_chids,
                });
            }
        }
        Ok(Self {
            eyecatcher: hdr.eyecatcher,
            version: hdr.version,
            typev1,
            typev2,
            local,
            smcd,
            prefix,
            v2_ext,
            smcd_v2_ext,
        })
    }

    /// Checks the parts against version and types (see the field docs).
    fn check(&self) -> Result<(), EncodeError> {
        check_version(self.version)?;
        let e = EncodeError::Inconsistent;
        if self.version == SMC_V1 {
            if self.typev1 == SmcType::N {
                return Err(e("v1 proposal with typev1 N"));
            }
            if self.prefix.is_none() {
                return Err(e("v1 proposal without IP prefix area"));
            }
            if self.v2_ext.is_some() || self.smcd_v2_ext.is_some() {
                return Err(e("v1 proposal with v2 extension"));
            }
            return Ok(());
        }
        if (self.typev1 != SmcType::N) != self.prefix.is_some() {
            return Err(e(
                "v2 proposal: IP prefix area must be present iff typev1 != N",
            ));
        }
        if (self.typev2 != SmcType::N) != self.v2_ext.is_some() {
            return Err(e(
                "v2 proposal: v2 extension must be present iff typev2 != N",
            ));
        }
        if self.smcd_v2_ext.is_some() && !self.typev2.smcd_indicated() {
            return Err(e("v2 proposal: SMC-Dv2 extension without SMC-D in typev2"));
        }
        if self.smcd.is_none() && !(self.typev1.smcd_indicated() && self.typev2 == SmcType::N) {
            return Err(e(
                "v2 proposal: SMC-D area may be absent only with SMC-D in typev1 and typev2 N",
            ));
        }
        if let Some(v2) = &self.v2_ext {
            check_bits("release", v2.release, 4)?;
        }
        Ok(())
    }

    /// The encoded length.
    pub fn encoded_len(&self) -> Result<usize, EncodeError> {
        self.check()?;
        let prefix = self.prefix.as_ref().map_or(0, PrefixInfo::wire_len);
        if self.version == SMC_V1 {
            let smcd = if self.smcd.is_some() {
                SMCD_INFO_LEN
            } else {
                0
            };
            return Ok(sum(&[PROPOSAL_BASE_LEN, smcd, prefix, TRAILER_LEN]));
        }
        let v2 = self.v2_ext.as_ref().map_or(0, |v| {
            V2_EXT_FIXED_LEN.saturating_add(times(v.eids.len(), EID_LEN))
        });
        let smcd_v2 = if self.typev2.smcd_indicated() {
            let gids = self.smcd_v2_ext.as_ref().map_or(0, |x| x.gid_chids.len());
            SMCD_V2_EXT_FIXED_LEN.saturating_add(times(gids, GID_CHID_LEN))
        } else {
            0
        };
        Ok(sum(&[
            PROPOSAL_BASE_LEN,
            SMCD_INFO_LEN,
            prefix,
            v2,
            smcd_v2,
            TRAILER_LEN,
        ]))
    }

    /// Encodes the proposal into `out`; returns the number of bytes written.
    ///
    /// v2 layout as `smc_clc_send_proposal()`: SMC-D area, IP area,
    /// v2 extension, SMC-Dv2 extension, with `v2_ext_offset = 28 + IP area`
    /// and `smcd_v2_ext_offset = 32 + 32 * eid_cnt`. Two cases the C sender
    /// never produces are laid out so that C reads them back as they are
    /// here: with `typev1 == N` C reads an IPv6 prefix count at
    /// `40 + iparea_offset + 7`; Linux sends `iparea_offset` 0 with a zero
    /// SMC-D GID there, and if the GID's last byte is above 8 we point
    /// `iparea_offset` (20) at the reserved part of the SMC-D area instead.
    /// With `smcd == None` (see the field) the IP area is put at offset 40 over
    /// the SMC-D area (`iparea_offset` 0).
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        let len = self.encoded_len()?;
        let mut w = Wr::for_message(out, len)?;
        write_header(
            &mut w,
            self.eyecatcher,
            MessageType::Proposal,
            len,
            self.version,
            self.typev2.bits(),
            self.typev1.bits(),
        )?;
        self.local.write(&mut w)?;

        if self.version == SMC_V1 {
            match &self.smcd {
                Some(smcd) => {
                    w.be16(IPAREA_OFFSET_MAX)?;
                    smcd.write(&mut w, 0)?;
                }
                None => w.be16(0)?,
            }
            if let Some(p) = &self.prefix {
                p.write(&mut w)?;
            }
            w.put(&self.eyecatcher.bytes())?;
            return Ok(w.pos);
        }

        let prefix_len = self.prefix.as_ref().map_or(0, PrefixInfo::wire_len);
        match &self.smcd {
            Some(smcd) => {
                let iparea_offset = if self.typev1 != SmcType::N {
                    IPAREA_OFFSET_MAX
                } else if smcd.ism.gid & 0xFF <= MAX_IPV6_PREFIXES as u64 {
                    0
                } else {
                    20
                };
                w.be16(iparea_offset)?;
                let v2_ext_offset = if self.v2_ext.is_some() {
                    len_u16(sum(&[V2_EXT_OFFSET_CANON_BASE, prefix_len]))?
                } else {
                    0
                };
                smcd.write(&mut w, v2_ext_offset)?;
                if let Some(p) = &self.prefix {
                    p.write(&mut w)?;
                }
            }
            None => {
                // Only with typev2 == N (checked): IP area over the SMC-D area.
                w.be16(0)?;
                if let Some(p) = &self.prefix {
                    p.write(&mut w)?;
                }
                w.zeros(SMCD_INFO_LEN)?;
            }
        }

        if let Some(v2) = &self.v2_ext {
            let smcd_v2 = self
                .smcd_v2_ext
                .as_ref()
                .filter(|_| self.typev2.smcd_indicated());
            let gid_cnt = smcd_v2.map_or(0, |x| x.gid_chids.len());
            w.u8(count_u8(v2.eids.len()))?;
            w.u8(count_u8(gid_cnt))?;
            w.u8(0)?;
            w.u8(nibbles(v2.release, 0) | u8::from(v2.seid))?;
            w.zeros(2)?;
            let smcd_off = if smcd_v2.is_some() {
                len_u16(sum(&[
                    SMCD_V2_EXT_OFFSET_CANON_BASE,
                    times(v2.eids.len(), EID_LEN),
                ]))?
            } else {
                0
            };
            w.be16(smcd_off)?;
            w.put(&v2.roce_gid)?;
            w.u8(v2.max_conns)?;
            w.u8(v2.max_links)?;
            w.be16(v2.feature_mask)?;
            w.zeros(12)?;
            for eid in &v2.eids {
                w.put(eid)?;
            }
            if self.typev2.smcd_indicated() {
                match smcd_v2 {
                    Some(x) => {
                        w.put(&x.system_eid)?;
                        w.zeros(16)?;
                        for g in &x.gid_chids {
                            g.write(&mut w)?;
                        }
                    }
                    None => w.zeros(SMCD_V2_EXT_FIXED_LEN)?,
                }
            }
        }
        w.put(&self.eyecatcher.bytes())?;
        Ok(w.pos)
    }
}

// ---------------------------------------------------------------------------
// Accept / Confirm.
// ---------------------------------------------------------------------------

/// Whether an [`AcceptConfirm`] is an accept or a confirm (same layout).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AcceptConfirmKind {
    /// `SMC_CLC_ACCEPT`, server to client.
    Accept,
    /// `SMC_CLC_CONFIRM`, client to server.
    Confirm,
}

impl AcceptConfirmKind {
    /// The message type.
    pub fn msg_type(self) -> MessageType {
        match self {
            Self::Accept => MessageType::Accept,
            Self::Confirm => MessageType::Confirm,
        }
    }

    /// C's receive buffer for this kind: longer messages are only partly
    /// read and their trailer is not checked (`smc_clc_wait_msg()`).
    pub fn c_recv_buf_len(self) -> usize {
        match self {
            Self::Accept => MAX_ACCEPT_LEN,
            Self::Confirm => MAX_CONFIRM_LEN,
        }
    }
}

/// `struct smc_clc_first_contact_ext` (36 bytes) and, when present,
/// `struct smc_clc_first_contact_ext_v2x` (16 more): sent in a v2
/// accept/confirm that sets the first contact bit.
///
/// | byte   | field |
/// |--------|-------|
/// | 0      | `v2_direct` bit 7, reserved bits 6..0 |
/// | 1      | `os_type` bits 7..4, `release` bits 3..0 |
/// | 2..4   | reserved |
/// | 4..36  | `hostname` |
/// | 36     | `max_conns` (SMC-R; reserved for SMC-D) |
/// | 37     | `max_links` (SMC-R; reserved for SMC-D) |
/// | 38..40 | `feature_mask` |
/// | 40..44 | `vendor_exp_options` |
/// | 44..52 | reserved |
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FirstContactExt {
    /// `v2_direct` (SMC-R: no gateway; C sends 0 for SMC-D).
    pub v2_direct: bool,
    /// `os_type` (4 bits): [`OS_LINUX`] etc.
    pub os_type: u8,
    /// `release` (4 bits): the negotiated release.
    pub release: u8,
    /// `hostname`, blank padded.
    pub hostname: [u8; HOSTNAME_LEN],
    /// The v2.1 part. C sends it for SMC-R always and for SMC-D when
    /// `release >= 1` (`smc_clc_fill_fce_v2x()`), and reads it when
    /// `release >= 1`. Decoded as present when the message holds it or when
    /// `release >= 1` (then, like C, from whatever follows, zero past the end).
    pub v2x: Option<FceV2x>,
}

/// The v2.1 part of the first contact extension.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FceV2x {
    /// `max_conns` (SMC-R only; `reserved3[0]` for SMC-D).
    pub max_conns: u8,
    /// `max_links` (SMC-R only; `reserved3[1]` for SMC-D).
    pub max_links: u8,
    /// `feature_mask`.
    pub feature_mask: u16,
    /// `vendor_exp_options`.
    pub vendor_exp_options: u32,
}

impl FirstContactExt {
    /// Reads the extension at `pos`; `avail` is how many bytes of it the
    /// message holds before its trailer.
    fn read(msg: &[u8], pos: usize, avail: usize) -> Self {
        let mut r = ZRd::at(msg, pos);
        let b0 = r.u8();
        let b1 = r.u8();
        r.skip(2);
        let hostname = r.arr();
        let release = lo_nibble(b1);
        let v2x = (release >= SMC_RELEASE_1 || avail >= FCE_V2X_LEN).then(|| {
            let max_conns = r.u8();
            let max_links = r.u8();
            let feature_mask = r.be16();
            let vendor_exp_options = r.be32();
            FceV2x {
                max_conns,
                max_links,
                feature_mask,
                vendor_exp_options,
            }
        });
        Self {
            v2_direct: b0 & 0x80 != 0,
            os_type: hi_nibble(b1),
            release,
            hostname,
            v2x,
        }
    }

    fn wire_len(&self) -> usize {
        if self.v2x.is_some() {
            FCE_V2X_LEN
        } else {
            FCE_LEN
        }
    }

    fn check(&self) -> Result<(), EncodeError> {
        check_bits("os_type", self.os_type, 4)?;
        check_bits("release", self.release, 4)?;
        if self.release >= SMC_RELEASE_1 && self.v2x.is_none() {
            // C would read the trailer as the v2.1 fields.
            return Err(EncodeError::Inconsistent(
                "first contact extension release >= 1 without v2.1 part",
            ));
        }
        Ok(())
    }

    fn write(&self, w: &mut Wr<'_>) -> Result<(), EncodeError> {
        w.u8(if self.v2_direct { 0x80 } else { 0 })?;
        w.u8(nibbles(self.os_type, self.release))?;
        w.zeros(2)?;
        w.put(&self.hostname)?;
        if let Some(x) = &self.v2x {
            w.u8(x.max_conns)?;
            w.u8(x.max_links)?;
            w.be16(x.feature_mask)?;
            w.be32(x.vendor_exp_options)?;
            w.zeros(8)?;
        }
        Ok(())
    }
}

/// `struct smcd_clc_msg_accept_confirm_common` (24 bytes, packed) and, for v2,
/// the `d1` part (42 bytes): the SMC-D body of an accept/confirm.
///
/// | offset | field |
/// |--------|-------|
/// | 8..16  | `gid`: sender's ISM GID |
/// | 16..24 | `token`: DMB token |
/// | 24     | `dmbe_idx` |
/// | 25     | `dmbe_size` bits 7..4 (compressed, see [`compress_bufsize`]), reserved bits 3..0 |
/// | 26..28 | reserved |
/// | 28..32 | `linkid` (C copies the 4-byte link group id here) |
/// | 32..44 | v1: reserved; trailer at 44 |
/// | 32..34 | v2: `chid` |
/// | 34..66 | v2: `eid` (negotiated EID) |
/// | 66..74 | v2: `gid_ext` (Emulated-ISM only) |
/// | 74..   | v2 first contact: [`FirstContactExt`]; then the trailer |
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SmcdAcceptConfirm {
    /// `gid`.
    pub gid: u64,
    /// `token`.
    pub token: u64,
    /// `dmbe_idx` (C sends 0).
    pub dmbe_idx: u8,
    /// `dmbe_size` (4 bits).
    pub dmbe_size: u8,
    /// `linkid`: the link group id bytes.
    pub linkid: [u8; 4],
    /// The v2 part: present iff the version is not 1.
    pub v2: Option<SmcdAcceptConfirmV2>,
}

/// The SMC-D v2 part of an accept/confirm (`d1` + first contact extension).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SmcdAcceptConfirmV2 {
    /// `chid` of the device used.
    pub chid: u16,
    /// `eid`: the negotiated EID.
    pub eid: Eid,
    /// `gid_ext` (Emulated-ISM devices only; else zero).
    pub gid_ext: u64,
    /// First contact extension: present iff the first contact bit is set.
    pub fce: Option<FirstContactExt>,
}

/// `struct smcr_clc_msg_accept_confirm` (56 bytes, packed) and, for v2, the
/// `r1` part: the SMC-R body of an accept/confirm.
///
/// | offset | field |
/// |--------|-------|
/// | 8..38  | [`ClcLocal`] |
/// | 38..41 | `qpn` (24 bit) |
/// | 41..45 | `rmb_rkey` |
/// | 45     | `rmbe_idx` |
/// | 46..50 | `rmbe_alert_token` |
/// | 50     | `rmbe_size` bits 7..4, `qp_mtu` bits 3..0 |
/// | 51     | reserved |
/// | 52..60 | `rmb_dma_addr` |
/// | 60     | reserved |
/// | 61..64 | `psn` (24 bit) |
/// | 64..96 | v2: `eid` |
/// | 96..104| v2: reserved |
/// | 104..  | v2 first contact: [`FirstContactExt`], then for a confirm `struct smc_clc_fce_gid_ext` |
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SmcrAcceptConfirm {
    /// `lcl`.
    pub local: ClcLocal,
    /// `qpn` (24 bit).
    pub qpn: u32,
    /// `rmb_rkey`.
    pub rmb_rkey: u32,
    /// `rmbe_idx`.
    pub rmbe_idx: u8,
    /// `rmbe_alert_token`.
    pub rmbe_alert_token: u32,
    /// `rmbe_size` (4 bits).
    pub rmbe_size: u8,
    /// `qp_mtu` (4 bits).
    pub qp_mtu: u8,
    /// `rmb_dma_addr`.
    pub rmb_dma_addr: u64,
    /// `psn` (24 bit).
    pub psn: u32,
    /// The v2 part: present iff the version is not 1.
    pub v2: Option<SmcrAcceptConfirmV2>,
}

/// The SMC-R v2 part of an accept/confirm.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SmcrAcceptConfirmV2 {
    /// `eid`: the negotiated EID.
    pub eid: Eid,
    /// First contact extension: present iff the first contact bit is set.
    pub fce: Option<FirstContactExt>,
    /// `struct smc_clc_fce_gid_ext` (`gid_cnt`, 3 reserved, GIDs): sent in a
    /// first contact v2 confirm after the v2.1 part. C never reads it; it is
    /// decoded when it is present and well formed (else `None`).
    pub gid_list: Option<BoundedVec<[u8; GID_SIZE], MAX_FCE_GIDS>>,
}

/// The SMC-D or SMC-R body of an accept/confirm (`typev1` D or R).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AcceptConfirmBody {
    /// `typev1 == SMC_TYPE_D`.
    SmcD(SmcdAcceptConfirm),
    /// `typev1 == SMC_TYPE_R`.
    SmcR(SmcrAcceptConfirm),
}

/// An SMC CLC accept or confirm (`struct smc_clc_msg_accept_confirm`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AcceptConfirm {
    /// Accept or confirm.
    pub kind: AcceptConfirmKind,
    /// Eye catcher of header and trailer (C: SMC-D for SMC-D, SMC-R for SMC-R).
    pub eyecatcher: Eyecatcher,
    /// Version (1..=15; every version other than 1 is read as v2).
    pub version: u8,
    /// First contact bit of `typev2` (v1 too): the sender created a new link
    /// group.
    pub first_contact: bool,
    /// The body.
    pub body: AcceptConfirmBody,
}

impl AcceptConfirm {
    /// Decodes an accept or confirm, accepting what
    /// `smc_clc_msg_acc_conf_valid()` and the trailer check accept: `typev1`
    /// R or D; v1 exactly 68 (R) / 48 (D) bytes; v2 at least 108 (R) / 78 (D);
    /// the trailer unless the message is longer than C's receive buffer
    /// ([`AcceptConfirmKind::c_recv_buf_len`]). Bytes past the parts
    /// described here are ignored, as in C.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let (hdr, msg) = begin(buf, &[MessageType::Accept, MessageType::Confirm])?;
        let kind = if hdr.msg_type == MessageType::Confirm {
            AcceptConfirmKind::Confirm
        } else {
            AcceptConfirmKind::Accept
        };
        let declared = hdr.length;
        let len = msg.len();
        let is_smcd = match SmcType::from_bits(hdr.typev1) {
            SmcType::D => true,
            SmcType::R => false,
            other => return Err(DecodeError::BadSmcType(other.bits())),
        };
        let v1 = hdr.version == SMC_V1;
        match (v1, is_smcd) {
            (true, true) if len != SMCD_ACCEPT_CONFIRM_LEN => {
                return Err(DecodeError::LengthMismatch {
                    declared,
                    expected: SMCD_ACCEPT_CONFIRM_LEN,
                })
            }
            (true, false) if len != SMCR_ACCEPT_CONFIRM_LEN => {
                return Err(DecodeError::LengthMismatch {
                    declared,
                    expected: SMCR_ACCEPT_CONFIRM_LEN,
                })
            }
            (false, true) if len < SMCD_ACCEPT_CONFIRM_LEN_V2 => {
                return Err(DecodeError::LengthTooShort {
                    declared,
                    minimum: SMCD_ACCEPT_CONFIRM_LEN_V2,
                })
            }
            (false, false) if len < SMCR_ACCEPT_CONFIRM_LEN_V2 => {
                return Err(DecodeError::LengthTooShort {
                    declared,
                    minimum: SMCR_ACCEPT_CONFIRM_LEN_V2,
                })
            }
            _ => {}
        }
        if len <= kind.c_recv_buf_len() {
            check_trailer(msg)?;
        }
        let first_contact = hdr.first_contact();
        let body_end = len.saturating_sub(TRAILER_LEN);
        let mut r = ZRd::at(msg, HEADER_LEN);
        let body = if is_smcd {
            let gid = r.be64();
            let token = r.be64();
            let dmbe_idx = r.u8();
            let dmbe_size = hi_nibble(r.u8());
            r.skip(2);
            let linkid = r.arr();
            let v2 = (!v1).then(|| {
                let chid = r.be16();
                let eid = r.arr();
                let gid_ext = r.be64();
                let fce = first_contact.then(|| {
                    FirstContactExt::read(
                        msg,
                        SMCD_FCE_OFFSET,
                        body_end.saturating_sub(SMCD_FCE_OFFSET),
                    )
                });
                SmcdAcceptConfirmV2 {
                    chid,
                    eid,
                    gid_ext,
                    fce,
                }
            });
            AcceptConfirmBody::SmcD(SmcdAcceptConfirm {
                gid,
                token,
                dmbe_idx,
                dmbe_size,
                linkid,
                v2,
            })
        } else {
            let local = ClcLocal::read(&mut r);
            let qpn = r.be24();
            let rmb_rkey = r.be32();
            let rmbe_idx = r.u8();
            let rmbe_alert_token = r.be32();
            let sizes = r.u8();
            r.skip(1);
            let rmb_dma_addr = r.be64();
            r.skip(1);
            let psn = r.be24();
            let v2 = (!v1).then(|| {
                let eid = r.arr();
                let fce = first_contact.then(|| {
                    FirstContactExt::read(
                        msg,
                        SMCR_FCE_OFFSET,
                        body_end.saturating_sub(SMCR_FCE_OFFSET),
                    )
                });
                let gid_list = match (&fce, kind) {
                    (Some(f), AcceptConfirmKind::Confirm) if f.v2x.is_some() => {
                        read_gid_list(msg, SMCR_FCE_OFFSET.saturating_add(FCE_V2X_LEN), body_end)
                    }
                    _ => None,
                };
                SmcrAcceptConfirmV2 { eid, fce, gid_list }
            });
            AcceptConfirmBody::SmcR(SmcrAcceptConfirm {
                local,
                qpn,
                rmb_rkey,
                rmbe_idx,
                rmbe_alert_token,
                rmbe_size: hi_nibble(sizes),
                qp_mtu: lo_nibble(sizes),
                rmb_dma_addr,
                psn,
                v2,
            })
        };
        Ok(Self {
            kind,
            eyecatcher: hdr.eyecatcher,
            version: hdr.version,
            first_contact,
            body,
        })
    }

    /// Checks the parts against version and first contact bit.
    fn check(&self) -> Result<(), EncodeError> {
        check_version(self.version)?;
        let e = EncodeError::Inconsistent;
        let v1 = self.version == SMC_V1;
        match &self.body {
            AcceptConfirmBody::SmcD(d) => {
                check_bits("dmbe_size", d.dmbe_size, 4)?;
                match (&d.v2, v1) {
                    (Some(_), true) => return Err(e("v1 accept/confirm with v2 part")),
                    (None, false) => return Err(e("v2 accept/confirm without v2 part")),
                    (Some(x), false) => check_fce(&x.fce, self.first_contact)?,
                    (None, true) => {}
                }
            }
            AcceptConfirmBody::SmcR(r) => {
                check_bits("rmbe_size", r.rmbe_size, 4)?;
                check_bits("qp_mtu", r.qp_mtu, 4)?;
                for (field, v) in [("qpn", r.qpn), ("psn", r.psn)] {
                    if v > 0xFF_FFFF {
                        return Err(EncodeError::FieldOutOfRange {
                            field,
                            value: u64::from(v),
                        });
                    }
                }
                match (&r.v2, v1) {
                    (Some(_), true) => return Err(e("v1 accept/confirm with v2 part")),
                    (None, false) => return Err(e("v2 accept/confirm without v2 part")),
                    (Some(x), false) => {
                        check_fce(&x.fce, self.first_contact)?;
                        if x.gid_list.is_some() {
                            let has_v2x = x.fce.as_ref().is_some_and(|f| f.v2x.is_some());
                            if self.kind != AcceptConfirmKind::Confirm || !has_v2x {
                                return Err(e(
                                    "GID list only in a first contact confirm with v2.1 part",
                                ));
                            }
                        }
                    }
                    (None, true) => {}
                }
            }
        }
        Ok(())
    }

    /// The encoded length.
    pub fn encoded_len(&self) -> Result<usize, EncodeError> {
        self.check()?;
        let fce_len = |f: &Option<FirstContactExt>| f.as_ref().map_or(0, FirstContactExt::wire_len);
        Ok(match &self.body {
            AcceptConfirmBody::SmcD(d) => match &d.v2 {
                None => SMCD_ACCEPT_CONFIRM_LEN,
                Some(x) => SMCD_ACCEPT_CONFIRM_LEN_V2.saturating_add(fce_len(&x.fce)),
            },
            AcceptConfirmBody::SmcR(r) => match &r.v2 {
                None => SMCR_ACCEPT_CONFIRM_LEN,
                Some(x) => sum(&[
                    SMCR_ACCEPT_CONFIRM_LEN_V2,
                    fce_len(&x.fce),
                    x.gid_list.as_ref().map_or(0, |g| {
                        FCE_GID_EXT_FIXED_LEN.saturating_add(times(g.len(), GID_SIZE))
                    }),
                ]),
            },
        })
    }

    /// Encodes as `smc_clc_send_confirm_accept()` lays the message out;
    /// returns the number of bytes written.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        let len = self.encoded_len()?;
        let mut w = Wr::for_message(out, len)?;
        let typev2 = if self.first_contact {
            FIRST_CONTACT_MASK
        } else {
            0
        };
        let ty = match &self.body {
            AcceptConfirmBody::SmcD(_) => SmcType::D,
            AcceptConfirmBody::SmcR(_) => SmcType::R,
        };
        write_header(
            &mut w,
            self.eyecatcher,
            self.kind.msg_type(),
            len,
            self.version,
            typev2,
            ty.bits(),
        )?;
        match &self.body {
            AcceptConfirmBody::SmcD(d) => {
                w.be64(d.gid)?;
                w.be64(d.token)?;
                w.u8(d.dmbe_idx)?;
                w.u8(nibbles(d.dmbe_size, 0))?;
                w.zeros(2)?;
                w.put(&d.linkid)?;
                match &d.v2 {
                    None => w.zeros(12)?,
                    Some(x) => {
                        w.be16(x.chid)?;
                        w.put(&x.eid)?;
                        w.be64(x.gid_ext)?;
                        if let Some(f) = &x.fce {
                            f.write(&mut w)?;
                        }
                    }
                }
            }
            AcceptConfirmBody::SmcR(r) => {
                r.local.write(&mut w)?;
                w.be24("qpn", r.qpn)?;
                w.be32(r.rmb_rkey)?;
                w.u8(r.rmbe_idx)?;
                w.be32(r.rmbe_alert_token)?;
                w.u8(nibbles(r.rmbe_size, r.qp_mtu))?;
                w.u8(0)?;
                w.be64(r.rmb_dma_addr)?;
                w.u8(0)?;
                w.be24("psn", r.psn)?;
                if let Some(x) = &r.v2 {
                    w.put(&x.eid)?;
                    w.zeros(8)?;
                    if let Some(f) = &x.fce {
                        f.write(&mut w)?;
                    }
                    if let Some(g) = &x.gid_list {
                        w.u8(count_u8(g.len()))?;
                        w.zeros(3)?;
                        for gid in g {
                            w.put(gid)?;
                        }
                    }
                }
            }
        }
        w.put(&self.eyecatcher.bytes())?;
        Ok(w.pos)
    }
}

fn check_fce(fce: &Option<FirstContactExt>, first_contact: bool) -> Result<(), EncodeError> {
    match fce {
        Some(f) if first_contact => f.check(),
        None if !first_contact => Ok(()),
        _ => Err(EncodeError::Inconsistent(
            "v2 accept/confirm: first contact extension must be present iff first contact",
        )),
    }
}

/// Reads `struct smc_clc_fce_gid_ext` at `pos` if it is complete before
/// `end` and within capacity.
fn read_gid_list(
    msg: &[u8],
    pos: usize,
    end: usize,
) -> Option<BoundedVec<[u8; GID_SIZE], MAX_FCE_GIDS>> {
    let cnt = usize::from(*msg.get(pos)?);
    let list_end = sum(&[pos, FCE_GID_EXT_FIXED_LEN, times(cnt, GID_SIZE)]);
    if pos.saturating_add(FCE_GID_EXT_FIXED_LEN) > end || list_end > end || cnt > MAX_FCE_GIDS {
        return None;
    }
    let mut r = ZRd::at(msg, pos.saturating_add(FCE_GID_EXT_FIXED_LEN));
    let mut list = BoundedVec::new();
    for _ in 0..cnt {
        let _ = list.push(r.arr::<GID_SIZE>());
    }
    Some(list)
}

// ---------------------------------------------------------------------------
// Decline.
// ---------------------------------------------------------------------------

macro_rules! decline_reasons {
    ($( $(#[$doc:meta])* $name:ident = $code:literal, )*) => {
        /// A decline reason (`SMC_CLC_DECL_*`, smc_clc.h): the
        /// `peer_diagnosis` of a DECLINE. Not an errno. Unknown codes are kept
        /// as [`DeclineReason::Other`]; equality compares the wire codes, so
        /// `Other(0x0101_0000) == Mem`.
        #[derive(Clone, Copy, Debug)]
        pub enum DeclineReason {
            $( $(#[$doc])* $name, )*
            /// A code this crate does not name.
            Other(u32),
        }

        impl DeclineReason {
            /// The wire code.
            pub const fn code(self) -> u32 {
                match self {
                    $( Self::$name => $code, )*
                    Self::Other(c) => c,
                }
            }

            /// The reason for a wire code (never fails: unknown codes become
            /// [`DeclineReason::Other`]).
            pub const fn from_code(code: u32) -> Self {
                match code {
                    $( $code => Self::$name, )*
                    c => Self::Other(c),
                }
            }
        }
    };
}

decline_reasons! {
    /// `SMC_CLC_DECL_MEM`: insufficient memory resources.
    Mem = 0x0101_0000,
    /// `SMC_CLC_DECL_TIMEOUT_CL`: timeout waiting for QP confirm link.
    TimeoutCl = 0x0201_0000,
    /// `SMC_CLC_DECL_TIMEOUT_AL`: timeout waiting for QP add link.
    TimeoutAl = 0x0202_0000,
    /// `SMC_CLC_DECL_CNFERR`: configuration error.
    CnfErr = 0x0300_0000,
    /// `SMC_CLC_DECL_PEERNOSMC`: peer did not indicate SMC.
    PeerNoSmc = 0x0301_0000,
    /// `SMC_CLC_DECL_IPSEC`: IPsec usage.
    Ipsec = 0x0302_0000,
    /// `SMC_CLC_DECL_NOSMCDEV`: no SMC device found (R or D).
    NoSmcDev = 0x0303_0000,
    /// `SMC_CLC_DECL_NOSMCDDEV`: no SMC-D device found.
    NoSmcdDev = 0x0303_0001,
    /// `SMC_CLC_DECL_NOSMCRDEV`: no SMC-R device found.
    NoSmcrDev = 0x0303_0002,
    /// `SMC_CLC_DECL_NOISM2SUPP`: hardware has no ISMv2 support.
    NoIsm2Supp = 0x0303_0003,
    /// `SMC_CLC_DECL_NOV2EXT`: peer sent no CLC v2 extension.
    NoV2Ext = 0x0303_0004,
    /// `SMC_CLC_DECL_NOV2DEXT`: peer sent no CLC SMC-Dv2 extension.
    NoV2DExt = 0x0303_0005,
    /// `SMC_CLC_DECL_NOSEID`: peer sent no SEID.
    NoSeid = 0x0303_0006,
    /// `SMC_CLC_DECL_NOSMCD2DEV`: no SMC-Dv2 device found.
    NoSmcd2Dev = 0x0303_0007,
    /// `SMC_CLC_DECL_NOUEID`: peer sent no UEID.
    NoUeid = 0x0303_0008,
    /// `SMC_CLC_DECL_RELEASEERR`: release version negotiation failed.
    ReleaseErr = 0x0303_0009,
    /// `SMC_CLC_DECL_MAXCONNERR`: max connections negotiation failed.
    MaxConnErr = 0x0303_000a,
    /// `SMC_CLC_DECL_MAXLINKERR`: max links negotiation failed.
    MaxLinkErr = 0x0303_000b,
    /// `SMC_CLC_DECL_MODEUNSUPP`: SMC modes do not match (R or D).
    ModeUnsupp = 0x0304_0000,
    /// `SMC_CLC_DECL_RMBE_EC`: peer has eye catcher in RMBE.
    RmbeEc = 0x0305_0000,
    /// `SMC_CLC_DECL_OPTUNSUPP`: fastopen sockopt not supported.
    OptUnsupp = 0x0306_0000,
    /// `SMC_CLC_DECL_DIFFPREFIX`: IP prefix / subnet mismatch.
    DiffPrefix = 0x0307_0000,
    /// `SMC_CLC_DECL_GETVLANERR`: error getting the VLAN id of the IP device.
    GetVlanErr = 0x0308_0000,
    /// `SMC_CLC_DECL_ISMVLANERR`: error registering the VLAN id on the ISM device.
    IsmVlanErr = 0x0309_0000,
    /// `SMC_CLC_DECL_NOACTLINK`: no active SMC-R link in the link group.
    NoActLink = 0x030a_0000,
    /// `SMC_CLC_DECL_NOSRVLINK`: SMC-R link from server not found.
    NoSrvLink = 0x030b_0000,
    /// `SMC_CLC_DECL_VERSMISMAT`: SMC version mismatch.
    VersMismat = 0x030c_0000,
    /// `SMC_CLC_DECL_MAX_DMB`: SMC-D DMB limit exceeded.
    MaxDmb = 0x030d_0000,
    /// `SMC_CLC_DECL_NOROUTE`: SMC-Rv2 connection, no route to peer.
    NoRoute = 0x030e_0000,
    /// `SMC_CLC_DECL_NOINDIRECT`: SMC-Rv2 connection, indirect mismatch.
    NoIndirect = 0x030f_0000,
    /// `SMC_CLC_DECL_SYNCERR`: synchronization error (C sets the first
    /// contact bit with it; the receiver then terminates the link group).
    SyncErr = 0x0400_0000,
    /// `SMC_CLC_DECL_PEERDECL`: peer declined during handshake.
    PeerDecl = 0x0500_0000,
    /// `SMC_CLC_DECL_INTERR`: internal error.
    IntErr = 0x0999_0000,
    /// `SMC_CLC_DECL_ERR_RTOK`: rtoken handling failed.
    ErrRtok = 0x0999_0001,
    /// `SMC_CLC_DECL_ERR_RDYLNK`: IB ready link failed.
    ErrRdyLnk = 0x0999_0002,
    /// `SMC_CLC_DECL_ERR_REGBUF`: registering RDMA buffers failed.
    ErrRegBuf = 0x0999_0003,
}

impl From<u32> for DeclineReason {
    /// Gives `TryFrom<u32>` too (with `Error = Infallible`).
    fn from(code: u32) -> Self {
        Self::from_code(code)
    }
}

impl From<DeclineReason> for u32 {
    fn from(r: DeclineReason) -> u32 {
        r.code()
    }
}

impl PartialEq for DeclineReason {
    fn eq(&self, other: &Self) -> bool {
        self.code() == other.code()
    }
}

impl Eq for DeclineReason {}

/// An SMC CLC decline (`struct smc_clc_msg_decline` and
/// `struct smc_clc_msg_decline_v2`).
///
/// | offset | field |
/// |--------|-------|
/// | 0..8   | header (C: SMC-R eye catcher, `typev1` 0, `typev2` = first contact bit for `SYNCERR`) |
/// | 8..16  | `id_for_peer` |
/// | 16..20 | `peer_diagnosis` ([`DeclineReason`]) |
/// | 20     | `os_type` bits 7..4, reserved bits 3..0 |
/// | 21..24 | reserved |
/// | 24..40 | v2: `peer_diagnosis_v2[4]` |
/// | 24 / 40| trailer (never checked by C) |
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decline {
    /// Eye catcher of header and trailer (C: [`Eyecatcher::SmcR`]).
    pub eyecatcher: Eyecatcher,
    /// Version: 1 gives the 28-byte v1 layout, anything else the 44-byte v2
    /// layout.
    pub version: u8,
    /// First contact bit of `typev2`: C sets it with
    /// [`DeclineReason::SyncErr`]; a C receiver that has a link group then
    /// marks it out of sync and terminates it.
    pub first_contact: bool,
    /// `id_for_peer`: the sender's system id (C: zero for SMC-D).
    pub peer_id: [u8; SYSTEMID_LEN],
    /// `peer_diagnosis`.
    pub reason: DeclineReason,
    /// `os_type` (4 bits; C: 0 in v1, [`OS_LINUX`] in v2).
    pub os_type: u8,
    /// `peer_diagnosis_v2`: present iff the version is not 1 (C sends zeros).
    pub diagnosis_v2: Option<[u32; DECL_DIAG_COUNT_V2]>,
}

impl Decline {
    /// A decline as `smc_clc_send_decline()` builds it (SMC-R eye catcher,
    /// `os_type` Linux in v2, first contact bit with `SyncErr`).
    pub fn new(version: u8, reason: DeclineReason, peer_id: [u8; SYSTEMID_LEN]) -> Self {
        let v1 = version == SMC_V1;
        Self {
            eyecatcher: Eyecatcher::SmcR,
            version,
            first_contact: reason == DeclineReason::SyncErr,
            peer_id,
            reason,
            os_type: if v1 { 0 } else { OS_LINUX },
            diagnosis_v2: (!v1).then_some([0; DECL_DIAG_COUNT_V2]),
        }
    }

    /// Decodes a decline, accepting what `smc_clc_msg_decl_valid()` accepts:
    /// exactly 28 bytes for v1 and 44 for any other version. C does not check
    /// a decline's trailer (nor `typev1`), so neither does this.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let (hdr, msg) = begin(buf, &[MessageType::Decline])?;
        let v1 = hdr.version == SMC_V1;
        let expected = if v1 { DECLINE_LEN } else { DECLINE_V2_LEN };
        if msg.len() != expected {
            return Err(DecodeError::LengthMismatch {
                declared: hdr.length,
                expected,
            });
        }
        let mut r = ZRd::at(msg, HEADER_LEN);
        let peer_id = r.arr();
        let reason = DeclineReason::from_code(r.be32());
        let os_type = hi_nibble(r.u8());
        r.skip(3);
        let diagnosis_v2 = (!v1).then(|| {
            let mut d = [0u32; DECL_DIAG_COUNT_V2];
            for x in d.iter_mut() {
                *x = r.be32();
            }
            d
        });
        Ok(Self {
            eyecatcher: hdr.eyecatcher,
            version: hdr.version,
            first_contact: hdr.first_contact(),
            peer_id,
            reason,
            os_type,
            diagnosis_v2,
        })
    }

    /// The encoded length.
    pub fn encoded_len(&self) -> Result<usize, EncodeError> {
        check_version(self.version)?;
        check_bits("os_type", self.os_type, 4)?;
        match (self.version == SMC_V1, self.diagnosis_v2.is_some()) {
            (true, false) => Ok(DECLINE_LEN),
            (false, true) => Ok(DECLINE_V2_LEN),
            _ => Err(EncodeError::Inconsistent(
                "decline: v2 diagnosis must be present iff version != 1",
            )),
        }
    }

    /// Encodes the decline; returns the number of bytes written.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        let len = self.encoded_len()?;
        let mut w = Wr::for_message(out, len)?;
        let typev2 = if self.first_contact {
            FIRST_CONTACT_MASK
        } else {
            0
        };
        write_header(
            &mut w,
            self.eyecatcher,
            MessageType::Decline,
            len,
            self.version,
            typev2,
            0,
        )?;
        w.put(&self.peer_id)?;
        w.be32(self.reason.code())?;
        w.u8(nibbles(self.os_type, 0))?;
        w.zeros(3)?;
        if let Some(d) = &self.diagnosis_v2 {
            for x in d {
                w.be32(*x)?;
            }
        }
        w.put(&self.eyecatcher.bytes())?;
        Ok(w.pos)
    }
}

// ---------------------------------------------------------------------------
// Any message.
// ---------------------------------------------------------------------------

/// Any CLC message.
///
/// A proposal takes about 700 bytes inline (its lists have fixed capacity
/// because the crate does not allocate), hence the size difference.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message {
    /// A proposal.
    Proposal(Proposal),
    /// An accept or confirm.
    AcceptConfirm(AcceptConfirm),
    /// A decline.
    Decline(Decline),
}

impl Message {
    /// Decodes whatever CLC message `buf` starts with.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        match Header::decode(buf)?.msg_type {
            MessageType::Proposal => Proposal::decode(buf).map(Self::Proposal),
            MessageType::Accept | MessageType::Confirm => {
                AcceptConfirm::decode(buf).map(Self::AcceptConfirm)
            }
            MessageType::Decline => Decline::decode(buf).map(Self::Decline),
        }
    }

    /// Decodes as `smc_clc_wait_msg(..., expected_type, ...)` does: the
    /// message must be of the expected type or a DECLINE (which C turns into
    /// `SMC_CLC_DECL_PEERDECL` and a TCP fallback).
    pub fn decode_expected(buf: &[u8], expected: MessageType) -> Result<Self, DecodeError> {
        let found = Header::decode(buf)?.msg_type;
        if found != expected && found != MessageType::Decline {
            return Err(DecodeError::UnexpectedType { expected, found });
        }
        Self::decode(buf)
    }

    /// The message type.
    pub fn msg_type(&self) -> MessageType {
        match self {
            Self::Proposal(_) => MessageType::Proposal,
            Self::AcceptConfirm(a) => a.kind.msg_type(),
            Self::Decline(_) => MessageType::Decline,
        }
    }

    /// The encoded length.
    pub fn encoded_len(&self) -> Result<usize, EncodeError> {
        match self {
            Self::Proposal(m) => m.encoded_len(),
            Self::AcceptConfirm(m) => m.encoded_len(),
            Self::Decline(m) => m.encoded_len(),
        }
    }

    /// Encodes the message; returns the number of bytes written.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        match self {
            Self::Proposal(m) => m.encode(out),
            Self::AcceptConfirm(m) => m.encode(out),
            Self::Decline(m) => m.encode(out),
        }
    }
}

/// Decodes whatever CLC message `buf` starts with ([`Message::decode`]).
pub fn decode(buf: &[u8]) -> Result<Message, DecodeError> {
    Message::decode(buf)
}
