//! A fast reader for registry files in the plain shape that `ndaguard registry add` writes.
//!
//! A registry of 10,000 entries is a few megabytes of TOML, and a general TOML parser takes tens
//! of milliseconds over it, on every scan. Registries are almost always written by ndaguard: one
//! `key = value` per line, `[[token]]` headers, strings, integers, dates and one-line arrays of
//! strings. This reader accepts exactly that subset, line by line, and gives up (`None`) on
//! anything else: another construct, an escape sequence, a duplicate or unknown key, a value of
//! the wrong type. The caller then parses the file with the `toml` crate, so what TOML means and
//! every error message stay those of the real parser; this reader only ever returns what that
//! parser would have returned. Entries are checked as they are read (any error: the real parser
//! again, for its exact message), so no intermediate table of the whole file is built.

use std::ops::Range;
use std::str::FromStr;

use super::{duplicate_id, RawEntry, Registry};
use crate::lines::LineIndex;

/// A value of the subset.
enum Value {
    Str(String),
    Int(i64),
    Date(toml::value::Datetime),
    Strings(Vec<String>),
}

/// Parses a quoted string at the start of `s` (basic without escapes, or literal): the string
/// and the rest of `s` after the closing quote.
fn quoted(s: &str) -> Option<(String, &str)> {
    let q = s.as_bytes().first().copied()?;
    if q != b'"' && q != b'\'' {
        return None;
    }
    let body = &s[1..];
    let end = memchr::memchr(q, body.as_bytes())?;
    let text = &body[..end];
    // Escapes, control characters and anything a multi-line string could start: the real parser.
    if text.bytes().any(|b| b == b'\\' || (b < 0x20 && b != b'\t') || b == 0x7f) || body[end..].starts_with("\"\"") {
        return None;
    }
    Some((text.to_string(), &body[end + 1..]))
}

/// Whether what follows a value is only whitespace and an optional comment.
fn rest_is_empty(rest: &str) -> bool {
    let rest = rest.trim_start_matches([' ', '\t']);
    rest.is_empty() || (rest.starts_with('#') && !rest.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f))
}

fn value(s: &str) -> Option<Value> {
    match s.as_bytes().first()? {
        b'"' | b'\'' => {
            let (text, rest) = quoted(s)?;
            rest_is_empty(rest).then_some(Value::Str(text))
        }
        b'[' => {
            let mut items = Vec::new();
            let mut rest = s[1..].trim_start_matches([' ', '\t']);
            loop {
                if let Some(after) = rest.strip_prefix(']') {
                    return rest_is_empty(after).then_some(Value::Strings(items));
                }
                let (item, after) = quoted(rest)?;
                items.push(item);
                rest = after.trim_start_matches([' ', '\t']);
                if let Some(after) = rest.strip_prefix(',') {
                    rest = after.trim_start_matches([' ', '\t']);
                } else if !rest.starts_with(']') {
                    return None;
                }
            }
        }
        b'1'..=b'9' | b'0' => {
            let end = s.find([' ', '\t', '#']).unwrap_or(s.len());
            let (word, rest) = s.split_at(end);
            if !rest_is_empty(rest) {
                return None;
            }
            if word.bytes().all(|b| b.is_ascii_digit()) {
                if word.len() > 1 && word.starts_with('0') {
                    return None;
                }
                return word.parse().ok().map(Value::Int);
            }
            // A bare date or date-time (no spaces: `1979-05-27T07:32:00Z` or `1979-05-27`).
            toml::value::Datetime::from_str(word).ok().map(Value::Date)
        }
        _ => None,
    }
}

/// Sets a field once; `None` when it was already set (a TOML error: the real parser says so).
fn set<T>(slot: &mut Option<T>, v: T) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(v);
    Some(())
}

/// An entry being read, with which list fields were given (they default to empty).
struct Building {
    raw: RawEntry,
    start: usize,
    scope_set: bool,
    contacts_set: bool,
}

