//! The NDA registry: tokens bound by agreements, stored as keyed hashes (design.md §4).
//!
//! The registry file is meant to be committed. It holds, per token, `HMAC-SHA-256(key, token)`
//! under a random key of its own and the token's length, and the agreement's terms; nothing else
//! derived from the token. Finding a registered token therefore means computing the keyed hash
//! of every window of a registered length in the input (see `matcher`); there is no cheaper
//! token-derived prefilter in the file that would also let a reader of the file check guesses
//! faster than with the keyed hash.
//!
//! With `key = "external"` (or `"external:<key id>"`) the file holds no key: it comes from the
//! `NDAGUARD_REGISTRY_KEY` environment variable or a key file named in the configuration
//! (`registry_key_file`), both base64, and the committed file alone lets nobody check guesses. The
//! optional key id (16 hex digits of `HMAC-SHA-256(key, "ndaguard/registry-key-id")`) lets ndaguard
//! refuse a wrong key rather than silently find nothing; a 128-bit or longer random key cannot be
//! guessed from it.

mod fast;
pub(crate) mod matcher;

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use time::{Duration, OffsetDateTime};

use crate::breach::{self, Breach};
use crate::error::{Error, Result};
use crate::lines::{line_of_offset, LineIndex};

/// Default registry location, relative to the repository root.
pub const DEFAULT_PATH: &str = ".ndaguard/registry.toml";

/// The environment variable that holds an external registry key (base64).
pub const KEY_ENV: &str = "NDAGUARD_REGISTRY_KEY";

/// The `key` value of a registry whose key is kept outside the file.
pub const EXTERNAL_KEY: &str = "external";

/// Where a registry's key is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyMode {
    /// In the file (`key = "<base64>"`).
    Inline,
    /// Outside the file (`key = "external"`); `check` is the key id, when the file has one.
    External {
        /// 16 hex digits identifying the right key.
        check: Option<String>,
    },
}

/// The key id of `key` (see the module docs).
pub fn key_id(key: &[u8]) -> String {
    hex::encode(&keyed_hash(key, b"ndaguard/registry-key-id")[..8])
}

/// Decodes and checks an external key from `source` (named in errors).
fn decode_external(source: &str, text: &str, check: Option<&str>) -> Result<Vec<u8>> {
    let key = STANDARD
        .decode(text.trim())
        .map_err(|e| Error::Usage(format!("{source}: the registry key is not base64: {e}")))?;
    if key.len() < 16 {
        return Err(Error::Usage(format!("{source}: the registry key must be at least 16 bytes (base64 of 32 random bytes, e.g. `openssl rand -base64 32`)")));
    }
    if let Some(c) = check {
        if key_id(&key) != c {
            return Err(Error::Usage(format!(
                "{source}: this is not the registry's key (its key id is {}, the registry wants {c})",
                key_id(&key)
            )));
        }
    }
    Ok(key)
}

/// Prefix of the stored keyed hash.
pub const FINGERPRINT_PREFIX: &str = "hmac-sha256:";

/// Registries at least this large are parsed in parallel parts.
const PARALLEL_PARSE_MIN: usize = 256 * 1024;

/// Shortest token that may be registered: the key is in the file, so a short token could be
/// recovered by guessing it and computing the keyed hash.
pub const MIN_TOKEN_LEN: usize = 16;

/// Longest token that may be registered.
pub const MAX_TOKEN_LEN: usize = 512;

/// Whether a byte may be part of a registered token: printable ASCII except space, quotes and
/// backslash (the characters that delimit tokens in code and configuration).
pub fn is_token_byte(b: u8) -> bool {
    (0x21..=0x7e).contains(&b) && !matches!(b, b'"' | b'\'' | b'`' | b'\\')
}

/// The smallest character class that holds a token. The registry stores it so that the scanner
/// only hashes windows made of that class; it is usually evident from the token's provider
/// anyway, and it gives no faster way to check a guess than the keyed hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Alphabet {
    /// `0-9a-fA-F`.
    Hex,
    /// `0-9A-Za-z`.
    Alnum,
    /// `0-9A-Za-z-_`.
    Base64Url,
    /// `0-9A-Za-z+/=`.
    Base64,
    /// Any token byte ([`is_token_byte`]).
    Printable,
}

impl Alphabet {
    /// All classes, smallest first.
    pub const ALL: [Alphabet; 5] =
        [Alphabet::Hex, Alphabet::Alnum, Alphabet::Base64Url, Alphabet::Base64, Alphabet::Printable];

