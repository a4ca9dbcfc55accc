//! Value shapes that name or date something rather than hide it: label keys and paths made of
//! words (`kubernetes.io/hostname`, `role:readonly`), timestamps, and base64 that only wraps
//! readable text (`dGVzdC1wYXNzd29yZA==` is `test-password`).

use base64::Engine as _;

/// Characters that separate the words of a name, a label key or a path.
const SEPARATORS: &[u8] = b"/:.-_@+#";

/// Whether `s` is words joined by separators (see [`is_word_name`]) with at least one `/` or `:`
/// among them: the shapes of label and annotation keys, resource paths, routes
/// (`active_storage/disk#update`) and `scheme:name` pairs.
pub(crate) fn is_word_path(s: &str) -> bool {
    s.bytes().any(|c| matches!(c, b'/' | b':')) && is_word_name(s)
}

/// Whether `s` is two or more words joined by separators (`argocd-k8s-auth`,
/// `bitbucketv1.BasicAuth`, `v1alpha1.SecretRef`): every part is made of words (see
/// [`is_word_part`]). Random tokens cut at their separators leave parts of mixed-case letters or
/// of letters and digits all along, which no part here is.
pub(crate) fn is_word_name(s: &str) -> bool {
    let b = s.as_bytes();
    if !b.iter().all(|c| c.is_ascii_alphanumeric() || SEPARATORS.contains(c)) {
        return false;
    }
    let parts: Vec<&[u8]> = b.split(|c| SEPARATORS.contains(c)).filter(|p| !p.is_empty()).collect();
    // A version's numbers (`MPL-2.0`) count as words; one word at least.
    let number = |p: &[u8]| p.len() <= 2 && p.iter().all(u8::is_ascii_digit);
    parts.len() >= 2 && parts.iter().all(|p| is_word_part(p) || number(p)) && parts.iter().any(|p| !number(p))
}

/// A part of [`is_word_name`]: a word (lowercase, uppercase or capitalized words run together:
/// `hostname`, `ONLY`, `ConfigMap`), then at most two digits (`configmap1`, `v2`), or words and
/// digits taking turns (`k8s`, `i18n`, `v1alpha1`): at most two runs of digits, each of one or two,
/// and a word of three letters or more between two of them.
fn is_word_part(p: &[u8]) -> bool {
    let mut runs: Vec<&[u8]> = Vec::new();
    let mut i = 0;
    while i < p.len() {
        let digit = p[i].is_ascii_digit();
        let n = p[i..].iter().take_while(|c| c.is_ascii_digit() == digit).count();
        runs.push(&p[i..i + n]);
        i += n;
    }
    let digit_runs: Vec<usize> = (0..runs.len()).filter(|&k| runs[k][0].is_ascii_digit()).collect();
    let first_is_word = runs.first().is_some_and(|r| is_word(r));
    first_is_word
        && digit_runs.len() <= 2
        && digit_runs.iter().all(|&k| runs[k].len() <= 2)
        && (0..runs.len()).filter(|k| !digit_runs.contains(k)).all(|k| is_word(runs[k]))
        && (digit_runs.len() < 2 || runs[digit_runs[0] + 1].len() >= 3)
}

/// Letters written as words are: all lowercase, all uppercase, or capitalized words run
/// together (`ConfigMap`, `basicAuth`).
fn is_word(r: &[u8]) -> bool {
    if !r.iter().all(u8::is_ascii_alphabetic) {
        return false;
    }
    if r.iter().all(u8::is_ascii_lowercase) || r.iter().all(u8::is_ascii_uppercase) {
        return true;
    }
    // Camel case: every capital starts a run of at least two lowercase letters.
    r.iter().enumerate().all(|(i, c)| {
        !c.is_ascii_uppercase() || r.get(i + 1..i + 3).is_some_and(|n| n.iter().all(u8::is_ascii_lowercase))
    })
}

/// Whether `s` is a list of words and settings (`bytes,1,opt,name=key,proto3`, a Go struct tag's
/// protobuf options): two or more items between commas, each a word, a name, a small number or a
/// `word=word` setting.
pub(crate) fn is_word_list(s: &str) -> bool {
    let item = |i: &str| {
        i.split('=').all(|w| {
            let b = w.as_bytes();
            !b.is_empty() && (is_word_part(b) || is_word_name(w) || (b.len() <= 2 && b.iter().all(u8::is_ascii_digit)))
        })
    };
    s.contains(',') && s.split(',').all(item)
}

/// Whether `s` names a file by a document, page, image or data extension (`935365775.html`,
/// `tokens-939515499.html`): a link's target, not a credential.
pub(crate) fn is_file_name(s: &str) -> bool {
    const EXTENSIONS: &[&str] = &[
        "html", "htm", "md", "txt", "json", "yaml", "yml", "xml", "pdf", "png", "jpg", "jpeg", "gif", "svg", "php",
        "aspx", "jsp", "css", "js", "csv",
    ];
    s.rsplit_once('.').is_some_and(|(stem, ext)| {
        !stem.is_empty()
            && EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str())
            && stem.bytes().all(|c| c.is_ascii_alphanumeric() || SEPARATORS.contains(&c))
    })
}

