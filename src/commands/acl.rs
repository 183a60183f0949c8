//! The ACL command family, and the permission check dispatch runs before every
//! command (see [`permit`]). The user model itself lives in [`crate::acl`].

use super::flags::*;
use super::server::help;
use super::spec::container;
use super::{int_arg, is, lossy, table, CmdError, CmdResult, Command, Ctx};
use crate::acl::{self as model, Denied, User};
use crate::server::{cflags, Client, Origin, Server};
use std::sync::atomic::Ordering::Relaxed;

const NS: u32 = NOSCRIPT | LOADING | STALE;
const ADM: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

// one line per declaration keeps the table readable
#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    Command::new("acl", -2, 0, container)
        .doc("server", "6.0.0", "A container for Access List Control commands.", "Depends on subcommand.")
        .subs(&[
            Command::new("cat", -2, NS, acl_cat)
                .doc("server", "6.0.0", "Lists the ACL categories, or the commands inside a category.", "O(1) since the categories and commands are a fixed set."),
            Command::new("deluser", -3, ADM, acl_deluser)
                .doc("server", "6.0.0", "Deletes ACL users, and terminates their connections.", "O(1) amortized time considering the typical user."),
            Command::new("dryrun", -4, ADM, acl_dryrun)
                .doc("server", "7.0.0", "Simulates the execution of a command by a user, without executing the command.", "O(1)."),
            Command::new("genpass", -2, NS, acl_genpass)
                .doc("server", "6.0.0", "Generates a pseudorandom, secure password that can be used to identify ACL users.", "O(1)"),
            Command::new("getuser", 3, ADM, acl_getuser)
                .doc("server", "6.0.0", "Lists the ACL rules of a user.", "O(N). Where N is the number of password, command and pattern rules that the user has."),
            Command::new("help", 2, LOADING | STALE, acl_help)
                .doc("server", "6.0.0", "Returns helpful text about the different subcommands.", "O(1)"),
            Command::new("list", 2, ADM, acl_list)
                .doc("server", "6.0.0", "Dumps the effective rules in ACL file format.", "O(N). Where N is the number of configured users."),
            Command::new("load", 2, ADM, acl_load)
                .doc("server", "6.0.0", "Reloads the rules from the configured ACL file.", "O(N). Where N is the number of configured users."),
            Command::new("log", -2, ADM, acl_log)
                .doc("server", "6.0.0", "Lists recent security events generated due to ACL rules.", "O(N) with N being the number of entries shown."),
            Command::new("save", 2, ADM, acl_save)
                .doc("server", "6.0.0", "Saves the effective ACL rules in the configured ACL file.", "O(N). Where N is the number of configured users."),
            Command::new("setuser", -3, ADM, acl_setuser)
                .doc("server", "6.0.0", "Creates and modifies an ACL user and its rules.", "O(N). Where N is the number of rules provided."),
            Command::new("users", 2, ADM, acl_users)
                .doc("server", "6.0.0", "Lists all ACL users.", "O(N). Where N is the number of configured users."),
            Command::new("whoami", 2, NS, acl_whoami)
                .doc("server", "6.0.0", "Returns the authenticated username of the current connection.", "O(1)"),
        ]),
];

// ---------------------------------------------------------------- the check

/// ACL LOG context of a command run by `client`.
fn context(client: &Client) -> &'static str {
    match client.origin {
        Origin::Script => "lua",
        Origin::Exec => "multi",
        _ if client.multi.is_some() => "multi",
        _ => "toplevel",
    }
}

/// Valkey's non-verbose `getAclErrorMessage`.
fn denial_text(d: Denied, user: &str, cmd: &'static Command) -> String {
    match d {
        Denied::Command => format!(
            "User {user} has no permissions to run the '{}' command",
            table::full_name(cmd)
        ),
        Denied::Key(_) => "No permissions to access a key".into(),
        Denied::Channel(_) => "No permissions to access a channel".into(),
    }
}

