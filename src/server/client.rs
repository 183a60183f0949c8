//! Client state: the part only the connection task touches ([`Client`]) and the part
//! other clients may read or act on ([`ClientInfo`]: CLIENT LIST, CLIENT KILL, MONITOR
//! and pub/sub deliveries).

use crate::commands::table;
use parking_lot::Mutex;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{
    AtomicBool, AtomicI64, AtomicU32, AtomicU8, AtomicUsize, Ordering::Relaxed,
};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Notify;

/// CLIENT REPLY modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyMode {
    On,
    Off,
    /// Skip the reply of the next command only.
    SkipNext,
    /// Skipping the reply of the command running now.
    Skip,
}

pub mod cflags {
    pub const MONITOR: u32 = 1 << 0;
    pub const PUBSUB: u32 = 1 << 1;
    pub const NO_EVICT: u32 = 1 << 2;
    pub const NO_TOUCH: u32 = 1 << 3;
    pub const CLOSE_ASAP: u32 = 1 << 4;
    pub const BLOCKED: u32 = 1 << 5;
    pub const MULTI: u32 = 1 << 6;
    /// Held back by CLIENT PAUSE (shown as blocked, not releasable by CLIENT UNBLOCK).
    pub const PAUSED: u32 = 1 << 7;
    /// READONLY was sent (cluster replica reads; only shown outside cluster mode).
    pub const READONLY: u32 = 1 << 8;
    /// CLIENT CAPA REDIRECT: the client follows -REDIRECT replies.
    pub const CAPA_REDIRECT: u32 = 1 << 9;
}

/// [`ClientInfo::unblock_mode`] values: how CLIENT UNBLOCK released a blocked client.
pub const UNBLOCK_TIMEOUT: u8 = 1;
pub const UNBLOCK_ERROR: u8 = 2;

/// Asks the connection loop to suspend the client after the current command, holding
/// back that command's reply (which starts at `reply_at` in the reply buffer) until
/// `timeout` passes (`None`: forever). A `blocked` client also counts in
/// blocked_clients, shows the `b` flag and can be released early by CLIENT UNBLOCK
/// (UNBLOCK ... ERROR replaces the reply with an UNBLOCKED error); DEBUG SLEEP is not.
/// Commands run inside MULTI/EXEC or a script must not ask for it.
#[derive(Clone)]
pub struct Block {
    pub timeout: Option<std::time::Duration>,
    pub reply_at: usize,
    pub blocked: bool,
    /// Set when blocked on keys: the wait also ends when the waiter is served.
    pub waiter: Option<Arc<super::blocking::Waiter>>,
}

/// Messages pushed to a client from elsewhere (MONITOR lines, pub/sub messages), with
/// the bytes queued tracked so a reader that never reads can be cut off.
#[derive(Default)]
pub struct Outbox {
    queue: Mutex<VecDeque<Vec<u8>>>,
    bytes: AtomicUsize,
    pub notify: Notify,
}

impl Outbox {
    /// Queues a message; false if the queue is over `limit` bytes (0 = unlimited), in
    /// which case the caller should close the client.
    pub fn push(&self, msg: Vec<u8>, limit: usize) -> bool {
        let n = msg.len();
        let now = self.bytes.fetch_add(n, Relaxed) + n;
        self.queue.lock().push_back(msg);
        self.notify.notify_one();
        limit == 0 || now <= limit
    }

    /// Moves everything queued into `out`.
    pub fn drain_into(&self, out: &mut Vec<u8>) {
        let mut q = self.queue.lock();
        let mut n = 0;
        for m in q.drain(..) {
            n += m.len();
            out.extend_from_slice(&m);
        }
        self.bytes.fetch_sub(n, Relaxed);
    }

    pub fn bytes(&self) -> usize {
        self.bytes.load(Relaxed)
    }

