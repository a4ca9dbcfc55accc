//! The scan cache of history scans (`--cache DIR`): which blobs were scanned, under which
//! rules, registry and options (one hash of them all, the scan's identity), and found nothing.
//!
//! A blob is reused only when it is scanned the same way again: the same blob, against the same
//! base version (or whole), as the same path. Blobs in which anything was found are never
//! recorded, so they are scanned again and their findings (and what carries them) come from
//! that scan: the cache holds blob ids, a hash of the path, and counts, never a secret or
//! anything derived from one. Binary blobs are recorded as such.
//!
//! It also remembers, for each finding of the scan, which versions of its path were read to
//! count the commits that carry it (see `carried_counts`) and whether they held it, keyed by a
//! SHA-256 of the finding's fingerprint and of what a blob must hold to carry it: a rescan reads
//! only the versions it has not seen.
//!
//! The file is written whole (temp file and rename) after a complete scan, with a SHA-256 of
//! its content; a file that is truncated, corrupt, of another format version or of another
//! identity is ignored with a note, and replaced after the scan.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use git2::Oid;
use sha2::{Digest, Sha256};

use super::OidMap;
use crate::blob::Scanned;
use crate::finding::SkipReason;
use crate::source::tree;

const MAGIC: &[u8; 20] = b"NDAGUARD-SCAN-CACHE\n";
const FORMAT: u32 = 2;
const CARRIED: usize = 16 + 20 + 1;
const ENTRY: usize = 20 + 20 + 8 + 8 + 8 + 1;
const HEADER: usize = MAGIC.len() + 4 + 32 + 8;

/// How one blob was scanned and what it gave (nothing found).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The base it was scanned against (zero: scanned whole).
    base: Oid,
    /// Hash of the path it was scanned as.
    path: u64,
    bytes: u64,
    suppressed: u64,
    binary: bool,
}

/// The cache of one history scan: what an earlier scan of the same identity recorded.
pub(crate) struct ScanCache {
    file: PathBuf,
    identity: [u8; 32],
    known: OidMap<Entry>,
    /// Whether a version of a finding's path holds the finding, by (finding key, blob).
    carried: std::collections::HashMap<(CarriedKey, Oid), bool>,
    /// Why an existing file was not used.
    pub(crate) note: Option<String>,
    /// Blobs reused in this scan.
    reused: AtomicU64,
}

/// The first eight bytes of the path's SHA-256: stable across runs, builds and machines.
fn path_hash(path: &str) -> u64 {
    let d = Sha256::digest(path.as_bytes());
    u64_at(&d, 0)
}

