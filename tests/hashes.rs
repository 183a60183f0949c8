//! Hash family: replies, error texts, encodings and edge cases as Valkey 8.1 gives them.
mod common;
use common::*;
use std::collections::{HashMap, HashSet};

fn int(n: i64) -> R {
    R::Int(n)
}

fn err(s: &str) -> R {
    R::Err(s.into())
}

fn bulks(items: &[&str]) -> R {
    R::Array(items.iter().map(|s| R::bulk(s)).collect())
}

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
const NOT_INT: &str = "ERR value is not an integer or out of range";
const NOT_FLOAT: &str = "ERR value is not a valid float";

fn texts(r: &R) -> Vec<String> {
    r.items().iter().map(|x| x.text()).collect()
}

#[test]
fn hset_hget_hmget_and_counts() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("HSET h a 1 b 2 c 3"), int(3));
    assert_eq!(c.cmd("HSET h a 10 d 4"), int(1));
    assert_eq!(c.cmd("HMSET h e 5"), R::ok());
    assert_eq!(c.cmd("HGET h a"), R::bulk("10"));
    assert_eq!(c.cmd("HGET h zz"), R::Nil);
    assert_eq!(c.cmd("HGET nokey a"), R::Nil);
    assert_eq!(
        c.cmd("HMGET h a zz e"),
        R::Array(vec![R::bulk("10"), R::Nil, R::bulk("5")])
    );
    assert_eq!(c.cmd("HMGET nokey a b"), R::Array(vec![R::Nil, R::Nil]));
    assert_eq!(c.cmd("HLEN h"), int(5));
    assert_eq!(c.cmd("HLEN nokey"), int(0));
    assert_eq!(c.cmd("HSTRLEN h a"), int(2));
    assert_eq!(c.cmd("HSTRLEN h zz"), int(0));
    assert_eq!(c.cmd("HEXISTS h a"), int(1));
    assert_eq!(c.cmd("HEXISTS h zz"), int(0));
    assert_eq!(c.cmd("HEXISTS nokey a"), int(0));
    assert_eq!(c.cmd("HSETNX h a 99"), int(0));
    assert_eq!(c.cmd("HGET h a"), R::bulk("10"));
    assert_eq!(c.cmd("HSETNX h f 6"), int(1));
    assert_eq!(c.cmd("HSETNX newkey f 6"), int(1));
    assert_eq!(c.cmd("HGET newkey f"), R::bulk("6"));
}

#[test]
fn wrong_number_of_arguments_names_the_command() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(
        c.cmd("HSET h a"),
        err("ERR wrong number of arguments for 'hset' command")
    );
    assert_eq!(
        c.cmd("HSET h a 1 b"),
        err("ERR wrong number of arguments for 'hset' command")
    );
    assert_eq!(
        c.cmd("HMSET h a 1 b"),
        err("ERR wrong number of arguments for 'hmset' command")
    );
    assert_eq!(
        c.cmd("HGET h"),
        err("ERR wrong number of arguments for 'hget' command")
    );
    assert_eq!(c.cmd("EXISTS h"), int(0));
}

#[test]
fn listpack_keeps_insertion_order() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd("HSET h z 1 a 2 m 3");
    c.cmd("HSET h a 20");
    assert_eq!(c.cmd("OBJECT ENCODING h"), R::bulk("listpack"));
    assert_eq!(c.cmd("HKEYS h"), bulks(&["z", "a", "m"]));
    assert_eq!(c.cmd("HVALS h"), bulks(&["1", "20", "3"]));
    assert_eq!(c.cmd("HGETALL h"), bulks(&["z", "1", "a", "20", "m", "3"]));
    assert_eq!(c.cmd("HGETALL nokey"), R::Array(vec![]));
    assert_eq!(c.cmd("HKEYS nokey"), R::Array(vec![]));
    assert_eq!(c.cmd("HVALS nokey"), R::Array(vec![]));
}

#[test]
fn hgetall_is_a_map_in_resp3() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd("HELLO 3");
    c.cmd("HSET h a 1 b 2");
    assert_eq!(
        c.cmd("HGETALL h"),
        R::Map(vec![
            (R::bulk("a"), R::bulk("1")),
            (R::bulk("b"), R::bulk("2"))
        ])
    );
    assert_eq!(c.cmd("HGETALL nokey"), R::Map(vec![]));
    assert_eq!(c.cmd("HKEYS h"), bulks(&["a", "b"]));
}

