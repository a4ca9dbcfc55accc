//! The rule model and its loading: built-in rules embedded at build time, plus user rule files.
//!
//! A rule is data (design.md §3): an id, a severity, keywords for the Aho-Corasick prefilter, a
//! regex with a `secret` capture group, and optional entropy, checksum and filter settings. Rules
//! carry their own positive and negative examples; [`crate::check_rules`] runs them through the
//! whole scanner.
//!
//! Loading validates everything that can be validated without compiling a regex (ids, severities,
//! keywords, checksum names, examples containing a keyword). Regexes of built-in rules are
//! compiled lazily by the engine, so that start-up stays fast; user rules are compiled eagerly
//! at load time so that a bad regex is reported with its file and line before the scan starts.

use std::collections::HashSet;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::lines::{line_of_offset, LineIndex};

mod builtin;

pub use builtin::builtin;

/// How bad a leak of this kind of secret is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Full account or production access.
    Critical,
    /// Significant access.
    High,
    /// Limited access, or a context-dependent match.
    Medium,
    /// Little access, or a weak match.
    Low,
}

impl Severity {
    /// All severities, most severe first.
    pub const ALL: [Severity; 4] = [Severity::Critical, Severity::High, Severity::Medium, Severity::Low];

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How likely a match of the rule is a real secret (SARIF `precision`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Precision {
    /// Prefixed and checksummed formats.
    VeryHigh,
    /// Distinctive formats.
    #[default]
    High,
    /// Context-dependent formats.
    Medium,
    /// Generic patterns.
    Low,
}

impl Precision {
    /// The kebab-case name used in SARIF.
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::VeryHigh => "very-high",
            Precision::High => "high",
            Precision::Medium => "medium",
            Precision::Low => "low",
        }
    }
}

/// Named offline validators that a rule's secret must pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Checksum {
    /// GitHub/npm style: the last 6 characters are the base62 CRC32 of the 30 before them.
    Crc32Base62,
    /// A JSON Web Token with a decodable header carrying `alg` and a JSON payload.
    Jwt,
    /// A PyPI API token: a v2 macaroon for pypi.org or test.pypi.org.
    PypiMacaroon,
    /// A PEM or OpenSSH private key block whose body decodes to at least 64 bytes.
    PemBody,
    /// Standard base64 that decodes to at least 16 bytes.
    Base64,
}

impl Checksum {
    /// The kebab-case name used in rule files.
    pub fn as_str(self) -> &'static str {
        match self {
            Checksum::Crc32Base62 => "crc32-base62",
            Checksum::Jwt => "jwt",
            Checksum::PypiMacaroon => "pypi-macaroon",
            Checksum::PemBody => "pem-body",
            Checksum::Base64 => "base64",
        }
    }
}

/// What a value assigned to a secret-named key must look like to be reported (generic
/// assignment rules; see [`crate::engine::falsepos::value_fits`]). The key is the identifier
/// around the start of the match, which begins at the rule's keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ValueModel {
    /// A secret or token: random-looking (hex and UUIDs included), not an identifier, path,
    /// expression or placeholder, under a key whose last word is not `id`, `name`, `url`, ….
    Secret,
    /// A password: any value that is not a placeholder (`changeme`, `${VAR}`, `****`, the key's
    /// own name, …), whatever its entropy, under a key that names a password. Unquoted values
    /// in source code are expressions.
    Password,
    /// A password in a credential format that says where it is (URL user information, a
    /// `.netrc` or `.pgpass` line, a command's password option): the password model, with no key.
    Credential,
}

/// One rule as written in a rule file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    id: toml::Spanned<String>,
    name: String,
    severity: Severity,
    keywords: Vec<String>,
    regex: toml::Spanned<String>,
    #[serde(default)]
    entropy: Option<f64>,
    #[serde(default)]
    checksum: Option<Checksum>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    remediation: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    precision: Option<Precision>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    example_path: Option<String>,
    #[serde(default)]
    generic: bool,
    #[serde(default)]
    model: Option<ValueModel>,
    #[serde(default)]
    stopwords: Vec<String>,
    #[serde(default)]
    allow: Vec<String>,
    #[serde(default)]
    examples: Vec<String>,
    #[serde(default)]
    negative_examples: Vec<String>,
    #[serde(default)]
    references: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    rule: Vec<RuleSpec>,
}

