//! docs/parameters.md documents every parameter the parser knows: each
//! standard kernel key and each `overinit.*` key has a table row with a
//! meaning, a default and an example.

use overinit::cmdline::{KERNEL_KEYS, OVERINIT_KEYS};

const DOC: &str = include_str!("../docs/parameters.md");

/// The table row documenting `name` (its first cell is `` `name` ``,
/// `` `name=` `` or `` `name…` ``), split into its cells.
fn row(name: &str) -> Option<Vec<&str>> {
    DOC.lines().find_map(|line| {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let first = cells.get(1)?.strip_prefix('`')?.split('`').next()?;
        (first == name || first == format!("{name}=")).then_some(cells)
    })
}

fn check(name: &str) -> Result<(), String> {
    let cells = row(name).ok_or_else(|| format!("{name}: no table row in docs/parameters.md"))?;
    // | param | meaning | default | example |
    if cells.len() < 6 || cells[2].is_empty() {
        return Err(format!("{name}: the row needs a meaning, a default and an example"));
    }
    if name != "--" && (cells[3].is_empty() || cells[4].is_empty()) {
        return Err(format!("{name}: the row needs a default and an example"));
    }
    if name != "--" && !cells[4].contains(name.trim_end_matches('=')) {
        return Err(format!("{name}: the example does not use it: {}", cells[4]));
    }
    Ok(())
}

#[test]
fn every_kernel_key_is_documented() {
    let missing: Vec<String> = KERNEL_KEYS.iter().filter_map(|k| check(k).err()).collect();
    assert!(missing.is_empty(), "{missing:#?}");
}

#[test]
fn every_overinit_key_is_documented() {
    let missing: Vec<String> =
        OVERINIT_KEYS.iter().filter_map(|(k, _)| check(&format!("overinit.{k}")).err()).collect();
    assert!(missing.is_empty(), "{missing:#?}");
}

#[test]
fn no_row_documents_an_unknown_key() {
    // The other direction: a documented `overinit.*` key the parser does
    // not know would be a lie in the docs.
    for line in DOC.lines().filter(|l| l.starts_with("| `overinit.")) {
        let key = line[3..].split('`').next().unwrap();
        let name = key.trim_start_matches("overinit.").trim_end_matches('=');
        assert!(OVERINIT_KEYS.iter().any(|(k, _)| *k == name), "docs/parameters.md documents unknown {key}");
    }
}

#[test]
fn the_readme_links_here() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(readme.contains("docs/parameters.md"), "README.md does not link docs/parameters.md");
}
