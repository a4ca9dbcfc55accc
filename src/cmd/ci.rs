//! `ndaguard ci github`: the GitHub Actions mode.
//!
//! Reads `GITHUB_EVENT_NAME` and the event payload at `GITHUB_EVENT_PATH` and picks what to scan:
//!
//! - `pull_request` / `pull_request_target`: the range `base.sha..head.sha`;
//! - `push`: `before..after`; when that cannot say what the push brings (a new branch, `before`
//!   all zeros, a force push whose `before` is not in the clone, or a range that holds no
//!   commit), the commits of `after` that are on no other branch, and when there are none or
//!   no other branch shares their history, the tree: never nothing (see [`push_target`]);
//! - anything else (`workflow_dispatch`, `schedule`, …): the tree;
//! - with `--history`, whatever the event: the whole history (for scheduled runs).
//!
//! `--config`, `--registry`, `--baseline`, `--rules`, `-j` and `--notify` mean what they mean
//! for `scan`.
//!
//! It writes SARIF to `--sarif-file`, appends a Markdown job summary to `GITHUB_STEP_SUMMARY`
//! (breaches first, with their deadlines, then a table of redacted findings), sets the step
//! outputs `findings`, `breaches` and `sarif-file` in `GITHUB_OUTPUT`, and prints one
//! `::error` (or `::warning`) workflow command per finding so that GitHub annotates the lines.
//! The exit code follows `--fail-on`; 2 when something could not be read.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::cancel::Cancel;
use crate::cli::{CiArgs, FailOn};
use crate::error::Error;
use crate::pipeline;
use crate::report::{self, Format, ReportOptions, ScanReport};
use crate::rules::Severity;
use crate::settings::{self, ScanRequest};

const ZERO_SHA: &str = "0000000000000000000000000000000000000000";

/// What the event asks to scan.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// A commit range (`A..B`).
    Range(String),
    /// The working tree.
    Tree,
    /// Every commit reachable from any ref (`--history`).
    History,
}

fn sha(v: &serde_json::Value) -> Option<String> {
    v.as_str().filter(|s| s.len() >= 7 && s.bytes().all(|b| b.is_ascii_hexdigit())).map(str::to_string)
}

fn resolves(repo: &Path, spec: &str) -> bool {
    git2::Repository::discover(repo)
        .ok()
        .is_some_and(|r| r.revparse_single(spec).and_then(|o| o.peel_to_commit()).is_ok())
}

/// Decides what to scan for `event` with `payload`, in the repository at `repo`. Also returns a
/// note explaining a fallback.
fn target(event: &str, payload: &serde_json::Value, repo: &Path) -> (Target, Option<String>) {
    match event {
        "pull_request" | "pull_request_target" => {
            let pr = &payload["pull_request"];
            match (sha(&pr["base"]["sha"]), sha(&pr["head"]["sha"])) {
                (Some(base), Some(head)) if resolves(repo, &base) && resolves(repo, &head) => {
                    (Target::Range(format!("{base}..{head}")), None)
                }
                (Some(_), Some(_)) => (
                    Target::Tree,
                    Some("the pull request's base or head commit is not in the clone (use fetch-depth: 0): scanned the tree".into()),
                ),
                _ => (Target::Tree, Some("the event has no pull request commits: scanned the tree".into())),
            }
        }
        "push" => push_target(payload, repo),
        _ => (Target::Tree, None),
    }
}

/// What a push brings: `before..after` when it holds commits; otherwise (see [`push_bringing`])
/// the commits on no other branch, or the tree, with a note saying which and why.
fn push_target(payload: &serde_json::Value, repo: &Path) -> (Target, Option<String>) {
    let after = sha(&payload["after"]).filter(|a| a != ZERO_SHA);
    let Some(after) = after else {
        return (Target::Tree, Some("the push deleted the branch or has no commit: scanned the tree".into()));
    };
    if !resolves(repo, &after) {
        return (Target::Tree, Some("the pushed commit is not in the clone: scanned the tree".into()));
    }
    let why = match sha(&payload["before"]).filter(|b| b != ZERO_SHA) {
        None => "a new branch (no previous commit)".to_string(),
        Some(before) if !resolves(repo, &before) => {
            format!("a force push or a first push: the previous commit {before} is not in the clone")
        }
        Some(before) => match commits_between(repo, &before, &after) {
            Some(n) if n > 0 => return (Target::Range(format!("{before}..{after}")), None),
            _ => format!("{before}..{after} holds no commit (a force push that rewound the branch)"),
        },
    };
    let pushed = payload["ref"].as_str().and_then(|r| r.strip_prefix("refs/heads/"));
    match push_bringing(repo, &after, pushed) {
        Bringing::Commits { range, count } => (
            Target::Range(range),
            Some(format!("{why}: scanned the {count} commit(s) of the push that are on no other branch")),
        ),
        Bringing::AllOnOtherBranches => {
            (Target::Tree, Some(format!("{why}, and every pushed commit is on another branch: scanned the tree")))
        }
        Bringing::Unknown(what) => (Target::Tree, Some(format!("{why}, and {what}: scanned the tree"))),
    }
}

