//! Scripting commands: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT, FCALL, FCALL_RO
//! and FUNCTION. The interpreter and the conversions live in `crate::scripting`.
//!
//! EVAL*, FCALL* are flagged `EXCLUSIVE`: dispatch takes the server gate exclusively
//! for them, so a script is atomic whatever shards its keys live on, and the
//! commands it runs (through dispatch, nested) take no gate.

use super::flags::*;
use super::server::help;
use super::spec::container;
use super::{acl, glob_match, int_arg, is, lossy, CmdError, CmdResult, Command, Ctx};
use crate::scripting::{sflags, vm::valid_name};
use crate::server::FunctionLib;
use std::sync::atomic::Ordering::Relaxed;

const SCRIPTING: u64 = acl::SCRIPTING;

// one line per declaration keeps the table readable
#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    Command::new("eval", -3, NOSCRIPT | SKIP_MONITOR | MAY_REPLICATE | NO_MANDATORY_KEYS | MOVABLEKEYS | STALE | EXCLUSIVE, eval)
        .numkeys(2)
        .acl(SCRIPTING)
        .doc("scripting", "2.6.0", "Executes a server-side Lua script.", "Depends on the script that is executed."),
    Command::new("evalsha", -3, NOSCRIPT | SKIP_MONITOR | MAY_REPLICATE | NO_MANDATORY_KEYS | MOVABLEKEYS | STALE | EXCLUSIVE, evalsha)
        .numkeys(2)
        .acl(SCRIPTING)
        .doc("scripting", "2.6.0", "Executes a server-side Lua script by SHA1 digest.", "Depends on the script that is executed."),
    Command::new("eval_ro", -3, NOSCRIPT | SKIP_MONITOR | NO_MANDATORY_KEYS | MOVABLEKEYS | STALE | READONLY | EXCLUSIVE, eval_ro)
        .numkeys(2)
        .acl(SCRIPTING)
        .doc("scripting", "7.0.0", "Executes a read-only server-side Lua script.", "Depends on the script that is executed."),
    Command::new("evalsha_ro", -3, NOSCRIPT | SKIP_MONITOR | NO_MANDATORY_KEYS | MOVABLEKEYS | STALE | READONLY | EXCLUSIVE, evalsha_ro)
        .numkeys(2)
        .acl(SCRIPTING)
        .doc("scripting", "7.0.0", "Executes a read-only server-side Lua script by SHA1 digest.", "Depends on the script that is executed."),
    Command::new("fcall", -3, NOSCRIPT | SKIP_MONITOR | MAY_REPLICATE | NO_MANDATORY_KEYS | MOVABLEKEYS | STALE | EXCLUSIVE, fcall)
        .numkeys(2)
        .acl(SCRIPTING)
        .doc("scripting", "7.0.0", "Invokes a function.", "Depends on the function that is executed."),
    Command::new("fcall_ro", -3, NOSCRIPT | SKIP_MONITOR | NO_MANDATORY_KEYS | MOVABLEKEYS | STALE | READONLY | EXCLUSIVE, fcall_ro)
        .numkeys(2)
        .acl(SCRIPTING)
        .doc("scripting", "7.0.0", "Invokes a read-only function.", "Depends on the function that is executed."),
    Command::new("script", -2, 0, container)
        .doc("scripting", "2.6.0", "A container for Lua scripts management commands.", "Depends on subcommand.")
        .subs(&[
            Command::new("debug", 3, NOSCRIPT, script_debug)
                .acl(SCRIPTING)
                .doc("scripting", "3.2.0", "Sets the debug mode of server-side Lua scripts.", "O(1)"),
            Command::new("exists", -3, NOSCRIPT, script_exists)
                .acl(SCRIPTING)
                .doc("scripting", "2.6.0", "Determines whether server-side Lua scripts exist in the script cache.", "O(N) with N being the number of scripts to check (so checking a single script is an O(1) operation)."),
            Command::new("flush", -2, NOSCRIPT, script_flush)
                .acl(SCRIPTING)
                .doc("scripting", "2.6.0", "Removes all server-side Lua scripts from the script cache.", "O(N) with N being the number of scripts in cache"),
            Command::new("help", 2, LOADING | STALE, script_help)
                .acl(SCRIPTING)
                .doc("scripting", "5.0.0", "Returns helpful text about the different subcommands.", "O(1)"),
            Command::new("kill", 2, NOSCRIPT | ALLOW_BUSY, script_kill)
                .acl(SCRIPTING)
                .doc("scripting", "2.6.0", "Terminates a server-side Lua script during execution.", "O(1)"),
            Command::new("load", 3, NOSCRIPT | STALE, script_load)
                .acl(SCRIPTING)
                .doc("scripting", "2.6.0", "Loads a server-side Lua script to the script cache.", "O(N) with N being the length in bytes of the script body."),
            Command::new("show", 3, NOSCRIPT, script_show)
                .acl(SCRIPTING)
                .doc("scripting", "8.0.0", "Show server-side Lua script in the script cache.", "O(1)."),
        ]),
    Command::new("function", -2, 0, container)
        .doc("scripting", "7.0.0", "A container for function commands.", "Depends on subcommand.")
        .subs(&[
            Command::new("delete", 3, NOSCRIPT | WRITE, function_delete)
                .acl(SCRIPTING)
                .doc("scripting", "7.0.0", "Deletes a library and its functions.", "O(1)"),
            Command::new("dump", 2, NOSCRIPT, function_dump)
                .acl(SCRIPTING)
                .doc("scripting", "7.0.0", "Dumps all libraries into a serialized binary payload.", "O(N) where N is the number of functions"),
            Command::new("flush", -2, NOSCRIPT | WRITE, function_flush)
                .acl(SCRIPTING)
                .doc("scripting", "7.0.0", "Deletes all libraries and functions.", "O(N) where N is the number of functions deleted"),
            Command::new("help", 2, LOADING | STALE, function_help)
                .acl(SCRIPTING)
                .doc("scripting", "7.0.0", "Returns helpful text about the different subcommands.", "O(1)"),
            Command::new("kill", 2, NOSCRIPT | ALLOW_BUSY, function_kill)
                .acl(SCRIPTING)
                .doc("scripting", "7.0.0", "Terminates a function during execution.", "O(1)"),
            Command::new("list", -2, NOSCRIPT, function_list)
                .acl(SCRIPTING)
                .doc("scripting", "7.0.0", "Returns information about all libraries.", "O(N) where N is the number of functions"),
            Command::new("load", -3, NOSCRIPT | WRITE | DENYOOM, function_load)
                .acl(SCRIPTING)
                .doc("scripting", "7.0.0", "Creates a library.", "O(1) (considering compilation time is redundant)"),
            Command::new("restore", -3, NOSCRIPT | WRITE | DENYOOM, function_restore)
                .acl(SCRIPTING)
                .doc("scripting", "7.0.0", "Restores all libraries from a payload.", "O(N) where N is the number of functions on the payload"),
            Command::new("stats", 2, NOSCRIPT | ALLOW_BUSY, function_stats)
                .acl(SCRIPTING)
                .doc("scripting", "7.0.0", "Returns information about a function during execution.", "O(1)"),
        ]),
];

