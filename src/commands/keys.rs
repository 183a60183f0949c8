//! Generic keyspace commands: deletion, existence and type, renaming and copying between
//! keys and databases, iteration, expiry, introspection (OBJECT) and DUMP/RESTORE.

use super::flags::*;
use super::spec::container;
use super::{acl, glob_match, int32_arg, int_arg, is, lossy, CmdError, CmdResult, Command, Ctx};
use crate::protocol::decode::parse_i64;
use crate::pubsub::class;
use crate::store::dump::{self, DumpError};
use crate::store::table::LRU_MAX;
use crate::store::{lru_clock, Node, OwnedValue, Shard, ValueRef, SHARDS};

const KS: u64 = acl::KEYSPACE;

pub static COMMANDS: &[Command] = &[
    Command::new("del", -2, WRITE, del)
        .keys(1, -1, 1)
        .acl(KS)
        .doc("generic", "1.0.0", "Deletes one or more keys.", "O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1)."),
    Command::new("unlink", -2, WRITE | FAST, del)
        .keys(1, -1, 1)
        .acl(KS)
        .doc("generic", "4.0.0", "Asynchronously deletes one or more keys.", "O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of."),
    Command::new("exists", -2, READONLY | FAST, exists)
        .keys(1, -1, 1)
        .acl(KS)
        .doc("generic", "1.0.0", "Determines whether one or more keys exist.", "O(N) where N is the number of keys to check."),
    Command::new("type", 2, READONLY | FAST, type_cmd)
        .keys(1, 1, 1)
        .acl(KS)
        .doc("generic", "1.0.0", "Determines the type of value stored at a key.", "O(1)"),
    Command::new("rename", 3, WRITE, rename)
        .keys(1, 2, 1)
        .acl(KS)
        .doc("generic", "1.0.0", "Renames a key and overwrites the destination.", "O(1)"),
    Command::new("renamenx", 3, WRITE | FAST, renamenx)
        .keys(1, 2, 1)
        .acl(KS)
        .doc("generic", "1.0.0", "Renames a key only when the target key name doesn't exist.", "O(1)"),
    Command::new("copy", -3, WRITE | DENYOOM, copy)
        .keys(1, 2, 1)
        .acl(KS)
        .doc("generic", "6.2.0", "Copies the value of a key to a new key.", "O(N) worst case for collections, where N is the number of nested items. O(1) for string values."),
    Command::new("move", 3, WRITE | FAST, move_cmd)
        .keys(1, 1, 1)
        .acl(KS)
        .doc("generic", "1.0.0", "Moves a key to another database.", "O(1)"),
    Command::new("swapdb", 3, WRITE | FAST, swapdb)
        .acl(KS | acl::DANGEROUS)
        .doc("generic", "4.0.0", "Swaps two databases.", "O(N) where N is the count of clients watching or blocking on keys from both databases."),
    Command::new("keys", 2, READONLY, keys)
        .acl(KS | acl::DANGEROUS)
        .doc("generic", "1.0.0", "Returns all key names that match a pattern.", "O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length."),
    Command::new("scan", -2, READONLY, scan)
        .acl(KS)
        .doc("generic", "2.8.0", "Iterates over the key names in the database.", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection."),
    Command::new("randomkey", 1, READONLY, randomkey)
        .acl(KS)
        .doc("generic", "1.0.0", "Returns a random key name from the database.", "O(1)"),
    Command::new("touch", -2, READONLY | FAST, touch)
        .keys(1, -1, 1)
        .acl(KS)
        .doc("generic", "3.2.1", "Returns the number of existing keys out of those specified after updating the time they were last accessed.", "O(N) where N is the number of keys that will be touched."),
    Command::new("expire", -3, WRITE | FAST, expire)
        .keys(1, 1, 1)
        .acl(KS)
        .doc("generic", "1.0.0", "Sets the expiration time of a key in seconds.", "O(1)"),
    Command::new("pexpire", -3, WRITE | FAST, pexpire)
        .keys(1, 1, 1)
        .acl(KS)
        .doc("generic", "2.6.0", "Sets the expiration time of a key in milliseconds.", "O(1)"),
    Command::new("expireat", -3, WRITE | FAST, expireat)
        .keys(1, 1, 1)
        .acl(KS)
        .doc("generic", "1.2.0", "Sets the expiration time of a key to a Unix timestamp.", "O(1)"),
    Command::new("pexpireat", -3, WRITE | FAST, pexpireat)
        .keys(1, 1, 1)
        .acl(KS)
        .doc("generic", "2.6.0", "Sets the expiration time of a key to a Unix milliseconds timestamp.", "O(1)"),
    Command::new("ttl", 2, READONLY | FAST, ttl)
        .keys(1, 1, 1)
        .acl(KS)
        .doc("generic", "1.0.0", "Returns the expiration time in seconds of a key.", "O(1)"),
    Command::new("pttl", 2, READONLY | FAST, pttl)
        .keys(1, 1, 1)
        .acl(KS)
        .doc("generic", "2.6.0", "Returns the expiration time in milliseconds of a key.", "O(1)"),
    Command::new("expiretime", 2, READONLY | FAST, expiretime)
        .keys(1, 1, 1)
        .acl(KS)
        .doc("generic", "7.0.0", "Returns the expiration time of a key as a Unix timestamp.", "O(1)"),
    Command::new("pexpiretime", 2, READONLY | FAST, pexpiretime)
        .keys(1, 1, 1)
        .acl(KS)
        .doc("generic", "7.0.0", "Returns the expiration time of a key as a Unix milliseconds timestamp.", "O(1)"),
    Command::new("persist", 2, WRITE | FAST, persist)
        .keys(1, 1, 1)
        .acl(KS)
        .doc("generic", "2.2.0", "Removes the expiration time of a key.", "O(1)"),
    Command::new("object", -2, 0, container)
        .doc("generic", "2.2.3", "A container for object introspection commands.", "Depends on subcommand.")
        .subs(&[
            Command::new("encoding", 3, READONLY, object_encoding)
                .keys(2, 2, 1)
                .acl(KS)
                .doc("generic", "2.2.3", "Returns the internal encoding of an object.", "O(1)"),
            Command::new("freq", 3, READONLY, object_freq)
                .keys(2, 2, 1)
                .acl(KS)
                .doc("generic", "4.0.0", "Returns the logarithmic access frequency counter of an object.", "O(1)"),
            Command::new("idletime", 3, READONLY, object_idletime)
                .keys(2, 2, 1)
                .acl(KS)
                .doc("generic", "2.2.3", "Returns the time since the last access to an object.", "O(1)"),
            Command::new("refcount", 3, READONLY, object_refcount)
                .keys(2, 2, 1)
                .acl(KS)
                .doc("generic", "2.2.3", "Returns the reference count of a value of a key.", "O(1)"),
            Command::new("help", 2, LOADING | STALE, object_help)
                .acl(KS)
                .doc("generic", "6.2.0", "Returns helpful text about the different subcommands.", "O(1)"),
        ]),
    Command::new("dump", 2, READONLY, dump_cmd)
        .keys(1, 1, 1)
        .acl(KS)
        .doc("generic", "2.6.0", "Returns a serialized representation of the value stored at a key.", "O(1) to access the key and additional O(N*M) to serialize it, where N is the number of objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1)."),
    Command::new("restore", -4, WRITE | DENYOOM, restore)
        .keys(1, 1, 1)
        .acl(KS | acl::DANGEROUS)
        .doc("generic", "2.6.0", "Creates a key from the serialized representation of a value.", "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N))."),
];

const SAME_OBJECT: &str = "ERR source and destination objects are the same";
const DB_RANGE: &str = "DB index is out of range";

/// Looks a key up without marking it as used (Valkey's LOOKUP_NOTOUCH): an expired key
/// is still reaped, but a live one keeps its LRU clock.
fn peek_live<'s>(shard: &'s mut Shard, key: &[u8], now: i64) -> Option<&'s Node> {
    if shard.peek(key)?.is_expired(now) {
        // the ordinary lookup reaps it and counts the expiry
        let _ = shard.get(key, now);
        return None;
    }
    shard.peek(key)
}

