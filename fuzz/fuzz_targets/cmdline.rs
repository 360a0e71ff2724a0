//! The command line: `cmdline::args` against a port of the kernel's
//! `next_arg()` (lib/cmdline.c), `Cmdline::parse` + `apply` (the image's
//! config, then /proc/cmdline) against the rules the module promises (the
//! last duplicate wins, values borrow from the input, limits hold), and
//! `plan::build` on the result (phases in order, data within DATA_MAX, the
//! state device read-only before phase `state`, one persist step per
//! distinct path in byte order, one layer step per layer).
//!
//! Input: byte 0 picks the fake kernel call that fails, bytes 1–2 where the
//! rest splits into the config and the command line.
#![no_main]

mod common;

use common::{within, within_any};
use libfuzzer_sys::fuzz_target;
use overinit::cmdline::{self, Cmdline, ProblemKind, MAX_PROBLEMS};
use overinit::mountopt::ms;
use overinit::plan::{self, Found, FsType, Kernel, Op, Phase, Source, StateSource};

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0xa0)
}

type Arg = (Vec<u8>, Option<Vec<u8>>);

/// lib/cmdline.c `next_arg()` and the loop of kernel/params.c
/// `parse_args()`, on a NUL-terminated copy, cutting strings with NULs in
/// place exactly as the C code does.
fn kernel_args(input: &[u8]) -> Vec<Arg> {
    let end = input.iter().position(|&b| b == 0).unwrap_or(input.len());
    let mut a = input[..end].to_vec();
    a.push(0);
    let skip = |a: &[u8], mut p: usize| {
        while is_space(a[p]) {
            p += 1;
        }
        p
    };
    let cstr = |a: &[u8], at: usize| -> Vec<u8> {
        let n = a[at..].iter().position(|&b| b == 0).unwrap();
        a[at..at + n].to_vec()
    };
    let mut out = Vec::new();
    let mut p = skip(&a, 0);
    while a[p] != 0 {
        let mut args = p;
        let (mut in_quote, mut quoted) = (false, false);
        if a[args] == b'"' {
            args += 1;
            in_quote = true;
            quoted = true;
        }
        let (mut i, mut equals) = (0usize, 0usize);
        while a[args + i] != 0 {
            if is_space(a[args + i]) && !in_quote {
                break;
            }
            if equals == 0 && a[args + i] == b'=' {
                equals = i;
            }
            if a[args + i] == b'"' {
                in_quote = !in_quote;
            }
            i += 1;
        }
        let val = if equals == 0 {
            None
        } else {
            a[args + equals] = 0;
            let mut v = args + equals + 1;
            if a[v] == b'"' {
                v += 1;
                if a[args + i - 1] == b'"' {
                    a[args + i - 1] = 0;
                }
            }
            Some(v)
        };
        if quoted && i > 0 && a[args + i - 1] == b'"' {
            a[args + i - 1] = 0;
        }
        let next = if a[args + i] != 0 {
            a[args + i] = 0;
            args + i + 1
        } else {
            args + i
        };
        let param = cstr(&a, args);
        let val = val.map(|v| cstr(&a, v));
        p = skip(&a, next);
        if val.is_none() && param == b"--" {
            break;
        }
        out.push((param, val));
    }
    out
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
        assert!(p.key.starts_with(b"overinit.") || p.key == b"init", "problem for a key that is not ours: {:?}", p.key);
        assert!(!p.what().is_empty());
    }
    assert!(c.problems.len() <= MAX_PROBLEMS);
    assert!(c.problem_count >= c.problems.len());
    assert!(c.problem_count == c.problems.len() || c.problems.len() == MAX_PROBLEMS);
    if let Some(size) = c.size {
        assert!(cmdline::valid_size(size));
    }
    if let Some(n) = c.inodes {
        assert!(cmdline::valid_size(n) && !n.ends_with(b"%"));
    }
    if let Some(b) = c.break_before {
        assert!(b.can_break());
    }
    assert!(cmdline::items(c.persist).all(|p| cmdline::persist_rule(p).is_none()));
    assert!(cmdline::items(c.persist).count() <= cmdline::MAX_PERSIST);
    assert!(cmdline::items(c.layers).all(|l| cmdline::layer_rule(l).is_none()));
    assert!(cmdline::items(c.layers).count() <= cmdline::MAX_LAYERS);
    if let Some(f) = c.first_fatal() {
        assert!(f.kind != ProblemKind::UnknownKey);
    }
}

/// A value no length limit of any key refuses: the last one given must win.
fn plain(v: &[u8]) -> bool {
    !v.is_empty() && v.len() <= 64 && v.iter().all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(b))
}

