//! Pub/Sub: the registry of channel, pattern and shard-channel subscriptions, message
//! delivery to subscribers, and keyspace notifications.
//!
//! The registry lives beside the keyspace, not in it. Channels are spread over
//! [`SHARDS`] independently locked maps so that PUBLISH to different channels from
//! different cores does not meet on one lock; patterns are few and every PUBLISH must
//! test them all, so they sit behind one read-mostly lock that PUBLISH only takes when
//! any pattern exists. A message is delivered by appending its encoded bytes to the
//! subscriber's [`Outbox`](crate::server::client::Outbox), which that subscriber's own
//! connection task writes out: publishing never waits for a subscriber's socket. A
//! subscriber that does not read is cut off by the `pubsub` class of
//! `client-output-buffer-limit` instead of growing without bound.
//!
//! Lock order: a client's subscription record, then a channel shard (or the pattern
//! list), then a subscriber's outbox. PUBLISH takes only the last two.

use crate::commands::glob_match;
use crate::server::{cflags, ClientInfo, Server};
use crossbeam_utils::CachePadded;
use parking_lot::{Mutex, MutexGuard, RwLock};
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Instant;

/// Channel shards per kind (a power of two).
const SHARDS: usize = 64;
/// Shards of the per-client subscription records.
const CLIENT_SHARDS: usize = 16;

/// Keyspace notification classes: Valkey's `NOTIFY_*` bits.
pub mod class {
    pub const KEYSPACE: u32 = 1 << 0;
    pub const KEYEVENT: u32 = 1 << 1;
    pub const GENERIC: u32 = 1 << 2;
    pub const STRING: u32 = 1 << 3;
    pub const LIST: u32 = 1 << 4;
    pub const SET: u32 = 1 << 5;
    pub const HASH: u32 = 1 << 6;
    pub const ZSET: u32 = 1 << 7;
    pub const EXPIRED: u32 = 1 << 8;
    pub const EVICTED: u32 = 1 << 9;
    pub const STREAM: u32 = 1 << 10;
    pub const KEY_MISS: u32 = 1 << 11;
    pub const LOADED: u32 = 1 << 12;
    pub const MODULE: u32 = 1 << 13;
    pub const NEW: u32 = 1 << 14;
    /// What `A` stands for (not `m`, `n` or the module-only `LOADED`).
    pub const ALL: u32 =
        GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;
}

/// `notify-keyspace-events` text to class bits (the config already validated it).
pub fn parse_notify_flags(s: &str) -> u32 {
    let mut f = 0;
    for c in s.chars() {
        f |= match c {
            'A' => class::ALL,
            'g' => class::GENERIC,
            '$' => class::STRING,
            'l' => class::LIST,
            's' => class::SET,
            'h' => class::HASH,
            'z' => class::ZSET,
            'x' => class::EXPIRED,
            'e' => class::EVICTED,
            'K' => class::KEYSPACE,
            'E' => class::KEYEVENT,
            't' => class::STREAM,
            'm' => class::KEY_MISS,
            'd' => class::MODULE,
            'n' => class::NEW,
            _ => 0,
        };
    }
    f
}

/// One class (`normal`, `pubsub`) of a normalized `client-output-buffer-limit`
/// value: [hard bytes, soft bytes, soft seconds]; Valkey's defaults if absent.
pub fn obuf_limits(v: &str, class: &str) -> [i64; 3] {
    let parts: Vec<&str> = v.split_whitespace().collect();
    for c in parts.chunks(4) {
        if c.len() == 4 && c[0].eq_ignore_ascii_case(class) {
            let n = |s: &str| s.parse::<i64>().unwrap_or(0).max(0);
            return [n(c[1]), n(c[2]), n(c[3])];
        }
    }
    if class == "pubsub" {
        [32 << 20, 8 << 20, 60]
    } else {
        [0, 0, 0]
    }
}

/// Which namespace a subscription is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// SUBSCRIBE / PUBLISH.
    Channel,
    /// PSUBSCRIBE (matched by PUBLISH).
    Pattern,
    /// SSUBSCRIBE / SPUBLISH.
    Shard,
}

