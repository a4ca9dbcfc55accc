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
