//! Sorted set commands.

use super::flags::*;
use super::{acl, glob_match, int_arg, is, CmdError, CmdResult, Command, Ctx};
use crate::protocol::Reply;
use crate::pubsub::class;
use crate::server::blocking;
use crate::store::zset::{entry_cmp, Limits, ZSet};
use crate::store::{NewValue, Node, Object, Shard, ValueRef};
use rand::Rng;
use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;

const Z: u64 = acl::SORTEDSET;
const G: &str = "sorted-set";

const LOG_N: &str = "O(log(N)) where N is the number of elements in the sorted set.";
const COUNT_CX: &str = "O(log(N)) with N being the number of elements in the sorted set.";
const BY_CX: &str = "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).";
const RANGE_CX: &str = "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.";
const REMRANGE_CX: &str = "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.";

pub static COMMANDS: &[Command] = &[
    Command::new("zadd", -4, WRITE | DENYOOM | FAST, zadd)
        .keys(1, 1, 1)
        .acl(Z)
        .doc(
            G,
            "1.2.0",
            "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist.",
            "O(log(N)) for each item added, where N is the number of elements in the sorted set.",
        ),
    Command::new("zincrby", 4, WRITE | DENYOOM | FAST, zincrby)
        .keys(1, 1, 1)
        .acl(Z)
        .doc(G, "1.2.0", "Increments the score of a member in a sorted set.", LOG_N),
    Command::new("zrem", -3, WRITE | FAST, zrem)
        .keys(1, 1, 1)
        .acl(Z)
        .doc(
            G,
            "1.2.0",
            "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed.",
            "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed.",
        ),
    Command::new("zcard", 2, READONLY | FAST, zcard)
        .keys(1, 1, 1)
        .acl(Z)
        .doc(G, "1.2.0", "Returns the number of members in a sorted set.", "O(1)"),
    Command::new("zcount", 4, READONLY | FAST, zcount)
        .keys(1, 1, 1)
        .acl(Z)
        .doc(G, "2.0.0", "Returns the count of members in a sorted set that have scores within a range.", COUNT_CX),
    Command::new("zlexcount", 4, READONLY | FAST, zlexcount)
        .keys(1, 1, 1)
        .acl(Z)
        .doc(G, "2.8.9", "Returns the number of members in a sorted set within a lexicographical range.", COUNT_CX),
    Command::new("zscore", 3, READONLY | FAST, zscore)
        .keys(1, 1, 1)
        .acl(Z)
        .doc(G, "1.2.0", "Returns the score of a member in a sorted set.", "O(1)"),
    Command::new("zmscore", -3, READONLY | FAST, zmscore)
        .keys(1, 1, 1)
        .acl(Z)
        .doc(
            G,
            "6.2.0",
            "Returns the score of one or more members in a sorted set.",
            "O(N) where N is the number of members being requested.",
        ),
    Command::new("zrank", -3, READONLY | FAST, zrank)
        .keys(1, 1, 1)
        .acl(Z)
        .doc(G, "2.0.0", "Returns the index of a member in a sorted set ordered by ascending scores.", "O(log(N))"),
    Command::new("zrevrank", -3, READONLY | FAST, zrevrank)
        .keys(1, 1, 1)
        .acl(Z)
        .doc(G, "2.0.0", "Returns the index of a member in a sorted set ordered by descending scores.", "O(log(N))"),
    Command::new("zrange", -4, READONLY, zrange)
        .keys(1, 1, 1)
        .acl(Z)
        .doc(G, "1.2.0", "Returns members in a sorted set within a range of indexes.", RANGE_CX),
    Command::new("zrangestore", -5, WRITE | DENYOOM, zrangestore)
        .keys(1, 2, 1)
        .acl(Z)
        .doc(
            G,
            "6.2.0",
            "Stores a range of members from sorted set in a key.",
            "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key.",
        ),
    Command::new("zrangebyscore", -4, READONLY, zrangebyscore)
        .keys(1, 1, 1)
        .acl(Z)
        .doc(G, "1.0.5", "Returns members in a sorted set within a range of scores.", BY_CX),
    Command::new("zrevrangebyscore", -4, READONLY, zrevrangebyscore)
        .keys(1, 1, 1)
        .acl(Z)
        .doc(
            G,
            "2.2.0",
            "Returns members in a sorted set within a range of scores in reverse order.",
            BY_CX,
        ),
    Command::new("zrangebylex", -4, READONLY, zrangebylex)
        .keys(1, 1, 1)
        .acl(Z)
        .doc(G, "2.8.9", "Returns members in a sorted set within a lexicographical range.", BY_CX),
    Command::new("zrevrangebylex", -4, READONLY, zrevrangebylex)
        .keys(1, 1, 1)
        .acl(Z)
        .doc(
            G,
            "2.8.9",
            "Returns members in a sorted set within a lexicographical range in reverse order.",
            BY_CX,
        ),
    Command::new("zrevrange", -4, READONLY, zrevrange)
        .keys(1, 1, 1)
        .acl(Z)
        .doc(G, "1.2.0", "Returns members in a sorted set within a range of indexes in reverse order.", RANGE_CX),
    Command::new("zremrangebyrank", 4, WRITE, zremrangebyrank)
        .keys(1, 1, 1)
        .acl(Z)
        .doc(
            G,
            "2.0.0",
            "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.",
            REMRANGE_CX,
        ),
    Command::new("zremrangebyscore", 4, WRITE, zremrangebyscore)
        .keys(1, 1, 1)
        .acl(Z)
        .doc(
            G,
            "1.2.0",
            "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.",
            REMRANGE_CX,
        ),
    Command::new("zremrangebylex", 4, WRITE, zremrangebylex)
        .keys(1, 1, 1)
        .acl(Z)
        .doc(
            G,
            "2.8.9",
            "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed.",
            REMRANGE_CX,
        ),
    Command::new("zpopmin", -2, WRITE | FAST, zpopmin)
        .keys(1, 1, 1)
        .acl(Z)
        .doc(
            G,
            "5.0.0",
            "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.",
            "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.",
        ),
    Command::new("zpopmax", -2, WRITE | FAST, zpopmax)
        .keys(1, 1, 1)
        .acl(Z)
        .doc(
            G,
            "5.0.0",
            "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.",
            "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.",
        ),
    Command::new("zmpop", -4, WRITE | MOVABLEKEYS, zmpop)
        .numkeys(1)
        .acl(Z)
        .doc(
            G,
            "7.0.0",
            "Returns the highest- or lowest-scoring members from one or more sorted sets after removing them. Deletes the sorted set if the last member was popped.",
            "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.",
        ),
    Command::new("bzpopmin", -3, WRITE | FAST | BLOCKING, bzpopmin)
        .keys(1, -2, 1)
        .acl(Z)
        .doc(
            G,
            "5.0.0",
            "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.",
            "O(log(N)) with N being the number of elements in the sorted set.",
        ),
    Command::new("bzpopmax", -3, WRITE | FAST | BLOCKING, bzpopmax)
        .keys(1, -2, 1)
        .acl(Z)
        .doc(
            G,
            "5.0.0",
            "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise.  Deletes the sorted set if the last element was popped.",
            "O(log(N)) with N being the number of elements in the sorted set.",
        ),
    Command::new("bzmpop", -5, WRITE | BLOCKING | MOVABLEKEYS, bzmpop)
        .numkeys(2)
        .acl(Z)
        .doc(
            G,
            "7.0.0",
            "Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.",
            "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.",
        ),
    Command::new("zrandmember", -2, READONLY, zrandmember)
        .keys(1, 1, 1)
        .acl(Z)
        .doc(
            G,
            "6.2.0",
            "Returns one or more random members from a sorted set.",
            "O(N) where N is the number of members returned",
        ),
    Command::new("zunion", -3, READONLY | MOVABLEKEYS, zunion)
        .numkeys(1)
        .acl(Z)
        .doc(
            G,
            "6.2.0",
            "Returns the union of multiple sorted sets.",
            "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.",
        ),
    Command::new("zinter", -3, READONLY | MOVABLEKEYS, zinter)
        .numkeys(1)
        .acl(Z)
        .doc(
            G,
            "6.2.0",
            "Returns the intersect of multiple sorted sets.",
            "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.",
        ),
    Command::new("zdiff", -3, READONLY | MOVABLEKEYS, zdiff)
        .numkeys(1)
        .acl(Z)
        .doc(
            G,
            "6.2.0",
            "Returns the difference between multiple sorted sets.",
            "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.",
        ),
    Command::new("zunionstore", -4, WRITE | DENYOOM | MOVABLEKEYS, zunionstore)
        .numkeys(2)
        .keys(1, 1, 1)
        .acl(Z)
        .doc(
            G,
            "2.0.0",
            "Stores the union of multiple sorted sets in a key.",
            "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.",
        ),
    Command::new("zinterstore", -4, WRITE | DENYOOM | MOVABLEKEYS, zinterstore)
        .numkeys(2)
        .keys(1, 1, 1)
        .acl(Z)
        .doc(
            G,
            "2.0.0",
            "Stores the intersect of multiple sorted sets in a key.",
            "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.",
        ),
    Command::new("zdiffstore", -4, WRITE | DENYOOM | MOVABLEKEYS, zdiffstore)
        .numkeys(2)
        .keys(1, 1, 1)
        .acl(Z)
        .doc(
            G,
            "6.2.0",
            "Stores the difference of multiple sorted sets in a key.",
            "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.",
        ),
    Command::new("zintercard", -3, READONLY | MOVABLEKEYS, zintercard)
        .numkeys(1)
        .acl(Z)
        .doc(
            G,
            "7.0.0",
            "Returns the number of members of the intersect of multiple sorted sets.",
            "O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets.",
        ),
    Command::new("zscan", -3, READONLY, zscan)
        .keys(1, 1, 1)
        .acl(Z)
        .doc(
            G,
            "2.8.0",
            "Iterates over members and scores of a sorted set.",
            "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.",
        ),
];

