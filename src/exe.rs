//! Will the kernel run this file? The first bytes of the real init (and of
//! its interpreter) read like `execve(2)` reads them (fs/binfmt_elf.c,
//! fs/binfmt_script.c), so a file the kernel would refuse is refused at the
//! `validate` phase, before the point of no return — not by `execve` after
//! the state device was mounted and the initramfs emptied.
//!
//! Total parsers over byte slices: any input gives an answer, never a panic.

/// `#!` lines are read from the first 256 bytes, like the kernel's
/// `BINPRM_BUF_SIZE`; read at least this much of a file.
pub const HEAD: usize = 256;

/// Longest program header table read (the kernel refuses tables over 64 KiB;
/// real executables have about a dozen entries of 56 bytes).
pub const PHDRS_MAX: usize = 4096;

/// The ELF this kernel runs natively.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Machine {
    /// ELFCLASS64 (true) or ELFCLASS32.
    pub class64: bool,
    /// ELFDATA2LSB (true) or ELFDATA2MSB.
    pub little: bool,
    /// `e_machine`.
    pub machine: u16,
    /// What to call it in a message.
    pub name: &'static str,
}

/// The machine `init` is built for (the host's in host builds).
pub const NATIVE: Machine = if cfg!(target_arch = "aarch64") {
    Machine { class64: true, little: true, machine: 183, name: "aarch64" }
} else {
    Machine { class64: true, little: true, machine: 62, name: "x86-64" }
};

/// What kind of executable a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exe<'a> {
    /// A native ELF executable; its program headers are at `phoff`,
    /// `phnum` entries of `phentsize` bytes (read them for [`interp`]).
    Elf { phoff: u64, phnum: u16, phentsize: u16 },
    /// A `#!` script run by `interp` (an absolute or relative path).
    Script { interp: &'a [u8] },
}

/// Why the kernel would refuse a file (`execve` fails with ENOEXEC, or
/// with ELIBBAD/ENOENT for a bad interpreter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExeError {
    /// Neither `\x7fELF` nor `#!` (a text file with the x bit, say).
    Unknown,
    /// An ELF of the other class (32/64-bit) or byte order.
    OtherClass,
    /// An ELF for another architecture.
    OtherMachine,
    /// An ELF that is not an executable (a relocatable object, a core).
    NotExecutable,
    /// Program headers that cannot be read (outside the file, too many).
    BadHeaders,
    /// A `PT_INTERP` that is not a NUL-terminated path.
    BadInterp,
    /// `#!` with no interpreter, or none in the first 256 bytes.
    BadShebang,
}

impl ExeError {
    pub fn message(self) -> &'static str {
        match self {
            ExeError::Unknown => "neither an ELF executable nor a #! script: execve would fail (ENOEXEC)",
            ExeError::OtherClass => "an ELF of another class or byte order than this kernel's",
            ExeError::OtherMachine => "an ELF for another architecture than this kernel's",
            ExeError::NotExecutable => "an ELF file that is not an executable (ET_EXEC or ET_DYN)",
            ExeError::BadHeaders => "an ELF whose program headers cannot be read",
            ExeError::BadInterp => "an ELF whose PT_INTERP is not a path",
            ExeError::BadShebang => "a #! line without an interpreter in its first 256 bytes",
        }
    }
}

fn u16_at(b: &[u8], at: usize, little: bool) -> Option<u16> {
    let v: [u8; 2] = b.get(at..at + 2)?.try_into().ok()?;
    Some(if little { u16::from_le_bytes(v) } else { u16::from_be_bytes(v) })
}

fn u32_at(b: &[u8], at: usize, little: bool) -> Option<u32> {
    let v: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(if little { u32::from_le_bytes(v) } else { u32::from_be_bytes(v) })
}

fn u64_at(b: &[u8], at: usize, little: bool) -> Option<u64> {
    let v: [u8; 8] = b.get(at..at + 8)?.try_into().ok()?;
    Some(if little { u64::from_le_bytes(v) } else { u64::from_be_bytes(v) })
}

