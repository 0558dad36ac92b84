// SPDX-License-Identifier: GPL-2.0

//! Pieces shared by several messages.

use super::codec::{Wr, ZRd};
use super::{
    EncodeError, GID_SIZE, SMCD_DMBE_SIZES, SMCR_RMBE_SIZES, SMC_BUF_MIN_SIZE, SYSTEMID_LEN,
};

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
    pub(super) fn read(r: &mut ZRd<'_>) -> Self {
        Self {
            id_for_peer: r.arr(),
            gid: r.arr(),
            mac: r.arr(),
        }
    }

    pub(super) fn write(&self, w: &mut Wr<'_>) -> Result<(), EncodeError> {
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
    pub(super) fn read(r: &mut ZRd<'_>) -> Self {
        Self {
            gid: r.be64(),
            chid: r.be16(),
        }
    }

    pub(super) fn write(&self, w: &mut Wr<'_>) -> Result<(), EncodeError> {
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
