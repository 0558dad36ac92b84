//! The presence table: a bitmap of connected peer IDs that the server
//! keeps in the shared-memory file itself, so that guests can learn when
//! a peer VM disappears (QEMU never tells them).
//!
//! Layout (offsets in bytes from the start of the file, all integers
//! little-endian):
//!
//! | offset            | what                                                |
//! |-------------------|-----------------------------------------------------|
//! | `0x800`           | `u64` magic [`MAGIC`] (the bytes `"1IVSVPR1"`)      |
//! | `0x808`           | `u64` epoch, incremented on every table change      |
//! | `0x1000..0x3000`  | 65536-bit bitmap, bit `p` set while peer `p` is connected |
//!
//! Peer `p` is bit `p % 8` of byte `0x1000 + p / 8`, i.e. bit `p % 64` of
//! the little-endian `u64` word `p / 64`. The server maps only these first
//! [`TABLE_END`] bytes and writes nothing else in the file.

use std::fmt;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

use crate::peers::ID_COUNT;

/// The magic number at [`MAGIC_OFFSET`]: `"1IVSVPR1"` read little-endian.
pub const MAGIC: u64 = 0x3152_5056_5356_4931;

/// Offset of the magic number.
pub const MAGIC_OFFSET: usize = 0x800;

/// Offset of the epoch counter.
pub const EPOCH_OFFSET: usize = 0x808;

/// Offset of the presence bitmap.
pub const BITMAP_OFFSET: usize = 0x1000;

/// End of the presence bitmap, and the smallest file that has a table.
pub const TABLE_END: usize = 0x3000;

/// Number of `u64` words in the bitmap.
const WORDS: usize = (TABLE_END - BITMAP_OFFSET) / 8;

const _: () = assert!(WORDS * 64 == ID_COUNT, "one bit per peer ID");

/// The doorbell vector rung on every remaining peer when a peer departs:
/// vector 1 if the peers have at least two vectors, else vector 0.
pub fn departure_vector(vectors: usize) -> usize {
    if vectors >= 2 {
        1
    } else {
        0
    }
}

/// Byte offset of the bitmap word holding peer `id`, and `id`'s bit in
/// that word as the word is stored (little-endian, see [`Presence::word`]).
fn bit_of(id: u16) -> (usize, u64) {
    let id = usize::from(id);
    (BITMAP_OFFSET + id / 64 * 8, (1u64 << (id % 64)).to_le())
}

/// A shared (`MAP_SHARED`) mapping of the first [`TABLE_END`] bytes of
/// the shared-memory file, through which the server maintains the table.
/// All accesses are atomic, since guests read (and could write) the same
/// memory concurrently. Unmapped on drop.
pub struct Presence {
    /// Start of the mapping, [`TABLE_END`] bytes long, page-aligned.
    base: NonNull<libc::c_void>,
}

impl fmt::Debug for Presence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Presence")
            .field("base", &self.base)
            .field("epoch", &self.epoch())
            .finish()
    }
}

