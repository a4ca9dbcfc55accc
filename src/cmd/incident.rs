//! `ndaguard incident list|revoked|reported|closed|notice`: the incident record, read and
//! appended to by people (scans append `detected` events themselves).

use std::path::PathBuf;

use anyhow::Result;

use crate::cli::{IncidentAction, IncidentArgs, IncidentCommand, ListFormat, NoticeFormat};
use crate::error::Error;
use crate::incident::actions::{self, Action};
use crate::incident::{notice, record, Incidents, Kind, Record};

/// Runs `ndaguard incident …`.
pub(crate) fn run(args: &IncidentArgs) -> Result<u8> {
    let now = crate::cli::parse_now(args.now.as_deref())?;
    let record = Record::new(args.incidents.clone().unwrap_or_else(default_path));
    match &args.command {
        IncidentCommand::List { all, format } => list(&record, now, *all, *format),
        IncidentCommand::Revoked(a) => act(&record, a, Kind::Revoked, now, None, None),
        IncidentCommand::Reported { action, to } => act(&record, action, Kind::Reported, now, Some(to), None),
        IncidentCommand::Closed { action, reason } => act(&record, action, Kind::Closed, now, None, Some(reason)),
        IncidentCommand::Notice { id, format, repo } => write_notice(&record, id, *format, repo.clone(), now),
    }
}

/// `.ndaguard/incidents.jsonl` at the top of the repository holding the current directory, or
/// in the current directory outside git.
fn default_path() -> PathBuf {
    let top = git2::Repository::discover(".").ok().and_then(|r| r.workdir().map(|w| w.to_path_buf()));
    top.unwrap_or_else(|| PathBuf::from(".")).join(record::DEFAULT_PATH)
}

/// Reads the record and reports its damaged lines on stderr.
fn read(record: &Record) -> Result<Incidents> {
    let (events, damaged) = record.read()?;
    for d in damaged {
        eprintln!("ndaguard: warning: {}:{}: {}; line skipped", record.path().display(), d.line, d.message);
    }
    Ok(Incidents::fold(&events))
}

fn list(record: &Record, now: time::OffsetDateTime, all: bool, format: ListFormat) -> Result<u8> {
    let rows = actions::rows(&read(record)?, now, all);
    let out = match format {
        ListFormat::Text => actions::text(&rows),
        ListFormat::Json => format!("{}\n", serde_json::to_string_pretty(&rows)?),
    };
    super::emit(out.as_bytes())?;
    Ok(0)
}

fn act(
    record: &Record,
    a: &IncidentAction,
    kind: Kind,
    now: time::OffsetDateTime,
    to: Option<&String>,
    reason: Option<&String>,
) -> Result<u8> {
    let at = match &a.at {
        Some(t) => crate::breach::parse_date(t).map_err(|e| Error::Usage(format!("--at: {e}")))?,
        None => now,
    };
    if at > now {
        return Err(Error::Usage(format!("--at {} is in the future", crate::breach::format_time(at))).into());
    }
    let action = Action { kind, at, now, to: to.cloned(), reason: reason.cloned(), note: a.note.clone() };
    for line in actions::record(record, &a.id, &action)? {
        eprintln!("ndaguard: {line}");
    }
    Ok(0)
}

fn write_notice(
    record: &Record,
    id: &str,
    format: NoticeFormat,
    repo: Option<PathBuf>,
    now: time::OffsetDateTime,
) -> Result<u8> {
    let incidents = read(record)?;
    let targets = actions::designate(&incidents, id)?;
    let repo = git2::Repository::discover(repo.unwrap_or_else(|| PathBuf::from("."))).ok();
    let n = notice::build(&targets, repo.as_ref(), now)
        .ok_or_else(|| Error::Usage(format!("no incident matches {id:?}")))?;
    let out = match format {
        NoticeFormat::Md => notice::markdown(&n),
        NoticeFormat::Json => format!("{}\n", serde_json::to_string_pretty(&n)?),
    };
    super::emit(out.as_bytes())?;
    Ok(0)
}