// ---------------------------------------------------------------- EVAL

/// Key names and other arguments of a script call.
type KeysAndArgs<'a> = (&'a [&'a [u8]], &'a [&'a [u8]]);

/// Splits `script numkeys key... arg...` (from position 2) into keys and args.
fn split_keys<'a>(
    args: &'a [&'a [u8]],
    bad_count: Option<&'static str>,
) -> Result<KeysAndArgs<'a>, CmdError> {
    let n = match (int_arg(args[2]), bad_count) {
        (Ok(n), _) => n,
        (Err(_), Some(m)) => return Err(CmdError::err(m)),
        (Err(e), None) => return Err(e),
    };
    if n > args.len() as i64 - 3 {
        return Err(CmdError::err(
            "Number of keys can't be greater than number of args",
        ));
    }
    if n < 0 {
        return Err(CmdError::err("Number of keys can't be negative"));
    }
    let n = n as usize;
    Ok((&args[3..3 + n], &args[3 + n..]))
}

fn eval_generic(ctx: &mut Ctx, args: &[&[u8]], by_sha: bool, ro: bool) -> CmdResult {
    // monitors see the script before the commands it runs
    ctx.srv.feed_monitors(ctx.client, args);
    if by_sha && args[1].len() != 40 {
        return Err(CmdError::msg("NOSCRIPT No matching script."));
    }
    let (keys, argv) = split_keys(args, None)?;
    let srv = ctx.srv;
    srv.scripting.with_vm(|vm| {
        let sha = if by_sha {
            let sha = String::from_utf8_lossy(args[1]).to_ascii_lowercase();
            if vm.script_flags(&sha).is_none() {
                return Err(CmdError::msg("NOSCRIPT No matching script."));
            }
            sha
        } else {
            vm.create_script(args[1], true, &srv.scripting.evicted)?
        };
        vm.eval(ctx, &sha, keys, argv, ro, args)
    })
}

