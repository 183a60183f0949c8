//! The keyspace: databases, each split into shards behind their own lock, holding
//! entries with optional expiry.
//!
//! Rules every caller follows:
//! - a single-key command locks one shard ([`Db::lock`]);
//! - a multi-key command locks all its shards at once, in ascending order
//!   ([`Db::lock_keys`], [`Keyspace::lock_across`]), so it is atomic and cannot deadlock;
//! - every lookup goes through [`Shard::get`]/[`Shard::get_mut`], which apply lazy
//!   expiry, so no access path can see an expired key.

pub mod dump;
pub mod evict;
pub mod hash;
pub mod list;
mod node;
pub mod set;
pub mod table;
pub mod value;
pub mod varint;
pub mod zset;

use parking_lot::{Mutex, MutexGuard};
use rand::Rng;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::LazyLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};
pub use table::{hash_key, NewValue, Node, OwnedValue, Table};
pub use value::{Object, ValueRef};

/// Shards per database. A power of two; enough that two cores rarely meet on one lock
/// and that a shard's rehash stays short even with many millions of keys.
pub const SHARDS: usize = 256;
const SHARD_BITS: u32 = SHARDS.trailing_zeros();

/// Wall-clock anchor for [`unix_ms_at`]: a monotonic instant and the unix time (ms)
/// it corresponded to, re-anchored by the cron so wall-clock changes are followed.
/// The monotonic clock is the CPU's TSC (quanta): on virtual machines whose
/// clocksource makes `clock_gettime` a syscall, reading it per command costs more
/// than running a GET.
static CLOCK_BASE: LazyLock<(quanta::Instant, AtomicI64)> =
    LazyLock::new(|| (quanta::Instant::now(), AtomicI64::new(system_us())));

fn system_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// Unix milliseconds at a monotonic instant. One clock read per command serves both
/// the command's notion of "now" and its latency statistics. Kept in microseconds
/// until the end so the result is never more than the truncation of one step behind.
#[inline]
pub fn unix_ms_at(t: quanta::Instant) -> i64 {
    let (base, unix_us) = &*CLOCK_BASE;
    (unix_us.load(Ordering::Relaxed) + t.saturating_duration_since(*base).as_micros() as i64) / 1000
}

/// Unix time in milliseconds.
pub fn now_ms() -> i64 {
    unix_ms_at(quanta::Instant::now())
}

/// Re-anchors the clock to the system wall clock.
pub fn recalibrate_clock() {
    let (base, unix_us) = &*CLOCK_BASE;
    let t = quanta::Instant::now();
    unix_us.store(
        system_us() - t.saturating_duration_since(*base).as_micros() as i64,
        Ordering::Relaxed,
    );
}

/// The 24-bit LRU clock (seconds) kept in each entry.
pub fn lru_clock(now_ms: i64) -> u32 {
    ((now_ms / 1000) as u64 & table::LRU_MAX as u64) as u32
}

#[inline]
fn shard_of(hash: u64) -> usize {
    (hash >> (64 - SHARD_BITS)) as usize
}

/// One shard of one database.
#[derive(Default)]
pub struct Shard {
    table: Table,
    volatile: usize,
    expired: u64,
    expire_cursor: u64,
    /// The database this shard belongs to (kept across SWAPDB), so that expired keys
    /// are reported with the right database.
    db: u32,
}

