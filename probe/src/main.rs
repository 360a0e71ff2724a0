//! overinit-probe: the test-only real init for `qemu-test.sh`.
//!
//! Installed as `/sbin/init` in the test root image, it runs as PID 1 right
//! after overinit's switch, reports what it sees over the serial console and
//! powers the VM off. For the rig's self-test it can also be the initramfs's
//! own `/init` (it then mounts `/dev`, `/proc` and `/sys` itself).
//!
//! ```text
//!  marker → /dev/kmsg ─▶ report pid/argv/env/cmdline ─▶ kmsg: ms_initramfs,
//!  overinit: lines ─▶ mountinfo ─▶ meminfo ─▶ probe.read ─▶ probe.write
//!  ─▶ probe.check ─▶ "@probe end" ─▶ sync + power off (or probe.hold)
//! ```
//!
//! # Kernel command line (read from `/proc/cmdline`, not from argv)
//!
//! The kernel never hands dotted keys to init, and overinit must not take them
//! for its own, so every key has the `probe.` prefix. Lists are comma
//! separated; the last occurrence of a key wins (as for kernel parameters);
//! nothing after `--` is read.
//!
//! | key | effect |
//! |---|---|
//! | `probe.check=NAME,…` | run checks: `endstate`, `unshare`, `pid1`, `meminfo` |
//! | `probe.read=PATH,…` | report each file's content (`@probe file`) |
//! | `probe.write=PATH,…` | write a boot-unique token to each (`@probe wrote`) |
//! | `probe.size=SIZE` | expected `size=` of the `/data/system` tmpfs, as mountinfo prints it (`1048576k`) |
//! | `probe.hold=1` | do not power off: report, then stay alive reaping children |
//! | `probe.fill=PATH,…` | write each file until a write fails (`@probe fill`), after the writes |
//!
//! Reads happen before writes, so one boot can report what the previous boot
//! left and then leave its own token. An unknown `probe.*` key or check name
//! is reported as a failing check, never ignored.
//!
//! # Output (stdout = /dev/console = serial)
//!
//! Every line is `@probe KEY REST`, written with a single write(2):
//!
//! ```text
//! @probe start overinit-probe 0.1.0
//! @probe setup mounted devtmpfs on /dev        (only when the probe had to)
//! @probe pid 1
//! @probe argv 0 /sbin/init
//! @probe fds 0 1 2                             (open fds inherited at exec)
//! @probe clock_us 2345678 1767225600123456     (CLOCK_MONOTONIC CLOCK_REALTIME at start, µs)
//! @probe deserialize 3 initrd-timestamp=…      (fd N of `--deserialize N`, escaped; ERROR …)
//! @probe env HOME=/
//! @probe cmdline console=ttyS0 …
//! @probe kmsg_usec run_init 1234567            (kernel timestamps, µs)
//! @probe kmsg_usec marker 1477823
//! @probe ms_initramfs 243.3                    (marker − "Run /init as init process")
//! @probe kmsg overinit: …                      (every kmsg record starting "overinit:")
//! @probe mount 22 1 0:21 / / rw,relatime - overlay overlay rw,lowerdir=…   (raw mountinfo)
//! @probe meminfo MemTotal 492512               (also MemFree, MemAvailable; kB)
//! @probe file /home/marker 3f0c…|ABSENT|ERROR Permission denied (os error 13)
//! @probe file /sys/block/dm-0/slaves DIR vda vdc   (a directory: its entries, sorted)
//! @probe wrote /home/marker 3f0c…
//! @probe fill /big 16777216 No space left on device (os error 28)   (bytes written, the error that stopped it)
//! @probe check NAME PASS|FAIL detail           (endstate also has endstate.* sub-checks)
//! @probe panic …                               (the probe itself panicked)
//! @probe end 3 checks, 0 failed
//! @probe hold staying alive (probe.hold=1)   (only with probe.hold)
//! ```
//!
//! `endstate` reports one `endstate.NAME` check per requirement of docs/design.md §4
//! (`root overlay_dirs upper_work_dev run dev proc sys cgroup home data
//! data_system data_state tmp no_oldroot`), then `endstate` itself (PASS
//! when all hold). `unshare` does what `unshare -U -r true` does, in a child.
//!
//! Checks that cannot run (no `/proc/self/mountinfo`, no `/dev/kmsg`, a failed
//! write) are reported as `@probe check … FAIL`, so one rule on the host —
//! no FAIL, and an `end` line — catches every problem.
//!
//! stdio must be open on entry (std's startup aborts when fds 0-2 are closed
//! and `/dev/null` is missing): overinit hands over the console, and the
//! kernel opens the image's `/dev/console` for the rig's self-test.
//!
//! Safety on a host: when not PID 1 the probe mounts nothing, writes no kmsg
//! marker and never calls reboot(2); it reports and exits (status 1 if a check
//! failed). `PROBE_CMDLINE` then replaces `/proc/cmdline`, for trying it out.
#![deny(unsafe_code)]