fn eval(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    eval_generic(ctx, args, false, false)
}

fn evalsha(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    eval_generic(ctx, args, true, false)
}

fn eval_ro(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    eval_generic(ctx, args, false, true)
}

fn evalsha_ro(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    eval_generic(ctx, args, true, true)
}

// ---------------------------------------------------------------- SCRIPT

fn script_help(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    help(
        ctx.out,
        "SCRIPT",
        &[
            "DEBUG (YES|SYNC|NO)",
            "    Set the debug mode for subsequent scripts executed.",
            "EXISTS <sha1> [<sha1> ...]",
            "    Return information about the existence of the scripts in the script cache.",
            "FLUSH [ASYNC|SYNC]",
            "    Flush the Lua scripts cache. Very dangerous on replicas.",
            "    When called without the optional mode argument, the behavior is determined",
            "     by the lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the scripts cache.",
            "    * SYNC: Synchronously flush the scripts cache.",
            "KILL",
            "    Kill the currently executing Lua script.",
            "LOAD <script>",
            "    Load a script into the scripts cache without executing it.",
            "SHOW <sha1>",
            "    Show a script from the scripts cache.",
        ],
    );
    Ok(())
}

fn script_debug(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    if is(args[2], "no") {
        ctx.out.ok();
        return Ok(());
    }
    if is(args[2], "yes") || is(args[2], "sync") {
        return Err(CmdError::err("The Lua debugger is not supported"));
    }
    Err(CmdError::err("Use SCRIPT DEBUG YES/SYNC/NO"))
}

fn script_exists(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let found: Vec<bool> = ctx
        .srv
        .scripting
        .with_vm(|vm| args[2..].iter().map(|s| vm.script_exists(s)).collect());
    ctx.out.array(found.len());
    for f in found {
        ctx.out.int(f as i64);
    }
    Ok(())
}

fn script_flush(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    if args.len() > 3
        || args
            .get(2)
            .is_some_and(|a| !is(a, "sync") && !is(a, "async"))
    {
        return Err(CmdError::err("SCRIPT FLUSH only support SYNC|ASYNC option"));
    }
    ctx.srv.scripting.reset_eval();
    ctx.out.ok();
    Ok(())
}

fn script_load(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let srv = ctx.srv;
    let sha = srv
        .scripting
        .with_vm(|vm| vm.create_script(args[2], false, &srv.scripting.evicted))?;
    ctx.out.bulk(sha.as_bytes());
    Ok(())
}

fn script_show(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let body = ctx
        .srv
        .scripting
        .with_vm(|vm| vm.script_body(args[2]).map(|b| b.to_vec()));
    match body {
        Some(b) => {
            ctx.out.bulk(&b);
            Ok(())
        }
        None => Err(CmdError::msg("NOSCRIPT No matching script.")),
    }
}

/// SCRIPT KILL / FUNCTION KILL: asks the running script to stop. Runs while the
/// script holds the gate (ALLOW_BUSY), so it only sets a flag the script's hook reads.
fn kill(ctx: &mut Ctx, eval: bool) -> CmdResult {
    let run = &ctx.srv.scripting.run;
    if !run.is_running() {
        return Err(CmdError::msg("NOTBUSY No scripts in execution right now."));
    }
    if run.wrote.load(Relaxed) {
        return Err(CmdError::msg("UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command."));
    }
    if eval != run.is_eval() {
        return Err(CmdError::msg(crate::scripting::busy_error(run.is_eval())));
    }
    run.kill.store(true, Relaxed);
    ctx.out.ok();
    Ok(())
}

