//! The working-tree source: a parallel walk with `ignore`, and reading one file (and the one
//! text-or-binary rule that every source applies).
//!
//! The walk honours `.gitignore`, `.ignore` and `.ndaguardignore` files (in and out of git
//! repositories) unless `no_ignore` is set, includes hidden files (`.env` is where secrets live),
//! never descends into `.git/`, and does not follow symbolic links. Every entry it meets is handed
//! to a per-thread [`Visitor`] either as a file to scan or as a [`Skipped`] entry with its reason,
//! so that nothing is silently lost.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use ignore::{WalkBuilder, WalkState};

use crate::finding::{display_path, SkipReason, Skipped};

/// Name of ndaguard's own ignore file (gitignore syntax).
pub(crate) const IGNORE_FILE: &str = ".ndaguardignore";

/// How far into a file binary detection looks for a NUL byte; also how much of a large file or
/// stream is read first to decide what it is.
pub(crate) const PROBE: usize = 8 * 1024;

/// Walk settings.
#[derive(Debug, Clone)]
pub(crate) struct WalkOptions {
    /// Worker threads (0: one per core).
    pub(crate) threads: usize,
    /// Do not honour ignore files.
    pub(crate) no_ignore: bool,
}

/// What the walk meets.
#[derive(Debug)]
pub(crate) enum Walked {
    /// A regular file to scan.
    File {
        /// Path to open.
        path: PathBuf,
        /// Path relative to the scan root, as reports show it.
        rel: String,
    },
    /// An entry that will not be scanned.
    Skip(Skipped),
}

/// A per-thread consumer of walk entries. Return `false` to stop the whole walk.
pub(crate) trait Visitor: Send {
    /// Handles one entry.
    fn visit(&mut self, entry: Walked) -> bool;
}

/// A path named for a tree scan (a directory or a file), and how reports show it.
#[derive(Debug, Clone)]
pub(crate) struct WalkRoot {
    /// The path as given (opened and walked).
    pub(crate) path: PathBuf,
    /// How reports show `path` itself: its path relative to the directory that reported paths
    /// are relative to, or empty when it is that directory.
    pub(crate) shown: String,
    /// Whether `path` was named as a file (then `.ndaguardignore` decides whether it is read).
    pub(crate) named_file: bool,
}

/// Up to this many roots, [`Namer::name`] compares a path with each root.
const FEW_ROOTS: usize = 8;

/// Names walked paths as reports show them: relative to the root they were found under.
struct Namer {
    roots: Vec<WalkRoot>,
    index: HashMap<PathBuf, usize>,
}

impl Namer {
    fn new(roots: &[WalkRoot]) -> Namer {
        let mut index = HashMap::new();
        for (i, r) in roots.iter().enumerate() {
            index.entry(r.path.clone()).or_insert(i);
        }
        Namer { roots: roots.to_vec(), index }
    }

    /// The root `path` was found under (the nearest one) and the report path.
    fn name(&self, path: &Path) -> (Option<&WalkRoot>, String) {
        // With few roots (the usual one), comparing with each is cheaper than hashing every
        // ancestor of every path (3.5% of a Django tree scan's instructions).
        let nearest = if self.roots.len() <= FEW_ROOTS {
            self.roots
                .iter()
                .enumerate()
                .filter(|(_, r)| path.starts_with(&r.path))
                .max_by_key(|(i, r)| (r.path.components().count(), std::cmp::Reverse(*i)))
                .map(|(i, _)| i)
        } else {
            path.ancestors().find_map(|a| self.index.get(a).copied())
        };
        if let Some(i) = nearest {
            let root = &self.roots[i];
            let inside = path.strip_prefix(&root.path).ok().filter(|p| !p.as_os_str().is_empty());
            let name = match inside {
                None if root.shown.is_empty() => display_path(path),
                None => root.shown.clone(),
                Some(p) if root.shown.is_empty() => display_path(p),
                Some(p) => format!("{}/{}", root.shown, display_path(p)),
            };
            return (Some(root), name);
        }
        (None, display_path(path))
    }
}

