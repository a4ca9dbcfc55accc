//! Embeds every `rules/*.toml` file into the binary, compressed, so that ndaguard needs no files
//! at run time.
//!
//! The generated file holds one `(file name, length, zlib bytes)` triple per rule file, sorted by
//! name so that rule order (and so report order on ties) never depends on the file system. The
//! rule text is inflated one file at a time when the rules load (`rules::builtin`): embedded as
//! text, its megabyte of pages was read into memory at every start and kept there, a twentieth
//! of a small scan's peak memory; compressed it is a fifth of that.

use std::env;
use std::fs;
use std::io::Write;
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
    let out_dir = env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let mut out = String::from(
        "/// Built-in rule files: (file name, length of its TOML text, the text compressed with zlib).\n\
         pub static BUILTIN_RULE_FILES: &[(&str, usize, &[u8])] = &[\n",
    );
    for name in &files {
        let text = fs::read(dir.join(name)).expect("read a rule file");
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&text).expect("compress a rule file");
        let packed = z.finish().expect("compress a rule file");
        let target = Path::new(&out_dir).join(format!("{name}.z"));
        fs::write(&target, packed).expect("write a compressed rule file");
        out.push_str(&format!("    ({name:?}, {}, include_bytes!({:?})),\n", text.len(), target.display().to_string()));
    }
    out.push_str("];\n");
    fs::write(Path::new(&out_dir).join("builtin_rules.rs"), out).expect("write builtin_rules.rs");
}
