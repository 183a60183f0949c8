//! Conversions between replies and Lua values, both ways, as Valkey's script_lua.c
//! defines them.
//!
//! Command replies reach a script as the RESP bytes dispatch wrote for the script's
//! client (RESP2 unless the script called `server.setresp(3)`), parsed here:
//! integers become numbers, bulk strings strings, nulls `false` (RESP3 null: nil),
//! arrays tables, status and error replies `{ok=...}` / `{err=...}`, and the RESP3
//! types tables tagged `map`, `set`, `double`, `big_number`, `verbatim_string`.

use crate::protocol::Reply;
use mlua::{Lua, Table, Value};

/// Nesting deeper than this is answered with an error instead of recursing on.
const MAX_DEPTH: usize = 1000;

/// Parses one RESP reply into a Lua value.
pub fn resp_to_lua(lua: &Lua, raw: &[u8]) -> mlua::Result<Value> {
    let mut pos = 0;
    parse(lua, raw, &mut pos, 0)
}

fn line<'a>(raw: &'a [u8], pos: &mut usize) -> &'a [u8] {
    let start = *pos;
    let end = raw[start..]
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|i| start + i)
        .unwrap_or(raw.len());
    *pos = (end + 2).min(raw.len());
    &raw[start..end]
}

fn num(b: &[u8]) -> i64 {
    std::str::from_utf8(b)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn bulk<'a>(raw: &'a [u8], pos: &mut usize, len: usize) -> &'a [u8] {
    let start = (*pos).min(raw.len());
    let end = (start + len).min(raw.len());
    *pos = (end + 2).min(raw.len());
    &raw[start..end]
}

fn tagged(lua: &Lua, tag: &str, v: impl mlua::IntoLua) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    t.raw_set(tag, v)?;
    Ok(Value::Table(t))
}

fn parse(lua: &Lua, raw: &[u8], pos: &mut usize, depth: usize) -> mlua::Result<Value> {
    if *pos >= raw.len() {
        return Ok(Value::Nil);
    }
    if depth > MAX_DEPTH {
        return Err(mlua::Error::RuntimeError("reached lua stack limit".into()));
    }
    let tag = raw[*pos];
    *pos += 1;
    let l = line(raw, pos);
    match tag {
        b'+' => tagged(lua, "ok", lua.create_string(l)?),
        b'-' => {
            // the failed command already counted its error
            let t = lua.create_table()?;
            t.raw_set("err", lua.create_string(l)?)?;
            t.raw_set("ignore_error_stats_update", true)?;
            Ok(Value::Table(t))
        }
        b':' => Ok(Value::Number(num(l) as f64)),
        b'$' => {
            let n = num(l);
            if n < 0 {
                return Ok(Value::Boolean(false));
            }
            Ok(Value::String(
                lua.create_string(bulk(raw, pos, n as usize))?,
            ))
        }
        b'*' | b'>' => {
            let n = num(l);
            if n < 0 {
                return Ok(Value::Boolean(false));
            }
            let t = lua.create_table_with_capacity(n.min(1024) as usize, 0)?;
            for i in 0..n as usize {
                let v = parse(lua, raw, pos, depth + 1)?;
                t.raw_set(i + 1, v)?;
            }
            Ok(Value::Table(t))
        }
        b'%' => {
            let n = num(l).max(0) as usize;
            let m = lua.create_table()?;
            for _ in 0..n {
                let k = parse(lua, raw, pos, depth + 1)?;
                let v = parse(lua, raw, pos, depth + 1)?;
                if !matches!(k, Value::Nil) {
                    m.raw_set(k, v)?;
                }
            }
            tagged(lua, "map", m)
        }
        b'~' => {
            let n = num(l).max(0) as usize;
            let s = lua.create_table()?;
            for _ in 0..n {
                let k = parse(lua, raw, pos, depth + 1)?;
                if !matches!(k, Value::Nil) {
                    s.raw_set(k, true)?;
                }
            }
            tagged(lua, "set", s)
        }
        b'|' => {
            // attributes are not shown to scripts: skip them, then read the reply
            let n = num(l).max(0) as usize;
            for _ in 0..2 * n {
                parse(lua, raw, pos, depth + 1)?;
            }
            parse(lua, raw, pos, depth)
        }
        b'_' => Ok(Value::Nil),
        b'#' => Ok(Value::Boolean(l == b"t")),
        b',' => {
            let s = String::from_utf8_lossy(l);
            let d = match s.as_ref() {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                "nan" | "-nan" => f64::NAN,
                x => x.parse().unwrap_or(0.0),
            };
            tagged(lua, "double", d)
        }
        b'(' => tagged(lua, "big_number", lua.create_string(l)?),
        b'=' => {
            let n = num(l).max(0) as usize;
            let b = bulk(raw, pos, n);
            let (fmt, s) = if b.len() >= 4 {
                (&b[..3], &b[4..])
            } else {
                (&b"txt"[..], b)
            };
            let t = lua.create_table()?;
            t.raw_set("format", lua.create_string(fmt)?)?;
            t.raw_set("string", lua.create_string(s)?)?;
            tagged(lua, "verbatim_string", t)
        }
        _ => Ok(Value::Nil),
    }
}

