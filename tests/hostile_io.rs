//! Regression tests of issue 14 (hostile input), the file-system items: named pipes where files
//! are expected (10), interrupted output (13), large UTF-16 (6) and ignore files that drop
//! everything (8). Each test is named after its item and failed on main before the fix.

use std::process::Command;
use std::time::Duration;

use crate::common::{ndaguard, scan_json, Gen, Tree};

fn s(t: &Tree) -> &str {
    t.path().to_str().expect("utf-8 temp path")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn mkfifo(path: &std::path::Path) {
    let ok = Command::new("mkfifo").arg(path).status().expect("mkfifo runs").success();
    assert!(ok, "mkfifo {}", path.display());
}

// 10: named pipes never block the scan.

#[test]
fn i10_named_pipes_as_ignore_files_do_not_block_and_their_folders_are_scanned() {
    let mut g = Gen::new(1410);
    let t = Tree::new();
    t.write("top.txt", format!("k = {}\n", g.github_pat()));
    t.write("sub/inner.txt", format!("k = {}\n", g.github_pat()));
    t.write("sub/deep/more.txt", format!("k = {}\n", g.github_pat()));
    t.write("other/.ignore", "*.txt\n");
    t.write("other/ignored.txt", format!("k = {}\n", g.github_pat()));
    mkfifo(&t.path().join("sub/.gitignore"));
    mkfifo(&t.path().join("sub/deep/.ignore"));
    mkfifo(&t.path().join(".ndaguardignore"));
    // A symbolic link to a device as an ignore file: reading it would never end.
    std::os::unix::fs::symlink("/dev/zero", t.path().join("other/.gitignore")).expect("symlink");
    let out =
        ndaguard().args(["scan", "--format", "json", s(&t)]).timeout(Duration::from_secs(60)).output().expect("runs");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let mut paths: Vec<String> = json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["path"].as_str().unwrap_or("").into())
        .collect();
    paths.sort();
    // Everything is scanned: a folder whose ignore file could not be read is scanned whole.
    assert_eq!(paths, ["other/ignored.txt", "sub/deep/more.txt", "sub/inner.txt", "top.txt"]);
    let skipped = json["skipped"].as_array().expect("skipped");
    for pipe in [".ndaguardignore", "sub/.gitignore", "sub/deep/.ignore", "other/.gitignore"] {
        let hits: Vec<_> = skipped.iter().filter(|s| s["path"] == pipe).collect();
        assert_eq!(hits.len(), 1, "{pipe} listed once: {skipped:?}");
        let reason = if pipe == "other/.gitignore" { "symlink" } else { "special" };
        assert_eq!(hits[0]["reason"], reason);
        assert!(hits[0]["detail"].as_str().unwrap_or("").contains("ignore file"), "{:?}", hits[0]);
    }
}

#[test]
fn i10_a_named_pipe_named_on_the_command_line_or_next_to_a_named_file_is_skipped() {
    let mut g = Gen::new(1411);
    let t = Tree::new();
    t.write("a.txt", format!("k = {}\n", g.github_pat()));
    mkfifo(&t.path().join(".ndaguardignore"));
    mkfifo(&t.path().join("pipe.txt"));
    let a = t.path().join("a.txt");
    let pipe = t.path().join("pipe.txt");
    let out = ndaguard()
        .current_dir(t.path())
        .args(["scan", "--format", "json"])
        .arg(&a)
        .arg(&pipe)
        .timeout(Duration::from_secs(60))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["findings"].as_array().map(Vec::len), Some(1));
    assert!(json["skipped"].as_array().expect("skipped").iter().any(|s| s["reason"] == "special"), "{json}");
}

