//! `ndaguard rules check`: every rule's examples through the whole engine.
//!
//! Each positive example must give a finding of its rule; each negative example must give none
//! of that rule. The check runs the same [`Scanner`] a scan uses (prefilter, regex, entropy,
//! checksum, placeholder filters), with the example as the whole blob. The data-driven test of the
//! built-in rules calls [`check_rules`] too.

use crate::blob::Origin;
use crate::engine::Engine;
use crate::error::Result;
use crate::filter::Allowlist;
use crate::rules::Rule;
use crate::scan::{ScanOptions, ScanState, Scanner};

/// One failed example.
#[derive(Debug, Clone)]
pub struct CheckFailure {
    /// Rule id.
    pub rule_id: String,
    /// Where the rule is defined.
    pub origin: String,
    /// What went wrong.
    pub message: String,
}

/// The outcome of checking a rule set.
#[derive(Debug, Default)]
pub struct CheckReport {
    /// Rules checked.
    pub rules: usize,
    /// Examples run (positive and negative).
    pub examples: usize,
    /// One entry per example that did not behave.
    pub failures: Vec<CheckFailure>,
}

/// Compiles every rule and runs every example; returns the failures.
pub fn check_rules(rules: Vec<Rule>) -> Result<CheckReport> {
    let engine = Engine::new(rules)?;
    let mut report = CheckReport { rules: engine.rules().len(), ..CheckReport::default() };
    for rule in engine.rules() {
        if let Err(e) = crate::rules::compile_all(std::slice::from_ref(rule)) {
            report.failures.push(CheckFailure {
                rule_id: rule.id.clone(),
                origin: rule.origin.to_string(),
                message: e.to_string(),
            });
        }
    }
    let scanner = Scanner::new(
        engine,
        Allowlist::empty(),
        ScanOptions { show_secrets: true, no_inline_allow: false, no_decode: false },
    );
    let mut state = ScanState::default();
    for rule in scanner.engine().rules() {
        let path = rule.example_path.as_deref().unwrap_or("example.txt");
        for (i, ex) in rule.examples.iter().enumerate() {
            report.examples += 1;
            let res = scanner.scan(ex.as_bytes(), Origin { path, provenance: None }, &mut state);
            if !res.hits.iter().any(|h| h.finding.rule_id == rule.id) {
                let others: Vec<&str> = res.hits.iter().map(|h| h.finding.rule_id.as_str()).collect();
                report.failures.push(CheckFailure {
                    rule_id: rule.id.clone(),
                    origin: rule.origin.to_string(),
                    message: if others.is_empty() {
                        format!("examples[{i}] gives no finding")
                    } else {
                        format!("examples[{i}] is reported by {others:?}, not by this rule")
                    },
                });
            }
        }
        for (i, ex) in rule.negative_examples.iter().enumerate() {
            report.examples += 1;
            let res = scanner.scan(ex.as_bytes(), Origin { path, provenance: None }, &mut state);
            if let Some(f) = res.hits.iter().map(|h| &h.finding).find(|f| f.rule_id == rule.id) {
                report.failures.push(CheckFailure {
                    rule_id: rule.id.clone(),
                    origin: rule.origin.to_string(),
                    message: format!("negative_examples[{i}] gives a finding ({})", f.secret),
                });
            }
        }
    }
    Ok(report)
}
