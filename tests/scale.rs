//! History at scale: shards joined by `merge`, the scan, walk and summary caches, machine-readable
//! progress.

use std::path::Path;

use crate::common::{ndaguard, Gen};
use crate::git::Repo;

const NOW: &str = "2026-03-01T00:00:00Z";

/// A history with secrets in many files and versions, carried through later commits, on two
/// branches (one secret added at the same path, in different blobs, at the same author date on
/// both), a binary blob and a symbolic link.
fn busy_repo() -> Repo {
    let mut g = Gen::new(1500);
    let mut r = Repo::new();
    let filler = |i: usize| (0..40).map(|l| format!("line_{i}_{l} = {l}\n")).collect::<String>();
    for i in 0..12 {
        r.write(&format!("svc{i}/config.py"), &format!("{}TOKEN = '{}'\n", filler(i), g.github_pat()));
    }
    r.write("keys/.npmrc", &format!("//registry.npmjs.org/:_authToken={}\n", g.npm()));
    r.tree.write("logo.png", b"\x89PNG\r\n\x1a\n\0\0\0binary");
    r.commit("first");
    for round in 0..5 {
        for i in (round % 3..12).step_by(3) {
            let extra = if i % 2 == 0 { format!("SLACK = '{}'\n", g.slack_bot()) } else { String::new() };
            let text = format!("# round {round}\n{}{extra}TOKEN = '{}'\n", filler(i), g.github_pat());
            r.write(&format!("svc{i}/config.py"), &text);
        }
        r.commit(&format!("round {round}"));
    }
    #[cfg(unix)]
    std::os::unix::fs::symlink("svc0/config.py", r.tree.path().join("link.py")).expect("symlink");
    let shared = g.github_pat();
    r.write("shared.env", &format!("A=1\nTOKEN={shared}\n"));
    r.commit("shared on main");
    r.git(&["checkout", "-q", "-b", "side", "HEAD~1"]);
    r.clock -= 1;
    r.write("shared.env", &format!("B=2\nTOKEN={shared}\n"));
    r.commit("shared on side, same date");
    r.git(&["checkout", "-q", "main"]);
    r
}

fn run(args: &[&str]) -> (i32, Vec<u8>) {
    let out = ndaguard().args(args).output().expect("runs");
    (out.status.code().unwrap_or(-1), out.stdout)
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}

/// Writes the `n` shard reports of `repo` in `format` into `dir`; returns their paths.
fn shard_reports(repo: &str, dir: &Path, n: usize, format: &str) -> Vec<String> {
    (1..=n)
        .map(|i| {
            let out = dir.join(format!("shard-{i}.{format}"));
            let out = out.to_str().expect("utf-8").to_string();
            let shard = format!("{i}/{n}");
            let (code, _) =
                run(&["scan", "--history", "--shard", &shard, "-f", format, "--now", NOW, "-o", &out, repo]);
            assert!(code == 0 || code == 1, "shard {shard} exit {code}");
            out
        })
        .collect()
}

