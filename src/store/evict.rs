//! `maxmemory`: eviction policies, the LRU/LFU data kept in each entry, and the
//! out-of-memory state write commands are refused on.
//!
//! As Valkey's `evict.c`: before a command runs, if the memory counted by the
//! allocator (`crate::alloc`) exceeds `maxmemory`, keys are evicted until it no longer
//! does or a time budget (`maxmemory-eviction-tenacity`) runs out, in which case the
//! cron carries on. Which keys go is approximated by sampling: each round samples
//! `maxmemory-samples` entries of random shards of every database into a small pool
//! ordered by how good a candidate each is (idle time for LRU, inverse frequency for
//! LFU, nearness of expiry for volatile-ttl), and the best live entry of the pool goes.
//! The pool outlives a round, so the choice improves over rounds as Valkey's does.
//!
//! Each entry's 24-bit clock (`Node::lru`) is read as Valkey reads `robj->lru`: the
//! access time in seconds under LRU policies; under LFU ones, 16 bits of access time in
//! minutes and an 8-bit logarithmic access counter.
//!
//! Settings are mirrored here in atomics (see [`configure`]) because the store reads
//! the LFU flag on every lookup and dispatch reads `maxmemory` before every command:
//! with no limit set that check is one relaxed load.

use super::{lru_clock, Keyspace, Node, Shard, SHARDS};
use crate::server::Server;
use parking_lot::Mutex;
use rand::Rng;
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// `maxmemory-policy`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Policy {
    NoEviction,
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
    AllKeysLru,
    AllKeysLfu,
    AllKeysRandom,
}

impl Policy {
    pub fn parse(s: &str) -> Policy {
        match s {
            "volatile-lru" => Policy::VolatileLru,
            "volatile-lfu" => Policy::VolatileLfu,
            "volatile-random" => Policy::VolatileRandom,
            "volatile-ttl" => Policy::VolatileTtl,
            "allkeys-lru" => Policy::AllKeysLru,
            "allkeys-lfu" => Policy::AllKeysLfu,
            "allkeys-random" => Policy::AllKeysRandom,
            _ => Policy::NoEviction,
        }
    }

    fn from_u8(v: u8) -> Policy {
        match v {
            1 => Policy::VolatileLru,
            2 => Policy::VolatileLfu,
            3 => Policy::VolatileRandom,
            4 => Policy::VolatileTtl,
            5 => Policy::AllKeysLru,
            6 => Policy::AllKeysLfu,
            7 => Policy::AllKeysRandom,
            _ => Policy::NoEviction,
        }
    }

    fn as_u8(self) -> u8 {
        match self {
            Policy::NoEviction => 0,
            Policy::VolatileLru => 1,
            Policy::VolatileLfu => 2,
            Policy::VolatileRandom => 3,
            Policy::VolatileTtl => 4,
            Policy::AllKeysLru => 5,
            Policy::AllKeysLfu => 6,
            Policy::AllKeysRandom => 7,
        }
    }

    pub fn is_lfu(self) -> bool {
        matches!(self, Policy::VolatileLfu | Policy::AllKeysLfu)
    }

    /// Only keys with an expiry may be evicted.
    pub fn volatile_only(self) -> bool {
        matches!(
            self,
            Policy::VolatileLru
                | Policy::VolatileLfu
                | Policy::VolatileRandom
                | Policy::VolatileTtl
        )
    }

    fn is_random(self) -> bool {
        matches!(self, Policy::VolatileRandom | Policy::AllKeysRandom)
    }
}

static MAXMEMORY: AtomicU64 = AtomicU64::new(0);
static POLICY: AtomicU8 = AtomicU8::new(0);
static LFU: AtomicBool = AtomicBool::new(false);
static SAMPLES: AtomicU32 = AtomicU32::new(5);
static TENACITY: AtomicU32 = AtomicU32::new(10);
static LFU_LOG_FACTOR: AtomicU32 = AtomicU32::new(10);
static LFU_DECAY_TIME: AtomicU32 = AtomicU32::new(1);
/// A cron eviction pass is under way on a blocking thread.
static CRON_BUSY: AtomicBool = AtomicBool::new(false);