/// A database number argument: an integer within 32 bits, then within the configured
/// number of databases.
fn db_arg(ctx: &Ctx, a: &[u8]) -> Result<usize, CmdError> {
    let n = int32_arg(a)?;
    if n < 0 || n as usize >= ctx.srv.keyspace.db_count() {
        return Err(CmdError::err(DB_RANGE));
    }
    Ok(n as usize)
}

/// The value of a node, detached so it can be stored under another key.
fn owned_copy(n: &Node) -> OwnedValue {
    match n.value() {
        ValueRef::Str(s) => OwnedValue::Str(s.to_vec()),
        ValueRef::Obj(o) => OwnedValue::Obj(o.clone()),
    }
}

// ---------------------------------------------------------------- DEL, EXISTS, TYPE

fn del(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let keys = &args[1..];
    let mut n = 0;
    {
        let db = ctx.db();
        let mut locks = db.lock_keys(keys.iter().copied());
        for k in keys {
            if locks.shard(k).delete(k, ctx.now).is_some() {
                n += 1;
                ctx.notify(class::GENERIC, "del", k);
            }
        }
    }
    ctx.dirty += n;
    ctx.out.int(n as i64);
    Ok(())
}

fn exists(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let keys = &args[1..];
    let mut n = 0;
    {
        let db = ctx.db();
        let mut locks = db.lock_keys(keys.iter().copied());
        for k in keys {
            if peek_live(locks.shard(k), k, ctx.now).is_some() {
                n += 1;
            }
        }
    }
    ctx.out.int(n);
    Ok(())
}

