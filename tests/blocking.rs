//! Blocking list and sorted-set commands across connections: served by pushes from any
//! connection, FIFO among waiters, timeouts, CLIENT UNBLOCK, MULTI/EXEC interplay and
//! the INFO counters the TCL suite polls.

mod common;
use common::{assert_err, Raw, TestServer, R};
use std::time::{Duration, Instant};

/// INFO clients field as a number.
fn info_field(r: &mut Raw, name: &str) -> i64 {
    let text = r.cmd("INFO clients").text();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in INFO"))
}

/// Polls until `blocked_clients` reaches `n` (or fails after 5 s).
fn wait_blocked(r: &mut Raw, n: i64) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let now = info_field(r, "blocked_clients");
        if now == n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "blocked_clients stuck at {now}, wanted {n}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn pair(k: &str, v: &str) -> R {
    R::Array(vec![R::bulk(k), R::bulk(v)])
}

#[test]
fn blpop_is_served_by_a_push_from_another_connection() {
    let s = TestServer::start(&[]);
    let mut admin = s.raw();
    let mut w = s.raw();
    w.send(&[b"BLPOP", b"l1", b"l2", b"0"]);
    wait_blocked(&mut admin, 1);
    assert_eq!(info_field(&mut admin, "total_blocking_keys"), 2);
    assert_eq!(admin.cmd("RPUSH l2 a b"), R::Int(2));
    assert_eq!(w.read(), pair("l2", "a"));
    wait_blocked(&mut admin, 0);
    assert_eq!(info_field(&mut admin, "total_blocking_keys"), 0);
    assert_eq!(admin.cmd("LRANGE l2 0 -1"), R::Array(vec![R::bulk("b")]));
    // the served command was counted once, when it blocked
    let stats = admin.cmd("INFO commandstats").text();
    assert!(stats.contains("cmdstat_blpop:calls=1,"), "{stats}");
    // BRPOP with data answers at once
    assert_eq!(w.cmd("BRPOP l2 0"), pair("l2", "b"));
}

#[test]
fn waiters_are_served_first_come_first_served() {
    let s = TestServer::start(&[]);
    let mut admin = s.raw();
    let mut ws: Vec<Raw> = (0..3).map(|_| s.raw()).collect();
    for (i, w) in ws.iter_mut().enumerate() {
        w.send(&[b"BLPOP", b"q", b"0"]);
        wait_blocked(&mut admin, i as i64 + 1);
    }
    assert_eq!(admin.cmd("RPUSH q one two three"), R::Int(3));
    for (w, v) in ws.iter_mut().zip(["one", "two", "three"]) {
        assert_eq!(w.read(), pair("q", v));
    }
    assert_eq!(admin.cmd("EXISTS q"), R::Int(0));
}

#[test]
fn timeouts_decimals_and_errors() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let t = Instant::now();
    assert_eq!(c.cmd("BLPOP nothing 0.1"), R::NilArray);
    assert!(t.elapsed() >= Duration::from_millis(100));
    assert_eq!(c.cmd("BZPOPMIN nothing 0.05"), R::NilArray);
    assert_eq!(c.cmd("BRPOPLPUSH nothing dst 0.05"), R::NilArray);
    assert_err(&c.cmd("BLPOP l -1"), "ERR timeout is negative");
    assert_err(
        &c.cmd("BLPOP l abc"),
        "ERR timeout is not a float or out of range",
    );
    assert_err(
        &c.cmd("BLPOP l 0x7FFFFFFFFFFFFF"),
        "ERR timeout is out of range",
    );
    c.cmd("SET str x");
    assert_err(&c.cmd("BLPOP str 0"), "WRONGTYPE");
    assert_err(&c.cmd("BZPOPMAX str 0"), "WRONGTYPE");
    assert_err(
        &c.cmd("BLMPOP 0 0 l LEFT"),
        "ERR numkeys should be greater than 0",
    );
    assert!(c.cmd("INFO clients").text().contains("blocked_clients:0"));
}

#[test]
fn push_inside_multi_wakes_only_after_exec_and_not_when_undone() {
    let s = TestServer::start(&[]);
    let mut admin = s.raw();
    let mut w = s.raw();
    w.send(&[b"BLPOP", b"k", b"0"]);
    wait_blocked(&mut admin, 1);
    // pushed and deleted inside one transaction: nothing to serve
    admin.cmd("MULTI");
    admin.cmd("LPUSH k gone");
    admin.cmd("DEL k");
    assert_eq!(admin.cmd("EXEC"), R::Array(vec![R::Int(1), R::Int(1)]));
    assert_eq!(info_field(&mut admin, "blocked_clients"), 1);
    // a push and a second one in a transaction: served with the transaction's result
    admin.cmd("MULTI");
    admin.cmd("RPUSH k a");
    admin.cmd("RPUSH k b");
    admin.cmd("EXEC");
    assert_eq!(w.read(), pair("k", "a"));
    assert_eq!(admin.cmd("LRANGE k 0 -1"), R::Array(vec![R::bulk("b")]));
    // a blocking command inside MULTI answers at once
    admin.cmd("DEL k");
    admin.cmd("MULTI");
    admin.cmd("BLPOP k 0");
    assert_eq!(admin.cmd("EXEC"), R::Array(vec![R::NilArray]));
}

