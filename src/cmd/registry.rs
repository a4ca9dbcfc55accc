//! `ndaguard registry add|list|check|remove`.
//!
//! `add` reads the token from standard input (never from the command line, where it would land
//! in shell history and process listings), stores only its keyed hash and length, and edits the
//! file with `toml_edit` so that comments and the order of existing entries are kept. Every
//! write builds the whole new file, checks that it parses as a registry, and then replaces the
//! old file atomically. `add` and `remove` hold an exclusive lock on `registry.toml.lock` from
//! reading the file to writing it back, so concurrent runs queue instead of losing entries.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use time::OffsetDateTime;
use toml_edit::{value, Array, ArrayOfTables, DocumentMut, Item, Table};

use crate::breach;
use crate::cli::{ListFormat, RegistryAddArgs, RegistryArgs, RegistryCommand, RegistryListArgs};
use crate::error::Error;
use crate::registry::{
    is_token_byte, keyed_hash, Alphabet, Registry, Status, DEFAULT_PATH, FINGERPRINT_PREFIX, MAX_TOKEN_LEN,
    MIN_TOKEN_LEN,
};

/// Runs `ndaguard registry …`.
pub(super) fn run(args: &RegistryArgs) -> Result<u8> {
    let path = args.registry.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_PATH));
    let now = crate::cli::parse_now(args.now.as_deref())?;
    match &args.command {
        RegistryCommand::Add(a) => add(&path, a, now),
        RegistryCommand::List(l) => list(&path, l, now, false),
        RegistryCommand::Check(l) => list(&path, l, now, true),
        RegistryCommand::Remove { id } => remove(&path, id),
    }
}

/// Reads the token from standard input: piped in, or typed on a terminal without echo after a
/// prompt on standard error.
fn read_token() -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    if std::io::stdin().is_terminal() {
        let config = rpassword::ConfigBuilder::new()
            .input_file_path("/dev/stdin")
            .output_writer(std::io::stderr())
            .password_feedback_hide()
            .build();
        let typed = rpassword::prompt_password_with_config("ndaguard: token to register (not shown): ", config)
            .context("cannot read the token from the terminal")?;
        buf = typed.into_bytes();
    } else {
        std::io::stdin()
            .lock()
            .take(64 * 1024)
            .read_to_end(&mut buf)
            .context("cannot read the token from standard input")?;
    }
    if buf.ends_with(b"\n") {
        buf.pop();
        if buf.ends_with(b"\r") {
            buf.pop();
        }
    }
    if buf.is_empty() {
        return Err(Error::Usage(
            "no token on standard input (pipe it in: `pass show x | ndaguard registry add …`)".into(),
        )
        .into());
    }
    if let Some(b) = buf.iter().find(|b| !is_token_byte(**b)) {
        return Err(Error::Usage(format!(
            "the token contains a byte that tokens cannot hold here (0x{b:02x}): registered tokens are printable ASCII without spaces, quotes or backslashes"
        ))
        .into());
    }
    if buf.len() < MIN_TOKEN_LEN {
        return Err(Error::Usage(format!(
            "the token is {} characters long; tokens shorter than {MIN_TOKEN_LEN} are refused, because the registry's key is in the file and a short token could be recovered by guessing",
            buf.len()
        ))
        .into());
    }
    if buf.len() > MAX_TOKEN_LEN {
        return Err(Error::Usage(format!("the token is longer than {MAX_TOKEN_LEN} bytes")).into());
    }
    Ok(buf)
}

