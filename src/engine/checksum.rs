//! Named offline validators for token formats that carry a checksum or a checkable structure.
//!
//! A secret that fails its rule's validator is not a finding: a GitHub-shaped string whose CRC32
//! is wrong is a coincidence or a placeholder, not a token.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;

use crate::rules::Checksum;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Encodes `n` in base62 (`0-9A-Za-z`), most significant digit first, left-padded with `0`.
pub fn base62_padded(mut n: u32, width: usize) -> String {
    let mut digits = Vec::with_capacity(width);
    while n > 0 {
        digits.push(BASE62[(n % 62) as usize]);
        n /= 62;
    }
    while digits.len() < width {
        digits.push(b'0');
    }
    digits.reverse();
    String::from_utf8(digits).unwrap_or_default()
}

/// Whether `secret` passes the validator `kind`.
pub fn validate(kind: Checksum, secret: &[u8]) -> bool {
    match kind {
        Checksum::Crc32Base62 => crc32_base62(secret),
        Checksum::Jwt => jwt(secret),
        Checksum::PypiMacaroon => pypi_macaroon(secret),
        Checksum::PemBody => pem_body(secret),
        Checksum::Base64 => STANDARD.decode(strip_ws(secret)).map(|d| d.len() >= 16).unwrap_or(false),
    }
}

/// GitHub/npm style: `<prefix>_<30 chars><6 chars base62 CRC32 of the 30 chars>`.
fn crc32_base62(secret: &[u8]) -> bool {
    let body = match secret.iter().rposition(|&b| b == b'_') {
        Some(i) => &secret[i + 1..],
        None => secret,
    };
    if body.len() < 7 || !body.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    let (payload, check) = body.split_at(body.len() - 6);
    let payload = if payload.len() > 30 { &payload[payload.len() - 30..] } else { payload };
    base62_padded(crc32fast::hash(payload), 6).as_bytes() == check
}

fn decode_b64url(part: &[u8]) -> Option<Vec<u8>> {
    let trimmed: Vec<u8> = part.iter().copied().filter(|&b| b != b'=').collect();
    URL_SAFE_NO_PAD.decode(trimmed).ok()
}

