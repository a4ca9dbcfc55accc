//! The history summary of `--cache DIR` (`DIR/history-summary.cache`): what the last complete
//! history scan of a repository saw (its named tips, a hash of what else decides which commits
//! and blobs it reads) and what its report needs to be rebuilt without walking the history
//! again (see [`quick`](super::quick)).
//!
//! It holds no secret: each finding is remembered by where it was found (blob, base version,
//! the path it was scanned as), its path, fingerprint and commit, and the number of commits that
//! carried it; the rest of its report (the redacted secret, its line and column, the rule) comes
//! from scanning that one blob again. The counts and skipped objects are those of the report.
//! It also lists every blob id the scan saw, so that a rescan after new commits knows which of
//! their blobs are new.
//!
//! The file is written whole (temp file and rename) after a complete scan, with a SHA-256 of its
//! content; a file that is truncated, corrupt, of another format version or of another identity
//! is never trusted.

use std::path::{Path, PathBuf};

use git2::{Oid, Repository};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::blob::{Collected, Hit, Provenance};
use crate::finding::Skipped;

const MAGIC: &[u8; 25] = b"NDAGUARD-HISTORY-SUMMARY\n";
const FORMAT: u32 = 2;
const HEADER: usize = MAGIC.len() + 4 + 32 + 8;

/// The summary file in a `--cache` directory.
pub(super) fn summary_file(dir: &Path) -> PathBuf {
    dir.join("history-summary.cache")
}

/// What decides which commits a history scan reads: its named tips (see
/// [`named_tips`](super::walk::named_tips)) and a SHA-256 of the shallow boundary, the grafts
/// file and every ref that names no commit (replace refs of blobs, tags of trees).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RefState {
    pub(super) tips: Vec<(String, String)>,
    pub(super) special: String,
}

impl RefState {
    /// The state of `repo` for the tips `tips`.
    pub(super) fn of(repo: &Repository, tips: &[(String, Oid)]) -> RefState {
        let mut h = Sha256::new();
        for name in ["shallow", "info/grafts"] {
            let text = std::fs::read(repo.commondir().join(name)).unwrap_or_default();
            h.update((text.len() as u64).to_le_bytes());
            h.update(&text);
        }
        let mut other: Vec<(String, String)> = Vec::new();
        if let Ok(refs) = repo.references() {
            for r in refs.flatten() {
                let name = String::from_utf8_lossy(r.name_bytes()).into_owned();
                if tips.iter().any(|(n, _)| *n == name) {
                    continue;
                }
                let target = match (r.target(), r.symbolic_target_bytes()) {
                    (Some(t), _) => t.to_string(),
                    (None, Some(s)) => String::from_utf8_lossy(s).into_owned(),
                    (None, None) => String::new(),
                };
                other.push((name, target));
            }
        }
        other.sort();
        for (n, t) in &other {
            h.update(n.as_bytes());
            h.update([0]);
            h.update(t.as_bytes());
            h.update([0]);
        }
        let tips = tips.iter().map(|(n, t)| (n.clone(), t.to_string())).collect();
        RefState { tips, special: hex::encode(h.finalize()) }
    }
}

/// One finding of the summarised scan, without its secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Remembered {
    /// The blob whose scan gave it, the version that blob was scanned against, and the path it
    /// was scanned as.
    pub(super) blob: String,
    pub(super) base: Option<String>,
    pub(super) scanned_as: String,
    /// Its path and fingerprint in the report.
    pub(super) path: String,
    pub(super) fingerprint: String,
    /// The commit that introduced it: id, author, e-mail, date, Unix time, and position in the
    /// history's order (ties between equal times).
    pub(super) commit: String,
    pub(super) author: String,
    pub(super) email: String,
    pub(super) date: String,
    pub(super) time: i64,
    pub(super) order: usize,
    /// How many commits carried it, and the versions of its path that did.
    pub(super) commits: u64,
    pub(super) carriers: Vec<String>,
}

/// What a complete history scan saw and reported.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Summary {
    pub(super) refs: RefState,
    /// How many commits the history held.
    pub(super) commits: u64,
    pub(super) files_scanned: u64,
    pub(super) bytes_scanned: u64,
    pub(super) suppressed: u64,
    pub(super) skipped: Vec<Skipped>,
    pub(super) findings: Vec<Remembered>,
    /// Blobs that rescans after new commits scanned and found nothing in, with the base each was
    /// scanned against (empty: whole); the scan cache knows those of the last full scan.
    pub(super) clean: Vec<(String, String)>,
    /// Every blob id the history used as a file, sorted (kept outside the JSON part of the file).
    #[serde(skip)]
    pub(super) blobs: Vec<Oid>,
}

impl Remembered {
    /// The remembered form of `hit`, found in `blob` (scanned against `base`, as `scanned_as`)
    /// and introduced by the commit at `order` in the history.
    pub(super) fn of(
        hit: &Hit,
        (blob, base, scanned_as): (Oid, Option<Oid>, String),
        order: usize,
        mut carriers: Vec<Oid>,
    ) -> Remembered {
        carriers.sort_unstable();
        carriers.dedup();
        let f = &hit.finding;
        Remembered {
            blob: blob.to_string(),
            base: base.map(|b| b.to_string()),
            scanned_as,
            path: f.path.clone(),
            fingerprint: f.fingerprint.clone(),
            commit: f.commit.clone().unwrap_or_default(),
            author: f.author.clone().unwrap_or_default(),
            email: f.email.clone().unwrap_or_default(),
            date: f.date.clone().unwrap_or_default(),
            time: hit.exposed_since.unwrap_or_default(),
            order,
            commits: f.commits.unwrap_or(1),
            carriers: carriers.iter().map(Oid::to_string).collect(),
        }
    }