mod cmdline;
mod endstate;
mod kmsg;
mod mountinfo;
mod out;
mod sys;

use std::io::ErrorKind;
use std::os::unix::fs::MetadataExt;

use cmdline::ProbeArgs;
use out::Report;

/// The kmsg marker whose timestamp ends the initramfs phase.
const MARKER: &str = "overinit-probe: start";

fn main() {
    // 0. What was inherited, before anything is opened: fds and the clocks.
    let fds = sys::open_fds();
    let clocks = sys::clocks_us();
    let pid1 = sys::getpid() == 1;

    // 1. The marker, first. Only mount what is missing (rig self-test, where
    // the probe is the initramfs's /init and nothing is mounted yet).
    let mut setup = Vec::new();
    if pid1 {
        setup = sys::ensure_early_mounts();
        if let Err(e) = sys::kmsg_write(MARKER) {
            setup.push(format!("kmsg marker not written: {e}"));
        }
    }
    std::panic::set_hook(Box::new(move |info| {
        out::line("panic", &info.to_string());
        if pid1 {
            sys::power_off();
        }
    }));

    let mut r = Report::default();
    out::line("start", concat!("overinit-probe ", env!("CARGO_PKG_VERSION")));
    for s in &setup {
        out::line("setup", s);
    }
    report_process(&fds, clocks);

    let raw_cmdline = match std::env::var("PROBE_CMDLINE") {
        Ok(c) if !pid1 => c,
        // Lossy: a command line may hold any bytes (the garbage scenario).
        _ => std::fs::read("/proc/cmdline").map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_else(|e| {
            r.check("cmdline", false, &format!("cannot read /proc/cmdline: {e}"));
            String::new()
        }),
    };
    out::line("cmdline", raw_cmdline.trim_end());
    let args = cmdline::parse(&raw_cmdline);
    for key in &args.unknown {
        r.check("cmdline", false, &format!("unknown key {key}"));
    }

    report_kmsg(&mut r, pid1);
    let mounts = report_mounts(&mut r);
    report_meminfo(&mut r, false);

    for path in &args.read {
        report_file(path);
    }
    if !args.write.is_empty() {
        let token = boot_token();
        for path in &args.write {
            match write_token(path, &token) {
                Ok(()) => out::line("wrote", &format!("{path} {token}")),
                Err(e) => r.check("write", false, &format!("{path}: {e}")),
            }
        }
    }

    for path in &args.fill {
        out::line("fill", &format!("{path} {}", fill(path)));
    }

    run_checks(&mut r, &args, mounts.as_deref());

    out::line("end", &format!("{} checks, {} failed", r.checks, r.failed));
    finish(pid1, &args, r.failed)
}

fn report_process(fds: &[i32], (monotonic, realtime): (u64, u64)) {
    out::line("pid", &sys::getpid().to_string());
    let args: Vec<String> = std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect();
    for (i, a) in args.iter().enumerate() {
        out::line("argv", &format!("{i} {a}"));
    }
    out::line("fds", &fds.iter().map(|fd| fd.to_string()).collect::<Vec<_>>().join(" "));
    out::line("clock_us", &format!("{monotonic} {realtime}"));
    // systemd's serialization fd (`--deserialize N`, as overinit hands it
    // over): read from its current offset, as systemd would.
    if let Some(n) = args.iter().position(|a| a == "--deserialize").and_then(|i| args.get(i + 1)) {
        let shown =
            match n.parse().map_err(|e| format!("{e}")).and_then(|fd| sys::read_fd(fd).map_err(|e| e.to_string())) {
                Ok(bytes) => out::escape(&String::from_utf8_lossy(&bytes)),
                Err(e) => format!("ERROR {e}"),
            };
        out::line("deserialize", &format!("{n} {shown}"));
    }
    for (k, v) in std::env::vars_os() {
        out::line("env", &format!("{}={}", k.to_string_lossy(), v.to_string_lossy()));
    }
}

