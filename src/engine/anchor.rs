//! Which rules can run only where their keywords occur.
//!
//! A rule whose every match starts with one of its keywords needs no search of the whole input:
//! the keyword pass already knows where each keyword starts, and the regex can be tried there,
//! anchored. That is what makes rules like the generic assignment rule cheap: its regex begins
//! with a case-insensitive alternation (`(?i)(?:password|secret|token|...)`), for which the
//! regex engine's own literal prefilter is weak (it falls back to three-byte prefixes such as
//! `cre` and `acc`, found in almost every line of code) and runs its lazy DFA over the input.
//!
//! The property is read off the regex's syntax when the rule is first compiled (only for regexes
//! that begin with `(?i)`; parsing all of them at start-up would cost about 10 ms), and
//! conservatively: after leading assertions (`\b`, `^`), the regex must begin with a part whose
//! strings are finitely many and few (literals, case pairs such as `[Pp]`, small classes,
//! optional and alternative parts), and each of those strings, lowercased, must start with one of
//! the rule's keywords. Anything else (a class repeated without bound, a look-around mid-way, too
//! many strings) is not anchored, and runs as before. Only rules whose leading part is
//! case-insensitive are anchored: for a case-sensitive literal prefix the regex engine's own
//! search (`memchr`, Teddy) is faster than trying every keyword occurrence, which matters for
//! short keywords such as `ac` or `sk`.

use regex_syntax::hir::{Class, Hir, HirKind};

/// At most this many leading strings are enumerated.
const MAX_WORDS: usize = 256;

/// How far past its keyword an anchored try reads. Matches of anchored rules are far shorter
/// (a key, an operator and a value); without a bound, a rule whose regex may skip to the end of
/// a line (`curl\b(?:[^\r\n]|…)*?…`) reads a minified line to its end from every keyword on
/// it, which is quadratic in the line's length. Look-arounds still see past the bound.
pub(super) const SPAN: usize = 16 * 1024;

/// Inputs longer than this are searched by rules that are not anchored only in windows around
/// their keywords (see [`windows`]).
pub(super) const WINDOWED: usize = 4 * SPAN;

/// The windows of an input of `len` bytes in which a rule that is not anchored is searched, given
/// where its keywords start (in order): [`SPAN`] bytes before and after each, merged where they
/// overlap. A match is found when it lies within one window, which every match of a rule whose
/// matches hold one of its keywords does, unless it is longer than [`SPAN`]; a rule that finds
/// its secret away from its keywords finds it within [`SPAN`] of one. In a long input (a
/// generated manifest, a bundle) a rule whose keyword occurs once then reads 32 KiB of it, not
/// all of it.
pub(super) fn windows(starts: impl Iterator<Item = usize>, len: usize) -> Vec<std::ops::Range<usize>> {
    let mut out: Vec<std::ops::Range<usize>> = Vec::new();
    for at in starts {
        let w = at.saturating_sub(SPAN)..len.min(at.saturating_add(SPAN));
        match out.last_mut() {
            Some(last) if w.start <= last.end => last.end = last.end.max(w.end),
            _ => out.push(w),
        }
    }
    out
}

/// Whether every match of `regex` starts with one of `keywords` (ASCII case-insensitively) and
/// its leading part is case-insensitive (see the module documentation).
pub fn starts_with_keyword(regex: &str, keywords: &[String]) -> bool {
    let Ok(hir) = regex_syntax::ParserBuilder::new().unicode(false).utf8(false).build().parse(regex) else {
        return false;
    };
    let mut folded = false;
    let Some(words) = start_words(&hir, &mut folded) else { return false };
    if !folded || words.is_empty() {
        return false;
    }
    let keywords: Vec<Vec<u8>> = keywords.iter().map(|k| k.to_ascii_lowercase().into_bytes()).collect();
    words.iter().all(|w| keywords.iter().any(|k| !k.is_empty() && w.starts_with(k)))
}

/// The strings a match of `hir` can start with (see [`words`]), after leading assertions.
fn start_words(hir: &Hir, folded: &mut bool) -> Option<Vec<Vec<u8>>> {
    match hir.kind() {
        HirKind::Capture(c) => start_words(&c.sub, folded),
        HirKind::Concat(parts) => {
            let rest: Vec<Hir> = parts.iter().skip_while(|p| matches!(p.kind(), HirKind::Look(_))).cloned().collect();
            match rest.as_slice() {
                [] => None,
                [only] => start_words(only, folded),
                _ => words(&Hir::concat(rest), folded),
            }
        }
        HirKind::Look(_) | HirKind::Empty => None,
        _ => words(hir, folded),
    }
}

