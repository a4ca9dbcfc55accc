//! Baselines: the fingerprints of findings that a team has accepted, so that only new leaks are
//! reported. `ndaguard baseline > .ndaguard/baseline.json` writes one; `--baseline FILE` (or
//! `baseline = …` in the configuration) applies it.
//!
//! A baseline holds fingerprints, rule ids and paths, never secrets. Fingerprints do not depend
//! on the line, so a finding that moves within its file stays suppressed.

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::finding::Finding;

/// Format version of baseline files.
pub const BASELINE_VERSION: u32 = 1;

/// One accepted finding.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(deny_unknown_fields)]
pub struct Accepted {
    /// The finding's fingerprint.
    pub fingerprint: String,
    /// Its rule (for people reading the file).
    #[serde(default)]
    pub rule_id: String,
    /// Its path (for people reading the file).
    #[serde(default)]
    pub path: String,
}

/// A baseline file.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// Format version.
    pub version: u32,
    /// Accepted findings.
    pub findings: Vec<Accepted>,
}

impl Baseline {
    /// A baseline accepting `findings`.
    pub fn from_findings(findings: &[Finding]) -> Baseline {
        let mut entries: Vec<Accepted> = findings
            .iter()
            .map(|f| Accepted { fingerprint: f.fingerprint.clone(), rule_id: f.rule_id.clone(), path: f.path.clone() })
            .collect();
        entries.sort();
        entries.dedup();
        Baseline { version: BASELINE_VERSION, findings: entries }
    }

    /// Reads a baseline file.
    pub fn load(path: &Path) -> Result<Baseline> {
        let text = crate::input::read_text(path, crate::input::MAX_DATA_FILE)?;
        let file = path.display().to_string();
        let b: Baseline =
            serde_json::from_str(&text).map_err(|e| Error::invalid(&file, Some(e.line()), e.to_string()))?;
        if b.version != BASELINE_VERSION {
            return Err(Error::invalid(&file, None, format!("unknown baseline version {} (expected 1)", b.version)));
        }
        if let Some(bad) = b.findings.iter().find(|e| !e.fingerprint.starts_with("v1:")) {
            return Err(Error::invalid(&file, None, format!("malformed fingerprint {:?}", bad.fingerprint)));
        }
        Ok(b)
    }

    /// The set of fingerprints.
    pub fn fingerprints(&self) -> HashSet<String> {
        self.findings.iter().map(|e| e.fingerprint.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_other_versions_and_bad_fingerprints() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("b.json");
        std::fs::write(&p, r#"{"version": 2, "findings": []}"#).expect("write");
        assert!(Baseline::load(&p).unwrap_err().to_string().contains("version 2"));
        std::fs::write(&p, r#"{"version": 1, "findings": [{"fingerprint": "ghp_abc"}]}"#).expect("write");
        assert!(Baseline::load(&p).unwrap_err().to_string().contains("malformed fingerprint"));
        std::fs::write(&p, r#"{"version": 1, "findings": [{"fingerprint": "v1:00"}]}"#).expect("write");
        assert_eq!(Baseline::load(&p).expect("valid").fingerprints().len(), 1);
    }
}
