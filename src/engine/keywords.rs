//! The keyword prefilter: where in the input each rule keyword occurs (ASCII case-insensitive).
//!
//! One Aho-Corasick automaton (a DFA) holds every keyword's first [`PATTERN_BYTES`] bytes; the
//! rest of a keyword is compared where its first bytes occur. The input is cut into lanes walked
//! in step (see [`walk_lanes`]), since a DFA walking one stream waits on each transition's memory
//! load.
//!
//! The automaton reads a folded alphabet, not bytes: each input byte goes through a 256-entry
//! table ([`Keywords::fold`]) that gives every byte occurring in some (lowercase) keyword its own
//! letter, an uppercase ASCII letter the letter of its lowercase, and every other byte letter 0;
//! the patterns are spelled in those letters. A DFA asked to match case-insensitively sees `a` and
//! `A` as two byte classes (a class is a range of bytes) and so needs twice the letters: with the
//! built-in keywords (52 distinct bytes) its transition table has 128 columns a state, over the
//! folded alphabet 64, which halves its memory (about 1 MB) and finds the same occurrences.

use aho_corasick::automaton::Automaton;
use aho_corasick::dfa::DFA;
use aho_corasick::{Anchored, MatchKind, PatternID};

use crate::error::{Error, Result};
use crate::rules::Rule;

/// How many bytes of each keyword the automaton holds; the rest is compared where they occur.
/// With 1,769 keywords (15,554 bytes), all of them make 8,120 automaton states (a 4 MB DFA);
/// their first 6 bytes make 3,680.
pub(super) const PATTERN_BYTES: usize = 6;

/// Inputs shorter than this are walked as one lane.
pub(super) const MIN_LANED: usize = 1024;

/// Every rule keyword, the automaton over their first bytes, and which rules listed each.
pub(super) struct Keywords {
    automaton: DFA,
    /// The automaton's letter of each byte (see the module header).
    fold: [u8; 256],
    /// Length of the longest automaton pattern.
    longest: usize,
    /// The keywords, lowercase, each once.
    keywords: Vec<Box<[u8]>>,
    /// For each automaton pattern (a keyword's first [`PATTERN_BYTES`] bytes), the keywords that
    /// begin with it.
    pattern_keywords: Vec<Vec<usize>>,
    /// For each keyword, the rules that listed it.
    keyword_rules: Vec<Vec<usize>>,
}

impl Keywords {
    /// Collects the keywords of `rules` and builds their automaton.
    pub(super) fn new(rules: &[Rule]) -> Result<Keywords> {
        let mut keywords: Vec<Box<[u8]>> = Vec::new();
        let mut keyword_rules: Vec<Vec<usize>> = Vec::new();
        let mut index: std::collections::HashMap<Vec<u8>, usize> = std::collections::HashMap::new();
        for (ri, rule) in rules.iter().enumerate() {
            for k in &rule.keywords {
                let key = k.to_ascii_lowercase().into_bytes();
                let ki = *index.entry(key.clone()).or_insert_with(|| {
                    keywords.push(key.into_boxed_slice());
                    keyword_rules.push(Vec::new());
                    keywords.len() - 1
                });
                if !keyword_rules[ki].contains(&ri) {
                    keyword_rules[ki].push(ri);
                }
            }
        }
        let fold = fold_table(&keywords);
        // The automaton holds each keyword's first bytes only: most keywords differ early, and
        // a smaller automaton stays in the processor's caches (see `PATTERN_BYTES`).
        let mut patterns: Vec<Vec<u8>> = Vec::new();
        let mut pattern_keywords: Vec<Vec<usize>> = Vec::new();
        let mut by_prefix: std::collections::HashMap<&[u8], usize> = std::collections::HashMap::new();
        for (ki, k) in keywords.iter().enumerate() {
            let prefix = &k[..k.len().min(PATTERN_BYTES)];
            let pi = *by_prefix.entry(prefix).or_insert_with(|| {
                patterns.push(prefix.iter().map(|&b| fold[usize::from(b)]).collect());
                pattern_keywords.push(Vec::new());
                patterns.len() - 1
            });
            pattern_keywords[pi].push(ki);
        }
        // Standard semantics: every occurrence of every pattern ends in a match state, which
        // lists all patterns ending there (overlapping ones included). The automaton is only
        // walked state by state, so it needs no prefilter.
        let automaton = DFA::builder()
            .match_kind(MatchKind::Standard)
            .prefilter(false)
            .build(&patterns)
            .map_err(|e| Error::invalid("<rules>", None, format!("cannot build the keyword automaton: {e}")))?;
        let longest = patterns.iter().map(|p| p.len()).max().unwrap_or(0);
        Ok(Keywords { automaton, fold, longest, keywords, pattern_keywords, keyword_rules })
    }

