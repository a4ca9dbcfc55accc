//! Finding registered tokens in bytes, knowing only their keyed hashes and lengths.
//!
//! Every window of a registered length that lies inside a run of bytes of the entry's character
//! class ([`super::Alphabet`]; the widest is printable ASCII without space, quotes and
//! backslash) is a candidate, wherever the run starts or ends: a token inside a longer run (`x=ab<TOKEN>cd`), in a URL, quoted, or
//! at either end of the input is found. Each candidate costs one HMAC-SHA-256 from a keyed state
//! prepared once (two SHA-256 compressions for tokens up to 55 bytes), looked up by its first
//! eight bytes in a table and then compared in full.
//!
//! Nothing derived from the tokens but the keyed hash and the length is used, so the registry
//! file offers no shortcut for checking guesses (see the module docs of [`super`]).

use std::collections::HashMap;

use sha2::digest::generic_array::GenericArray;
use sha2::Sha256;

use super::{Alphabet, Registry};

/// A registered token found in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegMatch {
    /// Byte offset of the token.
    pub start: usize,
    /// Byte offset just past it.
    pub end: usize,
    /// Index of the entry in the registry.
    pub entry: usize,
}

/// Identity hasher for keys that are already uniformly random (HMAC output prefixes).
#[derive(Default, Clone, Copy)]
struct PrefixHasher(u64);

impl std::hash::Hasher for PrefixHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type Table = HashMap<u64, Vec<usize>, std::hash::BuildHasherDefault<PrefixHasher>>;

/// HMAC-SHA-256 under one key, for short messages, straight on the SHA-256 compression function:
/// the key's inner and outer states are computed once, so that a window costs its padded blocks
/// (one for up to 55 bytes) plus one outer block, with no buffering or state copies beyond two
/// arrays of eight words.
#[derive(Clone)]
struct KeyedSha256 {
    inner: [u32; 8],
    outer: [u32; 8],
}

const SHA256_IV: [u32; 8] =
    [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

fn compress(state: &mut [u32; 8], block: &[u8]) {
    sha2::compress256(state, std::slice::from_ref(GenericArray::from_slice(block)));
}

impl KeyedSha256 {
    fn new(key: &[u8]) -> KeyedSha256 {
        let mut k = [0u8; 64];
        if key.len() > 64 {
            k[..32].copy_from_slice(&<Sha256 as sha2::Digest>::digest(key));
        } else {
            k[..key.len()].copy_from_slice(key);
        }
        let mut ipad = [0u8; 64];
        let mut opad = [0u8; 64];
        for i in 0..64 {
            ipad[i] = k[i] ^ 0x36;
            opad[i] = k[i] ^ 0x5c;
        }
        let mut inner = SHA256_IV;
        compress(&mut inner, &ipad);
        let mut outer = SHA256_IV;
        compress(&mut outer, &opad);
        KeyedSha256 { inner, outer }
    }

    /// HMAC-SHA-256 of `msg` (at most [`super::MAX_TOKEN_LEN`] bytes).
    fn mac(&self, msg: &[u8]) -> [u8; 32] {
        let mut st = self.inner;
        let full = msg.len() / 64;
        for block in msg.chunks_exact(64) {
            compress(&mut st, block);
        }
        // The tail, the 0x80 marker and the length: one block, or two when the tail is over 55.
        let tail = &msg[full * 64..];
        let mut last = [0u8; 128];
        last[..tail.len()].copy_from_slice(tail);
        last[tail.len()] = 0x80;
        let blocks = if tail.len() <= 55 { 1 } else { 2 };
        let bits = ((64 + msg.len()) as u64) * 8;
        last[blocks * 64 - 8..blocks * 64].copy_from_slice(&bits.to_be_bytes());
        for block in last[..blocks * 64].chunks_exact(64) {
            compress(&mut st, block);
        }
        let mut block = [0u8; 64];
        for (i, w) in st.iter().enumerate() {
            block[i * 4..i * 4 + 4].copy_from_slice(&w.to_be_bytes());
        }
        block[32] = 0x80;
        block[56..].copy_from_slice(&(96u64 * 8).to_be_bytes());
        let mut out = self.outer;
        compress(&mut out, &block);
        let mut digest = [0u8; 32];
        for (i, w) in out.iter().enumerate() {
            digest[i * 4..i * 4 + 4].copy_from_slice(&w.to_be_bytes());
        }
        digest
    }
}

/// The compiled registry lookup. Build once, share across threads.
pub struct Matcher {
    keyed: KeyedSha256,
    /// For each byte, the classes (bit `c` for `classes[c]`) it belongs to.
    mask: [u8; 256],
    /// How many classes are present (at most one per [`Alphabet`]).
    classes: usize,
    /// Registered lengths, ascending, each with the classes that have entries of that length and
    /// one table of hash prefixes for all of them.
    lengths: Vec<Length>,
    fingerprints: Vec<[u8; 32]>,
    /// Class index of each entry.
    entry_class: Vec<u8>,
    /// Bytes of any class present, and the shortest registered length.
    any: [bool; 256],
    min_len: usize,
}

struct Length {
    len: usize,
    classes: u8,
    table: Table,
}

fn prefix(h: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&h[..8]);
    u64::from_be_bytes(b)
}