#[test]
fn blmove_chain_and_wrong_destination() {
    let s = TestServer::start(&[]);
    let mut admin = s.raw();
    let mut a = s.raw();
    let mut b = s.raw();
    a.send(&[b"BLMOVE", b"src", b"dst", b"LEFT", b"RIGHT", b"0"]);
    wait_blocked(&mut admin, 1);
    b.send(&[b"BLPOP", b"dst", b"0"]);
    wait_blocked(&mut admin, 2);
    admin.cmd("RPUSH src x");
    assert_eq!(a.read(), R::bulk("x"));
    assert_eq!(b.read(), pair("dst", "x"));
    assert_eq!(admin.cmd("EXISTS src dst"), R::Int(0));
    // a destination of the wrong type: the waiter gets the error, the element stays
    admin.cmd("SET target str");
    a.send(&[b"BRPOPLPUSH", b"blist", b"target", b"0"]);
    wait_blocked(&mut admin, 1);
    admin.cmd("RPUSH blist foo");
    assert_err(&a.read(), "WRONGTYPE");
    assert_eq!(
        admin.cmd("LRANGE blist 0 -1"),
        R::Array(vec![R::bulk("foo")])
    );
}

#[test]
fn sorted_set_and_multi_pop_forms() {
    let s = TestServer::start(&[]);
    let mut admin = s.raw();
    let mut w = s.raw();
    w.send(&[b"BZPOPMIN", b"z", b"0"]);
    wait_blocked(&mut admin, 1);
    admin.cmd("ZADD z 2 b 1 a");
    assert_eq!(
        w.read(),
        R::Array(vec![R::bulk("z"), R::bulk("a"), R::bulk("1")])
    );
    assert_eq!(
        w.cmd("BZPOPMAX z 0"),
        R::Array(vec![R::bulk("z"), R::bulk("b"), R::bulk("2")])
    );
    w.send(&[b"BZMPOP", b"0", b"2", b"z1", b"z2", b"MAX", b"COUNT", b"5"]);
    wait_blocked(&mut admin, 1);
    admin.cmd("ZADD z2 1 m 2 n");
    assert_eq!(
        w.read(),
        R::Array(vec![
            R::bulk("z2"),
            R::Array(vec![
                R::Array(vec![R::bulk("n"), R::bulk("2")]),
                R::Array(vec![R::bulk("m"), R::bulk("1")]),
            ]),
        ])
    );
    w.send(&[
        b"BLMPOP", b"0", b"2", b"l1", b"l2", b"RIGHT", b"COUNT", b"2",
    ]);
    wait_blocked(&mut admin, 1);
    admin.cmd("RPUSH l1 a b c");
    assert_eq!(
        w.read(),
        R::Array(vec![
            R::bulk("l1"),
            R::Array(vec![R::bulk("c"), R::bulk("b")])
        ])
    );
    // a key of another type does not wake a list waiter
    w.send(&[b"BLPOP", b"mixed", b"0"]);
    wait_blocked(&mut admin, 1);
    admin.cmd("ZADD mixed 1 a");
    admin.cmd("DEL mixed");
    admin.cmd("LPUSH mixed v");
    assert_eq!(w.read(), pair("mixed", "v"));
}

#[test]
fn client_unblock_and_disconnect_release_waiters() {
    let s = TestServer::start(&[]);
    let mut admin = s.raw();
    let mut w = s.raw();
    let id = w.cmd("CLIENT ID").text();
    w.send(&[b"BLPOP", b"k", b"0"]);
    wait_blocked(&mut admin, 1);
    assert_eq!(
        admin.cmd(&format!("CLIENT UNBLOCK {id} TIMEOUT")),
        R::Int(1)
    );
    assert_eq!(w.read(), R::NilArray);
    w.send(&[b"BLPOP", b"k", b"0"]);
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&format!("CLIENT UNBLOCK {id} ERROR")), R::Int(1));
    assert_err(&w.read(), "UNBLOCKED client unblocked via CLIENT UNBLOCK");
    // a waiter that disconnects is forgotten: it consumes nothing
    w.send(&[b"BLPOP", b"k", b"0"]);
    wait_blocked(&mut admin, 1);
    drop(w);
    wait_blocked(&mut admin, 0);
    admin.cmd("RPUSH k v");
    assert_eq!(admin.cmd("LLEN k"), R::Int(1));
}

#[test]
fn commands_pipelined_behind_a_blocked_one_run_after_it() {
    let s = TestServer::start(&[]);
    let mut admin = s.raw();
    let mut w = s.raw();
    w.send_raw(b"BLPOP k 0\r\nSET after 1\r\n");
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd("EXISTS after"), R::Int(0));
    admin.cmd("RPUSH k v");
    assert_eq!(w.read(), pair("k", "v"));
    assert_eq!(w.read(), R::ok());
    assert_eq!(admin.cmd("GET after"), R::bulk("1"));
}

#[test]
fn a_blocked_resp3_subscriber_still_receives_messages() {
    let s = TestServer::start(&[]);
    let mut admin = s.raw();
    let mut w = s.raw();
    w.cmd("HELLO 3");
    w.send(&[b"SUBSCRIBE", b"news"]);
    assert_eq!(w.read().items()[0], R::bulk("subscribe"));
    w.send(&[b"BLPOP", b"k", b"0"]);
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd("PUBLISH news hello"), R::Int(1));
    assert_eq!(
        w.read(),
        R::Push(vec![R::bulk("message"), R::bulk("news"), R::bulk("hello")])
    );
    admin.cmd("RPUSH k v");
    assert_eq!(w.read(), pair("k", "v"));
}
