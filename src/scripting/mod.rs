//! Lua scripting: EVAL scripts and FUNCTION libraries on Lua 5.1 interpreters.
//!
//! As in Valkey there are two interpreters, one for EVAL scripts and one for function
//! libraries, each behind a mutex: scripts run under the server gate taken
//! exclusively (their commands are flagged `EXCLUSIVE`), so they never wait for each
//! other. A script's `server.call` goes through [`crate::commands::dispatch`] with a
//! client of its own (origin `Script`), and the RESP that dispatch produced is parsed
//! back into Lua values, exactly as Valkey does with its fake client.
//!
//! Valkey's interpreter has read-only tables built into the VM; the stock Lua 5.1
//! has none, so `prelude.lua` builds the same sandbox from proxies: scripts see a
//! global table and library tables they can read but not change, with Valkey's
//! error texts.
//!
//! A connection runs a script command on a blocking thread (see
//! [`runs_off_thread`]), so its worker keeps serving other connections. While a
//! script runs, [`RunState`] tells them how long it has been running (past
//! `busy-reply-threshold` they get BUSY, see [`enter_gate`]) and lets SCRIPT KILL /
//! FUNCTION KILL ask it to stop; a Lua count hook checks that request.

pub mod bit;
pub mod cjson;
pub mod cmsgpack;
mod convert;
pub mod structlib;
pub mod vm;

pub use vm::{FunctionInfo, LoadError, Vm};

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::LazyLock;

/// Script flags (shebang `flags=` and function flags).
pub mod sflags {
    pub const NO_WRITES: u32 = 1 << 0;
    pub const ALLOW_OOM: u32 = 1 << 1;
    pub const ALLOW_STALE: u32 = 1 << 2;
    pub const NO_CLUSTER: u32 = 1 << 3;
    pub const ALLOW_CROSS_SLOT: u32 = 1 << 4;
    /// An EVAL script without a shebang: the pre-7.0 rules apply.
    pub const EVAL_COMPAT: u32 = 1 << 5;

    pub const NAMES: &[(u32, &str)] = &[
        (NO_WRITES, "no-writes"),
        (ALLOW_OOM, "allow-oom"),
        (ALLOW_STALE, "allow-stale"),
        (NO_CLUSTER, "no-cluster"),
        (ALLOW_CROSS_SLOT, "allow-cross-slot-keys"),
    ];

    pub fn by_name(name: &str) -> Option<u32> {
        NAMES.iter().find(|(_, n)| *n == name).map(|(f, _)| *f)
    }

    pub fn names(flags: u32) -> Vec<&'static str> {
        NAMES
            .iter()
            .filter(|(f, _)| flags & f != 0)
            .map(|(_, n)| *n)
            .collect()
    }
}

/// The script running now, as other connections see it.
#[derive(Default)]
pub struct RunState {
    running: AtomicBool,
    /// `Server::mono_ms` when it started.
    started_ms: AtomicI64,
    /// SCRIPT KILL / FUNCTION KILL asked it to stop.
    pub(crate) kill: AtomicBool,
    /// It already ran a write command: it can no longer be killed.
    pub(crate) wrote: AtomicBool,
    /// An EVAL script (else a function).
    eval: AtomicBool,
    /// Function name (or script SHA) and the command line that started it.
    what: Mutex<(String, Vec<Vec<u8>>)>,
}

impl RunState {
    pub fn is_running(&self) -> bool {
        self.running.load(Relaxed)
    }

    /// Milliseconds the current script has run, if one runs.
    pub fn running_for(&self, now_mono_ms: i64) -> Option<i64> {
        if !self.is_running() {
            return None;
        }
        Some((now_mono_ms - self.started_ms.load(Relaxed)).max(0))
    }

    pub fn is_eval(&self) -> bool {
        self.eval.load(Relaxed)
    }

    /// (name, command line) of the running script.
    pub fn what(&self) -> (String, Vec<Vec<u8>>) {
        self.what.lock().clone()
    }

