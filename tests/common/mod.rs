//! Test harness: starts the real ferrokey binary on a free port and talks to it with the
//! `redis` crate or a raw socket.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct TestServer {
    pub port: u16,
    child: Child,
    pub dir: std::path::PathBuf,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port")
}

/// True if the server on `sock` reports `pid` as its process id.
fn serves_pid(sock: &mut TcpStream, pid: u32) -> bool {
    sock.set_read_timeout(Some(Duration::from_secs(2))).ok();
    if sock
        .write_all(b"*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n")
        .is_err()
    {
        return false;
    }
    let want = format!("process_id:{pid}\r\n");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while got.len() < 64 * 1024 {
        match sock.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
        let text = String::from_utf8_lossy(&got);
        // a server that wants a password first cannot be asked; take it as ours
        if text.contains(&want) || text.starts_with("-NOAUTH") {
            return true;
        }
        if text.contains("process_id:") && text.contains("\r\nexecutable:") {
            return false;
        }
    }
    false
}

impl TestServer {
    /// Starts a server with extra `--directive value` arguments.
    pub fn start(extra: &[&str]) -> TestServer {
        Self::start_with(None, extra)
    }

    /// Starts a server with a config file (path) and extra arguments.
    pub fn start_with(config: Option<&str>, extra: &[&str]) -> TestServer {
        for _attempt in 0..5 {
            let port = free_port();
            let dir =
                std::env::temp_dir().join(format!("ferrokey-test-{}-{}", std::process::id(), port));
            std::fs::create_dir_all(&dir).expect("temp dir");
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferrokey"));
            if let Some(c) = config {
                cmd.arg(c);
            }
            cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--dir"])
                .arg(&dir)
                .args(extra)
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            let mut child = cmd.spawn().expect("spawn ferrokey");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                // another test's server may hold the port (both picked it before
                // either bound): only a server reporting our child's pid counts
                if let Ok(mut sock) = TcpStream::connect(("127.0.0.1", port)) {
                    if serves_pid(&mut sock, child.id()) {
                        return TestServer { port, child, dir };
                    }
                }
                if let Ok(Some(_)) = child.try_wait() {
                    break; // lost the port race or bad arguments: try again
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("ferrokey did not start");
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn client(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .and_then(|c| c.get_connection())
            .expect("connect with redis crate")
    }

    pub fn raw(&self) -> Raw {
        Raw::connect(self.port)
    }

    /// Exit status if the server has exited.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits up to `timeout` for the process to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(s) = self.exited() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A decoded reply, RESP2 and RESP3.
#[derive(Debug, Clone, PartialEq)]
pub enum R {
    Simple(String),
    Err(String),
    Int(i64),
    Bulk(Vec<u8>),
    Nil,
    Array(Vec<R>),
    NilArray,
    Map(Vec<(R, R)>),
    Set(Vec<R>),
    Double(String),
    Bool(bool),
    Push(Vec<R>),
    Verbatim(String),
    BigNum(String),
}

impl R {
    pub fn bulk(s: &str) -> R {
        R::Bulk(s.as_bytes().to_vec())
    }
    pub fn ok() -> R {
        R::Simple("OK".into())
    }
    /// The text of a bulk/simple/verbatim reply.
    pub fn text(&self) -> String {
        match self {
            R::Simple(s) | R::Err(s) | R::Double(s) | R::Verbatim(s) | R::BigNum(s) => s.clone(),
            R::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
            R::Int(i) => i.to_string(),
            other => panic!("no text in {other:?}"),
        }
    }
    pub fn is_err(&self) -> bool {
        matches!(self, R::Err(_))
    }
    pub fn items(&self) -> Vec<R> {
        match self {
            R::Array(v) | R::Set(v) | R::Push(v) => v.clone(),
            other => panic!("not an array: {other:?}"),
        }
    }
}

/// A raw RESP connection for exact wire-level assertions.
pub struct Raw {
    pub stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Raw {
    pub fn connect(port: u16) -> Raw {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(10))).ok();
        let reader = BufReader::new(stream.try_clone().expect("clone"));
        Raw { stream, reader }
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Sends a command as a multibulk array.
    pub fn send(&mut self, args: &[&[u8]]) {
        let mut b = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            b.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            b.extend_from_slice(a);
            b.extend_from_slice(b"\r\n");
        }
        self.send_raw(&b);
    }

    /// Sends a command given as space-separated words and reads one reply.
    pub fn cmd(&mut self, line: &str) -> R {
        let args: Vec<&[u8]> = line.split_whitespace().map(|s| s.as_bytes()).collect();
        self.send(&args);
        self.read()
    }

    /// Sends a command with binary-safe arguments and reads one reply.
    pub fn cmdv(&mut self, args: &[&[u8]]) -> R {
        self.send(args);
        self.read()
    }

    fn line(&mut self) -> String {
        let mut l = String::new();
        self.reader.read_line(&mut l).expect("read line");
        assert!(l.ends_with("\r\n"), "bad line {l:?}");
        l.truncate(l.len() - 2);
        l
    }

    /// Reads one reply.
    pub fn read(&mut self) -> R {
        let l = self.line();
        let (t, rest) = l.split_at(1);
        let n = || rest.parse::<i64>().expect("length");
        match t {
            "+" => R::Simple(rest.into()),
            "-" => R::Err(rest.into()),
            ":" => R::Int(n()),
            "$" if n() < 0 => R::Nil,
            "$" => {
                let mut b = vec![0; n() as usize + 2];
                self.reader.read_exact(&mut b).expect("bulk");
                b.truncate(b.len() - 2);
                R::Bulk(b)
            }
            "*" if n() < 0 => R::NilArray,
            "*" => R::Array((0..n()).map(|_| self.read()).collect()),
            "~" => R::Set((0..n()).map(|_| self.read()).collect()),
            ">" => R::Push((0..n()).map(|_| self.read()).collect()),
            "%" => R::Map((0..n()).map(|_| (self.read(), self.read())).collect()),
            "_" => R::Nil,
            "," => R::Double(rest.into()),
            "#" => R::Bool(rest == "t"),
            "(" => R::BigNum(rest.into()),
            "=" => {
                let mut b = vec![0; n() as usize + 2];
                self.reader.read_exact(&mut b).expect("verbatim");
                b.truncate(b.len() - 2);
                R::Verbatim(String::from_utf8_lossy(&b[4..]).into_owned())
            }
            other => panic!("unknown reply type {other:?} in {l:?}"),
        }
    }

    /// True if the server closed the connection (reads EOF within the timeout).
    pub fn is_closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(self.reader.read(&mut b), Ok(0) | Err(_))
    }
}

/// Asserts a reply is an error starting with `prefix`.
#[track_caller]
pub fn assert_err(r: &R, prefix: &str) {
    match r {
        R::Err(e) => assert!(
            e.starts_with(prefix),
            "error {e:?} does not start with {prefix:?}"
        ),
        other => panic!("expected error {prefix:?}, got {other:?}"),
    }
}

/// A valkey-server beside ferrokey for side-by-side checks, when one is installed
/// (None otherwise; installed but not answering fails the test).
pub struct Valkey {
    pub port: u16,
    child: Child,
    dir: std::path::PathBuf,
}

impl Valkey {
    pub fn start(extra: &[&str]) -> Option<Valkey> {
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .ok()?
                .port();
            let dir =
                std::env::temp_dir().join(format!("ferrokey-valkey-{}-{port}", std::process::id()));
            std::fs::create_dir_all(&dir).ok()?;
            let mut child = Command::new("valkey-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no", "--dir"])
                .arg(&dir)
                .args(extra)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .ok()?;
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
                    s.set_read_timeout(Some(Duration::from_secs(2))).ok();
                    // any reply will do: PING may be renamed, or need a password
                    let mut b = [0u8; 1];
                    if s.write_all(b"PING\r\n").is_ok()
                        && s.read_exact(&mut b).is_ok()
                        && matches!(b[0], b'+' | b'-')
                    {
                        return Some(Valkey { port, child, dir });
                    }
                }
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        // installed but not answering: the comparison must not be skipped silently
        panic!("valkey-server is installed but did not start");
    }
}

impl Drop for Valkey {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
