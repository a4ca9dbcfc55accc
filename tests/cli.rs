//! The working-tree scan end to end: what is scanned and skipped, what is reported and how,
//! and the exit codes.

use crate::common::{ndaguard, rule_ids, scan_json, Gen, Tree};

const NOW: &str = "2026-11-22T10:00:00Z";

fn path_of(t: &Tree) -> &str {
    t.path().to_str().expect("utf-8 temp path")
}

#[test]
fn finds_a_generated_github_token_with_line_and_column() {
    let mut g = Gen::new(1);
    let tok = g.github_pat();
    let t = Tree::new();
    t.write("src/config.py", format!("import os\n\nGITHUB = \"{tok}\"\n"));
    let (code, json, _) = scan_json(&[path_of(&t)]);
    assert_eq!(code, 1);
    let f = &json["findings"][0];
    assert_eq!(f["rule_id"], "github-pat-classic");
    assert_eq!(f["path"], "src/config.py");
    assert_eq!(f["line"], 3);
    assert_eq!(f["column"], 11);
    assert_eq!(f["end_column"], 11 + 40);
    assert_eq!(f["severity"], "critical");
    assert_eq!(json["version"], 1);
    assert_eq!(json["summary"]["files_scanned"], 1);
    assert_eq!(json["summary"]["findings"], 1);
}

#[test]
fn a_token_with_a_wrong_checksum_is_not_reported() {
    let mut g = Gen::new(2);
    let t = Tree::new();
    t.write("a.txt", format!("token = {}\n", g.github_pat_bad_checksum()));
    let (code, json, _) = scan_json(&[path_of(&t)]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["findings"].as_array().map(Vec::len), Some(0));
}

#[test]
fn secrets_are_redacted_unless_show_secrets() {
    let mut g = Gen::new(3);
    let tok = g.github_pat();
    let t = Tree::new();
    t.write("a.txt", format!("t={tok}\n"));
    let out = ndaguard().args(["scan", path_of(&t)]).output().expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains(&tok), "{text}");
    assert!(text.contains("ghp_…(40)"), "{text}");
    let (_, json, _) = scan_json(&[path_of(&t)]);
    assert!(!json.to_string().contains(&tok));
    let (_, json, _) = scan_json(&[path_of(&t), "--show-secrets"]);
    assert_eq!(json["findings"][0]["secret"], tok.as_str());
}

#[test]
fn honours_gitignore_unless_no_ignore_and_scans_hidden_files() {
    let mut g = Gen::new(4);
    let t = Tree::new();
    t.write(".gitignore", "ignored/\n*.log\n");
    t.write("ignored/secret.txt", format!("{}\n", g.github_pat()));
    t.write("debug.log", format!("{}\n", g.github_pat()));
    t.write(".env", format!("GITHUB_TOKEN={}\n", g.github_pat()));
    t.write(".git/config", format!("{}\n", g.github_pat()));
    let (_, json, _) = scan_json(&[path_of(&t)]);
    let paths: Vec<&str> =
        json["findings"].as_array().expect("array").iter().filter_map(|f| f["path"].as_str()).collect();
    assert_eq!(paths, vec![".env"]);
    let (_, json, _) = scan_json(&[path_of(&t), "--no-ignore"]);
    let paths: Vec<&str> =
        json["findings"].as_array().expect("array").iter().filter_map(|f| f["path"].as_str()).collect();
    assert_eq!(paths, vec![".env", "debug.log", "ignored/secret.txt"]);
}

#[test]
fn ndaguardignore_excludes_paths() {
    let mut g = Gen::new(5);
    let t = Tree::new();
    t.write(".ndaguardignore", "fixtures/\n");
    t.write("fixtures/a.txt", format!("{}\n", g.github_pat()));
    t.write("b.txt", format!("{}\n", g.github_pat()));
    let (_, json, _) = scan_json(&[path_of(&t)]);
    assert_eq!(json["findings"].as_array().map(Vec::len), Some(1));
    assert_eq!(json["findings"][0]["path"], "b.txt");
}

