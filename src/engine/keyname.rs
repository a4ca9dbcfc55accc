//! The key a value is assigned to, as the value models of `falsepos` read it: the key's words,
//! whether they name a secret or a password, and whether the key stands as a key at all (not a
//! value itself, not a word in a list).

use super::falsepos::Assignment;
use super::words::{NOT_KEY_QUALIFIERS, SECRET_WORDS};

/// Whether the key is a key: not itself a value (`type="password" name="x"`, `"autocomplete":
/// "current-password", …`), and for a call's argument, the quoted first argument of the call
/// (`define('DB_PASSWORD', 'x')`, not `["USER", "PASSWORD", "HOST"]`).
pub(super) fn key_stands_as_key(a: &Assignment<'_>) -> bool {
    let is_key = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.';
    let mut start = a.at.min(a.data.len());
    while start > 0 && a.at - start < 64 && is_key(a.data[start - 1]) {
        start -= 1;
    }
    let mut end = a.at.min(a.data.len());
    while end < a.data.len() && end - a.at < 64 && is_key(a.data[end]) {
        end += 1;
    }
    let before = &a.data[..start];
    let quote = before.last().copied().filter(|b| matches!(b, b'"' | b'\'' | b'`'));
    let unquoted = if quote.is_some() { &before[..before.len() - 1] } else { before };
    let prev_at = unquoted.iter().rposition(|b| !matches!(b, b' ' | b'\t'));
    let prev = prev_at.map(|i| unquoted[i]);
    // A whole quoted string after `=` or `:` is a value, unless the attribute before names a
    // key: `<add key="ApiKey" value="…"/>`, `<property name="password" value="…"/>`.
    let whole_string = quote.is_some() && a.data.get(end).copied() == quote;
    if whole_string && matches!(prev, Some(b'=' | b':')) {
        let attr_end = prev_at.unwrap_or(0);
        let attr = &unquoted[..attr_end];
        let attr_start = attr.iter().rposition(|b| !b.is_ascii_alphanumeric()).map_or(0, |i| i + 1);
        let names_key = prev == Some(b'=')
            && matches!(
                attr[attr_start..].to_ascii_lowercase().as_slice(),
                b"key" | b"name" | b"id" | b"property" | b"param" | b"setting" | b"variable" | b"var"
            );
        if !names_key {
            return false;
        }
    }
    // An unquoted word right after `=` is a value too: `input[type=password]:focus`.
    if quote.is_none() && prev == Some(b'=') && prev_at.is_some_and(|i| i + 1 == start) {
        return false;
    }
    // A call's argument names a setting when it looks like one (`DB_PASSWORD`,
    // `javax.net.ssl.keyStorePassword`), not when it is a word (`encode("password", "salt")`).
    // It is the call's first argument or a later one (after the type in Gradle's
    // `buildConfigField "String", "API_KEY", "\"…\""`).
    let key = &a.data[start..end];
    let setting = key.iter().any(|b| b.is_ascii_uppercase() || matches!(b, b'_' | b'.' | b'-'));
    !a.argument || (quote.is_some() && matches!(prev, Some(b'(' | b',')) && setting)
}

/// Whether the key's words name a secret (see [`SECRET_WORDS`]), or end in `key` after a word
/// that does not make it a database, cache or map key.
pub(super) fn names_a_secret(key: &[String]) -> bool {
    if key.iter().any(|w| SECRET_WORDS.iter().any(|s| w == s || (w.len() > s.len() + 1 && w.ends_with(s)))) {
        return true;
    }
    let Some(i) = key.iter().rposition(|w| w == "key" || w == "keys" || (w.len() > 4 && w.ends_with("key"))) else {
        return false;
    };
    let w = &key[i];
    if w != "key" && w != "keys" {
        // `apikey`, `stripekey`: the word before `key` is glued on.
        let stem = &w[..w.len() - 3];
        return !NOT_KEY_QUALIFIERS.contains(&stem) && !stem.ends_with("monkey") && stem.len() >= 2;
    }
    match i.checked_sub(1).map(|j| key[j].as_str()) {
        Some(q) => !NOT_KEY_QUALIFIERS.contains(&q),
        // A bare `key` (an XML attribute, a map entry, a keyboard key) names nothing.
        None => false,
    }
}

/// For a bare `key` at `at`: the word before it when it opens the line (`taxjar key: …`, after
/// indentation or a comment mark), lowercased.
pub(super) fn line_qualifier(data: &[u8], at: usize) -> Option<String> {
    // Read backwards from `at` only as far as the answer needs (not to the line's start, which
    // on a minified line is far away): one blank, the word, then only lead bytes up to the line.
    let before = &data[..at.min(data.len())];
    let trimmed = before.strip_suffix(b" ").or_else(|| before.strip_suffix(b"\t"))?;
    let word_start = trimmed.iter().rposition(|b| !b.is_ascii_alphanumeric()).map_or(0, |i| i + 1);
    let word = &trimmed[word_start..];
    if word.len() < 3 || !word.iter().all(u8::is_ascii_alphabetic) {
        return None;
    }
    let lead = &trimmed[..word_start];
    let opens = match lead.iter().rposition(|b| !matches!(b, b' ' | b'\t' | b'#' | b'/' | b'*' | b'-' | b';')) {
        None => true,
        Some(i) => lead[i] == b'\n',
    };
    opens.then(|| String::from_utf8_lossy(word).to_ascii_lowercase())
}

/// Whether a key word names a password: `password`, `db_pass`, `PGPASSWORD`, `pwd`.
pub(super) fn names_a_password(w: &str) -> bool {
    matches!(w, "pass" | "pwd" | "pw" | "passwd" | "passcode" | "passphrase" | "pword")
        || ["password", "passwd", "passphrase", "pwd"].iter().any(|s| w.ends_with(s))
}

/// The words of the key around `at` (the identifier that holds `at`: letters, digits, `_`, `-`,
/// `.`), split at separators and camelCase humps, lowercased.
pub(super) fn key_words(data: &[u8], at: usize) -> Vec<String> {
    let is_key = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.';
    let mut start = at.min(data.len());
    while start > 0 && at - start < 64 && is_key(data[start - 1]) {
        start -= 1;
    }
    let mut end = at.min(data.len());
    while end < data.len() && end - at < 64 && is_key(data[end]) {
        end += 1;
    }
    let mut words = Vec::new();
    let mut cur = String::new();
    let key = &data[start..end];
    for (i, &b) in key.iter().enumerate() {
        if !b.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            continue;
        }
        let hump = b.is_ascii_uppercase() && i > 0 && key[i - 1].is_ascii_lowercase();
        if hump && !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
        cur.push(b.to_ascii_lowercase() as char);
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// Prepositions that start a modifier inside a key: what follows says what the named thing is
/// for, from or made of (`pathToToken`, `keyVaultForSecrets`), not what it is. `in` and `on` are
/// left out: they are also verb particles (`signInToken`, `logOnPassword`).
const PREPOSITIONS: &[&str] = &["to", "for", "of", "from", "with", "into", "via"];

/// The head of a key's words: the words before a preposition that follows the first word and is
/// followed by another (`keyVaultToStoreSecrets` → `key vault`, `pathToToken` → `path`,
/// `tokenForUser` → `token`); all of them otherwise.
pub(super) fn head_words(key: &[String]) -> &[String] {
    match key.iter().skip(1).position(|w| PREPOSITIONS.contains(&w.as_str())) {
        Some(j) if j + 2 < key.len() => &key[..=j],
        _ => key,
    }
}
