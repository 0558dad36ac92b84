// SPDX-License-Identifier: GPL-2.0

//! Bad peers against the server side, in the kernel (KUnit suite `smc_rs_faults`).
//!
//! A kernel TCP socket that negotiates the SMC option, as a C SMC client's CLC socket does,
//! connects over the loopback interface to an AF_SMC listener of this module and then
//! misbehaves: sends bytes that are no CLC message, a message cut short, a partial header
//! followed by a close, or nothing at all. Each connection must be dropped within a bounded
//! time (the CLC timeout, 6 s, plus slack) without reaching `accept()`; a listener closed
//! while handshakes are in flight must close at once. A client that declines is a fallback:
//! its connection is accepted and the data after the Decline arrives intact.
//!
//! And bad servers against the client side: a kernel TCP listener with the SMC option takes
//! the Proposal of an AF_SMC socket of this module and answers with a Decline (fallback, data
//! intact both ways), an Accept (the client declines it and falls back), bytes that are no CLC
//! message (the connection fails with `EPROTO`), or nothing (it fails after the CLC timeout,
//! 6 s); a client closed with its handshake in flight closes at once.
//!
//! And a bad SMC-D peer: CDC messages no correct peer could send, written into an SMC-D
//! connection's DMB through its device, signal after signal: the connection aborts
//! (`ECONNRESET` on both ends) instead of trusting the cursors.
//!
//! And the data-ready hook the listeners use (`kernel::net::socket::DataReadyHook`), on a
//! plain TCP listener: it sees new connections (after the socket's own callback, which
//! still wakes `accept()`), a socket takes one hook only, and once dropped it sees nothing.

#[kernel::macros::kunit_tests(smc_rs_faults)]
mod tests {
    use crate::clc::{self, Decline, DeclineReason, Header, Message};
    use core::sync::atomic::{AtomicU32, Ordering::Relaxed};
    use kernel::{
        bindings,
        net::socket::{DataReady, DataReadyHook, KernelSocket, Net, SockAddr},
        prelude::*,
        sync::Arc,
        time::{delay::fsleep, msecs_to_jiffies, Delta, Instant, Monotonic},
    };

    const AF_INET: u16 = bindings::AF_INET as u16;
    const AF_SMC: u16 = bindings::AF_SMC as u16;
    const STREAM: i32 = bindings::sock_type_SOCK_STREAM as i32;
    const O_NONBLOCK: i32 = bindings::O_NONBLOCK as i32;
    const SHUT_WR: i32 = 1;

    /// `struct sockaddr_in` for 127.0.0.1:`port`.
    fn loopback(port: u16) -> [u8; 16] {
        let mut a = [0u8; 16];
        a[..2].copy_from_slice(&AF_INET.to_ne_bytes());
        a[2..4].copy_from_slice(&port.to_be_bytes());
        a[4..8].copy_from_slice(&[127, 0, 0, 1]);
        a
    }

    // The cases bind fixed ports 29901..29912: below the ephemeral range and clear of the
    // 7xxx ports the QEMU tests use (their TIME_WAIT sockets would make a bind here fail
    // when the module is loaded after a test's connections).
    fn listener(port: u16) -> Result<KernelSocket> {
        let l = KernelSocket::new(Net::init_ns(), AF_SMC, STREAM, 0)?;
        l.bind(&SockAddr::from_bytes(&loopback(port)))?;
        l.listen(16)?;
        Ok(l)
    }

    /// A TCP client with the SMC option, connected to the listener at `port`.
    fn client(port: u16) -> Result<KernelSocket> {
        let c = KernelSocket::new(Net::init_ns(), AF_INET, STREAM, bindings::IPPROTO_TCP as i32)?;
        c.request_smc_option();
        c.connect(&SockAddr::from_bytes(&loopback(port)), 0)?;
        if !c.smc_option() {
            pr_err!("smc_rs_faults: the SMC option was not negotiated\n");
            return Err(EPROTO);
        }
        Ok(c)
    }

    /// Waits (at most `secs`) for the server to end the connection: true if it did.
    fn dropped_within(c: &KernelSocket, secs: u32) -> bool {
        c.set_rcvtimeo(msecs_to_jiffies(secs * 1000) as isize);
        let mut b = [0u8; 64];
        loop {
            match c.recv_bytes(&mut b, 0) {
                // End of stream or reset: dropped.
                Ok(0) => return true,
                Err(e) if e == ECONNRESET || e == EPIPE => return true,
                // Timed out: still open.
                Err(_) => return false,
                // A decline would be a fallback, not a drop: keep reading.
                Ok(_) => {}
            }
        }
    }

