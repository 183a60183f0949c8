//! Clients blocked on keys (BLPOP, BLMOVE, BLMPOP, BZPOPMIN, BZMPOP...).
//!
//! A blocking command that finds nothing registers a [`Waiter`] on each of its keys and
//! asks the connection loop to suspend the client ([`super::Block`]). Commands that
//! change a key call [`Blocking::signal`]; keys with waiters are queued, per thread, as
//! ready. Once the top-level command is over (after a whole EXEC or script, so nothing
//! half done is seen), [`serve_ready`] re-runs each waiter's command through dispatch on
//! the waiter's behalf, in the order the waiters blocked, while the key still holds
//! something: the first blocked client is served first whatever its thread, and a
//! command served this way (BLMOVE) may make further keys ready, served in the same
//! pass. The reply travels to the waiting connection through the waiter itself.
//!
//! A waiter ends exactly once: served (by whichever thread runs the retry) or given up
//! (timeout, CLIENT UNBLOCK, disconnection, by its own connection); the state mutex
//! decides which, so a served reply is never lost and never doubled.

use super::{Client, ClientInfo, Origin, Server};
use crate::commands::dispatch;
use crate::protocol::decode::Args;
use crate::protocol::Reply;
use crate::store::{Object, ValueRef};
use parking_lot::Mutex;
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use tokio::sync::Notify;

/// What a waiter waits for: a key of this type with something in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    List,
    ZSet,
}

enum State {
    Waiting,
    Served(Vec<u8>),
    Gone,
}

/// One blocked command.
pub struct Waiter {
    info: Arc<ClientInfo>,
    db: usize,
    resp: u8,
    args: Vec<Vec<u8>>,
    keys: Vec<Vec<u8>>,
    kind: Kind,
    state: Mutex<State>,
    /// Woken once the waiter has been served.
    pub served: Notify,
}

type Queues = HashMap<(usize, Vec<u8>), VecDeque<Arc<Waiter>>>;

/// All waiters, by (database, key), in the order they blocked.
#[derive(Default)]
pub struct Blocking {
    /// (waiter, key) registrations: while zero, writes skip the map entirely.
    entries: AtomicUsize,
    queues: Mutex<Queues>,
}

thread_local! {
    /// Keys with waiters that commands on this thread changed, to retry after the
    /// current top-level command.
    static READY: RefCell<Vec<(usize, Vec<u8>)>> = const { RefCell::new(Vec::new()) };
}

fn mark_ready(db: usize, key: &[u8]) {
    READY.with(|r| {
        let mut r = r.borrow_mut();
        if !r.iter().any(|(d, k)| *d == db && k == key) {
            r.push((db, key.to_vec()));
        }
    });
}

impl Blocking {
    /// `key` in `db` changed: if clients wait on it, retry them after this command.
    pub fn signal(&self, db: usize, key: &[u8]) {
        if self.entries.load(Relaxed) == 0 {
            return;
        }
        if self.queues.lock().contains_key(&(db, key.to_vec())) {
            mark_ready(db, key);
        }
    }

    /// The whole of `db` changed (SWAPDB): every key waited on there may be ready.
    pub fn signal_db(&self, _srv: &Server, db: usize) {
        if self.entries.load(Relaxed) == 0 {
            return;
        }
        let keys: Vec<Vec<u8>> = self
            .queues
            .lock()
            .keys()
            .filter(|(d, _)| *d == db)
            .map(|(_, k)| k.clone())
            .collect();
        for k in keys {
            mark_ready(db, &k);
        }
    }

    /// Keys at least one client is blocked on (INFO total_blocking_keys).
    pub fn blocking_keys(&self) -> usize {
        if self.entries.load(Relaxed) == 0 {
            return 0;
        }
        self.queues.lock().len()
    }

    fn register(&self, w: &Arc<Waiter>) {
        let mut q = self.queues.lock();
        for k in &w.keys {
            q.entry((w.db, k.clone())).or_default().push_back(w.clone());
            self.entries.fetch_add(1, Relaxed);
        }
    }

    fn unregister(&self, w: &Arc<Waiter>) {
        let mut q = self.queues.lock();
        for k in &w.keys {
            let id = (w.db, k.clone());
            if let Some(v) = q.get_mut(&id) {
                let before = v.len();
                v.retain(|x| !Arc::ptr_eq(x, w));
                self.entries.fetch_sub(before - v.len(), Relaxed);
                if v.is_empty() {
                    q.remove(&id);
                }
            }
        }
    }

    /// The waiting connection is done waiting (timeout, CLIENT UNBLOCK, disconnection).
    /// Returns the reply if the waiter was served in the meantime.
    pub fn finish(&self, w: &Arc<Waiter>) -> Option<Vec<u8>> {
        let mut st = w.state.lock();
        match std::mem::replace(&mut *st, State::Gone) {
            State::Served(reply) => Some(reply),
            State::Waiting => {
                drop(st);
                self.unregister(w);
                None
            }
            State::Gone => None,
        }
    }
}