/// A new registry: with its own random key, or, when `NDAGUARD_REGISTRY_KEY` is set, with
/// `key = "external:<key id>"` (the key stays outside the file).
fn new_document() -> Result<(DocumentMut, Vec<u8>)> {
    if std::env::var_os(crate::registry::KEY_ENV).is_some_and(|v| !v.is_empty()) {
        let mut probe = Registry {
            path: PathBuf::from(crate::registry::KEY_ENV),
            key: Vec::new(),
            entries: Vec::new(),
            key_mode: crate::registry::KeyMode::External { check: None },
        };
        probe.resolve_key(None)?;
        let text = format!(
            "# ndaguard NDA registry: tokens bound by agreements, stored as keyed hashes (never the tokens).\n\
             # Managed with `ndaguard registry add|list|check|remove`; safe to commit. The key is external\n\
             # ({}); the id after `external:` only tells a wrong key from the right one.\n\
             version = 1\n\
             key = \"{}:{}\"\n",
            crate::registry::KEY_ENV,
            crate::registry::EXTERNAL_KEY,
            crate::registry::key_id(&probe.key)
        );
        let doc = text.parse::<DocumentMut>().context("cannot build a new registry")?;
        return Ok((doc, probe.key));
    }
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("cannot get random bytes for the registry key: {e}"))?;
    let text = format!(
        "# ndaguard NDA registry: tokens bound by agreements, stored as keyed hashes (never the tokens).\n\
         # Managed with `ndaguard registry add|list|check|remove`; safe to commit.\n\
         version = 1\n\
         key = \"{}\"\n",
        STANDARD.encode(key)
    );
    Ok((text.parse::<DocumentMut>().context("cannot build a new registry")?, key.to_vec()))
}

fn strings(items: &[String]) -> Array {
    let mut a = Array::new();
    for s in items {
        a.push(s.as_str());
    }
    a
}

fn add(path: &Path, a: &RegistryAddArgs, now: OffsetDateTime) -> Result<u8> {
    // Validate every argument before touching stdin or the file.
    let check_dur = |flag: &str, s: &str| -> Result<()> {
        breach::parse_duration(s).map(|_| ()).map_err(|e| Error::Usage(format!("--{flag}: {e}")).into())
    };
    check_dur("report-within", &a.report_within)?;
    check_dur("revoke-within", &a.revoke_within)?;
    if let Some(r) = &a.rotate_every {
        check_dur("rotate-every", r)?;
    }
    for (flag, v) in [("issued", &a.issued), ("expires", &a.expires)] {
        if let Some(d) = v {
            breach::parse_date(d).map_err(|e| Error::Usage(format!("--{flag}: {e}")))?;
        }
    }
    if a.id.trim().is_empty() {
        return Err(Error::Usage("--id is empty".into()).into());
    }
    let _lock = lock(path)?;
    let (mut doc, registry, new_key) = if path.exists() {
        let text = crate::input::read_text(path, crate::input::MAX_DATA_FILE)?;
        let registry = Registry::parse(&path.display().to_string(), &text)?;
        let doc =
            text.parse::<DocumentMut>().map_err(|e| Error::invalid(path.display().to_string(), None, e.to_string()))?;
        (doc, Some(registry), Vec::new())
    } else {
        let (doc, key) = new_document()?;
        (doc, None, key)
    };
    if registry.as_ref().is_some_and(|r| r.entries.iter().any(|e| e.id == a.id)) {
        return Err(Error::Usage(format!("{}: an entry with id {:?} already exists", path.display(), a.id)).into());
    }
    let key_file = crate::config::Config::discover(None, Path::new(".")).ok().and_then(|c| c.key_file());
    let registry = match registry {
        Some(mut r) => {
            r.resolve_key(key_file.as_deref())?;
            Some(r)
        }
        None => None,
    };
    let token = read_token()?;
    let key = match &registry {
        Some(r) => r.key.clone(),
        None => new_key,
    };
    if let Some(existing) = registry.as_ref().and_then(|r| r.lookup(&token)) {
        return Err(Error::Usage(format!("this token is already registered as {:?}", existing.id)).into());
    }
    let fingerprint = keyed_hash(&key, &token);
    let length = token.len();
    let alphabet = Alphabet::of(&token);
    drop(token);

    let mut t = Table::new();
    t.insert("id", value(a.id.as_str()));
    t.insert("fingerprint", value(format!("{FINGERPRINT_PREFIX}{}", hex::encode(fingerprint))));
    t.insert("length", value(length as i64));
    t.insert("alphabet", value(alphabet.as_str()));
    t.insert("nda", value(a.nda.as_str()));
    t.insert("counterparty", value(a.counterparty.as_str()));
    t.insert("owner", value(a.owner.as_str()));
    if !a.scope.is_empty() {
        t.insert("scope", value(strings(&a.scope)));
    }
    let issued = a.issued.clone().unwrap_or_else(|| breach::format_time(now).get(..10).unwrap_or_default().to_string());
    t.insert("issued", value(issued));
    if let Some(e) = &a.expires {
        t.insert("expires", value(e.as_str()));
    }
    if let Some(r) = &a.rotate_every {
        t.insert("rotate_every", value(r.as_str()));
    }
    t.insert("report_within", value(a.report_within.as_str()));
    t.insert("revoke_within", value(a.revoke_within.as_str()));
    if !a.contact.is_empty() {
        t.insert("contacts", value(strings(&a.contact)));
    }
    match doc.get_mut("token") {
        Some(Item::ArrayOfTables(arr)) => arr.push(t),
        Some(_) => {
            return Err(Error::invalid(path.display().to_string(), None, "`token` is not an array of tables").into())
        }
        None => {
            let mut arr = ArrayOfTables::new();
            arr.push(t);
            doc.insert("token", Item::ArrayOfTables(arr));
        }
    }
    save(path, &doc.to_string())?;
    eprintln!("ndaguard: registered {:?} ({} characters) in {}", a.id, length, path.display());
    Ok(0)
}

