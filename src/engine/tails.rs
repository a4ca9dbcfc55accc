//! One compiled regex for the provider context rules that share a tail.
//!
//! About 600 built-in rules find a provider's secret by its context (see [`super::context`]):
//! `(?i)`, an optional `\b`, an alternation of the provider's names, then a tail that is the same
//! text in hundreds of them (the gap, the secret word, the assignment, the value; 455 rules share
//! one tail, the 600 have 65 tails between them). Compiling each rule's regex cost about 0.6 ms
//! and a copy of the tail's automata and lazy-DFA cache per rule; a Django tree makes 40 such
//! rules candidates. Here each distinct tail is compiled once, and a rule's match is found by
//! comparing its names where its keywords occur and running the shared tail right after.
//!
//! That finds what the rule's own regex finds, anchored at the same keyword occurrence: the
//! names are plain words (letters, digits, `_`, `-`), compared ASCII case-insensitively as
//! `(?i)` does without Unicode, tried in the alternation's order (the leftmost-first match takes
//! the first name whose tail matches), with the `\b` before them checked as the regex would.
//! A regex of any other shape is compiled whole, as before.

use std::sync::OnceLock;

use regex_automata::meta::Regex;
use regex_automata::util::captures::Captures;
use regex_automata::{Anchored, Input};

use super::context;

/// A context rule's provider names, lowercase, in the alternation's order.
type Names = Vec<Box<[u8]>>;

/// A rule's regex cut at its tail.
pub(super) struct Split {
    /// Whether the names must begin at a word boundary (`\b`).
    boundary: bool,
    /// The names, lowercase, in the alternation's order.
    names: Names,
    /// Which tail follows them.
    tail: usize,
}

/// The distinct tails of the rules and, for each rule, its split (if its regex has the shape).
pub(super) struct Tails {
    /// Each tail's regex text (with the rule's `(?i)`), and its regex once compiled.
    tails: Vec<(String, OnceLock<std::result::Result<Regex, String>>)>,
    splits: Vec<Option<Split>>,
}

impl Tails {
    /// Splits the regexes of the rules that `shared` says may use a shared tail; compiles nothing.
    pub(super) fn new(rules: &[crate::rules::Rule], shared: impl Fn(usize) -> bool) -> Tails {
        let mut tails: Vec<(String, OnceLock<_>)> = Vec::new();
        let mut index = std::collections::HashMap::new();
        let splits = rules
            .iter()
            .enumerate()
            .map(|(ri, r)| {
                let (boundary, names, tail) = split(&r.regex).filter(|_| shared(ri))?;
                let text = format!("(?i){tail}");
                let tail = *index.entry(text.clone()).or_insert_with(|| {
                    tails.push((text, OnceLock::new()));
                    tails.len() - 1
                });
                Some(Split { boundary, names, tail })
            })
            .collect();
        Tails { tails, splits }
    }

    /// Rule `ri`'s split, if its regex has the shape.
    pub(super) fn of(&self, ri: usize) -> Option<&Split> {
        self.splits.get(ri)?.as_ref()
    }

    /// The compiled tail of `split` (compiled on first use), or why it does not compile.
    pub(super) fn regex(&self, split: &Split) -> std::result::Result<&Regex, String> {
        let (text, cell) = &self.tails[split.tail];
        cell.get_or_init(|| crate::rules::compile_meta(text, false)).as_ref().map_err(Clone::clone)
    }
}

/// `regex` cut at its tail (see [`context::parts`]), unless the tail begins with a quantifier or
/// an alternation's bar, which would bind to the names: (whether `\b` leads, the names, the
/// tail's text).
fn split(regex: &str) -> Option<(bool, Names, &str)> {
    let context::Parts { boundary, names, tail } = context::parts(regex)?;
    let free = !tail.is_empty() && !tail.starts_with(['?', '*', '+', '{', '|']);
    free.then(|| (boundary, names.into_iter().map(|n| n.into_bytes().into_boxed_slice()).collect(), tail))
}

