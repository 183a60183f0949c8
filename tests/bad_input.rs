//! Hostile input: lengths that are negative, huge or lie, nested arrays, 512 MB
//! announcements, unauthenticated limits, NUL bytes and invalid UTF-8 in keys, and
//! integers and floats out of range everywhere commands parse them.
//!
//! Every case names the reply Valkey 8 gives. Where `valkey-server` is installed the
//! same bytes also go to a Valkey started beside ferrokey, and its replies must be the
//! ones named too, so the tables cannot drift from Valkey.
mod common;
use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// ferrokey, and Valkey beside it when installed, started with the same arguments.
fn servers(extra: &[&str]) -> (TestServer, Option<Valkey>) {
    (TestServer::start(extra), Valkey::start(extra))
}

// ---------------------------------------------------------------------------------
// Wire level
// ---------------------------------------------------------------------------------

const PING: &[u8] = b"*1\r\n$4\r\nPING\r\n";
const PONG: &[u8] = b"+PONG\r\n";

/// Sends `bytes` on a new connection and reads until the server closes it, or until
/// what arrived ends with the PONG of a PING the case ends with. Returns the bytes read
/// and whether the connection was closed.
fn exchange(port: u16, bytes: &[u8]) -> (Vec<u8>, bool) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_millis(200))).ok();
    // a server closing after a protocol error may do so before all of it was sent:
    // what it answered is still there to read
    let _ = s.write_all(bytes);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (got, true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::ConnectionReset) => {
                return (got, true)
            }
            Err(_) => {}
        }
        if got.ends_with(PONG) && bytes.ends_with(PING) {
            return (got, false);
        }
        assert!(
            Instant::now() < deadline,
            "no end to the exchange of {:?}: got {:?}",
            String::from_utf8_lossy(bytes),
            String::from_utf8_lossy(&got)
        );
    }
}

struct Wire {
    name: &'static str,
    send: Vec<u8>,
    /// The exact bytes the server answers.
    reply: Vec<u8>,
    /// Whether the server closes the connection after it (protocol errors do).
    closed: bool,
}

fn wire(name: &'static str, send: &[&[u8]], reply: &str, closed: bool) -> Wire {
    Wire {
        name,
        send: send.concat(),
        reply: reply.as_bytes().to_vec(),
        closed,
    }
}

fn perr(text: &str) -> String {
    format!("-ERR Protocol error: {text}\r\n")
}

fn wire_cases() -> Vec<Wire> {
    let unknown =
        |name: &str| format!("-ERR unknown command '{name}', with args beginning with: \r\n");
    let long = vec![b'1'; 70_000];
    vec![
        wire(
            "negative multibulk count is an empty request",
            &[b"*-5\r\n", PING],
            "+PONG\r\n",
            false,
        ),
        wire(
            "zero multibulk count is an empty request",
            &[b"*0\r\n*-1\r\n", PING],
            "+PONG\r\n",
            false,
        ),
        wire(
            "multibulk count past INT_MAX",
            &[b"*99999999999\r\n"],
            &perr("invalid multibulk length"),
            true,
        ),
        wire(
            "multibulk count past i64",
            &[b"*99999999999999999999\r\n"],
            &perr("invalid multibulk length"),
            true,
        ),
        wire(
            "multibulk count with a plus",
            &[b"*+1\r\n"],
            &perr("invalid multibulk length"),
            true,
        ),
        wire(
            "multibulk count with a leading zero",
            &[b"*01\r\n"],
            &perr("invalid multibulk length"),
            true,
        ),
        wire(
            "multibulk count with a space",
            &[b"* 1\r\n"],
            &perr("invalid multibulk length"),
            true,
        ),
        wire(
            "multibulk count not a number",
            &[b"*1x\r\n"],
            &perr("invalid multibulk length"),
            true,
        ),
        wire(
            "negative bulk length",
            &[b"*1\r\n$-2\r\n"],
            &perr("invalid bulk length"),
            true,
        ),
        wire(
            "null bulk in a request",
            &[b"*1\r\n$-1\r\n"],
            &perr("invalid bulk length"),
            true,
        ),
        wire(
            "bulk length past i64",
            &[b"*1\r\n$99999999999999999999\r\n"],
            &perr("invalid bulk length"),
            true,
        ),
        wire(
            "bulk length past proto-max-bulk-len",
            &[b"*1\r\n$536870913\r\n"],
            &perr("invalid bulk length"),
            true,
        ),
        wire(
            "bulk length with a leading zero",
            &[b"*1\r\n$04\r\nPING\r\n"],
            &perr("invalid bulk length"),
            true,
        ),
        wire(
            "bulk length not a number",
            &[b"*1\r\n$4x\r\n"],
            &perr("invalid bulk length"),
            true,
        ),
        wire(
            "nested array",
            &[b"*1\r\n*1\r\n$4\r\nPING\r\n"],
            &perr("expected '$', got '*'"),
            true,
        ),
        wire(
            "integer in a request",
            &[b"*2\r\n$3\r\nGET\r\n:1\r\n"],
            &perr("expected '$', got ':'"),
            true,
        ),
        wire(
            "bare word in a request",
            &[b"*1\r\nPING\r\n"],
            &perr("expected '$', got 'P'"),
            true,
        ),
        wire(
            // a short length takes the next bytes as its argument and CRLF; what
            // follows is read as inline requests
            "bulk shorter than announced",
            &[b"*1\r\n$4\r\nab\r\n", PING],
            &format!("{}{}+PONG\r\n", unknown("ab  "), unknown("$4")),
            false,
        ),
        wire(
            // the two bytes after the bulk are taken as its CRLF, whatever they are
            "bulk longer than announced",
            &[b"*1\r\n$2\r\nPINGcd\r\n", PING],
            &format!("{}{}+PONG\r\n", unknown("PI"), unknown("cd")),
            false,
        ),
        wire(
            "too big mbulk count string",
            &[b"*", &long],
            &perr("too big mbulk count string"),
            true,
        ),
        wire(
            "too big bulk count string",
            &[b"*1\r\n$", &long],
            &perr("too big bulk count string"),
            true,
        ),
        wire(
            "too big inline request",
            &[&vec![b'a'; 70_000]],
            &perr("too big inline request"),
            true,
        ),
        wire(
            "unbalanced quotes",
            &[b"SET \"a b\r\n"],
            &perr("unbalanced quotes in request"),
            true,
        ),
        wire(
            "closing quote not followed by a space",
            &[b"SET \"a\"b c\r\n"],
            &perr("unbalanced quotes in request"),
            true,
        ),
        wire(
            "empty inline lines",
            &[b"\r\n\n\r\n", PING],
            "+PONG\r\n",
            false,
        ),
        wire(
            // Valkey reads on inline after a line of blanks, until a request
            "a line of blanks keeps inline parsing",
            &[b"  \t \r\n", PING],
            &format!("{}{}+PONG\r\n", unknown("*1"), unknown("$4")),
            false,
        ),
        // a NUL hides the end of a line from Valkey's strchr: the line never ends
        wire(
            "NUL in an inline request",
            &[b"PI\0NG\r\n", &[b'a'; 70_000]],
            &perr("too big inline request"),
            true,
        ),
        wire(
            "NUL in a multibulk count",
            &[b"*1\0\r\n", &[b'a'; 70_000]],
            &perr("too big mbulk count string"),
            true,
        ),
        wire(
            "NUL in a bulk length",
            &[b"*1\r\n$1\0\r\n", &[b'a'; 70_000]],
            &perr("too big bulk count string"),
            true,
        ),
        wire(
            "NUL in bulk data",
            &[b"*2\r\n$4\r\nECHO\r\n$3\r\na\0b\r\n", PING],
            "$3\r\na\0b\r\n+PONG\r\n",
            false,
        ),
        wire(
            "inline with escapes",
            &[b"ECHO \"a\\x00\\xff\\n\"\r\n", PING],
            "$4\r\na\x00\u{ff}\n\r\n+PONG\r\n",
            false,
        ),
    ]
}

/// Replies are compared as bytes, except that a Latin-1 char written in the table
/// stands for its byte (the tables are Rust strings).
fn table_bytes(s: &[u8]) -> Vec<u8> {
    match std::str::from_utf8(s) {
        Ok(t) if t.chars().any(|c| (0x80..0x100).contains(&(c as u32))) => {
            t.chars().map(|c| c as u32 as u8).collect()
        }
        _ => s.to_vec(),
    }
}

