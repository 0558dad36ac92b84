// SPDX-License-Identifier: GPL-2.0

//! The server side: a listening SMC socket runs the CLC handshake of each new connection
//! before `accept()` returns it, without letting one slow client hold up the others.
//!
//! - When the listening CLC socket signals a new connection (its data-ready callback, a
//!   [`DataReadyHook`]), [`Listener`]'s work item is queued (C: `smc_clcsock_data_ready()`).
//!   It accepts, without blocking, every connection TCP has ready and starts a [`Conn`] work
//!   item for each. No thread waits on a listener: the work item runs when there is
//!   something to accept, on the CPU that got the connection, as C's `smc_tcp_listen_work()`.
//! - A [`Conn`] runs the server's handshake (bounded by the CLC timeout) and puts the
//!   connection on the listener's ready queue, or drops it if the handshake failed.
//! - `accept()` takes from the ready queue, waiting on [`Listener::cv`]; `poll` registers on
//!   the same condition variable.
//! - Closing the listener ([`Listener::close`]) stops all of it: it shuts down the listening
//!   CLC socket and the sockets of the handshakes in flight, which wakes whatever waits on
//!   them, and waits for every work item to finish. So no work item outlives the listening
//!   socket (which keeps the module loaded), and a handshake that ends after the close drops
//!   its connection instead of queueing it (the C implementation had a use-after-free there).
//!
//! Work items go on the unbound `system_dfl` queue, not a per-CPU one as C's (`smc_tcp_ls_wq`,
//! `smc_hs_wq`): a handshake waits for the peer's message, and per-CPU workers are concurrency
//! managed, so under load the handshakes of the connections one CPU took queued behind each
//! other and behind whatever else that CPU's pool ran. Measured between two TCG VMs, 50
//! connections at once with data flowing: up to 5.6 s from queueing to running, 20 of 50
//! clients past the CLC timeout (6 s) and failing with `ETIMEDOUT`; unbound, the longest wait
//! was 0.2 s and 250 at once all completed (`tests/vm/51-load-smc-rs.sh`).
//!
//! Backpressure: at most [`Listener::capacity`] connections are in a handshake or ready at
//! once (the listen backlog, within bounds); beyond that the listener work pauses (until
//! `accept()` or a failed handshake makes room) and new connections wait in the CLC socket's
//! own accept queue, as with TCP.
//!
//! Locking: [`Listener::queue`] ("Listener::queue") protects [`Queue`]. Nothing else is taken
//! while it is held and nothing is allocated under it: the vectors are sized when the
//! listener is made and only ever hold up to their capacity. The data-ready hook runs in
//! atomic context and takes no lock of ours: it only queues the listener work, which looks at
//! [`Queue`] when it runs.

use crate::{
    handshake::{self, Established},
    netns::Netns,
};
use core::{
    mem,
    sync::atomic::{AtomicBool, Ordering::Relaxed},
};
use kernel::{
    alloc::KVVec,
    bindings,
    net::socket::{DataReady, DataReadyHook, KernelSocket, PreparedHook},
    new_mutex, new_poll_condvar, new_work,
    prelude::*,
    sync::{poll::PollCondVar, Arc, CondVarTimeoutResult, Mutex},
    time::{msecs_to_jiffies, Jiffies},
    workqueue::{self, impl_has_work, Work, WorkItem},
};

/// `shutdown(2)`'s `SHUT_RDWR`.
const SHUT_RDWR: i32 = 2;

/// How long the listener work pauses after an `accept()` that failed for lack of memory.
const BACK_OFF_MS: u32 = 20;

/// The fewest and most connections a listener keeps in handshakes and ready at once.
const MIN_CAPACITY: usize = 16;
const MAX_CAPACITY: usize = 4096;

/// A connection whose handshake is done, waiting for `accept()`.
pub(crate) struct Ready {
    pub(crate) clc: Arc<KernelSocket>,
    pub(crate) est: Established,
}

