//! `ndaguard merge`: joins the JSON or SARIF reports of a sharded history scan into one.

use anyhow::{bail, Context, Result};

use crate::cli::MergeArgs;
use crate::report::merge::{self, Input};
use crate::report::Format;

pub(super) fn run(args: &MergeArgs) -> Result<u8> {
    let mut json = Vec::new();
    let mut sarif = Vec::new();
    for path in &args.reports {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        match merge::parse(&path.display().to_string(), &bytes).map_err(anyhow::Error::msg)? {
            Input::Json(r) => json.push(*r),
            Input::Sarif(v) => sarif.push(v),
        }
    }
    if !json.is_empty() && !sarif.is_empty() {
        bail!("cannot merge JSON reports with SARIF logs: give reports of one format");
    }
    if sarif.is_empty() {
        let merged = merge::merge_json(json).map_err(anyhow::Error::msg)?;
        super::write_report(
            &merged,
            Format::Json,
            args.output.as_deref(),
            None,
            crate::cli::ColorChoice::Never,
            false,
        )?;
        return Ok(super::exit_code(&merged, args.exit_code));
    }
    let merged = merge::merge_sarif(sarif).map_err(anyhow::Error::msg)?;
    let mut buf = serde_json::to_vec_pretty(&merged)?;
    buf.push(b'\n');
    match &args.output {
        Some(path) => super::write_file(path, &buf)?,
        None => super::emit(&buf)?,
    }
    let summary = merged.pointer("/runs/0/invocations/0/properties/summary");
    let count = |k: &str| summary.and_then(|s| s.get(k)).and_then(serde_json::Value::as_u64).unwrap_or(0);
    Ok(if count("errors") > 0 {
        super::EXIT_ERROR
    } else if count("findings") > 0 {
        args.exit_code.unwrap_or(super::EXIT_FINDINGS)
    } else {
        super::EXIT_CLEAN
    })
}
