//! Lines and columns of byte offsets: the one line index of the crate.
//!
//! Findings, registry entries and configuration errors all name a 1-based line; findings also
//! name a 1-based column counted in characters (UTF-8 code points). Offsets are usually asked in
//! ascending order, which [`LineIndex`] answers incrementally; any order works.

/// Maps byte offsets of one text to 1-based lines and columns.
pub(crate) struct LineIndex<'a> {
    data: &'a [u8],
    pos: usize,
    line: usize,
    line_start: usize,
    /// Characters from `line_start` to `pos`: a column is counted from the last offset asked
    /// for, not from the line's start, so that many offsets on one long line (a minified file)
    /// cost the line's length once, not once each.
    chars_to_pos: usize,
}

impl<'a> LineIndex<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        LineIndex { data, pos: 0, line: 1, line_start: 0, chars_to_pos: 0 }
    }

    /// The (line, column) of byte `offset`.
    pub(crate) fn locate(&mut self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.data.len());
        if offset < self.line_start {
            self.pos = 0;
            self.line = 1;
            self.line_start = 0;
            self.chars_to_pos = 0;
        } else if offset < self.pos {
            // On the current line, a little before the last offset (a match's start after the
            // end of the match before it).
            return (self.line, self.chars_to_pos - chars(&self.data[offset..self.pos]) + 1);
        }
        let from = self.pos;
        for nl in memchr::memchr_iter(b'\n', &self.data[from..offset]) {
            self.line += 1;
            self.line_start = from + nl + 1;
        }
        self.chars_to_pos = if self.line_start > from {
            chars(&self.data[self.line_start..offset])
        } else {
            self.chars_to_pos + chars(&self.data[from..offset])
        };
        self.pos = offset;
        (self.line, self.chars_to_pos + 1)
    }

    /// The 1-based line holding byte `offset`.
    pub(crate) fn line(&mut self, offset: usize) -> usize {
        self.locate(offset).0
    }
}

/// Characters (UTF-8 code points) in `bytes`.
pub(crate) fn chars(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| (b & 0xC0) != 0x80).count()
}

/// The 1-based line number of byte `offset` in `text` (for one-off error positions).
pub(crate) fn line_of_offset(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    memchr::memchr_iter(b'\n', &text.as_bytes()[..end]).count() + 1
}

/// The offset where the line holding `offset` starts.
pub(crate) fn line_start(data: &[u8], offset: usize) -> usize {
    let offset = offset.min(data.len());
    memchr::memrchr(b'\n', &data[..offset]).map(|i| i + 1).unwrap_or(0)
}

/// The bytes of the line holding `offset` (without its line ending).
pub(crate) fn line_bytes(data: &[u8], offset: usize) -> &[u8] {
    let offset = offset.min(data.len());
    let start = line_start(data, offset);
    let end = memchr::memchr(b'\n', &data[offset..]).map(|i| offset + i).unwrap_or(data.len());
    let line = &data[start..end];
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The bytes of the line before the one holding `offset`, if any.
pub(crate) fn previous_line_bytes(data: &[u8], offset: usize) -> Option<&[u8]> {
    let offset = offset.min(data.len());
    let start = memchr::memrchr(b'\n', &data[..offset])?;
    Some(line_bytes(data, start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_index_counts_lines_and_characters() {
        let data = "ab\ncé d\r\nxyz".as_bytes();
        let mut idx = LineIndex::new(data);
        assert_eq!(idx.locate(0), (1, 1));
        assert_eq!(idx.locate(3), (2, 1));
        assert_eq!(idx.locate(7), (2, 4));
        assert_eq!(idx.locate(10), (3, 1));
        assert_eq!(idx.locate(1), (1, 2));
        assert_eq!(idx.line(11), 3);
        assert_eq!(line_bytes(data, 4), "cé d".as_bytes());
        assert_eq!(previous_line_bytes(data, 11), Some("cé d".as_bytes()));
        assert_eq!(previous_line_bytes(data, 1), None);
        assert_eq!(line_of_offset("a\nb\nc", 4), 3);
    }

    #[test]
    fn offsets_in_any_order_get_the_positions_a_count_from_the_start_gives() {
        // Seeded text of long and short lines with multi-byte characters; offsets asked mostly
        // ascending with small steps back (a match's start after the previous match's end), and
        // now and then far back: each answer must equal counting from the start of the text.
        let mut rng = crate::testutil::XorShift::new(0x9e37_79b9_7f4a_7c15);
        let pieces = ["a", "é", "€", "\n", "key = 1;", "\r\n", "𝄞"];
        let text: String = (0..4000).map(|_| pieces[(rng.next() % pieces.len() as u64) as usize]).collect();
        let data = text.as_bytes();
        let naive = |offset: usize| {
            let before = &data[..offset];
            let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
            let start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            (line, chars(&data[start..offset]) + 1)
        };
        let mut idx = LineIndex::new(data);
        let mut at = 0usize;
        for _ in 0..3000 {
            at = match rng.next() % 10 {
                0 => (rng.next() as usize) % data.len(),
                1..=3 => at.saturating_sub((rng.next() % 40) as usize),
                _ => (at + (rng.next() % 60) as usize).min(data.len()),
            };
            assert_eq!(idx.locate(at), naive(at), "offset {at}");
        }
    }
}
