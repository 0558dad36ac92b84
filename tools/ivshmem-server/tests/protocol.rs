//! End-to-end tests: start the `ivshmem-server` binary on a temporary
//! socket, connect raw UNIX-socket clients that read messages and file
//! descriptors with `recvmsg(2)`, and check the message sequences against
//! QEMU's `docs/specs/ivshmem-spec.txt`, section "The ivshmem
//! Client-Server Protocol".

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Vectors per peer used by the tests.
const VECTORS: usize = 3;
/// Shared-memory size used by the tests.
const SIZE: u64 = 1 << 20;
/// Upper bound on any single wait in these tests.
const TIMEOUT: Duration = Duration::from_secs(10);

// The server's presence table in the shared memory (all integers
// little-endian): magic, epoch, and one bit per peer ID.
/// Offset of the magic number, the bytes `1IVSVPR1`.
const MAGIC_OFFSET: usize = 0x800;
/// Offset of the `u64` epoch.
const EPOCH_OFFSET: usize = 0x808;
/// Offset of the bitmap: peer p is bit p % 8 of byte BITMAP_OFFSET + p / 8.
const BITMAP_OFFSET: usize = 0x1000;
/// End of the bitmap.
const TABLE_END: usize = 0x3000;

/// A scratch directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("ivshmem-test-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A running server process, killed on drop if still running.
struct Server {
    child: Child,
    socket: PathBuf,
    shm: PathBuf,
}

impl Server {
    /// Starts the server with `extra` arguments and waits for `ready`.
    fn start(dir: &TempDir, extra: &[&str]) -> Server {
        Self::start_with(dir, "1M", VECTORS, extra)
    }

    /// Starts the server with a shared memory of `size` (as given on the
    /// command line), `vectors` vectors per peer and `extra` arguments,
    /// and waits for `ready`.
    fn start_with(dir: &TempDir, size: &str, vectors: usize, extra: &[&str]) -> Server {
        let socket = dir.path("ivshmem.sock");
        let shm = dir.path("shm");
        let mut child = Command::new(env!("CARGO_BIN_EXE_ivshmem-server"))
            .arg("--socket")
            .arg(&socket)
            .arg("--shm")
            .arg(&shm)
            .args([
                "--size",
                size,
                "--vectors",
                &vectors.to_string(),
                "--verbose",
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn ivshmem-server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line, "ready\n");
        Server { child, socket, shm }
    }

    fn connect(&self) -> UnixStream {
        let s = UnixStream::connect(&self.socket).expect("connect");
        s.set_read_timeout(Some(TIMEOUT)).unwrap();
        s
    }

    /// Sends `sig` and waits for the process to exit.
    fn stop(mut self, sig: i32) -> ExitStatus {
        // SAFETY: plain kill(2) on our own child.
        assert_eq!(unsafe { libc::kill(self.child.id() as i32, sig) }, 0);
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "server did not exit");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One received message: the number and the fd that came with it.
#[derive(Debug)]
struct Msg {
    value: i64,
    fd: Option<OwnedFd>,
}

/// Reads one 8-byte little-endian message with at most one SCM_RIGHTS fd.
fn recv_msg(sock: &UnixStream) -> Msg {
    let mut buf = [0u8; 8];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut cmsg = [0u64; 8];
    // SAFETY: zeroed msghdr is valid; buffers outlive the call.
    let mut hdr: libc::msghdr = unsafe { mem::zeroed() };
    hdr.msg_iov = &mut iov;
    hdr.msg_iovlen = 1;
    hdr.msg_control = cmsg.as_mut_ptr().cast();
    hdr.msg_controllen = mem::size_of_val(&cmsg) as _;
    // SAFETY: as above.
    let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut hdr, libc::MSG_CMSG_CLOEXEC) };
    assert_eq!(
        n,
        8,
        "recvmsg: expected a whole message, got {n} ({})",
        std::io::Error::last_os_error()
    );
    assert_eq!(
        hdr.msg_flags & libc::MSG_CTRUNC,
        0,
        "control data truncated"
    );
    let mut fds = Vec::new();
    // SAFETY: walking the control buffer the kernel filled in.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&hdr);
        while !c.is_null() {
            assert_eq!((*c).cmsg_level, libc::SOL_SOCKET);
            assert_eq!((*c).cmsg_type, libc::SCM_RIGHTS);
            let data = libc::CMSG_DATA(c).cast::<RawFd>();
            let count = ((*c).cmsg_len as usize - libc::CMSG_LEN(0) as usize) / 4;
            for i in 0..count {
                fds.push(OwnedFd::from_raw_fd(data.add(i).read_unaligned()));
            }
            c = libc::CMSG_NXTHDR(&hdr, c);
        }
    }
    assert!(fds.len() <= 1, "at most one fd per message");
    Msg {
        value: i64::from_le_bytes(buf),
        fd: fds.pop(),
    }
}