#[test]
fn encoding_converts_past_thresholds_and_never_back() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd("CONFIG SET hash-max-listpack-entries 4");
    c.cmd("CONFIG SET hash-max-listpack-value 8");
    c.cmd("HSET h a 1 b 2 c 3 d 4");
    assert_eq!(c.cmd("OBJECT ENCODING h"), R::bulk("listpack"));
    c.cmd("HSET h e 5");
    assert_eq!(c.cmd("OBJECT ENCODING h"), R::bulk("hashtable"));
    assert_eq!(c.cmd("HDEL h a b c d"), int(4));
    assert_eq!(c.cmd("OBJECT ENCODING h"), R::bulk("hashtable"));
    assert_eq!(c.cmd("HGETALL h"), bulks(&["e", "5"]));

    c.cmd("HSET long f 123456789");
    assert_eq!(c.cmd("OBJECT ENCODING long"), R::bulk("hashtable"));
    c.cmd("HSET longfield 123456789 v");
    assert_eq!(c.cmd("OBJECT ENCODING longfield"), R::bulk("hashtable"));
    // more pairs than the limit convert up front even when they repeat
    c.cmd("HSET dup a 1 a 2 a 3 a 4 a 5");
    assert_eq!(c.cmd("HLEN dup"), int(1));
    assert_eq!(c.cmd("HGET dup a"), R::bulk("5"));
    assert_eq!(c.cmd("OBJECT ENCODING dup"), R::bulk("hashtable"));
    // an increment producing a long value converts too
    c.cmd("HSET f x 1");
    c.cmd("HINCRBYFLOAT f x 0.0000001");
    assert_eq!(c.cmd("HGET f x"), R::bulk("1.0000001"));
    assert_eq!(c.cmd("OBJECT ENCODING f"), R::bulk("hashtable"));

    c.cmd("CONFIG SET hash-max-listpack-entries 0");
    c.cmd("HINCRBY zero a 1");
    assert_eq!(c.cmd("OBJECT ENCODING zero"), R::bulk("hashtable"));
}

#[test]
fn big_hash_round_trips() {
    let s = TestServer::start(&["--hash-max-listpack-entries", "128"]);
    let mut c = s.raw();
    for i in 0..300 {
        assert_eq!(c.cmd(&format!("HSET big f{i} v{i}")), int(1));
    }
    assert_eq!(c.cmd("OBJECT ENCODING big"), R::bulk("hashtable"));
    assert_eq!(c.cmd("HLEN big"), int(300));
    assert_eq!(c.cmd("HGET big f123"), R::bulk("v123"));
    let all = texts(&c.cmd("HGETALL big"));
    assert_eq!(all.len(), 600);
    let m: HashMap<_, _> = all
        .chunks(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect();
    assert_eq!(m.len(), 300);
    assert!(m.iter().all(|(f, v)| f[1..] == v[1..]));
    assert_eq!(texts(&c.cmd("HKEYS big")).len(), 300);
    for i in 0..300 {
        assert_eq!(c.cmd(&format!("HDEL big f{i}")), int(1));
    }
    assert_eq!(c.cmd("EXISTS big"), int(0));
}

#[test]
fn hdel_counts_and_removes_the_emptied_key() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd("HSET h a 1 b 2 c 3");
    assert_eq!(c.cmd("HDEL h a zz"), int(1));
    assert_eq!(c.cmd("HDEL h a"), int(0));
    assert_eq!(c.cmd("HDEL nokey a"), int(0));
    assert_eq!(c.cmd("HDEL h b c b zz"), int(2));
    assert_eq!(c.cmd("EXISTS h"), int(0));
    assert_eq!(c.cmd("TYPE h"), R::Simple("none".into()));
}

#[test]
fn wrong_type_everywhere() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd("SET s v");
    for cmd in [
        "HSET s a 1",
        "HMSET s a 1",
        "HSETNX s a 1",
        "HGET s a",
        "HMGET s a",
        "HDEL s a",
        "HLEN s",
        "HSTRLEN s a",
        "HEXISTS s a",
        "HKEYS s",
        "HVALS s",
        "HGETALL s",
        "HINCRBY s a 1",
        "HINCRBYFLOAT s a 1",
        "HRANDFIELD s",
        "HRANDFIELD s 2",
        "HSCAN s 0",
    ] {
        assert_eq!(c.cmd(cmd), err(WRONGTYPE), "{cmd}");
    }
    assert_eq!(c.cmd("GET s"), R::bulk("v"));
    assert_eq!(c.cmd("OBJECT ENCODING s"), R::bulk("embstr"));
    // argument errors come first where Valkey parses before the lookup
    assert_eq!(c.cmd("HINCRBY s a x"), err(NOT_INT));
    assert_eq!(c.cmd("HRANDFIELD s x"), err(NOT_INT));
    assert_eq!(c.cmd("HSCAN s x"), err("ERR invalid cursor"));
    // ...and after it where Valkey looks the key up first
    assert_eq!(c.cmd("HSCAN s 0 COUNT 0"), err(WRONGTYPE));
    c.cmd("HSET h a 1");
    assert_eq!(c.cmd("GET h"), err(WRONGTYPE));
}

