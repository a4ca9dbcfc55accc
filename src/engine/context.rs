//! A cheap test that spares most provider context rules their regex.
//!
//! About 660 built-in rules find a provider's secret by its context: the provider's name, then
//! within a few bytes a secret word (`key`, `token`, `secret`, ...), then an assignment and the
//! value (`(?i)(?:algolia)[A-Za-z0-9_.\-/?& \t]{0,24}?(?:secret|token|key|...)...`). Provider
//! names are common words in code and prose (`monday`, `together`, `sentry`, `redis`), so the
//! keyword pass makes many of them candidates, and compiling each regex costs more than
//! scanning a whole file with it. Before a regex is compiled or run, this module checks what
//! such a regex needs at its start: a secret word beginning within reach of a keyword
//! occurrence. A rule none of whose keyword occurrences passes cannot match and is skipped.
//!
//! The test recognises the three shapes the built-in context rules share, by their text, and
//! over-approximates them (any byte may stand in the gap, case is ignored), so it never hides a
//! match; a rule of any other shape has no test and runs as before.
//!
//! A rule of the widest shape whose value is the common one also takes the provider's name alone
//! as the key of an `=` assignment (`DAREBOOST=…`, `export telnyx = "…"`), as a `.env` file
//! writes it: [`Context::assigned_value`] finds such a value without the regex, so that the
//! regexes (compiled and cached per thread for every rule a file makes a candidate) stay as they
//! are.

/// Secret words of the widest shape, lowercase (`credentials?` and `creds?` begin with `cred`,
/// `pass(?:word|wd)?` with `pass`).
const WIDE: &[&str] =
    &["secret", "token", "key", "pass", "pwd", "auth", "cred", "private", "access", "pat", "sid", "bearer", "api"];
/// Secret words of the narrow shape, lowercase.
const NARROW: &[&str] = &["key", "token", "secret", "password", "pat", "auth"];

/// The shapes: the text that follows the provider alternation, the longest gap before the
/// secret word, and the secret words.
const SHAPES: [(&str, usize, &[&str]); 3] = [
    (
        r"[A-Za-z0-9_.\-/?& \t]{0,24}?(?:secret|token|key|pass(?:word|wd)?|pwd|auth|credentials?|creds?|private|access|pat|sid|bearer|api)",
        24,
        WIDE,
    ),
    (r"[\w.-]{0,25}?(?:key|token|secret|password|pat|auth)", 25, NARROW),
    (
        r"[_\-. ]?(?:secret|token|key|pass(?:word|wd)?|pwd|auth|credentials?|creds?|private|access|pat|sid|bearer|api)",
        JOINED_GAP,
        WIDE,
    ),
];

/// The value of most context rules, after the assignment: an optional quote, then the secret
/// (`[A-Za-z0-9]`, then at least 12 of [`VALUE`], then one that is not `.` or `~`).
const COMMON_VALUE: &str = r#"(?:["'`]|\\["'])?(?P<secret>(?-i:[A-Za-z0-9][A-Za-z0-9_\-+/=.~]{12,}[A-Za-z0-9_\-+/=]))(?:[^A-Za-z0-9_\-+/=]|$)"#;
/// The bytes of a value of [`COMMON_VALUE`] after its first.
const VALUE: &[u8] = b"_-+/=.~";
/// The shortest value of [`COMMON_VALUE`].
const MIN_VALUE: usize = 14;

/// The gap of the joined shape: the name, at most one joiner, the secret word.
const JOINED_GAP: usize = 1;
/// What may join the name and the secret word in the joined shape.
const JOINERS: [&str; 5] = ["", "_", "-", ".", " "];

/// What a context rule needs near a keyword occurrence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Context {
    /// How far past the start of a keyword occurrence a secret word may begin.
    reach: usize,
    words: &'static [&'static str],
    /// The provider's names, lowercase, when the rule also takes a name alone as the key of an
    /// `=` assignment (widest shape, common value); empty otherwise.
    assigned: Vec<String>,
}

