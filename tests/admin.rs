//! The admin surface: INFO, CLIENT, SLOWLOG, MONITOR, PAUSE, SHUTDOWN, DEBUG, MEMORY...
mod common;
use common::*;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// INFO text as field -> value.
fn fields(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn info(c: &mut Raw, section: &str) -> HashMap<String, String> {
    let r = if section.is_empty() {
        c.cmd("INFO")
    } else {
        c.cmd(&format!("INFO {section}"))
    };
    fields(&r.text())
}

fn stat(c: &mut Raw, section: &str, field: &str) -> String {
    info(c, section)
        .get(field)
        .cloned()
        .unwrap_or_else(|| panic!("no {field} in INFO {section}"))
}

fn num(c: &mut Raw, section: &str, field: &str) -> i64 {
    stat(c, section, field).parse().expect("numeric field")
}

/// Polls `f` until it holds or `timeout` passes.
fn eventually(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    f()
}

/// The value of `field` in a CLIENT LIST/INFO line.
fn client_field(line: &str, field: &str) -> String {
    line.trim_end()
        .split(' ')
        .find_map(|kv| {
            kv.split_once('=')
                .filter(|(k, _)| *k == field)
                .map(|(_, v)| v.to_string())
        })
        .unwrap_or_else(|| panic!("no {field} in {line}"))
}

#[test]
fn info_sections_and_identity() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let text = c.cmd("INFO").text();
    assert!(text.starts_with("# Server\r\n"), "{text}");
    assert!(text.contains("\r\n\r\n# Clients\r\n"));
    let f = fields(&text);
    assert_eq!(f["redis_version"], "7.2.4");
    assert_eq!(f["server_name"], "ferrokey");
    assert_eq!(f["valkey_version"], "8.1.1");
    assert_eq!(f["server_mode"], "standalone");
    assert_eq!(f["tcp_port"], s.port.to_string());
    assert!(f["process_id"].parse::<u32>().is_ok());
    assert_eq!(f["run_id"].len(), 40);
    assert_eq!(f["role"], "master");
    assert_eq!(f["mem_allocator"], "mimalloc");
    assert_eq!(f["loading"], "0");
    assert_eq!(f["aof_last_bgrewrite_status"], "ok");
    assert_eq!(f["master_replid"].len(), 40);
    assert!(f["used_memory"].parse::<u64>().unwrap() > 0);
    assert!(f["used_memory_rss"].parse::<u64>().unwrap() > 0);
    assert!(f.contains_key("used_cpu_user"));
    assert!(f.contains_key("used_cpu_sys"));
    assert_eq!(f["cluster_enabled"], "0");
    for section in [
        "# Modules",
        "# Errorstats",
        "# Keyspace",
        "# Persistence",
        "# Stats",
        "# Replication",
        "# CPU",
    ] {
        assert!(text.contains(section), "{section} missing");
    }
    // default leaves commandstats out; all and everything have it
    assert!(!text.contains("rejected_calls"));
    c.cmd("GET x");
    for arg in ["all", "everything"] {
        let t = c.cmd(&format!("INFO {arg}")).text();
        assert!(t.contains("rejected_calls"), "{arg}");
        assert!(t.contains("used_cpu_user") && t.contains("used_memory"));
    }
    // one section, several, case-insensitive, no duplicates, unknown ones empty
    let t = c.cmd("INFO cpu").text();
    assert!(t.starts_with("# CPU\r\n") && !t.contains("used_memory"));
    let t = c.cmd("INFO commandSTATS").text();
    assert!(t.contains("cmdstat_get:calls=1,") && !t.contains("used_memory"));
    let t = c.cmd("INFO cpu all").text();
    assert_eq!(t.matches("used_cpu_user_children").count(), 1);
    let t = c.cmd("INFO cpu default").text();
    assert!(t.contains("master_repl_offset") && !t.contains("rejected_calls"));
    assert_eq!(c.cmd("INFO nosuchsection"), R::bulk(""));
    // INFO is a verbatim string under RESP3
    c.cmd("HELLO 3");
    match c.cmd("INFO server") {
        R::Verbatim(t) => assert!(t.contains("redis_version:7.2.4")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn availability_zone_in_hello_and_info() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let hello = |c: &mut Raw, v: &str| match c.cmd(&format!("HELLO {v}")) {
        R::Map(m) => m,
        R::Array(a) => a.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect(),
        other => panic!("{other:?}"),
    };
    let zone = (R::bulk("availability_zone"), R::bulk("myzone"));
    assert!(!hello(&mut c, "2").iter().any(|(k, _)| *k == zone.0));
    assert_eq!(c.cmd("CONFIG SET availability-zone myzone"), R::ok());
    assert!(hello(&mut c, "2").contains(&zone));
    assert!(hello(&mut c, "3").contains(&zone));
    assert_eq!(stat(&mut c, "server", "availability_zone"), "myzone");
}

#[test]
fn info_extended_redis_compatibility() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(
        c.cmd("CONFIG SET extended-redis-compatibility yes"),
        R::ok()
    );
    let f = info(&mut c, "server");
    assert_eq!(f["redis_mode"], "standalone");
    assert!(!f.contains_key("server_mode"));
    match c.cmd("HELLO 3") {
        R::Map(m) => {
            assert!(m.contains(&(R::bulk("server"), R::bulk("redis"))));
            assert!(m.contains(&(R::bulk("version"), R::bulk("7.2.4"))));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn info_counters_follow_activity() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let before = num(&mut c, "stats", "total_commands_processed");
    for i in 0..5 {
        c.cmd(&format!("SET k{i} v"));
    }
    let after = num(&mut c, "stats", "total_commands_processed");
    assert!(after >= before + 5, "{before} -> {after}");
    assert!(num(&mut c, "stats", "total_connections_received") >= 1);
    assert!(num(&mut c, "stats", "total_net_input_bytes") > 0);
    assert!(num(&mut c, "persistence", "rdb_changes_since_last_save") >= 5);

    c.cmd("SET vol v EX 100");
    assert_eq!(
        stat(&mut c, "keyspace", "db0"),
        "keys=6,expires=1,avg_ttl=0"
    );
    c.cmd("SELECT 3");
    c.cmd("SET other v");
    assert_eq!(
        stat(&mut c, "keyspace", "db3"),
        "keys=1,expires=0,avg_ttl=0"
    );

    // errors: by code, and per command as failed or rejected
    c.cmd("CONFIG RESETSTAT");
    assert_eq!(num(&mut c, "stats", "total_error_replies"), 0);
    assert_err(&c.cmd("SET k"), "ERR wrong number");
    assert_err(&c.cmd("NOSUCHCMD"), "ERR unknown command");
    c.cmd("SET str abc");
    assert_err(&c.cmd("CLIENT KILL 1.2.3.4:1"), "ERR No such client");
    let f = info(&mut c, "errorstats");
    assert_eq!(f["errorstat_ERR"], "count=3");
    assert_eq!(num(&mut c, "stats", "total_error_replies"), 3);
    let cs = info(&mut c, "commandstats");
    assert!(
        cs["cmdstat_set"].starts_with("calls=1,"),
        "{}",
        cs["cmdstat_set"]
    );
    assert!(cs["cmdstat_set"].ends_with("rejected_calls=1,failed_calls=0"));
    assert!(cs["cmdstat_client|kill"].ends_with("rejected_calls=0,failed_calls=1"));
    assert!(cs.contains_key("cmdstat_config|resetstat"));

    // expired keys are counted
    c.cmd("SELECT 0");
    c.cmd("SET gone v PX 10");
    std::thread::sleep(Duration::from_millis(30));
    assert_eq!(c.cmd("GET gone"), R::Nil);
    assert!(num(&mut c, "stats", "expired_keys") >= 1);
}

#[test]
fn instantaneous_ops_are_sampled() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let busy = eventually(Duration::from_secs(5), || {
        for _ in 0..200 {
            c.cmd("PING");
        }
        num(&mut c, "stats", "instantaneous_ops_per_sec") > 0
    });
    assert!(busy, "instantaneous_ops_per_sec stayed 0");
}

#[test]
fn connected_clients_tracks_connections() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(num(&mut c, "clients", "connected_clients"), 1);
    let d = s.raw();
    let mut e = s.raw();
    e.cmd("PING");
    assert!(eventually(Duration::from_secs(5), || num(
        &mut c,
        "clients",
        "connected_clients"
    ) == 3));
    drop(d);
    drop(e);
    assert!(eventually(Duration::from_secs(5), || num(
        &mut c,
        "clients",
        "connected_clients"
    ) == 1));
    assert_eq!(num(&mut c, "clients", "maxclients"), 10000);
    assert_eq!(num(&mut c, "clients", "blocked_clients"), 0);
}

#[test]
fn client_list_and_info_format() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let line = c.cmd("CLIENT INFO").text();
    assert!(line.ends_with('\n') && !line.ends_with("\n\n"));
    let keys: Vec<&str> = line
        .trim_end()
        .split(' ')
        .map(|kv| kv.split('=').next().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "addr",
            "laddr",
            "fd",
            "name",
            "age",
            "idle",
            "flags",
            "capa",
            "db",
            "sub",
            "psub",
            "ssub",
            "multi",
            "watch",
            "qbuf",
            "qbuf-free",
            "argv-mem",
            "multi-mem",
            "rbs",
            "rbp",
            "obl",
            "oll",
            "omem",
            "tot-mem",
            "events",
            "cmd",
            "user",
            "redir",
            "resp",
            "lib-name",
            "lib-ver",
            "tot-net-in",
            "tot-net-out",
            "tot-cmds"
        ]
    );
    let id = match c.cmd("CLIENT ID") {
        R::Int(i) => i,
        other => panic!("{other:?}"),
    };
    assert_eq!(client_field(&line, "id"), id.to_string());
    assert_eq!(client_field(&line, "flags"), "N");
    assert_eq!(client_field(&line, "cmd"), "client|info");
    assert_eq!(client_field(&line, "user"), "default");
    assert_eq!(client_field(&line, "multi"), "-1");
    assert_eq!(client_field(&line, "events"), "r");
    assert_eq!(
        client_field(&line, "laddr"),
        format!("127.0.0.1:{}", s.port)
    );
    // the counters move with traffic
    let again = c.cmd("CLIENT INFO").text();
    let n = |l: &str, f: &str| client_field(l, f).parse::<u64>().unwrap();
    // CLIENT ID (24 bytes) and CLIENT INFO (26 bytes) came in since
    assert_eq!(n(&again, "tot-net-in"), n(&line, "tot-net-in") + 24 + 26);
    assert!(n(&again, "tot-net-out") > n(&line, "tot-net-out"));
    assert_eq!(n(&again, "tot-cmds"), n(&line, "tot-cmds") + 2);

    // names and library attributes
    assert_eq!(c.cmd("CLIENT GETNAME"), R::Nil);
    assert_eq!(c.cmd("CLIENT SETNAME myname"), R::ok());
    assert_eq!(c.cmd("CLIENT GETNAME"), R::bulk("myname"));
    assert_err(
        &c.cmdv(&[b"CLIENT", b"SETNAME", b"foo bar"]),
        "ERR Client names cannot contain spaces",
    );
    assert_eq!(c.cmd("CLIENT SETINFO lib-name redis.py"), R::ok());
    assert_eq!(c.cmd("CLIENT SETINFO LIB-VER 1.2.3"), R::ok());
    assert_eq!(
        c.cmdv(&[b"CLIENT", b"SETINFO", b"lib-name", b"valkey py"]),
        R::Err("ERR lib-name cannot contain spaces, newlines or special characters.".into())
    );
    assert_eq!(
        c.cmd("CLIENT SETINFO badger hamster"),
        R::Err("ERR Unrecognized option 'badger'".into())
    );
    assert_eq!(
        c.cmd("CLIENT SETINFO lib-name"),
        R::Err("ERR wrong number of arguments for 'client|setinfo' command".into())
    );
    let line = c.cmd("CLIENT INFO").text();
    assert!(
        line.contains(" name=myname ") && line.contains(" lib-name=redis.py lib-ver=1.2.3 "),
        "{line}"
    );
    assert_eq!(c.cmd("RESET"), R::Simple("RESET".into()));
    let line = c.cmd("CLIENT INFO").text();
    assert!(
        line.contains(" name= ") && line.contains(" lib-name=redis.py "),
        "{line}"
    );
    assert_eq!(c.cmdv(&[b"CLIENT", b"SETNAME", b""]), R::ok());

    // CLIENT LIST: every client, one line each, with filters
    let mut other = s.raw();
    other.cmd("CLIENT SETNAME other");
    other.cmd("SELECT 2");
    let list = c.cmd("CLIENT LIST").text();
    assert_eq!(list.lines().count(), 2);
    let theirs = list.lines().find(|l| l.contains(" name=other ")).unwrap();
    assert_eq!(client_field(theirs, "db"), "2");
    assert_eq!(client_field(theirs, "cmd"), "select");
    let mine = c.cmd(&format!("CLIENT LIST ID {id}")).text();
    assert_eq!(mine.lines().count(), 1);
    assert!(mine.starts_with(&format!("id={id} ")) && mine.contains(" cmd=client|list "));
    assert_eq!(
        c.cmd(&format!("CLIENT LIST ID {id} 999999"))
            .text()
            .lines()
            .count(),
        1
    );
    assert_eq!(c.cmd("CLIENT LIST SKIPME yes").text().lines().count(), 1);
    assert_eq!(c.cmd("CLIENT LIST TYPE normal").text().lines().count(), 2);
    assert_eq!(c.cmd("CLIENT LIST TYPE pubsub").text(), "");
    assert_eq!(c.cmd("CLIENT LIST USER default").text().lines().count(), 2);
    let addr = client_field(theirs, "addr");
    assert!(c
        .cmd(&format!("CLIENT LIST ADDR {addr}"))
        .text()
        .contains(" name=other "));
    assert_eq!(c.cmd("CLIENT LIST MAXAGE 1000").text(), "");
    assert_eq!(
        c.cmd("CLIENT LIST TYPE foo"),
        R::Err("ERR Unknown client type 'foo'".into())
    );
    assert_eq!(c.cmd("CLIENT LIST ID x"), R::Err("ERR syntax error".into()));
    assert_eq!(
        c.cmd("CLIENT LIST ID 10 wrong_arg"),
        R::Err("ERR syntax error".into())
    );
    assert_eq!(
        c.cmd("CLIENT LIST ID -1"),
        R::Err("ERR client-id should be greater than 0".into())
    );
    assert_eq!(c.cmd("CLIENT CAPA redirect other"), R::ok());
    assert_eq!(client_field(&c.cmd("CLIENT INFO").text(), "capa"), "r");
    assert_eq!(
        c.cmd("CLIENT LIST USER nobody"),
        R::Err("ERR No such user 'nobody'".into())
    );
    assert_eq!(
        c.cmd("CLIENT LIST bogus"),
        R::Err("ERR syntax error".into())
    );
}

