//! List family: replies, error texts, encodings and change counts as Valkey 8.1 gives them.
mod common;
use common::*;

fn int(n: i64) -> R {
    R::Int(n)
}

fn err(s: &str) -> R {
    R::Err(s.into())
}

fn bulks(items: &[&str]) -> R {
    R::Array(items.iter().map(|s| R::bulk(s)).collect())
}

fn ints(items: &[i64]) -> R {
    R::Array(items.iter().map(|&n| R::Int(n)).collect())
}

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
const NOT_INT: &str = "ERR value is not an integer or out of range";
const POSITIVE: &str = "ERR value is out of range, must be positive";

#[test]
fn push_pop_and_length() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("RPUSH l a b c"), int(3));
    assert_eq!(c.cmd("LPUSH l x y"), int(5));
    assert_eq!(c.cmd("LRANGE l 0 -1"), bulks(&["y", "x", "a", "b", "c"]));
    assert_eq!(c.cmd("LLEN l"), int(5));
    assert_eq!(c.cmd("LLEN nokey"), int(0));
    assert_eq!(c.cmd("LPOP l"), R::bulk("y"));
    assert_eq!(c.cmd("RPOP l"), R::bulk("c"));
    assert_eq!(c.cmd("LPOP l 2"), bulks(&["x", "a"]));
    assert_eq!(c.cmd("RPOP l 0"), R::Array(vec![]));
    assert_eq!(c.cmd("RPOP l 10"), bulks(&["b"]));
    assert_eq!(c.cmd("EXISTS l"), int(0));
    assert_eq!(c.cmd("LPOP l"), R::Nil);
    assert_eq!(c.cmd("LPOP l 0"), R::NilArray);
    assert_eq!(c.cmd("RPOP l 3"), R::NilArray);
    assert_eq!(c.cmd("LPOP l -1"), err(POSITIVE));
    assert_eq!(c.cmd("LPOP l abc"), err(POSITIVE));
    assert_eq!(
        c.cmd("LPOP l 1 2"),
        err("ERR wrong number of arguments for 'lpop' command")
    );
    assert_eq!(c.cmdv(&[b"RPUSH", b"e", b""]), int(1));
    assert_eq!(c.cmd("RPOP e"), R::bulk(""));
}

#[test]
fn pushx_only_touches_existing_lists() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("LPUSHX l a"), int(0));
    assert_eq!(c.cmd("RPUSHX l a"), int(0));
    assert_eq!(c.cmd("EXISTS l"), int(0));
    assert_eq!(c.cmd("RPUSH l m"), int(1));
    assert_eq!(c.cmd("LPUSHX l b a"), int(3));
    assert_eq!(c.cmd("RPUSHX l y z"), int(5));
    assert_eq!(c.cmd("LRANGE l 0 -1"), bulks(&["a", "b", "m", "y", "z"]));
}

#[test]
fn wrong_type_everywhere() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("SET s v"), R::ok());
    assert_eq!(c.cmd("RPUSH l a"), int(1));
    for cmd in [
        "LPUSH s a",
        "RPUSH s a",
        "LPUSHX s a",
        "RPUSHX s a",
        "LPOP s",
        "RPOP s 0",
        "LLEN s",
        "LRANGE s 0 -1",
        "LINDEX s 0",
        "LSET s 0 x",
        "LINSERT s BEFORE a b",
        "LREM s 0 a",
        "LTRIM s 0 1",
        "LPOS s a",
        "LMOVE s l LEFT LEFT",
        "LMOVE l s LEFT LEFT",
        "RPOPLPUSH s l",
        "RPOPLPUSH l s",
        "LMPOP 2 nokey s LEFT",
    ] {
        assert_eq!(c.cmd(cmd), err(WRONGTYPE), "{cmd}");
    }
    // nothing moved, and the string kept its encoding
    assert_eq!(c.cmd("LRANGE l 0 -1"), bulks(&["a"]));
    assert_eq!(c.cmd("OBJECT ENCODING s"), R::bulk("embstr"));
}

