//! The kernel command line (and the image's config file, same syntax).
//!
//! Bytes in, struct out; nothing here touches the system. Tokens are split
//! exactly like the kernel's `next_arg()` (lib/cmdline.c): whitespace
//! separates parameters unless inside double quotes, `"` anywhere toggles
//! quoting, one pair of quotes around a value (or around the whole
//! parameter) is removed, and parsing stops at `--` (what follows belongs to
//! the real init, which receives it from the kernel in its argv). The last
//! duplicate of a key wins, as with the kernel's `__setup` handlers that
//! simply overwrite.
//!
//! Values are borrowed byte slices of the input: no copies, no heap, and
//! non-UTF-8 bytes survive untouched. The parser is total: it never panics,
//! whatever the bytes.

use heapless::Vec;

/// At most this many problems (unknown `overinit.*` keys, bad values) are
/// kept for the error report; more are counted, not stored.
pub const MAX_PROBLEMS: usize = 8;

/// What went wrong with one parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// An `overinit.*` key this version does not know.
    UnknownKey,
    /// A known key whose value does not parse.
    BadValue,
    /// A known key that needs a value but was given none.
    MissingValue,
    /// A known key whose value (or one item of a list, kept in `value`)
    /// breaks the named rule.
    Rule(&'static str),
}

/// One parameter the parser could not accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Problem<'a> {
    pub kind: ProblemKind,
    pub key: &'a [u8],
    pub value: &'a [u8],
}

impl Problem<'_> {
    /// What the user should read, without the key (the caller prints it).
    pub fn what(&self) -> &'static str {
        match self.kind {
            ProblemKind::UnknownKey => "unknown overinit parameter",
            ProblemKind::BadValue => "invalid value",
            ProblemKind::MissingValue => "needs a value",
            ProblemKind::Rule(why) => why,
        }
    }
}

/// What to do when the boot fails (`overinit.on_error=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// Run `/bin/sh` on the console, retry the failed phase once.
    Shell,
    /// Reboot after the delay (seconds).
    Reboot(u32),
    /// Power off after the delay (seconds).
    Poweroff(u32),
    /// Stay, repeating the error every 30 s.
    Halt,
}

/// `overinit.overlay=`: whether the root is an overlay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OverlayMode {
    /// Overlay or fail (default).
    #[default]
    On,
    /// No overlay: the root device is the root (honouring `ro`/`rw`).
    Off,
    /// Overlay if the kernel has it; otherwise boot the base read-only, loudly.
    Try,
}

/// `overinit.state.onerror=`: what a state filesystem that says it has
/// errors, or that cannot be mounted, gets (docs/parameters.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StateOnError {
    /// Mount it read-only (a tmpfs state when even that is impossible).
    #[default]
    Ro,
    /// A tmpfs state, loudly.
    Volatile,
    /// Stop the boot (then `overinit.on_error=`).
    Halt,
}

/// Parse `shell`, `halt`, `reboot[:N]`, `poweroff[:N]`.
pub fn parse_on_error(v: &[u8]) -> Option<OnError> {
    let (word, delay) = match v.iter().position(|&b| b == b':') {
        Some(i) => (&v[..i], Some(parse_u32(&v[i + 1..])?)),
        None => (v, None),
    };
    match (word, delay) {
        (b"shell", None) => Some(OnError::Shell),
        (b"halt", None) => Some(OnError::Halt),
        (b"reboot", d) => Some(OnError::Reboot(d.unwrap_or(0))),
        (b"poweroff", d) => Some(OnError::Poweroff(d.unwrap_or(0))),
        _ => None,
    }
}

/// Everything overinit takes from the command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cmdline<'a> {
    /// `root=`: device spec of the base (lower) filesystem.
    pub root: Option<&'a [u8]>,
    /// `rootfstype=`: filesystem type; probed from the superblock if absent.
    pub rootfstype: Option<&'a [u8]>,
    /// `rootflags=`: mount options for the base.
    pub rootflags: Option<&'a [u8]>,
    /// `ro` (true) / `rw` (false); last one wins.
    pub ro: Option<bool>,
    /// `rootwait`: wait for the root device without a time limit.
    pub rootwait: bool,
    /// `rootdelay=N`: seconds to wait for the root device.
    pub rootdelay: Option<u32>,
    /// `init=`: the real init inside the new root.
    pub init: Option<&'a [u8]>,
    /// `panic=N`: kernel reboot delay after a panic (we honour it on failure).
    pub panic: Option<i32>,
    /// `quiet`: print only warnings and errors.
    pub quiet: bool,
    /// `overinit.state=`: device spec of the persistent state, or `tmpfs`.
    pub state: Option<&'a [u8]>,
    /// `overinit.statefstype=`: the state filesystem type (probed if absent).
    pub statefstype: Option<&'a [u8]>,
    /// `overinit.stateflags=`: mount options for the state filesystem.
    pub stateflags: Option<&'a [u8]>,
    /// `overinit.size=`: size of the `/data/system` tmpfs (upper + work).
    pub size: Option<&'a [u8]>,
    /// `overinit.timeout=N`: seconds to wait for devices when not `rootwait`.
    pub timeout: Option<u32>,
    /// `overinit.debug`: per-phase timings and every step on the console.
    pub debug: bool,
    /// `overinit.on_error=`: failure policy (default: shell if the image has
    /// one, else the kernel's `panic=`, else halt).
    pub on_error: Option<OnError>,
    /// `overinit.break=PHASE`: open the shell before this phase.
    pub break_before: Option<crate::plan::Phase>,
    /// `overinit.state.nofail`: a missing state device means a tmpfs state
    /// (loudly) instead of a failed boot.
    pub state_nofail: bool,
    /// `overinit.overlay=on|off|try`.
    pub overlay: OverlayMode,
    /// `overinit.persist=`: absolute paths kept on the state device, comma
    /// separated, each checked by [`persist_rule`] (iterate with [`items`]).
    pub persist: Option<&'a [u8]>,
    /// `overinit.inodes=`: `nr_inodes=` of the `/data/system` tmpfs.
    pub inodes: Option<&'a [u8]>,
    /// `overinit.overlayopts=`: overlayfs options appended to ours.
    pub overlayopts: Option<&'a [u8]>,
    /// `overinit.layers=`: extra read-only lower layers, comma separated,
    /// bottom first, each checked by [`layer_rule`] (iterate with [`items`]).
    pub layers: Option<&'a [u8]>,
    /// `overinit.reset`: start from an empty state (a factory reset).
    pub reset: bool,
    /// `overinit.state.onerror=`.
    pub state_onerror: StateOnError,
    /// `roothash=`: the dm-verity root hash of the base (hex; the base is
    /// then verified, see docs/verity.md). Checked by [`roothash_rule`].
    pub roothash: Option<&'a [u8]>,
    /// `systemd.verity_root_data=`: the device holding the verified data
    /// (default: `root=`).
    pub verity_data: Option<&'a [u8]>,
    /// `systemd.verity_root_hash=`: the device holding the hash tree
    /// (default: the data device, the tree appended at `hash-offset=`).
    pub verity_hash: Option<&'a [u8]>,
    /// `systemd.verity_root_options=`: comma-separated dm-verity options
    /// (checked by [`crate::verity::parse_options`]).
    pub verity_options: Option<&'a [u8]>,
    /// Problems found, in order (first [`MAX_PROBLEMS`]).
    pub problems: Vec<Problem<'a>, MAX_PROBLEMS>,
    /// Total number of problems, including those not stored.
    pub problem_count: usize,
}

