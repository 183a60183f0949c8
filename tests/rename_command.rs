//! `rename-command` in the config file and on the command line: the old name is gone,
//! the new one runs the command under its own name in errors and COMMAND output, an
//! empty name removes it, and bad lines stop the server with Valkey's messages.
//! Where `valkey-server` is installed the same requests go to it too and the replies
//! must be identical.
mod common;
use common::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RENAMES: &[&str] = &[
    "--rename-command",
    "CONFIG",
    "abc123",
    "--rename-command",
    "flushall",
    "",
];

/// Each request with the reply expected from it: Valkey 8's.
fn cases() -> Vec<(Vec<&'static [u8]>, R)> {
    let err = |s: &str| R::Err(s.to_string());
    vec![
        (
            vec![b"CONFIG", b"GET", b"port"],
            err("ERR unknown command 'CONFIG', with args beginning with: 'GET' 'port' "),
        ),
        (
            vec![b"FLUSHALL"],
            err("ERR unknown command 'FLUSHALL', with args beginning with: "),
        ),
        (
            vec![b"ABC123", b"get", b"maxmemory"],
            R::Array(vec![R::bulk("maxmemory"), R::bulk("0")]),
        ),
        (
            // errors name the command by its own name
            vec![b"abc123", b"get"],
            err("ERR wrong number of arguments for 'config|get' command"),
        ),
        (
            vec![b"abc123"],
            err("ERR wrong number of arguments for 'config' command"),
        ),
        (
            vec![b"abc123", b"nosuch"],
            err("ERR unknown subcommand 'nosuch'. Try ABC123 HELP."),
        ),
        (
            // not a directive CONFIG knows
            vec![b"abc123", b"set", b"rename-command", b"get"],
            err("ERR Unknown option or number of arguments for CONFIG SET - 'rename-command'"),
        ),
        (vec![b"abc123", b"get", b"rename-command"], R::Array(vec![])),
        (
            vec![b"COMMAND", b"INFO", b"config", b"flushall"],
            R::Array(vec![R::Nil, R::Nil]),
        ),
        (vec![b"COMMAND", b"DOCS", b"config"], R::Array(vec![])),
        (
            vec![b"COMMAND", b"LIST", b"FILTERBY", b"PATTERN", b"flushall"],
            R::Array(vec![]),
        ),
        (
            // listed under its own name, and found by category
            vec![b"COMMAND", b"LIST", b"FILTERBY", b"PATTERN", b"config|get"],
            R::Array(vec![R::bulk("config|get")]),
        ),
        (
            vec![b"COMMAND", b"LIST", b"FILTERBY", b"PATTERN", b"abc*"],
            R::Array(vec![]),
        ),
        (
            vec![b"COMMAND", b"GETKEYS", b"abc123", b"get", b"port"],
            err("ERR The command has no key arguments"),
        ),
        (
            vec![b"COMMAND", b"GETKEYS", b"config", b"get", b"port"],
            err("ERR Invalid command specified"),
        ),
        (
            // ACL rules name commands by their own names
            vec![b"ACL", b"SETUSER", b"u", b"-config", b"+flushall"],
            R::ok(),
        ),
        (
            vec![b"ACL", b"DRYRUN", b"u", b"config", b"get", b"port"],
            err("ERR Command 'config' not found"),
        ),
    ]
}

fn first_text(r: &R) -> String {
    match r {
        R::Array(v) => v.first().map(R::text).unwrap_or_default(),
        other => panic!("not an array: {other:?}"),
    }
}

#[test]
fn renamed_and_removed_commands() {
    let s = TestServer::start(RENAMES);
    let plain = TestServer::start(&[]);
    let vk = Valkey::start(RENAMES);
    let mut c = s.raw();
    let mut vc = vk.as_ref().map(|v| Raw::connect(v.port));
    for (req, want) in cases() {
        let got = c.cmdv(&req);
        assert_eq!(got, want, "{:?}", lossy(&req));
        if let Some(vc) = vc.as_mut() {
            assert_eq!(vc.cmdv(&req), want, "valkey: {:?}", lossy(&req));
        }
    }
    // COMMAND INFO by the new name describes the command under its own name
    let info = c.cmd("COMMAND INFO abc123").items();
    assert_eq!(first_text(&info[0]), "config");
    let docs = c.cmd("COMMAND DOCS abc123").items();
    assert_eq!(docs[0], R::bulk("config"));
    // one command less to count, list and describe
    let count = |r: &mut Raw| match r.cmd("COMMAND COUNT") {
        R::Int(n) => n,
        other => panic!("COMMAND COUNT gave {other:?}"),
    };
    let mut p = plain.raw();
    assert_eq!(count(&mut c), count(&mut p) - 1);
    assert_eq!(c.cmd("COMMAND").items().len() as i64, count(&mut c));
    let names: Vec<String> = c.cmd("COMMAND LIST").items().iter().map(R::text).collect();
    assert!(names.iter().any(|n| n == "config"));
    assert!(names.iter().all(|n| n != "flushall" && n != "abc123"));
    let aclcat: Vec<String> = c
        .cmd("COMMAND LIST FILTERBY ACLCAT dangerous")
        .items()
        .iter()
        .map(R::text)
        .collect();
    assert!(aclcat.iter().any(|n| n == "config|get"), "{aclcat:?}");
    assert!(aclcat.iter().all(|n| n != "flushall"), "{aclcat:?}");
    // scripts call commands by the names clients use
    let script = |r: &mut Raw, name: &str| {
        let body = format!("return redis.call('{name}','get','port')");
        r.cmdv(&[b"EVAL", body.as_bytes(), b"0"])
    };
    assert_err(
        &script(&mut c, "config"),
        "ERR Unknown command called from script",
    );
    // (CONFIG is not allowed in scripts under any name)
    assert_err(
        &script(&mut c, "abc123"),
        "ERR This Redis command is not allowed from script",
    );
    // inside MULTI the new name queues and runs
    assert_eq!(c.cmd("MULTI"), R::ok());
    assert_eq!(c.cmd("abc123 get maxmemory"), R::Simple("QUEUED".into()));
    assert_err(
        &c.cmd("CONFIG get maxmemory"),
        "ERR unknown command 'CONFIG'",
    );
    assert_err(&c.cmd("EXEC"), "EXECABORT");
}

