//! SORT and SORT_RO: sort the elements of a list, set or sorted set, by themselves or
//! by values found through BY patterns, and return or STORE them (or values fetched
//! through GET patterns).
//!
//! The elements are copied out under their shard lock first; BY and GET lookups then
//! lock each looked-up key's shard alone, so no two shard locks are ever held at once.

use super::flags::*;
use super::{acl, acl_family, is, parse_f64, parse_i64, CmdError, CmdResult, Command, Ctx};
use crate::store::list::{End, List};
use crate::store::set::Elem;
use crate::store::{NewValue, Object, ValueRef};
use std::cmp::Ordering;

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    Command::new("sort", -2, WRITE | DENYOOM | MOVABLEKEYS, sort)
        .keys(1, 1, 1)
        .more_keys(store_keys)
        .acl(acl::SET | acl::SORTEDSET | acl::LIST)
        .doc("generic", "1.0.0", "Sorts the elements in a list, a set, or a sorted set, optionally storing the result.", "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N)."),
    Command::new("sort_ro", -2, READONLY | MOVABLEKEYS, sort_ro)
        .keys(1, 1, 1)
        .acl(acl::SET | acl::SORTEDSET | acl::LIST)
        .doc("generic", "7.0.0", "Returns the sorted elements of a list, a set, or a sorted set.", "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N)."),
];

/// The STORE destination of a SORT line (Valkey's sortGetKeys: the last STORE wins,
/// skipping the arguments of the options it knows).
fn store_keys(args: &[&[u8]]) -> Vec<usize> {
    let mut v = Vec::with_capacity(1);
    let mut i = 2;
    while i < args.len() {
        let a = args[i];
        let skip = if is(a, "limit") {
            2
        } else if is(a, "get") || is(a, "by") {
            1
        } else if is(a, "store") {
            if i + 1 < args.len() {
                v.clear();
                v.push(i + 1);
            }
            1
        } else {
            0
        };
        i += 1 + skip;
    }
    v
}

fn sort(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    sort_generic(ctx, args, false)
}

fn sort_ro(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    sort_generic(ctx, args, true)
}

struct Options<'a> {
    desc: bool,
    alpha: bool,
    limit: Option<(i64, i64)>,
    store: Option<&'a [u8]>,
    by: Option<&'a [u8]>,
    dontsort: bool,
    gets: Vec<&'a [u8]>,
}

