//! JSON and JSON Lines reports (design.md §5).
//!
//! JSON: `{"version": 1, "tool": {...}, "scan": {...}, "findings": [...], "skipped": [...],
//! "summary": {...}}`. JSONL: one finding per line, nothing else, so that `jq -c` pipelines and
//! log shippers can take it as it is.

use std::io::{self, Write};

use super::ScanReport;

/// Writes the JSON document, pretty-printed, with a final newline.
pub fn write(report: &ScanReport, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    out.write_all(b"\n")
}

/// Writes one compact JSON object per finding.
pub fn write_lines(report: &ScanReport, out: &mut dyn Write) -> io::Result<()> {
    for f in &report.findings {
        serde_json::to_writer(&mut *out, f)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}
