//! INFO: section rendering, and the server-side samples it reports that nothing else
//! keeps (instantaneous metrics, memory peak, latency events, replication ids).

use crate::server::{cflags, Server, REDIS_VERSION, VALKEY_VERSION};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::fmt::{Display, Write};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::OnceLock;

// The allocator behind `used_memory` must be linked into every binary that links this
// crate, not only into the server executable that installs it as global allocator.
use mimalloc as _;

/// How many samples the instantaneous metrics average over, and how often the cron
/// takes one (Valkey's STATS_METRIC_SAMPLES and its 100 ms period).
const SAMPLES: usize = 16;
const SAMPLE_PERIOD_MS: u64 = 100;
/// Samples kept per latency event, as Valkey's LATENCY_TS_LEN.
const LATENCY_HISTORY: usize = 160;

/// One instantaneous metric: the rate of a counter over the last [`SAMPLES`] periods.
#[derive(Default, Clone, Copy)]
struct Rate {
    samples: [u64; SAMPLES],
    idx: usize,
    last_ms: u64,
    last_value: u64,
}

impl Rate {
    fn add(&mut self, value: u64, now_ms: u64) {
        if self.last_ms > 0 {
            let dt = now_ms.saturating_sub(self.last_ms);
            let dv = value.saturating_sub(self.last_value);
            self.samples[self.idx] = (dv * 1000).checked_div(dt).unwrap_or(0);
            self.idx = (self.idx + 1) % SAMPLES;
        }
        self.last_ms = now_ms;
        self.last_value = value;
    }

    fn get(&self) -> u64 {
        self.samples.iter().sum::<u64>() / SAMPLES as u64
    }
}

#[derive(Default)]
struct Rates {
    ops: Rate,
    net_in: Rate,
    net_out: Rate,
}

/// One latency event's recent spikes (LATENCY HISTORY/LATEST).
#[derive(Default)]
pub struct LatencySeries {
    /// (unix seconds, milliseconds), oldest first.
    pub samples: std::collections::VecDeque<(i64, u64)>,
    pub max: u64,
    /// Every spike ever recorded, including those merged into one per-second sample.
    pub sum: u64,
    pub count: u64,
}

/// Server-side state behind INFO, LATENCY and DEBUG that no other subsystem owns.
pub struct AdminState {
    rates: Mutex<Rates>,
    /// Unix ms of the last instantaneous sample.
    last_sample: AtomicU64,
    pub peak_memory: AtomicU64,
    /// Memory in use once the server was built, before any client or key.
    pub startup_memory: u64,
    /// `latency-monitor-threshold` in ms, mirrored so the per-command check is one load.
    pub latency_threshold: AtomicI64,
    pub latency: Mutex<BTreeMap<String, LatencySeries>>,
    /// (replid, replid2). No replication yet: the primary's ids, renewed by DEBUG
    /// CHANGE-REPL-ID.
    pub replids: Mutex<(String, String)>,
    /// DEBUG QUICKLIST-PACKED-THRESHOLD: list elements at least this big are stored
    /// unpacked (for the list encoding to honour).
    pub quicklist_packed_threshold: AtomicU64,
}

/// A fresh 40-character hex id (run ids, replication ids).
pub fn random_hex_id() -> String {
    use rand::Rng;
    let mut r = rand::thread_rng();
    (0..40)
        .map(|_| char::from_digit(r.gen_range(0..16), 16).unwrap_or('0'))
        .collect()
}

impl AdminState {
    pub fn new(latency_threshold_ms: i64) -> Self {
        let mem = memory().allocated;
        AdminState {
            rates: Mutex::new(Rates::default()),
            last_sample: AtomicU64::new(0),
            peak_memory: AtomicU64::new(mem),
            startup_memory: mem,
            latency_threshold: AtomicI64::new(latency_threshold_ms),
            latency: Mutex::new(BTreeMap::new()),
            replids: Mutex::new((random_hex_id(), "0".repeat(40))),
            quicklist_packed_threshold: AtomicU64::new(1 << 30),
        }
    }

    /// CONFIG RESETSTAT: forgets the instantaneous samples and the memory peak.
    pub fn reset_stats(&self) {
        *self.rates.lock() = Rates::default();
        self.peak_memory.store(memory().allocated, Relaxed);
    }

