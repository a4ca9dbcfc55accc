//! Git for the integration tests: one runner, and a new repository to commit into.

use std::path::Path;
use std::process::Command;

use super::Tree;

/// Runs `git ARGS` in `dir` as `Dev <dev@corp.test>` with commit signing off, asserts that it
/// succeeded, and returns its standard output, trimmed.
pub fn git(dir: &Path, args: &[&str]) -> String {
    run(dir, args, None)
}

/// [`git`] with the author and committer dates set to `date` (for commits of a known time).
pub fn git_at(dir: &Path, args: &[&str], date: &str) -> String {
    run(dir, args, Some(date))
}

fn run(dir: &Path, args: &[&str], date: Option<&str>) -> String {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir);
    if let Some(d) = date {
        cmd.env("GIT_AUTHOR_DATE", d).env("GIT_COMMITTER_DATE", d);
    }
    let out = cmd
        .args(["-c", "user.name=Dev", "-c", "user.email=dev@corp.test", "-c", "commit.gpgsign=false"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A new git repository on branch `main` in a temporary folder.
pub fn git_repo() -> Tree {
    let t = Tree::new();
    git(t.path(), &["init", "-q", "-b", "main", "."]);
    t
}

/// Stages everything in the repository at `dir` (new, changed and deleted files) and commits it
/// as `msg`.
pub fn commit_all(dir: &Path, msg: &str) {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", msg]);
}
