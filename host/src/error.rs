//! Everything `overinit pack` can refuse, one variant per failing step. The
//! `Display` text is the single line the user reads after
//! `overinit pack: error: `.

use crate::elf::Machine;
use std::{fmt, io, path::PathBuf};

#[derive(Debug)]
pub enum Error {
    /// The command line cannot be understood (exit status 2).
    Usage(String),
    /// A file of the configuration directory cannot be read.
    ConfFile { path: PathBuf, err: io::Error },
    /// A line of a configuration file is not `KEY = VALUE` with a known key
    /// (exit status 2, like an unknown option).
    ConfLine { path: PathBuf, line: usize, problem: String },
    /// `--init PATH` is missing, not a regular file, or empty.
    Init { path: PathBuf, problem: String },
    /// `--config FILE` cannot be read, is too large, or does not parse.
    Config { path: PathBuf, problem: String },
    /// `SOURCE_DATE_EPOCH` is set but not a timestamp newc can store.
    SourceDateEpoch(String),
    /// The running kernel's release cannot be determined.
    KernelRelease(io::Error),
    /// The modules directory does not exist or cannot be read.
    /// `running`: the directory was derived from the running kernel.
    ModulesDir { dir: PathBuf, running: bool, err: io::Error, hint: String },
    /// `modules.dep` (or `modules.builtin`) cannot be read or parsed.
    ModulesIndex { path: PathBuf, problem: String },
    /// `--module NAME` is neither a module nor built in.
    UnknownModule { name: String, index: PathBuf, suggestions: Vec<String> },
    /// `--module ALIAS` means several modules.
    AmbiguousModule { name: String, via: &'static str, modules: Vec<String> },
    /// `--module ALIAS` means only blacklisted modules.
    Blacklisted { name: String, modules: Vec<String> },
    /// Softdeps (with modules.dep) order modules in a circle.
    SoftdepCycle { cycle: Vec<String>, lines: Vec<String> },
    /// modprobe.d has an `install`/`remove` command for a packed module.
    ModprobeCommand { module: String, kind: &'static str, source: String },
    /// A module's load parameters do not fit the module list.
    ModuleParams { module: String, params: String },
    /// `--hostonly` cannot follow a device.
    Hostonly(String),
    /// `--verity`: the kernel lacks what a verified base needs.
    Verity(String),
    /// modprobe.d cannot be read.
    ModprobeConfig(io::Error),
    /// `modules.dep` says a module (transitively) needs itself.
    DependencyCycle { index: PathBuf, cycle: Vec<String> },
    /// `--init` is an ELF program for another machine than the modules (the
    /// kernel they belong to could not exec it).
    InitMachine { path: PathBuf, init: Machine, module: String, module_path: PathBuf, modules: Machine },
    /// A module file cannot be read or decompressed.
    ModuleFile { module: String, needed_by: Option<String>, path: PathBuf, problem: String },
    /// An `--add` source cannot be read.
    AddSource { src: PathBuf, problem: String },
    /// An image path is not acceptable (relative, `..`, parent not a directory).
    Destination { what: String, dest: PathBuf, problem: String },
    /// Two things want the same path in the image.
    Duplicate { what: String, dest: PathBuf, taken_by: String },
    /// A file does not fit newc's 32-bit size field.
    TooLarge { dest: PathBuf },
    /// The layout names a content slot this pack does not fill.
    UnknownSlot { dest: PathBuf, slot: &'static str },
    /// The compressor failed.
    Compress { how: &'static str, err: io::Error },
    /// The image cannot be written.
    Output { path: PathBuf, err: io::Error },
}

impl Error {
    /// 2 for usage errors, like other command-line tools; 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) | Error::ConfLine { .. } => 2,
            _ => 1,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Error::Usage(msg) => write!(f, "{msg}"),
            Error::ConfFile { path, err } => write!(f, "{}: {err}", path.display()),
            Error::ConfLine { path, line, problem } => write!(f, "{} line {line}: {problem}", path.display()),
            Error::Init { path, problem } => write!(f, "--init {}: {problem}", path.display()),
            Error::Config { path, problem } => write!(f, "--config {}: {problem}", path.display()),
            Error::SourceDateEpoch(value) => {
                write!(f, "SOURCE_DATE_EPOCH={value:?} is not a number of seconds from 0 to {}", u32::MAX)
            }
            Error::KernelRelease(err) => write!(
                f,
                "cannot read the running kernel's release from /proc/sys/kernel/osrelease: {err}; \
                 pass --kernel-release or --modules-dir"
            ),
            Error::ModulesDir { dir, running, err, hint } => {
                let whose = if *running { " (the running kernel's)" } else { "" };
                write!(f, "modules directory {}{whose}: {err}{hint}", dir.display())
            }
            Error::ModulesIndex { path, problem } => write!(f, "{}: {problem}", path.display()),
            Error::UnknownModule { name, index, suggestions } => {
                let names: Vec<&str> = suggestions.iter().map(String::as_str).collect();
                write!(f, "unknown module '{name}' in {}{}", index.display(), crate::suggest::did_you_mean(&names))
            }
            Error::AmbiguousModule { name, via, modules } => write!(
                f,
                "--module {name} is an alias ({via}) of {} modules: {}; name the one to pack \
                 (modprobe would load them all)",
                modules.len(),
                modules.join(", ")
            ),
            Error::Blacklisted { name, modules } => write!(
                f,
                "--module {name} is an alias of blacklisted modules only: {}; modprobe would load nothing \
                 (name the module itself to pack it anyway)",
                modules.join(", ")
            ),
            Error::SoftdepCycle { cycle, lines } => {
                write!(f, "softdep cycle: {} (each must load after the next; {})", cycle.join(" -> "), lines.join("; "))
            }
            Error::ModprobeCommand { module, kind, source } => write!(
                f,
                "module {module} has an '{kind}' command ({source}): the image has no shell to run it and \
                 init loads modules itself; remove the line or pass --modprobe-dir with a directory without it"
            ),
            Error::ModuleParams { module, params } => write!(
                f,
                "module {module}: load parameters are {} bytes, init takes at most {}: {params}",
                params.len(),
                overinit::modlist::PARAMS_MAX
            ),
            Error::ModprobeConfig(err) => write!(f, "modprobe.d: {err}"),
            Error::Hostonly(problem) => write!(f, "--hostonly: {problem}"),
            Error::Verity(problem) => write!(f, "{problem}"),
            Error::DependencyCycle { index, cycle } => {
                write!(f, "dependency cycle in {}: {}", index.display(), cycle.join(" -> "))
            }
            Error::InitMachine { path, init, module, module_path, modules } => {
                write!(
                    f,
                    "--init {} is built for {init}, but the kernel modules are for {modules} \
                     (module {module}: {}): that kernel cannot run it",
                    path.display(),
                    module_path.display()
                )?;
                match modules.rust_arch() {
                    Some(arch) => write!(f, "; build init with --target {arch}-unknown-linux-musl"),
                    None => write!(f, "; build init for the modules' architecture"),
                }
            }
            Error::ModuleFile { module, needed_by, path, problem } => {
                write!(f, "module {module}")?;
                if let Some(parent) = needed_by {
                    write!(f, " (needed by {parent})")?;
                }
                write!(f, ": {}: {problem}", path.display())
            }
            Error::AddSource { src, problem } => write!(f, "--add {}: {problem}", src.display()),
            Error::Destination { what, dest, problem } => {
                write!(f, "{what}: destination {}: {problem}", dest.display())
            }
            Error::Duplicate { what, dest, taken_by } => {
                write!(f, "{what}: duplicate destination {}, already taken by {taken_by}", dest.display())
            }
            Error::TooLarge { dest } => {
                write!(f, "{} is larger than a newc cpio member can be (4 GiB)", dest.display())
            }
            Error::UnknownSlot { dest, slot } => {
                write!(f, "initramfs/layout wants content @{slot} for {}, which pack does not supply", dest.display())
            }
            Error::Compress { how, err } => write!(f, "{how} compression failed: {err}"),
            Error::Output { path, err } => write!(f, "cannot write {}: {err}", path.display()),
        }
    }
}
