//! Command-line arguments (clap) and their validation into settings the app can run.
//!
//! This module parses and checks arguments; it does not scan.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::report::Format;

/// ndaguard: find leaked secrets in working trees and git history, and say which leaks breach an
/// NDA and by when they must be reported and revoked.
#[derive(Debug, Parser)]
#[command(name = "ndaguard", version, about, long_about = None, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan a working tree (default), standard input (`-`), git history, a commit range or the
    /// staged changes.
    Scan(ScanArgs),
    /// List or check the rules.
    Rules(RulesArgs),
    /// Manage the NDA registry of bound tokens (tokens are read from stdin, never argv).
    Registry(RegistryArgs),
    /// Write the current findings' fingerprints as a baseline (takes the scan flags).
    Baseline(ScanArgs),
    /// Write a git pre-commit hook that runs `ndaguard scan --staged` (after the hook already
    /// there, if any); `--uninstall` removes it.
    InstallHook(InstallHookArgs),
    /// Run as a CI step (GitHub Actions): pick what to scan from the event, write SARIF, a job
    /// summary, outputs and annotations.
    Ci(CiArgs),
    /// Work with the incident record: list incidents and their deadlines, record revocations,
    /// reports and closings, write a notice for the counterparty.
    Incident(IncidentArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
    /// Print the manual page (roff), or write one page per subcommand with `--dir`.
    Man(ManArgs),
    /// Join the JSON or SARIF reports of `scan --history --shard I/N` runs into one report.
    Merge(MergeArgs),
}

/// `ndaguard merge`.
#[derive(Debug, Args, Clone)]
pub struct MergeArgs {
    /// Reports to join: all JSON (`-f json`) or all SARIF.
    #[arg(value_name = "REPORT", required = true)]
    pub reports: Vec<PathBuf>,
    /// Write the merged report to FILE (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit code when there are findings (default 1).
    #[arg(long, value_name = "N")]
    pub exit_code: Option<u8>,
}

/// `ndaguard completions`.
#[derive(Debug, Args, Clone)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `ndaguard man`.
#[derive(Debug, Args, Clone)]
pub struct ManArgs {
    /// Write `ndaguard.1` and one `ndaguard-SUBCOMMAND.1` per subcommand into DIR instead of
    /// printing `ndaguard.1`.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// `ndaguard registry`.
#[derive(Debug, Args)]
pub struct RegistryArgs {
    /// add, list, check or remove.
    #[command(subcommand)]
    pub command: RegistryCommand,
    /// Registry file (default: .ndaguard/registry.toml).
    #[arg(long, global = true, value_name = "FILE")]
    pub registry: Option<PathBuf>,
    /// Fix the clock (RFC 3339).
    #[arg(long, global = true, value_name = "RFC3339")]
    pub now: Option<String>,
}

/// `ndaguard registry add|list|check|remove`.
#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Register a token read from standard input.
    Add(Box<RegistryAddArgs>),
    /// List entries (never tokens), with days to expiry and rotation.
    List(RegistryListArgs),
    /// Report entries past `expires` or due for rotation; exit 1 if any.
    Check(RegistryListArgs),
    /// Remove an entry by id.
    Remove {
        /// The entry id.
        id: String,
    },
}

/// Output of `registry list|check`.
#[derive(Debug, Args, Clone)]
pub struct RegistryListArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ListFormat,
}

/// `ndaguard registry add`.
#[derive(Debug, Args, Clone)]
pub struct RegistryAddArgs {
    /// Entry id (unique).
    #[arg(long)]
    pub id: String,
    /// The agreement's reference.
    #[arg(long)]
    pub nda: String,
    /// Who the token was given to (or by).
    #[arg(long)]
    pub counterparty: String,
    /// Who owns the token on our side.
    #[arg(long)]
    pub owner: String,
    /// Incident reporting deadline after detection (e.g. 24h, 3d, 1w).
    #[arg(long, value_name = "DURATION")]
    pub report_within: String,
    /// Revocation deadline after detection (e.g. 4h).
    #[arg(long, value_name = "DURATION")]
    pub revoke_within: String,
    /// Endpoints or permissions the token is scoped to (repeatable).
    #[arg(long)]
    pub scope: Vec<String>,
    /// Who must be told (repeatable).
    #[arg(long)]
    pub contact: Vec<String>,
    /// Issue date (date or RFC 3339; default today).
    #[arg(long)]
    pub issued: Option<String>,
    /// End of the token's allowed lifetime (date or RFC 3339).
    #[arg(long)]
    pub expires: Option<String>,
    /// Rotation period (e.g. 90d).
    #[arg(long, value_name = "DURATION")]
    pub rotate_every: Option<String>,
}