/// A loaded, validated rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Stable kebab-case id.
    pub id: String,
    /// Human name.
    pub name: String,
    /// How bad a leak is; gives reports their level and deadlines their policy.
    pub severity: Severity,
    /// Prefilter keywords (matched case-insensitively).
    pub keywords: Vec<String>,
    /// The regex (Rust `regex` syntax) with a `secret` group.
    pub regex: String,
    /// Minimum Shannon entropy of the secret, in bits per byte.
    pub entropy: Option<f64>,
    /// Offline validator.
    pub checksum: Option<Checksum>,
    /// What the secret grants.
    pub description: Option<String>,
    /// How to revoke or rotate it.
    pub remediation: Option<String>,
    /// Free tags, copied to SARIF rule descriptors.
    pub tags: Vec<String>,
    /// How likely a match is a real secret; decides overlaps and SARIF `precision`.
    pub precision: Precision,
    /// Regex on the relative path that limits where the rule runs.
    pub path: Option<String>,
    /// The path used when checking examples of a path-limited rule.
    pub example_path: Option<String>,
    /// A generic (context) rule: extra false-positive filters apply.
    pub generic: bool,
    /// The value model of a generic assignment rule, used instead of the generic-noise filter.
    pub model: Option<ValueModel>,
    /// Lowercased stopwords: the secret is dropped if it contains one.
    pub stopwords: Vec<String>,
    /// Regexes that drop a secret they match.
    pub allow: Vec<String>,
    /// Inputs that must produce a finding of this rule.
    pub examples: Vec<String>,
    /// Inputs that must not produce a finding of this rule.
    pub negative_examples: Vec<String>,
    /// Documentation links.
    pub references: Vec<String>,
    /// Where the rule was defined.
    pub origin: RuleOrigin,
}

/// Where a rule was defined: a file and a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleOrigin {
    /// File name (`<built-in>/NAME.toml` for embedded rules).
    pub file: String,
    /// 1-based line of the rule's `id`.
    pub line: usize,
    /// Whether the rule is built in.
    pub builtin: bool,
}

impl fmt::Display for RuleOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// Largest compiled size of one rule's regex, in bytes. Keeps a hostile rule file from using
/// unbounded memory; matching time is linear in the input whatever the pattern (regex crate).
pub const REGEX_SIZE_LIMIT: usize = 4 * 1024 * 1024;

/// Compiles a rule regex with the limits every rule regex gets.
///
/// Rules match bytes with ASCII semantics (Unicode mode off): `\w`, `\s`, `\d` and `\b` are
/// ASCII, `(?i)` folds ASCII letters, and classes match single bytes. Tokens are ASCII; Unicode
/// classes would multiply the automaton's states, and a Unicode `\b` would push the search off
/// the fast lazy DFA whenever a file holds non-ASCII text.
pub fn compile_regex(pattern: &str) -> std::result::Result<regex::bytes::Regex, regex::Error> {
    regex::bytes::RegexBuilder::new(pattern)
        .unicode(false)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(8 * 1024 * 1024)
        .build()
}

/// [`compile_regex`] for anchored searches (see [`crate::engine::anchor`]): the same syntax and
/// limits, built with `regex-automata`, which can start a search at an offset while `\b` and `^`
/// still see the bytes before it. Without the one-pass DFA: it is built for every compiled rule
/// but rarely used for our captures (the backtracker takes them), and cost a quarter of the
/// memory of the rules a Django tree scan compiles (4.2 MB of 76 rules, 3.0 MB without).
pub fn compile_anchored(pattern: &str) -> std::result::Result<regex_automata::meta::Regex, String> {
    compile_meta(pattern, true)
}

