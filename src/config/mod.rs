//! Configuration: one declarative table of directives drives the config file parser,
//! the command line, CONFIG GET/SET/REWRITE and the defaults printed in
//! `conf/ferrokey.conf`.
//!
//! Values are kept in canonical text form (what CONFIG GET prints). Directives read on
//! hot paths are mirrored into atomics in [`Hot`] whenever they change.

mod table;

use crate::commands::args::{glob_match, parse_i64};
use crate::protocol::decode::split_args;
use parking_lot::RwLock;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering::Relaxed};
pub use table::DIRECTIVES;

/// How a directive's value is checked and normalized.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Bool,
    Int(i64, i64),
    /// Bytes, accepting units (1k, 1kb, 1mb, 1gb...); printed as a byte count.
    Mem(i64, i64),
    Enum(&'static [&'static str]),
    Str,
    /// Validated and normalized by a function (notify-keyspace-events, save...).
    Special(fn(&str) -> Result<String, String>),
}

pub const IMMUTABLE: u8 = 1;
/// Not listed by CONFIG GET patterns, only by exact name (as Valkey's hidden configs).
pub const HIDDEN: u8 = 2;
/// Values are never echoed into logs.
pub const SENSITIVE: u8 = 4;

#[derive(Debug)]
pub struct Directive {
    pub name: &'static str,
    pub alias: Option<&'static str>,
    pub kind: Kind,
    pub default: &'static str,
    pub flags: u8,
}

impl Directive {
    pub fn immutable(&self) -> bool {
        self.flags & IMMUTABLE != 0
    }

    /// Checks a value and returns its canonical form, or Valkey's reason text.
    pub fn normalize(&self, v: &str) -> Result<String, String> {
        match self.kind {
            Kind::Bool => match v.to_ascii_lowercase().as_str() {
                "yes" => Ok("yes".into()),
                "no" => Ok("no".into()),
                _ => Err("argument must be 'yes' or 'no'".into()),
            },
            Kind::Int(min, max) => {
                let n = parse_i64(v.as_bytes())
                    .ok_or_else(|| "argument couldn't be parsed into an integer".to_string())?;
                if n < min || n > max {
                    return Err(format!(
                        "argument must be between {min} and {max} inclusive"
                    ));
                }
                Ok(n.to_string())
            }
            Kind::Mem(min, max) => {
                let n =
                    parse_memory(v).ok_or_else(|| "argument must be a memory value".to_string())?;
                if n < min || n > max {
                    return Err(format!(
                        "argument must be between {min} and {max} inclusive"
                    ));
                }
                Ok(n.to_string())
            }
            Kind::Enum(opts) => {
                let l = v.to_ascii_lowercase();
                if opts.contains(&l.as_str()) {
                    Ok(l)
                } else {
                    Err(format!(
                        "argument(s) must be one of the following: {}",
                        opts.join(", ")
                    ))
                }
            }
            Kind::Str => Ok(v.to_string()),
            Kind::Special(f) => f(v),
        }
    }
}

/// Parses "100", "1k", "1kb", "5mb", "2gb" (k = 1000, kb = 1024) like Valkey's
/// `memtoull`; values past i64 come out negative, as in Valkey's signed directives.
pub fn parse_memory(v: &str) -> Option<i64> {
    // Valkey's memtoull: decimal digits (none reads as 0, leading zeros are fine), then
    // an optional unit; no sign, no spaces
    let (num, unit) = v.split_at(v.bytes().take_while(u8::is_ascii_digit).count());
    let mul: i64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1 << 10,
        "m" => 1_000_000,
        "mb" => 1 << 20,
        "g" => 1_000_000_000,
        "gb" => 1 << 30,
        _ => return None,
    };
    // strtoull saturates, the multiplication wraps, and the result is read as a signed
    // value: what lies past i64 comes out negative, and fails the range checks with
    // Valkey's texts
    let n: u64 = match num {
        "" => 0,
        digits => digits.parse().unwrap_or(u64::MAX),
    };
    Some(n.wrapping_mul(mul as u64) as i64)
}