/// `ndaguard install-hook`.
#[derive(Debug, Args, Clone)]
pub struct InstallHookArgs {
    /// The repository (default: the one containing the current directory).
    #[arg(value_name = "PATH")]
    pub path: Option<PathBuf>,
    /// Replace an existing pre-commit hook instead of keeping it and running it first.
    #[arg(long, conflicts_with = "uninstall")]
    pub force: bool,
    /// Remove ndaguard's hook and restore the hook it chained, if any.
    #[arg(long)]
    pub uninstall: bool,
}

/// `ndaguard ci`.
#[derive(Debug, Args, Clone)]
pub struct CiArgs {
    /// The CI system.
    #[arg(value_enum, default_value = "github")]
    pub system: CiSystem,
    /// Repository path (default: GITHUB_WORKSPACE or `.`).
    #[arg(long, value_name = "PATH")]
    pub path: Option<PathBuf>,
    /// Where to write SARIF.
    #[arg(long, value_name = "FILE", default_value = "ndaguard.sarif")]
    pub sarif_file: PathBuf,
    /// What fails the step: breach, finding or never.
    #[arg(long, value_enum, default_value = "finding")]
    pub fail_on: FailOn,
    /// Configuration file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// NDA registry file.
    #[arg(long, value_name = "FILE")]
    pub registry: Option<PathBuf>,
    /// Scan the whole git history instead of what the event adds (scheduled runs).
    #[arg(long)]
    pub history: bool,
    /// Baseline file: findings whose fingerprints it lists are not reported.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Extra rule directories or files (repeatable).
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// Worker threads (default: one per core; at most 4 per core).
    #[arg(long, short = 'j', value_name = "N", value_parser = parse_threads)]
    pub threads: Option<usize>,
    /// Fix the clock (RFC 3339).
    #[arg(long, value_name = "RFC3339")]
    pub now: Option<String>,
    /// Post each breach this scan saw first to a webhook (JSON with a Slack-compatible `text`).
    #[arg(long, value_name = "URL")]
    pub notify: Option<String>,
}

/// Supported CI systems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CiSystem {
    /// GitHub Actions.
    Github,
}

/// What fails a CI step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Only breaches of registered tokens.
    Breach,
    /// Any finding.
    Finding,
    /// Never (report only).
    Never,
}

/// `ndaguard rules`.
#[derive(Debug, Args)]
pub struct RulesArgs {
    /// list or check.
    #[command(subcommand)]
    pub command: RulesCommand,
}

/// `ndaguard rules list|check`.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Print every rule: id, name, severity.
    List(RuleSelection),
    /// Run every rule's positive and negative examples through the whole engine.
    Check(RuleSelection),
}

/// Which rules `rules list|check` look at.
#[derive(Debug, Args, Clone)]
pub struct RuleSelection {
    /// Extra rule directories or files (repeatable).
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// Only the rules given with --rules, not the built-in ones.
    #[arg(long)]
    pub no_builtin: bool,
    /// Output format for `list`.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ListFormat,
}

/// Formats of `rules list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// Aligned columns.
    Text,
    /// A JSON array.
    Json,
}

/// When to colour text output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ColorChoice {
    /// When stdout is a terminal and NO_COLOR is unset.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// `--progress`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProgressFormat {
    /// A progress bar on a terminal.
    Bar,
    /// JSON lines on stderr.
    Json,
}

