// SPDX-License-Identifier: GPL-2.0

//! Proposal (`SMC_CLC_PROPOSAL`), v1 and v2: [`Proposal`] and its parts.

use super::codec::{check_bits, count_u8, hi_nibble, len_u16, nibbles, sum, times, zbyte, Wr, ZRd};
use super::header::{begin, check_trailer, check_version, write_header};
use super::{
    BoundedVec, ClcLocal, CountField, DecodeError, Eid, EncodeError, Eyecatcher, GidChid,
    MessageType, OffsetField, SmcType, EID_LEN, GID_CHID_LEN, GID_SIZE, HEADER_LEN,
    IPAREA_OFFSET_MAX, IPV6_PREFIX_LEN, MAX_IPV6_PREFIXES, MAX_UEIDS, MAX_V2_GID_ENTRIES,
    PREFIX_LEN, PROPOSAL_BASE_LEN, SMCD_INFO_LEN, SMCD_V2_EXT_FIXED_LEN, SMCD_V2_EXT_OFFSET_MAX,
    SMC_V1, TRAILER_LEN, V2_EXT_FIXED_LEN, V2_EXT_OFFSET_MAX,
};

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
/// | 0      | header ([`Header`](super::Header)) |
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
