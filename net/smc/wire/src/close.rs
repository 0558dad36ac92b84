// SPDX-License-Identifier: GPL-2.0

//! The close state machine of an SMC connection: the socket states the C smc uses (and
//! `smc_diag` reports, as numbers), and how the application's close and shutdown, the peer's
//! CDC flags and a local abort move a connection between them.
//!
//! Both sides of a connection run this machine; what one side sends is what the other sees as
//! the peer's flags, so the states must be the C smc's (`enum smc_state`, `smc.h`;
//! transitions as `smc_close.c` makes them). The module only decides; the caller sends the
//! CDC message a [`Step`] asks for, shuts the CLC socket down, wakes waiters and frees the
//! connection. Waiting for unsent data before a close (C: `smc_close_stream_wait()`) is also
//! the caller's: it applies [`Event::Close`] once it is done waiting.
//!
//! The machine is C's, including one hole the two-sided exploration in `tests/close.rs`
//! finds: when one side aborts (closes with unread data) from `PeerCloseWait2` while the
//! other sits in `AppCloseWait2`, the other closes without answering, and the aborting side
//! waits in `PeerCloseWait2` for ever, its socket long released. That is the connection
//! layer's to end (an orphan waiting for an answer is reaped after a timeout, and its DMB is
//! unregistered rather than reused, so no late message of the peer can land in another
//! connection's buffer); the states stay C's so that both ends agree on the wire.

/// A socket state, with C's number (`enum smc_state`; `smc_diag`'s `state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum State {
    /// Connected, data flowing.
    Active = 1,
    /// Not connected yet (also a socket whose handshake is under way).
    Init = 2,
    /// Closed.
    Closed = 7,
    /// Listening.
    Listen = 10,
    /// This side sent its close or `done_writing` first; waiting for the peer's close.
    PeerCloseWait1 = 20,
    /// As `PeerCloseWait1`, and the peer has shut down writing too.
    PeerCloseWait2 = 21,
    /// The peer sent its close or `done_writing` first; waiting for the application's close.
    AppCloseWait1 = 22,
    /// As `AppCloseWait1`, and the application has shut down writing too.
    AppCloseWait2 = 23,
    /// The peer closed after this side's shutdown of writing; waiting for the application to
    /// close.
    AppFinCloseWait = 24,
    /// This side closed after the peer's `done_writing`; waiting for the peer's close.
    PeerFinCloseWait = 25,
    /// Aborted locally; waiting for the abort to finish.
    PeerAbortWait = 26,
    /// The peer aborted; waiting for the application to close.
    ProcessAbort = 27,
}

impl State {
    /// The state for C's number, if it is one.
    pub fn from_c(n: u8) -> Option<State> {
        use State::*;
        [
            Active,
            Init,
            Closed,
            Listen,
            PeerCloseWait1,
            PeerCloseWait2,
            AppCloseWait1,
            AppCloseWait2,
            AppFinCloseWait,
            PeerFinCloseWait,
            PeerAbortWait,
            ProcessAbort,
        ]
        .into_iter()
        .find(|s| *s as u8 == n)
    }

    /// Whether the application can still send (C: `smc_tx_sendmsg()` refuses otherwise).
    pub fn can_send(self) -> bool {
        matches!(self, State::Active | State::AppCloseWait1)
    }
}

/// The closing flags of one direction (`struct smc_cdc_conn_state_flags`, as C keeps them in
/// `local_tx_ctrl` and `local_rx_ctrl`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags {
    /// `peer_done_writing`: the sender shut down writing.
    pub done_writing: bool,
    /// `peer_conn_closed`: the sender closed.
    pub closed: bool,
    /// `peer_conn_abort`: the sender aborted.
    pub abort: bool,
}

impl Flags {
    /// Any close (C: `smc_cdc_rxed_any_close()` / `smc_close_sent_any_close()`).
    pub fn any_close(self) -> bool {
        self.closed || self.abort
    }
}

/// What moves the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The application closes the socket (after any wait for its unsent data). `unread`:
    /// received data was left unread, so the close goes out as an abort (C:
    /// `smc_close_final()`).
    Close {
        /// Received bytes the application did not read.
        unread: bool,
    },
    /// The application shuts down writing.
    ShutdownWrite,
    /// The peer's flags changed (a CDC message carried `done_writing`, `closed` or `abort`);
    /// `dead`: the application has already released the socket.
    Peer {
        /// The socket was released.
        dead: bool,
    },
    /// The connection is torn down locally: its link group or device went away, or the
    /// socket is killed (C: `smc_close_active_abort()`).
    Kill,
}