/// The files named on the command line (roots) that a `.ndaguardignore` in their folder or a
/// folder above it, up to `top`, excludes (gitignore semantics: the nearest file that matches
/// decides). Each folder's list is read once, however many named files it holds.
fn ignored_named_files(roots: &[WalkRoot], top: &Path) -> HashSet<PathBuf> {
    let mut lists: HashMap<PathBuf, Option<ignore::gitignore::Gitignore>> = HashMap::new();
    let top = top.canonicalize().ok();
    let mut out = HashSet::new();
    for r in roots.iter().filter(|r| r.named_file) {
        let Some(name) = r.path.file_name() else { continue };
        let parent = r.path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let Ok(dir) = parent.canonicalize() else { continue };
        let file = dir.join(name);
        for folder in dir.ancestors() {
            let list = lists.entry(folder.to_path_buf()).or_insert_with(|| {
                let path = folder.join(IGNORE_FILE);
                // Read through the safe reader: a named pipe here must not block the scan.
                let text = crate::input::read_text(&path, crate::input::MAX_CONFIG_FILE).ok()?;
                let mut b = ignore::gitignore::GitignoreBuilder::new(folder);
                for line in text.lines() {
                    let _ = b.add_line(Some(path.clone()), line);
                }
                b.build().ok()
            });
            let verdict = list.as_ref().map(|gi| gi.matched_path_or_any_parents(&file, false));
            match verdict {
                Some(ignore::Match::Ignore(_)) => {
                    out.insert(r.path.clone());
                    break;
                }
                Some(ignore::Match::Whitelist(_)) => break,
                _ => {}
            }
            if top.as_deref().is_none_or(|t| folder == t || !folder.starts_with(t)) {
                break;
            }
        }
    }
    out
}

/// The ignore files the `ignore` crate opens in each folder it walks (and in the folders above a
/// root). It opens them itself, with a plain blocking `open`: a named pipe there would block the
/// walk forever, and a symbolic link to `/dev/zero` would fill memory.
const IGNORE_NAMES: [&str; 4] = [".gitignore", ".ignore", IGNORE_FILE, ".git/info/exclude"];

/// What one reading of the folder `dir` tells: how many files and folders it holds, and the first
/// ignore file in it that exists but is neither a regular file nor a folder (a named pipe, a
/// device, a socket, or a symbolic link to one). Only the ignore files the listing names are
/// looked up, so a folder costs one listing (most folders have none).
fn read_folder(dir: &Path) -> ([u64; 2], Option<PathBuf>) {
    let special = |p: &PathBuf| std::fs::metadata(p).is_ok_and(|m| !m.is_file() && !m.is_dir());
    // A folder that cannot be listed may still be searchable (`--x`): each name is looked up.
    let Ok(entries) = std::fs::read_dir(dir) else {
        return ([0, 0], IGNORE_NAMES.iter().map(|n| dir.join(n)).find(special));
    };
    let mut counts = [0u64; 2];
    // Which of `IGNORE_NAMES` may exist: the name itself, or `.git` for `.git/info/exclude`.
    let mut named = [false; IGNORE_NAMES.len()];
    for e in entries.flatten() {
        counts[usize::from(e.file_type().is_ok_and(|t| t.is_dir()))] += 1;
        let name = e.file_name();
        for (i, n) in IGNORE_NAMES.iter().enumerate() {
            named[i] |= n.split('/').next() == name.to_str();
        }
    }
    let bad = IGNORE_NAMES.iter().zip(named).filter(|(_, seen)| *seen).map(|(n, _)| dir.join(n)).find(special);
    (counts, bad)
}

/// Why a folder was walked without its ignore files.
const UNSAFE_IGNORE_DETAIL: &str = "an ignore file that is not a regular file (a named pipe or device) was not read; \
     ignore files in and under its folder were not honoured, so everything there was scanned";

