//! `--notify URL`: each new breach posted as JSON to a webhook.
//!
//! The body has a Slack-compatible `text` field (a one-paragraph summary a person can act on) and
//! the same facts as structured fields under `ndaguard`; never the token. Delivery uses a
//! blocking HTTP client with a timeout per attempt and a few retries with a growing pause, on
//! connection errors, timeouts, 429 and 5xx answers (other 4xx answers are not retried: the
//! request itself is wrong). A failed delivery is reported to the caller, who reports it on
//! standard error: it never changes what a scan's exit code means.

use std::time::Duration;

use serde_json::{json, Value};

use crate::finding::Finding;

/// How to deliver.
#[derive(Debug, Clone)]
pub struct Notifier {
    /// The webhook URL.
    pub url: String,
    /// Attempts per message (at least 1).
    pub attempts: u32,
    /// Timeout of one attempt, connection included.
    pub timeout: Duration,
    /// Pause before the second attempt; doubled before each further one.
    pub backoff: Duration,
}

/// The outcome of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The incident (finding fingerprint) the message was about.
    pub incident: String,
    /// Attempts made.
    pub attempts: u32,
    /// `None` when delivered, else what went wrong on the last attempt.
    pub error: Option<String>,
}

impl Notifier {
    /// A notifier for `url` with the defaults: 3 attempts, 10 s each, 1 s then 2 s apart.
    pub fn new(url: &str) -> Notifier {
        Notifier {
            url: url.to_string(),
            attempts: 3,
            timeout: Duration::from_secs(10),
            backoff: Duration::from_secs(1),
        }
    }

    /// Checks the URL's form, so that a typo is an error before the scan rather than a failed
    /// delivery after it. The error shows the URL without its path (see [`Notifier::shown`]).
    pub fn check_url(url: &str) -> Result<(), String> {
        let shown = redact(url);
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .ok_or_else(|| format!("--notify {shown:?}: expected an http:// or https:// URL"))?;
        if rest.is_empty() || rest.starts_with('/') {
            return Err(format!("--notify {shown:?}: the URL has no host"));
        }
        Ok(())
    }

    /// The URL as logs show it: scheme and host only. A webhook's path is its secret (a Slack
    /// incoming webhook URL lets anyone post to the channel), and CI logs are widely readable.
    pub fn shown(&self) -> String {
        redact(&self.url)
    }

    /// `error` with every occurrence of the URL replaced by [`Notifier::shown`].
    pub fn redact_error(&self, error: &str) -> String {
        error.replace(&self.url, &self.shown())
    }

    /// Posts `body`, retrying as the module docs say.
    pub fn post(&self, incident: &str, body: &Value) -> Delivery {
        let agent: ureq::Agent =
            ureq::Agent::config_builder().timeout_global(Some(self.timeout)).http_status_as_error(false).build().into();
        let text = body.to_string();
        let mut pause = self.backoff;
        let mut error = None;
        let attempts = self.attempts.max(1);
        for attempt in 1..=attempts {
            if attempt > 1 {
                std::thread::sleep(pause);
                pause *= 2;
            }
            let sent = agent
                .post(&self.url)
                .header("Content-Type", "application/json")
                .header("User-Agent", concat!("ndaguard/", env!("CARGO_PKG_VERSION")))
                .send(text.as_str());
            let (retry, why) = match sent {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    if (200..300).contains(&status) {
                        return Delivery { incident: incident.to_string(), attempts: attempt, error: None };
                    }
                    (status == 429 || status >= 500, format!("the webhook answered HTTP {status}"))
                }
                Err(e) => (true, e.to_string()),
            };
            error = Some(why);
            if !retry {
                return Delivery { incident: incident.to_string(), attempts: attempt, error };
            }
        }
        Delivery { incident: incident.to_string(), attempts, error }
    }
}

