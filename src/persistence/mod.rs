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
//! keys that expire become DEL (see `propagate`). [`record`] runs inside `dispatch`
//! while the command still holds the server gate; the records of one top-level command
//! collect in a thread-local list that [`command_done`] appends to the log buffer
//! before the gate is released, wrapped in MULTI/EXEC when there are several (EXEC,
//! scripts), so a reload never applies half of them.
//!
//! A writer thread moves the buffer to the file and fsyncs it per `appendfsync`:
//! `always` acknowledges a write only once its record is on disk (the connection
//! awaits [`wait_durable`] before sending replies; every fsync covers whatever all
//! connections appended meanwhile, a group commit), `everysec` fsyncs once a second in
//! that thread, `no` leaves it to the kernel. No event loop ever waits on the disk
//! except for `always`, where waiting is the point.
//!
//! Known limit: a record is appended just after the handler released its shard lock,
//! not under it, so two threads writing the same key could in theory be logged in the
//! other order if one is preempted in that window of a few instructions.

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

/// One command as logged: its database and arguments.
type Entry = (usize, Vec<Vec<u8>>);

/// Keys changed while a rewrite runs: their final state is appended to the new BASE
/// when the rewrite commits (see `rewrite`).
#[derive(Default)]
pub(crate) struct Touched {
    pub keys: HashSet<(usize, Vec<u8>)>,
    /// Databases changed as a whole (FLUSHDB, FLUSHALL, SWAPDB...).
    pub dbs: HashSet<usize>,
}

pub(crate) struct State {
    /// Records not yet handed to the writer thread.
    pub buf: Vec<u8>,
    /// The INCR file being appended to; None while logging waits for the rewrite that
    /// starts it (CONFIG SET appendonly yes).
    pub file: Option<Arc<File>>,
    /// Bytes of `file` known good on disk, to cut a partial write after an error.
    pub file_len: u64,
    pub manifest: manifest::Manifest,
    /// Database the last record in `file` ran in (SELECT is written when it changes).
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
    /// Bumped when a rewrite commits: records of commands that ran before are already
    /// in the new BASE and are dropped if they reach the buffer late.
    epoch: AtomicU64,
    pub(crate) st: Mutex<State>,
    wake: Condvar,
    /// Held by whoever writes files, so a rewrite's switch of INCR file and the writer
    /// thread never interleave.
    pub(crate) io: Mutex<()>,
    /// Logical bytes appended to the buffer since start, across files.
    appended: AtomicU64,
    /// Logical bytes known fsynced (or, when not fsyncing, written).
    synced: AtomicU64,
    /// Logical bytes handed to the kernel.
    written: AtomicU64,
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
    /// DEBUG AOF-FLUSH-SLEEP: microseconds the writer waits before each write.
    flush_sleep_us: AtomicI64,
    writer: OnceLock<()>,
    srv: OnceLock<Arc<Server>>,
}

