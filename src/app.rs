//! The pipeline: wires arguments, configuration, rules, sources, the scanner and the reports.
//!
//! This is the only module that knows every other one. It owns threads and shared collectors;
//! it has no format- or rule-specific code.

use std::collections::HashSet;
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::breach::Policy;
use crate::cli::{self, ColorChoice, Command, ListFormat, RuleSelection, RulesCommand, ScanArgs};
use crate::config::Config;
use crate::engine::Engine;
use crate::error::Error;
use crate::filter::baseline::Baseline;
use crate::filter::Allowlist;
use crate::finding::{self, Finding, SkipReason, Skipped, Summary};
use crate::registry::matcher::Matcher;
use crate::registry::Registry;
use crate::report::{self, Format, Mode, ReportOptions, RuleMeta, ScanInfo, ScanReport, Tool};
use crate::rules;
use crate::scan::{Collected, Origin, ScanOptions, Scanner, ThreadState};
use crate::source::chunked;
use crate::source::fs::{self as fsrc, Content, Entry, Visitor, WalkOptions};
use crate::source::git::{self, GitOptions};

/// Default `--max-file-size`: 10 MiB.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 10 * 1024 * 1024;

/// Exit code: nothing found.
pub const EXIT_CLEAN: u8 = 0;
/// Exit code: findings (unless `--exit-code`).
pub const EXIT_FINDINGS: u8 = 1;
/// Exit code: usage, configuration or I/O error, or something could not be read.
pub const EXIT_ERROR: u8 = 2;
/// Exit code: interrupted by Ctrl-C (partial results were written).
pub const EXIT_INTERRUPTED: u8 = 130;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Whether Ctrl-C was pressed.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

/// Runs a parsed command line; returns the process exit code.
pub fn run(cli: cli::Cli) -> Result<u8> {
    match cli.command {
        Command::Scan(args) => scan_command(&args),
        Command::Rules(r) => match r.command {
            RulesCommand::List(sel) => rules_list(&sel),
            RulesCommand::Check(sel) => rules_check(&sel),
        },
        Command::Registry(args) => crate::registry::command(&args),
        Command::Baseline(args) => baseline_command(&args),
        Command::InstallHook(args) => crate::hook::install(&args),
        Command::Ci(args) => crate::ci::run(&args),
    }
}

fn rules_list(sel: &RuleSelection) -> Result<u8> {
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
                writeln!(out, "{:<w$}  {:<8}  {}", r.id, r.severity.as_str(), r.name)?;
            }
            writeln!(out, "{} rules", rules.len())?;
        }
    }
    emit(&out)?;
    Ok(EXIT_CLEAN)
}

