//! Reliability: big inputs in bounded memory, chunk boundaries, and accounting.

use crate::common::{ndaguard, scan_json, Gen, Tree};

#[test]
fn a_large_single_line_file_is_scanned_in_chunks() {
    let mut g = Gen::new(501);
    let tok = g.github_pat();
    let t = Tree::new();
    // 20 MiB on one line (over two chunks), with the token near the end.
    let mut data = "ab".repeat(10 * 1024 * 1024);
    data.push(' ');
    data.push_str(&tok);
    data.push('\n');
    t.write("big/one-line.txt", &data);
    let (code, json, _) = scan_json(&["--max-file-size", "none", t.path().to_str().expect("utf-8")]);
    assert_eq!(code, 1, "{}", json["summary"]);
    let f = &json["findings"][0];
    assert_eq!(f["line"], 1);
    assert_eq!(f["column"], 20 * 1024 * 1024 + 2);
    assert_eq!(json["summary"]["bytes_scanned"], data.len());
    // With the default limit the file is skipped and said so.
    let (code, json, _) = scan_json(&[t.path().to_str().expect("utf-8")]);
    assert_eq!(code, 0);
    assert_eq!(json["summary"]["skipped_by_reason"]["too-large"], 1);
}

#[test]
fn every_file_of_a_messy_tree_is_scanned_or_skipped() {
    let mut g = Gen::new(502);
    let t = Tree::new();
    let mut files = 0;
    for i in 0..30 {
        t.write(&format!("src/m{i}.py"), format!("x = {i}\n"));
        files += 1;
    }
    t.write("bin/blob.dat", b"\x00\x01\x02".as_slice());
    t.write("big.log", "y".repeat(2 * 1024 * 1024));
    t.write(".env", format!("TOKEN={}\n", g.github_pat()));
    t.write("crlf.txt", format!("a\r\nb\r\n{}\r\n", g.github_pat()));
    t.write("latin1.txt", b"caf\xe9 \xff\xfe not utf-8\n".as_slice());
    files += 5;
    std::os::unix::fs::symlink("src/m1.py", t.path().join("link.py")).expect("symlink");
    files += 1;
    let (_, json, _) = scan_json(&["--max-file-size", "1M", t.path().to_str().expect("utf-8")]);
    let s = &json["summary"];
    let total = s["files_scanned"].as_u64().unwrap_or(0) + s["files_skipped"].as_u64().unwrap_or(0);
    assert_eq!(total, files, "{s}");
    assert_eq!(s["skipped_by_reason"]["binary"], 1);
    assert_eq!(s["skipped_by_reason"]["too-large"], 1);
    assert_eq!(s["skipped_by_reason"]["symlink"], 1);
    let crlf = json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["path"] == "crlf.txt")
        .cloned()
        .expect("crlf finding");
    assert_eq!(crlf["line"], 3);
    assert_eq!(crlf["column"], 1);
    // --verbose lists what was skipped.
    let out = ndaguard().args(["scan", "--verbose", "--max-file-size", "1M"]).arg(t.path()).output().expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Skipped:") && text.contains("big.log: too-large"), "{text}");
}

#[test]
fn ctrl_c_stops_the_scan_and_reports_what_was_found_so_far() {
    let mut g = Gen::new(503);
    let t = Tree::new();
    t.write("a/first.txt", format!("{}\n", g.github_pat()));
    let filler = "let value = compute(alpha, beta) + 42; // ordinary code\n".repeat(2000);
    for i in 0..800 {
        t.write(&format!("b/f{i:04}.rs"), &filler);
    }
    #[allow(deprecated)]
    let bin = assert_cmd::cargo::cargo_bin("ndaguard");
    let child = std::process::Command::new(bin)
        .args(["scan", "-f", "json", "--threads", "1"])
        .arg(t.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    std::thread::sleep(std::time::Duration::from_millis(400));
    let started = std::time::Instant::now();
    let kill = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill");
    assert!(kill.success());
    let out = child.wait_with_output().expect("finishes");
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "stopping took {:?}", started.elapsed());
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a complete JSON report");
    assert_eq!(json["summary"]["interrupted"], true);
    let scanned = json["summary"]["files_scanned"].as_u64().unwrap_or(0);
    assert!(scanned < 801, "the scan stopped early ({scanned} files)");
}

