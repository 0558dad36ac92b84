// SPDX-License-Identifier: GPL-2.0

//! The client's side of the handshake: after a non-blocking `connect()` a work item (on the
//! unbound `system_dfl` queue, for the reason `listen.rs` gives; C's is on the per-CPU
//! `smc_hs_wq`) waits for the TCP connection and runs it (C: `smc_connect_work()`), so that no socket call of the application blocks on it; a
//! blocking `connect()` runs it in its own thread. Until it is done the socket is neither
//! readable nor writable; blocking calls wait on [`Connecting::cv`], pollers on the CLC
//! socket, which its end wakes.
//!
//! Locking: [`Connecting::outcome`] ("Connecting::outcome") is a leaf lock.

use crate::{
    handshake::{self, Established},
    netns::Netns,
};
use kernel::{
    bindings,
    net::socket::KernelSocket,
    new_condvar, new_mutex, new_work,
    prelude::*,
    sync::{Arc, CondVar, Mutex},
    workqueue::{self, impl_has_work, Work, WorkItem},
};

/// `shutdown(2)`'s `SHUT_RDWR`.
const SHUT_RDWR: i32 = 2;

/// A client handshake under way in a work item.
#[pin_data]
pub(crate) struct Connecting {
    clc: Arc<KernelSocket>,
    ns: Arc<Netns>,
    /// The buffer sizes to start from.
    bufs: handshake::Bufs,
    /// `None` until the work item is done; then why the connection stays on TCP, or the
    /// error that ended it (`None` inside: the TCP connection itself failed). Either error is
    /// the CLC socket's then, for the application's calls to report.
    #[pin]
    outcome: Mutex<Option<Outcome>>,
    /// Notified when the work item is done.
    #[pin]
    cv: CondVar,
    #[pin]
    work: Work<Connecting>,
}

impl_has_work! {
    impl HasWork<Connecting> for Connecting { self.work }
}

/// How a client handshake ended.
pub(crate) type Outcome = Result<Established, Option<Error>>;

impl Connecting {
    /// The handshake of `clc`, to [`Connecting::start`] once its connect is under way.
    pub(crate) fn new(clc: Arc<KernelSocket>, ns: Arc<Netns>, bufs: handshake::Bufs) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Connecting {
                clc,
                ns,
                bufs,
                outcome <- new_mutex!(None, "Connecting::outcome"),
                cv <- new_condvar!("Connecting::cv"),
                work <- new_work!("Connecting::work"),
            }),
            GFP_KERNEL,
        )
    }

    /// Runs the handshake in a work item.
    pub(crate) fn start(self: &Arc<Self>) {
        let _ = workqueue::system_dfl().enqueue(self.clone());
    }

    /// Runs the handshake in the calling thread (a blocking `connect()`, as C's runs it).
    pub(crate) fn run_here(&self) {
        self.handshake();
    }

    /// Ends it without a handshake: the connect failed at once, with the CLC socket's error.
    pub(crate) fn failed(&self) {
        *self.outcome.lock() = Some(Err(None));
        self.cv.notify_all();
    }

    /// The outcome, if the work item is done.
    pub(crate) fn outcome(&self) -> Option<Outcome> {
        self.outcome.lock().clone()
    }

    /// Waits until the work item is done (or a signal comes).
    pub(crate) fn wait(&self) -> Result<Outcome> {
        let mut g = self.outcome.lock();
        loop {
            if let Some(o) = g.as_ref() {
                return Ok(o.clone());
            }
            if self.cv.wait_interruptible(&mut g) {
                return Err(ERESTARTSYS);
            }
        }
    }

    /// Stops the handshake if it still runs (the socket closes) and waits for the work item.
    pub(crate) fn cancel(&self) {
        if self.outcome.lock().is_none() {
            // Ends a wait for the TCP connection or for the peer's message.
            let _ = self.clc.shutdown(SHUT_RDWR);
        }
        self.work.flush();
    }

    /// Waits for the TCP connection, runs the handshake, and publishes how it ended.
    fn handshake(&self) {
        let outcome = match self.clc.wait_connected(false) {
            // `SO_SNDTIMEO` ran out first.
            Err(e) if e == EAGAIN => Err(Some(ETIMEDOUT)),
            Err(e) => Err(Some(e)),
            Ok(()) => {
                let state = u32::from(self.clc.sk_state());
                if state == bindings::TCP_ESTABLISHED || state == bindings::TCP_CLOSE_WAIT {
                    // A peer that does not answer within the CLC timeout: `ETIMEDOUT`.
                    handshake::client(&self.clc, self.bufs, &self.ns)
                        .map_err(|e| Some(if e == EAGAIN { ETIMEDOUT } else { e }))
                } else {
                    // Refused, reset or timed out: TCP's error, left for SO_ERROR.
                    Err(None)
                }
            }
        };
        match &outcome {
            Ok(Established::Fallback(f)) => self.ns.stats.client.fallback(f.reason),
            Ok(Established::Smcd(_)) => self.ns.stats.client.smcd(),
            Err(Some(e)) => {
                let e = *e;
                self.ns.stats.client.error();
                // The connection is unusable: the application's next call and `SO_ERROR`
                // report the error (C sets it on the SMC socket), the later calls fail.
                self.clc.set_error(-e.to_errno());
                let _ = self.clc.shutdown(SHUT_RDWR);
            }
            Err(None) => {}
        }
        *self.outcome.lock() = Some(outcome);
        self.cv.notify_all();
        // Pollers wait on the CLC socket (epoll registered there once, maybe before the
        // connect): they look again and find the socket writable now.
        self.clc.wake_all();
    }
}

impl WorkItem for Connecting {
    type Pointer = Arc<Connecting>;

    fn run(this: Arc<Connecting>) {
        this.handshake();
    }
}
