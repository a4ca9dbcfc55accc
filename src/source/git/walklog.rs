//! What the commit walk learned about each commit, compactly, and its cache (`--cache DIR`).
//!
//! A commit's record is its parents, its provenance, the first parent it was compared with and
//! every path it set (to a blob, a link or a submodule, with the blob it replaced) or removed,
//! with paths interned. All of it is a function of the commit's id alone (git objects are named
//! by their content), so a record is reused by any later scan of any repository holding that
//! commit: `DIR/history-walk.cache` keeps the records of the last walk, and a rescan reads only
//! the commits it does not know. Commits that could not be read whole are never recorded.
//!
//! The cache holds commit and blob ids, paths, and the authors' names, e-mails and dates: what
//! the repository's metadata shows anyway, never a blob's content. It is written whole (temp
//! file and rename) with a SHA-256 of its content; a file that is truncated, corrupt or of
//! another format or ndaguard version is ignored with a note.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use git2::Oid;
use sha2::{Digest, Sha256};

use super::{ChangeKind, CommitChanges, OidMap};
use crate::blob::Provenance;

const MAGIC: &[u8; 20] = b"NDAGUARD-WALK-CACHE\n";
const FORMAT: u32 = 1;

/// What a commit did to one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Set {
    pub(super) path: u32,
    /// The new entry (zero: the path was removed).
    pub(super) blob: Oid,
    pub(super) kind: ChangeKind,
    /// The blob it replaced at the same path (a modification of a file).
    pub(super) old: Option<Oid>,
}

/// What the walk learned about one commit.
#[derive(Debug, Clone, Default)]
pub(super) struct Record {
    pub(super) parents: Vec<Oid>,
    pub(super) provenance: Option<Provenance>,
    /// The first parent whose tree it was compared with (none: with the empty tree).
    pub(super) first_parent: Option<Oid>,
    /// Whether its tree was read (a commit whose tree was not carries nothing).
    pub(super) tree_read: bool,
    pub(super) sets: Vec<Set>,
    /// Whether it was read whole, without errors (only such records are cached).
    pub(super) complete: bool,
}

/// Interned paths.
#[derive(Default)]
pub(super) struct Paths {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

impl Paths {
    pub(super) fn id(&mut self, path: &str) -> u32 {
        if let Some(&id) = self.ids.get(path) {
            return id;
        }
        let id = self.names.len() as u32;
        self.ids.insert(path.to_string(), id);
        self.names.push(path.to_string());
        id
    }

    pub(super) fn get(&self, path: &str) -> Option<u32> {
        self.ids.get(path).copied()
    }

    pub(super) fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", String::as_str)
    }
}

impl Record {
    /// The record of a commit's comparison with its first parent.
    pub(super) fn of(ch: &CommitChanges, paths: &mut Paths) -> Record {
        let mut sets: Vec<Set> = ch
            .changes
            .iter()
            .map(|c| Set { path: paths.id(&c.path), blob: c.blob, kind: c.kind, old: c.old })
            .collect();
        sets.extend(ch.removed.iter().map(|p| Set {
            path: paths.id(p),
            blob: Oid::ZERO_SHA1,
            kind: ChangeKind::File,
            old: None,
        }));
        Record {
            parents: ch.parents.clone(),
            provenance: ch.provenance.clone(),
            first_parent: ch.first_parent,
            tree_read: ch.tree_read,
            sets,
            // A commit whose first parent could not be read (a shallow boundary) was compared
            // with the empty tree: that record would be wrong once the parent is fetched.
            complete: ch.errors.is_empty()
                && ch.tree_read
                && ch.provenance.is_some()
                && (ch.parents.is_empty() || ch.first_parent.is_some()),
        }
    }
}

/// The walk cache file in `dir`.
pub(super) fn cache_file(dir: &Path) -> PathBuf {
    dir.join("history-walk.cache")
}

/// The ndaguard version and format a cache must have been written by.
fn version() -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    h.update(FORMAT.to_le_bytes());
    h.finalize().into()
}

struct Writer(Vec<u8>);

