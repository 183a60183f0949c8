//! List commands.

use super::flags::*;
use super::{acl, int_arg, is, parse_i64, CmdError, CmdResult, Command, Ctx};
use crate::pubsub::class;
use crate::server::blocking::{self, Kind};
use crate::store::list::{End, List};
use crate::store::{NewValue, Node, Object, Shard, ValueRef};

const LIST: u64 = acl::LIST;

const PUSH_COMPLEXITY: &str = "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.";
const POP_COMPLEXITY: &str = "O(N) where N is the number of elements returned";

pub static COMMANDS: &[Command] = &[
    Command::new("lpush", -3, WRITE | DENYOOM | FAST, lpush)
        .keys(1, 1, 1)
        .acl(LIST)
        .doc(
            "list",
            "1.0.0",
            "Prepends one or more elements to a list. Creates the key if it doesn't exist.",
            PUSH_COMPLEXITY,
        ),
    Command::new("rpush", -3, WRITE | DENYOOM | FAST, rpush)
        .keys(1, 1, 1)
        .acl(LIST)
        .doc(
            "list",
            "1.0.0",
            "Appends one or more elements to a list. Creates the key if it doesn't exist.",
            PUSH_COMPLEXITY,
        ),
    Command::new("lpushx", -3, WRITE | DENYOOM | FAST, lpushx)
        .keys(1, 1, 1)
        .acl(LIST)
        .doc(
            "list",
            "2.2.0",
            "Prepends one or more elements to a list only when the list exists.",
            PUSH_COMPLEXITY,
        ),
    Command::new("rpushx", -3, WRITE | DENYOOM | FAST, rpushx)
        .keys(1, 1, 1)
        .acl(LIST)
        .doc(
            "list",
            "2.2.0",
            "Appends an element to a list only when the list exists.",
            PUSH_COMPLEXITY,
        ),
    Command::new("lpop", -2, WRITE | FAST, lpop)
        .keys(1, 1, 1)
        .acl(LIST)
        .doc(
            "list",
            "1.0.0",
            "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.",
            POP_COMPLEXITY,
        ),
    Command::new("rpop", -2, WRITE | FAST, rpop)
        .keys(1, 1, 1)
        .acl(LIST)
        .doc(
            "list",
            "1.0.0",
            "Returns and removes the last elements of a list. Deletes the list if the last element was popped.",
            POP_COMPLEXITY,
        ),
    Command::new("llen", 2, READONLY | FAST, llen)
        .keys(1, 1, 1)
        .acl(LIST)
        .doc("list", "1.0.0", "Returns the length of a list.", "O(1)"),
    Command::new("lrange", 4, READONLY, lrange)
        .keys(1, 1, 1)
        .acl(LIST)
        .doc(
            "list",
            "1.0.0",
            "Returns a range of elements from a list.",
            "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range.",
        ),
    Command::new("lindex", 3, READONLY, lindex)
        .keys(1, 1, 1)
        .acl(LIST)
        .doc(
            "list",
            "1.0.0",
            "Returns an element from a list by its index.",
            "O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for the first or the last element of the list O(1).",
        ),
    Command::new("lset", 4, WRITE | DENYOOM, lset)
        .keys(1, 1, 1)
        .acl(LIST)
        .doc(
            "list",
            "1.0.0",
            "Sets the value of an element in a list by its index.",
            "O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1).",
        ),
    Command::new("linsert", 5, WRITE | DENYOOM, linsert)
        .keys(1, 1, 1)
        .acl(LIST)
        .doc(
            "list",
            "2.2.0",
            "Inserts an element before or after another element in a list.",
            "O(N) where N is the number of elements to traverse before seeing the value pivot. This means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on the right end (tail) is O(N).",
        ),
    Command::new("lrem", 4, WRITE, lrem)
        .keys(1, 1, 1)
        .acl(LIST)
        .doc(
            "list",
            "1.0.0",
            "Removes elements from a list. Deletes the list if the last element was removed.",
            "O(N+M) where N is the length of the list and M is the number of elements removed.",
        ),
    Command::new("ltrim", 4, WRITE, ltrim)
        .keys(1, 1, 1)
        .acl(LIST)
        .doc(
            "list",
            "1.0.0",
            "Removes elements from both ends a list. Deletes the list if all elements were trimmed.",
            "O(N) where N is the number of elements to be removed by the operation.",
        ),
    Command::new("lpos", -3, READONLY, lpos)
        .keys(1, 1, 1)
        .acl(LIST)
        .doc(
            "list",
            "6.0.6",
            "Returns the index of matching elements in a list.",
            "O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time.",
        ),
    Command::new("lmove", 5, WRITE | DENYOOM, lmove)
        .keys(1, 2, 1)
        .acl(LIST)
        .doc(
            "list",
            "6.2.0",
            "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.",
            "O(1)",
        ),
    Command::new("rpoplpush", 3, WRITE | DENYOOM, rpoplpush)
        .keys(1, 2, 1)
        .acl(LIST)
        .doc(
            "list",
            "1.2.0",
            "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.",
            "O(1)",
        ),
    Command::new("lmpop", -4, WRITE | MOVABLEKEYS, lmpop)
        .numkeys(1)
        .acl(LIST)
        .doc(
            "list",
            "7.0.0",
            "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.",
            "O(N+M) where N is the number of provided keys and M is the number of elements returned.",
        ),
    Command::new("blpop", -3, WRITE | BLOCKING, blpop)
        .keys(1, -2, 1)
        .acl(LIST)
        .doc(
            "list",
            "2.0.0",
            "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.",
            "O(N) where N is the number of provided keys.",
        ),
    Command::new("brpop", -3, WRITE | BLOCKING, brpop)
        .keys(1, -2, 1)
        .acl(LIST)
        .doc(
            "list",
            "2.0.0",
            "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.",
            "O(N) where N is the number of provided keys.",
        ),
    Command::new("brpoplpush", 4, WRITE | DENYOOM | BLOCKING, brpoplpush)
        .keys(1, 2, 1)
        .acl(LIST)
        .doc(
            "list",
            "2.2.0",
            "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.",
            "O(1)",
        ),
    Command::new("blmove", 6, WRITE | DENYOOM | BLOCKING, blmove)
        .keys(1, 2, 1)
        .acl(LIST)
        .doc(
            "list",
            "6.2.0",
            "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.",
            "O(1)",
        ),
    Command::new("blmpop", -5, WRITE | BLOCKING | MOVABLEKEYS, blmpop)
        .numkeys(2)
        .acl(LIST)
        .doc(
            "list",
            "7.0.0",
            "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.",
            "O(N+M) where N is the number of provided keys and M is the number of elements returned.",
        ),
];

