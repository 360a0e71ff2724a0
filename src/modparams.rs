//! `MOD.param=value` on the kernel command line, for the modules init
//! loads: what modprobe does for modules loaded after boot (kmod reads
//! /proc/cmdline, libkmod-config.c kcmdline_parse_result: the name before
//! the first `.`, the rest as an `options MOD …` line). The kernel itself
//! applies them only to built-in code.
//!
//! Module names compare with `-` and `_` alike (kmod's underscores()); the
//! parameters follow the image's own options for the module, so the
//! command line wins (the kernel's parse_args keeps the last value).

use crate::cmdline::args;

/// Namespaces of dotted parameters that are not modules: ours, systemd's,
/// dracut's, udev's, kmod's own (`modprobe.blacklist=`).
pub const NOT_MODULES: [&[u8]; 6] = [b"overinit", b"systemd", b"rd", b"udev", b"modprobe", b"root"];

/// Module names are equal when they are equal with every `-` read as `_`.
pub fn same_name(a: &[u8], b: &[u8]) -> bool {
    let u = |c: &u8| if *c == b'-' { b'_' } else { *c };
    a.len() == b.len() && a.iter().map(u).eq(b.iter().map(u))
}

/// The module a command-line parameter is for (`nvme` of
/// `nvme.io_queue_depth`), unless it names no module or one of
/// [`NOT_MODULES`].
pub fn module_of(key: &[u8]) -> Option<&[u8]> {
    let dot = key.iter().position(|&b| b == b'.')?;
    let (name, param) = (&key[..dot], &key[dot + 1..]);
    let known = NOT_MODULES.contains(&name);
    (!name.is_empty() && !param.is_empty() && !known).then_some(name)
}

/// The parameters do not fit the buffer.
#[derive(Debug, PartialEq, Eq)]
pub struct TooLong;

/// The command line's parameters for module `name`, appended to `out`
/// (after what is there, space separated), each `param=value` (`param`
/// alone for a flag; a value with a space is quoted again, as the kernel's
/// parser wants it). `Err` when they do not fit: nothing is cut.
pub fn append<const N: usize>(cmdline: &[u8], name: &[u8], out: &mut heapless::Vec<u8, N>) -> Result<(), TooLong> {
    for (key, value) in args(cmdline) {
        if !module_of(key).is_some_and(|m| same_name(m, name)) {
            continue;
        }
        if !out.is_empty() {
            out.push(b' ').map_err(|_| TooLong)?;
        }
        out.extend_from_slice(&key[name.len() + 1..]).map_err(|_| TooLong)?;
        if let Some(v) = value {
            let quote = v.iter().any(|&b| b == b' ' || b == b'\t');
            out.push(b'=').map_err(|_| TooLong)?;
            if quote {
                out.push(b'"').map_err(|_| TooLong)?;
            }
            out.extend_from_slice(v).map_err(|_| TooLong)?;
            if quote {
                out.push(b'"').map_err(|_| TooLong)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(cmdline: &str, name: &str, image: &str) -> Result<std::string::String, TooLong> {
        let mut out: heapless::Vec<u8, 64> = heapless::Vec::new();
        out.extend_from_slice(image.as_bytes()).unwrap();
        append(cmdline.as_bytes(), name.as_bytes(), &mut out)?;
        Ok(std::string::String::from_utf8(out.to_vec()).unwrap())
    }

    #[test]
    fn cmdline_params_follow_the_image_options() {
        let c = "root=LABEL=ROOT nvme.io_queue_depth=64 usb-storage.delay_use=0 quiet nvme.poll_queues=2";
        assert_eq!(params(c, "nvme", "").unwrap(), "io_queue_depth=64 poll_queues=2");
        assert_eq!(params(c, "nvme", "async_probe").unwrap(), "async_probe io_queue_depth=64 poll_queues=2");
        // `-` and `_` alike, both ways.
        assert_eq!(params(c, "usb_storage", "").unwrap(), "delay_use=0");
        assert_eq!(params("usb_storage.delay_use=1", "usb-storage", "").unwrap(), "delay_use=1");
        assert_eq!(params(c, "nvme_core", "").unwrap(), "");
        assert_eq!(params(c, "nvm", "").unwrap(), "");
    }

    #[test]
    fn flags_quotes_and_odd_keys() {
        assert_eq!(params("ahci.mobile_lpm_policy=1 ahci.noflag", "ahci", "").unwrap(), "mobile_lpm_policy=1 noflag");
        assert_eq!(params("m.s=\"a b\" m.e=", "m", "").unwrap(), "s=\"a b\" e=");
        // No module, no parameter, or a namespace that is not a module.
        assert_eq!(params(".x=1 m.=1 m", "m", "").unwrap(), "");
        assert_eq!(params("", "", "").unwrap(), "");
        assert_eq!(module_of(b"overinit.debug"), None);
        assert_eq!(module_of(b"systemd.unit"), None);
        assert_eq!(module_of(b"rd.break"), None);
        assert_eq!(module_of(b"printk.time"), Some(&b"printk"[..]));
        assert_eq!(module_of(b"a.b.c"), Some(&b"a"[..]));
        assert_eq!(module_of(b"root"), None);
    }

    #[test]
    fn too_long_is_an_error_not_a_cut() {
        let long = std::format!("m.p={}", "x".repeat(70));
        assert_eq!(params(&long, "m", ""), Err(TooLong));
        assert_eq!(params("m.p=1", "m", &"y".repeat(62)), Err(TooLong));
        assert_eq!(params("m.p", "m", &"y".repeat(62)).unwrap().len(), 64);
    }
}