fn script_kill(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    kill(ctx, true)
}

// ---------------------------------------------------------------- FCALL

fn fcall_generic(ctx: &mut Ctx, args: &[&[u8]], ro: bool) -> CmdResult {
    ctx.srv.feed_monitors(ctx.client, args);
    let name = lossy(args[1]);
    let srv = ctx.srv;
    srv.scripting.with_fvm(|vm| {
        if vm.function_flags(&name).is_none() {
            return Err(CmdError::err("Function not found"));
        }
        let (keys, argv) = split_keys(args, Some("Bad number of keys provided"))?;
        vm.fcall(ctx, &name, keys, argv, ro, args)
    })
}

fn fcall(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    fcall_generic(ctx, args, false)
}

fn fcall_ro(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    fcall_generic(ctx, args, true)
}

// ---------------------------------------------------------------- FUNCTION

fn function_help(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    help(
        ctx.out,
        "FUNCTION",
        &[
            "LOAD [REPLACE] <FUNCTION CODE>",
            "    Create a new library with the given library name and code.",
            "DELETE <LIBRARY NAME>",
            "    Delete the given library.",
            "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
            "    Return general information on all the libraries:",
            "    * Library name",
            "    * The engine used to run the Library",
            "    * Functions list",
            "    * Library code (if WITHCODE is given)",
            "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
            "STATS",
            "    Return information about the current function running:",
            "    * Function name",
            "    * Command used to run the function",
            "    * Duration in MS that the function is running",
            "    If no function is running, return nil",
            "    In addition, returns a list of available engines.",
            "KILL",
            "    Kill the current running function.",
            "FLUSH [ASYNC|SYNC]",
            "    Delete all the libraries.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the libraries.",
            "    * SYNC: Synchronously flush the libraries.",
            "DUMP",
            "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
            "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
            "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
            "    control how to handle existing libraries (default APPEND):",
            "    * FLUSH: delete all existing libraries.",
            "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
            "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
            "      libraries with the new libraries (notice that even on this option there is a chance of failure",
            "      in case of functions name collision with another library).",
        ],
    );
    Ok(())
}

/// The `#!<engine> name=<library>` first line of library code: (engine, name).
fn library_metadata(code: &[u8]) -> Result<(String, String), CmdError> {
    if !code.starts_with(b"#!") {
        return Err(CmdError::err("Missing library metadata"));
    }
    let Some(end) = code.iter().position(|&b| b == b'\n') else {
        return Err(CmdError::err("Invalid library metadata"));
    };
    // split as Valkey's sdssplitargs: name="foo" is the name foo
    let (mut buf, mut spans) = (Vec::new(), Vec::new());
    if !crate::protocol::decode::split_args(&code[..end], &mut buf, &mut spans) {
        return Err(CmdError::err("Invalid library metadata"));
    }
    let owned: Vec<String> = spans
        .iter()
        .map(|&(a, b)| String::from_utf8_lossy(&buf[a..b]).into_owned())
        .collect();
    let parts: Vec<&str> = owned.iter().map(|s| s.as_str()).collect();
    let Some(first) = parts.first() else {
        return Err(CmdError::err("Invalid library metadata"));
    };
    let engine = first[2..].to_string();
    let mut name = None;
    for p in &parts[1..] {
        if p.len() >= 5 && p[..5].eq_ignore_ascii_case("name=") {
            if name.is_some() {
                return Err(CmdError::err(
                    "Invalid metadata value, name argument was given multiple times",
                ));
            }
            name = Some(p[5..].to_string());
            continue;
        }
        return Err(CmdError::err(format!("Invalid metadata value given: {p}")));
    }
    let Some(name) = name else {
        return Err(CmdError::err("Library name was not given"));
    };
    Ok((engine, name))
}

