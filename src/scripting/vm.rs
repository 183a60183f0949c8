//! The interpreter: sandbox set-up, the script cache, function libraries, the
//! `server.*` API and running a script or function to a reply.

use super::{convert, sflags, sha1_hex};
use crate::commands::{self, flags, table, CmdError, Command, Ctx};
use crate::protocol::Reply;
use crate::server::{Client, Origin, Server};
use mlua::{
    ffi, Function, HookTriggers, Lua, LuaOptions, MultiValue, StdLib, Table, Value, VmState,
};
use smallvec::SmallVec;
use std::cell::Cell;
use std::collections::{HashMap, VecDeque};
use std::ffi::c_int;
use std::sync::atomic::Ordering::Relaxed;

const PRELUDE: &str = include_str!("prelude.lua");

/// EVAL scripts kept in the cache at most (SCRIPT LOAD ones are never evicted).
const EVAL_CACHE_MAX: usize = 500;
/// Instructions between two checks for SCRIPT KILL and the load timeout.
const HOOK_EVERY: u32 = 100_000;
/// Scripts between two garbage collection steps (and the step's size in KB).
const GC_EVERY: u64 = 50;
/// FUNCTION LOAD code must finish registering within this.
const LOAD_TIMEOUT_MS: u128 = 500;

struct Script {
    body: Vec<u8>,
    flags: u32,
    func: Function,
    /// Added by EVAL (evictable), not SCRIPT LOAD.
    from_eval: bool,
}

/// A registered function as the interpreter holds it.
struct Func {
    callback: Function,
    flags: u32,
}

/// What FUNCTION LOAD learnt about a library's functions.
pub struct FunctionInfo {
    pub name: String,
    pub description: Option<String>,
    pub flags: u32,
}

/// Why FUNCTION LOAD failed: the full error line.
pub type LoadError = String;

pub struct Vm {
    lua: Lua,
    env: Table,
    fenv: Table,
    run: Function,
    run_function: Function,
    begin_load: Function,
    end_load: Function,
    load_pcall: Function,
    /// Keyed by SHA (already a hash: the fast hasher is enough).
    scripts: HashMap<String, Script, foldhash::fast::RandomState>,
    /// EVAL-added scripts, least recently used first.
    lru: VecDeque<String>,
    script_bytes: usize,
    /// library -> function name -> function
    libs: HashMap<String, HashMap<String, Func>>,
    /// function name -> library
    func_lib: HashMap<String, String>,
    /// Scripts run, for the periodic garbage collection steps.
    runs: u64,
    /// The reply buffer of the commands scripts run, kept between runs.
    call_reply: Option<Reply>,
}

// ---------------------------------------------------------------- run context

/// What the `server.*` functions need while a script runs: set for the duration of
/// the Lua call on this thread (the callbacks run synchronously inside it).
struct RunCtx<'a> {
    srv: &'a Server,
    client: Client,
    read_only: bool,
    allow_oom: bool,
    eval: bool,
    /// Socket of the client that runs the script (-1: none).
    caller_fd: i64,
    /// Reply buffer of the commands the script runs, reused from call to call.
    reply: Reply,
    /// Why the last `server.call` was refused (see [`CallOutcome::Error`]).
    call_err: String,
    /// A command's reply is being turned into Lua values (see [`call_command`]).
    converting: bool,
}

thread_local! {
    static CURRENT: Cell<*mut RunCtx<'static>> = const { Cell::new(std::ptr::null_mut()) };
    /// Deadline of the FUNCTION LOAD running on this thread.
    static LOADING: Cell<Option<std::time::Instant>> = const { Cell::new(None) };
    /// The running script was told to stop: pcall must not swallow that.
    /// Holds whether it is an EVAL script.
    static KILLED: Cell<Option<bool>> = const { Cell::new(None) };
}

/// Clears the thread's run context when the script is done, also on unwinding.
struct CurrentGuard;

impl Drop for CurrentGuard {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(std::ptr::null_mut()));
    }
}

fn with_ctx<R>(f: impl FnOnce(&mut RunCtx<'static>) -> R) -> Option<R> {
    let p = CURRENT.with(|c| c.get());
    if p.is_null() {
        return None;
    }
    // SAFETY: the pointer is set by `Vm::execute` to a context on its stack and
    // cleared (by `CurrentGuard`) before that frame ends; callbacks run synchronously
    // within it on this thread, and never re-enter one another.
    Some(f(unsafe { &mut *p }))
}

/// An error raised from native code that should reach the script as a Valkey error
/// table (no position prefix), e.g. a killed script.
const RAW_ERROR: char = '\u{1}';

/// Like [`RAW_ERROR`], for the error of a command the script ran: it was counted in
/// the error statistics when the command failed, and is not counted again.
const COUNTED_ERROR: char = '\u{2}';

/// True if an error raised by native code is a command's error already counted.
fn error_counted(e: &mlua::Error) -> bool {
    match e {
        mlua::Error::CallbackError { cause, .. } | mlua::Error::WithContext { cause, .. } => {
            error_counted(cause)
        }
        mlua::Error::RuntimeError(m) => m.starts_with(COUNTED_ERROR),
        _ => false,
    }
}

fn raw_error(msg: impl std::fmt::Display) -> mlua::Error {
    mlua::Error::RuntimeError(format!("{RAW_ERROR}{msg}"))
}

/// The innermost message of an error raised by native code, and whether it is a raw
/// error table text.
fn error_message(e: &mlua::Error) -> (String, bool) {
    match e {
        mlua::Error::CallbackError { cause, .. } => error_message(cause),
        mlua::Error::RuntimeError(m) => match m.strip_prefix([RAW_ERROR, COUNTED_ERROR]) {
            Some(s) => (s.to_string(), true),
            None => (m.clone(), false),
        },
        mlua::Error::WithContext { cause, .. } => error_message(cause),
        other => (other.to_string(), false),
    }
}

// ---------------------------------------------------------------- rand48

/// rand48 state behind math.random (the generator Valkey uses, so a seeded sequence
/// is the same). Scripts run one at a time, so a plain load and store suffice.
static RAND48: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0x1234_ABCD_330E);

