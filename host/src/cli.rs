//! The command line of `overinit` and `overinit pack`, and their help.

use crate::{compress::Compression, error::Error, suggest};
use overinit::layout;
use std::{ffi::OsString, os::unix::ffi::OsStrExt as _, path::PathBuf};

pub const HELP: &str = "\
overinit: PID 1 for the initramfs (volatile overlay root, persistent state)

Usage:
  overinit pack --output FILE --init PATH [OPTIONS]
  overinit plan --cmdline \"KERNEL COMMAND LINE\" [--config FILE]
  overinit ls [--check] IMAGE
  overinit --help | --version

Commands:
  pack   write an initramfs image holding overinit, kernel modules and files
  plan   print the mounts the boot would make for a command line (touches nothing)
  ls     list an image: files, modules in load order, command-line defaults

Run 'overinit COMMAND --help' for the options of a command.
";

/// `overinit pack --help`; paths come from the layout so they cannot drift.
pub fn pack_help() -> String {
    format!(
        "\
Usage: overinit pack --output FILE --init PATH [OPTIONS]

Write an initramfs: a newc cpio archive (optionally compressed) holding the
overinit skeleton (/dev/console, mount points), PID 1 as /init, kernel modules
with their dependencies and extra files. No root needed. The same inputs give
the same bytes: owners are root, timestamps are SOURCE_DATE_EPOCH (else 0).

Options:
  -o, --output FILE          write the image here; it is replaced only once the
                             whole image is ready (required)
      --init PATH            the overinit PID 1 binary, stored as /init, mode 0755
                             (required; there is no safe default location, build
                             it with: cargo build --release
                             --target x86_64-unknown-linux-musl --bin init, or
                             aarch64-unknown-linux-musl for arm64); an ELF init
                             must be for the machine the modules are for
      --module NAME          add kernel module NAME and, from modules.dep, all it
                             needs; repeatable. '-' and '_' are the same, as in
                             modprobe; built-in modules are skipped with a note.
                             Modules load in the order given, each after its
                             dependencies. They are stored
                             decompressed as {modules}/NAME.ko and listed in
                             {list}
                             NAME may be an alias as modprobe takes it
                             (fs-overlay, crypto-crc32c, a pci:v... modalias;
                             modules.alias globs, modules.builtin.modinfo);
                             an alias meaning several modules is an error.
                             Softdeps (modules.softdep and modprobe.d
                             'softdep MOD pre: A post: B') are followed, all
                             modules of an alias packed, a cycle refused
      --hostonly             add what this machine needs for its root (and
                             state): the modalias of the block devices behind
                             / (or --root, or root= of --config) and their
                             parents in /sys, their filesystems and overlay,
                             resolved against the target kernel's indexes
      --verity               add device-mapper and dm-verity (dm_mod,
                             dm_verity and what they need) for a verified
                             base (roothash=, docs/verity.md); also done when
                             --config has roothash=. A kernel without them
                             refuses the pack
      --root DEVSPEC         with --hostonly: the root device instead of /
      --state DEVSPEC        with --hostonly: also the state device (default:
                             overinit.state= of --config)
      --modprobe-dir DIR     read kmod's configuration (*.conf) from DIR
                             instead of /etc/modprobe.d, /run/modprobe.d,
                             /usr/local/lib/modprobe.d, /lib/modprobe.d (a
                             foreign root's, say); repeatable, earlier wins.
                             'options MOD ...' become MOD's load parameters,
                             'blacklist MOD' drops MOD from alias matches
                             only (as modprobe). 'install'/'remove' for a
                             packed module refuse the pack (the image runs no
                             commands); other unknown lines are warnings
                             (modprobe itself skips them)
      --no-async-probe       do not give storage device drivers (modules under
                             kernel/drivers/{{ata,nvme,scsi,usb,mmc,block,virtio}}
                             with a device alias) the kernel's async_probe
                             parameter. With it (the default) they probe in
                             the background and load after the other modules:
                             the kernel waits for all async probes after
                             loading any module without async_probe
      --firmware-dir DIR     firmware declared by packed modules (modinfo
                             firmware=, also NAME.zst/.xz) is copied from DIR
                             (default /lib/firmware) into the image's
                             /lib/firmware; a missing file is a warning
      --kernel-release KVER  take modules from /lib/modules/KVER (an error if no
                             module is asked for, by --module or --hostonly);
                             --kver KVER is the same
      --modules-dir DIR      take modules from DIR (holding modules.dep)
                             (default for both: /lib/modules/$(uname -r), the
                             running kernel)
      --concurrent-modules   write modules that share no dependency as
                             separate groups, which init loads concurrently
                             when it has more than one CPU (off by default:
                             under QEMU TCG it was slower, see bench/NOTES.md)
      --add SRC:DEST         copy host file SRC (symlinks followed, mode kept) to
                             absolute path DEST in the image, making missing
                             parent directories (0755); a directory is copied
                             with its contents (symlinks in it kept as links,
                             hard links kept as hard links); device nodes are
                             copied as nodes; FIFOs and sockets are refused.
                             Repeatable
      --luks2-unlock PATH    the state is (or may be) a LUKS2 volume: store the
                             unlock helper PATH (cargo build --release --target
                             x86_64-unknown-linux-musl --bin luks2-unlock) as
                             {luks}, mode 0755, and add
                             the modules dm_crypt (with dm_mod) and xts. AES
                             itself is built into Debian's kernels; add
                             --module aesni_intel (x86_64) for its fast form.
                             In {confdir}/{conf}: luks2-unlock = PATH
      --compress ALG         none, gzip, zstd or xz (default: gzip, which every
                             kernel that unpacks compressed initramfs supports;
                             zstd and xz are smaller but optional in the
                             kernel's config)
      --config FILE          defaults for the kernel command line, stored as
                             {config}
                             Same syntax (space or newline separated, no
                             comments); the command line wins. Checked with
                             the boot's own parser: a bad value or unknown
                             overinit.* key refuses the pack
      --conf-dir DIR         read defaults from DIR/{conf} and DIR/conf.d/*.conf
                             instead of {confdir} (KEY = VALUE lines, KEY a long
                             option: init, modules, compress, config, add,
                             concurrent-modules = yes|no; '#' starts a comment
                             line); the command line comes after them, so its
                             values win and its --module adds to theirs.
                             {confdir} is read when it exists
      --no-conf              ignore {confdir}
  -h, --help                 show this help

On success pack prints the modules in load order, each with why it is
there (requested, dependency of X, softdep of X, alias, hostonly: DEVICE)
and its parameters. A kernel that has overlay or the root's filesystem
(hostonly's, rootfstype= of --config, else ext4) as a module the image
lacks gets a warning.

Exit status: 0 on success, 1 if the image cannot be made, 2 for usage errors.
",
        modules = layout::MODULES_DIR,
        list = layout::MODULE_LIST,
        config = layout::CONFIG,
        conf = crate::config_file::MAIN_FILE,
        confdir = crate::config_file::DEFAULT_DIR,
        luks = layout::LUKS2_UNLOCK,
    )
}

/// Options of the long form, for "did you mean" on a typo.
pub const PACK_OPTIONS: &[&str] = &[
    "output",
    "init",
    "module",
    "kernel-release",
    "kver",
    "modules-dir",
    "add",
    "compress",
    "config",
    "concurrent-modules",
    "conf-dir",
    "no-conf",
    "modprobe-dir",
    "no-async-probe",
    "firmware-dir",
    "hostonly",
    "luks2-unlock",
    "verity",
    "root",
    "state",
    "help",
];

/// Modules `--luks2-unlock` adds: dm-crypt (dm_mod comes as its
/// dependency) and the XTS mode of `aes-xts-plain64`, cryptsetup's default
/// (both `=m` in Debian 12's generic and cloud kernels; AES is `=y`).
pub const LUKS2_MODULES: &[&str] = &["dm_crypt", "xts"];

/// Where firmware files are read from (the kernel's firmware loader path).
pub const DEFAULT_FIRMWARE_DIR: &str = "/lib/firmware";

/// Where the modules come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModulesFrom {
    /// `/lib/modules/$(uname -r)`.
    RunningKernel,
    /// `/lib/modules/KVER`.
    Release(String),
    /// A modules directory given directly.
    Dir(PathBuf),
}

/// `--add SRC:DEST`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Add {
    pub src: PathBuf,
    pub dest: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackArgs {
    pub output: PathBuf,
    pub init: PathBuf,
    pub modules_from: ModulesFrom,
    pub modules: Vec<String>,
    pub adds: Vec<Add>,
    pub compress: Compression,
    /// `--config FILE`: the image's command-line defaults.
    pub config: Option<PathBuf>,
    /// `--concurrent-modules`: independent module groups in the list.
    pub concurrent_modules: bool,
    /// `--modprobe-dir DIR...`: read these instead of the host's modprobe.d
    /// directories (empty: libkmod's defaults).
    pub modprobe_dirs: Vec<PathBuf>,
    /// `async_probe` for storage drivers (off with `--no-async-probe`).
    pub async_probe: bool,
    /// `--firmware-dir DIR` (default /lib/firmware).
    pub firmware_dir: PathBuf,
    /// `--hostonly`: add the modules this machine needs for its root.
    pub hostonly: bool,
    /// `--root DEVSPEC` / `--state DEVSPEC` for `--hostonly`.
    pub root: Option<String>,
    pub state: Option<String>,
    /// `--verity`: pack device-mapper and dm-verity (a verified base,
    /// `roothash=`; also when `--config` has `roothash=`).
    pub verity: bool,
}

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Request<T> {
    Run(T),
    Help,
}

fn usage(msg: impl Into<String>) -> Error {
    Error::Usage(msg.into())
}

/// Parses the arguments after `pack`.
pub fn parse_pack(args: impl IntoIterator<Item = OsString>) -> Result<Request<PackArgs>, Error> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_args(args);
    let mut output = None;
    let mut init = None;
    let mut release = None;
    let mut modules_dir = None;
    let mut modules = Vec::new();
    let mut adds = Vec::new();
    let mut compress = Compression::DEFAULT;
    let mut config = None;
    let mut concurrent_modules = false;
    let mut modprobe_dirs = Vec::new();
    let mut async_probe = true;
    let mut firmware_dir = PathBuf::from(DEFAULT_FIRMWARE_DIR);
    let mut hostonly = false;
    let mut luks2_unlock = None;
    let mut verity = false;
    let (mut root, mut state) = (None, None);
    // lexopt's own messages ("missing argument for option '--init'") are clear.
    let lex = |e: lexopt::Error| usage(e.to_string());
    while let Some(arg) = parser.next().map_err(lex)? {
        match arg {
            Short('h') | Long("help") => return Ok(Request::Help),
            Short('o') | Long("output") => output = Some(PathBuf::from(parser.value().map_err(lex)?)),
            Long("init") => init = Some(PathBuf::from(parser.value().map_err(lex)?)),
            // --kver: mkinitcpio's -k/--kernel and dracut's --kver.
            Long("kernel-release") | Long("kver") => {
                let kver = parser.value().map_err(lex)?.string().map_err(lex)?;
                if kver.is_empty() || kver.contains('/') {
                    return Err(usage(format!(
                        "--kernel-release {kver:?} is not a kernel release like 6.1.0-56-cloud-amd64 \
                         (for a directory use --modules-dir)"
                    )));
                }
                release = Some(kver);
            }
            Long("modules-dir") => modules_dir = Some(PathBuf::from(parser.value().map_err(lex)?)),
            Long("module") => {
                let name = parser.value().map_err(lex)?.string().map_err(lex)?;
                if name.is_empty() {
                    return Err(usage("--module needs a module name"));
                }
                modules.push(name);
            }
            Long("add") => adds.push(parse_add(parser.value().map_err(lex)?)?),
            Long("luks2-unlock") => luks2_unlock = Some(PathBuf::from(parser.value().map_err(lex)?)),
            Long("config") => config = Some(PathBuf::from(parser.value().map_err(lex)?)),
            Long("concurrent-modules") => concurrent_modules = true,
            Long("modprobe-dir") => modprobe_dirs.push(PathBuf::from(parser.value().map_err(lex)?)),
            Long("no-async-probe") => async_probe = false,
            Long("firmware-dir") => firmware_dir = PathBuf::from(parser.value().map_err(lex)?),
            Long("hostonly") => hostonly = true,
            Long("verity") => verity = true,
            Long("root") | Long("state") => {
                let which = if matches!(arg, Long("root")) { "root" } else { "state" };
                let spec = parser.value().map_err(lex)?.string().map_err(lex)?;
                if let Err(e) = overinit::devspec::DevSpec::parse(spec.as_bytes()) {
                    return Err(usage(format!("--{which} {spec:?}: {}", e.message())));
                }
                match which {
                    "root" => root = Some(spec),
                    _ => state = Some(spec),
                }
            }
            Long("compress") => {
                let name = parser.value().map_err(lex)?.string().map_err(lex)?;
                compress = Compression::from_name(&name)
                    .ok_or_else(|| usage(format!("--compress {name:?}: expected none, gzip, zstd or xz")))?;
            }
            other => return Err(unexpected(other, PACK_OPTIONS)),
        }
    }
    // LUKS2 (docs/luks2.md): the helper, dm-crypt and the XTS mode; the
    // helper at the path init runs it from.
    if let Some(src) = luks2_unlock {
        adds.push(Add { src, dest: PathBuf::from(layout::LUKS2_UNLOCK) });
        for m in LUKS2_MODULES {
            if !modules.iter().any(|have| have.replace('-', "_") == *m) {
                modules.push(m.to_string());
            }
        }
    }
    let output = output.ok_or_else(|| usage("missing --output FILE (where to write the image)"))?;
    let init = init.ok_or_else(|| usage("missing --init PATH (the overinit init binary to store as /init)"))?;
    let modules_from = match (release, modules_dir) {
        (Some(_), Some(_)) => return Err(usage("--kernel-release and --modules-dir both name the modules; give one")),
        (Some(kver), None) if modules.is_empty() && !hostonly && !verity => {
            return Err(usage(format!(
                "--kernel-release {kver} given, but no --module asks for modules from it (nor \
                 --hostonly, nor modules = … in {}/{}): the image would not depend on that kernel; add \
                 --module NAME or drop --kernel-release",
                crate::config_file::DEFAULT_DIR,
                crate::config_file::MAIN_FILE
            )))
        }
        (Some(kver), None) => ModulesFrom::Release(kver),
        (None, Some(dir)) => ModulesFrom::Dir(dir),
        (None, None) => ModulesFrom::RunningKernel,
    };
    if (root.is_some() || state.is_some()) && !hostonly {
        return Err(usage("--root and --state only name devices for --hostonly"));
    }
    Ok(Request::Run(PackArgs {
        output,
        init,
        modules_from,
        modules,
        adds,
        compress,
        config,
        concurrent_modules,
        modprobe_dirs,
        async_probe,
        firmware_dir,
        hostonly,
        root,
        state,
        verity,
    }))
}

/// An argument no option of `options` takes: an unknown long option with
/// "did you mean", or lexopt's own message.
fn unexpected(arg: lexopt::Arg<'_>, options: &[&str]) -> Error {
    match arg {
        lexopt::Arg::Long(other) => {
            let hint = suggest::closest(other, options.iter().copied());
            let hint: Vec<String> = hint.iter().map(|o| format!("--{o}")).collect();
            let hint: Vec<&str> = hint.iter().map(String::as_str).collect();
            usage(format!("unknown option --{other}{}", suggest::did_you_mean(&hint)))
        }
        other => usage(other.unexpected().to_string()),
    }
}

/// `overinit plan`'s options, for "did you mean" on a typo.
pub const PLAN_OPTIONS: &[&str] = &["cmdline", "config", "help"];

/// What `overinit plan` is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanArgs {
    /// `--cmdline`: the kernel command line, as bytes.
    pub cmdline: Vec<u8>,
    /// `--config FILE`: the image's command-line defaults.
    pub config: Option<PathBuf>,
}

/// Parses the arguments after `plan`, with pack's conventions.
pub fn parse_plan(args: impl IntoIterator<Item = OsString>) -> Result<Request<PlanArgs>, Error> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_args(args);
    let (mut cmdline, mut config) = (None, None);
    let lex = |e: lexopt::Error| usage(e.to_string());
    while let Some(arg) = parser.next().map_err(lex)? {
        match arg {
            Short('h') | Long("help") => return Ok(Request::Help),
            Long("cmdline") => cmdline = Some(parser.value().map_err(lex)?.into_encoded_bytes()),
            Long("config") => config = Some(PathBuf::from(parser.value().map_err(lex)?)),
            other => return Err(unexpected(other, PLAN_OPTIONS)),
        }
    }
    let cmdline = cmdline.ok_or_else(|| usage("--cmdline is required"))?;
    Ok(Request::Run(PlanArgs { cmdline, config }))
}

/// `SRC:DEST`, split at the last `:` (DEST is an image path we choose; SRC
/// is whatever the host has, colons included).
fn parse_add(value: OsString) -> Result<Add, Error> {
    let bytes = value.as_bytes();
    let split = bytes.iter().rposition(|&b| b == b':');
    match split {
        Some(at) if at > 0 && at + 1 < bytes.len() => Ok(Add {
            src: PathBuf::from(std::ffi::OsStr::from_bytes(&bytes[..at])),
            dest: PathBuf::from(std::ffi::OsStr::from_bytes(&bytes[at + 1..])),
        }),
        _ => Err(usage(format!("--add {:?}: expected SRC:DEST, e.g. ./busybox:/bin/busybox", value))),
    }
}

/// `SOURCE_DATE_EPOCH` (reproducible-builds.org) → the timestamp of every
/// entry; unset or empty means 0. newc stores 32 bits.
pub fn source_date_epoch(value: Option<OsString>) -> Result<u32, Error> {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Ok(0);
    };
    let text = value.to_string_lossy();
    text.parse::<u32>().map_err(|_| Error::SourceDateEpoch(text.into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn luks2_unlock_adds_the_helper_and_dm_crypt() {
        let Request::Run(p) =
            parse(&["-o", "o", "--init", "i", "--module", "dm-crypt", "--luks2-unlock", "target/luks2-unlock"])
                .unwrap()
        else {
            panic!()
        };
        assert_eq!(p.adds, [Add { src: "target/luks2-unlock".into(), dest: "/lib/overinit/luks2-unlock".into() }]);
        // dm-crypt given already (either spelling): not twice.
        assert_eq!(p.modules, ["dm-crypt", "xts"]);
    }

    fn parse(args: &[&str]) -> Result<Request<PackArgs>, Error> {
        parse_pack(args.iter().map(OsString::from))
    }

    fn err(args: &[&str]) -> String {
        let e = parse(args).unwrap_err();
        assert_eq!(e.exit_code(), 2, "usage errors exit with 2");
        e.to_string()
    }

    #[test]
    fn full_command_line() {
        let args = [
            "-o",
            "img",
            "--init=target/init",
            "--module",
            "virtio_blk",
            "--module",
            "overlay",
            "--kernel-release",
            "6.1.0-56-cloud-amd64",
            "--add",
            "a:b:/etc/x",
            "--compress",
            "xz",
            "--config",
            "cfg",
            "--concurrent-modules",
        ];
        let Request::Run(p) = parse(&args).unwrap() else { panic!("not a run") };
        assert_eq!(
            p,
            PackArgs {
                output: "img".into(),
                init: "target/init".into(),
                modules_from: ModulesFrom::Release("6.1.0-56-cloud-amd64".into()),
                modules: vec!["virtio_blk".into(), "overlay".into()],
                adds: vec![Add { src: "a:b".into(), dest: "/etc/x".into() }],
                compress: Compression::Xz,
                config: Some("cfg".into()),
                concurrent_modules: true,
                modprobe_dirs: Vec::new(),
                async_probe: true,
                firmware_dir: "/lib/firmware".into(),
                hostonly: false,
                root: None,
                state: None,
                verity: false,
            }
        );
    }

    #[test]
    fn defaults() {
        let Request::Run(p) = parse(&["--output", "o", "--init", "i"]).unwrap() else { panic!() };
        assert!(!p.adds.iter().any(|a| a.dest == Path::new(layout::LUKS2_UNLOCK)), "no helper unless asked");
        assert_eq!(p.compress, Compression::Gzip);
        assert_eq!(p.modules_from, ModulesFrom::RunningKernel);
        assert!(p.modules.is_empty() && p.adds.is_empty());
        let Request::Run(p) = parse(&["-o", "o", "--init", "i", "--modules-dir", "/m"]).unwrap() else { panic!() };
        assert_eq!(p.modules_from, ModulesFrom::Dir("/m".into()));
    }

    #[test]
    fn kver_is_kernel_release_and_must_be_used() {
        let Request::Run(p) = parse(&["-o", "o", "--init", "i", "--kver", "6.1.0-9-amd64", "--module", "x"]).unwrap()
        else {
            panic!()
        };
        assert_eq!(p.modules_from, ModulesFrom::Release("6.1.0-9-amd64".into()));
        assert_eq!(
            err(&["-o", "o", "--init", "i", "--kver", "6.1.0-9-amd64"]),
            "--kernel-release 6.1.0-9-amd64 given, but no --module asks for modules from it (nor --hostonly, nor \
             modules = … in /etc/overinit/overinit.conf): the image would not depend on that kernel; \
             add --module NAME or drop --kernel-release"
        );
    }

    #[test]
    fn help() {
        assert_eq!(parse(&["--help"]).unwrap(), Request::Help);
        assert_eq!(parse(&["-o", "x", "-h"]).unwrap(), Request::Help);
    }

    #[test]
    fn usage_errors() {
        assert_eq!(err(&["--init", "i"]), "missing --output FILE (where to write the image)");
        assert_eq!(err(&["-o", "x"]), "missing --init PATH (the overinit init binary to store as /init)");
        assert_eq!(err(&["-o", "x", "--modul", "a"]), "unknown option --modul; did you mean --module?");
        assert_eq!(err(&["-o", "x", "--frobnicate"]), "unknown option --frobnicate");
        assert_eq!(err(&["-o", "x", "stray"]), "unexpected argument \"stray\"");
        assert_eq!(err(&["-o", "x", "-z"]), "invalid option '-z'");
        assert_eq!(err(&["-o", "x", "--init"]), "missing argument for option '--init'");
        assert_eq!(err(&["-o", "x", "--compress", "gz"]), "--compress \"gz\": expected none, gzip, zstd or xz");
        assert_eq!(
            err(&["-o", "x", "--add", "/etc/hosts"]),
            "--add \"/etc/hosts\": expected SRC:DEST, e.g. ./busybox:/bin/busybox"
        );
        assert!(err(&["-o", "x", "--add", ":/x"]).starts_with("--add \":/x\": expected SRC:DEST"));
        assert!(err(&["-o", "x", "--add", "x:"]).starts_with("--add \"x:\": expected SRC:DEST"));
        assert_eq!(
            err(&["-o", "x", "--init", "i", "--kernel-release", "6.1", "--modules-dir", "/m"]),
            "--kernel-release and --modules-dir both name the modules; give one"
        );
        assert_eq!(
            err(&["-o", "x", "--kernel-release", "/lib/modules/6.1"]),
            "--kernel-release \"/lib/modules/6.1\" is not a kernel release like \
             6.1.0-56-cloud-amd64 (for a directory use --modules-dir)"
        );
        assert_eq!(err(&["-o", "x", "--module="]), "--module needs a module name");
    }

    #[test]
    fn plan_arguments() {
        let plan = |args: &[&str]| parse_plan(args.iter().map(OsString::from));
        let Request::Run(p) = plan(&["--cmdline", "root=/dev/vda quiet", "--config=c"]).unwrap() else { panic!() };
        assert_eq!(p, PlanArgs { cmdline: b"root=/dev/vda quiet".to_vec(), config: Some("c".into()) });
        assert_eq!(plan(&["-h"]).unwrap(), Request::Help);
        let err = |args: &[&str]| plan(args).unwrap_err().to_string();
        assert_eq!(err(&[]), "--cmdline is required");
        assert_eq!(err(&["--cmdlin", "x"]), "unknown option --cmdlin; did you mean --cmdline?");
        assert_eq!(err(&["--cmdline"]), "missing argument for option '--cmdline'");
        assert_eq!(err(&["--cmdline", "x", "stray"]), "unexpected argument \"stray\"");
    }

    #[test]
    fn timestamps() {
        assert_eq!(source_date_epoch(None).unwrap(), 0);
        assert_eq!(source_date_epoch(Some("".into())).unwrap(), 0);
        assert_eq!(source_date_epoch(Some("1700000000".into())).unwrap(), 1_700_000_000);
        let e = source_date_epoch(Some("yesterday".into())).unwrap_err();
        assert_eq!(e.to_string(), "SOURCE_DATE_EPOCH=\"yesterday\" is not a number of seconds from 0 to 4294967295");
        assert!(source_date_epoch(Some("4294967296".into())).is_err());
        assert!(source_date_epoch(Some("-1".into())).is_err());
    }
}
