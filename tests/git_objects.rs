//! Broken git objects (issue 14, items 2 and 9): a history scan reads everything it can, names
//! each object it cannot read, exits 2, and never hangs.

use std::time::Duration;

use crate::common::{ndaguard, Gen};
use crate::git::Repo;

/// A history of three commits: `keep.txt` (first), `dir/leak.txt` (second), `late.txt` (third),
/// each holding its own token. Returns the repository and the three tokens.
fn three_commits(seed: u64) -> (Repo, [String; 3]) {
    let mut g = Gen::new(seed);
    let tokens = [g.github_pat(), g.github_pat(), g.github_pat()];
    let mut r = Repo::new();
    r.write("keep.txt", &format!("a = {}\n", tokens[0]));
    r.write("dir/other.txt", "plain\n");
    r.commit("first");
    r.write("dir/leak.txt", &format!("b = {}\n", tokens[1]));
    r.commit("second");
    r.write("late.txt", &format!("c = {}\n", tokens[2]));
    r.commit("third");
    (r, tokens)
}

/// Truncates the loose object `rev` names to `len` bytes; returns its id.
fn truncate(r: &Repo, rev: &str, len: u64) -> String {
    let id = r.git(&["rev-parse", rev]);
    let path = r.tree.path().join(".git/objects").join(&id[..2]).join(&id[2..]);
    let mut perms = std::fs::metadata(&path).expect("a loose object").permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&path, perms).expect("chmod");
    std::fs::OpenOptions::new().write(true).open(&path).expect("open").set_len(len).expect("truncate");
    id
}

/// Runs `ndaguard scan -f json ARGS…`, killed after 60 s (a hang fails the test, never blocks
/// it): (exit code, report, stderr).
pub(crate) fn scan_guarded(args: &[&str]) -> (i32, serde_json::Value, String) {
    let out =
        ndaguard().args(["scan", "-f", "json"]).args(args).timeout(Duration::from_secs(60)).output().expect("runs");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let code = out.status.code().unwrap_or_else(|| panic!("killed after 60 s (a hang?): {err}"));
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("no JSON report ({e}): {err}"));
    (code, json, err)
}

/// The skipped entries of a report whose path or detail names `id`.
pub(crate) fn naming(json: &serde_json::Value, id: &str) -> Vec<serde_json::Value> {
    let all = json["skipped"].as_array().cloned().unwrap_or_default();
    all.into_iter()
        .filter(|s| {
            s["reason"] == "missing-object"
                && (s["path"].as_str().unwrap_or("").contains(id) || s["detail"].as_str().unwrap_or("").contains(id))
        })
        .collect()
}

pub(crate) fn secrets(json: &serde_json::Value) -> Vec<String> {
    json["findings"]
        .as_array()
        .map(|a| a.iter().map(|f| f["path"].as_str().unwrap_or("").to_string()).collect())
        .unwrap_or_default()
}

