//! Git sources end to end, on real repositories built with the `git` binary in temp dirs.

use std::path::Path;
use std::process::Command;

use crate::common::{ndaguard, scan_json, Gen, Tree};

/// A repository in a temp dir, driven by the `git` binary.
pub(crate) struct Repo {
    pub(crate) tree: Tree,
    pub(crate) clock: u64,
}

impl Repo {
    pub(crate) fn new() -> Repo {
        let r = Repo { tree: Tree::new(), clock: 0 };
        r.git(&["init", "-q", "-b", "main", "."]);
        r
    }

    pub(crate) fn path(&self) -> &str {
        self.tree.path().to_str().expect("utf-8 temp path")
    }

    pub(crate) fn git(&self, args: &[&str]) -> String {
        git_in(self.tree.path(), args)
    }

    pub(crate) fn write(&self, rel: &str, content: &str) {
        self.tree.write(rel, content);
    }

    /// Adds everything and commits with a fixed, increasing date; returns the commit id.
    pub(crate) fn commit(&mut self, msg: &str) -> String {
        self.git(&["add", "-A"]);
        self.commit_index(msg)
    }

    /// Commits the index as it is.
    pub(crate) fn commit_index(&mut self, msg: &str) -> String {
        self.clock += 1;
        let date = format!("2026-01-{:02}T10:00:00Z", self.clock);
        let out = Command::new("git")
            .current_dir(self.tree.path())
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .args([
                "-c",
                "user.name=Dev One",
                "-c",
                "user.email=dev@corp.test",
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                msg,
            ])
            .output()
            .expect("git runs");
        assert!(out.status.success(), "git commit: {}", String::from_utf8_lossy(&out.stderr));
        self.git(&["rev-parse", "HEAD"])
    }
}

fn git_in(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=Dev One", "-c", "user.email=dev@corp.test", "-c", "protocol.file.allow=always"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn findings(json: &serde_json::Value) -> Vec<serde_json::Value> {
    json["findings"].as_array().cloned().unwrap_or_default()
}

#[test]
fn history_finds_a_deleted_secret_that_a_tree_scan_misses() {
    let mut g = Gen::new(100);
    let tok = g.github_pat();
    let mut r = Repo::new();
    r.write("config.py", &format!("TOKEN = '{tok}'\n"));
    let added = r.commit("add config");
    r.write("config.py", "TOKEN = os.environ['TOKEN']\n");
    r.commit("remove the token");

    let (code, tree, _) = scan_json(&[r.path()]);
    assert_eq!(code, 0, "{tree}");

    let (code, hist, _) = scan_json(&["--history", r.path()]);
    assert_eq!(code, 1, "{hist}");
    let f = findings(&hist);
    assert_eq!(f.len(), 1, "{hist}");
    assert_eq!(f[0]["rule_id"], "github-pat-classic");
    assert_eq!(f[0]["path"], "config.py");
    assert_eq!(f[0]["commit"], added.as_str());
    assert_eq!(f[0]["author"], "Dev One");
    assert_eq!(f[0]["email"], "dev@corp.test");
    assert_eq!(f[0]["date"], "2026-01-01T10:00:00Z");
    assert_eq!(f[0]["line"], 1);
    assert_eq!(f[0]["commits"], 1);
    assert_eq!(hist["scan"]["mode"], "history");
}

#[test]
fn a_secret_carried_by_many_commits_is_reported_once_with_the_first() {
    let mut g = Gen::new(101);
    let tok = g.npm();
    let mut r = Repo::new();
    r.write("README.md", "hello\n");
    r.commit("init");
    r.write(".npmrc", &format!("//registry.npmjs.org/:_authToken={tok}\n"));
    let first = r.commit("add npmrc");
    for i in 0..4 {
        r.write(".npmrc", &format!("# rev {i}\n//registry.npmjs.org/:_authToken={tok}\n"));
        r.commit(&format!("touch {i}"));
    }
    let (code, json, _) = scan_json(&["--history", r.path()]);
    assert_eq!(code, 1);
    let f: Vec<_> = findings(&json).into_iter().filter(|f| f["path"] == ".npmrc").collect();
    let npm: Vec<_> = f.iter().filter(|f| f["rule_id"] == "npm-access-token").collect();
    assert_eq!(npm.len(), 1, "{json}");
    assert_eq!(npm[0]["commit"], first.as_str());
    assert_eq!(npm[0]["line"], 1, "line in the first commit's version");
    assert_eq!(npm[0]["commits"], 5, "five commits carried it");
    // Six blobs were scanned once each: README, five versions of .npmrc.
    assert_eq!(json["summary"]["files_scanned"], 6);
}

