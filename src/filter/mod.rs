//! Suppressions applied after matching: inline `ndaguard:allow` comments, the `[allowlist]` of
//! the configuration, and the baseline. All data is loaded before the scan; nothing here does I/O
//! mid-scan.

pub mod allowlist;
pub mod baseline;
pub mod inline;

pub use allowlist::Allowlist;