/// A context rule's regex cut in its parts: `(?i)`, an optional `\b`, a non-capturing alternation
/// of plain words (letters, digits, `_`, `-`), then the rest.
pub(crate) struct Parts<'r> {
    /// Whether `\b` stands before the alternation.
    pub(crate) boundary: bool,
    /// The words of the alternation, lowercase, in its order.
    pub(crate) names: Vec<String>,
    /// What follows the alternation.
    pub(crate) tail: &'r str,
}

/// `regex` cut in its [`Parts`], or `None` for a regex of another shape.
pub(crate) fn parts(regex: &str) -> Option<Parts<'_>> {
    let rest = regex.strip_prefix("(?i)")?;
    let boundary = rest.starts_with(r"\b");
    let rest = rest.strip_prefix(r"\b").unwrap_or(rest).strip_prefix("(?:")?;
    let close = rest.find(')')?;
    let names: Vec<String> = rest[..close].split('|').map(str::to_ascii_lowercase).collect();
    let plain = |n: &String| !n.is_empty() && n.bytes().all(|b| is_word(b) || b == b'-');
    names.iter().all(plain).then_some(Parts { boundary, names, tail: &rest[close + 1..] })
}

/// The test for a rule whose regex is `(?i)`, an optional `\b`, a non-capturing alternation of
/// plain words each starting with one of `keywords`, then one of the known shapes; `None` for
/// any other regex.
pub(crate) fn context_of(regex: &str, keywords: &[String]) -> Option<Context> {
    let Parts { names, tail, .. } = parts(regex)?;
    let keywords: Vec<String> = keywords.iter().map(|k| k.to_ascii_lowercase()).collect();
    let (shape, gap, words) = SHAPES.iter().find(|(shape, _, _)| tail.starts_with(shape))?;
    // Every match must start at a keyword occurrence: a name starts with a keyword, or (in the
    // joined shape, whose rules list the name with each joiner and the start of each secret word
    // as keywords: `nimble_`, `nimblese`, ...) every way the match can begin starts with one.
    let starts_with_keyword = |text: &str| keywords.iter().any(|k| !k.is_empty() && text.starts_with(k.as_str()));
    let covered = |n: &String| {
        starts_with_keyword(n)
            || (*gap == JOINED_GAP
                && JOINERS.iter().all(|j| words.iter().all(|w| starts_with_keyword(&format!("{n}{j}{w}")))))
    };
    if !names.iter().all(covered) {
        return None;
    }
    let longest = names.iter().map(String::len).max()?;
    let assigned = if *shape == SHAPES[0].0 && tail.ends_with(COMMON_VALUE) { names } else { Vec::new() };
    Some(Context { reach: longest + gap, words, assigned })
}

impl Context {
    /// Whether a secret word begins in `data` within reach of a keyword occurrence at `at`.
    pub(crate) fn near(&self, data: &[u8], at: usize) -> bool {
        let end = data.len().min(at.saturating_add(self.reach).saturating_add(1));
        (at.min(end)..end).any(|i| {
            let here = &data[i..];
            self.words.iter().any(|w| here.len() >= w.len() && here[..w.len()].eq_ignore_ascii_case(w.as_bytes()))
        })
    }