    /// Whether `accept()` has nothing for us.
    fn nothing_to_accept(l: &KernelSocket) -> bool {
        matches!(l.accept(O_NONBLOCK), Err(e) if e == EAGAIN)
    }

    fn errors() -> u64 {
        crate::netns::of(Net::init_ns()).map_or(0, |ns| ns.stats.server.error_count())
    }

    fn client_errors() -> u64 {
        crate::netns::of(Net::init_ns()).map_or(0, |ns| ns.stats.client.error_count())
    }

    const TEN_S: u32 = 10_000;

    /// A TCP listener with the SMC option at `port`, as a C server's CLC socket is.
    fn tcp_server(port: u16) -> Result<KernelSocket> {
        let l = KernelSocket::new(Net::init_ns(), AF_INET, STREAM, bindings::IPPROTO_TCP as i32)?;
        l.request_smc_option();
        l.bind(&SockAddr::from_bytes(&loopback(port)))?;
        l.listen(16)?;
        l.set_rcvtimeo(msecs_to_jiffies(TEN_S) as isize);
        Ok(l)
    }

    /// An AF_SMC socket whose non-blocking connect to `port` is under way, and the server's
    /// end of its CLC connection.
    fn smc_client(l: &KernelSocket, port: u16) -> Result<(KernelSocket, KernelSocket)> {
        let c = KernelSocket::new(Net::init_ns(), AF_SMC, STREAM, 0)?;
        match c.connect(&SockAddr::from_bytes(&loopback(port)), O_NONBLOCK) {
            Err(e) if e == EINPROGRESS => {}
            r => {
                pr_err!("smc_rs_faults: non-blocking connect: {r:?}\n");
                return Err(EINVAL);
            }
        }
        let a = l.accept(0)?;
        a.set_rcvtimeo(msecs_to_jiffies(TEN_S) as isize);
        c.set_rcvtimeo(msecs_to_jiffies(TEN_S) as isize);
        Ok((c, a))
    }

    /// Receives one CLC message whole.
    fn recv_clc(s: &KernelSocket, buf: &mut [u8]) -> Result<Message> {
        let peek = bindings::MSG_PEEK | bindings::MSG_WAITALL;
        if s.recv_bytes(&mut buf[..clc::HEADER_LEN], peek)? < clc::HEADER_LEN {
            return Err(EPROTO);
        }
        let len = usize::from(Header::decode(buf).map_err(|_| EPROTO)?.length);
        let msg = buf.get_mut(..len).ok_or(EPROTO)?;
        if s.recv_bytes(msg, bindings::MSG_WAITALL)? < len {
            return Err(EPROTO);
        }
        Message::decode(msg).map_err(|_| EPROTO)
    }

    /// Sends `what` one way and checks it arrives whole.
    fn carries(from: &KernelSocket, to: &KernelSocket, what: &[u8]) -> Result<bool> {
        from.send_bytes(what, bindings::MSG_NOSIGNAL)?;
        let mut b = [0u8; 32];
        let got = b.get_mut(..what.len()).ok_or(EINVAL)?;
        Ok(to.recv_bytes(got, bindings::MSG_WAITALL)? == what.len() && got == what)
    }

    /// An SMC-Dv2 Accept a C server sent in the rig (`x-v2.1.s2c.accept`).
    const C_ACCEPT: &str = "e2d4c3c40200822994643665435e00010100007b15405d4500200000000100002d34\
        534d432d52532d434c434341502e544553542020202020202020202020202020000000000000000000210000\
        686f73742020202020202020202020202020202020202020202020202020202000000001000000000000000000\
        000000e2d4c3c4";

    fn unhex(h: &str, out: &mut [u8]) -> usize {
        let digit = |c: u8| match c {
            b'0'..=b'9' => c - b'0',
            _ => c - b'a' + 10,
        };
        let mut n = 0;
        for (o, p) in out.iter_mut().zip(h.as_bytes().chunks(2)) {
            *o = digit(p[0]) << 4 | digit(p[1]);
            n += 1;
        }
        n
    }

