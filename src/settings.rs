//! Scan settings in two stages: a [`ScanRequest`] says what a command asks for (from `scan`'s
//! arguments, or built directly by `ci`), and [`Settings::resolve`] turns it into everything a scan
//! needs: the configuration, the rules compiled into a scanner, the registry, the policy and the
//! clock. Files named by the request or the configuration are read here, before any scan starts,
//! so that a bad file fails fast with its name and line.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Result;
use time::OffsetDateTime;

use crate::breach::Policy;
use crate::cli::{self, ScanArgs};
use crate::config::Config;
use crate::engine::Engine;
use crate::error::Error;
use crate::filter::baseline::Baseline;
use crate::filter::Allowlist;
use crate::finding;
use crate::incident::notify::Notifier;
use crate::incident::Record;
use crate::registry::matcher::Matcher;
use crate::registry::Registry;
use crate::rules;
use crate::scan::{ScanOptions, Scanner};
use crate::source::tree::WalkRoot;

/// Default `--max-file-size`: 10 MiB.
pub(crate) const DEFAULT_MAX_FILE_SIZE: u64 = 10 * 1024 * 1024;

/// What a scan reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// The working tree (or one file) at the root.
    Tree,
    /// Standard input.
    Stdin,
    /// Every blob reachable from any ref.
    History,
    /// What the commits of a range add.
    Range(String),
    /// What the index adds over HEAD.
    Staged,
}

/// What a command asks a scan to do, before any file is read.
#[derive(Debug, Clone, Default)]
pub(crate) struct ScanRequest {
    /// The scan root (a directory or file; `-` for standard input).
    pub(crate) root: PathBuf,
    /// Further paths of a tree scan (`scan FILE...`, as pre-commit passes them).
    pub(crate) more_paths: Vec<PathBuf>,
    pub(crate) target: Option<Target>,
    pub(crate) config: Option<PathBuf>,
    pub(crate) registry: Option<PathBuf>,
    pub(crate) baseline: Option<PathBuf>,
    /// Extra rule directories or files.
    pub(crate) rules: Vec<PathBuf>,
    pub(crate) show_secrets: bool,
    /// `--now`, unparsed.
    pub(crate) now: Option<String>,
    pub(crate) threads: Option<usize>,
    pub(crate) max_file_size: Option<u64>,
    pub(crate) no_ignore: bool,
    /// A CI step (`ci github`): ignore files that exclude every file of a tree scan are not
    /// honoured (the tree is what the change under review brings, ignore files included).
    pub(crate) ci: bool,
    pub(crate) no_inline_allow: bool,
    pub(crate) no_decode: bool,
    /// Show a progress line on a terminal.
    pub(crate) progress: bool,
    /// `--incidents`: the incident record.
    pub(crate) incidents: Option<PathBuf>,
    /// `--no-incidents`: keep no record.
    pub(crate) no_incidents: bool,
    /// `--notify`: the webhook for new breaches.
    pub(crate) notify: Option<String>,
    /// `--shard I/N` of a history scan.
    pub(crate) shard: Option<crate::source::git::Shard>,
    /// `--progress json`: JSON progress lines on stderr.
    pub(crate) progress_json: bool,
    /// `--cache DIR` of a history scan.
    pub(crate) cache: Option<PathBuf>,
}

