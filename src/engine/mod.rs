//! The matching engine: keyword prefilter, regex confirmation, and per-rule filters.
//!
//! One Aho-Corasick automaton (a DFA) holds every rule's keywords (ASCII case-insensitive). A
//! pass over the input marks the rules whose keywords occur; only those rules' regexes run, each over the
//! whole input with `regex::bytes`. A regex is compiled the first time a rule is a candidate
//! (most scans need few of them), so start-up costs only the automaton.
//!
//! Each capture of the `secret` group then goes through the rule's filters: entropy, checksum,
//! stopwords, `allow` regexes, the built-in placeholder filter and, for generic rules, the
//! generic-noise filter. What is left is a [`Match`]: byte offsets only; lines and columns are
//! computed later, for matches alone.
//!
//! The engine does no I/O and holds no per-scan state: it is shared by every worker thread, each
//! of which brings its own [`Scratch`].

pub mod checksum;
pub mod entropy;
pub mod falsepos;

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, Input, MatchKind};
use regex::bytes::Regex;

use crate::error::{Error, Result};
use crate::rules::{compile_regex, Rule};

/// A confirmed match of one rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// Index of the rule in [`Engine::rules`].
    pub rule: usize,
    /// Byte offset of the secret's first byte.
    pub start: usize,
    /// Byte offset just past the secret.
    pub end: usize,
}

struct Compiled {
    regex: Regex,
    path: Option<Regex>,
    allow: Vec<Regex>,
}

/// Per-thread scratch space.
#[derive(Default)]
pub struct Scratch {
    marked: Vec<bool>,
    candidates: Vec<usize>,
}

/// The compiled rule set. Build once, share across threads.
pub struct Engine {
    rules: Vec<Rule>,
    compiled: Vec<OnceLock<std::result::Result<Compiled, String>>>,
    automaton: AhoCorasick,
    /// For each automaton pattern, the rules that listed that keyword.
    pattern_rules: Vec<Vec<usize>>,
}

