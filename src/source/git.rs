//! Git sources (design.md §6): whole history, commit ranges and the staged index, with git2.
//!
//! - **History** walks every commit reachable from any ref (branches, tags, remotes, the stash and
//!   its reflog), diffs each against its first parent to learn which commit introduced which
//!   (path, blob), scans each unique blob once in parallel (one `Repository` per worker), and
//!   reports each (path, secret) once, with the earliest commit that introduced it and the number
//!   of commits whose tree carried it.
//! - **Range** scans only the blobs that the range's commits add or change, and drops every secret
//!   that the commit's parents already held at the same path or in a file the commit removed or
//!   renamed (moving a secret is not leaking it).
//! - **Staged** does the same for the index against HEAD (or against nothing, for an unborn HEAD).
//!
//! Objects that cannot be read are reported as skipped with reason `missing-object`, naming the
//! object; the scan goes on and the exit code says that something could not be read.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::path::{Path, PathBuf};

use git2::{Delta, DiffOptions, FileMode, ObjectType, Oid, Repository, RevparseMode, Sort, Tree};
use rayon::prelude::*;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use crate::error::{Error, Result};
use crate::finding::{self, Finding, Provenance, SkipReason, Skipped};
use crate::scan::{Collected, Origin, Scanner, ThreadState};
use crate::source::fs as fsrc;
use crate::source::{chunked, linediff};

/// Settings shared by the git sources.
#[derive(Debug, Clone)]
pub struct GitOptions {
    /// A path inside the repository (work tree or bare).
    pub root: PathBuf,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Blobs larger than this are skipped.
    pub max_file_size: u64,
}

/// One commit, as the sources need it.
#[derive(Debug, Clone)]
struct CommitInfo {
    provenance: Provenance,
    /// Position in the oldest-first topological order (ties between equal times).
    order: usize,
}

/// A path that a commit (or the index) adds or changes, with its new blob.
#[derive(Debug, Clone)]
struct Change {
    path: String,
    blob: Oid,
    kind: ChangeKind,
    /// The blob this one replaced at the same path (a modification), if any.
    old: Option<Oid>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChangeKind {
    File,
    Symlink,
    Submodule,
}

/// Hashes an object id by its first eight bytes. Ids are uniformly distributed already (and a
/// repository cannot be crafted to collide on 64 bits of SHA-1), so SipHash would only cost time:
/// the history scan keeps several maps over every blob and commit.
#[derive(Default)]
struct OidHasher(u64);

impl Hasher for OidHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut w = [0u8; 8];
        let n = bytes.len().min(8);
        w[..n].copy_from_slice(&bytes[..n]);
        self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(w);
    }
    /// The length prefix of the id's bytes: always the same, so it adds nothing.
    fn write_usize(&mut self, _: usize) {}
}

type OidMap<V> = HashMap<Oid, V, BuildHasherDefault<OidHasher>>;
type OidSet = HashSet<Oid, BuildHasherDefault<OidHasher>>;

/// What one commit's diff against its parent(s) gave.
#[derive(Debug, Default)]
struct CommitChanges {
    changes: Vec<Change>,
    /// Old-side blobs: the parents' versions of changed paths and files removed or renamed.
    old: Vec<(Oid, String)>,
    /// Objects that could not be read while diffing.
    errors: Vec<Skipped>,
}

fn git_err(context: impl Into<String>) -> impl FnOnce(git2::Error) -> Error {
    let context = context.into();
    move |e| Error::Git { context, message: e.message().to_string() }
}

/// Opens the repository holding `root` (a work tree, a path inside one, or a bare repository).
/// Object hashes are not re-verified on read: a scanner reads every blob once, and SHA-1
/// verification of each would cost about a sixth of a history scan; corrupt objects still fail
/// to inflate or parse and are reported.
fn open(root: &Path) -> Result<Repository> {
    git2::opts::strict_hash_verification(false);
    // Bound memory: every worker opens the repository, and each would otherwise map up to 8 GiB
    // of pack windows and cache 256 MiB of objects.
    // SAFETY: these only set libgit2's global limits, before any repository of this run is used.
    unsafe {
        let _ = git2::opts::set_mwindow_size(16 * 1024 * 1024);
        let _ = git2::opts::set_mwindow_mapped_limit(64 * 1024 * 1024);
        let _ = git2::opts::set_cache_max_size(64 * 1024 * 1024);
    }
    Repository::discover(root)
        .map_err(|e| Error::Usage(format!("{}: not a git repository ({})", root.display(), e.message())))
}

fn pool(threads: usize) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("ndaguard-git-{i}"))
        .build()
        .map_err(|e| Error::Usage(format!("cannot start worker threads: {e}")))
}

fn time_of(t: git2::Time) -> (String, i64) {
    let secs = t.seconds();
    let offset = UtcOffset::from_whole_seconds(t.offset_minutes() * 60).unwrap_or(UtcOffset::UTC);
    let date = OffsetDateTime::from_unix_timestamp(secs)
        .map(|d| d.to_offset(offset))
        .ok()
        .and_then(|d| d.format(&Rfc3339).ok())
        .unwrap_or_default();
    (date, secs)
}

fn provenance(commit: &git2::Commit<'_>) -> Provenance {
    let author = commit.author();
    let (date, time) = time_of(author.when());
    Provenance {
        commit: commit.id().to_string(),
        author: finding::escape_bytes(author.name_bytes()),
        email: finding::escape_bytes(author.email_bytes()),
        date,
        time,
    }
}

