//! SARIF 2.1.0 (with `serde-sarif`), as GitHub code scanning wants it: one `rules` entry per rule
//! that fired, with help text and `security-severity`; `%SRCROOT%`-relative locations with line
//! and column regions; redacted snippets; `partialFingerprints` from the stable fingerprint; the
//! breach fields and git provenance in `properties`; `results` present even when empty; skipped
//! files as tool execution notifications.
//!
//! A breach is never less than an error: whatever rule matched the registered token, its result
//! points at the `registered-token` rule (security-severity 9.5, level `error`), and the matching
//! rule's id and own severity stay in the result's properties. Each result carries, besides the
//! finding's stable fingerprint, an occurrence fingerprint (`fingerprint:n`, n counting the same
//! fingerprint's earlier results in the file), so two occurrences of one secret in one file are
//! two alerts rather than one.
//!
//! Given `--now`, the same scan gives byte-identical SARIF: invocation times are the scan clock.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde_json::{json, Value};
use serde_sarif::sarif;

use super::{RuleMeta, ScanReport};
use crate::finding::Finding;
use crate::rules::Severity;

/// The `security-severity` GitHub reads (critical > 9.0, high 7.0–8.9, medium 4.0–6.9, low < 4).
pub fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
    }
}

fn level(s: Severity) -> sarif::ResultLevel {
    match s {
        Severity::Critical | Severity::High => sarif::ResultLevel::Error,
        Severity::Medium => sarif::ResultLevel::Warning,
        Severity::Low => sarif::ResultLevel::Note,
    }
}

