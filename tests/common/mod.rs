//! Shared helpers of the integration tests: a seeded token generator (no real secret is ever
//! committed: every token is made here, in the provider's format, with a valid checksum where the
//! format has one), temp trees, git repositories, a local HTTP server, and running the binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

pub mod http;
mod repo;

pub use repo::{commit_all, git, git_at, git_repo};

/// A small deterministic PRNG (SplitMix64): same seed, same tokens.
pub struct Gen(u64);

const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const UPPER_DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const HEX: &[u8] = b"0123456789abcdef";
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

impl Gen {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Gen {
        Gen(seed)
    }

    /// Next 64 random bits.
    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// `n` characters from `alphabet`.
    pub fn chars(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n).map(|_| alphabet[(self.next() % alphabet.len() as u64) as usize] as char).collect()
    }

    /// Random base62 text.
    pub fn alnum(&mut self, n: usize) -> String {
        self.chars(ALNUM, n)
    }

    /// Random lowercase hex.
    pub fn hex(&mut self, n: usize) -> String {
        self.chars(HEX, n)
    }

    /// A GitHub token (`ghp_`, `gho_`, …) with a valid CRC32/base62 checksum.
    pub fn github(&mut self, prefix: &str) -> String {
        let body = self.alnum(30);
        format!("{prefix}{body}{}", base62_crc32(&body))
    }

    /// A GitHub classic personal access token with a valid checksum.
    pub fn github_pat(&mut self) -> String {
        self.github("ghp_")
    }

    /// The same shape with a wrong checksum.
    pub fn github_pat_bad_checksum(&mut self) -> String {
        let good = self.github_pat();
        let last = good.chars().last().unwrap_or('0');
        let replacement = if last == 'A' { 'B' } else { 'A' };
        format!("{}{replacement}", &good[..good.len() - 1])
    }

    /// An npm token with a valid checksum.
    pub fn npm(&mut self) -> String {
        self.github("npm_")
    }

    /// An AWS access key id.
    pub fn aws_key_id(&mut self) -> String {
        format!("AKIA{}", self.chars(UPPER_DIGITS, 16))
    }

    /// An AWS secret access key (40 base64 characters).
    pub fn aws_secret(&mut self) -> String {
        self.chars(B64, 40)
    }

    /// A Stripe live secret key.
    pub fn stripe_live(&mut self) -> String {
        format!("sk_live_{}", self.alnum(24))
    }

    /// A Slack bot token.
    pub fn slack_bot(&mut self) -> String {
        format!("xoxb-{}-{}-{}", self.digits(11), self.digits(13), self.alnum(24))
    }

    /// `n` random decimal digits (first one non-zero).
    pub fn digits(&mut self, n: usize) -> String {
        let mut s = self.chars(b"123456789", 1);
        s.push_str(&self.chars(b"0123456789", n.saturating_sub(1)));
        s
    }

    /// A token of an unusual alphabet that no rule knows.
    pub fn odd_token(&mut self, n: usize) -> String {
        self.chars(b"!#%&*+-=?@^~abcdefghjkmnpqrstuvwxyz23456789", n)
    }
}

/// Base62 (0-9A-Za-z) of the CRC32 of `body`, left-padded with '0' to 6 characters.
pub fn base62_crc32(body: &str) -> String {
    let mut n = crc32(body.as_bytes());
    let mut out = Vec::new();
    while n > 0 {
        out.push(ALNUM[(n % 62) as usize]);
        n /= 62;
    }
    while out.len() < 6 {
        out.push(b'0');
    }
    out.reverse();
    String::from_utf8(out).expect("ascii")
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// A temporary directory with helpers to write files.
pub struct Tree {
    /// The directory (removed on drop).
    pub dir: tempfile::TempDir,
}

impl Tree {
    /// A new empty tree.
    pub fn new() -> Tree {
        Tree { dir: tempfile::tempdir().expect("temp dir") }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `rel` (creating parents).
    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.dir.path().join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&p, content).expect("write");
        p
    }
}

/// The ndaguard binary, with a clean environment (no colour).
pub fn ndaguard() -> Command {
    let mut c = Command::cargo_bin("ndaguard").expect("binary built");
    c.env_remove("NO_COLOR").env_remove("GITHUB_ACTIONS").env("NDAGUARD_TEST", "1");
    c
}

/// Runs `ndaguard scan --format json ARGS…` and returns (exit code, parsed JSON, stderr).
pub fn scan_json(args: &[&str]) -> (i32, serde_json::Value, String) {
    let out: Output = ndaguard().arg("scan").args(["--format", "json"]).args(args).output().expect("runs");
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code().unwrap_or(-1), json, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The rule ids of a JSON report's findings.
pub fn rule_ids(json: &serde_json::Value) -> Vec<String> {
    json["findings"]
        .as_array()
        .map(|a| a.iter().map(|f| f["rule_id"].as_str().unwrap_or_default().to_string()).collect())
        .unwrap_or_default()
}