    /// Called from the server cron: samples the instantaneous metrics every 100 ms and
    /// tracks the memory peak.
    pub fn cron(&self, srv: &Server) {
        let now = crate::store::now_ms().max(0) as u64;
        if now.saturating_sub(self.last_sample.load(Relaxed)) < SAMPLE_PERIOD_MS {
            return;
        }
        self.last_sample.store(now, Relaxed);
        let ops = srv.stats.commands_processed();
        let (inp, outp) = (srv.stats.net_input(), srv.stats.net_output());
        {
            let mut r = self.rates.lock();
            r.ops.add(ops, now);
            r.net_in.add(inp, now);
            r.net_out.add(outp, now);
        }
        self.note_memory(memory().allocated);
    }

    fn note_memory(&self, used: u64) {
        self.peak_memory.fetch_max(used, Relaxed);
    }

    /// Records a latency spike of `ms` for `event`, keeping one sample per second (the
    /// worst) as Valkey's `latencyAddSample`.
    pub fn latency_sample(&self, event: &str, ms: u64) {
        let now = crate::store::now_ms() / 1000;
        let mut ev = self.latency.lock();
        let s = ev.entry(event.to_string()).or_default();
        s.max = s.max.max(ms);
        s.sum += ms;
        s.count += 1;
        if let Some(last) = s.samples.back_mut() {
            if last.0 == now {
                last.1 = last.1.max(ms);
                return;
            }
        }
        s.samples.push_back((now, ms));
        while s.samples.len() > LATENCY_HISTORY {
            s.samples.pop_front();
        }
    }

    /// DEBUG CHANGE-REPL-ID: a new primary id, and no previous one.
    pub fn change_replid(&self) {
        *self.replids.lock() = (random_hex_id(), "0".repeat(40));
    }
}

// ---------------------------------------------------------------- process probes

/// Memory figures of the process, in bytes.
#[derive(Clone, Copy, Default)]
pub struct Memory {
    /// What the allocator holds for the program (Valkey's `used_memory`).
    pub allocated: u64,
    /// Peak of the above as the allocator saw it.
    pub allocator_peak: u64,
    /// Resident set size of the process.
    pub rss: u64,
}

#[allow(non_camel_case_types)]
type size_t = usize;

extern "C" {
    fn mi_process_info(
        elapsed_msecs: *mut size_t,
        user_msecs: *mut size_t,
        system_msecs: *mut size_t,
        current_rss: *mut size_t,
        peak_rss: *mut size_t,
        current_commit: *mut size_t,
        peak_commit: *mut size_t,
        page_faults: *mut size_t,
    );
    fn mi_collect(force: bool);
}

fn page_size() -> u64 {
    static PAGE: OnceLock<u64> = OnceLock::new();
    *PAGE.get_or_init(|| {
        // SAFETY: sysconf has no preconditions.
        let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if p > 0 {
            p as u64
        } else {
            4096
        }
    })
}

/// Resident set size from /proc (0 where unavailable).
pub fn process_rss() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map_or(0, |pages| pages * page_size())
}

pub fn memory() -> Memory {
    let (mut commit, mut peak_commit) = (0usize, 0usize);
    // SAFETY: every out-pointer is either null (ignored by mimalloc) or a valid
    // exclusive reference to a local.
    unsafe {
        mi_process_info(
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut commit,
            &mut peak_commit,
            std::ptr::null_mut(),
        );
    }
    let rss = process_rss();
    // the counting global allocator gives what the program holds (not what mimalloc
    // keeps committed for it); without it, mimalloc's figure, or before it has
    // committed anything of its own, RSS
    let allocated = match crate::alloc::used() {
        Some(used) => used,
        None if commit > 0 => commit as u64,
        None => rss,
    };
    Memory {
        allocated,
        allocator_peak: (peak_commit as u64).max(allocated),
        rss,
    }
}

/// MEMORY PURGE: gives free pages back to the OS.
pub fn purge_allocator() {
    // SAFETY: mi_collect is thread safe and takes no pointers.
    unsafe { mi_collect(true) }
}

fn total_system_memory() -> u64 {
    static TOTAL: OnceLock<u64> = OnceLock::new();
    *TOTAL.get_or_init(|| {
        std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("MemTotal:"))
                    .and_then(|l| {
                        l.split_whitespace()
                            .nth(1)
                            .and_then(|v| v.parse::<u64>().ok())
                    })
            })
            .map_or(0, |kb| kb * 1024)
    })
}

