//! Writing output files (reports, baselines, SARIF, the registry) whole.
//!
//! A file is written into a temporary file in the same directory and renamed over the old one,
//! so no reader ever sees half of it. The new file keeps the old one's permissions; a new file
//! gets `0666` minus the umask, like any file a shell redirection creates (the registry holds
//! keyed hashes only and is meant to be committed, reports hold redacted secrets, so none of
//! them needs to be private by default). A file without write permission is not replaced.
//!
//! Output paths inside the scanned tree are not trusted: the tree may come from a pull request,
//! and a committed symlink named like the report must not make ndaguard overwrite a file
//! elsewhere. There, a symlinked folder is refused and a symlink at the output path itself is
//! replaced by the report instead of being followed.

use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Writes `bytes` to `path` whole. A symlink is followed: its target is replaced and the link
/// stays. A path that exists but is not a regular file (`/dev/null`, `/dev/stdout`, a named
/// pipe) is written in place, since a rename would replace the device or pipe with a file.
pub fn write_whole(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Ok(meta) = std::fs::metadata(path) {
        if !meta.is_file() {
            let mut file = std::fs::OpenOptions::new().write(true).open(path)?;
            return file.write_all(bytes);
        }
    }
    let target: PathBuf = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
        _ => path.to_path_buf(),
    };
    replace(&target, bytes)
}

/// Whether `path` names a regular file (through a symlink too): a file an interrupted run must
/// not replace with a partial one.
pub fn holds_file(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file())
}

/// Writes `bytes` to `path` whole like [`write_whole`], except that when `path` lies inside
/// `tree` (the scanned tree, which may hold symlinks an attacker committed) no symlink is
/// followed: a symlinked folder on the way is an error, and a symlink at `path` itself is
/// replaced by a regular file.
pub fn write_whole_within(path: &Path, bytes: &[u8], tree: &Path) -> io::Result<()> {
    let Some(inside) = relative_inside(path, tree) else { return write_whole(path, bytes) };
    let base = std::path::absolute(tree)?;
    let mut at = base.clone();
    let parts: Vec<_> = inside.components().collect();
    for (i, c) in parts.iter().enumerate() {
        at.push(c.as_os_str());
        let last = i + 1 == parts.len();
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() && !last => {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!("{} is a symlink inside the scanned tree; refusing to write through it", at.display()),
                ))
            }
            Ok(m) if last && !m.is_file() && !m.file_type().is_symlink() => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{} exists and is not a regular file", at.display()),
                ))
            }
            _ => {}
        }
    }
    replace(&at, bytes)
}

/// `path` relative to `tree` if it lies inside it (compared as absolute paths, `..` resolved
/// lexically, and by the folders' real locations).
fn relative_inside(path: &Path, tree: &Path) -> Option<PathBuf> {
    let tree_abs = normalize(&std::path::absolute(tree).ok()?);
    let path_abs = normalize(&std::path::absolute(path).ok()?);
    if let Ok(rel) = path_abs.strip_prefix(&tree_abs) {
        return Some(rel.to_path_buf()).filter(|r| !r.as_os_str().is_empty());
    }
    // The same tree reached through another name (a symlinked parent of the tree, or a
    // symlink outside the tree pointing into it).
    let tree_real = std::fs::canonicalize(tree).ok()?;
    let parent_real = std::fs::canonicalize(path_abs.parent()?).ok()?;
    let rel = parent_real.strip_prefix(&tree_real).ok()?;
    Some(rel.join(path_abs.file_name()?))
}

/// Resolves `.` and `..` without touching the file system.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Writes a temporary file beside `target` and renames it over `target` (which is not
/// followed if it is a symlink).
fn replace(target: &Path, bytes: &[u8]) -> io::Result<()> {
    let mode = match std::fs::symlink_metadata(target) {
        Ok(m) if m.is_file() => {
            if m.permissions().readonly() {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!("the file is read-only (mode {:04o}); not replaced", m.permissions().mode() & 0o7777),
                ));
            }
            Some(m.permissions().mode() & 0o7777)
        }
        _ => None,
    };
    let dir = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or_else(|| Path::new("."));
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let (tmp, mut file) = loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.{}.{n}.ndaguard-tmp", std::process::id()));
        match std::fs::OpenOptions::new().write(true).create_new(true).mode(mode.unwrap_or(0o666)).open(&tmp) {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    };
    let written = (|| {
        file.write_all(bytes)?;
        if let Some(mode) = mode {
            // The umask applied at creation may have cleared bits the old file had.
            file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        file.sync_all().ok();
        std::fs::rename(&tmp, target)
    })();
    if written.is_err() {
        std::fs::remove_file(&tmp).ok();
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inside_is_decided_on_absolute_paths() {
        let t = tempfile::tempdir().expect("tmp");
        let root = t.path();
        assert_eq!(relative_inside(&root.join("a/b.txt"), root), Some(PathBuf::from("a/b.txt")));
        assert_eq!(relative_inside(&root.join("a/../b.txt"), root), Some(PathBuf::from("b.txt")));
        assert_eq!(relative_inside(&root.join("../x.txt"), root), None);
    }
}
