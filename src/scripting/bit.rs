//! The `bit` library scripts expect (LuaBitOp's API): 32-bit operations on Lua
//! numbers, results as signed 32-bit values.

use mlua::{Lua, MultiValue, Table, Value};

/// A Lua number as LuaBitOp sees it: rounded, then reduced modulo 2^32. Adding
/// 2^52 + 2^51 puts the integer part in the low mantissa bits, as LuaBitOp does.
pub fn tobit(n: f64) -> i32 {
    (n + 6_755_399_441_055_744.0).to_bits() as u32 as i32
}

fn num(v: &Value, i: usize, fname: &str) -> mlua::Result<f64> {
    match v {
        Value::Integer(x) => Ok(*x as f64),
        Value::Number(x) => Ok(*x),
        Value::String(s) => std::str::from_utf8(&s.as_bytes())
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .ok_or_else(|| bad_arg(i, fname, "string")),
        other => Err(bad_arg(i, fname, other.type_name())),
    }
}

fn bad_arg(i: usize, fname: &str, got: &str) -> mlua::Error {
    mlua::Error::RuntimeError(format!(
        "bad argument #{} to '{fname}' (number expected, got {got})",
        i + 1
    ))
}

fn arg(args: &MultiValue, i: usize, fname: &str) -> mlua::Result<i32> {
    match args.get(i) {
        Some(v) => Ok(tobit(num(v, i, fname)?)),
        None => Err(bad_arg(i, fname, "no value")),
    }
}

fn fold(lua: &Lua, t: &Table, name: &'static str, f: fn(i32, i32) -> i32) -> mlua::Result<()> {
    t.raw_set(
        name,
        lua.create_function(move |_, args: MultiValue| {
            let mut acc = arg(&args, 0, name)?;
            for i in 1..args.len() {
                acc = f(acc, arg(&args, i, name)?);
            }
            Ok(acc as f64)
        })?,
    )
}

fn shift(lua: &Lua, t: &Table, name: &'static str, f: fn(i32, u32) -> i32) -> mlua::Result<()> {
    t.raw_set(
        name,
        lua.create_function(move |_, args: MultiValue| {
            let x = arg(&args, 0, name)?;
            let n = (arg(&args, 1, name)? & 31) as u32;
            Ok(f(x, n) as f64)
        })?,
    )
}

pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "tobit",
        lua.create_function(|_, args: MultiValue| Ok(arg(&args, 0, "tobit")? as f64))?,
    )?;
    t.raw_set(
        "bnot",
        lua.create_function(|_, args: MultiValue| Ok(!arg(&args, 0, "bnot")? as f64))?,
    )?;
    t.raw_set(
        "bswap",
        lua.create_function(|_, args: MultiValue| Ok(arg(&args, 0, "bswap")?.swap_bytes() as f64))?,
    )?;
    fold(lua, &t, "band", |a, b| a & b)?;
    fold(lua, &t, "bor", |a, b| a | b)?;
    fold(lua, &t, "bxor", |a, b| a ^ b)?;
    shift(lua, &t, "lshift", |x, n| ((x as u32) << n) as i32)?;
    shift(lua, &t, "rshift", |x, n| ((x as u32) >> n) as i32)?;
    shift(lua, &t, "arshift", |x, n| x >> n)?;
    shift(lua, &t, "rol", |x, n| (x as u32).rotate_left(n) as i32)?;
    shift(lua, &t, "ror", |x, n| (x as u32).rotate_right(n) as i32)?;
    t.raw_set(
        "tohex",
        lua.create_function(|_, args: MultiValue| {
            let x = arg(&args, 0, "tohex")? as u32;
            // the count is taken as a wide integer so that -2^31 cannot overflow
            let mut n: i64 = match args.get(1) {
                Some(Value::Nil) | None => 8,
                Some(v) => tobit(num(v, 1, "tohex")?) as i64,
            };
            let upper = n < 0;
            if upper {
                n = -n;
            }
            let n = n.min(8) as usize;
            let s = if upper {
                format!("{x:08X}")
            } else {
                format!("{x:08x}")
            };
            Ok(s[8 - n..].to_string())
        })?,
    )?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tobit_wraps_like_luabitop() {
        assert_eq!(tobit(1.0), 1);
        assert_eq!(tobit(4294967295.0), -1);
        assert_eq!(tobit(4294967296.0), 0);
        assert_eq!(tobit(-1.0), -1);
        assert_eq!(tobit(2147483648.0), i32::MIN);
    }
}
