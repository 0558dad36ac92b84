//! Whole-system counters from `/proc`: CPU time (`/proc/stat`) and TCP
//! segments (`/proc/net/snmp`).

use std::fs;

/// System-wide CPU time from the `cpu` line of `/proc/stat`, in clock ticks
/// (USER_HZ).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuTimes {
    /// user + nice + system + irq + softirq: time the CPUs did work, as the
    /// scheduler tick samples it. `guest` and `guest_nice` are already
    /// inside user and nice.
    pub busy: u64,
    /// idle + iowait. With NO_HZ (our kernels) this is measured with the
    /// clock at each idle entry and exit, not sampled by the tick.
    pub idle: u64,
    /// Time the hypervisor gave to someone else: not work of ours.
    pub steal: u64,
    /// Number of `cpuN` lines.
    pub ncpus: u32,
}

impl CpuTimes {
    /// The counters grown from `earlier` to `self` (saturating, so a
    /// counter that went backwards gives 0, not a huge number).
    pub fn since(&self, earlier: &CpuTimes) -> CpuTimes {
        CpuTimes {
            busy: self.busy.saturating_sub(earlier.busy),
            idle: self.idle.saturating_sub(earlier.idle),
            steal: self.steal.saturating_sub(earlier.steal),
            ncpus: self.ncpus,
        }
    }

    /// All ticks counted: busy + idle + steal.
    pub fn total(&self) -> u64 {
        self.busy + self.idle + self.steal
    }
}

/// CPU time over a measurement window of known length.
///
/// The busy time it reports first is the `/proc/stat` busy counters, which
/// the scheduler tick samples. Under TCG on a loaded host a busy vCPU
/// misses ticks while the host runs something else (each late timer
/// interrupt accounts one tick however many periods passed), so the
/// counters then cover less than wall time times CPUs: [`Self::accounted`]
/// says how much. The time lost that way is neither work nor idle of the
/// guest (it is the host's contention, like steal time that TCG does not
/// report), so the tick count stays the measure of the guest's own work;
/// [`Self::wall_busy_us`] (capacity less the NO_HZ idle time, which the
/// kernel measures with the clock) is the upper bound that counts all of
/// it as busy.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CpuWindow {
    /// The counters' growth over the window.
    pub ticks: CpuTimes,
    /// Ticks per second.
    pub hz: u64,
    /// The window's length in µs, by the monotonic clock of the same
    /// machine.
    pub wall_us: u64,
}

impl CpuWindow {
    fn us(&self, ticks: u64) -> f64 {
        if self.hz == 0 {
            0.0
        } else {
            ticks as f64 * 1e6 / self.hz as f64
        }
    }

    /// CPU capacity of the window: wall time times CPUs, in µs.
    pub fn capacity_us(&self) -> f64 {
        self.wall_us as f64 * f64::from(self.ticks.ncpus)
    }

    /// Busy CPU time in µs: the busy tick counters.
    pub fn busy_us(&self) -> f64 {
        self.us(self.ticks.busy)
    }

    /// Busy CPU time in µs as capacity less idle and steal (never below 0
    /// or above the capacity): an upper bound under TCG.
    pub fn wall_busy_us(&self) -> f64 {
        let cap = self.capacity_us();
        (cap - self.us(self.ticks.idle) - self.us(self.ticks.steal)).clamp(0.0, cap)
    }

    /// Share of the capacity that the counters account for at all (below
    /// 1 when ticks were lost).
    pub fn accounted(&self) -> f64 {
        let cap = self.capacity_us();
        if cap > 0.0 {
            self.us(self.ticks.total()) / cap
        } else {
            0.0
        }
    }

    /// Busy share of the counted time (0 to 1), as top and vmstat show it.
    pub fn util(&self) -> f64 {
        let total = self.ticks.total();
        if total > 0 {
            self.ticks.busy as f64 / total as f64
        } else {
            0.0
        }
    }
}

