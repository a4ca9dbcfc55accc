//! From bytes to findings: the part of the pipeline that every source shares.
//!
//! A [`Scanner`] is built once per run and shared by all worker threads. Given one blob's bytes
//! and where they came from, it runs the engine, drops what inline comments and the allowlist
//! suppress, and turns the rest into [`Finding`]s with lines, columns, redacted secrets and
//! fingerprints. It does no I/O.

use crate::decode;
use crate::engine::{Engine, Match, Scratch};
use crate::filter::{inline, Allowlist};
use crate::finding::{self, Finding, LineIndex, Provenance, Skipped};
use crate::registry::matcher::{self, Matcher, RegMatch};
use crate::rules::Severity;

/// Rule id of a registered token that no rule matched.
pub const REGISTERED_TOKEN: &str = "registered-token";
const REGISTERED_TOKEN_NAME: &str = "Registered NDA-bound token";

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
    /// Do not decode base64 and percent-encoded text.
    pub no_decode: bool,
}

/// The shared, immutable scanning state.
pub struct Scanner {
    engine: Engine,
    allowlist: Allowlist,
    options: ScanOptions,
    registry: Option<Matcher>,
    /// With a registry whose tokens may hold bytes outside the decoder's base64 runs: the bytes of
    /// either, and the shortest run that either needs. Runs of these are found once per blob and
    /// serve both. (Otherwise the registry is matched in the decoder's runs.)
    shared_runs: Option<(Box<[bool; 256]>, usize)>,
}

/// Per-thread state of a [`Scanner`].
#[derive(Default)]
pub struct ThreadState {
    scratch: Scratch,
    matches: Vec<Match>,
    registered: Vec<RegMatch>,
    runs: Vec<(usize, usize)>,
    wider: Vec<(usize, usize)>,
}

impl Scanner {
    /// A scanner over `engine` with `allowlist`.
    pub fn new(engine: Engine, allowlist: Allowlist, options: ScanOptions) -> Scanner {
        Scanner { engine, allowlist, options, registry: None, shared_runs: None }
    }

