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

/// Finds a top-level command by the name clients call it by, ignoring ASCII case,
/// without allocating: the `rename-command` directives of the config apply.
pub fn lookup(name: &[u8]) -> Option<&'static Command> {
    match renamed() {
        Some(r) => r.lookup(name),
        None => lookup_original(name),
    }
}

/// Finds a top-level command by its own name, whatever `rename-command` did: ACL rules
/// and the server's own uses of a command name it (Valkey's `orig_commands`).
pub fn lookup_original(name: &[u8]) -> Option<&'static Command> {
    let mut buf = [0u8; 32];
    if name.len() > buf.len() {
        return None;
    }
    let lower = &mut buf[..name.len()];
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    REGISTRY.by_name.get(&*lower).copied()
}

/// Top-level commands, in table order, including those `rename-command` removed.
pub fn commands() -> &'static [&'static Command] {
    &REGISTRY.top
}

/// Top-level commands clients can call, in table order: what COMMAND, COMMAND COUNT,
/// COMMAND LIST and COMMAND DOCS show. A renamed command keeps its own name there, as
/// in Valkey; one renamed to "" is gone.
pub fn listed() -> &'static [&'static Command] {
    match renamed() {
        Some(r) => &r.top,
        None => &REGISTRY.top,
    }
}

/// The command table as the config's `rename-command` lines left it.
struct Renamed {
    by_name: HashMap<Vec<u8>, &'static Command, foldhash::fast::RandomState>,
    top: Vec<&'static Command>,
}

impl Renamed {
    fn new() -> Self {
        Renamed {
            by_name: REGISTRY
                .by_name
                .iter()
                .map(|(k, v)| (k.to_vec(), *v))
                .collect(),
            top: REGISTRY.top.clone(),
        }
    }

    fn lookup(&self, name: &[u8]) -> Option<&'static Command> {
        // renamed commands often get long random names: no fixed-size shortcut
        let mut buf = [0u8; 64];
        if name.len() <= buf.len() {
            let lower = &mut buf[..name.len()];
            lower.copy_from_slice(name);
            lower.make_ascii_lowercase();
            self.by_name.get(&*lower).copied()
        } else {
            self.by_name.get(&name.to_ascii_lowercase()).copied()
        }
    }

    /// One `rename-command <from> <to>` line: errors are Valkey's.
    fn rename(&mut self, from: &[u8], to: &[u8]) -> Result<(), String> {
        let Some(cmd) = self.by_name.remove(&from.to_ascii_lowercase()) else {
            return Err("No such command in rename-command".into());
        };
        if to.is_empty() {
            self.top.retain(|c| !std::ptr::eq(*c, cmd));
            return Ok(());
        }
        match self.by_name.entry(to.to_ascii_lowercase()) {
            std::collections::hash_map::Entry::Occupied(_) => {
                Err("Target command name already exists".into())
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(cmd);
                Ok(())
            }
        }
    }
}

/// Renames being collected while the config loads; frozen into [`RENAMED`] the first
/// time a command is looked up, so the hot path reads it without a lock.
static PENDING: std::sync::Mutex<Option<Renamed>> = std::sync::Mutex::new(None);
static RENAMED: std::sync::OnceLock<Option<Renamed>> = std::sync::OnceLock::new();

fn renamed() -> Option<&'static Renamed> {
    RENAMED
        .get_or_init(|| PENDING.lock().ok().and_then(|mut p| p.take()))
        .as_ref()
}

/// Applies a `rename-command <from> <to>` config line: `to` empty removes the command.
/// Only possible while the server starts, before any command was looked up.
pub fn rename_command(from: &[u8], to: &[u8]) -> Result<(), String> {
    if RENAMED.get().is_some() {
        return Err("rename-command is only read at startup".into());
    }
    let mut pending = PENDING
        .lock()
        .map_err(|_| "rename-command is only read at startup".to_string())?;
    pending.get_or_insert_with(Renamed::new).rename(from, to)
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

    #[test]
    fn renames_as_valkey() {
        // a private table: the process-wide one must stay as the other tests expect
        let mut r = Renamed::new();
        let config = lookup_original(b"config").unwrap();
        r.rename(b"CONFIG", b"Abc123").unwrap();
        assert!(r.lookup(b"config").is_none());
        assert!(std::ptr::eq(r.lookup(b"ABC123").unwrap(), config));
        assert!(r.top.iter().any(|c| std::ptr::eq(*c, config)));
        // renamed twice: the second line names it by its new name
        r.rename(b"abc123", b"x").unwrap();
        assert!(r.lookup(b"abc123").is_none());
        assert_eq!(
            r.rename(b"config", b"y").unwrap_err(),
            "No such command in rename-command"
        );
        let long = [b'k'; 100];
        r.rename(b"get", &long).unwrap();
        assert!(r.lookup(&long).is_some());
        assert_eq!(
            r.rename(b"set", b"x").unwrap_err(),
            "Target command name already exists"
        );
        r.rename(b"flushall", b"").unwrap();
        assert!(r.lookup(b"flushall").is_none());
        assert!(!r.top.iter().any(|c| c.name == "flushall"));
        // the name of a removed command is free again
        r.rename(b"flushdb", b"flushall").unwrap();
        assert_eq!(r.lookup(b"flushall").unwrap().name, "flushdb");
    }
}