fn rand48_next() -> i32 {
    let x = RAND48
        .load(Relaxed)
        .wrapping_mul(0x5_DEEC_E66D)
        .wrapping_add(0xB)
        & 0xFFFF_FFFF_FFFF;
    RAND48.store(x, Relaxed);
    (x >> 17) as i32
}

fn rand48_seed(seed: i32) {
    RAND48.store((((seed as u32) as u64) << 16) | 0x330E, Relaxed);
}

// ---------------------------------------------------------------- native API

fn arg_bytes(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Integer(i) => Some(i.to_string().into_bytes()),
        Value::Number(n) => Some(number_arg(*n).into_bytes()),
        _ => None,
    }
}

/// A Lua number as a command argument: an integer when it is one, else the shortest
/// round-trip digits.
fn number_arg(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 9.2e18 {
        (n as i64).to_string()
    } else {
        crate::protocol::reply::format_double(n)
    }
}

/// Looks a command up as Valkey's `lookupCommand` does for scripts: a container needs
/// a known subcommand.
fn lookup_for_script(args: &[&[u8]]) -> Option<&'static Command> {
    let cmd = table::lookup(args[0])?;
    if cmd.subcommands.is_empty() || args.len() < 2 {
        return Some(cmd);
    }
    cmd.subcommands
        .iter()
        .find(|s| s.name.as_bytes().eq_ignore_ascii_case(args[1]))
}

fn arity_ok(arity: i32, argc: usize) -> bool {
    if arity >= 0 {
        argc == arity as usize
    } else {
        argc >= (-arity) as usize
    }
}

/// What the Rust half of `server.call` ([`call_command`]) hands to the Lua half
/// ([`call_entry`]). Plain data: nothing in it needs dropping.
#[derive(Clone, Copy)]
enum CallOutcome {
    /// The command ran; its reply is in the run context's `reply`.
    Reply,
    /// The call failed before running the command: the error text (static, or held by
    /// the run context in `call_err`) and whether the error statistics have it already.
    Error(*const u8, usize, bool),
}

fn static_err(msg: &'static str) -> CallOutcome {
    CallOutcome::Error(msg.as_ptr(), msg.len(), false)
}

/// A command argument from the Lua stack.
enum Arg {
    /// A Lua string, borrowed: it stays on the stack for the whole call.
    Lua(*const u8, usize),
    /// A number, as text in the scratch buffer at this range.
    Text(usize, usize),
}

/// The Rust half of `server.call` / `server.pcall`: reads the arguments from the Lua
/// stack, checks them as Valkey does and runs the command through dispatch. Calls no
/// Lua function that can raise an error, and owns nothing once it returns, so that
/// [`call_entry`] may then raise with `longjmp` safely.
unsafe fn call_command(l: *mut ffi::lua_State) -> CallOutcome {
    let n = ffi::lua_gettop(l);
    if n <= 0 {
        return static_err("ERR Please specify at least one argument for this call");
    }
    let mut text = Vec::new();
    let mut spans: SmallVec<[Arg; 8]> = SmallVec::with_capacity(n as usize);
    for i in 1..=n {
        match ffi::lua_type(l, i) {
            ffi::LUA_TSTRING => {
                let mut len = 0usize;
                // a string is returned in place, never converted
                let p = ffi::lua_tolstring(l, i, &mut len);
                spans.push(Arg::Lua(p.cast(), len));
            }
            ffi::LUA_TNUMBER => {
                // not lua_tolstring: its "%.14g" loses digits
                let start = text.len();
                text.extend_from_slice(number_arg(ffi::lua_tonumber(l, i)).as_bytes());
                spans.push(Arg::Text(start, text.len()));
            }
            _ => return static_err("ERR Command arguments must be strings or integers"),
        }
    }
    let argv: SmallVec<[&[u8]; 8]> = spans
        .iter()
        .map(|a| match *a {
            Arg::Lua(p, len) => std::slice::from_raw_parts(p, len),
            Arg::Text(a, b) => &text[a..b],
        })
        .collect();
    let res = with_ctx(|ctx| {
        if ctx.converting {
            // a finalizer run by the collector while a reply is being converted: the
            // reply buffer is in use
            return static_err("ERR server.call is not allowed here");
        }
        match run_command(ctx, &argv) {
            Ok(()) => CallOutcome::Reply,
            Err(msg) => {
                ctx.call_err.clear();
                ctx.call_err.push_str(&msg);
                CallOutcome::Error(ctx.call_err.as_ptr(), ctx.call_err.len(), true)
            }
        }
    });
    res.unwrap_or_else(|| static_err("ERR server.call can only be used inside a script"))
}

/// Runs a command for the script: Valkey's checks for commands called from scripts,
/// then dispatch, whose reply is left in `ctx.reply`. Err: the refusal, counted.
fn run_command(ctx: &mut RunCtx<'static>, argv: &[&[u8]]) -> Result<(), String> {
    let cmd = match lookup_for_script(argv) {
        Some(c) if arity_ok(c.arity, argv.len()) => c,
        Some(c) => {
            return Err(reject(
                ctx.srv,
                Some(c),
                "ERR Wrong number of args calling command from script",
            ))
        }
        None => {
            return Err(reject(
                ctx.srv,
                None,
                "ERR Unknown command called from script",
            ))
        }
    };
    if cmd.has(flags::NOSCRIPT) {
        return Err(reject(
            ctx.srv,
            Some(cmd),
            "ERR This Redis command is not allowed from script",
        ));
    }
    let is_write = cmd.has(flags::WRITE);
    if ctx.read_only && (is_write || cmd.has(flags::MAY_REPLICATE)) {
        return Err(reject(
            ctx.srv,
            Some(cmd),
            "ERR Write commands are not allowed from read-only scripts.",
        ));
    }
    let wrote = ctx.srv.scripting.run.wrote.load(Relaxed);
    if cmd.has(flags::DENYOOM) && !ctx.allow_oom && !wrote && over_maxmemory(ctx.srv) {
        return Err(reject(
            ctx.srv,
            Some(cmd),
            "OOM command not allowed when used memory > 'maxmemory'.",
        ));
    }
    if is_write && !wrote {
        if too_few_replicas(ctx.srv) {
            return Err(reject(
                ctx.srv,
                Some(cmd),
                "NOREPLICAS Not enough good replicas to write.",
            ));
        }
        ctx.srv.scripting.run.wrote.store(true, Relaxed);
    }
    ctx.reply.clear();
    ctx.reply.set_resp3(ctx.client.resp == 3);
    commands::dispatch(ctx.srv, &mut ctx.client, &mut ctx.reply, argv);
    // a command never blocks inside a script
    ctx.client.block = None;
    Ok(())
}

