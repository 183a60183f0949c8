//! The append-only file: reload of every type, truncated and corrupt files, rewrite
//! under writes, crash durability with `appendfsync always`, and Valkey reading our
//! directory and the other way round (skipped when valkey-server is not installed).

mod common;

use common::{Raw, R};
use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port")
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ferrokey-aof-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// A server process on a directory that outlives it.
struct Proc {
    port: u16,
    child: Child,
    log: PathBuf,
}

impl Proc {
    /// Starts ferrokey on `dir`; None if it exited instead (its log says why).
    fn try_start(dir: &Path, extra: &[&str]) -> Option<Proc> {
        Self::spawn(env!("CARGO_BIN_EXE_ferrokey"), dir, extra, "ferrokey.log")
    }

    fn start(dir: &Path, extra: &[&str]) -> Proc {
        match Self::try_start(dir, extra) {
            Some(p) => p,
            None => panic!(
                "ferrokey did not start: {}",
                std::fs::read_to_string(dir.join("ferrokey.log")).unwrap_or_default()
            ),
        }
    }

    fn spawn(bin: &str, dir: &Path, extra: &[&str], log: &str) -> Option<Proc> {
        let port = free_port();
        let log = dir.join(log);
        let out = std::fs::File::create(&log).expect("log file");
        let mut child = Command::new(bin)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--dir"])
            .arg(dir)
            .args(["--save", ""])
            .args(extra)
            .stdout(Stdio::from(out.try_clone().expect("log")))
            .stderr(Stdio::from(out))
            .spawn()
            .expect("spawn server");
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            // Valkey accepts connections while it loads its files and answers
            // -LOADING meanwhile: ready means a PING answered PONG
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                let mut r = Raw::connect(port);
                if r.cmd("PING") == R::Simple("PONG".into()) {
                    return Some(Proc { port, child, log });
                }
            }
            if let Ok(Some(_)) = child.try_wait() {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }

    fn raw(&self) -> Raw {
        Raw::connect(self.port)
    }

