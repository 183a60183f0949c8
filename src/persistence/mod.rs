//! Persistence: the append-only file, in Valkey's multi-part layout.
//!
//! `dir`/`appenddirname` holds a manifest naming one BASE file (the dataset as
//! commands, written by a rewrite) and the INCR files logged since, e.g.
//! `appendonly.aof.1.base.aof`, `appendonly.aof.1.incr.aof`, `appendonly.aof.manifest`.
//! Valkey loads a directory written here and the other way round (BASE files are in
//! RESP form, as Valkey's with `aof-use-rdb-preamble no`).
//!
//! What is logged is each write's *effect*, so a reload is deterministic: relative
//! expiries become absolute, SPOP becomes SREM, INCRBYFLOAT becomes SET ... KEEPTTL,
//! keys that expire become DEL (see `propagate`).
//!
//! # The write path
//!
//! [`record`] runs inside `dispatch` while the command still holds the server gate:
//! it encodes the command's effect (RESP) into a thread-local pending buffer, no lock
//! taken. When the top-level command is over, [`command_done`] (still under the gate)
//! moves that buffer, wrapped in MULTI/EXEC when it holds several records (EXEC,
//! scripts), as one *unit* into this thread's log shard: one of [`LOG_SHARDS`]
//! buffers, each behind its own mutex, assigned to threads round-robin, so worker
//! threads never meet on a lock there (the writer takes each one only to swap it out).
//! Every unit gets a sequence number from one atomic counter when it is appended.
//!
//! The units reach the file in batches, in sequence order, whoever writes them (all
//! shards are swapped out at once and merged by sequence number, the SELECTs a merged
//! order needs put in between):
//! - `everysec` and `no`: before a connection sends replies to writes, it yields once
//!   to its runtime, so every other connection ready on that thread runs its batch
//!   first (the equivalent of Valkey's write of `aof_buf` in beforeSleep: one write per
//!   event-loop pass, not per connection); the first of them to resume writes what all
//!   threads have buffered with one `write`, the others find their units written and
//!   reply at once. An acknowledged write is therefore in the kernel, and a crash of
//!   the process loses none of them. The writer thread fsyncs once a second (outside
//!   the I/O lock, so nobody waits for the disk), and every 100 ms writes whatever no
//!   connection is waiting for (active expiry's DELs, ...) or a shard grown large.
//! - `always`: after the same yield, the connection wakes the writer thread and waits
//!   until its units are written *and* fsynced; one fsync covers every connection
//!   waiting meanwhile (group commit).
//!
//! No event loop ever waits on the disk except under `always`, where waiting is the
//! point.
//!
//! # Why the log has writes in the order they were applied
//!
//! Reloading must give the same data, so two records that touch the same key must be
//! in the file in the order their commands ran. Three things give that:
//! 1. Sequence numbers follow the order of appends, and the writer's batches are
//!    *consistent cuts*: it holds every shard's lock at once while it takes them, and
//!    a unit takes its number while holding its shard's lock, so a batch holds every
//!    unit numbered below its bound and none above; sorting a batch by number and
//!    writing batches in turn (under the I/O lock) gives the file in append order.
//! 2. Appends to the same key happen in apply order: a write command takes the order
//!    lock of each of its keys' store shards ([`order`]) before it runs and keeps it
//!    until its unit is appended, so a second write to the key can be applied only
//!    after the first one's unit has its number. A write that names no key (FLUSHALL)
//!    takes all of them. EXEC and scripts hold the server gate exclusively: no other
//!    command runs between their first write and their unit's append, so their
//!    records stay contiguous and ordered against everything else. A key that expires
//!    or is evicted gets its DEL appended while its store shard is still locked, so
//!    the DEL precedes any later write to the key.
//! 3. Records of different keys commute, so how units of unrelated commands interleave
//!    across threads does not change what a reload gives.
//!
//! A rewrite's commit (see `rewrite`) swaps the file while holding every shard lock
//! and bumps an epoch: units of commands that ran before, should any reach a shard
//! late, are part of the new BASE already and are dropped.

pub mod commands;
mod load;
mod manifest;
mod propagate;
mod resp;
mod rewrite;

pub use load::{load_dir, reload as debug_reload, LoadError};

use crate::commands::Ctx;
use crate::server::{Origin, Server};
use parking_lot::{Condvar, Mutex};
use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, Ordering::*};
use std::sync::{Arc, LazyLock, OnceLock};
use std::time::{Duration, Instant};
use tracing::{info, warn};

const FSYNC_NO: u8 = 0;
const FSYNC_EVERYSEC: u8 = 1;
const FSYNC_ALWAYS: u8 = 2;

/// Log shards: a thread appends to one of them, picked round-robin the first time it
/// logs, so the worker runtimes (one per CPU) each have their own.
pub const LOG_SHARDS: usize = 16;

/// A shard holding more than this asks the writer thread to write it out.
const SHARD_KICK: usize = 1 << 20;

/// The writer thread's period when nobody asks it for anything.
const WRITER_TICK: Duration = Duration::from_millis(100);

const MULTI: &[u8] = b"*1\r\n$5\r\nMULTI\r\n";
const EXEC: &[u8] = b"*1\r\n$4\r\nEXEC\r\n";