/// Classify a file from its first bytes (at least [`HEAD`] of them when
/// the file is that long).
pub fn classify(head: &[u8], want: Machine) -> Result<Exe<'_>, ExeError> {
    if let Some(rest) = head.strip_prefix(b"#!") {
        return shebang(rest);
    }
    if !head.starts_with(b"\x7fELF") {
        return Err(ExeError::Unknown);
    }
    let (class64, little) = match (head.get(4), head.get(5)) {
        (Some(1), Some(d @ (1 | 2))) => (false, *d == 1),
        (Some(2), Some(d @ (1 | 2))) => (true, *d == 1),
        _ => return Err(ExeError::OtherClass),
    };
    if class64 != want.class64 || little != want.little {
        return Err(ExeError::OtherClass);
    }
    let bad = ExeError::BadHeaders;
    match u16_at(head, 16, little).ok_or(bad)? {
        2 | 3 => {}
        _ => return Err(ExeError::NotExecutable),
    }
    if u16_at(head, 18, little).ok_or(bad)? != want.machine {
        return Err(ExeError::OtherMachine);
    }
    let (phoff, at) = if class64 {
        (u64_at(head, 32, little).ok_or(bad)?, 54)
    } else {
        (u64::from(u32_at(head, 28, little).ok_or(bad)?), 42)
    };
    let phentsize = u16_at(head, at, little).ok_or(bad)?;
    let phnum = u16_at(head, at + 2, little).ok_or(bad)?;
    let min = if class64 { 56 } else { 32 };
    if usize::from(phentsize) < min || usize::from(phnum) * usize::from(phentsize) > PHDRS_MAX {
        return Err(bad);
    }
    Ok(Exe::Elf { phoff, phnum, phentsize })
}

/// The interpreter of a `#!` script (`rest` follows the `#!`): the first
/// word after optional blanks, like binfmt_script.
fn shebang(rest: &[u8]) -> Result<Exe<'_>, ExeError> {
    let line = &rest[..rest.len().min(HEAD - 2)];
    let end = line.iter().position(|&b| b == b'\n').ok_or(ExeError::BadShebang)?;
    let line = &line[..end];
    let start = line.iter().position(|&b| b != b' ' && b != b'\t').ok_or(ExeError::BadShebang)?;
    let word = &line[start..];
    let len = word.iter().position(|&b| matches!(b, b' ' | b'\t' | 0)).unwrap_or(word.len());
    // `#!` then a NUL: binfmt_script takes the empty name and execve fails
    // (ENOENT); refused here as what it is, a line without an interpreter.
    if len == 0 {
        return Err(ExeError::BadShebang);
    }
    Ok(Exe::Script { interp: &word[..len] })
}

/// Where the `PT_INTERP` path lies in the file (offset, length with its
/// NUL), from the program headers read at `phoff` (`phdrs` holds
/// `phnum * phentsize` bytes). `None`: a static executable.
pub fn interp(phdrs: &[u8], phnum: u16, phentsize: u16, want: Machine) -> Result<Option<(u64, u64)>, ExeError> {
    let size = usize::from(phentsize);
    for i in 0..usize::from(phnum) {
        let at = i * size;
        let ph = phdrs.get(at..at + size).ok_or(ExeError::BadHeaders)?;
        let little = want.little;
        if u32_at(ph, 0, little) != Some(3) {
            continue;
        }
        let (off, len) = if want.class64 {
            (u64_at(ph, 8, little), u64_at(ph, 32, little))
        } else {
            (u32_at(ph, 4, little).map(u64::from), u32_at(ph, 16, little).map(u64::from))
        };
        return match (off, len) {
            (Some(off), Some(len)) if len >= 2 => Ok(Some((off, len))),
            _ => Err(ExeError::BadInterp),
        };
    }
    Ok(None)
}

