//! The scan pipeline: resolves a request's settings, runs the source it names on worker threads
//! (each with its own sink), and finishes: baseline, breaches and deadlines, sorting, totals.
//!
//! It owns threads, shared collectors and the progress line; it has no format- or
//! rule-specific code.

use std::io::{self, IsTerminal, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::blob::{BlobSink, Collected, Hit, Origin, Scanned, STREAM_ABOVE};
use crate::cancel::Cancel;
use crate::error::Error;
use crate::finding::{self, Finding, SkipReason, Skipped, Summary};
use crate::incident;
use crate::report::{self, Mode, RuleMeta, ScanInfo, ScanReport, Tool};
use crate::scan::ScanSink;
use crate::settings::{ScanRequest, Settings, Target};
use crate::source::git::{self, GitOptions};
use crate::source::stdin::Interruptible;
use crate::source::tree::{self, Content, Visitor, WalkOptions, Walked};
use crate::source::utf16::Utf16Reader;

/// Runs the scan `req` asks for and returns the finished report. `cancel` ends it early, with
/// what was found so far.
pub(crate) fn run(req: &ScanRequest, cancel: &Cancel) -> Result<ScanReport> {
    let started = Instant::now();
    let started_at = OffsetDateTime::now_utc();
    let target = req.target();
    if target == Target::Tree {
        // Before any thread allocates (see `malloc`).
        crate::source::malloc::cap_arenas();
        crate::source::malloc::fix_mmap_threshold();
    }
    // Corrupt loose objects are hidden behind a temporary object directory until the run ends.
    let _objects = git::ObjectGuards;
    let meter = Arc::new(git::Meter::default());
    let bar = (target == Target::History).then(|| HistoryProgress::start(req, &meter));
    // A history's commits and changes are read while the rules load (they need none).
    let run = git::HistoryRun {
        root: &req.root,
        threads: req.threads.unwrap_or(0),
        cache: req.cache.as_deref(),
        shard: req.shard,
        cancel,
        meter: &meter,
    };
    let (settings, plan) = std::thread::scope(|s| {
        let plan = (target == Target::History).then(|| s.spawn(|| git::prepare_history(&run)));
        let settings = Settings::resolve(req);
        let plan = plan.map(|h| h.join().unwrap_or_else(|_| Err(Error::Usage("reading the history failed".into()))));
        (settings, plan)
    });
    let settings = settings?;
    let scanner = &settings.scanner;
    let git_opts = || GitOptions { root: settings.root.clone(), max_file_size: settings.max_file_size };
    let (mode, range, collected) = match target {
        Target::History => {
            let plan = plan.unwrap_or_else(|| Err(Error::Usage("the history was not read".into())))?;
            let make_sink = || ScanSink::new(scanner, cancel);
            let how = (settings.identity, settings.max_file_size);
            (Mode::History, None, git::scan_history(plan, &run, how, make_sink)?)
        }
        Target::Range(r) => {
            let collected = git::scan_range(&mut ScanSink::new(scanner, cancel), &git_opts(), &r, cancel)?;
            (Mode::Range, Some(r), collected)
        }
        Target::Staged => {
            (Mode::Staged, None, git::scan_staged(&mut ScanSink::new(scanner, cancel), &git_opts(), cancel)?)
        }
        Target::Stdin => (Mode::Stdin, None, scan_stdin(&settings, cancel)?),
        Target::Tree => (Mode::Tree, None, scan_tree(&settings, req, cancel)),
    };
    if let Some(b) = bar {
        b.stop();
    }
    let collected = apply_baseline(settings.baseline.as_ref(), collected);
    Ok(finish(&settings, (mode, range, req.shard), collected, (started, started_at), cancel))
}

/// Drops hits whose fingerprints the baseline lists, counting them as suppressed.
fn apply_baseline(known: Option<&std::collections::HashSet<String>>, mut c: Collected) -> Collected {
    let Some(known) = known else { return c };
    let before = c.hits.len();
    c.hits.retain(|h| !known.contains(&h.finding.fingerprint));
    c.suppressed += (before - c.hits.len()) as u64;
    c
}

/// What the tree's worker threads share: the results and the progress counters.
#[derive(Default)]
struct Shared {
    collected: Mutex<Collected>,
    files: AtomicU64,
    bytes: AtomicU64,
}

/// One worker thread of a tree scan.
struct TreeVisitor<'s> {
    sink: ScanSink<'s>,
    shared: Arc<Shared>,
    local: Collected,
    max_file_size: u64,
    cancel: Cancel,
}

