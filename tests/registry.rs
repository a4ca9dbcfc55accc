//! The NDA registry end to end: registering tokens from stdin, finding them in every scan mode,
//! and the breach deadlines.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::common::{git_at, ndaguard, scan_json, Gen, Tree};

const NOW: &str = "2026-11-22T10:00:00Z";

/// Runs `ndaguard registry add` with `token` on stdin.
fn add(registry: &std::path::Path, token: &str, extra: &[&str]) -> std::process::Output {
    #[allow(deprecated)]
    let bin = assert_cmd::cargo::cargo_bin("ndaguard");
    let mut child = Command::new(bin)
        .args(["registry", "--registry"])
        .arg(registry)
        .args(["--now", NOW, "add", "--nda", "NDA-2026-014", "--counterparty", "Acme Payments Ltd"])
        .args(["--owner", "payments-team@corp.test", "--report-within", "24h", "--revoke-within", "4h"])
        .args(["--scope", "POST /v1/charges", "--contact", "security@acme.test"])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    child.stdin.take().expect("stdin").write_all(format!("{token}\n").as_bytes()).expect("write token");
    child.wait_with_output().expect("finishes")
}

fn breaches(json: &serde_json::Value) -> Vec<serde_json::Value> {
    json["findings"]
        .as_array()
        .map(|a| a.iter().filter(|f| f.get("breach").is_some()).cloned().collect())
        .unwrap_or_default()
}