thread_local! {
    /// Keys this thread expired (lazily or actively) and not yet reported: the keyspace
    /// `expired` event and the DEL written to the AOF are produced from this list once
    /// the command (or expiry cycle) that met them is done.
    static EXPIRED: std::cell::RefCell<Vec<(usize, Vec<u8>)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Takes the keys expired by this thread since the last call, with their database.
pub fn take_expired() -> Vec<(usize, Vec<u8>)> {
    EXPIRED.with(|e| std::mem::take(&mut *e.borrow_mut()))
}

/// True if this thread has expired keys not yet taken.
pub fn has_expired() -> bool {
    EXPIRED.with(|e| !e.borrow().is_empty())
}

fn note_expired(db: u32, key: &[u8]) {
    // logged while the shard is still locked, so the AOF's DEL precedes any later
    // write to the key
    crate::persistence::propagate_del(db as usize, key);
    EXPIRED.with(|e| e.borrow_mut().push((db as usize, key.to_vec())));
}

/// Whether key creations are recorded for the keyspace `new` event: on only while
/// `notify-keyspace-events` has `n`, so creating a key costs nothing extra otherwise.
pub static TRACK_CREATED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

thread_local! {
    /// Keys this thread created and not yet reported (the `new` keyspace event).
    static CREATED: std::cell::RefCell<Vec<(usize, Vec<u8>)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Takes the keys created by this thread since the last call, with their database.
pub fn take_created() -> Vec<(usize, Vec<u8>)> {
    CREATED.with(|e| std::mem::take(&mut *e.borrow_mut()))
}

fn note_created(db: u32, key: &[u8]) {
    if TRACK_CREATED.load(std::sync::atomic::Ordering::Relaxed) {
        CREATED.with(|e| e.borrow_mut().push((db as usize, key.to_vec())));
    }
}

impl Shard {
    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    pub fn volatile(&self) -> usize {
        self.volatile
    }

    /// Looks a key up, deleting it first if it has expired.
    pub fn get(&mut self, key: &[u8], now: i64) -> Option<&Node> {
        self.get_mut(key, now).map(|n| &*n)
    }

    /// Looks a key up for modification, deleting it first if it has expired, and marks
    /// it as recently used.
    pub fn get_mut(&mut self, key: &[u8], now: i64) -> Option<&mut Node> {
        let h = hash_key(key);
        let pos = self.table.position(h, key)?;
        let n = self.table.at_mut(pos)?;
        if n.is_expired(now) {
            self.remove_hashed(h, key);
            self.expired += 1;
            note_expired(self.db, key);
            return None;
        }
        // the borrow above ends at the expiry branch; reborrow for the caller
        let n = self.table.at_mut(pos)?;
        evict::touch(n, now);
        Some(n)
    }

    /// Looks a key up without expiring it or touching its LRU clock (OBJECT IDLETIME,
    /// DEBUG): the caller must treat an expired node as absent itself.
    pub fn peek(&self, key: &[u8]) -> Option<&Node> {
        self.table.get(hash_key(key), key)
    }

    pub fn contains(&mut self, key: &[u8], now: i64) -> bool {
        self.get(key, now).is_some()
    }

    /// Sets a key to a value, replacing any previous value and expiry.
    pub fn set(&mut self, key: &[u8], value: NewValue, expire: Option<i64>, now: i64) -> &mut Node {
        let h = hash_key(key);
        if self.table.get(h, key).is_some() {
            let n = match self.table.get_mut(h, key) {
                Some(n) => n,
                None => unreachable!("present a moment ago under the same lock"),
            };
            let was = n.expire().is_some();
            // value and expiry in one step: at most one reallocation of the entry
            n.set_value_expire(value, expire);
            // an overwrite is an access: LFU data carries over, as Valkey's dbSetValue
            evict::touch(n, now);
            match (was, expire.is_some()) {
                (true, false) => self.volatile -= 1,
                (false, true) => self.volatile += 1,
                _ => {}
            }
            return match self.table.get_mut(h, key) {
                Some(n) => n,
                None => unreachable!("present a moment ago under the same lock"),
            };
        }
        if expire.is_some() {
            self.volatile += 1;
        }
        note_created(self.db, key);
        self.table
            .insert_new(h, key, value, expire, evict::initial_clock(now))
    }

    /// Inserts a detached value under a key that must be absent (RENAME, MOVE, COPY).
    pub fn insert_owned(&mut self, key: &[u8], value: OwnedValue, expire: Option<i64>, now: i64) {
        let h = hash_key(key);
        self.remove_hashed(h, key);
        if expire.is_some() {
            self.volatile += 1;
        }
        note_created(self.db, key);
        self.table
            .insert_owned(h, key, value, expire, evict::initial_clock(now));
    }

    /// Replaces the value of an existing key keeping its expiry; inserts it otherwise.
    pub fn set_keep_ttl(&mut self, key: &[u8], value: NewValue, now: i64) -> &mut Node {
        let expire = self.get(key, now).and_then(|n| n.expire());
        self.set(key, value, expire, now)
    }

    /// Sets or clears a key's expiry. Returns false if the key does not exist.
    pub fn set_expire(&mut self, key: &[u8], expire: Option<i64>, now: i64) -> bool {
        let Some(n) = self.get_mut(key, now) else {
            return false;
        };
        let was = n.expire().is_some();
        n.set_expire(expire);
        match (was, expire.is_some()) {
            (true, false) => self.volatile -= 1,
            (false, true) => self.volatile += 1,
            _ => {}
        }
        true
    }

    /// Removes a key (expired or not) and returns its node.
    pub fn remove(&mut self, key: &[u8]) -> Option<Node> {
        self.remove_hashed(hash_key(key), key)
    }

    /// Removes a live key; an expired one counts as absent (and is reaped).
    pub fn delete(&mut self, key: &[u8], now: i64) -> Option<Node> {
        self.get(key, now)?;
        self.remove(key)
    }

    fn remove_hashed(&mut self, h: u64, key: &[u8]) -> Option<Node> {
        let n = self.table.remove(h, key)?;
        if n.expire().is_some() {
            self.volatile -= 1;
        }
        Some(n)
    }

    pub fn table(&self) -> &Table {
        &self.table
    }

    /// Takes all entries out, leaving the shard empty.
    pub fn take_all(&mut self) -> Table {
        self.volatile = 0;
        self.expire_cursor = 0;
        self.table.clear()
    }

    /// Keys that expired in this shard, lazily or actively, since start (or the last
    /// CONFIG RESETSTAT).
    pub fn expired_count(&self) -> u64 {
        self.expired
    }

    pub fn reset_expired_count(&mut self) {
        self.expired = 0;
    }

    /// One active-expiry pass over up to `buckets` buckets from the shard's own cursor.
    /// Returns (volatile keys checked, keys expired).
    pub fn expire_step(&mut self, buckets: usize, now: i64) -> (usize, usize) {
        let mut checked = 0;
        let mut expired = 0;
        for _ in 0..buckets {
            if self.volatile == 0 || self.table.is_empty() {
                self.expire_cursor = 0;
                break;
            }
            let cursor = self.expire_cursor;
            let mut c = 0;
            let removed = self
                .table
                .retain_bucket(cursor as usize, |n| match n.expire() {
                    Some(e) => {
                        c += 1;
                        e <= now
                    }
                    None => false,
                });
            checked += c;
            for n in &removed {
                note_expired(self.db, n.key());
            }
            expired += removed.len();
            self.volatile -= removed.len();
            self.expired += removed.len() as u64;
            self.expire_cursor = self.table.scan_step(cursor, |_| {});
        }
        (checked, expired)
    }

    /// A random live key of this shard, if any (expired keys met on the way are reaped).
    pub fn random_key(&mut self, now: i64) -> Option<Vec<u8>> {
        let mut rng = rand::thread_rng();
        for _ in 0..100 {
            if self.table.is_empty() {
                return None;
            }
            let nb = self.table.buckets();
            let mut found: Option<Vec<u8>> = None;
            // pick a random non-empty bucket, then a random node of its chain
            for _ in 0..nb.max(16) {
                let b = rng.gen_range(0..nb);
                let chain: Vec<&Node> = self.table.bucket(b).collect();
                if !chain.is_empty() {
                    found = Some(chain[rng.gen_range(0..chain.len())].key().to_vec());
                    break;
                }
            }
            let key = match found {
                Some(k) => k,
                None => self.table.iter().next()?.key().to_vec(),
            };
            if self.get(&key, now).is_some() {
                return Some(key);
            }
        }
        None
    }
}

#[repr(align(64))]
struct Padded(Mutex<Shard>);

/// One logical database (SELECT n).
pub struct Db {
    shards: Box<[Padded]>,
}

impl Db {
    fn new(index: usize) -> Self {
        Db {
            shards: (0..SHARDS)
                .map(|_| {
                    Padded(Mutex::new(Shard {
                        db: index as u32,
                        ..Shard::default()
                    }))
                })
                .collect(),
        }
    }
}

/// Locks held on several shards of one database.
pub struct MultiLock<'a> {
    guards: Vec<(usize, MutexGuard<'a, Shard>)>,
}

impl MultiLock<'_> {
    /// The locked shard holding `key`. Panics if the key was not named when locking:
    /// that is a programming error, never client-controlled.
    pub fn shard(&mut self, key: &[u8]) -> &mut Shard {
        let s = shard_of(hash_key(key));
        match self.guards.iter_mut().find(|(i, _)| *i == s) {
            Some((_, g)) => g,
            None => panic!("shard for key not locked"),
        }
    }
}

impl Db {
    pub fn shard_index(key: &[u8]) -> usize {
        shard_of(hash_key(key))
    }

    /// Locks the shard holding `key`.
    pub fn lock(&self, key: &[u8]) -> MutexGuard<'_, Shard> {
        self.shards[shard_of(hash_key(key))].0.lock()
    }

    pub fn lock_shard(&self, i: usize) -> MutexGuard<'_, Shard> {
        self.shards[i].0.lock()
    }

    /// Locks the shards of all `keys` in ascending order.
    pub fn lock_keys<'k>(&self, keys: impl IntoIterator<Item = &'k [u8]>) -> MultiLock<'_> {
        let mut idx: Vec<usize> = keys.into_iter().map(Db::shard_index).collect();
        idx.sort_unstable();
        idx.dedup();
        MultiLock {
            guards: idx
                .into_iter()
                .map(|i| (i, self.shards[i].0.lock()))
                .collect(),
        }
    }

    /// Locks every shard (SWAPDB, FLUSHDB, DEBUG RELOAD-like whole-db work).
    pub fn lock_all(&self) -> Vec<MutexGuard<'_, Shard>> {
        self.shards.iter().map(|s| s.0.lock()).collect()
    }

    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.0.lock().len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// (keys, keys with an expiry)
    pub fn counts(&self) -> (usize, usize) {
        self.shards.iter().fold((0, 0), |(k, v), s| {
            let g = s.0.lock();
            (k + g.len(), v + g.volatile())
        })
    }

    /// Empties the database and returns the old tables, so the caller can free them
    /// synchronously or on another thread (FLUSHDB ASYNC).
    pub fn flush(&self) -> Vec<Table> {
        self.shards.iter().map(|s| s.0.lock().take_all()).collect()
    }

    /// A random live key.
    pub fn random_key(&self, now: i64) -> Option<Vec<u8>> {
        let mut rng = rand::thread_rng();
        for _ in 0..SHARDS * 2 {
            let i = rng.gen_range(0..SHARDS);
            let mut g = self.shards[i].0.lock();
            if !g.is_empty() {
                if let Some(k) = g.random_key(now) {
                    return Some(k);
                }
            }
        }
        // a nearly empty database: walk the shards
        for s in self.shards.iter() {
            if let Some(k) = s.0.lock().random_key(now) {
                return Some(k);
            }
        }
        None
    }

    /// One SCAN step across shards. The cursor keeps the shard index in its low bits and
    /// that shard's reverse-binary table cursor above them; `visit` gets each live node
    /// of the buckets walked. Stops after `count` nodes or about `10 * count` buckets.
    pub fn scan(&self, cursor: u64, count: usize, now: i64, mut visit: impl FnMut(&Node)) -> u64 {
        let mut shard = (cursor & (SHARDS as u64 - 1)) as usize;
        let mut inner = cursor >> SHARD_BITS;
        let mut found = 0;
        let mut steps = 0;
        let max_steps = count.saturating_mul(10).max(10);
        loop {
            {
                let g = self.shards[shard].0.lock();
                while found < count && steps < max_steps {
                    steps += 1;
                    inner = g.table().scan_step(inner, |n| {
                        if !n.is_expired(now) {
                            found += 1;
                            visit(n);
                        }
                    });
                    if inner == 0 {
                        break;
                    }
                }
            }
            if inner == 0 {
                shard += 1;
                steps += 1;
                if shard == SHARDS {
                    return 0;
                }
            }
            if found >= count || steps >= max_steps {
                return (inner << SHARD_BITS) | shard as u64;
            }
        }
    }

    /// Visits every live key (KEYS). Holds one shard lock at a time.
    pub fn for_each(&self, now: i64, mut f: impl FnMut(&Node)) {
        for s in self.shards.iter() {
            let g = s.0.lock();
            for n in g.table().iter() {
                if !n.is_expired(now) {
                    f(n);
                }
            }
        }
    }

    pub fn expired_count(&self) -> u64 {
        self.shards.iter().map(|s| s.0.lock().expired_count()).sum()
    }

    /// Active expiry over this database within `deadline`, Valkey style: sample
    /// volatile keys shard by shard and keep going on a shard while more than a quarter
    /// of what was sampled had expired. Returns keys expired.
    pub fn active_expire(&self, now: i64, deadline: Instant, start_shard: usize) -> usize {
        let mut total = 0;
        for k in 0..SHARDS {
            let i = (start_shard + k) % SHARDS;
            let mut g = self.shards[i].0.lock();
            if g.volatile() == 0 {
                continue;
            }
            loop {
                let (checked, expired) = g.expire_step(20, now);
                total += expired;
                if checked == 0 || expired * 4 <= checked || Instant::now() >= deadline {
                    break;
                }
            }
            drop(g);
            if Instant::now() >= deadline {
                break;
            }
        }
        total
    }
}

