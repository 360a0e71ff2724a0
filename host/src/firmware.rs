//! Firmware that packed modules declare (`firmware=` in `.modinfo`, what
//! `modinfo -F firmware` prints), looked up the way the kernel's firmware
//! loader looks in `/lib/firmware`: `NAME`, else the compressed `NAME.zst`
//! or `NAME.xz` (CONFIG_FW_LOADER_COMPRESS, as Debian may ship them). A
//! found file is stored under the same name in the image's /lib/firmware,
//! where the loader finds it while the initramfs is the root.

use std::path::{Path, PathBuf};

/// Where the kernel's loader looks (drivers/base/firmware_loader/main.c
/// `fw_path`, the last entry), in the image.
pub const IMAGE_DIR: &str = "/lib/firmware";

/// Suffixes the loader tries after the plain name.
const COMPRESSED: [&str; 2] = [".zst", ".xz"];

/// The file for firmware `name` under `dir`: `(host path, name as stored)`.
/// `None` when absent, or when the name climbs out of `dir` (`..`, `/...`).
pub fn find(dir: &Path, name: &str) -> Option<(PathBuf, String)> {
    let path = Path::new(name);
    let plain = !name.is_empty() && path.components().all(|c| matches!(c, std::path::Component::Normal(_)));
    if !plain {
        return None;
    }
    [""].iter().chain(&COMPRESSED).find_map(|suffix| {
        let stored = format!("{name}{suffix}");
        let host = dir.join(&stored);
        host.is_file().then_some((host, stored))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::TempDir;
    use std::fs;

    #[test]
    fn plain_then_compressed_then_absent() {
        let t = TempDir::new("firmware");
        fs::create_dir_all(t.path().join("rtl_nic")).unwrap();
        fs::write(t.path().join("rtl_nic/a.fw"), b"A").unwrap();
        fs::write(t.path().join("rtl_nic/a.fw.xz"), b"ignored").unwrap();
        fs::write(t.path().join("b.bin.zst"), b"B").unwrap();
        fs::write(t.path().join("c.bin.xz"), b"C").unwrap();
        assert_eq!(find(t.path(), "rtl_nic/a.fw"), Some((t.path().join("rtl_nic/a.fw"), "rtl_nic/a.fw".into())));
        assert_eq!(find(t.path(), "b.bin"), Some((t.path().join("b.bin.zst"), "b.bin.zst".into())));
        assert_eq!(find(t.path(), "c.bin"), Some((t.path().join("c.bin.xz"), "c.bin.xz".into())));
        assert_eq!(find(t.path(), "missing.bin"), None);
        assert_eq!(find(t.path(), "rtl_nic"), None, "a directory is not firmware");
        assert_eq!(find(t.path(), "../etc/passwd"), None);
        assert_eq!(find(t.path(), "/etc/passwd"), None);
        assert_eq!(find(t.path(), ""), None);
    }
}