impl Visitor for TreeVisitor<'_> {
    fn visit(&mut self, entry: Walked) -> bool {
        if self.cancel.is_cancelled() {
            return false;
        }
        match entry {
            Walked::Skip(s) => self.local.skipped.push(s),
            Walked::File { path, rel } => {
                if self.sink.excludes(&rel) {
                    self.local.skipped.push(Skipped {
                        path: rel,
                        reason: SkipReason::Allowlisted,
                        detail: String::new(),
                    });
                    return true;
                }
                let scanned = match tree::open_listed(&path) {
                    Err((reason, detail)) => Scanned::skipped(reason, detail),
                    Ok((mut file, size)) => match self.scan_large(&mut file, size, &rel) {
                        Some(s) => s,
                        None => {
                            match tree::read_open(file, size, self.max_file_size, || self.sink.reads_binary(&rel)) {
                                Content::Skip(reason, detail) => Scanned::skipped(reason, detail),
                                Content::Text(data) => {
                                    self.sink.scan(&data, None, Origin { path: &rel, provenance: None })
                                }
                            }
                        }
                    },
                };
                self.add(&path, &rel, scanned);
            }
        }
        true
    }
}

impl TreeVisitor<'_> {
    /// Counts a scanned file; breaches carry the file's modification time as their exposure.
    fn add(&mut self, path: &Path, rel: &str, mut scanned: Scanned) {
        if scanned.skipped.is_none() {
            self.shared.files.fetch_add(1, Ordering::Relaxed);
            self.shared.bytes.fetch_add(scanned.bytes, Ordering::Relaxed);
            if scanned.hits.iter().any(|h| h.registry_entry.is_some()) {
                let mtime = std::fs::metadata(path)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map(|d| d.as_secs() as i64);
                for h in scanned.hits.iter_mut() {
                    h.exposed_since = mtime;
                }
            }
        }
        self.local.add(rel, scanned);
    }

    /// Scans a file larger than one chunk in bounded memory (UTF-16 transcoded as it is read);
    /// `None` if the file is small and the caller should read it at once.
    fn scan_large(&mut self, file: &mut std::fs::File, size: u64, rel: &str) -> Option<Scanned> {
        if size <= STREAM_ABOVE as u64 || size > self.max_file_size {
            return None;
        }
        let mut probe = vec![0u8; tree::PROBE];
        let n = match file.read(&mut probe) {
            Ok(n) => n,
            Err(e) => return Some(Scanned::skipped(SkipReason::Unreadable, e.to_string())),
        };
        probe.truncate(n);
        let origin = Origin { path: rel, provenance: None };
        let streamed = if let Some((little, bom)) = tree::utf16_encoding(&probe) {
            // UTF-16 (with a byte-order mark or without): transcoded as it is read.
            let mut utf8 = Utf16Reader::new(probe.split_off(bom), file, little);
            self.sink.scan_stream(&mut utf8, Vec::new(), origin)
        } else if tree::is_binary(&probe) && !self.sink.reads_binary(rel) {
            return Some(Scanned::skipped(SkipReason::Binary, tree::BINARY_DETAIL.into()));
        } else {
            self.sink.scan_stream(file, probe, origin)
        };
        Some(match streamed {
            Ok(s) => s,
            Err(e) => Scanned::skipped(SkipReason::Unreadable, format!("read failed mid-file: {e}")),
        })
    }
}

impl Drop for TreeVisitor<'_> {
    fn drop(&mut self) {
        let local = std::mem::take(&mut self.local);
        let mut all = match self.shared.collected.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        all.merge(local);
    }
}

