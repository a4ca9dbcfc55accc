//! Tests of the engine: anchored rules, keywords selecting rules, overlaps.

use super::*;
use crate::rules::parse_rules;

#[test]
fn anchored_rules_find_what_a_search_of_the_whole_input_finds() {
    // Every built-in example, planted (several times, in both cases) in seeded noise with
    // keyword fragments: the engine must report the same matches as the same engine with
    // every rule searched over the whole input.
    let rules = crate::rules::builtin().expect("built-in rules");
    let fast = Engine::new(rules.clone()).expect("engine");
    fast.compile_all().expect("rules compile");
    let is_anchored =
        |ri: usize| fast.compiled(ri).is_some_and(|c| matches!(c.regex, RuleRegex::Anchored(_) | RuleRegex::Tail));
    assert!((0..fast.rules.len()).filter(|&ri| is_anchored(ri)).count() >= 20, "few anchored rules");
    let generic = fast.rules.iter().position(|r| r.id == "generic-secret-assignment").expect("rule");
    assert!(is_anchored(generic));
    let mut whole = Engine::new(rules).expect("engine");
    whole.may_anchor.iter_mut().for_each(|a| *a = false);
    whole.keyword_anchors.iter_mut().for_each(|a| *a = false);
    let examples: Vec<&String> = fast.rules.iter().flat_map(|r| r.examples.iter()).collect();
    let mut rng = crate::testutil::XorShift::new(0x9e37_79b9_7f4a_7c15u64);
    let mut next = move || rng.next();
    let mut anchored_matches = 0;
    for round in 0..300 {
        let mut data = Vec::new();
        for _ in 0..(1 + round % 6) {
            let noise = (next() % 300) as usize;
            data.extend((0..noise).map(|_| b"ab =:'\"\n_-tokenpassword"[(next() % 21) as usize]));
            let ex = examples[(next() % examples.len() as u64) as usize];
            if next() % 4 == 0 {
                data.extend(ex.to_ascii_uppercase().as_bytes());
            } else {
                data.extend(ex.as_bytes());
            }
        }
        let (mut a, mut b) = (Vec::new(), Vec::new());
        fast.find(&data, Some("x.txt"), &mut Scratch::default(), &mut a);
        whole.find(&data, Some("x.txt"), &mut Scratch::default(), &mut b);
        assert_eq!(a, b, "round {round}: {:?}", String::from_utf8_lossy(&data));
        anchored_matches += a.iter().filter(|m| is_anchored(m.rule)).count();
    }
    assert!(anchored_matches > 100, "only {anchored_matches} matches of anchored rules");
}

#[test]
fn long_inputs_searched_near_keywords_give_what_a_search_of_all_of_them_gives() {
    // Built-in examples planted far apart in long inputs of seeded noise (so that rules searched
    // whole are searched in windows around their keywords): the same matches as an engine that
    // searches every input whole.
    let rules = crate::rules::builtin().expect("built-in rules");
    let fast = Engine::new(rules.clone()).expect("engine");
    let mut whole = Engine::new(rules).expect("engine");
    whole.windowed = usize::MAX;
    let examples: Vec<&String> = fast.rules.iter().flat_map(|r| r.examples.iter()).collect();
    let mut rng = crate::testutil::XorShift::new(0x2545_f491_4f6c_dd1du64);
    let mut next = move || rng.next();
    let mut found = 0;
    for round in 0..12 {
        let mut data = Vec::new();
        while data.len() < anchor::WINDOWED + 64 * 1024 {
            let noise = (next() % 20_000) as usize;
            data.extend((0..noise).map(|_| b"ab =:'\"\n_-x9Q.{}"[(next() % 16) as usize]));
            data.extend(examples[(next() % examples.len() as u64) as usize].as_bytes());
        }
        let (mut a, mut b) = (Vec::new(), Vec::new());
        fast.find(&data, Some("x.txt"), &mut Scratch::default(), &mut a);
        whole.find(&data, Some("x.txt"), &mut Scratch::default(), &mut b);
        assert_eq!(a, b, "round {round}");
        found += a.len();
    }
    assert!(found > 50, "only {found} matches");
}

fn engine(text: &str) -> Engine {
    Engine::new(parse_rules("t.toml", text, false).expect("rules")).expect("engine")
}

