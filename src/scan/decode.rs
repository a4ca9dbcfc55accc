//! Finding secrets inside encoded text: base64 (standard and URL-safe) and percent-encoding.
//!
//! [`segments`] finds runs of encoded text, decodes those that decode to printable text, and
//! returns each decoded text prefixed with the line's text before the run, so that context rules
//! see `password: <decoded>` where the file had `password: cGFzc3dvcmQ=` (a Kubernetes Secret).
//! Findings in decoded text are reported at the encoded run's location.
//!
//! Bounds: runs longer than [`MAX_SEGMENT`] bytes are not decoded, at most
//! [`MAX_DECODED_PER_BLOB`] bytes are decoded per blob, and decoded text is decoded again at most
//! [`MAX_DEPTH`] levels deep.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;

/// Longest encoded run that is decoded.
pub const MAX_SEGMENT: usize = 64 * 1024;
/// Most decoded bytes per blob.
pub const MAX_DECODED_PER_BLOB: usize = 1024 * 1024;
/// Deepest nesting decoded (base64 inside base64…).
pub const MAX_DEPTH: usize = 2;
/// Shortest base64 run considered (shorter runs are mostly identifiers).
pub const MIN_BASE64: usize = 16;

/// One decoded run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Offset of the encoded run in the blob.
    pub start: usize,
    /// End of the encoded run in the blob.
    pub end: usize,
    /// `base64` or `percent`.
    pub encoding: &'static str,
    /// The line's text before the run, then the decoded bytes.
    pub text: Vec<u8>,
    /// Where the decoded bytes start in `text`.
    pub decoded_at: usize,
}

/// Which bytes can be part of a base64 run (standard or URL-safe alphabet).
const fn base64_table() -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'_' || b == b'-';
        i += 1;
    }
    t
}

/// Which bytes [`base64_runs`] runs are made of.
pub static BASE64_BYTE: [bool; 256] = base64_table();

/// Runs of at least [`MIN_BASE64`] base64 characters (plus up to two `=`), as (start, end),
/// appended to `out`.
///
/// This runs over every byte of every blob, so it works 64 bytes at a time: a mask of which bytes
/// are base64 characters, then bit operations find runs of 16 set bits. In source code most
/// blocks hold none, and cost the mask and a few operations, without a branch per byte.
pub fn base64_runs(data: &[u8], out: &mut Vec<(usize, usize)>) {
    let emit = |out: &mut Vec<(usize, usize)>, start: usize, end: usize| {
        if end - start >= MIN_BASE64 {
            let pad = data[end..].iter().take(2).take_while(|&&b| b == b'=').count();
            out.push((start, end + pad));
        }
    };
    // Start of a run that reached the end of the previous block.
    let mut open: Option<usize> = None;
    for (bi, block) in data.chunks(64).enumerate() {
        let base = bi * 64;
        let n = block.len();
        let mask = match <&[u8; 64]>::try_from(block) {
            Ok(full) => base64_mask(full),
            Err(_) => base64_mask_scalar(block),
        };
        let mut rest = mask;
        if let Some(start) = open {
            let ones = mask.trailing_ones() as usize;
            if ones == n {
                continue;
            }
            emit(out, start, base + ones);
            open = None;
            rest &= !((1u64 << ones) - 1);
        }
        if sixteen_in_a_row(rest) == 0 {
            // No run of 16 inside the block: only one reaching its end may grow into one.
            if n == 64 && rest.leading_ones() > 0 {
                open = Some(base + 64 - rest.leading_ones() as usize);
            }
            continue;
        }
        while rest != 0 {
            let s = rest.trailing_zeros() as usize;
            let e = s + (!(rest >> s)).trailing_zeros() as usize;
            if e == 64 {
                open = Some(base + s);
                break;
            }
            emit(out, base + s, base + e);
            rest &= !((1u64 << e) - 1);
        }
    }
    if let Some(start) = open {
        emit(out, start, data.len());
    }
}

/// Bit `k` set where `block[k]` is a base64 byte, one table lookup per byte.
fn base64_mask_scalar(block: &[u8]) -> u64 {
    let mut mask = 0u64;
    for (k, &b) in block.iter().take(64).enumerate() {
        mask |= u64::from(BASE64_BYTE[usize::from(b)]) << k;
    }
    mask
}