/// Writes `text` to `path` atomically after checking that it is a valid registry.
fn save(path: &Path, text: &str) -> Result<()> {
    Registry::parse(&path.display().to_string(), text).context("refusing to write an invalid registry")?;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut bytes = text.as_bytes().to_vec();
    if !text.ends_with('\n') {
        bytes.push(b'\n');
    }
    crate::output::write_whole(path, &bytes).map_err(|e| Error::io(path, e))?;
    Ok(())
}

/// Takes the registry's lock (see [`crate::lock`]), creating its folder if needed.
fn lock(path: &Path) -> Result<crate::lock::FileLock> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    Ok(crate::lock::FileLock::exclusive(path)?)
}

fn remove(path: &Path, id: &str) -> Result<u8> {
    let _lock = lock(path)?;
    let text = crate::input::read_text(path, crate::input::MAX_DATA_FILE)?;
    Registry::parse(&path.display().to_string(), &text)?;
    let mut doc =
        text.parse::<DocumentMut>().map_err(|e| Error::invalid(path.display().to_string(), None, e.to_string()))?;
    let Some(Item::ArrayOfTables(arr)) = doc.get_mut("token") else {
        return Err(Error::Usage(format!("{}: no entry {id:?}", path.display())).into());
    };
    let Some(pos) = arr.iter().position(|t| t.get("id").and_then(|v| v.as_str()) == Some(id)) else {
        return Err(Error::Usage(format!("{}: no entry {id:?}", path.display())).into());
    };
    arr.remove(pos);
    save(path, &doc.to_string())?;
    eprintln!("ndaguard: removed {id:?} from {}", path.display());
    Ok(0)
}

fn days(from: OffsetDateTime, to: OffsetDateTime) -> i64 {
    (to - from).whole_seconds().div_euclid(86_400)
}

