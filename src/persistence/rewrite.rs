//! AOF rewrite: a new BASE built from the live keyspace, without fork and without
//! stopping clients.
//!
//! The keyspace is walked one shard at a time (one shard lock held at a time) and
//! written as commands. Clients keep writing meanwhile and their records keep going to
//! the current INCR file, so the old manifest stays complete until the end. Keys
//! changed during the walk are noted (see `Touched`); at the end, with the server gate
//! held exclusively for a moment, each of them is appended to the new BASE as
//! `DEL key` + its current value, a new INCR file is opened and the manifest is
//! swapped atomically. BASE + new INCR then equal the live data exactly, wherever the
//! walk met each key. A crash at any point leaves a loadable directory: the old
//! manifest until the rename, the new one after.

use super::manifest::{self, Entry, Manifest};
use super::{aof, paths, resp, Touched};
use crate::server::Server;
use crate::store::{Object, ValueRef};
use std::io::Write;
use std::sync::atomic::Ordering::*;
use std::sync::Arc;
use std::time::Instant;
use tracing::{info, warn};

/// Elements per emitted command for aggregate values (Valkey's
/// AOF_REWRITE_ITEMS_PER_CMD), so no record gets huge.
const ITEMS_PER_CMD: usize = 64;

/// Appends the commands that recreate `node` (key, value, expiry).
pub fn emit_key(out: &mut Vec<u8>, key: &[u8], value: ValueRef<'_>, expire: Option<i64>) {
    match value {
        ValueRef::Str(s) => {
            resp::encode(out, &[&b"SET"[..], key, s]);
        }
        ValueRef::Obj(Object::Str(s)) => {
            resp::encode(out, &[&b"SET"[..], key, s.as_slice()]);
        }
        ValueRef::Obj(Object::List(l)) => {
            let items: Vec<&[u8]> = l.iter().collect();
            for chunk in items.chunks(ITEMS_PER_CMD) {
                let mut c: Vec<&[u8]> = vec![b"RPUSH", key];
                c.extend_from_slice(chunk);
                resp::encode(out, &c);
            }
        }
        ValueRef::Obj(Object::Hash(h)) => {
            let items: Vec<(&[u8], &[u8])> = h.iter().collect();
            for chunk in items.chunks(ITEMS_PER_CMD) {
                let mut c: Vec<&[u8]> = vec![b"HSET", key];
                for (f, v) in chunk {
                    c.push(f);
                    c.push(v);
                }
                resp::encode(out, &c);
            }
        }
        ValueRef::Obj(Object::Set(s)) => {
            let items: Vec<Vec<u8>> = s.iter().map(|e| e.to_vec()).collect();
            for chunk in items.chunks(ITEMS_PER_CMD) {
                let mut c: Vec<&[u8]> = vec![b"SADD", key];
                c.extend(chunk.iter().map(|m| m.as_slice()));
                resp::encode(out, &c);
            }
        }
        ValueRef::Obj(Object::ZSet(z)) => {
            let items: Vec<(Vec<u8>, &[u8])> = z
                .iter()
                .map(|(m, s)| (crate::protocol::reply::format_double(s).into_bytes(), m))
                .collect();
            for chunk in items.chunks(ITEMS_PER_CMD) {
                let mut c: Vec<&[u8]> = vec![b"ZADD", key];
                for (s, m) in chunk {
                    c.push(s);
                    c.push(m);
                }
                resp::encode(out, &c);
            }
        }
    }
    if let Some(at) = expire {
        resp::encode(out, &[&b"PEXPIREAT"[..], key, at.to_string().as_bytes()]);
    }
}

fn select(out: &mut Vec<u8>, db: usize) {
    resp::encode(out, &[&b"SELECT"[..], db.to_string().as_bytes()]);
}

/// Writes every live key of database `db` to `w`, one shard lock at a time.
fn dump_db(srv: &Server, db: usize, w: &mut impl Write, now: i64) -> std::io::Result<u64> {
    let d = srv.keyspace.db(db);
    let mut buf = Vec::new();
    let mut selected = false;
    let mut keys = 0u64;
    // rdb-key-save-delay (microseconds per key) slows a rewrite down for tests
    let delay = srv.config.get_i64("rdb-key-save-delay");
    for i in 0..crate::store::SHARDS {
        if aof().abort.load(SeqCst) {
            return Err(std::io::Error::other("rewrite aborted"));
        }
        {
            let g = d.lock_shard(i);
            for n in g.table().iter() {
                if n.is_expired(now) {
                    continue;
                }
                if !selected {
                    select(&mut buf, db);
                    selected = true;
                }
                emit_key(&mut buf, n.key(), n.value(), n.expire());
                keys += 1;
                if delay > 0 {
                    nap(delay);
                }
            }
        }
        if buf.len() > 64 * 1024 || i + 1 == crate::store::SHARDS {
            w.write_all(&buf)?;
            buf.clear();
        }
    }
    Ok(keys)
}

