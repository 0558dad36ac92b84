// SPDX-License-Identifier: GPL-2.0

//! The AF_SMC socket family.
//!
//! Every SMC socket runs over a TCP connection of its own, the CLC socket: the CLC handshake
//! travels on it ([`handshake`]). When it chose SMC-D, the socket's data calls (send, receive,
//! poll, shutdown, the queue ioctls) are its [`Conn`]'s; when SMC cannot be used the
//! connection simply stays on the CLC socket and each socket call is the CLC socket's, so an
//! AF_SMC socket behaves as a TCP socket does (what the C implementation calls fallback).
//!
//! - Connecting: the CLC socket asks for the SMC TCP option; a work item ([`Connecting`])
//!   waits for the TCP connection and runs the client's side of the handshake
//!   ([`handshake::client`]). A blocking `connect()` waits for it; after a non-blocking one the
//!   socket is neither readable nor writable until it is done (`poll` reports nothing, a
//!   non-blocking send or receive fails with `EAGAIN`, a blocking one waits).
//! - Listening: [`Listener`] runs the server's side for each new connection in a work item and
//!   queues it for `accept()`.
//!
//! `SOL_SOCKET` options reach the family (`SOCK_CUSTOM_SOCKOPT`): each is applied to the SMC
//! socket, whose `struct sock` answers `getsockopt(SOL_SOCKET)`, and then to the CLC socket,
//! which carries the data. `SO_ERROR` is the CLC socket's error, copied when `poll` sees it,
//! as in the C implementation.
//!
//! Locking: [`SmcSock::role`] ("SmcSock::role") serialises the changes of a socket's role
//! (connect, listen, close); it is taken before `Listener::queue` and `Connecting::outcome`,
//! never after, and is not held while waiting for a handshake.

use crate::{
    conn::Conn,
    connect::{Connecting, Outcome},
    handshake::{self, Established, Fallback},
    listen::Listener,
    proto::{check_bind_addr, check_connect_addr, AddrError, IpVersion, SmcState, IPPROTO_SMC},
    netns::{self, Netns},
    stats::Count,
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
    sync::{Arc, Mutex, SetOnce},
    task::MAX_SCHEDULE_TIMEOUT,
    uaccess::{UserPtr, UserSlice},
};

/// The AF_SMC protocol family.
pub(crate) struct Smc;

/// What a socket is for.
enum Role {
    /// Neither connected nor listening yet.
    Init,
    /// Connecting or connected, with the handshake started by `connect()` (`None` if it
    /// could not be set up).
    Client(Option<Arc<Connecting>>),
    /// Listening: the handshakes and the accept queue.
    Listener(Arc<Listener>),
    /// Returned by `accept()`.
    Accepted,
}

/// A socket as diagnostics report it ([`crate::diag`]).
pub(crate) struct SockDiag {
    /// The CLC socket (ports, addresses).
    pub(crate) clc: Arc<KernelSocket>,
    /// The connection runs over TCP.
    pub(crate) fallback: bool,
    /// Why (a decline reason's code), 0 if it does not or is not known yet.
    pub(crate) reason: u32,
    /// The reason in the peer's Decline.
    pub(crate) peer_diagnosis: u32,
    /// The SMC-D connection.
    pub(crate) conn: Option<crate::conn::ConnDiag>,
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
    /// `TCP_CORK` is set (on the CLC socket, whose option it is): SMC-D sends cork.
    corked: AtomicBool,
    /// The client's handshake was started and has not been seen done yet. Read without the
    /// lock as a fast path.
    hs_pending: AtomicBool,
    /// The client's handshake failed: the connection is unusable (C closes the socket), and
    /// what the CLC socket may still hold is no application data.
    broken: AtomicBool,
    /// The socket has listened (its role is, or was until closed, `Listener`).
    listening: AtomicBool,
    /// Why the connection runs over TCP (a decline reason's code), 0 until known.
    fallback: AtomicU32,
    /// The reason in the peer's Decline, if it sent one (C: `peer_diagnosis`).
    peer_diagnosis: AtomicU32,
    /// The socket's namespace: its statistics and settings.
    ns: Arc<Netns>,
    /// The SMC-D connection, once the handshake chose SMC-D (never unset again).
    smcd: SetOnce<Arc<Conn>>,
    #[pin]
    role: Mutex<Role>,
}

