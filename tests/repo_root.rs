//! Scans from below a repository's top level find its configuration, registry and ignore files,
//! and report paths relative to it (issue 16, item 8); `scan FILE...` scans the files pre-commit
//! passes (item 7).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::{commit_all, git, git_repo, ndaguard, Gen, Tree};

const NOW: &str = "2026-11-22T10:00:00Z";

/// `ndaguard ARGS` in `cwd`: (exit code, stdout, stderr).
fn run_in(cwd: &Path, args: &[&str]) -> (i32, String, String) {
    let out = ndaguard().current_dir(cwd).env_remove("NDAGUARD_CONFIG").args(args).output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The JSON report of `scan --format json --now NOW ARGS` run in `cwd`.
fn json_in(cwd: &Path, args: &[&str]) -> (i32, serde_json::Value) {
    let mut all = vec!["scan", "--format", "json", "--now", NOW];
    all.extend_from_slice(args);
    let (code, out, err) = run_in(cwd, &all);
    (code, serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}\n{err}")))
}

fn paths(json: &serde_json::Value) -> Vec<String> {
    json["findings"]
        .as_array()
        .map(|a| a.iter().map(|f| f["path"].as_str().unwrap_or_default().to_string()).collect())
        .unwrap_or_default()
}

/// A repository with a registry and a configuration at the top, a registered token committed in
/// `src/deploy.env` and later removed, and a provider token in `src/app/config.py`.
fn repo(g: &mut Gen) -> Tree {
    let t = git_repo();
    let registered = g.odd_token(32);
    #[allow(deprecated)]
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("ndaguard"))
        .current_dir(t.path())
        .args(["registry", "--now", NOW, "add", "--id", "acme-prod", "--nda", "NDA-7", "--counterparty", "Acme"])
        .args(["--owner", "o@corp.test", "--report-within", "24h", "--revoke-within", "4h"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    child.stdin.take().expect("stdin").write_all(format!("{registered}\n").as_bytes()).expect("token");
    assert!(child.wait_with_output().expect("ends").status.success());
    assert!(t.path().join(".ndaguard/registry.toml").is_file());
    t.write(".ndaguard.toml", "[allowlist]\npaths = [\"src/vendor/**\"]\n");
    t.write(".ndaguardignore", "fixtures/\n");
    t.write("src/deploy.env", format!("PAYMENTS_TOKEN={registered}\n"));
    t.write("src/app/config.py", format!("STRIPE = \"{}\"\n", g.stripe_live()));
    t.write("src/vendor/lib.py", format!("STRIPE = \"{}\"\n", g.stripe_live()));
    t.write("src/fixtures/key.env", format!("STRIPE={}\n", g.stripe_live()));
    commit_all(t.path(), "leak");
    std::fs::remove_file(t.path().join("src/deploy.env")).expect("rm");
    commit_all(t.path(), "remove the token");
    t
}

#[test]
fn a_scan_below_the_top_uses_the_repository_config_registry_and_ignore_files() {
    let mut g = Gen::new(1603);
    let t = repo(&mut g);
    let src = t.path().join("src");
    // History from src/ (as from the top): the registered token is a breach.
    for (cwd, arg) in [(t.path(), "src"), (src.as_path(), "."), (t.path(), ".")] {
        let (code, json) = json_in(cwd, &["--history", arg]);
        assert_eq!(code, 1, "{json}");
        assert_eq!(json["summary"]["breaches"], 1, "from {} {arg}: {json}", cwd.display());
        // The top's allowlist applies (src/vendor); ignore files only shape a walk of the tree.
        assert_eq!(paths(&json), ["src/app/config.py", "src/deploy.env", "src/fixtures/key.env"]);
    }
    // A tree scan of src/ reports paths from the top, and honours the top's allowlist and
    // .ndaguardignore (src/vendor/ and src/fixtures/ are not reported).
    for (cwd, arg) in [(t.path(), "src"), (src.as_path(), "."), (src.as_path(), "app")] {
        let (code, json) = json_in(cwd, &[arg]);
        assert_eq!(code, 1);
        assert_eq!(paths(&json), ["src/app/config.py"], "from {} {arg}", cwd.display());
    }
    // SARIF names files that exist from the repository root.
    let (_, out, _) = run_in(&src, &["scan", "-f", "sarif", "--now", NOW, "app"]);
    let sarif: serde_json::Value = serde_json::from_str(&out).expect("SARIF");
    let uri = &sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"];
    assert_eq!(uri, "src/app/config.py");
    assert!(t.path().join(uri.as_str().expect("uri")).is_file());
}

#[test]
fn ndaguard_config_overrides_discovery_and_the_flag_overrides_it() {
    let mut g = Gen::new(1604);
    let t = repo(&mut g);
    let side = Tree::new();
    let cfg = side.write("strict.toml", "[rules]\ndisable = [\"stripe-secret-key-live\"]\n");
    let out = ndaguard()
        .current_dir(t.path().join("src"))
        .env("NDAGUARD_CONFIG", &cfg)
        .args(["scan", "-f", "json", "--now", NOW, "."])
        .output()
        .expect("runs");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(out.status.code(), Some(0), "{json}");
    // The environment's configuration replaced the top's: src/vendor is no longer allowlisted,
    // but its rule is disabled, so nothing is found.
    assert_eq!(json["summary"]["findings"], 0);
    let top = t.path().join(".ndaguard.toml");
    let out = ndaguard()
        .current_dir(t.path().join("src"))
        .env("NDAGUARD_CONFIG", &cfg)
        .args(["scan", "-f", "json", "--now", NOW, "--config"])
        .arg(&top)
        .arg(".")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1), "--config wins over NDAGUARD_CONFIG");
    let missing = side.path().join("nope.toml");
    let out = ndaguard().env("NDAGUARD_CONFIG", &missing).args(["scan"]).arg(t.path()).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.toml"));
}

