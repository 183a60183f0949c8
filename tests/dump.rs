//! DUMP/RESTORE of every type: round trips through ferrokey, encodings chosen on
//! RESTORE, refused payloads, and (when `valkey-server` is installed) payloads moved
//! both ways between ferrokey and Valkey.

mod common;
use common::{assert_err, Raw, TestServer, R};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn dump(c: &mut Raw, key: &str) -> Vec<u8> {
    match c.cmdv(&[b"DUMP", key.as_bytes()]) {
        R::Bulk(b) => b,
        other => panic!("DUMP {key}: {other:?}"),
    }
}

fn restore(c: &mut Raw, key: &str, payload: &[u8]) -> R {
    c.cmdv(&[b"RESTORE", key.as_bytes(), b"0", payload, b"REPLACE"])
}

fn encoding(c: &mut Raw, key: &str) -> String {
    c.cmd(&format!("OBJECT ENCODING {key}")).text()
}

/// The value at `key` in a comparable form: lists in order, hashes and sets sorted,
/// sorted sets in order with their scores.
fn contents(c: &mut Raw, key: &str) -> Vec<Vec<u8>> {
    let flat = |r: R| -> Vec<Vec<u8>> {
        r.items()
            .into_iter()
            .map(|i| match i {
                R::Bulk(b) => b,
                other => panic!("not a bulk: {other:?}"),
            })
            .collect()
    };
    let k = key.as_bytes();
    match c.cmdv(&[b"TYPE", k]).text().as_str() {
        "list" => flat(c.cmdv(&[b"LRANGE", k, b"0", b"-1"])),
        "hash" => {
            let v = flat(c.cmdv(&[b"HGETALL", k]));
            let mut pairs: Vec<Vec<u8>> = v.chunks(2).map(|p| p.concat()).collect();
            pairs.sort();
            pairs
        }
        "set" => {
            let mut v = flat(c.cmdv(&[b"SMEMBERS", k]));
            v.sort();
            v
        }
        "zset" => flat(c.cmdv(&[b"ZRANGE", k, b"0", b"-1", b"WITHSCORES"])),
        "string" => flat(R::Array(vec![c.cmdv(&[b"GET", k])])),
        other => panic!("unexpected type {other}"),
    }
}

/// Commands building one value of each type in each encoding (under the default
/// thresholds), with the encoding each should have.
fn fixtures() -> Vec<(&'static str, Vec<Vec<u8>>, &'static str)> {
    let cmd = |parts: Vec<String>| parts.into_iter().map(String::into_bytes).collect();
    fn words(prefix: &'static str, n: usize) -> impl Iterator<Item = String> {
        (0..n).map(move |i| format!("{prefix}{i}"))
    }
    let mut out = vec![];
    let mut add = |key: &'static str, args: Vec<String>, enc: &'static str| {
        out.push((key, cmd(args), enc));
    };
    let s = |x: &str| x.to_string();
    add(
        "l-small",
        [
            s("RPUSH"),
            s("l-small"),
            s("a"),
            s("1"),
            s("-5000"),
            s("300000"),
        ]
        .into_iter()
        .chain([s("9223372036854775807"), "abc".repeat(30)])
        .collect(),
        "listpack",
    );
    add(
        "l-nodes",
        [s("RPUSH"), s("l-nodes")]
            .into_iter()
            .chain(words("element-", 2000))
            .collect(),
        "quicklist",
    );
    add(
        "l-plain",
        vec![
            s("RPUSH"),
            s("l-plain"),
            s("a"),
            "x".repeat(70000),
            s("b"),
            "y".repeat(9000),
        ],
        "quicklist",
    );
    add(
        "h-small",
        vec![s("HSET"), s("h-small"), s("f"), s("v"), s("n"), s("-12345")],
        "listpack",
    );
    add(
        "h-big",
        [s("HSET"), s("h-big")]
            .into_iter()
            .chain(
                words("f", 600)
                    .zip(words("v", 600))
                    .flat_map(|(f, v)| [f, v]),
            )
            .collect(),
        "hashtable",
    );
    add(
        "h-long",
        vec![s("HSET"), s("h-long"), s("a"), "v".repeat(100)],
        "hashtable",
    );
    add(
        "s-ints",
        vec![s("SADD"), s("s-ints"), s("3"), s("-70000"), s("9999999999")],
        "intset",
    );
    add(
        "s-small",
        vec![s("SADD"), s("s-small"), s("a"), s("b"), s("7")],
        "listpack",
    );
    add(
        "s-big",
        [s("SADD"), s("s-big")]
            .into_iter()
            .chain(words("m", 1000))
            .collect(),
        "hashtable",
    );
    add(
        "z-small",
        vec![
            s("ZADD"),
            s("z-small"),
            s("1"),
            s("a"),
            s("2.5"),
            s("b"),
            s("-inf"),
            s("c"),
            s("1e100"),
            s("d"),
        ],
        "listpack",
    );
    add(
        "z-big",
        [s("ZADD"), s("z-big")]
            .into_iter()
            .chain((0..300).flat_map(|i| [format!("{}", i as f64 * 0.25), format!("m{i}")]))
            .collect(),
        "skiplist",
    );
    out
}

