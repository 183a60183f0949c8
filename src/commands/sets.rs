//! Set commands.
//!
//! Multi-key commands lock every shard involved, then move the source sets out of
//! their nodes (an O(1) swap) so several can be read at once, and put them back before
//! anything else touches the keyspace.

use super::flags::*;
use super::keys::{parse_cursor, scan_opts, ScanOf, ScanOpts};
use super::{acl, glob_match, int_arg, is, CmdError, CmdResult, Command, Ctx};
use crate::protocol::Reply;
use crate::pubsub::class;
use crate::store::set::{Elem, Limits, Set};
use crate::store::{Db, MultiLock, NewValue, Object, Shard, ValueRef};
use rand::Rng;
use std::sync::atomic::Ordering::Relaxed;

const SET: u64 = acl::SET;

const INTER_COMPLEXITY: &str =
    "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.";
const TOTAL_COMPLEXITY: &str = "O(N) where N is the total number of elements in all given sets.";

pub static COMMANDS: &[Command] = &[
    Command::new("sadd", -3, WRITE | DENYOOM | FAST, sadd)
        .keys(1, 1, 1)
        .acl(SET)
        .doc("set", "1.0.0", "Adds one or more members to a set. Creates the key if it doesn't exist.", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments."),
    Command::new("srem", -3, WRITE | FAST, srem)
        .keys(1, 1, 1)
        .acl(SET)
        .doc("set", "1.0.0", "Removes one or more members from a set. Deletes the set if the last member was removed.", "O(N) where N is the number of members to be removed."),
    Command::new("scard", 2, READONLY | FAST, scard)
        .keys(1, 1, 1)
        .acl(SET)
        .doc("set", "1.0.0", "Returns the number of members in a set.", "O(1)"),
    Command::new("sismember", 3, READONLY | FAST, sismember)
        .keys(1, 1, 1)
        .acl(SET)
        .doc("set", "1.0.0", "Determines whether a member belongs to a set.", "O(1)"),
    Command::new("smismember", -3, READONLY | FAST, smismember)
        .keys(1, 1, 1)
        .acl(SET)
        .doc("set", "6.2.0", "Determines whether multiple members belong to a set.", "O(N) where N is the number of elements being checked for membership"),
    Command::new("smembers", 2, READONLY, smembers)
        .keys(1, 1, 1)
        .acl(SET)
        .doc("set", "1.0.0", "Returns all members of a set.", "O(N) where N is the set cardinality."),
    Command::new("srandmember", -2, READONLY, srandmember)
        .keys(1, 1, 1)
        .acl(SET)
        .doc("set", "1.0.0", "Get one or multiple random members from a set", "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count."),
    Command::new("spop", -2, WRITE | FAST, spop)
        .keys(1, 1, 1)
        .acl(SET)
        .doc("set", "1.0.0", "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.", "Without the count argument O(1), otherwise O(N) where N is the value of the passed count."),
    Command::new("smove", 4, WRITE | FAST, smove)
        .keys(1, 2, 1)
        .acl(SET)
        .doc("set", "1.0.0", "Moves a member from one set to another.", "O(1)"),
    Command::new("sinter", -2, READONLY, sinter)
        .keys(1, -1, 1)
        .acl(SET)
        .doc("set", "1.0.0", "Returns the intersect of multiple sets.", INTER_COMPLEXITY),
    Command::new("sintercard", -3, READONLY | MOVABLEKEYS, sintercard)
        .numkeys(1)
        .acl(SET)
        .doc("set", "7.0.0", "Returns the number of members of the intersect of multiple sets.", INTER_COMPLEXITY),
    Command::new("sinterstore", -3, WRITE | DENYOOM, sinterstore)
        .keys(1, -1, 1)
        .acl(SET)
        .doc("set", "1.0.0", "Stores the intersect of multiple sets in a key.", INTER_COMPLEXITY),
    Command::new("sunion", -2, READONLY, sunion)
        .keys(1, -1, 1)
        .acl(SET)
        .doc("set", "1.0.0", "Returns the union of multiple sets.", TOTAL_COMPLEXITY),
    Command::new("sunionstore", -3, WRITE | DENYOOM, sunionstore)
        .keys(1, -1, 1)
        .acl(SET)
        .doc("set", "1.0.0", "Stores the union of multiple sets in a key.", TOTAL_COMPLEXITY),
    Command::new("sdiff", -2, READONLY, sdiff)
        .keys(1, -1, 1)
        .acl(SET)
        .doc("set", "1.0.0", "Returns the difference of multiple sets.", TOTAL_COMPLEXITY),
    Command::new("sdiffstore", -3, WRITE | DENYOOM, sdiffstore)
        .keys(1, -1, 1)
        .acl(SET)
        .doc("set", "1.0.0", "Stores the difference of multiple sets in a key.", TOTAL_COMPLEXITY),
    Command::new("sscan", -3, READONLY, sscan)
        .keys(1, 1, 1)
        .acl(SET)
        .doc("set", "2.8.0", "Iterates over members of a set.", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection."),
];

/// More random members than this in one reply would only build a reply no client can
/// take; Valkey would exhaust memory trying.
const MAX_RANDOM_REPLY: u64 = 1 << 24;

/// Valkey's SPOP_MOVE_STRATEGY_MUL and SRANDMEMBER_SUB_STRATEGY_MUL: when to build the
/// result by elimination rather than by picking.
const SPOP_MOVE_MUL: usize = 5;
const SRAND_SUB_MUL: usize = 3;

fn limits(ctx: &Ctx) -> Limits {
    let k = &ctx.srv.config.hot.enc;
    let get = |v: &std::sync::atomic::AtomicI64| usize::try_from(v.load(Relaxed)).unwrap_or(0);
    Limits {
        intset_entries: get(&k.set_intset_entries),
        listpack_entries: get(&k.set_entries),
        listpack_value: get(&k.set_value),
    }
}

/// The set at `key`: Ok(None) when absent, WRONGTYPE for other types.
fn read_set<'a>(shard: &'a mut Shard, key: &[u8], now: i64) -> Result<Option<&'a Set>, CmdError> {
    match shard.get(key, now) {
        None => Ok(None),
        Some(n) => match n.value() {
            ValueRef::Obj(Object::Set(s)) => Ok(Some(s)),
            _ => Err(CmdError::WrongType),
        },
    }
}

