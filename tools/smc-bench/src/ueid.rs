//! `smc-bench ueid add EID`: sets a user EID in the kernel's C smc over
//! generic netlink (`SMC_GEN_NETLINK`, `SMC_NETLINK_ADD_UEID`), as
//! smc-tools' `smcd ueid add` does. On x86 the C smc proposes SMC-D v2 only
//! with a user EID, and both peers need the same one. The benchmark's VM
//! script uses this when `smctest ueid` (tests/guest) is not there. The
//! netlink client is the `smc-netlink` crate (tools/smc-netlink).

use smc_netlink::netlink::{errname, OpenError, NLM_F_REQUEST};
use smc_netlink::smc::{pad_eid, ueid_valid, Smc, SMC_MAX_EID_LEN};

/// The EID as the kernel wants it: upper-case letters, digits, `.` and
/// `-`, starting with a letter or digit, at most 32 characters, padded
/// with blanks to 32 (the request adds the NUL: 33 bytes).
pub fn encode_eid(eid: &str) -> Result<String, String> {
    if !ueid_valid(eid) {
        return Err(format!(
            "bad EID {eid:?}: 1 to {SMC_MAX_EID_LEN} upper-case letters, digits, '.' or '-', starting with a letter or digit"
        ));
    }
    pad_eid(eid)
}

/// Adds user EID `eid` to the C smc's table. Ok(true) if added, Ok(false)
/// if it was already there.
pub fn add(eid: &str) -> Result<bool, String> {
    let entry = encode_eid(eid)?;
    // The family is resolved without NLM_F_ACK: nlctrl answers with the
    // family alone.
    let mut nl = Smc::open_with(NLM_F_REQUEST).map_err(|e| match e {
        OpenError::Socket(m) => m,
        OpenError::Resolve { name, err } => format!(
            "generic netlink family {name}: {} (is the smc module loaded?)",
            errname(err.errno)
        ),
        OpenError::NoId { name } => {
            format!("generic netlink family {name}: no id in the reply (is the smc module loaded?)")
        }
    })?;
    match nl.add_ueid(&entry) {
        Ok(()) => Ok(true),
        Err(e) if e.errno == libc::EEXIST => Ok(false),
        Err(e) => Err(format!("SMC_NETLINK_ADD_UEID {eid}: {}", errname(e.errno))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eids() {
        let e = encode_eid("SMC-RS.BENCH1").unwrap();
        assert_eq!(e.len(), 32);
        assert_eq!(&e[..13], "SMC-RS.BENCH1");
        assert!(e[13..].bytes().all(|c| c == b' '));
        assert!(encode_eid(&"A".repeat(32)).is_ok());
        for bad in ["", "-A", ".A", "lower", "A B", "A_B", &"A".repeat(33)] {
            assert!(encode_eid(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            encode_eid("lower"),
            Err("bad EID \"lower\": 1 to 32 upper-case letters, digits, '.' or '-', starting with a letter or digit".into())
        );
    }
}