    /// The span of the value when one of the provider's names stands in `data` at `at` as the
    /// whole key of an `=` assignment: a byte that is not a letter, digit or `_` (or none) before
    /// it, then an optional quote, blanks, `=` (not `==`), blanks, an optional quote and a value
    /// of [`COMMON_VALUE`], which ends where that regex would end it. `None` for a rule that
    /// does not take the name alone.
    pub(crate) fn assigned_value(&self, data: &[u8], at: usize) -> Option<std::ops::Range<usize>> {
        if self.assigned.is_empty() || (at > 0 && data.get(at - 1).is_some_and(|&b| is_word(b))) {
            return None;
        }
        let rest = data.get(at..)?;
        // The name that is the whole key (`acmecorp=` is not `acme` followed by `corp=`).
        let whole = |n: &&String| {
            rest.len() >= n.len()
                && rest[..n.len()].eq_ignore_ascii_case(n.as_bytes())
                && !rest.get(n.len()).is_some_and(|&b| is_word(b))
        };
        let mut i = at + self.assigned.iter().find(whole)?.len();
        i += usize::from(matches!(data.get(i), Some(b'"' | b'\'' | b'`')));
        i = skip_blanks(data, i);
        if data.get(i) != Some(&b'=') || data.get(i + 1) == Some(&b'=') {
            return None;
        }
        i = skip_blanks(data, i + 1);
        i += usize::from(data.get(i) == Some(&b'\\') && matches!(data.get(i + 1), Some(b'"' | b'\'')));
        i += usize::from(matches!(data.get(i), Some(b'"' | b'\'' | b'`')));
        let start = i;
        if !data.get(start).is_some_and(u8::is_ascii_alphanumeric) {
            return None;
        }
        let run = data[start..].iter().take_while(|&&b| b.is_ascii_alphanumeric() || VALUE.contains(&b)).count();
        // The last byte may not be `.` or `~` (which then end the value, as the regex ends it).
        let end = start + data[start..start + run].iter().rposition(|&b| b != b'.' && b != b'~')? + 1;
        (end - start >= MIN_VALUE).then_some(start..end)
    }
}

/// Whether `b` is a word byte of an ASCII `\b` (a letter, a digit or `_`).
pub(crate) fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn skip_blanks(data: &[u8], from: usize) -> usize {
    from + data.get(from..).map_or(0, |rest| rest.iter().take_while(|&&b| b == b' ' || b == b'\t').count())
}

#[cfg(test)]
mod tests {
    use super::*;

    const WIDE_RULE: &str = r#"(?i)(?:acme|acmecorp)[A-Za-z0-9_.\-/?& \t]{0,24}?(?:secret|token|key|pass(?:word|wd)?|pwd|auth|credentials?|creds?|private|access|pat|sid|bearer|api)[A-Za-z0-9_.\-]{0,16}?=(?P<secret>[a-z0-9]{16})"#;

