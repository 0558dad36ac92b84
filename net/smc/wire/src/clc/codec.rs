// SPDX-License-Identifier: GPL-2.0

//! Small helpers: a zero-extending reader and a bounds-checked writer, used
//! by every message codec (nothing here is public).

use super::EncodeError;

/// Reads big-endian fields from a message; bytes past its end read as zero,
/// as they do in C's zeroed receive buffer.
pub(super) struct ZRd<'a> {
    msg: &'a [u8],
    pos: usize,
}

impl<'a> ZRd<'a> {
    pub(super) fn at(msg: &'a [u8], pos: usize) -> Self {
        Self { msg, pos }
    }

    pub(super) fn u8(&mut self) -> u8 {
        let v = self.msg.get(self.pos).copied().unwrap_or(0);
        self.pos = self.pos.saturating_add(1);
        v
    }

    pub(super) fn arr<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for b in out.iter_mut() {
            *b = self.u8();
        }
        out
    }

    pub(super) fn be16(&mut self) -> u16 {
        u16::from_be_bytes(self.arr())
    }

    pub(super) fn be24(&mut self) -> u32 {
        let [a, b, c] = self.arr();
        u32::from_be_bytes([0, a, b, c])
    }

    pub(super) fn be32(&mut self) -> u32 {
        u32::from_be_bytes(self.arr())
    }

    pub(super) fn be64(&mut self) -> u64 {
        u64::from_be_bytes(self.arr())
    }

    pub(super) fn skip(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n);
    }
}

/// The byte at `pos`, or zero past the end (see [`ZRd`]).
pub(super) fn zbyte(msg: &[u8], pos: usize) -> u8 {
    msg.get(pos).copied().unwrap_or(0)
}

/// Writes into an output buffer, failing instead of panicking.
pub(super) struct Wr<'a> {
    out: &'a mut [u8],
    pub(super) pos: usize,
}

impl<'a> Wr<'a> {
    pub(super) fn new(out: &'a mut [u8]) -> Self {
        Self { out, pos: 0 }
    }

    /// A writer for a message of `len` bytes, if `out` can hold it.
    pub(super) fn for_message(out: &'a mut [u8], len: usize) -> Result<Self, EncodeError> {
        if out.len() < len {
            return Err(EncodeError::BufferTooSmall {
                needed: len,
                available: out.len(),
            });
        }
        Ok(Self::new(out))
    }

    pub(super) fn put(&mut self, data: &[u8]) -> Result<(), EncodeError> {
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

    pub(super) fn u8(&mut self, v: u8) -> Result<(), EncodeError> {
        self.put(&[v])
    }

    pub(super) fn be16(&mut self, v: u16) -> Result<(), EncodeError> {
        self.put(&v.to_be_bytes())
    }

    pub(super) fn be24(&mut self, field: &'static str, v: u32) -> Result<(), EncodeError> {
        let [hi, a, b, c] = v.to_be_bytes();
        if hi != 0 {
            return Err(EncodeError::FieldOutOfRange {
                field,
                value: u64::from(v),
            });
        }
        self.put(&[a, b, c])
    }

    pub(super) fn be32(&mut self, v: u32) -> Result<(), EncodeError> {
        self.put(&v.to_be_bytes())
    }

    pub(super) fn be64(&mut self, v: u64) -> Result<(), EncodeError> {
        self.put(&v.to_be_bytes())
    }

    pub(super) fn zeros(&mut self, n: usize) -> Result<(), EncodeError> {
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
pub(super) fn check_bits(field: &'static str, v: u8, bits: u32) -> Result<u8, EncodeError> {
    if u32::from(v).checked_shr(bits).unwrap_or(0) != 0 {
        return Err(EncodeError::FieldOutOfRange {
            field,
            value: u64::from(v),
        });
    }
    Ok(v)
}

/// `a` in the high nibble, `b` in the low nibble.
pub(super) fn nibbles(a: u8, b: u8) -> u8 {
    (a & 0x0f).wrapping_shl(4) | (b & 0x0f)
}

pub(super) fn hi_nibble(b: u8) -> u8 {
    b.wrapping_shr(4) & 0x0f
}

pub(super) fn lo_nibble(b: u8) -> u8 {
    b & 0x0f
}

/// `n * size`, as a length; counts here are at most 255 so this cannot
/// saturate in practice, and a saturated value fails every comparison.
pub(super) fn times(n: usize, size: usize) -> usize {
    n.saturating_mul(size)
}

/// Sum of lengths (saturating; see [`times`]).
pub(super) fn sum(parts: &[usize]) -> usize {
    parts.iter().fold(0usize, |acc, p| acc.saturating_add(*p))
}

pub(super) fn len_u16(len: usize) -> Result<u16, EncodeError> {
    u16::try_from(len).map_err(|_| EncodeError::Inconsistent("message longer than 65535 bytes"))
}

pub(super) fn count_u8(n: usize) -> u8 {
    // Every list here has a capacity of at most 8.
    u8::try_from(n).unwrap_or(u8::MAX)
}
