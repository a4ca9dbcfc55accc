//! History at scale: shards joined by `merge`, the scan cache, machine-readable progress.

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
