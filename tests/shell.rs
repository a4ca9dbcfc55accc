//! Shell completions and the manual page, made from the same argument definitions the binary
//! parses.

use std::process::Command;

use crate::common::{ndaguard, Tree};

fn stdout_of(args: &[&str]) -> String {
    let out = ndaguard().args(args).output().expect("runs");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// Completes `words` (the last one being typed) with the bash script, as bash would on Tab.
fn bash_complete(script: &str, words: &[&str]) -> Vec<String> {
    let t = Tree::new();
    let path = t.write("ndaguard.bash", script);
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "source '{}'\nCOMP_WORDS=({})\nCOMP_CWORD={}\nCOMP_LINE='{}'\nCOMP_POINT=${{#COMP_LINE}}\n_ndaguard ndaguard '{}' '{}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        path.display(),
        quoted.join(" "),
        words.len() - 1,
        words.join(" "),
        words[words.len() - 1],
        words[words.len().saturating_sub(2)],
    );
    let out = Command::new("bash").arg("-c").arg(program).output().expect("bash runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
}

#[test]
fn bash_completes_subcommands_and_flags() {
    let script = stdout_of(&["completions", "bash"]);
    let subs = bash_complete(&script, &["ndaguard", ""]);
    for want in ["scan", "baseline", "ci", "install-hook", "completions", "man"] {
        assert!(subs.iter().any(|s| s == want), "{want} not offered: {subs:?}");
    }
    let flags = bash_complete(&script, &["ndaguard", "scan", "--hi"]);
    assert_eq!(flags, ["--history"]);
    let formats = bash_complete(&script, &["ndaguard", "scan", "--format", ""]);
    for want in ["text", "json", "jsonl", "sarif"] {
        assert!(formats.iter().any(|s| s == want), "{want} not offered: {formats:?}");
    }
    let ci = bash_complete(&script, &["ndaguard", "ci", "--bas"]);
    assert_eq!(ci, ["--baseline"]);
}

#[test]
fn completions_for_every_shell_and_a_bad_shell() {
    for (shell, marker) in [
        ("zsh", "#compdef ndaguard"),
        ("fish", "complete -c ndaguard"),
        ("elvish", "ndaguard"),
        ("powershell", "ndaguard"),
    ] {
        let script = stdout_of(&["completions", shell]);
        assert!(script.contains(marker), "{shell}: {}", &script[..script.len().min(200)]);
        assert!(script.contains("history"), "{shell} completes --history");
    }
    let out = ndaguard().args(["completions", "tcsh"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("possible values"));
}

#[test]
fn man_page_lists_subcommands_and_exit_status() {
    let page = stdout_of(&["man"]);
    assert!(page.contains(".TH ndaguard 1"), "{page}");
    for sub in ["ndaguard\\-scan(1)", "ndaguard\\-ci(1)", "ndaguard\\-install\\-hook(1)", "ndaguard\\-man(1)"] {
        assert!(page.contains(sub), "{sub} missing");
    }
    assert!(page.contains(".SH \"EXIT STATUS\"") && page.contains("\n130\n"), "{page}");
    assert!(!page.contains("ndaguard\\-help(1)"), "no page for the help subcommand is listed");

    let t = Tree::new();
    let dir = t.path().join("man1");
    let out = ndaguard().args(["man", "--dir"]).arg(&dir).output().expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let scan = std::fs::read_to_string(dir.join("ndaguard-scan.1")).expect("ndaguard-scan.1");
    assert!(scan.contains(".TH ndaguard-scan 1") && scan.contains("\\-\\-history"), "{scan}");
    assert!(scan.contains("\\-\\-max\\-file\\-size"), "every scan flag is documented");
    for page in ["ndaguard.1", "ndaguard-registry-add.1", "ndaguard-ci.1", "ndaguard-completions.1"] {
        assert!(dir.join(page).is_file(), "{page} written");
    }
    // Rendered by man(1) where it is installed (it is on this project's CI machine).
    if let Ok(out) = Command::new("man").arg("-l").arg(dir.join("ndaguard-scan.1")).env("MANWIDTH", "100").output() {
        if out.status.success() {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains("EXIT STATUS") && text.contains("--staged"), "{text}");
        }
    }
}
