//! Git sources (design.md §6): whole history, commit ranges and the staged index, with git2.
//!
//! - **History** ([`history`]) walks every commit reachable from any ref (branches, tags,
//!   remotes, the stash and its reflog), compares each with its first parent to learn which
//!   commit introduced which (path, blob) ([`walk`]), indexes the unique blobs and the versions
//!   they replaced ([`blobs`]), scans each unique blob once in parallel (one `Repository` per
//!   worker), and reports each (path, secret) once, with the earliest commit that introduced it
//!   and the number of commits whose tree carried it.
//! - **Range** ([`range`]) scans only the blobs that the range's commits add or change, and drops
//!   every secret that the commit's parents already held at the same path or in a file the
//!   commit removed or renamed (moving a secret is not leaking it).
//! - **Staged** ([`staged`]) does the same for the index against HEAD (or against nothing, for an
//!   unborn HEAD).
//!
//! Blobs go to a [`BlobSink`]; this module never matches. Objects that cannot be read are
//! reported as skipped with reason `missing-object`, naming the object; the scan goes on and the
//! exit code says that something could not be read.

mod blobs;
mod cache;
mod carried;
mod grow;
mod history;
mod linediff;
mod loose;
mod plan;
mod quick;
mod range;
mod raw;
mod staged;
mod summary;
mod trees;
mod walk;
mod walklog;

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};

use git2::{Oid, Repository};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use crate::blob::{Collected, Provenance};
use crate::error::{Error, Result};
use crate::finding::{self, SkipReason, Skipped};

use cache::ScanCache;
pub(crate) use loose::check as check_loose_object;
pub(crate) use loose::ReleaseOnDrop as ObjectGuards;
pub(crate) use quick::{prepare_history, scan_history, HistoryRun};
pub(crate) use raw::parse_commit as parse_raw_commit;

pub(crate) use range::scan_range;
pub(crate) use staged::scan_staged;

#[cfg(doc)]
use crate::blob::BlobSink;

/// Settings shared by the git sources.
#[derive(Debug, Clone)]
pub(crate) struct GitOptions {
    /// A path inside the repository (work tree or bare).
    pub(crate) root: PathBuf,
    /// Blobs larger than this are skipped.
    pub(crate) max_file_size: u64,
}

/// How [`scan_planned`] scans.
#[derive(Clone, Copy)]
pub(crate) struct HistoryOptions<'a> {
    /// Blobs larger than this are skipped.
    pub(crate) max: u64,
    pub(crate) shard: Option<Shard>,
    /// What an earlier scan of the same identity found nothing in (`--cache`).
    pub(crate) cache: Option<&'a ScanCache>,
    pub(crate) meter: &'a Meter,
}

/// The phases of a history scan, as progress shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Not started.
    Start = 0,
    /// Comparing each commit's tree with its parent's: counts commits.
    Commits = 1,
    /// Reading and scanning blobs: counts blobs and bytes.
    Blobs = 2,
    /// Counting the commits that carry each finding: counts commits.
    Carried = 3,
}

impl Phase {
    /// The name progress lines use.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Phase::Start => "start",
            Phase::Commits => "commits",
            Phase::Blobs => "blobs",
            Phase::Carried => "carried",
        }
    }
}

/// Progress counters of a history scan, updated by its workers and read by the progress display.
#[derive(Debug, Default)]
pub(crate) struct Meter {
    phase: AtomicU8,
    done: AtomicU64,
    total: AtomicU64,
    bytes: AtomicU64,
    /// Phases entered since the display last looked, with their totals.
    started: std::sync::Mutex<Vec<(Phase, u64)>>,
}

impl Meter {
    /// Enters `phase`, with `total` items to do.
    pub(crate) fn start(&self, phase: Phase, total: u64) {
        if let Ok(mut s) = self.started.lock() {
            s.push((phase, total));
        }
        self.done.store(0, Ordering::Relaxed);
        self.bytes.store(0, Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
        self.phase.store(phase as u8, Ordering::Release);
    }

    /// Counts `items` done and `bytes` read.
    pub(crate) fn step(&self, items: u64, bytes: u64) {
        self.done.fetch_add(items, Ordering::Relaxed);
        if bytes > 0 {
            self.bytes.fetch_add(bytes, Ordering::Relaxed);
        }
    }

    /// The phases entered since the last call, in order, with their totals.
    pub(crate) fn take_started(&self) -> Vec<(Phase, u64)> {
        self.started.lock().map(|mut s| std::mem::take(&mut *s)).unwrap_or_default()
    }

    /// (phase, done, total, bytes) now.
    pub(crate) fn read(&self) -> (Phase, u64, u64, u64) {
        let phase = match self.phase.load(Ordering::Acquire) {
            1 => Phase::Commits,
            2 => Phase::Blobs,
            3 => Phase::Carried,
            _ => Phase::Start,
        };
        let total = self.total.load(Ordering::Relaxed);
        (phase, self.done.load(Ordering::Relaxed).min(total), total, self.bytes.load(Ordering::Relaxed))
    }
}

/// One shard of a history scan (`--shard I/N`): the blobs whose id, read as a number, is
/// `I - 1` modulo `N`. Blob ids are uniformly distributed, so shards are balanced, and a blob's
/// shard never changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shard {
    /// 1-based.
    pub(crate) index: u64,
    pub(crate) count: u64,
}

