//! `ndaguard install-hook`: a plain git pre-commit hook that runs `ndaguard scan --staged`.
//!
//! The hook goes where git runs hooks (`git rev-parse --git-path hooks`): `core.hooksPath` if
//! set (relative to the work tree's top), else `hooks/` in the repository's common directory, so
//! that a linked worktree's commits run it too. A hook that is already there and that ndaguard
//! did not write is kept, byte for byte, as `pre-commit.ndaguard-chained`, and the new hook runs
//! it first (its failure stops the commit as before); `--force` replaces it instead.
//! `--uninstall` removes ndaguard's hook and puts the chained one back. The hook calls
//! `ndaguard` from `PATH`, falling back to the binary that installed it.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::cli::InstallHookArgs;
use crate::error::Error;

const MARKER: &str = "# installed by ndaguard install-hook";
const HOOK: &str = "pre-commit";
/// Where an existing hook is kept, beside ndaguard's.
const CHAINED: &str = "pre-commit.ndaguard-chained";

/// The hook script.
fn script(fallback: &str) -> String {
    let quoted = fallback.replace('\'', "'\\''");
    format!(
        "#!/bin/sh\n{MARKER}\n# Runs the pre-commit hook that was here before (kept as {CHAINED}), then scans the\n# staged changes for secrets and NDA-bound tokens. Skip once with `git commit --no-verify`;\n# suppress a false positive with `ndaguard:allow`; remove with `ndaguard install-hook --uninstall`.\nchained=\"$(dirname \"$0\")/{CHAINED}\"\nif [ -x \"$chained\" ]; then\n  \"$chained\" \"$@\" || exit $?\nfi\nif command -v ndaguard >/dev/null 2>&1; then\n  exec ndaguard scan --staged --no-progress\nfi\nexec '{quoted}' scan --staged --no-progress\n"
    )
}

/// The directory git runs hooks from, as `git rev-parse --git-path hooks` says.
fn hooks_dir(repo: &git2::Repository) -> PathBuf {
    let configured = repo.config().ok().and_then(|c| c.get_path("core.hooksPath").ok());
    match configured {
        Some(p) if p.is_absolute() => p,
        Some(p) => repo.workdir().map(|w| w.join(&p)).unwrap_or_else(|| repo.commondir().join(p)),
        None => repo.commondir().join("hooks"),
    }
}

/// Whether something (a file, a link, even a dangling one) is at `path`.
fn present(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// Whether the hook at `path` is a file that ndaguard wrote (bytes: a hook need not be UTF-8).
fn ours(path: &Path) -> bool {
    let is_file = std::fs::symlink_metadata(path).map(|m| m.file_type().is_file()).unwrap_or(false);
    is_file && std::fs::read(path).is_ok_and(|b| b.windows(MARKER.len()).any(|w| w == MARKER.as_bytes()))
}

/// Installs (or with `--uninstall`, removes) the pre-commit hook.
pub(super) fn run(args: &InstallHookArgs) -> Result<u8> {
    let start = args.path.clone().unwrap_or_else(|| PathBuf::from("."));
    let repo = git2::Repository::discover(&start)
        .map_err(|e| Error::Usage(format!("{}: not a git repository ({})", start.display(), e.message())))?;
    if repo.is_bare() {
        return Err(Error::Usage("a bare repository has no commits to hook".into()).into());
    }
    let dir = hooks_dir(&repo);
    if args.uninstall {
        return uninstall(&dir);
    }
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let hook = dir.join(HOOK);
    let chained = dir.join(CHAINED);
    if present(&hook) && !ours(&hook) {
        if args.force {
            eprintln!("ndaguard: replacing {} (--force)", hook.display());
        } else if present(&chained) {
            return Err(Error::Usage(format!(
                "{} was not written by ndaguard and {} already exists; move one of them away, or use --force to replace the hook",
                hook.display(),
                chained.display()
            ))
            .into());
        } else {
            std::fs::rename(&hook, &chained).map_err(|e| Error::io(&hook, e))?;
            eprintln!("ndaguard: kept the existing hook as {}; it runs first", chained.display());
        }
    }
    let exe = std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_else(|_| "ndaguard".into());
    write_executable(&dir, &hook, script(&exe).as_bytes())?;
    eprintln!("ndaguard: installed {}", hook.display());
    Ok(0)
}

/// Removes ndaguard's hook and restores the chained one, if any.
fn uninstall(dir: &Path) -> Result<u8> {
    let hook = dir.join(HOOK);
    let chained = dir.join(CHAINED);
    if present(&hook) && !ours(&hook) {
        return Err(Error::Usage(format!("{} was not written by ndaguard; left as it is", hook.display())).into());
    }
    if present(&hook) {
        std::fs::remove_file(&hook).map_err(|e| Error::io(&hook, e))?;
        eprintln!("ndaguard: removed {}", hook.display());
    } else {
        eprintln!("ndaguard: no ndaguard hook in {}", dir.display());
    }
    if present(&chained) {
        std::fs::rename(&chained, &hook).map_err(|e| Error::io(&chained, e))?;
        eprintln!("ndaguard: restored the previous hook {}", hook.display());
    }
    Ok(0)
}

/// Writes `bytes` to `path` through a temporary file in `dir` and a rename, so that a symbolic
/// link at `path` is replaced, never written through, and a failed write leaves no half hook.
fn write_executable(dir: &Path, path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, e))?;
    tmp.write_all(bytes).map_err(|e| Error::io(path, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file().set_permissions(std::fs::Permissions::from_mode(0o755)).map_err(|e| Error::io(path, e))?;
    }
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}
