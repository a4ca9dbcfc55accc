//! What a scan does with incidents: give each finding its breach or policy deadlines counted
//! from its first detection, record first sightings, and date breaches in a git work tree from
//! the commit that brought them in.
//!
//! This is the one call the scan pipeline makes ([`annotate`]), after the hits are collected and
//! before the findings are sorted and reported.

use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use super::{exposure, record::Damaged, track, Event, Kind, Record};
use crate::blob::Hit;
use crate::breach::{self, Clock, Policy};
use crate::finding::Finding;
use crate::registry::Registry;

/// What [`annotate`] needs.
pub(crate) struct Context<'a> {
    /// The scan clock.
    pub now: OffsetDateTime,
    /// The NDA registry, if any.
    pub registry: Option<&'a Registry>,
    /// Deadlines for findings that are not breaches.
    pub policy: &'a Policy,
    /// The incident record, if the scan keeps one.
    pub record: Option<&'a Record>,
    /// For a tree scan: its root, so that breaches in a git work tree are dated from git.
    pub tree_root: Option<&'a Path>,
    /// Whether a blob holds the token of a registry entry (by index), in plain text or encoded,
    /// as the scan finds it: which versions of a file in git carry a breach.
    pub holds: &'a dyn Fn(&[u8], usize) -> bool,
}

/// What [`annotate`] did besides annotating.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// Indices of the breaches this scan saw first (for `--notify`).
    pub new_breaches: Vec<usize>,
    /// Damaged lines of the record (skipped).
    pub damaged: Vec<Damaged>,
    /// The record could not be read or written: the deadlines count from this scan.
    pub record_error: Option<String>,
}

/// Turns hits into findings with their breach (registered tokens) or policy deadlines, on the
/// clock of their first detection when the record has it; records the ones it does not have.
pub(crate) fn annotate(ctx: &Context<'_>, hits: Vec<Hit>) -> (Vec<Finding>, Outcome) {
    let mut outcome = Outcome::default();
    let entries: Vec<Option<usize>> = hits.iter().map(|h| h.registry_entry).collect();
    let mut exposed_at: Vec<Option<i64>> = hits.iter().map(|h| h.exposed_since).collect();
    let mut findings: Vec<Finding> = hits.into_iter().map(|h| h.finding).collect();
    if let (Some(root), Some(_)) = (ctx.tree_root, ctx.registry) {
        date_from_git(root, ctx.holds, &entries, &mut findings, &mut exposed_at);
    }
    let exposed: Vec<OffsetDateTime> = exposed_at
        .iter()
        .map(|t| t.and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok()).unwrap_or(ctx.now))
        .collect();
    let entries: Vec<Option<&crate::registry::Entry>> =
        entries.iter().map(|i| i.and_then(|i| ctx.registry.and_then(|r| r.entries.get(i)))).collect();
    let tracked = ctx.record.and_then(|record| {
        let events = findings
            .iter()
            .zip(&entries)
            .zip(&exposed)
            .map(|((f, e), x)| detection(f, *e, ctx.policy, ctx.now, *x))
            .collect();
        match track(record, ctx.now, events) {
            Ok((t, damaged)) => {
                outcome.damaged = damaged;
                Some(t)
            }
            Err(e) => {
                outcome.record_error = Some(e.to_string());
                None
            }
        }
    });
    for (i, f) in findings.iter_mut().enumerate() {
        let t = tracked.as_ref().and_then(|t| t.get(i));
        let clock = t.map(|t| t.clock).unwrap_or_else(|| Clock::fresh(ctx.now));
        match entries[i] {
            Some(e) => {
                f.breach = Some(e.breach(&clock, exposed[i]));
                f.deadlines = None;
                if t.is_none_or(|t| t.new) {
                    outcome.new_breaches.push(i);
                }
            }
            None => f.deadlines = ctx.policy.deadlines(f.severity, &clock),
        }
    }
    (findings, outcome)
}

/// The `detected` event of a finding seen for the first time at `now`.
fn detection(
    f: &Finding,
    entry: Option<&crate::registry::Entry>,
    policy: &Policy,
    now: OffsetDateTime,
    exposed: OffsetDateTime,
) -> Event {
    let (report, revoke) = match entry {
        Some(e) => (Some(e.report_within), Some(e.revoke_within)),
        None => policy.terms(f.severity),
    };
    Event {
        rule_id: Some(f.rule_id.clone()),
        severity: Some(f.severity.as_str().to_string()),
        path: Some(f.path.clone()),
        line: Some(f.line),
        length: Some(f.secret_length),
        commit: f.commit.clone(),
        exposed_since: Some(breach::format_time(exposed)),
        registry_id: entry.map(|e| e.id.clone()),
        nda: entry.map(|e| e.nda.clone()),
        counterparty: entry.map(|e| e.counterparty.clone()),
        owner: entry.map(|e| e.owner.clone()),
        scope: entry.map(|e| e.scope.clone()).unwrap_or_default(),
        contacts: entry.map(|e| e.contacts.clone()).unwrap_or_default(),
        report_within: report.map(breach::format_duration),
        revoke_within: revoke.map(breach::format_duration),
        ..Event::new(Kind::Detected, &f.fingerprint, &breach::format_time(now))
    }
}

/// For breaches found by a tree scan in a git work tree: the commit that brought the token
/// into the file on `HEAD`'s first-parent history becomes the finding's commit and exposure
/// time. Files whose `HEAD` version does not hold the token keep their modification time.
fn date_from_git(
    root: &Path,
    holds: &dyn Fn(&[u8], usize) -> bool,
    entries: &[Option<usize>],
    findings: &mut [Finding],
    exposed: &mut [Option<i64>],
) {
    if !entries.iter().zip(findings.iter()).any(|(e, f)| e.is_some() && f.commit.is_none()) {
        return;
    }
    let Ok(repo) = git2::Repository::discover(root) else { return };
    if repo.workdir().is_none() {
        return;
    }
    for (i, f) in findings.iter_mut().enumerate() {
        let Some(entry) = entries[i].filter(|_| f.commit.is_none()) else { continue };
        // In a work tree, reported paths are relative to its top (settings::project_dir).
        let rel = PathBuf::from(&f.path);
        if let Some(p) = exposure::introduced_by(&repo, &rel, |data: &[u8]| holds(data, entry)) {
            f.commit = Some(p.commit);
            exposed[i] = Some(p.time);
        }
    }
}