fn write_set<'a>(
    shard: &'a mut Shard,
    key: &[u8],
    now: i64,
) -> Result<Option<&'a mut Set>, CmdError> {
    let Some(n) = shard.get_mut(key, now) else {
        return Ok(None);
    };
    if !matches!(n.value(), ValueRef::Obj(Object::Set(_))) {
        return Err(CmdError::WrongType);
    }
    match n.obj_mut() {
        Object::Set(s) => Ok(Some(s)),
        _ => Err(CmdError::WrongType),
    }
}

fn reply_elem(out: &mut Reply, e: Elem) {
    match e {
        Elem::Int(n) => out.bulk_int(n),
        Elem::Str(s) => out.bulk(s),
    }
}

// ---------------------------------------------------------------- single-key commands

fn sadd(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let lim = limits(ctx);
    let (key, members, now) = (args[1], &args[2..], ctx.now);
    let added = {
        let mut shard = ctx.db().lock(key);
        match write_set(&mut shard, key, now)? {
            Some(s) => s.maybe_convert(members.len(), &lim),
            None => {
                let s = Set::create_for(members[0], members.len(), &lim);
                shard.set(key, NewValue::Obj(Object::Set(s)), None, now);
            }
        }
        let Some(set) = write_set(&mut shard, key, now)? else {
            return Err(CmdError::WrongType);
        };
        members.iter().filter(|m| set.add(m, &lim)).count()
    };
    ctx.dirty += added as u64;
    if added > 0 {
        ctx.notify(class::SET, "sadd", key);
    }
    ctx.out.int(added as i64);
    Ok(())
}