#[test]
fn lrange_and_lindex_ranges() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("RPUSH l 0 1 2 3 4 5 6 7 8 9"), int(10));
    assert_eq!(
        c.cmd("LRANGE l 1 -2"),
        bulks(&["1", "2", "3", "4", "5", "6", "7", "8"])
    );
    assert_eq!(c.cmd("LRANGE l -3 -1"), bulks(&["7", "8", "9"]));
    assert_eq!(c.cmd("LRANGE l -100 1"), bulks(&["0", "1"]));
    assert_eq!(c.cmd("LRANGE l 8 100"), bulks(&["8", "9"]));
    assert_eq!(c.cmd("LRANGE l 5 4"), R::Array(vec![]));
    assert_eq!(c.cmd("LRANGE l 10 20"), R::Array(vec![]));
    assert_eq!(c.cmd("LRANGE l -20 -15"), R::Array(vec![]));
    assert_eq!(c.cmd("LRANGE nokey 0 -1"), R::Array(vec![]));
    assert_eq!(c.cmd("LRANGE l a 1"), err(NOT_INT));
    assert_eq!(c.cmd("LINDEX l 0"), R::bulk("0"));
    assert_eq!(c.cmd("LINDEX l -1"), R::bulk("9"));
    assert_eq!(c.cmd("LINDEX l 10"), R::Nil);
    assert_eq!(c.cmd("LINDEX l -11"), R::Nil);
    assert_eq!(c.cmd("LINDEX l -9223372036854775808"), R::Nil);
    assert_eq!(c.cmd("LINDEX nokey 0"), R::Nil);
    assert_eq!(c.cmd("LINDEX l x"), err(NOT_INT));
}

#[test]
fn lset_and_linsert() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("LSET nokey 0 x"), err("ERR no such key"));
    assert_eq!(c.cmd("RPUSH l a b c"), int(3));
    assert_eq!(c.cmd("LSET l 1 B"), R::ok());
    assert_eq!(c.cmd("LSET l -1 C"), R::ok());
    assert_eq!(c.cmd("LSET l 3 x"), err("ERR index out of range"));
    assert_eq!(c.cmd("LSET l -4 x"), err("ERR index out of range"));
    assert_eq!(c.cmd("LSET l x x"), err(NOT_INT));
    assert_eq!(c.cmd("LRANGE l 0 -1"), bulks(&["a", "B", "C"]));
    assert_eq!(c.cmd("LINSERT l BEFORE a z"), int(4));
    assert_eq!(c.cmd("LINSERT l after C end"), int(5));
    assert_eq!(c.cmd("LINSERT l AFTER a mid"), int(6));
    assert_eq!(c.cmd("LINSERT l BEFORE nothere x"), int(-1));
    assert_eq!(c.cmd("LINSERT nokey BEFORE a x"), int(0));
    assert_eq!(c.cmd("LINSERT l middle a x"), err("ERR syntax error"));
    assert_eq!(
        c.cmd("LRANGE l 0 -1"),
        bulks(&["z", "a", "mid", "B", "C", "end"])
    );
}

#[test]
fn lrem_and_ltrim() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("RPUSH l x a x b x c x"), int(7));
    assert_eq!(c.cmd("LREM l 2 x"), int(2));
    assert_eq!(c.cmd("LRANGE l 0 -1"), bulks(&["a", "b", "x", "c", "x"]));
    assert_eq!(c.cmd("LREM l -1 x"), int(1));
    assert_eq!(c.cmd("LRANGE l 0 -1"), bulks(&["a", "b", "x", "c"]));
    assert_eq!(c.cmd("LREM l 0 nothere"), int(0));
    assert_eq!(c.cmd("LREM nokey 0 x"), int(0));
    assert_eq!(c.cmd("LREM l x x"), err(NOT_INT));
    assert_eq!(c.cmd("LTRIM l 1 -2"), R::ok());
    assert_eq!(c.cmd("LRANGE l 0 -1"), bulks(&["b", "x"]));
    assert_eq!(c.cmd("LTRIM l 0 100"), R::ok());
    assert_eq!(c.cmd("LRANGE l 0 -1"), bulks(&["b", "x"]));
    assert_eq!(c.cmd("LTRIM l x 1"), err(NOT_INT));
    assert_eq!(c.cmd("LTRIM nokey 0 1"), R::ok());
    assert_eq!(c.cmd("LTRIM l 5 1"), R::ok());
    assert_eq!(c.cmd("EXISTS l"), int(0));
    assert_eq!(c.cmd("RPUSH l a a"), int(2));
    assert_eq!(c.cmd("LREM l 0 a"), int(2));
    assert_eq!(c.cmd("EXISTS l"), int(0));
}

