//! Incidents: what happened to each finding after a scan first saw it (design.md §4, "The
//! incident clock").
//!
//! An incident is identified by its finding's fingerprint. Its events come from the record
//! ([`record`]): the first `detected` event fixes the detection time that every later scan
//! counts deadlines from; `revoked` and `reported` stop the matching deadline (it is then met or
//! missed for good); `closed` ends the incident, and a closed incident stays closed (later scans
//! that still see the secret do not open it again). The record holds fingerprints and metadata,
//! never a token.

pub mod actions;
pub mod exposure;
pub mod notice;
pub mod notify;
pub mod record;
pub(crate) mod scan;

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::breach::{self, Clock, DeadlineStatus};
pub use record::{Damaged, Event, Kind, Record};

/// One incident: a finding's first detection and what was done about it since.
#[derive(Debug, Clone)]
pub struct Incident {
    /// The finding's fingerprint.
    pub id: String,
    /// The first `detected` event.
    pub detected: Event,
    /// Its time.
    pub detected_at: OffsetDateTime,
    /// The first `revoked` event and its time.
    pub revoked: Option<(OffsetDateTime, Event)>,
    /// The first `reported` event and its time.
    pub reported: Option<(OffsetDateTime, Event)>,
    /// The `closed` event and its time.
    pub closed: Option<(OffsetDateTime, Event)>,
    /// Every event of the incident, in record order.
    pub events: Vec<Event>,
}

/// Where a deadline stands at some moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadline {
    /// The deadline.
    pub by: OffsetDateTime,
    /// Met, missed or pending.
    pub status: DeadlineStatus,
    /// Whole hours left (negative: late); frozen at the time the action was taken.
    pub hours_left: i64,
    /// When the action was taken, if it was.
    pub done_at: Option<OffsetDateTime>,
}

impl Incident {
    /// Whether the incident is still open.
    pub fn is_open(&self) -> bool {
        self.closed.is_none()
    }

    /// The registry entry, for a breach.
    pub fn registry_id(&self) -> Option<&str> {
        self.detected.registry_id.as_deref()
    }

    /// The clock of the finding at `now`: detection, reporting and revocation times.
    pub fn clock(&self, now: OffsetDateTime) -> Clock {
        Clock {
            now,
            detected_at: self.detected_at,
            reported_at: self.reported.as_ref().map(|r| r.0),
            revoked_at: self.revoked.as_ref().map(|r| r.0),
        }
    }

    /// The reporting deadline at `now`, if the detection recorded a term for it.
    pub fn report_deadline(&self, now: OffsetDateTime) -> Option<Deadline> {
        let within = breach::parse_duration(self.detected.report_within.as_deref()?).ok()?;
        Some(deadline(self.detected_at + within, self.reported.as_ref().map(|r| r.0), now))
    }

    /// The revocation deadline at `now`, if the detection recorded a term for it.
    pub fn revoke_deadline(&self, now: OffsetDateTime) -> Option<Deadline> {
        let within = breach::parse_duration(self.detected.revoke_within.as_deref()?).ok()?;
        Some(deadline(self.detected_at + within, self.revoked.as_ref().map(|r| r.0), now))
    }
}

/// A deadline `by`, met at `done` if that is known, as it stands at `now`.
pub fn deadline(by: OffsetDateTime, done: Option<OffsetDateTime>, now: OffsetDateTime) -> Deadline {
    let (status, hours_left) = breach::deadline_status(now, by, done);
    Deadline { by, status, hours_left, done_at: done }
}

/// Incidents by id, folded from the record's events.
#[derive(Debug, Clone, Default)]
pub struct Incidents {
    by_id: BTreeMap<String, Incident>,
}