/// Keys changed while a rewrite runs: their final state is appended to the new BASE
/// when the rewrite commits (see `rewrite`).
#[derive(Default)]
pub(crate) struct Touched {
    pub keys: HashSet<(usize, Vec<u8>)>,
    /// Databases changed as a whole (FLUSHDB, FLUSHALL, SWAPDB...).
    pub dbs: HashSet<usize>,
}

/// One unit in a shard: the records of one top-level command (or one DEL), which a
/// reload must apply whole and in `seq` order against other threads' units.
struct Unit {
    seq: u64,
    start: usize,
    end: usize,
    /// Database of its first record (the writer puts a SELECT before the unit when the
    /// file is elsewhere); SELECTs between its records are in the bytes.
    db_first: u32,
    /// Database its last record ran in: where the file is after it.
    db_last: u32,
}

/// Units appended to one shard and not yet taken by a writer.
#[derive(Default)]
struct Chunk {
    data: Vec<u8>,
    units: Vec<Unit>,
}

impl Chunk {
    fn clear(&mut self) {
        self.data.clear();
        self.units.clear();
        // a burst must not keep its memory for good
        if self.data.capacity() > 4 * SHARD_KICK {
            self.data = Vec::new();
            self.units = Vec::new();
        }
    }
}

/// One log shard, on its own cache lines.
#[repr(align(128))]
#[derive(Default)]
struct LogShard {
    chunk: Mutex<Chunk>,
    /// `chunk.data.len()`, readable without the lock (INFO, used-memory).
    len: std::sync::atomic::AtomicUsize,
}

pub(crate) struct State {
    /// Units taken from the shards, serialized in order and not yet written (a failed
    /// write leaves them here, in front of what comes next, for the retry).
    pub out: Vec<u8>,
    /// Chunks swapped out of the shards by the last cut, kept for their capacity.
    spare: Vec<Chunk>,
    /// The INCR file being appended to; None while logging waits for the rewrite that
    /// starts it (CONFIG SET appendonly yes).
    pub file: Option<Arc<File>>,
    /// Bytes of `file` known good on disk, to cut a partial write after an error.
    pub file_len: u64,
    pub manifest: manifest::Manifest,
    /// Database the last record in `out` (or else `file`) ran in: a SELECT is written
    /// when the next unit starts elsewhere.
    pub last_db: Option<usize>,
    /// Last `#TS:` annotation written (aof-timestamp-enabled).
    pub last_ts: i64,
}

#[derive(Default)]
pub(crate) struct RewriteStats {
    pub ok: bool,
    pub rewrites: u64,
    pub consecutive_failures: u64,
    pub last_secs: i64,
    pub started: Option<Instant>,
    pub scheduled: bool,
}

/// The append-only file of this process.
pub struct Aof {
    /// Logging: records are taken.
    on: AtomicBool,
    /// There is a file to log to (changed with every shard locked): units are kept.
    has_file: AtomicBool,
    /// Bumped when a rewrite commits: records of commands that ran before are already
    /// in the new BASE and are dropped if they reach a shard late.
    epoch: AtomicU64,
    shards: Box<[LogShard]>,
    /// The next unit's sequence number (the first is 1).
    next_seq: AtomicU64,
    pub(crate) st: Mutex<State>,
    /// Set (and `wake` notified) to have the writer thread run now.
    kick: Mutex<bool>,
    wake: Condvar,
    /// Held by whoever writes files, so a rewrite's switch of INCR file and the writers
    /// never interleave, and batches reach the file in the order they were cut.
    pub(crate) io: Mutex<()>,
    /// Every unit numbered up to this is in the kernel.
    written: AtomicU64,
    /// Every unit numbered up to this is as durable as `appendfsync` promises (fsynced
    /// under `always`).
    synced: AtomicU64,
    /// Bytes were written since the last fsync.
    unsynced: AtomicBool,
    durable: tokio::sync::Notify,
    write_ok: AtomicBool,
    write_err: Mutex<String>,
    policy: AtomicU8,
    timestamps: AtomicBool,
    /// no-appendfsync-on-rewrite: no fsync while a rewrite runs.
    no_fsync_on_rewrite: AtomicBool,
    pub loading: AtomicBool,
    pub(crate) rewriting: AtomicBool,
    /// Asks a running rewrite to give up (CONFIG SET appendonly no).
    pub(crate) abort: AtomicBool,
    pub(crate) touched: Mutex<Touched>,
    pub(crate) rw: Mutex<RewriteStats>,
    pub(crate) current_size: AtomicU64,
    pub(crate) base_size: AtomicU64,
    last_fsync_ms: AtomicI64,
    /// DEBUG AOF-FLUSH-SLEEP: microseconds a writer waits before each write.
    flush_sleep_us: AtomicI64,
    writer: OnceLock<()>,
    srv: OnceLock<Arc<Server>>,
}

