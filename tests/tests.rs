//! The one integration-test binary: each module tests one area end to end through the
//! `ndaguard` binary or the library.

mod common;

mod ci_flags;
mod cli;
mod credentials;
mod fuzz_smoke;
mod git;
mod git_objects;
mod hooks;
mod hostile;
mod hostile_git;
mod hostile_io;
mod incident;
mod integrations;
mod registry;
mod reliability;
mod repo_root;
mod rules;
mod scale;
mod shell;