/// Why an action cannot be recorded.
#[derive(Debug, Clone)]
pub enum Lookup<'a> {
    /// The incidents it names (one for a fingerprint, every open one of a registry entry).
    Found(Vec<&'a Incident>),
    /// Nothing matches.
    NotFound,
    /// A fingerprint prefix that names more than one incident.
    Ambiguous(Vec<&'a str>),
}

impl Incidents {
    /// Folds events (in record order) into incidents. Events before an incident's `detected`
    /// event, and events after it closed, are ignored; the earliest `detected` wins.
    pub fn fold(events: &[Event]) -> Incidents {
        let mut by_id: BTreeMap<String, Incident> = BTreeMap::new();
        for e in events {
            let Some(kind) = e.event else { continue };
            let Ok(at) = breach::parse_date(&e.at) else { continue };
            if kind == Kind::Detected {
                match by_id.get_mut(&e.id) {
                    None => {
                        by_id.insert(
                            e.id.clone(),
                            Incident {
                                id: e.id.clone(),
                                detected: e.clone(),
                                detected_at: at,
                                revoked: None,
                                reported: None,
                                closed: None,
                                events: vec![e.clone()],
                            },
                        );
                    }
                    // Two scans that raced both saw it first: the earlier time counts.
                    Some(inc) if inc.is_open() && at < inc.detected_at => {
                        inc.detected_at = at;
                        inc.detected = e.clone();
                        inc.events.push(e.clone());
                    }
                    Some(_) => {}
                }
                continue;
            }
            let Some(inc) = by_id.get_mut(&e.id) else { continue };
            if !inc.is_open() {
                continue;
            }
            let slot = match kind {
                Kind::Revoked => &mut inc.revoked,
                Kind::Reported => &mut inc.reported,
                Kind::Closed => &mut inc.closed,
                Kind::Detected => continue,
            };
            if slot.is_none() {
                *slot = Some((at, e.clone()));
            }
            inc.events.push(e.clone());
        }
        Incidents { by_id }
    }

    /// The incident of a fingerprint.
    pub fn get(&self, id: &str) -> Option<&Incident> {
        self.by_id.get(id)
    }

    /// Every incident, by id.
    pub fn iter(&self) -> impl Iterator<Item = &Incident> {
        self.by_id.values()
    }

    /// Open incidents.
    pub fn open(&self) -> impl Iterator<Item = &Incident> {
        self.by_id.values().filter(|i| i.is_open())
    }

    /// The incidents `what` names: a fingerprint or a unique prefix of one (at least 6
    /// characters, with or without `v1:`), or a registry entry id (its open incidents).
    pub fn find(&self, what: &str) -> Lookup<'_> {
        if let Some(i) = self.by_id.get(what) {
            return Lookup::Found(vec![i]);
        }
        let by_entry: Vec<&Incident> = self.open().filter(|i| i.registry_id() == Some(what)).collect();
        if !by_entry.is_empty() {
            return Lookup::Found(by_entry);
        }
        if what.trim_start_matches("v1:").len() >= 6 {
            let hits: Vec<&Incident> = self
                .by_id
                .values()
                .filter(|i| i.id.starts_with(what) || i.id.trim_start_matches("v1:").starts_with(what))
                .collect();
            return match hits.len() {
                0 => Lookup::NotFound,
                1 => Lookup::Found(hits),
                _ => Lookup::Ambiguous(hits.iter().map(|i| i.id.as_str()).collect()),
            };
        }
        Lookup::NotFound
    }
}

/// What a scan learned from the record, per finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracked {
    /// The finding's clock: its first detection and the actions taken.
    pub clock: Clock,
    /// Whether this scan saw it first (its `detected` event was just written).
    pub new: bool,
    /// Whether its incident is closed.
    pub closed: bool,
}