/// `server.call`: raises the error of a failed command.
unsafe extern "C-unwind" fn native_call(l: *mut ffi::lua_State) -> c_int {
    call_entry(l, true)
}

/// `server.pcall`: returns the error table of a failed command.
unsafe extern "C-unwind" fn native_pcall(l: *mut ffi::lua_State) -> c_int {
    call_entry(l, false)
}

/// The Lua half of `server.call`/`server.pcall`, written against the raw Lua API:
/// the command's arguments are read in place and its reply is built straight on the
/// stack, with none of the per-value handles a wrapped Rust function would create.
/// Errors are raised as Valkey's error tables (`{err = ...}`), which the sandbox's
/// handler and `pcall` treat as they treat Valkey's.
///
/// Raising is a `longjmp` over this frame: by then nothing here owns anything.
unsafe fn call_entry(l: *mut ffi::lua_State, raise: bool) -> c_int {
    // a panic must not unwind into Lua's C frames
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| call_command(l)))
        .unwrap_or_else(|_| static_err("ERR internal error running the command"));
    // The arguments are done with: their slots are free for the reply, which needs a
    // few (a call may take nearly all of the stack, as `unpack` of 7999 values does).
    // A C function always has LUA_MINSTACK slots from there.
    ffi::lua_settop(l, 0);
    // set while this reply is converted (a finalizer may call in meanwhile, and must
    // not leave it cleared for the rest of this conversion)
    let was_converting = with_ctx(|ctx| std::mem::replace(&mut ctx.converting, true));
    let failed = match outcome {
        CallOutcome::Reply => {
            let (p, len) = with_ctx(|ctx| (ctx.reply.as_bytes().as_ptr(), ctx.reply.len()))
                .unwrap_or((std::ptr::null(), 0));
            let raw: &[u8] = if p.is_null() {
                &[]
            } else {
                std::slice::from_raw_parts(p, len)
            };
            if convert::push_resp(l, raw) {
                raw.first() == Some(&b'-')
            } else {
                convert::push_err_table(l, b"ERR reached lua stack limit", false);
                true
            }
        }
        CallOutcome::Error(p, len, counted) => {
            convert::push_err_table(l, std::slice::from_raw_parts(p, len), counted);
            true
        }
    };
    with_ctx(|ctx| ctx.converting = was_converting.unwrap_or(false));
    if failed && raise {
        ffi::lua_error(l);
    }
    1
}

/// A command refused before it ran: counted as rejected, like dispatch's own checks.
fn reject(srv: &Server, cmd: Option<&'static Command>, msg: &str) -> String {
    if let Some(c) = cmd {
        srv.stats.record_rejected(c);
    }
    srv.stats.error_reply(msg);
    msg.to_string()
}

/// min-replicas-to-write asks for replicas this server cannot have (it has no
/// replication): writes are refused as Valkey does without enough good replicas.
fn too_few_replicas(srv: &Server) -> bool {
    srv.config.hot.min_replicas_to_write.load(Relaxed) > 0
}

/// True if the command running the script found memory over `maxmemory` with
/// nothing left to evict (Valkey's `pre_command_oom_state`).
fn over_maxmemory(_srv: &Server) -> bool {
    crate::store::evict::oom_state()
}

fn lua_sha1hex(lua: &Lua, args: MultiValue) -> mlua::Result<(Value, Value)> {
    if args.len() != 1 {
        return Ok((
            Value::Nil,
            Value::String(lua.create_string("ERR wrong number of arguments")?),
        ));
    }
    let b = match &args[0] {
        Value::String(s) => s.as_bytes().to_vec(),
        v => arg_bytes(v).unwrap_or_default(),
    };
    Ok((Value::String(lua.create_string(sha1_hex(&b))?), Value::Nil))
}

fn lua_number(v: &Value) -> Option<f64> {
    match v {
        Value::Integer(i) => Some(*i as f64),
        Value::Number(n) => Some(*n),
        Value::String(s) => std::str::from_utf8(&s.as_bytes())
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok()),
        _ => None,
    }
}

fn lua_log(lua: &Lua, args: MultiValue) -> mlua::Result<(Value, Value)> {
    let fail = |m: &str| Ok((Value::Nil, Value::String(lua.create_string(m)?)));
    if args.len() < 2 {
        return fail("ERR server.log() requires two arguments or more.");
    }
    let Some(level) = lua_number(&args[0]) else {
        return fail("ERR First argument must be a number (log level).");
    };
    let level = level as i64;
    if !(0..=3).contains(&level) {
        return fail("ERR Invalid log level.");
    }
    let mut msg = String::new();
    for (i, v) in args.iter().skip(1).enumerate() {
        if let Some(b) = arg_bytes(v) {
            if i > 0 {
                msg.push(' ');
            }
            msg.push_str(&String::from_utf8_lossy(&b));
        }
    }
    match level {
        0 => tracing::debug!("{msg}"),
        1 => tracing::info!(target: "verbose", "{msg}"),
        2 => tracing::info!("{msg}"),
        _ => tracing::warn!("{msg}"),
    }
    Ok((Value::Nil, Value::Nil))
}

fn lua_setresp(lua: &Lua, args: MultiValue) -> mlua::Result<(Value, Value)> {
    if args.len() != 1 {
        return Ok((
            Value::Nil,
            Value::String(lua.create_string("ERR server.setresp() requires one argument.")?),
        ));
    }
    let resp = lua_number(&args[0]).unwrap_or(0.0) as i64;
    if resp != 2 && resp != 3 {
        return Ok((
            Value::Nil,
            Value::String(lua.create_string("ERR RESP version must be 2 or 3.")?),
        ));
    }
    with_ctx(|ctx| ctx.client.resp = resp as u8);
    Ok((Value::Nil, Value::Nil))
}

