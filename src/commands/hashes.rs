//! Hash commands.

use super::flags::*;
use super::strings::ldouble;
use super::{acl, glob_match, int_arg, is, parse_i64, CmdError, CmdResult, Command, Ctx};
use crate::protocol::Reply;
use crate::pubsub::class;
use crate::store::hash::{Hash, Limits};
use crate::store::{NewValue, Object, Shard, ValueRef};
use rand::seq::SliceRandom;
use rand::Rng;
use std::collections::HashSet;
use std::sync::atomic::Ordering::Relaxed;

const H: u64 = acl::HASH;

const SCAN_COMPLEXITY: &str = "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.";

pub static COMMANDS: &[Command] = &[
    Command::new("hset", -4, WRITE | DENYOOM | FAST, hset)
        .keys(1, 1, 1)
        .acl(H)
        .doc(
            "hash",
            "2.0.0",
            "Creates or modifies the value of a field in a hash.",
            "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs.",
        ),
    Command::new("hsetnx", 4, WRITE | DENYOOM | FAST, hsetnx)
        .keys(1, 1, 1)
        .acl(H)
        .doc("hash", "2.0.0", "Sets the value of a field in a hash only when the field doesn't exist.", "O(1)"),
    Command::new("hget", 3, READONLY | FAST, hget)
        .keys(1, 1, 1)
        .acl(H)
        .doc("hash", "2.0.0", "Returns the value of a field in a hash.", "O(1)"),
    Command::new("hmget", -3, READONLY | FAST, hmget)
        .keys(1, 1, 1)
        .acl(H)
        .doc(
            "hash",
            "2.0.0",
            "Returns the values of all fields in a hash.",
            "O(N) where N is the number of fields being requested.",
        ),
    Command::new("hmset", -4, WRITE | DENYOOM | FAST, hset)
        .keys(1, 1, 1)
        .acl(H)
        .doc(
            "hash",
            "2.0.0",
            "Sets the values of multiple fields.",
            "O(N) where N is the number of fields being set.",
        ),
    Command::new("hdel", -3, WRITE | FAST, hdel)
        .keys(1, 1, 1)
        .acl(H)
        .doc(
            "hash",
            "2.0.0",
            "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.",
            "O(N) where N is the number of fields to be removed.",
        ),
    Command::new("hlen", 2, READONLY | FAST, hlen)
        .keys(1, 1, 1)
        .acl(H)
        .doc("hash", "2.0.0", "Returns the number of fields in a hash.", "O(1)"),
    Command::new("hstrlen", 3, READONLY | FAST, hstrlen)
        .keys(1, 1, 1)
        .acl(H)
        .doc("hash", "3.2.0", "Returns the length of the value of a field.", "O(1)"),
    Command::new("hexists", 3, READONLY | FAST, hexists)
        .keys(1, 1, 1)
        .acl(H)
        .doc("hash", "2.0.0", "Determines whether a field exists in a hash.", "O(1)"),
    Command::new("hkeys", 2, READONLY, hkeys)
        .keys(1, 1, 1)
        .acl(H)
        .doc("hash", "2.0.0", "Returns all fields in a hash.", "O(N) where N is the size of the hash."),
    Command::new("hvals", 2, READONLY, hvals)
        .keys(1, 1, 1)
        .acl(H)
        .doc("hash", "2.0.0", "Returns all values in a hash.", "O(N) where N is the size of the hash."),
    Command::new("hgetall", 2, READONLY, hgetall)
        .keys(1, 1, 1)
        .acl(H)
        .doc("hash", "2.0.0", "Returns all fields and values in a hash.", "O(N) where N is the size of the hash."),
    Command::new("hincrby", 4, WRITE | DENYOOM | FAST, hincrby)
        .keys(1, 1, 1)
        .acl(H)
        .doc(
            "hash",
            "2.0.0",
            "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.",
            "O(1)",
        ),
    Command::new("hincrbyfloat", 4, WRITE | DENYOOM | FAST, hincrbyfloat)
        .keys(1, 1, 1)
        .acl(H)
        .doc(
            "hash",
            "2.6.0",
            "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.",
            "O(1)",
        ),
    Command::new("hrandfield", -2, READONLY, hrandfield)
        .keys(1, 1, 1)
        .acl(H)
        .doc(
            "hash",
            "6.2.0",
            "Returns one or more random fields from a hash.",
            "O(N) where N is the number of fields returned",
        ),
    Command::new("hscan", -3, READONLY, hscan)
        .keys(1, 1, 1)
        .acl(H)
        .doc("hash", "2.8.0", "Iterates over fields and values of a hash.", SCAN_COMPLEXITY),
];

