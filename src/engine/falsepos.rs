//! Built-in false-positive filters.
//!
//! [`is_placeholder`] applies to every rule: documentation placeholders, templates and
//! environment lookups are never secrets. [`is_generic_noise`] applies to rules marked
//! `generic = true` without a value model (a bearer token in a request), whose captures may be
//! identifiers, variables or paths rather than secrets. [`value_fits`] applies to generic rules with a
//! value `model`: it reads the key the value is assigned to as well as the value.

use super::expr::{is_email, is_followed_by_prose, is_member_access};
use super::keyname::{head_words, key_stands_as_key, key_words, line_qualifier, names_a_password, names_a_secret};
use super::words::*;
use template::{has_ascending_run, has_template, letters_beside_typed_runs};

mod shape;
mod template;

/// Whether `secret` is a placeholder rather than a secret, or a documented example key (see
/// `examples`).
pub fn is_placeholder(secret: &[u8]) -> bool {
    is_placeholder_in_slot(secret, false)
}

/// [`is_placeholder`] for a match of `rule`. A `provider-context` rule's value stands in a slot
/// that names its provider and a secret word (`KUCOIN_API_SECRET=…`): there a typed run
/// (`123456`, `abcdef`, `qwerty`) does not make the value a placeholder, since the slot already
/// says what the value is, while placeholder words, templates, masks and documented keys still do.
///
/// A password rule's slot is named too (a key that names a password, a URL's user information, a
/// password option): there a typed run is what weak passwords are made of (`abuser123456`), and
/// the password model judges it (see `is_password_placeholder`).
pub fn is_placeholder_for(rule: &crate::rules::Rule, secret: &[u8]) -> bool {
    use crate::rules::ValueModel;
    let password_slot = matches!(rule.model, Some(ValueModel::Password | ValueModel::Credential));
    let provider_context = rule.tags.iter().any(|t| t == "provider-context");
    // A provider context rule takes any long enough value after its names: one that names a
    // type, a path or a page (`bitbucketv1.BasicAuth`, `v2/get-started/`, `935365775.html`) is
    // not a credential.
    let named = provider_context
        && std::str::from_utf8(secret).is_ok_and(|s| {
            (s.contains(['.', '/', ':']) && shape::is_word_name(s))
                || shape::is_file_name(s)
                || shape::base64_text(secret).is_some_and(|t| shape::is_word_name(&t))
        });
    named || is_placeholder_in_slot(secret, password_slot || provider_context)
}

fn is_placeholder_in_slot(secret: &[u8], named_slot: bool) -> bool {
    is_plain_placeholder(secret, named_slot) || wraps_a_placeholder(secret, named_slot)
}

/// Whether `secret` is base64 of typed text (see [`shape::base64_text`]) that is a placeholder:
/// `dGVzdC1wYXNzd29yZA==` wraps `test-password`. The text is judged as the value would be, and
/// the password of a `user:password` pair, or the whole text when it is no pair, as a password
/// (JSON is not judged as one: its keys name passwords).
fn wraps_a_placeholder(secret: &[u8], named_slot: bool) -> bool {
    let Some(text) = shape::base64_text(secret) else { return false };
    let password = text.split_once(':').map_or(text.as_str(), |(_, p)| p);
    is_plain_placeholder(text.as_bytes(), named_slot) || (!text.starts_with('{') && is_password_placeholder(password))
}

fn is_plain_placeholder(secret: &[u8], named_slot: bool) -> bool {
    if secret.is_empty() || super::examples::is_documented(secret) {
        return true;
    }
    if distinct_bytes(secret) <= 2 && secret.len() > 3 {
        return true;
    }
    if secret.len() > LONG_SECRET {
        return false;
    }
    let lower = secret.to_ascii_lowercase();
    let text = String::from_utf8_lossy(&lower);
    PLACEHOLDER_WORDS.iter().any(|w| text.contains(w))
        || (!named_slot && (SEQUENCES.iter().any(|s| text.contains(s)) || has_ascending_run(&lower, 6)))
        || has_template(secret)
}

