//! String commands.

use super::flags::*;
use super::{acl, int_arg, is, CmdError, CmdResult, Command, Ctx};
use crate::pubsub::class;
use crate::store::{NewValue, Node, Object, Shard, ValueRef};
use std::sync::atomic::Ordering::Relaxed;

pub(crate) mod ldouble;

const STR: u64 = acl::STRING;

const RANGE_COMPLEXITY: &str = "O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.";

pub static COMMANDS: &[Command] = &[
    Command::new("get", 2, READONLY | FAST, get)
        .keys(1, 1, 1)
        .acl(STR)
        .doc("string", "1.0.0", "Returns the string value of a key.", "O(1)"),
    Command::new("set", -3, WRITE | DENYOOM, set)
        .keys(1, 1, 1)
        .acl(STR)
        .doc(
            "string",
            "1.0.0",
            "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
            "O(1)",
        ),
    Command::new("setnx", 3, WRITE | DENYOOM | FAST, setnx)
        .keys(1, 1, 1)
        .acl(STR)
        .doc("string", "1.0.0", "Set the string value of a key only when the key doesn't exist.", "O(1)"),
    Command::new("setex", 4, WRITE | DENYOOM, setex)
        .keys(1, 1, 1)
        .acl(STR)
        .doc(
            "string",
            "2.0.0",
            "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.",
            "O(1)",
        ),
    Command::new("psetex", 4, WRITE | DENYOOM, psetex)
        .keys(1, 1, 1)
        .acl(STR)
        .doc(
            "string",
            "2.6.0",
            "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.",
            "O(1)",
        ),
    Command::new("getset", 3, WRITE | DENYOOM | FAST, getset)
        .keys(1, 1, 1)
        .acl(STR)
        .doc(
            "string",
            "1.0.0",
            "Returns the previous string value of a key after setting it to a new value.",
            "O(1)",
        ),
    Command::new("getdel", 2, WRITE | FAST, getdel)
        .keys(1, 1, 1)
        .acl(STR)
        .doc("string", "6.2.0", "Returns the string value of a key after deleting the key.", "O(1)"),
    Command::new("getex", -2, WRITE | FAST, getex)
        .keys(1, 1, 1)
        .acl(STR)
        .doc("string", "6.2.0", "Returns the string value of a key after setting its expiration time.", "O(1)"),
    Command::new("mget", -2, READONLY | FAST, mget)
        .keys(1, -1, 1)
        .acl(STR)
        .doc(
            "string",
            "1.0.0",
            "Atomically returns the string values of one or more keys.",
            "O(N) where N is the number of keys to retrieve.",
        ),
    Command::new("mset", -3, WRITE | DENYOOM, mset)
        .keys(1, -1, 2)
        .acl(STR)
        .doc(
            "string",
            "1.0.1",
            "Atomically creates or modifies the string values of one or more keys.",
            "O(N) where N is the number of keys to set.",
        ),
    Command::new("msetnx", -3, WRITE | DENYOOM, msetnx)
        .keys(1, -1, 2)
        .acl(STR)
        .doc(
            "string",
            "1.0.1",
            "Atomically modifies the string values of one or more keys only when all keys don't exist.",
            "O(N) where N is the number of keys to set.",
        ),
    Command::new("append", 3, WRITE | DENYOOM | FAST, append)
        .keys(1, 1, 1)
        .acl(STR)
        .doc(
            "string",
            "2.0.0",
            "Appends a string to the value of a key. Creates the key if it doesn't exist.",
            "O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present value is of any size, since the dynamic string library used by the server will double the free space available on every reallocation.",
        ),
    Command::new("strlen", 2, READONLY | FAST, strlen)
        .keys(1, 1, 1)
        .acl(STR)
        .doc("string", "2.2.0", "Returns the length of a string value.", "O(1)"),
    Command::new("incr", 2, WRITE | DENYOOM | FAST, incr)
        .keys(1, 1, 1)
        .acl(STR)
        .doc(
            "string",
            "1.0.0",
            "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
            "O(1)",
        ),
    Command::new("decr", 2, WRITE | DENYOOM | FAST, decr)
        .keys(1, 1, 1)
        .acl(STR)
        .doc(
            "string",
            "1.0.0",
            "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
            "O(1)",
        ),
    Command::new("incrby", 3, WRITE | DENYOOM | FAST, incrby)
        .keys(1, 1, 1)
        .acl(STR)
        .doc(
            "string",
            "1.0.0",
            "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
            "O(1)",
        ),
    Command::new("decrby", 3, WRITE | DENYOOM | FAST, decrby)
        .keys(1, 1, 1)
        .acl(STR)
        .doc(
            "string",
            "1.0.0",
            "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.",
            "O(1)",
        ),
    Command::new("incrbyfloat", 3, WRITE | DENYOOM | FAST, incrbyfloat)
        .keys(1, 1, 1)
        .acl(STR)
        .doc(
            "string",
            "2.6.0",
            "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
            "O(1)",
        ),
    Command::new("getrange", 4, READONLY, getrange)
        .keys(1, 1, 1)
        .acl(STR)
        .doc("string", "2.4.0", "Returns a substring of the string stored at a key.", RANGE_COMPLEXITY),
    Command::new("substr", 4, READONLY, getrange)
        .keys(1, 1, 1)
        .acl(STR)
        .doc("string", "1.0.0", "Returns a substring from a string value.", RANGE_COMPLEXITY),
    Command::new("setrange", 4, WRITE | DENYOOM, setrange)
        .keys(1, 1, 1)
        .acl(STR)
        .doc(
            "string",
            "2.2.0",
            "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.",
            "O(1), not counting the time taken to copy the new string in place. Usually, this string is very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M being the length of the value argument.",
        ),
    Command::new("lcs", -3, READONLY, lcs)
        .keys(1, 2, 1)
        .acl(STR)
        .doc(
            "string",
            "7.0.0",
            "Finds the longest common substring.",
            "O(N*M) where N and M are the lengths of s1 and s2, respectively",
        ),
];