impl Matcher {
    /// Builds the lookup for `registry`.
    pub fn new(registry: &Registry) -> Matcher {
        let keyed = KeyedSha256::new(&registry.key);
        let mut present: Vec<Alphabet> = registry.entries.iter().map(|e| e.alphabet).collect();
        present.sort();
        present.dedup();
        let class_of = |a: Alphabet| present.iter().position(|p| *p == a).unwrap_or(0) as u8;
        let mut mask = [0u8; 256];
        let mut any = [false; 256];
        for b in 0..=255u8 {
            for (c, a) in present.iter().enumerate() {
                if a.contains(b) {
                    mask[b as usize] |= 1 << c;
                    any[b as usize] = true;
                }
            }
        }
        let mut by_len: HashMap<usize, (u8, Table)> = HashMap::new();
        let mut entry_class = Vec::with_capacity(registry.entries.len());
        for (i, e) in registry.entries.iter().enumerate() {
            let c = class_of(e.alphabet);
            entry_class.push(c);
            let slot = by_len.entry(e.length).or_default();
            slot.0 |= 1 << c;
            slot.1.entry(prefix(&e.fingerprint)).or_default().push(i);
        }
        let mut lengths: Vec<Length> =
            by_len.into_iter().map(|(len, (classes, table))| Length { len, classes, table }).collect();
        lengths.sort_by_key(|l| l.len);
        let min_len = lengths.first().map_or(usize::MAX, |l| l.len);
        Matcher {
            keyed,
            mask,
            classes: present.len(),
            lengths,
            fingerprints: registry.entries.iter().map(|e| e.fingerprint).collect(),
            entry_class,
            any,
            min_len,
        }
    }

    /// Whether the registry is empty.
    pub fn is_empty(&self) -> bool {
        self.lengths.is_empty()
    }

    /// Whether every registered token is made of `member` bytes and at least `min` long: then
    /// the runs of `member` bytes at least `min` long hold every match, and [`Matcher::find_in`]
    /// can use runs found once for another purpose.
    pub fn covered_by(&self, member: &[bool; 256], min: usize) -> bool {
        self.min_len >= min && self.any.iter().zip(member).all(|(a, m)| !*a || *m)
    }

    /// The bytes registered tokens are made of, and the shortest registered length.
    pub fn token_bytes(&self) -> (&[bool; 256], usize) {
        (&self.any, self.min_len)
    }

