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
