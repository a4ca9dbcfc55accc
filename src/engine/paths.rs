//! Rules' path limits. A rule's `path` regex is compiled on first use apart from the rule's own
//! regex, so a path-limited rule's regex is compiled only for files whose path it names: a scan of
//! a tree without `.netrc` or `sftp-config.json` files never builds those rules' regexes.

use std::sync::OnceLock;

use regex::bytes::Regex;

use crate::rules::{compile_regex, Rule};

/// The compiled path regexes, one cell per rule.
pub(super) struct PathLimits {
    cells: Vec<OnceLock<std::result::Result<Option<Regex>, String>>>,
}

impl PathLimits {
    pub(super) fn new(rules: usize) -> PathLimits {
        PathLimits { cells: (0..rules).map(|_| OnceLock::new()).collect() }
    }

    /// Rule `ri`'s compiled path regex: `Ok(None)` for a rule without one, `Err` with the regex
    /// error for one that does not compile.
    pub(super) fn get<'a>(&'a self, rules: &[Rule], ri: usize) -> std::result::Result<Option<&'a Regex>, String> {
        let Some(cell) = self.cells.get(ri) else { return Ok(None) };
        let compiled = cell.get_or_init(|| match rules.get(ri).and_then(|r| r.path.as_deref()) {
            Some(p) => compile_regex(p).map(Some).map_err(|e| e.to_string()),
            None => Ok(None),
        });
        match compiled {
            Ok(re) => Ok(re.as_ref()),
            Err(e) => Err(e.clone()),
        }
    }

    /// Whether rule `ri` runs at `path`. A rule without a path limit runs anywhere, also on input
    /// without a path; a path-limited rule runs only where its regex matches the path, and nowhere
    /// if the regex does not compile (`Engine::compile_all` reports that).
    pub(super) fn allows(&self, rules: &[Rule], ri: usize, path: Option<&str>) -> bool {
        match self.get(rules, ri) {
            Ok(None) => true,
            Ok(Some(re)) => path.is_some_and(|p| re.is_match(p.as_bytes())),
            Err(_) => false,
        }
    }
}

impl super::Engine {
    /// Whether a rule without keywords (one that reads every file its path names) runs at `path`:
    /// such a file is scanned even when it is binary.
    pub fn reads_whole_file(&self, path: &str) -> bool {
        self.path_only.iter().any(|&ri| self.paths.allows(&self.rules, ri, Some(path)))
    }
}