fn path_of(bytes: Option<&[u8]>, fallback: Option<&Path>) -> String {
    match (bytes, fallback) {
        (Some(b), _) => finding::escape_bytes(b),
        (None, Some(p)) => finding::display_path(p),
        (None, None) => String::new(),
    }
}

/// The changes of a diff: new-side blobs of added, modified, renamed, copied or retyped entries,
/// and the old-side blobs of modified, deleted, renamed and retyped ones.
fn collect_diff(diff: &git2::Diff<'_>, out: &mut CommitChanges) {
    for delta in diff.deltas() {
        let old = delta.old_file();
        let new = delta.new_file();
        if matches!(delta.status(), Delta::Modified | Delta::Deleted | Delta::Renamed | Delta::Typechange)
            && !old.id().is_zero()
            && matches!(old.mode(), FileMode::Blob | FileMode::BlobExecutable)
        {
            out.old.push((old.id(), path_of(old.path_bytes(), old.path())));
        }
        if !matches!(
            delta.status(),
            Delta::Added | Delta::Modified | Delta::Renamed | Delta::Copied | Delta::Typechange
        ) || new.id().is_zero()
        {
            continue;
        }
        let kind = match new.mode() {
            FileMode::Blob | FileMode::BlobExecutable => ChangeKind::File,
            FileMode::Link => ChangeKind::Symlink,
            FileMode::Commit => ChangeKind::Submodule,
            _ => continue,
        };
        // `old` serves history scans only, which diff trees with `diff_trees`.
        out.changes.push(Change { path: path_of(new.path_bytes(), new.path()), blob: new.id(), kind, old: None });
    }
}

fn diff_options() -> DiffOptions {
    let mut o = DiffOptions::new();
    o.ignore_submodules(false).skip_binary_check(true).include_typechange(true);
    o
}

/// The tree of a commit's parent `i`, or `None` when the parent is absent (root commit, or cut
/// off by a shallow clone).
fn parent_tree<'r>(commit: &git2::Commit<'r>, i: usize) -> Option<Tree<'r>> {
    commit.parent(i).ok().and_then(|p| p.tree().ok())
}

const MODE_TREE: i32 = 0o040000;
const MODE_LINK: i32 = 0o120000;
const MODE_SUBMODULE: i32 = 0o160000;

/// One entry of a tree, borrowed from it.
type Entry<'t> = git2::TreeEntry<'t>;

/// The entries of `tree`, by name (bytewise: git orders a directory as if its name ended in `/`,
/// which would not pair a file with a directory of the same name). Borrowed: nothing is copied.
fn entries<'t>(tree: Option<&'t Tree<'_>>) -> Vec<Entry<'t>> {
    let mut v: Vec<Entry<'t>> = tree.map(|t| t.iter().collect()).unwrap_or_default();
    v.sort_by(|a, b| a.name_bytes().cmp(b.name_bytes()));
    v
}

fn is_blob_mode(mode: i32) -> bool {
    mode != MODE_TREE && mode != MODE_LINK && mode != MODE_SUBMODULE
}

/// The changes from tree `old` to tree `new` (either may be absent), like a diff without rename
/// detection, but without reading subtrees whose ids are equal on both sides: what a commit
/// added or modified (with the blob it replaced at the same path) and the old blobs of what it
/// modified or removed.
fn diff_trees(
    repo: &Repository,
    old: Option<&Tree<'_>>,
    new: Option<&Tree<'_>>,
    prefix: &mut Vec<u8>,
    out: &mut CommitChanges,
) {
    let (olds, news) = (entries(old), entries(new));
    let (mut i, mut j) = (0, 0);
    while i < olds.len() || j < news.len() {
        let ord = match (olds.get(i), news.get(j)) {
            (Some(o), Some(n)) => o.name_bytes().cmp(n.name_bytes()),
            (Some(_), None) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        let (o, n) = match ord {
            std::cmp::Ordering::Less => {
                i += 1;
                (olds.get(i - 1), None)
            }
            std::cmp::Ordering::Greater => {
                j += 1;
                (None, news.get(j - 1))
            }
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
                (olds.get(i - 1), news.get(j - 1))
            }
        };
        if let (Some(o), Some(n)) = (o, n) {
            if o.id() == n.id() && o.filemode() == n.filemode() {
                continue;
            }
        }
        let name = o.or(n).map(|e| e.name_bytes()).unwrap_or_default();
        let len = prefix.len();
        if len > 0 {
            prefix.push(b'/');
        }
        prefix.extend_from_slice(name);
        let old_tree = o.filter(|e| e.filemode() == MODE_TREE);
        let new_tree = n.filter(|e| e.filemode() == MODE_TREE);
        if old_tree.is_some() || new_tree.is_some() {
            let load = |e: Option<&Entry>, out: &mut CommitChanges| match e {
                Some(e) => match repo.find_tree(e.id()) {
                    Ok(t) => Some(t),
                    Err(err) => {
                        out.errors.push(Skipped {
                            path: format!("<tree {}>", e.id()),
                            reason: SkipReason::MissingObject,
                            detail: err.message().to_string(),
                        });
                        None
                    }
                },
                None => None,
            };
            let (ot, nt) = (load(old_tree, out), load(new_tree, out));
            diff_trees(repo, ot.as_ref(), nt.as_ref(), prefix, out);
        }
        let path = || path_of(Some(prefix.as_slice()), None);
        let old_blob = o.filter(|e| is_blob_mode(e.filemode()));
        if let Some(ob) = old_blob {
            out.old.push((ob.id(), path()));
        }
        if let Some(nb) = n.filter(|e| e.filemode() != MODE_TREE) {
            let kind = match nb.filemode() {
                MODE_LINK => ChangeKind::Symlink,
                MODE_SUBMODULE => ChangeKind::Submodule,
                _ => ChangeKind::File,
            };
            let replaced = old_blob.filter(|_| kind == ChangeKind::File).map(|e| e.id());
            out.changes.push(Change { path: path(), blob: nb.id(), kind, old: replaced });
        }
        prefix.truncate(len);
    }
}

