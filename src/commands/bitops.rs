//! Bitmap commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO.
//!
//! Bit 0 is the most significant bit of the first byte, for every command here.

use super::flags::*;
use super::strings::read_str;
use super::{acl, int_arg, is, parse_i64, CmdError, CmdResult, Command, Ctx};
use crate::pubsub::class;
use crate::store::{NewValue, Object, Shard};
use std::sync::atomic::Ordering;

const BM: u64 = acl::BITMAP;

pub static COMMANDS: &[Command] = &[
    Command::new("setbit", 4, WRITE | DENYOOM, setbit)
        .keys(1, 1, 1)
        .acl(BM)
        .doc(
            "bitmap",
            "2.2.0",
            "Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist.",
            "O(1)",
        ),
    Command::new("getbit", 3, READONLY | FAST, getbit)
        .keys(1, 1, 1)
        .acl(BM)
        .doc("bitmap", "2.2.0", "Returns a bit value by offset.", "O(1)"),
    Command::new("bitcount", -2, READONLY, bitcount)
        .keys(1, 1, 1)
        .acl(BM)
        .doc(
            "bitmap",
            "2.6.0",
            "Counts the number of set bits (population counting) in a string.",
            "O(N)",
        ),
    Command::new("bitpos", -3, READONLY, bitpos)
        .keys(1, 1, 1)
        .acl(BM)
        .doc("bitmap", "2.8.7", "Finds the first set (1) or clear (0) bit in a string.", "O(N)"),
    Command::new("bitop", -4, WRITE | DENYOOM, bitop)
        .keys(2, -1, 1)
        .acl(BM)
        .doc(
            "bitmap",
            "2.6.0",
            "Performs bitwise operations on multiple strings, and stores the result.",
            "O(N)",
        ),
    Command::new("bitfield", -2, WRITE | DENYOOM, bitfield)
        .keys(1, 1, 1)
        .acl(BM)
        .doc(
            "bitmap",
            "3.2.0",
            "Performs arbitrary bitfield integer operations on strings.",
            "O(1) for each subcommand specified",
        ),
    Command::new("bitfield_ro", -2, READONLY | FAST, bitfield_ro)
        .keys(1, 1, 1)
        .acl(BM)
        .doc(
            "bitmap",
            "6.0.0",
            "Performs arbitrary read-only bitfield integer operations on strings.",
            "O(1) for each subcommand specified",
        ),
];

const OFFSET_ERR: &str = "ERR bit offset is not an integer or out of range";
const BIT_VALUE_ERR: &str = "ERR bit is not an integer or out of range";
const TYPE_ERR: &str =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";

/// The longest string a bit command may create or address: proto-max-bulk-len bytes.
fn max_bytes(ctx: &Ctx) -> u64 {
    ctx.srv
        .config
        .hot
        .proto_max_bulk_len
        .load(Ordering::Relaxed) as u64
}

/// Parses a bit offset. With a non-zero `width` (BITFIELD) `#N` means N fields of that
/// width. The offset must address a byte below `max_bytes`, which bounds every
/// allocation a client can cause.
fn bit_offset(arg: &[u8], width: u32, max_bytes: u64) -> Result<u64, CmdError> {
    let (digits, scaled) = match arg.split_first() {
        Some((b'#', rest)) if width > 0 => (rest, true),
        _ => (arg, false),
    };
    let mut n = parse_i64(digits).ok_or(CmdError::msg(OFFSET_ERR))?;
    if scaled {
        // Valkey multiplies without an overflow check; wrapping gives the same answers.
        n = n.wrapping_mul(width as i64);
    }
    if n < 0 || (n as u64 >> 3) >= max_bytes {
        return Err(CmdError::msg(OFFSET_ERR));
    }
    Ok(n as u64)
}

/// The string at `key` for modification, created or zero-padded to at least `len` bytes.
/// The flag tells whether the key was created or grown, which counts as a change even
/// when no bit flips. The value always becomes an owned buffer (Valkey's "raw"), so
/// repeated growth is amortized.
fn string_for_write<'a>(
    shard: &'a mut Shard,
    key: &[u8],
    now: i64,
    len: usize,
) -> Result<(&'a mut Vec<u8>, bool), CmdError> {
    let exists = match shard.get(key, now) {
        None => false,
        Some(n) if n.value().as_str().is_some() => true,
        Some(_) => return Err(CmdError::WrongType),
    };
    let node = if exists {
        shard.get_mut(key, now).ok_or(CmdError::NoSuchKey)?
    } else {
        shard.set(key, NewValue::Obj(Object::Str(vec![0; len])), None, now)
    };
    match node.obj_mut() {
        Object::Str(v) => {
            let grown = v.len() < len;
            if grown {
                grow_zeroed(v, len);
            }
            Ok((v, !exists || grown))
        }
        #[allow(unreachable_patterns)]
        _ => Err(CmdError::WrongType),
    }
}

