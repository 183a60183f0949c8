//! Commands: the one command table and the dispatcher every caller goes through.
//!
//! A handler parses its arguments, works on the store and appends its reply to
//! [`Ctx::out`]; it never touches a socket. Errors are returned as [`CmdError`] and
//! turned into error replies (and error statistics) in one place, [`dispatch`].

#[path = "acl.rs"]
pub mod acl_family;
pub mod args;
pub mod bitops;
pub mod connection;
pub mod geo;
pub mod hashes;
pub mod info;
pub mod keys;
pub mod lists;
pub mod pubsub;
pub mod scripting;
pub mod server;
pub mod sets;
pub mod sort;
pub mod spec;
pub mod strings;
pub mod table;
pub mod transactions;
pub mod zsets;

use crate::protocol::Reply;
use crate::server::{Client, Server};
use crate::store::Db;
pub use args::*;
pub use spec::{acl, flags, Command, Handler};
use std::borrow::Cow;

/// Why a command failed. The Display text is the exact error line Valkey sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CmdError {
    WrongType,
    NotInteger,
    NotFloat,
    Syntax,
    NoSuchKey,
    Overflow,
    /// Any other error: the full line including its code ("ERR ...", "NOPERM ...").
    Msg(Cow<'static, str>),
}

impl CmdError {
    pub fn msg(s: impl Into<Cow<'static, str>>) -> Self {
        CmdError::Msg(s.into())
    }

    /// An "ERR ..." error.
    pub fn err(s: impl std::fmt::Display) -> Self {
        CmdError::Msg(Cow::Owned(format!("ERR {s}")))
    }

    /// Valkey's `addReplySubcommandSyntaxError`: a known container command with a
    /// subcommand it cannot parse.
    pub fn subcommand_syntax(args: &[&[u8]]) -> Self {
        let sub = args
            .get(1)
            .map(|s| lossy(&s[..s.len().min(128)]))
            .unwrap_or_default();
        let cmd = args.first().map(|c| lossy(c)).unwrap_or_default();
        CmdError::err(format!(
            "unknown subcommand or wrong number of arguments for '{sub}'. Try {} HELP.",
            cmd.to_ascii_uppercase()
        ))
    }

    pub fn text(&self) -> Cow<'_, str> {
        match self {
            CmdError::WrongType => {
                "WRONGTYPE Operation against a key holding the wrong kind of value".into()
            }
            CmdError::NotInteger => "ERR value is not an integer or out of range".into(),
            CmdError::NotFloat => "ERR value is not a valid float".into(),
            CmdError::Syntax => "ERR syntax error".into(),
            CmdError::NoSuchKey => "ERR no such key".into(),
            CmdError::Overflow => "ERR increment or decrement would overflow".into(),
            CmdError::Msg(m) => Cow::Borrowed(m),
        }
    }
}

impl std::fmt::Display for CmdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text())
    }
}

pub type CmdResult = Result<(), CmdError>;

/// Everything a handler may use while it runs.
pub struct Ctx<'a> {
    pub srv: &'a Server,
    pub client: &'a mut Client,
    pub out: &'a mut Reply,
    /// Unix milliseconds, fixed for the duration of the command.
    pub now: i64,
    pub cmd: &'static Command,
    /// Number of keyspace changes this command made (Valkey's `server.dirty` delta).
    pub dirty: u64,
    /// What the AOF logs for this command instead of the request itself (None: the
    /// request as sent). Handlers whose effect differs from their request set it.
    pub propagate: Option<Vec<Vec<Vec<u8>>>>,
    /// Positions of the key arguments the command changed, when not all of them did
    /// (SMOVE into a set that already had the member): WATCH and blocked clients only
    /// hear of those.
    pub changed_keys: Option<Vec<usize>>,
}

impl<'a> Ctx<'a> {
    /// The client's selected database. The borrow is of the server, not of the
    /// context, so a handler can hold a shard lock while writing its reply.
    pub fn db(&self) -> &'a Db {
        self.srv.keyspace.db(self.client.db)
    }

    /// Publishes a keyspace notification for `key` in the client's database (see
    /// [`crate::pubsub::notify`]); one atomic load when notifications are off.
    pub fn notify(&self, class: u32, event: &str, key: &[u8]) {
        crate::pubsub::notify(self.srv, class, event, key, self.client.db);
    }
}