static AOF: LazyLock<Aof> = LazyLock::new(|| Aof {
    on: AtomicBool::new(false),
    has_file: AtomicBool::new(false),
    epoch: AtomicU64::new(0),
    shards: (0..LOG_SHARDS).map(|_| LogShard::default()).collect(),
    next_seq: AtomicU64::new(1),
    st: Mutex::new(State {
        out: Vec::new(),
        spare: (0..LOG_SHARDS).map(|_| Chunk::default()).collect(),
        file: None,
        file_len: 0,
        manifest: Default::default(),
        last_db: None,
        last_ts: 0,
    }),
    kick: Mutex::new(false),
    wake: Condvar::new(),
    io: Mutex::new(()),
    written: AtomicU64::new(0),
    synced: AtomicU64::new(0),
    unsynced: AtomicBool::new(false),
    durable: tokio::sync::Notify::new(),
    write_ok: AtomicBool::new(true),
    write_err: Mutex::new(String::new()),
    policy: AtomicU8::new(FSYNC_EVERYSEC),
    timestamps: AtomicBool::new(false),
    no_fsync_on_rewrite: AtomicBool::new(false),
    loading: AtomicBool::new(false),
    rewriting: AtomicBool::new(false),
    abort: AtomicBool::new(false),
    touched: Mutex::new(Touched::default()),
    rw: Mutex::new(RewriteStats {
        ok: true,
        last_secs: -1,
        ..Default::default()
    }),
    current_size: AtomicU64::new(0),
    base_size: AtomicU64::new(0),
    last_fsync_ms: AtomicI64::new(0),
    flush_sleep_us: AtomicI64::new(0),
    writer: OnceLock::new(),
    srv: OnceLock::new(),
});

/// The process's append-only file.
pub fn aof() -> &'static Aof {
    &AOF
}

/// The records of the top-level command running on this thread, encoded as they will
/// be logged.
struct Pending {
    buf: Vec<u8>,
    records: usize,
    db_first: usize,
    db_cur: usize,
    epoch: u64,
}

impl Pending {
    fn add<A: AsRef<[u8]>>(&mut self, epoch: u64, db: usize, args: &[A]) {
        if self.records > 0 && self.epoch != epoch {
            // a rewrite committed in between: what came before is in its BASE
            self.buf.clear();
            self.records = 0;
        }
        if self.records == 0 {
            self.db_first = db;
            self.db_cur = db;
            self.epoch = epoch;
        } else if db != self.db_cur {
            resp::encode(
                &mut self.buf,
                &[&b"SELECT"[..], itoa::Buffer::new().format(db).as_bytes()],
            );
            self.db_cur = db;
        }
        resp::encode(&mut self.buf, args);
        self.records += 1;
    }
}

thread_local! {
    static PENDING: RefCell<Pending> = const {
        RefCell::new(Pending { buf: Vec::new(), records: 0, db_first: 0, db_cur: 0, epoch: 0 })
    };
    /// Highest sequence number this thread's requests appended: replies written after
    /// it wait for it to be written (fsynced under `appendfsync always`).
    static WAIT_FOR: Cell<u64> = const { Cell::new(0) };
    /// This thread's log shard (usize::MAX until it first logs).
    static MY_SHARD: Cell<usize> = const { Cell::new(usize::MAX) };
    /// This thread is replaying the AOF.
    static REPLAYING: Cell<bool> = const { Cell::new(false) };
}

static NEXT_SHARD: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn my_shard() -> usize {
    MY_SHARD.with(|s| {
        let v = s.get();
        if v < LOG_SHARDS {
            return v;
        }
        let v = NEXT_SHARD.fetch_add(1, Relaxed) % LOG_SHARDS;
        s.set(v);
        v
    })
}

/// The AOF directory (relative to `dir`, the working directory) and file prefix.
pub(crate) fn paths(srv: &Server) -> (PathBuf, String) {
    let dir = srv
        .config
        .get("appenddirname")
        .unwrap_or_else(|| "appendonlydir".into());
    let prefix = srv
        .config
        .get("appendfilename")
        .unwrap_or_else(|| "appendonly.aof".into());
    (PathBuf::from(dir), prefix)
}

fn policy_of(srv: &Server) -> u8 {
    match srv.config.get("appendfsync").as_deref() {
        Some("always") => FSYNC_ALWAYS,
        Some("no") => FSYNC_NO,
        _ => FSYNC_EVERYSEC,
    }
}

/// Every shard's lock, taken in index order (the only order they are ever taken in
/// together, so two holders cannot deadlock).
type AllShards<'a> = [parking_lot::MutexGuard<'a, Chunk>; LOG_SHARDS];

impl Aof {
    pub fn enabled(&self) -> bool {
        self.on.load(Relaxed)
    }

    fn refresh_settings(&self, srv: &Server) {
        self.policy.store(policy_of(srv), Relaxed);
        self.timestamps
            .store(srv.config.get_bool("aof-timestamp-enabled"), Relaxed);
        self.no_fsync_on_rewrite
            .store(srv.config.get_bool("no-appendfsync-on-rewrite"), Relaxed);
    }