fn srem(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let (key, now) = (args[1], ctx.now);
    let (deleted, emptied) = {
        let mut shard = ctx.db().lock(key);
        let mut deleted = 0;
        let mut emptied = false;
        if let Some(set) = write_set(&mut shard, key, now)? {
            for m in &args[2..] {
                if set.remove(m) {
                    deleted += 1;
                    if set.is_empty() {
                        emptied = true;
                        break;
                    }
                }
            }
        }
        if emptied {
            shard.delete(key, now);
        }
        (deleted, emptied)
    };
    ctx.dirty += deleted;
    if deleted > 0 {
        ctx.notify(class::SET, "srem", key);
        if emptied {
            ctx.notify(class::GENERIC, "del", key);
        }
    }
    ctx.out.int(deleted as i64);
    Ok(())
}

fn scard(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let n = {
        let mut shard = ctx.db().lock(args[1]);
        read_set(&mut shard, args[1], ctx.now)?.map_or(0, |s| s.len())
    };
    ctx.out.int(n as i64);
    Ok(())
}

fn sismember(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let found = {
        let mut shard = ctx.db().lock(args[1]);
        read_set(&mut shard, args[1], ctx.now)?.is_some_and(|s| s.contains(args[2]))
    };
    ctx.out.int(found as i64);
    Ok(())
}

fn smismember(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let mut shard = ctx.db().lock(args[1]);
    let set = read_set(&mut shard, args[1], ctx.now)?;
    ctx.out.array(args.len() - 2);
    for m in &args[2..] {
        ctx.out.int(set.is_some_and(|s| s.contains(m)) as i64);
    }
    Ok(())
}

fn smembers(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let mut shard = ctx.db().lock(args[1]);
    match read_set(&mut shard, args[1], ctx.now)? {
        None => ctx.out.set(0),
        Some(s) => {
            ctx.out.set(s.len());
            for e in s.iter() {
                reply_elem(ctx.out, e);
            }
        }
    }
    Ok(())
}