const RULES: &str = r#"
[[rule]]
id = "short"
name = "Short prefix"
severity = "low"
keywords = ["sk_"]
regex = '''(?P<secret>sk_[a-z]{4}_[A-Za-z0-9]{16})'''
examples = ["sk_abcd_hV7mQ2xR9pLk4sNw"]
negative_examples = ["sk_"]

[[rule]]
id = "long"
name = "Long prefix"
severity = "high"
precision = "very-high"
keywords = ["sk_live_"]
regex = '''(?P<secret>sk_live_[A-Za-z0-9]{16})'''
examples = ["sk_live_hV7mQ2xR9pLk4sNw"]
negative_examples = ["sk_live_"]

[[rule]]
id = "tok"
name = "Token word"
severity = "low"
keywords = ["token"]
regex = '''token=(?P<secret>[A-Za-z0-9]{16})'''
examples = ["token=hV7mQ2xR9pLk4sNw"]
negative_examples = ["token="]
"#;

fn ids(e: &Engine, data: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    e.find(data, Some("x.txt"), &mut Scratch::default(), &mut out);
    let mut ids: Vec<String> = out.iter().map(|m| e.rules()[m.rule].id.clone()).collect();
    ids.sort();
    ids
}

#[test]
fn a_keyword_that_prefixes_a_longer_one_still_selects_its_rules() {
    let e = engine(RULES);
    // Only "sk_live_" occurs as a keyword start; the "sk_" rule must still run.
    assert_eq!(ids(&e, b"x sk_live_hV7mQ2xR9pLk4sNw y"), vec!["long"]);
    assert_eq!(ids(&e, b"sk_live_hV7mQ2xR9pLk4sNw sk_abcd_hV7mQ2xR9pLk4sNw"), vec!["long", "short"]);
}

#[test]
fn overlapping_keywords_are_all_seen() {
    let e = engine(RULES);
    // "sk_" ... "token" overlap in "sk_token=..."; both keywords must be seen.
    assert_eq!(ids(&e, b"mask_token=hV7mQ2xR9pLk4sNw"), vec!["tok"]);
    assert_eq!(ids(&e, b"TOKEN=hV7mQ2xR9pLk4sNw token=hV7mQ2xR9pLk4sNx"), vec!["tok"]);
}

#[test]
fn overlapping_matches_keep_the_more_specific_rule() {
    let e = engine(RULES);
    assert_eq!(ids(&e, b"sk_live_hV7mQ2xR9pLk4sNw"), vec!["long"]);
}

#[test]
fn a_jwt_assigned_to_a_token_key_is_one_finding() {
    // The JWT rule and the generic assignment rule match the same value; its base64 header and
    // payload decode to text that must not give another finding either (see scan.rs).
    let rules = crate::rules::builtin().expect("built-in rules");
    let e = Engine::new(rules).expect("engine");
    let jwt = e.rules().iter().find(|r| r.id == "jwt").and_then(|r| r.examples.first()).expect("example");
    let token = jwt.rsplit(' ').next().expect("token");
    for line in [format!("token = \"{token}\""), format!("AUTH_TOKEN={token}"), format!("<token>{token}</token>")] {
        assert_eq!(ids(&e, line.as_bytes()), vec!["jwt"], "{line}");
    }
}

#[test]
fn a_generic_value_that_a_provider_rule_rejects_is_not_reported() {
    let rules = crate::rules::builtin().expect("built-in rules");
    let e = Engine::new(rules).expect("engine");
    // `sk_prod_` is no Stripe key; a GitHub token with a wrong checksum is a typo or made up.
    assert!(ids(&e, b"stripe_token = \"sk_prod_4eC39HqLyjWDarjtT1zdp7dc9Lk2\"").is_empty());
    assert!(ids(&e, b"telegram_token = \"9548:Almxw43nkluq8roqhzps17k9su5y1akd32_\"").is_empty());
    // A Telegram stub: a bot id and `A`, with nothing or one letter after it.
    for stub in ["794031562:A", "794031562:Ab", "6140279538:Ak"] {
        for line in [format!("token = \"{stub}\""), format!("TELEGRAM_BOT_TOKEN={stub}"), format!("secret: {stub}")] {
            assert!(ids(&e, line.as_bytes()).is_empty(), "{line}");
        }
    }
    assert_eq!(ids(&e, b"stripe_token = \"rq4eC39HqLyjWDarjtT1zdp7dc9Lk2\""), vec!["generic-secret-assignment"]);
}