/// Reads a string value: Ok(None) if the key is absent, WRONGTYPE for other types.
pub fn read_str<'a>(
    shard: &'a mut Shard,
    key: &[u8],
    now: i64,
) -> Result<Option<&'a [u8]>, CmdError> {
    match shard.get(key, now) {
        None => Ok(None),
        Some(n) => match n.value() {
            v @ ValueRef::Str(_) => Ok(v.as_str()),
            v => v.as_str().map(Some).ok_or(CmdError::WrongType),
        },
    }
}

/// The bytes of a string node, WRONGTYPE for other types.
fn str_of(n: &Node) -> Result<&[u8], CmdError> {
    n.value().as_str().ok_or(CmdError::WrongType)
}

/// The string of a node as a growable buffer (Valkey's "raw" encoding), for in-place
/// edits; None for other types.
// Object has more variants than strings once other families land.
#[allow(irrefutable_let_patterns)]
fn raw_mut(n: &mut Node) -> Option<&mut Vec<u8>> {
    n.value().as_str()?;
    if let Object::Str(s) = n.obj_mut() {
        Some(s)
    } else {
        None
    }
}

/// Refuses a string that would grow past `proto-max-bulk-len`.
fn check_string_length(ctx: &Ctx, total: u64) -> CmdResult {
    let max = ctx.srv.config.hot.proto_max_bulk_len.load(Relaxed) as u64;
    if total > max {
        return Err(CmdError::err(
            "string exceeds maximum allowed size (proto-max-bulk-len)",
        ));
    }
    Ok(())
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
pub fn expire_at(
    now: i64,
    raw: &[u8],
    unit_ms: i64,
    absolute: bool,
    cmd: &str,
) -> Result<i64, CmdError> {
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    Ex,
    Px,
    ExAt,
    PxAt,
}

impl Unit {
    fn parse(a: &[u8]) -> Option<Unit> {
        if is(a, "ex") {
            Some(Unit::Ex)
        } else if is(a, "px") {
            Some(Unit::Px)
        } else if is(a, "exat") {
            Some(Unit::ExAt)
        } else if is(a, "pxat") {
            Some(Unit::PxAt)
        } else {
            None
        }
    }

    fn ms(self) -> i64 {
        match self {
            Unit::Ex | Unit::ExAt => 1000,
            Unit::Px | Unit::PxAt => 1,
        }
    }

    fn absolute(self) -> bool {
        matches!(self, Unit::ExAt | Unit::PxAt)
    }
}

/// Options of SET and GETEX.
#[derive(Default)]
struct Ext<'a> {
    nx: bool,
    xx: bool,
    ifeq: Option<&'a [u8]>,
    get: bool,
    keepttl: bool,
    persist: bool,
    expire: Option<(Unit, &'a [u8])>,
}

/// Valkey's shared SET/GETEX option grammar: an option may be repeated (the last expiry
/// wins), but conflicting ones, or SET-only options on GETEX, are a syntax error. Values
/// are only checked afterwards, so a syntax error anywhere wins over a bad number.
fn parse_ext<'a>(opts: &[&'a [u8]], set: bool) -> Result<Ext<'a>, CmdError> {
    let mut o = Ext::default();
    let mut i = 0;
    while let Some(&a) = opts.get(i) {
        let next = opts.get(i + 1).copied();
        let unit = Unit::parse(a);
        if set && is(a, "nx") && !o.xx && o.ifeq.is_none() {
            o.nx = true;
        } else if set && is(a, "xx") && !o.nx && o.ifeq.is_none() {
            o.xx = true;
        } else if set && is(a, "ifeq") && !o.nx && !o.xx && o.ifeq.is_none() && next.is_some() {
            o.ifeq = next;
            i += 1;
        } else if set && is(a, "get") {
            o.get = true;
        } else if set && is(a, "keepttl") && o.expire.is_none() {
            o.keepttl = true;
        } else if !set && is(a, "persist") && o.expire.is_none() {
            o.persist = true;
        } else if let (Some(u), Some(v)) = (unit, next) {
            if o.keepttl || o.persist || o.expire.is_some_and(|(x, _)| x != u) {
                return Err(CmdError::Syntax);
            }
            o.expire = Some((u, v));
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    Ok(o)
}

/// Resolves a parsed expiry to absolute milliseconds, with the error naming the command.
fn resolve_expire(ctx: &Ctx, e: Option<(Unit, &[u8])>) -> Result<Option<(Unit, i64)>, CmdError> {
    e.map(|(u, raw)| expire_at(ctx.now, raw, u.ms(), u.absolute(), ctx.cmd.name).map(|ms| (u, ms)))
        .transpose()
}

/// How a SET-like command writes.
#[derive(Default)]
struct SetHow<'a> {
    nx: bool,
    xx: bool,
    ifeq: Option<&'a [u8]>,
    /// Reply with the old value (written here, before the write).
    get: bool,
    keepttl: bool,
    /// Absolute expiry in unix milliseconds.
    when: Option<i64>,
}