/// Password hashes in the formats of Django, passlib, crypt(3), bcrypt and Cisco, and Django's
/// unusable-password mark: a stored hash is not a credential a scanner should report as one.
fn is_password_hash(s: &str) -> bool {
    const DJANGO: &[&str] = &[
        "pbkdf2_sha256$",
        "pbkdf2_sha1$",
        "argon2$",
        "bcrypt_sha256$",
        "bcrypt$",
        "scrypt$",
        "sha1$",
        "md5$",
        "unsalted_md5$",
        "unsalted_sha1$",
        "crypt$",
    ];
    const CRYPT: &[&str] =
        &["$2a$", "$2b$", "$2y$", "$argon2", "$1$", "$5$", "$6$", "$8$", "$9$", "$scrypt$", "$pbkdf2"];
    DJANGO.iter().chain(CRYPT).any(|p| s.starts_with(p)) || is_django_unusable_password(s)
}

/// Django's mark of a user without a usable password: `!` and 40 random letters and digits
/// (`UNUSABLE_PASSWORD_PREFIX`, `UNUSABLE_PASSWORD_SUFFIX_LENGTH`), stored where the hash would be.
fn is_django_unusable_password(s: &str) -> bool {
    s.strip_prefix('!').is_some_and(|rest| rest.len() == 40 && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// `CONSTANT_CASE` or `snake_case` identifiers, digits allowed: names, not secrets.
fn is_cased_identifier(s: &str) -> bool {
    let parts: Vec<&str> = s.split('_').collect();
    if parts.len() < 2 || parts.iter().any(|p| p.is_empty()) {
        return false;
    }
    let upper = parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
    let lower = parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    let wordy = parts.iter().filter(|p| p.bytes().filter(u8::is_ascii_alphabetic).count() >= 3).count();
    (upper || lower) && wordy >= parts.len().div_ceil(2)
}

fn distinct_bytes(data: &[u8]) -> usize {
    let mut seen = [false; 256];
    data.iter().for_each(|&b| seen[b as usize] = true);
    seen.iter().filter(|&&s| s).count()
}

/// Whether the capture of a generic rule looks like something other than a secret.
pub fn is_generic_noise(secret: &[u8]) -> bool {
    let s = match std::str::from_utf8(secret) {
        Ok(s) => s,
        Err(_) => return true,
    };
    if s.len() < 8 {
        return true;
    }
    // Hex and UUID values: where a generic rule without a value model matches (after
    // `Authorization: Bearer`), the place says the value is a token, and many providers issue hex
    // or UUID tokens; only a value too uniform for one is noise (as in the `secret` model).
    if is_uuid(s) || s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return distinct_bytes(secret) < 6 || is_mixed_case_hex(s);
    }
    if is_password_hash(s) || is_cased_identifier(s) || shape::is_word_path(s) || shape::is_timestamp(s) {
        return true;
    }
    // Integrity hashes and similar prefixed digests.
    for p in ["sha1-", "sha256-", "sha384-", "sha512-", "h1:", "sha256:", "md5:"] {
        if s.starts_with(p) {
            return true;
        }
    }
    // Paths, URLs without credentials, dotted identifiers and function calls.
    if s.starts_with('/') || s.starts_with("./") || s.starts_with("http") || s.contains("://") {
        return true;
    }
    if s.contains('(') || s.contains(')') || s.contains(' ') {
        return true;
    }
    // Identifiers: only letters, '_' and '.' (snake_case, camelCase, CONSTANT_CASE, dotted.names).
    if s.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_' || b == b'.' || b == b'-') {
        return true;
    }
    // Environment and template lookups.
    if s.starts_with('$') || s.starts_with('%') || s.starts_with('@') && s.ends_with('@') {
        return true;
    }
    // Mostly one character class with few digits: words joined by separators.
    let digits = s.bytes().filter(u8::is_ascii_digit).count();
    let letters = s.bytes().filter(u8::is_ascii_alphabetic).count();
    if digits == 0 && letters > 0 && s.bytes().filter(|b| *b == b'_' || *b == b'-').count() >= 2 {
        return true;
    }
    false
}

