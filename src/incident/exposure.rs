//! Since when a secret in a git work tree has been exposed, and which refs carry it.
//!
//! A history scan knows the commit that brought each secret in. A tree scan does not, so for a
//! breach found in a git work tree, `introduced_by` walks the first-parent history of `HEAD`
//! for the file's path: going back while each version of the file still holds the token, the
//! oldest such commit is the one that brought it into the branch. Each distinct version is
//! searched once, so the cost is one blob read per change of the file, and it is paid only for
//! breaches. Renames are followed: where the parent commit has no file at the path, git's rename
//! detection (the parent's tree against the commit's) names the file it came from, and the walk
//! goes on under that name, so a token committed in `a.txt` and later moved to `b.txt` is dated
//! from the commit that brought it into `a.txt`.

use std::collections::HashMap;
use std::path::Path;

use crate::blob::Provenance;
use crate::finding;

/// Walks at most this many commits back from `HEAD`.
pub const MAX_COMMITS: usize = 100_000;

/// The commit that brought the content `holds` recognises into `path` (relative to the work
/// tree's top), on the first-parent history of `HEAD`. `None` when `HEAD`'s version of the file
/// does not hold it (an uncommitted change, an untracked file) or git cannot tell.
pub(crate) fn introduced_by(
    repo: &git2::Repository,
    path: &Path,
    mut holds: impl FnMut(&[u8]) -> bool,
) -> Option<Provenance> {
    let mut commit = repo.head().ok()?.peel_to_commit().ok()?;
    let mut path = path.to_path_buf();
    let mut found: Option<git2::Oid> = None;
    let mut verdicts: HashMap<git2::Oid, bool> = HashMap::new();
    for _ in 0..MAX_COMMITS {
        let Some(blob) = blob_at(&commit, &path) else { break };
        let held = match verdicts.get(&blob) {
            Some(v) => *v,
            None => {
                let v = repo.find_blob(blob).map(|b| holds(b.content())).unwrap_or(false);
                verdicts.insert(blob, v);
                v
            }
        };
        if !held {
            break;
        }
        found = Some(commit.id());
        let Ok(parent) = commit.parent(0) else { break };
        if blob_at(&parent, &path).is_none() {
            match renamed_from(repo, &parent, &commit, &path) {
                Some(old) => path = old,
                None => break,
            }
        }
        commit = parent;
    }
    let commit = repo.find_commit(found?).ok()?;
    let author = commit.author();
    let when = author.when();
    let offset = time::UtcOffset::from_whole_seconds(when.offset_minutes() * 60).unwrap_or(time::UtcOffset::UTC);
    let date = time::OffsetDateTime::from_unix_timestamp(when.seconds())
        .ok()
        .and_then(|d| d.to_offset(offset).format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default();
    Some(Provenance {
        commit: commit.id().to_string(),
        author: finding::escape_bytes(author.name_bytes()),
        email: finding::escape_bytes(author.email_bytes()),
        date,
        time: when.seconds(),
    })
}

/// The id of the blob at `path` in `commit`'s tree.
fn blob_at(commit: &git2::Commit<'_>, path: &Path) -> Option<git2::Oid> {
    let entry = commit.tree().ok()?.get_path(path).ok()?;
    (entry.kind() == Some(git2::ObjectType::Blob)).then(|| entry.id())
}

/// The path that `child` renamed to `path`, by git's rename detection between `parent`'s tree
/// and `child`'s.
fn renamed_from(
    repo: &git2::Repository,
    parent: &git2::Commit<'_>,
    child: &git2::Commit<'_>,
    path: &Path,
) -> Option<std::path::PathBuf> {
    let (old, new) = (parent.tree().ok()?, child.tree().ok()?);
    let mut diff = repo.diff_tree_to_tree(Some(&old), Some(&new), None).ok()?;
    diff.find_similar(Some(git2::DiffFindOptions::new().renames(true))).ok()?;
    let renamed = diff.deltas().find(|d| d.status() == git2::Delta::Renamed && d.new_file().path() == Some(path));
    renamed.and_then(|d| d.old_file().path().map(Path::to_path_buf))
}

/// The refs that carry a commit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Carriers {
    /// Local and remote-tracking branches whose tip is the commit or descends from it.
    pub branches: Vec<String>,
    /// Tags that point at the commit or a descendant.
    pub tags: Vec<String>,
    /// The default branch, if known.
    pub default_branch: Option<String>,
    /// Whether the default branch carries it.
    pub on_default_branch: bool,
}

/// Which branches and tags of `repo` carry `commit`.
pub fn carriers(repo: &git2::Repository, commit: &str) -> Option<Carriers> {
    let target = git2::Oid::from_str(commit).ok()?;
    repo.find_commit(target).ok()?;
    let mut out = Carriers { default_branch: default_branch(repo), ..Carriers::default() };
    let refs = repo.references().ok()?;
    for r in refs.flatten() {
        let Ok(name) = r.name().map(str::to_string) else { continue };
        if matches!(r.symbolic_target(), Ok(Some(_))) {
            continue;
        }
        let Ok(tip) = r.peel_to_commit() else { continue };
        let carries = tip.id() == target || repo.graph_descendant_of(tip.id(), target).unwrap_or(false);
        if !carries {
            continue;
        }
        if let Some(b) = name.strip_prefix("refs/heads/") {
            if out.default_branch.as_deref() == Some(b) {
                out.on_default_branch = true;
            }
            out.branches.push(b.to_string());
        } else if let Some(b) = name.strip_prefix("refs/remotes/") {
            if let Some(d) = &out.default_branch {
                if b.split_once('/').map(|(_, br)| br) == Some(d.as_str()) {
                    out.on_default_branch = true;
                }
            }
            out.branches.push(b.to_string());
        } else if let Some(t) = name.strip_prefix("refs/tags/") {
            out.tags.push(t.to_string());
        }
    }
    out.branches.sort();
    out.tags.sort();
    Some(out)
}