impl Presence {
    /// Maps the table of `file` and initialises it: with `keep` (the file
    /// may hold a previous server's table) the bitmap is cleared, since no
    /// peer is connected yet, and the epoch is bumped; then the magic
    /// number is written. Returns `None` if the file is smaller than
    /// [`TABLE_END`] bytes: it then has no presence table.
    ///
    /// The file must stay at least [`TABLE_END`] bytes long while the
    /// returned value lives (accessing a truncated mapping raises
    /// `SIGBUS`); nobody but the server resizes it.
    pub fn new(file: &File, keep: bool) -> io::Result<Option<Presence>> {
        if file.metadata()?.len() < TABLE_END as u64 {
            return Ok(None);
        }
        // SAFETY: a fresh mapping chosen by the kernel (null hint), so no
        // existing memory is affected; `file` is open for reading and
        // writing, as PROT_READ | PROT_WRITE with MAP_SHARED requires.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                TABLE_END,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let presence = Presence {
            base: NonNull::new(ptr).ok_or_else(|| io::Error::other("mmap returned null"))?,
        };
        if keep {
            for i in 0..WORDS {
                presence.word(BITMAP_OFFSET + i * 8).store(0, SeqCst);
            }
            presence.bump_epoch();
        }
        presence.word(MAGIC_OFFSET).store(MAGIC.to_le(), SeqCst);
        Ok(Some(presence))
    }

    /// The `u64` at byte `offset` of the mapping. The table's integers
    /// are little-endian: a value `x` is stored as `x.to_le()` (whose
    /// in-memory bytes are `x.to_le_bytes()`) and read back with
    /// `u64::from_le`, which is the identity on little-endian hosts.
    fn word(&self, offset: usize) -> &AtomicU64 {
        assert!(offset.is_multiple_of(8) && offset + 8 <= TABLE_END);
        // SAFETY: `offset` is in bounds and 8-byte aligned (asserted; the
        // mapping is page-aligned), and the mapping stays valid until
        // `self` is dropped, which the returned borrow cannot outlive. The
        // memory is shared with other processes, so this process accesses
        // it only atomically, through the returned reference.
        unsafe { AtomicU64::from_ptr(self.base.as_ptr().cast::<u8>().add(offset).cast()) }
    }

    /// Increments the epoch, returning the new value. A compare-and-swap
    /// loop rather than `fetch_add`, which would carry in the wrong
    /// direction through a byte-swapped word on a big-endian host.
    fn bump_epoch(&self) -> u64 {
        let old = self
            .word(EPOCH_OFFSET)
            .fetch_update(SeqCst, SeqCst, |v| {
                Some(u64::from_le(v).wrapping_add(1).to_le())
            })
            .expect("the closure always returns Some");
        u64::from_le(old).wrapping_add(1)
    }

    /// The current epoch.
    pub fn epoch(&self) -> u64 {
        u64::from_le(self.word(EPOCH_OFFSET).load(SeqCst))
    }

    /// Marks peer `id` present, then bumps the epoch.
    pub fn set(&self, id: u16) {
        let (offset, bit) = bit_of(id);
        self.word(offset).fetch_or(bit, SeqCst);
        self.bump_epoch();
    }

    /// Marks peer `id` absent, then bumps the epoch.
    pub fn clear(&self, id: u16) {
        let (offset, bit) = bit_of(id);
        self.word(offset).fetch_and(!bit, SeqCst);
        self.bump_epoch();
    }

    /// Whether peer `id` is marked present.
    #[cfg(test)]
    pub fn is_set(&self, id: u16) -> bool {
        let (offset, bit) = bit_of(id);
        self.word(offset).load(SeqCst) & bit != 0
    }
}

