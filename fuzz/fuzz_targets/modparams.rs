//! `MOD.param=` for the modules init loads (`modparams.rs`): `module_of`
//! names a module only for `NAME.PARAM` keys with both parts non-empty
//! and NAME not one of `NOT_MODULES`; `same_name` is an equivalence that
//! reads `-` as `_`; `append` gives exactly the parameters a second
//! reading of the command line finds for the module (after what the
//! buffer held), or `TooLong` — never a cut — and leaves the buffer's
//! start alone either way.
//!
//! Input: byte 0 splits the rest into a module name and a command line
//! (one byte more: the image's own options).
#![no_main]

use libfuzzer_sys::fuzz_target;
use overinit::cmdline::args;
use overinit::modparams::{self, TooLong, NOT_MODULES};

/// What `append` must give, with an unbounded buffer.
fn expected(cmdline: &[u8], name: &[u8], image: &[u8]) -> Vec<u8> {
    let mut out = image.to_vec();
    for (key, value) in args(cmdline) {
        let Some(dot) = key.iter().position(|&b| b == b'.') else { continue };
        let (m, param) = (&key[..dot], &key[dot + 1..]);
        let same = m.len() == name.len() && m.iter().zip(name).all(|(a, b)| a == b || (b"-_".contains(a) && b"-_".contains(b)));
        if m.is_empty() || param.is_empty() || NOT_MODULES.contains(&m) || !same {
            continue;
        }
        if !out.is_empty() {
            out.push(b' ');
        }
        out.extend_from_slice(param);
        if let Some(v) = value {
            let q = v.contains(&b' ') || v.contains(&b'\t');
            out.push(b'=');
            if q {
                out.push(b'"');
            }
            out.extend_from_slice(v);
            if q {
                out.push(b'"');
            }
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else { return };
    let at = usize::from(split).min(rest.len());
    let (name, cmdline) = rest.split_at(at);
    let image = &name[..name.len().min(1)];
    for (key, _) in args(cmdline) {
        if let Some(m) = modparams::module_of(key) {
            assert!(key.starts_with(m) && key.get(m.len()) == Some(&b'.') && key.len() > m.len() + 1);
            assert!(!m.is_empty() && !m.contains(&b'.') && !NOT_MODULES.contains(&m));
            assert!(modparams::same_name(m, m));
        }
        assert_eq!(modparams::same_name(key, name), modparams::same_name(name, key));
    }
    let mut out: heapless::Vec<u8, 64> = heapless::Vec::new();
    out.extend_from_slice(image).unwrap();
    let want = expected(cmdline, name, image);
    match modparams::append(cmdline, name, &mut out) {
        Ok(()) => assert_eq!(&out[..], &want[..]),
        Err(TooLong) => {
            assert!(want.len() > 64, "TooLong for {} bytes", want.len());
            assert!(out.starts_with(image));
        }
    }
});