    /// The provenance of the commit that introduced it.
    pub(super) fn provenance(&self) -> Provenance {
        Provenance {
            commit: self.commit.clone(),
            author: self.author.clone(),
            email: self.email.clone(),
            date: self.date.clone(),
            time: self.time,
        }
    }
}

impl Summary {
    /// The summary of a complete scan of `commits` commits whose tips were `refs`: its counts and
    /// skipped objects from `out`, its findings and every blob it saw.
    pub(super) fn of(
        refs: RefState,
        commits: usize,
        out: &Collected,
        findings: Vec<Remembered>,
        mut blobs: Vec<Oid>,
    ) -> Summary {
        blobs.sort_unstable();
        blobs.dedup();
        Summary {
            refs,
            commits: commits as u64,
            files_scanned: out.files_scanned,
            bytes_scanned: out.bytes_scanned,
            suppressed: out.suppressed,
            skipped: out.skipped.clone(),
            findings,
            clean: Vec::new(),
            blobs,
        }
    }
}

impl Summary {
    /// Whether the history used `blob` as a file.
    pub(super) fn knows_blob(&self, blob: Oid) -> bool {
        self.blobs.binary_search(&blob).is_ok()
    }
}

/// Writes `summary` (of a scan of `identity`) into `dir`, whole.
pub(super) fn save(dir: &Path, identity: &[u8; 32], summary: &Summary) -> std::io::Result<()> {
    let json = serde_json::to_vec(summary).map_err(std::io::Error::other)?;
    let mut out = Vec::with_capacity(HEADER + json.len() + summary.blobs.len() * 20 + 32);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT.to_le_bytes());
    out.extend_from_slice(identity);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    for b in &summary.blobs {
        out.extend_from_slice(b.as_bytes());
    }
    let sum = Sha256::digest(&out);
    out.extend_from_slice(&sum);
    std::fs::create_dir_all(dir)?;
    crate::output::write_whole(&summary_file(dir), &out)
}

/// A summary file as read: the identity it was written for and its content.
pub(crate) type Loaded = ([u8; 32], Summary);

/// Reads the summary in `dir`: `Ok(None)` when there is none, `Err` saying why one cannot be
/// used. The identity is checked by the caller (it is known only once the rules are loaded).
pub(super) fn load(dir: &Path) -> Result<Option<Loaded>, String> {
    let file = summary_file(dir);
    let bytes = match std::fs::read(&file) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot be read ({e})")),
    };
    parse(&bytes).map(Some)
}

fn parse(b: &[u8]) -> Result<Loaded, String> {
    if b.len() < HEADER + 32 || &b[..MAGIC.len()] != MAGIC {
        return Err("not a history summary, or truncated".into());
    }
    let word = |at: usize, n: usize| b[at..at + n].iter().rev().fold(0u64, |w, &x| (w << 8) | u64::from(x));
    if word(MAGIC.len(), 4) != u64::from(FORMAT) {
        return Err("written by another version of ndaguard".into());
    }
    let (body, sum) = b.split_at(b.len() - 32);
    if Sha256::digest(body).as_slice() != sum {
        return Err("corrupt (checksum mismatch)".into());
    }
    let mut identity = [0u8; 32];
    identity.copy_from_slice(&body[MAGIC.len() + 4..MAGIC.len() + 36]);
    let n = usize::try_from(word(MAGIC.len() + 36, 8)).unwrap_or(usize::MAX);
    let blobs_at = HEADER.saturating_add(n);
    if body.len() < blobs_at || (body.len() - blobs_at) % 20 != 0 {
        return Err("corrupt (wrong length)".into());
    }
    let mut summary: Summary = serde_json::from_slice(&body[HEADER..blobs_at]).map_err(|e| format!("corrupt ({e})"))?;
    summary.blobs = body[blobs_at..].chunks_exact(20).filter_map(|c| Oid::from_bytes(c).ok()).collect();
    if !summary.blobs.windows(2).all(|w| w[0] < w[1]) {
        return Err("corrupt (blob list out of order)".into());
    }
    Ok((identity, summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> Summary {
        Summary {
            refs: RefState { tips: vec![("refs/heads/main".into(), "ab".repeat(20))], special: "00".into() },
            commits: 3,
            files_scanned: 2,
            bytes_scanned: 10,
            suppressed: 0,
            skipped: Vec::new(),
            findings: Vec::new(),
            clean: Vec::new(),
            blobs: vec![Oid::from_bytes(&[1; 20]).expect("oid"), Oid::from_bytes(&[2; 20]).expect("oid")],
        }
    }

    #[test]
    fn a_summary_round_trips_and_a_changed_or_cut_file_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert!(matches!(load(dir.path()), Ok(None)));
        save(dir.path(), &[7; 32], &summary()).expect("written");
        let (id, back) = load(dir.path()).expect("readable").expect("present");
        assert_eq!(id, [7; 32]);
        assert_eq!((&back.refs, back.commits, back.blobs.len()), (&summary().refs, 3, 2));
        assert!(back.knows_blob(Oid::from_bytes(&[2; 20]).expect("oid")));
        let file = summary_file(dir.path());
        let bytes = std::fs::read(&file).expect("file");
        let mut bad = bytes.clone();
        bad[HEADER + 3] ^= 1;
        std::fs::write(&file, &bad).expect("write");
        assert!(load(dir.path()).is_err_and(|e| e.contains("corrupt")));
        std::fs::write(&file, &bytes[..bytes.len() - 5]).expect("write");
        assert!(load(dir.path()).is_err());
        let mut other = bytes.clone();
        other[MAGIC.len()] = 9;
        std::fs::write(&file, &other).expect("write");
        assert!(load(dir.path()).is_err_and(|e| e.contains("another version")));
    }
}