    fn lock_all(&self) -> AllShards<'_> {
        std::array::from_fn(|i| self.shards[i].chunk.lock())
    }

    /// Has the writer thread run now.
    fn kick(&self) {
        *self.kick.lock() = true;
        self.wake.notify_one();
    }

    /// Appends one unit, the concatenation of `parts`, to this thread's shard. `epoch`
    /// is the one its records were taken in (None: a DEL appended as it happens).
    fn push_unit(&self, epoch: Option<u64>, db_first: usize, db_last: usize, parts: &[&[u8]]) {
        let sh = &self.shards[my_shard()];
        let mut c = sh.chunk.lock();
        if !self.has_file.load(SeqCst) || epoch.is_some_and(|e| e != self.epoch.load(SeqCst)) {
            return;
        }
        let start = c.data.len();
        for p in parts {
            c.data.extend_from_slice(p);
        }
        let end = c.data.len();
        // numbered under the shard lock: see "consistent cuts" in the module docs
        let seq = self.next_seq.fetch_add(1, SeqCst);
        c.units.push(Unit {
            seq,
            start,
            end,
            db_first: db_first as u32,
            db_last: db_last as u32,
        });
        sh.len.store(end, Relaxed);
        drop(c);
        WAIT_FOR.with(|w| w.set(w.get().max(seq)));
        if end > SHARD_KICK && start <= SHARD_KICK {
            self.kick();
        }
    }

    /// Takes every shard's units at once (a consistent cut) and serializes them in
    /// sequence order after whatever `st.out` still holds. Returns the highest sequence
    /// number the cut covers. Called with the I/O lock held.
    fn cut(&self, st: &mut State) -> u64 {
        let mut all = self.lock_all();
        let upto = self.next_seq.load(SeqCst) - 1;
        let mut busy = 0usize;
        let mut which = 0usize;
        for (i, g) in all.iter_mut().enumerate() {
            if !g.units.is_empty() {
                std::mem::swap(&mut **g, &mut st.spare[i]);
                self.shards[i].len.store(0, Relaxed);
                busy += 1;
                which = i;
            }
        }
        drop(all);
        if busy == 0 {
            return upto;
        }
        if self.timestamps.load(Relaxed) {
            let now = crate::store::now_ms() / 1000;
            if now != st.last_ts {
                st.last_ts = now;
                st.out
                    .extend_from_slice(format!("#TS:{now}\r\n").as_bytes());
            }
        }
        let State {
            out,
            spare,
            last_db,
            ..
        } = st;
        let mut emit = |c: &Chunk, u: &Unit| {
            if *last_db != Some(u.db_first as usize) {
                resp::encode(
                    out,
                    &[
                        &b"SELECT"[..],
                        itoa::Buffer::new().format(u.db_first).as_bytes(),
                    ],
                );
            }
            out.extend_from_slice(&c.data[u.start..u.end]);
            *last_db = Some(u.db_last as usize);
        };
        if busy == 1 {
            // one thread logged (always so with one worker): its units are in order
            let c = &spare[which];
            for u in &c.units {
                emit(c, u);
            }
        } else {
            let mut order: Vec<(u64, usize, usize)> = Vec::new();
            for (i, c) in spare.iter().enumerate() {
                order.extend(c.units.iter().enumerate().map(|(j, u)| (u.seq, i, j)));
            }
            order.sort_unstable();
            for (_, i, j) in order {
                let c = &spare[i];
                emit(c, &c.units[j]);
            }
        }
        for c in spare.iter_mut() {
            c.clear();
        }
        upto
    }

    /// Writes `data` to `f` whole or cuts the file back to `len` (a partial record
    /// must not stay behind to be completed by the retry).
    fn write_file(f: &File, len: u64, data: &[u8]) -> std::io::Result<()> {
        let mut w = f;
        if let Err(e) = w.write_all(data) {
            let _ = f.set_len(len);
            return Err(e);
        }
        Ok(())
    }

    fn note_write_error(&self, e: &std::io::Error) {
        let first = self.write_ok.swap(false, Relaxed);
        *self.write_err.lock() = e.to_string();
        if first {
            warn!(error = %e, "Error writing to the AOF file");
        }
    }

    fn note_write_ok(&self) {
        if !self.write_ok.swap(true, Relaxed) {
            warn!("AOF write error looks solved. The server can write again.");
        }
    }

    /// Cuts and writes everything buffered to the file (no fsync), with the I/O lock
    /// held by the caller. On an error the bytes stay in `st.out` for the retry.
    pub(crate) fn write_locked(&self, st: &mut State) -> std::io::Result<()> {
        let upto = self.cut(st);
        let Some(f) = st.file.clone().filter(|_| !st.out.is_empty()) else {
            st.out.clear();
            self.written.fetch_max(upto, SeqCst);
            return Ok(());
        };
        let nap = self.flush_sleep_us.load(Relaxed);
        if nap > 0 {
            std::thread::sleep(Duration::from_micros(nap as u64));
        }
        if let Err(e) = Self::write_file(&f, st.file_len, &st.out) {
            self.note_write_error(&e);
            return Err(e);
        }
        let n = st.out.len() as u64;
        st.file_len += n;
        st.out.clear();
        if st.out.capacity() > 4 * SHARD_KICK {
            st.out = Vec::new();
        }
        self.current_size.fetch_add(n, Relaxed);
        self.unsynced.store(true, SeqCst);
        self.written.fetch_max(upto, SeqCst);
        Ok(())
    }

    /// Moves what every thread buffered to the file (no fsync).
    fn write_pending(&self) -> std::io::Result<()> {
        let _io = self.io.lock();
        let mut st = self.st.lock();
        self.write_locked(&mut st)
    }

    /// The writer thread: writes what no connection waits for, fsyncs per policy
    /// (outside the I/O lock, so writers are never held up by a slow fsync), releases
    /// `always` waiters.
    fn writer_loop(&'static self) {
        loop {
            {
                let mut k = self.kick.lock();
                if !*k {
                    self.wake.wait_for(&mut k, WRITER_TICK);
                }
                *k = false;
            }
            if self.write_pending().is_err() {
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
            let policy = self.policy.load(Relaxed);
            let file = self.st.lock().file.clone();
            // everything written up to here is covered by an fsync starting now
            let upto = self.written.load(SeqCst);
            let now = crate::store::now_ms();
            let skip = self.no_fsync_on_rewrite.load(Relaxed) && self.rewriting.load(Relaxed);
            let due = match policy {
                FSYNC_ALWAYS => true,
                FSYNC_EVERYSEC => now - self.last_fsync_ms.load(Relaxed) >= 1000,
                _ => false,
            };
            if let Some(f) = file.filter(|_| due && !skip) {
                if self.unsynced.swap(false, SeqCst) {
                    if let Err(e) = f.sync_data() {
                        self.unsynced.store(true, SeqCst);
                        self.note_write_error(&e);
                        std::thread::sleep(Duration::from_secs(1));
                        continue;
                    }
                    self.last_fsync_ms.store(now, Relaxed);
                }
            }
            self.note_write_ok();
            if policy != FSYNC_ALWAYS || !self.unsynced.load(SeqCst) || skip {
                self.synced.fetch_max(upto, SeqCst);
                self.durable.notify_waiters();
            }
            self.maybe_auto_rewrite();
        }
    }

    fn start_writer(&'static self) {
        self.writer.get_or_init(|| {
            let spawned = std::thread::Builder::new()
                .name("ferrokey-aof".into())
                .spawn(|| aof().writer_loop());
            if let Err(e) = spawned {
                warn!(error = %e, "can't start the AOF writer thread");
            }
        });
    }

    /// auto-aof-rewrite-percentage / min-size, checked by the writer thread.
    fn maybe_auto_rewrite(&'static self) {
        let Some(srv) = self.srv.get() else { return };
        if !self.enabled() || self.rewriting.load(Relaxed) || self.loading.load(Relaxed) {
            return;
        }
        let scheduled = std::mem::take(&mut self.rw.lock().scheduled);
        let pct = srv.config.get_i64("auto-aof-rewrite-percentage");
        let min = srv.config.get_i64("auto-aof-rewrite-min-size").max(0) as u64;
        let cur = self.current_size.load(Relaxed);
        let base = self.base_size.load(Relaxed).max(1);
        let grown = pct > 0 && cur > min && (cur - base.min(cur)) * 100 / base >= pct as u64;
        if scheduled || grown {
            if grown {
                info!(
                    growth = (cur - base.min(cur)) * 100 / base,
                    "Starting automatic rewriting of AOF"
                );
            }
            rewrite::spawn(srv.clone());
        }
    }

    /// Writes and fsyncs everything buffered (SHUTDOWN, CONFIG SET appendonly no,
    /// DEBUG RELOAD).
    pub fn flush_sync(&self) -> std::io::Result<()> {
        let _io = self.io.lock();
        let mut st = self.st.lock();
        self.write_locked(&mut st)?;
        if let Some(f) = st.file.clone() {
            f.sync_data()?;
        }
        self.synced.fetch_max(self.written.load(SeqCst), SeqCst);
        self.durable.notify_waiters();
        Ok(())
    }

    /// Points logging at `file` of `len` bytes (None: logging stops), with every shard
    /// locked, so no unit is kept or dropped half-way. `discard` drops what the shards
    /// still hold (logging stops), `new_epoch` makes records of commands that ran
    /// before stale (a rewrite's BASE has them). The caller holds the I/O lock.
    pub(crate) fn switch_file(
        &self,
        st: &mut State,
        file: Option<Arc<File>>,
        len: u64,
        new_epoch: bool,
        discard: bool,
    ) {
        let mut all = self.lock_all();
        self.has_file.store(file.is_some(), SeqCst);
        st.file = file;
        st.file_len = len;
        st.last_db = None;
        // a new file starts with its own timestamp annotation
        st.last_ts = 0;
        if new_epoch {
            self.epoch.fetch_add(1, SeqCst);
        }
        if discard {
            st.out.clear();
            for (i, g) in all.iter_mut().enumerate() {
                g.clear();
                self.shards[i].len.store(0, Relaxed);
            }
            let upto = self.next_seq.load(SeqCst) - 1;
            self.written.fetch_max(upto, SeqCst);
            self.synced.fetch_max(upto, SeqCst);
        }
        drop(all);
        self.durable.notify_waiters();
    }
}

