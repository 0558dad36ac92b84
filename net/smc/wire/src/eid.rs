// SPDX-License-Identifier: GPL-2.0

//! The EIDs (enterprise ids) of the SMC v2 handshake: the user EID table an
//! administrator fills over generic netlink, and the EID negotiation of a
//! v2 proposal, as the C implementation keeps and does them
//! (`net/smc/smc_clc.c`: `smc_clc_ueid_add()`, `smc_clc_ueid_remove()`,
//! `smc_clc_ueid_count()`, `smc_clc_match_eid()`; `net/smc/smc_netlink.c`:
//! the netlink policy of `SMC_NLA_EID_TABLE_ENTRY`).
//!
//! Like `clc.rs`, this file has no crate-level attributes and no `crate::`
//! paths (it reaches `clc` as `super::clc`), so the kernel module compiles it
//! with `#[path = "wire/src/eid.rs"] pub mod eid;` beside `clc.rs`.
//!
//! What C does, in short:
//!
//! - An EID is 32 bytes, stored and compared as they came (memcpy/memcmp:
//!   the kernel neither pads nor changes case; the user space tool pads with
//!   blanks). A user EID is valid when, after the trailing white space, it is
//!   not empty, starts with a letter or digit that is not lower case and
//!   consists of such characters, `.` and `-` (`smc_clc_ueid_valid()`, with
//!   the kernel's Latin-1 `<linux/ctype.h>` classes).
//! - The table holds at most [`SMC_MAX_UEID`] (4) entries in the order they
//!   were added (`list_add_tail`); a proposal lists them in that order.
//! - The system EID (SEID) is used only when `seid_enabled`, which is 0 on
//!   every architecture but s390 (`smc_clc_init()`); there enabling and
//!   disabling it fails with `EOPNOTSUPP` (`smc_nl_enable_seid()`,
//!   `smc_nl_disable_seid()`). The tables here are those of x86.

use core::fmt;

use super::clc::{Eid, V2Extension, EID_LEN};

/// Most user EIDs in the local table (`SMC_MAX_UEID`, uapi/linux/smc.h). A
/// proposal could carry 8 ([`super::clc::MAX_UEIDS`]), the table holds 4.
pub const SMC_MAX_UEID: usize = 4;

/// Length of the `SMC_NLA_EID_TABLE_ENTRY` attribute `smc_nl_add_ueid()` and
/// `smc_nl_remove_ueid()` insist on: the 32 EID bytes and a NUL.
pub const EID_ATTR_LEN: usize = EID_LEN + 1;

/// `EINVAL`.
const EINVAL: i32 = 22;
/// `ERANGE`.
const ERANGE: i32 = 34;
/// `EEXIST`.
const EEXIST: i32 = 17;
/// `ENOENT`.
const ENOENT: i32 = 2;
/// `EOPNOTSUPP`.
const EOPNOTSUPP: i32 = 95;

/// Why a change of the user EID table failed: one variant per failure of
/// the C code, [`EidError::errno`] gives the errno C returns (negated in C).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EidError {
    /// The attribute fails the netlink policy (`NLA_STRING`, `.len = 32`):
    /// empty, or longer than 32 bytes once one trailing NUL is dropped
    /// (`validate_nla()` in lib/nlattr.c): `ERANGE`, before the SMC code
    /// runs.
    Policy,
    /// No `SMC_NLA_EID_TABLE_ENTRY` attribute, or its length is not 33
    /// (`smc_nl_add_ueid()`, `smc_nl_remove_ueid()`): `EINVAL`.
    BadAttribute,
    /// The EID is not a valid user EID (`smc_clc_ueid_valid()` in
    /// `smc_clc_ueid_add()`): `EINVAL`.
    Invalid,
    /// The table already holds [`SMC_MAX_UEID`] entries
    /// (`smc_clc_ueid_add()`): `ERANGE`.
    TableFull,
    /// The table already holds this EID (`smc_clc_ueid_add()`): `EEXIST`.
    Exists,
    /// No entry matched (`smc_clc_ueid_remove()`): `ENOENT`.
    NotFound,
    /// Enabling or disabling the system EID off s390
    /// (`smc_nl_enable_seid()`, `smc_nl_disable_seid()`): `EOPNOTSUPP`.
    NotSupported,
}

impl EidError {
    /// The positive errno C returns (as `-errno`) for this failure.
    pub const fn errno(self) -> i32 {
        match self {
            Self::Policy | Self::TableFull => ERANGE,
            Self::BadAttribute | Self::Invalid => EINVAL,
            Self::Exists => EEXIST,
            Self::NotFound => ENOENT,
            Self::NotSupported => EOPNOTSUPP,
        }
    }
}

