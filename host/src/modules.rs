//! Kernel modules for the image: which files, in which load order.
//!
//! The input is a kernel's modules directory (`/lib/modules/KVER`) as depmod
//! leaves it: `modules.dep` has one line per module, `FILE: DEP-FILE...`,
//! with paths relative to the directory and every (transitive) dependency
//! listed; `modules.builtin` lists the modules compiled into the kernel.
//! Names compare like modprobe's: `-` and `_` are the same character, and
//! the canonical spelling (used in the image) has `_`.
//!
//! The load order is computed here, at pack time, so `init` only walks a
//! list: the modules in the order they were requested, each preceded by its
//! dependencies (those in name order, recursively). The list is then split
//! into groups that share no dependency ([`ModuleTree::groups`]), which
//! init may load concurrently.

use crate::{
    error::Error,
    modprobe::{fnmatch, normalize, Config, Source},
};
use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    fs,
    io::{self, Read as _},
    path::{Path, PathBuf},
};

/// Compressed module suffixes depmod lists, and whether we can unpack them.
const SUFFIXES: [&str; 4] = [".ko", ".ko.xz", ".ko.zst", ".ko.gz"];

/// A kernel's modules directory, parsed.
#[derive(Debug)]
pub struct ModuleTree {
    dir: PathBuf,
    /// Canonical name → module, for every module `modules.dep` mentions.
    modules: BTreeMap<String, Module>,
    builtin: BTreeSet<String>,
    /// `modules.alias`: (pattern, module), both normalized, in file order.
    aliases: Vec<(String, String)>,
    /// `alias=` entries of `modules.builtin.modinfo`: (alias, module).
    builtin_aliases: Vec<(String, String)>,
    /// modprobe.d and `modules.softdep` (empty unless [`ModuleTree::with_config`]).
    config: Config,
    /// Add `async_probe` to storage drivers' parameters ([`is_storage_driver`]).
    pub async_probe: bool,
}

#[derive(Debug)]
struct Module {
    /// Path of the module file as `modules.dep` gives it.
    file: String,
    /// Canonical names of the modules it needs.
    deps: Vec<String>,
}

/// Why a module is in the image (the pack summary prints it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// `--module NAME`.
    Requested,
    /// `--module ALIAS` naming this module (`fs-overlay`, `pci:v...`).
    Alias(String),
    /// `modules.dep`: the module named needs it.
    Dependency(String),
    /// `softdep OF pre:/post: NAME`; `matches`: how many modules NAME
    /// resolved to (all are packed, as modprobe loads all).
    Softdep { of: String, name: String, post: bool, matches: usize },
    /// `--hostonly`: the device (or filesystem) that needs it.
    Hostonly(String),
    /// `--verity`: a verified base needs it.
    Verity,
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            Why::Requested => write!(f, "requested"),
            Why::Alias(alias) => write!(f, "alias {alias}"),
            Why::Dependency(of) => write!(f, "dependency of {of}"),
            Why::Softdep { of, name, post, matches } => {
                write!(f, "softdep of {of} ({}: {name}", if *post { "post" } else { "pre" })?;
                if *matches > 1 {
                    write!(f, "; all {matches} matches, as modprobe")?;
                }
                write!(f, ")")
            }
            Why::Hostonly(what) => write!(f, "hostonly: {what}"),
            Why::Verity => write!(f, "verity"),
        }
    }
}

/// One module to put in the image, in load order.
#[derive(Debug, PartialEq, Eq)]
pub struct Resolved {
    /// Canonical name (`virtio_blk`).
    pub name: String,
    /// The module file on the host.
    pub file: PathBuf,
    pub why: Why,
    /// Load parameters (modprobe.d `options`, `async_probe`), for the list.
    pub params: String,
    /// The modules that must load before it (dependencies, softdeps).
    pub after: Vec<String>,
}

impl Resolved {
    /// The module that pulled this one in, `None` if it was asked for.
    pub fn needed_by(&self) -> Option<&str> {
        match &self.why {
            Why::Dependency(of) | Why::Softdep { of, .. } => Some(of),
            _ => None,
        }
    }
}

/// A module to resolve: `--module NAME` (`why: None`: an alias naming
/// several modules is an error) or one chosen by pack itself (a module name
/// from [`ModuleTree::lookup`]).
#[derive(Debug, Clone)]
pub struct Want {
    pub name: String,
    pub why: Option<Why>,
}

impl Want {
    pub fn named(name: &str) -> Want {
        Want { name: name.to_string(), why: None }
    }
}

/// The outcome of resolving `--module` names.
#[derive(Debug, Default)]
pub struct Resolution {
    /// Modules to load, each after everything it needs.
    pub load: Vec<Resolved>,
    /// Requested modules that are built into the kernel (nothing to load),
    /// with how they were named.
    pub builtin: Vec<String>,
    /// Things the user should know (a softdep naming nothing, a
    /// blacklisted alias match): one line each.
    pub warnings: Vec<String>,
    /// Names pack chose ([`Want::why`] set) that mean no module.
    pub unmatched: Vec<String>,
}

/// What a name means to modprobe ([`ModuleTree::lookup`]).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Lookup {
    /// Which index turned it into module names; `None`: it is a module name.
    pub via: Option<&'static str>,
    /// Loadable modules (canonical names), in index order, no duplicates.
    pub modules: Vec<String>,
    /// Built-in modules it means.
    pub builtin: Vec<String>,
}

/// modprobe's rule: `-` and `_` are interchangeable in module names.
pub fn canonical(name: &str) -> String {
    name.replace('-', "_")
}

/// `kernel/drivers/block/virtio_blk.ko.xz` → `virtio_blk`.
fn name_of(file: &str) -> String {
    let base = file.rsplit('/').next().unwrap_or(file);
    let stem = SUFFIXES.iter().rev().find_map(|s| base.strip_suffix(s)).unwrap_or(base);
    canonical(stem)
}

/// Directories of drivers that probe block devices (or the buses they sit
/// on). Their device drivers — the modules with a device alias in
/// `modules.alias` (`pci:`, `scsi:`, `usb:`, `virtio:`...; libraries such
/// as `libata` or `nvme_core` have none) — get `async_probe`, the kernel's
/// generic module parameter (kernel/module/main.c `unknown_module_param_cb`)
/// that makes the module's drivers probe asynchronously.
///
/// Not `drivers/block` or `drivers/virtio`: virtio_blk numbers its disks
/// (`vda`, `vdb`) in probe order, and probing them concurrently made
/// `root=/dev/vda` name the state disk (seen in the rig). The drivers here
/// name disks in probe order already (nvme and sd probe asynchronously by
/// default), so their names were never stable.
pub const STORAGE_DIRS: [&str; 5] = [
    "kernel/drivers/ata/",
    "kernel/drivers/nvme/",
    "kernel/drivers/scsi/",
    "kernel/drivers/usb/",
    "kernel/drivers/mmc/",
];