/// The common core of SET, SETNX, SETEX, PSETEX and GETSET. With `get` the old value is
/// the reply and is written here; otherwise the caller replies. Returns whether the
/// conditions let the write happen.
fn set_generic(ctx: &mut Ctx, key: &[u8], val: &[u8], how: &SetHow) -> Result<bool, CmdError> {
    let now = ctx.now;
    let mut shard = ctx.db().lock(key);
    // a plain SET needs no look at the old value
    if how.get || how.nx || how.xx || how.ifeq.is_some() {
        let (found, equal) = match shard.get(key, now) {
            None => {
                if how.get {
                    ctx.out.null();
                }
                (false, false)
            }
            Some(n) => {
                let cur = n.value().as_str();
                if cur.is_none() && (how.get || how.ifeq.is_some()) {
                    return Err(CmdError::WrongType);
                }
                if how.get {
                    if let Some(s) = cur {
                        ctx.out.bulk(s);
                    }
                }
                (true, how.ifeq.is_some() && cur == how.ifeq)
            }
        };
        if (how.ifeq.is_some() && !equal) || (how.nx && found) || (how.xx && !found) {
            return Ok(false);
        }
    }
    match how.when {
        // an expiry already in the past: the value would be gone at once, so it is never
        // stored and whatever was there goes
        Some(when) if when <= now => {
            if shard.delete(key, now).is_some() {
                ctx.dirty += 1;
                ctx.notify(class::EXPIRED, "expired", key);
            }
        }
        when => {
            if how.keepttl {
                shard.set_keep_ttl(key, NewValue::Str(val), now);
            } else {
                shard.set(key, NewValue::Str(val), when, now);
            }
            ctx.dirty += 1;
            ctx.notify(class::STRING, "set", key);
            if when.is_some() {
                ctx.notify(class::GENERIC, "expire", key);
            }
        }
    }
    Ok(true)
}

