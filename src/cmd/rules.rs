//! `ndaguard rules list|check`: the rule set as a table or JSON, and every rule's own examples run
//! through the whole scanner.

use std::io::Write;

use anyhow::Result;

use crate::cli::{ListFormat, RuleSelection};
use crate::rules;
use crate::scan::check::check_rules;

pub(super) fn list(sel: &RuleSelection) -> Result<u8> {
    let rules = rules::load(&sel.rules, &[], sel.no_builtin)?;
    let mut out = Vec::new();
    match sel.format {
        ListFormat::Json => {
            let list: Vec<serde_json::Value> = rules
                .iter()
                .map(
                    |r| serde_json::json!({"id": r.id, "name": r.name, "severity": r.severity, "keywords": r.keywords}),
                )
                .collect();
            serde_json::to_writer_pretty(&mut out, &list)?;
            out.push(b'\n');
        }
        ListFormat::Text => {
            let w = rules.iter().map(|r| r.id.len()).max().unwrap_or(2).max(2);
            writeln!(out, "{:<w$}  {:<8}  NAME", "ID", "SEVERITY")?;
            for r in &rules {
                writeln!(out, "{:<w$}  {:<8}  {}", r.id, r.severity.as_str(), crate::finding::escape_text(&r.name))?;
            }
            writeln!(out, "{} rules", rules.len())?;
        }
    }
    super::emit(&out)?;
    Ok(super::EXIT_CLEAN)
}

pub(super) fn check(sel: &RuleSelection) -> Result<u8> {
    let rules = rules::load(&sel.rules, &[], sel.no_builtin)?;
    let report = check_rules(rules)?;
    let mut out = Vec::new();
    for f in &report.failures {
        writeln!(out, "FAIL {} ({}): {}", f.rule_id, f.origin, f.message)?;
    }
    writeln!(
        out,
        "{} rules, {} examples: {} passed, {} failed",
        report.rules,
        report.examples,
        report.examples.saturating_sub(report.failures.len()),
        report.failures.len()
    )?;
    super::emit(&out)?;
    Ok(if report.failures.is_empty() { super::EXIT_CLEAN } else { super::EXIT_FINDINGS })
}
