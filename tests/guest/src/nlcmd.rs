//! `smctest`'s tools for the C smc module's generic netlink interface
//! (`include/uapi/linux/smc.h`), on top of the `smc-netlink` crate
//! (tools/smc-netlink): the `SMC_GEN_NETLINK` family (system info,
//! statistics, SMC-D devices and link groups, user EIDs) and the
//! `SMC_PNETID` family (the PNET table).
//!
//! Output is one `key value` pair per line (`key` without spaces), so shell
//! tests can pick values with `awk '$1 == "smcd_clnt_v2_succ" { print $2 }'`.
//! The fallback reasons are `fback_srv 0xCODE COUNT NAME` and
//! `fback_clnt 0xCODE COUNT NAME`.

use smc_netlink::netlink::NlError;
use smc_netlink::pnet::{self, Pnet, PnetTarget, SMC_MAX_PNETID_LEN};
use smc_netlink::smc::{
    format_delta, format_devices, format_lgrs, format_lines, format_sys_info, pad_eid, parse_fback,
    parse_hs_limitation, parse_lines, parse_seid_enabled, parse_stats, parse_ueids, Smc,
    SMC_NETLINK_DISABLE_HS_LIMITATION, SMC_NETLINK_DISABLE_SEID, SMC_NETLINK_DUMP_HS_LIMITATION,
    SMC_NETLINK_DUMP_SEID, SMC_NETLINK_ENABLE_HS_LIMITATION, SMC_NETLINK_ENABLE_SEID,
    SMC_NETLINK_DUMP_UEID, SMC_NETLINK_GET_DEV_SMCD, SMC_NETLINK_GET_FBACK_STATS,
    SMC_NETLINK_GET_LGR_SMCD, SMC_NETLINK_GET_STATS, SMC_NETLINK_GET_SYS_INFO,
};

/// `smctest hslimit [on|off]`: the handshake limitation switch
/// (`SMC_NETLINK_*_HS_LIMITATION`), printed as `hs_limitation 0|1`.
pub fn hslimit(op: Option<&str>) -> Result<(), String> {
    let mut g = Smc::open()?;
    match op {
        None => {
            let msgs = g.dump(SMC_NETLINK_DUMP_HS_LIMITATION).map_err(nl_err("DUMP_HS_LIMITATION"))?;
            println!("hs_limitation {}", parse_hs_limitation(&msgs));
            Ok(())
        }
        Some("on") => g.simple(SMC_NETLINK_ENABLE_HS_LIMITATION).map_err(nl_err("ENABLE_HS_LIMITATION")),
        Some("off") => g.simple(SMC_NETLINK_DISABLE_HS_LIMITATION).map_err(nl_err("DISABLE_HS_LIMITATION")),
        Some(x) => Err(format!("hslimit: {x}? (on|off)")),
    }
}

/// `smctest seid on|off`: `SMC_NETLINK_ENABLE_SEID`/`DISABLE_SEID`.
pub fn seid(op: &str) -> Result<(), String> {
    let mut g = Smc::open()?;
    match op {
        "on" => g.simple(SMC_NETLINK_ENABLE_SEID).map_err(nl_err("ENABLE_SEID")),
        "off" => g.simple(SMC_NETLINK_DISABLE_SEID).map_err(nl_err("DISABLE_SEID")),
        x => Err(format!("seid: {x}? (on|off)")),
    }
}

fn nl_err(what: &str) -> impl Fn(NlError) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// `smctest stats [--all] [--since FILE]`.
pub fn stats(all: bool, since: Option<&str>) -> Result<(), String> {
    let mut g = Smc::open()?;
    let msgs = g.dump(SMC_NETLINK_GET_STATS).map_err(nl_err("GET_STATS"))?;
    let mut lines = parse_stats(&msgs, all)?;
    let msgs = g
        .dump(SMC_NETLINK_GET_FBACK_STATS)
        .map_err(nl_err("GET_FBACK_STATS"))?;
    lines.extend(parse_fback(&msgs));
    match since {
        None => print!("{}", format_lines(&lines)),
        Some(file) => {
            let old = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
            print!("{}", format_delta(&lines, &parse_lines(&old)));
        }
    }
    Ok(())
}

/// `smctest sysinfo`.
pub fn sysinfo() -> Result<(), String> {
    let mut g = Smc::open()?;
    let msgs = g
        .dump(SMC_NETLINK_GET_SYS_INFO)
        .map_err(nl_err("GET_SYS_INFO"))?;
    print!("{}", format_sys_info(&msgs));
    let msgs = g.dump(SMC_NETLINK_DUMP_SEID).map_err(nl_err("DUMP_SEID"))?;
    println!("seid_enabled {}", parse_seid_enabled(&msgs));
    Ok(())
}