    pub(crate) fn start(&self, now_mono_ms: i64, eval: bool, name: &str, args: &[&[u8]]) {
        {
            // refilled in place: the buffers of the last script are reused
            let mut w = self.what.lock();
            w.0.clear();
            w.0.push_str(name);
            w.1.truncate(args.len());
            for (i, a) in args.iter().enumerate() {
                match w.1.get_mut(i) {
                    // a large argument (an EVAL body) is not kept around
                    Some(v) if v.capacity() <= 4096 => {
                        v.clear();
                        v.extend_from_slice(a);
                    }
                    Some(v) => *v = a.to_vec(),
                    None => w.1.push(a.to_vec()),
                }
            }
        }
        self.kill.store(false, Relaxed);
        self.wrote.store(false, Relaxed);
        self.eval.store(eval, Relaxed);
        self.started_ms.store(now_mono_ms, Relaxed);
        self.running.store(true, Relaxed);
    }

    pub(crate) fn finish(&self) {
        self.running.store(false, Relaxed);
        self.kill.store(false, Relaxed);
    }
}

/// Scripting state of a server.
pub struct Scripting {
    /// The interpreter of EVAL scripts, created on first use (SCRIPT FLUSH drops it).
    vm: Mutex<Option<Vm>>,
    /// The interpreter of function libraries, kept apart as in Valkey so that
    /// SCRIPT FLUSH and used_memory_lua concern EVAL scripts only.
    fvm: Mutex<Option<Vm>>,
    pub run: RunState,
    /// EVAL scripts dropped from the cache to make room (INFO evicted_scripts).
    pub evicted: AtomicU64,
}

impl Default for Scripting {
    fn default() -> Self {
        Scripting {
            vm: Mutex::new(None),
            fvm: Mutex::new(None),
            run: RunState::default(),
            evicted: AtomicU64::new(0),
        }
    }
}

impl Scripting {
    /// Runs `f` with the EVAL interpreter, creating it if needed.
    pub fn with_vm<R>(&self, f: impl FnOnce(&mut Vm) -> R) -> R {
        let mut g = self.vm.lock();
        let vm = g.get_or_insert_with(|| Vm::new().expect("the Lua interpreter starts"));
        f(vm)
    }

    /// Runs `f` with the functions interpreter, creating it if needed.
    pub fn with_fvm<R>(&self, f: impl FnOnce(&mut Vm) -> R) -> R {
        let mut g = self.fvm.lock();
        let vm = g.get_or_insert_with(|| Vm::new().expect("the Lua interpreter starts"));
        f(vm)
    }

    /// SCRIPT FLUSH: drops the EVAL interpreter with every cached script; the next
    /// script starts a fresh one.
    pub fn reset_eval(&self) {
        let old = self.vm.lock().take();
        drop(old);
    }

    /// (number of cached EVAL scripts, their bytes, EVAL interpreter memory,
    /// functions interpreter memory) for INFO.
    pub fn memory_stats(&self) -> (usize, usize, usize, usize) {
        // a running script holds its interpreter's lock; INFO must not wait for it
        let (n, bytes, mem) = match self.vm.try_lock() {
            Some(g) => match g.as_ref() {
                Some(vm) => (vm.script_count(), vm.script_bytes(), vm.lua_memory()),
                None => (0, 0, 0),
            },
            None => (0, 0, 0),
        };
        let fmem = match self.fvm.try_lock() {
            Some(g) => g.as_ref().map(|vm| vm.lua_memory()).unwrap_or(0),
            None => 0,
        };
        (n, bytes, mem, fmem)
    }
}

thread_local! {
    /// The script that just failed did so with the error of a command it ran, which
    /// that command already counted (Valkey's `ignore_error_stats_update`).
    pub(crate) static ERROR_COUNTED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// For dispatch: true (once) if the error reply of the script command that just ran
/// is already in the error statistics.
pub fn error_already_counted() -> bool {
    ERROR_COUNTED.with(|c| c.replace(false))
}

/// The BUSY error other clients get while a script runs past busy-reply-threshold.
pub fn busy_error(eval: bool) -> &'static str {
    if eval {
        "BUSY Valkey is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
    } else {
        "BUSY Valkey is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
    }
}

