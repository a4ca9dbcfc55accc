//! Templates and typed runs: the shapes of a value a person wrote in place of a secret.

use crate::engine::words::TYPED_ROWS;

/// Whether `s` is, or holds, a template slot: `<password>`, `sk_live_<key>`, `</x>`, `<%= … %>`,
/// `${VAR}`, `${VAR:-x}`, `{{ .Values.token }}`, `%(name)s`, `Bearer %s`. Each is judged as a
/// whole, so that a random value that merely contains `<`, `>`, `{{`, `${` or `%s` (a WordPress
/// salt of 64 printable characters often does) is not taken for a template. A `%s` or `%d` in a
/// value of 40 characters or more without a space is two characters of a generated key (a Django
/// `SECRET_KEY` draws from `%` and the letters), not a format string's slot.
pub(super) fn has_template(s: &[u8]) -> bool {
    let printf_slots = s.len() < 40 || s.contains(&b' ');
    (0..s.len()).any(|i| {
        let before = i.checked_sub(1).map(|j| s[j]);
        match &s[i..] {
            [b'<', b'/', rest @ ..] => ident_len(rest) > 0 && rest.get(ident_len(rest)) == Some(&b'>'),
            [b'<', b'%', rest @ ..] => rest.windows(2).any(|w| w == b"%>"),
            [b'<', rest @ ..] => rest.iter().position(|&b| b == b'>').is_some_and(|end| is_word_slot(&rest[..end])),
            // `${VAR}`, `${VAR:-default}`, `${env.VAR}`.
            [b'$', b'{', rest @ ..] => {
                let n = ident_len(rest);
                n > 0 && matches!(rest.get(n), Some(b'}' | b':' | b'-' | b'.' | b'?' | b'='))
            }
            // `{{ x }}`, `{{.Values.token}}`, `{{ secrets.TOKEN | default('') }}`.
            [b'{', b'{', rest @ ..] => rest.windows(2).position(|w| w == b"}}").is_some_and(|end| {
                let inner = &rest[..end];
                let words = inner.split(|&b| !b.is_ascii_alphanumeric() && b != b'_').filter(|w| !w.is_empty());
                inner.iter().all(|&b| b.is_ascii_alphanumeric() || b" _.,|-'\"()$".contains(&b))
                    && words.clone().count() >= 1
                    && words.clone().all(|w| is_word_slot(w) || w.iter().all(u8::is_ascii_digit))
            }),
            // `%(name)s`; `%s` or `%d` standing apart from letters and digits (`Bearer %s`).
            [b'%', b'(', rest @ ..] => {
                let n = ident_len(rest);
                n > 0 && rest.get(n) == Some(&b')') && rest.get(n + 1).is_some_and(u8::is_ascii_alphabetic)
            }
            [b'%', b's' | b'd', rest @ ..] => {
                printf_slots
                    && !before.is_some_and(|b| b.is_ascii_alphanumeric())
                    && !rest.first().is_some_and(|b| b.is_ascii_alphanumeric())
            }
            _ => false,
        }
    })
}

/// The length of the identifier at the start of `t` (a letter or `_` first).
fn ident_len(t: &[u8]) -> usize {
    match t.first() {
        Some(b) if b.is_ascii_alphabetic() || *b == b'_' => {
            t.iter().take_while(|&&b| b.is_ascii_alphanumeric() || b == b'_').count()
        }
        _ => 0,
    }
}

/// Whether `t` is what a person writes in a slot: words of one case each (`password`, `YOUR_TOKEN`,
/// `your token`, `db-password`, `Values.apiToken`), not random letters (`sDguPd`).
fn is_word_slot(t: &[u8]) -> bool {
    let parts: Vec<&[u8]> =
        t.split(|&b| matches!(b, b' ' | b'_' | b'-' | b'.' | b':')).filter(|p| !p.is_empty()).collect();
    let letters = t.iter().filter(|b| b.is_ascii_alphabetic()).count();
    letters >= 3
        && !parts.is_empty()
        && parts.iter().all(|p| {
            let word = p.iter().rposition(|b| !b.is_ascii_digit()).map_or(&p[..0], |k| &p[..=k]);
            // Words: lower, UPPER, Capitalized, or camelCase with one hump (`apiKey`), digits after.
            let humps = word.windows(2).filter(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase()).count();
            let rest_lower = word.iter().skip(1).filter(|b| b.is_ascii_uppercase()).count() <= humps;
            word.iter().all(u8::is_ascii_alphabetic)
                && (word.iter().all(u8::is_ascii_uppercase) || (humps <= 1 && rest_lower))
        })
}

/// Whether `s` holds `n` consecutive ascending letters or digits (`bcdefg`, `345678`): typed by
/// a person, and about one chance in 62^5 per position in a random token.
pub(super) fn has_ascending_run(s: &[u8], n: usize) -> bool {
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

/// How many letters of `value` stand outside its typed runs (3 or more characters in the order of
/// one of `TYPED_ROWS`): `abuser123456` has 6, `Qwer1990asdf!` none.
pub(super) fn letters_beside_typed_runs(value: &str) -> usize {
    let lower = value.to_ascii_lowercase();
    let b = lower.as_bytes();
    let in_a_row = |s: &[u8]| TYPED_ROWS.iter().any(|row| row.as_bytes().windows(s.len()).any(|w| w == s));
    let (mut i, mut letters) = (0, 0);
    while i < b.len() {
        let mut end = i;
        while end < b.len() && in_a_row(&b[i..=end]) {
            end += 1;
        }
        if end - i >= 3 {
            i = end;
        } else {
            letters += usize::from(b[i].is_ascii_alphabetic());
            i += 1;
        }
    }
    letters
}
