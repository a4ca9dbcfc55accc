//! The matching engine: keyword prefilter, regex confirmation, and per-rule filters.
//!
//! One Aho-Corasick automaton (a DFA) holds every rule's keywords (ASCII case-insensitive). A
//! pass over the input marks the rules whose keywords occur (see `keywords`); only those rules'
//! regexes run (and, in a file with a path, the rules without keywords, which have a `path`):
//! anchored at their keywords where they can be (see `anchor`), else over the whole input, or
//! in an input longer than 64 KiB over the windows around their keywords (`anchor::windows`).
//! A regex is compiled the first time a rule is a candidate (most scans need few of them), and a
//! path-limited rule's only where its path matches (see `paths`), so start-up costs only the
//! automaton.
//!
//! Each capture of the `secret` group then goes through the rule's filters: entropy, checksum,
//! stopwords, `allow` regexes, the built-in placeholder filter and, for generic rules, the
//! generic-noise filter. What is left is a [`Match`]: byte offsets only; lines and columns are
//! computed later, for matches alone.
//!
//! The engine does no I/O and holds no per-scan state: it is shared by every worker thread, each
//! of which brings its own [`Scratch`].

pub mod anchor;
pub mod checksum;
mod context;
pub mod entropy;
mod examples;
mod expr;
pub mod falsepos;
mod keyname;
mod keywords;
mod overlaps;
mod paths;
mod tails;
mod words;

use std::sync::OnceLock;

use regex::bytes::Regex;

use crate::error::{Error, Result};
use crate::rules::{compile_anchored, compile_meta, compile_regex, Rule};

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
    regex: RuleRegex,
    allow: Vec<Regex>,
}

/// A rule's compiled regex: `regex_automata` meta regexes built by [`compile_anchored`] with the
/// settings of `regex::bytes::RegexBuilder`, which builds a context rule 15-40 times slower
/// (8-16 ms against 0.2-0.6 ms, wall clock; callgrind counts the same instructions for both).
enum RuleRegex {
    /// Searched over the whole input.
    Whole(regex_automata::meta::Regex),
    /// For a rule whose matches start at its keywords: searched anchored at each keyword
    /// occurrence (see [`anchor`]).
    Anchored(regex_automata::meta::Regex),
    /// An anchored provider context rule whose regex ends in a tail other rules share: its names
    /// are compared at each keyword occurrence and the shared tail runs after them (see
    /// [`tails`]).
    Tail,
}

/// Names of the groups that can hold a match's secret, in order: `secret`, or when it did not
/// take part, `secret_bare`, `secret_body`, `secret_arg` (a rule may capture a quoted value, an
/// unquoted one, an element's body and a call's argument in alternatives, each with its own
/// character class; a regex cannot name two groups alike). A `secret_arg` is a call's second
/// argument whose first is the key (`setProperty("K", "v")`), which the value models check.
pub const SECRET_GROUPS: [&str; 4] = ["secret", "secret_bare", "secret_body", "secret_arg"];

/// Index in [`SECRET_GROUPS`] of the call-argument group.
const ARGUMENT_GROUP: usize = 3;

/// The secret of a match (see [`SECRET_GROUPS`]) and whether it is a call's argument.
fn anchored_secret_of(caps: &regex_automata::util::captures::Captures) -> Option<(regex_automata::Span, bool)> {
    SECRET_GROUPS.iter().enumerate().find_map(|(i, g)| caps.get_group_by_name(g).map(|m| (m, i == ARGUMENT_GROUP)))
}

/// Per-thread scratch space.
#[derive(Default)]
pub struct Scratch {
    marked: Vec<bool>,
    candidates: Vec<usize>,
    /// Where keywords of anchored rules start (of every rule, in a long input): (offset,
    /// keyword), sorted.
    starts: Vec<(usize, usize)>,
    /// In a long input, every keyword occurrence as (keyword, offset), sorted: where the
    /// windows of a rule searched whole lie (see [`anchor::windows`]).
    by_keyword: Vec<(usize, usize)>,
}