#[test]
fn client_kill_forms() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(
        c.cmd("CLIENT KILL"),
        R::Err("ERR wrong number of arguments for 'client|kill' command".into())
    );
    assert_eq!(
        c.cmd("CLIENT KILL id 10 wrong_arg"),
        R::Err("ERR syntax error".into())
    );
    assert_eq!(
        c.cmd("CLIENT KILL id str"),
        R::Err("ERR syntax error".into())
    );
    for bad in ["-1", "0"] {
        assert_eq!(
            c.cmd(&format!("CLIENT KILL id {bad}")),
            R::Err("ERR client-id should be greater than 0".into())
        );
    }
    assert_eq!(
        c.cmd("CLIENT KILL type wrong_type"),
        R::Err("ERR Unknown client type 'wrong_type'".into())
    );
    assert_eq!(
        c.cmd("CLIENT KILL user wrong_user"),
        R::Err("ERR No such user 'wrong_user'".into())
    );
    assert_eq!(
        c.cmd("CLIENT KILL skipme yes_or_no"),
        R::Err("ERR syntax error".into())
    );
    assert_eq!(
        c.cmd("CLIENT KILL maxage str"),
        R::Err("ERR maxage is not an integer or out of range".into())
    );
    assert_eq!(
        c.cmd("CLIENT KILL maxage -1"),
        R::Err("ERR maxage should be greater than 0".into())
    );
    assert_eq!(
        c.cmd("CLIENT KILL 000.123.321.567:0000"),
        R::Err("ERR No such client".into())
    );
    assert_eq!(
        c.cmd("CLIENT KILL 127.0.0.1:"),
        R::Err("ERR No such client".into())
    );

    // old form by address
    let mut victim = s.raw();
    let line = victim.cmd("CLIENT INFO").text();
    let addr = client_field(&line, "addr");
    assert_eq!(c.cmd(&format!("CLIENT KILL {addr}")), R::ok());
    assert!(victim.is_closed());

    // by id
    let mut victim = s.raw();
    let id = match victim.cmd("CLIENT ID") {
        R::Int(i) => i,
        other => panic!("{other:?}"),
    };
    assert_eq!(c.cmd(&format!("CLIENT KILL ID {id}")), R::Int(1));
    assert!(victim.is_closed());
    assert_eq!(c.cmd(&format!("CLIENT KILL ID {id}")), R::Int(0));

    // SKIPME yes kills everyone else, at once
    let mut a = s.raw();
    let mut b = s.raw();
    a.cmd("PING");
    b.cmd("PING");
    assert_eq!(num(&mut c, "clients", "connected_clients"), 3);
    assert_eq!(c.cmd("CLIENT KILL SKIPME yes"), R::Int(2));
    assert_eq!(num(&mut c, "clients", "connected_clients"), 1);
    assert!(a.is_closed() && b.is_closed());

    // SKIPME no includes the caller, which still gets its reply
    let mut d = s.raw();
    d.cmd("PING");
    assert_eq!(c.cmd("CLIENT KILL SKIPME no"), R::Int(2));
    assert!(c.is_closed());
    let mut fresh = s.raw();
    assert_eq!(fresh.cmd("PING"), R::Simple("PONG".into()));
    assert_eq!(fresh.cmd("CLIENT KILL TYPE pubsub"), R::Int(0));
    assert!(eventually(Duration::from_secs(5), || fresh
        .cmd("CLIENT LIST USER default")
        .text()
        .lines()
        .count()
        == 1));
}

