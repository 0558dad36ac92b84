//! The shared-memory file whose descriptor every client receives.
//!
//! QEMU maps the whole file as the device's BAR2 and takes the size from
//! `fstat`, so the file must have exactly the configured size.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Opens (creating it with mode 0600 if absent) the shared-memory file at
/// `path` and sets its length to `size` bytes.
///
/// Unless `keep` is set, the contents are zeroed first by truncating the
/// file to zero length. With `keep`, existing contents up to `size` are
/// preserved (a larger file is cut, a smaller one is extended with zeros).
pub fn open(path: &Path, size: u64, keep: bool) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(!keep)
        .mode(0o600)
        .open(path)?;
    if !file.metadata()?.file_type().is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a regular file", path.display()),
        ));
    }
    file.set_len(size)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Seek, Write};

    /// A fresh path in the temporary directory for this test.
    fn temp_path(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("ivshmem-shm-{}-{name}", std::process::id()))
    }

    #[test]
    fn creates_zeroes_and_keeps() {
        let path = temp_path("a");
        let _ = std::fs::remove_file(&path);

        let mut f = open(&path, 8192, false).unwrap();
        assert_eq!(f.metadata().unwrap().len(), 8192);
        f.write_all(b"hello").unwrap();
        drop(f);

        // --keep preserves the contents.
        let mut f = open(&path, 8192, true).unwrap();
        let mut buf = [0u8; 5];
        f.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"hello");
        drop(f);

        // Without --keep the contents are zeroed, and the size is set.
        let mut f = open(&path, 4096, false).unwrap();
        assert_eq!(f.metadata().unwrap().len(), 4096);
        f.rewind().unwrap();
        let mut all = Vec::new();
        f.read_to_end(&mut all).unwrap();
        assert_eq!(all.len(), 4096);
        assert!(all.iter().all(|&b| b == 0));

        std::fs::remove_file(&path).unwrap();
    }
}