/// How many commits `before..after` holds (`None` when it cannot be walked).
fn commits_between(repo: &Path, before: &str, after: &str) -> Option<usize> {
    let repo = git2::Repository::discover(repo).ok()?;
    let id = |s: &str| repo.revparse_single(s).and_then(|o| o.peel_to_commit()).map(|c| c.id()).ok();
    let mut walk = repo.revwalk().ok()?;
    walk.push(id(after)?).ok()?;
    walk.hide(id(before)?).ok()?;
    Some(walk.take(1).count())
}

/// What [`push_bringing`] found.
#[derive(Debug, PartialEq, Eq)]
enum Bringing {
    /// The commits of the push on no other branch, as a range (`B..after`, or `after ^B1 ^B2`
    /// for several boundary commits).
    Commits { range: String, count: usize },
    /// Every commit of `after` is on another branch.
    AllOnOtherBranches,
    /// Why the commits the push brings cannot be told apart from the rest.
    Unknown(String),
}

/// The commits of `after` that no other branch holds (local branches and remote-tracking ones,
/// but not `pushed` itself under any remote; without its name, no branch at `after`): when some other branch
/// shares their history, the range from the commits where they leave it.
fn push_bringing(repo: &Path, after: &str, pushed: Option<&str>) -> Bringing {
    let unknown = |e: git2::Error| Bringing::Unknown(format!("the clone cannot be walked ({})", e.message()));
    let repo = match git2::Repository::discover(repo) {
        Ok(r) => r,
        Err(e) => return unknown(e),
    };
    let tip = match repo.revparse_single(after).and_then(|o| o.peel_to_commit()) {
        Ok(c) => c.id(),
        Err(e) => return unknown(e),
    };
    let mut walk = match repo.revwalk().and_then(|mut w| w.push(tip).map(|()| w)) {
        Ok(w) => w,
        Err(e) => return unknown(e),
    };
    let refs = match repo.references() {
        Ok(r) => r,
        Err(e) => return unknown(e),
    };
    for r in refs.flatten() {
        if r.kind() != Some(git2::ReferenceType::Direct) {
            continue;
        }
        let name = r.name().unwrap_or_default();
        let branch = name
            .strip_prefix("refs/heads/")
            .or_else(|| name.strip_prefix("refs/remotes/").and_then(|n| n.split_once('/')).map(|(_, b)| b));
        match (branch, r.peel_to_commit()) {
            (Some(b), Ok(c)) if pushed.map_or(c.id() != tip, |p| p != b) => {
                let _ = walk.hide(c.id());
            }
            _ => {}
        }
    }
    let brought: std::collections::HashSet<git2::Oid> = walk.filter_map(|r| r.ok()).collect();
    if brought.is_empty() {
        return Bringing::AllOnOtherBranches;
    }
    let mut boundary: Vec<git2::Oid> = Vec::new();
    for oid in &brought {
        let Ok(c) = repo.find_commit(*oid) else { continue };
        for p in c.parent_ids() {
            if !brought.contains(&p) && !boundary.contains(&p) && repo.find_commit(p).is_ok() {
                boundary.push(p);
            }
        }
    }
    boundary.sort();
    let range = match boundary.as_slice() {
        [] => {
            return Bringing::Unknown(
                "no other branch shares the pushed commits' history (or the clone is shallow: use fetch-depth: 0)"
                    .into(),
            )
        }
        [b] => format!("{b}..{tip}"),
        many => {
            std::iter::once(tip.to_string()).chain(many.iter().map(|b| format!("^{b}"))).collect::<Vec<_>>().join(" ")
        }
    };
    Bringing::Commits { range, count: brought.len() }
}