#[test]
fn i9_a_truncated_loose_blob_is_a_missing_object_and_the_scan_goes_on() {
    let (r, _) = three_commits(9001);
    let blob = truncate(&r, "HEAD:dir/leak.txt", 2);
    for args in [vec!["--history", r.path()], vec!["--range", "HEAD~2..HEAD", r.path()]] {
        let (code, json, err) = scan_guarded(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        let named = naming(&json, &blob);
        assert!(!named.is_empty(), "{args:?}: the blob is not named: {json}");
        assert!(named.iter().any(|s| s["detail"].as_str().unwrap_or("").contains("truncated zlib stream")), "{json}");
        assert!(secrets(&json).contains(&"late.txt".to_string()), "{args:?}: the scan went on: {json}");
    }
}

#[test]
fn i9_a_truncated_loose_tree_is_a_missing_object_and_the_scan_goes_on() {
    let (r, _) = three_commits(9002);
    let tree = truncate(&r, "HEAD~1:dir", 7);
    let (code, json, err) = scan_guarded(&["--history", r.path()]);
    assert_eq!(code, 2, "{err}");
    assert!(!naming(&json, &tree).is_empty(), "the tree is not named: {json}");
    let found = secrets(&json);
    assert!(found.contains(&"keep.txt".to_string()) && found.contains(&"late.txt".to_string()), "{json}");
}

#[test]
fn i9_a_truncated_loose_commit_is_a_missing_object_and_the_scan_ends() {
    let (r, _) = three_commits(9003);
    let commit = truncate(&r, "HEAD~1", 3);
    let (code, json, err) = scan_guarded(&["--history", r.path()]);
    assert_eq!(code, 2, "{err}");
    assert!(!naming(&json, &commit).is_empty(), "the commit is not named: {json}");
}

/// Writes a copy of commit `rev` whose author date is not a number (libgit2 refuses to parse it;
/// git itself still reads it); returns its id.
fn with_bad_author_date(r: &Repo, rev: &str) -> String {
    let text = r.git(&["cat-file", "commit", rev]);
    let mut out = String::new();
    for line in text.lines() {
        if let Some(who) = line.strip_prefix("author ") {
            let name = &who[..who.rfind('>').expect("an email") + 1];
            out.push_str(&format!("author {name} notadate +0000\n"));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    let mut child = std::process::Command::new("git")
        .current_dir(r.tree.path())
        .args(["hash-object", "-t", "commit", "-w", "--literally", "--stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("git runs");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), out.as_bytes()).expect("writes");
    let done = child.wait_with_output().expect("git ends");
    assert!(done.status.success());
    String::from_utf8_lossy(&done.stdout).trim().to_string()
}

#[test]
fn i2_an_unparsable_commit_at_a_ref_tip_is_named_and_everything_else_is_scanned() {
    let (r, _) = three_commits(9004);
    let bad = with_bad_author_date(&r, "HEAD");
    r.git(&["update-ref", "refs/heads/main", &bad]);
    let (code, json, err) = scan_guarded(&["--history", r.path()]);
    assert_eq!(code, 2, "{err}");
    let named = naming(&json, &bad);
    assert!(named.iter().any(|s| s["path"] == format!("<commit {bad}>")), "the commit is not named: {json}");
    let mut found = secrets(&json);
    found.sort();
    assert_eq!(found, ["dir/leak.txt", "keep.txt", "late.txt"], "{json}");
    // The bad commit's own tree was scanned, and its finding names it (dated by its committer).
    let late = json["findings"].as_array().and_then(|a| a.iter().find(|f| f["path"] == "late.txt")).expect("late");
    assert_eq!(late["commit"], bad.as_str(), "{late}");
    assert!(late["date"].as_str().unwrap_or("").starts_with("2026-01-03"), "{late}");
}

#[test]
fn i2_an_unparsable_ancestor_does_not_stop_the_walk() {
    let (r, _) = three_commits(9005);
    let bad = with_bad_author_date(&r, "HEAD~1");
    let good_tip = r.git(&["commit-tree", "HEAD^{tree}", "-p", &bad, "-m", "third, on the bad commit"]);
    r.git(&["update-ref", "refs/heads/main", &good_tip]);
    let (code, json, err) = scan_guarded(&["--history", r.path()]);
    assert_eq!(code, 2, "{err}");
    assert!(!naming(&json, &bad).is_empty(), "the commit is not named: {json}");
    let mut found = secrets(&json);
    found.sort();
    assert_eq!(found, ["dir/leak.txt", "keep.txt", "late.txt"], "{json}");
    let keep = json["findings"].as_array().and_then(|a| a.iter().find(|f| f["path"] == "keep.txt")).expect("keep");
    assert_eq!(keep["commit"], r.git(&["rev-parse", "HEAD~2"]).as_str(), "the root commit was reached: {keep}");
}

/// A history scan started with `env`, its stderr lines on a channel.
fn spawn_history(path: &str, env: &[(&str, &str)]) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    #[allow(deprecated)]
    let bin = assert_cmd::cargo::cargo_bin("ndaguard");
    let mut child = std::process::Command::new(bin)
        .args(["scan", "--history", "-f", "json", path])
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)).map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (child, rx)
}

/// Waits (at most 60 s) for a stderr line containing `what`.
fn wait_for(rx: &std::sync::mpsc::Receiver<String>, what: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) if line.contains(what) => return,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    panic!("no line with {what:?} on stderr within 60 s");
}

/// Sends SIGINT once and waits (at most 30 s) for the exit: (exit code, stdout, time taken).
fn interrupt(mut child: std::process::Child) -> (Option<i32>, Vec<u8>, Duration) {
    let started = std::time::Instant::now();
    let kill = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill");
    assert!(kill.success());
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stdout, &mut v);
        v
    });
    loop {
        if let Some(status) = child.try_wait().expect("waits") {
            return (status.code(), reader.join().unwrap_or_default(), started.elapsed());
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("still running 30 s after one SIGINT");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn i12_one_ctrl_c_ends_a_run_blocked_in_any_phase_of_a_history_scan() {
    // Each point blocks without looking at the cancel token, as libgit2's loop on a truncated
    // loose object (item 9) did: the first Ctrl-C must still end the process.
    let (r, _) = three_commits(9012);
    for point in ["loose", "walk", "diff", "blob", "scan"] {
        let (child, rx) = spawn_history(r.path(), &[("NDAGUARD_STALL", point)]);
        wait_for(&rx, &format!("stalled at {point}"));
        let (code, _, took) = interrupt(child);
        assert_eq!(code, Some(130), "{point}");
        assert!(took < Duration::from_secs(12), "{point}: stopping took {took:?}");
    }
}

#[test]
fn i12_one_ctrl_c_stops_a_long_history_scan_promptly_with_a_report() {
    // 6,000 commits, each a new version of one of 200 files: seconds of commit comparison and
    // of blob scanning, even in a release build.
    let r = Repo::new();
    let mut stream = String::new();
    for i in 0..6000u64 {
        let body: String =
            (0..40).map(|j| format!("line {j} of version {i}: let v = compute(a, b) + {j};\n")).collect();
        stream.push_str(&format!(
            "commit refs/heads/main\ncommitter Dev <dev@corp.test> {} +0000\ndata 2\nc\n",
            1767261600 + i
        ));
        stream.push_str(&format!("M 644 inline f{:03}.txt\ndata {}\n{body}\n", i % 200, body.len()));
    }
    let mut fi = std::process::Command::new("git")
        .current_dir(r.tree.path())
        .args(["fast-import", "--quiet"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("git runs");
    std::io::Write::write_all(&mut fi.stdin.take().expect("stdin"), stream.as_bytes()).expect("writes");
    assert!(fi.wait().expect("git ends").success());
    // In the commit walk and comparison, then in the blob scan (after the blob index is built).
    for after in ["loose objects checked", "blob index at"] {
        let (child, rx) = spawn_history(r.path(), &[("NDAGUARD_TIMING", "1")]);
        wait_for(&rx, after);
        let (code, stdout, took) = interrupt(child);
        assert_eq!(code, Some(130), "after {after:?}");
        assert!(took < Duration::from_secs(4), "after {after:?}: stopping took {took:?}");
        let json: serde_json::Value = serde_json::from_slice(&stdout).expect("a complete JSON report");
        assert_eq!(json["summary"]["interrupted"], true, "after {after:?}");
    }
}