/// Keys under `overinit.` that this version knows, with a one-line meaning and
/// default. The README's parameter table is checked against this list.
pub const OVERINIT_KEYS: &[(&str, &str)] = &[
    ("state", "device spec of the persistent state (/dev/NAME, MAJ:MIN, UUID=, LABEL=, PARTUUID=, PARTLABEL=) or `tmpfs`; default: tmpfs"),
    ("statefstype", "filesystem type of the state device; default: probed from its superblock"),
    ("stateflags", "mount options for the state device; default: none"),
    ("size", "size of the /data/system tmpfs that holds the overlay upper; default: 1G"),
    ("timeout", "seconds to wait for root and state devices unless rootwait; default: 10"),
    ("debug", "print every step and per-phase timings; default: off"),
    ("on_error", "shell, reboot[:N], poweroff[:N] or halt; default: shell if the image has /bin/sh, else the kernel's panic=N, else halt"),
    ("break", "open the emergency shell before a phase: modules, devices, base, data, layers, overlay, validate, state, system, switch, exec; default: none"),
    ("state.nofail", "boot with an empty tmpfs state (and a warning) if the state device does not appear; default: off (fatal)"),
    ("overlay", "on, off (mount the root device itself, honouring ro/rw) or try (overlay if the kernel has it, else the root read-only); default: on"),
    ("persist", "comma-separated absolute paths bind-mounted from /data/state/PATH, seeded from the base on first boot; default: none"),
    ("inodes", "nr_inodes of the /data/system tmpfs (k/m/g suffixes); default: the kernel's (half the RAM pages)"),
    ("overlayopts", "extra overlayfs options appended to the overlay mount, e.g. redirect_dir=on; default: none"),
    ("layers", "comma-separated squashfs/erofs images (/data/state/PATH on the state device, or a device spec) mounted read-only under /data/system/layers/N and stacked above the base, the last one on top; default: none"),
    ("reset", "factory reset: the old state moved aside, persisted paths seeded again (also: the flag file .overinit/reset on the state); default: off"),
    ("state.onerror", "ro, volatile or halt, for a state filesystem that records errors or that cannot be mounted; default: ro"),
];

/// The standard kernel parameters the parser reads (`--` ends the
/// parameters). Add a name here when [`Cmdline::parse`] learns one: the
/// docs test checks docs/parameters.md against this list and
/// [`OVERINIT_KEYS`].
pub const KERNEL_KEYS: &[&str] = &[
    "root",
    "rootfstype",
    "rootflags",
    "ro",
    "rw",
    "rootwait",
    "rootdelay",
    "init",
    "panic",
    "quiet",
    "roothash",
    "systemd.verity_root_data",
    "systemd.verity_root_hash",
    "systemd.verity_root_options",
    "--",
];

/// Why a `roothash=` is refused (`None`: it is fine): hex, and the length
/// of a digest dm-verity's superblocks name (sha1, sha256, sha512). The
/// exact length is checked against the superblock's algorithm at boot.
pub fn roothash_rule(h: &[u8]) -> Option<&'static str> {
    let ok = matches!(h.len(), 40 | 64 | 128) && h.iter().all(u8::is_ascii_hexdigit);
    (!ok).then_some("not hex of the length of a sha1, sha256 or sha512 digest (40, 64 or 128 digits)")
}

fn devspec_rule(d: &[u8]) -> Option<&'static str> {
    crate::devspec::DevSpec::parse(d).err().map(|e| e.message())
}

/// Longest `init=` path: the exec phase's buffer is this plus its NUL, and
/// a longer one is refused here, before anything is mounted.
pub const INIT_PATH_MAX: usize = 255;

/// At most this many `overinit.persist=` paths.
pub const MAX_PERSIST: usize = 16;
/// Longest persisted path.
pub const PERSIST_PATH_MAX: usize = 200;

/// At most this many `overinit.layers=`.
pub const MAX_LAYERS: usize = 8;
/// A layer named by path is an image file on the state device, written as
/// seen in the initramfs (and in the booted system).
pub const STATE_PREFIX: &[u8] = b"/data/state/";

/// Why an `overinit.layers=` item is refused (`None`: it is fine): an image
/// path under [`STATE_PREFIX`] (the rules of [`persist_rule`]), or a device
/// spec.
pub fn layer_rule(l: &[u8]) -> Option<&'static str> {
    let (l, hash) = layer_roothash(l);
    if hash.is_some() && !l.starts_with(STATE_PREFIX) {
        return Some("a verified layer (:ROOTHASH) is an image under /data/state/ with its tree in NAME.verity");
    }
    match l.strip_prefix(&STATE_PREFIX[..STATE_PREFIX.len() - 1]) {
        Some(rest) => persist_rule(rest),
        None => crate::devspec::DevSpec::parse(l).err().map(|e| e.message()),
    }
}