    /// [`Matcher::find`], given the maximal runs (at least as long as the shortest entry) of
    /// `member` bytes, a class that holds every byte of [`Matcher::token_bytes`].
    pub fn find_in(&self, data: &[u8], member: &[bool; 256], runs: &[(usize, usize)], out: &mut Vec<RegMatch>) {
        // Runs of exactly this registry's bytes need no splitting.
        let same = member == &self.any;
        for &(s, e) in runs {
            let e = e.min(data.len());
            if e.saturating_sub(s) < self.min_len {
                continue;
            }
            if same {
                self.scan_run(data, s, e, out);
            } else {
                // A run of the wider class may hold several runs of this registry's bytes.
                for_runs(data, s, e, &self.any, self.min_len, |a, b| self.scan_run(data, a, b, out));
            }
        }
    }

    /// Appends every registered token in `data` to `out`.
    pub fn find(&self, data: &[u8], out: &mut Vec<RegMatch>) {
        // Runs of any class's bytes long enough for the shortest entry; within them, one pass.
        for_runs(data, 0, data.len(), &self.any, self.min_len, |s, e| self.scan_run(data, s, e, out));
    }

    /// One pass over a run: at each byte, how long the run of each class ending there is; each
    /// registered length that some class covers gives one window, hashed once, whatever the
    /// number of classes with entries of that length.
    fn scan_run(&self, data: &[u8], start: usize, end: usize, out: &mut Vec<RegMatch>) {
        let mut lens = [0usize; 8];
        let n = self.classes;
        for i in start..end {
            let m = self.mask[usize::from(data[i])];
            let mut longest = 0;
            for (c, l) in lens.iter_mut().enumerate().take(n) {
                *l = if m & (1 << c) != 0 { *l + 1 } else { 0 };
                longest = longest.max(*l);
            }
            for length in &self.lengths {
                if length.len > longest {
                    break;
                }
                let covered = (0..n).any(|c| length.classes & (1 << c) != 0 && lens[c] >= length.len);
                if !covered {
                    continue;
                }
                let s = i + 1 - length.len;
                let h = self.keyed.mac(&data[s..=i]);
                let Some(entries) = length.table.get(&prefix(&h)) else { continue };
                for &e in entries {
                    let class = usize::from(self.entry_class[e]);
                    if self.fingerprints[e][..] == h[..] && lens[class] >= length.len {
                        out.push(RegMatch { start: s, end: i + 1, entry: e });
                    }
                }
            }
        }
    }
}

