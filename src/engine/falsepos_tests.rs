//! Tests of the false-positive filters and value models.

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
fn templates_are_placeholders_as_a_whole() {
    for p in [
        "<password>",
        "<your token>",
        "sk_live_<stripe-key>",
        "Bearer <access_token>",
        "<%= ENV['DB_PASSWORD'] %>",
        "${DB_PASSWORD}",
        "${DB_PASSWORD:-secret}",
        "prefix-${env.TOKEN}-suffix",
        "${{ secrets.DEPLOY_TOKEN }}",
        "{{ .Values.apiToken }}",
        "{{vault_db_password}}",
        "{{ lookup('env', 'TOKEN') }}",
        "%(db_password)s",
        "x</value>",
    ] {
        assert!(is_placeholder(p.as_bytes()), "{p}");
    }
    // Random values that hold `<`, `>`, `{{`, `}}` or `${` without forming a template.
    for v in ["q7<Lm2>x9Vb4!kR8", "Zx{{9v#2}}Lm<8q", "H7x${9kq}2Lm4Zp", "aB3>9x{{Q%7"] {
        assert!(!is_placeholder(v.as_bytes()), "{v}");
    }
}

#[test]
fn random_wordpress_salts_are_not_placeholders() {
    // WordPress salts (`define('AUTH_KEY', '…')`) are 64 characters drawn from letters, digits
    // and the punctuation of wp_generate_password, `<`, `>`, `{` and `}` included: about three
    // in four hold one of them. A template filter must judge slots, not characters.
    const ALPHABET: &[u8] =
        b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!@#$%^&*()-_ []{}<>~`+=,.;:/?|";
    let mut rng = crate::testutil::XorShift::new(0x6a09_e667_f3bc_c908u64);
    let salts: Vec<Vec<u8>> =
        (0..400).map(|_| (0..64).map(|_| ALPHABET[(rng.next() % ALPHABET.len() as u64) as usize]).collect()).collect();
    let marked = salts.iter().filter(|s| s.iter().any(|b| b"<>{}$".contains(b))).count();
    assert!(marked > 250, "{marked} salts hold a template character");
    let rejected: Vec<String> =
        salts.iter().filter(|s| is_placeholder(s)).map(|s| String::from_utf8_lossy(s).into_owned()).collect();
    // A few hold `%s`, `xxxx` or a real-looking slot by chance; not more than 2%.
    assert!(rejected.len() <= 8, "{} of 400 salts taken for placeholders: {rejected:?}", rejected.len());
}

#[test]
fn django_secret_keys_with_a_printf_slot_are_not_templates() {
    // Django draws SECRET_KEY from `a-z0-9!@#$%^&*(-_=+)`: `%s` and `%d` turn up in generated
    // keys. In a value that long without a space they are not a format string's slots.
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789!@#$%^&*(-_=+)";
    let mut rng = crate::testutil::XorShift::new(0x3c6e_f372_fe94_f82bu64);
    let mut keys = 0;
    while keys < 50 {
        let key: Vec<u8> = (0..50).map(|_| ALPHABET[(rng.next() % ALPHABET.len() as u64) as usize]).collect();
        if key.windows(2).any(|w| w == b"%s" || w == b"%d") {
            keys += 1;
            assert!(!has_template(&key), "{}", String::from_utf8_lossy(&key));
        }
    }
    for p in [
        "Bearer %s",
        "token_%s",
        "%s:%s",
        "https://%s@api.internal.net/v1/%d",
        "Authorization: Token %s for the account",
    ] {
        assert!(has_template(p.as_bytes()), "{p}");
    }
}