/// May `client`'s user run this command line? Dispatch calls this for every caller
/// (clients, EXEC, scripts, blocked commands retried), so a transaction or a script
/// cannot reach what its user could not. The error is the full reply line.
pub fn permit(
    srv: &Server,
    client: &mut Client,
    cmd: &'static Command,
    args: &[&[u8]],
) -> Result<(), String> {
    if client.origin == Origin::Aof {
        return Ok(());
    }
    let verdict = {
        let name = client.info.user.lock();
        match client.acl.user(&name) {
            Some(u) if u.unrestricted() => return Ok(()),
            Some(u) => u.check(cmd, args).map_err(|d| (d, u.name.clone())),
            // a deleted user's client may still AUTH again or QUIT
            None if cmd.has(NO_AUTH) => return Ok(()),
            None => Err((Denied::Command, name.clone())),
        }
    };
    let Err((denied, user)) = verdict else {
        return Ok(());
    };
    let (reason, object) = match denied {
        Denied::Command => ("command", table::full_name(cmd)),
        Denied::Key(i) => ("key", lossy(args[i])),
        Denied::Channel(i) => ("channel", lossy(args[i])),
    };
    log_event(
        srv,
        client,
        reason,
        context(client),
        object,
        user.clone(),
        Some((cmd, args)),
    );
    let msg = denial_text(denied, &user, cmd);
    Err(match client.origin {
        Origin::Script => format!("ERR ACL failure in script: {msg}"),
        Origin::Exec => {
            let why = match denied {
                Denied::Command => "no permission to execute the command or subcommand",
                Denied::Key(_) => "no permission to touch the specified keys",
                Denied::Channel(_) => {
                    "no permission to access one of the channels used as arguments"
                }
            };
            format!("NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: {why}")
        }
        _ => format!("NOPERM {msg}"),
    })
}

/// Whether `client`'s user may run this line with read access to every key: what
/// SORT's BY and GET patterns need, since they reach keys the line does not name
/// (Valkey's `ACLUserCheckCmdWithUnrestrictedKeyAccess` with CMD_KEY_ACCESS).
pub fn may_read_all_keys(client: &mut Client, cmd: &'static Command, args: &[&[u8]]) -> bool {
    if client.origin == Origin::Aof {
        return true;
    }
    let name = client.info.user.lock();
    match client.acl.user(&name) {
        Some(u) => u.unrestricted() || u.check_with_all_keys(cmd, args, model::KEY_READ),
        None => false,
    }
}