impl SmcSock {
    fn new(
        ip: IpVersion,
        clc: Arc<KernelSocket>,
        ns: Arc<Netns>,
        role: Role,
        why: Option<Fallback>,
        smcd: Option<Arc<Conn>>,
    ) -> impl PinInit<Self, Error> {
        let once = SetOnce::new();
        if let Some(c) = smcd {
            once.populate(c);
        }
        try_pin_init!(SmcSock {
            ip,
            clc,
            smcd: once,
            limit_hs: AtomicBool::new(ns.settings.limit_hs()),
            corked: AtomicBool::new(false),
            ns,
            hs_pending: AtomicBool::new(false),
            broken: AtomicBool::new(false),
            listening: AtomicBool::new(false),
            fallback: AtomicU32::new(why.map_or(0, |f| f.reason.code())),
            peer_diagnosis: AtomicU32::new(why.map_or(0, |f| f.peer_diagnosis)),
            role <- new_mutex!(role, "SmcSock::role"),
        })
    }

    /// What diagnostics report of the socket (read without the role's lock).
    pub(crate) fn diag(&self) -> SockDiag {
        let reason = self.fallback.load(Ordering::Relaxed);
        SockDiag {
            clc: self.clc.clone(),
            fallback: reason != 0,
            reason,
            peer_diagnosis: self.peer_diagnosis.load(Ordering::Relaxed),
            conn: self.smcd.as_ref().map(|c| c.diag()),
        }
    }

