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

#[kernel::macros::kunit_tests(smc_rs_faults)]
mod tests {
    use crate::{
        clc::{self, Decline, DeclineReason},
        stats,
    };
    use kernel::{
        bindings,
        net::socket::{KernelSocket, Net, SockAddr},
        prelude::*,
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
        stats::of(Net::init_ns()).map_or(0, |s| s.server.error_count())
    }

    #[test]
    fn garbage_is_dropped() -> Result {
        let l = listener(7901)?;
        let before = errors();
        let c = client(7901)?;
        c.send_bytes(&[0xab; 64], bindings::MSG_NOSIGNAL)?;
        assert!(dropped_within(&c, 10));
        assert!(nothing_to_accept(&l));
        assert!(errors() > before);
        Ok(())
    }

    #[test]
    fn truncated_message_is_dropped() -> Result {
        let l = listener(7902)?;
        let c = client(7902)?;
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
        let l = listener(7903)?;
        let before = errors();
        {
            let c = client(7903)?;
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
        let l = listener(7904)?;
        let c = client(7904)?;
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
        let l = listener(7905)?;
        let mut clients = KVec::new();
        for _ in 0..8 {
            clients.push(client(7905)?, GFP_KERNEL)?;
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

    #[test]
    fn client_decline_falls_back_with_data_intact() -> Result {
        let l = listener(7906)?;
        let c = client(7906)?;
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
}