fn field(b: &mut Building, key: &str, v: Value) -> Option<()> {
    let r = &mut b.raw;
    match (key, v) {
        ("id", Value::Str(s)) => set(&mut r.id, s),
        ("fingerprint", Value::Str(s)) => set(&mut r.fingerprint, s),
        ("length", Value::Int(n)) => set(&mut r.length, n),
        ("alphabet", Value::Str(s)) => set(&mut r.alphabet, s),
        ("nda", Value::Str(s)) => set(&mut r.nda, s),
        ("counterparty", Value::Str(s)) => set(&mut r.counterparty, s),
        ("owner", Value::Str(s)) => set(&mut r.owner, s),
        ("rotate_every", Value::Str(s)) => set(&mut r.rotate_every, s),
        ("report_within", Value::Str(s)) => set(&mut r.report_within, s),
        ("revoke_within", Value::Str(s)) => set(&mut r.revoke_within, s),
        ("status", Value::Str(s)) => set(&mut r.status, s),
        ("issued", v) => set(&mut r.issued, date(v)?),
        ("expires", v) => set(&mut r.expires, date(v)?),
        ("revoked_at", v) => set(&mut r.revoked_at, date(v)?),
        ("scope", Value::Strings(v)) if !b.scope_set => {
            b.scope_set = true;
            r.scope = v;
            Some(())
        }
        ("contacts", Value::Strings(v)) if !b.contacts_set => {
            b.contacts_set = true;
            r.contacts = v;
            Some(())
        }
        _ => None,
    }
}

/// Date fields keep what the file had (a string or a TOML date), as the real parser does.
fn date(v: Value) -> Option<toml::Value> {
    match v {
        Value::Str(s) => Some(toml::Value::String(s)),
        Value::Date(d) => Some(toml::Value::Datetime(d)),
        _ => None,
    }
}

fn empty_entry() -> RawEntry {
    RawEntry {
        id: None,
        fingerprint: None,
        length: None,
        alphabet: None,
        nda: None,
        counterparty: None,
        owner: None,
        scope: Vec::new(),
        issued: None,
        expires: None,
        rotate_every: None,
        report_within: None,
        revoke_within: None,
        contacts: Vec::new(),
        status: None,
        revoked_at: None,
    }
}

/// Registries at least this large are read in parts on several threads.
const PARALLEL_MIN: usize = 256 * 1024;

type Header = (Option<toml::Spanned<i64>>, Option<toml::Spanned<String>>);

/// Reads and checks `text` if it is in the plain subset and valid; `None` otherwise (the caller
/// then parses it with the `toml` crate). A large text is cut at `[[token]]` lines and the parts
/// are read in parallel.
pub(super) fn parse(file: &str, text: &str) -> Option<Registry> {
    use rayon::prelude::*;
    let parts = if text.len() < PARALLEL_MIN { 1 } else { rayon::current_num_threads().clamp(1, 8) * 2 };
    let mut cuts = vec![0usize];
    for k in 1..parts {
        let from = (text.len() * k / parts).max(cuts.last().copied().unwrap_or(0));
        if let Some(i) = memchr::memmem::find(&text.as_bytes()[from..], b"\n[[token]]") {
            cuts.push(from + i + 1);
        }
    }
    cuts.dedup();
    cuts.push(text.len());
    let windows: Vec<(usize, usize)> = cuts.windows(2).map(|w| (w[0], w[1])).collect();
    let read = |&(a, b): &(usize, usize)| {
        let line_base = memchr::memchr_iter(b'\n', &text.as_bytes()[..a]).count();
        parse_part(file, &text[a..b], a, line_base)
    };
    let pieces: Vec<Option<(Header, Vec<super::Entry>)>> =
        if windows.len() > 1 { windows.par_iter().map(read).collect() } else { windows.iter().map(read).collect() };
    let mut header: Header = (None, None);
    let mut entries = Vec::new();
    for (i, piece) in pieces.into_iter().enumerate() {
        let ((version, key), part) = piece?;
        if i > 0 && (version.is_some() || key.is_some()) {
            return None;
        }
        if i == 0 {
            header = (version, key);
        }
        entries.extend(part);
    }
    let (key, key_mode) = Registry::header(file, text, header.0.as_ref(), header.1.as_ref()).ok()?;
    if duplicate_id(&entries).is_some() {
        return None;
    }
    Some(Registry { path: std::path::PathBuf::from(file), key, entries, key_mode })
}