/// `list` shows every entry; `check` shows only the entries that need action and exits 1 if any.
fn list(path: &Path, args: &RegistryListArgs, now: OffsetDateTime, check: bool) -> Result<u8> {
    let text = crate::input::read_text(path, crate::input::MAX_DATA_FILE)?;
    let mut registry = Registry::parse(&path.display().to_string(), &text)?;
    registry.path = path.to_path_buf();
    if check {
        // `check` also proves that an external key is at hand and is the right one.
        let key_file = crate::config::Config::discover(None, Path::new(".")).ok().and_then(|c| c.key_file());
        registry.resolve_key(key_file.as_deref())?;
    }
    let mut rows = Vec::new();
    let mut problems = 0;
    for e in &registry.entries {
        let expires_in = e.expires.map(|x| days(now, x));
        let rotation_in = e.rotation_due().map(|x| days(now, x));
        let mut issues = Vec::new();
        if e.status == Status::Active {
            if let Some(x) = e.expires.filter(|x| now > *x) {
                issues.push(format!("expired on {} ({} days ago): revoke it", breach::format_time(x), -days(now, x)));
            }
            if let Some(r) = e.rotation_due().filter(|r| now > *r) {
                issues.push(format!("rotation was due on {} ({} days ago)", breach::format_time(r), -days(now, r)));
            }
        }
        if !issues.is_empty() {
            problems += 1;
        }
        if check && issues.is_empty() {
            continue;
        }
        rows.push((e, expires_in, rotation_in, issues));
    }
    let mut out = Vec::new();
    match args.format {
        ListFormat::Json => {
            let list: Vec<serde_json::Value> = rows
                .iter()
                .map(|(e, x, r, issues)| {
                    serde_json::json!({
                        "id": e.id, "nda": e.nda, "counterparty": e.counterparty, "owner": e.owner,
                        "length": e.length, "scope": e.scope, "contacts": e.contacts,
                        "status": if e.status == Status::Revoked { "revoked" } else { "active" },
                        "expires": e.expires.map(breach::format_time),
                        "days_to_expiry": x, "rotation_due": e.rotation_due().map(breach::format_time),
                        "days_to_rotation": r,
                        "report_within": breach::format_duration(e.report_within),
                        "revoke_within": breach::format_duration(e.revoke_within),
                        "issues": issues,
                    })
                })
                .collect();
            serde_json::to_writer_pretty(&mut out, &list)?;
            out.push(b'\n');
        }
        ListFormat::Text => {
            let fmt_days = |d: Option<i64>| match d {
                None => "-".to_string(),
                Some(d) if d < 0 => format!("{}d overdue", -d),
                Some(d) => format!("{d}d"),
            };
            // Every field comes from the file: control and bidirectional characters are escaped.
            let esc = crate::finding::escape_text;
            let w = rows.iter().map(|r| esc(&r.0.id).chars().count()).max().unwrap_or(2).max(2);
            writeln!(
                out,
                "{:<w$}  {:<14}  {:<20}  {:>6}  {:>12}  {:>12}  {:<8}  DEADLINES",
                "ID", "NDA", "COUNTERPARTY", "LENGTH", "EXPIRES", "ROTATION", "STATUS"
            )?;
            for (e, x, r, issues) in &rows {
                writeln!(
                    out,
                    "{:<w$}  {:<14}  {:<20}  {:>6}  {:>12}  {:>12}  {:<8}  report {} / revoke {}",
                    esc(&e.id),
                    esc(&e.nda),
                    esc(&e.counterparty),
                    e.length,
                    fmt_days(*x),
                    fmt_days(*r),
                    if e.status == Status::Revoked { "revoked" } else { "active" },
                    breach::format_duration(e.report_within),
                    breach::format_duration(e.revoke_within),
                )?;
                for i in issues {
                    writeln!(out, "{:<w$}  ! {i}", "")?;
                }
            }
            if check {
                writeln!(out, "{problems} of {} entries need action", registry.entries.len())?;
            } else {
                writeln!(out, "{} entries", registry.entries.len())?;
            }
        }
    }
    std::io::stdout().lock().write_all(&out).ok();
    Ok(if check && problems > 0 { 1 } else { 0 })
}
