//! Values that are code, not literals: what a generic rule captures after a secret-named key in
//! source code when the "value" is an expression. Measured on the rails/rails tree and history,
//! where Ruby gives `Token::ControllerMethods` (a scope operator read as `key: value`),
//! `@previous_key` (an instance variable), `:initialize` (a symbol), `"#{base_key}/file"` (an
//! interpolation), `15.minutes` (a method call on a number) and `"[FILTERED]"` (a redaction mark).

/// Whether `s`, the value after a secret-named key, is an expression or a mark rather than a
/// literal secret: an interpolation (`#{x}`, `${x}`, `{{ x }}`), a scoped name or symbol (`A::B`,
/// `:sym`), an instance or class variable (`@x`, `@@x`, `@user.token`), a method call on a number
/// (`15.minutes`), or a bracketed word (`[FILTERED]`, `<REDACTED>`, `(hidden)`).
pub(super) fn is_code_expression(s: &str) -> bool {
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    if ["#{", "${", "{{", "::"].iter().any(|p| s.contains(p)) || s.starts_with(':') {
        return true;
    }
    if let Some(rest) = s.strip_prefix("@@").or_else(|| s.strip_prefix('@')) {
        let mut parts = rest.split('.');
        // Ruby's variables begin in lower case; a password may begin with `@K9…`.
        let first_is_name =
            parts.next().is_some_and(|p| p.bytes().next().is_some_and(|b| b.is_ascii_lowercase() || b == b'_'));
        if first_is_name && rest.bytes().all(|b| ident(b) || b == b'.') {
            return true;
        }
    }
    if let Some((number, method)) = s.split_once('.') {
        if !number.is_empty()
            && number.bytes().all(|b| b.is_ascii_digit())
            && method.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
            && method.bytes().all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'.')
        {
            return true;
        }
    }
    is_bracketed_word(s) || is_snake_name(s)
}

/// Whether `s` is a snake-case name of three or more words, each letters then maybe digits:
/// `_aj_ruby2_keywords`, `db_user_01`.
fn is_snake_name(s: &str) -> bool {
    let parts: Vec<&str> = s.split('_').filter(|p| !p.is_empty()).collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            let letters = p.trim_end_matches(|c: char| c.is_ascii_digit());
            letters.bytes().all(|b| b.is_ascii_lowercase()) && (!letters.is_empty() || p.len() <= 4)
        })
}

/// Whether `s` is a word in brackets: `[FILTERED]`, `<REDACTED>`, `(hidden)`, `[secret key]`.
pub(super) fn is_bracketed_word(s: &str) -> bool {
    let b = s.as_bytes();
    let (Some(&open), Some(&close)) = (b.first(), b.last()) else { return false };
    let pair = matches!((open, close), (b'[', b']') | (b'<', b'>') | (b'(', b')') | (b'{', b'}'));
    let inner = &b[1..b.len().saturating_sub(1).max(1)];
    pair && !inner.is_empty() && inner.iter().all(|c| c.is_ascii_alphabetic() || matches!(c, b'_' | b'-' | b' '))
}

/// Whether `s` is a dotted name: `settings.SECRET_VALUE`, `django.contrib.auth.hashers.X`.
pub(super) fn is_member_access(s: &str) -> bool {
    // A name's digits come in one run at most (`Gost28147`, `SHA256Hasher`); a token's are
    // scattered (`zn57kgegu5u4`).
    let wordy = |part: &str| {
        part.as_bytes().windows(2).filter(|w| w[0].is_ascii_digit() && w[1].is_ascii_alphabetic()).count() <= 1
    };
    s.contains('.')
        && s.split('.').all(|part| {
            part.bytes().next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
                && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && wordy(part)
        })
}

/// Whether `s` is an e-mail address.
pub(super) fn is_email(s: &str) -> bool {
    s.split_once('@').is_some_and(|(user, host)| {
        !user.is_empty()
            && host.contains('.')
            && host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    })
}

/// Whether the value at `span`, a word in lower case, is followed on its line by more such words:
/// prose that names an option (`--password suffers from the same problem`), not a command's
/// arguments, which are options, names and paths.
pub(super) fn is_followed_by_prose(data: &[u8], span: std::ops::Range<usize>) -> bool {
    let Some(value) = data.get(span.clone()) else { return false };
    if !value.iter().all(u8::is_ascii_lowercase) {
        return false;
    }
    let rest = &data[span.end..];
    let line = &rest[..rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len())];
    let Some(line) = line.strip_prefix(b" ") else { return false };
    let mut words = line.split(|&b| b == b' ');
    let word = |w: Option<&[u8]>| {
        w.is_some_and(|w| {
            let w = w.strip_suffix(b",").or_else(|| w.strip_suffix(b".")).unwrap_or(w);
            !w.is_empty() && w.iter().all(u8::is_ascii_lowercase)
        })
    };
    word(words.next()) && word(words.next())
}