fn log_event(
    srv: &Server,
    client: &Client,
    reason: &'static str,
    context: &'static str,
    object: String,
    user: String,
    running: Option<(&'static Command, &[&[u8]])>,
) {
    // the client line names the command the client is running: EXEC for what it
    // runs, the command itself otherwise
    let running = match client.origin {
        Origin::Exec => table::lookup_original(b"exec").map(|c| (c, &[][..])),
        _ => running,
    };
    let mut info = String::new();
    match &client.acl.caller {
        Some((caller, cmd)) => {
            super::connection::client_line(&mut info, caller, Some((cmd, &[][..])))
        }
        None => super::connection::client_line(&mut info, &client.info, running),
    }
    let max = srv.config.get_i64("acllog-max-len").max(0) as usize;
    model::store().log.add(
        reason,
        context,
        object,
        user,
        info.trim_end().to_string(),
        crate::store::now_ms(),
        max,
    );
}

// ---------------------------------------------------------------- authentication

/// Checks a username/password pair against the user store; on success the client is
/// authenticated as that user. A failure is logged (without the password).
pub fn authenticate(ctx: &mut Ctx, user: &[u8], pass: &[u8], object: &[u8]) -> bool {
    let ok = model::store()
        .get(user)
        .is_some_and(|u| u.check_password(pass));
    if ok {
        let c = &mut *ctx.client;
        c.authenticated = true;
        *c.info.user.lock() = lossy(user);
        c.acl.clear();
        return true;
    }
    tracing::warn!(client = ctx.client.id, addr = %ctx.client.info.addr, "AUTH failed");
    let cx = if ctx.client.multi.is_some() {
        "multi"
    } else {
        "toplevel"
    };
    log_event(
        ctx.srv,
        ctx.client,
        "auth",
        cx,
        lossy(object),
        lossy(user),
        Some((ctx.cmd, &[][..])),
    );
    false
}

/// Whether `AUTH <password>` has a password to check (the default user is not nopass).
pub fn default_has_password() -> bool {
    model::store().get(b"default").is_some_and(|u| !u.nopass)
}

/// Keeps the connection layer's "needs AUTH" flag in step with the default user: new
/// connections start authenticated only while it is on and nopass.
fn sync_default(srv: &Server) {
    let open = model::store().default_open();
    srv.config.hot.has_password.store(!open, Relaxed);
}

/// Whether a user of this name exists (CLIENT KILL USER, CLIENT LIST USER).
pub fn user_exists(name: &[u8]) -> bool {
    model::store().get(name).is_some()
}

/// Disconnects every client authenticated as `name` (the calling one after its reply).
fn kill_clients_of(ctx: &mut Ctx, name: &str, only_pubsub: bool) {
    let me = ctx.client.id;
    for c in ctx.srv.clients.all() {
        if *c.user.lock() != name || (only_pubsub && !c.has_flag(cflags::PUBSUB)) {
            continue;
        }
        if c.id == me {
            ctx.client.close_after_reply = true;
        } else {
            c.request_kill();
            ctx.srv.remove_monitor(c.id);
            ctx.srv.clients.remove(c.id);
        }
    }
}

/// Channel permissions the new rules no longer grant.
fn channels_narrowed(old: &User, new: &User) -> bool {
    User::channels_narrowed(old, new)
}

// ---------------------------------------------------------------- ACL subcommands

fn acl_setuser(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let name = args[2];
    if name.iter().any(|&c| c.is_ascii_whitespace() || c == 0) {
        return Err(CmdError::err(
            "Usernames can't contain spaces or null characters",
        ));
    }
    let name = lossy(name);
    let (old, new) = model::store()
        .set_user(&name, &args[3..])
        .map_err(CmdError::err)?;
    if name == "default" {
        sync_default(ctx.srv);
    }
    if let Some(old) = old {
        // subscribers keep only what they may still hear, as Valkey: those whose
        // channel permissions shrank are disconnected
        if channels_narrowed(&old, &new) {
            kill_clients_of(ctx, &name, true);
        }
    }
    ctx.out.ok();
    Ok(())
}

fn acl_deluser(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    if args[2..].iter().any(|a| *a == b"default") {
        return Err(CmdError::err("The 'default' user cannot be removed"));
    }
    let mut deleted = 0;
    for a in &args[2..] {
        if model::store().delete(a) {
            deleted += 1;
            kill_clients_of(ctx, &lossy(a), false);
        }
    }
    ctx.out.int(deleted);
    Ok(())
}

fn acl_getuser(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let Some(u) = model::store().get(args[2]) else {
        ctx.out.null();
        return Ok(());
    };
    let out = &mut *ctx.out;
    out.map(6);
    out.bulk(b"flags");
    let flags = u.flag_names();
    out.set(flags.len());
    for f in flags {
        out.bulk_str(f);
    }
    out.bulk(b"passwords");
    out.array(u.passwords.len());
    for p in &u.passwords {
        out.bulk_str(p);
    }
    // the root selector at the top level, the others as a list of maps
    describe_selector(out, &u.root);
    out.bulk(b"selectors");
    out.array(u.selectors.len());
    for s in &u.selectors {
        out.map(3);
        describe_selector(out, s);
    }
    Ok(())
}

/// The commands, keys and channels fields of ACL GETUSER.
fn describe_selector(out: &mut crate::protocol::Reply, s: &model::Selector) {
    out.bulk(b"commands");
    out.bulk_str(&s.describe_commands());
    out.bulk(b"keys");
    out.bulk_str(&s.describe_keys());
    out.bulk(b"channels");
    out.bulk_str(&s.describe_channel_list());
}

fn acl_list(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    let users = model::store().all();
    ctx.out.array(users.len());
    for u in users {
        ctx.out
            .bulk_str(&format!("user {} {}", u.name, u.describe()));
    }
    Ok(())
}

fn acl_users(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    let names = model::store().names();
    ctx.out.array(names.len());
    for n in names {
        ctx.out.bulk_str(&n);
    }
    Ok(())
}

fn acl_whoami(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    let name = ctx.client.info.user.lock().clone();
    ctx.out.bulk_str(&name);
    Ok(())
}

fn acl_cat(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::subcommand_syntax(args));
    }
    let Some(&name) = args.get(2) else {
        ctx.out.array(super::acl::NAMES.len());
        for (_, n) in super::acl::NAMES {
            ctx.out.bulk_str(n);
        }
        return Ok(());
    };
    let Some(bit) = model::category(name) else {
        let shown = &name[..name.len().min(128)];
        return Err(CmdError::err(format!(
            "Unknown category '{}'",
            lossy(shown)
        )));
    };
    let names: Vec<String> = table::all()
        .iter()
        .filter(|c| c.acl_categories() & bit != 0)
        .map(|c| table::full_name(c))
        .collect();
    ctx.out.array(names.len());
    for n in names {
        ctx.out.bulk_str(&n);
    }
    Ok(())
}

