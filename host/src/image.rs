//! The image as a tree of entries, before it becomes a cpio archive.
//!
//! Paths are absolute and normalized; the map keeps them in component order,
//! so every directory comes before what it holds and the archive order does
//! not depend on the order things were added. Each entry remembers who put
//! it there, so a clash can name both sides.

use crate::{
    cpio::{self, Record},
    error::Error,
};
use overinit::layout::{self, Kind};
use std::{
    collections::BTreeMap,
    fs,
    os::unix::{
        ffi::OsStrExt as _,
        fs::{FileTypeExt as _, MetadataExt as _, PermissionsExt as _},
    },
    path::{Component, Path, PathBuf},
};

/// What an image entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Dir,
    File(Vec<u8>),
    /// A symbolic link and its target.
    Symlink(Vec<u8>),
    Char(u32, u32),
    Block(u32, u32),
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub node: Node,
    /// Permission bits (`0o7777`); the type comes from `node`.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Who put it there, for error messages: "the image skeleton", …
    pub origin: String,
    /// A directory made only because something inside it was added.
    pub implicit: bool,
    /// For a file added from the host with more than one link: its host
    /// (device, inode). Entries sharing one are hard links in the archive.
    pub link: Option<(u64, u64)>,
}

impl Entry {
    /// Owned by root, as everything in the image is unless the layout says
    /// otherwise.
    pub fn new(node: Node, mode: u32, origin: impl Into<String>) -> Entry {
        Entry { node, mode, uid: 0, gid: 0, origin: origin.into(), implicit: false, link: None }
    }
}

/// Mode of directories created for an added path's missing parents, and of
/// the root (the cpio `.` entry sets the mode of `/`).
const DIR_MODE: u32 = 0o755;

#[derive(Debug, Default)]
pub struct Image {
    entries: BTreeMap<PathBuf, Entry>,
}

impl Image {
    /// The root and the skeleton of `initramfs/layout`, with `init` as the
    /// content of the `@init` slot.
    pub fn skeleton(init: Vec<u8>) -> Result<Image, Error> {
        let mut image = Image::default();
        image.entries.insert(PathBuf::from("/"), Entry::new(Node::Dir, DIR_MODE, "the image root"));
        for e in layout::ENTRIES {
            let dest = PathBuf::from(e.path);
            let (node, origin) = match e.kind {
                Kind::Dir => (Node::Dir, "the image skeleton"),
                Kind::Char(major, minor) => (Node::Char(major, minor), "the image skeleton"),
                Kind::Block(major, minor) => (Node::Block(major, minor), "the image skeleton"),
                Kind::File("init") => (Node::File(init.clone()), "the --init binary"),
                Kind::File(slot) => return Err(Error::UnknownSlot { dest, slot }),
            };
            let entry = Entry { uid: e.uid, gid: e.gid, ..Entry::new(node, e.mode, origin) };
            image.insert("initramfs/layout", &dest, entry)?;
        }
        Ok(image)
    }

    /// Adds `entry` at `dest` (absolute, normalized), creating missing parent
    /// directories. `what` names the request in error messages. A directory
    /// may land on a directory (the first explicit mode wins); anything else
    /// that lands on an existing path is a duplicate.
    pub fn insert(&mut self, what: &str, dest: &Path, entry: Entry) -> Result<(), Error> {
        debug_assert!(dest.is_absolute());
        let mut parent = PathBuf::new();
        for component in dest.parent().into_iter().flat_map(Path::components) {
            parent.push(component);
            match self.entries.get(&parent) {
                Some(Entry { node: Node::Dir, .. }) => {}
                Some(other) => {
                    return Err(Error::Destination {
                        what: what.to_string(),
                        dest: dest.to_path_buf(),
                        problem: format!("parent {} is not a directory (it is {})", parent.display(), other.origin),
                    })
                }
                None => {
                    let mut dir = Entry::new(Node::Dir, DIR_MODE, format!("a parent directory for {what}"));
                    dir.implicit = true;
                    self.entries.insert(parent.clone(), dir);
                }
            }
        }
        match self.entries.get_mut(dest) {
            None => {
                self.entries.insert(dest.to_path_buf(), entry);
                Ok(())
            }
            Some(existing) if existing.node == Node::Dir && entry.node == Node::Dir => {
                if existing.implicit && !entry.implicit {
                    *existing = entry;
                }
                Ok(())
            }
            Some(existing) => Err(Error::Duplicate {
                what: what.to_string(),
                dest: dest.to_path_buf(),
                taken_by: existing.origin.clone(),
            }),
        }
    }

