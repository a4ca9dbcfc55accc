//! Inline suppression: `ndaguard:allow` on the line of a finding, or `ndaguard:allow-next-line`
//! on the line before it. A reason may follow (`ndaguard:allow test fixture`); it is for people.

use crate::lines::{line_bytes, previous_line_bytes};

const ALLOW: &[u8] = b"ndaguard:allow";
const ALLOW_NEXT: &[u8] = b"ndaguard:allow-next-line";

/// Whether the finding at byte `offset` of `data` is suppressed by an inline comment.
pub fn is_allowed(data: &[u8], offset: usize) -> bool {
    let line = line_bytes(data, offset);
    if has_allow_on_line(line) {
        return true;
    }
    match previous_line_bytes(data, offset) {
        Some(prev) => allows_next_line(prev),
        None => false,
    }
}

/// Whether `line` suppresses findings on the line after it (`ndaguard:allow-next-line`).
pub fn allows_next_line(line: &[u8]) -> bool {
    memchr::memmem::find(line, ALLOW_NEXT).is_some()
}

/// `ndaguard:allow` but not `ndaguard:allow-next-line` (which applies to the next line only).
fn has_allow_on_line(line: &[u8]) -> bool {
    memchr::memmem::find_iter(line, ALLOW).any(|i| !line[i..].starts_with(ALLOW_NEXT))
}

#[cfg(test)]
mod tests {
    use super::is_allowed;

    #[test]
    fn same_line_and_next_line() {
        let data = b"a = 1\nkey = \"s3cr3t\" # ndaguard:allow test value\n# ndaguard:allow-next-line\nkey2 = \"x\"\nkey3 = \"y\"\n";
        let off = |needle: &[u8]| data.windows(needle.len()).position(|w| w == needle).expect("present");
        assert!(is_allowed(data, off(b"s3cr3t")));
        assert!(is_allowed(data, off(b"key2")));
        assert!(!is_allowed(data, off(b"key3")));
        assert!(!is_allowed(data, off(b"a = 1")));
    }

    #[test]
    fn allow_next_line_does_not_allow_its_own_line() {
        let data = b"token = abc # ndaguard:allow-next-line\n";
        assert!(!is_allowed(data, 8));
    }
}
