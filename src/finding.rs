//! Findings and the scan summary: the stable, serialized schema of every report.
//!
//! Behaviour contract:
//! - `line` and `column` are 1-based; `column` counts characters (UTF-8 code points) on the line;
//!   `end_column` is the column just past the secret's last character (as SARIF wants).
//! - `secret` is redacted (a short prefix, `…`, and the length) unless `--show-secrets` is given.
//! - `fingerprint` is `v1:` followed by 32 hex digits of HMAC-SHA-256 over the rule id, the path
//!   and the SHA-256 of the secret, under a fixed public key. It does not change when the secret moves to another
//!   line, across runs or machines, and never contains the secret. It does change with the path.
//! - Findings are sorted by path, line, column and rule id before any report is written.

use std::collections::BTreeMap;
use std::path::Path;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::rules::Severity;

/// One leaked secret at one place.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finding {
    /// Rule id (`registered-token` for a registry-only match).
    pub rule_id: String,
    /// The rule's human name.
    pub rule_name: String,
    /// The rule's severity (`critical` for registered tokens).
    pub severity: Severity,
    /// Path relative to the scan root, `/`-separated; invalid UTF-8 bytes escaped as `\xNN`.
    pub path: String,
    /// 1-based line of the secret's first byte.
    pub line: usize,
    /// 1-based column (characters) of the secret's first byte.
    pub column: usize,
    /// 1-based line of the secret's last byte.
    pub end_line: usize,
    /// Column just past the secret's last character.
    pub end_column: usize,
    /// The secret, redacted unless `--show-secrets`.
    pub secret: String,
    /// The secret's length in bytes.
    pub secret_length: usize,
    /// Stable fingerprint (see the module docs).
    pub fingerprint: String,
    /// How the secret was encoded where it was found (`base64`, `percent`), if it was decoded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// Commit that introduced it (git sources).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Author of that commit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// Author email of that commit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Author date of that commit, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// How many commits carried the secret at this path (history scans).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commits: Option<u64>,
    /// Shard reports only (`scan --history --shard`): the first commit's position in the
    /// history's oldest-first order, which `merge` uses to pick the earliest of equal dates.
    /// `merge` removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_order: Option<u64>,
    /// The NDA breach, when the secret is a registered token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breach: Option<crate::breach::Breach>,
    /// Report and revoke deadlines from `[policy]`, for findings that are not breaches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadlines: Option<crate::breach::Deadlines>,
}

impl Finding {
    /// The sort key of reports: path, line, column, rule.
    pub fn sort_key(&self) -> (&str, usize, usize, &str) {
        (&self.path, self.line, self.column, &self.rule_id)
    }
}

/// Sorts findings into report order.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()).then_with(|| a.fingerprint.cmp(&b.fingerprint)));
}

const FINGERPRINT_KEY: &[u8] = b"ndaguard/fingerprint/v1";

/// The stable fingerprint of a secret found by `rule_id` at `path`.
pub fn fingerprint(rule_id: &str, path: &str, secret: &[u8]) -> String {
    fingerprint_of_digest(rule_id, path, &digest(secret))
}

/// The fingerprint from the secret's [`digest`], for sources that report one scanned blob under
/// several paths (git history) without keeping the secret.
pub fn fingerprint_of_digest(rule_id: &str, path: &str, digest: &[u8; 32]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(FINGERPRINT_KEY).expect("HMAC accepts any key length");
    mac.update(rule_id.as_bytes());
    mac.update(&[0]);
    mac.update(path.as_bytes());
    mac.update(&[0]);
    mac.update(digest);
    let out = mac.finalize().into_bytes();
    format!("v1:{}", hex::encode(&out[..16]))
}

/// SHA-256 of a secret.
pub fn digest(secret: &[u8]) -> [u8; 32] {
    Sha256::digest(secret).into()
}

