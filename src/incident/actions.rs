//! What `ndaguard incident …` does with the record: record an action on the incidents a name
//! designates, and describe open incidents with their deadlines.
//!
//! The command-line wrapper (`cmd/incident.rs`) only parses arguments and prints; everything
//! that reads or writes the record is here, under the record's lock.

use serde::Serialize;
use time::OffsetDateTime;

use super::notice::DeadlineView;
use super::{Event, Incident, Incidents, Kind, Lookup, Record};
use crate::breach::{self, DeadlineStatus};
use crate::error::{Error, Result};

/// An action a person records.
#[derive(Debug, Clone)]
pub struct Action {
    /// `revoked`, `reported` or `closed`.
    pub kind: Kind,
    /// When it happened.
    pub at: OffsetDateTime,
    /// Now (written as `recorded_at` when it differs from `at`).
    pub now: OffsetDateTime,
    /// Whom it was reported to.
    pub to: Option<String>,
    /// Why it was closed.
    pub reason: Option<String>,
    /// A note.
    pub note: Option<String>,
}

/// The incidents `what` designates, or an error that says why none.
pub fn designate<'a>(incidents: &'a Incidents, what: &str) -> Result<Vec<&'a Incident>> {
    match incidents.find(what) {
        Lookup::Found(v) => Ok(v),
        Lookup::NotFound => Err(Error::Usage(format!(
            "no incident matches {what:?}: give a fingerprint (or its first 6+ characters) or a registry id; see `ndaguard incident list`"
        ))),
        Lookup::Ambiguous(ids) => {
            Err(Error::Usage(format!("{what:?} matches several incidents: {}; give more characters", ids.join(", "))))
        }
    }
}

/// Records `action` on the incidents `what` designates, under the lock. Returns one line per
/// incident saying what was recorded or why not (already done, closed).
pub fn record(record: &Record, what: &str, action: &Action) -> Result<Vec<String>> {
    if !record.path().exists() {
        return Err(Error::Usage(format!(
            "{}: no incident record here (a scan writes it; see --incidents)",
            record.path().display()
        )));
    }
    let mut locked = record.lock()?;
    let (events, _) = locked.read()?;
    let incidents = Incidents::fold(&events);
    let targets = designate(&incidents, what)?;
    let mut lines = Vec::new();
    let mut append = Vec::new();
    let at = breach::format_time(action.at);
    for inc in targets {
        let done = match action.kind {
            Kind::Revoked => inc.revoked.as_ref(),
            Kind::Reported => inc.reported.as_ref(),
            Kind::Closed => inc.closed.as_ref(),
            Kind::Detected => None,
        };
        if let Some((t, _)) = done {
            lines.push(format!("{}: already {} at {}", inc.id, action.kind.as_str(), breach::format_time(*t)));
            continue;
        }
        if !inc.is_open() {
            lines.push(format!("{}: closed; nothing recorded", inc.id));
            continue;
        }
        let mut e = Event::new(action.kind, &inc.id, &at);
        if action.now != action.at {
            e.recorded_at = Some(breach::format_time(action.now));
        }
        e.to = action.to.clone();
        e.reason = action.reason.clone();
        e.note = action.note.clone();
        lines.push(format!("{}: {} at {at}", inc.id, action.kind.as_str()));
        append.push(e);
    }
    locked.append(&append)?;
    Ok(lines)
}

/// One incident as `incident list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// The fingerprint.
    pub id: String,
    /// `open` or `closed`.
    pub status: &'static str,
    /// The registry entry, for a breach.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry_id: Option<String>,
    /// The agreement.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nda: Option<String>,
    /// The other party.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counterparty: Option<String>,
    /// The rule that matched.
    pub rule_id: String,
    /// Where.
    pub path: String,
    /// 1-based line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// First detection.
    pub detected_at: String,
    /// Since when exposed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exposed_since: Option<String>,
    /// The revocation deadline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoke: Option<DeadlineView>,
    /// The reporting deadline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<DeadlineView>,
    /// Whom it was reported to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reported_to: Option<String>,
    /// Why it was closed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_reason: Option<String>,
}

/// The rows of `incidents` at `now`: open ones, or all with `all`; breaches first, then by the
/// earliest pending deadline.
pub fn rows(incidents: &Incidents, now: OffsetDateTime, all: bool) -> Vec<Row> {
    let mut out: Vec<(bool, i64, Row)> = Vec::new();
    for inc in incidents.iter().filter(|i| all || i.is_open()) {
        let d = &inc.detected;
        let revoke = inc.revoke_deadline(now);
        let report = inc.report_deadline(now);
        let urgent = [&revoke, &report]
            .into_iter()
            .flatten()
            .filter(|x| x.done_at.is_none())
            .map(|x| x.by.unix_timestamp())
            .min()
            .unwrap_or(i64::MAX);
        out.push((
            d.registry_id.is_none(),
            urgent,
            Row {
                id: inc.id.clone(),
                status: if inc.is_open() { "open" } else { "closed" },
                registry_id: d.registry_id.clone(),
                nda: d.nda.clone(),
                counterparty: d.counterparty.clone(),
                rule_id: d.rule_id.clone().unwrap_or_default(),
                path: d.path.clone().unwrap_or_default(),
                line: d.line,
                detected_at: breach::format_time(inc.detected_at),
                exposed_since: d.exposed_since.clone(),
                revoke: revoke.map(Into::into),
                report: report.map(Into::into),
                reported_to: inc.reported.as_ref().and_then(|r| r.1.to.clone()),
                closed_reason: inc.closed.as_ref().and_then(|c| c.1.reason.clone()),
            },
        ));
    }
    out.sort_by(|a, b| (a.0, a.1, &a.2.id).cmp(&(b.0, b.1, &b.2.id)));
    out.into_iter().map(|r| r.2).collect()
}