impl Kind {
    pub fn subscribe_word(self) -> &'static str {
        match self {
            Kind::Channel => "subscribe",
            Kind::Pattern => "psubscribe",
            Kind::Shard => "ssubscribe",
        }
    }

    pub fn unsubscribe_word(self) -> &'static str {
        match self {
            Kind::Channel => "unsubscribe",
            Kind::Pattern => "punsubscribe",
            Kind::Shard => "sunsubscribe",
        }
    }

    fn counter(self, c: &ClientInfo) -> &AtomicUsize {
        match self {
            Kind::Channel => &c.subscriptions,
            Kind::Pattern => &c.psubscriptions,
            Kind::Shard => &c.ssubscriptions,
        }
    }
}

/// The count a (un)subscribe confirmation carries: channels and patterns together,
/// shard channels on their own (Valkey's `subscriptionCount` of each type).
pub fn confirmation_count(c: &ClientInfo, kind: Kind) -> usize {
    match kind {
        Kind::Shard => c.ssubscriptions.load(Relaxed),
        _ => c.subscriptions.load(Relaxed) + c.psubscriptions.load(Relaxed),
    }
}

type Subscribers = Vec<Arc<ClientInfo>>;
type ClientShard = CachePadded<Mutex<HashMap<u64, ClientSubs>>>;
type ChannelMap = HashMap<Box<[u8]>, Subscribers, foldhash::fast::RandomState>;

/// Channels of one kind, sharded by channel hash.
struct Channels {
    shards: Box<[CachePadded<Mutex<ChannelMap>>]>,
    hasher: foldhash::fast::RandomState,
    /// Channels with at least one subscriber.
    count: AtomicUsize,
}

impl Default for Channels {
    fn default() -> Self {
        Channels {
            shards: (0..SHARDS)
                .map(|_| CachePadded::new(Mutex::new(ChannelMap::default())))
                .collect(),
            hasher: Default::default(),
            count: AtomicUsize::new(0),
        }
    }
}

impl Channels {
    fn lock(&self, ch: &[u8]) -> MutexGuard<'_, ChannelMap> {
        let i = self.hasher.hash_one(ch) as usize & (SHARDS - 1);
        self.shards[i].lock()
    }

    fn add(&self, ch: &[u8], c: &Arc<ClientInfo>) {
        let mut m = self.lock(ch);
        match m.get_mut(ch) {
            Some(v) => v.push(c.clone()),
            None => {
                m.insert(ch.into(), vec![c.clone()]);
                self.count.fetch_add(1, Relaxed);
            }
        }
    }

    fn remove(&self, ch: &[u8], id: u64) {
        let mut m = self.lock(ch);
        let Some(v) = m.get_mut(ch) else { return };
        if let Some(i) = v.iter().position(|x| x.id == id) {
            v.remove(i);
        }
        if v.is_empty() {
            m.remove(ch);
            self.count.fetch_sub(1, Relaxed);
        }
    }

    fn numsub(&self, ch: &[u8]) -> usize {
        self.lock(ch).get(ch).map_or(0, |v| v.len())
    }

    fn names(&self, pattern: Option<&[u8]>) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for s in self.shards.iter() {
            for k in s.lock().keys() {
                if pattern.is_none_or(|p| glob_match(p, k, false)) {
                    out.push(k.to_vec());
                }
            }
        }
        out
    }
}

/// One client's subscriptions, each with the order it was made in (UNSUBSCRIBE with
/// no arguments confirms them in that order).
#[derive(Default)]
struct ClientSubs {
    seq: u64,
    sets: [HashMap<Box<[u8]>, u64, foldhash::fast::RandomState>; 3],
}

fn slot(kind: Kind) -> usize {
    match kind {
        Kind::Channel => 0,
        Kind::Pattern => 1,
        Kind::Shard => 2,
    }
}

/// Output buffer limits for subscribers, read once per publish.
#[derive(Clone, Copy)]
struct Limits {
    hard: usize,
    soft: usize,
    soft_secs: f64,
}