#[test]
fn binary_and_oversized_files_are_skipped_and_counted() {
    let mut g = Gen::new(6);
    let t = Tree::new();
    let mut bin = b"\x7fELF\0\0\0".to_vec();
    bin.extend_from_slice(g.github_pat().as_bytes());
    t.write("tool.bin", bin);
    t.write("big.txt", format!("{}\n{}", g.github_pat(), "x".repeat(5000)));
    t.write("small.txt", "nothing to see\n");
    let (code, json, _) = scan_json(&[path_of(&t), "--max-file-size", "1K"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["summary"]["files_scanned"], 1);
    assert_eq!(json["summary"]["files_skipped"], 2);
    assert_eq!(json["summary"]["skipped_by_reason"]["binary"], 1);
    assert_eq!(json["summary"]["skipped_by_reason"]["too-large"], 1);
    let skipped: Vec<(&str, &str)> = json["skipped"]
        .as_array()
        .expect("array")
        .iter()
        .map(|s| (s["path"].as_str().unwrap_or(""), s["reason"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(skipped, vec![("big.txt", "too-large"), ("tool.bin", "binary")]);
    let out = ndaguard().args(["scan", path_of(&t), "--max-file-size", "1K"]).output().expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("2 skipped (1 binary, 1 too-large)"), "{text}");
}

#[test]
fn utf16_files_are_scanned_as_text() {
    let mut g = Gen::new(7);
    let tok = g.github_pat();
    let t = Tree::new();
    let text = format!("line one\r\ntoken = {tok}\r\n");
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    t.write("win.txt", bytes);
    let (_, json, _) = scan_json(&[path_of(&t)]);
    assert_eq!(rule_ids(&json), vec!["github-pat-classic"]);
    assert_eq!(json["findings"][0]["line"], 2);
}

#[test]
fn reads_standard_input() {
    let mut g = Gen::new(8);
    let tok = g.github_pat();
    let out = ndaguard()
        .args(["scan", "-", "--format", "json"])
        .write_stdin(format!("first\nsecond {tok}\n"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["findings"][0]["path"], "<stdin>");
    assert_eq!(json["findings"][0]["line"], 2);
    assert_eq!(json["scan"]["mode"], "stdin");
}

#[test]
fn exit_codes_clean_findings_custom_and_usage_error() {
    let mut g = Gen::new(9);
    let t = Tree::new();
    t.write("a.txt", "clean\n");
    ndaguard().args(["scan", path_of(&t)]).assert().code(0);
    t.write("b.txt", format!("{}\n", g.github_pat()));
    ndaguard().args(["scan", path_of(&t)]).assert().code(1);
    ndaguard().args(["scan", path_of(&t), "--exit-code", "42"]).assert().code(42);
    ndaguard().args(["scan", "/definitely/not/here"]).assert().code(2);
    ndaguard().args(["scan", path_of(&t), "--now", "yesterday"]).assert().code(2);
}

#[cfg(unix)]
#[test]
fn unreadable_files_are_reported_and_the_scan_goes_on() {
    use std::os::unix::fs::PermissionsExt;
    let mut g = Gen::new(10);
    let t = Tree::new();
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod dir");
    let locked = t.write("locked.txt", "secret stuff\n");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    let closed = t.path().join("closed");
    std::fs::create_dir(&closed).expect("mkdir");
    std::fs::write(closed.join("inside.txt"), "x\n").expect("write");
    std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    let open = t.write("open.txt", format!("{}\n", g.github_pat()));
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    // Root reads everything: run the scan as an unprivileged user when we are root.
    let mut cmd = unprivileged();
    let out = cmd.args(["scan", "--format", "json", path_of(&t)]).output().expect("runs");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o644)).expect("chmod back");
    std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o755)).expect("chmod back");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json report");
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(json["summary"]["errors"], 2, "{json}");
    assert_eq!(json["summary"]["files_scanned"], 1);
    assert_eq!(json["findings"][0]["path"], "open.txt");
    assert!(stderr.contains("locked.txt"), "{stderr}");
    assert!(stderr.contains("closed"), "{stderr}");
}

/// The ndaguard binary, run as `nobody` when the tests run as root (so permissions apply).
#[cfg(unix)]
fn unprivileged() -> std::process::Command {
    let bin = assert_cmd::cargo::cargo_bin("ndaguard");
    let is_root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    if is_root {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"]).arg(bin);
        c
    } else {
        std::process::Command::new(bin)
    }
}