impl fmt::Display for EidError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            Self::Policy => "EID attribute fails the netlink policy",
            Self::BadAttribute => "EID attribute missing or not 33 bytes",
            Self::Invalid => "not a valid user EID",
            Self::TableFull => "user EID table full",
            Self::Exists => "user EID already in the table",
            Self::NotFound => "user EID not in the table",
            Self::NotSupported => "system EID cannot be changed on this architecture",
        };
        f.write_str(what)
    }
}

/// The kernel's `_ctype[]` classes (lib/ctype.c) that the EID check uses.
#[derive(Clone, Copy)]
struct Ctype(u8);

impl Ctype {
    /// `_U|_L|_D`, `_L` and `_S` of byte `c` (C casts to `unsigned char`).
    fn of(c: u8) -> Self {
        const U: u8 = 1;
        const L: u8 = 2;
        const D: u8 = 4;
        const S: u8 = 0x20;
        Self(match c {
            9..=13 | 32 | 160 => S,
            b'0'..=b'9' => D,
            b'A'..=b'Z' | 192..=214 | 216..=222 => U,
            b'a'..=b'z' | 223..=246 | 248..=255 => L,
            _ => 0,
        })
    }

    fn isspace(self) -> bool {
        self.0 & 0x20 != 0
    }

    fn isalnum(self) -> bool {
        self.0 & 0x07 != 0
    }

    fn islower(self) -> bool {
        self.0 & 0x02 != 0
    }
}

/// `smc_clc_ueid_valid()`: whether `eid` is a valid user EID. Trailing white
/// space (the kernel's `isspace()`: blank, `\t`..`\r`, and 0xA0) is padding;
/// what precedes it must be non-empty, start with an alphanumeric character
/// that is not lower case, and consist of such characters, `.` and `-`.
/// "Alphanumeric" and "lower case" are those of the kernel's Latin-1 ctype
/// table: e.g. 0xC0..=0xDE (but 0xD7) count as upper-case letters, NUL and
/// inner blanks are invalid.
pub fn ueid_valid(eid: &Eid) -> bool {
    let used = eid
        .iter()
        .rposition(|&c| !Ctype::of(c).isspace())
        .map_or(0, |last| last.saturating_add(1));
    let Some(body) = eid.get(..used) else {
        return false;
    };
    let Some(&first) = body.first() else {
        return false;
    };
    let upper_alnum = |c: u8| {
        let t = Ctype::of(c);
        t.isalnum() && !t.islower()
    };
    upper_alnum(first)
        && body
            .iter()
            .all(|&c| upper_alnum(c) || c == b'.' || c == b'-')
}

/// `s` blank padded to an EID, as the user space tool (`smcd ueid add`)
/// hands it to the kernel; `None` if `s` is longer than 32 bytes. The
/// kernel itself takes the 32 bytes as they are.
pub fn blank_padded(s: &[u8]) -> Option<Eid> {
    let mut eid = [b' '; EID_LEN];
    eid.get_mut(..s.len())?.copy_from_slice(s);
    Some(eid)
}

/// The netlink checks of an `SMC_NLA_EID_TABLE_ENTRY` attribute payload: the
/// policy (`NLA_STRING`, `.len = SMC_MAX_EID_LEN`), then the exact length of
/// `smc_nl_add_ueid()`/`smc_nl_remove_ueid()`. Gives the 32 EID bytes.
fn eid_attr(attr: Option<&[u8]>) -> Result<Eid, EidError> {
    let attr = attr.ok_or(EidError::BadAttribute)?;
    let Some(&last) = attr.last() else {
        return Err(EidError::Policy);
    };
    let strlen = if last == 0 {
        attr.len().saturating_sub(1)
    } else {
        attr.len()
    };
    if strlen > EID_LEN {
        return Err(EidError::Policy);
    }
    if attr.len() != EID_ATTR_LEN {
        return Err(EidError::BadAttribute);
    }
    let mut eid = [0u8; EID_LEN];
    eid.copy_from_slice(attr.get(..EID_LEN).ok_or(EidError::BadAttribute)?);
    Ok(eid)
}

/// The user EID table (`struct smc_clc_eid_table`): at most
/// [`SMC_MAX_UEID`] EIDs in the order they were added, and the
/// `seid_enabled` flag (0 on x86). No allocation; the caller provides the
/// locking C does with `smc_clc_eid_table.lock`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UeidTable {
    eids: [Eid; SMC_MAX_UEID],
    len: usize,
}

impl UeidTable {
    /// An empty table with the system EID disabled, as `smc_clc_init()`
    /// leaves it on x86.
    pub const fn new() -> Self {
        Self {
            eids: [[0; EID_LEN]; SMC_MAX_UEID],
            len: 0,
        }
    }