#[test]
fn i10_a_named_pipe_ignore_file_in_a_subfolder_leaves_other_ignore_files_honoured() {
    let mut g = Gen::new(1412);
    let t = Tree::new();
    t.write("sub/inner.txt", format!("k = {}\n", g.github_pat()));
    t.write("other/.ignore", "*.txt\n");
    t.write("other/ignored.txt", format!("k = {}\n", g.github_pat()));
    mkfifo(&t.path().join("sub/.gitignore"));
    let (code, json, err) = {
        let out = ndaguard()
            .args(["scan", "--format", "json", s(&t)])
            .timeout(Duration::from_secs(60))
            .output()
            .expect("runs");
        (out.status.code(), serde_json::from_slice::<serde_json::Value>(&out.stdout), text(&out.stderr))
    };
    assert_eq!(code, Some(1), "{err}");
    let json = json.expect("JSON");
    let paths: Vec<&str> =
        json["findings"].as_array().expect("findings").iter().filter_map(|f| f["path"].as_str()).collect();
    assert_eq!(paths, ["sub/inner.txt"]);
    let skipped = json["skipped"].as_array().expect("skipped");
    assert!(skipped.iter().any(|s| s["path"] == "sub/.gitignore" && s["reason"] == "special"), "{skipped:?}");
    // The same scan with --no-ignore sees the pipe as any other pipe.
    let (code, json, _) = scan_json(&["--no-ignore", s(&t)]);
    assert_eq!(code, 1);
    assert_eq!(json["findings"].as_array().map(Vec::len), Some(2));
}

// 13: an interrupted run never replaces a complete file.

/// A tree with a finding and a sparse 64 GiB text file that takes far longer to scan than the
/// test waits (a few KiB on disk), with no size limit configured.
fn slow_tree(g: &mut Gen) -> Tree {
    let t = Tree::new();
    t.write(".ndaguard.toml", "max_file_size = 18446744073709551615\n");
    t.write("a.txt", format!("k = {}\n", g.github_pat()));
    let big = t.write("big.log", "ordinary log line\n".repeat(1024));
    std::fs::OpenOptions::new().write(true).open(&big).expect("open").set_len(64 << 30).expect("sparse");
    t
}

/// Starts `ndaguard ARGS…` in `dir`, sends SIGINT after `wait`, and returns its output (killed
/// after 60 s so that a run that ignores SIGINT fails the test instead of hanging it).
fn interrupt(dir: &std::path::Path, args: &[&str], env: &[(&str, &std::path::Path)]) -> std::process::Output {
    #[allow(deprecated)]
    let bin = assert_cmd::cargo::cargo_bin("ndaguard");
    let mut cmd = Command::new(bin);
    cmd.current_dir(dir).args(args).env("NDAGUARD_TEST", "1").env_remove("GITHUB_ACTIONS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().expect("runs");
    let pid = child.id().to_string();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(Command::new("kill").args(["-INT", &pid]).status().expect("kill").success());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(out) => out.expect("finishes"),
        Err(_) => {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
            panic!("ndaguard {args:?} did not stop within 60 s of SIGINT");
        }
    }
}

#[test]
fn i13_an_interrupted_baseline_keeps_the_old_one_and_exits_130() {
    let mut g = Gen::new(1413);
    let t = slow_tree(&mut g);
    let old = "{\"version\": 1, \"findings\": [\"complete\"]}\n";
    let base = t.write("base.json", old);
    let out = interrupt(t.path(), &["baseline", "-o", base.to_str().expect("utf-8"), "."], &[]);
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&base).expect("read"), old, "the old baseline was replaced");
    assert!(text(&out.stderr).contains("no baseline written"), "{}", text(&out.stderr));
    // A report is not replaced either; where there was none, the partial report is written.
    let report = t.write("report.json", "complete\n");
    let out = interrupt(t.path(), &["scan", "-f", "json", "-o", "report.json", "."], &[]);
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&report).expect("read"), "complete\n");
    let out = interrupt(t.path(), &["scan", "-f", "json", "-o", "new.json", "."], &[]);
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    let partial: serde_json::Value =
        serde_json::from_slice(&std::fs::read(t.path().join("new.json")).expect("written")).expect("JSON");
    assert_eq!(partial["summary"]["interrupted"], true);
}

#[test]
fn i13_an_interrupted_ci_run_exits_130_and_keeps_the_sarif_file() {
    let mut g = Gen::new(1414);
    let t = slow_tree(&mut g);
    let sarif = t.write("ndaguard.sarif", "complete\n");
    let args = ["ci", "github", "--fail-on", "never", "--sarif-file", "ndaguard.sarif"];
    let event = std::path::Path::new("workflow_dispatch");
    let out = interrupt(t.path(), &args, &[("GITHUB_WORKSPACE", t.path()), ("GITHUB_EVENT_NAME", event)]);
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&sarif).expect("read"), "complete\n");
}

// 6: large UTF-16 without a byte-order mark.