/// Diffs a commit against its first parent (or the empty tree). With `all_parents`, also records
/// the other parents' versions of each changed path as old blobs.
fn commit_changes(repo: &Repository, oid: Oid, all_parents: bool) -> CommitChanges {
    let mut out = CommitChanges::default();
    let missing = |what: &str, e: git2::Error| Skipped {
        path: format!("<{what} {oid}>"),
        reason: SkipReason::MissingObject,
        detail: e.message().to_string(),
    };
    let commit = match repo.find_commit(oid) {
        Ok(c) => c,
        Err(e) => {
            out.errors.push(missing("commit", e));
            return out;
        }
    };
    let tree = match commit.tree() {
        Ok(t) => t,
        Err(e) => {
            out.errors.push(missing("tree of commit", e));
            return out;
        }
    };
    let parent = parent_tree(&commit, 0);
    let mut prefix = Vec::new();
    diff_trees(repo, parent.as_ref(), Some(&tree), &mut prefix, &mut out);
    if all_parents {
        for i in 1..commit.parent_count() {
            let Some(pt) = parent_tree(&commit, i) else { continue };
            for c in &out.changes {
                if let Ok(entry) = pt.get_path(Path::new(&c.path)) {
                    if entry.kind() == Some(ObjectType::Blob) {
                        out.old.push((entry.id(), c.path.clone()));
                    }
                }
            }
        }
    }
    out
}

/// Every commit reachable from any ref, HEAD and the stash reflog, oldest first.
fn all_commits(repo: &Repository, skipped: &mut Vec<Skipped>) -> Result<Vec<Oid>> {
    let mut walk = repo.revwalk().map_err(git_err("cannot walk the history"))?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE).map_err(git_err("cannot walk the history"))?;
    let mut pushed = 0usize;
    let refs = repo.references().map_err(git_err("cannot list references"))?;
    for r in refs {
        let Ok(r) = r else { continue };
        if let Ok(c) = r.peel_to_commit() {
            if walk.push(c.id()).is_ok() {
                pushed += 1;
            }
        }
    }
    if let Ok(head) = repo.head() {
        if let Ok(c) = head.peel_to_commit() {
            if walk.push(c.id()).is_ok() {
                pushed += 1;
            }
        }
    }
    if let Ok(reflog) = repo.reflog("refs/stash") {
        for entry in reflog.iter() {
            if walk.push(entry.id_new()).is_ok() {
                pushed += 1;
            }
        }
    }
    if pushed == 0 {
        return Ok(Vec::new());
    }
    let mut commits = Vec::new();
    for oid in walk {
        match oid {
            Ok(o) => commits.push(o),
            Err(e) => skipped.push(Skipped {
                path: "<history>".into(),
                reason: SkipReason::MissingObject,
                detail: format!("the commit walk stopped early: {}", e.message()),
            }),
        }
    }
    Ok(commits)
}

/// The result of scanning one blob once.
struct BlobScan {
    findings: Vec<Finding>,
    /// For each finding, what a blob must hold to carry it (see [`needle`]).
    needles: Vec<Vec<u8>>,
    suppressed: u64,
    bytes: u64,
    skipped: Option<(SkipReason, String)>,
}

impl BlobScan {
    fn empty() -> BlobScan {
        BlobScan { findings: Vec::new(), needles: Vec::new(), suppressed: 0, bytes: 0, skipped: None }
    }

    fn skipped(reason: SkipReason, detail: String) -> BlobScan {
        BlobScan { skipped: Some((reason, detail)), ..BlobScan::empty() }
    }
}

/// A blob's text: the blob itself (no copy), or its UTF-16 content transcoded.
enum Text<'r> {
    Blob(git2::Blob<'r>),
    Owned(Vec<u8>),
}

impl Text<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            Text::Blob(b) => b.content(),
            Text::Owned(v) => v,
        }
    }
}

/// A blob's text, or why it has none.
enum BlobText<'r> {
    Text(Text<'r>),
    /// Over one chunk: scanned in chunks, never held whole.
    Large,
    Skip(SkipReason, String),
}

/// Reads a blob as text (UTF-16 transcoded). Large blobs are refused from the object header,
/// before they are inflated.
fn read_text(repo: &Repository, oid: Oid, max: u64) -> BlobText<'_> {
    if let Ok(odb) = repo.odb() {
        if let Ok((size, _)) = odb.read_header(oid) {
            if size as u64 > max {
                return BlobText::Skip(SkipReason::TooLarge, format!("blob {oid}: {size} bytes > limit of {max}"));
            }
            if size > chunked::CHUNK + chunked::OVERLAP {
                return BlobText::Large;
            }
        }
    }
    let blob = match repo.find_blob(oid) {
        Ok(b) => b,
        Err(e) => return BlobText::Skip(SkipReason::MissingObject, format!("blob {oid}: {}", e.message())),
    };
    if blob.size() as u64 > max {
        return BlobText::Skip(SkipReason::TooLarge, format!("blob {oid}: {} bytes > limit of {max}", blob.size()));
    }
    match fsrc::kind_of(blob.content()) {
        fsrc::Kind::Utf16(text) => BlobText::Text(Text::Owned(text)),
        fsrc::Kind::Binary => BlobText::Skip(SkipReason::Binary, format!("blob {oid}: {}", fsrc::BINARY_DETAIL)),
        fsrc::Kind::Plain => BlobText::Text(Text::Blob(blob)),
    }
}