    /// `--add SRC:DEST`: copies the host file `src` (symlinks followed) to
    /// `dest`, keeping its permission bits. A directory is added with
    /// everything in it; symlinks inside it are stored as symlinks.
    pub fn add_host(&mut self, src: &Path, dest: &Path) -> Result<(), Error> {
        let what = format!("--add {}:{}", src.display(), dest.display());
        let dest = normalize(&what, dest)?;
        let meta =
            fs::metadata(src).map_err(|err| Error::AddSource { src: src.to_path_buf(), problem: err.to_string() })?;
        self.add_tree(&what, src, &dest, &meta)
    }

    fn add_tree(&mut self, what: &str, src: &Path, dest: &Path, meta: &fs::Metadata) -> Result<(), Error> {
        let source_error =
            |src: &Path, err: std::io::Error| Error::AddSource { src: src.to_path_buf(), problem: err.to_string() };
        let mode = meta.permissions().mode() & 0o7777;
        let origin = || format!("{what} ({})", src.display());
        let file_type = meta.file_type();
        if file_type.is_file() {
            let data = fs::read(src).map_err(|e| source_error(src, e))?;
            let mut entry = Entry::new(Node::File(data), mode, origin());
            entry.link = (meta.nlink() > 1).then(|| (meta.dev(), meta.ino()));
            self.insert(what, dest, entry)
        } else if file_type.is_char_device() || file_type.is_block_device() {
            // Linux's dev_t: major in bits 8–19 and 32–63, minor in 0–7 and 20–31.
            let rdev = meta.rdev();
            let (major, minor) =
                (((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff), (rdev & 0xff) | ((rdev >> 12) & !0xff));
            let (major, minor) = (major as u32, minor as u32);
            let node = if file_type.is_char_device() { Node::Char(major, minor) } else { Node::Block(major, minor) };
            self.insert(what, dest, Entry::new(node, mode, origin()))
        } else if file_type.is_symlink() {
            let target = fs::read_link(src).map_err(|e| source_error(src, e))?;
            let node = Node::Symlink(target.as_os_str().as_bytes().to_vec());
            self.insert(what, dest, Entry::new(node, 0o777, origin()))
        } else if file_type.is_dir() {
            self.insert(what, dest, Entry::new(Node::Dir, mode, origin()))?;
            let mut children = fs::read_dir(src)
                .and_then(|dir| dir.map(|e| e.map(|e| e.file_name())).collect::<Result<Vec<_>, _>>())
                .map_err(|e| source_error(src, e))?;
            children.sort();
            for name in children {
                let child = src.join(&name);
                let meta = fs::symlink_metadata(&child).map_err(|e| source_error(&child, e))?;
                self.add_tree(what, &child, &dest.join(&name), &meta)?;
            }
            Ok(())
        } else {
            let kind = if file_type.is_fifo() { "a FIFO" } else { "a socket" };
            Err(Error::AddSource {
                src: src.to_path_buf(),
                problem: format!("is {kind}; only files, directories, symlinks and device nodes can be added"),
            })
        }
    }

    #[cfg(test)]
    pub fn get(&self, dest: &str) -> Option<&Entry> {
        self.entries.get(Path::new(dest))
    }

    /// Whether something is stored at `dest` already.
    pub fn contains(&self, dest: &Path) -> bool {
        self.entries.contains_key(dest)
    }

    /// The image as a newc archive, entries in path order with inode
    /// numbers counting up, every timestamp `mtime`.
    pub fn to_cpio(&self, mtime: u32) -> Result<Vec<u8>, Error> {
        let mut w = cpio::Writer::new(mtime);
        // Hard links: every name of one host file shares an inode and the
        // link count; the content goes with the last one (GNU cpio's newc
        // convention; the kernel links the earlier, empty names and writes
        // the content through the last).
        let mut links: BTreeMap<(u64, u64), (u32, u32, u32)> = BTreeMap::new(); // key → (count, seen, ino)
        for e in self.entries.values() {
            if let Some(key) = e.link {
                links.entry(key).or_insert((0, 0, 0)).0 += 1;
            }
        }
        for (path, e) in &self.entries {
            // The kernel unpacks relative to `/`, like gen_init_cpio writes.
            let name = match path.strip_prefix("/") {
                Ok(rel) if !rel.as_os_str().is_empty() => rel.as_os_str().as_bytes(),
                _ => b".",
            };
            let (kind, nlink, rdev, data): (u32, u32, (u32, u32), &[u8]) = match &e.node {
                Node::Dir => (cpio::S_IFDIR, 2, (0, 0), &[]),
                Node::File(data) => (cpio::S_IFREG, 1, (0, 0), data),
                Node::Symlink(target) => (cpio::S_IFLNK, 1, (0, 0), target),
                Node::Char(major, minor) => (cpio::S_IFCHR, 1, (*major, *minor), &[]),
                Node::Block(major, minor) => (cpio::S_IFBLK, 1, (*major, *minor), &[]),
            };
            let group = e.link.and_then(|key| links.get_mut(&key)).filter(|g| g.0 > 1);
            let too_large = |cpio::TooLarge| Error::TooLarge { dest: path.clone() };
            match group {
                Some(g) => {
                    if g.1 == 0 {
                        g.2 = w.reserve_ino();
                    }
                    g.1 += 1;
                    let data = if g.1 == g.0 { data } else { &[][..] };
                    let record = Record { name, mode: kind | e.mode, uid: e.uid, gid: e.gid, nlink: g.0, rdev, data };
                    w.push_as(&record, g.2).map_err(too_large)?;
                }
                None => {
                    let record = Record { name, mode: kind | e.mode, uid: e.uid, gid: e.gid, nlink, rdev, data };
                    w.push(&record).map_err(too_large)?;
                }
            }
        }
        Ok(w.finish())
    }
}

/// An image destination as given by the user → absolute, without `.`
/// components, doubled or trailing slashes. `..` is refused rather than
/// resolved: it is always a mistake, and could climb out of the image.
pub fn normalize(what: &str, dest: &Path) -> Result<PathBuf, Error> {
    let refuse = |problem: &str| Error::Destination {
        what: what.to_string(),
        dest: dest.to_path_buf(),
        problem: problem.to_string(),
    };
    if !dest.is_absolute() {
        return Err(refuse("must be an absolute path in the image"));
    }
    let mut out = PathBuf::from("/");
    for component in dest.components() {
        match component {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(name) => out.push(name),
            Component::ParentDir => return Err(refuse("must not contain '..'")),
            Component::Prefix(_) => return Err(refuse("is not a Unix path")),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::TempDir;

    fn image() -> Image {
        Image::skeleton(b"\x7fELF init".to_vec()).unwrap()
    }

    fn paths(image: &Image) -> Vec<String> {
        image.entries.keys().map(|p| p.display().to_string()).collect()
    }

    #[test]
    fn skeleton_holds_layout_and_init() {
        let img = image();
        let root = img.get("/").unwrap();
        assert_eq!((root.node.clone(), root.mode), (Node::Dir, 0o755));
        let console = img.get("/dev/console").unwrap();
        assert_eq!((console.node.clone(), console.mode), (Node::Char(5, 1), 0o600));
        let init = img.get("/init").unwrap();
        assert_eq!(init.node, Node::File(b"\x7fELF init".to_vec()));
        assert_eq!(init.mode, 0o755);
        for e in layout::ENTRIES {
            assert!(img.get(e.path).is_some(), "{} missing", e.path);
        }
    }

    #[test]
    fn entries_are_in_path_order_parents_first() {
        let mut img = image();
        let file = |origin| Entry::new(Node::File(vec![]), 0o644, origin);
        img.insert("t", Path::new("/a-b"), file("x")).unwrap();
        img.insert("t", Path::new("/a/b/c"), file("y")).unwrap();
        let p = paths(&img);
        assert_eq!(p[0], "/");
        for (i, path) in p.iter().enumerate().skip(1) {
            let parent = Path::new(path).parent().unwrap().display().to_string();
            assert!(p[..i].contains(&parent), "{path} before its parent");
        }
        let pos = |s: &str| p.iter().position(|x| x == s).unwrap();
        assert!(pos("/a") < pos("/a/b") && pos("/a/b/c") < pos("/a-b"));
        assert!(img.get("/a").unwrap().implicit);
    }

    #[test]
    fn normalizing_destinations() {
        let ok = |d: &str| normalize("t", Path::new(d)).unwrap().display().to_string();
        assert_eq!(ok("/etc/x"), "/etc/x");
        assert_eq!(ok("//etc/./x/"), "/etc/x");
        assert_eq!(ok("/"), "/");
        let err = |d: &str| normalize("--add a:b", Path::new(d)).unwrap_err().to_string();
        assert_eq!(err("etc/x"), "--add a:b: destination etc/x: must be an absolute path in the image");
        assert_eq!(err("/etc/../x"), "--add a:b: destination /etc/../x: must not contain '..'");
        assert_eq!(err("/.."), "--add a:b: destination /..: must not contain '..'");
    }

    #[test]
    fn add_copies_files_with_their_mode() {
        let dir = TempDir::new("add");
        let src = dir.path().join("tool");
        fs::write(&src, b"#!/bin/sh\n").unwrap();
        fs::set_permissions(&src, fs::Permissions::from_mode(0o4750)).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&src, &link).unwrap();
        let mut img = image();
        img.add_host(&link, Path::new("/usr/bin/tool")).unwrap();
        let e = img.get("/usr/bin/tool").unwrap();
        assert_eq!((e.node.clone(), e.mode), (Node::File(b"#!/bin/sh\n".to_vec()), 0o4750));
        assert_eq!(img.get("/usr").unwrap().node, Node::Dir);
        assert_eq!(img.get("/usr/bin").unwrap().mode, 0o755);
    }

    #[test]
    fn add_directory_recursively() {
        let dir = TempDir::new("add-dir");
        let tree = dir.path().join("tree");
        fs::create_dir_all(tree.join("sub/deeper")).unwrap();
        fs::write(tree.join("sub/b"), b"b").unwrap();
        fs::write(tree.join("a"), b"a").unwrap();
        std::os::unix::fs::symlink("a", tree.join("sub/to-a")).unwrap();
        fs::set_permissions(tree.join("sub"), fs::Permissions::from_mode(0o700)).unwrap();
        let mut img = image();
        img.add_host(&tree, Path::new("/etc/extra")).unwrap();
        img.add_host(&tree, Path::new("/")).unwrap(); // merges into the root
        assert_eq!(img.get("/etc/extra/a").unwrap().node, Node::File(b"a".to_vec()));
        assert_eq!(img.get("/etc/extra/sub").unwrap().mode, 0o700);
        assert_eq!(img.get("/etc/extra/sub/deeper").unwrap().node, Node::Dir);
        assert_eq!(img.get("/etc/extra/sub/to-a").unwrap().node, Node::Symlink(b"a".to_vec()));
        assert_eq!(img.get("/sub/b").unwrap().node, Node::File(b"b".to_vec()));
        assert_eq!(img.get("/").unwrap().mode, 0o755, "the root keeps its mode");
    }

    #[test]
    fn explicit_directory_mode_replaces_an_implicit_parent() {
        let dir = TempDir::new("add-mode");
        let d = dir.path().join("d");
        fs::create_dir(&d).unwrap();
        fs::set_permissions(&d, fs::Permissions::from_mode(0o711)).unwrap();
        fs::write(dir.path().join("f"), b"f").unwrap();
        let mut img = image();
        img.add_host(&dir.path().join("f"), Path::new("/opt/d/f")).unwrap();
        img.add_host(&d, Path::new("/opt/d")).unwrap();
        assert_eq!(img.get("/opt/d").unwrap().mode, 0o711);
        assert!(!img.get("/opt/d").unwrap().implicit);
    }

    #[test]
    fn duplicates_are_refused() {
        let dir = TempDir::new("dup");
        let f = dir.path().join("f");
        fs::write(&f, b"f").unwrap();
        let mut img = image();
        let err = |img: &mut Image, dest: &str| img.add_host(&f, Path::new(dest)).unwrap_err().to_string();
        let what = |dest: &str| format!("--add {}:{dest}", f.display());
        assert_eq!(
            err(&mut img, "/init"),
            format!("{}: duplicate destination /init, already taken by the --init binary", what("/init"))
        );
        assert_eq!(
            err(&mut img, "/dev/console"),
            format!(
                "{}: duplicate destination /dev/console, already taken by the image skeleton",
                what("/dev/console")
            )
        );
        assert_eq!(
            err(&mut img, "/dev"),
            format!("{}: duplicate destination /dev, already taken by the image skeleton", what("/dev"))
        );
        img.add_host(&f, Path::new("/x")).unwrap();
        assert_eq!(
            err(&mut img, "//x/"),
            format!("{}: duplicate destination /x, already taken by {} ({})", what("//x/"), what("/x"), f.display())
        );
        assert_eq!(
            err(&mut img, "/init/x"),
            format!(
                "{}: destination /init/x: parent /init is not a directory (it is the --init binary)",
                what("/init/x")
            )
        );
    }

    #[test]
    fn missing_source_is_named() {
        let mut img = image();
        let err = img.add_host(Path::new("/nonexistent/file"), Path::new("/x")).unwrap_err();
        assert_eq!(err.to_string(), "--add /nonexistent/file: No such file or directory (os error 2)");
    }

    #[test]
    fn device_nodes_are_added_and_fifos_refused() {
        let mut img = image();
        img.add_host(Path::new("/dev/null"), Path::new("/dev/null")).unwrap();
        assert_eq!(img.get("/dev/null").unwrap().node, Node::Char(1, 3));
        let dir = TempDir::new("fifo");
        let fifo = dir.path().join("f");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let err = img.add_host(&fifo, Path::new("/f")).unwrap_err();
        assert!(err
            .to_string()
            .ends_with("is a FIFO; only files, directories, symlinks and device nodes can be added"));
    }

    #[test]
    fn hard_links_stay_links() {
        let dir = TempDir::new("links");
        let tree = dir.path().join("t");
        fs::create_dir_all(&tree).unwrap();
        fs::write(tree.join("a"), b"shared").unwrap();
        fs::hard_link(tree.join("a"), tree.join("b")).unwrap();
        fs::write(tree.join("c"), b"alone").unwrap();
        let mut img = image();
        img.add_host(&tree, Path::new("/t")).unwrap();
        let archive = img.to_cpio(0).unwrap();
        let members = crate::cpio_read::parse(&archive).unwrap().members;
        let find = |n: &[u8]| members.iter().find(|m| m.name == n).unwrap().clone();
        let (a, b, c) = (find(b"t/a"), find(b"t/b"), find(b"t/c"));
        assert_eq!((a.ino, a.nlink, b.nlink), (b.ino, 2, 2), "one inode, two links");
        assert_eq!((a.data, b.data), (&b""[..], &b"shared"[..]), "the content with the last name");
        assert_eq!((c.nlink, c.data), (1, &b"alone"[..]));
        assert_ne!(c.ino, a.ino);
    }

    #[test]
    fn cpio_names_are_relative_and_root_is_dot() {
        let img = image();
        let archive = img.to_cpio(0).unwrap();
        let text = String::from_utf8_lossy(&archive);
        assert!(text.starts_with("070701"));
        // "." is the first name, right after the first header.
        assert_eq!(&archive[110..112], b".\0");
        assert!(text.contains("dev/console\0"));
        assert!(!text.contains("/dev/console"), "names must not start with /");
        assert!(text.contains("TRAILER!!!\0"));
    }
}
