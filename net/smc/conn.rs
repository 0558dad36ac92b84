// SPDX-License-Identifier: GPL-2.0

//! One SMC-D connection: the data path after the handshake.
//!
//! Each side has registered a DMB (direct memory buffer) on its DIBS device for the other to
//! write into: a 32-byte CDC message at its start (`cdc::SMCD_CDC_LEN`), then the receive
//! ring. A writer copies its data into the peer's ring (`move_data` without a signal, at
//! `SMCD_CDC_LEN` + the ring offset), then its CDC message at offset 0 with a signal: its
//! producer cursor (where its next byte goes), its consumer cursor in its own ring (how far
//! it has read what the peer wrote), and the flags. The layout and the cursor arithmetic are
//! `wire/src/cdc.rs`, shared with the C smc byte for byte.
//!
//! - Receiving: the device signals our DMB. The signal handler ([`RxSignal`], interrupt
//!   context, so it takes no lock of ours) marks the connection signalled; if a thread sleeps
//!   in `recvmsg` or `sendmsg` it only wakes the sleepers, and a sleeper takes the message
//!   in itself once awake (no hop through a worker between the doorbell and the
//!   application, as C's tasklet wakes it from softirq). Otherwise it queues the
//!   connection's work, which takes the message in and wakes pollers. Taking a message in
//!   reads the CDC message (the two cursor words as atomics, so never torn), checks it
//!   ([`SmcdCdc::check`]: a cursor the peer could not have sent aborts the connection
//!   instead of being trusted), takes the new cursors and flags, and wakes readers, writers
//!   and pollers ([`Conn::cv`]). Why no signal is left untaken: see [`Conn::sleepers`].
//! - `recvmsg` copies out of our ring straight into the application's buffer (one copy) and
//!   moves our consumer cursor; it tells the writer
//!   (a CDC message) when `cdc::consumer_update_due` says the writer needs the room, as C's
//!   `smc_tx_consumer_update()` does.
//! - `sendmsg` copies into the peer's ring as far as the peer's last consumer cursor allows,
//!   then sends its CDC message; with no room it sets `write_blocked` and waits for the
//!   peer's consumer update. Unlike C, no unsent data is queued: data goes to the peer at
//!   once, straight into the attached peer ring or in pieces of the send buffer's size (one
//!   copy from user space into the send buffer, one by the device into the peer's DMB).
//!   Corked (`TCP_CORK`, `MSG_MORE`), only the CDC message waits, while the ring has room.
//! - Closing follows `wire/src/close.rs` (C's states): the close, `shutdown` and the peer's
//!   flags move the state, and a step's message goes out as a CDC message with the flag.
//!   A released socket's connection lives on until its close completes (the peer's close
//!   arrives), then leaves its link group and unregisters its DMB; if the peer never
//!   answers, it ends with its link group (device removal, module unload).
//!
//! Locking: [`Conn::inner`] ("Conn::inner") protects the cursors, flags and state, and the
//! DMB and device hold; the device is called under it (`move_data`), and the device's signal
//! path takes no lock of ours but the DIBS abstraction's handler table, so that is safe. It
//! comes after `LinkGroup::conns`.

use crate::{
    cdc::{self, ConnStateFlags, Cursor, ProducerFlags, RxView, SmcdCdc, SMCD_CDC_LEN},
    close::{self, Event, Flags, Send as CloseSend, State},
    lgr::LinkGroup,
    netns::Netns,
    stats::Count,
};
use core::sync::atomic::{
    AtomicBool, AtomicU32, AtomicU64,
    Ordering::{Relaxed, SeqCst},
};
use kernel::{
    alloc::KVVec,
    bindings,
    dibs::{DeviceUser, Dmb, DmbSignal, Gid, RemoteDmb},
    net::socket::{MsgHdr, PollArgs},
    new_mutex, new_poll_condvar, new_work,
    prelude::*,
    sync::{
        barrier::{mb, Write},
        poll::PollCondVar,
        Arc, CondVarTimeoutResult, Mutex,
    },
    task::MAX_SCHEDULE_TIMEOUT,
    workqueue::{self, impl_has_work, Work, WorkItem},
};

/// `SIOCINQ` (`FIONREAD`), `SIOCOUTQ` (`TIOCOUTQ`), `SIOCOUTQNSD`.
const SIOCINQ: u32 = bindings::FIONREAD;
const SIOCOUTQ: u32 = bindings::TIOCOUTQ;
const SIOCOUTQNSD: u32 = bindings::SIOCOUTQNSD;

/// How many signalled CDC messages in a row may fail their checks before the connection
/// aborts (one caught mid-write fails once; a broken peer's keep failing).
const MAX_REFUSED: u32 = 8;

/// CDC messages ignored (failed their checks, maybe read mid-write) and refused (the
/// connection aborted), on all connections, for debugfs.
pub(crate) static CDC_IGNORED: AtomicU64 = AtomicU64::new(0);
pub(crate) static CDC_REFUSED: AtomicU64 = AtomicU64::new(0);

/// The ring offset of the producer cursor word and of the consumer cursor word in a CDC
/// message.
const OFF_PROD: usize = 8;
const OFF_CONS: usize = 16;

