//! MULTI/EXEC/DISCARD/WATCH/UNWATCH: queueing, aborts, optimistic locking across
//! connections, and atomicity against other clients.

mod common;
use common::{assert_err, TestServer, R};

#[test]
fn multi_exec_queues_and_runs_in_order() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("MULTI"), R::ok());
    assert_eq!(c.cmd("SET a 1"), R::Simple("QUEUED".into()));
    assert_eq!(c.cmd("INCR a"), R::Simple("QUEUED".into()));
    assert_eq!(c.cmd("LPUSH a x"), R::Simple("QUEUED".into()));
    assert_eq!(c.cmd("GET a"), R::Simple("QUEUED".into()));
    // runtime errors do not roll back: each reply sits in place
    match c.cmd("EXEC") {
        R::Array(v) => {
            assert_eq!(v[0], R::ok());
            assert_eq!(v[1], R::Int(2));
            assert_err(&v[2], "WRONGTYPE");
            assert_eq!(v[3], R::bulk("2"));
        }
        other => panic!("{other:?}"),
    }
    assert!(c.cmd("CLIENT LIST").text().contains("multi=-1"));
    assert_err(&c.cmd("EXEC"), "ERR EXEC without MULTI");
    assert_err(&c.cmd("DISCARD"), "ERR DISCARD without MULTI");
}

#[test]
fn queueing_errors_abort_exec() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd("MULTI");
    c.cmd("SET k v");
    assert_err(&c.cmd("NOSUCHCMD"), "ERR unknown command");
    assert_err(
        &c.cmd("GET"),
        "ERR wrong number of arguments for 'get' command",
    );
    assert_err(
        &c.cmd("EXEC"),
        "EXECABORT Transaction discarded because of previous errors.",
    );
    assert_eq!(c.cmd("EXISTS k"), R::Int(0));
    // MULTI and WATCH are refused inside a transaction, which then aborts
    c.cmd("MULTI");
    assert_err(
        &c.cmd("MULTI"),
        "ERR Command not allowed inside a transaction",
    );
    assert_err(
        &c.cmd("WATCH k"),
        "ERR Command not allowed inside a transaction",
    );
    assert_err(&c.cmd("EXEC"), "EXECABORT");
    // DISCARD drops the queue
    c.cmd("MULTI");
    c.cmd("SET k v");
    let mut other = s.raw();
    assert!(other.cmd("CLIENT LIST").text().contains("multi=1"));
    assert_eq!(c.cmd("DISCARD"), R::ok());
    assert_eq!(c.cmd("EXISTS k"), R::Int(0));
    // an empty transaction
    c.cmd("MULTI");
    assert_eq!(c.cmd("EXEC"), R::Array(vec![]));
}

#[test]
fn watch_detects_changes_from_other_connections() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let mut other = s.raw();
    c.cmd("SET x 1");
    c.cmd("WATCH x");
    other.cmd("SET x 2");
    c.cmd("MULTI");
    c.cmd("SET x 3");
    assert_eq!(c.cmd("EXEC"), R::NilArray);
    assert_eq!(c.cmd("GET x"), R::bulk("2"));
    // after EXEC nothing is watched any more
    c.cmd("MULTI");
    c.cmd("PING");
    assert_eq!(c.cmd("EXEC"), R::Array(vec![R::Simple("PONG".into())]));
    // an unmodified key lets EXEC through; UNWATCH forgets
    c.cmd("WATCH x y");
    other.cmd("GET x");
    c.cmd("MULTI");
    c.cmd("INCR x");
    assert_eq!(c.cmd("EXEC"), R::Array(vec![R::Int(3)]));
    c.cmd("WATCH x");
    other.cmd("DEL x");
    assert_eq!(c.cmd("UNWATCH"), R::ok());
    c.cmd("MULTI");
    c.cmd("PING");
    assert_eq!(c.cmd("EXEC"), R::Array(vec![R::Simple("PONG".into())]));
    // a watched key of another database, touched by FLUSHALL
    c.cmd("SELECT 3");
    c.cmd("SET w 1");
    c.cmd("WATCH w");
    other.cmd("FLUSHALL");
    c.cmd("MULTI");
    c.cmd("PING");
    assert_eq!(c.cmd("EXEC"), R::NilArray);
    // a watched key that expires fails EXEC
    c.cmd("SET e 1 PX 20");
    c.cmd("WATCH e");
    std::thread::sleep(std::time::Duration::from_millis(40));
    c.cmd("MULTI");
    c.cmd("PING");
    assert_eq!(c.cmd("EXEC"), R::NilArray);
    // EXPIRE on a watched key touches it
    c.cmd("SET t 1");
    c.cmd("WATCH t");
    other.cmd("SELECT 3");
    other.cmd("EXPIRE t 100");
    c.cmd("MULTI");
    c.cmd("PING");
    assert_eq!(c.cmd("EXEC"), R::NilArray);
}

