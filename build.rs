//! Turns `initramfs/layout` into `$OUT_DIR/layout.rs`.
//!
//! Why a build script: the image layout is reviewed as a plain spec file, but
//! `init` (which reads the module list) and `overinit pack` (which writes it)
//! must agree on every path. Generating constants from the one spec makes a
//! disagreement impossible, and a malformed spec fails the build instead of a
//! boot. It also stamps the version (+ git commit when available) so the boot
//! line says which build is running.

use std::{env, fmt::Write as _, fs, path::Path, process::Command};

fn main() {
    // `init` on musl: drop unwind tables (see initramfs/init.ld). A cc
    // driver (x86_64: musl-gcc/cc) wants `-Wl,`; rust-lld or ld.lld called
    // directly (aarch64, .cargo/config.toml) takes the ld option itself.
    if env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("musl") {
        let script = Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap()).join("initramfs/init.ld");
        println!("cargo:rerun-if-changed=initramfs/init.ld");
        println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
        let linker = env::var("RUSTC_LINKER").unwrap_or_default();
        let direct = Path::new(&linker).file_name().is_some_and(|n| n.to_string_lossy().contains("lld"));
        let arg = if direct { "-T" } else { "-Wl,-T," };
        // luks2-unlock (src/unlock/main.rs) shares init's entry and start-up.
        for bin in ["init", "luks2-unlock"] {
            println!("cargo:rustc-link-arg-bin={bin}={arg}{}", script.display());
        }
        // `init` has its own entry point (src/init/main.rs): crt1.o's
        // `_start` and the C start-up it calls are then unreferenced and
        // garbage-collected; init.ld drops the constructor sections that
        // crti.o and crtbegin.o would keep (nothing of ours runs them).
        let entry = if direct { "--entry=overinit_start" } else { "-Wl,--entry=overinit_start" };
        for bin in ["init", "luks2-unlock"] {
            println!("cargo:rustc-link-arg-bin={bin}={entry}");
        }
    }
    let spec_path = "initramfs/layout";
    println!("cargo:rerun-if-changed={spec_path}");
    println!("cargo:rerun-if-changed=.git/HEAD");
    let spec = fs::read_to_string(spec_path).expect("read initramfs/layout");
    let mut entries = String::new();
    let mut slots = String::new();
    for (n, raw) in spec.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        let bad = |why: &str| -> ! { panic!("initramfs/layout:{}: {why}: {raw}", n + 1) };
        let mode = |s: &str| u32::from_str_radix(s, 8).unwrap_or_else(|_| bad("mode is not octal"));
        let num = |s: &str| s.parse::<u32>().unwrap_or_else(|_| bad("not a number"));
        let path = |s: &str| {
            if !s.starts_with('/') || s.contains("..") || s.contains('"') || s.ends_with('/') {
                bad("path must be absolute, normalized, without quotes")
            }
            s.to_string()
        };
        match f[0] {
            "dir" if f.len() == 5 => writeln!(
                entries,
                "    Entry {{ path: {:?}, kind: Kind::Dir, mode: 0o{:o}, uid: {}, gid: {} }},",
                path(f[1]),
                mode(f[2]),
                num(f[3]),
                num(f[4])
            ),
            "nod" if f.len() == 8 => {
                let kind = match f[5] {
                    "c" => "Char",
                    "b" => "Block",
                    _ => bad("node type must be c or b"),
                };
                writeln!(
                    entries,
                    "    Entry {{ path: {:?}, kind: Kind::{kind}({}, {}), mode: 0o{:o}, uid: {}, gid: {} }},",
                    path(f[1]),
                    num(f[6]),
                    num(f[7]),
                    mode(f[2]),
                    num(f[3]),
                    num(f[4])
                )
            }
            "file" if f.len() == 6 => {
                let slot = f[5].strip_prefix('@').unwrap_or_else(|| bad("file content must be @SLOT"));
                writeln!(
                    entries,
                    "    Entry {{ path: {:?}, kind: Kind::File({slot:?}), mode: 0o{:o}, uid: {}, gid: {} }},",
                    path(f[1]),
                    mode(f[2]),
                    num(f[3]),
                    num(f[4])
                )
            }
            "slot" if f.len() == 3 => {
                writeln!(slots, "pub const {}: &str = {:?};", f[1].to_ascii_uppercase(), path(f[2]))
            }
            _ => bad("unknown or malformed line"),
        }
        .unwrap();
    }
    let mut version = env::var("CARGO_PKG_VERSION").unwrap();
    if let Ok(out) = Command::new("git").args(["rev-parse", "--short=12", "HEAD"]).output() {
        if out.status.success() {
            let rev = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if !rev.is_empty() {
                version = format!("{version}+{rev}");
            }
        }
    }
    let out = format!(
        "/// Entries of the image skeleton, in spec order.\npub const ENTRIES: &[Entry] = &[\n{entries}];\n{slots}\n/// Version of this build (crate version + git commit when built from git).\npub const VERSION: &str = {version:?};\n"
    );
    let dest = Path::new(&env::var("OUT_DIR").unwrap()).join("layout.rs");
    fs::write(dest, out).unwrap();
}
