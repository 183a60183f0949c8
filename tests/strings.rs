//! String family: replies, error texts and edge cases as Valkey 8.1 gives them.
mod common;
use common::*;

fn int(n: i64) -> R {
    R::Int(n)
}

fn err(s: &str) -> R {
    R::Err(s.into())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
const NOT_INT: &str = "ERR value is not an integer or out of range";
const NOT_FLOAT: &str = "ERR value is not a valid float";

/// Makes `key` hold a value of another type, with whichever collection command this
/// build has. False if none is available yet.
fn make_non_string(c: &mut Raw, key: &str) -> bool {
    c.cmd(&format!("DEL {key}"));
    for cmd in ["RPUSH", "SADD"] {
        if !c.cmd(&format!("{cmd} {key} x")).is_err() {
            return true;
        }
    }
    false
}

/// Asserts a PTTL within `lo..=hi` milliseconds, give or take the few milliseconds by
/// which the server's clock and this process's may differ.
#[track_caller]
fn assert_pttl(c: &mut Raw, key: &str, lo: i64, hi: i64) {
    let hi = hi + 50;
    match c.cmd(&format!("PTTL {key}")) {
        R::Int(t) => assert!((lo..=hi).contains(&t), "pttl {t} not in {lo}..={hi}"),
        other => panic!("PTTL gave {other:?}"),
    }
}

#[test]
fn set_and_get() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("SET x foobar"), R::ok());
    assert_eq!(c.cmd("GET x"), R::bulk("foobar"));
    assert_eq!(c.cmdv(&[b"SET", b"x", b""]), R::ok());
    assert_eq!(c.cmd("GET x"), R::bulk(""));
    let big = vec![b'a'; 1 << 20];
    assert_eq!(c.cmdv(&[b"SET", b"big", &big]), R::ok());
    assert_eq!(c.cmd("GET big"), R::Bulk(big));
    assert_eq!(c.cmd("GET nokey"), R::Nil);
    assert_eq!(
        c.cmd("SET foo bar non-existing-option"),
        err("ERR syntax error")
    );
}

#[test]
fn set_conditions_and_get_option() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("SET foo 1 NX"), R::ok());
    assert_eq!(c.cmd("SET foo 2 NX"), R::Nil);
    assert_eq!(c.cmd("GET foo"), R::bulk("1"));
    assert_eq!(c.cmd("SET bar 1 XX"), R::Nil);
    assert_eq!(c.cmd("EXISTS bar"), int(0));
    assert_eq!(c.cmd("SET foo 2 XX"), R::ok());
    assert_eq!(c.cmd("GET foo"), R::bulk("2"));
    // options may repeat; only conflicting ones are refused
    assert_eq!(c.cmd("SET foo 3 xx XX get GET"), R::bulk("2"));
    assert_eq!(c.cmd("SET foo 3 NX XX"), err("ERR syntax error"));
    assert_eq!(c.cmd("SET foo 3 XX NX"), err("ERR syntax error"));

    assert_eq!(c.cmd("DEL foo"), int(1));
    assert_eq!(c.cmd("SET foo bar GET"), R::Nil);
    assert_eq!(c.cmd("SET foo bar2 GET"), R::bulk("bar"));
    assert_eq!(c.cmd("GET foo"), R::bulk("bar2"));
    assert_eq!(c.cmd("SET foo baz GET XX"), R::bulk("bar2"));
    assert_eq!(c.cmd("SET nofoo baz GET XX"), R::Nil);
    assert_eq!(c.cmd("EXISTS nofoo"), int(0));
    assert_eq!(c.cmd("SET foo qux GET NX"), R::bulk("baz"));
    assert_eq!(c.cmd("GET foo"), R::bulk("baz"));
    assert_eq!(c.cmd("SET nofoo qux GET NX"), R::Nil);
    assert_eq!(c.cmd("GET nofoo"), R::bulk("qux"));
}

#[test]
fn set_ifeq() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd("SET foo initial_value");
    assert_eq!(c.cmd("SET foo new_value IFEQ initial_value"), R::ok());
    assert_eq!(c.cmd("GET foo"), R::bulk("new_value"));
    assert_eq!(c.cmd("SET foo should_not_set ifeq wrong_value"), R::Nil);
    assert_eq!(c.cmd("GET foo"), R::bulk("new_value"));
    // with GET the old value is the reply whether or not the comparison held
    assert_eq!(c.cmd("SET foo other IFEQ wrong GET"), R::bulk("new_value"));
    assert_eq!(
        c.cmd("SET foo other IFEQ new_value GET"),
        R::bulk("new_value")
    );
    assert_eq!(c.cmd("GET foo"), R::bulk("other"));
    // a missing key never matches
    assert_eq!(c.cmd("SET nokey v IFEQ v"), R::Nil);
    assert_eq!(c.cmd("SET nokey v IFEQ v GET"), R::Nil);
    assert_eq!(c.cmd("EXISTS nokey"), int(0));
    // the comparison is binary safe and keeps the expiry rules of plain SET
    assert_eq!(c.cmdv(&[b"SET", b"bin", b"a\0b"]), R::ok());
    assert_eq!(
        c.cmdv(&[b"SET", b"bin", b"c", b"IFEQ", b"a\0b", b"PX", b"100000"]),
        R::ok()
    );
    assert_pttl(&mut c, "bin", 90_000, 100_000);
    for bad in [
        "SET foo v IFEQ a XX",
        "SET foo v IFEQ a NX",
        "SET foo v NX IFEQ a",
        "SET foo v XX IFEQ a",
        "SET foo v IFEQ",
    ] {
        assert_eq!(c.cmd(bad), err("ERR syntax error"), "{bad}");
    }
}