fn set(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let o = parse_ext(&args[3..], true)?;
    let how = SetHow {
        nx: o.nx,
        xx: o.xx,
        ifeq: o.ifeq,
        get: o.get,
        keepttl: o.keepttl,
        when: resolve_expire(ctx, o.expire)?.map(|(_, ms)| ms),
    };
    let done = set_generic(ctx, args[1], args[2], &how)?;
    if !how.get {
        if done {
            ctx.out.ok();
        } else {
            ctx.out.null();
        }
    }
    Ok(())
}

fn setnx(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let how = SetHow {
        nx: true,
        ..Default::default()
    };
    let done = set_generic(ctx, args[1], args[2], &how)?;
    ctx.out.int(done as i64);
    Ok(())
}

fn setex_generic(ctx: &mut Ctx, args: &[&[u8]], unit: Unit) -> CmdResult {
    let when = expire_at(ctx.now, args[2], unit.ms(), false, ctx.cmd.name)?;
    let how = SetHow {
        when: Some(when),
        ..Default::default()
    };
    set_generic(ctx, args[1], args[3], &how)?;
    ctx.out.ok();
    Ok(())
}

fn setex(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    setex_generic(ctx, args, Unit::Ex)
}

fn psetex(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    setex_generic(ctx, args, Unit::Px)
}

fn getset(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let how = SetHow {
        get: true,
        ..Default::default()
    };
    set_generic(ctx, args[1], args[2], &how)?;
    Ok(())
}

fn getdel(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let key = args[1];
    let mut shard = ctx.db().lock(key);
    let found = match read_str(&mut shard, key, ctx.now)? {
        Some(v) => {
            ctx.out.bulk(v);
            true
        }
        None => {
            ctx.out.null();
            false
        }
    };
    if found {
        shard.remove(key);
        ctx.dirty += 1;
        ctx.notify(class::GENERIC, "del", key);
    }
    Ok(())
}

fn getex(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let key = args[1];
    let o = parse_ext(&args[2..], false)?;
    let now = ctx.now;
    let mut shard = ctx.db().lock(key);
    let Some(n) = shard.get(key, now) else {
        ctx.out.null();
        return Ok(());
    };
    let v = str_of(n)?;
    // the expiry is checked only once the key is known to hold a string
    let when = resolve_expire(ctx, o.expire)?;
    ctx.out.bulk(v);
    let had_ttl = n.expire().is_some();
    match when {
        Some((u, ms)) if u.absolute() && ms <= now => {
            shard.remove(key);
            ctx.dirty += 1;
            ctx.notify(class::EXPIRED, "expired", key);
        }
        Some((_, ms)) => {
            shard.set_expire(key, Some(ms), now);
            ctx.dirty += 1;
            ctx.notify(class::GENERIC, "expire", key);
        }
        None if o.persist && had_ttl => {
            shard.set_expire(key, None, now);
            ctx.dirty += 1;
            ctx.notify(class::GENERIC, "persist", key);
        }
        None => {}
    }
    Ok(())
}

