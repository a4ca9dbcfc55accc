//! Tree objects as the history walk reads them: parsed from the raw object once, entries sorted
//! by name bytes, and kept in a small per-thread cache keyed by tree id.
//!
//! Comparing a commit with its parent reads the subtrees whose ids differ on the two sides; the
//! parent's side is, most of the time, what the previous commit of the same thread read as its
//! new side. libgit2 caches no tree larger than 4 KiB (the big directories of a real project),
//! and each `find_tree` goes through its object cache and builds an entry array; here a tree is
//! inflated once while it is hot and compared straight from its bytes.

use std::sync::Arc;

use git2::{ObjectType, Odb, Oid, Repository};

use super::OidMap;

/// Git's mode of a directory entry.
pub(super) const MODE_TREE: u32 = 0o040000;
pub(super) const MODE_LINK: u32 = 0o120000;
pub(super) const MODE_SUBMODULE: u32 = 0o160000;
const MODE_BLOB: u32 = 0o100644;
const MODE_EXEC: u32 = 0o100755;
const ID: usize = 20;

/// A tree's raw bytes and its entries, sorted by name bytes.
pub(super) struct RawTree {
    data: Vec<u8>,
    /// (name start, name end, normalized mode); the id follows the name's NUL.
    entries: Vec<(u32, u32, u32)>,
}

/// One entry of a [`RawTree`].
#[derive(Clone, Copy)]
pub(super) struct RawEntry<'t> {
    pub(super) name: &'t [u8],
    pub(super) mode: u32,
    id: &'t [u8],
}

impl RawEntry<'_> {
    pub(super) fn id(&self) -> Oid {
        Oid::from_bytes(self.id).unwrap_or(Oid::ZERO_SHA1)
    }

    /// Same id and mode.
    pub(super) fn same(&self, other: &RawEntry<'_>) -> bool {
        self.id == other.id && self.mode == other.mode
    }

    pub(super) fn is_tree(&self) -> bool {
        self.mode == MODE_TREE
    }
}

/// The mode libgit2 reports for a raw mode (`git_tree_entry_filemode`): odd permission bits of
/// old repositories are folded into the five modes git knows.
fn normalize(mode: u32) -> u32 {
    match mode & 0o170000 {
        MODE_TREE => MODE_TREE,
        _ if mode & 0o111 != 0 => MODE_EXEC,
        MODE_SUBMODULE => MODE_SUBMODULE,
        MODE_LINK => MODE_LINK,
        _ => MODE_BLOB,
    }
}

impl RawTree {
    /// Parses a tree object's content; `None` when it is malformed.
    pub(super) fn parse(data: Vec<u8>) -> Option<RawTree> {
        let mut entries = Vec::new();
        let mut at = 0usize;
        while at < data.len() {
            let sp = at + memchr::memchr(b' ', &data[at..])?;
            let digits = &data[at..sp];
            if digits.is_empty() || digits.len() > 7 || !digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
                return None;
            }
            let mode = digits.iter().fold(0u32, |m, d| m * 8 + u32::from(d - b'0'));
            let nul = sp + 1 + memchr::memchr(0, &data[sp + 1..])?;
            if nul == sp + 1 || nul + 1 + ID > data.len() {
                return None;
            }
            entries.push((u32::try_from(sp + 1).ok()?, u32::try_from(nul).ok()?, normalize(mode)));
            at = nul + 1 + ID;
        }
        entries.sort_unstable_by(|a, b| data[a.0 as usize..a.1 as usize].cmp(&data[b.0 as usize..b.1 as usize]));
        Some(RawTree { data, entries })
    }

    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(super) fn get(&self, i: usize) -> Option<RawEntry<'_>> {
        let &(s, e, mode) = self.entries.get(i)?;
        let (s, e) = (s as usize, e as usize);
        Some(RawEntry { name: &self.data[s..e], mode, id: &self.data[e + 1..e + 1 + ID] })
    }

    fn cost(&self) -> usize {
        self.data.len() + self.entries.len() * 12 + 64
    }
}

