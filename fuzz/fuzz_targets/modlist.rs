//! The image's module list: `modlist::entries` is total and agrees with a
//! line-by-line reading of the format its module doc describes — one entry
//! (or one error) per line that is neither blank nor a `#` comment, in
//! order, with the right line number; the path is the first word, the
//! parameters the rest, trimmed; blank lines between modules start a new
//! group (several count as one; none before the first module).
#![no_main]

mod common;

use common::within;
use libfuzzer_sys::fuzz_target;
use overinit::modlist::{self, EntryError};

fn trim(s: &[u8]) -> &[u8] {
    let ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\r');
    let start = s.iter().position(|b| !ws(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|b| !ws(b)).map_or(start, |i| i + 1);
    &s[start..end.max(start)]
}

fuzz_target!(|list: &[u8]| {
    let mut it = modlist::entries(list);
    let (mut group, mut seen, mut gap) = (0, false, false);
    for (n, raw) in list.split(|&b| b == b'\n').enumerate() {
        let line = n + 1;
        let text = trim(raw);
        if text.is_empty() {
            gap |= seen;
            continue;
        }
        if text[0] == b'#' {
            continue;
        }
        if gap {
            group += 1;
            gap = false;
        }
        seen = true;
        let word = text.iter().position(|&b| b == b' ' || b == b'\t').unwrap_or(text.len());
        let (path, params) = (&text[..word], trim(&text[word..]));
        match it.next() {
            None => panic!("line {line} has no entry"),
            Some(Ok(e)) => {
                assert_eq!((e.line, e.group), (line, group));
                assert_eq!((e.path, e.params), (path, params));
                assert!(within(e.path, list) && within(e.params, list));
                assert!(e.path.starts_with(b"/") && e.path.len() <= modlist::PATH_MAX);
                assert!(e.params.len() <= modlist::PARAMS_MAX);
                assert!(!e.path.contains(&0) && !e.params.contains(&0));
                let name = modlist::name(e.path);
                assert!(within(name, list) && !name.contains(&b'/'));
            }
            Some(Err((l, err))) => {
                assert_eq!(l, line);
                assert!(!err.message().is_empty());
                let want = if text.contains(&0) {
                    EntryError::Nul
                } else if path.len() > modlist::PATH_MAX {
                    EntryError::PathTooLong
                } else if params.len() > modlist::PARAMS_MAX {
                    EntryError::ParamsTooLong
                } else {
                    EntryError::NotAbsolute
                };
                assert_eq!(err, want, "line {line}");
            }
        }
    }
    assert!(it.next().is_none(), "an entry beyond the last line");
});
