//! A short, stable-Rust run of the fuzz entry points (`fuzz/` runs them under libFuzzer): seeded
//! random bytes and byte-level mutations of real inputs must never panic.

use crate::common::Gen;

fn mutations(seed: &[u8], g: &mut Gen, n: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let mut v = seed.to_vec();
        let edits = 1 + g.below(8);
        for _ in 0..edits {
            if v.is_empty() {
                v.push(g.below(256) as u8);
                continue;
            }
            let i = g.below(v.len());
            match g.below(4) {
                0 => v[i] = g.below(256) as u8,
                1 => {
                    v.remove(i);
                }
                2 => v.insert(i, b"\"'[]=\n{}#\\\0\xff"[g.below(12)]),
                _ => {
                    let j = g.below(v.len());
                    let (a, b) = (i.min(j), i.max(j));
                    let piece = v[a..b].to_vec();
                    v.splice(a..a, piece);
                }
            }
        }
        out.push(v);
    }
    out
}

#[test]
fn fuzz_entry_points_survive_random_and_mutated_input() {
    let mut g = Gen::new(900);
    let rule_seed = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/rules/source-control.toml")).expect("rules");
    let config_seed =
        b"[allowlist]\npaths = [\"a/**\"]\nregexes = [\"^x\"]\n[policy.low]\nreport_within = \"30d\"\n".to_vec();
    let registry_seed = format!(
        "version = 1\nkey = \"{}\"\n[[token]]\nid = \"a\"\nfingerprint = \"hmac-sha256:{}\"\nlength = 20\nnda = \"n\"\ncounterparty = \"c\"\nowner = \"o\"\nreport_within = \"1h\"\nrevoke_within = \"1h\"\n",
        "A".repeat(44),
        "0".repeat(64)
    )
    .into_bytes();
    let engine_seed =
        format!("token = {}\nkey: {}\nurl = https://u:{}@h.example.net\n", g.github_pat(), g.aws_key_id(), g.alnum(20))
            .into_bytes();
    for v in mutations(&rule_seed, &mut g, 150) {
        ndaguard::fuzzing::rule_file(&v);
    }
    for v in mutations(&config_seed, &mut g, 300) {
        ndaguard::fuzzing::config(&v);
    }
    for v in mutations(&registry_seed, &mut g, 300) {
        ndaguard::fuzzing::registry(&v);
    }
    for v in mutations(&engine_seed, &mut g, 500) {
        ndaguard::fuzzing::engine(&v);
    }
    let object: Vec<u8> = format!("blob 60\0{}\n", g.alnum(59)).into_bytes();
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut z, &object).expect("in memory");
    let object_seed = z.finish().expect("in memory");
    for v in mutations(&object_seed, &mut g, 500) {
        ndaguard::fuzzing::git_object(&v);
    }
    for _ in 0..200 {
        let n = g.below(2048);
        let v: Vec<u8> = (0..n).map(|_| g.below(256) as u8).collect();
        ndaguard::fuzzing::engine(&v);
        ndaguard::fuzzing::registry(&v);
        ndaguard::fuzzing::config(&v);
        ndaguard::fuzzing::git_object(&v);
    }
}