/// Reads one part of a registry that starts at byte `base` (line `line_base + 1`) of the file.
fn parse_part(file: &str, text: &str, base: usize, line_base: usize) -> Option<(Header, Vec<super::Entry>)> {
    let mut header: Header = (None, None);
    let mut entries = Vec::new();
    let mut lines = LineIndex::new(text.as_bytes());
    let mut current: Option<Building> = None;
    let mut finish = |b: Building, entries: &mut Vec<super::Entry>| -> Option<()> {
        let line = lines.locate(b.start).0 + line_base;
        entries.push(Registry::entry(file, line, entries.len(), b.raw).ok()?);
        Some(())
    };
    let mut pos = 0;
    while pos < text.len() {
        let line_start = pos;
        let line_end = memchr::memchr(b'\n', &text.as_bytes()[pos..]).map_or(text.len(), |i| pos + i);
        pos = line_end + 1;
        let line = &text[line_start..line_end];
        let line = line.strip_suffix('\r').unwrap_or(line);
        if memchr::memchr(b'\r', line.as_bytes()).is_some() {
            return None;
        }
        let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
        let body = &line[indent..];
        if body.is_empty() || body.starts_with('#') {
            if !rest_is_empty(body) {
                return None;
            }
            continue;
        }
        if let Some(after) = body.strip_prefix("[[token]]") {
            if !rest_is_empty(after) {
                return None;
            }
            if let Some(b) = current.take() {
                finish(b, &mut entries)?;
            }
            let raw = empty_entry();
            current = Some(Building { raw, start: line_start + indent, scope_set: false, contacts_set: false });
            continue;
        }
        let key_len = body.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-').count();
        if key_len == 0 {
            return None;
        }
        let key = &body[..key_len];
        let after_key = body[key_len..].trim_start_matches([' ', '\t']);
        let v_text = after_key.strip_prefix('=')?.trim_start_matches([' ', '\t']);
        let v_start = line_start + (line.len() - v_text.len());
        let v = value(v_text)?;
        match current.as_mut() {
            Some(b) => field(b, key, v)?,
            None => {
                let span: Range<usize> = base + v_start..base + line_start + line.len();
                match (key, v) {
                    ("version", Value::Int(n)) => set(&mut header.0, toml::Spanned::new(span, n))?,
                    ("key", Value::Str(s)) => set(&mut header.1, toml::Spanned::new(span, s))?,
                    _ => return None,
                }
            }
        }
    }
    if let Some(b) = current.take() {
        finish(b, &mut entries)?;
    }
    Some((header, entries))
}

#[cfg(test)]
mod tests {
    use super::super::Registry;
    use super::*;

    const KEY: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";
    const FP: &str = "hmac-sha256:ad429cfd5fb4ee00b39a7a24363a4ae5f1cd87f7347240096fb44fb78362ce25";

    fn entry(extra: &str) -> String {
        format!(
            "version = 1\nkey = \"{KEY}\"\n\n[[token]]\nid = \"a\"\nfingerprint = \"{FP}\"\nlength = 20\nnda = 'N-1'\ncounterparty = \"C\"  # comment\nowner = \"O\"\nscope = [\"read\", 'write',]\ncontacts = []\nissued = 2026-01-10\nexpires = \"2026-07-10\"\nreport_within = \"24h\"\nrevoke_within = \"4h\"\n{extra}"
        )
    }