/// `full_key_access`: whether the user may read every key, which BY with a pattern
/// and GET need since they reach keys the line does not name.
fn parse<'a>(
    args: &[&'a [u8]],
    readonly: bool,
    full_key_access: bool,
) -> Result<Options<'a>, CmdError> {
    let mut o = Options {
        desc: false,
        alpha: false,
        limit: None,
        store: None,
        by: None,
        dontsort: false,
        gets: Vec::new(),
    };
    let mut i = 2;
    while i < args.len() {
        let left = args.len() - i - 1;
        let a = args[i];
        if is(a, "asc") {
            o.desc = false;
        } else if is(a, "desc") {
            o.desc = true;
        } else if is(a, "alpha") {
            o.alpha = true;
        } else if is(a, "limit") && left >= 2 {
            let start = parse_i64(args[i + 1]).ok_or(CmdError::NotInteger)?;
            let count = parse_i64(args[i + 2]).ok_or(CmdError::NotInteger)?;
            o.limit = Some((start, count));
            i += 2;
        } else if is(a, "store") && left >= 1 && !readonly {
            o.store = Some(args[i + 1]);
            i += 1;
        } else if is(a, "by") && left >= 1 {
            let p = args[i + 1];
            // a pattern without '*' names one key for every element: nothing to sort by
            if !p.contains(&b'*') {
                o.dontsort = true;
            } else if !full_key_access {
                return Err(CmdError::err(
                    "BY option of SORT denied due to insufficient ACL permissions.",
                ));
            }
            o.by = Some(p);
            i += 1;
        } else if is(a, "get") && left >= 1 {
            if !full_key_access {
                return Err(CmdError::err(
                    "GET option of SORT denied due to insufficient ACL permissions.",
                ));
            }
            o.gets.push(args[i + 1]);
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    Ok(o)
}

/// Valkey's lookupKeyByPattern: `#` is the element itself; otherwise the first `*` of
/// the pattern is replaced by the element and the key read, as a string, or as a hash
/// field when the pattern ends in `->field`.
fn lookup(ctx: &Ctx, pattern: &[u8], elem: &[u8]) -> Option<Vec<u8>> {
    if pattern == b"#" {
        return Some(elem.to_vec());
    }
    let star = pattern.iter().position(|&b| b == b'*')?;
    let (key_pat, field) = match find(&pattern[star + 1..], b"->") {
        Some(p) if star + 1 + p + 2 < pattern.len() => {
            let at = star + 1 + p;
            (&pattern[..at], Some(&pattern[at + 2..]))
        }
        _ => (pattern, None),
    };
    let mut key = Vec::with_capacity(key_pat.len() + elem.len());
    key.extend_from_slice(&key_pat[..star]);
    key.extend_from_slice(elem);
    key.extend_from_slice(&key_pat[star + 1..]);
    let db = ctx.db();
    let mut shard = db.lock(&key);
    let node = shard.get(&key, ctx.now)?;
    match (node.value(), field) {
        (ValueRef::Obj(Object::Hash(h)), Some(f)) => h.get(f).map(<[u8]>::to_vec),
        (v, None) => v.as_str().map(<[u8]>::to_vec),
        _ => None,
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The elements of the value at `key`, in its natural order (list order, set order,
/// score order); None for a missing key.
/// The elements of a value and what type it was.
type Loaded = (Vec<Vec<u8>>, Kind);

fn load(ctx: &Ctx, key: &[u8]) -> Result<Option<Loaded>, CmdError> {
    let db = ctx.db();
    let mut shard = db.lock(key);
    let Some(node) = shard.get(key, ctx.now) else {
        return Ok(None);
    };
    Ok(Some(match node.value() {
        ValueRef::Obj(Object::List(l)) => (l.iter().map(<[u8]>::to_vec).collect(), Kind::List),
        ValueRef::Obj(Object::Set(s)) => (
            s.iter()
                .map(|e| match e {
                    Elem::Str(b) => b.to_vec(),
                    Elem::Int(n) => itoa::Buffer::new().format(n).as_bytes().to_vec(),
                })
                .collect(),
            Kind::Set,
        ),
        ValueRef::Obj(Object::ZSet(z)) => (z.iter().map(|(m, _)| m.to_vec()).collect(), Kind::ZSet),
        _ => return Err(CmdError::WrongType),
    }))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    List,
    Set,
    ZSet,
}

struct Item {
    elem: Vec<u8>,
    score: f64,
    /// The BY value compared under ALPHA (None: the BY key was missing).
    by: Option<Vec<u8>>,
}

fn sort_generic(ctx: &mut Ctx, args: &[&[u8]], readonly: bool) -> CmdResult {
    let patterns = args[2..].iter().any(|a| is(a, "by") || is(a, "get"));
    let full = !patterns || acl_family::may_read_all_keys(ctx.client, ctx.cmd, args);
    let mut o = parse(args, readonly, full)?;
    let loaded = load(ctx, args[1])?;
    let (elems, kind) = loaded.unwrap_or((Vec::new(), Kind::List));
    // a set has no order of its own: stored or scripted results must not depend on it
    if o.dontsort && kind == Kind::Set && (o.store.is_some() || ctx.client.nested()) {
        o.dontsort = false;
        o.alpha = true;
        o.by = None;
    }
    let mut items: Vec<Item> = elems
        .into_iter()
        .map(|elem| Item {
            elem,
            score: 0.0,
            by: None,
        })
        .collect();
    if o.dontsort {
        if o.desc && kind != Kind::Set {
            items.reverse();
        }
    } else {
        let mut bad = false;
        for it in items.iter_mut() {
            let by = match o.by {
                Some(p) => match lookup(ctx, p, &it.elem) {
                    Some(v) => v,
                    None => continue,
                },
                None => it.elem.clone(),
            };
            if o.alpha {
                if o.by.is_some() {
                    it.by = Some(by);
                }
            } else {
                match parse_f64(&by) {
                    Some(v) if !v.is_nan() => it.score = v,
                    _ => bad = true,
                }
            }
        }
        if bad {
            return Err(CmdError::err(
                "One or more scores can't be converted into double",
            ));
        }
        let (alpha, by_pattern, desc) = (o.alpha, o.by.is_some(), o.desc);
        items.sort_by(|a, b| {
            let c = if !alpha {
                a.score
                    .partial_cmp(&b.score)
                    .unwrap_or(Ordering::Equal)
                    .then_with(|| a.elem.cmp(&b.elem))
            } else if by_pattern {
                match (&a.by, &b.by) {
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Less,
                    (Some(_), None) => Ordering::Greater,
                    (Some(x), Some(y)) => x.cmp(y),
                }
            } else {
                a.elem.cmp(&b.elem)
            };
            if desc {
                c.reverse()
            } else {
                c
            }
        });
    }
    // LIMIT as Valkey clamps it
    let len = items.len() as i64;
    let (mut start, mut end) = match o.limit {
        Some((s, c)) => {
            let s = s.max(0);
            (
                s,
                if c < 0 {
                    len - 1
                } else {
                    s.saturating_add(c) - 1
                },
            )
        }
        None => (0, len - 1),
    };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    if end >= len {
        end = len - 1;
    }
    let window: &[Item] = if start >= 0 && end >= start {
        &items[start as usize..=end as usize]
    } else {
        &[]
    };
    let per = o.gets.len().max(1);
    match o.store {
        None => {
            ctx.out.array(window.len() * per);
            for it in window {
                if o.gets.is_empty() {
                    ctx.out.bulk(&it.elem);
                }
                for g in &o.gets {
                    match lookup(ctx, g, &it.elem) {
                        Some(v) => ctx.out.bulk(&v),
                        None => ctx.out.null(),
                    }
                }
            }
        }
        Some(dst) => {
            let mut values: Vec<Vec<u8>> = Vec::with_capacity(window.len() * per);
            for it in window {
                if o.gets.is_empty() {
                    values.push(it.elem.clone());
                }
                for g in &o.gets {
                    values.push(lookup(ctx, g, &it.elem).unwrap_or_default());
                }
            }
            let n = values.len();
            let fill = ctx
                .srv
                .config
                .hot
                .enc
                .list_size
                .load(std::sync::atomic::Ordering::Relaxed);
            let changed = {
                let db = ctx.db();
                let mut shard = db.lock(dst);
                if n > 0 {
                    let mut l = List::new();
                    l.grow_for(fill, values.iter().map(|v| v.as_slice()));
                    for v in &values {
                        l.push(End::Tail, v);
                    }
                    shard.set(dst, NewValue::Obj(Object::list(l)), None, ctx.now);
                    true
                } else {
                    shard.delete(dst, ctx.now).is_some()
                }
            };
            if changed {
                ctx.dirty += n.max(1) as u64;
                ctx.srv.key_modified(ctx.client.db, dst);
                if n > 0 {
                    ctx.notify(crate::pubsub::class::LIST, "sortstore", dst);
                } else {
                    ctx.notify(crate::pubsub::class::GENERIC, "del", dst);
                }
            }
            ctx.out.int(n as i64);
        }
    }
    Ok(())
}
