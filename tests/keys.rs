//! Generic keyspace commands: DEL/UNLINK/EXISTS/TYPE/TOUCH, RENAME, COPY, MOVE, SWAPDB,
//! KEYS/SCAN/RANDOMKEY, the EXPIRE family, OBJECT, DUMP/RESTORE.
mod common;
use common::*;
use std::collections::HashSet;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn int(r: R) -> i64 {
    match r {
        R::Int(n) => n,
        other => panic!("expected an integer, got {other:?}"),
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn err(s: &str) -> R {
    R::Err(s.into())
}

/// One SCAN call: (next cursor, keys).
fn scan_once(c: &mut Raw, args: &[&[u8]]) -> (String, Vec<String>) {
    match c.cmdv(args) {
        R::Array(v) if v.len() == 2 => {
            (v[0].text(), v[1].items().iter().map(|k| k.text()).collect())
        }
        other => panic!("bad SCAN reply {other:?}"),
    }
}

/// A full SCAN iteration with extra options; returns every key reported.
fn scan_all(c: &mut Raw, opts: &[&str]) -> Vec<String> {
    let mut cursor = "0".to_string();
    let mut keys = Vec::new();
    loop {
        let mut args: Vec<&[u8]> = vec![b"SCAN", cursor.as_bytes()];
        args.extend(opts.iter().map(|o| o.as_bytes()));
        let (next, k) = scan_once(c, &args);
        keys.extend(k);
        if next == "0" {
            return keys;
        }
        cursor = next;
    }
}

#[test]
fn del_unlink_exists_type_touch() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    for k in ["a", "b", "c"] {
        assert_eq!(c.cmd(&format!("SET {k} v")), R::ok());
    }
    assert_eq!(c.cmd("EXISTS a b nope a"), R::Int(3));
    assert_eq!(c.cmd("TOUCH a nope b"), R::Int(2));
    assert_eq!(c.cmd("TYPE a"), R::Simple("string".into()));
    assert_eq!(c.cmd("TYPE nope"), R::Simple("none".into()));
    assert_eq!(c.cmd("DEL a nope a"), R::Int(1));
    assert_eq!(c.cmd("UNLINK b c"), R::Int(2));
    assert_eq!(c.cmd("EXISTS a b c"), R::Int(0));
    assert_eq!(
        c.cmd("DEL"),
        err("ERR wrong number of arguments for 'del' command")
    );
    assert_eq!(
        c.cmd("TYPE a b"),
        err("ERR wrong number of arguments for 'type' command")
    );
    // an empty value is still a key
    assert_eq!(c.cmdv(&[b"SET", b"e", b""]), R::ok());
    assert_eq!(c.cmd("EXISTS e"), R::Int(1));
}

#[test]
fn expired_keys_are_gone_for_every_lookup() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("SET k v PX 30"), R::ok());
    std::thread::sleep(Duration::from_millis(60));
    assert_eq!(c.cmd("EXISTS k"), R::Int(0));
    assert_eq!(c.cmd("TYPE k"), R::Simple("none".into()));
    assert_eq!(c.cmd("TTL k"), R::Int(-2));
    assert_eq!(c.cmd("DEL k"), R::Int(0));
    assert_eq!(c.cmd("RENAME k j"), err("ERR no such key"));
    assert_eq!(c.cmd("DUMP k"), R::Nil);
}

#[test]
fn rename_and_renamenx() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd("SET a hello");
    assert_eq!(c.cmd("RENAME a b"), R::ok());
    assert_eq!(c.cmd("RENAME b c"), R::ok());
    assert_eq!(c.cmd("GET c"), R::bulk("hello"));
    assert_eq!(c.cmd("EXISTS a b"), R::Int(0));
    // overwrites the destination, value and all
    c.cmd("SET d other");
    assert_eq!(c.cmd("RENAME d c"), R::ok());
    assert_eq!(c.cmd("GET c"), R::bulk("other"));
    assert_eq!(c.cmd("EXISTS d"), R::Int(0));
    assert_eq!(c.cmd("RENAME nokey x"), err("ERR no such key"));
    assert_eq!(c.cmd("RENAMENX nokey x"), err("ERR no such key"));
    // same name: no-op when it exists, error otherwise
    assert_eq!(c.cmd("RENAME c c"), R::ok());
    assert_eq!(c.cmd("RENAMENX c c"), R::Int(0));
    assert_eq!(c.cmd("RENAME zz zz"), err("ERR no such key"));
    // RENAMENX refuses an existing destination
    c.cmd("SET x 1");
    c.cmd("SET y 2");
    assert_eq!(c.cmd("RENAMENX x y"), R::Int(0));
    assert_eq!(c.cmd("GET y"), R::bulk("2"));
    assert_eq!(c.cmd("RENAMENX x z"), R::Int(1));
    assert_eq!(c.cmd("GET z"), R::bulk("1"));
    assert_eq!(c.cmd("EXISTS x"), R::Int(0));
}