/// Executes one request from `client`, appending exactly one reply to `out` (none when
/// the client turned replies off).
pub fn dispatch(srv: &Server, client: &mut Client, out: &mut Reply, args: &[&[u8]]) {
    let Some(&name) = args.first() else { return };
    let reply_start = out.len();
    let Some(cmd) = table::lookup(name) else {
        let e = unknown_command(name, &args[1..]);
        srv.stats.error_reply(&e);
        out.error(&e);
        transactions::doom(client);
        return;
    };
    let cmd = match resolve_subcommand(cmd, args) {
        Ok(c) => c,
        Err(e) => {
            reject(srv, client, cmd, out, &e.text());
            return;
        }
    };
    if !arity_ok(cmd.arity, args.len()) {
        let full = table::full_name(cmd);
        reject(
            srv,
            client,
            cmd,
            out,
            &format!("ERR wrong number of arguments for '{full}' command"),
        );
        return;
    }
    if !client.authenticated && !cmd.has(flags::NO_AUTH) {
        reject(srv, client, cmd, out, "NOAUTH Authentication required.");
        return;
    }
    // ACL: may the client's user run this command on these keys and channels?
    if let Err(e) = acl_family::permit(srv, client, cmd, args) {
        reject(srv, client, cmd, out, &e);
        return;
    }
    if client.multi.is_some() && cmd.has(flags::NO_MULTI) {
        reject(
            srv,
            client,
            cmd,
            out,
            "ERR Command not allowed inside a transaction",
        );
        return;
    }
    if client.resp2_subscribed() && !cmd.has(flags::PUBSUB_CONTEXT) {
        let full = table::full_name(cmd);
        reject(
            srv,
            client,
            cmd,
            out,
            &format!(
                "ERR Can't execute '{full}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
            ),
        );
        return;
    }
    // maxmemory: evict before the command runs; still over the limit with nothing to
    // evict, refuse what may grow memory (EXEC discards its transaction then)
    if crate::store::evict::maxmemory() != 0 && client.origin == crate::server::Origin::Client {
        if let Some(e) = crate::store::evict::refuse(srv, client, cmd) {
            reject(srv, client, cmd, out, e);
            return;
        }
    }
    // AOF write errors refuse writes until the log is healthy again
    if cmd.has(flags::WRITE) && !client.nested() {
        if let Some(e) = crate::persistence::deny_write() {
            reject(srv, client, cmd, out, &e);
            return;
        }
    }
    // a script busy past its time limit: refused now, so a transaction being queued
    // is doomed rather than run once the script is gone
    if !client.nested() {
        if let Some(e) = crate::scripting::busy_now(srv, cmd) {
            reject(srv, client, cmd, out, e);
            return;
        }
    }
    if client.multi.is_some() && !transactions::runs_in_multi(cmd) {
        transactions::queue(client, out, args);
        return;
    }
    // CLIENT NO-TOUCH: this command's lookups (its nested ones too) leave keys'
    // LRU/LFU data alone
    let _no_touch = client
        .info
        .has_flag(crate::server::cflags::NO_TOUCH)
        .then(|| crate::store::evict::NoTouch::enter(true));
    let started = quanta::Instant::now();
    let mut ctx = Ctx {
        srv,
        client,
        out,
        // replaying the AOF, nothing expires (the log's DELs say when keys went),
        // as when Valkey loads
        now: if crate::persistence::replaying() {
            0
        } else {
            crate::store::unix_ms_at(started)
        },
        cmd,
        dirty: 0,
        propagate: None,
        changed_keys: None,
    };
    // Normal commands share the gate; EXEC and scripts take it exclusively so that
    // nothing observes them half done, and what they run nested already holds it.
    // A poisoned gate only means a handler panicked elsewhere; the data is intact.
    // While a script runs past busy-reply-threshold, other clients get BUSY instead
    // of waiting for the gate (see `scripting::enter_gate`).
    let result = if ctx.client.nested() {
        call(&mut ctx, args, reply_start)
    } else {
        match crate::scripting::enter_gate(srv, cmd) {
            Ok(_gate) => call(&mut ctx, args, reply_start),
            Err(busy) => {
                srv.stats.record_rejected(cmd);
                srv.stats.error_reply(busy);
                ctx.out.error(busy);
                return;
            }
        }
    };
    let dirty = ctx.dirty;
    let changed = ctx.changed_keys.take();
    if dirty > 0 && cmd.has(flags::WRITE) {
        // WATCH and blocked clients learn of the change through the keys it names
        for i in changed.unwrap_or_else(|| cmd.key_positions_in(args)) {
            if let Some(k) = args.get(i) {
                srv.key_modified(client.db, k);
            }
        }
    }
    let elapsed = started.elapsed();
    let failed = match &result {
        Ok(()) => false,
        Err(e) => {
            out.truncate(reply_start);
            let t = e.text();
            // a script failing with the error of a command it ran: counted already
            if !crate::scripting::error_already_counted() {
                srv.stats.error_reply(&t);
            }
            out.error(&t);
            true
        }
    };
    let blocked = client.block.as_ref().is_some_and(|b| b.waiter.is_some());
    if client.origin == crate::server::Origin::Unblock {
        // a blocked command retried for its client was counted when it blocked, and
        // is logged now that it has run to completion
        srv.stats.record_dirty(dirty);
        if !blocked && !cmd.has(flags::SKIP_SLOWLOG) {
            srv.slowlog_check(client, args, elapsed, out.len() - reply_start);
        }
        return;
    }
    // as Valkey, monitors see a command once it ran, and never administrative ones
    if !cmd.has(flags::SKIP_MONITOR | flags::ADMIN) {
        srv.feed_monitors(client, args);
    }
    let index = table::index_of(cmd);
    srv.stats.record_call(index, elapsed, failed, dirty);
    client.note_command(index, blocked);
    if !blocked && !cmd.has(flags::SKIP_SLOWLOG) {
        srv.slowlog_check(client, args, elapsed, out.len() - reply_start);
    }
}