/// Sleeps `us` microseconds, in slices so that an abort is not held up.
fn nap(us: i64) {
    let until = Instant::now() + std::time::Duration::from_micros(us as u64);
    while Instant::now() < until && !aof().abort.load(SeqCst) {
        let left = until.saturating_duration_since(Instant::now());
        std::thread::sleep(left.min(std::time::Duration::from_millis(10)));
    }
}

/// The final state of the keys changed while the walk ran (gate held exclusively).
fn dump_touched(srv: &Server, t: &Touched, w: &mut impl Write, now: i64) -> std::io::Result<()> {
    let ndb = srv.keyspace.db_count();
    let whole: Vec<usize> = if t.dbs.contains(&usize::MAX) {
        (0..ndb).collect()
    } else {
        t.dbs.iter().copied().filter(|&d| d < ndb).collect()
    };
    for &d in &whole {
        let mut b = Vec::new();
        select(&mut b, d);
        resp::encode(&mut b, &[&b"FLUSHDB"[..]]);
        w.write_all(&b)?;
        dump_db(srv, d, w, now)?;
    }
    let mut keys: Vec<&(usize, Vec<u8>)> = t
        .keys
        .iter()
        .filter(|(d, _)| *d < ndb && !whole.contains(d))
        .collect();
    keys.sort();
    let mut last = None;
    let mut b = Vec::new();
    for (d, k) in keys {
        if last != Some(*d) {
            select(&mut b, *d);
            last = Some(*d);
        }
        resp::encode(&mut b, &[&b"DEL"[..], k]);
        let mut g = srv.keyspace.db(*d).lock(k);
        if let Some(n) = g.get(k, now) {
            emit_key(&mut b, n.key(), n.value(), n.expire());
        }
        drop(g);
        if b.len() > 64 * 1024 {
            w.write_all(&b)?;
            b.clear();
        }
    }
    w.write_all(&b)
}

/// Function libraries, recreated with FUNCTION LOAD when the server has that command.
fn dump_functions(srv: &Server, w: &mut impl Write) -> std::io::Result<()> {
    let has_load = crate::commands::table::lookup_original(b"function")
        .is_some_and(|f| f.subcommands.iter().any(|s| s.name == "load"));
    if !has_load {
        return Ok(());
    }
    let mut b = Vec::new();
    for lib in srv.functions.read().values() {
        resp::encode(
            &mut b,
            &[&b"FUNCTION"[..], b"LOAD", b"REPLACE", lib.code.as_bytes()],
        );
    }
    w.write_all(&b)
}

/// Starts a rewrite in the background; false if one is already running.
pub fn spawn(srv: Arc<Server>) -> bool {
    let a = aof();
    if a.rewriting
        .compare_exchange(false, true, SeqCst, SeqCst)
        .is_err()
    {
        return false;
    }
    let r = std::thread::Builder::new()
        .name("ferrokey-aofrw".into())
        .spawn(move || {
            let _ = run_claimed(&srv, false);
        });
    if let Err(e) = r {
        warn!(error = %e, "Can't rewrite append only file in background");
        a.rewriting.store(false, SeqCst);
        return false;
    }
    true
}

/// A rewrite in the foreground (SAVE, DEBUG RELOAD), the caller already holding the
/// server gate exclusively.
pub fn run_exclusive(srv: &Server) -> Result<(), String> {
    let a = aof();
    if a.rewriting
        .compare_exchange(false, true, SeqCst, SeqCst)
        .is_err()
    {
        return Err("Background append only file rewriting already in progress".into());
    }
    run_claimed(srv, true)
}

fn run_claimed(srv: &Server, gate_held: bool) -> Result<(), String> {
    let a = aof();
    let started = Instant::now();
    {
        let mut rw = a.rw.lock();
        rw.started = Some(started);
    }
    *a.touched.lock() = Touched::default();
    a.abort.store(false, SeqCst);
    info!("Background append only file rewriting started");
    let r = rewrite(srv, gate_held);
    let secs = started.elapsed().as_secs() as i64;
    {
        let mut rw = a.rw.lock();
        rw.last_secs = secs;
        rw.started = None;
        match &r {
            Ok(()) => {
                rw.ok = true;
                rw.rewrites += 1;
                rw.consecutive_failures = 0;
            }
            Err(_) => {
                rw.ok = false;
                rw.consecutive_failures += 1;
                // logging switched on at runtime waits for a BASE: try again
                if a.enabled() && a.st.lock().file.is_none() {
                    rw.scheduled = true;
                }
            }
        }
    }
    *a.touched.lock() = Touched::default();
    a.rewriting.store(false, SeqCst);
    match &r {
        Ok(()) => info!("Background AOF rewrite finished successfully"),
        Err(e) => warn!(error = %e, "Background AOF rewrite terminated with error"),
    }
    r
}