/// Called by `dispatch` after a write command changed the dataset, while the command
/// still holds the server gate: notes the command's effect for the log.
pub fn record(ctx: &mut Ctx, args: &[&[u8]], reply_start: usize) {
    let a = aof();
    if !a.on.load(Relaxed) || a.loading.load(Relaxed) {
        return;
    }
    let Some(eff) = propagate::effect(ctx, args, reply_start) else {
        return;
    };
    let db = ctx.client.db;
    if a.rewriting.load(SeqCst) {
        let mut t = a.touched.lock();
        match &eff {
            propagate::Effect::Same => propagate::touch(&mut t, db, args),
            propagate::Effect::Cmds(cmds) => {
                for c in cmds {
                    let refs: Vec<&[u8]> = c.iter().map(|x| x.as_slice()).collect();
                    propagate::touch(&mut t, db, &refs);
                }
            }
        }
    }
    let epoch = a.epoch.load(SeqCst);
    PENDING.with(|p| {
        let mut p = p.borrow_mut();
        match &eff {
            propagate::Effect::Same => p.add(epoch, db, args),
            propagate::Effect::Cmds(cmds) => {
                for c in cmds {
                    p.add(epoch, db, c);
                }
            }
        }
    });
}

/// A top-level command is done (its gate still held): what it logged is appended
/// now, after the DELs of keys it found expired, which precede it in the log.
pub fn command_done(_srv: &Server) {
    flush_pending();
}

