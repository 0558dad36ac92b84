//! `ivshmem-server`: the doorbell server for QEMU's `ivshmem-doorbell`
//! device.
//!
//! It hands every connecting QEMU the shared-memory file and one eventfd
//! per interrupt vector for itself and for every other connected peer, and
//! tells the peers when one comes or goes. See `README.md` and QEMU's
//! `docs/specs/ivshmem-spec.txt`.
//!
//! Exit status: 0 after SIGINT/SIGTERM or `--help`, 1 on a runtime error,
//! 2 on bad usage.

mod cli;
mod peers;
mod presence;
mod protocol;
mod server;
mod shm;

use std::process::ExitCode;

use cli::Command;
use server::{Config, Server, SignalFd};

/// Parses the command line and runs the server.
fn main() -> ExitCode {
    let args = match cli::parse(std::env::args().skip(1)) {
        Ok(Command::Run(args)) => args,
        Ok(Command::Help) => {
            println!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("ivshmem-server: {e}\n\n{}", cli::USAGE);
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ivshmem-server: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Sets up signals, shared memory and the socket, then serves until
/// SIGINT or SIGTERM.
fn run(args: cli::Args) -> Result<(), String> {
    // Block the signals first so that one arriving during setup is not
    // lost and cannot kill the process before the socket is cleaned up.
    let signals = SignalFd::new().map_err(|e| format!("cannot set up signals: {e}"))?;
    server::raise_fd_limit();

    let shm = shm::open(&args.shm, args.size, args.keep)
        .map_err(|e| format!("cannot open shared memory {}: {e}", args.shm.display()))?;
    let presence = presence::Presence::new(&shm, args.keep)
        .map_err(|e| format!("cannot map the presence table: {e}"))?;
    if presence.is_none() {
        eprintln!(
            "ivshmem-server: warning: shared memory smaller than {:#x} bytes, \
             no presence table",
            presence::TABLE_END
        );
    }
    let listener = server::bind(&args.socket)
        .map_err(|e| format!("cannot listen on {}: {e}", args.socket.display()))?;

    eprintln!(
        "ivshmem-server: listening on {} vectors {} size {} shm {}{}",
        args.socket.display(),
        args.vectors,
        args.size,
        args.shm.display(),
        if args.keep { " (kept)" } else { "" },
    );
    server::announce_ready();

    let config = Config {
        socket: args.socket,
        vectors: args.vectors,
        verbose: args.verbose,
    };
    Server::new(config, listener, shm, presence)
        .run(&signals)
        .map_err(|e| format!("poll loop failed: {e}"))
}