impl Limits {
    fn of(srv: &Server) -> Limits {
        let h = &srv.config.hot;
        Limits {
            hard: h.pubsub_obuf_hard.load(Relaxed),
            soft: h.pubsub_obuf_soft.load(Relaxed),
            soft_secs: h.pubsub_obuf_soft_secs.load(Relaxed) as f64,
        }
    }
}

/// A message encoded once per protocol version, on first need.
struct Encoded<'a> {
    parts: [&'a [u8]; 4],
    n: usize,
    resp2: Option<Vec<u8>>,
    resp3: Option<Vec<u8>>,
}

impl<'a> Encoded<'a> {
    fn new(parts: &[&'a [u8]]) -> Self {
        let mut p: [&[u8]; 4] = [b""; 4];
        p[..parts.len()].copy_from_slice(parts);
        Encoded {
            parts: p,
            n: parts.len(),
            resp2: None,
            resp3: None,
        }
    }

    fn get(&mut self, resp3: bool) -> &[u8] {
        let parts = &self.parts[..self.n];
        let slot = if resp3 {
            &mut self.resp3
        } else {
            &mut self.resp2
        };
        slot.get_or_insert_with(|| encode(resp3, parts))
    }
}

/// A message frame: a RESP2 array or a RESP3 push of bulk strings.
pub fn encode(resp3: bool, parts: &[&[u8]]) -> Vec<u8> {
    let mut v = Vec::with_capacity(16 + parts.iter().map(|p| p.len() + 16).sum::<usize>());
    v.push(if resp3 { b'>' } else { b'*' });
    v.extend_from_slice(itoa::Buffer::new().format(parts.len()).as_bytes());
    v.extend_from_slice(b"\r\n");
    for p in parts {
        v.push(b'$');
        v.extend_from_slice(itoa::Buffer::new().format(p.len()).as_bytes());
        v.extend_from_slice(b"\r\n");
        v.extend_from_slice(p);
        v.extend_from_slice(b"\r\n");
    }
    v
}

/// All subscriptions of all clients.
pub struct PubSub {
    channels: Channels,
    shard_channels: Channels,
    /// Unique patterns with their subscribers.
    patterns: RwLock<Vec<(Box<[u8]>, Subscribers)>>,
    pattern_count: AtomicUsize,
    clients: Box<[ClientShard]>,
    /// When each subscriber over the soft output limit first went over it.
    soft_since: Mutex<HashMap<u64, Instant>>,
    soft_len: AtomicUsize,
    /// Subscribers closed for going over an output buffer limit (INFO
    /// `client_output_buffer_limit_disconnections`).
    pub obuf_disconnections: AtomicU64,
}

impl Default for PubSub {
    fn default() -> Self {
        PubSub {
            channels: Channels::default(),
            shard_channels: Channels::default(),
            patterns: RwLock::new(Vec::new()),
            pattern_count: AtomicUsize::new(0),
            clients: (0..CLIENT_SHARDS)
                .map(|_| CachePadded::new(Mutex::new(HashMap::new())))
                .collect(),
            soft_since: Mutex::new(HashMap::new()),
            soft_len: AtomicUsize::new(0),
            obuf_disconnections: AtomicU64::new(0),
        }
    }
}

impl PubSub {
    fn client_lock(&self, id: u64) -> MutexGuard<'_, HashMap<u64, ClientSubs>> {
        self.clients[id as usize % CLIENT_SHARDS].lock()
    }

    /// Channels with subscribers (INFO `pubsub_channels`).
    pub fn channel_count(&self) -> usize {
        self.channels.count.load(Relaxed)
    }

    /// Unique patterns (INFO `pubsub_patterns`, PUBSUB NUMPAT).
    pub fn pattern_count(&self) -> usize {
        self.pattern_count.load(Relaxed)
    }

    /// Shard channels with subscribers (INFO `pubsubshard_channels`).
    pub fn shard_channel_count(&self) -> usize {
        self.shard_channels.count.load(Relaxed)
    }