fn type_cmd(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let name = {
        let mut shard = ctx.db().lock(args[1]);
        peek_live(&mut shard, args[1], ctx.now).map_or("none", |n| n.value().type_name())
    };
    ctx.out.simple(name);
    Ok(())
}

fn touch(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let keys = &args[1..];
    let mut n = 0;
    // TOUCH marks its keys as used even for a CLIENT NO-TOUCH client
    let _touching = crate::store::evict::NoTouch::enter(false);
    {
        let db = ctx.db();
        let mut locks = db.lock_keys(keys.iter().copied());
        for k in keys {
            if locks.shard(k).get(k, ctx.now).is_some() {
                n += 1;
            }
        }
    }
    ctx.out.int(n);
    Ok(())
}

// ---------------------------------------------------------------- RENAME, MOVE, COPY, SWAPDB

fn rename(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    rename_generic(ctx, args, false)
}

fn renamenx(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    rename_generic(ctx, args, true)
}

fn rename_generic(ctx: &mut Ctx, args: &[&[u8]], nx: bool) -> CmdResult {
    let (src, dst) = (args[1], args[2]);
    let now = ctx.now;
    let renamed = {
        let db = ctx.db();
        let mut locks = db.lock_keys([src, dst]);
        if locks.shard(src).get(src, now).is_none() {
            return Err(CmdError::NoSuchKey);
        }
        if src == dst {
            // nothing to do, but the source must exist
            false
        } else if locks.shard(dst).get(dst, now).is_some() && nx {
            false
        } else {
            let Some(node) = locks.shard(src).remove(src) else {
                return Err(CmdError::NoSuchKey);
            };
            let (value, expire) = node.into_parts();
            // insert_owned replaces an existing destination
            locks.shard(dst).insert_owned(dst, value, expire, now);
            true
        }
    };
    if renamed {
        ctx.dirty += 1;
        ctx.notify(class::GENERIC, "rename_from", src);
        ctx.notify(class::GENERIC, "rename_to", dst);
    }
    if nx {
        ctx.out.int(renamed as i64);
    } else {
        ctx.out.ok();
    }
    Ok(())
}

fn move_cmd(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let key = args[1];
    let dst = db_arg(ctx, args[2])?;
    let src = ctx.client.db;
    if src == dst {
        return Err(CmdError::msg(SAME_OBJECT));
    }
    let now = ctx.now;
    let moved = {
        let (mut from, to) = ctx.srv.keyspace.lock_across(src, key, dst, key);
        // two different databases never share a shard lock
        let Some(mut to) = to else {
            return Err(CmdError::msg(SAME_OBJECT));
        };
        if from.get(key, now).is_none() || to.get(key, now).is_some() {
            false
        } else if let Some(node) = from.remove(key) {
            let (value, expire) = node.into_parts();
            to.insert_owned(key, value, expire, now);
            true
        } else {
            false
        }
    };
    if moved {
        ctx.dirty += 1;
        ctx.srv.key_modified(dst, key);
        crate::pubsub::notify(ctx.srv, class::GENERIC, "move_from", key, src);
        crate::pubsub::notify(ctx.srv, class::GENERIC, "move_to", key, dst);
    }
    ctx.out.int(moved as i64);
    Ok(())
}

