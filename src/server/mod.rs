//! The server: shared state, the listener, connections and background jobs.

pub mod blocking;
pub mod client;
mod connection;
pub mod stats;

pub use client::{
    cflags, Block, Client, ClientInfo, Origin, ReplyMode, UNBLOCK_ERROR, UNBLOCK_TIMEOUT,
};

use crate::config::Config;
use crate::store::Keyspace;
use parking_lot::{Mutex, RwLock};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tracing::{info, warn};

/// Valkey version whose behaviour ferrokey matches.
pub const VALKEY_VERSION: &str = "8.1.1";
/// What `redis_version` reports, for clients that feature-detect on it.
pub const REDIS_VERSION: &str = "7.2.4";

/// A function library (FUNCTION LOAD). Scripting fills the store; FUNCTION LIST, FLUSH,
/// DELETE and STATS read and clear it.
pub struct FunctionLib {
    pub name: String,
    pub engine: String,
    pub code: String,
    pub functions: Vec<FunctionDef>,
}

pub struct FunctionDef {
    pub name: String,
    pub description: Option<String>,
    pub flags: Vec<String>,
}

/// One COMMANDLOG entry (SLOWLOG is the `slow` log).
pub struct SlowlogEntry {
    pub id: u64,
    pub time: i64,
    /// Microseconds for the slow log, bytes for the large-request/large-reply logs.
    pub micros: u64,
    pub args: Vec<Vec<u8>>,
    pub addr: String,
    pub name: String,
}

/// COMMANDLOG types, in the order of [`Server::commandlog`].
pub const LOG_SLOW: usize = 0;
pub const LOG_LARGE_REQUEST: usize = 1;
pub const LOG_LARGE_REPLY: usize = 2;

/// The arguments as a log keeps them: at most 32 (the last one saying how many more),
/// each cut at 128 bytes, and secrets redacted as Valkey does.
fn logged_args(args: &[&[u8]]) -> Vec<Vec<u8>> {
    let redact = redacted_positions(args);
    let mut kept: Vec<Vec<u8>> = Vec::new();
    let limit = args.len().min(32);
    for (i, a) in args.iter().enumerate().take(limit) {
        if i == 31 && args.len() > 32 {
            kept.push(format!("... ({} more arguments)", args.len() - 31).into_bytes());
            break;
        }
        if redact(i) {
            kept.push(b"(redacted)".to_vec());
        } else if a.len() > 128 {
            let mut v = a[..128].to_vec();
            v.extend_from_slice(format!("... ({} more bytes)", a.len() - 128).as_bytes());
            kept.push(v);
        } else {
            kept.push(a.to_vec());
        }
    }
    kept
}

/// Which arguments hold secrets: everything after the subcommand of ACL SETUSER/GETUSER/
/// DELUSER, password-like CONFIG SET values, AUTH/HELLO credentials, MIGRATE AUTH.
fn redacted_positions(args: &[&[u8]]) -> impl Fn(usize) -> bool {
    use crate::commands::is;
    let name = args.first().copied().unwrap_or_default();
    let sub = args.get(1).copied().unwrap_or_default();
    let mut secret = vec![false; args.len()];
    if is(name, "acl") && (is(sub, "setuser") || is(sub, "getuser") || is(sub, "deluser")) {
        secret.iter_mut().skip(2).for_each(|s| *s = true);
    } else if is(name, "config") && is(sub, "set") {
        let mut i = 2;
        while i + 1 < args.len() {
            let p = String::from_utf8_lossy(args[i]).to_ascii_lowercase();
            if matches!(
                p.as_str(),
                "requirepass"
                    | "primaryauth"
                    | "masterauth"
                    | "primaryuser"
                    | "masteruser"
                    | "tls-key-file-pass"
                    | "tls-client-key-file-pass"
            ) {
                secret[i + 1] = true;
            }
            i += 2;
        }
    } else if is(name, "auth") {
        secret.iter_mut().skip(1).for_each(|s| *s = true);
    } else if is(name, "hello") || is(name, "migrate") {
        for (i, a) in args.iter().enumerate() {
            let n = if is(a, "auth") {
                // HELLO AUTH user pass; MIGRATE AUTH pass
                if is(name, "hello") {
                    2
                } else {
                    1
                }
            } else if is(a, "auth2") && is(name, "migrate") {
                2
            } else {
                0
            };
            secret
                .iter_mut()
                .skip(i + 1)
                .take(n)
                .for_each(|s| *s = true);
        }
    }
    move |i| secret.get(i).copied().unwrap_or(false)
}