fn deadline_text(what: &str, d: &DeadlineView, done: &str) -> String {
    match (d.status, &d.done_at) {
        (DeadlineStatus::Met, Some(at)) => {
            format!("{what} by {}: met ({done} {at}, {} h to spare)", d.by, d.hours_left)
        }
        (DeadlineStatus::Missed, Some(at)) => {
            format!("{what} by {}: MISSED ({done} {at}, {} h late)", d.by, -d.hours_left)
        }
        (DeadlineStatus::Missed, None) => {
            format!("{what} by {}: MISSED, not {done} ({} h overdue)", d.by, -d.hours_left)
        }
        _ => format!("{what} by {}: pending ({} h left)", d.by, d.hours_left),
    }
}

/// The rows as text, one block per incident.
pub fn text(rows: &[Row]) -> String {
    use crate::finding::escape_text as esc;
    if rows.is_empty() {
        return "no open incidents\n".to_string();
    }
    let mut s = String::new();
    for r in rows {
        let what = match (&r.registry_id, &r.nda, &r.counterparty) {
            (Some(id), Some(nda), Some(cp)) => format!("NDA breach: {} under {} with {}", esc(id), esc(nda), esc(cp)),
            _ => esc(&r.rule_id),
        };
        let place = match r.line {
            Some(l) => format!("{}:{l}", esc(&r.path)),
            None => esc(&r.path),
        };
        let closed = if r.status == "closed" { " (closed)" } else { "" };
        s.push_str(&format!("{}{closed}  {what}  {place}\n", r.id));
        let mut seen = format!("    detected {}", r.detected_at);
        if let Some(e) = &r.exposed_since {
            seen.push_str(&format!("; exposed since {e}"));
        }
        s.push_str(&seen);
        s.push('\n');
        if let Some(d) = &r.revoke {
            s.push_str(&format!("    {}\n", deadline_text("REVOKE", d, "revoked")));
        }
        if let Some(d) = &r.report {
            let mut line = deadline_text("REPORT", d, "reported");
            if let Some(to) = &r.reported_to {
                line.push_str(&format!(" to {}", esc(to)));
            }
            s.push_str(&format!("    {line}\n"));
        }
        if let Some(why) = &r.closed_reason {
            s.push_str(&format!("    closed: {}\n", esc(why)));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> OffsetDateTime {
        breach::parse_date(s).expect("time")
    }

    fn action(kind: Kind, t: &str) -> Action {
        Action { kind, at: at(t), now: at(t), to: None, reason: None, note: None }
    }

    #[test]
    fn actions_go_to_every_open_incident_of_an_entry_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = Record::new(dir.path().join("incidents.jsonl"));
        assert!(record(&r, "acme", &action(Kind::Revoked, "2026-03-01T12:00:00Z")).is_err(), "no record yet");
        let det = |id: &str| Event {
            registry_id: Some("acme".into()),
            nda: Some("NDA-1".into()),
            counterparty: Some("Acme".into()),
            rule_id: Some("registered-token".into()),
            path: Some(format!("{id}.env")),
            report_within: Some("24h".into()),
            revoke_within: Some("4h".into()),
            ..Event::new(Kind::Detected, id, "2026-03-01T10:00:00Z")
        };
        r.append(&[det("v1:aaaaaa11"), det("v1:bbbbbb22")]).expect("append");
        let lines = record(&r, "acme", &action(Kind::Revoked, "2026-03-01T12:00:00Z")).expect("recorded");
        assert_eq!(lines.len(), 2);
        let again = record(&r, "acme", &action(Kind::Revoked, "2026-03-01T13:00:00Z")).expect("reported back");
        assert!(again.iter().all(|l| l.contains("already revoked at 2026-03-01T12:00:00Z")), "{again:?}");
        assert!(record(&r, "nothing-like-it", &action(Kind::Closed, "2026-03-01T13:00:00Z")).is_err());

        let (events, _) = r.read().expect("read");
        let listed = rows(&Incidents::fold(&events), at("2026-03-02T12:00:00Z"), false);
        let t = text(&listed);
        assert!(t.contains("REVOKE by 2026-03-01T14:00:00Z: met (revoked 2026-03-01T12:00:00Z, 2 h to spare)"), "{t}");
        assert!(t.contains("REPORT by 2026-03-02T10:00:00Z: MISSED, not reported (2 h overdue)"), "{t}");
        let mut close = action(Kind::Closed, "2026-03-03T00:00:00Z");
        close.reason = Some("revoked; history kept".into());
        record(&r, "v1:aaaaaa", &close).expect("closed one");
        let (events, _) = r.read().expect("read");
        let inc = Incidents::fold(&events);
        assert_eq!(rows(&inc, at("2026-03-03T00:00:00Z"), false).len(), 1);
        assert_eq!(rows(&inc, at("2026-03-03T00:00:00Z"), true).len(), 2);
    }
}
