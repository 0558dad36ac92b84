//! A small command line parser: positional words, `--name value`,
//! `--name=value` and flags.

use std::collections::BTreeMap;

pub struct Args {
    pub pos: Vec<String>,
    opts: BTreeMap<String, String>,
    flags: Vec<String>,
}

impl Args {
    /// Parses `argv`; the names in `flags` take no value.
    pub fn parse(argv: &[String], flags: &[&str]) -> Result<Args, String> {
        let mut a = Args {
            pos: Vec::new(),
            opts: BTreeMap::new(),
            flags: Vec::new(),
        };
        let mut it = argv.iter();
        while let Some(w) = it.next() {
            if let Some(name) = w.strip_prefix("--") {
                if let Some((n, v)) = name.split_once('=') {
                    a.opts.insert(n.to_string(), v.to_string());
                } else if flags.contains(&name) {
                    a.flags.push(name.to_string());
                } else {
                    let v = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
                    a.opts.insert(name.to_string(), v.clone());
                }
            } else {
                a.pos.push(w.clone());
            }
        }
        Ok(a)
    }

    /// Takes the option `name` (so that [`Args::finish`] knows it was used).
    pub fn opt(&mut self, name: &str) -> Option<String> {
        self.opts.remove(name)
    }

    /// Takes the option `name` and parses it with `f`.
    pub fn opt_with<T>(
        &mut self,
        name: &str,
        f: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<T>, String> {
        match self.opts.remove(name) {
            None => Ok(None),
            Some(v) => f(&v).map(Some).map_err(|e| format!("--{name} {v}: {e}")),
        }
    }

    pub fn flag(&mut self, name: &str) -> bool {
        let had = self.flags.iter().any(|f| f == name);
        self.flags.retain(|f| f != name);
        had
    }

    /// Fails if an option or flag was given that nobody took.
    pub fn finish(&self) -> Result<(), String> {
        if let Some(k) = self.opts.keys().next() {
            return Err(format!("unknown option --{k}"));
        }
        if let Some(f) = self.flags.first() {
            return Err(format!("--{f} is not an option here"));
        }
        Ok(())
    }
}

/// A byte count: digits with an optional binary suffix K, M or G
/// (`KiB`, `MiB`, `GiB` too), e.g. `4M` = 4194304.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix('B'))
        .unwrap_or(t);
    let (num, mult) = match t.chars().last() {
        Some('k' | 'K') => (&t[..t.len() - 1], 1u64 << 10),
        Some('m' | 'M') => (&t[..t.len() - 1], 1 << 20),
        Some('g' | 'G') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    let n: u64 = num.parse().map_err(|_| format!("not a size: {s}"))?;
    n.checked_mul(mult)
        .ok_or_else(|| format!("size too large: {s}"))
}

pub fn parse_num<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    s.parse().map_err(|_| format!("not a number: {s}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn options_and_flags() {
        let mut a = Args::parse(
            &v("server --port 5 --bytes=4M -x --verbose pos"),
            &["verbose"],
        )
        .unwrap();
        assert_eq!(a.pos, vec!["server", "-x", "pos"]);
        assert_eq!(a.opt("port").as_deref(), Some("5"));
        assert_eq!(a.opt_with("bytes", parse_size).unwrap(), Some(4 << 20));
        assert!(a.flag("verbose"));
        assert!(!a.flag("verbose"));
        assert!(a.finish().is_ok());
        let a = Args::parse(&v("--what 1"), &[]).unwrap();
        assert_eq!(a.finish().unwrap_err(), "unknown option --what");
        assert!(Args::parse(&v("--port"), &[]).is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1000").unwrap(), 1000);
        assert_eq!(parse_size("64K").unwrap(), 65536);
        assert_eq!(parse_size("4MiB").unwrap(), 4 << 20);
        assert_eq!(parse_size("2g").unwrap(), 2 << 30);
        assert_eq!(parse_size("0").unwrap(), 0);
        assert!(parse_size("M").is_err());
        assert!(parse_size("1.5M").is_err());
        assert!(parse_size("99999999999999G").is_err());
    }
}