    /// The name used in the registry file.
    pub fn as_str(self) -> &'static str {
        match self {
            Alphabet::Hex => "hex",
            Alphabet::Alnum => "alnum",
            Alphabet::Base64Url => "base64url",
            Alphabet::Base64 => "base64",
            Alphabet::Printable => "printable",
        }
    }

    /// Whether `b` belongs to the class.
    pub fn contains(self, b: u8) -> bool {
        match self {
            Alphabet::Hex => b.is_ascii_hexdigit(),
            Alphabet::Alnum => b.is_ascii_alphanumeric(),
            Alphabet::Base64Url => b.is_ascii_alphanumeric() || b == b'-' || b == b'_',
            Alphabet::Base64 => b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=',
            Alphabet::Printable => is_token_byte(b),
        }
    }

    /// The smallest class holding every byte of `token`.
    pub fn of(token: &[u8]) -> Alphabet {
        Alphabet::ALL.into_iter().find(|a| token.iter().all(|&b| a.contains(b))).unwrap_or(Alphabet::Printable)
    }
}

/// Whether an entry is still in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The token is live.
    Active,
    /// The token was revoked (a leak must still be reported).
    Revoked,
}

/// One registered token (never the token itself).
#[derive(Debug, Clone)]
pub struct Entry {
    /// Unique id.
    pub id: String,
    /// `HMAC-SHA-256(key, token)`.
    pub fingerprint: [u8; 32],
    /// Token length in bytes.
    pub length: usize,
    /// The token's character class.
    pub alphabet: Alphabet,
    /// The agreement's reference.
    pub nda: String,
    /// The other party.
    pub counterparty: String,
    /// The owner on our side.
    pub owner: String,
    /// What the token may do.
    pub scope: Vec<String>,
    /// When it was issued.
    pub issued: Option<OffsetDateTime>,
    /// End of its allowed lifetime.
    pub expires: Option<OffsetDateTime>,
    /// Rotation period.
    pub rotate_every: Option<Duration>,
    /// Incident reporting deadline after detection.
    pub report_within: Duration,
    /// Revocation deadline after detection.
    pub revoke_within: Duration,
    /// Who must be told.
    pub contacts: Vec<String>,
    /// Active or revoked.
    pub status: Status,
    /// When it was revoked.
    pub revoked_at: Option<OffsetDateTime>,
    /// 1-based line of the entry in its file.
    pub line: usize,
}

impl Entry {
    /// When the token is next due for rotation (issued + rotate_every), if both are known.
    pub fn rotation_due(&self) -> Option<OffsetDateTime> {
        Some(breach::deadline(self.issued?, self.rotate_every?))
    }

    /// The breach that finding this token constitutes, with deadlines on `clock`.
    pub fn breach(&self, clock: &breach::Clock, exposed_since: OffsetDateTime) -> Breach {
        let detected_at = clock.detected_at;
        let report_by = breach::deadline(detected_at, self.report_within);
        let registry_revoked = self.status == Status::Revoked;
        let revoke_by = (!registry_revoked).then(|| breach::deadline(detected_at, self.revoke_within));
        let report = breach::deadline_status(clock.now, report_by, clock.reported_at);
        let revoke = revoke_by.map(|t| breach::deadline_status(clock.now, t, clock.revoked_at));
        Breach {
            registry_id: self.id.clone(),
            nda: self.nda.clone(),
            counterparty: self.counterparty.clone(),
            owner: self.owner.clone(),
            scope: self.scope.clone(),
            contacts: self.contacts.clone(),
            detected_at: breach::format_time(detected_at),
            exposed_since: breach::format_time(exposed_since),
            report_by: breach::format_time(report_by),
            report_hours_left: report.1,
            report_status: report.0,
            reported_at: clock.reported_at.map(breach::format_time),
            revoke_by: revoke_by.map(breach::format_time),
            revoke_hours_left: revoke.map(|r| r.1),
            revoke_status: revoke.map(|r| r.0),
            revoked_at: clock.revoked_at.map(breach::format_time),
            lifetime_exceeded: self.expires.is_some_and(|e| clock.now > e),
            revoked: registry_revoked || clock.revoked_at.is_some(),
        }
    }
}