const POSITIVE: &str = "ERR value is out of range, must be positive";

/// The configured node limit, read per command so CONFIG SET applies at once.
fn fill(ctx: &Ctx) -> i64 {
    ctx.srv
        .config
        .hot
        .enc
        .list_size
        .load(std::sync::atomic::Ordering::Relaxed)
}

fn list_ref(n: &Node) -> Result<&List, CmdError> {
    match n.value() {
        ValueRef::Obj(Object::List(l)) => Ok(l),
        _ => Err(CmdError::WrongType),
    }
}

/// The list of a node, WRONGTYPE for other types. The type is checked before
/// `obj_mut`, which would otherwise turn an inline string into a raw one.
fn list_mut(n: &mut Node) -> Result<&mut List, CmdError> {
    list_ref(n)?;
    match n.obj_mut() {
        Object::List(l) => Ok(l),
        _ => Err(CmdError::WrongType),
    }
}

fn read_list<'s>(shard: &'s mut Shard, key: &[u8], now: i64) -> Result<Option<&'s List>, CmdError> {
    shard.get(key, now).map(list_ref).transpose()
}

fn end_arg(a: &[u8]) -> Result<End, CmdError> {
    if is(a, "left") {
        Ok(End::Head)
    } else if is(a, "right") {
        Ok(End::Tail)
    } else {
        Err(CmdError::Syntax)
    }
}