/// Lockfiles, checksum files and minified or generated files: full of hashes and random-looking
/// identifiers, and never the place where a person types a password. Generic rules skip them.
pub fn is_generated_path(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    const NAMES: &[&str] = &[
        "package-lock.json",
        "npm-shrinkwrap.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "Cargo.lock",
        "go.sum",
        "poetry.lock",
        "Pipfile.lock",
        "composer.lock",
        "Gemfile.lock",
        "mix.lock",
        "pubspec.lock",
        "packages.lock.json",
        "flake.lock",
        "uv.lock",
        "bun.lock",
    ];
    const SUFFIXES: &[&str] = &[".min.js", ".min.css", ".js.map", ".css.map", ".min.mjs", ".lock", ".sum"];
    NAMES.contains(&name) || SUFFIXES.iter().any(|s| name.ends_with(s))
}

/// Whether `s` is hex digits with letters of both cases (`acdeFf05b1…`): hex is written in one
/// case, so this is an edited or made-up value, and random text of a wider alphabet is almost
/// never all hex digits (one chance in 10^4 at 8 characters, 10^7 at 16).
fn is_mixed_case_hex(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter().all(|c| c.is_ascii_hexdigit() || *c == b'-')
        && b.iter().any(|c| matches!(c, b'a'..=b'f'))
        && b.iter().any(|c| matches!(c, b'A'..=b'F'))
}

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// A value assigned to a key, as a generic assignment rule matched it.
pub struct Assignment<'a> {
    /// The scanned text.
    pub data: &'a [u8],
    /// Where the match starts: at the rule's keyword, inside the key.
    pub at: usize,
    /// The value.
    pub span: std::ops::Range<usize>,
    /// Whether the value is the argument after the key in a call: `setProperty("KEY", "value")`.
    pub argument: bool,
    /// The scanned file's relative path, when there is one.
    pub path: Option<&'a str>,
}

/// Whether `value` is, or holds, a placeholder word (`changeme`, `p@ssw0rd`, `superS3cret`), or
/// is made of typed runs alone (`abcd1234`, `qwer1990!`; see [`TYPED_RUN_PARTS`]).
fn is_password_placeholder(value: &str) -> bool {
    is_placeholder_with(value, PASSWORD_PLACEHOLDER_PARTS)
        || (is_placeholder_with(value, TYPED_RUN_PARTS) && letters_beside_typed_runs(value) < 3)
}

/// [`is_password_placeholder`] with the given substrings.
fn is_placeholder_with(value: &str, parts: &[&str]) -> bool {
    let lower = value.to_ascii_lowercase();
    let plain: String = lower
        .chars()
        .map(|c| match c {
            '0' => 'o',
            '1' => 'i',
            '3' => 'e',
            '4' | '@' => 'a',
            '5' | '$' => 's',
            '7' => 't',
            _ => c,
        })
        .collect();
    // The letters and digits alone, escape sequences dropped: a word that a mark interrupts
    // (`foo$bar`, `veryPriv@ate`, `pass\0word`, `se.cret`) is still the word.
    let mut joined = String::with_capacity(lower.len());
    let mut chars = lower.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            c if c.is_ascii_alphanumeric() => joined.push(c),
            _ => {}
        }
    }
    [lower.as_str(), joined.as_str()].iter().any(|v| PASSWORD_PLACEHOLDERS.contains(v))
        || parts.iter().any(|p| lower.contains(p) || plain.contains(p) || joined.contains(p))
}

