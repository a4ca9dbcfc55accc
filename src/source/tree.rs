//! The working-tree source: a parallel walk with `ignore`, and reading one file (and the one
//! text-or-binary rule that every source applies).
//!
//! The walk honours `.gitignore`, `.ignore` and `.ndaguardignore` files (in and out of git
//! repositories) unless `no_ignore` is set, includes hidden files (`.env` is where secrets live),
//! never descends into `.git/`, and does not follow symbolic links. Every entry it meets is handed
//! to a per-thread [`Visitor`] either as a file to scan or as a [`Skipped`] entry with its reason,
//! so that nothing is silently lost.

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

/// The path of `path` relative to `root`, as reports show it.
pub(crate) fn relative(root: &Path, path: &Path) -> String {
    if root.is_file() || root == path {
        return display_path(path);
    }
    match path.strip_prefix(root) {
        Ok(rel) if !rel.as_os_str().is_empty() => display_path(rel),
        _ => display_path(path),
    }
}

/// Walks `root` in parallel; `make` builds one visitor per worker thread.
pub(crate) fn walk<'s, F, V>(root: &Path, opts: &WalkOptions, mut make: F)
where
    F: FnMut() -> V,
    V: Visitor + 's,
{
    let mut builder = WalkBuilder::new(root);
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
    let root_buf = root.to_path_buf();
    builder.build_parallel().run(|| {
        let mut visitor = make();
        let root = root_buf.clone();
        Box::new(move |res| {
            let entry = match res {
                Ok(e) => e,
                Err(err) => {
                    let (path, reason) = error_info(&err);
                    let rel = path.as_deref().map(|p| relative(&root, p)).unwrap_or_else(|| "<walk>".to_string());
                    let keep_going =
                        visitor.visit(Walked::Skip(Skipped { path: rel, reason, detail: err.to_string() }));
                    return if keep_going { WalkState::Continue } else { WalkState::Quit };
                }
            };
            let Some(ft) = entry.file_type() else {
                // stdin is never walked; an entry without a type is unusual: report it.
                let rel = relative(&root, entry.path());
                return cont(visitor.visit(Walked::Skip(Skipped {
                    path: rel,
                    reason: SkipReason::Special,
                    detail: "unknown file type".into(),
                })));
            };
            if ft.is_dir() {
                return WalkState::Continue;
            }
            let rel = relative(&root, entry.path());
            let item = if ft.is_file() {
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
    if let Err(e) = (&mut file).take(max_size + 1).read_to_end(&mut data) {
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