#[test]
fn hincrby_semantics() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("HINCRBY h n 5"), int(5));
    assert_eq!(c.cmd("HINCRBY h n -7"), int(-2));
    assert_eq!(c.cmd("HINCRBY h n x"), err(NOT_INT));
    assert_eq!(c.cmd("HINCRBY h big 17179869184"), int(17179869184));
    c.cmd("HSET h s foo");
    assert_eq!(
        c.cmd("HINCRBY h s 1"),
        err("ERR hash value is not an integer")
    );
    c.cmdv(&[b"HSET", b"h", b"sp", b" 11"]);
    assert_eq!(
        c.cmd("HINCRBY h sp 1"),
        err("ERR hash value is not an integer")
    );
    c.cmdv(&[b"HSET", b"h", b"sp", b"11 "]);
    assert_eq!(
        c.cmd("HINCRBY h sp 1"),
        err("ERR hash value is not an integer")
    );
    c.cmd("HSET h max 9223372036854775807");
    assert_eq!(
        c.cmd("HINCRBY h max 1"),
        err("ERR increment or decrement would overflow")
    );
    c.cmd("HSET h min -9223372036854775808");
    assert_eq!(
        c.cmd("HINCRBY h min -1"),
        err("ERR increment or decrement would overflow")
    );
    assert_eq!(c.cmd("HGET h max"), R::bulk("9223372036854775807"));
}

#[test]
fn hincrbyfloat_semantics() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("HINCRBYFLOAT h f 10.5"), R::bulk("10.5"));
    assert_eq!(c.cmd("HINCRBYFLOAT h f 0.1"), R::bulk("10.6"));
    assert_eq!(c.cmd("HINCRBYFLOAT h f -10.6"), R::bulk("0"));
    assert_eq!(c.cmd("HINCRBYFLOAT h g 0.1"), R::bulk("0.1"));
    assert_eq!(c.cmd("HINCRBYFLOAT h g 0.2"), R::bulk("0.3"));
    assert_eq!(c.cmd("HINCRBYFLOAT h e 3.0e3"), R::bulk("3000"));
    assert_eq!(c.cmd("HINCRBYFLOAT h i 1"), R::bulk("1"));
    assert_eq!(c.cmd("HINCRBY h i 1"), int(2));
    assert_eq!(c.cmd("HINCRBYFLOAT h i 1.5"), R::bulk("3.5"));
    assert_eq!(c.cmd("HINCRBYFLOAT h f abc"), err(NOT_FLOAT));
    assert_eq!(c.cmd("HINCRBYFLOAT h f 1e5000"), err(NOT_FLOAT));
    assert_eq!(
        c.cmd("HINCRBYFLOAT h f inf"),
        err("ERR value is NaN or Infinity")
    );
    assert_eq!(
        c.cmd("HINCRBYFLOAT h f -inf"),
        err("ERR value is NaN or Infinity")
    );
    c.cmd("HSET h s foo");
    assert_eq!(
        c.cmd("HINCRBYFLOAT h s 1"),
        err("ERR hash value is not a float")
    );
    c.cmdv(&[b"HSET", b"h", b"sp", b" 11"]);
    assert_eq!(
        c.cmd("HINCRBYFLOAT h sp 1"),
        err("ERR hash value is not a float")
    );
    assert_eq!(c.cmdv(&[b"HSET", b"h", b"nul", b"1\x002"]), int(1));
    assert_eq!(
        c.cmd("HINCRBYFLOAT h nul 1"),
        err("ERR hash value is not a float")
    );
    c.cmd("HSET h inf inf");
    assert_eq!(
        c.cmd("HINCRBYFLOAT h inf 1"),
        err("ERR increment would produce NaN or Infinity")
    );
    c.cmd("HSET h huge 1.1e4932");
    assert_eq!(
        c.cmd("HINCRBYFLOAT h huge 1.1e4932"),
        err("ERR increment would produce NaN or Infinity")
    );
    assert_eq!(c.cmd("HGET h huge"), R::bulk("1.1e4932"));
}