/// What the walk's threads share.
struct Walk {
    namer: Namer,
    /// Files named as roots that `.ndaguardignore` excludes.
    ignored: HashSet<PathBuf>,
    /// Folders holding an unsafe ignore file (with that file), to walk again without ignore files.
    unsafe_dirs: std::sync::Mutex<Vec<(PathBuf, PathBuf)>>,
    /// Unsafe ignore files, reported once (not again when the second walk meets them).
    unsafe_files: std::sync::OnceLock<HashSet<PathBuf>>,
    /// A visitor asked to stop.
    stopped: std::sync::atomic::AtomicBool,
    /// Whether ignore files are honoured (not `--no-ignore`).
    honour: bool,
    /// Entries that got past the ignore files (files, folders) and entries the walked folders
    /// hold (files, folders): the difference is what ignore files excluded.
    passed: [std::sync::atomic::AtomicU64; 2],
    listed: [std::sync::atomic::AtomicU64; 2],
}

/// What ignore files excluded from a walk: entries of the walked folders, not counting what an
/// excluded folder holds (the walk never reads it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Excluded {
    /// Files (and other entries that are not folders).
    pub(crate) files: u64,
    /// Folders.
    pub(crate) folders: u64,
}

impl Walk {
    fn count(counts: &[std::sync::atomic::AtomicU64; 2], is_dir: bool, n: u64) {
        counts[usize::from(is_dir)].fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }

    /// Counts the entries of a walked folder (`counts` from [`read_folder`]).
    fn list(&self, counts: [u64; 2]) {
        Walk::count(&self.listed, false, counts[0]);
        Walk::count(&self.listed, true, counts[1]);
    }

    fn excluded(&self) -> Excluded {
        let n = |c: &[std::sync::atomic::AtomicU64; 2], i: usize| c[i].load(std::sync::atomic::Ordering::Relaxed);
        Excluded {
            files: n(&self.listed, 0).saturating_sub(n(&self.passed, 0)),
            folders: n(&self.listed, 1).saturating_sub(n(&self.passed, 1)),
        }
    }
}

/// Walks `roots` in parallel; `make` builds one visitor per worker thread. `top` is the highest
/// folder whose `.ndaguardignore` applies to a file named as a root.
///
/// A folder holding an ignore file that is not a regular file (or a root below such a folder) is
/// not read with ignore files: the walk leaves it out, and a second walk scans it whole after
/// reporting that ignore file as skipped.
///
/// Returns what ignore files excluded (entries of the folders walked with ignore files).
pub(crate) fn walk<'s, F, V>(roots: &[WalkRoot], top: &Path, opts: &WalkOptions, mut make: F) -> Excluded
where
    F: FnMut() -> V,
    V: Visitor + 's,
{
    let honour = !opts.no_ignore;
    let mut unsafe_dirs = Vec::new();
    let mut plain = Vec::new();
    for r in roots {
        let bad = honour.then(|| unsafe_root(&r.path)).flatten();
        match bad {
            Some(file) => unsafe_dirs.push((r.path.clone(), file)),
            None => plain.push(r.path.clone()),
        }
    }
    let shared = std::sync::Arc::new(Walk {
        namer: Namer::new(roots),
        ignored: if honour { ignored_named_files(roots, top) } else { HashSet::new() },
        unsafe_dirs: std::sync::Mutex::new(unsafe_dirs),
        unsafe_files: std::sync::OnceLock::new(),
        stopped: std::sync::atomic::AtomicBool::new(false),
        honour,
        passed: Default::default(),
        listed: Default::default(),
    });
    run_walk(&plain, honour, opts.threads, &shared, &mut make);
    let excluded = shared.excluded();
    let dirs = std::mem::take(&mut *shared.unsafe_dirs.lock().unwrap_or_else(|p| p.into_inner()));
    if dirs.is_empty() || shared.stopped.load(std::sync::atomic::Ordering::Relaxed) {
        return excluded;
    }
    let mut visitor = make();
    for (_, file) in &dirs {
        let path = shared.namer.name(file).1;
        let skip = Skipped { path, reason: SkipReason::Special, detail: UNSAFE_IGNORE_DETAIL.into() };
        if !visitor.visit(Walked::Skip(skip)) {
            return excluded;
        }
    }
    drop(visitor);
    let _ = shared.unsafe_files.set(dirs.iter().map(|(_, f)| f.clone()).collect());
    let folders: Vec<PathBuf> = dirs.into_iter().map(|(d, _)| d).collect();
    run_walk(&folders, false, opts.threads, &shared, &mut make);
    excluded
}

