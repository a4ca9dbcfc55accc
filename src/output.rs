//! Writing output files (reports, baselines, SARIF, the registry) whole.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` so that no reader sees half of it: into a temporary file in the same
/// directory, renamed over the old file. A symlink is followed: its target is replaced and the
/// link stays. A path that exists but is not a regular file (`/dev/null`, `/dev/stdout`, a named
/// pipe) is written in place, since a rename would replace the device or pipe with a file.
pub fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
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
    let dir = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or_else(|| Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all().ok();
    tmp.persist(&target).map_err(|e| e.error)?;
    Ok(())
}