/// Arguments of `ndaguard scan`.
#[derive(Debug, Args, Clone, Default)]
pub struct ScanArgs {
    /// What to scan: directories or files (default `.`; several, as pre-commit passes them), or
    /// `-` for standard input.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Scan every blob reachable from any ref of the git repository at PATH.
    #[arg(long, conflicts_with_all = ["range", "staged"])]
    pub history: bool,
    /// Scan what the commits in a range add (`A..B`, or one commit).
    #[arg(long, value_name = "A..B", conflicts_with = "staged")]
    pub range: Option<String>,
    /// Scan what the index adds over HEAD (pre-commit).
    #[arg(long)]
    pub staged: bool,
    /// With --history: scan only shard I of N (1-based), by blob id; `merge` joins the reports.
    #[arg(long, value_name = "I/N", requires = "history", value_parser = parse_shard)]
    pub shard: Option<(u64, u64)>,
    /// Output format (default: text).
    #[arg(long, short = 'f', value_enum)]
    pub format: Option<Format>,
    /// Write the report to FILE (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Configuration file (default: NDAGUARD_CONFIG, else .ndaguard.toml at the top of the git
    /// repository, or at the scan root outside git).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// NDA registry (default: .ndaguard/registry.toml at the top of the git repository, or at the
    /// scan root outside git).
    #[arg(long, value_name = "FILE")]
    pub registry: Option<PathBuf>,
    /// Baseline file: findings whose fingerprints it lists are not reported.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Extra rule directories or files (repeatable).
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// Print secrets in full (reports are redacted by default).
    #[arg(long)]
    pub show_secrets: bool,
    /// Fix the scan clock (RFC 3339), for reproducible reports and tests.
    #[arg(long, value_name = "RFC3339")]
    pub now: Option<String>,
    /// Worker threads (default: one per core; at most 4 per core).
    #[arg(long, short = 'j', value_name = "N", value_parser = parse_threads)]
    pub threads: Option<usize>,
    /// Skip files larger than this (bytes; K, M and G suffixes allowed). Default 10M.
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub max_file_size: Option<u64>,
    /// Scan files that .gitignore, .ignore and .ndaguardignore exclude.
    #[arg(long)]
    pub no_ignore: bool,
    /// Exit code when there are findings (default 1).
    #[arg(long, value_name = "N")]
    pub exit_code: Option<u8>,
    /// List skipped files in the text report.
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Colour in text output.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorChoice,
    /// Never show a progress bar.
    #[arg(long, conflicts_with = "progress")]
    pub no_progress: bool,
    /// Progress on stderr: `bar` (the default, on a terminal only) or `json` (one JSON object
    /// per line, about once a second and at each phase of a history scan, for dashboards).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub progress: Option<ProgressFormat>,
    /// With --history: remember in DIR which blobs were scanned with these rules, registry and
    /// options and found nothing, and skip them in the next scan.
    #[arg(long, value_name = "DIR", requires = "history")]
    pub cache: Option<PathBuf>,
    /// Ignore inline `ndaguard:allow` comments.
    #[arg(long)]
    pub no_inline_allow: bool,
    /// Do not look for secrets inside base64 and percent-encoded text.
    #[arg(long)]
    pub no_decode: bool,
    /// Incident record (default: .ndaguard/incidents.jsonl at the repository's top, kept when
    /// the scan uses a registry or the file exists).
    #[arg(long, value_name = "FILE", conflicts_with = "no_incidents")]
    pub incidents: Option<PathBuf>,
    /// Keep no incident record: deadlines count from this scan's clock.
    #[arg(long)]
    pub no_incidents: bool,
    /// Post each breach this scan saw first to a webhook (JSON with a Slack-compatible `text`).
    #[arg(long, value_name = "URL")]
    pub notify: Option<String>,
}

/// `ndaguard incident`.
#[derive(Debug, Args)]
pub struct IncidentArgs {
    /// list, revoked, reported, closed or notice.
    #[command(subcommand)]
    pub command: IncidentCommand,
    /// Incident record (default: .ndaguard/incidents.jsonl at the top of the repository that
    /// holds the current directory).
    #[arg(long, global = true, value_name = "FILE")]
    pub incidents: Option<PathBuf>,
    /// Fix the clock (RFC 3339).
    #[arg(long, global = true, value_name = "RFC3339")]
    pub now: Option<String>,
}

