//! Helpers for unit tests.

/// The local HTTP server of the webhook tests, the same file as the integration tests' own.
#[path = "../tests/common/http.rs"]
pub(crate) mod http;

/// A seeded xorshift generator: random-looking test inputs that are the same on every run.
pub(crate) struct XorShift(u64);

impl XorShift {
    /// A generator from a non-zero seed.
    pub(crate) fn new(seed: u64) -> XorShift {
        XorShift(seed.max(1))
    }

    /// The next value.
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// A fake GitHub classic personal access token in the documented format, with a valid CRC32
/// checksum (base62 of the CRC32 of the 30 random characters, left-padded to 6).
pub(crate) fn github_pat(rng: &mut XorShift) -> String {
    const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let body: String = (0..30).map(|_| ALNUM[(rng.next() % 62) as usize] as char).collect();
    let mut n = crc32fast::hash(body.as_bytes());
    let mut check = [b'0'; 6];
    for c in check.iter_mut().rev() {
        *c = ALNUM[(n % 62) as usize];
        n /= 62;
    }
    format!("ghp_{body}{}", String::from_utf8_lossy(&check))
}

/// A scanner over the built-in rules, without allowlist or registry.
pub(crate) fn builtin_scanner() -> crate::scan::Scanner {
    let rules = crate::rules::builtin().expect("built-in rules");
    let engine = crate::engine::Engine::new(rules).expect("engine");
    crate::scan::Scanner::new(engine, crate::filter::Allowlist::empty(), crate::scan::ScanOptions::default())
}