#[test]
fn rename_carries_the_ttl_and_drops_the_targets() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd("SET src v");
    c.cmd("EXPIRE src 100");
    let at = int(c.cmd("PEXPIRETIME src"));
    assert_eq!(c.cmd("RENAME src dst"), R::ok());
    assert_eq!(int(c.cmd("PEXPIRETIME dst")), at);
    c.cmd("SET plain v");
    c.cmd("SET volatile v EX 100");
    assert_eq!(c.cmd("RENAME plain volatile"), R::ok());
    assert_eq!(c.cmd("TTL volatile"), R::Int(-1));
}

#[test]
fn copy_within_and_across_databases() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd("SET k foobar");
    assert_eq!(c.cmd("COPY k k2"), R::Int(1));
    assert_eq!(c.cmd("GET k2"), R::bulk("foobar"));
    assert_eq!(c.cmd("COPY k k2"), R::Int(0));
    assert_eq!(c.cmd("COPY nokey k3"), R::Int(0));
    assert_eq!(
        c.cmd("COPY k k"),
        err("ERR source and destination objects are the same")
    );
    assert_eq!(
        c.cmd("COPY k k DB 0"),
        err("ERR source and destination objects are the same")
    );
    assert_eq!(c.cmd("COPY k k DB 3"), R::Int(1));
    assert_eq!(
        c.cmd("COPY k x DB notanumber"),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(
        c.cmd("COPY k x DB 99999999999"),
        err("ERR value is out of range, value must between -2147483648 and 2147483647")
    );
    assert_eq!(c.cmd("COPY k x DB 16"), err("ERR DB index is out of range"));
    assert_eq!(c.cmd("COPY k x DB -1"), err("ERR DB index is out of range"));
    assert_eq!(c.cmd("COPY k x DB"), err("ERR syntax error"));
    assert_eq!(c.cmd("COPY k x FOO"), err("ERR syntax error"));
    // REPLACE overwrites; without it the target stays
    c.cmd("SET other hello");
    assert_eq!(c.cmd("COPY other k DB 3"), R::Int(0));
    assert_eq!(c.cmd("COPY other k DB 3 REPLACE"), R::Int(1));
    c.cmd("SELECT 3");
    assert_eq!(c.cmd("GET k"), R::bulk("hello"));
    // the copy is independent of its source
    assert_eq!(c.cmd("SET k changed"), R::ok());
    c.cmd("SELECT 0");
    assert_eq!(c.cmd("GET other"), R::bulk("hello"));
    // expiry is copied, and not invented
    c.cmd("SET t v EX 100");
    assert_eq!(c.cmd("COPY t t2 REPLACE"), R::Int(1));
    assert_eq!(c.cmd("PEXPIRETIME t2"), c.cmd("PEXPIRETIME t"));
    assert_eq!(c.cmd("COPY k t2 REPLACE"), R::Int(1));
    assert_eq!(c.cmd("TTL t2"), R::Int(-1));
}

#[test]
fn move_between_databases() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd("SET k foo EX 100");
    let at = int(c.cmd("PEXPIRETIME k"));
    assert_eq!(c.cmd("MOVE k 5"), R::Int(1));
    assert_eq!(c.cmd("EXISTS k"), R::Int(0));
    assert_eq!(c.cmd("DBSIZE"), R::Int(0));
    c.cmd("SELECT 5");
    assert_eq!(c.cmd("GET k"), R::bulk("foo"));
    assert_eq!(int(c.cmd("PEXPIRETIME k")), at);
    c.cmd("SELECT 0");
    c.cmd("SET k other");
    assert_eq!(c.cmd("MOVE k 5"), R::Int(0), "the target already has it");
    assert_eq!(c.cmd("GET k"), R::bulk("other"));
    assert_eq!(c.cmd("MOVE nokey 5"), R::Int(0));
    assert_eq!(
        c.cmd("MOVE k 0"),
        err("ERR source and destination objects are the same")
    );
    assert_eq!(
        c.cmd("MOVE k notanumber"),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(c.cmd("MOVE k 16"), err("ERR DB index is out of range"));
    c.cmd("SET plain v");
    assert_eq!(c.cmd("MOVE plain 6"), R::Int(1));
    c.cmd("SELECT 6");
    assert_eq!(c.cmd("TTL plain"), R::Int(-1));
}

#[test]
fn swapdb_swaps_contents_for_every_client() {
    let s = TestServer::start(&[]);
    let mut a = s.raw();
    let mut b = s.raw();
    a.cmd("SET k in0");
    b.cmd("SELECT 1");
    assert_eq!(b.cmd("DBSIZE"), R::Int(0));
    assert_eq!(a.cmd("SWAPDB 0 1"), R::ok());
    assert_eq!(b.cmd("GET k"), R::bulk("in0"));
    assert_eq!(a.cmd("DBSIZE"), R::Int(0));
    assert_eq!(a.cmd("SWAPDB 0 0"), R::ok());
    assert_eq!(a.cmd("SWAPDB 44 55"), err("ERR DB index is out of range"));
    assert_eq!(a.cmd("SWAPDB 44 a"), err("ERR invalid second DB index"));
    assert_eq!(a.cmd("SWAPDB a 55"), err("ERR invalid first DB index"));
    assert_eq!(a.cmd("SWAPDB a b"), err("ERR invalid first DB index"));
    assert_eq!(a.cmd("SWAPDB 0 -1"), err("ERR DB index is out of range"));
}