#[test]
fn client_reply_modes() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.send(&[b"CLIENT", b"REPLY", b"OFF"]);
    c.send(&[b"PING", b"pong1"]);
    c.send(&[b"PING", b"pong2"]);
    assert_eq!(c.cmd("CLIENT REPLY ON"), R::ok());
    assert_eq!(c.cmd("PING pong3"), R::bulk("pong3"));
    c.send(&[b"CLIENT", b"REPLY", b"SKIP"]);
    c.send(&[b"PING", b"skipped"]);
    assert_eq!(c.cmd("PING shown"), R::bulk("shown"));
    c.send(&[b"CLIENT", b"REPLY", b"SKIP"]);
    assert_eq!(c.cmd("CLIENT REPLY ON"), R::ok());
    assert_eq!(c.cmd("PING"), R::Simple("PONG".into()));
    assert_eq!(
        c.cmd("CLIENT REPLY wrongInput"),
        R::Err("ERR syntax error".into())
    );
    assert_eq!(c.cmd("CLIENT NO-EVICT on"), R::ok());
    assert_eq!(c.cmd("CLIENT NO-TOUCH on"), R::ok());
    assert_eq!(c.cmd("READONLY"), R::ok());
    assert_eq!(client_field(&c.cmd("CLIENT INFO").text(), "flags"), "reT");
    assert_eq!(
        c.cmd("CLIENT NO-EVICT wrongInput"),
        R::Err("ERR syntax error".into())
    );
    assert_eq!(c.cmd("RESET"), R::Simple("RESET".into()));
    assert_eq!(client_field(&c.cmd("CLIENT INFO").text(), "flags"), "N");
    assert_err(
        &c.cmd("CLIENT CACHING maybe"),
        "ERR CLIENT CACHING can be called only when the client is in tracking mode",
    );
    assert_eq!(c.cmd("CLIENT GETREDIR"), R::Int(-1));
    assert!(c.cmd("CLIENT HELP").items()[0]
        .text()
        .starts_with("CLIENT <subcommand>"));
}

