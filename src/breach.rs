//! Breaches and deadlines (design.md §4): durations, deadline arithmetic, and the structured
//! fields a finding carries when it leaks a registered token or when the policy gives it
//! deadlines.
//!
//! All arithmetic is in UTC with whole seconds: `report_by = detected_at + report_within`, where
//! `detected_at` is the first detection (from the incident record when there is one, else the
//! scan clock). Hours left are rounded toward negative infinity, so an overdue deadline shows a
//! negative number and a deadline 30 minutes away shows 0. A deadline whose action was taken
//! (reported, revoked) stops counting: its hours left are frozen at the action's time. A deadline
//! past the last representable time (9999-12-31T23:59:59Z) is that time: the sum saturates
//! instead of overflowing.

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime, Time};

use crate::rules::Severity;

/// Parses a duration: one or more `<number><unit>` parts, units `m` (minutes), `h`, `d`, `w`;
/// for example `4h`, `90d`, `2w`, `1d12h`. Zero and empty are errors.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("empty duration (expected e.g. 4h, 7d, 2w)".into());
    }
    let mut total: i64 = 0;
    let mut num = String::new();
    let mut parts = 0;
    for c in t.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit: i64 = match c {
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => return Err(format!("bad duration {s:?}: unknown unit {c:?} (use m, h, d or w)")),
        };
        if num.is_empty() {
            return Err(format!("bad duration {s:?}: a unit without a number"));
        }
        let n: i64 = num.parse().map_err(|_| format!("bad duration {s:?}: number too large"))?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("bad duration {s:?}: too large"))?;
        num.clear();
        parts += 1;
    }
    if !num.is_empty() {
        return Err(format!("bad duration {s:?}: number without a unit (use m, h, d or w)"));
    }
    if parts == 0 || total == 0 {
        return Err(format!("bad duration {s:?}: must be longer than zero"));
    }
    if total > 100 * 365 * 86_400 {
        return Err(format!("bad duration {s:?}: longer than 100 years"));
    }
    Ok(Duration::seconds(total))
}

/// Formats a duration in the largest exact unit: `4h`, `7d`, `2w`, `90m`.
pub fn format_duration(d: Duration) -> String {
    let s = d.whole_seconds();
    if s % (7 * 86_400) == 0 {
        format!("{}w", s / (7 * 86_400))
    } else if s % 86_400 == 0 {
        format!("{}d", s / 86_400)
    } else if s % 3600 == 0 {
        format!("{}h", s / 3600)
    } else {
        format!("{}m", s / 60)
    }
}

/// Parses a date (`2026-07-10`, midnight UTC) or an RFC 3339 time.
pub fn parse_date(s: &str) -> Result<OffsetDateTime, String> {
    let t = s.trim();
    if let Ok(dt) = OffsetDateTime::parse(t, &Rfc3339) {
        return Ok(dt.to_offset(time::UtcOffset::UTC));
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(t, &fmt)
        .map(|d| PrimitiveDateTime::new(d, Time::MIDNIGHT).assume_utc())
        .map_err(|_| format!("bad date {s:?}: expected YYYY-MM-DD or an RFC 3339 time"))
}

/// `t + d`, or the last representable time if the sum is past it (`--now 9999-12-31T23:59:59Z`,
/// `issued = 9999-12-31` with a rotation period).
pub fn deadline(t: OffsetDateTime, d: Duration) -> OffsetDateTime {
    t.saturating_add(d)
}

/// RFC 3339 in UTC, whole seconds.
pub fn format_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC).replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_default()
}

/// Whole hours from `now` to `deadline`, rounded down (negative when overdue).
pub fn hours_left(now: OffsetDateTime, deadline: OffsetDateTime) -> i64 {
    let secs = (deadline - now).whole_seconds();
    secs.div_euclid(3600)
}

/// Where a deadline stands.
#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DeadlineStatus {
    /// Not yet done, not yet due.
    Pending,
    /// Done in time.
    Met,
    /// Done late, or not done and past due.
    Missed,
}

impl DeadlineStatus {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeadlineStatus::Pending => "pending",
            DeadlineStatus::Met => "met",
            DeadlineStatus::Missed => "missed",
        }
    }
}

