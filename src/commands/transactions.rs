//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! While a client is in MULTI, dispatch queues its commands (after the same lookup and
//! arity checks as always, whose errors doom the transaction). EXEC runs the queue
//! through dispatch again, under the server gate taken exclusively (the command is
//! flagged [`flags::EXCLUSIVE`]), so no other client or script observes it half done
//! whatever shards its keys live on.
//!
//! WATCH registers the client's interest per (database, key) in [`Watches`]; every
//! command that changes a key touches it (dispatch does it for key arguments of write
//! commands, FLUSHDB/FLUSHALL/SWAPDB/MOVE do it themselves), which marks the watchers
//! dirty. A watched key that was live when watched and has expired since also fails
//! EXEC, as in Valkey, while one already stale when watched does not.

use super::*;
use crate::server::{cflags, Origin};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

use acl::TRANSACTION;
use flags::*;

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    Command::new("multi", 1, NOSCRIPT | LOADING | STALE | FAST | NO_MULTI | ALLOW_BUSY, multi)
        .acl(TRANSACTION)
        .doc("transactions", "1.2.0", "Starts a transaction.", "O(1)"),
    Command::new("exec", 1, NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG | EXCLUSIVE, exec)
        .acl(TRANSACTION)
        .doc("transactions", "1.2.0", "Executes all commands in a transaction.", "Depends on commands in the transaction"),
    Command::new("discard", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, discard)
        .acl(TRANSACTION)
        .doc("transactions", "2.0.0", "Discards a transaction.", "O(N) where N is the number of queued commands"),
    Command::new("watch", -2, NOSCRIPT | LOADING | STALE | FAST | NO_MULTI | ALLOW_BUSY, watch)
        .keys(1, -1, 1)
        .acl(TRANSACTION)
        .doc("transactions", "2.2.0", "Monitors changes to keys to determine the execution of a transaction.", "O(1) for every key."),
    Command::new("unwatch", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, unwatch)
        .acl(TRANSACTION)
        .doc("transactions", "2.2.0", "Forgets about watched keys of a transaction.", "O(1)"),
];

/// A client's open transaction.
#[derive(Default)]
pub struct MultiState {
    pub queue: Vec<Vec<Vec<u8>>>,
    /// A command failed to queue: EXEC answers EXECABORT.
    pub aborted: bool,
}

/// Set when a key a client watches changes.
#[derive(Default)]
pub struct WatchFlag {
    dirty: AtomicBool,
}

/// The keys a client watches.
pub struct WatchState {
    flag: Arc<WatchFlag>,
    /// (database, key, live when watched)
    keys: Vec<(usize, Vec<u8>, bool)>,
}

/// (database, key)
type WatchedKey = (usize, Vec<u8>);

/// Who watches which key, for the whole server.
#[derive(Default)]
pub struct Watches {
    /// Number of (client, key) registrations: writes skip the map while it is zero.
    count: AtomicUsize,
    map: Mutex<HashMap<WatchedKey, Vec<Arc<WatchFlag>>>>,
}

impl Watches {
    pub fn active(&self) -> bool {
        self.count.load(Relaxed) != 0
    }

    /// Marks the watchers of one key dirty.
    pub fn touch(&self, db: usize, key: &[u8]) {
        if !self.active() {
            return;
        }
        let map = self.map.lock();
        if let Some(v) = map.get(&(db, key.to_vec())) {
            for f in v {
                f.dirty.store(true, Relaxed);
            }
        }
    }

    /// Marks dirty the watchers of every key of `db` for which `affected` says so
    /// (FLUSHDB, FLUSHALL, SWAPDB touch only keys that existed).
    pub fn touch_db(&self, db: usize, mut affected: impl FnMut(&[u8]) -> bool) {
        if !self.active() {
            return;
        }
        let map = self.map.lock();
        for ((d, k), v) in map.iter() {
            if *d == db && affected(k) {
                for f in v {
                    f.dirty.store(true, Relaxed);
                }
            }
        }
    }

    fn add(&self, db: usize, key: &[u8], flag: &Arc<WatchFlag>) {
        self.map
            .lock()
            .entry((db, key.to_vec()))
            .or_default()
            .push(flag.clone());
        self.count.fetch_add(1, Relaxed);
    }

    fn remove(&self, st: &WatchState) {
        let mut map = self.map.lock();
        for (db, key, _) in &st.keys {
            let k = (*db, key.clone());
            if let Some(v) = map.get_mut(&k) {
                v.retain(|f| !Arc::ptr_eq(f, &st.flag));
                if v.is_empty() {
                    map.remove(&k);
                }
                self.count.fetch_sub(1, Relaxed);
            }
        }
    }

    /// Forgets every key the client watches.
    pub fn unwatch_all(&self, client: &mut Client) {
        if let Some(st) = client.watch.take() {
            self.remove(&st);
        }
    }
}

