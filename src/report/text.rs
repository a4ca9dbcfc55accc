//! The text report: one block per finding, then files that could not be read, then a summary
//! line. Colour only when asked (the binary asks when stdout is a terminal and `NO_COLOR` is
//! unset). Every string that came from the scanned input (paths, secrets, authors) is escaped,
//! so that no terminal escape sequence in a file name or a secret reaches the terminal.

use std::io::{self, Write};

use super::{ReportOptions, ScanReport};
use crate::finding::{escape_text, Finding};
use crate::rules::Severity;

struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn path(&self, s: &str) -> String {
        self.wrap("35", s)
    }
    fn num(&self, s: &str) -> String {
        self.wrap("32", s)
    }
    fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
    fn dim(&self, s: &str) -> String {
        self.wrap("2", s)
    }
    fn severity(&self, sev: Severity) -> String {
        let code = match sev {
            Severity::Critical => "1;31",
            Severity::High => "31",
            Severity::Medium => "33",
            Severity::Low => "36",
        };
        self.wrap(code, sev.as_str())
    }
}

/// Writes the text report.
pub fn write(report: &ScanReport, opts: ReportOptions, out: &mut dyn Write) -> io::Result<()> {
    let p = Paint { on: opts.color };
    let mut breaches: Vec<&Finding> = report.findings.iter().filter(|f| f.breach.is_some()).collect();
    breaches.sort_by_key(|f| f.breach.as_ref().map(|b| b.most_urgent()).unwrap_or(i64::MAX));
    for f in &breaches {
        write_breach(&p, f, out)?;
    }
    for f in report.findings.iter().filter(|f| f.breach.is_none()) {
        write_finding(&p, f, out)?;
    }
    let unreadable: Vec<_> = report.skipped.iter().filter(|s| s.reason.is_error()).collect();
    if !unreadable.is_empty() {
        writeln!(out, "{}", p.bold("Could not be read (not scanned):"))?;
        for s in &unreadable {
            writeln!(out, "  {}: {} ({})", p.path(&escape_text(&s.path)), s.reason.as_str(), escape_text(&s.detail))?;
        }
        writeln!(out)?;
    }
    if opts.verbose {
        let others: Vec<_> = report.skipped.iter().filter(|s| !s.reason.is_error()).collect();
        if !others.is_empty() {
            writeln!(out, "{}", p.bold("Skipped:"))?;
            for s in others {
                let detail = if s.detail.is_empty() { String::new() } else { format!(" ({})", escape_text(&s.detail)) };
                writeln!(out, "  {}: {}{}", p.path(&escape_text(&s.path)), s.reason.as_str(), detail)?;
            }
            writeln!(out)?;
        }
    }
    writeln!(out, "{}", summary_line(report))?;
    if report.scan.mode == super::Mode::Staged && !report.findings.is_empty() {
        writeln!(out, "{}", p.bold("This commit would leak the secrets above. Ways out:"))?;
        writeln!(
            out,
            "  1. remove the secret, `git add` the file again, and commit (revoke it if it was ever pushed);"
        )?;
        writeln!(out, "  2. if it is not a secret, add `ndaguard:allow <reason>` on its line (or `ndaguard:allow-next-line` above);")?;
        writeln!(
            out,
            "  3. to accept what exists today, record it: `ndaguard baseline -o .ndaguard/baseline.json` and set"
        )?;
        writeln!(out, "     `baseline = \".ndaguard/baseline.json\"` in .ndaguard.toml.")?;
    }
    Ok(())
}

/// A breach block, meant to be read in five seconds: whose agreement, what to do, by when.
fn write_breach(p: &Paint, f: &Finding, out: &mut dyn Write) -> io::Result<()> {
    let Some(b) = &f.breach else { return Ok(()) };
    let left = |h: i64| if h < 0 { format!("{} h OVERDUE", -h) } else { format!("{h} h left") };
    writeln!(
        out,
        "{}  {} under {} with {}",
        p.wrap("1;41;97", " NDA BREACH "),
        p.bold(&escape_text(&b.registry_id)),
        p.bold(&escape_text(&b.nda)),
        p.bold(&escape_text(&b.counterparty))
    )?;
    writeln!(
        out,
        "    {}:{}:{}  {}  {}",
        p.path(&escape_text(&f.path)),
        p.num(&f.line.to_string()),
        p.num(&f.column.to_string()),
        p.bold(&f.rule_id),
        f.secret
    )?;
    // A deadline that was acted on stops counting: met or missed for good.
    let state = |h: i64, done: Option<&String>, verb: &str| match done {
        Some(at) if h >= 0 => format!("met: {verb} {at}, {h} h to spare"),
        Some(at) => format!("MISSED: {verb} {at}, {} h late", -h),
        None => left(h),
    };
    match (&b.revoke_by, b.revoke_hours_left) {
        (Some(by), Some(h)) => {
            writeln!(out, "    {} by {by} ({})", p.wrap("1;31", "REVOKE"), state(h, b.revoked_at.as_ref(), "revoked"))?
        }
        _ => writeln!(out, "    already revoked: no revocation deadline")?,
    }
    writeln!(
        out,
        "    {} by {} ({})",
        p.wrap("1;33", "REPORT"),
        b.report_by,
        state(b.report_hours_left, b.reported_at.as_ref(), "reported")
    )?;
    let tell = if b.contacts.is_empty() { escape_text(&b.owner) } else { escape_text(&b.contacts.join(", ")) };
    writeln!(out, "    tell {tell}; owner {}", escape_text(&b.owner))?;
    if !b.scope.is_empty() {
        writeln!(out, "    scope: {}", escape_text(&b.scope.join(", ")))?;
    }
    let mut exposure = format!("    exposed since {}", b.exposed_since);
    if let Some(c) = &f.commit {
        exposure.push_str(&format!(" (commit {})", c.get(..12).unwrap_or(c)));
    }
    if b.lifetime_exceeded {
        exposure.push_str("; the token outlived its agreed lifetime");
    }
    writeln!(out, "{}", p.dim(&exposure))?;
    writeln!(out)
}