#[test]
fn set_expiry_options() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("SET foo bar EX 100"), R::ok());
    assert_pttl(&mut c, "foo", 90_000, 100_000);
    assert_eq!(c.cmd("SET foo bar PX 100000"), R::ok());
    assert_pttl(&mut c, "foo", 90_000, 100_000);
    let at = now_ms() + 100_000;
    assert_eq!(c.cmd(&format!("SET foo bar PXAT {at}")), R::ok());
    assert_pttl(&mut c, "foo", 90_000, 100_000);
    assert_eq!(c.cmd(&format!("SET foo bar EXAT {}", at / 1000)), R::ok());
    assert_pttl(&mut c, "foo", 89_000, 100_000);
    // the last of a repeated expiry wins
    assert_eq!(c.cmd("SET foo bar EX 1 EX 200"), R::ok());
    assert_pttl(&mut c, "foo", 190_000, 200_000);
    // KEEPTTL keeps it, a plain SET drops it
    assert_eq!(c.cmd("SET foo baz KEEPTTL"), R::ok());
    assert_pttl(&mut c, "foo", 190_000, 200_000);
    assert_eq!(c.cmd("SET foo baz XX PX 50000"), R::ok());
    assert_pttl(&mut c, "foo", 40_000, 50_000);
    assert_eq!(c.cmd("SET foo baz"), R::ok());
    assert_eq!(c.cmd("PTTL foo"), int(-1));
    assert_eq!(c.cmd("SET nokey v KEEPTTL"), R::ok());
    assert_eq!(c.cmd("PTTL nokey"), int(-1));

    for bad in [
        "SET foo v EX 10 PX 10",
        "SET foo v PX 10 EXAT 10",
        "SET foo v EXAT 10 PXAT 10",
        "SET foo v KEEPTTL EX 10",
        "SET foo v PXAT 10 KEEPTTL",
        "SET foo v EX",
        "SET foo v PERSIST",
        // the whole line is parsed before any value is checked
        "SET foo v EX notanumber bogus",
    ] {
        assert_eq!(c.cmd(bad), err("ERR syntax error"), "{bad}");
    }
    assert_eq!(c.cmd("SET foo v EX notanumber"), err(NOT_INT));
    assert_eq!(c.cmd("SET foo v EX 1.5"), err(NOT_INT));
    for bad in [
        "SET foo v EX 0",
        "SET foo v PX -1",
        "SET foo v EXAT 0",
        "SET foo v EX 9223372036854775",
        "SET foo v PX 9223372036854775807",
    ] {
        assert_eq!(
            c.cmd(bad),
            err("ERR invalid expire time in 'set' command"),
            "{bad}"
        );
    }
    assert_eq!(c.cmd("GET foo"), R::bulk("baz"));
}

#[test]
fn set_with_expiry_in_the_past_removes_the_key() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let past = now_ms() - 10_000;
    c.cmd("SET foo bar");
    assert_eq!(c.cmd(&format!("SET foo bar2 PXAT {past}")), R::ok());
    assert_eq!(c.cmd("EXISTS foo"), int(0));
    assert_eq!(c.cmd(&format!("SET foo bar EXAT {}", past / 1000)), R::ok());
    assert_eq!(c.cmd("EXISTS foo"), int(0));
    c.cmd("SET foo old");
    assert_eq!(
        c.cmd(&format!("SET foo new PXAT {past} GET")),
        R::bulk("old")
    );
    assert_eq!(c.cmd("EXISTS foo"), int(0));
    // the conditions still apply first
    c.cmd("SET foo old");
    assert_eq!(c.cmd(&format!("SET foo new PXAT {past} NX")), R::Nil);
    assert_eq!(c.cmd("GET foo"), R::bulk("old"));
    assert_eq!(c.cmd("DBSIZE"), int(1));
}

