//! maxmemory: memory accounting, eviction policies (LRU, LFU, TTL, random), the OOM
//! refusal under noeviction, and the LRU/LFU data behind OBJECT IDLETIME/FREQ.

mod common;
use common::{assert_err, Raw, TestServer, R};
use std::time::{Duration, Instant};

const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";

fn info_field(c: &mut Raw, section: &str, name: &str) -> i64 {
    let text = c.cmd(&format!("INFO {section}")).text();
    let prefix = format!("{name}:");
    text.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("no {name} in INFO {section}"))
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{name} is not a number"))
}

fn used_memory(c: &mut Raw) -> i64 {
    info_field(c, "memory", "used_memory")
}

fn evicted(c: &mut Raw) -> i64 {
    info_field(c, "stats", "evicted_keys")
}

/// Waits until the server's clock (TIME) has moved into the next second, so that
/// accesses before and after differ on the one-second LRU clock.
fn next_second(c: &mut Raw) {
    let sec = |c: &mut Raw| c.cmd("TIME").items()[0].text().parse::<i64>().unwrap_or(0);
    let start = sec(c);
    let deadline = Instant::now() + Duration::from_secs(5);
    while sec(c) == start {
        assert!(Instant::now() < deadline, "TIME did not advance");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn set(c: &mut Raw, key: &str, value: &[u8]) {
    assert_eq!(c.cmdv(&[b"SET", key.as_bytes(), value]), R::ok());
}

fn count_existing(c: &mut Raw, keys: &[String]) -> usize {
    keys.iter()
        .filter(|k| c.cmdv(&[b"EXISTS", k.as_bytes()]) == R::Int(1))
        .count()
}

/// Writes filler keys until at least `target` keys were evicted in total; returns the
/// filler keys written. Checks that used memory stays near the limit meanwhile.
fn fill_until_evicted(c: &mut Raw, target: i64, limit: i64, value: &[u8]) -> Vec<String> {
    let mut keys = Vec::new();
    let mut i = 0;
    while evicted(c) < target {
        for _ in 0..50 {
            let k = format!("filler:{i}");
            set(c, &k, value);
            keys.push(k);
            i += 1;
        }
        // eviction runs before each write: the figure may pass the limit by what one
        // command adds plus what threads have not yet reported, never by much
        let used = used_memory(c);
        assert!(
            used < limit + 512 * 1024,
            "used_memory {used} far above maxmemory {limit}"
        );
        assert!(i < 200_000, "no eviction after {i} writes");
    }
    keys
}

#[test]
fn allkeys_lru_keeps_memory_at_the_limit_and_keeps_recent_keys() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert!(used_memory(&mut c) > 0);
    assert_eq!(c.cmd("CONFIG SET maxmemory-policy allkeys-lru"), R::ok());
    assert_eq!(c.cmd("CONFIG SET maxmemory-samples 10"), R::ok());
    let value = vec![b'x'; 1000];
    let cold: Vec<String> = (0..800).map(|i| format!("cold:{i}")).collect();
    let hot: Vec<String> = (0..800).map(|i| format!("hot:{i}")).collect();
    for k in cold.iter().chain(&hot) {
        set(&mut c, k, &value);
    }
    // the hot keys are read a second later than the cold ones were written, and the
    // filler comes later still
    next_second(&mut c);
    for k in &hot {
        assert_eq!(c.cmdv(&[b"GET", k.as_bytes()]).text().len(), 1000);
    }
    next_second(&mut c);
    // a limit a little above what is stored: the filler soon makes room by evicting
    let limit = used_memory(&mut c) + 256 * 1024;
    assert_eq!(c.cmd(&format!("CONFIG SET maxmemory {limit}")), R::ok());
    assert_eq!(info_field(&mut c, "memory", "maxmemory"), limit);
    assert!(c
        .cmd("INFO memory")
        .text()
        .contains("maxmemory_policy:allkeys-lru"));
    assert_eq!(evicted(&mut c), 0);
    fill_until_evicted(&mut c, 400, limit, &value);
    // sampling approximates LRU: nearly all of what went is among the oldest keys
    let (hot_left, cold_left) = (count_existing(&mut c, &hot), count_existing(&mut c, &cold));
    assert!(
        hot_left >= hot.len() * 95 / 100 && cold_left <= cold.len() - 300,
        "hot keys left {hot_left}, cold keys left {cold_left}"
    );
    let peak = info_field(&mut c, "memory", "used_memory_peak");
    assert!(peak < limit + 512 * 1024, "peak {peak}, limit {limit}");
    // CONFIG RESETSTAT zeroes the count
    assert_eq!(c.cmd("CONFIG RESETSTAT"), R::ok());
    assert_eq!(evicted(&mut c), 0);
}

#[test]
fn volatile_ttl_evicts_the_nearest_expiry_first_and_only_volatile_keys() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let base = used_memory(&mut c);
    let limit = base + 2 * 1024 * 1024;
    c.cmd(&format!("CONFIG SET maxmemory {limit}"));
    assert_eq!(c.cmd("CONFIG SET maxmemory-policy volatile-ttl"), R::ok());
    let value = vec![b'v'; 1000];
    let volatile: Vec<String> = (0..800).map(|i| format!("ttl:{i}")).collect();
    for (i, k) in volatile.iter().enumerate() {
        let ttl = (10_000 + i * 10).to_string();
        let r = c.cmdv(&[b"SET", k.as_bytes(), &value, b"EX", ttl.as_bytes()]);
        assert_eq!(r, R::ok());
    }
    // persistent keys push memory over the limit; only the volatile ones may go
    let filler = fill_until_evicted(&mut c, 400, limit, &value);
    assert_eq!(count_existing(&mut c, &filler), filler.len());
    let gone: Vec<bool> = volatile
        .iter()
        .map(|k| c.cmdv(&[b"EXISTS", k.as_bytes()]) == R::Int(0))
        .collect();
    let first = gone[..200].iter().filter(|g| **g).count();
    let last = gone[600..].iter().filter(|g| **g).count();
    assert!(
        first >= 180,
        "of the 200 soonest to expire {first} were evicted"
    );
    assert!(
        last <= 40,
        "of the 200 latest to expire {last} were evicted"
    );
}

