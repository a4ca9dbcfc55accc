//! The `ndaguard` binary: parse arguments, run, map the outcome to an exit code.
//!
//! Exit codes: 0 nothing found, 1 findings (or `--exit-code N`), 2 a usage, configuration or I/O
//! error (or something could not be read), 130 interrupted.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = ndaguard::cli::Cli::parse();
    match ndaguard::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("ndaguard: error: {err:#}");
            ExitCode::from(ndaguard::EXIT_ERROR)
        }
    }
}
