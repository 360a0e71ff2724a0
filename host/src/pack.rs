//! `overinit pack`: build the whole image in memory, then put it in place.
//!
//! ```text
//!  skeleton (initramfs/layout) + /init ─▶ modules (modules.dep order)
//!    ─▶ module list ─▶ --add files ─▶ newc cpio ─▶ compress
//!    ─▶ temp file beside --output ─▶ fsync ─▶ rename over --output
//! ```
//!
//! Nothing is written until every input has been read and checked, and the
//! output appears only complete: a failed pack leaves the old file alone.

use crate::{
    cli::{self, ModulesFrom, PackArgs, Request},
    compress, elf,
    error::Error,
    firmware, hostonly,
    image::{Entry, Image, Node},
    modinfo, modprobe,
    modules::{ModuleTree, Resolution, Want, Why},
};
use overinit::layout;
use std::{
    ffi::OsString,
    fs,
    io::{self, Write as _},
    os::unix::fs::OpenOptionsExt as _,
    path::{Path, PathBuf},
    process::ExitCode,
};

/// Where depmod puts the modules directories of installed kernels.
const HOST_MODULES_ROOT: &str = "/lib/modules";
/// The running kernel's release, as `uname -r` prints it.
const OSRELEASE: &str = "/proc/sys/kernel/osrelease";
/// Mode of module files and the module list in the image.
const DATA_MODE: u32 = 0o644;

/// What a successful pack did, for the caller to print.
#[derive(Debug, Default)]
pub struct Report {
    /// Things the user should know that do not stop the pack.
    pub notes: Vec<String>,
    /// Things that may make the image not boot, or a modprobe.d line
    /// that was ignored.
    pub warnings: Vec<String>,
    /// Modules in the image, in load order (group after group).
    pub modules: Vec<String>,
    /// One line per module: name, why it is there, its parameters.
    pub summary: Vec<String>,
    /// Firmware files stored (names under /lib/firmware).
    pub firmware: Vec<String>,
    /// Size of the written image in bytes.
    pub size: usize,
}

/// `overinit pack ARGS...`: parse, run, print one line on failure.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let result = crate::config_file::with_defaults(args.into_iter().collect()).and_then(cli::parse_pack);
    let result = result.and_then(|request| match request {
        Request::Help => {
            print!("{}", cli::pack_help());
            Ok(None)
        }
        Request::Run(args) => {
            let mtime = cli::source_date_epoch(std::env::var_os("SOURCE_DATE_EPOCH"))?;
            run(&args, mtime).map(|r| Some((r, args)))
        }
    });
    match result {
        Ok(report) => {
            let Some((r, args)) = report else { return ExitCode::SUCCESS };
            for warning in &r.warnings {
                eprintln!("overinit pack: warning: {warning}");
            }
            for note in &r.notes {
                eprintln!("overinit pack: note: {note}");
            }
            // The boot defaults baked in: the --config text, one line.
            let defaults = args
                .config
                .as_ref()
                .and_then(|p| fs::read(p).ok())
                .map(|b| String::from_utf8_lossy(&b).split_whitespace().collect::<Vec<_>>().join(" "));
            println!(
                "wrote {}: {} bytes, {}; {} modules{}; boot defaults: {}",
                args.output.display(),
                r.size,
                args.compress.name(),
                r.modules.len(),
                if r.firmware.is_empty() { String::new() } else { format!(", {} firmware files", r.firmware.len()) },
                defaults.filter(|d| !d.is_empty()).unwrap_or_else(|| "none (the kernel command line decides)".into())
            );
            if !r.summary.is_empty() {
                println!("{} modules, in load order:", r.summary.len());
                for line in &r.summary {
                    println!("  {line}");
                }
            }
            if !r.firmware.is_empty() {
                println!("firmware ({}): {}", r.firmware.len(), r.firmware.join(" "));
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("overinit pack: error: {err}");
            ExitCode::from(err.exit_code())
        }
    }
}

/// Builds the image described by `args` with every timestamp `mtime` and
/// writes it to `args.output`.
pub fn run(args: &PackArgs, mtime: u32) -> Result<Report, Error> {
    let (image, mut report) = build(args, mtime)?;
    write_atomically(&args.output, &image)?;
    report.size = image.len();
    Ok(report)
}

/// The modules of a verified base (device-mapper and its verity target),
/// or the error naming what this kernel lacks.
fn verity_modules(tree: &ModuleTree, dir: &Path) -> Result<Vec<Want>, Error> {
    let mut out = Vec::new();
    for (name, config) in [("dm_mod", "CONFIG_BLK_DEV_DM"), ("dm_verity", "CONFIG_DM_VERITY")] {
        let found = tree.lookup(name);
        if found.modules.is_empty() && found.builtin.is_empty() {
            return Err(Error::Verity(format!(
                "--verity (or roothash= in --config): the kernel of {} has no {name} ({config}): it cannot verify the base",
                dir.display()
            )));
        }
        out.extend(found.modules.into_iter().map(|m| Want { name: m, why: Some(Why::Verity) }));
    }
    Ok(out)
}

/// The finished (compressed) image bytes, without writing anything.
pub fn build(args: &PackArgs, mtime: u32) -> Result<(Vec<u8>, Report), Error> {
    build_on(args, mtime, &hostonly::Roots::host())
}

