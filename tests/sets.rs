//! Set family: replies, encodings, error texts and edge cases as Valkey 8.1 gives them.
mod common;
use common::*;

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

fn int(n: i64) -> R {
    R::Int(n)
}

fn err(s: &str) -> R {
    R::Err(s.into())
}

/// The members of an array or set reply, sorted.
fn sorted(r: R) -> Vec<String> {
    let mut v: Vec<String> = r.items().iter().map(R::text).collect();
    v.sort();
    v
}

fn strs(v: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

fn encoding(c: &mut Raw, key: &str) -> String {
    c.cmd(&format!("OBJECT ENCODING {key}")).text()
}

fn sadd_range(c: &mut Raw, key: &str, range: std::ops::Range<i64>, prefix: &str) {
    let members: Vec<String> = range.map(|i| format!("{prefix}{i}")).collect();
    let mut args: Vec<&[u8]> = vec![b"SADD", key.as_bytes()];
    args.extend(members.iter().map(|m| m.as_bytes()));
    c.cmdv(&args);
}

#[test]
fn basics_in_every_encoding() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    for (members, enc) in [("a b c", "listpack"), ("1 2 3", "intset")] {
        c.cmd("DEL s");
        assert_eq!(c.cmd(&format!("SADD s {members}")), int(3));
        assert_eq!(encoding(&mut c, "s"), enc);
        let first = members.split(' ').next().unwrap_or_default();
        assert_eq!(c.cmd(&format!("SADD s {first}")), int(0));
        assert_eq!(c.cmd("SCARD s"), int(3));
        assert_eq!(c.cmd(&format!("SISMEMBER s {first}")), int(1));
        assert_eq!(c.cmd("SISMEMBER s nope"), int(0));
        assert_eq!(
            c.cmd(&format!("SMISMEMBER s nope {first}")),
            R::Array(vec![int(0), int(1)])
        );
        assert_eq!(
            sorted(c.cmd("SMEMBERS s")),
            strs(&members.split(' ').collect::<Vec<_>>())
        );
    }
    // an intset replies in ascending order
    c.cmd("DEL n");
    c.cmd("SADD n 5 -1 3 100");
    assert_eq!(
        c.cmd("SMEMBERS n"),
        R::Array(vec![
            R::bulk("-1"),
            R::bulk("3"),
            R::bulk("5"),
            R::bulk("100")
        ])
    );
    c.cmd("DEL h");
    sadd_range(&mut c, "h", 0..200, "m");
    assert_eq!(encoding(&mut c, "h"), "hashtable");
    assert_eq!(c.cmd("SCARD h"), int(200));
    assert_eq!(c.cmd("SISMEMBER h m199"), int(1));
    assert_eq!(c.cmd("SREM h m0 m1 nope"), int(2));
    assert_eq!(c.cmd("SCARD h"), int(198));
}

#[test]
fn missing_keys_and_wrong_types() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("SCARD nokey"), int(0));
    assert_eq!(c.cmd("SISMEMBER nokey a"), int(0));
    assert_eq!(
        c.cmd("SMISMEMBER nokey a b"),
        R::Array(vec![int(0), int(0)])
    );
    assert_eq!(c.cmd("SMEMBERS nokey"), R::Array(vec![]));
    assert_eq!(c.cmd("SREM nokey a"), int(0));
    assert_eq!(c.cmd("SPOP nokey"), R::Nil);
    assert_eq!(c.cmd("SPOP nokey 3"), R::Array(vec![]));
    assert_eq!(c.cmd("SRANDMEMBER nokey"), R::Nil);
    assert_eq!(c.cmd("SRANDMEMBER nokey 5"), R::Array(vec![]));
    assert_eq!(
        c.cmd("SSCAN nokey 0"),
        R::Array(vec![R::bulk("0"), R::Array(vec![])])
    );
    c.cmd("SET str x");
    for cmd in [
        "SADD str a",
        "SREM str a",
        "SCARD str",
        "SISMEMBER str a",
        "SMISMEMBER str a",
        "SMEMBERS str",
        "SPOP str",
        "SPOP str 2",
        "SRANDMEMBER str",
        "SRANDMEMBER str 2",
        "SSCAN str 0",
        "SINTER str",
        "SUNION str",
        "SDIFF str",
    ] {
        assert_eq!(c.cmd(cmd), err(WRONGTYPE), "{cmd}");
    }
    assert_eq!(
        c.cmd("SMISMEMBER s"),
        err("ERR wrong number of arguments for 'smismember' command")
    );
    assert_eq!(c.cmd("GET str"), R::bulk("x"));
}