/// What a blob must hold to carry a finding: the secret itself, or for a secret found decoded,
/// the bytes around its encoded text on its line (at most a few hundred either side).
fn needle(data: &[u8], f: &Finding) -> Vec<u8> {
    let at = f.offset.min(data.len());
    if f.encoding.is_none() {
        if let Some(raw) = data.get(at..at + f.secret_length) {
            return raw.to_vec();
        }
    }
    let line_start = finding::LineIndex::line_start(data, at);
    let line_end = memchr::memchr(b'\n', &data[at..]).map_or(data.len(), |i| at + i);
    let from = at.saturating_sub(256).max(line_start);
    let to = at.saturating_add(2 * f.secret_length + 256).min(line_end).max(from);
    data[from..to].to_vec()
}

/// Reads and scans one blob as `path`. With `base` (the text of the version this blob replaced
/// at the same path, whose every line was covered by earlier scans), only the lines that `base`
/// lacks are scanned, with context (see [`linediff`]). Returns the text, for use as the next
/// version's base.
#[allow(clippy::too_many_arguments)]
fn scan_blob<'r>(
    repo: &'r Repository,
    scanner: &Scanner,
    oid: Oid,
    path: &str,
    provenance: Option<&Provenance>,
    max: u64,
    state: &mut ThreadState,
    base: Option<&[u8]>,
) -> (BlobScan, Option<Text<'r>>) {
    let text = match read_text(repo, oid, max) {
        BlobText::Skip(reason, detail) => return (BlobScan::skipped(reason, detail), None),
        BlobText::Large => {
            let res = scan_large_blob(repo, scanner, oid, path, provenance, state).unwrap_or_else(|| {
                BlobScan::skipped(SkipReason::MissingObject, format!("blob {oid}: cannot be read in chunks"))
            });
            return (res, None);
        }
        BlobText::Text(text) => text,
    };
    let data = text.bytes();
    let origin = Origin { path, provenance };
    let res = match base {
        Some(b) => scanner.scan_regions(data, &linediff::changed_regions(b, data), origin, state),
        None => scanner.scan(data, origin, state),
    };
    let needles = res.findings.iter().map(|f| needle(data, f)).collect();
    let out = BlobScan {
        findings: res.findings,
        needles,
        suppressed: res.suppressed,
        bytes: data.len() as u64,
        skipped: None,
    };
    (out, Some(text))
}

/// Scans a blob that [`read_text`] found larger than one chunk, in chunks: streamed from a loose
/// object, or from the inflated blob (packed objects cannot be streamed) without copying it.
/// `None` when the object cannot be read.
fn scan_large_blob(
    repo: &Repository,
    scanner: &Scanner,
    oid: Oid,
    path: &str,
    provenance: Option<&Provenance>,
    state: &mut ThreadState,
) -> Option<BlobScan> {
    let odb = repo.odb().ok()?;
    let origin = Origin { path, provenance };
    let mut out = BlobScan::empty();
    let finish = |out: &mut BlobScan, res: std::io::Result<chunked::ChunkedResult>| match res {
        Ok(r) => {
            out.findings = r.findings;
            out.suppressed = r.suppressed;
            out.bytes = r.bytes;
        }
        Err(e) => out.skipped = Some((SkipReason::MissingObject, format!("blob {oid}: read failed: {e}"))),
    };
    let binary = |out: &mut BlobScan| {
        out.skipped = Some((SkipReason::Binary, format!("blob {oid}: {}", fsrc::BINARY_DETAIL)));
    };
    if let Ok((mut reader, _, _)) = odb.reader(oid) {
        let mut probe = vec![0u8; 8192];
        let n = std::io::Read::read(&mut reader, &mut probe).unwrap_or(0);
        probe.truncate(n);
        if fsrc::is_binary(&probe) {
            binary(&mut out);
            return Some(out);
        }
        let res = chunked::scan_reader(scanner, reader, probe, origin, state, chunked::CHUNK, chunked::OVERLAP);
        finish(&mut out, res);
        return Some(out);
    }
    let blob = repo.find_blob(oid).ok()?;
    let content = blob.content();
    if fsrc::is_binary(content) {
        binary(&mut out);
        return Some(out);
    }
    let res = chunked::scan_reader(scanner, content, Vec::new(), origin, state, chunked::CHUNK, chunked::OVERLAP);
    finish(&mut out, res);
    Some(out)
}

/// A finding re-labelled for another path and commit of the same blob.
fn relabel(f: &Finding, path: &str, p: Option<&Provenance>) -> Finding {
    let mut g = f.clone();
    if g.path != path {
        g.fingerprint = finding::fingerprint_of_digest(&g.rule_id, path, &g.secret_digest);
        g.path = path.to_string();
    }
    g.commit = p.map(|p| p.commit.clone());
    g.author = p.map(|p| p.author.clone());
    g.email = p.map(|p| p.email.clone());
    g.date = p.map(|p| p.date.clone());
    g.commit_time = p.map(|p| p.time);
    g
}

/// Loads provenance for the given commits (in their order).
fn commit_infos(repo: &Repository, commits: &[Oid]) -> OidMap<CommitInfo> {
    let mut infos = OidMap::with_capacity_and_hasher(commits.len(), Default::default());
    for (order, &oid) in commits.iter().enumerate() {
        if let Ok(c) = repo.find_commit(oid) {
            infos.insert(oid, CommitInfo { provenance: provenance(&c), order });
        }
    }
    infos
}

