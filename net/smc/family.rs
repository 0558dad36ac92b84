// SPDX-License-Identifier: GPL-2.0

//! The AF_SMC socket family.
//!
//! Every SMC socket runs over a TCP connection of its own, the CLC socket: the CLC handshake
//! travels on it, and when SMC cannot be used the connection simply stays on it. For now
//! every connection stays there (this node offers no SMC-D device yet; see [`handshake`]): once
//! the handshake is done each socket call is the CLC socket's, so an AF_SMC socket behaves as a
//! TCP socket does (what the C implementation calls fallback).
//!
//! - Connecting: the CLC socket asks for the SMC TCP option; once connected, the client's side
//!   of the handshake runs ([`handshake::client`]): at once after a blocking connect, and after
//!   a non-blocking one at the first `poll`, send, receive, shutdown or repeated connect that
//!   finds the TCP connection established.
//! - Listening: [`Listener`] runs the server's side for each new connection in a work item and
//!   queues it for `accept()`.
//!
//! `SOL_SOCKET` options reach the family (`SOCK_CUSTOM_SOCKOPT`): each is applied to the SMC
//! socket, whose `struct sock` answers `getsockopt(SOL_SOCKET)`, and then to the CLC socket,
//! which carries the data. `SO_ERROR` is the CLC socket's error, copied when `poll` sees it,
//! as in the C implementation.
//!
//! Locking: [`SmcSock::role`] ("SmcSock::role") serialises the changes of a socket's role
//! (connect, listen, close) and the client's handshake; it is taken before
//! `Listener::queue`, never after.

use crate::{
    clc::DeclineReason,
    handshake,
    listen::Listener,
    proto::{check_bind_addr, check_connect_addr, AddrError, IpVersion, SmcState, IPPROTO_SMC},
    stats,
};
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use kernel::{
    bindings,
    net::{
        family::{Family, InetProtocol, Sock, SockType},
        socket::{AddrOut, KernelSocket, MsgHdr, Net, OptIn, OptOut, PollArgs, SockAddr},
    },
    new_mutex,
    prelude::*,
    sync::{Arc, Mutex},
    task::MAX_SCHEDULE_TIMEOUT,
};

/// The AF_SMC protocol family.
pub(crate) struct Smc;

/// What a socket is for.
enum Role {
    /// Neither connected nor listening yet.
    Init,
    /// Connecting or connected.
    Client,
    /// Listening: the handshakes and the accept queue.
    Listener(Arc<Listener>),
    /// Returned by `accept()`.
    Accepted,
}

/// The state of one AF_SMC socket.
#[pin_data]
pub(crate) struct SmcSock {
    /// The IP version of the CLC socket.
    ip: IpVersion,
    /// The CLC socket: the TCP connection underneath (a listener's work items hold it too).
    clc: Arc<KernelSocket>,
    /// `SMC_LIMIT_HS`: limit handshakes while the listener's SYN queue is congested.
    limit_hs: AtomicBool,
    /// The client's side of the handshake is still to run (a non-blocking connect is under
    /// way). Read without the lock as a fast path; written under [`SmcSock::role`].
    hs_owed: AtomicBool,
    /// The socket has listened (its role is, or was until closed, `Listener`).
    listening: AtomicBool,
    /// Why the connection runs over TCP (a decline reason's code), 0 until known.
    fallback: AtomicU32,
    /// The statistics of the socket's namespace.
    stats: Arc<stats::NetStats>,
    #[pin]
    role: Mutex<Role>,
}

impl SmcSock {
    fn new(
        ip: IpVersion,
        clc: Arc<KernelSocket>,
        stats: Arc<stats::NetStats>,
        role: Role,
        fallback: u32,
    ) -> impl PinInit<Self, Error> {
        try_pin_init!(SmcSock {
            ip,
            clc,
            stats,
            limit_hs: AtomicBool::new(false),
            hs_owed: AtomicBool::new(false),
            listening: AtomicBool::new(false),
            fallback: AtomicU32::new(fallback),
            role <- new_mutex!(role, "SmcSock::role"),
        })
    }

    /// Runs the client's side of the handshake if it is owed and the TCP connection is up.
    fn settle(&self) -> Result {
        if !self.hs_owed.load(Ordering::Acquire) {
            return Ok(());
        }
        let _role = self.role.lock();
        let state = u32::from(self.clc.sk_state());
        if !self.hs_owed.load(Ordering::Relaxed)
            || (state != bindings::TCP_ESTABLISHED && state != bindings::TCP_CLOSE_WAIT)
        {
            return Ok(());
        }
        self.hs_owed.store(false, Ordering::Release);
        self.client_handshake()
    }

    /// The client's side of the handshake, on an established CLC socket.
    fn client_handshake(&self) -> Result {
        match handshake::client(&self.clc) {
            Ok(reason) => {
                self.fell_back(reason);
                Ok(())
            }
            Err(e) => {
                self.stats.client.error();
                Err(e)
            }
        }
    }

    fn fell_back(&self, reason: DeclineReason) {
        self.fallback.store(reason.code(), Ordering::Relaxed);
        self.stats.client.fallback(reason);
    }

