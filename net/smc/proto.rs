// SPDX-License-Identifier: GPL-2.0

//! What the arguments of `socket(2)` select, as plain Rust.

/// The IP version of the TCP connection underneath an SMC socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IpVersion {
    /// IPv4 (`SMCPROTO_SMC`).
    V4,
    /// IPv6 (`SMCPROTO_SMC6`).
    V6,
}

/// `socket(AF_SMC, SOCK_STREAM, SMCPROTO_SMC)`: SMC over IPv4.
pub(crate) const SMCPROTO_SMC: i32 = 0;
/// `socket(AF_SMC, SOCK_STREAM, SMCPROTO_SMC6)`: SMC over IPv6.
pub(crate) const SMCPROTO_SMC6: i32 = 1;

impl IpVersion {
    /// The IP version an AF_SMC `protocol` argument asks for, if it is a valid one.
    pub(crate) fn from_smcproto(protocol: i32) -> Option<Self> {
        match protocol {
            SMCPROTO_SMC => Some(Self::V4),
            SMCPROTO_SMC6 => Some(Self::V6),
            _ => None,
        }
    }
}

#[kernel::macros::kunit_tests(smc_rs_proto)]
mod tests {
    use super::*;

    #[test]
    fn smcproto_selects_ip_version() {
        assert_eq!(IpVersion::from_smcproto(SMCPROTO_SMC), Some(IpVersion::V4));
        assert_eq!(IpVersion::from_smcproto(SMCPROTO_SMC6), Some(IpVersion::V6));
    }

    #[test]
    fn other_protocols_are_rejected() {
        for p in [-1, 2, 6, 256] {
            assert_eq!(IpVersion::from_smcproto(p), None);
        }
    }
}
