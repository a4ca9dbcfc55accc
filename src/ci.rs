//! `ndaguard ci github`: the GitHub Actions mode. (Being written: see issue 5.)

use anyhow::Result;

use crate::cli::CiArgs;
use crate::error::Error;

/// Runs the CI mode.
pub fn run(_args: &CiArgs) -> Result<u8> {
    Err(Error::Usage("`ndaguard ci` is not available yet".into()).into())
}