    fn kw(k: &[&str]) -> Vec<String> {
        k.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn recognises_the_shapes_and_nothing_else() {
        assert!(context_of(WIDE_RULE, &kw(&["acme"])).is_some());
        let narrow =
            r#"(?i)\b(?:acme)[\w.-]{0,25}?(?:key|token|secret|password|pat|auth)[\w.-]{0,10}?=(?P<secret>x{4})"#;
        assert!(context_of(narrow, &kw(&["acme"])).is_some());
        // Another gap, a capturing group, a keyword that does not start the name: no test.
        assert!(context_of(&WIDE_RULE.replace("{0,24}", "{0,99}"), &kw(&["acme"])).is_none());
        assert!(context_of(&WIDE_RULE.replace("(?:acme|acmecorp)", "(acme)"), &kw(&["acme"])).is_none());
        assert!(context_of(WIDE_RULE, &kw(&["corp"])).is_none());
        assert!(context_of("(?i)(?:password)\\s*=(?P<secret>x+)", &kw(&["password"])).is_none());
    }

    #[test]
    fn every_shape_serves_built_in_rules() {
        // A shape whose text no built-in rule carries any more (the rules changed, the shape
        // did not) silently gives those rules no test; each shape must still recognise some.
        let rules = crate::rules::builtin().expect("built-in rules");
        for (shape, _, _) in SHAPES {
            let served = rules
                .iter()
                .filter(|r| r.regex.contains(shape))
                .filter(|r| context_of(&r.regex, &r.keywords).is_some())
                .count();
            assert!(served >= 5, "{served} built-in rules of the shape {shape}");
        }
        let joined = rules.iter().find(|r| r.id == "nimble-credential").expect("a rule of the joined shape");
        let ctx = context_of(&joined.regex, &joined.keywords).expect("the joined shape is recognised");
        let re = regex::bytes::Regex::new(&joined.regex).expect("regex");
        for t in [&b"nimble SECRET = Qx7vR2mK9pLw4sNb8tZc"[..], b"NIMBLE.api_key: Qx7vR2mK9pLw4sNb8tZc"] {
            let m = re.find(t).expect("the regex matches");
            assert!(ctx.near(t, m.start()), "{}", String::from_utf8_lossy(t));
        }
        // The name alone, as a word of prose: the regex cannot match and the test says so.
        let prose = b"nimble is a CRM; its token = Qx7vR2mK9pLw4sNb8tZc";
        assert!(re.find(prose).is_none());
        assert!(!ctx.near(prose, 0));
        // Keywords that leave a way to begin a match uncovered (no `nimble.`): no test.
        let fewer: Vec<String> = joined.keywords.iter().filter(|k| k.as_str() != "nimble.").cloned().collect();
        assert!(context_of(&joined.regex, &fewer).is_none());
    }

    #[test]
    fn the_name_alone_as_the_key_of_an_assignment() {
        let rules = crate::rules::builtin().expect("built-in rules");
        let rule = rules.iter().find(|r| r.id == "dareboost-credential").expect("a context rule");
        let ctx = context_of(&rule.regex, &rule.keywords).expect("the widest shape");
        let value = |t: &[u8]| {
            let at = t.windows(9).position(|w| w.eq_ignore_ascii_case(b"dareboost")).expect("the name");
            ctx.assigned_value(t, at).map(|r| String::from_utf8_lossy(&t[r]).into_owned())
        };
        let v = Some("Qx7vR2mK9pLw4sNb8tZc".to_string());
        for t in [
            &b"DAREBOOST=Qx7vR2mK9pLw4sNb8tZc"[..],
            b"export dareboost = 'Qx7vR2mK9pLw4sNb8tZc'",
            b"{\"dareboost\"=Qx7vR2mK9pLw4sNb8tZc.}",
            b"x.dareboost=\\\"Qx7vR2mK9pLw4sNb8tZc\\\"",
        ] {
            assert_eq!(value(t), v, "{}", String::from_utf8_lossy(t));
        }
        // Not the whole key, not `=`, a comparison, a short value or none.
        for t in [
            &b"MY_DAREBOOST=Qx7vR2mK9pLw4sNb8tZc"[..],
            b"dareboost_url=Qx7vR2mK9pLw4sNb8tZc",
            b"dareboost: Qx7vR2mK9pLw4sNb8tZc",
            b"dareboost==Qx7vR2mK9pLw4sNb8tZc",
            b"dareboost = False",
            b"dareboost = (Qx7vR2mK9pLw4sNb8tZc)",
            b"dareboost=",
        ] {
            assert_eq!(value(t), None, "{}", String::from_utf8_lossy(t));
        }
        // A rule of another shape or value does not take the name alone.
        let plain = context_of(WIDE_RULE, &kw(&["acme"])).expect("shape");
        assert_eq!(plain.assigned_value(b"acme=Qx7vR2mK9pLw4sNb8tZc", 0), None);
    }

    #[test]
    fn passes_every_match_of_the_regex_and_rejects_a_name_without_secret_word() {
        let ctx = context_of(WIDE_RULE, &kw(&["acme"])).expect("shape");
        let re = regex::bytes::Regex::new(WIDE_RULE).expect("regex");
        let texts: [&[u8]; 4] = [
            b"ACMECORP_service_account__API_KEY=abcdefgh12345678",
            b"acme   \t  Token=abcdefgh12345678",
            b"x acme-pwd=abcdefgh12345678",
            b"AcMe.Private=abcdefgh12345678",
        ];
        for t in texts {
            let m = re.find(t).expect("the regex matches");
            assert!(ctx.near(t, m.start()), "{}", String::from_utf8_lossy(t));
        }
        assert!(!ctx.near(b"see https://acme.example.com/docs for the manual", 10));
        // A secret word beyond reach of the name does not count.
        let far = b"acme is a company whose name is long enough; its token=abcdefgh12345678";
        assert!(!ctx.near(far, 0));
        assert!(re.find(far).is_none());
    }
}