    pub fn len(&self) -> usize {
        self.queue.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The shared, observable side of a client.
pub struct ClientInfo {
    pub id: u64,
    pub addr: String,
    pub laddr: String,
    pub fd: i64,
    pub created: Instant,
    pub name: Mutex<Vec<u8>>,
    pub lib_name: Mutex<Vec<u8>>,
    pub lib_ver: Mutex<Vec<u8>>,
    pub user: Mutex<String>,
    pub db: AtomicUsize,
    pub resp: AtomicU8,
    pub flags: AtomicU32,
    /// Milliseconds since `created` of the last command.
    pub last_interaction: AtomicI64,
    /// Stats index + 1 of the last command (0 = none yet).
    pub last_cmd: AtomicUsize,
    pub qbuf: AtomicUsize,
    pub qbuf_free: AtomicUsize,
    pub obuf: AtomicUsize,
    pub tot_net_in: AtomicUsize,
    pub tot_net_out: AtomicUsize,
    pub tot_cmds: AtomicUsize,
    pub subscriptions: AtomicUsize,
    pub psubscriptions: AtomicUsize,
    pub ssubscriptions: AtomicUsize,
    pub multi: AtomicI64,
    pub killed: AtomicBool,
    pub kill: Notify,
    /// Woken by CLIENT UNBLOCK, with the reason in `unblock_mode`.
    pub unblock: Notify,
    pub unblock_mode: AtomicU8,
    pub outbox: Outbox,
}

impl ClientInfo {
    pub fn new(id: u64, addr: String, laddr: String, fd: i64) -> Self {
        ClientInfo {
            id,
            addr,
            laddr,
            fd,
            created: Instant::now(),
            name: Mutex::new(Vec::new()),
            lib_name: Mutex::new(Vec::new()),
            lib_ver: Mutex::new(Vec::new()),
            user: Mutex::new("default".into()),
            db: AtomicUsize::new(0),
            resp: AtomicU8::new(2),
            flags: AtomicU32::new(0),
            last_interaction: AtomicI64::new(0),
            last_cmd: AtomicUsize::new(0),
            qbuf: AtomicUsize::new(0),
            qbuf_free: AtomicUsize::new(0),
            obuf: AtomicUsize::new(0),
            tot_net_in: AtomicUsize::new(0),
            tot_net_out: AtomicUsize::new(0),
            tot_cmds: AtomicUsize::new(0),
            subscriptions: AtomicUsize::new(0),
            psubscriptions: AtomicUsize::new(0),
            ssubscriptions: AtomicUsize::new(0),
            multi: AtomicI64::new(-1),
            killed: AtomicBool::new(false),
            kill: Notify::new(),
            unblock: Notify::new(),
            unblock_mode: AtomicU8::new(0),
            outbox: Outbox::default(),
        }
    }

    pub fn has_flag(&self, f: u32) -> bool {
        self.flags.load(Relaxed) & f != 0
    }

    pub fn set_flag(&self, f: u32, on: bool) {
        if on {
            self.flags.fetch_or(f, Relaxed);
        } else {
            self.flags.fetch_and(!f, Relaxed);
        }
    }

    /// Asks the connection task to close as soon as it can.
    pub fn request_kill(&self) {
        self.killed.store(true, Relaxed);
        self.kill.notify_one();
    }

    pub fn idle_secs(&self) -> u64 {
        let now = self.created.elapsed().as_millis() as i64;
        ((now - self.last_interaction.load(Relaxed)).max(0) / 1000) as u64
    }

    pub fn last_command_name(&self) -> String {
        match self.last_cmd.load(Relaxed) {
            0 => "NULL".into(),
            i => table::all()
                .get(i - 1)
                .map(|c| table::full_name(c))
                .unwrap_or_else(|| "NULL".into()),
        }
    }

    pub fn name_lossy(&self) -> String {
        String::from_utf8_lossy(&self.name.lock()).into_owned()
    }
}

/// State private to the connection task.
pub struct Client {
    pub id: u64,
    pub db: usize,
    pub authenticated: bool,
    pub resp: u8,
    pub reply_mode: ReplyMode,
    /// Close the connection once the pending replies are written (QUIT, protocol errors).
    pub close_after_reply: bool,
    /// Set by a blocking command for the connection loop (see [`Block`]).
    pub block: Option<Block>,
    /// Where the command being dispatched comes from (see [`Origin`]).
    pub origin: Origin,
    /// MULTI state: commands queued until EXEC (see `commands::transactions`).
    pub multi: Option<crate::commands::transactions::MultiState>,
    /// WATCHed keys of this client.
    pub watch: Option<crate::commands::transactions::WatchState>,
    pub info: Arc<ClientInfo>,
    /// The ACL user this client runs as, cached (see `crate::acl::ClientAcl`).
    pub acl: crate::acl::ClientAcl,
}

/// Who runs a command. Everything but `Client` runs nested inside another command that
/// already holds the server gate exclusively (EXEC, a script) or serves a blocked
/// client: dispatch then neither takes the gate nor lets the command block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A request read from the connection.
    Client,
    /// A command queued by MULTI, run by EXEC.
    Exec,
    /// `redis.call` / `server.call` from a Lua script or function.
    Script,
    /// A blocked command retried because one of its keys became ready.
    Unblock,
    /// Replayed from the append-only file at startup.
    Aof,
}

impl Client {
    pub fn new(info: Arc<ClientInfo>, authenticated: bool) -> Self {
        Client {
            id: info.id,
            db: 0,
            authenticated,
            resp: 2,
            reply_mode: ReplyMode::On,
            close_after_reply: false,
            block: None,
            origin: Origin::Client,
            multi: None,
            watch: None,
            info,
            acl: Default::default(),
        }
    }

    /// True while running inside EXEC or a script (or when retried for a blocked
    /// client): blocking commands then answer at once instead of blocking.
    pub fn nested(&self) -> bool {
        self.origin != Origin::Client
    }

    /// A RESP2 client with subscriptions may run only a few commands.
    pub fn resp2_subscribed(&self) -> bool {
        self.resp == 2 && self.info.has_flag(cflags::PUBSUB)
    }

    pub fn select(&mut self, db: usize) {
        self.db = db;
        self.info.db.store(db, Relaxed);
    }

    /// `i` is the command's stats index ([`table::index_of`]). A command that blocked
    /// on keys counts in `tot-cmds` only once it completes (served or timed out).
    pub fn note_command(&self, i: usize, blocked: bool) {
        let info = &self.info;
        info.last_interaction
            .store(info.created.elapsed().as_millis() as i64, Relaxed);
        info.last_cmd.store(i + 1, Relaxed);
        if !blocked {
            info.tot_cmds.fetch_add(1, Relaxed);
        }
    }
}

/// All connected clients.
#[derive(Default)]
pub struct Registry {
    clients: Mutex<BTreeMap<u64, Arc<ClientInfo>>>,
    next_id: AtomicI64,
}

impl Registry {
    pub fn next_id(&self) -> u64 {
        (self.next_id.fetch_add(1, Relaxed) + 1) as u64
    }

    pub fn add(&self, c: Arc<ClientInfo>) {
        self.clients.lock().insert(c.id, c);
    }

    pub fn remove(&self, id: u64) {
        self.clients.lock().remove(&id);
    }

    pub fn len(&self) -> usize {
        self.clients.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, id: u64) -> Option<Arc<ClientInfo>> {
        self.clients.lock().get(&id).cloned()
    }

    /// Every client, ordered by id.
    pub fn all(&self) -> Vec<Arc<ClientInfo>> {
        self.clients.lock().values().cloned().collect()
    }
}