static AOF: LazyLock<Aof> = LazyLock::new(|| Aof {
    on: AtomicBool::new(false),
    epoch: AtomicU64::new(0),
    st: Mutex::new(State {
        buf: Vec::new(),
        file: None,
        file_len: 0,
        manifest: Default::default(),
        last_db: None,
        last_ts: 0,
    }),
    wake: Condvar::new(),
    io: Mutex::new(()),
    appended: AtomicU64::new(0),
    synced: AtomicU64::new(0),
    written: AtomicU64::new(0),
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

thread_local! {
    /// Records of the top-level request running on this thread: (epoch, entry).
    static PENDING: RefCell<Vec<(u64, Entry)>> = const { RefCell::new(Vec::new()) };
    /// Highest log offset this thread's requests appended: replies written after it
    /// wait for it to be durable under `appendfsync always`.
    static WAIT_FOR: Cell<u64> = const { Cell::new(0) };
    /// This thread is replaying the AOF.
    static REPLAYING: Cell<bool> = const { Cell::new(false) };
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

    /// Appends entries as one unit: SELECT where the database changes, MULTI/EXEC
    /// around several. Called with the state locked.
    fn append_locked(&self, st: &mut State, entries: &[Entry]) {
        if st.file.is_none() || entries.is_empty() {
            return;
        }
        let before = st.buf.len();
        if self.timestamps.load(Relaxed) {
            let now = crate::store::now_ms() / 1000;
            if now != st.last_ts {
                st.last_ts = now;
                st.buf
                    .extend_from_slice(format!("#TS:{now}\r\n").as_bytes());
            }
        }
        let wrap = entries.len() > 1;
        let select = |st: &mut State, db: usize| {
            if st.last_db != Some(db) {
                resp::encode(&mut st.buf, &[&b"SELECT"[..], db.to_string().as_bytes()]);
                st.last_db = Some(db);
            }
        };
        select(st, entries[0].0);
        if wrap {
            resp::encode(&mut st.buf, &[&b"MULTI"[..]]);
        }
        for (db, args) in entries {
            select(st, *db);
            resp::encode(&mut st.buf, args);
        }
        if wrap {
            resp::encode(&mut st.buf, &[&b"EXEC"[..]]);
        }
        let n = (st.buf.len() - before) as u64;
        let end = self.appended.fetch_add(n, SeqCst) + n;
        WAIT_FOR.with(|w| w.set(w.get().max(end)));
        self.wake.notify_one();
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

    /// Moves the buffer to the file (no fsync). Called by the writer thread and, under
    /// `everysec`/`no`, by a connection about to reply to a write, so that an
    /// acknowledged write is at least in the kernel: a crash of the process loses
    /// nothing acknowledged, as with Valkey. The I/O lock is held only for the write.
    fn write_pending(&self) -> std::io::Result<()> {
        let _io = self.io.lock();
        let (data, file, len, upto) = {
            let mut st = self.st.lock();
            let data = std::mem::take(&mut st.buf);
            (
                data,
                st.file.clone(),
                st.file_len,
                self.appended.load(SeqCst),
            )
        };
        let Some(f) = file.filter(|_| !data.is_empty()) else {
            self.written.fetch_max(upto, SeqCst);
            return Ok(());
        };
        let nap = self.flush_sleep_us.load(Relaxed);
        if nap > 0 {
            std::thread::sleep(Duration::from_micros(nap as u64));
        }
        if let Err(e) = Self::write_file(&f, len, &data) {
            self.note_write_error(&e);
            // put the batch back in front of what came meanwhile, for the retry
            let mut st = self.st.lock();
            let mut back = data;
            back.extend_from_slice(&st.buf);
            st.buf = back;
            return Err(e);
        }
        let mut st = self.st.lock();
        if st.file.as_ref().is_some_and(|cur| Arc::ptr_eq(cur, &f)) {
            st.file_len = len + data.len() as u64;
        }
        drop(st);
        self.current_size.fetch_add(data.len() as u64, Relaxed);
        self.unsynced.store(true, SeqCst);
        self.written.fetch_max(upto, SeqCst);
        Ok(())
    }

    /// The writer thread: buffer -> file, fsync per policy (outside the I/O lock, so
    /// writers are never held up by a slow fsync), release `always` waiters.
    fn writer_loop(&'static self) {
        loop {
            {
                let mut st = self.st.lock();
                if st.buf.is_empty() {
                    self.wake.wait_for(&mut st, Duration::from_millis(200));
                }
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

    /// Writes and fsyncs everything buffered (SHUTDOWN, CONFIG SET appendonly no).
    pub fn flush_sync(&self) -> std::io::Result<()> {
        let _io = self.io.lock();
        let mut st = self.st.lock();
        let Some(f) = st.file.clone() else {
            return Ok(());
        };
        let data = std::mem::take(&mut st.buf);
        let len = st.file_len;
        if let Err(e) = Self::write_file(&f, len, &data) {
            st.buf = data;
            return Err(e);
        }
        st.file_len = len + data.len() as u64;
        self.current_size.fetch_add(data.len() as u64, Relaxed);
        f.sync_data()?;
        self.written.fetch_max(self.appended.load(SeqCst), SeqCst);
        self.synced.fetch_max(self.appended.load(SeqCst), SeqCst);
        self.durable.notify_waiters();
        Ok(())
    }
}

/// Called by `dispatch` after a write command changed the dataset, while the command
/// still holds the server gate: notes the command's effect for the log.
pub fn record(ctx: &mut Ctx, args: &[&[u8]], reply_start: usize) {
    let a = aof();
    if !a.on.load(Relaxed) || a.loading.load(Relaxed) {
        return;
    }
    let Some(cmds) = propagate::effect(ctx, args, reply_start) else {
        return;
    };
    let db = ctx.client.db;
    if a.rewriting.load(SeqCst) {
        propagate::touch(&mut a.touched.lock(), db, &cmds);
    }
    let epoch = a.epoch.load(SeqCst);
    PENDING.with(|p| {
        let mut p = p.borrow_mut();
        for c in cmds {
            p.push((epoch, (db, c)));
        }
    });
}

/// A top-level command is done (its gate still held): what it logged is appended
/// now, after the DELs of keys it found expired, which precede it in the log.
pub fn command_done(_srv: &Server) {
    if PENDING.with(|p| p.borrow().is_empty()) {
        return;
    }
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

/// Held from before a write command runs until its records are in the log buffer.
pub struct OrderGuard(#[allow(dead_code)] Vec<parking_lot::MutexGuard<'static, ()>>);

/// With the AOF on, a write command takes the order locks of its keys' shards (all of
/// them for a write naming no key, FLUSHALL say), so two writes to one key are logged
/// in the order they were applied. Commands EXEC or a script runs need none: those
/// hold the server gate exclusively.
pub fn order(ctx: &Ctx, args: &[&[u8]]) -> Option<OrderGuard> {
    let a = aof();
    if !a.on.load(Relaxed) || !ctx.cmd.has(crate::commands::flags::WRITE) || !is_unit(ctx.client) {
        return None;
    }
    let pos = ctx.cmd.key_positions_in(args);
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
/// `after_command`).
pub fn flush_pending() {
    let entries = PENDING.with(|p| std::mem::take(&mut *p.borrow_mut()));
    if entries.is_empty() {
        return;
    }
    let a = aof();
    let mut st = a.st.lock();
    let epoch = a.epoch.load(SeqCst);
    // records from before a rewrite committed are part of its BASE already
    let live: Vec<Entry> = entries
        .into_iter()
        .filter(|(e, _)| *e == epoch)
        .map(|(_, x)| x)
        .collect();
    a.append_locked(&mut st, &live);
}

/// A key expired or was evicted: the log gets a DEL for it.
pub fn propagate_del(db: usize, key: &[u8]) {
    let a = aof();
    if !a.on.load(Relaxed) || a.loading.load(Relaxed) {
        return;
    }
    let mut st = a.st.lock();
    a.append_locked(&mut st, &[(db, vec![b"DEL".to_vec(), key.to_vec()])]);
}

/// Before a connection sends replies: under `appendfsync always`, waits until what
/// this thread's requests logged is on disk; otherwise makes sure it was written.
pub async fn wait_durable() {
    let target = WAIT_FOR.with(|w| w.get());
    let a = aof();
    if target == 0 || a.synced.load(SeqCst) >= target {
        return;
    }
    if a.policy.load(Relaxed) != FSYNC_ALWAYS {
        // everysec / no: in the kernel before the reply, fsync later
        if a.written.load(SeqCst) < target && a.on.load(Relaxed) {
            let _ = a.write_pending();
        }
        return;
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
    let mut st = a.st.lock();
    st.file = Some(Arc::new(f));
    st.file_len = len;
    st.manifest = m;
    st.last_db = None;
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
        let mut st = a.st.lock();
        st.file = None;
        st.buf.clear();
        drop(st);
        a.written.fetch_max(a.appended.load(SeqCst), SeqCst);
        a.synced.fetch_max(a.appended.load(SeqCst), SeqCst);
        a.durable.notify_waiters();
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
        let buffered = a.st.lock().buf.len();
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
    aof().st.lock().buf.len()
}

/// DEBUG AOF-FLUSH-SLEEP <microseconds>: slows every write of the log down (tests of
/// what waits for it).
pub fn set_flush_sleep_us(us: i64) {
    aof().flush_sleep_us.store(us.max(0), Relaxed);
}