fn acl_genpass(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::subcommand_syntax(args));
    }
    let bits = match args.get(2) {
        Some(a) => int_arg(a)?,
        None => 256,
    };
    if !(1..=4096).contains(&bits) {
        return Err(CmdError::err(
            "ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096",
        ));
    }
    let chars = ((bits + 3) / 4) as usize;
    let mut raw = vec![0u8; chars.div_ceil(2)];
    use rand::RngCore;
    rand::rngs::OsRng.fill_bytes(&mut raw);
    let mut s = hex::encode(raw);
    s.truncate(chars);
    ctx.out.bulk_str(&s);
    Ok(())
}

fn acl_log(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::subcommand_syntax(args));
    }
    let mut count = 10i64;
    if let Some(a) = args.get(2) {
        if is(a, "reset") {
            model::store().log.reset();
            ctx.out.ok();
            return Ok(());
        }
        count = int_arg(a)?.max(0);
    }
    let entries = model::store().log.recent(count as usize);
    let now = crate::store::now_ms();
    let out = &mut *ctx.out;
    out.array(entries.len());
    for e in entries {
        out.map(10);
        out.bulk(b"count");
        out.int(e.count as i64);
        out.bulk(b"reason");
        out.bulk_str(e.reason);
        out.bulk(b"context");
        out.bulk_str(e.context);
        out.bulk(b"object");
        out.bulk_str(&e.object);
        out.bulk(b"username");
        out.bulk_str(&e.username);
        out.bulk(b"age-seconds");
        out.double((now - e.updated) as f64 / 1000.0);
        out.bulk(b"client-info");
        out.bulk_str(&e.client_info);
        out.bulk(b"entry-id");
        out.int(e.id as i64);
        out.bulk(b"timestamp-created");
        out.int(e.created);
        out.bulk(b"timestamp-last-updated");
        out.int(e.updated);
    }
    Ok(())
}

fn acl_dryrun(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let Some(u) = model::store().get(args[2]) else {
        return Err(CmdError::err(format!(
            "User '{}' not found",
            lossy(args[2])
        )));
    };
    let line = &args[3..];
    let cmd = table::lookup(line[0]).and_then(|c| {
        if c.subcommands.is_empty() {
            Some(c)
        } else {
            line.get(1).and_then(|s| {
                c.subcommands
                    .iter()
                    .find(|x| x.name.as_bytes().eq_ignore_ascii_case(s))
            })
        }
    });
    let Some(cmd) = cmd else {
        return Err(CmdError::err(format!(
            "Command '{}' not found",
            lossy(line[0])
        )));
    };
    let argc = line.len();
    let arity_ok = if cmd.arity >= 0 {
        argc == cmd.arity as usize
    } else {
        argc >= (-cmd.arity) as usize
    };
    if !arity_ok {
        return Err(CmdError::err(format!(
            "wrong number of arguments for '{}' command",
            table::full_name(cmd)
        )));
    }
    match u.check(cmd, line) {
        Ok(()) => ctx.out.ok(),
        // the verbose form, naming the key or channel
        Err(d) => {
            let msg = match d {
                Denied::Command => denial_text(d, &u.name, cmd),
                Denied::Key(i) => format!(
                    "User {} has no permissions to access the '{}' key",
                    u.name,
                    lossy(line[i])
                ),
                Denied::Channel(i) => format!(
                    "User {} has no permissions to access the '{}' channel",
                    u.name,
                    lossy(line[i])
                ),
            };
            ctx.out.bulk_str(&msg);
        }
    }
    Ok(())
}