fn mget(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let keys = &args[1..];
    let now = ctx.now;
    let db = ctx.db();
    let mut locks = db.lock_keys(keys.iter().copied());
    ctx.out.array(keys.len());
    for k in keys {
        match locks.shard(k).get(k, now).and_then(|n| n.value().as_str()) {
            Some(v) => ctx.out.bulk(v),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

fn mset_generic(ctx: &mut Ctx, args: &[&[u8]], nx: bool) -> CmdResult {
    if args.len().is_multiple_of(2) {
        return Err(CmdError::msg(format!(
            "ERR wrong number of arguments for '{}' command",
            ctx.cmd.name
        )));
    }
    let pairs = &args[1..];
    let now = ctx.now;
    let db = ctx.db();
    let mut locks = db.lock_keys(pairs.iter().step_by(2).copied());
    if nx
        && pairs
            .chunks_exact(2)
            .any(|p| locks.shard(p[0]).contains(p[0], now))
    {
        ctx.out.int(0);
        return Ok(());
    }
    for p in pairs.chunks_exact(2) {
        locks.shard(p[0]).set(p[0], NewValue::Str(p[1]), None, now);
        ctx.notify(class::STRING, "set", p[0]);
    }
    drop(locks);
    ctx.dirty += (pairs.len() / 2) as u64;
    if nx {
        ctx.out.int(1);
    } else {
        ctx.out.ok();
    }
    Ok(())
}

fn mset(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    mset_generic(ctx, args, false)
}

fn msetnx(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    mset_generic(ctx, args, true)
}

fn append(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let (key, add) = (args[1], args[2]);
    let now = ctx.now;
    let mut shard = ctx.db().lock(key);
    let total = match shard.get_mut(key, now) {
        None => {
            shard.set(key, NewValue::Str(add), None, now);
            add.len()
        }
        Some(n) => {
            let cur = str_of(n)?.len();
            check_string_length(ctx, cur as u64 + add.len() as u64)?;
            let s = raw_mut(n).ok_or(CmdError::WrongType)?;
            s.extend_from_slice(add);
            s.len()
        }
    };
    drop(shard);
    ctx.dirty += 1;
    ctx.notify(class::STRING, "append", key);
    ctx.out.int(total as i64);
    Ok(())
}

fn strlen(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let mut shard = ctx.db().lock(args[1]);
    let n = read_str(&mut shard, args[1], ctx.now)?.map_or(0, <[u8]>::len);
    ctx.out.int(n as i64);
    Ok(())
}

fn incr_generic(ctx: &mut Ctx, key: &[u8], delta: i64) -> CmdResult {
    let now = ctx.now;
    let mut shard = ctx.db().lock(key);
    let cur = match shard.get(key, now) {
        None => 0,
        Some(n) => int_arg(str_of(n)?)?,
    };
    let v = cur.checked_add(delta).ok_or(CmdError::Overflow)?;
    let mut buf = itoa::Buffer::new();
    shard.set_keep_ttl(key, NewValue::Str(buf.format(v).as_bytes()), now);
    drop(shard);
    ctx.dirty += 1;
    ctx.notify(class::STRING, "incrby", key);
    ctx.out.int(v);
    Ok(())
}

fn incr(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    incr_generic(ctx, args[1], 1)
}

fn decr(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    incr_generic(ctx, args[1], -1)
}

fn incrby(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let by = int_arg(args[2])?;
    incr_generic(ctx, args[1], by)
}

fn decrby(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let by = int_arg(args[2])?;
    if by == i64::MIN {
        return Err(CmdError::err("decrement would overflow"));
    }
    incr_generic(ctx, args[1], -by)
}

fn incrbyfloat(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let key = args[1];
    let now = ctx.now;
    let mut shard = ctx.db().lock(key);
    let cur = match shard.get(key, now) {
        None => ldouble::LongDouble::Zero { neg: false },
        Some(n) => ldouble::parse(str_of(n)?).ok_or(CmdError::NotFloat)?,
    };
    let by = ldouble::parse(args[2]).ok_or(CmdError::NotFloat)?;
    let sum = ldouble::add(cur, by);
    if !sum.is_finite() {
        return Err(CmdError::err("increment would produce NaN or Infinity"));
    }
    let s = ldouble::format_human(sum);
    shard.set_keep_ttl(key, NewValue::Str(s.as_bytes()), now);
    drop(shard);
    ctx.dirty += 1;
    ctx.notify(class::STRING, "incrbyfloat", key);
    ctx.out.bulk(s.as_bytes());
    Ok(())
}

/// The bytes GETRANGE returns: negative indexes count from the end, the range is
/// clamped to the string, and an inverted range is empty.
fn byte_range(s: &[u8], mut start: i64, mut end: i64) -> &[u8] {
    let len = s.len() as i64;
    if start < 0 && end < 0 && start > end {
        return &[];
    }
    if start < 0 {
        start = (start + len).max(0);
    }
    if end < 0 {
        end = (end + len).max(0);
    }
    end = end.min(len - 1);
    if start > end || len == 0 {
        return &[];
    }
    s.get(start as usize..=end as usize).unwrap_or_default()
}

fn getrange(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let start = int_arg(args[2])?;
    let end = int_arg(args[3])?;
    let mut shard = ctx.db().lock(args[1]);
    let v = read_str(&mut shard, args[1], ctx.now)?.unwrap_or_default();
    ctx.out.bulk(byte_range(v, start, end));
    Ok(())
}

fn setrange(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let (key, val) = (args[1], args[3]);
    let offset = int_arg(args[2])?;
    if offset < 0 {
        return Err(CmdError::err("offset is out of range"));
    }
    let now = ctx.now;
    let mut shard = ctx.db().lock(key);
    let total = match shard.get_mut(key, now) {
        None => {
            if val.is_empty() {
                drop(shard);
                ctx.out.int(0);
                return Ok(());
            }
            check_string_length(ctx, offset as u64 + val.len() as u64)?;
            let start = offset as usize;
            let mut v = vec![0u8; start + val.len()];
            v[start..].copy_from_slice(val);
            let total = v.len();
            shard.set(key, NewValue::Obj(Object::Str(v)), None, now);
            total
        }
        Some(n) => {
            let olen = str_of(n)?.len();
            if val.is_empty() {
                drop(shard);
                ctx.out.int(olen as i64);
                return Ok(());
            }
            check_string_length(ctx, offset as u64 + val.len() as u64)?;
            let (start, end) = (offset as usize, offset as usize + val.len());
            let s = raw_mut(n).ok_or(CmdError::WrongType)?;
            if s.len() < end {
                s.resize(end, 0);
            }
            s[start..end].copy_from_slice(val);
            s.len()
        }
    };
    drop(shard);
    ctx.dirty += 1;
    ctx.notify(class::STRING, "setrange", key);
    ctx.out.int(total as i64);
    Ok(())
}

/// One common run found by LCS: inclusive ranges in the first and second string.
#[derive(Clone, Copy)]
struct Run {
    a_start: usize,
    a_end: usize,
    b_start: usize,
    b_end: usize,
}

fn lcs(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let now = ctx.now;
    // copy both strings out so the quadratic work below holds no lock
    let (a, b) = {
        let db = ctx.db();
        let mut locks = db.lock_keys([args[1], args[2]]);
        let mut read = |k: &[u8]| match locks.shard(k).get(k, now) {
            None => Ok(Vec::new()),
            Some(n) => n
                .value()
                .as_str()
                .map(<[u8]>::to_vec)
                .ok_or_else(|| CmdError::err("The specified keys must contain string values")),
        };
        let a = read(args[1]);
        let b = read(args[2]);
        (a?, b?)
    };
    let (mut getlen, mut getidx, mut withmatchlen, mut minmatchlen) = (false, false, false, 0i64);
    let mut i = 3;
    while let Some(&opt) = args.get(i) {
        if is(opt, "idx") {
            getidx = true;
        } else if is(opt, "len") {
            getlen = true;
        } else if is(opt, "withmatchlen") {
            withmatchlen = true;
        } else if let (true, Some(&n)) = (is(opt, "minmatchlen"), args.get(i + 1)) {
            minmatchlen = int_arg(n)?.max(0);
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if getlen && getidx {
        return Err(CmdError::err(
            "If you want both the length and indexes, please just use IDX.",
        ));
    }
    let limit = u32::MAX as usize - 1;
    if a.len() >= limit || b.len() >= limit {
        return Err(CmdError::err("String too long for LCS"));
    }
    let (alen, blen) = (a.len(), b.len());
    let w = blen + 1;
    let cells = (alen as u64 + 1) * (blen as u64 + 1);
    let failed =
        || CmdError::err("Insufficient memory, failed allocating transient memory for LCS");
    let bytes = cells.checked_mul(4).ok_or_else(failed)?;
    if bytes > ctx.srv.config.hot.proto_max_bulk_len.load(Relaxed) as u64 {
        return Err(CmdError::err(
            "Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    // table[i * w + j]: LCS length of a[..i] and b[..j]
    let mut table: Vec<u32> = Vec::new();
    table
        .try_reserve_exact(cells as usize)
        .map_err(|_| failed())?;
    table.resize(cells as usize, 0);
    for i in 1..=alen {
        for j in 1..=blen {
            table[i * w + j] = if a[i - 1] == b[j - 1] {
                table[(i - 1) * w + j - 1] + 1
            } else {
                table[(i - 1) * w + j].max(table[i * w + j - 1])
            };
        }
    }
    let total = table[alen * w + blen] as usize;

    // Walk back from the end, rebuilding the common string and the runs of consecutive
    // matches, in the order Valkey reports them (last run first).
    let mut common = vec![0u8; total];
    let mut runs: Vec<Run> = Vec::new();
    let mut cur: Option<Run> = None;
    let (mut i, mut j, mut left) = (alen, blen, total);
    while (getidx || !getlen) && i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            common[left - 1] = a[i - 1];
            match cur.as_mut() {
                None => {
                    cur = Some(Run {
                        a_start: i - 1,
                        a_end: i - 1,
                        b_start: j - 1,
                        b_end: j - 1,
                    })
                }
                Some(r) if r.a_start == i && r.b_start == j => {
                    r.a_start -= 1;
                    r.b_start -= 1;
                }
                Some(_) => emit = true,
            }
            if cur.is_some_and(|r| r.a_start == 0 || r.b_start == 0) {
                emit = true;
            }
            left -= 1;
            i -= 1;
            j -= 1;
        } else {
            if table[(i - 1) * w + j] > table[i * w + j - 1] {
                i -= 1;
            } else {
                j -= 1;
            }
            emit = cur.is_some();
        }
        if emit {
            if let Some(r) = cur.take() {
                let len = r.a_end - r.a_start + 1;
                if minmatchlen == 0 || len as i64 >= minmatchlen {
                    runs.push(r);
                }
            }
        }
    }

    if getidx {
        ctx.out.map(2);
        ctx.out.bulk(b"matches");
        ctx.out.array(runs.len());
        for r in &runs {
            ctx.out.array(2 + withmatchlen as usize);
            ctx.out.array(2);
            ctx.out.int(r.a_start as i64);
            ctx.out.int(r.a_end as i64);
            ctx.out.array(2);
            ctx.out.int(r.b_start as i64);
            ctx.out.int(r.b_end as i64);
            if withmatchlen {
                ctx.out.int((r.a_end - r.a_start + 1) as i64);
            }
        }
        ctx.out.bulk(b"len");
        ctx.out.int(total as i64);
    } else if getlen {
        ctx.out.int(total as i64);
    } else {
        ctx.out.bulk(&common);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_ranges_follow_getrange() {
        let s = b"Hello World";
        assert_eq!(byte_range(s, 0, 3), b"Hell");
        assert_eq!(byte_range(s, 0, -1), s);
        assert_eq!(byte_range(s, -4, -1), b"orld");
        assert_eq!(byte_range(s, 5, 3), b"");
        assert_eq!(byte_range(s, 5, 5000), b" World");
        assert_eq!(byte_range(s, -5000, 10000), s);
        assert_eq!(byte_range(s, -1, -3), b"");
        assert_eq!(byte_range(s, i64::MIN, i64::MAX), s);
        assert_eq!(byte_range(s, i64::MAX, i64::MAX), b"");
        assert_eq!(byte_range(b"", 0, -1), b"");
        assert_eq!(byte_range(b"", -1, 0), b"");
    }

    #[test]
    fn option_grammar() {
        let p = |s: &str, set: bool| {
            let v: Vec<&[u8]> = s.split_whitespace().map(str::as_bytes).collect();
            parse_ext(&v, set).map(|o| {
                (
                    o.nx,
                    o.xx,
                    o.get,
                    o.keepttl,
                    o.persist,
                    o.expire.map(|e| e.0),
                )
            })
        };
        assert!(p("nx nx get get", true).is_ok());
        assert_eq!(p("ex 1 ex 2", true).map(|o| o.5), Ok(Some(Unit::Ex)));
        assert_eq!(p("nx xx", true).err(), Some(CmdError::Syntax));
        assert_eq!(p("ifeq a nx", true).err(), Some(CmdError::Syntax));
        assert_eq!(p("xx ifeq a", true).err(), Some(CmdError::Syntax));
        assert_eq!(p("ifeq", true).err(), Some(CmdError::Syntax));
        assert_eq!(p("ex 1 px 1", true).err(), Some(CmdError::Syntax));
        assert_eq!(p("keepttl ex 1", true).err(), Some(CmdError::Syntax));
        assert_eq!(p("ex 1 keepttl", true).err(), Some(CmdError::Syntax));
        assert_eq!(p("ex", true).err(), Some(CmdError::Syntax));
        assert_eq!(p("ex abc bogus", true).err(), Some(CmdError::Syntax));
        assert_eq!(p("persist", true).err(), Some(CmdError::Syntax));
        assert_eq!(p("persist persist", false).map(|o| o.4), Ok(true));
        assert_eq!(p("persist ex 1", false).err(), Some(CmdError::Syntax));
        assert_eq!(p("ex 1 persist", false).err(), Some(CmdError::Syntax));
        assert_eq!(p("nx", false).err(), Some(CmdError::Syntax));
        assert_eq!(p("keepttl", false).err(), Some(CmdError::Syntax));
        assert_eq!(p("get", false).err(), Some(CmdError::Syntax));
    }
}