#[cfg(unix)]
#[test]
fn special_files_are_skipped_and_counted() {
    // A FIFO is not a regular file: it is skipped (opening it would block), and counted.
    let t = Tree::new();
    t.write("ok.txt", "fine\n");
    let fifo = t.path().join("pipe");
    let status = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !matches!(status, Ok(s) if s.success()) {
        eprintln!("skipped: mkfifo not available");
        return;
    }
    let (code, json, _) = scan_json(&[path_of(&t), "--verbose"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["summary"]["files_scanned"], 1);
    assert_eq!(json["summary"]["skipped_by_reason"]["special"], 1);
}

#[test]
fn inline_allow_suppresses_and_is_counted() {
    let mut g = Gen::new(11);
    let t = Tree::new();
    t.write(
        "a.py",
        format!(
            "A = \"{}\"  # ndaguard:allow test fixture\n# ndaguard:allow-next-line\nB = \"{}\"\nC = \"{}\"\n",
            g.github_pat(),
            g.github_pat(),
            g.github_pat()
        ),
    );
    let (_, json, _) = scan_json(&[path_of(&t)]);
    assert_eq!(json["findings"].as_array().map(Vec::len), Some(1));
    assert_eq!(json["findings"][0]["line"], 4);
    assert_eq!(json["summary"]["suppressed"], 2);
    let (_, json, _) = scan_json(&[path_of(&t), "--no-inline-allow"]);
    assert_eq!(json["findings"].as_array().map(Vec::len), Some(3));
}

#[test]
fn config_allowlist_paths_and_regexes() {
    let mut g = Gen::new(12);
    let t = Tree::new();
    t.write(".ndaguard.toml", "[allowlist]\npaths = [\"fixtures/**\"]\n");
    t.write("fixtures/a.txt", format!("{}\n", g.github_pat()));
    t.write("src/b.txt", format!("{}\n", g.github_pat()));
    let (_, json, _) = scan_json(&[path_of(&t)]);
    assert_eq!(json["findings"].as_array().map(Vec::len), Some(1));
    assert_eq!(json["summary"]["skipped_by_reason"]["allowlisted"], 1);
}

#[test]
fn a_bad_config_is_an_error_naming_file_and_line() {
    let t = Tree::new();
    t.write(".ndaguard.toml", "[allowlist]\npathz = []\n");
    let out = ndaguard().args(["scan", path_of(&t)]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(".ndaguard.toml:2"), "{err}");
    assert!(err.contains("pathz"), "{err}");
}

#[test]
fn a_bad_user_rule_is_an_error_naming_file_and_line() {
    let t = Tree::new();
    t.write(
        "rules/bad.toml",
        "[[rule]]\nid = \"bad-rule\"\nname = \"Bad\"\nseverity = \"low\"\nkeywords = [\"bad\"]\nregex = '''(?P<secret>bad[a-z'''\nexamples = [\"bad\"]\nnegative_examples = [\"x\"]\n",
    );
    t.write("a.txt", "bad\n");
    let out = ndaguard().args(["scan", path_of(&t), "--rules"]).arg(t.path().join("rules")).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:2"), "{err}");
    assert!(err.contains("does not compile"), "{err}");
}

#[test]
fn the_fingerprint_survives_a_line_move() {
    let mut g = Gen::new(13);
    let tok = g.github_pat();
    let t = Tree::new();
    t.write("a.txt", format!("{tok}\n"));
    let (_, first, _) = scan_json(&[path_of(&t)]);
    t.write("a.txt", format!("\n\n\nnew = 1\n   {tok}\n"));
    let (_, moved, _) = scan_json(&[path_of(&t)]);
    assert_eq!(moved["findings"][0]["line"], 5);
    assert_eq!(first["findings"][0]["fingerprint"], moved["findings"][0]["fingerprint"]);
    assert!(!first["findings"][0]["fingerprint"].as_str().unwrap_or_default().contains(&tok));
}

#[test]
fn output_is_sorted_and_identical_across_thread_counts() {
    let mut g = Gen::new(14);
    let t = Tree::new();
    for i in 0..40 {
        t.write(&format!("d{}/f{i}.txt", i % 7), format!("x\n{}\n", g.github_pat()));
    }
    let run = |threads: &str| {
        let out = ndaguard()
            .args(["scan", path_of(&t), "--format", "jsonl", "--now", NOW, "--threads", threads])
            .output()
            .expect("runs");
        String::from_utf8(out.stdout).expect("utf-8")
    };
    let one = run("1");
    assert_eq!(one.lines().count(), 40);
    assert_eq!(one, run("2"));
    assert_eq!(one, run("8"));
    let paths: Vec<String> = one
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("json line")["path"].as_str().unwrap_or("").to_string()
        })
        .collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted);
}

#[test]
fn writes_the_report_to_an_output_file() {
    let mut g = Gen::new(15);
    let t = Tree::new();
    t.write("a.txt", format!("{}\n", g.github_pat()));
    let out_file = t.path().join("out/report.json");
    std::fs::create_dir_all(t.path().join("out")).expect("mkdir");
    let out =
        ndaguard().args(["scan", path_of(&t), "--format", "json", "--output"]).arg(&out_file).output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&out_file).expect("report")).expect("json");
    assert_eq!(json["summary"]["findings"], 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 finding"));
}