/// The last-duplicate-wins rule for the keys that store their value as is.
fn check_model(c: &Cmdline<'_>, args: &[Arg]) {
    let last = |key: &[u8]| args.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let given = |key: &[u8], v: &[u8]| args.iter().any(|(k, val)| k == key && val.as_deref() == Some(v));
    let keys: [(&[u8], Option<&[u8]>); 5] = [
        (b"root", c.root),
        (b"rootfstype", c.rootfstype),
        (b"init", c.init),
        (b"overinit.state", c.state),
        (b"overinit.statefstype", c.statefstype),
    ];
    for (key, stored) in keys {
        // Whatever is stored was given for this key.
        if let Some(v) = stored {
            assert!(given(key, v), "{key:?} holds {v:?}, never given");
        }
        match last(key) {
            None => assert_eq!(stored, None, "{key:?} never given"),
            Some(Some(v)) if plain(&v) => assert_eq!(stored, Some(&v[..]), "the last {key:?} wins"),
            _ => {}
        }
    }
    // Switches: the last of ro/rw without a value.
    let ro = args.iter().rev().find(|(k, v)| (k == b"ro" || k == b"rw") && v.is_none()).map(|(k, _)| k == b"ro");
    assert_eq!(c.ro, ro);
    assert_eq!(c.rootwait, args.iter().any(|(k, v)| k == b"rootwait" && v.is_none()));
    assert_eq!(c.quiet, args.iter().any(|(k, v)| k == b"quiet" && v.is_none()));
    // Numbers: the last one that parses.
    let timeout = args
        .iter()
        .rev()
        .filter(|(k, _)| k == b"overinit.timeout")
        .find_map(|(_, v)| v.as_deref().and_then(cmdline::parse_u32));
    assert_eq!(c.timeout, timeout);
    let on_error = args
        .iter()
        .rev()
        .filter(|(k, _)| k == b"overinit.on_error")
        .find_map(|(_, v)| v.as_deref().and_then(cmdline::parse_on_error));
    assert_eq!(c.on_error, on_error);
    // Unknown overinit.* keys are counted, each once.
    let known: Vec<String> = cmdline::OVERINIT_KEYS.iter().map(|(k, _)| format!("overinit.{k}")).collect();
    let unknown =
        args.iter().filter(|(k, _)| k.starts_with(b"overinit.") && !known.iter().any(|n| n.as_bytes() == k)).count();
    if c.problem_count == c.problems.len() {
        assert_eq!(c.problems.iter().filter(|p| p.kind == ProblemKind::UnknownKey).count(), unknown);
    }
    assert!(c.problem_count >= unknown);
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
    fn mkdir(&mut self, path: &str, _: u32) -> Result<(), i32> {
        assert!(path.starts_with('/'));
        self.next()
    }
    fn mount(&mut self, _: &[u8], target: &str, _: &[u8], _: u32, data: &[u8]) -> Result<(), i32> {
        assert!(data.len() <= plan::DATA_MAX && !data.contains(&0));
        assert!(target.starts_with('/'));
        self.next()
    }
    fn persist(&mut self, state: &std::ffi::CStr, root: &std::ffi::CStr) -> Result<(), i32> {
        let (s, r) = (state.to_bytes(), root.to_bytes());
        assert!(s.starts_with(b"/data/state/") && r.starts_with(b"/mnt/newroot/"));
        // Never cut: the same path under both prefixes.
        assert_eq!(&s[b"/data/state".len()..], &r[b"/mnt/newroot".len()..]);
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

fn check_plan(c: &Cmdline<'_>, inputs: &[&[u8]], fail_at: usize) {
    let built = plan::build(c);
    assert_eq!(built, plan::build(c), "build is pure");
    if c.root.is_none() {
        assert_eq!(built, Err(plan::PlanError::NoRoot));
    }
    let p = match built {
        Ok(p) => p,
        Err(e) => {
            let (what, why) = e.describe();
            assert!(!what.is_empty() && !why.is_empty());
            return;
        }
    };
    assert!(within_any(p.root, inputs));
    match (c.state, p.state) {
        (None | Some(b"tmpfs"), StateSource::Tmpfs) => {}
        (Some(s), StateSource::Device(d)) => assert!(s == d && within_any(d, inputs)),
        other => panic!("state source {other:?}"),
    }
    assert!(p.steps.len() <= plan::MAX_STEPS);
    assert!(p.steps.windows(2).all(|w| w[0].phase <= w[1].phase), "phases in boot order");
    for s in &p.steps {
        if let Op::Mount { source, flags, data, fstype } = &s.op {
            assert!(data.len() <= plan::DATA_MAX && !data.contains(&0));
            // The point of no return: before phase `state` the state device
            // is only ever mounted read-only.
            if *source == Source::State && s.phase < Phase::State {
                assert!(flags & ms::RDONLY != 0, "state device writable in phase {:?}", s.phase);
            }
            // Under an overlay the base is the read-only lower layer.
            if *source == Source::Root && c.overlay != cmdline::OverlayMode::Off {
                assert!(flags & ms::RDONLY != 0);
            }
            if let FsType::Given(t) = fstype {
                assert!(within_any(t, inputs));
            }
        }
    }
    // One persist step per distinct path, in strictly increasing byte order.
    let persisted: Vec<&[u8]> =
        p.steps.iter().filter_map(|s| if let Op::Persist { path } = s.op { Some(path) } else { None }).collect();
    let mut want: Vec<&[u8]> = cmdline::items(c.persist).collect();
    want.sort();
    want.dedup();
    assert_eq!(persisted, want);
    // One layer step per layer, bottom first.
    let layers: Vec<&[u8]> =
        p.steps.iter().filter_map(|s| if let Op::Layer { spec } = s.op { Some(spec) } else { None }).collect();
    assert_eq!(layers, cmdline::items(c.layers).collect::<Vec<_>>());
    // A state device gets the reset's two steps: right after its
    // read-write mount, and last in phase state.
    let resets: Vec<usize> =
        p.steps.iter().enumerate().filter(|(_, s)| matches!(s.op, Op::Reset { .. } | Op::ResetDone)).map(|(i, _)| i).collect();
    if let StateSource::Device(_) = p.state {
        assert_eq!(resets.len(), 2);
        assert_eq!(p.steps[resets[0]].op, Op::Reset { asked: c.reset });
        assert!(matches!(p.steps[resets[0] - 1].op, Op::Mount { source: Source::State, .. }));
        assert!(p.steps[resets[1] + 1..].iter().all(|s| s.phase > Phase::State), "the reset ends phase state");
    } else {
        assert!(resets.is_empty());
    }

    // Executing against a fake kernel that fails one call: the failure
    // names a step of the phase being run.
    let found = Found { root_dev: b"/dev/vda", root_fstype: b"ext4", state_dev: b"/dev/vdb", state_fstype: b"ext4" };
    let mut k = Fake { calls: 0, fail_at };
    for phase in Phase::ALL {
        if let Err(f) = plan::execute(&p, phase, 0, &found, &mut k) {
            assert_eq!(p.steps[f.index].phase, phase);
            assert_eq!(f.errno, 22);
            let _ = plan::hint(&p.steps[f.index], f.errno);
            let _ = (p.steps[f.index].action(), p.steps[f.index].object());
            break;
        }
    }
    // The nofail fallback rebuilds the same command line with a tmpfs state,
    // which fails only for layer images on the missing state device.
    let on_state = cmdline::items(c.layers).any(|l| l.starts_with(cmdline::STATE_PREFIX));
    match plan::build_for(c, StateSource::Tmpfs) {
        Ok(_) => assert!(!on_state),
        Err(e) => assert!(on_state && matches!(e, plan::PlanError::Layers(_)), "{e:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let (fail_at, cut, rest) = match data {
        [f, a, b, rest @ ..] => (usize::from(*f), usize::from(u16::from_le_bytes([*a, *b])), rest),
        _ => (0, 0, data),
    };
    let (config, line) = rest.split_at(cut.min(rest.len()));

    // The splitter is the kernel's.
    for input in [config, line, rest] {
        let ours: Vec<(&[u8], Option<&[u8]>)> = cmdline::args(input).collect();
        for (param, value) in &ours {
            assert!(within(param, input) && value.is_none_or(|v| within(v, input)));
        }
        let ours: Vec<Arg> = ours.iter().map(|(p, v)| (p.to_vec(), v.map(<[u8]>::to_vec))).collect();
        assert_eq!(ours, kernel_args(input), "args() differs from the kernel's next_arg() on {input:?}");
    }

    // /proc/cmdline alone.
    let c = Cmdline::parse(line);
    assert_borrows(&c, &[line]);
    check_model(&c, &kernel_args(line));
    check_plan(&c, &[line], fail_at);

    // The image's config first, /proc/cmdline on top (as init does).
    let mut both = Cmdline::parse(config);
    both.apply(line);
    assert_borrows(&both, &[config, line]);
    let mut args = kernel_args(config);
    args.extend(kernel_args(line));
    check_model(&both, &args);
    check_plan(&both, &[config, line], fail_at);
});
