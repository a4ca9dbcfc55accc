//! `ndaguard baseline [scan flags]`: scans as `scan` would (without applying `--baseline`) and
//! writes the findings' fingerprints as a baseline to `--output` or stdout.

use anyhow::Result;

use crate::cancel::Cancel;
use crate::cli::ScanArgs;
use crate::filter::baseline::Baseline;
use crate::pipeline;
use crate::settings::ScanRequest;

pub(super) fn run(args: &ScanArgs) -> Result<u8> {
    let mut req = ScanRequest::from_args(args);
    req.baseline = None;
    // Accepting findings is not detecting them: no incident record.
    req.no_incidents = true;
    req.progress = false;
    let report = pipeline::run(&req, &Cancel::ctrl_c())?;
    if report.summary.interrupted {
        // A partial baseline would drop findings from the old one: write nothing.
        let kept = match &args.output {
            Some(path) if crate::output::holds_file(path) => {
                format!("; {} was left as it was", crate::finding::escape_text(&path.display().to_string()))
            }
            _ => String::new(),
        };
        eprintln!("ndaguard: interrupted: no baseline written{kept}");
        return Ok(super::EXIT_INTERRUPTED);
    }
    if report.summary.errors > 0 {
        super::warn_unreadable(&report);
    }
    let baseline = Baseline::from_findings(&report.findings);
    let mut buf = serde_json::to_vec_pretty(&baseline)?;
    buf.push(b'\n');
    match &args.output {
        Some(path) => super::write_file_within(path, &buf, &req.root)?,
        None => super::emit(&buf)?,
    }
    eprintln!("ndaguard: baseline of {} finding(s) written", baseline.findings.len());
    Ok(if report.summary.errors > 0 { super::EXIT_ERROR } else { super::EXIT_CLEAN })
}