#[test]
fn setnx_setex_psetex_getset() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("SETNX novar foobared"), int(1));
    assert_eq!(c.cmd("SETNX novar blabla"), int(0));
    assert_eq!(c.cmd("GET novar"), R::bulk("foobared"));

    assert_eq!(c.cmd("SETEX k 100 v"), R::ok());
    assert_eq!(c.cmd("GET k"), R::bulk("v"));
    assert_pttl(&mut c, "k", 90_000, 100_000);
    assert_eq!(c.cmd("PSETEX k 50000 w"), R::ok());
    assert_eq!(c.cmd("GET k"), R::bulk("w"));
    assert_pttl(&mut c, "k", 40_000, 50_000);
    assert_eq!(
        c.cmd("SETEX k 0 v"),
        err("ERR invalid expire time in 'setex' command")
    );
    assert_eq!(
        c.cmd("PSETEX k -5 v"),
        err("ERR invalid expire time in 'psetex' command")
    );
    assert_eq!(c.cmd("SETEX k abc v"), err(NOT_INT));
    assert_eq!(
        c.cmd("SETEX k 10"),
        err("ERR wrong number of arguments for 'setex' command")
    );

    assert_eq!(c.cmd("GETSET nokey xyz"), R::Nil);
    assert_eq!(c.cmd("GET nokey"), R::bulk("xyz"));
    assert_eq!(c.cmd("GETSET k xyz"), R::bulk("w"));
    assert_eq!(c.cmd("GET k"), R::bulk("xyz"));
    assert_eq!(c.cmd("PTTL k"), int(-1), "GETSET drops the expiry");
}

#[test]
fn getdel_and_getex() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd("SET foo bar");
    assert_eq!(c.cmd("GETDEL foo"), R::bulk("bar"));
    assert_eq!(c.cmd("GETDEL foo"), R::Nil);
    assert_eq!(c.cmd("EXISTS foo"), int(0));

    c.cmd("SET foo bar");
    assert_eq!(c.cmd("GETEX foo"), R::bulk("bar"));
    assert_eq!(c.cmd("PTTL foo"), int(-1));
    assert_eq!(c.cmd("GETEX foo EX 100"), R::bulk("bar"));
    assert_pttl(&mut c, "foo", 90_000, 100_000);
    assert_eq!(c.cmd("GETEX foo"), R::bulk("bar"));
    assert_pttl(&mut c, "foo", 90_000, 100_000);
    assert_eq!(c.cmd("GETEX foo PX 50000"), R::bulk("bar"));
    assert_pttl(&mut c, "foo", 40_000, 50_000);
    let at = now_ms() + 100_000;
    assert_eq!(c.cmd(&format!("GETEX foo PXAT {at}")), R::bulk("bar"));
    assert_pttl(&mut c, "foo", 90_000, 100_000);
    assert_eq!(
        c.cmd(&format!("GETEX foo EXAT {}", at / 1000 + 100)),
        R::bulk("bar")
    );
    assert_pttl(&mut c, "foo", 180_000, 200_000);
    assert_eq!(c.cmd("GETEX foo PERSIST PERSIST"), R::bulk("bar"));
    assert_eq!(c.cmd("PTTL foo"), int(-1));
    assert_eq!(c.cmd("GETEX foo PERSIST"), R::bulk("bar"));
    // an absolute time in the past deletes the key after replying
    assert_eq!(
        c.cmd(&format!("GETEX foo PXAT {}", now_ms() - 1000)),
        R::bulk("bar")
    );
    assert_eq!(c.cmd("EXISTS foo"), int(0));

    for bad in [
        "GETEX foo non-existent-option",
        "GETEX foo EX 10 PX 10",
        "GETEX foo PERSIST EX 10",
        "GETEX foo EX 10 PERSIST",
        "GETEX foo KEEPTTL",
        "GETEX foo NX",
        "GETEX foo EX",
    ] {
        assert_eq!(c.cmd(bad), err("ERR syntax error"), "{bad}");
    }
    // the expiry value is only looked at for an existing string
    assert_eq!(c.cmd("GETEX missing EX abc"), R::Nil);
    assert_eq!(c.cmd("GETEX missing EX 0"), R::Nil);
    c.cmd("SET foo bar");
    assert_eq!(c.cmd("GETEX foo EX abc"), err(NOT_INT));
    assert_eq!(
        c.cmd("GETEX foo EX 0"),
        err("ERR invalid expire time in 'getex' command")
    );
    assert_eq!(
        c.cmd("GETEX"),
        err("ERR wrong number of arguments for 'getex' command")
    );
    assert_eq!(c.cmd("PTTL foo"), int(-1));
}