#[test]
fn hrandfield_shapes_and_counts() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("HRANDFIELD nokey"), R::Nil);
    assert_eq!(c.cmd("HRANDFIELD nokey 3"), R::Array(vec![]));
    assert_eq!(c.cmd("HRANDFIELD nokey -3 WITHVALUES"), R::Array(vec![]));
    c.cmd("HSET h a 1 b 2 c 3");
    assert_eq!(c.cmd("HRANDFIELD h 0"), R::Array(vec![]));
    assert_eq!(c.cmd("HRANDFIELD h 0 WITHVALUES"), R::Array(vec![]));
    assert!(["a", "b", "c"].contains(&c.cmd("HRANDFIELD h").text().as_str()));
    assert_eq!(c.cmd("HRANDFIELD h 1 foo"), err("ERR syntax error"));
    assert_eq!(
        c.cmd("HRANDFIELD h 1 WITHVALUES x"),
        err("ERR syntax error")
    );
    assert_eq!(c.cmd("HRANDFIELD h x"), err(NOT_INT));
    assert_eq!(
        c.cmd("HRANDFIELD h -9223372036854775808"),
        err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    );
    assert_eq!(
        c.cmd("HRANDFIELD h -9223372036854770000 WITHVALUES"),
        err("ERR value is out of range")
    );

    // the whole hash, in stored order, when the count covers it
    assert_eq!(c.cmd("HRANDFIELD h 10"), bulks(&["a", "b", "c"]));
    assert_eq!(
        c.cmd("HRANDFIELD h 3 WITHVALUES"),
        bulks(&["a", "1", "b", "2", "c", "3"])
    );
    // distinct fields for a positive count
    for _ in 0..20 {
        let got: HashSet<String> = texts(&c.cmd("HRANDFIELD h 2")).into_iter().collect();
        assert_eq!(got.len(), 2);
        let pairs = texts(&c.cmd("HRANDFIELD h 2 WITHVALUES"));
        assert_eq!(pairs.len(), 4);
        assert_ne!(pairs[0], pairs[2]);
        for p in pairs.chunks(2) {
            assert_eq!(c.cmd(&format!("HGET h {}", p[0])).text(), p[1]);
        }
    }
    // repeats allowed for a negative count, and every field shows up
    let many = texts(&c.cmd("HRANDFIELD h -100"));
    assert_eq!(many.len(), 100);
    let seen: HashSet<_> = many.into_iter().collect();
    assert_eq!(seen.len(), 3);
    assert_eq!(texts(&c.cmd("HRANDFIELD h -5 WITHVALUES")).len(), 10);
    // a large negative count streams its reply without sizing anything by the count
    assert_eq!(c.cmd("HRANDFIELD h -200000").items().len(), 200000);
    // one that could only exhaust memory is refused at once
    assert_eq!(
        c.cmd("HRANDFIELD h -9223372036854775807"),
        err("ERR HRANDFIELD reply too large")
    );

    c.cmd("HELLO 3");
    let r = c.cmd("HRANDFIELD h -4 WITHVALUES");
    let items = r.items();
    assert_eq!(items.len(), 4);
    for p in &items {
        assert_eq!(p.items().len(), 2);
    }
    assert_eq!(
        c.cmd("HRANDFIELD h 5 WITHVALUES"),
        R::Array(vec![
            bulks(&["a", "1"]),
            bulks(&["b", "2"]),
            bulks(&["c", "3"]),
        ])
    );
    assert_eq!(c.cmd("HRANDFIELD h 2").items().len(), 2);
}

#[test]
fn hrandfield_on_a_big_hash_is_distinct() {
    let s = TestServer::start(&["--hash-max-listpack-entries", "128"]);
    let mut c = s.raw();
    for i in 0..200 {
        c.cmd(&format!("HSET big f{i} {i}"));
    }
    assert_eq!(c.cmd("OBJECT ENCODING big"), R::bulk("hashtable"));
    // both sampling strategies: most of the hash, and a small part of it
    for n in [150, 20, 199] {
        let got = texts(&c.cmd(&format!("HRANDFIELD big {n} WITHVALUES")));
        assert_eq!(got.len(), 2 * n);
        let fields: HashSet<_> = got.chunks(2).map(|p| p[0].clone()).collect();
        assert_eq!(fields.len(), n);
        assert!(got.chunks(2).all(|p| p[0][1..] == p[1]));
    }
    assert_eq!(texts(&c.cmd("HRANDFIELD big -500")).len(), 500);
    assert_eq!(texts(&c.cmd("HRANDFIELD big 1000")).len(), 200);
}