/// Whether `s` is an ISO 8601 date or date and time: `2019-03-20`, `2019-03-20T17:54:53Z`,
/// `2019-03-20 17:54:53.123+02:00`.
pub(crate) fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    if !(digits(0..4) && b.get(4) == Some(&b'-') && digits(5..7) && b.get(7) == Some(&b'-') && digits(8..10)) {
        return false;
    }
    if b.len() == 10 {
        return true;
    }
    let time = matches!(b.get(10), Some(b'T' | b't' | b' ')) && digits(11..13) && b.get(13) == Some(&b':');
    if !(time && digits(14..16)) {
        return false;
    }
    // Seconds, fractions and the zone: only digits and their marks are left.
    b[16..].iter().all(|c| c.is_ascii_digit() || matches!(c, b':' | b'.' | b'Z' | b'z' | b'+' | b'-'))
}

/// The text that `s` encodes, when `s` is padded standard base64 of at least 12 characters that
/// decodes to printable ASCII: base64 of random bytes almost never does (one chance in 2^8 for
/// each 4 characters), so such a value wraps words someone typed.
pub(crate) fn base64_text(s: &[u8]) -> Option<String> {
    if s.len() < 12 || !s.len().is_multiple_of(4) {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD.decode(s).ok()?;
    bytes.iter().all(|b| b.is_ascii_graphic() || *b == b' ').then(|| String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_keys_and_resource_paths_are_word_paths() {
        for s in [
            "kubernetes.io/hostname",
            "topology.kubernetes.io/zone",
            "argocd.argoproj.io/sync-wave",
            "remote/path",
            "path/to/file.ext",
            "role:readonly",
            "slack:my-channel",
            "guestbook:/ConfigMap:default/configmap1",
            "repo:refs_changed",
            "userpass:MPL-2.0",
            "app.k8s.io/v1beta1",
            "active_storage/disk#update",
        ] {
            assert!(is_word_path(s), "{s}");
        }
        // Tokens with a `:` or `/` keep parts that mix letters and digits, and names without
        // either are judged elsewhere.
        for s in [
            "hV7mQ2xR9pLk4sNw8bTz",
            "argocd-k8s-auth",
            "user:Xk3v9Qm2LpW7",
            "AKIA4Q:9f8e7d6c5b4a",
            "dXNlcjpw/YXNz9q8e",
            "a1b2c3/d4e5f6",
            "1234:abcd",
            "ab:12345",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzKQ",
            "x9ab3/q7rs2",
        ] {
            assert!(!is_word_path(s), "{s}");
        }
    }

    #[test]
    fn dotted_and_dashed_names_of_words_are_word_names() {
        for s in ["argocd-k8s-auth", "bitbucketv1.BasicAuth", "apis/application/v1alpha1.SecretRef", "i18n-keys_v2"] {
            assert!(is_word_name(s), "{s}");
        }
        for s in ["hostname", "a1b2c3-d4e5", "Xk3v9Qm2-LpW7", "ghp_wJalrXUtnFEMI", "AbCdEf-ghijkl"] {
            assert!(!is_word_name(s), "{s}");
        }
        assert!(is_word_list("bytes,1,opt,name=key,proto3") && is_word_list("json,omitempty"));
        assert!(!is_word_list("Xk3v9Qm2,LpW7") && !is_word_list("a=Xk3v9Qm2LpW7q,b") && !is_word_list("word"));
        assert!(is_file_name("935365775.html") && is_file_name("tokens-939515499.html"));
        assert!(!is_file_name("Xk3v9Qm2LpW7.q8") && !is_file_name(".html") && !is_file_name("a b.html"));
    }

    #[test]
    fn iso_dates_and_times_are_timestamps() {
        for s in ["2019-03-20", "2019-03-20T17:54:53Z", "2019-03-20 17:54", "2024-01-02T03:04:05.678+02:00"] {
            assert!(is_timestamp(s), "{s}");
        }
        for s in ["2019-03-2", "2019-03-20T17", "2019-03-20Tab:cd", "2019-03-20x", "20190320175453Z1a2b"] {
            assert!(!is_timestamp(s), "{s}");
        }
    }

    #[test]
    fn base64_of_typed_text_decodes_and_of_random_bytes_does_not() {
        assert_eq!(base64_text(b"dGVzdC1wYXNzd29yZA==").as_deref(), Some("test-password"));
        assert_eq!(base64_text(b"c3Ryb25nLXBhc3N3b3Jk").as_deref(), Some("strong-password"));
        // Random bytes, unpadded or short values, and other alphabets are left alone.
        assert_eq!(base64_text(b"UW03dlh6MnBMazl3UnQ0c0hu\xff"), None);
        assert_eq!(base64_text(b"q83vEjRWeJq8/+7d"), None);
        assert_eq!(base64_text(b"dGVzdA=="), None);
        assert_eq!(base64_text(b"dGVzdC1wYXNzd29yZA"), None);
    }
}
