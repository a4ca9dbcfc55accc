//! Blobs between the sources and the scanner: where a blob came from ([`Origin`]), what
//! scanning it gave ([`Scanned`], a list of [`Hit`]s), and the [`BlobSink`] that sources hand
//! blobs to.
//!
//! Sources read bytes and never match: they call a sink, which the pipeline backs with the
//! scanner. So data flows one way (source → sink → scanner), and a source can be tested with a
//! sink of its own.

use std::io::Read;
use std::ops::Range;

use crate::finding::{Finding, SkipReason, Skipped};

/// Blobs (files, standard input) longer than this are streamed to [`BlobSink::scan_stream`] and
/// never held whole: one chunk of the chunked reader and its overlap.
pub(crate) const STREAM_ABOVE: usize = CHUNK + OVERLAP;
/// The chunked reader's chunk size.
pub(crate) const CHUNK: usize = 8 * 1024 * 1024;
/// The chunked reader's overlap: longer than any match a built-in rule can make in practice (a
/// 16384-bit RSA key in PEM is about 12 KiB).
pub(crate) const OVERLAP: usize = 256 * 1024;

/// Git provenance of a blob: the commit that introduced it at its path.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Provenance {
    /// Full commit id.
    pub(crate) commit: String,
    pub(crate) author: String,
    pub(crate) email: String,
    /// Author date, RFC 3339.
    pub(crate) date: String,
    /// Author time as Unix seconds.
    pub(crate) time: i64,
}

/// Where a blob came from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Origin<'a> {
    /// Path relative to the scan root, as reports show it.
    pub(crate) path: &'a str,
    /// Git provenance, for git sources.
    pub(crate) provenance: Option<&'a Provenance>,
}

/// A finding as the pipeline carries it: the reported [`Finding`] and what the pipeline knows
/// of it but never reports.
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    pub(crate) finding: Finding,
    /// Byte offset of the secret in the scanned blob.
    pub(crate) offset: usize,
    /// SHA-256 of the raw secret: deduplication across blobs and paths, never reported.
    pub(crate) digest: [u8; 32],
    /// Index of the registry entry whose token this is.
    pub(crate) registry_entry: Option<usize>,
    /// Unix time since which the secret has been exposed, when the source knows it (the
    /// introducing commit's time, or a file's modification time).
    pub(crate) exposed_since: Option<i64>,
}

/// What scanning one blob gave.
#[derive(Debug, Default)]
pub(crate) struct Scanned {
    /// Hits, in offset order.
    pub(crate) hits: Vec<Hit>,
    /// Matches suppressed by inline comments or the allowlist.
    pub(crate) suppressed: u64,
    /// Bytes scanned.
    pub(crate) bytes: u64,
    /// Why the blob was not scanned, if it was not.
    pub(crate) skipped: Option<(SkipReason, String)>,
}

impl Scanned {
    pub(crate) fn skipped(reason: SkipReason, detail: String) -> Scanned {
        Scanned { skipped: Some((reason, detail)), ..Scanned::default() }
    }
}

/// What the sources of one scan produced, before sorting.
#[derive(Debug, Default)]
pub(crate) struct Collected {
    pub(crate) hits: Vec<Hit>,
    pub(crate) skipped: Vec<Skipped>,
    /// Files or blobs scanned.
    pub(crate) files_scanned: u64,
    pub(crate) bytes_scanned: u64,
    /// Suppressed matches.
    pub(crate) suppressed: u64,
    /// Notes for the summary (a shallow clone, submodules not followed).
    pub(crate) notes: Vec<String>,
}

impl Collected {
    /// Counts one scanned blob: its bytes, suppressions and hits (a skipped blob as skipped,
    /// under `path`).
    pub(crate) fn add(&mut self, path: &str, scanned: Scanned) {
        if let Some((reason, detail)) = scanned.skipped {
            self.skipped.push(Skipped { path: path.to_string(), reason, detail });
            return;
        }
        self.files_scanned += 1;
        self.bytes_scanned += scanned.bytes;
        self.suppressed += scanned.suppressed;
        self.hits.extend(scanned.hits);
    }

    /// Joins another thread's results into these.
    pub(crate) fn merge(&mut self, other: Collected) {
        self.hits.extend(other.hits);
        self.skipped.extend(other.skipped);
        self.files_scanned += other.files_scanned;
        self.bytes_scanned += other.bytes_scanned;
        self.suppressed += other.suppressed;
        self.notes.extend(other.notes);
    }
}

/// Where sources hand their blobs: one sink per worker thread (it keeps that thread's scratch
/// space). The pipeline backs it with the scanner.
pub(crate) trait BlobSink {
    /// Scans `data` whole, or with `regions` only those byte ranges (whole lines, ascending, as
    /// if each were the text at its place: lines and offsets are those of `data`).
    fn scan(&mut self, data: &[u8], regions: Option<&[Range<usize>]>, origin: Origin<'_>) -> Scanned;

    /// Scans everything `reader` yields in bounded memory; `first` holds bytes already read
    /// from it. An I/O error mid-stream ends the blob as unreadable.
    fn scan_stream(&mut self, reader: &mut dyn Read, first: Vec<u8>, origin: Origin<'_>) -> std::io::Result<Scanned>;

    /// Whether the allowlist excludes `path` from scanning.
    fn excludes(&self, path: &str) -> bool;

    /// Whether a file at `path` is scanned even when it is binary: a rule limited to such paths
    /// without keywords reads the file whole (DBeaver's credentials-config.json is ciphertext).
    fn reads_binary(&self, path: &str) -> bool;

    /// Whether findings of `rule_id` at `path` are suppressed by path alone (for a blob scanned
    /// under another of its paths).
    fn suppresses_path(&self, rule_id: &str, path: &str) -> bool;

    /// What the rules see of `path` (see `Engine::path_class`): paths of one class scan any
    /// text alike.
    fn path_class(&self, path: &str) -> Vec<u32>;
}