impl Shard {
    /// Whether this shard scans `blob`.
    pub(crate) fn owns(self, blob: Oid) -> bool {
        let mut w = [0u8; 8];
        w.copy_from_slice(&blob.as_bytes()[..8]);
        u64::from_be_bytes(w) % self.count.max(1) == self.index.saturating_sub(1)
    }
}

/// Each commit's provenance and order, by the commit's position in the walk (a
/// [`Use`](blobs::Use) names its commit so), packed: a row of numbers per commit, and the
/// authors, e-mails and dates of all of them in one string. A [`Provenance`] per commit would
/// hold four strings of its own: half a million small allocations on the rails history, kept for
/// the whole scan amid the walk's freed temporaries, which glibc's allocator then cannot return.
#[derive(Default)]
struct Infos {
    rows: Vec<Option<InfoRow>>,
    text: String,
}

/// One commit of [`Infos`]: its author, e-mail and date are `text[start..]`, one after the other.
#[derive(Clone, Copy)]
struct InfoRow {
    commit: Oid,
    time: i64,
    start: usize,
    lens: [u32; 3],
    /// Position in the oldest-first topological order (ties between equal times).
    order: u32,
}

impl Infos {
    /// Adds the next commit (`None`: its provenance could not be read).
    fn push(&mut self, p: Option<&Provenance>, commit: Oid, order: usize) {
        let row = p.map(|p| {
            let start = self.text.len();
            let fields = [&p.author, &p.email, &p.date];
            fields.iter().for_each(|f| self.text.push_str(f));
            let lens = fields.map(|f| f.len() as u32);
            InfoRow { commit, time: p.time, start, lens, order: order as u32 }
        });
        self.rows.push(row);
    }

    fn row(&self, commit: u32) -> Option<&InfoRow> {
        self.rows.get(commit as usize).and_then(Option::as_ref)
    }

    /// The key that picks the "first" commit: earliest author time, then topological order.
    fn key(&self, commit: u32) -> Option<(i64, usize)> {
        self.row(commit).map(|r| (r.time, r.order as usize))
    }

    /// The commit's provenance, as the walk read it.
    fn provenance(&self, commit: u32) -> Option<Provenance> {
        let r = self.row(commit)?;
        let mut at = r.start;
        let [author, email, date] = r.lens.map(|n| {
            let s = self.text.get(at..at + n as usize).unwrap_or_default().to_string();
            at += n as usize;
            s
        });
        Some(Provenance { commit: r.commit.to_string(), author, email, date, time: r.time })
    }
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
    /// Paths whose file, link or submodule the commit removed (or replaced with a directory).
    removed: Vec<String>,
    /// The first parent whose tree the commit was compared with (none: with the empty tree).
    first_parent: Option<Oid>,
    /// Whether the commit's own tree was read.
    tree_read: bool,
    /// Who made the commit, and when (history scans).
    provenance: Option<Provenance>,
    /// Its parents (history scans).
    parents: Vec<Oid>,
}

fn git_err(context: impl Into<String>) -> impl FnOnce(git2::Error) -> Error {
    let context = context.into();
    move |e| Error::Git { context, message: e.message().to_string() }
}

/// The size of each mapped window of a pack file. Windows are small so that the pages of a
/// pack that a scan holds mapped (and counts in its resident memory) are the ones it uses, and
/// so that the least recently used window that makes room is a small one.
const PACK_WINDOW: usize = 1 << 20;

/// The bytes of pack windows mapped at once, for all repositories of the process (libgit2's
/// default is 8 GiB). Reading a history jumps all over its pack, and each unmapping interrupts
/// every core that runs the process to flush its address translations: with 64 MiB in 16 MiB
/// windows, the rails history (a 295 MB pack) mapped and unmapped a window 146,000 times, and
/// on a loaded virtual machine most of a history scan's time went there. In 1 MiB windows, the
/// whole scan unmaps about 4,500 times with 128 MiB (1,800 with 256 MiB in 16 MiB windows,
/// 16,000 with 64 MiB), while its resident pages of mapped files (the pack, its index, the
/// program) drop from 110-240 MiB to about 100.
const PACK_MAPPED: usize = 128 << 20;