    /// True when nobody subscribes to anything a keyspace event could reach.
    pub fn idle(&self) -> bool {
        self.channel_count() == 0 && self.pattern_count() == 0
    }

    /// Subscribes `c` to `name`; false if it already was.
    pub fn subscribe(&self, c: &Arc<ClientInfo>, kind: Kind, name: &[u8]) -> bool {
        let mut clients = self.client_lock(c.id);
        let subs = clients.entry(c.id).or_default();
        if subs.sets[slot(kind)].contains_key(name) {
            return false;
        }
        subs.seq += 1;
        let seq = subs.seq;
        subs.sets[slot(kind)].insert(name.into(), seq);
        match kind {
            Kind::Channel => self.channels.add(name, c),
            Kind::Shard => self.shard_channels.add(name, c),
            Kind::Pattern => {
                let mut pats = self.patterns.write();
                match pats.iter_mut().find(|(p, _)| &**p == name) {
                    Some((_, v)) => v.push(c.clone()),
                    None => {
                        pats.push((name.into(), vec![c.clone()]));
                        self.pattern_count.store(pats.len(), Relaxed);
                    }
                }
            }
        }
        kind.counter(c).fetch_add(1, Relaxed);
        c.set_flag(cflags::PUBSUB, true);
        true
    }

    /// Unsubscribes `c` from `name`; false if it was not subscribed.
    pub fn unsubscribe(&self, c: &ClientInfo, kind: Kind, name: &[u8]) -> bool {
        let mut clients = self.client_lock(c.id);
        let Some(subs) = clients.get_mut(&c.id) else {
            return false;
        };
        if subs.sets[slot(kind)].remove(name).is_none() {
            return false;
        }
        self.detach(c, kind, name);
        true
    }

    fn detach(&self, c: &ClientInfo, kind: Kind, name: &[u8]) {
        match kind {
            Kind::Channel => self.channels.remove(name, c.id),
            Kind::Shard => self.shard_channels.remove(name, c.id),
            Kind::Pattern => {
                let mut pats = self.patterns.write();
                if let Some(i) = pats.iter().position(|(p, _)| &**p == name) {
                    let v = &mut pats[i].1;
                    if let Some(j) = v.iter().position(|x| x.id == c.id) {
                        v.remove(j);
                    }
                    if v.is_empty() {
                        pats.remove(i);
                        self.pattern_count.store(pats.len(), Relaxed);
                    }
                }
            }
        }
        kind.counter(c).fetch_sub(1, Relaxed);
    }

    /// Unsubscribes `c` from everything of `kind`; returns the names in the order they
    /// were subscribed.
    pub fn unsubscribe_all(&self, c: &ClientInfo, kind: Kind) -> Vec<Box<[u8]>> {
        let mut clients = self.client_lock(c.id);
        let Some(subs) = clients.get_mut(&c.id) else {
            return Vec::new();
        };
        let mut names: Vec<(Box<[u8]>, u64)> = subs.sets[slot(kind)].drain().collect();
        names.sort_unstable_by_key(|(_, s)| *s);
        for (n, _) in &names {
            self.detach(c, kind, n);
        }
        names.into_iter().map(|(n, _)| n).collect()
    }

    /// Clears the PUBSUB client flag once nothing is left (Valkey's
    /// `unmarkClientAsPubSub`).
    pub fn refresh_flag(&self, c: &ClientInfo) {
        let total = c.subscriptions.load(Relaxed)
            + c.psubscriptions.load(Relaxed)
            + c.ssubscriptions.load(Relaxed);
        c.set_flag(cflags::PUBSUB, total > 0);
    }