/// The key that picks the "first" commit: earliest author time, then topological order.
fn first_key(info: &CommitInfo) -> (i64, usize) {
    (info.provenance.time, info.order)
}

/// The earliest finding of one (path, secret), its commit's key, the blobs it was found in, and
/// what a blob must hold to carry it (see [`needle`]; one per distinct form, a few at most).
struct BestFinding {
    finding: Finding,
    key: (i64, usize),
    blobs: OidSet,
    needles: Vec<Vec<u8>>,
}

/// Where each blob is used: (path, introducing commit), the earliest commit per path.
type BlobUses = OidMap<Vec<(String, Oid)>>;

fn record_use(uses: &mut BlobUses, infos: &OidMap<CommitInfo>, blob: Oid, path: String, commit: Oid) {
    let list = uses.entry(blob).or_default();
    match list.iter_mut().find(|(p, _)| *p == path) {
        Some(entry) => {
            let better = match (infos.get(&commit), infos.get(&entry.1)) {
                (Some(new), Some(old)) => first_key(new) < first_key(old),
                _ => false,
            };
            if better {
                entry.1 = commit;
            }
        }
        None => list.push((path, commit)),
    }
}

fn is_interrupted() -> bool {
    crate::app::interrupted()
}

/// What a history holds, read before any blob is: the commits, the (path, blob) changes each
/// introduced and the version each blob replaced. It needs no rules, so [`plan_history`] can run
/// while they load.
pub struct HistoryPlan {
    git_dir: PathBuf,
    pool: rayon::ThreadPool,
    commits: Vec<Oid>,
    infos: OidMap<CommitInfo>,
    uses: BlobUses,
    bases: OidMap<Base>,
    out: Collected,
    clock: std::time::Instant,
}

/// With `NDAGUARD_TIMING` set, says on stderr when a phase of a history scan ended.
fn phase(clock: &std::time::Instant, name: &str) {
    if std::env::var_os("NDAGUARD_TIMING").is_some() {
        eprintln!("ndaguard: timing: {name} at {:.3} s", clock.elapsed().as_secs_f64());
    }
}

/// Reads the commits of the repository at `root` and what each introduced (steps 1 and 2 of a
/// history scan), with `threads` workers (0: one per core).
pub fn plan_history(root: &Path, threads: usize) -> Result<HistoryPlan> {
    let clock = std::time::Instant::now();
    let repo = open(root)?;
    let git_dir = repo.path().to_path_buf();
    let mut out = Collected::default();
    if repo.is_shallow() {
        out.notes.push(
            "shallow clone: history before the shallow boundary is not available, so the oldest commits present \
             may be blamed for older secrets"
                .into(),
        );
    }
    let commits = all_commits(&repo, &mut out.skipped)?;
    let infos = commit_infos(&repo, &commits);
    let pool = pool(threads)?;
    // 1. What each commit introduced, in parallel.
    let per_commit: Vec<(Oid, CommitChanges)> = pool.install(|| {
        commits
            .par_iter()
            .map_init(
                || Repository::open(&git_dir).ok(),
                |repo, &oid| match repo {
                    Some(r) if !is_interrupted() => (oid, commit_changes(r, oid, false)),
                    _ => (oid, CommitChanges::default()),
                },
            )
            .collect()
    });
    // 2. Unique blobs with their paths and first commits, and the version each replaced.
    let mut uses = BlobUses::default();
    let mut bases = OidMap::<Base>::default();
    let mut special: HashMap<String, SkipReason> = HashMap::new();
    for (oid, ch) in per_commit {
        out.skipped.extend(ch.errors);
        for c in ch.changes {
            match c.kind {
                ChangeKind::File => {
                    record_base(&mut bases, c.blob, c.old);
                    record_use(&mut uses, &infos, c.blob, c.path, oid);
                }
                ChangeKind::Symlink => {
                    special.entry(c.path).or_insert(SkipReason::Symlink);
                }
                ChangeKind::Submodule => {
                    special.insert(c.path, SkipReason::Submodule);
                }
            }
        }
    }
    push_special(&mut out, special);
    phase(&clock, "changes");
    Ok(HistoryPlan { git_dir, pool, commits, infos, uses, bases, out, clock })
}