/// [`compile_anchored`], with the regex engine's literal prefilter only if `prefilter`. A regex
/// only ever searched anchored (at a keyword) has no use for one, and building it was most of
/// the cost of compiling some rules (a `(?i)` word as the prefix: 8 ms for `curl-header-credential`).
pub fn compile_meta(pattern: &str, prefilter: bool) -> std::result::Result<regex_automata::meta::Regex, String> {
    regex_automata::meta::Regex::builder()
        .syntax(regex_automata::util::syntax::Config::new().unicode(false).utf8(false))
        .configure(
            regex_automata::meta::Config::new()
                .utf8_empty(false)
                .onepass(false)
                .auto_prefilter(prefilter)
                .nfa_size_limit(Some(REGEX_SIZE_LIMIT))
                .hybrid_cache_capacity(8 * 1024 * 1024),
        )
        .build(pattern)
        .map_err(|e| e.to_string())
}

/// Parses one rule file's text. `file` names it in errors.
pub fn parse_rules(file: &str, text: &str, builtin: bool) -> Result<Vec<Rule>> {
    let parsed: RuleFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of_offset(text, s.start));
        Error::invalid(file, line, e.message().to_string())
    })?;
    let mut rules = Vec::with_capacity(parsed.rule.len());
    // Lines counted incrementally (ids and regexes come in file order): counting from the start
    // of the file for every rule was quadratic in its size (half of the start-up time with 800
    // rules).
    let mut lines = LineIndex::new(text.as_bytes());
    for spec in parsed.rule {
        let line = lines.line(spec.id.span().start);
        let origin = RuleOrigin { file: file.to_string(), line, builtin };
        let rule = validate(spec, origin, &mut lines)?;
        rules.push(rule);
    }
    Ok(rules)
}

/// Whether `regex` parses and has no capture group named `secret`. The regex's real capture
/// names count, not its text: `\(?P<secret>x\)` has no group at all. A regex that does not
/// parse is reported with its syntax error when it is compiled.
pub(crate) fn lacks_secret_group(regex: &str) -> bool {
    let parsed = regex_syntax::ParserBuilder::new().unicode(false).utf8(false).build().parse(regex);
    parsed.is_ok_and(|hir| !has_capture(&hir, "secret"))
}

/// Whether `hir` has a capture group named `name`.
fn has_capture(hir: &regex_syntax::hir::Hir, name: &str) -> bool {
    use regex_syntax::hir::HirKind;
    match hir.kind() {
        HirKind::Capture(c) => c.name.as_deref() == Some(name) || has_capture(&c.sub, name),
        HirKind::Concat(v) | HirKind::Alternation(v) => v.iter().any(|h| has_capture(h, name)),
        HirKind::Repetition(r) => has_capture(&r.sub, name),
        HirKind::Empty | HirKind::Literal(_) | HirKind::Class(_) | HirKind::Look(_) => false,
    }
}