/// "Linux 6.1.0 x86_64", as `uname -srm`.
fn os_name() -> &'static str {
    static OS: OnceLock<String> = OnceLock::new();
    OS.get_or_init(|| {
        let read = |p: &str| {
            std::fs::read_to_string(p)
                .ok()
                .map(|s| s.trim().to_string())
        };
        let sys = read("/proc/sys/kernel/ostype").unwrap_or_else(|| {
            let mut s = std::env::consts::OS.to_string();
            if let Some(c) = s.get_mut(..1) {
                c.make_ascii_uppercase();
            }
            s
        });
        let rel = read("/proc/sys/kernel/osrelease").unwrap_or_default();
        format!("{sys} {rel} {}", std::env::consts::ARCH)
    })
}

/// CPU seconds used as (sys, user) for the process, its reaped children and the
/// calling thread.
pub struct Cpu {
    pub me: (libc::timeval, libc::timeval),
    pub children: (libc::timeval, libc::timeval),
    pub thread: Option<(libc::timeval, libc::timeval)>,
}

fn rusage(who: libc::c_int) -> Option<(libc::timeval, libc::timeval)> {
    // SAFETY: rusage is plain data for which all-zero is a valid value, and getrusage
    // only writes into the struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(who, &mut ru) };
    (rc == 0).then_some((ru.ru_stime, ru.ru_utime))
}

pub fn cpu() -> Cpu {
    let zero = libc::timeval {
        tv_sec: 0,
        tv_usec: 0,
    };
    #[cfg(target_os = "linux")]
    let thread = rusage(libc::RUSAGE_THREAD);
    #[cfg(not(target_os = "linux"))]
    let thread = None;
    Cpu {
        me: rusage(libc::RUSAGE_SELF).unwrap_or((zero, zero)),
        children: rusage(libc::RUSAGE_CHILDREN).unwrap_or((zero, zero)),
        thread,
    }
}

fn secs(t: &libc::timeval) -> String {
    format!("{}.{:06}", t.tv_sec, t.tv_usec)
}

/// Valkey's `bytesToHuman`.
pub fn human_bytes(n: u64) -> String {
    const K: f64 = 1024.0;
    let d = n as f64;
    match n {
        0..1024 => format!("{n}B"),
        1024..1_048_576 => format!("{:.2}K", d / K),
        1_048_576..1_073_741_824 => format!("{:.2}M", d / (K * K)),
        1_073_741_824..1_099_511_627_776 => format!("{:.2}G", d / (K * K * K)),
        1_099_511_627_776..1_125_899_906_842_624 => format!("{:.2}T", d / (K * K * K * K)),
        1_125_899_906_842_624..1_152_921_504_606_846_976 => {
            format!("{:.2}P", d / (K * K * K * K * K))
        }
        _ => format!("{n}B"),
    }
}

/// INFO replaces these characters in names it prints (command names, error codes).
fn safe(s: &str) -> String {
    s.replace(['#', ':', '\n', '\r'], "_")
}

// ---------------------------------------------------------------- rendering

const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "module_list",
    "errorstats",
    "cluster",
    "keyspace",
];

struct Out(String);

impl Out {
    fn kv(&mut self, k: &str, v: impl Display) {
        let _ = write!(self.0, "{k}:{v}\r\n");
    }
}

