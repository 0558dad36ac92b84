// SPDX-License-Identifier: GPL-2.0

//! Decline (`SMC_CLC_DECLINE`), v1 and v2: [`Decline`] and its
//! [`DeclineReason`] codes.

use super::codec::{check_bits, hi_nibble, nibbles, Wr, ZRd};
use super::header::{begin, check_version, write_header};
use super::{
    DecodeError, EncodeError, Eyecatcher, MessageType, DECLINE_LEN, DECLINE_V2_LEN,
    DECL_DIAG_COUNT_V2, FIRST_CONTACT_MASK, HEADER_LEN, OS_LINUX, SMC_V1, SYSTEMID_LEN,
};

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
