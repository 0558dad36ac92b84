// SPDX-License-Identifier: GPL-2.0

//! Accept / Confirm (`SMC_CLC_ACCEPT`, `SMC_CLC_CONFIRM`): SMC-D and SMC-R,
//! v1 and v2, with the first contact extension: [`AcceptConfirm`].

use super::codec::{check_bits, count_u8, hi_nibble, lo_nibble, nibbles, sum, times, Wr, ZRd};
use super::header::{begin, check_trailer, check_version, write_header};
use super::{
    BoundedVec, ClcLocal, DecodeError, Eid, EncodeError, Eyecatcher, MessageType, SmcType,
    FCE_GID_EXT_FIXED_LEN, FCE_LEN, FCE_V2X_LEN, FIRST_CONTACT_MASK, GID_SIZE, HEADER_LEN,
    HOSTNAME_LEN, MAX_ACCEPT_LEN, MAX_CONFIRM_LEN, MAX_FCE_GIDS, SMCD_ACCEPT_CONFIRM_LEN,
    SMCD_ACCEPT_CONFIRM_LEN_V2, SMCD_FCE_OFFSET, SMCR_ACCEPT_CONFIRM_LEN,
    SMCR_ACCEPT_CONFIRM_LEN_V2, SMCR_FCE_OFFSET, SMC_RELEASE_1, SMC_V1, TRAILER_LEN,
};

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
    /// `os_type` (4 bits): [`OS_LINUX`](super::OS_LINUX) etc.
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
/// | 25     | `dmbe_size` bits 7..4 (compressed, see [`compress_bufsize`](super::compress_bufsize)), reserved bits 3..0 |
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