/// Scans every blob reachable from any ref, given the [`plan_history`] of the repository (steps
/// 3 to 6): each unique blob once, each version for the lines its base lacks; blobs larger than
/// `max` are skipped.
pub fn scan_planned(scanner: &Scanner, plan: HistoryPlan, max: u64) -> Result<Collected> {
    let HistoryPlan { git_dir, pool, commits, infos, uses, bases, mut out, clock } = plan;
    if commits.is_empty() {
        out.notes.push("the repository has no commits".into());
        return Ok(out);
    }
    let (git_dir, commits, infos, bases) = (&git_dir, &commits, &infos, &bases);
    let phase = |name: &str| phase(&clock, name);
    // 3. Drop allowlisted paths; a blob used only under allowlisted paths is skipped.
    let allow = scanner.allowlist();
    let mut blobs: Vec<(Oid, Vec<(String, Oid)>)> = Vec::with_capacity(uses.len());
    for (blob, mut list) in uses {
        if list.iter().any(|(p, _)| allow.excludes_path(p, false)) {
            let first_path = list.first().map(|(p, _)| p.clone()).unwrap_or_default();
            list.retain(|(p, _)| !allow.excludes_path(p, false));
            if list.is_empty() {
                out.skipped.push(Skipped {
                    path: first_path,
                    reason: SkipReason::Allowlisted,
                    detail: format!("blob {blob}"),
                });
                continue;
            }
        }
        if list.len() > 1 {
            list.sort_by(|(p, c), (q, d)| (infos.get(c).map(first_key), p).cmp(&(infos.get(d).map(first_key), q)));
        }
        blobs.push((blob, list));
    }
    // Versions of one path next to each other: the pack's delta chains stay in libgit2's cache.
    pool.install(|| blobs.par_sort_unstable_by(|(a, la), (b, lb)| la[0].0.cmp(&lb[0].0).then(a.cmp(b))));
    let mut base_of = base_links(&blobs, bases);
    let tasks = version_chains(&blobs, &mut base_of);

    phase("blob index");
    // 4. Scan each unique blob once, in parallel: each task walks versions of a path, each
    //    scanned for the lines its base version lacks.
    let scanned: Vec<(usize, BlobScan)> = pool.install(|| {
        tasks
            .par_iter()
            .map_init(
                || (Repository::open(git_dir).ok(), ThreadState::default()),
                |(repo, state), task| {
                    let mut done = Vec::with_capacity(task.len());
                    // The text of the version scanned last: usually the base of the next one.
                    let mut prev: Option<(Oid, Text<'_>)> = None;
                    for &i in task {
                        let (blob, list) = &blobs[i];
                        let (path, commit) = &list[0];
                        let prov = infos.get(commit).map(|c| &c.provenance);
                        let Some(r) = repo.as_ref() else {
                            let why = format!("blob {blob}: cannot open repository");
                            done.push((i, BlobScan::skipped(SkipReason::MissingObject, why)));
                            continue;
                        };
                        if is_interrupted() {
                            done.push((i, BlobScan::empty()));
                            continue;
                        }
                        let base_text = match base_of.get(blob) {
                            Some(b) if prev.as_ref().is_some_and(|(p, _)| p == b) => prev.take().map(|(_, t)| t),
                            Some(b) => match read_text(r, *b, max) {
                                BlobText::Text(t) => Some(t),
                                _ => None,
                            },
                            None => None,
                        };
                        let base = base_text.as_ref().map(Text::bytes);
                        let (res, text) = scan_blob(r, scanner, *blob, path, prov, max, state, base);
                        prev = text.map(|t| (*blob, t));
                        done.push((i, res));
                    }
                    done
                },
            )
            .flatten_iter()
            .collect()
    });

    phase("scan");
    // 5. One finding per (path, secret): the earliest commit wins.
    let mut best: HashMap<(String, [u8; 32]), BestFinding> = HashMap::new();
    for (i, res) in scanned {
        let (blob, list) = &blobs[i];
        if let Some((reason, detail)) = res.skipped {
            out.skipped.push(Skipped { path: list[0].0.clone(), reason, detail });
            continue;
        }
        if is_interrupted() && res.bytes == 0 && res.findings.is_empty() {
            continue;
        }
        out.files_scanned += 1;
        out.bytes_scanned += res.bytes;
        out.suppressed += res.suppressed;
        for (fi, f) in res.findings.iter().enumerate() {
            for (path, commit) in list {
                let Some(info) = infos.get(commit) else { continue };
                if path != &list[0].0 && allow.suppresses_path(&f.rule_id, path) {
                    continue;
                }
                let key = (path.clone(), f.secret_digest);
                let k = first_key(info);
                match best.get_mut(&key) {
                    Some(b) => {
                        b.blobs.insert(*blob);
                        if let Some(n) = res.needles.get(fi) {
                            if b.needles.len() < 8 && !b.needles.contains(n) {
                                b.needles.push(n.clone());
                            }
                        }
                        if k < b.key {
                            b.finding = relabel(f, path, Some(&info.provenance));
                            b.key = k;
                        }
                    }
                    None => {
                        best.insert(
                            key,
                            BestFinding {
                                finding: relabel(f, path, Some(&info.provenance)),
                                key: k,
                                blobs: OidSet::from_iter([*blob]),
                                needles: res.needles.get(fi).cloned().into_iter().collect(),
                            },
                        );
                    }
                }
            }
        }
    }

    // 6. How many commits carried each secret at its path.
    let best: Vec<((String, [u8; 32]), BestFinding)> = best.into_iter().collect();
    let wanted: Vec<Carrier<'_>> =
        best.iter().map(|((p, _), b)| Carrier { path: p, blobs: &b.blobs, needles: &b.needles }).collect();
    let counts = if wanted.is_empty() || is_interrupted() {
        vec![0u64; wanted.len()]
    } else {
        pool.install(|| carried_counts(git_dir, commits, &wanted, &base_of))
    };
    phase("carried counts");
    let findings: Vec<Finding> = best
        .into_iter()
        .zip(counts)
        .map(|((_, b), n)| {
            let mut f = b.finding;
            f.commits = Some(n.max(1));
            f
        })
        .collect();
    out.findings = findings;
    Ok(out)
}

/// What a blob's changes say about the version it replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Base {
    /// Every change that introduced the blob modified this one blob at the same path.
    One(Oid),
    /// Some change added it, renamed or copied it, or replaced different blobs: scan it whole.
    Whole,
}