/// Whether a module file (relative to the modules directory) is a storage
/// driver in the sense of [`STORAGE_DIRS`].
pub fn is_storage_driver(file: &str) -> bool {
    STORAGE_DIRS.iter().any(|d| file.starts_with(d))
}

/// Reads an index that may be absent (an empty one then, as modprobe
/// treats it).
fn optional(path: PathBuf) -> Result<Vec<u8>, Error> {
    match fs::read(&path) {
        Ok(bytes) => Ok(bytes),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(err) => Err(Error::ModulesIndex { path, problem: err.to_string() }),
    }
}

impl ModuleTree {
    /// Reads `DIR/modules.dep`, and `modules.builtin`, `modules.alias`,
    /// `modules.builtin.modinfo` (each absent = empty, as modprobe treats
    /// them).
    pub fn load(dir: &Path) -> Result<ModuleTree, Error> {
        let index = dir.join("modules.dep");
        let dep = fs::read(&index).map_err(|err| match err.kind() {
            io::ErrorKind::NotFound => Error::ModulesIndex {
                path: index.clone(),
                problem: format!("{err}; is {} a kernel modules directory (run depmod)?", dir.display()),
            },
            _ => Error::ModulesIndex { path: index.clone(), problem: err.to_string() },
        })?;
        let builtin = optional(dir.join("modules.builtin"))?;
        let mut tree = ModuleTree::parse(dir, &dep, &builtin)?;
        tree.aliases = parse_aliases(&optional(dir.join("modules.alias"))?);
        tree.builtin_aliases = parse_builtin_modinfo(&optional(dir.join("modules.builtin.modinfo"))?);
        Ok(tree)
    }

    /// The same tree, resolving with kmod's configuration `config`.
    pub fn with_config(mut self, config: Config) -> ModuleTree {
        self.config = config;
        self
    }

    /// The modules directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Parses the two index files' contents (no file system access).
    pub fn parse(dir: &Path, dep: &[u8], builtin: &[u8]) -> Result<ModuleTree, Error> {
        let index = dir.join("modules.dep");
        let text = |bytes: &[u8], path: PathBuf| {
            String::from_utf8(bytes.to_vec())
                .map_err(|_| Error::ModulesIndex { path, problem: "not valid UTF-8".to_string() })
        };
        let mut modules = BTreeMap::new();
        let mut listed = BTreeSet::new();
        for (n, line) in text(dep, index.clone())?.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let Some((file, deps)) = line.split_once(':') else {
                return Err(Error::ModulesIndex {
                    path: index,
                    problem: format!("line {}: expected 'FILE: DEPS...', found {line:?}", n + 1),
                });
            };
            let file = file.trim();
            let name = name_of(file);
            if !listed.insert(name.clone()) {
                // depmod lists each module once; keep the first if not.
                continue;
            }
            let mut dep_names = Vec::new();
            for dep in deps.split_whitespace() {
                let dep_name = name_of(dep);
                // A dependency depmod lists before (or without) its own line.
                modules.entry(dep_name.clone()).or_insert_with(|| Module { file: dep.to_string(), deps: Vec::new() });
                dep_names.push(dep_name);
            }
            dep_names.sort();
            dep_names.dedup();
            // Replaces a stand-in made from an earlier line's dependencies.
            modules.insert(name, Module { file: file.to_string(), deps: dep_names });
        }
        let builtin = text(builtin, dir.join("modules.builtin"))?
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(name_of)
            .collect();
        Ok(ModuleTree {
            dir: dir.to_path_buf(),
            modules,
            builtin,
            aliases: Vec::new(),
            builtin_aliases: Vec::new(),
            config: Config::default(),
            async_probe: false,
        })
    }

    /// What modprobe would make of `name`, in libkmod's lookup order
    /// (`kmod_module_new_from_lookup`): modprobe.d `alias` lines, a module
    /// of `modules.dep`, `modules.alias` patterns, a `modules.builtin`
    /// name, the aliases of `modules.builtin.modinfo`. The first that knows
    /// the name answers. Names and patterns compare normalized (`-` = `_`).
    pub fn lookup(&self, name: &str) -> Lookup {
        let name = normalize(name);
        let mut out = Lookup::default();
        let add = |out: &mut Lookup, module: &str| {
            if self.modules.contains_key(module) {
                if !out.modules.iter().any(|m| m == module) {
                    out.modules.push(module.to_string());
                }
            } else if self.builtin.contains(module) && !out.builtin.iter().any(|m| m == module) {
                out.builtin.push(module.to_string());
            }
        };
        for (pattern, module, _) in &self.config.aliases {
            if fnmatch(pattern, &name) {
                add(&mut out, module);
            }
        }
        if !out.modules.is_empty() || !out.builtin.is_empty() {
            out.via = Some("modprobe.d alias");
            return out;
        }
        if self.modules.contains_key(&name) {
            out.modules.push(name);
            return out;
        }
        for (pattern, module) in &self.aliases {
            if fnmatch(pattern, &name) {
                add(&mut out, module);
            }
        }
        if !out.modules.is_empty() || !out.builtin.is_empty() {
            out.via = Some("modules.alias");
            return out;
        }
        if self.builtin.contains(&name) {
            out.builtin.push(name);
            return out;
        }
        for (alias, module) in &self.builtin_aliases {
            if fnmatch(alias, &name) && !out.builtin.contains(module) {
                out.builtin.push(module.clone());
            }
        }
        if !out.builtin.is_empty() {
            out.via = Some("modules.builtin.modinfo");
        }
        out
    }

    /// `lookup` with modprobe's blacklist applied to what an alias found
    /// (a module named directly is never blacklisted): the modules kept and
    /// those dropped, with the blacklist line.
    fn lookup_listed(&self, name: &str) -> (Lookup, Vec<(String, &Source)>) {
        let mut found = self.lookup(name);
        let mut dropped = Vec::new();
        if found.via.is_some() {
            found.modules.retain(|m| match self.config.blacklisted(m) {
                Some(source) => {
                    dropped.push((m.clone(), source));
                    false
                }
                None => true,
            });
        }
        (found, dropped)
    }

    /// The load order for `wanted`: each module after everything it needs
    /// (its `modules.dep` dependencies, in name order, then its softdep
    /// `pre:` modules) and before its `post:` modules; the wanted modules
    /// in the order given. Built-in modules are left out (wanted ones are
    /// reported). A cycle through softdeps is an error, as is an
    /// `install`/`remove` command for a module the image would load.
    pub fn resolve(&self, wanted: &[Want]) -> Result<Resolution, Error> {
        let mut walk = Walk {
            tree: self,
            preds: HashMap::new(),
            why: HashMap::new(),
            order: Vec::new(),
            out: Resolution::default(),
        };
        for want in wanted {
            match &want.why {
                Some(why) => walk.given(&want.name, why),
                None => walk.requested(&want.name)?,
            }
        }
        walk.finish()
    }

    /// The load order for `--module` names (see [`ModuleTree::resolve`]).
    #[cfg(test)]
    pub fn resolve_names<S: AsRef<str>>(&self, names: &[S]) -> Result<Resolution, Error> {
        self.resolve(&names.iter().map(|n| Want::named(n.as_ref())).collect::<Vec<_>>())
    }

    /// Of several modules one name means, leaves out the CPU-specific
    /// implementations (`kernel/arch/...`, e.g. crc32c_intel) when a
    /// generic one is among them: their init fails with ENODEV on a CPU
    /// without the feature (QEMU's TCG CPU has no SSE4.2), and init stops
    /// the boot on a module that fails to load. A warning says so.
    fn without_cpu_specific(&self, modules: Vec<String>, warnings: &mut Vec<String>, name: &str) -> Vec<String> {
        let arch = |m: &String| self.modules.get(m).is_some_and(|m| m.file.starts_with("kernel/arch/"));
        if modules.len() < 2 || modules.iter().all(arch) {
            return modules;
        }
        let (cpu, generic): (Vec<String>, Vec<String>) = modules.into_iter().partition(arch);
        if !cpu.is_empty() {
            warnings.push(format!(
                "{name}: not packing {} (CPU-specific, fails with ENODEV on a CPU without the feature, which \
                 stops the boot); {} serves instead",
                cpu.join(", "),
                generic.join(", ")
            ));
        }
        generic
    }

    /// Whether pack gives `name` (at `file`) `async_probe`.
    fn probes_async(&self, name: &str, file: &str) -> bool {
        self.async_probe && is_storage_driver(file) && self.aliases.iter().any(|(_, m)| m == name)
    }

    /// The parameters the image passes to `finit_module` for a module.
    fn params(&self, name: &str, file: &str) -> String {
        let mut params = self.config.options(name);
        let has_async = params.split_whitespace().any(|p| p == "async_probe" || p.starts_with("async_probe="));
        if self.probes_async(name, file) && !has_async {
            if !params.is_empty() {
                params.push(' ');
            }
            params.push_str("async_probe");
        }
        params
    }

    /// Splits a load order into independent groups: the connected
    /// components of the dependency graph (softdeps included) among the
    /// modules of `load`
    /// (built-ins are not in it, so they join nothing). Groups come in the
    /// order of their first module, and each keeps the load order; no module
    /// needs one of another group, so the groups may load concurrently.
    pub fn groups<'r>(&self, load: &'r [Resolved]) -> Vec<Vec<&'r Resolved>> {
        let index: HashMap<&str, usize> = load.iter().enumerate().map(|(i, m)| (m.name.as_str(), i)).collect();
        // Union-find over positions in `load`; a root is its set's smallest position.
        let mut parent: Vec<usize> = (0..load.len()).collect();
        fn root(parent: &mut [usize], mut i: usize) -> usize {
            while parent[i] != i {
                parent[i] = parent[parent[i]];
                i = parent[i];
            }
            i
        }
        for (i, m) in load.iter().enumerate() {
            for j in m.after.iter().filter_map(|d| index.get(d.as_str())) {
                let (a, b) = (root(&mut parent, i), root(&mut parent, *j));
                parent[a.max(b)] = a.min(b);
            }
        }
        let mut groups: Vec<Vec<&Resolved>> = Vec::new();
        let mut slot = HashMap::new();
        for (i, m) in load.iter().enumerate() {
            let g = *slot.entry(root(&mut parent, i)).or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            });
            groups[g].push(m);
        }
        groups
    }

    /// The module's contents, decompressed (`finit_module` without
    /// `MODULE_INIT_COMPRESSED_FILE` wants a plain ELF object).
    pub fn read(&self, module: &Resolved) -> Result<Vec<u8>, Error> {
        let fail = |problem: String| Error::ModuleFile {
            module: module.name.clone(),
            needed_by: module.needed_by().map(str::to_string),
            path: module.file.clone(),
            problem,
        };
        let raw = fs::read(&module.file).map_err(|e| fail(e.to_string()))?;
        let plain = decompress(&module.file, raw).map_err(|e| fail(e.to_string()))?;
        if !plain.starts_with(b"\x7fELF") {
            return Err(fail("not an ELF kernel module".to_string()));
        }
        Ok(plain)
    }
}