    /// SHUTDOWN and wait for the exit.
    fn stop(mut self) {
        let mut r = self.raw();
        r.send(&[b"SHUTDOWN"]);
        let _ = r.is_closed();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("server did not exit after SHUTDOWN");
    }

    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every key of every database with its type, value and absolute expiry.
fn snapshot(r: &mut Raw) -> BTreeMap<(usize, String), String> {
    let mut out = BTreeMap::new();
    for db in 0..16 {
        assert_eq!(r.cmd(&format!("SELECT {db}")), R::ok());
        let keys = r.cmd("KEYS *").items();
        for k in keys {
            let k = k.text();
            let kb = k.as_bytes();
            let t = r.cmdv(&[b"TYPE", kb]).text();
            let mut v: Vec<String> = match t.as_str() {
                "string" => vec![r.cmdv(&[b"GET", kb]).text()],
                "list" => r
                    .cmdv(&[b"LRANGE", kb, b"0", b"-1"])
                    .items()
                    .iter()
                    .map(R::text)
                    .collect(),
                "hash" => {
                    let mut v: Vec<String> = r
                        .cmdv(&[b"HGETALL", kb])
                        .items()
                        .chunks(2)
                        .map(|p| format!("{}={}", p[0].text(), p[1].text()))
                        .collect();
                    v.sort();
                    v
                }
                "set" => {
                    let mut v: Vec<String> = r
                        .cmdv(&[b"SMEMBERS", kb])
                        .items()
                        .iter()
                        .map(R::text)
                        .collect();
                    v.sort();
                    v
                }
                "zset" => r
                    .cmdv(&[b"ZRANGE", kb, b"0", b"-1", b"WITHSCORES"])
                    .items()
                    .iter()
                    .map(R::text)
                    .collect(),
                other => vec![other.to_string()],
            };
            v.push(format!("ttl@{}", r.cmdv(&[b"PEXPIRETIME", kb]).text()));
            out.insert((db, k.clone()), format!("{t}:{}", v.join(",")));
        }
    }
    assert_eq!(r.cmd("SELECT 0"), R::ok());
    out
}

/// Asserts two snapshots are equal, showing only the keys that differ.
#[track_caller]
fn assert_same(got: &BTreeMap<(usize, String), String>, want: &BTreeMap<(usize, String), String>) {
    let mut diffs = Vec::new();
    for (k, v) in want {
        match got.get(k) {
            Some(g) if g == v => {}
            Some(g) => diffs.push(format!("{k:?}: got {g:.200} want {v:.200}")),
            None => diffs.push(format!("{k:?}: missing")),
        }
    }
    for k in got.keys().filter(|k| !want.contains_key(*k)) {
        diffs.push(format!("{k:?}: unexpected"));
    }
    assert!(
        diffs.is_empty(),
        "{} keys differ:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

fn info_field(r: &mut Raw, field: &str) -> String {
    let text = r.cmd("INFO persistence").text();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")).map(str::to_string))
        .unwrap_or_else(|| panic!("no {field} in INFO: {text}"))
}

fn wait_rewrite_done(r: &mut Raw, min_rewrites: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let n: u64 = info_field(r, "aof_rewrites").parse().unwrap_or(0);
        if info_field(r, "aof_rewrite_in_progress") == "0" && n >= min_rewrites {
            return;
        }
        assert!(Instant::now() < deadline, "rewrite did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn aof_dir(dir: &Path) -> PathBuf {
    dir.join("appendonlydir")
}

fn manifest(dir: &Path) -> String {
    std::fs::read_to_string(aof_dir(dir).join("appendonly.aof.manifest")).expect("manifest")
}

/// The INCR file the manifest names last.
fn last_incr(dir: &Path) -> PathBuf {
    let m = manifest(dir);
    let name = m
        .lines()
        .rfind(|l| l.ends_with("type i"))
        .and_then(|l| l.split_whitespace().nth(1))
        .expect("incr in manifest")
        .to_string();
    aof_dir(dir).join(name)
}

/// Writes data of every type, with relative and absolute expiries and the commands
/// whose effect differs from the request.
fn write_everything(r: &mut Raw) {
    let ok = |x: R| assert!(!x.is_err(), "{x:?}");
    ok(r.cmd("SET s1 hello"));
    ok(r.cmd("SET s2 world EX 1000"));
    ok(r.cmd("SET s3 x PX 500000"));
    ok(r.cmd("SETEX s4 1000 v"));
    ok(r.cmd("PSETEX s5 900000 v"));
    ok(r.cmd("SET n 10"));
    ok(r.cmd("INCRBY n 5"));
    ok(r.cmd("INCRBYFLOAT f 1.25"));
    ok(r.cmd("INCRBYFLOAT f 0.5"));
    ok(r.cmd("APPEND s1 -more"));
    ok(r.cmd("SET gone 1 PX 1"));
    ok(r.cmd("RPUSH l a b c d e"));
    ok(r.cmd("LPOP l"));
    ok(r.cmd("LPUSH l z"));
    ok(r.cmd("HSET h f1 v1 f2 v2 f3 3"));
    ok(r.cmd("HINCRBYFLOAT h f3 0.25"));
    ok(r.cmd("HDEL h f1"));
    ok(r.cmd("SADD st a b c d e f g"));
    ok(r.cmd("SPOP st 2"));
    ok(r.cmd("SPOP st"));
    ok(r.cmd("SADD ints 1 2 3 100"));
    ok(r.cmd("ZADD z 1 a 2.5 b -3 c"));
    ok(r.cmd("ZINCRBY z 0.125 a"));
    ok(r.cmd("EXPIRE l 1000"));
    ok(r.cmd("PEXPIRE h 2000000"));
    ok(r.cmd("EXPIREAT z 4000000000"));
    ok(r.cmd("SET p 1 EX 100"));
    ok(r.cmd("PERSIST p"));
    ok(r.cmd("SET ge v"));
    ok(r.cmd("GETEX ge EX 5000"));
    ok(r.cmd("SET gd v"));
    ok(r.cmd("GETDEL gd"));
    ok(r.cmd("SET past v"));
    ok(r.cmd("EXPIRE past -1"));
    assert_eq!(r.cmd("MULTI"), R::ok());
    r.cmd("SET tx1 a");
    r.cmd("INCR tx2");
    r.cmd("SELECT 5");
    r.cmd("SET in5 yes");
    assert!(matches!(r.cmd("EXEC"), R::Array(_)));
    ok(r.cmd("SELECT 0"));
    ok(r.cmd("SELECT 2"));
    ok(r.cmd("HSET h2 a 1"));
    ok(r.cmd("SELECT 0"));
    let big: Vec<String> = (0..300).map(|i| format!("m{i}")).collect();
    let mut args: Vec<&[u8]> = vec![b"RPUSH", b"biglist"];
    args.extend(big.iter().map(|s| s.as_bytes()));
    ok(r.cmdv(&args));
    // RESTORE with a relative TTL is logged with an absolute one (ABSTTL)
    let R::Bulk(payload) = r.cmd("DUMP h") else {
        panic!("DUMP")
    };
    ok(r.cmdv(&[b"RESTORE", b"restored", b"700000", &payload]));
    let bin: &[u8] = b"bin\r\n\x00\xff";
    ok(r.cmdv(&[b"SET", b"binary\r\nkey", bin]));
}

#[test]
fn reload_restores_every_type_and_ttl() {
    let dir = temp_dir("reload");
    let p = Proc::start(&dir, &["--appendonly", "yes", "--appendfsync", "always"]);
    let mut r = p.raw();
    write_everything(&mut r);
    // the key with a 1 ms TTL is gone either way
    std::thread::sleep(Duration::from_millis(5));
    let before = snapshot(&mut r);
    assert!(before.contains_key(&(5, "in5".into())));
    assert!(!before.contains_key(&(0, "gd".into())));
    assert!(!before.contains_key(&(0, "past".into())));
    assert_eq!(info_field(&mut r, "aof_enabled"), "1");
    assert_eq!(info_field(&mut r, "aof_last_write_status"), "ok");
    assert_eq!(info_field(&mut r, "loading"), "0");
    let m = manifest(&dir);
    assert!(
        m.contains("file appendonly.aof.1.base.aof seq 1 type b"),
        "{m}"
    );
    assert!(
        m.contains("file appendonly.aof.1.incr.aof seq 1 type i"),
        "{m}"
    );
    // effects, not requests, are logged
    let log = std::fs::read(last_incr(&dir)).unwrap();
    let text = String::from_utf8_lossy(&log);
    assert!(text.contains("PXAT"), "relative expiry logged as absolute");
    assert!(text.contains("PEXPIREAT"));
    assert!(text.contains("SREM"), "SPOP logged as SREM");
    assert!(
        text.contains("KEEPTTL"),
        "INCRBYFLOAT logged as SET KEEPTTL"
    );
    assert!(text.contains("MULTI") && text.contains("EXEC"));
    assert!(
        text.contains("ABSTTL"),
        "RESTORE logged with an absolute TTL"
    );
    assert!(!text.contains("\nEX\r") && !text.contains("SPOP") && !text.contains("SETEX"));
    drop(r);
    p.stop();

    let p = Proc::start(&dir, &["--appendonly", "yes"]);
    let mut r = p.raw();
    assert_same(&snapshot(&mut r), &before);
    // and once more after a rewrite into a new BASE
    assert_eq!(
        r.cmd("BGREWRITEAOF").text(),
        "Background append only file rewriting started"
    );
    wait_rewrite_done(&mut r, 1);
    assert!(manifest(&dir).contains("appendonly.aof.2.base.aof"));
    r.cmd("SET after-rewrite 1");
    let before = snapshot(&mut r);
    drop(r);
    p.stop();
    let p = Proc::start(&dir, &["--appendonly", "yes"]);
    let mut r = p.raw();
    assert_same(&snapshot(&mut r), &before);
    drop(r);
    p.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

fn prepare_with_data(tag: &str) -> PathBuf {
    let dir = temp_dir(tag);
    let p = Proc::start(&dir, &["--appendonly", "yes"]);
    let mut r = p.raw();
    for i in 0..50 {
        r.cmd(&format!("SET key{i} value{i}"));
    }
    drop(r);
    p.stop();
    dir
}

#[test]
fn truncated_tail() {
    let dir = prepare_with_data("trunc");
    let incr = last_incr(&dir);
    let good_len = std::fs::metadata(&incr).unwrap().len();
    let mut bytes = std::fs::read(&incr).unwrap();
    bytes.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$4\r\nlast\r\n$5\r\nval");
    std::fs::write(&incr, &bytes).unwrap();

    // refused when truncated files may not be loaded, saying where
    let p = Proc::try_start(&dir, &["--appendonly", "yes", "--aof-load-truncated", "no"]);
    assert!(p.is_none(), "a truncated AOF must be refused");
    let log = std::fs::read_to_string(dir.join("ferrokey.log")).unwrap();
    assert!(log.contains("Unexpected end of file"), "{log}");
    assert!(log.contains(&format!("offset {good_len}")), "{log}");

    // loaded with a warning and cut back to the last good record otherwise
    let p = Proc::start(
        &dir,
        &["--appendonly", "yes", "--aof-load-truncated", "yes"],
    );
    let mut r = p.raw();
    assert_eq!(r.cmd("DBSIZE"), R::Int(50));
    assert_eq!(r.cmd("GET key49"), R::bulk("value49"));
    assert_eq!(r.cmd("GET last"), R::Nil);
    assert!(p.log_text().contains("Truncating the AOF"));
    r.cmd("SET new 1");
    drop(r);
    p.stop();
    assert!(std::fs::metadata(&incr).unwrap().len() > good_len);
    let p = Proc::start(&dir, &["--appendonly", "yes", "--aof-load-truncated", "no"]);
    let mut r = p.raw();
    assert_eq!(r.cmd("DBSIZE"), R::Int(51));
    drop(r);
    p.stop();

    // a MULTI without its EXEC at the end is dropped as a whole
    let mut bytes = std::fs::read(&incr).unwrap();
    bytes.extend_from_slice(b"*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$2\r\ntx\r\n$1\r\n1\r\n");
    std::fs::write(&incr, &bytes).unwrap();
    let p = Proc::start(&dir, &["--appendonly", "yes"]);
    let mut r = p.raw();
    assert_eq!(r.cmd("GET tx"), R::Nil);
    assert_eq!(r.cmd("DBSIZE"), R::Int(51));
    drop(r);
    p.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn corrupt_middle_refuses_to_start() {
    let dir = prepare_with_data("corrupt");
    let incr = last_incr(&dir);
    let bytes = std::fs::read(&incr).unwrap();
    // find the start of the 10th record and break it
    let starts: Vec<usize> = bytes
        .windows(3)
        .enumerate()
        .filter(|(i, w)| {
            w[0] == b'*' && (*i == 0 || bytes[i - 1] == b'\n') && w[1].is_ascii_digit()
        })
        .map(|(i, _)| i)
        .collect();
    let at = starts[10];
    let mut broken = bytes.clone();
    broken[at] = b'!';
    std::fs::write(&incr, &broken).unwrap();
    let p = Proc::try_start(
        &dir,
        &["--appendonly", "yes", "--aof-load-truncated", "yes"],
    );
    assert!(p.is_none(), "a corrupt AOF must be refused");
    let log = std::fs::read_to_string(dir.join("ferrokey.log")).unwrap();
    assert!(log.contains("Bad file format"), "{log}");
    assert!(log.contains("appendonly.aof.1.incr.aof"), "{log}");
    assert!(log.contains(&format!("offset {at}")), "{log}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rewrite_under_writes_matches_live_data() {
    let dir = temp_dir("rewrite");
    let p = Proc::start(&dir, &["--appendonly", "yes"]);
    let mut r = p.raw();
    // a long log: the same keys written over and over, so the walk takes a while
    for round in 0..3 {
        for chunk in 0..10 {
            let mut args: Vec<Vec<u8>> = vec![b"MSET".to_vec()];
            for i in 0..1000 {
                args.push(format!("pre{chunk}-{i}").into_bytes());
                args.push(format!("value-{round}-{i}").into_bytes());
            }
            let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
            assert_eq!(r.cmdv(&refs), R::ok());
        }
    }
    for i in 0..2000 {
        r.cmd(&format!("SET k{} {}", i % 20, i));
        r.cmd(&format!("INCR counter{}", i % 5));
    }
    let log_before: u64 = info_field(&mut r, "aof_current_size").parse().unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..3)
        .map(|t| {
            let stop = stop.clone();
            let port = p.port;
            std::thread::spawn(move || {
                let mut c = Raw::connect(port);
                let mut i = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) || i < 200 {
                    // non-idempotent writes: applied twice or lost would show
                    c.cmd(&format!("INCR shared{}", i % 7));
                    c.cmd(&format!("RPUSH list{t} {i}"));
                    c.cmd(&format!("HINCRBY hash{} f{t} 1", i % 3));
                    c.cmd(&format!("SADD set{t} {}", i % 50));
                    c.cmd(&format!("ZINCRBY zs 1 m{}", i % 11));
                    // one list pushed to by every writer: the log keeps the order
                    c.cmd(&format!("RPUSH shared-list {t}-{i}"));
                    c.cmd(&format!("APPEND pre{t}-{} .{i}", i % 1000));
                    if i.is_multiple_of(10) {
                        c.cmd(&format!("DEL k{}", i % 20));
                    }
                    i += 1;
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        r.cmd("BGREWRITEAOF").text(),
        "Background append only file rewriting started"
    );
    wait_rewrite_done(&mut r, 1);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    assert_eq!(info_field(&mut r, "aof_last_bgrewrite_status"), "ok");
    let base: u64 = info_field(&mut r, "aof_base_size").parse().unwrap();
    assert!(
        base > 0 && base < log_before,
        "base {base} vs log {log_before}"
    );
    let m = manifest(&dir);
    assert!(
        m.contains("appendonly.aof.2.base.aof") && m.contains("appendonly.aof.2.incr.aof"),
        "{m}"
    );
    assert!(
        !aof_dir(&dir).join("appendonly.aof.1.incr.aof").exists(),
        "old files removed"
    );
    let live = snapshot(&mut r);
    drop(r);
    p.stop();
    let p = Proc::start(&dir, &["--appendonly", "yes"]);
    let mut r = p.raw();
    assert_same(&snapshot(&mut r), &live);
    drop(r);
    p.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn crash_keeps_every_acknowledged_write() {
    let dir = temp_dir("crash");
    for round in 0..2u64 {
        // always: on disk before the reply; everysec: at least in the kernel, which
        // a crash of the process (not of the machine) does not lose
        let policy = if round == 0 { "always" } else { "everysec" };
        let p = Proc::start(&dir, &["--appendonly", "yes", "--appendfsync", policy]);
        let acked: Vec<_> = (0..4u64)
            .map(|t| {
                let port = p.port;
                std::thread::spawn(move || {
                    let mut c = Raw::connect(port);
                    let mut n = 0u64;
                    loop {
                        let key = format!("r{round}-t{t}-{n}");
                        c.send(&[b"SET", key.as_bytes(), b"v"]);
                        let mut got = [0u8; 5];
                        use std::io::Read;
                        match c.stream.read_exact(&mut got) {
                            Ok(()) if &got == b"+OK\r\n" => n += 1,
                            _ => return n,
                        }
                        if n >= 5000 {
                            return n;
                        }
                    }
                })
            })
            .collect();
        // kill while the writers are going
        std::thread::sleep(Duration::from_millis(150 + 200 * round));
        p.kill();
        let counts: Vec<u64> = acked.into_iter().map(|h| h.join().unwrap()).collect();
        assert!(
            counts.iter().sum::<u64>() > 0,
            "nothing was written before the kill"
        );
        let p = Proc::start(
            &dir,
            &["--appendonly", "yes", "--aof-load-truncated", "yes"],
        );
        let mut r = p.raw();
        for (t, &n) in counts.iter().enumerate() {
            for i in 0..n {
                let key = format!("r{round}-t{t}-{i}");
                assert_eq!(
                    r.cmdv(&[b"EXISTS", key.as_bytes()]),
                    R::Int(1),
                    "acknowledged {key} lost"
                );
            }
        }
        drop(r);
        p.stop();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn config_set_appendonly_starts_and_stops_the_log() {
    let dir = temp_dir("cfgset");
    let p = Proc::start(&dir, &[]);
    let mut r = p.raw();
    r.cmd("SET before 1 EX 1000");
    r.cmd("RPUSH lst a b");
    assert_eq!(info_field(&mut r, "aof_enabled"), "0");
    assert!(!aof_dir(&dir).exists());
    assert_eq!(r.cmd("CONFIG SET appendonly yes"), R::ok());
    wait_rewrite_done(&mut r, 1);
    assert_eq!(info_field(&mut r, "aof_enabled"), "1");
    let m = manifest(&dir);
    assert!(m.contains("type b") && m.contains("type i"), "{m}");
    r.cmd("SET during 1");
    assert_eq!(r.cmd("CONFIG SET appendfsync always"), R::ok());
    r.cmd("SET always 1");
    let live = snapshot(&mut r);
    assert_eq!(r.cmd("CONFIG SET appendonly no"), R::ok());
    assert_eq!(info_field(&mut r, "aof_enabled"), "0");
    r.cmd("SET not-logged 1");
    // SAVE and BGSAVE answer; with the log off they write nothing
    assert_eq!(r.cmd("SAVE"), R::ok());
    assert_eq!(r.cmd("BGSAVE").text(), "Background saving started");
    common::assert_err(&r.cmd("BGSAVE bogus"), "ERR syntax error");
    drop(r);
    p.stop();
    let p = Proc::start(&dir, &["--appendonly", "yes"]);
    let mut r = p.raw();
    assert_same(&snapshot(&mut r), &live);
    // SAVE with the log on: a new BASE at once
    assert_eq!(r.cmd("SAVE"), R::ok());
    assert_eq!(info_field(&mut r, "aof_rewrites"), "1");
    assert!(r.cmd("LASTSAVE") != R::Int(0));
    drop(r);
    p.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

fn valkey_server() -> Option<String> {
    let ok = Command::new("valkey-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then(|| "valkey-server".to_string())
}

#[test]
fn valkey_reads_ours_and_we_read_valkeys() {
    let Some(vk) = valkey_server() else {
        eprintln!("valkey-server not installed: skipped");
        return;
    };
    // ours -> Valkey
    let dir = temp_dir("interop");
    let p = Proc::start(&dir, &["--appendonly", "yes"]);
    let mut r = p.raw();
    write_everything(&mut r);
    std::thread::sleep(Duration::from_millis(5));
    assert!(r.cmd("BGREWRITEAOF").text().contains("started"));
    wait_rewrite_done(&mut r, 1);
    r.cmd("SET after 1 EX 1000");
    r.cmd("SADD after-set x y");
    let ours = snapshot(&mut r);
    drop(r);
    p.stop();
    let vargs = ["--appendonly", "yes", "--aof-use-rdb-preamble", "no"];
    let v = Proc::spawn(&vk, &dir, &vargs, "valkey.log").expect("valkey-server starts");
    let mut r = v.raw();
    assert_same(&snapshot(&mut r), &ours);
    // Valkey -> ours: Valkey writes more, rewrites, writes again
    r.cmd("SET from-valkey 1 EX 2000");
    r.cmd("INCRBYFLOAT vf 2.5");
    r.cmd("SPOP st");
    assert!(r.cmd("BGREWRITEAOF").text().contains("started"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while info_field(&mut r, "aof_rewrite_in_progress") != "0"
        || !manifest(&dir).contains("seq 3 type b")
    {
        assert!(Instant::now() < deadline, "valkey rewrite did not finish");
        std::thread::sleep(Duration::from_millis(50));
    }
    r.cmd("RPUSH vl 1 2 3");
    r.cmd("EXPIRE vl 5000");
    let theirs = snapshot(&mut r);
    drop(r);
    v.stop();
    let p = Proc::start(&dir, &["--appendonly", "yes"]);
    let mut r = p.raw();
    assert_same(&snapshot(&mut r), &theirs);
    drop(r);
    p.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rdb_preamble_base_is_refused_with_a_clear_message() {
    let Some(vk) = valkey_server() else {
        eprintln!("valkey-server not installed: skipped");
        return;
    };
    let dir = temp_dir("preamble");
    let vargs = ["--appendonly", "yes", "--aof-use-rdb-preamble", "yes"];
    let v = Proc::spawn(&vk, &dir, &vargs, "valkey.log").expect("valkey-server starts");
    let mut r = v.raw();
    r.cmd("SET a 1");
    assert!(r.cmd("BGREWRITEAOF").text().contains("started"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !manifest(&dir).contains(".base.rdb") {
        assert!(Instant::now() < deadline, "valkey rewrite did not finish");
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(r);
    v.stop();
    assert!(Proc::try_start(&dir, &["--appendonly", "yes"]).is_none());
    let log = std::fs::read_to_string(dir.join("ferrokey.log")).unwrap();
    assert!(log.contains("RDB preamble"), "{log}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn timestamps_and_bgrewriteaof_errors() {
    let dir = temp_dir("ts");
    let p = Proc::start(
        &dir,
        &["--appendonly", "yes", "--aof-timestamp-enabled", "yes"],
    );
    let mut r = p.raw();
    r.cmd("SET a 1");
    r.cmd("SET b 2");
    // a rewrite already running is reported as such
    let first = r.cmd("BGREWRITEAOF");
    assert!(first.text().contains("started"), "{first:?}");
    let second = r.cmd("BGREWRITEAOF");
    assert!(
        second.text().contains("started") || second.text().contains("already in progress"),
        "{second:?}"
    );
    wait_rewrite_done(&mut r, 1);
    r.cmd("SET c 3");
    assert_eq!(info_field(&mut r, "aof_last_write_status"), "ok");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !String::from_utf8_lossy(&std::fs::read(last_incr(&dir)).unwrap()).contains("#TS:") {
        assert!(Instant::now() < deadline, "no #TS annotation written");
        std::thread::sleep(Duration::from_millis(20));
    }
    let live = snapshot(&mut r);
    drop(r);
    p.stop();
    let p = Proc::start(&dir, &["--appendonly", "yes"]);
    let mut r = p.raw();
    assert_same(&snapshot(&mut r), &live);
    drop(r);
    p.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn always_replies_after_the_record_is_written_and_loadaof_reloads() {
    let dir = temp_dir("barrier");
    let p = Proc::start(
        &dir,
        &[
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--enable-debug-command",
            "yes",
        ],
    );
    let mut r = p.raw();
    r.cmd("SET warm 1");
    let aof = last_incr(&dir);
    // every write of the log now takes 100 ms: a reply that does not wait for it
    // would arrive before the file grew
    assert_eq!(r.cmd("DEBUG AOF-FLUSH-SLEEP 100000"), R::ok());
    for i in 0..3 {
        let before = std::fs::metadata(&aof).unwrap().len();
        assert_eq!(r.cmd(&format!("INCR barrier{i}")), R::Int(1));
        let after = std::fs::metadata(&aof).unwrap().len();
        assert!(after > before, "reply came before the record was written");
    }
    assert_eq!(r.cmd("DEBUG AOF-FLUSH-SLEEP 0"), R::ok());
    r.cmd("RPUSH l a b c");
    r.cmd("FLUSHDB");
    r.cmd("SET after-flush 1 EX 1000");
    r.cmd("SWAPDB 0 3");
    let live = snapshot(&mut r);
    // the log replayed into an emptied keyspace gives the same data
    assert_eq!(r.cmd("DEBUG LOADAOF"), R::ok());
    assert_same(&snapshot(&mut r), &live);
    assert_eq!(r.cmd("DEBUG RELOAD"), R::ok());
    assert_same(&snapshot(&mut r), &live);
    drop(r);
    p.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