/// A non-negative integer; anything else (including non-numbers) gets `err`.
fn positive_arg(a: &[u8], err: &'static str) -> Result<usize, CmdError> {
    match parse_i64(a) {
        Some(n) if n >= 0 => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
        _ => Err(CmdError::msg(err)),
    }
}

/// After elements left a list: the key goes when it is empty, otherwise the list may
/// return to the compact encoding. Returns whether the key went.
fn after_removal(shard: &mut Shard, key: &[u8], now: i64, fill: i64) -> bool {
    let empty = match shard.get_mut(key, now).map(list_mut) {
        Some(Ok(l)) => {
            l.shrink(fill);
            l.is_empty()
        }
        _ => false,
    };
    if empty {
        shard.remove(key);
    }
    empty
}

/// The keyspace event of a push or pop at `end`.
fn end_event(end: End, push: bool) -> &'static str {
    match (end, push) {
        (End::Head, true) => "lpush",
        (End::Tail, true) => "rpush",
        (End::Head, false) => "lpop",
        (End::Tail, false) => "rpop",
    }
}

/// Keyspace events for elements popped from `key`: the pop, then `del` if it emptied.
fn notify_pop(ctx: &Ctx, key: &[u8], end: End, emptied: bool) {
    ctx.notify(class::LIST, end_event(end, false), key);
    if emptied {
        ctx.notify(class::GENERIC, "del", key);
    }
}

/// Pushes onto the list at `key`, creating it unless `only_existing`. Returns the new
/// length, or None when the key was absent and not created.
fn push_into(
    shard: &mut Shard,
    key: &[u8],
    now: i64,
    fill: i64,
    end: End,
    elems: &[&[u8]],
    only_existing: bool,
) -> Result<Option<usize>, CmdError> {
    if let Some(n) = shard.get_mut(key, now) {
        let l = list_mut(n)?;
        l.grow_for(fill, elems.iter().copied());
        for e in elems {
            l.push(end, e);
        }
        return Ok(Some(l.len()));
    }
    if only_existing {
        return Ok(None);
    }
    let mut l = List::new();
    l.grow_for(fill, elems.iter().copied());
    for e in elems {
        l.push(end, e);
    }
    let len = l.len();
    shard.set(key, NewValue::Obj(Object::list(l)), None, now);
    Ok(Some(len))
}

// ---------------------------------------------------------------- push, pop

fn lpush(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    push_generic(ctx, args, End::Head, false)
}

fn rpush(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    push_generic(ctx, args, End::Tail, false)
}

fn lpushx(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    push_generic(ctx, args, End::Head, true)
}

fn rpushx(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    push_generic(ctx, args, End::Tail, true)
}

fn push_generic(ctx: &mut Ctx, args: &[&[u8]], end: End, only_existing: bool) -> CmdResult {
    let fill = fill(ctx);
    let elems = &args[2..];
    let len = {
        let mut shard = ctx.db().lock(args[1]);
        push_into(
            &mut shard,
            args[1],
            ctx.now,
            fill,
            end,
            elems,
            only_existing,
        )?
    };
    match len {
        Some(len) => {
            ctx.dirty += elems.len() as u64;
            ctx.notify(class::LIST, end_event(end, true), args[1]);
            ctx.out.int(len as i64);
        }
        None => ctx.out.int(0),
    }
    Ok(())
}

fn lpop(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    pop_generic(ctx, args, End::Head)
}

fn rpop(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    pop_generic(ctx, args, End::Tail)
}

