//! Wire-level behaviour: framing, inline commands, pipelining, protocol errors.
mod common;
use common::*;

#[test]
fn inline_and_multibulk_pipelined() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.send_raw(b"PING\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\nGET k\r\n");
    assert_eq!(c.read(), R::Simple("PONG".into()));
    assert_eq!(c.read(), R::ok());
    assert_eq!(c.read(), R::bulk("v"));
}

#[test]
fn protocol_errors_close_the_connection() {
    let s = TestServer::start(&[]);
    for (input, msg) in [
        (
            &b"*x\r\n"[..],
            "ERR Protocol error: invalid multibulk length",
        ),
        (b"*1\r\n$-2\r\n", "ERR Protocol error: invalid bulk length"),
        (
            b"*1\r\nfoo\r\n",
            "ERR Protocol error: expected '$', got 'f'",
        ),
        (
            b"set \"a b\r\n",
            "ERR Protocol error: unbalanced quotes in request",
        ),
    ] {
        let mut c = s.raw();
        c.send_raw(input);
        assert_eq!(c.read(), R::Err(msg.into()));
        assert!(c.is_closed(), "connection left open after {msg}");
    }
    // the server is still fine
    assert_eq!(s.raw().cmd("PING"), R::Simple("PONG".into()));
}

#[test]
fn unknown_command_and_arity_errors() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(
        c.cmd("FOO a b"),
        R::Err("ERR unknown command 'FOO', with args beginning with: 'a' 'b' ".into())
    );
    assert_eq!(
        c.cmd("GET"),
        R::Err("ERR wrong number of arguments for 'get' command".into())
    );
    assert_eq!(
        c.cmd("CONFIG GET"),
        R::Err("ERR wrong number of arguments for 'config|get' command".into())
    );
    assert_eq!(
        c.cmd("CONFIG NOPE"),
        R::Err("ERR unknown subcommand 'NOPE'. Try CONFIG HELP.".into())
    );
}

#[test]
fn resp3_hello_switches_reply_types() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    match c.cmd("HELLO 3") {
        R::Map(m) => assert!(m.contains(&(R::bulk("proto"), R::Int(3)))),
        other => panic!("{other:?}"),
    }
    assert_eq!(c.cmd("GET missing"), R::Nil);
    assert_eq!(
        c.cmd("HELLO 4"),
        R::Err("NOPROTO unsupported protocol version".into())
    );
}

#[test]
fn huge_bulk_length_is_refused_without_allocating() {
    let s = TestServer::start(&["--proto-max-bulk-len", "1mb"]);
    let mut c = s.raw();
    c.send_raw(b"*2\r\n$3\r\nGET\r\n$2000000\r\n");
    assert_eq!(
        c.read(),
        R::Err("ERR Protocol error: invalid bulk length".into())
    );
}

#[test]
fn requirepass_gates_commands() {
    let s = TestServer::start(&["--requirepass", "secret"]);
    let mut c = s.raw();
    assert_eq!(
        c.cmd("GET k"),
        R::Err("NOAUTH Authentication required.".into())
    );
    assert_eq!(
        c.cmd("AUTH wrong"),
        R::Err("WRONGPASS invalid username-password pair or user is disabled.".into())
    );
    assert_eq!(c.cmd("AUTH secret"), R::ok());
    assert_eq!(c.cmd("GET k"), R::Nil);
    let mut d = s.raw();
    assert_eq!(d.cmd("AUTH default secret"), R::ok());
}

#[test]
fn maxclients_refuses_extra_connections() {
    let s = TestServer::start(&["--maxclients", "2"]);
    let mut a = s.raw();
    // the harness's readiness probe may still be counted until the server sees it close
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while a.cmd("CLIENT LIST").text().lines().count() > 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "probe connection never went away"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let mut b = s.raw();
    assert_eq!(a.cmd("PING"), R::Simple("PONG".into()));
    assert_eq!(b.cmd("PING"), R::Simple("PONG".into()));
    let mut c = s.raw();
    assert_eq!(c.read(), R::Err("ERR max number of clients reached".into()));
}

