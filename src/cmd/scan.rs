//! `ndaguard scan`: the working tree, standard input, git history, a range or the staged changes.

use anyhow::Result;

use crate::cancel::Cancel;
use crate::cli::ScanArgs;
use crate::pipeline;
use crate::report::Format;
use crate::settings::ScanRequest;

pub(super) fn run(args: &ScanArgs) -> Result<u8> {
    let req = ScanRequest::from_args(args);
    let report = pipeline::run(&req, &Cancel::ctrl_c())?;
    let format = args.format.unwrap_or(Format::Text);
    super::write_report(&report, format, args.output.as_deref(), Some(&req.root), args.color, args.verbose)?;
    Ok(super::exit_code(&report, args.exit_code))
}