fn rules_check(sel: &RuleSelection) -> Result<u8> {
    let rules = rules::load(&sel.rules, &[], sel.no_builtin)?;
    let report = rules::check::check_rules(rules)?;
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
    emit(&out)?;
    Ok(if report.failures.is_empty() { EXIT_CLEAN } else { EXIT_FINDINGS })
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn emit(bytes: &[u8]) -> Result<()> {
    let mut stdout = io::stdout().lock();
    match stdout.write_all(bytes).and_then(|_| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(e).context("cannot write to standard output"),
    }
}

/// Everything a scan needs, resolved from arguments and configuration.
pub struct Prepared {
    /// The scan root (a directory or file), or `-`.
    pub root: PathBuf,
    /// The configuration.
    pub config: Config,
    /// The scanner.
    pub scanner: Arc<Scanner>,
    /// The scan clock.
    pub now: OffsetDateTime,
    /// `--max-file-size` or the configuration's, or the default.
    pub max_file_size: u64,
    /// Worker threads (0: automatic).
    pub threads: usize,
    /// The NDA registry, if there is one.
    pub registry: Option<Arc<Registry>>,
    /// Deadlines for findings that are not breaches.
    pub policy: Policy,
    /// Whether the clock was fixed with `--now` (reports then carry no wall-clock times).
    pub fixed_clock: bool,
}

/// What a scan reads: the path argument, or the current directory.
fn scan_root(args: &ScanArgs) -> PathBuf {
    args.path.clone().unwrap_or_else(|| PathBuf::from("."))
}

/// Resolves arguments and configuration into a [`Prepared`] scan.
pub fn prepare(args: &ScanArgs) -> Result<Prepared> {
    let now = cli::parse_now(args.now.as_deref())?;
    let root = scan_root(args);
    let stdin = root.as_os_str() == "-";
    if !stdin && !root.exists() {
        return Err(Error::Usage(format!("{}: no such file or directory", root.display())).into());
    }
    let config_dir = if stdin || root.is_file() {
        root.parent().filter(|p| !p.as_os_str().is_empty()).map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
    } else {
        root.clone()
    };
    let config = Config::discover(args.config.as_deref(), &config_dir)?;
    let mut rule_paths = args.rules.clone();
    if let Some(base) = config.base_dir() {
        rule_paths.extend(config.rules.paths.iter().map(|p| base.join(p)));
    }
    // The registry (which can be megabytes of TOML) loads and is indexed while the rules are
    // parsed and indexed.
    let (registry, engine) = std::thread::scope(|s| {
        let registry = s.spawn(|| {
            load_registry(args, &config, &config_dir).map(|r| {
                r.map(|r| {
                    let m = Matcher::new(&r);
                    (r, m)
                })
            })
        });
        let engine = rules::load(&rule_paths, &config.rules.disable, false).and_then(Engine::new);
        let registry = registry.join().unwrap_or_else(|_| Err(anyhow::anyhow!("loading the registry failed")));
        (registry, engine)
    });
    let engine = engine?;
    let (registry, matcher) = match registry? {
        Some((r, m)) => (Some(r), Some(m)),
        None => (None, None),
    };
    let config_name = config.source.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "<config>".into());
    let allowlist = Allowlist::new(&config_name, &config_dir, &config.allowlist)?;
    for id in allowlist.rule_ids() {
        if !engine.rules().iter().any(|r| r.id == id) {
            return Err(
                Error::invalid(&config_name, None, format!("[allowlist.rules.{id}]: no rule has this id")).into()
            );
        }
    }
    let options = ScanOptions {
        show_secrets: args.show_secrets,
        no_inline_allow: args.no_inline_allow,
        no_decode: args.no_decode,
    };
    let policy = Policy::from_config(&config_name, &config.policy)?;
    let mut scanner = Scanner::new(engine, allowlist, options);
    if let Some(m) = matcher {
        scanner = scanner.with_registry(m);
    }
    let scanner = Arc::new(scanner);
    let max_file_size = args.max_file_size.or(config.max_file_size).unwrap_or(DEFAULT_MAX_FILE_SIZE);
    Ok(Prepared {
        root,
        config,
        scanner,
        now,
        max_file_size,
        threads: args.threads.unwrap_or(0),
        registry,
        policy,
        fixed_clock: args.now.is_some(),
    })
}

/// The registry: `--registry`, else `registry` in the configuration (relative to it), else
/// `.ndaguard/registry.toml` at the scan root if it exists. A registry named explicitly must
/// exist.
fn load_registry(args: &ScanArgs, config: &Config, root_dir: &Path) -> Result<Option<Arc<Registry>>> {
    let path = match (&args.registry, &config.registry) {
        (Some(p), _) => p.clone(),
        (None, Some(p)) => config.base_dir().map(|d| d.join(p)).unwrap_or_else(|| p.clone()),
        (None, None) => {
            let default = root_dir.join(crate::registry::DEFAULT_PATH);
            if !default.is_file() {
                return Ok(None);
            }
            default
        }
    };
    Ok(Some(Arc::new(Registry::load_with_key_file(&path, config.key_file().as_deref())?)))
}