fn srandmember(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let key = args[1];
    let mut rng = rand::thread_rng();
    if args.len() == 2 {
        let mut shard = ctx.db().lock(key);
        match read_set(&mut shard, key, ctx.now)?.and_then(|s| s.random(&mut rng)) {
            Some(e) => reply_elem(ctx.out, e),
            None => ctx.out.null(),
        }
        return Ok(());
    }
    let l = int_arg(args[2])?;
    if l == i64::MIN {
        return Err(CmdError::err(
            "value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    let (count, uniq) = (l.unsigned_abs(), l >= 0);
    let mut shard = ctx.db().lock(key);
    let Some(set) = read_set(&mut shard, key, ctx.now)? else {
        ctx.out.array(0);
        return Ok(());
    };
    let out = &mut *ctx.out;
    let size = set.len();
    if count == 0 {
        out.array(0);
        return Ok(());
    }
    if !uniq || count == 1 {
        if count > MAX_RANDOM_REPLY {
            return Err(CmdError::err("value is out of range"));
        }
        out.array(count as usize);
        for _ in 0..count {
            if let Some(e) = set.random(&mut rng) {
                reply_elem(out, e);
            }
        }
        return Ok(());
    }
    if count >= size as u64 {
        out.array(size);
        for e in set.iter() {
            reply_elem(out, e);
        }
        return Ok(());
    }
    let count = count as usize;
    if set.is_listpack() {
        out.array(count);
        for e in set.sample_ordered(count, &mut rng) {
            reply_elem(out, e);
        }
        return Ok(());
    }
    let picked: Vec<Elem> = if count * SRAND_SUB_MUL > size {
        // close to the whole set: drop random members until `count` remain
        let mut all: Vec<Elem> = set.iter().collect();
        while all.len() > count {
            let i = rng.gen_range(0..all.len());
            all.swap_remove(i);
        }
        all
    } else {
        let mut seen = std::collections::HashSet::with_capacity(count);
        let mut v = Vec::with_capacity(count);
        while v.len() < count {
            let Some(e) = set.random(&mut rng) else { break };
            if seen.insert(e) {
                v.push(e);
            }
        }
        v
    };
    out.array(picked.len());
    for e in picked {
        reply_elem(out, e);
    }
    Ok(())
}

fn spop(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let (key, now) = (args[1], ctx.now);
    let mut rng = rand::thread_rng();
    if args.len() == 2 {
        let popped = {
            let mut shard = ctx.db().lock(key);
            let Some(set) = write_set(&mut shard, key, now)? else {
                drop(shard);
                ctx.out.null();
                return Ok(());
            };
            let m = set.pop_random(&mut rng);
            let emptied = set.is_empty();
            if emptied {
                shard.delete(key, now);
            }
            m.map(|m| (m, emptied))
        };
        match popped {
            Some((m, emptied)) => {
                ctx.dirty += 1;
                ctx.notify(class::SET, "spop", key);
                if emptied {
                    ctx.notify(class::GENERIC, "del", key);
                }
                ctx.out.bulk(&m);
            }
            None => ctx.out.null(),
        }
        return Ok(());
    }
    let count = match int_arg(args[2]) {
        Ok(n) if n >= 0 => n as u64,
        _ => return Err(CmdError::err("value is out of range, must be positive")),
    };
    let lim = limits(ctx);
    let db = ctx.db();
    let mut shard = db.lock(key);
    let Some(set) = write_set(&mut shard, key, now)? else {
        ctx.out.set(0);
        return Ok(());
    };
    if count == 0 {
        ctx.out.set(0);
        return Ok(());
    }
    let size = set.len();
    let out = &mut *ctx.out;
    if count >= size as u64 {
        out.set(size);
        for e in set.iter() {
            reply_elem(out, e);
        }
        shard.delete(key, now);
        ctx.dirty += size as u64;
        ctx.notify(class::SET, "spop", key);
        ctx.notify(class::GENERIC, "del", key);
        return Ok(());
    }
    let count = count as usize;
    let remaining = size - count;
    out.set(count);
    if remaining * SPOP_MOVE_MUL > count {
        if set.is_listpack() {
            let picked: Vec<Vec<u8>> = set
                .sample_ordered(count, &mut rng)
                .into_iter()
                .map(Elem::to_vec)
                .collect();
            for m in &picked {
                set.remove(m);
                out.bulk(m);
            }
        } else {
            for _ in 0..count {
                if let Some(m) = set.pop_random(&mut rng) {
                    out.bulk(&m);
                }
            }
        }
    } else {
        // most of the set goes: move the few survivors to a new set and hand the old
        // one to the client
        let mut kept = if set.is_intset() {
            Set::new_intset()
        } else {
            Set::new_listpack()
        };
        if set.is_listpack() {
            let survivors: Vec<Vec<u8>> = set
                .sample_ordered(remaining, &mut rng)
                .into_iter()
                .map(Elem::to_vec)
                .collect();
            for m in &survivors {
                kept.add(m, &lim);
                set.remove(m);
            }
        } else {
            for _ in 0..remaining {
                if let Some(m) = set.pop_random(&mut rng) {
                    kept.add(&m, &lim);
                }
            }
        }
        for e in set.iter() {
            reply_elem(out, e);
        }
        *set = kept;
    }
    ctx.dirty += count as u64;
    ctx.notify(class::SET, "spop", key);
    Ok(())
}

fn smove(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let lim = limits(ctx);
    let (src, dst, member, now) = (args[1], args[2], args[3], ctx.now);
    let db = ctx.db();
    let mut locks = db.lock_keys([src, dst]);
    if locks.shard(src).get(src, now).is_none() {
        drop(locks);
        ctx.out.int(0);
        return Ok(());
    }
    read_set(locks.shard(src), src, now)?;
    let dst_exists = read_set(locks.shard(dst), dst, now)?.is_some();
    if src == dst {
        let found = read_set(locks.shard(src), src, now)?.is_some_and(|s| s.contains(member));
        drop(locks);
        ctx.out.int(found as i64);
        return Ok(());
    }
    let (removed, emptied) = match write_set(locks.shard(src), src, now)? {
        Some(s) => (s.remove(member), s.is_empty()),
        None => (false, false),
    };
    if !removed {
        drop(locks);
        ctx.out.int(0);
        return Ok(());
    }
    if emptied {
        locks.shard(src).delete(src, now);
    }
    ctx.notify(class::SET, "srem", src);
    if emptied {
        ctx.notify(class::GENERIC, "del", src);
    }
    if !dst_exists {
        let s = Set::create_for(member, 1, &lim);
        locks
            .shard(dst)
            .set(dst, NewValue::Obj(Object::Set(s)), None, now);
    }
    let added = write_set(locks.shard(dst), dst, now)?.is_some_and(|s| s.add(member, &lim));
    drop(locks);
    ctx.dirty += 1 + added as u64;
    if !added {
        // the destination already had the member: only the source changed
        ctx.changed_keys = Some(vec![1]);
    }
    if added {
        ctx.notify(class::SET, "sadd", dst);
    }
    ctx.out.int(1);
    Ok(())
}

// ---------------------------------------------------------------- multi-key algebra

/// Source sets moved out of the keyspace for the duration of one command.
struct Sources<'k> {
    /// Distinct key names with the set taken from each (None: no such key).
    keys: Vec<&'k [u8]>,
    sets: Vec<Option<Set>>,
    /// For every argument, its index into `keys`.
    slot: Vec<usize>,
}

/// Looks up all `keys` under `locks`, failing with WRONGTYPE before touching anything,
/// then moves each distinct set out of its node.
fn take_sources<'k>(
    locks: &mut MultiLock<'_>,
    keys: &[&'k [u8]],
    now: i64,
) -> Result<Sources<'k>, CmdError> {
    let mut src = Sources {
        keys: Vec::new(),
        sets: Vec::new(),
        slot: Vec::with_capacity(keys.len()),
    };
    for &k in keys {
        read_set(locks.shard(k), k, now)?;
    }
    for &k in keys {
        if let Some(i) = src.keys.iter().position(|&x| x == k) {
            src.slot.push(i);
            continue;
        }
        let taken = write_set(locks.shard(k), k, now)?.map(std::mem::take);
        src.slot.push(src.keys.len());
        src.keys.push(k);
        src.sets.push(taken);
    }
    Ok(src)
}

/// Puts the taken sets back where they came from.
fn restore_sources(locks: &mut MultiLock<'_>, src: Sources, now: i64) {
    for (k, set) in src.keys.into_iter().zip(src.sets) {
        if let Some(set) = set {
            if let Ok(Some(slot)) = write_set(locks.shard(k), k, now) {
                *slot = set;
            }
        }
    }
}

/// Stores a computed result at `dst` (replacing whatever was there) or deletes `dst`
/// when the result is empty; replies with the cardinality.
fn store_result(ctx: &mut Ctx, locks: &mut MultiLock<'_>, dst: &[u8], result: Set) {
    let n = result.len();
    if n > 0 {
        locks
            .shard(dst)
            .set(dst, NewValue::Obj(Object::Set(result)), None, ctx.now);
        ctx.dirty += 1;
        // the event is the command's name: sinterstore, sunionstore, sdiffstore
        ctx.notify(class::SET, ctx.cmd.name, dst);
    } else if locks.shard(dst).delete(dst, ctx.now).is_some() {
        ctx.dirty += 1;
        ctx.notify(class::GENERIC, "del", dst);
    }
    ctx.out.int(n as i64);
}

fn lock_with<'d>(db: &'d Db, keys: &[&[u8]], dst: Option<&[u8]>) -> MultiLock<'d> {
    db.lock_keys(keys.iter().copied().chain(dst))
}

