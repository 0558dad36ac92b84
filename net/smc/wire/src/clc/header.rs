// SPDX-License-Identifier: GPL-2.0

//! The header (`struct smc_clc_msg_hdr`) and the trailer common to all CLC
//! messages: [`Header`], [`Eyecatcher`], [`MessageType`], [`SmcType`], and the
//! header/trailer checks every message decoder starts with.

use super::codec::{check_bits, hi_nibble, len_u16, Wr, ZRd};
use super::{
    DecodeError, EncodeError, EYECATCHER_SMCD, EYECATCHER_SMCR, FIRST_CONTACT_MASK, HEADER_LEN,
    SMC_V1, TRAILER_LEN,
};

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

pub(super) fn check_version(v: u8) -> Result<(), EncodeError> {
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

pub(super) fn write_header(
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
pub(super) fn begin<'a>(
    buf: &'a [u8],
    want: &[MessageType],
) -> Result<(Header, &'a [u8]), DecodeError> {
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
pub(super) fn check_trailer(msg: &[u8]) -> Result<(), DecodeError> {
    let start = msg.len().saturating_sub(TRAILER_LEN);
    let t = ZRd::at(msg, start).arr::<4>();
    if msg.len() < TRAILER_LEN || Eyecatcher::from_bytes(t).is_none() {
        return Err(DecodeError::BadTrailer(t));
    }
    Ok(())
}