#[test]
fn keys_with_patterns() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    for k in [
        "key_x", "key_y", "key_z", "foo_a", "foo_b", "foo_c", "{a}x", "{a}y",
    ] {
        c.cmd(&format!("SET {k} hello"));
    }
    let sorted = |r: R| {
        let mut v: Vec<String> = r.items().iter().map(|k| k.text()).collect();
        v.sort();
        v
    };
    assert_eq!(sorted(c.cmd("KEYS foo*")), ["foo_a", "foo_b", "foo_c"]);
    assert_eq!(sorted(c.cmd("KEYS {a}*")), ["{a}x", "{a}y"]);
    assert_eq!(sorted(c.cmd("KEYS *")).len(), 8);
    assert_eq!(sorted(c.cmd("KEYS key_[xy]")), ["key_x", "key_y"]);
    assert_eq!(c.cmd("KEYS nomatch*"), R::Array(vec![]));
    c.cmd("SET gone v PX 1");
    std::thread::sleep(Duration::from_millis(10));
    assert_eq!(c.cmd("KEYS gone"), R::Array(vec![]));
}

#[test]
fn keys_survives_pathological_patterns() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd(&format!("SET {} 1", "a".repeat(40)));
    let started = Instant::now();
    assert_eq!(
        c.cmd("KEYS a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b"),
        R::Array(vec![])
    );
    c.cmd("FLUSHALL");
    let long = "a".repeat(50000);
    c.cmdv(&[b"SET", long.as_bytes(), b"1"]);
    assert_eq!(
        c.cmdv(&[b"KEYS", "*?".repeat(50000).as_bytes()]),
        R::Array(vec![])
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn scan_iterates_everything() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    for i in 0..1000 {
        c.cmd(&format!("SET key:{i} {i}"));
    }
    let all: HashSet<String> = scan_all(&mut c, &[]).into_iter().collect();
    assert_eq!(all.len(), 1000);
    let small: HashSet<String> = scan_all(&mut c, &["COUNT", "5"]).into_iter().collect();
    assert_eq!(small.len(), 1000);
    let matched: HashSet<String> = scan_all(&mut c, &["MATCH", "key:1??"])
        .into_iter()
        .collect();
    assert_eq!(matched.len(), 100);
    assert!(matched
        .iter()
        .all(|k| k.starts_with("key:1") && k.len() == 7));
    assert_eq!(scan_all(&mut c, &["TYPE", "list"]).len(), 0);
    let typed: HashSet<String> =
        scan_all(&mut c, &["TYPE", "STRING", "MATCH", "key:*", "COUNT", "10"])
            .into_iter()
            .collect();
    assert_eq!(typed.len(), 1000);
    // a big COUNT returns everything at once
    let (next, keys) = scan_once(&mut c, &[b"SCAN", b"0", b"COUNT", b"100000"]);
    assert_eq!(next, "0");
    assert_eq!(keys.len(), 1000);
}

#[test]
fn scan_argument_errors() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("SCAN abc"), err("ERR invalid cursor"));
    assert_eq!(c.cmd("SCAN -1"), err("ERR invalid cursor"));
    assert_eq!(
        c.cmd("SCAN 18446744073709551616"),
        err("ERR invalid cursor")
    );
    assert_eq!(
        c.cmd("SCAN 0 TYPE string1"),
        err("ERR unknown type name 'string1'")
    );
    assert_eq!(c.cmd("SCAN 0 COUNT 0"), err("ERR syntax error"));
    assert_eq!(
        c.cmd("SCAN 0 COUNT x"),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(c.cmd("SCAN 0 COUNT"), err("ERR syntax error"));
    assert_eq!(
        c.cmd("SCAN 0 NOVALUES"),
        err("ERR NOVALUES option can only be used in HSCAN")
    );
    assert_eq!(
        c.cmd("SCAN 0 NOSCORES"),
        err("ERR NOSCORES option can only be used in ZSCAN")
    );
    // any cursor value is accepted, even one never handed out
    assert!(matches!(c.cmd("SCAN 18446744073709551615"), R::Array(_)));
    assert_eq!(
        c.cmd("SCAN 0"),
        R::Array(vec![R::bulk("0"), R::Array(vec![])])
    );
}

#[test]
fn scan_keeps_its_guarantee_under_writes() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    for i in 0..100 {
        c.cmd(&format!("SET k{i} v"));
    }
    let mut cursor = "0".to_string();
    let mut seen = HashSet::new();
    let mut round = 0;
    loop {
        let (next, keys) = scan_once(&mut c, &[b"SCAN", cursor.as_bytes()]);
        seen.extend(keys);
        if next == "0" {
            break;
        }
        cursor = next;
        for j in 0..10 {
            c.cmd(&format!("SET added:{round}:{j} v"));
        }
        round += 1;
    }
    for i in 0..100 {
        assert!(seen.contains(&format!("k{i}")), "missed k{i}");
    }
}

