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

/// A minimal 64-bit ELF header for `machine`, little endian (tests).
#[cfg(test)]
pub fn header(machine: Machine) -> Vec<u8> {
    let mut h = vec![0u8; 64];
    h[..7].copy_from_slice(b"\x7fELF\x02\x01\x01");
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
    fn names() {
        assert_eq!(Machine::X86_64.to_string(), "x86-64");
        assert_eq!(Machine::AARCH64.to_string(), "ARM aarch64");
        assert_eq!(Machine(9999).to_string(), "ELF machine 9999");
        assert_eq!(Machine::AARCH64.rust_arch(), Some("aarch64"));
        assert_eq!(Machine(40).rust_arch(), None);
    }
}