    /// The client's handshake, while it has not been seen done.
    fn connecting(&self) -> Option<Arc<Connecting>> {
        if !self.hs_pending.load(Ordering::Acquire) {
            return None;
        }
        match &*self.role.lock() {
            Role::Client(Some(c)) => Some(c.clone()),
            _ => None,
        }
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

/// Takes note of the end of the client's handshake, if one is pending: `Ok` once it ended in a
/// fallback (or none is pending), `EAGAIN` while it runs (with `wait`: waits for it, as a
/// blocking call), its error (once) if it failed.
fn settle(sock: &Sock<Smc>, wait: bool) -> Result {
    let smc = sock.state();
    let Some(c) = smc.connecting() else {
        return Ok(());
    };
    let outcome: Outcome = if wait { c.wait()? } else { c.outcome().ok_or(EAGAIN)? };
    // Before any call can go past `hs_pending` to the CLC socket.
    match &outcome {
        Err(Some(_)) => smc.broken.store(true, Ordering::Release),
        Ok(Established::Smcd(conn)) => {
            // A second call finds it set already.
            smc.smcd.populate(conn.clone());
        }
        _ => {}
    }
    if !smc.hs_pending.swap(false, Ordering::AcqRel) {
        // Another call took note first.
        return Ok(());
    }
    match outcome {
        Ok(Established::Fallback(f)) => {
            smc.peer_diagnosis.store(f.peer_diagnosis, Ordering::Relaxed);
            smc.fallback.store(f.reason.code(), Ordering::Relaxed);
            sock.set_sk_state(SmcState::Active as u8);
            Ok(())
        }
        Ok(Established::Smcd(_)) => {
            sock.set_sk_state(SmcState::Active as u8);
            Ok(())
        }
        // The handshake failed; its error is also the CLC socket's (for `poll` and
        // `SO_ERROR`), and the connection is unusable from now on.
        Err(Some(e)) => Err(e),
        // The TCP connection failed: the calls on the CLC socket report it.
        Err(None) => Ok(()),
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
    // As C's `smc_v4_hashinfo` and `smc_v6_hashinfo`, for `smc_diag`.
    const SOCK_TABLES: usize = 2;

    fn sock_table(smc: &SmcSock) -> usize {
        match smc.ip {
            IpVersion::V4 => 0,
            IpVersion::V6 => 1,
        }
    }

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
        let ns = netns::of(net).ok_or(ENODEV)?;
        Ok(SmcSock::new(ip, Arc::new(clc, GFP_KERNEL)?, ns, Role::Init, None, None))
    }

    fn release(sock: &Sock<Self>) {
        let smc = sock.state();
        let role = core::mem::replace(&mut *smc.role.lock(), Role::Init);
        let mut from_handshake = None;
        match role {
            Role::Listener(l) => l.close(),
            Role::Client(Some(c)) => {
                c.cancel();
                // Done now (`cancel` waited): its connection, if no call took note of it.
                if let Some(Ok(Established::Smcd(conn))) = c.outcome() {
                    from_handshake = Some(conn);
                }
            }
            _ => {}
        }
        let conn = smc.smcd.as_ref().cloned().or(from_handshake);
        if let Some(conn) = conn {
            conn.release();
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
        let nonblock = flags & bindings::O_NONBLOCK as i32 != 0;
        // Allocated before the lock; dropped unused if the socket connected before.
        let fresh = if matches!(*smc.role.lock(), Role::Init) {
            let s = &smc.ns.settings;
            let bufs = handshake::Bufs {
                dmb: s.dmb_want(sock.bufsize_set(false)),
                sndbuf: s.sndbuf_want(sock.bufsize_set(true)),
            };
            Some(Connecting::new(smc.clc.clone(), smc.ns.clone(), bufs)?)
        } else {
            None
        };
        let started = {
            let mut role = smc.role.lock();
            match *role {
                Role::Init => {
                    let c = fresh.ok_or(EINVAL)?;
                    smc.clc.request_smc_option();
                    *role = Role::Client(Some(c.clone()));
                    smc.hs_pending.store(true, Ordering::Release);
                    Some(c)
                }
                Role::Listener(_) => return Err(EINVAL),
                Role::Client(_) | Role::Accepted => None,
            }
        };
        let Some(c) = started else {
            // Connecting again: once the handshake is done, TCP's answer (0 once after a
            // non-blocking connect completed, then `EISCONN`).
            match settle(sock, !nonblock) {
                Err(e) if e == EAGAIN => return Err(EALREADY),
                r => r?,
            }
            return smc.clc.connect(addr, flags);
        };
        match smc.clc.connect(addr, flags) {
            // A blocking connect runs the handshake itself, as C's does.
            Ok(()) if !nonblock => c.run_here(),
            Ok(()) => c.start(),
            // Under way (non-blocking, `SO_SNDTIMEO` ran out, or a signal): the work item
            // takes over.
            Err(e) if e == EINPROGRESS || e == EINTR || e == ERESTARTSYS => {
                c.start();
                return Err(e);
            }
            Err(e) => {
                c.failed();
                return Err(e);
            }
        }
        if nonblock {
            return Err(EINPROGRESS);
        }
        settle(sock, true)
    }

    fn listen(sock: &Sock<Self>, backlog: i32) -> Result {
        let smc = sock.state();
        // Allocated before the lock; dropped unused if the socket listens already.
        let fresh = if smc.listening.load(Ordering::Acquire) {
            None
        } else {
            let set = (sock.bufsize_set(false), sock.bufsize_set(true));
            let l = Listener::new(smc.clc.clone(), smc.ns.clone(), backlog, set)?;
            let hook = l.prepare_hook()?;
            Some((l, hook))
        };
        let mut role = smc.role.lock();
        match *role {
            Role::Init => {
                let (l, hook) = fresh.ok_or(EINVAL)?;
                smc.clc.request_smc_option();
                smc.clc.limit_smc_handshakes(smc.limit_hs.load(Ordering::Relaxed));
                // Before the socket listens, so that it sees every connection; dropped
                // (uninstalled) if the socket cannot listen.
                let hook = hook.install(smc.clc.clone())?;
                smc.clc.listen(backlog)?;
                l.start(hook);
                *role = Role::Listener(l);
                smc.listening.store(true, Ordering::Release);
            }
            // Listening already: only the backlog changes.
            Role::Listener(_) => smc.clc.listen(backlog)?,
            Role::Client(_) | Role::Accepted => return Err(EINVAL),
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
        let (fallback, smcd) = match conn.est {
            Established::Fallback(f) => (Some(f), None),
            Established::Smcd(c) => (None, Some(c)),
        };
        Ok(SmcSock::new(smc.ip, conn.clc, smc.ns.clone(), Role::Accepted, fallback, smcd))
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
        // Registers on the CLC socket, which the end of the handshake wakes too.
        let mask = clc.poll(args);
        // Nothing to report until the handshake is done; done, or failed with its error on
        // the CLC socket, it is the CLC socket's mask.
        if matches!(settle(sock, false), Err(e) if e == EAGAIN) {
            return 0;
        }
        if let Some(conn) = smc.smcd.as_ref() {
            return conn.poll(args);
        }
        sock.set_error(clc.error());
        mask
    }

    fn ioctl(sock: &Sock<Self>, cmd: u32, arg: usize) -> Result<i32> {
        let smc = sock.state();
        if let Some(v) = smc.smcd.as_ref().and_then(|c| c.ioctl_value(cmd)) {
            UserSlice::new(UserPtr::from_addr(arg), core::mem::size_of::<i32>())
                .writer()
                .write(&v)?;
            return Ok(0);
        }
        smc.clc.ioctl(cmd, arg)
    }

    fn shutdown(sock: &Sock<Self>, how: i32) -> Result {
        let smc = sock.state();
        // Before the handshake is done the socket is not connected yet (as in C).
        settle(sock, false).map_err(|_| ENOTCONN)?;
        if let Some(conn) = smc.smcd.as_ref() {
            if conn.shutdown(how)? {
                let _ = smc.clc.shutdown(how);
            }
            return Ok(());
        }
        smc.clc.shutdown(how)?;
        if let Some(l) = smc.listener() {
            // A listening CLC socket stops listening, which its hook does not report.
            l.queue_work();
        }
        Ok(())
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
            l if l == bindings::SOL_TCP as i32 => {
                smc.clc.setsockopt(level, name, val)?;
                let on = val.read_int().map(|v| v != 0);
                if name as u32 == bindings::TCP_CORK {
                    smc.corked.store(on == Ok(true), Ordering::Relaxed);
                }
                // On a connected socket C counts switching Nagle off, and uncorking, and
                // either sends what was corked.
                if let Some(conn) = smc.smcd.as_ref() {
                    let push = match name as u32 {
                        bindings::TCP_NODELAY if on == Ok(true) => Some(Count::NoDelay),
                        bindings::TCP_CORK if on == Ok(false) => Some(Count::Cork),
                        _ => None,
                    };
                    if let Some(count) = push {
                        smc.ns.stats.add(count, 1);
                        conn.push();
                    }
                }
                Ok(())
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
        settle(sock, msg.flags() & bindings::MSG_DONTWAIT == 0)?;
        let smc = sock.state();
        if smc.broken.load(Ordering::Acquire) {
            return Err(EPIPE);
        }
        if let Some(conn) = smc.smcd.as_ref() {
            let nonblock = msg.flags() & bindings::MSG_DONTWAIT != 0;
            let flags = msg.flags();
            let stats = &smc.ns.stats;
            let (sndbuf, _, peer_ring) = conn.ring_sizes();
            if len > sndbuf as usize {
                stats.add(Count::TxSizeSmall, 1);
            }
            if len > peer_ring as usize {
                stats.add(Count::TxPeerSizeSmall, 1);
            }
            let cork = flags & bindings::MSG_MORE != 0 || smc.corked.load(Ordering::Relaxed);
            let rc = conn.send(msg, len, flags, cork, sock.timeo(true, nonblock));
            stats.sent(len, &rc);
            return rc.map_err(|e| sock.stream_error(flags, e));
        }
        smc.clc.sendmsg(msg, len)
    }

    fn recvmsg(sock: &Sock<Self>, msg: &mut MsgHdr<'_>, len: usize, flags: i32) -> Result<usize> {
        settle(sock, flags & bindings::MSG_DONTWAIT as i32 == 0)?;
        let smc = sock.state();
        if smc.broken.load(Ordering::Acquire) {
            // As a reset connection after its error: end of stream.
            return Ok(0);
        }
        if let Some(conn) = smc.smcd.as_ref() {
            let nonblock = flags & bindings::MSG_DONTWAIT as i32 != 0;
            let (_, ring, _) = conn.ring_sizes();
            if len > ring as usize {
                smc.ns.stats.add(Count::RxSizeSmall, 1);
            }
            let rc = conn.recv(msg, len, flags, sock.timeo(false, nonblock));
            smc.ns.stats.received(&rc);
            return rc;
        }
        smc.clc.recvmsg(msg, len, flags)
    }

    fn splice_eof(sock: &Sock<Self>) {
        sock.state().clc.splice_eof()
    }
}
