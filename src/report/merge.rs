//! Joining reports (`ndaguard merge`): the JSON or SARIF reports of the shards of one history
//! scan (`scan --history --shard I/N`) become the report the unsharded scan writes.
//!
//! - Findings are deduplicated by fingerprint (rule, path and secret). Of two findings of one
//!   fingerprint, the one with the earlier first commit is kept: earlier author date, then
//!   earlier position in the history (`commit_order`, which shard reports carry and the merged
//!   report does not). `commits` is the largest of the two: every shard counts the commits of
//!   the whole history that carry the secret, so they agree.
//! - Skipped entries and notes are joined without duplicates; the summary is recomputed:
//!   files, bytes and suppressions are summed (each blob belongs to exactly one shard), the
//!   duration is the longest shard's, and counts of findings, breaches, skips and errors are
//!   those of the merged lists.
//! - When the inputs say which shard they are, all shards of one count must be there, once.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Deserialize;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{ScanInfo, ScanReport, Tool};
use crate::finding::{self, Finding, Skipped, Summary};

/// A report that `merge` reads.
pub enum Input {
    /// A JSON report (`-f json`).
    Json(Box<ScanReport>),
    /// A SARIF log (`-f sarif`).
    Sarif(Value),
}

#[derive(Deserialize)]
struct JsonReport {
    version: u32,
    tool: ToolIn,
    scan: ScanInfo,
    findings: Vec<Finding>,
    #[serde(default)]
    skipped: Vec<Skipped>,
    summary: Summary,
}

#[derive(Deserialize)]
struct ToolIn {
    name: String,
    version: String,
}

/// Reads one report: JSON or SARIF, told apart by their content. `name` names it in errors.
pub fn parse(name: &str, bytes: &[u8]) -> Result<Input, String> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("{name}: not a JSON or SARIF report (line {}: {e})", e.line()))?;
    if value.get("runs").is_some() {
        let tool = value.pointer("/runs/0/tool/driver/name").and_then(Value::as_str);
        if tool != Some("ndaguard") {
            return Err(format!("{name}: a SARIF log not written by ndaguard"));
        }
        return Ok(Input::Sarif(value));
    }
    let r: JsonReport = serde_json::from_value(value)
        .map_err(|e| format!("{name}: not an ndaguard JSON report ({e}); JSONL and text reports cannot be merged"))?;
    if r.version != 1 || r.tool.name != "ndaguard" {
        return Err(format!("{name}: not an ndaguard JSON report of version 1"));
    }
    let tool = Tool::default();
    if r.tool.version != tool.version {
        return Err(format!(
            "{name}: written by ndaguard {}, not {} (merge reports of one version)",
            r.tool.version, tool.version
        ));
    }
    Ok(Input::Json(Box::new(ScanReport {
        version: r.version,
        tool,
        scan: r.scan,
        findings: r.findings,
        skipped: r.skipped,
        summary: r.summary,
        rules: Vec::new(),
    })))
}

/// Checks that the shard labels (`I/N`, where present) name every shard of one count once.
pub(super) fn check_shards(labels: &[Option<String>]) -> Result<(), String> {
    let given: Vec<&String> = labels.iter().flatten().collect();
    if given.is_empty() {
        return Ok(());
    }
    if given.len() != labels.len() {
        return Err("some reports are shards (--shard) and some are not".into());
    }
    let mut count = None;
    let mut seen = BTreeSet::new();
    for l in given {
        let (i, n) = l.split_once('/').ok_or_else(|| format!("bad shard label {l:?}"))?;
        let (i, n): (u64, u64) =
            (i.parse().map_err(|_| format!("bad shard {l:?}"))?, n.parse().map_err(|_| format!("bad shard {l:?}"))?);
        if *count.get_or_insert(n) != n {
            return Err(format!("shards of different counts ({l} and .../{})", count.unwrap_or(n)));
        }
        if !seen.insert(i) {
            return Err(format!("shard {l} given twice"));
        }
    }
    let n = count.unwrap_or(0);
    let missing: Vec<String> = (1..=n).filter(|i| !seen.contains(i)).map(|i| format!("{i}/{n}")).collect();
    if !missing.is_empty() {
        return Err(format!("missing shard(s) {}: the merged report would be incomplete", missing.join(", ")));
    }
    Ok(())
}

/// The rank of a first commit: author time (from the RFC 3339 date), then history order. A
/// finding without them ranks last.
pub(super) fn rank(date: Option<&str>, order: Option<u64>) -> (i64, u64) {
    let time =
        date.and_then(|d| OffsetDateTime::parse(d, &Rfc3339).ok()).map_or(i64::MAX, OffsetDateTime::unix_timestamp);
    (time, order.unwrap_or(u64::MAX))
}