/// Loads library `code` into the interpreter and the library store; returns its name.
fn load_library(ctx: &mut Ctx, code: &[u8], replace: bool) -> Result<String, CmdError> {
    let (engine, name) = library_metadata(code)?;
    if !valid_name(&name) {
        return Err(CmdError::err("Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"));
    }
    if !engine.eq_ignore_ascii_case("lua") {
        return Err(CmdError::err(format!("Engine '{engine}' not found")));
    }
    let srv = ctx.srv;
    if !replace && srv.functions.read().contains_key(&name) {
        return Err(CmdError::err(format!("Library '{name}' already exists")));
    }
    // the first line is kept as an empty line so that line numbers stay right
    let end = code.iter().position(|&b| b == b'\n').unwrap_or(code.len());
    srv.scripting.with_fvm(|vm| {
        let funcs = vm.load_library(&code[end..]).map_err(CmdError::msg)?;
        for (f, _) in &funcs {
            if let Some(lib) = vm.library_of(&f.name) {
                if lib != name {
                    return Err(CmdError::err(format!("Function {} already exists", f.name)));
                }
            }
        }
        let lib = FunctionLib {
            name: name.clone(),
            engine: "LUA".into(),
            code: String::from_utf8_lossy(code).into_owned(),
            functions: funcs
                .iter()
                .map(|(f, _)| crate::server::FunctionDef {
                    name: f.name.clone(),
                    description: f.description.clone(),
                    flags: sflags::names(f.flags)
                        .iter()
                        .map(|s| s.to_string())
                        .collect(),
                })
                .collect(),
        };
        vm.install_library(&name, funcs);
        srv.functions.write().insert(name.clone(), lib);
        Ok(name.clone())
    })
}

fn function_load(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let mut replace = false;
    let mut i = 2;
    while i < args.len() - 1 {
        if is(args[i], "replace") {
            replace = true;
            i += 1;
            continue;
        }
        return Err(CmdError::err(format!(
            "Unknown option given: {}",
            lossy(args[i])
        )));
    }
    if i >= args.len() {
        return Err(CmdError::err("Function code is missing"));
    }
    let name = load_library(ctx, args[i], replace)?;
    ctx.dirty += 1;
    ctx.out.bulk(name.as_bytes());
    Ok(())
}

fn function_flush(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::subcommand_syntax(args));
    }
    if let Some(a) = args.get(2) {
        if !is(a, "sync") && !is(a, "async") {
            return Err(CmdError::err(
                "FUNCTION FLUSH only supports SYNC|ASYNC option",
            ));
        }
    }
    ctx.srv.scripting.with_fvm(|vm| vm.flush_libraries());
    ctx.srv.functions.write().clear();
    ctx.dirty += 1;
    ctx.out.ok();
    Ok(())
}

fn function_delete(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let name = lossy(args[2]);
    if ctx.srv.functions.write().remove(&name).is_none() {
        return Err(CmdError::err("Library not found"));
    }
    ctx.srv.scripting.with_fvm(|vm| vm.remove_library(&name));
    ctx.dirty += 1;
    ctx.out.ok();
    Ok(())
}

fn function_kill(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    kill(ctx, false)
}

fn function_list(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let (mut with_code, mut pattern): (bool, Option<&[u8]>) = (false, None);
    let mut i = 2;
    while i < args.len() {
        if !with_code && is(args[i], "withcode") {
            with_code = true;
        } else if pattern.is_none() && is(args[i], "libraryname") {
            if i + 1 >= args.len() {
                return Err(CmdError::err("library name argument was not given"));
            }
            pattern = Some(args[i + 1]);
            i += 1;
        } else {
            return Err(CmdError::err(format!(
                "Unknown argument {}",
                lossy(args[i])
            )));
        }
        i += 1;
    }
    let libs = ctx.srv.functions.read();
    let picked: Vec<_> = libs
        .values()
        .filter(|l| pattern.is_none_or(|p| glob_match(p, l.name.as_bytes(), false)))
        .collect();
    let out = &mut *ctx.out;
    out.array(picked.len());
    for l in picked {
        out.map(if with_code { 4 } else { 3 });
        out.bulk(b"library_name");
        out.bulk(l.name.as_bytes());
        out.bulk(b"engine");
        out.bulk(l.engine.as_bytes());
        out.bulk(b"functions");
        out.array(l.functions.len());
        for f in &l.functions {
            out.map(3);
            out.bulk(b"name");
            out.bulk(f.name.as_bytes());
            out.bulk(b"description");
            match &f.description {
                Some(d) => out.bulk(d.as_bytes()),
                None => out.null(),
            }
            out.bulk(b"flags");
            out.set(f.flags.len());
            for fl in &f.flags {
                out.bulk(fl.as_bytes());
            }
        }
        if with_code {
            out.bulk(b"library_code");
            out.bulk(l.code.as_bytes());
        }
    }
    Ok(())
}