/// What [`Listener::queue`] protects.
struct Queue {
    /// The listener was closed: nothing may be queued any more.
    closing: bool,
    /// The CLC socket stopped listening (shut down or closed): `accept()` fails.
    stopped: bool,
    /// The listener work found no room and stopped accepting: the next one to make room
    /// queues it again.
    paused: bool,
    /// Queues the listener work when the CLC socket has a connection to accept (taken out
    /// and dropped by [`Listener::close`], which ends the cycle of references it makes).
    hook: Option<DataReadyHook<Listener>>,
    /// Connections in a handshake.
    inflight: KVVec<Arc<Conn>>,
    /// Connections ready for `accept()`, oldest first.
    ready: KVVec<Ready>,
}

/// The server side of a listening SMC socket.
#[pin_data]
pub(crate) struct Listener {
    /// The listening CLC socket (the SMC socket holds it too).
    clc: Arc<KernelSocket>,
    /// The listener's namespace: its statistics and settings.
    ns: Arc<Netns>,
    /// How many connections may be in [`Queue::inflight`] and [`Queue::ready`] together.
    capacity: usize,
    /// The listener work is paused for lack of room ([`Queue::paused`], readable without the
    /// lock by [`DataReady::congested`]).
    congested: AtomicBool,
    /// The receive and send buffer sizes the application set, if it did (`SO_RCVBUF`,
    /// `SO_SNDBUF`): each connection's buffers start from them, else from the namespace's
    /// settings when the connection comes.
    bufs_set: (Option<i32>, Option<i32>),
    #[pin]
    queue: Mutex<Queue>,
    /// Notified when [`Queue`] changes: a connection is ready, a handshake ended, the listener
    /// closes or stops.
    #[pin]
    cv: PollCondVar,
    /// Accepts connections from the CLC socket.
    #[pin]
    work: Work<Listener>,
}

impl_has_work! {
    impl HasWork<Listener> for Listener { self.work }
}

impl Listener {
    /// The buffer sizes a connection coming now starts from.
    fn bufs(&self) -> handshake::Bufs {
        let (rcv, snd) = self.bufs_set;
        let s = &self.ns.settings;
        handshake::Bufs { dmb: s.dmb_want(rcv), sndbuf: s.sndbuf_want(snd) }
    }

    /// Makes the listener of `clc` (not started: see [`Listener::start`]).
    pub(crate) fn new(
        clc: Arc<KernelSocket>,
        ns: Arc<Netns>,
        backlog: i32,
        bufs_set: (Option<i32>, Option<i32>),
    ) -> Result<Arc<Self>> {
        let capacity = usize::try_from(backlog).unwrap_or(0).clamp(MIN_CAPACITY, MAX_CAPACITY);
        let inflight = KVVec::with_capacity(capacity, GFP_KERNEL)?;
        let ready = KVVec::with_capacity(capacity, GFP_KERNEL)?;
        let this = Arc::pin_init(
            pin_init!(Self {
                clc,
                ns,
                capacity,
                congested: AtomicBool::new(false),
                bufs_set,
                queue <- new_mutex!(
                    Queue {
                        closing: false,
                        stopped: false,
                        paused: false,
                        hook: None,
                        inflight,
                        ready
                    },
                    "Listener::queue"
                ),
                cv <- new_poll_condvar!("Listener::cv"),
                work <- new_work!("Listener::work"),
            }),
            GFP_KERNEL,
        )?;
        Ok(this)
    }

    /// The hook that will queue the listener work, made apart so that installing it
    /// allocates nothing. To install on the CLC socket before it listens (so that it sees
    /// every connection), then to hand to [`Listener::start`].
    pub(crate) fn prepare_hook(self: &Arc<Self>) -> Result<PreparedHook<Listener>> {
        DataReadyHook::prepare(self.clone())
    }

    /// Starts accepting connections, once `clc` listens with `hook` installed.
    pub(crate) fn start(&self, hook: DataReadyHook<Listener>) {
        self.queue.lock().hook = Some(hook);
    }

    /// Queues the listener work (unless it is queued already), which looks at the CLC socket
    /// again: also after a `shutdown()`, which the hook does not see.
    pub(crate) fn queue_work(self: &Arc<Self>) {
        let _ = workqueue::system_dfl().enqueue(self.clone());
    }