#[test]
fn history_scans_what_each_version_adds_with_exact_lines_and_carried_counts() {
    // History scans read each later version of a file only where it differs from the version it
    // replaced (with context lines); nothing that a whole-file scan finds may be lost.
    let mut g = Gen::new(107);
    let (pat, bot) = (g.github_pat(), g.slack_bot());
    let (sid, twilio_secret) = (format!("AC{}", g.hex(32)), g.hex(32));
    let filler = |i: usize| format!("value_{i} = compute({i}, 'ordinary text of line {i}')");
    let mut lines: Vec<String> = (1..=200).map(filler).collect();
    lines[99] = format!("GITHUB = \"{pat}\"");
    lines[49] = format!("TWILIO_ACCOUNT = \"{sid}\"");
    let text = |l: &[String]| l.join("\n") + "\n";
    let mut r = Repo::new();
    r.write("settings.py", &text(&lines));
    let first = r.commit("first");
    // Second version: a new line in the middle, and a secret next to an unchanged line.
    lines.insert(50, format!("TWILIO_SECRET = \"{twilio_secret}\""));
    lines.insert(150, format!("SLACK = \"{bot}\""));
    r.write("settings.py", &text(&lines));
    let second = r.commit("second");
    // Third version: a change far from every secret.
    lines[190] = "value_changed = 1".to_string();
    r.write("settings.py", &text(&lines));
    r.commit("third");

    let (code, json, _) = scan_json(&["--history", r.path()]);
    assert_eq!(code, 1);
    let all = findings(&json);
    let find = |rule: &str| {
        all.iter().find(|f| f["rule_id"] == rule).cloned().unwrap_or_else(|| panic!("no {rule} finding in {json}"))
    };
    let gh = find("github-pat-classic");
    assert_eq!(
        (gh["commit"].as_str(), gh["line"].as_u64(), gh["commits"].as_u64()),
        (Some(first.as_str()), Some(100), Some(3))
    );
    let slack = find("slack-bot-token");
    assert_eq!(
        (slack["commit"].as_str(), slack["line"].as_u64(), slack["commits"].as_u64()),
        (Some(second.as_str()), Some(151), Some(2))
    );
    let tw = find("twilio-account-credentials");
    assert_eq!((tw["commit"].as_str(), tw["line"].as_u64()), (Some(second.as_str()), Some(51)));
    assert_eq!(json["summary"]["files_scanned"], 3);
}

#[test]
fn carried_counts_follow_a_secret_through_later_versions_of_a_utf16_file() {
    // Later versions are scanned only where they changed, so whether they still carry the secret
    // is checked on their text: for a UTF-16 file that is the transcoded text, as scanned.
    let mut g = Gen::new(109);
    let pat = g.github_pat();
    let utf16 = |lines: &[String]| {
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend((lines.join("\r\n") + "\r\n").encode_utf16().flat_map(u16::to_le_bytes));
        bytes
    };
    let mut lines: Vec<String> = (1..=60).map(|i| format!("setting_{i} = {i}")).collect();
    lines[9] = format!("token = {pat}");
    let mut r = Repo::new();
    r.tree.write("win.ini", utf16(&lines));
    let first = r.commit("first");
    lines[55] = "setting_changed = 0".to_string();
    r.tree.write("win.ini", utf16(&lines));
    r.commit("second");
    lines[57] = "setting_changed_again = 0".to_string();
    r.tree.write("win.ini", utf16(&lines));
    r.commit("third");

    let (code, json, _) = scan_json(&["--history", r.path()]);
    assert_eq!(code, 1);
    let all = findings(&json);
    assert_eq!(all.len(), 1, "{json}");
    assert_eq!(
        (all[0]["commit"].as_str(), all[0]["line"].as_u64(), all[0]["commits"].as_u64()),
        (Some(first.as_str()), Some(10), Some(3))
    );
}