/// `ndaguard baseline [scan flags]`: scans as `scan` would (without applying any baseline) and
/// writes the findings' fingerprints as a baseline to `--output` or stdout.
fn baseline_command(args: &ScanArgs) -> Result<u8> {
    let mut args = args.clone();
    args.baseline = None;
    let report = run_scan(&args, false)?;
    if report.summary.errors > 0 {
        for s in report.skipped.iter().filter(|s| s.reason.is_error()) {
            eprintln!(
                "ndaguard: warning: {}: {} ({})",
                finding::escape_text(&s.path),
                s.reason.as_str(),
                finding::escape_text(&s.detail)
            );
        }
    }
    let baseline = Baseline::from_findings(&report.findings);
    let mut buf = serde_json::to_vec_pretty(&baseline)?;
    buf.push(b'\n');
    match &args.output {
        Some(path) => write_atomically(path, &buf)?,
        None => emit(&buf)?,
    }
    eprintln!("ndaguard: baseline of {} finding(s) written", baseline.findings.len());
    Ok(if report.summary.errors > 0 { EXIT_ERROR } else { EXIT_CLEAN })
}

fn scan_command(args: &ScanArgs) -> Result<u8> {
    let report = run_scan(args, !args.no_progress)?;
    write_report(&report, args)?;
    Ok(exit_code(&report, args.exit_code))
}

/// Runs a scan as the arguments say and returns the finished report.
pub fn run_scan(args: &ScanArgs, progress: bool) -> Result<ScanReport> {
    let started = Instant::now();
    let started_at = OffsetDateTime::now_utc();
    // Installed first: reading a long history's commits can take a while, and Ctrl-C during it
    // must end the scan with what was found (nothing yet), not kill the process.
    install_interrupt_handler();
    // A history's commits and changes are read while the rules load (they need none).
    let (prepared, plan) = std::thread::scope(|s| {
        let plan = args.history.then(|| {
            let root = scan_root(args);
            s.spawn(move || git::plan_history(&root, args.threads.unwrap_or(0)))
        });
        let prepared = prepare(args);
        let plan = plan.map(|h| h.join().unwrap_or_else(|_| Err(Error::Usage("reading the history failed".into()))));
        (prepared, plan)
    });
    let prepared = prepared?;
    let baseline = load_baseline(&prepared, args)?;
    let stdin = prepared.root.as_os_str() == "-";
    let git_opts =
        || GitOptions { root: prepared.root.clone(), threads: prepared.threads, max_file_size: prepared.max_file_size };
    let (mode, collected) = if let Some(plan) = plan {
        (Mode::History, git::scan_planned(&prepared.scanner, plan?, prepared.max_file_size)?)
    } else if let Some(range) = &args.range {
        (Mode::Range, git::scan_range(&prepared.scanner, &git_opts(), range)?)
    } else if args.staged {
        (Mode::Staged, git::scan_staged(&prepared.scanner, &git_opts())?)
    } else if stdin {
        (Mode::Stdin, scan_stdin(&prepared)?)
    } else {
        (Mode::Tree, scan_tree(&prepared, progress, args.no_ignore))
    };
    let collected = apply_baseline(baseline.as_ref(), collected);
    Ok(finish(&prepared, mode, args.range.clone(), collected, started, started_at))
}

/// The fingerprints of the baseline (`--baseline`, or `baseline` in the configuration), if any;
/// read before the scan so that a bad file fails fast.
fn load_baseline(p: &Prepared, args: &ScanArgs) -> Result<Option<HashSet<String>>> {
    let path = match (&args.baseline, &p.config.baseline) {
        (Some(b), _) => b.clone(),
        (None, Some(b)) => p.config.base_dir().map(|d| d.join(b)).unwrap_or_else(|| b.clone()),
        (None, None) => return Ok(None),
    };
    Ok(Some(Baseline::load(&path)?.fingerprints()))
}

