//! The built library loaded with LD_PRELOAD into a child process (this test
//! binary again, which does not link the crate, so its socket() calls go
//! through the dynamic linker like any C program's).

use std::path::PathBuf;
use std::process::Command;

const AF_SMC: i32 = 43;
const CHILD: &str = "SMC_PRELOAD_TEST_CHILD";

/// The cdylib cargo built next to this test: target/PROFILE/libsmc_preload.so.
fn library() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    for dir in [deps.parent().unwrap(), deps] {
        let p = dir.join("libsmc_preload.so");
        if p.is_file() {
            return p;
        }
    }
    panic!("no libsmc_preload.so near {}", exe.display());
}

fn domain_of(fd: i32) -> i32 {
    let mut v: i32 = -1;
    let mut len = 4 as libc::socklen_t;
    let r = unsafe { libc::getsockopt(fd, libc::SOL_SOCKET, libc::SO_DOMAIN, (&mut v as *mut i32).cast(), &mut len) };
    assert_eq!(r, 0);
    v
}

fn kernel_has_af_smc() -> bool {
    let fd = unsafe { libc::syscall(libc::SYS_socket, AF_SMC, libc::SOCK_STREAM, 0) } as i32;
    if fd >= 0 {
        unsafe { libc::close(fd) };
    }
    fd >= 0
}

/// The child's part: a TCP and a UDP socket; prints their domains.
fn child() {
    let tcp = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    let udp = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0) };
    assert!(tcp >= 0 && udp >= 0);
    println!("tcp {} udp {}", domain_of(tcp), domain_of(udp));
}

fn run(mode: Option<&str>) -> (String, String) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "child_entry", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env("LD_PRELOAD", library())
        .env("SMC_DEBUG", "1");
    match mode {
        Some(m) => cmd.env("SMC_PRELOAD_MODE", m),
        None => cmd.env_remove("SMC_PRELOAD_MODE"),
    };
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    (stdout, stderr)
}

#[test]
fn child_entry() {
    if std::env::var_os(CHILD).is_some() {
        child();
    }
}

#[test]
fn preloaded_tcp_socket_is_mapped_or_falls_back() {
    let (out, err) = run(None);
    let lines: Vec<_> = err.lines().filter(|l| l.starts_with("smc-preload[")).collect();
    // One line: the TCP socket; the UDP socket is not the library's business.
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].contains("socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, 0) -> socket(AF_SMC, SOCK_STREAM|SOCK_CLOEXEC, SMCPROTO_SMC)"), "{err}");
    if kernel_has_af_smc() {
        assert!(out.contains(&format!("tcp {AF_SMC} udp {}", libc::AF_INET)), "{out}");
    } else {
        assert!(lines[0].contains(&format!("failed (errno {}), TCP = ", libc::EAFNOSUPPORT)), "{err}");
        assert!(out.contains(&format!("tcp {} udp {}", libc::AF_INET, libc::AF_INET)), "{out}");
    }
}

#[test]
fn preloaded_inet_mode_asks_for_ipproto_smc() {
    let (out, err) = run(Some("inet"));
    let lines: Vec<_> = err.lines().filter(|l| l.starts_with("smc-preload[")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].contains("-> socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_SMC)"), "{err}");
    // Whatever the kernel has, the program gets a working socket.
    assert!(out.contains("tcp "), "{out}");
}