/// Renders INFO for the section arguments (`args` excludes the command name), with
/// Valkey's "default", "all" and "everything" meanings; unknown sections add nothing.
pub fn render(srv: &Server, args: &[&[u8]]) -> String {
    let mut want: Vec<String> = Vec::new();
    let (mut all, mut everything) = (false, false);
    let add = |want: &mut Vec<String>, s: &str| {
        if !want.iter().any(|w| w == s) {
            want.push(s.to_string());
        }
    };
    if args.is_empty() {
        for s in DEFAULT_SECTIONS {
            add(&mut want, s);
        }
    }
    for a in args {
        let s = String::from_utf8_lossy(a).to_ascii_lowercase();
        match s.as_str() {
            "default" => {
                for s in DEFAULT_SECTIONS {
                    add(&mut want, s);
                }
            }
            "all" => all = true,
            "everything" => {
                all = true;
                everything = true;
            }
            _ => add(&mut want, &s),
        }
    }
    let has = |name: &str| all || want.iter().any(|w| w == name);
    let mut o = Out(String::with_capacity(4096));
    let mut sections = 0;
    let mut head = |o: &mut Out, title: &str| {
        if sections > 0 {
            o.0.push_str("\r\n");
        }
        sections += 1;
        let _ = write!(o.0, "# {title}\r\n");
    };
    if has("server") {
        head(&mut o, "Server");
        server(srv, &mut o);
    }
    if has("clients") {
        head(&mut o, "Clients");
        clients(srv, &mut o);
    }
    if has("memory") {
        head(&mut o, "Memory");
        memory_section(srv, &mut o);
    }
    if has("persistence") {
        head(&mut o, "Persistence");
        persistence(srv, &mut o);
    }
    if has("stats") {
        head(&mut o, "Stats");
        stats(srv, &mut o);
    }
    if has("replication") {
        head(&mut o, "Replication");
        replication(srv, &mut o);
    }
    if has("cpu") {
        head(&mut o, "CPU");
        cpu_section(&mut o);
    }
    if has("module_list") || has("modules") || everything {
        head(&mut o, "Modules");
    }
    if has("commandstats") {
        head(&mut o, "Commandstats");
        commandstats(srv, &mut o);
    }
    if has("errorstats") {
        head(&mut o, "Errorstats");
        for (code, n) in srv.stats.errors() {
            let _ = write!(o.0, "errorstat_{}:count={n}\r\n", safe(&code));
        }
    }
    if has("latencystats") {
        // per-command latency histograms are not kept; the section exists so parsers
        // find it
        head(&mut o, "Latencystats");
    }
    if has("cluster") {
        head(&mut o, "Cluster");
        o.kv("cluster_enabled", 0);
    }
    if has("keyspace") {
        head(&mut o, "Keyspace");
        for (i, db) in srv.keyspace.dbs().iter().enumerate() {
            let (keys, volatile) = db.counts();
            if keys > 0 || volatile > 0 {
                let _ = write!(o.0, "db{i}:keys={keys},expires={volatile},avg_ttl=0\r\n");
            }
        }
    }
    if want.iter().any(|w| w == "debug") {
        head(&mut o, "Debug");
        o.kv("eventloop_duration_aof_sum", 0);
        o.kv("eventloop_duration_cron_sum", 0);
        o.kv("eventloop_duration_max", 0);
        o.kv("eventloop_cmd_per_cycle_max", 0);
    }
    o.0
}

fn server(srv: &Server, o: &mut Out) {
    let uptime = srv.uptime().as_secs();
    let redis_compat = srv.config.get_bool("extended-redis-compatibility");
    let hz = srv.config.hot.hz.load(Relaxed);
    o.kv("redis_version", REDIS_VERSION);
    o.kv("server_name", "ferrokey");
    o.kv("valkey_version", VALKEY_VERSION);
    o.kv("valkey_release_stage", "ga");
    o.kv("redis_git_sha1", "00000000");
    o.kv("redis_git_dirty", 0);
    o.kv("redis_build_id", "0");
    o.kv(
        if redis_compat {
            "redis_mode"
        } else {
            "server_mode"
        },
        "standalone",
    );
    o.kv("os", os_name());
    o.kv("arch_bits", usize::BITS);
    o.kv("monotonic_clock", "POSIX clock_gettime");
    o.kv("multiplexing_api", "epoll");
    o.kv("gcc_version", "0.0.0");
    o.kv("process_id", std::process::id());
    o.kv("process_supervised", "no");
    o.kv("run_id", &srv.run_id);
    o.kv("tcp_port", srv.listen_port.load(Relaxed));
    o.kv("server_time_usec", crate::store::now_ms().max(0) * 1000);
    o.kv("uptime_in_seconds", uptime);
    o.kv("uptime_in_days", uptime / 86400);
    o.kv("hz", hz);
    o.kv("configured_hz", srv.config.get_i64("hz"));
    o.kv("lru_clock", crate::store::lru_clock(crate::store::now_ms()));
    o.kv("executable", &srv.executable);
    o.kv(
        "config_file",
        srv.config_file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
    );
    o.kv("io_threads_active", 0);
    o.kv(
        "availability_zone",
        srv.config.get("availability-zone").unwrap_or_default(),
    );
    // listener0 (TCP) and listener2 (TLS), those that are open
    for (k, v) in srv.listeners_info() {
        o.kv(&k, v);
    }
}

