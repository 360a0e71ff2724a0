//! A total, allocation-free JSON reader for the LUKS2 metadata area.
//!
//! It never builds a tree: a [`Value`] is a span of the input text, and
//! looking a key up in an object walks that span again. The metadata is at
//! most [`super::header::HDR_MAX`] bytes and has a handful of values, so the
//! walk is cheap. Every walk is bounded: nesting deeper than [`DEPTH_MAX`]
//! is an error, and each step consumes at least one byte, so the work is
//! linear in the input (times the depth) whatever the input.
//!
//! Strings are compared as they are written: LUKS2 names and values are
//! plain ASCII, and cryptsetup (json-c) writes none of them with escapes. A
//! string with a backslash is skipped correctly but never equals a key.

/// Deepest nesting accepted (LUKS2 needs 4: root, keyslots, a keyslot, kdf).
pub const DEPTH_MAX: usize = 8;

/// Why the metadata text is not JSON we read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonError {
    /// Not JSON at this byte offset (or truncated).
    Syntax(usize),
    /// Nested deeper than [`DEPTH_MAX`].
    TooDeep,
}

/// One JSON value: the exact text of it (whitespace trimmed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Value<'a> {
    text: &'a [u8],
}

fn ws(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// End of the string that starts at `s[i] == b'"'`.
fn skip_string(s: &[u8], mut i: usize) -> Result<usize, JsonError> {
    let start = i;
    i += 1;
    while i < s.len() {
        match s[i] {
            b'"' => return Ok(i + 1),
            b'\\' => i += 2,
            c if c < 0x20 => return Err(JsonError::Syntax(i)),
            _ => i += 1,
        }
    }
    Err(JsonError::Syntax(start))
}

/// End of the value that starts at `s[i]` (no leading whitespace).
fn skip_value(s: &[u8], i: usize, depth: usize) -> Result<usize, JsonError> {
    match s.get(i) {
        Some(b'"') => skip_string(s, i),
        Some(b'{') | Some(b'[') => {
            if depth >= DEPTH_MAX {
                return Err(JsonError::TooDeep);
            }
            let (object, close) = if s[i] == b'{' { (true, b'}') } else { (false, b']') };
            let mut j = ws(s, i + 1);
            if s.get(j) == Some(&close) {
                return Ok(j + 1);
            }
            loop {
                if object {
                    if s.get(j) != Some(&b'"') {
                        return Err(JsonError::Syntax(j));
                    }
                    j = ws(s, skip_string(s, j)?);
                    if s.get(j) != Some(&b':') {
                        return Err(JsonError::Syntax(j));
                    }
                    j = ws(s, j + 1);
                }
                j = ws(s, skip_value(s, j, depth + 1)?);
                match s.get(j) {
                    Some(b',') => j = ws(s, j + 1),
                    Some(&c) if c == close => return Ok(j + 1),
                    _ => return Err(JsonError::Syntax(j)),
                }
            }
        }
        Some(b't') if s[i..].starts_with(b"true") => Ok(i + 4),
        Some(b'f') if s[i..].starts_with(b"false") => Ok(i + 5),
        Some(b'n') if s[i..].starts_with(b"null") => Ok(i + 4),
        Some(b'-' | b'0'..=b'9') => {
            let mut j = i + 1;
            while j < s.len() && matches!(s[j], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-') {
                j += 1;
            }
            Ok(j)
        }
        _ => Err(JsonError::Syntax(i)),
    }
}

/// Parse a whole document: one value, then only whitespace (or the NUL
/// padding of the metadata area, which the caller cuts off).
pub fn parse(s: &[u8]) -> Result<Value<'_>, JsonError> {
    let i = ws(s, 0);
    let end = skip_value(s, i, 0)?;
    if ws(s, end) != s.len() {
        return Err(JsonError::Syntax(ws(s, end)));
    }
    Ok(Value { text: &s[i..end] })
}

impl<'a> Value<'a> {
    /// The raw text (for tests and messages).
    pub fn text(self) -> &'a [u8] {
        self.text
    }

    pub fn is_object(self) -> bool {
        self.text.first() == Some(&b'{')
    }

    /// The members of an object, in order (empty for anything else).
    pub fn members(self) -> Members<'a> {
        Members { s: self.text, i: if self.is_object() { 1 } else { self.text.len() } }
    }

    /// The elements of an array, in order (empty for anything else).
    pub fn elements(self) -> Elements<'a> {
        let i = if self.text.first() == Some(&b'[') { 1 } else { self.text.len() };
        Elements { s: self.text, i }
    }

    /// The value of `key` in an object (the first one with that name).
    pub fn get(self, key: &[u8]) -> Option<Value<'a>> {
        self.members().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The contents of a string without its quotes (None if not a string
    /// or if it has escapes, which no LUKS2 value needs).
    pub fn str(self) -> Option<&'a [u8]> {
        let t = self.text;
        if t.len() >= 2 && t[0] == b'"' && !t.contains(&b'\\') {
            Some(&t[1..t.len() - 1])
        } else {
            None
        }
    }

    /// A non-negative integer written as a JSON number (`"key_size":64`).
    pub fn uint(self) -> Option<u64> {
        crate::cmdline::parse_u64(self.text)
    }

    /// A non-negative integer written as a JSON string (`"offset":"32768"`:
    /// LUKS2 writes 64-bit values as strings, since JSON numbers are doubles).
    pub fn uint_str(self) -> Option<u64> {
        crate::cmdline::parse_u64(self.str()?)
    }
}

