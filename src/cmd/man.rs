//! `ndaguard man`: the manual page in roff (clap_mangen), made from the argument definitions.
//! Without `--dir` it prints `ndaguard.1` (every option of the top level and the list of
//! subcommands); with `--dir DIR` it writes `ndaguard.1` and one `ndaguard-SUBCOMMAND.1` (and
//! `ndaguard-registry-add.1`, …) per subcommand into DIR, creating it.

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::{Cli, ManArgs};

/// The EXIT STATUS section (roff), which clap does not know about.
const EXIT_STATUS: &str = ".SH \"EXIT STATUS\"
.TP
0
Nothing found.
.TP
1
Findings (or the value of \\fB\\-\\-exit\\-code\\fR).
.TP
2
A usage, configuration or I/O error, or a file or object that could not be read.
.TP
130
Interrupted (Ctrl\\-C); what was found so far is reported, marked partial.
";

pub(super) fn run(args: &ManArgs) -> Result<u8> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    match &args.dir {
        None => super::emit(&render(cmd)?)?,
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            write_pages(cmd, dir)?;
            eprintln!("ndaguard: manual pages written to {}", dir.display());
        }
    }
    Ok(super::EXIT_CLEAN)
}

/// The page of `cmd`; the top level and `scan` get an EXIT STATUS section.
fn render(cmd: clap::Command) -> Result<Vec<u8>> {
    let exit_status = matches!(cmd.get_name(), "ndaguard" | "scan" | "baseline");
    let versioned = cmd.get_version().is_some() || cmd.get_long_version().is_some();
    let man = clap_mangen::Man::new(cmd);
    let mut buf = Vec::new();
    let res = (|| {
        man.render_title(&mut buf)?;
        man.render_name_section(&mut buf)?;
        man.render_synopsis_section(&mut buf)?;
        man.render_description_section(&mut buf)?;
        man.render_options_section(&mut buf)?;
        man.render_subcommands_section(&mut buf)?;
        if exit_status {
            buf.extend_from_slice(EXIT_STATUS.as_bytes());
        }
        if versioned {
            man.render_version_section(&mut buf)?;
        }
        Ok::<(), std::io::Error>(())
    })();
    res.context("cannot render the manual page")?;
    Ok(buf)
}

/// Writes the page of `cmd` and of each of its visible subcommands, named by their full path
/// (`ndaguard-registry-add.1`).
fn write_pages(cmd: clap::Command, dir: &std::path::Path) -> Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned() {
        write_pages(sub, dir)?;
    }
    let path = dir.join(clap_mangen::Man::new(cmd.clone()).get_filename());
    super::write_file(&path, &render(cmd)?)
}