/// The default branch: what `origin/HEAD` points at, else `init.defaultBranch`, else `main` or
/// `master` when such a branch exists.
pub fn default_branch(repo: &git2::Repository) -> Option<String> {
    if let Ok(r) = repo.find_reference("refs/remotes/origin/HEAD") {
        if let Ok(Some(t)) = r.symbolic_target() {
            if let Some(b) = t.strip_prefix("refs/remotes/origin/") {
                return Some(b.to_string());
            }
        }
    }
    if let Ok(b) = repo.config().and_then(|c| c.get_string("init.defaultBranch")) {
        if repo.find_branch(&b, git2::BranchType::Local).is_ok() {
            return Some(b);
        }
    }
    ["main", "master"].into_iter().find(|b| repo.find_branch(b, git2::BranchType::Local).is_ok()).map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(repo: &git2::Repository, files: &[(&str, &str)], when: i64, msg: &str) -> git2::Oid {
        let mut index = repo.index().expect("index");
        for (path, text) in files {
            let full = repo.workdir().expect("workdir").join(path);
            std::fs::write(&full, text).expect("write");
            index.add_path(Path::new(path)).expect("add");
        }
        index.write().expect("index write");
        let tree = repo.find_tree(index.write_tree().expect("tree")).expect("tree");
        let sig = git2::Signature::new("Dev", "dev@corp.test", &git2::Time::new(when, 0)).expect("sig");
        let parents: Vec<git2::Commit<'_>> =
            repo.head().ok().and_then(|h| h.peel_to_commit().ok()).into_iter().collect();
        let refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
        repo.commit(Some("HEAD"), &sig, &sig, msg, &tree, &refs).expect("commit")
    }

    #[test]
    fn dates_a_token_from_the_commit_that_brought_it_in() {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = git2::Repository::init(dir.path()).expect("init");
        commit(&repo, &[("app.env", "A=1\n")], 1_700_000_000, "start");
        let leak = commit(&repo, &[("app.env", "A=1\nKEY=SECRETSECRET\n")], 1_700_100_000, "leak");
        commit(&repo, &[("app.env", "A=2\nKEY=SECRETSECRET\n")], 1_700_200_000, "edit");
        commit(&repo, &[("other.txt", "x\n")], 1_700_300_000, "other");
        let holds = |b: &[u8]| memchr::memmem::find(b, b"SECRETSECRET").is_some();
        let p = introduced_by(&repo, Path::new("app.env"), holds).expect("found");
        assert_eq!(p.commit, leak.to_string());
        assert_eq!(p.time, 1_700_100_000);
        // Not in HEAD's version (only in the work tree): git cannot date it.
        assert_eq!(introduced_by(&repo, Path::new("app.env"), |b: &[u8]| b.starts_with(b"nope")), None);
        assert_eq!(introduced_by(&repo, Path::new("missing.env"), holds), None);

        let c = carriers(&repo, &leak.to_string()).expect("carriers");
        let head = repo.head().expect("head").shorthand().expect("name").to_string();
        assert_eq!(c.branches, vec![head.clone()]);
        assert!(c.tags.is_empty());
        repo.tag_lightweight("v1.0", &repo.find_object(leak, None).expect("obj"), false).expect("tag");
        let c = carriers(&repo, &leak.to_string()).expect("carriers");
        assert_eq!(c.tags, vec!["v1.0".to_string()]);
        assert_eq!(c.on_default_branch, c.default_branch.as_deref() == Some(head.as_str()));
    }

    #[test]
    fn follows_the_file_through_renames() {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = git2::Repository::init(dir.path()).expect("init");
        commit(&repo, &[("start.txt", "x\n")], 1_700_000_000, "start");
        let leak = commit(&repo, &[("a.txt", "one\nKEY=SECRETSECRET\n")], 1_700_100_000, "leak");
        // Renamed (as `git mv` does), then renamed again with an edit, then edited.
        rename(&repo, "a.txt", "b.txt", "one\nKEY=SECRETSECRET\n", 1_700_200_000);
        rename(&repo, "b.txt", "c/d.txt", "one\nKEY=SECRETSECRET\ntwo\n", 1_700_300_000);
        commit(&repo, &[("c/d.txt", "zero\none\nKEY=SECRETSECRET\ntwo\n")], 1_700_400_000, "edit");
        let holds = |b: &[u8]| memchr::memmem::find(b, b"SECRETSECRET").is_some();
        let p = introduced_by(&repo, Path::new("c/d.txt"), holds).expect("found");
        assert_eq!((p.commit, p.time), (leak.to_string(), 1_700_100_000));
        // A new file that holds the token (no rename to follow) is dated from its own commit.
        let fresh = commit(&repo, &[("e.txt", "KEY=SECRETSECRET\n")], 1_700_500_000, "new file");
        assert_eq!(introduced_by(&repo, Path::new("e.txt"), holds).map(|p| p.commit), Some(fresh.to_string()));
    }

    fn rename(repo: &git2::Repository, from: &str, to: &str, text: &str, when: i64) {
        let work = repo.workdir().expect("workdir").to_path_buf();
        std::fs::remove_file(work.join(from)).expect("remove");
        std::fs::create_dir_all(work.join(to).parent().expect("parent")).expect("mkdir");
        let mut index = repo.index().expect("index");
        index.remove_path(Path::new(from)).expect("unstage");
        index.write().expect("index write");
        commit(repo, &[(to, text)], when, "rename");
    }
}