impl ScanRequest {
    /// The request of `scan`'s (and `baseline`'s) arguments.
    pub(crate) fn from_args(args: &ScanArgs) -> ScanRequest {
        let root = args.paths.first().cloned().unwrap_or_else(|| PathBuf::from("."));
        let more_paths = args.paths.iter().skip(1).cloned().collect();
        let target = if args.history {
            Target::History
        } else if let Some(r) = &args.range {
            Target::Range(r.clone())
        } else if args.staged {
            Target::Staged
        } else if root.as_os_str() == "-" {
            Target::Stdin
        } else {
            Target::Tree
        };
        ScanRequest {
            root,
            more_paths,
            target: Some(target),
            config: args.config.clone(),
            registry: args.registry.clone(),
            baseline: args.baseline.clone(),
            rules: args.rules.clone(),
            show_secrets: args.show_secrets,
            now: args.now.clone(),
            threads: args.threads,
            max_file_size: args.max_file_size,
            no_ignore: args.no_ignore,
            ci: false,
            no_inline_allow: args.no_inline_allow,
            no_decode: args.no_decode,
            progress: !args.no_progress,
            incidents: args.incidents.clone(),
            no_incidents: args.no_incidents,
            notify: args.notify.clone(),
            shard: args.shard.map(|(index, count)| crate::source::git::Shard { index, count }),
            progress_json: args.progress == Some(cli::ProgressFormat::Json),
            cache: args.cache.clone(),
        }
    }

    pub(crate) fn target(&self) -> Target {
        self.target.clone().unwrap_or(Target::Tree)
    }
}

/// Everything a scan needs, resolved from a request and the configuration.
pub(crate) struct Settings {
    /// The scan root (a directory or file), or `-`.
    pub(crate) root: PathBuf,
    /// What a tree scan walks, and how reports name each (see [`project_dir`]).
    pub(crate) walk_roots: Vec<WalkRoot>,
    /// Where the configuration, registry and ignore files are found (see [`project_dir`]).
    pub(crate) project_dir: PathBuf,
    pub(crate) scanner: Arc<Scanner>,
    /// The scan clock.
    pub(crate) now: OffsetDateTime,
    /// Whether the clock was fixed with `--now` (reports then carry no wall-clock times).
    pub(crate) fixed_clock: bool,
    /// `--max-file-size` or the configuration's, or the default.
    pub(crate) max_file_size: u64,
    /// Worker threads (0: automatic).
    pub(crate) threads: usize,
    /// The NDA registry, if there is one.
    pub(crate) registry: Option<Arc<Registry>>,
    /// Deadlines for findings that are not breaches.
    pub(crate) policy: Policy,
    /// Fingerprints of accepted findings (`--baseline`, or `baseline` in the configuration).
    pub(crate) baseline: Option<HashSet<String>>,
    /// The incident record the scan keeps, if any.
    pub(crate) incidents: Option<Record>,
    /// Where new breaches are posted (`--notify`).
    pub(crate) notify: Option<Notifier>,
    /// SHA-256 of everything that decides what scanning a blob gives: the version, the rules,
    /// the configuration file, the registry and the options (`--cache` keys on it; computed
    /// only with `--cache`).
    pub(crate) identity: Option<[u8; 32]>,
}

impl Settings {
    /// Resolves `req`: reads the configuration, registry and baseline, and builds the scanner.
    pub(crate) fn resolve(req: &ScanRequest) -> Result<Settings> {
        let now = cli::parse_now(req.now.as_deref())?;
        let root = req.root.clone();
        check_paths(req)?;
        let (config_dir, in_git) = project_dir(req);
        let walk_roots = walk_roots(req, &config_dir, in_git);
        let explicit =
            req.config.clone().or_else(|| std::env::var_os(CONFIG_ENV).filter(|v| !v.is_empty()).map(PathBuf::from));
        let config = Config::discover(explicit.as_deref(), &config_dir)?;
        let (registry, matcher, engine) = load_rules_and_registry(req, &config, &config_dir)?;
        let config_name = config.source.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "<config>".into());
        let allowlist = Allowlist::new(&config_name, &config_dir, &config.allowlist)?;
        for id in allowlist.rule_ids() {
            if !engine.rules().iter().any(|r| r.id == id) {
                let msg = format!("[allowlist.rules.{id}]: no rule has this id");
                return Err(Error::invalid(&config_name, None, msg).into());
            }
        }
        let options = ScanOptions {
            show_secrets: req.show_secrets,
            no_inline_allow: req.no_inline_allow,
            no_decode: req.no_decode,
        };
        let policy = Policy::from_config(&config_name, &config.policy)?;
        let max_file_size = req.max_file_size.or(config.max_file_size).unwrap_or(DEFAULT_MAX_FILE_SIZE);
        // Only `--cache` uses the identity; hashing every rule's text costs start-up time.
        let identity = req
            .cache
            .is_some()
            .then(|| identity(&engine, config.source.as_deref(), registry.as_deref(), &options, max_file_size));
        let mut scanner = Scanner::new(engine, allowlist, options);
        if let Some(m) = matcher {
            scanner = scanner.with_registry(m);
        }
        let baseline = load_baseline(req, &config)?;
        let incidents = incident_record(req, &config_dir, registry.is_some());
        let notify = match &req.notify {
            Some(url) => {
                Notifier::check_url(url).map_err(Error::Usage)?;
                Some(Notifier::new(url))
            }
            None => None,
        };
        Ok(Settings {
            root,
            walk_roots,
            project_dir: config_dir,
            scanner: Arc::new(scanner),
            now,
            fixed_clock: req.now.is_some(),
            max_file_size,
            threads: req.threads.unwrap_or(0),
            registry,
            policy,
            baseline,
            incidents,
            notify,
            identity,
        })
    }
}

