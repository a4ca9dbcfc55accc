//! The blob index of a history: where each unique blob is used (paths and introducing commits),
//! which version it replaced, how versions chain, and reading and scanning one blob.
//!
//! A blob that replaced exactly one other blob at the same path is scanned only for the lines
//! that its base lacks (see [`linediff`]); versions of one path are grouped into chains so that
//! a base is usually the text read just before.

use git2::{Oid, Repository};

use super::linediff;
use super::{read_error, Infos, OidMap, OidSet};
use crate::blob::{BlobSink, Hit, Origin, Provenance, Scanned, STREAM_ABOVE};
use crate::cancel::stall_point;
use crate::finding::{self, SkipReason};
use crate::source::tree;

/// A blob's text: the blob itself (no copy), or its UTF-16 content transcoded.
pub(super) enum Text<'r> {
    Blob(git2::Blob<'r>),
    Owned(Vec<u8>),
}

impl Text<'_> {
    pub(super) fn bytes(&self) -> &[u8] {
        match self {
            Text::Blob(b) => b.content(),
            Text::Owned(v) => v,
        }
    }
}

/// A blob's text, or why it has none.
pub(super) enum BlobText<'r> {
    Text(Text<'r>),
    /// Over one chunk: scanned in chunks, never held whole (unless it was read whole already,
    /// see [`read_text_sized`]).
    Large(Option<git2::Blob<'r>>),
    Skip(SkipReason, String),
}

/// Reads a blob as text (UTF-16 transcoded). Large blobs are refused from the object header,
/// before they are inflated.
pub(super) fn read_text(repo: &Repository, oid: Oid, max: u64) -> BlobText<'_> {
    read_text_sized(repo, oid, max, false)
}

/// A version whose base is at most this long is read whole at once (see [`read_text_sized`]).
const SMALL_BASE: usize = 1 << 20;

/// [`read_text`]; with `likely_small`, the blob is read whole before its size is known (one
/// longer than [`STREAM_ABOVE`] is then scanned in chunks of what was read). For a deltified
/// object in a pack, reading the header first walks its delta chain to the base: a sixth of the
/// CPU time of the rails history scan's blob phase went there. [`scan_blob`] sets it for a new
/// version of a file whose base was small, which is almost never large; the header still
/// guards every other read (a packed blob is inflated whole to be scanned in any case, but one
/// over the size limit is not).
fn read_text_sized(repo: &Repository, oid: Oid, max: u64, likely_small: bool) -> BlobText<'_> {
    if likely_small {
        if let Ok(blob) = repo.find_blob(oid) {
            if blob.size() <= STREAM_ABOVE || blob.size() as u64 > max {
                return text_of(oid, blob, max);
            }
            return BlobText::Large(Some(blob));
        }
    }
    if let Ok(odb) = repo.odb() {
        if let Ok((size, _)) = odb.read_header(oid) {
            if size as u64 > max {
                return BlobText::Skip(SkipReason::TooLarge, format!("blob {oid}: {size} bytes > limit of {max}"));
            }
            if size > STREAM_ABOVE {
                return BlobText::Large(None);
            }
        }
    }
    stall_point("blob");
    let blob = match repo.find_blob(oid).or_else(|e| stand_in(repo, oid).ok_or(e)) {
        Ok(b) => b,
        Err(e) => {
            return BlobText::Skip(SkipReason::MissingObject, format!("blob {oid}: {}", read_error(repo, oid, &e)))
        }
    };
    text_of(oid, blob, max)
}