/// [`build`], with `--hostonly` reading the machine described by `roots`.
pub fn build_on(args: &PackArgs, mtime: u32, roots: &hostonly::Roots) -> Result<(Vec<u8>, Report), Error> {
    let mut report = Report::default();
    let init = read_init(&args.init)?;
    // None for a script /init: only an ELF program has a machine to compare.
    let init_machine = elf::machine(&init);
    let mut image = Image::skeleton(init)?;
    let config = args.config.as_deref().map(read_config).transpose()?;
    let boot_args = config.as_deref().map(overinit::cmdline::Cmdline::parse);

    // The modules directory matters when modules are packed, or when it was
    // named: then the image is for that kernel, and may miss what it needs.
    let named = !matches!(args.modules_from, ModulesFrom::RunningKernel);
    // A verified base: asked for, or the image's config has roothash=.
    let verity = args.verity || boot_args.as_ref().is_some_and(|c| c.roothash.is_some());
    if !args.modules.is_empty() || args.hostonly || named || verity {
        let dir = modules_dir(&args.modules_from)?;
        let config = modprobe_config(args, &dir)?;
        report.warnings.extend(config.warnings.iter().cloned());
        let mut tree = ModuleTree::load(&dir)?.with_config(config);
        tree.async_probe = args.async_probe;
        let mut wanted: Vec<Want> = args.modules.iter().map(|m| Want::named(m)).collect();
        // The root's filesystems: hostonly's finding, else rootfstype=, else ext4.
        let text = |v: Option<&[u8]>| v.map(|v| String::from_utf8_lossy(v).into_owned());
        let mut root_fs = match text(boot_args.as_ref().and_then(|c| c.rootfstype)) {
            Some(fstype) => vec![fstype],
            None => vec!["ext4".to_string()],
        };
        if args.hostonly {
            let root = args.root.clone().or_else(|| text(boot_args.as_ref().and_then(|c| c.root)));
            let state = args.state.clone().or_else(|| text(boot_args.as_ref().and_then(|c| c.state)));
            let mut targets = vec![hostonly::Target { role: "root", spec: root }];
            if state.is_some() {
                targets.push(hostonly::Target { role: "state", spec: state });
            }
            let found = hostonly::scan(roots, &targets).map_err(Error::Hostonly)?;
            wanted.extend(found.needs.into_iter().map(|n| Want { name: n.name, why: Some(Why::Hostonly(n.why)) }));
            root_fs = found.filesystems;
        }
        if verity {
            wanted.extend(verity_modules(&tree, &dir)?);
        }
        let resolution = tree.resolve(&wanted)?;
        report.warnings.extend(resolution.warnings.iter().cloned());
        if !resolution.unmatched.is_empty() {
            report.notes.push(format!(
                "hostonly: no module of {} for {} (built-in drivers, or none needed): {}",
                dir.display(),
                resolution.unmatched.len(),
                resolution.unmatched.join(", ")
            ));
        }
        report.warnings.extend(missing_modules(&tree, &resolution, &root_fs));
        for name in &resolution.builtin {
            report.notes.push(format!("module {name} is built into the kernel; nothing to add"));
        }
        let mut list = String::new();
        // Independent groups, a blank line between two (src/modlist.rs);
        // one group unless asked (--concurrent-modules).
        let groups = match args.concurrent_modules {
            true => tree.groups(&resolution.load),
            false => vec![resolution.load.iter().collect()],
        };
        for (g, group) in groups.into_iter().enumerate() {
            if g > 0 {
                list.push('\n');
            }
            for module in group {
                let dest = Path::new(layout::MODULES_DIR).join(format!("{}.ko", module.name));
                let bytes = tree.read(module)?;
                // A module's machine is its kernel's: /init must be the same.
                if let (Some(init), Some(modules)) = (init_machine, elf::machine(&bytes)) {
                    if init != modules {
                        return Err(Error::InitMachine {
                            path: args.init.clone(),
                            init,
                            module: module.name.clone(),
                            module_path: module.file.clone(),
                            modules,
                        });
                    }
                }
                add_firmware(&mut image, &mut report, &args.firmware_dir, &module.name, &bytes)?;
                let entry = Entry::new(Node::File(bytes), DATA_MODE, format!("module {}", module.name));
                image.insert(&format!("--module {}", module.name), &dest, entry)?;
                // One line per module: `PATH [PARAMS...]` (src/modlist.rs).
                match module.params.is_empty() {
                    true => list.push_str(&format!("{}\n", dest.display())),
                    false => list.push_str(&format!("{} {}\n", dest.display(), module.params)),
                }
                report.modules.push(module.name.clone());
                let params = match module.params.is_empty() {
                    true => String::new(),
                    false => format!(" [{}]", module.params),
                };
                report.summary.push(format!("{:<16} {}{params}", module.name, module.why));
            }
        }
        // Only built-ins requested: no list, exactly as if none were asked for.
        if !list.is_empty() {
            let entry = Entry::new(Node::File(list.into_bytes()), DATA_MODE, "the module load list");
            image.insert("--module", Path::new(layout::MODULE_LIST), entry)?;
        }
    }

    if let Some(bytes) = &config {
        let entry = Entry::new(Node::File(bytes.clone()), DATA_MODE, "--config");
        image.insert("--config", Path::new(layout::CONFIG), entry)?;
    }

    for add in &args.adds {
        image.add_host(&add.src, &add.dest)?;
    }

    let archive = image.to_cpio(mtime)?;
    let bytes = compress::compress(&archive, args.compress)
        .map_err(|err| Error::Compress { how: args.compress.name(), err })?;
    Ok((bytes, report))
}

/// Longest config init reads (`CONFIG_MAX` in src/init/boot.rs; a file
/// that fills the buffer would be cut silently).
const CONFIG_MAX: usize = 4095;

/// `--config FILE`: read and checked with the parser the boot uses, so a
/// mistake is found now rather than at boot.
fn read_config(path: &Path) -> Result<Vec<u8>, Error> {
    let problem = |problem: String| Error::Config { path: path.to_path_buf(), problem };
    let bytes = fs::read(path).map_err(|e| problem(e.to_string()))?;
    if bytes.len() > CONFIG_MAX {
        return Err(problem(format!("{} bytes; init reads at most {CONFIG_MAX}", bytes.len())));
    }
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        return Err(problem(format!("NUL byte at offset {at} (the parser would stop there)")));
    }
    // The kernel's command line has no comments, and neither does this: a
    // `#` would be taken as (part of) a parameter.
    if let Some(at) = bytes.iter().position(|&b| b == b'#') {
        let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        return Err(problem(format!(
            "'#' on line {line}: the config has no comments (same syntax as the kernel command line); \
             remove it"
        )));
    }
    let first = overinit::cmdline::Cmdline::parse(&bytes).problems.first().map(|p| {
        let value = if p.value.is_empty() { String::new() } else { format!("={}", String::from_utf8_lossy(p.value)) };
        format!("{}{value}: {}", String::from_utf8_lossy(p.key), p.what())
    });
    if let Some(first) = first {
        return Err(problem(first));
    }
    if bytes.split(u8::is_ascii_whitespace).any(|t| t == b"--") {
        return Err(problem("`--` ends the parameters: what follows would be ignored".to_string()));
    }
    Ok(bytes)
}