#[test]
fn randomkey() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("RANDOMKEY"), R::Nil);
    c.cmd("SET foo x");
    c.cmd("SET bar y");
    let mut seen = HashSet::new();
    for _ in 0..200 {
        seen.insert(c.cmd("RANDOMKEY").text());
        if seen.len() == 2 {
            break;
        }
    }
    assert_eq!(seen.len(), 2);
    c.cmd("DEL foo bar");
    assert_eq!(c.cmd("RANDOMKEY"), R::Nil);
}

#[test]
fn expire_ttl_and_persist() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd("SET x foobar");
    assert_eq!(c.cmd("EXPIRE x 5"), R::Int(1));
    assert!(matches!(int(c.cmd("TTL x")), 4 | 5));
    assert_eq!(c.cmd("EXPIRE x 10"), R::Int(1));
    assert_eq!(c.cmd("TTL x"), R::Int(10));
    let pttl = int(c.cmd("PTTL x"));
    assert!((9000..=10000).contains(&pttl), "{pttl}");
    assert_eq!(c.cmd("PERSIST x"), R::Int(1));
    assert_eq!(c.cmd("TTL x"), R::Int(-1));
    assert_eq!(c.cmd("PERSIST x"), R::Int(0));
    assert_eq!(c.cmd("PERSIST nokey"), R::Int(0));
    assert_eq!(c.cmd("EXPIRE nokey 10"), R::Int(0));
    for cmd in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
        assert_eq!(c.cmd(&format!("{cmd} x")), R::Int(-1), "{cmd}");
        assert_eq!(c.cmd(&format!("{cmd} nokey")), R::Int(-2), "{cmd}");
    }
    // absolute times read back exactly
    let at_s = now_ms() / 1000 + 100;
    c.cmd(&format!("SET e v EXAT {at_s}"));
    assert_eq!(c.cmd("EXPIRETIME e"), R::Int(at_s));
    let at_ms = now_ms() + 100_000;
    assert_eq!(c.cmd(&format!("PEXPIREAT e {at_ms}")), R::Int(1));
    assert_eq!(c.cmd("PEXPIRETIME e"), R::Int(at_ms));
    assert_eq!(c.cmd(&format!("EXPIREAT e {at_s}")), R::Int(1));
    assert_eq!(c.cmd("PEXPIRETIME e"), R::Int(at_s * 1000));
    assert_eq!(c.cmd("PEXPIRE e 100000"), R::Int(1));
    let left = int(c.cmd("PTTL e"));
    assert!((99_000..=100_000).contains(&left), "{left}");
}

#[test]
fn expire_in_the_past_deletes() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    for cmd in [
        "EXPIRE k -10",
        "PEXPIRE k 0",
        "EXPIREAT k 1",
        "PEXPIREAT k -9223372036854770000",
    ] {
        c.cmd("SET k v");
        assert_eq!(c.cmd(cmd), R::Int(1), "{cmd}");
        assert_eq!(c.cmd("EXISTS k"), R::Int(0), "{cmd}");
    }
    c.cmd("SET k v");
    assert_eq!(c.cmd("PEXPIREAT k 9223372036854770000"), R::Int(1));
    assert_eq!(c.cmd("PEXPIRETIME k"), R::Int(9223372036854770000));
}

fn expired_keys(c: &mut Raw) -> i64 {
    let info = c.cmd("INFO stats").text();
    info.lines()
        .find_map(|l| l.strip_prefix("expired_keys:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("expired_keys in INFO stats")
}

#[test]
fn expire_in_the_past_counts_as_expired() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let before = expired_keys(&mut c);
    let past_s = now_ms() / 1000 - 1;
    let past_ms = now_ms() - 1000;
    for cmd in [
        "EXPIRE x -1".to_string(),
        format!("EXPIREAT x {past_s}"),
        "PEXPIRE x -1000".to_string(),
        format!("PEXPIREAT x {past_ms}"),
    ] {
        c.cmd("SET x somevalue");
        assert_eq!(c.cmd(&cmd), R::Int(1), "{cmd}");
        assert_eq!(c.cmd("EXISTS x"), R::Int(0), "{cmd}");
    }
    assert_eq!(expired_keys(&mut c) - before, 4);
}

#[test]
fn expire_options() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let ttl_in = |c: &mut Raw, lo: i64, hi: i64| {
        let t = int(c.cmd("TTL foo"));
        assert!((lo..=hi).contains(&t), "ttl {t} not in {lo}..={hi}");
    };
    c.cmd("SET foo bar EX 100");
    assert_eq!(c.cmd("EXPIRE foo 200 NX"), R::Int(0));
    ttl_in(&mut c, 50, 100);
    c.cmd("SET foo bar");
    assert_eq!(c.cmd("EXPIRE foo 200 NX"), R::Int(1));
    ttl_in(&mut c, 100, 200);
    c.cmd("SET foo bar EX 100");
    assert_eq!(c.cmd("EXPIRE foo 200 XX"), R::Int(1));
    ttl_in(&mut c, 100, 200);
    c.cmd("SET foo bar");
    assert_eq!(c.cmd("EXPIRE foo 200 XX"), R::Int(0));
    assert_eq!(c.cmd("TTL foo"), R::Int(-1));
    c.cmd("SET foo bar EX 100");
    assert_eq!(c.cmd("EXPIRE foo 200 GT"), R::Int(1));
    ttl_in(&mut c, 100, 200);
    c.cmd("SET foo bar EX 200");
    assert_eq!(c.cmd("EXPIRE foo 100 GT"), R::Int(0));
    ttl_in(&mut c, 100, 200);
    c.cmd("SET foo bar");
    assert_eq!(c.cmd("EXPIRE foo 200 GT"), R::Int(0));
    assert_eq!(c.cmd("TTL foo"), R::Int(-1));
    c.cmd("SET foo bar EX 100");
    assert_eq!(c.cmd("EXPIRE foo 200 LT"), R::Int(0));
    ttl_in(&mut c, 50, 100);
    c.cmd("SET foo bar EX 200");
    assert_eq!(c.cmd("EXPIRE foo 100 lt"), R::Int(1));
    ttl_in(&mut c, 50, 100);
    c.cmd("SET foo bar");
    assert_eq!(c.cmd("EXPIRE foo 100 LT"), R::Int(1));
    ttl_in(&mut c, 50, 100);
    c.cmd("SET foo bar EX 200");
    assert_eq!(c.cmd("EXPIRE foo 100 LT XX"), R::Int(1));
    ttl_in(&mut c, 50, 100);
    c.cmd("SET foo bar");
    assert_eq!(c.cmd("EXPIRE foo 200 LT XX"), R::Int(0));
    assert_eq!(c.cmd("TTL foo"), R::Int(-1));
    // negative with LT still deletes
    c.cmd("SET foo bar EX 100");
    assert_eq!(c.cmd("EXPIRE foo -10 LT"), R::Int(1));
    assert_eq!(c.cmd("TTL foo"), R::Int(-2));
    for opt in ["NX", "XX", "GT", "LT"] {
        assert_eq!(c.cmd(&format!("EXPIRE none 100 {opt}")), R::Int(0));
    }
}