/// Whether a command is logged as a unit of its own when it ends: requests from a
/// connection and blocked commands served later; not what EXEC or a script runs.
pub fn is_unit(client: &crate::server::Client) -> bool {
    matches!(client.origin, Origin::Client | Origin::Unblock)
}

/// Locks ordering writes to the same keys (by store shard index).
static ORDER: LazyLock<Box<[Mutex<()>]>> =
    LazyLock::new(|| (0..crate::store::SHARDS).map(|_| Mutex::new(())).collect());

/// Held from before a write command runs until its records are in its log shard.
pub struct OrderGuard(
    #[allow(dead_code)] smallvec::SmallVec<[parking_lot::MutexGuard<'static, ()>; 2]>,
);

/// With the AOF on, a write command takes the order locks of its keys' shards (all of
/// them for a write naming no key, FLUSHALL say), so two writes to one key are logged
/// in the order they were applied (see the module docs). Commands EXEC or a script
/// runs need none: those hold the server gate exclusively.
pub fn order(ctx: &Ctx, args: &[&[u8]]) -> Option<OrderGuard> {
    let a = aof();
    if !a.on.load(Relaxed) || !ctx.cmd.has(crate::commands::flags::WRITE) || !is_unit(ctx.client) {
        return None;
    }
    let c = ctx.cmd;
    if c.first_key > 0 && c.last_key == c.first_key && c.numkeys_at == 0 && c.more_keys.is_none() {
        // one key (SET, INCR, LPUSH...): one lock, nothing allocated
        if let Some(k) = args.get(c.first_key as usize) {
            let i = crate::store::Db::shard_index(k);
            return Some(OrderGuard(smallvec::smallvec![ORDER[i].lock()]));
        }
    }
    let pos = c.key_positions_in(args);
    let mut idx: Vec<usize> = if pos.is_empty() {
        (0..crate::store::SHARDS).collect()
    } else {
        pos.iter()
            .filter_map(|&p| args.get(p))
            .map(|k| crate::store::Db::shard_index(k))
            .collect()
    };
    idx.sort_unstable();
    idx.dedup();
    Some(OrderGuard(
        idx.into_iter().map(|i| ORDER[i].lock()).collect(),
    ))
}

/// True while this thread replays the AOF: commands then see no key expire.
pub fn replaying() -> bool {
    REPLAYING.with(|r| r.get())
}

pub(crate) fn set_replaying(on: bool) {
    REPLAYING.with(|r| r.set(on));
}

/// Appends what ran on this thread and is not logged yet (blocked clients served by
/// `after_command`), as one unit: wrapped in MULTI/EXEC when it holds several records.
pub fn flush_pending() {
    PENDING.with(|p| {
        let mut p = p.borrow_mut();
        if p.records == 0 {
            return;
        }
        let a = aof();
        let (epoch, first, last) = (p.epoch, p.db_first, p.db_cur);
        if p.records > 1 {
            a.push_unit(Some(epoch), first, last, &[MULTI, &p.buf, EXEC]);
        } else {
            a.push_unit(Some(epoch), first, last, &[&p.buf]);
        }
        p.buf.clear();
        p.records = 0;
        if p.buf.capacity() > SHARD_KICK {
            p.buf = Vec::new();
        }
    });
}

/// A key expired or was evicted: the log gets a DEL for it.
pub fn propagate_del(db: usize, key: &[u8]) {
    let a = aof();
    if !a.on.load(Relaxed) || a.loading.load(Relaxed) {
        return;
    }
    let mut b = Vec::with_capacity(key.len() + 24);
    resp::encode(&mut b, &[&b"DEL"[..], key]);
    a.push_unit(None, db, db, &[&b]);
}

/// Before a connection sends replies: waits until what this thread's requests logged
/// is in the kernel (`everysec`, `no`), or on disk (`always`). Yields to the runtime
/// first so that the other connections ready on this thread log their batches too,
/// and one write (and one fsync) covers them all.
pub async fn wait_durable() {
    let target = WAIT_FOR.with(|w| w.get());
    let a = aof();
    if target == 0 || a.synced.load(SeqCst) >= target {
        return;
    }
    if a.policy.load(Relaxed) != FSYNC_ALWAYS {
        if a.written.load(SeqCst) >= target || !a.on.load(Relaxed) {
            return;
        }
        tokio::task::yield_now().await;
        // the first connection back writes for everyone; the others are done
        if a.written.load(SeqCst) < target && a.on.load(Relaxed) {
            let _ = a.write_pending();
        }
        return;
    }
    tokio::task::yield_now().await;
    if a.synced.load(SeqCst) < target {
        a.kick();
    }
    loop {
        let n = a.durable.notified();
        tokio::pin!(n);
        n.as_mut().enable();
        if a.synced.load(SeqCst) >= target
            || !a.on.load(Relaxed)
            || a.policy.load(Relaxed) != FSYNC_ALWAYS
        {
            return;
        }
        // a bounded wait: a write error keeps waiters here until the log is healthy
        // again, and the timer makes sure a lost wake-up is never fatal
        let _ = tokio::time::timeout(Duration::from_millis(100), n).await;
    }
}

