//! Conversions between replies and Lua values, both ways, as Valkey's script_lua.c
//! defines them.
//!
//! Command replies reach a script as the RESP bytes dispatch wrote for the script's
//! client (RESP2 unless the script called `server.setresp(3)`), parsed here:
//! integers become numbers, bulk strings strings, nulls `false` (RESP3 null: nil),
//! arrays tables, status and error replies `{ok=...}` / `{err=...}`, and the RESP3
//! types tables tagged `map`, `set`, `double`, `big_number`, `verbatim_string`.

use crate::protocol::Reply;
use mlua::{ffi, Table, Value};
use std::ffi::c_int;

/// Nesting deeper than this is answered with an error instead of recursing on.
const MAX_DEPTH: usize = 1000;

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

/// Pushes one RESP reply onto the Lua stack of `l` as a Lua value; false (with the
/// stack as it was) if the reply nests deeper than the stack can hold.
///
/// # Safety
/// `l` is a live state. Lua may raise (out of memory) from any push: callers keep
/// no value with a destructor alive across this call, so that its `longjmp` skips
/// nothing that needed dropping.
pub unsafe fn push_resp(l: *mut ffi::lua_State, raw: &[u8]) -> bool {
    let top = ffi::lua_gettop(l);
    let mut pos = 0;
    if push(l, raw, &mut pos, 0) {
        return true;
    }
    ffi::lua_settop(l, top);
    false
}

unsafe fn push_bytes(l: *mut ffi::lua_State, b: &[u8]) {
    ffi::lua_pushlstring(l, b.as_ptr().cast(), b.len());
}

/// `t[key] = v` for the table `t` just below the value `v` on top; pops `v`.
unsafe fn set_field(l: *mut ffi::lua_State, key: &str) {
    push_bytes(l, key.as_bytes());
    ffi::lua_insert(l, -2);
    ffi::lua_rawset(l, -3);
}

/// Replaces the value on top with `{ <tag> = value }`.
unsafe fn tag_top(l: *mut ffi::lua_State, tag: &str) {
    ffi::lua_createtable(l, 0, 1);
    ffi::lua_insert(l, -2);
    set_field(l, tag);
}

unsafe fn push(l: *mut ffi::lua_State, raw: &[u8], pos: &mut usize, depth: usize) -> bool {
    if *pos >= raw.len() {
        ffi::lua_pushnil(l);
        return true;
    }
    // a value, the table holding it, a key and a tag
    if depth > MAX_DEPTH || ffi::lua_checkstack(l, 4) == 0 {
        return false;
    }
    let tag = raw[*pos];
    *pos += 1;
    let text = line(raw, pos);
    match tag {
        b'+' => {
            push_bytes(l, text);
            tag_top(l, "ok");
        }
        // the failed command already counted its error
        b'-' => push_err_table(l, text, true),
        b':' => ffi::lua_pushnumber(l, num(text) as f64),
        b'$' => {
            let n = num(text);
            if n < 0 {
                ffi::lua_pushboolean(l, 0);
            } else {
                push_bytes(l, bulk(raw, pos, n as usize));
            }
        }
        b'*' | b'>' => {
            let n = num(text);
            if n < 0 {
                ffi::lua_pushboolean(l, 0);
                return true;
            }
            let n = n.min(c_int::MAX as i64) as c_int;
            ffi::lua_createtable(l, n.min(1024), 0);
            for i in 1..=n {
                if !push(l, raw, pos, depth + 1) {
                    return false;
                }
                ffi::lua_rawseti_(l, -2, i);
            }
        }
        b'%' | b'~' => {
            let map = tag == b'%';
            let n = num(text).max(0);
            ffi::lua_createtable(l, 0, n.min(1024) as c_int);
            for _ in 0..n {
                if !push(l, raw, pos, depth + 1) {
                    return false;
                }
                if !map {
                    ffi::lua_pushboolean(l, 1);
                } else if !push(l, raw, pos, depth + 1) {
                    return false;
                }
                // nil (RESP3 null) and NaN cannot be keys
                let k = ffi::lua_type(l, -2);
                if k == ffi::LUA_TNIL
                    || (k == ffi::LUA_TNUMBER && ffi::lua_tonumber(l, -2).is_nan())
                {
                    ffi::lua_settop(l, -3);
                } else {
                    ffi::lua_rawset(l, -3);
                }
            }
            tag_top(l, if map { "map" } else { "set" });
        }
        b'|' => {
            // attributes are not shown to scripts: skip them, then read the reply
            let n = num(text).max(0);
            for _ in 0..2 * n {
                if !push(l, raw, pos, depth + 1) {
                    return false;
                }
                ffi::lua_settop(l, -2);
            }
            return push(l, raw, pos, depth);
        }
        b'_' => ffi::lua_pushnil(l),
        b'#' => ffi::lua_pushboolean(l, (text == b"t") as c_int),
        b',' => {
            let d = match text {
                b"inf" => f64::INFINITY,
                b"-inf" => f64::NEG_INFINITY,
                b"nan" | b"-nan" => f64::NAN,
                x => std::str::from_utf8(x)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0.0),
            };
            ffi::lua_pushnumber(l, d);
            tag_top(l, "double");
        }
        b'(' => {
            push_bytes(l, text);
            tag_top(l, "big_number");
        }
        b'=' => {
            let n = num(text).max(0) as usize;
            let b = bulk(raw, pos, n);
            let (fmt, s) = if b.len() >= 4 {
                (&b[..3], &b[4..])
            } else {
                (&b"txt"[..], b)
            };
            ffi::lua_createtable(l, 0, 2);
            push_bytes(l, fmt);
            set_field(l, "format");
            push_bytes(l, s);
            set_field(l, "string");
            tag_top(l, "verbatim_string");
        }
        _ => ffi::lua_pushnil(l),
    }
    true
}

