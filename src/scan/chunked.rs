//! Scanning large inputs in bounded memory: fixed-size chunks with an overlap.
//!
//! Each buffer holds the last `overlap` bytes of the previous one and then `chunk` new bytes. A
//! buffer reports the matches that start before its last `overlap` bytes (the last buffer
//! reports to its end); the next buffer starts exactly there, so the buffers' report ranges
//! partition the file. So every match up to `overlap` bytes long is reported exactly once, with
//! its line and column in the whole file, whatever chunk boundary it straddles. Memory is
//! `chunk + overlap` per thread, whatever the file size.

use std::io::Read;

use crate::blob::{Origin, Scanned};
pub(crate) use crate::blob::{CHUNK, OVERLAP};
use crate::cancel::Cancel;
use crate::lines::chars;
use crate::scan::{ScanState, Scanner};

/// Scans everything `reader` yields, until its end or until `cancel` is cancelled. `first` holds
/// bytes already read from it (for example a probe for binary content).
#[allow(clippy::too_many_arguments)]
pub(crate) fn scan_reader(
    scanner: &Scanner,
    mut reader: impl Read,
    first: Vec<u8>,
    origin: Origin<'_>,
    state: &mut ScanState,
    cancel: &Cancel,
    chunk: usize,
    overlap: usize,
) -> std::io::Result<Scanned> {
    // A chunk longer than the overlap guarantees progress.
    let chunk = chunk.max(overlap + 1);
    let mut out = Scanned::default();
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
        for mut h in res.hits {
            if h.offset >= limit {
                continue;
            }
            let f = &mut h.finding;
            if f.line == 1 {
                f.column += col_before;
                if f.end_line == 1 {
                    f.end_column += col_before;
                }
            }
            f.line += lines_before;
            f.end_line += lines_before;
            h.offset += base;
            out.hits.push(h);
        }
        out.suppressed += res.suppressed;
        if eof || cancel.is_cancelled() {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{builtin_scanner, github_pat, XorShift};

    #[test]
    fn a_secret_across_every_chunk_boundary_offset_is_found_once_at_the_right_place() {
        let s = builtin_scanner();
        let tok = github_pat(&mut XorShift::new(500));
        let (chunk, overlap) = (96, 64);
        let origin = Origin { path: "f.txt", provenance: None };
        for offset in 0..(3 * chunk) {
            // Lines of filler with a multi-byte character, then the token at `offset`.
            let mut text = String::new();
            while text.len() < offset {
                text.push_str(if text.len() % 17 == 5 { "é\n" } else { "x" });
            }
            while text.len() > offset {
                text.pop();
            }
            text.push(' ');
            text.push_str(&tok);
            text.push_str(" tail\nmore text after the token\n");
            let mut st = ScanState::default();
            let whole = s.scan(text.as_bytes(), origin, &mut st);
            let res = scan_reader(&s, text.as_bytes(), Vec::new(), origin, &mut st, &Cancel::new(), chunk, overlap)
                .expect("reads");
            assert_eq!(res.hits.len(), 1, "offset {offset}: {:?}", res.hits);
            let (a, b) = (&whole.hits[0], &res.hits[0]);
            let pos = |h: &crate::blob::Hit| {
                (h.finding.line, h.finding.column, h.finding.end_line, h.finding.end_column, h.offset)
            };
            assert_eq!(pos(a), pos(b), "offset {offset}");
            assert_eq!(res.bytes, text.len() as u64);
        }
    }

    #[test]
    fn a_cancelled_stream_stops_after_the_current_chunk() {
        let s = builtin_scanner();
        let text = "x".repeat(10_000);
        let cancel = Cancel::new();
        cancel.cancel();
        let origin = Origin { path: "f.txt", provenance: None };
        let res = scan_reader(&s, text.as_bytes(), Vec::new(), origin, &mut ScanState::default(), &cancel, 100, 10)
            .expect("reads");
        assert_eq!(res.bytes, 100);
    }
}