impl Engine {
    /// Builds the engine over `rules`. Only the keyword automaton is built here.
    pub fn new(rules: Vec<Rule>) -> Result<Engine> {
        let mut keywords: Vec<String> = Vec::new();
        let mut pattern_rules: Vec<Vec<usize>> = Vec::new();
        let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for (ri, rule) in rules.iter().enumerate() {
            for k in &rule.keywords {
                let key = k.to_ascii_lowercase();
                let pi = *index.entry(key.clone()).or_insert_with(|| {
                    keywords.push(key);
                    pattern_rules.push(Vec::new());
                    keywords.len() - 1
                });
                if !pattern_rules[pi].contains(&ri) {
                    pattern_rules[pi].push(ri);
                }
            }
        }
        // A leftmost-longest search restarted one byte after each match start finds every
        // position where some keyword starts (see `find`); a shorter keyword starting at the same
        // position is a prefix of the reported one, so its rules ride along.
        for (pi, kw) in keywords.iter().enumerate() {
            for (qi, other) in keywords.iter().enumerate() {
                if qi != pi && other.len() < kw.len() && kw.starts_with(other.as_str()) {
                    let extra = pattern_rules[qi].clone();
                    for ri in extra {
                        if !pattern_rules[pi].contains(&ri) {
                            pattern_rules[pi].push(ri);
                        }
                    }
                }
            }
        }
        let automaton = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&keywords)
            .map_err(|e| Error::invalid("<rules>", None, format!("cannot build the keyword automaton: {e}")))?;
        let compiled = rules.iter().map(|_| OnceLock::new()).collect();
        Ok(Engine { rules, compiled, automaton, pattern_rules })
    }

    /// The rules, in engine order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    fn compiled(&self, ri: usize) -> Option<&Compiled> {
        let cell = self.compiled.get(ri)?;
        let rule = &self.rules[ri];
        let res = cell.get_or_init(|| {
            let regex = compile_regex(&rule.regex).map_err(|e| e.to_string())?;
            let path = match &rule.path {
                Some(p) => Some(compile_regex(p).map_err(|e| e.to_string())?),
                None => None,
            };
            let allow = rule
                .allow
                .iter()
                .map(|a| compile_regex(a).map_err(|e| e.to_string()))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            Ok(Compiled { regex, path, allow })
        });
        res.as_ref().ok()
    }

    /// Compiles every rule now; returns the first error with the rule's file and line.
    pub fn compile_all(&self) -> Result<()> {
        for (ri, rule) in self.rules.iter().enumerate() {
            if self.compiled(ri).is_none() {
                let msg = match self.compiled.get(ri).and_then(|c| c.get()) {
                    Some(Err(e)) => e.clone(),
                    _ => "cannot compile".to_string(),
                };
                return Err(Error::invalid(
                    &rule.origin.file,
                    Some(rule.origin.line),
                    format!("rule {:?}: {msg}", rule.id),
                ));
            }
        }
        Ok(())
    }

    /// Finds every match in `data`. `path` (relative, `/`-separated) is used by path-limited rules;
    /// `None` runs only rules without a path limit.
    pub fn find(&self, data: &[u8], path: Option<&str>, scratch: &mut Scratch, out: &mut Vec<Match>) {
        let n = self.rules.len();
        if scratch.marked.len() != n {
            scratch.marked = vec![false; n];
        }
        scratch.candidates.clear();
        let mut pos = 0;
        while pos < data.len() {
            let Some(m) = self.automaton.find(Input::new(data).range(pos..)) else { break };
            for &ri in &self.pattern_rules[m.pattern().as_usize()] {
                if !scratch.marked[ri] {
                    scratch.marked[ri] = true;
                    scratch.candidates.push(ri);
                }
            }
            if scratch.candidates.len() == n {
                break;
            }
            pos = m.start() + 1;
        }
        scratch.candidates.sort_unstable();
        let first = out.len();
        for &ri in &scratch.candidates {
            scratch.marked[ri] = false;
            self.run_rule(ri, data, path, out);
        }
        resolve_overlaps(&self.rules, &mut out[first..]);
        out.retain(|m| m.rule != usize::MAX);
    }

    fn run_rule(&self, ri: usize, data: &[u8], path: Option<&str>, out: &mut Vec<Match>) {
        let Some(c) = self.compiled(ri) else { return };
        let rule = &self.rules[ri];
        if let Some(pre) = &c.path {
            match path {
                Some(p) if pre.is_match(p.as_bytes()) => {}
                _ => return,
            }
        }
        if rule.generic && path.is_some_and(falsepos::is_generated_path) {
            return;
        }
        for caps in c.regex.captures_iter(data) {
            let Some(s) = caps.name("secret") else { continue };
            let secret = s.as_bytes();
            if self.accept(rule, c, secret) {
                out.push(Match { rule: ri, start: s.start(), end: s.end() });
            }
        }
    }

    fn accept(&self, rule: &Rule, c: &Compiled, secret: &[u8]) -> bool {
        if secret.is_empty() {
            return false;
        }
        if let Some(min) = rule.entropy {
            if entropy::shannon(secret) < min {
                return false;
            }
        }
        if let Some(kind) = rule.checksum {
            if !checksum::validate(kind, secret) {
                return false;
            }
        }
        if !rule.stopwords.is_empty() {
            let lower = secret.to_ascii_lowercase();
            if rule.stopwords.iter().any(|w| memchr::memmem::find(&lower, w.as_bytes()).is_some()) {
                return false;
            }
        }
        if c.allow.iter().any(|a| a.is_match(secret)) {
            return false;
        }
        if falsepos::is_placeholder(secret) {
            return false;
        }
        if rule.generic && (falsepos::is_generic_noise(secret) || self.fails_a_checksum_rule(secret)) {
            return false;
        }
        true
    }

    /// Whether `secret` has the shape of a checksummed token (a rule with a `checksum` matches
    /// all of it) but not a valid checksum: such a string is a placeholder or a typo, and a
    /// generic rule must not report what the specific rule rejected.
    fn fails_a_checksum_rule(&self, secret: &[u8]) -> bool {
        let lower = secret.to_ascii_lowercase();
        self.rules.iter().enumerate().any(|(ri, r)| {
            let Some(kind) = r.checksum else { return false };
            if r.generic
                || !r.keywords.iter().any(|k| memchr::memmem::find(&lower, k.to_ascii_lowercase().as_bytes()).is_some())
            {
                return false;
            }
            let Some(c) = self.compiled(ri) else { return false };
            c.regex
                .captures(secret)
                .and_then(|caps| caps.name("secret"))
                .is_some_and(|s| s.start() == 0 && s.end() == secret.len() && !checksum::validate(kind, secret))
        })
    }
}