fn rewrite(srv: &Server, gate_held: bool) -> Result<(), String> {
    let a = aof();
    let (dir, prefix) = paths(srv);
    std::fs::create_dir_all(&dir).map_err(|e| {
        format!(
            "Can't open or create append-only dir {}: {e}",
            dir.display()
        )
    })?;
    let tmp = dir.join(format!("temp-rewriteaof-bg-{}.aof", std::process::id()));
    let res = (|| -> std::io::Result<()> {
        let f = std::fs::File::create(&tmp)?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
        let now = crate::store::now_ms();
        if srv.config.get_bool("aof-timestamp-enabled") {
            w.write_all(format!("#TS:{}\r\n", now / 1000).as_bytes())?;
        }
        let mut keys = 0;
        for db in 0..srv.keyspace.db_count() {
            keys += dump_db(srv, db, &mut w, now)?;
        }
        // the bulk goes to disk before clients are held up; only the tail is left
        w.flush()?;
        w.get_ref().sync_data()?;
        info!(keys, "AOF rewrite: keyspace written, committing");
        // the commit: nothing runs while the last changes are captured and the files
        // switched (normally a few milliseconds)
        let _gate = (!gate_held).then(|| srv.gate.write().unwrap_or_else(|e| e.into_inner()));
        if a.abort.load(SeqCst) {
            return Err(std::io::Error::other("rewrite aborted"));
        }
        let touched = std::mem::take(&mut *a.touched.lock());
        info!(
            keys = touched.keys.len(),
            databases = touched.dbs.len(),
            "AOF rewrite: appending the keys changed during the rewrite"
        );
        dump_touched(srv, &touched, &mut w, crate::store::now_ms())?;
        dump_functions(srv, &mut w)?;
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        let base_len = f.metadata()?.len();
        drop(f);
        commit(srv, &dir, &prefix, &tmp, base_len)
    })();
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        return Err(e.to_string());
    }
    Ok(())
}

/// Swaps the new BASE in (gate held exclusively by the caller).
fn commit(
    srv: &Server,
    dir: &std::path::Path,
    prefix: &str,
    tmp: &std::path::Path,
    base_len: u64,
) -> std::io::Result<()> {
    let a = aof();
    let _io = a.io.lock();
    let mut st = a.st.lock();
    // what the old INCR still had buffered goes there first: should the swap fail,
    // the old manifest must be complete
    a.write_locked(&mut st)?;
    if let Some(f) = st.file.clone() {
        f.sync_data()?;
    }
    let old: Manifest = if st.manifest == Manifest::default() {
        read_manifest(dir, prefix).unwrap_or_default()
    } else {
        st.manifest.clone()
    };
    let base_seq = old.next_base_seq();
    let base_name = manifest::base_name(prefix, base_seq);
    let mut m = Manifest {
        base: Some(Entry {
            name: base_name.clone(),
            seq: base_seq,
            kind: 'b',
        }),
        incrs: Vec::new(),
        history: Vec::new(),
    };
    let logging = a.on.load(SeqCst);
    let mut new_incr = None;
    if logging {
        let seq = old.next_incr_seq();
        let name = manifest::incr_name(prefix, seq);
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(&name))?;
        f.set_len(0)?;
        f.sync_all()?;
        info!(file = %name, "Creating AOF incr file on background rewrite");
        m.incrs.push(Entry {
            name,
            seq,
            kind: 'i',
        });
        new_incr = Some(f);
    }
    std::fs::rename(tmp, dir.join(&base_name))?;
    manifest::sync_dir(dir)?;
    manifest::write_atomic(dir, &manifest::manifest_name(prefix), &m.to_text())?;
    // the new manifest is durable: the old files are history now
    for e in old.load_order().into_iter().chain(old.history.iter()) {
        if e.name != base_name && !m.incrs.iter().any(|i| i.name == e.name) {
            let _ = std::fs::remove_file(dir.join(&e.name));
        }
    }
    st.manifest = m;
    // units appended since the cut above (DELs of keys expiring meanwhile: no command
    // runs, the gate is held) go to the new INCR file
    a.switch_file(&mut st, new_incr.map(Arc::new), 0, true, false);
    a.base_size.store(base_len, Relaxed);
    a.current_size.store(base_len, Relaxed);
    // everything logged so far is in the new BASE, which is on disk
    a.synced.fetch_max(a.written.load(SeqCst), SeqCst);
    a.durable.notify_waiters();
    let _ = srv;
    Ok(())
}

pub(crate) fn read_manifest(dir: &std::path::Path, prefix: &str) -> Option<Manifest> {
    let text = std::fs::read_to_string(dir.join(manifest::manifest_name(prefix))).ok()?;
    Manifest::parse(&text).ok()
}