/// True if the key exists and has not expired, without reaping it.
fn live(srv: &Server, db: usize, key: &[u8], now: i64) -> bool {
    let d = srv.keyspace.db(db);
    let g = d.lock(key);
    g.peek(key).is_some_and(|n| !n.is_expired(now))
}

/// FLUSHDB/FLUSHALL are about to empty `db`: watchers of its live keys are touched.
pub fn touch_flushed(srv: &Server, db: usize, now: i64) {
    srv.watches.touch_db(db, |k| live(srv, db, k, now));
}

/// SWAPDB is about to swap `a` and `b`: a watched key is touched in either database if
/// it is live in either (a stale key counts as absent).
pub fn touch_swapped(srv: &Server, a: usize, b: usize, now: i64) {
    for (x, y) in [(a, b), (b, a)] {
        srv.watches
            .touch_db(x, |k| live(srv, x, k, now) || live(srv, y, k, now));
    }
}

/// Leaves MULTI state (EXEC, DISCARD, RESET, a failed EXEC).
pub fn leave_multi(client: &mut Client) {
    client.multi = None;
    client.info.set_flag(cflags::MULTI, false);
    client.info.multi.store(-1, Relaxed);
}

/// RESET and disconnection: no transaction, no watched keys.
pub fn reset(srv: &Server, client: &mut Client) {
    leave_multi(client);
    srv.watches.unwatch_all(client);
}

/// Queues a command of a client in MULTI and answers QUEUED.
pub fn queue(client: &mut Client, out: &mut Reply, args: &[&[u8]]) {
    if let Some(m) = client.multi.as_mut() {
        m.queue.push(args.iter().map(|a| a.to_vec()).collect());
        client.info.multi.store(m.queue.len() as i64, Relaxed);
    }
    out.simple("QUEUED");
}

/// A command failed to queue: the transaction will abort.
pub fn doom(client: &mut Client) {
    if let Some(m) = client.multi.as_mut() {
        m.aborted = true;
    }
}

/// Commands a client in MULTI runs at once instead of queueing (MULTI and WATCH never
/// get here: dispatch refuses them as no-multi).
pub fn runs_in_multi(cmd: &Command) -> bool {
    matches!(cmd.name, "exec" | "discard" | "quit" | "reset")
}

fn multi(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    ctx.client.multi = Some(MultiState::default());
    ctx.client.info.set_flag(cflags::MULTI, true);
    ctx.client.info.multi.store(0, Relaxed);
    ctx.out.ok();
    Ok(())
}

fn discard(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    if ctx.client.multi.is_none() {
        return Err(CmdError::err("DISCARD without MULTI"));
    }
    reset(ctx.srv, ctx.client);
    ctx.out.ok();
    Ok(())
}

/// True if a watched key changed since WATCH (the client's flag, or a key that was live
/// then and is not now).
fn watch_failed(srv: &Server, client: &Client, now: i64) -> bool {
    let Some(st) = &client.watch else {
        return false;
    };
    st.flag.dirty.load(Relaxed)
        || st
            .keys
            .iter()
            .any(|(db, key, was_live)| *was_live && !live(srv, *db, key, now))
}

fn exec(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    let Some(m) = ctx.client.multi.take() else {
        return Err(CmdError::err("EXEC without MULTI"));
    };
    leave_multi(ctx.client);
    let failed = watch_failed(ctx.srv, ctx.client, ctx.now);
    ctx.srv.watches.unwatch_all(ctx.client);
    if m.aborted {
        return Err(CmdError::msg(
            "EXECABORT Transaction discarded because of previous errors.",
        ));
    }
    if failed {
        ctx.out.null_array();
        return Ok(());
    }
    ctx.out.array(m.queue.len());
    let origin = std::mem::replace(&mut ctx.client.origin, Origin::Exec);
    for cmd in &m.queue {
        let args: Args = cmd.iter().map(|a| a.as_slice()).collect();
        dispatch(ctx.srv, ctx.client, ctx.out, &args);
    }
    ctx.client.origin = origin;
    Ok(())
}

fn watch(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let db = ctx.client.db;
    let st = ctx.client.watch.get_or_insert_with(|| WatchState {
        flag: Arc::default(),
        keys: Vec::new(),
    });
    for key in &args[1..] {
        if st.keys.iter().any(|(d, k, _)| *d == db && k == key) {
            continue;
        }
        let was_live = live(ctx.srv, db, key, ctx.now);
        ctx.srv.watches.add(db, key, &st.flag);
        st.keys.push((db, key.to_vec(), was_live));
    }
    ctx.out.ok();
    Ok(())
}

fn unwatch(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    ctx.srv.watches.unwatch_all(ctx.client);
    ctx.out.ok();
    Ok(())
}

use crate::protocol::decode::Args;