/// Scans the tree and says when ignore files excluded every file or most of them; in CI, a
/// tree whose ignore files exclude every file is scanned again without them.
fn scan_tree(s: &Settings, req: &ScanRequest, cancel: &Cancel) -> Collected {
    let (mut c, excluded) = walk_tree(s, req.progress, req.no_ignore, cancel);
    if excluded.files + excluded.folders == 0 || cancel.is_cancelled() {
        return c;
    }
    let count = |n: u64, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
    let what = format!("{} and {}", count(excluded.files, "file"), count(excluded.folders, "folder"));
    const FILES: &str = "ignore files (.gitignore, .ignore, .ndaguardignore)";
    if c.files_scanned == 0 && req.ci {
        let (mut again, _) = walk_tree(s, req.progress, true, cancel);
        again.notes.extend(c.notes);
        again.notes.push(format!(
            "warning: {FILES} excluded every file ({what}); in CI such ignore files are not honoured: \
             the tree was scanned without them"
        ));
        return again;
    }
    if c.files_scanned == 0 {
        c.notes.push(format!(
            "warning: {FILES} excluded every file ({what}); nothing was scanned (--no-ignore scans them)"
        ));
    } else if excluded.files >= MOST_EXCLUDED && excluded.files > c.files_scanned {
        c.notes.push(format!(
            "warning: {FILES} excluded most files ({what} excluded, {} scanned; --no-ignore scans them)",
            c.files_scanned
        ));
    }
    c
}

/// How many files ignore files must exclude (and more than are scanned) for a warning.
const MOST_EXCLUDED: u64 = 10;

/// One walk of the tree: what it collected and what ignore files excluded.
fn walk_tree(s: &Settings, progress: bool, no_ignore: bool, cancel: &Cancel) -> (Collected, tree::Excluded) {
    let shared = Arc::new(Shared::default());
    let bar = Progress::start(progress, Arc::clone(&shared));
    let opts = WalkOptions { threads: s.threads, no_ignore };
    let excluded = tree::walk(&s.walk_roots, &s.project_dir, &opts, || TreeVisitor {
        sink: ScanSink::new(&s.scanner, cancel),
        shared: Arc::clone(&shared),
        local: Collected::default(),
        max_file_size: s.max_file_size,
        cancel: cancel.clone(),
    });
    bar.stop();
    let mut guard = match shared.collected.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    };
    (std::mem::take(&mut *guard), excluded)
}

/// Scans standard input: the first chunk decides (binary, UTF-16 or text); text longer than one
/// chunk is scanned in chunks, so that memory stays bounded however much is piped in. Only the
/// first `--max-file-size` bytes are read, as of a file; a longer input gets a note saying so.
fn scan_stdin(s: &Settings, cancel: &Cancel) -> Result<Collected> {
    // Ends early on Ctrl-C even while the writer keeps the pipe open.
    let mut stdin = Interruptible::stdin(cancel);
    let mut c = scan_stdin_limited(s, cancel, (&mut stdin).take(s.max_file_size))?;
    if s.max_file_size < u64::MAX && !cancel.is_cancelled() && stdin.read(&mut [0u8; 1]).is_ok_and(|n| n > 0) {
        c.notes.push(format!(
            "standard input is larger than --max-file-size ({}): only its first {} bytes were scanned",
            crate::report::text::human_bytes(s.max_file_size),
            s.max_file_size
        ));
    }
    Ok(c)
}

fn scan_stdin_limited(s: &Settings, cancel: &Cancel, mut stdin: impl Read) -> Result<Collected> {
    let mut head = Vec::new();
    (&mut stdin).take(STREAM_ABOVE as u64 + 1).read_to_end(&mut head).context("cannot read standard input")?;
    let mut c = Collected::default();
    let origin = Origin { path: "<stdin>", provenance: None };
    let mut sink = ScanSink::new(&s.scanner, cancel);
    if head.len() > STREAM_ABOVE {
        let scanned = if let Some((little, bom)) = tree::utf16_encoding(&head) {
            // UTF-16, transcoded as it is read.
            let mut utf8 = Utf16Reader::new(head.split_off(bom), &mut stdin, little);
            Some(sink.scan_stream(&mut utf8, Vec::new(), origin))
        } else if !tree::is_binary(&head) {
            Some(sink.scan_stream(&mut stdin, std::mem::take(&mut head), origin))
        } else {
            None
        };
        if let Some(scanned) = scanned {
            c.add("<stdin>", scanned.context("cannot read standard input")?);
            return Ok(c);
        }
    }
    // Small input, binary, or UTF-16 (transcoded whole): read the rest, then classify.
    stdin.read_to_end(&mut head).context("cannot read standard input")?;
    let scanned = match tree::classify(head) {
        Content::Skip(reason, detail) => Scanned::skipped(reason, detail),
        Content::Text(data) => sink.scan(&data, None, origin),
    };
    c.add("<stdin>", scanned);
    Ok(c)
}