/// A connection's state, under [`Conn::inner`].
struct Inner {
    /// Our DMB, which the peer writes into (`None` once the connection ended).
    dmb: Option<Dmb>,
    /// The peer's DMB attached for direct writes, where the device can attach it (the
    /// loopback device and `ism_ivshmem` can): then sends copy from user space straight
    /// into it and there is no send buffer (as C's `smcd_buf_attach()`).
    remote: Option<RemoteDmb>,
    /// Our hold on the device (`None` once the connection ended).
    user: Option<DeviceUser>,
    /// The send buffer: data from user space is copied into it and moved into the peer's DMB
    /// from there, a piece of its size at a time (its size from `net.smc.wmem` or
    /// `SO_SNDBUF`). Received data goes from our DMB straight to user space.
    bounce: KVVec<u8>,
    /// The peer's producer cursor in our ring, as last accepted.
    peer_prod: Cursor,
    /// Our consumer cursor in our ring: how far the application has read.
    cons: Cursor,
    /// The consumer cursor we last told the peer.
    cons_told: Cursor,
    /// The peer's producer flags, as last received.
    peer_flags: ProducerFlags,
    /// The closing flags the peer sent.
    rx: Flags,
    /// Our producer cursor in the peer's ring.
    prod: Cursor,
    /// The producer cursor we last told the peer (behind `prod` while corked).
    prod_told: Cursor,
    /// The peer's consumer cursor in its ring, as last accepted.
    peer_cons: Cursor,
    /// The closing flags we sent.
    tx: Flags,
    /// We are waiting for room in the peer's ring (told to the peer with the next message).
    write_blocked: bool,
    /// The close state machine's state.
    state: State,
    /// The error that ended the connection.
    err: Option<Error>,
    /// The socket was released.
    released: bool,
    /// The application shut down reading.
    shut_rd: bool,
    /// Signalled messages in a row that did not check out.
    refused: u32,
}

/// What an ended connection lets go of, outside its lock; dropped in this order (the attached
/// DMB and ours hold the device too).
struct Ended {
    remote: Option<RemoteDmb>,
    dmb: Option<Dmb>,
    _user: Option<DeviceUser>,
    /// The connection ended in an abort: its DMB is parked in the link group.
    park: bool,
}

/// The signal handler of a parked DMB (see [`Conn::leave`]): signals are ignored.
struct Parked;

impl DmbSignal for Parked {
    fn signalled(&self, _dmbemask: u16) {}
}

/// The last connection token handed out (C: `nexttoken` in `smc_lgr_register_conn()`).
static NEXT_TOKEN: AtomicU32 = AtomicU32::new(0);

/// A connection as diagnostics report it (`smc_diag_conninfo`), a snapshot.
pub(crate) struct ConnDiag {
    pub(crate) token: u32,
    pub(crate) sndbuf: u32,
    pub(crate) rmbe: u32,
    pub(crate) peer_rmbe: u32,
    /// The last CDC message received: the peer's producer and consumer cursors, flags.
    pub(crate) rx_prod: Cursor,
    pub(crate) rx_cons: Cursor,
    pub(crate) rx_prod_flags: u8,
    pub(crate) rx_conn_state_flags: u8,
    /// What we send: our producer cursor, the consumer cursor told, flags.
    pub(crate) tx_prod: Cursor,
    pub(crate) tx_cons: Cursor,
    pub(crate) tx_prod_flags: u8,
    pub(crate) tx_conn_state_flags: u8,
    /// The DMBs, while the connection has its own (`smcd_diag_dmbinfo`).
    pub(crate) dmb: Option<DmbDiag>,
}

/// The DMBs of a connection and its link group, as `smcd_diag_dmbinfo` has them.
pub(crate) struct DmbDiag {
    pub(crate) lgr_id: [u8; 4],
    pub(crate) peer_gid: Gid,
    pub(crate) my_gid: Gid,
    pub(crate) token: u64,
    pub(crate) peer_token: u64,
}

/// An SMC-D connection.
#[pin_data]
pub(crate) struct Conn {
    lgr: Arc<LinkGroup>,
    /// Unique among live connections, never 0 (C: `alert_token_local`).
    token: u32,
    /// The peer's DMB: its token and the size of its ring.
    peer_token: u64,
    peer_ring: u32,
    /// The size of our ring.
    rx_ring: u32,
    /// The size of the send buffer ([`Inner::bounce`]).
    sndbuf: u32,
    /// The namespace whose statistics count the connection's buffers.
    ns: Arc<Netns>,
    #[pin]
    inner: Mutex<Inner>,
    /// Notified when data, room or the state changed.
    #[pin]
    cv: PollCondVar,
    /// The device signalled our DMB since a thread last took the CDC message in after a wait
    /// (set in interrupt context, cleared by that thread).
    signalled: AtomicBool,
    /// Threads asleep (or about to sleep, or just woken) in [`Conn::wait`]. The signal handler
    /// stores [`Conn::signalled`], then reads this; a sleeper adds itself here, then (queued on
    /// [`Conn::cv`]) reads `signalled` before it sleeps, and after it wakes swaps `signalled`
    /// back and takes the message in if it was set, before it leaves. All `SeqCst`: a handler
    /// that sees no sleeper queues the work; one that sees a sleeper leaves the message to it,
    /// and that sleeper either sees `signalled` before it sleeps or is woken by the
    /// handler's notification, and takes the message in either way.
    sleepers: AtomicU32,
    /// Takes in the peer's CDC message.
    #[pin]
    work: Work<Conn>,
}