fn lua_set_repl(lua: &Lua, args: MultiValue) -> mlua::Result<(Value, Value)> {
    if args.len() != 1 {
        return Ok((
            Value::Nil,
            Value::String(lua.create_string("ERR server.set_repl() requires one argument.")?),
        ));
    }
    let f = lua_number(&args[0]).unwrap_or(0.0) as i64;
    if f & !3 != 0 {
        return Ok((
            Value::Nil,
            Value::String(lua.create_string(
                "ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
            )?),
        ));
    }
    // nothing is propagated yet, so there is nothing to turn off
    Ok((Value::Nil, Value::Nil))
}

fn lua_acl_check_cmd(lua: &Lua, args: MultiValue) -> mlua::Result<(Value, Value)> {
    if args.is_empty() {
        return Ok((
            Value::Nil,
            Value::String(
                lua.create_string("ERR Please specify at least one argument for this call")?,
            ),
        ));
    }
    let mut owned = Vec::new();
    for v in args.iter() {
        match arg_bytes(v) {
            Some(b) => owned.push(b),
            None => {
                return Ok((
                    Value::Nil,
                    Value::String(
                        lua.create_string("ERR Command arguments must be strings or integers")?,
                    ),
                ))
            }
        }
    }
    let argv: Vec<&[u8]> = owned.iter().map(|a| a.as_slice()).collect();
    let Some(cmd) = lookup_for_script(&argv) else {
        return Ok((
            Value::Nil,
            Value::String(
                lua.create_string("ERR Invalid command passed to server.acl_check_cmd()")?,
            ),
        ));
    };
    let user = with_ctx(|ctx| ctx.client.info.user.lock().clone()).unwrap_or_default();
    let allowed = crate::acl::store()
        .get(user.as_bytes())
        .is_some_and(|u| u.unrestricted() || u.check(cmd, &argv).is_ok());
    Ok((Value::Boolean(allowed), Value::Nil))
}

fn lua_random(_: &Lua, args: MultiValue) -> mlua::Result<f64> {
    const MAX: i64 = i32::MAX as i64;
    let r = (rand48_next() as i64 % MAX) as f64 / MAX as f64;
    let int_arg = |i: usize| -> mlua::Result<i64> {
        lua_number(&args[i]).map(|n| n as i64).ok_or_else(|| {
            mlua::Error::RuntimeError(format!(
                "bad argument #{} to 'random' (number expected, got {})",
                i + 1,
                args[i].type_name()
            ))
        })
    };
    match args.len() {
        0 => Ok(r),
        1 => {
            let u = int_arg(0)?;
            if u < 1 {
                return Err(mlua::Error::RuntimeError(
                    "bad argument #1 to 'random' (interval is empty)".into(),
                ));
            }
            Ok((r * u as f64).floor() + 1.0)
        }
        2 => {
            let l = int_arg(0)?;
            let u = int_arg(1)?;
            if l > u {
                return Err(mlua::Error::RuntimeError(
                    "bad argument #2 to 'random' (interval is empty)".into(),
                ));
            }
            Ok((r * (u - l + 1) as f64).floor() + l as f64)
        }
        _ => Err(mlua::Error::RuntimeError(
            "wrong number of arguments".into(),
        )),
    }
}

fn lua_randomseed(_: &Lua, args: MultiValue) -> mlua::Result<()> {
    let seed = args.front().and_then(lua_number).ok_or_else(|| {
        mlua::Error::RuntimeError(
            "bad argument #1 to 'randomseed' (number expected, got no value)".into(),
        )
    })?;
    rand48_seed(seed as i64 as i32);
    Ok(())
}

/// The text of an error raised by native code, whether it is a raw error table
/// text, and whether it was already counted.
fn lua_errtext(_: &Lua, v: Value) -> mlua::Result<(String, bool, bool)> {
    Ok(match v {
        Value::Error(e) => {
            let (m, raw) = error_message(&e);
            (m, raw, error_counted(&e))
        }
        Value::String(s) => (s.to_string_lossy(), false, false),
        other => (format!("{other:?}"), false, false),
    })
}

/// The error a killed script ends with.
fn kill_message(eval: bool) -> String {
    let what = if eval { "SCRIPT" } else { "FUNCTION" };
    format!("ERR Script killed by user with {what} KILL.")
}

/// True if the peer of socket `fd` has closed its side.
fn caller_gone(fd: i64) -> bool {
    if fd < 0 {
        return false;
    }
    let mut p = libc::pollfd {
        fd: fd as i32,
        events: libc::POLLRDHUP,
        revents: 0,
    };
    // SAFETY: one valid pollfd, no timeout; the socket stays open while its
    // connection task is blocked in this script.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    n > 0 && p.revents & (libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR) != 0
}

/// The hook that lets SCRIPT KILL stop a script and bounds FUNCTION LOAD.
fn hook(_: &Lua, _: &mlua::debug::Debug) -> mlua::Result<VmState> {
    if let Some(deadline) = LOADING.with(|l| l.get()) {
        if std::time::Instant::now() > deadline {
            return Err(raw_error("ERR FUNCTION LOAD timeout"));
        }
        return Ok(VmState::Continue);
    }
    let state = with_ctx(|ctx| {
        let run = &ctx.srv.scripting.run;
        let killable = !run.wrote.load(Relaxed);
        let kill = run.kill.load(Relaxed)
            // nobody is left to read the reply of a script that changed nothing:
            // stop it rather than let it hold the server (e.g. an endless loop whose
            // client gave up), and likewise when the server shuts down
            || (killable
                && (caller_gone(ctx.caller_fd)
                    || ctx.srv.shutting_down.load(Relaxed)));
        (kill, ctx.eval)
    });
    if let Some((true, eval)) = state {
        KILLED.with(|k| k.set(Some(eval)));
        let msg = kill_message(eval);
        tracing::info!("{}", &msg[4..]);
        return Err(raw_error(msg));
    }
    Ok(VmState::Continue)
}