impl ScanCache {
    /// Opens the cache `name` in `dir` for a scan of `identity`; a missing file is an empty
    /// cache, an unusable one an empty cache with a note.
    pub(crate) fn open(dir: &Path, name: &str, identity: [u8; 32]) -> ScanCache {
        let file = dir.join(name);
        let mut cache = ScanCache {
            file,
            identity,
            known: OidMap::default(),
            carried: Default::default(),
            note: None,
            reused: AtomicU64::new(0),
        };
        let bytes = match std::fs::read(&cache.file) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return cache,
            Err(e) => {
                cache.note = Some(format!("scan cache {}: cannot be read ({e}); ignored", cache.file.display()));
                return cache;
            }
        };
        match parse(&bytes, &identity) {
            Ok((known, carried)) => (cache.known, cache.carried) = (known, carried),
            Err(why) => cache.note = Some(format!("scan cache {}: {why}; ignored", cache.file.display())),
        }
        cache
    }

    /// How many blobs the cache knows.
    pub(crate) fn len(&self) -> usize {
        self.known.len()
    }

    /// How many blobs this scan reused.
    pub(crate) fn reused(&self) -> u64 {
        self.reused.load(Ordering::Relaxed)
    }

    /// What scanning `blob` as `path` against `base` gave last time, if it was recorded.
    pub(crate) fn lookup(&self, blob: Oid, base: Option<Oid>, path: &str) -> Option<Scanned> {
        let e = self.known.get(&blob)?;
        if e.base != base.unwrap_or(Oid::ZERO_SHA1) || e.path != path_hash(path) {
            return None;
        }
        self.reused.fetch_add(1, Ordering::Relaxed);
        if e.binary {
            return Some(Scanned::skipped(SkipReason::Binary, format!("blob {blob}: {}", tree::BINARY_DETAIL)));
        }
        Some(Scanned { hits: Vec::new(), suppressed: e.suppressed, bytes: e.bytes, skipped: None })
    }

    /// The base `blob` was scanned against (zero: whole), if it was recorded.
    pub(super) fn recorded_base(&self, blob: Oid) -> Option<Oid> {
        self.known.get(&blob).map(|e| e.base)
    }

    /// The entry of a blob scanned as `path` against `base`, if its result may be recorded:
    /// nothing found, and either scanned or binary.
    pub(crate) fn entry(base: Option<Oid>, path: &str, s: &Scanned) -> Option<Entry> {
        let binary = match &s.skipped {
            None => false,
            Some((SkipReason::Binary, _)) => true,
            Some(_) => return None,
        };
        s.hits.is_empty().then(|| Entry {
            base: base.unwrap_or(Oid::ZERO_SHA1),
            path: path_hash(path),
            bytes: s.bytes,
            suppressed: s.suppressed,
            binary,
        })
    }

    /// Writes the history summary (see [`summary`](super::summary)) beside this cache, for the
    /// same identity.
    pub(super) fn save_summary(&self, summary: &super::summary::Summary) -> std::io::Result<()> {
        let dir = self.file.parent().unwrap_or(Path::new("."));
        super::summary::save(dir, &self.identity, summary)
    }

    /// Whether `blob` held the finding keyed `key` when an earlier scan looked.
    pub(crate) fn carried(&self, key: &CarriedKey, blob: Oid) -> Option<bool> {
        self.carried.get(&(*key, blob)).copied()
    }

    /// Replaces the file with `entries` and `carried` (those of this scan).
    pub(crate) fn save(&self, entries: &[(Oid, Entry)], carried: &[(CarriedKey, Oid, bool)]) -> std::io::Result<()> {
        let mut out = Vec::with_capacity(HEADER + entries.len() * ENTRY + 8 + carried.len() * CARRIED + 32);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT.to_le_bytes());
        out.extend_from_slice(&self.identity);
        out.extend_from_slice(&(entries.len() as u64).to_le_bytes());
        for (blob, e) in entries {
            out.extend_from_slice(blob.as_bytes());
            out.extend_from_slice(e.base.as_bytes());
            out.extend_from_slice(&e.path.to_le_bytes());
            out.extend_from_slice(&e.bytes.to_le_bytes());
            out.extend_from_slice(&e.suppressed.to_le_bytes());
            out.push(u8::from(e.binary));
        }
        out.extend_from_slice(&(carried.len() as u64).to_le_bytes());
        for (key, blob, holds) in carried {
            out.extend_from_slice(key);
            out.extend_from_slice(blob.as_bytes());
            out.push(u8::from(*holds));
        }
        let sum = Sha256::digest(&out);
        out.extend_from_slice(&sum);
        if let Some(dir) = self.file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        crate::output::write_whole(&self.file, &out)
    }
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

/// The key of one finding's carried results: a SHA-256 (16 bytes of it) of its fingerprint and
/// of what a blob must hold to carry it.
pub(crate) type CarriedKey = [u8; 16];

/// The [`CarriedKey`] of a finding.
pub(crate) fn carried_key(fingerprint: &str, needles: &[Vec<u8>]) -> CarriedKey {
    let mut h = Sha256::new();
    h.update(fingerprint.as_bytes());
    for n in needles {
        h.update((n.len() as u64).to_le_bytes());
        h.update(n);
    }
    let mut k = [0u8; 16];
    k.copy_from_slice(&h.finalize()[..16]);
    k
}

type Parsed = (OidMap<Entry>, std::collections::HashMap<(CarriedKey, Oid), bool>);