/// All databases.
pub struct Keyspace {
    dbs: Box<[Db]>,
    /// Keys expired by active expiry cycles and lazily, summed at read time from shards.
    expire_cycles: AtomicU64,
    /// Keys evicted under `maxmemory` (INFO `evicted_keys`).
    pub evicted: AtomicU64,
}

/// Turns transparent huge pages off for the process, as Valkey does at startup with its
/// default `disable-thp yes`. mimalloc asks for huge pages on its arenas; a keyspace of
/// small entries then keeps many partly used 2 MiB pages resident (about 20% more RSS
/// after loading 1M small strings), and a fork for persistence would copy them whole.
fn disable_thp() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        #[cfg(target_os = "linux")]
        // SAFETY: PR_SET_THP_DISABLE takes integer arguments only and changes a flag of
        // this process; a failure (old kernels) just leaves THP as it was.
        unsafe {
            libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
        }
    });
}

impl Keyspace {
    pub fn new(databases: usize) -> Self {
        disable_thp();
        Keyspace {
            dbs: (0..databases.max(1)).map(Db::new).collect(),
            expire_cycles: AtomicU64::new(0),
            evicted: AtomicU64::new(0),
        }
    }

    pub fn db_count(&self) -> usize {
        self.dbs.len()
    }

    pub fn db(&self, i: usize) -> &Db {
        &self.dbs[i]
    }