    /// Counts the calls of its hook.
    struct Count(AtomicU32);

    impl DataReady for Count {
        fn data_ready(this: &Arc<Self>) {
            this.0.fetch_add(1, Relaxed);
        }
    }

    #[test]
    fn data_ready_hook_sees_connections_until_dropped() -> Result {
        let l = Arc::new(tcp_server(29912)?, GFP_KERNEL)?;
        let count = Arc::new(Count(AtomicU32::new(0)), GFP_KERNEL)?;
        let hook = DataReadyHook::new(l.clone(), count.clone())?;
        let second = DataReadyHook::new(l.clone(), count.clone());
        let busy = matches!(second, Err(e) if e == EBUSY);
        let _c1 = client(29912)?;
        // Woken by the socket's own callback, which the hook calls first.
        let _a1 = l.accept(0)?;
        let start = Instant::<Monotonic>::now();
        while count.0.load(Relaxed) == 0 && start.elapsed() < Delta::from_millis(1000) {
            fsleep(Delta::from_millis(10));
        }
        let seen = count.0.load(Relaxed);
        drop(hook);
        let _c2 = client(29912)?;
        let _a2 = l.accept(0)?;
        let after = count.0.load(Relaxed);
        assert!(busy);
        assert!(seen >= 1);
        assert_eq!(after, seen);
        Ok(())
    }

    #[test]
    fn garbage_is_dropped() -> Result {
        let l = listener(29901)?;
        let before = errors();
        let c = client(29901)?;
        c.send_bytes(&[0xab; 64], bindings::MSG_NOSIGNAL)?;
        assert!(dropped_within(&c, 10));
        assert!(nothing_to_accept(&l));
        assert!(errors() > before);
        Ok(())
    }

    #[test]
    fn truncated_message_is_dropped() -> Result {
        let l = listener(29902)?;
        let c = client(29902)?;
        // A proposal header that promises 100 bytes, 20 of them sent, then EOF.
        let mut m = [0u8; 20];
        m[..4].copy_from_slice(&clc::EYECATCHER_SMCR);
        m[4] = 1; // proposal
        m[5..7].copy_from_slice(&100u16.to_be_bytes());
        m[7] = 0x20; // version 2
        c.send_bytes(&m, bindings::MSG_NOSIGNAL)?;
        c.shutdown(SHUT_WR)?;
        assert!(dropped_within(&c, 10));
        assert!(nothing_to_accept(&l));
        Ok(())
    }

    #[test]
    fn partial_header_then_close_is_dropped() -> Result {
        let l = listener(29903)?;
        let before = errors();
        {
            let c = client(29903)?;
            c.send_bytes(&clc::EYECATCHER_SMCR, bindings::MSG_NOSIGNAL)?;
        }
        // The handshake notices the close at once; give it a moment.
        let start = Instant::<Monotonic>::now();
        while errors() == before && start.elapsed().as_millis() < 10_000 {
            fsleep(Delta::from_millis(50));
        }
        assert!(errors() > before);
        assert!(nothing_to_accept(&l));
        Ok(())
    }

    #[test]
    fn stalled_client_is_dropped_after_the_clc_timeout() -> Result {
        let l = listener(29904)?;
        let c = client(29904)?;
        let start = Instant::<Monotonic>::now();
        assert!(dropped_within(&c, 12));
        let ms = start.elapsed().as_millis();
        // The CLC timeout is 6 s.
        assert!((5_000..11_000).contains(&ms));
        assert!(nothing_to_accept(&l));
        Ok(())
    }

    #[test]
    fn listener_closed_with_handshakes_in_flight() -> Result {
        let l = listener(29905)?;
        let mut clients = KVec::new();
        for _ in 0..8 {
            clients.push(client(29905)?, GFP_KERNEL)?;
        }
        // Let the listener take them into handshakes.
        fsleep(Delta::from_millis(300));
        let start = Instant::<Monotonic>::now();
        drop(l);
        let ms = start.elapsed().as_millis();
        assert!(ms < 2_000);
        for c in clients.iter() {
            assert!(dropped_within(c, 3));
        }
        Ok(())
    }

    /// A user EID for the length of a case (SMC-D needs one off s390), removed on drop. The
    /// netlink requests that change the table could race with this; nothing sends them while
    /// the module's cases run at load.
    struct TestEid;