const NOT_FLOAT_RANGE: &str = "ERR min or max is not a float";
const NOT_LEX_RANGE: &str = "ERR min or max not valid string range item";

fn limits(ctx: &Ctx) -> Limits {
    let k = &ctx.srv.config.hot.enc;
    Limits {
        entries: k.zset_entries.load(Relaxed).max(0) as usize,
        value: k.zset_value.load(Relaxed).max(0) as usize,
    }
}

fn as_zset(n: &Node) -> Result<&ZSet, CmdError> {
    match n.value() {
        ValueRef::Obj(Object::ZSet(z)) => Ok(z),
        _ => Err(CmdError::WrongType),
    }
}

fn read_zset<'s>(shard: &'s mut Shard, key: &[u8], now: i64) -> Result<Option<&'s ZSet>, CmdError> {
    match shard.get(key, now) {
        None => Ok(None),
        Some(n) => as_zset(n).map(Some),
    }
}

fn write_zset<'s>(
    shard: &'s mut Shard,
    key: &[u8],
    now: i64,
) -> Result<Option<&'s mut ZSet>, CmdError> {
    match shard.get_mut(key, now) {
        None => Ok(None),
        Some(n) => {
            // checked before obj_mut, which would turn an inline string into a raw one
            if !matches!(n.value(), ValueRef::Obj(Object::ZSet(_))) {
                return Err(CmdError::WrongType);
            }
            match n.obj_mut() {
                Object::ZSet(z) => Ok(Some(z)),
                _ => Err(CmdError::WrongType),
            }
        }
    }
}

/// Deletes `key` if the zset it holds was emptied; returns whether it did.
fn drop_if_empty(shard: &mut Shard, key: &[u8]) -> bool {
    let empty = shard
        .peek(key)
        .and_then(|n| as_zset(n).ok())
        .is_some_and(ZSet::is_empty);
    if empty {
        shard.remove(key);
    }
    empty
}

/// Keyspace events of a removal from `key`: `event`, then `del` if it emptied.
fn notify_removed(ctx: &Ctx, event: &str, key: &[u8], emptied: bool) {
    ctx.notify(class::ZSET, event, key);
    if emptied {
        ctx.notify(class::GENERIC, "del", key);
    }
}

/// Writes members (and scores) as Valkey does: RESP3 pairs nest as `[member, score]`.
fn emit(out: &mut Reply, items: &[(&[u8], f64)], withscores: bool) {
    if withscores && out.resp3() {
        out.array(items.len());
        for (m, s) in items {
            out.array(2);
            out.bulk(m);
            out.double(*s);
        }
    } else if withscores {
        out.array(items.len() * 2);
        for (m, s) in items {
            out.bulk(m);
            out.double(*s);
        }
    } else {
        out.array(items.len());
        for (m, _) in items {
            out.bulk(m);
        }
    }
}

// ---------------------------------------------------------------------------------
// ranges

/// C's `strtod` over the whole argument: leading whitespace, an optional sign, then a
/// decimal or hexadecimal number or an inf/infinity/nan spelling. Also says whether the
/// value went out of range (ERANGE: overflow to infinity, or underflow to zero).
fn strtod(a: &[u8]) -> Option<(f64, bool)> {
    let s = std::str::from_utf8(a).ok()?;
    let t = s.trim_start_matches([' ', '\t', '\n', '\u{b}', '\u{c}', '\r']);
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let lower = body.to_ascii_lowercase();
    let sign = |v: f64| if neg { -v } else { v };
    if lower == "inf" || lower == "infinity" {
        return Some((sign(f64::INFINITY), false));
    }
    if lower == "nan" {
        return Some((f64::NAN, false));
    }
    let (v, nonzero) = if let Some(hex) = lower.strip_prefix("0x") {
        parse_hex(hex)?
    } else {
        let ok = !lower.is_empty()
            && lower
                .bytes()
                .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'+' | b'-'))
            && lower
                .bytes()
                .next()
                .is_some_and(|c| c.is_ascii_digit() || c == b'.');
        if !ok {
            return None;
        }
        let v: f64 = lower.parse().ok()?;
        let mantissa = lower.split('e').next().unwrap_or("");
        (v, mantissa.bytes().any(|c| matches!(c, b'1'..=b'9')))
    };
    let erange = v.is_infinite() || (v == 0.0 && nonzero);
    Some((sign(v), erange))
}

