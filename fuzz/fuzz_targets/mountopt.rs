//! Mount options (`rootflags=`, `overinit.stateflags=`): `mountopt::split`
//! is total, its data obeys the limits, an error points at an item of the
//! input, and what it returns prints (Display) to a string that splits back
//! to the same flags, propagation and data.
#![no_main]

mod common;

use common::within;
use libfuzzer_sys::fuzz_target;
use overinit::mountopt::{self, ms, OptError};

fuzz_target!(|opts: &[u8]| {
    match mountopt::split(opts) {
        Ok(o) => {
            // Every item was scanned: no NUL, every quote closed.
            assert!(!opts.contains(&0));
            assert_eq!(opts.iter().filter(|&&b| b == b'"').count() % 2, 0);
            assert!(o.data.len() <= mountopt::DATA_MAX);
            assert!(!o.data.contains(&0));
            assert!(!o.data.starts_with(b",") && !o.data.ends_with(b","));
            // Every data item is an item of the input, in order.
            let mut rest = opts;
            for item in o.data.split(|&b| b == b',') {
                if !item.contains(&b'"') {
                    let at = rest.windows(item.len().max(1)).position(|w| w == item);
                    assert!(item.is_empty() || at.is_some(), "data item {item:?} not in the input");
                    if let Some(at) = at {
                        rest = &rest[at + item.len()..];
                    }
                }
            }
            // Propagation is one type, maybe recursive; never in the flags.
            assert_eq!(o.flags & ms::PROPAGATION, 0);
            let p = o.propagation & !ms::REC;
            assert!(o.propagation == 0 || [ms::PRIVATE, ms::SHARED, ms::SLAVE, ms::UNBINDABLE].contains(&p));
            for w in mountopt::words(o.flags, o.propagation) {
                assert!(!w.is_empty());
            }
            // Round trip through the printed form (non-UTF-8 data is shown
            // with U+FFFD, so only UTF-8 data comes back unchanged).
            let text = o.to_string();
            if std::str::from_utf8(&o.data).is_ok() {
                let back = mountopt::split(text.as_bytes()).expect("printed options split again");
                assert_eq!((back.flags, back.propagation), (o.flags, o.propagation), "flags of {text:?}");
                assert_eq!(back.data, o.data, "data of {text:?}");
            }
        }
        Err(e) => {
            assert!(e.at() <= opts.len());
            let item = e.item(opts);
            assert!(within(item, opts));
            assert!(!e.message().is_empty());
            assert!(e.at() == 0 || opts[e.at() - 1] == b',', "an error points at the start of an item");
            match e {
                OptError::Nul { .. } => assert!(item.contains(&0)),
                OptError::UnbalancedQuote { .. } => {
                    assert_eq!(item.iter().filter(|&&b| b == b'"').count() % 2, 1)
                }
                OptError::TooLong { .. } => assert!(opts.len() > mountopt::DATA_MAX),
            }
        }
    }
});