/// The redacted form of a secret: up to 4 leading characters (never more than a quarter of it),
/// an ellipsis, and the length: `ghp_…(40)`.
pub fn redact(secret: &[u8]) -> String {
    let text = String::from_utf8_lossy(secret);
    let chars: Vec<char> = text.chars().collect();
    let keep = (chars.len() / 4).min(4);
    let prefix: String = chars[..keep].iter().collect();
    format!("{}…({})", escape_text(&prefix), secret.len())
}

/// The full secret for `--show-secrets`, with control characters escaped.
pub fn reveal(secret: &[u8]) -> String {
    escape_text(&String::from_utf8_lossy(secret))
}

/// Whether `c` reorders or hides text on a terminal or in a browser without being a control
/// character: the bidirectional marks, embeddings, overrides and isolates (the "Trojan Source"
/// characters), the line and paragraph separators, and the byte order mark.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{FEFF}')
}

/// Escapes control characters (including ESC, so no terminal sequence passes) and bidirectional
/// and other invisible format characters as `\u{..}`.
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        push_escaped(&mut out, c);
    }
    out
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if c.is_control() || is_invisible_format(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        c => out.push(c),
    }
}

/// A path as reports show it: `/`-separated, `./` components dropped (`./x` and `x` are one
/// path, with one fingerprint), invalid UTF-8 bytes as `\xNN`, control and bidirectional
/// characters and the backslash itself escaped (see [`escape_path`]).
pub fn display_path(path: &Path) -> String {
    let path: std::path::PathBuf = if path.components().any(|c| c == std::path::Component::CurDir) {
        let kept: std::path::PathBuf = path.components().filter(|c| *c != std::path::Component::CurDir).collect();
        if kept.as_os_str().is_empty() {
            return ".".into();
        }
        kept
    } else {
        path.to_path_buf()
    };
    #[cfg(unix)]
    let raw: String = {
        use std::os::unix::ffi::OsStrExt;
        escape_path(path.as_os_str().as_bytes())
    };
    #[cfg(not(unix))]
    let raw: String = path.to_string_lossy().replace('\\', "/");
    raw
}

/// Escapes a byte string: valid UTF-8 runs are kept (control characters escaped), other bytes
/// become `\xNN`.
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(&escape_text(chunk.valid()));
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// Escapes a path's bytes like [`escape_bytes`], and the backslash as `\\`, so that the escaped
/// form is unambiguous: [`unescape_path`] gives back the exact bytes (SARIF URIs encode those).
pub fn escape_path(bytes: &[u8]) -> String {
    // Most paths are printable ASCII without a backslash: nothing to escape.
    if bytes.iter().all(|&b| (b' '..=b'~').contains(&b) && b != b'\\') {
        return bytes.iter().map(|&b| b as char).collect();
    }
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else {
                push_escaped(&mut out, c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// The bytes of a path escaped by [`escape_path`]. Text that is not a valid escape is kept as
/// it is.
pub fn unescape_path(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 == b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let rest = &s[i + 1..];
        let (bytes, used): (Vec<u8>, usize) = match b[i + 1] {
            b'\\' => (vec![b'\\'], 1),
            b'n' => (vec![b'\n'], 1),
            b'r' => (vec![b'\r'], 1),
            b't' => (vec![b'\t'], 1),
            b'x' => match rest.get(1..3).and_then(|h| u8::from_str_radix(h, 16).ok()) {
                Some(v) => (vec![v], 3),
                None => (vec![b'\\'], 0),
            },
            b'u' => match rest.strip_prefix("u{").and_then(|r| r.split_once('}')) {
                Some((hex, _)) => match u32::from_str_radix(hex, 16).ok().and_then(char::from_u32) {
                    Some(c) => (c.to_string().into_bytes(), hex.len() + 3),
                    None => (vec![b'\\'], 0),
                },
                None => (vec![b'\\'], 0),
            },
            _ => (vec![b'\\'], 0),
        };
        out.extend_from_slice(&bytes);
        i += 1 + used;
    }
    out
}

/// Why a file or blob was not scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum SkipReason {
    /// Binary content (a NUL byte near the start).
    Binary,
    /// Larger than `--max-file-size`.
    TooLarge,
    /// Could not be read (permissions, vanished, I/O error). Counts as an error.
    Unreadable,
    /// A symbolic link (not followed), or a symlink loop.
    Symlink,
    /// Excluded by an allowlist path.
    Allowlisted,
    /// A git submodule (not followed).
    Submodule,
    /// A git object that could not be read. Counts as an error.
    MissingObject,
    /// Not a regular file (socket, FIFO, device).
    Special,
}

impl SkipReason {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Binary => "binary",
            SkipReason::TooLarge => "too-large",
            SkipReason::Unreadable => "unreadable",
            SkipReason::Symlink => "symlink",
            SkipReason::Allowlisted => "allowlisted",
            SkipReason::Submodule => "submodule",
            SkipReason::MissingObject => "missing-object",
            SkipReason::Special => "special",
        }
    }

    /// Whether this reason means something could not be read (exit code 2).
    pub fn is_error(self) -> bool {
        matches!(self, SkipReason::Unreadable | SkipReason::MissingObject)
    }
}