impl_has_work! {
    impl HasWork<Conn> for Conn { self.work }
}

/// What a DMB's signal is delivered to: queues its connection's work.
struct RxSignal {
    conn: Arc<Conn>,
}

impl DmbSignal for RxSignal {
    fn signalled(&self, _dmbemask: u16) {
        let conn = &self.conn;
        conn.signalled.store(true, SeqCst);
        if conn.sleepers.load(SeqCst) > 0 {
            // A sleeper takes the message in (see `Conn::sleepers`); pollers are woken too.
            conn.cv.notify_all();
            return;
        }
        // The handler table holds `self`, so the reference an already queued work item hands
        // back is never the last one (nothing is freed in interrupt context).
        let _ = workqueue::system_highpri().enqueue(conn.clone());
    }
}

/// Copies the ring pieces `(offset, len)` one after the other with `copy(offset in the DMB,
/// len)`, which returns how many bytes it copied; stops after a short copy (the end of the
/// application's buffer, or a fault). Returns how many in all.
fn copy_pieces(pieces: [(u32, u32); 2], mut copy: impl FnMut(usize, usize) -> Result<usize>) -> Result<u32> {
    let mut done = 0u32;
    for (off, n) in pieces {
        let got = copy(SMCD_CDC_LEN + off as usize, n as usize)?;
        done += got as u32;
        if got < n as usize {
            break;
        }
    }
    Ok(done)
}

/// A send buffer of the largest size class up to `want` that memory allows (C's
/// `__smc_buf_create()` for the send buffer).
fn alloc_sndbuf(want: u32) -> Result<KVVec<u8>> {
    for (_, len) in crate::negotiate::smcd_dmb_sizes_from(want) {
        if let Ok(b) = KVVec::from_elem(0u8, len as usize, GFP_KERNEL | kernel::alloc::flags::__GFP_NOWARN) {
            return Ok(b);
        }
    }
    Err(ENOMEM)
}

/// A new connection token: never 0; tokens repeat only after 2^32 connections, long after
/// a connection with the same one is gone.
fn new_token() -> u32 {
    loop {
        let t = NEXT_TOKEN.fetch_add(1, Relaxed).wrapping_add(1);
        if t != 0 {
            return t;
        }
    }
}

/// The flags of a CDC message from the closing flags we send.
fn state_flags(f: Flags) -> ConnStateFlags {
    let mut b = 0;
    if f.done_writing {
        b |= ConnStateFlags::PEER_DONE_WRITING;
    }
    if f.closed {
        b |= ConnStateFlags::PEER_CONN_CLOSED;
    }
    if f.abort {
        b |= ConnStateFlags::PEER_CONN_ABORT;
    }
    ConnStateFlags(b)
}

/// A wait's outcome, for the loops of `recv` and `send`.
enum Waited {
    Again,
    Timeout,
    Signal,
}

impl Conn {
    /// The connection over `dmb` (ours, registered for the peer) in `lgr`, writing into the
    /// peer's DMB `peer_token` of `peer_len` bytes through a send buffer of up to
    /// `bufs.sndbuf` bytes (smaller if memory is short, as C downsizes), counted in `ns`'s
    /// statistics. Joins the link group and takes the signals of `dmb`.
    pub(crate) fn new(
        lgr: Arc<LinkGroup>,
        user: DeviceUser,
        dmb: Dmb,
        peer_token: u64,
        peer_len: u32,
        bufs: crate::handshake::Bufs,
        netns: Arc<Netns>,
    ) -> Result<Arc<Conn>> {
        let rx_ring = dmb.len().checked_sub(SMCD_CDC_LEN as u32).ok_or(EINVAL)?;
        let peer_ring = peer_len.checked_sub(SMCD_CDC_LEN as u32).ok_or(EINVAL)?;
        if rx_ring == 0 || peer_ring == 0 {
            return Err(EINVAL);
        }
        // Direct writes where the device can attach the peer's DMB; else a send buffer.
        let remote = match user.supports_attach() {
            true => user.attach_dmb(peer_token).ok().filter(|r| r.len() == peer_len),
            false => None,
        };
        let bounce = if remote.is_some() { KVVec::new() } else { alloc_sndbuf(bufs.sndbuf)? };
        // At most 1 MiB (the largest size class).
        let bounce_len = bounce.len() as u32;
        let conn_ns = netns.clone();
        let conn = Arc::pin_init(
            try_pin_init!(Conn {
                lgr: lgr.clone(),
                token: new_token(),
                peer_token,
                peer_ring,
                rx_ring,
                sndbuf: bounce_len,
                ns: conn_ns,
                inner <- new_mutex!(
                    Inner {
                        dmb: None,
                        remote,
                        user: Some(user),
                        bounce,
                        peer_prod: Cursor::default(),
                        cons: Cursor::default(),
                        cons_told: Cursor::default(),
                        peer_flags: ProducerFlags::default(),
                        rx: Flags::default(),
                        prod: Cursor::default(),
                        prod_told: Cursor::default(),
                        peer_cons: Cursor::default(),
                        tx: Flags::default(),
                        write_blocked: false,
                        state: State::Active,
                        err: None,
                        released: false,
                        shut_rd: false,
                        refused: 0,
                    },
                    "Conn::inner"
                ),
                cv <- new_poll_condvar!("Conn::cv"),
                signalled: AtomicBool::new(false),
                sleepers: AtomicU32::new(0),
                work <- new_work!("Conn::work"),
            }? Error),
            GFP_KERNEL,
        )?;
        let signal: Arc<dyn DmbSignal> = Arc::new(RxSignal { conn: conn.clone() }, GFP_KERNEL)?;
        dmb.on_signal(signal)?;
        let dmb_len = dmb.len();
        conn.inner.lock().dmb = Some(dmb);
        let sndbuf = (bounce_len > 0).then_some((bounce_len, bufs.sndbuf));
        netns.stats.buffers_made(sndbuf, (dmb_len, bufs.dmb));
        if let Err(e) = conn.lgr.add(conn.clone()) {
            // Counts the buffers gone again.
            conn.terminate(ECONNABORTED);
            return Err(e);
        }
        // A message that came before the handler was set.
        let _ = workqueue::system_highpri().enqueue(conn.clone());
        Ok(conn)
    }