fn write_finding(p: &Paint, f: &Finding, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "{}:{}:{}  {}  {}  {}",
        p.path(&escape_text(&f.path)),
        p.num(&f.line.to_string()),
        p.num(&f.column.to_string()),
        p.bold(&f.rule_id),
        p.severity(f.severity),
        f.secret
    )?;
    let mut detail = format!("    {}", escape_text(&f.rule_name));
    if let Some(enc) = &f.encoding {
        detail.push_str(&format!(" (found {enc}-encoded)"));
    }
    writeln!(out, "{}", p.dim(&detail))?;
    if let Some(commit) = &f.commit {
        let short = commit.get(..12).unwrap_or(commit);
        let mut line = format!("    commit {short}");
        if let Some(a) = &f.author {
            line.push_str(&format!(" by {}", escape_text(a)));
        }
        if let Some(e) = &f.email {
            line.push_str(&format!(" <{}>", escape_text(e)));
        }
        if let Some(d) = &f.date {
            line.push_str(&format!(" on {d}"));
        }
        if let Some(n) = f.commits {
            if n > 1 {
                line.push_str(&format!(" (in {n} commits)"));
            }
        }
        writeln!(out, "{}", p.dim(&line))?;
    }
    if let Some(d) = &f.deadlines {
        let mut parts = Vec::new();
        if let (Some(by), Some(h)) = (&d.revoke_by, d.revoke_hours_left) {
            parts.push(format!("revoke by {by} ({h} h)"));
        }
        if let (Some(by), Some(h)) = (&d.report_by, d.report_hours_left) {
            parts.push(format!("report by {by} ({h} h)"));
        }
        if !parts.is_empty() {
            writeln!(out, "{}", p.dim(&format!("    policy: {}", parts.join(", "))))?;
        }
    }
    writeln!(out)
}

/// `ndaguard: 2 findings (1 critical, 1 high) · 120 files scanned (1.2 MB) · 3 skipped (2 binary, 1 too-large) · 0.04 s`
pub fn summary_line(report: &ScanReport) -> String {
    let s = &report.summary;
    let mut parts = Vec::new();
    let mut by_sev = Vec::new();
    for sev in Severity::ALL {
        let n = report.findings.iter().filter(|f| f.severity == sev).count();
        if n > 0 {
            by_sev.push(format!("{n} {sev}"));
        }
    }
    let findings = plural(s.findings, "finding");
    parts.push(if by_sev.is_empty() { findings } else { format!("{findings} ({})", by_sev.join(", ")) });
    if s.breaches > 0 {
        parts.push(format!("{} NDA {}", s.breaches, if s.breaches == 1 { "breach" } else { "breaches" }));
    }
    parts.push(format!("{} scanned ({})", plural(s.files_scanned, "file"), human_bytes(s.bytes_scanned)));
    let reasons: Vec<String> = s.skipped_by_reason.iter().map(|(r, n)| format!("{n} {r}")).collect();
    parts.push(if reasons.is_empty() {
        "0 skipped".to_string()
    } else {
        format!("{} skipped ({})", s.files_skipped, reasons.join(", "))
    });
    if s.suppressed > 0 {
        parts.push(format!("{} suppressed", s.suppressed));
    }
    if s.errors > 0 {
        parts.push(format!("{} unreadable", s.errors));
    }
    parts.push(format!("{:.2} s", s.duration_ms as f64 / 1000.0));
    let mut line = format!("ndaguard: {}", parts.join(" · "));
    for note in &s.notes {
        line.push_str(&format!("\nnote: {}", escape_text(note)));
    }
    if s.interrupted {
        line.push_str("\nnote: the scan was interrupted; these results are partial");
    }
    line
}

fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Bytes in a human unit: `512 B`, `1.2 KB`, `45.6 MB`, `1.1 GB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if n < 1000 {
        return format!("{n} B");
    }
    let mut v = n as f64;
    let mut unit = "B";
    for u in UNITS {
        if v < 1000.0 {
            break;
        }
        v /= 1000.0;
        unit = u;
    }
    format!("{v:.1} {unit}")
}

#[cfg(test)]
mod tests {
    use super::human_bytes;

    #[test]
    fn bytes_are_human() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1_200), "1.2 KB");
        assert_eq!(human_bytes(45_600_000), "45.6 MB");
    }
}