/// Where two matches overlap, keeps the more specific one: a non-generic rule beats a generic
/// one, then higher precision, then the longer secret, then the earlier rule. Dropped matches get
/// `rule = usize::MAX`.
fn resolve_overlaps(rules: &[Rule], matches: &mut [Match]) {
    if matches.len() < 2 {
        return;
    }
    matches.sort_by_key(|m| (m.start, std::cmp::Reverse(m.end), m.rule));
    let rank = |m: &Match| {
        let r = &rules[m.rule];
        (r.generic, r.precision, std::cmp::Reverse(m.end - m.start), m.rule)
    };
    for i in 0..matches.len() {
        if matches[i].rule == usize::MAX {
            continue;
        }
        let mut j = i + 1;
        while j < matches.len() && matches[j].start < matches[i].end {
            if matches[j].rule != usize::MAX {
                if rank(&matches[j]) < rank(&matches[i]) {
                    matches[i].rule = usize::MAX;
                    break;
                }
                matches[j].rule = usize::MAX;
            }
            j += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::parse_rules;

    fn engine(text: &str) -> Engine {
        Engine::new(parse_rules("t.toml", text, false).expect("rules")).expect("engine")
    }

    const RULES: &str = r#"
[[rule]]
id = "short"
name = "Short prefix"
severity = "low"
keywords = ["sk_"]
regex = '''(?P<secret>sk_[a-z]{4}_[A-Za-z0-9]{16})'''
examples = ["sk_abcd_hV7mQ2xR9pLk4sNw"]
negative_examples = ["sk_"]

[[rule]]
id = "long"
name = "Long prefix"
severity = "high"
precision = "very-high"
keywords = ["sk_live_"]
regex = '''(?P<secret>sk_live_[A-Za-z0-9]{16})'''
examples = ["sk_live_hV7mQ2xR9pLk4sNw"]
negative_examples = ["sk_live_"]

[[rule]]
id = "tok"
name = "Token word"
severity = "low"
keywords = ["token"]
regex = '''token=(?P<secret>[A-Za-z0-9]{16})'''
examples = ["token=hV7mQ2xR9pLk4sNw"]
negative_examples = ["token="]
"#;

    fn ids(e: &Engine, data: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        e.find(data, Some("x.txt"), &mut Scratch::default(), &mut out);
        let mut ids: Vec<String> = out.iter().map(|m| e.rules()[m.rule].id.clone()).collect();
        ids.sort();
        ids
    }

    #[test]
    fn a_keyword_that_prefixes_a_longer_one_still_selects_its_rules() {
        let e = engine(RULES);
        // Only "sk_live_" occurs as a keyword start; the "sk_" rule must still run.
        assert_eq!(ids(&e, b"x sk_live_hV7mQ2xR9pLk4sNw y"), vec!["long"]);
        assert_eq!(ids(&e, b"sk_live_hV7mQ2xR9pLk4sNw sk_abcd_hV7mQ2xR9pLk4sNw"), vec!["long", "short"]);
    }

    #[test]
    fn overlapping_keywords_are_all_seen() {
        let e = engine(RULES);
        // "sk_" ... "token" overlap in "sk_token=..."; both keywords must be seen.
        assert_eq!(ids(&e, b"mask_token=hV7mQ2xR9pLk4sNw"), vec!["tok"]);
        assert_eq!(ids(&e, b"TOKEN=hV7mQ2xR9pLk4sNw token=hV7mQ2xR9pLk4sNx"), vec!["tok"]);
    }

    #[test]
    fn overlapping_matches_keep_the_more_specific_rule() {
        let e = engine(RULES);
        assert_eq!(ids(&e, b"sk_live_hV7mQ2xR9pLk4sNw"), vec!["long"]);
    }
}