/// The webhook message for a breach finding (`None` for a finding that is not a breach).
pub fn message(f: &Finding) -> Option<Value> {
    let b = f.breach.as_ref()?;
    let mut text = format!(
        "NDA breach: registered token `{}` ({} with {}) found in {}:{}",
        b.registry_id, b.nda, b.counterparty, f.path, f.line
    );
    if let Some(c) = &f.commit {
        text.push_str(&format!(" (commit {})", c.get(..12).unwrap_or(c)));
    }
    text.push_str(&format!(". Exposed since {}.", b.exposed_since));
    match &b.revoke_by {
        Some(r) => text.push_str(&format!(" Revoke by {r}")),
        None => text.push_str(" Already revoked"),
    }
    text.push_str(&format!(", report by {}.", b.report_by));
    if !b.contacts.is_empty() {
        text.push_str(&format!(" Tell {}.", b.contacts.join(", ")));
    }
    text.push_str(&format!(" Owner: {}. Incident {}.", b.owner, f.fingerprint));
    Some(json!({
        "text": text,
        "ndaguard": {
            "event": "breach",
            "incident": f.fingerprint,
            "rule_id": f.rule_id,
            "path": f.path,
            "line": f.line,
            "commit": f.commit,
            "breach": b,
        }
    }))
}

/// `url` up to the end of its host, then `/…` when anything followed; userinfo is dropped.
fn redact(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let more = if end < rest.len() || host.len() < authority.len() { "/…" } else { "" };
    if scheme.is_empty() {
        format!("{host}{more}")
    } else {
        format!("{scheme}://{host}{more}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::http::serve;
    use std::net::TcpListener;

    fn quick(url: &str) -> Notifier {
        Notifier {
            url: url.to_string(),
            attempts: 3,
            timeout: Duration::from_millis(1500),
            backoff: Duration::from_millis(10),
        }
    }

    #[test]
    fn delivers_and_retries_server_errors() {
        let s = serve(vec![503, 500, 200]);
        let d = quick(&s.url).post("v1:ab", &json!({"text": "hello"}));
        assert_eq!(d, Delivery { incident: "v1:ab".into(), attempts: 3, error: None });
        let bodies = s.bodies.lock().expect("lock").clone();
        assert_eq!(bodies.len(), 3);
        assert_eq!(bodies[2], r#"{"text":"hello"}"#);
    }

    #[test]
    fn gives_up_after_the_attempts_and_does_not_retry_a_client_error() {
        let s = serve(vec![500]);
        let d = quick(&s.url).post("v1:ab", &json!({}));
        assert_eq!(d.attempts, 3);
        assert!(d.error.as_deref().is_some_and(|e| e.contains("HTTP 500")), "{d:?}");
        let s = serve(vec![404]);
        let d = quick(&s.url).post("v1:ab", &json!({}));
        assert_eq!(d.attempts, 1);
        assert!(d.error.as_deref().is_some_and(|e| e.contains("HTTP 404")), "{d:?}");
    }

    #[test]
    fn a_silent_server_times_out_and_a_closed_port_fails() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        // Accepts connections (the backlog) but never answers.
        let mut n = quick(&url);
        n.attempts = 2;
        n.timeout = Duration::from_millis(300);
        let started = std::time::Instant::now();
        let d = n.post("v1:ab", &json!({}));
        assert_eq!(d.attempts, 2);
        assert!(d.error.is_some());
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
        drop(listener);
        let d = n.post("v1:ab", &json!({}));
        assert!(d.error.is_some(), "{d:?}");
    }

    #[test]
    fn logs_show_the_host_never_the_path() {
        let n = Notifier::new("https://hooks.example/services/T000/B000/s3cr3tpath?x=1");
        assert_eq!(n.shown(), "https://hooks.example/…");
        assert_eq!(Notifier::new("http://u:pw@h.example:8080").shown(), "http://h.example:8080/…");
        assert_eq!(Notifier::new("http://h.example").shown(), "http://h.example");
        let e = n.redact_error("https://hooks.example/services/T000/B000/s3cr3tpath?x=1: refused");
        assert!(!e.contains("s3cr3t") && e.contains("hooks.example"), "{e}");
        let bad = Notifier::check_url("hooks.example/services/s3cr3tpath").unwrap_err();
        assert!(!bad.contains("s3cr3t"), "{bad}");
    }

    #[test]
    fn urls_are_checked() {
        assert!(Notifier::check_url("https://hooks.example/T000/B000").is_ok());
        assert!(Notifier::check_url("hooks.example/x").is_err());
        assert!(Notifier::check_url("http:///x").is_err());
    }
}