/// Everything shared by all connections.
pub struct Server {
    pub keyspace: Keyspace,
    pub config: Config,
    pub clients: client::Registry,
    pub stats: stats::Stats,
    /// Shared by ordinary commands, taken exclusively by whatever must look atomic to
    /// everyone else (MULTI/EXEC, scripts). Sharded per thread so that taking it shared
    /// does not bounce one cache line between cores on every command.
    pub gate: crossbeam_utils::sync::ShardedLock<()>,
    pub started: Instant,
    pub run_id: String,
    pub shutdown: Notify,
    pub shutting_down: AtomicBool,
    /// COMMANDLOG by type: slow, large-request, large-reply ([`LOG_SLOW`]...).
    pub commandlog: [Mutex<VecDeque<SlowlogEntry>>; 3],
    pub commandlog_next_id: [AtomicU64; 3],
    monitors: RwLock<Vec<Arc<ClientInfo>>>,
    monitor_count: AtomicUsize,
    /// Unix seconds of the last successful save (no RDB yet: the start time).
    pub lastsave: AtomicI64,
    /// Client pause: until this Instant offset (ms since start), and whether only writes.
    pub pause_until_ms: AtomicI64,
    pub pause_writes_only: AtomicBool,
    pub pause_notify: Notify,
    pub listen_port: AtomicUsize,
    pub config_file: Option<std::path::PathBuf>,
    pub executable: String,
    /// A listening socket bound by CONFIG SET port/bind for the accept loop (None
    /// inside: stop listening, port 0).
    pub rebind: Mutex<Option<Option<std::net::TcpListener>>>,
    pub rebind_notify: Notify,
    /// Clients suspended by a blocking command or a client pause (INFO blocked_clients).
    pub blocked_clients: AtomicUsize,
    /// State behind INFO, LATENCY and DEBUG (instantaneous metrics, latency events...).
    pub admin: crate::commands::info::AdminState,
    /// Function libraries by name.
    pub functions: RwLock<BTreeMap<String, FunctionLib>>,
    /// WATCHed keys of all clients.
    pub watches: crate::commands::transactions::Watches,
    /// Clients blocked on keys (BLPOP, BZPOPMIN...).
    pub blocking: blocking::Blocking,
    /// Channel, pattern and shard-channel subscriptions.
    pub pubsub: crate::pubsub::PubSub,
    /// Lua interpreter, script cache, function libraries and the running script.
    pub scripting: crate::scripting::Scripting,
}

impl Server {
    pub fn new(config: Config, config_file: Option<std::path::PathBuf>) -> Arc<Server> {
        let dbs = config.get_i64("databases").max(1) as usize;
        let latency_threshold = config.get_i64("latency-monitor-threshold");
        let run_id: String = {
            use rand::Rng;
            let mut r = rand::thread_rng();
            (0..40)
                .map(|_| format!("{:x}", r.gen_range(0..16u8)))
                .collect()
        };
        Arc::new(Server {
            keyspace: Keyspace::new(dbs),
            config,
            clients: client::Registry::default(),
            stats: stats::Stats::default(),
            gate: crossbeam_utils::sync::ShardedLock::new(()),
            started: Instant::now(),
            run_id,
            shutdown: Notify::new(),
            shutting_down: AtomicBool::new(false),
            commandlog: Default::default(),
            commandlog_next_id: Default::default(),
            monitors: RwLock::new(Vec::new()),
            monitor_count: AtomicUsize::new(0),
            lastsave: AtomicI64::new(crate::store::now_ms() / 1000),
            pause_until_ms: AtomicI64::new(0),
            pause_writes_only: AtomicBool::new(false),
            pause_notify: Notify::new(),
            listen_port: AtomicUsize::new(0),
            config_file,
            executable: std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            rebind: Mutex::new(None),
            rebind_notify: Notify::new(),
            blocked_clients: AtomicUsize::new(0),
            admin: crate::commands::info::AdminState::new(latency_threshold),
            functions: RwLock::new(BTreeMap::new()),
            watches: Default::default(),
            blocking: Default::default(),
            pubsub: Default::default(),
            scripting: Default::default(),
        })
    }