    /// `SMC_NETLINK_ADD_UEID`: `attr` is the `SMC_NLA_EID_TABLE_ENTRY`
    /// payload (`None` if the message has none). Checks in C's order: the
    /// netlink policy ([`EidError::Policy`]), the length of 33
    /// ([`EidError::BadAttribute`]), [`ueid_valid`] on the first 32 bytes
    /// ([`EidError::Invalid`]), a full table ([`EidError::TableFull`]), a
    /// duplicate ([`EidError::Exists`]); then appends the 32 bytes.
    pub fn add(&mut self, attr: Option<&[u8]>) -> Result<(), EidError> {
        self.add_eid(&eid_attr(attr)?)
    }

    /// `smc_clc_ueid_add()` with the 32 EID bytes.
    pub fn add_eid(&mut self, eid: &Eid) -> Result<(), EidError> {
        if !ueid_valid(eid) {
            return Err(EidError::Invalid);
        }
        if self.len >= SMC_MAX_UEID {
            return Err(EidError::TableFull);
        }
        if self.contains(eid) {
            return Err(EidError::Exists);
        }
        let slot = self.eids.get_mut(self.len).ok_or(EidError::TableFull)?;
        *slot = *eid;
        self.len = self.len.saturating_add(1);
        Ok(())
    }

    /// `SMC_NETLINK_REMOVE_UEID`: `attr` as for [`UeidTable::add`]. A
    /// missing attribute is [`EidError::BadAttribute`] (`EINVAL`), not a
    /// flush: only `SMC_NETLINK_FLUSH_UEID` empties the table. The EID is
    /// not checked for validity, only compared; [`EidError::NotFound`] when
    /// no entry equals it.
    pub fn remove(&mut self, attr: Option<&[u8]>) -> Result<(), EidError> {
        self.remove_eid(&eid_attr(attr)?)
    }

    /// `smc_clc_ueid_remove()` with the 32 EID bytes (x86: no `-EAGAIN`,
    /// which only s390 returns when the table becomes empty).
    pub fn remove_eid(&mut self, eid: &Eid) -> Result<(), EidError> {
        let mut kept = [[0u8; EID_LEN]; SMC_MAX_UEID];
        let mut n = 0usize;
        for e in self.as_slice().iter().filter(|e| *e != eid) {
            if let Some(slot) = kept.get_mut(n) {
                *slot = *e;
                n = n.saturating_add(1);
            }
        }
        if n == self.len {
            return Err(EidError::NotFound);
        }
        self.eids = kept;
        self.len = n;
        Ok(())
    }

    /// `SMC_NETLINK_FLUSH_UEID` (`smc_clc_ueid_remove(NULL)`; C returns 0
    /// whether or not there was an entry).
    pub fn flush(&mut self) {
        *self = Self::new();
    }

    /// `SMC_NETLINK_ENABLE_SEID` on x86: [`EidError::NotSupported`].
    pub fn enable_seid(&mut self) -> Result<(), EidError> {
        Err(EidError::NotSupported)
    }

    /// `SMC_NETLINK_DISABLE_SEID` on x86: [`EidError::NotSupported`].
    pub fn disable_seid(&mut self) -> Result<(), EidError> {
        Err(EidError::NotSupported)
    }

    /// `seid_enabled` (`SMC_NLA_SEID_ENABLED`): always false on x86.
    pub fn seid_enabled(&self) -> bool {
        false
    }

    /// The EIDs in table order (as `SMC_NETLINK_DUMP_UEID` lists them and a
    /// proposal carries them).
    pub fn as_slice(&self) -> &[Eid] {
        self.eids.get(..self.len).unwrap_or(&[])
    }

    /// Iterates over the EIDs in table order.
    pub fn iter(&self) -> core::slice::Iter<'_, Eid> {
        self.as_slice().iter()
    }

    /// `smc_clc_ueid_count()`.
    pub fn count(&self) -> usize {
        self.as_slice().len()
    }

    /// Whether the table holds `eid` (C: `memcmp` of the 32 bytes).
    pub fn contains(&self, eid: &Eid) -> bool {
        self.as_slice().contains(eid)
    }
}

/// `smc_clc_match_eid()`: the EID both ends share, if any.
///
/// First the system EID: when both `system_eid` (ours, C:
/// `smc_ism_get_system_eid()`, `None` when no ISM device is v2 capable) and
/// `peer_seid` (the proposal's `system_eid`; `None` for SMC-Rv2, where C
/// passes NULL) are given, `seid_enabled` (false on x86) and the proposal's
/// `seid` flag are set, and the two are equal, it is the negotiated EID.
/// Else the first of the proposal's user EIDs (in the proposal's order) that
/// the local table `ueids` holds.
pub fn match_eid(
    ext: &V2Extension,
    system_eid: Option<&Eid>,
    peer_seid: Option<&Eid>,
    ueids: &[Eid],
    seid_enabled: bool,
) -> Option<Eid> {
    if let (Some(local), Some(peer)) = (system_eid, peer_seid) {
        if seid_enabled && ext.seid && local == peer {
            return Some(*peer);
        }
    }
    ext.eids.iter().find(|e| ueids.contains(e)).copied()
}
