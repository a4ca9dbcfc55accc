//! `ndaguard install-hook`: a plain git pre-commit hook. (Being written: see issue 5.)

use anyhow::Result;

use crate::cli::InstallHookArgs;
use crate::error::Error;

/// Installs the pre-commit hook.
pub fn install(_args: &InstallHookArgs) -> Result<u8> {
    Err(Error::Usage("`ndaguard install-hook` is not available yet".into()).into())
}