/// Asserts that nothing is waiting on `sock` right now.
fn assert_nothing_pending(sock: &UnixStream) {
    let mut b = [0u8; 1];
    // SAFETY: one-byte peek into a local buffer.
    let n = unsafe {
        libc::recv(
            sock.as_raw_fd(),
            b.as_mut_ptr().cast(),
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    assert_eq!(n, -1, "unexpected pending data");
}

/// What a test client expects to receive: a number and whether an fd
/// comes with it.
type Expected = (i64, bool);

/// The messages a client with ID `me` receives on connect, with `others`
/// already connected (in ascending ID order). Spec, "The ivshmem
/// Client-Server Protocol", "On connect, the server sends ...":
///
/// 1. version 0, no fd;
/// 2. the client's ID, no fd;
/// 3. -1 with the shared memory fd;
/// 4. for each existing peer, its ID N times, each with an fd (vectors
///    0..N-1 in order);
/// 5. the client's own ID N times, each with an fd (vectors 0..N-1).
fn expected_on_connect(me: i64, others: &[i64]) -> Vec<Expected> {
    expected_on_connect_n(me, others, VECTORS)
}

/// [`expected_on_connect`] with `n` vectors per peer.
fn expected_on_connect_n(me: i64, others: &[i64], n: usize) -> Vec<Expected> {
    let mut v = vec![(0, false), (me, false), (-1, true)];
    for &o in others {
        v.extend(std::iter::repeat_n((o, true), n));
    }
    v.extend(std::iter::repeat_n((me, true), n));
    v
}

/// The messages an existing client receives when peer `id` connects.
/// Spec, step 6 ("Connection / disconnection notification"): with an fd
/// it is a connection notification "exactly like in step 4", i.e. the
/// ID N times with the eventfds for vectors 0..N-1.
fn expected_peer_connect(id: i64) -> Vec<Expected> {
    vec![(id, true); VECTORS]
}

/// Receives `expected.len()` messages and checks them against `expected`.
fn recv_expected(sock: &UnixStream, expected: &[Expected]) -> Vec<Msg> {
    let msgs: Vec<Msg> = expected.iter().map(|_| recv_msg(sock)).collect();
    let got: Vec<Expected> = msgs.iter().map(|m| (m.value, m.fd.is_some())).collect();
    assert_eq!(got, expected);
    msgs
}

/// (device, inode) of an fd, to tell whether two fds name the same file.
fn identity(fd: &OwnedFd) -> (u64, u64) {
    // SAFETY: fstat into a zeroed struct.
    let mut st: libc::stat = unsafe { mem::zeroed() };
    assert_eq!(unsafe { libc::fstat(fd.as_raw_fd(), &mut st) }, 0);
    (st.st_dev, st.st_ino)
}

/// Size in bytes of the file behind `fd`.
fn fd_size(fd: &OwnedFd) -> u64 {
    // SAFETY: fstat into a zeroed struct.
    let mut st: libc::stat = unsafe { mem::zeroed() };
    assert_eq!(unsafe { libc::fstat(fd.as_raw_fd(), &mut st) }, 0);
    st.st_size as u64
}

/// Adds `n` to an eventfd's counter.
fn eventfd_write(fd: &OwnedFd, n: u64) {
    let b = n.to_ne_bytes();
    // SAFETY: 8-byte write from a local buffer.
    let r = unsafe { libc::write(fd.as_raw_fd(), b.as_ptr().cast(), 8) };
    assert_eq!(r, 8);
}

/// Reads and resets an eventfd's counter; `None` if it is zero.
fn eventfd_read(fd: &OwnedFd) -> Option<u64> {
    let mut b = [0u8; 8];
    // SAFETY: 8-byte read into a local buffer; the server creates the
    // eventfds with EFD_NONBLOCK, so a zero counter gives EAGAIN.
    let r = unsafe { libc::read(fd.as_raw_fd(), b.as_mut_ptr().cast(), 8) };
    (r == 8).then(|| u64::from_ne_bytes(b))
}

/// The fds of `msgs`, e.g. one peer's vectors in vector order.
fn vector_fds(msgs: &[Msg]) -> Vec<&OwnedFd> {
    msgs.iter().map(|m| m.fd.as_ref().unwrap()).collect()
}

#[test]
fn two_clients_full_sequence_and_disconnect() {
    let dir = TempDir::new();
    // Pre-existing content must be zeroed on start (no --keep), and a stale
    // socket file must be replaced.
    fs::write(dir.path("shm"), vec![0xaa; 8192]).unwrap();
    drop(std::os::unix::net::UnixListener::bind(dir.path("ivshmem.sock")).unwrap());
    let server = Server::start(&dir, &[]);

    let mut contents = Vec::new();
    fs::File::open(&server.shm)
        .unwrap()
        .read_to_end(&mut contents)
        .unwrap();
    assert_eq!(contents.len() as u64, SIZE);
    // Zeroed, but for the presence table's magic number.
    assert_eq!(&contents[MAGIC_OFFSET..MAGIC_OFFSET + 8], b"1IVSVPR1");
    contents[MAGIC_OFFSET..MAGIC_OFFSET + 8].fill(0);
    assert!(contents.iter().all(|&b| b == 0), "shared memory zeroed");

    // Client A: the first client receives ID zero (spec, "The ivshmem
    // server"), and no peers yet.
    let a = server.connect();
    let a_msgs = recv_expected(&a, &expected_on_connect(0, &[]));
    let a_shm = a_msgs[2].fd.as_ref().unwrap();
    assert_eq!(fd_size(a_shm), SIZE);
    assert_eq!(identity(a_shm), {
        let m = fs::metadata(&server.shm).unwrap();
        (m.dev(), m.ino())
    });
    let a_own = vector_fds(&a_msgs[3..]);
    assert_nothing_pending(&a);

    // Client B: gets ID 1, A's vectors (step 4), then its own (step 5).
    let b = server.connect();
    let b_msgs = recv_expected(&b, &expected_on_connect(1, &[0]));
    let b_shm = b_msgs[2].fd.as_ref().unwrap();
    assert_eq!(identity(b_shm), identity(a_shm), "same shared memory");
    let b_to_a = vector_fds(&b_msgs[3..3 + VECTORS]);
    let b_own = vector_fds(&b_msgs[3 + VECTORS..]);

    // A is told about B (step 6, connection notification).
    let a_new = recv_expected(&a, &expected_peer_connect(1));
    let a_to_b = vector_fds(&a_new);
    assert_nothing_pending(&a);
    assert_nothing_pending(&b);

    // The copy a peer gets of another's vector k is that very eventfd (an
    // eventfd has no inode of its own to compare, so check behaviour): a
    // doorbell rung through B's copy of A's vector k shows up in A's own
    // vector k and in no other of A's or B's vectors, and vice versa.
    let everyone: Vec<&OwnedFd> = a_own.iter().chain(&b_own).copied().collect();
    for k in 0..VECTORS {
        for (ring, own, who) in [
            (&b_to_a, &a_own, "B rings A"),
            (&a_to_b, &b_own, "A rings B"),
        ] {
            let value = 10 + k as u64;
            eventfd_write(ring[k], value);
            let fired: Vec<Option<u64>> = everyone.iter().map(|fd| eventfd_read(fd)).collect();
            let mut expected = vec![None; everyone.len()];
            let index = everyone
                .iter()
                .position(|fd| std::ptr::eq(*fd, own[k]))
                .unwrap();
            expected[index] = Some(value);
            assert_eq!(fired, expected, "{who} on vector {k}");
        }
    }

    // A sending junk is ignored (the protocol is one-way).
    (&a).write_all(b"not part of the protocol").unwrap();
    (&b).write_all(b"junk").unwrap();
    assert_nothing_pending(&b);
    // A disconnects: B receives A's ID with no fd (spec, step 6:
    // "Else, it's a disconnection notification").
    drop(a_new);
    drop(a_msgs);
    drop(a);
    let gone = recv_msg(&b);
    assert_eq!((gone.value, gone.fd.is_some()), (0, false));

    // A reconnecting gets a fresh ID (2, not the just-freed 0) and sees B.
    let c = server.connect();
    recv_expected(&c, &expected_on_connect(2, &[1]));
    recv_expected(&b, &expected_peer_connect(2));

    // SIGTERM: clean exit and the socket file is gone.
    let socket = server.socket.clone();
    let status = server.stop(libc::SIGTERM);
    assert_eq!(status.code(), Some(0));
    assert!(!Path::new(&socket).exists(), "socket removed on exit");
    // The server closed its end of the connections.
    let mut buf = [0u8; 8];
    assert_eq!((&c).read(&mut buf).unwrap(), 0);
}

#[test]
fn three_clients_and_middle_leaves() {
    let dir = TempDir::new();
    let server = Server::start(&dir, &["--keep"]);
    let a = server.connect();
    recv_expected(&a, &expected_on_connect(0, &[]));
    let b = server.connect();
    recv_expected(&b, &expected_on_connect(1, &[0]));
    recv_expected(&a, &expected_peer_connect(1));
    let c = server.connect();
    // Existing peers come in ascending ID order, each with all N vectors.
    recv_expected(&c, &expected_on_connect(2, &[0, 1]));
    recv_expected(&a, &expected_peer_connect(2));
    recv_expected(&b, &expected_peer_connect(2));

    drop(b);
    for s in [&a, &c] {
        let m = recv_msg(s);
        assert_eq!((m.value, m.fd.is_some()), (1, false));
    }
    let d = server.connect();
    recv_expected(&d, &expected_on_connect(3, &[0, 2]));
    recv_expected(&a, &expected_peer_connect(3));
    recv_expected(&c, &expected_peer_connect(3));
    assert_nothing_pending(&a);
    assert_nothing_pending(&c);

    assert_eq!(server.stop(libc::SIGINT).code(), Some(0));
}

#[test]
fn vanished_client_is_cleaned_up() {
    let dir = TempDir::new();
    let server = Server::start(&dir, &[]);
    // A client that connects and goes away at once. It is accepted first,
    // so it takes ID 0 whether or not its setup completes.
    drop(server.connect());
    let a = server.connect();
    // ID 0 went to the vanished client; IDs are not reused at once.
    let head = recv_expected(&a, &[(0, false), (1, false), (-1, true)]);
    drop(head);
    // Depending on timing, the vanished client was still in the table when
    // A arrived (A then gets its vectors and later its departure), or not.
    let first = recv_msg(&a);
    assert!(first.fd.is_some());
    if first.value == 0 {
        recv_expected(&a, &[(0, true); VECTORS - 1]);
        recv_expected(&a, &expected_peer_connect(1));
        recv_expected(&a, &[(0, false)]);
    } else {
        assert_eq!(first.value, 1);
        recv_expected(&a, &[(1, true); VECTORS - 1]);
    }
    // Give the server a moment: nothing further may arrive.
    std::thread::sleep(Duration::from_millis(100));
    assert_nothing_pending(&a);
    assert_eq!(server.stop(libc::SIGTERM).code(), Some(0));
}

#[test]
fn bad_usage_exits_2() {
    let bin = env!("CARGO_BIN_EXE_ivshmem-server");
    for args in [
        &[][..],
        &["--socket", "/nonexistent/s", "--shm", "/nonexistent/m"][..],
        &["--socket", "s", "--shm", "m", "--size", "3M"][..],
        &[
            "--socket",
            "s",
            "--shm",
            "m",
            "--size",
            "1M",
            "--vectors",
            "65",
        ][..],
        &["--frobnicate"][..],
    ] {
        let out = Command::new(bin).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "args {args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("usage:"));
        assert!(out.stdout.is_empty());
    }
    let out = Command::new(bin).arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("usage:"));
}

#[test]
fn refuses_to_replace_a_non_socket() {
    let dir = TempDir::new();
    fs::write(dir.path("ivshmem.sock"), b"precious").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ivshmem-server"))
        .arg("--socket")
        .arg(dir.path("ivshmem.sock"))
        .arg("--shm")
        .arg(dir.path("shm"))
        .args(["--size", "4K"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(fs::read(dir.path("ivshmem.sock")).unwrap(), b"precious");
}

/// The whole shared-memory file, read through the file system.
fn shm_bytes(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap()
}

/// The presence table's epoch in `bytes`.
fn epoch(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(bytes[EPOCH_OFFSET..EPOCH_OFFSET + 8].try_into().unwrap())
}

/// Whether `bytes` mark peer `p` present.
fn present(bytes: &[u8], p: usize) -> bool {
    bytes[BITMAP_OFFSET + p / 8] & (1 << (p % 8)) != 0
}

/// The IDs `bytes` mark present.
fn present_ids(bytes: &[u8]) -> Vec<usize> {
    (0..(TABLE_END - BITMAP_OFFSET) * 8)
        .filter(|&p| present(bytes, p))
        .collect()
}

/// Whether byte `i` of the file belongs to the presence table.
fn in_table(i: usize) -> bool {
    (MAGIC_OFFSET..EPOCH_OFFSET + 8).contains(&i) || (BITMAP_OFFSET..TABLE_END).contains(&i)
}

/// Waits up to `timeout` for `fd` to become readable.
fn readable_within(fd: &OwnedFd, timeout: Duration) -> bool {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let n = unsafe { libc::poll(&mut pfd, 1, timeout.as_millis() as i32) };
    assert!(n >= 0, "poll: {}", std::io::Error::last_os_error());
    n == 1
}

#[test]
fn presence_bit_set_before_greeting_and_departure_rings_vector_1() {
    let dir = TempDir::new();
    let server = Server::start_with(&dir, "16K", VECTORS, &[]);
    let bytes = shm_bytes(&server.shm);
    assert_eq!(bytes.len(), 16384);
    assert_eq!(&bytes[MAGIC_OFFSET..MAGIC_OFFSET + 8], b"1IVSVPR1");
    assert_eq!(epoch(&bytes), 0);
    assert_eq!(present_ids(&bytes), []);

    // Each newcomer is marked present (and the epoch bumped) before the
    // first message of its greeting is sent.
    let a = server.connect();
    recv_expected(&a, &[(0, false)]);
    let bytes = shm_bytes(&server.shm);
    assert_eq!((present_ids(&bytes), epoch(&bytes)), (vec![0], 1));
    recv_expected(&a, &expected_on_connect(0, &[])[1..]);

    let b = server.connect();
    recv_expected(&b, &[(0, false)]);
    let bytes = shm_bytes(&server.shm);
    assert_eq!((present_ids(&bytes), epoch(&bytes)), (vec![0, 1], 2));
    let b_msgs = recv_expected(&b, &expected_on_connect(1, &[0])[1..]);
    recv_expected(&a, &expected_peer_connect(1));

    let c = server.connect();
    let c_msgs = recv_expected(&c, &expected_on_connect(2, &[0, 1]));
    recv_expected(&a, &expected_peer_connect(2));
    recv_expected(&b, &expected_peer_connect(2));
    let bytes = shm_bytes(&server.shm);
    assert_eq!((present_ids(&bytes), epoch(&bytes)), (vec![0, 1, 2], 3));

    // b_msgs lacks the version message; both skip ID, shm and others' vectors.
    let b_own = vector_fds(&b_msgs[2 + VECTORS..]);
    let c_own = vector_fds(&c_msgs[3 + 2 * VECTORS..]);
    assert!(b_own
        .iter()
        .chain(&c_own)
        .all(|fd| eventfd_read(fd).is_none()));

    // A leaves: its bit is cleared and the epoch bumped, then vector 1 of
    // each remaining peer is rung, and the disconnect notices still come.
    drop(a);
    for (sock, own) in [(&b, &b_own), (&c, &c_own)] {
        assert!(readable_within(own[1], TIMEOUT), "vector 1 rung");
        let bytes = shm_bytes(&server.shm);
        assert_eq!((present_ids(&bytes), epoch(&bytes)), (vec![1, 2], 4));
        let counters: Vec<Option<u64>> = own.iter().map(|fd| eventfd_read(fd)).collect();
        assert_eq!(counters, [None, Some(1), None]);
        recv_expected(sock, &[(0, false)]);
        assert_nothing_pending(sock);
    }

    // C leaves: B alone is rung.
    drop(c_msgs);
    drop(c);
    assert!(readable_within(b_own[1], TIMEOUT));
    let bytes = shm_bytes(&server.shm);
    assert_eq!((present_ids(&bytes), epoch(&bytes)), (vec![1], 5));
    assert_eq!(eventfd_read(b_own[1]), Some(1));
    recv_expected(&b, &[(2, false)]);

    // Nothing outside the table was written.
    let bytes = shm_bytes(&server.shm);
    assert!(bytes
        .iter()
        .enumerate()
        .all(|(i, &byte)| byte == 0 || in_table(i)));

    // On shutdown the table is left as it is (the peers may carry on).
    drop(b_msgs);
    assert_eq!(server.stop(libc::SIGTERM).code(), Some(0));
    let bytes = fs::read(dir.path("shm")).unwrap();
    assert_eq!((present_ids(&bytes), epoch(&bytes)), (vec![1], 5));
}

#[test]
fn presence_with_one_vector_rings_vector_0() {
    let dir = TempDir::new();
    let server = Server::start_with(&dir, "16K", 1, &[]);
    let a = server.connect();
    recv_expected(&a, &expected_on_connect_n(0, &[], 1));
    let b = server.connect();
    let b_msgs = recv_expected(&b, &expected_on_connect_n(1, &[0], 1));
    recv_expected(&a, &[(1, true)]);
    let b_own = b_msgs[4].fd.as_ref().unwrap();
    drop(a);
    assert!(readable_within(b_own, TIMEOUT));
    assert_eq!(eventfd_read(b_own), Some(1));
    recv_expected(&b, &[(0, false)]);
    let bytes = shm_bytes(&server.shm);
    assert_eq!((present_ids(&bytes), epoch(&bytes)), (vec![1], 3));
    assert_eq!(server.stop(libc::SIGTERM).code(), Some(0));
}

#[test]
fn keep_clears_presence_table_and_nothing_else() {
    let dir = TempDir::new();
    // A previous run's file: stale presence bits, an epoch, data everywhere.
    let mut old: Vec<u8> = (0..16384usize).map(|i| (i * 7 + 3) as u8).collect();
    old[EPOCH_OFFSET..EPOCH_OFFSET + 8].copy_from_slice(&41u64.to_le_bytes());
    fs::write(dir.path("shm"), &old).unwrap();

    let server = Server::start_with(&dir, "16K", VECTORS, &["--keep"]);
    let bytes = shm_bytes(&server.shm);
    assert_eq!(&bytes[MAGIC_OFFSET..MAGIC_OFFSET + 8], b"1IVSVPR1");
    assert_eq!(epoch(&bytes), 42);
    assert_eq!(present_ids(&bytes), []);
    for (i, (&now, &was)) in bytes.iter().zip(&old).enumerate() {
        assert!(in_table(i) || now == was, "byte {i:#x} changed");
    }

    let a = server.connect();
    recv_expected(&a, &expected_on_connect(0, &[]));
    // Peer 0 is bit 0 of the first little-endian bitmap word.
    let file = fs::File::open(&server.shm).unwrap();
    let mut word = [0u8; 8];
    file.read_exact_at(&mut word, BITMAP_OFFSET as u64).unwrap();
    assert_eq!(u64::from_le_bytes(word), 1);
    file.read_exact_at(&mut word, EPOCH_OFFSET as u64).unwrap();
    assert_eq!(u64::from_le_bytes(word), 43);
    assert_eq!(server.stop(libc::SIGTERM).code(), Some(0));
}

#[test]
fn small_shm_has_no_presence_table() {
    for size in ["4K", "8K"] {
        let dir = TempDir::new();
        let server = Server::start_with(&dir, size, VECTORS, &[]);
        let a = server.connect();
        recv_expected(&a, &expected_on_connect(0, &[]));
        let b = server.connect();
        let b_msgs = recv_expected(&b, &expected_on_connect(1, &[0]));
        recv_expected(&a, &expected_peer_connect(1));
        drop(a);
        // The disconnect notice comes after any doorbell would have.
        recv_expected(&b, &[(0, false)]);
        let b_own = vector_fds(&b_msgs[3 + VECTORS..]);
        assert!(b_own.iter().all(|fd| eventfd_read(fd).is_none()));
        assert!(shm_bytes(&server.shm).iter().all(|&byte| byte == 0));
        assert_eq!(server.stop(libc::SIGTERM).code(), Some(0));
    }
}