/// The BUSY error `cmd` gets now, if a script has been running past
/// busy-reply-threshold and the command may not run meanwhile.
pub fn busy_now(
    srv: &crate::server::Server,
    cmd: &'static crate::commands::Command,
) -> Option<&'static str> {
    let run = &srv.scripting.run;
    if !run.is_running() || cmd.has(crate::commands::flags::ALLOW_BUSY) {
        return None;
    }
    let threshold = srv.config.hot.busy_reply_threshold.load(Relaxed);
    (threshold > 0 && run.running_for(srv.mono_ms()).unwrap_or(0) >= threshold)
        .then(|| busy_error(run.is_eval()))
}

/// SHA1 of a script body as 40 lower-case hex digits.
pub fn sha1_hex(body: &[u8]) -> String {
    use sha1::{Digest, Sha1};
    hex::encode(Sha1::digest(body))
}

/// The server gate as a command holds it (see [`enter_gate`]).
pub enum Gate<'a> {
    Shared(crossbeam_utils::sync::ShardedLockReadGuard<'a, ()>),
    Exclusive(crossbeam_utils::sync::ShardedLockWriteGuard<'a, ()>),
    /// An ALLOW_BUSY command run while a script is busy: it takes no gate.
    Busy,
}

/// Takes the server gate for a top-level command: exclusively for an EXCLUSIVE
/// command, shared otherwise. A running script holds it exclusively; once the script
/// has run past `busy-reply-threshold`, waiting gives way to Valkey's BUSY error, and
/// ALLOW_BUSY commands (SCRIPT KILL, FUNCTION KILL/STATS, SHUTDOWN...) run at once
/// without the gate. Polls rather than blocking forever, so that a script that
/// becomes busy turns waiting clients into BUSY replies.
pub fn enter_gate<'a>(
    srv: &'a crate::server::Server,
    cmd: &'static crate::commands::Command,
) -> Result<Gate<'a>, &'static str> {
    use crate::commands::flags;
    let exclusive = cmd.has(flags::EXCLUSIVE);
    let mut tries = 0u32;
    loop {
        // a poisoned gate only means a handler panicked elsewhere; the data is intact
        use std::sync::TryLockError::{Poisoned, WouldBlock};
        let got = if exclusive {
            match srv.gate.try_write() {
                Ok(g) => Some(Gate::Exclusive(g)),
                Err(Poisoned(p)) => Some(Gate::Exclusive(p.into_inner())),
                Err(WouldBlock) => None,
            }
        } else {
            match srv.gate.try_read() {
                Ok(g) => Some(Gate::Shared(g)),
                Err(Poisoned(p)) => Some(Gate::Shared(p.into_inner())),
                Err(WouldBlock) => None,
            }
        };
        if let Some(g) = got {
            return Ok(g);
        }
        let run = &srv.scripting.run;
        if run.is_running() {
            let threshold = srv.config.hot.busy_reply_threshold.load(Relaxed);
            if threshold > 0 && run.running_for(srv.mono_ms()).unwrap_or(0) >= threshold {
                if cmd.has(flags::ALLOW_BUSY) {
                    return Ok(Gate::Busy);
                }
                return Err(busy_error(run.is_eval()));
            }
        } else if exclusive && tries > 100 {
            // EXEC or a script (not started yet) holds the gate, or readers keep it
            // busy: a writer queues for it, which also stops new readers
            return Ok(Gate::Exclusive(
                srv.gate.write().unwrap_or_else(|e| e.into_inner()),
            ));
        }
        // Never blocks for good: a script that takes the gate only then marks itself
        // running, and a command blocked meanwhile could not turn into a BUSY reply.
        tries += 1;
        std::thread::sleep(std::time::Duration::from_micros(if tries < 50 {
            20
        } else {
            500
        }));
    }
}