#[test]
fn mget_mset_msetnx() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd("SET foo BAR");
    c.cmd("SET bar FOO");
    assert_eq!(
        c.cmd("MGET foo bar"),
        R::Array(vec![R::bulk("BAR"), R::bulk("FOO")])
    );
    assert_eq!(
        c.cmd("MGET foo baazz bar"),
        R::Array(vec![R::bulk("BAR"), R::Nil, R::bulk("FOO")])
    );
    if make_non_string(&mut c, "myset") {
        assert_eq!(
            c.cmd("MGET foo myset"),
            R::Array(vec![R::bulk("BAR"), R::Nil])
        );
    }

    assert_eq!(
        c.cmdv(&[b"MSET", b"x", b"10", b"y", b"foo bar", b"z", b"x x\n\n\r\n"]),
        R::ok()
    );
    assert_eq!(
        c.cmd("MGET x y z"),
        R::Array(vec![
            R::bulk("10"),
            R::bulk("foo bar"),
            R::bulk("x x\n\n\r\n")
        ])
    );
    assert_eq!(
        c.cmd("MSET x 10 y"),
        err("ERR wrong number of arguments for 'mset' command")
    );
    assert_eq!(
        c.cmd("MSETNX x 10 y"),
        err("ERR wrong number of arguments for 'msetnx' command")
    );
    assert_eq!(
        c.cmd("MSET x"),
        err("ERR wrong number of arguments for 'mset' command")
    );
    c.cmd("SET x x EX 100");
    assert_eq!(c.cmd("MSET x xxx x yyy"), R::ok());
    assert_eq!(c.cmd("GET x"), R::bulk("yyy"));
    assert_eq!(c.cmd("PTTL x"), int(-1), "MSET drops the expiry");

    assert_eq!(c.cmd("MSETNX x1 xxx y2 yyy x 20"), int(0));
    assert_eq!(c.cmd("EXISTS x1 y2"), int(0));
    assert_eq!(c.cmd("MSETNX x1 xxx y2 yyy"), int(1));
    assert_eq!(
        c.cmd("MGET x1 y2"),
        R::Array(vec![R::bulk("xxx"), R::bulk("yyy")])
    );
    assert_eq!(c.cmd("DEL x1"), int(1));
    assert_eq!(c.cmd("MSETNX x1 xxx x1 yyy"), int(1));
    assert_eq!(c.cmd("GET x1"), R::bulk("yyy"));
    assert_eq!(c.cmd("MSETNX x1 xxx x1 zzz"), int(0));
    assert_eq!(c.cmd("GET x1"), R::bulk("yyy"));
}

#[test]
fn append_strlen_getrange() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("APPEND foo hello"), int(5));
    assert_eq!(c.cmd("APPEND foo world"), int(10));
    assert_eq!(c.cmd("GET foo"), R::bulk("helloworld"));
    assert_eq!(c.cmdv(&[b"APPEND", b"empty", b""]), int(0));
    assert_eq!(c.cmd("EXISTS empty"), int(1));
    c.cmd("SET n 1 EX 100");
    assert_eq!(c.cmd("APPEND n 2"), int(2));
    assert_eq!(c.cmd("GET n"), R::bulk("12"));
    assert_pttl(&mut c, "n", 90_000, 100_000);
    assert_eq!(
        c.cmd("INCR n"),
        int(13),
        "an appended string is still a number"
    );

    assert_eq!(c.cmd("STRLEN notakey"), int(0));
    c.cmd("SET myinteger -555");
    assert_eq!(c.cmd("STRLEN myinteger"), int(4));
    c.cmd("SET mystring foozzz0123456789");
    assert_eq!(c.cmd("STRLEN mystring"), int(16));

    assert_eq!(c.cmd("GETRANGE nokey 0 -1"), R::bulk(""));
    c.cmd("SET mykey Hello_World");
    for (range, want) in [
        ("0 3", "Hell"),
        ("0 -1", "Hello_World"),
        ("-4 -1", "orld"),
        ("5 3", ""),
        ("5 5000", "_World"),
        ("-5000 10000", "Hello_World"),
        ("0 4294967297", "Hello_World"),
        ("-1 -3", ""),
        ("-9223372036854775808 9223372036854775807", "Hello_World"),
    ] {
        assert_eq!(
            c.cmd(&format!("GETRANGE mykey {range}")),
            R::bulk(want),
            "{range}"
        );
    }
    c.cmd("SET mykey 1234");
    assert_eq!(c.cmd("GETRANGE mykey -3 -1"), R::bulk("234"));
    assert_eq!(c.cmd("GETRANGE mykey 3 5000"), R::bulk("4"));
    assert_eq!(c.cmd("GETRANGE mykey a 1"), err(NOT_INT));
    assert_eq!(c.cmd("GETRANGE nokey 0 b"), err(NOT_INT));
    c.cmd("SET key abcde");
    assert_eq!(c.cmd("SUBSTR key 0 0"), R::bulk("a"));
    assert_eq!(c.cmd("SUBSTR key -4 -1"), R::bulk("bcde"));
    assert_eq!(c.cmd("SUBSTR key 7 8"), R::bulk(""));
    assert_eq!(c.cmd("SUBSTR nokey 0 1"), R::bulk(""));
}