    /// Room was made in `q`: resumes a paused listener work.
    fn room_made(self: &Arc<Self>, q: &mut Queue) {
        if q.paused && !q.closing {
            q.paused = false;
            self.congested.store(false, Relaxed);
            self.queue_work();
        }
    }

    /// Takes the oldest ready connection, waiting (unless `nonblock`) up to `timeout`
    /// jiffies (`None`: no limit) or until a signal.
    pub(crate) fn accept(
        self: &Arc<Self>,
        nonblock: bool,
        mut timeout: Option<Jiffies>,
    ) -> Result<Ready> {
        let mut q = self.queue.lock();
        loop {
            if !q.ready.is_empty() {
                let r = q.ready.remove(0).map_err(|_| EINVAL)?;
                self.room_made(&mut q);
                return Ok(r);
            }
            if q.closing || q.stopped {
                return Err(EINVAL);
            }
            if nonblock {
                return Err(EAGAIN);
            }
            match timeout {
                None => {
                    if self.cv.wait_interruptible(&mut q) {
                        return Err(ERESTARTSYS);
                    }
                }
                Some(j) => match self.cv.wait_interruptible_timeout(&mut q, j) {
                    CondVarTimeoutResult::Signal { .. } => return Err(EINTR),
                    CondVarTimeoutResult::Timeout => return Err(EAGAIN),
                    // Woken early: wait only what is left of the timeout.
                    CondVarTimeoutResult::Woken { jiffies } => timeout = Some(jiffies),
                },
            }
        }
    }

    /// Whether `accept()` would not wait (a connection is ready, or the listener stopped).
    pub(crate) fn readable(&self) -> bool {
        let q = self.queue.lock();
        !q.ready.is_empty() || q.stopped
    }

    /// The condition variable `poll` registers on.
    pub(crate) fn cv(&self) -> &PollCondVar {
        &self.cv
    }

    /// Stops the listener: after it returns no work item of it runs, and the connections it
    /// held are closed.
    pub(crate) fn close(&self) {
        let (hook, inflight, ready) = {
            let mut q = self.queue.lock();
            q.closing = true;
            (q.hook.take(), mem::take(&mut q.inflight), mem::take(&mut q.ready))
        };
        // No more queueing of the listener work from the socket once this is gone.
        drop(hook);
        self.cv.notify_all();
        // The socket stops listening; every handshake wakes from its receive.
        let _ = self.clc.shutdown(SHUT_RDWR);
        for c in inflight.iter() {
            let _ = c.clc.shutdown(SHUT_RDWR);
        }
        self.work.flush();
        for c in inflight.iter() {
            c.work.flush();
        }
        // Closes what was never accepted (peers see a reset, or the close of SMC-D).
        for r in ready.iter() {
            if let Established::Smcd(c) = &r.est {
                c.release();
            }
        }
        drop(ready);
        drop(inflight);
    }

    /// Whether the listener work may accept one more connection; if not, it stops (paused
    /// when there is no room, until some is made).
    fn may_accept(&self) -> bool {
        let mut q = self.queue.lock();
        if q.closing || q.stopped {
            return false;
        }
        if q.inflight.len() + q.ready.len() >= self.capacity {
            q.paused = true;
            self.congested.store(true, Relaxed);
            return false;
        }
        true
    }

    /// Waits [`BACK_OFF_MS`], or less if the listener closes.
    fn back_off(&self) {
        let mut q = self.queue.lock();
        if !q.closing {
            let _ = self.cv.wait_interruptible_timeout(&mut q, msecs_to_jiffies(BACK_OFF_MS));
        }
    }

    /// Starts the handshake of `clc`, just accepted; false if the listener is closing.
    fn start_handshake(self: &Arc<Self>, clc: KernelSocket) -> bool {
        let Ok(clc) = Arc::new(clc, GFP_KERNEL) else {
            self.ns.stats.server.error();
            return true;
        };
        let conn = match Arc::pin_init(
            pin_init!(Conn { listener: self.clone(), clc, work <- new_work!("Conn::work") }),
            GFP_KERNEL,
        ) {
            Ok(c) => c,
            Err(_) => {
                self.ns.stats.server.error();
                return true;
            }
        };
        {
            let mut q = self.queue.lock();
            if q.closing {
                return false;
            }
            // Room was seen by `may_accept()`, and only this work item adds.
            if q.inflight.push_within_capacity(conn.clone()).is_err() {
                return true;
            }
        }
        let _ = workqueue::system_dfl().enqueue(conn);
        true
    }