/// Directives read on hot paths, kept as atomics.
#[derive(Default)]
pub struct Hot {
    pub maxclients: AtomicUsize,
    pub proto_max_bulk_len: AtomicUsize,
    pub client_query_buffer_limit: AtomicUsize,
    pub slowlog_log_slower_than: AtomicI64,
    pub slowlog_max_len: AtomicUsize,
    pub commandlog_request_larger_than: AtomicI64,
    pub commandlog_large_request_max_len: AtomicUsize,
    pub commandlog_reply_larger_than: AtomicI64,
    pub commandlog_large_reply_max_len: AtomicUsize,
    pub hz: AtomicUsize,
    /// The encoding thresholds, read by every collection write.
    pub enc: EncodingKnobs,
    pub timeout: AtomicI64,
    pub has_password: AtomicBool,
    pub active_expire: AtomicBool,
    pub protected_mode: AtomicBool,
    /// `notify-keyspace-events` as class bits (see `crate::pubsub::class`).
    pub notify_keyspace_events: std::sync::atomic::AtomicU32,
    /// The `pubsub` class of `client-output-buffer-limit`: hard and soft bytes, soft seconds.
    pub pubsub_obuf_hard: AtomicUsize,
    pub pubsub_obuf_soft: AtomicUsize,
    pub pubsub_obuf_soft_secs: AtomicI64,
    /// The `normal` class: hard and soft bytes, soft seconds (0 0 0 = no limit).
    pub normal_obuf_hard: AtomicUsize,
    pub normal_obuf_soft: AtomicUsize,
    pub normal_obuf_soft_secs: AtomicI64,
    /// `busy-reply-threshold` and `min-replicas-to-write`, read by every script run.
    pub busy_reply_threshold: AtomicI64,
    pub min_replicas_to_write: AtomicI64,
}

/// The collection encoding thresholds (`hash-max-listpack-entries`...).
#[derive(Default)]
pub struct EncodingKnobs {
    pub hash_entries: AtomicI64,
    pub hash_value: AtomicI64,
    pub list_size: AtomicI64,
    pub set_intset_entries: AtomicI64,
    pub set_entries: AtomicI64,
    pub set_value: AtomicI64,
    pub zset_entries: AtomicI64,
    pub zset_value: AtomicI64,
}

/// Binds a new listening address (bind list, port) for CONFIG SET; an error text
/// refuses the change.
pub type ListenHook = Box<dyn Fn(&str, u16) -> Result<(), String> + Send + Sync>;

/// Prepares a CONFIG SET of `tls-*` directives: given the value every directive is
/// about to have, builds the new TLS context (and binds a new tls-port) or refuses
/// with an error text; the returned closure installs it once the whole CONFIG SET is
/// known to succeed, so a refused change leaves the old context in force.
pub type TlsHook =
    Box<dyn Fn(&dyn Fn(&str) -> String) -> Result<Box<dyn FnOnce() + Send>, String> + Send + Sync>;

pub struct Config {
    /// Installed by the server once it listens.
    pub listen_hook: RwLock<Option<ListenHook>>,
    /// Installed by the server once it listens.
    pub tls_hook: RwLock<Option<TlsHook>>,
    values: RwLock<Vec<String>>,
    index: HashMap<&'static str, usize>,
    pub hot: Hot,
    /// The config file, for CONFIG REWRITE.
    pub file: RwLock<Option<std::path::PathBuf>>,
}

impl Default for Config {
    fn default() -> Self {
        Config::new()
    }
}

impl Config {
    pub fn new() -> Self {
        let mut index = HashMap::new();
        for (i, d) in DIRECTIVES.iter().enumerate() {
            index.insert(d.name, i);
            if let Some(a) = d.alias {
                index.insert(a, i);
            }
        }
        let c = Config {
            listen_hook: RwLock::new(None),
            tls_hook: RwLock::new(None),
            values: RwLock::new(DIRECTIVES.iter().map(|d| d.default.to_string()).collect()),
            index,
            hot: Hot::default(),
            file: RwLock::new(None),
        };
        c.hot.active_expire.store(true, Relaxed);
        for d in DIRECTIVES {
            c.refresh_hot(d.name);
        }
        c
    }

    pub fn directive(&self, name: &str) -> Option<(usize, &'static Directive)> {
        let l = name.to_ascii_lowercase();
        self.index.get(l.as_str()).map(|&i| (i, &DIRECTIVES[i]))
    }

    /// The canonical value of a directive (by name or alias).
    pub fn get(&self, name: &str) -> Option<String> {
        let (i, _) = self.directive(name)?;
        Some(self.values.read()[i].clone())
    }

