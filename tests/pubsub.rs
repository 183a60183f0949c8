//! Pub/Sub: channels, patterns and shard channels across connections, databases and
//! protocol versions; keyspace notifications; a stalled subscriber cut off by the
//! pubsub output buffer limit.

mod common;
use common::{assert_err, Raw, TestServer, R};
use std::time::{Duration, Instant};

/// The texts of a flat reply (array or push); a null becomes "".
fn words(r: &R) -> Vec<String> {
    r.items()
        .iter()
        .map(|x| match x {
            R::Nil => String::new(),
            other => other.text(),
        })
        .collect()
}

fn w(s: &[&str]) -> Vec<String> {
    s.iter().map(|x| x.to_string()).collect()
}

/// Reads one frame and checks it is a RESP2 array (not a push) with these words.
#[track_caller]
fn expect_array(c: &mut Raw, want: &[&str]) {
    let r = c.read();
    assert!(matches!(r, R::Array(_)), "expected an array, got {r:?}");
    assert_eq!(words(&r), w(want));
}

/// Reads one frame and checks it is a RESP3 push with these words.
#[track_caller]
fn expect_push(c: &mut Raw, want: &[&str]) {
    let r = c.read();
    assert!(matches!(r, R::Push(_)), "expected a push, got {r:?}");
    assert_eq!(words(&r), w(want));
}

fn info_field(c: &mut Raw, section: &str, field: &str) -> String {
    let text = c.cmd(&format!("INFO {section}")).text();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in INFO {section}"))
        .trim()
        .to_string()
}

