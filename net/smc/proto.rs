// SPDX-License-Identifier: GPL-2.0

//! What the arguments of `socket(2)` select, as plain Rust.

/// The IP version of the TCP connection underneath an SMC socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IpVersion {
    /// IPv4 (`SMCPROTO_SMC`, or `AF_INET` with `IPPROTO_SMC`).
    V4,
    /// IPv6 (`SMCPROTO_SMC6`, or `AF_INET6` with `IPPROTO_SMC`).
    V6,
}

/// `AF_SMC`.
pub(crate) const AF_SMC: u16 = 43;
/// `socket(AF_INET | AF_INET6, SOCK_STREAM, IPPROTO_SMC)`: SMC as an IP protocol.
pub(crate) const IPPROTO_SMC: u16 = 256;

/// `socket(AF_SMC, SOCK_STREAM, SMCPROTO_SMC)`: SMC over IPv4.
pub(crate) const SMCPROTO_SMC: i32 = 0;
/// `socket(AF_SMC, SOCK_STREAM, SMCPROTO_SMC6)`: SMC over IPv6.
pub(crate) const SMCPROTO_SMC6: i32 = 1;

/// The state of an SMC socket (`enum smc_state`, as `sk_state` and smc_diag show it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum SmcState {
    /// Connected.
    Active = 1,
    /// Listening (the value of `TCP_LISTEN`, which `SO_ACCEPTCONN` tests).
    Listen = 10,
}

impl IpVersion {
    /// The address family of the CLC socket.
    pub(crate) fn family(self) -> u16 {
        match self {
            Self::V4 => AF_INET,
            Self::V6 => AF_INET6,
        }
    }

    /// The IP version a socket created in address family `family` with `protocol` asks for,
    /// if the pair is one of SMC's: `AF_SMC` with `SMCPROTO_SMC` or `SMCPROTO_SMC6`, or
    /// `AF_INET`/`AF_INET6` with `IPPROTO_SMC`.
    pub(crate) fn for_socket(family: u16, protocol: i32) -> Option<Self> {
        let ipproto = protocol == i32::from(IPPROTO_SMC);
        match family {
            AF_SMC if protocol == SMCPROTO_SMC => Some(Self::V4),
            AF_SMC if protocol == SMCPROTO_SMC6 => Some(Self::V6),
            AF_INET if ipproto => Some(Self::V4),
            AF_INET6 if ipproto => Some(Self::V6),
            _ => None,
        }
    }
}

/// `AF_UNSPEC`, `AF_INET`, `AF_INET6`.
const AF_UNSPEC: u16 = 0;
const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;

/// Why an address given to `bind`/`connect` is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AddrError {
    /// Shorter than the call needs.
    TooShort,
    /// Not an IP address.
    NotIp,
}

fn sa_family(addr: &[u8]) -> Option<u16> {
    Some(u16::from_ne_bytes([*addr.first()?, *addr.get(1)?]))
}

/// Checks a `bind` address as the C implementation does (it repeats `inet_bind()`'s checks):
/// at least a `sockaddr_in`, an IP family, or `AF_UNSPEC` for `INADDR_ANY`.
pub(crate) fn check_bind_addr(addr: &[u8]) -> Result<(), AddrError> {
    if addr.len() < 16 {
        return Err(AddrError::TooShort);
    }
    match sa_family(addr) {
        Some(AF_INET | AF_INET6) => Ok(()),
        Some(AF_UNSPEC) if addr.get(4..8) == Some(&[0; 4][..]) => Ok(()),
        _ => Err(AddrError::NotIp),
    }
}

/// Checks a `connect` address as the C implementation does: an IP family.
pub(crate) fn check_connect_addr(addr: &[u8]) -> Result<(), AddrError> {
    match sa_family(addr) {
        None => Err(AddrError::TooShort),
        Some(AF_INET | AF_INET6) => Ok(()),
        Some(_) => Err(AddrError::NotIp),
    }
}

#[kernel::macros::kunit_tests(smc_rs_proto)]
mod tests {
    use super::*;

    #[test]
    fn smcproto_selects_ip_version() {
        assert_eq!(IpVersion::for_socket(AF_SMC, SMCPROTO_SMC), Some(IpVersion::V4));
        assert_eq!(IpVersion::for_socket(AF_SMC, SMCPROTO_SMC6), Some(IpVersion::V6));
    }

    #[test]
    fn ipproto_smc_selects_ip_version() {
        let p = i32::from(IPPROTO_SMC);
        assert_eq!(IpVersion::for_socket(AF_INET, p), Some(IpVersion::V4));
        assert_eq!(IpVersion::for_socket(AF_INET6, p), Some(IpVersion::V6));
        assert_eq!(IpVersion::for_socket(AF_INET, SMCPROTO_SMC), None);
        assert_eq!(IpVersion::for_socket(AF_INET6, 6), None);
    }

    fn sin(family: u16, addr: [u8; 4]) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..2].copy_from_slice(&family.to_ne_bytes());
        b[4..8].copy_from_slice(&addr);
        b
    }

    #[test]
    fn bind_addresses_are_checked_as_inet_bind_does() {
        assert_eq!(check_bind_addr(&sin(AF_INET, [127, 0, 0, 1])), Ok(()));
        assert_eq!(check_bind_addr(&sin(AF_INET6, [0; 4])), Ok(()));
        assert_eq!(check_bind_addr(&sin(AF_UNSPEC, [0; 4])), Ok(()));
        assert_eq!(check_bind_addr(&sin(AF_UNSPEC, [10, 0, 0, 1])), Err(AddrError::NotIp));
        assert_eq!(check_bind_addr(&sin(1, [0; 4])), Err(AddrError::NotIp));
        assert_eq!(check_bind_addr(&sin(AF_INET, [0; 4])[..15]), Err(AddrError::TooShort));
        assert_eq!(check_bind_addr(&[]), Err(AddrError::TooShort));
    }

    #[test]
    fn connect_addresses_must_be_ip() {
        assert_eq!(check_connect_addr(&sin(AF_INET, [127, 0, 0, 1])), Ok(()));
        assert_eq!(check_connect_addr(&sin(AF_INET6, [0; 4])), Ok(()));
        assert_eq!(check_connect_addr(&sin(AF_UNSPEC, [0; 4])), Err(AddrError::NotIp));
        assert_eq!(check_connect_addr(&[2]), Err(AddrError::TooShort));
    }

    #[test]
    fn other_protocols_are_rejected() {
        for p in [-1, 2, 6, 256] {
            assert_eq!(IpVersion::for_socket(AF_SMC, p), None);
        }
    }
}