/// The CDC message a step asks the caller to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Send {
    /// None.
    Nothing,
    /// `done_writing` (C: `smc_close_wr()`).
    DoneWriting,
    /// `closed` (C: `smc_close_final()` with nothing unread).
    Closed,
    /// `abort` (C: `smc_close_final()` with unread data, `smc_close_abort()`).
    Abort,
}

/// What the caller does after an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    /// The new state.
    pub state: State,
    /// The message to send.
    pub send: Send,
    /// Shut the CLC socket down in both directions now (an active close does, so that the
    /// peer does not end up in TIME_WAIT).
    pub shutdown_clcsock: bool,
    /// The socket gets `ECONNABORTED` (a kill of a connected socket).
    pub aborted: bool,
}

impl Step {
    fn to(state: State) -> Step {
        Step {
            state,
            send: Send::Nothing,
            shutdown_clcsock: false,
            aborted: false,
        }
    }

    fn sending(self, send: Send) -> Step {
        Step { send, ..self }
    }
}

/// The final message of a close: an abort if data was left unread.
fn final_message(unread: bool) -> Send {
    if unread {
        Send::Abort
    } else {
        Send::Closed
    }
}

/// The step for `event` in `state`, given the flags this side has sent (`tx`) and received
/// (`rx`, including those that caused a [`Event::Peer`]).
pub fn step(state: State, tx: Flags, rx: Flags, event: Event) -> Step {
    use State::*;
    let stay = Step::to(state);
    // This side shut down writing and has not sent its close yet.
    let owes_close = tx.done_writing && !tx.any_close();
    match event {
        Event::Close { unread } => match state {
            Init | Listen | PeerAbortWait => Step::to(Closed),
            Active => Step {
                shutdown_clcsock: true,
                ..Step::to(PeerCloseWait1).sending(final_message(unread))
            },
            AppFinCloseWait if owes_close => Step::to(Closed).sending(final_message(unread)),
            AppFinCloseWait => Step::to(Closed),
            AppCloseWait1 | AppCloseWait2 => {
                let next = if rx.any_close() { Closed } else { PeerFinCloseWait };
                Step::to(next).sending(final_message(unread))
            }
            PeerCloseWait1 | PeerCloseWait2 if owes_close => stay.sending(final_message(unread)),
            PeerCloseWait1 | PeerCloseWait2 | PeerFinCloseWait | Closed => stay,
            ProcessAbort => Step::to(Closed).sending(Send::Abort),
        },
        Event::ShutdownWrite => match state {
            Active => Step::to(PeerCloseWait1).sending(Send::DoneWriting),
            AppCloseWait1 => Step::to(AppCloseWait2).sending(Send::DoneWriting),
            _ => stay,
        },
        Event::Peer { .. } if rx.abort => match state {
            Init | Active | AppCloseWait1 | AppFinCloseWait => Step::to(ProcessAbort),
            PeerCloseWait1 | PeerCloseWait2 if owes_close => Step::to(ProcessAbort),
            PeerCloseWait1 | PeerCloseWait2 | AppCloseWait2 | PeerFinCloseWait
            | PeerAbortWait => Step::to(Closed),
            ProcessAbort | Closed | Listen => stay,
        },
        Event::Peer { dead } => match state {
            Init | Active => Step::to(AppCloseWait1),
            PeerCloseWait1 | PeerCloseWait2 => {
                let waiting = if state == PeerCloseWait1 && rx.done_writing {
                    PeerCloseWait2
                } else {
                    state
                };
                if !rx.any_close() {
                    Step::to(waiting)
                } else if dead && tx.any_close() {
                    Step::to(Closed)
                } else {
                    Step::to(AppFinCloseWait)
                }
            }
            PeerFinCloseWait if rx.any_close() => Step::to(Closed),
            _ => stay,
        },
        Event::Kill => {
            let aborted = state != Init;
            match state {
                Init | PeerAbortWait | Closed | Listen => Step { aborted, ..stay },
                _ => Step {
                    aborted,
                    ..Step::to(Closed)
                },
            }
        }
    }
}
