//! Transcoding UTF-16 to UTF-8 as a stream, so that UTF-16 files of any size are scanned in
//! chunks like UTF-8 ones (in bounded memory) and give exactly the text that transcoding them
//! whole gives.

use std::io::Read;

/// How much UTF-16 one refill reads.
const READ: usize = 64 * 1024;

/// A reader of UTF-8 text from a reader of UTF-16 (without its byte-order mark). Unpaired
/// surrogates become U+FFFD; a final odd byte is dropped (as [`super::tree::decode_utf16`] does).
pub(crate) struct Utf16Reader<R> {
    inner: R,
    little: bool,
    /// UTF-16 bytes read but not yet decoded: an odd byte, or a high surrogate waiting for its pair.
    pending: Vec<u8>,
    /// Decoded UTF-8 not yet handed out, from `out_at` on.
    out: Vec<u8>,
    out_at: usize,
    eof: bool,
}

impl<R: Read> Utf16Reader<R> {
    /// Decodes `first` (bytes already read, without the byte-order mark) and then the rest of
    /// `inner`, little-endian or big-endian.
    pub(crate) fn new(first: Vec<u8>, inner: R, little: bool) -> Utf16Reader<R> {
        Utf16Reader { inner, little, pending: first, out: Vec::new(), out_at: 0, eof: false }
    }

    /// Decodes the complete code units of `pending`, keeping a trailing odd byte and (until the
    /// end of input) a trailing high surrogate.
    fn decode(&mut self) {
        let unit =
            |c: &[u8]| if self.little { u16::from_le_bytes([c[0], c[1]]) } else { u16::from_be_bytes([c[0], c[1]]) };
        let mut whole = self.pending.len() & !1;
        if !self.eof && whole >= 2 && (0xD800..0xDC00).contains(&unit(&self.pending[whole - 2..whole])) {
            whole -= 2;
        }
        let units = self.pending[..whole].chunks_exact(2).map(unit);
        let mut utf8 = [0u8; 4];
        for ch in char::decode_utf16(units) {
            let ch = ch.unwrap_or(char::REPLACEMENT_CHARACTER);
            self.out.extend_from_slice(ch.encode_utf8(&mut utf8).as_bytes());
        }
        self.pending.drain(..whole);
        if self.eof {
            self.pending.clear();
        }
    }
}

impl<R: Read> Read for Utf16Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if self.out_at < self.out.len() {
                let n = buf.len().min(self.out.len() - self.out_at);
                buf[..n].copy_from_slice(&self.out[self.out_at..self.out_at + n]);
                self.out_at += n;
                return Ok(n);
            }
            self.out.clear();
            self.out_at = 0;
            if self.eof {
                return Ok(0);
            }
            let old = self.pending.len();
            self.pending.resize(old + READ, 0);
            match self.inner.read(&mut self.pending[old..]) {
                Ok(0) => {
                    self.pending.truncate(old);
                    self.eof = true;
                }
                Ok(n) => self.pending.truncate(old + n),
                Err(e) => {
                    self.pending.truncate(old);
                    if e.kind() != std::io::ErrorKind::Interrupted {
                        return Err(e);
                    }
                }
            }
            self.decode();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out at most `step` bytes a call.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn streamed_text_equals_whole_text_at_every_split() {
        // ASCII, a two-byte and a three-byte character, a surrogate pair, an unpaired high
        // surrogate, and a final odd byte.
        let text = "key = \"é€\u{1F600}\" line\r\nnext\n";
        for little in [true, false] {
            let mut bytes: Vec<u8> = text
                .encode_utf16()
                .chain([0xD800, 0x41])
                .flat_map(|u| if little { u.to_le_bytes() } else { u.to_be_bytes() })
                .collect();
            bytes.push(0x42);
            let want = format!("{text}\u{FFFD}A");
            for first in 0..bytes.len() {
                for step in [1, 2, 3, 7] {
                    let mut r = Utf16Reader::new(bytes[..first].to_vec(), Trickle(&bytes[first..], step), little);
                    let mut got = String::new();
                    r.read_to_string(&mut got).expect("reads");
                    assert_eq!(got, want, "little {little}, first {first}, step {step}");
                }
            }
        }
    }
}