/// The text of `blob` (`oid`), or why it is skipped: longer than `max`, or binary.
fn text_of(oid: Oid, blob: git2::Blob<'_>, max: u64) -> BlobText<'_> {
    if blob.size() as u64 > max {
        return BlobText::Skip(SkipReason::TooLarge, format!("blob {oid}: {} bytes > limit of {max}", blob.size()));
    }
    match tree::kind_of(blob.content()) {
        tree::Kind::Utf16(text) => BlobText::Text(Text::Owned(text)),
        tree::Kind::Binary => BlobText::Skip(SkipReason::Binary, format!("blob {oid}: {}", tree::BINARY_DETAIL)),
        tree::Kind::Plain => BlobText::Text(Text::Blob(blob)),
    }
}

/// For a blob missing from the object store, the blob that `refs/replace/<id>` puts in its place
/// (as git shows it: a partial copy of a repository marks the blobs it lacks so). A blob that is
/// present is always read itself, so a replace ref cannot hide what a blob holds.
fn stand_in(repo: &Repository, oid: Oid) -> Option<git2::Blob<'_>> {
    let id = repo.refname_to_id(&format!("refs/replace/{oid}")).ok()?;
    repo.find_blob(id).ok()
}

/// What a blob must hold to carry a finding: the secret itself, or for a secret found decoded,
/// the bytes around its encoded text on its line (at most a few hundred either side).
pub(super) fn needle(data: &[u8], h: &Hit) -> Vec<u8> {
    let f = &h.finding;
    let at = h.offset.min(data.len());
    if f.encoding.is_none() {
        if let Some(raw) = data.get(at..at + f.secret_length) {
            return raw.to_vec();
        }
    }
    let line_start = crate::lines::line_start(data, at);
    let line_end = memchr::memchr(b'\n', &data[at..]).map_or(data.len(), |i| at + i);
    let from = at.saturating_sub(256).max(line_start);
    let to = at.saturating_add(2 * f.secret_length + 256).min(line_end).max(from);
    data[from..to].to_vec()
}

/// What scanning one blob gave, and for each hit what a blob must hold to carry it (see
/// [`needle`]).
pub(super) struct BlobScan {
    pub(super) scanned: Scanned,
    pub(super) needles: Vec<Vec<u8>>,
}

/// Reads and scans one blob as `path`. With `base` (the text of the version this blob replaced
/// at the same path, whose every line was covered by earlier scans), only the lines that `base`
/// lacks are scanned, with context (see [`linediff`]). Returns the text, for use as the next
/// version's base.
pub(super) fn scan_blob<'r>(
    repo: &'r Repository,
    sink: &mut dyn BlobSink,
    oid: Oid,
    origin: Origin<'_>,
    max: u64,
    base: Option<&[u8]>,
) -> (BlobScan, Option<Text<'r>>) {
    let text = match read_text_sized(repo, oid, max, base.is_some_and(|b| b.len() <= SMALL_BASE)) {
        BlobText::Skip(reason, detail) => {
            return (BlobScan { scanned: Scanned::skipped(reason, detail), needles: Vec::new() }, None)
        }
        BlobText::Large(read) => {
            let scanned = scan_large_blob(repo, sink, oid, origin, read).unwrap_or_else(|| {
                Scanned::skipped(SkipReason::MissingObject, format!("blob {oid}: cannot be read in chunks"))
            });
            return (BlobScan { scanned, needles: Vec::new() }, None);
        }
        BlobText::Text(text) => text,
    };
    let data = text.bytes();
    stall_point("scan");
    let scanned = match base {
        Some(b) => sink.scan(data, Some(&linediff::changed_regions(b, data)), origin),
        None => sink.scan(data, None, origin),
    };
    let needles = scanned.hits.iter().map(|h| needle(data, h)).collect();
    (BlobScan { scanned, needles }, Some(text))
}