    /// The sizes of the send buffer, of our ring and of the peer's ring (C: the send buffer's
    /// `len`, `rmb_desc->len`, `peer_rmbe_size`).
    pub(crate) fn ring_sizes(&self) -> (u32, u32, u32) {
        (self.sndbuf_len(), self.rx_ring, self.peer_ring)
    }

    /// The send buffer's size as C reports it: with the peer's DMB attached it is the send
    /// buffer (C: `smcd_buf_attach()`), else our own.
    fn sndbuf_len(&self) -> u32 {
        if self.sndbuf == 0 { self.peer_ring } else { self.sndbuf }
    }

    /// The sizes of the connection's send buffer and of its DMB with the CDC area (what C
    /// counts in `alloc_sndbufs` and `alloc_rmbs`).
    pub(crate) fn buf_sizes(&self) -> (u32, u32) {
        (self.sndbuf, self.rx_ring + SMCD_CDC_LEN as u32)
    }

    /// The snapshot diagnostics report.
    pub(crate) fn diag(&self) -> ConnDiag {
        let g = self.inner.lock();
        let dmb = match (&g.dmb, &g.user) {
            (Some(d), Some(u)) => Some(DmbDiag {
                lgr_id: self.lgr.id,
                peer_gid: self.lgr.peer_gid,
                my_gid: u.device().gid(),
                token: d.token(),
                peer_token: self.peer_token,
            }),
            _ => None,
        };
        ConnDiag {
            token: self.token,
            sndbuf: self.sndbuf_len(),
            rmbe: self.rx_ring,
            peer_rmbe: self.peer_ring,
            rx_prod: g.peer_prod,
            rx_cons: g.peer_cons,
            rx_prod_flags: g.peer_flags.0,
            rx_conn_state_flags: state_flags(g.rx).0,
            tx_prod: g.prod,
            tx_cons: g.cons_told,
            tx_prod_flags: if g.write_blocked { ProducerFlags::WRITE_BLOCKED } else { 0 },
            tx_conn_state_flags: state_flags(g.tx).0,
            dmb,
        }
    }

    /// Sends our CDC message (with the closing flags of `g.tx`).
    fn send_cdc(&self, g: &mut Inner) -> Result {
        let mut pf = 0;
        if g.write_blocked {
            pf |= ProducerFlags::WRITE_BLOCKED;
        }
        let msg = SmcdCdc {
            prod: g.prod,
            cons: g.cons,
            prod_flags: ProducerFlags(pf),
            conn_state: state_flags(g.tx),
        };
        if g.tx.done_writing || g.tx.any_close() {
            // Nothing more goes into the peer's ring: let go of it before the message that
            // lets the peer end (and unregister) it. The loopback device frees a DMB that its
            // owner unregistered while a peer held it attached without clearing its client
            // (`dibs_lo_detach_dmb()`), which the DIBS core reports when the client goes.
            drop(g.remote.take());
        }
        let user = g.user.as_ref().ok_or(ECONNRESET)?;
        match user.move_data(self.peer_token, 0, true, 0, &msg.encode()) {
            Ok(()) => {
                g.cons_told = g.cons;
                g.prod_told = g.prod;
                Ok(())
            }
            Err(e) => {
                // The peer's DMB is gone: the connection cannot go on (C marks it aborted).
                g.tx.abort = true;
                g.err.get_or_insert(ECONNRESET);
                Err(e)
            }
        }
    }

    /// Applies the close machine's step for `event`; true if the connection is done.
    fn step(&self, g: &mut Inner, event: Event) -> bool {
        let s = close::step(g.state, g.tx, g.rx, event);
        let send = match s.send {
            CloseSend::Nothing => false,
            CloseSend::DoneWriting => {
                g.tx.done_writing = true;
                true
            }
            CloseSend::Closed => {
                g.tx.closed = true;
                true
            }
            CloseSend::Abort => {
                g.tx.abort = true;
                true
            }
        };
        g.state = s.state;
        if s.aborted {
            g.err.get_or_insert(ECONNABORTED);
        }
        if send {
            let _ = self.send_cdc(g);
        }
        g.state == State::Closed
    }

