//! Server commands: COMMAND, CONFIG, INFO, DBSIZE, FLUSHDB, FLUSHALL, TIME, LASTSAVE,
//! SHUTDOWN, MEMORY, SLOWLOG, MONITOR, LATENCY, DEBUG, ROLE, WAIT, LOLWUT.

use super::flags::*;
use super::spec::container;
use super::{acl, flags, glob_match, int_arg, is, lossy, table, CmdError, CmdResult, Command, Ctx};
use crate::protocol::Reply;
use crate::server::{cflags, Block, Server, VALKEY_VERSION};
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

// one line per declaration keeps the table readable
#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    Command::new("command", -1, LOADING | STALE, command_all)
        .acl(acl::CONNECTION)
        .doc("server", "2.8.13", "Returns detailed information about all commands.", "O(N) where N is the total number of commands")
        .subs(&[
            Command::new("count", 2, LOADING | STALE, command_count)
                .acl(acl::CONNECTION)
                .doc("server", "2.8.13", "Returns a count of commands.", "O(1)"),
            Command::new("info", -2, LOADING | STALE, command_info)
                .acl(acl::CONNECTION)
                .doc("server", "2.8.13", "Returns information about one, multiple or all commands.", "O(N) where N is the number of commands to look up"),
            Command::new("docs", -2, LOADING | STALE, command_docs)
                .acl(acl::CONNECTION)
                .doc("server", "7.0.0", "Returns documentary information about one, multiple or all commands.", "O(N) where N is the number of commands to look up"),
            Command::new("list", -2, LOADING | STALE, command_list)
                .acl(acl::CONNECTION)
                .doc("server", "7.0.0", "Returns a list of command names.", "O(N) where N is the total number of commands"),
            Command::new("getkeys", -3, LOADING | STALE, command_getkeys)
                .acl(acl::CONNECTION)
                .doc("server", "2.8.13", "Extracts the key names from an arbitrary command.", "O(N) where N is the number of arguments to the command"),
            Command::new("getkeysandflags", -3, LOADING | STALE, command_getkeysandflags)
                .acl(acl::CONNECTION)
                .doc("server", "7.0.0", "Extracts the key names and access flags for an arbitrary command.", "O(N) where N is the number of arguments to the command"),
            Command::new("help", 2, LOADING | STALE, command_help)
                .acl(acl::CONNECTION)
                .doc("server", "5.0.0", "Returns helpful text about the different subcommands.", "O(1)"),
        ]),
    Command::new("config", -2, 0, container)
        .doc("server", "2.0.0", "A container for server configuration commands.", "Depends on subcommand.")
        .subs(&[
            Command::new("get", -3, ADMIN | NOSCRIPT | LOADING | STALE, config_get)
                .doc("server", "2.0.0", "Returns the effective values of configuration parameters.", "O(N) when N is the number of configuration parameters provided"),
            Command::new("set", -4, ADMIN | NOSCRIPT | LOADING | STALE, config_set)
                .doc("server", "2.0.0", "Sets configuration parameters in-flight.", "O(N) when N is the number of configuration parameters provided"),
            Command::new("resetstat", 2, ADMIN | NOSCRIPT | LOADING | STALE, config_resetstat)
                .doc("server", "2.0.0", "Resets the server's statistics.", "O(1)"),
            Command::new("rewrite", 2, ADMIN | NOSCRIPT | LOADING | STALE, config_rewrite)
                .doc("server", "2.8.0", "Persists the effective configuration to file.", "O(1)"),
            Command::new("help", 2, LOADING | STALE, config_help)
                .doc("server", "5.0.0", "Returns helpful text about the different subcommands.", "O(1)"),
        ]),
    Command::new("dbsize", 1, READONLY | FAST, dbsize)
        .acl(acl::KEYSPACE)
        .doc("server", "1.0.0", "Returns the number of keys in the database.", "O(1)"),
    Command::new("flushdb", -1, WRITE, flushdb)
        .acl(acl::KEYSPACE | acl::DANGEROUS)
        .doc("server", "1.0.0", "Removes all keys from the current database.", "O(N) where N is the number of keys in the selected database"),
    Command::new("flushall", -1, WRITE, flushall)
        .acl(acl::KEYSPACE | acl::DANGEROUS)
        .doc("server", "1.0.0", "Removes all keys from all databases.", "O(N) where N is the total number of keys in all databases"),
    Command::new("info", -1, LOADING | STALE, info)
        .acl(acl::DANGEROUS)
        .doc("server", "1.0.0", "Returns information and statistics about the server.", "O(1)"),
    Command::new("time", 1, LOADING | STALE | FAST, time)
        .doc("server", "2.6.0", "Returns the server time.", "O(1)"),
    Command::new("lastsave", 1, LOADING | STALE | FAST, lastsave)
        .acl(acl::ADMIN | acl::DANGEROUS)
        .doc("server", "1.0.0", "Returns the Unix timestamp of the last successful save to disk.", "O(1)"),
    Command::new("shutdown", -1, ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY, shutdown)
        .doc("server", "1.0.0", "Synchronously saves the database(s) to disk and shuts down the server.", "O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)"),
    Command::new("memory", -2, 0, container)
        .doc("server", "4.0.0", "A container for memory diagnostics commands.", "Depends on subcommand.")
        .subs(&[
            Command::new("doctor", 2, 0, memory_doctor)
                .doc("server", "4.0.0", "Outputs a memory problems report.", "O(1)"),
            Command::new("help", 2, LOADING | STALE, memory_help)
                .doc("server", "4.0.0", "Returns helpful text about the different subcommands.", "O(1)"),
            Command::new("malloc-stats", 2, 0, memory_malloc_stats)
                .doc("server", "4.0.0", "Returns the allocator statistics.", "Depends on how much memory is allocated, could be slow"),
            Command::new("purge", 2, 0, memory_purge)
                .doc("server", "4.0.0", "Asks the allocator to release memory.", "Depends on how much memory is allocated, could be slow"),
            Command::new("stats", 2, 0, memory_stats)
                .doc("server", "4.0.0", "Returns details about memory usage.", "O(1)"),
            Command::new("usage", -3, READONLY, memory_usage)
                .keys(2, 2, 1)
                .doc("server", "4.0.0", "Estimates the memory usage of a key.", "O(N) where N is the number of samples."),
        ]),
    Command::new("slowlog", -2, 0, container)
        .doc("server", "2.2.12", "A container for slow log commands.", "Depends on subcommand.")
        .subs(&[
            Command::new("get", -2, ADMIN | LOADING | STALE, slowlog_get)
                .doc("server", "2.2.12", "Returns the slow log's entries.", "O(N) where N is the number of entries returned"),
            Command::new("help", 2, LOADING | STALE, slowlog_help)
                .doc("server", "6.2.0", "Show helpful text about the different subcommands", "O(1)"),
            Command::new("len", 2, ADMIN | LOADING | STALE, slowlog_len)
                .doc("server", "2.2.12", "Returns the number of entries in the slow log.", "O(1)"),
            Command::new("reset", 2, ADMIN | LOADING | STALE, slowlog_reset)
                .doc("server", "2.2.12", "Clears all entries from the slow log.", "O(N) where N is the number of entries in the slowlog"),
        ]),
    Command::new("commandlog", -2, 0, container)
        .doc("server", "8.1.0", "A container for command log commands.", "Depends on subcommand.")
        .subs(&[
            Command::new("get", 4, ADMIN | LOADING | STALE, commandlog_get)
                .doc("server", "8.1.0", "Returns the specified command log's entries.", "O(N) where N is the number of entries returned"),
            Command::new("help", 2, LOADING | STALE, commandlog_help)
                .doc("server", "8.1.0", "Show helpful text about the different subcommands", "O(1)"),
            Command::new("len", 3, ADMIN | LOADING | STALE, commandlog_len)
                .doc("server", "8.1.0", "Returns the number of entries in the specified type of command log.", "O(1)"),
            Command::new("reset", 3, ADMIN | LOADING | STALE, commandlog_reset)
                .doc("server", "8.1.0", "Clears all entries from the specified type of command log.", "O(N) where N is the number of entries in the commandlog"),
        ]),
    Command::new("monitor", 1, ADMIN | NOSCRIPT | LOADING | STALE, monitor)
        .doc("server", "1.0.0", "Listens for all requests received by the server in real-time.", ""),
    Command::new("latency", -2, 0, container)
        .doc("server", "2.8.13", "A container for latency diagnostics commands.", "Depends on subcommand.")
        .subs(&[
            Command::new("doctor", 2, ADMIN | NOSCRIPT | LOADING | STALE, latency_doctor)
                .doc("server", "2.8.13", "Returns a human-readable latency analysis report.", "O(1)"),
            Command::new("graph", 3, ADMIN | NOSCRIPT | LOADING | STALE, latency_graph)
                .doc("server", "2.8.13", "Returns a latency graph for an event.", "O(1)"),
            Command::new("help", 2, LOADING | STALE, latency_help)
                .doc("server", "2.8.13", "Returns helpful text about the different subcommands.", "O(1)"),
            Command::new("histogram", -2, ADMIN | NOSCRIPT | LOADING | STALE, latency_histogram)
                .doc("server", "7.0.0", "Returns the cumulative distribution of latencies of a subset or all commands.", "O(N) where N is the number of commands with latency information being retrieved."),
            Command::new("history", 3, ADMIN | NOSCRIPT | LOADING | STALE, latency_history)
                .doc("server", "2.8.13", "Returns timestamp-latency samples for an event.", "O(1)"),
            Command::new("latest", 2, ADMIN | NOSCRIPT | LOADING | STALE, latency_latest)
                .doc("server", "2.8.13", "Returns the latest latency samples for all events.", "O(1)"),
            Command::new("reset", -2, ADMIN | NOSCRIPT | LOADING | STALE, latency_reset)
                .doc("server", "2.8.13", "Resets the latency data for one or more events.", "O(1)"),
        ]),
    Command::new("debug", -2, ADMIN | NOSCRIPT | LOADING | STALE, debug)
        .doc("server", "1.0.0", "A container for debugging commands.", "Depends on subcommand."),
    Command::new("role", 1, NOSCRIPT | LOADING | STALE | FAST, role)
        .acl(acl::ADMIN | acl::DANGEROUS)
        .doc("server", "2.8.12", "Returns the replication role.", "O(1)"),
    Command::new("wait", 3, BLOCKING, wait)
        .acl(acl::CONNECTION)
        .doc("generic", "3.0.0", "Blocks until the asynchronous replication of all preceding write commands sent by the connection is completed.", "O(1)"),
    Command::new("lolwut", -1, READONLY | FAST, lolwut)
        .doc("server", "5.0.0", "Displays computer art and the server version", ""),
    Command::new("module", -2, 0, container)
        .doc("server", "4.0.0", "A container for module commands.", "Depends on subcommand.")
        .subs(&[
            Command::new("help", 2, LOADING | STALE, module_help)
                .doc("server", "5.0.0", "Returns helpful text about the different subcommands.", "O(1)"),
            Command::new("list", 2, ADMIN | NOSCRIPT, module_list)
                .doc("server", "4.0.0", "Returns all loaded modules.", "O(N) where N is the number of loaded modules."),
            Command::new("load", -3, ADMIN | NOSCRIPT, module_load)
                .doc("server", "4.0.0", "Loads a module.", "O(1)"),
            Command::new("loadex", -3, ADMIN | NOSCRIPT, module_load)
                .doc("server", "7.0.0", "Loads a module using extended parameters.", "O(1)"),
            Command::new("unload", 3, ADMIN | NOSCRIPT, module_unload)
                .doc("server", "4.0.0", "Unloads a module.", "O(1)"),
        ]),
];