    /// Drops every subscription of a client that disconnected or sent RESET, without
    /// confirmations.
    pub fn client_gone(&self, c: &ClientInfo) {
        for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
            self.unsubscribe_all(c, kind);
        }
        self.client_lock(c.id).remove(&c.id);
        if self.soft_len.load(Relaxed) > 0 {
            let mut s = self.soft_since.lock();
            s.remove(&c.id);
            self.soft_len.store(s.len(), Relaxed);
        }
        c.set_flag(cflags::PUBSUB, false);
    }

    /// PUBLISH / SPUBLISH: delivers to the channel's subscribers and, for PUBLISH, to
    /// every matching pattern's. Returns the number of deliveries.
    pub fn publish(&self, srv: &Server, shard: bool, channel: &[u8], msg: &[u8]) -> usize {
        let lim = Limits::of(srv);
        let mut n = 0;
        let (set, word): (&Channels, &[u8]) = if shard {
            (&self.shard_channels, b"smessage")
        } else {
            (&self.channels, b"message")
        };
        if set.count.load(Relaxed) > 0 {
            let m = set.lock(channel);
            if let Some(subs) = m.get(channel) {
                let mut enc = Encoded::new(&[word, channel, msg]);
                for c in subs {
                    self.deliver(c, enc.get(c.resp.load(Relaxed) == 3), &lim);
                    n += 1;
                }
            }
        }
        if !shard && self.pattern_count.load(Relaxed) > 0 {
            let pats = self.patterns.read();
            for (p, subs) in pats.iter() {
                if !glob_match(p, channel, false) {
                    continue;
                }
                let mut enc = Encoded::new(&[b"pmessage", p, channel, msg]);
                for c in subs {
                    self.deliver(c, enc.get(c.resp.load(Relaxed) == 3), &lim);
                    n += 1;
                }
            }
        }
        n
    }

    /// Queues one message for a subscriber and enforces the output buffer limits: over
    /// the hard limit, or over the soft one for longer than its seconds, the
    /// subscriber is closed (as Valkey's `checkClientOutputBufferLimits`).
    fn deliver(&self, c: &ClientInfo, bytes: &[u8], lim: &Limits) {
        // a subscriber already being closed gets nothing more queued
        if c.killed.load(Relaxed) {
            return;
        }
        c.outbox.push(bytes.to_vec(), 0);
        let used = c.outbox.bytes();
        let mut over = lim.hard > 0 && used >= lim.hard;
        if !over && lim.soft > 0 && used >= lim.soft {
            let mut s = self.soft_since.lock();
            let since = *s.entry(c.id).or_insert_with(Instant::now);
            self.soft_len.store(s.len(), Relaxed);
            over = since.elapsed().as_secs_f64() > lim.soft_secs;
        } else if self.soft_len.load(Relaxed) > 0 {
            let mut s = self.soft_since.lock();
            s.remove(&c.id);
            self.soft_len.store(s.len(), Relaxed);
        }
        if over {
            self.obuf_disconnections.fetch_add(1, Relaxed);
            tracing::info!(
                id = c.id,
                addr = %c.addr,
                "client scheduled to be closed ASAP for overcoming of output buffer limits"
            );
            c.request_kill();
        }
    }

    /// PUBSUB CHANNELS / SHARDCHANNELS.
    pub fn channel_names(&self, shard: bool, pattern: Option<&[u8]>) -> Vec<Vec<u8>> {
        if shard {
            self.shard_channels.names(pattern)
        } else {
            self.channels.names(pattern)
        }
    }

    /// PUBSUB NUMSUB / SHARDNUMSUB for one channel.
    pub fn numsub(&self, shard: bool, channel: &[u8]) -> usize {
        if shard {
            self.shard_channels.numsub(channel)
        } else {
            self.channels.numsub(channel)
        }
    }
}

/// Publishes a keyspace notification, as Valkey's `notifyKeyspaceEvent`:
/// `__keyspace@<db>__:<key>` carrying the event and `__keyevent@<db>__:<event>`
/// carrying the key, each if enabled and `class` is enabled. Costs one atomic load
/// when notifications are off.
pub fn notify(srv: &Server, class: u32, event: &str, key: &[u8], db: usize) {
    let flags = srv.config.hot.notify_keyspace_events.load(Relaxed);
    if flags == 0 {
        return;
    }
    // a key this command created is announced before what was done to it, as Valkey
    // announces `new` from dbAdd; drained even when `class` is off, so that the
    // record of created keys never outgrows one command
    if flags & class::NEW != 0 {
        report_created(srv);
    }
    if flags & class == 0 || srv.pubsub.idle() {
        return;
    }
    publish_event(srv, flags, event, key, db);
}

