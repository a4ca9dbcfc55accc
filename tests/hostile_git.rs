//! Regression tests of issue 14 for the git sources and `ci github` (history, range, staged):
//! each test is named after the item it covers and failed on main before the fix.

use crate::common::{scan_json, Gen};
use crate::git::Repo;

fn findings(json: &serde_json::Value) -> Vec<serde_json::Value> {
    json["findings"].as_array().cloned().unwrap_or_default()
}

/// (rule id, path, commit) of each finding of `rule`, sorted.
fn found(json: &serde_json::Value, rule: &str) -> Vec<(String, String, String)> {
    let mut v: Vec<(String, String, String)> = findings(json)
        .iter()
        .filter(|f| f["rule_id"] == rule)
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_string();
            (s("rule_id"), s("path"), s("commit"))
        })
        .collect();
    v.sort();
    v
}

fn uuid(g: &mut Gen) -> String {
    let h = g.hex(32);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

// 4: a blob used under several paths meets every path-limited rule those paths select.

#[test]
fn i04_history_applies_path_limited_rules_to_every_path_of_a_blob() {
    let mut g = Gen::new(1404);
    let line = format!("//npm.pkg.github.com/:_authToken={}\n", uuid(&mut g));
    let mut r = Repo::new();
    r.write("notes.txt", &line);
    r.commit("notes");
    r.write(".npmrc", &line);
    let copied = r.commit("copy the notes to .npmrc");
    let want = vec![("npmrc-auth".to_string(), ".npmrc".to_string(), copied.clone())];

    let (code, hist, _) = scan_json(&["--history", r.path()]);
    assert_eq!(code, 1, "{hist}");
    assert_eq!(found(&hist, "npmrc-auth"), want, "{hist}");
    // (The generic rule reports the line in notes.txt, in both commits: not this issue.)
    // One blob, read once, counted once.
    assert_eq!(hist["summary"]["files_scanned"], 1, "{hist}");

    let (_, range, _) = scan_json(&["--range", &format!("{copied}^..{copied}"), r.path()]);
    assert_eq!(found(&range, "npmrc-auth"), want, "{range}");
    let (_, tree, _) = scan_json(&[r.path()]);
    let tree: Vec<String> = found(&tree, "npmrc-auth").into_iter().map(|f| f.1).collect();
    assert_eq!(tree, [".npmrc"]);

    // The other way round (the blob's first path is the one the rule selects) and with later
    // versions scanned against their base at each path.
    let mut r = Repo::new();
    r.write(".npmrc", &line);
    let first = r.commit("npmrc");
    r.write("backup/npmrc.txt", &line);
    r.commit("a backup");
    r.write(".npmrc", &format!("# registry\n{line}email=dev@corp.test\n"));
    r.write("backup/npmrc.txt", &format!("# registry\n{line}email=dev@corp.test\n"));
    r.commit("edit both");
    let (_, hist, _) = scan_json(&["--history", r.path()]);
    assert_eq!(found(&hist, "npmrc-auth"), vec![("npmrc-auth".to_string(), ".npmrc".to_string(), first)], "{hist}");
    let npm = findings(&hist).into_iter().find(|f| f["rule_id"] == "npmrc-auth").expect("found");
    assert_eq!(npm["commits"], 3, "{hist}");
}

// 7: deleting `ndaguard:allow-next-line` exposes the line below it, in every mode.

#[test]
fn i07_deleting_an_allow_next_line_comment_is_an_exposure_in_every_mode() {
    let mut g = Gen::new(1407);
    let tok = g.github_pat();
    let filler: String = (0..12).map(|i| format!("setting_{i} = {i}\n")).collect();
    let mut r = Repo::new();
    r.write("app.py", &format!("{filler}# ndaguard:allow-next-line\nTOKEN = '{tok}'\n{filler}"));
    let suppressed = r.commit("a suppressed token");
    let (code, hist, _) = scan_json(&["--history", r.path()]);
    assert_eq!((code, findings(&hist).len()), (0, 0), "{hist}");

    // Staged: the deletion is what the commit would add.
    r.write("app.py", &format!("{filler}TOKEN = '{tok}'\n{filler}"));
    r.git(&["add", "-A"]);
    let (code, staged, _) = scan_json(&["--staged", r.path()]);
    assert_eq!(code, 1, "{staged}");
    assert_eq!(found(&staged, "github-pat-classic").len(), 1, "{staged}");
    let exposed = r.commit_index("drop the comment");

    let want = vec![("github-pat-classic".to_string(), "app.py".to_string(), exposed.clone())];
    let (code, hist, _) = scan_json(&["--history", r.path()]);
    assert_eq!(code, 1, "{hist}");
    assert_eq!(found(&hist, "github-pat-classic"), want, "{hist}");
    assert_eq!(findings(&hist)[0]["line"], 13);
    let (_, range, _) = scan_json(&["--range", &format!("{suppressed}..{exposed}"), r.path()]);
    assert_eq!(found(&range, "github-pat-classic"), want, "{range}");
    let (_, tree, _) = scan_json(&[r.path()]);
    assert_eq!(findings(&tree).len(), 1, "{tree}");

    // Putting the comment back suppresses it again from then on: nothing new.
    r.write("app.py", &format!("{filler}# ndaguard:allow-next-line\nTOKEN = '{tok}'\n{filler}"));
    let again = r.commit("comment again");
    let (_, range, _) = scan_json(&["--range", &format!("{exposed}..{again}"), r.path()]);
    assert_eq!(findings(&range).len(), 0, "{range}");
    let (_, hist, _) = scan_json(&["--history", r.path()]);
    assert_eq!(found(&hist, "github-pat-classic"), want, "{hist}");
}

// 3: `ci github` on a push whose `before` says nothing falls back to what the push brings.

/// Runs `ci github` for a push event with `payload` in `repo`; returns (exit code, log, SARIF
/// result paths, job summary).
fn ci_push(repo: &std::path::Path, payload: serde_json::Value) -> (i32, String, Vec<String>, String) {
    let side = crate::common::Tree::new();
    let event = side.write("event.json", payload.to_string());
    let (sarif, summary) = (side.path().join("out.sarif"), side.path().join("summary.md"));
    let out = crate::common::ndaguard()
        .args(["ci", "github", "--now", "2026-11-22T10:00:00Z", "--fail-on", "finding", "--sarif-file"])
        .arg(&sarif)
        .env("GITHUB_EVENT_NAME", "push")
        .env("GITHUB_EVENT_PATH", &event)
        .env("GITHUB_WORKSPACE", repo)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env_remove("GITHUB_OUTPUT")
        .output()
        .expect("runs");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap_or_default()).unwrap_or_default();
    let uris = doc["runs"][0]["results"]
        .as_array()
        .map(|a| {
            let uri = |r: &serde_json::Value| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].clone();
            a.iter().map(|r| uri(r).as_str().unwrap_or_default().to_string()).collect()
        })
        .unwrap_or_default();
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), log, uris, std::fs::read_to_string(&summary).unwrap_or_default())
}