/// Polls `f` until it is true or a few seconds passed.
fn eventually(mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

fn hello3(c: &mut Raw) {
    let r = c.cmd("HELLO 3");
    assert!(matches!(r, R::Map(_)), "{r:?}");
}

#[test]
fn channels_and_patterns_in_resp2_and_resp3() {
    let s = TestServer::start(&[]);
    let mut sub = s.raw();
    let mut psub = s.raw();
    let mut publ = s.raw();

    sub.send(&[b"SUBSCRIBE", b"news", b"sport"]);
    expect_array(&mut sub, &["subscribe", "news", "1"]);
    expect_array(&mut sub, &["subscribe", "sport", "2"]);

    hello3(&mut psub);
    psub.send(&[b"PSUBSCRIBE", b"n*", b"s[op]ort"]);
    expect_push(&mut psub, &["psubscribe", "n*", "1"]);
    expect_push(&mut psub, &["psubscribe", "s[op]ort", "2"]);

    assert_eq!(publ.cmd("PUBLISH news hello"), R::Int(2));
    expect_array(&mut sub, &["message", "news", "hello"]);
    expect_push(&mut psub, &["pmessage", "n*", "news", "hello"]);
    assert_eq!(publ.cmd("PUBLISH sport goal"), R::Int(2));
    expect_array(&mut sub, &["message", "sport", "goal"]);
    expect_push(&mut psub, &["pmessage", "s[op]ort", "sport", "goal"]);
    assert_eq!(publ.cmd("PUBLISH nobody x"), R::Int(1));
    expect_push(&mut psub, &["pmessage", "n*", "nobody", "x"]);
    assert_eq!(publ.cmd("PUBLISH other x"), R::Int(0));

    // binary-safe channel and payload
    publ.send(&[b"PUBLISH", b"n\0\r\n", b"\x00\xff"]);
    assert_eq!(publ.read(), R::Int(1));
    let r = psub.read();
    assert_eq!(
        r.items()[3],
        R::Bulk(vec![0, 0xff]),
        "binary payload in {r:?}"
    );

    // the registry seen from PUBSUB and INFO
    assert_eq!(
        words(&publ.cmd("PUBSUB NUMSUB news sport none")),
        w(&["news", "1", "sport", "1", "none", "0"])
    );
    let mut chans = words(&publ.cmd("PUBSUB CHANNELS"));
    chans.sort();
    assert_eq!(chans, w(&["news", "sport"]));
    assert_eq!(words(&publ.cmd("PUBSUB CHANNELS n*")), w(&["news"]));
    assert_eq!(publ.cmd("PUBSUB NUMPAT"), R::Int(2));
    assert_eq!(info_field(&mut publ, "stats", "pubsub_channels"), "2");
    assert_eq!(info_field(&mut publ, "stats", "pubsub_patterns"), "2");
    assert_eq!(info_field(&mut publ, "clients", "pubsub_clients"), "2");
    let list = publ.cmd("CLIENT LIST").text();
    assert!(list.contains("sub=2 psub=0 ssub=0"), "{list}");
    assert!(list.contains("sub=0 psub=2 ssub=0"), "{list}");
    assert_err(
        &publ.cmd("PUBSUB CHANNELS a b"),
        "ERR unknown subcommand or wrong number of arguments for 'CHANNELS'",
    );
    assert_eq!(publ.cmd("PUBSUB HELP").items().len(), 14);

    // unsubscribing one by one, then from everything
    sub.send(&[b"UNSUBSCRIBE", b"news"]);
    expect_array(&mut sub, &["unsubscribe", "news", "1"]);
    psub.send(&[b"PUNSUBSCRIBE"]);
    expect_push(&mut psub, &["punsubscribe", "n*", "1"]);
    expect_push(&mut psub, &["punsubscribe", "s[op]ort", "0"]);
    sub.send(&[b"UNSUBSCRIBE"]);
    expect_array(&mut sub, &["unsubscribe", "sport", "0"]);
    sub.send(&[b"UNSUBSCRIBE"]);
    expect_array(&mut sub, &["unsubscribe", "", "0"]);
    assert_eq!(publ.cmd("PUBLISH news x"), R::Int(0));
    assert_eq!(publ.cmd("PUBSUB NUMPAT"), R::Int(0));
    assert_eq!(info_field(&mut publ, "stats", "pubsub_channels"), "0");
    // out of subscribed mode, ordinary commands work again
    assert_eq!(sub.cmd("PING"), R::Simple("PONG".into()));
}

#[test]
fn resp2_subscribed_mode_allows_few_commands() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.send(&[b"SUBSCRIBE", b"x"]);
    expect_array(&mut c, &["subscribe", "x", "1"]);
    assert_err(
        &c.cmd("GET k"),
        "ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
    );
    expect_array_reply(&mut c, "PING", &["pong", ""]);
    expect_array_reply(&mut c, "PING hi", &["pong", "hi"]);
    c.send(&[b"PSUBSCRIBE", b"y*"]);
    expect_array(&mut c, &["psubscribe", "y*", "2"]);

    // RESP3 subscribers may run anything, and PING answers normally
    let mut c3 = s.raw();
    hello3(&mut c3);
    c3.send(&[b"SUBSCRIBE", b"x"]);
    expect_push(&mut c3, &["subscribe", "x", "1"]);
    assert_eq!(c3.cmd("SET k v"), R::ok());
    assert_eq!(c3.cmd("PING"), R::Simple("PONG".into()));

    // RESET leaves subscribed mode without confirmations
    assert_eq!(c.cmd("RESET"), R::Simple("RESET".into()));
    assert_eq!(c.cmd("GET k"), R::bulk("v"));
    let mut p = s.raw();
    assert_eq!(p.cmd("PUBLISH x m"), R::Int(1));
    expect_push(&mut c3, &["message", "x", "m"]);
}

#[track_caller]
fn expect_array_reply(c: &mut Raw, line: &str, want: &[&str]) {
    let r = c.cmd(line);
    assert!(matches!(r, R::Array(_)), "{r:?}");
    assert_eq!(words(&r), w(want));
}