#[test]
fn expire_errors() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd("SET foo bar");
    let nx = "ERR NX and XX, GT or LT options at the same time are not compatible";
    assert_eq!(
        c.cmd("EXPIRE foo 200 LT GT"),
        err("ERR GT and LT options at the same time are not compatible")
    );
    assert_eq!(c.cmd("EXPIRE foo 200 NX GT"), err(nx));
    assert_eq!(c.cmd("EXPIRE foo 200 NX LT"), err(nx));
    assert_eq!(c.cmd("EXPIRE foo 200 NX XX"), err(nx));
    assert_eq!(c.cmd("EXPIRE foo 200 AB"), err("ERR Unsupported option AB"));
    assert_eq!(
        c.cmd("EXPIRE foo 200 XX AB"),
        err("ERR Unsupported option AB")
    );
    // options are checked before the time
    assert_eq!(c.cmd("EXPIRE foo x AB"), err("ERR Unsupported option AB"));
    assert_eq!(
        c.cmdv(&[b"EXPIRE", b"foo", b""]),
        err("ERR value is not an integer or out of range")
    );
    for t in [
        "9223370399119966",
        "9223372036854776",
        "10000000000000000",
        "18446744073709561",
        "-9223372036854776",
        "-9999999999999999",
    ] {
        assert_eq!(
            c.cmd(&format!("EXPIRE foo {t}")),
            err("ERR invalid expire time in 'expire' command"),
            "{t}"
        );
    }
    assert_eq!(
        c.cmd("EXPIREAT foo 9223372036854776"),
        err("ERR invalid expire time in 'expireat' command")
    );
    assert_eq!(
        c.cmd("PEXPIRE foo 9223372036854770000"),
        err("ERR invalid expire time in 'pexpire' command")
    );
    assert_eq!(c.cmd("TTL foo"), R::Int(-1));
    assert_eq!(
        c.cmd("EXPIRE foo"),
        err("ERR wrong number of arguments for 'expire' command")
    );
}