fn jwt(secret: &[u8]) -> bool {
    let mut parts = secret.split(|&b| b == b'.');
    let (Some(h), Some(p), Some(_sig)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let Some(header) = decode_b64url(h) else { return false };
    let Ok(serde_json::Value::Object(hmap)) = serde_json::from_slice::<serde_json::Value>(&header) else {
        return false;
    };
    if !hmap.contains_key("alg") {
        return false;
    }
    let Some(payload) = decode_b64url(p) else { return false };
    matches!(serde_json::from_slice::<serde_json::Value>(&payload), Ok(serde_json::Value::Object(_)))
}

fn pypi_macaroon(secret: &[u8]) -> bool {
    let Some(rest) = secret.strip_prefix(b"pypi-") else { return false };
    // Decode only a prefix: the header is in the first bytes.
    let take = rest.len().min(64) / 4 * 4;
    let Some(bytes) = decode_b64url(&rest[..take]) else { return false };
    bytes.starts_with(b"\x02\x01\x08pypi.org") || bytes.starts_with(b"\x02\x01\x0dtest.pypi.org")
}

fn strip_ws(data: &[u8]) -> Vec<u8> {
    data.iter().copied().filter(|b| !b.is_ascii_whitespace() && *b != b'\\').collect()
}

/// A PEM/OpenSSH block: the base64 lines between the BEGIN and END lines (skipping header lines
/// such as `Proc-Type:`) must decode to at least 64 bytes.
fn pem_body(secret: &[u8]) -> bool {
    let text = String::from_utf8_lossy(secret);
    // Literal "\n" sequences appear when a key is embedded in JSON or code strings.
    let text = text.replace("\\n", "\n").replace("\\r", "");
    let mut body = String::new();
    let mut inside = false;
    for line in text.lines() {
        let line = unconcatenated(line.trim()).trim_matches(|c| c == '"' || c == '\'' || c == ',');
        if line.starts_with("-----BEGIN") {
            inside = true;
            continue;
        }
        if line.starts_with("-----END") {
            break;
        }
        if inside && !line.contains(':') && !line.is_empty() {
            // PGP armour ends with a "=XXXX" CRC line.
            if line.starts_with('=') && line.len() <= 5 {
                continue;
            }
            body.push_str(line);
        }
    }
    let cleaned = strip_ws(body.as_bytes());
    match STANDARD.decode(&cleaned) {
        Ok(bytes) => bytes.len() >= 64 && distinct(&bytes) > 16,
        Err(_) => false,
    }
}

/// A line of a key written as concatenated string literals (`"MIIE…" +` in Java, C# or
/// JavaScript, `+ "MIIE…"`), without the `+`. A `+` that is not next to a quote is base64.
fn unconcatenated(line: &str) -> &str {
    let quoted = |l: &str| l.starts_with(['"', '\'']) && l.ends_with(['"', '\'']);
    let line = line.strip_suffix('+').map(str::trim_end).filter(|l| quoted(l)).unwrap_or(line);
    line.strip_prefix('+').map(str::trim_start).filter(|l| quoted(l)).unwrap_or(line)
}

fn distinct(bytes: &[u8]) -> usize {
    let mut seen = [false; 256];
    bytes.iter().for_each(|&b| seen[b as usize] = true);
    seen.iter().filter(|&&s| s).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base62_crc32_of_known_body() {
        assert_eq!(base62_padded(crc32fast::hash(b"fIkRGaBu5PeKsznMzXQOg3kETH1Sgx"), 6), "2oIfSC");
        assert!(validate(Checksum::Crc32Base62, b"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")); // ndaguard:allow (generated test token)
        assert!(!validate(Checksum::Crc32Base62, b"ghp_fIkRGaBu5PeKsznMzXQOg3kETH1Sgx2oIfSD"));
        assert!(!validate(Checksum::Crc32Base62, b"ghp_"));
    }

    #[test]
    fn jwt_structure() {
        let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let p = URL_SAFE_NO_PAD.encode(br#"{"sub":"1"}"#);
        assert!(validate(Checksum::Jwt, format!("{h}.{p}.c2lnbmF0dXJl").as_bytes()));
        let bad = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT"}"#);
        assert!(!validate(Checksum::Jwt, format!("{bad}.{p}.c2ln").as_bytes()));
        assert!(!validate(Checksum::Jwt, b"eyJhbGciOi.notbase64!.x"));
    }

    #[test]
    fn pypi_macaroon_header() {
        let mut raw = b"\x02\x01\x08pypi.org\x02\x01".to_vec();
        raw.extend_from_slice(&[7u8; 40]);
        let tok = format!("pypi-{}", URL_SAFE_NO_PAD.encode(&raw));
        assert!(validate(Checksum::PypiMacaroon, tok.as_bytes()));
        assert!(!validate(Checksum::PypiMacaroon, b"pypi-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    }

    #[test]
    fn pem_body_needs_real_base64() {
        let body = STANDARD.encode((0u8..=255).collect::<Vec<u8>>());
        let key = format!("-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----");
        assert!(validate(Checksum::PemBody, key.as_bytes()));
        assert!(!validate(Checksum::PemBody, b"-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----"));
    }

    #[test]
    fn pem_body_written_as_concatenated_strings() {
        let body = STANDARD.encode((0u8..=255).rev().collect::<Vec<u8>>());
        let lines: Vec<&str> = body.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).expect("base64")).collect();
        let java = format!(
            "\"-----BEGIN RSA PRIVATE KEY-----\\n\" +\n{}\n\"-----END RSA PRIVATE KEY-----\"",
            lines.iter().map(|l| format!("\"{l}\\n\" +")).collect::<Vec<_>>().join("\n")
        );
        assert!(validate(Checksum::PemBody, java.as_bytes()), "{java}");
        let leading = format!(
            "\"-----BEGIN RSA PRIVATE KEY-----\"\n{}\n+ \"-----END RSA PRIVATE KEY-----\"",
            lines.iter().map(|l| format!("+ \"{l}\"")).collect::<Vec<_>>().join("\n")
        );
        assert!(validate(Checksum::PemBody, leading.as_bytes()), "{leading}");
        // A body line that ends in `+` is base64, kept whole.
        assert_eq!(unconcatenated("MIIEowIBAAKCAQEA+"), "MIIEowIBAAKCAQEA+");
    }
}
