// SPDX-License-Identifier: GPL-2.0

//! PNET IDs (physical network identifiers) and the pnet table's rules, as C's
//! `net/smc/smc_pnet.c` has them: which names are valid, how two IDs compare,
//! how device names match an entry, and when adding an entry succeeds.

/// The longest PNET ID (C: `SMC_MAX_PNETID_LEN`).
pub const PNETID_LEN: usize = 16;

/// A PNET ID as the table keeps it: upper case, padded with NULs.
pub type PnetId = [u8; PNETID_LEN];

/// The longest network interface name the table keeps (C: `IFNAMSIZ - 1`, the
/// `SMC_PNETID_ETHNAME` policy).
pub const ETHNAME_LEN: usize = 15;

/// The longest device name the table keeps for an IB or ISM device (C:
/// `IB_DEVICE_NAME_MAX - 1`, the `SMC_PNETID_IBNAME` policy).
pub const IBNAME_LEN: usize = 63;

/// The highest IB port (C: `SMC_MAX_PORTS`).
pub const MAX_PORTS: u8 = 2;

/// The bytes of a netlink string attribute up to its first NUL.
pub fn nul_terminated(s: &[u8]) -> &[u8] {
    let end = s.iter().position(|&b| b == 0).unwrap_or(s.len());
    s.get(..end).unwrap_or(s)
}

/// `isspace()` of the kernel's `ctype`.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// A name without the white space around it (C: `strim()`).
pub fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_space(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|&b| !is_space(b)).map_or(start, |e| e.saturating_add(1));
    s.get(start..end.max(start)).unwrap_or(&[])
}

/// The PNET ID a user gave as `name`, if valid (C: `smc_pnetid_valid()`): 1 to
/// 16 letters and digits once surrounding blanks are gone, stored upper case.
pub fn parse_pnetid(name: &[u8]) -> Option<PnetId> {
    let s = trim(nul_terminated(name));
    if s.is_empty() || s.len() > PNETID_LEN || !s.iter().all(u8::is_ascii_alphanumeric) {
        return None;
    }
    let mut id = [0u8; PNETID_LEN];
    for (d, c) in id.iter_mut().zip(s) {
        *d = c.to_ascii_uppercase();
    }
    Some(id)
}

/// Whether a PNET ID is set (C: `smc_pnet_is_pnetid_set()`): its first byte
/// is neither NUL nor a blank.
pub fn is_set(id: &[u8]) -> bool {
    !matches!(id.first(), None | Some(0) | Some(b' '))
}

/// Whether two PNET IDs are the same (C: `smc_pnet_match()`): byte for byte up
/// to the first position where both end (a NUL or a blank), over at most 16
/// bytes. Bytes past a slice's end count as NUL.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    let at = |s: &[u8], i: usize| s.get(i).copied().unwrap_or(0);
    let ends = |c: u8| c == 0 || c == b' ';
    for i in 0..PNETID_LEN {
        let (x, y) = (at(a, i), at(b, i));
        if ends(x) && ends(y) {
            break;
        }
        if x != y {
            return false;
        }
    }
    true
}

/// Whether an entry's device name names a device (C: `strncmp()`, the names
/// being shorter than its bound): `name` is the entry's, `dev` the device's
/// own name or its parent's.
pub fn names_match(name: &[u8], dev: &[u8]) -> bool {
    nul_terminated(name) == nul_terminated(dev)
}

/// A fixed-size copy of a name (NUL-padded, cut at `N - 1` bytes so that a
/// NUL always ends it).
pub fn fixed<const N: usize>(s: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    let s = nul_terminated(s);
    let n = s.len().min(N.saturating_sub(1));
    if let (Some(d), Some(src)) = (out.get_mut(..n), s.get(..n)) {
        d.copy_from_slice(src);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> PnetId {
        fixed::<PNETID_LEN>(s.as_bytes())
    }

    #[test]
    fn valid_ids_are_upper_cased_and_trimmed() {
        assert_eq!(parse_pnetid(b"net1\0"), Some(id("NET1")));
        assert_eq!(parse_pnetid(b"  Abc9 \0"), Some(id("ABC9")));
        assert_eq!(parse_pnetid(b"ABCDEFGHIJKLMNOP"), Some(*b"ABCDEFGHIJKLMNOP"));
    }

    #[test]
    fn invalid_ids_are_refused() {
        assert_eq!(parse_pnetid(b""), None);
        assert_eq!(parse_pnetid(b"   \0"), None);
        assert_eq!(parse_pnetid(b"ABCDEFGHIJKLMNOPQ"), None);
        assert_eq!(parse_pnetid(b"a b"), None);
        assert_eq!(parse_pnetid(b"net-1"), None);
        assert_eq!(parse_pnetid(b"n\xe4t"), None);
    }

    #[test]
    fn matching_stops_where_both_end() {
        assert!(same(b"NET1", b"NET1\0\0"));
        assert!(same(b"NET1 ", b"NET1\0"));
        assert!(!same(b"NET1", b"NET2"));
        assert!(!same(b"NET1", b"NET12"));
        assert!(!same(b"net1", b"NET1"));
        assert!(same(b"", b""));
        assert!(same(b"ABCDEFGHIJKLMNOPQ", b"ABCDEFGHIJKLMNOPR"));
    }

    #[test]
    fn set_means_a_first_byte() {
        assert!(is_set(b"A"));
        assert!(!is_set(b"\0A"));
        assert!(!is_set(b" A"));
        assert!(!is_set(b""));
    }

    #[test]
    fn trim_and_names() {
        assert_eq!(trim(b"  lo \n"), b"lo");
        assert_eq!(trim(b"   "), b"");
        assert!(names_match(b"lo\0\0", b"lo"));
        assert!(!names_match(b"lo", b"lo0"));
        assert!(names_match(b"0000:00:04.0", b"0000:00:04.0\0"));
        assert_eq!(fixed::<4>(b"abcdef"), *b"abc\0");
    }
}