/// The status of deadline `by` at `now`, and its whole hours left (frozen at `done` when the
/// action was taken).
pub fn deadline_status(now: OffsetDateTime, by: OffsetDateTime, done: Option<OffsetDateTime>) -> (DeadlineStatus, i64) {
    match done {
        Some(d) if d <= by => (DeadlineStatus::Met, hours_left(d, by)),
        Some(d) => (DeadlineStatus::Missed, hours_left(d, by)),
        None if now > by => (DeadlineStatus::Missed, hours_left(now, by)),
        None => (DeadlineStatus::Pending, hours_left(now, by)),
    }
}

/// The times a finding's deadlines are computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    /// The scan clock.
    pub now: OffsetDateTime,
    /// The first detection (the scan clock for a finding seen for the first time).
    pub detected_at: OffsetDateTime,
    /// When the leak was reported, if it was.
    pub reported_at: Option<OffsetDateTime>,
    /// When the secret was revoked, if it was.
    pub revoked_at: Option<OffsetDateTime>,
}

impl Clock {
    /// The clock of a finding first seen at `now`.
    pub fn fresh(now: OffsetDateTime) -> Clock {
        Clock { now, detected_at: now, reported_at: None, revoked_at: None }
    }
}

/// Deadlines of a finding that is not a breach, from `[policy]`.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Deadlines {
    /// When the leak must be reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_by: Option<String>,
    /// When the secret must be revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoke_by: Option<String>,
    /// Whole hours left to report (negative: overdue).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_hours_left: Option<i64>,
    /// Whole hours left to revoke (negative: overdue).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoke_hours_left: Option<i64>,
    /// Met, missed or pending.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_status: Option<DeadlineStatus>,
    /// Met, missed or pending.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoke_status: Option<DeadlineStatus>,
}

/// The breach of an NDA: a registered token found in the scanned input.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Breach {
    /// The registry entry's id.
    pub registry_id: String,
    /// The agreement.
    pub nda: String,
    /// Who holds the token under the agreement.
    pub counterparty: String,
    /// Who owns it on our side.
    pub owner: String,
    /// What the token may do.
    pub scope: Vec<String>,
    /// Who must be told.
    pub contacts: Vec<String>,
    /// The first detection: from the incident record when it has the finding, else the scan
    /// clock.
    pub detected_at: String,
    /// Since when the token has been exposed: the first commit's time (git), the file's
    /// modification time (tree), or the scan clock (staged, stdin).
    pub exposed_since: String,
    /// `detected_at + report_within`.
    pub report_by: String,
    /// Whole hours left to report (negative: overdue); frozen once reported.
    pub report_hours_left: i64,
    /// Met, missed or pending.
    pub report_status: DeadlineStatus,
    /// When the leak was reported (incident record).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reported_at: Option<String>,
    /// `detected_at + revoke_within`; absent when the registry marks the token revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoke_by: Option<String>,
    /// Whole hours left to revoke (negative: overdue); frozen once revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoke_hours_left: Option<i64>,
    /// Met, missed or pending.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoke_status: Option<DeadlineStatus>,
    /// When the token was revoked (incident record).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// The token has outlived its `expires` date: it must not exist anywhere.
    pub lifetime_exceeded: bool,
    /// The token is already revoked (the leak must still be reported).
    pub revoked: bool,
}

impl Breach {
    /// The earliest deadline not yet acted on, in Unix seconds (for ordering breaches by
    /// urgency); `i64::MAX` when both were acted on.
    pub fn most_urgent(&self) -> i64 {
        let parse = |s: &str| OffsetDateTime::parse(s, &Rfc3339).map(|t| t.unix_timestamp()).unwrap_or(i64::MAX);
        let report = if self.reported_at.is_some() { i64::MAX } else { parse(&self.report_by) };
        match &self.revoke_by {
            Some(r) if self.revoked_at.is_none() => report.min(parse(r)),
            _ => report,
        }
    }
}

/// Default deadlines by severity: (report_within, revoke_within).
pub fn default_policy(sev: Severity) -> (Option<Duration>, Option<Duration>) {
    match sev {
        Severity::Critical => (Some(Duration::hours(24)), Some(Duration::hours(4))),
        Severity::High => (Some(Duration::hours(72)), Some(Duration::hours(24))),
        Severity::Medium => (Some(Duration::days(7)), Some(Duration::days(7))),
        Severity::Low => (None, None),
    }
}