/// Opens the repository holding `root` (a work tree, a path inside one, or a bare repository).
/// Object hashes are not re-verified on read: a scanner reads every blob once, and SHA-1
/// verification of each would cost about a sixth of a history scan; corrupt objects still fail
/// to inflate or parse and are reported. Corrupt loose objects are hidden from libgit2 (see
/// [`loose`]): they read as missing, and [`read_error`] says why.
fn open(root: &Path) -> Result<Repository> {
    git2::opts::strict_hash_verification(false);
    // libgit2's object cache is off: its eviction scans its table from the start each time (a
    // tenth of a history walk's CPU once full), trees are cached by the walk itself (see
    // `trees`), and every blob is read once.
    git2::opts::enable_caching(false);
    super::malloc::cap_arenas();
    // SAFETY: these only set libgit2's global limits, before any repository of this run is used.
    unsafe {
        let _ = git2::opts::set_mwindow_size(PACK_WINDOW);
        let _ = git2::opts::set_mwindow_mapped_limit(PACK_MAPPED);
    }
    let repo = Repository::discover(root)
        .map_err(|e| Error::Usage(format!("{}: not a git repository ({})", root.display(), e.message())))?;
    loose::guard(&repo).map_err(|e| Error::Git {
        context: format!("{}: cannot check its loose objects", root.display()),
        message: e.to_string(),
    })?;
    Ok(repo)
}

/// Opens the repository at `git_dir` again (for a worker thread), hiding what [`open`] hid.
fn reopen(git_dir: &Path) -> Option<Repository> {
    loose::reopen(git_dir)
}

/// Why object `oid` could not be read: libgit2's message, or for a loose object hidden because
/// it is corrupt, what is wrong with it.
fn read_error(repo: &Repository, oid: Oid, e: &git2::Error) -> String {
    match loose::why_hidden(repo.path(), oid) {
        Some(why) => format!("corrupt loose object ({why}), not read"),
        None => e.message().to_string(),
    }
}

/// The top level of the git work tree holding `path`, if it is in one (not for a bare
/// repository).
pub(crate) fn work_tree_top(path: &Path) -> Option<PathBuf> {
    let repo = Repository::discover(path).ok()?;
    repo.workdir().map(Path::to_path_buf)
}

/// The byte budget of each thread's cache of recently read trees (two generations of it).
const TREE_CACHE: usize = 8 << 20;

/// One value per worker thread of a pool, made on first use and kept across rayon's splits of
/// the work (`map_init` makes one per split: a repository opened, and its caches cold, each
/// time).
struct PerThread<T> {
    slots: Vec<std::sync::Mutex<Option<T>>>,
}

impl<T: Send> PerThread<T> {
    fn new(pool: &rayon::ThreadPool) -> PerThread<T> {
        PerThread { slots: (0..pool.current_num_threads().max(1)).map(|_| Default::default()).collect() }
    }

    /// Runs `f` with this thread's value (made by `init` the first time). Each thread has its
    /// own slot, so the lock is never contended.
    fn with<R>(&self, init: impl FnOnce() -> T, f: impl FnOnce(&mut T) -> R) -> R {
        let i = rayon::current_thread_index().unwrap_or(0) % self.slots.len();
        let mut slot = self.slots[i].lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(slot.get_or_insert_with(init))
    }
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
        (Some(b), _) => finding::escape_path(b),
        (None, Some(p)) => finding::display_path(p),
        (None, None) => String::new(),
    }
}

fn push_special(out: &mut Collected, special: HashMap<String, SkipReason>) {
    for (path, reason) in special {
        let detail = if reason == SkipReason::Submodule { "submodule not followed" } else { "symbolic link" };
        out.skipped.push(Skipped { path, reason, detail: detail.into() });
    }
}

/// With `NDAGUARD_TIMING` set, says on stderr when a phase of a history scan ended, and (on
/// Linux) how much memory the process then held.
fn phase(clock: &std::time::Instant, name: &str) {
    if std::env::var_os("NDAGUARD_TIMING").is_some() {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        eprintln!("ndaguard: timing: {name} at {:.3} s{}", clock.elapsed().as_secs_f64(), memory_note(&status));
    }
}

/// ", N MiB anonymous + M MiB mapped files" from the text of `/proc/self/status`, or nothing.
fn memory_note(status: &str) -> String {
    let field = |name: &str| {
        let line = status.lines().find(|l| l.starts_with(name))?;
        line.split_whitespace().nth(1)?.parse::<u64>().ok()
    };
    match (field("RssAnon:"), field("RssFile:")) {
        (Some(a), Some(f)) => format!(", {} MiB anonymous + {} MiB mapped files", a / 1024, f / 1024),
        _ => String::new(),
    }
}