/// Whether a value assigned to a key fits `model` (see [`crate::rules::ValueModel`]).
pub fn value_fits(model: crate::rules::ValueModel, a: &Assignment<'_>) -> bool {
    use crate::rules::ValueModel;
    let key = key_words(a.data, a.at);
    let Ok(value) = std::str::from_utf8(&a.data[a.span.clone()]) else { return false };
    if model != ValueModel::Credential && !key_stands_as_key(a) || !quotes_pair(a) {
        return false;
    }
    // What the key names is its head: `pathToToken` names a path.
    let head = head_words(&key);
    let named = match model {
        ValueModel::Secret => {
            names_a_secret(head)
                || (key.len() == 1
                    && key[0] == "key"
                    && line_qualifier(a.data, a.at).is_some_and(|q| !NOT_KEY_QUALIFIERS.contains(&q.as_str())))
        }
        ValueModel::Password => head.iter().any(|w| names_a_password(w)),
        ValueModel::Credential => {
            return password_fits(value, true, None) && !equals_user(a) && !is_followed_by_prose(a.data, a.span.clone())
        }
    };
    if !named || key.iter().any(|w| NOT_SECRET_WORDS.contains(&w.as_str()) || NOT_REAL_WORDS.contains(&w.as_str())) {
        return false;
    }
    if head.last().is_some_and(|w| NOT_SECRET_TAILS.contains(&w.as_str())) {
        return false;
    }
    // The value names the key or the key names the value: `API_KEY = "api_key"`,
    // `SN_id_KeyMeshing = "id-KeyMeshing"`, `BlindKeys = Ed25519.BlindKeys`.
    let squashed: String =
        value.bytes().filter(u8::is_ascii_alphanumeric).map(|b| b.to_ascii_lowercase() as char).collect();
    let joined = key.concat();
    if key.contains(&squashed) || (squashed.len() >= 8 && (joined.contains(&squashed) || squashed.contains(&joined))) {
        return false;
    }
    match model {
        // Under a password's key, a value that the password model takes for a placeholder
        // (`superS3cret`) is one for the secret model too.
        ValueModel::Secret => {
            (quoted(a) || !a.path.is_some_and(is_code_path))
                && secret_fits(value)
                && !(head.iter().any(|w| names_a_password(w)) && is_password_placeholder(value))
        }
        ValueModel::Password => {
            // A call's second argument that is a name (`f('password', 'credit_card')`).
            !(a.argument && is_cased_identifier(value)) && password_fits(value, quoted(a) || inline(a), a.path)
        }
        ValueModel::Credential => unreachable!("handled above"),
    }
}

/// Whether a quoted value opens and closes with the same quote, both escaped or neither (JSON
/// in a string: `"{\"apiKey\":\"…\"}"`).
fn quotes_pair(a: &Assignment<'_>) -> bool {
    let open = a.span.start.checked_sub(1).and_then(|i| a.data.get(i)).copied();
    match open {
        Some(q @ (b'"' | b'\'' | b'`')) => {
            let escaped = a.span.start >= 2 && a.data.get(a.span.start - 2) == Some(&b'\\');
            let close = a.data.get(a.span.end..).unwrap_or_default();
            if escaped {
                close.starts_with(&[b'\\', q])
            } else {
                close.first() == Some(&q)
            }
        }
        _ => true,
    }
}

/// Whether the value of `user:password` equals the user (`postgres:postgres@`, `guest:guest`).
fn equals_user(a: &Assignment<'_>) -> bool {
    let Some(colon) = a.span.start.checked_sub(1) else { return false };
    if a.data.get(colon) != Some(&b':') {
        return false;
    }
    let user_start = a.data[..colon]
        .iter()
        .rposition(|&b| matches!(b, b'/' | b'@' | b' ' | b'\t' | b'"' | b'\'' | b'\n'))
        .map_or(0, |i| i + 1);
    a.data[user_start..colon].eq_ignore_ascii_case(&a.data[a.span.clone()])
}

/// Whether an unquoted value stands inside a string of several settings, as in a connection
/// string (`…;Password=x;Encrypt=…`) or a query (`?password=x&…`), rather than in code.
fn inline(a: &Assignment<'_>) -> bool {
    let next = a.data.get(a.span.end).copied();
    let after = a.data.get(a.span.end + 1).copied();
    match next {
        Some(b';') => after.is_some_and(|b| b.is_ascii_alphanumeric() || b == b' ' || b == b'"' || b == b'\''),
        Some(b'&' | b'"' | b'\'') => true,
        _ => false,
    }
}