#[test]
fn merged_shards_equal_the_unsharded_scan_finding_for_finding() {
    let r = busy_repo();
    let dir = tempfile::tempdir().expect("temp dir");
    let (code, whole) = run(&["scan", "--history", "-f", "json", "--now", NOW, r.path()]);
    assert_eq!(code, 1);
    let mut whole = json(&whole);
    let total = whole["findings"].as_array().map_or(0, Vec::len);
    assert!(total >= 25, "the corpus has many findings: {total}");

    let shards = shard_reports(r.path(), dir.path(), 3, "json");
    let scanned: Vec<u64> = shards
        .iter()
        .map(|p| json(&std::fs::read(p).expect("report"))["summary"]["files_scanned"].as_u64().unwrap_or(0))
        .collect();
    assert!(
        scanned.iter().all(|&n| n > 0 && n < whole["summary"]["files_scanned"].as_u64().unwrap_or(0)),
        "{scanned:?}"
    );
    // The secret added at the same date on two branches is found by two shards: the tie is
    // broken by history order, as in the unsharded scan.
    let dates: Vec<serde_json::Value> = shards
        .iter()
        .flat_map(|p| json(&std::fs::read(p).expect("report"))["findings"].as_array().cloned().unwrap_or_default())
        .filter(|f| f["path"] == "shared.env")
        .map(|f| f["date"].clone())
        .collect();
    assert_eq!(dates.len(), 2, "{dates:?}");
    assert_eq!(dates[0], dates[1]);
    let mut args = vec!["merge"];
    args.extend(shards.iter().map(String::as_str));
    let (code, merged) = run(&args);
    assert_eq!(code, 1, "findings: exit 1");
    let mut merged = json(&merged);
    for r in [&mut whole, &mut merged] {
        r["summary"]["duration_ms"] = 0.into();
    }
    assert_eq!(merged["findings"], whole["findings"]);
    assert_eq!(merged["skipped"], whole["skipped"]);
    assert_eq!(merged, whole);
    let shared: Vec<&serde_json::Value> =
        whole["findings"].as_array().into_iter().flatten().filter(|f| f["path"] == "shared.env").collect();
    assert_eq!(shared.len(), 1, "one secret at one path: one finding: {shared:?}");

    // SARIF: the merged log is the unsharded log.
    let (_, whole_sarif) = run(&["scan", "--history", "-f", "sarif", "--now", NOW, r.path()]);
    let shards = shard_reports(r.path(), dir.path(), 3, "sarif");
    let mut args = vec!["merge"];
    args.extend(shards.iter().map(String::as_str));
    let out = ndaguard().args(&args).output().expect("runs");
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let merged_sarif = out.stdout;
    assert_eq!(json(&merged_sarif), json(&whole_sarif));
}