/// Pushes Valkey's error table `{ err = msg }`, flagged when the error is already in
/// the error statistics.
///
/// # Safety
/// As [`push_resp`], with 3 free stack slots.
pub unsafe fn push_err_table(l: *mut ffi::lua_State, msg: &[u8], counted: bool) {
    ffi::lua_createtable(l, 0, 2);
    push_bytes(l, msg);
    set_field(l, "err");
    if counted {
        ffi::lua_pushboolean(l, 1);
        set_field(l, "ignore_error_stats_update");
    }
}

/// The string at `idx`, if it is one (numbers are not converted).
unsafe fn stack_str<'a>(l: *mut ffi::lua_State, idx: c_int) -> Option<&'a [u8]> {
    if ffi::lua_type(l, idx) != ffi::LUA_TSTRING {
        return None;
    }
    let mut len = 0usize;
    let p = ffi::lua_tolstring(l, idx, &mut len);
    (!p.is_null()).then(|| std::slice::from_raw_parts(p.cast::<u8>(), len))
}

/// Pushes `t[key]` for the table `t` at `idx` (absolute); returns its type.
unsafe fn raw_field(l: *mut ffi::lua_State, idx: c_int, key: &str) -> c_int {
    push_bytes(l, key.as_bytes());
    ffi::lua_rawget_(l, idx);
    ffi::lua_type(l, -1)
}

/// True if the table on top of the stack is an error table (`{err = "..."}`): the
/// script's reply is then its error.
///
/// # Safety
/// `l` is a live state with a table on top and 2 free stack slots.
pub unsafe fn is_err_table(l: *mut ffi::lua_State) -> bool {
    let t = ffi::lua_gettop(l);
    let is = raw_field(l, t, "err") == ffi::LUA_TSTRING;
    ffi::lua_settop(l, t);
    is
}

/// Writes the Lua value on top of the stack as a reply, as [`lua_to_reply`] does for
/// an `mlua` value, straight from the stack; leaves the stack as it was.
///
/// # Safety
/// `l` is a live state with a value on top. As for [`push_resp`], Lua may raise from
/// the pushes of key names; nothing owned is held across them.
pub unsafe fn top_to_reply(
    l: *mut ffi::lua_State,
    out: &mut Reply,
    script_resp3: bool,
    depth: usize,
) {
    let top = ffi::lua_gettop(l);
    if depth > MAX_DEPTH || ffi::lua_checkstack(l, 4) == 0 {
        out.error("ERR reached lua stack limit");
        return;
    }
    match ffi::lua_type(l, top) {
        ffi::LUA_TSTRING => out.bulk(stack_str(l, top).unwrap_or_default()),
        ffi::LUA_TBOOLEAN => {
            let b = ffi::lua_toboolean(l, top) != 0;
            if script_resp3 {
                out.boolean(b);
            } else if b {
                out.int(1);
            } else {
                out.null();
            }
        }
        // numbers are truncated to integers, as C's cast does
        ffi::LUA_TNUMBER => out.int(ffi::lua_tonumber(l, top) as i64),
        ffi::LUA_TTABLE => table_top_to_reply(l, top, out, script_resp3, depth),
        _ => out.null(),
    }
    ffi::lua_settop(l, top);
}

