//! Documented example keys: keys that providers print in their own public documentation, SDK
//! tests and code samples.
//!
//! Such a key has the provider's exact format, often a valid checksum and high entropy, so no
//! shape filter can tell it from a live one; but it is a public fact, printed for everyone to
//! copy, and a finding for it is noise. Every rule skips a secret that is, or holds, one of the
//! keys below (see `falsepos::is_placeholder`). The list is short and each group names where the
//! provider prints it; README.md ("Documented example keys") says the same for users. A key goes
//! here only when the provider itself publishes it; a key leaked by someone else never does.

/// The keys, each exactly as the provider prints it, grouped by source.
const DOCUMENTED: &[&str] = &[
    // AWS: the access key pairs of the IAM, CLI and SDK documentation.
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AKIAI44QH8DHBEXAMPLE",
    "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
    // Stripe: the sample test-mode keys of the API reference (docs.stripe.com/api/authentication)
    // and of the getting-started guides.
    "sk_test_BQokikJOvBiI2HlWgH4olfQ2",
    "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
    "pk_test_TYooMQauvdEDq54NiTphI7jx",
    // Google Maps Platform: the key of the Maps JavaScript API code samples
    // (developers.google.com/maps/documentation/javascript/examples, googlemaps/js-samples).
    "AIzaSyB41DRUbKWJHPxaFjMAwdrzWzbVKartNGg",
    // Firebase Android SDK (github.com/firebase/firebase-android-sdk): the example key in the
    // `FirebaseOptions` API documentation, then the keys of the SDK's own tests and demo
    // `google-services.json` files (read at commit a089298ed9; the last two are the fixtures of
    // the Storage tests of 2019 and earlier).
    "AIzaSyDdVgKwhZl0sTTTLZ7iTmt1r3N2cJLnaDk",
    "AIzaSyD3asb-2pEZVqMkmL6M9N6nHZRR_znhrh0",
    "AIzayDNSXIbFmlXbIE6mCzDLQAqITYefhixbX4A",
    "AIzaSyA4UrcGxgwQFTfaI3no3t7Lt1sjmdnP5sQ",
    "AIzaSyA5_iVawFQ8ABuTZNUdcwERLJv_a_p4wtM",
    "AIzaSyANUvH9H9BsUccjsu2pCmEkOPjjaXeDQgY",
    "AIzaSyASWm6HmTMdYWpgMnjRBjxcQ9CKctWmLd4",
    "AIzaSyAdOS2zB6NCsk1pCdZ4-P6GBdi_UUPwX7c",
    "AIzaSyAnLA7NfeLquW1tJFpx_eQCxoX-oo6YyIs",
    "AIzaSyBF2RrAIm4a0mO64EShQfqfd2AFnzAvvuU",
    "AIzaSyDSb51JiIcB6OJpwwMicseKRhhrOq1cS7g",
    "AIzaSyBcE-OOIbhjyR83gm4r2MFCu4MJmprNXsw",
    "AIzaSyCkEhVjf3pduRDt6d1yKOMitrUEke8agEM",
    "AIzaSyDMAScliyLx7F0NPDEJi1QmyCgHIAODrlU",
    // Azure: the well-known account key of the storage emulators (Azurite and the legacy Azure
    // Storage Emulator, account `devstoreaccount1`), published in Microsoft's Azurite docs.
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
    // Telegram: the token format shown in the Bot API documentation (core.telegram.org/bots/api).
    "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11",
    // JWT: the default token of jwt.io's debugger (HS256, signed with `your-256-bit-secret`).
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
];

/// The shortest documented key: a secret shorter than this holds none.
const SHORTEST: usize = 20;

/// Whether `secret` is, or holds, a documented example key (a connection string or URL captured
/// whole may hold one: `AccountKey=…;`, `…?key=…`).
pub(super) fn is_documented(secret: &[u8]) -> bool {
    secret.len() >= SHORTEST && DOCUMENTED.iter().any(|k| memchr::memmem::find(secret, k.as_bytes()).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_keys_are_recognised_alone_and_inside_a_capture() {
        for k in DOCUMENTED {
            assert!(k.len() >= SHORTEST, "{k}");
            assert!(is_documented(k.as_bytes()), "{k}");
        }
        let azurite = DOCUMENTED.iter().find(|k| k.ends_with("==")).expect("the emulator key");
        let conn = format!("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={azurite};");
        assert!(is_documented(conn.as_bytes()));
    }

    #[test]
    fn other_keys_of_the_same_formats_are_not() {
        // One character changed, or a key of the same shape: a real key stays reported.
        let maps = DOCUMENTED.iter().find(|k| k.starts_with("AIza")).expect("a Google key");
        let mut changed = maps.as_bytes().to_vec();
        changed[10] = if changed[10] == b'Q' { b'R' } else { b'Q' };
        assert!(!is_documented(&changed));
        assert!(!is_documented(b"sk_test_BQokikJOvBiI2HlWgH4olfQ3"));
        assert!(!is_documented(b"AIzaSyB41DRUbKWJHPxaFjMAwdrzWzbVKart"));
    }
}
