//! Anonymous memory: `mmap(MAP_PRIVATE | MAP_ANONYMOUS)`, unmapped on drop.
//! `luks2-unlock` takes the keyslot area buffer and argon2's 1 KiB blocks
//! from one such mapping, sized by the keyslot (`keyslot::work_needed`):
//! no heap, and the memory goes back to the kernel when the unlock ends.

use overinit::luks2::keyslot::Block;
use rustix::io::Errno;
use rustix::mm::{MapFlags, ProtFlags};

/// One anonymous mapping: `area` bytes, then `blocks` argon2 blocks.
pub struct Anon {
    ptr: *mut u8,
    len: usize,
    area: usize,
    blocks: usize,
}

impl Anon {
    /// Map room for `area` bytes and `blocks` blocks; ENOMEM when the sizes
    /// overflow or the kernel refuses.
    pub fn map(area: usize, blocks: usize) -> Result<Anon, Errno> {
        // The blocks start 1 KiB-aligned (Block's alignment is 64 bytes;
        // mmap returns page-aligned memory).
        let area_room = area.checked_next_multiple_of(1024).ok_or(Errno::NOMEM)?;
        let len = blocks.checked_mul(size_of::<Block>()).and_then(|b| b.checked_add(area_room)).ok_or(Errno::NOMEM)?;
        let len = len.max(1);
        // SAFETY: a fresh private anonymous mapping at an address the kernel
        // chooses: it aliases nothing of ours.
        let p = unsafe {
            rustix::mm::mmap_anonymous(
                core::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::PRIVATE,
            )
        }?;
        Ok(Anon { ptr: p.cast(), len, area, blocks })
    }

    /// The area buffer and the argon2 blocks, disjoint.
    pub fn split(&mut self) -> (&mut [u8], &mut [Block]) {
        let off = self.area.next_multiple_of(1024);
        // SAFETY: `ptr..ptr+len` is our mapping, readable and writable, for
        // as long as `self` lives (the borrows are tied to `&mut self`).
        // [0, area) and [off, off + blocks·1 KiB) are disjoint and inside it
        // (map sized it so). `off` is a multiple of 1024 from a page-aligned
        // base, so the blocks are aligned for `Block` (align 64); a Block is
        // plain `u64`s, valid for any bytes (the mapping starts zeroed).
        unsafe {
            (
                core::slice::from_raw_parts_mut(self.ptr, self.area),
                core::slice::from_raw_parts_mut(self.ptr.add(off).cast::<Block>(), self.blocks),
            )
        }
    }
}

impl Drop for Anon {
    fn drop(&mut self) {
        // SAFETY: the mapping map() made, unmapped once; no borrow of it
        // outlives `self`.
        let _ = unsafe { rustix::mm::munmap(self.ptr.cast(), self.len) };
    }
}