/// Mirrors the eviction directives from the config; called whenever one changes.
pub fn configure(cfg: &crate::config::Config) {
    let int = |n: &str| cfg.get_i64(n).max(0);
    MAXMEMORY.store(int("maxmemory") as u64, Relaxed);
    let p = Policy::parse(&cfg.get("maxmemory-policy").unwrap_or_default());
    POLICY.store(p.as_u8(), Relaxed);
    LFU.store(p.is_lfu(), Relaxed);
    SAMPLES.store(int("maxmemory-samples").clamp(1, 64) as u32, Relaxed);
    TENACITY.store(int("maxmemory-eviction-tenacity").min(100) as u32, Relaxed);
    LFU_LOG_FACTOR.store(int("lfu-log-factor").min(u32::MAX as i64) as u32, Relaxed);
    LFU_DECAY_TIME.store(int("lfu-decay-time").min(u32::MAX as i64) as u32, Relaxed);
}

/// The memory limit in bytes (0: none).
#[inline]
pub fn maxmemory() -> u64 {
    MAXMEMORY.load(Relaxed)
}

pub fn policy() -> Policy {
    Policy::from_u8(POLICY.load(Relaxed))
}

/// Whether entries' clocks hold LFU data.
#[inline]
pub fn lfu() -> bool {
    LFU.load(Relaxed)
}

// ---------------------------------------------------------------- LRU / LFU data

/// New keys start with this counter so they can collect a few accesses before they
/// look like the least used (Valkey's LFU_INIT_VAL).
pub const LFU_INIT_VAL: u32 = 5;

/// The 16-bit minutes clock of the LFU data.
pub fn lfu_minutes(now_ms: i64) -> u32 {
    ((now_ms.max(0) / 1000 / 60) & 0xffff) as u32
}

/// Minutes since `ldt` on the wrapping 16-bit clock.
fn lfu_elapsed(ldt: u32, now_min: u32) -> u32 {
    if now_min >= ldt {
        now_min - ldt
    } else {
        65535 - ldt + now_min
    }
}

/// The access counter of LFU data `clock`, decayed by one per `lfu-decay-time`
/// minutes since it was last stored (Valkey's `LFUDecrAndReturn`).
pub fn lfu_counter(clock: u32, now_ms: i64) -> u32 {
    let (ldt, counter) = (clock >> 8, clock & 0xff);
    let decay = LFU_DECAY_TIME.load(Relaxed);
    let periods = lfu_elapsed(ldt, lfu_minutes(now_ms))
        .checked_div(decay)
        .unwrap_or(0);
    counter.saturating_sub(periods)
}

/// Increments a counter with a probability that falls as it grows, so 255 stands for
/// about a million accesses at the default `lfu-log-factor` (Valkey's `LFULogIncr`).
fn lfu_log_incr(counter: u32) -> u32 {
    if counter >= 255 {
        return 255;
    }
    let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
    let p = 1.0 / (base * LFU_LOG_FACTOR.load(Relaxed) as f64 + 1.0);
    if rand::thread_rng().gen::<f64>() < p {
        counter + 1
    } else {
        counter
    }
}

/// The clock a new entry starts with.
#[inline]
pub fn initial_clock(now_ms: i64) -> u32 {
    if lfu() {
        (lfu_minutes(now_ms) << 8) | LFU_INIT_VAL
    } else {
        lru_clock(now_ms)
    }
}

thread_local! {
    /// Set while a command of a CLIENT NO-TOUCH client runs (nested commands of its
    /// scripts and transactions included): lookups leave LRU/LFU data alone.
    static NO_TOUCH: Cell<bool> = const { Cell::new(false) };
}

/// Sets this thread's no-touch state until the guard is dropped, which restores the
/// previous one.
pub struct NoTouch(bool);

impl NoTouch {
    pub fn enter(on: bool) -> NoTouch {
        NoTouch(NO_TOUCH.with(|c| c.replace(on)))
    }
}

impl Drop for NoTouch {
    fn drop(&mut self) {
        NO_TOUCH.with(|c| c.set(self.0));
    }
}

/// Marks an entry as accessed now: a new access time under LRU, a decayed and then
/// logarithmically incremented counter under LFU. Nothing for a no-touch client.
#[inline]
pub fn touch(n: &mut Node, now_ms: i64) {
    if NO_TOUCH.with(|c| c.get()) {
        return;
    }
    if lfu() {
        let c = lfu_log_incr(lfu_counter(n.lru(), now_ms));
        n.set_lru((lfu_minutes(now_ms) << 8) | c);
    } else {
        n.set_lru(lru_clock(now_ms));
    }
}

