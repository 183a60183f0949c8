//! Harvests the words the command handlers compare their arguments with (option
//! names such as NX, WITHSCORES, LIMIT; subcommand names; directive names) from the
//! sources, so the command target can offer them as arguments: random bytes almost
//! never spell an option, and an option's code path is where parsing bugs hide.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// A literal worth offering: one word of the characters options and names use.
fn is_word(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.as_bytes()[0].is_ascii_alphabetic()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("src");
    let mut files = Vec::new();
    for d in ["commands", "persistence", "config", "acl", "pubsub"] {
        rust_files(&root.join(d), &mut files);
    }
    files.sort();
    let mut words = BTreeSet::new();
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        // every "..." literal (b"..." too); escapes never occur inside a word
        let mut rest = text.as_str();
        while let Some(i) = rest.find('"') {
            rest = &rest[i + 1..];
            let Some(j) = rest.find('"') else { break };
            let lit = &rest[..j];
            if is_word(lit) {
                words.insert(lit.to_string());
            }
            rest = &rest[j + 1..];
        }
    }
    let mut src = String::from("/// Words harvested from the command sources by build.rs.\npub static WORDS: &[&str] = &[\n");
    for w in &words {
        src.push_str(&format!("    {w:?},\n"));
    }
    src.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("words.rs");
    std::fs::write(out, src).expect("write words.rs");
}