/// `alias PATTERN MODULE` lines of `modules.alias` (others skipped: depmod
/// writes only those and comments).
fn parse_aliases(bytes: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(bytes)
        .lines()
        .filter_map(|line| {
            let mut w = line.split_whitespace();
            match (w.next(), w.next(), w.next()) {
                (Some("alias"), Some(pattern), Some(module)) => Some((normalize(pattern), canonical(module))),
                _ => None,
            }
        })
        .collect()
}

/// `MODULE.alias=ALIAS` entries of `modules.builtin.modinfo` (NUL
/// separated `MODULE.KEY=VALUE`, as depmod's `modules.builtin.alias.bin`
/// is made from).
fn parse_builtin_modinfo(bytes: &[u8]) -> Vec<(String, String)> {
    bytes
        .split(|&b| b == 0)
        .filter_map(|entry| {
            let entry = std::str::from_utf8(entry).ok()?;
            let (key, alias) = entry.split_once('=')?;
            let module = key.strip_suffix(".alias")?;
            Some((normalize(alias), canonical(module)))
        })
        .collect()
}

/// How one module must precede another in the load order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edge {
    /// `modules.dep`: the later module needs it.
    Dep,
    /// `softdep LATER pre: NAME`.
    Pre,
    /// `softdep EARLIER post: NAME`.
    Post,
}

/// The closure of the wanted modules, then a depth-first topological sort.
struct Walk<'a> {
    tree: &'a ModuleTree,
    /// Module → the modules that must load before it, with why.
    preds: HashMap<String, Vec<(String, Edge, String)>>,
    why: HashMap<String, Why>,
    /// Modules in the order they were found (each after its dependencies
    /// and `pre:` modules, before its `post:` modules).
    order: Vec<String>,
    out: Resolution,
}