fn check_wire(port: u16, who: &str, cases: &[Wire]) {
    for c in cases {
        let (got, closed) = exchange(port, &c.send);
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&table_bytes(&c.reply)),
            "{who}: {}",
            c.name
        );
        assert_eq!(got, table_bytes(&c.reply), "{who}: {}", c.name);
        assert_eq!(closed, c.closed, "{who}: {}: closed", c.name);
    }
}

#[test]
fn wire_level_lengths_and_shapes() {
    let (s, vk) = servers(&[]);
    let cases = wire_cases();
    check_wire(s.port, "ferrokey", &cases);
    if let Some(v) = &vk {
        check_wire(v.port, "valkey", &cases);
    }
    // the server is fine after all of that
    assert_eq!(s.raw().cmd("PING"), R::Simple("PONG".into()));
}

#[test]
fn smaller_proto_max_bulk_len() {
    let (s, vk) = servers(&["--proto-max-bulk-len", "1mb"]);
    let cases = vec![
        wire(
            "past the limit",
            &[b"*1\r\n$1048577\r\n"],
            &perr("invalid bulk length"),
            true,
        ),
        wire(
            "at the limit",
            &[
                b"*2\r\n$4\r\nECHO\r\n$1048576\r\n",
                &vec![b'x'; 1048576],
                b"\r\n*1\r\n$3\r\nDEL\r\n",
                PING,
            ],
            &format!(
                "$1048576\r\n{}\r\n-ERR wrong number of arguments for 'del' command\r\n+PONG\r\n",
                "x".repeat(1048576)
            ),
            false,
        ),
    ];
    check_wire(s.port, "ferrokey", &cases);
    if let Some(v) = &vk {
        check_wire(v.port, "valkey", &cases);
    }
}

/// AUTH pw, then PING: ends an exchange with a server that wants a password.
const AUTH_PING: &[u8] = b"*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n*1\r\n$4\r\nPING\r\n";

#[test]
fn unauthenticated_clients_get_small_limits() {
    let (s, vk) = servers(&["--requirepass", "pw"]);
    let mut two_bulks = b"*3\r\n$3\r\nSET\r\n".to_vec();
    for _ in 0..2 {
        two_bulks.extend_from_slice(b"$16384\r\n");
        two_bulks.extend(std::iter::repeat_n(b'a', 16384));
        two_bulks.extend_from_slice(b"\r\n");
    }
    let noauth = "-NOAUTH Authentication required.\r\n";
    let cases = vec![
        wire(
            "eleven arguments",
            &[b"*11\r\n"],
            &perr("unauthenticated multibulk length"),
            true,
        ),
        wire(
            "a bulk past 16 KiB",
            &[b"*1\r\n$16385\r\n"],
            &perr("unauthenticated bulk length"),
            true,
        ),
        // past proto-max-bulk-len is invalid for anybody, and checked first
        wire(
            "a bulk past proto-max-bulk-len",
            &[b"*1\r\n$999999999999\r\n"],
            &perr("invalid bulk length"),
            true,
        ),
        wire(
            "negative counts are still empty",
            &[b"*-1\r\n", AUTH_PING],
            "+OK\r\n+PONG\r\n",
            false,
        ),
        wire(
            "ten arguments are parsed",
            &[
                b"*10\r\n$3\r\nDEL\r\n",
                &b"$1\r\nk\r\n".repeat(9),
                AUTH_PING,
            ],
            &format!("{noauth}+OK\r\n+PONG\r\n"),
            false,
        ),
        wire(
            "bulks of 16 KiB are parsed",
            &[&two_bulks, AUTH_PING],
            &format!("{noauth}+OK\r\n+PONG\r\n"),
            false,
        ),
        // unknown commands and arity are answered before authentication is asked for
        wire(
            "unknown command",
            &[b"*1\r\n$4\r\nNOPE\r\n", AUTH_PING],
            "-ERR unknown command 'NOPE', with args beginning with: \r\n+OK\r\n+PONG\r\n",
            false,
        ),
        wire(
            "arity",
            &[b"*1\r\n$3\r\nGET\r\n", AUTH_PING],
            "-ERR wrong number of arguments for 'get' command\r\n+OK\r\n+PONG\r\n",
            false,
        ),
    ];
    check_wire(s.port, "ferrokey", &cases);
    if let Some(v) = &vk {
        check_wire(v.port, "valkey", &cases);
    }
    // once authenticated, the ordinary limits apply
    for port in std::iter::once(s.port).chain(vk.as_ref().map(|v| v.port)) {
        let mut c = Raw::connect(port);
        assert_eq!(c.cmd("AUTH pw"), R::ok());
        let big = vec![b'b'; 16385];
        let mut args: Vec<&[u8]> = vec![b"MSET"];
        for _ in 0..5 {
            args.extend([&b"a"[..], b"1"]);
        }
        args.extend([&b"b"[..], &big]);
        assert_eq!(c.cmdv(&args), R::ok(), "port {port}");
        assert_eq!(c.cmd("STRLEN b"), R::Int(16385));
    }
}

fn info_field(r: &mut Raw, section: &str, field: &str) -> i64 {
    let text = r.cmd(&format!("INFO {section}")).text();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in INFO {section}"))
}