#[test]
fn lpos_options() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("RPUSH l a b c 1 2 3 c c"), int(8));
    assert_eq!(c.cmd("LPOS l c"), int(2));
    assert_eq!(c.cmd("LPOS l c RANK 2"), int(6));
    assert_eq!(c.cmd("LPOS l c RANK -1"), int(7));
    assert_eq!(c.cmd("LPOS l c RANK -3"), int(2));
    assert_eq!(c.cmd("LPOS l c RANK 4"), R::Nil);
    assert_eq!(c.cmd("LPOS l c COUNT 0"), ints(&[2, 6, 7]));
    assert_eq!(c.cmd("LPOS l c COUNT 2"), ints(&[2, 6]));
    assert_eq!(c.cmd("LPOS l c COUNT 2 RANK -1"), ints(&[7, 6]));
    assert_eq!(c.cmd("LPOS l c COUNT 0 MAXLEN 7"), ints(&[2, 6]));
    assert_eq!(c.cmd("LPOS l c RANK -1 MAXLEN 1 COUNT 0"), ints(&[7]));
    assert_eq!(c.cmd("LPOS l a MAXLEN 1"), int(0));
    assert_eq!(c.cmd("LPOS l b MAXLEN 1"), R::Nil);
    assert_eq!(c.cmd("LPOS l x COUNT 5"), R::Array(vec![]));
    assert_eq!(c.cmd("LPOS nokey x"), R::Nil);
    assert_eq!(c.cmd("LPOS nokey x COUNT 1"), R::Array(vec![]));
    assert_eq!(
        c.cmd("LPOS l c RANK 0"),
        err("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")
    );
    assert_eq!(
        c.cmd("LPOS l c RANK -9223372036854775808"),
        err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    );
    assert_eq!(c.cmd("LPOS l c RANK x"), err(NOT_INT));
    assert_eq!(
        c.cmd("LPOS l c COUNT -1"),
        err("ERR COUNT can't be negative")
    );
    assert_eq!(
        c.cmd("LPOS l c COUNT x"),
        err("ERR COUNT can't be negative")
    );
    assert_eq!(
        c.cmd("LPOS l c MAXLEN -1"),
        err("ERR MAXLEN can't be negative")
    );
    assert_eq!(c.cmd("LPOS l c COUNT"), err("ERR syntax error"));
    assert_eq!(c.cmd("LPOS l c FOO 1"), err("ERR syntax error"));
}

#[test]
fn lmove_and_rpoplpush() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("RPUSH src a b c"), int(3));
    assert_eq!(c.cmd("LMOVE src dst LEFT RIGHT"), R::bulk("a"));
    assert_eq!(c.cmd("LMOVE src dst RIGHT LEFT"), R::bulk("c"));
    assert_eq!(c.cmd("LRANGE dst 0 -1"), bulks(&["c", "a"]));
    assert_eq!(c.cmd("RPOPLPUSH src dst"), R::bulk("b"));
    assert_eq!(c.cmd("EXISTS src"), int(0));
    assert_eq!(c.cmd("LRANGE dst 0 -1"), bulks(&["b", "c", "a"]));
    assert_eq!(c.cmd("LMOVE nokey dst LEFT LEFT"), R::Nil);
    assert_eq!(c.cmd("RPOPLPUSH nokey dst"), R::Nil);
    assert_eq!(c.cmd("LMOVE dst dst LEFT RIGHT"), R::bulk("b"));
    assert_eq!(c.cmd("LRANGE dst 0 -1"), bulks(&["c", "a", "b"]));
    assert_eq!(
        c.cmd("LMOVE dst dst LEFT SIDEWAYS"),
        err("ERR syntax error")
    );
    // rotating a one-element list keeps the key and its TTL
    assert_eq!(c.cmd("RPUSH one x"), int(1));
    assert_eq!(c.cmd("EXPIRE one 100"), int(1));
    assert_eq!(c.cmd("RPOPLPUSH one one"), R::bulk("x"));
    assert_eq!(c.cmd("LRANGE one 0 -1"), bulks(&["x"]));
    assert!(matches!(c.cmd("TTL one"), R::Int(t) if t > 0));
}

