//! Issue 17 end to end: the incident record keeps each breach's clock across scans, people
//! record what they did, the notice, and the webhook (against a real local HTTP server).

use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::common::http::{serve, Server};
use crate::common::{git, git_at, ndaguard, Gen, Tree};

const T0: &str = "2026-11-22T10:00:00Z";
const T1: &str = "2026-11-22T11:00:00Z";

/// A git repository whose `main` brought a registered token into deploy.env on 2026-11-20 at
/// 06:00 and edited the file since; returns the tree and the token.
fn leaked_repo(seed: u64) -> (Tree, String) {
    let mut g = Gen::new(seed);
    let tok = g.odd_token(37);
    let t = Tree::new();
    let reg = t.path().join(".ndaguard/registry.toml");
    #[allow(deprecated)]
    let bin = assert_cmd::cargo::cargo_bin("ndaguard");
    let mut child = Command::new(bin)
        .args(["registry", "--registry"])
        .arg(&reg)
        .args(["--now", T0, "add", "--id", "acme-payments-prod", "--nda", "NDA-2026-014"])
        .args(["--counterparty", "Acme Payments Ltd", "--owner", "payments@corp.test"])
        .args(["--report-within", "24h", "--revoke-within", "4h", "--scope", "POST /v1/charges"])
        .args(["--contact", "security@acme.test"])
        .env_remove("NDAGUARD_REGISTRY_KEY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    child.stdin.take().expect("stdin").write_all(tok.as_bytes()).expect("token");
    assert!(child.wait_with_output().expect("finishes").status.success());
    git_at(t.path(), &["init", "-q", "-b", "main", "."], T0);
    t.write("deploy.env", "A=1\n");
    git_at(t.path(), &["add", "-A"], "2026-11-19T08:00:00Z");
    git_at(t.path(), &["commit", "-q", "-m", "init"], "2026-11-19T08:00:00Z");
    t.write("deploy.env", format!("A=1\nPAY_TOKEN={tok}\n"));
    git_at(t.path(), &["commit", "-q", "-am", "leak"], "2026-11-20T06:00:00Z");
    t.write("deploy.env", format!("A=2\nPAY_TOKEN={tok}\n"));
    git_at(t.path(), &["commit", "-q", "-am", "edit"], "2026-11-21T06:00:00Z");
    git_at(t.path(), &["tag", "v1.0"], T0);
    (t, tok)
}

fn scan(dir: &Path, now: &str, extra: &[&str]) -> (Output, serde_json::Value) {
    let out = ndaguard().args(["scan", "-f", "json", "--now", now]).args(extra).arg(dir).output().expect("runs");
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out, json)
}

fn incident(dir: &Path, args: &[&str]) -> Output {
    ndaguard().current_dir(dir).arg("incident").args(args).output().expect("runs")
}

fn breach(json: &serde_json::Value) -> serde_json::Value {
    json["findings"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f.get("breach").is_some()))
        .map(|f| f["breach"].clone())
        .unwrap_or_else(|| panic!("no breach in {json}"))
}

#[test]
fn two_scans_an_hour_apart_keep_the_first_detection_and_its_deadlines() {
    let (t, tok) = leaked_repo(1701);
    let (out, first) = scan(t.path(), T0, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let (_, second) = scan(t.path(), T1, &[]);
    let (a, b) = (breach(&first), breach(&second));
    assert_eq!(a["report_by"], "2026-11-23T10:00:00Z");
    assert_eq!(b["report_by"], a["report_by"], "the clock runs from the first detection");
    assert_eq!(b["revoke_by"], a["revoke_by"]);
    assert_eq!(b["detected_at"], T0);
    assert_eq!((a["revoke_hours_left"].as_i64(), b["revoke_hours_left"].as_i64()), (Some(4), Some(3)));
    assert_eq!(b["report_status"], "pending");
    // A tree scan in a git work tree dates the exposure from the commit that brought it in.
    assert_eq!(a["exposed_since"], "2026-11-20T06:00:00Z");
    // Five hours on, the revocation deadline is missed, and says so.
    let (_, later) = scan(t.path(), "2026-11-22T15:30:00Z", &[]);
    assert_eq!(breach(&later)["revoke_hours_left"], -2);
    assert_eq!(breach(&later)["revoke_status"], "missed");
    let text = ndaguard()
        .args(["scan", "--color", "never", "--now", "2026-11-22T15:30:00Z"])
        .arg(t.path())
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("REVOKE by 2026-11-22T14:00:00Z (2 h OVERDUE)"), "{text}");
    // One event, no token.
    let record = std::fs::read_to_string(t.path().join(".ndaguard/incidents.jsonl")).expect("record");
    assert_eq!(record.lines().count(), 1, "{record}");
    assert!(record.contains("\"event\":\"detected\"") && record.contains("acme-payments-prod"), "{record}");
    assert!(!record.contains(&tok[..12]) && !record.contains(&tok[20..]), "{record}");
    // Without the record the clock is the scan's own.
    let (_, free) = scan(t.path(), T1, &["--no-incidents"]);
    assert_eq!(breach(&free)["report_by"], "2026-11-23T11:00:00Z");
}