#[test]
fn encoding_conversions_follow_the_thresholds() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    // a string into a small intset makes a listpack, into a big one a hashtable
    c.cmd("SADD small 1 2 3");
    assert_eq!(c.cmd("SADD small a"), int(1));
    assert_eq!(encoding(&mut c, "small"), "listpack");
    sadd_range(&mut c, "big", 0..130, "");
    assert_eq!(encoding(&mut c, "big"), "intset");
    c.cmd("SADD big a");
    assert_eq!(encoding(&mut c, "big"), "hashtable");
    // integers beyond 64 bits are strings
    c.cmd("SADD huge 213244124402402314402033402");
    assert_eq!(encoding(&mut c, "huge"), "listpack");
    assert_eq!(c.cmd("SISMEMBER huge 213244124402402314402033402"), int(1));
    // 512 integers fit an intset, the 513th does not
    sadd_range(&mut c, "ints", 0..512, "");
    assert_eq!(encoding(&mut c, "ints"), "intset");
    assert_eq!(c.cmd("SADD ints 512"), int(1));
    assert_eq!(encoding(&mut c, "ints"), "hashtable");
    // 128 short strings fit a listpack, the 129th does not
    sadd_range(&mut c, "lp", 0..128, "v");
    assert_eq!(encoding(&mut c, "lp"), "listpack");
    c.cmd("SADD lp extra");
    assert_eq!(encoding(&mut c, "lp"), "hashtable");
    // a long member
    let long = "x".repeat(65);
    c.cmd(&format!("SADD long a {long}"));
    assert_eq!(encoding(&mut c, "long"), "hashtable");
    // many arguments at once skip the compact encodings even with duplicates
    let mut args: Vec<&[u8]> = vec![b"SADD", b"dups"];
    args.extend(std::iter::repeat_n(b"a".as_slice(), 200));
    assert_eq!(c.cmdv(&args), int(1));
    assert_eq!(encoding(&mut c, "dups"), "hashtable");
    // thresholds are read at command time
    assert_eq!(c.cmd("CONFIG SET set-max-intset-entries 2"), R::ok());
    c.cmd("SADD cfg 1 2");
    assert_eq!(encoding(&mut c, "cfg"), "intset");
    c.cmd("SADD cfg 3");
    assert_eq!(encoding(&mut c, "cfg"), "hashtable");
    // removing never converts back
    c.cmd("SREM cfg 1 2");
    assert_eq!(encoding(&mut c, "cfg"), "hashtable");
}

#[test]
fn srem_deletes_emptied_sets() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd("SADD s a b c");
    assert_eq!(c.cmd("SREM s a x b"), int(2));
    assert_eq!(c.cmd("SREM s c a b"), int(1));
    assert_eq!(c.cmd("EXISTS s"), int(0));
    c.cmd("SADD n 1 2 3");
    assert_eq!(c.cmd("SREM n 01 1"), int(1));
    assert_eq!(sorted(c.cmd("SMEMBERS n")), strs(&["2", "3"]));
}

#[test]
fn smove_semantics() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd("SADD src a b");
    c.cmd("SADD dst 1 2");
    assert_eq!(c.cmd("SMOVE src dst a"), int(1));
    assert_eq!(encoding(&mut c, "dst"), "listpack");
    assert_eq!(sorted(c.cmd("SMEMBERS dst")), strs(&["1", "2", "a"]));
    assert_eq!(c.cmd("SMOVE src dst nope"), int(0));
    assert_eq!(c.cmd("SMOVE nokey dst a"), int(0));
    // the last member leaves, the source goes
    assert_eq!(c.cmd("SMOVE src newdst b"), int(1));
    assert_eq!(c.cmd("EXISTS src"), int(0));
    assert_eq!(c.cmd("SMEMBERS newdst"), R::Array(vec![R::bulk("b")]));
    c.cmd("SADD ints 1");
    assert_eq!(c.cmd("SMOVE dst intdst 2"), int(1));
    assert_eq!(encoding(&mut c, "intdst"), "intset");
    // identical source and destination
    assert_eq!(c.cmd("SMOVE dst dst 1"), int(1));
    assert_eq!(c.cmd("SMOVE dst dst zz"), int(0));
    c.cmd("SET str x");
    assert_eq!(c.cmd("SMOVE str dst 1"), err(WRONGTYPE));
    assert_eq!(c.cmd("SMOVE dst str 1"), err(WRONGTYPE));
    // a missing source wins over a wrong-typed destination
    assert_eq!(c.cmd("SMOVE nokey str 1"), int(0));
    // already in the destination: still moved out of the source
    c.cmd("SADD x m");
    c.cmd("SADD y m");
    assert_eq!(c.cmd("SMOVE x y m"), int(1));
    assert_eq!(c.cmd("EXISTS x"), int(0));
    assert_eq!(c.cmd("SCARD y"), int(1));
}

