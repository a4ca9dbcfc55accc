//! Scanning large inputs in bounded memory: fixed-size chunks with an overlap.
//!
//! Each buffer holds the last `overlap` bytes of the previous one and then `chunk` new bytes. A
//! buffer reports the matches that start before its last `overlap` bytes (the last buffer
//! reports to its end); the next buffer starts exactly there, so the buffers' report ranges
//! partition the file. So every match up to `overlap` bytes long is reported exactly once, with
//! its line and column in the whole file, whatever chunk boundary it straddles. Memory is
//! `chunk + overlap` per thread, whatever the file size.

use std::io::Read;

use crate::finding::Finding;
use crate::scan::{Origin, Scanner, ThreadState};

/// Default chunk size.
pub const CHUNK: usize = 8 * 1024 * 1024;
/// Default overlap: longer than any match a built-in rule can make in practice (a 16384-bit
/// RSA key in PEM is about 12 KiB).
pub const OVERLAP: usize = 256 * 1024;

/// What a chunked scan produced.
#[derive(Debug, Default)]
pub struct ChunkedResult {
    /// Findings with whole-file lines, columns and offsets.
    pub findings: Vec<Finding>,
    /// Suppressed matches.
    pub suppressed: u64,
    /// Bytes read.
    pub bytes: u64,
}

fn chars(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| (b & 0xC0) != 0x80).count()
}

/// Scans everything `reader` yields. `first` holds bytes already read from it (for example a
/// probe for binary content).
pub fn scan_reader(
    scanner: &Scanner,
    mut reader: impl Read,
    first: Vec<u8>,
    origin: Origin<'_>,
    state: &mut ThreadState,
    chunk: usize,
    overlap: usize,
) -> std::io::Result<ChunkedResult> {
    // A chunk longer than the overlap guarantees progress.
    let chunk = chunk.max(overlap + 1);
    let mut out = ChunkedResult::default();
    let mut buf = first;
    let mut carry = 0usize; // bytes at the start of `buf` that the previous buffer also held
    let mut base = 0usize; // file offset of buf[0]
    let mut lines_before = 0usize; // newlines in the file before `base`
    let mut col_before = 0usize; // characters between the last newline before `base` and `base`
    loop {
        // Fill the buffer up to carry + chunk bytes (or end of input).
        let want = carry + chunk;
        let mut eof = false;
        while buf.len() < want {
            let old = buf.len();
            buf.resize(want, 0);
            match reader.read(&mut buf[old..]) {
                Ok(0) => {
                    buf.truncate(old);
                    eof = true;
                    break;
                }
                Ok(n) => buf.truncate(old + n),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => buf.truncate(old),
                Err(e) => return Err(e),
            }
        }
        out.bytes += (buf.len() - carry) as u64;
        let limit = if eof { usize::MAX } else { buf.len().saturating_sub(overlap) };
        let res = scanner.scan(&buf, origin, state);
        for mut f in res.findings {
            if f.offset >= limit {
                continue;
            }
            if f.line == 1 {
                f.column += col_before;
                if f.end_line == 1 {
                    f.end_column += col_before;
                }
            }
            f.line += lines_before;
            f.end_line += lines_before;
            f.offset += base;
            out.findings.push(f);
        }
        out.suppressed += res.suppressed;
        if eof || crate::app::interrupted() {
            break;
        }
        // The next buffer starts `overlap` bytes before this one's end.
        let next = buf.len().saturating_sub(overlap).max(carry.min(buf.len()));
        let consumed = &buf[..next];
        match memchr::memrchr(b'\n', consumed) {
            Some(i) => col_before = chars(&consumed[i + 1..]),
            None => col_before += chars(consumed),
        }
        lines_before += memchr::memchr_iter(b'\n', consumed).count();
        base += next;
        buf.drain(..next);
        carry = buf.len();
    }
    Ok(out)
}