fn record_base(bases: &mut OidMap<Base>, blob: Oid, old: Option<Oid>) {
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
fn base_links(blobs: &[(Oid, Vec<(String, Oid)>)], bases: &OidMap<Base>) -> OidMap<Oid> {
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
fn version_chains(blobs: &[(Oid, Vec<(String, Oid)>)], base_of: &mut OidMap<Oid>) -> Vec<Vec<usize>> {
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

/// One (path, secret) whose carrying commits are counted.
struct Carrier<'a> {
    path: &'a str,
    /// Blobs in which the secret was found at this path.
    blobs: &'a OidSet,
    /// What a blob must hold to carry the secret (any one of them).
    needles: &'a [Vec<u8>],
}

/// Whether `blob` was scanned only for lines new against a chain of bases that reaches one of
/// `blobs`: then it may carry the secret in a line it did not scan.
fn derives_from(blob: Oid, blobs: &OidSet, base_of: &OidMap<Oid>) -> bool {
    let mut cur = blob;
    for _ in 0..=base_of.len() {
        match base_of.get(&cur) {
            Some(b) if blobs.contains(b) => return true,
            Some(b) => cur = *b,
            None => return false,
        }
    }
    false
}

/// For each carrier, how many of `commits` have, at its path, a blob in which the secret was
/// found, or a later version built on one that still holds the secret's line.
fn carried_counts(git_dir: &Path, commits: &[Oid], wanted: &[Carrier<'_>], base_of: &OidMap<Oid>) -> Vec<u64> {
    let partial: Vec<Vec<u64>> = commits
        .par_chunks(64)
        .map_init(
            || (Repository::open(git_dir).ok(), HashMap::<(Oid, usize), bool>::new()),
            |(repo, cache), chunk| {
                let mut counts = vec![0u64; wanted.len()];
                let Some(repo) = repo else { return counts };
                for oid in chunk {
                    let Ok(tree) = repo.find_commit(*oid).and_then(|c| c.tree()) else { continue };
                    for (i, w) in wanted.iter().enumerate() {
                        let Ok(entry) = tree.get_path(Path::new(w.path)) else { continue };
                        let id = entry.id();
                        let carries = w.blobs.contains(&id)
                            || (derives_from(id, w.blobs, base_of)
                                && *cache.entry((id, i)).or_insert_with(|| {
                                    repo.find_blob(id).is_ok_and(|b| {
                                        // Needles come from the text that was scanned: a UTF-16
                                        // blob is searched as the same UTF-8 text.
                                        let utf8 = fsrc::decode_utf16(b.content());
                                        let text = utf8.as_deref().unwrap_or(b.content());
                                        w.needles
                                            .iter()
                                            .any(|n| !n.is_empty() && memchr::memmem::find(text, n).is_some())
                                    })
                                }));
                        if carries {
                            counts[i] += 1;
                        }
                    }
                }
                counts
            },
        )
        .collect();
    let mut total = vec![0u64; wanted.len()];
    for p in partial {
        for (t, n) in total.iter_mut().zip(p) {
            *t += n;
        }
    }
    total
}

/// Scans a set of changes, subtracting what the old blobs already held. `commit` labels the
/// findings (none for the index).
struct Subtractor<'a> {
    repo: &'a Repository,
    scanner: &'a Scanner,
    max: u64,
    state: ThreadState,
    /// Secret digests per scanned blob (old sides are scanned once each).
    cache: OidMap<HashSet<[u8; 32]>>,
    skipped_seen: OidSet,
}

impl<'a> Subtractor<'a> {
    fn new(repo: &'a Repository, scanner: &'a Scanner, max: u64) -> Subtractor<'a> {
        Subtractor {
            repo,
            scanner,
            max,
            state: ThreadState::default(),
            cache: OidMap::default(),
            skipped_seen: OidSet::default(),
        }
    }

    fn secrets_of(&mut self, oid: Oid, path: &str, out: &mut Collected) -> HashSet<[u8; 32]> {
        if let Some(s) = self.cache.get(&oid) {
            return s.clone();
        }
        let (res, _) = scan_blob(self.repo, self.scanner, oid, path, None, self.max, &mut self.state, None);
        if let Some((reason, detail)) = res.skipped {
            if reason.is_error() && self.skipped_seen.insert(oid) {
                out.skipped.push(Skipped { path: path.to_string(), reason, detail });
            }
        }
        let set: HashSet<[u8; 32]> = res.findings.iter().map(|f| f.secret_digest).collect();
        self.cache.insert(oid, set.clone());
        set
    }

    /// Scans `changes` and adds to `found` the findings whose secrets none of `old` held.
    fn run(
        &mut self,
        changes: &[Change],
        old: &[(Oid, String)],
        prov: Option<&Provenance>,
        out: &mut Collected,
        found: &mut Vec<Finding>,
        special: &mut HashMap<String, SkipReason>,
    ) {
        let mut old_secrets: HashSet<[u8; 32]> = HashSet::new();
        for (o, path) in old {
            old_secrets.extend(self.secrets_of(*o, path, out));
        }
        for c in changes {
            if is_interrupted() {
                return;
            }
            match c.kind {
                ChangeKind::Symlink => {
                    special.entry(c.path.clone()).or_insert(SkipReason::Symlink);
                    continue;
                }
                ChangeKind::Submodule => {
                    special.insert(c.path.clone(), SkipReason::Submodule);
                    continue;
                }
                ChangeKind::File => {}
            }
            if self.scanner.allowlist().excludes_path(&c.path, false) {
                out.skipped.push(Skipped {
                    path: c.path.clone(),
                    reason: SkipReason::Allowlisted,
                    detail: String::new(),
                });
                continue;
            }
            let (res, _) = scan_blob(self.repo, self.scanner, c.blob, &c.path, prov, self.max, &mut self.state, None);
            if let Some((reason, detail)) = res.skipped {
                if self.skipped_seen.insert(c.blob) {
                    out.skipped.push(Skipped { path: c.path.clone(), reason, detail });
                }
                continue;
            }
            out.files_scanned += 1;
            out.bytes_scanned += res.bytes;
            out.suppressed += res.suppressed;
            self.cache.insert(c.blob, res.findings.iter().map(|f| f.secret_digest).collect());
            found.extend(res.findings.into_iter().filter(|f| !old_secrets.contains(&f.secret_digest)));
        }
    }
}

/// The commits of a range, oldest first: `A..B`, `A...B` (from the merge base), or a single
/// commit `C` meaning `C^..C`.
fn range_commits(repo: &Repository, range: &str) -> Result<Vec<Oid>> {
    let spec = repo
        .revparse(range)
        .map_err(|e| Error::Usage(format!("--range {range:?}: cannot resolve: {}", e.message())))?;
    let peel = |o: Option<&git2::Object<'_>>| -> Result<Oid> {
        o.and_then(|o| o.peel_to_commit().ok())
            .map(|c| c.id())
            .ok_or_else(|| Error::Usage(format!("--range {range:?}: does not name commits")))
    };
    if spec.mode().contains(RevparseMode::SINGLE) {
        return Ok(vec![peel(spec.from())?]);
    }
    let from = peel(spec.from())?;
    let to = peel(spec.to())?;
    let mut walk = repo.revwalk().map_err(git_err("cannot walk the range"))?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE).map_err(git_err("cannot walk the range"))?;
    walk.push(to).map_err(git_err("cannot walk the range"))?;
    let hide = if spec.mode().contains(RevparseMode::MERGE_BASE) {
        repo.merge_base(from, to).map_err(git_err("cannot find the merge base"))?
    } else {
        from
    };
    walk.hide(hide).map_err(git_err("cannot walk the range"))?;
    walk.map(|r| r.map_err(git_err("cannot walk the range"))).collect()
}

