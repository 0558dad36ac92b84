use super::*;
use std::cell::{Cell, RefCell};

const STREAM: c_int = libc::SOCK_STREAM;
const NB: c_int = libc::SOCK_NONBLOCK;
const CX: c_int = libc::SOCK_CLOEXEC;

fn call(domain: c_int, ty: c_int, protocol: c_int) -> Call {
    Call { domain, ty, protocol }
}

#[test]
fn maps_tcp_to_af_smc() {
    let m = |d, t, p| map(Mode::Smc, call(d, t, p));
    assert_eq!(m(libc::AF_INET, STREAM, 0), Some(call(AF_SMC, STREAM, SMCPROTO_SMC)));
    assert_eq!(m(libc::AF_INET, STREAM, libc::IPPROTO_TCP), Some(call(AF_SMC, STREAM, SMCPROTO_SMC)));
    assert_eq!(m(libc::AF_INET6, STREAM, 0), Some(call(AF_SMC, STREAM, SMCPROTO_SMC6)));
    assert_eq!(m(libc::AF_INET6, STREAM, libc::IPPROTO_TCP), Some(call(AF_SMC, STREAM, SMCPROTO_SMC6)));
    // The flags stay.
    assert_eq!(m(libc::AF_INET, STREAM | NB, 0), Some(call(AF_SMC, STREAM | NB, SMCPROTO_SMC)));
    assert_eq!(m(libc::AF_INET6, STREAM | CX, 6), Some(call(AF_SMC, STREAM | CX, SMCPROTO_SMC6)));
    assert_eq!(m(libc::AF_INET, STREAM | NB | CX, 0), Some(call(AF_SMC, STREAM | NB | CX, SMCPROTO_SMC)));
}

#[test]
fn maps_tcp_to_ipproto_smc_in_inet_mode() {
    let m = |d, t, p| map(Mode::Inet, call(d, t, p));
    assert_eq!(m(libc::AF_INET, STREAM, 0), Some(call(libc::AF_INET, STREAM, IPPROTO_SMC)));
    assert_eq!(m(libc::AF_INET6, STREAM | NB | CX, 6), Some(call(libc::AF_INET6, STREAM | NB | CX, IPPROTO_SMC)));
}

#[test]
fn leaves_other_sockets_alone() {
    for mode in [Mode::Smc, Mode::Inet] {
        let m = |d, t, p| map(mode, call(d, t, p));
        assert_eq!(m(libc::AF_INET, libc::SOCK_DGRAM, 0), None);
        assert_eq!(m(libc::AF_INET6, libc::SOCK_DGRAM | CX, libc::IPPROTO_UDP), None);
        assert_eq!(m(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_ICMP), None);
        assert_eq!(m(libc::AF_INET, libc::SOCK_SEQPACKET, 0), None);
        assert_eq!(m(libc::AF_INET, STREAM, libc::IPPROTO_SCTP), None);
        assert_eq!(m(libc::AF_INET, STREAM, libc::IPPROTO_MPTCP), None);
        assert_eq!(m(libc::AF_INET, STREAM, IPPROTO_SMC), None);
        assert_eq!(m(libc::AF_UNIX, STREAM, 0), None);
        assert_eq!(m(libc::AF_NETLINK, libc::SOCK_RAW, 0), None);
        assert_eq!(m(AF_SMC, STREAM, SMCPROTO_SMC), None);
        assert_eq!(m(libc::AF_PACKET, STREAM, 0), None);
        // A type flag socket() does not know is not ours to drop.
        assert_eq!(m(libc::AF_INET, STREAM | 0x4000, 0), None);
    }
}

#[test]
fn environment() {
    assert_eq!(Mode::from_env(None), Mode::Smc);
    assert_eq!(Mode::from_env(Some(b"")), Mode::Smc);
    assert_eq!(Mode::from_env(Some(b"smc")), Mode::Smc);
    assert_eq!(Mode::from_env(Some(b"inet")), Mode::Inet);
    assert_eq!(Mode::from_env(Some(b"INET6")), Mode::Smc);
    assert!(!debug_from_env(None));
    assert!(!debug_from_env(Some(b"")));
    assert!(!debug_from_env(Some(b"0")));
    assert!(debug_from_env(Some(b"1")));
    assert!(debug_from_env(Some(b"yes")));
    assert_eq!(State::new(Mode::Inet, true).config(), (Mode::Inet, true));
    assert_eq!(State::new(Mode::Smc, false).config(), (Mode::Smc, false));
}