/// Seconds an entry has not been accessed, from its LRU clock (OBJECT IDLETIME).
pub fn idle_seconds(clock: u32, now_ms: i64) -> u64 {
    let now = lru_clock(now_ms);
    if now >= clock {
        (now - clock) as u64
    } else {
        (now + (super::table::LRU_MAX - clock)) as u64
    }
}

// ---------------------------------------------------------------- memory state

/// Memory counted against `maxmemory`: what the allocator holds, less the AOF buffer,
/// which is not data (it would otherwise grow with the DELs eviction logs, and evict
/// more). `None` without the counting allocator.
fn counted_memory() -> Option<u64> {
    let used = crate::alloc::used_exact()?;
    Some(used.saturating_sub(crate::persistence::buffer_len() as u64))
}

/// Bytes over the limit, if any.
fn excess() -> Option<u64> {
    let max = maxmemory();
    if max == 0 {
        return None;
    }
    let used = counted_memory()?;
    (used > max).then(|| used - max)
}

/// What [`perform`] achieved.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Outcome {
    /// Within the limit (or eviction may not run now).
    Ok,
    /// Still over the limit, but evicting goes on in the background.
    Running,
    /// Over the limit with nothing (more) that the policy allows to evict.
    Fail,
}

thread_local! {
    /// Whether the last top-level command on this thread found the server out of memory
    /// (Valkey's `pre_command_oom_state`): a script it runs may not start writing.
    static PRE_COMMAND_OOM: Cell<bool> = const { Cell::new(false) };
}

/// True if the running top-level command found memory over the limit with nothing to
/// evict: scripts refuse their first memory-growing write then.
pub fn oom_state() -> bool {
    maxmemory() != 0 && PRE_COMMAND_OOM.with(|c| c.get())
}

/// Valkey's `isSafeToPerformEvictions`: not while loading, nor while clients are
/// paused (keys must not change then).
fn safe_to_evict(srv: &Server) -> bool {
    !crate::persistence::loading() && srv.pause_until_ms.load(Relaxed) <= srv.mono_ms()
}

/// Valkey's tenacity scale: 0..10 is linear up to 500 µs, then 15% more per step up
/// to about two minutes at 99; 100 means no limit.
fn time_limit(tenacity: u32) -> Duration {
    match tenacity {
        0..=10 => Duration::from_micros(50 * tenacity as u64),
        11..=99 => Duration::from_micros((500.0 * 1.15f64.powi(tenacity as i32 - 10)) as u64),
        _ => Duration::from_secs(u32::MAX as u64),
    }
}

/// Checks memory before a command and evicts what the policy allows while it is over
/// the limit (Valkey's `performEvictions`), within the tenacity time budget. Called
/// with no shard locked.
pub fn perform(srv: &Server) -> Outcome {
    let out = perform_for(srv, time_limit(TENACITY.load(Relaxed)));
    PRE_COMMAND_OOM.with(|c| c.set(out == Outcome::Fail));
    note_exceeded(out);
    out
}

/// Process-relative microseconds at which memory was first found over the limit and
/// not yet back under it (0: within the limit), and the sum of such periods: INFO's
/// `current_eviction_exceeded_time` and `total_eviction_exceeded_time`.
static EXCEEDED_SINCE_US: AtomicU64 = AtomicU64::new(0);
static EXCEEDED_TOTAL_US: AtomicU64 = AtomicU64::new(0);
static EPOCH: std::sync::LazyLock<Instant> = std::sync::LazyLock::new(Instant::now);

fn mono_us() -> u64 {
    EPOCH.elapsed().as_micros() as u64 + 1
}

fn note_exceeded(out: Outcome) {
    let since = EXCEEDED_SINCE_US.load(Relaxed);
    if out == Outcome::Ok {
        // only the thread that clears the mark adds the period to the total
        let cleared = since != 0
            && EXCEEDED_SINCE_US
                .compare_exchange(since, 0, Relaxed, Relaxed)
                .is_ok();
        if cleared {
            EXCEEDED_TOTAL_US.fetch_add(mono_us().saturating_sub(since), Relaxed);
        }
    } else if since == 0 {
        EXCEEDED_SINCE_US.store(mono_us(), Relaxed);
    }
}