/// Beyond this size a growing string gets this much headroom instead of doubling, as
/// Valkey's sds strings do, so a large bitmap never reserves twice its size.
const GROW_HEADROOM: usize = 1024 * 1024;

/// Zero-extends `v` to `len` bytes, reserving headroom so that bitmaps extended a bit at
/// a time reallocate only now and then.
fn grow_zeroed(v: &mut Vec<u8>, len: usize) {
    if v.capacity() < len {
        let target = if len < GROW_HEADROOM {
            len.saturating_mul(2)
        } else {
            len.saturating_add(GROW_HEADROOM)
        };
        v.reserve_exact(target - v.len());
    }
    v.resize(len, 0);
}

fn setbit(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let offset = bit_offset(args[2], 0, max_bytes(ctx))?;
    let on = parse_i64(args[3]).ok_or(CmdError::msg(BIT_VALUE_ERR))?;
    if on & !1 != 0 {
        return Err(CmdError::msg(BIT_VALUE_ERR));
    }
    let (key, now) = (args[1], ctx.now);
    let byte = (offset >> 3) as usize;
    let mask = 0x80u8 >> (offset & 7);
    let mut shard = ctx.db().lock(key);
    let (buf, grown) = string_for_write(&mut shard, key, now, byte + 1)?;
    let Some(b) = buf.get_mut(byte) else {
        return Err(CmdError::msg(OFFSET_ERR));
    };
    let old = *b & mask != 0;
    if grown || old != (on == 1) {
        if on == 1 {
            *b |= mask;
        } else {
            *b &= !mask;
        }
        ctx.dirty += 1;
        ctx.notify(class::STRING, "setbit", key);
    }
    drop(shard);
    ctx.out.int(old as i64);
    Ok(())
}

fn getbit(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let offset = bit_offset(args[2], 0, max_bytes(ctx))?;
    let mut shard = ctx.db().lock(args[1]);
    let bit = read_str(&mut shard, args[1], ctx.now)?
        .and_then(|s| s.get((offset >> 3) as usize))
        .is_some_and(|b| b & (0x80 >> (offset & 7)) != 0);
    drop(shard);
    ctx.out.int(bit as i64);
    Ok(())
}

/// A BITCOUNT/BITPOS range as given: start, optional end, and whether it counts bits.
struct Range {
    start: i64,
    end: Option<i64>,
    bits: bool,
}

/// Parses `[start [end [BYTE|BIT]]]` from `args[at..]`. The unit is checked before
/// `end` is parsed, as Valkey does, which decides which error a client sees.
fn parse_range(args: &[&[u8]], at: usize) -> Result<Option<Range>, CmdError> {
    match args.len().saturating_sub(at) {
        0 => Ok(None),
        1..=3 => {
            let start = int_arg(args[at])?;
            let bits = match args.get(at + 2) {
                None => false,
                Some(u) if is(u, "bit") => true,
                Some(u) if is(u, "byte") => false,
                Some(_) => return Err(CmdError::Syntax),
            };
            let end = args.get(at + 1).map(|e| int_arg(e)).transpose()?;
            Ok(Some(Range { start, end, bits }))
        }
        _ => Err(CmdError::Syntax),
    }
}

/// Resolves negative indexes against `total` units and clamps to the string; None
/// when the range is empty.
fn clamp_range(start: i64, end: i64, total: i64) -> Option<(u64, u64)> {
    let mut start = if start < 0 {
        total.saturating_add(start)
    } else {
        start
    };
    let mut end = if end < 0 {
        total.saturating_add(end)
    } else {
        end
    };
    start = start.max(0);
    end = end.max(0);
    if end >= total {
        end = total - 1;
    }
    (start <= end).then_some((start as u64, end as u64))
}

/// The inclusive bit range a [`Range`] covers in a string of `len` bytes, or None if
/// empty.
fn bit_span(r: &Range, len: usize) -> Option<(u64, u64)> {
    let total = len as i64;
    let end = r.end.unwrap_or(total - 1);
    if r.bits {
        clamp_range(r.start, end, total * 8)
    } else {
        clamp_range(r.start, end, total).map(|(a, b)| (a * 8, b * 8 + 7))
    }
}

