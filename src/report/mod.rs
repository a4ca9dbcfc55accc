//! Reports: one file per format. A reporter writes a finished, sorted [`ScanReport`]; it never
//! filters or changes findings.

pub mod json;
pub(crate) mod merge;
mod merge_sarif;
pub mod sarif;
pub mod text;

use std::io::{self, Write};

use serde::Serialize;

use crate::finding::{Finding, Skipped, Summary};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable text.
    Text,
    /// One JSON document.
    Json,
    /// One finding per line.
    Jsonl,
    /// SARIF 2.1.0.
    Sarif,
}

/// Which kind of scan produced a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Working tree.
    Tree,
    /// Standard input.
    Stdin,
    /// Whole git history.
    History,
    /// A commit range.
    Range,
    /// The git index against HEAD.
    Staged,
}

/// Everything a report needs about one finished scan.
#[derive(Debug, Clone, Serialize)]
pub struct ScanReport {
    /// Report format version.
    pub version: u32,
    /// Which ndaguard wrote the report.
    pub tool: Tool,
    /// What was scanned (mode, root, range) and when.
    pub scan: ScanInfo,
    /// Findings, sorted.
    pub findings: Vec<Finding>,
    /// Skipped files and blobs, sorted.
    pub skipped: Vec<Skipped>,
    /// Counts of files, bytes, findings, breaches, suppressions and errors.
    pub summary: Summary,
    /// The rules of the scan (for SARIF's rule descriptors).
    #[serde(skip)]
    pub rules: Vec<RuleMeta>,
}

/// What a report needs to know about a rule.
#[derive(Debug, Clone)]
pub struct RuleMeta {
    /// The rule id findings carry (`rule_id`).
    pub id: String,
    /// The human name (SARIF `shortDescription`).
    pub name: String,
    /// Gives the SARIF level and `security-severity`.
    pub severity: crate::rules::Severity,
    /// What the secret grants.
    pub description: Option<String>,
    /// How to revoke or rotate it.
    pub remediation: Option<String>,
    /// Extra SARIF tags, beside `security` and `secret`.
    pub tags: Vec<String>,
    /// Precision (`very-high` … `low`).
    pub precision: &'static str,
    /// Documentation links.
    pub references: Vec<String>,
}

impl RuleMeta {
    /// The metadata of a rule.
    pub fn of(r: &crate::rules::Rule) -> RuleMeta {
        RuleMeta {
            id: r.id.clone(),
            name: r.name.clone(),
            severity: r.severity,
            description: r.description.clone(),
            remediation: r.remediation.clone(),
            tags: r.tags.clone(),
            precision: r.precision.as_str(),
            references: r.references.clone(),
        }
    }

    /// The pseudo-rule of registered tokens that no rule matched.
    pub fn registered_token() -> RuleMeta {
        RuleMeta {
            id: crate::scan::REGISTERED_TOKEN.to_string(),
            name: "Registered NDA-bound token".into(),
            severity: crate::rules::Severity::Critical,
            description: Some("A token listed in the NDA registry (.ndaguard/registry.toml): its leak breaches the agreement named in the finding, which sets deadlines for reporting the incident and revoking the token.".into()),
            remediation: Some("Revoke the token with its issuer before the revoke deadline, report the incident to the contacts of the agreement before the report deadline, then remove the token from the repository and its history and register its replacement.".into()),
            tags: vec!["nda".into(), "registry".into()],
            precision: "very-high",
            references: Vec::new(),
        }
    }
}

/// The tool that wrote the report.
#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    /// `ndaguard`.
    pub name: &'static str,
    /// Crate version.
    pub version: &'static str,
}

impl Default for Tool {
    fn default() -> Self {
        Tool { name: "ndaguard", version: env!("CARGO_PKG_VERSION") }
    }
}

/// What was scanned and when.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ScanInfo {
    /// Kind of scan.
    pub mode: Mode,
    /// The scan root as given.
    pub root: String,
    /// The range, for range scans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<String>,
    /// `I/N` for one shard of a sharded history scan (`--shard`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// The scan clock (`--now`), RFC 3339.
    pub detected_at: String,
    /// When the scan started (wall clock), RFC 3339.
    #[serde(skip)]
    pub started_at: String,
    /// When the scan ended (wall clock), RFC 3339.
    #[serde(skip)]
    pub finished_at: String,
}

/// Presentation options.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReportOptions {
    /// ANSI colour in text output.
    pub color: bool,
    /// List skipped files in text output.
    pub verbose: bool,
}

/// Writes `report` in `format`.
pub fn write(report: &ScanReport, format: Format, opts: ReportOptions, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Text => text::write(report, opts, out),
        Format::Json => json::write(report, out),
        Format::Jsonl => json::write_lines(report, out),
        Format::Sarif => sarif::write(report, out),
    }
}