/// Wraps a native API function answering (result, error) into one that raises the
/// error. The raise happens in native code, so the failing line of the script is
/// still on the stack when the error handler looks for it (a Lua wrapper would be
/// replaced by `return server.call(...)`'s tail call).
fn raising(
    lua: &Lua,
    f: fn(&Lua, MultiValue) -> mlua::Result<(Value, Value)>,
) -> mlua::Result<Function> {
    lua.create_function(move |lua, args: MultiValue| {
        let (v, e) = f(lua, args)?;
        match e {
            Value::Nil => Ok(v),
            Value::String(s) => Err(raw_error(s.to_string_lossy())),
            Value::Table(t) => {
                let m: Option<mlua::LuaString> = t.raw_get("err")?;
                let m = m.map(|m| m.to_string_lossy()).unwrap_or_default();
                if t.raw_get::<bool>("ignore_error_stats_update")
                    .unwrap_or(false)
                {
                    Err(mlua::Error::RuntimeError(format!("{COUNTED_ERROR}{m}")))
                } else {
                    Err(raw_error(m))
                }
            }
            _ => Err(raw_error("ERR unknown error")),
        }
    })
}

// ---------------------------------------------------------------- the interpreter

impl Vm {
    pub fn new() -> mlua::Result<Vm> {
        // SAFETY: the debug library is needed by the sandbox's error handler; the
        // prelude keeps it in a local and removes it from the globals.
        let lua = unsafe {
            Lua::unsafe_new_with(
                StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::OS | StdLib::DEBUG,
                LuaOptions::default(),
            )
        };
        let r = lua.create_table()?;
        // SAFETY: both follow the Lua C API's rules (see `call_entry`)
        r.raw_set("call", unsafe { lua.create_c_function(native_call)? })?;
        r.raw_set("pcall", unsafe { lua.create_c_function(native_pcall)? })?;
        r.raw_set("sha1hex", raising(&lua, lua_sha1hex)?)?;
        r.raw_set("log", raising(&lua, lua_log)?)?;
        r.raw_set("setresp", raising(&lua, lua_setresp)?)?;
        r.raw_set("set_repl", raising(&lua, lua_set_repl)?)?;
        r.raw_set("acl_check_cmd", raising(&lua, lua_acl_check_cmd)?)?;
        r.raw_set("random", lua.create_function(lua_random)?)?;
        r.raw_set("randomseed", lua.create_function(lua_randomseed)?)?;
        r.raw_set("errtext", lua.create_function(lua_errtext)?)?;
        r.raw_set(
            "killed",
            lua.create_function(|_, ()| Ok(KILLED.with(|k| k.get()).map(kill_message)))?,
        )?;
        r.raw_set(
            "valid_flag",
            lua.create_function(|_, f: mlua::LuaString| {
                Ok(sflags::by_name(&f.to_string_lossy()).is_some())
            })?,
        )?;
        r.raw_set("cjson", super::cjson::open(&lua)?)?;
        r.raw_set("bit", super::bit::open(&lua)?)?;
        r.raw_set("cmsgpack", super::cmsgpack::open(&lua)?)?;
        r.raw_set("struct", super::structlib::open(&lua)?)?;
        let c = lua.create_table()?;
        for (k, v) in [
            ("LOG_DEBUG", 0),
            ("LOG_VERBOSE", 1),
            ("LOG_NOTICE", 2),
            ("LOG_WARNING", 3),
            ("REPL_NONE", 0),
            ("REPL_AOF", 1),
            ("REPL_SLAVE", 2),
            ("REPL_REPLICA", 2),
            ("REPL_ALL", 3),
        ] {
            c.raw_set(k, v)?;
        }
        c.raw_set("REDIS_VERSION", crate::server::REDIS_VERSION)?;
        c.raw_set(
            "REDIS_VERSION_NUM",
            version_num(crate::server::REDIS_VERSION),
        )?;
        c.raw_set("VALKEY_VERSION", crate::server::VALKEY_VERSION)?;
        c.raw_set(
            "VALKEY_VERSION_NUM",
            version_num(crate::server::VALKEY_VERSION),
        )?;
        c.raw_set("SERVER_NAME", "valkey")?;
        r.raw_set("constants", c)?;
        let e: Table = lua
            .load(PRELUDE)
            .set_name("=internal")
            .call((lua.globals(), r))?;
        // The hook stays for the interpreter's life: a count hook costs Lua a counter
        // per instruction, setting and removing it around every script cost more.
        lua.set_hook(HookTriggers::new().every_nth_instruction(HOOK_EVERY), hook)?;
        Ok(Vm {
            env: e.raw_get("env")?,
            fenv: e.raw_get("fenv")?,
            run: e.raw_get("run")?,
            run_function: e.raw_get("run_function")?,
            begin_load: e.raw_get("begin_load")?,
            end_load: e.raw_get("end_load")?,
            load_pcall: e.raw_get("load_pcall")?,
            lua,
            scripts: HashMap::default(),
            lru: VecDeque::new(),
            script_bytes: 0,
            libs: HashMap::new(),
            func_lib: HashMap::new(),
            runs: 0,
            call_reply: None,
        })
    }

    pub fn script_count(&self) -> usize {
        self.scripts.len()
    }

    pub fn script_bytes(&self) -> usize {
        self.script_bytes
    }

    pub fn lua_memory(&self) -> usize {
        self.lua.used_memory()
    }

    pub fn function_count(&self) -> usize {
        self.func_lib.len()
    }

    pub fn script_exists(&self, sha: &[u8]) -> bool {
        let sha = String::from_utf8_lossy(sha).to_ascii_lowercase();
        self.scripts.contains_key(&sha)
    }

    pub fn script_body(&self, sha: &[u8]) -> Option<&[u8]> {
        let sha = String::from_utf8_lossy(sha).to_ascii_lowercase();
        self.scripts.get(&sha).map(|s| s.body.as_slice())
    }

    /// Flags of a cached script (for EVALSHA before running it).
    pub fn script_flags(&self, sha: &str) -> Option<u32> {
        self.scripts.get(sha).map(|s| s.flags)
    }

