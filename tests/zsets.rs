//! Sorted set family: replies, error texts and edge cases as Valkey 8.1 gives them.
mod common;
use common::*;

fn int(n: i64) -> R {
    R::Int(n)
}

fn err(s: &str) -> R {
    R::Err(s.into())
}

fn b(s: &str) -> R {
    R::bulk(s)
}

fn arr(items: &[&str]) -> R {
    R::Array(items.iter().map(|s| b(s)).collect())
}

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
const NOT_FLOAT: &str = "ERR value is not a valid float";
const SYNTAX: &str = "ERR syntax error";

fn server() -> (TestServer, Raw) {
    let s = TestServer::start(&[]);
    let c = s.raw();
    (s, c)
}

#[test]
fn zadd_options_and_errors() {
    let (_s, mut c) = server();
    assert_eq!(c.cmd("ZADD z 1 a 2 b 3 c"), int(3));
    assert_eq!(
        c.cmd("ZADD z NX XX 1 a"),
        err("ERR XX and NX options at the same time are not compatible")
    );
    let gtlt = err("ERR GT, LT, and/or NX options at the same time are not compatible");
    assert_eq!(c.cmd("ZADD z GT LT 1 a"), gtlt);
    assert_eq!(c.cmd("ZADD z GT NX 1 a"), gtlt);
    assert_eq!(
        c.cmd("ZADD z INCR 1 a 2 b"),
        err("ERR INCR option supports a single increment-element pair")
    );
    assert_eq!(c.cmd("ZADD z 1 a 2"), err(SYNTAX));
    assert_eq!(c.cmd("ZADD z abc a"), err(NOT_FLOAT));
    assert_eq!(c.cmd("ZADD z nan a"), err(NOT_FLOAT));
    assert_eq!(c.cmd("ZADD z CH 5 a 2 b 9 d"), int(2));
    assert_eq!(c.cmd("ZADD z GT CH 1 a 10 b"), int(1));
    assert_eq!(c.cmd("ZADD z LT CH 1 a 10 b"), int(1));
    assert_eq!(c.cmd("ZADD z INCR 2 a"), b("3"));
    assert_eq!(c.cmd("ZADD z XX INCR 2 nope"), R::Nil);
    assert_eq!(c.cmd("ZADD z NX INCR 2 a"), R::Nil);
    assert_eq!(c.cmd("ZADD z inf x"), int(1));
    assert_eq!(
        c.cmd("ZADD z INCR -inf x"),
        err("ERR resulting score is not a number (NaN)")
    );
    assert_eq!(
        c.cmd("ZINCRBY z -inf x"),
        err("ERR resulting score is not a number (NaN)")
    );
    assert_eq!(c.cmd("ZSCORE z x"), b("inf"));
    assert_eq!(c.cmd("ZINCRBY z 1.5 a"), b("4.5"));
    assert_eq!(c.cmd("ZINCRBY z abc a"), err(NOT_FLOAT));
    assert_eq!(c.cmd("ZINCRBY fresh 2 m"), b("2"));
    assert_eq!(
        c.cmd("ZRANGE z 0 -1 WITHSCORES"),
        arr(&["c", "3", "a", "4.5", "d", "9", "b", "10", "x", "inf"])
    );
    // XX on a missing key creates nothing
    assert_eq!(c.cmd("ZADD y XX 1 a"), int(0));
    assert_eq!(c.cmd("ZADD y XX INCR 1 a"), R::Nil);
    assert_eq!(c.cmd("EXISTS y"), int(0));
    c.cmd("SET s v");
    assert_eq!(c.cmd("ZADD s 1 a"), err(WRONGTYPE));
    // scores are checked before the type
    assert_eq!(c.cmd("ZADD s abc a"), err(NOT_FLOAT));
    assert_eq!(c.cmd("ZINCRBY s 1 a"), err(WRONGTYPE));
    assert_eq!(c.cmd("GET s"), b("v"));
    assert_eq!(c.cmd("TYPE z"), R::Simple("zset".into()));
}