    /// A command changed `key` in database `db`: watchers of the key are now dirty and
    /// clients blocked on it get a chance to be served once the command is done.
    pub fn key_modified(&self, db: usize, key: &[u8]) {
        self.watches.touch(db, key);
        self.blocking.signal(db, key);
    }

    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    pub fn add_monitor(&self, c: Arc<ClientInfo>) {
        c.set_flag(cflags::MONITOR, true);
        let mut m = self.monitors.write();
        if !m.iter().any(|x| x.id == c.id) {
            m.push(c);
        }
        self.monitor_count.store(m.len(), Relaxed);
    }

    pub fn remove_monitor(&self, id: u64) {
        let mut m = self.monitors.write();
        m.retain(|c| c.id != id);
        self.monitor_count.store(m.len(), Relaxed);
    }

    /// Sends a command line to every MONITOR client, in Valkey's format.
    pub fn feed_monitors(&self, client: &Client, args: &[&[u8]]) {
        if self.monitor_count.load(Relaxed) == 0 {
            return;
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let mut line = format!(
            "+{}.{:06} [{} {}]",
            now.as_secs(),
            now.subsec_micros(),
            client.db,
            client.info.addr
        );
        for a in args {
            line.push(' ');
            line.push_str(&repr(a));
        }
        line.push_str("\r\n");
        for m in self.monitors.read().iter() {
            if m.id != client.id {
                m.outbox.push(line.clone().into_bytes(), 0);
            }
        }
    }

    /// Logs a command that ran slower, or whose request or reply was larger, than the
    /// COMMANDLOG thresholds (and records latency-monitor events).
    pub fn slowlog_check(
        &self,
        client: &Client,
        args: &[&[u8]],
        elapsed: Duration,
        reply_bytes: usize,
    ) {
        let h = &self.config.hot;
        // DEBUG SLEEP waits after its handler returns, but that is still its run time
        let sleep = client
            .block
            .as_ref()
            .filter(|b| !b.blocked)
            .and_then(|b| b.timeout);
        let micros = (elapsed + sleep.unwrap_or_default()).as_micros() as u64;
        let latency_ms = self.admin.latency_threshold.load(Relaxed);
        if latency_ms > 0 && micros / 1000 >= latency_ms as u64 {
            self.latency_event(args, micros / 1000);
        }
        let over = |threshold: i64, v: u64| threshold >= 0 && v >= threshold as u64;
        if over(h.slowlog_log_slower_than.load(Relaxed), micros) {
            self.commandlog_add(
                LOG_SLOW,
                client,
                args,
                micros,
                h.slowlog_max_len.load(Relaxed),
            );
        }
        let req_threshold = h.commandlog_request_larger_than.load(Relaxed);
        if req_threshold >= 0 {
            // the request as it travelled in RESP: *N, then $len + arg per argument
            let digits = |n: usize| n.checked_ilog10().unwrap_or(0) as u64 + 1;
            let size = 3
                + digits(args.len())
                + args
                    .iter()
                    .map(|a| 5 + digits(a.len()) + a.len() as u64)
                    .sum::<u64>();
            if over(req_threshold, size) {
                let max = h.commandlog_large_request_max_len.load(Relaxed);
                self.commandlog_add(LOG_LARGE_REQUEST, client, args, size, max);
            }
        }
        if over(
            h.commandlog_reply_larger_than.load(Relaxed),
            reply_bytes as u64,
        ) {
            let max = h.commandlog_large_reply_max_len.load(Relaxed);
            self.commandlog_add(LOG_LARGE_REPLY, client, args, reply_bytes as u64, max);
        }
    }

    fn commandlog_add(&self, kind: usize, client: &Client, args: &[&[u8]], value: u64, max: usize) {
        if max == 0 {
            return;
        }
        let e = SlowlogEntry {
            id: self.commandlog_next_id[kind].fetch_add(1, Relaxed),
            time: crate::store::now_ms() / 1000,
            micros: value,
            args: logged_args(args),
            addr: client.info.addr.clone(),
            name: client.info.name_lossy(),
        };
        let mut log = self.commandlog[kind].lock();
        log.push_front(e);
        while log.len() > max {
            log.pop_back();
        }
    }

    /// Records a latency-monitor event for a command slower than the threshold, as
    /// "command", or "fast-command" for commands declared fast.
    fn latency_event(&self, args: &[&[u8]], ms: u64) {
        let fast = args
            .first()
            .and_then(|n| crate::commands::table::lookup(n))
            .is_some_and(|c| c.has(crate::commands::flags::FAST));
        self.admin
            .latency_sample(if fast { "fast-command" } else { "command" }, ms);
    }

    /// Milliseconds since start (the clock CLIENT PAUSE deadlines use).
    pub fn mono_ms(&self) -> i64 {
        self.started.elapsed().as_millis() as i64
    }

    /// Runs the listener until SHUTDOWN or a signal. Connections are spread over
    /// `workers`, one single-threaded runtime per core: a connection then lives on one
    /// thread for its whole life, with no work-stealing hand-offs between cores.
    /// With no workers given they run on the current runtime.
    pub async fn run(
        self: Arc<Self>,
        listener: TcpListener,
        workers: Vec<tokio::runtime::Handle>,
    ) -> std::io::Result<()> {
        let mut addr = listener.local_addr()?;
        let mut listener = Some(listener);
        self.listen_port.store(addr.port() as usize, Relaxed);
        info!(%addr, workers = workers.len(), "ready to accept connections");
        tokio::spawn(cron(self.clone()));
        // CONFIG SET port/bind binds the new socket itself (so a failure refuses the
        // change) and hands it over here
        let me = self.clone();
        *self.config.listen_hook.write() = Some(Box::new(move |bind, port| {
            let new = if port == 0 {
                None
            } else {
                let host = bind
                    .split_whitespace()
                    .map(|b| b.trim_start_matches('-'))
                    .map(|b| if b == "*" { "0.0.0.0" } else { b })
                    .next()
                    .unwrap_or("0.0.0.0")
                    .to_string();
                // Valkey shows strerror's text alone
                let why = |e: std::io::Error| {
                    let t = e.to_string();
                    let t = t.split(" (os error").next().unwrap_or_default().to_string();
                    format!("Unable to listen on this port: {t}")
                };
                let l = std::net::TcpListener::bind((host.as_str(), port)).map_err(why)?;
                l.set_nonblocking(true).map_err(why)?;
                Some(l)
            };
            *me.rebind.lock() = Some(new);
            me.rebind_notify.notify_one();
            Ok(())
        }));
        let mut next = 0usize;
        // SHUTDOWN may land between two waits on `shutdown`; the flag catches that
        while !self.shutting_down.load(Relaxed) {
            let accept = async {
                match &listener {
                    Some(l) => l.accept().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = self.rebind_notify.notified() => {
                    if let Some(new) = self.rebind.lock().take() {
                        listener = match new {
                            Some(l) => match TcpListener::from_std(l) {
                                Ok(l) => Some(l),
                                Err(e) => {
                                    warn!(error = %e, "can't use the new listening socket");
                                    continue;
                                }
                            },
                            None => None,
                        };
                        if let Some(a) = listener.as_ref().and_then(|l| l.local_addr().ok()) {
                            addr = a;
                        }
                        let port = listener.as_ref().map_or(0, |_| addr.port() as usize);
                        self.listen_port.store(port, Relaxed);
                        info!(%addr, "listening address changed");
                    }
                }
                r = accept => match r {
                    Ok((sock, peer)) => {
                        let target = (!workers.is_empty()).then(|| &workers[next % workers.len()]);
                        next = next.wrapping_add(1);
                        self.clone().accept(sock, peer, addr, target);
                    }
                    Err(e) => {
                        // EMFILE and friends: back off instead of spinning
                        warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                _ = self.shutdown.notified() => break,
            }
        }
        info!("server is now ready to exit, bye bye");
        Ok(())
    }

    fn accept(
        self: Arc<Self>,
        sock: tokio::net::TcpStream,
        peer: SocketAddr,
        local: SocketAddr,
        target: Option<&tokio::runtime::Handle>,
    ) {
        self.stats.connections_received.fetch_add(1, Relaxed);
        let _ = sock.set_nodelay(true);
        let Some(handle) = target else {
            tokio::spawn(connection::serve(self, sock, peer, local));
            return;
        };
        // re-register the socket with the worker's own reactor
        match sock.into_std() {
            Ok(std_sock) => {
                handle.spawn(async move {
                    match tokio::net::TcpStream::from_std(std_sock) {
                        Ok(sock) => connection::serve(self, sock, peer, local).await,
                        Err(e) => warn!(error = %e, "could not hand a connection to its worker"),
                    }
                });
            }
            Err(e) => warn!(error = %e, "could not hand a connection to its worker"),
        }
    }

    /// Whether a new connection from `peer` must be refused by protected mode: no
    /// password, bound to every interface, and a non-loopback peer.
    pub fn protected_mode_denies(&self, peer: &SocketAddr) -> bool {
        if !self.config.hot.protected_mode.load(Relaxed)
            || self.config.hot.has_password.load(Relaxed)
        {
            return false;
        }
        let bind = self.config.get("bind").unwrap_or_default();
        let explicit = !bind.trim().is_empty()
            && bind
                .split_whitespace()
                .all(|b| !matches!(b.trim_start_matches('-'), "*" | "0.0.0.0" | "::" | "::*"));
        if explicit {
            return false;
        }
        !peer.ip().is_loopback()
    }
}

/// Quotes a byte string as Valkey's `sdscatrepr` (MONITOR, CLIENT LIST, SLOWLOG).
pub fn repr(a: &[u8]) -> String {
    let mut s = String::with_capacity(a.len() + 2);
    s.push('"');
    for &c in a {
        match c {
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            7 => s.push_str("\\a"),
            8 => s.push_str("\\b"),
            c if c.is_ascii_graphic() || c == b' ' => s.push(c as char),
            c => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push('"');
    s
}

/// Background jobs at `hz`: active expiry within a CPU budget, like Valkey's
/// `activeExpireCycle` (at most 25% of each tick).
async fn cron(srv: Arc<Server>) {
    let mut next_db = 0usize;
    let mut next_shard = 0usize;
    loop {
        let hz = srv.config.hot.hz.load(Relaxed).max(1) as u64;
        let tick = Duration::from_millis(1000 / hz);
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = srv.shutdown.notified() => return,
        }
        crate::store::recalibrate_clock();
        srv.admin.cron(&srv);
        // memory over maxmemory: keep evicting between commands (Valkey's eviction timer)
        crate::store::evict::cron(&srv, tick / 4);
        // keys must not disappear while writes are paused (CLIENT PAUSE WRITE/ALL)
        if !srv.config.hot.active_expire.load(Relaxed)
            || srv.pause_until_ms.load(Relaxed) > srv.mono_ms()
        {
            continue;
        }
        let srv2 = srv.clone();
        let budget = tick / 4;
        let (db, shard) = (next_db, next_shard);
        // the cycle locks shards, which must not stall the async workers
        let res = tokio::task::spawn_blocking(move || {
            let deadline = Instant::now() + budget;
            let now = crate::store::now_ms();
            let n = srv2.keyspace.db_count();
            for k in 0..n {
                let d = (db + k) % n;
                srv2.keyspace.db(d).active_expire(now, deadline, shard);
                if Instant::now() >= deadline {
                    crate::commands::report_expired(&srv2);
                    return d;
                }
            }
            crate::commands::report_expired(&srv2);
            srv2.keyspace.note_expire_cycle();
            db
        })
        .await;
        if let Ok(d) = res {
            next_db = d;
            next_shard = (next_shard + 17) % crate::store::SHARDS;
        }
    }
}