#[test]
fn lmpop_pops_from_the_first_non_empty_list() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("RPUSH b 1 2 3"), int(3));
    assert_eq!(
        c.cmd("LMPOP 2 a b LEFT"),
        R::Array(vec![R::bulk("b"), bulks(&["1"])])
    );
    assert_eq!(
        c.cmd("LMPOP 2 a b RIGHT COUNT 10"),
        R::Array(vec![R::bulk("b"), bulks(&["3", "2"])])
    );
    assert_eq!(c.cmd("EXISTS b"), int(0));
    assert_eq!(c.cmd("LMPOP 2 a b LEFT"), R::NilArray);
    assert_eq!(
        c.cmd("COMMAND GETKEYS LMPOP 2 a b LEFT"),
        bulks(&["a", "b"])
    );
    let numkeys = err("ERR numkeys should be greater than 0");
    assert_eq!(c.cmd("LMPOP 0 a LEFT"), numkeys);
    assert_eq!(c.cmd("LMPOP x a LEFT"), numkeys);
    assert_eq!(c.cmd("LMPOP 2 a LEFT"), err("ERR syntax error"));
    assert_eq!(
        c.cmd("LMPOP 9223372036854775807 a LEFT"),
        err("ERR syntax error")
    );
    assert_eq!(c.cmd("LMPOP 1 a UP"), err("ERR syntax error"));
    assert_eq!(c.cmd("LMPOP 1 a LEFT COUNT"), err("ERR syntax error"));
    assert_eq!(
        c.cmd("LMPOP 1 a LEFT COUNT 1 COUNT 1"),
        err("ERR syntax error")
    );
    let count = err("ERR count should be greater than 0");
    assert_eq!(c.cmd("LMPOP 1 a LEFT COUNT 0"), count);
    assert_eq!(c.cmd("LMPOP 1 a LEFT COUNT x"), count);
}

#[test]
fn resp3_null_array_for_missing_keys() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert!(!c.cmd("HELLO 3").is_err());
    assert_eq!(c.cmd("LPOP nokey 1"), R::Nil);
    assert_eq!(c.cmd("LMPOP 1 nokey LEFT"), R::Nil);
}

fn encoding(c: &mut Raw, key: &str) -> String {
    c.cmd(&format!("OBJECT ENCODING {key}")).text()
}

#[test]
fn encoding_follows_element_count_limit() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("CONFIG SET list-max-listpack-size 4"), R::ok());
    assert_eq!(c.cmd("RPUSH l a b c d"), int(4));
    assert_eq!(encoding(&mut c, "l"), "listpack");
    assert_eq!(c.cmd("RPUSH l e"), int(5));
    assert_eq!(encoding(&mut c, "l"), "quicklist");
    // back only once it fits in half a node
    assert_eq!(c.cmd("RPOP l 2"), bulks(&["e", "d"]));
    assert_eq!(encoding(&mut c, "l"), "quicklist");
    assert_eq!(c.cmd("RPOP l"), R::bulk("c"));
    assert_eq!(encoding(&mut c, "l"), "listpack");
    // a new list past the limit starts out as a quicklist
    assert_eq!(c.cmd("RPUSH m 1 2 3 4 5"), int(5));
    assert_eq!(encoding(&mut c, "m"), "quicklist");
    assert_eq!(c.cmd("LRANGE m 0 -1"), bulks(&["1", "2", "3", "4", "5"]));
}