#[test]
fn an_incident_from_detection_to_notice_and_closing() {
    let (t, tok) = leaked_repo(1702);
    scan(t.path(), T0, &[]);
    let out = incident(t.path(), &["list", "--now", T1]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.contains("NDA breach: acme-payments-prod under NDA-2026-014 with Acme Payments Ltd"), "{text}");
    assert!(text.contains("REVOKE by 2026-11-22T14:00:00Z: pending (3 h left)"), "{text}");

    let out = incident(t.path(), &["revoked", "acme-payments-prod", "--at", "2026-11-22T12:30:00Z", "--now", T1]);
    assert!(!out.status.success(), "an action in the future is refused");
    let out = incident(t.path(), &["revoked", "acme-payments-prod", "--at", "2026-11-22T10:30:00Z", "--now", T1]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The revocation deadline stops counting; the report deadline goes on.
    let (_, json) = scan(t.path(), "2026-11-23T12:00:00Z", &[]);
    let b = breach(&json);
    assert_eq!((b["revoke_status"].as_str(), b["revoke_hours_left"].as_i64()), (Some("met"), Some(3)));
    assert_eq!(b["revoked_at"], "2026-11-22T10:30:00Z");
    assert_eq!((b["report_status"].as_str(), b["report_hours_left"].as_i64()), (Some("missed"), Some(-2)));
    let out = incident(
        t.path(),
        &["reported", "acme-payments-prod", "--to", "security@acme.test", "--now", "2026-11-23T12:00:00Z"],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = incident(t.path(), &["list", "--now", "2026-11-24T00:00:00Z"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("REVOKE by 2026-11-22T14:00:00Z: met (revoked 2026-11-22T10:30:00Z, 3 h to spare)"),
        "{text}"
    );
    assert!(
        text.contains(
            "REPORT by 2026-11-23T10:00:00Z: MISSED (reported 2026-11-23T12:00:00Z, 2 h late) to security@acme.test"
        ),
        "{text}"
    );

    let out = incident(t.path(), &["notice", "acme-payments-prod", "--now", "2026-11-24T00:00:00Z"]);
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for want in [
        "NDA-2026-014",
        "Acme Payments Ltd",
        "acme-payments-prod",
        "POST /v1/charges",
        "deploy.env",
        "exposed since 2026-11-20T06:00:00Z",
        "branches: main",
        "tags: v1.0",
        "the default branch carries it",
        "revoked",
        "reported: security@acme.test",
        "**met**",
        "**missed**",
    ] {
        assert!(md.contains(want), "{want:?} missing from\n{md}");
    }
    assert!(!md.contains(&tok[..12]), "{md}");
    let out = incident(t.path(), &["notice", "acme-payments-prod", "-f", "json", "--now", "2026-11-24T00:00:00Z"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("notice JSON");
    assert_eq!(json["token_id"], "acme-payments-prod");
    assert_eq!(json["places"][0]["on_default_branch"], true);
    assert_eq!(json["revoke"]["status"], "met");

    let out = incident(
        t.path(),
        &["closed", "acme-payments-prod", "--reason", "revoked and reported", "--now", "2026-11-24T00:00:00Z"],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = incident(t.path(), &["list", "--now", "2026-11-24T00:00:00Z"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "no open incidents\n");
    // A damaged line is reported with its number and skipped.
    let path = t.path().join(".ndaguard/incidents.jsonl");
    let mut f = std::fs::OpenOptions::new().append(true).open(&path).expect("record");
    f.write_all(b"{\"v\":1,\"event\":\n").expect("write");
    let out = incident(t.path(), &["list", "--all", "--now", "2026-11-24T00:00:00Z"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("incidents.jsonl:5:") && err.contains("skipped"), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("(closed)"));
    // A closed incident stays closed; the finding is still reported.
    let (out, json) = scan(t.path(), "2026-11-25T00:00:00Z", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(breach(&json)["detected_at"], T0);
}

#[test]
fn notify_posts_each_new_breach_once_and_a_failure_keeps_the_exit_code() {
    let (t, tok) = leaked_repo(1703);
    let Server { url, bodies } = serve(vec![503, 200]);
    let (out, _) = scan(t.path(), T0, &["--notify", &url]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let got = bodies.lock().expect("lock").clone();
    assert_eq!(got.len(), 2, "one retry after the 503: {got:?}");
    let msg: serde_json::Value = serde_json::from_str(&got[1]).expect("JSON body");
    let text = msg["text"].as_str().expect("Slack-compatible text");
    assert!(
        text.contains("acme-payments-prod") && text.contains("NDA-2026-014") && text.contains("deploy.env"),
        "{text}"
    );
    assert!(text.contains("Revoke by 2026-11-22T14:00:00Z"), "{text}");
    assert_eq!(msg["ndaguard"]["breach"]["registry_id"], "acme-payments-prod");
    assert!(!got[1].contains(&tok[..12]), "{}", got[1]);
    // Not new any more: nothing posted.
    scan(t.path(), T1, &["--notify", &url]);
    assert_eq!(bodies.lock().expect("lock").len(), 2);

    // A webhook that cannot be reached: reported, and the exit code still means "findings".
    let (t2, _) = leaked_repo(1704);
    let closed = TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead = format!("http://{}/hook", closed.local_addr().expect("addr"));
    drop(closed);
    let (out, json) = scan(t2.path(), T0, &["--notify", &dead]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json["summary"]["breaches"], 1);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("could not notify") && err.contains("acme-payments-prod"), "{err}");
}

/// `ci github --notify URL`: the gate posts each new breach as a scan does; a failed delivery
/// is reported and the exit code still follows `--fail-on`.
#[test]
fn ci_github_notifies_new_breaches_and_a_failure_keeps_the_exit_code() {
    let (t, tok) = leaked_repo(1705);
    let side = Tree::new();
    let ci = |repo: &Path, url: &str, now: &str, fail_on: &str| {
        ndaguard()
            .args(["ci", "github", "--now", now, "--fail-on", fail_on, "--notify", url, "--sarif-file"])
            .arg(side.path().join("gate.sarif"))
            .env("GITHUB_EVENT_NAME", "workflow_dispatch")
            .env("GITHUB_WORKSPACE", repo)
            .env_remove("GITHUB_EVENT_PATH")
            .env_remove("GITHUB_OUTPUT")
            .env_remove("GITHUB_STEP_SUMMARY")
            .output()
            .expect("runs")
    };
    let Server { url, bodies } = serve(vec![200]);
    let out = ci(t.path(), &url, T0, "breach");
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let got = bodies.lock().expect("lock").clone();
    assert_eq!(got.len(), 1, "{got:?}");
    let msg: serde_json::Value = serde_json::from_str(&got[0]).expect("JSON body");
    assert!(msg["text"].as_str().is_some_and(|s| s.contains("acme-payments-prod") && s.contains("deploy.env")));
    assert_eq!(msg["ndaguard"]["breach"]["revoke_by"], "2026-11-22T14:00:00Z");
    assert!(!got[0].contains(&tok[..12]), "{}", got[0]);
    // The next run (the record restored) posts nothing: the breach is not new.
    assert_eq!(ci(t.path(), &url, T1, "breach").status.code(), Some(1));
    assert_eq!(bodies.lock().expect("lock").len(), 1);

    // A webhook that cannot be reached: a warning; the gate's outcome is fail-on's.
    let closed = TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead = format!("http://{}/hook", closed.local_addr().expect("addr"));
    drop(closed);
    for (fail_on, code) in [("breach", 1), ("never", 0)] {
        let (t2, _) = leaked_repo(1706);
        let out = ci(t2.path(), &dead, T0, fail_on);
        assert_eq!(out.status.code(), Some(code), "fail-on {fail_on}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("could not notify") && err.contains("acme-payments-prod"), "{err}");
    }
    // A malformed URL is refused before the scan, as for scan.
    let out = ci(t.path(), "hooks.example/x", T0, "never");
    assert_eq!(out.status.code(), Some(2));
}

/// The exposure lookup follows renames: a token committed in deploy.env and later moved with
/// `git mv` is exposed since the commit that brought it into deploy.env.
#[test]
fn a_renamed_file_keeps_the_exposure_of_its_first_commit() {
    let (t, _) = leaked_repo(1707);
    std::fs::create_dir_all(t.path().join("config")).expect("mkdir");
    git_at(t.path(), &["mv", "deploy.env", "config/prod.env"], T0);
    git_at(t.path(), &["commit", "-q", "-m", "move"], "2026-11-21T09:00:00Z");
    let (_, json) = scan(t.path(), T0, &["--no-incidents"]);
    assert_eq!(breach(&json)["exposed_since"], "2026-11-20T06:00:00Z", "{json}");
    let f = &json["findings"][0];
    assert_eq!(f["path"], "config/prod.env");
    let leak = git(t.path(), &["rev-parse", "HEAD~2"]);
    assert_eq!(f["commit"].as_str(), Some(leak.as_str()), "the leak commit: {json}");
}