    /// How many distinct keywords there are; a keyword's index is below this.
    pub(super) fn len(&self) -> usize {
        self.keywords.len()
    }

    /// The rules that listed keyword `ki`, in rule order.
    pub(super) fn rules_of(&self, ki: usize) -> &[usize] {
        &self.keyword_rules[ki]
    }

    /// Calls `found(keyword, start)` for every occurrence of a whole keyword in `data`, ASCII
    /// case-insensitive (in no particular order; an occurrence may be reported twice).
    pub(super) fn find(&self, data: &[u8], mut found: impl FnMut(usize, usize)) {
        self.patterns_in(data, |p, end| {
            let at = end - self.automaton.pattern_len(p);
            for &ki in &self.pattern_keywords[p.as_usize()] {
                let k = &self.keywords[ki];
                if data.get(at..at + k.len()).is_some_and(|d| d.eq_ignore_ascii_case(k)) {
                    found(ki, at);
                }
            }
        });
    }

    /// Calls `found` with the pattern and end offset of every pattern occurrence in `data` (in no
    /// particular order; an occurrence may be reported twice). Long inputs are cut into four
    /// lanes that overlap by `longest - 1` bytes, so that every occurrence lies whole in some
    /// lane, and the lanes are walked in step: their transitions do not depend on each other, so
    /// the processor overlaps their loads (about twice the speed of one lane on source code).
    fn patterns_in(&self, data: &[u8], found: impl FnMut(PatternID, usize)) {
        if data.len() < MIN_LANED.max(8 * self.longest) {
            self.walk_lanes::<1>(data, data.len(), [0], found);
        } else {
            let overlap = self.longest.saturating_sub(1);
            let seg = data.len().div_ceil(4);
            let len = (seg + overlap).min(data.len());
            let starts = std::array::from_fn(|k| (k * seg).saturating_sub(overlap).min(data.len() - len));
            self.walk_lanes::<4>(data, len, starts, found);
        }
    }

    /// Walks `data[starts[k]..starts[k] + len]` for each lane `k`, in step. (Indexing, not zipped
    /// iterators: the zipped form measured slower.)
    #[allow(clippy::needless_range_loop)]
    fn walk_lanes<const K: usize>(
        &self,
        data: &[u8],
        len: usize,
        starts: [usize; K],
        mut found: impl FnMut(PatternID, usize),
    ) {
        let dfa = &self.automaton;
        let Ok(start) = dfa.start_state(Anchored::No) else { return };
        let lanes: [&[u8]; K] = std::array::from_fn(|k| &data[starts[k]..starts[k] + len]);
        let mut state = [start; K];
        for i in 0..len {
            for k in 0..K {
                let sid = dfa.next_state(Anchored::No, state[k], self.fold[usize::from(lanes[k][i])]);
                state[k] = sid;
                if dfa.is_match(sid) {
                    for m in 0..dfa.match_len(sid) {
                        found(dfa.match_pattern(sid, m), starts[k] + i + 1);
                    }
                }
            }
        }
    }
}