fn clients(srv: &Server, o: &mut Out) {
    let all = srv.clients.all();
    let (mut max_in, mut max_out, mut pubsub) = (0usize, 0usize, 0usize);
    for c in &all {
        max_in = max_in.max(c.qbuf.load(Relaxed));
        max_out = max_out.max(c.obuf.load(Relaxed) + c.outbox.bytes());
        if c.has_flag(cflags::PUBSUB) {
            pubsub += 1;
        }
    }
    o.kv("connected_clients", all.len());
    o.kv("cluster_connections", 0);
    o.kv("maxclients", srv.config.hot.maxclients.load(Relaxed));
    o.kv("client_recent_max_input_buffer", max_in);
    o.kv("client_recent_max_output_buffer", max_out);
    o.kv("blocked_clients", srv.blocked_clients.load(Relaxed));
    o.kv("tracking_clients", 0);
    o.kv("pubsub_clients", pubsub);
    o.kv("watching_clients", 0);
    o.kv("clients_in_timeout_table", 0);
    o.kv("total_watched_keys", 0);
    o.kv("total_blocking_keys", srv.blocking.blocking_keys());
    o.kv("total_blocking_keys_on_nokey", 0);
    let left = srv.pause_until_ms.load(Relaxed) - srv.mono_ms();
    if left > 0 {
        let all = !srv.pause_writes_only.load(Relaxed);
        o.kv("paused_reason", "client_pause");
        o.kv("paused_actions", if all { "all" } else { "write" });
        o.kv("paused_timeout_milliseconds", left);
    } else {
        o.kv("paused_reason", "none");
        o.kv("paused_actions", "none");
        o.kv("paused_timeout_milliseconds", 0);
    }
}

/// The memory overhead accounting shared by INFO memory and MEMORY STATS.
pub struct MemoryReport {
    pub mem: Memory,
    pub peak: u64,
    pub startup: u64,
    pub clients_normal: u64,
    pub overhead_total: u64,
    pub dataset: u64,
    pub keys: u64,
    pub dataset_perc: f64,
    pub peak_perc: f64,
    pub frag: f64,
    pub frag_bytes: i64,
}

pub fn memory_report(srv: &Server) -> MemoryReport {
    let mem = memory();
    srv.admin.note_memory(mem.allocated);
    let peak = srv.admin.peak_memory.load(Relaxed).max(mem.allocated);
    let startup = srv.admin.startup_memory.min(mem.allocated);
    let clients_normal: u64 = srv
        .clients
        .all()
        .iter()
        .map(|c| {
            (c.qbuf.load(Relaxed)
                + c.qbuf_free.load(Relaxed)
                + c.obuf.load(Relaxed)
                + c.outbox.bytes()) as u64
                + CLIENT_BASE_MEMORY
        })
        .sum();
    let overhead_total = startup + clients_normal;
    let dataset = mem.allocated.saturating_sub(overhead_total);
    let net = mem.allocated.saturating_sub(startup);
    let keys: u64 = srv.keyspace.dbs().iter().map(|d| d.counts().0 as u64).sum();
    MemoryReport {
        mem,
        peak,
        startup,
        clients_normal,
        overhead_total,
        dataset,
        keys,
        dataset_perc: if net > 0 {
            dataset as f64 * 100.0 / net as f64
        } else {
            0.0
        },
        peak_perc: if peak > 0 {
            mem.allocated as f64 * 100.0 / peak as f64
        } else {
            0.0
        },
        frag: if mem.allocated > 0 {
            mem.rss as f64 / mem.allocated as f64
        } else {
            0.0
        },
        frag_bytes: mem.rss as i64 - mem.allocated as i64,
    }
}

/// What one connection costs besides its buffers (state, reply buffer), for the
/// estimates in CLIENT LIST and INFO memory.
pub const CLIENT_BASE_MEMORY: u64 = 16 * 1024 + 1024;