#[cfg(test)]
mod tests {
    use super::is_code_expression;
    use crate::engine::{Engine, Scratch};

    /// The rule ids the built-in rules report in `text` read as the file `path`.
    fn found(e: &Engine, text: &str, path: &str) -> Vec<String> {
        let mut out = Vec::new();
        e.find(text.as_bytes(), Some(path), &mut Scratch::default(), &mut out);
        out.iter().map(|m| e.rules()[m.rule].id.clone()).collect()
    }

    #[test]
    fn ruby_expressions_after_secret_names_are_not_findings() {
        let e = Engine::new(crate::rules::builtin().expect("built-in rules")).expect("engine");
        for line in [
            "      class Request < Auth::AbstractRequest",
            "    include SignedId::RelationMethods, TokenFor::RelationMethods",
            "      @details_keys = Concurrent::Map.new",
            "    ENV[\"MAILGUN_INGRESS_SIGNING_KEY\"] = @previous_key",
            "    DEFAULT_RESET_TOKEN_EXPIRES_IN = 15.minutes",
            "    other_key = \"#{prefix}#{SecureRandom.uuid}\"",
            "    assert_logged({ password: \"[FILTERED]\" }.inspect[1..-2]) do",
            "      active_record.generate_secure_token_on = :initialize",
        ] {
            assert_eq!(found(&e, line, "lib/app/session.rb"), Vec::<String>::new(), "{line}");
        }
        // A literal stays a finding in the same file, and an unquoted value outside code.
        let token = "token = \"q7Vw2k6Ak7zcTwoSoNm7aTtbk1g67MKAnsY\"";
        assert_eq!(found(&e, token, "lib/app/session.rb"), vec!["generic-secret-assignment"]);
        let bare = "api_token: q7Vw2k6Ak7zcTwoSoNm7aTtbk1g67MKAnsY";
        assert_eq!(found(&e, bare, "config/app.yml"), vec!["generic-secret-assignment"]);
        assert!(found(&e, bare, "lib/app/session.rb").is_empty());
    }

    #[test]
    fn expressions_and_marks_are_not_literals() {
        for v in [
            ":ControllerMethods",
            "Rack::RACK_SESSION",
            "PG::Connection.conndefaults_hash.keys",
            "@previous_key",
            "@@secret_store",
            "@user.auth_token",
            "15.minutes",
            "#{attribute}_reset",
            "latency:#{SecureRandom.uuid}",
            "${SECRET_FROM_ENV}",
            "{{ vault_token }}",
            "[FILTERED]",
            "<REDACTED>",
            "(hidden)",
            "_aj_ruby2_keywords",
        ] {
            assert!(is_code_expression(v), "{v}");
        }
    }

    #[test]
    fn random_literals_are_not_expressions() {
        for v in [
            "7VwW7k6Ak7zcTwoSoNm7aTtbk1g67MKAnsYLfUB7P",
            "@K9xq2LzvP0",
            "b3c631c314c0bbca50c1b2843150fe33",
            "3.1415926535",
            "[9f8e7d6c5b4a]",
            "x7_k2m9_q8z4_w1p3",
        ] {
            assert!(!is_code_expression(v), "{v}");
        }
    }

    #[test]
    fn an_option_named_in_prose_is_not_a_password_on_a_command_line() {
        let e = Engine::new(crate::rules::builtin().expect("built-in rules")).expect("engine");
        for (line, path) in [
            ("    # `ps` on old systems, but --password suffers from the same problem", "client.py"),
            ("The --password option is deprecated, use a file.", "README.md"),
        ] {
            assert_eq!(found(&e, line, path), Vec::<String>::new(), "{line}");
        }
        // Commands keep their passwords, whatever follows them.
        for (line, path) in [
            ("tool login --password falcon --user ci", "deploy.sh"),
            ("mysql --password gardenia dbname", "backup.sh"),
            ("tool --password falcon", "deploy.sh"),
        ] {
            assert_eq!(found(&e, line, path), vec!["password-cli-option"], "{line}");
        }
    }

    #[test]
    fn gradle_build_config_fields_are_assignments() {
        let e = Engine::new(crate::rules::builtin().expect("built-in rules")).expect("engine");
        let tok = "q7Vw2k6Ak7zcTwoSoNm7aTtbk1g67MKA";
        for line in [
            format!("buildConfigField 'String', 'API_KEY', '\"{tok}\"'"),
            format!("buildConfigField \"String\", \"SERVICE_TOKEN\", \"\\\"{tok}\\\"\""),
        ] {
            assert_eq!(found(&e, &line, "app/build.gradle"), vec!["generic-secret-assignment"], "{line}");
        }
        // A list of names is not a call with a setting and its value.
        let names = "fields = [\"USER\", \"API_KEY\", \"SERVICE_HOST_NAME\"]";
        assert_eq!(found(&e, names, "app/settings.py"), Vec::<String>::new());
    }
}
