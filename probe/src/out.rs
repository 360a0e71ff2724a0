//! The `@probe` line protocol on stdout (the console).

use crate::sys;

/// Writes `@probe KEY REST\n` with one write(2), so lines from the probe are
/// never split by other writers on the console. Newlines inside `rest` are
/// escaped: one report is always exactly one line.
pub fn line(key: &str, rest: &str) {
    let mut buf = String::with_capacity(8 + key.len() + rest.len() + 1);
    buf.push_str("@probe ");
    buf.push_str(key);
    if !rest.is_empty() {
        buf.push(' ');
        buf.push_str(&rest.replace('\n', "\\n"));
    }
    buf.push('\n');
    sys::write_all(1, buf.as_bytes());
}

/// Escapes control bytes (and `\`) as `\n`, `\t`, `\xNN`, so any file
/// content fits on one report line.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\x7f' => o.push_str(&format!("\\x{:02x}", c as u32)),
            c => o.push(c),
        }
    }
    o
}

/// Counts checks as they are reported.
#[derive(Default)]
pub struct Report {
    pub checks: usize,
    pub failed: usize,
}

impl Report {
    /// `@probe check NAME PASS|FAIL detail`.
    pub fn check(&mut self, name: &str, pass: bool, detail: &str) {
        self.checks += 1;
        if !pass {
            self.failed += 1;
        }
        let verdict = if pass { "PASS" } else { "FAIL" };
        line("check", &format!("{name} {verdict} {detail}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_keeps_text_and_escapes_controls() {
        assert_eq!(escape("abc-123 x"), "abc-123 x");
        assert_eq!(escape("a\nb\tc\\d\x01\x7f"), "a\\nb\\tc\\\\d\\x01\\x7f");
        assert_eq!(escape(""), "");
    }
}
