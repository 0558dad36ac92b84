//! The figures of a run, as one JSON line or as a table for people.

use std::fmt::Write;

use crate::cli::Workload;
use crate::client::RunResult;
use crate::stats::{self, Histogram};

/// The derived figures of a run.
pub struct Figures {
    /// Transactions per second (request/response only).
    pub tps: Option<f64>,
    /// Payload gigabits per second, both directions.
    pub gbps: f64,
    /// Server CPU busy time (busy ticks) in µs per gigabit of payload.
    pub cpu_us_per_gb: Option<f64>,
    /// The same with capacity less idle time (an upper bound under TCG).
    pub cpu_wall_us_per_gb: Option<f64>,
    /// TCP segments (in + out) on the server over the window.
    pub tcp_segs: u64,
    /// Whether the payload evidently went over TCP.
    pub data_over_tcp: bool,
    /// The client machine's CPU utilisation over the window (0 to 1).
    pub client_util: f64,
}

/// Computes the derived figures.
pub fn figures(r: &RunResult) -> Figures {
    let tcp_segs = r.server.tcp.in_segs + r.server.tcp.out_segs;
    let client_util = r.client_cpu.util();
    let rr = matches!(
        r.args.profile.workload,
        Workload::Rr { .. } | Workload::Crr { .. }
    );
    let tps_txns = rr.then_some(r.transactions);
    Figures {
        tps: rr.then(|| stats::per_s(r.transactions, r.secs)),
        gbps: stats::gbit_per_s(r.bytes, r.secs),
        cpu_us_per_gb: stats::us_per_gbit(r.server.cpu.busy_us(), r.bytes),
        cpu_wall_us_per_gb: stats::us_per_gbit(r.server.cpu.wall_busy_us(), r.bytes),
        tcp_segs,
        data_over_tcp: stats::data_over_tcp(tcp_segs, r.bytes, tps_txns),
        client_util,
    }
}

/// A JSON string literal.
fn json_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", u32::from(c));
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// A JSON number with `prec` decimals, or `null`.
fn json_num(v: Option<f64>, prec: usize) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.prec$}"),
        _ => "null".into(),
    }
}

/// Latency percentiles in µs: mean, p50, p90, p99, p99.9, max.
fn latency_us(h: &Histogram) -> Option<[f64; 6]> {
    (h.count() > 0).then(|| {
        let p = |q| h.percentile(q) as f64 / 1e3;
        [
            h.mean() / 1e3,
            p(50.0),
            p(90.0),
            p(99.0),
            p(99.9),
            h.max() as f64 / 1e3,
        ]
    })
}

/// The run as one line of JSON.
pub fn json(r: &RunResult) -> String {
    let f = figures(r);
    let a = &r.args;
    let lat = latency_us(&r.latency);
    let l = |i: usize| json_num(lat.map(|v| v[i]), 1);
    let mut o = String::from("{");
    let mut kv = |k: &str, v: String| {
        if o.len() > 1 {
            o.push(',');
        }
        let _ = write!(o, "{}:{v}", json_str(k));
    };
    kv("tool", json_str("smc-bench"));
    kv(
        "label",
        json_str(a.label.as_deref().unwrap_or(a.family.name())),
    );
    kv("family", json_str(a.family.name()));
    kv("profile", json_str(&a.profile.name));
    kv("conns", a.conns.to_string());
    kv("secs", json_num(Some(r.secs), 3));
    kv("warmup", json_num(Some(a.warmup.as_secs_f64()), 3));
    kv("transactions", r.transactions.to_string());
    kv("tps", json_num(f.tps, 1));
    kv("bytes", r.bytes.to_string());
    kv("gbps", json_num(Some(f.gbps), 4));
    kv("lat_mean_us", l(0));
    kv("lat_p50_us", l(1));
    kv("lat_p90_us", l(2));
    kv("lat_p99_us", l(3));
    kv("lat_p999_us", l(4));
    kv("lat_max_us", l(5));
    let sc = &r.server.cpu;
    kv("cpu_us_per_gb", json_num(f.cpu_us_per_gb, 0));
    kv("cpu_wall_us_per_gb", json_num(f.cpu_wall_us_per_gb, 0));
    kv("srv_cpus", sc.ticks.ncpus.to_string());
    kv("srv_cpu_util", json_num(Some(sc.util()), 4));
    kv("srv_cpu_busy_us", json_num(Some(sc.busy_us()), 0));
    kv("srv_cpu_wall_busy_us", json_num(Some(sc.wall_busy_us()), 0));
    kv("srv_cpu_capacity_us", json_num(Some(sc.capacity_us()), 0));
    kv("srv_cpu_accounted", json_num(Some(sc.accounted()), 4));
    kv("srv_tcp_segs", f.tcp_segs.to_string());
    kv("srv_tcp_retrans", r.server.tcp.retrans_segs.to_string());
    kv("data_over_tcp", f.data_over_tcp.to_string());
    kv("cli_cpus", r.client_cpu.ticks.ncpus.to_string());
    kv("cli_cpu_util", json_num(Some(f.client_util), 4));
    kv(
        "cli_cpu_accounted",
        json_num(Some(r.client_cpu.accounted()), 4),
    );
    o.push('}');
    o
}

