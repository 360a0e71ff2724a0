//! Parsers are total (issue 4): the command line, mount options, the image's
//! module list, device specs and the plan built from any command line never
//! panic, whatever the bytes; and what they return borrows from the input.
//!
//! A bounded proptest pass runs with `cargo test`: arbitrary bytes, plus
//! "almost valid" inputs built from the tokens the parsers look for (known
//! keys, quotes, `=`, `--`, commas, bytes ≥ 0x80), which reach deeper than
//! random bytes do. `PROPTEST_CASES=N` runs more.

use overinit::cmdline::{self, Cmdline, MAX_PROBLEMS};
use overinit::devspec::DevSpec;
use overinit::modlist;
use overinit::mountopt;
use overinit::plan::{self, Found, Kernel, Op, Phase, StateSource};
use proptest::prelude::*;

/// Whether `part` lies inside `whole` (a borrowed sub-slice, not a copy).
fn within(part: &[u8], whole: &[u8]) -> bool {
    let (w0, w1) = (whole.as_ptr() as usize, whole.as_ptr() as usize + whole.len());
    let (p0, p1) = (part.as_ptr() as usize, part.as_ptr() as usize + part.len());
    part.is_empty() || (w0 <= p0 && p1 <= w1)
}

fn within_any(part: &[u8], wholes: &[&[u8]]) -> bool {
    wholes.iter().any(|w| within(part, w))
}

/// Every borrowed value of a parsed command line comes from one of `inputs`.
fn assert_borrows(c: &Cmdline<'_>, inputs: &[&[u8]]) {
    let fields = [
        c.root,
        c.rootfstype,
        c.rootflags,
        c.init,
        c.state,
        c.statefstype,
        c.stateflags,
        c.size,
        c.persist,
        c.inodes,
        c.overlayopts,
        c.layers,
    ];
    for v in fields.into_iter().flatten() {
        assert!(within_any(v, inputs), "value {v:?} is not a slice of the input");
        assert!(!v.is_empty(), "an empty value is stored as None");
    }
    for p in &c.problems {
        assert!(within_any(p.key, inputs) && within_any(p.value, inputs));
        // Ours, or init= over its limit (the one kernel key with a rule).
        assert!(p.key.starts_with(b"overinit.") || p.key == b"init", "problem for a key that is not ours: {:?}", p.key);
    }
    assert!(c.problems.len() <= MAX_PROBLEMS);
    assert!(c.problem_count >= c.problems.len());
    if let Some(size) = c.size {
        assert!(cmdline::valid_size(size));
    }
    if let Some(init) = c.init {
        assert!(init.len() <= cmdline::INIT_PATH_MAX, "init= past its limit stored");
    }
    if let Some(b) = c.break_before {
        assert!(b.can_break());
    }
    // A stored persist list holds only paths the rule accepts, few enough.
    assert!(cmdline::items(c.persist).all(|p| cmdline::persist_rule(p).is_none()));
    assert!(cmdline::items(c.persist).count() <= cmdline::MAX_PERSIST);
    // The same for layers: images under /data/state/ or device specs.
    assert!(cmdline::items(c.layers).all(|l| cmdline::layer_rule(l).is_none()));
    assert!(cmdline::items(c.layers).count() <= cmdline::MAX_LAYERS);
}

/// Tokens that steer the parsers into their interesting branches.
const PIECES: &[&[u8]] = &[
    b"root=",
    b"rootfstype=",
    b"rootflags=",
    b"init=",
    b"ro",
    b"rw",
    b"rootwait",
    b"rootdelay=",
    b"panic=",
    b"quiet",
    b"overinit.state=",
    b"overinit.statefstype=",
    b"overinit.stateflags=",
    b"overinit.size=",
    b"overinit.timeout=",
    b"overinit.debug",
    b"overinit.on_error=",
    b"overinit.break=",
    b"overinit.state.nofail",
    b"overinit.overlay=",
    b"overinit.persist=",
    b"overinit.inodes=",
    b"overinit.overlayopts=",
    b"overinit.layers=",
    b"/data/state/",
    b"/etc/ssh,",
    b"/..",
    b"overinit.",
    b"overinit.bogus=",
    b"tmpfs",
    b"reboot:",
    b"poweroff:",
    b"shell",
    b"halt",
    b"try",
    b"off",
    b"devices",
    b"UUID=",
    b"LABEL=",
    b"PARTUUID=",
    b"PARTLABEL=",
    b"/PARTNROFF=",
    b"/dev/",
    b"/dev/disk/by-uuid/",
    b"/dev/vda",
    b"254:0",
    b"0x",
    b"-",
    b"--",
    b"=",
    b"\"",
    b" ",
    b"\t",
    b"\n",
    b"\xa0",
    b"\xff",
    b"\x00",
    b",",
    b"ro,nosuid",
    b"bind",
    b"rprivate",
    b"remount",
    b"errors=remount-ro",
    b"context=\"a,b\"",
    b"1G",
    b"50%",
    b"4294967296",
    b"-2147483648",
    b"0",
    b"7",
    b"#",
    b".ko",
    b"/lib/modules/",
];