    /// Our connection is over: leave the link group, let go of the DMB and the device (an
    /// aborted connection's DMB is parked in the group, unless `group_ends`).
    fn finish(&self, g: &mut Inner, group_ends: bool) -> Ended {
        g.state = State::Closed;
        let dmb = g.dmb.take();
        if let Some(d) = &dmb {
            self.ns.stats.buffers_gone(self.sndbuf, d.len());
        }
        let park = !group_ends && (g.tx.abort || g.rx.abort);
        Ended { remote: g.remote.take(), dmb, _user: g.user.take(), park }
    }

    /// Lets go of the attached peer DMB (the link group is ending: every connection of the
    /// node does this before any unregisters its DMB, see `Conn::send_cdc`).
    pub(crate) fn detach_remote(&self) {
        let remote = self.inner.lock().remote.take();
        drop(remote);
    }

    /// Ends the connection now (its link group ended): readers and writers get `err`
    /// (`ECONNRESET` when the peer went, `ECONNABORTED` when this side tears it down).
    pub(crate) fn terminate(&self, err: Error) {
        let ended = {
            let mut g = self.inner.lock();
            if g.state != State::Closed {
                g.err.get_or_insert(err);
                // Readers see the error, not an end of stream.
                g.rx.abort = true;
            }
            self.finish(&mut g, true)
        };
        drop(ended);
        self.cv.notify_all();
    }

    /// Takes in the peer's CDC message.
    fn receive(&self) {
        let mut g = self.inner.lock();
        let done = self.take_cdc(&mut g, true);
        let ended = if done && g.released { Some(self.finish(&mut g, false)) } else { None };
        drop(g);
        self.cv.notify_all();
        self.leave(ended);
    }

    /// After [`Conn::finish`], outside the lock: leaves the link group, then lets go of the
    /// DMB and the device. An aborted connection's DMB is parked in the group instead, with
    /// its signals ignored (the handler of ours holds the connection, which holds the group).
    fn leave(&self, ended: Option<Ended>) {
        let Some(mut ended) = ended else { return };
        drop(ended.remote.take());
        let park = match ended.dmb.take() {
            Some(d) if ended.park => {
                // Without the memory for the new handler it is not parked: unregistered now.
                let quiet = Arc::new(Parked, GFP_KERNEL).map_err(Error::from);
                match quiet.and_then(|h| d.on_signal(h)) {
                    Ok(()) => Some(d),
                    Err(_) => {
                        ended.dmb = Some(d);
                        None
                    }
                }
            }
            d => {
                ended.dmb = d;
                None
            }
        };
        self.lgr.remove(self, park);
        drop(ended);
    }

    /// Reads the peer's CDC message from our DMB and applies it: new cursors, flags, the close
    /// machine's step. Idempotent (an unchanged message changes nothing), so the socket calls
    /// use it too, to see what the peer wrote without waiting for the signal's work item.
    /// Returns whether the connection is done.
    fn take_cdc(&self, g: &mut Inner, from_signal: bool) -> bool {
        let Some(dmb) = g.dmb.as_ref() else {
            return false;
        };
        let (Ok(p), Ok(c)) = (dmb.atomic_u64(OFF_PROD), dmb.atomic_u64(OFF_CONS)) else {
            return false;
        };
        // The writer copies its message in with `move_data`, which need not write a word at
        // a time: a word read while it writes may be torn. Two reads that agree are a
        // message; two that do not mean a write is under way, whose signal comes after it.
        let read = || {
            (
                p.load(kernel::sync::atomic::Acquire),
                c.load(kernel::sync::atomic::Acquire),
            )
        };
        let (prod, cons) = read();
        if read() != (prod, cons) {
            return false;
        }
        let mut raw = [0u8; SMCD_CDC_LEN];
        raw[0] = cdc::CDC_MSG_TYPE;
        raw[OFF_PROD..OFF_PROD + 8].copy_from_slice(&prod.to_ne_bytes());
        raw[OFF_CONS..OFF_CONS + 8].copy_from_slice(&cons.to_ne_bytes());
        let Ok(msg) = SmcdCdc::decode(&raw) else {
            return false;
        };
        let view = RxView {
            rx_ring: self.rx_ring,
            peer_prod: g.peer_prod,
            local_cons: g.cons,
            tx_ring: self.peer_ring,
            peer_cons: g.peer_cons,
            local_prod: g.prod,
        };
        match msg.check(&view) {
            // Once the peer aborted (or was refused), nothing it writes matters any more.
            Err(_) if g.rx.abort => false,
            // A message that does not check out may still be one caught mid-write (the two
            // reads can fall inside one slow copy): it is ignored, and only a peer whose
            // messages keep failing, signal after signal, broke the protocol.
            Err(_) if !from_signal || g.refused < MAX_REFUSED => {
                if from_signal {
                    g.refused += 1;
                }
                CDC_IGNORED.fetch_add(1, Relaxed);
                false
            }
            Err(_) => {
                CDC_REFUSED.fetch_add(1, Relaxed);
                // The peer broke the protocol: abort rather than trust its cursors.
                if !g.tx.any_close() {
                    g.tx.abort = true;
                    let _ = self.send_cdc(g);
                }
                g.err.get_or_insert(ECONNRESET);
                g.rx.abort = true;
                let released = g.released;
                self.step(g, Event::Peer { dead: released }) || released
            }
            Ok(_) => {
                g.refused = 0;
                g.peer_prod = msg.prod;
                g.peer_cons = msg.cons;
                g.peer_flags = msg.prod_flags;
                let cs = msg.conn_state;
                let rx = Flags {
                    done_writing: g.rx.done_writing || cs.has(ConnStateFlags::PEER_DONE_WRITING),
                    closed: g.rx.closed || cs.has(ConnStateFlags::PEER_CONN_CLOSED),
                    abort: g.rx.abort || cs.has(ConnStateFlags::PEER_CONN_ABORT),
                };
                if rx != g.rx {
                    g.rx = rx;
                    if rx.abort {
                        g.err.get_or_insert(ECONNRESET);
                    }
                    let released = g.released;
                    self.step(g, Event::Peer { dead: released })
                } else {
                    if !g.tx.any_close() {
                        self.update_consumer(g, false);
                    }
                    false
                }
            }
        }
    }

