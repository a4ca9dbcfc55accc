//! ndaguard: a secret-leak scanner that knows which tokens are bound by NDAs.
//!
//! The data flows one way (ARCHITECTURE.md): a source (the working tree, git, standard input)
//! hands blobs to a sink; the [`Scanner`] behind it runs the [`engine`] (one Aho-Corasick
//! automaton over all rule keywords, then `regex::bytes`, entropy, checksum and placeholder
//! filters), applies suppressions, looks blobs up in the NDA [`registry`], and makes
//! [`finding::Finding`]s; the pipeline sorts them and a [`report`] writes them.
//!
//! The public API is what an embedder or a benchmark needs: build an [`engine::Engine`] from
//! [`rules`], wrap it in a [`Scanner`], scan bytes, and write [`report`]s; plus [`check_rules`]
//! and the fuzzing entry points. Everything else is internal to the binary.
//!
//! ```
//! let rules = ndaguard::rules::builtin().expect("built-in rules");
//! let engine = ndaguard::engine::Engine::new(rules).expect("engine");
//! let scanner = ndaguard::Scanner::new(engine, ndaguard::filter::Allowlist::empty(), Default::default());
//! let found = scanner.find(b"no secret here\n", "notes.txt", &mut Default::default());
//! assert!(found.is_empty());
//! ```

#![deny(missing_docs)]
#![deny(clippy::unwrap_used)]

pub mod breach;
pub mod cli;
pub mod engine;
pub mod filter;
pub mod finding;
#[doc(hidden)]
pub mod fuzzing;
pub mod incident;
pub mod registry;
pub mod report;
pub mod rules;

mod blob;
mod cancel;
mod cmd;
mod config;
mod error;
mod input;

mod lines;
mod lock;
mod output;
mod pipeline;
mod scan;
mod settings;
mod source;
#[cfg(test)]
mod testutil;

pub use cmd::{run, EXIT_ERROR};
pub use error::{Error, Result};
pub use scan::check::{check_rules, CheckFailure, CheckReport};
pub use scan::{ScanOptions, ScanState, Scanner};