/// Calls `f(start, end)` for every maximal run of `member` bytes in `data[from..to]` that is at
/// least `min` long. Probes one byte every `min` bytes where no run is (a run of `min` bytes must
/// cover the probe), so that text with short runs is skipped quickly.
pub fn for_runs(
    data: &[u8],
    from: usize,
    to: usize,
    member: &[bool; 256],
    min: usize,
    mut f: impl FnMut(usize, usize),
) {
    if min == 0 || min == usize::MAX {
        return;
    }
    // Invariant: `i` is `from` or just past a byte that is not a member.
    let mut i = from;
    while i + min <= to {
        let probe = i + min - 1;
        if !member[data[probe] as usize] {
            i = probe + 1;
            continue;
        }
        let mut s = probe;
        while s > i && member[data[s - 1] as usize] {
            s -= 1;
        }
        let mut e = probe + 1;
        while e < to && member[data[e] as usize] {
            e += 1;
        }
        if e - s >= min {
            f(s, e);
        }
        i = e + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::super::{keyed_hash, Alphabet, Entry, Status};
    use super::*;
    use time::Duration;

    fn registry(tokens: &[&str]) -> Registry {
        let key = vec![9u8; 32];
        let entries = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| Entry {
                id: format!("e{i}"),
                fingerprint: keyed_hash(&key, t.as_bytes()),
                length: t.len(),
                alphabet: Alphabet::of(t.as_bytes()),
                nda: "N".into(),
                counterparty: "C".into(),
                owner: "O".into(),
                scope: vec![],
                issued: None,
                expires: None,
                rotate_every: None,
                report_within: Duration::hours(1),
                revoke_within: Duration::hours(1),
                contacts: vec![],
                status: Status::Active,
                revoked_at: None,
                line: 1,
            })
            .collect();
        Registry { path: "r.toml".into(), key, entries, key_mode: super::super::KeyMode::Inline }
    }

    #[test]
    fn finds_tokens_whatever_surrounds_them() {
        let tok = "q7#Vm!p2@Lx9&Rz4*Kw8=Tn3^Hs6~Bj5+Dc1";
        let m = Matcher::new(&registry(&[tok, "another-registered-token-0001"]));
        for text in [
            format!("x=ab{tok}cd"),
            tok.to_string(),
            format!("url https://h.example/p?k={tok}&z=1\n"),
            format!("\"{tok}\""),
            format!("{{\n  \"k\": \"{tok}\"\n}}"),
            format!("line\n{tok}"),
        ] {
            let mut out = Vec::new();
            m.find(text.as_bytes(), &mut out);
            assert_eq!(out.len(), 1, "{text}");
            assert_eq!(&text.as_bytes()[out[0].start..out[0].end], tok.as_bytes());
            assert_eq!(out[0].entry, 0);
        }
        let mut out = Vec::new();
        m.find(b"q7#Vm!p2@Lx9&Rz4*Kw8=Tn3^Hs6~Bj5+Dc2 another-registered-token-0001", &mut out);
        assert_eq!(out.iter().map(|m| m.entry).collect::<Vec<_>>(), vec![1]);
    }

    #[test]
    fn the_direct_keyed_hash_is_hmac_sha256() {
        let key = [5u8; 32];
        let k = KeyedSha256::new(&key);
        for len in [0usize, 1, 16, 55, 56, 63, 64, 119, 120, 200, 512] {
            let msg: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            assert_eq!(k.mac(&msg), keyed_hash(&key, &msg), "length {len}");
        }
        let long_key = [9u8; 100];
        assert_eq!(KeyedSha256::new(&long_key).mac(b"abc"), keyed_hash(&long_key, b"abc"));
    }

    #[test]
    fn runs_are_found_at_every_offset() {
        let mut member = [false; 256];
        member[b'a' as usize] = true;
        for len in 0..12 {
            for pad in 0..7 {
                let text = format!("{}{}{}", " ".repeat(pad), "a".repeat(len), " ".repeat(3));
                let mut got = Vec::new();
                for_runs(text.as_bytes(), 0, text.len(), &member, 4, |s, e| got.push((s, e)));
                let want = if len >= 4 { vec![(pad, pad + len)] } else { vec![] };
                assert_eq!(got, want, "len {len} pad {pad}");
            }
        }
    }

    #[test]
    fn a_token_split_by_a_delimiter_is_not_found() {
        let tok = "abcdefghijklmnopqrstuvwx";
        let m = Matcher::new(&registry(&[tok]));
        let mut out = Vec::new();
        m.find(b"abcdefghijkl mnopqrstuvwx", &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn entries_of_one_length_in_nested_classes_are_each_found_once() {
        // Hex is inside alnum, alnum inside base64: one window is hashed once and matched to
        // whichever entry it is.
        let (hex, alnum, b64) = ("0123456789abcdef0a1b", "ABCDEFGHIJKLMNOPQRSz", "ab+/cdefghijklmnopq/");
        let m = Matcher::new(&registry(&[hex, alnum, b64]));
        let text = format!("k1={hex} k2:{alnum}\n\"{b64}\" {hex}{alnum}");
        let mut out = Vec::new();
        m.find(text.as_bytes(), &mut out);
        let mut got: Vec<(usize, &str)> = out.iter().map(|r| (r.entry, &text[r.start..r.end])).collect();
        got.sort();
        assert_eq!(got, vec![(0, hex), (0, hex), (1, alnum), (1, alnum), (2, b64)]);
    }
}