/// (total, current) time spent over the limit, in milliseconds.
pub fn exceeded_ms() -> (u64, u64) {
    let since = EXCEEDED_SINCE_US.load(Relaxed);
    let current = if since == 0 {
        0
    } else {
        mono_us().saturating_sub(since)
    };
    (
        (EXCEEDED_TOTAL_US.load(Relaxed) + current) / 1000,
        current / 1000,
    )
}

/// CONFIG RESETSTAT.
pub fn reset_stats() {
    EXCEEDED_TOTAL_US.store(0, Relaxed);
    EXCEEDED_SINCE_US.store(0, Relaxed);
}

/// The OOM gate of dispatch, for a command a client sent (Valkey's processCommand):
/// evicts first, then, if memory is still over the limit with nothing to evict, names
/// the error that refuses the command. Refused are commands that may grow memory
/// (DENYOOM), EXEC of a transaction holding one, and anything but EXEC, DISCARD,
/// QUIT and RESET inside MULTI, since queueing itself takes memory.
pub fn refuse(
    srv: &Server,
    client: &crate::server::Client,
    cmd: &'static crate::commands::Command,
) -> Option<&'static str> {
    use crate::commands::{flags, transactions};
    if perform(srv) != Outcome::Fail {
        return None;
    }
    if cmd.name == "exec" {
        let queued_denyoom = client.multi.as_ref().is_some_and(|m| {
            m.queue
                .iter()
                .any(|args| queued_flags(args) & flags::DENYOOM != 0)
        });
        return queued_denyoom.then_some(EXEC_OOM);
    }
    let refused =
        cmd.has(flags::DENYOOM) || (client.multi.is_some() && !transactions::runs_in_multi(cmd));
    refused.then_some(OOM)
}

/// The error of a command refused over `maxmemory` (Valkey's shared.oomerr).
pub const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";
/// EXEC of a transaction holding such a command: the transaction is discarded.
pub const EXEC_OOM: &str =
    "EXECABORT Transaction discarded because of: OOM command not allowed when used memory > 'maxmemory'.";

/// The flags of a queued command line (its subcommand's, for a container).
fn queued_flags(args: &[Vec<u8>]) -> u32 {
    let Some(cmd) = args.first().and_then(|n| crate::commands::table::lookup(n)) else {
        return 0;
    };
    let sub = args
        .get(1)
        .and_then(|s| {
            cmd.subcommands
                .iter()
                .find(|c| c.name.as_bytes().eq_ignore_ascii_case(s))
        })
        .unwrap_or(cmd);
    sub.flags
}

fn perform_for(srv: &Server, budget: Duration) -> Outcome {
    if excess().is_none() || !safe_to_evict(srv) {
        return Outcome::Ok;
    }
    let policy = policy();
    if policy == Policy::NoEviction {
        return Outcome::Fail;
    }
    // keys must not vanish under a transaction or script that holds the gate
    // exclusively; as Valkey during a busy script, this counts as fine for now
    let Ok(_gate) = srv.gate.try_read() else {
        return Outcome::Ok;
    };
    // another thread is evicting: as Valkey while its eviction timer runs, the
    // command goes ahead rather than wait
    let Some(mut st) = STATE.try_lock() else {
        return Outcome::Running;
    };
    let started = Instant::now();
    let out = evict_within(srv, &mut st, policy, started, budget);
    // LATENCY's "eviction-cycle" event, as Valkey's
    let ms = started.elapsed().as_millis() as u64;
    let threshold = srv.admin.latency_threshold.load(Relaxed);
    if threshold > 0 && ms >= threshold as u64 {
        srv.admin.latency_sample("eviction-cycle", ms);
    }
    out
}

/// Evicts one key at a time until memory is within the limit, nothing is left to
/// evict, or the budget is spent (checked every 16 keys, as Valkey does).
fn evict_within(
    srv: &Server,
    st: &mut State,
    policy: Policy,
    started: Instant,
    budget: Duration,
) -> Outcome {
    let mut evicted = 0u64;
    loop {
        if excess().is_none() {
            return Outcome::Ok;
        }
        let Some((db, key)) = st.evict_one(&srv.keyspace, policy) else {
            return Outcome::Fail;
        };
        srv.keyspace.evicted.fetch_add(1, Relaxed);
        srv.key_modified(db, &key);
        crate::pubsub::notify(srv, crate::pubsub::class::EVICTED, "evicted", &key, db);
        evicted += 1;
        if evicted.is_multiple_of(16) && started.elapsed() > budget {
            return Outcome::Running;
        }
    }
}