/// Searches `data[at..end]` for a match of the split rule that starts at `at`, as an anchored
/// search of its whole regex would: fills `caps` with the tail's match and returns where the
/// rule's match ends, or `None`.
pub(super) fn search_at(
    re: &Regex,
    split: &Split,
    data: &[u8],
    at: usize,
    end: usize,
    caps: &mut Captures,
) -> Option<usize> {
    let word = |i: usize| data.get(i).copied().is_some_and(context::is_word);
    if split.boundary && (at > 0 && word(at - 1)) == word(at) {
        return None;
    }
    for name in &split.names {
        let from = at + name.len();
        if from > end || !data[at..from].eq_ignore_ascii_case(name) {
            continue;
        }
        re.search_captures(&Input::new(data).range(from..end).anchored(Anchored::Yes), caps);
        if let Some(m) = caps.get_match() {
            return Some(m.end());
        }
    }
    None
}

/// The first match of the split rule in `hay`, unanchored (each start tried in turn): where the
/// rule's match ends, with `caps` filled, or `None`.
pub(super) fn search(re: &Regex, split: &Split, hay: &[u8], caps: &mut Captures) -> Option<usize> {
    (0..hay.len()).find_map(|at| search_at(re, split, hay, at, hay.len(), caps))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_split_rule_finds_what_its_whole_regex_finds() {
        // Every built-in rule that uses a shared tail, on its own examples and negative examples
        // and on variants of them (upper case, a word before the name, the name glued to a
        // word, a name cut short): the shared tail and the whole regex, each tried anchored at
        // every offset, must give the same match ends and secrets.
        let rules = crate::rules::builtin().expect("built-in rules");
        let tails = Tails::new(&rules, |_| true);
        let mut checked = 0;
        for (ri, rule) in rules.iter().enumerate() {
            let Some(split) = tails.of(ri) else { continue };
            let tail = tails.regex(split).expect("the tail compiles");
            let whole = crate::rules::compile_meta(&rule.regex, false).expect("the rule compiles");
            let mut texts = Vec::new();
            for e in rule.examples.iter().chain(&rule.negative_examples) {
                texts.extend([e.clone(), e.to_ascii_uppercase(), format!("my{e}"), format!("x {e}")]);
                texts.push(e.chars().skip(1).collect());
            }
            let (mut a, mut b) = (tail.create_captures(), whole.create_captures());
            for t in &texts {
                let data = t.as_bytes();
                for at in 0..data.len() {
                    let got = search_at(tail, split, data, at, data.len(), &mut a).map(|end| (end, secret(&a)));
                    whole.search_captures(&Input::new(data).range(at..).anchored(Anchored::Yes), &mut b);
                    let want = b.get_match().map(|m| (m.end(), secret(&b)));
                    assert_eq!(got, want, "rule {} on {t:?} at {at}", rule.id);
                    checked += usize::from(want.is_some());
                }
            }
        }
        assert!(checked > 1000, "only {checked} matches compared");
        assert!(tails.tails.len() < 100, "{} distinct tails", tails.tails.len());
    }

    fn secret(caps: &Captures) -> Option<std::ops::Range<usize>> {
        super::super::SECRET_GROUPS.iter().find_map(|g| caps.get_group_by_name(g).map(|s| s.range()))
    }

    #[test]
    fn only_plain_names_before_a_free_tail_are_split() {
        assert!(split(r"(?i)\b(?:acme|acme-corp)[\w.-]{0,25}?key=(?P<secret>x+)").is_some());
        assert!(split(r"(?i)(?:acme)(?P<secret>x+)").is_some());
        for not in [r"(?:acme)key=(?P<secret>x+)", r"(?i)(?:ac.me)x", r"(?i)(?:acme)?x", r"(?i)(?:acme)", r"(?i)acme"] {
            assert!(split(not).is_none(), "{not}");
        }
    }
}