#[test]
fn ctrl_c_stops_a_scan_of_standard_input_left_open() {
    // The writer keeps the pipe open and sends nothing more: Ctrl-C must still end the scan,
    // with a report of what was read.
    let mut g = Gen::new(504);
    let pat = g.github_pat();
    #[allow(deprecated)]
    let bin = assert_cmd::cargo::cargo_bin("ndaguard");
    let mut child = std::process::Command::new(bin)
        .args(["scan", "-", "-f", "json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    let mut input = child.stdin.take().expect("stdin");
    std::io::Write::write_all(&mut input, format!("token = {pat}\n").as_bytes()).expect("writes");
    // Long enough for the rules to load (a debug build on a loaded machine) and the token to be read.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let kill = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill");
    assert!(kill.success());
    let started = std::time::Instant::now();
    let out = child.wait_with_output().expect("finishes");
    drop(input);
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "stopping took {:?}", started.elapsed());
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a complete JSON report");
    assert_eq!(json["summary"]["interrupted"], true);
    assert_eq!(json["findings"][0]["rule_id"], "github-pat-classic", "{json}");
}

#[test]
fn a_closed_stdout_ends_quietly() {
    use std::io::{BufRead, BufReader};
    let mut g = Gen::new(504);
    let t = Tree::new();
    for i in 0..300 {
        t.write(&format!("f{i:03}.txt"), format!("{}\n", g.github_pat()));
    }
    #[allow(deprecated)]
    let bin = assert_cmd::cargo::cargo_bin("ndaguard");
    let mut child = std::process::Command::new(bin)
        .args(["scan", "-f", "jsonl"])
        .arg(t.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut first).expect("one line");
    // The reader is dropped here: the pipe is closed, like `| head -1`.
    let out = child.wait_with_output().expect("finishes");
    assert!(first.contains("github-pat-classic"), "{first}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{stderr}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
}

#[test]
fn paths_with_newlines_and_invalid_utf8_keep_every_format_valid() {
    use std::os::unix::ffi::OsStrExt;
    let mut g = Gen::new(505);
    let t = Tree::new();
    let weird = std::ffi::OsStr::from_bytes(b"line\nbreak \xff\"quote\".txt");
    std::fs::write(t.path().join(weird), format!("{}\n", g.github_pat())).expect("write");
    let (code, json, _) = scan_json(&[t.path().to_str().expect("utf-8")]);
    assert_eq!(code, 1);
    assert_eq!(json["findings"][0]["path"], "line\\nbreak \\xff\"quote\".txt");
    let out =
        ndaguard().args(["scan", "-f", "sarif", "--now", "2026-11-22T10:00:00Z"]).arg(t.path()).output().expect("runs");
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).expect("SARIF is valid JSON");
    crate::integrations::validate_sarif(&sarif);
    let uri = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        .as_str()
        .unwrap_or("");
    assert!(!uri.contains('\n') && !uri.contains(' ') && !uri.contains('"'), "{uri}");
    let out = ndaguard().args(["scan", "--color", "never"]).arg(t.path()).output().expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let header = text.lines().next().unwrap_or("");
    assert!(header.starts_with("line\\nbreak \\xff\"quote\".txt:1:1  github-pat-classic"), "{text}");
}

#[test]
fn a_large_standard_input_is_scanned_in_chunks() {
    let mut g = Gen::new(506);
    let tok = g.github_pat();
    let mut data = "y".repeat(12 * 1024 * 1024);
    data.push(' ');
    data.push_str(&tok);
    data.push('\n');
    // Standard input honours --max-file-size (10 MiB by default) like a file.
    let out = ndaguard()
        .args(["scan", "-", "-f", "json", "--max-file-size", "16M"])
        .write_stdin(data.clone())
        .output()
        .expect("runs");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["findings"].as_array().map(Vec::len), Some(1), "{}", json["summary"]);
    assert_eq!(json["findings"][0]["column"], 12 * 1024 * 1024 + 2);
    assert_eq!(json["summary"]["bytes_scanned"], data.len());
}