/// Suspends the client on `keys` if it may block: this is where a blocking command ends
/// up when it found nothing to pop. `deadline` is the timeout (None = forever); the
/// reply the command wrote so far (from `reply_at`) is what the client gets on timeout.
/// Inside EXEC or a script the command answers at once with that reply instead; while
/// being retried for a waiter, it just reports that there is still nothing.
pub fn block(
    ctx: &mut crate::commands::Ctx,
    args: &[&[u8]],
    keys: &[&[u8]],
    kind: Kind,
    timeout: Option<std::time::Duration>,
    reply_at: usize,
) {
    match ctx.client.origin {
        Origin::Client => {}
        Origin::Unblock => {
            ctx.client.block = Some(super::Block {
                timeout,
                reply_at,
                blocked: true,
                waiter: None,
            });
            return;
        }
        _ => return,
    }
    let mut uniq: Vec<Vec<u8>> = Vec::with_capacity(keys.len());
    for k in keys {
        if !uniq.iter().any(|u| u == k) {
            uniq.push(k.to_vec());
        }
    }
    let w = Arc::new(Waiter {
        info: ctx.client.info.clone(),
        db: ctx.client.db,
        resp: ctx.client.resp,
        args: args.iter().map(|a| a.to_vec()).collect(),
        keys: uniq,
        kind,
        state: Mutex::new(State::Waiting),
        served: Notify::new(),
    });
    ctx.srv.blocking.register(&w);
    ctx.client.block = Some(super::Block {
        timeout,
        reply_at,
        blocked: true,
        waiter: Some(w),
    });
}

/// True if `key` holds a non-empty value of the type `kind` waits for.
fn has_data(srv: &Server, db: usize, key: &[u8], kind: Kind, now: i64) -> bool {
    let mut shard = srv.keyspace.db(db).lock(key);
    let Some(n) = shard.get(key, now) else {
        return false;
    };
    matches!(
        (n.value(), kind),
        (ValueRef::Obj(Object::List(_)), Kind::List) | (ValueRef::Obj(Object::ZSet(_)), Kind::ZSet)
    )
}

/// Serves clients blocked on the keys made ready by the command just run, and on the
/// keys those retries make ready in turn.
pub fn serve_ready(srv: &Server) {
    if READY.with(|r| r.borrow().is_empty()) {
        return;
    }
    // retries must not interleave with an EXEC or a script on another thread
    let _gate = srv.gate.read().unwrap_or_else(|e| e.into_inner());
    loop {
        let ready = READY.with(|r| std::mem::take(&mut *r.borrow_mut()));
        if ready.is_empty() {
            break;
        }
        for (db, key) in ready {
            let waiters: Vec<Arc<Waiter>> = match srv.blocking.queues.lock().get(&(db, key.clone()))
            {
                Some(q) => q.iter().cloned().collect(),
                None => continue,
            };
            for w in waiters {
                if !has_data(srv, db, &key, w.kind, crate::store::now_ms()) {
                    break;
                }
                serve(srv, &w);
            }
        }
    }
}

/// Re-runs a waiter's command on its behalf; if it got something, hands the reply over.
fn serve(srv: &Server, w: &Arc<Waiter>) {
    let mut st = w.state.lock();
    if !matches!(*st, State::Waiting) {
        return;
    }
    let mut client = Client::new(w.info.clone(), true);
    client.db = w.db;
    client.resp = w.resp;
    client.origin = Origin::Unblock;
    let mut out = Reply::new(w.resp == 3);
    let args: Args = w.args.iter().map(|a| a.as_slice()).collect();
    dispatch(srv, &mut client, &mut out, &args);
    if client.block.is_some() {
        // still nothing for this one (another key of its was not it, say)
        return;
    }
    *st = State::Served(out.take());
    drop(st);
    srv.blocking.unregister(w);
    w.served.notify_one();
}

/// Parses a blocking command's timeout (seconds, decimals allowed, 0 = forever) as
/// Valkey does, into the wait left.
pub fn timeout_arg(a: &[u8]) -> Result<Option<std::time::Duration>, crate::commands::CmdError> {
    use crate::commands::CmdError;
    let secs = crate::commands::parse_f64(a)
        .or_else(|| hex_number(a))
        .filter(|v| !v.is_nan())
        .ok_or_else(|| CmdError::err("timeout is not a float or out of range"))?;
    let ms = (secs * 1000.0).ceil();
    if ms > i64::MAX as f64 {
        return Err(CmdError::err("timeout is out of range"));
    }
    if ms < 0.0 {
        return Err(CmdError::err("timeout is negative"));
    }
    if ms == 0.0 {
        return Ok(None);
    }
    let now = crate::store::now_ms();
    if ms as i64 > i64::MAX - now {
        return Err(CmdError::err("timeout is out of range"));
    }
    Ok(Some(std::time::Duration::from_millis(ms as u64)))
}

/// A `0x...` number (integer or hex float), which Valkey's strtold-based parsing accepts.
fn hex_number(a: &[u8]) -> Option<f64> {
    let (neg, rest) = match a.first() {
        Some(b'-') => (true, &a[1..]),
        Some(b'+') => (false, &a[1..]),
        _ => (false, a),
    };
    let digits = rest
        .strip_prefix(b"0x")
        .or_else(|| rest.strip_prefix(b"0X"))?;
    if digits.is_empty() || digits.len() > 30 {
        return None;
    }
    let s = std::str::from_utf8(digits).ok()?;
    // hex floats too ("0x1p3"), as strtold reads them
    let v = crate::commands::zsets::parse_hex(&s.to_ascii_lowercase())?.0;
    Some(if neg { -v } else { v })
}