/// Drops findings whose fingerprints the baseline lists, counting them as suppressed.
fn apply_baseline(known: Option<&HashSet<String>>, mut c: Collected) -> Collected {
    let Some(known) = known else { return c };
    let before = c.findings.len();
    c.findings.retain(|f| !known.contains(&f.fingerprint));
    c.suppressed += (before - c.findings.len()) as u64;
    c
}

/// Shared sink of the worker threads.
#[derive(Default)]
struct Shared {
    collected: Mutex<Collected>,
    files: AtomicU64,
    bytes: AtomicU64,
}

struct TreeVisitor {
    scanner: Arc<Scanner>,
    shared: Arc<Shared>,
    state: ThreadState,
    local: Collected,
    max_file_size: u64,
}

impl Visitor for TreeVisitor {
    fn visit(&mut self, entry: Entry) -> bool {
        if interrupted() {
            return false;
        }
        match entry {
            Entry::Skip(s) => self.local.skipped.push(s),
            Entry::File { path, rel } => {
                if self.scanner.allowlist().excludes_path(&rel, false) {
                    self.local.skipped.push(Skipped {
                        path: rel,
                        reason: SkipReason::Allowlisted,
                        detail: String::new(),
                    });
                    return true;
                }
                if let Some(done) = self.scan_large(&path, &rel) {
                    return done;
                }
                match fsrc::read_file(&path, self.max_file_size) {
                    Content::Skip(reason, detail) => self.local.skipped.push(Skipped { path: rel, reason, detail }),
                    Content::Text(data) => {
                        let res = self.scanner.scan(&data, Origin { path: &rel, provenance: None }, &mut self.state);
                        self.local.files_scanned += 1;
                        self.local.bytes_scanned += data.len() as u64;
                        self.local.suppressed += res.suppressed;
                        self.shared.files.fetch_add(1, Ordering::Relaxed);
                        self.shared.bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
                        let mut findings = res.findings;
                        if findings.iter().any(|f| f.registry_entry.is_some()) {
                            let mtime = std::fs::metadata(&path)
                                .and_then(|m| m.modified())
                                .ok()
                                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                                .map(|d| d.as_secs() as i64);
                            for f in findings.iter_mut() {
                                f.exposed_since = mtime;
                            }
                        }
                        self.local.findings.extend(findings);
                    }
                }
            }
        }
        true
    }
}

impl TreeVisitor {
    /// Scans a file larger than one chunk in bounded memory; `None` if the file is small (or
    /// UTF-16, which is transcoded whole) and the caller should read it at once.
    fn scan_large(&mut self, path: &Path, rel: &str) -> Option<bool> {
        let meta = std::fs::metadata(path).ok()?;
        let size = meta.len();
        if size <= (chunked::CHUNK + chunked::OVERLAP) as u64 || size > self.max_file_size {
            return None;
        }
        let skip = |me: &mut Self, reason: SkipReason, detail: String| {
            me.local.skipped.push(Skipped { path: rel.to_string(), reason, detail });
            Some(true)
        };
        let mut file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) => return skip(self, SkipReason::Unreadable, e.to_string()),
        };
        let mut probe = vec![0u8; 8192];
        let n = match file.read(&mut probe) {
            Ok(n) => n,
            Err(e) => return skip(self, SkipReason::Unreadable, e.to_string()),
        };
        probe.truncate(n);
        if probe.starts_with(&[0xFF, 0xFE]) || probe.starts_with(&[0xFE, 0xFF]) {
            return None;
        }
        if fsrc::is_binary(&probe) {
            return skip(self, SkipReason::Binary, fsrc::BINARY_DETAIL.into());
        }
        let origin = Origin { path: rel, provenance: None };
        match chunked::scan_reader(
            &self.scanner,
            file,
            probe,
            origin,
            &mut self.state,
            chunked::CHUNK,
            chunked::OVERLAP,
        ) {
            Ok(res) => {
                self.local.files_scanned += 1;
                self.local.bytes_scanned += res.bytes;
                self.local.suppressed += res.suppressed;
                self.shared.files.fetch_add(1, Ordering::Relaxed);
                self.shared.bytes.fetch_add(res.bytes, Ordering::Relaxed);
                let mut findings = res.findings;
                if findings.iter().any(|f| f.registry_entry.is_some()) {
                    let mtime = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
                    for f in findings.iter_mut() {
                        f.exposed_since = mtime.map(|d| d.as_secs() as i64);
                    }
                }
                self.local.findings.extend(findings);
                Some(true)
            }
            Err(e) => skip(self, SkipReason::Unreadable, format!("read failed mid-file: {e}")),
        }
    }
}