const NO_ACLFILE: &str = "This instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a configuration file set) in order to store users in the configuration.";

fn aclfile(ctx: &Ctx) -> Result<String, CmdError> {
    let f = ctx.srv.config.get("aclfile").unwrap_or_default();
    if f.is_empty() {
        return Err(CmdError::err(NO_ACLFILE));
    }
    Ok(f)
}

fn acl_load(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    let path = aclfile(ctx)?;
    let before = model::store().all();
    load_file(ctx.srv, &path).map_err(CmdError::err)?;
    // clients of users that are gone are disconnected, and subscribers of users
    // whose channel permissions shrank
    let users = model::store();
    let narrowed: Vec<String> = before
        .iter()
        .filter(|old| {
            users
                .get(old.name.as_bytes())
                .is_some_and(|new| channels_narrowed(old, &new))
        })
        .map(|u| u.name.clone())
        .collect();
    let me = ctx.client.id;
    for c in ctx.srv.clients.all() {
        let name = c.user.lock().clone();
        let gone = users.get(name.as_bytes()).is_none()
            || (c.has_flag(cflags::PUBSUB) && narrowed.contains(&name));
        if gone {
            if c.id == me {
                ctx.client.close_after_reply = true;
            } else {
                c.request_kill();
                ctx.srv.remove_monitor(c.id);
                ctx.srv.clients.remove(c.id);
            }
        }
    }
    ctx.out.ok();
    Ok(())
}

/// At startup: loads the aclfile if one is configured (never together with `user`
/// lines in the config file, as Valkey), and aligns the auth flag with the default user.
pub fn boot(srv: &Server) -> Result<(), String> {
    let path = srv.config.get("aclfile").unwrap_or_default();
    if !path.is_empty() {
        if model::has_config_users() {
            return Err("Configuring Valkey with users defined in valkey.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your valkey.conf, but not both.".into());
        }
        load_file(srv, &path)?;
    }
    sync_default(srv);
    Ok(())
}

/// Loads users from an ACL file, replacing every user (all or nothing).
pub fn load_file(srv: &Server, path: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("Error loading ACLs, opening file '{path}': {e}"))?;
    let users = model::parse_users(path, &text)?;
    model::store().replace_all(users);
    sync_default(srv);
    Ok(())
}

fn acl_save(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    let path = aclfile(ctx)?;
    let text = model::render_users();
    // written beside the target and renamed, so a crash never leaves half a file
    let tmp = format!("{path}.tmp-{}", std::process::id());
    let ok = std::fs::write(&tmp, text).and_then(|_| std::fs::rename(&tmp, &path));
    if let Err(e) = ok {
        tracing::warn!(path, error = %e, "could not save the ACL file");
        let _ = std::fs::remove_file(&tmp);
        return Err(CmdError::err(
            "There was an error trying to save the ACLs. Please check the server logs for more information",
        ));
    }
    ctx.out.ok();
    Ok(())
}

fn acl_help(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    help(
        ctx.out,
        "ACL",
        &[
            "CAT [<category>]",
            "    List all commands that belong to <category>, or all command categories",
            "    when no category is specified.",
            "DELUSER <username> [<username> ...]",
            "    Delete a list of users.",
            "DRYRUN <username> <command> [<arg> ...]",
            "    Returns whether the user can execute the given command without executing the command.",
            "GETUSER <username>",
            "    Get the user's details.",
            "GENPASS [<bits>]",
            "    Generate a secure 256-bit user password. The optional `bits` argument can",
            "    be used to specify a different size.",
            "LIST",
            "    Show users details in config file format.",
            "LOAD",
            "    Reload users from the ACL file.",
            "LOG [<count> | RESET]",
            "    Show the ACL log entries.",
            "SAVE",
            "    Save the current config to the ACL file.",
            "SETUSER <username> <attribute> [<attribute> ...]",
            "    Create or modify a user with the specified attributes.",
            "USERS",
            "    List all the registered usernames.",
            "WHOAMI",
            "    Return the current connection username.",
        ],
    );
    Ok(())
}
