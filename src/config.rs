//! The project configuration file, `.ndaguard.toml` at the top of the git work tree that holds the
//! scan root (the scan root itself outside git), or the file `--config` or `NDAGUARD_CONFIG` names
//! (design.md §7).
//!
//! ```toml
//! registry = ".ndaguard/registry.toml"   # default path of the NDA registry
//! registry_key_file = "/run/secrets/ndaguard-key"  # key of a registry with key = "external"
//! max_file_size = 10485760               # bytes
//!
//! [rules]
//! disable = ["generic-password"]          # rule ids to turn off
//! paths = ["ci/rules"]                    # extra rule directories, relative to this file
//!
//! [allowlist]
//! paths = ["tests/fixtures/**", "*.snap"] # gitignore-style globs, relative to the top
//! regexes = ['''^dev-only-''']            # a secret matching one is suppressed
//! stopwords = ["fixture"]                 # a secret containing one is suppressed
//!
//! [allowlist.rules.generic-password]      # the same, for one rule only
//! paths = ["docs/**"]
//!
//! [policy.critical]                       # deadlines for findings not in the registry
//! report_within = "24h"
//! revoke_within = "4h"
//! ```
//!
//! Unknown keys are errors, reported with the file and line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::lines::line_of_offset;

/// Name of the configuration file looked up at the top of the repository (or the scan root).
pub const CONFIG_FILE: &str = ".ndaguard.toml";

/// The parsed configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Registry path (relative to this file).
    #[serde(default)]
    pub registry: Option<PathBuf>,
    /// Key file of a registry whose key is external (relative to this file).
    #[serde(default)]
    pub registry_key_file: Option<PathBuf>,
    /// Baseline path (relative to this file).
    #[serde(default)]
    pub baseline: Option<PathBuf>,
    /// Largest file scanned, in bytes.
    #[serde(default)]
    pub max_file_size: Option<u64>,
    /// Rule selection.
    #[serde(default)]
    pub rules: RulesConfig,
    /// Suppressions.
    #[serde(default)]
    pub allowlist: AllowlistConfig,
    /// Deadlines by severity for findings that are not in the registry.
    #[serde(default)]
    pub policy: BTreeMap<String, PolicyEntry>,
    /// Where the configuration was read from (not a key of the file).
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// `[rules]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesConfig {
    /// Rule ids to disable.
    #[serde(default)]
    pub disable: Vec<String>,
    /// Extra rule directories or files, relative to the configuration file.
    #[serde(default)]
    pub paths: Vec<PathBuf>,
}

/// `[allowlist]` and `[allowlist.rules.ID]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowlistConfig {
    /// gitignore-style globs of paths not to report (and not to scan, when global).
    #[serde(default)]
    pub paths: Vec<String>,
    /// Regexes over the secret.
    #[serde(default)]
    pub regexes: Vec<String>,
    /// Substrings of the secret (case-insensitive).
    #[serde(default)]
    pub stopwords: Vec<String>,
    /// Per-rule allowlists.
    #[serde(default)]
    pub rules: BTreeMap<String, RuleAllowlist>,
}

/// An allowlist for one rule.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleAllowlist {
    /// gitignore-style globs of paths.
    #[serde(default)]
    pub paths: Vec<String>,
    /// Regexes over the secret.
    #[serde(default)]
    pub regexes: Vec<String>,
    /// Substrings of the secret (case-insensitive).
    #[serde(default)]
    pub stopwords: Vec<String>,
}

/// `[policy.SEVERITY]`: durations such as `24h`, `7d`, `2w`, or `"none"`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyEntry {
    /// How long the holder has to report the incident.
    #[serde(default)]
    pub report_within: Option<String>,
    /// How long until the secret must be revoked.
    #[serde(default)]
    pub revoke_within: Option<String>,
    /// The lines of `report_within` and `revoke_within` in the file, for errors.
    #[serde(skip)]
    pub lines: [Option<usize>; 2],
}

impl Config {
    /// Parses configuration text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Config> {
        let cfg: Config = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of_offset(text, s.start));
            Error::invalid(file, line, e.message().to_string())
        })?;
        if cfg.policy.is_empty() {
            return Ok(cfg);
        }
        // `[policy]` errors name their line: the spans come from a second, span-keeping parse.
        let doc = toml_edit::Document::parse(text).ok();
        let line_of = |path: &[&str]| -> Option<usize> {
            let mut item = doc.as_ref()?.as_item();
            for key in path {
                item = item.get(key)?;
            }
            item.span().map(|s| line_of_offset(text, s.start))
        };
        let mut cfg = cfg;
        for (sev, entry) in cfg.policy.iter_mut() {
            if !["critical", "high", "medium", "low"].contains(&sev.as_str()) {
                return Err(Error::invalid(
                    file,
                    line_of(&["policy", sev]),
                    format!("[policy.{sev}]: unknown severity (expected critical, high, medium or low)"),
                ));
            }
            entry.lines = [line_of(&["policy", sev, "report_within"]), line_of(&["policy", sev, "revoke_within"])];
        }
        Ok(cfg)
    }

    /// Reads `path`.
    pub fn load(path: &Path) -> Result<Config> {
        let text = crate::input::read_text(path, crate::input::MAX_CONFIG_FILE)?;
        let mut cfg = Config::parse(&path.display().to_string(), &text)?;
        cfg.source = Some(path.to_path_buf());
        Ok(cfg)
    }

    /// Reads `explicit` if given (it must exist), else `.ndaguard.toml` in `root` if present.
    pub fn discover(explicit: Option<&Path>, root: &Path) -> Result<Config> {
        match explicit {
            Some(p) => Config::load(p),
            None => {
                let p = root.join(CONFIG_FILE);
                if p.is_file() {
                    Config::load(&p)
                } else {
                    Ok(Config::default())
                }
            }
        }
    }

    /// The directory relative paths in this file are resolved against.
    pub fn base_dir(&self) -> Option<&Path> {
        self.source.as_deref().and_then(Path::parent)
    }

    /// `registry_key_file`, relative to this file's folder.
    pub fn key_file(&self) -> Option<PathBuf> {
        let f = self.registry_key_file.as_ref()?;
        Some(self.base_dir().map(|d| d.join(f)).unwrap_or_else(|| f.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_full_config() {
        let cfg = Config::parse(
            "c.toml",
            r#"
registry = "reg.toml"
max_file_size = 100
[rules]
disable = ["x"]
[allowlist]
paths = ["tests/**"]
regexes = ["^dev-"]
[allowlist.rules.generic-password]
stopwords = ["fixture"]
[policy.critical]
report_within = "12h"
"#,
        )
        .expect("valid");
        assert_eq!(cfg.max_file_size, Some(100));
        assert_eq!(cfg.allowlist.rules["generic-password"].stopwords, vec!["fixture"]);
        assert_eq!(cfg.policy["critical"].report_within.as_deref(), Some("12h"));
    }

    #[test]
    fn unknown_key_is_an_error_with_line() {
        let e = Config::parse("c.toml", "registry = \"r\"\n[allowlist]\npath = []\n").unwrap_err().to_string();
        assert!(e.starts_with("c.toml:3:"), "{e}");
        assert!(e.contains("path"), "{e}");
    }

    #[test]
    fn unknown_policy_severity_is_an_error() {
        let e = Config::parse("c.toml", "[policy.urgent]\nreport_within = \"1h\"\n").unwrap_err().to_string();
        assert!(e.contains("policy.urgent"), "{e}");
    }
}
