//! What client and server say to each other: the header that opens each
//! data connection, and the text lines of the control connection.

use crate::cli::Workload;
use crate::procfs::{CpuTimes, CpuWindow, TcpSegs};

/// Bytes of the data-connection header.
pub const HEADER_LEN: usize = 16;
const MAGIC: &[u8; 4] = b"SMCB";
const VERSION: u8 = 1;
const KIND_RR: u8 = 1;
const KIND_STREAM: u8 = 2;
const KIND_CRR: u8 = 3;

/// The header the client writes first on each data connection:
/// `"SMCB"`, version 1, kind (1 request/response, 2 stream, 3 one
/// request/response and the server closes), two zero bytes, then two
/// big-endian u32: request and response size, or chunk size and 0.
pub fn encode_header(w: Workload) -> [u8; HEADER_LEN] {
    let (kind, a, b) = match w {
        Workload::Rr { req, resp } => (KIND_RR, req, resp),
        Workload::Stream { chunk } => (KIND_STREAM, chunk, 0),
        Workload::Crr { req, resp } => (KIND_CRR, req, resp),
    };
    let mut h = [0u8; HEADER_LEN];
    h[..4].copy_from_slice(MAGIC);
    h[4] = VERSION;
    h[5] = kind;
    h[8..12].copy_from_slice(&a.to_be_bytes());
    h[12..16].copy_from_slice(&b.to_be_bytes());
    h
}

/// Largest request, response or chunk size a server accepts (16 MiB).
const MAX_SIZE: u32 = 16 << 20;

/// Decodes a data-connection header.
pub fn decode_header(h: &[u8; HEADER_LEN]) -> Result<Workload, String> {
    if &h[..4] != MAGIC {
        return Err("not an smc-bench client (bad magic)".into());
    }
    if h[4] != VERSION {
        return Err(format!("header version {} (want {VERSION})", h[4]));
    }
    let a = u32::from_be_bytes([h[8], h[9], h[10], h[11]]);
    let b = u32::from_be_bytes([h[12], h[13], h[14], h[15]]);
    let ok = |n: u32| (1..=MAX_SIZE).contains(&n);
    match h[5] {
        KIND_RR if ok(a) && ok(b) => Ok(Workload::Rr { req: a, resp: b }),
        KIND_STREAM if ok(a) => Ok(Workload::Stream { chunk: a }),
        KIND_CRR if ok(a) && ok(b) => Ok(Workload::Crr { req: a, resp: b }),
        k => Err(format!("bad header: kind {k} sizes {a} {b}")),
    }
}

/// The server's counters over the measurement window, as the control
/// connection carries them.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ServerWindow {
    /// CPU time over the window.
    pub cpu: CpuWindow,
    /// TCP segments over the window.
    pub tcp: TcpSegs,
}

/// The fields of a `stats` line, in the order [`ServerWindow::encode`]
/// writes them.
const FIELDS: [&str; 9] = [
    "busy",
    "idle",
    "steal",
    "ncpus",
    "hz",
    "wall_us",
    "in_segs",
    "out_segs",
    "retrans_segs",
];

impl ServerWindow {
    /// The control line reporting it (without the newline).
    pub fn encode(&self) -> String {
        let t = &self.cpu.ticks;
        let v = [
            t.busy,
            t.idle,
            t.steal,
            u64::from(t.ncpus),
            self.cpu.hz,
            self.cpu.wall_us,
            self.tcp.in_segs,
            self.tcp.out_segs,
            self.tcp.retrans_segs,
        ];
        let mut o = String::from("stats");
        for (k, v) in FIELDS.iter().zip(v) {
            o.push_str(&format!(" {k}={v}"));
        }
        o
    }