#[test]
fn client_pause_write_holds_writes_until_unpause() {
    let s = TestServer::start(&[]);
    let mut admin = s.raw();
    assert_eq!(stat(&mut admin, "clients", "paused_reason"), "none");
    assert_eq!(stat(&mut admin, "clients", "paused_actions"), "none");
    assert_eq!(admin.cmd("CLIENT PAUSE 100000 WRITE"), R::ok());
    assert_eq!(stat(&mut admin, "clients", "paused_reason"), "client_pause");
    assert_eq!(stat(&mut admin, "clients", "paused_actions"), "write");
    let left = num(&mut admin, "clients", "paused_timeout_milliseconds");
    assert!(left > 90_000 && left <= 100_000, "{left}");
    // reads and admin commands go through
    let mut reader = s.raw();
    assert_eq!(reader.cmd("GET foo"), R::Nil);
    assert_eq!(reader.cmd("PING"), R::Simple("PONG".into()));
    assert_eq!(num(&mut reader, "clients", "blocked_clients"), 0);
    // syntax errors are answered at once
    assert_err(&reader.cmd("SET foo"), "ERR wrong number of arguments");
    // writes wait, and show up as blocked
    let mut writer = s.raw();
    writer.send(&[b"SET", b"foo", b"bar"]);
    assert!(eventually(Duration::from_secs(5), || num(
        &mut admin,
        "clients",
        "blocked_clients"
    ) == 1));
    let list = admin.cmd("CLIENT LIST").text();
    assert!(
        list.lines().any(|l| client_field(l, "flags") == "b"),
        "{list}"
    );
    assert_eq!(admin.cmd("GET foo"), R::Nil);
    assert_eq!(admin.cmd("CLIENT UNPAUSE"), R::ok());
    assert_eq!(writer.read(), R::ok());
    assert_eq!(admin.cmd("GET foo"), R::bulk("bar"));
    assert_eq!(num(&mut admin, "clients", "blocked_clients"), 0);

    // a shorter later pause does not shorten the first one
    assert_eq!(admin.cmd("CLIENT PAUSE 60000 WRITE"), R::ok());
    assert_eq!(admin.cmd("CLIENT PAUSE 10 WRITE"), R::ok());
    std::thread::sleep(Duration::from_millis(100));
    writer.send(&[b"SET", b"foo", b"baz"]);
    assert!(eventually(Duration::from_secs(5), || num(
        &mut admin,
        "clients",
        "blocked_clients"
    ) == 1));
    assert_eq!(admin.cmd("CLIENT UNPAUSE"), R::ok());
    assert_eq!(writer.read(), R::ok());

    assert_eq!(
        admin.cmd("CLIENT PAUSE abc"),
        R::Err("ERR timeout is not an integer or out of range".into())
    );
    assert_eq!(
        admin.cmd("CLIENT PAUSE -1"),
        R::Err("ERR timeout is negative".into())
    );
    assert_eq!(
        admin.cmd("CLIENT PAUSE 10 SOME"),
        R::Err("ERR CLIENT PAUSE mode must be WRITE or ALL".into())
    );
}

#[test]
fn client_pause_all_expires_at_the_deadline() {
    let s = TestServer::start(&[]);
    let mut admin = s.raw();
    let mut other = s.raw();
    let start = Instant::now();
    assert_eq!(admin.cmd("CLIENT PAUSE 300 ALL"), R::ok());
    // a later WRITE pause does not relax an ALL pause
    let mut third = s.raw();
    third.send(&[b"CLIENT", b"PAUSE", b"20", b"WRITE"]);
    assert_eq!(other.cmd("GET foo"), R::Nil);
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(280),
        "read went through after {waited:?}"
    );
    assert!(waited < Duration::from_secs(5));
    assert_eq!(third.read(), R::ok());
    assert_eq!(other.cmd("SET a b"), R::ok());
}

#[test]
fn killed_while_paused() {
    let s = TestServer::start(&[]);
    let mut admin = s.raw();
    let mut w = s.raw();
    let id = match w.cmd("CLIENT ID") {
        R::Int(i) => i,
        other => panic!("{other:?}"),
    };
    admin.cmd("CLIENT PAUSE 100000 WRITE");
    w.send(&[b"SET", b"k", b"v"]);
    assert!(eventually(Duration::from_secs(5), || num(
        &mut admin,
        "clients",
        "blocked_clients"
    ) == 1));
    // a paused client is not a blocked command: UNBLOCK leaves it alone
    assert_eq!(admin.cmd(&format!("CLIENT UNBLOCK {id}")), R::Int(0));
    assert_eq!(admin.cmd(&format!("CLIENT KILL ID {id}")), R::Int(1));
    assert!(w.is_closed());
    assert!(eventually(Duration::from_secs(5), || num(
        &mut admin,
        "clients",
        "blocked_clients"
    ) == 0));
    admin.cmd("CLIENT UNPAUSE");
    assert_eq!(admin.cmd("EXISTS k"), R::Int(0));
}