#[test]
fn add_stores_no_part_of_the_token_and_refuses_bad_input() {
    let mut g = Gen::new(300);
    let tok = g.odd_token(37);
    let t = Tree::new();
    let reg = t.path().join(".ndaguard/registry.toml");
    let out = add(&reg, &tok, &["--id", "acme-payments-prod", "--expires", "2027-01-10", "--rotate-every", "90d"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&reg).expect("registry written");
    for i in 0..=tok.len() - 8 {
        assert!(!text.contains(&tok[i..i + 8]), "the file holds {:?}", &tok[i..i + 8]);
    }
    assert!(text.contains("length = 37"), "{text}");
    assert!(text.contains("hmac-sha256:"), "{text}");

    // A comment added by a person survives the next add.
    let edited = text.replace("[[token]]", "# payments contract, renewed yearly\n[[token]]");
    std::fs::write(&reg, edited).expect("edit");
    let second = g.odd_token(40);
    assert!(add(&reg, &second, &["--id", "second"]).status.success());
    let text = std::fs::read_to_string(&reg).expect("registry");
    assert!(text.contains("# payments contract, renewed yearly"), "{text}");
    assert!(text.find("acme-payments-prod") < text.find("\"second\""), "order kept: {text}");

    // Duplicates, empty and short tokens are refused and leave the file as it was.
    let before = std::fs::read_to_string(&reg).expect("registry");
    for (token, id, why) in [
        (tok.as_str(), "again", "already registered"),
        ("", "empty", "no token"),
        ("short-tok", "short", "shorter than"),
        (second.as_str(), "acme-payments-prod", "already exists"),
    ] {
        let out = add(&reg, token, &["--id", id]);
        assert_eq!(out.status.code(), Some(2), "{id}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(why), "{id}: {err}");
    }
    assert_eq!(std::fs::read_to_string(&reg).expect("registry"), before);

    // list shows entries without tokens; remove deletes one.
    let out =
        ndaguard().args(["registry", "--registry"]).arg(&reg).args(["--now", NOW, "list"]).output().expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("acme-payments-prod") && stdout.contains("48d"), "{stdout}");
    assert!(!stdout.contains(&tok[..8]));
    let out = ndaguard().args(["registry", "--registry"]).arg(&reg).args(["remove", "second"]).output().expect("runs");
    assert!(out.status.success());
    assert!(!std::fs::read_to_string(&reg).expect("registry").contains("\"second\""));
}

#[test]
fn a_registered_token_of_any_shape_is_a_breach_with_deadlines_in_every_mode() {
    let mut g = Gen::new(301);
    let tok = g.odd_token(37);
    let t = Tree::new();
    let reg = t.path().join(".ndaguard/registry.toml");
    assert!(add(&reg, &tok, &["--id", "acme-payments-prod", "--expires", "2026-06-30"]).status.success());
    git_at(t.path(), &["init", "-q", "-b", "main", "."], NOW);
    t.write("README.md", "hi\n");
    git_at(t.path(), &["add", "-A"], "2026-03-01T08:00:00Z");
    git_at(t.path(), &["commit", "-q", "-m", "init"], "2026-03-01T08:00:00Z");
    t.write("conf/settings.txt", format!("header\nx=ab{tok}cd\n"));
    let touch = Command::new("touch")
        .args(["-d", "2026-11-20T06:00:00Z"])
        .arg(t.path().join("conf/settings.txt"))
        .status()
        .expect("touch");
    assert!(touch.success());

    // Tree: exposed since the file's mtime.
    let (code, json, _) = scan_json(&["--now", NOW, t.path().to_str().expect("utf-8")]);
    assert_eq!(code, 1, "{json}");
    let b = breaches(&json);
    assert_eq!(b.len(), 1, "{json}");
    let f = &b[0];
    assert_eq!(f["rule_id"], "registered-token");
    assert_eq!(f["path"], "conf/settings.txt");
    assert_eq!((f["line"].as_u64(), f["column"].as_u64()), (Some(2), Some(5)));
    let br = &f["breach"];
    assert_eq!(f["secret"], "…(37)", "no part of a registered token is shown");
    assert_eq!(br["registry_id"], "acme-payments-prod");
    assert_eq!(br["nda"], "NDA-2026-014");
    assert_eq!(br["counterparty"], "Acme Payments Ltd");
    assert_eq!(br["owner"], "payments-team@corp.test");
    assert_eq!(br["scope"][0], "POST /v1/charges");
    assert_eq!(br["contacts"][0], "security@acme.test");
    assert_eq!(br["detected_at"], "2026-11-22T10:00:00Z");
    assert_eq!(br["exposed_since"], "2026-11-20T06:00:00Z");
    assert_eq!(br["report_by"], "2026-11-23T10:00:00Z");
    assert_eq!(br["revoke_by"], "2026-11-22T14:00:00Z");
    assert_eq!(br["report_hours_left"], 24);
    assert_eq!(br["revoke_hours_left"], 4);
    assert_eq!(br["lifetime_exceeded"], true);
    assert_eq!(br["revoked"], false);
    assert_eq!(json["summary"]["breaches"], 1);

    // Staged: exposed since now.
    git_at(t.path(), &["add", "conf/settings.txt"], NOW);
    let (_, json, _) = scan_json(&["--now", NOW, "--staged", t.path().to_str().expect("utf-8")]);
    let b = breaches(&json);
    assert_eq!(b.len(), 1, "{json}");
    assert_eq!(b[0]["breach"]["exposed_since"], NOW);

    // History: exposed since the commit.
    git_at(t.path(), &["commit", "-q", "-m", "settings"], "2026-11-01T12:00:00Z");
    let (_, json, _) = scan_json(&["--now", NOW, "--history", t.path().to_str().expect("utf-8")]);
    let b = breaches(&json);
    assert_eq!(b.len(), 1, "{json}");
    assert_eq!(b[0]["breach"]["exposed_since"], "2026-11-01T12:00:00Z");
    assert_eq!(b[0]["breach"]["report_by"], "2026-11-23T10:00:00Z");

    // Stdin, with the registry named explicitly.
    let out = ndaguard()
        .args(["scan", "-", "-f", "json", "--now", NOW, "--registry"])
        .arg(&reg)
        .write_stdin(format!("{{\"k\":\"{tok}\"}}"))
        .output()
        .expect("runs");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(breaches(&json).len(), 1, "{json}");
    assert_eq!(breaches(&json)[0]["breach"]["exposed_since"], NOW);

    // The text report leads with the breach and its deadlines.
    let out = ndaguard().args(["scan", "--now", NOW, "--color", "never"]).arg(t.path()).output().expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with(" NDA BREACH "), "{text}");
    assert!(text.contains("REVOKE by 2026-11-22T14:00:00Z (4 h left)"), "{text}");
    assert!(text.contains("REPORT by 2026-11-23T10:00:00Z (24 h left)"), "{text}");
    assert!(!text.contains(&tok), "{text}");
}