/// Looks each finding up in the record and writes a `detected` event for those it does not
/// have, all under one lock. `detections[i]` is the event to write for finding `i` if it is new
/// (its `at` should be `now`). Returns one [`Tracked`] per finding, and the record's damaged
/// lines.
pub fn track(
    record: &Record,
    now: OffsetDateTime,
    detections: Vec<Event>,
) -> crate::Result<(Vec<Tracked>, Vec<Damaged>)> {
    let mut locked = record.lock()?;
    let (events, damaged) = locked.read()?;
    let incidents = Incidents::fold(&events);
    let mut out = Vec::with_capacity(detections.len());
    let mut written: BTreeMap<String, ()> = BTreeMap::new();
    let mut append = Vec::new();
    for e in detections {
        match incidents.get(&e.id) {
            Some(inc) => out.push(Tracked { clock: inc.clock(now), new: false, closed: !inc.is_open() }),
            None => {
                // One finding can be reported twice (the same secret twice at one path): one event.
                let first = written.insert(e.id.clone(), ()).is_none();
                out.push(Tracked { clock: Clock::fresh(now), new: first, closed: false });
                if first {
                    append.push(e);
                }
            }
        }
    }
    locked.append(&append)?;
    Ok((out, damaged))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> OffsetDateTime {
        breach::parse_date(s).expect("time")
    }

    fn detected(id: &str, t: &str, registry: Option<&str>) -> Event {
        Event {
            registry_id: registry.map(String::from),
            report_within: Some("24h".into()),
            revoke_within: Some("4h".into()),
            ..Event::new(Kind::Detected, id, t)
        }
    }

    #[test]
    fn the_first_detection_fixes_the_deadlines_and_hours_go_negative() {
        let inc = Incidents::fold(&[
            detected("v1:abcdef01", "2026-03-01T10:00:00Z", Some("acme")),
            detected("v1:abcdef01", "2026-03-01T18:00:00Z", Some("acme")),
        ]);
        let i = inc.get("v1:abcdef01").expect("incident");
        assert_eq!(i.detected_at, at("2026-03-01T10:00:00Z"));
        let r1 = i.report_deadline(at("2026-03-01T11:00:00Z")).expect("report");
        let r2 = i.report_deadline(at("2026-03-01T12:00:00Z")).expect("report");
        assert_eq!(r1.by, r2.by);
        assert_eq!((r1.hours_left, r2.hours_left), (23, 22));
        assert_eq!(r1.status, DeadlineStatus::Pending);
        let late = i.revoke_deadline(at("2026-03-01T16:30:00Z")).expect("revoke");
        assert_eq!((late.status, late.hours_left), (DeadlineStatus::Missed, -3));
    }

    #[test]
    fn an_action_stops_its_deadline_met_or_missed_for_good() {
        let mut rev = Event::new(Kind::Revoked, "v1:a", "2026-03-01T12:00:00Z");
        rev.note = Some("rotated".into());
        let rep = Event::new(Kind::Reported, "v1:a", "2026-03-03T10:00:00Z");
        let inc = Incidents::fold(&[detected("v1:a", "2026-03-01T10:00:00Z", None), rev, rep]);
        let i = inc.get("v1:a").expect("incident");
        let now = at("2026-03-09T00:00:00Z");
        let revoke = i.revoke_deadline(now).expect("revoke");
        assert_eq!((revoke.status, revoke.hours_left), (DeadlineStatus::Met, 2));
        let report = i.report_deadline(now).expect("report");
        assert_eq!((report.status, report.hours_left), (DeadlineStatus::Missed, -24));
        assert_eq!(report.hours_left, i.report_deadline(at("2027-01-01T00:00:00Z")).expect("r").hours_left);
    }

    #[test]
    fn closed_stays_closed_and_later_events_are_ignored() {
        let inc = Incidents::fold(&[
            Event::new(Kind::Revoked, "v1:a", "2026-03-01T09:00:00Z"),
            detected("v1:a", "2026-03-01T10:00:00Z", None),
            Event { reason: Some("false positive".into()), ..Event::new(Kind::Closed, "v1:a", "2026-03-01T11:00:00Z") },
            Event::new(Kind::Reported, "v1:a", "2026-03-01T12:00:00Z"),
            detected("v1:a", "2026-03-02T10:00:00Z", None),
        ]);
        let i = inc.get("v1:a").expect("incident");
        assert!(!i.is_open());
        assert!(i.revoked.is_none() && i.reported.is_none());
        assert_eq!(i.detected_at, at("2026-03-01T10:00:00Z"));
        assert_eq!(inc.open().count(), 0);
    }

    #[test]
    fn track_writes_each_first_sight_once_and_keeps_the_first_time() {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = Record::new(dir.path().join("incidents.jsonl"));
        let t1 = at("2026-03-01T10:00:00Z");
        let t2 = at("2026-03-01T11:00:00Z");
        let (first, _) = track(
            &r,
            t1,
            vec![detected("v1:a", "2026-03-01T10:00:00Z", None), detected("v1:a", "2026-03-01T10:00:00Z", None)],
        )
        .expect("track");
        assert_eq!(first.iter().map(|t| t.new).collect::<Vec<_>>(), vec![true, false]);
        let (second, _) = track(
            &r,
            t2,
            vec![detected("v1:a", "2026-03-01T11:00:00Z", None), detected("v1:b", "2026-03-01T11:00:00Z", None)],
        )
        .expect("track");
        assert_eq!(
            second[0],
            Tracked {
                clock: Clock { now: t2, detected_at: t1, reported_at: None, revoked_at: None },
                new: false,
                closed: false
            }
        );
        assert!(second[1].new);
        assert_eq!(r.read().expect("read").0.len(), 2);
    }

    #[test]
    fn find_by_fingerprint_prefix_or_registry_id() {
        let inc = Incidents::fold(&[
            detected("v1:abcdef0123", "2026-03-01T10:00:00Z", Some("acme")),
            detected("v1:abcdef9999", "2026-03-01T10:00:00Z", Some("acme")),
            detected("v1:0123456789", "2026-03-01T10:00:00Z", None),
        ]);
        let ids = |l: Lookup<'_>| match l {
            Lookup::Found(v) => v.iter().map(|i| i.id.clone()).collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        };
        assert_eq!(ids(inc.find("acme")).len(), 2);
        assert_eq!(ids(inc.find("012345")), vec!["v1:0123456789"]);
        assert_eq!(ids(inc.find("v1:abcdef01")), vec!["v1:abcdef0123"]);
        assert!(matches!(inc.find("abcdef"), Lookup::Ambiguous(v) if v.len() == 2));
        assert!(matches!(inc.find("0123"), Lookup::NotFound));
        assert!(matches!(inc.find("nobody"), Lookup::NotFound));
    }
}
