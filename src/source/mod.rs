//! Where blobs come from: the working tree (`fs`) and standard input. Sources read bytes and
//! hand them on; they never match.

pub mod chunked;
pub mod fs;
pub mod git;
pub mod linediff;
pub mod stdin;
