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

use crate::error::Error;
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
}

#[derive(Debug)]
struct Module {
    /// Path of the module file as `modules.dep` gives it.
    file: String,
    /// Canonical names of the modules it needs.
    deps: Vec<String>,
}

/// One module to put in the image, in load order.
#[derive(Debug, PartialEq, Eq)]
pub struct Resolved {
    /// Canonical name (`virtio_blk`).
    pub name: String,
    /// The module file on the host.
    pub file: PathBuf,
    /// The module that pulled this one in, `None` if it was requested.
    pub needed_by: Option<String>,
}

/// The outcome of resolving `--module` names.
#[derive(Debug, Default)]
pub struct Resolution {
    /// Modules to load, dependencies first.
    pub load: Vec<Resolved>,
    /// Requested modules that are built into the kernel (nothing to load).
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

impl ModuleTree {
    /// Reads `DIR/modules.dep` and `DIR/modules.builtin` (absent = nothing
    /// built in, as modprobe treats it).
    pub fn load(dir: &Path) -> Result<ModuleTree, Error> {
        let index = dir.join("modules.dep");
        let dep = fs::read(&index).map_err(|err| match err.kind() {
            io::ErrorKind::NotFound => Error::ModulesIndex {
                path: index.clone(),
                problem: format!("{err}; is {} a kernel modules directory (run depmod)?", dir.display()),
            },
            _ => Error::ModulesIndex { path: index.clone(), problem: err.to_string() },
        })?;
        let builtin_path = dir.join("modules.builtin");
        let builtin = match fs::read(&builtin_path) {
            Ok(text) => text,
            Err(err) if err.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(err) => return Err(Error::ModulesIndex { path: builtin_path, problem: err.to_string() }),
        };
        ModuleTree::parse(dir, &dep, &builtin)
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
        Ok(ModuleTree { dir: dir.to_path_buf(), modules, builtin })
    }

    /// The load order for the requested names: each module after everything
    /// it needs, requested modules in the order given, dependencies in name
    /// order. Built-in modules are left out (requested ones are reported).
    pub fn resolve<S: AsRef<str>>(&self, requested: &[S]) -> Result<Resolution, Error> {
        let mut walk = Walk { tree: self, state: HashMap::new(), stack: Vec::new(), out: Resolution::default() };
        for name in requested {
            let typed = name.as_ref();
            let name = canonical(typed);
            // Built-ins first, as in the dependency walk below.
            if self.builtin.contains(&name) {
                if !walk.out.builtin.contains(&name) {
                    walk.out.builtin.push(name);
                }
            } else if self.modules.contains_key(&name) {
                walk.visit(&name, None)?;
            } else {
                let candidates = self.modules.keys().chain(&self.builtin).map(String::as_str);
                let suggestions = crate::suggest::closest(&name, candidates).into_iter().map(str::to_string).collect();
                return Err(Error::UnknownModule {
                    name: typed.to_string(),
                    index: self.dir.join("modules.dep"),
                    suggestions,
                });
            }
        }
        Ok(walk.out)
    }