#[test]
fn a_long_keyword_selects_its_rule_only_where_it_occurs_whole() {
    // The automaton holds keywords' first bytes only; the rest is compared where they occur.
    let e = engine(
        r#"
[[rule]]
id = "one"
name = "One"
severity = "low"
keywords = ["longkeyword_one"]
regex = '''(?P<secret>zz[0-9]{8})'''
examples = ["longkeyword_one zz12345678"]
negative_examples = ["longkeyword_one zz1234"]

[[rule]]
id = "two"
name = "Two"
severity = "low"
keywords = ["longkeyword_two"]
regex = '''(?P<secret>yy[0-9]{8})'''
examples = ["longkeyword_two yy12345678"]
negative_examples = ["longkeyword_two yy1234"]
"#,
    );
    let data = "zz48201937 yy48201937";
    assert!(ids(&e, format!("longkeyword_on {data}").as_bytes()).is_empty());
    assert!(ids(&e, format!("{data} longkeyword_tw").as_bytes()).is_empty());
    assert_eq!(ids(&e, format!("{data} LongKeyword_One").as_bytes()), vec!["one"]);
    assert_eq!(ids(&e, format!("longkeyword_two {data} longkeyword_one").as_bytes()), vec!["one", "two"]);
}

#[test]
fn a_provider_token_assigned_to_a_secret_key_is_one_finding() {
    // The provider rule and the generic assignment rule match the same value: one finding, the
    // provider's, whatever the assignment style.
    let rules = crate::rules::builtin().expect("built-in rules");
    let e = Engine::new(rules).expect("engine");
    for id in
        ["slack-bot-token", "stripe-secret-key-live", "sendgrid-api-key", "github-pat-classic", "aws-access-key-id"]
    {
        let ri = e.rules().iter().position(|r| r.id == id).unwrap_or_else(|| panic!("rule {id}"));
        let example = e.rules()[ri].examples.first().expect("example").clone();
        let mut out = Vec::new();
        e.find(example.as_bytes(), Some("x.txt"), &mut Scratch::default(), &mut out);
        let m = out.iter().find(|m| m.rule == ri).unwrap_or_else(|| panic!("{id} finds its example"));
        let token = &example[m.start..m.end];
        for line in [
            format!("token = \"{token}\""),
            format!("API_SECRET={token}"),
            format!("secret_key: '{token}'"),
            format!("<apiKey>{token}</apiKey>"),
        ] {
            assert_eq!(ids(&e, line.as_bytes()), vec![id.to_string()], "{line}");
        }
    }
}

#[test]
fn a_hex_or_uuid_bearer_token_is_reported() {
    // After `Authorization: Bearer` a value is a token by its place, hex or not.
    let rules = crate::rules::builtin().expect("built-in rules");
    let e = Engine::new(rules).expect("engine");
    let mut rng = crate::testutil::XorShift::new(0x2545_f491_4f6c_dd1du64);
    let mut hex =
        |n: usize| -> String { (0..n).map(|_| b"0123456789abcdef"[(rng.next() % 16) as usize] as char).collect() };
    let uuid = format!("{}-{}-4{}-a{}-{}", hex(8), hex(4), hex(3), hex(3), hex(12));
    for token in [hex(32), hex(40), hex(64), uuid] {
        for line in [
            format!("curl -H \"Authorization: Bearer {token}\" https://api.internal.net/v1"),
            format!("headers = {{'Authorization': 'Token {token}'}}"),
        ] {
            assert_eq!(ids(&e, line.as_bytes()), vec!["http-bearer-token"], "{line}");
        }
    }
    // Not tokens: a variable, a placeholder, one repeated character.
    for line in [
        "Authorization: Bearer $ACCESS_TOKEN_VALUE",
        "Authorization: Bearer <token>",
        "Authorization: Bearer 00000000000000000000000000000000",
    ] {
        assert!(ids(&e, line.as_bytes()).is_empty(), "{line}");
    }
}