#[test]
fn shard_channels() {
    let s = TestServer::start(&[]);
    let mut a = s.raw();
    let mut b = s.raw();
    let mut p = s.raw();
    a.send(&[b"SSUBSCRIBE", b"s1", b"s1", b"s2"]);
    expect_array(&mut a, &["ssubscribe", "s1", "1"]);
    expect_array(&mut a, &["ssubscribe", "s1", "1"]);
    expect_array(&mut a, &["ssubscribe", "s2", "2"]);
    // shard and global namespaces are separate, and so are their counts
    b.send(&[b"SUBSCRIBE", b"s1"]);
    expect_array(&mut b, &["subscribe", "s1", "1"]);
    assert_eq!(p.cmd("SPUBLISH s1 hi"), R::Int(1));
    expect_array(&mut a, &["smessage", "s1", "hi"]);
    assert_eq!(p.cmd("PUBLISH s1 yo"), R::Int(1));
    expect_array(&mut b, &["message", "s1", "yo"]);
    assert_eq!(
        words(&p.cmd("PUBSUB SHARDNUMSUB s1 s2 s3")),
        w(&["s1", "1", "s2", "1", "s3", "0"])
    );
    let mut chans = words(&p.cmd("PUBSUB SHARDCHANNELS"));
    chans.sort();
    assert_eq!(chans, w(&["s1", "s2"]));
    assert_eq!(words(&p.cmd("PUBSUB SHARDCHANNELS *2")), w(&["s2"]));
    assert_eq!(info_field(&mut p, "stats", "pubsubshard_channels"), "2");
    a.send(&[b"SUNSUBSCRIBE", b"s2", b"nope"]);
    expect_array(&mut a, &["sunsubscribe", "s2", "1"]);
    expect_array(&mut a, &["sunsubscribe", "nope", "1"]);
    a.send(&[b"SUNSUBSCRIBE"]);
    expect_array(&mut a, &["sunsubscribe", "s1", "0"]);
    assert_eq!(p.cmd("SPUBLISH s1 hi"), R::Int(0));

    // SSUBSCRIBE is refused inside a transaction, SUBSCRIBE is not
    assert_eq!(p.cmd("MULTI"), R::ok());
    assert_eq!(p.cmd("SSUBSCRIBE z"), R::Simple("QUEUED".into()));
    let r = p.cmd("EXEC");
    assert_err(
        &r.items()[0],
        "ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client",
    );
    assert_eq!(p.cmd("MULTI"), R::ok());
    assert_eq!(p.cmd("SUBSCRIBE z"), R::Simple("QUEUED".into()));
    let r = p.cmd("EXEC");
    assert_eq!(words(&r.items()[0]), w(&["subscribe", "z", "1"]));
}

#[test]
fn disconnect_drops_subscriptions() {
    let s = TestServer::start(&[]);
    let mut p = s.raw();
    {
        let mut c = s.raw();
        c.send(&[b"SUBSCRIBE", b"a"]);
        expect_array(&mut c, &["subscribe", "a", "1"]);
        c.send(&[b"PSUBSCRIBE", b"a*"]);
        expect_array(&mut c, &["psubscribe", "a*", "2"]);
        assert_eq!(p.cmd("PUBLISH a x"), R::Int(2));
    }
    assert!(eventually(|| p.cmd("PUBLISH a x") == R::Int(0)));
    assert_eq!(p.cmd("PUBSUB NUMPAT"), R::Int(0));
    assert_eq!(info_field(&mut p, "clients", "pubsub_clients"), "0");
}

#[test]
fn subscribe_confirmations_survive_client_reply_off() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    hello3(&mut c);
    c.send(&[b"CLIENT", b"REPLY", b"OFF"]);
    c.send(&[b"PING"]);
    c.send(&[b"SUBSCRIBE", b"ch"]);
    expect_push(&mut c, &["subscribe", "ch", "1"]);
    let mut p = s.raw();
    assert_eq!(p.cmd("PUBLISH ch hi"), R::Int(1));
    expect_push(&mut c, &["message", "ch", "hi"]);
}

/// Subscribes `c` to every keyspace and keyevent channel.
fn watch_events(c: &mut Raw) {
    c.send(&[b"PSUBSCRIBE", b"__key*__:*"]);
    expect_array(c, &["psubscribe", "__key*__:*", "1"]);
}

/// Reads the next keyspace/keyevent message as (channel, payload).
fn event(c: &mut Raw) -> (String, String) {
    let r = c.read();
    let v = words(&r);
    assert_eq!(v[0], "pmessage", "{r:?}");
    (v[2].clone(), v[3].clone())
}

fn ev(ch: &str, msg: &str) -> (String, String) {
    (ch.to_string(), msg.to_string())
}