#[test]
fn django_unusable_password_mark_is_no_secret() {
    use crate::rules::ValueModel::{Password, Secret};
    let mark = "!UckdeIhrtqUKUCga9hFj4mEi7Nz3YhZmxwdCIysK";
    let line = format!("\"password\": \"{mark}\"");
    assert!(!fits(Secret, &line, mark, "users.json"));
    assert!(!fits(Password, &line, mark, "users.json"));
    // One character more or less is not Django's mark.
    let longer = format!("{mark}x");
    assert!(fits(Secret, &format!("\"password\": \"{longer}\""), &longer, "users.json"));
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
        "00000000-0000-0000-0000-000000000000",
        "00000000000000000000000000000000",
        "sha512-abcdefg",
        "get_password()",
        "settings.SECRET_KEY",
        "MY_SECRET_NAME",
        "/etc/ssl/private/key.pem",
        "pbkdf2_sha256$30000$Vo0VlMnkR4Bk$qEvtdyZRWTcOsCnI/oQ7fVOu1XAURIZYoOZ3iq8Dr4M=",
        // In pieces, so that the scan of this repository does not report a well-formed hash.
        concat!("$2b$12$", "KIXQJQb7Ff8s0Yb3sFQ2Ue7b6m1Fh6k8Q2Yy0sS4tRz8aWq9Lx1Ay"),
        "FORBIDDEN_VALUE2",
        "max_retry_count3",
    ] {
        assert!(is_generic_noise(n.as_bytes()), "{n}");
    }
    assert!(!is_generic_noise(b"hV7mQ2xR9pLk4sNw8bTz"));
    assert!(!is_generic_noise(b"Xk3_v9Qm_2LpW7"));
    // A hex or UUID token is a token where a generic rule's context says so (a bearer header).
    assert!(!is_generic_noise(b"550e8400-e29b-41d4-a716-446655440000"));
    assert!(!is_generic_noise(b"da39a3ee5e6b4b0d3255bfef95601890afd80709"));
}

fn fits(model: crate::rules::ValueModel, line: &str, value: &str, path: &str) -> bool {
    let start = line.find(value).expect("value in line");
    // The engine tries each keyword; the last one before the value names it.
    let at = ["pass", "pwd", "secret", "token", "key", "auth", "credential"]
        .iter()
        .filter_map(|k| line[..start].to_ascii_lowercase().rfind(k))
        .max()
        .unwrap_or(0);
    let a = Assignment {
        data: line.as_bytes(),
        at,
        span: start..start + value.len(),
        argument: line.contains("\", \"") || line.contains("', '"),
        path: Some(path),
    };
    value_fits(model, &a)
}

#[test]
fn secret_model_reads_the_key_and_the_value() {
    use crate::rules::ValueModel::Secret;
    let tok = "hV7mQ2xR9pLk4sNw8bTz";
    for line in [
        format!("api_token = \"{tok}\""),
        format!("var deployToken string = \"{tok}\""),
        format!("STRIPE_KEY := {tok}"),
        format!("System.setProperty(\"SERVICE_SECRET\", \"{tok}\")"),
        format!("<add key=\"PaymentApiKey\" value=\"{tok}\" />"),
        "client_secret = \"0dd1c570d7579ea44a1f8bb034262aa0\"".to_string(),
    ] {
        let value = line.split(['"', ' ']).find(|w| w.len() >= 20).expect("value");
        // Make's `:=` is not code; in a `.py` file the same unquoted value is an expression.
        let path = if line.contains(":=") { "Makefile" } else { "app.py" };
        assert!(fits(Secret, &line, value, path), "{line}");
    }
    assert!(!fits(Secret, &format!("STRIPE_KEY := {tok}"), tok, "app.py"));
    for (line, value) in [
        (format!("token_id = \"{tok}\""), tok),
        (format!("publicToken = \"{tok}\""), tok),
        (format!("csrf_token: {tok}"), tok),
        (format!("cache_key = \"{tok}\""), tok),
        (format!("key = \"{tok}\""), tok),
        ("SECRET_NAME = \"Ed25519.BlindKeySignatures\"".to_string(), "Ed25519.BlindKeySignatures"),
        ("token = \"AgencyIdentificationCodeContentType\"".to_string(), "AgencyIdentificationCodeContentType"),
        ("auth_token = \"Summer2024!\"".to_string(), "Summer2024!"),
        ("fields = [\"email\", \"password\", \"date_of_birth3\"]".to_string(), "date_of_birth3"),
    ] {
        assert!(!fits(Secret, &line, value, "app.py"), "{line}");
    }
}

