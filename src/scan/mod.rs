//! From bytes to findings: the part of the pipeline that every source shares.
//!
//! A [`Scanner`] is built once per run and shared by all worker threads. Given one blob's bytes
//! and where they came from, it runs the engine, drops what inline comments and the allowlist
//! suppress, looks the blob up in the NDA registry, and turns the rest into findings with lines,
//! columns, redacted secrets and fingerprints. It does no I/O. [`ScanSink`] is a scanner as one
//! thread's [`BlobSink`], the form in which sources see it; [`chunked`] scans streams in bounded
//! memory; [`decode`] finds encoded text; [`check`] runs the rules' own examples.

pub(crate) mod check;
pub(crate) mod chunked;
pub(crate) mod decode;

use std::io::Read;
use std::ops::Range;

use crate::blob::{BlobSink, Hit, Origin, Scanned};
use crate::cancel::Cancel;
use crate::engine::{Engine, Match, Scratch};
use crate::filter::{inline, Allowlist};
use crate::finding::{self, Finding};
use crate::lines::LineIndex;
use crate::registry::matcher::{self, Matcher, RegMatch};
use crate::rules::Severity;

/// Rule id of a registered token that no rule matched.
pub(crate) const REGISTERED_TOKEN: &str = "registered-token";
/// Name of the `registered-token` pseudo-rule.
pub(crate) const REGISTERED_TOKEN_NAME: &str = "Registered NDA-bound token";

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

