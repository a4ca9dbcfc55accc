//! Where blobs come from: the working tree ([`tree`]), standard input ([`stdin`]) and git
//! ([`git`]). Sources read bytes and hand them to a [`crate::blob::BlobSink`]; they never match,
//! and never import the scanner. `malloc` holds the allocator's tunables for scans.

pub(crate) mod git;
pub(crate) mod malloc;
pub(crate) mod stdin;
pub(crate) mod tree;
pub(crate) mod utf16;