impl Drop for TreeVisitor {
    fn drop(&mut self) {
        let local = std::mem::take(&mut self.local);
        let mut all = match self.shared.collected.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        all.findings.extend(local.findings);
        all.skipped.extend(local.skipped);
        all.files_scanned += local.files_scanned;
        all.bytes_scanned += local.bytes_scanned;
        all.suppressed += local.suppressed;
    }
}

fn scan_tree(p: &Prepared, progress: bool, no_ignore: bool) -> Collected {
    let shared = Arc::new(Shared::default());
    let bar = Progress::start(progress, Arc::clone(&shared));
    let opts = WalkOptions { threads: p.threads, no_ignore };
    fsrc::walk(&p.root, &opts, || TreeVisitor {
        scanner: Arc::clone(&p.scanner),
        shared: Arc::clone(&shared),
        state: ThreadState::default(),
        local: Collected::default(),
        max_file_size: p.max_file_size,
    });
    bar.stop();
    let mut guard = match shared.collected.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    };
    std::mem::take(&mut *guard)
}

/// Scans standard input: the first chunk decides (binary, UTF-16 or text); text longer than one
/// chunk is scanned in chunks, so that memory stays bounded however much is piped in.
fn scan_stdin(p: &Prepared) -> Result<Collected> {
    // Ends early on Ctrl-C even while the writer keeps the pipe open.
    let mut stdin = crate::source::stdin::Interruptible::stdin(interrupted);
    let mut head = Vec::new();
    (&mut stdin)
        .take((chunked::CHUNK + chunked::OVERLAP) as u64 + 1)
        .read_to_end(&mut head)
        .context("cannot read standard input")?;
    let mut c = Collected::default();
    let origin = Origin { path: "<stdin>", provenance: None };
    let mut state = ThreadState::default();
    let utf16 = head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]);
    if head.len() > chunked::CHUNK + chunked::OVERLAP && !utf16 && !fsrc::is_binary(&head) {
        let res = chunked::scan_reader(&p.scanner, stdin, head, origin, &mut state, chunked::CHUNK, chunked::OVERLAP)
            .context("cannot read standard input")?;
        c.files_scanned = 1;
        c.bytes_scanned = res.bytes;
        c.suppressed = res.suppressed;
        c.findings = res.findings;
        return Ok(c);
    }
    // Small input, binary, or UTF-16 (transcoded whole): read the rest, then classify.
    stdin.read_to_end(&mut head).context("cannot read standard input")?;
    match fsrc::classify(head) {
        Content::Skip(reason, detail) => c.skipped.push(Skipped { path: "<stdin>".into(), reason, detail }),
        Content::Text(data) => {
            let res = p.scanner.scan(&data, origin, &mut state);
            c.files_scanned = 1;
            c.bytes_scanned = data.len() as u64;
            c.suppressed = res.suppressed;
            c.findings = res.findings;
        }
    }
    Ok(c)
}

