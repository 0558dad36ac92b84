// SPDX-License-Identifier: GPL-2.0

//! The AF_SMC socket family.
//!
//! Every SMC socket runs over a TCP connection of its own, the CLC socket: the CLC handshake
//! travels on it, and when SMC cannot be used the connection simply stays on it. For now
//! every connection stays there: each socket call is the CLC socket's, so an AF_SMC socket
//! behaves as a TCP socket does (what the C implementation calls fallback).
//!
//! `SOL_SOCKET` options reach the family (`SOCK_CUSTOM_SOCKOPT`): each is applied to the SMC
//! socket, whose `struct sock` answers `getsockopt(SOL_SOCKET)`, and then to the CLC socket,
//! which carries the data. `SO_ERROR` is the CLC socket's error, copied when `poll` sees it,
//! as in the C implementation.

use crate::proto::{check_bind_addr, check_connect_addr, AddrError, IpVersion, SmcState};
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::{
    bindings,
    net::{
        family::{Family, Sock, SockType},
        socket::{AddrOut, KernelSocket, MsgHdr, Net, OptIn, OptOut, PollArgs, SockAddr},
    },
    prelude::*,
};

/// The AF_SMC protocol family.
pub(crate) struct Smc;

/// The state of one AF_SMC socket.
///
/// Nothing here needs a lock: the CLC socket serialises its own operations, and the flag is
/// a single atomic word.
#[pin_data]
pub(crate) struct SmcSock {
    /// The IP version of the CLC socket.
    ip: IpVersion,
    /// The CLC socket: the TCP connection underneath.
    clc: KernelSocket,
    /// `SMC_LIMIT_HS`: limit handshakes while the listener's SYN queue is congested.
    limit_hs: AtomicBool,
}

impl SmcSock {
    fn new(ip: IpVersion, clc: KernelSocket) -> impl PinInit<Self, Error> {
        try_pin_init!(SmcSock { ip, clc, limit_hs: AtomicBool::new(false) })
    }
}

/// `SOL_SMC`: the level of SMC's own socket options.
const SOL_SMC: i32 = bindings::SOL_SMC as i32;
/// `SMC_LIMIT_HS`.
const SMC_LIMIT_HS: i32 = bindings::SMC_LIMIT_HS as i32;

/// The errno of a refused `bind` address, as the C implementation's (`inet_bind()`'s).
fn bind_errno(e: AddrError) -> Error {
    match e {
        AddrError::TooShort => EINVAL,
        AddrError::NotIp => EAFNOSUPPORT,
    }
}

#[vtable]
impl Family for Smc {
    const FAMILY: u16 = bindings::AF_SMC as u16;
    const NAME: &'static CStr = c"SMC-RS";
    const CUSTOM_SOL_SOCKET: bool = true;
    type Sock = SmcSock;

    fn create(
        net: &Net,
        ty: SockType,
        protocol: i32,
        _kern: bool,
    ) -> Result<impl PinInit<SmcSock, Error>> {
        if ty != SockType::Stream {
            return Err(ESOCKTNOSUPPORT);
        }
        let ip = IpVersion::from_smcproto(protocol).ok_or(EPROTONOSUPPORT)?;
        let clc = KernelSocket::new(
            net,
            ip.family(),
            bindings::sock_type_SOCK_STREAM as i32,
            bindings::IPPROTO_TCP as i32,
        )?;
        Ok(SmcSock::new(ip, clc))
    }

    fn bind(sock: &Sock<Self>, addr: &SockAddr<'_>) -> Result {
        check_bind_addr(addr.as_bytes()).map_err(bind_errno)?;
        sock.state().clc.bind(addr)
    }

    fn connect(sock: &Sock<Self>, addr: &SockAddr<'_>, flags: i32) -> Result {
        // The C implementation refuses any address but an IP one with `EINVAL`.
        check_connect_addr(addr.as_bytes()).map_err(|_| EINVAL)?;
        let smc = sock.state();
        match smc.clc.connect(addr, flags) {
            Ok(()) => {
                sock.set_sk_state(SmcState::Active as u8);
                Ok(())
            }
            // Non-blocking (`EINPROGRESS`): `poll` reports the outcome.
            Err(e) => Err(e),
        }
    }

    fn listen(sock: &Sock<Self>, backlog: i32) -> Result {
        sock.state().clc.listen(backlog)?;
        sock.set_sk_state(SmcState::Listen as u8);
        Ok(())
    }

    fn accept(sock: &Sock<Self>, flags: i32) -> Result<impl PinInit<SmcSock, Error>> {
        let smc = sock.state();
        let clc = smc.clc.accept(flags)?;
        Ok(SmcSock::new(smc.ip, clc))
    }

    fn getname(sock: &Sock<Self>, out: &mut AddrOut<'_>, peer: bool) -> Result<i32> {
        sock.state().clc.getname(out, peer)
    }

    fn poll(sock: &Sock<Self>, args: &PollArgs<'_>) -> u32 {
        let clc = &sock.state().clc;
        let mask = clc.poll(args);
        sock.set_error(clc.error());
        mask
    }

    fn ioctl(sock: &Sock<Self>, cmd: u32, arg: usize) -> Result<i32> {
        sock.state().clc.ioctl(cmd, arg)
    }

    fn shutdown(sock: &Sock<Self>, how: i32) -> Result {
        sock.state().clc.shutdown(how)
    }

    fn setsockopt(sock: &Sock<Self>, level: i32, name: i32, val: &OptIn<'_>) -> Result {
        let smc = sock.state();
        match level {
            SOL_SMC => match name {
                SMC_LIMIT_HS => {
                    let v = val.read_int()?;
                    smc.limit_hs.store(v != 0, Ordering::Relaxed);
                    Ok(())
                }
                _ => Err(EOPNOTSUPP),
            },
            l if l == bindings::SOL_SOCKET as i32 => {
                sock.set_sol_socket(name, val)?;
                smc.clc.setsockopt(level, name, val)
            }
            _ => smc.clc.setsockopt(level, name, val),
        }
    }

    fn getsockopt(sock: &Sock<Self>, level: i32, name: i32, out: &OptOut<'_>) -> Result {
        let smc = sock.state();
        match level {
            SOL_SMC => match name {
                SMC_LIMIT_HS => out.write_int(i32::from(smc.limit_hs.load(Ordering::Relaxed))),
                _ => Err(EOPNOTSUPP),
            },
            _ => smc.clc.getsockopt(level, name, out),
        }
    }

    fn sendmsg(sock: &Sock<Self>, msg: &mut MsgHdr<'_>, len: usize) -> Result<usize> {
        sock.state().clc.sendmsg(msg, len)
    }

    fn recvmsg(sock: &Sock<Self>, msg: &mut MsgHdr<'_>, len: usize, flags: i32) -> Result<usize> {
        sock.state().clc.recvmsg(msg, len, flags)
    }

    fn splice_eof(sock: &Sock<Self>) {
        sock.state().clc.splice_eof()
    }
}