    /// A handshake ended: queues its connection for `accept()` or drops it.
    fn finish(self: &Arc<Self>, conn: &Arc<Conn>, outcome: Result<Established>) {
        let mut q = self.queue.lock();
        if let Some(i) = q.inflight.iter().position(|c| Arc::ptr_eq(c, conn)) {
            let _ = q.inflight.remove(i);
        }
        let counted = match &outcome {
            Ok(Established::Fallback(f)) => Some(Some(f.reason)),
            Ok(Established::Smcd(_)) => Some(None),
            Err(_) => None,
        };
        // An established connection that is not queued (the listener closes, or no room).
        let (queued, refused) = match outcome {
            Ok(est) if !q.closing => {
                match q.ready.push_within_capacity(Ready { clc: conn.clc.clone(), est }) {
                    Ok(()) => (true, None),
                    Err(e) => (false, Some(e.0.est)),
                }
            }
            Ok(est) => (false, Some(est)),
            Err(_) => (false, None),
        };
        if !queued {
            self.room_made(&mut q);
        }
        drop(q);
        self.cv.notify_all();
        // An SMC-D connection that cannot be queued ends here (outside the lock).
        if let Some(Established::Smcd(c)) = refused {
            c.release();
        }
        match counted {
            Some(Some(reason)) if queued => self.ns.stats.server.fallback(reason),
            Some(None) if queued => self.ns.stats.server.smcd(),
            _ => self.ns.stats.server.error(),
        }
    }
}

impl DataReady for Listener {
    fn data_ready(this: &Arc<Listener>) {
        // Nothing else here (atomic context): the work item looks at the queue.
        this.queue_work();
    }

    /// With `SMC_LIMIT_HS`: while the handshakes are backed up (the listener work is paused
    /// for lack of room), new connections go without SMC, so they cost no handshake (C asks
    /// whether its handshake workqueue is congested).
    fn congested(this: &Arc<Listener>) -> bool {
        this.congested.load(Relaxed)
    }
}

impl WorkItem for Listener {
    type Pointer = Arc<Listener>;

    /// Accepts what TCP has ready, then returns: the hook queues it again for the next
    /// connection (one that comes while it runs queues it for another run).
    fn run(this: Arc<Listener>) {
        while this.may_accept() {
            match this.clc.accept(bindings::O_NONBLOCK as i32) {
                Ok(clc) => {
                    if !this.start_handshake(clc) {
                        return;
                    }
                }
                // Nothing more to accept for now.
                Err(e) if e == EAGAIN => return,
                // The peer went before we took the connection: go on.
                Err(e) if e == ECONNABORTED => continue,
                // Memory is short: go on after a pause, so that a shortage that lasts does
                // not keep a CPU busy.
                Err(e) if e == ENOMEM || e == ENOBUFS => this.back_off(),
                // The CLC socket no longer listens (closed or shut down).
                Err(_) => {
                    this.queue.lock().stopped = true;
                    this.cv.notify_all();
                    return;
                }
            }
        }
    }
}

/// One accepted TCP connection in its server handshake.
#[pin_data]
struct Conn {
    listener: Arc<Listener>,
    clc: Arc<KernelSocket>,
    #[pin]
    work: Work<Conn>,
}

impl_has_work! {
    impl HasWork<Conn> for Conn { self.work }
}

impl WorkItem for Conn {
    type Pointer = Arc<Conn>;

    fn run(this: Arc<Conn>) {
        let outcome = match KVVec::from_elem(0u8, handshake::CLC_BUF_LEN, GFP_KERNEL) {
            Ok(mut buf) => handshake::server(&this.clc, &mut buf, this.listener.bufs(), &this.listener.ns),
            Err(e) => Err(e.into()),
        };
        this.listener.finish(&this, outcome);
    }
}
