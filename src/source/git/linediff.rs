//! Which parts of a file version are new: the lines of `new` that `old` does not have.
//!
//! A history scan reads every version of every file. Most of a version is the previous version's
//! text, which was scanned already (at the same path, under an earlier commit), so only the lines
//! that the previous version lacks need scanning, with a few lines of context around them for
//! matches that span lines (a key id and its secret, a PEM block, `password:` and its value on
//! the next line).
//!
//! Lines of `new` are first matched to `old` in order, a few lines ahead at a time; those are not
//! new. The unmatched rest are scanned, unless they are a large part of the file (a reordered
//! file): then a table of all old lines tells moved lines from new ones, and only new ones are
//! scanned. A line counts as old only when it equals an old line byte for byte, so no hash
//! collision can hide a new line; at worst a moved line is scanned again.
//!
//! A line also counts as new when the line before it gained or lost `ndaguard:allow-next-line`:
//! deleting that comment exposes the line below it, which must then be scanned (the version
//! without the suppression is an exposure of its own).

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;

use crate::filter::inline::allows_next_line;

/// Lines of unchanged text scanned before and after each run of new lines.
pub(crate) const CONTEXT_LINES: usize = 3;
/// How many old lines ahead a line of `new` is looked for before it counts as unmatched.
const WINDOW: usize = 16;
/// Regions closer than this many bytes are merged into one.
const MERGE_GAP: usize = 512;

/// A fast multiplicative hash for line bytes. Equality is still checked on the bytes, so this
/// only has to spread lines, not resist collisions.
#[derive(Default)]
struct LineHasher(u64);

impl Hasher for LineHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut h = self.0 ^ (bytes.len() as u64).wrapping_mul(K);
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            h = (h.rotate_left(23) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            h = (h.rotate_left(23) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
        self.0 = h ^ (h >> 29);
    }
    /// The length prefix of a slice's `Hash`: `write` already mixes in the length.
    fn write_usize(&mut self, _: usize) {}
}

/// Lines of `data` (without their `\n`), with their start offsets.
fn lines(data: &[u8]) -> impl Iterator<Item = (usize, &[u8])> + '_ {
    let mut pos = 0;
    std::iter::from_fn(move || {
        if pos >= data.len() {
            return None;
        }
        let start = pos;
        let end = memchr::memchr(b'\n', &data[pos..]).map_or(data.len(), |i| pos + i);
        pos = end + 1;
        Some((start, &data[start..end]))
    })
}

/// Lines of `data` as [`lines`] gives them, each with whether the line before it (the first
/// one's: `before`) suppresses it with `ndaguard:allow-next-line`. With `look` false (neither
/// version holds the comment), no line is searched for it.
fn lines_in_context(data: &[u8], before: bool, look: bool) -> impl Iterator<Item = (usize, (&[u8], bool))> + '_ {
    let mut allowed = before;
    lines(data).map(move |(at, line)| {
        let next = look && allows_next_line(line);
        (at, (line, std::mem::replace(&mut allowed, next)))
    })
}

/// Whether the last line of `data[..end]` (`end` a line start) holds `ndaguard:allow-next-line`.
fn allows_line_at(data: &[u8], end: usize) -> bool {
    if end == 0 {
        return false;
    }
    let start = memchr::memrchr(b'\n', &data[..end - 1]).map_or(0, |i| i + 1);
    allows_next_line(&data[start..end])
}

/// The start of the line `n` lines before the line that starts at `at` (a line start).
fn back_lines(data: &[u8], mut at: usize, n: usize) -> usize {
    for _ in 0..n {
        if at == 0 {
            break;
        }
        at = memchr::memrchr(b'\n', &data[..at - 1]).map_or(0, |i| i + 1);
    }
    at
}

/// The end (past the `\n`) of the line `n` lines after the line that ends at `at` (a line end).
fn forward_lines(data: &[u8], mut at: usize, n: usize) -> usize {
    for _ in 0..n {
        if at >= data.len() {
            break;
        }
        at = memchr::memchr(b'\n', &data[at..]).map_or(data.len(), |i| at + i + 1);
    }
    at
}

/// Block size for comparing the common ends of two versions (slice equality is a `memcmp`).
const BLOCK: usize = 64;

