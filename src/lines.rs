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
}

impl<'a> LineIndex<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        LineIndex { data, pos: 0, line: 1, line_start: 0 }
    }

    /// The (line, column) of byte `offset`.
    pub(crate) fn locate(&mut self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.data.len());
        if offset < self.line_start {
            self.pos = 0;
            self.line = 1;
            self.line_start = 0;
        } else if offset < self.pos {
            return (self.line, chars(&self.data[self.line_start..offset]) + 1);
        }
        for nl in memchr::memchr_iter(b'\n', &self.data[self.pos..offset]) {
            self.line += 1;
            self.line_start = self.pos + nl + 1;
        }
        self.pos = offset;
        (self.line, chars(&self.data[self.line_start..offset]) + 1)
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
}