#[test]
fn a_key_names_what_stands_before_its_preposition() {
    use crate::rules::ValueModel::{Password, Secret};
    let tok = "hV7mQ2xR9pLk4sNw8bTz";
    // The head names a secret; what follows says whose or what for.
    for line in [
        format!("tokenForUser = \"{tok}\""),
        format!("api_key_for_billing: \"{tok}\""),
        format!("signInToken = \"{tok}\""),
        format!("secretOfTheApp = \"{tok}\""),
    ] {
        assert!(fits(Secret, &line, tok, "app.py"), "{line}");
    }
    // The head names a path, a vault, a hint: the secret word only says what it is about.
    for line in [
        format!("pathToToken = \"{tok}\""),
        format!("keyVaultToStoreSecrets: \"{tok}\""),
        format!("name_of_secret: \"{tok}\""),
    ] {
        assert!(!fits(Secret, &line, tok, "app.py"), "{line}");
    }
    assert!(fits(Password, "password_for_db: winter42", "winter42", "config.yml"));
    assert!(!fits(Password, "hint_for_password: winter42", "winter42", "config.yml"));
}

#[test]
fn documented_example_keys_are_placeholders_for_every_rule() {
    // The key of Stripe's API reference and the Azure storage emulator's well-known key.
    assert!(is_placeholder(b"sk_test_BQokikJOvBiI2HlWgH4olfQ2"));
    assert!(is_placeholder(
        b"AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
    ));
    assert!(!is_placeholder(b"sk_test_hV7mQ2xR9pLk4sNw8bTzQ2xR"));
}

#[test]
fn password_model_reports_weak_passwords_but_not_placeholders() {
    use crate::rules::ValueModel::Password;
    for (line, value, path) in [
        ("DB_PASSWORD=winter42", "winter42", ".env"),
        ("password: Summer2024!", "Summer2024!", "config.yml"),
        ("define('DB_PASSWORD', 'wordpress7');", "wordpress7", "wp-config.php"),
        ("\"Server=db;User Id=app;Password=bluefish9;Encrypt=true\"", "bluefish9", "Db.cs"),
    ] {
        assert!(fits(Password, line, value, path), "{line}");
    }
    for (line, value, path) in [
        ("password: changeme", "changeme", "config.yml"),
        ("password = \"${DB_PASSWORD}\"", "${DB_PASSWORD}", "app.py"),
        ("password: \"********\"", "********", "config.yml"),
        ("password: your_password", "your_password", "config.yml"),
        ("password: test123", "test123", "config.yml"),
        ("password = 'P@ssw0rd'", "P@ssw0rd", "app.py"),
        ("password = pwd_input", "pwd_input", "app.py"),
        ("PASSWORD=password", "password", ".env"),
        ("server->password = \"anonymous@\"", "anonymous@", "ftp.c"),
        ("encode(\"password\", \"salt42x\")", "salt42x", "test.py"),
        ("<input type=\"password\" name=\"field4x\">", "field4x", "form.html"),
    ] {
        assert!(!fits(Password, line, value, path), "{line}");
    }
}

#[test]
fn a_weak_password_with_a_typed_run_is_reported_a_typed_run_alone_is_not() {
    use crate::rules::ValueModel::Password;
    // A word and a typed run: the weak passwords people use.
    for (line, value, path) in
        [("password = 'lantern123456'", "lantern123456", "settings.py"), ("DB_PASS=Harbor1234!", "Harbor1234!", ".env")]
    {
        assert!(fits(Password, line, value, path), "{line}");
    }
    // Typed runs, digits and marks and nothing else: what documentation writes in the slot.
    for (line, value) in [
        ("password = 'abcd1234'", "abcd1234"),
        ("password = 'Qwer1990asdf!'", "Qwer1990asdf!"),
        ("password: 12345678", "12345678"),
    ] {
        assert!(!fits(Password, line, value, "settings.yml"), "{line}");
    }
    assert_eq!(letters_beside_typed_runs("lantern123456"), 7);
    assert_eq!(letters_beside_typed_runs("Qwer1990asdf!"), 0);
}

#[test]
fn malformed_bot_tokens() {
    assert!(is_malformed_bot_token(b"9548:Almxw43nkluq8roqhzps17k9su5y1akd32_"));
    assert!(is_malformed_bot_token(b"65425877:Ahello1b28kfcxuzk1phu00k-59fr94bu-gr_2z_"));
    assert!(!is_malformed_bot_token(b"110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"));
    assert!(!is_malformed_bot_token(b"abc:def"));
    // Stubs: the id and `A`, then nothing or one letter.
    assert!(is_malformed_bot_token(b"794031562:A"));
    assert!(is_malformed_bot_token(b"794031562:Ab"));
    // Not the shape: a year and a word, a lowercase tail.
    assert!(!is_malformed_bot_token(b"2024:Admin"));
    assert!(!is_malformed_bot_token(b"794031562:apple"));
}