#[test]
fn keyspace_events_by_class_and_database() {
    let s = TestServer::start(&["--notify-keyspace-events", "KEA"]);
    let mut sub = s.raw();
    watch_events(&mut sub);
    let mut c = s.raw();
    assert_eq!(c.cmd("SELECT 3"), R::ok());
    c.cmd("SET foo bar");
    assert_eq!(event(&mut sub), ev("__keyspace@3__:foo", "set"));
    assert_eq!(event(&mut sub), ev("__keyevent@3__:set", "foo"));
    c.cmd("SELECT 0");
    c.cmd("LPUSH l a b");
    assert_eq!(event(&mut sub), ev("__keyspace@0__:l", "lpush"));
    assert_eq!(event(&mut sub), ev("__keyevent@0__:lpush", "l"));

    // only keyevent notifications, for some classes
    assert_eq!(c.cmd("CONFIG SET notify-keyspace-events Eh$zsg"), R::ok());
    let steps: &[(&str, &str)] = &[
        ("HSET h f v", "hset"),
        ("HINCRBY h n 2", "hincrby"),
        ("HDEL h f n", "hdel"),
        ("SADD s m", "sadd"),
        ("SREM s m", "srem"),
        ("ZADD z 1 m", "zadd"),
        ("ZINCRBY z 2 m", "zincr"),
        ("ZREM z m", "zrem"),
        ("INCRBY n 5", "incrby"),
        ("INCRBYFLOAT n 1.5", "incrbyfloat"),
        ("APPEND t abc", "append"),
        ("SETRANGE t 1 x", "setrange"),
        ("EXPIRE t 100", "expire"),
        ("PERSIST t", "persist"),
        ("RENAME t t2", "rename_from"),
    ];
    for (cmd, name) in steps {
        c.cmd(cmd);
        let (ch, key) = event(&mut sub);
        assert_eq!(ch, format!("__keyevent@0__:{name}"), "after {cmd}");
        // a removal that empties a key also deletes it
        if matches!(*name, "hdel" | "srem" | "zrem") {
            assert_eq!(event(&mut sub).0, "__keyevent@0__:del", "after {cmd}");
        }
        if *name == "rename_from" {
            assert_eq!(key, "t");
            assert_eq!(event(&mut sub), ev("__keyevent@0__:rename_to", "t2"));
        }
    }
    // lists are not enabled now: nothing is sent for them
    c.cmd("RPUSH l c");
    c.cmd("DEL l n");
    assert_eq!(event(&mut sub), ev("__keyevent@0__:del", "l"));
    assert_eq!(event(&mut sub), ev("__keyevent@0__:del", "n"));
}

#[test]
fn expired_and_new_key_events() {
    let s = TestServer::start(&["--notify-keyspace-events", "Exn", "--hz", "100"]);
    let mut sub = s.raw();
    watch_events(&mut sub);
    let mut c = s.raw();
    c.cmd("SET fresh 1");
    assert_eq!(event(&mut sub), ev("__keyevent@0__:new", "fresh"));
    // overwriting is not a creation
    c.cmd("SET fresh 2");
    c.cmd("SET other 1");
    assert_eq!(event(&mut sub), ev("__keyevent@0__:new", "other"));

    // expired by the background cycle: nobody touches the key
    c.cmd("PSETEX gone 30 v");
    assert_eq!(event(&mut sub), ev("__keyevent@0__:new", "gone"));
    assert_eq!(event(&mut sub), ev("__keyevent@0__:expired", "gone"));

    // expired on access, and with an expiry already in the past
    c.cmd("CONFIG SET notify-keyspace-events Ex");
    c.cmd("DEBUG SET-ACTIVE-EXPIRE 0");
    c.cmd("PSETEX lazy 20 v");
    std::thread::sleep(Duration::from_millis(40));
    assert_eq!(c.cmd("GET lazy"), R::Nil);
    assert_eq!(event(&mut sub), ev("__keyevent@0__:expired", "lazy"));
    c.cmd("SET past 1");
    assert_eq!(c.cmd("EXPIRE past -1"), R::Int(1));
    assert_eq!(event(&mut sub), ev("__keyevent@0__:expired", "past"));
}

/// Reads and drops whatever the server had sent until it closes the connection.
fn closed_after_draining(c: &mut Raw) -> bool {
    use std::io::Read;
    let mut buf = vec![0u8; 1 << 16];
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        match c.stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            // a read timeout means the connection is still open
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return true,
        }
    }
    false
}