/// Recently read trees of one thread, by id: two generations, each of at most `budget` bytes;
/// when the current one is full it becomes the old one and the old one is dropped. A tree found
/// in the old generation moves back to the current one.
pub(super) struct TreeCache {
    cur: OidMap<Arc<RawTree>>,
    old: OidMap<Arc<RawTree>>,
    bytes: usize,
    budget: usize,
}

/// Why a tree could not be read.
pub(super) enum TreeError {
    Git(git2::Error),
    Malformed,
}

impl TreeCache {
    pub(super) fn new(budget: usize) -> TreeCache {
        TreeCache { cur: OidMap::default(), old: OidMap::default(), bytes: 0, budget }
    }

    fn insert(&mut self, id: Oid, t: Arc<RawTree>) {
        let cost = t.cost();
        if self.bytes + cost > self.budget {
            self.old = std::mem::take(&mut self.cur);
            self.bytes = 0;
        }
        self.bytes += cost;
        self.cur.insert(id, t);
    }

    /// Tree `id`, from the cache or read from `odb`.
    pub(super) fn get(&mut self, odb: &Odb<'_>, id: Oid) -> Result<Arc<RawTree>, TreeError> {
        if let Some(t) = self.cur.get(&id) {
            return Ok(Arc::clone(t));
        }
        if let Some(t) = self.old.remove(&id) {
            self.insert(id, Arc::clone(&t));
            return Ok(t);
        }
        let obj = odb.read(id).map_err(TreeError::Git)?;
        if obj.kind() != ObjectType::Tree {
            return Err(TreeError::Malformed);
        }
        let t = Arc::new(RawTree::parse(obj.data().to_vec()).ok_or(TreeError::Malformed)?);
        self.insert(id, Arc::clone(&t));
        Ok(t)
    }
}

/// What to say about a tree that could not be read.
pub(super) fn tree_error(repo: &Repository, id: Oid, e: &TreeError) -> String {
    match e {
        TreeError::Git(e) => super::read_error(repo, id, e),
        TreeError::Malformed => "not a well-formed tree object".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(mode: &str, name: &[u8], id: u8) -> Vec<u8> {
        let mut v = format!("{mode} ").into_bytes();
        v.extend_from_slice(name);
        v.push(0);
        v.extend_from_slice(&[id; 20]);
        v
    }

    #[test]
    fn a_tree_parses_sorted_by_name_bytes_with_modes_as_libgit2_reports_them() {
        let mut data = entry("100644", b"b.txt", 1);
        data.extend(entry("40000", b"a", 2));
        data.extend(entry("100664", b"a.txt", 3));
        data.extend(entry("120000", b"link", 4));
        data.extend(entry("160000", b"sub", 5));
        data.extend(entry("100755", b"run", 6));
        let t = RawTree::parse(data.clone()).expect("well formed");
        let got: Vec<(&[u8], u32, Oid)> =
            (0..t.len()).filter_map(|i| t.get(i)).map(|e| (e.name, e.mode, e.id())).collect();
        let oid = |n: u8| Oid::from_bytes(&[n; 20]).expect("20 bytes");
        assert_eq!(
            got,
            vec![
                (&b"a"[..], MODE_TREE, oid(2)),
                (&b"a.txt"[..], MODE_BLOB, oid(3)),
                (&b"b.txt"[..], MODE_BLOB, oid(1)),
                (&b"link"[..], MODE_LINK, oid(4)),
                (&b"run"[..], MODE_EXEC, oid(6)),
                (&b"sub"[..], MODE_SUBMODULE, oid(5)),
            ]
        );
        assert!(RawTree::parse(data[..data.len() - 1].to_vec()).is_none(), "truncated id");
        assert!(RawTree::parse(b"10x644 a\0".to_vec()).is_none(), "bad mode");
        assert!(RawTree::parse(entry("100644", b"", 1)).is_none(), "empty name");
        assert_eq!(RawTree::parse(Vec::new()).map(|t| t.len()), Some(0));
    }
}