#[test]
fn volatile_policies_never_evict_persistent_keys() {
    for policy in ["volatile-lru", "volatile-lfu", "volatile-random"] {
        let s = TestServer::start(&[]);
        let mut c = s.raw();
        let limit = used_memory(&mut c) + 1024 * 1024;
        c.cmd(&format!("CONFIG SET maxmemory {limit}"));
        assert_eq!(
            c.cmd(&format!("CONFIG SET maxmemory-policy {policy}")),
            R::ok()
        );
        let value = vec![b'p'; 1000];
        let persistent: Vec<String> = (0..200).map(|i| format!("keep:{i}")).collect();
        for k in &persistent {
            set(&mut c, k, &value);
        }
        for i in 0..600 {
            let k = format!("vol:{i}");
            let r = c.cmdv(&[b"SET", k.as_bytes(), &value, b"EX", b"100000"]);
            assert_eq!(r, R::ok());
        }
        let filler = fill_until_evicted(&mut c, 300, limit, &value);
        assert_eq!(
            count_existing(&mut c, &persistent),
            persistent.len(),
            "{policy}"
        );
        assert_eq!(count_existing(&mut c, &filler), filler.len(), "{policy}");
    }
}

#[test]
fn volatile_policy_with_nothing_volatile_refuses_writes() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd("SET plain value");
    c.cmd("CONFIG SET maxmemory-policy volatile-lru");
    c.cmd("CONFIG SET maxmemory 1");
    assert_err(&c.cmd("SET other value"), OOM);
    assert_eq!(c.cmd("GET plain"), R::bulk("value"));
    c.cmd("CONFIG SET maxmemory 0");
}

#[test]
fn allkeys_random_evicts_until_under_the_limit() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let base = used_memory(&mut c);
    let limit = base + 1024 * 1024;
    c.cmd(&format!("CONFIG SET maxmemory {limit}"));
    assert_eq!(c.cmd("CONFIG SET maxmemory-policy allkeys-random"), R::ok());
    let value = vec![b'r'; 1000];
    fill_until_evicted(&mut c, 500, limit, &value);
    assert!(used_memory(&mut c) < limit + 512 * 1024);
}

