//! Which arguments of a command line are keys, and what the command does with each:
//! Valkey's key specs (`getKeysFromCommandWithSpecs`). ACL key patterns grant read
//! (`%R~`), write (`%W~`) or both, so the check must know, per key, whether the
//! command reads it (ACCESS), writes it (INSERT, DELETE, UPDATE), both, or neither
//! (EXISTS, TYPE, STRLEN: any pattern that matches the name will do).
//!
//! The specs come from Valkey's command descriptions ([`super::keyspecs`]); commands
//! whose specs cannot say it all (SET with or without GET, BITFIELD with or without a
//! write operation, SORT ... STORE, MIGRATE ... KEYS) are parsed here, as Valkey does
//! with its `getkeys_proc`s.

use super::{KEY_READ, KEY_WRITE};
use crate::commands::{table, Command};
use smallvec::SmallVec;
use std::sync::LazyLock;

/// Key spec flags (only those the ACL check needs).
pub const ACCESS: u8 = 1;
pub const INSERT: u8 = 2;
pub const DELETE: u8 = 4;
pub const UPDATE: u8 = 8;
pub const INCOMPLETE: u8 = 16;
pub const NOT_KEY: u8 = 32;
/// The flags depend on the arguments: the command's own parser decides.
pub const VARIABLE: u8 = 64;

#[derive(Debug)]
pub struct Spec {
    pub flags: u8,
    pub begin: Begin,
    pub find: Find,
}