fn dedupe_first(mut found: Vec<Finding>, order: &HashMap<String, usize>) -> Vec<Finding> {
    // Earliest commit first, then keep the first finding per (path, secret) and count the rest.
    found.sort_by_key(|f| (f.commit.as_ref().and_then(|c| order.get(c)).copied().unwrap_or(0), f.offset));
    let mut index: HashMap<(String, [u8; 32]), usize> = HashMap::new();
    let mut out: Vec<Finding> = Vec::new();
    for f in found {
        let key = (f.path.clone(), f.secret_digest);
        match index.get(&key) {
            Some(&i) => {
                if f.commit.is_some() {
                    let n = out[i].commits.unwrap_or(1);
                    out[i].commits = Some(n + 1);
                }
            }
            None => {
                index.insert(key, out.len());
                let mut f = f;
                if f.commit.is_some() {
                    f.commits = Some(1);
                }
                out.push(f);
            }
        }
    }
    out
}

fn push_special(out: &mut Collected, special: HashMap<String, SkipReason>) {
    for (path, reason) in special {
        let detail = if reason == SkipReason::Submodule { "submodule not followed" } else { "symbolic link" };
        out.skipped.push(Skipped { path, reason, detail: detail.into() });
    }
}

/// Scans what the commits of `range` add.
pub fn scan_range(scanner: &Scanner, opts: &GitOptions, range: &str) -> Result<Collected> {
    let repo = open(&opts.root)?;
    let mut out = Collected::default();
    if repo.is_shallow() {
        out.notes.push("shallow clone: commits whose parents are missing are compared with an empty tree".into());
    }
    let commits = range_commits(&repo, range)?;
    if commits.is_empty() {
        out.notes.push(format!("the range {range} holds no commits"));
        return Ok(out);
    }
    let order: HashMap<String, usize> = commits.iter().enumerate().map(|(i, c)| (c.to_string(), i)).collect();
    let mut sub = Subtractor::new(&repo, scanner, opts.max_file_size);
    let mut found = Vec::new();
    let mut special = HashMap::new();
    for oid in &commits {
        if is_interrupted() {
            break;
        }
        let ch = commit_changes(&repo, *oid, true);
        out.skipped.extend(ch.errors.iter().cloned());
        let prov = repo.find_commit(*oid).ok().map(|c| provenance(&c));
        sub.run(&ch.changes, &ch.old, prov.as_ref(), &mut out, &mut found, &mut special);
    }
    push_special(&mut out, special);
    out.findings = dedupe_first(found, &order);
    Ok(out)
}

/// Scans what the index adds over HEAD.
pub fn scan_staged(scanner: &Scanner, opts: &GitOptions) -> Result<Collected> {
    let repo = open(&opts.root)?;
    if repo.is_bare() {
        return Err(Error::Usage(format!(
            "{}: --staged needs a work tree, not a bare repository",
            opts.root.display()
        )));
    }
    let mut out = Collected::default();
    let head_tree = match repo.head() {
        Ok(h) => Some(h.peel_to_tree().map_err(git_err("cannot read HEAD's tree"))?),
        Err(e) if e.code() == git2::ErrorCode::UnbornBranch || e.code() == git2::ErrorCode::NotFound => None,
        Err(e) => return Err(git_err("cannot read HEAD")(e)),
    };
    let index = repo.index().map_err(git_err("cannot read the index"))?;
    let mut dopts = diff_options();
    let diff = repo
        .diff_tree_to_index(head_tree.as_ref(), Some(&index), Some(&mut dopts))
        .map_err(git_err("cannot compare the index with HEAD"))?;
    let mut ch = CommitChanges::default();
    collect_diff(&diff, &mut ch);
    let mut sub = Subtractor::new(&repo, scanner, opts.max_file_size);
    let mut found = Vec::new();
    let mut special = HashMap::new();
    sub.run(&ch.changes, &ch.old, None, &mut out, &mut found, &mut special);
    push_special(&mut out, special);
    out.findings = dedupe_first(found, &HashMap::new());
    Ok(out)
}