/// Inputs made of PIECES and random bytes, up to ~4 KiB.
fn tokens() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        4 => proptest::sample::select(PIECES).prop_map(<[u8]>::to_vec),
        1 => proptest::collection::vec(any::<u8>(), 0..12),
        1 => "[a-z0-9./:_-]{0,300}".prop_map(String::into_bytes),
    ];
    proptest::collection::vec(piece, 0..160).prop_map(|v| v.concat())
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..4096)
}

fn input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![bytes(), tokens()]
}

/// A kernel that records nothing and fails the `fail_at`-th call.
struct Fake {
    calls: usize,
    fail_at: usize,
}

impl Fake {
    fn next(&mut self) -> Result<(), i32> {
        self.calls += 1;
        if self.calls == self.fail_at {
            Err(22)
        } else {
            Ok(())
        }
    }
}

impl Kernel for Fake {
    fn mkdir(&mut self, _: &str, _: u32) -> Result<(), i32> {
        self.next()
    }
    fn mount(&mut self, _: &[u8], _: &str, _: &[u8], _: u32, data: &[u8]) -> Result<(), i32> {
        assert!(data.len() <= plan::DATA_MAX);
        self.next()
    }
    fn persist(&mut self, state: &std::ffi::CStr, root: &std::ffi::CStr) -> Result<(), i32> {
        assert!(state.to_bytes().starts_with(b"/data/state/") && root.to_bytes().starts_with(b"/mnt/newroot/"));
        self.next()
    }
    fn layer(&mut self, spec: &[u8], target: &str) -> Result<(), i32> {
        assert!(!spec.is_empty() && target.starts_with("/data/system/layers/"));
        self.next()
    }
    fn reset(&mut self, _: bool, _: bool) -> Result<(), i32> {
        self.next()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn cmdline_parse_is_total(input in input()) {
        let c = Cmdline::parse(&input);
        assert_borrows(&c, &[&input]);
        let _ = c.first_fatal().map(|p| p.what());
        for (param, value) in cmdline::args(&input) {
            prop_assert!(within(param, &input));
            prop_assert!(value.is_none_or(|v| within(v, &input)));
            prop_assert!(param != b"--" || value.is_some(), "args() must stop at --");
        }
    }

    #[test]
    fn cmdline_apply_is_total(config in input(), line in input()) {
        // The image's config first, /proc/cmdline on top (as init does).
        let mut c = Cmdline::parse(&config);
        c.apply(&line);
        assert_borrows(&c, &[&config, &line]);
        // The later input wins for a key it sets.
        let alone = Cmdline::parse(&line);
        if alone.root.is_some() {
            prop_assert_eq!(c.root, alone.root);
        }
        if alone.on_error.is_some() {
            prop_assert_eq!(c.on_error, alone.on_error);
        }
    }

    #[test]
    fn number_parsers_are_total(v in input()) {
        // parse_u32 agrees with std on plain digit strings of up to 10 bytes.
        let std_u32 = std::str::from_utf8(&v).ok().and_then(|s| s.parse::<u32>().ok());
        let digits = !v.is_empty() && v.len() <= 10 && v.iter().all(u8::is_ascii_digit);
        prop_assert_eq!(cmdline::parse_u32(&v), std_u32.filter(|_| digits));
        let _ = cmdline::parse_i32(&v);
        let _ = cmdline::parse_on_error(&v);
        let _ = cmdline::valid_size(&v);
    }

    #[test]
    fn mountopt_split_is_total(opts in input()) {
        match mountopt::split(&opts) {
            Ok(o) => {
                prop_assert!(o.data.len() <= mountopt::DATA_MAX);
                prop_assert!(!o.data.contains(&0));
                prop_assert!(!o.data.starts_with(b",") && !o.data.ends_with(b","));
                let _ = mountopt::words(o.flags, o.propagation).count();
            }
            Err(e) => {
                prop_assert!(e.at() <= opts.len());
                prop_assert!(within(e.item(&opts), &opts));
                prop_assert!(!e.message().is_empty());
            }
        }
    }

    #[test]
    fn modlist_entries_are_total(list in input()) {
        let lines = list.split(|&b| b == b'\n').count();
        for e in modlist::entries(&list) {
            match e {
                Ok(e) => {
                    prop_assert!(within(e.path, &list) && within(e.params, &list));
                    prop_assert!(e.path.starts_with(b"/"));
                    prop_assert!(e.path.len() <= modlist::PATH_MAX && e.params.len() <= modlist::PARAMS_MAX);
                    prop_assert!(!e.path.contains(&0) && !e.params.contains(&0));
                    prop_assert!(e.line >= 1 && e.line <= lines);
                    prop_assert!(within(modlist::name(e.path), &list));
                }
                Err((line, err)) => {
                    prop_assert!(line >= 1 && line <= lines);
                    prop_assert!(!err.message().is_empty());
                }
            }
        }
    }

    #[test]
    fn devspec_parse_is_total(spec in input()) {
        match DevSpec::parse(&spec) {
            Ok(d) => {
                match d {
                    DevSpec::Path(v) | DevSpec::Uuid(v) | DevSpec::Label(v) | DevSpec::PartUuid(v)
                    | DevSpec::PartUuidOffset(v, _) | DevSpec::PartLabel(v) => prop_assert!(within(v, &spec)),
                    DevSpec::MajMin(maj, min) => prop_assert!(maj < 1 << 12 && min < 1 << 20),
                }
                let mut text = Vec::new();
                d.render(|b| text.extend_from_slice(b));
                prop_assert!(!text.is_empty());
            }
            Err(e) => prop_assert!(!e.message().is_empty()),
        }
    }

    #[test]
    fn plan_build_is_total(line in input(), fail_at in 0usize..64) {
        let c = Cmdline::parse(&line);
        let built = plan::build(&c);
        if c.root.is_none() {
            prop_assert_eq!(&built, &Err(plan::PlanError::NoRoot));
        }
        let p = match built {
            Ok(p) => p,
            Err(e) => {
                let (what, why) = e.describe();
                prop_assert!(!what.is_empty() && !why.is_empty());
                return Ok(());
            }
        };
        prop_assert!(within(p.root, &line));
        if let StateSource::Device(s) = p.state {
            prop_assert!(within(s, &line));
        }
        prop_assert!(p.steps.len() <= plan::MAX_STEPS);
        // Phases in boot order; every mount's data fits the kernel buffer.
        prop_assert!(p.steps.windows(2).all(|w| w[0].phase <= w[1].phase));
        for s in &p.steps {
            if let Op::Mount { data, .. } = &s.op {
                prop_assert!(data.len() <= plan::DATA_MAX);
            }
        }
        // Executing it against a fake kernel that fails one call: the failure
        // names a step of the phase being run.
        let found = Found { root_dev: b"/dev/vda", root_fstype: b"ext4", state_dev: b"/dev/vdb", state_fstype: b"ext4" };
        let mut k = Fake { calls: 0, fail_at };
        for phase in Phase::ALL {
            if let Err(f) = plan::execute(&p, phase, 0, &found, &mut k) {
                prop_assert_eq!(p.steps[f.index].phase, phase);
                let _ = plan::hint(&p.steps[f.index], f.errno);
                break;
            }
        }
        // The nofail fallback rebuilds the same command line with a tmpfs
        // state; only layer images on the missing state device make it fail.
        let on_state = cmdline::items(c.layers).any(|l| l.starts_with(cmdline::STATE_PREFIX));
        prop_assert_eq!(plan::build_for(&c, StateSource::Tmpfs).is_ok(), !on_state);
    }
}

/// The extremes the issue names, as fixed cases: a 4 KiB line of garbage
/// with unbalanced quotes, bytes ≥ 0x80, 200 duplicate keys and unknown
/// `overinit.*` keys still parses, keeps the last duplicate and counts the
/// unknown keys.
#[test]
fn garbage_command_line() {
    let mut line = b"root=/dev/vda overinit.state=/dev/vdb ".to_vec();
    for i in 0..200 {
        line.extend_from_slice(format!("overinit.timeout={i} ").as_bytes());
    }
    for i in 0..20 {
        line.extend_from_slice(format!("overinit.nosuch{i}=x ").as_bytes());
    }
    line.extend_from_slice(b"\xff\xfe\x80=\xc3\x28 \xa0x.y=\xe2\x82 ");
    while line.len() < 4000 {
        line.extend_from_slice(b"a.b=\"c d ");
    }
    line.extend_from_slice(b"tail=\"never closed");
    let c = Cmdline::parse(&line);
    assert_eq!(c.root, Some(&b"/dev/vda"[..]));
    assert_eq!(c.state, Some(&b"/dev/vdb"[..]));
    assert_eq!(c.timeout, Some(199));
    assert_eq!(c.problem_count, 20);
    assert!(c.first_fatal().is_none(), "unknown keys are a warning, not fatal");
    assert!(plan::build(&c).is_ok());
}
