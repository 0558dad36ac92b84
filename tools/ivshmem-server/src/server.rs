//! The single-threaded `poll(2)` loop: accepting clients, handing out
//! shared memory and eventfds, and announcing connects and disconnects.
//!
//! Message order follows QEMU's `docs/specs/ivshmem-spec.txt`, section
//! "The ivshmem Client-Server Protocol"; see [`Server::accept_one`].

use std::fs::File;
use std::io::{self, Write};
use std::mem;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::peers::{self, PeerTable};
use crate::presence::{self, Presence};
use crate::protocol;

/// How long a send to one client may block before that client is dropped.
/// Messages are tiny, so only a client that stopped reading hits this.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// How long to stop accepting after running out of file descriptors.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(500);

/// Prints a line to stderr prefixed with the program name.
macro_rules! log {
    ($($arg:tt)*) => { eprintln!("ivshmem-server: {}", format_args!($($arg)*)) };
}

/// Static settings of a running server.
#[derive(Debug, Clone)]
pub struct Config {
    /// Path of the listening socket (removed on shutdown).
    pub socket: PathBuf,
    /// Eventfds per peer.
    pub vectors: usize,
    /// Log connects and disconnects.
    pub verbose: bool,
}

/// A `signalfd` receiving SIGINT and SIGTERM, which are blocked for
/// ordinary delivery so that they can only arrive through the poll loop.
#[derive(Debug)]
pub struct SignalFd(OwnedFd);

impl SignalFd {
    /// Blocks SIGINT and SIGTERM for this (single-threaded) process and
    /// returns a descriptor that becomes readable when one is pending.
    /// Call it before anything a signal could interrupt half-way.
    pub fn new() -> io::Result<Self> {
        // SAFETY: sigset_t is plain data; the calls only touch `set`.
        unsafe {
            let mut set: libc::sigset_t = mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGINT);
            libc::sigaddset(&mut set, libc::SIGTERM);
            if libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
                return Err(io::Error::last_os_error());
            }
            let fd = libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK);
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(SignalFd(OwnedFd::from_raw_fd(fd)))
        }
    }

    /// Reads one pending signal, returning its number, if any.
    fn read(&self) -> Option<i32> {
        // SAFETY: signalfd_siginfo is plain data of the size read() fills.
        let mut info: libc::signalfd_siginfo = unsafe { mem::zeroed() };
        let size = mem::size_of_val(&info);
        // SAFETY: `info` is a writable buffer of `size` bytes.
        let n = unsafe {
            libc::read(
                self.0.as_raw_fd(),
                (&mut info as *mut libc::signalfd_siginfo).cast(),
                size,
            )
        };
        (n as usize == size).then_some(info.ssi_signo as i32)
    }
}

/// Raises the soft open-files limit to the hard limit: each peer costs one
/// socket plus one eventfd per vector.
pub fn raise_fd_limit() {
    // SAFETY: getrlimit/setrlimit only read and write `lim`.
    unsafe {
        let mut lim: libc::rlimit = mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// Binds the listening socket at `path`, first removing a stale socket
/// file left there. Refuses to remove anything that is not a socket.
pub fn bind(path: &Path) -> io::Result<UnixListener> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => std::fs::remove_file(path)?,
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a socket", path.display()),
            ))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let listener = UnixListener::bind(path)?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// What became of a client after looking at its socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientState {
    /// Still connected.
    Alive,
    /// Hung up or failed; must be removed.
    Gone,
}

/// The server: listening socket, shared memory and connected peers.
#[derive(Debug)]
pub struct Server {
    /// Settings.
    config: Config,
    /// The listening socket (non-blocking).
    listener: UnixListener,
    /// The shared-memory file sent to every client.
    shm: File,
    /// The presence table in `shm`, if the file is large enough for one.
    presence: Option<Presence>,
    /// Connected clients.
    peers: PeerTable,
    /// While set, accepting is suspended until this instant (after EMFILE).
    accept_paused_until: Option<Instant>,
}

impl Server {
    /// A server on a bound `listener` handing out `shm`, maintaining the
    /// presence table `presence` (mapped from `shm`) if there is one.
    pub fn new(
        config: Config,
        listener: UnixListener,
        shm: File,
        presence: Option<Presence>,
    ) -> Self {
        Server {
            config,
            listener,
            shm,
            presence,
            peers: PeerTable::new(),
            accept_paused_until: None,
        }
    }