/// kmsg: the initramfs time and every `overinit:` line.
fn report_kmsg(r: &mut Report, pid1: bool) {
    let records = match sys::kmsg_read_all() {
        Ok(recs) => recs,
        Err(e) => {
            r.check("kmsg", false, &format!("cannot read /dev/kmsg: {e}"));
            return;
        }
    };
    let parsed: Vec<kmsg::Record> = records.iter().filter_map(|b| kmsg::parse_record(b)).collect();
    for rec in &parsed {
        if rec.message.starts_with("overinit:") {
            out::line("kmsg", &rec.message);
        }
    }
    if !pid1 {
        return; // no marker of ours in a host's log
    }
    match kmsg::initramfs_usec(&parsed, MARKER) {
        Ok(t) => {
            out::line("kmsg_usec", &format!("run_init {}", t.run_init));
            out::line("kmsg_usec", &format!("marker {}", t.marker));
            out::line("ms_initramfs", &kmsg::format_ms(t.marker - t.run_init));
        }
        Err(e) => r.check("ms_initramfs", false, &e),
    }
}

fn report_mounts(r: &mut Report) -> Option<Vec<mountinfo::Mount>> {
    let text = match std::fs::read_to_string("/proc/self/mountinfo") {
        Ok(t) => t,
        Err(e) => {
            r.check("mountinfo", false, &format!("cannot read /proc/self/mountinfo: {e}"));
            return None;
        }
    };
    for line in text.lines() {
        out::line("mount", line);
    }
    match mountinfo::parse(&text) {
        Ok(m) => Some(m),
        Err(e) => {
            r.check("mountinfo", false, &e);
            None
        }
    }
}

/// Reports MemTotal/MemFree/MemAvailable; as the `meminfo` check, also
/// says whether all three were found.
fn report_meminfo(r: &mut Report, as_check: bool) {
    const KEYS: [&str; 3] = ["MemTotal", "MemFree", "MemAvailable"];
    let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mut found = Vec::new();
    for line in text.lines() {
        let mut f = line.split_whitespace();
        if let (Some(k), Some(v)) = (f.next(), f.next()) {
            let k = k.trim_end_matches(':');
            if KEYS.contains(&k) {
                if !as_check {
                    out::line("meminfo", &format!("{k} {v}"));
                }
                found.push(format!("{k}={v}kB"));
            }
        }
    }
    if as_check {
        let ok = found.len() == KEYS.len();
        let detail = if ok { found.join(" ") } else { format!("found only: {}", found.join(" ")) };
        r.check("meminfo", ok, &detail);
    }
}

/// `@probe file PATH CONTENT|ABSENT|ERROR …`: content with the trailing
/// newline dropped, other control bytes escaped, at most 4 KiB.
fn report_file(path: &str) {
    // A directory: its entries, sorted (e.g. /sys/block/dm-0/slaves).
    if let Ok(dir) = std::fs::read_dir(path) {
        let mut names: Vec<String> = dir.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        out::line("file", &format!("{path} DIR {}", out::escape(&names.join(" "))));
        return;
    }
    let shown = match std::fs::read(path) {
        Ok(bytes) => {
            let cut = &bytes[..bytes.len().min(4096)];
            let s = String::from_utf8_lossy(cut);
            out::escape(s.strip_suffix('\n').unwrap_or(&s))
        }
        Err(e) if e.kind() == ErrorKind::NotFound => "ABSENT".into(),
        Err(e) => format!("ERROR {e}"),
    };
    out::line("file", &format!("{path} {shown}"));
}