fn load_fixtures(c: &mut Raw) -> Vec<&'static str> {
    let mut keys = vec![];
    for (key, args, enc) in fixtures() {
        let refs: Vec<&[u8]> = args.iter().map(|a| &a[..]).collect();
        assert!(!c.cmdv(&refs).is_err(), "{key}");
        assert_eq!(encoding(c, key), enc, "{key}");
        keys.push(key);
    }
    keys
}

#[test]
fn every_type_round_trips() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    for key in load_fixtures(&mut c) {
        let p = dump(&mut c, key);
        let copy = format!("{key}-copy");
        assert_eq!(restore(&mut c, &copy, &p), R::ok(), "{key}");
        assert_eq!(contents(&mut c, &copy), contents(&mut c, key), "{key}");
        assert_eq!(encoding(&mut c, &copy), encoding(&mut c, key), "{key}");
        // DUMP of the copy is the same payload (tables may iterate in another order)
        if encoding(&mut c, key) != "hashtable" {
            assert_eq!(dump(&mut c, &copy), p, "{key}");
        }
        match c.cmd(&format!("MEMORY USAGE {copy}")) {
            R::Int(n) => assert!(n > 0, "{key}"),
            other => panic!("MEMORY USAGE {key}: {other:?}"),
        }
        // the restored value is an ordinary one: writes keep working
        let t = c.cmd(&format!("TYPE {copy}")).text();
        let write = match t.as_str() {
            "list" => format!("RPUSH {copy} extra"),
            "hash" => format!("HSET {copy} extra 1"),
            "set" => format!("SADD {copy} extra"),
            _ => format!("ZADD {copy} 1 extra"),
        };
        assert!(!c.cmd(&write).is_err(), "{key}");
    }
    // TTL and BUSYKEY apply to collections as to strings
    let p = dump(&mut c, "h-small");
    assert_eq!(c.cmdv(&[b"RESTORE", b"t", b"100000", &p]), R::ok());
    assert!(matches!(c.cmd("PTTL t"), R::Int(n) if n > 90000 && n <= 100000));
    assert_err(
        &c.cmdv(&[b"RESTORE", b"t", b"0", &p]),
        "BUSYKEY Target key name already exists.",
    );
}

#[test]
fn restore_picks_encodings_by_the_current_thresholds() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    load_fixtures(&mut c);
    let payloads: Vec<(&str, Vec<u8>)> = [
        "l-small", "h-small", "s-ints", "s-small", "z-small", "z-big",
    ]
    .into_iter()
    .map(|k| (k, dump(&mut c, k)))
    .collect();
    for cfg in [
        "list-max-listpack-size 2",
        "hash-max-listpack-entries 1",
        "set-max-intset-entries 2",
        "set-max-listpack-entries 2",
        "zset-max-listpack-entries 3",
    ] {
        assert_eq!(c.cmd(&format!("CONFIG SET {cfg}")), R::ok());
    }
    let expect = [
        ("l-small", "quicklist"),
        ("h-small", "hashtable"),
        ("s-ints", "hashtable"),
        ("s-small", "hashtable"),
        ("z-small", "skiplist"),
        ("z-big", "skiplist"),
    ];
    for ((key, p), (_, enc)) in payloads.iter().zip(expect) {
        assert_eq!(restore(&mut c, "r", p), R::ok());
        assert_eq!(encoding(&mut c, "r"), enc, "{key}");
        assert_eq!(contents(&mut c, "r"), contents(&mut c, key), "{key}");
    }
    // generous thresholds bring a big sorted set back to the compact encoding
    assert_eq!(c.cmd("CONFIG SET zset-max-listpack-entries 1000"), R::ok());
    assert_eq!(restore(&mut c, "r", &payloads[5].1), R::ok());
    assert_eq!(encoding(&mut c, "r"), "listpack");
}