/// [`base64_mask_scalar`] of a whole block, 16 bytes per instruction: letters are the bytes that
/// `| 0x20` puts in `a..=z`, digits are in `0..=9`, and the four symbols are compared one by one.
/// (Each range test is one signed comparison after moving the range's start to -128.)
#[cfg(target_arch = "x86_64")]
fn base64_mask(block: &[u8; 64]) -> u64 {
    use std::arch::x86_64::{
        __m128i, _mm_add_epi8, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    let mut mask = 0u64;
    // SAFETY: SSE2 is part of every x86_64 processor, so its instructions can always run; each
    // unaligned load reads exactly the 16 bytes of one `lane`.
    unsafe {
        let below = |v: __m128i, start: u8, len: u8| {
            let shifted = _mm_add_epi8(v, _mm_set1_epi8(0x80u8.wrapping_sub(start) as i8));
            _mm_cmplt_epi8(shifted, _mm_set1_epi8(0x80u8.wrapping_add(len) as i8))
        };
        for (i, lane) in block.chunks_exact(16).enumerate() {
            let v = _mm_loadu_si128(lane.as_ptr().cast::<__m128i>());
            let letter = below(_mm_or_si128(v, _mm_set1_epi8(0x20)), b'a', 26);
            let digit = below(v, b'0', 10);
            let symbol = |c: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(c as i8));
            let any = _mm_or_si128(
                _mm_or_si128(letter, digit),
                _mm_or_si128(_mm_or_si128(symbol(b'+'), symbol(b'/')), _mm_or_si128(symbol(b'_'), symbol(b'-'))),
            );
            mask |= u64::from(_mm_movemask_epi8(any) as u16) << (16 * i);
        }
    }
    mask
}

#[cfg(not(target_arch = "x86_64"))]
fn base64_mask(block: &[u8; 64]) -> u64 {
    base64_mask_scalar(block)
}

const _: () = assert!(MIN_BASE64 == 16, "sixteen_in_a_row finds runs of MIN_BASE64 bits");

/// Bit `i` set where bits `i..i + 16` of `m` are all set.
fn sixteen_in_a_row(m: u64) -> u64 {
    let m2 = m & (m >> 1);
    let m4 = m2 & (m2 >> 2);
    let m8 = m4 & (m4 >> 4);
    m8 & (m8 >> 8)
}

/// [`base64_runs`] of `data`, appended to `out`, given the maximal runs (at least
/// [`MIN_BASE64`] long) of a class that holds every base64 byte: each base64 run lies inside one
/// of them. This lets one pass over the text find the runs of the decoder and of the registry.
pub fn base64_runs_in(data: &[u8], wider: &[(usize, usize)], out: &mut Vec<(usize, usize)>) {
    let is_b64 = |b: u8| BASE64_BYTE[usize::from(b)];
    for &(from, to) in wider {
        let mut i = from;
        while i < to {
            if !is_b64(data[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < to && is_b64(data[i]) {
                i += 1;
            }
            if i - start >= MIN_BASE64 {
                let pad = data[i..].iter().take(2).take_while(|&&b| b == b'=').count();
                i += pad;
                out.push((start, i));
            }
        }
    }
}

/// Which bytes a percent-encoded run is made of (URL characters, `%` included).
const fn url_table() -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric()
            || matches!(b, b'%' | b'.' | b'_' | b'~' | b'+' | b'-' | b':' | b'@')
            || matches!(b, b'!' | b'$' | b'&' | b'\'' | b'*' | b',' | b';' | b'=');
        i += 1;
    }
    t
}

static URL_BYTE: [bool; 256] = url_table();

/// Maximal runs of URL characters that hold at least one `%` followed by two hex digits, as
/// (start, end). Found from each `%` outwards, so text without escapes costs one `memchr` pass.
fn percent_runs(data: &[u8]) -> Vec<(usize, usize)> {
    let is_url = |b: u8| URL_BYTE[usize::from(b)];
    let mut out = Vec::new();
    let mut done = 0;
    for at in memchr::memchr_iter(b'%', data) {
        if at < done {
            continue;
        }
        let escape = data.get(at + 1..at + 3).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit));
        if !escape {
            continue;
        }
        let start = data[done..at].iter().rposition(|&b| !is_url(b)).map_or(done, |p| done + p + 1);
        let end = data[at..].iter().position(|&b| !is_url(b)).map_or(data.len(), |p| at + p);
        out.push((start, end));
        done = end;
    }
    out
}

/// Decoded runs of `data`, with at most `budget` decoded bytes in all.
pub fn segments(data: &[u8], budget: &mut usize) -> Vec<Segment> {
    let mut runs = Vec::new();
    base64_runs(data, &mut runs);
    segments_in(data, &runs, budget)
}

