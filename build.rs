//! Embeds every `rules/*.toml` file into the binary, so that ndaguard needs no files at run time.
//!
//! The generated file holds one `(file name, contents)` pair per rule file, sorted by name so that
//! rule order (and so report order on ties) never depends on the file system.

use std::env;
use std::fs;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=rules");
    let dir = Path::new("rules");
    let mut files: Vec<String> = Vec::new();
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) == Some("toml") {
                println!("cargo:rerun-if-changed={}", path.display());
                if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
                    files.push(name.to_string());
                }
            }
        }
    }
    files.sort();
    let manifest = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let mut out = String::from(
        "/// Built-in rule files: (file name, TOML text).\npub static BUILTIN_RULE_FILES: &[(&str, &str)] = &[\n",
    );
    for name in &files {
        out.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            Path::new(&manifest).join("rules").join(name).display().to_string()
        ));
    }
    out.push_str("];\n");
    let out_dir = env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    fs::write(Path::new(&out_dir).join("builtin_rules.rs"), out).expect("write builtin_rules.rs");
}