    /// Compiles and caches a script body; returns its SHA. `from_eval` scripts may be
    /// evicted later (the count of evictions is added to `evicted`).
    pub fn create_script(
        &mut self,
        body: &[u8],
        from_eval: bool,
        evicted: &std::sync::atomic::AtomicU64,
    ) -> Result<String, CmdError> {
        let sha = sha1_hex(body);
        if let Some(s) = self.scripts.get_mut(&sha) {
            if !from_eval && s.from_eval {
                // SCRIPT LOAD promotes it: it is never evicted now
                s.from_eval = false;
                self.lru.retain(|x| x != &sha);
            }
            return Ok(sha);
        }
        let (flags, shebang_len) = shebang_flags(body).map_err(CmdError::err)?;
        // the shebang line is skipped but its newline kept, so line numbers stay right
        let func = self
            .lua
            .load(&body[shebang_len..])
            .set_name("@user_script")
            .set_environment(self.env.clone())
            .into_function()
            .map_err(|e| {
                CmdError::err(format!(
                    "Error compiling script (new function): {}",
                    compile_error_text(&e)
                ))
            })?;
        if from_eval {
            while self.lru.len() >= EVAL_CACHE_MAX {
                if let Some(old) = self.lru.pop_front() {
                    if let Some(s) = self.scripts.remove(&old) {
                        self.script_bytes -= s.body.len() + 40;
                    }
                    evicted.fetch_add(1, Relaxed);
                }
            }
            self.lru.push_back(sha.clone());
        }
        self.script_bytes += body.len() + 40;
        self.scripts.insert(
            sha.clone(),
            Script {
                body: body.to_vec(),
                flags,
                func,
                from_eval,
            },
        );
        Ok(sha)
    }

    /// Runs a cached script for EVAL/EVALSHA; the reply (or error) goes to `ctx`.
    pub fn eval(
        &mut self,
        ctx: &mut Ctx,
        sha: &str,
        keys: &[&[u8]],
        argv: &[&[u8]],
        ro: bool,
        cmdline: &[&[u8]],
    ) -> Result<(), CmdError> {
        let Some(s) = self.scripts.get(sha) else {
            return Err(CmdError::msg("NOSCRIPT No matching script."));
        };
        let (func, flags) = (s.func.clone(), s.flags);
        if s.from_eval {
            // most recently used goes last
            if let Some(i) = self.lru.iter().position(|x| x == sha) {
                if let Some(x) = self.lru.remove(i) {
                    self.lru.push_back(x);
                }
            }
        }
        let run = self.run.clone();
        self.execute(ctx, flags, ro, true, sha, cmdline, |lua, out| {
            let mut done = false;
            // SAFETY: `run_script` keeps to the stack discipline `exec_raw` expects
            let vals = unsafe {
                lua.exec_raw::<MultiValue>((run, func), |l| {
                    run_script(l, keys, argv, out, &mut done)
                })?
            };
            Ok((!done).then_some(vals))
        })
    }

