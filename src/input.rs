//! Reading the files that arguments and configuration name: the configuration, rule files, the
//! registry, the baseline, the CI event payload.
//!
//! Such a path can name anything: `/dev/zero`, a named pipe nobody writes to, a multi-gigabyte
//! log. So the file is opened without blocking (a FIFO's open would otherwise wait for a
//! writer), its type is checked on the open handle (no race with a rename between a check and
//! the open), anything but a regular file is refused, and no more than a limit is read.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::error::{Error, Result};

/// The most a configuration or rule file may hold: 16 MiB.
pub(crate) const MAX_CONFIG_FILE: u64 = 16 * 1024 * 1024;

/// The most a registry or baseline may hold: 1 GiB (a registry of a million tokens is about
/// 400 MiB).
pub(crate) const MAX_DATA_FILE: u64 = 1024 * 1024 * 1024;

/// Opens `path` for reading without waiting: with `O_NONBLOCK`, so that opening a named pipe
/// nobody writes to returns at once instead of blocking forever, and returns the metadata of the
/// open handle (not of the path: a file swapped for a pipe after a check is seen as the pipe).
/// The caller checks the type; `O_NONBLOCK` changes nothing for reading a regular file.
pub(crate) fn open_no_wait(path: &Path) -> std::io::Result<(std::fs::File, std::fs::Metadata)> {
    let file =
        std::fs::OpenOptions::new().read(true).custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32).open(path)?;
    let meta = file.metadata()?;
    Ok((file, meta))
}

/// Reads the regular file `path` as UTF-8 text of at most `limit` bytes; anything else is an
/// error naming the file.
pub(crate) fn read_text(path: &Path, limit: u64) -> Result<String> {
    let bytes = read_bytes(path, limit)?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        Error::invalid(path.display().to_string(), Some(line), "the file is not valid UTF-8")
    })
}

/// Reads the regular file `path`, at most `limit` bytes (see [`read_text`]).
pub(crate) fn read_bytes(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let (file, meta) = open_no_wait(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        let kind = if meta.is_dir() { "a folder" } else { "not a regular file (a device, pipe or socket)" };
        return Err(Error::invalid(path.display().to_string(), None, format!("is {kind}; expected a file")));
    }
    if meta.len() > limit {
        return Err(too_large(path, limit));
    }
    let mut buf = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1).read_to_end(&mut buf).map_err(|e| Error::io(path, e))?;
    if buf.len() as u64 > limit {
        return Err(too_large(path, limit));
    }
    Ok(buf)
}

fn too_large(path: &Path, limit: u64) -> Error {
    Error::invalid(path.display().to_string(), None, format!("is larger than {} MiB; refusing to read it", limit >> 20))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_folders_and_big_files_are_refused() {
        let e = read_text(Path::new("/dev/zero"), MAX_CONFIG_FILE).unwrap_err().to_string();
        assert!(e.contains("/dev/zero") && e.contains("not a regular file"), "{e}");
        let t = tempfile::tempdir().expect("tmp");
        let e = read_text(t.path(), MAX_CONFIG_FILE).unwrap_err().to_string();
        assert!(e.contains("a folder"), "{e}");
        let big = t.path().join("big.toml");
        std::fs::write(&big, vec![b'#'; 2048]).expect("write");
        assert!(read_text(&big, 1024).unwrap_err().to_string().contains("larger than"));
        assert_eq!(read_text(&big, 4096).expect("reads").len(), 2048);
        std::fs::write(&big, b"a = 1\n\xff\n").expect("write");
        let e = read_text(&big, 4096).unwrap_err().to_string();
        assert!(e.contains("big.toml:2") && e.contains("UTF-8"), "{e}");
    }
}
