//! What a command declaration holds. Every family module exports a `COMMANDS` slice of
//! these; together they are the one command table (see [`super::table`]).

use super::{CmdResult, Ctx};

pub type Handler = fn(&mut Ctx, &[&[u8]]) -> CmdResult;

/// Finds key positions by parsing a command line.
pub type KeysFn = fn(&[&[u8]]) -> Vec<usize>;

/// Command flags, as in Valkey's `server.h` glossary. COMMAND INFO prints their names.
pub mod flags {
    pub const WRITE: u32 = 1 << 0;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const BLOCKING: u32 = 1 << 6;
    pub const LOADING: u32 = 1 << 7;
    pub const STALE: u32 = 1 << 8;
    pub const SKIP_MONITOR: u32 = 1 << 9;
    pub const SKIP_SLOWLOG: u32 = 1 << 10;
    pub const FAST: u32 = 1 << 11;
    pub const NO_AUTH: u32 = 1 << 12;
    pub const MAY_REPLICATE: u32 = 1 << 13;
    pub const NO_MANDATORY_KEYS: u32 = 1 << 14;
    pub const NO_MULTI: u32 = 1 << 15;
    pub const MOVABLEKEYS: u32 = 1 << 16;
    pub const ALLOW_BUSY: u32 = 1 << 17;
    /// Allowed while a RESP2 client is in subscribed mode.
    pub const PUBSUB_CONTEXT: u32 = 1 << 18;
    /// Runs under the server gate taken exclusively (EXEC, scripts): nothing else runs
    /// meanwhile. Internal, not shown by COMMAND.
    pub const EXCLUSIVE: u32 = 1 << 19;

    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (MAY_REPLICATE, "may_replicate"),
        (NO_MANDATORY_KEYS, "no_mandatory_keys"),
        (NO_MULTI, "no_multi"),
        (MOVABLEKEYS, "movablekeys"),
        (ALLOW_BUSY, "allow_busy"),
    ];
}

/// ACL categories. Some follow from flags (write, read, admin, dangerous, pubsub, fast,
/// slow, blocking); the rest are declared per command.
pub mod acl {
    pub const KEYSPACE: u64 = 1 << 0;
    pub const READ: u64 = 1 << 1;
    pub const WRITE: u64 = 1 << 2;
    pub const SET: u64 = 1 << 3;
    pub const SORTEDSET: u64 = 1 << 4;
    pub const LIST: u64 = 1 << 5;
    pub const HASH: u64 = 1 << 6;
    pub const STRING: u64 = 1 << 7;
    pub const BITMAP: u64 = 1 << 8;
    pub const HYPERLOGLOG: u64 = 1 << 9;
    pub const GEO: u64 = 1 << 10;
    pub const STREAM: u64 = 1 << 11;
    pub const PUBSUB: u64 = 1 << 12;
    pub const ADMIN: u64 = 1 << 13;
    pub const FAST: u64 = 1 << 14;
    pub const SLOW: u64 = 1 << 15;
    pub const BLOCKING: u64 = 1 << 16;
    pub const DANGEROUS: u64 = 1 << 17;
    pub const CONNECTION: u64 = 1 << 18;
    pub const TRANSACTION: u64 = 1 << 19;
    pub const SCRIPTING: u64 = 1 << 20;

    pub const NAMES: &[(u64, &str)] = &[
        (KEYSPACE, "keyspace"),
        (READ, "read"),
        (WRITE, "write"),
        (SET, "set"),
        (SORTEDSET, "sortedset"),
        (LIST, "list"),
        (HASH, "hash"),
        (STRING, "string"),
        (BITMAP, "bitmap"),
        (HYPERLOGLOG, "hyperloglog"),
        (GEO, "geo"),
        (STREAM, "stream"),
        (PUBSUB, "pubsub"),
        (ADMIN, "admin"),
        (FAST, "fast"),
        (SLOW, "slow"),
        (BLOCKING, "blocking"),
        (DANGEROUS, "dangerous"),
        (CONNECTION, "connection"),
        (TRANSACTION, "transaction"),
        (SCRIPTING, "scripting"),
    ];
}