/// Iterator over `(key, value)`; stops at the end (the whole text was
/// checked by [`parse`], so it is well formed).
pub struct Members<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Iterator for Members<'a> {
    type Item = (&'a [u8], Value<'a>);
    fn next(&mut self) -> Option<Self::Item> {
        let s = self.s;
        let k0 = ws(s, self.i);
        if s.get(k0) != Some(&b'"') {
            self.i = s.len();
            return None;
        }
        let k1 = skip_string(s, k0).ok()?;
        let v0 = ws(s, ws(s, k1) + 1);
        let v1 = skip_value(s, v0, 1).ok()?;
        self.i = ws(s, v1) + 1;
        Some((&s[k0 + 1..k1 - 1], Value { text: &s[v0..v1] }))
    }
}

/// Iterator over an array's values.
pub struct Elements<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Iterator for Elements<'a> {
    type Item = Value<'a>;
    fn next(&mut self) -> Option<Self::Item> {
        let s = self.s;
        let v0 = ws(s, self.i);
        if v0 >= s.len() || s[v0] == b']' {
            self.i = s.len();
            return None;
        }
        let v1 = skip_value(s, v0, 1).ok()?;
        self.i = ws(s, v1) + 1;
        Some(Value { text: &s[v0..v1] })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn objects_arrays_strings_numbers() {
        let v = parse(br#" {"a": {"b":"32768", "c": [ "0", "1" ]}, "n":64, "t":true, "z":null, "e":{}} "#).unwrap();
        let a = v.get(b"a").unwrap();
        assert_eq!(a.get(b"b").unwrap().uint_str(), Some(32768));
        let c: std::vec::Vec<_> = a.get(b"c").unwrap().elements().map(|e| e.str().unwrap()).collect();
        assert_eq!(c, [b"0", b"1"]);
        assert_eq!(v.get(b"n").unwrap().uint(), Some(64));
        assert_eq!(v.get(b"t").unwrap().text(), b"true");
        assert_eq!(v.get(b"e").unwrap().members().count(), 0);
        assert_eq!(v.get(b"missing"), None);
        assert_eq!(v.get(b"n").unwrap().str(), None);
        assert_eq!(v.members().count(), 5);
    }

    #[test]
    fn syntax_errors_are_named() {
        assert_eq!(parse(b""), Err(JsonError::Syntax(0)));
        assert_eq!(parse(br#"{"a":1"#), Err(JsonError::Syntax(6)));
        assert_eq!(parse(br#"{"a" 1}"#), Err(JsonError::Syntax(5)));
        assert_eq!(parse(br#"{"a":1} x"#), Err(JsonError::Syntax(8)));
        assert_eq!(parse(br#"{"a":"x"#), Err(JsonError::Syntax(5)));
        assert_eq!(parse(b"[1,]"), Err(JsonError::Syntax(3)));
        assert_eq!(parse(b"{1:2}"), Err(JsonError::Syntax(1)));
    }

    #[test]
    fn depth_is_limited() {
        let ok = std::format!("{}{}", "[".repeat(DEPTH_MAX), "]".repeat(DEPTH_MAX));
        assert!(parse(ok.as_bytes()).is_ok());
        let deep = std::format!("{}{}", "[".repeat(DEPTH_MAX + 1), "]".repeat(DEPTH_MAX + 1));
        assert_eq!(parse(deep.as_bytes()), Err(JsonError::TooDeep));
        // Far deeper than the limit: refused without recursing that deep.
        assert_eq!(parse("[".repeat(100_000).as_bytes()), Err(JsonError::TooDeep));
    }

    #[test]
    fn escaped_strings_are_skipped_but_never_match() {
        let v = parse(br#"{"k\"ey":"v\\","key":"plain"}"#).unwrap();
        assert_eq!(v.get(b"key").unwrap().str(), Some(&b"plain"[..]));
        assert_eq!(v.members().next().unwrap().1.str(), None);
    }

    proptest! {
        #[test]
        fn total(b in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(v) = parse(&b) {
                for (_, m) in v.members() {
                    let _ = m.uint_str();
                    for e in m.elements() { let _ = e.str(); }
                }
            }
        }

        #[test]
        fn total_on_json_like_bytes(b in proptest::collection::vec(prop::sample::select(b"{}[]\":,0a\\ -1e".to_vec()), 0..200)) {
            if let Ok(v) = parse(&b) {
                let n = v.members().count() + v.elements().count();
                prop_assert!(n <= b.len());
            }
        }
    }
}
