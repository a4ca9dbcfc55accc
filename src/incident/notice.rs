//! `ndaguard incident notice`: the notice a security team sends the counterparty of an
//! agreement whose token leaked, in Markdown or JSON.
//!
//! It is built from the incident record alone (plus the git repository, when there is one, to
//! say which branches and tags carry the commits): the agreement, the registry's token id (never
//! the token), where and since when the token was exposed, its scope, the actions taken with
//! their times, and the deadlines as they stand.

use serde::Serialize;
use time::OffsetDateTime;

use super::exposure::{self, Carriers};
use super::{Deadline, Incident};
use crate::breach::{self, DeadlineStatus};

/// One place the token was found.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Place {
    /// The incident (finding fingerprint).
    pub incident: String,
    /// Path in the repository.
    pub path: String,
    /// 1-based line, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The commit that brought it in, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Since when it has been exposed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exposed_since: Option<String>,
    /// When ndaguard first detected it.
    pub detected_at: String,
    /// Branches that carry the commit.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub branches: Vec<String>,
    /// Tags that carry the commit.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Whether the default branch carries it (`None`: unknown, e.g. no commit or no repository).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_default_branch: Option<bool>,
}

/// An action taken.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Action {
    /// `detected`, `revoked`, `reported` or `closed`.
    pub action: String,
    /// When.
    pub at: String,
    /// To whom (reported), why (closed), or a note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A deadline as it stands.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DeadlineView {
    /// The deadline.
    pub by: String,
    /// Met, missed or pending.
    pub status: DeadlineStatus,
    /// Whole hours left (negative: late), frozen when the action was taken.
    pub hours_left: i64,
    /// When the action was taken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub done_at: Option<String>,
}

impl From<Deadline> for DeadlineView {
    fn from(d: Deadline) -> Self {
        DeadlineView {
            by: breach::format_time(d.by),
            status: d.status,
            hours_left: d.hours_left,
            done_at: d.done_at.map(breach::format_time),
        }
    }
}

/// The notice.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Notice {
    /// When it was written.
    pub generated_at: String,
    /// The registry entry (the token's id, never the token).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
    /// The agreement.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nda: Option<String>,
    /// The other party.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counterparty: Option<String>,
    /// Our owner of the token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Who is to be told.
    pub contacts: Vec<String>,
    /// What the token may do.
    pub scope: Vec<String>,
    /// The rule that matched (for findings that are not breaches).
    pub rule_id: String,
    /// The token's length in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length: Option<usize>,
    /// The earliest exposure over all places.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exposed_since: Option<String>,
    /// Where it was found.
    pub places: Vec<Place>,
    /// What was done, in time order.
    pub actions: Vec<Action>,
    /// Reporting deadline (from the first detection).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<DeadlineView>,
    /// Revocation deadline (from the first detection).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoke: Option<DeadlineView>,
    /// Whether every incident is closed.
    pub closed: bool,
}