#[test]
fn wait_blocks_until_timeout_or_unblock() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("WAIT 0 0"), R::Int(0));
    let start = Instant::now();
    assert_eq!(c.cmd("WAIT 1 200"), R::Int(0));
    assert!(start.elapsed() >= Duration::from_millis(190));
    assert_eq!(c.cmd("WAIT 1 -1"), R::Err("ERR timeout is negative".into()));
    assert_eq!(
        c.cmd("WAIT x 0"),
        R::Err("ERR value is not an integer or out of range".into())
    );

    let mut b = s.raw();
    let id = match b.cmd("CLIENT ID") {
        R::Int(i) => i,
        other => panic!("{other:?}"),
    };
    b.send(&[b"WAIT", b"1", b"0"]);
    assert!(eventually(Duration::from_secs(5), || num(
        &mut c,
        "clients",
        "blocked_clients"
    ) == 1));
    assert_eq!(c.cmd(&format!("CLIENT UNBLOCK {id}")), R::Int(1));
    assert_eq!(b.read(), R::Int(0));
    b.send(&[b"WAIT", b"1", b"0"]);
    assert!(eventually(Duration::from_secs(5), || num(
        &mut c,
        "clients",
        "blocked_clients"
    ) == 1));
    assert_eq!(c.cmd(&format!("CLIENT UNBLOCK {id} ERROR")), R::Int(1));
    assert_eq!(
        b.read(),
        R::Err("UNBLOCKED client unblocked via CLIENT UNBLOCK".into())
    );
    assert_eq!(b.cmd("PING"), R::Simple("PONG".into()));
    assert_eq!(c.cmd(&format!("CLIENT UNBLOCK {id}")), R::Int(0));
    assert_eq!(c.cmd("CLIENT UNBLOCK 999999"), R::Int(0));
    assert_eq!(
        c.cmd(&format!("CLIENT UNBLOCK {id} foo")),
        R::Err("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR".into())
    );
    assert!(stat(&mut c, "errorstats", "errorstat_UNBLOCKED").starts_with("count=1"));
}

#[test]
fn slowlog_records_commands() {
    let s = TestServer::start(&["--slowlog-log-slower-than", "1000000"]);
    let mut c = s.raw();
    assert_eq!(c.cmd("SLOWLOG LEN"), R::Int(0));
    c.cmd("CONFIG SET slowlog-log-slower-than 0");
    c.cmd("CLIENT SETNAME logger");
    c.cmd("SET key value");
    let entries = c.cmd("SLOWLOG GET 1").items();
    assert_eq!(entries.len(), 1);
    let e = entries[0].items();
    assert_eq!(e.len(), 6);
    assert_eq!(
        e[3].items(),
        vec![R::bulk("SET"), R::bulk("key"), R::bulk("value")]
    );
    match (&e[0], &e[1], &e[2]) {
        (R::Int(_), R::Int(t), R::Int(d)) => assert!(*t > 1_600_000_000 && *d >= 0),
        other => panic!("{other:?}"),
    }
    assert!(e[4].text().starts_with("127.0.0.1:"));
    assert_eq!(e[5], R::bulk("logger"));

    c.cmd("CONFIG SET slowlog-max-len 10");
    for _ in 0..30 {
        c.cmd("PING");
    }
    assert_eq!(c.cmd("SLOWLOG LEN"), R::Int(10));
    assert_eq!(c.cmd("SLOWLOG GET 5").items().len(), 5);
    assert_eq!(c.cmd("SLOWLOG GET -1").items().len(), 10);
    assert_eq!(c.cmd("SLOWLOG GET 20").items().len(), 10);
    assert_eq!(c.cmd("SLOWLOG GET 0").items().len(), 0);
    assert_eq!(
        c.cmd("SLOWLOG GET -2"),
        R::Err("ERR count should be greater than or equal to -1".into())
    );
    // arguments past 32 and bytes past 128 are trimmed
    let mut long: Vec<Vec<u8>> = vec![b"ECHO".to_vec()];
    long.push(vec![b'A'; 129]);
    let args: Vec<&[u8]> = long.iter().map(|v| v.as_slice()).collect();
    c.cmdv(&args);
    let last = c.cmd("SLOWLOG GET 1").items()[0].items()[3].items();
    assert_eq!(
        last[1].text(),
        format!("{}... (1 more bytes)", "A".repeat(128))
    );

    // RESET clears; the log keeps numbering; the log survives CONFIG RESETSTAT
    c.cmd("CONFIG SET slowlog-log-slower-than 100000");
    assert_eq!(c.cmd("SLOWLOG RESET"), R::ok());
    assert_eq!(c.cmd("SLOWLOG LEN"), R::Int(0));
    c.cmd("CONFIG SET slowlog-log-slower-than 0");
    c.cmd("CONFIG RESETSTAT");
    assert!(matches!(c.cmd("SLOWLOG LEN"), R::Int(n) if n >= 1));
    assert!(c.cmd("SLOWLOG HELP").items()[0]
        .text()
        .starts_with("SLOWLOG <subcommand>"));
}