/// Where the search for a spec's keys starts.
#[derive(Debug)]
pub enum Begin {
    /// At this argument.
    Index(i32),
    /// After this (lower-case) keyword, searched from the given argument; a negative
    /// start searches backwards from the end.
    Keyword(&'static str, i32),
    Unknown,
}

/// How the keys continue from where the search began.
#[derive(Debug)]
pub enum Find {
    /// `last` relative to the start (negative: from the end of the line), every
    /// `step`; `limit` divides what is left when `last` is -1.
    Range {
        last: i32,
        step: i32,
        limit: i32,
    },
    /// A count at `idx` (relative to the start), keys from `first` after the start.
    Keynum {
        idx: i32,
        first: i32,
        step: i32,
    },
    Unknown,
}

/// A key argument: its position in the line and the permissions it needs
/// ([`KEY_READ`] | [`KEY_WRITE`]; 0 for a command that only looks at the name).
pub type KeyRef = (usize, u8);

/// Enough room for the common commands without touching the heap.
pub type KeyRefs = SmallVec<[KeyRef; 8]>;

/// How a command's keys are found.
#[derive(Clone, Copy)]
enum How {
    /// It has no keys.
    None,
    /// From its key specs, falling back to `special` when they cannot tell, or
    /// always from `special` when a spec's flags vary with the arguments.
    Specs(&'static [Spec], Special, bool),
    /// A command Valkey does not describe: the table's key positions, read for a
    /// read-only command and written for a write command.
    Table,
}

/// Commands whose keys (or their flags) need the arguments parsed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Special {
    None,
    Set,
    Bitfield,
    Sort,
    SortRo,
    Migrate,
}

/// Per command-table index, how its keys are found (built once).
static HOW: LazyLock<Vec<How>> = LazyLock::new(|| {
    table::all()
        .iter()
        .map(|c| {
            let name = table::full_name(c);
            let special = match name.as_str() {
                "set" => Special::Set,
                "bitfield" => Special::Bitfield,
                "sort" => Special::Sort,
                "sort_ro" => Special::SortRo,
                "migrate" => Special::Migrate,
                _ => Special::None,
            };
            match super::keyspecs::SPECS.binary_search_by(|(n, _)| (*n).cmp(name.as_str())) {
                Ok(i) => {
                    let specs = super::keyspecs::SPECS[i].1;
                    if specs.iter().all(|s| s.flags & NOT_KEY != 0) && special == Special::None {
                        How::None
                    } else {
                        let variable = specs.iter().any(|s| s.flags & VARIABLE != 0);
                        How::Specs(specs, special, variable)
                    }
                }
                Err(_) if c.first_key > 0 || c.numkeys_at > 0 || c.more_keys.is_some() => {
                    How::Table
                }
                Err(_) => How::None,
            }
        })
        .collect()
});

/// Whether the command can have key arguments at all (`doesCommandHaveKeys`).
pub fn has_keys(index: usize) -> bool {
    !matches!(HOW.get(index), None | Some(How::None))
}

/// The key arguments of `args` (a full line, name first) run as `cmd`, whose table
/// index is `index`.
pub fn key_refs(cmd: &'static Command, index: usize, args: &[&[u8]], out: &mut KeyRefs) {
    match HOW.get(index).copied().unwrap_or(How::None) {
        How::None => {}
        How::Table => {
            let need = if cmd.is_write() { KEY_WRITE } else { KEY_READ };
            out.extend(cmd.key_positions_in(args).into_iter().map(|p| (p, need)));
        }
        How::Specs(specs, special, variable) => {
            if !variable && from_specs(specs, cmd.arity, args, out) {
                return;
            }
            out.clear();
            from_parser(special, args, out);
        }
    }
}

/// The permissions a key with these spec flags needs.
fn need(flags: u8) -> u8 {
    let mut n = 0;
    if flags & ACCESS != 0 {
        n |= KEY_READ;
    }
    if flags & (INSERT | DELETE | UPDATE) != 0 {
        n |= KEY_WRITE;
    }
    n
}

/// `getKeysUsingKeySpecs`: false when a spec does not fit the line (a syntax error
/// the command will report) or is incomplete.
fn from_specs(specs: &[Spec], arity: i32, args: &[&[u8]], out: &mut KeyRefs) -> bool {
    let argc = args.len() as i64;
    for spec in specs {
        if spec.flags & NOT_KEY != 0 {
            continue;
        }
        let first: i64 = match spec.begin {
            Begin::Index(pos) => pos as i64,
            Begin::Keyword(word, from) => {
                // as Valkey: a forward search never looks at the last argument, a
                // backward one never at the first
                let hit = |&i: &i64| args[i as usize].eq_ignore_ascii_case(word.as_bytes());
                let found = if from > 0 {
                    (from as i64..argc - 1).find(hit)
                } else {
                    let start = argc + from as i64;
                    if start >= argc {
                        None
                    } else {
                        (2..=start).rev().find(hit)
                    }
                };
                match found {
                    Some(i) => i + 1,
                    None => continue,
                }
            }
            Begin::Unknown => return false,
        };
        let (first, last, step) = match spec.find {
            Find::Range { last, step, limit } => {
                let last = if last >= 0 {
                    first + last as i64
                } else if limit == 0 {
                    argc + last as i64
                } else {
                    first + ((argc - first) / limit as i64 + last as i64)
                };
                (first, last, step as i64)
            }
            Find::Keynum {
                idx,
                first: fk,
                step,
            } => {
                let at = first + idx as i64;
                if at >= argc || at < 0 {
                    return false;
                }
                let n = match crate::protocol::decode::parse_i64(args[at as usize]) {
                    Some(n) if n >= 0 => n,
                    _ => return false,
                };
                let f = first + fk as i64;
                (f, f.saturating_add(n) - 1, step as i64)
            }
            Find::Unknown => return false,
        };
        if last >= argc || last < first || first >= argc {
            return false;
        }
        let mut i = first;
        while i <= last {
            // a short line of a variadic command: no keys, the command reports it
            if i >= argc || i < first {
                if arity < 0 {
                    i += step.max(1);
                    continue;
                }
                return false;
            }
            out.push((i as usize, need(spec.flags)));
            i += step.max(1);
        }
        if spec.flags & INCOMPLETE != 0 {
            return false;
        }
    }
    true
}

/// The commands' own key finders (Valkey's `*GetKeys` procs).
fn from_parser(special: Special, args: &[&[u8]], out: &mut KeyRefs) {
    let is = |a: &[u8], w: &str| a.eq_ignore_ascii_case(w.as_bytes());
    let rw = KEY_READ | KEY_WRITE;
    match special {
        // SET reads the key only when GET is among its options
        Special::Set => {
            let get = args.iter().skip(3).any(|a| is(a, "get"));
            out.push((1, if get { rw } else { KEY_WRITE }));
        }
        // BITFIELD writes only with SET or INCRBY (or a syntax error, to be safe)
        Special::Bitfield => {
            let mut readonly = true;
            let mut i = 2;
            while i < args.len() {
                let rem = args.len() - i - 1;
                let a = args[i];
                if is(a, "get") && rem >= 2 {
                    i += 3;
                } else if is(a, "overflow") && rem >= 1 {
                    i += 2;
                } else {
                    readonly = false;
                    break;
                }
            }
            out.push((1, if readonly { KEY_READ } else { rw }));
        }
        Special::SortRo => out.push((1, KEY_READ)),
        // the last STORE names the destination; LIMIT, GET and BY take arguments
        Special::Sort => {
            out.push((1, KEY_READ));
            let mut store = None;
            let mut i = 2;
            while i < args.len() {
                let a = args[i];
                if is(a, "limit") {
                    i += 2;
                } else if is(a, "get") || is(a, "by") {
                    i += 1;
                } else if is(a, "store") && i + 1 < args.len() {
                    store = Some(i + 1);
                }
                i += 1;
            }
            if let Some(p) = store {
                out.push((p, KEY_WRITE));
            }
        }
        // MIGRATE host port key|"" db timeout [COPY] [REPLACE] [AUTH pw]
        // [AUTH2 user pw] [KEYS key...]
        Special::Migrate => {
            let (mut first, mut num) = (3, 1);
            if args.len() > 6 {
                let mut i = 6;
                while i < args.len() {
                    let a = args[i];
                    if is(a, "keys") {
                        if args[3].is_empty() {
                            first = i + 1;
                            num = args.len() - first;
                        } else {
                            // a syntax error MIGRATE itself reports
                            num = 0;
                        }
                        break;
                    }
                    if is(a, "auth") {
                        i += 1;
                    } else if is(a, "auth2") {
                        i += 2;
                    }
                    i += 1;
                }
            }
            out.extend(
                (first..first + num)
                    .filter(|&p| p < args.len())
                    .map(|p| (p, rw)),
            );
        }
        Special::None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(line: &str) -> Vec<KeyRef> {
        let args: Vec<&[u8]> = line.split(' ').map(|s| s.as_bytes()).collect();
        let cmd = table::lookup(args[0]).unwrap();
        let cmd = if cmd.subcommands.is_empty() {
            cmd
        } else {
            cmd.subcommands
                .iter()
                .find(|s| s.name.as_bytes().eq_ignore_ascii_case(args[1]))
                .unwrap()
        };
        let mut out = KeyRefs::new();
        key_refs(cmd, table::index_of(cmd), &args, &mut out);
        out.into_vec()
    }

    const R: u8 = KEY_READ;
    const W: u8 = KEY_WRITE;
    const RW: u8 = KEY_READ | KEY_WRITE;

    #[test]
    fn the_generated_table_is_sorted() {
        let s = super::super::keyspecs::SPECS;
        assert!(s.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn flags_per_key() {
        assert_eq!(keys("get k"), vec![(1, R)]);
        assert_eq!(keys("incr k"), vec![(1, RW)]);
        assert_eq!(keys("lpush k v"), vec![(1, W)]);
        assert_eq!(keys("exists a b"), vec![(1, 0), (2, 0)]);
        assert_eq!(keys("copy a b"), vec![(1, R), (2, W)]);
        assert_eq!(keys("mset a 1 b 2"), vec![(1, W), (3, W)]);
        assert_eq!(keys("ping"), vec![]);
    }

    #[test]
    fn argument_dependent_flags() {
        assert_eq!(keys("set k v"), vec![(1, W)]);
        assert_eq!(keys("set k get"), vec![(1, W)]);
        assert_eq!(keys("set k v ex 10 GET"), vec![(1, RW)]);
        assert_eq!(keys("bitfield k get u4 0"), vec![(1, R)]);
        assert_eq!(keys("bitfield k get u4 0 set u4 0 1"), vec![(1, RW)]);
        assert_eq!(keys("sort a store b"), vec![(1, R), (3, W)]);
        assert_eq!(keys("sort a by store"), vec![(1, R)]);
    }

    #[test]
    fn numkeys_and_keywords() {
        assert_eq!(keys("eval s 2 a b c"), vec![(3, RW), (4, RW)]);
        assert_eq!(keys("eval s 3 a b"), vec![]);
        assert_eq!(keys("eval s -1 a"), vec![]);
        assert_eq!(keys("eval_ro s 1 a"), vec![(3, R)]);
        assert_eq!(keys("sintercard 2 a b"), vec![(2, R), (3, R)]);
    }
}