    /// Also looks every blob up against the NDA registry.
    pub fn with_registry(mut self, matcher: Matcher) -> Scanner {
        if matcher.is_empty() {
            return self;
        }
        if !matcher.covered_by(&decode::BASE64_BYTE, decode::MIN_BASE64) {
            let (bytes, min) = matcher.token_bytes();
            let mut union = Box::new(decode::BASE64_BYTE);
            for (u, b) in union.iter_mut().zip(bytes) {
                *u |= *b;
            }
            self.shared_runs = Some((union, min.min(decode::MIN_BASE64)));
        }
        self.registry = Some(matcher);
        self
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

    /// Scans one blob: its text, then (bounded) the decoded text of base64 and percent-encoded
    /// runs, whose findings are reported at the encoded run.
    pub fn scan(&self, data: &[u8], origin: Origin<'_>, state: &mut ThreadState) -> BlobResult {
        let mut result = BlobResult::default();
        state.matches.clear();
        self.engine.find(data, Some(origin.path), &mut state.scratch, &mut state.matches);
        let mut lines = LineIndex::new(data);
        if !state.matches.is_empty() {
            state.matches.sort_by_key(|m| (m.start, m.rule));
            let matches = std::mem::take(&mut state.matches);
            for m in &matches {
                let secret = &data[m.start..m.end];
                if self.suppressed(data, m, secret, origin) {
                    result.suppressed += 1;
                    continue;
                }
                let (line, column) = lines.locate(m.start);
                let end = end_position(data, m.end, &mut lines);
                let span = Span { offset: m.start, line, column, end_line: end.0, end_column: end.1 };
                result.findings.push(self.finding(m.rule, secret, origin, span, None));
            }
            state.matches = matches;
        }
        // Runs of base64 bytes, found once for decoding and for the registry: directly when
        // registered tokens lie in such runs, else within runs of a class holding both.
        let mut runs = std::mem::take(&mut state.runs);
        let mut wider = std::mem::take(&mut state.wider);
        runs.clear();
        wider.clear();
        let shared = self.shared_runs.as_ref();
        if let Some((union, min)) = shared {
            matcher::for_runs(data, 0, data.len(), union, *min, |s, e| wider.push((s, e)));
            if !self.options.no_decode {
                decode::base64_runs_in(data, &wider, &mut runs);
            }
        } else if !self.options.no_decode || self.registry.is_some() {
            decode::base64_runs(data, &mut runs);
        }
        if !self.options.no_decode {
            let mut budget = decode::MAX_DECODED_PER_BLOB;
            self.scan_decoded(data, data, Some(&runs), origin, state, &mut lines, &mut result, &mut budget, 1, None);
        }
        if let Some(reg) = &self.registry {
            state.registered.clear();
            match shared {
                Some((union, _)) => reg.find_in(data, union, &wider, &mut state.registered),
                None => reg.find_in(data, &decode::BASE64_BYTE, &runs, &mut state.registered),
            }
            for m in &state.registered {
                self.attach_registered(data, m, origin, &mut lines, &mut result);
            }
        }
        state.wider = wider;
        state.runs = runs;
        result
    }

    /// Scans only `regions` of `data` (whole lines, in order, not overlapping), as if each were
    /// the text of the blob at its place: lines, columns and offsets are those of `data`.
    pub fn scan_regions(
        &self,
        data: &[u8],
        regions: &[std::ops::Range<usize>],
        origin: Origin<'_>,
        state: &mut ThreadState,
    ) -> BlobResult {
        let mut out = BlobResult::default();
        // Newlines are counted up to `counted` (a region start), only when a region has findings.
        let mut counted = 0usize;
        let mut lines_before = 0usize;
        let mut scanned_to = 0usize;
        for r in regions {
            let (start, end) = (r.start.min(data.len()), r.end.min(data.len()));
            if start >= end || start < scanned_to {
                continue;
            }
            scanned_to = start;
            let res = self.scan(&data[start..end], origin, state);
            out.suppressed += res.suppressed;
            if res.findings.is_empty() {
                continue;
            }
            lines_before += memchr::memchr_iter(b'\n', &data[counted..start]).count();
            counted = start;
            for mut f in res.findings {
                f.line += lines_before;
                f.end_line += lines_before;
                f.offset += start;
                out.findings.push(f);
            }
        }
        out
    }

    /// Marks the finding that holds a registered token as a breach, or reports the token under
    /// `registered-token` when no rule matched it. Inline comments and allowlist paths suppress it
    /// like any finding.
    fn attach_registered(
        &self,
        data: &[u8],
        m: &RegMatch,
        origin: Origin<'_>,
        lines: &mut LineIndex<'_>,
        result: &mut BlobResult,
    ) {
        let holder = result
            .findings
            .iter_mut()
            .find(|f| f.encoding.is_none() && f.offset <= m.start && m.end <= f.offset + f.secret_length);
        if let Some(f) = holder {
            f.registry_entry = Some(m.entry);
            if !self.options.show_secrets {
                // A registered token has no public prefix: show none of it, whatever rule matched.
                f.secret = format!("…({})", f.secret_length);
            }
            return;
        }
        let secret = &data[m.start..m.end];
        if (!self.options.no_inline_allow && inline::is_allowed(data, m.start))
            || self.allowlist.suppresses_path(REGISTERED_TOKEN, origin.path)
        {
            result.suppressed += 1;
            return;
        }
        let (line, column) = lines.locate(m.start);
        let end = end_position(data, m.end, lines);
        let span = Span { offset: m.start, line, column, end_line: end.0, end_column: end.1 };
        let mut f =
            self.finding_with(REGISTERED_TOKEN, REGISTERED_TOKEN_NAME, Severity::Critical, secret, origin, span, None);
        f.registry_entry = Some(m.entry);
        if !self.options.show_secrets {
            // A registered token has no public prefix: show none of it.
            f.secret = format!("…({})", secret.len());
        }
        result.findings.push(f);
    }

    /// Whether an inline comment or the allowlist suppresses a match.
    fn suppressed(&self, data: &[u8], m: &Match, secret: &[u8], origin: Origin<'_>) -> bool {
        let rule = &self.engine.rules()[m.rule];
        (!self.options.no_inline_allow && inline::is_allowed(data, m.start))
            || self.allowlist.suppresses(&rule.id, origin.path, secret)
    }

    /// Scans the decoded runs of `text` (the blob itself at depth 1, decoded text deeper).
    /// `outer` is the encoded run of the blob that `text` came from, for depth > 1. `runs` are
    /// the base64 runs of `text` when they are known already.
    #[allow(clippy::too_many_arguments)]
    fn scan_decoded(
        &self,
        blob: &[u8],
        text: &[u8],
        runs: Option<&[(usize, usize)]>,
        origin: Origin<'_>,
        state: &mut ThreadState,
        lines: &mut LineIndex<'_>,
        result: &mut BlobResult,
        budget: &mut usize,
        depth: usize,
        outer: Option<(usize, usize)>,
    ) {
        if depth > decode::MAX_DEPTH || *budget == 0 {
            return;
        }
        let segments = match runs {
            Some(r) => decode::segments_in(text, r, budget),
            None => decode::segments(text, budget),
        };
        for seg in segments {
            let (start, end) = outer.unwrap_or((seg.start, seg.end));
            let mut found = Vec::new();
            self.engine.find(&seg.text, Some(origin.path), &mut state.scratch, &mut found);
            for m in found.iter().filter(|m| m.end > seg.decoded_at) {
                let secret = &seg.text[m.start..m.end];
                let digest = finding::digest(secret);
                let rule_id = &self.engine.rules()[m.rule].id;
                // Already reported where it stands in plain text, or from another encoding.
                if result.findings.iter().any(|f| f.secret_digest == digest && &f.rule_id == rule_id) {
                    continue;
                }
                if self.suppressed(blob, &Match { rule: m.rule, start, end }, secret, origin) {
                    result.suppressed += 1;
                    continue;
                }
                let (line, column) = lines.locate(start);
                let e = end_position(blob, end, lines);
                let span = Span { offset: start, line, column, end_line: e.0, end_column: e.1 };
                result.findings.push(self.finding(m.rule, secret, origin, span, Some(seg.encoding)));
            }
            let decoded = &seg.text[seg.decoded_at..];
            self.scan_decoded(blob, decoded, None, origin, state, lines, result, budget, depth + 1, Some((start, end)));
        }
    }

    fn finding(&self, rule: usize, secret: &[u8], origin: Origin<'_>, span: Span, encoding: Option<&str>) -> Finding {
        let rule = &self.engine.rules()[rule];
        self.finding_with(&rule.id, &rule.name, rule.severity, secret, origin, span, encoding)
    }

    #[allow(clippy::too_many_arguments)]
    fn finding_with(
        &self,
        rule_id: &str,
        rule_name: &str,
        severity: Severity,
        secret: &[u8],
        origin: Origin<'_>,
        span: Span,
        encoding: Option<&str>,
    ) -> Finding {
        Finding {
            rule_id: rule_id.to_string(),
            rule_name: rule_name.to_string(),
            severity,
            path: origin.path.to_string(),
            line: span.line,
            column: span.column,
            end_line: span.end_line,
            end_column: span.end_column,
            secret: if self.options.show_secrets { finding::reveal(secret) } else { finding::redact(secret) },
            secret_length: secret.len(),
            fingerprint: finding::fingerprint(rule_id, origin.path, secret),
            encoding: encoding.map(str::to_string),
            commit: origin.provenance.map(|p| p.commit.clone()),
            author: origin.provenance.map(|p| p.author.clone()),
            email: origin.provenance.map(|p| p.email.clone()),
            date: origin.provenance.map(|p| p.date.clone()),
            commits: None,
            breach: None,
            deadlines: None,
            registry_entry: None,
            exposed_since: None,
            offset: span.offset,
            secret_digest: finding::digest(secret),
            commit_time: origin.provenance.map(|p| p.time),
        }
    }
}

/// Where a finding is in its blob.
#[derive(Debug, Clone, Copy)]
struct Span {
    offset: usize,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
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
