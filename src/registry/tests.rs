//! Tests of the registry file model: parsing, keys, deadlines, parallel parsing.

mod unit {
    use super::super::*;

    fn sample(extra: &str) -> String {
        let key = STANDARD.encode([7u8; 32]);
        let fp = hex::encode(keyed_hash(&[7u8; 32], b"tok_abcdefghijklmnop"));
        format!(
            "version = 1\nkey = \"{key}\"\n\n[[token]]\nid = \"acme\"\nfingerprint = \"hmac-sha256:{fp}\"\nlength = 20\nnda = \"NDA-1\"\ncounterparty = \"Acme\"\nowner = \"team@corp.test\"\nissued = 2026-01-10\nexpires = \"2026-07-10\"\nrotate_every = \"90d\"\nreport_within = \"24h\"\nrevoke_within = \"4h\"\n{extra}"
        )
    }

    #[test]
    fn parses_entries_with_dates_and_durations() {
        let r = Registry::parse("r.toml", &sample("")).expect("valid");
        assert_eq!(r.entries.len(), 1);
        let e = &r.entries[0];
        assert_eq!(e.line, 4);
        assert_eq!(e.report_within, Duration::hours(24));
        assert_eq!(breach::format_time(e.rotation_due().expect("due")), "2026-04-10T00:00:00Z");
        assert!(r.lookup(b"tok_abcdefghijklmnop").is_some());
        assert!(r.lookup(b"tok_abcdefghijklmnoq").is_none());
    }

    #[test]
    fn errors_name_file_entry_and_field() {
        let bad = sample("").replace("\"24h\"", "\"24 hours\"");
        let e = Registry::parse("r.toml", &bad).unwrap_err().to_string();
        assert!(e.starts_with("r.toml:4:") && e.contains("\"acme\"") && e.contains("report_within"), "{e}");
        let bad = sample("").replace("hmac-sha256:", "sha1:");
        let e = Registry::parse("r.toml", &bad).unwrap_err().to_string();
        assert!(e.contains("fingerprint"), "{e}");
        let bad = sample("").replace("version = 1", "version = 2");
        let e = Registry::parse("r.toml", &bad).unwrap_err().to_string();
        assert!(e.contains("unsupported registry version 2"), "{e}");
        let dup = format!("{}\n{}", sample(""), &sample("")[sample("").find("[[token]]").unwrap_or(0)..]);
        let e = Registry::parse("r.toml", &dup).unwrap_err().to_string();
        assert!(e.contains("duplicate id"), "{e}");
        let unknown = sample("colour = \"red\"\n");
        let e = Registry::parse("r.toml", &unknown).unwrap_err().to_string();
        assert!(e.contains("colour"), "{e}");
    }

    #[test]
    fn an_external_key_comes_from_a_key_file_and_a_wrong_key_is_refused() {
        let key = [9u8; 32];
        let text = sample("").replace(&STANDARD.encode([7u8; 32]), &format!("external:{}", key_id(&key)));
        let text = text.replace(
            &hex::encode(keyed_hash(&[7u8; 32], b"tok_abcdefghijklmnop")),
            &hex::encode(keyed_hash(&key, b"tok_abcdefghijklmnop")),
        );
        let mut r = Registry::parse("r.toml", &text).expect("valid");
        assert!(r.key.is_empty());
        assert_eq!(r.key_mode, KeyMode::External { check: Some(key_id(&key)) });
        let dir = tempfile::tempdir().expect("tempdir");
        let good = dir.path().join("good.key");
        std::fs::write(&good, format!("{}\n", STANDARD.encode(key))).expect("write");
        let bad = dir.path().join("bad.key");
        std::fs::write(&bad, STANDARD.encode([8u8; 32])).expect("write");
        // The environment variable is not set in unit tests (the integration tests set it).
        if std::env::var_os(KEY_ENV).is_none() {
            let e = r.resolve_key(None).unwrap_err().to_string();
            assert!(e.contains(KEY_ENV) && e.contains("registry_key_file"), "{e}");
            let e = r.resolve_key(Some(&bad)).unwrap_err().to_string();
            assert!(e.contains("not the registry's key"), "{e}");
            r.resolve_key(Some(&good)).expect("the right key");
            assert!(r.lookup(b"tok_abcdefghijklmnop").is_some());
        }
        let plain = sample("").replace(&STANDARD.encode([7u8; 32]), "external");
        assert_eq!(Registry::parse("r.toml", &plain).expect("valid").key_mode, KeyMode::External { check: None });
        let e =
            Registry::parse("r.toml", &sample("").replace(&STANDARD.encode([7u8; 32]), "external:xyz")).unwrap_err();
        assert!(e.to_string().contains("external:<16 hex digits>"), "{e}");
    }

    #[test]
    fn breach_deadlines_and_flags() {
        let r = Registry::parse("r.toml", &sample("")).expect("valid");
        let now = breach::parse_date("2026-08-01T10:00:00Z").expect("time");
        let b = r.entries[0].breach(&breach::Clock::fresh(now), breach::parse_date("2026-07-01").expect("date"));
        assert_eq!(b.report_by, "2026-08-02T10:00:00Z");
        assert_eq!(b.revoke_by.as_deref(), Some("2026-08-01T14:00:00Z"));
        assert_eq!(b.report_hours_left, 24);
        assert_eq!(b.revoke_hours_left, Some(4));
        assert!(b.lifetime_exceeded);
        assert!(!b.revoked);
        let revoked =
            Registry::parse("r.toml", &sample("status = \"revoked\"\nrevoked_at = \"2026-07-20\"\n")).expect("valid");
        let b = revoked.entries[0].breach(&breach::Clock::fresh(now), now);
        assert!(b.revoked);
        assert_eq!(b.revoke_by, None);
    }
}
mod parallel {
    use super::super::*;

    #[test]
    fn a_large_registry_parses_in_parts_with_the_same_result() {
        let key = STANDARD.encode([3u8; 32]);
        let mut text = format!("version = 1\nkey = \"{key}\"\n");
        for i in 0..3000 {
            let fp = hex::encode(keyed_hash(&[3u8; 32], format!("token-number-{i:08}").as_bytes()));
            text.push_str(&format!(
                "\n[[token]]\nid = \"t{i}\"\nfingerprint = \"hmac-sha256:{fp}\"\nlength = 20\nnda = \"N\"\ncounterparty = \"C\"\nowner = \"O\"\nreport_within = \"1h\"\nrevoke_within = \"2h\"\n"
            ));
        }
        assert!(text.len() >= PARALLEL_PARSE_MIN);
        let parallel = Registry::parse_parallel("r.toml", &text).expect("parallel parse succeeds");
        let whole = Registry::parse_part("r.toml", &text, 0, true).expect("whole parse");
        assert_eq!(parallel.entries.len(), 3000);
        assert_eq!(parallel.key, whole.key);
        for (a, b) in parallel.entries.iter().zip(&whole.entries) {
            assert_eq!((&a.id, a.line, a.fingerprint), (&b.id, b.line, b.fingerprint));
        }
        // An error in a later part is reported with the file's own line number.
        let bad =
            text.replacen("id = \"t2999\"\nfingerprint = \"hmac-sha256:", "id = \"t2999\"\nfingerprint = \"sha1:", 1);
        let e = Registry::parse("r.toml", &bad).unwrap_err().to_string();
        let line = bad[..bad.find("id = \"t2999\"").unwrap_or(0)].matches('\n').count();
        assert!(e.starts_with(&format!("r.toml:{line}:")), "{e} (expected line {line})");
    }
}