/// See [`Settings::identity`].
fn identity(
    engine: &Engine,
    config: Option<&Path>,
    registry: Option<&Registry>,
    options: &ScanOptions,
    max_file_size: u64,
) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(concat!("ndaguard ", env!("CARGO_PKG_VERSION"), "\n").as_bytes());
    h.update(format!("{:?}\n", engine.rules()).as_bytes());
    h.update(config.and_then(|p| crate::input::read_bytes(p, crate::input::MAX_CONFIG_FILE).ok()).unwrap_or_default());
    h.update(format!("\n{registry:?}\n{options:?}\n{max_file_size}").as_bytes());
    h.finalize().into()
}

/// The incident record a scan keeps: `--incidents`, else `.ndaguard/incidents.jsonl` in the
/// project folder (the repository's top; the scan root outside git) when the scan uses a registry
/// or the file exists; none with `--no-incidents` or for standard input.
fn incident_record(req: &ScanRequest, config_dir: &Path, has_registry: bool) -> Option<Record> {
    if req.no_incidents || req.target() == Target::Stdin {
        return None;
    }
    if let Some(p) = &req.incidents {
        return Some(Record::new(p));
    }
    let default = config_dir.join(crate::incident::record::DEFAULT_PATH);
    (has_registry || default.is_file()).then(|| Record::new(default))
}

/// The environment variable naming the configuration file when `--config` is not given.
pub(crate) const CONFIG_ENV: &str = "NDAGUARD_CONFIG";

/// Refuses paths that do not exist, and several paths for anything but a tree scan.
fn check_paths(req: &ScanRequest) -> Result<()> {
    let target = req.target();
    let several = !req.more_paths.is_empty();
    if several && (target != Target::Tree || req.more_paths.iter().any(|p| p.as_os_str() == "-")) {
        return Err(Error::Usage(
            "several paths can only be given for a tree scan (not with -, --history, --range or --staged)".into(),
        )
        .into());
    }
    if target == Target::Stdin {
        return Ok(());
    }
    for p in std::iter::once(&req.root).chain(&req.more_paths) {
        if !p.exists() {
            return Err(Error::Usage(format!("{}: no such file or directory", p.display())).into());
        }
    }
    Ok(())
}

/// The folder a scan finds its configuration (`.ndaguard.toml`), registry and baseline in, and
/// that reported paths are relative to: the top level of the git work tree that holds the scan
/// root, so that a scan of `src/` reads the repository's configuration and reports
/// `src/app.py`, as annotations and SARIF need. Outside a work tree (or in a bare repository),
/// the scan root itself: its folder for a file, the current folder for standard input or
/// several paths. Also returns whether it is a work tree's top.
fn project_dir(req: &ScanRequest) -> (PathBuf, bool) {
    let stdin = req.target() == Target::Stdin;
    let folder_of = |p: &Path| {
        if p.is_file() {
            p.parent()
                .filter(|d| !d.as_os_str().is_empty())
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("."))
        } else {
            p.to_path_buf()
        }
    };
    let start = if stdin { PathBuf::from(".") } else { folder_of(&req.root) };
    if let Some(top) = crate::source::git::work_tree_top(&start) {
        return (top, true);
    }
    if stdin || !req.more_paths.is_empty() {
        (PathBuf::from("."), false)
    } else {
        (start, false)
    }
}