#[test]
fn monitor_streams_commands() {
    let s = TestServer::start(&[]);
    let mut m = s.raw();
    assert_eq!(m.cmd("MONITOR"), R::ok());
    let mut c = s.raw();
    c.cmd("SET foo bar");
    c.cmd("SELECT 2");
    c.cmdv(&[b"GET", b"a\"b\n"]);
    let l1 = m.read().text();
    let l2 = m.read().text();
    let l3 = m.read().text();
    assert!(
        l1.contains(" [0 127.0.0.1:") && l1.ends_with("] \"SET\" \"foo\" \"bar\""),
        "{l1}"
    );
    let (ts, _) = l1.split_once(' ').unwrap();
    let (secs, micros) = ts.split_once('.').unwrap();
    assert!(secs.parse::<u64>().is_ok() && micros.len() == 6);
    assert!(
        l2.to_ascii_lowercase().ends_with("\"select\" \"2\""),
        "{l2}"
    );
    assert!(
        l3.contains(" [2 127.0.0.1:") && l3.ends_with(" \"a\\\"b\\n\""),
        "{l3}"
    );
    let list = c.cmd("CLIENT LIST").text();
    let monitor = list.lines().find(|l| l.contains("cmd=monitor")).unwrap();
    assert!(client_field(monitor, "flags").contains('O'));
    // RESET leaves monitor mode (lines of commands run meanwhile may come first)
    m.send(&[b"RESET"]);
    while m.read() != R::Simple("RESET".into()) {}
    c.cmd("PING");
    assert_eq!(m.cmd("PING"), R::Simple("PONG".into()));
}

#[test]
fn shutdown_exits_the_process() {
    let mut s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(
        c.cmd("SHUTDOWN ABORT"),
        R::Err("ERR No shutdown in progress.".into())
    );
    assert_eq!(
        c.cmd("SHUTDOWN NOSAVE SAVE"),
        R::Err("ERR syntax error".into())
    );
    assert_eq!(c.cmd("SHUTDOWN bogus"), R::Err("ERR syntax error".into()));
    assert_eq!(
        c.cmd("SHUTDOWN ABORT NOW"),
        R::Err("ERR syntax error".into())
    );
    c.send(&[b"SHUTDOWN", b"NOSAVE", b"NOW"]);
    assert!(c.is_closed());
    let status = s
        .wait_exit(Duration::from_secs(10))
        .expect("server still running after SHUTDOWN");
    assert!(status.success(), "{status:?}");
}

#[test]
fn debug_is_protected_and_useful() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_err(&c.cmd("DEBUG HELP"), "ERR DEBUG command not allowed.");

    let s = TestServer::start(&["--enable-debug-command", "yes"]);
    let mut c = s.raw();
    assert!(c.cmd("DEBUG HELP").items()[0]
        .text()
        .starts_with("DEBUG <subcommand>"));
    assert_err(
        &c.cmd("DEBUG NOSUCH"),
        "ERR unknown subcommand or wrong number of arguments for 'NOSUCH'. Try DEBUG HELP.",
    );
    assert_eq!(c.cmd("DEBUG POPULATE 100"), R::ok());
    assert_eq!(c.cmd("DBSIZE"), R::Int(100));
    assert_eq!(c.cmd("GET key:42"), R::bulk("value:42"));
    assert_eq!(c.cmd("DEBUG POPULATE 3 p 10"), R::ok());
    assert_eq!(c.cmd("GET p:1"), R::Bulk(b"value:1\0\0\0".to_vec()));
    assert_err(
        &c.cmd("DEBUG POPULATE -1"),
        "ERR value is out of range, must be positive",
    );

    let obj = c.cmd("DEBUG OBJECT key:1").text();
    assert!(
        obj.starts_with("Value at:")
            && obj.contains(" encoding:embstr ")
            && obj.contains(" lru_seconds_idle:"),
        "{obj}"
    );
    assert_eq!(
        c.cmd("DEBUG OBJECT nokey"),
        R::Err("ERR no such key".into())
    );

    let d1 = c.cmd("DEBUG DIGEST").text();
    assert_eq!(d1.len(), 40);
    c.cmd("SET key:1 changed");
    let d2 = c.cmd("DEBUG DIGEST").text();
    assert_ne!(d1, d2);
    c.cmd("SET key:1 value:1");
    assert_eq!(c.cmd("DEBUG DIGEST").text(), d1);
    let dv = c.cmd("DEBUG DIGEST-VALUE key:1 nokey").items();
    assert_eq!(dv[1], R::Simple("0".repeat(40)));
    c.cmd("FLUSHALL");
    assert_eq!(c.cmd("DEBUG DIGEST"), R::Simple("0".repeat(40)));

    assert_eq!(c.cmd("DEBUG SET-ACTIVE-EXPIRE 0"), R::ok());
    assert_eq!(c.cmd("DEBUG SET-ACTIVE-EXPIRE 1"), R::ok());
    assert_eq!(c.cmd("DEBUG LOG hello"), R::ok());
    assert_eq!(c.cmd("DEBUG QUICKLIST-PACKED-THRESHOLD 100"), R::ok());
    assert_eq!(
        c.cmdv(&[b"DEBUG", b"ERROR", b"FOO bar"]),
        R::Err("FOO bar".into())
    );
    let id1 = stat(&mut c, "replication", "master_replid");
    assert_eq!(c.cmd("DEBUG CHANGE-REPL-ID"), R::ok());
    assert_ne!(stat(&mut c, "replication", "master_replid"), id1);
    assert_eq!(c.cmd("DEBUG PROTOCOL integer"), R::Int(12345));

    // SLEEP holds the caller only
    let mut sleeper = s.raw();
    let start = Instant::now();
    sleeper.send(&[b"DEBUG", b"SLEEP", b"0.5"]);
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(c.cmd("PING"), R::Simple("PONG".into()));
    assert!(
        start.elapsed() < Duration::from_millis(450),
        "PING waited for DEBUG SLEEP"
    );
    assert_eq!(sleeper.read(), R::ok());
    assert!(start.elapsed() >= Duration::from_millis(490));
    assert_eq!(c.cmd("DEBUG SLEEP 0"), R::ok());
}

