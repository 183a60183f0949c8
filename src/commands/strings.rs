//! String commands.

use super::flags::*;
use super::{acl, int_arg, is, CmdError, CmdResult, Command, Ctx};
use crate::store::{NewValue, Shard, ValueRef};

const STR: u64 = acl::STRING;

pub static COMMANDS: &[Command] = &[
    Command::new("get", 2, READONLY | FAST, get)
        .keys(1, 1, 1)
        .acl(STR)
        .doc("string", "1.0.0", "Returns the string value of a key.", "O(1)"),
    Command::new("set", -3, WRITE | DENYOOM, set)
        .keys(1, 1, 1)
        .acl(STR)
        .doc("string", "1.0.0", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", "O(1)"),
];

/// Reads a string value: Ok(None) if the key is absent, WRONGTYPE for other types.
pub fn read_str<'a>(shard: &'a mut Shard, key: &[u8], now: i64) -> Result<Option<&'a [u8]>, CmdError> {
    match shard.get(key, now) {
        None => Ok(None),
        Some(n) => match n.value() {
            v @ ValueRef::Str(_) => Ok(v.as_str()),
            v => v.as_str().map(Some).ok_or(CmdError::WrongType),
        },
    }
}

fn get(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let mut shard = ctx.db().lock(args[1]);
    match read_str(&mut shard, args[1], ctx.now)? {
        Some(v) => ctx.out.bulk(v),
        None => ctx.out.null(),
    }
    Ok(())
}

/// Converts a relative or absolute expiry argument to absolute unix milliseconds,
/// refusing non-positive values and overflow with Valkey's message for `cmd`.
pub fn expire_at(now: i64, raw: &[u8], unit_ms: i64, absolute: bool, cmd: &str) -> Result<i64, CmdError> {
    let invalid = || CmdError::err(format!("invalid expire time in '{cmd}' command"));
    let n = int_arg(raw)?;
    if n <= 0 {
        return Err(invalid());
    }
    let ms = n.checked_mul(unit_ms).ok_or_else(invalid)?;
    if absolute {
        Ok(ms)
    } else {
        now.checked_add(ms).ok_or_else(invalid)
    }
}

enum Cond<'a> {
    None,
    Nx,
    Xx,
    IfEq(&'a [u8]),
}

fn set(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let (key, val) = (args[1], args[2]);
    let mut cond = Cond::None;
    let mut get_old = false;
    let mut expire: Option<i64> = None;
    let mut keep_ttl = false;
    let mut i = 3;
    while i < args.len() {
        let a = args[i];
        let next = args.get(i + 1).copied();
        let has_exp = expire.is_some() || keep_ttl;
        if is(a, "nx") && matches!(cond, Cond::None) {
            cond = Cond::Nx;
        } else if is(a, "xx") && matches!(cond, Cond::None) {
            cond = Cond::Xx;
        } else if is(a, "ifeq") && matches!(cond, Cond::None) && next.is_some() {
            cond = Cond::IfEq(next.unwrap_or_default());
            i += 1;
        } else if is(a, "get") {
            get_old = true;
        } else if is(a, "keepttl") && !has_exp {
            keep_ttl = true;
        } else if !has_exp && next.is_some() && (is(a, "ex") || is(a, "px") || is(a, "exat") || is(a, "pxat")) {
            let raw = next.unwrap_or_default();
            let (unit, abs) = if is(a, "ex") {
                (1000, false)
            } else if is(a, "px") {
                (1, false)
            } else if is(a, "exat") {
                (1000, true)
            } else {
                (1, true)
            };
            expire = Some(expire_at(ctx.now, raw, unit, abs, "set")?);
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let now = ctx.now;
    let mut shard = ctx.db().lock(key);
    let old: Option<Vec<u8>>;
    let exists;
    {
        let cur = shard.get(key, now);
        exists = cur.is_some();
        let cur_str = match cur.map(|n| n.value()) {
            None => None,
            Some(v) => match v.as_str() {
                Some(s) => Some(s),
                None if get_old || matches!(cond, Cond::IfEq(_)) => return Err(CmdError::WrongType),
                None => None,
            },
        };
        let proceed = match cond {
            Cond::None => true,
            Cond::Nx => !exists,
            Cond::Xx => exists,
            Cond::IfEq(want) => cur_str == Some(want),
        };
        old = if get_old { cur_str.map(|s| s.to_vec()) } else { None };
        if !proceed {
            drop(shard);
            if get_old {
                match old {
                    Some(o) => ctx.out.bulk(&o),
                    None => ctx.out.null(),
                }
            } else {
                ctx.out.null();
            }
            return Ok(());
        }
    }
    if keep_ttl {
        shard.set_keep_ttl(key, NewValue::Str(val), now);
    } else {
        shard.set(key, NewValue::Str(val), expire, now);
    }
    drop(shard);
    ctx.dirty += 1;
    if get_old {
        match old {
            Some(o) => ctx.out.bulk(&o),
            None => ctx.out.null(),
        }
    } else {
        ctx.out.ok();
    }
    Ok(())
}