/// `ndaguard incident list|revoked|reported|closed|notice`.
#[derive(Debug, Subcommand)]
pub enum IncidentCommand {
    /// Open incidents with their deadlines met, missed or pending.
    List {
        /// Closed incidents too.
        #[arg(long)]
        all: bool,
        /// Output format.
        #[arg(long, short = 'f', value_enum, default_value = "text")]
        format: ListFormat,
    },
    /// Record that the secret was revoked (stops the revocation deadline).
    Revoked(IncidentAction),
    /// Record that the leak was reported (stops the reporting deadline).
    Reported {
        #[command(flatten)]
        #[allow(missing_docs)]
        action: IncidentAction,
        /// Whom it was reported to.
        #[arg(long, value_name = "CONTACT")]
        to: String,
    },
    /// Close the incident; later scans do not open it again.
    Closed {
        #[command(flatten)]
        #[allow(missing_docs)]
        action: IncidentAction,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Write the notice for the counterparty.
    Notice {
        /// A fingerprint (or its first 6+ characters) or a registry id.
        id: String,
        /// Output format.
        #[arg(long, short = 'f', value_enum, default_value = "md")]
        format: NoticeFormat,
        /// The git repository, to say which branches and tags carry the commits (default: the
        /// one holding the current directory).
        #[arg(long, value_name = "DIR")]
        repo: Option<PathBuf>,
    },
}

/// The incident an action is about, and when it happened.
#[derive(Debug, Args)]
pub struct IncidentAction {
    /// A fingerprint (or its first 6+ characters) or a registry id (all its open incidents).
    pub id: String,
    /// When it happened (RFC 3339; default: now).
    #[arg(long, value_name = "RFC3339")]
    pub at: Option<String>,
    /// A note to keep with the event.
    #[arg(long)]
    pub note: Option<String>,
}

/// Formats of `incident notice`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NoticeFormat {
    /// Markdown.
    Md,
    /// JSON.
    Json,
}

/// Parses `--shard I/N`: `1 <= I <= N`.
pub fn parse_shard(s: &str) -> std::result::Result<(u64, u64), String> {
    let bad = || format!("{s:?} is not a shard (I/N with 1 <= I <= N, like 2/4)");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n): (u64, u64) = (i.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
    if i == 0 || i > n {
        return Err(bad());
    }
    Ok((i, n))
}

/// Parses `-j N`, capped at 4 threads per core with a note on stderr: more threads than that
/// only contend (`-j 3000` on a two-core machine never finished).
pub fn parse_threads(s: &str) -> std::result::Result<usize, String> {
    let n: usize = s.trim().parse().map_err(|_| format!("{s:?} is not a number of threads"))?;
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let max = cores.saturating_mul(4);
    if n > max {
        eprintln!("ndaguard: note: -j {n} is more than 4 threads per core: using {max} ({cores} cores)");
        return Ok(max);
    }
    Ok(n)
}

/// Parses `10485760`, `512K`, `10M`, `1G` (powers of 1024).
pub fn parse_size(s: &str) -> std::result::Result<u64, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("none") || s.eq_ignore_ascii_case("unlimited") {
        return Ok(u64::MAX);
    }
    let (num, mult) = match s.chars().last() {
        Some('k' | 'K') => (&s[..s.len() - 1], 1024u64),
        Some('m' | 'M') => (&s[..s.len() - 1], 1024 * 1024),
        Some('g' | 'G') => (&s[..s.len() - 1], 1024 * 1024 * 1024),
        _ => (s, 1),
    };
    let n: u64 = num.trim().parse().map_err(|_| format!("{s:?} is not a size (examples: 1048576, 512K, 10M, 1G)"))?;
    n.checked_mul(mult).ok_or_else(|| format!("{s:?} is too large"))
}

/// Parses `--now`.
pub fn parse_now(now: Option<&str>) -> Result<OffsetDateTime> {
    match now {
        None => Ok(OffsetDateTime::now_utc()),
        Some(s) => OffsetDateTime::parse(s, &Rfc3339)
            .map(|t| t.to_offset(time::UtcOffset::UTC))
            .map_err(|e| Error::Usage(format!("--now {s:?} is not an RFC 3339 time (like 2026-11-22T10:00:00Z): {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("100"), Ok(100));
        assert_eq!(parse_size("10M"), Ok(10 * 1024 * 1024));
        assert_eq!(parse_size("2k"), Ok(2048));
        assert!(parse_size("ten").is_err());
    }

    #[test]
    fn shards() {
        assert_eq!(parse_shard("2/4"), Ok((2, 4)));
        assert!(parse_shard("0/4").is_err());
        assert!(parse_shard("5/4").is_err());
        assert!(parse_shard("1").is_err());
    }

    #[test]
    fn now_parses_rfc3339() {
        let t = parse_now(Some("2026-11-22T10:00:00+01:00")).expect("valid");
        assert_eq!(t.hour(), 9);
        assert!(parse_now(Some("yesterday")).is_err());
    }
}