/// Runs after every top-level command, i.e. a request read from a connection, not the
/// commands EXEC or a script run nested: whatever those changed is now visible as a
/// whole, so blocked clients may be served and the effects published.
pub fn after_command(srv: &Server) {
    crate::pubsub::report_created(srv);
    report_expired(srv);
    crate::persistence::flush_pending();
    crate::server::blocking::serve_ready(srv);
    crate::persistence::flush_pending();
}

/// Runs a handler; a write that changed something is handed to the AOF while the
/// gate is still held (a rewrite's commit must see it applied and noted, or neither).
fn call(ctx: &mut Ctx, args: &[&[u8]], reply_start: usize) -> CmdResult {
    // with the AOF on, writes to the same keys are serialized so the log has them in
    // the order they were applied
    let _order = crate::persistence::order(ctx, args);
    let r = (ctx.cmd.handler)(ctx, args);
    if r.is_ok() && ctx.dirty > 0 && ctx.cmd.has(flags::WRITE) {
        crate::persistence::record(ctx, args, reply_start);
    }
    if crate::persistence::is_unit(ctx.client) {
        // appended before the gate is released, so the log keeps the order writes
        // to the same key were applied in (EXEC/scripts as one MULTI/EXEC unit)
        crate::persistence::command_done(ctx.srv);
    }
    r
}

/// Publishes what this thread expired (lazily in commands, or in the cron's active
/// expiry cycle) since the last call: keyspace `expired` events, the AOF's DEL.
pub fn report_expired(srv: &Server) {
    if !crate::store::has_expired() {
        return;
    }
    for (db, key) in crate::store::take_expired() {
        crate::pubsub::notify(srv, crate::pubsub::class::EXPIRED, "expired", &key, db);
    }
}

/// Positions of the key arguments of a command line, from the table.
pub fn keys_of(cmd: &'static Command, args: &[&[u8]]) -> Vec<usize> {
    cmd.key_positions_in(args)
}

/// Refuses a command before it runs; inside MULTI that dooms the transaction.
fn reject(srv: &Server, client: &mut Client, cmd: &'static Command, out: &mut Reply, msg: &str) {
    // a refused EXEC discards its transaction and says so (Valkey's execCommandAbort)
    if cmd.name == "exec" && !msg.starts_with("EXECABORT") {
        // errors with their own code keep it; plain ERR ones are quoted bare
        let why = msg.strip_prefix("ERR ").unwrap_or(msg);
        let msg = format!("EXECABORT Transaction discarded because of: {why}");
        srv.stats.record_rejected(cmd);
        srv.stats.error_reply(&msg);
        out.error(&msg);
        transactions::reset(srv, client);
        return;
    }
    transactions::doom(client);
    srv.stats.record_rejected(cmd);
    srv.stats.error_reply(msg);
    out.error(msg);
    if cmd.name == "exec" {
        transactions::reset(srv, client);
    }
}

fn arity_ok(arity: i32, argc: usize) -> bool {
    if arity >= 0 {
        argc == arity as usize
    } else {
        argc >= (-arity) as usize
    }
}

fn resolve_subcommand(cmd: &'static Command, args: &[&[u8]]) -> Result<&'static Command, CmdError> {
    if cmd.subcommands.is_empty() {
        return Ok(cmd);
    }
    let Some(sub) = args.get(1) else {
        // arity check reports the missing subcommand
        return Ok(cmd);
    };
    match cmd
        .subcommands
        .iter()
        .find(|s| s.name.as_bytes().eq_ignore_ascii_case(sub))
    {
        Some(s) => Ok(s),
        None => Err(CmdError::Msg(
            format!(
                "ERR unknown subcommand '{}'. Try {} HELP.",
                truncated(sub, 128),
                // the name the client called it by (a renamed command's new name)
                lossy(args[0]).to_ascii_uppercase()
            )
            .into(),
        )),
    }
}

/// Valkey shows at most this much of a client-supplied name in an error.
fn truncated(b: &[u8], max: usize) -> String {
    let s = String::from_utf8_lossy(&b[..b.len().min(max)]).into_owned();
    s.replace(['\r', '\n'], " ")
}

fn unknown_command(name: &[u8], rest: &[&[u8]]) -> String {
    let mut args = String::new();
    for a in rest {
        if args.len() >= 128 {
            break;
        }
        let room = 128 - args.len();
        args.push('\'');
        args.push_str(&truncated(a, room));
        args.push_str("' ");
    }
    format!(
        "ERR unknown command '{}', with args beginning with: {}",
        truncated(name, 128),
        args
    )
}
