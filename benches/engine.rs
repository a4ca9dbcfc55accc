//! Criterion benchmarks of the engine: full-pipeline throughput on a generated corpus, the
//! start-up cost (rule parsing and the keyword automaton), and compiling every rule.
//!
//! The corpus is generated from a fixed seed: source-like lines (identifiers, strings, numbers,
//! comments with words that are rule keywords, such as `token` and `password`) with a planted
//! token every few hundred lines, so that the prefilter fires as it does on real code; and one
//! long line full of keywords, as in minified files.
//!
//! Run: `cargo bench --bench engine`. Peer comparisons on real corpora are in
//! `benches/compare.sh`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ndaguard::engine::Engine;
use ndaguard::filter::Allowlist;
use ndaguard::{ScanOptions, ScanState, Scanner};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
    fn alnum(&mut self, n: usize) -> String {
        const A: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        (0..n).map(|_| A[(self.next() % 62) as usize] as char).collect()
    }
}

/// About `size` bytes of source-like text.
fn corpus(size: usize) -> Vec<u8> {
    let mut r = Rng(42);
    let words = [
        "def", "return", "self", "request", "response", "token", "user", "password", "config", "settings", "import",
        "from", "class", "value", "key", "secret", "client", "session", "cache", "query", "model", "field",
    ];
    let mut out = String::with_capacity(size + 256);
    let mut line = 0u64;
    while out.len() < size {
        line += 1;
        let indent = "    ".repeat((r.next() % 3) as usize);
        match r.next() % 6 {
            0 => out.push_str(&format!("{indent}# {} the {} {}\n", r.pick(&words), r.pick(&words), r.pick(&words))),
            1 => out.push_str(&format!("{indent}{}_{} = \"{}\"\n", r.pick(&words), r.pick(&words), r.alnum(12))),
            2 => {
                out.push_str(&format!("{indent}def {}_{}(self, {}):\n", r.pick(&words), r.pick(&words), r.pick(&words)))
            }
            3 => out.push_str(&format!("{indent}return {}.{}({})\n", r.pick(&words), r.pick(&words), r.next() % 1000)),
            4 => out.push_str(&format!("{indent}if {} is None:\n", r.pick(&words))),
            _ => {
                out.push_str(&format!("{indent}{} = {}.get(\"{}\")\n", r.pick(&words), r.pick(&words), r.pick(&words)))
            }
        }
        if line.is_multiple_of(400) {
            out.push_str(&format!("STRIPE_KEY = \"sk_live_{}\"\n", r.alnum(24)));
        }
    }
    out.into_bytes()
}

fn scanner() -> Scanner {
    let rules = ndaguard::rules::builtin().expect("built-in rules load");
    let engine = Engine::new(rules).expect("engine builds");
    Scanner::new(engine, Allowlist::empty(), ScanOptions::default())
}

fn throughput(c: &mut Criterion) {
    let scanner = scanner();
    let mut group = c.benchmark_group("pipeline");
    for size in [64 * 1024, 4 * 1024 * 1024] {
        let data = corpus(size);
        group.throughput(Throughput::Bytes(data.len() as u64));
        group.bench_with_input(BenchmarkId::new("scan", size), &data, |b, data| {
            let mut state = ScanState::default();
            b.iter(|| scanner.find(data, "src/app.py", &mut state).len())
        });
    }
    // A minified file: one 2 MB line full of keywords. Anchored rules whose regex may read to
    // the end of the line were quadratic here before their tries were bounded.
    let line = "\"see curl X and --pass Y\", ".repeat(2 * 1024 * 1024 / 26);
    group.throughput(Throughput::Bytes(line.len() as u64));
    group.bench_function("one_line_many_keywords", |b| {
        let mut state = ScanState::default();
        b.iter(|| scanner.find(line.as_bytes(), "dist/app.min.js", &mut state).len())
    });
    group.finish();
}

fn startup(c: &mut Criterion) {
    c.bench_function("startup/load_rules_and_build_automaton", |b| {
        b.iter(|| {
            let rules = ndaguard::rules::builtin().expect("rules");
            Engine::new(rules).expect("engine").rules().len()
        })
    });
    c.bench_function("startup/compile_every_rule", |b| {
        b.iter(|| {
            let rules = ndaguard::rules::builtin().expect("rules");
            let engine = Engine::new(rules).expect("engine");
            engine.compile_all().expect("compiles");
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = throughput, startup
}
criterion_main!(benches);