    /// Runs a function for FCALL/FCALL_RO.
    pub fn fcall(
        &mut self,
        ctx: &mut Ctx,
        name: &str,
        keys: &[&[u8]],
        argv: &[&[u8]],
        ro: bool,
        cmdline: &[&[u8]],
    ) -> Result<(), CmdError> {
        let key = name.to_ascii_lowercase();
        let Some(f) = self
            .func_lib
            .get(&key)
            .and_then(|l| self.libs.get(l))
            .and_then(|fs| fs.get(&key))
        else {
            return Err(CmdError::err("Function not found"));
        };
        let (cb, flags) = (f.callback.clone(), f.flags);
        let lua = &self.lua;
        let k = string_array(lua, keys).map_err(lua_fail)?;
        let a = string_array(lua, argv).map_err(lua_fail)?;
        let run = self.run_function.clone();
        self.execute(ctx, flags, ro, false, name, cmdline, move |_, _| {
            run.call::<MultiValue>((cb, k, a)).map(Some)
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn execute(
        &mut self,
        ctx: &mut Ctx,
        flags: u32,
        ro: bool,
        eval: bool,
        name: &str,
        cmdline: &[&[u8]],
        call: impl FnOnce(&Lua, &mut Reply) -> mlua::Result<Option<MultiValue>>,
    ) -> Result<(), CmdError> {
        let srv = ctx.srv;
        let compat = flags & sflags::EVAL_COMPAT != 0;
        if !compat {
            if flags & sflags::NO_WRITES == 0 && ro {
                return Err(CmdError::err(
                    "Can not execute a script with write flag using *_ro command.",
                ));
            }
            if flags & sflags::NO_WRITES == 0 && too_few_replicas(srv) {
                return Err(CmdError::msg(
                    "NOREPLICAS Not enough good replicas to write.",
                ));
            }
            if flags & (sflags::ALLOW_OOM | sflags::NO_WRITES) == 0 && over_maxmemory(srv) {
                return Err(CmdError::msg(
                    "OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'",
                ));
            }
        }
        let read_only = ro || (!compat && flags & sflags::NO_WRITES != 0);
        // The script's commands run as its caller, as in Valkey: with its ACL user (and
        // the cached view of it), counted in its tot-cmds, logged in the commandlog with
        // its address and name. Only MONITOR shows them as "lua" (see `Origin::Script`).
        let mut client = Client::new(ctx.client.info.clone(), true);
        client.origin = Origin::Script;
        client.acl = ctx.client.acl.clone();
        // ACL LOG entries of the script's denials describe the calling client
        client.acl.caller = Some((ctx.client.info.clone(), ctx.cmd));
        client.db = ctx.client.db;
        client.resp = 2;
        let mut rctx = RunCtx {
            srv,
            client,
            read_only,
            allow_oom: flags & sflags::ALLOW_OOM != 0,
            eval,
            caller_fd: ctx.client.info.fd,
            reply: self.call_reply.take().unwrap_or_default(),
            call_err: String::new(),
            converting: false,
        };
        let p = (&mut rctx as *mut RunCtx<'_>).cast::<RunCtx<'static>>();
        KILLED.with(|k| k.set(None));
        CURRENT.with(|c| c.set(p));
        let guard = CurrentGuard;
        let run = &srv.scripting.run;
        run.start(srv.mono_ms(), eval, name, cmdline);
        let started = std::time::Instant::now();
        let res = call(&self.lua, ctx.out);
        super::set_last_run(started.elapsed());
        // As Valkey: every GC_EVERY scripts, one collection step sized as if GC_EVERY
        // KB had been allocated keeps garbage from piling up between the collector's
        // own steps. One protected call: a step apiece cost more than the scripts.
        self.runs += 1;
        if self.runs.is_multiple_of(GC_EVERY) {
            // SAFETY: no stack effect; what a finalizer raises is caught by `exec_raw`
            let _ = unsafe {
                self.lua.exec_raw::<()>((), |l| {
                    ffi::lua_gc(l, ffi::LUA_GCSTEP, GC_EVERY as c_int);
                })
            };
        }
        let script_resp3 = rctx.client.resp == 3;
        drop(guard);
        run.finish();
        // a SELECT in the script changed the database the caller shows in CLIENT LIST
        if rctx.client.db != ctx.client.db {
            ctx.client.info.db.store(ctx.client.db, Relaxed);
        }
        rctx.reply.clear();
        rctx.reply.shrink();
        self.call_reply = Some(rctx.reply);
        let vals = match res {
            Ok(Some(v)) => v,
            // the reply is written already
            Ok(None) => return Ok(()),
            Err(e) => {
                return Err(CmdError::err(format!(
                    "Error running script {name}, {:.100}",
                    error_message(&e).0
                )))
            }
        };
        let ok = matches!(vals.front(), Some(Value::Boolean(true)));
        let v = vals.get(1).cloned().unwrap_or(Value::Nil);
        if ok {
            // an error table returned is the script's error reply: the command fails
            if let Value::Table(t) = &v {
                if let Ok(Value::String(e)) = t.raw_get::<Value>("err") {
                    note_counted(t);
                    return Err(CmdError::Msg(e.to_string_lossy().into()));
                }
            }
            convert::lua_to_reply(&v, ctx.out, script_resp3, 0);
            return Ok(());
        }
        if let Value::Table(t) = &v {
            note_counted(t);
        }
        Err(CmdError::Msg(script_error_text(&v, name).into()))
    }

    /// FUNCTION LOAD: runs the library code, which registers its functions; returns
    /// the library name and its functions. Nothing is installed yet.
    pub fn load_library(
        &mut self,
        code: &[u8],
    ) -> Result<Vec<(FunctionInfo, Function)>, LoadError> {
        let f = self
            .lua
            .load(code)
            .set_name("@user_function")
            .set_environment(self.fenv.clone())
            .into_function()
            .map_err(|e| format!("ERR Error compiling function: {}", compile_error_text(&e)))?;
        self.begin_load.call::<()>(()).map_err(|e| e.to_string())?;
        LOADING.with(|l| {
            l.set(Some(
                std::time::Instant::now()
                    + std::time::Duration::from_millis(LOAD_TIMEOUT_MS as u64),
            ))
        });
        // the interpreter's hook (see `Vm::new`) enforces the deadline
        let res = self.load_pcall.call::<MultiValue>(f);
        LOADING.with(|l| l.set(None));
        let list: Table = self.end_load.call(()).map_err(|e| e.to_string())?;
        let vals = res.map_err(|e| e.to_string())?;
        if !matches!(vals.front(), Some(Value::Boolean(true))) {
            let v = vals.get(1).cloned().unwrap_or(Value::Nil);
            let msg = match &v {
                Value::Table(t) => t
                    .raw_get::<Option<mlua::LuaString>>("err")
                    .ok()
                    .flatten()
                    .map(|s| s.to_string_lossy())
                    .unwrap_or_default(),
                Value::String(s) => format!("ERR {}", s.to_string_lossy()),
                Value::Error(e) => {
                    let (m, raw) = error_message(e);
                    if raw {
                        m
                    } else {
                        format!("ERR {m}")
                    }
                }
                _ => "ERR unknown error".into(),
            };
            return Err(format!("ERR Error registering functions: {msg}"));
        }
        let mut out: Vec<(FunctionInfo, Function)> = Vec::new();
        for item in list.sequence_values::<Table>() {
            let t = item.map_err(|e| e.to_string())?;
            let fname: String = t.raw_get("name").map_err(|e| e.to_string())?;
            if !valid_name(&fname) {
                return Err("ERR Function names can only contain letters, numbers, or underscores(_) and must be at least one character long".into());
            }
            if out.iter().any(|(f, _)| f.name.eq_ignore_ascii_case(&fname)) {
                return Err("ERR Function already exists in the library".into());
            }
            let cb: Function = t.raw_get("callback").map_err(|e| e.to_string())?;
            let desc: Option<String> = t.raw_get("desc").map_err(|e| e.to_string())?;
            let mut fl = 0;
            if let Some(ft) = t
                .raw_get::<Option<Table>>("flags")
                .map_err(|e| e.to_string())?
            {
                for s in ft.sequence_values::<String>() {
                    fl |= s.ok().and_then(|s| sflags::by_name(&s)).unwrap_or(0);
                }
            }
            out.push((
                FunctionInfo {
                    name: fname,
                    description: desc,
                    flags: fl,
                },
                cb,
            ));
        }
        if out.is_empty() {
            return Err("ERR No functions registered".into());
        }
        Ok(out)
    }

    /// The library that holds function `f`, if any.
    pub fn library_of(&self, f: &str) -> Option<&str> {
        self.func_lib
            .get(&f.to_ascii_lowercase())
            .map(|s| s.as_str())
    }

    /// Installs a loaded library (replacing one of the same name).
    pub fn install_library(&mut self, lib: &str, funcs: Vec<(FunctionInfo, Function)>) {
        self.remove_library(lib);
        let mut m = HashMap::new();
        // function names are case-insensitive, as in Valkey
        for (info, cb) in funcs {
            let key = info.name.to_ascii_lowercase();
            self.func_lib.insert(key.clone(), lib.to_string());
            m.insert(
                key,
                Func {
                    callback: cb,
                    flags: info.flags,
                },
            );
        }
        self.libs.insert(lib.to_string(), m);
    }

    pub fn remove_library(&mut self, lib: &str) {
        if let Some(m) = self.libs.remove(lib) {
            for f in m.keys() {
                self.func_lib.remove(f);
            }
        }
    }

    pub fn flush_libraries(&mut self) {
        self.libs.clear();
        self.func_lib.clear();
        let _ = self.lua.gc_collect();
    }

    /// Flags of a function, if it exists.
    pub fn function_flags(&self, name: &str) -> Option<u32> {
        let key = name.to_ascii_lowercase();
        let lib = self.func_lib.get(&key)?;
        self.libs.get(lib)?.get(&key).map(|f| f.flags)
    }
}

/// An error table of a command's error: dispatch must not count the script's error
/// reply again.
fn note_counted(t: &Table) {
    if t.raw_get::<bool>("ignore_error_stats_update")
        .unwrap_or(false)
    {
        super::ERROR_COUNTED.with(|c| c.set(true));
    }
}

/// Library and function names: letters, digits and underscores.
pub fn valid_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn version_num(v: &str) -> i64 {
    let mut n = 0i64;
    for p in v.split('.').take(3) {
        n = (n << 8) | p.parse::<i64>().unwrap_or(0);
    }
    n
}

fn lua_fail(e: mlua::Error) -> CmdError {
    CmdError::err(error_message(&e).0)
}

fn compile_error_text(e: &mlua::Error) -> String {
    match e {
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        other => error_message(other).0,
    }
}

/// Sets the global `name` to a new array of `items` (KEYS, ARGV).
///
/// # Safety
/// `l` is a live state with 3 free stack slots; Lua may raise (out of memory).
unsafe fn set_global_array(l: *mut ffi::lua_State, name: &std::ffi::CStr, items: &[&[u8]]) {
    ffi::lua_pushstring_(l, name.as_ptr());
    ffi::lua_createtable(l, items.len().min(1 << 20) as c_int, 0);
    for (i, it) in items.iter().enumerate() {
        ffi::lua_pushlstring(l, it.as_ptr().cast(), it.len());
        ffi::lua_rawseti_(l, -2, (i + 1) as c_int);
    }
    // the real globals: scripts see them through a read-only proxy
    ffi::lua_rawset(l, ffi::LUA_GLOBALSINDEX);
}

/// Runs an EVAL script on the raw stack of `l`, which holds the sandbox's runner and
/// the script's function on top: sets KEYS and ARGV, calls `run(f)` (which answers
/// `ok, value`) and, when the script returned a value that is not an error table,
/// writes it to `out`, pops it all and sets `done`. Otherwise `ok, value` stay for
/// the caller, which turns them into the error.
///
/// # Safety
/// Called by `exec_raw`, which catches what Lua raises here. Nothing owned is alive
/// across the Lua calls that may raise.
unsafe fn run_script(
    l: *mut ffi::lua_State,
    keys: &[&[u8]],
    argv: &[&[u8]],
    out: &mut Reply,
    done: &mut bool,
) {
    let base = ffi::lua_gettop(l) - 2;
    ffi::luaL_checkstack(l, 8, c"too many arguments".as_ptr());
    set_global_array(l, c"KEYS", keys);
    set_global_array(l, c"ARGV", argv);
    if ffi::lua_pcall(l, 1, 2, 0) != 0 {
        // the runner itself failed (the script's own errors are its `ok = false`)
        ffi::lua_error(l);
    }
    if ffi::lua_toboolean(l, -2) == 0
        || (ffi::lua_type(l, -1) == ffi::LUA_TTABLE && convert::is_err_table(l))
    {
        return;
    }
    let resp3 = with_ctx(|c| c.client.resp == 3).unwrap_or(false);
    convert::top_to_reply(l, out, resp3, 0);
    ffi::lua_settop(l, base);
    *done = true;
}

fn string_array(lua: &Lua, items: &[&[u8]]) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(items.len(), 0)?;
    for (i, it) in items.iter().enumerate() {
        t.raw_set(i + 1, lua.create_string(it)?)?;
    }
    Ok(t)
}

/// The error line for a script that raised `v` (normally the handler's table with
/// err, source and line).
fn script_error_text(v: &Value, name: &str) -> String {
    match v {
        Value::Table(t) => {
            let msg = t
                .raw_get::<Option<mlua::LuaString>>("err")
                .ok()
                .flatten()
                .map(|s| s.to_string_lossy())
                .unwrap_or_default();
            let source = t
                .raw_get::<Option<mlua::LuaString>>("source")
                .ok()
                .flatten()
                .map(|s| s.to_string_lossy());
            let line: Option<String> = match t.raw_get::<Value>("line") {
                Ok(Value::Integer(i)) => Some(i.to_string()),
                Ok(Value::Number(n)) => Some((n as i64).to_string()),
                Ok(Value::String(s)) => Some(s.to_string_lossy()),
                _ => None,
            };
            match (source, line) {
                (Some(s), Some(l)) => format!("{msg} script: {name}, on {s}:{l}."),
                _ => msg,
            }
        }
        Value::String(s) => format!(
            "ERR Error running script {name}, {:.100}",
            s.to_string_lossy()
        ),
        _ => format!("ERR Error running script {name}, execution failure"),
    }
}

/// Parses an EVAL body's `#!lua [flags=a,b]` line: (flags, length of the line without
/// its newline). No shebang: compatibility mode.
pub fn shebang_flags(body: &[u8]) -> Result<(u32, usize), String> {
    if !body.starts_with(b"#!") {
        return Ok((sflags::EVAL_COMPAT, 0));
    }
    let Some(end) = body.iter().position(|&b| b == b'\n') else {
        return Err("Invalid script shebang".into());
    };
    let line = String::from_utf8_lossy(&body[..end]);
    let parts: Vec<&str> = line.split_ascii_whitespace().collect();
    let Some(first) = parts.first() else {
        return Err("Invalid engine in script shebang".into());
    };
    if *first != "#!lua" {
        return Err(format!("Could not find scripting engine '{}'", &first[2..]));
    }
    let mut flags = 0;
    for p in &parts[1..] {
        if let Some(list) = p.strip_prefix("flags=") {
            for f in list.split(',') {
                if f.is_empty() {
                    continue;
                }
                match sflags::by_name(f) {
                    Some(x) => flags |= x,
                    None => return Err(format!("Unexpected flag in script shebang: {f}")),
                }
            }
        } else {
            return Err(format!("Unknown lua shebang option: {p}"));
        }
    }
    Ok((flags, end))
}