fn memory_section(srv: &Server, o: &mut Out) {
    let r = memory_report(srv);
    let m = r.mem;
    let maxmemory = srv.config.get_i64("maxmemory").max(0) as u64;
    let funcs = srv.functions.read();
    let nfuncs: usize = funcs.values().map(|l| l.functions.len()).sum();
    o.kv("used_memory", m.allocated);
    o.kv("used_memory_human", human_bytes(m.allocated));
    o.kv("used_memory_rss", m.rss);
    o.kv("used_memory_rss_human", human_bytes(m.rss));
    o.kv("used_memory_peak", r.peak);
    o.kv("used_memory_peak_human", human_bytes(r.peak));
    o.kv("used_memory_peak_perc", format!("{:.2}%", r.peak_perc));
    o.kv("used_memory_overhead", r.overhead_total);
    o.kv("used_memory_startup", r.startup);
    o.kv("used_memory_dataset", r.dataset);
    o.kv(
        "used_memory_dataset_perc",
        format!("{:.2}%", r.dataset_perc),
    );
    o.kv("allocator_allocated", m.allocated);
    o.kv("allocator_active", m.allocated);
    o.kv("allocator_resident", m.rss.max(m.allocated));
    o.kv("allocator_muzzy", 0);
    let total = total_system_memory();
    o.kv("total_system_memory", total);
    o.kv("total_system_memory_human", human_bytes(total));
    // scripting: EVAL scripts and function libraries have an interpreter each
    let (nscripts, script_bytes, lua_mem, functions_mem) = srv.scripting.memory_stats();
    let code_bytes: usize = funcs.values().map(|l| l.code.len()).sum();
    o.kv("used_memory_lua", lua_mem);
    o.kv("used_memory_vm_eval", lua_mem);
    o.kv("used_memory_lua_human", human_bytes(lua_mem as u64));
    o.kv("used_memory_scripts_eval", script_bytes);
    o.kv("number_of_cached_scripts", nscripts);
    o.kv("number_of_functions", nfuncs);
    o.kv("number_of_libraries", funcs.len());
    o.kv("used_memory_vm_functions", functions_mem);
    o.kv("used_memory_vm_total", lua_mem + functions_mem);
    o.kv(
        "used_memory_vm_total_human",
        human_bytes((lua_mem + functions_mem) as u64),
    );
    o.kv("used_memory_functions", code_bytes);
    o.kv("used_memory_scripts", script_bytes + code_bytes);
    o.kv(
        "used_memory_scripts_human",
        human_bytes((script_bytes + code_bytes) as u64),
    );
    o.kv("maxmemory", maxmemory);
    o.kv("maxmemory_human", human_bytes(maxmemory));
    o.kv(
        "maxmemory_policy",
        srv.config.get("maxmemory-policy").unwrap_or_default(),
    );
    o.kv("allocator_frag_ratio", "1.00");
    o.kv("allocator_frag_bytes", 0);
    let rss_ratio = if m.allocated > 0 {
        m.rss.max(m.allocated) as f64 / m.allocated as f64
    } else {
        0.0
    };
    o.kv("allocator_rss_ratio", format!("{rss_ratio:.2}"));
    o.kv("allocator_rss_bytes", m.rss.max(m.allocated) - m.allocated);
    o.kv("rss_overhead_ratio", "1.00");
    o.kv("rss_overhead_bytes", 0);
    o.kv("mem_fragmentation_ratio", format!("{:.2}", r.frag));
    o.kv("mem_fragmentation_bytes", r.frag_bytes);
    o.kv(
        "mem_not_counted_for_evict",
        crate::persistence::buffer_len(),
    );
    o.kv("mem_replication_backlog", 0);
    o.kv("mem_total_replication_buffers", 0);
    o.kv("mem_clients_slaves", 0);
    o.kv("mem_clients_normal", r.clients_normal);
    o.kv("mem_cluster_links", 0);
    o.kv("mem_aof_buffer", crate::persistence::buffer_len());
    o.kv("mem_allocator", "mimalloc");
    o.kv("mem_overhead_db_hashtable_rehashing", 0);
    o.kv("active_defrag_running", 0);
    o.kv("lazyfree_pending_objects", 0);
    o.kv("lazyfreed_objects", 0);
}