#[test]
fn huge_announcements_are_not_allocated_up_front() {
    let s = TestServer::start(&[]);
    let mut watcher = s.raw();
    let before = info_field(&mut watcher, "memory", "used_memory");
    // a dozen clients each announce a 512 MB argument and send three bytes of it
    let mut pending = Vec::new();
    for _ in 0..12 {
        let mut c = TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
        c.write_all(b"*2\r\n$3\r\nSET\r\n$536870912\r\nabc")
            .expect("write");
        pending.push(c);
    }
    // wait until the server has read every announcement (their query buffers show it)
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let list = watcher.cmd("CLIENT LIST").text();
        let waiting = list
            .lines()
            .filter(|l| {
                l.split(' ')
                    .any(|f| f.starts_with("qbuf=") && f != "qbuf=0")
            })
            .count();
        if waiting == pending.len() {
            break;
        }
        assert!(Instant::now() < deadline, "announcements not read: {list}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let during = info_field(&mut watcher, "memory", "used_memory");
    assert!(
        during - before < 64 * 1024 * 1024,
        "12 announcements of 512 MB took {} bytes",
        during - before
    );
    // everybody else is served meanwhile
    let mut other = s.raw();
    assert_eq!(other.cmd("SET k v"), R::ok());
    assert_eq!(other.cmd("GET k"), R::bulk("v"));
    // the announcers give up: the server forgets them and keeps going
    drop(pending);
    let deadline = Instant::now() + Duration::from_secs(10);
    while info_field(&mut watcher, "clients", "connected_clients") > 2 {
        assert!(Instant::now() < deadline, "announcers not gone");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(other.cmd("DBSIZE"), R::Int(1));
}

#[test]
fn a_large_argument_arriving_in_pieces_is_whole() {
    let s = TestServer::start(&[]);
    let mut c = TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
    let n = 8 * 1024 * 1024 + 3;
    c.write_all(format!("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n${n}\r\n").as_bytes())
        .expect("write");
    let chunk = vec![b'z'; 64 * 1024];
    let mut left = n;
    while left > 0 {
        let k = left.min(chunk.len());
        c.write_all(&chunk[..k]).expect("write");
        left -= k;
    }
    c.write_all(b"\r\n").expect("write");
    c.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut b = [0u8; 5];
    c.read_exact(&mut b).expect("reply");
    assert_eq!(&b, b"+OK\r\n");
    assert_eq!(s.raw().cmd("STRLEN big"), R::Int(n as i64));
}

// ---------------------------------------------------------------------------------
// Replies rendered compactly, for tables
// ---------------------------------------------------------------------------------

/// One line per reply: `+OK`, `-ERR ...`, `:3`, `$text`, `$nil`, `*nil`,
/// `[a, b]`.
fn show(r: &R) -> String {
    match r {
        R::Simple(s) => format!("+{s}"),
        R::Err(e) => format!("-{e}"),
        R::Int(i) => format!(":{i}"),
        R::Bulk(b) => format!("${}", String::from_utf8_lossy(b).escape_debug()),
        R::Nil => "$nil".into(),
        R::NilArray => "*nil".into(),
        R::Array(v) | R::Set(v) | R::Push(v) => {
            format!("[{}]", v.iter().map(show).collect::<Vec<_>>().join(", "))
        }
        other => format!("{other:?}"),
    }
}

/// A command line template: words split on spaces, `{}` inside a word replaced by
/// the value under test (which may be empty or contain spaces), `;` between commands.
fn expand(template: &str, value: &str) -> Vec<Vec<Vec<u8>>> {
    template
        .split(" ; ")
        .map(|cmd| {
            cmd.split(' ')
                .map(|w| w.replace("{}", value).into_bytes())
                .collect()
        })
        .collect()
}

/// Keys every case starts from, on a fresh database.
const SETUP: &[&str] = &[
    "SELECT 0",
    "FLUSHALL",
    "CONFIG SET hz 10 maxmemory-samples 5 timeout 0 maxmemory-clients 0 auto-aof-rewrite-min-size 64mb",
    "SET s 10",
    "SET f 1.5",
    "SET str hello",
    "RPUSH l a b c d e f g h",
    "HSET h f 1 g 2.5",
    "SADD set a b c",
    "ZADD z 1 a 2 b 3 c",
    "SET bits x",
    "GEOADD g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania",
];

/// Runs one case on a fresh keyspace. A template starting with `?` only compares
/// whether each reply is an error, and which (SCAN cursors are the server's own).
fn run_case(r: &mut Raw, template: &str, value: &str) -> String {
    let (template, only_errors) = match template.strip_prefix('?') {
        Some(t) => (t, true),
        None => (template, false),
    };
    for line in SETUP {
        let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        let got = r.cmdv(&args);
        assert!(!got.is_err(), "setup {line}: {got:?}");
    }
    expand(template, value)
        .iter()
        .map(|cmd| {
            let args: Vec<&[u8]> = cmd.iter().map(Vec::as_slice).collect();
            match r.cmdv(&args) {
                reply if only_errors && !reply.is_err() => "(a reply)".to_string(),
                reply => show(&reply),
            }
        })
        .collect::<Vec<_>>()
        .join(" ; ")
}

/// Runs every template with every value; returns the mismatches with `expected`.
fn check_table(r: &mut Raw, who: &str, values: &[&str], table: &[(&str, &[&str])]) -> Vec<String> {
    let mut bad = Vec::new();
    for (template, want) in table {
        // one reply for every value, or one per value
        assert!(
            want.len() == 1 || want.len() == values.len(),
            "{template}: one reply, or one per value"
        );
        for (i, v) in values.iter().enumerate() {
            let w = want[i.min(want.len() - 1)];
            let got = run_case(r, template, v);
            if got != w {
                bad.push(format!(
                    "{who}: {template} with {v:?}:\n   got {got}\n  want {w}"
                ));
            }
        }
    }
    bad
}

fn check_against_both(values: &[&str], table: &[(&str, &[&str])]) {
    let (s, vk) = servers(&[]);
    let mut bad = check_table(&mut s.raw(), "ferrokey", values, table);
    if let Some(v) = &vk {
        bad.extend(check_table(
            &mut Raw::connect(v.port),
            "valkey",
            values,
            table,
        ));
    }
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// Prints a table's expectations as Valkey answers them (run with --ignored when a
/// command is added to a table, and paste the output).
fn print_table(values: &[&str], templates: &[&str]) {
    let Some(v) = Valkey::start(&[]) else {
        eprintln!("valkey-server is not installed");
        return;
    };
    let mut r = Raw::connect(v.port);
    for t in templates {
        let mut got: Vec<String> = values.iter().map(|v| run_case(&mut r, t, v)).collect();
        if got.iter().all(|g| *g == got[0]) {
            got.truncate(1);
        }
        println!("    (\n        {t:?},\n        &[");
        for g in got {
            println!("            {g:?},");
        }
        println!("        ],\n    ),");
    }
}

// ---------------------------------------------------------------------------------
// Integers out of range wherever an integer is parsed
// ---------------------------------------------------------------------------------

const BAD_INTS: &[&str] = &[
    "9223372036854775808",
    "-9223372036854775809",
    // i64::MIN: outside the -LONG_MAX..LONG_MAX ranges some counts are read in
    "-9223372036854775808",
    "1e3",
    " 1",
    "0x10",
    "",
];

const INT_TEMPLATES: &[&str] = &[
    "EXPIRE s {}",
    "PEXPIRE s {}",
    "EXPIREAT s {}",
    "PEXPIREAT s {}",
    "EXPIRE s {} NX",
    "SETEX k {} v",
    "PSETEX k {} v",
    "SET k v EX {}",
    "SET k v PX {}",
    "SET k v EXAT {}",
    "SET k v PXAT {}",
    "GETEX s EX {}",
    "GETEX s PXAT {}",
    "INCRBY s {}",
    "DECRBY s {}",
    "SET x {} ; INCR x",
    "SET x {} ; DECRBY x 1",
    "HINCRBY h f {}",
    "HSET h n {} ; HINCRBY h n 1",
    "SETRANGE str {} x",
    "GETRANGE str {} 2",
    "GETRANGE str 0 {}",
    "LRANGE l {} 2",
    "LRANGE l 0 {}",
    "LINDEX l {}",
    "LTRIM l {} 1",
    "LPOS l a RANK {}",
    "LPOS l a COUNT {}",
    "LPOS l a MAXLEN {}",
    "LPOP l {}",
    "RPOP l {}",
    "LMPOP 1 l LEFT COUNT {}",
    "LMPOP {} l LEFT",
    "BLPOP l {}",
    "BLMOVE l l2 LEFT LEFT {}",
    "BLMPOP {} 1 l LEFT",
    "SRANDMEMBER set {}",
    "SPOP set {}",
    "SINTERCARD 1 set LIMIT {}",
    "SINTERCARD {} set",
    "SMISMEMBER set {}",
    "HRANDFIELD h {}",
    "ZRANDMEMBER z {}",
    "ZRANGE z {} 1",
    "ZRANGE z 0 -1 BYSCORE LIMIT {} 1",
    "ZRANGEBYSCORE z -inf +inf LIMIT 0 {}",
    "ZREMRANGEBYRANK z {} 1",
    "ZPOPMIN z {}",
    "ZMPOP 1 z MIN COUNT {}",
    "ZMPOP {} z MIN",
    "BZPOPMIN z {}",
    "ZINTERCARD 1 z LIMIT {}",
    "ZUNIONSTORE d {} z",
    "ZRANGESTORE d z {} 1",
    "?SCAN {}",
    "SCAN 0 COUNT {}",
    "?SSCAN set {}",
    "?HSCAN h {}",
    "?ZSCAN z {}",
    "HSCAN h 0 COUNT {}",
    "ZSCAN z 0 COUNT {}",
    "BITCOUNT bits {} 1",
    "BITPOS bits 1 {}",
    "SETBIT bits {} 1",
    "SETBIT bits 1 {}",
    "GETBIT bits {}",
    "BITFIELD bits GET u8 {}",
    "BITFIELD bits SET i8 0 {}",
    "BITFIELD bits INCRBY i8 0 {}",
    "BITFIELD_RO bits GET i8 {}",
    "SELECT {}",
    "MOVE s {}",
    "SWAPDB 0 {}",
    "COPY s s2 DB {}",
    // (CLIENT KILL/LIST ID: Valkey 8.1 answers a syntax error where 8.0 has texts of
    // its own; tests/admin.rs holds 8.1's)
    "CLIENT PAUSE {}",
    "CONFIG SET hz {}",
    "CONFIG SET maxmemory-samples {}",
    "CONFIG SET timeout {}",
    // (maxmemory itself takes values past i64 in Valkey, 2^63 included: not here)
    "CONFIG SET maxmemory-clients {}",
    "CONFIG SET auto-aof-rewrite-min-size {}",
    "SORT l LIMIT {} 1",
    "SORT l LIMIT 0 {}",
    "RESTORE k {} x",
    "GEORADIUS g 15 37 200 km COUNT {}",
    "GEOSEARCH g FROMLONLAT 15 37 BYRADIUS 200 km COUNT {}",
    "WAIT {} 0",
    "WAIT 0 {}",
    "EVAL return {}",
    "SLOWLOG GET {}",
    "MEMORY USAGE s SAMPLES {}",
    "HELLO {}",
    "ACL LOG {}",
    "LRANGE {} 0 1",
    "LREM l {} a",
    "ZRANDMEMBER z {} WITHSCORES",
    "HRANDFIELD h {} WITHVALUES",
];

/// Valkey 8's replies to [`INT_TEMPLATES`] with each of [`BAD_INTS`] (one reply: the
/// same for every value), as `print_int_table` prints them.
const INT_TABLE: &[(&str, &[&str])] = &[
    (
        "EXPIRE s {}",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR invalid expire time in 'expire' command",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "PEXPIRE s {}",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            ":1",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "EXPIREAT s {}",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR invalid expire time in 'expireat' command",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "PEXPIREAT s {}",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            ":1",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "EXPIRE s {} NX",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR invalid expire time in 'expire' command",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "SETEX k {} v",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR invalid expire time in 'setex' command",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "PSETEX k {} v",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR invalid expire time in 'psetex' command",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "SET k v EX {}",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR invalid expire time in 'set' command",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "SET k v PX {}",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR invalid expire time in 'set' command",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "SET k v EXAT {}",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR invalid expire time in 'set' command",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "SET k v PXAT {}",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR invalid expire time in 'set' command",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "GETEX s EX {}",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR invalid expire time in 'getex' command",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "GETEX s PXAT {}",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR invalid expire time in 'getex' command",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "INCRBY s {}",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            ":-9223372036854775798",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "DECRBY s {}",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR decrement would overflow",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "SET x {} ; INCR x",
        &[
            "+OK ; -ERR value is not an integer or out of range",
            "+OK ; -ERR value is not an integer or out of range",
            "+OK ; :-9223372036854775807",
            "+OK ; -ERR value is not an integer or out of range",
            "+OK ; -ERR value is not an integer or out of range",
            "+OK ; -ERR value is not an integer or out of range",
            "+OK ; -ERR value is not an integer or out of range",
        ],
    ),
    (
        "SET x {} ; DECRBY x 1",
        &[
            "+OK ; -ERR value is not an integer or out of range",
            "+OK ; -ERR value is not an integer or out of range",
            "+OK ; -ERR increment or decrement would overflow",
            "+OK ; -ERR value is not an integer or out of range",
            "+OK ; -ERR value is not an integer or out of range",
            "+OK ; -ERR value is not an integer or out of range",
            "+OK ; -ERR value is not an integer or out of range",
        ],
    ),
    (
        "HINCRBY h f {}",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            ":-9223372036854775807",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "HSET h n {} ; HINCRBY h n 1",
        &[
            ":1 ; -ERR hash value is not an integer",
            ":1 ; -ERR hash value is not an integer",
            ":1 ; :-9223372036854775807",
            ":1 ; -ERR hash value is not an integer",
            ":1 ; -ERR hash value is not an integer",
            ":1 ; -ERR hash value is not an integer",
            ":1 ; -ERR hash value is not an integer",
        ],
    ),
    (
        "SETRANGE str {} x",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR offset is out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "GETRANGE str {} 2",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "$hel",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "GETRANGE str 0 {}",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "$h",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "LRANGE l {} 2",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "[$a, $b, $c]",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "LRANGE l 0 {}",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "[]",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "LINDEX l {}",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "$nil",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "LTRIM l {} 1",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "+OK",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "LPOS l a RANK {}",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "LPOS l a COUNT {}",
        &[
            "-ERR COUNT can't be negative",
        ],
    ),
    (
        "LPOS l a MAXLEN {}",
        &[
            "-ERR MAXLEN can't be negative",
        ],
    ),
    (
        "LPOP l {}",
        &[
            "-ERR value is out of range, must be positive",
        ],
    ),
    (
        "RPOP l {}",
        &[
            "-ERR value is out of range, must be positive",
        ],
    ),
    (
        "LMPOP 1 l LEFT COUNT {}",
        &[
            "-ERR count should be greater than 0",
        ],
    ),
    (
        "LMPOP {} l LEFT",
        &[
            "-ERR numkeys should be greater than 0",
        ],
    ),
    (
        "BLPOP l {}",
        &[
            "-ERR timeout is out of range",
            "-ERR timeout is negative",
            "-ERR timeout is negative",
            "[$l, $a]",
            "-ERR timeout is not a float or out of range",
            "[$l, $a]",
            "-ERR timeout is not a float or out of range",
        ],
    ),
    (
        "BLMOVE l l2 LEFT LEFT {}",
        &[
            "-ERR timeout is out of range",
            "-ERR timeout is negative",
            "-ERR timeout is negative",
            "$a",
            "-ERR timeout is not a float or out of range",
            "$a",
            "-ERR timeout is not a float or out of range",
        ],
    ),
    (
        "BLMPOP {} 1 l LEFT",
        &[
            "-ERR timeout is out of range",
            "-ERR timeout is negative",
            "-ERR timeout is negative",
            "[$l, [$a]]",
            "-ERR timeout is not a float or out of range",
            "[$l, [$a]]",
            "-ERR timeout is not a float or out of range",
        ],
    ),
    (
        "SRANDMEMBER set {}",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "SPOP set {}",
        &[
            "-ERR value is out of range, must be positive",
        ],
    ),
    (
        "SINTERCARD 1 set LIMIT {}",
        &[
            "-ERR LIMIT can't be negative",
        ],
    ),
    (
        "SINTERCARD {} set",
        &[
            "-ERR numkeys should be greater than 0",
        ],
    ),
    (
        "SMISMEMBER set {}",
        &[
            "[:0]",
        ],
    ),
    (
        "HRANDFIELD h {}",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "ZRANDMEMBER z {}",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "ZRANGE z {} 1",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "[$a, $b]",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "ZRANGE z 0 -1 BYSCORE LIMIT {} 1",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "[]",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "ZRANGEBYSCORE z -inf +inf LIMIT 0 {}",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "[$a, $b, $c]",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "ZREMRANGEBYRANK z {} 1",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            ":2",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "ZPOPMIN z {}",
        &[
            "-ERR value is out of range, must be positive",
        ],
    ),
    (
        "ZMPOP 1 z MIN COUNT {}",
        &[
            "-ERR count should be greater than 0",
        ],
    ),
    (
        "ZMPOP {} z MIN",
        &[
            "-ERR numkeys should be greater than 0",
        ],
    ),
    (
        "BZPOPMIN z {}",
        &[
            "-ERR timeout is out of range",
            "-ERR timeout is negative",
            "-ERR timeout is negative",
            "[$z, $a, $1]",
            "-ERR timeout is not a float or out of range",
            "[$z, $a, $1]",
            "-ERR timeout is not a float or out of range",
        ],
    ),
    (
        "ZINTERCARD 1 z LIMIT {}",
        &[
            "-ERR LIMIT can't be negative",
        ],
    ),
    (
        "ZUNIONSTORE d {} z",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR at least 1 input key is needed for 'zunionstore' command",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "ZRANGESTORE d z {} 1",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            ":2",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "?SCAN {}",
        &[
            "(a reply)",
            "(a reply)",
            "-ERR invalid cursor",
            "-ERR invalid cursor",
            "(a reply)",
            "-ERR invalid cursor",
            "-ERR invalid cursor",
        ],
    ),
    (
        "SCAN 0 COUNT {}",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR syntax error",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "?SSCAN set {}",
        &[
            "(a reply)",
            "(a reply)",
            "-ERR invalid cursor",
            "-ERR invalid cursor",
            "(a reply)",
            "-ERR invalid cursor",
            "-ERR invalid cursor",
        ],
    ),
    (
        "?HSCAN h {}",
        &[
            "(a reply)",
            "(a reply)",
            "-ERR invalid cursor",
            "-ERR invalid cursor",
            "(a reply)",
            "-ERR invalid cursor",
            "-ERR invalid cursor",
        ],
    ),
    (
        "?ZSCAN z {}",
        &[
            "(a reply)",
            "(a reply)",
            "-ERR invalid cursor",
            "-ERR invalid cursor",
            "(a reply)",
            "-ERR invalid cursor",
            "-ERR invalid cursor",
        ],
    ),
    (
        "HSCAN h 0 COUNT {}",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR syntax error",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "ZSCAN z 0 COUNT {}",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR syntax error",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "BITCOUNT bits {} 1",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            ":4",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "BITPOS bits 1 {}",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            ":1",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "SETBIT bits {} 1",
        &[
            "-ERR bit offset is not an integer or out of range",
        ],
    ),
    (
        "SETBIT bits 1 {}",
        &[
            "-ERR bit is not an integer or out of range",
        ],
    ),
    (
        "GETBIT bits {}",
        &[
            "-ERR bit offset is not an integer or out of range",
        ],
    ),
    (
        "BITFIELD bits GET u8 {}",
        &[
            "-ERR bit offset is not an integer or out of range",
        ],
    ),
    (
        "BITFIELD bits SET i8 0 {}",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "[:120]",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "BITFIELD bits INCRBY i8 0 {}",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "[:120]",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "BITFIELD_RO bits GET i8 {}",
        &[
            "-ERR bit offset is not an integer or out of range",
        ],
    ),
    (
        "SELECT {}",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is out of range, value must between -2147483648 and 2147483647",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "MOVE s {}",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is out of range, value must between -2147483648 and 2147483647",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "SWAPDB 0 {}",
        &[
            "-ERR invalid second DB index",
        ],
    ),
    (
        "COPY s s2 DB {}",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is out of range, value must between -2147483648 and 2147483647",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "CLIENT PAUSE {}",
        &[
            "-ERR timeout is not an integer or out of range",
            "-ERR timeout is not an integer or out of range",
            "-ERR timeout is negative",
            "-ERR timeout is not an integer or out of range",
            "-ERR timeout is not an integer or out of range",
            "-ERR timeout is not an integer or out of range",
            "-ERR timeout is not an integer or out of range",
        ],
    ),
    (
        "CONFIG SET hz {}",
        &[
            "-ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer",
            "-ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer",
            "-ERR CONFIG SET failed (possibly related to argument 'hz') - argument must be between 0 and 2147483647 inclusive",
            "-ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer",
            "-ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer",
            "-ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer",
            "-ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer",
        ],
    ),
    (
        "CONFIG SET maxmemory-samples {}",
        &[
            "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-samples') - argument couldn't be parsed into an integer",
            "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-samples') - argument couldn't be parsed into an integer",
            "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-samples') - argument must be between 1 and 64 inclusive",
            "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-samples') - argument couldn't be parsed into an integer",
            "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-samples') - argument couldn't be parsed into an integer",
            "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-samples') - argument couldn't be parsed into an integer",
            "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-samples') - argument couldn't be parsed into an integer",
        ],
    ),
    (
        "CONFIG SET timeout {}",
        &[
            "-ERR CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be parsed into an integer",
            "-ERR CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be parsed into an integer",
            "-ERR CONFIG SET failed (possibly related to argument 'timeout') - argument must be between 0 and 2147483647 inclusive",
            "-ERR CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be parsed into an integer",
            "-ERR CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be parsed into an integer",
            "-ERR CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be parsed into an integer",
            "-ERR CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be parsed into an integer",
        ],
    ),
    (
        "CONFIG SET maxmemory-clients {}",
        &[
            "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - percentage argument must be less or equal to 100",
            "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - argument must be a memory or percent value",
            "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - argument must be a memory or percent value",
            "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - argument must be a memory or percent value",
            "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - argument must be a memory or percent value",
            "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - argument must be a memory or percent value",
            "+OK",
        ],
    ),
    (
        "CONFIG SET auto-aof-rewrite-min-size {}",
        &[
            "-ERR CONFIG SET failed (possibly related to argument 'auto-aof-rewrite-min-size') - argument must be between 0 and 9223372036854775807 inclusive",
            "-ERR CONFIG SET failed (possibly related to argument 'auto-aof-rewrite-min-size') - argument must be a memory value",
            "-ERR CONFIG SET failed (possibly related to argument 'auto-aof-rewrite-min-size') - argument must be a memory value",
            "-ERR CONFIG SET failed (possibly related to argument 'auto-aof-rewrite-min-size') - argument must be a memory value",
            "-ERR CONFIG SET failed (possibly related to argument 'auto-aof-rewrite-min-size') - argument must be a memory value",
            "-ERR CONFIG SET failed (possibly related to argument 'auto-aof-rewrite-min-size') - argument must be a memory value",
            "+OK",
        ],
    ),
    (
        "SORT l LIMIT {} 1",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR One or more scores can't be converted into double",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "SORT l LIMIT 0 {}",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR One or more scores can't be converted into double",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "RESTORE k {} x",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR Invalid TTL value, must be >= 0",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "GEORADIUS g 15 37 200 km COUNT {}",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR COUNT must be > 0",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "GEOSEARCH g FROMLONLAT 15 37 BYRADIUS 200 km COUNT {}",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR COUNT must be > 0",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "WAIT {} 0",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            ":0",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "WAIT 0 {}",
        &[
            "-ERR timeout is not an integer or out of range",
            "-ERR timeout is not an integer or out of range",
            "-ERR timeout is negative",
            "-ERR timeout is not an integer or out of range",
            "-ERR timeout is not an integer or out of range",
            "-ERR timeout is not an integer or out of range",
            "-ERR timeout is not an integer or out of range",
        ],
    ),
    (
        "EVAL return {}",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR Number of keys can't be negative",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "SLOWLOG GET {}",
        &[
            "-ERR count should be greater than or equal to -1",
        ],
    ),
    (
        "MEMORY USAGE s SAMPLES {}",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR syntax error",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "HELLO {}",
        &[
            "-ERR Protocol version is not an integer or out of range",
            "-ERR Protocol version is not an integer or out of range",
            "-NOPROTO unsupported protocol version",
            "-ERR Protocol version is not an integer or out of range",
            "-ERR Protocol version is not an integer or out of range",
            "-ERR Protocol version is not an integer or out of range",
            "-ERR Protocol version is not an integer or out of range",
        ],
    ),
    (
        "ACL LOG {}",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "[]",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "LRANGE {} 0 1",
        &[
            "[]",
        ],
    ),
    (
        "LREM l {} a",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "ZRANDMEMBER z {} WITHSCORES",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "HRANDFIELD h {} WITHVALUES",
        &[
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
        ],
    ),
];

#[test]
fn integers_out_of_range() {
    assert_eq!(
        INT_TABLE.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
        INT_TEMPLATES,
        "INT_TABLE is stale: run print_int_table"
    );
    check_against_both(BAD_INTS, INT_TABLE);
}

/// Arguments Valkey reads as a C int, past 32 bits (kept apart: elsewhere such values
/// are valid counts and offsets, and ask for gigabytes).
const INT32_TABLE: &[(&str, &[&str])] = &[
    (
        "SELECT {}",
        &["-ERR value is out of range, value must between -2147483648 and 2147483647"],
    ),
    (
        "MOVE s {}",
        &["-ERR value is out of range, value must between -2147483648 and 2147483647"],
    ),
    (
        "COPY s s2 DB {}",
        &["-ERR value is out of range, value must between -2147483648 and 2147483647"],
    ),
    ("SWAPDB 0 {}", &["-ERR invalid second DB index"]),
    ("SWAPDB {} 0", &["-ERR invalid first DB index"]),
];

/// LSET with i64::MIN hits undefined behaviour in Valkey (it negates the index) and
/// answers OK; here it is an index out of range. The other values as everywhere.
#[test]
fn lset_index() {
    let values: Vec<&str> = BAD_INTS
        .iter()
        .copied()
        .filter(|v| *v != "-9223372036854775808")
        .collect();
    check_against_both(
        &values,
        &[(
            "LSET l {} x",
            &["-ERR value is not an integer or out of range"],
        )],
    );
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("RPUSH l a"), R::Int(1));
    assert_err(
        &c.cmd("LSET l -9223372036854775808 x"),
        "ERR index out of range",
    );
}

#[test]
fn integers_past_32_bits() {
    check_against_both(&["2147483648", "-2147483649"], INT32_TABLE);
}

#[test]
#[ignore = "prints the integer table from valkey-server"]
fn print_int_table() {
    print_table(BAD_INTS, INT_TEMPLATES);
}

// ---------------------------------------------------------------------------------
// Floats: nan, infinities, out of range, hex, leading space
// ---------------------------------------------------------------------------------

const BAD_FLOATS: &[&str] = &["nan", "inf", "-inf", "1e400", "1e-400", "0x1p3", " 1.5"];

const FLOAT_TEMPLATES: &[&str] = &[
    "INCRBYFLOAT f {}",
    "SET x {} ; INCRBYFLOAT x 1",
    "SET x 1 ; INCRBYFLOAT x {}",
    "HINCRBYFLOAT h g {}",
    "HSET h n {} ; HINCRBYFLOAT h n 1",
    "ZADD z {} m",
    "ZADD z INCR {} a",
    "ZADD z inf a ; ZADD z INCR {} a",
    "ZINCRBY z {} a",
    "ZADD z inf a ; ZINCRBY z {} a",
    "ZRANGEBYSCORE z {} +inf",
    "ZRANGEBYSCORE z -inf {}",
    "ZRANGEBYSCORE z ({} +inf",
    "ZREVRANGEBYSCORE z {} -inf",
    "ZCOUNT z {} +inf",
    "ZREMRANGEBYSCORE z {} +inf",
    "ZRANGE z {} +inf BYSCORE",
    "ZUNIONSTORE d 1 z WEIGHTS {}",
    "ZINTER 1 z WEIGHTS {} WITHSCORES",
    "GEOADD g {} 10 m",
    "GEOADD g 10 {} m",
    "GEORADIUS g 15 37 {} km",
    "GEORADIUS g {} 37 100 km",
    "GEOSEARCH g FROMLONLAT 15 {} BYRADIUS 100 km",
    "GEOSEARCH g FROMLONLAT 15 37 BYBOX {} 10 km",
    "BLPOP l {}",
    "BZPOPMIN z {}",
    "BLMPOP {} 1 l LEFT",
    "SET k v PX {}",
    "WAIT 0 {}",
];

/// Valkey 8's replies to [`FLOAT_TEMPLATES`] with each of [`BAD_FLOATS`], as
/// `print_float_table` prints them.
const FLOAT_TABLE: &[(&str, &[&str])] = &[
    (
        "INCRBYFLOAT f {}",
        &[
            "-ERR value is not a valid float",
            "-ERR increment would produce NaN or Infinity",
            "-ERR increment would produce NaN or Infinity",
            "$10000000000000000000281880683947586514586453433629052038625910693539685534008629862039363994848324160522094053927317616200295822777259255734023828976593340661017797447434546173917862448116674971723778943824391593338047470675026246684401359237513603830343735485505244955964979021825038280091068414947402456898653040951017512658092615827588920183472511643316591362664138176309734806343732497430221946880",
            "$1.5",
            "$9.5",
            "-ERR value is not a valid float",
        ],
    ),
    (
        "SET x {} ; INCRBYFLOAT x 1",
        &[
            "+OK ; -ERR value is not a valid float",
            "+OK ; -ERR increment would produce NaN or Infinity",
            "+OK ; -ERR increment would produce NaN or Infinity",
            "+OK ; $10000000000000000000281880683947586514586453433629052038625910693539685534008629862039363994848324160522094053927317616200295822777259255734023828976593340661017797447434546173917862448116674971723778943824391593338047470675026246684401359237513603830343735485505244955964979021825038280091068414947402456898653040951017512658092615827588920183472511643316591362664138176309734806343732497430221946880",
            "+OK ; $1",
            "+OK ; $9",
            "+OK ; -ERR value is not a valid float",
        ],
    ),
    (
        "SET x 1 ; INCRBYFLOAT x {}",
        &[
            "+OK ; -ERR value is not a valid float",
            "+OK ; -ERR increment would produce NaN or Infinity",
            "+OK ; -ERR increment would produce NaN or Infinity",
            "+OK ; $10000000000000000000281880683947586514586453433629052038625910693539685534008629862039363994848324160522094053927317616200295822777259255734023828976593340661017797447434546173917862448116674971723778943824391593338047470675026246684401359237513603830343735485505244955964979021825038280091068414947402456898653040951017512658092615827588920183472511643316591362664138176309734806343732497430221946880",
            "+OK ; $1",
            "+OK ; $9",
            "+OK ; -ERR value is not a valid float",
        ],
    ),
    (
        "HINCRBYFLOAT h g {}",
        &[
            "-ERR value is not a valid float",
            "-ERR value is NaN or Infinity",
            "-ERR value is NaN or Infinity",
            "$10000000000000000000281880683947586514586453433629052038625910693539685534008629862039363994848324160522094053927317616200295822777259255734023828976593340661017797447434546173917862448116674971723778943824391593338047470675026246684401359237513603830343735485505244955964979021825038280091068414947402456898653040951017512658092615827588920183472511643316591362664138176309734806343732497430221946880",
            "$2.5",
            "$10.5",
            "-ERR value is not a valid float",
        ],
    ),
    (
        "HSET h n {} ; HINCRBYFLOAT h n 1",
        &[
            ":1 ; -ERR hash value is not a float",
            ":1 ; -ERR increment would produce NaN or Infinity",
            ":1 ; -ERR increment would produce NaN or Infinity",
            ":1 ; $10000000000000000000281880683947586514586453433629052038625910693539685534008629862039363994848324160522094053927317616200295822777259255734023828976593340661017797447434546173917862448116674971723778943824391593338047470675026246684401359237513603830343735485505244955964979021825038280091068414947402456898653040951017512658092615827588920183472511643316591362664138176309734806343732497430221946880",
            ":1 ; $1",
            ":1 ; $9",
            ":1 ; -ERR hash value is not a float",
        ],
    ),
    (
        "ZADD z {} m",
        &[
            "-ERR value is not a valid float",
            ":1",
            ":1",
            "-ERR value is not a valid float",
            "-ERR value is not a valid float",
            ":1",
            "-ERR value is not a valid float",
        ],
    ),
    (
        "ZADD z INCR {} a",
        &[
            "-ERR value is not a valid float",
            "$inf",
            "$-inf",
            "-ERR value is not a valid float",
            "-ERR value is not a valid float",
            "$9",
            "-ERR value is not a valid float",
        ],
    ),
    (
        "ZADD z inf a ; ZADD z INCR {} a",
        &[
            ":0 ; -ERR value is not a valid float",
            ":0 ; $inf",
            ":0 ; -ERR resulting score is not a number (NaN)",
            ":0 ; -ERR value is not a valid float",
            ":0 ; -ERR value is not a valid float",
            ":0 ; $inf",
            ":0 ; -ERR value is not a valid float",
        ],
    ),
    (
        "ZINCRBY z {} a",
        &[
            "-ERR value is not a valid float",
            "$inf",
            "$-inf",
            "-ERR value is not a valid float",
            "-ERR value is not a valid float",
            "$9",
            "-ERR value is not a valid float",
        ],
    ),
    (
        "ZADD z inf a ; ZINCRBY z {} a",
        &[
            ":0 ; -ERR value is not a valid float",
            ":0 ; $inf",
            ":0 ; -ERR resulting score is not a number (NaN)",
            ":0 ; -ERR value is not a valid float",
            ":0 ; -ERR value is not a valid float",
            ":0 ; $inf",
            ":0 ; -ERR value is not a valid float",
        ],
    ),
    (
        "ZRANGEBYSCORE z {} +inf",
        &[
            "-ERR min or max is not a float",
            "[]",
            "[$a, $b, $c]",
            "[]",
            "[$a, $b, $c]",
            "[]",
            "[$b, $c]",
        ],
    ),
    (
        "ZRANGEBYSCORE z -inf {}",
        &[
            "-ERR min or max is not a float",
            "[$a, $b, $c]",
            "[]",
            "[$a, $b, $c]",
            "[]",
            "[$a, $b, $c]",
            "[$a]",
        ],
    ),
    (
        "ZRANGEBYSCORE z ({} +inf",
        &[
            "-ERR min or max is not a float",
            "[]",
            "[$a, $b, $c]",
            "[]",
            "[$a, $b, $c]",
            "[]",
            "[$b, $c]",
        ],
    ),
    (
        "ZREVRANGEBYSCORE z {} -inf",
        &[
            "-ERR min or max is not a float",
            "[$c, $b, $a]",
            "[]",
            "[$c, $b, $a]",
            "[]",
            "[$c, $b, $a]",
            "[$a]",
        ],
    ),
    (
        "ZCOUNT z {} +inf",
        &[
            "-ERR min or max is not a float",
            ":0",
            ":3",
            ":0",
            ":3",
            ":0",
            ":2",
        ],
    ),
    (
        "ZREMRANGEBYSCORE z {} +inf",
        &[
            "-ERR min or max is not a float",
            ":0",
            ":3",
            ":0",
            ":3",
            ":0",
            ":2",
        ],
    ),
    (
        "ZRANGE z {} +inf BYSCORE",
        &[
            "-ERR min or max is not a float",
            "[]",
            "[$a, $b, $c]",
            "[]",
            "[$a, $b, $c]",
            "[]",
            "[$b, $c]",
        ],
    ),
    (
        "ZUNIONSTORE d 1 z WEIGHTS {}",
        &[
            "-ERR weight value is not a float",
            ":3",
            ":3",
            "-ERR weight value is not a float",
            "-ERR weight value is not a float",
            ":3",
            "-ERR weight value is not a float",
        ],
    ),
    (
        "ZINTER 1 z WEIGHTS {} WITHSCORES",
        &[
            "-ERR weight value is not a float",
            "[$a, $inf, $b, $inf, $c, $inf]",
            "[$a, $-inf, $b, $-inf, $c, $-inf]",
            "-ERR weight value is not a float",
            "-ERR weight value is not a float",
            "[$a, $8, $b, $16, $c, $24]",
            "-ERR weight value is not a float",
        ],
    ),
    (
        "GEOADD g {} 10 m",
        &[
            "-ERR value is not a valid float",
            "-ERR invalid longitude,latitude pair inf,10.000000",
            "-ERR invalid longitude,latitude pair -inf,10.000000",
            "-ERR value is not a valid float",
            "-ERR value is not a valid float",
            ":1",
            "-ERR value is not a valid float",
        ],
    ),
    (
        "GEOADD g 10 {} m",
        &[
            "-ERR value is not a valid float",
            "-ERR invalid longitude,latitude pair 10.000000,inf",
            "-ERR invalid longitude,latitude pair 10.000000,-inf",
            "-ERR value is not a valid float",
            "-ERR value is not a valid float",
            ":1",
            "-ERR value is not a valid float",
        ],
    ),
    (
        "GEORADIUS g 15 37 {} km",
        &[
            "-ERR need numeric radius",
            "[$Palermo, $Catania]",
            "-ERR radius cannot be negative",
            "-ERR need numeric radius",
            "-ERR need numeric radius",
            "[]",
            "-ERR need numeric radius",
        ],
    ),
    (
        "GEORADIUS g {} 37 100 km",
        &[
            "-ERR value is not a valid float",
            "-ERR invalid longitude,latitude pair inf,37.000000",
            "-ERR invalid longitude,latitude pair -inf,37.000000",
            "-ERR value is not a valid float",
            "-ERR value is not a valid float",
            "[]",
            "-ERR value is not a valid float",
        ],
    ),
    (
        "GEOSEARCH g FROMLONLAT 15 {} BYRADIUS 100 km",
        &[
            "-ERR value is not a valid float",
            "-ERR invalid longitude,latitude pair 15.000000,inf",
            "-ERR invalid longitude,latitude pair 15.000000,-inf",
            "-ERR value is not a valid float",
            "-ERR value is not a valid float",
            "[]",
            "-ERR value is not a valid float",
        ],
    ),
    (
        "GEOSEARCH g FROMLONLAT 15 37 BYBOX {} 10 km",
        &[
            "-ERR need numeric width",
            "[]",
            "-ERR height or width cannot be negative",
            "-ERR need numeric width",
            "-ERR need numeric width",
            "[]",
            "-ERR need numeric width",
        ],
    ),
    (
        "BLPOP l {}",
        &[
            "-ERR timeout is not a float or out of range",
            "-ERR timeout is out of range",
            "-ERR timeout is negative",
            "-ERR timeout is out of range",
            "[$l, $a]",
            "[$l, $a]",
            "-ERR timeout is not a float or out of range",
        ],
    ),
    (
        "BZPOPMIN z {}",
        &[
            "-ERR timeout is not a float or out of range",
            "-ERR timeout is out of range",
            "-ERR timeout is negative",
            "-ERR timeout is out of range",
            "[$z, $a, $1]",
            "[$z, $a, $1]",
            "-ERR timeout is not a float or out of range",
        ],
    ),
    (
        "BLMPOP {} 1 l LEFT",
        &[
            "-ERR timeout is not a float or out of range",
            "-ERR timeout is out of range",
            "-ERR timeout is negative",
            "-ERR timeout is out of range",
            "[$l, [$a]]",
            "[$l, [$a]]",
            "-ERR timeout is not a float or out of range",
        ],
    ),
    (
        "SET k v PX {}",
        &[
            "-ERR value is not an integer or out of range",
        ],
    ),
    (
        "WAIT 0 {}",
        &[
            "-ERR timeout is not an integer or out of range",
        ],
    ),
];

#[test]
fn floats_nan_infinite_and_out_of_range() {
    assert_eq!(
        FLOAT_TABLE.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
        FLOAT_TEMPLATES,
        "FLOAT_TABLE is stale: run print_float_table"
    );
    check_against_both(BAD_FLOATS, FLOAT_TABLE);
}

#[test]
#[ignore = "prints the float table from valkey-server"]
fn print_float_table() {
    print_table(BAD_FLOATS, FLOAT_TEMPLATES);
}

// ---------------------------------------------------------------------------------
// Keys with NUL bytes and invalid UTF-8
// ---------------------------------------------------------------------------------

/// Runs `cmds` and renders every reply; `DUMP` payloads are the server's own and are
/// replaced by their fate: RESTOREd under another key.
fn binary_key_session(r: &mut Raw) -> Vec<String> {
    let k = |tag: &[u8]| [&b"k\x00\xff\r\n"[..], tag, b"\xc3\x28\x00"].concat();
    let (s, h, l, st, z, moved, restored) = (
        k(b"s"),
        k(b"h"),
        k(b"l"),
        k(b"set"),
        k(b"z"),
        k(b"moved"),
        k(b"restored"),
    );
    let member: &[u8] = b"\x00m\xfe\xff";
    let mut out = Vec::new();
    let mut run = |r: &mut Raw, args: &[&[u8]]| {
        let reply = r.cmdv(args);
        out.push(show(&reply));
        reply
    };
    run(r, &[b"FLUSHALL"]);
    run(r, &[b"SET", &s, b"v\x00\xff"]);
    run(r, &[b"GET", &s]);
    run(r, &[b"HSET", &h, member, b"\xff"]);
    run(r, &[b"HGETALL", &h]);
    run(r, &[b"RPUSH", &l, member, b"x"]);
    run(r, &[b"LRANGE", &l, b"0", b"-1"]);
    run(r, &[b"SADD", &st, member]);
    run(r, &[b"SMEMBERS", &st]);
    run(r, &[b"ZADD", &z, b"1.5", member]);
    run(r, &[b"ZRANGE", &z, b"0", b"-1", b"WITHSCORES"]);
    run(r, &[b"RENAME", &s, &moved]);
    run(r, &[b"EXISTS", &s, &moved]);
    run(r, &[b"TYPE", &moved]);
    let payload = match r.cmdv(&[b"DUMP", &h]) {
        R::Bulk(p) => p,
        other => panic!("DUMP gave {other:?}"),
    };
    run(r, &[b"RESTORE", &restored, b"0", &payload]);
    run(r, &[b"HGETALL", &restored]);
    // listings are sorted: the order is each server's own
    for listing in [
        vec![&b"KEYS"[..], b"*"],
        vec![b"KEYS", b"k\x00\xff*"],
        vec![b"KEYS", b"*\x00"],
    ] {
        let mut keys = r.cmdv(&listing).items();
        keys.sort_by_key(show);
        out.push(show(&R::Array(keys)));
    }
    let mut scanned = Vec::new();
    let mut cursor = b"0".to_vec();
    loop {
        let page = r.cmdv(&[b"SCAN", &cursor, b"COUNT", b"3"]).items();
        scanned.extend(page[1].items());
        cursor = match &page[0] {
            R::Bulk(c) => c.clone(),
            other => panic!("cursor {other:?}"),
        };
        if cursor == b"0" {
            break;
        }
    }
    scanned.sort_by_key(show);
    out.push(show(&R::Array(scanned)));
    out
}

#[test]
fn nul_and_invalid_utf8_in_keys_and_members() {
    let (s, vk) = servers(&[]);
    let got = binary_key_session(&mut s.raw());
    let want = [
        "+OK",
        "+OK",
        "$v\\0\u{fffd}",
        ":1",
        "[$\\0m\u{fffd}\u{fffd}, $\u{fffd}]",
        ":2",
        "[$\\0m\u{fffd}\u{fffd}, $x]",
        ":1",
        "[$\\0m\u{fffd}\u{fffd}]",
        ":1",
        "[$\\0m\u{fffd}\u{fffd}, $1.5]",
        "+OK",
        ":1",
        "+string",
        "+OK",
        "[$\\0m\u{fffd}\u{fffd}, $\u{fffd}]",
    ];
    assert_eq!(got[..want.len()], want);
    // every key listed, exactly (show() is lossy, so compare the raw bytes too)
    let keys = [
        "$k\\0\u{fffd}\\r\\nh\u{fffd}(\\0",
        "$k\\0\u{fffd}\\r\\nl\u{fffd}(\\0",
        "$k\\0\u{fffd}\\r\\nmoved\u{fffd}(\\0",
        "$k\\0\u{fffd}\\r\\nrestored\u{fffd}(\\0",
        "$k\\0\u{fffd}\\r\\nset\u{fffd}(\\0",
        "$k\\0\u{fffd}\\r\\nz\u{fffd}(\\0",
    ];
    let all = format!("[{}]", keys.join(", "));
    assert_eq!(
        got[want.len()..],
        [all.clone(), all.clone(), all.clone(), all]
    );
    let mut c = s.raw();
    let raw_keys = c.cmd("KEYS *").items();
    assert!(raw_keys.contains(&R::Bulk(b"k\x00\xff\r\nmoved\xc3\x28\x00".to_vec())));
    if let Some(v) = &vk {
        assert_eq!(binary_key_session(&mut Raw::connect(v.port)), got, "valkey");
    }
}

// ---------------------------------------------------------------------------------
// Every integer and float argument of the command table, beside Valkey
// ---------------------------------------------------------------------------------

/// Commands the walk leaves alone: they end the connection or the server, change the
/// connection's mode, wait, or change what later cases see.
const WALK_SKIP: &[&str] = &[
    "shutdown",
    "debug",
    "save",
    "bgsave",
    "bgrewriteaof",
    "monitor",
    "subscribe",
    "psubscribe",
    "ssubscribe",
    "unsubscribe",
    "punsubscribe",
    "sunsubscribe",
    "replicaof",
    "slaveof",
    "failover",
    "cluster",
    "module",
    "sync",
    "psync",
    "quit",
    "reset",
    "multi",
    "exec",
    "discard",
    "watch",
    "client|kill",
    "client|pause",
    "readonly",
    "readwrite",
    "asking",
    "config|rewrite",
    "config|set",
    "acl|save",
    "acl|load",
    "flushall",
    "flushdb",
    "swapdb",
    "client|reply",
    "hello",
    "auth",
    "function|restore",
    "function|flush",
    "script|kill",
    "function|kill",
    "replconf",
    "lastsave",
    "latency|reset",
    "client|no-evict",
    "client|no-touch",
    "client|tracking",
    "select",
    "migrate",
    "object",
    "wait",
    "waitaof",
    // Valkey 8.0 takes one filter only; ferrokey has 8.1's combinations
    "client|list",
    // the version it names; LSET with i64::MIN: see lset_index
    "lolwut",
    "lset",
];

fn text_of(r: &R) -> String {
    match r {
        R::Bulk(_) | R::Simple(_) => r.text(),
        _ => String::new(),
    }
}

/// A documentation entry (RESP2 flat list) as name -> value.
fn doc_map(r: &R) -> Vec<(String, R)> {
    match r {
        R::Array(v) => v
            .chunks(2)
            .map(|kv| (text_of(&kv[0]), kv[1].clone()))
            .collect(),
        R::Map(v) => v.iter().map(|(k, v)| (text_of(k), v.clone())).collect(),
        _ => Vec::new(),
    }
}

fn doc_get(d: &[(String, R)], key: &str) -> Option<R> {
    d.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

/// One documented argument as words: each with its kind when it is a number.
fn doc_words(arg: &R, out: &mut Vec<(String, Option<bool>)>) {
    let d = doc_map(arg);
    let kind = doc_get(&d, "type").map(|t| text_of(&t)).unwrap_or_default();
    if let Some(tok) = doc_get(&d, "token") {
        out.push((text_of(&tok), None));
    }
    let sub = || match doc_get(&d, "arguments") {
        Some(R::Array(v)) => v,
        _ => Vec::new(),
    };
    match kind.as_str() {
        "key" => out.push(("k".into(), None)),
        "integer" | "unix-time" => out.push(("1".into(), Some(false))),
        "double" => out.push(("0.01".into(), Some(true))),
        "pattern" => out.push(("*".into(), None)),
        "string" => out.push(("a".into(), None)),
        "oneof" => {
            if let Some(first) = sub().first() {
                doc_words(first, out);
            }
        }
        "block" => sub().iter().for_each(|a| doc_words(a, out)),
        _ => {}
    }
}

/// Command lines with one bad number each, for every number argument Valkey documents.
fn walk_cases(name: &str, doc: &R, group: &str, out: &mut Vec<(String, Vec<String>)>) {
    let d = doc_map(doc);
    if WALK_SKIP.contains(&name) || WALK_SKIP.contains(&name.split('|').next().unwrap_or("")) {
        return;
    }
    let group = doc_get(&d, "group")
        .map(|g| text_of(&g))
        .unwrap_or(group.into());
    let mut words = Vec::new();
    if let Some(R::Array(args)) = doc_get(&d, "arguments") {
        args.iter().for_each(|a| doc_words(a, &mut words));
    }
    for (i, (_, kind)) in words.iter().enumerate() {
        let Some(float) = kind else { continue };
        let bad: &[&str] = if *float { BAD_FLOATS } else { BAD_INTS };
        for b in bad {
            let mut line: Vec<String> = name.split('|').map(String::from).collect();
            line.extend(words.iter().enumerate().map(|(j, (w, _))| match j == i {
                true => b.to_string(),
                false => w.clone(),
            }));
            out.push((group.clone(), line));
        }
    }
    for (sub, sdoc) in doc_get(&d, "subcommands")
        .map(|s| doc_map(&s))
        .unwrap_or_default()
    {
        walk_cases(&sub, &sdoc, &group, out);
    }
}

/// A key `k` of the type the command's group works on.
fn walk_setup(group: &str) -> &'static [&'static str] {
    match group {
        "list" => &["RPUSH", "k", "a", "b", "c"],
        "set" => &["SADD", "k", "a", "b", "c"],
        "sorted-set" => &["ZADD", "k", "1", "a", "2", "b"],
        "hash" => &["HSET", "k", "a", "1", "b", "2"],
        "geo" => &["GEOADD", "k", "13", "38", "a", "15", "37", "b"],
        "string" | "bitmap" => &["SET", "k", "10"],
        _ => &[],
    }
}

#[test]
fn every_documented_number_argument_as_valkey() {
    let (s, vk) = servers(&[]);
    let Some(vk) = vk else {
        eprintln!("valkey-server is not installed: the tables above stand in for it");
        return;
    };
    let mut v = Raw::connect(vk.port);
    let mut f = s.raw();
    let mut cases = Vec::new();
    for (name, doc) in doc_map(&v.cmd("COMMAND DOCS")) {
        walk_cases(&name, &doc, "", &mut cases);
    }
    assert!(cases.len() > 500, "only {} cases", cases.len());
    let mut bad = Vec::new();
    let mut ran = 0;
    for (group, line) in &cases {
        // commands ferrokey does not have (streams, cluster) are not compared
        let top = line[0].as_bytes();
        if f.cmdv(&[b"COMMAND", b"INFO", top]).items()[0] == R::Nil {
            continue;
        }
        ran += 1;
        let args: Vec<&[u8]> = line.iter().map(|w| w.as_bytes()).collect();
        let mut replies = Vec::new();
        for r in [&mut f, &mut v] {
            assert_eq!(r.cmd("FLUSHALL"), R::ok());
            let setup = walk_setup(group);
            if !setup.is_empty() {
                let setup: Vec<&[u8]> = setup.iter().map(|w| w.as_bytes()).collect();
                assert!(!r.cmdv(&setup).is_err());
            }
            replies.push(show(&r.cmdv(&args)));
        }
        if replies[0] != replies[1] {
            bad.push(format!(
                "{line:?}\n  ferrokey {}\n  valkey   {}",
                replies[0], replies[1]
            ));
        }
    }
    assert!(ran > 500, "only {ran} cases ran");
    assert!(
        bad.is_empty(),
        "{} of {ran} differ:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn limits_follow_auth_within_one_read() {
    let (s, vk) = servers(&["--requirepass", "pw"]);
    let big = vec![b'x'; 20_000];
    let case = [Wire {
        name: "AUTH, then a 20 kB argument in the same packet",
        send: [
            &b"*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$20000\r\n"[..],
            &big,
            b"\r\n",
            PING,
        ]
        .concat(),
        reply: b"+OK\r\n+OK\r\n+PONG\r\n".to_vec(),
        closed: false,
    }];
    check_wire(s.port, "ferrokey", &case);
    if let Some(v) = &vk {
        check_wire(v.port, "valkey", &case);
    }
}
