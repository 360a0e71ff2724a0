//! Device specs (`root=`, `overinit.state=`, layers): `DevSpec::parse` is
//! total, what it returns borrows from the input and respects the limits,
//! and `render` writes text that parses back to the same spec (a hex
//! `dev_t` comes back as `MAJ:MIN`, a `/dev/disk/by-*` path as its tag).
#![no_main]

mod common;

use common::within;
use libfuzzer_sys::fuzz_target;
use overinit::devspec::{self, DevSpec, DevSpecError, Tag};
use overinit::superblock::{FsInfo, Id, Label};

fuzz_target!(|spec: &[u8]| {
    match DevSpec::parse(spec) {
        Ok(d) => {
            assert!(!spec.is_empty() && !spec.contains(&0));
            let (value, tag) = match d {
                DevSpec::Path(v) => (v, Tag::Path),
                DevSpec::Uuid(v) => (v, Tag::Uuid),
                DevSpec::Label(v) => (v, Tag::Label),
                DevSpec::PartUuid(v) => (v, Tag::PartUuid),
                DevSpec::PartUuidOffset(v, off) => {
                    assert_ne!(off, 0);
                    (v, Tag::PartUuid)
                }
                DevSpec::PartLabel(v) => (v, Tag::PartLabel),
                DevSpec::MajMin(maj, min) => {
                    assert!(maj < 1 << 12 && min < 1 << 20 && (maj, min) != (0, 0));
                    (&b"x"[..], Tag::Path)
                }
            };
            if !matches!(d, DevSpec::MajMin(..)) {
                assert!(within(value, spec), "{d:?} does not borrow from the input");
                assert!(!value.is_empty() && value.len() <= tag.max_len());
            }
            if let DevSpec::Path(p) = d {
                assert!(p.starts_with(b"/dev/") && p.len() > 5 && p.len() <= devspec::PATH_MAX);
            }
            if let DevSpec::PartUuid(v) | DevSpec::PartUuidOffset(v, _) = d {
                assert!(!v.contains(&b'/'));
            }
            assert_eq!(
                d.is_partition_spec(),
                matches!(d, DevSpec::PartUuid(_) | DevSpec::PartUuidOffset(..) | DevSpec::PartLabel(_))
            );
            // Round trip through the rendered text.
            let mut text = Vec::new();
            d.render(|b| text.extend_from_slice(b));
            assert_eq!(DevSpec::parse(&text), Ok(d), "render gave {text:?}");
            // A UUID or label matches the filesystem that carries it
            // (UUIDs ignoring ASCII case), and nothing else.
            let fs = |uuid: &[u8], label: &[u8]| FsInfo {
                fstype: "ext4",
                uuid: core::str::from_utf8(uuid).ok().and_then(|u| Id::try_from(u).ok()).unwrap_or_default(),
                label: Label::from_slice(label).unwrap_or_default(),
            };
            match d {
                DevSpec::Uuid(u) => {
                    let upper = u.to_ascii_uppercase();
                    if u.is_ascii() {
                        assert!(d.matches_fs(&fs(&upper, b"")));
                    }
                    assert!(!d.matches_fs(&fs(b"", u)));
                }
                DevSpec::Label(l) => {
                    assert!(d.matches_fs(&fs(b"", l)));
                    assert!(!d.matches_fs(&fs(b"", b"")));
                }
                _ => assert!(!d.matches_fs(&fs(value, value))),
            }
        }
        Err(e) => {
            assert!(!e.message().is_empty());
            match e {
                DevSpecError::Empty => assert!(spec.is_empty()),
                DevSpecError::Nul => assert!(spec.contains(&0)),
                _ => assert!(!spec.is_empty() && !spec.contains(&0)),
            }
        }
    }
});