/// Writes lines as Valkey's `addReplyHelp`: a header naming the command, then the lines.
pub fn help(out: &mut Reply, cmd: &str, lines: &[&str]) {
    out.array(lines.len() + 3);
    out.simple(&format!(
        "{cmd} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    ));
    for l in lines {
        out.simple(l);
    }
    out.simple("HELP");
    out.simple("    Print this help.");
}

// ---------------------------------------------------------------- COMMAND

fn flag_names(c: &Command) -> Vec<&'static str> {
    flags::NAMES
        .iter()
        .filter(|(f, _)| c.flags & f != 0)
        .map(|(_, n)| *n)
        .collect()
}

fn acl_names(c: &Command) -> Vec<String> {
    let cats = c.acl_categories();
    acl::NAMES
        .iter()
        .filter(|(f, _)| cats & f != 0)
        .map(|(_, n)| format!("@{n}"))
        .collect()
}

/// One key specification: access flags, where the search begins, and how keys are
/// found from there (`find` writes the find_keys type and spec).
fn key_spec(out: &mut Reply, c: &Command, begin: i64, find: impl FnOnce(&mut Reply)) {
    out.map(3);
    out.bulk(b"flags");
    let kf: &[&str] = if c.is_write() {
        &["RW", "update"]
    } else {
        &["RO", "access"]
    };
    out.set(kf.len());
    for k in kf {
        out.simple(k);
    }
    out.bulk(b"begin_search");
    out.map(2);
    out.bulk(b"type");
    out.bulk(b"index");
    out.bulk(b"spec");
    out.map(1);
    out.bulk(b"index");
    out.int(begin);
    out.bulk(b"find_keys");
    out.map(2);
    out.bulk(b"type");
    find(out);
}

fn reply_command_info(out: &mut Reply, c: &'static Command) {
    out.array(10);
    out.bulk(table::full_name(c).as_bytes());
    out.int(c.arity as i64);
    let f = flag_names(c);
    out.set(f.len());
    for n in f {
        out.simple(n);
    }
    out.int(c.first_key as i64);
    out.int(c.last_key as i64);
    out.int(c.key_step as i64);
    let a = acl_names(c);
    out.set(a.len());
    for n in &a {
        out.simple(n);
    }
    out.array(0); // tips
    let specs = (c.first_key > 0) as usize + (c.numkeys_at > 0) as usize;
    out.array(specs);
    if c.first_key > 0 {
        let last = if c.last_key < 0 {
            c.last_key as i64
        } else {
            (c.last_key - c.first_key) as i64
        };
        key_spec(out, c, c.first_key as i64, |out| {
            out.bulk(b"range");
            out.bulk(b"spec");
            out.map(3);
            out.bulk(b"lastkey");
            out.int(last);
            out.bulk(b"keystep");
            out.int(c.key_step as i64);
            out.bulk(b"limit");
            out.int(0);
        });
    }
    if c.numkeys_at > 0 {
        key_spec(out, c, c.numkeys_at as i64, |out| {
            out.bulk(b"keynum");
            out.bulk(b"spec");
            out.map(3);
            out.bulk(b"keynumidx");
            out.int(0);
            out.bulk(b"firstkey");
            out.int(1);
            out.bulk(b"keystep");
            out.int(1);
        });
    }
    out.array(c.subcommands.len());
    for s in c.subcommands {
        reply_command_info(out, s);
    }
}

fn command_all(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    let cmds = table::listed();
    ctx.out.array(cmds.len());
    for c in cmds {
        reply_command_info(ctx.out, c);
    }
    Ok(())
}

fn command_count(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    ctx.out.int(table::listed().len() as i64);
    Ok(())
}

/// Finds "get" or "config|get".
fn find_full(name: &[u8]) -> Option<&'static Command> {
    let s = String::from_utf8_lossy(name).to_ascii_lowercase();
    match s.split_once('|') {
        None => table::lookup(name),
        Some((p, sub)) => table::lookup(p.as_bytes())?
            .subcommands
            .iter()
            .find(|c| c.name == sub),
    }
}