    /// The listener, if the socket listens.
    fn listener(&self) -> Option<Arc<Listener>> {
        // Most sockets never listen: spare them the lock.
        if !self.listening.load(Ordering::Acquire) {
            return None;
        }
        match &*self.role.lock() {
            Role::Listener(l) => Some(l.clone()),
            _ => None,
        }
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
    const INET: Option<InetProtocol> = Some(InetProtocol {
        ty: SockType::Stream,
        protocol: IPPROTO_SMC,
        name: c"INET_SMC-RS",
        name6: c"INET6_SMC-RS",
    });
    type Sock = SmcSock;

    fn create(
        net: &Net,
        family: u16,
        ty: SockType,
        protocol: i32,
        _kern: bool,
    ) -> Result<impl PinInit<SmcSock, Error>> {
        if ty != SockType::Stream {
            return Err(ESOCKTNOSUPPORT);
        }
        let ip = IpVersion::for_socket(family, protocol).ok_or(EPROTONOSUPPORT)?;
        let clc = KernelSocket::new(
            net,
            ip.family(),
            bindings::sock_type_SOCK_STREAM as i32,
            bindings::IPPROTO_TCP as i32,
        )?;
        let stats = stats::of(net).ok_or(ENODEV)?;
        Ok(SmcSock::new(ip, Arc::new(clc, GFP_KERNEL)?, stats, Role::Init, 0))
    }

    fn release(sock: &Sock<Self>) {
        let smc = sock.state();
        let role = core::mem::replace(&mut *smc.role.lock(), Role::Init);
        if let Role::Listener(l) = role {
            l.close();
        }
    }

    fn bind(sock: &Sock<Self>, addr: &SockAddr<'_>) -> Result {
        check_bind_addr(addr.as_bytes()).map_err(bind_errno)?;
        sock.state().clc.bind(addr)
    }

    fn connect(sock: &Sock<Self>, addr: &SockAddr<'_>, flags: i32) -> Result {
        // The C implementation refuses any address but an IP one with `EINVAL`.
        check_connect_addr(addr.as_bytes()).map_err(|_| EINVAL)?;
        let smc = sock.state();
        {
            let mut role = smc.role.lock();
            match *role {
                Role::Init => {
                    smc.clc.request_smc_option();
                    *role = Role::Client;
                    smc.hs_owed.store(true, Ordering::Release);
                }
                Role::Listener(_) => return Err(EINVAL),
                Role::Client | Role::Accepted => {}
            }
        }
        // Blocking: returns once connected. Non-blocking: `EINPROGRESS`, and the handshake
        // runs when a later call finds the connection up.
        let connected = smc.clc.connect(addr, flags);
        let settled = smc.settle();
        connected?;
        settled?;
        sock.set_sk_state(SmcState::Active as u8);
        Ok(())
    }

    fn listen(sock: &Sock<Self>, backlog: i32) -> Result {
        let smc = sock.state();
        // Allocated before the lock; dropped unused if the socket listens already.
        let fresh = if smc.listening.load(Ordering::Acquire) {
            None
        } else {
            Some(Listener::new(smc.clc.clone(), smc.stats.clone(), backlog)?)
        };
        let mut role = smc.role.lock();
        match *role {
            Role::Init => {
                let l = fresh.ok_or(EINVAL)?;
                smc.clc.request_smc_option();
                smc.clc.listen(backlog)?;
                l.start();
                *role = Role::Listener(l);
                smc.listening.store(true, Ordering::Release);
            }
            // Listening already: only the backlog changes.
            Role::Listener(_) => smc.clc.listen(backlog)?,
            Role::Client | Role::Accepted => return Err(EINVAL),
        }
        drop(role);
        sock.set_sk_state(SmcState::Listen as u8);
        Ok(())
    }

    fn accept(sock: &Sock<Self>, flags: i32) -> Result<impl PinInit<SmcSock, Error>> {
        let smc = sock.state();
        let listener = smc.listener().ok_or(EINVAL)?;
        let nonblock = flags & bindings::O_NONBLOCK as i32 != 0;
        let timeo = smc.clc.rcvtimeo();
        let timeout = (timeo != MAX_SCHEDULE_TIMEOUT as isize)
            .then(|| timeo.try_into().unwrap_or(0));
        let conn = listener.accept(nonblock, timeout)?;
        Ok(SmcSock::new(smc.ip, conn.clc, smc.stats.clone(), Role::Accepted, conn.reason.code()))
    }

    fn accepted(_sock: &Sock<Self>, new: &Sock<Self>) {
        // The CLC socket inherited the listener's settings from the listening CLC socket.
        new.inherit_sol_socket(&new.state().clc);
        new.set_sk_state(SmcState::Active as u8);
    }

    fn getname(sock: &Sock<Self>, out: &mut AddrOut<'_>, peer: bool) -> Result<i32> {
        sock.state().clc.getname(out, peer)
    }

    fn poll(sock: &Sock<Self>, args: &PollArgs<'_>) -> u32 {
        let smc = sock.state();
        let clc = &smc.clc;
        if let Some(l) = smc.listener() {
            args.register(l.cv());
            sock.set_error(clc.error());
            return if l.readable() { bindings::POLLIN | bindings::POLLRDNORM } else { 0 };
        }
        let mask = clc.poll(args);
        if mask & bindings::POLLOUT != 0 {
            // A failed handshake leaves its error on the CLC socket: the next call sees it.
            let _ = smc.settle();
        }
        sock.set_error(clc.error());
        mask
    }

    fn ioctl(sock: &Sock<Self>, cmd: u32, arg: usize) -> Result<i32> {
        sock.state().clc.ioctl(cmd, arg)
    }

    fn shutdown(sock: &Sock<Self>, how: i32) -> Result {
        let smc = sock.state();
        smc.settle()?;
        smc.clc.shutdown(how)
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
        let smc = sock.state();
        smc.settle()?;
        smc.clc.sendmsg(msg, len)
    }

    fn recvmsg(sock: &Sock<Self>, msg: &mut MsgHdr<'_>, len: usize, flags: i32) -> Result<usize> {
        let smc = sock.state();
        smc.settle()?;
        smc.clc.recvmsg(msg, len, flags)
    }

    fn splice_eof(sock: &Sock<Self>) {
        sock.state().clc.splice_eof()
    }
}
