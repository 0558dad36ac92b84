//! Peer ID allocation and the table of connected peers.
//!
//! IDs are 16-bit because QEMU's doorbell register carries the target peer
//! in its top 16 bits. They are handed out round-robin: the search for a
//! free ID starts just after the last ID handed out and skips IDs that are
//! still connected, so a client that reconnects (e.g. a restarted VM) gets
//! a fresh ID instead of the one its old incarnation just released.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;

/// Number of distinct peer IDs (0..=65535).
pub const ID_COUNT: usize = 1 << 16;

/// Error: every one of the 65536 peer IDs is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdsExhausted;

impl fmt::Display for IdsExhausted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "all {ID_COUNT} peer IDs are in use")
    }
}

impl std::error::Error for IdsExhausted {}

/// Round-robin allocator of 16-bit peer IDs that never hands out an ID
/// that is still in use.
#[derive(Debug, Clone)]
pub struct IdAllocator {
    /// One bit per ID, set while the ID is in use.
    in_use: Vec<u64>,
    /// Number of IDs in use.
    used: usize,
    /// Where the search for the next free ID starts.
    next: u16,
}

impl Default for IdAllocator {
    fn default() -> Self {
        Self::new()
    }
}

impl IdAllocator {
    /// An allocator with every ID free; the first ID handed out is 0, as
    /// the spec requires for the first client.
    pub fn new() -> Self {
        IdAllocator {
            in_use: vec![0; ID_COUNT / 64],
            used: 0,
            next: 0,
        }
    }

    /// Whether `id` is currently allocated.
    pub fn is_used(&self, id: u16) -> bool {
        self.in_use[usize::from(id) / 64] & (1 << (id % 64)) != 0
    }

    /// Hands out the first free ID at or after the one following the
    /// previously allocated ID, wrapping from 65535 to 0.
    pub fn allocate(&mut self) -> Result<u16, IdsExhausted> {
        if self.used == ID_COUNT {
            return Err(IdsExhausted);
        }
        let mut id = self.next;
        // Terminates: fewer than ID_COUNT IDs are in use.
        while self.is_used(id) {
            id = id.wrapping_add(1);
        }
        self.in_use[usize::from(id) / 64] |= 1 << (id % 64);
        self.used += 1;
        self.next = id.wrapping_add(1);
        Ok(id)
    }

    /// Returns `id` to the pool; returns whether it was allocated.
    pub fn release(&mut self, id: u16) -> bool {
        if !self.is_used(id) {
            return false;
        }
        self.in_use[usize::from(id) / 64] &= !(1 << (id % 64));
        self.used -= 1;
        true
    }
}

/// Creates `n` eventfds, one per interrupt vector.
///
/// Flags match QEMU's own `event_notifier_init()` (used by QEMU's example
/// server): `EFD_NONBLOCK | EFD_CLOEXEC`, counter mode (not semaphore).
pub fn create_vectors(n: usize) -> io::Result<Vec<OwnedFd>> {
    (0..n)
        .map(|_| {
            // SAFETY: eventfd has no memory-safety preconditions.
            let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
            if fd < 0 {
                Err(io::Error::last_os_error())
            } else {
                // SAFETY: `fd` is a freshly created descriptor we own.
                Ok(unsafe { OwnedFd::from_raw_fd(fd) })
            }
        })
        .collect()
}

/// Rings a doorbell: adds 1 to the counter of the eventfd `fd`, as QEMU
/// does for a guest's doorbell write, which makes the owning guest raise
/// that vector's interrupt.
pub fn ring(fd: BorrowedFd<'_>) -> io::Result<()> {
    let one = 1u64.to_ne_bytes();
    loop {
        // SAFETY: writes 8 bytes from a local buffer of that size.
        let n = unsafe { libc::write(fd.as_raw_fd(), one.as_ptr().cast(), one.len()) };
        if n < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        if n as usize != one.len() {
            return Err(io::Error::other(format!(
                "short eventfd write of {n} bytes"
            )));
        }
        return Ok(());
    }
}

/// One connected client.
#[derive(Debug)]
pub struct Peer {
    /// The peer's ID.
    pub id: u16,
    /// The connection to the client; dropping it closes it.
    pub sock: UnixStream,
    /// The peer's eventfds, vector 0 first; dropping them closes them.
    pub vectors: Vec<OwnedFd>,
    /// Whether the other peers have been told about this peer, so that
    /// they must be told when it goes.
    pub announced: bool,
}

/// The connected peers, by ID, with the ID allocator that names them.
#[derive(Debug, Default)]
pub struct PeerTable {
    /// Allocator of the IDs of the peers in `peers`.
    ids: IdAllocator,
    /// The peers, ordered by ID.
    peers: BTreeMap<u16, Peer>,
}

