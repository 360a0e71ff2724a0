//! Will the kernel run this file (`exe.rs`): `classify`, `interp` and
//! `interp_path` are total, and what they accept has the shape execve
//! needs — an ELF answer comes from a `\x7fELF` head of the wanted class,
//! byte order and machine with a program header table init can read
//! (entries at least as large as the class needs, at most `PHDRS_MAX`
//! bytes), a script answer names a non-empty interpreter from the first
//! line of the `#!` head, inside the first `HEAD` bytes, without blanks or
//! NUL; an interpreter path is the bytes before the one NUL at the end.
//!
//! Input: byte 0 picks the machine (bit 0: x86-64 or aarch64 as little-
//! endian 64-bit; bit 1: a 32-bit big-endian one), then the file's head;
//! `interp` and `interp_path` read the same bytes as headers and path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use overinit::exe::{self, Exe, ExeError, Machine, HEAD, PHDRS_MAX};

const MACHINES: [Machine; 4] = [
    Machine { class64: true, little: true, machine: 62, name: "x86-64" },
    Machine { class64: true, little: true, machine: 183, name: "aarch64" },
    Machine { class64: false, little: false, machine: 8, name: "mips" },
    Machine { class64: false, little: false, machine: 20, name: "ppc" },
];

fuzz_target!(|data: &[u8]| {
    let Some((&mode, head)) = data.split_first() else { return };
    let want = MACHINES[usize::from(mode & 3)];
    match exe::classify(head, want) {
        Ok(Exe::Elf { phnum, phentsize, .. }) => {
            assert!(head.starts_with(b"\x7fELF"));
            assert_eq!((head[4] == 2, head[5] == 1), (want.class64, want.little), "class and byte order");
            let min = if want.class64 { 56 } else { 32 };
            assert!(usize::from(phentsize) >= min);
            assert!(usize::from(phnum) * usize::from(phentsize) <= PHDRS_MAX);
            // The headers as init reads them, from wherever they lie.
            let len = usize::from(phnum) * usize::from(phentsize);
            match exe::interp(&head[..len.min(head.len())], phnum, phentsize, want) {
                Ok(Some((_, len))) => assert!(len >= 2, "a path and its NUL"),
                Ok(None) | Err(ExeError::BadHeaders | ExeError::BadInterp) => {}
                Err(e) => panic!("interp answered {e:?}"),
            }
        }
        Ok(Exe::Script { interp }) => {
            assert!(head.starts_with(b"#!"));
            assert!(!interp.is_empty());
            assert!(!interp.iter().any(|b| matches!(b, b' ' | b'\t' | b'\n' | 0)));
            // A subslice of the first line, within the first HEAD bytes.
            let start = interp.as_ptr() as usize - head.as_ptr() as usize;
            let end = start + interp.len();
            assert!(end < HEAD.min(head.len()), "the line's newline is in the head");
            assert!(!head[2..start].iter().any(|b| !matches!(b, b' ' | b'\t')), "only blanks before it");
            assert!(head[end..].iter().position(|&b| b == b'\n').is_some());
        }
        Err(ExeError::BadShebang) => assert!(head.starts_with(b"#!")),
        Err(ExeError::Unknown) => assert!(!head.starts_with(b"#!") && !head.starts_with(b"\x7fELF")),
        Err(e) => {
            assert!(head.starts_with(b"\x7fELF"), "{e:?} for a file that is no ELF");
            assert!(!e.message().is_empty());
        }
    }
    // The other two on the same bytes, for any counts.
    let (phnum, phentsize) = (u16::from(mode), u16::from(mode >> 2).max(1) * 8);
    if let Ok(Some((_, len))) = exe::interp(head, phnum, phentsize, want) {
        assert!(len >= 2);
    }
    match exe::interp_path(head) {
        Ok(path) => {
            assert_eq!(head.len(), path.len() + 1);
            assert!(head.ends_with(b"\0") && !path.is_empty() && !path.contains(&0));
        }
        Err(e) => {
            assert_eq!(e, ExeError::BadInterp);
            assert!(head.len() < 2 || head.last() != Some(&0) || head[..head.len() - 1].contains(&0));
        }
    }
});