/// The conversion thresholds, read per command so CONFIG SET applies at once.
fn limits(ctx: &Ctx) -> Limits {
    let k = &ctx.srv.config.hot.enc;
    let get = |v: &std::sync::atomic::AtomicI64| usize::try_from(v.load(Relaxed)).unwrap_or(0);
    Limits {
        max_entries: get(&k.hash_entries),
        max_value: get(&k.hash_value),
    }
}

/// Reads a hash: Ok(None) if the key is absent, WRONGTYPE for other types.
fn read_hash<'a>(shard: &'a mut Shard, key: &[u8], now: i64) -> Result<Option<&'a Hash>, CmdError> {
    match shard.get(key, now) {
        None => Ok(None),
        Some(n) => match n.value() {
            ValueRef::Obj(Object::Hash(h)) => Ok(Some(h)),
            _ => Err(CmdError::WrongType),
        },
    }
}

/// The hash at `key` for writing, created empty if absent; WRONGTYPE for other types.
fn write_hash<'a>(shard: &'a mut Shard, key: &[u8], now: i64) -> Result<&'a mut Hash, CmdError> {
    let exists = match shard.get(key, now) {
        None => false,
        Some(n) => match n.value() {
            ValueRef::Obj(Object::Hash(_)) => true,
            _ => return Err(CmdError::WrongType),
        },
    };
    let node = if exists {
        shard.get_mut(key, now).ok_or(CmdError::WrongType)?
    } else {
        shard.set(key, NewValue::Obj(Object::Hash(Hash::default())), None, now)
    };
    // the type was checked above, so obj_mut never has to materialize a string here
    match node.obj_mut() {
        Object::Hash(h) => Ok(h),
        _ => Err(CmdError::WrongType),
    }
}

/// The hash at `key` for modification without creating it.
fn existing_hash<'a>(
    shard: &'a mut Shard,
    key: &[u8],
    now: i64,
) -> Result<Option<&'a mut Hash>, CmdError> {
    if read_hash(shard, key, now)?.is_none() {
        return Ok(None);
    }
    match shard.get_mut(key, now).map(|n| n.obj_mut()) {
        Some(Object::Hash(h)) => Ok(Some(h)),
        _ => Ok(None),
    }
}

fn hset(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    if args.len() % 2 == 1 {
        return Err(CmdError::err(format!(
            "wrong number of arguments for '{}' command",
            ctx.cmd.name
        )));
    }
    let lim = limits(ctx);
    let key = args[1];
    let mut shard = ctx.db().lock(key);
    let h = write_hash(&mut shard, key, ctx.now)?;
    h.prepare_write(&args[2..], lim);
    let mut created = 0;
    for pair in args[2..].chunks_exact(2) {
        created += h.set(pair[0], pair[1], lim) as i64;
    }
    drop(shard);
    if ctx.cmd.name == "hset" {
        ctx.out.int(created);
    } else {
        ctx.out.ok();
    }
    ctx.dirty += ((args.len() - 2) / 2) as u64;
    ctx.notify(class::HASH, "hset", key);
    Ok(())
}

fn hsetnx(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let lim = limits(ctx);
    let key = args[1];
    let mut shard = ctx.db().lock(key);
    let h = write_hash(&mut shard, key, ctx.now)?;
    if h.contains(args[2]) {
        ctx.out.int(0);
        return Ok(());
    }
    h.prepare_write(&args[2..4], lim);
    h.set(args[2], args[3], lim);
    ctx.out.int(1);
    ctx.dirty += 1;
    ctx.notify(class::HASH, "hset", key);
    Ok(())
}

fn hget(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let mut shard = ctx.db().lock(args[1]);
    match read_hash(&mut shard, args[1], ctx.now)?.and_then(|h| h.get(args[2])) {
        Some(v) => ctx.out.bulk(v),
        None => ctx.out.null(),
    }
    Ok(())
}