fn pop_generic(ctx: &mut Ctx, args: &[&[u8]], end: End) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::err(format!(
            "wrong number of arguments for '{}' command",
            ctx.cmd.name
        )));
    }
    let count = args.get(2).map(|a| positive_arg(a, POSITIVE)).transpose()?;
    let key = args[1];
    let (now, fill) = (ctx.now, fill(ctx));
    let mut shard = ctx.db().lock(key);
    let Some(n) = shard.get_mut(key, now) else {
        if count.is_some() {
            ctx.out.null_array();
        } else {
            ctx.out.null();
        }
        return Ok(());
    };
    let l = list_mut(n)?;
    let popped = match count {
        None => {
            if let Some(v) = l.pop(end) {
                ctx.out.bulk(&v);
            }
            1
        }
        Some(count) => {
            let take = count.min(l.len());
            ctx.out.array(take);
            for _ in 0..take {
                if let Some(v) = l.pop(end) {
                    ctx.out.bulk(&v);
                }
            }
            take
        }
    };
    if popped > 0 {
        let emptied = after_removal(&mut shard, key, now, fill);
        ctx.dirty += popped as u64;
        notify_pop(ctx, key, end, emptied);
    }
    Ok(())
}

fn lmpop(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let numkeys = match parse_i64(args[1]) {
        Some(n) if n >= 1 => n as u64,
        _ => return Err(CmdError::err("numkeys should be greater than 0")),
    };
    // the direction sits right after the keys; too few arguments is a syntax error
    let where_idx = numkeys
        .checked_add(2)
        .filter(|&i| i < args.len() as u64)
        .ok_or(CmdError::Syntax)? as usize;
    let end = end_arg(args[where_idx])?;
    let mut count = None;
    let mut i = where_idx + 1;
    while i < args.len() {
        if count.is_none() && is(args[i], "count") && i + 1 < args.len() {
            i += 1;
            count = match parse_i64(args[i]) {
                Some(c) if c >= 1 => Some(usize::try_from(c).unwrap_or(usize::MAX)),
                _ => return Err(CmdError::err("count should be greater than 0")),
            };
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let count = count.unwrap_or(1);
    let keys = &args[2..where_idx];
    let (now, fill) = (ctx.now, fill(ctx));
    let db = ctx.db();
    let mut locks = db.lock_keys(keys.iter().copied());
    for &key in keys {
        let shard = locks.shard(key);
        let Some(n) = shard.get_mut(key, now) else {
            continue;
        };
        let l = list_mut(n)?;
        let take = count.min(l.len());
        ctx.out.array(2);
        ctx.out.bulk(key);
        ctx.out.array(take);
        for _ in 0..take {
            if let Some(v) = l.pop(end) {
                ctx.out.bulk(&v);
            }
        }
        let emptied = after_removal(shard, key, now, fill);
        ctx.dirty += take as u64;
        notify_pop(ctx, key, end, emptied);
        return Ok(());
    }
    ctx.out.null_array();
    Ok(())
}

// ---------------------------------------------------------------- reads

fn llen(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let len = {
        let mut shard = ctx.db().lock(args[1]);
        read_list(&mut shard, args[1], ctx.now)?.map_or(0, List::len)
    };
    ctx.out.int(len as i64);
    Ok(())
}

fn lrange(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let start = int_arg(args[2])?;
    let stop = int_arg(args[3])?;
    let mut shard = ctx.db().lock(args[1]);
    let Some(l) = read_list(&mut shard, args[1], ctx.now)? else {
        ctx.out.array(0);
        return Ok(());
    };
    let len = l.len() as i64;
    let start = if start < 0 {
        (len + start).max(0)
    } else {
        start
    };
    let stop = if stop < 0 {
        len + stop
    } else {
        stop.min(len - 1)
    };
    if start > stop || start >= len {
        ctx.out.array(0);
        return Ok(());
    }
    ctx.out.array((stop - start + 1) as usize);
    for v in l.range(start as usize, stop as usize) {
        ctx.out.bulk(v);
    }
    Ok(())
}

/// A possibly negative index resolved against `len`.
fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let len = len as i64;
    let i = if index < 0 {
        len.checked_add(index)?
    } else {
        index
    };
    (0..len).contains(&i).then_some(i as usize)
}

fn lindex(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let index = int_arg(args[2])?;
    let mut shard = ctx.db().lock(args[1]);
    let v = read_list(&mut shard, args[1], ctx.now)?
        .and_then(|l| resolve_index(index, l.len()).and_then(|i| l.get(i)));
    match v {
        Some(v) => ctx.out.bulk(v),
        None => ctx.out.null(),
    }
    Ok(())
}

fn lpos(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let mut rank: i64 = 1;
    let mut count: Option<usize> = None;
    let mut maxlen: usize = 0;
    let mut i = 3;
    while i < args.len() {
        let more = i + 1 < args.len();
        if is(args[i], "rank") && more {
            i += 1;
            rank = int_arg(args[i])?;
            if rank == i64::MIN {
                return Err(CmdError::err(
                    "value is out of range, value must between -9223372036854775807 and 9223372036854775807",
                ));
            }
            if rank == 0 {
                return Err(CmdError::err(
                    "RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
                ));
            }
        } else if is(args[i], "count") && more {
            i += 1;
            count = Some(positive_arg(args[i], "ERR COUNT can't be negative")?);
        } else if is(args[i], "maxlen") && more {
            i += 1;
            maxlen = positive_arg(args[i], "ERR MAXLEN can't be negative")?;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let mut shard = ctx.db().lock(args[1]);
    let Some(l) = read_list(&mut shard, args[1], ctx.now)? else {
        match count {
            Some(_) => ctx.out.array(0),
            None => ctx.out.null(),
        }
        return Ok(());
    };
    let want = args[2];
    let len = l.len();
    let skip = rank.unsigned_abs() - 1;
    let limit = if maxlen == 0 { len } else { maxlen.min(len) };
    let positions: Box<dyn Iterator<Item = (usize, &[u8])>> = if rank > 0 {
        Box::new(l.iter().enumerate().take(limit))
    } else {
        Box::new(l.iter().enumerate().rev().take(limit))
    };
    let mut matches = positions
        .filter(|(_, v)| *v == want)
        .map(|(i, _)| i)
        .skip(usize::try_from(skip).unwrap_or(usize::MAX));
    match count {
        None => match matches.next() {
            Some(i) => ctx.out.int(i as i64),
            None => ctx.out.null(),
        },
        Some(count) => {
            let found: Vec<usize> = if count == 0 {
                matches.collect()
            } else {
                matches.take(count).collect()
            };
            ctx.out.array(found.len());
            for i in found {
                ctx.out.int(i as i64);
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- edits

fn lset(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let (now, fill) = (ctx.now, fill(ctx));
    let key = args[1];
    let mut shard = ctx.db().lock(key);
    let n = shard.get_mut(key, now).ok_or(CmdError::NoSuchKey)?;
    let l = list_mut(n)?;
    let index = int_arg(args[2])?;
    // Valkey converts for the new element before knowing whether the index is valid
    l.grow_for(fill, [args[3]]);
    let i = resolve_index(index, l.len()).ok_or_else(|| CmdError::err("index out of range"))?;
    l.set(i, args[3]);
    l.shrink(fill);
    ctx.dirty += 1;
    ctx.notify(class::LIST, "lset", key);
    ctx.out.ok();
    Ok(())
}

fn linsert(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let after = if is(args[2], "after") {
        true
    } else if is(args[2], "before") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let (now, fill) = (ctx.now, fill(ctx));
    let key = args[1];
    let mut shard = ctx.db().lock(key);
    let Some(n) = shard.get_mut(key, now) else {
        ctx.out.int(0);
        return Ok(());
    };
    let l = list_mut(n)?;
    // as Valkey: the encoding makes room for the element even if the pivot is missing
    l.grow_for(fill, [args[4]]);
    let Some(pos) = l.iter().position(|v| v == args[3]) else {
        ctx.out.int(-1);
        return Ok(());
    };
    l.insert(pos, after, args[4]);
    let len = l.len();
    ctx.dirty += 1;
    ctx.notify(class::LIST, "linsert", key);
    ctx.out.int(len as i64);
    Ok(())
}

fn lrem(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let count = int_arg(args[2])?;
    // read in -LONG_MAX..LONG_MAX, as Valkey's getRangeLongFromObjectOrReply
    if count == i64::MIN {
        return Err(CmdError::err(
            "value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    let (now, fill) = (ctx.now, fill(ctx));
    let key = args[1];
    let mut shard = ctx.db().lock(key);
    let Some(n) = shard.get_mut(key, now) else {
        ctx.out.int(0);
        return Ok(());
    };
    let l = list_mut(n)?;
    let from = if count < 0 { End::Tail } else { End::Head };
    let limit = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
    let removed = l.remove_matching(args[3], limit, from);
    if removed > 0 {
        let emptied = after_removal(&mut shard, key, now, fill);
        ctx.dirty += removed as u64;
        ctx.notify(class::LIST, "lrem", key);
        if emptied {
            ctx.notify(class::GENERIC, "del", key);
        }
    }
    ctx.out.int(removed as i64);
    Ok(())
}

fn ltrim(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let start = int_arg(args[2])?;
    let stop = int_arg(args[3])?;
    let (now, fill) = (ctx.now, fill(ctx));
    let key = args[1];
    let mut shard = ctx.db().lock(key);
    if let Some(n) = shard.get_mut(key, now) {
        let l = list_mut(n)?;
        let len = l.len() as i64;
        let start = if start < 0 {
            (len + start).max(0)
        } else {
            start
        };
        let stop = if stop < 0 { len + stop } else { stop };
        let (from, keep) = if start > stop || start >= len {
            (len, 0)
        } else {
            let stop = stop.min(len - 1);
            (start, stop - start + 1)
        };
        l.trim(from as usize, keep as usize);
        ctx.dirty += (len - keep) as u64;
        let emptied = after_removal(&mut shard, key, now, fill);
        ctx.notify(class::LIST, "ltrim", key);
        if emptied {
            ctx.notify(class::GENERIC, "del", key);
        }
    }
    ctx.out.ok();
    Ok(())
}

// ---------------------------------------------------------------- moves

fn lmove(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let from = end_arg(args[3])?;
    let to = end_arg(args[4])?;
    move_generic(ctx, args[1], args[2], from, to)
}

fn rpoplpush(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    move_generic(ctx, args[1], args[2], End::Tail, End::Head)
}

fn move_generic(ctx: &mut Ctx, src: &[u8], dst: &[u8], from: End, to: End) -> CmdResult {
    let (now, fill) = (ctx.now, fill(ctx));
    let db = ctx.db();
    let mut locks = db.lock_keys([src, dst]);
    let Some(n) = locks.shard(src).get_mut(src, now) else {
        ctx.out.null();
        return Ok(());
    };
    list_ref(n)?;
    if src != dst {
        if let Some(d) = locks.shard(dst).get(dst, now) {
            list_ref(d)?;
        }
    }
    let Some(n) = locks.shard(src).get_mut(src, now) else {
        ctx.out.null();
        return Ok(());
    };
    let l = list_mut(n)?;
    if src == dst {
        // a rotation: the list never empties, so the key and its TTL stay
        let Some(v) = l.pop(from) else {
            ctx.out.null();
            return Ok(());
        };
        l.grow_for(fill, [&*v]);
        l.push(to, &v);
        l.shrink(fill);
        ctx.dirty += 1;
        ctx.notify(class::LIST, end_event(to, true), dst);
        ctx.notify(class::LIST, end_event(from, false), src);
        ctx.out.bulk(&v);
        return Ok(());
    }
    let Some(v) = l.pop(from) else {
        ctx.out.null();
        return Ok(());
    };
    let emptied = after_removal(locks.shard(src), src, now, fill);
    push_into(locks.shard(dst), dst, now, fill, to, &[&v], false)?;
    ctx.dirty += 1;
    ctx.notify(class::LIST, end_event(to, true), dst);
    notify_pop(ctx, src, from, emptied);
    ctx.out.bulk(&v);
    Ok(())
}

// ---------------------------------------------------------------- blocking forms

fn blpop(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    bpop(ctx, args, End::Head)
}

fn brpop(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    bpop(ctx, args, End::Tail)
}

/// BLPOP/BRPOP key [key ...] timeout: pops from the first non-empty list, in key order.
fn bpop(ctx: &mut Ctx, args: &[&[u8]], end: End) -> CmdResult {
    let timeout = blocking::timeout_arg(args[args.len() - 1])?;
    let keys = &args[1..args.len() - 1];
    let (now, fill) = (ctx.now, fill(ctx));
    for &key in keys {
        let mut shard = ctx.db().lock(key);
        let Some(n) = shard.get_mut(key, now) else {
            continue;
        };
        let Some(v) = list_mut(n)?.pop(end) else {
            continue;
        };
        let emptied = after_removal(&mut shard, key, now, fill);
        drop(shard);
        ctx.dirty += 1;
        notify_pop(ctx, key, end, emptied);
        // the log gets the pop that happened, not a command that may block
        let pop: &[u8] = if end == End::Head { b"LPOP" } else { b"RPOP" };
        ctx.propagate = Some(vec![vec![pop.to_vec(), key.to_vec()]]);
        ctx.out.array(2);
        ctx.out.bulk(key);
        ctx.out.bulk(&v);
        return Ok(());
    }
    let at = ctx.out.len();
    ctx.out.null_array();
    blocking::block(ctx, args, keys, Kind::List, timeout, at);
    Ok(())
}

fn blmove(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let from = end_arg(args[3])?;
    let to = end_arg(args[4])?;
    let timeout = blocking::timeout_arg(args[5])?;
    bmove(ctx, args, from, to, timeout)
}

fn brpoplpush(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let timeout = blocking::timeout_arg(args[3])?;
    bmove(ctx, args, End::Tail, End::Head, timeout)
}

fn bmove(
    ctx: &mut Ctx,
    args: &[&[u8]],
    from: End,
    to: End,
    timeout: Option<std::time::Duration>,
) -> CmdResult {
    let (dirty, at) = (ctx.dirty, ctx.out.len());
    move_generic(ctx, args[1], args[2], from, to)?;
    if ctx.dirty > dirty {
        let logged: Vec<Vec<u8>> = if args.len() == 6 {
            [&b"LMOVE"[..], args[1], args[2], args[3], args[4]]
                .iter()
                .map(|a| a.to_vec())
                .collect()
        } else {
            [&b"RPOPLPUSH"[..], args[1], args[2]]
                .iter()
                .map(|a| a.to_vec())
                .collect()
        };
        ctx.propagate = Some(vec![logged]);
        return Ok(());
    }
    ctx.out.truncate(at);
    ctx.out.null_array();
    blocking::block(ctx, args, &args[1..2], Kind::List, timeout, at);
    Ok(())
}

/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]: LMPOP once the
/// timeout is set aside.
fn blmpop(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let timeout = blocking::timeout_arg(args[1])?;
    let mut rest: crate::protocol::decode::Args = args.iter().copied().collect();
    rest.remove(1);
    let (dirty, at) = (ctx.dirty, ctx.out.len());
    lmpop(ctx, &rest)?;
    if ctx.dirty > dirty {
        let mut logged: Vec<Vec<u8>> = rest.iter().map(|a| a.to_vec()).collect();
        logged[0] = b"LMPOP".to_vec();
        ctx.propagate = Some(vec![logged]);
        return Ok(());
    }
    // LMPOP accepted the arguments, so numkeys is valid and the keys are there
    let numkeys = parse_i64(args[2]).unwrap_or(0).max(0) as usize;
    let keys = &args[3..(3 + numkeys).min(args.len())];
    ctx.out.truncate(at);
    ctx.out.null_array();
    blocking::block(ctx, args, keys, Kind::List, timeout, at);
    Ok(())
}