fn table_str(t: &Table, k: &str) -> Option<mlua::LuaString> {
    match t.raw_get::<Value>(k) {
        Ok(Value::String(s)) => Some(s),
        _ => None,
    }
}

/// Writes a script's return value as a reply. `script_resp3` is the protocol the
/// script chose with `server.setresp` (it decides how booleans are sent).
pub fn lua_to_reply(v: &Value, out: &mut Reply, script_resp3: bool, depth: usize) {
    if depth > MAX_DEPTH {
        out.error("ERR reached lua stack limit");
        return;
    }
    match v {
        Value::String(s) => out.bulk(&s.as_bytes()),
        Value::Boolean(b) => {
            if script_resp3 {
                out.boolean(*b);
            } else if *b {
                out.int(1);
            } else {
                out.null();
            }
        }
        Value::Integer(i) => out.int(*i),
        // numbers are truncated to integers, as C's cast does
        Value::Number(n) => out.int(*n as i64),
        Value::Table(t) => table_to_reply(t, out, script_resp3, depth),
        _ => out.null(),
    }
}

fn table_to_reply(t: &Table, out: &mut Reply, script_resp3: bool, depth: usize) {
    if let Some(e) = table_str(t, "err") {
        out.error(&e.to_string_lossy());
        return;
    }
    if let Some(s) = table_str(t, "ok") {
        out.simple(&s.to_string_lossy());
        return;
    }
    match t.raw_get::<Value>("double") {
        Ok(Value::Number(d)) => {
            out.double(d);
            return;
        }
        Ok(Value::Integer(i)) => {
            out.double(i as f64);
            return;
        }
        _ => {}
    }
    if let Some(s) = table_str(t, "big_number") {
        let b: Vec<u8> = s
            .as_bytes()
            .iter()
            .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c })
            .collect();
        if out.resp3() {
            out.raw(b"(");
            out.raw(&b);
            out.raw(b"\r\n");
        } else {
            out.bulk(&b);
        }
        return;
    }
    if let Ok(Value::Table(vt)) = t.raw_get::<Value>("verbatim_string") {
        if let (Some(fmt), Some(s)) = (table_str(&vt, "format"), table_str(&vt, "string")) {
            let s = s.as_bytes();
            if out.resp3() {
                let f = fmt.as_bytes();
                let mut fmt3 = [b' '; 3];
                for (i, c) in f.iter().take(3).enumerate() {
                    fmt3[i] = *c;
                }
                out.raw(format!("={}\r\n", s.len() + 4).as_bytes());
                out.raw(&fmt3);
                out.raw(b":");
                out.raw(&s);
                out.raw(b"\r\n");
            } else {
                out.bulk(&s);
            }
            return;
        }
    }
    // Entries are counted first and converted in a second pass: a value that refers
    // to a Lua object pins a slot of the interpreter's limited reference stack, so
    // they must not all be held at once.
    if let Ok(Value::Table(m)) = t.raw_get::<Value>("map") {
        let n = m.pairs::<Value, Value>().count();
        out.map(n);
        for (k, v) in m.pairs::<Value, Value>().flatten() {
            lua_to_reply(&k, out, script_resp3, depth + 1);
            lua_to_reply(&v, out, script_resp3, depth + 1);
        }
        return;
    }
    if let Ok(Value::Table(set)) = t.raw_get::<Value>("set") {
        let n = set.pairs::<Value, Value>().count();
        out.set(n);
        for (k, _) in set.pairs::<Value, Value>().flatten() {
            lua_to_reply(&k, out, script_resp3, depth + 1);
        }
        return;
    }
    // an array, up to the first nil
    let mut n = 0usize;
    while !matches!(t.raw_get::<Value>(n + 1), Ok(Value::Nil) | Err(_)) {
        n += 1;
    }
    out.array(n);
    for i in 1..=n {
        let v = t.raw_get::<Value>(i).unwrap_or(Value::Nil);
        lua_to_reply(&v, out, script_resp3, depth + 1);
    }
}