fn hmget(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let mut shard = ctx.db().lock(args[1]);
    let h = read_hash(&mut shard, args[1], ctx.now)?;
    ctx.out.array(args.len() - 2);
    for f in &args[2..] {
        match h.and_then(|h| h.get(f)) {
            Some(v) => ctx.out.bulk(v),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

fn hdel(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let key = args[1];
    let now = ctx.now;
    let mut shard = ctx.db().lock(key);
    let Some(h) = existing_hash(&mut shard, key, now)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let mut deleted = 0u64;
    for f in &args[2..] {
        if h.remove(f) {
            deleted += 1;
            if h.is_empty() {
                break;
            }
        }
    }
    let emptied = h.is_empty();
    if emptied {
        shard.delete(key, now);
    }
    ctx.dirty += deleted;
    if deleted > 0 {
        ctx.notify(class::HASH, "hdel", key);
        if emptied {
            ctx.notify(class::GENERIC, "del", key);
        }
    }
    ctx.out.int(deleted as i64);
    Ok(())
}

fn hlen(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let mut shard = ctx.db().lock(args[1]);
    let n = read_hash(&mut shard, args[1], ctx.now)?.map_or(0, |h| h.len());
    ctx.out.int(n as i64);
    Ok(())
}

fn hstrlen(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let mut shard = ctx.db().lock(args[1]);
    let n = read_hash(&mut shard, args[1], ctx.now)?
        .and_then(|h| h.get(args[2]))
        .map_or(0, |v| v.len());
    ctx.out.int(n as i64);
    Ok(())
}

fn hexists(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let mut shard = ctx.db().lock(args[1]);
    let found = read_hash(&mut shard, args[1], ctx.now)?.is_some_and(|h| h.contains(args[2]));
    ctx.out.int(found as i64);
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Keys,
    Vals,
    Both,
}

fn getall_generic(ctx: &mut Ctx, key: &[u8], part: Part) -> CmdResult {
    let mut shard = ctx.db().lock(key);
    let h = read_hash(&mut shard, key, ctx.now)?;
    let n = h.map_or(0, |h| h.len());
    if part == Part::Both {
        ctx.out.map(n);
    } else {
        ctx.out.array(n);
    }
    for (f, v) in h.into_iter().flat_map(|h| h.iter()) {
        if part != Part::Vals {
            ctx.out.bulk(f);
        }
        if part != Part::Keys {
            ctx.out.bulk(v);
        }
    }
    Ok(())
}

fn hkeys(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    getall_generic(ctx, args[1], Part::Keys)
}

fn hvals(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    getall_generic(ctx, args[1], Part::Vals)
}

fn hgetall(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    getall_generic(ctx, args[1], Part::Both)
}

fn hincrby(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let incr = int_arg(args[3])?;
    let lim = limits(ctx);
    let key = args[1];
    let mut shard = ctx.db().lock(key);
    let h = write_hash(&mut shard, key, ctx.now)?;
    let cur = match h.get(args[2]) {
        None => 0,
        Some(v) => parse_i64(v).ok_or_else(|| CmdError::err("hash value is not an integer"))?,
    };
    let new = cur.checked_add(incr).ok_or(CmdError::Overflow)?;
    h.set(args[2], itoa::Buffer::new().format(new).as_bytes(), lim);
    drop(shard);
    ctx.out.int(new);
    ctx.dirty += 1;
    ctx.notify(class::HASH, "hincrby", key);
    Ok(())
}

fn hincrbyfloat(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let incr = ldouble::parse(args[3]).ok_or(CmdError::NotFloat)?;
    if !incr.is_finite() {
        return Err(CmdError::err("value is NaN or Infinity"));
    }
    let lim = limits(ctx);
    let key = args[1];
    let mut shard = ctx.db().lock(key);
    let h = write_hash(&mut shard, key, ctx.now)?;
    let cur = match h.get(args[2]) {
        None => ldouble::LongDouble::Zero { neg: false },
        Some(v) => ldouble::parse(v).ok_or_else(|| CmdError::err("hash value is not a float"))?,
    };
    let sum = ldouble::add(cur, incr);
    if !sum.is_finite() {
        return Err(CmdError::err("increment would produce NaN or Infinity"));
    }
    let s = ldouble::format_human(sum);
    h.set(args[2], s.as_bytes(), lim);
    drop(shard);
    ctx.out.bulk(s.as_bytes());
    ctx.dirty += 1;
    ctx.notify(class::HASH, "hincrbyfloat", key);
    Ok(())
}

/// Reply size at which a negative HRANDFIELD count gives up. Valkey streams such a
/// reply until the client's output limit cuts the connection; ferrokey builds a reply
/// in memory before sending it, so an absurd count must fail instead of exhausting it.
const RANDFIELD_MAX_REPLY_BYTES: usize = 512 << 20;

fn hrandfield(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let key = args[1];
    if args.len() == 2 {
        let mut shard = ctx.db().lock(key);
        let mut rng = rand::thread_rng();
        match read_hash(&mut shard, key, ctx.now)?.and_then(|h| h.random(&mut rng)) {
            Some((f, _)) => ctx.out.bulk(f),
            None => ctx.out.null(),
        }
        return Ok(());
    }
    let l = int_arg(args[2])?;
    if l == i64::MIN {
        return Err(CmdError::err(format!(
            "value is out of range, value must between {} and {}",
            -i64::MAX,
            i64::MAX
        )));
    }
    if args.len() > 4 || (args.len() == 4 && !is(args[3], "withvalues")) {
        return Err(CmdError::Syntax);
    }
    let withvalues = args.len() == 4;
    if withvalues && !(-i64::MAX / 2..=i64::MAX / 2).contains(&l) {
        return Err(CmdError::err("value is out of range"));
    }
    let mut shard = ctx.db().lock(key);
    let Some(h) = read_hash(&mut shard, key, ctx.now)? else {
        ctx.out.array(0);
        return Ok(());
    };
    let count = l.unsigned_abs();
    if count == 0 {
        ctx.out.array(0);
        return Ok(());
    }
    let resp3 = ctx.out.resp3();
    let out = &mut *ctx.out;
    let emit = |out: &mut Reply, f: &[u8], v: &[u8]| {
        if withvalues && resp3 {
            out.array(2);
        }
        out.bulk(f);
        if withvalues {
            out.bulk(v);
        }
    };
    let header = |n: u64| {
        usize::try_from(if withvalues && !resp3 { n * 2 } else { n }).unwrap_or(usize::MAX)
    };
    let mut rng = rand::thread_rng();

    // repeats allowed: independent draws, in random order
    if l < 0 || count == 1 {
        // refuse up front what could only end at the cap after a long time
        let bulk_len = |n: usize| n + itoa::Buffer::new().format(n).len() + 5;
        let smallest = h
            .iter()
            .map(|(f, v)| {
                bulk_len(f.len())
                    + if withvalues { bulk_len(v.len()) } else { 0 }
                    + if withvalues && resp3 { 4 } else { 0 }
            })
            .min()
            .unwrap_or(0) as u64;
        if count.saturating_mul(smallest) > RANDFIELD_MAX_REPLY_BYTES as u64 {
            return Err(CmdError::err("HRANDFIELD reply too large"));
        }
        let start = out.len();
        out.array(header(count));
        for _ in 0..count {
            let Some((f, v)) = h.random(&mut rng) else {
                break;
            };
            emit(out, f, v);
            if out.len() - start > RANDFIELD_MAX_REPLY_BYTES {
                return Err(CmdError::err("HRANDFIELD reply too large"));
            }
        }
        return Ok(());
    }

    let size = h.len() as u64;
    if count >= size {
        out.array(header(size));
        for (f, v) in h.iter() {
            emit(out, f, v);
        }
        return Ok(());
    }
    out.array(header(count));
    // count < size here, so it fits in memory alongside the hash itself
    let count = count as usize;
    if h.is_listpack() {
        // distinct fields in their stored order, as Valkey samples a listpack
        let mut need = count;
        let mut left = h.len();
        for (f, v) in h.iter() {
            if need == 0 {
                break;
            }
            if rng.gen_range(0..left) < need {
                emit(out, f, v);
                need -= 1;
            }
            left -= 1;
        }
    } else if count * 3 > h.len() {
        let mut all: Vec<(&[u8], &[u8])> = h.iter().collect();
        let (picked, _) = all.partial_shuffle(&mut rng, count);
        for &(f, v) in picked.iter() {
            emit(out, f, v);
        }
    } else {
        let mut seen: HashSet<&[u8]> = HashSet::with_capacity(count);
        while seen.len() < count {
            let Some((f, v)) = h.random(&mut rng) else {
                break;
            };
            if seen.insert(f) {
                emit(out, f, v);
            }
        }
    }
    Ok(())
}

fn hscan(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let cursor =
        super::keys::parse_cursor(args[2]).ok_or_else(|| CmdError::err("invalid cursor"))?;
    let mut shard = ctx.db().lock(args[1]);
    let Some(h) = read_hash(&mut shard, args[1], ctx.now)? else {
        ctx.out.array(2);
        ctx.out.bulk(b"0");
        ctx.out.array(0);
        return Ok(());
    };
    let super::keys::ScanOpts {
        count,
        pattern,
        novalues,
        ..
    } = super::keys::scan_opts(&args[3..], super::keys::ScanOf::Hash)?;
    let mut found: Vec<&[u8]> = Vec::new();
    let keep = |f: &[u8]| pattern.is_none_or(|p| glob_match(p, f, false));
    // the compact encoding is small by construction: all of it in one reply
    let next = if h.is_listpack() {
        for (f, v) in h.iter() {
            if keep(f) {
                found.push(f);
                if !novalues {
                    found.push(v);
                }
            }
        }
        0
    } else {
        let mut sampled = 0usize;
        let mut max_iterations = count.saturating_mul(10);
        let mut c = cursor;
        loop {
            c = h
                .scan_step(c, |f, v| {
                    sampled += 1;
                    if keep(f) {
                        found.push(f);
                        if !novalues {
                            found.push(v);
                        }
                    }
                })
                .unwrap_or(0);
            if c == 0 || max_iterations == 0 || sampled >= count {
                break;
            }
            max_iterations -= 1;
        }
        c
    };
    ctx.out.array(2);
    ctx.out.bulk(itoa::Buffer::new().format(next).as_bytes());
    ctx.out.array(found.len());
    for x in &found {
        ctx.out.bulk(x);
    }
    Ok(())
}
