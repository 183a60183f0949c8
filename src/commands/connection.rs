//! Connection commands: PING, ECHO, QUIT, RESET, HELLO, AUTH, SELECT, CLIENT, READONLY,
//! READWRITE; and the client-pause gate the connection loop consults.

use super::flags::*;
use super::server::{help, timeout_ms_arg};
use super::spec::container;
use super::{acl, int_arg, is, lossy, table, CmdError, CmdResult, Command, Ctx};
use crate::server::{
    cflags, Client, ClientInfo, ReplyMode, Server, UNBLOCK_ERROR, UNBLOCK_TIMEOUT,
};
use crate::server::{REDIS_VERSION, VALKEY_VERSION};
use std::fmt::Write;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

const CONN: u64 = acl::CONNECTION;

// one line per declaration keeps the table readable
#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    Command::new("ping", -1, FAST | PUBSUB_CONTEXT, ping)
        .acl(CONN)
        .doc("connection", "1.0.0", "Returns the server's liveliness response.", "O(1)"),
    Command::new("echo", 2, FAST, echo)
        .acl(CONN)
        .doc("connection", "1.0.0", "Returns the given string.", "O(1)"),
    Command::new("quit", -1, ALLOW_BUSY | NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | PUBSUB_CONTEXT, quit)
        .acl(CONN)
        .doc("connection", "1.0.0", "Closes the connection.", "O(1)"),
    Command::new("reset", 1, NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY | PUBSUB_CONTEXT, reset)
        .acl(CONN)
        .doc("connection", "6.2.0", "Resets the connection.", "O(1)"),
    Command::new("hello", -1, NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY | PUBSUB_CONTEXT, hello)
        .acl(CONN)
        .doc("connection", "6.0.0", "Handshakes with the server.", "O(1)"),
    Command::new("auth", -2, NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY | PUBSUB_CONTEXT, auth)
        .acl(CONN)
        .doc("connection", "1.0.0", "Authenticates the connection.", "O(N) where N is the number of passwords defined for the user"),
    Command::new("select", 2, LOADING | STALE | FAST, select)
        .acl(CONN)
        .doc("connection", "1.0.0", "Changes the selected database.", "O(1)"),
    Command::new("client", -2, 0, container)
        .doc("connection", "2.4.0", "A container for client connection commands.", "Depends on subcommand.")
        .subs(&[
            Command::new("caching", 3, NOSCRIPT | LOADING | STALE, client_caching)
                .acl(CONN)
                .doc("connection", "6.0.0", "Instructs the server whether to track the keys in the next request.", "O(1)"),
            Command::new("capa", -3, NOSCRIPT | LOADING | STALE, client_capa)
                .acl(CONN)
                .doc("connection", "8.0.0", "A client claims its capability.", "O(1)"),
            Command::new("getname", 2, NOSCRIPT | LOADING | STALE, client_getname)
                .acl(CONN)
                .doc("connection", "2.6.9", "Returns the name of the connection.", "O(1)"),
            Command::new("getredir", 2, NOSCRIPT | LOADING | STALE, client_getredir)
                .acl(CONN)
                .doc("connection", "6.0.0", "Returns the client ID to which the connection's tracking notifications are redirected.", "O(1)"),
            Command::new("help", 2, LOADING | STALE, client_help)
                .acl(CONN)
                .doc("connection", "5.0.0", "Returns helpful text about the different subcommands.", "O(1)"),
            Command::new("id", 2, NOSCRIPT | LOADING | STALE, client_id)
                .acl(CONN)
                .doc("connection", "5.0.0", "Returns the unique client ID of the connection.", "O(1)"),
            Command::new("info", 2, NOSCRIPT | LOADING | STALE, client_info)
                .acl(CONN)
                .doc("connection", "6.2.0", "Returns information about the connection.", "O(1)"),
            Command::new("kill", -3, ADMIN | NOSCRIPT | LOADING | STALE, client_kill)
                .acl(CONN)
                .doc("connection", "2.4.0", "Terminates open connections.", "O(N) where N is the number of client connections"),
            Command::new("list", -2, ADMIN | NOSCRIPT | LOADING | STALE, client_list)
                .acl(CONN)
                .doc("connection", "2.4.0", "Lists open connections.", "O(N) where N is the number of client connections"),
            Command::new("no-evict", 3, ADMIN | NOSCRIPT | LOADING | STALE, client_no_evict)
                .acl(CONN)
                .doc("connection", "7.0.0", "Sets the client eviction mode of the connection.", "O(1)"),
            Command::new("no-touch", 3, NOSCRIPT | LOADING | STALE, client_no_touch)
                .acl(CONN)
                .doc("connection", "7.2.0", "Controls whether commands sent by the client affect the LRU/LFU of accessed keys.", "O(1)"),
            Command::new("pause", -3, ADMIN | NOSCRIPT | LOADING | STALE, client_pause)
                .acl(CONN)
                .doc("connection", "3.0.0", "Suspends commands processing.", "O(1)"),
            Command::new("reply", 3, NOSCRIPT | LOADING | STALE, client_reply)
                .acl(CONN)
                .doc("connection", "3.2.0", "Instructs the server whether to reply to commands.", "O(1)"),
            Command::new("setinfo", 4, NOSCRIPT | LOADING | STALE, client_setinfo)
                .acl(CONN)
                .doc("connection", "7.2.0", "Sets information specific to the client or connection.", "O(1)"),
            Command::new("setname", 3, NOSCRIPT | LOADING | STALE, client_setname)
                .acl(CONN)
                .doc("connection", "2.6.9", "Sets the connection name.", "O(1)"),
            Command::new("trackinginfo", 2, NOSCRIPT | LOADING | STALE, client_trackinginfo)
                .acl(CONN)
                .doc("connection", "6.2.0", "Returns information about server-assisted client-side caching for the connection.", "O(1)"),
            Command::new("unblock", -3, ADMIN | NOSCRIPT | LOADING | STALE, client_unblock)
                .acl(CONN)
                .doc("connection", "5.0.0", "Unblocks a client blocked by a blocking command from a different connection.", "O(log N) where N is the number of client connections"),
            Command::new("unpause", 2, ADMIN | NOSCRIPT | LOADING | STALE, client_unpause)
                .acl(CONN)
                .doc("connection", "6.2.0", "Resumes processing commands from paused clients.", "O(N) Where N is the number of paused clients"),
        ]),
    Command::new("readonly", 1, FAST | LOADING | STALE, readonly)
        .acl(CONN)
        .doc("cluster", "3.0.0", "Enables read-only queries for a connection to a Valkey replica node.", "O(1)"),
    Command::new("readwrite", 1, FAST | LOADING | STALE, readwrite)
        .acl(CONN)
        .doc("cluster", "3.0.0", "Enables read-write queries for a connection to a Valkey replica node.", "O(1)"),
];