#[test]
fn noeviction_refuses_writes_but_reads_and_deletes_work() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd("SET a 1");
    c.cmd("SET b 2");
    // a transaction queued before the limit is reached
    let mut t = s.raw();
    assert_eq!(t.cmd("MULTI"), R::ok());
    assert_eq!(t.cmd("SET c 3"), R::Simple("QUEUED".into()));
    let mut r = s.raw();
    assert_eq!(r.cmd("MULTI"), R::ok());
    assert_eq!(r.cmd("GET a"), R::Simple("QUEUED".into()));

    assert_eq!(c.cmd("CONFIG SET maxmemory 1"), R::ok());
    match c.cmd("SET x 1") {
        R::Err(e) => assert_eq!(e, OOM),
        other => panic!("expected OOM, got {other:?}"),
    }
    assert_err(&c.cmd("LPUSH l x"), OOM);
    assert_err(&c.cmd("INCR a"), OOM);
    assert_eq!(c.cmd("GET a"), R::bulk("1"));
    assert_eq!(c.cmd("DEL b"), R::Int(1));
    assert_eq!(c.cmd("EXISTS b"), R::Int(0));
    assert_eq!(c.cmd("PING"), R::Simple("PONG".into()));
    assert_eq!(evicted(&mut c), 0);
    // EXEC of a transaction holding a write is refused and discarded
    assert_err(
        &t.cmd("EXEC"),
        "EXECABORT Transaction discarded because of: OOM command not allowed when used memory > 'maxmemory'.",
    );
    assert_err(&t.cmd("EXEC"), "ERR EXEC without MULTI");
    // one of reads only runs
    assert_eq!(r.cmd("EXEC"), R::Array(vec![R::bulk("1")]));
    // inside MULTI, queueing is refused and dooms the transaction; DISCARD still works
    assert_eq!(c.cmd("MULTI"), R::ok());
    assert_err(&c.cmd("SET y 1"), OOM);
    assert_err(&c.cmd("GET a"), OOM);
    assert_err(
        &c.cmd("EXEC"),
        "EXECABORT Transaction discarded because of previous errors.",
    );
    assert_eq!(c.cmd("MULTI"), R::ok());
    assert_err(&c.cmd("SET y 1"), OOM);
    assert_eq!(c.cmd("DISCARD"), R::ok());
    let rejected = c.cmd("INFO errorstats").text();
    assert!(rejected.contains("errorstat_OOM:count="), "{rejected}");

    assert_eq!(c.cmd("CONFIG SET maxmemory 0"), R::ok());
    assert_eq!(c.cmd("SET x 1"), R::ok());
    assert_eq!(c.cmd("EXISTS c"), R::Int(0));
}

#[test]
fn eviction_is_announced_and_counted() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd("CONFIG SET notify-keyspace-events Ee");
    c.cmd("CONFIG SET maxmemory-policy allkeys-lru");
    let mut sub = s.raw();
    assert_eq!(
        sub.cmd("PSUBSCRIBE __keyevent@0__:evicted").items().len(),
        3
    );
    let mut w = s.raw();
    w.cmd("SET watched 1");
    assert_eq!(w.cmd("WATCH watched"), R::ok());
    c.cmd("SET foo bar");
    // no command needed: lowering the limit makes the cron evict
    assert_eq!(c.cmd("CONFIG SET maxmemory 1"), R::ok());
    let mut got = Vec::new();
    while got.len() < 2 {
        let m = sub.read().items();
        assert_eq!(m[0], R::bulk("pmessage"));
        assert_eq!(m[2], R::bulk("__keyevent@0__:evicted"));
        got.push(m[3].text());
    }
    got.sort();
    assert_eq!(got, vec!["foo".to_string(), "watched".to_string()]);
    c.cmd("CONFIG SET maxmemory 0");
    assert_eq!(c.cmd("DBSIZE"), R::Int(0));
    assert_eq!(evicted(&mut c), 2);
    // the watched key was evicted: the transaction fails
    w.cmd("MULTI");
    w.cmd("PING");
    assert_eq!(w.cmd("EXEC"), R::NilArray);
}

#[test]
fn allkeys_lfu_keeps_frequently_read_keys() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let base = used_memory(&mut c);
    let limit = base + 3 * 1024 * 1024;
    c.cmd(&format!("CONFIG SET maxmemory {limit}"));
    assert_eq!(c.cmd("CONFIG SET maxmemory-policy allkeys-lfu"), R::ok());
    // no decay: a minute boundary during the test must not lower the counters
    assert_eq!(c.cmd("CONFIG SET lfu-decay-time 0"), R::ok());
    let value = vec![b'f'; 1000];
    let hot: Vec<String> = (0..500).map(|i| format!("hot:{i}")).collect();
    let cold: Vec<String> = (0..500).map(|i| format!("cold:{i}")).collect();
    for k in hot.iter().chain(&cold) {
        set(&mut c, k, &value);
    }
    for _ in 0..5 {
        for k in &hot {
            c.cmdv(&[b"GET", k.as_bytes()]);
        }
    }
    fill_until_evicted(&mut c, 4000, limit, &value);
    let (hot_left, cold_left) = (count_existing(&mut c, &hot), count_existing(&mut c, &cold));
    assert!(
        hot_left >= hot.len() * 9 / 10 && cold_left < hot_left / 2,
        "hot keys left {hot_left}, cold keys left {cold_left}"
    );
}

