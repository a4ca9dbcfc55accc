//! The `[allowlist]` of `.ndaguard.toml`, compiled: path globs (gitignore syntax), secret regexes
//! and stopwords, globally and per rule.

use std::collections::HashMap;
use std::path::Path;

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use regex::bytes::Regex;

use crate::config::{AllowlistConfig, RuleAllowlist};
use crate::error::{Error, Result};
use crate::rules::compile_regex;

struct Part {
    paths: Option<Gitignore>,
    regexes: Vec<Regex>,
    stopwords: Vec<String>,
}

impl Part {
    fn build(
        file: &str,
        root: &Path,
        what: &str,
        paths: &[String],
        regexes: &[String],
        stopwords: &[String],
    ) -> Result<Part> {
        let paths = if paths.is_empty() {
            None
        } else {
            let mut b = GitignoreBuilder::new(root);
            for p in paths {
                b.add_line(None, p)
                    .map_err(|e| Error::invalid(file, None, format!("{what}.paths: bad glob {p:?}: {e}")))?;
            }
            Some(b.build().map_err(|e| Error::invalid(file, None, format!("{what}.paths: {e}")))?)
        };
        let regexes = regexes
            .iter()
            .map(|r| {
                compile_regex(r)
                    .map_err(|e| Error::invalid(file, None, format!("{what}.regexes: {r:?} does not compile: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Part { paths, regexes, stopwords: stopwords.iter().map(|s| s.to_ascii_lowercase()).collect() })
    }

    fn path_matches(&self, rel: &str, is_dir: bool) -> bool {
        match &self.paths {
            Some(g) => g.matched_path_or_any_parents(rel, is_dir).is_ignore(),
            None => false,
        }
    }

    fn secret_matches(&self, secret: &[u8]) -> bool {
        if self.regexes.iter().any(|r| r.is_match(secret)) {
            return true;
        }
        if self.stopwords.is_empty() {
            return false;
        }
        let lower = secret.to_ascii_lowercase();
        self.stopwords.iter().any(|w| memchr::memmem::find(&lower, w.as_bytes()).is_some())
    }
}

/// A compiled allowlist.
pub struct Allowlist {
    global: Part,
    per_rule: HashMap<String, Part>,
}

impl Allowlist {
    /// Compiles `cfg`; `file` names the configuration in errors, `root` anchors path globs.
    pub fn new(file: &str, root: &Path, cfg: &AllowlistConfig) -> Result<Allowlist> {
        let global = Part::build(file, root, "allowlist", &cfg.paths, &cfg.regexes, &cfg.stopwords)?;
        let mut per_rule = HashMap::new();
        for (id, RuleAllowlist { paths, regexes, stopwords }) in &cfg.rules {
            let part = Part::build(file, root, &format!("allowlist.rules.{id}"), paths, regexes, stopwords)?;
            per_rule.insert(id.clone(), part);
        }
        Ok(Allowlist { global, per_rule })
    }

    /// An allowlist that allows nothing.
    pub fn empty() -> Allowlist {
        Allowlist { global: Part { paths: None, regexes: Vec::new(), stopwords: Vec::new() }, per_rule: HashMap::new() }
    }

    /// Whether the global path globs exclude `rel` from scanning.
    pub fn excludes_path(&self, rel: &str, is_dir: bool) -> bool {
        self.global.path_matches(rel, is_dir)
    }

    /// Whether a finding of `rule_id` on `secret` at `rel` is suppressed.
    pub fn suppresses(&self, rule_id: &str, rel: &str, secret: &[u8]) -> bool {
        if self.global.secret_matches(secret) || self.global.path_matches(rel, false) {
            return true;
        }
        match self.per_rule.get(rule_id) {
            Some(p) => p.path_matches(rel, false) || p.secret_matches(secret),
            None => false,
        }
    }

    /// Whether a finding of `rule_id` at `rel` is suppressed by path alone (global or per-rule
    /// globs): for findings already checked against the secret regexes under another path.
    pub fn suppresses_path(&self, rule_id: &str, rel: &str) -> bool {
        self.global.path_matches(rel, false) || self.per_rule.get(rule_id).is_some_and(|p| p.path_matches(rel, false))
    }

    /// Rule ids with a per-rule allowlist (to check they exist).
    pub fn rule_ids(&self) -> impl Iterator<Item = &str> {
        self.per_rule.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn globs_regexes_and_stopwords() {
        let cfg = Config::parse(
            "c.toml",
            "[allowlist]\npaths = [\"tests/fixtures/**\", \"*.snap\"]\nregexes = [\"^dev-\"]\n[allowlist.rules.r1]\nstopwords = [\"FIXTURE\"]\n",
        )
        .expect("valid");
        let a = Allowlist::new("c.toml", Path::new("/"), &cfg.allowlist).expect("compiles");
        assert!(a.excludes_path("tests/fixtures/a/b.txt", false));
        assert!(a.excludes_path("x/y.snap", false));
        assert!(!a.excludes_path("src/main.rs", false));
        assert!(a.suppresses("any", "src/a", b"dev-123"));
        assert!(a.suppresses("r1", "src/a", b"my_fixture_token"));
        assert!(!a.suppresses("r2", "src/a", b"my_fixture_token"));
    }

    #[test]
    fn bad_regex_names_the_field() {
        let cfg = Config::parse("c.toml", "[allowlist]\nregexes = [\"(\"]\n").expect("parses");
        let e = Allowlist::new("c.toml", Path::new("/"), &cfg.allowlist).err().expect("error").to_string();
        assert!(e.contains("allowlist.regexes"), "{e}");
    }
}