/// The unsafe ignore file in the folder `root` or in a folder above it, if any.
fn unsafe_root(root: &Path) -> Option<PathBuf> {
    if !root.is_dir() {
        return None;
    }
    let abs = root.canonicalize().ok()?;
    abs.ancestors().find_map(|d| read_folder(d).1)
}

/// One parallel walk of `paths`, with ignore files or without.
fn run_walk<'s, F, V>(paths: &[PathBuf], honour: bool, threads: usize, shared: &std::sync::Arc<Walk>, make: &mut F)
where
    F: FnMut() -> V,
    V: Visitor + 's,
{
    let Some(first) = paths.first() else { return };
    let mut builder = WalkBuilder::new(first);
    for p in &paths[1..] {
        builder.add(p);
    }
    let filter = std::sync::Arc::clone(shared);
    builder
        .hidden(false)
        .parents(honour)
        .ignore(honour)
        .git_ignore(honour)
        .git_exclude(honour)
        .git_global(false)
        .require_git(false)
        .follow_links(false)
        .threads(threads)
        .filter_entry(move |e| {
            let is_dir = e.file_type().is_some_and(|t| t.is_dir());
            if honour {
                // Whatever reaches this filter got past the ignore files.
                Walk::count(&filter.passed, is_dir, 1);
            }
            if e.file_name() == ".git" && e.depth() > 0 {
                return false;
            }
            if !honour || !is_dir {
                return true;
            }
            // The folder is read here once, for its unsafe ignore files and its entry counts.
            let (counts, bad) = read_folder(e.path());
            let Some(file) = bad else {
                filter.list(counts);
                return true;
            };
            let mut dirs = filter.unsafe_dirs.lock().unwrap_or_else(|p| p.into_inner());
            dirs.push((e.path().to_path_buf(), file));
            false
        });
    if honour {
        builder.add_custom_ignore_filename(IGNORE_FILE);
    }
    builder.build_parallel().run(|| {
        let mut visitor = make();
        let shared = std::sync::Arc::clone(shared);
        Box::new(move |res| {
            if let Ok(e) = &res {
                // A root is not filtered (`filter_entry` sees the folders below it): its entries
                // are counted here.
                if honour && e.depth() == 0 && e.file_type().is_some_and(|t| t.is_dir()) {
                    shared.list(read_folder(e.path()).0);
                }
            }
            let keep_going = match res {
                Ok(e) if shared.unsafe_files.get().is_some_and(|f| f.contains(e.path())) => true,
                Ok(e) => entry(&shared, e).is_none_or(|item| visitor.visit(item)),
                Err(err) => {
                    let (path, reason) = error_info(&err);
                    let rel = path.as_deref().map(|p| shared.namer.name(p).1).unwrap_or_else(|| "<walk>".to_string());
                    visitor.visit(Walked::Skip(Skipped { path: rel, reason, detail: err.to_string() }))
                }
            };
            if !keep_going {
                shared.stopped.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            cont(keep_going)
        })
    });
}

/// What the walk makes of one entry (`None` for a folder).
fn entry(shared: &Walk, entry: ignore::DirEntry) -> Option<Walked> {
    let (root, rel) = shared.namer.name(entry.path());
    let Some(ft) = entry.file_type() else {
        // stdin is never walked; an entry without a type is unusual: report it.
        return Some(Walked::Skip(Skipped {
            path: rel,
            reason: SkipReason::Special,
            detail: "unknown file type".into(),
        }));
    };
    if ft.is_dir() {
        return None;
    }
    let named = entry.depth() == 0 && root.is_some_and(|r| r.named_file);
    Some(if ft.is_file() && named && shared.ignored.contains(entry.path()) {
        Walked::Skip(Skipped {
            path: rel,
            reason: SkipReason::Allowlisted,
            detail: format!("excluded by {IGNORE_FILE}"),
        })
    } else if ft.is_file() {
        Walked::File { path: entry.into_path(), rel }
    } else {
        // An ignore file that the walk did not read because of what it is (or points to).
        let unsafe_ignore = shared.honour
            && IGNORE_NAMES[..3].iter().any(|n| entry.file_name() == *n)
            && std::fs::metadata(entry.path()).is_ok_and(|m| !m.is_file() && !m.is_dir());
        let (reason, detail) = if ft.is_symlink() {
            (SkipReason::Symlink, "symbolic link not followed")
        } else {
            (SkipReason::Special, "not a regular file")
        };
        let detail = if unsafe_ignore { UNSAFE_IGNORE_DETAIL } else { detail };
        Walked::Skip(Skipped { path: rel, reason, detail: detail.into() })
    })
}

fn cont(keep_going: bool) -> WalkState {
    if keep_going {
        WalkState::Continue
    } else {
        WalkState::Quit
    }
}

fn error_info(err: &ignore::Error) -> (Option<PathBuf>, SkipReason) {
    match err {
        ignore::Error::WithPath { path, err } => (Some(path.clone()), error_info(err).1),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => error_info(err),
        ignore::Error::Loop { child, .. } => (Some(child.clone()), SkipReason::Symlink),
        _ => (None, SkipReason::Unreadable),
    }
}

/// What reading a file gave.
#[derive(Debug)]
pub(crate) enum Content {
    /// Text to scan (UTF-16 files are already transcoded to UTF-8).
    Text(Vec<u8>),
    /// Not scanned, with the reason and a detail.
    Skip(SkipReason, String),
}

/// Opens a file the walk listed, for scanning, and gives its size. Never blocks and never reads
/// anything but a regular file: the type is checked on the open handle, so a file replaced by a
/// named pipe or a device after it was listed is skipped (`special`), not read.
pub(crate) fn open_listed(path: &Path) -> Result<(File, u64), (SkipReason, String)> {
    let (file, meta) = crate::input::open_no_wait(path).map_err(|e| (SkipReason::Unreadable, e.to_string()))?;
    if !meta.is_file() {
        return Err((SkipReason::Special, "not a regular file when opened (replaced after it was listed)".into()));
    }
    Ok((file, meta.len()))
}

/// Reads a file [`open_listed`] opened, of `size` bytes, for scanning: files over `max_size`
/// bytes and binary files (unless `reads_binary`, asked only for a binary file, says a rule reads
/// it) are skipped; UTF-16 text (with a byte-order mark) is transcoded to UTF-8.
pub(crate) fn read_open(mut file: File, size: u64, max_size: u64, reads_binary: impl FnOnce() -> bool) -> Content {
    if size > max_size {
        return Content::Skip(SkipReason::TooLarge, format!("{size} bytes > limit of {max_size}"));
    }
    let mut data = Vec::with_capacity(size as usize);
    // Read at most one byte past the limit: a file that grew mid-scan is still bounded.
    if let Err(e) = (&mut file).take(max_size.saturating_add(1)).read_to_end(&mut data) {
        return Content::Skip(SkipReason::Unreadable, e.to_string());
    }
    if data.len() as u64 > max_size {
        return Content::Skip(
            SkipReason::TooLarge,
            format!("grew past the limit of {max_size} bytes while being read"),
        );
    }
    match kind_of(&data) {
        Kind::Utf16(text) => Content::Text(text),
        Kind::Binary if !reads_binary() => Content::Skip(SkipReason::Binary, BINARY_DETAIL.into()),
        Kind::Binary | Kind::Plain => Content::Text(data),
    }
}

/// What some bytes are, by [`kind_of`].
pub(crate) enum Kind {
    /// UTF-16 text, transcoded to UTF-8.
    Utf16(Vec<u8>),
    /// Binary: not scanned (see [`BINARY_DETAIL`]).
    Binary,
    /// Text to scan as it is.
    Plain,
}

/// Decides whether bytes are text (UTF-16 first, transcoded) or binary: the one rule for files,
/// standard input and git blobs. Borrows, so that a caller holding the bytes keeps them.
pub(crate) fn kind_of(data: &[u8]) -> Kind {
    if let Some(text) = decode_utf16(data) {
        Kind::Utf16(text)
    } else if is_binary(data) {
        Kind::Binary
    } else {
        Kind::Plain
    }
}

/// [`kind_of`] for owned bytes.
pub(crate) fn classify(data: Vec<u8>) -> Content {
    match kind_of(&data) {
        Kind::Utf16(text) => Content::Text(text),
        Kind::Binary => Content::Skip(SkipReason::Binary, BINARY_DETAIL.into()),
        Kind::Plain => Content::Text(data),
    }
}

/// Why a binary file is skipped.
pub(crate) const BINARY_DETAIL: &str = "NUL byte in the first 8 KiB";

/// Whether `data` (not UTF-16) is binary: a NUL byte in its first 8 KiB.
pub(crate) fn is_binary(data: &[u8]) -> bool {
    memchr::memchr(0, &data[..data.len().min(PROBE)]).is_some()
}

/// UTF-16 with a byte-order mark, or without one when the first bytes alternate with NULs as
/// ASCII text in UTF-16 does, transcoded to UTF-8.
pub(crate) fn decode_utf16(data: &[u8]) -> Option<Vec<u8>> {
    let (little, bom) = utf16_encoding(data)?;
    let body = &data[bom..];
    let units = body.chunks_exact(2).map(|c| {
        if little {
            u16::from_le_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], c[1]])
        }
    });
    let text: String = char::decode_utf16(units).map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER)).collect();
    Some(text.into_bytes())
}