#[test]
fn setrange() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("SETRANGE mykey 0 foo"), int(3));
    assert_eq!(c.cmd("GET mykey"), R::bulk("foo"));
    assert_eq!(c.cmdv(&[b"SETRANGE", b"nokey", b"0", b""]), int(0));
    assert_eq!(
        c.cmdv(&[b"SETRANGE", b"nokey", b"99999999999", b""]),
        int(0)
    );
    assert_eq!(c.cmd("EXISTS nokey"), int(0));
    assert_eq!(c.cmd("SETRANGE padded 1 foo"), int(4));
    assert_eq!(c.cmd("GET padded"), R::Bulk(b"\0foo".to_vec()));

    c.cmd("SET mykey foo");
    assert_eq!(c.cmd("SETRANGE mykey 0 b"), int(3));
    assert_eq!(c.cmd("GET mykey"), R::bulk("boo"));
    assert_eq!(c.cmdv(&[b"SETRANGE", b"mykey", b"0", b""]), int(3));
    assert_eq!(c.cmd("SETRANGE mykey 1 b"), int(3));
    assert_eq!(c.cmd("GET mykey"), R::bulk("bbo"));
    assert_eq!(c.cmd("SETRANGE mykey 4 bar"), int(7));
    assert_eq!(c.cmd("GET mykey"), R::Bulk(b"bbo\0bar".to_vec()));
    c.cmd("SET num 1234 EX 100");
    assert_eq!(c.cmd("SETRANGE num 5 2"), int(6));
    assert_eq!(c.cmd("GET num"), R::Bulk(b"1234\x002".to_vec()));
    assert_pttl(&mut c, "num", 90_000, 100_000);

    assert_eq!(
        c.cmd("SETRANGE mykey -1 world"),
        err("ERR offset is out of range")
    );
    assert_eq!(c.cmd("SETRANGE mykey abc world"), err(NOT_INT));
    let too_big = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
    assert_eq!(c.cmd("SETRANGE mykey 536870908 world"), err(too_big));
    assert_eq!(c.cmd("SETRANGE newkey 536870908 world"), err(too_big));
    assert_eq!(c.cmd("SETRANGE newkey 9223372036854775807 A"), err(too_big));
    assert_eq!(c.cmd("EXISTS newkey"), int(0));
    assert_eq!(c.cmd("GET mykey"), R::Bulk(b"bbo\0bar".to_vec()));
}

#[test]
fn growth_is_capped_by_proto_max_bulk_len() {
    let s = TestServer::start(&["--proto-max-bulk-len", "1mb"]);
    let mut c = s.raw();
    let too_big = err("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    assert_eq!(c.cmd("SETRANGE k 1048575 a"), int(1048576));
    assert_eq!(c.cmd("SETRANGE k 1048575 ab"), too_big);
    assert_eq!(c.cmd("APPEND k x"), too_big);
    assert_eq!(c.cmd("STRLEN k"), int(1048576));
    c.cmd("SET small abc");
    assert_eq!(c.cmd("SETRANGE small 1048574 xy"), int(1048576));
    assert_eq!(c.cmd("APPEND small z"), too_big);
}

#[test]
fn incr_decr() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("INCR novar"), int(1));
    assert_eq!(c.cmd("GET novar"), R::bulk("1"));
    assert_eq!(c.cmd("INCR novar"), int(2));
    assert_eq!(c.cmd("DECR novar"), int(1));
    assert_eq!(c.cmd("DECR other"), int(-1));
    assert_eq!(c.cmd("INCR other"), int(0));
    c.cmd("SET novar 17179869184");
    assert_eq!(c.cmd("INCR novar"), int(17179869185));
    assert_eq!(c.cmd("INCRBY novar 17179869184"), int(34359738369));
    c.cmd("SET novar 17179869184");
    assert_eq!(c.cmd("DECRBY novar 17179869185"), int(-1));
    assert_eq!(c.cmd("DECRBY missing 1"), int(-1));
    assert_eq!(c.cmd("INCRBY missing -5"), int(-6));

    for bad in [
        "    11",
        "11    ",
        " 11 ",
        "011",
        "+1",
        "-0",
        "1.5",
        "",
        "abc",
        "99999999999999999999",
    ] {
        c.cmdv(&[b"SET", b"novar", bad.as_bytes()]);
        assert_eq!(c.cmd("INCR novar"), err(NOT_INT), "{bad:?}");
    }
    c.cmd("SET novar 9223372036854775807");
    assert_eq!(
        c.cmd("INCR novar"),
        err("ERR increment or decrement would overflow")
    );
    c.cmd("SET novar -9223372036854775808");
    assert_eq!(
        c.cmd("DECR novar"),
        err("ERR increment or decrement would overflow")
    );
    assert_eq!(
        c.cmd("INCRBY novar -1"),
        err("ERR increment or decrement would overflow")
    );
    assert_eq!(c.cmd("GET novar"), R::bulk("-9223372036854775808"));
    c.cmd("SET x 0");
    assert_eq!(
        c.cmd("DECRBY x -9223372036854775808"),
        err("ERR decrement would overflow")
    );
    assert_eq!(
        c.cmd("DECRBY x -9223372036854775807"),
        int(9223372036854775807)
    );

    assert_eq!(
        c.cmd("INCR k v"),
        err("ERR wrong number of arguments for 'incr' command")
    );
    assert_eq!(
        c.cmd("DECR k v"),
        err("ERR wrong number of arguments for 'decr' command")
    );
    assert_eq!(c.cmd("INCRBY k v"), err(NOT_INT));
    assert_eq!(c.cmd("INCRBY k 1.5"), err(NOT_INT));
    assert_eq!(c.cmd("DECRBY k v"), err(NOT_INT));
    assert_eq!(c.cmd("EXISTS k"), int(0));

    // the expiry survives
    c.cmd("SET t 10 EX 100");
    assert_eq!(c.cmd("INCRBY t 5"), int(15));
    assert_pttl(&mut c, "t", 90_000, 100_000);
}