#[test]
fn merge_refuses_an_incomplete_set_of_shards_and_mixed_formats() {
    let r = busy_repo();
    let dir = tempfile::tempdir().expect("temp dir");
    let shards = shard_reports(r.path(), dir.path(), 3, "json");
    let out = ndaguard().args(["merge", &shards[0], &shards[2]]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing shard(s) 2/3"), "{out:?}");
    let sarif = shard_reports(r.path(), dir.path(), 1, "sarif");
    let out = ndaguard().args(["merge", &shards[0], &sarif[0]]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
}

/// Runs a JSON history scan of `repo` with `extra` flags; returns (report, stderr).
fn history(repo: &str, extra: &[&str]) -> (serde_json::Value, String) {
    let out = ndaguard()
        .args(["scan", "--history", "-f", "json", "--now", NOW])
        .args(extra)
        .arg(repo)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let mut report = json(&out.stdout);
    report["summary"]["duration_ms"] = 0.into();
    (report, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Removes the history summary of a `--cache` directory, so that the next scan walks the history
/// (and uses the walk and scan caches).
fn forget_summary(dir: &Path) {
    let _ = std::fs::remove_file(dir.join("history-summary.cache"));
}

/// The number in `ndaguard: scan cache: N blob(s) reused`.
fn reused(stderr: &str) -> u64 {
    let line = stderr.lines().find(|l| l.contains("scan cache:")).unwrap_or_else(|| panic!("no cache line: {stderr}"));
    line.split_whitespace().find_map(|w| w.parse().ok()).unwrap_or_else(|| panic!("no count: {line}"))
}

#[test]
fn the_scan_cache_reuses_clean_blobs_and_is_dropped_when_rules_change_or_it_is_corrupt() {
    let mut r = busy_repo();
    for i in 0..30 {
        r.write(&format!("docs/page{i}.md"), &format!("# Page {i}\n\nNothing secret here, line {i}.\n"));
    }
    r.commit("docs");
    let cache = tempfile::tempdir().expect("temp dir");
    let dir = cache.path().to_str().expect("utf-8");
    let (plain, _) = history(r.path(), &[]);
    let (first, err) = history(r.path(), &["--cache", dir]);
    assert_eq!(reused(&err), 0);
    assert_eq!(first, plain);
    // The cache holds no secret: no finding's secret (nor any token text) is in it.
    let bytes = std::fs::read(cache.path().join("history.cache")).expect("cache file");
    assert!(!String::from_utf8_lossy(&bytes).contains("ghp_"), "no token text in the cache");

    forget_summary(cache.path());
    let (second, err) = history(r.path(), &["--cache", dir]);
    // Every blob without a finding (the 30 pages, the binary logo) is reused; blobs with
    // findings are scanned again.
    assert!(reused(&err) >= 31, "{err}");
    assert_eq!(second, plain, "a reused scan reports exactly what a full scan does");

    // A new commit: only its blob is new; the report is still a full scan's.
    let mut g = Gen::new(1501);
    r.write("svc3/late.py", &format!("KEY = '{}'\n", g.github_pat()));
    r.commit("late");
    let (late_plain, _) = history(r.path(), &[]);
    forget_summary(cache.path());
    let (late, err) = history(r.path(), &["--cache", dir]);
    assert_eq!(late, late_plain);
    assert!(reused(&err) >= 31, "{err}");

    // Other rules: the cache is not trusted.
    let side = tempfile::tempdir().expect("temp dir");
    let rules = side.path().join("acme.toml");
    std::fs::write(&rules, "[[rule]]\nid = \"acme-internal-token\"\nname = \"Acme internal token\"\nseverity = \"high\"\nkeywords = [\"acmetok_\"]\nregex = '''(?P<secret>acmetok_[0-9a-f]{24})'''\nexamples = [\"token = acmetok_9f3a1c7e5b2d4068ae1f7c3b\"]\nnegative_examples = [\"token = acmetok_\"]\n").expect("rules");
    let rules = rules.to_str().expect("utf-8");
    let (other, err) = history(r.path(), &["--cache", dir, "--rules", rules]);
    assert_eq!(reused(&err), 0, "{err}");
    let notes = other["summary"]["notes"].to_string();
    assert!(notes.contains("other rules"), "{notes}");

    // Corrupt: ignored with a note, the scan is complete.
    let path = cache.path().join("history.cache");
    let mut bytes = std::fs::read(&path).expect("cache file");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(&path, &bytes).expect("write");
    forget_summary(cache.path());
    let (after, err) = history(r.path(), &["--cache", dir, "--rules", rules]);
    assert_eq!(reused(&err), 0, "{err}");
    assert!(after["summary"]["notes"].to_string().contains("corrupt"), "{}", after["summary"]);
    let mut after = after;
    let mut other = other;
    for v in [&mut after, &mut other] {
        v["summary"]["notes"] = serde_json::Value::Null;
    }
    assert_eq!(after, other);
}

#[test]
fn progress_json_reports_each_phase_with_totals_on_stderr() {
    let r = busy_repo();
    let (report, err) = history(r.path(), &["--progress", "json"]);
    let lines: Vec<serde_json::Value> = err
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let starts: Vec<(String, u64)> = lines
        .iter()
        .filter(|l| l["event"] == "start")
        .map(|l| (l["phase"].as_str().unwrap_or("").to_string(), l["total"].as_u64().unwrap_or(0)))
        .collect();
    let commits = r.git(&["rev-list", "--all", "--count"]).parse::<u64>().expect("count");
    let blobs = report["summary"]["files_scanned"].as_u64().unwrap_or(0)
        + report["skipped"].as_array().map_or(0, |s| s.iter().filter(|s| s["reason"] == "binary").count() as u64);
    assert_eq!(starts[0], ("commits".to_string(), commits), "{err}");
    assert_eq!(starts[1], ("blobs".to_string(), blobs), "{err}");
    // The carried phase counts findings: one (path, secret) at a time.
    let findings = report["findings"].as_array().map_or(0, |f| f.len() as u64);
    assert_eq!(starts[2], ("carried".to_string(), findings), "{err}");
    assert_eq!(lines.last().map(|l| l["phase"].clone()), Some("done".into()), "{err}");
    // Without a terminal and without --progress json, nothing but the report.
    let (_, quiet) = history(r.path(), &[]);
    assert!(!quiet.contains("\"phase\""), "{quiet}");
}

/// The numbers in `ndaguard: walk cache: N of M commit(s) reused`.
fn walk_reused(stderr: &str) -> (u64, u64) {
    let line = stderr.lines().find(|l| l.contains("walk cache:")).unwrap_or_else(|| panic!("no walk line: {stderr}"));
    let n: Vec<u64> = line.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    (n[0], n[1])
}

#[test]
fn the_walk_cache_skips_known_commits_and_a_corrupt_one_is_ignored_with_a_note() {
    let mut r = busy_repo();
    let cache = tempfile::tempdir().expect("temp dir");
    let dir = cache.path().to_str().expect("utf-8");
    let commits = r.git(&["rev-list", "--all", "--count"]).parse::<u64>().expect("count");
    let (plain, _) = history(r.path(), &[]);
    let (first, err) = history(r.path(), &["--cache", dir]);
    assert_eq!(walk_reused(&err), (0, commits), "{err}");
    assert_eq!(first, plain);
    let walk = std::fs::read(cache.path().join("history-walk.cache")).expect("walk cache file");
    assert!(!String::from_utf8_lossy(&walk).contains("ghp_"), "no token text in the walk cache");

    // Unchanged: every commit comes from the cache, and the report is a full scan's.
    forget_summary(cache.path());
    let (second, err) = history(r.path(), &["--cache", dir]);
    assert_eq!(walk_reused(&err), (commits, commits), "{err}");
    assert_eq!(second, plain);

    // One new commit (on another branch, moving a secret-carrying file): only it is compared,
    // and what it carries is counted as a full scan counts it.
    r.git(&["checkout", "-q", "-b", "late"]);
    r.write("svc0/config.py", "moved = True\n");
    r.write("svc0/moved.py", "x = 1\n");
    r.commit("late");
    let (late_plain, _) = history(r.path(), &[]);
    forget_summary(cache.path());
    let (late, err) = history(r.path(), &["--cache", dir]);
    assert_eq!(walk_reused(&err), (commits, commits + 1), "{err}");
    assert_eq!(late, late_plain);

    // Corrupt: ignored with a note, every commit compared again, the same report.
    let path = cache.path().join("history-walk.cache");
    let mut bytes = std::fs::read(&path).expect("walk cache file");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(&path, &bytes).expect("write");
    forget_summary(cache.path());
    let (after, err) = history(r.path(), &["--cache", dir]);
    assert_eq!(walk_reused(&err), (0, commits + 1), "{err}");
    let notes = after["summary"]["notes"].to_string();
    assert!(notes.contains("walk cache") && notes.contains("corrupt"), "{notes}");
    let mut after = after;
    if let Some(summary) = after["summary"].as_object_mut() {
        summary.remove("notes");
    }
    assert_eq!(after, late_plain);
    // ... and replaced by a good one.
    forget_summary(cache.path());
    let (_, err) = history(r.path(), &["--cache", dir]);
    assert_eq!(walk_reused(&err), (commits + 1, commits + 1), "{err}");
}

/// Asserts that two reports are equal, naming the first finding that differs.
fn assert_same(got: &serde_json::Value, want: &serde_json::Value, context: &str) {
    let (g, w) = (got["findings"].as_array(), want["findings"].as_array());
    let (g, w) = (g.map_or(&[][..], Vec::as_slice), w.map_or(&[][..], Vec::as_slice));
    if let Some((a, b)) = g.iter().zip(w).find(|(a, b)| a != b) {
        panic!("{context}: finding differs:\n got {a}\nwant {b}");
    }
    assert_eq!(g.len(), w.len(), "{context}: number of findings");
    let strip = |v: &serde_json::Value| {
        let mut v = v.clone();
        v["findings"] = serde_json::Value::Null;
        v
    };
    assert_eq!(strip(got), strip(want), "{context}");
}

/// The `ndaguard: history cache: …` line of a scan's stderr.
fn summary_line(stderr: &str) -> &str {
    stderr.lines().find(|l| l.contains("history cache:")).unwrap_or_else(|| panic!("no history cache line: {stderr}"))
}

#[test]
fn the_history_summary_rebuilds_an_unchanged_history_and_falls_back_when_it_cannot() {
    let r = busy_repo();
    let cache = tempfile::tempdir().expect("temp dir");
    let dir = cache.path().to_str().expect("utf-8");
    let (plain, _) = history(r.path(), &[]);
    let (first, err) = history(r.path(), &["--cache", dir]);
    assert!(!err.contains("history cache:"), "no summary yet: {err}");
    assert_same(&first, &plain, &err);
    // The summary holds no secret: no token text.
    let bytes = std::fs::read(cache.path().join("history-summary.cache")).expect("summary file");
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains("ghp_") && !text.contains("xoxb-") && !text.contains("npm_"), "no token text");

    // Unchanged: no walk, no blob scanned but the findings' own; the report is a full scan's.
    let (second, err) = history(r.path(), &["--cache", dir]);
    assert!(summary_line(&err).contains("refs unchanged"), "{err}");
    assert!(!err.contains("walk cache:") && !err.contains("scan cache:"), "nothing walked: {err}");
    assert_same(&second, &plain, &err);
    let (shown_plain, _) = history(r.path(), &["--show-secrets"]);
    let shown_cache = tempfile::tempdir().expect("temp dir");
    let shown_dir = shown_cache.path().to_str().expect("utf-8");
    history(r.path(), &["--cache", shown_dir, "--show-secrets"]);
    let (shown, err) = history(r.path(), &["--cache", shown_dir, "--show-secrets"]);
    assert!(summary_line(&err).contains("refs unchanged"), "{err}");
    assert_same(&shown, &shown_plain, "the secrets shown come from the findings' blobs");

    // History rewritten (the last commit amended): not used, and the report is a full scan's.
    r.git(&["commit", "-q", "--amend", "-m", "rewritten"]);
    let (rewritten_plain, _) = history(r.path(), &[]);
    let (rewritten, err) = history(r.path(), &["--cache", dir]);
    assert!(summary_line(&err).contains("main was rewritten"), "{err}");
    assert_same(&rewritten, &rewritten_plain, &err);
    let (again, err) = history(r.path(), &["--cache", dir]);
    assert!(summary_line(&err).contains("refs unchanged"), "{err}");
    assert_same(&again, &rewritten_plain, &err);

    // Corrupt: ignored with a note, the history walked, the same report; then replaced.
    let path = cache.path().join("history-summary.cache");
    let mut bytes = std::fs::read(&path).expect("summary file");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(&path, &bytes).expect("write");
    let (after, err) = history(r.path(), &["--cache", dir]);
    assert!(summary_line(&err).contains("corrupt"), "{err}");
    assert!(after["summary"]["notes"].to_string().contains("history summary"), "{}", after["summary"]);
    let mut after = after;
    if let Some(summary) = after["summary"].as_object_mut() {
        summary.remove("notes");
    }
    assert_same(&after, &rewritten_plain, &err);
    let (_, err) = history(r.path(), &["--cache", dir]);
    assert!(summary_line(&err).contains("refs unchanged"), "{err}");
}

#[test]
fn a_rescan_after_new_commits_reports_what_a_full_scan_does() {
    let mut r = busy_repo();
    let cache = tempfile::tempdir().expect("temp dir");
    let dir = cache.path().to_str().expect("utf-8");
    history(r.path(), &["--cache", dir]);
    // One commit: a new finding in a new file, a new clean file, a modified file with a secret.
    let mut g = Gen::new(1502);
    r.write("late/leak.env", &format!("TOKEN={}\n", g.github_pat()));
    r.write("late/readme.md", "# Nothing here\n");
    r.write("svc1/config.py", &format!("# late\nTOKEN = '{}'\nSLACK = '{}'\n", g.github_pat(), g.slack_bot()));
    r.commit("late");
    let (plain, _) = history(r.path(), &[]);
    let (late, err) = history(r.path(), &["--cache", dir]);
    assert!(summary_line(&err).contains("1 new commit(s) walked"), "{err}");
    assert!(!err.contains("walk cache:"), "{err}");
    assert_same(&late, &plain, &err);

    // Two more on a new branch: a secret added, then removed; a file with secrets removed; a
    // link changed and one added; old secrets carried on.
    r.git(&["checkout", "-q", "-b", "later"]);
    r.write("svc2/config.py", &format!("TOKEN = '{}'\n", g.github_pat()));
    r.write("late/link.txt", "see svc2\n");
    r.commit("later");
    r.write("svc2/config.py", "TOKEN = 'gone'\n");
    r.git(&["rm", "-q", "svc3/config.py"]);
    #[cfg(unix)]
    {
        let link = r.tree.path().join("link.py");
        std::fs::remove_file(&link).expect("remove link");
        std::os::unix::fs::symlink("svc1/config.py", &link).expect("symlink");
        std::os::unix::fs::symlink("late/leak.env", r.tree.path().join("late/leak.link")).expect("symlink");
    }
    r.commit("later still");
    let (plain, _) = history(r.path(), &[]);
    let (later, err) = history(r.path(), &["--cache", dir]);
    assert!(summary_line(&err).contains("2 new commit(s) walked"), "{err}");
    assert_same(&later, &plain, &err);
    let (again, err) = history(r.path(), &["--cache", dir]);
    assert!(summary_line(&err).contains("refs unchanged"), "{err}");
    assert_same(&again, &plain, &err);

    // A branch and its merge, all new: the merge sets the branch's new blobs again.
    r.git(&["checkout", "-q", "main"]);
    r.git(&["checkout", "-q", "-b", "topic"]);
    r.write("topic/deploy.env", &format!("TOKEN={}\n", g.github_pat()));
    r.commit("topic");
    r.git(&["checkout", "-q", "main"]);
    r.write("svc4/config.py", "x = 1\n");
    r.commit("main moves");
    r.git(&["merge", "-q", "--no-ff", "--no-commit", "topic"]);
    r.commit_index("merge topic");
    let (plain, _) = history(r.path(), &[]);
    let (merged, err) = history(r.path(), &["--cache", dir]);
    assert!(summary_line(&err).contains("3 new commit(s) walked"), "{err}");
    assert_same(&merged, &plain, &err);

    // A branch scanned before, merged now: the merge sets the branch's (old, clean) blob again,
    // as a full scan would scan it; the growth takes it.
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write("svc5/config.py", "DEBUG = False\n");
    r.commit("feature");
    r.git(&["checkout", "-q", "main"]);
    history(r.path(), &["--cache", dir]);
    r.git(&["merge", "-q", "--no-ff", "--no-commit", "feature"]);
    r.commit_index("merge feature");
    let (plain, _) = history(r.path(), &[]);
    let (merged, err) = history(r.path(), &["--cache", dir]);
    assert!(summary_line(&err).contains("1 new commit(s) walked"), "{err}");
    assert_same(&merged, &plain, &err);

    // A rename sets a blob the history already had: the full scan, the same report.
    r.git(&["mv", "late/readme.md", "late/README.md"]);
    r.commit("renamed");
    let (plain, _) = history(r.path(), &[]);
    let (renamed, err) = history(r.path(), &["--cache", dir]);
    assert!(summary_line(&err).contains("of the earlier history"), "{err}");
    assert_same(&renamed, &plain, &err);
    let (again, err) = history(r.path(), &["--cache", dir]);
    assert!(summary_line(&err).contains("refs unchanged"), "{err}");
    assert_same(&again, &plain, &err);
}
