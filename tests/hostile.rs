//! Regression tests of issue 14 (hostile input): each test is named after the item it covers
//! and failed on main before the fix.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use crate::common::{ndaguard, scan_json, Gen, Tree};

const NOW: &str = "2026-11-22T10:00:00Z";

fn s(t: &Tree) -> &str {
    t.path().to_str().expect("utf-8 temp path")
}

/// Runs `ndaguard registry --registry REG ARGS…` with `stdin` piped in.
fn registry(reg: &std::path::Path, args: &[&str], stdin: &str) -> std::process::Output {
    #[allow(deprecated)]
    let bin = assert_cmd::cargo::cargo_bin("ndaguard");
    let mut child = Command::new(bin)
        .arg("registry")
        .arg("--registry")
        .arg(reg)
        .args(["--now", NOW])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("writes");
    child.wait_with_output().expect("finishes")
}

fn add_args<'a>(id: &'a str, nda: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["add", "--id", id, "--nda", nda, "--counterparty", "Acme", "--owner", "o@corp.test"];
    v.extend(["--report-within", "24h", "--revoke-within", "4h"]);
    v.extend(extra);
    v
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A registry file whose text fields hold `field_value` (TOML basic-string escapes allowed).
fn registry_file(t: &Tree, entry_extra: &str) -> std::path::PathBuf {
    t.write(
        "reg.toml",
        format!(
            "version = 1\nkey = \"{}\"\n\n[[token]]\nid = \"a\"\nfingerprint = \"hmac-sha256:{}\"\nlength = 20\nnda = \"N\"\ncounterparty = \"C\"\nowner = \"O\"\nreport_within = \"1h\"\nrevoke_within = \"1h\"\n{entry_extra}",
            "A".repeat(44),
            "0".repeat(64)
        ),
    )
}

// 18: date arithmetic at the end of time.

#[test]
fn i18_a_clock_or_dates_at_year_9999_do_not_panic() {
    let mut g = Gen::new(1401);
    let t = Tree::new();
    t.write("a.txt", format!("k = {}\n", g.github_pat()));
    let (code, json, err) = scan_json(&["--now", "9999-12-31T23:59:59Z", s(&t)]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(json["findings"][0]["deadlines"]["report_by"], "9999-12-31T23:59:59Z");
    let r = Tree::new();
    let reg = registry_file(&r, "issued = \"9999-12-31\"\nrotate_every = \"90d\"\n");
    for cmd in ["list", "check"] {
        let out = registry(&reg, &[cmd], "");
        assert!(matches!(out.status.code(), Some(0 | 1)), "{cmd}: {}", text(&out.stderr));
        assert!(!text(&out.stderr).contains("panicked"), "{}", text(&out.stderr));
    }
}

// 14: concurrent `registry add`.

#[test]
fn i14_concurrent_registry_adds_keep_every_entry() {
    let mut g = Gen::new(1402);
    let t = Tree::new();
    let reg = t.path().join("reg/registry.toml");
    let tokens: Vec<String> = (0..8).map(|_| g.github_pat()).collect();
    let handles: Vec<_> = tokens
        .iter()
        .enumerate()
        .map(|(i, tok)| {
            let reg = reg.clone();
            let tok = tok.clone();
            std::thread::spawn(move || {
                let id = format!("t{i}");
                registry(&reg, &add_args(&id, "N", &[]), &format!("{tok}\n"))
            })
        })
        .collect();
    for h in handles {
        let out = h.join().expect("joins");
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    let out = registry(&reg, &["list", "--format", "json"], "");
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(list.as_array().map(Vec::len), Some(8), "{list}");
}

// 16: output file modes.

#[test]
fn i16_reports_get_the_usual_mode_and_keep_an_existing_one() {
    let t = Tree::new();
    t.write("src/a.txt", "nothing\n");
    let out_dir = Tree::new();
    // What a plain file creation gets under this process's umask.
    let reference = out_dir.write("reference", "");
    let usual = std::fs::metadata(&reference).expect("meta").permissions().mode() & 0o777;
    let report = out_dir.path().join("new.json");
    let run = |path: &std::path::Path| {
        ndaguard().args(["scan", "-f", "json", "-o"]).arg(path).arg(t.path().join("src")).output().expect("runs")
    };
    assert_eq!(run(&report).status.code(), Some(0));
    assert_eq!(std::fs::metadata(&report).expect("meta").permissions().mode() & 0o777, usual);
    // An existing file keeps its mode.
    let kept = out_dir.write("kept.json", "old");
    std::fs::set_permissions(&kept, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    assert_eq!(run(&kept).status.code(), Some(0));
    assert_eq!(std::fs::metadata(&kept).expect("meta").permissions().mode() & 0o777, 0o640);
    assert!(std::fs::read_to_string(&kept).expect("read").contains("\"summary\""));
    // A read-only file is not replaced.
    let ro = out_dir.write("ro.json", "old");
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o444)).expect("chmod");
    let out = run(&ro);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("read-only"), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&ro).expect("read"), "old");
}

