//! Advisory locks for read-modify-write of a shared file (the registry).
//!
//! The file itself is replaced by a rename on every write, so it cannot carry the lock: the
//! lock is taken on a lock file beside it (`registry.toml.lock`), which is created once, left
//! empty and never renamed. Locks are `flock(2)` locks (through `fs4`, like the incident
//! record's): they are released when the process exits, however it exits, so a killed writer
//! never leaves a stale lock behind.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// An exclusive lock, held until dropped.
#[derive(Debug)]
pub(crate) struct FileLock {
    _file: File,
}

/// The lock file of `path`: `path` with `.lock` appended.
pub(crate) fn lock_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".lock");
    PathBuf::from(p)
}

impl FileLock {
    /// Takes the exclusive lock of `path` (on [`lock_path`]), waiting for another holder to
    /// finish; says so on standard error when it has to wait.
    pub(crate) fn exclusive(path: &Path) -> Result<FileLock> {
        let lock = lock_path(path);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock)
            .map_err(|e| Error::io(&lock, e))?;
        if fs4::FileExt::try_lock(&file).is_err() {
            eprintln!("ndaguard: waiting for another ndaguard to finish with {}", path.display());
            fs4::FileExt::lock(&file).map_err(|e| Error::io(&lock, e))?;
        }
        Ok(FileLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_waits_for_the_first() {
        let t = tempfile::tempdir().expect("tmp");
        let target = t.path().join("reg.toml");
        let first = FileLock::exclusive(&target).expect("locks");
        assert_eq!(lock_path(&target), t.path().join("reg.toml.lock"));
        let (tx, rx) = std::sync::mpsc::channel();
        let p = target.clone();
        let h = std::thread::spawn(move || {
            let _second = FileLock::exclusive(&p).expect("locks");
            tx.send(()).expect("sends");
        });
        assert!(rx.recv_timeout(std::time::Duration::from_millis(200)).is_err(), "the second lock did not wait");
        drop(first);
        assert!(rx.recv_timeout(std::time::Duration::from_secs(5)).is_ok(), "the second lock never came");
        h.join().expect("joins");
    }
}