    const TEST_EID: [u8; 32] = *b"SMC-RS-KUNIT.CDC                ";

    impl TestEid {
        fn add() -> Result<TestEid> {
            crate::ueid::UEIDS.update(|t| t.add_eid(&TEST_EID))?;
            Ok(TestEid)
        }
    }

    impl Drop for TestEid {
        fn drop(&mut self) {
            let _ = crate::ueid::UEIDS.update(|t| t.remove_eid(&TEST_EID));
        }
    }

    #[test]
    fn smcd_peer_sending_impossible_cursors_is_aborted() -> Result {
        use crate::{
            cdc::{ConnStateFlags, Cursor, ProducerFlags, SmcdCdc},
            conn::CDC_REFUSED,
            lgr::{Role, CORE},
        };
        let eid = TestEid::add()?;
        let l = listener(29913)?;
        l.set_rcvtimeo(msecs_to_jiffies(TEN_S) as isize);
        let c = KernelSocket::new(Net::init_ns(), AF_SMC, STREAM, 0)?;
        c.connect(&SockAddr::from_bytes(&loopback(29913)), 0)?;
        let a = l.accept(0)?;
        let core = CORE.get().ok_or(ENODEV)?;
        // SMC-D in this node (over the loopback device, or over another device both ends
        // share): the client's connection is the newest of its role, and the server's end
        // writes into its DMB through the same device.
        let (client_lgr, conn, user) = core.newest_conn(Role::Client).ok_or(ENOENT)?;
        let (server_lgr, _, _) = core.newest_conn(Role::Server).ok_or(ENOENT)?;
        let token = conn.diag().dmb.ok_or(EINVAL)?.token;
        drop(conn);
        // A producer cursor far past the end of any ring.
        let bad = SmcdCdc {
            prod: Cursor { wrap: 1, count: 0x4000_0000 },
            cons: Cursor::default(),
            prod_flags: ProducerFlags::default(),
            conn_state: ConnStateFlags::default(),
        }
        .encode();
        let refused = CDC_REFUSED.load(Relaxed);
        // One message that fails its checks may be one read mid-write: the connection gives
        // up only on a peer whose signalled messages keep failing.
        for _ in 0..12 {
            user.move_data(token, 0, true, 0, &bad)?;
            fsleep(Delta::from_millis(20));
        }
        let mut b = [0u8; 16];
        c.set_rcvtimeo(msecs_to_jiffies(TEN_S) as isize);
        let client_got = c.recv_bytes(&mut b, 0);
        a.set_rcvtimeo(msecs_to_jiffies(TEN_S) as isize);
        let server_got = a.recv_bytes(&mut b, 0);
        let refused_now = CDC_REFUSED.load(Relaxed);
        drop((c, a, l, user));
        // The groups go with the case: later tests count the link groups they make.
        fsleep(Delta::from_millis(100));
        core.end_groups(&[client_lgr, server_lgr]);
        drop(eid);
        assert!(matches!(client_got, Err(e) if e == ECONNRESET));
        // The server end was told (an abort message): its reads fail too.
        assert!(matches!(server_got, Err(e) if e == ECONNRESET));
        assert_eq!(refused_now, refused + 1);
        Ok(())
    }

    #[test]
    fn client_decline_falls_back_with_data_intact() -> Result {
        let l = listener(29906)?;
        let c = client(29906)?;
        let mut m = [0u8; clc::DECLINE_V2_LEN];
        let n = Decline::new(clc::SMC_V2, DeclineReason::NoSmcDev, [0; clc::SYSTEMID_LEN])
            .encode(&mut m)
            .map_err(|_| EINVAL)?;
        c.send_bytes(&m[..n], bindings::MSG_NOSIGNAL)?;
        c.send_bytes(b"after the decline", bindings::MSG_NOSIGNAL)?;
        l.set_rcvtimeo(msecs_to_jiffies(10_000) as isize);
        let a = l.accept(0)?;
        a.set_rcvtimeo(msecs_to_jiffies(10_000) as isize);
        let mut b = [0u8; 17];
        assert_eq!(a.recv_bytes(&mut b, bindings::MSG_WAITALL)?, 17);
        assert_eq!(&b, b"after the decline");
        // And back.
        a.send_bytes(b"ok", bindings::MSG_NOSIGNAL)?;
        c.set_rcvtimeo(msecs_to_jiffies(10_000) as isize);
        let mut r = [0u8; 2];
        assert_eq!(c.recv_bytes(&mut r, bindings::MSG_WAITALL)?, 2);
        assert_eq!(&r, b"ok");
        Ok(())
    }