    pub fn get_i64(&self, name: &str) -> i64 {
        self.get(name).and_then(|v| v.parse().ok()).unwrap_or(0)
    }

    pub fn get_bool(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| v == "yes")
    }

    /// CONFIG GET: (name, value) pairs for every directive or alias matching any pattern.
    pub fn matching(&self, patterns: &[&[u8]]) -> Vec<(String, String)> {
        let vals = self.values.read();
        let mut out: Vec<(String, String)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for p in patterns {
            let exact = !p.iter().any(|c| matches!(c, b'*' | b'?' | b'['));
            for (i, d) in DIRECTIVES.iter().enumerate() {
                for n in std::iter::once(d.name).chain(d.alias) {
                    let hit = if exact {
                        n.as_bytes().eq_ignore_ascii_case(p)
                    } else {
                        d.flags & HIDDEN == 0 && glob_match(p, n.as_bytes(), true)
                    };
                    if hit && seen.insert(n) {
                        out.push((n.to_string(), vals[i].clone()));
                    }
                }
            }
        }
        out
    }

    /// Sets several directives at once: all are validated first and nothing changes
    /// unless every one is valid. Errors are the text after "ERR ".
    pub fn set_many(&self, pairs: &[(&str, &str)], startup: bool) -> Result<(), String> {
        let mut staged: Vec<(usize, &'static Directive, String)> = Vec::new();
        for (name, value) in pairs {
            let Some((i, d)) = self.directive(name) else {
                return Err(format!(
                    "Unknown option or number of arguments for CONFIG SET - '{name}'"
                ));
            };
            if staged.iter().any(|(j, _, _)| *j == i) {
                return Err(format!(
                    "CONFIG SET failed (possibly related to argument '{name}') - duplicate parameter"
                ));
            }
            if !startup && d.immutable() {
                return Err(format!(
                    "CONFIG SET failed (possibly related to argument '{name}') - can't set immutable config"
                ));
            }
            // buffer limits are set one class at a time: merge with the current ones
            let merged;
            let value: &str = if d.name == "client-output-buffer-limit" {
                merged = format!("{} {}", self.values.read()[i], value);
                &merged
            } else {
                value
            };
            let v = d.normalize(value).map_err(|e| {
                format!("CONFIG SET failed (possibly related to argument '{name}') - {e}")
            })?;
            staged.push((i, d, v));
        }
        // a new TLS context is built (and a new tls-port bound) before anything is
        // committed, so a bad certificate fails the whole CONFIG SET and nothing changes
        let mut tls_commit = None;
        if !startup {
            if let Some((_, d, _)) = staged.iter().find(|(_, d, _)| d.name.starts_with("tls-")) {
                if let Some(f) = self.tls_hook.read().as_ref() {
                    let value = |n: &str| {
                        staged
                            .iter()
                            .find(|(_, d, _)| d.name == n)
                            .map(|(_, _, v)| v.clone())
                            .unwrap_or_else(|| self.get(n).unwrap_or_default())
                    };
                    let which = if staged.iter().any(|(_, d, _)| d.name == "tls-port") {
                        "tls-port"
                    } else {
                        d.name
                    };
                    tls_commit = Some(f(&value).map_err(|e| {
                        format!("CONFIG SET failed (possibly related to argument '{which}') - {e}")
                    })?);
                }
            }
        }
        // a new listening address is bound before anything is committed, so a port
        // in use fails the whole CONFIG SET and nothing changes
        if !startup {
            let current = |n: &str| self.get(n).unwrap_or_default();
            let new = |n: &str| {
                staged
                    .iter()
                    .find(|(_, d, _)| d.name == n)
                    .map(|(_, _, v)| v.clone())
            };
            let (port, bind) = (new("port"), new("bind"));
            let changed = port.as_ref().is_some_and(|p| *p != current("port"))
                || bind.as_ref().is_some_and(|b| *b != current("bind"));
            if changed {
                let port = port.unwrap_or_else(|| current("port"));
                let bind = bind.unwrap_or_else(|| current("bind"));
                let which = if new("port").is_some() {
                    "port"
                } else {
                    "bind"
                };
                if let Some(f) = self.listen_hook.read().as_ref() {
                    f(&bind, port.parse().unwrap_or(0)).map_err(|e| {
                        format!("CONFIG SET failed (possibly related to argument '{which}') - {e}")
                    })?;
                }
            }
        }
        {
            let mut vals = self.values.write();
            for (i, _, v) in &staged {
                vals[*i] = v.clone();
            }
        }
        for (_, d, _) in &staged {
            self.refresh_hot(d.name);
        }
        if let Some(commit) = tls_commit {
            commit();
        }
        // the canonical text of notify-keyspace-events drops `n` next to `A` (as
        // Valkey prints it), but the class stays enabled: take the bits from the input
        if let Some((_, v)) = pairs.iter().find(|(n, _)| {
            self.directive(n)
                .is_some_and(|(_, d)| d.name == "notify-keyspace-events")
        }) {
            self.set_notify_flags(crate::pubsub::parse_notify_flags(v));
        }
        Ok(())
    }

    fn set_notify_flags(&self, f: u32) {
        use crate::pubsub::class;
        self.hot.notify_keyspace_events.store(f, Relaxed);
        let new = f & class::NEW != 0 && f & (class::KEYSPACE | class::KEYEVENT) != 0;
        crate::store::TRACK_CREATED.store(new, Relaxed);
    }

    pub fn set(&self, name: &str, value: &str) -> Result<(), String> {
        self.set_many(&[(name, value)], false)
    }

    fn refresh_hot(&self, name: &str) {
        let h = &self.hot;
        let int = |n: &str| self.get_i64(n);
        match name {
            "maxclients" => h.maxclients.store(int(name) as usize, Relaxed),
            "proto-max-bulk-len" => h.proto_max_bulk_len.store(int(name) as usize, Relaxed),
            "client-query-buffer-limit" => h
                .client_query_buffer_limit
                .store(int(name) as usize, Relaxed),
            "slowlog-log-slower-than" => h.slowlog_log_slower_than.store(int(name), Relaxed),
            "slowlog-max-len" => h.slowlog_max_len.store(int(name) as usize, Relaxed),
            "commandlog-request-larger-than" => {
                h.commandlog_request_larger_than.store(int(name), Relaxed)
            }
            "commandlog-large-request-max-len" => h
                .commandlog_large_request_max_len
                .store(int(name) as usize, Relaxed),
            "commandlog-reply-larger-than" => {
                h.commandlog_reply_larger_than.store(int(name), Relaxed)
            }
            "commandlog-large-reply-max-len" => h
                .commandlog_large_reply_max_len
                .store(int(name) as usize, Relaxed),
            "hash-max-listpack-entries" => h.enc.hash_entries.store(int(name), Relaxed),
            "hash-max-listpack-value" => h.enc.hash_value.store(int(name), Relaxed),
            "list-max-listpack-size" => h.enc.list_size.store(int(name), Relaxed),
            "set-max-intset-entries" => h.enc.set_intset_entries.store(int(name), Relaxed),
            "set-max-listpack-entries" => h.enc.set_entries.store(int(name), Relaxed),
            "set-max-listpack-value" => h.enc.set_value.store(int(name), Relaxed),
            "zset-max-listpack-entries" => h.enc.zset_entries.store(int(name), Relaxed),
            "zset-max-listpack-value" => h.enc.zset_value.store(int(name), Relaxed),
            "hz" => h.hz.store(int(name).clamp(1, 500) as usize, Relaxed),
            "timeout" => h.timeout.store(int(name), Relaxed),
            "busy-reply-threshold" => h.busy_reply_threshold.store(int(name), Relaxed),
            "min-replicas-to-write" => h.min_replicas_to_write.store(int(name), Relaxed),
            "requirepass" => {
                // the default ACL user mirrors requirepass, as in Valkey; new
                // connections must authenticate unless it is on and nopass
                crate::acl::set_requirepass(&self.get(name).unwrap_or_default());
                h.has_password
                    .store(!crate::acl::store().default_open(), Relaxed);
            }
            "acl-pubsub-default" => {
                crate::acl::set_pubsub_default(&self.get(name).unwrap_or_default())
            }
            "protected-mode" => h.protected_mode.store(self.get_bool(name), Relaxed),
            // read on every command and lookup: mirrored beside the eviction code
            "maxmemory"
            | "maxmemory-policy"
            | "maxmemory-samples"
            | "maxmemory-eviction-tenacity"
            | "lfu-log-factor"
            | "lfu-decay-time" => crate::store::evict::configure(self),
            "notify-keyspace-events" => self.set_notify_flags(crate::pubsub::parse_notify_flags(
                &self.get(name).unwrap_or_default(),
            )),
            "client-output-buffer-limit" => {
                let v = self.get(name).unwrap_or_default();
                let [hard, soft, secs] = crate::pubsub::obuf_limits(&v, "pubsub");
                h.pubsub_obuf_hard.store(hard as usize, Relaxed);
                h.pubsub_obuf_soft.store(soft as usize, Relaxed);
                h.pubsub_obuf_soft_secs.store(secs, Relaxed);
                let [hard, soft, secs] = crate::pubsub::obuf_limits(&v, "normal");
                h.normal_obuf_hard.store(hard as usize, Relaxed);
                h.normal_obuf_soft.store(soft as usize, Relaxed);
                h.normal_obuf_soft_secs.store(secs, Relaxed);
            }
            _ => {}
        }
    }

    /// Loads a config file's text (valkey.conf syntax): one directive per line, its
    /// arguments split and unquoted as on the inline protocol; `#` starts a comment.
    pub fn load_text(&self, text: &str, origin: &str) -> Result<(), String> {
        for (lineno, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut scratch = Vec::new();
            let mut spans = Vec::new();
            if !split_args(line.as_bytes(), &mut scratch, &mut spans) || spans.is_empty() {
                return Err(bad_directive(
                    origin,
                    lineno + 1,
                    raw,
                    "Unbalanced quotes in configuration line",
                ));
            }
            let args: Vec<String> = spans
                .iter()
                .map(|&(s, e)| String::from_utf8_lossy(&scratch[s..e]).into_owned())
                .collect();
            self.apply_directive(&args)
                .map_err(|e| bad_directive(origin, lineno + 1, raw, &e))?;
        }
        Ok(())
    }

    /// Applies one directive with its arguments (several arguments are joined by
    /// spaces, as for `save 900 1` or `client-output-buffer-limit normal 0 0 0`).
    pub fn apply_directive(&self, args: &[String]) -> Result<(), String> {
        let Some(name) = args.first() else {
            return Ok(());
        };
        if args.len() < 2 {
            return Err("wrong number of arguments".into());
        }
        // `user <name> <rules...>` defines an ACL user
        if name.eq_ignore_ascii_case("user") {
            return crate::acl::config_user(&args[1..]);
        }
        // `rename-command <name> <new name>` ("" removes it): config file only, not a
        // directive CONFIG GET/SET know, as in Valkey
        if name.eq_ignore_ascii_case("rename-command") && args.len() == 3 {
            return crate::commands::table::rename_command(args[1].as_bytes(), args[2].as_bytes());
        }
        if self.directive(name).is_none() {
            return Err("Bad directive or wrong number of arguments".into());
        }
        let value = args[1..].join(" ");
        self.set_many(&[(name.as_str(), value.as_str())], true)
            .map_err(|e| match e.rsplit_once(" - ") {
                Some((_, why)) => why.to_string(),
                None => e,
            })
    }

    /// Every directive with its current value.
    pub fn all_values(&self) -> Vec<(&'static str, String)> {
        let vals = self.values.read();
        DIRECTIVES
            .iter()
            .zip(vals.iter())
            .map(|(d, v)| (d.name, v.clone()))
            .collect()
    }

    /// Renders every directive that differs from its default, for CONFIG REWRITE.
    pub fn non_defaults(&self) -> Vec<(&'static str, String)> {
        let vals = self.values.read();
        DIRECTIVES
            .iter()
            .zip(vals.iter())
            .filter(|(d, v)| d.default != v.as_str())
            .map(|(d, v)| (d.name, v.clone()))
            .collect()
    }
}