#[test]
fn i06_a_large_utf16_file_without_a_bom_is_scanned() {
    let mut g = Gen::new(1406);
    let t = Tree::new();
    let token = g.github_pat();
    // About 9 MiB of UTF-16LE (over the 8.25 MiB streaming threshold, under the 10 MiB default
    // limit), the token near the end, a non-ASCII character on the way.
    let filler = "plain log line with nothing secret in it, café\r\n";
    let lines = 9 * 1024 * 1024 / 2 / filler.len();
    let mut text = filler.repeat(lines);
    text.push_str(&format!("token = {token}\r\n"));
    for (name, little) in [("le.txt", true), ("be.txt", false)] {
        let bytes: Vec<u8> =
            text.encode_utf16().flat_map(|u| if little { u.to_le_bytes() } else { u.to_be_bytes() }).collect();
        assert!(bytes.len() > 33 * 256 * 1024 && bytes.len() < 10 << 20, "{}", bytes.len());
        t.write(name, bytes);
    }
    let (code, json, err) = scan_json(&[s(&t)]);
    assert_eq!(code, 1, "{err}");
    let findings = json["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 2, "{json}");
    for f in findings {
        assert_eq!(f["line"], lines + 1, "{f}");
        assert_eq!(f["column"], 9, "{f}");
    }
    assert_eq!(json["summary"]["files_skipped"], 0, "{json}");
    // The same text piped in.
    let bytes = std::fs::read(t.path().join("le.txt")).expect("read");
    let out = ndaguard().args(["scan", "--format", "json", "-"]).write_stdin(bytes).output().expect("runs");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["findings"][0]["line"], lines + 1, "{json}");
}

// 8: ignore files that drop everything.

fn notes(json: &serde_json::Value) -> String {
    json["summary"]["notes"].as_array().map(|a| format!("{a:?}")).unwrap_or_default()
}

#[test]
fn i08_an_ignore_file_that_drops_everything_or_most_is_reported() {
    let mut g = Gen::new(1408);
    let t = Tree::new();
    t.write("a.txt", format!("k = {}\n", g.github_pat()));
    t.write("src/b.txt", "nothing here\n");
    t.write(".ndaguardignore", "*\n");
    let (code, json, err) = scan_json(&[s(&t)]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json["summary"]["files_scanned"], 0);
    let n = notes(&json);
    assert!(n.contains("excluded every file") && n.contains("2 files and 1 folder"), "{n}");
    // The text report says it in its summary.
    let out = ndaguard().args(["scan", s(&t)]).output().expect("runs");
    assert!(text(&out.stdout).contains("excluded every file"), "{}", text(&out.stdout));
    // Most files: a warning with the counts.
    std::fs::write(t.path().join(".ndaguardignore"), "*.log\n").expect("write");
    for i in 0..12 {
        t.write(&format!("logs/{i}.log"), "ordinary line\n");
        t.write(&format!("{i}.log"), "ordinary line\n");
    }
    let (_, json, _) = scan_json(&[s(&t)]);
    let n = notes(&json);
    assert!(n.contains("excluded most files") && n.contains("24 files and 0 folders"), "{n}");
    // An ordinary ignore file (a build folder) gets no warning.
    std::fs::write(t.path().join(".ndaguardignore"), "logs/\n").expect("write");
    for i in 0..12 {
        std::fs::remove_file(t.path().join(format!("{i}.log"))).expect("rm");
    }
    let (_, json, _) = scan_json(&[s(&t)]);
    assert_eq!(json["summary"]["notes"].as_array().map(Vec::len).unwrap_or(0), 0, "{json}");
}

#[test]
fn i08_ci_does_not_honour_an_ignore_file_that_drops_everything() {
    let mut g = Gen::new(1409);
    let t = Tree::new();
    t.write("a.txt", format!("k = {}\n", g.github_pat()));
    t.write(".ndaguardignore", "*\n");
    let out = ndaguard()
        .current_dir(t.path())
        .args(["ci", "github", "--fail-on", "finding", "--sarif-file", "out.sarif"])
        .env("GITHUB_EVENT_NAME", "workflow_dispatch")
        .env("GITHUB_WORKSPACE", t.path())
        .timeout(Duration::from_secs(60))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1), "{}{}", text(&out.stdout), text(&out.stderr));
    let log = text(&out.stdout);
    assert!(log.contains("excluded every file") && log.contains("not honoured"), "{log}");
    assert!(log.contains("a.txt"), "{log}");
}