/// Seals an RDB body with the version and checksum footer.
fn sealed(body: &[u8]) -> Vec<u8> {
    const POLY: u64 = 0x95ac_9329_ac4b_c9b5;
    let mut b = body.to_vec();
    b.extend_from_slice(&11u16.to_le_bytes());
    let mut crc = 0u64;
    for &x in &b {
        crc ^= x as u64;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ POLY
            } else {
                crc >> 1
            };
        }
    }
    b.extend_from_slice(&crc.to_le_bytes());
    b
}

#[test]
fn corrupt_payloads_are_refused() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    // a set listpack of "a" and 1: 12 bytes, 2 entries
    let good = b"\x0c\x00\x00\x00\x02\x00\x81a\x02\x01\x01\xff";
    let with_blob = |t: u8, blob: &[u8]| sealed(&[&[t, blob.len() as u8][..], blob].concat());
    assert_eq!(restore(&mut c, "k", &with_blob(20, good)), R::ok());
    assert_eq!(c.cmd("SCARD k"), R::Int(2));
    // the same listpack is a hash of one field
    assert_eq!(restore(&mut c, "k", &with_blob(16, good)), R::ok());
    assert_eq!(c.cmd("HGET k a"), R::bulk("1"));
    let bad: Vec<Vec<u8>> = vec![
        with_blob(20, &good[..11]), // no terminator
        with_blob(20, b"\x0c\x00\x00\x00\x03\x00\x81a\x02\x01\x01\xff"), // wrong count
        with_blob(20, b"\x0c\x00\x00\x00\x02\x00\x81a\x03\x01\x01\xff"), // wrong back-length
        with_blob(20, b"\x0d\x00\x00\x00\x02\x00\x81a\x02\x01\x01\xff"), // wrong total
        with_blob(20, b"\x0d\x00\x00\x00\x02\x00\x81a\x02\x81a\x02\xff"), // duplicate
        with_blob(17, b"\x0c\x00\x00\x00\x02\x00\x01\x01\x81a\x02\xff"), // score "a"
        with_blob(11, b"\x02\x00\x00\x00\x02\x00\x00\x00\x02\x00\x01\x00"), // unsorted intset
        sealed(b"\x02\x02\x01a\x01a"), // duplicate set member
        sealed(b"\x04\x00"),        // empty hash
        sealed(b"\x12\x01\x03\x01a"), // unknown quicklist container
        sealed(b"\x05\x81\xff\xff\xff\xff\xff\xff\xff\xff"), // absurd count
    ];
    for p in &bad {
        for sanitize in ["yes", "no"] {
            let set = format!("CONFIG SET sanitize-dump-payload {sanitize}");
            assert_eq!(c.cmd(&set), R::ok());
            assert_err(&restore(&mut c, "k", p), "ERR Bad data format");
        }
    }
    // a refused payload leaves the old value in place
    assert_eq!(c.cmd("HGET k a"), R::bulk("1"));
}

#[test]
fn list_of_various_encodings() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let x = |n: usize| "x".repeat(n);
    for v in [
        "127".to_string(),
        "32767".into(),
        "2147483647".into(),
        "9223372036854775808".into(),
        "0".into(),
        "12".into(),
        x(31),
        x(8191),
        x(65535),
    ] {
        c.cmdv(&[b"LPUSH", b"k", v.as_bytes()]);
    }
    assert_eq!(encoding(&mut c, "k"), "quicklist");
    let p = dump(&mut c, "k");
    for sanitize in ["no", "yes"] {
        c.cmd(&format!("CONFIG SET sanitize-dump-payload {sanitize}"));
        assert_eq!(restore(&mut c, "kk", &p), R::ok());
        assert_eq!(encoding(&mut c, "kk"), "quicklist");
        assert_eq!(contents(&mut c, "kk"), contents(&mut c, "k"));
        assert_eq!(c.cmd("LINDEX kk 5"), R::bulk("9223372036854775808"));
        assert_eq!(c.cmd("LINDEX kk -5"), R::bulk("0"));
    }
}