/// Escapes a workflow-command message (`%`, CR, LF).
fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escapes a workflow-command property (also `:` and `,`).
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// The text report for the Actions log: every line starts with `| `, so that no line starts
/// with input (a file named `::stop-commands::x` would otherwise be a workflow command that
/// silences every later annotation).
fn log_safe(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + text.len() / 16);
    for line in text.split_inclusive(|&b| b == b'\n') {
        out.extend_from_slice(b"| ");
        out.extend_from_slice(line);
    }
    out
}

/// Escapes text for a Markdown table cell.
fn md(s: &str) -> String {
    crate::finding::escape_text(s).replace('|', "\\|").replace('`', "'").replace('<', "&lt;").replace('>', "&gt;")
}

/// The Markdown job summary.
fn job_summary(report: &ScanReport, what: &str, note: Option<&str>) -> String {
    let s = &report.summary;
    let mut out = String::from("## ndaguard\n\n");
    out.push_str(&format!(
        "Scanned {what}: **{}** finding(s), **{}** NDA breach(es), {} file(s) scanned, {} skipped.\n\n",
        s.findings, s.breaches, s.files_scanned, s.files_skipped
    ));
    if let Some(n) = note {
        out.push_str(&format!("> {}\n\n", md(n)));
    }
    let mut breaches: Vec<_> = report.findings.iter().filter(|f| f.breach.is_some()).collect();
    breaches.sort_by_key(|f| f.breach.as_ref().map(|b| b.most_urgent()).unwrap_or(i64::MAX));
    if !breaches.is_empty() {
        out.push_str("### NDA breaches\n\n");
        for f in breaches {
            let Some(b) = &f.breach else { continue };
            out.push_str(&format!(
                "- **{}** under **{}** with **{}** at `{}:{}`\n",
                md(&b.registry_id),
                md(&b.nda),
                md(&b.counterparty),
                md(&f.path),
                f.line
            ));
            match (&b.revoke_by, b.revoke_hours_left) {
                (Some(by), Some(h)) => out.push_str(&format!("  - **Revoke by {by}** ({h} h left)\n")),
                _ => out.push_str("  - already revoked\n"),
            }
            out.push_str(&format!(
                "  - **Report by {}** ({} h left) to {}\n",
                b.report_by,
                b.report_hours_left,
                md(&b.contacts.join(", "))
            ));
        }
        out.push('\n');
    }
    let others: Vec<_> = report.findings.iter().filter(|f| f.breach.is_none()).collect();
    if !others.is_empty() {
        out.push_str("### Findings\n\n| Severity | Rule | Location | Secret | Commit |\n|---|---|---|---|---|\n");
        for f in others.iter().take(200) {
            out.push_str(&format!(
                "| {} | {} | `{}:{}` | `{}` | {} |\n",
                f.severity,
                md(&f.rule_id),
                md(&f.path),
                f.line,
                md(&f.secret),
                f.commit.as_deref().map(|c| c.get(..12).unwrap_or(c)).unwrap_or("")
            ));
        }
        if others.len() > 200 {
            out.push_str(&format!("\n…and {} more (see the SARIF report).\n", others.len() - 200));
        }
    }
    if s.errors > 0 {
        out.push_str(&format!("\n**{} file(s) could not be read**: the scan is incomplete.\n", s.errors));
    }
    out
}

fn append(path: Option<std::ffi::OsString>, text: &str) -> Result<()> {
    let Some(path) = path.filter(|p| !p.is_empty()) else { return Ok(()) };
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", PathBuf::from(&path).display()))?;
    f.write_all(text.as_bytes()).with_context(|| format!("cannot write {}", PathBuf::from(&path).display()))?;
    Ok(())
}

/// Prints one `::error` (or `::warning`) workflow command per finding, so that GitHub
/// annotates the lines.
fn annotate(stdout: &mut impl Write, report: &ScanReport) {
    for f in &report.findings {
        let kind = match (&f.breach, f.severity) {
            (Some(_), _) | (None, Severity::Critical | Severity::High) => "error",
            _ => "warning",
        };
        // Registry fields, rule ids and names come from input: escaped before the workflow
        // command's own escaping, so no control character reaches the log.
        let esc = crate::finding::escape_text;
        let title = match &f.breach {
            Some(b) => format!("NDA breach: {} ({})", esc(&b.nda), esc(&f.rule_id)),
            None => format!("Secret: {}", esc(&f.rule_id)),
        };
        let msg = match &f.breach {
            Some(b) => format!(
                "{} ({}) under {} with {}: report by {}{}",
                esc(&f.rule_name),
                esc(&f.secret),
                esc(&b.nda),
                esc(&b.counterparty),
                b.report_by,
                b.revoke_by.as_ref().map(|r| format!(", revoke by {r}")).unwrap_or_default()
            ),
            None => format!("{} ({})", esc(&f.rule_name), esc(&f.secret)),
        };
        writeln!(
            stdout,
            "::{kind} file={},line={},endLine={},col={},endColumn={},title={}::{}",
            escape_property(&f.path),
            f.line,
            f.end_line,
            f.column,
            f.end_column,
            escape_property(&title),
            escape_data(&msg)
        )
        .ok();
    }
}