fn copy(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let (src_key, dst_key) = (args[1], args[2]);
    let src_db = ctx.client.db;
    let mut dst_db = src_db;
    let mut replace = false;
    let mut i = 3;
    while i < args.len() {
        if is(args[i], "replace") {
            replace = true;
        } else if is(args[i], "db") && i + 1 < args.len() {
            dst_db = db_arg(ctx, args[i + 1])?;
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if src_db == dst_db && src_key == dst_key {
        return Err(CmdError::msg(SAME_OBJECT));
    }
    let now = ctx.now;
    let copied = {
        let (mut from, mut to) = ctx
            .srv
            .keyspace
            .lock_across(src_db, src_key, dst_db, dst_key);
        let Some(node) = from.get(src_key, now) else {
            ctx.out.int(0);
            return Ok(());
        };
        let (value, expire) = (owned_copy(node), node.expire());
        let target: &mut Shard = match to.as_mut() {
            Some(g) => g,
            None => &mut from,
        };
        if target.get(dst_key, now).is_some() && !replace {
            false
        } else {
            target.insert_owned(dst_key, value, expire, now);
            true
        }
    };
    if copied {
        ctx.dirty += 1;
        if dst_db != src_db {
            ctx.srv.key_modified(dst_db, dst_key);
        }
        crate::pubsub::notify(ctx.srv, class::GENERIC, "copy_to", dst_key, dst_db);
    }
    ctx.out.int(copied as i64);
    Ok(())
}

fn swapdb(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let index = |a: &[u8], what: &str| {
        parse_i64(a)
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(|| CmdError::err(format!("invalid {what} DB index")))
    };
    let a = index(args[1], "first")?;
    let b = index(args[2], "second")?;
    let count = ctx.srv.keyspace.db_count();
    let in_range = |n: i32| n >= 0 && (n as usize) < count;
    if !in_range(a) || !in_range(b) {
        return Err(CmdError::err(DB_RANGE));
    }
    super::transactions::touch_swapped(ctx.srv, a as usize, b as usize, ctx.now);
    ctx.srv.keyspace.swap(a as usize, b as usize);
    ctx.srv.blocking.signal_db(ctx.srv, a as usize);
    ctx.srv.blocking.signal_db(ctx.srv, b as usize);
    ctx.dirty += 1;
    ctx.out.ok();
    Ok(())
}

// ---------------------------------------------------------------- KEYS, SCAN, RANDOMKEY

fn keys(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let pattern = args[1];
    let all = pattern == b"*";
    let db = ctx.db();
    let out = &mut *ctx.out;
    let at = out.deferred_array();
    let mut n = 0;
    db.for_each(ctx.now, |node| {
        if all || glob_match(pattern, node.key(), false) {
            out.bulk(node.key());
            n += 1;
        }
    });
    out.fix_deferred(at, n);
    Ok(())
}

/// Type names SCAN TYPE accepts, whether or not such keys can exist yet.
const TYPE_NAMES: &[&str] = &["string", "list", "set", "zset", "hash", "stream"];

/// A SCAN cursor as Valkey's `string2ull`: a canonical non-negative integer, or what
/// C's `strtoull` accepts over the whole argument (up to a NUL byte).
pub(crate) fn parse_cursor(a: &[u8]) -> Option<u64> {
    if let Some(n) = parse_i64(a) {
        return u64::try_from(n).ok();
    }
    let a = a.iter().position(|&c| c == 0).map_or(a, |end| &a[..end]);
    let mut rest = a;
    while let [c, tail @ ..] = rest {
        if !matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r') {
            break;
        }
        rest = tail;
    }
    let neg = match rest.first() {
        Some(b'-') => true,
        Some(b'+') => false,
        _ => {
            return parse_digits(rest);
        }
    };
    let v = parse_digits(&rest[1..])?;
    Some(if neg { v.wrapping_neg() } else { v })
}

fn parse_digits(d: &[u8]) -> Option<u64> {
    if d.is_empty() {
        return None;
    }
    d.iter().try_fold(0u64, |v, &c| {
        if !c.is_ascii_digit() {
            return None;
        }
        v.checked_mul(10)?.checked_add((c - b'0') as u64)
    })
}

/// Which SCAN-family command parses its options: each takes COUNT and MATCH, and
/// one option of its own.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScanOf {
    /// SCAN: TYPE
    Keys,
    /// SSCAN
    Set,
    /// HSCAN: NOVALUES
    Hash,
    /// ZSCAN: NOSCORES
    ZSet,
}