fn bitcount(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let range = parse_range(args, 2)?;
    let mut shard = ctx.db().lock(args[1]);
    let count = match read_str(&mut shard, args[1], ctx.now)? {
        None => 0,
        Some(s) => match &range {
            None => popcount(s),
            Some(r) => {
                let end = r.end.unwrap_or(s.len() as i64 - 1);
                // Both negative and crossed counts nothing, though clamping both to 0
                // would otherwise count the first byte.
                if r.start < 0 && end < 0 && r.start > end {
                    0
                } else {
                    bit_span(r, s.len()).map_or(0, |(a, b)| count_bits(s, a, b))
                }
            }
        },
    };
    drop(shard);
    ctx.out.int(count as i64);
    Ok(())
}

fn bitpos(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let bit = int_arg(args[2])?;
    if bit != 0 && bit != 1 {
        return Err(CmdError::err("The bit argument must be 1 or 0."));
    }
    let range = parse_range(args, 3)?;
    let mut shard = ctx.db().lock(args[1]);
    let pos = match read_str(&mut shard, args[1], ctx.now)? {
        // a missing key is an endless run of zeros
        None => {
            if bit == 1 {
                -1
            } else {
                0
            }
        }
        Some(s) => {
            let span = match &range {
                None if s.is_empty() => None,
                None => Some((0, s.len() as u64 * 8 - 1)),
                Some(r) => bit_span(r, s.len()),
            };
            let end_given = range.as_ref().is_some_and(|r| r.end.is_some());
            match span {
                None => -1,
                Some((a, b)) => match find_bit(s, bit == 1, a, b) {
                    Some(p) => p as i64,
                    // Without an explicit end the string counts as zero-padded on the
                    // right, so the first clear bit is just past it.
                    None if bit == 0 && !end_given => b as i64 + 1,
                    None => -1,
                },
            }
        }
    };
    drop(shard);
    ctx.out.int(pos);
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

fn bitop(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let op = match args[1] {
        a if is(a, "and") => BitOp::And,
        a if is(a, "or") => BitOp::Or,
        a if is(a, "xor") => BitOp::Xor,
        a if is(a, "not") => BitOp::Not,
        _ => return Err(CmdError::Syntax),
    };
    if op == BitOp::Not && args.len() != 4 {
        return Err(CmdError::err(
            "BITOP NOT must be called with a single source key.",
        ));
    }
    let (dest, srcs, now) = (args[2], &args[3..], ctx.now);
    let db = ctx.db();
    let mut locks = db.lock_keys(args[2..].iter().copied());
    // Every source is type-checked before anything is computed or written.
    let mut maxlen = 0;
    for k in srcs {
        if let Some(s) = read_str(locks.shard(k), k, now)? {
            maxlen = maxlen.max(s.len());
        }
    }
    if maxlen == 0 {
        if locks.shard(dest).delete(dest, now).is_some() {
            ctx.dirty += 1;
            ctx.notify(class::GENERIC, "del", dest);
        }
        drop(locks);
        ctx.out.int(0);
        return Ok(());
    }
    let mut res = vec![0u8; maxlen];
    for (i, k) in srcs.iter().enumerate() {
        let s = read_str(locks.shard(k), k, now)?.unwrap_or_default();
        if i == 0 {
            if let Some(head) = res.get_mut(..s.len()) {
                head.copy_from_slice(s);
            }
            if op == BitOp::Not {
                res.iter_mut().for_each(|r| *r = !*r);
            }
        } else {
            combine(op, &mut res, s);
        }
    }
    locks
        .shard(dest)
        .set(dest, NewValue::Obj(Object::Str(res)), None, now);
    ctx.dirty += 1;
    ctx.notify(class::STRING, "set", dest);
    drop(locks);
    ctx.out.int(maxlen as i64);
    Ok(())
}

/// Folds one more source into a BITOP result; sources shorter than the result count as
/// zero-padded.
fn combine(op: BitOp, res: &mut [u8], src: &[u8]) {
    match op {
        BitOp::And => {
            for (r, s) in res.iter_mut().zip(src) {
                *r &= *s;
            }
            res.iter_mut().skip(src.len()).for_each(|r| *r = 0);
        }
        BitOp::Or => res.iter_mut().zip(src).for_each(|(r, s)| *r |= *s),
        BitOp::Xor => res.iter_mut().zip(src).for_each(|(r, s)| *r ^= *s),
        BitOp::Not => {}
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum FieldOp {
    Get,
    Set,
    Incr,
}

#[derive(Clone, Copy, Debug)]
struct Field {
    op: FieldOp,
    offset: u64,
    /// SET value or INCRBY increment.
    value: i64,
    overflow: Overflow,
    signed: bool,
    bits: u32,
}

/// Parses `i<1..64>` or `u<1..63>`: u64 is refused because RESP integers are signed.
fn field_type(arg: &[u8]) -> Result<(bool, u32), CmdError> {
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(CmdError::msg(TYPE_ERR)),
    };
    let limit = if signed { 64 } else { 63 };
    match parse_i64(arg.get(1..).unwrap_or_default()) {
        Some(n) if (1..=limit).contains(&n) => Ok((signed, n as u32)),
        _ => Err(CmdError::msg(TYPE_ERR)),
    }
}

fn parse_fields(args: &[&[u8]], max_bytes: u64) -> Result<Vec<Field>, CmdError> {
    let mut fields = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut j = 2;
    while j < args.len() {
        let rem = args.len() - j - 1;
        let sub = args[j];
        let op = if is(sub, "get") && rem >= 2 {
            FieldOp::Get
        } else if is(sub, "set") && rem >= 3 {
            FieldOp::Set
        } else if is(sub, "incrby") && rem >= 3 {
            FieldOp::Incr
        } else if is(sub, "overflow") && rem >= 1 {
            let kind = args[j + 1];
            overflow = if is(kind, "wrap") {
                Overflow::Wrap
            } else if is(kind, "sat") {
                Overflow::Sat
            } else if is(kind, "fail") {
                Overflow::Fail
            } else {
                return Err(CmdError::err("Invalid OVERFLOW type specified"));
            };
            j += 2;
            continue;
        } else {
            return Err(CmdError::Syntax);
        };
        let (signed, bits) = field_type(args[j + 1])?;
        let offset = bit_offset(args[j + 2], bits, max_bytes)?;
        let value = if op == FieldOp::Get {
            0
        } else {
            int_arg(args[j + 3])?
        };
        fields.push(Field {
            op,
            offset,
            value,
            overflow,
            signed,
            bits,
        });
        j += if op == FieldOp::Get { 3 } else { 4 };
    }
    Ok(fields)
}

fn bitfield(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    bitfield_generic(ctx, args, false)
}

fn bitfield_ro(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    bitfield_generic(ctx, args, true)
}

fn bitfield_generic(ctx: &mut Ctx, args: &[&[u8]], read_only: bool) -> CmdResult {
    let fields = parse_fields(args, max_bytes(ctx))?;
    let highest = fields
        .iter()
        .filter(|f| f.op != FieldOp::Get)
        .map(|f| f.offset + f.bits as u64 - 1)
        .max();
    let (key, now) = (args[1], ctx.now);
    let Some(highest) = highest else {
        let mut shard = ctx.db().lock(key);
        let s = read_str(&mut shard, key, now)?.unwrap_or_default();
        ctx.out.array(fields.len());
        for f in &fields {
            ctx.out.int(field_get(s, f));
        }
        return Ok(());
    };
    if read_only {
        return Err(CmdError::err(
            "BITFIELD_RO only supports the GET subcommand",
        ));
    }
    let mut shard = ctx.db().lock(key);
    // Even when OVERFLOW FAIL ends up refusing every write, the key has been created or
    // padded by now, as in Valkey.
    let (buf, grown) = string_for_write(&mut shard, key, now, (highest >> 3) as usize + 1)?;
    let mut changes = 0;
    ctx.out.array(fields.len());
    for f in &fields {
        if f.op == FieldOp::Get {
            ctx.out.int(field_get(buf, f));
            continue;
        }
        match field_write(buf, f) {
            Some((reply, changed)) => {
                if grown || changed {
                    changes += 1;
                }
                ctx.out.int(reply);
            }
            None => ctx.out.null(),
        }
    }
    ctx.dirty += changes;
    if changes > 0 {
        ctx.notify(class::STRING, "setbit", key);
    }
    Ok(())
}

fn field_get(s: &[u8], f: &Field) -> i64 {
    if f.signed {
        get_signed(s, f.offset, f.bits)
    } else {
        get_unsigned(s, f.offset, f.bits) as i64
    }
}

/// Runs a SET or INCRBY. Returns the reply value (old value for SET, new value for
/// INCRBY) and whether the stored value changed, or None when OVERFLOW FAIL refused it.
fn field_write(buf: &mut [u8], f: &Field) -> Option<(i64, bool)> {
    if f.signed {
        let old = get_signed(buf, f.offset, f.bits);
        let (new, reply, over) = if f.op == FieldOp::Incr {
            match check_signed(old, f.value, f.bits, f.overflow) {
                Some(limit) => (limit, limit, true),
                None => {
                    let n = old.wrapping_add(f.value);
                    (n, n, false)
                }
            }
        } else {
            match check_signed(f.value, 0, f.bits, f.overflow) {
                Some(limit) => (limit, old, true),
                None => (f.value, old, false),
            }
        };
        if over && f.overflow == Overflow::Fail {
            return None;
        }
        set_bits(buf, f.offset, f.bits, new as u64);
        Some((reply, old != new))
    } else {
        let old = get_unsigned(buf, f.offset, f.bits);
        let (new, reply, over) = if f.op == FieldOp::Incr {
            match check_unsigned(old, f.value, f.bits, f.overflow) {
                Some(limit) => (limit, limit, true),
                None => {
                    let n = old.wrapping_add(f.value as u64);
                    (n, n, false)
                }
            }
        } else {
            match check_unsigned(f.value as u64, 0, f.bits, f.overflow) {
                Some(limit) => (limit, old, true),
                None => (f.value as u64, old, false),
            }
        };
        if over && f.overflow == Overflow::Fail {
            return None;
        }
        set_bits(buf, f.offset, f.bits, new);
        Some((reply as i64, old != new))
    }
}

/// Reads `bits` bits at `offset` as an unsigned number; bytes past the end read as zero.
fn get_unsigned(s: &[u8], offset: u64, bits: u32) -> u64 {
    let mut v = 0u64;
    for i in 0..bits as u64 {
        let o = offset + i;
        let byte = s.get((o >> 3) as usize).copied().unwrap_or(0);
        v = (v << 1) | ((byte >> (7 - (o & 7))) & 1) as u64;
    }
    v
}

fn get_signed(s: &[u8], offset: u64, bits: u32) -> i64 {
    let v = get_unsigned(s, offset, bits);
    if bits < 64 && v & (1 << (bits - 1)) != 0 {
        (v | (u64::MAX << bits)) as i64
    } else {
        v as i64
    }
}

/// Writes the low `bits` bits of `value` at `offset`; bits past the end are dropped
/// (callers grow the buffer first).
fn set_bits(s: &mut [u8], offset: u64, bits: u32, value: u64) {
    for i in 0..bits as u64 {
        let o = offset + i;
        let on = (value >> (bits as u64 - 1 - i)) & 1 == 1;
        if let Some(b) = s.get_mut((o >> 3) as usize) {
            let mask = 0x80u8 >> (o & 7);
            if on {
                *b |= mask;
            } else {
                *b &= !mask;
            }
        }
    }
}

/// Whether `value + incr` overflows an unsigned field of `bits` bits; if so, the value
/// to store under the overflow policy (meaningless for FAIL). The comparisons follow
/// Valkey's, including its answers for out-of-range SET values (a negative SET
/// saturates to the maximum).
fn check_unsigned(value: u64, incr: i64, bits: u32, ow: Overflow) -> Option<u64> {
    let max = if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let max_incr = max.wrapping_sub(value) as i64;
    let min_incr = (value as i64).wrapping_neg();
    let wrapped = || value.wrapping_add(incr as u64) & !u64::MAX.checked_shl(bits).unwrap_or(0);
    if value > max || (incr > 0 && incr > max_incr) {
        Some(match ow {
            Overflow::Wrap => wrapped(),
            Overflow::Sat => max,
            Overflow::Fail => 0,
        })
    } else if incr < 0 && incr < min_incr {
        Some(match ow {
            Overflow::Wrap => wrapped(),
            Overflow::Sat | Overflow::Fail => 0,
        })
    } else {
        None
    }
}

/// The signed counterpart of [`check_unsigned`]. The intermediate differences wrap as
/// in Valkey's two's complement arithmetic, which decides its answers for extreme SET
/// values.
fn check_signed(value: i64, incr: i64, bits: u32, ow: Overflow) -> Option<i64> {
    let max = if bits >= 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let max_incr = (max as u64).wrapping_sub(value as u64) as i64;
    let min_incr = min.wrapping_sub(value);
    let wrapped = || {
        let mut c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let high = u64::MAX << bits;
            if c & (1 << (bits - 1)) != 0 {
                c |= high;
            } else {
                c &= !high;
            }
        }
        c as i64
    };
    let wide = bits >= 64;
    if value > max || (!wide && incr > max_incr) || (value >= 0 && incr > 0 && incr > max_incr) {
        Some(match ow {
            Overflow::Wrap => wrapped(),
            Overflow::Sat => max,
            Overflow::Fail => 0,
        })
    } else if value < min
        || (!wide && incr < min_incr)
        || (value < 0 && incr < 0 && incr < min_incr)
    {
        Some(match ow {
            Overflow::Wrap => wrapped(),
            Overflow::Sat => min,
            Overflow::Fail => 0,
        })
    } else {
        None
    }
}

/// Set bits in `s`, eight bytes at a time where possible.
fn popcount(s: &[u8]) -> u64 {
    let mut chunks = s.chunks_exact(8);
    let mut n: u64 = 0;
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        n += u64::from_ne_bytes(w).count_ones() as u64;
    }
    n + chunks
        .remainder()
        .iter()
        .map(|b| b.count_ones() as u64)
        .sum::<u64>()
}

