//! ndaguard: a secret-leak scanner that knows which tokens are bound by NDAs.
//!
//! The data flows one way (design.md §8): a source (the file-system walker, git, stdin) yields
//! blobs; the [`engine`] picks candidate rules with one Aho-Corasick automaton over all keywords,
//! confirms them with `regex::bytes`, and filters by entropy, checksum and placeholder checks;
//! [`scan`] applies suppressions and makes [`finding::Finding`]s; [`app`] sorts them and hands
//! them to a [`report`].
//!
//! Everything expensive (rules, automaton) is built once and shared; each worker thread keeps
//! its own scratch space. Bytes are scanned, not strings; lines and columns are computed only for
//! findings.

#![deny(missing_docs)]
#![deny(clippy::unwrap_used)]

pub mod app;
pub mod breach;
pub mod ci;
pub mod cli;
pub mod config;
pub mod decode;
pub mod engine;
pub mod error;
pub mod filter;
pub mod finding;
#[doc(hidden)]
pub mod fuzzing;
pub mod hook;
pub mod incident;
pub mod output;
pub mod registry;
pub mod report;
pub mod rules;
pub mod scan;
pub mod source;
#[cfg(test)]
mod testutil;

pub use error::{Error, Result};