#[test]
fn ci_github_with_path_src_annotates_files_from_the_repository_root() {
    let mut g = Gen::new(1605);
    let t = repo(&mut g);
    let side = Tree::new();
    let event = side.write("event.json", "{}");
    let sarif = side.path().join("out.sarif");
    let out = ndaguard()
        .current_dir(t.path())
        .args(["ci", "github", "--now", NOW, "--path", "src", "--sarif-file"])
        .arg(&sarif)
        .env("GITHUB_EVENT_NAME", "workflow_dispatch")
        .env("GITHUB_EVENT_PATH", &event)
        .env_remove("GITHUB_OUTPUT")
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("::error file=src/app/config.py,line=1,"), "{stdout}");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&sarif).expect("sarif")).expect("JSON");
    let results = doc["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "src/app/config.py");
}

#[test]
fn outside_git_paths_stay_relative_to_the_scan_root() {
    let mut g = Gen::new(1606);
    let t = Tree::new();
    t.write("sub/.ndaguard.toml", "[rules]\ndisable = [\"aws-access-key-id\"]\n");
    t.write("sub/a.env", format!("STRIPE={}\nAWS={}\n", g.stripe_live(), g.aws_key_id()));
    let (code, json) = json_in(t.path(), &["sub"]);
    assert_eq!(code, 1);
    assert_eq!(paths(&json), ["a.env"], "the configuration at the scan root applies: {json}");
}

/// What pre-commit does with `pass_filenames: true`: runs the hook from the top with the files.
#[test]
fn scan_takes_the_files_pre_commit_passes() {
    let mut g = Gen::new(1607);
    let t = repo(&mut g);
    t.write(".gitignore", "*.local\n");
    t.write("notes.local", format!("STRIPE={}\n", g.stripe_live()));
    git(t.path(), &["add", "-f", ".gitignore", "notes.local"]);
    git(t.path(), &["commit", "-q", "-m", "force-added"]);
    let files = git(t.path(), &["ls-files"]);
    let files: Vec<&str> = files.lines().collect();
    assert!(files.len() >= 6, "{files:?}");
    let mut args = vec!["--no-progress", "-v"];
    args.extend(files.iter().copied());
    let (code, json) = json_in(t.path(), &args);
    assert_eq!(code, 1, "pre-commit run --all-files fails on a committed secret");
    // Each named file is scanned; a tracked file that .gitignore matches is scanned (it is
    // committed); .ndaguardignore and the allowlist still exclude theirs, counted as skipped.
    assert_eq!(paths(&json), ["notes.local", "src/app/config.py"], "{json}");
    let skipped: Vec<(String, String)> = json["skipped"]
        .as_array()
        .expect("skipped")
        .iter()
        .map(|s| (s["path"].as_str().unwrap_or("").to_string(), s["detail"].as_str().unwrap_or("").to_string()))
        .collect();
    assert!(skipped.contains(&("src/fixtures/key.env".into(), "excluded by .ndaguardignore".into())), "{skipped:?}");
    assert!(skipped.iter().any(|(p, _)| p == "src/vendor/lib.py"), "{skipped:?}");
    let counted = |k: &str| json["summary"][k].as_u64().unwrap_or(0);
    assert_eq!(counted("files_scanned") + counted("files_skipped"), files.len() as u64, "every file is accounted for");
    // --no-ignore scans a named file that .ndaguardignore excludes.
    let (code, json) = json_in(t.path(), &["--no-ignore", "src/fixtures/key.env"]);
    assert_eq!(code, 1);
    assert_eq!(paths(&json), ["src/fixtures/key.env"]);
    // From a subfolder, named paths are still reported from the top; a clean subset passes.
    let (code, json) = json_in(&t.path().join("src"), &["app/config.py", "../.ndaguard.toml"]);
    assert_eq!(code, 1);
    assert_eq!(paths(&json), ["src/app/config.py"]);
    let (code, _) = json_in(t.path(), &[".ndaguard.toml", ".gitignore"]);
    assert_eq!(code, 0);
    // Several paths only make sense for a tree scan; a missing one is named.
    let (code, _, err) = run_in(t.path(), &["scan", "--staged", "a", "b"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run_in(t.path(), &["scan", ".gitignore", "-"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run_in(t.path(), &["scan", ".gitignore", "gone.txt"]);
    assert_eq!(code, 2);
    assert!(err.contains("gone.txt"), "{err}");
}