#[test]
fn keys_expire_actively_without_access() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    for k in ["key1", "key2", "key3"] {
        c.cmd(&format!("SET {k} a PX 100"));
    }
    assert_eq!(c.cmd("DBSIZE"), R::Int(3));
    let deadline = Instant::now() + Duration::from_secs(5);
    while int(c.cmd("DBSIZE")) != 0 {
        assert!(Instant::now() < deadline, "keys were not actively expired");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn object_encoding_and_refcount() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let long = "x".repeat(45);
    c.cmd("SET small 12");
    c.cmd("SET big 123456789012");
    c.cmd("SET neg -5");
    c.cmd("SET padded 012");
    c.cmd(&format!("SET e44 {}", &long[..44]));
    c.cmd(&format!("SET r45 {long}"));
    c.cmd("SET huge 123456789012345678901234");
    c.cmd("SET bits a");
    c.cmd("SETBIT bits 1 1");
    for (k, enc) in [
        ("small", "int"),
        ("big", "int"),
        ("neg", "int"),
        ("padded", "embstr"),
        ("e44", "embstr"),
        ("r45", "raw"),
        ("huge", "embstr"),
        ("bits", "raw"),
    ] {
        assert_eq!(c.cmd(&format!("OBJECT ENCODING {k}")), R::bulk(enc), "{k}");
    }
    assert_eq!(c.cmd("OBJECT ENCODING nokey"), R::Nil);
    assert_eq!(c.cmd("OBJECT REFCOUNT small"), R::Int(2147483647));
    assert_eq!(c.cmd("OBJECT REFCOUNT big"), R::Int(1));
    assert_eq!(c.cmd("OBJECT REFCOUNT neg"), R::Int(1));
    assert_eq!(c.cmd("OBJECT REFCOUNT e44"), R::Int(1));
    assert_eq!(c.cmd("OBJECT REFCOUNT nokey"), R::Nil);
    assert_eq!(
        c.cmd("OBJECT encoding"),
        err("ERR wrong number of arguments for 'object|encoding' command")
    );
    assert_eq!(
        c.cmd("OBJECT NOPE k"),
        err("ERR unknown subcommand 'NOPE'. Try OBJECT HELP.")
    );
    match c.cmd("OBJECT HELP") {
        R::Array(lines) => {
            assert!(lines[0].text().starts_with("OBJECT <subcommand>"));
            assert!(lines.iter().any(|l| l.text() == "IDLETIME <key>"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn object_idletime_and_freq() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd("SET k v");
    let idle = int(c.cmd("OBJECT IDLETIME k"));
    assert!((0..=1).contains(&idle), "{idle}");
    assert_eq!(c.cmd("OBJECT IDLETIME nokey"), R::Nil);
    assert_eq!(
        c.cmd("OBJECT FREQ k"),
        err("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
    );
    assert_eq!(c.cmd("CONFIG SET maxmemory-policy allkeys-lfu"), R::ok());
    assert_eq!(
        c.cmd("OBJECT IDLETIME k"),
        err("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
    );
    assert_eq!(c.cmd("OBJECT FREQ nokey"), R::Nil);
}

#[test]
fn idletime_is_not_reset_by_reading_it() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let payload = {
        c.cmd("SET k v");
        c.cmd("DUMP k")
    };
    c.cmd("DEL k");
    let R::Bulk(p) = payload else { panic!() };
    assert_eq!(
        c.cmdv(&[b"RESTORE", b"k", b"0", &p, b"IDLETIME", b"1000"]),
        R::ok()
    );
    for _ in 0..3 {
        let idle = int(c.cmd("OBJECT IDLETIME k"));
        assert!((1000..=1002).contains(&idle), "{idle}");
    }
    // TTL, TYPE and EXISTS do not count as an access either
    c.cmd("TTL k");
    c.cmd("TYPE k");
    c.cmd("EXISTS k");
    assert!(int(c.cmd("OBJECT IDLETIME k")) >= 1000);
    // a read does
    c.cmd("GET k");
    assert!(int(c.cmd("OBJECT IDLETIME k")) <= 1);
}

/// DUMP payloads produced by valkey-server 8.0.1 (RDB version 11, as 8.1).
const VALKEY_BAR: &[u8] = b"\x00\x03bar\x0b\x00\x8fa\xf4\x13\x13\xf9\x14\x9e";
const VALKEY_LZF_48A: &[u8] = b"\x00\xc3\t0\x01aa\xe0#\x00\x01aa\x0b\x00]\x1aO\xbc\xb5\xf38\x05";
const VALKEY_INT_NEG: &[u8] = b"\x00\xc2`y\xfe\xff\x0b\x00\xc8\x159\x031\xbe\x84\x14";

fn dump(c: &mut Raw, key: &str) -> Vec<u8> {
    match c.cmdv(&[b"DUMP", key.as_bytes()]) {
        R::Bulk(b) => b,
        other => panic!("DUMP {key}: {other:?}"),
    }
}

#[test]
fn dump_matches_valkey_bytes() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd("SET foo bar");
    assert_eq!(dump(&mut c, "foo"), VALKEY_BAR);
    c.cmd("SET n -100000");
    assert_eq!(dump(&mut c, "n"), VALKEY_INT_NEG);
    assert_eq!(c.cmd("DUMP nokey"), R::Nil);
    // payloads Valkey wrote restore here, compressed ones included
    assert_eq!(c.cmdv(&[b"RESTORE", b"a", b"0", VALKEY_LZF_48A]), R::ok());
    assert_eq!(c.cmd("GET a"), R::bulk(&"a".repeat(48)));
    assert_eq!(c.cmdv(&[b"RESTORE", b"b", b"0", VALKEY_BAR]), R::ok());
    assert_eq!(c.cmd("GET b"), R::bulk("bar"));
    assert_eq!(c.cmdv(&[b"RESTORE", b"i", b"0", VALKEY_INT_NEG]), R::ok());
    assert_eq!(c.cmd("GET i"), R::bulk("-100000"));
    assert_eq!(c.cmd("OBJECT ENCODING i"), R::bulk("int"));
}

#[test]
fn dump_restore_round_trips() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let binary: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    let values: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"0".to_vec(),
        b"2147483648".to_vec(),
        "z".repeat(1000).into_bytes(),
        binary,
    ];
    for v in &values {
        c.cmdv(&[b"SET", b"src", v]);
        let p = dump(&mut c, "src");
        c.cmd("DEL dst");
        assert_eq!(c.cmdv(&[b"RESTORE", b"dst", b"0", &p]), R::ok());
        assert_eq!(c.cmd("GET dst"), R::Bulk(v.clone()));
        assert_eq!(c.cmd("TTL dst"), R::Int(-1));
    }
    // with compression off the long value is stored verbatim and still restores
    c.cmd("CONFIG SET rdbcompression no");
    c.cmdv(&[b"SET", b"src", "z".repeat(1000).as_bytes()]);
    let p = dump(&mut c, "src");
    assert!(p.len() > 1000);
    assert_eq!(c.cmdv(&[b"RESTORE", b"dst", b"0", &p, b"REPLACE"]), R::ok());
    assert_eq!(c.cmd("GET dst"), R::bulk(&"z".repeat(1000)));
}

#[test]
fn restore_ttls_and_options() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let p = VALKEY_BAR;
    assert_eq!(c.cmdv(&[b"RESTORE", b"k", b"5000", p]), R::ok());
    let t = int(c.cmd("PTTL k"));
    assert!((3000..=5000).contains(&t), "{t}");
    assert_eq!(c.cmdv(&[b"RESTORE", b"k2", b"2569591501", p]), R::ok());
    let t = int(c.cmd("PTTL k2"));
    assert!((2569591501 - 3000..=2569591501).contains(&t), "{t}");
    let at = now_ms() + 3000;
    assert_eq!(
        c.cmdv(&[b"RESTORE", b"k3", at.to_string().as_bytes(), p, b"ABSTTL"]),
        R::ok()
    );
    assert_eq!(c.cmd("PEXPIRETIME k3"), R::Int(at));
    // an absolute time in the past: nothing is stored, REPLACE still deletes
    let past = (now_ms() - 3000).to_string();
    assert_eq!(
        c.cmdv(&[b"RESTORE", b"k3", past.as_bytes(), p, b"absttl", b"replace"]),
        R::ok()
    );
    assert_eq!(c.cmd("EXISTS k3"), R::Int(0));
    assert_eq!(
        c.cmdv(&[b"RESTORE", b"k4", past.as_bytes(), p, b"ABSTTL"]),
        R::ok()
    );
    assert_eq!(c.cmd("EXISTS k4"), R::Int(0));
    // BUSYKEY, and REPLACE
    c.cmd("SET foo bar1");
    assert_eq!(
        c.cmdv(&[b"RESTORE", b"foo", b"0", b"..."]),
        err("BUSYKEY Target key name already exists.")
    );
    assert_eq!(
        c.cmdv(&[b"RESTORE", b"foo", b"-1", b"..."]),
        err("BUSYKEY Target key name already exists.")
    );
    c.cmd("SET foo bar2");
    let p2 = dump(&mut c, "foo");
    c.cmd("SET foo bar1");
    assert_eq!(
        c.cmdv(&[b"RESTORE", b"foo", b"0", &p2, b"REPLACE"]),
        R::ok()
    );
    assert_eq!(c.cmd("GET foo"), R::bulk("bar2"));
    // REPLACE drops the old TTL
    c.cmd("EXPIRE foo 100");
    assert_eq!(
        c.cmdv(&[b"RESTORE", b"foo", b"0", &p2, b"REPLACE"]),
        R::ok()
    );
    assert_eq!(c.cmd("TTL foo"), R::Int(-1));
}

#[test]
fn restore_errors() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let p = VALKEY_BAR;
    let r = |c: &mut Raw, args: &[&[u8]]| {
        let mut v: Vec<&[u8]> = vec![b"RESTORE"];
        v.extend_from_slice(args);
        c.cmdv(&v)
    };
    assert_eq!(
        r(&mut c, &[b"k", b"0", b"...", b"invalid-option"]),
        err("ERR syntax error")
    );
    assert_eq!(
        r(&mut c, &[b"k", b"0", p, b"IDLETIME"]),
        err("ERR syntax error")
    );
    assert_eq!(
        r(&mut c, &[b"k", b"0", p, b"IDLETIME", b"1", b"FREQ", b"1"]),
        err("ERR syntax error")
    );
    assert_eq!(
        r(&mut c, &[b"k", b"0", p, b"FREQ", b"1", b"IDLETIME", b"1"]),
        err("ERR syntax error")
    );
    assert_eq!(
        r(&mut c, &[b"k", b"0", p, b"IDLETIME", b"-1"]),
        err("ERR Invalid IDLETIME value, must be >= 0")
    );
    assert_eq!(
        r(&mut c, &[b"k", b"0", p, b"IDLETIME", b"x"]),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(
        r(&mut c, &[b"k", b"0", p, b"FREQ", b"256"]),
        err("ERR Invalid FREQ value, must be >= 0 and <= 255")
    );
    assert_eq!(
        r(&mut c, &[b"k", b"-1", p]),
        err("ERR Invalid TTL value, must be >= 0")
    );
    assert_eq!(
        r(&mut c, &[b"k", b"x", p]),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(
        r(&mut c, &[b"k", b"0", b"..."]),
        err("ERR DUMP payload version or checksum are wrong")
    );
    let mut bad = p.to_vec();
    let n = bad.len();
    bad[n - 1] ^= 0xff;
    assert_eq!(
        r(&mut c, &[b"k", b"0", &bad]),
        err("ERR DUMP payload version or checksum are wrong")
    );
    // a newer RDB version is refused even with a right checksum
    let newer = b"\x00\x03bar\x0c\x00";
    let mut sealed = newer.to_vec();
    sealed.extend_from_slice(&crc64_jones(newer).to_le_bytes());
    assert_eq!(
        r(&mut c, &[b"k", b"0", &sealed]),
        err("ERR DUMP payload version or checksum are wrong")
    );
    // RDB 222 (a future Valkey) with a right checksum, from Valkey's own suite
    let future = b"\x00\x03\x62\x61\x72\xde\x00\x0fYUza\xd3\xec\xe0";
    assert_eq!(
        r(&mut c, &[b"k", b"0", future, b"REPLACE"]),
        err("ERR DUMP payload version or checksum are wrong")
    );
    // a sound footer around a body that is not a value
    let body = b"\x00\xc4\x0b\x00";
    let mut sealed = body.to_vec();
    sealed.extend_from_slice(&crc64_jones(body).to_le_bytes());
    assert_eq!(
        r(&mut c, &[b"k", b"0", &sealed]),
        err("ERR Bad data format")
    );
    assert_eq!(c.cmd("EXISTS k"), R::Int(0));
    assert_eq!(
        c.cmd("RESTORE k 0"),
        err("ERR wrong number of arguments for 'restore' command")
    );
}

/// Bit-at-a-time CRC-64/Jones, independent of the server's table-driven one.
fn crc64_jones(data: &[u8]) -> u64 {
    let mut crc = 0u64;
    for &b in data {
        crc ^= b as u64;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x95ac_9329_ac4b_c9b5
            } else {
                crc >> 1
            };
        }
    }
    crc
}