/// A token unique to this boot: the kernel's boot_id, or random bytes.
fn boot_token() -> String {
    match std::fs::read_to_string("/proc/sys/kernel/random/boot_id") {
        Ok(id) if !id.trim().is_empty() => id.trim().to_string(),
        _ => sys::random_hex(16),
    }
}

fn write_token(path: &str, token: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::File::create(path)?;
    f.write_all(format!("{token}\n").as_bytes())?;
    f.sync_all()
}

/// Write `path` until a write fails (at most 4 GiB): `BYTES ERROR`.
fn fill(path: &str) -> String {
    use std::io::Write;
    let block = vec![0x5a_u8; 1 << 16];
    let mut n: u64 = 0;
    let err = match std::fs::File::create(path) {
        Err(e) => e,
        Ok(mut f) => loop {
            match f.write(&block) {
                Ok(k) if k > 0 && n < 1 << 32 => n += k as u64,
                Ok(_) => break std::io::Error::other("no error before 4 GiB"),
                Err(e) => break e,
            }
        },
    };
    format!("{n} {err}")
}

fn run_checks(r: &mut Report, args: &ProbeArgs, mounts: Option<&[mountinfo::Mount]>) {
    for name in &args.checks {
        match name.as_str() {
            "pid1" => {
                let pid = sys::getpid();
                r.check("pid1", pid == 1, &format!("getpid()={pid}"));
            }
            "unshare" => match sys::try_unshare_user() {
                Ok(()) => r.check("unshare", true, "unshare(CLONE_NEWUSER) and uid/gid maps ok"),
                Err(e) => r.check("unshare", false, &e),
            },
            "meminfo" => report_meminfo(r, true),
            "flags" => match mounts {
                None => r.check("flags", false, "no parsed mountinfo"),
                Some(m) => {
                    let c = endstate::flags(m);
                    r.check("flags", c.pass, &c.detail);
                }
            },
            "endstate" => match mounts {
                None => r.check("endstate", false, "no parsed mountinfo"),
                Some(m) => {
                    let mut results = endstate::check(m, &stat_path, args.size.as_deref());
                    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
                    let rdev = |p: &str| {
                        let m = std::fs::metadata(p).map_err(|e| e.to_string())?;
                        Ok(mountinfo::dev_split(std::os::unix::fs::MetadataExt::rdev(&m)))
                    };
                    let is_block =
                        |(a, b): (u32, u32)| std::path::Path::new(&format!("/sys/dev/block/{a}:{b}")).exists();
                    let btrfs = || {
                        let fs = std::fs::read_dir("/sys/fs/btrfs").into_iter().flatten().flatten();
                        fs.flat_map(|f| std::fs::read_dir(f.path().join("devices")).into_iter().flatten().flatten())
                            .map(|d| d.file_name().to_string_lossy().into_owned())
                            .collect()
                    };
                    let devices = endstate::Devices { rdev: &rdev, is_block: &is_block, btrfs: &btrfs };
                    results.push(endstate::lower(m, endstate::exe_device(&maps), args.root.as_deref(), &devices));
                    let failed: Vec<&str> = results.iter().filter(|c| !c.pass).map(|c| c.name).collect();
                    for c in &results {
                        r.check(&format!("endstate.{}", c.name), c.pass, &c.detail);
                    }
                    let detail = if failed.is_empty() {
                        format!("{} requirements hold", results.len())
                    } else {
                        format!("failed: {}", failed.join(","))
                    };
                    r.check("endstate", failed.is_empty(), &detail);
                }
            },
            other => r.check(other, false, "unknown check name"),
        }
    }
}

fn stat_path(path: &str) -> Result<endstate::Stat, String> {
    let m = std::fs::metadata(path).map_err(|e| e.to_string())?;
    Ok(endstate::Stat { dev: mountinfo::dev_split(m.dev()), mode: m.mode() & 0o7777 })
}

fn finish(pid1: bool, args: &ProbeArgs, failed: usize) -> ! {
    if !pid1 {
        std::process::exit(i32::from(failed > 0));
    }
    if args.hold {
        out::line("hold", "staying alive (probe.hold=1)");
        sys::hold_forever();
    }
    sys::power_off()
}