/// The strings `hir` matches, lowercased; `None` when they are not few and finite. Concatenations
/// stop at their first part that is not (the strings are then the prefixes up to it), which is
/// all that matters for where a match starts.
fn words(hir: &Hir, folded: &mut bool) -> Option<Vec<Vec<u8>>> {
    match hir.kind() {
        HirKind::Empty => Some(vec![Vec::new()]),
        HirKind::Literal(lit) => Some(vec![lit.0.to_ascii_lowercase()]),
        HirKind::Class(class) => {
            let bytes = class_bytes(class)?;
            let mut lower: Vec<u8> = bytes.iter().map(u8::to_ascii_lowercase).collect();
            lower.sort_unstable();
            lower.dedup();
            if lower.len() < bytes.len() {
                *folded = true;
            }
            Some(lower.into_iter().map(|b| vec![b]).collect())
        }
        HirKind::Capture(c) => words(&c.sub, folded),
        HirKind::Repetition(r) if r.min == 0 && r.max == Some(1) => {
            let mut w = words(&r.sub, folded)?;
            w.push(Vec::new());
            Some(w)
        }
        HirKind::Alternation(alts) => {
            let mut all = Vec::new();
            for a in alts {
                all.extend(words(a, folded)?);
                if all.len() > MAX_WORDS {
                    return None;
                }
            }
            Some(all)
        }
        HirKind::Concat(parts) => {
            let mut acc: Vec<Vec<u8>> = vec![Vec::new()];
            for p in parts {
                let Some(next) = words(p, folded) else { break };
                if acc.len() * next.len() > MAX_WORDS {
                    break;
                }
                acc = acc.iter().flat_map(|a| next.iter().map(move |n| [a.as_slice(), n].concat())).collect();
            }
            Some(acc)
        }
        _ => None,
    }
}

/// The bytes of a small class (at most eight), or `None`.
fn class_bytes(class: &Class) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    match class {
        Class::Bytes(c) => {
            for r in c.iter() {
                for b in r.start()..=r.end() {
                    out.push(b);
                    if out.len() > 8 {
                        return None;
                    }
                }
            }
        }
        Class::Unicode(c) => {
            for r in c.iter() {
                for ch in r.start()..=r.end() {
                    let b = u8::try_from(u32::from(ch)).ok().filter(u8::is_ascii)?;
                    out.push(b);
                    if out.len() > 8 {
                        return None;
                    }
                }
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kw(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn case_insensitive_keyword_alternations_are_anchored() {
        let generic = r#"(?i)(?:password|passwd|secret|token|api[_-]?key|credentials?)[\w.-]{0,20}?\s*=\s*"(?P<secret>[^"]{10,})""#;
        let all = kw(&["password", "passwd", "secret", "token", "api_key", "api-key", "apikey", "credential"]);
        assert!(starts_with_keyword(generic, &all));
        // One alternative whose strings no keyword starts: not anchored.
        assert!(!starts_with_keyword(generic, &kw(&["password", "passwd", "secret", "token", "credential"])));
        let provider = r#"(?i)\b(?:together)[\w.-]{0,25}?(?:key|token)\s*=\s*(?P<secret>[0-9a-f]{64})\b"#;
        assert!(starts_with_keyword(provider, &kw(&["together"])));
    }

    #[test]
    fn other_shapes_are_not_anchored() {
        // Case-sensitive literal prefix: the regex engine's own search is faster.
        assert!(!starts_with_keyword(r"\b(?P<secret>ghp_[0-9A-Za-z]{36})\b", &kw(&["ghp_"])));
        // The keyword is not where the match starts.
        assert!(!starts_with_keyword(r"(?i)(?P<secret>[0-9a-f]{32})\s*#\s*token", &kw(&["token"])));
        // An alternative that starts with an assertion or a class repeated without bound.
        assert!(!starts_with_keyword(r"(?i)(?:^|[^0-9])(?P<secret>[0-9]{8}:AA[a-z]{20})", &kw(&[":aa"])));
        assert!(!starts_with_keyword(r"(?i)[a-z]+token=(?P<secret>\w+)", &kw(&["token"])));
        // Not a regex.
        assert!(!starts_with_keyword(r"(?i)(token", &kw(&["token"])));
    }
}