    #[test]
    fn client_proposes_and_falls_back_on_a_decline() -> Result {
        let l = tcp_server(29907)?;
        let (c, a) = smc_client(&l, 29907)?;
        let mut buf = [0u8; clc::PROPOSAL_MAX_LEN];
        // The loopback device is there: the client proposes SMC-Dv2.
        assert!(matches!(recv_clc(&a, &mut buf)?, Message::Proposal(_)));
        let n = Decline::new(clc::SMC_V2, DeclineReason::NoUeid, [0; clc::SYSTEMID_LEN])
            .encode(&mut buf)
            .map_err(|_| EINVAL)?;
        a.send_bytes(&buf[..n], bindings::MSG_NOSIGNAL)?;
        // A blocking receive waits for the handshake, then gets the data.
        assert!(carries(&a, &c, b"server data")?);
        assert!(carries(&c, &a, b"client data")?);
        Ok(())
    }

    /// An Accept for a device the client did not offer (its CHID): as in C
    /// (`smc_v2_determine_accepted_chid()`), a protocol error, no Decline.
    #[test]
    fn client_fails_on_an_accept_of_a_device_not_offered() -> Result {
        let l = tcp_server(29908)?;
        let before = client_errors();
        let (c, a) = smc_client(&l, 29908)?;
        let mut buf = [0u8; clc::PROPOSAL_MAX_LEN];
        assert!(matches!(recv_clc(&a, &mut buf)?, Message::Proposal(_)));
        let n = unhex(C_ACCEPT, &mut buf);
        // The SMC-Dv2 `chid` at bytes 32..34: one no device here has.
        buf[32] = 0x12;
        buf[33] = 0x34;
        a.send_bytes(&buf[..n], bindings::MSG_NOSIGNAL)?;
        let mut b = [0u8; 8];
        assert_eq!(c.recv_bytes(&mut b, 0).err(), Some(EPROTO));
        assert_eq!(client_errors(), before + 1);
        assert!(dropped_within(&a, 3));
        Ok(())
    }

    #[test]
    fn client_fails_on_garbage() -> Result {
        let l = tcp_server(29909)?;
        let before = client_errors();
        let (c, a) = smc_client(&l, 29909)?;
        let mut buf = [0u8; clc::PROPOSAL_MAX_LEN];
        assert!(matches!(recv_clc(&a, &mut buf)?, Message::Proposal(_)));
        a.send_bytes(b"GET / HTTP/1.0\r\n\r\n", bindings::MSG_NOSIGNAL)?;
        let mut b = [0u8; 8];
        assert_eq!(c.recv_bytes(&mut b, 0).err(), Some(EPROTO));
        assert_eq!(client_errors(), before + 1);
        // The server's end sees the connection go.
        assert!(dropped_within(&a, 3));
        Ok(())
    }

    #[test]
    fn client_gives_up_after_the_clc_timeout() -> Result {
        let l = tcp_server(29910)?;
        let (c, a) = smc_client(&l, 29910)?;
        let mut buf = [0u8; clc::PROPOSAL_MAX_LEN];
        assert!(matches!(recv_clc(&a, &mut buf)?, Message::Proposal(_)));
        let t = Instant::<Monotonic>::now();
        let mut b = [0u8; 8];
        assert_eq!(c.recv_bytes(&mut b, 0).err(), Some(ETIMEDOUT));
        let took = t.elapsed().as_millis();
        assert!(took > 5500 && took < 9000);
        Ok(())
    }

    #[test]
    fn client_closed_with_its_handshake_in_flight() -> Result {
        let l = tcp_server(29911)?;
        let (c, a) = smc_client(&l, 29911)?;
        let mut buf = [0u8; clc::PROPOSAL_MAX_LEN];
        assert!(matches!(recv_clc(&a, &mut buf)?, Message::Proposal(_)));
        // The client waits for an answer that never comes; closing it ends the wait.
        let t = Instant::<Monotonic>::now();
        drop(c);
        assert!(t.elapsed().as_millis() < 2000);
        assert!(dropped_within(&a, 3));
        Ok(())
    }
}