/// [`segments`], given the [`base64_runs`] of `data` (found once and shared with the registry).
pub fn segments_in(data: &[u8], runs: &[(usize, usize)], budget: &mut usize) -> Vec<Segment> {
    let mut out = Vec::new();
    for &(start, end) in runs {
        if *budget == 0 {
            break;
        }
        let run = &data[start..end];
        if run.len() > MAX_SEGMENT || !looks_like_base64(run) {
            continue;
        }
        if is_data_url_image(data, start) {
            continue;
        }
        let Some(decoded) = decode_base64(run) else { continue };
        if !printable(&decoded) {
            continue;
        }
        push(&mut out, data, start, end, "base64", decoded, budget);
    }
    for (start, end) in percent_runs(data) {
        if *budget == 0 {
            break;
        }
        let run = &data[start..end];
        if run.len() > MAX_SEGMENT {
            continue;
        }
        let decoded = percent_decode(run);
        if decoded == run || !printable(&decoded) {
            continue;
        }
        push(&mut out, data, start, end, "percent", decoded, budget);
    }
    out
}

fn push(
    out: &mut Vec<Segment>,
    data: &[u8],
    start: usize,
    end: usize,
    encoding: &'static str,
    decoded: Vec<u8>,
    budget: &mut usize,
) {
    let take = decoded.len().min(*budget);
    *budget -= take;
    let line_start = crate::lines::line_start(data, start);
    let mut text = data[line_start..start].to_vec();
    let decoded_at = text.len();
    text.extend_from_slice(&decoded[..take]);
    out.push(Segment { start, end, encoding, text, decoded_at });
}

/// Mixed character classes, as encoded data has; not an identifier or a word.
fn looks_like_base64(run: &[u8]) -> bool {
    // Cheapest and most selective first: most runs in code are identifiers, without digits.
    let padded = run.ends_with(b"=");
    if !padded && !run.iter().any(u8::is_ascii_digit) {
        return false;
    }
    // Valid base64 lengths: a multiple of 4 with padding, or not 1 mod 4 without it.
    let len_ok = if padded { run.len().is_multiple_of(4) } else { run.len() % 4 != 1 };
    len_ok && run.iter().any(u8::is_ascii_uppercase) && run.iter().any(u8::is_ascii_lowercase)
}

fn is_data_url_image(data: &[u8], start: usize) -> bool {
    let from = start.saturating_sub(40);
    let before = &data[from..start];
    memchr::memmem::find(before, b"data:image/").is_some() || memchr::memmem::find(before, b"data:font/").is_some()
}

fn decode_base64(run: &[u8]) -> Option<Vec<u8>> {
    let url = run.iter().any(|&b| b == b'-' || b == b'_');
    let std = run.iter().any(|&b| b == b'+' || b == b'/');
    if url && std {
        return None;
    }
    let padded = run.ends_with(b"=");
    let engine = match (url, padded) {
        (false, true) => &STANDARD,
        (false, false) => &STANDARD_NO_PAD,
        (true, true) => &URL_SAFE,
        (true, false) => &URL_SAFE_NO_PAD,
    };
    engine.decode(run).ok()
}

