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
        for ancestor in path.ancestors() {
            let Some(&i) = self.index.get(ancestor) else { continue };
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
                path.is_file().then(|| {
                    let mut b = ignore::gitignore::GitignoreBuilder::new(folder);
                    b.add(&path);
                    b.build().ok()
                })?
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

/// Walks `roots` in parallel; `make` builds one visitor per worker thread. `top` is the highest
/// folder whose `.ndaguardignore` applies to a file named as a root.
pub(crate) fn walk<'s, F, V>(roots: &[WalkRoot], top: &Path, opts: &WalkOptions, mut make: F)
where
    F: FnMut() -> V,
    V: Visitor + 's,
{
    let Some(first) = roots.first() else { return };
    let mut builder = WalkBuilder::new(&first.path);
    for r in &roots[1..] {
        builder.add(&r.path);
    }
    let honour = !opts.no_ignore;
    builder
        .hidden(false)
        .parents(honour)
        .ignore(honour)
        .git_ignore(honour)
        .git_exclude(honour)
        .git_global(false)
        .require_git(false)
        .follow_links(false)
        .threads(opts.threads)
        .filter_entry(|e| e.file_name() != ".git" || e.depth() == 0);
    if honour {
        builder.add_custom_ignore_filename(IGNORE_FILE);
    }
    let namer = std::sync::Arc::new(Namer::new(roots));
    let ignored = std::sync::Arc::new(if honour { ignored_named_files(roots, top) } else { HashSet::new() });
    builder.build_parallel().run(|| {
        let mut visitor = make();
        let namer = std::sync::Arc::clone(&namer);
        let ignored = std::sync::Arc::clone(&ignored);
        Box::new(move |res| {
            let entry = match res {
                Ok(e) => e,
                Err(err) => {
                    let (path, reason) = error_info(&err);
                    let rel = path.as_deref().map(|p| namer.name(p).1).unwrap_or_else(|| "<walk>".to_string());
                    let keep_going =
                        visitor.visit(Walked::Skip(Skipped { path: rel, reason, detail: err.to_string() }));
                    return if keep_going { WalkState::Continue } else { WalkState::Quit };
                }
            };
            let (root, rel) = namer.name(entry.path());
            let Some(ft) = entry.file_type() else {
                // stdin is never walked; an entry without a type is unusual: report it.
                return cont(visitor.visit(Walked::Skip(Skipped {
                    path: rel,
                    reason: SkipReason::Special,
                    detail: "unknown file type".into(),
                })));
            };
            if ft.is_dir() {
                return WalkState::Continue;
            }
            let named = entry.depth() == 0 && root.is_some_and(|r| r.named_file);
            let item = if ft.is_file() && named && ignored.contains(entry.path()) {
                Walked::Skip(Skipped {
                    path: rel,
                    reason: SkipReason::Allowlisted,
                    detail: format!("excluded by {IGNORE_FILE}"),
                })
            } else if ft.is_file() {
                Walked::File { path: entry.into_path(), rel }
            } else if ft.is_symlink() {
                Walked::Skip(Skipped {
                    path: rel,
                    reason: SkipReason::Symlink,
                    detail: "symbolic link not followed".into(),
                })
            } else {
                Walked::Skip(Skipped { path: rel, reason: SkipReason::Special, detail: "not a regular file".into() })
            };
            cont(visitor.visit(item))
        })
    });
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

/// Reads `path` for scanning: files over `max_size` bytes and binary files are skipped; UTF-16
/// text (with a byte-order mark) is transcoded to UTF-8.
pub(crate) fn read_file(path: &Path, max_size: u64) -> Content {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) => return Content::Skip(SkipReason::Unreadable, e.to_string()),
    };
    let size = match file.metadata() {
        Ok(m) => m.len(),
        Err(e) => return Content::Skip(SkipReason::Unreadable, e.to_string()),
    };
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
    classify(data)
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

/// Whether `data` starts with a UTF-16 byte-order mark (such text is transcoded whole, never
/// scanned in chunks).
pub(crate) fn has_utf16_bom(data: &[u8]) -> bool {
    data.starts_with(&[0xFF, 0xFE]) || data.starts_with(&[0xFE, 0xFF])
}

/// UTF-16 with a byte-order mark, or without one when the first bytes alternate with NULs as
/// ASCII text in UTF-16 does, transcoded to UTF-8.
pub(crate) fn decode_utf16(data: &[u8]) -> Option<Vec<u8>> {
    let (little, body) = if data.starts_with(&[0xFF, 0xFE]) {
        (true, &data[2..])
    } else if data.starts_with(&[0xFE, 0xFF]) {
        (false, &data[2..])
    } else if looks_utf16(data, true) {
        (true, data)
    } else if looks_utf16(data, false) {
        (false, data)
    } else {
        return None;
    };
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
    fn binary_is_skipped() {
        assert!(matches!(classify(b"abc\0def".to_vec()), Content::Skip(SkipReason::Binary, _)));
        assert!(matches!(classify(b"plain text".to_vec()), Content::Text(_)));
    }
}
