//! Command-line parsing: options, sizes with K/M/G suffixes, usage text.

use std::fmt;
use std::path::PathBuf;

/// Default number of interrupt vectors per peer.
pub const DEFAULT_VECTORS: usize = 4;

/// Largest accepted number of interrupt vectors per peer.
pub const MAX_VECTORS: usize = 64;

/// Smallest accepted shared-memory size: one page.
pub const MIN_SIZE: u64 = 4096;

/// The usage message printed for `--help` and on bad usage.
pub const USAGE: &str = "\
usage: ivshmem-server --socket PATH --shm PATH --size SIZE
                      [--vectors N] [--keep] [--verbose]

Doorbell server for QEMU's ivshmem-doorbell device.

  --socket PATH   UNIX socket to listen on (a stale socket is replaced)
  --shm PATH      shared-memory file, created if absent, resized to SIZE
  --size SIZE     shared-memory size in bytes, optional suffix K, M or G
                  (powers of 1024); must be a power of two, at least 4K
  --vectors N     eventfds (interrupt vectors) per peer, 1..=64 (default 4)
  --keep          keep the file's contents (default: zero them on start),
                  except the presence bitmap, which is always cleared
  --verbose       log every connect and disconnect to stderr
  -h, --help      print this help

Runs in the foreground until SIGINT or SIGTERM. Prints `ready` on stdout
once it listens.";

/// The server's configuration, as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    /// Path of the listening UNIX socket.
    pub socket: PathBuf,
    /// Path of the shared-memory file.
    pub shm: PathBuf,
    /// Size of the shared memory in bytes (a power of two).
    pub size: u64,
    /// Eventfds per peer.
    pub vectors: usize,
    /// Keep the shared memory's contents instead of zeroing them.
    pub keep: bool,
    /// Log connects and disconnects.
    pub verbose: bool,
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run the server.
    Run(Args),
    /// Print the usage message and exit successfully.
    Help,
}

/// A command-line error, to be reported with the usage message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Builds a `UsageError` from a format string.
macro_rules! usage_err {
    ($($arg:tt)*) => { UsageError(format!($($arg)*)) };
}

/// Parses a size such as `4096`, `64K`, `16M` or `1G` (binary units,
/// suffix case-insensitive) and checks it is a power of two of at least
/// [`MIN_SIZE`] bytes, as QEMU's ivshmem BAR requires.
pub fn parse_size(text: &str) -> Result<u64, UsageError> {
    let (digits, shift) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let shift = match c.to_ascii_uppercase() {
                'K' => 10,
                'M' => 20,
                'G' => 30,
                _ => return Err(usage_err!("bad size suffix in {text:?} (use K, M or G)")),
            };
            (&text[..i], shift)
        }
        _ => (text, 0),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(usage_err!("bad size {text:?}"));
    }
    let size = digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(|| usage_err!("size {text:?} is too large"))?;
    if !size.is_power_of_two() {
        return Err(usage_err!(
            "size {text:?} ({size} bytes) is not a power of two"
        ));
    }
    if size < MIN_SIZE {
        return Err(usage_err!(
            "size {text:?} is below the minimum of {MIN_SIZE} bytes"
        ));
    }
    Ok(size)
}

/// Parses the vector count, 1..=[`MAX_VECTORS`].
pub fn parse_vectors(text: &str) -> Result<usize, UsageError> {
    match text.parse::<usize>() {
        Ok(n) if (1..=MAX_VECTORS).contains(&n) => Ok(n),
        _ => Err(usage_err!(
            "--vectors must be 1..={MAX_VECTORS}, got {text:?}"
        )),
    }
}

/// Parses the arguments (without the program name). Options taking a
/// value accept both `--opt VALUE` and `--opt=VALUE`.
pub fn parse<I, S>(args: I) -> Result<Command, UsageError>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut socket = None;
    let mut shm = None;
    let mut size = None;
    let mut vectors = DEFAULT_VECTORS;
    let mut keep = false;
    let mut verbose = false;

    let mut args = args.into_iter().map(Into::into);
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let takes_value = matches!(name.as_str(), "--socket" | "--shm" | "--size" | "--vectors");
        if !takes_value && inline.is_some() {
            return Err(usage_err!("option {name} takes no value"));
        }
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| usage_err!("option {name} needs a value"))
        };
        match name.as_str() {
            "--socket" => socket = Some(PathBuf::from(value()?)),
            "--shm" => shm = Some(PathBuf::from(value()?)),
            "--size" => size = Some(parse_size(&value()?)?),
            "--vectors" => vectors = parse_vectors(&value()?)?,
            "--keep" => keep = true,
            "--verbose" | "-v" => verbose = true,
            "--help" | "-h" => return Ok(Command::Help),
            _ => return Err(usage_err!("unknown argument {arg:?}")),
        }
    }

    Ok(Command::Run(Args {
        socket: socket.ok_or_else(|| usage_err!("--socket is required"))?,
        shm: shm.ok_or_else(|| usage_err!("--shm is required"))?,
        size: size.ok_or_else(|| usage_err!("--size is required"))?,
        vectors,
        keep,
        verbose,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_with_suffixes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("4K"), Ok(4096));
        assert_eq!(parse_size("4k"), Ok(4096));
        assert_eq!(parse_size("1M"), Ok(1 << 20));
        assert_eq!(parse_size("16m"), Ok(16 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("8G"), Ok(8 << 30));
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
    }

    #[test]
    fn bad_sizes_rejected() {
        for bad in [
            "",
            "K",
            "M4",
            "4T",
            "4KB",
            "-4K",
            "+4K",
            "4.5M",
            " 4K",
            "3M",
            "12K",
            "0",
            "1K",
            "2048",
            "99999999999999999999",
            "17179869184G",
        ] {
            assert!(parse_size(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn vectors_bounds() {
        assert_eq!(parse_vectors("1"), Ok(1));
        assert_eq!(parse_vectors("64"), Ok(64));
        assert!(parse_vectors("0").is_err());
        assert!(parse_vectors("65").is_err());
        assert!(parse_vectors("x").is_err());
    }

    #[test]
    fn full_command_line() {
        let cmd = parse([
            "--socket",
            "/tmp/s",
            "--shm=/dev/shm/x",
            "--size",
            "1M",
            "--vectors=8",
            "--keep",
            "--verbose",
        ])
        .unwrap();
        assert_eq!(
            cmd,
            Command::Run(Args {
                socket: "/tmp/s".into(),
                shm: "/dev/shm/x".into(),
                size: 1 << 20,
                vectors: 8,
                keep: true,
                verbose: true,
            })
        );
    }

    #[test]
    fn defaults_and_errors() {
        match parse(["--socket", "s", "--shm", "m", "--size", "4K"]).unwrap() {
            Command::Run(a) => {
                assert_eq!(a.vectors, DEFAULT_VECTORS);
                assert!(!a.keep && !a.verbose);
            }
            Command::Help => panic!("expected Run"),
        }
        assert_eq!(parse(["-h"]), Ok(Command::Help));
        assert!(parse(["--socket", "s", "--shm", "m"]).is_err());
        assert!(parse(["--socket"]).is_err());
        assert!(parse(["--bogus"]).is_err());
        assert!(parse(["--keep=1"]).is_err());
    }
}