impl Writer {
    fn u32(&mut self, n: u32) {
        self.0.extend_from_slice(&n.to_le_bytes());
    }
    fn oid(&mut self, o: Oid) {
        self.0.extend_from_slice(o.as_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.u32(b.len() as u32);
        self.0.extend_from_slice(b);
    }
}

/// Writes the complete records among `records` (with their commit ids) to `file`.
pub(super) fn save(file: &Path, commits: &[Oid], records: &[Record], paths: &Paths) -> std::io::Result<()> {
    let mut w = Writer(Vec::with_capacity(1 << 20));
    w.0.extend_from_slice(MAGIC);
    w.u32(FORMAT);
    w.0.extend_from_slice(&version());
    let keep: Vec<(&Oid, &Record)> = commits.iter().zip(records).filter(|(_, r)| r.complete).collect();
    // Only the paths these records use, renumbered: paths of commits gone from the history are
    // dropped.
    let mut renumber: Vec<u32> = vec![u32::MAX; paths.names.len()];
    let mut used: Vec<u32> = Vec::new();
    for s in keep.iter().flat_map(|(_, r)| &r.sets) {
        if let Some(slot) = renumber.get_mut(s.path as usize).filter(|n| **n == u32::MAX) {
            *slot = used.len() as u32;
            used.push(s.path);
        }
    }
    w.u32(used.len() as u32);
    for &p in &used {
        w.bytes(paths.name(p).as_bytes());
    }
    w.u32(keep.len() as u32);
    for (oid, r) in keep {
        w.oid(*oid);
        w.u32(r.parents.len() as u32);
        for p in &r.parents {
            w.oid(*p);
        }
        w.oid(r.first_parent.unwrap_or(Oid::ZERO_SHA1));
        let p = r.provenance.as_ref();
        w.bytes(p.map_or(&b""[..], |p| p.author.as_bytes()));
        w.bytes(p.map_or(&b""[..], |p| p.email.as_bytes()));
        w.bytes(p.map_or(&b""[..], |p| p.date.as_bytes()));
        w.0.extend_from_slice(&p.map_or(0, |p| p.time).to_le_bytes());
        w.u32(r.sets.len() as u32);
        for s in &r.sets {
            w.u32(renumber.get(s.path as usize).copied().unwrap_or(0));
            w.oid(s.blob);
            let kind = match s.kind {
                ChangeKind::File => 0u8,
                ChangeKind::Symlink => 1,
                ChangeKind::Submodule => 2,
            };
            w.0.push(kind | if s.old.is_some() { 4 } else { 0 });
            if let Some(o) = s.old {
                w.oid(o);
            }
        }
    }
    let sum = Sha256::digest(&w.0);
    w.0.extend_from_slice(&sum);
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    crate::output::write_whole(file, &w.0)
}

struct Reader<'b> {
    b: &'b [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len()).ok_or("corrupt (truncated)")?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32, String> {
        let mut w = [0u8; 4];
        w.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(w))
    }
    fn i64(&mut self) -> Result<i64, String> {
        let mut w = [0u8; 8];
        w.copy_from_slice(self.take(8)?);
        Ok(i64::from_le_bytes(w))
    }
    fn oid(&mut self) -> Result<Oid, String> {
        Oid::from_bytes(self.take(20)?).map_err(|e| format!("corrupt ({})", e.message()))
    }
    fn string(&mut self) -> Result<String, String> {
        let n = self.u32()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| "corrupt (not UTF-8)".to_string())
    }
}