#[test]
fn a_rule_match_on_a_registered_token_is_one_finding_under_the_rule() {
    let mut g = Gen::new(302);
    let tok = g.github_pat();
    let t = Tree::new();
    let reg = t.path().join(".ndaguard/registry.toml");
    assert!(add(&reg, &tok, &["--id", "ci-bot"]).status.success());
    t.write("deploy.sh", format!("export GH_TOKEN={tok}\n"));
    let (_, json, _) = scan_json(&["--now", NOW, t.path().to_str().expect("utf-8")]);
    let all = json["findings"].as_array().cloned().unwrap_or_default();
    assert_eq!(all.len(), 1, "{json}");
    assert_eq!(all[0]["rule_id"], "github-pat-classic");
    assert_eq!(all[0]["breach"]["registry_id"], "ci-bot");
}

#[test]
fn revoked_and_expired_entries_and_registry_check() {
    let mut g = Gen::new(303);
    let (a, b) = (g.odd_token(30), g.odd_token(31));
    let t = Tree::new();
    let reg = t.path().join("reg.toml");
    assert!(add(
        &reg,
        &a,
        &["--id", "old", "--issued", "2026-01-01", "--expires", "2026-06-01", "--rotate-every", "30d"]
    )
    .status
    .success());
    assert!(add(&reg, &b, &["--id", "fresh", "--issued", "2026-11-01", "--rotate-every", "90d"]).status.success());
    let out =
        ndaguard().args(["registry", "--registry"]).arg(&reg).args(["--now", NOW, "check"]).output().expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("old") && stdout.contains("expired on 2026-06-01"), "{stdout}");
    assert!(stdout.contains("rotation was due"), "{stdout}");
    assert!(!stdout.contains("fresh"), "{stdout}");

    // Revoke "old" by editing the file, as the README says.
    let text = std::fs::read_to_string(&reg).expect("registry");
    let text = text.replacen(
        "rotate_every = \"30d\"",
        "rotate_every = \"30d\"\nstatus = \"revoked\"\nrevoked_at = \"2026-06-02\"",
        1,
    );
    std::fs::write(&reg, text).expect("write");
    let out =
        ndaguard().args(["registry", "--registry"]).arg(&reg).args(["--now", NOW, "check"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));

    t.write("leak.txt", format!("{a}\n"));
    let (_, json, _) =
        scan_json(&["--now", NOW, "--registry", reg.to_str().expect("utf-8"), t.path().to_str().expect("utf-8")]);
    let br = &breaches(&json)[0]["breach"];
    assert_eq!(br["revoked"], true, "{json}");
    assert!(br.get("revoke_by").is_none(), "{json}");
    assert_eq!(br["report_by"], "2026-11-23T10:00:00Z");
    assert_eq!(br["lifetime_exceeded"], true);
}