#[test]
fn incrbyfloat() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("INCRBYFLOAT novar 1"), R::bulk("1"));
    assert_eq!(c.cmd("INCRBYFLOAT novar 0.25"), R::bulk("1.25"));
    assert_eq!(c.cmd("GET novar"), R::bulk("1.25"));
    c.cmd("SET novar 1.5");
    assert_eq!(c.cmd("INCRBYFLOAT novar 1.5"), R::bulk("3"));
    c.cmd("SET novar 17179869184");
    assert_eq!(c.cmd("INCRBYFLOAT novar 1.5"), R::bulk("17179869185.5"));
    c.cmd("SET novar 17179869184");
    assert_eq!(
        c.cmd("INCRBYFLOAT novar 17179869184"),
        R::bulk("34359738368")
    );
    // long double precision: 0.1 stays 0.1, which a double would print with noise
    assert_eq!(c.cmd("INCRBYFLOAT tenth 0.1"), R::bulk("0.1"));
    assert_eq!(c.cmd("INCRBYFLOAT tenth 0.2"), R::bulk("0.3"));
    c.cmd("SET foo 1");
    assert_eq!(c.cmd("INCRBYFLOAT foo -1.1"), R::bulk("-0.1"));
    c.cmd("SET foo 10.5");
    assert_eq!(c.cmd("INCRBYFLOAT foo 0.1"), R::bulk("10.6"));
    c.cmd("SET foo 3.0e3");
    assert_eq!(c.cmd("INCRBYFLOAT foo 2.0e2"), R::bulk("3200"));
    assert_eq!(
        c.cmd("INCRBYFLOAT big 1e20"),
        R::bulk("100000000000000000000")
    );
    assert_eq!(c.cmd("INCRBYFLOAT tiny 1.5e-7"), R::bulk("0.00000015"));
    assert_eq!(c.cmd("INCRBYFLOAT hex 0x1.8p1"), R::bulk("3"));
    // no negative zero
    c.cmd("DEL foo");
    c.cmd("INCRBYFLOAT foo 0.024390243902439025");
    assert_eq!(c.cmd("INCRBYFLOAT foo -0.024390243902439025"), R::bulk("0"));
    assert_eq!(c.cmd("INCRBYFLOAT negzero -0"), R::bulk("0"));

    for bad in ["    11", "11    ", " 11 ", "abc", "nan", "1e5000"] {
        c.cmdv(&[b"SET", b"novar", bad.as_bytes()]);
        assert_eq!(c.cmd("INCRBYFLOAT novar 1.0"), err(NOT_FLOAT), "{bad:?}");
    }
    // a NUL inside the value ends strtold early, so the value is not a number
    c.cmd("SET foo 1");
    assert_eq!(c.cmdv(&[b"SETRANGE", b"foo", b"2", b"2"]), int(3));
    assert_eq!(c.cmd("INCRBYFLOAT foo 1"), err(NOT_FLOAT));
    c.cmd("SET foo 0");
    assert_eq!(c.cmd("INCRBYFLOAT foo v"), err(NOT_FLOAT));
    assert_eq!(c.cmd("INCRBYFLOAT foo 1e-5000"), err(NOT_FLOAT));
    let nan_inf = err("ERR increment would produce NaN or Infinity");
    assert_eq!(c.cmd("INCRBYFLOAT foo +inf"), nan_inf);
    c.cmd("SET foo inf");
    assert_eq!(c.cmd("INCRBYFLOAT foo -inf"), nan_inf);
    c.cmd("SET foo 1.18973149535723176502e4932");
    assert_eq!(c.cmd("INCRBYFLOAT foo 1e4932"), nan_inf);
    assert_eq!(c.cmd("GET foo"), R::bulk("1.18973149535723176502e4932"));

    c.cmd("SET t 1 PX 100000");
    assert_eq!(c.cmd("INCRBYFLOAT t 1"), R::bulk("2"));
    assert_pttl(&mut c, "t", 90_000, 100_000);
}