/// Whether the value stands between quotes.
fn quoted(a: &Assignment<'_>) -> bool {
    let before = a.span.start.checked_sub(1).and_then(|i| a.data.get(i));
    matches!(before, Some(b'"' | b'\'' | b'`'))
}

/// A secret or token under a secret-named key: not a placeholder or identifier, and about as
/// varied as random text of its length and alphabet.
fn secret_fits(s: &str) -> bool {
    let escaped =
        s.as_bytes().windows(2).any(|w| w[0] == b'\\' && matches!(w[1], b'0' | b'n' | b'r' | b't' | b'x' | b'u'));
    if !(8..=512).contains(&s.len()) || s.contains(' ') || escaped || !s.bytes().all(|b| b.is_ascii_graphic()) {
        return false;
    }
    if is_placeholder_with(s, SECRET_PLACEHOLDER_PARTS) || is_member_access(s) {
        return false;
    }
    if is_mixed_case_hex(s) {
        return false;
    }
    if is_uuid(s) || (s.len() >= 16 && s.bytes().all(|b| b.is_ascii_hexdigit())) {
        // Hex and UUID values are tokens of many providers; the key says this one is a secret.
        return distinct_bytes(s.as_bytes()) >= 6;
    }
    // Base64 of a name or a path (`aGVsbG8td29ybGQ=` wraps `hello-world`) is as much noise.
    if is_value_noise(s) || shape::base64_text(s.as_bytes()).is_some_and(|t| is_value_noise(&t)) {
        return false;
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s.len() >= 16 && distinct_bytes(s.as_bytes()) >= 6;
    }
    // An identifier or word with a trailing number or mark: `Version2`, `db_user_01`, `Summer2024!`
    // (a weak password, reported as one by the password rules).
    let stem = s.trim_end_matches(|c: char| c.is_ascii_digit() || c.is_ascii_punctuation());
    if stem.bytes().all(|b| b.is_ascii_alphabetic() || matches!(b, b'_' | b'.' | b'-')) || is_camel_words(s.as_bytes())
    {
        return false;
    }
    looks_random(s.as_bytes())
}

/// Value shapes that are never a secret: paths, URLs, expressions, lookups, hashes, identifiers.
fn is_value_noise(s: &str) -> bool {
    is_password_hash(s)
        || super::expr::is_code_expression(s)
        || is_cased_identifier(s)
        || shape::is_word_name(s)
        || shape::is_word_list(s)
        || shape::is_timestamp(s)
        || ["sha1-", "sha256-", "sha384-", "sha512-", "h1:", "sha256:", "md5:"].iter().any(|p| s.starts_with(p))
        || s.starts_with('/')
        || s.starts_with("./")
        || s.starts_with("http")
        || s.contains("://")
        || s.contains('(')
        || s.contains(')')
        || s.starts_with('$')
        || s.starts_with('%')
        || (s.starts_with('@') && s.ends_with('@'))
        || s.bytes().all(|b| b.is_ascii_alphabetic() || matches!(b, b'_' | b'.' | b'-'))
        || {
            let digits = s.bytes().filter(u8::is_ascii_digit).count();
            let letters = s.bytes().filter(u8::is_ascii_alphabetic).count();
            digits == 0 && letters > 0 && s.bytes().filter(|b| matches!(b, b'_' | b'-')).count() >= 2
        }
}

/// Whether `s` is about as varied as random text: its Shannon entropy is at least three quarters
/// of the most that its length and alphabet allow.
fn looks_random(s: &[u8]) -> bool {
    let mut alphabet = 0usize;
    if s.iter().any(u8::is_ascii_digit) {
        alphabet += 10;
    }
    if s.iter().any(u8::is_ascii_lowercase) {
        alphabet += 26;
    }
    if s.iter().any(u8::is_ascii_uppercase) {
        alphabet += 26;
    }
    if s.iter().any(|b| !b.is_ascii_alphanumeric()) {
        alphabet += 16;
    }
    let most = (s.len().min(alphabet).max(2) as f64).log2();
    super::entropy::shannon(s) >= 0.75 * most
}