/// A hexadecimal float body after "0x": digits, an optional fraction and an optional
/// binary exponent ("p" followed by a signed decimal).
pub(crate) fn parse_hex(h: &str) -> Option<(f64, bool)> {
    let (mant, exp) = match h.split_once('p') {
        Some((m, e)) => (m, Some(e)),
        None => (h, None),
    };
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut v = 0.0f64;
    let mut nonzero = false;
    for c in int.chars() {
        let d = c.to_digit(16)?;
        nonzero |= d != 0;
        v = v * 16.0 + d as f64;
    }
    let mut scale = 1.0 / 16.0;
    for c in frac.chars() {
        let d = c.to_digit(16)?;
        nonzero |= d != 0;
        v += d as f64 * scale;
        scale /= 16.0;
    }
    if let Some(e) = exp {
        let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
        if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let e: i32 = e.parse().unwrap_or(if e.starts_with('-') {
            i32::MIN
        } else {
            i32::MAX
        });
        v *= 2f64.powi(e.clamp(-2000, 2000));
    }
    Some((v, nonzero))
}

/// A double argument as Valkey's `getDoubleFromObject` reads it: no leading space, not
/// NaN, and not out of range.
pub(crate) fn double_arg(a: &[u8]) -> Option<f64> {
    if a.first().is_some_and(u8::is_ascii_whitespace) {
        return None;
    }
    match strtod(a)? {
        (v, false) if !v.is_nan() => Some(v),
        _ => None,
    }
}

fn score_arg(a: &[u8]) -> Result<f64, CmdError> {
    double_arg(a).ok_or(CmdError::NotFloat)
}

#[derive(Clone, Copy, Debug)]
struct ScoreRange {
    min: f64,
    max: f64,
    minex: bool,
    maxex: bool,
}

/// One bound as Valkey's `zslParseRange` reads it: `(` makes it exclusive; the rest
/// goes through `strtod`, for which an empty string is 0.
fn score_bound(a: &[u8]) -> Option<(f64, bool)> {
    let (ex, rest) = match a.first() {
        Some(b'(') => (true, &a[1..]),
        _ => (false, a),
    };
    if rest.is_empty() {
        return Some((0.0, ex));
    }
    match strtod(rest) {
        Some((v, _)) if !v.is_nan() => Some((v, ex)),
        _ => None,
    }
}

impl ScoreRange {
    fn parse(min: &[u8], max: &[u8]) -> Result<ScoreRange, CmdError> {
        let bad = || CmdError::msg(NOT_FLOAT_RANGE);
        let (min, minex) = score_bound(min).ok_or_else(bad)?;
        let (max, maxex) = score_bound(max).ok_or_else(bad)?;
        Ok(ScoreRange {
            min,
            max,
            minex,
            maxex,
        })
    }
    fn gte_min(&self, s: f64) -> bool {
        if self.minex {
            s > self.min
        } else {
            s >= self.min
        }
    }
    fn lte_max(&self, s: f64) -> bool {
        if self.maxex {
            s < self.max
        } else {
            s <= self.max
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum LexBound<'a> {
    Min,
    Max,
    Incl(&'a [u8]),
    Excl(&'a [u8]),
}

fn lex_bound(a: &[u8]) -> Result<LexBound<'_>, CmdError> {
    match a {
        b"+" => Ok(LexBound::Max),
        b"-" => Ok(LexBound::Min),
        [b'(', rest @ ..] => Ok(LexBound::Excl(rest)),
        [b'[', rest @ ..] => Ok(LexBound::Incl(rest)),
        _ => Err(CmdError::msg(NOT_LEX_RANGE)),
    }
}

#[derive(Clone, Copy, Debug)]
struct LexRange<'a> {
    min: LexBound<'a>,
    max: LexBound<'a>,
}

impl<'a> LexRange<'a> {
    fn parse(min: &'a [u8], max: &'a [u8]) -> Result<LexRange<'a>, CmdError> {
        Ok(LexRange {
            min: lex_bound(min)?,
            max: lex_bound(max)?,
        })
    }
    fn gte_min(&self, m: &[u8]) -> bool {
        match self.min {
            LexBound::Min => true,
            LexBound::Max => false,
            LexBound::Incl(b) => m >= b,
            LexBound::Excl(b) => m > b,
        }
    }
    fn lte_max(&self, m: &[u8]) -> bool {
        match self.max {
            LexBound::Max => true,
            LexBound::Min => false,
            LexBound::Incl(b) => m <= b,
            LexBound::Excl(b) => m < b,
        }
    }
}

enum Range<'a> {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange<'a>),
}

/// Ascending `start..=end` positions for Valkey's rank arguments, or None if empty.
fn rank_span(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = if start < 0 {
        start.saturating_add(len)
    } else {
        start
    };
    let mut end = if end < 0 {
        end.saturating_add(len)
    } else {
        end
    };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= len {
        return None;
    }
    if end >= len {
        end = len - 1;
    }
    Some((start as usize, end as usize))
}