/// Per-thread scratch space of a [`Scanner`]: one per worker thread, reused across blobs.
#[derive(Default)]
pub struct ScanState {
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
    pub(crate) fn with_registry(mut self, matcher: Matcher) -> Scanner {
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

    /// The engine, with the rules in engine order.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Whether `data` holds the token of registry entry `entry`, in plain text or encoded, as a
    /// scan finds it (the same decoding and bounds). For dating a breach from git history.
    pub(crate) fn holds_registered(&self, data: &[u8], entry: usize) -> bool {
        let Some(reg) = &self.registry else { return false };
        let mut found = Vec::new();
        let mut holds = |text: &[u8]| {
            found.clear();
            reg.find(text, &mut found);
            found.iter().any(|m| m.entry == entry)
        };
        if holds(data) {
            return true;
        }
        if self.options.no_decode {
            return false;
        }
        let mut budget = decode::MAX_DECODED_PER_BLOB;
        let mut level: Vec<Vec<u8>> = decode::segments(data, &mut budget).into_iter().map(decoded).collect();
        for depth in 1..=decode::MAX_DEPTH {
            if level.iter().any(|text| holds(text)) {
                return true;
            }
            if depth == decode::MAX_DEPTH {
                break;
            }
            let next = level.iter().flat_map(|text| decode::segments(text, &mut budget)).map(decoded).collect();
            level = next;
        }
        false
    }

    /// Scans one blob's bytes as the file at `path` and returns its findings, in offset order.
    pub fn find(&self, data: &[u8], path: &str, state: &mut ScanState) -> Vec<Finding> {
        self.scan(data, Origin { path, provenance: None }, state).hits.into_iter().map(|h| h.finding).collect()
    }

    /// Scans one blob: its text, then (bounded) the decoded text of base64 and percent-encoded
    /// runs, whose findings are reported at the encoded run.
    pub(crate) fn scan(&self, data: &[u8], origin: Origin<'_>, state: &mut ScanState) -> Scanned {
        let mut result = Scanned { bytes: data.len() as u64, ..Scanned::default() };
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
                result.hits.push(self.hit(m.rule, secret, origin, span, None));
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
    pub(crate) fn scan_regions(
        &self,
        data: &[u8],
        regions: &[Range<usize>],
        origin: Origin<'_>,
        state: &mut ScanState,
    ) -> Scanned {
        let mut out = Scanned { bytes: data.len() as u64, ..Scanned::default() };
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
            if res.hits.is_empty() {
                continue;
            }
            lines_before += memchr::memchr_iter(b'\n', &data[counted..start]).count();
            counted = start;
            for mut h in res.hits {
                h.finding.line += lines_before;
                h.finding.end_line += lines_before;
                h.offset += start;
                out.hits.push(h);
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
        result: &mut Scanned,
    ) {
        let holder = result.hits.iter_mut().find(|h| {
            h.finding.encoding.is_none() && h.offset <= m.start && m.end <= h.offset + h.finding.secret_length
        });
        if let Some(h) = holder {
            self.mark_registered(h, m.entry);
            return;
        }
        let secret = &data[m.start..m.end];
        if (!self.options.no_inline_allow && inline::is_allowed(data, m.start))
            || self.allowlist.suppresses_path(REGISTERED_TOKEN, origin.path)
        {
            result.suppressed += 1;
            return;
        }
        // A rule that matched only part of the token (a generic rule's value stops at `&`) gives
        // way: one secret at one place is one finding, and the registry knows this one exactly.
        result.hits.retain(|h| {
            h.finding.encoding.is_some() || h.offset >= m.end || h.offset + h.finding.secret_length <= m.start
        });
        let (line, column) = lines.locate(m.start);
        let end = end_position(data, m.end, lines);
        let span = Span { offset: m.start, line, column, end_line: end.0, end_column: end.1 };
        let mut h =
            self.hit_with(REGISTERED_TOKEN, REGISTERED_TOKEN_NAME, Severity::Critical, secret, origin, span, None);
        h.registry_entry = Some(m.entry);
        if !self.options.show_secrets {
            // A registered token has no public prefix: show none of it.
            h.finding.secret = format!("…({})", secret.len());
        }
        result.hits.push(h);
    }

    /// Makes `h` the breach of registry entry `entry`. A registered token has no public prefix:
    /// the finding shows none of it (nor of its encoding), whatever rule matched.
    fn mark_registered(&self, h: &mut Hit, entry: usize) {
        h.registry_entry = Some(entry);
        if !self.options.show_secrets {
            h.finding.secret = format!("…({})", h.finding.secret_length);
        }
    }

    /// Registered tokens in a decoded segment that no rule's match in it holds (`left`), checked
    /// as in plain text: a plain finding that holds the encoded run `start..end` becomes the
    /// breach; else the token is reported under `registered-token` at the encoded run.
    #[allow(clippy::too_many_arguments)]
    fn attach_decoded(
        &self,
        blob: &[u8],
        left: &[(RegMatch, &[u8])],
        (start, end): (usize, usize),
        encoding: &str,
        origin: Origin<'_>,
        lines: &mut LineIndex<'_>,
        result: &mut Scanned,
    ) {
        for (m, token) in left {
            let holder = result.hits.iter_mut().find(|h| {
                h.finding.encoding.is_none() && h.offset <= start && end <= h.offset + h.finding.secret_length
            });
            if let Some(h) = holder {
                self.mark_registered(h, m.entry);
                continue;
            }
            let seen = |h: &Hit| h.offset == start && h.registry_entry == Some(m.entry) && h.finding.encoding.is_some();
            if result.hits.iter().any(seen) {
                continue;
            }
            if (!self.options.no_inline_allow && inline::is_allowed(blob, start))
                || self.allowlist.suppresses_path(REGISTERED_TOKEN, origin.path)
            {
                result.suppressed += 1;
                continue;
            }
            let (line, column) = lines.locate(start);
            let e = end_position(blob, end, lines);
            let span = Span { offset: start, line, column, end_line: e.0, end_column: e.1 };
            let (id, name) = (REGISTERED_TOKEN, REGISTERED_TOKEN_NAME);
            let mut h = self.hit_with(id, name, Severity::Critical, token, origin, span, Some(encoding));
            self.mark_registered(&mut h, m.entry);
            result.hits.push(h);
        }
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
        state: &mut ScanState,
        lines: &mut LineIndex<'_>,
        result: &mut Scanned,
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
            // Registered tokens in the decoded bytes, as in plain text (positions in `seg.text`).
            let mut registered: Vec<(RegMatch, &[u8])> = Vec::new();
            if let Some(reg) = &self.registry {
                let mut found = Vec::new();
                reg.find(&seg.text[seg.decoded_at..], &mut found);
                for m in found {
                    let m = RegMatch { start: m.start + seg.decoded_at, end: m.end + seg.decoded_at, entry: m.entry };
                    registered.push((m, &seg.text[m.start..m.end]));
                }
            }
            // Only secrets inside the decoded bytes (the line's text before them is context for
            // a key), and none from a run that lies inside a secret already reported in plain
            // text (the header and payload of a JWT): one secret at one place is one finding.
            let inside_plain = |h: &Hit| {
                h.finding.encoding.is_none() && h.offset <= start && end <= h.offset + h.finding.secret_length
            };
            if result.hits.iter().any(inside_plain) {
                self.attach_decoded(blob, &registered, (start, end), seg.encoding, origin, lines, result);
                continue;
            }
            let mut found = Vec::new();
            self.engine.find(&seg.text, Some(origin.path), &mut state.scratch, &mut found);
            for m in found.iter().filter(|m| m.start >= seg.decoded_at) {
                // A match that holds a registered token is its breach; one that holds only part
                // of it gives way to the registered-token finding, as in plain text.
                let holds = registered.iter().position(|(r, _)| m.start <= r.start && r.end <= m.end);
                if holds.is_none() && registered.iter().any(|(r, _)| m.start < r.end && r.start < m.end) {
                    continue;
                }
                let secret = &seg.text[m.start..m.end];
                let digest = finding::digest(secret);
                let rule_id = &self.engine.rules()[m.rule].id;
                // Already reported where it stands in plain text, or from another encoding.
                if result.hits.iter().any(|h| h.digest == digest && &h.finding.rule_id == rule_id) {
                    holds.map(|i| registered.remove(i));
                    continue;
                }
                if self.suppressed(blob, &Match { rule: m.rule, start, end }, secret, origin) {
                    result.suppressed += 1;
                    continue;
                }
                let entry = holds.map(|i| registered.remove(i).0.entry);
                let (line, column) = lines.locate(start);
                let e = end_position(blob, end, lines);
                let span = Span { offset: start, line, column, end_line: e.0, end_column: e.1 };
                let mut h = self.hit(m.rule, secret, origin, span, Some(seg.encoding));
                if let Some(entry) = entry {
                    self.mark_registered(&mut h, entry);
                }
                result.hits.push(h);
            }
            self.attach_decoded(blob, &registered, (start, end), seg.encoding, origin, lines, result);
            let decoded = &seg.text[seg.decoded_at..];
            self.scan_decoded(blob, decoded, None, origin, state, lines, result, budget, depth + 1, Some((start, end)));
        }
    }

    fn hit(&self, rule: usize, secret: &[u8], origin: Origin<'_>, span: Span, encoding: Option<&str>) -> Hit {
        let rule = &self.engine.rules()[rule];
        self.hit_with(&rule.id, &rule.name, rule.severity, secret, origin, span, encoding)
    }

    #[allow(clippy::too_many_arguments)]
    fn hit_with(
        &self,
        rule_id: &str,
        rule_name: &str,
        severity: Severity,
        secret: &[u8],
        origin: Origin<'_>,
        span: Span,
        encoding: Option<&str>,
    ) -> Hit {
        let p = origin.provenance;
        let finding = Finding {
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
            commit: p.map(|p| p.commit.clone()),
            author: p.map(|p| p.author.clone()),
            email: p.map(|p| p.email.clone()),
            date: p.map(|p| p.date.clone()),
            commits: None,
            commit_order: None,
            breach: None,
            deadlines: None,
        };
        Hit {
            finding,
            offset: span.offset,
            digest: finding::digest(secret),
            registry_entry: None,
            exposed_since: p.map(|p| p.time),
        }
    }
}

/// A [`Scanner`] as one worker thread's [`BlobSink`]: the scanner and that thread's scratch.
pub(crate) struct ScanSink<'s> {
    scanner: &'s Scanner,
    state: ScanState,
    /// Ends a stream early.
    cancel: Cancel,
}

impl<'s> ScanSink<'s> {
    pub(crate) fn new(scanner: &'s Scanner, cancel: &Cancel) -> ScanSink<'s> {
        ScanSink { scanner, state: ScanState::default(), cancel: cancel.clone() }
    }
}

impl BlobSink for ScanSink<'_> {
    fn scan(&mut self, data: &[u8], regions: Option<&[Range<usize>]>, origin: Origin<'_>) -> Scanned {
        match regions {
            Some(r) => self.scanner.scan_regions(data, r, origin, &mut self.state),
            None => self.scanner.scan(data, origin, &mut self.state),
        }
    }

    fn scan_stream(&mut self, reader: &mut dyn Read, first: Vec<u8>, origin: Origin<'_>) -> std::io::Result<Scanned> {
        let (chunk, overlap) = (chunked::CHUNK, chunked::OVERLAP);
        chunked::scan_reader(self.scanner, reader, first, origin, &mut self.state, &self.cancel, chunk, overlap)
    }

    fn excludes(&self, path: &str) -> bool {
        self.scanner.allowlist.excludes_path(path, false)
    }

    fn suppresses_path(&self, rule_id: &str, path: &str) -> bool {
        self.scanner.allowlist.suppresses_path(rule_id, path)
    }

    fn reads_binary(&self, path: &str) -> bool {
        self.scanner.engine.reads_whole_file(path)
    }

    fn path_class(&self, path: &str) -> Vec<u32> {
        self.scanner.engine.path_class(path)
    }
}

/// The decoded bytes of a segment, without the line's text before them.
fn decoded(mut seg: decode::Segment) -> Vec<u8> {
    seg.text.drain(..seg.decoded_at);
    seg.text
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