#[test]
fn ordering_ties_break_on_member_bytes() {
    let (_s, mut c) = server();
    c.cmd("ZADD z 1 b 1 a 0 z -inf m 1 aa");
    assert_eq!(c.cmd("ZRANGE z 0 -1"), arr(&["m", "z", "a", "aa", "b"]));
    assert_eq!(c.cmd("ZRANK z aa"), int(3));
    assert_eq!(c.cmd("ZREVRANK z aa"), int(1));
    // the compact encoding reads -0 back as 0; the full one keeps the sign
    assert_eq!(c.cmd("ZADD z -0 neg"), int(1));
    assert_eq!(c.cmd("ZSCORE z neg"), b("0"));
    assert_eq!(c.cmd("ZINCRBY fresh -0 m"), b("-0"));
    assert_eq!(c.cmd("ZSCORE fresh m"), b("0"));
    c.cmd("CONFIG SET zset-max-listpack-entries 0");
    assert_eq!(c.cmd("ZADD big -0 neg"), int(1));
    assert_eq!(c.cmd("OBJECT ENCODING big"), b("skiplist"));
    assert_eq!(c.cmd("ZSCORE big neg"), b("-0"));
}

#[test]
fn reads() {
    let (_s, mut c) = server();
    c.cmd("ZADD z 1 a 2 b 3 c");
    c.cmd("SET s v");
    assert_eq!(c.cmd("ZCARD z"), int(3));
    assert_eq!(c.cmd("ZCARD nokey"), int(0));
    assert_eq!(c.cmd("ZCARD s"), err(WRONGTYPE));
    assert_eq!(c.cmd("ZSCORE z b"), b("2"));
    assert_eq!(c.cmd("ZSCORE z nope"), R::Nil);
    assert_eq!(
        c.cmd("ZMSCORE z a nope c"),
        R::Array(vec![b("1"), R::Nil, b("3")])
    );
    assert_eq!(c.cmd("ZMSCORE nokey a"), R::Array(vec![R::Nil]));
    assert_eq!(c.cmd("ZMSCORE s a"), err(WRONGTYPE));
    assert_eq!(c.cmd("ZRANK z b"), int(1));
    assert_eq!(c.cmd("ZRANK z b WITHSCORE"), R::Array(vec![int(1), b("2")]));
    assert_eq!(
        c.cmd("ZREVRANK z a WITHSCORE"),
        R::Array(vec![int(2), b("1")])
    );
    assert_eq!(c.cmd("ZRANK z nope"), R::Nil);
    assert_eq!(c.cmd("ZRANK z nope WITHSCORE"), R::NilArray);
    assert_eq!(c.cmd("ZRANK nokey a WITHSCORE"), R::NilArray);
    assert_eq!(c.cmd("ZRANK z a foo"), err(SYNTAX));
    assert_eq!(
        c.cmd("ZRANK z a withscore x"),
        err("ERR wrong number of arguments for 'zrank' command")
    );
    assert_eq!(c.cmd("ZCOUNT z -inf +inf"), int(3));
    assert_eq!(c.cmd("ZCOUNT z (1 3"), int(2));
    assert_eq!(c.cmd("ZCOUNT z (1 (1"), int(0));
    assert_eq!(c.cmd("ZCOUNT z a b"), err("ERR min or max is not a float"));
    assert_eq!(c.cmd("ZCOUNT nokey 0 1"), int(0));
    assert_eq!(c.cmd("ZLEXCOUNT z - +"), int(3));
    assert_eq!(c.cmd("ZLEXCOUNT z (a [c"), int(2));
    assert_eq!(
        c.cmd("ZLEXCOUNT z a b"),
        err("ERR min or max not valid string range item")
    );
}