#[test]
fn object_freq_and_idletime_follow_the_policy() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd("SET k v");
    assert_err(
        &c.cmd("OBJECT FREQ k"),
        "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
    );
    // seconds on the LRU clock: at most one boundary passed since the SET
    assert!(matches!(c.cmd("OBJECT IDLETIME k"), R::Int(0 | 1)));
    c.cmd("CONFIG SET maxmemory-policy allkeys-lfu");
    // counters decay per elapsed minute; none here, so the counts below are exact
    c.cmd("CONFIG SET lfu-decay-time 0");
    assert_err(
        &c.cmd("OBJECT IDLETIME k"),
        "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
    );
    c.cmd("DEL k");
    c.cmd("SET k v");
    // a new key starts at LFU_INIT_VAL
    assert_eq!(c.cmd("OBJECT FREQ k"), R::Int(5));
    // the first access always counts, later ones ever more rarely
    c.cmd("GET k");
    assert_eq!(c.cmd("OBJECT FREQ k"), R::Int(6));
    for _ in 0..300 {
        c.cmd("GET k");
    }
    let f = c.cmd("OBJECT FREQ k");
    assert!(matches!(f, R::Int(n) if (7..=30).contains(&n)), "{f:?}");
    // TOUCH and writes are accesses too; OBJECT itself is not
    let before = match c.cmd("OBJECT FREQ k") {
        R::Int(n) => n,
        other => panic!("{other:?}"),
    };
    for _ in 0..50 {
        c.cmd("OBJECT FREQ k");
    }
    assert_eq!(c.cmd("OBJECT FREQ k"), R::Int(before));
    c.cmd("SET n v");
    c.cmd("TOUCH n");
    assert_eq!(c.cmd("OBJECT FREQ n"), R::Int(6));
    c.cmd("SET n w");
    assert!(matches!(c.cmd("OBJECT FREQ n"), R::Int(6 | 7)));
    c.cmd("CONFIG SET maxmemory-policy volatile-lfu");
    assert!(matches!(c.cmd("OBJECT FREQ n"), R::Int(6 | 7)));
    // a no-touch client's reads leave the data alone, its TOUCH does not
    c.cmd("SET q v");
    assert_eq!(c.cmd("CLIENT NO-TOUCH ON"), R::ok());
    for _ in 0..20 {
        assert_eq!(c.cmd("GET q"), R::bulk("v"));
    }
    assert_eq!(c.cmd("OBJECT FREQ q"), R::Int(5));
    c.cmd("TOUCH q");
    assert_eq!(c.cmd("OBJECT FREQ q"), R::Int(6));
    assert_eq!(c.cmd("CLIENT NO-TOUCH OFF"), R::ok());
    c.cmd("SET r v");
    c.cmd("GET r");
    assert_eq!(c.cmd("OBJECT FREQ r"), R::Int(6));
}

#[test]
fn info_memory_reports_the_counted_figures() {
    let s = TestServer::start(&["--maxmemory", "100mb", "--maxmemory-policy", "allkeys-lru"]);
    let mut c = s.raw();
    assert_eq!(info_field(&mut c, "memory", "maxmemory"), 100 * 1024 * 1024);
    let text = c.cmd("INFO memory").text();
    assert!(text.contains("maxmemory_human:100.00M"), "{text}");
    assert!(text.contains("maxmemory_policy:allkeys-lru"), "{text}");
    assert!(text.contains("mem_fragmentation_ratio:"), "{text}");
    let before = used_memory(&mut c);
    let value = vec![b'm'; 100_000];
    for i in 0..20 {
        set(&mut c, &format!("big:{i}"), &value);
    }
    let after = used_memory(&mut c);
    // 2 MB of values: the counter sees them (within what threads hold unreported)
    assert!(
        after - before > 1_500_000 && after - before < 4_000_000,
        "{before} -> {after}"
    );
    assert!(info_field(&mut c, "memory", "used_memory_peak") >= after);
    assert!(info_field(&mut c, "memory", "used_memory_dataset") > 1_500_000);
    c.cmd("FLUSHALL");
    let freed = used_memory(&mut c);
    assert!(freed < after - 1_500_000, "{after} -> {freed}");
    assert_eq!(
        c.cmd("CONFIG GET maxmemory").items()[1],
        R::bulk("104857600")
    );
    assert_eq!(c.cmd("CONFIG SET maxmemory 1gb"), R::ok());
    assert_eq!(
        c.cmd("CONFIG GET maxmemory").items()[1],
        R::bulk("1073741824")
    );
}