/// Sorts, totals and packages collected results into a report.
fn finish(
    s: &Settings,
    (mode, range, shard): (Mode, Option<String>, Option<git::Shard>),
    mut c: Collected,
    (started, started_at): (Instant, OffsetDateTime),
    cancel: &Cancel,
) -> ScanReport {
    let mut findings = incidents(s, mode, std::mem::take(&mut c.hits));
    finding::sort(&mut findings);
    c.skipped.sort();
    let mut summary = Summary {
        files_scanned: c.files_scanned,
        files_skipped: c.skipped.len() as u64,
        bytes_scanned: c.bytes_scanned,
        findings: findings.len() as u64,
        breaches: findings.iter().filter(|f| f.breach.is_some()).count() as u64,
        suppressed: c.suppressed,
        errors: c.skipped.iter().filter(|s| s.reason.is_error()).count() as u64,
        duration_ms: started.elapsed().as_millis() as u64,
        interrupted: cancel.is_cancelled(),
        notes: c.notes,
        ..Summary::default()
    };
    for sk in &c.skipped {
        *summary.skipped_by_reason.entry(sk.reason.as_str().to_string()).or_default() += 1;
    }
    let fmt = |t: OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
    let (started_at, finished_at) =
        if s.fixed_clock { (s.now, s.now) } else { (started_at, OffsetDateTime::now_utc()) };
    let mut rules: Vec<RuleMeta> = s.scanner.engine().rules().iter().map(RuleMeta::of).collect();
    rules.push(RuleMeta::registered_token());
    ScanReport {
        version: 1,
        tool: Tool::default(),
        scan: ScanInfo {
            mode,
            root: finding::display_path(&s.root),
            range,
            shard: shard.map(|sh| format!("{}/{}", sh.index, sh.count)),
            detected_at: fmt(s.now),
            started_at: fmt(started_at),
            finished_at: fmt(finished_at),
        },
        findings,
        skipped: c.skipped,
        summary,
        rules,
    }
}

/// Gives the hits their breach or policy deadlines counted from their first detection (the
/// incident record), reports the record's damaged lines, and posts new breaches to `--notify`.
/// Neither a record problem nor a failed delivery changes what the exit code means.
fn incidents(s: &Settings, mode: Mode, hits: Vec<Hit>) -> Vec<Finding> {
    let tree_root = (mode == Mode::Tree).then_some(s.root.as_path());
    let ctx = incident::scan::Context {
        now: s.now,
        registry: s.registry.as_deref(),
        policy: &s.policy,
        record: s.incidents.as_ref(),
        tree_root,
        holds: &|data, entry| s.scanner.holds_registered(data, entry),
    };
    let (findings, outcome) = incident::scan::annotate(&ctx, hits);
    let record = s.incidents.as_ref().map(|r| r.path().display().to_string()).unwrap_or_default();
    for d in &outcome.damaged {
        eprintln!("ndaguard: warning: {record}:{}: {}; line skipped", d.line, d.message);
    }
    if let Some(e) = &outcome.record_error {
        eprintln!("ndaguard: warning: the incident record could not be used ({e}); deadlines count from this scan");
    }
    if let Some(n) = &s.notify {
        for &i in &outcome.new_breaches {
            let f = &findings[i];
            let Some(body) = incident::notify::message(f) else { continue };
            let d = n.post(&f.fingerprint, &body);
            if let Some(e) = d.error {
                let id = f.breach.as_ref().map(|b| b.registry_id.as_str()).unwrap_or_default();
                eprintln!(
                    "ndaguard: warning: could not notify {} of breach {id} at {} (incident {}) after {} attempt(s): {e}",
                    n.shown(),
                    finding::escape_text(&f.path),
                    f.fingerprint,
                    d.attempts,
                    e = n.redact_error(&e),
                );
            }
        }
    }
    findings
}

