//! The built-in rules, checked the way `ndaguard rules check` checks them: every positive
//! example found by its rule through the whole engine, every negative example not.

use crate::common::ndaguard;

#[test]
fn every_builtin_rule_example_passes_through_the_whole_engine() {
    let rules = ndaguard::rules::builtin().expect("built-in rules load");
    ndaguard::rules::check_unique(&rules).expect("unique ids");
    let report = ndaguard::check_rules(rules).expect("engine builds");
    let failures: Vec<String> =
        report.failures.iter().map(|f| format!("{} ({}): {}", f.rule_id, f.origin, f.message)).collect();
    assert!(failures.is_empty(), "{} failing examples:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn there_are_enough_builtin_rules_with_examples() {
    let rules = ndaguard::rules::builtin().expect("built-in rules load");
    assert!(rules.len() >= 80, "only {} built-in rules", rules.len());
    assert!(rules.iter().all(|r| !r.examples.is_empty() && !r.negative_examples.is_empty()));
}

#[test]
fn rules_check_command_agrees() {
    let out = ndaguard().args(["rules", "check"]).output().expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains(" 0 failed"), "{stdout}");
}

#[test]
fn rules_list_prints_id_name_and_severity() {
    let out = ndaguard().args(["rules", "list"]).output().expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("ID"), "{stdout}");
    let line = stdout.lines().find(|l| l.starts_with("github-pat-classic")).expect("github rule listed");
    assert!(line.contains("critical"), "{line}");
}

#[test]
fn a_failing_user_rule_example_makes_rules_check_fail() {
    let tree = crate::common::Tree::new();
    tree.write(
        "r.toml",
        r#"[[rule]]
id = "demo-token"
name = "Demo token"
severity = "low"
keywords = ["demo_"]
regex = '''(?P<secret>demo_[a-z0-9]{16})'''
examples = ["t = demo_abc"]
negative_examples = ["demo_"]
"#,
    );
    let out = ndaguard()
        .args(["rules", "check", "--no-builtin", "--rules"])
        .arg(tree.path().join("r.toml"))
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL demo-token"), "{stdout}");
    assert!(stdout.contains("examples[0] gives no finding"), "{stdout}");
}

#[test]
fn one_secret_at_one_place_is_one_finding() {
    // A provider's token assigned to a secret-named key matches the provider's rule, the generic
    // assignment rule and (for a JWT) its decoded base64 parts: the scan reports it once, as the
    // provider's rule, in every common syntax.
    use base64::Engine as _;
    let mut g = crate::common::Gen::new(0x0001_5ec2_e7a5_11e5);
    let payload = format!("{{\"sub\":\"{}\",\"iat\":1765000000}}", g.alnum(12));
    let jwt = format!(
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.{}.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload),
        g.chars(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", 43)
    );
    let tokens = [
        ("jwt", jwt),
        ("github-pat-classic", g.github_pat()),
        ("stripe-secret-key-live", g.stripe_live()),
        ("slack-bot-token", g.slack_bot()),
    ];
    let styles = [
        "token = \"{}\"",
        "API_TOKEN={}",
        "export SERVICE_SECRET='{}'",
        "{\"apiKey\": \"{}\"}",
        "<authToken>{}</authToken>",
        "System.setProperty(\"AUTH_TOKEN\", \"{}\");",
        "curl -H 'Authorization: Bearer {}' https://api.test",
        "app --token {}",
    ];
    let tree = crate::common::Tree::new();
    let mut want = Vec::new();
    for (ti, (rule, token)) in tokens.iter().enumerate() {
        for (si, style) in styles.iter().enumerate() {
            let path = format!("f{ti}_{si}.txt");
            tree.write(&path, format!("{}\n", style.replace("{}", token)));
            want.push((path, *rule));
        }
    }
    let dir = tree.path().to_string_lossy().into_owned();
    let (code, json, stderr) = crate::common::scan_json(&[&dir, "--no-progress"]);
    assert_eq!(code, 1, "{stderr}");
    let findings = json["findings"].as_array().expect("findings");
    for (path, rule) in want {
        let got: Vec<&str> = findings
            .iter()
            .filter(|f| f["path"].as_str() == Some(path.as_str()))
            .filter_map(|f| f["rule_id"].as_str())
            .collect();
        assert_eq!(got, vec![rule], "{path}: {}", std::fs::read_to_string(tree.path().join(&path)).unwrap_or_default());
    }
}