fn push_event(before: &str, after: &str, branch: &str) -> serde_json::Value {
    serde_json::json!({"ref": format!("refs/heads/{branch}"), "before": before, "after": after,
        "forced": true, "repository": {"default_branch": "main"}})
}

#[test]
fn i03_ci_push_without_a_usable_before_scans_what_the_push_brings() {
    let mut g = Gen::new(1403);
    let zeros = "0".repeat(40);
    let gone = g.hex(40); // a commit the force push dropped: not in the clone
                          // The remote: main with a release branch forked from it, then main force-pushed with a
                          // commit that leaked a token and one that removed it (only a commit scan finds it).
    let mut origin = Repo::new();
    origin.write("README.md", "hello\n");
    let base = origin.commit("base");
    origin.git(&["branch", "release"]);
    origin.write("deploy.env", &format!("GH_TOKEN={}\n", g.github_pat()));
    origin.commit("leak");
    origin.write("deploy.env", "GH_TOKEN=${GH_TOKEN}\n");
    let after = origin.commit("unleak");
    let clone = crate::common::Tree::new();
    let work = clone.path().join("w");
    let work_s = work.to_str().expect("utf-8");
    origin.git(&["clone", "-q", origin.path(), work_s]);

    // A force push to the default branch: its before is gone, and origin/main is after itself.
    let (code, log, uris, summary) = ci_push(&work, push_event(&gone, &after, "main"));
    assert_eq!(code, 1, "{log}");
    assert_eq!(uris, ["deploy.env"], "{log}");
    assert!(log.contains("scanned the 2 commit(s) of the push that are on no other branch"), "{log}");
    assert!(summary.contains(&format!("{base}..{after}")), "{summary}");
    // The same with before all zeros (a first push of the default branch).
    let (code, log, uris, _) = ci_push(&work, push_event(&zeros, &after, "main"));
    assert_eq!((code, uris.len()), (1, 1), "{log}");
    assert!(log.contains("a new branch"), "{log}");

    // A force push that rewound the branch (before is in the clone, before..after is empty).
    let (code, log, _, _) = ci_push(&work, push_event(&after, &base, "main"));
    assert!(!log.contains("holds no commits"), "{log}");
    assert!(log.contains("holds no commit (a force push that rewound the branch)"), "{log}");
    assert!(log.contains("every pushed commit is on another branch: scanned the tree"), "{log}");
    assert_eq!(code, 0, "the checked-out tree holds no secret: {log}");

    // No other branch shares the history: the tree, and the log says so.
    origin.git(&["branch", "-D", "release"]);
    let single = clone.path().join("single");
    origin.git(&["clone", "-q", origin.path(), single.to_str().expect("utf-8")]);
    let (code, log, uris, _) = ci_push(&single, push_event(&gone, &after, "main"));
    assert!(log.contains("no other branch shares the pushed commits' history"), "{log}");
    assert!(log.contains("scanned the tree"), "{log}");
    assert_eq!((code, uris.len()), (0, 0), "{log}");

    // The first push of a feature branch whose before is unknown: its own commits, also when
    // main was merged into it (two boundary commits).
    origin.git(&["checkout", "-q", "-b", "feature", &base]);
    origin.write("feature.env", &format!("SLACK={}\n", g.slack_bot()));
    origin.commit("feature leak");
    origin.git(&["merge", "-q", "--no-edit", "main"]);
    let tip = origin.git(&["rev-parse", "HEAD"]);
    let fresh = clone.path().join("fresh");
    origin.git(&["clone", "-q", "-b", "feature", origin.path(), fresh.to_str().expect("utf-8")]);
    let (code, log, uris, summary) = ci_push(&fresh, push_event(&gone, &tip, "feature"));
    assert_eq!(code, 1, "{log}");
    assert_eq!(uris, ["feature.env"], "main's commits are not blamed on the branch: {log}");
    assert!(log.contains("scanned the 2 commit(s)"), "{log}");
    assert!(summary.contains(&format!("{tip} ^")), "{summary}");
}