/// Length of the longest common prefix of `a` and `b`.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + BLOCK <= n && a[i..i + BLOCK] == b[i..i + BLOCK] {
        i += BLOCK;
    }
    i + a[i..n].iter().zip(&b[i..n]).take_while(|(x, y)| x == y).count()
}

/// Length of the longest common suffix of `a` and `b`.
fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let (a, b) = (&a[a.len() - n..], &b[b.len() - n..]);
    let mut k = 0;
    while k + BLOCK <= n && a[n - k - BLOCK..n - k] == b[n - k - BLOCK..n - k] {
        k += BLOCK;
    }
    k + a[..n - k].iter().rev().zip(b[..n - k].iter().rev()).take_while(|(x, y)| x == y).count()
}

/// The byte ranges of `new` to scan so that every line of `new` is covered by this scan or by
/// the scan of `old`: runs of lines that `old` does not hold (and possibly a few that moved),
/// each widened by [`CONTEXT_LINES`] lines on both sides, merged where they touch. Ranges start
/// at line starts and end at line ends (past the `\n`), in order. Empty when `new` holds only
/// lines of `old`.
pub(crate) fn changed_regions(old: &[u8], new: &[u8]) -> Vec<Range<usize>> {
    // Common prefix and suffix, in whole lines.
    let same = common_prefix(old, new);
    if same == new.len() && same == old.len() {
        return Vec::new();
    }
    let prefix = memchr::memrchr(b'\n', &new[..same]).map_or(0, |i| i + 1);
    let max_suffix = (old.len().min(new.len())) - prefix;
    let suffix = common_suffix(&old[old.len() - max_suffix..], &new[new.len() - max_suffix..]);
    let tail = new.len() - suffix;
    // The suffix starts at a line start of `new` (and so of `old`, which has the same bytes).
    let mut mid_end = if tail == 0 || new[tail - 1] == b'\n' {
        tail
    } else {
        memchr::memchr(b'\n', &new[tail..]).map_or(new.len(), |i| tail + i + 1)
    };
    let old_end = |mid_end: usize| old.len() - (new.len() - mid_end);
    if mid_end < new.len() && mid_end >= prefix && allows_line_at(new, mid_end) != allows_line_at(old, old_end(mid_end))
    {
        // The first line of the common suffix gained or lost its suppression: compare it too.
        mid_end = memchr::memchr(b'\n', &new[mid_end..]).map_or(new.len(), |i| mid_end + i + 1);
    }
    let old_mid_end = old_end(mid_end);
    let old_mid = if prefix <= old_mid_end { &old[prefix..old_mid_end] } else { &[][..] };
    let new_mid = &new[prefix..mid_end];
    // The line before both middles is the same line of the common prefix.
    let before = allows_line_at(new, prefix);

    // Lines of `new` found in `old` in order (each looked for among the next [`WINDOW`] old
    // lines) are not new. That is most of them, checked without hashing.
    // One search of each middle instead of one per line, when (as almost always) neither holds
    // the comment.
    let look = allows_next_line(old_mid) || allows_next_line(new_mid);
    let old_lines: Vec<(&[u8], bool)> = lines_in_context(old_mid, before, look).map(|(_, l)| l).collect();
    let mut next_old = 0;
    let mut unmatched: Vec<(usize, (&[u8], bool))> = Vec::new();
    let mut unmatched_bytes = 0;
    for (at, line) in lines_in_context(new_mid, before, look) {
        let window = &old_lines[next_old.min(old_lines.len())..(next_old + WINDOW).min(old_lines.len())];
        match window.iter().position(|l| *l == line) {
            Some(d) => next_old += d + 1,
            None => {
                unmatched.push((at, line));
                unmatched_bytes += line.0.len() + 1;
            }
        }
    }
    // The rest are new lines, or lines that moved. When they are many, the moved ones are told
    // apart with a table of all old lines, so that a reordered file is not scanned again; when
    // they are few, scanning them costs less than the table.
    if unmatched_bytes * 2 > old_mid.len() {
        let mut known: HashSet<(&[u8], bool), BuildHasherDefault<LineHasher>> =
            HashSet::with_capacity_and_hasher(old_lines.len(), BuildHasherDefault::default());
        known.extend(old_lines.iter().copied());
        unmatched.retain(|(_, line)| !known.contains(line));
    }
    // Runs of new lines, as byte ranges of `new`.
    let mut runs: Vec<Range<usize>> = Vec::new();
    for (at, (line, _)) in unmatched {
        let start = prefix + at;
        let end = (start + line.len() + 1).min(new.len());
        match runs.last_mut() {
            Some(r) if r.end == start => r.end = end,
            _ => runs.push(start..end),
        }
    }
    let mut out: Vec<Range<usize>> = Vec::with_capacity(runs.len());
    for r in runs {
        let start = back_lines(new, r.start, CONTEXT_LINES);
        let end = forward_lines(new, r.end, CONTEXT_LINES);
        match out.last_mut() {
            Some(prev) if start <= prev.end + MERGE_GAP => prev.end = prev.end.max(end),
            _ => out.push(start..end),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(lines: &[&str]) -> Vec<u8> {
        lines.iter().map(|l| format!("{l}\n")).collect::<String>().into_bytes()
    }

    fn numbered(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("line number {i} of a long enough file to keep regions apart {i:>400}")).collect()
    }

    /// The lines of `new` inside the regions.
    fn covered(new: &[u8], regions: &[Range<usize>]) -> Vec<String> {
        regions
            .iter()
            .flat_map(|r| String::from_utf8_lossy(&new[r.clone()]).lines().map(str::to_string).collect::<Vec<_>>())
            .collect()
    }

    #[test]
    fn identical_versions_need_no_scan() {
        let a = text(&["a", "b"]);
        assert!(changed_regions(&a, &a).is_empty());
    }

    #[test]
    fn a_new_line_is_scanned_with_its_context_and_nothing_far_from_it() {
        let old_lines = numbered(40);
        let mut new_lines = old_lines.clone();
        new_lines.insert(20, "inserted = 'a new line in the middle'".to_string());
        let old = text(&old_lines.iter().map(String::as_str).collect::<Vec<_>>());
        let new = text(&new_lines.iter().map(String::as_str).collect::<Vec<_>>());
        let regions = changed_regions(&old, &new);
        assert_eq!(regions.len(), 1);
        let got = covered(&new, &regions);
        assert_eq!(got.len(), 1 + 2 * CONTEXT_LINES);
        assert_eq!(got[CONTEXT_LINES], "inserted = 'a new line in the middle'");
        assert!(regions[0].start > 0 && regions[0].end < new.len());
    }

    #[test]
    fn moved_lines_are_not_new_but_changed_ones_are() {
        let old = text(&["alpha", "beta", "gamma", "delta"]);
        let new = text(&["delta", "alpha", "beta", "GAMMA"]);
        let got = covered(&new, &changed_regions(&old, &new));
        assert!(got.contains(&"GAMMA".to_string()));
        // A reordered file holds no new line: nothing to scan.
        let old_lines = numbered(30);
        let old_far = text(&old_lines.iter().map(String::as_str).collect::<Vec<_>>());
        let reordered: Vec<&str> = old_lines.iter().rev().map(String::as_str).collect();
        assert!(changed_regions(&old_far, &text(&reordered)).is_empty());
        // In a file with few changes, a line that moved may be scanned again, with its context,
        // but not more.
        let mut edited = old_lines.clone();
        edited.swap(10, 11);
        edited[25] = "changed = 1".to_string();
        let new_edited = text(&edited.iter().map(String::as_str).collect::<Vec<_>>());
        let got = covered(&new_edited, &changed_regions(&old_far, &new_edited));
        assert!(got.contains(&"changed = 1".to_string()));
        assert!(got.len() <= 2 * (1 + 2 * CONTEXT_LINES), "{}", got.len());
    }

    #[test]
    fn a_line_that_loses_or_gains_its_allow_next_line_comment_is_new() {
        let filler = numbered(20);
        let fill: Vec<&str> = filler.iter().map(String::as_str).collect();
        let token = "token = 'a secret value'";
        for at in [0, 10, 20] {
            let mut with = fill.clone();
            with.insert(at, "# ndaguard:allow-next-line");
            with.insert(at + 1, token);
            let mut without = fill.clone();
            without.insert(at, token);
            let (with, without) = (text(&with), text(&without));
            // Deleting the comment: the token's line is scanned in the new version.
            assert!(covered(&without, &changed_regions(&with, &without)).contains(&token.to_string()), "at {at}");
            // Adding it: the comment is new, and the token's line with it.
            assert!(covered(&with, &changed_regions(&without, &with)).contains(&token.to_string()), "at {at}");
        }
        // A reordered file whose token lost its comment on the way.
        let mut old = fill.clone();
        old.insert(5, "# ndaguard:allow-next-line");
        old.insert(6, token);
        let mut new: Vec<&str> = fill.iter().rev().copied().collect();
        new.insert(3, token);
        let new_text = text(&new);
        assert!(covered(&new_text, &changed_regions(&text(&old), &new_text)).contains(&token.to_string()));
    }

    #[test]
    fn first_and_last_lines_without_newline_are_covered() {
        let old = b"a\nb\nc".to_vec();
        let new = b"X\nb\nc2".to_vec();
        let got = covered(&new, &changed_regions(&old, &new));
        assert!(got.contains(&"X".to_string()) && got.contains(&"c2".to_string()), "{got:?}");
        assert_eq!(changed_regions(b"", b"only"), vec![0..4]);
        assert!(changed_regions(b"a\nb\n", b"a\n").is_empty());
    }

    #[test]
    fn every_line_of_new_is_in_old_or_in_a_region() {
        // Seeded random edits: each line of the new version is either an old line or covered.
        let mut rng = crate::testutil::XorShift::new(0x9E37_79B9_7F4A_7C15u64);
        let mut next = move || rng.next();
        for _ in 0..300 {
            let old_lines: Vec<String> = (0..(next() % 60)).map(|_| format!("l{}", next() % 50)).collect();
            let mut new_lines = old_lines.clone();
            for _ in 0..(next() % 6) {
                let at = (next() as usize) % (new_lines.len() + 1);
                match next() % 3 {
                    0 => new_lines.insert(at, format!("new{}", next() % 1000)),
                    1 if at < new_lines.len() => {
                        new_lines.remove(at);
                    }
                    _ if at < new_lines.len() => new_lines[at] = format!("mod{}", next() % 1000),
                    _ => {}
                }
            }
            let mut old = text(&old_lines.iter().map(String::as_str).collect::<Vec<_>>());
            let mut new = text(&new_lines.iter().map(String::as_str).collect::<Vec<_>>());
            if next() % 2 == 0 {
                old.pop();
                new.pop();
            }
            let regions = changed_regions(&old, &new);
            let old_set: HashSet<&[u8]> = old.split(|&b| b == b'\n').collect();
            for (at, line) in lines(&new) {
                let inside = regions.iter().any(|r| r.start <= at && at + line.len() <= r.end);
                assert!(inside || old_set.contains(line), "line {:?} lost", String::from_utf8_lossy(line));
            }
            for r in &regions {
                assert!(r.start == 0 || new[r.start - 1] == b'\n');
                assert!(r.end == new.len() || new[r.end - 1] == b'\n');
            }
        }
    }

    #[test]
    fn lines_are_split_at_every_newline() {
        let mut rng = crate::testutil::XorShift::new(0x0123_4567_89ab_cdefu64);
        let mut next = move || rng.next();
        for _ in 0..500 {
            let len = (next() % 300) as usize;
            let every = 1 + next() % 90;
            let data: Vec<u8> = (0..len).map(|_| if next() % every == 0 { b'\n' } else { b'x' }).collect();
            let got: Vec<(usize, &[u8])> = lines(&data).collect();
            let mut want = Vec::new();
            let mut start = 0;
            for (i, line) in data.split(|&b| b == b'\n').enumerate() {
                if start < data.len() || (i == 0 && !data.is_empty()) {
                    want.push((start, line));
                }
                start += line.len() + 1;
            }
            assert_eq!(got, want, "{:?}", String::from_utf8_lossy(&data));
        }
    }

    #[test]
    fn common_ends_agree_with_a_byte_by_byte_count() {
        let base: Vec<u8> = (0..700u32).map(|i| b'a' + (i % 23) as u8).collect();
        for cut in [0usize, 1, 63, 64, 65, 128, 333, 699] {
            let mut other = base.clone();
            other[cut] = b'#';
            let naive_prefix = base.iter().zip(&other).take_while(|(a, b)| a == b).count();
            assert_eq!(common_prefix(&base, &other), naive_prefix);
            let naive_suffix = base.iter().rev().zip(other.iter().rev()).take_while(|(a, b)| a == b).count();
            assert_eq!(common_suffix(&base, &other), naive_suffix);
            assert_eq!(common_prefix(&base[..cut], &base), cut);
            assert_eq!(common_suffix(&base[cut..], &base), base.len() - cut);
        }
    }
}