impl Walk<'_> {
    /// `--module NAME`: one module, or an error saying why not.
    fn requested(&mut self, typed: &str) -> Result<(), Error> {
        let tree = self.tree;
        let (found, dropped) = tree.lookup_listed(typed);
        let mut hits: Vec<String> = found.modules.clone();
        hits.extend(found.builtin.iter().cloned());
        if hits.is_empty() && dropped.is_empty() {
            let name = canonical(typed);
            let candidates = tree.modules.keys().chain(&tree.builtin).map(String::as_str);
            let suggestions = crate::suggest::closest(&name, candidates).into_iter().map(str::to_string).collect();
            return Err(Error::UnknownModule {
                name: typed.to_string(),
                index: tree.dir.join("modules.dep"),
                suggestions,
            });
        }
        if hits.is_empty() {
            let list: Vec<String> = dropped.iter().map(|(m, s)| format!("{m} (blacklist at {s})")).collect();
            return Err(Error::Blacklisted { name: typed.to_string(), modules: list });
        }
        if hits.len() > 1 {
            return Err(Error::AmbiguousModule {
                name: typed.to_string(),
                via: found.via.unwrap_or("modules.alias"),
                modules: hits,
            });
        }
        let alias = found.via.map(|_| typed.to_string());
        match (found.modules.first(), alias) {
            (Some(m), None) => self.discover(m, Why::Requested),
            (Some(m), Some(alias)) => self.discover(m, Why::Alias(alias)),
            (None, alias) => {
                let m = &found.builtin[0];
                let named = match alias {
                    Some(a) => format!("{m} (alias {a})"),
                    None => m.clone(),
                };
                if !self.out.builtin.contains(&named) {
                    self.out.builtin.push(named);
                }
            }
        }
        Ok(())
    }

    /// A name pack chose (a modalias, `fs-ext4`): every module it means,
    /// as modprobe loads all; the built-in ones and names meaning nothing
    /// are reported.
    fn given(&mut self, name: &str, why: &Why) {
        let (found, dropped) = self.tree.lookup_listed(name);
        for (m, source) in &dropped {
            self.out.warnings.push(format!("{m} ({why}) is blacklisted ({source}); not packed"));
        }
        for m in &found.builtin {
            self.out.builtin.push(format!("{m} ({why})"));
        }
        if found.modules.is_empty() && found.builtin.is_empty() && dropped.is_empty() {
            self.out.unmatched.push(name.to_string());
        }
        for m in &self.tree.without_cpu_specific(found.modules, &mut self.out.warnings, name) {
            self.discover(m, why.clone());
        }
    }

    /// Adds `name` (a canonical module name) and everything it brings.
    fn discover(&mut self, name: &str, why: Why) {
        let tree = self.tree;
        if self.why.contains_key(name) || !tree.modules.contains_key(name) {
            return;
        }
        self.why.insert(name.to_string(), why);
        self.preds.entry(name.to_string()).or_default();
        for dep in &tree.modules[name].deps {
            if tree.builtin.contains(dep) {
                continue;
            }
            self.preds.get_mut(name).unwrap().push((dep.clone(), Edge::Dep, String::new()));
            self.discover(dep, Why::Dependency(name.to_string()));
        }
        let softdep = tree.config.softdep(name).cloned();
        let softdep_line = |s: &crate::modprobe::Softdep, post: bool, token: &str| {
            format!("softdep {} {}: {token} ({})", s.module, if post { "post" } else { "pre" }, s.source)
        };
        if let Some(s) = &softdep {
            for token in &s.pre {
                for m in self.softdep_targets(name, token, false) {
                    let line = softdep_line(s, false, token);
                    self.preds.get_mut(name).unwrap().push((m.0.clone(), Edge::Pre, line));
                    self.discover(
                        &m.0,
                        Why::Softdep { of: name.to_string(), name: token.clone(), post: false, matches: m.1 },
                    );
                }
            }
        }
        self.order.push(name.to_string());
        if let Some(s) = &softdep {
            for token in &s.post {
                for m in self.softdep_targets(name, token, true) {
                    let line = softdep_line(s, true, token);
                    self.preds.entry(m.0.clone()).or_default().push((name.to_string(), Edge::Post, line));
                    self.discover(
                        &m.0,
                        Why::Softdep { of: name.to_string(), name: token.clone(), post: true, matches: m.1 },
                    );
                }
            }
        }
    }

    /// The modules a softdep name means (all of them, as modprobe loads
    /// all), each with the count; a name meaning nothing is a warning.
    fn softdep_targets(&mut self, of: &str, token: &str, post: bool) -> Vec<(String, usize)> {
        let (found, dropped) = self.tree.lookup_listed(token);
        let kind = if post { "post" } else { "pre" };
        for (m, source) in &dropped {
            self.out
                .warnings
                .push(format!("softdep of {of} ({kind}: {token}): {m} is blacklisted ({source}); not packed"));
        }
        if found.modules.is_empty() && found.builtin.is_empty() && dropped.is_empty() {
            self.out.warnings.push(format!(
                "softdep of {of} ({kind}: {token}) names no module of {}; skipped",
                self.tree.dir.display()
            ));
        }
        let kept = self.tree.without_cpu_specific(found.modules, &mut self.out.warnings, token);
        let n = kept.len();
        kept.into_iter().map(|m| (m, n)).collect()
    }

    /// The load order: a depth-first walk in discovery order emitting each
    /// module after its predecessors; meeting a module on the current path
    /// again is a cycle.
    fn finish(mut self) -> Result<Resolution, Error> {
        let mut done = BTreeSet::new();
        let mut path = Vec::new();
        for name in std::mem::take(&mut self.order) {
            self.visit(&name, None, &mut done, &mut path)?;
        }
        self.async_last();
        let mut seen = BTreeSet::new();
        self.out.warnings.retain(|w| seen.insert(w.clone()));
        for m in &self.out.load {
            if let Some(c) = self.tree.config.command(&m.name) {
                return Err(Error::ModprobeCommand {
                    module: m.name.clone(),
                    kind: c.kind,
                    source: c.source.to_string(),
                });
            }
            if m.params.len() > overinit::modlist::PARAMS_MAX {
                return Err(Error::ModuleParams { module: m.name.clone(), params: m.params.clone() });
            }
        }
        Ok(self.out)
    }

    /// With `async_probe`, modules that probe asynchronously load after
    /// every module that does not need them: after loading a module
    /// without `async_probe` the kernel waits for *all* pending async work
    /// (`do_init_module`: `if (!mod->async_probe_requested)
    /// async_synchronize_full()`), which would make ext4 wait for AHCI's
    /// port scan. A stable partition, so still a valid load order: first
    /// the modules that need no async-probing module, then the rest.
    fn async_last(&mut self) {
        let probes = |m: &Resolved| m.params.split_whitespace().any(|p| p == "async_probe" || p == "async_probe=1");
        let mut tainted: BTreeSet<String> = BTreeSet::new();
        let (mut first, mut last) = (Vec::new(), Vec::new());
        for m in std::mem::take(&mut self.out.load) {
            let needs_async = self.preds[&m.name].iter().any(|(p, ..)| tainted.contains(p));
            if probes(&m) || needs_async {
                tainted.insert(m.name.clone());
                last.push(m);
            } else {
                first.push(m);
            }
        }
        first.extend(last);
        self.out.load = first;
    }

    /// `via`: how `name` must precede the module on top of `path`.
    fn visit(
        &mut self,
        name: &str,
        via: Option<(Edge, String)>,
        done: &mut BTreeSet<String>,
        path: &mut Vec<(String, Option<(Edge, String)>)>,
    ) -> Result<(), Error> {
        if done.contains(name) {
            return Ok(());
        }
        if let Some(start) = path.iter().position(|(n, _)| n == name) {
            // Each module needs the next; start at the smallest name, so the
            // message does not depend on where the walk came in.
            let mut cycle: Vec<String> = path[start..].iter().map(|(n, _)| n.clone()).collect();
            let edges: Vec<&(Edge, String)> =
                path[start + 1..].iter().filter_map(|(_, v)| v.as_ref()).chain(via.as_ref()).collect();
            let first = (0..cycle.len()).min_by_key(|&i| &cycle[i]).unwrap_or(0);
            cycle.rotate_left(first);
            cycle.push(cycle[0].clone());
            let mut lines: Vec<String> =
                edges.iter().filter(|(e, _)| *e != Edge::Dep).map(|(_, l)| l.clone()).collect();
            lines.sort();
            if lines.is_empty() {
                return Err(Error::DependencyCycle { index: self.tree.dir.join("modules.dep"), cycle });
            }
            return Err(Error::SoftdepCycle { cycle, lines });
        }
        let preds = self.preds.get(name).cloned().unwrap_or_default();
        path.push((name.to_string(), via));
        for (pred, edge, line) in preds {
            self.visit(&pred, Some((edge, line)), done, path)?;
        }
        path.pop();
        done.insert(name.to_string());
        let module = &self.tree.modules[name];
        self.out.load.push(Resolved {
            name: name.to_string(),
            file: self.tree.dir.join(&module.file),
            why: self.why[name].clone(),
            params: self.tree.params(name, &module.file),
            after: self.preds[name].iter().map(|(p, ..)| p.clone()).collect(),
        });
        Ok(())
    }
}