#[test]
fn shows_calls() {
    let s = |c| Show(c).to_string();
    assert_eq!(s(call(libc::AF_INET, STREAM, 0)), "socket(AF_INET, SOCK_STREAM, 0)");
    assert_eq!(
        s(call(libc::AF_INET6, STREAM | NB | CX, libc::IPPROTO_TCP)),
        "socket(AF_INET6, SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC, IPPROTO_TCP)"
    );
    assert_eq!(s(call(AF_SMC, STREAM, SMCPROTO_SMC6)), "socket(AF_SMC, SOCK_STREAM, SMCPROTO_SMC6)");
    assert_eq!(s(call(libc::AF_INET, STREAM | CX, IPPROTO_SMC)), "socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_SMC)");
    assert_eq!(s(call(1, 2, 3)), "socket(1, 2, 3)");
}

#[test]
fn debug_lines_end_in_newline_even_when_cut() {
    let l = format_line(42, format_args!("x {}", 1));
    assert_eq!(l.as_bytes(), b"smc-preload[42]: x 1\n");
    let long = "y".repeat(1000);
    let l = format_line(1, format_args!("{long}"));
    assert_eq!(l.as_bytes().len(), 256);
    assert_eq!(*l.as_bytes().last().unwrap(), b'\n');
}

// A scripted kernel: the calls it saw and what it answers, per thread.
thread_local! {
    static CALLS: RefCell<Vec<Call>> = const { RefCell::new(Vec::new()) };
    // errno for SMC sockets (0: succeed), and for the others.
    static SMC_ERR: Cell<c_int> = const { Cell::new(0) };
    static TCP_ERR: Cell<c_int> = const { Cell::new(0) };
}

unsafe extern "C" fn fake(domain: c_int, ty: c_int, protocol: c_int) -> c_int {
    CALLS.with(|c| c.borrow_mut().push(call(domain, ty, protocol)));
    let smc = domain == AF_SMC || protocol == IPPROTO_SMC;
    let err = if smc { SMC_ERR.get() } else { TCP_ERR.get() };
    if err != 0 {
        set_errno(err);
        return -1;
    }
    if smc {
        100
    } else {
        200
    }
}

fn scripted(smc_err: c_int, tcp_err: c_int) {
    CALLS.with(|c| c.borrow_mut().clear());
    SMC_ERR.set(smc_err);
    TCP_ERR.set(tcp_err);
}

fn calls() -> Vec<Call> {
    CALLS.with(|c| c.borrow_mut().drain(..).collect())
}

#[test]
fn mapped_socket_is_returned() {
    let st = State::new(Mode::Smc, false);
    scripted(0, 0);
    // SAFETY: a plain system call on a descriptor this test owns, with pointers to live locals of the lengths passed.
    let fd = unsafe { st.socket(fake, call(libc::AF_INET6, STREAM | CX, 0)) };
    assert_eq!(fd, 100);
    assert_eq!(calls(), [call(AF_SMC, STREAM | CX, SMCPROTO_SMC6)]);
    let st = State::new(Mode::Inet, false);
    // SAFETY: a plain system call on a descriptor this test owns, with pointers to live locals of the lengths passed.
    let fd = unsafe { st.socket(fake, call(libc::AF_INET, STREAM, 6)) };
    assert_eq!(fd, 100);
    assert_eq!(calls(), [call(libc::AF_INET, STREAM, IPPROTO_SMC)]);
}

#[test]
fn other_sockets_go_straight_through() {
    let st = State::new(Mode::Smc, false);
    scripted(0, 0);
    let udp = call(libc::AF_INET, libc::SOCK_DGRAM, 0);
    // SAFETY: `fake` behaves like socket(): it only records its integer arguments.
    assert_eq!(unsafe { st.socket(fake, udp) }, 200);
    assert_eq!(calls(), [udp]);
}