#[test]
fn history_covers_branches_tags_and_merges() {
    let mut g = Gen::new(102);
    let (a, b, c) = (g.github_pat(), g.github_pat(), g.github_pat());
    let mut r = Repo::new();
    r.write("base.txt", "base\n");
    r.commit("base");
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write("feature.txt", &format!("{a}\n"));
    r.commit("feature work");
    r.git(&["checkout", "-q", "main"]);
    r.write("main.txt", "main\n");
    r.commit("main work");
    r.git(&["merge", "-q", "--no-ff", "-m", "merge feature", "feature"]);
    // A branch never merged, and a tag on a commit no branch holds.
    r.git(&["checkout", "-q", "-b", "spike"]);
    r.write("spike.txt", &format!("{b}\n"));
    r.commit("spike");
    r.git(&["checkout", "-q", "--detach", "main"]);
    r.write("tagged.txt", &format!("{c}\n"));
    r.commit("tagged");
    r.git(&["tag", "v0-secret"]);
    r.git(&["checkout", "-q", "main"]);
    r.git(&["branch", "-D", "spike"]);

    let (_, json, _) = scan_json(&["--history", r.path()]);
    let mut paths: Vec<String> = findings(&json).iter().map(|f| f["path"].as_str().unwrap_or("").to_string()).collect();
    paths.sort();
    // The deleted branch's commit is unreachable; the merge reports feature.txt once.
    assert_eq!(paths, vec!["feature.txt", "tagged.txt"], "{json}");
}

#[test]
fn range_reports_what_it_adds_and_not_what_it_moves() {
    let mut g = Gen::new(103);
    let old = g.github_pat();
    let new = g.github_pat();
    let mut r = Repo::new();
    r.write("app/settings.py", &format!("A = 1\nTOKEN = '{old}'\n"));
    let base = r.commit("base with an old secret");
    // Moving the old secret within the file and into another file adds nothing.
    r.write("app/settings.py", &format!("TOKEN = '{old}'\nA = 1\n"));
    r.commit("move it");
    r.git(&["mv", "app/settings.py", "app/config.py"]);
    let moved = r.commit("rename");
    let (code, json, _) = scan_json(&["--range", &format!("{base}..{moved}"), r.path()]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["scan"]["mode"], "range");

    r.write("app/keys.py", &format!("NEW = '{new}'\n"));
    let added = r.commit("add a new secret");
    let (code, json, _) = scan_json(&["--range", &format!("{base}..HEAD"), r.path()]);
    assert_eq!(code, 1);
    let f = findings(&json);
    assert_eq!(f.len(), 1, "{json}");
    assert_eq!(f[0]["path"], "app/keys.py");
    assert_eq!(f[0]["commit"], added.as_str());

    // A single commit means that commit against its parent.
    let (_, json, _) = scan_json(&["--range", &added, r.path()]);
    assert_eq!(findings(&json).len(), 1, "{json}");
    let (_, json, _) = scan_json(&["--range", &moved, r.path()]);
    assert_eq!(findings(&json).len(), 0, "{json}");
}

#[test]
fn range_does_not_blame_a_merge_of_main_for_mains_secrets() {
    let mut g = Gen::new(104);
    let on_main = g.github_pat();
    let mut r = Repo::new();
    r.write("a.txt", "a\n");
    let base = r.commit("base");
    r.git(&["checkout", "-q", "-b", "pr"]);
    r.write("b.txt", "b\n");
    r.commit("pr work");
    r.git(&["checkout", "-q", "main"]);
    r.write("main.txt", &format!("{on_main}\n"));
    let main_head = r.commit("main leaks");
    r.git(&["checkout", "-q", "pr"]);
    r.git(&["merge", "-q", "--no-ff", "-m", "merge main", "main"]);
    // The PR range as CI computes it, from main's head: the merge brings main's secret, which
    // main already held.
    let (code, json, _) = scan_json(&["--range", &format!("{main_head}..pr"), r.path()]);
    assert_eq!(code, 0, "{json}");
    // From the old base, main's commit is in the range and is blamed, once.
    let (_, json, _) = scan_json(&["--range", &format!("{base}..pr"), r.path()]);
    let f = findings(&json);
    assert_eq!(f.len(), 1, "{json}");
    assert_eq!(f[0]["commit"], main_head.as_str());
}