fn ping(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    if args.len() > 2 {
        return Err(CmdError::err(
            "wrong number of arguments for 'ping' command",
        ));
    }
    if ctx.client.resp2_subscribed() {
        ctx.out.array(2);
        ctx.out.bulk(b"pong");
        ctx.out.bulk(args.get(1).copied().unwrap_or(b""));
    } else if let Some(m) = args.get(1) {
        ctx.out.bulk(m);
    } else {
        ctx.out.simple("PONG");
    }
    Ok(())
}

fn echo(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    ctx.out.bulk(args[1]);
    Ok(())
}

fn quit(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    ctx.out.ok();
    ctx.client.close_after_reply = true;
    Ok(())
}

/// Puts the connection back in its just-connected state, as Valkey's
/// `clearClientConnectionState` (the library name and version are kept).
fn reset(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    super::transactions::reset(ctx.srv, ctx.client);
    let c = &mut *ctx.client;
    ctx.srv.pubsub.client_gone(&c.info);
    ctx.srv.remove_monitor(c.id);
    c.info.set_flag(
        cflags::MONITOR | cflags::PUBSUB | cflags::NO_EVICT | cflags::NO_TOUCH | cflags::READONLY,
        false,
    );
    c.select(0);
    c.resp = 2;
    c.info.resp.store(2, Relaxed);
    ctx.out.set_resp3(false);
    c.authenticated = !ctx.srv.config.hot.has_password.load(Relaxed);
    *c.info.user.lock() = "default".into();
    c.acl.clear();
    c.reply_mode = ReplyMode::On;
    c.info.name.lock().clear();
    ctx.out.simple("RESET");
    Ok(())
}

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