#[test]
fn keys_that_say_the_value_is_not_real_hold_no_secret() {
    use crate::rules::ValueModel::{Password, Secret};
    let tok = "hV7mQ2xR9pLk4sNw8bTz";
    for line in [
        format!("fake_token = \"{tok}\""),
        format!("invalidApiKey = \"{tok}\""),
        format!("nonMatchingToken := \"{tok}\""),
        format!("MOCK_SECRET: {tok}"),
        format!("wrong_secret = \"{tok}\""),
    ] {
        assert!(!fits(Secret, &line, tok, "settings.conf"), "{line}");
    }
    assert!(!fits(Password, "wrong_password: winter42", "winter42", "config.yml"));
    assert!(!fits(Password, "bad_password = 'winter42'", "winter42", "test_login.py"));
    // Words that merely contain one of them are not them.
    assert!(fits(Secret, &format!("notification_token = \"{tok}\""), tok, "settings.conf"));
    assert!(fits(Secret, &format!("badge_secret = \"{tok}\""), tok, "settings.conf"));
}

#[test]
fn hex_with_letters_of_both_cases_is_not_a_token() {
    use crate::rules::ValueModel::Secret;
    // Hex digits in one case are a token; the same digits with one letter's case changed are
    // an edited value.
    let lower = "4c1f0e5b9a7d3c2e8f6a0b1d9e3c5a7f2b4d6e8a";
    let mixed = "4c1f0e5b9a7d3C2e8f6a0b1d9e3c5a7f2b4d6e8a";
    assert!(fits(Secret, &format!("meraki_api_key: {lower}"), lower, "config.yml"));
    assert!(fits(Secret, &format!("meraki_api_key: {}", lower.to_uppercase()), &lower.to_uppercase(), "config.yml"));
    assert!(!fits(Secret, &format!("meraki_api_key: {mixed}"), mixed, "config.yml"));
    assert!(!is_generic_noise(lower.as_bytes()));
    assert!(is_generic_noise(mixed.as_bytes()));
    // Random text of a wider alphabet is reported as before.
    assert!(fits(
        Secret,
        "api_key: 4c1f0e5b9a7d3C2e8f6a0bRd9e3c5a7f",
        "4c1f0e5b9a7d3C2e8f6a0bRd9e3c5a7f",
        "config.yml"
    ));
}

#[test]
fn a_password_placeholder_under_a_password_key_is_no_secret() {
    use crate::rules::ValueModel::{Password, Secret};
    // The password model calls these placeholders; the secret model, which also reads
    // password keys, agrees instead of reporting them as random-looking secrets.
    for (line, value) in [
        ("\"PASSWORD\": \"superS3cret\",", "superS3cret"),
        ("db_password = \"MyS3cretPassw0rd!\"", "MyS3cretPassw0rd!"),
        ("password: \"Test1234Pwd!x\"", "Test1234Pwd!x"),
    ] {
        assert!(!fits(Password, line, value, "settings.yml"), "{line}");
        assert!(!fits(Secret, line, value, "settings.yml"), "{line}");
    }
    // Under a token's key the password placeholder words are not read: `test` is in real
    // tokens of some providers.
    assert!(fits(Secret, "api_token = \"Kq7test9XvB2mLp4Rz8W\"", "Kq7test9XvB2mLp4Rz8W", "settings.yml"));
    assert!(fits(Secret, "db_password = \"Kq7vX9wB2mLp4Rz8Wt3N\"", "Kq7vX9wB2mLp4Rz8Wt3N", "settings.yml"));
}

