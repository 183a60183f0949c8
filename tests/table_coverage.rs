//! Walks the command table and fails for any command or subcommand that no integration
//! test sends. A command counts as sent when a test file names it as a command word:
//! `"GET k"`, `cmd("get ...")`, `b"GET"`, or `redis::cmd("GET")`; a subcommand as
//! `"CONFIG GET"` (or the two words in adjacent byte-string arguments).

use ferrokey::commands::table;
use std::path::Path;

fn test_sources() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut all = String::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") && !p.ends_with("table_coverage.rs")
            {
                all.push_str(&std::fs::read_to_string(&p).unwrap_or_default());
                all.push('\n');
            }
        }
    }
    all.to_ascii_lowercase()
}

/// True if `word` starts a string literal (`"word` or `b"word`) followed by a space,
/// quote or escape, i.e. it is used as a command name.
fn sends(src: &str, words: &str) -> bool {
    let joined = [
        format!("\"{words} "),
        format!("\"{words}\""),
        format!("\"{words}\\r"),
    ];
    if joined.iter().any(|p| src.contains(p)) {
        return true;
    }
    // subcommand given as separate arguments: b"config", b"get"
    if let Some((a, b)) = words.split_once(' ') {
        let sep = format!("\"{a}\", b\"{b}\"");
        let sep2 = format!("\"{a}\", \"{b}\"");
        return src.contains(&sep) || src.contains(&sep2);
    }
    false
}

#[test]
fn every_command_has_an_integration_test() {
    let src = test_sources();
    let mut missing = Vec::new();
    for c in table::all() {
        let words = table::full_name(c).replace('|', " ");
        if c.subcommands.is_empty() && !sends(&src, &words) {
            missing.push(words);
        }
    }
    assert!(
        missing.is_empty(),
        "commands without an integration test ({}): {}",
        missing.len(),
        missing.join(", ")
    );
}
