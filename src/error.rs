//! The library's error type.
//!
//! Every error that bad input can cause names where the input came from: the file, and where it
//! is known, the line, the entry (a rule id or a registry id) and the field. The binary prints
//! these with their context and exits with code 2.

use std::path::PathBuf;

/// Errors of the ndaguard library.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration, rule or registry file that is not valid.
    #[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        /// The file (or `<built-in>/NAME` for embedded rules).
        file: String,
        /// 1-based line, when known.
        line: Option<usize>,
        /// What is wrong, naming the entry and field.
        message: String,
    },
    /// An I/O error on a named path.
    // The OS error is part of the message and not the error's source, so that a printed chain
    // (`{:#}`) does not say it twice.
    #[error("{}: {error}", path.display())]
    Io {
        /// The path that could not be read or written.
        path: PathBuf,
        /// The underlying error.
        error: std::io::Error,
    },
    /// A git error.
    #[error("{context}: {message}")]
    Git {
        /// What was being done.
        context: String,
        /// libgit2's message.
        message: String,
    },
    /// Bad usage (arguments that do not fit together).
    #[error("{0}")]
    Usage(String),
}

impl Error {
    /// An invalid-input error at a file and (optional) line.
    pub fn invalid(file: impl Into<String>, line: Option<usize>, message: impl Into<String>) -> Self {
        Error::Invalid { file: file.into(), line, message: message.into() }
    }

    /// An I/O error on a path.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), error: source }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
