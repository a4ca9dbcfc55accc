//! Entry points for fuzzing: each takes arbitrary bytes and must never panic, loop or blow up
//! memory, whatever the bytes. `fuzz/` wraps them for `cargo fuzz`; the smoke test in
//! `tests/fuzz_smoke.rs` runs them on seeded random and mutated inputs with stable Rust.

use std::sync::OnceLock;

use crate::engine::Engine;
use crate::filter::Allowlist;
use crate::scan::{ScanOptions, ScanState, Scanner};

/// Parses bytes as a rule file, and compiles what loads (bounded by the regex size limit).
pub fn rule_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(rules) = crate::rules::parse_rules("fuzz.toml", text, false) {
        let _ = crate::rules::compile_all(&rules);
    }
}

/// Parses bytes as a `.ndaguard.toml` configuration and builds its allowlist and policy.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(cfg) = crate::config::Config::parse("fuzz.toml", text) {
        let _ = Allowlist::new("fuzz.toml", std::path::Path::new("/"), &cfg.allowlist);
        let _ = crate::breach::Policy::from_config("fuzz.toml", &cfg.policy);
    }
}

/// Parses bytes as a registry and, if it loads, builds its matcher and runs it on the bytes.
pub fn registry(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(reg) = crate::registry::Registry::parse("fuzz.toml", text) {
        let m = crate::registry::matcher::Matcher::new(&reg);
        let mut out = Vec::new();
        m.find(data, &mut out);
    }
}

/// Checks bytes as a loose git object (inflate, header, size), as git sources do before libgit2
/// may read one, and reads them as a commit's raw text, as history scans do for a commit that
/// libgit2 cannot parse.
pub fn git_object(data: &[u8]) {
    let _ = crate::source::git::check_loose_object(&mut &data[..]);
    let _ = crate::source::git::parse_raw_commit(data);
}

fn scanner() -> Option<&'static Scanner> {
    static S: OnceLock<Option<Scanner>> = OnceLock::new();
    S.get_or_init(|| {
        let rules = crate::rules::builtin().ok()?;
        let engine = Engine::new(rules).ok()?;
        Some(Scanner::new(engine, Allowlist::empty(), ScanOptions::default()))
    })
    .as_ref()
}

/// Scans bytes with the built-in rules (decoding included), as a file named by the first byte.
pub fn engine(data: &[u8]) {
    let Some(s) = scanner() else { return };
    let path = match data.first().map(|b| b % 4) {
        Some(0) => ".env",
        Some(1) => "package-lock.json",
        Some(2) => "src/main.rs",
        _ => "notes.txt",
    };
    let mut state = ScanState::default();
    let res = s.scan(data, crate::blob::Origin { path, provenance: None }, &mut state);
    for h in &res.hits {
        let f = &h.finding;
        assert!(f.line >= 1 && f.column >= 1 && f.end_line >= f.line, "bad position {f:?}");
        assert!(h.offset + f.secret_length <= data.len() || f.encoding.is_some(), "span out of bounds {f:?}");
    }
}