/// A loaded registry.
#[derive(Debug, Clone)]
pub struct Registry {
    /// Where it was read from.
    pub path: PathBuf,
    /// The HMAC key (empty for an external key not yet resolved with
    /// [`Registry::resolve_key`]).
    pub key: Vec<u8>,
    /// Entries, in file order.
    pub entries: Vec<Entry>,
    /// Where the key is.
    pub key_mode: KeyMode,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    version: Option<toml::Spanned<i64>>,
    key: Option<toml::Spanned<String>>,
    #[serde(default)]
    token: Vec<toml::Spanned<RawEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    id: Option<String>,
    fingerprint: Option<String>,
    length: Option<i64>,
    alphabet: Option<String>,
    nda: Option<String>,
    counterparty: Option<String>,
    owner: Option<String>,
    #[serde(default)]
    scope: Vec<String>,
    issued: Option<toml::Value>,
    expires: Option<toml::Value>,
    rotate_every: Option<String>,
    report_within: Option<String>,
    revoke_within: Option<String>,
    #[serde(default)]
    contacts: Vec<String>,
    status: Option<String>,
    revoked_at: Option<toml::Value>,
}

/// Computes the registry fingerprint of `token` under `key`.
pub fn keyed_hash(key: &[u8], token: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(token);
    mac.finalize().into_bytes().into()
}

fn date_value(v: &toml::Value) -> std::result::Result<OffsetDateTime, String> {
    match v {
        toml::Value::String(s) => breach::parse_date(s),
        toml::Value::Datetime(d) => breach::parse_date(&d.to_string()),
        other => Err(format!("expected a date, got {}", other.type_str())),
    }
}

/// The first entry whose id an earlier entry already has.
fn duplicate_id(entries: &[Entry]) -> Option<&Entry> {
    let mut ids = std::collections::HashSet::with_capacity(entries.len());
    entries.iter().find(|e| !ids.insert(e.id.as_str()))
}

impl Registry {
    /// Parses registry text; `file` names it in errors.
    ///
    /// A large registry is cut at its `[[token]]` lines and the parts are parsed in parallel; if
    /// any part fails (or the cut fell inside a multi-line string), the whole text is parsed
    /// again in one piece, so that errors and their line numbers are exactly those of the file.
    pub fn parse(file: &str, text: &str) -> Result<Registry> {
        if let Some(r) = fast::parse(file, text) {
            return Ok(r);
        }
        if text.len() >= PARALLEL_PARSE_MIN {
            if let Some(r) = Registry::parse_parallel(file, text) {
                return Ok(r);
            }
        }
        Registry::parse_part(file, text, 0, true)
    }

    fn parse_parallel(file: &str, text: &str) -> Option<Registry> {
        use rayon::prelude::*;
        let starts: Vec<usize> = text
            .match_indices("\n[[token]]")
            .map(|(i, _)| i + 1)
            .filter(|&i| text[i + 9..].starts_with(['\n', '\r', ' ', '\t', '#']))
            .collect();
        let parts = (rayon::current_num_threads().max(1) * 2).min(starts.len() + 1);
        if parts < 2 {
            return None;
        }
        let mut cuts = vec![0usize];
        for k in 1..parts {
            cuts.push(starts[k * starts.len() / parts]);
        }
        cuts.dedup();
        cuts.push(text.len());
        let mut lines = LineIndex::new(text.as_bytes());
        // Cuts are in ascending order: the index counts lines forward once.
        let pieces: Vec<(usize, usize, usize)> = cuts.windows(2).map(|w| (w[0], w[1], lines.line(w[0]))).collect();
        let parsed: Vec<Result<Registry>> = pieces
            .par_iter()
            .enumerate()
            .map(|(i, &(a, b, line))| Registry::parse_part(file, &text[a..b], line - 1, i == 0))
            .collect();
        let mut out: Option<Registry> = None;
        for r in parsed {
            let r = r.ok()?;
            match &mut out {
                None => out = Some(r),
                Some(o) => o.entries.extend(r.entries),
            }
        }
        let out = out?;
        if duplicate_id(&out.entries).is_some() {
            return None;
        }
        Some(out)
    }