/// The automaton's letters (see the module header): each distinct byte of the lowercase
/// `keywords` gets a letter from 1 in byte order, an uppercase ASCII letter shares its
/// lowercase's, and every byte in no keyword is 0. (Uppercase letters never occur in lowercase
/// keywords, so at most 230 letters are needed.)
fn fold_table(keywords: &[Box<[u8]>]) -> [u8; 256] {
    let mut used = [false; 256];
    for k in keywords {
        for &b in k.iter() {
            used[usize::from(b.to_ascii_lowercase())] = true;
        }
    }
    let mut fold = [0u8; 256];
    let mut next = 1u8;
    for b in 0..=255u8 {
        if used[usize::from(b)] && !b.is_ascii_uppercase() {
            fold[usize::from(b)] = next;
            next = next.saturating_add(1);
        }
    }
    for b in b'A'..=b'Z' {
        fold[usize::from(b)] = fold[usize::from(b.to_ascii_lowercase())];
    }
    fold
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every occurrence of every keyword by a plain case-insensitive search: (keyword, start).
    fn plain(keywords: &Keywords, data: &[u8]) -> Vec<(usize, usize)> {
        let ac = aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(&keywords.keywords)
            .expect("automaton");
        let mut want: Vec<(usize, usize)> =
            ac.find_overlapping_iter(data).map(|m| (m.pattern().as_usize(), m.start())).collect();
        want.sort_unstable();
        want
    }

    fn found(keywords: &Keywords, data: &[u8]) -> Vec<(usize, usize)> {
        let mut got = Vec::new();
        keywords.find(data, |ki, at| got.push((ki, at)));
        got.sort_unstable();
        got.dedup();
        got
    }

    #[test]
    fn finds_every_keyword_occurrence_a_plain_search_finds() {
        // The built-in keywords planted (in random case, across lane boundaries too) in seeded
        // noise of keyword bytes, other ASCII, non-ASCII and truncated keywords, in inputs of
        // lengths around the lane threshold: the folded automaton must report the same
        // (keyword, start) pairs as a case-insensitive search for the whole keywords.
        let rules = crate::rules::builtin().expect("built-in rules");
        let keywords = Keywords::new(&rules).expect("keywords");
        let mut rng = crate::testutil::XorShift::new(0x5851_f42d_4c95_7f2du64);
        let mut next = move || rng.next();
        let noise = b"xyzAQ .=_-:\"'\n\t{}[]$@~\x00\x7f\xc3\xa9\xff";
        let mut hits = 0;
        for round in 0..300 {
            let len = MIN_LANED - 64 + (next() % 2048) as usize;
            let mut data: Vec<u8> = (0..len).map(|_| noise[(next() % noise.len() as u64) as usize]).collect();
            for _ in 0..(round % 12) {
                let kw = &keywords.keywords[(next() % keywords.len() as u64) as usize];
                let cut = if next() % 4 == 0 { kw.len() - 1 } else { kw.len() };
                let at = (next() as usize) % (len - cut);
                for (j, &b) in kw[..cut].iter().enumerate() {
                    data[at + j] = if next() % 2 == 0 { b.to_ascii_uppercase() } else { b };
                }
            }
            let want = plain(&keywords, &data);
            hits += want.len();
            assert_eq!(found(&keywords, &data), want, "round {round}");
        }
        assert!(hits > 1000, "few keywords planted: {hits}");
    }

    #[test]
    fn short_inputs_and_bytes_of_no_keyword_fold_apart() {
        // Keywords with non-ASCII and punctuation bytes: a byte of no keyword (letter 0) never
        // continues a pattern, and an uppercase letter matches only its lowercase.
        let rules = crate::rules::parse_rules(
            "<test>",
            r#"
[[rule]]
id = "a"
name = "a"
severity = "low"
keywords = ["caf\u00e9_k", "a-b", "zq"]
regex = '''(?P<secret>zz[0-9]{8})'''
examples = ["zq zz12345678"]
negative_examples = ["zq zz1234"]
"#,
            false,
        )
        .expect("rules");
        let keywords = Keywords::new(&rules).expect("keywords");
        for data in ["CAF\u{e9}_K a-b", "caf\u{c9}_k", "A-B a_b a\u{e9}b ZQ zQ z q", "", "z", "Zq"] {
            assert_eq!(found(&keywords, data.as_bytes()), plain(&keywords, data.as_bytes()), "{data:?}");
        }
        assert_eq!(found(&keywords, "CAF\u{e9}_K a-b ZQ".as_bytes()), vec![(0, 0), (1, 8), (2, 12)]);
    }
}