fn command_info(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    if args.len() == 2 {
        return command_all(ctx, args);
    }
    ctx.out.array(args.len() - 2);
    for name in &args[2..] {
        match find_full(name) {
            Some(c) => reply_command_info(ctx.out, c),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

fn reply_docs(out: &mut Reply, c: &'static Command) {
    let n = 4 + (!c.subcommands.is_empty()) as usize;
    out.map(n);
    out.bulk(b"summary");
    out.bulk(c.summary.as_bytes());
    out.bulk(b"since");
    out.bulk(c.since.as_bytes());
    out.bulk(b"group");
    out.bulk(c.group.as_bytes());
    out.bulk(b"complexity");
    out.bulk(c.complexity.as_bytes());
    if !c.subcommands.is_empty() {
        out.bulk(b"subcommands");
        out.map(c.subcommands.len());
        for s in c.subcommands {
            out.bulk(table::full_name(s).as_bytes());
            reply_docs(out, s);
        }
    }
}

fn command_docs(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let found: Vec<&'static Command> = if args.len() == 2 {
        table::listed().to_vec()
    } else {
        args[2..].iter().filter_map(|n| find_full(n)).collect()
    };
    ctx.out.map(found.len());
    for c in found {
        ctx.out.bulk(table::full_name(c).as_bytes());
        reply_docs(ctx.out, c);
    }
    Ok(())
}

fn command_list(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let mut names: Vec<String> = Vec::new();
    for c in table::listed() {
        names.push(c.name.to_string());
        for s in c.subcommands {
            names.push(table::full_name(s));
        }
    }
    if args.len() > 2 {
        if args.len() != 5 || !is(args[2], "filterby") {
            return Err(CmdError::Syntax);
        }
        let v = args[4];
        if is(args[3], "pattern") {
            names.retain(|n| glob_match(v, n.as_bytes(), true));
        } else if is(args[3], "aclcat") {
            let Some((bit, _)) = acl::NAMES
                .iter()
                .find(|(_, n)| n.as_bytes().eq_ignore_ascii_case(v))
            else {
                names.clear();
                return reply_names(ctx, &names);
            };
            // by their own names: a renamed command is listed under its own name
            names.retain(|n| {
                let (top, sub) = n.split_once('|').unwrap_or((n, ""));
                table::lookup_original(top.as_bytes())
                    .and_then(|c| match sub {
                        "" => Some(c),
                        _ => c.subcommands.iter().find(|s| s.name == sub),
                    })
                    .is_some_and(|c| c.acl_categories() & bit != 0)
            });
        } else if is(args[3], "module") {
            names.clear();
        } else {
            return Err(CmdError::Syntax);
        }
    }
    reply_names(ctx, &names)
}

fn reply_names(ctx: &mut Ctx, names: &[String]) -> CmdResult {
    ctx.out.array(names.len());
    for n in names {
        ctx.out.bulk(n.as_bytes());
    }
    Ok(())
}

/// Key positions of a full command line per the table.
fn getkeys_of(args: &[&[u8]]) -> Result<(&'static Command, Vec<usize>), CmdError> {
    let mut cmd =
        table::lookup(args[0]).ok_or_else(|| CmdError::err("Invalid command specified"))?;
    if !cmd.subcommands.is_empty() {
        if let Some(s) = args.get(1).and_then(|s| {
            cmd.subcommands
                .iter()
                .find(|c| c.name.as_bytes().eq_ignore_ascii_case(s))
        }) {
            cmd = s;
        }
    }
    let argc = args.len() as i32;
    if (cmd.arity > 0 && cmd.arity != argc) || argc < -cmd.arity {
        return Err(CmdError::err(
            "Invalid number of arguments specified for command",
        ));
    }
    let keys = super::keys_of(cmd, args);
    // EVAL "..." 0 names no key, and may not (Valkey answers an empty list)
    if keys.is_empty() && !cmd.has(flags::NO_MANDATORY_KEYS) {
        return Err(CmdError::err("The command has no key arguments"));
    }
    Ok((cmd, keys))
}

fn command_getkeys(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let line = &args[2..];
    let (_, keys) = getkeys_of(line)?;
    ctx.out.array(keys.len());
    for k in keys {
        ctx.out.bulk(line[k]);
    }
    Ok(())
}

fn command_getkeysandflags(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let line = &args[2..];
    let (cmd, keys) = getkeys_of(line)?;
    ctx.out.array(keys.len());
    for k in keys {
        ctx.out.array(2);
        ctx.out.bulk(line[k]);
        let kf: &[&str] = if cmd.is_write() {
            &["RW", "update"]
        } else {
            &["RO", "access"]
        };
        ctx.out.set(kf.len());
        for f in kf {
            ctx.out.simple(f);
        }
    }
    Ok(())
}

fn command_help(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    help(
        ctx.out,
        "COMMAND",
        &[
            "(no subcommand)",
            "    Return details about all commands.",
            "COUNT",
            "    Return the total number of commands in this server.",
            "LIST",
            "    Return a list of all commands in this server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple commands.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple commands.",
            "GETKEYS <full-command>",
            "    Return the keys from a full command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full command.",
        ],
    );
    Ok(())
}

// ---------------------------------------------------------------- CONFIG

fn config_get(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let pairs = ctx.srv.config.matching(&args[2..]);
    ctx.out.map(pairs.len());
    for (k, v) in pairs {
        ctx.out.bulk(k.as_bytes());
        ctx.out.bulk(v.as_bytes());
    }
    Ok(())
}

fn config_set(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    if !(args.len() - 2).is_multiple_of(2) {
        return Err(CmdError::err(format!(
            "Unknown option or number of arguments for CONFIG SET - '{}'",
            String::from_utf8_lossy(args[args.len() - 1])
        )));
    }
    let owned: Vec<(String, String)> = args[2..]
        .chunks(2)
        .map(|p| {
            (
                String::from_utf8_lossy(p[0]).into_owned(),
                String::from_utf8_lossy(p[1]).into_owned(),
            )
        })
        .collect();
    let pairs: Vec<(&str, &str)> = owned
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    ctx.srv
        .config
        .set_many(&pairs, false)
        .map_err(CmdError::err)?;
    let threshold = ctx.srv.config.get_i64("latency-monitor-threshold");
    ctx.srv.admin.latency_threshold.store(threshold, Relaxed);
    // appendonly / appendfsync take effect at once
    crate::persistence::config_changed(ctx.srv).map_err(CmdError::err)?;
    ctx.out.ok();
    Ok(())
}

/// Statistics only: the slow log and latency events survive, as in Valkey.
fn config_resetstat(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    ctx.srv.stats.reset();
    ctx.srv.admin.reset_stats();
    ctx.srv.keyspace.reset_stats();
    ctx.srv.pubsub.obuf_disconnections.store(0, Relaxed);
    ctx.srv.scripting.evicted.store(0, Relaxed);
    ctx.out.ok();
    Ok(())
}

fn config_rewrite(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    let Some(path) = ctx.srv.config_file.clone() else {
        return Err(CmdError::err("The server is running without a config file"));
    };
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    let text = crate::config::rewrite(
        &old,
        &ctx.srv.config.non_defaults(),
        &ctx.srv.config.all_values(),
    );
    let tmp = path.with_extension("tmp-rewrite");
    std::fs::write(&tmp, text)
        .and_then(|_| std::fs::rename(&tmp, &path))
        .map_err(|e| CmdError::err(format!("Rewriting config file: {e}")))?;
    ctx.out.ok();
    Ok(())
}

fn config_help(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    help(
        ctx.out,
        "CONFIG",
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ],
    );
    Ok(())
}

// ---------------------------------------------------------------- keyspace-wide

fn dbsize(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    let n = ctx.db().len();
    ctx.out.int(n as i64);
    Ok(())
}

/// FLUSHDB/FLUSHALL [ASYNC|SYNC]: true when the freeing may happen in the background.
fn flush_mode(ctx: &Ctx, args: &[&[u8]]) -> Result<bool, CmdError> {
    match args.len() {
        1 => Ok(ctx.srv.config.get_bool("lazyfree-lazy-user-flush")),
        2 if is(args[1], "async") => Ok(true),
        2 if is(args[1], "sync") => Ok(false),
        _ => Err(CmdError::Syntax),
    }
}

fn free_tables(tables: Vec<crate::store::Table>, background: bool) {
    if background {
        std::thread::spawn(move || drop(tables));
    } else {
        drop(tables);
    }
}

fn flushdb(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let bg = flush_mode(ctx, args)?;
    let db = ctx.db();
    let n = db.len() as u64;
    super::transactions::touch_flushed(ctx.srv, ctx.client.db, ctx.now);
    free_tables(db.flush(), bg);
    ctx.dirty += n.max(1);
    ctx.out.ok();
    Ok(())
}

fn flushall(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let bg = flush_mode(ctx, args)?;
    let mut n = 0;
    for (i, db) in ctx.srv.keyspace.dbs().iter().enumerate() {
        n += db.len() as u64;
        super::transactions::touch_flushed(ctx.srv, i, ctx.now);
        free_tables(db.flush(), bg);
    }
    ctx.dirty += n.max(1);
    ctx.out.ok();
    Ok(())
}

// ---------------------------------------------------------------- INFO, TIME, LASTSAVE, ROLE

fn info(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let text = super::info::render(ctx.srv, &args[1..]);
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

fn time(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    ctx.out.array(2);
    ctx.out.bulk_int(now.as_secs() as i64);
    ctx.out.bulk_int(now.subsec_micros() as i64);
    Ok(())
}

fn lastsave(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    ctx.out.int(ctx.srv.lastsave.load(Relaxed));
    Ok(())
}

fn role(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    ctx.out.array(3);
    ctx.out.bulk(b"master");
    ctx.out.int(0);
    ctx.out.array(0);
    Ok(())
}

/// Valkey's `getTimeoutFromObjectOrReply` for millisecond timeouts: the timeout as a
/// duration (0 = none).
pub fn timeout_ms_arg(a: &[u8]) -> Result<i64, CmdError> {
    let t = super::parse_i64(a)
        .ok_or_else(|| CmdError::err("timeout is not an integer or out of range"))?;
    if t < 0 {
        return Err(CmdError::err("timeout is negative"));
    }
    if t > 0 && t > i64::MAX - crate::store::now_ms() {
        return Err(CmdError::err("timeout is out of range"));
    }
    Ok(t)
}

/// WAIT numreplicas timeout. There are no replicas, so it answers 0 at once when no
/// acknowledgement is asked for, and otherwise after the timeout (or never, for 0), as a
/// primary without replicas does; CLIENT UNBLOCK releases it early.
fn wait(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let wanted = int_arg(args[1])?;
    let timeout = timeout_ms_arg(args[2])?;
    let at = ctx.out.len();
    ctx.out.int(0);
    // inside a transaction nothing may block: the count is returned as is
    if wanted > 0 && !ctx.client.nested() {
        ctx.client.block = Some(Block {
            timeout: (timeout > 0).then(|| Duration::from_millis(timeout as u64)),
            reply_at: at,
            blocked: true,
            waiter: None,
        });
    }
    Ok(())
}

fn lolwut(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    if args.len() >= 3 && is(args[1], "version") {
        int_arg(args[2])?;
    }
    ctx.out
        .verbatim(format!("Redis ver. {VALKEY_VERSION}\n").as_bytes());
    Ok(())
}

// ---------------------------------------------------------------- SHUTDOWN

fn shutdown(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let (mut nosave, mut save, mut abort, mut other) = (false, false, false, false);
    for a in &args[1..] {
        if is(a, "nosave") {
            nosave = true;
        } else if is(a, "save") {
            save = true;
        } else if is(a, "now") || is(a, "force") {
            other = true;
        } else if is(a, "abort") {
            abort = true;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if (abort && (nosave || save || other)) || (nosave && save) {
        return Err(CmdError::Syntax);
    }
    if abort {
        // shutdown is immediate here (no replicas to wait for), so none is ever pending
        return Err(CmdError::err("No shutdown in progress."));
    }
    // Persistence hook: with SAVE (or save points configured and no NOSAVE) the dataset
    // is to be written here before exiting; on failure reply
    // "ERR Errors trying to SHUTDOWN. Check logs." and stay up.
    tracing::warn!(client = ctx.client.id, addr = %ctx.client.info.addr, "User requested shutdown...");
    request_shutdown(ctx.srv);
    // the connection is closed without a reply, as Valkey's exiting process does
    ctx.client.close_after_reply = true;
    Ok(())
}

/// Asks the listener and the cron to stop; `main` then exits the process.
pub fn request_shutdown(srv: &Server) {
    srv.shutting_down.store(true, Relaxed);
    srv.shutdown.notify_waiters();
}

// ---------------------------------------------------------------- MEMORY

fn memory_help(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    help(
        ctx.out,
        "MEMORY",
        &[
            "DOCTOR",
            "    Return memory problems reports.",
            "MALLOC-STATS",
            "    Return internal statistics report from the memory allocator.",
            "PURGE",
            "    Attempt to purge dirty pages for reclamation by the allocator.",
            "STATS",
            "    Return information about the memory usage of the server.",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
        ],
    );
    Ok(())
}

fn memory_usage(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let mut i = 3;
    while i < args.len() {
        if is(args[i], "samples") && i + 1 < args.len() {
            if int_arg(args[i + 1])? < 0 {
                return Err(CmdError::Syntax);
            }
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    // Like Valkey's dbFind: the entry as stored, even if logically expired. Every
    // element is counted, so the sample count never changes the answer.
    let usage = ctx.db().lock(args[2]).peek(args[2]).map(|n| n.mem_usage());
    match usage {
        Some(n) => ctx.out.int(n as i64),
        None => ctx.out.null(),
    }
    Ok(())
}

fn memory_stats(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    let r = super::info::memory_report(ctx.srv);
    let dbs: Vec<(usize, usize, usize)> = ctx
        .srv
        .keyspace
        .dbs()
        .iter()
        .enumerate()
        .filter_map(|(i, d)| {
            let (k, v) = d.counts();
            (k > 0 || v > 0).then_some((i, k, v))
        })
        .collect();
    let out = &mut *ctx.out;
    let int = |out: &mut Reply, k: &str, v: i64| {
        out.bulk(k.as_bytes());
        out.int(v);
    };
    let dbl = |out: &mut Reply, k: &str, v: f64| {
        out.bulk(k.as_bytes());
        out.double(v);
    };
    out.map(31 + dbs.len());
    int(out, "peak.allocated", r.peak as i64);
    int(out, "total.allocated", r.mem.allocated as i64);
    int(out, "startup.allocated", r.startup as i64);
    int(out, "replication.backlog", 0);
    int(out, "clients.slaves", 0);
    int(out, "clients.normal", r.clients_normal as i64);
    int(out, "cluster.links", 0);
    int(out, "aof.buffer", 0);
    int(out, "lua.caches", 0);
    int(out, "functions.caches", 0);
    let per_key = std::mem::size_of::<usize>() as i64;
    for (i, k, v) in &dbs {
        out.bulk(format!("db.{i}").as_bytes());
        out.map(2);
        int(out, "overhead.hashtable.main", *k as i64 * per_key);
        int(out, "overhead.hashtable.expires", *v as i64 * per_key);
    }
    int(out, "overhead.db.hashtable.lut", 0);
    int(out, "overhead.db.hashtable.rehashing", 0);
    int(out, "overhead.total", r.overhead_total as i64);
    int(out, "db.dict.rehashing.count", 0);
    int(out, "keys.count", r.keys as i64);
    int(
        out,
        "keys.bytes-per-key",
        r.dataset.checked_div(r.keys).unwrap_or(0) as i64,
    );
    int(out, "dataset.bytes", r.dataset as i64);
    dbl(out, "dataset.percentage", r.dataset_perc);
    dbl(out, "peak.percentage", r.peak_perc);
    int(out, "allocator.allocated", r.mem.allocated as i64);
    int(out, "allocator.active", r.mem.allocated as i64);
    int(
        out,
        "allocator.resident",
        r.mem.rss.max(r.mem.allocated) as i64,
    );
    int(out, "allocator.muzzy", 0);
    dbl(out, "allocator-fragmentation.ratio", 1.0);
    int(out, "allocator-fragmentation.bytes", 0);
    let resident = r.mem.rss.max(r.mem.allocated);
    let rss_ratio = if r.mem.allocated > 0 {
        resident as f64 / r.mem.allocated as f64
    } else {
        0.0
    };
    dbl(out, "allocator-rss.ratio", rss_ratio);
    int(
        out,
        "allocator-rss.bytes",
        (resident - r.mem.allocated) as i64,
    );
    dbl(out, "rss-overhead.ratio", 1.0);
    int(out, "rss-overhead.bytes", 0);
    dbl(out, "fragmentation", r.frag);
    int(out, "fragmentation.bytes", r.frag_bytes);
    Ok(())
}

fn memory_doctor(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    let r = super::info::memory_report(ctx.srv);
    // "Little memory" is judged past what the process holds at startup, which for
    // this allocator is already above Valkey's 5 MB mark
    let text = if r.mem.allocated.saturating_sub(r.startup) < 5 * 1024 * 1024 {
        "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n".to_string()
    } else {
        let mut issues = Vec::new();
        if r.peak as f64 / r.mem.allocated as f64 > 1.5 {
            issues.push(" * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Valkey instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Valkey instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.\n\n".to_string());
        }
        if r.frag > 1.4 && r.frag_bytes > 10 << 20 {
            issues.push(" * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 (this means that the Resident Set Size of the Valkey process is much larger than the sum of the logical allocations Valkey performed). This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. If the problem is a large peak memory, then there is no issue. Otherwise, make sure you are using the Jemalloc allocator and not the default libc malloc. Note: The currently used allocator is \"mimalloc\".\n\n".to_string());
        }
        let clients = ctx.srv.clients.len().max(1) as u64;
        if r.clients_normal / clients > 200 * 1024 {
            issues.push(" * Big client buffers: The clients output buffers in this instance are greater than 200K per client (on average). This may result from different causes, like Pub/Sub clients subscribed to channels bot not receiving data fast enough, so that data piles on the Valkey instance output buffer, or clients sending commands with large replies or very large sequences of commands in the same pipeline. Please use the CLIENT LIST command in order to investigate the issue if it causes problems in your instance, or to understand better why certain clients are using a big amount of memory.\n\n".to_string());
        }
        if issues.is_empty() {
            "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n".to_string()
        } else {
            let mut s = String::from(
                "Sam, I detected a few issues in this Valkey instance memory implants:\n\n",
            );
            for i in issues {
                s.push_str(&i);
            }
            s.push_str("I'm here to keep you safe, Sam. I want to help you.\n");
            s
        }
    };
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

fn memory_malloc_stats(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    // what Valkey answers when not built with jemalloc
    ctx.out
        .bulk(b"Stats not supported for the current allocator");
    Ok(())
}

fn memory_purge(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    super::info::purge_allocator();
    ctx.out.ok();
    Ok(())
}

// ---------------------------------------------------------------- SLOWLOG

fn slowlog_help(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    help(
        ctx.out,
        "SLOWLOG",
        &[
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
        ],
    );
    Ok(())
}

fn slowlog_get(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::subcommand_syntax(args));
    }
    log_get(ctx, crate::server::LOG_SLOW, args.get(2).copied())
}

/// The entries of one command log, newest first: `count` of them (default 10, -1 all).
fn log_get(ctx: &mut Ctx, kind: usize, count: Option<&[u8]>) -> CmdResult {
    let log = ctx.srv.commandlog[kind].lock();
    let mut n = 10usize;
    if let Some(a) = count {
        match super::parse_i64(a) {
            Some(-1) => n = log.len(),
            Some(c) if c >= 0 => n = c as usize,
            _ => return Err(CmdError::err("count should be greater than or equal to -1")),
        }
    }
    let n = n.min(log.len());
    let out = &mut *ctx.out;
    out.array(n);
    for e in log.iter().take(n) {
        out.array(6);
        out.int(e.id as i64);
        out.int(e.time);
        out.int(e.micros as i64);
        out.array(e.args.len());
        for a in &e.args {
            out.bulk(a);
        }
        out.bulk(e.addr.as_bytes());
        out.bulk(e.name.as_bytes());
    }
    Ok(())
}

fn slowlog_len(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    let n = ctx.srv.commandlog[crate::server::LOG_SLOW].lock().len();
    ctx.out.int(n as i64);
    Ok(())
}

fn slowlog_reset(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    ctx.srv.commandlog[crate::server::LOG_SLOW].lock().clear();
    ctx.out.ok();
    Ok(())
}

// ---------------------------------------------------------------- COMMANDLOG

fn log_kind(a: &[u8]) -> Result<usize, CmdError> {
    if is(a, "slow") {
        Ok(crate::server::LOG_SLOW)
    } else if is(a, "large-request") {
        Ok(crate::server::LOG_LARGE_REQUEST)
    } else if is(a, "large-reply") {
        Ok(crate::server::LOG_LARGE_REPLY)
    } else {
        Err(CmdError::err(
            "type should be one of the following: slow, large-request, large-reply",
        ))
    }
}

fn commandlog_help(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    help(
        ctx.out,
        "COMMANDLOG",
        &[
            "GET <count> <type>",
            "    Return top <count> entries of the specified <type> from the commandlog (-1 mean all).",
            "    Entries are made of:",
            "    id, timestamp,",
            "        time in microseconds for type of slow,",
            "        or size in bytes for type of large-request,",
            "        or size in bytes for type of large-reply",
            "    arguments array, client IP and port,",
            "    client name",
            "LEN <type>",
            "    Return the length of the specified type of commandlog.",
            "RESET <type>",
            "    Reset the specified type of commandlog.",
        ],
    );
    Ok(())
}

fn commandlog_get(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let kind = log_kind(args[3])?;
    log_get(ctx, kind, Some(args[2]))
}

fn commandlog_len(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let kind = log_kind(args[2])?;
    let n = ctx.srv.commandlog[kind].lock().len();
    ctx.out.int(n as i64);
    Ok(())
}

fn commandlog_reset(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let kind = log_kind(args[2])?;
    ctx.srv.commandlog[kind].lock().clear();
    ctx.out.ok();
    Ok(())
}

// ---------------------------------------------------------------- MONITOR

fn monitor(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    if ctx.client.info.has_flag(cflags::MULTI) {
        return Err(CmdError::err(
            "MONITOR isn't allowed for DENY BLOCKING client",
        ));
    }
    // a second MONITOR is ignored without a reply, as in Valkey
    if ctx.client.info.has_flag(cflags::MONITOR) {
        return Ok(());
    }
    ctx.srv.add_monitor(ctx.client.info.clone());
    ctx.out.ok();
    Ok(())
}

// ---------------------------------------------------------------- LATENCY

fn latency_help(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    help(
        ctx.out,
        "LATENCY",
        &[
            "DOCTOR",
            "    Return a human readable latency analysis report.",
            "GRAPH <event>",
            "    Return an ASCII latency graph for the <event> class.",
            "HISTORY <event>",
            "    Return time-latency samples for the <event> class.",
            "LATEST",
            "    Return the latest latency samples for all events.",
            "RESET [<event> ...]",
            "    Reset latency data of one or more <event> classes.",
            "    (default: reset all data for all event classes)",
            "HISTOGRAM [COMMAND ...]",
            "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
            "    If no commands are specified then all histograms are replied.",
        ],
    );
    Ok(())
}

fn latency_latest(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    let ev = ctx.srv.admin.latency.lock();
    ctx.out.array(ev.len());
    for (name, s) in ev.iter() {
        let (t, ms) = s.samples.back().copied().unwrap_or((0, 0));
        ctx.out.array(6);
        ctx.out.bulk(name.as_bytes());
        ctx.out.int(t);
        ctx.out.int(ms as i64);
        ctx.out.int(s.max as i64);
        ctx.out.int(s.sum as i64);
        ctx.out.int(s.count as i64);
    }
    Ok(())
}

fn latency_history(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let ev = ctx.srv.admin.latency.lock();
    match ev.get(lossy(args[2]).as_str()) {
        None => ctx.out.array(0),
        Some(s) => {
            ctx.out.array(s.samples.len());
            for (t, ms) in &s.samples {
                ctx.out.array(2);
                ctx.out.int(*t);
                ctx.out.int(*ms as i64);
            }
        }
    }
    Ok(())
}

fn latency_reset(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let mut ev = ctx.srv.admin.latency.lock();
    let n = if args.len() == 2 {
        let n = ev.len();
        ev.clear();
        n
    } else {
        let mut n = 0;
        for a in &args[2..] {
            let name = lossy(a);
            let hit = ev.keys().find(|k| k.eq_ignore_ascii_case(&name)).cloned();
            if let Some(k) = hit {
                ev.remove(&k);
                n += 1;
            }
        }
        n
    };
    ctx.out.int(n as i64);
    Ok(())
}

fn latency_graph(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let ev = ctx.srv.admin.latency.lock();
    let name = lossy(args[2]);
    let Some(s) = ev.get(name.as_str()) else {
        return Err(CmdError::err(format!(
            "No samples available for event '{name}'"
        )));
    };
    let lo = s.samples.iter().map(|x| x.1).min().unwrap_or(0);
    let hi = s.samples.iter().map(|x| x.1).max().unwrap_or(0);
    let mut g = format!(
        "{name} - high {hi} ms, low {lo} ms (all time high {} ms)\n",
        s.max
    );
    g.push_str(&"-".repeat(80));
    g.push('\n');
    // one column per sample, newest last, scaled to four rows
    let rows = 4u64;
    let span = (hi - lo).max(1);
    for r in (0..rows).rev() {
        for (_, ms) in s
            .samples
            .iter()
            .rev()
            .take(80)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
        {
            let level = (ms - lo) * rows / span;
            g.push(if level >= r || (r == 0) { '#' } else { ' ' });
        }
        g.push('\n');
    }
    ctx.out.verbatim(g.as_bytes());
    Ok(())
}

/// Per-command calls without a latency distribution: ferrokey keeps call counts and
/// total time per command, not histograms.
fn latency_histogram(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let mut picked: Vec<&'static Command> = Vec::new();
    let srv = ctx.srv;
    let with_calls = |c: &'static Command| srv.stats.command(table::index_of(c)).0 > 0;
    if args.len() == 2 {
        picked.extend(table::all().iter().copied().filter(|c| with_calls(c)));
    } else {
        for a in &args[2..] {
            let Some(c) = find_full(a) else { continue };
            if c.subcommands.is_empty() {
                if with_calls(c) && !picked.iter().any(|p| std::ptr::eq(*p, c)) {
                    picked.push(c);
                }
            } else {
                for s in c.subcommands {
                    if with_calls(s) && !picked.iter().any(|p| std::ptr::eq(*p, s)) {
                        picked.push(s);
                    }
                }
            }
        }
    }
    ctx.out.map(picked.len());
    for c in picked {
        let calls = ctx.srv.stats.command(table::index_of(c)).0;
        ctx.out.bulk(table::full_name(c).as_bytes());
        ctx.out.map(2);
        ctx.out.bulk(b"calls");
        ctx.out.int(calls as i64);
        ctx.out.bulk(b"histogram_usec");
        ctx.out.map(0);
    }
    Ok(())
}

fn latency_doctor(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    let ev = ctx.srv.admin.latency.lock();
    let threshold = ctx.srv.admin.latency_threshold.load(Relaxed);
    let mut r = String::new();
    if ev.is_empty() && threshold == 0 {
        r.push_str("I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Valkey instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it.\n");
        drop(ev);
        ctx.out.verbatim(r.as_bytes());
        return Ok(());
    }
    let now = crate::store::now_ms() / 1000;
    let (mut slowlog_enabled, mut slowlog_tuning, mut inspect, mut scheduler, mut large) =
        (false, false, false, false, false);
    let mut advices = 0;
    for (n, (name, s)) in ev.iter().enumerate() {
        if n == 0 {
            r.push_str("Latency spikes are observed in this Valkey instance.\n\n");
        }
        let count = s.samples.len().max(1) as u64;
        let avg = s.samples.iter().map(|x| x.1).sum::<u64>() / count;
        let mad = s.samples.iter().map(|x| x.1.abs_diff(avg)).sum::<u64>() / count;
        let oldest = s.samples.iter().map(|x| x.0).min().unwrap_or(now);
        let period = (now - oldest).max(1);
        r.push_str(&format!(
            "{}. {name}: {} latency spikes (average {avg}ms, mean deviation {mad}ms, period {:.2} sec). Worst all time event {}ms.",
            n + 1,
            s.samples.len(),
            period as f64 / count as f64,
            s.max
        ));
        if name == "command" {
            let slower = ctx.srv.config.hot.slowlog_log_slower_than.load(Relaxed);
            if slower < 0 || ctx.srv.config.hot.slowlog_max_len.load(Relaxed) == 0 {
                slowlog_enabled = true;
                advices += 1;
            } else if slower / 1000 > threshold {
                slowlog_tuning = true;
                advices += 1;
            }
            inspect = true;
            large = true;
            advices += 2;
        }
        if name == "fast-command" {
            scheduler = true;
            advices += 1;
        }
        r.push('\n');
    }
    if ev.is_empty() && advices == 0 {
        r.push_str("No latency spike was observed during the lifetime of this Valkey instance, not in the slightest bit.\n");
    } else if advices == 0 {
        r.push_str("\nThere are latency events logged that are not easy to fix. Please get some help from Valkey community, providing this report in your help request.\n");
    } else {
        r.push_str("\nHere is some advice for you:\n\n");
        let us = threshold.max(0) * 1000;
        if slowlog_enabled {
            r.push_str(&format!("- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Valkey feature using the command 'CONFIG SET slowlog-log-slower-than {us}'. If the Slow log is disabled Valkey is not able to log slow commands execution for you.\n"));
        }
        if slowlog_tuning {
            r.push_str(&format!("- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than {us}'.\n"));
        }
        if inspect {
            r.push_str("- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://valkey.io/commands/slowlog for more information.\n");
        }
        if scheduler {
            r.push_str("- The system is slow to execute Valkey code paths not containing system calls. This usually means the system does not provide Valkey CPU time to run for long periods. You should try to:\n  1) Lower the system load.\n  2) Use a computer / VM just for Valkey if you are running other software in the same system.\n  3) Check if you have a \"noisy neighbour\" problem.\n  4) Check with 'valkey-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n  5) Check if the problem is allocator-related by recompiling Valkey with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n");
        }
        if large {
            r.push_str("- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n");
        }
    }
    drop(ev);
    ctx.out.verbatim(r.as_bytes());
    Ok(())
}

// ---------------------------------------------------------------- MODULE

fn module_help(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    help(
        ctx.out,
        "MODULE",
        &[
            "LIST",
            "    Return a list of loaded modules.",
            "LOAD <path> [<arg> ...]",
            "    Load a module library from <path>, passing to it any optional arguments.",
            "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
            "    Load a module library from <path>, while passing it module configurations and optional arguments.",
            "UNLOAD <name>",
            "    Unload a module.",
        ],
    );
    Ok(())
}

fn module_list(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    ctx.out.array(0);
    Ok(())
}

/// Native modules cannot be loaded into ferrokey.
fn module_load(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    protected_check(ctx, "MODULE", "enable-module-command")?;
    tracing::warn!("Module loading is not supported");
    Err(CmdError::err(
        "Error loading the extension. Please check the server logs.",
    ))
}

fn module_unload(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    protected_check(ctx, "MODULE", "enable-module-command")?;
    Err(CmdError::err(
        "Error unloading module: no such module with that name",
    ))
}

/// Valkey's refusal of a protected command (DEBUG, MODULE LOAD...) that the
/// configuration does not enable for this client.
fn protected_check(ctx: &Ctx, cmd: &str, directive: &str) -> CmdResult {
    if protected_allowed(ctx, directive) {
        return Ok(());
    }
    Err(CmdError::err(format!(
        "{cmd} command not allowed. If the {directive} option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server."
    )))
}

// ---------------------------------------------------------------- DEBUG

const DEBUG_HELP: &[&str] = &[
    "CHANGE-REPL-ID",
    "    Change the replication IDs of the instance.",
    "    Dangerous: should be used only for testing the replication subsystem.",
    "DIGEST",
    "    Output a hex signature representing the current DB content.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "ERROR <string>",
    "    Return a RESP protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate error replies.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "OBJECT <key> [fast]",
    "    Show low level info about `key` and associated value.",
    "    Some fields of the default behavior may be time consuming to fetch,",
    "    and `fast` can be passed to avoid fetching them.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix. These are not propagated to",
    "    replicas. Cluster slots are not respected so keys not belonging to the",
    "    current node can be created in cluster mode.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the behavior). Setting it to 1 reenables back the",
    "    default.",
    "QUICKLIST-PACKED-THRESHOLD <size>",
    "    Sets the threshold for elements to be inserted as plain vs packed nodes",
    "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
];

/// Whether the `enable-debug-command`/`enable-module-command` setting lets this client
/// run the protected command ("local": loopback connections only).
fn protected_allowed(ctx: &Ctx, directive: &str) -> bool {
    match ctx.srv.config.get(directive).as_deref() {
        Some("yes") => true,
        Some("local") => ctx
            .client
            .info
            .addr
            .parse::<std::net::SocketAddr>()
            .is_ok_and(|a| a.ip().is_loopback()),
        _ => false,
    }
}

/// C's `atoi`: leading digits with an optional sign, anything else ignored.
fn atoi(a: &[u8]) -> i64 {
    let s = lossy(a);
    let t = s.trim_start();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let n: i64 = digits
        .bytes()
        .take_while(u8::is_ascii_digit)
        .fold(0i64, |acc, d| {
            acc.saturating_mul(10).saturating_add((d - b'0') as i64)
        });
    if neg {
        -n
    } else {
        n
    }
}

fn debug(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    protected_check(ctx, "DEBUG", "enable-debug-command")?;
    let sub = lossy(args[1]).to_ascii_lowercase();
    let argc = args.len();
    match (sub.as_str(), argc) {
        ("help", 2) => {
            help(ctx.out, "DEBUG", DEBUG_HELP);
        }
        ("sleep", 3) => {
            // strtod semantics: garbage reads as 0
            let secs = super::parse_f64(args[2]).unwrap_or(0.0);
            let at = ctx.out.len();
            ctx.out.ok();
            if secs.is_finite() && secs > 0.0 {
                let d = Duration::from_secs_f64(secs.min(1e9));
                if ctx.client.nested() {
                    // inside a transaction or script the whole of it must take the time
                    std::thread::sleep(d);
                } else {
                    // only this connection waits; other clients keep being served
                    ctx.client.block = Some(Block {
                        timeout: Some(d),
                        reply_at: at,
                        blocked: false,
                        waiter: None,
                    });
                }
            }
        }
        ("aof-flush-sleep", 3) => {
            crate::persistence::set_flush_sleep_us(atoi(args[2]));
            ctx.out.ok();
        }
        ("reload" | "loadaof", _) => {
            // the AOF is flushed and loaded back (no RDB: without AOF the data stays)
            crate::persistence::debug_reload(ctx.srv, sub == "loadaof").map_err(CmdError::err)?;
            ctx.out.ok();
        }
        ("log", 3) => {
            tracing::warn!("DEBUG LOG: {}", lossy(args[2]));
            ctx.out.ok();
        }
        ("set-active-expire", 3) => {
            ctx.srv
                .config
                .hot
                .active_expire
                .store(atoi(args[2]) != 0, Relaxed);
            ctx.out.ok();
        }
        ("quicklist-packed-threshold", 3) => {
            let ok = crate::config::parse_memory(&lossy(args[2]))
                .filter(|n| *n >= 0 && (*n as u64) <= (1u64 << 32) - (1 << 20));
            let Some(n) = ok else {
                return Err(CmdError::err(
                    "argument must be a memory value bigger than 1 and smaller than 4gb",
                ));
            };
            let n = if n == 0 { 1 << 30 } else { n as u64 };
            ctx.srv.admin.quicklist_packed_threshold.store(n, Relaxed);
            ctx.out.ok();
        }
        ("change-repl-id", 2) => {
            tracing::info!("Changing replication IDs after receiving DEBUG change-repl-id");
            ctx.srv.admin.change_replid();
            ctx.out.ok();
        }
        ("object", 3 | 4) => debug_object(ctx, args)?,
        ("populate", 3..=5) => debug_populate(ctx, args)?,
        ("digest", 2) => {
            let d = dataset_digest(ctx.srv, ctx.now);
            ctx.out.simple(&hex::encode(d));
        }
        ("digest-value", _) => {
            ctx.out.array(argc - 2);
            for k in &args[2..] {
                let mut d = [0u8; 20];
                let shard = ctx.db().lock(k);
                if let Some(n) = shard.peek(k) {
                    value_digest(&mut d, n);
                }
                drop(shard);
                ctx.out.simple(&hex::encode(d));
            }
        }
        ("error", 3) => {
            // sent as given: the caller picks the code, and it is not an error of DEBUG
            ctx.out.raw(b"-");
            let msg: Vec<u8> = args[2]
                .iter()
                .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c })
                .collect();
            ctx.out.raw(&msg);
            ctx.out.raw(b"\r\n");
        }
        ("protocol", 3) => debug_protocol(ctx, args[2])?,
        ("stringmatch-len", _) | ("stringmatch-test", 2) => {
            ctx.out
                .simple("Apparently the server did not crash: test passed");
        }
        _ => return Err(CmdError::subcommand_syntax(args)),
    }
    Ok(())
}

fn debug_object(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let fast = args.len() == 4 && is(args[3], "fast");
    let line = {
        let shard = ctx.db().lock(args[2]);
        let Some(n) = shard.peek(args[2]) else {
            return Err(CmdError::NoSuchKey);
        };
        let lru = n.lru();
        let clock = crate::store::lru_clock(ctx.now);
        let lru_max = crate::store::table::LRU_MAX;
        let idle_secs = if clock >= lru {
            clock - lru
        } else {
            lru_max - lru + clock
        };
        let mut s = format!(
            "Value at:{:p} refcount:1 encoding:{}",
            n as *const crate::store::Node,
            n.encoding()
        );
        if !fast {
            let len = n.value().as_str().map_or(0, |v| v.len());
            s.push_str(&format!(" serializedlength:{}", len.max(1)));
        }
        s.push_str(&format!(
            " lru:{lru} lru_seconds_idle:{idle_secs} lfu_freq:0 lfu_access_time_minutes:{}",
            lru >> 8
        ));
        s
    };
    ctx.out.simple(&line);
    Ok(())
}

fn debug_populate(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let positive = |a: &[u8]| -> Result<u64, CmdError> {
        match int_arg(a)? {
            n if n < 0 => Err(CmdError::err("value is out of range, must be positive")),
            n => Ok(n as u64),
        }
    };
    let count = positive(args[2])?;
    let prefix: &[u8] = args.get(3).copied().unwrap_or(b"key");
    let size = match args.get(4) {
        Some(a) => positive(a)? as usize,
        None => 0,
    };
    let db = ctx.db();
    let mut key = Vec::with_capacity(prefix.len() + 21);
    let mut val = Vec::new();
    for j in 0..count {
        key.clear();
        key.extend_from_slice(prefix);
        key.push(b':');
        key.extend_from_slice(itoa::Buffer::new().format(j).as_bytes());
        val.clear();
        val.extend_from_slice(b"value:");
        val.extend_from_slice(itoa::Buffer::new().format(j).as_bytes());
        if size > 0 {
            val.resize(size, 0);
        }
        let mut shard = db.lock(&key);
        if shard.get(&key, ctx.now).is_none() {
            shard.set(&key, crate::store::NewValue::Str(&val), None, ctx.now);
        }
    }
    ctx.out.ok();
    Ok(())
}

fn debug_protocol(ctx: &mut Ctx, kind: &[u8]) -> CmdResult {
    let resp3 = ctx.out.resp3();
    let out = &mut *ctx.out;
    match lossy(kind).to_ascii_lowercase().as_str() {
        "string" => out.bulk(b"Hello World"),
        "integer" => out.int(12345),
        // the very value Valkey replies with, not an approximation of pi
        #[allow(clippy::approx_constant)]
        "double" => out.double(3.141),
        "bignum" => {
            if resp3 {
                out.raw(b"(1234567999999999999999999999999999999\r\n");
            } else {
                out.bulk(b"1234567999999999999999999999999999999");
            }
        }
        "null" => out.null(),
        "array" => {
            out.array(3);
            (0..3).for_each(|j| out.int(j));
        }
        "set" => {
            out.set(3);
            (0..3).for_each(|j| out.int(j));
        }
        "map" => {
            out.map(3);
            for j in 0..3 {
                out.int(j);
                out.boolean(j == 1);
            }
        }
        "attrib" => {
            if resp3 {
                out.raw(b"|1\r\n");
                out.bulk(b"key-popularity");
                out.array(2);
                out.bulk(b"key:123");
                out.int(90);
            }
            out.bulk(b"Some real reply following the attribute");
        }
        "push" => {
            if !resp3 {
                return Err(CmdError::err("RESP2 is not supported by this command"));
            }
            out.push(2);
            out.bulk(b"server-cpu-usage");
            out.int(42);
            out.bulk(b"Some real reply following the push reply");
        }
        "true" => out.boolean(true),
        "false" => out.boolean(false),
        "verbatim" => out.verbatim(b"This is a verbatim\nstring"),
        _ => {
            return Err(CmdError::err(
                "Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false",
            ))
        }
    }
    Ok(())
}

// DEBUG DIGEST, as Valkey computes it: per key SHA1 mixing of the key, the value type and
// contents and an expiry marker, xored together per database, databases mixed in order.

fn xor_digest(digest: &mut [u8; 20], data: &[u8]) {
    use sha1::{Digest, Sha1};
    let h = Sha1::digest(data);
    for (d, x) in digest.iter_mut().zip(h.iter()) {
        *d ^= x;
    }
}

fn mix_digest(digest: &mut [u8; 20], data: &[u8]) {
    use sha1::{Digest, Sha1};
    xor_digest(digest, data);
    let h = Sha1::digest(&digest[..]);
    digest.copy_from_slice(&h);
}

/// Valkey's type numbers, which the digest mixes in.
fn type_number(name: &str) -> u32 {
    match name {
        "string" => 0,
        "list" => 1,
        "set" => 2,
        "zset" => 3,
        "hash" => 4,
        "stream" => 6,
        _ => 5,
    }
}

/// The digest of one value: its type and contents, plus whether it expires.
/// Collections contribute their type only, until their contents are mixed in as
/// Valkey's `xorObjectDigest` does (elements in order for lists, xored for the rest).
fn value_digest(digest: &mut [u8; 20], n: &crate::store::Node) {
    let v = n.value();
    mix_digest(digest, &type_number(v.type_name()).to_be_bytes());
    if let Some(s) = v.as_str() {
        mix_digest(digest, s);
    }
    if n.expire().is_some() {
        xor_digest(digest, b"!!expire!!");
    }
}

fn dataset_digest(srv: &Server, now: i64) -> [u8; 20] {
    let mut fin = [0u8; 20];
    for (i, db) in srv.keyspace.dbs().iter().enumerate() {
        let mut acc = [0u8; 20];
        let mut any = false;
        db.for_each(now, |n| {
            any = true;
            let mut d = [0u8; 20];
            mix_digest(&mut d, n.key());
            value_digest(&mut d, n);
            for (a, x) in acc.iter_mut().zip(d.iter()) {
                *a ^= x;
            }
        });
        if any {
            mix_digest(&mut fin, &(i as u32).to_be_bytes());
            for (f, x) in fin.iter_mut().zip(acc.iter()) {
                *f ^= x;
            }
        }
    }
    fin
}