/// A layer's dm-verity root hash: `ITEM:HEX` is (ITEM, HEX) when HEX passes
/// [`roothash_rule`]; anything else is the item itself, unverified.
pub fn layer_roothash(l: &[u8]) -> (&[u8], Option<&[u8]>) {
    match l.iter().rposition(|&b| b == b':') {
        Some(i) if roothash_rule(&l[i + 1..]).is_none() => (&l[..i], Some(&l[i + 1..])),
        _ => (l, None),
    }
}

/// The hash tree of a verified layer image, systemd's sidecar naming
/// (`tools.raw` → `tools.verity`): the file name's extension replaced by
/// `.verity` (appended if it has none), in `out`.
pub fn verity_sidecar<'o>(image: &[u8], out: &'o mut [u8]) -> Option<&'o [u8]> {
    let name = image.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1);
    let stem = image[name..].iter().rposition(|&b| b == b'.').filter(|&d| d > 0).map_or(image.len(), |d| name + d);
    let n = stem + b".verity".len();
    let dst = out.get_mut(..n)?;
    dst[..stem].copy_from_slice(&image[..stem]);
    dst[stem..].copy_from_slice(b".verity");
    Some(dst)
}

/// The non-empty items of a comma-separated list.
pub fn items(v: Option<&[u8]>) -> impl Iterator<Item = &[u8]> {
    v.unwrap_or(b"").split(|&b| b == b',').filter(|i| !i.is_empty())
}

/// Why an `overinit.persist=` path is refused (`None`: it is fine). Paths
/// are compared as bytes and sorted, so they must be canonical.
#[inline(never)]
pub fn persist_rule(p: &[u8]) -> Option<&'static str> {
    if p.len() > PERSIST_PATH_MAX {
        return Some("persisted path longer than 200 bytes");
    }
    if p.first() != Some(&b'/') {
        return Some(BAD_PATH);
    }
    // Walk the components after the leading `/`; `start` is where the
    // current one begins.
    let mut start = 1;
    for i in 1..=p.len() {
        if i == p.len() || p[i] == b'/' {
            let c = &p[start..i];
            let reserved = start == 1 && matches!(c, b"data" | b"dev" | b"proc" | b"sys");
            if reserved || matches!(c, b"" | b"." | b"..") {
                return Some(BAD_PATH);
            }
            start = i + 1;
        }
    }
    None
}

/// Every rule of [`persist_rule`] but the length, in one message.
pub const BAD_PATH: &str =
    "persisted paths must be absolute, canonical (no //, ., .. or trailing /) and outside /data /dev /proc /sys";

/// Whitespace as the kernel's `isspace()` sees it (include/linux/ctype.h,
/// lib/ctype.c): ASCII 9–13, space, and 0xA0 (Latin-1 no-break space).
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0xa0)
}

/// Iterator over `(param, value)` pairs exactly as the kernel's `next_arg()`
/// splits them. Stops before `--`.
pub struct Args<'a> {
    rest: &'a [u8],
}

/// Split a command line into parameters.
pub fn args(input: &[u8]) -> Args<'_> {
    Args { rest: skip_spaces(input) }
}

fn skip_spaces(mut s: &[u8]) -> &[u8] {
    while let [first, tail @ ..] = s {
        if !is_space(*first) {
            break;
        }
        s = tail;
    }
    s
}

impl<'a> Iterator for Args<'a> {
    type Item = (&'a [u8], Option<&'a [u8]>);

    fn next(&mut self) -> Option<Self::Item> {
        // The kernel stops at a NUL byte: treat it as the end of input.
        let mut s = self.rest;
        if let Some(nul) = s.iter().position(|&b| b == 0) {
            s = &s[..nul];
        }
        if s.is_empty() {
            self.rest = &[];
            return None;
        }
        let quoted = s[0] == b'"';
        if quoted {
            s = &s[1..];
        }
        let mut in_quote = quoted;
        let mut equals = None;
        let mut i = 0;
        while i < s.len() {
            let b = s[i];
            if is_space(b) && !in_quote {
                break;
            }
            // next_arg(): `if (equals == 0)` — an '=' at index 0 is not a separator.
            if equals.is_none() && b == b'=' && i > 0 {
                equals = Some(i);
            }
            if b == b'"' {
                in_quote = !in_quote;
            }
            i += 1;
        }
        let token = &s[..i];
        self.rest = skip_spaces(s.get(i + 1..).unwrap_or(&[]));
        // A closing quote is dropped from the end of the token when the value
        // or the whole parameter was quoted.
        let strip_end = |t: &'a [u8]| -> &'a [u8] {
            match t {
                [head @ .., b'"'] => head,
                _ => t,
            }
        };
        let (param, value) = match equals {
            None => (if quoted { strip_end(token) } else { token }, None),
            Some(eq) => {
                let param = &token[..eq];
                let mut val = &token[eq + 1..];
                if let [b'"', tail @ ..] = val {
                    val = strip_end(tail);
                } else if quoted {
                    val = strip_end(val);
                }
                (param, Some(val))
            }
        };
        if param == b"--" && value.is_none() {
            self.rest = &[];
            return None;
        }
        Some((param, value))
    }
}

/// Parse a decimal number; `None` on anything else (including overflow).
pub fn parse_u32(v: &[u8]) -> Option<u32> {
    if v.len() > 10 {
        return None;
    }
    parse_u64(v).and_then(|n| u32::try_from(n).ok())
}

/// An unsigned decimal number: digits only, no sign, no overflow.
pub fn parse_u64(v: &[u8]) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    v.iter().try_fold(0u64, |n, &b| n.checked_mul(10)?.checked_add(u64::from(char::from(b).to_digit(10)?)))
}