    /// Parses one part of a registry whose first line is line `line_base + 1` of the file; only
    /// the first part has the header (`version`, `key`).
    fn parse_part(file: &str, text: &str, line_base: usize, header: bool) -> Result<Registry> {
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of_offset(text, s.start) + line_base);
            Error::invalid(file, line, e.message().to_string())
        })?;
        Registry::from_raw(file, text, raw, line_base, header)
    }

    /// Checks and converts what a reader produced (see [`Registry::parse_part`]).
    fn from_raw(file: &str, text: &str, raw: RawFile, line_base: usize, header: bool) -> Result<Registry> {
        if !header {
            if raw.version.is_some() || raw.key.is_some() {
                return Err(Error::invalid(
                    file,
                    None,
                    "`version` and `key` must come before the first [[token]]".to_string(),
                ));
            }
            let entries = Registry::entries(file, text, raw.token, line_base)?;
            return Ok(Registry { path: PathBuf::from(file), key: Vec::new(), entries, key_mode: KeyMode::Inline });
        }
        let (key, key_mode) = Registry::header(file, text, raw.version.as_ref(), raw.key.as_ref())?;
        let entries = Registry::entries(file, text, raw.token, line_base)?;
        Ok(Registry { path: PathBuf::from(file), key, entries, key_mode })
    }

    /// Checks `version` and decodes `key` (empty for an external key).
    fn header(
        file: &str,
        text: &str,
        version: Option<&toml::Spanned<i64>>,
        key: Option<&toml::Spanned<String>>,
    ) -> Result<(Vec<u8>, KeyMode)> {
        match version {
            Some(v) if *v.get_ref() == 1 => {}
            Some(v) => {
                return Err(Error::invalid(
                    file,
                    Some(line_of_offset(text, v.span().start)),
                    format!("unsupported registry version {} (this ndaguard reads version 1)", v.get_ref()),
                ))
            }
            None => return Err(Error::invalid(file, Some(1), "missing `version = 1`".to_string())),
        }
        match key {
            Some(k) => {
                let line = line_of_offset(text, k.span().start);
                let value = k.get_ref().trim();
                if let Some(rest) = value.strip_prefix(EXTERNAL_KEY) {
                    let check = match rest.strip_prefix(':') {
                        None if rest.is_empty() => None,
                        Some(c) if c.len() == 16 && c.bytes().all(|b| b.is_ascii_hexdigit()) => {
                            Some(c.to_ascii_lowercase())
                        }
                        _ => {
                            return Err(Error::invalid(
                                file,
                                Some(line),
                                "field `key`: expected base64, \"external\" or \"external:<16 hex digits>\""
                                    .to_string(),
                            ))
                        }
                    };
                    return Ok((Vec::new(), KeyMode::External { check }));
                }
                let bytes = STANDARD
                    .decode(k.get_ref().trim())
                    .map_err(|e| Error::invalid(file, Some(line), format!("field `key` is not base64: {e}")))?;
                if bytes.len() < 16 {
                    return Err(Error::invalid(file, Some(line), "field `key` must be at least 16 bytes".to_string()));
                }
                Ok((bytes, KeyMode::Inline))
            }
            None => Err(Error::invalid(file, Some(1), "missing field `key`".to_string())),
        }
    }

    fn entries(file: &str, text: &str, tokens: Vec<toml::Spanned<RawEntry>>, line_base: usize) -> Result<Vec<Entry>> {
        let mut entries: Vec<Entry> = Vec::with_capacity(tokens.len());
        // Entries come in file order: lines are counted forward.
        let mut lines = LineIndex::new(text.as_bytes());
        for (i, spanned) in tokens.into_iter().enumerate() {
            let line = lines.locate(spanned.span().start).0 + line_base;
            entries.push(Registry::entry(file, line, i, spanned.into_inner())?);
        }
        if let Some(e) = duplicate_id(&entries) {
            return Err(Error::invalid(
                file,
                Some(e.line),
                format!("token {:?}: field `id`: duplicate id {:?}", e.id, e.id),
            ));
        }
        Ok(entries)
    }

    /// Checks one entry (the `index`-th, at `line`), except that its id is unique.
    fn entry(file: &str, line: usize, index: usize, r: RawEntry) -> Result<Entry> {
        let name = r.id.clone().unwrap_or_else(|| format!("#{}", index + 1));
        let err = |field: &str, msg: String| {
            Error::invalid(file, Some(line), format!("token {name:?}: field `{field}`: {msg}"))
        };
        let req = |field: &str, v: Option<String>| -> Result<String> {
            match v {
                Some(s) if !s.trim().is_empty() => Ok(s),
                _ => Err(err(field, "is required".into())),
            }
        };
        let id = req("id", r.id)?;
        let fp_text = req("fingerprint", r.fingerprint)?;
        let fingerprint = fp_text
            .strip_prefix(FINGERPRINT_PREFIX)
            .and_then(|h| {
                let mut fp = [0u8; 32];
                hex::decode_to_slice(h, &mut fp).ok().map(|()| fp)
            })
            .ok_or_else(|| err("fingerprint", format!("expected {FINGERPRINT_PREFIX} followed by 64 hex digits")))?;
        let length = match r.length {
            Some(n) if (MIN_TOKEN_LEN as i64..=MAX_TOKEN_LEN as i64).contains(&n) => n as usize,
            // `registry add` refuses tokens under MIN_TOKEN_LEN: an entry that short was not
            // written by it, and would be recoverable by guessing.
            Some(n) => return Err(err("length", format!("{n} is out of range {MIN_TOKEN_LEN}..={MAX_TOKEN_LEN}"))),
            None => return Err(err("length", "is required".into())),
        };
        let alphabet = match r.alphabet.as_deref() {
            None => Alphabet::Printable,
            Some(a) => Alphabet::ALL.into_iter().find(|x| x.as_str() == a).ok_or_else(|| {
                err("alphabet", format!("{a:?} (expected hex, alnum, base64url, base64 or printable)"))
            })?,
        };
        let dur = |field: &str, v: Option<String>| -> Result<Option<Duration>> {
            v.map(|s| breach::parse_duration(&s).map_err(|e| err(field, e))).transpose()
        };
        let date = |field: &str, v: Option<toml::Value>| -> Result<Option<OffsetDateTime>> {
            v.map(|v| date_value(&v).map_err(|e| err(field, e))).transpose()
        };
        let report_within =
            dur("report_within", r.report_within)?.ok_or_else(|| err("report_within", "is required".into()))?;
        let revoke_within =
            dur("revoke_within", r.revoke_within)?.ok_or_else(|| err("revoke_within", "is required".into()))?;
        let status = match r.status.as_deref() {
            None | Some("active") => Status::Active,
            Some("revoked") => Status::Revoked,
            Some(other) => return Err(err("status", format!("{other:?} (expected \"active\" or \"revoked\")"))),
        };
        Ok(Entry {
            id,
            fingerprint,
            length,
            alphabet,
            nda: req("nda", r.nda)?,
            counterparty: req("counterparty", r.counterparty)?,
            owner: req("owner", r.owner)?,
            scope: r.scope,
            issued: date("issued", r.issued)?,
            expires: date("expires", r.expires)?,
            rotate_every: dur("rotate_every", r.rotate_every)?,
            report_within,
            revoke_within,
            contacts: r.contacts,
            status,
            revoked_at: date("revoked_at", r.revoked_at)?,
            line,
        })
    }

    /// Reads and parses `path`, and resolves an external key from the environment.
    pub fn load(path: &Path) -> Result<Registry> {
        Registry::load_with_key_file(path, None)
    }

    /// Reads and parses `path`, and resolves an external key from the environment or
    /// `key_file`.
    pub fn load_with_key_file(path: &Path, key_file: Option<&Path>) -> Result<Registry> {
        let text = crate::input::read_text(path, crate::input::MAX_DATA_FILE)?;
        let mut r = Registry::parse(&path.display().to_string(), &text)?;
        r.path = path.to_path_buf();
        r.resolve_key(key_file)?;
        Ok(r)
    }

    /// For `key = "external"`: takes the key from `NDAGUARD_REGISTRY_KEY`, else from `key_file`,
    /// and checks it against the key id when the file has one. Nothing to do for an inline key.
    pub fn resolve_key(&mut self, key_file: Option<&Path>) -> Result<()> {
        let KeyMode::External { check } = &self.key_mode else { return Ok(()) };
        let check = check.as_deref();
        if let Some(v) = std::env::var_os(KEY_ENV).filter(|v| !v.is_empty()) {
            self.key = decode_external(KEY_ENV, &v.to_string_lossy(), check)?;
            return Ok(());
        }
        if let Some(f) = key_file {
            let text = crate::input::read_text(f, crate::input::MAX_CONFIG_FILE)?;
            self.key = decode_external(&f.display().to_string(), &text, check)?;
            return Ok(());
        }
        Err(Error::Usage(format!(
            "{}: the registry's key is external: set {KEY_ENV} (base64), or name a key file with `registry_key_file` in .ndaguard.toml",
            self.path.display()
        )))
    }

    /// The entry whose keyed hash `token` has, if any.
    pub fn lookup(&self, token: &[u8]) -> Option<&Entry> {
        let fp = keyed_hash(&self.key, token);
        self.entries.iter().find(|e| e.length == token.len() && e.fingerprint == fp)
    }
}

#[cfg(test)]
mod tests;
