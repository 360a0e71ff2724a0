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
    image::{Entry, Image, Node},
    modprobe,
    modules::{ModuleTree, Want},
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
    /// Size of the written image in bytes.
    pub size: usize,
}

/// `overinit pack ARGS...`: parse, run, print one line on failure.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let result = cli::parse_pack(args).and_then(|request| match request {
        Request::Help => {
            print!("{}", cli::pack_help());
            Ok(None)
        }
        Request::Run(args) => {
            let mtime = cli::source_date_epoch(std::env::var_os("SOURCE_DATE_EPOCH"))?;
            run(&args, mtime).map(Some)
        }
    });
    match result {
        Ok(report) => {
            for warning in report.iter().flat_map(|r| &r.warnings) {
                eprintln!("overinit pack: warning: {warning}");
            }
            for note in report.iter().flat_map(|r| &r.notes) {
                eprintln!("overinit pack: note: {note}");
            }
            if let Some(r) = report.filter(|r| !r.summary.is_empty()) {
                println!("{} modules, in load order:", r.summary.len());
                for line in &r.summary {
                    println!("  {line}");
                }
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

/// The finished (compressed) image bytes, without writing anything.
pub fn build(args: &PackArgs, mtime: u32) -> Result<(Vec<u8>, Report), Error> {
    let mut report = Report::default();
    let init = read_init(&args.init)?;
    // None for a script /init: only an ELF program has a machine to compare.
    let init_machine = elf::machine(&init);
    let mut image = Image::skeleton(init)?;

    if !args.modules.is_empty() || args.hostonly {
        let dir = modules_dir(&args.modules_from)?;
        let config = modprobe_config(args, &dir)?;
        report.warnings.extend(config.warnings.iter().cloned());
        let mut tree = ModuleTree::load(&dir)?.with_config(config);
        tree.async_probe = args.async_probe;
        let wanted: Vec<Want> = args.modules.iter().map(|m| Want::named(m)).collect();
        let resolution = tree.resolve(&wanted)?;
        report.warnings.extend(resolution.warnings.iter().cloned());
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

    if let Some(path) = &args.config {
        let entry = Entry::new(Node::File(read_config(path)?), DATA_MODE, "--config");
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
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let fail = |err: io::Error| Error::Output { path: path.to_path_buf(), err };
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
        let mut file = fs::OpenOptions::new().write(true).create_new(true).mode(0o644).open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    written.map_err(|err| {
        // Best effort: the error that matters is the one we report.
        let _ = fs::remove_file(&tmp);
        fail(err)
    })
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
}