// 24: `--staged` during a merge blames only what is new over every parent.

#[test]
fn i24_staged_during_a_merge_reports_only_what_no_parent_had() {
    let mut g = Gen::new(1424);
    let (main_tok, main_conf, new_tok) = (g.github_pat(), g.github_pat(), g.github_pat());
    let mut r = Repo::new();
    r.write("config.py", "NAME = 'app'\n");
    r.commit("base");
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write("config.py", "NAME = 'app'\nDEBUG = True\n");
    r.commit("feature work");
    r.git(&["checkout", "-q", "main"]);
    r.write("deploy.env", &format!("GH_TOKEN={main_tok}\n"));
    r.write("config.py", &format!("NAME = 'app'\nTOKEN = '{main_conf}'\n"));
    r.commit("main's own (already committed) secrets");
    r.git(&["checkout", "-q", "feature"]);
    // A real merge with a conflict in config.py, resolved by keeping both sides.
    let merge = std::process::Command::new("git")
        .current_dir(r.path())
        .args(["-c", "user.name=Dev", "-c", "user.email=dev@corp.test", "merge", "--no-commit", "main"])
        .output()
        .expect("git runs");
    assert!(!merge.status.success(), "the merge conflicts");
    r.write("config.py", &format!("NAME = 'app'\nDEBUG = True\nTOKEN = '{main_conf}'\n"));
    r.git(&["add", "config.py"]);
    assert!(std::path::Path::new(r.path()).join(".git/MERGE_HEAD").exists());
    let (code, staged, _) = scan_json(&["--staged", r.path()]);
    assert_eq!((code, findings(&staged).len()), (0, 0), "main's committed secrets are not new: {staged}");

    // A secret that no parent had, added while resolving: reported, alone.
    r.write("config.py", &format!("NAME = 'app'\nDEBUG = True\nTOKEN = '{main_conf}'\nOTHER = '{new_tok}'\n"));
    r.git(&["add", "config.py"]);
    let (code, staged, _) = scan_json(&["--staged", r.path()]);
    assert_eq!(code, 1, "{staged}");
    let lines: Vec<(String, u64)> = findings(&staged)
        .iter()
        .map(|f| (f["path"].as_str().unwrap_or_default().to_string(), f["line"].as_u64().unwrap_or(0)))
        .collect();
    assert_eq!(lines, [("config.py".to_string(), 4)], "{staged}");

    // The merge commit's --range agrees.
    let merged = r.commit_index("merge main");
    let (_, range, _) = scan_json(&["--range", &merged, r.path()]);
    assert_eq!(found(&range, "github-pat-classic").len(), 1, "{range}");
}