/// Parse a signed decimal number (for `panic=`).
pub fn parse_i32(v: &[u8]) -> Option<i32> {
    match v {
        [b'-', digits @ ..] => parse_u32(digits).and_then(|n| 0i32.checked_sub_unsigned(n)),
        _ => parse_u32(v).and_then(|n| i32::try_from(n).ok()),
    }
}

/// A tmpfs `size=` value: digits with an optional k/m/g/t/p/e suffix (either
/// case), or a percentage of RAM (`50%`) — what mm/shmem.c accepts.
pub fn valid_size(v: &[u8]) -> bool {
    let digits = v.iter().take_while(|b| b.is_ascii_digit()).count();
    // 0 is tmpfs' "no limit" (size= and nr_inodes=): a limit must limit.
    if digits == 0 || digits > 19 || v[..digits].iter().all(|&b| b == b'0') {
        return false;
    }
    match &v[digits..] {
        [] => true,
        [s] => b"kKmMgGtTpPeE%".contains(s),
        _ => false,
    }
}

/// Store `v` in `slot`; true (for the `ok &&` chains of `Cmdline::set`).
fn set<T>(slot: &mut T, v: T) -> bool {
    *slot = v;
    true
}

/// A switch: no value, `1/on/yes` or `0/off/no`; false on anything else.
fn flag(value: Option<&[u8]>, slot: &mut bool) -> bool {
    match value {
        None | Some(b"1" | b"on" | b"yes") => set(slot, true),
        Some(b"0" | b"off" | b"no") => set(slot, false),
        Some(_) => false,
    }
}

/// Every key the parser knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum K {
    Root,
    RootFsType,
    RootFlags,
    Init,
    Ro,
    Rw,
    RootWait,
    Quiet,
    RootDelay,
    Panic,
    State,
    StateFsType,
    StateFlags,
    Size,
    Timeout,
    Debug,
    OnError,
    Break,
    StateNofail,
    Overlay,
    Persist,
    Inodes,
    OverlayOpts,
    Layers,
    Reset,
    StateOnError,
    RootHash,
    VerityData,
    VerityHash,
    VerityOptions,
}

/// Key names as written on the command line.
const KEYS: [(&str, K); 30] = [
    ("root", K::Root),
    ("rootfstype", K::RootFsType),
    ("rootflags", K::RootFlags),
    ("init", K::Init),
    ("ro", K::Ro),
    ("rw", K::Rw),
    ("rootwait", K::RootWait),
    ("quiet", K::Quiet),
    ("rootdelay", K::RootDelay),
    ("panic", K::Panic),
    ("overinit.state", K::State),
    ("overinit.statefstype", K::StateFsType),
    ("overinit.stateflags", K::StateFlags),
    ("overinit.size", K::Size),
    ("overinit.timeout", K::Timeout),
    ("overinit.debug", K::Debug),
    ("overinit.on_error", K::OnError),
    ("overinit.break", K::Break),
    ("overinit.state.nofail", K::StateNofail),
    ("overinit.overlay", K::Overlay),
    ("overinit.persist", K::Persist),
    ("overinit.inodes", K::Inodes),
    ("overinit.overlayopts", K::OverlayOpts),
    ("overinit.layers", K::Layers),
    ("overinit.reset", K::Reset),
    ("overinit.state.onerror", K::StateOnError),
    ("roothash", K::RootHash),
    ("systemd.verity_root_data", K::VerityData),
    ("systemd.verity_root_hash", K::VerityHash),
    ("systemd.verity_root_options", K::VerityOptions),
];

impl<'a> Cmdline<'a> {
    /// Parse a command line.
    pub fn parse(input: &'a [u8]) -> Self {
        let mut c = Self::default();
        c.apply(input);
        c
    }

    /// Apply a command line on top of what is already set (the image's
    /// config first, then `/proc/cmdline`: the later one wins).
    pub fn apply(&mut self, input: &'a [u8]) {
        for (key, value) in args(input) {
            self.set(key, value);
        }
    }

    fn problem(&mut self, kind: ProblemKind, key: &'a [u8], value: Option<&'a [u8]>) {
        self.problem_count = self.problem_count.saturating_add(1);
        let _ = self.problems.push(Problem { kind, key, value: value.unwrap_or(b"") });
    }