/// The compiled rule set. Build once, share across threads.
pub struct Engine {
    rules: Vec<Rule>,
    compiled: Vec<OnceLock<std::result::Result<Compiled, String>>>,
    /// Each rule's `path` regex, compiled apart (see `paths`).
    paths: paths::PathLimits,
    /// The keywords, their automaton and the rules that listed each.
    keywords: keywords::Keywords,
    /// For each rule, whether it may run only where its keywords start: its regex begins
    /// case-insensitively (`(?i)`). Whether it does is decided when it is compiled (see
    /// [`anchor`]: parsing every regex up front would cost start-up time).
    may_anchor: Vec<bool>,
    /// For each keyword, whether a rule that may be anchored listed it.
    keyword_anchors: Vec<bool>,
    /// For each rule, what a provider context rule needs near a keyword (see [`context`]).
    contexts: Vec<Option<context::Context>>,
    /// The shared tails of provider context rules.
    tails: tails::Tails,
    /// Token prefixes of specific rules (see [`Engine::prefixes`]), built on first use.
    prefixes: OnceLock<Vec<(String, usize)>>,
    /// Rules without keywords (each has a `path`): candidates in every file with a path.
    path_only: Vec<usize>,
    /// Inputs longer than this are searched in windows (see [`anchor::windows`]).
    windowed: usize,
    /// For each rule, the keywords it listed.
    rule_keywords: Vec<Vec<usize>>,
}

impl Engine {
    /// Builds the engine over `rules`. Only the keyword automaton is built here.
    pub fn new(rules: Vec<Rule>) -> Result<Engine> {
        let keywords = keywords::Keywords::new(&rules)?;
        let compiled = rules.iter().map(|_| OnceLock::new()).collect();
        let may_anchor: Vec<_> = rules.iter().map(|r| r.regex.starts_with("(?i)") && !r.keywords.is_empty()).collect();
        let path_only = (0..rules.len()).filter(|&ri| rules[ri].keywords.is_empty()).collect();
        let keyword_anchors =
            (0..keywords.len()).map(|ki| keywords.rules_of(ki).iter().any(|&ri| may_anchor[ri])).collect();
        let contexts: Vec<_> = rules.iter().map(|r| context::context_of(&r.regex, &r.keywords)).collect();
        let tails = tails::Tails::new(&rules, |ri| contexts[ri].is_some());
        let mut rule_keywords = vec![Vec::new(); rules.len()];
        for ki in 0..keywords.len() {
            keywords.rules_of(ki).iter().for_each(|&ri| rule_keywords[ri].push(ki));
        }
        Ok(Engine {
            paths: paths::PathLimits::new(rules.len()),
            rules,
            compiled,
            keywords,
            may_anchor,
            keyword_anchors,
            contexts,
            tails,
            prefixes: OnceLock::new(),
            path_only,
            windowed: anchor::WINDOWED,
            rule_keywords,
        })
    }