/// A write that leaves a named key unchanged does not touch it: SMOVE of a member the
/// destination already has changes only the source.
#[test]
fn unchanged_keys_of_a_write_stay_untouched() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let mut other = s.raw();
    c.cmd("SADD src a b");
    c.cmd("SADD dst a");
    c.cmd("WATCH dst");
    assert_eq!(other.cmd("SMOVE src dst a"), R::Int(1));
    c.cmd("MULTI");
    c.cmd("SADD dst c");
    assert_eq!(c.cmd("EXEC"), R::Array(vec![R::Int(1)]));
    c.cmd("WATCH src");
    other.cmd("SMOVE src dst b");
    c.cmd("MULTI");
    c.cmd("PING");
    assert_eq!(c.cmd("EXEC"), R::NilArray);
}

/// Fifty clients increment one counter with WATCH/MULTI/EXEC and retry on conflict:
/// the counter ends exact.
#[test]
fn optimistic_increments_from_many_clients_are_exact() {
    let s = TestServer::start(&[]);
    let port = s.port;
    let threads: Vec<_> = (0..50)
        .map(|_| {
            std::thread::spawn(move || {
                let mut c = common::Raw::connect(port);
                for _ in 0..20 {
                    loop {
                        c.cmd("WATCH counter");
                        let v = match c.cmd("GET counter") {
                            R::Bulk(b) => String::from_utf8(b).unwrap().parse::<i64>().unwrap(),
                            _ => 0,
                        };
                        c.cmd("MULTI");
                        c.cmd(&format!("SET counter {}", v + 1));
                        if c.cmd("EXEC") != R::NilArray {
                            break;
                        }
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut c = s.raw();
    assert_eq!(c.cmd("GET counter"), R::bulk("1000"));
}

/// EXEC is atomic against other clients even when its keys live on different shards.
#[test]
fn exec_is_never_observed_half_done() {
    let s = TestServer::start(&[]);
    let port = s.port;
    let writer = std::thread::spawn(move || {
        let mut c = common::Raw::connect(port);
        for _ in 0..2000 {
            c.cmd("MULTI");
            c.cmd("INCR a");
            c.cmd("INCR b");
            c.cmd("EXEC");
        }
    });
    let mut r = s.raw();
    let mut seen = 0;
    while !writer.is_finished() {
        if let R::Array(v) = r.cmd("MGET a b") {
            assert_eq!(v[0], v[1], "saw a transaction half applied");
            seen += 1;
        }
    }
    writer.join().unwrap();
    assert!(seen > 0);
    assert_eq!(
        r.cmd("MGET a b"),
        R::Array(vec![R::bulk("2000"), R::bulk("2000")])
    );
}

#[test]
fn a_refused_exec_discards_the_transaction() {
    let s = TestServer::start(&[]);
    let mut admin = s.raw();
    assert_eq!(
        admin.cmdv(&[b"ACL", b"SETUSER", b"u", b"on", b">p", b"~*", b"+@all", b"-exec"]),
        R::ok()
    );
    let mut c = s.raw();
    assert_eq!(c.cmd("AUTH u p"), R::ok());
    assert_eq!(c.cmd("MULTI"), R::ok());
    assert_eq!(c.cmd("SET a 1"), R::Simple("QUEUED".into()));
    assert_eq!(
        c.cmd("EXEC"),
        R::Err(
            "EXECABORT Transaction discarded because of: NOPERM User u has no permissions to run the 'exec' command"
                .into()
        )
    );
    assert_err(&c.cmd("DISCARD"), "ERR DISCARD without MULTI");
    assert_eq!(c.cmd("EXISTS a"), R::Int(0));
    // an EXEC with a wrong arity is refused the same way
    let mut d = s.raw();
    assert_eq!(d.cmd("MULTI"), R::ok());
    assert_eq!(
        d.cmd("EXEC extra"),
        R::Err(
            "EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command"
                .into()
        )
    );
    assert_err(&d.cmd("DISCARD"), "ERR DISCARD without MULTI");
}