#[test]
fn staged_scans_the_index_not_the_work_tree() {
    let mut g = Gen::new(105);
    let staged = g.github_pat();
    let unstaged = g.github_pat();
    let committed = g.github_pat();
    let mut r = Repo::new();
    r.write("old.txt", &format!("{committed}\n"));
    r.commit("old");
    r.write("new.txt", &format!("line one\nline two\nkey = {staged}\n"));
    r.git(&["add", "new.txt"]);
    // Changed after staging: the work tree has a different secret on another line.
    r.write("new.txt", &format!("key = {unstaged}\n"));
    r.write("untracked.txt", &format!("{unstaged}\n"));
    r.write("old.txt", &format!("moved\n{committed}\n"));
    r.git(&["add", "old.txt"]);
    let (code, json, _) = scan_json(&["--staged", r.path()]);
    assert_eq!(code, 1, "{json}");
    let f = findings(&json);
    assert_eq!(f.len(), 1, "{json}");
    assert_eq!(f[0]["path"], "new.txt");
    assert_eq!(f[0]["line"], 3, "index line number");
    assert!(f[0].get("commit").is_none(), "{json}");
    assert_eq!(json["scan"]["mode"], "staged");
}

#[test]
fn staged_works_on_an_unborn_head_and_with_nothing_staged() {
    let mut g = Gen::new(106);
    let r = Repo::new();
    let (code, json, _) = scan_json(&["--staged", r.path()]);
    assert_eq!(code, 0, "{json}");
    r.write("first.txt", &format!("{}\n", g.github_pat()));
    r.git(&["add", "first.txt"]);
    let (code, json, _) = scan_json(&["--staged", r.path()]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(findings(&json).len(), 1);
}

#[test]
fn empty_repository_and_non_repository() {
    let r = Repo::new();
    let (code, json, _) = scan_json(&["--history", r.path()]);
    assert_eq!(code, 0);
    let notes = json["summary"]["notes"].to_string();
    assert!(notes.contains("no commits"), "{json}");

    let plain = Tree::new();
    for flag in [vec!["--history"], vec!["--staged"], vec!["--range", "HEAD~1..HEAD"]] {
        let out = ndaguard().arg("scan").args(&flag).arg(plain.path()).output().expect("runs");
        assert_eq!(out.status.code(), Some(2), "{flag:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("not a git repository"), "{flag:?}: {err}");
    }
}

#[test]
fn bare_and_shallow_clones() {
    let mut g = Gen::new(107);
    let early = g.github_pat();
    let late = g.github_pat();
    let mut r = Repo::new();
    r.write("a.txt", &format!("{early}\n"));
    r.commit("early");
    r.write("a.txt", "gone\n");
    r.commit("removed");
    r.write("b.txt", &format!("{late}\n"));
    r.commit("late");

    let dest = Tree::new();
    let bare = dest.path().join("bare.git");
    git_in(dest.path(), &["clone", "-q", "--bare", r.path(), bare.to_str().expect("utf-8")]);
    let (_, json, _) = scan_json(&["--history", bare.to_str().expect("utf-8")]);
    assert_eq!(findings(&json).len(), 2, "bare clone holds the whole history: {json}");

    let shallow = dest.path().join("shallow");
    let url = format!("file://{}", r.path());
    git_in(dest.path(), &["clone", "-q", "--depth", "1", &url, shallow.to_str().expect("utf-8")]);
    let (_, json, _) = scan_json(&["--history", shallow.to_str().expect("utf-8")]);
    let f = findings(&json);
    assert_eq!(f.len(), 1, "only the last commit exists: {json}");
    assert_eq!(f[0]["path"], "b.txt");
    assert!(json["summary"]["notes"].to_string().contains("shallow"), "{json}");
}

#[test]
fn a_missing_object_is_a_warning_and_exit_code_2() {
    let mut g = Gen::new(108);
    let mut r = Repo::new();
    r.write("lost.txt", "this blob will vanish\n");
    r.write("kept.txt", &format!("{}\n", g.github_pat()));
    r.commit("two files");
    let blob = r.git(&["rev-parse", "HEAD:lost.txt"]);
    let obj = r.tree.path().join(".git/objects").join(&blob[..2]).join(&blob[2..]);
    std::fs::remove_file(&obj).expect("loose object exists");
    let (code, json, stderr) = scan_json(&["--history", r.path()]);
    assert_eq!(code, 2, "{json}");
    assert_eq!(findings(&json).len(), 1, "the scan went on: {json}");
    assert_eq!(json["summary"]["errors"], 1);
    assert!(stderr.contains(&blob), "the warning names the object: {stderr}");
}

#[test]
fn submodules_binary_blobs_and_odd_paths() {
    let mut g = Gen::new(109);
    let tok = g.github_pat();
    let mut r = Repo::new();
    r.write("bin.dat", "\0\0\0binary\0");
    r.commit("binary");
    let name = std::ffi::OsStr::from_bytes_helper(b"odd\xffname.txt");
    std::fs::write(r.tree.path().join(&name), format!("{tok}\n")).expect("write odd name");
    r.git(&["add", "-A"]);
    // A gitlink entry (submodule) without fetching anything.
    r.git(&["update-index", "--add", "--cacheinfo", "160000,1111111111111111111111111111111111111111,vendor/lib"]);
    r.commit_index("submodule and odd name");
    let (code, json, _) = scan_json(&["--history", r.path()]);
    assert_eq!(code, 1, "{json}");
    let f = findings(&json);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["path"], "odd\\xffname.txt");
    let reasons = &json["summary"]["skipped_by_reason"];
    assert_eq!(reasons["submodule"], 1, "{json}");
    assert_eq!(reasons["binary"], 1, "{json}");
}

/// Builds an `OsString` from raw bytes (Unix).
trait FromBytesHelper {
    fn from_bytes_helper(b: &[u8]) -> std::ffi::OsString;
}

impl FromBytesHelper for std::ffi::OsStr {
    fn from_bytes_helper(b: &[u8]) -> std::ffi::OsString {
        use std::os::unix::ffi::OsStrExt;
        std::ffi::OsStr::from_bytes(b).to_os_string()
    }
}

#[test]
fn history_of_a_path_inside_the_work_tree() {
    let mut g = Gen::new(110);
    let mut r = Repo::new();
    r.write("deep/dir/a.txt", &format!("{}\n", g.github_pat()));
    r.commit("deep");
    let inner = r.tree.path().join("deep/dir");
    let (code, json, _) = scan_json(&["--history", inner.to_str().expect("utf-8")]);
    assert_eq!(code, 1);
    assert_eq!(findings(&json)[0]["path"], "deep/dir/a.txt");
}

#[test]
fn versions_that_grow_past_the_chunk_size_or_the_size_limit_are_streamed_or_skipped() {
    // Small first versions, then versions a thousand times larger, packed as deltas: a new
    // version of a small file is read whole before its size is known, and one that turns out
    // large must still be scanned in chunks (below the limit) or skipped (above it).
    let mut g = Gen::new(113);
    let tok = g.github_pat();
    let mut r = Repo::new();
    let lines = |n: usize| (0..n).map(|i| format!("row {i} of the fixture table\n")).collect::<String>();
    r.write("grows.txt", &lines(100));
    r.write("huge.txt", &lines(100));
    r.write("medium.txt", &lines(100));
    r.commit("small versions");
    // 9.2 MB (more than one chunk of 8.25 MiB, less than the default limit of 10 MiB), the token
    // last; 12.7 MB; 209 kB.
    let big = lines(290_000);
    assert!((8_650_752..10_000_000).contains(&big.len()), "{}", big.len());
    r.write("grows.txt", &format!("{big}token = {tok}\n"));
    r.write("huge.txt", &lines(400_000));
    r.write("medium.txt", &lines(7_000));
    r.commit("large versions");
    r.git(&["repack", "-adfq"]);
    let (code, json, _) = scan_json(&["--history", r.path()]);
    assert_eq!(code, 1, "{json}");
    let f = findings(&json);
    assert_eq!(f.len(), 1, "{json}");
    assert_eq!(f[0]["path"], "grows.txt");
    assert_eq!(f[0]["line"], 290_001);
    assert_eq!(json["summary"]["skipped_by_reason"]["too-large"], 1, "{json}");
    // With a limit of 100 kB, the 200 kB version (read whole) is skipped too, and so is the one
    // that held the token.
    let (code, json, _) = scan_json(&["--history", "--max-file-size", "100000", r.path()]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["summary"]["skipped_by_reason"]["too-large"], 3, "{json}");
}