/// Deadlines per severity, from the defaults and `[policy]`.
#[derive(Debug, Clone)]
pub struct Policy {
    by_severity: [(Option<Duration>, Option<Duration>); 4],
}

impl Default for Policy {
    fn default() -> Self {
        Policy { by_severity: Severity::ALL.map(default_policy) }
    }
}

fn sev_index(sev: Severity) -> usize {
    Severity::ALL.iter().position(|s| *s == sev).unwrap_or(3)
}

impl Policy {
    /// The policy of a configuration: defaults overridden by `[policy.SEV]`; `"none"` removes a
    /// deadline. `file` names the configuration in errors.
    pub fn from_config(
        file: &str,
        entries: &std::collections::BTreeMap<String, crate::config::PolicyEntry>,
    ) -> crate::error::Result<Policy> {
        let mut p = Policy::default();
        for (sev, entry) in entries {
            let Some(s) = Severity::ALL.iter().find(|s| s.as_str() == sev) else { continue };
            let i = sev_index(*s);
            let parse = |field: &str,
                         v: &Option<String>,
                         line: Option<usize>|
             -> crate::error::Result<Option<Option<Duration>>> {
                match v.as_deref() {
                    None => Ok(None),
                    Some("none") => Ok(Some(None)),
                    Some(d) => parse_duration(d)
                        .map(|d| Some(Some(d)))
                        .map_err(|e| crate::error::Error::invalid(file, line, format!("[policy.{sev}] {field}: {e}"))),
                }
            };
            if let Some(r) = parse("report_within", &entry.report_within, entry.lines[0])? {
                p.by_severity[i].0 = r;
            }
            if let Some(r) = parse("revoke_within", &entry.revoke_within, entry.lines[1])? {
                p.by_severity[i].1 = r;
            }
        }
        Ok(p)
    }

    /// The terms (report within, revoke within) for `sev`.
    pub fn terms(&self, sev: Severity) -> (Option<Duration>, Option<Duration>) {
        self.by_severity[sev_index(sev)]
    }