#[test]
fn no_smc_in_the_kernel_falls_back_and_stops_asking() {
    for (mode, err) in [(Mode::Smc, libc::EAFNOSUPPORT), (Mode::Inet, libc::EPROTONOSUPPORT)] {
        let st = State::new(mode, false);
        scripted(err, 0);
        let tcp = call(libc::AF_INET, STREAM | NB, 0);
        // SAFETY: `fake` behaves like socket(): it only records its integer arguments.
        assert_eq!(unsafe { st.socket(fake, tcp) }, 200);
        assert_eq!(calls().len(), 2);
        assert!(st.smc_unavailable(libc::AF_INET));
        assert!(!st.smc_unavailable(libc::AF_INET6));
        // The next TCP socket of that domain is made directly.
        // SAFETY: `fake` behaves like socket(): it only records its integer arguments.
        assert_eq!(unsafe { st.socket(fake, tcp) }, 200);
        assert_eq!(calls(), [tcp]);
        // IPv6 still tries SMC first.
        let tcp6 = call(libc::AF_INET6, STREAM, 0);
        // SAFETY: `fake` behaves like socket(): it only records its integer arguments.
        assert_eq!(unsafe { st.socket(fake, tcp6) }, 200);
        assert_eq!(calls().len(), 2);
    }
}

#[test]
fn other_refusals_fall_back_every_time() {
    let st = State::new(Mode::Smc, false);
    scripted(libc::EPERM, 0);
    let tcp = call(libc::AF_INET, STREAM, libc::IPPROTO_TCP);
    for _ in 0..2 {
        // SAFETY: `fake` behaves like socket(): it only records its integer arguments.
        assert_eq!(unsafe { st.socket(fake, tcp) }, 200);
        assert_eq!(calls(), [call(AF_SMC, STREAM, SMCPROTO_SMC), tcp]);
    }
    assert!(!st.smc_unavailable(libc::AF_INET));
}

#[test]
fn failed_fallback_reports_its_own_errno() {
    let st = State::new(Mode::Smc, true); // the debug line must not clobber errno
    scripted(libc::EMFILE, libc::ENFILE);
    set_errno(0);
    // SAFETY: a plain system call on a descriptor this test owns, with pointers to live locals of the lengths passed.
    assert_eq!(unsafe { st.socket(fake, call(libc::AF_INET, STREAM, 0)) }, -1);
    assert_eq!(errno(), libc::ENFILE);
}

// Against the running kernel: on a machine without SMC the socket is TCP,
// with SMC it is SMC; either way the flags are kept and it connects.

fn sockopt(fd: c_int, opt: c_int) -> c_int {
    let mut v: c_int = -1;
    let mut len = core::mem::size_of::<c_int>() as libc::socklen_t;
    // SAFETY: a plain system call on a descriptor this test owns, with pointers to live locals of the lengths passed.
    let r = unsafe { libc::getsockopt(fd, libc::SOL_SOCKET, opt, (&mut v as *mut c_int).cast(), &mut len) };
    assert_eq!(r, 0, "getsockopt {opt}");
    v
}

fn kernel_has_af_smc() -> bool {
    // SAFETY: a plain system call on a descriptor this test owns, with pointers to live locals of the lengths passed.
    let fd = unsafe { raw_socket(AF_SMC, STREAM, SMCPROTO_SMC) };
    if fd >= 0 {
        // SAFETY: a plain system call on a descriptor this test owns, with pointers to live locals of the lengths passed.
        unsafe { libc::close(fd) };
    }
    fd >= 0
}