#[test]
fn placeholder_words_interrupted_by_marks_are_still_placeholders() {
    use crate::rules::ValueModel::Password;
    for (line, value) in [
        ("password = \"foo$bar\"", "foo$bar"),
        ("\"PASSWORD\": \"veryPriv@ate\",", "veryPriv@ate"),
        ("\"password\": \"pass\\0word\",", "pass\\0word"),
        ("password: se.cret-42", "se.cret-42"),
        ("\"PASSWORD\": \"spam\",", "spam"),
        ("password = \"swordfish\"", "swordfish"),
        ("\"password\": \"incorrect\",", "incorrect"),
        ("old_password: Inval1d!", "Inval1d!"),
    ] {
        assert!(!fits(Password, line, value, "settings.yml"), "{line}");
    }
    // Weak passwords that are not placeholder words are still reported.
    for (line, value) in [("password = \"bluefish9\"", "bluefish9"), ("password: Tr!cky-Fox_42", "Tr!cky-Fox_42")] {
        assert!(fits(Password, line, value, "settings.yml"), "{line}");
    }
}

#[test]
fn json_written_inside_a_string_keeps_its_escaped_quotes_paired() {
    use crate::rules::ValueModel::Secret;
    let tok = "hV7mQ2xR9pLk4sNw8bTz";
    let line = format!("String body = \"{{\\\"serviceSecretKey\\\":\\\"{tok}\\\"}}\";");
    assert!(fits(Secret, &line, tok, "Client.java"), "{line}");
    // An escaped quote opens the value and a plain one closes it: not one string.
    let line = format!("x = \\\"service_secret\\\":\\\"{tok}\" + y");
    assert!(!fits(Secret, &line, tok, "Client.java"), "{line}");
}

#[test]
fn names_paths_dates_and_wrapped_placeholders_under_secret_keys_are_no_secrets() {
    use crate::rules::ValueModel::{Password, Secret};
    // Kubernetes label keys, annotation keys, resource paths, `scheme:name` pairs, protobuf
    // options in a Go struct tag, dates, and base64 wrapping a name: none is a secret.
    for (line, value) in [
        ("            topologyKey: kubernetes.io/hostname", "kubernetes.io/hostname"),
        ("  topologyKey: topology.kubernetes.io/zone", "topology.kubernetes.io/zone"),
        ("\tAnnotationKeyRefresh = \"argocd.argoproj.io/refresh\"", "argocd.argoproj.io/refresh"),
        ("  secretKey: remote/path", "remote/path"),
        ("\tsecret: guestbook:/ConfigMap:default/configmap1", "guestbook:/ConfigMap:default/configmap1"),
        ("ClusterSecretName = \"argocd-k8s-auth\"", "argocd-k8s-auth"),
        ("x `protobuf_key:\"bytes,1,opt,name=key,proto3\"`", "bytes,1,opt,name=key,proto3"),
        ("{\"secret\": \"2019-03-20T17:54:53Z\"}", "2019-03-20T17:54:53Z"),
        ("token: aGVsbG8td29ybGQ=", "aGVsbG8td29ybGQ="),
    ] {
        assert!(!fits(Secret, line, value, "app.yaml"), "{line}");
    }
    assert!(!fits(Password, "{\"password\": \"2019-03-20T17:54:53Z\"}", "2019-03-20T17:54:53Z", "a.json"));
    assert!(!fits(Password, "password: --account", "--account", "a.yaml"));
    // Random values with the same marks still are.
    for (line, value) in [
        ("  secretKey: Xk3v9Qm2/LpW7hQ2xR9pL", "Xk3v9Qm2/LpW7hQ2xR9pL"),
        ("token: dXNlcjpYazN2OVFtMkxwVzc=", "dXNlcjpYazN2OVFtMkxwVzc="),
        ("{\"password\": \"2019-03-20\"}", "2019-03-20"),
    ] {
        let model = if line.contains("password") { Password } else { Secret };
        assert!(fits(model, line, value, "app.yaml"), "{line}");
    }
}

#[test]
fn base64_wrapping_a_placeholder_is_a_placeholder_for_every_rule() {
    // `test-password`, `admin:password`, JSON with a fake token: placeholders once decoded.
    for s in ["dGVzdC1wYXNzd29yZA==", "YWRtaW46cGFzc3dvcmQ=", "eyJiZWFyZXJUb2tlbiI6ImZha2UifQ=="] {
        assert!(is_placeholder(s.as_bytes()), "{s}");
    }
    // `user:Xk3v9Qm2LpW7` and random bytes are not.
    for s in ["dXNlcjpYazN2OVFtMkxwVzc=", "UW03dlh6MnBMazl3UnQ0c0hu", "q83vEjRWeJq8/+7d"] {
        assert!(!is_placeholder(s.as_bytes()), "{s}");
    }
}