/// Parses the text of `/proc/stat`.
pub fn parse_stat(text: &str) -> Result<CpuTimes, String> {
    let mut times = None;
    let mut ncpus = 0;
    for line in text.lines() {
        let mut f = line.split_ascii_whitespace();
        match f.next() {
            Some("cpu") => {
                let v = f
                    .map(|x| {
                        x.parse::<u64>()
                            .map_err(|_| format!("/proc/stat: bad field {x:?}"))
                    })
                    .collect::<Result<Vec<u64>, String>>()?;
                if v.len() < 4 {
                    return Err(format!("/proc/stat: short cpu line {line:?}"));
                }
                let at = |i: usize| v.get(i).copied().unwrap_or(0);
                // user nice system idle iowait irq softirq steal guest guest_nice
                times = Some((at(0) + at(1) + at(2) + at(5) + at(6), at(3) + at(4), at(7)));
            }
            Some(c)
                if c.starts_with("cpu")
                    && c[3..].bytes().all(|b| b.is_ascii_digit())
                    && c.len() > 3 =>
            {
                ncpus += 1
            }
            _ => {}
        }
    }
    let (busy, idle, steal) = times.ok_or("/proc/stat: no cpu line")?;
    Ok(CpuTimes {
        busy,
        idle,
        steal,
        ncpus,
    })
}

/// Reads `/proc/stat`.
pub fn read_stat() -> Result<CpuTimes, String> {
    let text = fs::read_to_string("/proc/stat").map_err(|e| format!("/proc/stat: {e}"))?;
    parse_stat(&text)
}

/// Clock ticks per second of `/proc/stat` (USER_HZ).
pub fn ticks_per_sec() -> u64 {
    crate::sys::clock_ticks().unwrap_or(100)
}

/// TCP segment counters of `/proc/net/snmp`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpSegs {
    /// `Tcp: InSegs`.
    pub in_segs: u64,
    /// `Tcp: OutSegs`.
    pub out_segs: u64,
    /// `Tcp: RetransSegs`.
    pub retrans_segs: u64,
}

impl TcpSegs {
    /// The counters grown from `earlier` to `self`.
    pub fn since(&self, earlier: &TcpSegs) -> TcpSegs {
        TcpSegs {
            in_segs: self.in_segs.saturating_sub(earlier.in_segs),
            out_segs: self.out_segs.saturating_sub(earlier.out_segs),
            retrans_segs: self.retrans_segs.saturating_sub(earlier.retrans_segs),
        }
    }
}

/// Parses the text of `/proc/net/snmp`: the `Tcp:` header line names the
/// fields of the `Tcp:` value line after it.
pub fn parse_snmp(text: &str) -> Result<TcpSegs, String> {
    let mut tcp = text.lines().filter(|l| l.starts_with("Tcp:"));
    let (names, values) = match (tcp.next(), tcp.next()) {
        (Some(n), Some(v)) => (n, v),
        _ => return Err("/proc/net/snmp: no Tcp lines".into()),
    };
    let mut segs = (None, None, None);
    for (n, v) in names
        .split_ascii_whitespace()
        .zip(values.split_ascii_whitespace())
        .skip(1)
    {
        let slot = match n {
            "InSegs" => &mut segs.0,
            "OutSegs" => &mut segs.1,
            "RetransSegs" => &mut segs.2,
            _ => continue,
        };
        *slot = Some(
            v.parse::<u64>()
                .map_err(|_| format!("/proc/net/snmp: bad {n} {v:?}"))?,
        );
    }
    match segs {
        (Some(in_segs), Some(out_segs), Some(retrans_segs)) => Ok(TcpSegs {
            in_segs,
            out_segs,
            retrans_segs,
        }),
        _ => Err("/proc/net/snmp: no InSegs/OutSegs/RetransSegs".into()),
    }
}

