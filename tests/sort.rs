//! SORT and SORT_RO: numeric and ALPHA orders, LIMIT, BY and GET patterns, STORE.

mod common;
use common::{assert_err, TestServer, R};

fn bulks(v: &[&str]) -> R {
    R::Array(v.iter().map(|s| R::bulk(s)).collect())
}

#[test]
fn numeric_alpha_limit_and_desc() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd("RPUSH l 3 10 1 2.5");
    assert_eq!(c.cmd("SORT l"), bulks(&["1", "2.5", "3", "10"]));
    assert_eq!(c.cmd("SORT l DESC"), bulks(&["10", "3", "2.5", "1"]));
    assert_eq!(c.cmd("SORT l ALPHA"), bulks(&["1", "10", "2.5", "3"]));
    assert_eq!(c.cmd("SORT l LIMIT 1 2"), bulks(&["2.5", "3"]));
    assert_eq!(c.cmd("SORT_RO l LIMIT 3 10"), bulks(&["10"]));
    assert_eq!(c.cmd("SORT l LIMIT 10 10"), bulks(&[]));
    c.cmd("SADD s b a c");
    assert_eq!(c.cmd("SORT s ALPHA"), bulks(&["a", "b", "c"]));
    c.cmd("ZADD z 3 x 1 y 2 w");
    // BY with no '*' keeps the natural (score) order
    assert_eq!(c.cmd("SORT z BY nosort"), bulks(&["y", "w", "x"]));
    assert_eq!(c.cmd("SORT z BY nosort DESC"), bulks(&["x", "w", "y"]));
    assert_eq!(c.cmd("SORT missing"), bulks(&[]));
    c.cmd("RPUSH bad 1 x");
    assert_err(
        &c.cmd("SORT bad"),
        "ERR One or more scores can't be converted into double",
    );
    c.cmd("SET str v");
    assert_err(&c.cmd("SORT str"), "WRONGTYPE");
    assert_err(&c.cmd("SORT l LIMIT 1"), "ERR syntax error");
    assert_err(&c.cmd("SORT_RO l STORE dst"), "ERR syntax error");
}

#[test]
fn by_and_get_patterns_and_store() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd("RPUSH ids 1 2 3");
    c.cmd("MSET w_1 30 w_2 10 w_3 20 name_1 one name_2 two");
    c.cmd("HSET h_1 f c");
    c.cmd("HSET h_2 f a");
    c.cmd("HSET h_3 f b");
    assert_eq!(c.cmd("SORT ids BY w_*"), bulks(&["2", "3", "1"]));
    assert_eq!(c.cmd("SORT ids BY h_*->f ALPHA"), bulks(&["2", "3", "1"]));
    assert_eq!(
        c.cmd("SORT ids BY w_* GET # GET name_*"),
        R::Array(vec![
            R::bulk("2"),
            R::bulk("two"),
            R::bulk("3"),
            R::Nil,
            R::bulk("1"),
            R::bulk("one"),
        ])
    );
    assert_eq!(c.cmd("SORT ids BY w_* GET h_*->f"), bulks(&["a", "b", "c"]));
    assert_eq!(c.cmd("SORT ids BY w_* STORE out"), R::Int(3));
    assert_eq!(c.cmd("LRANGE out 0 -1"), bulks(&["2", "3", "1"]));
    // an empty result deletes the destination
    assert_eq!(c.cmd("SORT missing STORE out"), R::Int(0));
    assert_eq!(c.cmd("EXISTS out"), R::Int(0));
    assert_eq!(
        c.cmd("COMMAND GETKEYS SORT ids STORE a STORE b"),
        bulks(&["ids", "b"])
    );
}