/// For a script command sent outside MULTI (EVAL*, EVALSHA*, FCALL*), a key naming
/// the script it runs (command + body, SHA or function name); None otherwise.
pub fn script_key(client: &crate::server::Client, args: &[&[u8]]) -> Option<u64> {
    use crate::commands::{flags, table};
    use std::hash::{BuildHasher, Hasher};
    // every request passes here: only EVAL* and FCALL* are worth a table lookup
    let first = args
        .first()
        .and_then(|n| n.first())
        .map(u8::to_ascii_lowercase);
    if client.multi.is_some() || !matches!(first, Some(b'e' | b'f')) {
        return None;
    }
    let cmd = args.first().and_then(|n| table::lookup(n))?;
    if !(cmd.has(flags::EXCLUSIVE) && cmd.group == "scripting") {
        return None;
    }
    // a function name says nothing of the code behind it (FUNCTION LOAD REPLACE
    // swaps it): functions always run off-thread
    if cmd.name.starts_with("fcall") {
        return Some(ALWAYS_OFF_THREAD);
    }
    let mut h = HISTORY_HASHER.build_hasher();
    h.write(cmd.name.as_bytes());
    let id = args.get(1).copied().unwrap_or_default();
    if cmd.name.starts_with("evalsha") {
        h.write(&id.to_ascii_lowercase());
    } else {
        h.write(id);
    }
    Some(h.finish().max(1))
}

/// The [`script_key`] of scripts that never run on the connection's thread.
const ALWAYS_OFF_THREAD: u64 = 0;

/// Run times seen per script (see [`script_key`]): (runs, last run in µs).
static HISTORY: LazyLock<Mutex<HashMap<u64, (u32, u32)>>> = LazyLock::new(Default::default);
static HISTORY_HASHER: LazyLock<foldhash::fast::RandomState> = LazyLock::new(Default::default);

/// Scripts that always finished within this run on the connection's own thread.
const INLINE_MAX_MICROS: u32 = 2_000;
/// ... once they have run this many times.
const INLINE_AFTER_RUNS: u32 = 3;

/// Whether a script should run on a blocking thread rather than the connection's
/// worker thread. Handing a script over costs two thread switches, several times the
/// run of a typical short script; but a script that runs long on the worker thread
/// holds up every connection of that thread, which then cannot even read a SCRIPT
/// KILL. So a script runs off-thread until it has shown, a few runs in a row, that it
/// finishes within a couple of milliseconds; a slower run sends its next run back
/// off-thread.
pub fn runs_off_thread(key: u64) -> bool {
    key == ALWAYS_OFF_THREAD
        || HISTORY
            .lock()
            .get(&key)
            .is_none_or(|&(runs, last)| runs < INLINE_AFTER_RUNS || last > INLINE_MAX_MICROS)
}

thread_local! {
    /// How long the last script run on this thread took in the interpreter, waits for
    /// the gate or a thread left out.
    static LAST_RUN: std::cell::Cell<Option<std::time::Duration>> = const { std::cell::Cell::new(None) };
}

pub(crate) fn set_last_run(d: std::time::Duration) {
    LAST_RUN.with(|l| l.set(Some(d)));
}

/// Takes the run time of the last script run on this thread, if any ran.
pub fn take_last_run() -> Option<std::time::Duration> {
    LAST_RUN.with(|l| l.take())
}

/// Records how long a script ran (see [`runs_off_thread`]).
pub fn note_run(key: u64, took: std::time::Duration) {
    if key == ALWAYS_OFF_THREAD {
        return;
    }
    let micros = u32::try_from(took.as_micros()).unwrap_or(u32::MAX);
    let mut h = HISTORY.lock();
    // the history is a heuristic: bound it rather than track every script forever
    if h.len() >= 10_000 && !h.contains_key(&key) {
        h.clear();
    }
    let e = h.entry(key).or_insert((0, 0));
    e.0 = e.0.saturating_add(1);
    e.1 = micros;
}
