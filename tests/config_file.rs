//! conf/ferrokey.conf documents every directive with its default: loading it must be
//! the same as loading nothing, and it must not leave any directive out.
mod common;
use common::*;
use ferrokey::config::{Config, DIRECTIVES, HIDDEN};
use std::collections::BTreeMap;

const CONF: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/conf/ferrokey.conf");

fn directive_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_ascii_lowercase)
        .collect()
}

/// `# name <placeholder>` lines: how valkey.conf shows a directive that is unset by
/// default and has no value to write down (replicaof).
fn commented_directives(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# "))
        .filter(|l| l.contains(" <"))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_ascii_lowercase)
        .collect()
}

#[test]
fn conf_file_lists_every_directive_once_with_its_default() {
    let text = std::fs::read_to_string(CONF).expect("read conf/ferrokey.conf");
    let names = directive_lines(&text);
    let unset = commented_directives(&text);
    let from_file = Config::new();
    from_file
        .load_text(&text, CONF)
        .expect("conf/ferrokey.conf loads");
    let defaults = Config::new();
    for d in DIRECTIVES.iter().filter(|d| d.flags & HIDDEN == 0) {
        let n = names.iter().filter(|n| *n == d.name).count();
        let shown_unset = d.default.is_empty() && unset.iter().any(|n| n == d.name);
        if !(n == 0 && shown_unset) {
            assert_eq!(
                n, 1,
                "conf/ferrokey.conf sets {} {n} times (want once, by its name)",
                d.name
            );
        }
        assert_eq!(
            from_file.get(d.name),
            defaults.get(d.name),
            "conf/ferrokey.conf gives {} a value other than its default",
            d.name
        );
    }
}

fn config_get_all(s: &TestServer) -> BTreeMap<String, String> {
    let items = s.raw().cmd("CONFIG GET *").items();
    assert!(
        items.len().is_multiple_of(2) && !items.is_empty(),
        "CONFIG GET * returned {items:?}"
    );
    items
        .chunks(2)
        .map(|kv| (kv[0].text(), kv[1].text()))
        .collect()
}

#[test]
fn server_with_conf_file_matches_server_without() {
    let with_file = TestServer::start_with(Some(CONF), &[]);
    let without = TestServer::start(&[]);
    let mut a = config_get_all(&with_file);
    let mut b = config_get_all(&without);
    // the harness gives each server its own port and data directory
    for k in ["port", "dir"] {
        a.remove(k);
        b.remove(k);
    }
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let diff: Vec<_> = keys
        .into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| (k, a.get(k), b.get(k)))
        .collect();
    assert!(diff.is_empty(), "(directive, with file, without): {diff:?}");
}
