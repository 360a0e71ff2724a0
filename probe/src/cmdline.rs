//! The probe's own keys on the kernel command line (`probe.*`).
//!
//! Pure: takes the text of `/proc/cmdline`, never panics. Tokens split on
//! whitespace outside double quotes and quotes are dropped (the kernel's
//! `next_arg()` in lib/cmdline.c, simplified); `--` ends the kernel's part.

/// What `probe.*` asked for. Lists keep command-line order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ProbeArgs {
    /// `probe.check=a,b`: check names, in order.
    pub checks: Vec<String>,
    /// `probe.read=PATH,…`
    pub read: Vec<String>,
    /// `probe.write=PATH,…`
    pub write: Vec<String>,
    /// `probe.size=SIZE`: expected `size=` of the /data/system tmpfs.
    pub size: Option<String>,
    /// `probe.hold=1`: stay alive instead of powering off.
    pub hold: bool,
    /// `probe.fill=PATH,…`: write each file until a write fails.
    pub fill: Vec<String>,
    /// `probe.*` keys (with their values) the probe does not know.
    pub unknown: Vec<String>,
    /// The kernel's `root=` (what the end state's lower layer must be).
    pub root: Option<String>,
}

/// Splits the command line into tokens, kernel style.
pub fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_token = false;
    let mut in_quote = false;
    for c in text.chars() {
        match c {
            '"' => {
                in_quote = !in_quote;
                in_token = true;
            }
            c if c.is_whitespace() && !in_quote => {
                if in_token {
                    out.push(std::mem::take(&mut cur));
                    in_token = false;
                }
            }
            c => {
                cur.push(c);
                in_token = true;
            }
        }
    }
    if in_token {
        out.push(cur); // end of input without a trailing newline
    }
    out
}

fn list(value: &str) -> Vec<String> {
    value.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// Extracts the `probe.*` keys; the last occurrence of a key wins.
pub fn parse(text: &str) -> ProbeArgs {
    let mut a = ProbeArgs::default();
    for tok in tokens(text) {
        if tok == "--" {
            break; // the rest belongs to the real init
        }
        if let Some(root) = tok.strip_prefix("root=") {
            a.root = Some(root.to_string());
        }
        let Some(rest) = tok.strip_prefix("probe.") else {
            continue;
        };
        let (key, value) = rest.split_once('=').unwrap_or((rest, ""));
        match key {
            "check" => a.checks = list(value),
            "read" => a.read = list(value),
            "write" => a.write = list(value),
            "size" => a.size = (!value.is_empty()).then(|| value.to_string()),
            "hold" => a.hold = matches!(value, "" | "1" | "y" | "yes" | "true"),
            "fill" => a.fill = list(value),
            _ => a.unknown.push(tok.clone()),
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_every_key() {
        let a = parse(
            "console=ttyS0 probe.check=endstate,unshare,pid1 root=/dev/vda \
             probe.write=/etc/marker,/home/marker probe.read=/home/marker \
             probe.size=1048576k probe.hold=1 probe.fill=/big\n",
        );
        assert_eq!(
            a,
            ProbeArgs {
                checks: vec!["endstate".into(), "unshare".into(), "pid1".into()],
                read: vec!["/home/marker".into()],
                write: vec!["/etc/marker".into(), "/home/marker".into()],
                size: Some("1048576k".into()),
                hold: true,
                fill: vec!["/big".into()],
                unknown: vec![],
                root: Some("/dev/vda".into()),
            }
        );
    }

    #[test]
    fn last_token_without_newline_is_kept() {
        assert_eq!(parse("quiet probe.check=pid1").checks, vec!["pid1"]);
        assert_eq!(tokens("a b"), vec!["a", "b"]);
    }

    #[test]
    fn last_duplicate_wins_and_empty_items_drop() {
        let a = parse("probe.check=pid1 probe.check=meminfo,,unshare,");
        assert_eq!(a.checks, vec!["meminfo", "unshare"]);
    }

    #[test]
    fn quotes_group_and_vanish() {
        assert_eq!(tokens(r#"a="b c" "d=e f" g"#), vec!["a=b c", "d=e f", "g"]);
        assert_eq!(parse(r#""probe.read=/a b""#).read, vec!["/a b"]);
    }

    #[test]
    fn stops_at_double_dash() {
        let a = parse("probe.check=pid1 -- probe.check=unshare single");
        assert_eq!(a.checks, vec!["pid1"]);
    }

    #[test]
    fn unknown_keys_and_others_ignored() {
        let a = parse("overinit.state=/dev/vdb probe.bogus=1 probe.hold=0 probe probe.");
        assert_eq!(a.unknown, vec!["probe.bogus=1", "probe."]);
        assert!(!a.hold);
        assert_eq!(a.checks, Vec::<String>::new());
    }

    #[test]
    fn empty_and_odd_inputs() {
        assert_eq!(parse(""), ProbeArgs::default());
        assert_eq!(parse("   \n\t"), ProbeArgs::default());
        assert_eq!(tokens("\"unterminated"), vec!["unterminated"]);
        assert_eq!(parse("probe.size=").size, None);
        assert!(parse("probe.hold").hold);
    }
}