// 17: symlinks committed in the scanned tree.

#[test]
fn i17_ci_never_writes_through_a_symlink_in_the_workspace() {
    let outside = Tree::new();
    let victim = outside.write("victim", "precious\n");
    let ws = Tree::new();
    ws.write("README.md", "hello\n");
    std::os::unix::fs::symlink(&victim, ws.path().join("ndaguard.sarif")).expect("symlink");
    std::os::unix::fs::symlink(outside.path(), ws.path().join("out")).expect("symlink");
    let ci = |sarif: &str| {
        ndaguard()
            .current_dir(ws.path())
            .args(["ci", "github", "--now", NOW, "--sarif-file", sarif])
            .env("GITHUB_EVENT_NAME", "workflow_dispatch")
            .env("GITHUB_WORKSPACE", ws.path())
            .output()
            .expect("runs")
    };
    let out = ci("ndaguard.sarif");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&victim).expect("read"), "precious\n");
    let link = std::fs::symlink_metadata(ws.path().join("ndaguard.sarif")).expect("meta");
    assert!(link.is_file(), "the link was replaced by the report");
    // Through a symlinked folder: refused.
    let out = ci("out/victim");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("symlink"), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&victim).expect("read"), "precious\n");
    // A symlink outside the scanned tree is still followed (the user made it).
    let user_link = outside.path().join("link.sarif");
    let target = outside.write("target.sarif", "");
    std::os::unix::fs::symlink(&target, &user_link).expect("symlink");
    let out = ci(user_link.to_str().expect("utf-8"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(std::fs::read_to_string(&target).expect("read").contains("\"runs\""));
}

// 19: control characters from input never reach the terminal or the Actions log.

const ESC_RULE: &str = r#"
[[rule]]
id = "evil-token"
name = "Evil \u001b]0;owned\u0007 token \u202e"
severity = "high"
keywords = ["evil_"]
regex = '''(?P<secret>evil_[a-z0-9]{16})'''
examples = ["x evil_ab12cd34ef56gh78"]
negative_examples = ["evil_short"]
"#;

#[test]
fn i19_registry_list_and_reports_escape_control_characters() {
    let t = Tree::new();
    let reg = t.write(
        "reg.toml",
        format!(
            "version = 1\nkey = \"{}\"\n\n[[token]]\nid = \"a\\u001b[2J\"\nfingerprint = \"hmac-sha256:{}\"\nlength = 20\nnda = \"N\\u001b]0;x\\u0007\"\ncounterparty = \"C\\u0007\\u202e\"\nowner = \"O\"\nreport_within = \"1h\"\nrevoke_within = \"1h\"\n",
            "A".repeat(44),
            "0".repeat(64)
        ),
    );
    let out = registry(&reg, &["list"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let listed = text(&out.stdout);
    assert!(!listed.contains('\u{1b}') && !listed.contains('\u{7}') && !listed.contains('\u{202e}'), "{listed:?}");
    assert!(listed.contains("a\\u{1b}[2J"), "{listed}");

    let rules = Tree::new();
    rules.write("evil.toml", ESC_RULE);
    let src = Tree::new();
    src.write("a.txt", "x evil_ab12cd34ef56gh78\n");
    let out = ndaguard()
        .args(["scan", "--color", "never", "--rules"])
        .arg(rules.path().join("evil.toml"))
        .arg(src.path())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert!(!report.contains('\u{1b}') && !report.contains('\u{202e}'), "{report:?}");
    assert!(report.contains("Evil \\u{1b}]0;owned\\u{7} token \\u{202e}"), "{report}");
}

#[test]
fn i19_ci_log_lines_never_start_with_input_and_annotations_are_escaped() {
    let mut g = Gen::new(1419);
    let tok = g.github_pat();
    let ws = Tree::new();
    ws.write("::stop-commands::abcd", format!("k = {}\n", g.github_pat()));
    ws.write("b.txt", format!("k = {tok}\n"));
    ws.write("c.txt", "x evil_ab12cd34ef56gh78\n");
    ws.write(".ndaguard/rules/evil.toml", ESC_RULE);
    ws.write(".ndaguard.toml", "[rules]\npaths = [\".ndaguard/rules\"]\n");
    let reg = ws.path().join(".ndaguard/registry.toml");
    let out = registry(&reg, &add_args("leak", "NDA\u{1b}]0;x\u{7}", &[]), &format!("{tok}\n"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let side = Tree::new();
    let out = ndaguard()
        .current_dir(ws.path())
        .args(["ci", "github", "--now", NOW, "--fail-on", "never", "--sarif-file"])
        .arg(side.path().join("o.sarif"))
        .env("GITHUB_EVENT_NAME", "workflow_dispatch")
        .env("GITHUB_WORKSPACE", ws.path())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let log = text(&out.stdout);
    assert!(!log.contains('\u{1b}') && !log.contains('\u{7}') && !log.contains('\u{202e}'), "{log:?}");
    for line in log.lines() {
        let l = line.trim_start();
        assert!(
            !l.starts_with("::") || l.starts_with("::error ") || l.starts_with("::warning "),
            "a log line starts with input: {line}"
        );
    }
    let annotations = log.lines().filter(|l| l.starts_with("::error ") || l.starts_with("::warning ")).count();
    assert_eq!(annotations, 4, "{log}");
    assert!(log.contains("NDA\\u{1b}]0;x\\u{7} (github-pat-classic)"), "{log}");
}

// 20: paths: backslash, bidi controls, SARIF URIs, `./x`.

#[test]
fn i20_paths_escape_backslash_and_bidi_and_sarif_encodes_the_real_bytes() {
    let mut g = Gen::new(1420);
    let t = Tree::new();
    t.write("new\nline.txt", format!("k = {}\n", g.github_pat()));
    t.write("new\\nline.txt", format!("k = {}\n", g.github_pat()));
    t.write("evil\u{202e}txt.exe", format!("k = {}\n", g.github_pat()));
    let (code, json, _) = scan_json(&[s(&t)]);
    assert_eq!(code, 1);
    let mut paths: Vec<&str> =
        json["findings"].as_array().expect("array").iter().filter_map(|f| f["path"].as_str()).collect();
    paths.sort();
    assert_eq!(paths, vec!["evil\\u{202e}txt.exe", "new\\\\nline.txt", "new\\nline.txt"]);
    let out = ndaguard().args(["scan", "-f", "sarif", "--now", NOW]).arg(t.path()).output().expect("runs");
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let mut uris: Vec<String> = sarif["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap_or("").to_string())
        .collect();
    uris.sort();
    assert_eq!(uris, vec!["evil%E2%80%AEtxt.exe", "new%0Aline.txt", "new%5Cnline.txt"]);
    let out = ndaguard().args(["scan", "--color", "never"]).arg(t.path()).output().expect("runs");
    assert!(!text(&out.stdout).contains('\u{202e}'));
}

#[test]
fn i20_dot_slash_and_plain_paths_are_one_path_with_one_fingerprint() {
    let mut g = Gen::new(1421);
    let t = Tree::new();
    t.write("x.txt", format!("k = {}\n", g.github_pat()));
    let run = |arg: &str| {
        let out = ndaguard().current_dir(t.path()).args(["scan", "-f", "json", arg]).output().expect("runs");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        (json["findings"][0]["path"].clone(), json["findings"][0]["fingerprint"].clone())
    };
    let plain = run("x.txt");
    assert_eq!(plain.0, "x.txt");
    assert_eq!(run("./x.txt"), plain);
}

// 21: files named by configuration.

#[test]
fn i21_devices_named_as_registry_rules_or_config_are_refused() {
    let t = Tree::new();
    t.write("a.txt", "nothing\n");
    let started = std::time::Instant::now();
    for (args, config) in [
        (vec!["scan", "--registry", "/dev/zero", "."], None),
        (vec!["scan", "."], Some("registry = \"/dev/zero\"\n")),
        (vec!["scan", "."], Some("[rules]\npaths = [\"/dev/zero\"]\n")),
        (vec!["scan", "--config", "/dev/zero", "."], None),
        (vec!["registry", "list", "--registry", "/dev/zero"], None),
        (vec!["registry", "check", "--registry", "/dev/zero"], None),
    ] {
        if let Some(c) = config {
            t.write(".ndaguard.toml", c);
        }
        let out = ndaguard()
            .args(&args)
            .current_dir(t.path())
            .timeout(std::time::Duration::from_secs(20))
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(2), "{args:?} {config:?}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("/dev/zero") && text(&out.stderr).contains("not a regular file"),
            "{}",
            text(&out.stderr)
        );
        std::fs::remove_file(t.path().join(".ndaguard.toml")).ok();
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

// 22: registry lengths and rule capture names.

#[test]
fn i22_short_registry_lengths_and_textual_secret_groups_are_refused() {
    let t = Tree::new();
    let reg = registry_file(&t, "");
    let short = std::fs::read_to_string(&reg).expect("read").replace("length = 20", "length = 15");
    std::fs::write(&reg, short).expect("write");
    let out = registry(&reg, &["list"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("reg.toml:4") && text(&out.stderr).contains("`length`"),
        "{}",
        text(&out.stderr)
    );

    let rules = Tree::new();
    let fake = ESC_RULE.replace("(?P<secret>evil_[a-z0-9]{16})", r"\(?P<secret>evil_[a-z0-9]{16}\)");
    rules.write("fake.toml", fake);
    let src = Tree::new();
    src.write("a.txt", "x\n");
    let out = ndaguard()
        .args(["scan", "--rules"])
        .arg(rules.path().join("fake.toml"))
        .arg(src.path())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("fake.toml:7") && text(&out.stderr).contains("no `secret` capture group"),
        "{}",
        text(&out.stderr)
    );
}

// 23: the token prompt, stdin's size limit, error messages.

#[test]
fn i23_registry_add_on_a_terminal_prompts_on_stderr_and_does_not_echo() {
    use std::io::Read;
    let mut g = Gen::new(1423);
    let tok = g.github_pat();
    let t = Tree::new();
    let reg = t.path().join("reg.toml");
    #[allow(deprecated)]
    let bin = assert_cmd::cargo::cargo_bin("ndaguard");
    let cmd = format!(
        "{} registry --registry {} add --id a --nda N --counterparty C --owner O --report-within 1d --revoke-within 1d 2>&1",
        bin.display(),
        reg.display()
    );
    // script(1) runs the command on a pseudo-terminal.
    let mut child = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script(1) from util-linux runs");
    let mut stdout = child.stdout.take().expect("stdout");
    // Without a prompt the command waits for input forever: end it after a while.
    let pid = child.id().to_string();
    let (done, watch) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if watch.recv_timeout(std::time::Duration::from_secs(30)).is_err() {
            let _ = Command::new("kill").arg(&pid).status();
        }
    });
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while !text(&seen).contains("not shown") {
        let n = stdout.read(&mut buf).expect("reads");
        assert!(n > 0, "no prompt: {:?}", text(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(format!("{tok}\n").as_bytes()).expect("writes");
    stdout.read_to_end(&mut seen).expect("reads");
    drop(stdin);
    child.wait().expect("finishes");
    let _ = done.send(());
    watchdog.join().expect("joins");
    let all = text(&seen);
    assert!(!all.contains(&tok), "the token was echoed: {all:?}");
    assert!(all.contains("registered \"a\""), "{all}");
}

#[test]
fn i23_standard_input_honours_max_file_size_and_says_so() {
    let mut g = Gen::new(1424);
    let data = format!("{}\nk = {}\n", "x".repeat(3000), g.github_pat());
    let out =
        ndaguard().args(["scan", "-", "-f", "json", "--max-file-size", "1K"]).write_stdin(data).output().expect("runs");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["summary"]["bytes_scanned"], 1024, "{json}");
    let notes = json["summary"]["notes"].to_string();
    assert!(notes.contains("larger than --max-file-size"), "{notes}");
}

#[test]
fn i23_errors_say_the_os_error_once_and_policy_errors_name_the_line() {
    let t = Tree::new();
    t.write("a.txt", "x\n");
    let out =
        ndaguard().args(["scan", "--config"]).arg(t.path().join("missing.toml")).arg(t.path()).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stderr).matches("os error 2").count(), 1, "{}", text(&out.stderr));
    t.write(".ndaguard.toml", "[policy.critical]\nreport_within = \"1h\"\n\n[policy.high]\nreport_within = \"soon\"\n");
    let out = ndaguard().arg("scan").arg(t.path()).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains(".ndaguard.toml:5") && text(&out.stderr).contains("[policy.high]"),
        "{}",
        text(&out.stderr)
    );
}

// 1: `--max-file-size none` (u64::MAX) must not scan files as empty.

#[test]
fn i01_max_file_size_none_scans_files_whole() {
    let mut g = Gen::new(1431);
    let t = Tree::new();
    t.write("d/a.txt", format!("k = {}\n", g.github_pat()));
    let (code, json, err) = scan_json(&["--max-file-size", "none", s(&t)]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(json["summary"]["bytes_scanned"], 45, "{}", json["summary"]);
}

// 11: `-j` has an upper bound.

#[test]
fn i11_a_huge_thread_count_is_capped_with_a_note() {
    let t = Tree::new();
    t.write("a.txt", "x\n");
    t.write("b.txt", "y\n");
    let started = std::time::Instant::now();
    let out = ndaguard()
        .args(["scan", "-j", "3000"])
        .arg(t.path())
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("-j 3000 is more than 4 threads per core"), "{}", text(&out.stderr));
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "{:?}", started.elapsed());
}