    /// A comma-separated list whose items all pass `rule`, at most `max` of
    /// them; else `None` and a problem naming the first bad item.
    /// `text` if it passes `rule`, else `None` and a problem naming it.
    fn checked(
        &mut self,
        key: &'a [u8],
        text: Option<&'a [u8]>,
        rule: fn(&[u8]) -> Option<&'static str>,
    ) -> Option<&'a [u8]> {
        match text.and_then(rule) {
            Some(why) => {
                self.problem(ProblemKind::Rule(why), key, text);
                None
            }
            None => text,
        }
    }

    fn list(
        &mut self,
        key: &'a [u8],
        text: Option<&'a [u8]>,
        max: usize,
        too_many: &'static str,
        rule: fn(&[u8]) -> Option<&'static str>,
    ) -> Option<&'a [u8]> {
        for (n, item) in items(text).enumerate() {
            if let Some(why) = if n == max { Some(too_many) } else { rule(item) } {
                self.problem(ProblemKind::Rule(why), key, Some(item));
                return None;
            }
        }
        text
    }

    fn set(&mut self, key: &'a [u8], value: Option<&'a [u8]>) {
        // One table lookup, then one small arm per key: this parser is linked
        // into an init with a 96 KiB budget, and a `match` on byte strings compiles to a
        // chain of compares per arm.
        let Some(&(_, k)) = KEYS.iter().find(|(name, _)| name.as_bytes() == key) else {
            if key.starts_with(b"overinit.") {
                self.problem(ProblemKind::UnknownKey, key, value);
            }
            return;
        };
        // Keys that take a value: an empty value unsets (like the kernel's
        // handlers storing an empty string, which they treat as absent).
        let text = value.filter(|v| !v.is_empty());
        let ok = match k {
            K::Root => set(&mut self.root, text),
            K::RootFsType => set(&mut self.rootfstype, text),
            K::RootFlags => set(&mut self.rootflags, text),
            K::Init => match text {
                Some(v) if v.len() > INIT_PATH_MAX || v.contains(&0) => {
                    self.problem(ProblemKind::Rule("longer than 255 bytes (the limit of init= paths)"), key, value);
                    true
                }
                t => set(&mut self.init, t),
            },
            K::StateFlags => set(&mut self.stateflags, text),
            K::OverlayOpts => set(&mut self.overlayopts, text),
            // Switches take no value (the kernel ignores `ro=1`).
            K::Ro | K::Rw => value.is_some() || set(&mut self.ro, Some(k == K::Ro)),
            K::RootWait => value.is_some() || set(&mut self.rootwait, true),
            K::Quiet => value.is_some() || set(&mut self.quiet, true),
            // Kernel parameters with bad values are the kernel's business; we
            // keep our previous idea and do not complain (it would be noise).
            K::RootDelay => value.and_then(parse_u32).is_none_or(|n| set(&mut self.rootdelay, Some(n))),
            K::Panic => value.and_then(parse_i32).is_none_or(|n| set(&mut self.panic, Some(n))),
            K::Debug => flag(value, &mut self.debug),
            K::StateNofail => flag(value, &mut self.state_nofail),
            K::Reset => flag(value, &mut self.reset),
            K::StateOnError => match value {
                Some(b"ro") => set(&mut self.state_onerror, StateOnError::Ro),
                Some(b"volatile") => set(&mut self.state_onerror, StateOnError::Volatile),
                Some(b"halt") => set(&mut self.state_onerror, StateOnError::Halt),
                _ => false,
            },
            K::Overlay => match value {
                Some(b"on") => set(&mut self.overlay, OverlayMode::On),
                Some(b"off") => set(&mut self.overlay, OverlayMode::Off),
                Some(b"try") => set(&mut self.overlay, OverlayMode::Try),
                _ => false,
            },
            K::Inodes => match text {
                Some(v) if valid_size(v) && !v.ends_with(b"%") => set(&mut self.inodes, Some(v)),
                _ => false,
            },
            K::Persist => {
                self.persist = self.list(key, text, MAX_PERSIST, "more than 16 persisted paths", persist_rule);
                true
            }
            K::Layers => {
                self.layers = self.list(key, text, MAX_LAYERS, "more than 8 layers", layer_rule);
                true
            }
            // Checked here, before any device is touched; an empty value
            // unsets.
            K::RootHash => {
                self.roothash = self.checked(key, text, roothash_rule);
                true
            }
            K::VerityData => {
                self.verity_data = self.checked(key, text, devspec_rule);
                true
            }
            K::VerityHash => {
                self.verity_hash = self.checked(key, text, devspec_rule);
                true
            }
            K::VerityOptions => {
                match text.map(crate::verity::parse_options) {
                    Some(Err((e, word))) => self.problem(ProblemKind::Rule(e.message()), key, Some(word)),
                    _ => self.verity_options = text,
                }
                true
            }
            // The rest need a value.
            _ if text.is_none() => {
                self.problem(ProblemKind::MissingValue, key, value);
                true
            }
            K::State => set(&mut self.state, text),
            K::StateFsType => set(&mut self.statefstype, text),
            K::Size => text.is_some_and(valid_size) && set(&mut self.size, text),
            K::Timeout => text.and_then(parse_u32).is_some_and(|n| set(&mut self.timeout, Some(n))),
            K::OnError => text.and_then(parse_on_error).is_some_and(|p| set(&mut self.on_error, Some(p))),
            K::Break => text
                .and_then(crate::plan::Phase::from_name)
                .filter(|p| p.can_break())
                .is_some_and(|p| set(&mut self.break_before, Some(p))),
        };
        if !ok {
            self.problem(ProblemKind::BadValue, key, value);
        }
    }

    /// Problems that must stop the boot: a bad value for one of our own keys
    /// could mean booting with a state device or size the user did not ask
    /// for. Unknown keys are reported but do not stop the boot.
    pub fn first_fatal(&self) -> Option<&Problem<'a>> {
        self.problems.iter().find(|p| p.kind != ProblemKind::UnknownKey)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec as StdVec;

    fn split(s: &[u8]) -> StdVec<(&[u8], Option<&[u8]>)> {
        args(s).collect()
    }

    #[test]
    fn zero_is_no_size() {
        for v in [&b"0"[..], b"0M", b"000k", b"0%"] {
            assert!(!valid_size(v), "{v:?}");
        }
        assert!(valid_size(b"10M") && valid_size(b"1") && valid_size(b"50%"));
        let c = Cmdline::parse(b"overinit.size=0 overinit.inodes=0");
        assert_eq!((c.size, c.inodes), (None, None));
        assert_eq!(c.problems.iter().filter(|p| p.kind == ProblemKind::BadValue).count(), 2);
    }

    #[test]
    fn init_paths_have_one_limit() {
        let mut cmd = StdVec::from(&b"init=/"[..]);
        cmd.extend(core::iter::repeat_n(b'a', INIT_PATH_MAX - 1));
        let c = Cmdline::parse(&cmd);
        assert_eq!(c.init.map(<[u8]>::len), Some(INIT_PATH_MAX));
        assert!(c.first_fatal().is_none());
        drop(c);
        cmd.push(b'a');
        let c = Cmdline::parse(&cmd);
        assert_eq!(c.init, None);
        assert!(c.first_fatal().is_some_and(|p| p.key == b"init" && p.what().contains("255 bytes")));
    }

    #[test]
    fn splits_like_next_arg() {
        let got = split(b"  root=/dev/vda ro  quiet\n");
        assert_eq!(got, [(&b"root"[..], Some(&b"/dev/vda"[..])), (b"ro", None), (b"quiet", None)]);
    }

    #[test]
    fn last_token_without_newline_is_kept() {
        // rsinit's bug: the last token was dropped without a trailing newline.
        assert_eq!(split(b"a=1 rootwait"), [(&b"a"[..], Some(&b"1"[..])), (b"rootwait", None)]);
        assert_eq!(split(b"rootwait"), [(&b"rootwait"[..], None)]);
        let c = Cmdline::parse(b"root=/dev/vda");
        assert_eq!(c.root, Some(&b"/dev/vda"[..]));
    }

    #[test]
    fn quotes() {
        assert_eq!(split(br#"init="/bin/my init" x"#), [(&b"init"[..], Some(&b"/bin/my init"[..])), (b"x", None)]);
        assert_eq!(split(br#""rootflags=a b""#), [(&b"rootflags"[..], Some(&b"a b"[..]))]);
        assert_eq!(split(br#""quiet""#), [(&b"quiet"[..], None)]);
        // A quote in the middle toggles quoting but is kept.
        assert_eq!(split(br#"a=b"c d"e f"#), [(&b"a"[..], Some(&br#"b"c d"e"#[..])), (b"f", None)]);
        // Unbalanced quote: the rest of the line is one token.
        assert_eq!(split(br#"a="x y z"#), [(&b"a"[..], Some(&b"x y z"[..]))]);
        assert_eq!(split(br#"""#), [(&b""[..], None)]);
    }

    #[test]
    fn stops_at_double_dash_and_nul() {
        assert_eq!(split(b"ro -- single rw"), [(&b"ro"[..], None)]);
        assert_eq!(split(b"ro\0rw"), [(&b"ro"[..], None)]);
        let c = Cmdline::parse(b"rw -- ro");
        assert_eq!(c.ro, Some(false));
    }

    #[test]
    fn equals_at_start_is_not_a_separator() {
        assert_eq!(split(b"=x"), [(&b"=x"[..], None)]);
    }

    #[test]
    fn whole_struct() {
        let c = Cmdline::parse(
            b"console=ttyS0 root=UUID=abc rootfstype=ext4 rootflags=noatime ro rootwait rootdelay=3 \
              init=/sbin/init panic=-1 quiet overinit.state=LABEL=STATE overinit.statefstype=ext4 \
              overinit.stateflags=nodev overinit.size=512M overinit.timeout=5 overinit.debug",
        );
        let want = Cmdline {
            root: Some(b"UUID=abc"),
            rootfstype: Some(b"ext4"),
            rootflags: Some(b"noatime"),
            ro: Some(true),
            rootwait: true,
            rootdelay: Some(3),
            init: Some(b"/sbin/init"),
            panic: Some(-1),
            quiet: true,
            state: Some(b"LABEL=STATE"),
            statefstype: Some(b"ext4"),
            stateflags: Some(b"nodev"),
            size: Some(b"512M"),
            timeout: Some(5),
            debug: true,
            on_error: None,
            break_before: None,
            state_nofail: false,
            overlay: OverlayMode::On,
            persist: None,
            inodes: None,
            overlayopts: None,
            layers: None,
            reset: false,
            state_onerror: StateOnError::Ro,
            roothash: None,
            verity_data: None,
            verity_hash: None,
            verity_options: None,
            problems: Vec::new(),
            problem_count: 0,
        };
        assert_eq!(c, want);
    }

    #[test]
    fn last_duplicate_wins_and_config_is_overridden() {
        let c = Cmdline::parse(b"root=/dev/vda root=/dev/vdb ro rw");
        assert_eq!(c.root, Some(&b"/dev/vdb"[..]));
        assert_eq!(c.ro, Some(false));
        let mut c = Cmdline::parse(b"overinit.size=2G overinit.state=/dev/vdb");
        c.apply(b"overinit.size=3G");
        assert_eq!(c.size, Some(&b"3G"[..]));
        assert_eq!(c.state, Some(&b"/dev/vdb"[..]));
    }

    #[test]
    fn problems_are_reported() {
        let c = Cmdline::parse(b"overinit.bogus=1 overinit.size=lots overinit.state overinit.timeout=x rootdelay=x");
        let kinds: StdVec<_> = c.problems.iter().map(|p| (p.kind, p.key)).collect();
        assert_eq!(
            kinds,
            [
                (ProblemKind::UnknownKey, &b"overinit.bogus"[..]),
                (ProblemKind::BadValue, b"overinit.size"),
                (ProblemKind::MissingValue, b"overinit.state"),
                (ProblemKind::BadValue, b"overinit.timeout"),
            ]
        );
        assert_eq!(c.first_fatal().unwrap().key, b"overinit.size");
        assert_eq!(c.rootdelay, None);
        let only_unknown = Cmdline::parse(b"overinit.nope");
        assert!(only_unknown.first_fatal().is_none());
    }

    #[test]
    fn problem_list_is_bounded_but_counted() {
        let mut s = StdVec::new();
        for _ in 0..200 {
            s.extend_from_slice(b"overinit.x=1 ");
        }
        let c = Cmdline::parse(&s);
        assert_eq!(c.problems.len(), MAX_PROBLEMS);
        assert_eq!(c.problem_count, 200);
    }

    #[test]
    fn failure_policy_keys() {
        let c = Cmdline::parse(
            b"overinit.on_error=reboot:10 overinit.break=overlay overinit.state.nofail overinit.overlay=try",
        );
        assert_eq!(c.on_error, Some(OnError::Reboot(10)));
        assert_eq!(c.break_before, Some(crate::plan::Phase::Overlay));
        assert!(c.state_nofail);
        assert_eq!(c.overlay, OverlayMode::Try);
        assert_eq!(parse_on_error(b"poweroff"), Some(OnError::Poweroff(0)));
        assert_eq!(parse_on_error(b"shell"), Some(OnError::Shell));
        assert_eq!(parse_on_error(b"shell:3"), None);
        assert_eq!(parse_on_error(b"reboot:"), None);
        assert_eq!(parse_on_error(b"reboot:x"), None);
        let bad = Cmdline::parse(b"overinit.on_error=explode overinit.break=cmdline overinit.overlay=maybe");
        assert_eq!(bad.problem_count, 3);
        assert!(bad.problems.iter().all(|p| p.kind == ProblemKind::BadValue));
    }

    #[test]
    fn lifecycle_keys() {
        let c = Cmdline::parse(b"overinit.reset overinit.state.onerror=volatile");
        assert!(c.reset);
        assert_eq!(c.state_onerror, StateOnError::Volatile);
        let c = Cmdline::parse(b"overinit.reset=1 overinit.reset=0 overinit.state.onerror=halt");
        assert!(!c.reset);
        assert_eq!(c.state_onerror, StateOnError::Halt);
        assert_eq!(Cmdline::parse(b"").state_onerror, StateOnError::Ro);
        let bad = Cmdline::parse(b"overinit.reset=maybe overinit.state.onerror=reset overinit.state.onerror");
        assert_eq!(bad.problem_count, 3);
        assert!(bad.problems.iter().all(|p| p.kind == ProblemKind::BadValue));
    }

    #[test]
    fn every_listed_key_is_parsed() {
        let plain = Cmdline::parse(b"");
        for key in KERNEL_KEYS.iter().filter(|k| **k != "--") {
            let flag = matches!(*key, "ro" | "rw" | "rootwait" | "quiet");
            let text = std::format!("{key}{}", if flag { "" } else { "=7" });
            assert_ne!(Cmdline::parse(text.as_bytes()), plain, "{key} is listed but not parsed");
        }
        assert_eq!(Cmdline::parse(b"-- rw").ro, None);
        for (key, _) in OVERINIT_KEYS {
            let text = std::format!("overinit.{key}");
            let c = Cmdline::parse(text.as_bytes());
            assert!(
                c.problems.iter().all(|p| p.kind != ProblemKind::UnknownKey),
                "overinit.{key} is listed but unknown"
            );
        }
    }

    #[test]
    fn verity_keys() {
        let h = "ab".repeat(32);
        let line = std::format!(
            "root=/dev/vda roothash={h} systemd.verity_root_data=PARTLABEL=root systemd.verity_root_hash=/dev/vdb systemd.verity_root_options=check-at-most-once,hash-offset=4096"
        );
        let c = Cmdline::parse(line.as_bytes());
        assert_eq!(c.problem_count, 0);
        assert_eq!(c.roothash, Some(h.as_bytes()));
        assert_eq!(c.verity_data, Some(&b"PARTLABEL=root"[..]));
        assert_eq!(c.verity_hash, Some(&b"/dev/vdb"[..]));
        assert_eq!(c.verity_options, Some(&b"check-at-most-once,hash-offset=4096"[..]));
        // Refused, naming what: short, not hex, a bad device, an unknown word.
        for (line, key, value) in [
            ("roothash=abcd", "roothash", "abcd"),
            (&*std::format!("roothash={}", "g".repeat(64)), "roothash", &*"g".repeat(64)),
            ("systemd.verity_root_data=FOO=bar", "systemd.verity_root_data", "FOO=bar"),
            ("systemd.verity_root_options=ignore-corruption,frobnicate", "systemd.verity_root_options", "frobnicate"),
        ] {
            let c = Cmdline::parse(line.as_bytes());
            let p = c.first_fatal().expect(line);
            assert_eq!((p.key, p.value), (key.as_bytes(), value.as_bytes()), "{line}");
            assert_eq!((c.roothash, c.verity_data, c.verity_options), (None, None, None));
        }
        let c = Cmdline::parse(b"systemd.verity_root_options=ignore-corruption,frobnicate");
        assert_eq!(c.first_fatal().unwrap().what(), "unknown verity option");
        // 40 and 128 digits are fine here (sha1, sha512); the superblock decides.
        for n in [40, 128] {
            let line = std::format!("roothash={}", "0".repeat(n));
            assert_eq!(Cmdline::parse(line.as_bytes()).problem_count, 0);
        }
    }

    #[test]
    fn verified_layers() {
        let h = "ab".repeat(32);
        let item = std::format!("/data/state/layers/tools.erofs:{h}");
        assert_eq!(layer_roothash(item.as_bytes()), (&b"/data/state/layers/tools.erofs"[..], Some(h.as_bytes())));
        assert_eq!(layer_rule(item.as_bytes()), None);
        // MAJ:MIN is no root hash; a device layer cannot be verified (yet).
        assert_eq!(layer_roothash(b"8:1"), (&b"8:1"[..], None));
        assert!(layer_rule(std::format!("LABEL=apps:{h}").as_bytes()).is_some());
        let line = std::format!("overinit.layers=/dev/vdc,{item}");
        assert_eq!(Cmdline::parse(line.as_bytes()).problem_count, 0);
        let mut out = [0u8; 64];
        assert_eq!(verity_sidecar(b"/data/state/l/tools.erofs", &mut out), Some(&b"/data/state/l/tools.verity"[..]));
        assert_eq!(verity_sidecar(b"/data/state/l.d/tools", &mut out), Some(&b"/data/state/l.d/tools.verity"[..]));
        assert_eq!(verity_sidecar(b"/data/state/l/.hidden", &mut out), Some(&b"/data/state/l/.hidden.verity"[..]));
        assert_eq!(verity_sidecar(&[b'a'; 60], &mut out), None);
    }

    #[test]
    fn persist_paths() {
        let c = Cmdline::parse(b"overinit.persist=/etc/ssh,/var/lib/docker,,/etc/machine-id");
        assert_eq!(c.problem_count, 0);
        let got: StdVec<&[u8]> = items(c.persist).collect();
        assert_eq!(got, [&b"/etc/ssh"[..], b"/var/lib/docker", b"/etc/machine-id"]);
        // The config file sets it, the command line replaces it, empty unsets.
        let mut c = Cmdline::parse(b"overinit.persist=/a");
        c.apply(b"overinit.persist=/b");
        assert_eq!(c.persist, Some(&b"/b"[..]));
        c.apply(b"overinit.persist=");
        assert_eq!(c.persist, None);
        for (bad, why) in [
            (&b"etc/ssh"[..], BAD_PATH),
            (b"/", BAD_PATH),
            (b"/etc/", BAD_PATH),
            (b"/etc//ssh", BAD_PATH),
            (b"/etc/../root", BAD_PATH),
            (b"/./etc", BAD_PATH),
            (b"/etc/.", BAD_PATH),
            (b"/data/state", BAD_PATH),
            (b"/proc", BAD_PATH),
            (b"/sys/fs", BAD_PATH),
        ] {
            assert_eq!(persist_rule(bad), Some(why), "{bad:?}");
            let mut line = StdVec::from(&b"overinit.persist=/ok,"[..]);
            line.extend_from_slice(bad);
            let c = Cmdline::parse(&line);
            // The problem names the offending item, not the whole list.
            assert_eq!(
                c.problems[..],
                [Problem { kind: ProblemKind::Rule(why), key: b"overinit.persist", value: bad }]
            );
            assert_eq!(c.first_fatal().unwrap().what(), why);
            assert_eq!(c.persist, None);
        }
        assert_eq!(persist_rule(b"/var/datax"), None);
        assert_eq!(persist_rule(b"/root/.ssh"), None);
        assert_eq!(persist_rule(b""), Some(BAD_PATH));
        assert_eq!(persist_rule(b"/device"), None);
        assert_eq!(persist_rule(b"/var/lib/dev"), None);
        assert_eq!(persist_rule(b"/etc/..x"), None);
        assert_eq!(persist_rule(b"/x/data"), None);
        let long = [b'a'; PERSIST_PATH_MAX];
        let mut p = StdVec::from(&b"/"[..]);
        p.extend_from_slice(&long[1..]);
        assert_eq!(persist_rule(&p), None);
        p.push(b'a');
        assert_eq!(persist_rule(&p), Some("persisted path longer than 200 bytes"));
        let mut many = StdVec::from(&b"overinit.persist="[..]);
        for i in 0..=MAX_PERSIST {
            many.extend_from_slice(std::format!("/p{i},").as_bytes());
        }
        let c = Cmdline::parse(&many);
        assert_eq!(c.first_fatal().unwrap().what(), "more than 16 persisted paths");
        assert_eq!(c.first_fatal().unwrap().value, b"/p16");
    }

    #[test]
    fn layers() {
        let c = Cmdline::parse(b"overinit.layers=/data/state/l/a.erofs,LABEL=APPS,/dev/vdc");
        assert_eq!((c.layers, c.problem_count), (Some(&b"/data/state/l/a.erofs,LABEL=APPS,/dev/vdc"[..]), 0));
        for bad in [&b"/data/state/../x"[..], b"/data/statex/a", b"/data/state/", b"LABEL=", b"vdc", b"/etc/a.erofs"] {
            let mut line = StdVec::from(&b"overinit.layers=/dev/vdc,"[..]);
            line.extend_from_slice(bad);
            let c = Cmdline::parse(&line);
            assert_eq!(c.layers, None, "{}", std::string::String::from_utf8_lossy(bad));
            let p = c.first_fatal().unwrap();
            assert_eq!((p.key, p.value), (&b"overinit.layers"[..], bad));
        }
        let mut many = StdVec::from(&b"overinit.layers="[..]);
        for i in 0..=MAX_LAYERS {
            many.extend_from_slice(std::format!("/dev/vd{i},").as_bytes());
        }
        assert_eq!(Cmdline::parse(&many).first_fatal().unwrap().what(), "more than 8 layers");
    }

    #[test]
    fn inodes_and_overlay_options() {
        let c =
            Cmdline::parse(b"overinit.inodes=64k overinit.overlayopts=redirect_dir=on,metacopy=on overinit.size=25%");
        assert_eq!((c.inodes, c.size), (Some(&b"64k"[..]), Some(&b"25%"[..])));
        assert_eq!(c.overlayopts, Some(&b"redirect_dir=on,metacopy=on"[..]));
        assert_eq!(c.problem_count, 0);
        for bad in [&b"overinit.inodes=50%"[..], b"overinit.inodes=x", b"overinit.inodes"] {
            assert_eq!(Cmdline::parse(bad).first_fatal().unwrap().kind, ProblemKind::BadValue);
        }
        // Split and checked when the plan is built (plan.rs tests).
        assert_eq!(Cmdline::parse(b"overinit.overlayopts=").overlayopts, None);
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_u32(b"4294967295"), Some(u32::MAX));
        assert_eq!(parse_u32(b"4294967296"), None);
        assert_eq!(parse_u32(b""), None);
        assert_eq!(parse_u32(b"1x"), None);
        assert_eq!(parse_i32(b"-2147483648"), Some(i32::MIN));
        assert_eq!(parse_i32(b"2147483648"), None);
        assert_eq!(parse_i32(b"-"), None);
        assert!(valid_size(b"1G") && valid_size(b"50%") && valid_size(b"1048576"));
        assert!(!valid_size(b"G") && !valid_size(b"1GB") && !valid_size(b"-1") && !valid_size(b""));
    }

    #[test]
    fn non_utf8_survives() {
        let c = Cmdline::parse(b"root=/dev/\xff\xfe init=\xa0/x");
        assert_eq!(c.root, Some(&b"/dev/\xff\xfe"[..]));
        // 0xA0 is whitespace to the kernel.
        assert_eq!(c.init, Some(&b""[..]).filter(|_| false));
    }

    #[test]
    fn never_panics_on_any_short_input() {
        // Exhaustive over all 3-byte strings of an interesting alphabet.
        let alphabet = [b' ', b'"', b'=', b'-', b'a', 0, 0xa0, b'\n'];
        for a in alphabet {
            for b in alphabet {
                for c in alphabet {
                    for d in alphabet {
                        let s = [a, b, c, d];
                        let _ = Cmdline::parse(&s);
                        for (k, v) in args(&s) {
                            assert!(k.len() + v.map_or(0, <[u8]>::len) <= s.len());
                        }
                    }
                }
            }
        }
    }
}
