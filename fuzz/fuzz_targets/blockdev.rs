//! Block devices as the kernel names and announces them (`blockdev.rs`):
//! `part_needs_p` is "the name ends in a digit", and `is_block_uevent`
//! agrees with a second reading of the uevent format — a header up to the
//! first NUL that starts with `add@` or `change@`, then NUL-separated
//! fields, one of which is exactly `SUBSYSTEM=block`.
//!
//! Input: a uevent datagram; its first line is also tried as a disk name.
#![no_main]

use libfuzzer_sys::fuzz_target;
use overinit::blockdev;

fn block_event(msg: &[u8]) -> bool {
    let cut = msg.iter().position(|&b| b == 0);
    let (header, body) = match cut {
        Some(at) => (&msg[..at], &msg[at + 1..]),
        None => (msg, &b""[..]),
    };
    let appears = [&b"add@"[..], b"change@"].iter().any(|p| header.len() >= p.len() && &header[..p.len()] == *p);
    let mut fields = Vec::new();
    let mut start = 0;
    for (i, &b) in body.iter().enumerate() {
        if b == 0 {
            fields.push(&body[start..i]);
            start = i + 1;
        }
    }
    fields.push(&body[start..]);
    appears && cut.is_some() && fields.iter().any(|f| *f == b"SUBSYSTEM=block")
}

fuzz_target!(|msg: &[u8]| {
    assert_eq!(blockdev::is_block_uevent(msg), block_event(msg), "{:?}", String::from_utf8_lossy(msg));
    let name = msg.split(|&b| b == b'\n').next().unwrap_or_default();
    assert_eq!(blockdev::part_needs_p(name), matches!(name.last(), Some(b'0'..=b'9')));
});
