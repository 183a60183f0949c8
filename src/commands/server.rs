//! Server commands: COMMAND, CONFIG, INFO, DBSIZE, FLUSHDB, FLUSHALL...

use super::flags::*;
use super::spec::container;
use super::{acl, flags, glob_match, is, table, CmdError, CmdResult, Command, Ctx};
use crate::protocol::Reply;

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
    if c.first_key > 0 {
        out.array(1);
        out.map(3);
        out.bulk(b"flags");
        let kf: &[&str] = if c.is_write() { &["RW", "UPDATE"] } else { &["RO", "ACCESS"] };
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
        out.int(c.first_key as i64);
        out.bulk(b"find_keys");
        out.map(2);
        out.bulk(b"type");
        out.bulk(b"range");
        out.bulk(b"spec");
        out.map(3);
        out.bulk(b"lastkey");
        out.int(if c.last_key < 0 { c.last_key as i64 } else { (c.last_key - c.first_key) as i64 });
        out.bulk(b"keystep");
        out.int(c.key_step as i64);
        out.bulk(b"limit");
        out.int(0);
    } else {
        out.array(0);
    }
    out.array(c.subcommands.len());
    for s in c.subcommands {
        reply_command_info(out, s);
    }
}

fn command_all(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    let cmds = table::commands();
    ctx.out.array(cmds.len());
    for c in cmds {
        reply_command_info(ctx.out, c);
    }
    Ok(())
}

fn command_count(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    ctx.out.int(table::commands().len() as i64);
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
            None => ctx.out.null_array(),
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
        table::commands().to_vec()
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
    for c in table::commands() {
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
            let Some((bit, _)) = acl::NAMES.iter().find(|(_, n)| n.as_bytes().eq_ignore_ascii_case(v)) else {
                names.clear();
                return reply_names(ctx, &names);
            };
            names.retain(|n| find_full(n.as_bytes()).is_some_and(|c| c.acl_categories() & bit != 0));
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
    let mut cmd = table::lookup(args[0]).ok_or_else(|| CmdError::err("Invalid command specified"))?;
    if !cmd.subcommands.is_empty() {
        if let Some(s) = args.get(1).and_then(|s| {
            cmd.subcommands.iter().find(|c| c.name.as_bytes().eq_ignore_ascii_case(s))
        }) {
            cmd = s;
        }
    }
    let argc = args.len() as i32;
    if (cmd.arity > 0 && cmd.arity != argc) || argc < -cmd.arity {
        return Err(CmdError::err("Invalid number of arguments specified for command"));
    }
    let keys = super::keys_of(cmd, args);
    if keys.is_empty() {
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
        let kf: &[&str] = if cmd.is_write() { &["RW", "UPDATE"] } else { &["RO", "ACCESS"] };
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
    if (args.len() - 2) % 2 != 0 {
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
    let pairs: Vec<(&str, &str)> = owned.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    ctx.srv.config.set_many(&pairs, false).map_err(CmdError::err)?;
    ctx.out.ok();
    Ok(())
}

fn config_resetstat(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    ctx.srv.stats.reset();
    ctx.srv.slowlog.lock().clear();
    ctx.out.ok();
    Ok(())
}

fn config_rewrite(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    let Some(path) = ctx.srv.config_file.clone() else {
        return Err(CmdError::err("The server is running without a config file"));
    };
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    let text = crate::config::rewrite(&old, &ctx.srv.config.non_defaults());
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
    free_tables(db.flush(), bg);
    ctx.dirty += n.max(1);
    ctx.out.ok();
    Ok(())
}

fn flushall(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let bg = flush_mode(ctx, args)?;
    let mut n = 0;
    for db in ctx.srv.keyspace.dbs() {
        n += db.len() as u64;
        free_tables(db.flush(), bg);
    }
    ctx.dirty += n.max(1);
    ctx.out.ok();
    Ok(())
}
