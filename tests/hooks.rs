//! `ndaguard install-hook`: chaining a hook that is already there, `--uninstall`, and git's real
//! hooks path (linked worktrees, `core.hooksPath`).

use std::path::Path;
use std::process::{Command, Output};

use crate::common::{git, ndaguard, Gen, Tree};

/// `git commit` in `dir` with a PATH that has git but not ndaguard (the hook falls back to the
/// binary that installed it).
fn commit(dir: &Path, msg: &str) -> Output {
    Command::new("git")
        .current_dir(dir)
        .env("PATH", "/usr/bin:/bin")
        .args(["-c", "user.name=D", "-c", "user.email=d@corp.test", "-c", "commit.gpgsign=false"])
        .args(["commit", "-q", "--allow-empty", "-m", msg])
        .output()
        .expect("git")
}

fn said(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn install(dir: &Path, extra: &[&str]) -> Output {
    ndaguard().arg("install-hook").args(extra).arg(dir).output().expect("runs")
}

#[cfg(unix)]
fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

#[cfg(unix)]
#[test]
fn an_existing_hook_is_chained_and_restored_by_uninstall() {
    let mut g = Gen::new(1608);
    let t = Tree::new();
    git(t.path(), &["init", "-q", "-b", "main", "."]);
    let hooks = t.path().join(".git/hooks");
    std::fs::create_dir_all(&hooks).expect("mkdir");
    // A team's own hook, not UTF-8, that records each run and refuses a file named STOP.
    let mut theirs =
        b"#!/bin/sh\n# caf\xe9 lint hook\necho ran >> \"$(git rev-parse --git-dir)/their-hook.log\"\n".to_vec();
    theirs.extend_from_slice(b"if [ -e STOP ]; then echo 'their hook says no' >&2; exit 3; fi\nexit 0\n");
    std::fs::write(hooks.join("pre-commit"), &theirs).expect("write");
    make_executable(&hooks.join("pre-commit"));

    let out = install(t.path(), &[]);
    assert!(out.status.success(), "{}", said(&out));
    assert!(said(&out).contains("kept the existing hook"), "{}", said(&out));
    assert_eq!(std::fs::read(hooks.join("pre-commit.ndaguard-chained")).expect("kept"), theirs, "kept byte for byte");

    // A clean commit runs both hooks.
    let out = commit(t.path(), "clean");
    assert!(out.status.success(), "{}", said(&out));
    let log = t.path().join(".git/their-hook.log");
    assert_eq!(std::fs::read_to_string(&log).unwrap_or_default(), "ran\n", "their hook ran");
    // Their hook still blocks what it blocked.
    t.write("STOP", "x\n");
    let out = commit(t.path(), "stop");
    assert!(!out.status.success());
    assert!(said(&out).contains("their hook says no"), "{}", said(&out));
    std::fs::remove_file(t.path().join("STOP")).expect("rm");
    // And ndaguard blocks a staged secret.
    t.write("leak.env", format!("STRIPE={}\n", g.stripe_live()));
    git(t.path(), &["add", "leak.env"]);
    let out = commit(t.path(), "leak");
    assert!(!out.status.success(), "the secret is refused");
    assert!(said(&out).contains("leak.env:1:8  stripe-secret-key-live"), "{}", said(&out));
    git(t.path(), &["rm", "-q", "--cached", "leak.env"]);

    // Installing again keeps the chain (no second copy, no refusal).
    let out = install(t.path(), &[]);
    assert!(out.status.success(), "{}", said(&out));
    assert_eq!(std::fs::read(hooks.join("pre-commit.ndaguard-chained")).expect("kept"), theirs);

    // --uninstall puts their hook back as it was.
    let out = install(t.path(), &["--uninstall"]);
    assert!(out.status.success(), "{}", said(&out));
    assert_eq!(std::fs::read(hooks.join("pre-commit")).expect("restored"), theirs);
    assert!(!hooks.join("pre-commit.ndaguard-chained").exists());
    git(t.path(), &["add", "leak.env"]);
    let out = commit(t.path(), "no more ndaguard");
    assert!(out.status.success(), "only their hook runs now: {}", said(&out));
    // Uninstalling what is not ours is refused and leaves it.
    let out = install(t.path(), &["--uninstall"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read(hooks.join("pre-commit")).expect("still there"), theirs);
    // --force replaces it without keeping it; --uninstall then leaves no hook.
    assert!(install(t.path(), &["--force"]).status.success());
    assert!(!hooks.join("pre-commit.ndaguard-chained").exists());
    assert!(install(t.path(), &["--uninstall"]).status.success());
    assert!(!hooks.join("pre-commit").exists());
}

#[cfg(unix)]
#[test]
fn hooks_go_where_git_runs_them() {
    let mut g = Gen::new(1609);
    let t = Tree::new();
    let main = t.path().join("main");
    std::fs::create_dir_all(&main).expect("mkdir");
    git(&main, &["init", "-q", "-b", "main", "."]);
    git(&main, &["commit", "-q", "--allow-empty", "-m", "root"]);
    // From a linked worktree, the hook goes to the common directory's hooks, where git looks.
    let linked = t.path().join("linked");
    let out = Command::new("git")
        .current_dir(&main)
        .args(["worktree", "add", "-q", "-b", "side2"])
        .arg(&linked)
        .output()
        .expect("git");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = install(&linked, &[]);
    assert!(out.status.success(), "{}", said(&out));
    assert!(main.join(".git/hooks/pre-commit").is_file(), "{}", said(&out));
    t.write("linked/leak.env", format!("STRIPE={}\n", g.stripe_live()));
    git(&linked, &["add", "leak.env"]);
    assert!(!commit(&linked, "leak").status.success(), "a commit in the linked worktree runs the hook");
    assert!(install(&linked, &["--uninstall"]).status.success());
    assert!(!main.join(".git/hooks/pre-commit").exists());

    // core.hooksPath, relative to the top of the work tree, with a hook already there.
    git(&main, &["config", "core.hooksPath", "ci/hooks"]);
    t.write("main/ci/hooks/pre-commit", "#!/bin/sh\nexit 0\n");
    make_executable(&main.join("ci/hooks/pre-commit"));
    let out = install(&main.join("ci"), &[]);
    assert!(out.status.success(), "{}", said(&out));
    assert!(main.join("ci/hooks/pre-commit.ndaguard-chained").is_file());
    t.write("main/leak.env", format!("STRIPE={}\n", g.stripe_live()));
    git(&main, &["add", "leak.env"]);
    assert!(!commit(&main, "leak").status.success());
}

#[cfg(unix)]
#[test]
fn a_dangling_symlink_hook_is_kept_not_written_through() {
    let t = Tree::new();
    git(t.path(), &["init", "-q", "-b", "main", "."]);
    let hooks = t.path().join(".git/hooks");
    std::fs::create_dir_all(&hooks).expect("mkdir");
    let target = t.path().join("elsewhere/hook.sh");
    std::os::unix::fs::symlink(&target, hooks.join("pre-commit")).expect("symlink");
    let out = install(t.path(), &[]);
    assert!(out.status.success(), "{}", said(&out));
    assert!(!target.exists(), "nothing written through the link");
    let kept = std::fs::read_link(hooks.join("pre-commit.ndaguard-chained")).expect("the link is kept");
    assert_eq!(kept, target);
    assert!(commit(t.path(), "ok").status.success(), "a dangling chained hook is skipped, as git skips it");
    assert!(install(t.path(), &["--uninstall"]).status.success());
    assert_eq!(std::fs::read_link(hooks.join("pre-commit")).expect("restored"), target);
}
