//! The subcommands, one file each: settings in, the pipeline called, an exit code out.
//!
//! Exit codes: 0 nothing found, 1 findings (or `--exit-code N`), 2 a usage, configuration or I/O
//! error (or something could not be read), 130 interrupted.

mod baseline;
mod ci;
mod completions;
mod incident;
mod install_hook;
mod man;
mod merge;
mod registry;
mod rules;
mod scan;

use std::io::{self, IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, Result};

use crate::cli::{self, ColorChoice, Command, RulesCommand};
use crate::finding;
use crate::report::{self, Format, ReportOptions, ScanReport};

/// Exit code: nothing found.
pub(crate) const EXIT_CLEAN: u8 = 0;
/// Exit code: findings (unless `--exit-code`).
pub(crate) const EXIT_FINDINGS: u8 = 1;
/// Exit code: usage, configuration or I/O error, or something could not be read.
pub const EXIT_ERROR: u8 = 2;
/// Exit code: interrupted by Ctrl-C (partial results were written).
pub(crate) const EXIT_INTERRUPTED: u8 = crate::cancel::EXIT_INTERRUPTED;

/// Runs a parsed command line; returns the process exit code.
pub fn run(cli: cli::Cli) -> Result<u8> {
    match cli.command {
        Command::Scan(args) => scan::run(&args),
        Command::Rules(r) => match r.command {
            RulesCommand::List(sel) => rules::list(&sel),
            RulesCommand::Check(sel) => rules::check(&sel),
        },
        Command::Registry(args) => registry::run(&args),
        Command::Baseline(args) => baseline::run(&args),
        Command::InstallHook(args) => install_hook::run(&args),
        Command::Ci(args) => ci::run(&args),
        Command::Incident(args) => incident::run(&args),
        Command::Completions(args) => completions::run(&args),
        Command::Man(args) => man::run(&args),
        Command::Merge(args) => merge::run(&args),
    }
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn emit(bytes: &[u8]) -> Result<()> {
    let mut stdout = io::stdout().lock();
    match stdout.write_all(bytes).and_then(|_| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(e).context("cannot write to standard output"),
    }
}

/// Writes `bytes` to `path` whole (see [`crate::output::write_whole`]).
fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::output::write_whole(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// Writes `bytes` to `path` whole without following symlinks inside the scanned `tree` (see
/// [`crate::output::write_whole_within`]).
fn write_file_within(path: &Path, bytes: &[u8], tree: &Path) -> Result<()> {
    crate::output::write_whole_within(path, bytes, tree).with_context(|| format!("cannot write {}", path.display()))
}

/// Writes a report to `path` like [`write_file_within`] (or [`write_file`] without a `tree`),
/// except that the partial report of an interrupted run never replaces a file already there: it
/// is written only where no file was, and otherwise left out, saying so on stderr.
fn write_result(path: &Path, bytes: &[u8], tree: Option<&Path>, interrupted: bool) -> Result<()> {
    if interrupted && crate::output::holds_file(path) {
        eprintln!(
            "ndaguard: interrupted: {} was left as it was (a partial report does not replace it)",
            finding::escape_text(&path.display().to_string())
        );
        return Ok(());
    }
    match tree {
        Some(tree) => write_file_within(path, bytes, tree),
        None => write_file(path, bytes),
    }
}

/// Warns on stderr about every file or object that could not be read.
fn warn_unreadable(report: &ScanReport) {
    for s in report.skipped.iter().filter(|s| s.reason.is_error()) {
        eprintln!(
            "ndaguard: warning: {}: {} ({})",
            finding::escape_text(&s.path),
            s.reason.as_str(),
            finding::escape_text(&s.detail)
        );
    }
}

/// Writes the report in `format` to `output` (whole, never through a symlink inside the scanned
/// `tree`) or stdout.
fn write_report(
    report: &ScanReport,
    format: Format,
    output: Option<&Path>,
    tree: Option<&Path>,
    color: ColorChoice,
    verbose: bool,
) -> Result<()> {
    let to_terminal = output.is_none() && io::stdout().is_terminal();
    let color = match color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => to_terminal && std::env::var_os("NO_COLOR").is_none(),
    };
    let mut buf = Vec::new();
    report::write(report, format, ReportOptions { color, verbose }, &mut buf)?;
    match output {
        Some(path) => write_result(path, &buf, tree, report.summary.interrupted)?,
        None => emit(&buf)?,
    }
    if output.is_some() && format != Format::Text {
        // Keep a person informed when the report went to a file.
        eprintln!("{}", report::text::summary_line(report));
    }
    if format != Format::Text {
        warn_unreadable(report);
    }
    Ok(())
}

/// The exit code for a finished scan.
fn exit_code(report: &ScanReport, findings_code: Option<u8>) -> u8 {
    if report.summary.interrupted {
        EXIT_INTERRUPTED
    } else if report.summary.errors > 0 {
        EXIT_ERROR
    } else if report.summary.findings > 0 {
        findings_code.unwrap_or(EXIT_FINDINGS)
    } else {
        EXIT_CLEAN
    }
}