/// The error write commands get while the log can't be written.
pub fn deny_write() -> Option<String> {
    let a = aof();
    if a.on.load(Relaxed) && !a.write_ok.load(Relaxed) {
        return Some(format!(
            "MISCONF Errors writing to the AOF file: {}",
            a.write_err.lock()
        ));
    }
    None
}

/// Startup: with `appendonly yes`, loads the AOF directory (before any client is
/// accepted) and opens it for appending. Errors are fatal and say why.
pub fn boot(srv: &Arc<Server>) -> Result<(), String> {
    let a = aof();
    let _ = a.srv.set(srv.clone());
    a.refresh_settings(srv);
    // files of an interrupted rewrite are never part of the data
    let (dir, _) = paths(srv);
    if let Ok(rd) = std::fs::read_dir(&dir) {
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().starts_with("temp-") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    if !srv.config.get_bool("appendonly") {
        return Ok(());
    }
    a.loading.store(true, SeqCst);
    let loaded = load::boot_load(srv);
    a.loading.store(false, SeqCst);
    let m = loaded?;
    open_for_append(srv, m).map_err(|e| format!("Can't open the append-only file: {e}"))?;
    a.start_writer();
    Ok(())
}

/// Opens the last INCR file of `m` (creating BASE, INCR and manifest as needed) and
/// starts logging.
fn open_for_append(srv: &Server, mut m: manifest::Manifest) -> std::io::Result<()> {
    let a = aof();
    let (dir, prefix) = paths(srv);
    std::fs::create_dir_all(&dir)?;
    let mut changed = false;
    if m.base.is_none() && m.incrs.is_empty() {
        let name = manifest::base_name(&prefix, 1);
        File::create(dir.join(&name))?.sync_all()?;
        info!(file = %name, "Creating AOF base file on server start");
        m.base = Some(manifest::Entry {
            name,
            seq: 1,
            kind: 'b',
        });
        changed = true;
    }
    if m.incrs.is_empty() {
        let seq = m.next_incr_seq();
        let name = manifest::incr_name(&prefix, seq);
        info!(file = %name, "Creating AOF incr file on server start");
        m.incrs.push(manifest::Entry {
            name,
            seq,
            kind: 'i',
        });
        changed = true;
    }
    let incr = m.incrs.last().map(|e| e.name.clone()).unwrap_or_default();
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(&incr))?;
    let len = f.metadata()?.len();
    if changed {
        f.sync_all()?;
        manifest::write_atomic(&dir, &manifest::manifest_name(&prefix), &m.to_text())?;
    }
    let base_len = m
        .base
        .as_ref()
        .and_then(|b| std::fs::metadata(dir.join(&b.name)).ok())
        .map_or(0, |md| md.len());
    let total: u64 = m
        .load_order()
        .iter()
        .filter_map(|e| std::fs::metadata(dir.join(&e.name)).ok())
        .map(|md| md.len())
        .sum();
    a.base_size.store(base_len, Relaxed);
    a.current_size.store(total, Relaxed);
    let _io = a.io.lock();
    let mut st = a.st.lock();
    st.manifest = m;
    a.switch_file(&mut st, Some(Arc::new(f)), len, false, true);
    drop(st);
    a.on.store(true, SeqCst);
    Ok(())
}

/// CONFIG SET touched the AOF directives: start or stop logging, pick up the fsync
/// policy. Turning the log on rewrites a BASE from the live data, as Valkey does.
pub fn config_changed(srv: &Server) -> Result<(), String> {
    let a = aof();
    a.refresh_settings(srv);
    let want = srv.config.get_bool("appendonly");
    if want && !a.on.load(SeqCst) {
        if let Some(s) = a.srv.get() {
            a.on.store(true, SeqCst);
            a.start_writer();
            if !rewrite::spawn(s.clone()) {
                // a rewrite already running commits into a manifest with an INCR file
                a.rw.lock().scheduled = true;
            }
        }
    } else if !want && a.on.load(SeqCst) {
        a.on.store(false, SeqCst);
        if a.rewriting.load(SeqCst) {
            // the rewrite would start a log nobody wants any more
            warn!("Killing running AOF rewrite child");
            a.abort.store(true, SeqCst);
        }
        let r = a.flush_sync();
        let _io = a.io.lock();
        let mut st = a.st.lock();
        a.switch_file(&mut st, None, 0, false, true);
        drop(st);
        if let Err(e) = r {
            warn!(error = %e, "Fail to fsync the AOF file");
        }
    }
    Ok(())
}