impl PeerTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a client with its eventfds under a newly allocated ID and
    /// returns that ID. On error the socket and eventfds are dropped
    /// (closed).
    pub fn insert(&mut self, sock: UnixStream, vectors: Vec<OwnedFd>) -> Result<u16, IdsExhausted> {
        let id = self.ids.allocate()?;
        self.peers.insert(
            id,
            Peer {
                id,
                sock,
                vectors,
                announced: false,
            },
        );
        Ok(id)
    }

    /// Removes the peer `id` and frees its ID; the caller decides when to
    /// drop (close) it.
    pub fn remove(&mut self, id: u16) -> Option<Peer> {
        let peer = self.peers.remove(&id)?;
        self.ids.release(id);
        Some(peer)
    }

    /// The peer with ID `id`.
    pub fn get(&self, id: u16) -> Option<&Peer> {
        self.peers.get(&id)
    }

    /// The peer with ID `id`, mutably.
    pub fn get_mut(&mut self, id: u16) -> Option<&mut Peer> {
        self.peers.get_mut(&id)
    }

    /// All peers in ascending ID order.
    pub fn iter(&self) -> impl Iterator<Item = &Peer> {
        self.peers.values()
    }

    /// Number of connected peers.
    pub fn len(&self) -> usize {
        self.peers.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_id_is_zero_and_ids_increase() {
        let mut a = IdAllocator::new();
        assert_eq!(a.allocate(), Ok(0));
        assert_eq!(a.allocate(), Ok(1));
        assert_eq!(a.allocate(), Ok(2));
        assert!(a.is_used(0) && a.is_used(1) && a.is_used(2) && !a.is_used(3));
    }

    #[test]
    fn freed_id_not_reused_immediately() {
        let mut a = IdAllocator::new();
        let x = a.allocate().unwrap();
        let y = a.allocate().unwrap();
        assert!(a.release(x));
        // Round robin: the next ID is fresh, not the one just freed.
        let z = a.allocate().unwrap();
        assert_ne!(z, x);
        assert_ne!(z, y);
        assert_eq!(z, 2);
        assert!(!a.release(x), "double release reports false");
    }

    #[test]
    fn never_hands_out_a_connected_id() {
        let mut a = IdAllocator::new();
        let ids: Vec<u16> = (0..ID_COUNT).map(|_| a.allocate().unwrap()).collect();
        // Free every other ID; the search wraps to 0 and must skip the rest.
        for id in ids.iter().copied().filter(|id| id % 2 == 1) {
            a.release(id);
        }
        for expected in (1..ID_COUNT as u32).step_by(2) {
            let id = a.allocate().unwrap();
            assert_eq!(u32::from(id), expected);
        }
        assert_eq!(a.allocate(), Err(IdsExhausted));
    }

    #[test]
    fn wraps_around_after_65535() {
        let mut a = IdAllocator::new();
        for _ in 0..ID_COUNT {
            a.allocate().unwrap();
        }
        // Free a low and the highest ID: 65535 was handed out last, so the
        // search restarts at 0 and finds 5 first, then wraps to find 65535.
        a.release(5);
        a.release(65535);
        assert_eq!(a.allocate(), Ok(5));
        assert_eq!(a.allocate(), Ok(65535));
        assert_eq!(a.allocate(), Err(IdsExhausted));
        a.release(3);
        assert_eq!(a.allocate(), Ok(3));
    }

    #[test]
    fn exhaustion_is_an_error_not_a_panic() {
        let mut a = IdAllocator::new();
        for _ in 0..ID_COUNT {
            a.allocate().unwrap();
        }
        assert_eq!(a.allocate(), Err(IdsExhausted));
        assert_eq!(a.allocate(), Err(IdsExhausted));
        assert_eq!(a.used, ID_COUNT);
        assert!(a.release(1234));
        assert_eq!(a.allocate(), Ok(1234));
    }

    #[test]
    fn ring_adds_one() {
        use std::os::fd::AsFd;
        let fds = create_vectors(1).unwrap();
        ring(fds[0].as_fd()).unwrap();
        ring(fds[0].as_fd()).unwrap();
        let mut b = [0u8; 8];
        // SAFETY: 8-byte read into a local buffer.
        let n = unsafe { libc::read(fds[0].as_raw_fd(), b.as_mut_ptr().cast(), 8) };
        assert_eq!(n, 8);
        assert_eq!(u64::from_ne_bytes(b), 2);
    }

    #[test]
    fn table_insert_remove() {
        let mut t = PeerTable::new();
        let (s1, _c1) = UnixStream::pair().unwrap();
        let (s2, _c2) = UnixStream::pair().unwrap();
        let id1 = t.insert(s1, create_vectors(2).unwrap()).unwrap();
        let id2 = t.insert(s2, create_vectors(2).unwrap()).unwrap();
        assert_eq!((id1, id2), (0, 1));
        assert_eq!(t.iter().map(|p| p.id).collect::<Vec<_>>(), vec![0, 1]);
        assert_eq!(t.get(1).unwrap().vectors.len(), 2);
        let p = t.remove(0).unwrap();
        assert_eq!(p.id, 0);
        assert!(t.remove(0).is_none());
        assert_eq!(t.len(), 1);
        let (s3, _c3) = UnixStream::pair().unwrap();
        assert_eq!(t.insert(s3, Vec::new()), Ok(2));
    }
}