fn validate(spec: RuleSpec, origin: RuleOrigin, lines: &mut LineIndex<'_>) -> Result<Rule> {
    let id = spec.id.get_ref().clone();
    let err = |line: usize, msg: String| Error::invalid(&origin.file, Some(line), format!("rule {id:?}: {msg}"));
    let line = origin.line;
    if id.is_empty()
        || !id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        || id.starts_with('-')
        || id.ends_with('-')
    {
        return Err(err(line, "field `id` must be kebab-case: lowercase letters, digits and '-'".into()));
    }
    if spec.name.trim().is_empty() {
        return Err(err(line, "field `name` is empty".into()));
    }
    if spec.keywords.is_empty() && spec.path.is_none() {
        return Err(err(
            line,
            "field `keywords` is empty: a rule needs a prefilter keyword, or a `path` to run on every file it matches"
                .into(),
        ));
    }
    if let Some(k) = spec.keywords.iter().find(|k| k.len() < 2) {
        return Err(err(line, format!("field `keywords`: keyword {k:?} is shorter than 2 bytes")));
    }
    let regex_line = lines.line(spec.regex.span().start);
    let regex = spec.regex.get_ref().clone();
    if spec.model.is_some() && !spec.generic {
        return Err(err(line, "field `model` needs `generic = true`".into()));
    }
    // Parsing every built-in regex here was more than half of the start-up time; the test
    // `builtin_rules_have_a_secret_group` checks them instead.
    if !origin.builtin && lacks_secret_group(&regex) {
        return Err(err(regex_line, "field `regex` has no `secret` capture group".into()));
    }
    if let Some(e) = spec.entropy {
        if !(0.0..=8.0).contains(&e) {
            return Err(err(line, format!("field `entropy` must be between 0 and 8 bits per byte, got {e}")));
        }
    }
    if spec.examples.is_empty() {
        return Err(err(line, "field `examples` is empty: every rule needs a positive example".into()));
    }
    if spec.negative_examples.is_empty() {
        return Err(err(line, "field `negative_examples` is empty: every rule needs a negative example".into()));
    }
    let lower_keywords: Vec<String> = spec.keywords.iter().map(|k| k.to_ascii_lowercase()).collect();
    for (i, ex) in spec.examples.iter().enumerate() {
        let lower = ex.to_ascii_lowercase();
        if !lower_keywords.is_empty() && !lower_keywords.iter().any(|k| lower.contains(k.as_str())) {
            return Err(err(
                line,
                format!(
                    "examples[{i}] contains none of the keywords, so the prefilter would never run this rule on it"
                ),
            ));
        }
    }
    if spec.path.is_some() && spec.example_path.is_none() {
        return Err(err(line, "a rule with `path` needs `example_path` to check its examples".into()));
    }
    Ok(Rule {
        id,
        name: spec.name,
        severity: spec.severity,
        keywords: spec.keywords,
        regex,
        entropy: spec.entropy,
        checksum: spec.checksum,
        description: spec.description,
        remediation: spec.remediation,
        tags: spec.tags,
        precision: spec.precision.unwrap_or_default(),
        path: spec.path,
        example_path: spec.example_path,
        generic: spec.generic,
        model: spec.model,
        stopwords: spec.stopwords.iter().map(|s| s.to_ascii_lowercase()).collect(),
        allow: spec.allow,
        examples: spec.examples,
        negative_examples: spec.negative_examples,
        references: spec.references,
        origin,
    })
}

/// Eagerly compiles every regex of `rules` (the main one, `path` and `allow`), reporting the
/// first that fails with its file and line.
pub fn compile_all(rules: &[Rule]) -> Result<()> {
    for r in rules {
        let check = |what: &str, pattern: &str| -> Result<()> {
            compile_regex(pattern).map(|_| ()).map_err(|e| {
                Error::invalid(
                    &r.origin.file,
                    Some(r.origin.line),
                    format!("rule {:?}: field `{what}` does not compile: {e}", r.id),
                )
            })
        };
        check("regex", &r.regex)?;
        if let Some(p) = &r.path {
            check("path", p)?;
        }
        for a in &r.allow {
            check("allow", a)?;
        }
    }
    Ok(())
}

/// Loads every `*.toml` file of a user rule directory (or a single file), compiling each regex.
pub fn load_user(path: &Path) -> Result<Vec<Rule>> {
    let mut files = Vec::new();
    if path.is_dir() {
        let entries = std::fs::read_dir(path).map_err(|e| Error::io(path, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(path, e))?;
            let p = entry.path();
            if p.extension().and_then(|e| e.to_str()) == Some("toml") {
                files.push(p);
            }
        }
        files.sort();
    } else {
        files.push(path.to_path_buf());
    }
    let mut rules = Vec::new();
    for f in files {
        let text = crate::input::read_text(&f, crate::input::MAX_CONFIG_FILE)?;
        let loaded = parse_rules(&f.display().to_string(), &text, false)?;
        compile_all(&loaded)?;
        rules.extend(loaded);
    }
    Ok(rules)
}

/// Checks that rule ids are unique across all rules.
pub fn check_unique(rules: &[Rule]) -> Result<()> {
    let mut seen: HashSet<&str> = HashSet::new();
    for r in rules {
        if !seen.insert(r.id.as_str()) {
            let first = rules.iter().find(|o| o.id == r.id).map(|o| o.origin.to_string()).unwrap_or_default();
            return Err(Error::invalid(
                &r.origin.file,
                Some(r.origin.line),
                format!("duplicate rule id {:?} (first defined at {first})", r.id),
            ));
        }
    }
    Ok(())
}

