//! What a write command logs: its effect, so replaying the log gives the same data
//! whenever it is replayed. Relative expiries become absolute, random choices become
//! the members chosen, floating-point increments become the value reached.

use super::Touched;
use crate::commands::{is, parse_i64, Ctx};

type Cmd = Vec<Vec<u8>>;

fn owned(args: &[&[u8]]) -> Cmd {
    args.iter().map(|a| a.to_vec()).collect()
}

fn v(parts: &[&[u8]]) -> Cmd {
    parts.iter().map(|a| a.to_vec()).collect()
}

fn ms(n: i64) -> Vec<u8> {
    n.to_string().into_bytes()
}

/// Commands whose nested commands are logged one by one (wrapped in MULTI/EXEC), never
/// the command itself.
const CONTAINERS: &[&str] = &[
    "exec",
    "eval",
    "evalsha",
    "eval_ro",
    "evalsha_ro",
    "fcall",
    "fcall_ro",
    "script",
];

/// What a command that just ran logs.
pub enum Effect {
    /// Its own arguments, unchanged (most commands: no copy is made).
    Same,
    /// These commands instead.
    Cmds(Vec<Cmd>),
}

/// The commands to log for the command that just ran, or None for nothing.
pub fn effect(ctx: &mut Ctx, args: &[&[u8]], reply_start: usize) -> Option<Effect> {
    if let Some(p) = ctx.propagate.take() {
        return (!p.is_empty()).then_some(Effect::Cmds(p));
    }
    let name = ctx.cmd.name;
    // the common case first: a plain SET (no expiry to make absolute) logs itself
    if name == "set" && args.len() == 3 {
        return Some(Effect::Same);
    }
    if CONTAINERS.contains(&name) {
        return None;
    }
    let now = ctx.now;
    let reply = &ctx.out.as_bytes()[reply_start.min(ctx.out.len())..];
    let out = match name {
        "set" => set(args, now),
        "setex" | "psetex" if args.len() == 4 => {
            let n = parse_i64(args[2]).unwrap_or(0);
            let at = if name == "setex" {
                now.saturating_add(n.saturating_mul(1000))
            } else {
                now.saturating_add(n)
            };
            vec![v(&[b"SET", args[1], args[3], b"PXAT", &ms(at)])]
        }
        "expire" | "pexpire" | "expireat" | "pexpireat" if args.len() >= 3 => {
            let n = parse_i64(args[2]).unwrap_or(0);
            let at = match name {
                "expire" => now.saturating_add(n.saturating_mul(1000)),
                "pexpire" => now.saturating_add(n),
                "expireat" => n.saturating_mul(1000),
                _ => n,
            };
            vec![expire_at(args[1], at, now)]
        }
        "getex" if args.len() >= 3 => {
            let mut cmd = None;
            let mut i = 2;
            while i < args.len() {
                let a = args[i];
                let val = args.get(i + 1).and_then(|x| parse_i64(x));
                if is(a, "persist") {
                    cmd = Some(v(&[b"PERSIST", args[1]]));
                } else if let Some(n) = val {
                    let at = if is(a, "ex") {
                        Some(now.saturating_add(n.saturating_mul(1000)))
                    } else if is(a, "px") {
                        Some(now.saturating_add(n))
                    } else if is(a, "exat") {
                        Some(n.saturating_mul(1000))
                    } else if is(a, "pxat") {
                        Some(n)
                    } else {
                        None
                    };
                    if let Some(at) = at {
                        cmd = Some(expire_at(args[1], at, now));
                        i += 1;
                    }
                }
                i += 1;
            }
            cmd.into_iter().collect()
        }
        "getdel" => vec![v(&[b"DEL", args[1]])],
        "incrbyfloat" => {
            let val = super::resp::reply_strings(reply)?.pop()?;
            vec![v(&[b"SET", args[1], &val, b"KEEPTTL"])]
        }
        "hincrbyfloat" if args.len() == 4 => {
            let val = super::resp::reply_strings(reply)?.pop()?;
            vec![v(&[b"HSET", args[1], args[2], &val])]
        }
        "spop" => {
            let members = super::resp::reply_strings(reply)?;
            if members.is_empty() {
                return None;
            }
            let mut c = v(&[b"SREM", args[1]]);
            c.extend(members);
            vec![c]
        }
        "restore" if args.len() >= 4 => restore(args, now),
        _ => return Some(Effect::Same),
    };
    (!out.is_empty()).then_some(Effect::Cmds(out))
}