/// Joins JSON reports (see the module docs).
pub fn merge_json(reports: Vec<ScanReport>) -> Result<ScanReport, String> {
    let labels: Vec<Option<String>> = reports.iter().map(|r| r.scan.shard.clone()).collect();
    check_shards(&labels)?;
    let mut reports = reports.into_iter();
    let Some(first) = reports.next() else { return Err("no reports to merge".into()) };
    let mut scan = first.scan.clone();
    scan.shard = None;
    let mut findings: HashMap<String, Finding> = HashMap::new();
    let mut skipped: BTreeSet<Skipped> = BTreeSet::new();
    let mut totals = Summary::default();
    for r in std::iter::once(first).chain(reports) {
        if r.scan.mode != scan.mode || r.scan.range != scan.range {
            return Err("the reports are of different scans (mode or range differ)".into());
        }
        add_totals(&mut totals, &r.summary);
        skipped.extend(r.skipped);
        for f in r.findings {
            match findings.get_mut(&f.fingerprint) {
                Some(kept) => {
                    let commits = kept.commits.max(f.commits);
                    if rank(f.date.as_deref(), f.commit_order) < rank(kept.date.as_deref(), kept.commit_order) {
                        *kept = f;
                    }
                    kept.commits = commits;
                }
                None => {
                    findings.insert(f.fingerprint.clone(), f);
                }
            }
        }
    }
    let mut findings: Vec<Finding> = findings.into_values().collect();
    for f in &mut findings {
        f.commit_order = None;
    }
    finding::sort(&mut findings);
    let skipped: Vec<Skipped> = skipped.into_iter().collect();
    let summary = recount(totals, &findings, &skipped);
    Ok(ScanReport { version: 1, tool: Tool::default(), scan, findings, skipped, summary, rules: Vec::new() })
}

/// Adds one report's summed totals (files, bytes, suppressions, duration, interruption, notes).
pub(super) fn add_totals(t: &mut Summary, s: &Summary) {
    t.files_scanned += s.files_scanned;
    t.bytes_scanned += s.bytes_scanned;
    t.suppressed += s.suppressed;
    t.duration_ms = t.duration_ms.max(s.duration_ms);
    t.interrupted |= s.interrupted;
    for n in &s.notes {
        if !t.notes.contains(n) {
            t.notes.push(n.clone());
        }
    }
}

/// The summary of merged lists: the summed totals plus counts of what was merged.
fn recount(mut t: Summary, findings: &[Finding], skipped: &[Skipped]) -> Summary {
    t.findings = findings.len() as u64;
    t.breaches = findings.iter().filter(|f| f.breach.is_some()).count() as u64;
    t.files_skipped = skipped.len() as u64;
    t.errors = skipped.iter().filter(|s| s.reason.is_error()).count() as u64;
    t.skipped_by_reason = BTreeMap::new();
    for s in skipped {
        *t.skipped_by_reason.entry(s.reason.as_str().to_string()).or_default() += 1;
    }
    t
}

/// Joins SARIF logs (see the module docs and `merge_sarif`).
pub fn merge_sarif(logs: Vec<Value>) -> Result<Value, String> {
    super::merge_sarif::merge(logs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shard_must_be_given_once() {
        let l = |v: &[&str]| v.iter().map(|s| Some(s.to_string())).collect::<Vec<_>>();
        assert!(check_shards(&l(&["1/3", "2/3", "3/3"])).is_ok());
        assert!(check_shards(&[None, None]).is_ok());
        assert!(check_shards(&l(&["1/3", "3/3"])).unwrap_err().contains("2/3"));
        assert!(check_shards(&l(&["1/2", "1/2"])).unwrap_err().contains("twice"));
        assert!(check_shards(&l(&["1/2", "2/3"])).is_err());
        assert!(check_shards(&[Some("1/2".into()), None]).is_err());
    }

    #[test]
    fn the_earlier_date_wins_then_the_history_order() {
        let a = rank(Some("2026-01-02T10:00:00+02:00"), Some(9));
        let b = rank(Some("2026-01-02T09:00:00Z"), Some(1));
        assert!(a < b, "08:00Z is before 09:00Z");
        assert!(rank(Some("2026-01-02T09:00:00Z"), Some(1)) < rank(Some("2026-01-02T09:00:00Z"), Some(2)));
        assert!(b < rank(None, None));
    }
}