/// Scans a blob that [`read_text`] found larger than one chunk, in chunks: streamed from a loose
/// object, or from the inflated blob (packed objects cannot be streamed; `read` when it was read
/// whole already) without copying it. `None` when the object cannot be read.
fn scan_large_blob(
    repo: &Repository,
    sink: &mut dyn BlobSink,
    oid: Oid,
    origin: Origin<'_>,
    read: Option<git2::Blob<'_>>,
) -> Option<Scanned> {
    let odb = repo.odb().ok()?;
    let finish = |res: std::io::Result<Scanned>| {
        res.unwrap_or_else(|e| Scanned::skipped(SkipReason::MissingObject, format!("blob {oid}: read failed: {e}")))
    };
    let binary = || Scanned::skipped(SkipReason::Binary, format!("blob {oid}: {}", tree::BINARY_DETAIL));
    let stream = if read.is_none() { odb.reader(oid).ok() } else { None };
    if let Some((mut reader, _, _)) = stream {
        let mut probe = vec![0u8; tree::PROBE];
        let n = std::io::Read::read(&mut reader, &mut probe).unwrap_or(0);
        probe.truncate(n);
        if tree::is_binary(&probe) {
            return Some(binary());
        }
        return Some(finish(sink.scan_stream(&mut reader, probe, origin)));
    }
    let blob = match read {
        Some(b) => b,
        None => repo.find_blob(oid).ok()?,
    };
    let mut content = blob.content();
    if tree::is_binary(content) {
        return Some(binary());
    }
    Some(finish(sink.scan_stream(&mut content, Vec::new(), origin)))
}

/// A hit re-labelled for another path and commit of the same blob.
pub(super) fn relabel(h: &Hit, path: &str, p: Option<&Provenance>) -> Hit {
    let mut h = h.clone();
    let g = &mut h.finding;
    if g.path != path {
        g.fingerprint = finding::fingerprint_of_digest(&g.rule_id, path, &h.digest);
        g.path = path.to_string();
    }
    g.commit = p.map(|p| p.commit.clone());
    g.author = p.map(|p| p.author.clone());
    g.email = p.map(|p| p.email.clone());
    g.date = p.map(|p| p.date.clone());
    h.exposed_since = p.map(|p| p.time);
    h
}

/// One use of a blob: its path (interned, see [`Paths`](super::walklog::Paths)) and the
/// earliest commit that introduced it there (its position, see [`Infos`]).
pub(super) type Use = (u32, u32);

/// Where each blob is used, the earliest commit per path.
pub(super) type BlobUses = OidMap<Vec<Use>>;

pub(super) fn record_use(uses: &mut BlobUses, infos: &Infos, blob: Oid, path: u32, commit: u32) {
    let list = uses.entry(blob).or_default();
    match list.iter_mut().find(|(p, _)| *p == path) {
        Some(entry) => {
            let better = match (infos.key(commit), infos.key(entry.1)) {
                (Some(new), Some(old)) => new < old,
                _ => false,
            };
            if better {
                entry.1 = commit;
            }
        }
        None => list.push((path, commit)),
    }
}

/// What a blob's changes say about the version it replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Base {
    /// Every change that introduced the blob modified this one blob at the same path.
    One(Oid),
    /// Some change added it, renamed or copied it, or replaced different blobs: scan it whole.
    Whole,
}

pub(super) fn record_base(bases: &mut OidMap<Base>, blob: Oid, old: Option<Oid>) {
    let seen = bases.get(&blob).copied();
    let next = match (seen, old) {
        (_, None) => Base::Whole,
        (None, Some(o)) if o != blob => Base::One(o),
        (Some(Base::One(a)), Some(o)) if a == o => Base::One(a),
        _ => Base::Whole,
    };
    bases.insert(blob, next);
}

/// The base of each blob that is scanned for its new lines only. A base must itself be scanned
/// in this run (not allowlisted away), so that its lines were covered; the links cannot form a
/// cycle (a base appears in history before every version built on it), and any that did would be
/// broken by [`version_chains`].
pub(super) fn base_links(blobs: &[(Oid, Vec<Use>)], bases: &OidMap<Base>) -> OidMap<Oid> {
    let scanned: OidSet = blobs.iter().map(|(b, _)| *b).collect();
    blobs
        .iter()
        .filter_map(|(b, _)| match bases.get(b) {
            Some(Base::One(a)) if scanned.contains(a) => Some((*b, *a)),
            _ => None,
        })
        .collect()
}