#[test]
fn range_family() {
    let (_s, mut c) = server();
    c.cmd("ZADD z 1 a 2 b 3 c 4 d");
    assert_eq!(c.cmd("ZRANGE z 0 1"), arr(&["a", "b"]));
    assert_eq!(
        c.cmd("ZRANGE z -2 -1 WITHSCORES"),
        arr(&["c", "3", "d", "4"])
    );
    assert_eq!(c.cmd("ZRANGE z 5 10"), arr(&[]));
    assert_eq!(c.cmd("ZRANGE z 0 -1 REV"), arr(&["d", "c", "b", "a"]));
    assert_eq!(c.cmd("ZRANGE z (1 10 BYSCORE"), arr(&["b", "c", "d"]));
    assert_eq!(
        c.cmd("ZRANGE z 10 (2 BYSCORE REV WITHSCORES"),
        arr(&["d", "4", "c", "3"])
    );
    assert_eq!(c.cmd("ZRANGE z 0 10 BYSCORE LIMIT 1 2"), arr(&["b", "c"]));
    assert_eq!(c.cmd("ZRANGE z 0 10 BYSCORE LIMIT -1 2"), arr(&[]));
    assert_eq!(c.cmd("ZRANGE z 0 10 BYSCORE LIMIT 2 -5"), arr(&["c", "d"]));
    assert_eq!(
        c.cmd("ZRANGE z 0 -1 LIMIT 0 1"),
        err(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
        )
    );
    assert_eq!(
        c.cmd("ZRANGE z - + BYLEX WITHSCORES"),
        err("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
    );
    assert_eq!(c.cmd("ZRANGE z [b (d BYLEX"), arr(&["b", "c"]));
    assert_eq!(c.cmd("ZRANGE z + - BYLEX REV LIMIT 0 2"), arr(&["d", "c"]));
    assert_eq!(
        c.cmd("ZRANGE z x y BYLEX"),
        err("ERR min or max not valid string range item")
    );
    assert_eq!(
        c.cmd("ZRANGE z x y BYSCORE"),
        err("ERR min or max is not a float")
    );
    assert_eq!(c.cmd("ZRANGE z 0 -1 REV REV"), err(SYNTAX));
    assert_eq!(c.cmd("ZRANGE z 0 -1 BYSCORE BYLEX"), err(SYNTAX));
    assert_eq!(c.cmd("ZRANGE z 0 -1 LIMIT 1"), err(SYNTAX));
    assert_eq!(
        c.cmd("ZRANGE z a b"),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(c.cmd("ZRANGE nokey 0 -1"), arr(&[]));
    assert_eq!(
        c.cmd("ZRANGEBYSCORE z -inf +inf WITHSCORES"),
        arr(&["a", "1", "b", "2", "c", "3", "d", "4"])
    );
    assert_eq!(c.cmd("ZRANGEBYSCORE z -inf +inf REV"), err(SYNTAX));
    assert_eq!(
        c.cmd("ZREVRANGEBYSCORE z +inf -inf WITHSCORES LIMIT 1 1"),
        arr(&["c", "3"])
    );
    assert_eq!(c.cmd("ZRANGEBYLEX z - (c"), arr(&["a", "b"]));
    assert_eq!(c.cmd("ZREVRANGEBYLEX z + - LIMIT 0 1"), arr(&["d"]));
    assert_eq!(
        c.cmd("ZREVRANGE z 0 1 WITHSCORES"),
        arr(&["d", "4", "c", "3"])
    );
    assert_eq!(
        c.cmd("ZREVRANGE z 0 1 LIMIT 0 1"),
        err(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
        )
    );
    c.cmd("SET s v");
    assert_eq!(c.cmd("ZRANGE s 0 -1"), err(WRONGTYPE));
}

#[test]
fn rangestore() {
    let (_s, mut c) = server();
    c.cmd("ZADD z 1 a 2 b 3 c");
    assert_eq!(c.cmd("ZRANGESTORE d z 0 1"), int(2));
    assert_eq!(
        c.cmd("ZRANGE d 0 -1 WITHSCORES"),
        arr(&["a", "1", "b", "2"])
    );
    assert_eq!(c.cmd("ZRANGESTORE d z 0 10 BYSCORE LIMIT 2 1"), int(1));
    assert_eq!(c.cmd("ZRANGE d 0 -1"), arr(&["c"]));
    assert_eq!(c.cmd("ZRANGESTORE d z 0 -1 WITHSCORES"), err(SYNTAX));
    // an empty result deletes the destination
    assert_eq!(c.cmd("ZRANGESTORE d z 5 10"), int(0));
    assert_eq!(c.cmd("EXISTS d"), int(0));
    c.cmd("SET d v");
    assert_eq!(c.cmd("ZRANGESTORE d nokey 0 -1"), int(0));
    assert_eq!(c.cmd("EXISTS d"), int(0));
}

#[test]
fn removals_delete_emptied_keys() {
    let (_s, mut c) = server();
    c.cmd("ZADD z 1 a 2 b 3 c 4 d 5 e");
    assert_eq!(c.cmd("ZREM z a x b"), int(2));
    assert_eq!(c.cmd("ZREM z c d e"), int(3));
    assert_eq!(c.cmd("EXISTS z"), int(0));
    assert_eq!(c.cmd("ZREM nokey a"), int(0));
    c.cmd("ZADD z 1 a 2 b 3 c 4 d 5 e");
    assert_eq!(c.cmd("ZREMRANGEBYRANK z 0 1"), int(2));
    assert_eq!(c.cmd("ZREMRANGEBYRANK z 5 1"), int(0));
    assert_eq!(
        c.cmd("ZREMRANGEBYRANK z a 1"),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(c.cmd("ZREMRANGEBYSCORE z (3 4"), int(1));
    assert_eq!(
        c.cmd("ZREMRANGEBYSCORE z x 4"),
        err("ERR min or max is not a float")
    );
    assert_eq!(
        c.cmd("ZREMRANGEBYLEX z x +"),
        err("ERR min or max not valid string range item")
    );
    assert_eq!(c.cmd("ZREMRANGEBYLEX z - +"), int(2));
    assert_eq!(c.cmd("EXISTS z"), int(0));
    c.cmd("ZADD z 0 a 0 b 0 c 0 d");
    assert_eq!(c.cmd("ZREMRANGEBYLEX z [b (d"), int(2));
    assert_eq!(c.cmd("ZRANGE z 0 -1"), arr(&["a", "d"]));
}

#[test]
fn pops() {
    let (_s, mut c) = server();
    c.cmd("ZADD z 1 a 2 b 3 c 4 d 5 e");
    assert_eq!(c.cmd("ZPOPMIN z"), arr(&["a", "1"]));
    assert_eq!(c.cmd("ZPOPMAX z 2"), arr(&["e", "5", "d", "4"]));
    assert_eq!(c.cmd("ZPOPMIN z 0"), arr(&[]));
    let positive = err("ERR value is out of range, must be positive");
    assert_eq!(c.cmd("ZPOPMIN z -1"), positive);
    assert_eq!(c.cmd("ZPOPMIN z abc"), positive);
    assert_eq!(c.cmd("ZPOPMIN z 1 2"), err(SYNTAX));
    assert_eq!(c.cmd("ZPOPMAX z 100"), arr(&["c", "3", "b", "2"]));
    assert_eq!(c.cmd("EXISTS z"), int(0));
    assert_eq!(c.cmd("ZPOPMIN nokey"), arr(&[]));
    c.cmd("ZADD z 1 a 2 b 3 c");
    c.cmd("ZADD z2 1 x");
    let nested = |m: &str, s: &str| R::Array(vec![b(m), b(s)]);
    assert_eq!(
        c.cmd("ZMPOP 2 nokey z MIN"),
        R::Array(vec![b("z"), R::Array(vec![nested("a", "1")])])
    );
    assert_eq!(
        c.cmd("ZMPOP 2 nokey z MAX COUNT 10"),
        R::Array(vec![
            b("z"),
            R::Array(vec![nested("c", "3"), nested("b", "2")])
        ])
    );
    assert_eq!(c.cmd("ZMPOP 1 z MIN"), R::NilArray);
    assert_eq!(
        c.cmd("ZMPOP 2 z z2 MAX COUNT 0"),
        err("ERR count should be greater than 0")
    );
    assert_eq!(c.cmd("ZMPOP 2 z z2 MAX COUNT 1 COUNT 1"), err(SYNTAX));
    assert_eq!(c.cmd("ZMPOP 1 z2 foo"), err(SYNTAX));
    assert_eq!(c.cmd("ZMPOP 3 z2 MIN"), err(SYNTAX));
    assert_eq!(
        c.cmd("ZMPOP 0 z2 MIN"),
        err("ERR numkeys should be greater than 0")
    );
    assert_eq!(
        c.cmd("ZMPOP a z2 MIN"),
        err("ERR numkeys should be greater than 0")
    );
    c.cmd("SET s v");
    assert_eq!(c.cmd("ZMPOP 2 s z2 MIN"), err(WRONGTYPE));
    assert_eq!(c.cmd("ZPOPMIN s"), err(WRONGTYPE));
}

#[test]
fn resp3_shapes() {
    let (_s, mut c) = server();
    c.cmd("HELLO 3");
    c.cmd("ZADD z 1 a 2 b 3 c");
    let pair = |m: &str, s: &str| R::Array(vec![b(m), R::Double(s.into())]);
    assert_eq!(
        c.cmd("ZRANGE z 0 1 WITHSCORES"),
        R::Array(vec![pair("a", "1"), pair("b", "2")])
    );
    assert_eq!(c.cmd("ZSCORE z c"), R::Double("3".into()));
    assert_eq!(c.cmd("ZSCORE z q"), R::Nil);
    assert_eq!(
        c.cmd("ZRANK z c WITHSCORE"),
        R::Array(vec![int(2), R::Double("3".into())])
    );
    assert_eq!(c.cmd("ZUNION 1 z WITHSCORES").items().len(), 3);
    assert_eq!(
        c.cmd("ZPOPMIN z"),
        R::Array(vec![b("a"), R::Double("1".into())])
    );
    assert_eq!(c.cmd("ZPOPMIN z 1"), R::Array(vec![pair("b", "2")]));
    assert_eq!(
        c.cmd("ZRANDMEMBER z 1 WITHSCORES"),
        R::Array(vec![pair("c", "3")])
    );
    // ZSCAN scores stay bulk strings
    assert_eq!(c.cmd("ZSCAN z 0"), R::Array(vec![b("0"), arr(&["c", "3"])]));
    assert_eq!(c.cmd("ZINCRBY z 1 c"), R::Double("4".into()));
}

#[test]
fn set_operations() {
    let (_s, mut c) = server();
    c.cmd("ZADD a 1 x 2 y 3 z");
    c.cmd("ZADD b 10 y 20 z 30 w");
    assert_eq!(c.cmd("ZUNION 2 a b"), arr(&["x", "y", "z", "w"]));
    assert_eq!(
        c.cmd("ZUNION 2 a b WEIGHTS 2 3 WITHSCORES"),
        arr(&["x", "2", "y", "34", "z", "66", "w", "90"])
    );
    assert_eq!(
        c.cmd("ZUNION 2 a b AGGREGATE MIN WITHSCORES"),
        arr(&["x", "1", "y", "2", "z", "3", "w", "30"])
    );
    assert_eq!(
        c.cmd("ZINTER 2 a b AGGREGATE MAX WITHSCORES"),
        arr(&["y", "10", "z", "20"])
    );
    assert_eq!(c.cmd("ZINTER 2 a nokey"), arr(&[]));
    // inf * 0 counts as 0, not NaN
    assert_eq!(
        c.cmd("ZINTER 2 a b WEIGHTS 0 inf WITHSCORES"),
        arr(&["y", "inf", "z", "inf"])
    );
    assert_eq!(c.cmd("ZDIFF 2 a b WITHSCORES"), arr(&["x", "1"]));
    c.cmd("ZADD neg 1 m");
    assert_eq!(
        c.cmd("ZUNION 1 neg WEIGHTS -0 WITHSCORES"),
        arr(&["m", "-0"])
    );
    assert_eq!(c.cmd("ZUNIONSTORE nd 1 neg WEIGHTS -0"), int(1));
    assert_eq!(c.cmd("ZSCORE nd m"), b("0"));
    assert_eq!(c.cmd("ZDIFF 2 a b AGGREGATE SUM"), err(SYNTAX));
    assert_eq!(c.cmd("ZUNIONSTORE d 2 a b"), int(4));
    assert_eq!(
        c.cmd("ZRANGE d 0 -1 WITHSCORES"),
        arr(&["x", "1", "y", "12", "z", "23", "w", "30"])
    );
    assert_eq!(c.cmd("ZINTERSTORE d 2 a b AGGREGATE MAX"), int(2));
    assert_eq!(c.cmd("ZDIFFSTORE d 2 a a"), int(0));
    assert_eq!(c.cmd("EXISTS d"), int(0));
    assert_eq!(c.cmd("ZUNIONSTORE d 2 a b WITHSCORES"), err(SYNTAX));
    assert_eq!(
        c.cmd("ZUNIONSTORE d 0 a"),
        err("ERR at least 1 input key is needed for 'zunionstore' command")
    );
    assert_eq!(
        c.cmd("ZINTER 0 a"),
        err("ERR at least 1 input key is needed for 'zinter' command")
    );
    assert_eq!(c.cmd("ZUNIONSTORE d 3 a b"), err(SYNTAX));
    assert_eq!(
        c.cmd("ZUNION 2 a b WEIGHTS 1 x"),
        err("ERR weight value is not a float")
    );
    assert_eq!(c.cmd("ZUNION 2 a b AGGREGATE avg"), err(SYNTAX));
    c.cmd("SET s v");
    assert_eq!(c.cmd("ZUNION 2 a s"), err(WRONGTYPE));
    assert_eq!(c.cmd("ZINTERCARD 2 a b"), int(2));
    assert_eq!(c.cmd("ZINTERCARD 2 a b LIMIT 1"), int(1));
    assert_eq!(c.cmd("ZINTERCARD 2 a b LIMIT 0"), int(2));
    assert_eq!(
        c.cmd("ZINTERCARD 2 a b LIMIT -1"),
        err("ERR LIMIT can't be negative")
    );
    assert_eq!(c.cmd("ZINTERCARD 2 a b LIMIT"), err(SYNTAX));
    assert_eq!(c.cmd("ZINTERCARD 5 a"), err(SYNTAX));
    assert_eq!(c.cmd("ZINTERCARD 2 a s"), err(WRONGTYPE));
}

#[test]
fn scan_and_random() {
    let (_s, mut c) = server();
    c.cmd("ZADD a 1 x 2 y 3 z");
    assert_eq!(
        c.cmd("ZSCAN a 0"),
        R::Array(vec![b("0"), arr(&["x", "1", "y", "2", "z", "3"])])
    );
    assert_eq!(
        c.cmd("ZSCAN a 0 MATCH y* NOSCORES"),
        R::Array(vec![b("0"), arr(&["y"])])
    );
    assert_eq!(c.cmd("ZSCAN a 0 COUNT 0"), err(SYNTAX));
    assert_eq!(c.cmd("ZSCAN a abc"), err("ERR invalid cursor"));
    assert_eq!(c.cmd("ZSCAN nokey 0"), R::Array(vec![b("0"), arr(&[])]));
    assert_eq!(c.cmd("ZRANDMEMBER nokey"), R::Nil);
    assert_eq!(c.cmd("ZRANDMEMBER nokey 5"), arr(&[]));
    assert_eq!(c.cmd("ZRANDMEMBER a 0"), arr(&[]));
    assert_eq!(
        c.cmd("ZRANDMEMBER a 10 WITHSCORES"),
        arr(&["x", "1", "y", "2", "z", "3"])
    );
    assert_eq!(c.cmd("ZRANDMEMBER a 2").items().len(), 2);
    let rep = c.cmd("ZRANDMEMBER a -7").items();
    assert_eq!(rep.len(), 7);
    assert!(rep
        .iter()
        .all(|m| ["x", "y", "z"].contains(&m.text().as_str())));
    assert!(["x", "y", "z"].contains(&c.cmd("ZRANDMEMBER a").text().as_str()));
    assert_eq!(c.cmd("ZRANDMEMBER a 1 foo"), err(SYNTAX));
    assert_eq!(
        c.cmd("ZRANDMEMBER a -9223372036854775808"),
        err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    );
    assert_eq!(
        c.cmd("ZRANDMEMBER a -5000000000000000000 WITHSCORES"),
        err("ERR value is out of range")
    );
}

#[test]
fn encoding_follows_config() {
    let s = TestServer::start(&[
        "--zset-max-listpack-entries",
        "2",
        "--zset-max-listpack-value",
        "4",
    ]);
    let mut c = s.raw();
    c.cmd("ZADD z 1 a 2 b");
    assert_eq!(c.cmd("OBJECT ENCODING z"), b("listpack"));
    c.cmd("ZADD z 3 c");
    assert_eq!(c.cmd("OBJECT ENCODING z"), b("skiplist"));
    assert_eq!(c.cmd("ZRANGE z 0 -1"), arr(&["a", "b", "c"]));
    assert_eq!(c.cmd("ZRANK z c"), int(2));
    c.cmd("ZREM z c");
    // no conversion back on shrink
    assert_eq!(c.cmd("OBJECT ENCODING z"), b("skiplist"));
    // stored results pick the encoding they need
    assert_eq!(c.cmd("ZRANGESTORE d z 0 0"), int(1));
    assert_eq!(c.cmd("OBJECT ENCODING d"), b("listpack"));
    c.cmd("ZADD long 1 abcde");
    assert_eq!(c.cmd("OBJECT ENCODING long"), b("skiplist"));
    // a ZADD with more pairs than the limit starts in the full encoding
    c.cmd("ZADD nx NX 1 a 1 a 1 a");
    assert_eq!(c.cmd("OBJECT ENCODING nx"), b("skiplist"));
    assert_eq!(c.cmd("ZCARD nx"), int(1));
}

#[test]
fn dirty_counts() {
    let (_s, mut c) = server();
    let dirty = |c: &mut Raw| -> i64 {
        let info = c.cmd("INFO persistence").text();
        info.lines()
            .find_map(|l| l.strip_prefix("rdb_changes_since_last_save:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(-1)
    };
    let d0 = dirty(&mut c);
    if d0 < 0 {
        return; // this build's INFO has no persistence section yet
    }
    c.cmd("ZADD z 1 a 2 b 3 c");
    assert_eq!(dirty(&mut c), d0 + 3);
    c.cmd("ZADD z 1 a");
    assert_eq!(dirty(&mut c), d0 + 3);
    c.cmd("ZPOPMIN z 2");
    assert_eq!(dirty(&mut c), d0 + 5);
}

#[test]
fn plain_sets_count_with_score_one() {
    let (_s, mut c) = server();
    if c.cmd("SADD s 1 2 x").is_err() {
        return; // no set family in this build
    }
    c.cmd("ZADD z 1 x 5 y");
    assert_eq!(
        c.cmd("ZUNION 2 s z WITHSCORES"),
        arr(&["1", "1", "2", "1", "x", "2", "y", "5"])
    );
    assert_eq!(
        c.cmd("ZINTER 2 s z WEIGHTS 3 2 WITHSCORES"),
        arr(&["x", "5"])
    );
    assert_eq!(c.cmd("ZDIFF 2 s z"), arr(&["1", "2"]));
    assert_eq!(c.cmd("ZINTERCARD 2 s z"), int(1));
    assert_eq!(c.cmd("ZDIFFSTORE d 2 z s"), int(1));
    assert_eq!(c.cmd("ZRANGE d 0 -1 WITHSCORES"), arr(&["y", "5"]));
}

#[test]
fn score_parsing_follows_strtod() {
    let (_s, mut c) = server();
    // out of range scores are refused, hexadecimal ones accepted
    assert_eq!(c.cmd("ZADD z 1e400 a"), err(NOT_FLOAT));
    assert_eq!(c.cmd("ZADD z 1e-400 a"), err(NOT_FLOAT));
    assert_eq!(c.cmd("ZADD z 0x1p3 a 0X.8 b -0x10 c"), int(3));
    assert_eq!(c.cmd("ZADD z 0x a"), err(NOT_FLOAT));
    assert_eq!(c.cmd("ZADD z 1e a"), err(NOT_FLOAT));
    assert_eq!(
        c.cmd("ZADD z .5 e 5. f infinity g -Infinity i +5 j"),
        int(5)
    );
    assert_eq!(
        c.cmd("ZRANGE z 0 -1 WITHSCORES"),
        arr(&[
            "i", "-inf", "c", "-16", "b", "0.5", "e", "0.5", "f", "5", "j", "5", "a", "8", "g",
            "inf"
        ])
    );
    assert_eq!(c.cmd("ZINCRBY z 1e400 a"), err(NOT_FLOAT));
    assert_eq!(c.cmd("ZADD z \"\" abc"), err(NOT_FLOAT));
    // range bounds are plain strtod: overflow is infinity, hex works, "(" alone is 0
    assert_eq!(c.cmd("ZCOUNT z -1e400 +1e400"), int(8));
    assert_eq!(c.cmd("ZCOUNT z (0x1p3 +inf"), int(1));
    assert_eq!(c.cmd("ZCOUNT z ( 1"), int(2));
    assert_eq!(
        c.cmdv(&[b"ZCOUNT", b"z", b"1 ", b"10"]),
        err("ERR min or max is not a float")
    );
    assert_eq!(
        c.cmd("ZUNION 1 z WEIGHTS 1e400"),
        err("ERR weight value is not a float")
    );
}

#[test]
fn lex_ranges_check_both_ends_first() {
    let (_s, mut c) = server();
    c.cmd("ZADD z -inf b 1 c 2 d 2 e 3 f inf a");
    // the last member sorts below "[c", so Valkey answers empty before walking
    assert_eq!(c.cmd("ZRANGEBYLEX z [c [e"), arr(&[]));
    assert_eq!(c.cmd("ZLEXCOUNT z [c [e"), int(0));
    assert_eq!(c.cmd("ZREMRANGEBYLEX z [c [e"), int(0));
    c.cmd("ZADD m 0 a 0 b 1 c 0 d");
    assert_eq!(c.cmd("ZRANGEBYLEX m - +"), arr(&["a", "b", "d", "c"]));
    // the walk stops at the first member past the far bound, in score order
    assert_eq!(c.cmd("ZRANGEBYLEX m [b [d"), arr(&["b", "d", "c"]));
    assert_eq!(c.cmd("ZREVRANGEBYLEX m [d [b"), arr(&["c", "d", "b"]));
    assert_eq!(c.cmd("ZRANGEBYLEX m - ["), arr(&[]));
}