    /// The fast reader accepts `text` and gives exactly the registry the `toml` crate gives.
    fn same_as_toml(text: &str) -> bool {
        let Some(fast) = parse("r.toml", text) else { return false };
        let slow = Registry::parse_part("r.toml", text, 0, true).expect("valid registry");
        assert_eq!(fast.key, slow.key);
        assert_eq!(format!("{:?}", fast.entries), format!("{:?}", slow.entries));
        true
    }

    /// False when the fast reader gives up on `text` and the full parser rejects it.
    fn same_as_toml_or_invalid(text: &str) -> bool {
        if parse("r.toml", text).is_some() {
            return same_as_toml(text);
        }
        assert!(Registry::parse_part("r.toml", text, 0, true).is_err());
        false
    }

    #[test]
    fn the_plain_shape_reads_exactly_as_toml_reads_it() {
        assert!(same_as_toml(&entry("")));
        let first = entry("");
        let second =
            first.split_once("[[token]]").map(|(_, e)| e.replace("id = \"a\"", "id = \"b\"")).unwrap_or_default();
        let two = entry(&format!("status = \"revoked\"\nrevoked_at = 2026-02-01T10:00:00Z\n\n[[token]]{second}"));
        assert!(same_as_toml(&two));
        // An entry that fails its checks is left to the full parser, which reports it.
        assert!(!same_as_toml_or_invalid(&entry("\n[[token]]\nid = \"b\"\n")));
        assert!(same_as_toml(&entry("").replace('\n', "\r\n")));
        assert!(!same_as_toml("version = 1\n"), "no key: left to the full parser for its error");
    }

    #[test]
    fn anything_else_is_left_to_the_toml_parser() {
        for extra in [
            "colour = \"red\"\n",               // unknown field
            "id = \"again\"\n",                 // duplicate key
            "length = \"20\"\n",                // wrong type (the serde error names it)
            "x.y = 1\n",                        // dotted key
            "note = \"a\\tb\"\n",               // escape
            "note = \"\"\"multi\nline\"\"\"\n", // multi-line string
            "[other]\n",                        // another table
            "meta = { a = 1 }\n",               // inline table
            "scope = [\"a\",\n\"b\"]\n",        // multi-line array
            "length2 = 0x10\n",                 // other integer forms
        ] {
            assert!(parse("r.toml", &entry(extra)).is_none(), "{extra:?} must go to the real parser");
        }
        assert!(parse("r.toml", &entry("").replace("version = 1", "version = 01")).is_none());
    }

    #[test]
    fn the_fast_path_and_the_toml_path_give_the_same_registry_and_errors() {
        let good = entry("");
        let fast = Registry::parse("r.toml", &good).expect("valid");
        let slow = Registry::parse_part("r.toml", &good, 0, true).expect("valid");
        assert_eq!(format!("{:?}", fast.entries), format!("{:?}", slow.entries));
        // A validation error (a bad duration) reads the same, with the same line.
        let bad = good.replace("\"24h\"", "\"24 hours\"");
        let e1 = Registry::parse("r.toml", &bad).unwrap_err().to_string();
        let e2 = Registry::parse_part("r.toml", &bad, 0, true).unwrap_err().to_string();
        assert_eq!(e1, e2);
        assert!(e1.starts_with("r.toml:4:"), "{e1}");
    }

    #[test]
    fn a_large_registry_read_in_parts_matches_the_toml_parser() {
        let mut text = entry("");
        for i in 0..3000 {
            text.push_str(&format!(
                "\n[[token]]\nid = \"t{i}\"\nfingerprint = \"{FP}\"\nlength = 20\nnda = \"N\"\ncounterparty = \"C\"\nowner = \"O\"\nreport_within = \"1h\"\nrevoke_within = \"2h\"\n"
            ));
        }
        assert!(text.len() >= PARALLEL_MIN);
        assert!(same_as_toml(&text));
        // A header key in a later part is not accepted from the parts.
        let bad = format!("{text}\nversion = 1\n");
        assert!(parse("r.toml", &bad).is_none());
    }
}