unsafe fn table_top_to_reply(
    l: *mut ffi::lua_State,
    t: c_int,
    out: &mut Reply,
    script_resp3: bool,
    depth: usize,
) {
    if raw_field(l, t, "err") == ffi::LUA_TSTRING {
        out.error(&String::from_utf8_lossy(
            stack_str(l, -1).unwrap_or_default(),
        ));
        return;
    }
    ffi::lua_settop(l, t);
    if raw_field(l, t, "ok") == ffi::LUA_TSTRING {
        out.simple(&String::from_utf8_lossy(
            stack_str(l, -1).unwrap_or_default(),
        ));
        return;
    }
    ffi::lua_settop(l, t);
    if raw_field(l, t, "double") == ffi::LUA_TNUMBER {
        out.double(ffi::lua_tonumber(l, -1));
        return;
    }
    ffi::lua_settop(l, t);
    if raw_field(l, t, "big_number") == ffi::LUA_TSTRING {
        let s = stack_str(l, -1).unwrap_or_default();
        let b: Vec<u8> = s
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
    ffi::lua_settop(l, t);
    if raw_field(l, t, "verbatim_string") == ffi::LUA_TTABLE {
        let vt = ffi::lua_gettop(l);
        let fmt_ok = raw_field(l, vt, "format") == ffi::LUA_TSTRING;
        let str_ok = raw_field(l, vt, "string") == ffi::LUA_TSTRING;
        if fmt_ok && str_ok {
            let f = stack_str(l, -2).unwrap_or_default();
            let s = stack_str(l, -1).unwrap_or_default();
            if out.resp3() {
                let mut fmt3 = [b' '; 3];
                for (i, c) in f.iter().take(3).enumerate() {
                    fmt3[i] = *c;
                }
                out.raw(format!("={}\r\n", s.len() + 4).as_bytes());
                out.raw(&fmt3);
                out.raw(b":");
                out.raw(s);
                out.raw(b"\r\n");
            } else {
                out.bulk(s);
            }
            return;
        }
    }
    ffi::lua_settop(l, t);
    for (tag, map) in [("map", true), ("set", false)] {
        if raw_field(l, t, tag) == ffi::LUA_TTABLE {
            let m = ffi::lua_gettop(l);
            let mut n = 0usize;
            ffi::lua_pushnil(l);
            while ffi::lua_next(l, m) != 0 {
                n += 1;
                ffi::lua_settop(l, -2);
            }
            if map {
                out.map(n);
            } else {
                out.set(n);
            }
            ffi::lua_pushnil(l);
            while ffi::lua_next(l, m) != 0 {
                // [key, value]: each conversion leaves the stack as it found it
                if map {
                    ffi::lua_pushvalue(l, -2);
                    top_to_reply(l, out, script_resp3, depth + 1);
                    ffi::lua_settop(l, -2);
                    top_to_reply(l, out, script_resp3, depth + 1);
                    ffi::lua_settop(l, -2);
                } else {
                    ffi::lua_settop(l, -2);
                    top_to_reply(l, out, script_resp3, depth + 1);
                }
                // the key stays for lua_next
            }
            return;
        }
        ffi::lua_settop(l, t);
    }
    // an array, up to the first nil
    let mut n: c_int = 0;
    loop {
        ffi::lua_rawgeti_(l, t, n + 1);
        let nil = ffi::lua_type(l, -1) == ffi::LUA_TNIL;
        ffi::lua_settop(l, -2);
        if nil || n == c_int::MAX {
            break;
        }
        n += 1;
    }
    out.array(n as usize);
    for i in 1..=n {
        ffi::lua_rawgeti_(l, t, i);
        top_to_reply(l, out, script_resp3, depth + 1);
        ffi::lua_settop(l, -2);
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