/// Reads a cache file written for `identity`, or says why it cannot be used.
fn parse(b: &[u8], identity: &[u8; 32]) -> Result<Parsed, String> {
    if b.len() < HEADER + 32 || &b[..MAGIC.len()] != MAGIC {
        return Err("not a scan cache, or truncated".into());
    }
    let mut v = [0u8; 4];
    v.copy_from_slice(&b[MAGIC.len()..MAGIC.len() + 4]);
    if u32::from_le_bytes(v) != FORMAT {
        return Err("written by another version of ndaguard".into());
    }
    let (body, sum) = b.split_at(b.len() - 32);
    if Sha256::digest(body).as_slice() != sum {
        return Err("corrupt (checksum mismatch)".into());
    }
    if &body[MAGIC.len() + 4..MAGIC.len() + 36] != identity {
        return Err("written for other rules, registry, configuration or options".into());
    }
    let n = u64_at(body, MAGIC.len() + 36) as usize;
    let carried_at = HEADER.saturating_add(n.saturating_mul(ENTRY));
    if body.len() < carried_at.saturating_add(8) {
        return Err("corrupt (wrong length)".into());
    }
    let m = u64_at(body, carried_at) as usize;
    if body.len() != carried_at + 8 + m.saturating_mul(CARRIED) {
        return Err("corrupt (wrong length)".into());
    }
    let oid = |at: usize| Oid::from_bytes(&body[at..at + 20]).map_err(|e| format!("corrupt ({})", e.message()));
    let mut known = OidMap::with_capacity_and_hasher(n, Default::default());
    for i in 0..n {
        let at = HEADER + i * ENTRY;
        let e = Entry {
            base: oid(at + 20)?,
            path: u64_at(body, at + 40),
            bytes: u64_at(body, at + 48),
            suppressed: u64_at(body, at + 56),
            binary: body[at + 64] != 0,
        };
        known.insert(oid(at)?, e);
    }
    let mut carried = std::collections::HashMap::with_capacity(m);
    for i in 0..m {
        let at = carried_at + 8 + i * CARRIED;
        let mut key = [0u8; 16];
        key.copy_from_slice(&body[at..at + 16]);
        carried.insert((key, oid(at + 16)?), body[at + 36] != 0);
    }
    Ok((known, carried))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(n: u8) -> Oid {
        Oid::from_bytes(&[n; 20]).expect("20 bytes")
    }

    #[test]
    fn entries_round_trip_and_a_changed_byte_or_identity_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let clean = Scanned { bytes: 40, suppressed: 1, ..Scanned::default() };
        let e = ScanCache::entry(Some(oid(1)), "a.txt", &clean).expect("recordable");
        let cache = ScanCache::open(dir.path(), "c", [7; 32]);
        assert!(cache.note.is_none() && cache.len() == 0);
        let key = carried_key("v1:abc", &[b"needle".to_vec()]);
        cache.save(&[(oid(2), e)], &[(key, oid(3), true), (key, oid(4), false)]).expect("written");
        let again = ScanCache::open(dir.path(), "c", [7; 32]);
        assert_eq!((again.carried(&key, oid(3)), again.carried(&key, oid(4))), (Some(true), Some(false)));
        assert_eq!(again.carried(&carried_key("v1:abc", &[b"other".to_vec()]), oid(3)), None, "other needles");
        let hit = again.lookup(oid(2), Some(oid(1)), "a.txt").expect("reused");
        assert_eq!((hit.bytes, hit.suppressed), (40, 1));
        assert!(again.lookup(oid(2), None, "a.txt").is_none(), "another base");
        assert!(again.lookup(oid(2), Some(oid(1)), "b.txt").is_none(), "another path");
        let other = ScanCache::open(dir.path(), "c", [8; 32]);
        assert!(other.note.as_deref().is_some_and(|n| n.contains("other rules")) && other.len() == 0);
        let mut bytes = std::fs::read(dir.path().join("c")).expect("file");
        bytes[HEADER + 50] ^= 1;
        std::fs::write(dir.path().join("c"), &bytes).expect("write");
        let bad = ScanCache::open(dir.path(), "c", [7; 32]);
        assert!(bad.note.as_deref().is_some_and(|n| n.contains("corrupt")) && bad.len() == 0);
    }
}