/// Reads `/proc/net/snmp`.
pub fn read_snmp() -> Result<TcpSegs, String> {
    let text = fs::read_to_string("/proc/net/snmp").map_err(|e| format!("/proc/net/snmp: {e}"))?;
    parse_snmp(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "\
cpu  4705 356 584 3699176 2374 0 73 11 7 3
cpu0 1393 280 283 1848598 1105 0 60 5 0 0
cpu1 3312 76 301 1850578 1269 0 13 6 7 3
intr 1462898 32 9 0 0 0 0 0 0 1 0
ctxt 2171213
btime 1700000000
processes 1234
procs_running 1
procs_blocked 0
softirq 1 2 3
";

    #[test]
    fn stat() {
        let t = parse_stat(STAT).unwrap();
        assert_eq!(t.busy, 4705 + 356 + 584 + 73);
        assert_eq!(t.idle, 3699176 + 2374);
        assert_eq!(t.steal, 11);
        assert_eq!(t.total(), t.busy + 3699176 + 2374 + 11);
        assert_eq!(t.ncpus, 2);
        // An old kernel's four fields.
        let t = parse_stat("cpu 1 2 3 4\ncpu0 1 2 3 4\n").unwrap();
        assert_eq!((t.busy, t.idle, t.steal, t.ncpus), (6, 4, 0, 1));
        assert!(parse_stat("").is_err());
        assert!(parse_stat("cpu 1 2\n").is_err());
        assert!(parse_stat("cpu 1 2 x 4\n").is_err());
        // Lines that only start with "cpu" are not CPUs.
        let t = parse_stat("cpu 1 2 3 4\ncpu0 1 2 3 4\ncpux 1\n").unwrap();
        assert_eq!(t.ncpus, 1);
    }

    #[test]
    fn stat_delta() {
        let a = CpuTimes {
            busy: 10,
            idle: 90,
            steal: 0,
            ncpus: 2,
        };
        let b = CpuTimes {
            busy: 60,
            idle: 230,
            steal: 10,
            ncpus: 2,
        };
        assert_eq!(
            b.since(&a),
            CpuTimes {
                busy: 50,
                idle: 140,
                steal: 10,
                ncpus: 2
            }
        );
        assert_eq!(
            a.since(&b),
            CpuTimes {
                busy: 0,
                idle: 0,
                steal: 0,
                ncpus: 2
            }
        );
    }

    #[test]
    fn window() {
        // 2 s on 2 CPUs at 100 Hz: 400 ticks of capacity. 100 idle, 20
        // steal, but only 200 busy ticks counted (80 lost).
        let w = CpuWindow {
            ticks: CpuTimes {
                busy: 200,
                idle: 100,
                steal: 20,
                ncpus: 2,
            },
            hz: 100,
            wall_us: 2_000_000,
        };
        assert_eq!(w.capacity_us(), 4e6);
        assert_eq!(w.busy_us(), 2e6);
        assert_eq!(w.wall_busy_us(), 2.8e6);
        assert_eq!(w.util(), 200.0 / 320.0);
        assert_eq!(w.accounted(), 0.8);
        // More idle than capacity (rounding): 0, not negative.
        let w = CpuWindow {
            ticks: CpuTimes {
                busy: 0,
                idle: 401,
                steal: 0,
                ncpus: 2,
            },
            ..w
        };
        assert_eq!(w.wall_busy_us(), 0.0);
        assert_eq!(CpuWindow::default().util(), 0.0);
        assert_eq!(CpuWindow::default().busy_us(), 0.0);
        assert_eq!(CpuWindow::default().accounted(), 0.0);
    }

    #[test]
    fn snmp() {
        let text = "\
Ip: Forwarding DefaultTTL InReceives
Ip: 1 64 1000
Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors
Tcp: 1 200 120000 -1 12 3 0 0 2 5512 6233 4 0 7 0
Udp: InDatagrams NoPorts
Udp: 5 6
";
        let want = TcpSegs {
            in_segs: 5512,
            out_segs: 6233,
            retrans_segs: 4,
        };
        assert_eq!(parse_snmp(text), Ok(want));
        assert!(parse_snmp("Ip: a\nIp: 1\n").is_err());
        assert!(parse_snmp("Tcp: InSegs OutSegs\nTcp: 5 6\n").is_err());
        assert!(parse_snmp("Tcp: InSegs OutSegs RetransSegs\nTcp: 5 x 1\n").is_err());
        let a = TcpSegs {
            in_segs: 4,
            out_segs: 10,
            retrans_segs: 1,
        };
        let b = TcpSegs {
            in_segs: 10,
            out_segs: 30,
            retrans_segs: 3,
        };
        assert_eq!(
            b.since(&a),
            TcpSegs {
                in_segs: 6,
                out_segs: 20,
                retrans_segs: 2
            }
        );
    }

    #[test]
    fn live() {
        // The host's own files parse.
        let t = read_stat().unwrap();
        assert!(t.ncpus >= 1 && t.total() >= t.busy);
        read_snmp().unwrap();
        assert!(ticks_per_sec() > 0);
    }
}