    /// Tells the peer our consumer cursor if it needs it (or if `force`).
    fn update_consumer(&self, g: &mut Inner, force: bool) {
        let unconfirmed = g.cons_told.distance_to(self.rx_ring, g.cons).unwrap_or(0);
        let outstanding = g.cons_told.distance_to(self.rx_ring, g.peer_prod).unwrap_or(0);
        let writer_free = self.rx_ring.saturating_sub(outstanding);
        if unconfirmed > 0
            && cdc::consumer_update_due(self.rx_ring, unconfirmed, writer_free, g.peer_flags, force)
        {
            let _ = self.send_cdc(g);
        }
    }

    /// Bytes in our ring not read yet.
    fn unread(&self, g: &Inner) -> u32 {
        g.cons.distance_to(self.rx_ring, g.peer_prod).unwrap_or(0)
    }

    /// Room in the peer's ring.
    fn room(&self, g: &Inner) -> u32 {
        let used = g.peer_cons.distance_to(self.peer_ring, g.prod).unwrap_or(self.peer_ring);
        self.peer_ring.saturating_sub(used)
    }

    /// Waits on [`Conn::cv`] up to `*timeo` jiffies (updated to what is left;
    /// `MAX_SCHEDULE_TIMEOUT` waits without a timeout). Takes in the CDC message a signal
    /// left to it before it returns (see [`Conn::sleepers`]).
    fn wait(&self, g: &mut kernel::sync::MutexGuard<'_, Inner>, timeo: &mut isize) -> Waited {
        let forever = *timeo == MAX_SCHEDULE_TIMEOUT as isize;
        let j = usize::try_from(*timeo).unwrap_or(0);
        self.sleepers.fetch_add(1, SeqCst);
        let res = self.cv.wait_interruptible_timeout_unless(g, j as _, || self.signalled.load(SeqCst));
        self.sleepers.fetch_sub(1, SeqCst);
        if self.signalled.swap(false, SeqCst) {
            // The socket is not released while a thread is in one of its calls, so the
            // connection does not finish here.
            // (The handler woke every other waiter and poller already.)
            self.take_cdc(g, true);
        }
        match res {
            CondVarTimeoutResult::Signal { .. } => Waited::Signal,
            CondVarTimeoutResult::Timeout => Waited::Timeout,
            CondVarTimeoutResult::Woken { jiffies } => {
                if !forever {
                    *timeo = isize::try_from(jiffies).unwrap_or(0);
                }
                Waited::Again
            }
        }
    }

    /// `recvmsg`: up to `len` bytes into `msg`; `timeo` as `sock_rcvtimeo()` gives it.
    pub(crate) fn recv(&self, msg: &mut MsgHdr<'_>, len: usize, flags: i32, mut timeo: isize) -> Result<usize> {
        let peek = flags & bindings::MSG_PEEK as i32 != 0;
        let waitall = flags & bindings::MSG_WAITALL as i32 != 0 && !peek;
        if flags & bindings::MSG_OOB as i32 != 0 {
            // No urgent data on SMC-D connections here yet.
            return Err(EINVAL);
        }
        let mut copied = 0usize;
        let mut g = self.inner.lock();
        let mut first = true;
        loop {
            self.take_cdc(&mut g, false);
            let avail = self.unread(&g);
            if core::mem::take(&mut first) && avail >= self.rx_ring {
                // C: `SMC_STAT_RMB_RX_FULL`, a receive that finds our ring full.
                self.ns.stats.add(Count::RxFull, 1);
            }
            if avail > 0 && copied < len {
                let want = (avail as usize).min(len - copied) as u32;
                let got = self.copy_out(&mut g, msg, want)?;
                if got == 0 && copied == 0 {
                    return Err(EFAULT);
                }
                if !peek {
                    if let Some(c) = g.cons.add(self.rx_ring, got) {
                        g.cons = c;
                    }
                    if !g.tx.any_close() {
                        self.update_consumer(&mut g, false);
                    }
                }
                copied += got as usize;
                if got < want || peek || copied >= len || !waitall {
                    return Ok(copied);
                }
                continue;
            }
            if copied >= len {
                return Ok(copied);
            }
            if g.rx.done_writing || g.rx.any_close() || g.shut_rd || g.state == State::Closed {
                if let (0, Some(e)) = (copied, g.err) {
                    if g.rx.abort || g.dmb.is_none() {
                        g.err = None;
                        return Err(e);
                    }
                }
                return Ok(copied);
            }
            if timeo == 0 {
                return if copied > 0 { Ok(copied) } else { Err(EAGAIN) };
            }
            match self.wait(&mut g, &mut timeo) {
                Waited::Again => {}
                Waited::Timeout => return if copied > 0 { Ok(copied) } else { Err(EAGAIN) },
                Waited::Signal => return if copied > 0 { Ok(copied) } else { Err(ERESTARTSYS) },
            }
        }
    }

