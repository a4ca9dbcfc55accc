//! Joining SARIF logs written by ndaguard (see [`super::merge`]): results deduplicated by the
//! `ndaguard/v1` fingerprint (earliest first commit kept, largest `commits`), rule descriptors
//! joined and re-indexed, results sorted as reports sort findings, occurrence fingerprints
//! recounted, skip notifications joined, and the invocation's summary recomputed.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};

use super::merge::{add_totals, check_shards, rank};
use crate::finding::Summary;

fn runs_of(log: &Value) -> Result<&Vec<Value>, String> {
    log.get("runs").and_then(Value::as_array).ok_or_else(|| "a SARIF log without runs".to_string())
}

fn prop<'a>(result: &'a Value, key: &str) -> Option<&'a Value> {
    result.pointer(&format!("/properties/{key}"))
}

fn fingerprint(result: &Value) -> String {
    result.pointer("/partialFingerprints/ndaguard~1v1").and_then(Value::as_str).unwrap_or_default().to_string()
}

fn result_rank(result: &Value) -> (i64, u64) {
    rank(prop(result, "date").and_then(Value::as_str), prop(result, "commit_order").and_then(Value::as_u64))
}

/// Undoes the percent-encoding of a location's URI.
fn decode_uri(uri: &str) -> String {
    let b = uri.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn location_path(v: &Value) -> String {
    decode_uri(v.pointer("/locations/0/physicalLocation/artifactLocation/uri").and_then(Value::as_str).unwrap_or(""))
}

/// The report order of findings: path, line, column, rule (the matching rule of a breach).
fn sort_key(r: &Value) -> (String, i64, i64, String, String) {
    let region =
        |k: &str| r.pointer(&format!("/locations/0/physicalLocation/region/{k}")).and_then(Value::as_i64).unwrap_or(0);
    let rule = prop(r, "rule_id").or_else(|| r.get("ruleId")).and_then(Value::as_str).unwrap_or("").to_string();
    (location_path(r), region("startLine"), region("startColumn"), rule, fingerprint(r))
}

/// The order of skipped entries: path, reason (in the order of [`crate::finding::SkipReason`]),
/// detail, read back from the notification's message.
fn notification_key(n: &Value) -> (String, usize, String) {
    const REASONS: [&str; 8] =
        ["binary", "too-large", "unreadable", "symlink", "allowlisted", "submodule", "missing-object", "special"];
    let msg = n.pointer("/message/text").and_then(Value::as_str).unwrap_or("");
    let rest = msg.strip_prefix("not scanned: ").unwrap_or(msg);
    let (reason, detail) = match rest.split_once(" (") {
        Some((r, d)) => (r, d.strip_suffix(')').unwrap_or(d)),
        None => (rest, ""),
    };
    let rank = REASONS.iter().position(|r| *r == reason).unwrap_or(REASONS.len());
    (location_path(n), rank, detail.to_string())
}

/// Everything gathered from the runs of the logs.
#[derive(Default)]
struct Gathered {
    results: HashMap<String, Value>,
    rules: BTreeMap<String, Value>,
    notifications: BTreeMap<(String, usize, String), Value>,
    totals: Summary,
    start: Option<String>,
    end: Option<String>,
    mode: Option<Value>,
    range: Option<Value>,
}

impl Gathered {
    fn add_run(&mut self, run: &Value) -> Result<(), String> {
        for r in run.pointer("/tool/driver/rules").and_then(Value::as_array).into_iter().flatten() {
            let id = r.get("id").and_then(Value::as_str).unwrap_or("").to_string();
            self.rules.entry(id).or_insert_with(|| r.clone());
        }
        for r in run.get("results").and_then(Value::as_array).into_iter().flatten() {
            self.add_result(r.clone());
        }
        let inv = run.pointer("/invocations/0").cloned().unwrap_or(Value::Null);
        for n in inv.get("toolExecutionNotifications").and_then(Value::as_array).into_iter().flatten() {
            self.notifications.entry(notification_key(n)).or_insert_with(|| n.clone());
        }
        let props = inv.get("properties").cloned().unwrap_or(Value::Null);
        let summary: Summary = serde_json::from_value(props.get("summary").cloned().unwrap_or(Value::Null))
            .map_err(|e| format!("a SARIF log without ndaguard's summary ({e})"))?;
        add_totals(&mut self.totals, &summary);
        let (mode, range) = (props.get("mode").cloned(), props.get("range").cloned());
        if self.mode.is_some() && (self.mode != mode || self.range != range) {
            return Err("the reports are of different scans (mode or range differ)".into());
        }
        (self.mode, self.range) = (mode, range);
        let time = |k: &str| inv.get(k).and_then(Value::as_str).map(str::to_string);
        self.start = self.start.take().into_iter().chain(time("startTimeUtc")).min();
        self.end = self.end.take().into_iter().chain(time("endTimeUtc")).max();
        Ok(())
    }

    fn add_result(&mut self, r: Value) {
        let key = fingerprint(&r);
        let commits = |v: &Value| prop(v, "commits").and_then(Value::as_u64);
        match self.results.get_mut(&key) {
            Some(kept) => {
                let most = commits(kept).max(commits(&r));
                if result_rank(&r) < result_rank(kept) {
                    *kept = r;
                }
                if let (Some(n), Some(p)) = (most, kept.pointer_mut("/properties")) {
                    p["commits"] = json!(n);
                }
            }
            None => {
                self.results.insert(key, r);
            }
        }
    }
}

/// Joins SARIF logs into one (see the module docs).
pub(super) fn merge(logs: Vec<Value>) -> Result<Value, String> {
    let labels: Vec<Option<String>> = logs
        .iter()
        .map(|l| l.pointer("/runs/0/invocations/0/properties/shard").and_then(Value::as_str).map(str::to_string))
        .collect();
    check_shards(&labels)?;
    let mut g = Gathered::default();
    for log in &logs {
        for run in runs_of(log)? {
            g.add_run(run)?;
        }
    }
    let mut out = logs.into_iter().next().ok_or("no reports to merge")?;
    let rules: Vec<Value> = g.rules.into_values().collect();
    let index: HashMap<String, usize> =
        rules.iter().enumerate().map(|(i, r)| (r["id"].as_str().unwrap_or("").to_string(), i)).collect();
    let mut results: Vec<Value> = g.results.into_values().collect();
    results.sort_by_cached_key(sort_key);
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    for r in &mut results {
        if let Some(p) = r.get_mut("properties").and_then(Value::as_object_mut) {
            p.remove("commit_order");
        }
        let id = r.get("ruleId").and_then(Value::as_str).unwrap_or("").to_string();
        r["ruleIndex"] = json!(index.get(&id).copied().unwrap_or(0));
        let fp = fingerprint(r);
        let n = seen.entry((location_path(r), fp.clone())).or_insert(0);
        *n += 1;
        r["partialFingerprints"]["ndaguard/occurrence/v1"] = json!(format!("{fp}:{n}"));
    }
    let notifications: Vec<Value> = g.notifications.into_values().collect();
    let errors = notifications.iter().filter(|n| n["level"] == "error").count() as u64;
    let mut summary = g.totals;
    summary.findings = results.len() as u64;
    summary.breaches = results.iter().filter(|r| prop(r, "breach").is_some()).count() as u64;
    summary.files_skipped = notifications.len() as u64;
    summary.errors = errors;
    for n in &notifications {
        let text = n.pointer("/message/text").and_then(Value::as_str).unwrap_or("");
        let text = text.strip_prefix("not scanned: ").unwrap_or(text);
        let reason = text.split(" (").next().unwrap_or(text);
        *summary.skipped_by_reason.entry(reason.to_string()).or_default() += 1;
    }
    let mut summary = serde_json::to_value(&summary).map_err(|e| e.to_string())?;
    if let Some(m) = summary.as_object_mut() {
        m.remove("duration_ms");
    }
    let run = &mut out["runs"];
    *run = json!([run.get(0).cloned().unwrap_or(Value::Null)]);
    let run = &mut run[0];
    run["tool"]["driver"]["rules"] = json!(rules);
    run["results"] = json!(results);
    let inv = &mut run["invocations"][0];
    inv["executionSuccessful"] = json!(errors == 0 && summary["interrupted"] != true);
    inv["toolExecutionNotifications"] = json!(notifications);
    inv["startTimeUtc"] = json!(g.start);
    inv["endTimeUtc"] = json!(g.end);
    if let Some(p) = inv.get_mut("properties").and_then(Value::as_object_mut) {
        p.remove("shard");
        p.insert("summary".into(), summary);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_decode_and_notifications_sort_by_path_then_reason() {
        assert_eq!(decode_uri("a%20b/%C3%A9.txt"), "a b/é.txt");
        let n = json!({"message": {"text": "not scanned: too-large (blob 1: 9 bytes)"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": "x%2Fy"}}}]});
        assert_eq!(notification_key(&n), ("x/y".to_string(), 1, "blob 1: 9 bytes".to_string()));
    }
}