fn sinter(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    inter_generic(ctx, &args[1..], None, false, 0)
}

fn sinterstore(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    inter_generic(ctx, &args[2..], Some(args[1]), false, 0)
}

fn sintercard(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    const NUMKEYS: &str = "numkeys should be greater than 0";
    let numkeys = match super::parse_i64(args[1]) {
        Some(n) if n >= 1 => n,
        _ => return Err(CmdError::err(NUMKEYS)),
    };
    if numkeys > (args.len() - 2) as i64 {
        return Err(CmdError::err(
            "Number of keys can't be greater than number of args",
        ));
    }
    let numkeys = numkeys as usize;
    let mut limit = 0usize;
    let mut i = 2 + numkeys;
    while i < args.len() {
        if is(args[i], "limit") && i + 1 < args.len() {
            limit = match super::parse_i64(args[i + 1]) {
                Some(n) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
                _ => return Err(CmdError::err("LIMIT can't be negative")),
            };
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    inter_generic(ctx, &args[2..2 + numkeys], None, true, limit)
}

/// SINTER, SINTERSTORE and SINTERCARD (`card_only`, stopping at `limit` unless 0).
fn inter_generic(
    ctx: &mut Ctx,
    keys: &[&[u8]],
    dst: Option<&[u8]>,
    card_only: bool,
    limit: usize,
) -> CmdResult {
    let lim = limits(ctx);
    let now = ctx.now;
    let db = ctx.db();
    let mut locks = lock_with(db, keys, dst);
    let src = take_sources(&mut locks, keys, now)?;
    if src.sets.iter().any(Option::is_none) {
        restore_sources(&mut locks, src, now);
        if let Some(d) = dst {
            store_result(ctx, &mut locks, d, Set::new_intset());
        } else if card_only {
            ctx.out.int(0);
        } else {
            ctx.out.set(0);
        }
        return Ok(());
    }
    // smallest first: its members are the only candidates
    let mut order: Vec<usize> = (0..src.keys.len()).collect();
    order.sort_by_key(|&i| src.sets[i].as_ref().map_or(0, Set::len));
    let sets: Vec<&Set> = order.iter().filter_map(|&i| src.sets[i].as_ref()).collect();
    let Some((&first, rest)) = sets.split_first() else {
        restore_sources(&mut locks, src, now);
        return Err(CmdError::Syntax);
    };
    let mut found: Vec<Elem> = Vec::new();
    let mut card = 0usize;
    for e in first.iter() {
        if rest.iter().all(|s| s.contains_elem(e)) {
            card += 1;
            if card_only {
                if limit != 0 && card >= limit {
                    break;
                }
            } else {
                found.push(e);
            }
        }
    }
    if card_only {
        drop(sets);
        restore_sources(&mut locks, src, now);
        ctx.out.int(card as i64);
        return Ok(());
    }
    let Some(d) = dst else {
        ctx.out.set(found.len());
        for e in found {
            reply_elem(ctx.out, e);
        }
        drop(sets);
        restore_sources(&mut locks, src, now);
        return Ok(());
    };
    let mut result = if first.is_intset() {
        Set::new_intset()
    } else {
        Set::new_listpack()
    };
    let mut only_integers = true;
    for &e in &found {
        if let Elem::Str(s) = e {
            if super::parse_i64(s).is_none() {
                only_integers = false;
            }
        }
        result.add_elem(e, &lim);
    }
    if only_integers {
        result.maybe_to_intset(&lim);
    }
    drop(found);
    drop(sets);
    restore_sources(&mut locks, src, now);
    store_result(ctx, &mut locks, d, result);
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Union,
    Diff,
}

fn sunion(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    union_diff(ctx, &args[1..], None, Op::Union)
}

fn sunionstore(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    union_diff(ctx, &args[2..], Some(args[1]), Op::Union)
}

fn sdiff(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    union_diff(ctx, &args[1..], None, Op::Diff)
}

fn sdiffstore(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    union_diff(ctx, &args[2..], Some(args[1]), Op::Diff)
}

/// SUNION, SDIFF and their STORE variants, building the result the way Valkey does
/// so a stored result ends up in the same encoding.
fn union_diff(ctx: &mut Ctx, keys: &[&[u8]], dst: Option<&[u8]>, op: Op) -> CmdResult {
    let lim = limits(ctx);
    let now = ctx.now;
    let db = ctx.db();
    let mut locks = lock_with(db, keys, dst);
    let src = take_sources(&mut locks, keys, now)?;
    let sets: Vec<Option<&Set>> = src.slot.iter().map(|&i| src.sets[i].as_ref()).collect();
    // a reply-only result of non-intsets is built as a hashtable for fast lookups
    let intset_result = dst.is_some() || sets.iter().flatten().all(|s| s.is_intset());
    let mut result = if intset_result {
        Set::new_intset()
    } else {
        Set::new_hashtable(0)
    };
    match op {
        Op::Union => {
            for s in sets.iter().flatten() {
                for e in s.iter() {
                    result.add_elem(e, &lim);
                }
            }
        }
        Op::Diff => diff_into(&mut result, &src.slot, &sets, &lim),
    }
    drop(sets);
    restore_sources(&mut locks, src, now);
    match dst {
        Some(d) => store_result(ctx, &mut locks, d, result),
        None => {
            drop(locks);
            ctx.out.set(result.len());
            for e in result.iter() {
                reply_elem(ctx.out, e);
            }
        }
    }
    Ok(())
}

fn diff_into(result: &mut Set, slot: &[usize], sets: &[Option<&Set>], lim: &Limits) {
    let Some(Some(first)) = sets.first().copied() else {
        return;
    };
    // the first key named again: everything is subtracted
    if slot[1..].contains(&slot[0]) {
        return;
    }
    let present = || sets.iter().flatten();
    let one_work = present().count() * first.len() / 2;
    let two_work: usize = present().map(|s| s.len()).sum();
    if one_work <= two_work {
        let mut others: Vec<&Set> = sets[1..].iter().flatten().copied().collect();
        // the biggest first: a member is likelier to be found early
        others.sort_by_key(|s| std::cmp::Reverse(s.len()));
        for e in first.iter() {
            if !others.iter().any(|s| s.contains_elem(e)) {
                result.add_elem(e, lim);
            }
        }
    } else {
        for e in first.iter() {
            result.add_elem(e, lim);
        }
        for s in sets[1..].iter().flatten() {
            if result.is_empty() {
                break;
            }
            for e in s.iter() {
                result.remove_elem(e);
            }
        }
    }
}

// ---------------------------------------------------------------- SSCAN

fn sscan(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let cursor = parse_cursor(args[2]).ok_or_else(|| CmdError::err("invalid cursor"))?;
    let key = args[1];
    let mut shard = ctx.db().lock(key);
    let Some(set) = read_set(&mut shard, key, ctx.now)? else {
        ctx.out.array(2);
        ctx.out.bulk(b"0");
        ctx.out.array(0);
        return Ok(());
    };
    let ScanOpts { count, pattern, .. } = scan_opts(&args[3..], ScanOf::Set)?;
    let mut found: Vec<Vec<u8>> = Vec::new();
    let next = set.scan(cursor, count, |e| {
        e.with_bytes(|b| {
            if pattern.is_none_or(|p| glob_match(p, b, false)) {
                found.push(b.to_vec());
            }
        })
    });
    drop(shard);
    ctx.out.array(2);
    ctx.out.bulk(itoa::Buffer::new().format(next).as_bytes());
    ctx.out.array(found.len());
    for m in &found {
        ctx.out.bulk(m);
    }
    Ok(())
}
