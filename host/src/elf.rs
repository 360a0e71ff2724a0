//! Which machine an ELF file is built for: just enough of the ELF header
//! (elf(5): `e_ident`, `e_machine`) for `overinit pack` to refuse an image
//! whose `/init` the kernel of its modules cannot run — a board that never
//! boots ("Failed to execute /init (error -8)", then a panic) is a worse
//! place to learn that than the pack command.

use std::fmt;

/// `e_machine` of an ELF header (include/uapi/linux/elf-em.h).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Machine(pub u16);

impl Machine {
    pub const X86_64: Machine = Machine(62);
    pub const AARCH64: Machine = Machine(183);

    /// The Rust architecture name (`--target ARCH-unknown-linux-musl`) of the
    /// machines `init` is built for.
    pub fn rust_arch(self) -> Option<&'static str> {
        match self {
            Machine::X86_64 => Some("x86_64"),
            Machine::AARCH64 => Some("aarch64"),
            _ => None,
        }
    }
}

impl fmt::Display for Machine {
    /// The name `file(1)` prints, or the number for machines we never meet.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let name = match self.0 {
            3 => "Intel 80386",
            8 => "MIPS",
            20 => "PowerPC",
            21 => "PowerPC64",
            22 => "IBM S/390",
            40 => "ARM",
            62 => "x86-64",
            183 => "ARM aarch64",
            243 => "RISC-V",
            258 => "LoongArch",
            other => return write!(f, "ELF machine {other}"),
        };
        f.write_str(name)
    }
}

/// The machine `bytes` (a whole file or its first 20 bytes) is built for;
/// `None` when it is not an ELF file with a header we can read (a `#!`
/// script as `/init`, say), so there is nothing to compare.
pub fn machine(bytes: &[u8]) -> Option<Machine> {
    const EI_CLASS: usize = 4; // 1: 32-bit, 2: 64-bit
    const EI_DATA: usize = 5; // 1: little endian, 2: big endian
    const EI_VERSION: usize = 6; // always 1 (EV_CURRENT)
    const E_MACHINE: usize = 18; // same offset in both classes
    let header = bytes.get(..E_MACHINE + 2)?;
    if &header[..4] != b"\x7fELF" || !matches!(header[EI_CLASS], 1 | 2) || header[EI_VERSION] != 1 {
        return None;
    }
    let raw = [header[E_MACHINE], header[E_MACHINE + 1]];
    match header[EI_DATA] {
        1 => Some(Machine(u16::from_le_bytes(raw))),
        2 => Some(Machine(u16::from_be_bytes(raw))),
        _ => None,
    }
}

/// What an ELF program needs at run time, as far as the kernel's
/// `load_elf_binary` is concerned: a `PT_INTERP` (a dynamic loader, which
/// the initramfs does not have at /init time) or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linking {
    /// `ET_EXEC` or `ET_DYN` (static-pie) without `PT_INTERP`: runs alone.
    Static,
    /// Has `PT_INTERP`: the kernel execs the named loader first.
    Dynamic,
    /// Not an executable: `e_type` is not `ET_EXEC`/`ET_DYN` (a `.o`, a core).
    NotExecutable(u16),
}

/// How `bytes` (a whole ELF file) links; `None` when the header or the
/// program headers cannot be read (then it is no program the kernel runs).
pub fn linking(bytes: &[u8]) -> Option<Linking> {
    const ET_EXEC: u16 = 2;
    const ET_DYN: u16 = 3;
    const PT_INTERP: u32 = 3;
    machine(bytes)?;
    let big = bytes[5] == 2;
    let u16_at = |at: usize| -> Option<u16> {
        let b: [u8; 2] = bytes.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(if big { u16::from_be_bytes(b) } else { u16::from_le_bytes(b) })
    };
    let u32_at = |at: usize| -> Option<u32> {
        let b: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if big { u32::from_be_bytes(b) } else { u32::from_le_bytes(b) })
    };
    let u64_at = |at: usize| -> Option<u64> {
        let b: [u8; 8] = bytes.get(at..at.checked_add(8)?)?.try_into().ok()?;
        Some(if big { u64::from_be_bytes(b) } else { u64::from_le_bytes(b) })
    };
    let e_type = u16_at(16)?;
    if e_type != ET_EXEC && e_type != ET_DYN {
        return Some(Linking::NotExecutable(e_type));
    }
    // elf(5): e_phoff, e_phentsize, e_phnum; 64-bit (class 2) or 32-bit.
    let (phoff, phentsize, phnum) = match bytes[4] {
        2 => (u64_at(32)?, u16_at(54)?, u16_at(56)?),
        _ => (u64::from(u32_at(28)?), u16_at(42)?, u16_at(44)?),
    };
    for i in 0..usize::from(phnum) {
        let at = usize::try_from(phoff).ok()?.checked_add(i.checked_mul(usize::from(phentsize))?)?;
        if u32_at(at)? == PT_INTERP {
            return Some(Linking::Dynamic);
        }
    }
    Some(Linking::Static)
}