/// A password: anything but a placeholder. Unquoted values in source code are expressions.
fn password_fits(s: &str, quoted: bool, path: Option<&str>) -> bool {
    let v = s.trim();
    if v.len() < 4 || v.len() > 128 {
        return false;
    }
    if !quoted && path.is_some_and(is_code_path) {
        return false;
    }
    if is_password_placeholder(v) || is_member_access(v) || v.starts_with('\\') || super::expr::is_bracketed_word(v) {
        return false;
    }
    // A constant's name: `BOTH`, `READ_ONLY`.
    if v.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
        return false;
    }
    let first = v.as_bytes()[0];
    if matches!(first, b'$' | b'%' | b'&' | b'@' | b'{' | b'[' | b'(' | b'<' | b'*' | b':' | b'#' | b'!' | b'=')
        && !quoted
    {
        return false;
    }
    if v.starts_with("#{") || v.starts_with('$') && v[1..].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return false;
    }
    // A command-line flag (`--account`) or an anchored pattern (`^.{8,32}$`) is no password.
    if (v.starts_with("--") && v[2..].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        || (v.starts_with('^') && v.ends_with('$'))
    {
        return false;
    }
    // A date and time (`2019-03-20T17:54:53Z`) is when something happened.
    if v.contains("()")
        || (v.contains('(') && v.ends_with(')'))
        || is_password_hash(v)
        || (v.len() > 10 && shape::is_timestamp(v))
    {
        return false;
    }
    // An e-mail address or `name@`: the conventional password of anonymous logins (RFC 1635).
    if v.ends_with('@') || is_email(v) {
        return false;
    }
    // Masks and repeated characters: `xxxxxx`, `------`, `••••`.
    if distinct_bytes(v.as_bytes()) <= 2 {
        return false;
    }
    // Dotted member access in code-like values: `config.db.password`, `self.pwd`.
    if !quoted && v.contains('.') && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.') {
        return false;
    }
    true
}

/// Whether `s` has the shape of a Telegram bot token, `<bot id>:A<secret>`, but not its
/// documented lengths (an id of 5 to 16 digits, a secret of 35 characters starting with `A`):
/// `9548:Almxw…_`, a secret with extra words, or a stub (`794031562:A`, `794031562:Ab`). Such a
/// value is made up or cut short, not a token. A short id with a short tail (`2024:Admin`) is
/// not taken for one.
pub fn is_malformed_bot_token(s: &[u8]) -> bool {
    let Some(colon) = s.iter().position(|&b| b == b':') else { return false };
    let (id, tail) = (&s[..colon], &s[colon + 1..]);
    let shaped = id.len() >= 3
        && id.iter().all(u8::is_ascii_digit)
        && tail.first() == Some(&b'A')
        && (tail.len() >= 8 || id.len() >= 6)
        && tail.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
    shaped && !((5..=16).contains(&id.len()) && tail.len() == 35)
}

/// Whether `s` is mostly made of capitalized words (`AgencyIdentificationCodeType`): at least
/// three chunks of an upper-case letter and three or more lower-case letters with a vowel,
/// covering most of it. Random tokens almost never are.
fn is_camel_words(s: &[u8]) -> bool {
    let (mut words, mut covered, mut i) = (0, 0, 0);
    while i < s.len() {
        if s[i].is_ascii_uppercase() {
            let mut j = i + 1;
            while j < s.len() && s[j].is_ascii_lowercase() {
                j += 1;
            }
            let chunk = &s[i..j];
            if chunk.len() >= 4 && chunk.iter().any(|b| b"aeiouy".contains(b)) {
                words += 1;
                covered += chunk.len();
            }
            i = j;
        } else {
            i += 1;
        }
    }
    words >= 3 && covered * 10 >= s.len() * 6
}

/// Whether `path` names a source-code file.
pub(crate) fn is_code_path(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.rsplit_once('.').is_some_and(|(_, ext)| CODE_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()))
}

#[cfg(test)]
#[path = "falsepos_tests.rs"]
mod tests;
