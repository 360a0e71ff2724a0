//! A module's `.modinfo` section (what `modinfo(8)` prints): NUL-separated
//! `KEY=VALUE` strings in an ELF section of that name. Just enough ELF
//! (elf(5): the section header table and its string table) to find it, in
//! both classes and byte orders. Total: a file that is not ELF, or whose
//! tables point outside it, has no modinfo.

/// The `KEY=VALUE` entries of `.modinfo`, in file order.
pub fn entries(elf: &[u8]) -> Vec<(&str, &str)> {
    let Some(section) = section(elf, b".modinfo") else {
        return Vec::new();
    };
    section.split(|&b| b == 0).filter_map(|e| std::str::from_utf8(e).ok()?.split_once('=')).collect()
}

/// The values of `key` (`firmware`, `alias`, `softdep`...).
pub fn values<'a>(elf: &'a [u8], key: &str) -> Vec<&'a str> {
    entries(elf).into_iter().filter(|(k, _)| *k == key).map(|(_, v)| v).collect()
}

/// The contents of the section called `name`.
fn section<'a>(elf: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    if elf.get(..4)? != b"\x7fELF" {
        return None;
    }
    let wide = match elf.get(4)? {
        1 => false,
        2 => true,
        _ => return None,
    };
    let big = match elf.get(5)? {
        1 => false,
        2 => true,
        _ => return None,
    };
    let int = |at: usize, len: usize| -> Option<u64> {
        let b = elf.get(at..at.checked_add(len)?)?;
        let mut v = 0u64;
        for i in 0..len {
            let byte = if big { b[i] } else { b[len - 1 - i] };
            v = v << 8 | u64::from(byte);
        }
        Some(v)
    };
    let word = if wide { 8 } else { 4 };
    let (shoff, shentsize, shnum, shstrndx) = if wide {
        (int(0x28, 8)?, int(0x3a, 2)?, int(0x3c, 2)?, int(0x3e, 2)?)
    } else {
        (int(0x20, 4)?, int(0x2e, 2)?, int(0x30, 2)?, int(0x32, 2)?)
    };
    // (sh_name, sh_offset, sh_size) of section i.
    let header = |i: u64| -> Option<(u64, u64, u64)> {
        let at = usize::try_from(shoff.checked_add(i.checked_mul(shentsize)?)?).ok()?;
        let off_at = at + 8 + 2 * word;
        Some((int(at, 4)?, int(off_at, word)?, int(off_at + word, word)?))
    };
    let bytes = |off: u64, size: u64| -> Option<&[u8]> {
        let start = usize::try_from(off).ok()?;
        elf.get(start..start.checked_add(usize::try_from(size).ok()?)?)
    };
    let (_, str_off, str_size) = header(shstrndx)?;
    let strings = bytes(str_off, str_size)?;
    for i in 0..shnum {
        let (name_at, off, size) = header(i)?;
        let rest = strings.get(usize::try_from(name_at).ok()?..)?;
        let end = rest.iter().position(|&b| b == 0)?;
        if &rest[..end] == name {
            return bytes(off, size);
        }
    }
    None
}

/// A 64-bit little-endian ELF file whose only sections are `.modinfo`
/// holding `modinfo` and the section name table (tests).
#[cfg(test)]
pub fn fake_module(modinfo: &[u8]) -> Vec<u8> {
    let strtab = b"\0.modinfo\0.shstrtab\0";
    let mut f = vec![0u8; 64];
    f[..7].copy_from_slice(b"\x7fELF\x02\x01\x01");
    f[16] = 1; // ET_REL
    f[18..20].copy_from_slice(&62u16.to_le_bytes());
    let info_at = f.len() as u64;
    f.extend_from_slice(modinfo);
    let str_at = f.len() as u64;
    f.extend_from_slice(strtab);
    let shoff = f.len() as u64;
    let sh = |name: u32, off: u64, size: u64| {
        let mut h = vec![0u8; 64];
        h[0..4].copy_from_slice(&name.to_le_bytes());
        h[4..8].copy_from_slice(&1u32.to_le_bytes());
        h[24..32].copy_from_slice(&off.to_le_bytes());
        h[32..40].copy_from_slice(&size.to_le_bytes());
        h
    };
    let headers = [sh(0, 0, 0), sh(1, info_at, modinfo.len() as u64), sh(10, str_at, strtab.len() as u64)].concat();
    f.extend_from_slice(&headers);
    f[0x28..0x30].copy_from_slice(&shoff.to_le_bytes());
    f[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
    f[0x3c..0x3e].copy_from_slice(&3u16.to_le_bytes());
    f[0x3e..0x40].copy_from_slice(&2u16.to_le_bytes());
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_firmware_entries() {
        let m = fake_module(b"license=GPL\0firmware=rtl_nic/a.fw\0alias=pci:v*\0firmware=b.bin\0");
        assert_eq!(values(&m, "firmware"), ["rtl_nic/a.fw", "b.bin"]);
        assert_eq!(entries(&m)[0], ("license", "GPL"));
    }

    #[test]
    fn a_real_module_when_installed() {
        // Debian's r8169 declares its firmware (modinfo -F firmware r8169).
        let Ok(dirs) = std::fs::read_dir("/lib/modules") else { return };
        for d in dirs.flatten() {
            let ko = d.path().join("kernel/drivers/net/ethernet/realtek/r8169.ko");
            if let Ok(bytes) = std::fs::read(&ko) {
                assert!(values(&bytes, "firmware").contains(&"rtl_nic/rtl8168g-2.fw"), "{}", ko.display());
                return;
            }
        }
    }

    #[test]
    fn total_on_truncated_and_garbage() {
        let m = fake_module(b"firmware=x\0");
        for n in 0..m.len() {
            let _ = entries(&m[..n]);
        }
        let mut bad = m.clone();
        bad[0x28..0x30].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(entries(&bad).is_empty());
        let mut bad = m.clone();
        bad[0x3a..0x3c].copy_from_slice(&u16::MAX.to_le_bytes());
        assert!(entries(&bad).is_empty());
        assert!(entries(b"not elf").is_empty());
    }
}