fn function_stats(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    let run = &ctx.srv.scripting.run;
    let running = run.running_for(ctx.srv.mono_ms());
    if running.is_some() && run.is_eval() {
        return Err(CmdError::msg(crate::scripting::busy_error(true)));
    }
    let libs = ctx.srv.functions.read();
    let nfuncs: usize = libs.values().map(|l| l.functions.len()).sum();
    let out = &mut *ctx.out;
    out.map(2);
    out.bulk(b"running_script");
    match running {
        None => out.null(),
        Some(ms) => {
            let (name, cmd) = run.what();
            out.map(3);
            out.bulk(b"name");
            out.bulk(name.as_bytes());
            out.bulk(b"command");
            out.array(cmd.len());
            for a in &cmd {
                out.bulk(a);
            }
            out.bulk(b"duration_ms");
            out.int(ms);
        }
    }
    out.bulk(b"engines");
    out.map(1);
    out.bulk(b"LUA");
    out.map(2);
    out.bulk(b"libraries_count");
    out.int(libs.len() as i64);
    out.bulk(b"functions_count");
    out.int(nfuncs as i64);
    Ok(())
}

/// RDB opcode that starts each library in a FUNCTION DUMP payload.
const RDB_OPCODE_FUNCTION2: u8 = 245;

fn function_dump(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    let mut w = crate::store::dump::Writer::new(false);
    for l in ctx.srv.functions.read().values() {
        w.byte(RDB_OPCODE_FUNCTION2);
        w.string(l.code.as_bytes());
    }
    ctx.out.bulk(&w.finish());
    Ok(())
}

fn function_restore(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    #[derive(PartialEq)]
    enum Policy {
        Flush,
        Append,
        Replace,
    }
    if args.len() > 4 {
        return Err(CmdError::subcommand_syntax(args));
    }
    let policy = match args.get(3) {
        None => Policy::Append,
        Some(a) if is(a, "flush") => Policy::Flush,
        Some(a) if is(a, "append") => Policy::Append,
        Some(a) if is(a, "replace") => Policy::Replace,
        Some(_) => {
            return Err(CmdError::err(
                "Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
            ))
        }
    };
    let payload = args[2];
    if crate::store::dump::verify(payload, false).is_err() {
        return Err(CmdError::err("DUMP payload version or checksum are wrong"));
    }
    let body = &payload[..payload.len() - 10];
    let mut r = crate::store::dump::Reader::new(body);
    let mut codes = Vec::new();
    while r.remaining() > 0 {
        match r.byte() {
            Ok(RDB_OPCODE_FUNCTION2) => {}
            Ok(_) => return Err(CmdError::err("given type is not a function")),
            Err(_) => return Err(CmdError::err("can not read data type")),
        }
        match r.string() {
            Ok(code) => codes.push(code),
            Err(_) => return Err(CmdError::err("failed loading the given functions payload")),
        }
    }
    // check every library before changing anything
    let mut names = Vec::new();
    for code in &codes {
        let (_, name) = library_metadata(code)?;
        names.push(name);
    }
    if policy == Policy::Append {
        let libs = ctx.srv.functions.read();
        if let Some(n) = names.iter().find(|n| libs.contains_key(n.as_str())) {
            return Err(CmdError::err(format!("Library {n} already exists")));
        }
    }
    let old: Vec<(String, String)> = if policy == Policy::Flush {
        let libs = std::mem::take(&mut *ctx.srv.functions.write());
        ctx.srv.scripting.with_fvm(|vm| vm.flush_libraries());
        libs.into_values().map(|l| (l.name, l.code)).collect()
    } else {
        Vec::new()
    };
    for code in &codes {
        if let Err(e) = load_library(ctx, code, true) {
            // put back what FLUSH removed; what loaded before the failure stays
            for (_, c) in &old {
                let _ = load_library(ctx, c.as_bytes(), true);
            }
            return Err(e);
        }
    }
    ctx.dirty += 1;
    ctx.out.ok();
    Ok(())
}