/// Groups blob indices into tasks: each task is a tree of versions (a blob, then the versions
/// built on it, depth first), so that a version's base is usually the text read just before it.
/// Links that do not lead back to a root (impossible in a well-formed history) are dropped: those
/// blobs are scanned whole.
pub(super) fn version_chains(blobs: &[(Oid, Vec<Use>)], base_of: &mut OidMap<Oid>) -> Vec<Vec<usize>> {
    let index: OidMap<usize> = blobs.iter().enumerate().map(|(i, (b, _))| (*b, i)).collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); blobs.len()];
    for (i, (b, _)) in blobs.iter().enumerate() {
        if let Some(&parent) = base_of.get(b).and_then(|a| index.get(a)) {
            children[parent].push(i);
        }
    }
    let mut visited = vec![false; blobs.len()];
    let mut tasks = Vec::new();
    let walk = |root: usize, visited: &mut Vec<bool>, tasks: &mut Vec<Vec<usize>>| {
        let mut order = Vec::new();
        let mut stack = vec![root];
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut visited[i], true) {
                continue;
            }
            order.push(i);
            stack.extend(children[i].iter().rev());
        }
        tasks.push(order);
    };
    for (i, (b, _)) in blobs.iter().enumerate() {
        if !base_of.contains_key(b) {
            walk(i, &mut visited, &mut tasks);
        }
    }
    for i in 0..blobs.len() {
        if !visited[i] {
            base_of.remove(&blobs[i].0);
            walk(i, &mut visited, &mut tasks);
        }
    }
    tasks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(n: u8) -> Oid {
        Oid::from_bytes(&[n; 20]).expect("20 bytes")
    }

    #[test]
    fn a_blob_has_one_base_only_while_every_change_replaced_the_same_blob() {
        let mut bases = OidMap::<Base>::default();
        record_base(&mut bases, oid(2), Some(oid(1)));
        assert_eq!(bases[&oid(2)], Base::One(oid(1)));
        // The same change seen again (another branch) keeps the base.
        record_base(&mut bases, oid(2), Some(oid(1)));
        assert_eq!(bases[&oid(2)], Base::One(oid(1)));
        // Another predecessor: the blob is scanned whole.
        record_base(&mut bases, oid(2), Some(oid(3)));
        assert_eq!(bases[&oid(2)], Base::Whole);
        // Added somewhere (no predecessor): whole.
        record_base(&mut bases, oid(4), Some(oid(1)));
        record_base(&mut bases, oid(4), None);
        assert_eq!(bases[&oid(4)], Base::Whole);
        // A blob that replaced itself (a mode change) has no base.
        record_base(&mut bases, oid(5), Some(oid(5)));
        assert_eq!(bases[&oid(5)], Base::Whole);
    }

    #[test]
    fn version_chains_put_each_base_before_what_is_built_on_it_and_break_cycles() {
        let blobs: Vec<(Oid, Vec<Use>)> = (1..=6).map(|n| (oid(n), Vec::new())).collect();
        // 1 <- 2 <- 3, 1 <- 4; 5 <-> 6 is a cycle (impossible in a real history).
        let mut base_of: OidMap<Oid> =
            [(oid(2), oid(1)), (oid(3), oid(2)), (oid(4), oid(1)), (oid(5), oid(6)), (oid(6), oid(5))]
                .into_iter()
                .collect();
        let tasks = version_chains(&blobs, &mut base_of);
        let mut seen: Vec<usize> = tasks.iter().flatten().copied().collect();
        seen.sort_unstable();
        assert_eq!(seen, vec![0, 1, 2, 3, 4, 5], "every blob in exactly one task: {tasks:?}");
        let first = tasks.iter().find(|t| t.contains(&0)).expect("task of blob 1");
        assert_eq!(first[0], 0);
        let pos = |i: usize| first.iter().position(|&x| x == i).expect("in the task");
        assert!(pos(1) < pos(2), "a base comes before its version: {first:?}");
        // One link of the cycle was dropped, so one of its blobs is scanned whole.
        assert_eq!(base_of.contains_key(&oid(5)) as u8 + base_of.contains_key(&oid(6)) as u8, 1);
        assert_eq!(base_of.get(&oid(3)), Some(&oid(2)));
    }
}