#[test]
fn sintercard_arguments() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(
        c.cmd("SINTERCARD 1"),
        err("ERR wrong number of arguments for 'sintercard' command")
    );
    for cmd in [
        "SINTERCARD 0 s",
        "SINTERCARD a s",
        "SINTERCARD 99999999999999999999 s",
    ] {
        assert_eq!(
            c.cmd(cmd),
            err("ERR numkeys should be greater than 0"),
            "{cmd}"
        );
    }
    assert_eq!(
        c.cmd("SINTERCARD 2 s"),
        err("ERR Number of keys can't be greater than number of args")
    );
    for cmd in [
        "SINTERCARD 1 s t",
        "SINTERCARD 1 s bar",
        "SINTERCARD 1 s LIMIT",
    ] {
        assert_eq!(c.cmd(cmd), err("ERR syntax error"), "{cmd}");
    }
    for cmd in ["SINTERCARD 1 s LIMIT -1", "SINTERCARD 1 s LIMIT a"] {
        assert_eq!(c.cmd(cmd), err("ERR LIMIT can't be negative"), "{cmd}");
    }
    c.cmd("SADD a 1 2 3 4 x");
    c.cmd("SADD b 2 3 4 x y");
    c.cmd("SET str v");
    assert_eq!(c.cmd("SINTERCARD 2 a b"), int(4));
    assert_eq!(c.cmd("SINTERCARD 2 a b LIMIT 0"), int(4));
    assert_eq!(c.cmd("SINTERCARD 2 a b LIMIT 2"), int(2));
    assert_eq!(c.cmd("SINTERCARD 2 a b limit 10"), int(4));
    assert_eq!(c.cmd("SINTERCARD 1 nokey"), int(0));
    assert_eq!(c.cmd("SINTERCARD 2 str nokey"), err(WRONGTYPE));
    assert_eq!(c.cmd("SINTERCARD 2 a str"), err(WRONGTYPE));
}

#[test]
fn sinter_sunion_sdiff() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd("SADD a 1 2 3 4");
    c.cmd("SADD b 3 4 5 x");
    c.cmd("SADD c 4 x y");
    assert_eq!(sorted(c.cmd("SINTER a b")), strs(&["3", "4"]));
    assert_eq!(sorted(c.cmd("SINTER a b c")), strs(&["4"]));
    assert_eq!(c.cmd("SINTER a nokey"), R::Array(vec![]));
    assert_eq!(
        sorted(c.cmd("SUNION a b nokey")),
        strs(&["1", "2", "3", "4", "5", "x"])
    );
    assert_eq!(sorted(c.cmd("SDIFF a b")), strs(&["1", "2"]));
    assert_eq!(sorted(c.cmd("SDIFF b a c")), strs(&["5"]));
    assert_eq!(c.cmd("SDIFF nokey a"), R::Array(vec![]));
    assert_eq!(sorted(c.cmd("SDIFF a nokey")), strs(&["1", "2", "3", "4"]));
    assert_eq!(c.cmd("SDIFF a a"), R::Array(vec![]));
    assert_eq!(sorted(c.cmd("SINTER a a")), strs(&["1", "2", "3", "4"]));
    assert_eq!(sorted(c.cmd("SUNION a a")), strs(&["1", "2", "3", "4"]));
    // union of intsets replies in order
    c.cmd("SADD i1 9 1");
    c.cmd("SADD i2 5");
    assert_eq!(
        c.cmd("SUNION i1 i2"),
        R::Array(vec![R::bulk("1"), R::bulk("5"), R::bulk("9")])
    );
    c.cmd("SET str v");
    for cmd in [
        "SINTER a str",
        "SINTER nokey str",
        "SUNION a str",
        "SDIFF a str",
        "SDIFF nokey str",
    ] {
        assert_eq!(c.cmd(cmd), err(WRONGTYPE), "{cmd}");
    }
    // a bigger diff goes through both algorithms with the same answer
    sadd_range(&mut c, "big", 0..300, "e");
    sadd_range(&mut c, "s1", 0..10, "e");
    sadd_range(&mut c, "s2", 10..20, "e");
    sadd_range(&mut c, "s3", 290..400, "e");
    let expect: Vec<String> = {
        let mut v: Vec<String> = (20..290).map(|i| format!("e{i}")).collect();
        v.sort();
        v
    };
    assert_eq!(sorted(c.cmd("SDIFF big s1 s2 s3")), expect);
    assert_eq!(sorted(c.cmd("SDIFF big s1 s2 s3 nokey s1")), expect);
}