/// Loads the rule set: built-in rules (unless `no_builtin`), then each user path, minus `disabled`
/// ids. Ids must be unique.
pub fn load(user_paths: &[std::path::PathBuf], disabled: &[String], no_builtin: bool) -> Result<Vec<Rule>> {
    let mut rules = if no_builtin { Vec::new() } else { builtin()? };
    for p in user_paths {
        rules.extend(load_user(p)?);
    }
    check_unique(&rules)?;
    for d in disabled {
        if !rules.iter().any(|r| &r.id == d) {
            return Err(Error::Usage(format!("cannot disable unknown rule {d:?}")));
        }
    }
    rules.retain(|r| !disabled.contains(&r.id));
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = r#"
[[rule]]
id = "demo-token"
name = "Demo"
severity = "high"
keywords = ["demo_"]
regex = '''(?P<secret>demo_[a-z0-9]{8})'''
examples = ["x demo_ab12cd34"]
negative_examples = ["demo_short"]
"#;

    #[test]
    fn parses_a_rule() {
        let rules = parse_rules("t.toml", ONE, false).expect("valid");
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].id, "demo-token");
        assert_eq!(rules[0].origin.line, 3);
    }

    #[test]
    fn reports_unknown_field_with_line() {
        let bad = ONE.replace("severity = \"high\"", "severity = \"high\"\nsevrity = 1");
        let e = parse_rules("t.toml", &bad, false).unwrap_err().to_string();
        assert!(e.starts_with("t.toml:6:"), "{e}");
        assert!(e.contains("sevrity"), "{e}");
    }

    #[test]
    fn rejects_rule_whose_secret_group_is_only_text() {
        let bad = ONE.replace("(?P<secret>demo_[a-z0-9]{8})", "\\(?P<secret>demo_[a-z0-9]{8}\\)");
        let e = parse_rules("r.toml", &bad, false).unwrap_err().to_string();
        assert!(e.contains("no `secret` capture group"), "{e}");
    }

    #[test]
    fn builtin_rules_have_a_secret_group() {
        let missing: Vec<String> = builtin()
            .expect("built-in rules load")
            .into_iter()
            .filter(|r| lacks_secret_group(&r.regex))
            .map(|r| r.id)
            .collect();
        assert!(missing.is_empty(), "built-in rules without a `secret` group: {missing:?}");
    }

    #[test]
    fn rejects_rule_without_secret_group() {
        let bad = ONE.replace("(?P<secret>demo_[a-z0-9]{8})", "(demo_[a-z0-9]{8})");
        let e = parse_rules("t.toml", &bad, false).unwrap_err().to_string();
        assert!(e.contains("no `secret` capture group"), "{e}");
        assert!(e.starts_with("t.toml:7:"), "{e}");
    }

    #[test]
    fn rejects_bad_regex_with_file_and_line() {
        let bad = ONE.replace("{8})", "{8}");
        let rules = parse_rules("t.toml", &bad, false).expect("parses");
        let e = compile_all(&rules).unwrap_err().to_string();
        assert!(e.starts_with("t.toml:3:"), "{e}");
        assert!(e.contains("does not compile"), "{e}");
    }

    #[test]
    fn rejects_duplicate_ids() {
        let two = format!("{ONE}\n{ONE}");
        let rules = parse_rules("t.toml", &two, false).expect("parses");
        let e = check_unique(&rules).unwrap_err().to_string();
        assert!(e.contains("duplicate rule id"), "{e}");
    }

    #[test]
    fn rejects_example_without_keyword() {
        let bad = ONE.replace("x demo_ab12cd34", "nothing here");
        let e = parse_rules("t.toml", &bad, false).unwrap_err().to_string();
        assert!(e.contains("none of the keywords"), "{e}");
    }

    #[test]
    fn keywords_may_be_empty_only_with_a_path() {
        let bare = ONE.replace(r#"keywords = ["demo_"]"#, "keywords = []");
        let e = parse_rules("t.toml", &bare, false).unwrap_err().to_string();
        assert!(e.contains("field `keywords` is empty") && e.contains("`path`"), "{e}");
        let pathed = bare.replace("severity", "path = 'demo\\.key$'\nexample_path = \"demo.key\"\nseverity");
        let rules = parse_rules("t.toml", &pathed, false).expect("a path-only rule loads");
        assert!(rules[0].keywords.is_empty());
    }
}