/// A progress line on stderr for scans that last more than a second, only on a terminal.
struct Progress {
    done: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    fn start(enabled: bool, shared: Arc<Shared>) -> Progress {
        let done = Arc::new(AtomicBool::new(false));
        if !enabled || !io::stderr().is_terminal() {
            return Progress { done, handle: None };
        }
        let flag = Arc::clone(&done);
        let handle = std::thread::spawn(move || {
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(1) {
                if flag.load(Ordering::Relaxed) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            while !flag.load(Ordering::Relaxed) {
                let files = shared.files.load(Ordering::Relaxed);
                let bytes = shared.bytes.load(Ordering::Relaxed);
                bar.set_message(format!("scanning: {files} files, {}", report::text::human_bytes(bytes)));
                bar.tick();
                std::thread::sleep(Duration::from_millis(100));
            }
            bar.finish_and_clear();
        });
        Progress { done, handle: Some(handle) }
    }

    fn stop(mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// The progress of a history scan on stderr: a bar on a terminal, or JSON lines
/// (`--progress json`): `{"phase":…,"event":"start","total":…}` when a phase starts, a line of
/// counts about once a second, and `{"phase":"done",…}` at the end.
struct HistoryProgress {
    done: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl HistoryProgress {
    fn start(req: &ScanRequest, meter: &Arc<git::Meter>) -> HistoryProgress {
        let done = Arc::new(AtomicBool::new(false));
        let bar = req.progress && !req.progress_json && io::stderr().is_terminal();
        if !bar && !req.progress_json {
            return HistoryProgress { done, handle: None };
        }
        let (flag, meter, json) = (Arc::clone(&done), Arc::clone(meter), req.progress_json);
        let handle = std::thread::spawn(move || show_history_progress(&meter, &flag, json));
        HistoryProgress { done, handle: Some(handle) }
    }

    fn stop(mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// One progress line: phase, items done of total, bytes, rate and ETA (within the phase).
fn progress_line(meter: &git::Meter, since: Instant, json: bool) -> String {
    let (phase, done, total, bytes) = meter.read();
    let secs = since.elapsed().as_secs_f64().max(1e-3);
    let rate = done as f64 / secs;
    let eta = (rate > 0.0 && total > done).then(|| (total - done) as f64 / rate);
    let tenths = |x: f64| (x * 10.0).round() / 10.0;
    if json {
        let v = serde_json::json!({
            "phase": phase.name(), "done": done, "total": total, "bytes": bytes,
            "rate": tenths(rate), "elapsed_s": tenths(secs), "eta_s": eta.map(tenths),
        });
        return v.to_string();
    }
    let unit = if phase == git::Phase::Blobs { "blobs" } else { "commits" };
    let eta = eta.map(|e| format!(", ETA {:.0}s", e)).unwrap_or_default();
    let bytes = if bytes > 0 { format!(", {}", report::text::human_bytes(bytes)) } else { String::new() };
    format!("{}: {done}/{total} {unit}{bytes}, {rate:.0}/s{eta}", phase.name())
}

fn show_history_progress(meter: &git::Meter, stop: &AtomicBool, json: bool) {
    let bar = (!json).then(|| {
        let b = indicatif::ProgressBar::new(0);
        b.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        if let Ok(style) = indicatif::ProgressStyle::with_template("[{bar:30}] {msg}") {
            b.set_style(style);
        }
        b
    });
    let start = Instant::now();
    let (mut phase, mut since, mut last) = (git::Phase::Start, start, start);
    let announce = |started: Vec<(git::Phase, u64)>| {
        for (p, total) in started.into_iter().filter(|_| json) {
            eprintln!("{}", serde_json::json!({"phase": p.name(), "event": "start", "total": total}));
        }
    };
    while !stop.load(Ordering::Relaxed) {
        announce(meter.take_started());
        let (now, done, total, _) = meter.read();
        if now != phase {
            (phase, since) = (now, Instant::now());
        }
        match &bar {
            Some(b) => {
                b.set_length(total);
                b.set_position(done);
                b.set_message(progress_line(meter, since, false));
            }
            None if phase != git::Phase::Start && last.elapsed() >= Duration::from_secs(1) => {
                eprintln!("{}", progress_line(meter, since, true));
                last = Instant::now();
            }
            None => {}
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    announce(meter.take_started());
    match bar {
        Some(b) => b.finish_and_clear(),
        None => eprintln!("{}", serde_json::json!({"phase": "done", "elapsed_s": start.elapsed().as_secs_f64()})),
    }
}
