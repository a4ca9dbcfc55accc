//! The incident record on disk: `.ndaguard/incidents.jsonl`, one JSON event per line, only ever
//! appended to.
//!
//! Events hold fingerprints and metadata, never a token. Every reader and writer first takes an
//! exclusive advisory lock on a lock file beside the record (`incidents.jsonl.lock`), so that two
//! scans or a scan and `ndaguard incident …` running at once never interleave or lose a line: the
//! record itself is only opened for appending, and the lock file is never removed (removing it
//! would let a third process lock a new file while the second still holds the old one).
//!
//! A line that does not parse (a crash half-way through a write, a hand edit) is reported with
//! its line number and skipped; the next append starts on a fresh line so it cannot be glued to
//! the damaged one.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Default record location, relative to the repository root.
pub const DEFAULT_PATH: &str = ".ndaguard/incidents.jsonl";

/// The record format version each event carries.
pub const VERSION: u32 = 1;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A scan saw the finding for the first time (or for the first time since it was closed).
    Detected,
    /// The secret was revoked at its provider.
    Revoked,
    /// The leak was reported to the counterparty.
    Reported,
    /// The incident is over.
    Closed,
}

impl Kind {
    /// The name used in the record.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Detected => "detected",
            Kind::Revoked => "revoked",
            Kind::Reported => "reported",
            Kind::Closed => "closed",
        }
    }
}

/// One line of the record. `detected` events carry what the scan knew about the finding;
/// the other kinds carry who or why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Record format version.
    #[serde(default)]
    pub v: u32,
    /// What happened.
    pub event: Option<Kind>,
    /// The finding's fingerprint (`v1:…`): the incident's id.
    pub id: String,
    /// When it happened, RFC 3339 UTC (`--now` or `--at`; the clock otherwise).
    pub at: String,
    /// When the line was written, if that differs from `at` (an action recorded afterwards).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_at: Option<String>,
    /// Rule that matched (`detected`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<String>,
    /// Severity of the rule (`detected`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// Path where the secret was found (`detected`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// 1-based line (`detected`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The secret's length in bytes (`detected`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<usize>,
    /// Commit that brought the secret in, when known (`detected`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Since when the secret has been exposed, RFC 3339 (`detected`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_since: Option<String>,
    /// Registry entry id, for a breach (`detected`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_id: Option<String>,
    /// The agreement (`detected`, breaches).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nda: Option<String>,
    /// The other party (`detected`, breaches).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counterparty: Option<String>,
    /// Owner on our side (`detected`, breaches).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// What the token may do (`detected`, breaches).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scope: Vec<String>,
    /// Who must be told (`detected`, breaches).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<String>,
    /// Reporting deadline after detection, e.g. `24h` (`detected`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_within: Option<String>,
    /// Revocation deadline after detection, e.g. `4h` (`detected`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke_within: Option<String>,
    /// Whom the leak was reported to (`reported`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Why the incident was closed (`closed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A free-form note (any event).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Event {
    /// An event of `kind` for incident `id` at `at`.
    pub fn new(kind: Kind, id: &str, at: &str) -> Event {
        Event { v: VERSION, event: Some(kind), id: id.to_string(), at: at.to_string(), ..Event::default() }
    }
}

/// A line of the record that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damaged {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub message: String,
}

/// The record file and its lock file.
#[derive(Debug, Clone)]
pub struct Record {
    path: PathBuf,
}

/// An open, locked record: read it, then append to it; the lock is released when it is dropped.
pub struct Locked {
    path: PathBuf,
    file: File,
    _lock: File,
    /// Whether the file ends without a newline (a torn last line).
    torn: bool,
}

impl Record {
    /// The record at `path` (created on the first append).
    pub fn new(path: impl Into<PathBuf>) -> Record {
        Record { path: path.into() }
    }

    /// Where the record is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The lock file beside the record.
    pub fn lock_path(&self) -> PathBuf {
        let mut name = self.path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
        name.push(".lock");
        self.path.with_file_name(name)
    }

    /// Opens (creating the record, its folder and the lock file if needed) and locks the record.
    /// Blocks while another process holds the lock.
    pub fn lock(&self) -> Result<Locked> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let lock_path = self.lock_path();
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| Error::io(&lock_path, e))?;
        fs4::FileExt::lock(&lock).map_err(|e| Error::io(&lock_path, e))?;
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| Error::io(&self.path, e))?;
        Ok(Locked { path: self.path.clone(), file, _lock: lock, torn: false })
    }

    /// Reads the whole record under the lock: its events in order, and the lines skipped.
    /// A record that does not exist yet is empty.
    pub fn read(&self) -> Result<(Vec<Event>, Vec<Damaged>)> {
        if !self.path.exists() {
            return Ok((Vec::new(), Vec::new()));
        }
        self.lock()?.read()
    }

    /// Appends `events` under the lock.
    pub fn append(&self, events: &[Event]) -> Result<()> {
        let mut l = self.lock()?;
        l.read()?;
        l.append(events)
    }
}

impl Locked {
    /// Reads every event written so far.
    pub fn read(&mut self) -> Result<(Vec<Event>, Vec<Damaged>)> {
        let mut text = Vec::new();
        self.file.seek(SeekFrom::Start(0)).map_err(|e| Error::io(&self.path, e))?;
        self.file.read_to_end(&mut text).map_err(|e| Error::io(&self.path, e))?;
        self.torn = !text.is_empty() && !text.ends_with(b"\n");
        Ok(parse(&text))
    }

