//! From bytes to findings: the part of the pipeline that every source shares.
//!
//! A [`Scanner`] is built once per run and shared by all worker threads. Given one blob's bytes
//! and where they came from, it runs the engine, drops what inline comments and the allowlist
//! suppress, and turns the rest into [`Finding`]s with lines, columns, redacted secrets and
//! fingerprints. It does no I/O.

use crate::engine::{Engine, Match, Scratch};
use crate::filter::{inline, Allowlist};
use crate::finding::{self, Finding, LineIndex, Provenance, Skipped};

/// Where a blob came from.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// Path relative to the scan root, as reports show it.
    pub path: &'a str,
    /// Git provenance, for git sources.
    pub provenance: Option<&'a Provenance>,
}

/// What scanning one blob produced.
#[derive(Debug, Default)]
pub struct BlobResult {
    /// Findings, in offset order.
    pub findings: Vec<Finding>,
    /// Matches suppressed by inline comments or the allowlist.
    pub suppressed: u64,
}

/// What the sources produced, before sorting.
#[derive(Default)]
pub struct Collected {
    /// Findings.
    pub findings: Vec<Finding>,
    /// Skipped entries.
    pub skipped: Vec<Skipped>,
    /// Files or blobs scanned.
    pub files_scanned: u64,
    /// Bytes scanned.
    pub bytes_scanned: u64,
    /// Suppressed matches.
    pub suppressed: u64,
    /// Notes for the summary.
    pub notes: Vec<String>,
}

/// Options of a [`Scanner`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ScanOptions {
    /// Report secrets in full.
    pub show_secrets: bool,
    /// Ignore inline `ndaguard:allow` comments.
    pub no_inline_allow: bool,
}

/// The shared, immutable scanning state.
pub struct Scanner {
    engine: Engine,
    allowlist: Allowlist,
    options: ScanOptions,
}

/// Per-thread state of a [`Scanner`].
#[derive(Default)]
pub struct ThreadState {
    scratch: Scratch,
    matches: Vec<Match>,
}

impl Scanner {
    /// A scanner over `engine` with `allowlist`.
    pub fn new(engine: Engine, allowlist: Allowlist, options: ScanOptions) -> Scanner {
        Scanner { engine, allowlist, options }
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The allowlist.
    pub fn allowlist(&self) -> &Allowlist {
        &self.allowlist
    }

    /// The options.
    pub fn options(&self) -> ScanOptions {
        self.options
    }

    /// Scans one blob.
    pub fn scan(&self, data: &[u8], origin: Origin<'_>, state: &mut ThreadState) -> BlobResult {
        let mut result = BlobResult::default();
        state.matches.clear();
        self.engine.find(data, Some(origin.path), &mut state.scratch, &mut state.matches);
        if state.matches.is_empty() {
            return result;
        }
        state.matches.sort_by_key(|m| (m.start, m.rule));
        let mut lines = LineIndex::new(data);
        for m in &state.matches {
            let rule = &self.engine.rules()[m.rule];
            let secret = &data[m.start..m.end];
            if !self.options.no_inline_allow && inline::is_allowed(data, m.start) {
                result.suppressed += 1;
                continue;
            }
            if self.allowlist.suppresses(&rule.id, origin.path, secret) {
                result.suppressed += 1;
                continue;
            }
            let (line, column) = lines.locate(m.start);
            let (end_line, end_column) = end_position(data, m.end, &mut lines);
            result.findings.push(Finding {
                rule_id: rule.id.clone(),
                rule_name: rule.name.clone(),
                severity: rule.severity,
                path: origin.path.to_string(),
                line,
                column,
                end_line,
                end_column,
                secret: if self.options.show_secrets { finding::reveal(secret) } else { finding::redact(secret) },
                secret_length: secret.len(),
                fingerprint: finding::fingerprint(&rule.id, origin.path, secret),
                encoding: None,
                commit: origin.provenance.map(|p| p.commit.clone()),
                author: origin.provenance.map(|p| p.author.clone()),
                email: origin.provenance.map(|p| p.email.clone()),
                date: origin.provenance.map(|p| p.date.clone()),
                commits: None,
                offset: m.start,
                secret_digest: finding::digest(secret),
                commit_time: origin.provenance.map(|p| p.time),
            });
        }
        result
    }
}

/// The (line, column) just past the secret: the line of its last byte and the column after its
/// last character.
fn end_position(data: &[u8], end: usize, lines: &mut LineIndex<'_>) -> (usize, usize) {
    if end == 0 {
        return (1, 1);
    }
    let (line, col) = lines.locate(end - 1);
    // The last character may be multi-byte: the column of `end` on the same line is exact.
    if data.get(end - 1) == Some(&b'\n') {
        return (line, col + 1);
    }
    let (l2, c2) = lines.locate(end);
    if l2 == line {
        (line, c2)
    } else {
        (line, col + 1)
    }
}