/// The options of a SCAN-family command.
pub(crate) struct ScanOpts<'a> {
    pub count: usize,
    /// None also for "*", which matches everything.
    pub pattern: Option<&'a [u8]>,
    pub type_name: Option<&'static str>,
    pub novalues: bool,
    pub noscores: bool,
}

/// Parses `args` (the options after the cursor) with Valkey's errors.
pub(crate) fn scan_opts<'a>(args: &[&'a [u8]], of: ScanOf) -> Result<ScanOpts<'a>, CmdError> {
    let mut o = ScanOpts {
        count: 10,
        pattern: None,
        type_name: None,
        novalues: false,
        noscores: false,
    };
    let mut i = 0;
    while i < args.len() {
        let more = i + 1 < args.len();
        if is(args[i], "count") && more {
            let n = int_arg(args[i + 1])?;
            if n < 1 {
                return Err(CmdError::Syntax);
            }
            o.count = usize::try_from(n).unwrap_or(usize::MAX);
            i += 2;
        } else if is(args[i], "match") && more {
            o.pattern = Some(args[i + 1]).filter(|p| *p != b"*");
            i += 2;
        } else if is(args[i], "type") && more && of == ScanOf::Keys {
            let t = args[i + 1];
            o.type_name = Some(
                TYPE_NAMES
                    .iter()
                    .copied()
                    .find(|n| is(t, n))
                    .ok_or_else(|| CmdError::err(format!("unknown type name '{}'", lossy(t))))?,
            );
            i += 2;
        } else if is(args[i], "novalues") && of != ScanOf::ZSet {
            if of != ScanOf::Hash {
                return Err(CmdError::err("NOVALUES option can only be used in HSCAN"));
            }
            o.novalues = true;
            i += 1;
        } else if is(args[i], "noscores") {
            if of != ScanOf::ZSet {
                return Err(CmdError::err("NOSCORES option can only be used in ZSCAN"));
            }
            o.noscores = true;
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(o)
}

fn scan(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let cursor = parse_cursor(args[1]).ok_or_else(|| CmdError::err("invalid cursor"))?;
    let ScanOpts {
        count,
        pattern,
        type_name,
        ..
    } = scan_opts(&args[2..], ScanOf::Keys)?;
    let mut found: Vec<Vec<u8>> = Vec::new();
    let mut sampled = 0usize;
    // Valkey bounds one call by about ten bucket visits per COUNT. Hopping over the
    // keyspace shards is ferrokey's own overhead, so each call may also walk every shard
    // once: an empty or small database completes in one call, as in Valkey.
    let per_call = count.saturating_mul(10).max(10);
    let max_calls = per_call.saturating_add(2 * SHARDS).div_ceil(per_call);
    let db = ctx.db();
    let mut next = cursor;
    for _ in 0..max_calls {
        next = db.scan(next, count - sampled, ctx.now, |n| {
            sampled += 1;
            if type_name.is_some_and(|t| n.value().type_name() != t) {
                return;
            }
            if pattern.is_some_and(|p| !glob_match(p, n.key(), false)) {
                return;
            }
            found.push(n.key().to_vec());
        });
        if next == 0 || sampled >= count {
            break;
        }
    }
    ctx.out.array(2);
    ctx.out.bulk(itoa::Buffer::new().format(next).as_bytes());
    ctx.out.array(found.len());
    for k in &found {
        ctx.out.bulk(k);
    }
    Ok(())
}

fn randomkey(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    match ctx.db().random_key(ctx.now) {
        Some(k) => ctx.out.bulk(&k),
        None => ctx.out.null(),
    }
    Ok(())
}

// ---------------------------------------------------------------- EXPIRE family

fn expire(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    expire_generic(ctx, args, 1000, true)
}

fn pexpire(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    expire_generic(ctx, args, 1, true)
}

fn expireat(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    expire_generic(ctx, args, 1000, false)
}

fn pexpireat(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    expire_generic(ctx, args, 1, false)
}

/// EXPIRE key time [NX|XX|GT|LT] and its millisecond and absolute variants. The time
/// may be negative or in the past, which deletes the key.
fn expire_generic(ctx: &mut Ctx, args: &[&[u8]], unit_ms: i64, relative: bool) -> CmdResult {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for &opt in &args[3..] {
        if is(opt, "nx") {
            nx = true;
        } else if is(opt, "xx") {
            xx = true;
        } else if is(opt, "gt") {
            gt = true;
        } else if is(opt, "lt") {
            lt = true;
        } else {
            return Err(CmdError::err(format!("Unsupported option {}", lossy(opt))));
        }
    }
    if nx && (xx || gt || lt) {
        return Err(CmdError::err(
            "NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if gt && lt {
        return Err(CmdError::err(
            "GT and LT options at the same time are not compatible",
        ));
    }
    let name = ctx.cmd.name;
    let invalid = || CmdError::err(format!("invalid expire time in '{name}' command"));
    let base = if relative { ctx.now } else { 0 };
    let when = int_arg(args[2])?
        .checked_mul(unit_ms)
        .ok_or_else(invalid)?
        .checked_add(base)
        .ok_or_else(invalid)?;
    let key = args[1];
    let now = ctx.now;
    let changed = {
        let mut shard = ctx.db().lock(key);
        let Some(node) = shard.get_mut(key, now) else {
            drop(shard);
            ctx.out.int(0);
            return Ok(());
        };
        let current = node.expire();
        let refused = (nx && current.is_some())
            || (xx && current.is_none())
            // no expiry counts as infinite: never exceeded, always above
            || (gt && current.is_none_or(|c| when <= c))
            || (lt && current.is_some_and(|c| when >= c));
        if refused {
            false
        } else if when <= now {
            // expired rather than deleted, so it shows in the expired_keys statistic
            shard.set_expire(key, Some(when), now);
            let _ = shard.get(key, now);
            true
        } else {
            shard.set_expire(key, Some(when), now)
        }
    };
    if changed {
        ctx.dirty += 1;
        // a time already past expired the key instead: its `expired` event is sent
        // with the other expired keys once the command is done
        if when > now {
            ctx.notify(class::GENERIC, "expire", key);
        }
    }
    ctx.out.int(changed as i64);
    Ok(())
}

fn ttl(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    ttl_generic(ctx, args, false, false)
}

fn pttl(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    ttl_generic(ctx, args, true, false)
}

fn expiretime(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    ttl_generic(ctx, args, false, true)
}

fn pexpiretime(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    ttl_generic(ctx, args, true, true)
}

/// TTL, PTTL, EXPIRETIME, PEXPIRETIME: -2 for a missing key, -1 without expiry.
fn ttl_generic(ctx: &mut Ctx, args: &[&[u8]], ms: bool, absolute: bool) -> CmdResult {
    let now = ctx.now;
    let found = {
        let mut shard = ctx.db().lock(args[1]);
        peek_live(&mut shard, args[1], now).map(|n| n.expire())
    };
    let reply = match found {
        None => -2,
        Some(None) => -1,
        Some(Some(at)) => {
            let t = if absolute { at } else { at.saturating_sub(now) }.max(0);
            if ms {
                t
            } else {
                // rounded to the nearest second, as Valkey
                t.saturating_add(500) / 1000
            }
        }
    };
    ctx.out.int(reply);
    Ok(())
}

fn persist(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let key = args[1];
    let now = ctx.now;
    let changed = {
        let mut shard = ctx.db().lock(key);
        let volatile = shard
            .get_mut(key, now)
            .is_some_and(|n| n.expire().is_some());
        volatile && shard.set_expire(key, None, now)
    };
    if changed {
        ctx.dirty += 1;
        ctx.notify(class::GENERIC, "persist", key);
    }
    ctx.out.int(changed as i64);
    Ok(())
}

// ---------------------------------------------------------------- OBJECT

/// Valkey shares one object for the integers 0..9999 and reports a huge refcount for it.
const SHARED_INTEGERS: i64 = 10_000;
const SHARED_REFCOUNT: i64 = i32::MAX as i64;

fn policy(ctx: &Ctx) -> String {
    ctx.srv.config.get("maxmemory-policy").unwrap_or_default()
}

fn lfu_policy(ctx: &Ctx) -> bool {
    policy(ctx).ends_with("-lfu")
}

/// Runs `f` on a live key without touching its LRU clock; a missing key replies null.
fn with_object<T>(ctx: &mut Ctx, key: &[u8], f: impl FnOnce(&Node) -> T) -> Option<T> {
    let mut shard = ctx.db().lock(key);
    let r = peek_live(&mut shard, key, ctx.now).map(f);
    drop(shard);
    if r.is_none() {
        ctx.out.null();
    }
    r
}

fn object_encoding(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    if let Some(enc) = with_object(ctx, args[2], Node::encoding) {
        ctx.out.bulk_str(enc);
    }
    Ok(())
}

fn object_refcount(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    // with an LRU or LFU eviction policy and a memory limit every value needs its own
    // access data, so Valkey stops sharing integers
    let sharing = ctx.srv.config.get_i64("maxmemory") == 0
        || !(policy(ctx).ends_with("-lru") || lfu_policy(ctx));
    let shared = |n: &Node| match n.value() {
        ValueRef::Str(s) if n.is_inline() && sharing => {
            parse_i64(s).is_some_and(|v| (0..SHARED_INTEGERS).contains(&v))
        }
        _ => false,
    };
    if let Some(s) = with_object(ctx, args[2], shared) {
        ctx.out.int(if s { SHARED_REFCOUNT } else { 1 });
    }
    Ok(())
}

fn object_idletime(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let lfu = lfu_policy(ctx);
    let clock = lru_clock(ctx.now);
    let Some(lru) = with_object(ctx, args[2], |n| n.lru()) else {
        return Ok(());
    };
    if lfu {
        return Err(CmdError::err(
            "An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
        ));
    }
    // the clock wraps every 194 days
    let idle = if clock >= lru {
        clock - lru
    } else {
        clock + (LRU_MAX - lru)
    };
    ctx.out.int(idle as i64);
    Ok(())
}

/// Minutes on Valkey's 16-bit LFU clock.
fn lfu_minutes(now_ms: i64) -> u32 {
    ((now_ms / 1000 / 60) & 0xffff) as u32
}

fn object_freq(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let lfu = lfu_policy(ctx);
    let decay = ctx.srv.config.get_i64("lfu-decay-time");
    let now_min = lfu_minutes(ctx.now);
    let Some(lru) = with_object(ctx, args[2], |n| n.lru()) else {
        return Ok(());
    };
    if !lfu {
        return Err(CmdError::err(
            "An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
        ));
    }
    // under LFU the 24 bits hold the last decrement time (minutes) and an 8-bit counter
    let (last, counter) = (lru >> 8, (lru & 0xff) as i64);
    let elapsed = if now_min >= last {
        now_min - last
    } else {
        0xffff - last + now_min
    };
    let periods = if decay > 0 { elapsed as i64 / decay } else { 0 };
    ctx.out.int((counter - periods).max(0));
    Ok(())
}

fn object_help(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    super::server::help(
        ctx.out,
        "OBJECT",
        &[
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
        ],
    );
    Ok(())
}

// ---------------------------------------------------------------- DUMP, RESTORE

fn dump_cmd(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let compress = ctx.srv.config.get_bool("rdbcompression");
    let payload = {
        let mut shard = ctx.db().lock(args[1]);
        shard
            .get(args[1], ctx.now)
            .map(|n| dump::encode(n.value(), compress))
    };
    match payload {
        Some(Some(p)) => ctx.out.bulk(&p),
        Some(None) => return Err(CmdError::err("DUMP is not supported for this type yet")),
        None => ctx.out.null(),
    }
    Ok(())
}

/// The encoding thresholds a restored value is converted by.
fn restore_limits(ctx: &Ctx) -> dump::Limits {
    let cfg = &ctx.srv.config;
    let get = |name: &str| usize::try_from(cfg.get_i64(name)).unwrap_or(0);
    dump::Limits {
        list_fill: cfg.get_i64("list-max-listpack-size"),
        hash: crate::store::hash::Limits {
            max_entries: get("hash-max-listpack-entries"),
            max_value: get("hash-max-listpack-value"),
        },
        set: crate::store::set::Limits {
            intset_entries: get("set-max-intset-entries"),
            listpack_entries: get("set-max-listpack-entries"),
            listpack_value: get("set-max-listpack-value"),
        },
        zset: crate::store::zset::Limits {
            entries: get("zset-max-listpack-entries"),
            value: get("zset-max-listpack-value"),
        },
    }
}

/// RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]
fn restore(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let (key, now) = (args[1], ctx.now);
    let (mut replace, mut absttl) = (false, false);
    let mut idle: Option<i64> = None;
    let mut freq: Option<i64> = None;
    let mut i = 4;
    while i < args.len() {
        let more = i + 1 < args.len();
        if is(args[i], "replace") {
            replace = true;
        } else if is(args[i], "absttl") {
            absttl = true;
        } else if is(args[i], "idletime") && more && freq.is_none() {
            let n = int_arg(args[i + 1])?;
            if n < 0 {
                return Err(CmdError::err("Invalid IDLETIME value, must be >= 0"));
            }
            idle = Some(n);
            i += 1;
        } else if is(args[i], "freq") && more && idle.is_none() {
            let n = int_arg(args[i + 1])?;
            if !(0..=255).contains(&n) {
                return Err(CmdError::err("Invalid FREQ value, must be >= 0 and <= 255"));
            }
            freq = Some(n);
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    // Parsed before taking the lock so a large payload does not block the shard; the
    // errors are still reported in Valkey's order, after the existence check.
    let ttl = int_arg(args[2]).and_then(|t| {
        if t < 0 {
            Err(CmdError::err("Invalid TTL value, must be >= 0"))
        } else {
            Ok(t)
        }
    });
    let relaxed = ctx
        .srv
        .config
        .get("rdb-version-check")
        .is_some_and(|v| v == "relaxed");
    let value = ttl.as_ref().map_err(Clone::clone).and_then(|_| {
        let payload = args[3];
        dump::verify(payload, relaxed)
            .and_then(|()| dump::decode(payload, &restore_limits(ctx)))
            .map_err(|e: DumpError| CmdError::msg(e.message()))
    });
    let lfu = lfu_policy(ctx);
    let mut shard = ctx.db().lock(key);
    if !replace && shard.get(key, now).is_some() {
        return Err(CmdError::msg("BUSYKEY Target key name already exists."));
    }
    let ttl = ttl?;
    let value = value?;
    let deleted = replace && shard.delete(key, now).is_some();
    // a relative TTL that overflows wraps into the past, as in Valkey
    let expire_at = match ttl {
        0 => None,
        t if absttl => Some(t),
        t => Some(t.wrapping_add(now)),
    };
    if expire_at.is_some_and(|at| at <= now) {
        drop(shard);
        if deleted {
            ctx.dirty += 1;
        }
        ctx.out.ok();
        return Ok(());
    }
    shard.insert_owned(key, value, expire_at, now);
    if let Some(node) = shard.get_mut(key, now) {
        if lfu {
            if let Some(f) = freq {
                node.set_lru((lfu_minutes(now) << 8) | f as u32);
            }
        } else if let Some(idle) = idle {
            // an absolute access time on the wrapping 24-bit clock
            let mut at = (lru_clock(now) as i64).saturating_sub(idle);
            if at < 0 {
                at += LRU_MAX as i64;
            }
            node.set_lru((at as u64 & LRU_MAX as u64) as u32);
        }
    }
    drop(shard);
    ctx.dirty += 1;
    ctx.notify(class::GENERIC, "restore", key);
    ctx.out.ok();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_cursors_parse_like_strtoull() {
        assert_eq!(parse_cursor(b"0"), Some(0));
        assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551616"), None);
        assert_eq!(parse_cursor(b"-1"), None);
        assert_eq!(parse_cursor(b"007"), Some(7));
        assert_eq!(parse_cursor(b" +7"), Some(7));
        assert_eq!(parse_cursor(b"-01"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"7\0junk"), Some(7));
        assert_eq!(parse_cursor(b""), None);
        assert_eq!(parse_cursor(b"abc"), None);
        assert_eq!(parse_cursor(b"1 "), None);
        assert_eq!(parse_cursor(b"-"), None);
    }
}