#[test]
fn renames_from_the_config_file() {
    let dir = std::env::temp_dir().join(format!("ferrokey-rename-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let conf = dir.join("renames.conf");
    // renaming twice follows the command; a removed command's name is free again
    std::fs::write(
        &conf,
        "rename-command get first\nrename-command FIRST second\nrename-command del \"\"\nrename-command unlink del\n",
    )
    .expect("write conf");
    let s = TestServer::start_with(conf.to_str(), &[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("SET k v"), R::ok());
    assert_eq!(c.cmd("second k"), R::bulk("v"));
    assert_err(&c.cmd("GET k"), "ERR unknown command 'GET'");
    assert_err(&c.cmd("first k"), "ERR unknown command 'first'");
    // "del" now runs UNLINK
    assert_eq!(c.cmd("del k"), R::Int(1));
    assert_eq!(c.cmd("EXISTS k"), R::Int(0));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs the binary with bad arguments: (exited successfully, stderr). A server that
/// starts anyway is killed after a deadline and counts as a failure to stop.
fn start_fails(args: &[&str]) -> (bool, String) {
    use std::io::Read;
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferrokey"))
        .args(["--port", "0", "--bind", "127.0.0.1"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ferrokey");
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Ok(Some(st)) = child.try_wait() {
            break Some(st);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    let status = status.unwrap_or_else(|| panic!("{args:?} did not stop the server: {err}"));
    (status.success(), err)
}

#[test]
fn bad_rename_lines_stop_the_server() {
    let (ok, err) = start_fails(&["--rename-command", "nosuch", "x"]);
    assert!(!ok);
    assert!(
        err.contains("No such command in rename-command"),
        "stderr: {err}"
    );
    let (ok, err) = start_fails(&["--rename-command", "get", "set"]);
    assert!(!ok);
    assert!(
        err.contains("Target command name already exists"),
        "stderr: {err}"
    );
    // one argument short: not the rename-command line Valkey knows
    let (ok, err) = start_fails(&["--rename-command", "get"]);
    assert!(!ok);
    assert!(
        err.contains("Bad directive or wrong number of arguments"),
        "stderr: {err}"
    );
}

fn lossy(req: &[&[u8]]) -> Vec<String> {
    req.iter()
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

#[test]
fn acl_rules_name_commands_by_their_own_names() {
    let renames = [
        "--rename-command",
        "PING",
        "RainWasHere",
        "--rename-command",
        "RainWasHere",
        "VPING",
        "--rename-command",
        "INCR",
        "VINCR",
        "--rename-command",
        "SADD",
        "VSADD",
    ];
    let s = TestServer::start(&renames);
    let vk = Valkey::start(&renames);
    let session = |port: u16| {
        let mut c = Raw::connect(port);
        [
            "ACL SETUSER newuser on nopass ~* +acl -ping +incr",
            "AUTH newuser anypass",
            "VINCR mycounter",
            "VPING",
            "ACL SETUSER newuser -@all +@set +acl",
            "VSADD myset a b c",
            "VINCR mycounter",
            "ACL SETUSER newuser +vping",
        ]
        .iter()
        .map(|line| c.cmd(line))
        .collect::<Vec<R>>()
    };
    let got = session(s.port);
    assert_eq!(got[2], R::Int(1));
    assert_err(
        &got[3],
        "NOPERM User newuser has no permissions to run the 'ping' command",
    );
    assert_eq!(got[5], R::Int(3));
    assert_err(
        &got[6],
        "NOPERM User newuser has no permissions to run the 'incr' command",
    );
    assert_err(&got[7], "ERR Error in ACL SETUSER modifier '+vping'");
    if let Some(v) = &vk {
        assert_eq!(session(v.port), got, "valkey");
    }
}

#[test]
fn config_rewrite_keeps_rename_lines() {
    let dir = std::env::temp_dir().join(format!("ferrokey-rename-rw-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let conf = dir.join("rw.conf");
    std::fs::write(&conf, "rename-command flushdb badger\n").expect("write conf");
    let s = TestServer::start_with(conf.to_str(), &[]);
    let mut c = s.raw();
    assert_err(&c.cmd("FLUSHDB"), "ERR unknown command");
    assert_eq!(c.cmd("CONFIG REWRITE"), R::ok());
    drop(s);
    let text = std::fs::read_to_string(&conf).expect("read conf");
    assert!(text.contains("rename-command flushdb badger"), "{text}");
    let s = TestServer::start_with(conf.to_str(), &[]);
    let mut c = s.raw();
    assert_err(&c.cmd("FLUSHDB"), "ERR unknown command");
    assert_eq!(c.cmd("BADGER"), R::ok());
    let _ = std::fs::remove_dir_all(&dir);
}
