// SPDX-License-Identifier: GPL-2.0

//! Why a buffer does not decode ([`DecodeError`]) or a message does not
//! encode ([`EncodeError`]).

use core::fmt;

use super::MessageType;

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
    /// `ipv6_prefixes_cnt` (max [`MAX_IPV6_PREFIXES`](super::MAX_IPV6_PREFIXES)).
    Ipv6Prefixes,
    /// `eid_cnt` of the v2 extension (max [`MAX_UEIDS`](super::MAX_UEIDS)).
    Eids,
    /// `ism_gid_cnt` of the v2 extension (max [`MAX_V2_GID_ENTRIES`](super::MAX_V2_GID_ENTRIES)).
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
