//! The one command table: every family's `COMMANDS` slice, indexed once at start.

use super::Command;
use std::collections::HashMap;
use std::sync::LazyLock;

/// Every family's declarations. Adding a family means adding its slice here.
const FAMILIES: &[&[Command]] = &[
    super::strings::COMMANDS,
    super::bitops::COMMANDS,
    super::keys::COMMANDS,
    super::hashes::COMMANDS,
    super::lists::COMMANDS,
    super::sets::COMMANDS,
    super::zsets::COMMANDS,
    super::sort::COMMANDS,
    super::geo::COMMANDS,
    super::connection::COMMANDS,
    super::server::COMMANDS,
    super::transactions::COMMANDS,
    super::scripting::COMMANDS,
    crate::persistence::commands::COMMANDS,
    super::pubsub::COMMANDS,
    super::acl_family::COMMANDS,
];

pub struct Registry {
    by_name: HashMap<&'static [u8], &'static Command, foldhash::fast::RandomState>,
    /// Top-level commands in declaration order.
    top: Vec<&'static Command>,
    /// Every command and subcommand; the position is the command's stats index.
    all: Vec<&'static Command>,
    index: HashMap<usize, usize, foldhash::fast::RandomState>,
    parent: HashMap<usize, &'static Command, foldhash::fast::RandomState>,
}

static REGISTRY: LazyLock<Registry> = LazyLock::new(|| {
    let mut r = Registry {
        by_name: HashMap::default(),
        top: Vec::new(),
        all: Vec::new(),
        index: HashMap::default(),
        parent: HashMap::default(),
    };
    for fam in FAMILIES {
        for c in fam.iter() {
            debug_assert!(c.name.bytes().all(|b| !b.is_ascii_uppercase()));
            let prev = r.by_name.insert(c.name.as_bytes(), c);
            assert!(prev.is_none(), "command {} declared twice", c.name);
            r.top.push(c);
            r.index.insert(c as *const Command as usize, r.all.len());
            r.all.push(c);
            for s in c.subcommands {
                r.index.insert(s as *const Command as usize, r.all.len());
                r.parent.insert(s as *const Command as usize, c);
                r.all.push(s);
            }
        }
    }
    r
});

/// Finds a top-level command by name, ignoring ASCII case, without allocating.
pub fn lookup(name: &[u8]) -> Option<&'static Command> {
    let mut buf = [0u8; 32];
    if name.len() > buf.len() {
        return None;
    }
    let lower = &mut buf[..name.len()];
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    REGISTRY.by_name.get(&*lower).copied()
}

/// Top-level commands, in table order.
pub fn commands() -> &'static [&'static Command] {
    &REGISTRY.top
}

/// Every command and subcommand (index = stats slot).
pub fn all() -> &'static [&'static Command] {
    &REGISTRY.all
}

pub fn index_of(cmd: &'static Command) -> usize {
    REGISTRY
        .index
        .get(&(cmd as *const Command as usize))
        .copied()
        .unwrap_or(0)
}

pub fn parent_of(cmd: &'static Command) -> Option<&'static Command> {
    REGISTRY
        .parent
        .get(&(cmd as *const Command as usize))
        .copied()
}

/// "get", or "config|get" for a subcommand.
pub fn full_name(cmd: &'static Command) -> String {
    match parent_of(cmd) {
        Some(p) => format!("{}|{}", p.name, cmd.name),
        None => cmd.name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        for c in all() {
            assert!(c.arity != 0, "{} has arity 0", c.name);
            assert!(!c.summary.is_empty(), "{} has no summary", full_name(c));
            if c.is_write() {
                assert!(
                    !c.has(super::super::flags::READONLY),
                    "{} both write and readonly",
                    c.name
                );
            }
            if c.first_key > 0 {
                assert!(c.key_step > 0, "{} has keys but no step", c.name);
            }
        }
        assert!(lookup(b"GeT").is_some());
        assert!(lookup(b"nope").is_none());
    }
}