/// One command or subcommand.
#[derive(Debug)]
pub struct Command {
    /// Lower-case name; for a subcommand just the subcommand ("get" under "config").
    pub name: &'static str,
    /// Valkey arity: N means exactly N arguments including the name, -N at least N.
    pub arity: i32,
    pub flags: u32,
    pub first_key: i32,
    pub last_key: i32,
    pub key_step: i32,
    /// For commands whose keys follow a count argument (ZUNION numkeys key...,
    /// EVAL script numkeys key...): the position of that count; 0 if none.
    pub numkeys_at: i32,
    /// Extra key positions found by parsing the arguments (SORT ... STORE key).
    pub more_keys: Option<KeysFn>,
    /// Declared ACL categories; flag-derived ones are added by [`Command::acl_categories`].
    pub acl: u64,
    pub group: &'static str,
    pub since: &'static str,
    pub summary: &'static str,
    pub complexity: &'static str,
    pub handler: Handler,
    pub subcommands: &'static [Command],
}

impl Command {
    pub const fn new(name: &'static str, arity: i32, flags: u32, handler: Handler) -> Command {
        Command {
            name,
            arity,
            flags,
            first_key: 0,
            last_key: 0,
            key_step: 0,
            numkeys_at: 0,
            more_keys: None,
            acl: 0,
            group: "generic",
            since: "1.0.0",
            summary: "",
            complexity: "",
            handler,
            subcommands: &[],
        }
    }

    /// Key positions: first, last (negative counts from the end), step.
    pub const fn keys(mut self, first: i32, last: i32, step: i32) -> Command {
        self.first_key = first;
        self.last_key = last;
        self.key_step = step;
        self
    }

    /// Keys follow a count at position `at` (the command is then MOVABLEKEYS).
    pub const fn numkeys(mut self, at: i32) -> Command {
        self.numkeys_at = at;
        self
    }

    /// Keys beyond the declared range, found by parsing the arguments.
    pub const fn more_keys(mut self, f: KeysFn) -> Command {
        self.more_keys = Some(f);
        self
    }

    pub const fn acl(mut self, categories: u64) -> Command {
        self.acl = categories;
        self
    }

    /// COMMAND DOCS fields.
    pub const fn doc(
        mut self,
        group: &'static str,
        since: &'static str,
        summary: &'static str,
        complexity: &'static str,
    ) -> Command {
        self.group = group;
        self.since = since;
        self.summary = summary;
        self.complexity = complexity;
        self
    }

    pub const fn subs(mut self, subcommands: &'static [Command]) -> Command {
        self.subcommands = subcommands;
        self
    }

    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }

    pub fn is_write(&self) -> bool {
        self.has(flags::WRITE)
    }

    /// Declared categories plus those implied by flags, as Valkey's
    /// `setImplicitACLCategories`.
    pub fn acl_categories(&self) -> u64 {
        let mut c = self.acl;
        if self.has(flags::WRITE) {
            c |= acl::WRITE;
        }
        if self.has(flags::READONLY) && c & acl::SCRIPTING == 0 {
            c |= acl::READ;
        }
        if self.has(flags::ADMIN) {
            c |= acl::ADMIN | acl::DANGEROUS;
        }
        if self.has(flags::PUBSUB) {
            c |= acl::PUBSUB;
        }
        if self.has(flags::FAST) {
            c |= acl::FAST;
        }
        if self.has(flags::BLOCKING) {
            c |= acl::BLOCKING;
        }
        if c & acl::FAST == 0 {
            c |= acl::SLOW;
        }
        c
    }

    /// Positions of the key arguments of a full command line: the fixed range plus,
    /// for numkeys commands, the counted keys (bounded by what was sent).
    pub fn key_positions_in(&self, args: &[&[u8]]) -> Vec<usize> {
        let mut v = self.key_positions(args.len());
        if self.numkeys_at > 0 {
            let at = self.numkeys_at as usize;
            let n = args
                .get(at)
                .and_then(|a| crate::protocol::decode::parse_i64(a))
                .unwrap_or(0)
                .max(0) as usize;
            let end = (at + 1).saturating_add(n).min(args.len());
            v.extend(at + 1..end);
        }
        if let Some(f) = self.more_keys {
            v.extend(f(args));
        }
        v
    }

    /// Positions of the key arguments in `args` (which include the command name), from
    /// the first/last/step declaration.
    pub fn key_positions(&self, argc: usize) -> Vec<usize> {
        if self.first_key <= 0 || self.key_step <= 0 {
            return Vec::new();
        }
        let first = self.first_key as usize;
        let last = if self.last_key < 0 {
            let l = argc as i64 + self.last_key as i64;
            if l < 0 {
                return Vec::new();
            }
            l as usize
        } else {
            self.last_key as usize
        };
        let mut v = Vec::new();
        let mut i = first;
        while i <= last && i < argc {
            v.push(i);
            i += self.key_step as usize;
        }
        v
    }
}

/// Handler for a container command that was called without a known subcommand; the
/// dispatcher answers before ever calling it.
pub fn container(_: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    Ok(())
}