/// Mostly printable UTF-8 text, with at least 8 bytes.
fn printable(bytes: &[u8]) -> bool {
    if bytes.len() < 8 {
        return false;
    }
    let Ok(text) = std::str::from_utf8(bytes) else { return false };
    let good = text.chars().filter(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t')).count();
    good * 100 >= text.chars().count() * 97
}

fn percent_decode(run: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(run.len());
    let mut i = 0;
    while i < run.len() {
        if run[i] == b'%' && i + 2 < run.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(run[i + 1]), hex(run[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(run[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_secret_value_is_decoded_with_its_key() {
        let value = STANDARD.encode("hV7mQ2xR9pLk4sNw8bTz");
        let data = format!("data:\n  password: {value}\n");
        let mut budget = MAX_DECODED_PER_BLOB;
        let segs = segments(data.as_bytes(), &mut budget);
        assert_eq!(segs.len(), 1);
        assert_eq!(segs[0].encoding, "base64");
        assert_eq!(segs[0].text, b"  password: hV7mQ2xR9pLk4sNw8bTz");
        assert_eq!(&data.as_bytes()[segs[0].start..segs[0].end], value.as_bytes());
    }

    #[test]
    fn percent_encoded_text_is_decoded() {
        let data = b"url = https://x.test/?token=ghp%5Fabc%2Fdef\n";
        let mut budget = MAX_DECODED_PER_BLOB;
        let segs = segments(data, &mut budget);
        assert!(segs.iter().any(|s| s.encoding == "percent" && s.text.ends_with(b"ghp_abc/def")), "{segs:?}");
    }

    #[test]
    fn binary_images_and_identifiers_are_not_decoded() {
        let png = STANDARD.encode([0x89u8, b'P', b'N', b'G', 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        let data = format!(
            "img = {png}\nsrc=\"data:image/png;base64,{}\"\nname = someLongIdentifierName\n",
            STANDARD.encode("hello world, some text")
        );
        let mut budget = MAX_DECODED_PER_BLOB;
        assert!(segments(data.as_bytes(), &mut budget).is_empty());
    }

    #[test]
    fn the_budget_bounds_decoding() {
        let value = STANDARD.encode("hV7mQ2xR9pLk4sNw8bTzQ9");
        let data = format!("a: {value}\nb: {value}\nc: {value}\n");
        let mut budget = 30;
        let segs = segments(data.as_bytes(), &mut budget);
        assert_eq!(budget, 0);
        assert!(segs.len() <= 2);
    }

    #[test]
    fn base64_runs_found_within_runs_of_a_wider_class_are_the_same() {
        // The registry's class may add `=` and other bytes; runs of the union, found once, must
        // give the decoder exactly the base64 runs it finds on its own.
        let mut wide = BASE64_BYTE;
        wide[usize::from(b'=')] = true;
        wide[usize::from(b'.')] = true;
        let mut rng = crate::testutil::XorShift::new(0x1234_5678_9abc_def1u64);
        let mut next = move || rng.next();
        for round in 0..2000 {
            let len = (next() % 200) as usize;
            let sep_every = 1 + (round % 40) as u64;
            let data: Vec<u8> = (0..len)
                .map(|_| match next() % (sep_every + 1) {
                    0 => b" ==.\n\""[(next() % 6) as usize],
                    _ => b"aZ09+/_-"[(next() % 8) as usize],
                })
                .collect();
            let mut wider = Vec::new();
            crate::registry::matcher::for_runs(&data, 0, data.len(), &wide, MIN_BASE64, |s, e| wider.push((s, e)));
            let mut got = Vec::new();
            base64_runs_in(&data, &wider, &mut got);
            assert_eq!(got, runs_by_definition(&data), "{:?}", String::from_utf8_lossy(&data));
        }
    }

    #[test]
    fn percent_runs_are_the_matches_of_their_regex() {
        // The definition: maximal runs of URL characters holding an escape, as this regex finds.
        let re = regex::bytes::Regex::new(r"[A-Za-z0-9%._~+\-:@!$&'*,;=]*%[0-9A-Fa-f]{2}[A-Za-z0-9%._~+\-:@!$&'*,;=]*")
            .expect("valid pattern");
        let mut rng = crate::testutil::XorShift::new(0x9e37_79b9_7f4a_7c15u64);
        let mut next = move || rng.next();
        for _ in 0..3000 {
            let len = (next() % 80) as usize;
            let alphabet = b"%%%2Fa9gZ=._ \n\"/?#";
            let data: Vec<u8> = (0..len).map(|_| alphabet[(next() % alphabet.len() as u64) as usize]).collect();
            let want: Vec<(usize, usize)> = re.find_iter(&data).map(|m| (m.start(), m.end())).collect();
            assert_eq!(percent_runs(&data), want, "{:?}", String::from_utf8_lossy(&data));
        }
    }

    /// The plain definition of what `base64_runs` finds with bit masks.
    fn runs_by_definition(data: &[u8]) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < data.len() {
            if !BASE64_BYTE[usize::from(data[i])] {
                i += 1;
                continue;
            }
            let start = i;
            while i < data.len() && BASE64_BYTE[usize::from(data[i])] {
                i += 1;
            }
            if i - start >= MIN_BASE64 {
                let pad = data[i..].iter().take(2).take_while(|&&b| b == b'=').count();
                i += pad;
                out.push((start, i));
            }
        }
        out
    }

    #[test]
    fn the_block_mask_marks_every_byte_value_as_the_table_does() {
        // Every byte value at every position of a block (and so in each 16-byte lane).
        for b in 0..=255u8 {
            for at in 0..64 {
                let mut block = [b'.'; 64];
                block[at] = b;
                let want = base64_mask_scalar(&block);
                assert_eq!(base64_mask(&block), want, "byte {b:#04x} at {at}");
                assert_eq!(want >> at & 1 == 1, BASE64_BYTE[usize::from(b)], "byte {b:#04x}");
            }
        }
    }

    #[test]
    fn bit_masks_find_exactly_the_runs_of_the_definition() {
        // Seeded inputs mixing base64 characters with separators: runs of every length around
        // the minimum, across 64-byte blocks, several blocks long, at both ends of the input.
        let mut rng = crate::testutil::XorShift::new(0x2545_f491_4f6c_dd1du64);
        let mut next = move || rng.next();
        for round in 0..3000 {
            let len = (next() % 400) as usize;
            let sep_every = 1 + (round % 150) as u64;
            let data: Vec<u8> = (0..len)
                .map(|_| match next() % (sep_every + 1) {
                    0 => b" =.\n\""[(next() % 5) as usize],
                    _ => b"aZ09+/_-"[(next() % 8) as usize],
                })
                .collect();
            let mut got = Vec::new();
            base64_runs(&data, &mut got);
            assert_eq!(got, runs_by_definition(&data), "{:?}", String::from_utf8_lossy(&data));
        }
    }
}