/// An absolute expiry; one already past deletes the key, and the log says DEL.
fn expire_at(key: &[u8], at: i64, now: i64) -> Cmd {
    if at <= now {
        v(&[b"DEL", key])
    } else {
        v(&[b"PEXPIREAT", key, &ms(at)])
    }
}

/// SET with EX/PX/EXAT becomes SET ... PXAT <absolute ms>.
fn set(args: &[&[u8]], now: i64) -> Vec<Cmd> {
    let mut c: Cmd = Vec::with_capacity(args.len());
    let mut i = 0;
    while i < args.len() {
        let a = args[i];
        if i >= 3 && i + 1 < args.len() {
            let n = parse_i64(args[i + 1]).unwrap_or(0);
            let at = if is(a, "ex") {
                Some(now.saturating_add(n.saturating_mul(1000)))
            } else if is(a, "px") {
                Some(now.saturating_add(n))
            } else if is(a, "exat") {
                Some(n.saturating_mul(1000))
            } else {
                None
            };
            if let Some(at) = at {
                c.push(b"PXAT".to_vec());
                c.push(ms(at));
                i += 2;
                continue;
            }
        }
        c.push(a.to_vec());
        i += 1;
    }
    vec![c]
}

/// RESTORE with a relative TTL gets it absolute (ABSTTL).
fn restore(args: &[&[u8]], now: i64) -> Vec<Cmd> {
    let abs = args[4..].iter().any(|a| is(a, "absttl"));
    let ttl = parse_i64(args[2]).unwrap_or(0);
    if abs || ttl <= 0 {
        return vec![owned(args)];
    }
    let mut c = owned(args);
    c[2] = ms(now.saturating_add(ttl));
    c.push(b"ABSTTL".to_vec());
    vec![c]
}

/// Notes which keys (or whole databases) a logged command changed while a rewrite runs.
pub fn touch(t: &mut Touched, db: usize, refs: &[&[u8]]) {
    {
        let Some(&name) = refs.first() else { return };
        let lname = String::from_utf8_lossy(name).to_ascii_lowercase();
        match lname.as_str() {
            "flushall" => {
                t.dbs.insert(usize::MAX);
                return;
            }
            "flushdb" => {
                t.dbs.insert(db);
                return;
            }
            "swapdb" => {
                t.dbs.insert(db);
                for a in &refs[1..] {
                    if let Some(n) = parse_i64(a).filter(|n| *n >= 0) {
                        t.dbs.insert(n as usize);
                    }
                }
                return;
            }
            "move" if refs.len() == 3 => {
                if let Some(n) = parse_i64(refs[2]).filter(|n| *n >= 0) {
                    t.keys.insert((n as usize, refs[1].to_vec()));
                }
            }
            "copy" => {
                if let Some(p) = refs.iter().position(|a| is(a, "db")) {
                    if let Some(n) = refs.get(p + 1).and_then(|x| parse_i64(x)) {
                        if n >= 0 && refs.len() > 2 {
                            t.keys.insert((n as usize, refs[2].to_vec()));
                        }
                    }
                }
            }
            _ => {}
        }
        match crate::commands::table::lookup(name) {
            Some(cmd) => {
                let pos = cmd.key_positions_in(refs);
                if pos.is_empty() && !lname.starts_with("function") {
                    // a write that names no key may have changed any of them
                    t.dbs.insert(db);
                }
                for p in pos {
                    if let Some(k) = refs.get(p) {
                        t.keys.insert((db, k.to_vec()));
                    }
                }
            }
            None => {
                t.dbs.insert(db);
            }
        }
    }
}