    /// The rules, in engine order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    fn compiled(&self, ri: usize) -> Option<&Compiled> {
        let cell = self.compiled.get(ri)?;
        let rule = &self.rules[ri];
        let res = cell.get_or_init(|| {
            let anchored =
                self.may_anchor.get(ri) == Some(&true) && anchor::starts_with_keyword(&rule.regex, &rule.keywords);
            let regex = if let Some(split) = self.tails.of(ri).filter(|_| anchored) {
                self.tails.regex(split)?;
                RuleRegex::Tail
            } else if anchored {
                // Only ever searched anchored: no literal prefilter.
                RuleRegex::Anchored(compile_meta(&rule.regex, false)?)
            } else {
                RuleRegex::Whole(compile_anchored(&rule.regex)?)
            };
            let allow = rule
                .allow
                .iter()
                .map(|a| compile_regex(a).map_err(|e| e.to_string()))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            Ok(Compiled { regex, allow })
        });
        res.as_ref().ok()
    }

    /// Compiles every rule now; returns the first error with the rule's file and line.
    pub fn compile_all(&self) -> Result<()> {
        for (ri, rule) in self.rules.iter().enumerate() {
            let path = self.paths.get(&self.rules, ri).err();
            if path.is_some() || self.compiled(ri).is_none() {
                let msg = match (path, self.compiled.get(ri).and_then(|c| c.get())) {
                    (Some(e), _) => e,
                    (None, Some(Err(e))) => e.clone(),
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

    /// What the rules see of `path`: the path-limited rules that run there, then whether generic
    /// rules skip it as generated and whether it names source code. Two paths of one class scan
    /// any text alike (a history scan scans a blob used under several paths once per class).
    pub fn path_class(&self, path: &str) -> Vec<u32> {
        let mut class: Vec<u32> = (0..self.rules.len())
            .filter(|&ri| self.rules[ri].path.is_some())
            .filter(|&ri| self.paths.allows(&self.rules, ri, Some(path)))
            .map(|ri| ri as u32)
            .collect();
        class.push(u32::MAX - u32::from(falsepos::is_generated_path(path)));
        class.push(u32::MAX - 2 - u32::from(falsepos::is_code_path(path)));
        class
    }

    /// Finds every match in `data`. `path` (relative, `/`-separated) is used by path-limited rules;
    /// `None` runs only rules without a path limit.
    pub fn find(&self, data: &[u8], path: Option<&str>, scratch: &mut Scratch, out: &mut Vec<Match>) {
        let n = self.rules.len();
        if scratch.marked.len() != n {
            scratch.marked = vec![false; n];
        }
        scratch.candidates.clear();
        scratch.starts.clear();
        let (marked, candidates, starts) = (&mut scratch.marked, &mut scratch.candidates, &mut scratch.starts);
        let windowed = data.len() > self.windowed;
        self.keywords.find(data, |ki, at| {
            for &ri in self.keywords.rules_of(ki) {
                if !marked[ri] {
                    marked[ri] = true;
                    candidates.push(ri);
                }
            }
            // In a long input, rules searched whole are searched near their keywords (see
            // `anchor::windows`).
            if self.keyword_anchors[ki] || windowed {
                starts.push((at, ki));
            }
        });
        scratch.candidates.extend(self.path_only.iter().filter(|_| path.is_some()));
        scratch.candidates.sort_unstable();
        if !scratch.starts.is_empty() {
            // The lanes overlap, so an occurrence can be reported twice.
            scratch.starts.sort_unstable();
            scratch.starts.dedup();
        }
        scratch.by_keyword.clear();
        if windowed {
            scratch.by_keyword.extend(scratch.starts.iter().map(|&(at, ki)| (ki, at)));
            scratch.by_keyword.sort_unstable();
        }
        let first = out.len();
        for &ri in &scratch.candidates {
            scratch.marked[ri] = false;
            // The keyword occurrences of a rule are in `starts` when it may be anchored.
            if let (Some(Some(ctx)), Some(true)) = (self.contexts.get(ri), self.may_anchor.get(ri)) {
                let mine = scratch.starts.iter().filter(|&&(_, ki)| self.keywords.rules_of(ki).contains(&ri));
                let near = mine.clone().any(|&(at, _)| ctx.near(data, at));
                self.assigned_values(ri, ctx, data, path, mine.map(|&(at, _)| at), out);
                if !near {
                    continue;
                }
            }
            self.run_rule(ri, data, path, (&scratch.starts, &scratch.by_keyword), out);
        }
        overlaps::resolve(&self.rules, &mut out[first..]);
        out.retain(|m| m.rule != usize::MAX);
    }

    /// The values a context rule takes with the provider's name alone as their key
    /// ([`context::Context::assigned_value`]), at its keyword occurrences `starts`.
    fn assigned_values(
        &self,
        ri: usize,
        ctx: &context::Context,
        data: &[u8],
        path: Option<&str>,
        starts: impl Iterator<Item = usize>,
        out: &mut Vec<Match>,
    ) {
        for at in starts {
            let Some(span) = ctx.assigned_value(data, at) else { continue };
            if !self.paths.allows(&self.rules, ri, path) || out.iter().any(|m| m.rule == ri && m.start == span.start) {
                continue;
            }
            let Some(c) = self.compiled(ri) else { return };
            let found = Found { data, at, span: span.clone(), argument: false, path };
            if self.accept(&self.rules[ri], c, found) {
                out.push(Match { rule: ri, start: span.start, end: span.end });
            }
        }
    }

    /// Runs rule `ri` over `data`, given where keywords start (`starts`: (offset, keyword), and in
    /// a long input `by_keyword`: (keyword, offset)).
    fn run_rule(&self, ri: usize, data: &[u8], path: Option<&str>, occurrences: Occurrences<'_>, out: &mut Vec<Match>) {
        let (starts, by_keyword) = occurrences;
        if !self.paths.allows(&self.rules, ri, path) {
            return;
        }
        let Some(c) = self.compiled(ri) else { return };
        let rule = &self.rules[ri];
        if rule.generic && path.is_some_and(falsepos::is_generated_path) {
            return;
        }
        if !matches!(c.regex, RuleRegex::Whole(_)) {
            return self.run_anchored(ri, c, data, path, starts, out);
        }
        if data.len() <= self.windowed || self.rules[ri].keywords.is_empty() {
            return self.run_whole(ri, c, data, 0..data.len(), path, out);
        }
        let mut mine: Vec<usize> = Vec::new();
        for &ki in &self.rule_keywords[ri] {
            let from = by_keyword.partition_point(|&(k, _)| k < ki);
            mine.extend(by_keyword[from..].iter().take_while(|&&(k, _)| k == ki).map(|&(_, at)| at));
        }
        mine.sort_unstable();
        for window in anchor::windows(mine.into_iter(), data.len()) {
            self.run_whole(ri, c, data, window, path, out);
        }
    }

    /// [`Self::run_rule`] for a rule searched over `range` of the input (all of it, or a window
    /// around its keywords).
    fn run_whole(
        &self,
        ri: usize,
        c: &Compiled,
        data: &[u8],
        range: std::ops::Range<usize>,
        path: Option<&str>,
        out: &mut Vec<Match>,
    ) {
        let (RuleRegex::Whole(regex), rule) = (&c.regex, &self.rules[ri]) else { return };
        // Most candidate rules match nothing: a plain search says so without setting up captures.
        if !regex.is_match(regex_automata::Input::new(data).range(range.clone())) {
            return;
        }
        // Matches do not overlap, except that after a rejected match of a rule with a value model
        // the search goes on from the rejected value: `key="ApiKey" value="…"` first matches at
        // `key=` (the value `ApiKey` is a name), then at `Key" value=`.
        let mut caps = regex.create_captures();
        let mut pos = range.start;
        while pos <= range.end {
            // A search from `pos` still sees the bytes before it (`\b`, `^`).
            regex.search_captures(&regex_automata::Input::new(data).range(pos..range.end), &mut caps);
            let Some(whole) = caps.get_match() else { break };
            let Some((s, argument)) = anchored_secret_of(&caps) else { break };
            let accepted = self.accept(rule, c, Found { data, at: whole.start(), span: s.range(), argument, path });
            if accepted {
                out.push(Match { rule: ri, start: s.start, end: s.end });
            }
            pos = resume_at(rule, accepted, whole.start(), whole.end(), s.start);
        }
    }

    /// [`Self::run_rule`] for an anchored rule: the regex is tried at each start of one of its
    /// keywords, in order, and the next try starts after a match, which finds the same matches
    /// as a search of the whole input (every match starts at a keyword).
    fn run_anchored(
        &self,
        ri: usize,
        c: &Compiled,
        data: &[u8],
        path: Option<&str>,
        starts: &[(usize, usize)],
        out: &mut Vec<Match>,
    ) {
        let rule = &self.rules[ri];
        let Some((re, split)) = self.searcher(ri, c) else { return };
        let mut caps = re.create_captures();
        let mut from = 0;
        for &(at, ki) in starts {
            if at < from || !self.keywords.rules_of(ki).contains(&ri) {
                continue;
            }
            let end = data.len().min(at.saturating_add(anchor::SPAN));
            let found = match split {
                Some(split) => tails::search_at(re, split, data, at, end, &mut caps),
                None => {
                    let input = regex_automata::Input::new(data).range(at..end).anchored(regex_automata::Anchored::Yes);
                    re.search_captures(&input, &mut caps);
                    caps.get_match().map(|m| m.end())
                }
            };
            // An anchored match starts at `at`.
            let Some(m_end) = found else { continue };
            let Some((s, argument)) = anchored_secret_of(&caps) else {
                from = m_end.max(at + 1);
                continue;
            };
            let accepted = self.accept(rule, c, Found { data, at, span: s.range(), argument, path });
            if accepted {
                out.push(Match { rule: ri, start: s.start, end: s.end });
            }
            from = resume_at(rule, accepted, at, m_end, s.start);
        }
    }

    /// Whether the secret of a match of `rule` passes the rule's filters.
    fn accept(&self, rule: &Rule, c: &Compiled, found: Found<'_>) -> bool {
        let Found { data, at, span, argument, path } = found;
        let secret = &data[span.clone()];
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
        if falsepos::is_placeholder_for(rule, secret) {
            return false;
        }
        if let Some(model) = rule.model {
            let ctx = falsepos::Assignment { data, at, span, argument, path };
            if !falsepos::value_fits(model, &ctx) || self.fails_a_specific_rule(secret) {
                return false;
            }
        } else if rule.generic && (falsepos::is_generic_noise(secret) || self.fails_a_specific_rule(secret)) {
            return false;
        }
        true
    }

    /// Whether `secret` claims a provider's format but that provider's rule rejects it: it has the
    /// shape of a checksummed token (a rule with a `checksum` matches all of it) but not a valid
    /// checksum, or it begins with a provider's prefix (`sk_`, `ghp_`, `xoxb-`: a keyword with a
    /// separator, or the first separated part of one) and no rule of that prefix accepts all of
    /// it (`sk_prod_…`, a truncated token). Such a string is a placeholder, a typo or a made-up
    /// token, and a generic rule must not report what the specific rule rejected.
    fn fails_a_specific_rule(&self, secret: &[u8]) -> bool {
        let lower = secret.to_ascii_lowercase();
        let bad_checksum = self.rules.iter().enumerate().any(|(ri, r)| {
            let Some(kind) = r.checksum else { return false };
            if r.generic
                || !r.keywords.iter().any(|k| memchr::memmem::find(&lower, k.to_ascii_lowercase().as_bytes()).is_some())
            {
                return false;
            }
            let Some(c) = self.compiled(ri) else { return false };
            self.first_secret(ri, c, secret)
                .is_some_and(|s| s.start == 0 && s.end == secret.len() && !checksum::validate(kind, secret))
        });
        if bad_checksum {
            return true;
        }
        if falsepos::is_malformed_bot_token(secret) {
            return true;
        }
        // The leading part up to the first separator: `sk_` of `sk_prod_…`.
        let lead = match lower.iter().position(|b| matches!(b, b'_' | b'-')) {
            Some(i) if (2..=10).contains(&i) => &lower[..=i],
            _ => return false,
        };
        let mut claimed = false;
        for (k, ri) in self.prefixes() {
            let k = k.as_bytes();
            if !(lower.starts_with(k) || k.starts_with(lead)) {
                continue;
            }
            claimed = true;
            let r = &self.rules[*ri];
            let Some(c) = self.compiled(*ri) else { continue };
            let whole = self.first_secret(*ri, c, secret).is_some_and(|s| s.start == 0 && s.end == secret.len());
            if whole && r.checksum.is_none_or(|kind| checksum::validate(kind, secret)) {
                return false;
            }
        }
        claimed
    }

    /// The regex that rule `ri`'s matches are searched with (compiled as `c`), and for a rule
    /// with a shared tail, its split (see [`tails`]).
    fn searcher<'a>(
        &'a self,
        ri: usize,
        c: &'a Compiled,
    ) -> Option<(&'a regex_automata::meta::Regex, Option<&'a tails::Split>)> {
        match &c.regex {
            RuleRegex::Whole(re) | RuleRegex::Anchored(re) => Some((re, None)),
            RuleRegex::Tail => {
                let split = self.tails.of(ri)?;
                Some((self.tails.regex(split).ok()?, Some(split)))
            }
        }
    }

    /// The span of the `secret` group of rule `ri`'s first match in `hay`.
    fn first_secret(&self, ri: usize, c: &Compiled, hay: &[u8]) -> Option<std::ops::Range<usize>> {
        let (re, split) = self.searcher(ri, c)?;
        let mut caps = re.create_captures();
        match split {
            Some(split) => tails::search(re, split, hay, &mut caps)?,
            None => {
                re.search_captures(&regex_automata::Input::new(hay), &mut caps);
                caps.get_match()?.end()
            }
        };
        anchored_secret_of(&caps).map(|(s, _)| s.range())
    }

    /// Keywords of specific rules that are token prefixes (they hold a `_` or `-` and are at
    /// least three bytes long), lowercased, with their rule.
    fn prefixes(&self) -> &[(String, usize)] {
        self.prefixes.get_or_init(|| {
            let mut out = Vec::new();
            for (ri, r) in self.rules.iter().enumerate() {
                if r.generic {
                    continue;
                }
                for k in &r.keywords {
                    let k = k.to_ascii_lowercase();
                    let sep = k.bytes().position(|b| matches!(b, b'_' | b'-'));
                    if k.len() >= 3
                        && sep.is_some_and(|i| i >= 1)
                        && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                    {
                        out.push((k, ri));
                    }
                }
            }
            out
        })
    }
}

/// Where keywords start: (offset, keyword) and (keyword, offset) (see [`Scratch`]).
type Occurrences<'a> = (&'a [(usize, usize)], &'a [(usize, usize)]);

/// A match's secret, for [`Engine::accept`].
struct Found<'a> {
    data: &'a [u8],
    /// Where the match starts.
    at: usize,
    span: std::ops::Range<usize>,
    /// Whether the secret is a call's argument (see [`SECRET_GROUPS`]).
    argument: bool,
    path: Option<&'a str>,
}

/// Where the search for a rule's next match starts after a match at `start..end` whose secret
/// starts at `secret`: after the match, or for a rejected match of a rule with a value model,
/// at the rejected value (which may hold the key of the next match); always past `start`, and
/// past an empty match.
fn resume_at(rule: &Rule, accepted: bool, start: usize, end: usize, secret: usize) -> usize {
    let next = if !accepted && rule.model.is_some() { secret } else { end };
    next.max(start + 1)
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