/// From the server cron: keeps evicting while memory is over the limit (after a pass
/// ran out of time, or after CONFIG SET lowered the limit), on a blocking thread so
/// the connections of the cron's worker are not held up.
pub fn cron(srv: &std::sync::Arc<Server>, budget: Duration) {
    if excess().is_none() {
        // back within the limit (or no limit) without a command noticing
        note_exceeded(Outcome::Ok);
        return;
    }
    if policy() == Policy::NoEviction {
        return;
    }
    if CRON_BUSY.swap(true, Relaxed) {
        return;
    }
    let srv = srv.clone();
    tokio::task::spawn_blocking(move || {
        // in slices of the per-command budget, so commands get their turn in between
        let deadline = Instant::now() + budget;
        let slice = time_limit(TENACITY.load(Relaxed)).max(Duration::from_micros(500));
        loop {
            let out = perform_for(&srv, slice);
            note_exceeded(out);
            if out != Outcome::Running || Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_micros(100));
        }
        crate::persistence::flush_pending();
        // the blocking thread may be retired idle: what it freed must count now
        crate::alloc::flush_thread();
        CRON_BUSY.store(false, Relaxed);
    });
}

// ---------------------------------------------------------------- candidate choice

/// Entries kept between rounds (Valkey's EVPOOL_SIZE).
const POOL_SIZE: usize = 16;
/// How long the map of which shards hold keys is trusted before it is rebuilt.
const MAP_TTL: Duration = Duration::from_millis(100);

struct Candidate {
    /// Higher is a better candidate.
    score: u64,
    db: usize,
    key: Vec<u8>,
}

/// Per database: the shards holding keys the policy may evict, and how many.
#[derive(Default, Clone)]
struct DbMap {
    shards: Vec<u16>,
    keys: usize,
}

struct State {
    /// Ascending by score; the best candidate is last.
    pool: Vec<Candidate>,
    map: Vec<DbMap>,
    map_at: Option<Instant>,
    map_volatile: bool,
    next_db: usize,
}

static STATE: Mutex<State> = Mutex::new(State {
    pool: Vec::new(),
    map: Vec::new(),
    map_at: None,
    map_volatile: false,
    next_db: 0,
});

/// Keys of a shard the policy may evict.
fn evictable(s: &Shard, volatile: bool) -> usize {
    if volatile {
        s.volatile()
    } else {
        s.len()
    }
}

impl State {
    /// Rebuilds the shard map when it is stale or `force`d. Locks every shard once,
    /// one at a time.
    fn refresh_map(&mut self, ks: &Keyspace, volatile: bool, force: bool) {
        let fresh = self.map_at.is_some_and(|t| t.elapsed() < MAP_TTL);
        if fresh && !force && self.map_volatile == volatile && self.map.len() == ks.db_count() {
            return;
        }
        self.map = ks
            .dbs()
            .iter()
            .map(|db| {
                let mut m = DbMap::default();
                for i in 0..SHARDS {
                    let n = evictable(&db.lock_shard(i), volatile);
                    if n > 0 {
                        m.shards.push(i as u16);
                        m.keys += n;
                    }
                }
                m
            })
            .collect();
        self.map_at = Some(Instant::now());
        self.map_volatile = volatile;
    }

    /// Chooses a key by the policy and deletes it. Returns its database and name, or
    /// None if nothing is evictable.
    fn evict_one(&mut self, ks: &Keyspace, policy: Policy) -> Option<(usize, Vec<u8>)> {
        let volatile = policy.volatile_only();
        let mut forced = false;
        self.refresh_map(ks, volatile, false);
        // a few rounds: a stale map or a pool of deleted keys can make one come up empty
        for _ in 0..8 {
            // the map is at most MAP_TTL old, and its counts only go stale upwards (keys
            // evicted or deleted since), except for keys written since into shards that
            // were empty, which an out-of-memory server refuses: while memory stays over
            // the limit with nothing to evict, commands are refused without walking
            // every shard each time
            if self.map.iter().all(|m| m.keys == 0) {
                return None;
            }
            let picked = if policy.is_random() {
                self.evict_random(ks, volatile)
            } else {
                self.evict_from_pool(ks, policy)
            };
            match picked {
                Some(p) => return Some(p),
                None if !forced => {
                    self.refresh_map(ks, volatile, true);
                    forced = true;
                }
                None => {}
            }
        }
        None
    }