    pub fn dbs(&self) -> &[Db] {
        &self.dbs
    }

    /// Locks `key` in `db_a` and `key_b` in `db_b` in a global order (MOVE, COPY ... DB).
    /// Returns the two guards in argument order; if both name the same shard, only
    /// one guard is taken and `None` is returned for the second.
    pub fn lock_across<'a>(
        &'a self,
        db_a: usize,
        key_a: &[u8],
        db_b: usize,
        key_b: &[u8],
    ) -> (MutexGuard<'a, Shard>, Option<MutexGuard<'a, Shard>>) {
        let a = (db_a, Db::shard_index(key_a));
        let b = (db_b, Db::shard_index(key_b));
        if a == b {
            return (self.dbs[a.0].lock_shard(a.1), None);
        }
        if a < b {
            let ga = self.dbs[a.0].lock_shard(a.1);
            let gb = self.dbs[b.0].lock_shard(b.1);
            (ga, Some(gb))
        } else {
            let gb = self.dbs[b.0].lock_shard(b.1);
            let ga = self.dbs[a.0].lock_shard(a.1);
            (ga, Some(gb))
        }
    }

    /// Swaps the contents of two databases atomically.
    pub fn swap(&self, a: usize, b: usize) {
        if a == b {
            return;
        }
        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
        let mut ga = self.dbs[lo].lock_all();
        let mut gb = self.dbs[hi].lock_all();
        for (x, y) in ga.iter_mut().zip(gb.iter_mut()) {
            std::mem::swap(&mut **x, &mut **y);
            std::mem::swap(&mut x.db, &mut y.db);
        }
    }

    /// CONFIG RESETSTAT: zeroes the expired-keys counters.
    pub fn reset_stats(&self) {
        self.evicted.store(0, Ordering::Relaxed);
        evict::reset_stats();
        for db in self.dbs.iter() {
            for g in db.lock_all().iter_mut() {
                g.reset_expired_count();
            }
        }
    }

    pub fn total_expired(&self) -> u64 {
        self.dbs.iter().map(|d| d.expired_count()).sum()
    }

    pub fn note_expire_cycle(&self) {
        self.expire_cycles.fetch_add(1, Ordering::Relaxed);
    }

    pub fn expire_cycles(&self) -> u64 {
        self.expire_cycles.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lazy_expiry_on_access() {
        let ks = Keyspace::new(16);
        let db = ks.db(0);
        db.lock(b"a").set(b"a", NewValue::Str(b"1"), Some(1000), 0);
        assert!(db.lock(b"a").get(b"a", 999).is_some());
        assert!(db.lock(b"a").get(b"a", 1000).is_none());
        assert_eq!(db.len(), 0);
        assert_eq!(ks.total_expired(), 1);
    }

    #[test]
    fn active_expiry_reaps_without_access() {
        let ks = Keyspace::new(1);
        let db = ks.db(0);
        for i in 0..1000 {
            let k = format!("k{i}");
            let exp = if i % 2 == 0 { Some(10) } else { None };
            db.lock(k.as_bytes())
                .set(k.as_bytes(), NewValue::Str(b"v"), exp, 0);
        }
        assert_eq!(db.counts(), (1000, 500));
        let deadline = Instant::now() + std::time::Duration::from_secs(5);
        let mut n = 0;
        for _ in 0..100 {
            n += db.active_expire(100, deadline, 0);
        }
        assert_eq!(n, 500);
        assert_eq!(db.counts(), (500, 0));
    }

    #[test]
    fn scan_visits_every_key_once_when_stable() {
        let ks = Keyspace::new(1);
        let db = ks.db(0);
        for i in 0..5000 {
            let k = format!("k{i}");
            db.lock(k.as_bytes())
                .set(k.as_bytes(), NewValue::Str(b"v"), None, 0);
        }
        let mut seen = Vec::new();
        let mut c = 0;
        loop {
            c = db.scan(c, 10, 0, |n| seen.push(n.key().to_vec()));
            if c == 0 {
                break;
            }
        }
        let uniq: std::collections::HashSet<_> = seen.iter().collect();
        assert_eq!(seen.len(), 5000);
        assert_eq!(uniq.len(), 5000);
    }

    #[test]
    fn swap_and_lock_across() {
        let ks = Keyspace::new(2);
        ks.db(0).lock(b"x").set(b"x", NewValue::Str(b"0"), None, 0);
        ks.swap(0, 1);
        assert!(ks.db(0).lock(b"x").get(b"x", 0).is_none());
        assert!(ks.db(1).lock(b"x").get(b"x", 0).is_some());
        let (mut a, b) = ks.lock_across(1, b"x", 0, b"x");
        let node = a.remove(b"x").map(|n| n.into_parts());
        let (v, e) = node.unwrap();
        b.unwrap().insert_owned(b"x", v, e, 0);
        drop(a);
        assert!(ks.db(0).lock(b"x").get(b"x", 0).is_some());
    }
}