#[test]
fn wrong_type_errors() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    if !make_non_string(&mut c, "l") {
        eprintln!("no collection type in this build yet: WRONGTYPE checks skipped");
        return;
    }
    for cmd in [
        "GET l",
        "GETDEL l",
        "GETEX l",
        "GETEX l EX 0",
        "GETSET l v",
        "SET l v GET",
        "SET l v IFEQ x",
        "SET l v IFEQ x GET",
        "APPEND l v",
        "STRLEN l",
        "INCR l",
        "DECRBY l 1",
        "INCRBYFLOAT l 1.0",
        "INCRBYFLOAT l notafloat",
        "GETRANGE l 0 -1",
        "SETRANGE l 0 v",
    ] {
        assert_eq!(c.cmd(cmd), err(WRONGTYPE), "{cmd}");
    }
    // NX on an existing key of another type is simply not applied
    assert_eq!(c.cmd("SET l v NX"), R::Nil);
    assert_eq!(c.cmd("SETNX l v"), int(0));
    assert_ne!(c.cmd("TYPE l"), R::Simple("string".into()));
    assert_eq!(
        c.cmd("LCS l nokey"),
        err("ERR The specified keys must contain string values")
    );
    // a plain SET replaces any type
    assert_eq!(c.cmd("SET l v"), R::ok());
    assert_eq!(c.cmd("GET l"), R::bulk("v"));
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
    let steps: &[(&[&[u8]], i64)] = &[
        (&[b"SET", b"a", b"1"], 1),
        (&[b"SET", b"a", b"1", b"NX"], 0),
        (&[b"SET", b"b", b"1", b"PXAT", b"1"], 0),
        (&[b"SET", b"a", b"1", b"PXAT", b"1"], 1),
        (&[b"MSET", b"x", b"1", b"y", b"2", b"z", b"3"], 3),
        (&[b"MSETNX", b"x", b"1", b"w", b"2"], 0),
        (&[b"APPEND", b"e", b""], 1),
        (&[b"SETRANGE", b"e", b"0", b""], 0),
        (&[b"GETEX", b"x", b"PERSIST"], 0),
        (&[b"GETEX", b"x", b"EX", b"100"], 1),
        (&[b"GETEX", b"x", b"PERSIST"], 1),
        (&[b"GETDEL", b"nokey"], 0),
        (&[b"GETDEL", b"x"], 1),
        (&[b"INCR", b"c"], 1),
        (&[b"INCRBYFLOAT", b"f", b"1.5"], 1),
        (&[b"GETSET", b"y", b"5"], 1),
        (&[b"SET", b"y", b"6", b"GET"], 1),
        (&[b"SETNX", b"y", b"1"], 0),
        (&[b"SETEX", b"s", b"100", b"v"], 1),
        (&[b"GET", b"y"], 0),
        (&[b"LCS", b"y", b"z"], 0),
        (&[b"SET", b"z", b"abc"], 1),
        (&[b"INCR", b"z"], 0),
        (&[b"GETEX", b"z", b"PXAT", b"1"], 1),
    ];
    for (cmd, want) in steps {
        let before = dirty(&mut c);
        c.cmdv(cmd);
        let got = dirty(&mut c) - before;
        assert_eq!(
            got,
            *want,
            "{:?}",
            cmd.iter()
                .map(|a| String::from_utf8_lossy(a))
                .collect::<Vec<_>>()
        );
    }
}

const RNA1: &str = "CACCTTCCCAGGTAACAAACCAACCAACTTTCGATCTCTTGTAGATCTGTTCTCTAAACGAACTTTAAAATCTGTGTGGCTGTCACTCGGCTGCATGCTTAGTGCACTCACGCAGTATAATTAATAACTAATTACTGTCGTTGACAGGACACGAGTAACTCGTCTATCTTCTGCAGGCTGCTTACGGTTTCGTCCGTGTTGCAGCCGATCATCAGCACATCTAGGTTTCGTCCGGGTGTG";
const RNA2: &str = "ATTAAAGGTTTATACCTTCCCAGGTAACAAACCAACCAACTTTCGATCTCTTGTAGATCTGTTCTCTAAACGAACTTTAAAATCTGTGTGGCTGTCACTCGGCTGCATGCTTAGTGCACTCACGCAGTATAATTAATAACTAATTACTGTCGTTGACAGGACACGAGTAACTCGTCTATCTTCTGCAGGCTGCTTACGGTTTCGTCCGTGTTGCAGCCGATCATCAGCACATCTAGGTTT";
const RNALCS: &str = "ACCTTCCCAGGTAACAAACCAACCAACTTTCGATCTCTTGTAGATCTGTTCTCTAAACGAACTTTAAAATCTGTGTGGCTGTCACTCGGCTGCATGCTTAGTGCACTCACGCAGTATAATTAATAACTAATTACTGTCGTTGACAGGACACGAGTAACTCGTCTATCTTCTGCAGGCTGCTTACGGTTTCGTCCGTGTTGCAGCCGATCATCAGCACATCTAGGTTT";

fn run(a: (i64, i64), b: (i64, i64), len: Option<i64>) -> R {
    let mut v = vec![
        R::Array(vec![int(a.0), int(a.1)]),
        R::Array(vec![int(b.0), int(b.1)]),
    ];
    v.extend(len.map(int));
    R::Array(v)
}