/// Percent-encodes a relative path for a URI: unreserved characters and `/` stay. `path` is a
/// report path ([`crate::finding::display_path`]); the URI encodes the real bytes it stands for.
pub fn uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in crate::finding::unescape_path(path) {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn text(s: impl Into<String>) -> sarif::MultiformatMessageString {
    sarif::MultiformatMessageString::builder().text(s.into()).build()
}

fn message(s: impl Into<String>) -> sarif::Message {
    sarif::Message { text: Some(s.into()), ..Default::default() }
}

fn bag(tags: Option<Vec<String>>, props: BTreeMap<String, Value>) -> Option<sarif::PropertyBag> {
    if tags.is_none() && props.is_empty() {
        return None;
    }
    Some(sarif::PropertyBag { tags, additional_properties: props })
}

const SUPPRESS_HELP: &str = "If this is not a secret, suppress it with a comment `ndaguard:allow` on the line (or `ndaguard:allow-next-line` above it), with an `[allowlist]` entry in `.ndaguard.toml`, or by recording the current findings in a baseline (`ndaguard baseline -o .ndaguard-baseline.json`).";

fn descriptor(r: &RuleMeta) -> sarif::ReportingDescriptor {
    let what = r.description.clone().unwrap_or_else(|| format!("A {} was found in the repository.", r.name));
    let fix = r.remediation.clone().unwrap_or_else(|| {
        "Revoke or rotate the secret at its provider, then remove it from the repository and its history.".into()
    });
    let help_text = format!("{what}\n\nWhat to do: {fix}\n\nFalse positive? {SUPPRESS_HELP}");
    let mut md = format!(
        "**{}** ({} severity)\n\n{what}\n\n**What to do:** {fix}\n\n**False positive?** {SUPPRESS_HELP}",
        r.name, r.severity
    );
    if !r.references.is_empty() {
        md.push_str("\n\n**References:**\n");
        for link in &r.references {
            md.push_str(&format!("\n- <{link}>"));
        }
    }
    let mut props = BTreeMap::new();
    props.insert("precision".into(), json!(r.precision));
    props.insert("security-severity".into(), json!(security_severity(r.severity)));
    props.insert(
        "problem.severity".into(),
        json!(match r.severity {
            Severity::Critical | Severity::High => "error",
            Severity::Medium => "warning",
            Severity::Low => "recommendation",
        }),
    );
    let mut tags = vec!["security".to_string(), "secret".to_string()];
    tags.extend(r.tags.iter().cloned());
    let mut d = sarif::ReportingDescriptor::builder().id(r.id.clone()).build();
    d = sarif::ReportingDescriptor {
        id: r.id.clone(),
        name: Some(camel(&r.id)),
        short_description: Some(text(r.name.clone())),
        full_description: Some(text(what)),
        help: Some(sarif::MultiformatMessageString::builder().text(help_text).markdown(md).build()),
        help_uri: r.references.first().cloned(),
        default_configuration: Some(sarif::ReportingConfiguration {
            level: Some(json!(match r.severity {
                Severity::Critical | Severity::High => "error",
                Severity::Medium => "warning",
                Severity::Low => "note",
            })),
            ..Default::default()
        }),
        properties: bag(Some(tags), props),
        ..d
    };
    d
}

/// `github-pat-classic` → `GithubPatClassic` (SARIF rule names are identifiers).
fn camel(id: &str) -> String {
    id.split('-')
        .map(|p| {
            let mut c = p.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// The rule a result points at: `registered-token` for every breach.
fn result_rule(f: &Finding) -> &str {
    if f.breach.is_some() {
        crate::scan::REGISTERED_TOKEN
    } else {
        &f.rule_id
    }
}

fn result(f: &Finding, rule_index: usize, occurrence: usize) -> sarif::Result {
    let mut msg = format!("{} found: {}", f.rule_name, f.secret);
    if let Some(b) = &f.breach {
        msg = format!(
            "NDA breach ({} with {}): {} found: {}. Report by {}{}.",
            b.nda,
            b.counterparty,
            f.rule_name,
            f.secret,
            b.report_by,
            b.revoke_by.as_ref().map(|r| format!(", revoke by {r}")).unwrap_or_else(|| " (already revoked)".into())
        );
    } else if let Some(d) = &f.deadlines {
        if let Some(r) = &d.revoke_by {
            msg.push_str(&format!(". Revoke by {r}"));
        }
        if let Some(r) = &d.report_by {
            msg.push_str(&format!(", report by {r}"));
        }
    }
    let region = sarif::Region {
        start_line: Some(f.line as i64),
        start_column: Some(f.column as i64),
        end_line: Some(f.end_line as i64),
        end_column: Some(f.end_column as i64),
        snippet: Some(sarif::ArtifactContent { text: Some(f.secret.clone()), ..Default::default() }),
        ..Default::default()
    };
    let location = sarif::Location {
        physical_location: Some(sarif::PhysicalLocation {
            artifact_location: Some(sarif::ArtifactLocation {
                uri: Some(uri_path(&f.path)),
                uri_base_id: Some("%SRCROOT%".into()),
                ..Default::default()
            }),
            region: Some(region),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut props = BTreeMap::new();
    props.insert("severity".into(), json!(f.severity));
    props.insert("secret_length".into(), json!(f.secret_length));
    if f.breach.is_some() {
        // The rule that matched, with its own severity; the result itself is a breach.
        props.insert("rule_id".into(), json!(f.rule_id));
        props.insert("rule_security_severity".into(), json!(security_severity(f.severity)));
        props.insert("security-severity".into(), json!(security_severity(Severity::Critical)));
    }
    if let Some(e) = &f.encoding {
        props.insert("encoding".into(), json!(e));
    }
    for (k, v) in [("commit", &f.commit), ("author", &f.author), ("email", &f.email), ("date", &f.date)] {
        if let Some(v) = v {
            props.insert(k.into(), json!(v));
        }
    }
    if let Some(n) = f.commits {
        props.insert("commits".into(), json!(n));
    }
    if let Some(n) = f.commit_order {
        props.insert("commit_order".into(), json!(n));
    }
    if let Some(b) = &f.breach {
        props.insert("breach".into(), serde_json::to_value(b).unwrap_or(Value::Null));
    }
    if let Some(d) = &f.deadlines {
        props.insert("deadlines".into(), serde_json::to_value(d).unwrap_or(Value::Null));
    }
    let mut fps = BTreeMap::new();
    fps.insert("ndaguard/v1".to_string(), f.fingerprint.clone());
    fps.insert("ndaguard/occurrence/v1".to_string(), format!("{}:{occurrence}", f.fingerprint));
    let base = sarif::Result::builder().message(message(String::new())).build();
    let level = if f.breach.is_some() { sarif::ResultLevel::Error } else { level(f.severity) };
    sarif::Result {
        rule_id: Some(result_rule(f).to_string()),
        rule_index: Some(rule_index as i64),
        level: Some(level),
        message: message(msg),
        locations: Some(vec![location]),
        partial_fingerprints: Some(fps),
        properties: bag(None, props),
        ..base
    }
}

/// Builds the SARIF log of a report.
pub fn build(report: &ScanReport) -> sarif::Sarif {
    // Rules that fired, in id order; results point at them by index.
    let mut fired: Vec<&RuleMeta> =
        report.rules.iter().filter(|r| report.findings.iter().any(|f| result_rule(f) == r.id)).collect();
    fired.sort_by(|a, b| a.id.cmp(&b.id));
    fired.dedup_by(|a, b| a.id == b.id);
    let index: BTreeMap<&str, usize> = fired.iter().enumerate().map(|(i, r)| (r.id.as_str(), i)).collect();
    // Occurrences count per (path, fingerprint), in report order (path, line, column).
    let mut seen: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let results: Vec<sarif::Result> = report
        .findings
        .iter()
        .map(|f| {
            let n = seen.entry((f.path.as_str(), f.fingerprint.as_str())).or_insert(0);
            *n += 1;
            result(f, index.get(result_rule(f)).copied().unwrap_or(0), *n)
        })
        .collect();
    let notifications: Vec<sarif::Notification> = report
        .skipped
        .iter()
        .map(|s| sarif::Notification {
            descriptor: None,
            properties: None,
            thread_id: None,
            associated_rule: None,
            exception: None,
            time_utc: None,
            level: Some(json!(if s.reason.is_error() { "error" } else { "note" })),
            message: message(if s.detail.is_empty() {
                format!("not scanned: {}", s.reason.as_str())
            } else {
                format!("not scanned: {} ({})", s.reason.as_str(), s.detail)
            }),
            locations: Some(vec![sarif::Location {
                physical_location: Some(sarif::PhysicalLocation {
                    artifact_location: Some(sarif::ArtifactLocation {
                        uri: Some(uri_path(&s.path)),
                        uri_base_id: Some("%SRCROOT%".into()),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }]),
        })
        .collect();
    let mut inv_props = BTreeMap::new();
    let mut summary = serde_json::to_value(&report.summary).unwrap_or(Value::Null);
    if let Some(m) = summary.as_object_mut() {
        // Wall time would make two runs of the same scan differ.
        m.remove("duration_ms");
    }
    inv_props.insert("summary".into(), summary);
    inv_props.insert("mode".into(), json!(report.scan.mode));
    if let Some(r) = &report.scan.range {
        inv_props.insert("range".into(), json!(r));
    }
    if let Some(s) = &report.scan.shard {
        inv_props.insert("shard".into(), json!(s));
    }
    let base = sarif::Invocation::builder().execution_successful(true).build();
    let invocation = sarif::Invocation {
        execution_successful: report.summary.errors == 0 && !report.summary.interrupted,
        start_time_utc: Some(report.scan.started_at.clone()),
        end_time_utc: Some(report.scan.finished_at.clone()),
        tool_execution_notifications: Some(notifications),
        properties: bag(None, inv_props),
        ..base
    };
    let base = sarif::ToolComponent::builder().name(report.tool.name).build();
    let driver = sarif::ToolComponent {
        name: report.tool.name.to_string(),
        version: Some(report.tool.version.to_string()),
        semantic_version: Some(report.tool.version.to_string()),
        information_uri: Some("https://github.com/ndaguard/ndaguard".into()),
        rules: Some(fired.iter().map(|r| descriptor(r)).collect()),
        ..base
    };
    let tool = sarif::Tool::builder().driver(driver).build();
    let run = sarif::Run::builder().tool(tool).results(results).invocations(vec![invocation]).build();
    sarif::Sarif::builder()
        .schema("https://json.schemastore.org/sarif-2.1.0.json")
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build()
}

/// Writes the SARIF log, pretty-printed.
pub fn write(report: &ScanReport, out: &mut dyn Write) -> io::Result<()> {
    let log = build(report);
    serde_json::to_writer_pretty(&mut *out, &log).map_err(io::Error::other)?;
    out.write_all(b"\n")
}
