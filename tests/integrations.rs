//! SARIF, the GitHub Actions mode and the pre-commit hook, end to end.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{git, ndaguard, Gen, Tree};

const NOW: &str = "2026-11-22T10:00:00Z";

/// The official SARIF 2.1.0 schema: `NDAGUARD_SARIF_SCHEMA`, or `../shared/schemas/` beside the
/// checkout.
fn schema() -> Option<serde_json::Value> {
    let candidates: Vec<PathBuf> = std::env::var_os("NDAGUARD_SARIF_SCHEMA")
        .map(PathBuf::from)
        .into_iter()
        .chain([Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/schemas/sarif-schema-2.1.0.json")])
        .collect();
    for c in &candidates {
        if let Ok(text) = std::fs::read_to_string(c) {
            return Some(serde_json::from_str(&text).expect("the schema is JSON"));
        }
    }
    eprintln!(
        "SARIF schema not found (looked at {candidates:?}): schema validation SKIPPED; set NDAGUARD_SARIF_SCHEMA"
    );
    None
}

/// Validates a SARIF document against the official schema when it is present.
pub fn validate_sarif(doc: &serde_json::Value) {
    let Some(schema) = schema() else { return };
    let validator =
        jsonschema::options().with_draft(jsonschema::Draft::Draft4).build(&schema).expect("schema compiles");
    let errors: Vec<String> = validator.iter_errors(doc).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "SARIF is not valid against the schema:\n{}", errors.join("\n"));
}

fn sarif_of(dir: &Path, extra: &[&str]) -> (Vec<u8>, serde_json::Value) {
    let out = ndaguard().args(["scan", "-f", "sarif", "--now", NOW]).args(extra).arg(dir).output().expect("runs");
    let doc = serde_json::from_slice(&out.stdout).expect("SARIF is JSON");
    (out.stdout, doc)
}

#[test]
fn sarif_is_valid_complete_and_stable() {
    let mut g = Gen::new(400);
    let t = Tree::new();
    t.write("src/config.py", format!("A = 1\nTOKEN = '{}'\n", g.github_pat()));
    t.write("deploy/run.sh", format!("export AWS_ACCESS_KEY_ID={}\n", g.aws_key_id()));
    t.write("img.bin", b"\x00\x01binary".as_slice());
    let (bytes, doc) = sarif_of(t.path(), &[]);
    validate_sarif(&doc);
    assert_eq!(doc["version"], "2.1.0");
    let run = &doc["runs"][0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "ndaguard");
    assert!(driver["version"].is_string() && driver["informationUri"].is_string());
    let rules = driver["rules"].as_array().expect("rules");
    assert!(!rules.is_empty());
    for r in rules {
        assert!(r["shortDescription"]["text"].is_string() && r["fullDescription"]["text"].is_string(), "{r}");
        assert!(r["help"]["text"].as_str().unwrap_or("").contains("ndaguard:allow"), "{r}");
        assert!(r["help"]["markdown"].is_string(), "{r}");
        let sev: f64 = r["properties"]["security-severity"].as_str().expect("string").parse().expect("numeric");
        assert!((0.0..=10.0).contains(&sev));
        assert!(r["properties"]["precision"].is_string());
        assert!(r["properties"]["tags"].as_array().is_some_and(|t| t.iter().any(|x| x == "security")));
    }
    let results = run["results"].as_array().expect("results");
    assert!(results.len() >= 2, "{doc}");
    for res in results {
        let idx = res["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[idx]["id"], res["ruleId"]);
        let loc = &res["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        assert!(loc["region"]["startLine"].as_u64().is_some() && loc["region"]["startColumn"].as_u64().is_some());
        assert!(loc["region"]["snippet"]["text"].as_str().unwrap_or("").contains('…'), "redacted: {res}");
        assert!(res["partialFingerprints"]["ndaguard/v1"].as_str().unwrap_or("").starts_with("v1:"));
        assert!(res["message"]["text"].as_str().unwrap_or("").contains("found"));
    }
    let gh = results.iter().find(|r| r["ruleId"] == "github-pat-classic").expect("github result");
    assert_eq!(gh["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "src/config.py");
    assert_eq!(gh["level"], "error");
    let inv = &run["invocations"][0];
    assert_eq!(inv["executionSuccessful"], true);
    assert_eq!(inv["startTimeUtc"], NOW);
    let notes = inv["toolExecutionNotifications"].as_array().expect("notifications");
    assert!(notes.iter().any(|n| n["message"]["text"].as_str().unwrap_or("").contains("binary")), "{inv}");
    // Byte-identical given --now.
    let (again, _) = sarif_of(t.path(), &[]);
    assert_eq!(bytes, again);
}

#[test]
fn a_clean_scan_has_an_empty_results_array() {
    let t = Tree::new();
    t.write("a.txt", "nothing here\n");
    let (_, doc) = sarif_of(t.path(), &[]);
    validate_sarif(&doc);
    assert_eq!(doc["runs"][0]["results"], serde_json::json!([]));
    assert_eq!(doc["runs"][0]["tool"]["driver"]["rules"], serde_json::json!([]));
}

#[test]
fn sarif_of_a_history_breach_carries_provenance_and_deadlines() {
    let mut g = Gen::new(401);
    let tok = g.odd_token(33);
    let t = Tree::new();
    git(t.path(), &["init", "-q", "-b", "main", "."]);
    let reg = t.path().join(".ndaguard/registry.toml");
    let mut child = Command::new(bin())
        .args(["registry", "--registry"])
        .arg(&reg)
        .args(["add", "--id", "partner", "--nda", "NDA-7", "--counterparty", "Partner & Co"])
        .args(["--owner", "o@corp.test", "--report-within", "48h", "--revoke-within", "2h"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    use std::io::Write;
    child.stdin.take().expect("stdin").write_all(tok.as_bytes()).expect("token");
    assert!(child.wait().expect("ok").success());
    t.write("notes/partner.md", format!("key: {tok}\n"));
    git(t.path(), &["add", "-A"]);
    git(t.path(), &["commit", "-q", "-m", "notes"]);
    let (_, doc) = sarif_of(t.path(), &["--history"]);
    validate_sarif(&doc);
    let res = &doc["runs"][0]["results"][0];
    assert_eq!(res["ruleId"], "registered-token");
    let msg = res["message"]["text"].as_str().unwrap_or("");
    assert!(
        msg.contains("NDA-7") && msg.contains("2026-11-24T10:00:00Z") && msg.contains("2026-11-22T12:00:00Z"),
        "{msg}"
    );
    assert_eq!(res["properties"]["breach"]["registry_id"], "partner");
    assert!(res["properties"]["commit"].is_string() && res["properties"]["author"].is_string());
}

#[allow(deprecated)]
fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("ndaguard")
}

/// A repository with a clean base commit on main and a branch that adds a secret.
struct CiRepo {
    tree: Tree,
    base: String,
    head: String,
}

fn ci_repo() -> CiRepo {
    let mut g = Gen::new(402);
    let t = Tree::new();
    git(t.path(), &["init", "-q", "-b", "main", "."]);
    t.write("README.md", "hello\n");
    git(t.path(), &["add", "-A"]);
    git(t.path(), &["commit", "-q", "-m", "base"]);
    let base = git(t.path(), &["rev-parse", "HEAD"]);
    git(t.path(), &["checkout", "-q", "-b", "feature"]);
    t.write("app/secret.env", format!("GH={}\n", g.github_pat()));
    git(t.path(), &["add", "-A"]);
    git(t.path(), &["commit", "-q", "-m", "leak"]);
    let head = git(t.path(), &["rev-parse", "HEAD"]);
    CiRepo { tree: t, base, head }
}

struct CiRun {
    code: i32,
    stdout: String,
    outputs: String,
    summary: String,
    sarif: serde_json::Value,
}

fn run_ci(repo: &CiRepo, event: &str, payload: serde_json::Value, fail_on: &str) -> CiRun {
    let side = Tree::new();
    let event_path = side.write("event.json", payload.to_string());
    let outputs = side.path().join("outputs");
    let summary = side.path().join("summary.md");
    let sarif = side.path().join("out.sarif");
    let out = ndaguard()
        .args(["ci", "github", "--now", NOW, "--fail-on", fail_on, "--sarif-file"])
        .arg(&sarif)
        .env("GITHUB_EVENT_NAME", event)
        .env("GITHUB_EVENT_PATH", &event_path)
        .env("GITHUB_WORKSPACE", repo.tree.path())
        .env("GITHUB_OUTPUT", &outputs)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .expect("runs");
    CiRun {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        outputs: std::fs::read_to_string(&outputs).unwrap_or_default(),
        summary: std::fs::read_to_string(&summary).unwrap_or_default(),
        sarif: serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap_or_default()).unwrap_or_default(),
    }
}

#[test]
fn ci_pull_request_scans_the_pr_range() {
    let r = ci_repo();
    let payload = serde_json::json!({"pull_request": {"base": {"sha": r.base}, "head": {"sha": r.head}}});
    let run = run_ci(&r, "pull_request", payload, "finding");
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.outputs.contains("findings=1\n") && run.outputs.contains("breaches=0\n"), "{}", run.outputs);
    assert!(run.outputs.contains("sarif-file="), "{}", run.outputs);
    assert!(run.stdout.contains("::error file=app/secret.env,line=1,"), "{}", run.stdout);
    assert!(
        run.summary.contains("## ndaguard") && run.summary.contains(&format!("{}..{}", r.base, r.head)),
        "{}",
        run.summary
    );
    assert!(run.summary.contains("| critical | github-pat-classic | `app/secret.env:1` |"), "{}", run.summary);
    assert!(!run.summary.contains("ghp_") || run.summary.contains("ghp_…"), "redacted: {}", run.summary);
    validate_sarif(&run.sarif);
    assert_eq!(run.sarif["runs"][0]["results"].as_array().map(Vec::len), Some(1));
    // fail-on never and breach do not fail on a plain finding.
    let payload = serde_json::json!({"pull_request": {"base": {"sha": r.base}, "head": {"sha": r.head}}});
    assert_eq!(run_ci(&r, "pull_request", payload.clone(), "never").code, 0);
    assert_eq!(run_ci(&r, "pull_request", payload, "breach").code, 0);
}

#[test]
fn ci_push_new_branch_and_dispatch() {
    let r = ci_repo();
    // A push whose range holds no commit (the base pushed onto itself): never nothing, the
    // tree (here feature's, which holds the secret), saying why.
    let payload = serde_json::json!({"before": r.base, "after": r.base, "repository": {"default_branch": "main"}});
    let run = run_ci(&r, "push", payload, "finding");
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains("every pushed commit is on another branch: scanned the tree"), "{}", run.stdout);
    // A normal push of the leaking commit.
    let payload = serde_json::json!({"before": r.base, "after": r.head, "repository": {"default_branch": "main"}});
    assert_eq!(run_ci(&r, "push", payload, "finding").code, 1);
    // A new branch: before is all zeros; the commits not on main are scanned.
    let payload = serde_json::json!({"before": "0000000000000000000000000000000000000000", "after": r.head, "repository": {"default_branch": "main"}});
    let run = run_ci(&r, "push", payload, "finding");
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains("commit(s) of the push that are on no other branch"), "{}", run.stdout);
    assert!(run.summary.contains(&format!("{}..{}", r.base, r.head)), "{}", run.summary);
    // workflow_dispatch scans the tree (feature is checked out, so the secret is there).
    let run = run_ci(&r, "workflow_dispatch", serde_json::json!({}), "finding");
    assert_eq!(run.code, 1);
    assert!(run.summary.contains("the working tree"), "{}", run.summary);
}

#[test]
fn install_hook_blocks_a_commit_with_a_staged_secret() {
    let mut g = Gen::new(403);
    let t = Tree::new();
    git(t.path(), &["init", "-q", "-b", "main", "."]);
    let out = ndaguard().arg("install-hook").arg(t.path()).output().expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let hook = t.path().join(".git/hooks/pre-commit");
    assert!(std::fs::read_to_string(&hook).expect("hook").contains("scan --staged"));
    t.write("ok.txt", "fine\n");
    git(t.path(), &["add", "ok.txt"]);
    let clean = Command::new("git")
        .current_dir(t.path())
        .env("PATH", "/usr/bin:/bin")
        .args(["-c", "user.name=D", "-c", "user.email=d@corp.test", "commit", "-q", "-m", "ok"])
        .output()
        .expect("git");
    assert!(clean.status.success(), "{}", String::from_utf8_lossy(&clean.stderr));
    t.write("leak.txt", format!("{}\n", g.github_pat()));
    git(t.path(), &["add", "leak.txt"]);
    let blocked = Command::new("git")
        .current_dir(t.path())
        .env("PATH", "/usr/bin:/bin")
        .args(["-c", "user.name=D", "-c", "user.email=d@corp.test", "commit", "-q", "-m", "leak"])
        .output()
        .expect("git");
    assert!(!blocked.status.success(), "the hook must block the commit");
    let said = format!("{}{}", String::from_utf8_lossy(&blocked.stdout), String::from_utf8_lossy(&blocked.stderr));
    assert!(said.contains("leak.txt:1:1  github-pat-classic  critical  ghp_…(40)"), "{said}");
    assert!(
        said.contains("Ways out") && said.contains("ndaguard:allow <reason>") && said.contains("ndaguard baseline"),
        "{said}"
    );
    assert!(
        !said.contains(&std::fs::read_to_string(t.path().join("leak.txt")).expect("leak").trim().to_string()),
        "redacted: {said}"
    );
    // Once the secret is gone from the index, the commit goes through.
    git(t.path(), &["rm", "-q", "--cached", "leak.txt"]);
    let passes = Command::new("git")
        .current_dir(t.path())
        .env("PATH", "/usr/bin:/bin")
        .args(["-c", "user.name=D", "-c", "user.email=d@corp.test", "commit", "-q", "--allow-empty", "-m", "fixed"])
        .output()
        .expect("git");
    assert!(passes.status.success(), "{}", String::from_utf8_lossy(&passes.stderr));
    // A hook that is not ours is kept and chained (tests/hooks.rs), or replaced with --force.
    std::fs::write(&hook, "#!/bin/sh\nexit 0\n").expect("write");
    let out = ndaguard().args(["install-hook", "--force"]).arg(t.path()).output().expect("runs");
    assert!(out.status.success());
    assert!(!t.path().join(".git/hooks/pre-commit.ndaguard-chained").exists());
}

#[test]
fn action_yml_declares_every_input_it_uses() {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("action.yml")).expect("action.yml");
    let block =
        &text[text.find("\ninputs:\n").expect("inputs block")..text.find("\noutputs:\n").expect("outputs block")];
    let declared: Vec<&str> = block
        .lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   ") && l.trim_end().ends_with(':'))
        .map(|l| l.trim().trim_end_matches(':'))
        .collect();
    for want in [
        "path",
        "args",
        "config",
        "registry",
        "sarif-file",
        "upload-sarif",
        "fail-on",
        "install",
        "history",
        "category",
    ] {
        assert!(declared.contains(&want), "input {want} is not declared: {declared:?}");
    }
    let used = regex::Regex::new(r"inputs\.([A-Za-z0-9_-]+)").expect("regex");
    for c in used.captures_iter(&text) {
        assert!(declared.contains(&&c[1]), "action.yml uses inputs.{} without declaring it", &c[1]);
    }
    let outputs = regex::Regex::new(r"steps\.scan\.outputs\.([a-z-]+)").expect("regex");
    for c in outputs.captures_iter(&text) {
        assert!(["findings", "breaches", "sarif-file", "exit-code"].contains(&&c[1]), "unknown output {}", &c[1]);
    }
    assert!(text.contains("upload-sarif") && text.contains("default: \"true\""), "upload-sarif defaults to true");
    let install =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("action/install.sh")).expect("install.sh");
    assert!(install.contains("cargo install --locked --path"), "builds from its own source when there is no release");
}