#[test]
fn lcs() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd(&format!("SET virus1 {RNA1}"));
    c.cmd(&format!("SET virus2 {RNA2}"));
    assert_eq!(c.cmd("LCS virus1 virus2"), R::bulk(RNALCS));
    assert_eq!(c.cmd("LCS virus1 virus2 LEN"), int(RNALCS.len() as i64));
    let runs = [
        ((238, 238), (239, 239), 1),
        ((236, 236), (238, 238), 1),
        ((229, 230), (236, 237), 2),
        ((224, 224), (235, 235), 1),
        ((1, 222), (13, 234), 222),
    ];
    let with = |withlen: bool, min: i64| {
        R::Array(vec![
            R::bulk("matches"),
            R::Array(
                runs.iter()
                    .filter(|r| r.2 >= min)
                    .map(|&(a, b, l)| run(a, b, withlen.then_some(l)))
                    .collect(),
            ),
            R::bulk("len"),
            int(RNALCS.len() as i64),
        ])
    };
    assert_eq!(c.cmd("LCS virus1 virus2 IDX"), with(false, 0));
    assert_eq!(c.cmd("LCS virus1 virus2 IDX WITHMATCHLEN"), with(true, 0));
    assert_eq!(
        c.cmd("LCS virus1 virus2 IDX WITHMATCHLEN MINMATCHLEN 5"),
        with(true, 5)
    );
    assert_eq!(
        c.cmd("LCS virus1 virus2 idx minmatchlen -3"),
        with(false, 0)
    );

    c.cmd("SET a ohmytext");
    c.cmd("SET b mynewtext");
    assert_eq!(c.cmd("LCS a b"), R::bulk("mytext"));
    assert_eq!(c.cmd("LCS a nokey"), R::bulk(""));
    assert_eq!(c.cmd("LCS nokey nokey2 LEN"), int(0));
    assert_eq!(
        c.cmd("LCS a nokey IDX"),
        R::Array(vec![
            R::bulk("matches"),
            R::Array(vec![]),
            R::bulk("len"),
            int(0)
        ])
    );
    assert_eq!(c.cmd("LCS a a LEN"), int(8));
    assert!(!c.cmd("HELLO 3").is_err());
    assert_eq!(
        c.cmd("LCS a b IDX MINMATCHLEN 4 WITHMATCHLEN"),
        R::Map(vec![
            (
                R::bulk("matches"),
                R::Array(vec![run((4, 7), (5, 8), Some(4))])
            ),
            (R::bulk("len"), int(6)),
        ])
    );

    assert_eq!(
        c.cmd("LCS a b LEN IDX"),
        err("ERR If you want both the length and indexes, please just use IDX.")
    );
    assert_eq!(c.cmd("LCS a b MINMATCHLEN"), err("ERR syntax error"));
    assert_eq!(c.cmd("LCS a b FOO"), err("ERR syntax error"));
    assert_eq!(c.cmd("LCS a b MINMATCHLEN x"), err(NOT_INT));
    assert_eq!(
        c.cmd("LCS a"),
        err("ERR wrong number of arguments for 'lcs' command")
    );
}

#[test]
fn lcs_table_is_capped_by_proto_max_bulk_len() {
    let s = TestServer::start(&["--proto-max-bulk-len", "1mb"]);
    let mut c = s.raw();
    // (600 + 1) * (600 + 1) cells of 4 bytes is over 1MB
    c.cmd("SETRANGE a 599 x");
    c.cmd("SETRANGE b 599 x");
    assert_eq!(
        c.cmd("LCS a b LEN"),
        err("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
    );
    c.cmd("SETRANGE c 400 x");
    assert_eq!(c.cmd("LCS a c LEN"), int(401));
}

#[test]
fn multi_key_writes_are_atomic_under_concurrency() {
    let s = TestServer::start(&[]);
    let port = s.port;
    // writers flip a set of keys between two generations; readers must never see a mix
    let keys: Vec<String> = (0..16).map(|i| format!("k{i}")).collect();
    let writer = {
        let keys = keys.clone();
        std::thread::spawn(move || {
            let mut c = Raw::connect(port);
            for round in 0..300 {
                let mut cmd = vec!["MSET".to_string()];
                for k in &keys {
                    cmd.push(k.clone());
                    cmd.push(round.to_string());
                }
                assert_eq!(c.cmd(&cmd.join(" ")), R::ok());
            }
        })
    };
    let mut c = s.raw();
    let mget = format!("MGET {}", keys.join(" "));
    for _ in 0..300 {
        let items = c.cmd(&mget).items();
        assert!(
            items.windows(2).all(|w| w[0] == w[1]),
            "torn MSET seen: {items:?}"
        );
    }
    writer.join().expect("writer");
}

#[test]
fn through_the_redis_crate() {
    let s = TestServer::start(&[]);
    let mut con = s.client();
    let ok: String = redis::cmd("MSET")
        .arg("a")
        .arg("1")
        .arg("b")
        .arg("2.5")
        .query(&mut con)
        .expect("mset");
    assert_eq!(ok, "OK");
    let n: i64 = redis::cmd("INCRBY")
        .arg("a")
        .arg(41)
        .query(&mut con)
        .expect("incrby");
    assert_eq!(n, 42);
    let f: String = redis::cmd("INCRBYFLOAT")
        .arg("b")
        .arg("0.1")
        .query(&mut con)
        .expect("incrbyfloat");
    assert_eq!(f, "2.6");
    let vals: Vec<Option<String>> = redis::cmd("MGET")
        .arg("a")
        .arg("nope")
        .arg("b")
        .query(&mut con)
        .expect("mget");
    assert_eq!(vals, vec![Some("42".into()), None, Some("2.6".into())]);
    let r: redis::RedisResult<i64> = redis::cmd("INCR").arg("b").query(&mut con);
    let e = r.expect_err("INCR on a float");
    assert!(
        e.to_string()
            .contains("value is not an integer or out of range"),
        "{e}"
    );
}