    /// Copies `want` bytes from our ring at the consumer cursor into `msg` (straight from the
    /// DMB into the application's buffer); returns how many.
    fn copy_out(&self, g: &mut Inner, msg: &mut MsgHdr<'_>, want: u32) -> Result<u32> {
        let pieces = cdc::ring_pieces(self.rx_ring, g.cons, want).ok_or(EINVAL)?;
        let dmb = g.dmb.as_ref().ok_or(ECONNRESET)?;
        let dest = msg.dest().ok_or(EINVAL)?;
        copy_pieces(pieces, |at, n| dmb.copy_to_iter(at, n, dest))
    }

    /// `sendmsg`: `len` bytes from `msg`; `timeo` as `sock_sndtimeo()` gives it. With `cork`
    /// (`TCP_CORK`, `MSG_MORE`) the data goes into the peer's ring but the message that tells
    /// the peer of it waits while the ring has room (C: `smc_tx_should_cork()`), for the next
    /// send, [`Conn::push`] or the close.
    pub(crate) fn send(
        &self,
        msg: &mut MsgHdr<'_>,
        len: usize,
        flags: u32,
        cork: bool,
        mut timeo: isize,
    ) -> Result<usize> {
        if flags & bindings::MSG_OOB != 0 {
            return Err(EOPNOTSUPP);
        }
        let mut sent = 0usize;
        let mut g = self.inner.lock();
        while sent < len {
            // As TCP: after this side's shutdown or close, or the peer's close, `EPIPE`; a
            // reset (the peer aborted, or the connection ended) is reported once first.
            if g.err.is_some()
                || g.tx.done_writing
                || g.tx.any_close()
                || g.rx.any_close()
                || !g.state.can_send()
            {
                if sent > 0 {
                    break;
                }
                return Err(match g.err {
                    Some(e) if g.rx.abort => {
                        g.err = None;
                        g.rx.abort = false;
                        g.rx.closed = true;
                        e
                    }
                    _ => EPIPE,
                });
            }
            let mut room = self.room(&g);
            if room == 0 {
                self.take_cdc(&mut g, false);
                room = self.room(&g);
            }
            if room == 0 {
                // C: `SMC_STAT_RMB_TX_PEER_FULL`, a write that finds no room in the peer's ring.
                self.ns.stats.add(Count::TxPeerFull, 1);
                g.write_blocked = true;
                if g.prod_told != g.prod {
                    // Corked data the peer must hear of to make room.
                    let _ = self.send_cdc(&mut g);
                }
                if timeo == 0 {
                    break;
                }
                match self.wait(&mut g, &mut timeo) {
                    Waited::Again => continue,
                    Waited::Timeout => break,
                    Waited::Signal => {
                        if sent > 0 {
                            break;
                        }
                        return Err(ERESTARTSYS);
                    }
                }
            }
            g.write_blocked = false;
            if g.remote.is_none() && g.bounce.is_empty() {
                // The attached peer ring was let go of: the connection is ending.
                if sent > 0 {
                    break;
                }
                return Err(EPIPE);
            }
            let (n, got) = if g.remote.is_some() {
                let n = (room as usize).min(len - sent);
                (n, self.write_direct(&mut g, msg, n as u32)? as usize)
            } else {
                let n = (room as usize).min(len - sent).min(g.bounce.len());
                let got = msg.copy_from(&mut g.bounce[..n]);
                if got > 0 {
                    self.copy_in(&mut g, got as u32)?;
                }
                (n, got)
            };
            if got == 0 {
                if sent > 0 {
                    break;
                }
                return Err(EFAULT);
            }
            sent += got;
            if !(cork && self.room(&g) > 0) {
                let _ = self.send_cdc(&mut g);
            }
            if got < n {
                break;
            }
        }
        if sent == 0 && len > 0 {
            return Err(EAGAIN);
        }
        Ok(sent)
    }