#[test]
fn store_variants() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd("SADD a 1 2 3 4");
    c.cmd("SADD b 3 4 5 x");
    assert_eq!(c.cmd("SINTERSTORE d a b"), int(2));
    assert_eq!(sorted(c.cmd("SMEMBERS d")), strs(&["3", "4"]));
    assert_eq!(encoding(&mut c, "d"), "intset");
    assert_eq!(c.cmd("SUNIONSTORE d a b"), int(6));
    assert_eq!(encoding(&mut c, "d"), "listpack");
    assert_eq!(c.cmd("SDIFFSTORE d a b"), int(2));
    assert_eq!(encoding(&mut c, "d"), "intset");
    // the destination may be a source
    assert_eq!(c.cmd("SUNIONSTORE a a b"), int(6));
    assert_eq!(c.cmd("SCARD a"), int(6));
    // an empty result deletes the destination, whatever it held
    c.cmd("SET d str");
    c.cmd("EXPIRE d 100");
    assert_eq!(c.cmd("SINTERSTORE d a nokey"), int(0));
    assert_eq!(c.cmd("EXISTS d"), int(0));
    c.cmd("SET d str");
    assert_eq!(c.cmd("SDIFFSTORE d a a"), int(0));
    assert_eq!(c.cmd("EXISTS d"), int(0));
    c.cmd("SET d str");
    assert_eq!(c.cmd("SUNIONSTORE d nokey"), int(0));
    assert_eq!(c.cmd("EXISTS d"), int(0));
    // a stored result replaces a value of another type and its TTL
    c.cmd("SET d str");
    c.cmd("EXPIRE d 100");
    assert_eq!(c.cmd("SUNIONSTORE d b"), int(4));
    assert_eq!(c.cmd("TTL d"), int(-1));
    assert_eq!(c.cmd("TYPE d"), R::Simple("set".into()));
    c.cmd("SET str v");
    assert_eq!(c.cmd("SINTERSTORE d str a"), err(WRONGTYPE));
    assert_eq!(c.cmd("SUNIONSTORE d a str"), err(WRONGTYPE));
    assert_eq!(c.cmd("SDIFFSTORE d nokey str"), err(WRONGTYPE));
    assert_eq!(c.cmd("SCARD d"), int(4));
}

#[test]
fn sinterstore_result_encodings() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    // listpack sources whose common members are integers make an intset
    c.cmd("SADD l1 a 1 2 3");
    c.cmd("SADD l2 b 1 2 3");
    assert_eq!(c.cmd("SINTERSTORE d l1 l2"), int(3));
    assert_eq!(encoding(&mut c, "d"), "intset");
    // hashtable sources too
    sadd_range(&mut c, "h1", 0..200, "s");
    sadd_range(&mut c, "h2", 0..200, "t");
    c.cmd("SADD h1 1 2 3");
    c.cmd("SADD h2 1 2 3");
    assert_eq!(c.cmd("SINTERSTORE d h1 h2"), int(3));
    assert_eq!(encoding(&mut c, "d"), "intset");
    // strings keep it a listpack, or a hashtable when it grows too big
    assert_eq!(c.cmd("SINTERSTORE d l1 l1"), int(4));
    assert_eq!(encoding(&mut c, "d"), "listpack");
    assert_eq!(c.cmd("SINTERSTORE d h1 h1"), int(203));
    assert_eq!(encoding(&mut c, "d"), "hashtable");
    // a big union of integers stays an intset; the same union with a string does not
    sadd_range(&mut c, "i", 0..300, "");
    assert_eq!(c.cmd("SUNIONSTORE d i"), int(300));
    assert_eq!(encoding(&mut c, "d"), "intset");
    c.cmd("SADD one zz");
    assert_eq!(c.cmd("SUNIONSTORE d i one"), int(301));
    assert_eq!(encoding(&mut c, "d"), "hashtable");
    assert_eq!(c.cmd("SUNIONSTORE d one l1"), int(5));
    assert_eq!(encoding(&mut c, "d"), "listpack");
}