#[test]
fn an_output_path_that_is_a_pipe_or_a_symlink_stays_one() {
    // Reports are written through a temporary file renamed into place; that must not replace a
    // device or named pipe (`-o /dev/null` as root would replace /dev/null with a file) or a
    // symlink with a regular file.
    use std::os::unix::fs::FileTypeExt;
    let mut g = Gen::new(17);
    let t = Tree::new();
    t.write("src/a.txt", format!("{}\n", g.github_pat()));
    let fifo = t.path().join("report.pipe");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo runs");
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).expect("read the pipe"))
    };
    let scan_root = t.path().join("src");
    let out = ndaguard().args(["scan", "--format", "json", "-o"]).arg(&fifo).arg(&scan_root).output().expect("runs");
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    // Checked before reading: had the pipe been replaced, the reader would wait forever.
    assert!(std::fs::symlink_metadata(&fifo).expect("pipe").file_type().is_fifo());
    let json: serde_json::Value = serde_json::from_slice(&reader.join().expect("reader")).expect("json from the pipe");
    assert_eq!(json["summary"]["findings"], 1);

    let target = t.write("reports/latest.json", "old");
    let link = t.path().join("report.json");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    let out = ndaguard().args(["scan", "--format", "json", "-o"]).arg(&link).arg(&scan_root).output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(std::fs::symlink_metadata(&link).expect("link").file_type().is_symlink());
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&target).expect("target")).expect("json");
    assert_eq!(json["summary"]["findings"], 1);
}

#[test]
fn hostile_file_names_cannot_inject_terminal_sequences() {
    let mut g = Gen::new(16);
    let t = Tree::new();
    t.write("evil\x1b[31mred.txt", format!("{}\n", g.github_pat()));
    let out = ndaguard().args(["scan", path_of(&t), "--color", "never"]).output().expect("runs");
    assert!(!out.stdout.contains(&0x1b), "{}", String::from_utf8_lossy(&out.stdout));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("evil\\u{1b}[31mred.txt:1:1"), "{text}");
    let (_, json, _) = scan_json(&[path_of(&t)]);
    assert_eq!(json["findings"][0]["path"], "evil\\u{1b}[31mred.txt");
}

fn text_snapshot_tree() -> (Tree, String) {
    let mut g = Gen::new(100);
    let t = Tree::new();
    t.write("app/settings.py", format!("DEBUG = False\nGITHUB_TOKEN = \"{}\"\n", g.github_pat()));
    t.write(".env", format!("NPM_TOKEN={}\n", g.npm()));
    t.write("logo.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR");
    t.write("README.md", "# nothing here\n");
    let root = path_of(&t).to_string();
    (t, root)
}

#[test]
fn text_report_snapshot() {
    let (_t, root) = text_snapshot_tree();
    let out = ndaguard().args(["scan", &root, "--now", NOW, "--color", "never", "--verbose"]).output().expect("runs");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    insta::with_settings!({filters => vec![(r"\d+\.\d\d s", "[TIME] s")]}, {
        insta::assert_snapshot!("text_report", text);
    });
}

#[test]
fn json_report_snapshot() {
    let (_t, root) = text_snapshot_tree();
    let (_, json, _) = scan_json(&[&root, "--now", NOW]);
    insta::assert_json_snapshot!("json_report", json, {
        ".scan.root" => "[ROOT]",
        ".summary.duration_ms" => "[MS]",
    });
}

#[test]
fn a_baseline_suppresses_known_findings_even_after_they_move() {
    let mut g = Gen::new(17);
    let old = g.github_pat();
    let t = Tree::new();
    t.write("a.txt", format!("{old}\n"));
    let base = t.path().join("baseline.json");
    let out = ndaguard().args(["baseline", path_of(&t), "--output"]).arg(&base).output().expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&base).expect("baseline written");
    assert!(!text.contains(&old), "the baseline must not hold the secret");
    assert!(text.contains("\"fingerprint\": \"v1:"), "{text}");
    // Move the known secret and add a new one: only the new one is reported.
    let new = g.github_pat();
    t.write("a.txt", format!("\n\nmoved = {old}\nfresh = {new}\n"));
    let (code, json, _) = scan_json(&[path_of(&t), "--baseline", base.to_str().expect("utf-8")]);
    assert_eq!(code, 1);
    assert_eq!(json["findings"].as_array().map(Vec::len), Some(1));
    assert_eq!(json["findings"][0]["line"], 4);
    assert_eq!(json["summary"]["suppressed"], 1);
}

#[test]
fn a_malformed_baseline_is_an_error() {
    let t = Tree::new();
    t.write("b.json", "{\"version\": 1, \"findings\": [\n{\"fingerprint\": 5}]}");
    let out = ndaguard().args(["scan", path_of(&t), "--baseline"]).arg(t.path().join("b.json")).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("b.json:2"));
}