#[test]
fn a_rule_without_keywords_runs_on_the_files_its_path_names() {
    let e = engine(
        r#"
[[rule]]
id = "keyfile"
name = "Key file"
severity = "high"
keywords = []
path = '''(?:^|/)deploy\.key$'''
example_path = "conf/deploy.key"
regex = '''(?m)^(?P<secret>[0-9a-f]{32})$'''
examples = ["4be0c19a7d2e8f3b6a5c1d9e0f7a2b84"]
negative_examples = ["4be0c19a"]
"#,
    );
    let data = b"4be0c19a7d2e8f3b6a5c1d9e0f7a2b84\n";
    let run = |path: Option<&str>| {
        let mut out = Vec::new();
        e.find(data, path, &mut Scratch::default(), &mut out);
        out.len()
    };
    assert_eq!(run(Some("conf/deploy.key")), 1);
    assert_eq!(run(Some("conf/deploy.txt")), 0);
    assert_eq!(run(None), 0);
}

#[test]
fn a_typed_run_is_a_placeholder_except_in_a_slot_that_names_the_provider() {
    let e = engine(
        r#"
[[rule]]
id = "named"
name = "Acme credential named in context"
severity = "high"
keywords = ["acme_key"]
regex = '''acme_key=(?P<secret>[a-z0-9]{28})'''
tags = ["acme", "provider-context"]
examples = ["acme_key=hv7mq2xr9plk4snw8btzq2xr3c5d"]
negative_examples = ["acme_key="]

[[rule]]
id = "shape"
name = "Acme token by its prefix"
severity = "high"
keywords = ["acm_"]
regex = '''(?P<secret>acm_[a-z0-9]{28})'''
examples = ["acm_hv7mq2xr9plk4snw8btzq2xr3c5d"]
negative_examples = ["acm_"]
"#,
    );
    // `abcdef`, `123456`: typed by a person, so a placeholder where only the shape speaks, but
    // after a key that names the provider and a secret word the slot says what the value is.
    assert_eq!(ids(&e, b"acme_key=abcdef123456hv7mq2xr9plk4snw"), ["named"]);
    assert!(ids(&e, b"acm_abcdef123456hv7mq2xr9plk4snw").is_empty());
    // Placeholder words are placeholders in every slot.
    assert!(ids(&e, b"acme_key=example0hv7mq2xr9plk4snw8bt").is_empty());
}

#[test]
fn a_path_limited_rule_is_compiled_only_where_its_path_matches() {
    // A tree without the file a rule names must not pay for that rule's regex: the path is
    // checked first, with the path regex compiled apart.
    let e = engine(
        r#"
[[rule]]
id = "netrc-like"
name = "Netrc-like password"
severity = "high"
keywords = ["password"]
path = '''(?:^|/)\.netrc$'''
example_path = "home/.netrc"
regex = '''password\s+(?P<secret>\S{4,64})'''
examples = ["password hunter2x"]
negative_examples = ["password x"]
"#,
    );
    let data = b"machine example.org login me password hunter2x\n";
    let mut out = Vec::new();
    e.find(data, Some("src/settings.py"), &mut Scratch::default(), &mut out);
    let _ = e.path_class("docs/readme.md");
    assert!(out.is_empty());
    assert!(e.compiled[0].get().is_none(), "the rule's regex was compiled for a path it does not name");
    e.find(data, Some("home/.netrc"), &mut Scratch::default(), &mut out);
    assert_eq!(out.len(), 1);
    assert!(e.compiled[0].get().is_some());
}

#[test]
fn compile_all_names_a_rule_whose_path_regex_does_not_compile() {
    let rules = parse_rules(
        "bad.toml",
        r#"
[[rule]]
id = "bad-path"
name = "Bad path"
severity = "high"
keywords = ["token"]
path = '''(?:^|/)deploy\.key($'''
example_path = "deploy.key"
regex = '''token=(?P<secret>[a-z]{8})'''
examples = ["token=abcdefgh"]
negative_examples = ["token=abc"]
"#,
        false,
    )
    .expect("the loader parses rules; regexes are compiled later");
    let e = Engine::new(rules).expect("engine");
    let err = e.compile_all().expect_err("a path regex that does not compile").to_string();
    assert!(err.contains("bad.toml") && err.contains("bad-path"), "{err}");
}