/// Publishes the `new` events of the keys this thread created since the last call
/// (recorded by the store only while `n` is enabled).
pub fn report_created(srv: &Server) {
    if !crate::store::TRACK_CREATED.load(Relaxed) {
        return;
    }
    let created = crate::store::take_created();
    let flags = srv.config.hot.notify_keyspace_events.load(Relaxed);
    if flags & class::NEW == 0 || srv.pubsub.idle() {
        return;
    }
    for (db, key) in created {
        publish_event(srv, flags, "new", &key, db);
    }
}

fn publish_event(srv: &Server, flags: u32, event: &str, key: &[u8], db: usize) {
    let mut dbs = itoa::Buffer::new();
    let dbs = dbs.format(db).as_bytes();
    if flags & class::KEYSPACE != 0 {
        let mut ch = Vec::with_capacity(16 + key.len());
        ch.extend_from_slice(b"__keyspace@");
        ch.extend_from_slice(dbs);
        ch.extend_from_slice(b"__:");
        ch.extend_from_slice(key);
        srv.pubsub.publish(srv, false, &ch, event.as_bytes());
    }
    if flags & class::KEYEVENT != 0 {
        let mut ch = Vec::with_capacity(16 + event.len());
        ch.extend_from_slice(b"__keyevent@");
        ch.extend_from_slice(dbs);
        ch.extend_from_slice(b"__:");
        ch.extend_from_slice(event.as_bytes());
        srv.pubsub.publish(srv, false, &ch, key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_flags() {
        assert_eq!(parse_notify_flags(""), 0);
        assert_eq!(
            parse_notify_flags("KEA"),
            class::KEYSPACE | class::KEYEVENT | class::ALL
        );
        assert_eq!(parse_notify_flags("El"), class::KEYEVENT | class::LIST);
        assert_eq!(parse_notify_flags("An") & class::NEW, class::NEW);
        assert_eq!(parse_notify_flags("A") & (class::NEW | class::KEY_MISS), 0);
    }

    #[test]
    fn obuf_limits_per_class() {
        let v = "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60";
        assert_eq!(obuf_limits(v, "pubsub"), [33554432, 8388608, 60]);
        assert_eq!(obuf_limits(v, "normal"), [0, 0, 0]);
        let v = "normal 100 50 2 slave 1 1 1 pubsub 1000 0 0";
        assert_eq!(obuf_limits(v, "pubsub"), [1000, 0, 0]);
        assert_eq!(obuf_limits(v, "normal"), [100, 50, 2]);
        assert_eq!(obuf_limits("", "pubsub"), [32 << 20, 8 << 20, 60]);
        assert_eq!(obuf_limits("", "normal"), [0, 0, 0]);
    }

    #[test]
    fn frames() {
        assert_eq!(
            encode(false, &[b"message", b"ch", b"hi"]),
            b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n".to_vec()
        );
        assert_eq!(
            encode(true, &[b"message", b"", b"x"]),
            b">3\r\n$7\r\nmessage\r\n$0\r\n\r\n$1\r\nx\r\n".to_vec()
        );
    }

    /// Pattern subscriptions match with Valkey's stringmatch rules.
    #[test]
    fn pattern_matching() {
        let m = |p: &str, s: &str| glob_match(p.as_bytes(), s.as_bytes(), false);
        assert!(m("news.*", "news.sport"));
        assert!(!m("news.*", "News.sport"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("a\\*b", "a*b"));
        assert!(!m("a\\*b", "axxb"));
        assert!(m("a[\\]]", "a]"));
        assert!(m("ab[c", "abc"));
        assert!(!m("ab[c", "abd"));
        assert!(m("x[a-c]?", "xbz"));
        // as Valkey's stringmatchlen, nothing matches an empty channel name
        assert!(!m("*", ""));
    }

    fn client(id: u64) -> Arc<ClientInfo> {
        Arc::new(ClientInfo::new(id, "a".into(), "b".into(), 0))
    }

    #[test]
    fn registry_counts() {
        let ps = PubSub::default();
        let a = client(1);
        let b = client(2);
        assert!(ps.subscribe(&a, Kind::Channel, b"x"));
        assert!(!ps.subscribe(&a, Kind::Channel, b"x"));
        assert!(ps.subscribe(&b, Kind::Channel, b"x"));
        assert!(ps.subscribe(&a, Kind::Pattern, b"x*"));
        assert!(ps.subscribe(&b, Kind::Pattern, b"x*"));
        assert!(ps.subscribe(&a, Kind::Shard, b"s"));
        assert_eq!(ps.channel_count(), 1);
        assert_eq!(ps.pattern_count(), 1);
        assert_eq!(ps.shard_channel_count(), 1);
        assert_eq!(ps.numsub(false, b"x"), 2);
        assert_eq!(confirmation_count(&a, Kind::Channel), 2);
        assert_eq!(confirmation_count(&a, Kind::Shard), 1);
        assert!(a.has_flag(cflags::PUBSUB));
        ps.client_gone(&a);
        assert_eq!(ps.numsub(false, b"x"), 1);
        assert_eq!(ps.shard_channel_count(), 0);
        assert_eq!(a.subscriptions.load(Relaxed), 0);
        assert!(!a.has_flag(cflags::PUBSUB));
        assert!(!ps.unsubscribe(&b, Kind::Channel, b"nope"));
        assert!(ps.unsubscribe(&b, Kind::Channel, b"x"));
        assert_eq!(ps.channel_count(), 0);
        assert_eq!(ps.unsubscribe_all(&b, Kind::Pattern).len(), 1);
        assert_eq!(ps.pattern_count(), 0);
    }

    #[test]
    fn output_limits_close_subscribers() {
        let ps = PubSub::default();
        let msg = [b'x'; 100];
        // the hard limit closes at once
        let a = client(1);
        let hard = Limits {
            hard: 150,
            soft: 0,
            soft_secs: 0.0,
        };
        ps.deliver(&a, &msg, &hard);
        assert!(!a.killed.load(Relaxed));
        ps.deliver(&a, &msg, &hard);
        assert!(a.killed.load(Relaxed));
        // a closing subscriber gets nothing more queued
        ps.deliver(&a, &msg, &hard);
        assert_eq!(a.outbox.bytes(), 200);
        assert_eq!(ps.obuf_disconnections.load(Relaxed), 1);

        // the soft limit tolerates a while, then closes
        let b = client(2);
        let soft = Limits {
            hard: 0,
            soft: 150,
            soft_secs: 0.05,
        };
        ps.deliver(&b, &msg, &soft);
        ps.deliver(&b, &msg, &soft);
        assert!(!b.killed.load(Relaxed));
        std::thread::sleep(std::time::Duration::from_millis(60));
        ps.deliver(&b, &msg, &soft);
        assert!(b.killed.load(Relaxed));

        // going back under the soft limit resets the clock
        let c = client(3);
        ps.deliver(&c, &msg, &soft);
        ps.deliver(&c, &msg, &soft);
        std::thread::sleep(std::time::Duration::from_millis(60));
        let mut sink = Vec::new();
        c.outbox.drain_into(&mut sink);
        ps.deliver(&c, &msg, &soft);
        ps.deliver(&c, &msg, &soft);
        assert!(!c.killed.load(Relaxed));
        ps.client_gone(&c);
        assert_eq!(ps.soft_len.load(Relaxed), 1);
    }

    #[test]
    fn unsubscribe_all_keeps_order() {
        let ps = PubSub::default();
        let a = client(7);
        for n in [&b"c"[..], b"a", b"b"] {
            ps.subscribe(&a, Kind::Channel, n);
        }
        let names = ps.unsubscribe_all(&a, Kind::Channel);
        assert_eq!(
            names,
            vec![
                b"c".to_vec().into(),
                b"a".to_vec().into(),
                b"b".to_vec().into()
            ] as Vec<Box<[u8]>>
        );
    }
}