/// Warnings for a kernel that has overlay, or a filesystem of the root, as a
/// module the image does not pack: the boot could not mount its root.
fn missing_modules(tree: &ModuleTree, resolution: &Resolution, root_fs: &[String]) -> Vec<String> {
    let packed = |m: &String| resolution.load.iter().any(|l| &l.name == m);
    let mut out = Vec::new();
    let mut check = |what: String, fs: &str| {
        let found = tree.lookup(&format!("fs-{fs}"));
        if !found.modules.is_empty() && found.builtin.is_empty() && !found.modules.iter().any(packed) {
            out.push(format!(
                "{what} needs module {} of {}, which the image does not pack (add --module {})",
                found.modules.join(" or "),
                tree.dir().display(),
                found.modules[0]
            ));
        }
    };
    check("overinit's root (an overlay)".to_string(), "overlay");
    for fs in root_fs {
        check(format!("the root's {fs} filesystem"), fs);
    }
    out
}

/// The firmware files module `name` declares, from `dir` into the image's
/// /lib/firmware; one warning naming those that are not there.
fn add_firmware(image: &mut Image, report: &mut Report, dir: &Path, name: &str, module: &[u8]) -> Result<(), Error> {
    let mut missing = Vec::new();
    for fw in modinfo::values(module, "firmware") {
        let Some((host, stored)) = firmware::find(dir, fw) else {
            missing.push(fw);
            continue;
        };
        let dest = Path::new(firmware::IMAGE_DIR).join(&stored);
        // Two modules may share a file (the first one stores it).
        if image.contains(&dest) {
            continue;
        }
        let bytes = fs::read(&host)
            .map_err(|e| Error::AddSource { src: host.clone(), problem: format!("firmware of module {name}: {e}") })?;
        let entry = Entry::new(Node::File(bytes), DATA_MODE, format!("firmware {stored} of module {name}"));
        image.insert(&format!("firmware of module {name}"), &dest, entry)?;
        report.firmware.push(stored);
    }
    if !missing.is_empty() {
        const SHOWN: usize = 4;
        let more = match missing.len() > SHOWN {
            true => format!(" and {} more", missing.len() - SHOWN),
            false => String::new(),
        };
        let shown = missing[..missing.len().min(SHOWN)].join(", ");
        report.warnings.push(format!(
            "module {name} declares firmware not in {} (nor .zst/.xz): {shown}{more}; \
             the device may not work until the real root is up (--firmware-dir DIR)",
            dir.display()
        ));
    }
    Ok(())
}

/// kmod's configuration for the image: `--modprobe-dir`s (each must
/// exist) or the host's modprobe.d, with the kernel's `modules.softdep`.
fn modprobe_config(args: &PackArgs, modules_dir: &Path) -> Result<modprobe::Config, Error> {
    let dirs: Vec<PathBuf> = match args.modprobe_dirs.is_empty() {
        true => modprobe::DEFAULT_DIRS.iter().map(PathBuf::from).collect(),
        false => args.modprobe_dirs.clone(),
    };
    for dir in &args.modprobe_dirs {
        if !dir.is_dir() {
            let err =
                io::Error::new(io::ErrorKind::NotFound, format!("--modprobe-dir {}: not a directory", dir.display()));
            return Err(Error::ModprobeConfig(err));
        }
    }
    let files = modprobe::Config::files(&dirs, modules_dir).map_err(Error::ModprobeConfig)?;
    modprobe::Config::load(&files).map_err(Error::ModprobeConfig)
}

/// `--init PATH`, which must be a non-empty regular file (symlinks followed).
fn read_init(path: &Path) -> Result<Vec<u8>, Error> {
    let problem = |problem: String| Error::Init { path: path.to_path_buf(), problem };
    let meta = fs::metadata(path).map_err(|e| problem(e.to_string()))?;
    if !meta.is_file() {
        return Err(problem("not a regular file".to_string()));
    }
    let data = fs::read(path).map_err(|e| problem(e.to_string()))?;
    if data.is_empty() {
        return Err(problem("is empty".to_string()));
    }
    // A script (`#!`) is the kernel's business; an ELF program must run
    // with nothing else in the image: no dynamic loader, no libc.so.
    if let Some(machine) = elf::machine(&data) {
        let target = machine.rust_arch().unwrap_or("x86_64");
        let build = format!("build it with --target {target}-unknown-linux-musl");
        match elf::linking(&data) {
            Some(elf::Linking::Static) => {}
            Some(elf::Linking::Dynamic) => {
                return Err(problem(format!(
                    "is dynamically linked (it names a program interpreter, PT_INTERP), and the \
                     initramfs has no loader or shared libraries: {build}"
                )))
            }
            Some(elf::Linking::NotExecutable(t)) => {
                return Err(problem(format!("is an ELF file but not a program (e_type {t}): {build}")))
            }
            None => return Err(problem("is a truncated or damaged ELF file (program headers unreadable)".into())),
        }
    }
    Ok(data)
}

/// The modules directory `--kernel-release`/`--modules-dir` (or the running
/// kernel) names, which must exist.
fn modules_dir(from: &ModulesFrom) -> Result<PathBuf, Error> {
    let (dir, running, hint) = match from {
        ModulesFrom::Dir(dir) => (dir.clone(), false, String::new()),
        ModulesFrom::Release(kver) => {
            (Path::new(HOST_MODULES_ROOT).join(kver), false, format!("; installed: {}", installed()))
        }
        ModulesFrom::RunningKernel => {
            let kver = fs::read_to_string(OSRELEASE).map_err(Error::KernelRelease)?;
            let hint = format!("; installed: {}; pick one with --kernel-release or --modules-dir", installed());
            (Path::new(HOST_MODULES_ROOT).join(kver.trim()), true, hint)
        }
    };
    match fs::metadata(&dir) {
        Ok(meta) if meta.is_dir() => Ok(dir),
        Ok(_) => Err(Error::ModulesDir { dir, running, err: io::ErrorKind::NotADirectory.into(), hint }),
        Err(err) => Err(Error::ModulesDir { dir, running, err, hint }),
    }
}