#[test]
fn a_registry_of_ten_thousand_entries() {
    let mut g = Gen::new(304);
    let key = [42u8; 32];
    let mut text = format!("version = 1\nkey = \"{}\"\n", base64_encode(&key));
    let mut planted = String::new();
    for i in 0..10_000 {
        let len = 20 + (i % 45);
        let tok = g.alnum(len);
        if i == 7_777 {
            planted = tok.clone();
        }
        let fp = ndaguard::registry::keyed_hash(&key, tok.as_bytes());
        text.push_str(&format!(
            "\n[[token]]\nid = \"t{i}\"\nfingerprint = \"hmac-sha256:{}\"\nlength = {len}\nnda = \"N{i}\"\ncounterparty = \"C\"\nowner = \"o@corp.test\"\nreport_within = \"24h\"\nrevoke_within = \"4h\"\n",
            hex_encode(&fp)
        ));
    }
    let t = Tree::new();
    let reg = t.write("reg.toml", &text);
    t.write("src/app.py", format!("import os\nCLIENT = Client(key='{planted}')\n"));
    t.write("src/other.py", "def f(x):\n    return x * 2\n".repeat(200));
    let (code, json, _) =
        scan_json(&["--now", NOW, "--registry", reg.to_str().expect("utf-8"), t.path().to_str().expect("utf-8")]);
    assert_eq!(code, 1, "{json}");
    let b = breaches(&json);
    assert_eq!(b.len(), 1, "{json}");
    assert_eq!(b[0]["breach"]["registry_id"], "t7777");
}

#[test]
fn a_bad_registry_names_file_entry_and_field() {
    let t = Tree::new();
    let reg = t.write(
        "reg.toml",
        "version = 1\nkey = \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"\n\n[[token]]\nid = \"x\"\nfingerprint = \"hmac-sha256:00\"\nlength = 20\n",
    );
    t.write("a.txt", "nothing\n");
    let out = ndaguard().args(["scan", "--registry"]).arg(&reg).arg(t.path()).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("reg.toml:4") && err.contains("\"x\"") && err.contains("fingerprint"), "{err}");
}

fn hex_encode(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn base64_encode(b: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in b.chunks(3) {
        let n =
            (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if c.len() > 1 { T[(n >> 6) as usize & 63] as char } else { '=' });
        out.push(if c.len() > 2 { T[n as usize & 63] as char } else { '=' });
    }
    out
}

/// Issue 17: a breach is an error whatever rule matched, shows no character of the token, and
/// each occurrence is its own SARIF alert.
#[test]
fn a_breach_matched_by_a_medium_rule_is_an_error_with_no_characters_and_one_alert_per_occurrence() {
    let mut g = Gen::new(317);
    let tok = format!("glft-{}", g.alnum(24));
    let t = Tree::new();
    let reg = t.path().join(".ndaguard/registry.toml");
    assert!(add(&reg, &tok, &["--id", "gitlab-deploy"]).status.success());
    t.write("ci/deploy.env", format!("TOKEN={tok}\n# again\nBACKUP_TOKEN={tok}\n"));
    let (_, json, _) = scan_json(&["--now", NOW, t.path().to_str().expect("utf-8")]);
    let b = breaches(&json);
    assert_eq!(b.len(), 2, "{json}");
    for f in &b {
        assert_eq!(f["rule_id"], "gitlab-glft-token");
        assert_eq!(f["severity"], "medium");
        assert_eq!(f["secret"], format!("…({})", tok.len()), "no prefix of a registered token");
    }
    let out = ndaguard().args(["scan", "-f", "sarif", "--now", NOW]).arg(t.path()).output().expect("runs");
    let sarif = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!sarif.contains(&tok[..9]), "{sarif}");
    let doc: serde_json::Value = serde_json::from_str(&sarif).expect("SARIF is JSON");
    crate::integrations::validate_sarif(&doc);
    let run = &doc["runs"][0];
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), 2, "{doc}");
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    for r in results {
        assert_eq!(r["level"], "error", "{r}");
        assert_eq!(r["ruleId"], "registered-token");
        let rule = &rules[r["ruleIndex"].as_u64().expect("index") as usize];
        assert_eq!(rule["id"], "registered-token");
        let sev: f64 = rule["properties"]["security-severity"].as_str().expect("string").parse().expect("number");
        assert!(sev >= 9.0, "{rule}");
        assert_eq!(r["properties"]["rule_id"], "gitlab-glft-token");
        assert_eq!(r["properties"]["severity"], "medium");
        assert_eq!(r["properties"]["rule_security_severity"], "5.5");
        assert_eq!(r["locations"][0]["physicalLocation"]["region"]["snippet"]["text"], format!("…({})", tok.len()));
    }
    let occ =
        |r: &serde_json::Value| r["partialFingerprints"]["ndaguard/occurrence/v1"].as_str().unwrap_or("").to_string();
    assert_eq!(results[0]["partialFingerprints"]["ndaguard/v1"], results[1]["partialFingerprints"]["ndaguard/v1"]);
    assert_ne!(occ(&results[0]), occ(&results[1]));
    assert!(occ(&results[0]).ends_with(":1") && occ(&results[1]).ends_with(":2"), "{doc}");
}

