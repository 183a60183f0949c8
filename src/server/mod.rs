//! The server: shared state, the listener, connections and background jobs.

pub mod blocking;
pub mod client;
mod connection;
pub mod stats;
pub mod tls;

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
use tracing::{error, info, warn};

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
    /// The TLS context and the tls-port listener hand-over (see [`tls`]).
    pub tls: tls::Tls,
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
            tls: Default::default(),
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
            // a script's commands run with its caller's info but show as Valkey's "lua"
            if client.origin == Origin::Script {
                "lua"
            } else {
                client.info.addr.as_str()
            }
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

    /// Runs the listeners until SHUTDOWN or a signal: the plain one (None with `port
    /// 0`) and, with `tls-port`, the TLS one, which this binds after building the TLS
    /// context (an error here means the server cannot start). Connections are spread
    /// over `workers`, one single-threaded runtime per core: a connection then lives
    /// on one thread for its whole life, with no work-stealing hand-offs between
    /// cores. With no workers given they run on the current runtime.
    pub async fn run(
        self: Arc<Self>,
        listener: Option<TcpListener>,
        workers: Vec<tokio::runtime::Handle>,
    ) -> std::io::Result<()> {
        let mut tls_listener = self.tls_boot()?;
        if listener.is_none() && tls_listener.is_none() {
            error!("Configured to not listen anywhere, exiting.");
            return Err(std::io::Error::other("no listening port"));
        }
        let unbound = SocketAddr::from(([0, 0, 0, 0], 0));
        let mut listener = listener;
        let mut addr = listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
            .unwrap_or(unbound);
        let mut tls_addr = tls_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
            .unwrap_or(unbound);
        self.note_ports(&listener, &tls_listener);
        if listener.is_some() {
            info!(%addr, workers = workers.len(), "ready to accept connections tcp");
        }
        if tls_listener.is_some() {
            info!(addr = %tls_addr, workers = workers.len(), "ready to accept connections tls");
        }
        tokio::spawn(cron(self.clone()));
        // CONFIG SET port/bind binds the new socket itself (so a failure refuses the
        // change) and hands it over here
        let me = self.clone();
        *self.config.listen_hook.write() = Some(Box::new(move |bind, port| {
            let why = |e: String| format!("Unable to listen on this port: {e}");
            let new = if port == 0 {
                None
            } else {
                Some(bind_first(bind, port).map_err(why)?)
            };
            // a new address moves the TLS listener too (both are bound before either
            // is handed over, so a failure changes nothing)
            let tls_port = me.config.get_i64("tls-port") as u16;
            let old_bind = me.config.get("bind").unwrap_or_default();
            let tls_new = if tls_port != 0 && first_host(bind) != first_host(&old_bind) {
                Some(bind_first(bind, tls_port).map_err(why)?)
            } else {
                None
            };
            *me.rebind.lock() = Some(new);
            if let Some(l) = tls_new {
                *me.tls.rebind.lock() = Some(Some(l));
            }
            me.hand_over();
            Ok(())
        }));
        // CONFIG SET tls-*: a new context, and a new tls-port bound, before the change
        // is committed
        let me = self.clone();
        *self.config.tls_hook.write() = Some(Box::new(move |get| {
            let port: u16 = get("tls-port").parse().unwrap_or(0);
            // as Valkey, the context is only checked while TLS is in use
            let acceptor = if port != 0 {
                let s = tls::Settings::from_lookup(get);
                Some(tls::build(&s).map_err(|_| tls::UPDATE_FAILED.to_string())?)
            } else {
                None
            };
            let rebind = if port as i64 != me.config.get_i64("tls-port") {
                let l = if port == 0 {
                    None
                } else {
                    Some(bind_first(&get("bind"), port).map_err(|e| {
                        warn!(port, error = %e, "can't bind the TLS port");
                        tls::LISTEN_FAILED.to_string()
                    })?)
                };
                Some(l)
            } else {
                None
            };
            let me = me.clone();
            Ok(Box::new(move || {
                me.tls.install(acceptor);
                if let Some(l) = rebind {
                    *me.tls.rebind.lock() = Some(l);
                    me.hand_over();
                }
            }) as Box<dyn FnOnce() + Send>)
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
            let accept_tls = async {
                match &tls_listener {
                    Some(l) => l.accept().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = self.rebind_notify.notified() => {
                    // each slot stays locked until its socket is swapped in and the
                    // old one closed: `hand_over` waits on exactly that
                    let mut slot = self.rebind.lock();
                    if let Some(new) = slot.take() {
                        if let Some(l) = adopt(new) {
                            listener = l;
                            if let Some(a) = listener.as_ref().and_then(|l| l.local_addr().ok()) {
                                addr = a;
                            }
                            info!(%addr, "listening address changed");
                        }
                    }
                    drop(slot);
                    let mut slot = self.tls.rebind.lock();
                    if let Some(new) = slot.take() {
                        if let Some(l) = adopt(new) {
                            tls_listener = l;
                            if let Some(a) = tls_listener.as_ref().and_then(|l| l.local_addr().ok()) {
                                tls_addr = a;
                            }
                            info!(addr = %tls_addr, "TLS listening address changed");
                        }
                    }
                    drop(slot);
                    self.note_ports(&listener, &tls_listener);
                }
                r = accept => match r {
                    Ok((sock, peer)) => {
                        let target = (!workers.is_empty()).then(|| &workers[next % workers.len()]);
                        next = next.wrapping_add(1);
                        self.clone().accept(sock, peer, addr, target, None);
                    }
                    Err(e) => {
                        // EMFILE and friends: back off instead of spinning
                        warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                r = accept_tls => match r {
                    Ok((sock, peer)) => {
                        let target = (!workers.is_empty()).then(|| &workers[next % workers.len()]);
                        next = next.wrapping_add(1);
                        // a context is always installed while the TLS port listens
                        if let Some(acceptor) = self.tls.acceptor() {
                            self.clone().accept(sock, peer, tls_addr, target, Some(acceptor));
                        }
                    }
                    Err(e) => {
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

    /// Wakes the accept loop to take the listening sockets left in `rebind` /
    /// `tls.rebind`, and waits (briefly) until it has: the sockets they replace are
    /// closed by then, so a port one CONFIG SET gives up is free for the next one
    /// (`CONFIG SET tls-port 0` then `CONFIG SET port <that port>`), as in Valkey,
    /// where the change is synchronous. Bounded, so a server whose accept loop shares
    /// the caller's thread (no workers) cannot deadlock here.
    fn hand_over(&self) {
        self.rebind_notify.notify_one();
        let deadline = Instant::now() + Duration::from_secs(1);
        // a slot is emptied under its lock, which is held until the swap is done
        while (self.rebind.lock().is_some() || self.tls.rebind.lock().is_some())
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// At start with `tls-port`: builds the TLS context and binds its port.
    fn tls_boot(&self) -> std::io::Result<Option<TcpListener>> {
        let port = self.config.get_i64("tls-port") as u16;
        if port == 0 {
            return Ok(None);
        }
        let settings = tls::Settings::from_lookup(&|n| self.config.get(n).unwrap_or_default());
        let acceptor = tls::build(&settings).map_err(|_| {
            error!("Failed to configure TLS. Check logs for more info.");
            std::io::Error::other("TLS configuration failed")
        })?;
        self.tls.install(Some(acceptor));
        let bind = self.config.get("bind").unwrap_or_default();
        let l = bind_first(&bind, port).map_err(|e| {
            error!(port, error = %e, "can't bind the TLS listening socket");
            std::io::Error::other(e)
        })?;
        TcpListener::from_std(l).map(Some)
    }

    /// INFO's tcp_port: the plain port, or the TLS one when only TLS listens (as
    /// Valkey shows it).
    fn note_ports(&self, plain: &Option<TcpListener>, tls: &Option<TcpListener>) {
        let port = |l: &Option<TcpListener>| {
            l.as_ref()
                .and_then(|l| l.local_addr().ok())
                .map_or(0, |a| a.port() as usize)
        };
        let (p, t) = (port(plain), port(tls));
        self.tls.port.store(t, Relaxed);
        self.listen_port.store(if p != 0 { p } else { t }, Relaxed);
    }

    /// INFO's `listenerN` lines, as Valkey numbers them (0 TCP, 1 unix socket, 2
    /// TLS): each listener that is open, with the bind list and its port.
    pub fn listeners_info(&self) -> Vec<(String, String)> {
        let tls = self.tls.port.load(Relaxed);
        let tcp = match self.listen_port.load(Relaxed) {
            p if tls != 0 && p == tls => 0,
            p => p,
        };
        let bind = self.config.get("bind").unwrap_or_default();
        [(0, "tcp", tcp), (2, "tls", tls)]
            .into_iter()
            .filter(|&(_, _, port)| port != 0)
            .map(|(i, name, port)| {
                let mut l = format!("name={name}");
                for b in bind.split_whitespace() {
                    l.push_str(",bind=");
                    l.push_str(b);
                }
                l.push_str(&format!(",port={port}"));
                (format!("listener{i}"), l)
            })
            .collect()
    }

    /// Hands an accepted socket to its worker (`tls`: after a handshake there).
    fn accept(
        self: Arc<Self>,
        sock: tokio::net::TcpStream,
        peer: SocketAddr,
        local: SocketAddr,
        target: Option<&tokio::runtime::Handle>,
        tls: Option<tokio_rustls::TlsAcceptor>,
    ) {
        self.stats.connections_received.fetch_add(1, Relaxed);
        let _ = sock.set_nodelay(true);
        let keepalive = self.config.get_i64("tcp-keepalive");
        if keepalive > 0 {
            set_keepalive(&sock, keepalive as u64);
        }
        let fd = {
            use std::os::fd::AsRawFd;
            sock.as_raw_fd() as i64
        };
        // two distinct tasks, so a plain connection's future does not carry a TLS
        // stream's room
        match tls {
            None => spawn_on(target, sock, move |sock| {
                connection::serve(self, sock, peer, local, fd)
            }),
            Some(acceptor) => spawn_on(target, sock, move |sock| async move {
                // the handshake runs here, on the connection's worker, never in the
                // accept loop
                match tls::handshake(&acceptor, sock).await {
                    Ok(stream) => connection::serve(self, stream, peer, local, fd).await,
                    // Valkey logs these at verbose: scanners and health checks
                    // would flood the default log
                    Err(e) => tracing::debug!(
                        addr = %peer,
                        laddr = %local,
                        error = %e,
                        "Error accepting a client connection"
                    ),
                }
            }),
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

/// `tcp-keepalive`: probes after `secs` idle, then every third of it, three times, as
/// Valkey's `anetKeepAlive` does, so dead peers are noticed in about twice `secs`.
fn set_keepalive(sock: &tokio::net::TcpStream, secs: u64) {
    let idle = std::time::Duration::from_secs(secs);
    let ka = socket2::TcpKeepalive::new().with_time(idle);
    #[cfg(any(target_os = "linux", target_os = "macos", target_os = "freebsd"))]
    let ka = ka
        .with_interval(std::time::Duration::from_secs((secs / 3).max(1)))
        .with_retries(3);
    if let Err(e) = socket2::SockRef::from(sock).set_tcp_keepalive(&ka) {
        tracing::debug!(error = %e, "could not set tcp-keepalive");
    }
}

/// Runs a connection task on its worker (re-registering the socket with the worker's
/// own reactor), or on the current runtime when there are no workers.
fn spawn_on<F, Fut>(target: Option<&tokio::runtime::Handle>, sock: tokio::net::TcpStream, task: F)
where
    F: FnOnce(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let Some(handle) = target else {
        tokio::spawn(task(sock));
        return;
    };
    match sock.into_std() {
        Ok(std_sock) => {
            handle.spawn(async move {
                match tokio::net::TcpStream::from_std(std_sock) {
                    Ok(sock) => task(sock).await,
                    Err(e) => warn!(error = %e, "could not hand a connection to its worker"),
                }
            });
        }
        Err(e) => warn!(error = %e, "could not hand a connection to its worker"),
    }
}

/// A listening socket handed over by CONFIG SET, made a tokio listener (Some(None):
/// stop listening); None if it cannot be used.
fn adopt(new: Option<std::net::TcpListener>) -> Option<Option<TcpListener>> {
    match new {
        Some(l) => match TcpListener::from_std(l) {
            Ok(l) => Some(Some(l)),
            Err(e) => {
                warn!(error = %e, "can't use the new listening socket");
                None
            }
        },
        None => Some(None),
    }
}

/// Binds `port` on the first address of a `bind` list (ferrokey listens on one
/// address); the error is strerror's text alone, as Valkey shows it.
fn bind_first(bind: &str, port: u16) -> Result<std::net::TcpListener, String> {
    let host = first_host(bind);
    let why = |e: std::io::Error| {
        let t = e.to_string();
        t.split(" (os error").next().unwrap_or_default().to_string()
    };
    let l = std::net::TcpListener::bind((host.as_str(), port)).map_err(why)?;
    l.set_nonblocking(true).map_err(why)?;
    Ok(l)
}

/// The address ferrokey listens on for a `bind` list: its first one.
fn first_host(bind: &str) -> String {
    bind.split_whitespace()
        .map(|b| b.trim_start_matches('-'))
        .map(|b| if b == "*" { "0.0.0.0" } else { b })
        .next()
        .unwrap_or("0.0.0.0")
        .to_string()
}