fn persistence(srv: &Server, o: &mut Out) {
    o.kv("loading", crate::persistence::loading() as u8);
    o.kv("async_loading", 0);
    o.kv("current_cow_peak", 0);
    o.kv("current_cow_size", 0);
    o.kv("current_cow_size_age", 0);
    o.kv("current_fork_perc", "0.00");
    o.kv("current_save_keys_processed", 0);
    o.kv("current_save_keys_total", 0);
    o.kv("rdb_changes_since_last_save", srv.stats.dirty());
    o.kv("rdb_bgsave_in_progress", 0);
    o.kv("rdb_last_save_time", srv.lastsave.load(Relaxed));
    o.kv("rdb_last_bgsave_status", "ok");
    o.kv("rdb_last_bgsave_time_sec", -1);
    o.kv("rdb_current_bgsave_time_sec", -1);
    o.kv("rdb_saves", 0);
    o.kv("rdb_last_cow_size", 0);
    o.kv("rdb_last_load_keys_expired", 0);
    o.kv("rdb_last_load_keys_loaded", 0);
    for (k, v) in crate::persistence::info_fields() {
        o.kv(k, v);
    }
    o.kv("module_fork_in_progress", 0);
    o.kv("module_fork_last_cow_size", 0);
}

fn stats(srv: &Server, o: &mut Out) {
    let st = &srv.stats;
    let (ops, kin, kout) = {
        let r = srv.admin.rates.lock();
        (r.ops.get(), r.net_in.get(), r.net_out.get())
    };
    o.kv(
        "total_connections_received",
        st.connections_received.load(Relaxed),
    );
    o.kv("total_commands_processed", st.commands_processed());
    o.kv("instantaneous_ops_per_sec", ops);
    o.kv("total_net_input_bytes", st.net_input());
    o.kv("total_net_output_bytes", st.net_output());
    o.kv("total_net_repl_input_bytes", 0);
    o.kv("total_net_repl_output_bytes", 0);
    o.kv(
        "instantaneous_input_kbps",
        format!("{:.2}", kin as f64 / 1024.0),
    );
    o.kv(
        "instantaneous_output_kbps",
        format!("{:.2}", kout as f64 / 1024.0),
    );
    o.kv("instantaneous_input_repl_kbps", "0.00");
    o.kv("instantaneous_output_repl_kbps", "0.00");
    o.kv(
        "rejected_connections",
        st.rejected_connections.load(Relaxed),
    );
    o.kv("sync_full", 0);
    o.kv("sync_partial_ok", 0);
    o.kv("sync_partial_err", 0);
    o.kv("expired_keys", srv.keyspace.total_expired());
    o.kv(
        "expired_stale_perc",
        format!("{:.2}", st.expired_stale_perc.load(Relaxed) as f64 / 100.0),
    );
    o.kv("expired_time_cap_reached_count", 0);
    o.kv("expire_cycle_cpu_milliseconds", 0);
    o.kv("evicted_keys", srv.keyspace.evicted.load(Relaxed));
    o.kv("evicted_clients", 0);
    o.kv(
        "evicted_scripts",
        srv.scripting
            .evicted
            .load(std::sync::atomic::Ordering::Relaxed),
    );
    let (exceeded_total, exceeded_now) = crate::store::evict::exceeded_ms();
    o.kv("total_eviction_exceeded_time", exceeded_total);
    o.kv("current_eviction_exceeded_time", exceeded_now);
    o.kv("keyspace_hits", st.keyspace_hits.load(Relaxed));
    o.kv("keyspace_misses", st.keyspace_misses.load(Relaxed));
    o.kv("pubsub_channels", srv.pubsub.channel_count());
    o.kv("pubsub_patterns", srv.pubsub.pattern_count());
    o.kv("pubsubshard_channels", srv.pubsub.shard_channel_count());
    o.kv("latest_fork_usec", 0);
    o.kv("total_forks", 0);
    o.kv("migrate_cached_sockets", 0);
    o.kv("slave_expires_tracked_keys", 0);
    o.kv("active_defrag_hits", 0);
    o.kv("active_defrag_misses", 0);
    o.kv("active_defrag_key_hits", 0);
    o.kv("active_defrag_key_misses", 0);
    o.kv("total_active_defrag_time", 0);
    o.kv("current_active_defrag_time", 0);
    o.kv("tracking_total_keys", 0);
    o.kv("tracking_total_items", 0);
    o.kv("tracking_total_prefixes", 0);
    o.kv("unexpected_error_replies", 0);
    o.kv("total_error_replies", st.total_error_replies.load(Relaxed));
    o.kv("dump_payload_sanitizations", 0);
    o.kv("total_reads_processed", 0);
    o.kv("total_writes_processed", 0);
    o.kv("io_threaded_reads_processed", 0);
    o.kv("io_threaded_writes_processed", 0);
    o.kv("io_threaded_freed_objects", 0);
    o.kv("io_threaded_poll_processed", 0);
    o.kv("io_threaded_total_prefetch_batches", 0);
    o.kv("io_threaded_total_prefetch_entries", 0);
    o.kv("client_query_buffer_limit_disconnections", 0);
    o.kv(
        "client_output_buffer_limit_disconnections",
        srv.pubsub.obuf_disconnections.load(Relaxed),
    );
    o.kv("reply_buffer_shrinks", 0);
    o.kv("reply_buffer_expands", 0);
    o.kv("eventloop_cycles", 0);
    o.kv("eventloop_duration_sum", 0);
    o.kv("eventloop_duration_cmd_sum", 0);
    o.kv("instantaneous_eventloop_cycles_per_sec", 0);
    o.kv("instantaneous_eventloop_duration_usec", 0);
    let denied = &crate::acl::store().log.denied;
    o.kv("acl_access_denied_auth", denied[0].load(Relaxed));
    o.kv("acl_access_denied_cmd", denied[1].load(Relaxed));
    o.kv("acl_access_denied_key", denied[2].load(Relaxed));
    o.kv("acl_access_denied_channel", denied[3].load(Relaxed));
}