#[test]
fn redis_crate_roundtrip() {
    let s = TestServer::start(&[]);
    let mut c = s.client();
    let _: () = redis::cmd("SET").arg("a").arg("1").query(&mut c).unwrap();
    let v: String = redis::cmd("GET").arg("a").query(&mut c).unwrap();
    assert_eq!(v, "1");
}

fn stat(c: &mut Raw, field: &str) -> i64 {
    let text = c.cmd("INFO stats").text();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in INFO stats"))
}

fn client_listed(c: &mut Raw, id: i64) -> bool {
    let needle = format!("id={id} ");
    c.cmd("CLIENT LIST").text().contains(&needle)
}

#[test]
fn normal_clients_are_held_to_their_output_buffer_limit() {
    let s = TestServer::start(&[]);
    let mut admin = s.raw();
    admin.cmdv(&[b"SET", b"big", &vec![b'v'; 1 << 20]]);
    admin.cmdv(&[b"SET", b"huge", &vec![b'v'; 16 << 20]]);
    // unlimited by default, as in Valkey
    let mut c = s.raw();
    assert_eq!(c.cmd("GET big").text().len(), 1 << 20);

    // hard limit: a reply the limit cannot hold closes the client, others go on
    assert_eq!(
        admin.cmdv(&[
            b"CONFIG",
            b"SET",
            b"client-output-buffer-limit",
            b"normal 100000 0 0"
        ]),
        R::ok()
    );
    assert!(
        admin.cmd("CONFIG GET client-output-buffer-limit").items()[1]
            .text()
            .starts_with("normal 100000 0 0 ")
    );
    let before = stat(&mut admin, "client_output_buffer_limit_disconnections");
    let mut c = s.raw();
    c.send(&[b"GET", b"big"]);
    assert!(
        c.is_closed(),
        "a 1 MB reply went to a client limited to 100 kB"
    );
    assert_eq!(
        stat(&mut admin, "client_output_buffer_limit_disconnections"),
        before + 1
    );
    let mut c = s.raw();
    assert_eq!(c.cmd("SET small v"), R::ok());
    assert_eq!(c.cmd("GET small"), R::bulk("v"));

    // soft limit: a client that leaves more than the soft limit unread for longer
    // than its seconds is closed, without reading a byte
    assert_eq!(
        admin.cmdv(&[
            b"CONFIG",
            b"SET",
            b"client-output-buffer-limit",
            b"normal 0 100000 1"
        ]),
        R::ok()
    );
    let mut slow = s.raw();
    let id = match slow.cmd("CLIENT ID") {
        R::Int(i) => i,
        other => panic!("CLIENT ID: {other:?}"),
    };
    slow.send(&[b"GET", b"huge"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while client_listed(&mut admin, id) {
        assert!(
            std::time::Instant::now() < deadline,
            "a client over the soft limit for seconds was kept"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(
        stat(&mut admin, "client_output_buffer_limit_disconnections"),
        before + 2
    );
}

#[test]
fn tcp_keepalive_is_set_on_client_sockets() {
    let listed = |port: u16| -> Option<String> {
        let out = std::process::Command::new("ss")
            .args(["-tnoH", "state", "established"])
            .arg(format!("( sport = :{port} )"))
            .output()
            .ok()?;
        Some(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let on = TestServer::start(&["--tcp-keepalive", "60"]);
    let mut c = on.raw();
    assert_eq!(c.cmd("PING"), R::Simple("PONG".into()));
    let Some(text) = listed(on.port) else {
        eprintln!("ss not installed: skipped");
        return;
    };
    assert!(text.contains("keepalive"), "{text}");
    let off = TestServer::start(&["--tcp-keepalive", "0"]);
    let mut c = off.raw();
    assert_eq!(c.cmd("PING"), R::Simple("PONG".into()));
    let text = listed(off.port).unwrap_or_default();
    assert!(!text.is_empty() && !text.contains("keepalive"), "{text}");
}
