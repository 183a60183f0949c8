//! Connection commands: PING, ECHO, QUIT, RESET, HELLO, AUTH, SELECT, CLIENT.

use super::flags::*;
use super::{acl, int_arg, is, CmdError, CmdResult, Command, Ctx};
use crate::server::{cflags, ReplyMode};
use crate::server::VALKEY_VERSION;
use std::sync::atomic::Ordering::Relaxed;

const CONN: u64 = acl::CONNECTION;

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
];

fn ping(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    if args.len() > 2 {
        return Err(CmdError::err("wrong number of arguments for 'ping' command"));
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
    let c = &mut *ctx.client;
    ctx.srv.remove_monitor(c.id);
    c.info.set_flag(
        cflags::MONITOR | cflags::PUBSUB | cflags::NO_EVICT | cflags::NO_TOUCH,
        false,
    );
    c.select(0);
    c.resp = 2;
    c.info.resp.store(2, Relaxed);
    ctx.out.set_resp3(false);
    c.authenticated = !ctx.srv.config.hot.has_password.load(Relaxed);
    *c.info.user.lock() = "default".into();
    c.reply_mode = ReplyMode::On;
    c.info.name.lock().clear();
    ctx.out.simple("RESET");
    Ok(())
}

/// Checks a username/password pair against the default user (`requirepass`).
fn check_password(ctx: &Ctx, user: &[u8], pass: &[u8]) -> bool {
    if user != b"default" {
        return false;
    }
    let want = ctx.srv.config.get("requirepass").unwrap_or_default();
    // an empty requirepass is Valkey's "nopass" default user: any password works
    want.is_empty() || constant_time_eq(want.as_bytes(), pass)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    // compare digests so the time taken says nothing about the length or a prefix
    let ha = Sha256::digest(a);
    let hb = Sha256::digest(b);
    ha.iter().zip(hb.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

fn auth(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let (user, pass) = match args.len() {
        2 => (&b"default"[..], args[1]),
        3 => (args[1], args[2]),
        _ => return Err(CmdError::Syntax),
    };
    if args.len() == 2 && !ctx.srv.config.hot.has_password.load(Relaxed) {
        return Err(CmdError::msg(
            "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        ));
    }
    if !check_password(ctx, user, pass) {
        tracing::warn!(client = ctx.client.id, addr = %ctx.client.info.addr, "AUTH failed");
        return Err(CmdError::msg(WRONGPASS));
    }
    ctx.client.authenticated = true;
    *ctx.client.info.user.lock() = String::from_utf8_lossy(user).into_owned();
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
        if !check_password(ctx, u, p) {
            return Err(CmdError::msg(WRONGPASS));
        }
        ctx.client.authenticated = true;
        *ctx.client.info.user.lock() = String::from_utf8_lossy(u).into_owned();
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
    let out = &mut *ctx.out;
    out.map(7);
    out.bulk(b"server");
    out.bulk(b"valkey");
    out.bulk(b"version");
    out.bulk(VALKEY_VERSION.as_bytes());
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
    let db = int_arg(args[1])?;
    if db < 0 || db as usize >= ctx.srv.keyspace.db_count() {
        return Err(CmdError::err("DB index is out of range"));
    }
    ctx.client.select(db as usize);
    ctx.out.ok();
    Ok(())
}