    /// Appends `events`, one line each, in one write. Call [`Locked::read`] first, so that a
    /// torn last line is known and the new lines start on a line of their own.
    pub fn append(&mut self, events: &[Event]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::with_capacity(events.len() * 256);
        if self.torn {
            buf.push(b'\n');
        }
        for e in events {
            serde_json::to_writer(&mut buf, e).map_err(|e| Error::io(&self.path, std::io::Error::other(e)))?;
            buf.push(b'\n');
        }
        self.file.write_all(&buf).map_err(|e| Error::io(&self.path, e))?;
        self.file.flush().map_err(|e| Error::io(&self.path, e))?;
        self.file.sync_data().map_err(|e| Error::io(&self.path, e))?;
        self.torn = false;
        Ok(())
    }
}

/// Parses record text: events in order, and the lines that are not events (blank lines are
/// neither).
pub fn parse(text: &[u8]) -> (Vec<Event>, Vec<Damaged>) {
    let mut events = Vec::new();
    let mut damaged = Vec::new();
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        match serde_json::from_slice::<Event>(line) {
            Ok(e) if e.event.is_none() => {
                damaged.push(Damaged { line: i + 1, message: "no `event` field".into() });
            }
            Ok(e) if e.id.is_empty() => {
                damaged.push(Damaged { line: i + 1, message: "empty `id`".into() });
            }
            Ok(e) if crate::breach::parse_date(&e.at).is_err() => {
                damaged.push(Damaged { line: i + 1, message: format!("bad time `at`: {:?}", e.at) });
            }
            Ok(e) if e.v > VERSION => damaged.push(Damaged {
                line: i + 1,
                message: format!("event version {} (this ndaguard reads version {VERSION})", e.v),
            }),
            Ok(e) => events.push(e),
            Err(err) => damaged.push(Damaged { line: i + 1, message: format!("not a JSON event ({err})") }),
        }
    }
    (events, damaged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detected(id: &str, at: &str) -> Event {
        Event { path: Some("a.env".into()), rule_id: Some("r".into()), ..Event::new(Kind::Detected, id, at) }
    }

    #[test]
    fn appends_and_reads_back_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = Record::new(dir.path().join(".ndaguard/incidents.jsonl"));
        assert_eq!(r.read().expect("empty").0, vec![]);
        r.append(&[detected("v1:aa", "2026-03-01T10:00:00Z")]).expect("append");
        let mut rep = Event::new(Kind::Reported, "v1:aa", "2026-03-01T12:00:00Z");
        rep.to = Some("security@acme.example".into());
        r.append(&[rep.clone()]).expect("append");
        let (events, damaged) = r.read().expect("read");
        assert!(damaged.is_empty());
        assert_eq!(events.len(), 2);
        assert_eq!(events[1], rep);
        let text = std::fs::read_to_string(r.path()).expect("text");
        assert_eq!(text.lines().count(), 2);
        assert!(text.lines().all(|l| l.starts_with("{\"v\":1,\"event\":")), "{text}");
        assert!(r.lock_path().ends_with("incidents.jsonl.lock"));
    }

    #[test]
    fn damaged_lines_are_reported_with_their_number_and_skipped() {
        let text = b"{\"v\":1,\"event\":\"detected\",\"id\":\"v1:a\",\"at\":\"2026-03-01T10:00:00Z\"}\n\
not json\n\n{\"v\":1,\"event\":\"exploded\",\"id\":\"v1:a\",\"at\":\"2026-03-01T10:00:00Z\"}\n\
{\"v\":1,\"event\":\"closed\",\"id\":\"v1:a\",\"at\":\"yesterday\"}\n\
{\"v\":1,\"event\":\"closed\",\"id\":\"v1:a\",\"at\":\"2026-03-02T10:00:00Z\"}\n";
        let (events, damaged) = parse(text);
        assert_eq!(events.len(), 2);
        assert_eq!(damaged.iter().map(|d| d.line).collect::<Vec<_>>(), vec![2, 4, 5]);
        assert!(damaged[2].message.contains("yesterday"), "{:?}", damaged[2]);
    }

    #[test]
    fn a_torn_last_line_does_not_swallow_the_next_event() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("incidents.jsonl");
        std::fs::write(
            &path,
            "{\"v\":1,\"event\":\"detected\",\"id\":\"v1:a\",\"at\":\"2026-03-01T10:00:00Z\"}\n{\"v\":1,\"ev",
        )
        .expect("write");
        let r = Record::new(&path);
        r.append(&[detected("v1:b", "2026-03-01T11:00:00Z")]).expect("append");
        let (events, damaged) = r.read().expect("read");
        assert_eq!(events.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), vec!["v1:a", "v1:b"]);
        assert_eq!(damaged, vec![Damaged { line: 2, message: damaged[0].message.clone() }]);
    }

    #[test]
    fn concurrent_writers_lose_no_event() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("incidents.jsonl");
        std::thread::scope(|s| {
            for t in 0..8 {
                let path = &path;
                s.spawn(move || {
                    // Each thread has its own handle (its own open file descriptions), as
                    // separate processes would.
                    let r = Record::new(path);
                    for i in 0..40 {
                        let mut l = r.lock().expect("lock");
                        let (seen, _) = l.read().expect("read");
                        let mut e = detected(&format!("v1:{t}-{i}"), "2026-03-01T10:00:00Z");
                        e.note = Some(format!("after {}", seen.len()));
                        l.append(&[e]).expect("append");
                    }
                });
            }
        });
        let (events, damaged) = Record::new(&path).read().expect("read");
        assert!(damaged.is_empty(), "{damaged:?}");
        assert_eq!(events.len(), 320);
        // Under the lock each writer saw every earlier event: the counts are 0..320 once each.
        let mut seen: Vec<usize> = events
            .iter()
            .map(|e| e.note.as_deref().and_then(|n| n.strip_prefix("after ")).and_then(|n| n.parse().ok()).unwrap_or(0))
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..320).collect::<Vec<_>>());
    }
}
