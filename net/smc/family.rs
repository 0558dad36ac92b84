// SPDX-License-Identifier: GPL-2.0

//! The AF_SMC socket family.
//!
//! For now a socket can be created and closed; every other call fails with
//! `EOPNOTSUPP`.

use crate::proto::IpVersion;
use kernel::{
    bindings,
    net::family::{Family, SockType},
    prelude::*,
};

/// The AF_SMC protocol family.
pub(crate) struct Smc;

/// The state of one AF_SMC socket.
#[pin_data]
pub(crate) struct SmcSock {
    /// The IP version of the internal TCP connection.
    ip: IpVersion,
}

impl Family for Smc {
    const FAMILY: u16 = bindings::AF_SMC as u16;
    const NAME: &'static CStr = c"SMC-RS";
    type Sock = SmcSock;

    fn create(ty: SockType, protocol: i32, _kern: bool) -> Result<impl PinInit<SmcSock, Error>> {
        if ty != SockType::Stream {
            return Err(ESOCKTNOSUPPORT);
        }
        let ip = IpVersion::from_smcproto(protocol).ok_or(EPROTONOSUPPORT)?;
        Ok(try_pin_init!(SmcSock { ip }))
    }
}
