//! `ndaguard completions SHELL`: prints a completion script for the shell (clap_complete), made
//! from the same argument definitions the binary parses, so it never drifts from them.

use anyhow::Result;
use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};

pub(super) fn run(args: &CompletionsArgs) -> Result<u8> {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "ndaguard", &mut buf);
    super::emit(&buf)?;
    Ok(super::EXIT_CLEAN)
}
