// SPDX-License-Identifier: GPL-2.0

//! The server side: a listening SMC socket runs the CLC handshake of each new connection
//! before `accept()` returns it, without letting one slow client hold up the others.
//!
//! - [`Listener`]'s work item (on `system_long`) accepts TCP connections from the listening
//!   CLC socket, blocking, and starts a [`Conn`] work item (on `system_dfl`) for each.
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
//! Backpressure: at most [`Listener::capacity`] connections are in a handshake or ready at
//! once (the listen backlog, within bounds); beyond that the listener work waits and new
//! connections wait in the CLC socket's own accept queue, as with TCP.
//!
//! Locking: [`Listener::queue`] ("Listener::queue") protects [`Queue`]. Nothing else is taken
//! while it is held and nothing is allocated under it: the vectors are sized when the
//! listener is made and only ever hold up to their capacity.

use crate::{clc::DeclineReason, handshake, stats};
use core::mem;
use kernel::{
    alloc::KVVec,
    net::socket::KernelSocket,
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

/// A connection whose handshake ended in a fallback, waiting for `accept()`.
pub(crate) struct Ready {
    pub(crate) clc: Arc<KernelSocket>,
    pub(crate) reason: DeclineReason,
}

/// What [`Listener::queue`] protects.
struct Queue {
    /// The listener was closed: nothing may be queued any more.
    closing: bool,
    /// The listener work has stopped (the CLC socket stopped listening, or closing).
    stopped: bool,
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
    /// The statistics of the listener's namespace.
    stats: Arc<stats::NetStats>,
    /// How many connections may be in [`Queue::inflight`] and [`Queue::ready`] together.
    capacity: usize,
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
    /// Makes the listener of `clc` (not started: see [`Listener::start`]).
    pub(crate) fn new(
        clc: Arc<KernelSocket>,
        stats: Arc<stats::NetStats>,
        backlog: i32,
    ) -> Result<Arc<Self>> {
        let capacity = usize::try_from(backlog).unwrap_or(0).clamp(MIN_CAPACITY, MAX_CAPACITY);
        let inflight = KVVec::with_capacity(capacity, GFP_KERNEL)?;
        let ready = KVVec::with_capacity(capacity, GFP_KERNEL)?;
        let this = Arc::pin_init(
            pin_init!(Self {
                clc,
                stats,
                capacity,
                queue <- new_mutex!(
                    Queue { closing: false, stopped: false, inflight, ready },
                    "Listener::queue"
                ),
                cv <- new_poll_condvar!("Listener::cv"),
                work <- new_work!("Listener::work"),
            }),
            GFP_KERNEL,
        )?;
        Ok(this)
    }

    /// Starts accepting connections, once `clc` listens.
    pub(crate) fn start(self: &Arc<Self>) {
        // Cannot fail: the work item was never queued.
        let _ = workqueue::system_long().enqueue(self.clone());
    }

    /// Takes the oldest ready connection, waiting (unless `nonblock`) up to `timeout`
    /// jiffies (`None`: no limit) or until a signal.
    pub(crate) fn accept(&self, nonblock: bool, mut timeout: Option<Jiffies>) -> Result<Ready> {
        let mut q = self.queue.lock();
        loop {
            if !q.ready.is_empty() {
                let r = q.ready.remove(0).map_err(|_| EINVAL)?;
                drop(q);
                // There is room for another connection now.
                self.cv.notify_all();
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
        let (inflight, ready) = {
            let mut q = self.queue.lock();
            q.closing = true;
            (mem::take(&mut q.inflight), mem::take(&mut q.ready))
        };
        self.cv.notify_all();
        // Wakes the listener work from `accept()` (the socket stops listening) and every
        // handshake from its receive.
        let _ = self.clc.shutdown(SHUT_RDWR);
        for c in inflight.iter() {
            let _ = c.clc.shutdown(SHUT_RDWR);
        }
        self.work.flush();
        for c in inflight.iter() {
            c.work.flush();
        }
        // Closes what was never accepted (peers see a reset).
        drop(ready);
        drop(inflight);
    }

    /// Waits for room for one more connection; false if the listener is closing.
    fn wait_for_room(&self) -> bool {
        let mut q = self.queue.lock();
        while !q.closing && q.inflight.len() + q.ready.len() >= self.capacity {
            // Interruptible so that a long wait is not a hung task; work items get no signals.
            let _ = self.cv.wait_interruptible(&mut q);
        }
        !q.closing
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
            self.stats.server.error();
            return true;
        };
        let conn = match Arc::pin_init(
            pin_init!(Conn { listener: self.clone(), clc, work <- new_work!("Conn::work") }),
            GFP_KERNEL,
        ) {
            Ok(c) => c,
            Err(_) => {
                self.stats.server.error();
                return true;
            }
        };
        {
            let mut q = self.queue.lock();
            if q.closing {
                return false;
            }
            // Room was made by `wait_for_room()`, and only this work item adds.
            if q.inflight.push_within_capacity(conn.clone()).is_err() {
                return true;
            }
        }
        let _ = workqueue::system_dfl().enqueue(conn);
        true
    }

    /// A handshake ended: queues its connection for `accept()` or drops it.
    fn finish(&self, conn: &Arc<Conn>, outcome: Result<DeclineReason>) {
        let mut q = self.queue.lock();
        if let Some(i) = q.inflight.iter().position(|c| Arc::ptr_eq(c, conn)) {
            let _ = q.inflight.remove(i);
        }
        let queued = match outcome {
            Ok(reason) if !q.closing => q
                .ready
                .push_within_capacity(Ready { clc: conn.clc.clone(), reason })
                .is_ok(),
            _ => false,
        };
        drop(q);
        self.cv.notify_all();
        match outcome {
            Ok(reason) if queued => self.stats.server.fallback(reason),
            _ => self.stats.server.error(),
        }
    }
}

impl WorkItem for Listener {
    type Pointer = Arc<Listener>;

    fn run(this: Arc<Listener>) {
        while this.wait_for_room() {
            match this.clc.accept(0) {
                Ok(clc) => {
                    if !this.start_handshake(clc) {
                        break;
                    }
                }
                // The peer went before we took the connection: go on.
                Err(e) if e == ECONNABORTED || e == EAGAIN => continue,
                // Memory is short: go on after a pause, so that a shortage that lasts does
                // not keep a CPU busy.
                Err(e) if e == ENOMEM || e == ENOBUFS => this.back_off(),
                // The CLC socket no longer listens (closed or shut down).
                Err(_) => break,
            }
        }
        this.queue.lock().stopped = true;
        this.cv.notify_all();
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
            Ok(mut buf) => handshake::server(&this.clc, &mut buf),
            Err(e) => Err(e.into()),
        };
        this.listener.finish(&this, outcome);
    }
}