fn auth(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let (user, pass) = match args.len() {
        2 => (&b"default"[..], args[1]),
        3 => (args[1], args[2]),
        _ => return Err(CmdError::Syntax),
    };
    if args.len() == 2 && !super::acl_family::default_has_password() {
        return Err(CmdError::msg(
            "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        ));
    }
    // the user store decides (the default user mirrors requirepass); a failure is
    // logged in ACL LOG
    if !super::acl_family::authenticate(ctx, user, pass, args[0]) {
        return Err(CmdError::msg(WRONGPASS));
    }
    ctx.out.ok();
    Ok(())
}

fn hello(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let mut ver = None;
    let mut i = 1;
    if args.len() >= 2 {
        let v = int_arg(args[1])
            .map_err(|_| CmdError::msg("ERR Protocol version is not an integer or out of range"))?;
        if !(2..=3).contains(&v) {
            return Err(CmdError::msg("NOPROTO unsupported protocol version"));
        }
        ver = Some(v as u8);
        i = 2;
    }
    let mut creds: Option<(&[u8], &[u8])> = None;
    let mut name: Option<&[u8]> = None;
    while i < args.len() {
        let more = args.len() - i - 1;
        if is(args[i], "auth") && more >= 2 {
            creds = Some((args[i + 1], args[i + 2]));
            i += 3;
        } else if is(args[i], "setname") && more >= 1 {
            name = Some(args[i + 1]);
            i += 2;
        } else {
            return Err(CmdError::err(format!(
                "Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(args[i])
            )));
        }
    }
    if let Some((u, p)) = creds {
        if !super::acl_family::authenticate(ctx, u, p, args[0]) {
            return Err(CmdError::msg(WRONGPASS));
        }
    }
    if !ctx.client.authenticated {
        return Err(CmdError::msg(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
        ));
    }
    if let Some(n) = name {
        validate_client_name(n)?;
        *ctx.client.info.name.lock() = n.to_vec();
    }
    if let Some(v) = ver {
        ctx.client.resp = v;
        ctx.client.info.resp.store(v, Relaxed);
        ctx.out.set_resp3(v == 3);
    }
    // tools that refuse anything but Redis can be served with the names they expect
    let redis_compat = ctx.srv.config.get_bool("extended-redis-compatibility");
    let (server, version) = if redis_compat {
        ("redis", REDIS_VERSION)
    } else {
        ("valkey", VALKEY_VERSION)
    };
    let zone = ctx.srv.config.get("availability-zone").unwrap_or_default();
    let out = &mut *ctx.out;
    out.map(if zone.is_empty() { 7 } else { 8 });
    out.bulk(b"server");
    out.bulk(server.as_bytes());
    out.bulk(b"version");
    out.bulk(version.as_bytes());
    out.bulk(b"proto");
    out.int(ctx.client.resp as i64);
    out.bulk(b"id");
    out.int(ctx.client.id as i64);
    out.bulk(b"mode");
    out.bulk(b"standalone");
    out.bulk(b"role");
    out.bulk(b"master");
    out.bulk(b"modules");
    out.array(0);
    if !zone.is_empty() {
        out.bulk(b"availability_zone");
        out.bulk(zone.as_bytes());
    }
    Ok(())
}

/// Client names may not contain spaces, newlines or other special characters.
pub fn validate_client_name(n: &[u8]) -> CmdResult {
    if n.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Err(CmdError::err(
            "Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok(())
}

fn select(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let db = super::int32_arg(args[1])?;
    if db < 0 || db as usize >= ctx.srv.keyspace.db_count() {
        return Err(CmdError::err("DB index is out of range"));
    }
    ctx.client.select(db as usize);
    ctx.out.ok();
    Ok(())
}

// ---------------------------------------------------------------- READONLY / READWRITE

/// Outside cluster mode the flag only shows in CLIENT LIST, as in Valkey.
fn readonly(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    ctx.client.info.set_flag(cflags::READONLY, true);
    ctx.out.ok();
    Ok(())
}

fn readwrite(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    ctx.client.info.set_flag(cflags::READONLY, false);
    ctx.out.ok();
    Ok(())
}

// ---------------------------------------------------------------- CLIENT

fn client_help(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    help(
        ctx.out,
        "CLIENT",
        &[
            "CACHING (YES|NO)",
            "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
            "CAPA <option> [options...]",
            "    The client claims its some capability options. Options are:",
            "    * REDIRECT",
            "      The client can handle redirection during primary and replica failover in standalone mode.",
            "GETREDIR",
            "    Return the client ID we are redirecting to when tracking is enabled.",
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are:",
            "    * ADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made from the specified address",
            "    * LADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made to specified local address",
            "    * TYPE (NORMAL|PRIMARY|REPLICA|PUBSUB)",
            "      Kill connections by type.",
            "    * USER <username>",
            "      Kill connections authenticated by <username>.",
            "    * SKIPME (YES|NO)",
            "      Skip killing current connection (default: yes).",
            "    * ID <client-id>",
            "      Kill connections by client id.",
            "    * MAXAGE <maxage>",
            "      Kill connections older than the specified age.",
            "LIST [options ...]",
            "    Return information about client connections. Options:",
            "    * TYPE (NORMAL|PRIMARY|REPLICA|PUBSUB)",
            "      Return clients of specified type.",
            "    * USER <username>",
            "      Return clients authenticated by <username>.",
            "    * ADDR <ip:port>",
            "      Return clients connected from the specified address.",
            "    * LADDR <ip:port>",
            "      Return clients connected to the specified local address.",
            "    * ID <client-id> [<client-id> ...]",
            "      Return clients with the specified IDs.",
            "    * SKIPME (YES|NO)",
            "      Exclude the current client from the list (default: no).",
            "    * MAXAGE <maxage>",
            "      List clients older than the specified age.",
            "UNPAUSE",
            "    Stop the current client pause, resuming traffic.",
            "PAUSE <timeout> [WRITE|ALL]",
            "    Suspend all, or just write, clients for <timeout> milliseconds.",
            "REPLY (ON|OFF|SKIP)",
            "    Control the replies sent to the current connection.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "SETINFO <option> <value>",
            "    Set client meta attr. Options are:",
            "    * LIB-NAME: the client lib name.",
            "    * LIB-VER: the client lib version.",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "    Unblock the specified blocked client.",
            "TRACKINGINFO",
            "    Report tracking status for the current connection.",
            "NO-EVICT (ON|OFF)",
            "    Protect current client connection from eviction.",
            "NO-TOUCH (ON|OFF)",
            "    Will not touch LRU/LFU stats when this mode is on.",
        ],
    );
    Ok(())
}

fn client_id(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    ctx.out.int(ctx.client.id as i64);
    Ok(())
}

fn client_getname(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    let name = ctx.client.info.name.lock().clone();
    if name.is_empty() {
        ctx.out.null();
    } else {
        ctx.out.bulk(&name);
    }
    Ok(())
}

fn client_setname(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    validate_client_name(args[2])?;
    *ctx.client.info.name.lock() = args[2].to_vec();
    ctx.out.ok();
    Ok(())
}

fn client_setinfo(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let attr = args[2];
    let slot = if is(attr, "lib-name") {
        &ctx.client.info.lib_name
    } else if is(attr, "lib-ver") {
        &ctx.client.info.lib_ver
    } else {
        return Err(CmdError::err(format!(
            "Unrecognized option '{}'",
            lossy(attr)
        )));
    };
    if args[3].iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Err(CmdError::err(format!(
            "{} cannot contain spaces, newlines or special characters.",
            lossy(attr)
        )));
    }
    *slot.lock() = args[3].to_vec();
    ctx.out.ok();
    Ok(())
}

fn on_off(a: &[u8]) -> Result<bool, CmdError> {
    if is(a, "on") {
        Ok(true)
    } else if is(a, "off") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

fn client_no_evict(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let on = on_off(args[2])?;
    ctx.client.info.set_flag(cflags::NO_EVICT, on);
    ctx.out.ok();
    Ok(())
}

/// The flag is for key lookups to honour: with it set, reads leave the LRU clock alone.
fn client_no_touch(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let on = on_off(args[2])?;
    ctx.client.info.set_flag(cflags::NO_TOUCH, on);
    ctx.out.ok();
    Ok(())
}

/// OFF and SKIP have no reply of their own; the connection loop drops the replies.
fn client_reply(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let c = &mut *ctx.client;
    if is(args[2], "on") {
        c.reply_mode = ReplyMode::On;
        ctx.out.ok();
    } else if is(args[2], "off") {
        c.reply_mode = ReplyMode::Off;
    } else if is(args[2], "skip") {
        if c.reply_mode != ReplyMode::Off {
            c.reply_mode = ReplyMode::SkipNext;
        }
    } else {
        return Err(CmdError::Syntax);
    }
    Ok(())
}

/// Key tracking is not offered, so no connection is ever in tracking mode.
fn client_caching(_: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    Err(CmdError::err(
        "CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
    ))
}

/// Unknown capabilities are ignored, as in Valkey.
fn client_capa(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    if args[2..].iter().any(|a| is(a, "redirect")) {
        ctx.client.info.set_flag(cflags::CAPA_REDIRECT, true);
    }
    ctx.out.ok();
    Ok(())
}

fn client_getredir(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    ctx.out.int(-1);
    Ok(())
}

fn client_trackinginfo(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    let out = &mut *ctx.out;
    out.map(3);
    out.bulk(b"flags");
    out.set(1);
    out.bulk(b"off");
    out.bulk(b"redirect");
    out.int(-1);
    out.bulk(b"prefixes");
    out.array(0);
    Ok(())
}

/// Valkey's client classes, for TYPE filters.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Normal,
    Replica,
    Pubsub,
    Master,
}

fn kind_of(c: &ClientInfo) -> Kind {
    // MONITOR clients count as normal ones
    if c.has_flag(cflags::PUBSUB) {
        Kind::Pubsub
    } else {
        Kind::Normal
    }
}

fn parse_kind(a: &[u8]) -> Result<Kind, CmdError> {
    let k = if is(a, "normal") {
        Kind::Normal
    } else if is(a, "slave") || is(a, "replica") {
        Kind::Replica
    } else if is(a, "pubsub") {
        Kind::Pubsub
    } else if is(a, "master") || is(a, "primary") {
        Kind::Master
    } else {
        return Err(CmdError::err(format!("Unknown client type '{}'", lossy(a))));
    };
    Ok(k)
}

/// Users that exist, from the ACL user store.
fn user_exists(_srv: &Server, name: &[u8]) -> bool {
    super::acl_family::user_exists(name)
}

/// CLIENT LIST / CLIENT KILL filters.
#[derive(Default)]
struct Filter {
    ids: Vec<u64>,
    kind: Option<Kind>,
    user: Option<String>,
    addr: Option<String>,
    laddr: Option<String>,
    skipme: bool,
    max_age: u64,
}

impl Filter {
    /// Parses `option value` pairs from `args[2..]` (SKIPME defaults to yes for KILL).
    fn parse(srv: &Server, args: &[&[u8]], list: bool) -> Result<Filter, CmdError> {
        let mut f = Filter {
            skipme: !list,
            ..Filter::default()
        };
        let mut i = 2;
        while i < args.len() {
            let opt = args[i];
            let Some(&val) = args.get(i + 1) else {
                return Err(CmdError::Syntax);
            };
            i += 2;
            if is(opt, "id") {
                // one or more ids, up to the first argument that is not a number
                let mut ids = vec![super::parse_i64(val).ok_or(CmdError::Syntax)?];
                while let Some(n) = args.get(i).and_then(|a| super::parse_i64(a)) {
                    ids.push(n);
                    i += 1;
                }
                if ids.iter().any(|&n| n < 1) {
                    return Err(CmdError::err("client-id should be greater than 0"));
                }
                f.ids.extend(ids.into_iter().map(|n| n as u64));
            } else if is(opt, "maxage") {
                let n = super::parse_i64(val)
                    .ok_or_else(|| CmdError::err("maxage is not an integer or out of range"))?;
                if n <= 0 {
                    return Err(CmdError::err("maxage should be greater than 0"));
                }
                f.max_age = n as u64;
            } else if is(opt, "type") {
                f.kind = Some(parse_kind(val)?);
            } else if is(opt, "addr") {
                f.addr = Some(lossy(val));
            } else if is(opt, "laddr") {
                f.laddr = Some(lossy(val));
            } else if is(opt, "user") {
                if !user_exists(srv, val) {
                    return Err(CmdError::err(format!("No such user '{}'", lossy(val))));
                }
                f.user = Some(lossy(val));
            } else if is(opt, "skipme") {
                f.skipme = match on_yes_no(val) {
                    Some(b) => b,
                    None => return Err(CmdError::Syntax),
                };
            } else {
                return Err(CmdError::Syntax);
            }
        }
        Ok(f)
    }

    fn matches(&self, c: &ClientInfo, me: u64) -> bool {
        if self.addr.as_ref().is_some_and(|a| *a != c.addr)
            || self.laddr.as_ref().is_some_and(|a| *a != c.laddr)
            || self.kind.is_some_and(|k| k != kind_of(c))
            || (!self.ids.is_empty() && !self.ids.contains(&c.id))
            || self.user.as_ref().is_some_and(|u| *u != *c.user.lock())
            || (self.skipme && c.id == me)
        {
            return false;
        }
        self.max_age == 0 || c.created.elapsed().as_secs() >= self.max_age
    }
}

fn on_yes_no(a: &[u8]) -> Option<bool> {
    if is(a, "yes") {
        Some(true)
    } else if is(a, "no") {
        Some(false)
    } else {
        None
    }
}

/// One CLIENT LIST line, in Valkey's field order. For the calling client `me` carries
/// the running command and its arguments, which the shared state does not show yet.
pub(crate) fn client_line(
    out: &mut String,
    c: &ClientInfo,
    me: Option<(&'static Command, &[&[u8]])>,
) {
    let f = c.flags.load(Relaxed);
    let mut flags = String::new();
    for (bit, ch) in [
        (cflags::MONITOR, 'O'),
        (cflags::PUBSUB, 'P'),
        (cflags::MULTI, 'x'),
        (cflags::BLOCKED, 'b'),
        (cflags::CLOSE_ASAP, 'A'),
        (cflags::READONLY, 'r'),
        (cflags::NO_EVICT, 'e'),
        (cflags::NO_TOUCH, 'T'),
    ] {
        if f & bit != 0 {
            flags.push(ch);
        }
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let capa = if f & cflags::CAPA_REDIRECT != 0 {
        "r"
    } else {
        ""
    };
    let (cmd, argv_mem, idle) = match me {
        Some((cmd, args)) => (
            table::full_name(cmd),
            args.iter().map(|a| a.len()).sum::<usize>(),
            0,
        ),
        None => (c.last_command_name(), 0, c.idle_secs()),
    };
    let qbuf = c.qbuf.load(Relaxed);
    let qbuf_free = c.qbuf_free.load(Relaxed);
    let obl = c.obuf.load(Relaxed);
    let omem = c.outbox.bytes();
    let rbs = 16 * 1024;
    let tot_mem =
        super::info::CLIENT_BASE_MEMORY as usize + qbuf + qbuf_free + argv_mem + omem + obl;
    let _ = writeln!(
        out,
        "id={} addr={} laddr={} fd={} name={} age={} idle={idle} flags={flags} capa={capa} db={} sub={} psub={} ssub={} multi={} watch=0 qbuf={qbuf} qbuf-free={qbuf_free} argv-mem={argv_mem} multi-mem=0 rbs={rbs} rbp={rbs} obl={obl} oll={} omem={omem} tot-mem={tot_mem} events=r cmd={cmd} user={} redir=-1 resp={} lib-name={} lib-ver={} tot-net-in={} tot-net-out={} tot-cmds={}",
        c.id,
        c.addr,
        c.laddr,
        c.fd,
        c.name_lossy(),
        c.created.elapsed().as_secs(),
        c.db.load(Relaxed),
        c.subscriptions.load(Relaxed),
        c.psubscriptions.load(Relaxed),
        c.ssubscriptions.load(Relaxed),
        c.multi.load(Relaxed),
        if omem > 0 { c.outbox.len() } else { 0 },
        c.user.lock(),
        c.resp.load(Relaxed),
        lossy(&c.lib_name.lock()),
        lossy(&c.lib_ver.lock()),
        c.tot_net_in.load(Relaxed),
        c.tot_net_out.load(Relaxed),
        c.tot_cmds.load(Relaxed),
    );
}

fn client_info(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let mut s = String::with_capacity(400);
    client_line(&mut s, &ctx.client.info, Some((ctx.cmd, args)));
    ctx.out.verbatim(s.as_bytes());
    Ok(())
}

fn client_list(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let f = Filter::parse(ctx.srv, args, true)?;
    let me = ctx.client.id;
    let mut s = String::new();
    for c in ctx.srv.clients.all() {
        if f.matches(&c, me) {
            let running = (c.id == me).then_some((ctx.cmd, args));
            client_line(&mut s, &c, running);
        }
    }
    ctx.out.verbatim(s.as_bytes());
    Ok(())
}

fn client_kill(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let old_form = args.len() == 3;
    let f = if old_form {
        Filter {
            addr: Some(lossy(args[2])),
            ..Filter::default()
        }
    } else {
        Filter::parse(ctx.srv, args, false)?
    };
    let me = ctx.client.id;
    let mut killed = 0;
    for c in ctx.srv.clients.all() {
        if !f.matches(&c, me) {
            continue;
        }
        if c.id == me {
            ctx.client.close_after_reply = true;
        } else {
            // gone from every listing at once, as Valkey frees it synchronously; its
            // connection task closes the socket as soon as it runs
            c.request_kill();
            ctx.srv.remove_monitor(c.id);
            ctx.srv.clients.remove(c.id);
        }
        killed += 1;
    }
    if old_form {
        if killed == 0 {
            return Err(CmdError::err("No such client"));
        }
        ctx.out.ok();
    } else {
        ctx.out.int(killed);
    }
    Ok(())
}

/// Releases a client suspended by a blocking command (WAIT). Paused clients stay
/// paused. Blocking commands that suspend a client set [`cflags::BLOCKED`] and wait on
/// [`ClientInfo::unblock`].
fn client_unblock(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    if args.len() > 4 {
        return Err(CmdError::subcommand_syntax(args));
    }
    let mode = match args.get(3) {
        None => UNBLOCK_TIMEOUT,
        Some(a) if is(a, "timeout") => UNBLOCK_TIMEOUT,
        Some(a) if is(a, "error") => UNBLOCK_ERROR,
        Some(_) => {
            return Err(CmdError::err(
                "CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ))
        }
    };
    let id = int_arg(args[2])?;
    let target = u64::try_from(id)
        .ok()
        .and_then(|id| ctx.srv.clients.get(id));
    let released = match target {
        Some(c) if c.has_flag(cflags::BLOCKED) && !c.has_flag(cflags::PAUSED) => {
            c.unblock_mode.store(mode, Release);
            c.unblock.notify_one();
            true
        }
        _ => false,
    };
    ctx.out.int(released as i64);
    Ok(())
}

fn client_pause(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    if args.len() > 4 {
        return Err(CmdError::subcommand_syntax(args));
    }
    let all = match args.get(3) {
        None => true,
        Some(a) if is(a, "write") => false,
        Some(a) if is(a, "all") => true,
        Some(_) => return Err(CmdError::err("CLIENT PAUSE mode must be WRITE or ALL")),
    };
    let ms = timeout_ms_arg(args[2])?;
    // a zero timeout pauses nothing, as in Valkey
    if ms > 0 {
        pause_clients(ctx.srv, ctx.srv.mono_ms().saturating_add(ms), all);
    }
    ctx.out.ok();
    Ok(())
}

fn client_unpause(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    unpause_clients(ctx.srv);
    ctx.out.ok();
    Ok(())
}

// ---------------------------------------------------------------- client pause

/// Pauses clients until `end` (the server's monotonic ms). Overlapping pauses keep the
/// later end and the more restrictive mode.
pub fn pause_clients(srv: &Server, end: i64, all: bool) {
    let now = srv.mono_ms();
    let active = srv.pause_until_ms.load(Acquire) > now;
    // an ALL pause still running is not relaxed by a WRITE one
    let all_running = active && !srv.pause_writes_only.load(Acquire);
    let writes_only = !all && !all_running;
    srv.pause_writes_only.store(writes_only, Release);
    srv.pause_until_ms.fetch_max(end, Release);
}

pub fn unpause_clients(srv: &Server) {
    srv.pause_until_ms.store(0, Release);
    srv.pause_writes_only.store(false, Release);
    srv.pause_notify.notify_waiters();
}

/// Whether a client pause holds back this request now. Requests that fail before
/// running (unknown command, wrong arity, not authenticated) are answered at once, as
/// Valkey checks them first. Callers test `pause_until_ms != 0` first, so without a
/// pause the cost is one atomic load.
pub fn pause_holds(srv: &Server, client: &Client, args: &[&[u8]]) -> bool {
    let until = srv.pause_until_ms.load(Acquire);
    if until == 0 {
        return false;
    }
    if until <= srv.mono_ms() {
        // expired: clear it so later requests skip the clock read
        let _ = srv
            .pause_until_ms
            .compare_exchange(until, 0, Release, Relaxed);
        return false;
    }
    let Some(cmd) = args.first().and_then(|n| table::lookup(n)) else {
        return false;
    };
    let cmd = if cmd.subcommands.is_empty() {
        cmd
    } else {
        match args.get(1).and_then(|s| {
            cmd.subcommands
                .iter()
                .find(|c| c.name.as_bytes().eq_ignore_ascii_case(s))
        }) {
            Some(s) => s,
            None => return false,
        }
    };
    let argc = args.len();
    let arity_ok = if cmd.arity >= 0 {
        argc == cmd.arity as usize
    } else {
        argc >= (-cmd.arity) as usize
    };
    if !arity_ok || (!client.authenticated && !cmd.has(NO_AUTH)) {
        return false;
    }
    if !srv.pause_writes_only.load(Acquire) {
        return true;
    }
    // EXEC hook: a transaction with queued writes is a write for the pause too
    cmd.is_write() || cmd.has(MAY_REPLICATE)
}
