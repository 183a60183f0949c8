//! Server statistics (INFO stats, commandstats, errorstats).
//!
//! Hot counters are kept per thread and summed when read: commands run on every core,
//! and one shared counter per command would bounce its cache line between them on
//! every call.

use crate::commands::{table, Command};
use parking_lot::Mutex;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

#[derive(Default)]
pub struct CmdCounters {
    pub calls: AtomicU64,
    pub usec: AtomicU64,
    pub rejected: AtomicU64,
    pub failed: AtomicU64,
}

struct ThreadStats {
    cmds: Box<[CmdCounters]>,
    commands: AtomicU64,
    net_in: AtomicU64,
    net_out: AtomicU64,
    dirty: AtomicU64,
}

impl ThreadStats {
    fn new() -> Self {
        ThreadStats {
            cmds: (0..table::all().len())
                .map(|_| CmdCounters::default())
                .collect(),
            commands: AtomicU64::new(0),
            net_in: AtomicU64::new(0),
            net_out: AtomicU64::new(0),
            dirty: AtomicU64::new(0),
        }
    }
}

/// Only the owning thread writes its block, so a relaxed load+store is an exact count.
#[inline]
fn bump(c: &AtomicU64, n: u64) {
    c.store(c.load(Relaxed).wrapping_add(n), Relaxed);
}

static NEXT_STATS_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static LOCAL: RefCell<Vec<(u64, Arc<ThreadStats>)>> = const { RefCell::new(Vec::new()) };
}

pub struct Stats {
    id: u64,
    threads: Mutex<Vec<Arc<ThreadStats>>>,
    errors: Mutex<HashMap<String, u64>>,
    pub total_error_replies: AtomicU64,
    pub connections_received: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub expired_stale_perc: AtomicU64,
    pub keyspace_hits: AtomicU64,
    pub keyspace_misses: AtomicU64,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            id: NEXT_STATS_ID.fetch_add(1, Relaxed),
            threads: Mutex::new(Vec::new()),
            errors: Mutex::new(HashMap::new()),
            total_error_replies: AtomicU64::new(0),
            connections_received: AtomicU64::new(0),
            rejected_connections: AtomicU64::new(0),
            expired_stale_perc: AtomicU64::new(0),
            keyspace_hits: AtomicU64::new(0),
            keyspace_misses: AtomicU64::new(0),
        }
    }
}

impl Stats {
    fn with_local<R>(&self, f: impl FnOnce(&ThreadStats) -> R) -> R {
        LOCAL.with(|l| {
            let mut l = l.borrow_mut();
            if let Some((_, t)) = l.iter().find(|(id, _)| *id == self.id) {
                return f(t);
            }
            // blocks of servers dropped since (only this list still holds them): a
            // process that creates servers one after another must not keep them all
            l.retain(|(_, t)| Arc::strong_count(t) > 1);
            let t = Arc::new(ThreadStats::new());
            self.threads.lock().push(t.clone());
            l.push((self.id, t.clone()));
            f(&t)
        })
    }

    /// `i` is the command's stats index ([`table::index_of`]).
    pub fn record_call(&self, i: usize, elapsed: Duration, failed: bool, dirty: u64) {
        self.with_local(|t| {
            let c = &t.cmds[i];
            bump(&c.calls, 1);
            bump(&c.usec, elapsed.as_micros() as u64);
            if failed {
                bump(&c.failed, 1);
            }
            bump(&t.commands, 1);
            if dirty > 0 {
                bump(&t.dirty, dirty);
            }
        });
    }

    /// Keyspace changes made outside a counted call (a blocked command served later).
    pub fn record_dirty(&self, dirty: u64) {
        if dirty > 0 {
            self.with_local(|t| bump(&t.dirty, dirty));
        }
    }

    pub fn record_rejected(&self, cmd: &'static Command) {
        let i = table::index_of(cmd);
        self.with_local(|t| bump(&t.cmds[i].rejected, 1));
    }

    pub fn net_io(&self, input: u64, output: u64) {
        self.with_local(|t| {
            bump(&t.net_in, input);
            bump(&t.net_out, output);
        });
    }

    /// Counts an error reply under its code (the first word), as INFO errorstats does.
    pub fn error_reply(&self, msg: &str) {
        self.total_error_replies.fetch_add(1, Relaxed);
        let code = msg.split(' ').next().unwrap_or("ERR");
        let mut e = self.errors.lock();
        // Valkey stops tracking new codes past 128 to bound memory
        if let Some(n) = e.get_mut(code) {
            *n += 1;
        } else if e.len() < 128 {
            e.insert(code.to_string(), 1);
        }
    }

    pub fn errors(&self) -> Vec<(String, u64)> {
        let mut v: Vec<_> = self
            .errors
            .lock()
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        v.sort();
        v
    }

    fn sum(&self, f: impl Fn(&ThreadStats) -> u64) -> u64 {
        self.threads.lock().iter().map(|t| f(t)).sum()
    }

    pub fn commands_processed(&self) -> u64 {
        self.sum(|t| t.commands.load(Relaxed))
    }

    pub fn net_input(&self) -> u64 {
        self.sum(|t| t.net_in.load(Relaxed))
    }

    pub fn net_output(&self) -> u64 {
        self.sum(|t| t.net_out.load(Relaxed))
    }

    pub fn dirty(&self) -> u64 {
        self.sum(|t| t.dirty.load(Relaxed))
    }

    /// (calls, usec, rejected, failed) for the command at stats index `i`.
    pub fn command(&self, i: usize) -> (u64, u64, u64, u64) {
        self.threads.lock().iter().fold((0, 0, 0, 0), |a, t| {
            let c = &t.cmds[i];
            (
                a.0 + c.calls.load(Relaxed),
                a.1 + c.usec.load(Relaxed),
                a.2 + c.rejected.load(Relaxed),
                a.3 + c.failed.load(Relaxed),
            )
        })
    }

    /// CONFIG RESETSTAT.
    pub fn reset(&self) {
        for t in self.threads.lock().iter() {
            for c in t.cmds.iter() {
                c.calls.store(0, Relaxed);
                c.usec.store(0, Relaxed);
                c.rejected.store(0, Relaxed);
                c.failed.store(0, Relaxed);
            }
            t.commands.store(0, Relaxed);
            t.net_in.store(0, Relaxed);
            t.net_out.store(0, Relaxed);
        }
        self.errors.lock().clear();
        self.total_error_replies.store(0, Relaxed);
        self.connections_received.store(0, Relaxed);
        self.rejected_connections.store(0, Relaxed);
        self.keyspace_hits.store(0, Relaxed);
        self.keyspace_misses.store(0, Relaxed);
    }
}