    /// volatile-random, allkeys-random: a random key of the next database that has one.
    fn evict_random(&mut self, ks: &Keyspace, volatile: bool) -> Option<(usize, Vec<u8>)> {
        let n = self.map.len();
        let mut rng = rand::thread_rng();
        for _ in 0..n {
            self.next_db = (self.next_db + 1) % n;
            let d = self.next_db;
            let m = &self.map[d];
            if m.shards.is_empty() {
                continue;
            }
            for _ in 0..m.shards.len().min(16) {
                let i = m.shards[rng.gen_range(0..m.shards.len())] as usize;
                let mut shard = ks.db(d).lock_shard(i);
                let mut key = None;
                sample_shard(&shard, volatile, 1, &mut rng, |n| {
                    key = Some(n.key().to_vec())
                });
                if let Some(k) = key {
                    if delete(&mut shard, d, &k, volatile) {
                        return Some((d, k));
                    }
                }
            }
        }
        None
    }

    /// LRU, LFU and TTL policies: sample every database into the pool, then delete the
    /// best pooled key that still exists.
    fn evict_from_pool(&mut self, ks: &Keyspace, policy: Policy) -> Option<(usize, Vec<u8>)> {
        let volatile = policy.volatile_only();
        let samples = SAMPLES.load(Relaxed) as usize;
        let now = super::now_ms();
        let mut rng = rand::thread_rng();
        for d in 0..self.map.len() {
            let (nshards, keys) = (self.map[d].shards.len(), self.map[d].keys);
            if nshards == 0 {
                continue;
            }
            let mut sampled = 0;
            for _ in 0..nshards {
                let i = self.map[d].shards[rng.gen_range(0..nshards)] as usize;
                let shard = ks.db(d).lock_shard(i);
                let pool = &mut self.pool;
                sampled += sample_shard(&shard, volatile, samples, &mut rng, |n| {
                    pool_insert(pool, score(policy, n, now), d, n.key());
                });
                // enough, or a database so small its shards are mostly near empty
                if sampled >= samples || keys < samples * 10 {
                    break;
                }
            }
        }
        while let Some(c) = self.pool.pop() {
            let mut shard = ks.db(c.db).lock(&c.key);
            if delete(&mut shard, c.db, &c.key, volatile) {
                return Some((c.db, c.key));
            }
            // a key deleted since it was pooled: try the next best
        }
        None
    }
}

/// How good a candidate an entry is: higher goes first. Under LRU the score is the
/// access time (older is better) rather than Valkey's idle time: scores of entries
/// pooled at different moments then still compare, which matters when eviction is
/// spread over seconds of slow writes.
fn score(policy: Policy, n: &Node, now: i64) -> u64 {
    match policy {
        Policy::VolatileTtl => u64::MAX - n.expire().unwrap_or(i64::MAX).max(0) as u64,
        p if p.is_lfu() => 255 - lfu_counter(n.lru(), now) as u64,
        _ => {
            let accessed = (now.max(0) / 1000) as u64 - idle_seconds(n.lru(), now);
            u64::MAX - accessed
        }
    }
}

/// Puts a sampled entry into the pool if it beats the worst one there (or there is
/// room), keeping the pool ordered; a key already pooled is updated instead.
fn pool_insert(pool: &mut Vec<Candidate>, score: u64, db: usize, key: &[u8]) {
    if let Some(i) = pool.iter().position(|c| c.db == db && c.key == key) {
        pool.remove(i);
    }
    if pool.len() >= POOL_SIZE {
        if pool[0].score >= score {
            return;
        }
        pool.remove(0);
    }
    let at = pool.partition_point(|c| c.score < score);
    pool.insert(
        at,
        Candidate {
            score,
            db,
            key: key.to_vec(),
        },
    );
}

