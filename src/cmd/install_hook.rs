//! `ndaguard install-hook`: a plain git pre-commit hook that runs `ndaguard scan --staged`.
//!
//! The hook goes where git looks for hooks (`core.hooksPath` if set, else `.git/hooks`). An
//! existing hook that ndaguard did not write is kept unless `--force` is given. The hook calls
//! `ndaguard` from `PATH`, falling back to the binary that installed it.

use std::path::PathBuf;

use anyhow::Result;

use crate::cli::InstallHookArgs;
use crate::error::Error;

const MARKER: &str = "# installed by ndaguard install-hook";

/// The hook script.
fn script(fallback: &str) -> String {
    let quoted = fallback.replace('\'', "'\\''");
    format!(
        "#!/bin/sh\n{MARKER}\n# Scans the staged changes for secrets and NDA-bound tokens before each commit.\n# Skip once with `git commit --no-verify`; suppress a false positive with `ndaguard:allow`.\nif command -v ndaguard >/dev/null 2>&1; then\n  exec ndaguard scan --staged --no-progress\nfi\nexec '{quoted}' scan --staged --no-progress\n"
    )
}

/// Installs the pre-commit hook.
pub(super) fn run(args: &InstallHookArgs) -> Result<u8> {
    let start = args.path.clone().unwrap_or_else(|| PathBuf::from("."));
    let repo = git2::Repository::discover(&start)
        .map_err(|e| Error::Usage(format!("{}: not a git repository ({})", start.display(), e.message())))?;
    if repo.is_bare() {
        return Err(Error::Usage("a bare repository has no commits to hook".into()).into());
    }
    let hooks_dir = match repo.config().ok().and_then(|c| c.get_path("core.hooksPath").ok()) {
        Some(p) if p.is_absolute() => p,
        Some(p) => repo.workdir().map(|w| w.join(&p)).unwrap_or(p),
        None => repo.path().join("hooks"),
    };
    std::fs::create_dir_all(&hooks_dir).map_err(|e| Error::io(&hooks_dir, e))?;
    let hook = hooks_dir.join("pre-commit");
    if let Ok(existing) = std::fs::read_to_string(&hook) {
        if !existing.contains(MARKER) && !args.force {
            return Err(Error::Usage(format!(
                "{} already exists and was not written by ndaguard; use --force to replace it",
                hook.display()
            ))
            .into());
        }
    }
    let exe = std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_else(|_| "ndaguard".into());
    std::fs::write(&hook, script(&exe)).map_err(|e| Error::io(&hook, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).map_err(|e| Error::io(&hook, e))?;
    }
    eprintln!("ndaguard: installed {}", hook.display());
    Ok(0)
}