/// `smctest devices`. (The C smc does not list the loopback device here.)
pub fn devices() -> Result<(), String> {
    let mut g = Smc::open()?;
    let msgs = g
        .dump(SMC_NETLINK_GET_DEV_SMCD)
        .map_err(nl_err("GET_DEV_SMCD"))?;
    print!("{}", format_devices(&msgs));
    Ok(())
}

/// `smctest linkgroups`.
pub fn linkgroups() -> Result<(), String> {
    let mut g = Smc::open()?;
    let msgs = g
        .dump(SMC_NETLINK_GET_LGR_SMCD)
        .map_err(nl_err("GET_LGR_SMCD"))?;
    print!("{}", format_lgrs(&msgs));
    Ok(())
}

const UEID_USAGE: &str = "usage: smctest ueid add|del EID | flush | list";
const PNET_USAGE: &str = "usage: smctest pnet add PNETID NAME|--eth NAME|--ib NAME [--ib-port N] \
     | del PNETID | get PNETID | flush | list | count | add-many N";

/// `smctest ueid add|del EID`, `ueid flush`, `ueid list`.
pub fn ueid(op: &str, eid: Option<&str>) -> Result<(), String> {
    if !matches!(
        (op, eid),
        ("add" | "del", Some(_)) | ("flush" | "list", None)
    ) {
        return Err(UEID_USAGE.into());
    }
    let mut g = Smc::open()?;
    match (op, eid) {
        ("add" | "del", Some(eid)) => {
            let padded = pad_eid(eid)?;
            if op == "add" {
                g.add_ueid(&padded)
            } else {
                g.remove_ueid(&padded)
            }
            .map_err(nl_err(&format!("ueid {op} {}", padded.trim_end())))?;
        }
        ("flush", None) => {
            g.flush_ueid().map_err(nl_err("ueid flush"))?;
        }
        ("list", None) => {
            let msgs = g.dump(SMC_NETLINK_DUMP_UEID).map_err(nl_err("DUMP_UEID"))?;
            for e in parse_ueids(&msgs) {
                println!("ueid {e}");
            }
        }
        _ => return Err(UEID_USAGE.into()),
    }
    Ok(())
}

/// `smctest pnet add PNETID ...`, `pnet del PNETID`, `pnet flush`, `pnet list`.
pub fn pnet(op: &str, pnetid: Option<&str>, target: &PnetTarget) -> Result<(), String> {
    if !matches!(
        (op, pnetid),
        ("add" | "del" | "get" | "add-many", Some(_)) | ("flush" | "list" | "count", None)
    ) {
        return Err(PNET_USAGE.into());
    }
    if let ("add", Some(id)) = (op, pnetid) {
        if id.is_empty() || id.len() > SMC_MAX_PNETID_LEN {
            return Err(format!("a PNETID has 1 to {SMC_MAX_PNETID_LEN} characters"));
        }
        if target.eth.is_none() && target.ib.is_none() {
            return Err("pnet add: name a device (NAME, --eth NAME or --ib NAME)".into());
        }
    }
    let mut g = Pnet::open()?;
    match (op, pnetid) {
        ("add", Some(id)) => {
            g.add(id, target)
                .map_err(nl_err(&format!("pnet add {id}")))?;
        }
        ("del", Some(id)) => {
            g.del(id).map_err(nl_err(&format!("pnet del {id}")))?;
        }
        ("flush", None) => {
            g.flush().map_err(nl_err("pnet flush"))?;
        }
        ("list", None) => {
            let msgs = g.dump().map_err(nl_err("pnet list"))?;
            print!("{}", pnet::format_entries(&msgs));
        }
        ("get", Some(id)) => {
            let msgs = g.get(id).map_err(nl_err(&format!("pnet get {id}")))?;
            print!("{}", pnet::format_entries(&msgs));
        }
        // A dump's length: a table too big for one part comes in several.
        ("count", None) => {
            let msgs = g.dump().map_err(nl_err("pnet count"))?;
            println!("pnet_entries {}", msgs.len());
        }
        ("add-many", Some(n)) => {
            let n: u32 = n.parse().map_err(|_| format!("pnet add-many: not a number: {n}"))?;
            for i in 0..n {
                let t = PnetTarget { eth: Some(format!("e{i}")), ..Default::default() };
                g.add(&format!("PN{i}"), &t)
                    .map_err(nl_err(&format!("pnet add PN{i}")))?;
            }
        }
        _ => return Err(PNET_USAGE.into()),
    }
    Ok(())
}