/// The kernel releases with a modules directory on this host, for hints.
fn installed() -> String {
    let mut names: Vec<String> = fs::read_dir(HOST_MODULES_ROOT)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("modules.dep").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

/// Writes `bytes` to a new file beside `path` and renames it over `path`, so
/// readers (and a failed run) never see a partial image.
///
/// An `--output` that is a symlink (`/boot/initrd.img -> initrd.img-KVER`)
/// is written through: the file it points to is replaced and the link kept.
/// An existing file keeps its permission bits (the new one is 0644).
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let fail = |err: io::Error| Error::Output { path: path.to_path_buf(), err };
    let resolved = resolve_output(path).map_err(fail)?;
    let path = resolved.as_path();
    let mode = match fs::metadata(path) {
        Ok(meta) => std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o7777,
        Err(_) => 0o644,
    };
    let Some(name) = path.file_name() else {
        return Err(fail(io::Error::new(io::ErrorKind::InvalidInput, "not a file name")));
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut tmp_name = OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let written = (|| {
        let mut file = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
        file.write_all(bytes)?;
        // Set explicitly: the umask applies to open's mode.
        file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(mode))?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    written.map_err(|err| {
        // Best effort: the error that matters is the one we report.
        let _ = fs::remove_file(&tmp);
        fail(err)
    })
}

/// `path`, or where the chain of symlinks at `path` ends (a dangling link
/// names the file to create). Relative targets are relative to the link.
fn resolve_output(path: &Path) -> io::Result<PathBuf> {
    let mut path = path.to_path_buf();
    // The kernel's limit on nested links (MAXSYMLINKS).
    for _ in 0..40 {
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = fs::read_link(&path)?;
                path = match path.parent() {
                    Some(dir) => dir.join(target),
                    None => target,
                };
            }
            _ => return Ok(path),
        }
    }
    Err(io::Error::from_raw_os_error(40)) // ELOOP
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{cli::Add, compress::Compression, test_util::TempDir};

    /// A fake kernel modules directory with the Debian 6.1 virtio chain.
    fn fake_modules(dir: &Path) -> PathBuf {
        let m = dir.join("modules");
        let files = [
            ("kernel/drivers/virtio/virtio_ring.ko", ""),
            ("kernel/drivers/virtio/virtio.ko", "kernel/drivers/virtio/virtio_ring.ko"),
            (
                "kernel/drivers/block/virtio_blk.ko",
                "kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko",
            ),
            ("kernel/fs/overlayfs/overlay.ko", ""),
        ];
        let mut dep = String::new();
        for (file, deps) in files {
            let path = m.join(file);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, format!("\x7fELF {file}")).unwrap();
            dep.push_str(&format!("{file}: {deps}\n"));
        }
        fs::write(m.join("modules.dep"), dep).unwrap();
        fs::write(m.join("modules.builtin"), "kernel/fs/ext4/ext4.ko\n").unwrap();
        m
    }

    struct Fixture {
        dir: TempDir,
        args: PackArgs,
    }

    fn fixture(name: &str) -> Fixture {
        let dir = TempDir::new(name);
        let init = dir.path().join("init");
        fs::write(&init, b"\x7fELF init binary").unwrap();
        let args = PackArgs {
            output: dir.path().join("initrd.img"),
            init,
            modules_from: ModulesFrom::Dir(fake_modules(dir.path())),
            modules: Vec::new(),
            adds: Vec::new(),
            compress: Compression::None,
            config: None,
            concurrent_modules: false,
            modprobe_dirs: vec![dir.path().join("modprobe.d")],
            async_probe: true,
            firmware_dir: dir.path().join("firmware"),
            hostonly: false,
            root: None,
            state: None,
            verity: false,
        };
        fs::create_dir_all(dir.path().join("modprobe.d")).unwrap();
        Fixture { dir, args }
    }

    fn err(args: &PackArgs) -> String {
        let e = run(args, 0).unwrap_err();
        assert_eq!(e.exit_code(), 1);
        assert!(!args.output.exists(), "a failed pack must not write the image");
        e.to_string()
    }

    /// Names and contents of the regular files in an uncompressed archive.
    fn files(archive: &[u8]) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        let mut at = 0;
        loop {
            let field = |i: usize| {
                let s = std::str::from_utf8(&archive[at + 6 + 8 * i..at + 14 + 8 * i]).unwrap();
                u32::from_str_radix(s, 16).unwrap() as usize
            };
            let (mode, size, namesize) = (field(1), field(6), field(11));
            let name = String::from_utf8(archive[at + 110..at + 110 + namesize - 1].to_vec()).unwrap();
            if name == "TRAILER!!!" {
                return out;
            }
            let data_at = (at + 110 + namesize).next_multiple_of(4);
            if mode & 0o170000 == 0o100000 {
                out.push((name, archive[data_at..data_at + size].to_vec()));
            }
            at = (data_at + size).next_multiple_of(4);
        }
    }

    #[test]
    fn modules_and_list_land_in_the_image() {
        let mut f = fixture("pack-modules");
        f.args.modules = vec!["virtio-blk".into(), "overlay".into(), "ext4".into()];
        // Without --concurrent-modules: one group, in load order.
        let report = run(&f.args, 0).unwrap();
        let list_name = layout::MODULE_LIST.trim_start_matches('/');
        let d = layout::MODULES_DIR;
        let archive = fs::read(&f.args.output).unwrap();
        let list = &files(&archive).into_iter().find(|(n, _)| n == list_name).unwrap().1;
        assert_eq!(
            String::from_utf8_lossy(list),
            format!("{d}/virtio_ring.ko\n{d}/virtio.ko\n{d}/virtio_blk.ko\n{d}/overlay.ko\n")
        );
        f.args.concurrent_modules = true;
        let report2 = run(&f.args, 0).unwrap();
        assert_eq!(report.modules, report2.modules);
        assert_eq!(report.modules, ["virtio_ring", "virtio", "virtio_blk", "overlay"]);
        assert_eq!(report.notes, ["module ext4 is built into the kernel; nothing to add"]);
        let archive = fs::read(&f.args.output).unwrap();
        assert_eq!(report.size, archive.len());
        let files = files(&archive);
        let list_name = layout::MODULE_LIST.trim_start_matches('/');
        let list = &files.iter().find(|(n, _)| n == list_name).unwrap().1;
        let d = layout::MODULES_DIR;
        assert_eq!(
            String::from_utf8_lossy(list),
            format!("{d}/virtio_ring.ko\n{d}/virtio.ko\n{d}/virtio_blk.ko\n\n{d}/overlay.ko\n")
        );
        // What init reads: two groups, overlay alone in the second.
        let read: Vec<_> = overinit::modlist::entries(list)
            .map(|e| e.map(|e| (overinit::modlist::name(e.path).to_vec(), e.group)).unwrap())
            .collect();
        let want: Vec<(Vec<u8>, usize)> =
            [("virtio_ring", 0), ("virtio", 0), ("virtio_blk", 0), ("overlay", 1)].map(|(n, g)| (n.into(), g)).into();
        assert_eq!(read, want);
        let blk = format!("{}/virtio_blk.ko", d.trim_start_matches('/'));
        let blk = &files.iter().find(|(n, _)| *n == blk).unwrap().1;
        assert_eq!(blk, b"\x7fELF kernel/drivers/block/virtio_blk.ko");
        assert!(files.iter().any(|(n, d)| n == "init" && d == b"\x7fELF init binary"));
    }

    #[test]
    fn config_lands_in_its_slot_after_the_boot_parser_accepts_it() {
        let mut f = fixture("pack-config");
        let cfg = f.dir.path().join("config");
        fs::write(&cfg, "overinit.persist=/etc/ssh,/var/lib/docker\noverinit.size=25%\n").unwrap();
        f.args.config = Some(cfg.clone());
        let (image, _) = build(&f.args, 0).unwrap();
        let name = layout::CONFIG.trim_start_matches('/');
        let files = files(&image);
        let stored = &files.iter().find(|(n, _)| n == name).unwrap().1;
        assert_eq!(stored, &fs::read(&cfg).unwrap());
        let refused = |text: &[u8]| {
            fs::write(&cfg, text).unwrap();
            err(&f.args)
        };
        let at = cfg.display();
        assert_eq!(
            refused(b"overinit.persist=etc"),
            format!("--config {at}: overinit.persist=etc: persisted paths must be absolute, canonical (no //, ., .. or trailing /) and outside /data /dev /proc /sys")
        );
        assert_eq!(
            refused(b"overinit.sise=1G"),
            format!("--config {at}: overinit.sise=1G: unknown overinit parameter")
        );
        assert_eq!(refused(b"overinit.size=lots"), format!("--config {at}: overinit.size=lots: invalid value"));
        assert_eq!(
            refused(b"quiet -- overinit.size=1G"),
            format!("--config {at}: `--` ends the parameters: what follows would be ignored")
        );
        assert_eq!(
            refused(b"quiet\n# overinit.sise=1G\n"),
            format!(
                "--config {at}: '#' on line 2: the config has no comments (same syntax as the \
                 kernel command line); remove it"
            )
        );
        assert_eq!(refused(b"quiet\0"), format!("--config {at}: NUL byte at offset 5 (the parser would stop there)"));
        assert_eq!(refused(&[b' '; 4096]), format!("--config {at}: 4096 bytes; init reads at most 4095"));
        f.args.config = Some(f.dir.path().join("missing"));
        assert!(err(&f.args).starts_with("--config "));
    }

    #[test]
    fn no_modules_no_list() {
        let mut f = fixture("pack-none");
        let (plain, _) = build(&f.args, 0).unwrap();
        let names: Vec<String> = files(&plain).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["init"]);
        // Only built-ins requested: same image.
        f.args.modules = vec!["ext4".into()];
        assert_eq!(build(&f.args, 0).unwrap().0, plain);
    }

    #[test]
    fn packing_is_deterministic_with_every_compressor() {
        let mut f = fixture("pack-determinism");
        f.args.modules = vec!["virtio_blk".into(), "overlay".into()];
        let extra = f.dir.path().join("extra");
        fs::create_dir_all(extra.join("b")).unwrap();
        fs::write(extra.join("b/file"), b"b").unwrap();
        fs::write(extra.join("a"), b"a").unwrap();
        f.args.adds = vec![Add { src: extra, dest: "/etc/extra".into() }];
        for how in Compression::ALL {
            f.args.compress = how;
            let (a, _) = build(&f.args, 1_700_000_000).unwrap();
            let (b, _) = build(&f.args, 1_700_000_000).unwrap();
            assert_eq!(a, b, "{}", how.name());
            run(&f.args, 1_700_000_000).unwrap();
            assert_eq!(fs::read(&f.args.output).unwrap(), a, "{}", how.name());
        }
        // The timestamp is the only thing SOURCE_DATE_EPOCH changes.
        f.args.compress = Compression::None;
        let (t0, _) = build(&f.args, 0).unwrap();
        let (t1, _) = build(&f.args, 1_700_000_000).unwrap();
        assert_ne!(t0, t1);
        assert_eq!(t0.len(), t1.len());
    }

    #[test]
    fn failed_pack_keeps_the_old_image() {
        let mut f = fixture("pack-keep");
        fs::write(&f.args.output, b"old image").unwrap();
        f.args.modules = vec!["virtio_bkl".into()];
        let e = run(&f.args, 0).unwrap_err().to_string();
        let dep = f.dir.path().join("modules/modules.dep");
        assert_eq!(e, format!("unknown module 'virtio_bkl' in {}; did you mean virtio_blk?", dep.display()));
        assert_eq!(fs::read(&f.args.output).unwrap(), b"old image");
        let leftovers: Vec<_> = fs::read_dir(f.dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn bad_init() {
        let mut f = fixture("pack-init");
        f.args.init = f.dir.path().join("missing");
        assert_eq!(err(&f.args), format!("--init {}: No such file or directory (os error 2)", f.args.init.display()));
        f.args.init = f.dir.path().to_path_buf();
        assert_eq!(err(&f.args), format!("--init {}: not a regular file", f.args.init.display()));
        f.args.init = f.dir.path().join("empty");
        fs::write(&f.args.init, b"").unwrap();
        assert_eq!(err(&f.args), format!("--init {}: is empty", f.args.init.display()));
        // A dynamically linked program (this test binary, on a glibc host).
        f.args.init = std::env::current_exe().unwrap();
        let e = err(&f.args);
        assert!(
            e.ends_with(
                ": is dynamically linked (it names a program interpreter, PT_INTERP), and the \
             initramfs has no loader or shared libraries: build it with --target x86_64-unknown-linux-musl"
            ) || !cfg!(target_arch = "x86_64"),
            "{e}"
        );
        // An object file, and a header whose program headers are cut off.
        f.args.init = f.dir.path().join("obj");
        let mut h = elf::header(elf::Machine::AARCH64);
        h[16] = 1;
        fs::write(&f.args.init, &h).unwrap();
        assert!(err(&f.args).ends_with(
            ": is an ELF file but not a program (e_type 1): build it with --target aarch64-unknown-linux-musl"
        ));
        h[16] = 2;
        h[56] = 1; // one program header, at offset 62: past the end
        h[32] = 62;
        fs::write(&f.args.init, &h).unwrap();
        assert!(err(&f.args).ends_with(": is a truncated or damaged ELF file (program headers unreadable)"));
    }

    #[test]
    fn bad_modules_dir() {
        let mut f = fixture("pack-moddir");
        f.args.modules = vec!["overlay".into()];
        let missing = f.dir.path().join("nope");
        f.args.modules_from = ModulesFrom::Dir(missing.clone());
        assert_eq!(
            err(&f.args),
            format!("modules directory {}: No such file or directory (os error 2)", missing.display())
        );
        f.args.modules_from = ModulesFrom::Dir(f.args.init.clone());
        assert_eq!(err(&f.args), format!("modules directory {}: not a directory", f.args.init.display()));
        f.args.modules_from = ModulesFrom::Dir(f.dir.path().to_path_buf());
        assert_eq!(
            err(&f.args),
            format!(
                "{d}/modules.dep: No such file or directory (os error 2); \
                 is {d} a kernel modules directory (run depmod)?",
                d = f.dir.path().display()
            )
        );
        f.args.modules_from = ModulesFrom::Release("0.0.0-no-such-kernel".into());
        let e = err(&f.args);
        assert!(
            e.starts_with(
                "modules directory /lib/modules/0.0.0-no-such-kernel: \
                 No such file or directory (os error 2); installed: "
            ),
            "{e}"
        );
    }

    #[test]
    fn running_kernel_is_the_default() {
        let kver = fs::read_to_string(OSRELEASE).unwrap();
        let dir = Path::new(HOST_MODULES_ROOT).join(kver.trim());
        match modules_dir(&ModulesFrom::RunningKernel) {
            Ok(found) => assert_eq!(found, dir),
            Err(e) => {
                let e = e.to_string();
                let start = format!("modules directory {} (the running kernel's): ", dir.display());
                assert!(e.starts_with(&start), "{e}");
                assert!(e.ends_with("; pick one with --kernel-release or --modules-dir"), "{e}");
            }
        }
    }

    #[test]
    fn init_for_another_machine_than_the_modules_is_refused() {
        use elf::Machine;
        let mut f = fixture("pack-machine");
        let m = f.dir.path().join("modules");
        // Modules for an arm64 kernel (the ELF header is all pack reads).
        for file in ["kernel/drivers/virtio/virtio_ring.ko", "kernel/drivers/virtio/virtio.ko"] {
            fs::write(m.join(file), elf::header(Machine::AARCH64)).unwrap();
        }
        f.args.modules = vec!["virtio".into()];
        fs::write(&f.args.init, elf::header(Machine::X86_64)).unwrap();
        assert_eq!(
            err(&f.args),
            format!(
                "--init {} is built for x86-64, but the kernel modules are for ARM aarch64 \
                 (module virtio_ring: {}): that kernel cannot run it; \
                 build init with --target aarch64-unknown-linux-musl",
                f.args.init.display(),
                m.join("kernel/drivers/virtio/virtio_ring.ko").display()
            )
        );
        // The other way round names the other target.
        for file in ["kernel/drivers/virtio/virtio_ring.ko", "kernel/drivers/virtio/virtio.ko"] {
            fs::write(m.join(file), elf::header(Machine::X86_64)).unwrap();
        }
        fs::write(&f.args.init, elf::header(Machine::AARCH64)).unwrap();
        assert!(err(&f.args).ends_with("; build init with --target x86_64-unknown-linux-musl"));
        // A machine we build no init for still gets a clear refusal.
        fs::write(&f.args.init, elf::header(Machine(40))).unwrap();
        assert!(err(&f.args).contains(" is built for ARM, but the kernel modules are for x86-64 "));

        // Same machine: packed.
        fs::write(&f.args.init, elf::header(Machine::X86_64)).unwrap();
        assert_eq!(run(&f.args, 0).unwrap().modules, ["virtio_ring", "virtio"]);
        // A script as /init has no machine to compare (the reference init).
        fs::write(&f.args.init, b"#!/bin/busybox sh\nexec /sbin/init\n").unwrap();
        assert_eq!(run(&f.args, 0).unwrap().modules, ["virtio_ring", "virtio"]);
        // Without modules there is no kernel to compare with.
        f.args.modules.clear();
        fs::write(&f.args.init, elf::header(Machine::AARCH64)).unwrap();
        run(&f.args, 0).unwrap();
    }

    #[test]
    fn module_errors() {
        let mut f = fixture("pack-moderr");
        let m = f.dir.path().join("modules");
        f.args.modules = vec!["virtio_blk".into()];
        fs::remove_file(m.join("kernel/drivers/virtio/virtio_ring.ko")).unwrap();
        assert_eq!(
            err(&f.args),
            format!(
                "module virtio_ring (needed by virtio): {}: No such file or directory (os error 2)",
                m.join("kernel/drivers/virtio/virtio_ring.ko").display()
            )
        );
        fs::write(m.join("modules.dep"), "a.ko: b.ko\nb.ko: a.ko\n").unwrap();
        f.args.modules = vec!["a".into()];
        assert_eq!(err(&f.args), format!("dependency cycle in {}: a -> b -> a", m.join("modules.dep").display()));
    }

    #[test]
    fn verity_packs_device_mapper_or_says_the_kernel_lacks_it() {
        let mut f = fixture("pack-verity");
        f.args.verity = true;
        // This kernel has no dm at all: refused, naming what is missing.
        let m = f.dir.path().join("modules");
        assert_eq!(
            err(&f.args),
            format!(
                "--verity (or roothash= in --config): the kernel of {} has no dm_mod (CONFIG_BLK_DEV_DM): it cannot verify the base",
                m.display()
            )
        );
        // dm_mod, but no dm_verity.
        let dep = fs::read_to_string(m.join("modules.dep")).unwrap();
        let add = |m: &Path, file: &str| {
            fs::create_dir_all(m.join(file).parent().unwrap()).unwrap();
            fs::write(m.join(file), format!("\x7fELF {file}")).unwrap();
        };
        add(&m, "kernel/drivers/md/dm-mod.ko");
        fs::write(m.join("modules.dep"), format!("{dep}kernel/drivers/md/dm-mod.ko:\n")).unwrap();
        assert!(err(&f.args).contains("has no dm_verity (CONFIG_DM_VERITY)"));
        // Both (dm_verity needs dm-bufio, as Debian's): all three packed, after their deps.
        add(&m, "kernel/drivers/md/dm-bufio.ko");
        add(&m, "kernel/drivers/md/dm-verity.ko");
        fs::write(
            m.join("modules.dep"),
            format!(
                "{dep}kernel/drivers/md/dm-mod.ko:\nkernel/drivers/md/dm-bufio.ko:\n\
                 kernel/drivers/md/dm-verity.ko: kernel/drivers/md/dm-bufio.ko kernel/drivers/md/dm-mod.ko\n"
            ),
        )
        .unwrap();
        let report = run(&f.args, 0).unwrap();
        assert_eq!(report.modules, ["dm_mod", "dm_bufio", "dm_verity"]);
        // The same from the image's config: roothash= asks for it.
        f.args.verity = false;
        let config = f.dir.path().join("config");
        fs::write(&config, format!("root=/dev/vda roothash={} systemd.verity_root_hash=/dev/vdb", "0".repeat(64)))
            .unwrap();
        f.args.config = Some(config);
        assert_eq!(run(&f.args, 0).unwrap().modules, ["dm_mod", "dm_bufio", "dm_verity"]);
    }

    #[test]
    fn add_errors() {
        let mut f = fixture("pack-add");
        let src = f.dir.path().join("file");
        fs::write(&src, b"x").unwrap();
        let what = |dest: &str| format!("--add {}:{dest}", src.display());
        let add = |dest: &str| vec![Add { src: src.clone(), dest: dest.into() }];

        f.args.adds = vec![Add { src: f.dir.path().join("gone"), dest: "/x".into() }];
        assert_eq!(
            err(&f.args),
            format!("--add {}: No such file or directory (os error 2)", f.dir.path().join("gone").display())
        );
        f.args.adds = add("/etc/../../x");
        assert_eq!(err(&f.args), format!("{}: destination /etc/../../x: must not contain '..'", what("/etc/../../x")));
        f.args.adds = add("x");
        assert_eq!(err(&f.args), format!("{}: destination x: must be an absolute path in the image", what("x")));
        f.args.adds = add("/init");
        assert_eq!(
            err(&f.args),
            format!("{}: duplicate destination /init, already taken by the --init binary", what("/init"))
        );
        f.args.adds = [add("/a/b"), add("/a/./b")].concat();
        assert_eq!(
            err(&f.args),
            format!(
                "{}: duplicate destination /a/b, already taken by {} ({})",
                what("/a/./b"),
                what("/a/b"),
                src.display()
            )
        );
        f.args.modules = vec!["overlay".into()];
        let module = format!("{}/overlay.ko", layout::MODULES_DIR);
        f.args.adds = add(&module);
        assert_eq!(
            err(&f.args),
            format!("{}: duplicate destination {module}, already taken by module overlay", what(&module))
        );
        f.args.adds = add(layout::MODULE_LIST);
        assert_eq!(
            err(&f.args),
            format!(
                "{}: duplicate destination {}, already taken by the module load list",
                what(layout::MODULE_LIST),
                layout::MODULE_LIST
            )
        );
    }

    #[test]
    fn output_symlink_is_written_through_and_mode_kept() {
        use std::os::unix::fs::{symlink, PermissionsExt as _};
        let mut f = fixture("pack-symlink");
        let real = f.dir.path().join("initrd.img-6.1.0-test");
        fs::write(&real, b"old").unwrap();
        fs::set_permissions(&real, fs::Permissions::from_mode(0o600)).unwrap();
        let link = f.dir.path().join("initrd.img");
        symlink("initrd.img-6.1.0-test", &link).unwrap();
        f.args.output = link.clone();
        run(&f.args, 0).unwrap();
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link stays a link");
        assert_ne!(fs::read(&real).unwrap(), b"old");
        assert_eq!(fs::metadata(&real).unwrap().permissions().mode() & 0o7777, 0o600);
        // A dangling link names the file to create, 0644.
        let dangling = f.dir.path().join("dangling");
        symlink("new-target", &dangling).unwrap();
        f.args.output = dangling;
        run(&f.args, 0).unwrap();
        let created = f.dir.path().join("new-target");
        assert_eq!(fs::metadata(&created).unwrap().permissions().mode() & 0o7777, 0o644);
        // A loop is refused with ELOOP.
        let a = f.dir.path().join("loop-a");
        symlink("loop-b", &a).unwrap();
        symlink("loop-a", f.dir.path().join("loop-b")).unwrap();
        f.args.output = a.clone();
        let e = run(&f.args, 0).unwrap_err().to_string();
        assert!(e.starts_with(&format!("cannot write {}: ", a.display())) && e.contains("os error 40"), "{e}");
    }

    #[test]
    fn bad_output() {
        let mut f = fixture("pack-output");
        f.args.output = f.dir.path().join("no/such/dir/img");
        let e = run(&f.args, 0).unwrap_err().to_string();
        assert_eq!(e, format!("cannot write {}: No such file or directory (os error 2)", f.args.output.display()));
        f.args.output = f.dir.path().to_path_buf();
        let e = run(&f.args, 0).unwrap_err().to_string();
        assert!(e.starts_with(&format!("cannot write {}: ", f.args.output.display())), "{e}");
        assert!(fs::read_dir(f.dir.path())
            .unwrap()
            .flatten()
            .all(|e| !e.file_name().to_string_lossy().contains(".tmp-")));
    }

    /// The module list of an uncompressed image.
    fn module_list(image: &[u8]) -> String {
        let name = layout::MODULE_LIST.trim_start_matches('/');
        String::from_utf8(files(image).into_iter().find(|(n, _)| n == name).unwrap().1).unwrap()
    }

    #[test]
    fn options_and_async_probe_reach_the_list() {
        let mut f = fixture("pack-options");
        let m = f.dir.path().join("modules");
        fs::write(m.join("modules.alias"), "alias virtio:d00000002v* virtio_blk\nalias fs-overlay overlay\n").unwrap();
        fs::write(f.dir.path().join("modprobe.d/local.conf"), "options virtio-blk queue_depth=64\nfrob x\n").unwrap();
        f.args.modules = vec!["virtio_blk".into(), "overlay".into()];
        let (image, report) = build(&f.args, 0).unwrap();
        let d = layout::MODULES_DIR;
        // virtio_blk (drivers/block) gets no async_probe: vda/vdb would be
        // named in probe order.
        assert_eq!(
            module_list(&image),
            format!("{d}/virtio_ring.ko\n{d}/virtio.ko\n{d}/virtio_blk.ko queue_depth=64\n{d}/overlay.ko\n")
        );
        let conf = f.dir.path().join("modprobe.d/local.conf");
        assert_eq!(report.warnings, [format!("{}:2: unknown command 'frob'; line ignored", conf.display())]);
        assert_eq!(report.summary[2], "virtio_blk       requested [queue_depth=64]");
        f.args.async_probe = false;
        let (image, _) = build(&f.args, 0).unwrap();
        assert_eq!(
            module_list(&image),
            format!("{d}/virtio_ring.ko\n{d}/virtio.ko\n{d}/virtio_blk.ko queue_depth=64\n{d}/overlay.ko\n")
        );
        // An install line for a packed module refuses the pack.
        fs::write(f.dir.path().join("modprobe.d/local.conf"), "install virtio_ring /bin/true\n").unwrap();
        assert!(err(&f.args).starts_with("module virtio_ring has an 'install' command ("));
        f.args.modprobe_dirs = vec![f.dir.path().join("nope")];
        assert_eq!(
            err(&f.args),
            format!("modprobe.d: --modprobe-dir {}: not a directory", f.dir.path().join("nope").display())
        );
    }

    #[test]
    fn firmware_present_is_packed_absent_is_a_warning() {
        let mut f = fixture("pack-firmware");
        let m = f.dir.path().join("modules");
        let ko = crate::modinfo::fake_module(b"firmware=vendor/a.bin\0firmware=b.bin\0firmware=c.bin\0license=GPL\0");
        fs::write(m.join("kernel/drivers/block/virtio_blk.ko"), ko).unwrap();
        let fw = &f.args.firmware_dir;
        fs::create_dir_all(fw.join("vendor")).unwrap();
        fs::write(fw.join("vendor/a.bin"), b"AAA").unwrap();
        fs::write(fw.join("c.bin.zst"), b"CCC").unwrap();
        f.args.modules = vec!["virtio_blk".into()];
        let (image, report) = build(&f.args, 0).unwrap();
        let files = files(&image);
        let get = |n: &str| files.iter().find(|(name, _)| name == n).map(|(_, d)| d.clone());
        assert_eq!(get("lib/firmware/vendor/a.bin").as_deref(), Some(&b"AAA"[..]));
        assert_eq!(get("lib/firmware/c.bin.zst").as_deref(), Some(&b"CCC"[..]));
        assert_eq!(report.firmware, ["vendor/a.bin", "c.bin.zst"]);
        assert_eq!(
            report.warnings,
            [format!(
                "module virtio_blk declares firmware not in {} (nor .zst/.xz): b.bin; the device may not work \
                 until the real root is up (--firmware-dir DIR)",
                fw.display()
            )]
        );
    }

    #[test]
    fn a_kernel_with_modular_overlay_or_rootfs_warns_when_they_are_missing() {
        let mut f = fixture("pack-missing");
        let m = f.dir.path().join("modules");
        fs::write(m.join("modules.alias"), "alias fs-overlay overlay\nalias fs-xfs xfs\n").unwrap();
        fs::write(
            m.join("modules.dep"),
            format!("{}kernel/fs/xfs/xfs.ko:\n", fs::read_to_string(m.join("modules.dep")).unwrap()),
        )
        .unwrap();
        f.args.modules = vec!["virtio_blk".into()];
        let (_, report) = build(&f.args, 0).unwrap();
        let d = m.display();
        assert_eq!(
            report.warnings,
            [format!(
                "overinit's root (an overlay) needs module overlay of {d}, which the image does not pack \
                 (add --module overlay)"
            )]
        );
        // The root's filesystem from --config rootfstype=: xfs, a module here.
        let cfg = f.dir.path().join("config");
        fs::write(&cfg, "rootfstype=xfs\n").unwrap();
        f.args.config = Some(cfg);
        f.args.modules = vec!["overlay".into()];
        let (_, report) = build(&f.args, 0).unwrap();
        assert_eq!(
            report.warnings,
            [format!(
                "the root's xfs filesystem needs module xfs of {d}, which the image does not pack (add --module xfs)"
            )]
        );
        // Naming the kernel is enough for the check, with no module asked.
        f.args.modules.clear();
        f.args.config = None;
        let (_, report) = build(&f.args, 0).unwrap();
        assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    }

    #[test]
    fn hostonly_packs_what_the_fake_machine_needs() {
        let machine = crate::hostonly::fake::Machine::new("pack-hostonly");
        machine.device("pci0000:00/0000:00:02.0", "pci:v00001AF4d00001042sv00001AF4sd00001042bc01sc80i00");
        machine.device("pci0000:00/0000:00:02.0/virtio1", "virtio:d00000002v00001AF4");
        machine.block("pci0000:00/0000:00:02.0/virtio1/block/vda", "254:0", false);
        machine.mountinfo("27 1 254:0 / / rw - ext4 /dev/vda rw\n");
        let mut f = fixture("pack-hostonly");
        let m = f.dir.path().join("modules");
        fs::write(m.join("modules.alias"), "alias virtio:d00000002v* virtio_blk\nalias fs-overlay overlay\n").unwrap();
        fs::write(m.join("modules.builtin.modinfo"), b"ext4.alias=fs-ext4\0ext4.file=fs/ext4\0").unwrap();
        f.args.hostonly = true;
        let (image, report) = build_on(&f.args, 0, &machine.roots()).unwrap();
        let d = layout::MODULES_DIR;
        assert_eq!(
            module_list(&image),
            format!("{d}/virtio_ring.ko\n{d}/virtio.ko\n{d}/virtio_blk.ko\n{d}/overlay.ko\n")
        );
        assert_eq!(
            report.summary[2],
            "virtio_blk       hostonly: virtio:d00000002v00001AF4 of /sys/devices/pci0000:00/0000:00:02.0/virtio1, \
             root /"
        );
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
        // ext4 is built in; the PCI function has no module in this tree.
        assert!(report
            .notes
            .iter()
            .any(|n| n.starts_with("module ext4 (hostonly: ext4 filesystem of root /) is built")));
        assert!(report.notes.iter().any(|n| n.starts_with("hostonly: no module of ")
            && n.ends_with("pci:v00001AF4d00001042sv00001AF4sd00001042bc01sc80i00")));
        // A root this machine does not have.
        f.args.root = Some("LABEL=elsewhere".into());
        let e = build_on(&f.args, 0, &machine.roots()).unwrap_err().to_string();
        assert!(e.starts_with("--hostonly: LABEL=elsewhere: no such block device on this machine"), "{e}");
    }
}