#[test]
fn spop_and_srandmember() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    for (kind, members) in [
        ("intset", (0..20).map(|i| i.to_string()).collect::<Vec<_>>()),
        ("listpack", (0..20).map(|i| format!("m{i}")).collect()),
        ("hashtable", (0..300).map(|i| format!("m{i}")).collect()),
    ] {
        c.cmd("DEL s");
        let mut args: Vec<&[u8]> = vec![b"SADD", b"s"];
        args.extend(members.iter().map(|m| m.as_bytes()));
        c.cmdv(&args);
        assert_eq!(encoding(&mut c, "s"), kind);
        let n = members.len();
        let all: Vec<String> = {
            let mut v = members.clone();
            v.sort();
            v
        };
        // SRANDMEMBER: distinct for positive counts, repeats allowed for negative
        let one = c.cmd("SRANDMEMBER s").text();
        assert!(members.contains(&one));
        for count in [1, 5, n / 2, n - 1, n, n + 10] {
            let got = sorted(c.cmd(&format!("SRANDMEMBER s {count}")));
            assert_eq!(got.len(), count.min(n), "{kind} {count}");
            let mut uniq = got.clone();
            uniq.dedup();
            assert_eq!(uniq.len(), got.len(), "{kind} {count}");
            assert!(got.iter().all(|m| members.contains(m)));
        }
        let neg = c.cmd(&format!("SRANDMEMBER s -{}", n * 3));
        assert_eq!(neg.items().len(), n * 3);
        assert_eq!(c.cmd("SRANDMEMBER s 0"), R::Array(vec![]));
        assert_eq!(c.cmd("SCARD s"), int(n as i64));
        // SPOP drains the set exactly once across the code paths
        let mut popped = vec![c.cmd("SPOP s").text()];
        assert_eq!(c.cmd("SPOP s 0"), R::Array(vec![]));
        popped.extend(sorted(c.cmd("SPOP s 1")));
        popped.extend(sorted(c.cmd("SPOP s 2")));
        let left = n - 4;
        // most of what is left: the set is rebuilt from the survivors
        popped.extend(sorted(c.cmd(&format!("SPOP s {}", left - 2))));
        assert_eq!(c.cmd("SCARD s"), int(2));
        popped.extend(sorted(c.cmd("SPOP s 100")));
        assert_eq!(c.cmd("EXISTS s"), int(0));
        popped.sort();
        assert_eq!(popped, all, "{kind}");
    }
    c.cmd("SADD s a");
    assert_eq!(c.cmd("SPOP s 1 2"), err("ERR syntax error"));
    assert_eq!(c.cmd("SRANDMEMBER s 1 2"), err("ERR syntax error"));
    for cmd in ["SPOP s -1", "SPOP s abc"] {
        assert_eq!(
            c.cmd(cmd),
            err("ERR value is out of range, must be positive"),
            "{cmd}"
        );
    }
    assert_eq!(
        c.cmd("SRANDMEMBER s abc"),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(
        c.cmd("SRANDMEMBER s -9223372036854775808"),
        err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    );
    // a huge positive count is just the whole set
    assert_eq!(
        c.cmd("SRANDMEMBER s 9223372036854775807"),
        R::Array(vec![R::bulk("a")])
    );
    assert_eq!(c.cmd("SPOP s"), R::bulk("a"));
    assert_eq!(c.cmd("EXISTS s"), int(0));
}