/// Visits up to `want` entries of a shard starting at a random bucket and walking the
/// following ones (Valkey's `dictGetSomeKeys`), at most `10 * want` buckets. Returns
/// how many were visited.
fn sample_shard(
    shard: &Shard,
    volatile: bool,
    want: usize,
    rng: &mut impl Rng,
    mut visit: impl FnMut(&Node),
) -> usize {
    let t = shard.table();
    let nb = t.buckets();
    if nb == 0 || evictable(shard, volatile) == 0 {
        return 0;
    }
    let mut b = rng.gen_range(0..nb);
    let mut got = 0;
    // never round the table twice: a small shard would yield the same entries again
    for _ in 0..(want * 10).min(nb) {
        for n in t.bucket(b) {
            if volatile && n.expire().is_none() {
                continue;
            }
            visit(n);
            got += 1;
        }
        if got >= want {
            break;
        }
        b = (b + 1) & (nb - 1);
    }
    got
}

/// Deletes an evicted key while its shard is locked; the AOF gets its DEL before any
/// later write to the key can be logged.
fn delete(shard: &mut Shard, db: usize, key: &[u8], volatile: bool) -> bool {
    match shard.peek(key) {
        Some(n) if !volatile || n.expire().is_some() => {}
        _ => return false,
    }
    let Some(node) = shard.remove(key) else {
        return false;
    };
    crate::persistence::propagate_del(db, key);
    drop(node);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_keeps_the_best_candidates_in_order() {
        let mut pool = Vec::new();
        for s in 0..40u64 {
            pool_insert(&mut pool, (s * 7) % 40, 0, format!("k{s}").as_bytes());
        }
        assert_eq!(pool.len(), POOL_SIZE);
        let scores: Vec<u64> = pool.iter().map(|c| c.score).collect();
        assert_eq!(scores, (24..40).collect::<Vec<u64>>());
        // a pooled key sampled again is updated, not duplicated
        let worst = pool[0].key.clone();
        pool_insert(&mut pool, 100, 0, &worst);
        assert_eq!(pool.len(), POOL_SIZE);
        assert_eq!(pool.last().map(|c| c.score), Some(100));
    }

    #[test]
    fn lfu_counter_decays_and_grows_logarithmically() {
        let minute = 60_000;
        let now = 1000 * minute;
        let clock = (lfu_minutes(now) << 8) | 10;
        assert_eq!(lfu_counter(clock, now), 10);
        // one decrement per lfu-decay-time (1) minute
        assert_eq!(lfu_counter(clock, now + 3 * minute), 7);
        assert_eq!(lfu_counter(clock, now + 30 * minute), 0);
        let mut c = LFU_INIT_VAL;
        for _ in 0..1000 {
            c = lfu_log_incr(c);
        }
        // at log factor 10, a thousand hits lands near 5 + ~14 (Valkey's table: 100 hits ~ 10..18)
        assert!(c > 10 && c < 40, "counter {c}");
        assert_eq!(lfu_log_incr(255), 255);
    }

    #[test]
    fn tenacity_scale() {
        assert_eq!(time_limit(0), Duration::ZERO);
        assert_eq!(time_limit(10), Duration::from_micros(500));
        assert!(time_limit(99) > Duration::from_secs(100));
    }

    #[test]
    fn sampling_and_deleting_in_a_keyspace() {
        let ks = Keyspace::new(2);
        for i in 0..500 {
            let k = format!("k{i}");
            let exp = (i % 5 == 0).then_some(1_000_000 + i as i64);
            ks.db(1).lock(k.as_bytes()).set(
                k.as_bytes(),
                super::super::NewValue::Str(b"v"),
                exp,
                0,
            );
        }
        let mut st = State {
            pool: Vec::new(),
            map: Vec::new(),
            map_at: None,
            map_volatile: false,
            next_db: 0,
        };
        // volatile-ttl takes keys with an expiry only, soonest first over rounds
        let mut got = Vec::new();
        while let Some((db, k)) = st.evict_one(&ks, Policy::VolatileTtl) {
            assert_eq!(db, 1);
            got.push(k);
        }
        assert_eq!(got.len(), 100);
        assert_eq!(ks.db(1).counts(), (400, 0));
        for _ in 0..400 {
            assert!(st.evict_one(&ks, Policy::AllKeysRandom).is_some());
        }
        assert!(st.evict_one(&ks, Policy::AllKeysLru).is_none());
        assert_eq!(ks.db(1).len(), 0);
    }
}