#[test]
fn real_kernel_socket_keeps_flags() {
    let st = State::new(Mode::Smc, false);
    let want = if kernel_has_af_smc() { AF_SMC } else { libc::AF_INET };
    // SAFETY: a plain system call on a descriptor this test owns, with pointers to live locals of the lengths passed.
    let fd = unsafe { st.socket(real_socket(), call(libc::AF_INET, STREAM | NB | CX, 0)) };
    assert!(fd >= 0);
    assert_eq!(sockopt(fd, libc::SO_DOMAIN), want);
    assert_eq!(sockopt(fd, libc::SO_TYPE), STREAM);
    // SAFETY: a plain system call on a descriptor this test owns, with pointers to live locals of the lengths passed.
    assert_ne!(unsafe { libc::fcntl(fd, libc::F_GETFL) } & libc::O_NONBLOCK, 0);
    // SAFETY: a plain system call on a descriptor this test owns, with pointers to live locals of the lengths passed.
    assert_ne!(unsafe { libc::fcntl(fd, libc::F_GETFD) } & libc::FD_CLOEXEC, 0);
    // SAFETY: a plain system call on a descriptor this test owns, with pointers to live locals of the lengths passed.
    unsafe { libc::close(fd) };
    // SAFETY: a plain system call on a descriptor this test owns, with pointers to live locals of the lengths passed.
    let fd = unsafe { st.socket(real_socket(), call(libc::AF_INET, STREAM, 0)) };
    // SAFETY: a plain system call on a descriptor this test owns, with pointers to live locals of the lengths passed.
    assert_eq!(unsafe { libc::fcntl(fd, libc::F_GETFL) } & libc::O_NONBLOCK, 0);
    // SAFETY: a plain system call on a descriptor this test owns, with pointers to live locals of the lengths passed.
    assert_eq!(unsafe { libc::fcntl(fd, libc::F_GETFD) } & libc::FD_CLOEXEC, 0);
    // SAFETY: a plain system call on a descriptor this test owns, with pointers to live locals of the lengths passed.
    unsafe { libc::close(fd) };
    // SAFETY: a plain system call on a descriptor this test owns, with pointers to live locals of the lengths passed.
    let fd = unsafe { st.socket(real_socket(), call(libc::AF_INET, libc::SOCK_DGRAM, 0)) };
    assert_eq!(sockopt(fd, libc::SO_DOMAIN), libc::AF_INET);
    assert_eq!(sockopt(fd, libc::SO_PROTOCOL), libc::IPPROTO_UDP);
    // SAFETY: a plain system call on a descriptor this test owns, with pointers to live locals of the lengths passed.
    unsafe { libc::close(fd) };
}

#[test]
fn real_kernel_sockets_from_many_threads_connect() {
    use std::io::{Read, Write as _};
    let lst = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = lst.local_addr().unwrap();
    let port = addr.port().to_be();
    let server = std::thread::spawn(move || {
        for _ in 0..8 * 20 {
            let (mut s, _) = lst.accept().unwrap();
            let mut b = [0u8; 1];
            s.read_exact(&mut b).unwrap();
            s.write_all(&b).unwrap();
        }
    });
    let st = std::sync::Arc::new(State::from_env());
    let threads: Vec<_> = (0..8u8)
        .map(|t| {
            let st = st.clone();
            std::thread::spawn(move || {
                for _ in 0..20 {
                    // SAFETY: a plain system call on a descriptor this test owns, with pointers to live locals of the lengths passed.
                    let fd = unsafe { st.socket(real_socket(), call(libc::AF_INET, STREAM | CX, 0)) };
                    assert!(fd >= 0);
                    let sa = libc::sockaddr_in {
                        sin_family: libc::AF_INET as libc::sa_family_t,
                        sin_port: port,
                        sin_addr: libc::in_addr { s_addr: u32::from_be_bytes([127, 0, 0, 1]).to_be() },
                        sin_zero: [0; 8],
                    };
                    // SAFETY: a plain system call on a descriptor this test owns, with pointers to live locals of the lengths passed.
                    let r = unsafe {
                        libc::connect(
                            fd,
                            (&sa as *const libc::sockaddr_in).cast(),
                            core::mem::size_of_val(&sa) as libc::socklen_t,
                        )
                    };
                    assert_eq!(r, 0, "connect: errno {}", errno());
                    let mut b = [t];
                    // SAFETY: a plain system call on a descriptor this test owns, with pointers to live locals of the lengths passed.
                    assert_eq!(unsafe { libc::write(fd, b.as_ptr().cast(), 1) }, 1);
                    b[0] = !t;
                    // SAFETY: a plain system call on a descriptor this test owns, with pointers to live locals of the lengths passed.
                    assert_eq!(unsafe { libc::read(fd, b.as_mut_ptr().cast(), 1) }, 1);
                    assert_eq!(b[0], t);
                    // SAFETY: a plain system call on a descriptor this test owns, with pointers to live locals of the lengths passed.
                    unsafe { libc::close(fd) };
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    server.join().unwrap();
}