    /// Parses a line made by [`ServerWindow::encode`] (fields in any order;
    /// unknown ones are ignored).
    pub fn decode(line: &str) -> Result<Self, String> {
        let mut f = line.split_ascii_whitespace();
        if f.next() != Some("stats") {
            return Err(format!("control: unexpected reply {line:?}"));
        }
        let mut v = [None; FIELDS.len()];
        for kv in f {
            let (k, val) = kv
                .split_once('=')
                .ok_or_else(|| format!("control: bad field {kv:?}"))?;
            let n: u64 = val
                .parse()
                .map_err(|_| format!("control: bad value {kv:?}"))?;
            if let Some(i) = FIELDS.iter().position(|f| *f == k) {
                v[i] = Some(n);
            }
        }
        let get = |i: usize| v[i].ok_or_else(|| format!("control: no {} in {line:?}", FIELDS[i]));
        let w = ServerWindow {
            cpu: CpuWindow {
                ticks: CpuTimes {
                    busy: get(0)?,
                    idle: get(1)?,
                    steal: get(2)?,
                    ncpus: u32::try_from(get(3)?).map_err(|_| "control: bad ncpus".to_string())?,
                },
                hz: get(4)?,
                wall_us: get(5)?,
            },
            tcp: TcpSegs {
                in_segs: get(6)?,
                out_segs: get(7)?,
                retrans_segs: get(8)?,
            },
        };
        if w.cpu.hz == 0 {
            return Err(format!("control: hz=0 in {line:?}"));
        }
        Ok(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip() {
        for w in [
            Workload::Rr {
                req: 200,
                resp: 1000,
            },
            Workload::Rr { req: 1, resp: 1 },
            Workload::Stream { chunk: 30720 },
            Workload::Crr { req: 1, resp: 1 },
        ] {
            assert_eq!(decode_header(&encode_header(w)), Ok(w));
        }
    }

    #[test]
    fn header_rejects() {
        let good = encode_header(Workload::Rr {
            req: 200,
            resp: 1000,
        });
        let mut h = good;
        h[0] = b'X';
        assert!(decode_header(&h).is_err());
        let mut h = good;
        h[4] = 2;
        assert!(decode_header(&h).is_err());
        let mut h = good;
        h[5] = 4;
        assert!(decode_header(&h).is_err());
        let mut h = encode_header(Workload::Crr { req: 1, resp: 1 });
        h[12..16].copy_from_slice(&0u32.to_be_bytes());
        assert!(decode_header(&h).is_err());
        let mut h = good;
        h[12..16].copy_from_slice(&0u32.to_be_bytes());
        assert!(decode_header(&h).is_err());
        let mut h = good;
        h[8..12].copy_from_slice(&(MAX_SIZE + 1).to_be_bytes());
        assert!(decode_header(&h).is_err());
        assert!(decode_header(&[0; HEADER_LEN]).is_err());
    }

    #[test]
    fn stats_line() {
        let w = ServerWindow {
            cpu: CpuWindow {
                ticks: CpuTimes {
                    busy: 150,
                    idle: 840,
                    steal: 10,
                    ncpus: 2,
                },
                hz: 100,
                wall_us: 5_000_123,
            },
            tcp: TcpSegs {
                in_segs: 7,
                out_segs: 9,
                retrans_segs: 1,
            },
        };
        let line = w.encode();
        assert_eq!(
            line,
            "stats busy=150 idle=840 steal=10 ncpus=2 hz=100 wall_us=5000123 in_segs=7 out_segs=9 retrans_segs=1"
        );
        assert_eq!(ServerWindow::decode(&line), Ok(w));
        let shuffled = "stats retrans_segs=1 out_segs=9 in_segs=7 wall_us=5000123 hz=100 ncpus=2 \
                        steal=10 idle=840 busy=150 new=3";
        assert_eq!(ServerWindow::decode(shuffled), Ok(w));
        assert!(ServerWindow::decode("ok").is_err());
        assert!(ServerWindow::decode("stats busy=1").is_err());
        assert!(ServerWindow::decode(&line.replace("hz=100", "hz=0")).is_err());
        assert!(ServerWindow::decode(&line.replace("busy=150", "busy=x")).is_err());
        assert!(ServerWindow::decode(&line.replace("busy=150", "busy")).is_err());
        assert!(ServerWindow::decode(&line.replace("ncpus=2", "ncpus=99999999999")).is_err());
    }
}