    /// Copies up to `n` bytes of `msg` straight into the attached peer ring at our producer
    /// cursor and moves the cursor on by what was copied (fewer on a fault); returns that.
    fn write_direct(&self, g: &mut Inner, msg: &mut MsgHdr<'_>, n: u32) -> Result<u32> {
        let pieces = cdc::ring_pieces(self.peer_ring, g.prod, n).ok_or(EINVAL)?;
        let remote = g.remote.as_ref().ok_or(ECONNRESET)?;
        let src = msg.source().ok_or(EINVAL)?;
        let done = copy_pieces(pieces, |at, n| remote.copy_from_iter(at, n, src))?;
        // The data before the CDC message that tells the peer of it (`wmb()`: the mapping may
        // be a device's, write-combined).
        mb(Write);
        g.prod = g.prod.add(self.peer_ring, done).ok_or(EINVAL)?;
        Ok(done)
    }

    /// Moves the first `n` bytes of the bounce buffer into the peer's ring at our producer
    /// cursor, and moves the cursor on.
    fn copy_in(&self, g: &mut Inner, n: u32) -> Result {
        let pieces = cdc::ring_pieces(self.peer_ring, g.prod, n).ok_or(EINVAL)?;
        let Inner { user, bounce, .. } = &mut *g;
        let user = user.as_ref().ok_or(ECONNRESET)?;
        let mut from = 0usize;
        for (off, len) in pieces {
            if len == 0 {
                continue;
            }
            let data = &bounce[from..from + len as usize];
            user.move_data(self.peer_token, 0, false, SMCD_CDC_LEN as u32 + off, data)?;
            from += len as usize;
        }
        g.prod = g.prod.add(self.peer_ring, n).ok_or(EINVAL)?;
        Ok(())
    }

    /// Tells the peer of corked data (`TCP_CORK` cleared, `TCP_NODELAY` set: C's
    /// `smc_tx_pending()`).
    pub(crate) fn push(&self) {
        let mut g = self.inner.lock();
        if g.prod_told != g.prod && g.state.can_send() && !g.tx.any_close() && g.err.is_none() {
            let _ = self.send_cdc(&mut g);
        }
    }

    /// `poll`.
    pub(crate) fn poll(&self, args: &PollArgs<'_>) -> u32 {
        args.register(&self.cv);
        let mut g = self.inner.lock();
        self.take_cdc(&mut g, false);
        let mut mask = 0;
        let eof = g.rx.done_writing || g.rx.any_close();
        if self.unread(&g) > 0 || eof || g.shut_rd {
            mask |= bindings::POLLIN | bindings::POLLRDNORM;
        }
        if eof {
            mask |= bindings::POLLRDHUP;
        }
        if g.state.can_send() && !g.tx.done_writing && self.room(&g) > 0 {
            mask |= bindings::POLLOUT | bindings::POLLWRNORM;
        }
        // Both directions shut down (TCP: `SHUTDOWN_MASK`), or the connection ended.
        if eof && (g.tx.done_writing || g.tx.any_close()) || g.state == State::Closed {
            mask |= bindings::POLLHUP;
        }
        if g.err.is_some() {
            mask |= bindings::POLLERR;
        }
        mask
    }

    /// The value of an ioctl the connection answers itself: `SIOCINQ` (bytes to read),
    /// `SIOCOUTQ` (bytes sent that the peer has not consumed as far as we know: the data sits
    /// in its DMB, as the C smc counts it where its send buffer is the peer's DMB), and
    /// `SIOCOUTQNSD` (bytes not sent yet: the corked ones, in the peer's ring but not told);
    /// `None` for others.
    pub(crate) fn ioctl_value(&self, cmd: u32) -> Option<i32> {
        let mut g = self.inner.lock();
        self.take_cdc(&mut g, false);
        let v = match cmd {
            SIOCINQ => self.unread(&g),
            SIOCOUTQ => self.peer_ring.saturating_sub(self.room(&g)),
            SIOCOUTQNSD => g.prod_told.distance_to(self.peer_ring, g.prod).unwrap_or(0),
            _ => return None,
        };
        Some(i32::try_from(v).unwrap_or(i32::MAX))
    }

    /// `shutdown(how)`: true if the CLC socket is to be shut down too.
    pub(crate) fn shutdown(&self, how: i32) -> Result<bool> {
        let mut g = self.inner.lock();
        let r = match how {
            0 => {
                g.shut_rd = true;
                false
            }
            1 => {
                self.step(&mut g, Event::ShutdownWrite);
                false
            }
            2 => {
                g.shut_rd = true;
                let unread = self.unread(&g) > 0;
                self.step(&mut g, Event::Close { unread });
                true
            }
            _ => return Err(EINVAL),
        };
        drop(g);
        self.cv.notify_all();
        Ok(r)
    }

    /// The socket is released: closes the connection (it lives on until its close completes).
    pub(crate) fn release(&self) {
        let ended = {
            let mut g = self.inner.lock();
            g.released = true;
            let unread = self.unread(&g) > 0;
            let done = self.step(&mut g, Event::Close { unread });
            if done || g.dmb.is_none() {
                Some(self.finish(&mut g, false))
            } else {
                None
            }
        };
        self.cv.notify_all();
        self.leave(ended);
    }
}

impl WorkItem for Conn {
    type Pointer = Arc<Conn>;

    fn run(this: Arc<Conn>) {
        this.receive();
    }
}