#[test]
fn memory_commands() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("MEMORY USAGE nokey"), R::Nil);
    c.cmd("SET foo bar");
    let small = match c.cmd("MEMORY USAGE foo") {
        R::Int(n) => n,
        other => panic!("{other:?}"),
    };
    assert!(small > 0);
    c.cmdv(&[b"SET", b"big", &[b'x'; 10000]]);
    match c.cmd("MEMORY USAGE big SAMPLES 0") {
        R::Int(n) => assert!(n > 10000 && n > small),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        c.cmd("MEMORY USAGE foo SAMPLES"),
        R::Err("ERR syntax error".into())
    );
    assert_eq!(
        c.cmd("MEMORY USAGE foo SAMPLES -1"),
        R::Err("ERR syntax error".into())
    );
    assert_eq!(
        c.cmd("MEMORY USAGE foo bar 5"),
        R::Err("ERR syntax error".into())
    );
    let stats = c.cmd("MEMORY STATS").items();
    let keys: Vec<String> = stats.iter().step_by(2).map(|k| k.text()).collect();
    assert!(keys.contains(&"peak.allocated".to_string()));
    assert!(keys.contains(&"db.0".to_string()));
    let at = keys.iter().position(|k| k == "keys.count").unwrap();
    assert_eq!(stats[2 * at + 1], R::Int(2));
    assert!(c.cmd("MEMORY DOCTOR").text().starts_with("Hi Sam"));
    assert_eq!(c.cmd("MEMORY PURGE"), R::ok());
    assert!(c
        .cmd("MEMORY MALLOC-STATS")
        .text()
        .contains("not supported"));
    assert!(c.cmd("MEMORY HELP").items()[0]
        .text()
        .starts_with("MEMORY <subcommand>"));
    assert_eq!(
        c.cmd("MEMORY USAGE"),
        R::Err("ERR wrong number of arguments for 'memory|usage' command".into())
    );
}

#[test]
fn latency_monitor() {
    let s = TestServer::start(&["--enable-debug-command", "yes"]);
    let mut c = s.raw();
    assert!(c
        .cmd("LATENCY DOCTOR")
        .text()
        .starts_with("I'm sorry, Dave"));
    assert_eq!(c.cmd("LATENCY LATEST"), R::Array(vec![]));
    assert_eq!(c.cmd("LATENCY HISTORY command"), R::Array(vec![]));
    assert_eq!(c.cmd("LATENCY RESET"), R::Int(0));
    assert_eq!(
        c.cmd("LATENCY GRAPH command"),
        R::Err("ERR No samples available for event 'command'".into())
    );
    c.cmd("CONFIG SET latency-monitor-threshold 1");
    assert!(c
        .cmd("LATENCY DOCTOR")
        .text()
        .starts_with("No latency spike was observed"));
    // inserting this many keys takes well over a millisecond
    let mut n = 0;
    while c.cmd("LATENCY LATEST").items().is_empty() {
        n += 1;
        assert!(n < 10, "no latency event recorded");
        c.cmd(&format!("DEBUG POPULATE 200000 p{n}"));
    }
    let latest = c.cmd("LATENCY LATEST").items();
    let ev = latest[0].items();
    assert_eq!(ev[0], R::bulk("command"));
    assert!(matches!(ev[2], R::Int(ms) if ms >= 1));
    assert!(c
        .cmd("LATENCY DOCTOR")
        .text()
        .contains("1. command: 1 latency spikes"));
    assert_eq!(c.cmd("LATENCY HISTORY command").items().len(), 1);
    assert!(c
        .cmd("LATENCY GRAPH command")
        .text()
        .starts_with("command - high "));
    assert_eq!(c.cmd("LATENCY RESET command"), R::Int(1));
    assert_eq!(c.cmd("LATENCY LATEST"), R::Array(vec![]));
    c.cmd("CONFIG RESETSTAT");
    c.cmd("SET a b");
    c.cmd("CLIENT ID");
    let h = c.cmd("LATENCY HISTOGRAM set client");
    let items = h.items();
    assert_eq!(items.len(), 4, "{items:?}");
    assert_eq!(items[0], R::bulk("set"));
    assert_eq!(items[1].items()[..2], [R::bulk("calls"), R::Int(1)]);
    assert_eq!(items[2], R::bulk("client|id"));
}

#[test]
fn small_server_commands() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let t = c.cmd("TIME").items();
    let secs: u64 = t[0].text().parse().unwrap();
    let micros: u64 = t[1].text().parse().unwrap();
    assert!(secs > 1_600_000_000 && micros < 1_000_000);
    match c.cmd("LASTSAVE") {
        R::Int(n) => assert!(n > 1_600_000_000),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        c.cmd("ROLE"),
        R::Array(vec![R::bulk("master"), R::Int(0), R::Array(vec![])])
    );
    assert_eq!(c.cmd("READWRITE"), R::ok());
    assert!(c.cmd("LOLWUT").text().contains("8.1.1"));

    // functions: the library store starts empty and FLUSH empties it
    assert_eq!(c.cmd("FUNCTION LIST"), R::Array(vec![]));
    assert_eq!(
        c.cmd("FUNCTION LIST LIBRARYNAME x* WITHCODE"),
        R::Array(vec![])
    );
    assert_eq!(
        c.cmd("FUNCTION LIST LIBRARYNAME"),
        R::Err("ERR library name argument was not given".into())
    );
    assert_eq!(
        c.cmd("FUNCTION LIST bogus"),
        R::Err("ERR Unknown argument bogus".into())
    );
    assert_eq!(c.cmd("FUNCTION FLUSH"), R::ok());
    assert_eq!(c.cmd("FUNCTION FLUSH ASYNC"), R::ok());
    assert_eq!(
        c.cmd("FUNCTION FLUSH bogus"),
        R::Err("ERR FUNCTION FLUSH only supports SYNC|ASYNC option".into())
    );
    assert_eq!(
        c.cmd("FUNCTION DELETE nolib"),
        R::Err("ERR Library not found".into())
    );
    assert_eq!(num(&mut c, "memory", "number_of_libraries"), 0);
    assert_eq!(c.cmd("MODULE LIST"), R::Array(vec![]));
    assert_err(
        &c.cmd("MODULE LOAD /x.so"),
        "ERR MODULE command not allowed.",
    );
    assert!(c.cmd("MODULE HELP").items()[0]
        .text()
        .starts_with("MODULE <subcommand>"));
    assert!(c.cmd("FUNCTION HELP").items()[0]
        .text()
        .starts_with("FUNCTION <subcommand>"));

    // the table declares them with Valkey's arity and flags
    let info = c.cmd("COMMAND INFO client|kill shutdown info").items();
    assert_eq!(info[0].items()[1], R::Int(-3));
    assert!(info[1].items()[2]
        .items()
        .contains(&R::Simple("admin".into())));
    assert_eq!(info[2].items()[1], R::Int(-1));
    assert_eq!(
        c.cmd("CLIENT NOPE"),
        R::Err("ERR unknown subcommand 'NOPE'. Try CLIENT HELP.".into())
    );
    assert_eq!(
        c.cmd("SLOWLOG GET 1 2"),
        R::Err(
            "ERR unknown subcommand or wrong number of arguments for 'GET'. Try SLOWLOG HELP."
                .into()
        )
    );
}