    /// Runs until `signals` reports SIGINT or SIGTERM, then removes the
    /// socket file. Connected clients are not sent disconnect notifications
    /// on shutdown (the spec allows them to carry on talking to each other);
    /// their connections are simply closed.
    pub fn run(mut self, signals: &SignalFd) -> io::Result<()> {
        let result = self.event_loop(signals);
        if let Err(e) = std::fs::remove_file(&self.config.socket) {
            log!("cannot remove {}: {e}", self.config.socket.display());
        }
        result
    }

    /// The poll loop proper.
    fn event_loop(&mut self, signals: &SignalFd) -> io::Result<()> {
        loop {
            let now = Instant::now();
            let accepting = match self.accept_paused_until {
                Some(t) if t > now => false,
                _ => {
                    self.accept_paused_until = None;
                    true
                }
            };
            let timeout_ms = match self.accept_paused_until {
                Some(t) => i32::try_from(t.saturating_duration_since(now).as_millis())
                    .unwrap_or(i32::MAX)
                    .max(1),
                None => -1,
            };

            let pollfd = |fd: i32| libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // Slot 0: signals; slot 1: listener (a negative fd is ignored by
            // poll(2)); then one slot per peer, in the order of `ids`.
            let listen_fd = if accepting {
                self.listener.as_raw_fd()
            } else {
                -1
            };
            let mut fds = vec![pollfd(signals.0.as_raw_fd()), pollfd(listen_fd)];
            let mut ids = Vec::with_capacity(self.peers.len());
            for peer in self.peers.iter() {
                ids.push(peer.id);
                fds.push(pollfd(peer.sock.as_raw_fd()));
            }

            // SAFETY: `fds` is a valid array of `fds.len()` pollfds.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
            if n < 0 {
                let err = io::Error::last_os_error();
                if err.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(err);
            }

            if fds[0].revents != 0 {
                if let Some(sig) = signals.read() {
                    if self.config.verbose {
                        log!("caught signal {sig}, shutting down");
                    }
                    return Ok(());
                }
            }

            // Disconnects first, so that their notifications precede the
            // connect notifications of clients accepted in this round.
            let mut gone = Vec::new();
            for (&id, pfd) in ids.iter().zip(&fds[2..]) {
                if pfd.revents != 0 && self.client_event(id, pfd.revents) == ClientState::Gone {
                    gone.push(id);
                }
            }
            self.remove_peers(gone);

            if fds[1].revents != 0 {
                self.accept_all();
            }
        }
    }

