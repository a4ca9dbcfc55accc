//! Built-in false-positive filters.
//!
//! [`is_placeholder`] applies to every rule: documentation placeholders, templates and
//! environment lookups are never secrets. [`is_generic_noise`] applies to rules marked
//! `generic = true` (assignments like `password = "…"`), whose captures are often identifiers,
//! hashes, UUIDs or paths rather than secrets.

/// Substrings (lowercase) that mark a placeholder wherever they appear in a secret.
const PLACEHOLDER_WORDS: &[&str] = &[
    "example",
    "placeholder",
    "xxxx",
    "your_",
    "your-",
    "yourkey",
    "yourtoken",
    "yoursecret",
    "yourpassword",
    "<",
    ">",
    "${",
    "{{",
    "}}",
    "%s",
    "%(",
    "process.env",
    "os.environ",
    "getenv",
    "dummy",
    "redacted",
    "changeme",
    "change_me",
    "********",
    "•••",
    "…",
    "insert",
    "replace_me",
    "replaceme",
    "sample",
    "fake",
    "notreal",
    "not_real",
    "not-a-real",
    "secret_here",
    "token_here",
    "key_here",
];

/// Ascending runs that only a person types.
const SEQUENCES: &[&str] = &["12345678", "abcdefgh", "qwertyui", "01234567"];

/// Secrets longer than this (private-key blocks) skip the substring checks, which random base64
/// could trip by chance; such rules validate their structure instead.
const LONG_SECRET: usize = 256;

/// Whether `secret` is a placeholder rather than a secret.
pub fn is_placeholder(secret: &[u8]) -> bool {
    if secret.is_empty() {
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
        || SEQUENCES.iter().any(|s| text.contains(s))
        || has_ascending_run(&lower, 6)
}

/// Whether `s` holds `n` consecutive ascending letters or digits (`bcdefg`, `345678`): typed by
/// a person, and about one chance in 62^5 per position in a random token.
fn has_ascending_run(s: &[u8], n: usize) -> bool {
    let mut run = 1;
    for w in s.windows(2) {
        if w[0].is_ascii_alphanumeric() && w[1] == w[0].wrapping_add(1) && w[1].is_ascii_alphanumeric() {
            run += 1;
            if run >= n {
                return true;
            }
        } else {
            run = 1;
        }
    }
    false
}

/// Password hashes in the formats of Django, passlib, crypt(3) and bcrypt: a stored hash is not a
/// credential a scanner should report as one.
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
    const CRYPT: &[&str] = &["$2a$", "$2b$", "$2y$", "$argon2", "$1$", "$5$", "$6$", "$scrypt$", "$pbkdf2"];
    DJANGO.iter().chain(CRYPT).any(|p| s.starts_with(p))
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
    // UUIDs.
    if is_uuid(s) {
        return true;
    }
    // Hex digests and git SHAs (32, 40, 64, 128 hex digits) are hashes, not secrets, unless mixed case.
    if matches!(s.len(), 32 | 40 | 56 | 64 | 96 | 128) && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        let has_lower = s.bytes().any(|b| b.is_ascii_lowercase());
        let has_upper = s.bytes().any(|b| b.is_ascii_uppercase());
        if !(has_lower && has_upper) {
            return true;
        }
    }
    if is_password_hash(s) || is_cased_identifier(s) {
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

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_recognised() {
        for p in [
            "AKIAIOSFODNN7EXAMPLE",
            "ghp_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
            "${GITHUB_TOKEN}",
            "{{ .Values.token }}",
            "<your-token>",
            "changeme",
            "aaaaaaaaaaaaaaaa",
            "sk_live_1234567890abcdefghijklmn",
            "1bcdefghij2bcdefghij3bcdefghij4bcdefghij",
        ] {
            assert!(is_placeholder(p.as_bytes()), "{p}");
        }
        assert!(!is_placeholder(b"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")); // ndaguard:allow (generated test token)
    }

    #[test]
    fn generated_paths() {
        assert!(is_generated_path("web/package-lock.json"));
        assert!(is_generated_path("go.sum"));
        assert!(is_generated_path("static/app.min.js"));
        assert!(!is_generated_path("src/settings.py"));
    }

    #[test]
    fn generic_noise() {
        for n in [
            "550e8400-e29b-41d4-a716-446655440000",
            "da39a3ee5e6b4b0d3255bfef95601890afd80709",
            "sha512-abcdefg",
            "get_password()",
            "settings.SECRET_KEY",
            "MY_SECRET_NAME",
            "/etc/ssl/private/key.pem",
            "pbkdf2_sha256$30000$Vo0VlMnkR4Bk$qEvtdyZRWTcOsCnI/oQ7fVOu1XAURIZYoOZ3iq8Dr4M=",
            "$2b$12$KIXQJQb7Ff8s0Yb3sFQ2Ue7b6m1Fh6k8Q2Yy0sS4tRz8aWq9Lx1Ay",
            "FORBIDDEN_VALUE2",
            "max_retry_count3",
        ] {
            assert!(is_generic_noise(n.as_bytes()), "{n}");
        }
        assert!(!is_generic_noise(b"hV7mQ2xR9pLk4sNw8bTz"));
        assert!(!is_generic_noise(b"Xk3_v9Qm_2LpW7"));
    }
}