/// The run as a small table.
pub fn table(r: &RunResult) -> String {
    let f = figures(r);
    let a = &r.args;
    let mut o = String::new();
    let label = match &a.label {
        Some(l) => format!(" ({l})"),
        None => String::new(),
    };
    let _ = writeln!(
        o,
        "smc-bench: {} over {}{label}, {} connection(s), {:.2} s measured after {:.1} s warm-up",
        a.profile,
        a.family.name(),
        a.conns,
        r.secs,
        a.warmup.as_secs_f64()
    );
    let mut row = |k: &str, v: String| {
        let _ = writeln!(o, "  {k:<22} {v}");
    };
    if let Some(tps) = f.tps {
        row(
            "transactions/s",
            format!("{tps:.1} ({} in the window)", r.transactions),
        );
    }
    row(
        "throughput (payload)",
        format!("{:.4} Gb/s ({:.1} MB)", f.gbps, r.bytes as f64 / 1e6),
    );
    if let Some(l) = latency_us(&r.latency) {
        row(
            "latency (µs)",
            format!(
                "mean {:.1}  p50 {:.1}  p90 {:.1}  p99 {:.1}  p99.9 {:.1}  max {:.1}",
                l[0], l[1], l[2], l[3], l[4], l[5]
            ),
        );
    }
    let sc = &r.server.cpu;
    row(
        "server CPU",
        format!(
            "{:.1}% of {} CPU(s): {} µs per Gb",
            sc.util() * 100.0,
            sc.ticks.ncpus,
            json_num(f.cpu_us_per_gb, 0),
        ),
    );
    row(
        "  upper bound",
        format!(
            "{} µs per Gb (ticks covered {:.0}% of the window)",
            json_num(f.cpu_wall_us_per_gb, 0),
            sc.accounted() * 100.0
        ),
    );
    row(
        "client CPU",
        format!(
            "{:.1}% of {} CPU(s)",
            f.client_util * 100.0,
            r.client_cpu.ticks.ncpus
        ),
    );
    row(
        "server TCP segments",
        format!(
            "{} in+out, {} retransmitted: the payload {} over TCP",
            f.tcp_segs,
            r.server.tcp.retrans_segs,
            if f.data_over_tcp {
                "went"
            } else {
                "did not go"
            }
        ),
    );
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{ClientArgs, Family, Profile};
    use crate::procfs::{CpuTimes, CpuWindow, TcpSegs};
    use crate::proto::ServerWindow;
    use std::time::Duration;

    fn result() -> RunResult {
        let mut latency = Histogram::new();
        for _ in 0..1000 {
            latency.record(500_000);
        }
        RunResult {
            args: ClientArgs {
                addr: std::net::Ipv4Addr::LOCALHOST,
                port: 1,
                ctl_port: 2,
                family: Family::Tcp,
                profile: Profile::parse("rr1c-200x1000").unwrap(),
                conns: 1,
                secs: Duration::from_secs(2),
                warmup: Duration::from_secs(1),
                wait: Duration::from_secs(1),
                label: Some("a\"b".into()),
                json: true,
            },
            secs: 2.0,
            transactions: 1000,
            bytes: 1000 * 1200,
            latency,
            // Server: 0.6 s busy by ticks, 0.7 s by capacity less idle.
            server: ServerWindow {
                cpu: CpuWindow {
                    ticks: CpuTimes {
                        busy: 60,
                        idle: 330,
                        steal: 0,
                        ncpus: 2,
                    },
                    hz: 100,
                    wall_us: 2_000_000,
                },
                tcp: TcpSegs {
                    in_segs: 1000,
                    out_segs: 1000,
                    retrans_segs: 3,
                },
            },
            client_cpu: CpuWindow {
                ticks: CpuTimes {
                    busy: 100,
                    idle: 300,
                    steal: 0,
                    ncpus: 2,
                },
                hz: 100,
                wall_us: 2_000_000,
            },
        }
    }

    #[test]
    fn derived() {
        let f = figures(&result());
        assert_eq!(f.tps, Some(500.0));
        assert!((f.gbps - 0.0048).abs() < 1e-12);
        // 0.6 s of CPU for 9.6 Mb: 62500 µs per Gb.
        assert!((f.cpu_us_per_gb.unwrap() - 62_500_000.0).abs() < 1e-3);
        assert!(f.data_over_tcp);
        assert_eq!(f.client_util, 0.25);
    }

    #[test]
    fn json_line() {
        let j = json(&result());
        assert!(
            j.starts_with("{\"tool\":\"smc-bench\",\"label\":\"a\\\"b\",\"family\":\"tcp\""),
            "{j}"
        );
        assert!(j.contains("\"tps\":500.0,"), "{j}");
        assert!(j.contains("\"lat_p50_us\":500.0,"), "{j}");
        assert!(j.contains("\"data_over_tcp\":true,"), "{j}");
        assert!(j.contains("\"srv_cpu_wall_busy_us\":700000,"), "{j}");
        assert!(j.contains("\"srv_cpu_accounted\":0.9750,"), "{j}");
        assert!(j.contains("\"srv_tcp_retrans\":3,"), "{j}");
        assert!(!j.contains('\n'));
        assert_eq!(json_str("x\ny"), "\"x\\u000ay\"");
        assert_eq!(json_num(Some(f64::NAN), 1), "null");
        assert_eq!(json_num(None, 1), "null");
        let t = table(&result());
        assert!(t.contains("transactions/s"), "{t}");
    }
}
