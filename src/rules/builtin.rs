//! The built-in rules: `rules/*.toml`, embedded compressed by `build.rs` and inflated one file at
//! a time as they load.
//!
//! Embedded as text, the rule files (1.1 MB) were read into memory at every start and their pages
//! stayed counted in the process's memory until it ended; compressed they are 0.2 MB, and one
//! buffer, freed once the rules are parsed, holds each file's text in turn (inflating them all
//! takes about 2 ms).

use std::io::Read;

use super::{parse_rules, Rule};
use crate::error::{Error, Result};

mod files {
    include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));
}

/// The built-in rules.
pub fn builtin() -> Result<Vec<Rule>> {
    let mut all = Vec::new();
    let mut text = String::new();
    for &(name, len, packed) in files::BUILTIN_RULE_FILES {
        let file = origin(name);
        inflate(&file, packed, len, &mut text)?;
        all.extend(parse_rules(&file, &text, true)?);
    }
    Ok(all)
}

/// How rules' origins name the built-in file `name`.
fn origin(name: &str) -> String {
    format!("<built-in>/rules/{name}")
}

/// Inflates the built-in file `file` (`len` bytes of text, compressed as `packed`) into `text`.
fn inflate(file: &str, packed: &[u8], len: usize, text: &mut String) -> Result<()> {
    text.clear();
    text.reserve(len);
    flate2::read::ZlibDecoder::new(packed)
        .read_to_string(text)
        .map(|_| ())
        .map_err(|e| Error::invalid(file, None, format!("cannot inflate the built-in rule file: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_rule_files_inflate_to_the_files_in_rules() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .expect("rules/")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".toml"))
            .collect();
        on_disk.sort();
        let embedded: Vec<&str> = files::BUILTIN_RULE_FILES.iter().map(|f| f.0).collect();
        assert_eq!(embedded, on_disk);
        let mut text = String::from("left over from a previous file");
        for &(name, len, packed) in files::BUILTIN_RULE_FILES {
            inflate(&origin(name), packed, len, &mut text).expect("inflates");
            let want = std::fs::read_to_string(dir.join(name)).expect("rule file");
            assert!(text == want, "the embedded {name} differs from rules/{name}");
        }
    }
}