#[test]
fn quicklist_converts_back_only_from_a_single_node() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("CONFIG SET list-max-listpack-size 2"), R::ok());
    for (i, e) in ["a", "b", "c", "d", "e", "f"].iter().enumerate() {
        assert_eq!(c.cmd(&format!("RPUSH l {e}")), int(i as i64 + 1));
    }
    assert_eq!(encoding(&mut c, "l"), "quicklist");
    // two elements left, but in two nodes
    assert_eq!(c.cmd("LREM l 0 b"), int(1));
    assert_eq!(c.cmd("LTRIM l 0 1"), R::ok());
    assert_eq!(c.cmd("LRANGE l 0 -1"), bulks(&["a", "c"]));
    assert_eq!(encoding(&mut c, "l"), "quicklist");
    assert_eq!(c.cmd("LPOP l"), R::bulk("a"));
    assert_eq!(encoding(&mut c, "l"), "listpack");
}

#[test]
fn encoding_follows_byte_size_limit() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let big = "x".repeat(8192);
    assert_eq!(c.cmdv(&[b"RPUSH", b"l", b"a"]), int(1));
    assert_eq!(encoding(&mut c, "l"), "listpack");
    assert_eq!(c.cmdv(&[b"RPUSH", b"l", big.as_bytes()]), int(2));
    assert_eq!(encoding(&mut c, "l"), "quicklist");
    assert_eq!(c.cmd("RPOP l"), R::Bulk(big.clone().into_bytes()));
    assert_eq!(encoding(&mut c, "l"), "listpack");
    // LSET and LINSERT grow the encoding as well; LSET shrinks it back
    assert_eq!(c.cmdv(&[b"LSET", b"l", b"0", big.as_bytes()]), R::ok());
    assert_eq!(encoding(&mut c, "l"), "quicklist");
    assert_eq!(c.cmd("LSET l 0 small"), R::ok());
    assert_eq!(encoding(&mut c, "l"), "listpack");
    assert_eq!(
        c.cmdv(&[b"LINSERT", b"l", b"BEFORE", b"nothere", big.as_bytes()]),
        int(-1)
    );
    assert_eq!(encoding(&mut c, "l"), "quicklist");
    // the smallest size class
    assert_eq!(c.cmd("CONFIG SET list-max-listpack-size -1"), R::ok());
    let mid = "y".repeat(5000);
    assert_eq!(c.cmdv(&[b"RPUSH", b"m", mid.as_bytes()]), int(1));
    assert_eq!(encoding(&mut c, "m"), "quicklist");
    assert_eq!(c.cmdv(&[b"LPUSH", b"n", &mid.as_bytes()[..4000]]), int(1));
    assert_eq!(encoding(&mut c, "n"), "listpack");
}

/// `rdb_changes_since_last_save`: Valkey's count of keyspace changes (server.dirty).
fn dirty(c: &mut Raw) -> i64 {
    let info = c.cmd("INFO persistence").text();
    info.lines()
        .find_map(|l| l.strip_prefix("rdb_changes_since_last_save:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no rdb_changes_since_last_save in {info}"))
}

#[test]
fn changes_are_counted_like_valkey() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    // (command, changes Valkey 8 counts for it)
    let steps: &[(&str, i64)] = &[
        ("RPUSH a 1 2 3", 3),
        ("LPUSHX nokey 1", 0),
        ("LMOVE a b LEFT LEFT", 1),
        ("LTRIM a 0 0", 1),
        ("LTRIM a 0 -1", 0),
        ("RPUSH a 1 2 3 4", 4),
        ("LREM a 0 2", 2),
        ("LREM a 0 nothere", 0),
        ("LSET a 0 z", 1),
        ("LINSERT a BEFORE z y", 1),
        ("LINSERT a BEFORE nothere y", 0),
        ("LPOP a 2", 2),
        ("RPOP a 0", 0),
        ("LMPOP 1 a RIGHT COUNT 5", 2),
        ("RPOPLPUSH b b", 1),
        ("LPOP nokey", 0),
    ];
    for (cmd, want) in steps {
        let before = dirty(&mut c);
        let r = c.cmd(cmd);
        assert!(!r.is_err(), "{cmd}: {r:?}");
        assert_eq!(dirty(&mut c) - before, *want, "{cmd}");
    }
}