#[test]
fn stalled_subscriber_is_cut_off() {
    let s = TestServer::start(&["--client-output-buffer-limit", "pubsub 256kb 0 0"]);
    // never reads a byte
    let mut stalled = s.raw();
    stalled.send(&[b"SUBSCRIBE", b"flood"]);
    // reads everything, on its own thread
    let mut reader = s.raw();
    reader.send(&[b"SUBSCRIBE", b"flood"]);
    expect_array(&mut reader, &["subscribe", "flood", "1"]);
    let mut p = s.raw();
    assert!(eventually(
        || p.cmd("PUBSUB NUMSUB flood").items()[1] == R::Int(2)
    ));

    let payload = vec![b'x'; 64 * 1024];
    let mut sent = 0usize;
    let mut cut = false;
    // The reader acknowledges every message before the next is published, so
    // only the stalled subscriber's output can pile up, however slow the
    // machine is.
    let (ack, acked) = std::sync::mpsc::channel::<()>();
    let counter = std::thread::spawn(move || {
        let mut n = 0usize;
        loop {
            let r = reader.read();
            let v = r.items();
            if v[2] == R::bulk("stop") {
                return n;
            }
            n += 1;
            if ack.send(()).is_err() {
                return n;
            }
        }
    });
    // the publisher is never held back by the stalled one
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline && sent < 4000 {
        let r = p.cmdv(&[b"PUBLISH", b"flood", &payload]);
        sent += 1;
        assert!(
            acked.recv_timeout(Duration::from_secs(20)).is_ok(),
            "the reading subscriber did not get message {sent}"
        );
        if r == R::Int(1) {
            cut = true;
            break;
        }
        assert_eq!(r, R::Int(2));
    }
    assert!(
        cut,
        "stalled subscriber still subscribed after {sent} messages"
    );
    assert!(closed_after_draining(&mut stalled));
    assert_eq!(p.cmd("PUBLISH flood stop"), R::Int(1));
    assert_eq!(counter.join().ok(), Some(sent));
    let n: u64 = info_field(&mut p, "stats", "client_output_buffer_limit_disconnections")
        .parse()
        .unwrap_or(0);
    assert!(n >= 1);
}

#[test]
fn client_kill_reaches_a_subscriber_that_stopped_reading() {
    let s = TestServer::start(&["--client-output-buffer-limit", "pubsub 0 0 0"]);
    let mut stalled = s.raw();
    let id = match stalled.cmd("CLIENT ID") {
        R::Int(i) => i,
        other => panic!("CLIENT ID: {other:?}"),
    };
    expect_array_reply(
        &mut stalled,
        "SUBSCRIBE flood",
        &["subscribe", "flood", "1"],
    );
    let mut p = s.raw();
    // 64 MB it never reads: more than any socket buffer, so the server's write
    // to it is left pending
    let payload = vec![b'x'; 1 << 20];
    for _ in 0..64 {
        assert_eq!(p.cmdv(&[b"PUBLISH", b"flood", &payload]), R::Int(1));
    }
    assert_eq!(p.cmd(&format!("CLIENT KILL ID {id}")), R::Int(1));
    // its subscriptions go with it, without it reading a byte
    assert!(
        eventually(|| p.cmd("PUBSUB NUMSUB flood").items()[1] == R::Int(0)),
        "a subscriber stuck in a write outlived CLIENT KILL"
    );
    assert!(closed_after_draining(&mut stalled));
}

#[test]
fn new_events_with_all_classes() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    // `n` is not printed next to `A`, as in Valkey, but stays enabled
    assert_eq!(c.cmd("CONFIG SET notify-keyspace-events KEAn"), R::ok());
    assert_eq!(
        words(&c.cmd("CONFIG GET notify-keyspace-events")),
        w(&["notify-keyspace-events", "AKE"])
    );
    let mut sub = s.raw();
    watch_events(&mut sub);
    // each key is announced as new right before what was done to it
    c.cmd("MSET a 1 b 2");
    for k in ["a", "b"] {
        assert_eq!(event(&mut sub), ev(&format!("__keyspace@0__:{k}"), "new"));
        assert_eq!(event(&mut sub), ev("__keyevent@0__:new", k));
        assert_eq!(event(&mut sub), ev(&format!("__keyspace@0__:{k}"), "set"));
        assert_eq!(event(&mut sub), ev("__keyevent@0__:set", k));
    }
    c.cmd("SADD s m");
    c.cmd("SMOVE s t m");
    let got: Vec<(String, String)> = (0..10).map(|_| event(&mut sub)).collect();
    let want = [
        ev("__keyspace@0__:s", "new"),
        ev("__keyevent@0__:new", "s"),
        ev("__keyspace@0__:s", "sadd"),
        ev("__keyevent@0__:sadd", "s"),
        ev("__keyspace@0__:s", "srem"),
        ev("__keyevent@0__:srem", "s"),
        ev("__keyspace@0__:s", "del"),
        ev("__keyevent@0__:del", "s"),
        ev("__keyspace@0__:t", "new"),
        ev("__keyevent@0__:new", "t"),
    ];
    assert_eq!(got, want);
    assert_eq!(event(&mut sub), ev("__keyspace@0__:t", "sadd"));
}