/// The records of a walk cache, by commit id, and its paths; or why the file cannot be used.
pub(super) fn load(file: &Path) -> Result<Option<(OidMap<Record>, Paths)>, String> {
    let b = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot be read ({e})")),
    };
    if b.len() < MAGIC.len() + 4 + 32 + 32 || &b[..MAGIC.len()] != MAGIC {
        return Err("not a walk cache, or truncated".into());
    }
    let (body, sum) = b.split_at(b.len() - 32);
    let mut r = Reader { b: body, at: MAGIC.len() };
    if r.u32()? != FORMAT || r.take(32)? != version() {
        return Err("written by another version of ndaguard".into());
    }
    if Sha256::digest(body).as_slice() != sum {
        return Err("corrupt (checksum mismatch)".into());
    }
    let mut paths = Paths::default();
    for _ in 0..r.u32()? {
        let p = r.string()?;
        paths.id(&p);
    }
    let n = r.u32()? as usize;
    let mut records = OidMap::with_capacity_and_hasher(n.min(body.len() / 64), Default::default());
    for _ in 0..n {
        let oid = r.oid()?;
        let parents = (0..r.u32()?).map(|_| r.oid()).collect::<Result<Vec<Oid>, String>>()?;
        let first_parent = Some(r.oid()?).filter(|o| !o.is_zero());
        let (author, email, date) = (r.string()?, r.string()?, r.string()?);
        let time = r.i64()?;
        let provenance = Some(Provenance { commit: oid.to_string(), author, email, date, time });
        let count = r.u32()? as usize;
        let mut sets = Vec::with_capacity(count.min(body.len() / 25));
        for _ in 0..count {
            let path = r.u32()?;
            let blob = r.oid()?;
            let flags = r.take(1)?[0];
            let kind = match flags & 3 {
                0 => ChangeKind::File,
                1 => ChangeKind::Symlink,
                2 => ChangeKind::Submodule,
                _ => return Err("corrupt (bad entry kind)".into()),
            };
            let old = if flags & 4 != 0 { Some(r.oid()?) } else { None };
            if path as usize >= paths.names.len() {
                return Err("corrupt (bad path)".into());
            }
            sets.push(Set { path, blob, kind, old });
        }
        records.insert(oid, Record { parents, provenance, first_parent, tree_read: true, sets, complete: true });
    }
    if r.at != body.len() {
        return Err("corrupt (wrong length)".into());
    }
    Ok(Some((records, paths)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(n: u8) -> Oid {
        Oid::from_bytes(&[n; 20]).expect("20 bytes")
    }

    #[test]
    fn complete_records_round_trip_and_a_changed_byte_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = cache_file(dir.path());
        assert_eq!(load(&file).map(|o| o.is_none()), Ok(true), "no file: no cache, no note");
        let mut paths = Paths::default();
        let provenance = Provenance {
            commit: oid(1).to_string(),
            author: "Dev".into(),
            email: "dev@corp.test".into(),
            date: "2026-01-02T03:04:05+01:00".into(),
            time: 1_767_319_445,
        };
        let full = Record {
            parents: vec![oid(7), oid(8)],
            provenance: Some(provenance),
            first_parent: Some(oid(7)),
            tree_read: true,
            sets: vec![
                Set { path: paths.id("a/b.txt"), blob: oid(3), kind: ChangeKind::File, old: Some(oid(2)) },
                Set { path: paths.id("gone"), blob: Oid::ZERO_SHA1, kind: ChangeKind::File, old: None },
                Set { path: paths.id("link"), blob: oid(4), kind: ChangeKind::Symlink, old: None },
            ],
            complete: true,
        };
        let broken = Record { complete: false, ..full.clone() };
        save(&file, &[oid(1), oid(9)], &[full.clone(), broken], &paths).expect("written");
        let (records, read_paths) = load(&file).expect("usable").expect("present");
        assert_eq!(records.len(), 1, "a commit read with errors is not kept");
        let got = &records[&oid(1)];
        assert_eq!(
            (&got.parents, got.first_parent, &got.sets, &got.provenance),
            (&full.parents, full.first_parent, &full.sets, &full.provenance)
        );
        assert_eq!(read_paths.name(got.sets[0].path), "a/b.txt");
        let mut bytes = std::fs::read(&file).expect("file");
        let mid = bytes.len() / 2;
        bytes[mid] ^= 1;
        std::fs::write(&file, &bytes).expect("write");
        assert!(load(&file).err().is_some_and(|e| e.contains("corrupt")));
        std::fs::write(&file, b"NDAGUARD-SCAN-CACHE\nsomething else entirely, long enough to parse").expect("write");
        assert!(load(&file).is_err());
    }
}