#[test]
fn an_unquoted_value_may_end_at_a_closing_quote() {
    // A Compose file's environment list quotes whole `KEY=value` entries; a header is quoted
    // whole on a command line. The value ends where the quoted entry does.
    let e = Engine::new(crate::rules::builtin().expect("built-in rules")).expect("engine");
    let tok = "Qx7vR2mK9pLw4sNb8tZcW3";
    let compose = format!("services:\n  app:\n    environment:\n      - \"SERVICE_API_KEY={tok}\"\n");
    assert_eq!(ids(&e, compose.as_bytes()), vec!["generic-secret-assignment"]);
    let header = format!("wget --header \"X-Service-Token: {tok}\" https://api.internal.net/v1");
    assert_eq!(ids(&e, header.as_bytes()), vec!["generic-secret-assignment"]);
    // A lookup stays a lookup.
    assert!(ids(&e, b"      - \"SERVICE_API_KEY=${SERVICE_API_KEY}\"").is_empty());
}

#[test]
fn a_kubernetes_secret_is_read_in_any_order_and_as_a_block_scalar() {
    let e = Engine::new(crate::rules::builtin().expect("built-in rules")).expect("engine");
    let value = "UW03dlh6MnBMazl3UnQ0c0huS2M4YjJ2TnE=";
    for doc in [
        format!("apiVersion: v1\ndata:\n  api-key: {value}\nkind: Secret\n"),
        format!("apiVersion: v1\nkind: 'Secret'\ndata:\n  tls.key: |\n    {value}\n"),
        format!("kind: Secret\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: >-\n    {value}\n"),
    ] {
        assert_eq!(ids(&e, doc.as_bytes()), vec!["kubernetes-secret-data"], "{doc}");
    }
    // Another kind, then a Secret in the next document: the first one's data is no secret's.
    let two = format!("kind: ConfigMap\ndata:\n  api-key: {value}\n---\nkind: Secret\nmetadata:\n  name: x\n");
    assert!(!ids(&e, two.as_bytes()).contains(&"kubernetes-secret-data".to_string()));
}

#[test]
fn a_quoted_generic_value_is_a_secret_up_to_512_characters() {
    // The generic rule's regex leaves a quoted value's length open (a bounded repeat of 512 made
    // its automaton twice as big); the secret model bounds it instead, with the same result.
    let e = Engine::new(crate::rules::builtin().expect("built-in rules")).expect("engine");
    let mut rng = crate::testutil::XorShift::new(0x2545_f491_4f6c_dd1d);
    let alphabet = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    for (len, found) in [(40, true), (512, true), (513, false), (2000, false)] {
        let value: String =
            (0..len).map(|_| char::from(alphabet[(rng.next() % alphabet.len() as u64) as usize])).collect();
        let line = format!("session_token = \"{value}\"\n");
        let got = ids(&e, line.as_bytes()).contains(&"generic-secret-assignment".to_string());
        assert_eq!(got, found, "a quoted value of {len} characters");
    }
}

#[test]
fn anchored_rules_find_matches_on_a_line_longer_than_their_span() {
    // A minified file: one line of 3 × SPAN bytes, full of keywords (`curl`, `--password`,
    // `token`), with single-line built-in examples planted along it, the last ones beyond
    // the first span. Anchored tries read at most SPAN bytes past their keyword; they must
    // still report what a search of the whole input reports.
    let rules = crate::rules::builtin().expect("built-in rules");
    let fast = Engine::new(rules.clone()).expect("engine");
    let mut whole = Engine::new(rules).expect("engine");
    whole.may_anchor.iter_mut().for_each(|a| *a = false);
    whole.keyword_anchors.iter_mut().for_each(|a| *a = false);
    let examples: Vec<&String> =
        fast.rules.iter().flat_map(|r| r.examples.iter()).filter(|e| !e.contains('\n') && e.len() < 200).collect();
    let mut rng = crate::testutil::XorShift::new(0x51_7cc1_b727_220a);
    let mut data = Vec::new();
    let mut planted = 0;
    while data.len() < 3 * anchor::SPAN {
        data.extend_from_slice(b"\"see curl to --pass the token\", ");
        if rng.next().is_multiple_of(8) {
            data.extend(examples[(rng.next() % examples.len() as u64) as usize].as_bytes());
            data.extend_from_slice(b" ");
            planted += 1;
        }
    }
    let (mut a, mut b) = (Vec::new(), Vec::new());
    fast.find(&data, Some("x.txt"), &mut Scratch::default(), &mut a);
    whole.find(&data, Some("x.txt"), &mut Scratch::default(), &mut b);
    assert!(planted > 100 && b.len() > 50, "{planted} planted, {} found", b.len());
    assert!(b.iter().any(|m| m.start > 2 * anchor::SPAN), "nothing found past two spans");
    assert_eq!(a, b);
}
