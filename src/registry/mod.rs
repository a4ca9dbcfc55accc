//! The NDA registry: tokens bound by agreements, stored as keyed hashes (design.md §4).
//! (Being written: see issue 4.)

use anyhow::Result;

use crate::cli::RegistryArgs;
use crate::error::Error;

/// Runs `ndaguard registry …`.
pub fn command(_args: &RegistryArgs) -> Result<u8> {
    Err(Error::Usage("`ndaguard registry` is not available yet".into()).into())
}