/// Set bits between bit positions `first` and `last` inclusive; `last` must lie in `s`
/// (anything beyond is not counted).
fn count_bits(s: &[u8], first: u64, last: u64) -> u64 {
    let (fb, lb) = ((first >> 3) as usize, (last >> 3) as usize);
    let head = 0xFFu8 >> (first & 7);
    let tail = 0xFFu8 << (7 - (last & 7));
    let byte = |i: usize| s.get(i).copied().unwrap_or(0);
    if fb == lb {
        return (byte(fb) & head & tail).count_ones() as u64;
    }
    let mid = s.get(fb + 1..lb).map_or(0, popcount);
    (byte(fb) & head).count_ones() as u64 + mid + (byte(lb) & tail).count_ones() as u64
}

/// The first position between `first` and `last` inclusive whose bit equals `bit`.
fn find_bit(s: &[u8], bit: bool, first: u64, last: u64) -> Option<u64> {
    let (fb, lb) = ((first >> 3) as usize, (last >> 3) as usize);
    let head = 0xFFu8 >> (first & 7);
    let tail = 0xFFu8 << (7 - (last & 7));
    let hit = |i: usize, mask: u8| -> Option<u64> {
        let b = *s.get(i)?;
        let v = if bit { b } else { !b } & mask;
        (v != 0).then(|| i as u64 * 8 + v.leading_zeros() as u64)
    };
    if fb == lb {
        return hit(fb, head & tail);
    }
    if let Some(p) = hit(fb, head) {
        return Some(p);
    }
    let mid = s.get(fb + 1..lb).unwrap_or_default();
    let skip = if bit { 0u8 } else { 0xFF };
    // Long runs of the other bit value are skipped a word at a time.
    let skip_word = u64::from_ne_bytes([skip; 8]);
    let mut i = 0;
    for c in mid.chunks_exact(8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        if u64::from_ne_bytes(w) != skip_word {
            break;
        }
        i += 8;
    }
    if let Some(j) = mid.get(i..).and_then(|m| m.iter().position(|&b| b != skip)) {
        return hit(fb + 1 + i + j, 0xFF);
    }
    hit(lb, tail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive_bit(s: &[u8], i: u64) -> bool {
        s[(i / 8) as usize] & (0x80 >> (i % 8)) != 0
    }

    #[test]
    fn popcount_matches_count_ones() {
        let s: Vec<u8> = (0..=255u8).chain(0..17).collect();
        let want: u64 = s.iter().map(|b| b.count_ones() as u64).sum();
        assert_eq!(popcount(&s), want);
        assert_eq!(popcount(&[]), 0);
    }

    #[test]
    fn growth_keeps_headroom_bounded() {
        let mut v = vec![1u8; 3];
        grow_zeroed(&mut v, 10);
        assert_eq!(v, [1, 1, 1, 0, 0, 0, 0, 0, 0, 0]);
        assert!(v.capacity() >= 20);
        let cap = v.capacity();
        grow_zeroed(&mut v, 11);
        assert_eq!(v.capacity(), cap);
        let mut big = vec![0u8; 3 << 20];
        grow_zeroed(&mut big, (3 << 20) + 1);
        assert!(big.capacity() <= (4 << 20) + 1);
    }

    #[test]
    fn offsets() {
        assert_eq!(bit_offset(b"7", 0, 1), Ok(7));
        assert!(bit_offset(b"8", 0, 1).is_err());
        assert!(bit_offset(b"-1", 0, 100).is_err());
        assert!(bit_offset(b"#1", 0, 100).is_err());
        assert_eq!(bit_offset(b"#2", 8, 100), Ok(16));
        assert!(bit_offset(b"#-1", 8, 100).is_err());
        assert!(bit_offset(b"", 8, 100).is_err());
        assert!(bit_offset(b"#", 8, 100).is_err());
        assert!(bit_offset(b"9223372036854775807", 0, 512 << 20).is_err());
    }

    #[test]
    fn types() {
        assert_eq!(field_type(b"i64"), Ok((true, 64)));
        assert_eq!(field_type(b"u63"), Ok((false, 63)));
        assert_eq!(field_type(b"u1"), Ok((false, 1)));
        for bad in [
            &b"u64"[..],
            b"i65",
            b"i0",
            b"u",
            b"",
            b"x8",
            b"i08",
            b"I8",
            b"u-1",
        ] {
            assert!(field_type(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn signed_fields_round_trip() {
        let mut buf = vec![0u8; 10];
        set_bits(&mut buf, 3, 64, (-5i64) as u64);
        assert_eq!(get_signed(&buf, 3, 64), -5);
        set_bits(&mut buf, 7, 5, (-16i64) as u64);
        assert_eq!(get_signed(&buf, 7, 5), -16);
        assert_eq!(get_unsigned(&buf, 7, 5), 16);
        // reads past the end are zero-padded
        assert_eq!(get_unsigned(&[0xff], 4, 8), 0xf0);
    }

    #[test]
    fn overflow_edges() {
        use Overflow::*;
        assert_eq!(check_unsigned(100, 257, 8, Wrap), Some(101));
        assert_eq!(check_unsigned(100, 257, 8, Sat), Some(255));
        assert_eq!(check_unsigned(100, -255, 8, Sat), Some(0));
        assert_eq!(check_unsigned(u64::MAX, 0, 8, Sat), Some(255));
        assert_eq!(check_unsigned(255, 0, 8, Sat), None);
        assert_eq!(check_signed(100, 257, 8, Wrap), Some(101));
        assert_eq!(check_signed(100, 257, 8, Sat), Some(127));
        assert_eq!(check_signed(100, -255, 8, Sat), Some(-128));
        assert_eq!(check_signed(i64::MAX, 1, 64, Wrap), Some(i64::MIN));
        assert_eq!(check_signed(i64::MIN, -1, 64, Sat), Some(i64::MIN));
        assert_eq!(check_signed(-5, 3, 64, Sat), None);
    }

    /// Runs commands in-process to observe the keyspace-change count each one reports.
    struct Harness {
        srv: std::sync::Arc<crate::server::Server>,
        client: crate::server::Client,
    }

    impl Harness {
        fn new() -> Harness {
            let srv = crate::server::Server::new(crate::config::Config::new(), None);
            let info = crate::server::ClientInfo::new(1, "test".into(), "test".into(), -1);
            let client = crate::server::Client::new(std::sync::Arc::new(info), true);
            Harness { srv, client }
        }

        /// Runs one command; returns its reply bytes and how many changes it counted.
        fn run(&mut self, line: &str) -> (String, u64) {
            let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
            let before = self.srv.stats.dirty();
            let mut out = crate::protocol::Reply::new(false);
            crate::commands::dispatch(&self.srv, &mut self.client, &mut out, &args);
            let reply = String::from_utf8_lossy(out.as_bytes()).into_owned();
            (reply, self.srv.stats.dirty() - before)
        }
    }

    #[test]
    fn changes_are_counted_only_when_something_changed() {
        let mut h = Harness::new();
        let dirty = |h: &mut Harness, line: &str| h.run(line).1;
        // creating a key always counts
        assert_eq!(dirty(&mut h, "SETBIT foo 0 0"), 1);
        assert_eq!(dirty(&mut h, "BITFIELD foo2 SET i5 0 0"), 1);
        // no change
        assert_eq!(dirty(&mut h, "SETBIT foo 0 0"), 0);
        assert_eq!(dirty(&mut h, "BITFIELD foo2 SET i5 0 0"), 0);
        assert_eq!(dirty(&mut h, "BITFIELD foo2 GET i5 0"), 0);
        // a change, then none
        assert_eq!(dirty(&mut h, "SETBIT foo 0 1"), 1);
        assert_eq!(dirty(&mut h, "SETBIT foo 0 1"), 0);
        assert_eq!(dirty(&mut h, "SETBIT foo 0 0"), 1);
        assert_eq!(dirty(&mut h, "BITFIELD foo2 SET i5 0 1"), 1);
        assert_eq!(dirty(&mut h, "BITFIELD foo2 SET i5 0 1"), 0);
        // INCRBY changes the value every time here
        assert_eq!(dirty(&mut h, "BITFIELD foo3 INCRBY i5 0 1"), 1);
        assert_eq!(dirty(&mut h, "BITFIELD foo3 INCRBY i5 0 1"), 1);
        // each successful operation counts once
        assert_eq!(
            dirty(&mut h, "BITFIELD foo3 INCRBY i5 0 1 INCRBY i5 0 1 GET i5 0"),
            2
        );
        // growing the string counts even when the bits stay zero
        assert_eq!(dirty(&mut h, "SETBIT foo 90 0"), 1);
        assert_eq!(dirty(&mut h, "BITFIELD foo2 SET i5 90 0"), 1);
        // a refused write creates the key but changes nothing
        assert_eq!(dirty(&mut h, "BITFIELD foo4 OVERFLOW FAIL SET u2 0 9"), 0);
        assert_eq!(h.run("EXISTS foo4").0, ":1\r\n");
        // BITOP counts a store and a removal, not a removal of nothing
        assert_eq!(dirty(&mut h, "BITOP OR dest foo"), 1);
        assert_eq!(dirty(&mut h, "BITOP OR dest nokey"), 1);
        assert_eq!(dirty(&mut h, "BITOP OR dest nokey"), 0);
        // errors change nothing
        assert_eq!(dirty(&mut h, "SETBIT foo -1 1"), 0);
    }

    proptest! {
        #[test]
        fn count_and_find_match_naive(
            s in proptest::collection::vec(any::<u8>(), 1..80),
            a in 0u64..640,
            b in 0u64..640,
        ) {
            let n = s.len() as u64 * 8;
            let (a, b) = (a % n, b % n);
            let (a, b) = (a.min(b), a.max(b));
            let want = (a..=b).filter(|&i| naive_bit(&s, i)).count() as u64;
            prop_assert_eq!(count_bits(&s, a, b), want);
            for bit in [false, true] {
                let want = (a..=b).find(|&i| naive_bit(&s, i) == bit);
                prop_assert_eq!(find_bit(&s, bit, a, b), want);
            }
        }

        #[test]
        fn bitop_matches_naive(
            srcs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..5),
            op in 0..3usize,
        ) {
            let op = [BitOp::And, BitOp::Or, BitOp::Xor][op];
            let maxlen = srcs.iter().map(|s| s.len()).max().unwrap_or(0);
            let mut res = vec![0u8; maxlen];
            res[..srcs[0].len()].copy_from_slice(&srcs[0]);
            for s in &srcs[1..] {
                combine(op, &mut res, s);
            }
            for (j, r) in res.iter().enumerate() {
                let at = |s: &Vec<u8>| s.get(j).copied().unwrap_or(0);
                let want = srcs[1..].iter().fold(at(&srcs[0]), |acc, s| match op {
                    BitOp::And => acc & at(s),
                    BitOp::Or => acc | at(s),
                    _ => acc ^ at(s),
                });
                prop_assert_eq!(*r, want);
            }
        }

        #[test]
        fn overflow_detection_matches_wide_arithmetic(
            bits in 1u32..=64,
            signed in any::<bool>(),
            value in any::<i64>(),
            incr in any::<i64>(),
        ) {
            let signed = signed || bits == 64;
            let (min, max): (i128, i128) = if signed {
                (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
            } else {
                (0, (1i128 << bits) - 1)
            };
            // start from a value that fits, as INCRBY always does
            let span = max - min + 1;
            let v = (value as i128 - min).rem_euclid(span) + min;
            let sum = v + incr as i128;
            let over = sum > max || sum < min;
            let wrapped = (sum - min).rem_euclid(span) + min;
            if signed {
                let r = check_signed(v as i64, incr, bits, Overflow::Wrap);
                prop_assert_eq!(r.is_some(), over);
                prop_assert_eq!(r.unwrap_or(sum as i64) as i128, wrapped);
                let sat = check_signed(v as i64, incr, bits, Overflow::Sat);
                prop_assert_eq!(sat.unwrap_or(sum as i64) as i128, sum.clamp(min, max));
            } else {
                let r = check_unsigned(v as u64, incr, bits, Overflow::Wrap);
                prop_assert_eq!(r.is_some(), over);
                prop_assert_eq!(r.unwrap_or(sum as u64) as i128, wrapped);
                let sat = check_unsigned(v as u64, incr, bits, Overflow::Sat);
                prop_assert_eq!(sat.unwrap_or(sum as u64) as i128, sum.clamp(min, max));
            }
        }
    }
}