impl Drop for Presence {
    fn drop(&mut self) {
        // SAFETY: `base` is a mapping of TABLE_END bytes made in `new` and
        // not unmapped since; no borrow of it outlives `self`.
        unsafe {
            libc::munmap(self.base.as_ptr(), TABLE_END);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shm;
    use std::os::unix::fs::FileExt;
    use std::path::PathBuf;

    /// A temporary file path, removed on drop.
    struct TempPath(PathBuf);

    impl TempPath {
        fn new(name: &str) -> Self {
            let path = std::env::temp_dir()
                .join(format!("ivshmem-presence-{}-{name}", std::process::id()));
            let _ = std::fs::remove_file(&path);
            TempPath(path)
        }
    }

    impl Drop for TempPath {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    /// The whole file, read with `pread` (not through the mapping).
    fn contents(file: &File) -> Vec<u8> {
        let mut buf = vec![0; file.metadata().unwrap().len() as usize];
        file.read_exact_at(&mut buf, 0).unwrap();
        buf
    }

    /// The little-endian `u64` at `offset` of `bytes`.
    fn u64_at(bytes: &[u8], offset: usize) -> u64 {
        u64::from_le_bytes(bytes[offset..offset + 8].try_into().unwrap())
    }

    /// Whether the file says peer `p` is present, per the documented byte
    /// layout.
    fn file_bit(bytes: &[u8], p: u16) -> bool {
        let p = usize::from(p);
        bytes[BITMAP_OFFSET + p / 8] & (1 << (p % 8)) != 0
    }

    #[test]
    fn departure_vector_is_1_unless_only_one() {
        assert_eq!(departure_vector(1), 0);
        assert_eq!(departure_vector(2), 1);
        assert_eq!(departure_vector(64), 1);
    }

    #[test]
    fn magic_spells_1ivsvpr1() {
        assert_eq!(&MAGIC.to_le_bytes(), b"1IVSVPR1");
    }

    #[test]
    fn fresh_file_gets_magic_only() {
        let path = TempPath::new("fresh");
        let file = shm::open(&path.0, 16384, false).unwrap();
        let p = Presence::new(&file, false).unwrap().unwrap();
        assert_eq!(p.epoch(), 0);
        let bytes = contents(&file);
        assert_eq!(&bytes[MAGIC_OFFSET..MAGIC_OFFSET + 8], b"1IVSVPR1");
        assert_eq!(u64_at(&bytes, MAGIC_OFFSET), MAGIC);
        bytes.iter().enumerate().for_each(|(i, &b)| {
            if !(MAGIC_OFFSET..MAGIC_OFFSET + 8).contains(&i) {
                assert_eq!(b, 0, "byte {i:#x}");
            }
        });
    }

    #[test]
    fn too_small_file_has_no_table() {
        let path = TempPath::new("small");
        for size in [4096, 8192] {
            let file = shm::open(&path.0, size, false).unwrap();
            assert!(Presence::new(&file, false).unwrap().is_none());
            assert!(Presence::new(&file, true).unwrap().is_none());
            assert!(contents(&file).iter().all(|&b| b == 0));
        }
    }

    #[test]
    fn bit_positions_set_clear_and_epoch() {
        let path = TempPath::new("bits");
        let file = shm::open(&path.0, 16384, false).unwrap();
        let p = Presence::new(&file, false).unwrap().unwrap();
        let ids = [0u16, 1, 7, 8, 63, 64, 65, 1000, 32767, 65534, 65535];
        for (n, &id) in ids.iter().enumerate() {
            p.set(id);
            assert!(p.is_set(id));
            assert_eq!(p.epoch(), n as u64 + 1, "one bump per set");
        }
        let bytes = contents(&file);
        assert_eq!(u64_at(&bytes, EPOCH_OFFSET), ids.len() as u64);
        for id in 0..=u16::MAX {
            assert_eq!(file_bit(&bytes, id), ids.contains(&id), "peer {id}");
            assert_eq!(p.is_set(id), ids.contains(&id), "peer {id}");
        }
        // Documented equivalence: peer p is bit p % 64 of LE word p / 64.
        for &id in &ids {
            let word = u64_at(&bytes, BITMAP_OFFSET + usize::from(id) / 64 * 8);
            assert_ne!(word & (1 << (id % 64)), 0);
        }
        // Nothing outside the magic, the epoch and the bitmap is touched.
        assert!(bytes[..MAGIC_OFFSET].iter().all(|&b| b == 0));
        assert!(bytes[EPOCH_OFFSET + 8..BITMAP_OFFSET]
            .iter()
            .all(|&b| b == 0));
        assert!(bytes[TABLE_END..].iter().all(|&b| b == 0));

        p.clear(64);
        p.clear(65535);
        assert_eq!(p.epoch(), ids.len() as u64 + 2);
        let bytes = contents(&file);
        assert!(!file_bit(&bytes, 64) && !file_bit(&bytes, 65535));
        assert!(file_bit(&bytes, 63) && file_bit(&bytes, 65) && file_bit(&bytes, 65534));
        assert!(!p.is_set(64) && p.is_set(65));
    }

    #[test]
    fn keep_clears_bitmap_bumps_epoch_and_touches_nothing_else() {
        let path = TempPath::new("keep");
        let size = 16384;
        let file = shm::open(&path.0, size, false).unwrap();
        // A previous run's file: stale bits, an epoch, and data everywhere.
        let mut old: Vec<u8> = (0..size as usize).map(|i| (i * 7 + 3) as u8).collect();
        old[EPOCH_OFFSET..EPOCH_OFFSET + 8].copy_from_slice(&41u64.to_le_bytes());
        file.write_all_at(&old, 0).unwrap();
        drop(file);

        let file = shm::open(&path.0, size, true).unwrap();
        let p = Presence::new(&file, true).unwrap().unwrap();
        assert_eq!(p.epoch(), 42);
        assert!((0..=u16::MAX).all(|id| !p.is_set(id)));
        let bytes = contents(&file);
        assert_eq!(&bytes[MAGIC_OFFSET..MAGIC_OFFSET + 8], b"1IVSVPR1");
        assert_eq!(u64_at(&bytes, EPOCH_OFFSET), 42);
        assert!(bytes[BITMAP_OFFSET..TABLE_END].iter().all(|&b| b == 0));
        for (i, (&new, &was)) in bytes.iter().zip(&old).enumerate() {
            if !(MAGIC_OFFSET..EPOCH_OFFSET + 8).contains(&i)
                && !(BITMAP_OFFSET..TABLE_END).contains(&i)
            {
                assert_eq!(new, was, "byte {i:#x} changed");
            }
        }
        drop(p);

        // Without --keep the file is zeroed and the table starts afresh.
        let file = shm::open(&path.0, size, false).unwrap();
        let p = Presence::new(&file, false).unwrap().unwrap();
        assert_eq!(p.epoch(), 0);
    }

    #[test]
    fn epoch_wraps() {
        let path = TempPath::new("wrap");
        let file = shm::open(&path.0, 16384, false).unwrap();
        file.write_all_at(&u64::MAX.to_le_bytes(), EPOCH_OFFSET as u64)
            .unwrap();
        let p = Presence::new(&file, false).unwrap().unwrap();
        assert_eq!(p.epoch(), u64::MAX);
        p.set(5);
        assert_eq!(p.epoch(), 0);
    }
}