    /// Splits a load order into independent groups: the connected
    /// components of the dependency graph among the modules of `load`
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
            let deps = self.modules.get(&m.name).map(|m| m.deps.as_slice()).unwrap_or_default();
            for j in deps.iter().filter_map(|d| index.get(d.as_str())) {
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
            needed_by: module.needed_by.clone(),
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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    /// On the current path from a requested module: meeting it again is a cycle.
    Visiting,
    Done,
}

/// Depth-first walk that emits each module after its dependencies.
struct Walk<'a> {
    tree: &'a ModuleTree,
    state: HashMap<String, Mark>,
    stack: Vec<String>,
    out: Resolution,
}

impl Walk<'_> {
    fn visit(&mut self, name: &str, needed_by: Option<&str>) -> Result<(), Error> {
        match self.state.get(name) {
            Some(Mark::Done) => return Ok(()),
            Some(Mark::Visiting) => {
                let start = self.stack.iter().position(|n| n == name).unwrap_or(0);
                let mut cycle = self.stack[start..].to_vec();
                cycle.push(name.to_string());
                return Err(Error::DependencyCycle { index: self.tree.dir.join("modules.dep"), cycle });
            }
            None => {}
        }
        let module = &self.tree.modules[name];
        self.state.insert(name.to_string(), Mark::Visiting);
        self.stack.push(name.to_string());
        for dep in &module.deps {
            if !self.tree.builtin.contains(dep) {
                self.visit(dep, Some(name))?;
            }
        }
        self.stack.pop();
        self.state.insert(name.to_string(), Mark::Done);
        self.out.load.push(Resolved {
            name: name.to_string(),
            file: self.tree.dir.join(&module.file),
            needed_by: needed_by.map(str::to_string),
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
        let r = t.resolve(&["virtio_pci", "virtio_blk", "overlay"]).unwrap();
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
        assert_eq!(r.load[0].needed_by.as_deref(), Some("virtio"));
        assert_eq!(r.load[4].needed_by, None);
        assert!(r.load[6].file.ends_with("kernel/fs/overlayfs/overlay.ko"));
        assert!(r.builtin.is_empty());
    }

    fn group_names<'a>(groups: &[Vec<&'a Resolved>]) -> Vec<Vec<&'a str>> {
        groups.iter().map(|g| g.iter().map(|m| m.name.as_str()).collect()).collect()
    }

    #[test]
    fn independent_modules_form_groups() {
        let (_dir, t) = tree(VIRTIO, "", &[]);
        let r = t.resolve(&["virtio_pci", "virtio_blk", "overlay"]).unwrap();
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
        let r = t.resolve(&["overlay", "virtio_pci_modern_dev", "virtio_blk"]).unwrap();
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
        let r = t.resolve(&["a", "d", "b", "c"]).unwrap();
        assert_eq!(group_names(&t.groups(&r.load)), [vec!["a", "b", "c"], vec!["d"]]);
        // A shared built-in dependency links nothing.
        let dep = "x.ko: kernel/lib/crc.ko\ny.ko: kernel/lib/crc.ko\n";
        let (_dir, t) = tree(dep, "kernel/lib/crc.ko\n", &[]);
        let r = t.resolve(&["x", "y"]).unwrap();
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
            let r = t.resolve(&want).unwrap();
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
        assert_eq!(names(&t.resolve(&["c"]).unwrap()), ["a", "b", "c"]);
    }

    #[test]
    fn order_is_stable_and_requests_are_deduplicated() {
        let (_dir, t) = tree(VIRTIO, "", &[]);
        let a = t.resolve(&["virtio_blk", "virtio_pci", "virtio_blk"]).unwrap();
        let b = t.resolve(&["virtio_blk", "virtio_pci"]).unwrap();
        assert_eq!(a.load, b.load);
        assert_eq!(names(&a)[..3], ["virtio_ring", "virtio", "virtio_blk"]);
    }

    #[test]
    fn dash_and_underscore_are_the_same() {
        let (_dir, t) = tree(VIRTIO, "kernel/drivers/md/dm-mod.ko\n", &[]);
        let r = t.resolve(&["virtio_rng", "virtio-blk", "dm_mod"]).unwrap();
        assert_eq!(names(&r), ["virtio_ring", "virtio", "virtio_rng", "virtio_blk"]);
        assert!(r.load[2].file.ends_with("hw_random/virtio-rng.ko"));
        assert_eq!(r.builtin, ["dm_mod"]);
    }

    #[test]
    fn builtins_are_skipped() {
        // A dependency that is also listed as builtin is not loaded.
        let dep = "kernel/fs/foo.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko\nkernel/fs/mbcache.ko:\n";
        let (_dir, t) = tree(dep, "kernel/fs/ext4/ext4.ko\nkernel/lib/crc16.ko\n", &[]);
        let r = t.resolve(&["ext4", "foo"]).unwrap();
        assert_eq!(names(&r), ["mbcache", "foo"]);
        assert_eq!(r.builtin, ["ext4"]);
    }

    #[test]
    fn cycles_are_named() {
        let dep = "a.ko: b.ko\nb.ko: c.ko\nc.ko: a.ko\nd.ko: a.ko\n";
        let (dir, t) = tree(dep, "", &[]);
        let err = t.resolve(&["d"]).unwrap_err().to_string();
        assert_eq!(err, format!("dependency cycle in {}/modules.dep: a -> b -> c -> a", dir.path().display()));
    }

    #[test]
    fn unknown_module_suggests_close_names() {
        let (dir, t) = tree(VIRTIO, "kernel/fs/ext4/ext4.ko\n", &[]);
        let err = t.resolve(&["virtio_bkl"]).unwrap_err().to_string();
        assert_eq!(
            err,
            format!("unknown module 'virtio_bkl' in {}/modules.dep; did you mean virtio_blk?", dir.path().display())
        );
        let err = t.resolve(&["ext3"]).unwrap_err().to_string();
        assert!(err.ends_with("; did you mean ext4?"), "{err}");
        let err = t.resolve(&["nothing_like_it"]).unwrap_err().to_string();
        assert!(err.ends_with("/modules.dep"), "{err}");
    }

    #[test]
    fn missing_dependency_file_names_both_modules() {
        let files = ["kernel/drivers/virtio/virtio.ko", "kernel/drivers/block/virtio_blk.ko"];
        let (dir, t) = tree(VIRTIO, "", &files);
        let r = t.resolve(&["virtio_blk"]).unwrap();
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
        let r = t.resolve(&["gz", "plain"]).unwrap();
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
        let r = t.resolve(&["bad"]).unwrap();
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
        assert_eq!(names(&t.resolve(&["a"]).unwrap()), ["a"]);
    }

    #[test]
    fn malformed_index_line() {
        let err = ModuleTree::parse(Path::new("/m"), b"a.ko:\nnonsense\n", b"").unwrap_err().to_string();
        assert_eq!(err, "/m/modules.dep: line 2: expected 'FILE: DEPS...', found \"nonsense\"");
    }
}