/// Sorts, totals and packages collected results into a report.
pub fn finish(
    p: &Prepared,
    mode: Mode,
    range: Option<String>,
    mut c: Collected,
    started: Instant,
    started_at: OffsetDateTime,
) -> ScanReport {
    annotate(p, &mut c.findings);
    finding::sort(&mut c.findings);
    c.skipped.sort();
    let mut summary = Summary {
        files_scanned: c.files_scanned,
        files_skipped: c.skipped.len() as u64,
        bytes_scanned: c.bytes_scanned,
        findings: c.findings.len() as u64,
        breaches: c.findings.iter().filter(|f| f.breach.is_some()).count() as u64,
        suppressed: c.suppressed,
        errors: c.skipped.iter().filter(|s| s.reason.is_error()).count() as u64,
        duration_ms: started.elapsed().as_millis() as u64,
        interrupted: interrupted(),
        notes: c.notes,
        ..Summary::default()
    };
    for s in &c.skipped {
        *summary.skipped_by_reason.entry(s.reason.as_str().to_string()).or_default() += 1;
    }
    let fmt = |t: OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
    let (started_at, finished_at) =
        if p.fixed_clock { (p.now, p.now) } else { (started_at, OffsetDateTime::now_utc()) };
    let mut rules: Vec<RuleMeta> = p.scanner.engine().rules().iter().map(RuleMeta::of).collect();
    rules.push(RuleMeta::registered_token());
    ScanReport {
        version: 1,
        tool: Tool::default(),
        scan: ScanInfo {
            mode,
            root: finding::display_path(&p.root),
            range,
            detected_at: fmt(p.now),
            started_at: fmt(started_at),
            finished_at: fmt(finished_at),
        },
        findings: c.findings,
        skipped: c.skipped,
        summary,
        rules,
    }
}

/// Gives each finding its breach (registered tokens) or its policy deadlines.
fn annotate(p: &Prepared, findings: &mut [Finding]) {
    for f in findings.iter_mut() {
        let entry = f.registry_entry.and_then(|i| p.registry.as_ref().and_then(|r| r.entries.get(i)));
        match entry {
            Some(e) => {
                let exposed = f
                    .commit_time
                    .or(f.exposed_since)
                    .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
                    .unwrap_or(p.now);
                f.breach = Some(e.breach(&crate::breach::Clock::fresh(p.now), exposed));
                f.deadlines = None;
            }
            None => f.deadlines = p.policy.deadlines(f.severity, &crate::breach::Clock::fresh(p.now)),
        }
    }
}

/// Writes the report to `--output` (atomically) or stdout.
pub fn write_report(report: &ScanReport, args: &ScanArgs) -> Result<()> {
    let format = args.format.unwrap_or(Format::Text);
    let to_terminal = args.output.is_none() && io::stdout().is_terminal();
    let color = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => to_terminal && std::env::var_os("NO_COLOR").is_none(),
    };
    let opts = ReportOptions { color, verbose: args.verbose };
    let mut buf = Vec::new();
    report::write(report, format, opts, &mut buf)?;
    match &args.output {
        Some(path) => write_atomically(path, &buf)?,
        None => emit(&buf)?,
    }
    if args.output.is_some() && format != Format::Text {
        // Keep a person informed when the report went to a file.
        eprintln!("{}", report::text::summary_line(report));
    }
    for s in report.skipped.iter().filter(|s| s.reason.is_error()) {
        if format != Format::Text {
            eprintln!(
                "ndaguard: warning: {}: {} ({})",
                finding::escape_text(&s.path),
                s.reason.as_str(),
                finding::escape_text(&s.detail)
            );
        }
    }
    Ok(())
}

/// Writes `bytes` to `path` whole (see [`crate::output::write_whole`]).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::output::write_whole(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// The exit code for a finished scan.
pub fn exit_code(report: &ScanReport, findings_code: Option<u8>) -> u8 {
    if report.summary.interrupted {
        EXIT_INTERRUPTED
    } else if report.summary.errors > 0 {
        EXIT_ERROR
    } else if report.summary.findings > 0 {
        findings_code.unwrap_or(EXIT_FINDINGS)
    } else {
        EXIT_CLEAN
    }
}

fn install_interrupt_handler() {
    // A second handler cannot be installed (tests call run() repeatedly): ignore that.
    let _ = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            // Second Ctrl-C: stop now.
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
    });
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