/// A valkey-server of our own on a free port, stopped on drop.
struct Valkey {
    child: Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl Valkey {
    /// None (with a note) when valkey-server is not installed.
    fn start() -> Option<Valkey> {
        let found = Command::new("valkey-server")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            eprintln!("valkey-server not on PATH: skipping the interoperability test");
            return None;
        }
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .expect("free port");
            let dir =
                std::env::temp_dir().join(format!("ferrokey-valkey-{}-{port}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("temp dir");
            let mut child = Command::new("valkey-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
                .arg("--dir")
                .arg(&dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn valkey-server");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Some(Valkey { child, port, dir });
                }
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("valkey-server did not start");
    }
}

impl Drop for Valkey {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn payloads_move_between_ferrokey_and_valkey() {
    let Some(v) = Valkey::start() else {
        return;
    };
    let s = TestServer::start(&[]);
    let mut fk = s.raw();
    let mut vk = Raw::connect(v.port);
    // the same thresholds on both sides (Valkey's built-in hash default differs from
    // the one its shipped configuration file sets)
    let limits = [
        ("hash-max-listpack-entries", "128"),
        ("hash-max-listpack-value", "64"),
        ("set-max-intset-entries", "512"),
        ("set-max-listpack-entries", "128"),
        ("set-max-listpack-value", "64"),
        ("zset-max-listpack-entries", "128"),
        ("zset-max-listpack-value", "64"),
        ("list-max-listpack-size", "-2"),
    ];
    for c in [&mut fk, &mut vk] {
        for (k, val) in limits {
            assert_eq!(c.cmd(&format!("CONFIG SET {k} {val}")), R::ok());
        }
    }
    let keys = load_fixtures(&mut fk);
    load_fixtures(&mut vk);
    for key in keys {
        let from_fk = dump(&mut fk, key);
        let from_vk = dump(&mut vk, key);
        // compact encodings are written byte for byte as Valkey does (the others hold
        // table order, or node boundaries that depend on the list code's estimates)
        if ["listpack", "intset"].contains(&encoding(&mut fk, key).as_str()) {
            assert_eq!(from_fk, from_vk, "{key}");
        }
        assert_eq!(
            restore(&mut vk, "from-ferrokey", &from_fk),
            R::ok(),
            "{key}"
        );
        assert_eq!(restore(&mut fk, "from-valkey", &from_vk), R::ok(), "{key}");
        assert_eq!(
            contents(&mut vk, "from-ferrokey"),
            contents(&mut fk, key),
            "{key}"
        );
        assert_eq!(
            contents(&mut fk, "from-valkey"),
            contents(&mut vk, key),
            "{key}"
        );
        assert_eq!(
            encoding(&mut vk, "from-ferrokey"),
            encoding(&mut fk, key),
            "{key}"
        );
        assert_eq!(
            encoding(&mut fk, "from-valkey"),
            encoding(&mut vk, key),
            "{key}"
        );
    }
    // under tight thresholds both convert the same payload the same way
    for c in [&mut fk, &mut vk] {
        for cfg in [
            "list-max-listpack-size 3",
            "hash-max-listpack-entries 1",
            "set-max-intset-entries 1",
            "set-max-listpack-entries 1",
            "zset-max-listpack-entries 1",
        ] {
            assert_eq!(c.cmd(&format!("CONFIG SET {cfg}")), R::ok());
        }
    }
    for (key, _, _) in fixtures() {
        let p = dump(&mut vk, key);
        assert_eq!(restore(&mut vk, "r", &p), R::ok());
        assert_eq!(restore(&mut fk, "r", &p), R::ok());
        assert_eq!(encoding(&mut fk, "r"), encoding(&mut vk, "r"), "{key}");
    }
}