/// One skipped file or blob.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Skipped {
    /// Path relative to the scan root (or blob id for git objects without a path).
    pub path: String,
    /// Why it was not scanned.
    pub reason: SkipReason,
    /// Details (the I/O error, the size).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// Totals of one scan.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Summary {
    /// Files (or blobs) scanned.
    pub files_scanned: u64,
    /// Files (or blobs) skipped, for any reason.
    pub files_skipped: u64,
    /// Skipped counts by reason.
    pub skipped_by_reason: BTreeMap<String, u64>,
    /// Bytes scanned.
    pub bytes_scanned: u64,
    /// Findings reported.
    pub findings: u64,
    /// Findings that are NDA breaches (registered tokens).
    pub breaches: u64,
    /// Findings suppressed by inline allows, allowlists or the baseline.
    pub suppressed: u64,
    /// Files or objects that could not be read.
    pub errors: u64,
    /// Wall time in milliseconds.
    #[serde(default)]
    pub duration_ms: u64,
    /// Whether the scan was interrupted (Ctrl-C) and is partial.
    pub interrupted: bool,
    /// Notes about the scan (a shallow clone, submodules not followed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_keeps_a_short_prefix_and_the_length() {
        assert_eq!(redact(b"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"), "ghp_…(40)"); // ndaguard:allow (generated test token)
        assert_eq!(redact(b"abcdefgh"), "ab…(8)");
        assert_eq!(redact(b"abc"), "…(3)");
        assert_eq!(redact(b"\x1b[31mredsecretvaluehere"), "\\u{1b}[31…(23)");
    }

    #[test]
    fn fingerprint_depends_on_rule_path_and_secret_only() {
        let a = fingerprint("r", "a.txt", b"s1");
        assert_eq!(a, fingerprint("r", "a.txt", b"s1"));
        assert_ne!(a, fingerprint("r", "b.txt", b"s1"));
        assert_ne!(a, fingerprint("q", "a.txt", b"s1"));
        assert_ne!(a, fingerprint("r", "a.txt", b"s2"));
        assert!(a.starts_with("v1:") && a.len() == 35);
    }

    #[test]
    fn paths_escape_invalid_bytes_and_controls() {
        assert_eq!(escape_bytes(b"a/b\xffc.txt"), "a/b\\xffc.txt");
        assert_eq!(escape_bytes(b"new\nline"), "new\\nline");
        // escape_path: plain ASCII kept as it is; a backslash, DEL, a control or invalid byte
        // escaped, whichever byte of the path holds it.
        assert_eq!(escape_path(b"src/a b~/x.py"), "src/a b~/x.py");
        assert_eq!(escape_path(b"dir\\x"), "dir\\\\x");
        assert_eq!(escape_path(b"a\x7fb"), "a\\u{7f}b");
        assert_eq!(escape_path(b"tab\there"), "tab\\there");
        assert_eq!(escape_path(b"caf\xc3\xa9/\xff"), "caf\u{e9}/\\xff");
    }
}