fn replication(srv: &Server, o: &mut Out) {
    let (id1, id2) = srv.admin.replids.lock().clone();
    o.kv("role", "master");
    o.kv("connected_slaves", 0);
    if srv.config.get_i64("min-replicas-to-write") > 0
        && srv.config.get_i64("min-replicas-max-lag") > 0
    {
        o.kv("min_slaves_good_slaves", 0);
    }
    o.kv("replicas_waiting_psync", 0);
    o.kv("master_failover_state", "no-failover");
    o.kv("master_replid", id1);
    o.kv("master_replid2", id2);
    o.kv("master_repl_offset", 0);
    o.kv("second_repl_offset", -1);
    o.kv("repl_backlog_active", 0);
    o.kv("repl_backlog_size", srv.config.get_i64("repl-backlog-size"));
    o.kv("repl_backlog_first_byte_offset", 0);
    o.kv("repl_backlog_histlen", 0);
}

fn cpu_section(o: &mut Out) {
    let c = cpu();
    o.kv("used_cpu_sys", secs(&c.me.0));
    o.kv("used_cpu_user", secs(&c.me.1));
    o.kv("used_cpu_sys_children", secs(&c.children.0));
    o.kv("used_cpu_user_children", secs(&c.children.1));
    if let Some((sys, user)) = c.thread {
        o.kv("used_cpu_sys_main_thread", secs(&sys));
        o.kv("used_cpu_user_main_thread", secs(&user));
    }
}

fn commandstats(srv: &Server, o: &mut Out) {
    for (i, c) in super::table::all().iter().enumerate() {
        let (calls, usec, rejected, failed) = srv.stats.command(i);
        if calls == 0 && rejected == 0 && failed == 0 {
            continue;
        }
        let per = if calls == 0 {
            0.0
        } else {
            usec as f32 / calls as f32
        };
        let _ = write!(
            o.0,
            "cmdstat_{}:calls={calls},usec={usec},usec_per_call={per:.2},rejected_calls={rejected},failed_calls={failed}\r\n",
            safe(&super::table::full_name(c))
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes_match_valkey() {
        assert_eq!(human_bytes(0), "0B");
        assert_eq!(human_bytes(1023), "1023B");
        assert_eq!(human_bytes(1024), "1.00K");
        assert_eq!(human_bytes(949208), "926.96K");
        assert_eq!(human_bytes(12558336), "11.98M");
        assert_eq!(human_bytes(25276502016), "23.54G");
    }

    #[test]
    fn rates_average_over_samples() {
        let mut r = Rate::default();
        r.add(0, 1000);
        for i in 1..=SAMPLES as u64 {
            r.add(i * 100, 1000 + i * 100);
        }
        assert_eq!(r.get(), 1000);
    }

    #[test]
    fn memory_probe_sees_the_process() {
        let m = memory();
        assert!(m.rss > 0);
        assert!(m.allocated > 0);
    }
}