/// Builds the notice of `incidents` (one leak: one fingerprint, or every incident of a registry
/// entry) at `now`; `repo` adds which refs carry each commit.
pub fn build(incidents: &[&Incident], repo: Option<&git2::Repository>, now: OffsetDateTime) -> Option<Notice> {
    let first = incidents.iter().min_by_key(|i| i.detected_at)?;
    let d = &first.detected;
    let mut places = Vec::new();
    let mut actions = Vec::new();
    for inc in incidents {
        let e = &inc.detected;
        let carriers: Option<Carriers> = e.commit.as_deref().and_then(|c| repo.and_then(|r| exposure::carriers(r, c)));
        places.push(Place {
            incident: inc.id.clone(),
            path: e.path.clone().unwrap_or_default(),
            line: e.line,
            commit: e.commit.clone(),
            exposed_since: e.exposed_since.clone(),
            detected_at: breach::format_time(inc.detected_at),
            branches: carriers.as_ref().map(|c| c.branches.clone()).unwrap_or_default(),
            tags: carriers.as_ref().map(|c| c.tags.clone()).unwrap_or_default(),
            on_default_branch: carriers.as_ref().filter(|c| c.default_branch.is_some()).map(|c| c.on_default_branch),
        });
        for ev in &inc.events {
            let Some(kind) = ev.event else { continue };
            let detail = ev.to.clone().or_else(|| ev.reason.clone()).or_else(|| ev.note.clone());
            let detail = match (kind, detail) {
                (super::Kind::Detected, _) => Some(format!("{} ({})", ev.path.clone().unwrap_or_default(), inc.id)),
                (_, d) => d,
            };
            actions.push((
                breach::parse_date(&ev.at).map(|t| t.unix_timestamp()).unwrap_or(0),
                Action { action: kind.as_str().to_string(), at: ev.at.clone(), detail },
            ));
        }
    }
    actions.sort_by_key(|a| a.0);
    let exposed_since = places
        .iter()
        .filter_map(|p| p.exposed_since.as_deref())
        .min_by_key(|s| breach::parse_date(s).map(|t| t.unix_timestamp()).unwrap_or(i64::MAX))
        .map(String::from);
    // The agreement's clock runs from the first detection of the token anywhere; an action
    // recorded on any of its incidents counts for the token.
    let earliest = |f: fn(&Incident) -> Option<OffsetDateTime>| incidents.iter().filter_map(|i| f(i)).min();
    let reported = earliest(|i| i.reported.as_ref().map(|r| r.0));
    let revoked = earliest(|i| i.revoked.as_ref().map(|r| r.0));
    let term = |s: &Option<String>| s.as_deref().and_then(|t| breach::parse_duration(t).ok());
    let report = term(&d.report_within).map(|w| super::deadline(first.detected_at + w, reported, now).into());
    let revoke = term(&d.revoke_within).map(|w| super::deadline(first.detected_at + w, revoked, now).into());
    Some(Notice {
        generated_at: breach::format_time(now),
        token_id: d.registry_id.clone(),
        nda: d.nda.clone(),
        counterparty: d.counterparty.clone(),
        owner: d.owner.clone(),
        contacts: d.contacts.clone(),
        scope: d.scope.clone(),
        rule_id: d.rule_id.clone().unwrap_or_default(),
        length: d.length,
        exposed_since,
        places,
        actions: actions.into_iter().map(|a| a.1).collect(),
        report,
        revoke,
        closed: incidents.iter().all(|i| !i.is_open()),
    })
}

fn deadline_line(what: &str, d: &DeadlineView) -> String {
    match (d.status, &d.done_at) {
        (DeadlineStatus::Met, Some(at)) => format!("- {what} by {}: **met** ({at}, {} h to spare)", d.by, d.hours_left),
        (DeadlineStatus::Missed, Some(at)) => {
            format!("- {what} by {}: **missed** (done {at}, {} h late)", d.by, -d.hours_left)
        }
        (DeadlineStatus::Missed, None) => {
            format!("- {what} by {}: **missed**, not done yet ({} h overdue)", d.by, -d.hours_left)
        }
        _ => format!("- {what} by {}: pending ({} h left)", d.by, d.hours_left),
    }
}