/// Whether `data` (the whole of some bytes or their start) is UTF-16 as [`decode_utf16`]
/// decides: little-endian or not, and the length of the byte-order mark (0 or 2).
pub(crate) fn utf16_encoding(data: &[u8]) -> Option<(bool, usize)> {
    if data.starts_with(&[0xFF, 0xFE]) {
        Some((true, 2))
    } else if data.starts_with(&[0xFE, 0xFF]) {
        Some((false, 2))
    } else if looks_utf16(data, true) {
        Some((true, 0))
    } else if looks_utf16(data, false) {
        Some((false, 0))
    } else {
        None
    }
}

fn looks_utf16(data: &[u8], little: bool) -> bool {
    let probe = &data[..data.len().min(512)];
    if probe.len() < 16 {
        return false;
    }
    let pairs = probe.chunks_exact(2);
    let n = pairs.len();
    let ascii_like = pairs
        .filter(|c| {
            let (lo, hi) = if little { (c[0], c[1]) } else { (c[1], c[0]) };
            hi == 0 && (lo == b'\n' || lo == b'\r' || lo == b'\t' || (0x20..0x7f).contains(&lo))
        })
        .count();
    ascii_like * 10 >= n * 9
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_with_and_without_bom() {
        let text = "token = \"abc\"\r\nnext line here\n";
        let mut le = vec![0xFF, 0xFE];
        le.extend(text.encode_utf16().flat_map(|u| u.to_le_bytes()));
        assert_eq!(decode_utf16(&le).as_deref(), Some(text.as_bytes()));
        let be: Vec<u8> = text.encode_utf16().flat_map(|u| u.to_be_bytes()).collect();
        assert_eq!(decode_utf16(&be).as_deref(), Some(text.as_bytes()));
        assert_eq!(decode_utf16(text.as_bytes()), None);
    }

    #[test]
    fn a_file_replaced_by_a_named_pipe_is_refused_on_the_open_handle() {
        let t = tempfile::tempdir().expect("tmp");
        let path = t.path().join("swapped.txt");
        let ok = std::process::Command::new("mkfifo").arg(&path).status().expect("mkfifo").success();
        assert!(ok);
        // The walk listed a regular file; by the time it is opened it is a pipe nobody writes to.
        let started = std::time::Instant::now();
        let err = open_listed(&path).expect_err("refused");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        assert!(matches!(err.0, SkipReason::Special), "{err:?}");
        std::fs::remove_file(&path).expect("rm");
        std::fs::write(&path, "text").expect("write");
        assert_eq!(open_listed(&path).expect("opens").1, 4);
    }

    #[test]
    fn binary_is_skipped() {
        assert!(matches!(classify(b"abc\0def".to_vec()), Content::Skip(SkipReason::Binary, _)));
        assert!(matches!(classify(b"plain text".to_vec()), Content::Text(_)));
    }
}