/// The paths a tree scan walks, each with the name reports give it: relative to the work tree's
/// top in a repository; outside one, relative to a single folder scanned, or as given.
fn walk_roots(req: &ScanRequest, top: &Path, in_git: bool) -> Vec<WalkRoot> {
    let several = !req.more_paths.is_empty();
    let mut seen = HashSet::new();
    let canonical_top = if in_git { top.canonicalize().ok() } else { None };
    std::iter::once(&req.root)
        .chain(&req.more_paths)
        .filter(|p| seen.insert((*p).clone()))
        .map(|p| {
            let named_file = p.is_file();
            let shown = match &canonical_top {
                Some(top) => under(top, p).unwrap_or_else(|| finding::display_path(p)),
                None if several || named_file => finding::display_path(p),
                None => String::new(),
            };
            WalkRoot { path: p.clone(), shown, named_file }
        })
        .collect()
}

/// `path` relative to the canonical folder `top` (empty for `top` itself), if it lies under it.
/// A file's own name is kept (a symbolic link is named, not its target).
fn under(top: &Path, path: &Path) -> Option<String> {
    let (folder, name) = match (path.is_dir(), path.file_name()) {
        (false, Some(name)) => {
            (path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new(".")), Some(name))
        }
        _ => (path, None),
    };
    let folder = folder.canonicalize().ok()?;
    let rel = folder.strip_prefix(top).ok()?;
    let rel = match name {
        Some(n) => rel.join(n),
        None => rel.to_path_buf(),
    };
    Some(if rel.as_os_str().is_empty() { String::new() } else { finding::display_path(&rel) })
}

/// The rules (built-in, `--rules`, the configuration's `[rules] paths`) compiled into an engine,
/// and the registry with its matcher. The registry (which can be megabytes of TOML) loads and is
/// indexed while the rules are parsed and indexed.
fn load_rules_and_registry(
    req: &ScanRequest,
    config: &Config,
    config_dir: &Path,
) -> Result<(Option<Arc<Registry>>, Option<Matcher>, Engine)> {
    let mut rule_paths = req.rules.clone();
    if let Some(base) = config.base_dir() {
        rule_paths.extend(config.rules.paths.iter().map(|p| base.join(p)));
    }
    let (registry, engine) = std::thread::scope(|s| {
        let registry = s.spawn(|| {
            load_registry(req, config, config_dir).map(|r| {
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
    Ok(match registry? {
        Some((r, m)) => (Some(r), Some(m), engine),
        None => (None, None, engine),
    })
}

/// The registry: `--registry`, else `registry` in the configuration (relative to it), else
/// `.ndaguard/registry.toml` at the scan root if it exists. A registry named explicitly must
/// exist.
fn load_registry(req: &ScanRequest, config: &Config, root_dir: &Path) -> Result<Option<Arc<Registry>>> {
    let path = match (&req.registry, &config.registry) {
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

/// The fingerprints of the baseline (`--baseline`, or `baseline` in the configuration), if any.
fn load_baseline(req: &ScanRequest, config: &Config) -> Result<Option<HashSet<String>>> {
    let path = match (&req.baseline, &config.baseline) {
        (Some(b), _) => b.clone(),
        (None, Some(b)) => config.base_dir().map(|d| d.join(b)).unwrap_or_else(|| b.clone()),
        (None, None) => return Ok(None),
    };
    Ok(Some(Baseline::load(&path)?.fingerprints()))
}