#[test]
fn sscan_iterates_every_member() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    for (kind, n) in [("intset", 50), ("listpack", 50), ("hashtable", 1000)] {
        c.cmd("DEL s");
        let prefix = if kind == "intset" { "" } else { "m" };
        sadd_range(&mut c, "s", 0..n, prefix);
        assert_eq!(encoding(&mut c, "s"), kind);
        let mut seen = std::collections::HashSet::new();
        let mut cursor = "0".to_string();
        let mut calls = 0;
        loop {
            let r = c.cmd(&format!("SSCAN s {cursor} COUNT 20")).items();
            cursor = r[0].text();
            for m in r[1].items() {
                seen.insert(m.text());
            }
            calls += 1;
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(seen.len(), n as usize, "{kind}");
        if kind != "hashtable" {
            assert_eq!(calls, 1);
        }
    }
    let r = c.cmd("SSCAN s 0 MATCH m1?? COUNT 100000").items();
    assert_eq!(r[0], R::bulk("0"));
    assert_eq!(r[1].items().len(), 100);
    assert_eq!(c.cmd("SSCAN s abc"), err("ERR invalid cursor"));
    assert_eq!(c.cmd("SSCAN s 0 COUNT 0"), err("ERR syntax error"));
    assert_eq!(
        c.cmd("SSCAN s 0 COUNT x"),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(c.cmd("SSCAN s 0 TYPE set"), err("ERR syntax error"));
    assert_eq!(
        c.cmd("SSCAN s 0 NOVALUES"),
        err("ERR NOVALUES option can only be used in HSCAN")
    );
    assert_eq!(
        c.cmd("SSCAN s 0 NOSCORES"),
        err("ERR NOSCORES option can only be used in ZSCAN")
    );
    // options are not looked at for a missing key
    assert_eq!(
        c.cmd("SSCAN nokey 0 COUNT 0"),
        R::Array(vec![R::bulk("0"), R::Array(vec![])])
    );
}

#[test]
fn resp3_replies_are_sets() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert!(!c.cmd("HELLO 3").is_err());
    c.cmd("SADD a x y");
    c.cmd("SADD b y z");
    assert!(matches!(c.cmd("SMEMBERS a"), R::Set(v) if v.len() == 2));
    assert_eq!(c.cmd("SMEMBERS nokey"), R::Set(vec![]));
    assert_eq!(c.cmd("SINTER a b"), R::Set(vec![R::bulk("y")]));
    assert_eq!(c.cmd("SINTER a nokey"), R::Set(vec![]));
    assert!(matches!(c.cmd("SUNION a b"), R::Set(v) if v.len() == 3));
    assert_eq!(c.cmd("SDIFF a b"), R::Set(vec![R::bulk("x")]));
    assert_eq!(c.cmd("SPOP nokey 2"), R::Set(vec![]));
    assert_eq!(c.cmd("SPOP nokey"), R::Nil);
    assert!(matches!(c.cmd("SPOP a 1"), R::Set(v) if v.len() == 1));
    assert_eq!(c.cmd("SRANDMEMBER nokey 2"), R::Array(vec![]));
    assert!(matches!(c.cmd("SRANDMEMBER b 2"), R::Array(v) if v.len() == 2));
}

#[test]
fn command_metadata() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let info = c.cmd("COMMAND INFO sintercard sadd").items();
    let card = info[0].items();
    assert_eq!(card[1], int(-3));
    assert_eq!(card[3], int(0));
    assert!(card[2].items().contains(&R::Simple("movablekeys".into())));
    let sadd = info[1].items();
    assert_eq!(sadd[1], int(-3));
    assert_eq!(sadd[3], int(1));
}

/// Keyspace changes as Valkey counts them (INFO's rdb_changes_since_last_save).
#[test]
fn dirty_counts_follow_valkey() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let dirty = |c: &mut Raw| -> i64 {
        let info = c.cmd("INFO persistence").text();
        info.lines()
            .find_map(|l| l.strip_prefix("rdb_changes_since_last_save:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(-1)
    };
    let step = |c: &mut Raw, cmd: &str, expect: i64| {
        let before = dirty(c);
        c.cmd(cmd);
        assert_eq!(dirty(c) - before, expect, "{cmd}");
    };
    step(&mut c, "SADD a 1 2 3 4", 4);
    step(&mut c, "SADD a 1 5 6", 2);
    step(&mut c, "SADD b 3 4 5 x", 4);
    step(&mut c, "SREM a 1 9", 1);
    step(&mut c, "SMOVE a b 5", 1);
    step(&mut c, "SMOVE a b 6", 2);
    step(&mut c, "SMOVE a b nope", 0);
    step(&mut c, "SPOP a 0", 0);
    step(&mut c, "SINTERSTORE d a b", 1);
    step(&mut c, "SINTERSTORE d a nokey", 1);
    step(&mut c, "SINTERSTORE d a nokey", 0);
    step(&mut c, "SUNIONSTORE d a b", 1);
    step(&mut c, "SPOP d 2", 2);
    step(&mut c, "SPOP d 100", 4);
    step(&mut c, "SPOP b", 1);
    step(&mut c, "SINTER a b", 0);
    step(&mut c, "SRANDMEMBER a 3", 0);
}