/// Escapes text for Markdown (so that a path or a name cannot inject markup).
fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in crate::finding::escape_text(s).chars() {
        if matches!(c, '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The notice in Markdown.
pub fn markdown(n: &Notice) -> String {
    let mut s = String::new();
    let title = match (&n.nda, &n.counterparty) {
        (Some(nda), Some(cp)) => format!("# Notice of exposure: token under {} with {}\n\n", md(nda), md(cp)),
        _ => format!("# Notice of exposure: {} finding\n\n", md(&n.rule_id)),
    };
    s.push_str(&title);
    s.push_str(&format!("Written {}{}.\n\n", n.generated_at, if n.closed { "; the incident is closed" } else { "" }));
    s.push_str("## The token\n\n");
    if let Some(id) = &n.token_id {
        s.push_str(&format!("- Token id: `{}` (the token itself is not in this notice)\n", md(id)));
    }
    if let Some(nda) = &n.nda {
        s.push_str(&format!("- Agreement: {}\n", md(nda)));
    }
    if let Some(cp) = &n.counterparty {
        s.push_str(&format!("- Counterparty: {}\n", md(cp)));
    }
    if let Some(o) = &n.owner {
        s.push_str(&format!("- Owner: {}\n", md(o)));
    }
    if !n.scope.is_empty() {
        s.push_str(&format!("- Scope: {}\n", n.scope.iter().map(|x| md(x)).collect::<Vec<_>>().join(", ")));
    }
    if !n.contacts.is_empty() {
        s.push_str(&format!("- Contacts: {}\n", n.contacts.iter().map(|x| md(x)).collect::<Vec<_>>().join(", ")));
    }
    s.push_str(&format!("- Found by rule: {}\n", md(&n.rule_id)));
    s.push_str("\n## Exposure\n\n");
    if let Some(e) = &n.exposed_since {
        s.push_str(&format!("Exposed since {e}.\n\n"));
    }
    for p in &n.places {
        let mut line = format!("- `{}`", md(&p.path));
        if let Some(l) = p.line {
            line.push_str(&format!(" line {l}"));
        }
        if let Some(c) = &p.commit {
            line.push_str(&format!(", commit {}", c.get(..12).unwrap_or(c)));
        }
        if let Some(e) = &p.exposed_since {
            line.push_str(&format!(", exposed since {e}"));
        }
        line.push_str(&format!(", first detected {}", p.detected_at));
        s.push_str(&line);
        s.push('\n');
        if !p.branches.is_empty() {
            s.push_str(&format!("  - branches: {}\n", p.branches.iter().map(|b| md(b)).collect::<Vec<_>>().join(", ")));
        }
        if !p.tags.is_empty() {
            s.push_str(&format!("  - tags: {}\n", p.tags.iter().map(|b| md(b)).collect::<Vec<_>>().join(", ")));
        }
        match p.on_default_branch {
            Some(true) => s.push_str("  - the default branch carries it\n"),
            Some(false) => s.push_str("  - the default branch does not carry it\n"),
            None => {}
        }
    }
    s.push_str("\n## Actions taken\n\n");
    for a in &n.actions {
        match &a.detail {
            Some(d) => s.push_str(&format!("- {} {}: {}\n", a.at, a.action, md(d))),
            None => s.push_str(&format!("- {} {}\n", a.at, a.action)),
        }
    }
    if n.report.is_some() || n.revoke.is_some() {
        s.push_str("\n## Deadlines (from the first detection)\n\n");
        if let Some(d) = &n.revoke {
            s.push_str(&deadline_line("Revoke", d));
            s.push('\n');
        }
        if let Some(d) = &n.report {
            s.push_str(&deadline_line("Report", d));
            s.push('\n');
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::{Event, Incidents, Kind};

    #[test]
    fn a_notice_names_the_agreement_places_actions_and_deadlines_never_the_token() {
        let det = |id: &str, path: &str, t: &str| Event {
            rule_id: Some("registered-token".into()),
            path: Some(path.into()),
            line: Some(3),
            length: Some(37),
            registry_id: Some("acme-payments-prod".into()),
            nda: Some("NDA-2026-014".into()),
            counterparty: Some("Acme Payments Ltd".into()),
            owner: Some("payments@corp.test".into()),
            scope: vec!["POST /v1/charges".into()],
            contacts: vec!["security@acme.example".into()],
            report_within: Some("24h".into()),
            revoke_within: Some("4h".into()),
            exposed_since: Some("2026-02-27T09:00:00Z".into()),
            commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
            ..Event::new(Kind::Detected, id, t)
        };
        let events = vec![
            det("v1:aaaa", "deploy.env", "2026-03-01T10:00:00Z"),
            det("v1:bbbb", "ci/vars.yml", "2026-03-01T12:00:00Z"),
            Event::new(Kind::Revoked, "v1:aaaa", "2026-03-01T13:00:00Z"),
            Event {
                to: Some("security@acme.example".into()),
                ..Event::new(Kind::Reported, "v1:bbbb", "2026-03-02T11:00:00Z")
            },
        ];
        let inc = Incidents::fold(&events);
        let all: Vec<&Incident> = inc.iter().collect();
        let now = breach::parse_date("2026-03-05T00:00:00Z").expect("now");
        let n = build(&all, None, now).expect("notice");
        assert_eq!(n.places.len(), 2);
        let revoke = n.revoke.as_ref().expect("revoke");
        assert_eq!(
            (revoke.by.as_str(), revoke.status, revoke.hours_left),
            ("2026-03-01T14:00:00Z", DeadlineStatus::Met, 1)
        );
        let report = n.report.as_ref().expect("report");
        assert_eq!((report.status, report.hours_left), (DeadlineStatus::Missed, -1));
        assert_eq!(
            n.actions.iter().map(|a| a.action.as_str()).collect::<Vec<_>>(),
            vec!["detected", "detected", "revoked", "reported"]
        );
        let text = markdown(&n);
        for want in [
            "NDA-2026-014",
            "Acme Payments Ltd",
            "acme-payments-prod",
            "POST /v1/charges",
            "deploy.env",
            "ci/vars.yml",
            "commit 0123456789ab",
            "Exposed since 2026-02-27T09:00:00Z",
            "reported: security@acme.example",
            "**met**",
            "**missed**",
        ] {
            assert!(text.contains(want), "{want} missing in\n{text}");
        }
    }
}