/// The interpreter path from the `len` bytes read at its offset: without
/// its NUL, which must be the last byte and the only one.
pub fn interp_path(bytes: &[u8]) -> Result<&[u8], ExeError> {
    match bytes.split_last() {
        Some((0, path)) if !path.is_empty() && !path.contains(&0) => Ok(path),
        _ => Err(ExeError::BadInterp),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    const X86: Machine = Machine { class64: true, little: true, machine: 62, name: "x86-64" };

    fn elf64(machine: u16, e_type: u16, phnum: u16) -> Vec<u8> {
        let mut h = std::vec![0u8; 64];
        h[..4].copy_from_slice(b"\x7fELF");
        h[4] = 2;
        h[5] = 1;
        h[6] = 1;
        h[16..18].copy_from_slice(&e_type.to_le_bytes());
        h[18..20].copy_from_slice(&machine.to_le_bytes());
        h[32..40].copy_from_slice(&64u64.to_le_bytes());
        h[54..56].copy_from_slice(&56u16.to_le_bytes());
        h[56..58].copy_from_slice(&phnum.to_le_bytes());
        h
    }

    fn phdr(p_type: u32, off: u64, len: u64) -> Vec<u8> {
        let mut p = std::vec![0u8; 56];
        p[..4].copy_from_slice(&p_type.to_le_bytes());
        p[8..16].copy_from_slice(&off.to_le_bytes());
        p[32..40].copy_from_slice(&len.to_le_bytes());
        p
    }

    #[test]
    fn native_elf_and_its_interpreter() {
        let h = elf64(62, 3, 2);
        assert_eq!(classify(&h, X86), Ok(Exe::Elf { phoff: 64, phnum: 2, phentsize: 56 }));
        let mut phdrs = phdr(6, 0, 0);
        phdrs.extend(phdr(3, 0x318, 28));
        assert_eq!(interp(&phdrs, 2, 56, X86), Ok(Some((0x318, 28))));
        assert_eq!(interp(&phdr(1, 0, 0), 1, 56, X86), Ok(None), "static: no PT_INTERP");
        assert_eq!(interp_path(b"/lib64/ld-linux-x86-64.so.2\0"), Ok(&b"/lib64/ld-linux-x86-64.so.2"[..]));
        assert_eq!(interp_path(b"/lib64/ld\0x\0"), Err(ExeError::BadInterp));
        assert_eq!(interp_path(b"/lib64/ld"), Err(ExeError::BadInterp));
        assert_eq!(interp_path(b"\0"), Err(ExeError::BadInterp));
    }

    #[test]
    fn what_the_kernel_refuses() {
        assert_eq!(classify(b"echo hello\n", X86), Err(ExeError::Unknown));
        assert_eq!(classify(b"", X86), Err(ExeError::Unknown));
        assert_eq!(classify(&elf64(183, 2, 1), X86), Err(ExeError::OtherMachine), "aarch64 on x86-64");
        assert_eq!(classify(&elf64(62, 1, 1), X86), Err(ExeError::NotExecutable), "ET_REL");
        let mut h32 = elf64(3, 2, 1);
        h32[4] = 1;
        assert_eq!(classify(&h32, X86), Err(ExeError::OtherClass));
        let mut be = elf64(62, 2, 1);
        be[5] = 2;
        assert_eq!(classify(&be, X86), Err(ExeError::OtherClass));
        assert_eq!(classify(&elf64(62, 2, 1000), X86), Err(ExeError::BadHeaders));
        assert_eq!(classify(&elf64(62, 2, 1)[..40], X86), Err(ExeError::BadHeaders), "truncated");
        assert_eq!(interp(&phdr(3, 0, 0), 1, 56, X86), Err(ExeError::BadInterp));
        assert_eq!(interp(&phdr(3, 0, 9)[..20], 1, 56, X86), Err(ExeError::BadHeaders));
    }

    #[test]
    fn scripts() {
        assert_eq!(classify(b"#!/bin/sh\necho", X86), Ok(Exe::Script { interp: b"/bin/sh" }));
        assert_eq!(classify(b"#! \t/usr/bin/env python3 -u\n", X86), Ok(Exe::Script { interp: b"/usr/bin/env" }));
        assert_eq!(classify(b"#!/bin/sh", X86), Err(ExeError::BadShebang), "no newline in the head");
        assert_eq!(classify(b"#!   \n", X86), Err(ExeError::BadShebang));
        // Found by fuzzing (fuzz/fuzz_targets/exe.rs): a NUL where the name
        // starts is no interpreter, as for the kernel.
        assert_eq!(classify(b"#!\0/bin/sh\n", X86), Err(ExeError::BadShebang));
        assert_eq!(classify(b"#! \0\n", X86), Err(ExeError::BadShebang));
        let mut long = std::vec![b'#', b'!'];
        long.extend(std::iter::repeat_n(b'a', 300));
        long.push(b'\n');
        assert_eq!(classify(&long, X86), Err(ExeError::BadShebang));
    }

    #[test]
    fn total_on_any_prefix() {
        let mut h = elf64(62, 2, 3);
        h.extend(phdr(3, 200, 10));
        for n in 0..h.len() {
            let _ = classify(&h[..n], X86);
            let _ = interp(&h[..n], 3, 56, X86);
        }
    }
}