    /// Handles poll events on client `id`'s socket. Clients are not
    /// supposed to send anything (the protocol is one-way); any data is
    /// read and discarded, end-of-file or an error means the client left.
    fn client_event(&self, id: u16, revents: libc::c_short) -> ClientState {
        if revents & (libc::POLLERR | libc::POLLNVAL) != 0 {
            return ClientState::Gone;
        }
        if revents & libc::POLLIN == 0 {
            // POLLHUP without readable data.
            return ClientState::Gone;
        }
        let Some(peer) = self.peers.get(id) else {
            return ClientState::Gone;
        };
        let mut buf = [0u8; 512];
        // SAFETY: `buf` is writable for its length. Descriptors a client
        // might pass along are discarded (closed) by the kernel because
        // no control buffer is supplied.
        let n = unsafe {
            libc::recv(
                peer.sock.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT,
            )
        };
        match n {
            0 => ClientState::Gone,
            n if n > 0 => {
                if self.config.verbose {
                    log!("peer {id} sent {n} unexpected bytes; ignored");
                }
                ClientState::Alive
            }
            _ => match io::Error::last_os_error().kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => ClientState::Alive,
                _ => ClientState::Gone,
            },
        }
    }

    /// Accepts every pending connection.
    fn accept_all(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((sock, _)) => self.accept_one(sock),
                Err(e) => match e.raw_os_error() {
                    Some(libc::EAGAIN) => return,
                    Some(libc::EINTR | libc::ECONNABORTED | libc::EPROTO) => continue,
                    Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM) => {
                        log!("cannot accept: {e}; pausing");
                        self.accept_paused_until = Some(Instant::now() + ACCEPT_BACKOFF);
                        return;
                    }
                    _ => {
                        log!("cannot accept: {e}");
                        return;
                    }
                },
            }
        }
    }

    /// Sets up a new client and exchanges the connect messages.
    ///
    /// Per the spec, the newcomer receives (1) version 0, (2) its ID, (3) -1
    /// with the shared memory, (4) for every existing peer in ascending ID
    /// order that peer's ID once per vector with that vector's eventfd;
    /// then every existing peer receives the newcomer's ID once per vector
    /// with the newcomer's eventfds; finally the newcomer receives (5) its
    /// own ID once per vector with its own eventfds.
    ///
    /// Before any of this the newcomer is marked present in the presence
    /// table, so that it sees itself there as soon as it has the memory.
    ///
    /// A client whose send fails is dropped; the others are told it left
    /// only if they had been told it arrived.
    fn accept_one(&mut self, sock: UnixStream) {
        if let Err(e) = sock
            .set_nonblocking(false)
            .and_then(|()| sock.set_write_timeout(Some(SEND_TIMEOUT)))
        {
            log!("cannot configure new connection: {e}");
            return;
        }
        let vectors = match peers::create_vectors(self.config.vectors) {
            Ok(v) => v,
            Err(e) => {
                log!("cannot create eventfds: {e}; dropping new connection");
                return;
            }
        };
        let id = match self.peers.insert(sock, vectors) {
            Ok(id) => id,
            Err(e) => {
                log!("{e}; dropping new connection");
                return;
            }
        };
        if let Some(presence) = &self.presence {
            presence.set(id);
        }
        let new = self.peers.get(id).expect("just inserted");

        // Steps 1-4, to the newcomer.
        let existing = self.peers.iter().filter(|p| p.id != id);
        let greeting = protocol::greeting(id, self.shm.as_fd())
            .into_iter()
            .chain(existing.flat_map(|p| protocol::vectors_of(p.id, &p.vectors)));
        if let Err(e) = protocol::send_all(new.sock.as_fd(), greeting) {
            log!("peer {id}: send failed during setup: {e}; dropping it");
            self.remove_peers(vec![id]);
            return;
        }

        // Connect notifications (step 6 for them) to the existing peers.
        let mut gone = Vec::new();
        for other in self.peers.iter().filter(|p| p.id != id) {
            let msgs = protocol::vectors_of(id, &new.vectors);
            if let Err(e) = protocol::send_all(other.sock.as_fd(), msgs) {
                log!("peer {}: send failed: {e}; dropping it", other.id);
                gone.push(other.id);
            }
        }

        // Step 5, to the newcomer: its own eventfds.
        if let Err(e) = protocol::send_all(new.sock.as_fd(), protocol::vectors_of(id, &new.vectors))
        {
            log!("peer {id}: send failed during setup: {e}; dropping it");
            gone.push(id);
        }

        if let Some(peer) = self.peers.get_mut(id) {
            peer.announced = true;
        }
        if self.config.verbose {
            log!("peer {id} connected ({} connected)", self.peers.len());
        }
        self.remove_peers(gone);
    }

    /// Removes the given peers, closing their sockets and eventfds. For
    /// each removed peer, clears it in the presence table (bumping the
    /// epoch) and then rings the departure doorbell of every remaining
    /// peer, and sends each remaining peer a disconnect notification if
    /// the removed peer had been announced. Peers whose notification send
    /// fails are removed in turn.
    fn remove_peers(&mut self, mut gone: Vec<u16>) {
        while let Some(id) = gone.pop() {
            let Some(peer) = self.peers.remove(id) else {
                continue; // Already removed (listed twice).
            };
            if self.config.verbose {
                log!("peer {id} disconnected ({} connected)", self.peers.len());
            }
            if let Some(presence) = &self.presence {
                presence.clear(id);
                for other in self.peers.iter().filter(|p| !gone.contains(&p.id)) {
                    let vector = presence::departure_vector(other.vectors.len());
                    let Some(fd) = other.vectors.get(vector) else {
                        continue;
                    };
                    if let Err(e) = peers::ring(fd.as_fd()) {
                        log!("peer {}: cannot ring vector {vector}: {e}", other.id);
                    }
                }
            }
            if peer.announced {
                let mut failed = Vec::new();
                for other in self.peers.iter().filter(|p| !gone.contains(&p.id)) {
                    let sent = protocol::send(other.sock.as_fd(), &protocol::departure(id));
                    if let Err(e) = sent {
                        log!("peer {}: send failed: {e}; dropping it", other.id);
                        failed.push(other.id);
                    }
                }
                gone.extend(failed);
            }
            // Dropping `peer` closes its socket and its eventfds.
        }
    }
}

/// Writes `ready` to stdout and flushes it, ignoring a closed stdout.
pub fn announce_ready() {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "ready").and_then(|()| out.flush());
}