#[test]
fn debug_sleep_counts_as_slow() {
    let s = TestServer::start(&[
        "--enable-debug-command",
        "yes",
        "--slowlog-log-slower-than",
        "100000",
        "--latency-monitor-threshold",
        "100",
    ]);
    let mut c = s.raw();
    c.cmd("CLIENT SETNAME sleeper");
    c.cmd("PING");
    assert_eq!(c.cmd("SLOWLOG LEN"), R::Int(0));
    assert_eq!(c.cmd("DEBUG SLEEP 0.2"), R::ok());
    assert_eq!(c.cmd("SLOWLOG LEN"), R::Int(1));
    let e = c.cmd("SLOWLOG GET").items()[0].items();
    assert!(matches!(e[2], R::Int(us) if us > 100_000), "{e:?}");
    assert_eq!(
        e[3].items(),
        vec![R::bulk("DEBUG"), R::bulk("SLEEP"), R::bulk("0.2")]
    );
    assert_eq!(e[5], R::bulk("sleeper"));
    let ev = c.cmd("LATENCY LATEST").items();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].items()[0], R::bulk("command"));
    let e = ev[0].items();
    assert_eq!(e.len(), 6);
    assert!(matches!(e[3], R::Int(ms) if ms >= 200));
    assert_eq!(e[3], e[4]);
    assert_eq!(e[5], R::Int(1));
}

#[test]
fn command_config_and_connection_basics() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    // COMMAND introspection
    assert!(matches!(c.cmd("COMMAND COUNT"), R::Int(n) if n > 50));
    let list: Vec<String> = c.cmd("COMMAND LIST").items().iter().map(R::text).collect();
    assert!(list.contains(&"client|list".to_string()) && list.contains(&"info".to_string()));
    let docs = c.cmd("COMMAND DOCS info").items();
    assert_eq!(docs[0], R::bulk("info"));
    assert!(docs[1].items().contains(&R::bulk(
        "Returns information and statistics about the server."
    )));
    assert_eq!(
        c.cmd("COMMAND GETKEYS get key"),
        R::Array(vec![R::bulk("key")])
    );
    assert_eq!(
        c.cmd("COMMAND GETKEYS memory usage key"),
        R::Array(vec![R::bulk("key")])
    );
    let kf = c.cmd("COMMAND GETKEYSANDFLAGS get k1").items();
    assert_eq!(
        kf[0].items()[1].items(),
        vec![R::Simple("RO".into()), R::Simple("access".into())]
    );
    assert!(c.cmd("COMMAND HELP").items()[0]
        .text()
        .starts_with("COMMAND <subcommand>"));

    // CONFIG HELP and REWRITE without a file
    assert!(c.cmd("CONFIG HELP").items()[0]
        .text()
        .starts_with("CONFIG <subcommand>"));
    assert_eq!(
        c.cmd("CONFIG REWRITE"),
        R::Err("ERR The server is running without a config file".into())
    );

    // FLUSHDB empties only the selected database
    c.cmd("SET a 1");
    c.cmd("SELECT 1");
    c.cmd("SET b 1");
    assert_eq!(c.cmd("FLUSHDB"), R::ok());
    assert_eq!(c.cmd("DBSIZE"), R::Int(0));
    c.cmd("SELECT 0");
    assert_eq!(c.cmd("DBSIZE"), R::Int(1));
    assert_eq!(c.cmd("FLUSHDB ASYNC"), R::ok());
    assert_eq!(c.cmd("DBSIZE"), R::Int(0));
    assert_eq!(c.cmd("FLUSHDB bogus"), R::Err("ERR syntax error".into()));

    assert!(c.cmd("LATENCY HELP").items()[0]
        .text()
        .starts_with("LATENCY <subcommand>"));
    let stats = c.cmd("FUNCTION STATS").items();
    assert_eq!(stats[0], R::bulk("running_script"));
    assert_eq!(stats[1], R::Nil);
    match c.cmd("CLIENT TRACKINGINFO") {
        R::Array(a) => {
            assert_eq!(a[0], R::bulk("flags"));
            assert_eq!(a[1].items(), vec![R::bulk("off")]);
            assert_eq!(a[3], R::Int(-1));
        }
        other => panic!("{other:?}"),
    }
    assert_err(
        &c.cmd("MODULE LOADEX /x.so"),
        "ERR MODULE command not allowed.",
    );
    assert_err(
        &c.cmd("MODULE UNLOAD nomod"),
        "ERR MODULE command not allowed.",
    );
    let s2 = TestServer::start(&["--enable-module-command", "yes"]);
    let mut m = s2.raw();
    assert_eq!(
        m.cmd("MODULE LOAD /nonexistent.so"),
        R::Err("ERR Error loading the extension. Please check the server logs.".into())
    );
    assert_eq!(
        m.cmd("MODULE UNLOAD nomod"),
        R::Err("ERR Error unloading module: no such module with that name".into())
    );

    // QUIT answers, then closes; pipelined commands after it are not run
    c.send_raw(b"QUIT\r\nSET after 1\r\n");
    assert_eq!(c.read(), R::ok());
    assert!(c.is_closed());
    assert_eq!(s.raw().cmd("EXISTS after"), R::Int(0));
}

#[test]
fn config_rewrite_with_a_file() {
    let dir = std::env::temp_dir().join(format!("ferrokey-admin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("rewrite.conf");
    std::fs::write(&conf, "# kept comment\nmaxmemory-policy allkeys-lru\n").unwrap();
    let s = TestServer::start_with(Some(conf.to_str().unwrap()), &[]);
    let mut c = s.raw();
    assert_eq!(
        stat(&mut c, "server", "config_file"),
        std::fs::canonicalize(&conf).unwrap().display().to_string()
    );
    assert_eq!(c.cmd("CONFIG SET maxmemory-policy volatile-lru"), R::ok());
    assert_eq!(c.cmd("CONFIG REWRITE"), R::ok());
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(
        text.contains("# kept comment") && text.contains("maxmemory-policy volatile-lru"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