/// Issue 17: with `key = "external"` the committed file holds no key; scans and `registry
/// add|check` take it from `NDAGUARD_REGISTRY_KEY` or the configured key file, and refuse a
/// missing or wrong one instead of silently finding nothing.
#[test]
fn an_external_registry_key_comes_from_the_environment_or_a_key_file() {
    use base64::Engine as _;
    let mut g = Gen::new(318);
    let tok = g.odd_token(33);
    let key = base64::engine::general_purpose::STANDARD.encode(g.alnum(32));
    let t = Tree::new();
    let reg = t.path().join(".ndaguard/registry.toml");
    #[allow(deprecated)]
    let bin = assert_cmd::cargo::cargo_bin("ndaguard");
    let mut child = Command::new(bin)
        .args(["registry", "--registry"])
        .arg(&reg)
        .args(["--now", NOW, "add", "--id", "ext", "--nda", "N-1", "--counterparty", "C", "--owner", "o@corp.test"])
        .args(["--report-within", "24h", "--revoke-within", "4h"])
        .env("NDAGUARD_REGISTRY_KEY", &key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    child.stdin.take().expect("stdin").write_all(tok.as_bytes()).expect("write token");
    let out = child.wait_with_output().expect("finishes");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&reg).expect("registry");
    assert!(text.contains("key = \"external:"), "{text}");
    assert!(!text.contains(&key), "the key is not in the file");
    t.write("app.env", format!("T={tok}\n"));
    let scan = |env: Option<&str>| {
        let mut c = ndaguard();
        c.args(["scan", "-f", "json", "--now", NOW]).arg(t.path()).env_remove("NDAGUARD_REGISTRY_KEY");
        if let Some(k) = env {
            c.env("NDAGUARD_REGISTRY_KEY", k);
        }
        c.output().expect("runs")
    };
    let out = scan(Some(&key));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(breaches(&json).len(), 1, "{json}");
    let out = scan(None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("NDAGUARD_REGISTRY_KEY"), "{:?}", out);
    let wrong = base64::engine::general_purpose::STANDARD.encode(g.alnum(32));
    let out = scan(Some(&wrong));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not the registry's key"), "{:?}", out);
    // A key file named in the configuration.
    t.write("secret/ndaguard.key", format!("{key}\n"));
    t.write(".ndaguard.toml", "registry_key_file = \"secret/ndaguard.key\"\n");
    let out = scan(None);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(breaches(&json).len(), 1, "{json}");
    // `registry check` proves the key is at hand.
    let out = ndaguard()
        .args(["registry", "--registry"])
        .arg(&reg)
        .args(["--now", NOW, "check"])
        .env_remove("NDAGUARD_REGISTRY_KEY")
        .current_dir(std::env::temp_dir())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let out = ndaguard()
        .args(["registry", "--registry"])
        .arg(&reg)
        .args(["--now", NOW, "check"])
        .env("NDAGUARD_REGISTRY_KEY", &key)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

/// Issue 17 (and 14, item 5): decoded text is checked against the registry like plain text. A
/// registered token in a Kubernetes Secret's base64 `data:` is a breach with its agreement,
/// contacts and deadlines, dated from the commit that brought it in, and no format shows any
/// character of the token or of its encoding.
#[test]
fn a_registered_token_found_base64_encoded_is_a_breach() {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let mut g = Gen::new(319);
    let (pat, odd) = (g.github_pat(), g.odd_token(36));
    let t = Tree::new();
    let reg = t.path().join(".ndaguard/registry.toml");
    assert!(add(&reg, &pat, &["--id", "deploy-bot"]).status.success());
    assert!(add(&reg, &odd, &["--id", "partner-api", "--contact", "legal@acme.test"]).status.success());
    let secret = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: deploy\ntype: Opaque\ndata:\n  token: {}\n",
        b64(&pat)
    );
    t.write("k8s/secret.yaml", &secret);
    // No rule knows the odd token; its encoding is a JSON value with text around it.
    t.write("conf/blob.json", format!("{{\"config\": \"{}\"}}\n", b64(&format!("endpoint=x.test key={odd}"))));
    git_at(t.path(), &["init", "-q", "-b", "main", "."], NOW);
    git_at(t.path(), &["add", "-A"], "2026-10-05T09:30:00Z");
    git_at(t.path(), &["commit", "-q", "-m", "deploy"], "2026-10-05T09:30:00Z");

    let (code, json, _) = scan_json(&["--now", NOW, "--no-incidents", t.path().to_str().expect("utf-8")]);
    assert_eq!(code, 1, "{json}");
    let b = breaches(&json);
    assert_eq!(b.len(), 2, "{json}");
    assert_eq!(json["findings"].as_array().map(Vec::len), Some(2), "one finding per secret: {json}");
    let k8s = b.iter().find(|f| f["path"] == "k8s/secret.yaml").expect("the Secret's breach");
    assert_eq!(k8s["line"], 7);
    let br = &k8s["breach"];
    assert_eq!(br["registry_id"], "deploy-bot");
    assert_eq!(br["nda"], "NDA-2026-014");
    assert_eq!(br["counterparty"], "Acme Payments Ltd");
    assert_eq!(br["contacts"][0], "security@acme.test");
    assert_eq!(br["exposed_since"], "2026-10-05T09:30:00Z", "dated from the commit: {json}");
    assert_eq!(br["report_by"], "2026-11-23T10:00:00Z");
    assert_eq!(br["revoke_by"], "2026-11-22T14:00:00Z");
    assert!(k8s.get("deadlines").is_none(), "a breach has the agreement's deadlines, not the policy's");
    let blob = b.iter().find(|f| f["path"] == "conf/blob.json").expect("the JSON's breach");
    assert_eq!(blob["rule_id"], "registered-token");
    assert_eq!(blob["encoding"], "base64");
    assert_eq!(blob["secret"], "…(36)");
    assert_eq!(blob["breach"]["registry_id"], "partner-api");
    assert_eq!(blob["breach"]["contacts"][1], "legal@acme.test");

    let run = |format: &str| {
        let out = ndaguard()
            .args(["scan", "--no-incidents", "--color", "never", "-f", format, "--now", NOW])
            .arg(t.path())
            .output()
            .expect("runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let (text, sarif) = (run("text"), run("sarif"));
    for report in [&text, &sarif, &json.to_string()] {
        for shown in [&pat[4..12], &odd[..8], &b64(&pat)[..8]] {
            assert!(!report.contains(shown), "{shown:?} shown in {report}");
        }
    }
    assert!(text.starts_with(" NDA BREACH "), "{text}");
    let doc: serde_json::Value = serde_json::from_str(&sarif).expect("SARIF is JSON");
    let results = doc["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), 2, "{doc}");
    assert!(results.iter().all(|r| r["level"] == "error"), "{doc}");

    // The same leak in the history scan.
    let (_, json, _) = scan_json(&["--now", NOW, "--no-incidents", "--history", t.path().to_str().expect("utf-8")]);
    let ids: Vec<_> = breaches(&json).iter().map(|f| f["breach"]["registry_id"].clone()).collect();
    assert_eq!(ids.len(), 2, "{json}");
}