/// SHUTDOWN / signals: everything logged reaches the disk before the process exits.
pub fn shutdown() {
    let a = aof();
    if !a.on.load(SeqCst) {
        return;
    }
    if let Err(e) = a.flush_sync() {
        warn!(error = %e, "Error flushing the AOF at shutdown");
    } else {
        info!("Calling fsync() on the AOF file.");
    }
}

/// INFO persistence fields this module owns, in Valkey's order.
pub fn info_fields() -> Vec<(&'static str, String)> {
    let a = aof();
    let rw = a.rw.lock();
    let in_progress = a.rewriting.load(Relaxed);
    let mut v = vec![
        ("aof_enabled", (a.on.load(Relaxed) as u8).to_string()),
        ("aof_rewrite_in_progress", (in_progress as u8).to_string()),
        ("aof_rewrite_scheduled", (rw.scheduled as u8).to_string()),
        ("aof_last_rewrite_time_sec", rw.last_secs.to_string()),
        (
            "aof_current_rewrite_time_sec",
            match (in_progress, rw.started) {
                (true, Some(t)) => t.elapsed().as_secs().to_string(),
                _ => "-1".into(),
            },
        ),
        (
            "aof_last_bgrewrite_status",
            if rw.ok { "ok" } else { "err" }.into(),
        ),
        ("aof_rewrites", rw.rewrites.to_string()),
        (
            "aof_rewrites_consecutive_failures",
            rw.consecutive_failures.to_string(),
        ),
        (
            "aof_last_write_status",
            if a.write_ok.load(Relaxed) {
                "ok"
            } else {
                "err"
            }
            .into(),
        ),
        ("aof_last_cow_size", "0".into()),
    ];
    if a.on.load(Relaxed) {
        let buffered = buffer_len();
        v.push(("aof_current_size", a.current_size.load(Relaxed).to_string()));
        v.push(("aof_base_size", a.base_size.load(Relaxed).to_string()));
        v.push(("aof_pending_rewrite", "0".into()));
        v.push(("aof_buffer_length", buffered.to_string()));
        v.push(("aof_pending_bio_fsync", "0".into()));
        v.push(("aof_delayed_fsync", "0".into()));
    }
    v
}

/// Whether the server is loading the AOF (INFO `loading`).
pub fn loading() -> bool {
    aof().loading.load(Relaxed)
}

/// Bytes logged and not yet written to the file (INFO mem_aof_buffer).
pub fn buffer_len() -> usize {
    aof().shards.iter().map(|s| s.len.load(Relaxed)).sum()
}

/// DEBUG AOF-FLUSH-SLEEP <microseconds>: slows every write of the log down (tests of
/// what waits for it).
pub fn set_flush_sleep_us(us: i64) {
    aof().flush_sleep_us.store(us.max(0), Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Threads appending to their own shards while writers cut and write concurrently:
    /// the file has every unit once, in the order the units were appended, and the
    /// SELECTs the merged order needs. Writes to one key are serialized by a lock, as
    /// the order locks do, so the values logged for it must be strictly increasing.
    #[test]
    fn units_from_many_threads_reach_the_file_in_append_order() {
        let a = aof();
        let path = std::env::temp_dir().join(format!("ferrokey-aof-order-{}", std::process::id()));
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        {
            let _io = a.io.lock();
            let mut st = a.st.lock();
            a.switch_file(&mut st, Some(Arc::new(f)), 0, false, true);
        }
        const THREADS: usize = 4;
        const EACH: usize = 2000;
        // the key's value, behind the lock that orders writes to it
        let key = Arc::new(Mutex::new(0u64));
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(SeqCst) {
                    aof().write_pending().unwrap();
                    std::thread::yield_now();
                }
            })
        };
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let key = key.clone();
                std::thread::spawn(move || {
                    for _ in 0..EACH {
                        let mut v = key.lock();
                        *v += 1;
                        let db = t % 3;
                        let mut b = Vec::new();
                        // the database travels in the record, to check the SELECTs
                        resp::encode(
                            &mut b,
                            &[
                                &b"SET"[..],
                                format!("k{db}").as_bytes(),
                                v.to_string().as_bytes(),
                            ],
                        );
                        aof().push_unit(None, db, db, &[&b]);
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        stop.store(true, SeqCst);
        writer.join().unwrap();
        a.flush_sync().unwrap();
        {
            let _io = a.io.lock();
            let mut st = a.st.lock();
            a.switch_file(&mut st, None, 0, false, true);
        }
        let data = std::fs::read(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        let (mut pos, mut spans) = (0, Vec::new());
        let (mut db, mut last, mut n) = (usize::MAX, 0u64, 0usize);
        while pos < data.len() {
            let resp::Step::Command { consumed } = resp::parse_into(&data[pos..], &mut spans)
            else {
                panic!("bad record at {pos}");
            };
            let arg = |i: usize| &data[pos + spans[i].0..pos + spans[i].1];
            let text = |i: usize| String::from_utf8_lossy(arg(i)).to_string();
            if arg(0) == b"SELECT" {
                db = text(1).parse().unwrap();
            } else {
                assert_eq!(
                    text(1),
                    format!("k{db}"),
                    "record logged in the wrong database"
                );
                let v: u64 = text(2).parse().unwrap();
                assert!(v > last, "value {v} logged after {last}");
                last = v;
                n += 1;
            }
            pos += consumed;
        }
        assert_eq!(n, THREADS * EACH);
    }
}