/// A minimal 64-bit ELF header for `machine`, little endian (tests).
#[cfg(test)]
pub fn header(machine: Machine) -> Vec<u8> {
    let mut h = vec![0u8; 64];
    h[..7].copy_from_slice(b"\x7fELF\x02\x01\x01");
    h[16] = 2; // ET_EXEC, no program headers: a static program
    h[18..20].copy_from_slice(&machine.0.to_le_bytes());
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_machine_of_this_test_binary() {
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let want = if cfg!(target_arch = "x86_64") {
            Machine::X86_64
        } else if cfg!(target_arch = "aarch64") {
            Machine::AARCH64
        } else {
            return; // a host we have no constant for
        };
        assert_eq!(machine(&me), Some(want));
    }

    #[test]
    fn both_byte_orders_and_classes() {
        assert_eq!(machine(&header(Machine::AARCH64)), Some(Machine::AARCH64));
        let mut be32 = header(Machine(0));
        be32[4] = 1;
        be32[5] = 2;
        be32[18..20].copy_from_slice(&21u16.to_be_bytes());
        assert_eq!(machine(&be32), Some(Machine(21)));
        assert_eq!(machine(&header(Machine::X86_64)[..20]), Some(Machine::X86_64));
    }

    #[test]
    fn not_elf_or_unreadable_header_is_none() {
        assert_eq!(machine(b"#!/bin/sh\necho hello from a script init\n"), None);
        assert_eq!(machine(b"\x7fELF init binary"), None, "too short for e_machine");
        assert_eq!(machine(b"\x7fELF kernel/drivers/block/virtio_blk.ko"), None, "bad class byte");
        let mut h = header(Machine::X86_64);
        h[5] = 3;
        assert_eq!(machine(&h), None, "bad byte order");
        h[5] = 1;
        h[6] = 0;
        assert_eq!(machine(&h), None, "bad version");
        assert_eq!(machine(b""), None);
    }

    #[test]
    fn linking_of_real_programs_and_bad_headers() {
        // This test binary is dynamically linked (glibc host).
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        assert_eq!(linking(&me), Some(Linking::Dynamic));
        // A static program: busybox-static, when installed (as in CI).
        if let Ok(bb) = std::fs::read("/bin/busybox") {
            assert_eq!(linking(&bb), Some(Linking::Static));
        }
        // ET_EXEC with no program headers: static.
        let mut h = header(Machine::X86_64);
        assert_eq!(linking(&h), Some(Linking::Static));
        // ET_REL (an object file): not a program.
        h[16] = 1;
        assert_eq!(linking(&h), Some(Linking::NotExecutable(1)));
        h[16] = 2;
        // One PT_INTERP program header right after the header.
        h[32] = 64; // e_phoff
        h[54] = 56; // e_phentsize
        h[56] = 1; // e_phnum
        let mut ph = vec![0u8; 56];
        ph[0] = 3;
        h.extend_from_slice(&ph);
        assert_eq!(linking(&h), Some(Linking::Dynamic));
        // Program headers past the end: unreadable, never a panic.
        h[64] = 1; // PT_LOAD; the next ones are cut off
        h[56] = 200;
        assert_eq!(linking(&h), None);
        h[32..40].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(linking(&h), None);
        assert_eq!(linking(b"#!/bin/sh"), None);
    }

    #[test]
    fn names() {
        assert_eq!(Machine::X86_64.to_string(), "x86-64");
        assert_eq!(Machine::AARCH64.to_string(), "ARM aarch64");
        assert_eq!(Machine(9999).to_string(), "ELF machine 9999");
        assert_eq!(Machine::AARCH64.rust_arch(), Some("aarch64"));
        assert_eq!(Machine(40).rust_arch(), None);
    }
}