/// Unpacks `.ko.xz`, `.ko.zst` and `.ko.gz`; anything else is returned as is.
fn decompress(path: &Path, raw: Vec<u8>) -> io::Result<Vec<u8>> {
    let name = path.to_string_lossy();
    let mut out = Vec::new();
    if name.ends_with(".ko.xz") {
        liblzma::read::XzDecoder::new_multi_decoder(&raw[..]).read_to_end(&mut out)?;
    } else if name.ends_with(".ko.zst") {
        out = zstd::stream::decode_all(&raw[..])?;
    } else if name.ends_with(".ko.gz") {
        flate2::read::MultiGzDecoder::new(&raw[..]).read_to_end(&mut out)?;
    } else {
        out = raw;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::TempDir;
    use std::io::Write as _;

    /// A modules directory with the given modules.dep lines and builtins;
    /// every module file named in `files` exists with ELF content.
    fn tree(dep: &str, builtin: &str, files: &[&str]) -> (TempDir, ModuleTree) {
        let dir = TempDir::new("modules");
        fs::write(dir.path().join("modules.dep"), dep).unwrap();
        fs::write(dir.path().join("modules.builtin"), builtin).unwrap();
        for f in files {
            let path = dir.path().join(f);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, elf(f)).unwrap();
        }
        let tree = ModuleTree::load(dir.path()).unwrap();
        (dir, tree)
    }

    fn elf(tag: &str) -> Vec<u8> {
        [&b"\x7fELF"[..], tag.as_bytes()].concat()
    }

    fn names(r: &Resolution) -> Vec<&str> {
        r.load.iter().map(|m| m.name.as_str()).collect()
    }

    /// The virtio part of Debian 6.1's modules.dep.
    const VIRTIO: &str = "\
kernel/fs/overlayfs/overlay.ko:
kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/virtio/virtio_pci_modern_dev.ko:
kernel/drivers/virtio/virtio_pci_legacy_dev.ko:
kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_legacy_dev.ko kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/char/hw_random/virtio-rng.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
";

    #[test]
    fn transitive_dependencies_come_first() {
        let (_dir, t) = tree(VIRTIO, "kernel/fs/ext4/ext4.ko\n", &[]);
        let r = t.resolve_names(&["virtio_pci", "virtio_blk", "overlay"]).unwrap();
        assert_eq!(
            names(&r),
            [
                "virtio_ring",
                "virtio",
                "virtio_pci_legacy_dev",
                "virtio_pci_modern_dev",
                "virtio_pci",
                "virtio_blk",
                "overlay"
            ]
        );
        assert_eq!(r.load[0].needed_by(), Some("virtio"));
        assert_eq!(r.load[4].needed_by(), None);
        assert!(r.load[6].file.ends_with("kernel/fs/overlayfs/overlay.ko"));
        assert!(r.builtin.is_empty());
    }

    fn group_names<'a>(groups: &[Vec<&'a Resolved>]) -> Vec<Vec<&'a str>> {
        groups.iter().map(|g| g.iter().map(|m| m.name.as_str()).collect()).collect()
    }

    #[test]
    fn independent_modules_form_groups() {
        let (_dir, t) = tree(VIRTIO, "", &[]);
        let r = t.resolve_names(&["virtio_pci", "virtio_blk", "overlay"]).unwrap();
        assert_eq!(
            group_names(&t.groups(&r.load)),
            [
                vec![
                    "virtio_ring",
                    "virtio",
                    "virtio_pci_legacy_dev",
                    "virtio_pci_modern_dev",
                    "virtio_pci",
                    "virtio_blk"
                ],
                vec!["overlay"]
            ]
        );
        // The group order follows the first module; overlay first here.
        let r = t.resolve_names(&["overlay", "virtio_pci_modern_dev", "virtio_blk"]).unwrap();
        assert_eq!(
            group_names(&t.groups(&r.load)),
            [vec!["overlay"], vec!["virtio_pci_modern_dev"], vec!["virtio_ring", "virtio", "virtio_blk"]]
        );
        assert!(t.groups(&[]).is_empty());
    }

    #[test]
    fn a_late_module_joins_groups_it_links() {
        // c needs a and b, listed after both: one group, in load order.
        let dep = "a.ko:\nb.ko:\nc.ko: a.ko b.ko\nd.ko:\n";
        let (_dir, t) = tree(dep, "", &[]);
        let r = t.resolve_names(&["a", "d", "b", "c"]).unwrap();
        assert_eq!(group_names(&t.groups(&r.load)), [vec!["a", "b", "c"], vec!["d"]]);
        // A shared built-in dependency links nothing.
        let dep = "x.ko: kernel/lib/crc.ko\ny.ko: kernel/lib/crc.ko\n";
        let (_dir, t) = tree(dep, "kernel/lib/crc.ko\n", &[]);
        let r = t.resolve_names(&["x", "y"]).unwrap();
        assert_eq!(group_names(&t.groups(&r.load)), [vec!["x"], vec!["y"]]);
    }

    /// For random dependency graphs: every module is in exactly one group,
    /// each group keeps the load order, and no module needs one in another
    /// group; modules in one group are linked through dependencies.
    #[test]
    fn groups_are_the_components() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rand = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for _ in 0..200 {
            let n = 1 + rand(12) as usize;
            // Module i may only need modules < i: no cycles.
            let mut dep = String::new();
            for i in 0..n {
                dep.push_str(&format!("m{i}.ko:"));
                for j in 0..i {
                    if rand(5) == 0 {
                        dep.push_str(&format!(" m{j}.ko"));
                    }
                }
                dep.push('\n');
            }
            let (_dir, t) = tree(&dep, "", &[]);
            let want: Vec<String> = (0..n).filter(|_| rand(2) == 0).map(|i| format!("m{i}")).collect();
            let r = t.resolve_names(&want).unwrap();
            let groups = t.groups(&r.load);
            let group_of: HashMap<&str, usize> =
                groups.iter().enumerate().flat_map(|(g, ms)| ms.iter().map(move |m| (m.name.as_str(), g))).collect();
            assert_eq!(group_of.len(), r.load.len());
            for (g, ms) in groups.iter().enumerate() {
                let pos: Vec<usize> =
                    ms.iter().map(|m| r.load.iter().position(|l| l.name == m.name).unwrap()).collect();
                assert!(pos.windows(2).all(|w| w[0] < w[1]), "load order kept in {dep}");
                // Connected: a walk over dependency edges (both ways) inside
                // the group reaches all of it.
                let mut seen = vec![ms[0].name.as_str()];
                let mut i = 0;
                while i < seen.len() {
                    for m in ms {
                        let linked = t.modules[seen[i]].deps.contains(&m.name)
                            || t.modules[&m.name].deps.iter().any(|d| d == seen[i]);
                        if linked && !seen.contains(&m.name.as_str()) {
                            seen.push(&m.name);
                        }
                    }
                    i += 1;
                }
                assert_eq!(seen.len(), ms.len(), "group {g} not connected in {dep}");
                for m in ms {
                    for d in &t.modules[&m.name].deps {
                        assert_eq!(group_of.get(d.as_str()), Some(&g), "{} needs {d} in {dep}", m.name);
                    }
                }
            }
        }
    }

    #[test]
    fn only_direct_dependencies_listed_still_resolve() {
        // depmod lists the closure, but hand-made trees may not.
        let dep = "c.ko: b.ko\nb.ko: a.ko\na.ko:\n";
        let (_dir, t) = tree(dep, "", &[]);
        assert_eq!(names(&t.resolve_names(&["c"]).unwrap()), ["a", "b", "c"]);
    }

    #[test]
    fn order_is_stable_and_requests_are_deduplicated() {
        let (_dir, t) = tree(VIRTIO, "", &[]);
        let a = t.resolve_names(&["virtio_blk", "virtio_pci", "virtio_blk"]).unwrap();
        let b = t.resolve_names(&["virtio_blk", "virtio_pci"]).unwrap();
        assert_eq!(a.load, b.load);
        assert_eq!(names(&a)[..3], ["virtio_ring", "virtio", "virtio_blk"]);
    }

    #[test]
    fn dash_and_underscore_are_the_same() {
        let (_dir, t) = tree(VIRTIO, "kernel/drivers/md/dm-mod.ko\n", &[]);
        let r = t.resolve_names(&["virtio_rng", "virtio-blk", "dm_mod"]).unwrap();
        assert_eq!(names(&r), ["virtio_ring", "virtio", "virtio_rng", "virtio_blk"]);
        assert!(r.load[2].file.ends_with("hw_random/virtio-rng.ko"));
        assert_eq!(r.builtin, ["dm_mod"]);
    }

    #[test]
    fn builtins_are_skipped() {
        // A dependency that is also listed as builtin is not loaded.
        let dep = "kernel/fs/foo.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko\nkernel/fs/mbcache.ko:\n";
        let (_dir, t) = tree(dep, "kernel/fs/ext4/ext4.ko\nkernel/lib/crc16.ko\n", &[]);
        let r = t.resolve_names(&["ext4", "foo"]).unwrap();
        assert_eq!(names(&r), ["mbcache", "foo"]);
        assert_eq!(r.builtin, ["ext4"]);
    }

    #[test]
    fn cycles_are_named() {
        let dep = "a.ko: b.ko\nb.ko: c.ko\nc.ko: a.ko\nd.ko: a.ko\n";
        let (dir, t) = tree(dep, "", &[]);
        let err = t.resolve_names(&["d"]).unwrap_err().to_string();
        assert_eq!(err, format!("dependency cycle in {}/modules.dep: a -> b -> c -> a", dir.path().display()));
    }

    #[test]
    fn unknown_module_suggests_close_names() {
        let (dir, t) = tree(VIRTIO, "kernel/fs/ext4/ext4.ko\n", &[]);
        let err = t.resolve_names(&["virtio_bkl"]).unwrap_err().to_string();
        assert_eq!(
            err,
            format!("unknown module 'virtio_bkl' in {}/modules.dep; did you mean virtio_blk?", dir.path().display())
        );
        let err = t.resolve_names(&["ext3"]).unwrap_err().to_string();
        assert!(err.ends_with("; did you mean ext4?"), "{err}");
        let err = t.resolve_names(&["nothing_like_it"]).unwrap_err().to_string();
        assert!(err.ends_with("/modules.dep"), "{err}");
    }

    #[test]
    fn missing_dependency_file_names_both_modules() {
        let files = ["kernel/drivers/virtio/virtio.ko", "kernel/drivers/block/virtio_blk.ko"];
        let (dir, t) = tree(VIRTIO, "", &files);
        let r = t.resolve_names(&["virtio_blk"]).unwrap();
        let err = t.read(&r.load[0]).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "module virtio_ring (needed by virtio): {}/kernel/drivers/virtio/virtio_ring.ko: \
                 No such file or directory (os error 2)",
                dir.path().display()
            )
        );
        assert_eq!(t.read(&r.load[1]).unwrap(), elf(files[0]));
    }

    #[test]
    fn compressed_modules_are_stored_decompressed() {
        let content = elf(&"module body ".repeat(100));
        let dir = TempDir::new("compressed");
        let dep = "xz.ko.xz:\nzst.ko.zst:\ngz.ko.gz: xz.ko.xz zst.ko.zst\nplain.ko:\n";
        fs::write(dir.path().join("modules.dep"), dep).unwrap();
        let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 6);
        xz.write_all(&content).unwrap();
        fs::write(dir.path().join("xz.ko.xz"), xz.finish().unwrap()).unwrap();
        fs::write(dir.path().join("zst.ko.zst"), zstd::encode_all(&content[..], 3).unwrap()).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&content).unwrap();
        fs::write(dir.path().join("gz.ko.gz"), gz.finish().unwrap()).unwrap();
        fs::write(dir.path().join("plain.ko"), &content).unwrap();

        let t = ModuleTree::load(dir.path()).unwrap();
        let r = t.resolve_names(&["gz", "plain"]).unwrap();
        assert_eq!(names(&r), ["xz", "zst", "gz", "plain"]);
        for m in &r.load {
            assert_eq!(t.read(m).unwrap(), content, "{}", m.name);
        }
    }

    #[test]
    fn corrupt_compressed_module_is_an_error() {
        let dir = TempDir::new("corrupt");
        fs::write(dir.path().join("modules.dep"), "bad.ko.xz:\n").unwrap();
        fs::write(dir.path().join("bad.ko.xz"), b"not xz").unwrap();
        let t = ModuleTree::load(dir.path()).unwrap();
        let r = t.resolve_names(&["bad"]).unwrap();
        let err = t.read(&r.load[0]).unwrap_err().to_string();
        assert!(err.starts_with("module bad: "), "{err}");
    }

    #[test]
    fn missing_index_files() {
        let dir = TempDir::new("no-dep");
        let err = ModuleTree::load(dir.path()).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "{d}/modules.dep: No such file or directory (os error 2); \
                 is {d} a kernel modules directory (run depmod)?",
                d = dir.path().display()
            )
        );
        // No modules.builtin: nothing is built in.
        fs::write(dir.path().join("modules.dep"), "a.ko:\n").unwrap();
        let t = ModuleTree::load(dir.path()).unwrap();
        assert_eq!(names(&t.resolve_names(&["a"]).unwrap()), ["a"]);
    }

    #[test]
    fn malformed_index_line() {
        let err = ModuleTree::parse(Path::new("/m"), b"a.ko:\nnonsense\n", b"").unwrap_err().to_string();
        assert_eq!(err, "/m/modules.dep: line 2: expected 'FILE: DEPS...', found \"nonsense\"");
    }

    /// A tree with `modules.alias`, `modules.builtin.modinfo` and a
    /// modprobe.d text.
    fn kmod_tree(dep: &str, builtin: &str, alias: &str, modinfo: &[u8], conf: &str) -> (TempDir, ModuleTree) {
        let (dir, _) = tree(dep, builtin, &[]);
        fs::write(dir.path().join("modules.alias"), alias).unwrap();
        fs::write(dir.path().join("modules.builtin.modinfo"), modinfo).unwrap();
        let mut config = Config::default();
        config.parse(Path::new("/etc/modprobe.d/test.conf"), conf);
        let t = ModuleTree::load(dir.path()).unwrap().with_config(config);
        (dir, t)
    }

    /// Debian 6.1 generic: ext4 and jbd2 softdep on crypto-crc32c, two
    /// modules provide it.
    const GENERIC_DEP: &str = "\
kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko
kernel/lib/crc16.ko:
kernel/fs/mbcache.ko:
kernel/fs/jbd2/jbd2.ko:
kernel/crypto/crc32c-intel.ko:
kernel/arch/x86/crypto/crc32c-arch.ko:
kernel/crypto/crc32c_generic.ko:
kernel/fs/overlayfs/overlay.ko:
kernel/drivers/nvme/host/nvme-core.ko:
kernel/drivers/nvme/host/nvme.ko: kernel/drivers/nvme/host/nvme-core.ko
";
    const GENERIC_ALIAS: &str = "\
# Aliases extracted from modules themselves.
alias crypto-crc32c-intel crc32c_intel
alias crypto-crc32c crc32c_intel
alias fs-ext4 ext4
alias ext3 ext4
alias crypto-crc32c-generic crc32c_generic
alias crypto-crc32c crc32c_generic
alias fs-overlay overlay
alias pci:v*d*sv*sd*bc01sc08i02* nvme
";
    const GENERIC_SOFTDEP: &str = "softdep ext4 pre: crypto-crc32c\nsoftdep jbd2 pre: crypto-crc32c\n";

    #[test]
    fn softdep_pre_loads_before_and_takes_every_alias_match() {
        let (_d, t) = kmod_tree(GENERIC_DEP, "", GENERIC_ALIAS, b"", GENERIC_SOFTDEP);
        let r = t.resolve_names(&["ext4", "overlay"]).unwrap();
        assert_eq!(names(&r), ["crc16", "crc32c_intel", "crc32c_generic", "jbd2", "mbcache", "ext4", "overlay"]);
        assert_eq!(
            r.load[1].why,
            Why::Softdep { of: "jbd2".into(), name: "crypto-crc32c".into(), post: false, matches: 2 }
        );
        assert_eq!(r.load[1].why.to_string(), "softdep of jbd2 (pre: crypto-crc32c; all 2 matches, as modprobe)");
        assert_eq!(r.load[3].why.to_string(), "dependency of ext4");
        // Softdeps bind groups: crc32c must not load beside jbd2.
        let groups = group_names(&t.groups(&r.load));
        assert_eq!(
            groups,
            [vec!["crc16", "crc32c_intel", "crc32c_generic", "jbd2", "mbcache", "ext4"], vec!["overlay"]]
        );
    }

    #[test]
    fn cpu_specific_matches_are_left_out_when_a_generic_one_exists() {
        let alias = format!("{GENERIC_ALIAS}alias crypto-crc32c crc32c_arch\n");
        let (_d, t) = kmod_tree(GENERIC_DEP, "", &alias, b"", GENERIC_SOFTDEP);
        let r = t.resolve_names(&["ext4"]).unwrap();
        assert_eq!(names(&r), ["crc16", "crc32c_intel", "crc32c_generic", "jbd2", "mbcache", "ext4"]);
        assert_eq!(
            r.warnings,
            ["crypto-crc32c: not packing crc32c_arch (CPU-specific, fails with ENODEV on a CPU without the \
              feature, which stops the boot); crc32c_intel, crc32c_generic serve instead"
                .replace("serve", "serves")]
        );
    }

    #[test]
    fn softdep_post_loads_after() {
        let dep = "a.ko:\nb.ko:\nc.ko:\n";
        let (_d, t) = kmod_tree(dep, "", "", b"", "softdep a pre: b post: c\n");
        assert_eq!(names(&t.resolve_names(&["a"]).unwrap()), ["b", "a", "c"]);
        // c asked for first still loads after a: the order holds whoever
        // brought c.
        assert_eq!(names(&t.resolve_names(&["c", "a"]).unwrap()), ["b", "a", "c"]);
        // Only the first softdep line for a module counts (libkmod).
        let (_d, t) = kmod_tree(dep, "", "", b"", "softdep a pre: b\nsoftdep a pre: c\n");
        assert_eq!(names(&t.resolve_names(&["a"]).unwrap()), ["b", "a"]);
    }

    #[test]
    fn softdep_cycles_are_errors() {
        let dep = "a.ko:\nb.ko:\nc.ko: a.ko\n";
        let (_d, t) = kmod_tree(dep, "", "", b"", "softdep a pre: b\nsoftdep b pre: c\n");
        let err = t.resolve_names(&["a"]).unwrap_err().to_string();
        assert_eq!(
            err,
            "softdep cycle: a -> b -> c -> a (each must load after the next; \
             softdep a pre: b (/etc/modprobe.d/test.conf:1); softdep b pre: c (/etc/modprobe.d/test.conf:2))"
        );
        // post: a before b, b before a.
        let (_d, t) = kmod_tree("a.ko:\nb.ko:\n", "", "", b"", "softdep a post: b\nsoftdep b pre: a\n");
        assert_eq!(names(&t.resolve_names(&["b"]).unwrap()), ["a", "b"]);
        let (_d, t) = kmod_tree("a.ko:\nb.ko:\n", "", "", b"", "softdep a post: b\nsoftdep b post: a\n");
        let err = t.resolve_names(&["a"]).unwrap_err().to_string();
        assert!(err.starts_with("softdep cycle: a -> b -> a"), "{err}");
    }

    #[test]
    fn softdep_naming_nothing_is_a_warning() {
        let (_d, t) = kmod_tree("a.ko:\n", "", "", b"", "softdep a pre: crypto-nothing\n");
        let r = t.resolve_names(&["a"]).unwrap();
        assert_eq!(names(&r), ["a"]);
        assert_eq!(r.warnings.len(), 1);
        assert!(
            r.warnings[0].starts_with("softdep of a (pre: crypto-nothing) names no module of "),
            "{:?}",
            r.warnings
        );
    }

    #[test]
    fn aliases_resolve_with_globs() {
        let (_d, t) = kmod_tree(GENERIC_DEP, "", GENERIC_ALIAS, b"", "");
        let r = t.resolve_names(&["fs-overlay"]).unwrap();
        assert_eq!(names(&r), ["overlay"]);
        assert_eq!(r.load[0].why, Why::Alias("fs-overlay".into()));
        let r = t.resolve_names(&["pci:v00008086d0000F1A8sv00008086sd0000390Fbc01sc08i02"]).unwrap();
        assert_eq!(names(&r), ["nvme_core", "nvme"]);
        assert_eq!(t.lookup("ext3").modules, ["ext4"]);
        assert_eq!(t.lookup("crypto_crc32c").via, Some("modules.alias"));
        // A module name wins over an alias of the same name.
        assert_eq!(t.lookup("ext4").via, None);
    }

    #[test]
    fn explicit_alias_of_several_modules_is_an_error() {
        let (_d, t) = kmod_tree(GENERIC_DEP, "", GENERIC_ALIAS, b"", "");
        let err = t.resolve_names(&["crypto-crc32c"]).unwrap_err().to_string();
        assert_eq!(
            err,
            "--module crypto-crc32c is an alias (modules.alias) of 2 modules: crc32c_intel, crc32c_generic; \
             name the one to pack (modprobe would load them all)"
        );
    }

    #[test]
    fn builtin_aliases_mean_nothing_to_load() {
        let modinfo =
            b"crc32c_generic.alias=crypto-crc32c\0crc32c_generic.file=crypto/crc32c_generic\0ext4.alias=fs-ext4\0";
        let dep = "kernel/fs/jbd2/jbd2.ko:\nkernel/fs/overlayfs/overlay.ko:\n";
        let (_d, t) =
            kmod_tree(dep, "kernel/fs/ext4/ext4.ko\nkernel/crypto/crc32c_generic.ko\n", "", modinfo, GENERIC_SOFTDEP);
        let r = t.resolve_names(&["fs-ext4", "jbd2"]).unwrap();
        assert_eq!(r.builtin, ["ext4 (alias fs-ext4)"]);
        assert_eq!(names(&r), ["jbd2"]);
        assert!(r.warnings.is_empty(), "a built-in softdep is satisfied: {:?}", r.warnings);
        assert_eq!(t.lookup("crypto-crc32c").via, Some("modules.builtin.modinfo"));
    }

    #[test]
    fn blacklist_only_affects_aliases() {
        let conf = "blacklist crc32c_intel\nblacklist overlay\n";
        let (_d, t) = kmod_tree(GENERIC_DEP, "", GENERIC_ALIAS, b"", &format!("{GENERIC_SOFTDEP}{conf}"));
        // Through the alias: only crc32c_generic; named: overlay is packed.
        let r = t.resolve_names(&["jbd2", "overlay"]).unwrap();
        assert_eq!(names(&r), ["crc32c_generic", "jbd2", "overlay"]);
        assert_eq!(
            r.warnings,
            ["softdep of jbd2 (pre: crypto-crc32c): crc32c_intel is blacklisted (/etc/modprobe.d/test.conf:3); not packed"]
        );
        // --module crypto-crc32c now means one module.
        assert_eq!(names(&t.resolve_names(&["crypto-crc32c"]).unwrap()), ["crc32c_generic"]);
        let err = t.resolve_names(&["fs-overlay"]).unwrap_err().to_string();
        assert_eq!(
            err,
            "--module fs-overlay is an alias of blacklisted modules only: overlay (blacklist at \
             /etc/modprobe.d/test.conf:4); modprobe would load nothing (name the module itself to pack it anyway)"
        );
    }

    #[test]
    fn options_become_params_and_async_probe_goes_to_storage_drivers() {
        let conf = "options nvme poll_queues=2\noptions nvme_core multipath=N\noptions ext4 nonsense=1\n";
        let (_d, mut t) = kmod_tree(GENERIC_DEP, "", GENERIC_ALIAS, b"", conf);
        let r = t.resolve_names(&["nvme", "ext4"]).unwrap();
        let params: Vec<(&str, &str)> = r.load.iter().map(|m| (m.name.as_str(), m.params.as_str())).collect();
        assert_eq!(
            params,
            [
                ("nvme_core", "multipath=N"),
                ("nvme", "poll_queues=2"),
                ("crc16", ""),
                ("jbd2", ""),
                ("mbcache", ""),
                ("ext4", "nonsense=1")
            ]
        );
        t.async_probe = true;
        let r = t.resolve_names(&["nvme", "ext4"]).unwrap();
        let params: Vec<(&str, &str)> = r.load.iter().map(|m| (m.name.as_str(), m.params.as_str())).collect();
        // nvme (a device driver under drivers/nvme) probes async and moves
        // after ext4; nvme_core (no device alias) does not.
        assert_eq!(
            params,
            [
                ("nvme_core", "multipath=N"),
                ("crc16", ""),
                ("jbd2", ""),
                ("mbcache", ""),
                ("ext4", "nonsense=1"),
                ("nvme", "poll_queues=2 async_probe")
            ]
        );
        // The user's own async_probe= wins.
        let (_d, mut t) = kmod_tree(GENERIC_DEP, "", GENERIC_ALIAS, b"", "options nvme async_probe=0\n");
        t.async_probe = true;
        let r = t.resolve_names(&["nvme"]).unwrap();
        assert_eq!(r.load[1].params, "async_probe=0");
    }

    #[test]
    fn install_command_for_a_packed_module_is_an_error() {
        let (_d, t) = kmod_tree(
            GENERIC_DEP,
            "",
            GENERIC_ALIAS,
            b"",
            "install nvme_core /sbin/modprobe --ignore-install nvme_core; echo hi\ninstall usb_storage /bin/true\n",
        );
        let err = t.resolve_names(&["nvme"]).unwrap_err().to_string();
        assert_eq!(
            err,
            "module nvme_core has an 'install' command (/etc/modprobe.d/test.conf:1): the image has no shell to \
             run it and init loads modules itself; remove the line or pass --modprobe-dir with a directory without it"
        );
        // A command for a module not packed is nobody's business.
        assert!(t.resolve_names(&["ext4"]).is_ok());
    }

    #[test]
    fn overlong_params_are_an_error() {
        let (_d, t) = kmod_tree("a.ko:\n", "", "", b"", &format!("options a x={}\n", "y".repeat(300)));
        let err = t.resolve_names(&["a"]).unwrap_err().to_string();
        assert!(err.starts_with("module a: load parameters are 302 bytes, init takes at most 255: x=yyy"), "{err}");
    }
}