/// CONFIG REWRITE as Valkey's: keeps the file's comments and unknown lines, rewrites
/// every directive line of the file with its current value (`current`), and appends
/// the directives that differ from their default (`values`) but had no line.
pub fn rewrite(
    old: &str,
    values: &[(&'static str, String)],
    current: &[(&'static str, String)],
) -> String {
    let mut out = Vec::new();
    let mut written = std::collections::HashSet::new();
    let quote = |v: &str| {
        if v.is_empty() || v.contains(' ') && !v.contains('"') {
            format!("\"{v}\"")
        } else {
            v.to_string()
        }
    };
    let line_for = |name: &str, v: &str| -> String {
        // multi-word values (save, client-output-buffer-limit) are written unquoted
        if matches!(
            name,
            "save" | "client-output-buffer-limit" | "bind" | "oom-score-adj-values"
        ) && !v.is_empty()
        {
            format!("{name} {v}")
        } else {
            format!("{name} {}", quote(v))
        }
    };
    for line in old.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            if t != "# Generated by CONFIG REWRITE" {
                out.push(line.to_string());
            }
            continue;
        }
        let name = t
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        let canon = DIRECTIVES
            .iter()
            .find(|d| d.name == name || d.alias == Some(name.as_str()))
            .map(|d| d.name);
        match canon {
            Some(c) => {
                if let Some((_, v)) = current.iter().find(|(n, _)| *n == c) {
                    if written.insert(c) {
                        out.push(line_for(c, v));
                    }
                }
            }
            None => out.push(line.to_string()),
        }
    }
    let missing: Vec<_> = values
        .iter()
        .filter(|(n, _)| !written.contains(n))
        .collect();
    if !missing.is_empty() {
        out.push("# Generated by CONFIG REWRITE".into());
        for (n, v) in missing {
            out.push(line_for(n, v));
        }
    }
    let mut s = out.join("\n");
    s.push('\n');
    s
}

fn bad_directive(origin: &str, line: usize, text: &str, why: &str) -> String {
    format!(
        "\n*** FATAL CONFIG FILE ERROR ***\nReading the configuration file {origin}, at line {line}\n>>> '{text}'\n{why}"
    )
}

/// `notify-keyspace-events` flags: checked and printed in Valkey's canonical order.
pub fn normalize_notify(v: &str) -> Result<String, String> {
    const CLASSES: &str = "g$lshzxeKEtmdn";
    let mut set = std::collections::BTreeSet::new();
    for c in v.chars() {
        match c {
            'A' => set.extend("g$lshzxetd".chars()),
            c if CLASSES.contains(c) => {
                set.insert(c);
            }
            _ => return Err("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".into()),
        }
    }
    let all = "g$lshzxetd".chars().all(|c| set.contains(&c));
    let mut out = String::new();
    if all {
        out.push('A');
    } else {
        // as Valkey's keyspaceEventsFlagsToString, 'n' is only printed without 'A'
        for c in "g$lshzxetdn".chars() {
            if set.contains(&c) {
                out.push(c);
            }
        }
    }
    for c in "KEm".chars() {
        if set.contains(&c) {
            out.push(c);
        }
    }
    Ok(out)
}

/// `maxmemory-clients`: a memory value, or a percentage of maxmemory ("10%").
pub fn normalize_maxmemory_clients(v: &str) -> Result<String, String> {
    if let Some(p) = v.strip_suffix('%') {
        let n = parse_i64(p.as_bytes())
            .ok_or_else(|| "argument must be a memory or percent value".to_string())?;
        if n > 100 {
            return Err("percentage argument must be less or equal to 100".into());
        }
        if n < 0 {
            return Err("argument must be a memory or percent value".into());
        }
        return Ok(format!("{n}%"));
    }
    match parse_memory(v) {
        Some(n) if n >= 0 => Ok(n.to_string()),
        // past i64 it reads as negative, which Valkey takes for a percentage
        Some(_) => Err("percentage argument must be less or equal to 100".into()),
        None => Err("argument must be a memory or percent value".into()),
    }
}

/// `save "<seconds> <changes> ..."` or "" to disable.
pub fn normalize_save(v: &str) -> Result<String, String> {
    let parts: Vec<&str> = v.split_whitespace().collect();
    if !parts.len().is_multiple_of(2) || parts.iter().any(|p| p.parse::<u64>().is_err()) {
        return Err("Invalid save parameters".into());
    }
    Ok(parts.join(" "))
}

/// `client-output-buffer-limit <class> <hard> <soft> <seconds> ...`, merged into the
/// full three-class form.
pub fn normalize_cobl(v: &str) -> Result<String, String> {
    let parts: Vec<&str> = v.split_whitespace().collect();
    if parts.is_empty() || !parts.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    let mut classes = [
        ("normal", [0i64, 0, 0]),
        ("replica", [268435456, 67108864, 60]),
        ("pubsub", [33554432, 8388608, 60]),
    ];
    for c in parts.chunks(4) {
        let class = match c[0].to_ascii_lowercase().as_str() {
            "normal" => 0,
            "replica" | "slave" => 1,
            "pubsub" => 2,
            _ => {
                return Err("Invalid client class specified in buffer limit configuration.".into())
            }
        };
        let hard = parse_memory(c[1]);
        let soft = parse_memory(c[2]);
        let secs = parse_i64(c[3].as_bytes());
        match (hard, soft, secs) {
            (Some(h), Some(s), Some(t)) if h >= 0 && s >= 0 && t >= 0 => {
                classes[class].1 = [h, s, t]
            }
            _ => {
                return Err(
                    "Error in hard, soft or soft_seconds setting in buffer limit configuration."
                        .into(),
                )
            }
        }
    }
    Ok(classes
        .iter()
        .map(|(n, [h, s, t])| {
            let n = if *n == "replica" { "slave" } else { n };
            format!("{n} {h} {s} {t}")
        })
        .collect::<Vec<_>>()
        .join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory("1gb"), Some(1 << 30));
        assert_eq!(parse_memory("100mb"), Some(100 << 20));
        assert_eq!(parse_memory("1k"), Some(1000));
        assert_eq!(parse_memory("12"), Some(12));
        assert_eq!(parse_memory("x"), None);
        // as memtoull reads them
        assert_eq!(parse_memory(""), Some(0));
        assert_eq!(parse_memory("007MB"), Some(7 << 20));
        assert_eq!(parse_memory("9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_memory("99999999999999999999999"), Some(-1));
        for bad in ["-1", "+1", " 1", "1 ", "0x10", "1e3", "1tb", "1.5mb"] {
            assert_eq!(parse_memory(bad), None, "{bad}");
        }
    }

    #[test]
    fn set_validates_all_first() {
        let c = Config::new();
        let e = c
            .set_many(&[("maxclients", "100"), ("hz", "nope")], false)
            .unwrap_err();
        assert!(e.contains("'hz'"), "{e}");
        assert_eq!(c.get("maxclients").unwrap(), "10000");
        c.set_many(&[("maxclients", "100"), ("hz", "20")], false)
            .unwrap();
        assert_eq!(c.hot.maxclients.load(Relaxed), 100);
        assert_eq!(c.get("hz").unwrap(), "20");
    }

    #[test]
    fn aliases_share_a_value() {
        let c = Config::new();
        c.set("hash-max-ziplist-entries", "7").unwrap();
        assert_eq!(c.get("hash-max-listpack-entries").unwrap(), "7");
        let m = c.matching(&[b"hash-max-*-entries"]);
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn buffer_limit_classes_accumulate() {
        let c = Config::new();
        c.load_text(
            "client-output-buffer-limit normal 1mb 0 0\nclient-output-buffer-limit pubsub 2mb 0 0\n",
            "t",
        )
        .unwrap();
        let v = c.get("client-output-buffer-limit").unwrap();
        assert!(v.contains("normal 1048576 0 0"), "{v}");
        assert!(v.contains("pubsub 2097152 0 0"), "{v}");
    }

    #[test]
    fn rewrite_keeps_file_lines() {
        let c = Config::new();
        c.set("hz", "20").unwrap();
        let old = "# my file\nport 6379\nhz 10\nnosuch-line kept\n";
        let text = rewrite(old, &c.non_defaults(), &c.all_values());
        assert!(text.contains("# my file\n"));
        assert!(text.contains("port 6379\n"), "{text}");
        assert!(text.contains("hz 20\n"), "{text}");
        assert!(text.contains("nosuch-line kept\n"));
        assert_eq!(text.matches("hz ").count(), 1);
    }

    #[test]
    fn notify_flags_canonical() {
        assert_eq!(normalize_notify("KEA").unwrap(), "AKE");
        assert_eq!(normalize_notify("Ex").unwrap(), "xE");
        assert!(normalize_notify("Q").is_err());
        assert_eq!(normalize_notify("").unwrap(), "");
    }

    #[test]
    fn config_file_lines() {
        let c = Config::new();
        c.load_text(
            "# comment\nport 7777\nsave \"\"\nclient-output-buffer-limit pubsub 1mb 0 0\n",
            "t",
        )
        .unwrap();
        assert_eq!(c.get("port").unwrap(), "7777");
        assert_eq!(c.get("save").unwrap(), "");
        assert!(c
            .get("client-output-buffer-limit")
            .unwrap()
            .contains("pubsub 1048576 0 0"));
        assert!(c
            .load_text("nosuch 1\n", "t")
            .unwrap_err()
            .contains("Bad directive"));
    }
}