#[test]
fn hscan_small_and_big() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(
        c.cmd("HSCAN nokey 0"),
        R::Array(vec![R::bulk("0"), R::Array(vec![])])
    );
    // options are not even parsed when the key is missing
    assert_eq!(
        c.cmd("HSCAN nokey 0 COUNT 0"),
        R::Array(vec![R::bulk("0"), R::Array(vec![])])
    );
    c.cmd("HSET h a 1 b 2 ab 3");
    assert_eq!(
        c.cmd("HSCAN h 0"),
        R::Array(vec![R::bulk("0"), bulks(&["a", "1", "b", "2", "ab", "3"])])
    );
    assert_eq!(
        c.cmd("HSCAN h 0 MATCH a* NOVALUES"),
        R::Array(vec![R::bulk("0"), bulks(&["a", "ab"])])
    );
    assert_eq!(c.cmd("HSCAN h 0 COUNT 0"), err("ERR syntax error"));
    assert_eq!(c.cmd("HSCAN h 0 COUNT x"), err(NOT_INT));
    assert_eq!(c.cmd("HSCAN h 0 foo"), err("ERR syntax error"));
    assert_eq!(c.cmd("HSCAN h 0 MATCH"), err("ERR syntax error"));
    assert_eq!(
        c.cmd("HSCAN h 0 NOSCORES"),
        err("ERR NOSCORES option can only be used in ZSCAN")
    );
    assert_eq!(c.cmd("HSCAN h abc"), err("ERR invalid cursor"));
    assert_eq!(c.cmd("HSCAN h -1"), err("ERR invalid cursor"));

    for i in 0..1000 {
        c.cmd(&format!("HSET big f{i} v{i}"));
    }
    for (opts, values) in [("COUNT 7", true), ("COUNT 100 NOVALUES", false)] {
        let mut cursor = "0".to_string();
        let mut seen = HashMap::new();
        let mut calls = 0;
        loop {
            let r = c.cmd(&format!("HSCAN big {cursor} {opts}"));
            let parts = r.items();
            cursor = parts[0].text();
            let items = texts(&parts[1]);
            if values {
                for p in items.chunks(2) {
                    assert_eq!(p[0][1..], p[1][1..]);
                    seen.insert(p[0].clone(), ());
                }
            } else {
                assert!(items.iter().all(|f| f.starts_with('f')));
                seen.extend(items.into_iter().map(|f| (f, ())));
            }
            calls += 1;
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(seen.len(), 1000);
        assert!(calls > 1);
    }
    let r = c.cmd("HSCAN big 0 MATCH f99* COUNT 10000");
    let mut got = texts(&r.items()[1]);
    got.sort();
    assert_eq!(
        got,
        [
            "f99", "f990", "f991", "f992", "f993", "f994", "f995", "f996", "f997", "f998", "f999",
            "v99", "v990", "v991", "v992", "v993", "v994", "v995", "v996", "v997", "v998", "v999"
        ]
    );
}

#[test]
fn writes_count_as_dirty() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let dirty = |c: &mut Raw| -> i64 {
        let info = c.cmd("INFO persistence").text();
        info.lines()
            .find_map(|l| l.strip_prefix("rdb_changes_since_last_save:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(-1)
    };
    let d0 = dirty(&mut c);
    c.cmd("HSET h a 1 b 2");
    c.cmd("HSET h a 1");
    assert_eq!(dirty(&mut c) - d0, 3);
    c.cmd("HSETNX h a 1");
    assert_eq!(dirty(&mut c) - d0, 3);
    c.cmd("HINCRBY h n 1");
    c.cmd("HINCRBYFLOAT h n 1");
    assert_eq!(dirty(&mut c) - d0, 5);
    c.cmd("HDEL h a zz b");
    assert_eq!(dirty(&mut c) - d0, 7);
    c.cmd("HGETALL h");
    assert_eq!(dirty(&mut c) - d0, 7);
}

#[test]
fn command_table_entries() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let info = c.cmd("COMMAND INFO hset hrandfield hscan");
    let items = info.items();
    assert_eq!(items.len(), 3);
    let hset = items[0].items();
    assert_eq!(hset[0], R::bulk("hset"));
    assert_eq!(hset[1], int(-4));
    let flags = texts(&hset[2]);
    assert_eq!(flags, ["write", "denyoom", "fast"]);
    let cats = texts(&hset[6]);
    assert!(cats.contains(&"@hash".to_string()));
    assert_eq!(items[1].items()[1], int(-2));
    assert_eq!(items[2].items()[1], int(-3));
}