    /// The deadlines of a finding of `sev` on `clock`, if the policy gives any.
    pub fn deadlines(&self, sev: Severity, clock: &Clock) -> Option<Deadlines> {
        let (report, revoke) = self.by_severity[sev_index(sev)];
        if report.is_none() && revoke.is_none() {
            return None;
        }
        let report_by = report.map(|d| deadline(clock.detected_at, d));
        let revoke_by = revoke.map(|d| deadline(clock.detected_at, d));
        let report = report_by.map(|t| deadline_status(clock.now, t, clock.reported_at));
        let revoke = revoke_by.map(|t| deadline_status(clock.now, t, clock.revoked_at));
        Some(Deadlines {
            report_by: report_by.map(format_time),
            revoke_by: revoke_by.map(format_time),
            report_hours_left: report.map(|r| r.1),
            revoke_hours_left: revoke.map(|r| r.1),
            report_status: report.map(|r| r.0),
            revoke_status: revoke.map(|r| r.0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> OffsetDateTime {
        parse_date(s).expect("valid time")
    }

    #[test]
    fn durations_parse_and_format() {
        assert_eq!(parse_duration("4h"), Ok(Duration::hours(4)));
        assert_eq!(parse_duration("90d"), Ok(Duration::days(90)));
        assert_eq!(parse_duration("2w"), Ok(Duration::weeks(2)));
        assert_eq!(parse_duration("1d12h"), Ok(Duration::hours(36)));
        assert_eq!(parse_duration("30m"), Ok(Duration::minutes(30)));
        for bad in ["", "4", "h", "0h", "4y", "-4h", "4 h", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        assert_eq!(format_duration(Duration::hours(36)), "36h");
        assert_eq!(format_duration(Duration::days(14)), "2w");
        assert_eq!(format_duration(Duration::days(90)), "90d");
    }

    #[test]
    fn dates_and_times() {
        assert_eq!(format_time(at("2026-07-10")), "2026-07-10T00:00:00Z");
        assert_eq!(format_time(at("2026-07-10T12:30:00+02:00")), "2026-07-10T10:30:00Z");
        assert!(parse_date("10/07/2026").is_err());
        assert!(parse_date("2026-02-30").is_err());
    }

    #[test]
    fn deadlines_cross_midnight_and_month_ends() {
        let now = at("2026-01-31T22:00:00Z");
        assert_eq!(format_time(now + parse_duration("4h").expect("ok")), "2026-02-01T02:00:00Z");
        let leap = at("2028-02-28T20:00:00Z");
        assert_eq!(format_time(leap + parse_duration("1d").expect("ok")), "2028-02-29T20:00:00Z");
        let year_end = at("2026-12-31T23:30:00Z");
        assert_eq!(format_time(year_end + parse_duration("24h").expect("ok")), "2027-01-01T23:30:00Z");
    }

    #[test]
    fn deadlines_past_year_9999_saturate() {
        let end = at("9999-12-31T23:59:59Z");
        assert_eq!(format_time(deadline(end, Duration::hours(24))), "9999-12-31T23:59:59Z");
        let d = Policy::default().deadlines(Severity::Critical, &Clock::fresh(end)).expect("critical has deadlines");
        assert_eq!(d.report_by.as_deref(), Some("9999-12-31T23:59:59Z"));
        assert_eq!(d.report_hours_left, Some(0));
    }

    #[test]
    fn hours_left_rounds_down_and_goes_negative() {
        let now = at("2026-03-01T00:00:00Z");
        assert_eq!(hours_left(now, at("2026-03-01T04:00:00Z")), 4);
        assert_eq!(hours_left(now, at("2026-03-01T00:30:00Z")), 0);
        assert_eq!(hours_left(now, at("2026-02-28T23:30:00Z")), -1);
        assert_eq!(hours_left(now, at("2026-02-28T20:00:00Z")), -4);
    }

    #[test]
    fn policy_defaults_and_overrides() {
        let now = at("2026-05-01T08:00:00Z");
        let p = Policy::default();
        let d = p.deadlines(Severity::Critical, &Clock::fresh(now)).expect("critical has deadlines");
        assert_eq!(d.report_by.as_deref(), Some("2026-05-02T08:00:00Z"));
        assert_eq!(d.revoke_by.as_deref(), Some("2026-05-01T12:00:00Z"));
        assert_eq!(d.revoke_hours_left, Some(4));
        assert!(p.deadlines(Severity::Low, &Clock::fresh(now)).is_none());
        // An hour later, counted from the first detection, with the report already sent.
        let later = Clock {
            now: now + Duration::hours(1),
            detected_at: now,
            reported_at: Some(now + Duration::minutes(30)),
            revoked_at: None,
        };
        let d = p.deadlines(Severity::Critical, &later).expect("deadlines");
        assert_eq!(d.revoke_by.as_deref(), Some("2026-05-01T12:00:00Z"));
        assert_eq!((d.revoke_hours_left, d.revoke_status), (Some(3), Some(DeadlineStatus::Pending)));
        assert_eq!((d.report_hours_left, d.report_status), (Some(23), Some(DeadlineStatus::Met)));
        let mut m = std::collections::BTreeMap::new();
        m.insert(
            "low".to_string(),
            crate::config::PolicyEntry {
                report_within: Some("30d".into()),
                revoke_within: Some("none".into()),
                ..Default::default()
            },
        );
        m.insert(
            "critical".to_string(),
            crate::config::PolicyEntry {
                report_within: Some("none".into()),
                revoke_within: Some("1h".into()),
                ..Default::default()
            },
        );
        let p = Policy::from_config("c.toml", &m).expect("valid");
        let low = p.deadlines(Severity::Low, &Clock::fresh(now)).expect("now has a report deadline");
        assert_eq!(low.report_by.as_deref(), Some("2026-05-31T08:00:00Z"));
        assert_eq!(low.revoke_by, None);
        let crit = p.deadlines(Severity::Critical, &Clock::fresh(now)).expect("revoke only");
        assert_eq!(crit.report_by, None);
        assert_eq!(crit.revoke_by.as_deref(), Some("2026-05-01T09:00:00Z"));
        m.insert(
            "high".into(),
            crate::config::PolicyEntry {
                report_within: Some("soon".into()),
                revoke_within: None,
                ..Default::default()
            },
        );
        let e = Policy::from_config("c.toml", &m).unwrap_err().to_string();
        assert!(e.contains("c.toml") && e.contains("[policy.high] report_within"), "{e}");
    }
}