/// The members a range selects, in reply order. Score and lex walks start at the first
/// member past the near bound and stop at the first one past the far bound, which is
/// what Valkey does (and what decides lex results when scores differ).
fn select<'z>(z: &'z ZSet, r: &Range, rev: bool, offset: i64, limit: i64) -> Vec<(&'z [u8], f64)> {
    let it: Box<dyn Iterator<Item = (&'z [u8], f64)> + 'z> = if rev {
        Box::new(z.iter().rev())
    } else {
        Box::new(z.iter())
    };
    // a negative offset skips everything and a negative limit means no limit, as the
    // post-decrement loops in Valkey behave
    if offset < 0 {
        return Vec::new();
    }
    let offset = offset as usize;
    let limit = if limit < 0 {
        usize::MAX
    } else {
        limit as usize
    };
    match r {
        Range::Rank(s, e) => match rank_span(*s, *e, z.len()) {
            Some((s, e)) => it.skip(s).take(e - s + 1).collect(),
            None => Vec::new(),
        },
        Range::Score(sr) => {
            let sr = *sr;
            if sr.min > sr.max {
                return Vec::new();
            }
            let window = z.score_window(sr.min, sr.max);
            let it: Box<dyn Iterator<Item = (&'z [u8], f64)> + 'z> = if rev {
                Box::new(window.rev())
            } else {
                Box::new(window)
            };
            let near = move |s: f64| if rev { sr.lte_max(s) } else { sr.gte_min(s) };
            let far = move |s: f64| if rev { sr.gte_min(s) } else { sr.lte_max(s) };
            it.skip_while(|(_, s)| !near(*s))
                .take_while(|(_, s)| far(*s))
                .skip(offset)
                .take(limit)
                .collect()
        }
        Range::Lex(lr) => {
            let lr = *lr;
            // Valkey first checks the range against both ends of the set, which decides
            // the answer when members with different scores are not in lex order
            let (Some((first, _)), Some((last, _))) = (z.iter().next(), z.iter().next_back())
            else {
                return Vec::new();
            };
            if !lr.gte_min(last) || !lr.lte_max(first) {
                return Vec::new();
            }
            it.skip_while(|(m, _)| if rev { !lr.lte_max(m) } else { !lr.gte_min(m) })
                .take_while(|(m, _)| if rev { lr.gte_min(m) } else { lr.lte_max(m) })
                .skip(offset)
                .take(limit)
                .collect()
        }
    }
}

// ---------------------------------------------------------------------------------
// ZADD / ZINCRBY

#[derive(Default, Clone, Copy)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

const NAN_ERR: &str = "ERR resulting score is not a number (NaN)";

pub(super) fn zadd(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let mut f = AddFlags::default();
    let mut i = 2;
    while i < args.len() {
        let a = args[i];
        if is(a, "nx") {
            f.nx = true;
        } else if is(a, "xx") {
            f.xx = true;
        } else if is(a, "ch") {
            f.ch = true;
        } else if is(a, "incr") {
            f.incr = true;
        } else if is(a, "gt") {
            f.gt = true;
        } else if is(a, "lt") {
            f.lt = true;
        } else {
            break;
        }
        i += 1;
    }
    let elements = args.len() - i;
    if elements == 0 || !elements.is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    if f.xx && f.nx {
        return Err(CmdError::msg(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if (f.nx && (f.gt || f.lt)) || (f.gt && f.lt) {
        return Err(CmdError::msg(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if f.incr && elements > 2 {
        return Err(CmdError::msg(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    let pairs = args[i..]
        .chunks_exact(2)
        .map(|p| Ok((score_arg(p[0])?, p[1])))
        .collect::<Result<Vec<(f64, &[u8])>, CmdError>>()?;
    zadd_generic(ctx, args[1], f, &pairs)
}

fn zincrby(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let by = score_arg(args[2])?;
    let f = AddFlags {
        incr: true,
        ..AddFlags::default()
    };
    zadd_generic(ctx, args[1], f, &[(by, args[3])])
}

fn zadd_generic(ctx: &mut Ctx, key: &[u8], f: AddFlags, pairs: &[(f64, &[u8])]) -> CmdResult {
    let now = ctx.now;
    let lim = limits(ctx);
    let mut shard = ctx.db().lock(key);
    let exists = write_zset(&mut shard, key, now)?.is_some();
    if !exists {
        if f.xx {
            drop(shard);
            if f.incr {
                ctx.out.null();
            } else {
                ctx.out.int(0);
            }
            return Ok(());
        }
        let max_len = pairs.iter().map(|(_, m)| m.len()).max().unwrap_or(0);
        let z = ZSet::with_hint(pairs.len(), max_len, lim);
        shard.set(key, NewValue::Obj(Object::ZSet(z)), None, now);
    }
    let Some(z) = write_zset(&mut shard, key, now)? else {
        return Err(CmdError::WrongType);
    };
    let (mut added, mut updated, mut processed) = (0i64, 0i64, 0i64);
    let mut last = 0.0;
    let mut failed = false;
    for &(score, member) in pairs {
        match z.score(member) {
            Some(cur) => {
                if f.nx {
                    continue;
                }
                let new = if f.incr { cur + score } else { score };
                if new.is_nan() {
                    failed = true;
                    break;
                }
                if (f.lt && new >= cur) || (f.gt && new <= cur) {
                    continue;
                }
                last = new;
                processed += 1;
                if new != cur {
                    z.insert(member, new, lim);
                    updated += 1;
                }
            }
            None => {
                if f.xx {
                    continue;
                }
                z.insert(member, score, lim);
                added += 1;
                processed += 1;
                last = score;
            }
        }
    }
    // a zset created for nothing (every pair skipped) must not stay behind
    drop_if_empty(&mut shard, key);
    drop(shard);
    ctx.dirty += (added + updated) as u64;
    if added + updated > 0 {
        ctx.notify(class::ZSET, if f.incr { "zincr" } else { "zadd" }, key);
    }
    if failed {
        return Err(CmdError::msg(NAN_ERR));
    }
    if f.incr {
        if processed > 0 {
            ctx.out.double(last);
        } else {
            ctx.out.null();
        }
    } else {
        ctx.out.int(if f.ch { added + updated } else { added });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// simple reads and removals

fn zrem(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let key = args[1];
    let now = ctx.now;
    let mut shard = ctx.db().lock(key);
    let removed = match write_zset(&mut shard, key, now)? {
        Some(z) => args[2..].iter().filter(|m| z.remove(m)).count(),
        None => 0,
    };
    let emptied = drop_if_empty(&mut shard, key);
    drop(shard);
    ctx.dirty += removed as u64;
    if removed > 0 {
        notify_removed(ctx, "zrem", key, emptied);
    }
    ctx.out.int(removed as i64);
    Ok(())
}

fn zcard(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let mut shard = ctx.db().lock(args[1]);
    let n = read_zset(&mut shard, args[1], ctx.now)?.map_or(0, ZSet::len);
    ctx.out.int(n as i64);
    Ok(())
}

fn zscore(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let mut shard = ctx.db().lock(args[1]);
    match read_zset(&mut shard, args[1], ctx.now)?.and_then(|z| z.score(args[2])) {
        Some(s) => ctx.out.double(s),
        None => ctx.out.null(),
    }
    Ok(())
}

fn zmscore(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let mut shard = ctx.db().lock(args[1]);
    let z = read_zset(&mut shard, args[1], ctx.now)?;
    ctx.out.array(args.len() - 2);
    for m in &args[2..] {
        match z.and_then(|z| z.score(m)) {
            Some(s) => ctx.out.double(s),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

fn zrank(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    rank_generic(ctx, args, false)
}

fn zrevrank(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    rank_generic(ctx, args, true)
}

fn rank_generic(ctx: &mut Ctx, args: &[&[u8]], rev: bool) -> CmdResult {
    if args.len() > 4 {
        return Err(CmdError::msg(format!(
            "ERR wrong number of arguments for '{}' command",
            ctx.cmd.name
        )));
    }
    let withscore = match args.get(3) {
        Some(a) if is(a, "withscore") => true,
        Some(_) => return Err(CmdError::Syntax),
        None => false,
    };
    let mut shard = ctx.db().lock(args[1]);
    let z = read_zset(&mut shard, args[1], ctx.now)?;
    let found = z.and_then(|z| {
        let r = z.rank(args[2])?;
        let s = z.score(args[2])?;
        Some((if rev { z.len() - 1 - r } else { r }, s))
    });
    match found {
        Some((r, s)) if withscore => {
            ctx.out.array(2);
            ctx.out.int(r as i64);
            ctx.out.double(s);
        }
        Some((r, _)) => ctx.out.int(r as i64),
        None if withscore => ctx.out.null_array(),
        None => ctx.out.null(),
    }
    Ok(())
}

fn zcount(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let r = ScoreRange::parse(args[2], args[3])?;
    count_generic(ctx, args[1], Range::Score(r))
}

fn zlexcount(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let r = LexRange::parse(args[2], args[3])?;
    count_generic(ctx, args[1], Range::Lex(r))
}

fn count_generic(ctx: &mut Ctx, key: &[u8], r: Range) -> CmdResult {
    let mut shard = ctx.db().lock(key);
    let n = read_zset(&mut shard, key, ctx.now)?.map_or(0, |z| match &r {
        // two rank lookups rather than a walk, as Valkey's ZCOUNT
        Range::Score(sr) => z.count_scores(|s| !sr.gte_min(s), |s| sr.lte_max(s)),
        _ => select(z, &r, false, 0, -1).len(),
    });
    ctx.out.int(n as i64);
    Ok(())
}

fn zremrangebyrank(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let (s, e) = (int_arg(args[2])?, int_arg(args[3])?);
    remrange_generic(ctx, args[1], Range::Rank(s, e))
}

fn zremrangebyscore(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let r = ScoreRange::parse(args[2], args[3])?;
    remrange_generic(ctx, args[1], Range::Score(r))
}

fn zremrangebylex(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let r = LexRange::parse(args[2], args[3])?;
    remrange_generic(ctx, args[1], Range::Lex(r))
}

fn remrange_generic(ctx: &mut Ctx, key: &[u8], r: Range) -> CmdResult {
    let now = ctx.now;
    let mut shard = ctx.db().lock(key);
    let removed = match write_zset(&mut shard, key, now)? {
        None => 0,
        Some(z) => match r {
            Range::Rank(s, e) => match rank_span(s, e, z.len()) {
                Some((s, e)) => z.remove_rank_range(s, e),
                None => 0,
            },
            _ => {
                let picked = match &r {
                    // Valkey's skiplist deletion walks without first checking the range
                    // against both ends, unlike every other lex lookup
                    Range::Lex(lr) if z.encoding() == "skiplist" => z
                        .iter()
                        .skip_while(|(m, _)| !lr.gte_min(m))
                        .take_while(|(m, _)| lr.lte_max(m))
                        .collect(),
                    _ => select(z, &r, false, 0, -1),
                };
                let victims: Vec<Vec<u8>> = picked.into_iter().map(|(m, _)| m.to_vec()).collect();
                z.remove_members(victims.iter().map(Vec::as_slice))
            }
        },
    };
    let emptied = drop_if_empty(&mut shard, key);
    drop(shard);
    ctx.dirty += removed as u64;
    if removed > 0 {
        // zremrangebyrank, zremrangebyscore or zremrangebylex
        notify_removed(ctx, ctx.cmd.name, key, emptied);
    }
    ctx.out.int(removed as i64);
    Ok(())
}

// ---------------------------------------------------------------------------------
// the ZRANGE family

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Auto,
    Rank,
    Score,
    Lex,
}

fn zrange(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    range_generic(ctx, args, 1, None, Kind::Auto, None)
}

fn zrangestore(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    range_generic(ctx, args, 2, Some(args[1]), Kind::Auto, None)
}

fn zrangebyscore(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    range_generic(ctx, args, 1, None, Kind::Score, Some(false))
}

fn zrevrangebyscore(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    range_generic(ctx, args, 1, None, Kind::Score, Some(true))
}

fn zrangebylex(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    range_generic(ctx, args, 1, None, Kind::Lex, Some(false))
}

fn zrevrangebylex(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    range_generic(ctx, args, 1, None, Kind::Lex, Some(true))
}

fn zrevrange(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    range_generic(ctx, args, 1, None, Kind::Rank, Some(true))
}

/// `first` is the position of the source key; bounds follow it and options follow them.
fn range_generic(
    ctx: &mut Ctx,
    args: &[&[u8]],
    first: usize,
    dst: Option<&[u8]>,
    mut kind: Kind,
    mut rev: Option<bool>,
) -> CmdResult {
    let key = args[first];
    let (mut min_i, mut max_i) = (first + 1, first + 2);
    let (mut withscores, mut offset, mut limit) = (false, 0i64, -1i64);
    let mut j = first + 3;
    while j < args.len() {
        let a = args[j];
        let left = args.len() - j - 1;
        if dst.is_none() && is(a, "withscores") {
            withscores = true;
        } else if is(a, "limit") && left >= 2 {
            offset = int_arg(args[j + 1])?;
            limit = int_arg(args[j + 2])?;
            j += 2;
        } else if rev.is_none() && is(a, "rev") {
            rev = Some(true);
        } else if kind == Kind::Auto && is(a, "bylex") {
            kind = Kind::Lex;
        } else if kind == Kind::Auto && is(a, "byscore") {
            kind = Kind::Score;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let rev = rev.unwrap_or(false);
    if kind == Kind::Auto {
        kind = Kind::Rank;
    }
    if limit != -1 && kind == Kind::Rank {
        return Err(CmdError::msg(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && kind == Kind::Lex {
        return Err(CmdError::msg(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    if rev && kind != Kind::Rank {
        std::mem::swap(&mut min_i, &mut max_i);
    }
    let range = match kind {
        Kind::Score => Range::Score(ScoreRange::parse(args[min_i], args[max_i])?),
        Kind::Lex => Range::Lex(LexRange::parse(args[min_i], args[max_i])?),
        _ => Range::Rank(int_arg(args[min_i])?, int_arg(args[max_i])?),
    };
    let now = ctx.now;
    let db = ctx.db();
    match dst {
        None => {
            let mut shard = db.lock(key);
            match read_zset(&mut shard, key, now)? {
                Some(z) => emit(ctx.out, &select(z, &range, rev, offset, limit), withscores),
                None => ctx.out.array(0),
            }
            Ok(())
        }
        Some(dst) => {
            let lim = limits(ctx);
            let mut locks = db.lock_keys([dst, key]);
            let picked: Vec<(Vec<u8>, f64)> = match read_zset(locks.shard(key), key, now)? {
                Some(z) => select(z, &range, rev, offset, limit)
                    .into_iter()
                    .map(|(m, s)| (m.to_vec(), s))
                    .collect(),
                None => Vec::new(),
            };
            store_result(ctx, locks.shard(dst), dst, picked, lim);
            Ok(())
        }
    }
}

/// Stores a computed zset under `dst` (deleting `dst` when empty) and replies its size.
fn store_result(
    ctx: &mut Ctx,
    shard: &mut Shard,
    dst: &[u8],
    entries: Vec<(Vec<u8>, f64)>,
    lim: Limits,
) {
    let now = ctx.now;
    if entries.is_empty() {
        if shard.delete(dst, now).is_some() {
            ctx.dirty += 1;
            ctx.notify(class::GENERIC, "del", dst);
        }
        ctx.out.int(0);
        return;
    }
    let z = ZSet::from_entries(entries, lim);
    let n = z.len();
    shard.set(dst, NewValue::Obj(Object::ZSet(z)), None, now);
    ctx.dirty += 1;
    // zunionstore, zinterstore, zdiffstore or zrangestore
    ctx.notify(class::ZSET, ctx.cmd.name, dst);
    ctx.out.int(n as i64);
}

// ---------------------------------------------------------------------------------
// pops and random members

fn zpopmin(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    pop_generic(ctx, args, false)
}

fn zpopmax(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    pop_generic(ctx, args, true)
}

const POSITIVE: &str = "ERR value is out of range, must be positive";

fn pop_event(max: bool) -> &'static str {
    if max {
        "zpopmax"
    } else {
        "zpopmin"
    }
}

fn pop_generic(ctx: &mut Ctx, args: &[&[u8]], max: bool) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = match args.get(2) {
        Some(a) => match parse_int(a) {
            Some(n) if n >= 0 => Some(n as usize),
            _ => return Err(CmdError::msg(POSITIVE)),
        },
        None => None,
    };
    let key = args[1];
    let now = ctx.now;
    let mut shard = ctx.db().lock(key);
    let popped = match write_zset(&mut shard, key, now)? {
        Some(z) => z.pop(count.unwrap_or(1), max),
        None => Vec::new(),
    };
    let emptied = drop_if_empty(&mut shard, key);
    drop(shard);
    ctx.dirty += popped.len() as u64;
    if !popped.is_empty() {
        notify_removed(ctx, pop_event(max), key, emptied);
    }
    let items: Vec<(&[u8], f64)> = popped.iter().map(|(m, s)| (m.as_slice(), *s)).collect();
    if count.is_some() {
        emit(ctx.out, &items, true);
    } else {
        // a single pop is a flat [member, score] even in RESP3
        ctx.out.array(items.len() * 2);
        for (m, s) in items {
            ctx.out.bulk(m);
            ctx.out.double(s);
        }
    }
    Ok(())
}

fn zmpop(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let numkeys = match parse_int(args[1]) {
        Some(n) if n > 0 => n as usize,
        _ => return Err(CmdError::msg("ERR numkeys should be greater than 0")),
    };
    if numkeys > args.len() - 2 {
        return Err(CmdError::Syntax);
    }
    let keys = &args[2..2 + numkeys];
    let Some(&where_) = args.get(2 + numkeys) else {
        return Err(CmdError::Syntax);
    };
    let max = if is(where_, "min") {
        false
    } else if is(where_, "max") {
        true
    } else {
        return Err(CmdError::Syntax);
    };
    let mut count: Option<usize> = None;
    let mut j = 3 + numkeys;
    while j < args.len() {
        if is(args[j], "count") && j + 1 < args.len() && count.is_none() {
            match parse_int(args[j + 1]) {
                Some(n) if n > 0 => count = Some(n as usize),
                _ => return Err(CmdError::msg("ERR count should be greater than 0")),
            }
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let now = ctx.now;
    let db = ctx.db();
    let mut locks = db.lock_keys(keys.iter().copied());
    for &key in keys {
        let shard = locks.shard(key);
        let Some(z) = write_zset(shard, key, now)? else {
            continue;
        };
        let popped = z.pop(count.unwrap_or(1), max);
        let emptied = drop_if_empty(shard, key);
        drop(locks);
        ctx.dirty += popped.len() as u64;
        if !popped.is_empty() {
            notify_removed(ctx, pop_event(max), key, emptied);
        }
        ctx.out.array(2);
        ctx.out.bulk(key);
        ctx.out.array(popped.len());
        for (m, s) in &popped {
            ctx.out.array(2);
            ctx.out.bulk(m);
            ctx.out.double(*s);
        }
        return Ok(());
    }
    ctx.out.null_array();
    Ok(())
}

fn zrandmember(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    if args.len() > 4 {
        return Err(CmdError::Syntax);
    }
    let withscores = match args.get(3) {
        Some(a) if is(a, "withscores") => true,
        Some(_) => return Err(CmdError::Syntax),
        None => false,
    };
    let count = match args.get(2) {
        None => None,
        Some(a) => {
            let n = int_arg(a)?;
            if n == i64::MIN {
                return Err(CmdError::msg(
                    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
                ));
            }
            if withscores && n < -(i64::MAX / 2) {
                return Err(CmdError::msg("ERR value is out of range"));
            }
            Some(n)
        }
    };
    let mut shard = ctx.db().lock(args[1]);
    let z = read_zset(&mut shard, args[1], ctx.now)?;
    let mut rng = rand::thread_rng();
    let Some(count) = count else {
        match z {
            Some(z) => {
                let i = rng.gen_range(0..z.len());
                match z.iter().nth(i) {
                    Some((m, _)) => ctx.out.bulk(m),
                    None => ctx.out.null(),
                }
            }
            None => ctx.out.null(),
        }
        return Ok(());
    };
    let Some(z) = z.filter(|_| count != 0) else {
        ctx.out.array(0);
        return Ok(());
    };
    let all: Vec<(&[u8], f64)> = z.iter().collect();
    if count < 0 {
        // repeats allowed: the reply is exactly |count| long, picked one at a time
        let n = count.unsigned_abs() as usize;
        let one = |out: &mut Reply, (m, s): (&[u8], f64)| {
            if withscores && out.resp3() {
                out.array(2);
            }
            out.bulk(m);
            if withscores {
                out.double(s);
            }
        };
        ctx.out.array(if withscores && !ctx.out.resp3() {
            n * 2
        } else {
            n
        });
        for _ in 0..n {
            one(ctx.out, all[rng.gen_range(0..all.len())]);
        }
        return Ok(());
    }
    let n = count as usize;
    if n >= all.len() {
        emit(ctx.out, &all, withscores);
        return Ok(());
    }
    let picked: Vec<(&[u8], f64)> = rand::seq::index::sample(&mut rng, all.len(), n)
        .into_iter()
        .map(|i| all[i])
        .collect();
    emit(ctx.out, &picked, withscores);
    Ok(())
}

// ---------------------------------------------------------------------------------
// union, intersection, difference

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Agg {
    Sum,
    Min,
    Max,
}

fn zunion(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    setop_generic(ctx, args, SetOp::Union, None)
}

fn zinter(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    setop_generic(ctx, args, SetOp::Inter, None)
}

fn zdiff(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    setop_generic(ctx, args, SetOp::Diff, None)
}

fn zunionstore(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    setop_generic(ctx, args, SetOp::Union, Some(args[1]))
}

fn zinterstore(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    setop_generic(ctx, args, SetOp::Inter, Some(args[1]))
}

fn zdiffstore(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    setop_generic(ctx, args, SetOp::Diff, Some(args[1]))
}

/// Reads `numkeys` and the keys after it at `idx`.
fn numkeys_and_keys<'a>(
    ctx: &Ctx,
    args: &'a [&'a [u8]],
    idx: usize,
) -> Result<&'a [&'a [u8]], CmdError> {
    let n = int_arg(args[idx])?;
    if n < 1 {
        return Err(CmdError::msg(format!(
            "ERR at least 1 input key is needed for '{}' command",
            ctx.cmd.name
        )));
    }
    let n = n as usize;
    if n > args.len() - idx - 1 {
        return Err(CmdError::Syntax);
    }
    Ok(&args[idx + 1..idx + 1 + n])
}

type Entries = Vec<(Vec<u8>, f64)>;

/// The members of every input key (sets count with score 1), or WRONGTYPE.
fn load_inputs(
    ctx: &Ctx,
    shard_of: &mut crate::store::MultiLock,
    keys: &[&[u8]],
) -> Result<Vec<Entries>, CmdError> {
    let now = ctx.now;
    let mut v = Vec::with_capacity(keys.len());
    for &k in keys {
        let entries = match shard_of.shard(k).get(k, now) {
            None => Vec::new(),
            Some(n) => match n.value() {
                ValueRef::Obj(Object::ZSet(z)) => z.iter().map(|(m, s)| (m.to_vec(), s)).collect(),
                ValueRef::Obj(Object::Set(s)) => {
                    set_members(s).into_iter().map(|m| (m, 1.0)).collect()
                }
                _ => return Err(CmdError::WrongType),
            },
        };
        v.push(entries);
    }
    Ok(v)
}

/// The members of a plain set input.
fn set_members(s: &crate::store::set::Set) -> Vec<Vec<u8>> {
    s.iter().map(|e| e.to_vec()).collect()
}

fn aggregate(agg: Agg, acc: &mut f64, v: f64) {
    match agg {
        Agg::Sum => {
            *acc += v;
            // inf + -inf: Valkey settles on 0 rather than storing NaN
            if acc.is_nan() {
                *acc = 0.0;
            }
        }
        Agg::Min => {
            if v < *acc {
                *acc = v;
            }
        }
        Agg::Max => {
            if v > *acc {
                *acc = v;
            }
        }
    }
}

fn weighted(w: f64, s: f64) -> f64 {
    let v = w * s;
    if v.is_nan() {
        0.0
    } else {
        v
    }
}

fn setop_generic(ctx: &mut Ctx, args: &[&[u8]], op: SetOp, dst: Option<&[u8]>) -> CmdResult {
    let idx = if dst.is_some() { 2 } else { 1 };
    let keys = numkeys_and_keys(ctx, args, idx)?;
    let db = ctx.db();
    let mut locks = db.lock_keys(dst.into_iter().chain(keys.iter().copied()));
    let inputs = load_inputs(ctx, &mut locks, keys)?;
    let mut weights = vec![1.0f64; keys.len()];
    let mut agg = Agg::Sum;
    let mut withscores = false;
    let mut j = idx + 1 + keys.len();
    while j < args.len() {
        let left = args.len() - j - 1;
        let a = args[j];
        if op != SetOp::Diff && is(a, "weights") && left >= keys.len() {
            for (i, w) in weights.iter_mut().enumerate() {
                *w = double_arg(args[j + 1 + i])
                    .ok_or_else(|| CmdError::msg("ERR weight value is not a float"))?;
            }
            j += keys.len();
        } else if op != SetOp::Diff && is(a, "aggregate") && left >= 1 {
            let v = args[j + 1];
            agg = if is(v, "sum") {
                Agg::Sum
            } else if is(v, "min") {
                Agg::Min
            } else if is(v, "max") {
                Agg::Max
            } else {
                return Err(CmdError::Syntax);
            };
            j += 1;
        } else if dst.is_none() && is(a, "withscores") {
            withscores = true;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let result = compute(op, inputs, &weights, agg);
    match dst {
        Some(d) => {
            let lim = limits(ctx);
            store_result(ctx, locks.shard(d), d, result, lim);
        }
        None => {
            drop(locks);
            // a reply comes straight from the full encoding in Valkey, so -0 keeps its sign
            let mut result = result;
            result.sort_by(|a, b| entry_cmp((a.1, &a.0), (b.1, &b.0)));
            let items: Vec<(&[u8], f64)> = result.iter().map(|(m, s)| (m.as_slice(), *s)).collect();
            emit(ctx.out, &items, withscores);
        }
    }
    Ok(())
}

fn compute(op: SetOp, inputs: Vec<Entries>, weights: &[f64], agg: Agg) -> Entries {
    let mut srcs: Vec<(Entries, f64)> = inputs.into_iter().zip(weights.iter().copied()).collect();
    match op {
        SetOp::Union => {
            // biggest first, as Valkey, so sums accumulate in the same order
            srcs.sort_by_key(|a| std::cmp::Reverse(a.0.len()));
            let mut acc: HashMap<Vec<u8>, f64> = HashMap::new();
            let mut order: Vec<Vec<u8>> = Vec::new();
            for (entries, w) in srcs {
                for (m, s) in entries {
                    let v = weighted(w, s);
                    match acc.get_mut(&m) {
                        Some(a) => aggregate(agg, a, v),
                        None => {
                            order.push(m.clone());
                            acc.insert(m, v);
                        }
                    }
                }
            }
            order
                .into_iter()
                .filter_map(|m| acc.get(&m).copied().map(|s| (m, s)))
                .collect()
        }
        SetOp::Inter => {
            srcs.sort_by_key(|a| a.0.len());
            if srcs.iter().any(|s| s.0.is_empty()) {
                return Vec::new();
            }
            let maps: Vec<(HashMap<&[u8], f64>, f64)> = srcs[1..]
                .iter()
                .map(|(e, w)| (e.iter().map(|(m, s)| (m.as_slice(), *s)).collect(), *w))
                .collect();
            let mut out = Vec::new();
            'next: for (m, s) in &srcs[0].0 {
                let mut acc = weighted(srcs[0].1, *s);
                for (map, w) in &maps {
                    match map.get(m.as_slice()) {
                        Some(v) => aggregate(agg, &mut acc, weighted(*w, *v)),
                        None => continue 'next,
                    }
                }
                out.push((m.clone(), acc));
            }
            out
        }
        SetOp::Diff => {
            let mut it = srcs.into_iter();
            let Some((first, _)) = it.next() else {
                return Vec::new();
            };
            let others: Vec<std::collections::HashSet<Vec<u8>>> = it
                .map(|(e, _)| e.into_iter().map(|(m, _)| m).collect())
                .collect();
            first
                .into_iter()
                .filter(|(m, _)| !others.iter().any(|o| o.contains(m)))
                .collect()
        }
    }
}

fn zintercard(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let keys = numkeys_and_keys(ctx, args, 1)?;
    let mut limit = 0usize;
    let mut j = 2 + keys.len();
    while j < args.len() {
        if is(args[j], "limit") && j + 1 < args.len() {
            match parse_int(args[j + 1]) {
                Some(n) if n >= 0 => limit = n as usize,
                _ => return Err(CmdError::msg("ERR LIMIT can't be negative")),
            }
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let db = ctx.db();
    let mut locks = db.lock_keys(keys.iter().copied());
    let inputs = load_inputs(ctx, &mut locks, keys)?;
    drop(locks);
    let weights = vec![1.0; keys.len()];
    let mut n = compute(SetOp::Inter, inputs, &weights, Agg::Sum).len();
    if limit > 0 {
        n = n.min(limit);
    }
    ctx.out.int(n as i64);
    Ok(())
}

fn parse_int(a: &[u8]) -> Option<i64> {
    super::parse_i64(a)
}

// ---------------------------------------------------------------------------------
// ZSCAN

fn zscan(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let cursor =
        super::keys::parse_cursor(args[2]).ok_or_else(|| CmdError::msg("ERR invalid cursor"))?;
    let mut shard = ctx.db().lock(args[1]);
    let Some(z) = read_zset(&mut shard, args[1], ctx.now)? else {
        ctx.out.array(2);
        ctx.out.bulk(b"0");
        ctx.out.array(0);
        return Ok(());
    };
    let super::keys::ScanOpts {
        pattern, noscores, ..
    } = super::keys::scan_opts(&args[3..], super::keys::ScanOf::ZSet)?;
    // Everything comes back in one call with cursor 0: no member present for the whole
    // scan can be missed, whatever changes between calls.
    let _ = cursor;
    let items: Vec<(&[u8], f64)> = z
        .iter()
        .filter(|(m, _)| pattern.is_none_or(|p| glob_match(p, m, false)))
        .collect();
    ctx.out.array(2);
    ctx.out.bulk(b"0");
    ctx.out.array(if noscores {
        items.len()
    } else {
        items.len() * 2
    });
    for (m, s) in items {
        ctx.out.bulk(m);
        if !noscores {
            ctx.out
                .bulk(crate::protocol::reply::format_double(s).as_bytes());
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// blocking pops

fn bzpopmin(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    bzpop(ctx, args, false)
}

fn bzpopmax(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    bzpop(ctx, args, true)
}

/// BZPOPMIN/BZPOPMAX key [key ...] timeout: [key, member, score] from the first
/// non-empty sorted set, in key order.
fn bzpop(ctx: &mut Ctx, args: &[&[u8]], max: bool) -> CmdResult {
    let timeout = blocking::timeout_arg(args[args.len() - 1])?;
    let keys = &args[1..args.len() - 1];
    let now = ctx.now;
    for &key in keys {
        let mut shard = ctx.db().lock(key);
        let Some(z) = write_zset(&mut shard, key, now)? else {
            continue;
        };
        let popped = z.pop(1, max);
        let emptied = drop_if_empty(&mut shard, key);
        drop(shard);
        let Some((m, score)) = popped.into_iter().next() else {
            continue;
        };
        ctx.dirty += 1;
        notify_removed(ctx, pop_event(max), key, emptied);
        // the log gets the pop that happened, not a command that may block
        let pop: &[u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
        ctx.propagate = Some(vec![vec![pop.to_vec(), key.to_vec()]]);
        ctx.out.array(3);
        ctx.out.bulk(key);
        ctx.out.bulk(&m);
        ctx.out.double(score);
        return Ok(());
    }
    let at = ctx.out.len();
    ctx.out.null_array();
    blocking::block(ctx, args, keys, blocking::Kind::ZSet, timeout, at);
    Ok(())
}

/// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]: ZMPOP once the timeout
/// is set aside.
fn bzmpop(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let timeout = blocking::timeout_arg(args[1])?;
    let mut rest: crate::protocol::decode::Args = args.iter().copied().collect();
    rest.remove(1);
    let (dirty, at) = (ctx.dirty, ctx.out.len());
    zmpop(ctx, &rest)?;
    if ctx.dirty > dirty {
        let mut logged: Vec<Vec<u8>> = rest.iter().map(|a| a.to_vec()).collect();
        logged[0] = b"ZMPOP".to_vec();
        ctx.propagate = Some(vec![logged]);
        return Ok(());
    }
    // ZMPOP accepted the arguments, so numkeys is valid and the keys are there
    let numkeys = parse_int(args[2]).unwrap_or(0).max(0) as usize;
    let keys = &args[3..(3 + numkeys).min(args.len())];
    ctx.out.truncate(at);
    ctx.out.null_array();
    blocking::block(ctx, args, keys, blocking::Kind::ZSet, timeout, at);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtod_like_c() {
        assert_eq!(strtod(b"1.5"), Some((1.5, false)));
        assert_eq!(strtod(b" -2"), Some((-2.0, false)));
        assert_eq!(strtod(b"0x1p3"), Some((8.0, false)));
        assert_eq!(strtod(b"-0X.8"), Some((-0.5, false)));
        assert_eq!(strtod(b"1e400"), Some((f64::INFINITY, true)));
        assert_eq!(strtod(b"1e-400"), Some((0.0, true)));
        assert_eq!(strtod(b"0e-400"), Some((0.0, false)));
        assert_eq!(strtod(b"-Infinity"), Some((f64::NEG_INFINITY, false)));
        assert!(strtod(b"nan").is_some_and(|(v, _)| v.is_nan()));
        for bad in [
            &b"0x"[..],
            b"1e",
            b"e5",
            b".",
            b"1 ",
            b"+-1",
            b"0x1p",
            b"1_0",
            b"",
        ] {
            assert_eq!(strtod(bad), None, "{}", String::from_utf8_lossy(bad));
        }
        assert_eq!(double_arg(b" 1"), None);
        assert_eq!(double_arg(b"1e400"), None);
        assert_eq!(double_arg(b"nan"), None);
    }

    #[test]
    fn rank_spans() {
        assert_eq!(rank_span(0, -1, 3), Some((0, 2)));
        assert_eq!(rank_span(-100, 100, 3), Some((0, 2)));
        assert_eq!(rank_span(2, 1, 3), None);
        assert_eq!(rank_span(3, 5, 3), None);
        assert_eq!(rank_span(i64::MIN, i64::MIN, 3), None);
        assert_eq!(rank_span(0, 0, 0), None);
    }
}