#[test]
fn restore_sets_lru_and_lfu() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("CONFIG SET maxmemory-policy allkeys-lru"), R::ok());
    assert_eq!(
        c.cmdv(&[b"RESTORE", b"foo", b"0", VALKEY_BAR, b"IDLETIME", b"1000"]),
        R::ok()
    );
    let idle = int(c.cmd("OBJECT IDLETIME foo"));
    assert!((1000..=1010).contains(&idle), "{idle}");
    assert_eq!(c.cmd("GET foo"), R::bulk("bar"));
    c.cmd("DEL foo");
    assert_eq!(c.cmd("CONFIG SET maxmemory-policy allkeys-lfu"), R::ok());
    assert_eq!(
        c.cmdv(&[b"RESTORE", b"foo", b"0", VALKEY_BAR, b"FREQ", b"100"]),
        R::ok()
    );
    assert_eq!(c.cmd("OBJECT FREQ foo"), R::Int(100));
    assert_eq!(c.cmd("GET foo"), R::bulk("bar"));
}

/// DUMP in a real valkey-server and RESTORE here, and the other way round. Skipped when
/// no valkey-server binary is installed.
#[test]
fn interoperates_with_valkey_server() {
    let Some(valkey) = Valkey::start() else {
        eprintln!("valkey-server not found: skipping");
        return;
    };
    let s = TestServer::start(&[]);
    let mut ours = s.raw();
    let mut theirs = Raw::connect(valkey.port);
    let noise: Vec<u8> = (0..3000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 11) as u8)
        .collect();
    let values: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"7".to_vec(),
        b"-32769".to_vec(),
        b"9223372036854775807".to_vec(),
        b"hello world".to_vec(),
        "abc".repeat(500).into_bytes(),
        noise,
    ];
    for (i, v) in values.iter().enumerate() {
        let key = format!("k{i}");
        transfer(&mut theirs, &mut ours, &key, v);
        transfer(&mut ours, &mut theirs, &key, v);
        // both sides agree on the payload whenever no compression is involved
        if v.len() <= 20 {
            let a = ours.cmdv(&[b"DUMP", key.as_bytes()]);
            let b = theirs.cmdv(&[b"DUMP", key.as_bytes()]);
            assert_eq!(a, b, "payload of value {i}");
        }
    }
}

/// SET on one server, DUMP there, RESTORE on the other and read it back.
fn transfer(from: &mut Raw, to: &mut Raw, key: &str, v: &[u8]) {
    assert_eq!(from.cmdv(&[b"SET", key.as_bytes(), v]), R::ok());
    let p = match from.cmdv(&[b"DUMP", key.as_bytes()]) {
        R::Bulk(b) => b,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        to.cmdv(&[b"RESTORE", key.as_bytes(), b"0", &p, b"REPLACE"]),
        R::ok()
    );
    assert_eq!(
        to.cmdv(&[b"GET", key.as_bytes()]),
        R::Bulk(v.to_vec()),
        "{key}"
    );
}

/// A throwaway valkey-server on a free port.
struct Valkey {
    port: u16,
    child: std::process::Child,
}

impl Valkey {
    fn start() -> Option<Valkey> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let child = std::process::Command::new("valkey-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        let v = Valkey { port, child };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(v);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Valkey {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