/// Runs the CI mode.
pub(super) fn run(args: &CiArgs) -> Result<u8> {
    let root = args
        .path
        .clone()
        .or_else(|| std::env::var_os("GITHUB_WORKSPACE").filter(|w| !w.is_empty()).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("."));
    let event = std::env::var("GITHUB_EVENT_NAME").unwrap_or_default();
    let payload: serde_json::Value = match std::env::var_os("GITHUB_EVENT_PATH").filter(|p| !p.is_empty()) {
        Some(p) => {
            let text = crate::input::read_text(Path::new(&p), crate::input::MAX_CONFIG_FILE)?;
            serde_json::from_str(&text).map_err(|e| {
                Error::invalid(PathBuf::from(&p).display().to_string(), Some(e.line()), format!("event payload: {e}"))
            })?
        }
        None => serde_json::Value::Null,
    };
    let (target, note) = if args.history { (Target::History, None) } else { target(&event, &payload, &root) };
    let what = match &target {
        Target::Range(r) => format!("the commits {r}"),
        Target::Tree => "the working tree".to_string(),
        Target::History => "the whole git history".to_string(),
    };
    let req = ScanRequest {
        target: Some(match &target {
            Target::Range(r) => settings::Target::Range(r.clone()),
            Target::Tree => settings::Target::Tree,
            Target::History => settings::Target::History,
        }),
        config: args.config.clone(),
        registry: args.registry.clone(),
        baseline: args.baseline.clone(),
        rules: args.rules.clone(),
        threads: args.threads,
        now: args.now.clone(),
        notify: args.notify.clone(),
        root: root.clone(),
        ci: true,
        ..ScanRequest::default()
    };
    let report = pipeline::run(&req, &Cancel::ctrl_c())?;

    let mut sarif = Vec::new();
    report::write(&report, Format::Sarif, ReportOptions::default(), &mut sarif)?;
    // The workspace is the pull request's tree: never write through a symlink committed there.
    super::write_result(&args.sarif_file, &sarif, Some(&root), report.summary.interrupted)?;

    let mut text = Vec::new();
    report::write(&report, Format::Text, ReportOptions::default(), &mut text)?;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&log_safe(&text)).ok();
    if let Some(n) = &note {
        writeln!(stdout, "note: {}", crate::finding::escape_text(n)).ok();
    }
    annotate(&mut stdout, &report);
    drop(stdout);

    append(std::env::var_os("GITHUB_STEP_SUMMARY"), &job_summary(&report, &what, note.as_deref()))?;
    append(
        std::env::var_os("GITHUB_OUTPUT"),
        &format!(
            "findings={}\nbreaches={}\nsarif-file={}\n",
            report.summary.findings,
            report.summary.breaches,
            args.sarif_file.display()
        ),
    )?;
    let failed = match args.fail_on {
        FailOn::Breach => report.summary.breaches > 0,
        FailOn::Finding => report.summary.findings > 0,
        FailOn::Never => false,
    };
    Ok(if report.summary.interrupted {
        // GitHub cancels a job with SIGINT: a cancelled run is not a pass.
        super::EXIT_INTERRUPTED
    } else if report.summary.errors > 0 && args.fail_on != FailOn::Never {
        super::EXIT_ERROR
    } else if failed {
        super::EXIT_FINDINGS
    } else {
        super::EXIT_CLEAN
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_command_escaping() {
        assert_eq!(escape_data("a%b\nc\r"), "a%25b%0Ac%0D");
        assert_eq!(escape_property("dir,x/a:b.txt"), "dir%2Cx/a%3Ab.txt");
        assert_eq!(md("a|b`c<d>"), "a\\|b'c&lt;d&gt;");
        assert_eq!(log_safe(b"::stop-commands::x:1:1\n  more\n"), b"| ::stop-commands::x:1:1\n|   more\n");
    }

    #[test]
    fn other_events_scan_the_tree() {
        let (t, note) = target("workflow_dispatch", &serde_json::Value::Null, Path::new("."));
        assert_eq!(t, Target::Tree);
        assert!(note.is_none());
    }
}
