//! Counting the commits whose tree carries each finding, from what the commit walk recorded.
//!
//! The walk compares every commit with its first parent, so it already knows, for every path,
//! each commit that set it (to a blob, a link or a submodule) or removed it. A commit's entry at
//! a path is the one it set, or else its first parent's: one pass over the commits in
//! topological order (parents first) gives every commit's blob at a path without reading a
//! single tree. Only the few distinct blobs a finding's path ever held are read, to learn
//! whether they hold the secret.

use std::collections::HashMap;

use git2::Oid;

use super::walklog::Record;
use super::OidMap;

/// No first parent was compared: a root commit, or one whose first parent's tree could not be
/// read (it was compared with the empty tree, so every entry it has is recorded).
const NO_PARENT: u32 = u32::MAX;
/// The commit's own tree could not be read: it carries nothing.
const NO_TREE: u32 = u32::MAX - 1;

/// What counting needs of the walk's records, flat (a few bytes a set, one allocation each, where
/// the records hold a struct and a list per commit): for each commit (in topological order), the
/// position of the first parent it was compared with (or a marker), and every (path, entry) it
/// set.
pub(super) struct Lineage {
    parent: Vec<u32>,
    /// Where each commit's sets start in `sets`; one more than there are commits.
    starts: Vec<u32>,
    /// (path, entry) of each set, commit after commit (a zero entry: removed).
    sets: Vec<(u32, Oid)>,
}

impl Lineage {
    pub(super) fn new(commits: &[Oid], records: &[Record]) -> Lineage {
        let index: OidMap<u32> = commits.iter().enumerate().map(|(i, c)| (*c, i as u32)).collect();
        let parent = records
            .iter()
            .enumerate()
            .map(|(at, r)| match r.first_parent.and_then(|p| index.get(&p)) {
                _ if !r.tree_read => NO_TREE,
                Some(&p) if (p as usize) < at => p,
                _ => NO_PARENT,
            })
            .collect();
        let mut sets = Vec::with_capacity(records.iter().map(|r| r.sets.len()).sum());
        let mut starts = Vec::with_capacity(records.len() + 1);
        for r in records {
            starts.push(sets.len() as u32);
            sets.extend(r.sets.iter().map(|s| (s.path, s.blob)));
        }
        starts.push(sets.len() as u32);
        Lineage { parent, starts, sets }
    }

    /// The (commit, entry) sets of each of `wanted` paths.
    pub(super) fn sets_of(&self, wanted: &[u32]) -> HashMap<u32, Vec<(u32, Oid)>> {
        let mut out: HashMap<u32, Vec<(u32, Oid)>> = wanted.iter().map(|&p| (p, Vec::new())).collect();
        for (at, w) in self.starts.windows(2).enumerate() {
            for &(path, entry) in &self.sets[w[0] as usize..w[1] as usize] {
                if let Some(v) = out.get_mut(&path) {
                    v.push((at as u32, entry));
                }
            }
        }
        out
    }

    /// For each commit (in order), its entry at the path whose sets are `sets` ((commit, entry)
    /// pairs; a zero entry: removed): `None` where it has none.
    fn entries(&self, sets: &[(u32, Oid)]) -> Vec<Option<Oid>> {
        let set: HashMap<u32, Oid> = sets.iter().copied().collect();
        let mut at: Vec<Option<Oid>> = vec![None; self.parent.len()];
        for c in 0..at.len() {
            at[c] = match (self.parent[c], set.get(&(c as u32))) {
                (NO_TREE, _) => None,
                (_, Some(o)) => Some(*o).filter(|o| !o.is_zero()),
                (NO_PARENT, None) => None,
                (p, None) => at[p as usize],
            };
        }
        at
    }

    /// Each distinct entry at the path whose sets are `sets`, with how many commits have it, in
    /// the order the commits first have them (versions of a file next to each other, as the
    /// pack's delta chains hold them).
    pub(super) fn tally(&self, sets: &[(u32, Oid)]) -> Vec<(Oid, u64)> {
        let mut slot: OidMap<usize> = OidMap::default();
        let mut v: Vec<(Oid, u64)> = Vec::new();
        for e in self.entries(sets).into_iter().flatten() {
            let i = *slot.entry(e).or_insert_with(|| {
                v.push((e, 0));
                v.len() - 1
            });
            v[i].1 += 1;
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::git::walklog::{Paths, Set};
    use crate::source::git::ChangeKind;

    fn oid(n: u8) -> Oid {
        Oid::from_bytes(&[n; 20]).expect("20 bytes")
    }

    fn record(paths: &mut Paths, parent: Option<u8>, set: &[(&str, u8)]) -> Record {
        let sets = set
            .iter()
            .map(|(p, b)| Set {
                path: paths.id(p),
                blob: if *b == 0 { Oid::ZERO_SHA1 } else { oid(*b) },
                kind: ChangeKind::File,
                old: None,
            })
            .collect();
        Record { first_parent: parent.map(oid), tree_read: true, sets, ..Record::default() }
    }

    #[test]
    fn a_path_keeps_its_first_parents_entry_until_a_commit_sets_or_removes_it() {
        // c1 adds a.txt=10; c2 (child of c1) changes b; c3 sets a.txt=11; c4 removes it;
        // c5 branches from c2 (keeps 10); c6 cannot read its tree; c7 is a child of c6 that
        // was compared with the empty tree (its parent's tree was unreadable).
        let commits: Vec<Oid> = (1..=7).map(oid).collect();
        let mut paths = Paths::default();
        let records = vec![
            record(&mut paths, None, &[("a.txt", 10), ("b", 20)]),
            record(&mut paths, Some(1), &[("b", 21)]),
            record(&mut paths, Some(2), &[("a.txt", 11)]),
            record(&mut paths, Some(3), &[("a.txt", 0)]),
            record(&mut paths, Some(2), &[("c", 30)]),
            Record::default(),
            record(&mut paths, None, &[("a.txt", 10)]),
        ];
        let lineage = Lineage::new(&commits, &records);
        let a = paths.get("a.txt").expect("interned");
        let sets = lineage.sets_of(&[a]);
        assert_eq!(
            lineage.entries(&sets[&a]),
            vec![Some(oid(10)), Some(oid(10)), Some(oid(11)), None, Some(oid(10)), None, Some(oid(10))]
        );
        assert_eq!(lineage.tally(&sets[&a]), vec![(oid(10), 4), (oid(11), 1)], "first seen first");
        assert_eq!(lineage.tally(&[]), vec![]);
    }
}
