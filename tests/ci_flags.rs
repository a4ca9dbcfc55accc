//! `ndaguard ci github` with the scan flags a workflow's `args` (or a scheduled job) passes:
//! `--history`, `--baseline`, `--rules`, `-j`, `--config`.

use std::path::Path;

use crate::common::{commit_all, git_repo, ndaguard, Gen, Tree};

const NOW: &str = "2026-11-22T10:00:00Z";

/// Runs `ci github` for a `schedule` event in `repo` with `extra` flags; returns (exit code,
/// stdout, step outputs, the SARIF results).
fn ci(repo: &Path, extra: &[&str]) -> (i32, String, String, Vec<serde_json::Value>) {
    let side = Tree::new();
    let event = side.write("event.json", "{}");
    let outputs = side.path().join("outputs");
    let sarif = side.path().join("out.sarif");
    let out = ndaguard()
        .args(["ci", "github", "--now", NOW, "--sarif-file"])
        .arg(&sarif)
        .args(extra)
        .env("GITHUB_EVENT_NAME", "schedule")
        .env("GITHUB_EVENT_PATH", &event)
        .env("GITHUB_WORKSPACE", repo)
        .env("GITHUB_OUTPUT", &outputs)
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .expect("runs");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap_or_default()).unwrap_or_default();
    let results = doc["runs"][0]["results"].as_array().cloned().unwrap_or_default();
    (
        out.status.code().unwrap_or(-1),
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
        std::fs::read_to_string(&outputs).unwrap_or_default(),
        results,
    )
}

/// A repository whose history leaked a token that the tree no longer holds.
fn deleted_secret_repo(g: &mut Gen) -> Tree {
    let t = git_repo();
    t.write("deploy.env", format!("GH_TOKEN={}\n", g.github_pat()));
    commit_all(t.path(), "leak");
    t.write("deploy.env", "GH_TOKEN=${GH_TOKEN}\n");
    commit_all(t.path(), "remove the token");
    t
}

#[test]
fn ci_history_finds_a_secret_the_tree_no_longer_holds() {
    let mut g = Gen::new(1601);
    let t = deleted_secret_repo(&mut g);
    // A scheduled run scans the tree by default: clean.
    let (code, out, outputs, _) = ci(t.path(), &[]);
    assert_eq!(code, 0, "{out}");
    assert!(outputs.contains("findings=0"), "{outputs}");
    // With --history (and -j), the deleted token is found, with its commit.
    let (code, out, outputs, results) = ci(t.path(), &["--history", "-j", "2"]);
    assert_eq!(code, 1, "{out}");
    assert!(outputs.contains("findings=1"), "{outputs}");
    assert_eq!(results.len(), 1, "{results:?}");
    assert_eq!(results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "deploy.env");
    assert!(results[0]["properties"]["commit"].is_string(), "{:?}", results[0]);
    assert!(out.contains("::error file=deploy.env,line=1,"), "{out}");
}

#[test]
fn ci_baseline_rules_and_config_are_applied() {
    let mut g = Gen::new(1602);
    let t = deleted_secret_repo(&mut g);
    // --baseline: a baseline of the history's finding makes the scheduled history scan pass.
    let baseline = t.path().join("baseline.json");
    let out = ndaguard().args(["baseline", "--history", "-o"]).arg(&baseline).arg(t.path()).output().expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (code, out, outputs, _) = ci(t.path(), &["--history", "--baseline", baseline.to_str().expect("utf-8")]);
    assert_eq!(code, 0, "{out}");
    assert!(outputs.contains("findings=0"), "{outputs}");

    // --rules: a team's own rule (kept outside the repository) finds its own token shape.
    let token = format!("acmetok_{}", g.hex(24));
    t.write("svc.cfg", format!("token = {token}\n"));
    let side = Tree::new();
    let rules = side.write(
        "ci/rules/acme.toml",
        "[[rule]]\nid = \"acme-internal-token\"\nname = \"Acme internal token\"\nseverity = \"high\"\nkeywords = [\"acmetok_\"]\nregex = '''(?P<secret>acmetok_[0-9a-f]{24})'''\nexamples = [\"token = acmetok_9f3a1c7e5b2d4068ae1f7c3b\"]\nnegative_examples = [\"token = acmetok_\"]\n",
    );
    let (code, _, _, results) = ci(t.path(), &[]);
    assert_eq!((code, results.len()), (0, 0), "no built-in rule knows the shape");
    let (code, out, _, results) = ci(t.path(), &["--rules", rules.to_str().expect("utf-8")]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(results.len(), 1, "{results:?}");
    assert_eq!(results[0]["ruleId"], "acme-internal-token");
    assert!(!out.contains(&token), "redacted: {out}");

    // --config: a configuration outside the repository that disables the rule.
    let cfg = side.write("ndaguard.toml", "[rules]\ndisable = [\"acme-internal-token\"]\n");
    let (code, out, _, _) =
        ci(t.path(), &["--rules", rules.to_str().expect("utf-8"), "--config", cfg.to_str().expect("utf-8")]);
    assert_eq!(code, 0, "{out}");
}
