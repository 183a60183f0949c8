//! The `cjson` library scripts expect (lua-cjson's API and error texts): encode,
//! decode, `null`, and the settings functions.

use mlua::{LightUserData, Lua, MultiValue, Table, Value};
use parking_lot::Mutex;
use std::sync::Arc;

struct Settings {
    encode_max_depth: usize,
    decode_max_depth: usize,
    encode_invalid_numbers: bool,
    decode_invalid_numbers: bool,
    sparse_convert: bool,
    sparse_ratio: usize,
    sparse_safe: usize,
    precision: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            encode_max_depth: 1000,
            decode_max_depth: 1000,
            encode_invalid_numbers: false,
            decode_invalid_numbers: true,
            sparse_convert: false,
            sparse_ratio: 2,
            sparse_safe: 10,
            precision: 14,
        }
    }
}

fn err(msg: impl Into<String>) -> mlua::Error {
    mlua::Error::RuntimeError(msg.into())
}

fn null() -> Value {
    Value::LightUserData(LightUserData(std::ptr::null_mut()))
}

/// `%.14g` (or the configured precision), as lua-cjson formats numbers.
fn fmt_number(n: f64, precision: usize) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        return format!("{}", n as i64);
    }
    fmt_g(n, precision)
}

/// C's `%.<p>g`.
pub fn fmt_g(n: f64, p: usize) -> String {
    if n.is_nan() {
        return if n.is_sign_negative() { "-nan" } else { "nan" }.into();
    }
    if n.is_infinite() {
        return if n > 0.0 { "inf" } else { "-inf" }.into();
    }
    if n == 0.0 {
        return if n.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let p = p.max(1);
    let exp = format!("{:.*e}", p - 1, n);
    let (mant, e) = exp.split_once('e').unwrap_or((&exp, "0"));
    let e: i32 = e.parse().unwrap_or(0);
    if e < -4 || e >= p as i32 {
        let mant = trim_zeros(mant);
        format!("{}e{}{:02}", mant, if e < 0 { '-' } else { '+' }, e.abs())
    } else {
        let decimals = (p as i32 - 1 - e).max(0) as usize;
        trim_zeros(&format!("{:.*}", decimals, n)).to_string()
    }
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

fn escape(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            8 => out.extend_from_slice(b"\\b"),
            12 => out.extend_from_slice(b"\\f"),
            c if c < 0x20 || c == 0x7f => {
                out.extend_from_slice(format!("\\u{c:04x}").as_bytes());
            }
            c => out.push(c),
        }
    }
    out.push(b'"');
}

fn encode_value(v: &Value, out: &mut Vec<u8>, st: &Settings, depth: usize) -> mlua::Result<()> {
    match v {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::LightUserData(p) if p.0.is_null() => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Integer(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Value::Number(n) => {
            if !n.is_finite() && !st.encode_invalid_numbers {
                return Err(err("Cannot serialise number: must not be NaN or Inf"));
            }
            out.extend_from_slice(fmt_number(*n, st.precision).as_bytes());
        }
        Value::String(s) => escape(out, &s.as_bytes()),
        Value::Table(t) => {
            let depth = depth + 1;
            if depth > st.encode_max_depth {
                return Err(err(format!(
                    "Cannot serialise, excessive nesting ({depth})"
                )));
            }
            encode_table(t, out, st, depth)?;
        }
        other => {
            return Err(err(format!(
                "Cannot serialise {}: type not supported",
                other.type_name()
            )))
        }
    }
    Ok(())
}

/// The array length of a table, or None if it must be encoded as an object.
fn array_length(t: &Table, st: &Settings) -> mlua::Result<Option<usize>> {
    let mut max = 0usize;
    let mut items = 0usize;
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair?;
        let idx = match k {
            Value::Integer(i) if i >= 1 => i as usize,
            Value::Number(n) if n >= 1.0 && n.fract() == 0.0 => n as usize,
            _ => return Ok(None),
        };
        max = max.max(idx);
        items += 1;
    }
    if st.sparse_ratio > 0 && max > items * st.sparse_ratio && max > st.sparse_safe {
        if !st.sparse_convert {
            return Err(err("Cannot serialise table: excessively sparse array"));
        }
        return Ok(None);
    }
    Ok(Some(max))
}

fn encode_table(t: &Table, out: &mut Vec<u8>, st: &Settings, depth: usize) -> mlua::Result<()> {
    match array_length(t, st)? {
        Some(n) if n > 0 => {
            out.push(b'[');
            for i in 1..=n {
                if i > 1 {
                    out.push(b',');
                }
                let v: Value = t.raw_get(i)?;
                encode_value(&v, out, st, depth)?;
            }
            out.push(b']');
        }
        _ => {
            out.push(b'{');
            let mut first = true;
            for pair in t.pairs::<Value, Value>() {
                let (k, v) = pair?;
                if !first {
                    out.push(b',');
                }
                first = false;
                match &k {
                    Value::String(s) => escape(out, &s.as_bytes()),
                    Value::Integer(i) => escape(out, i.to_string().as_bytes()),
                    Value::Number(n) => escape(out, fmt_number(*n, st.precision).as_bytes()),
                    _ => {
                        return Err(err(
                            "Cannot serialise table: table key must be a number or string",
                        ))
                    }
                }
                out.push(b':');
                encode_value(&v, out, st, depth)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.pos < self.s.len() && matches!(self.s[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
    }

    /// lua-cjson's "Expected X but found <token> at character N".
    fn fail(&self, what: &str) -> mlua::Error {
        let found = match self.s.get(self.pos) {
            None => "T_END",
            Some(b'{') => "T_OBJ_BEGIN",
            Some(b'}') => "T_OBJ_END",
            Some(b'[') => "T_ARR_BEGIN",
            Some(b']') => "T_ARR_END",
            Some(b'"') => "T_STRING",
            Some(b'-' | b'0'..=b'9') => "T_NUMBER",
            Some(b't' | b'f') => "T_BOOLEAN",
            Some(b'n') => "T_NULL",
            Some(b':') => "T_COLON",
            Some(b',') => "T_COMMA",
            Some(_) => "invalid token",
        };
        err(format!(
            "Expected {what} but found {found} at character {}",
            self.pos + 1
        ))
    }

    fn value(&mut self, lua: &Lua, st: &Settings) -> mlua::Result<Value> {
        self.ws();
        let Some(&c) = self.s.get(self.pos) else {
            return Err(self.fail("value"));
        };
        match c {
            b'{' | b'[' => {
                self.depth += 1;
                if self.depth > st.decode_max_depth {
                    return Err(err(format!(
                        "Found too many nested data structures ({}) at character {}",
                        self.depth,
                        self.pos + 1
                    )));
                }
                let v = if c == b'{' {
                    self.object(lua, st)?
                } else {
                    self.array(lua, st)?
                };
                self.depth -= 1;
                Ok(v)
            }
            b'"' => Ok(Value::String(lua.create_string(self.string()?)?)),
            b't' if self.s[self.pos..].starts_with(b"true") => {
                self.pos += 4;
                Ok(Value::Boolean(true))
            }
            b'f' if self.s[self.pos..].starts_with(b"false") => {
                self.pos += 5;
                Ok(Value::Boolean(false))
            }
            b'n' if self.s[self.pos..].starts_with(b"null") => {
                self.pos += 4;
                Ok(null())
            }
            _ => self.number(st),
        }
    }

    fn number(&mut self, st: &Settings) -> mlua::Result<Value> {
        let start = self.pos;
        while self.pos < self.s.len()
            && matches!(self.s[self.pos], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E' | b'x' | b'X' | b'a'..=b'd' | b'f' | b'A'..=b'D' | b'F' | b'i' | b'n' | b'I' | b'N')
        {
            self.pos += 1;
        }
        let txt = std::str::from_utf8(&self.s[start..self.pos]).unwrap_or("");
        let lower = txt.to_ascii_lowercase();
        let v = match lower.as_str() {
            "nan" | "-nan" | "inf" | "-inf" | "infinity" | "-infinity"
                if st.decode_invalid_numbers =>
            {
                lower.trim_start_matches('-').parse::<f64>().ok().map(|x| {
                    if lower.starts_with('-') {
                        -x
                    } else {
                        x
                    }
                })
            }
            _ => txt.parse::<f64>().ok().filter(|_| !txt.is_empty()),
        };
        match v {
            Some(n) => Ok(Value::Number(n)),
            None => {
                self.pos = start;
                Err(self.fail("value"))
            }
        }
    }

    fn string(&mut self) -> mlua::Result<Vec<u8>> {
        let start = self.pos;
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let Some(&c) = self.s.get(self.pos) else {
                self.pos = start;
                return Err(err(format!(
                    "Expected string but found unexpected end of string at character {}",
                    start + 1
                )));
            };
            self.pos += 1;
            match c {
                b'"' => return Ok(out),
                b'\\' => {
                    let Some(&e) = self.s.get(self.pos) else {
                        return Err(err(format!(
                            "Expected string but found invalid escape code at character {}",
                            start + 1
                        )));
                    };
                    self.pos += 1;
                    match e {
                        b'"' => out.push(b'"'),
                        b'\\' => out.push(b'\\'),
                        b'/' => out.push(b'/'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let mut cp = self.hex4().ok_or_else(|| {
                                err(format!(
                                    "Expected string but found invalid unicode escape code at character {}",
                                    start + 1
                                ))
                            })?;
                            if (0xD800..0xDC00).contains(&cp)
                                && self.s[self.pos..].starts_with(b"\\u")
                            {
                                self.pos += 2;
                                if let Some(lo) = self.hex4() {
                                    cp = 0x10000
                                        + ((cp - 0xD800) << 10)
                                        + (lo.wrapping_sub(0xDC00) & 0x3FF);
                                }
                            }
                            let ch = char::from_u32(cp).unwrap_or('\u{FFFD}');
                            let mut b = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
                        }
                        _ => {
                            return Err(err(format!(
                                "Expected string but found invalid escape code at character {}",
                                start + 1
                            )))
                        }
                    }
                }
                c => out.push(c),
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.s.get(self.pos..self.pos + 4)?;
        let v = u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()?;
        self.pos += 4;
        Some(v)
    }

    fn array(&mut self, lua: &Lua, st: &Settings) -> mlua::Result<Value> {
        self.pos += 1;
        let t = lua.create_table()?;
        self.ws();
        if self.s.get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Ok(Value::Table(t));
        }
        let mut i = 1;
        loop {
            let v = self.value(lua, st)?;
            t.raw_set(i, v)?;
            i += 1;
            self.ws();
            match self.s.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Table(t));
                }
                _ => return Err(self.fail("comma or array end")),
            }
        }
    }

    fn object(&mut self, lua: &Lua, st: &Settings) -> mlua::Result<Value> {
        self.pos += 1;
        let t = lua.create_table()?;
        self.ws();
        if self.s.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(Value::Table(t));
        }
        loop {
            self.ws();
            if self.s.get(self.pos) != Some(&b'"') {
                return Err(self.fail("object key string"));
            }
            let k = self.string()?;
            self.ws();
            if self.s.get(self.pos) != Some(&b':') {
                return Err(self.fail("colon"));
            }
            self.pos += 1;
            let v = self.value(lua, st)?;
            t.raw_set(lua.create_string(&k)?, v)?;
            self.ws();
            match self.s.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Table(t));
                }
                _ => return Err(self.fail("comma or object end")),
            }
        }
    }
}

fn setting_fn(
    lua: &Lua,
    st: &Arc<Mutex<Settings>>,
    apply: fn(&mut Settings, &MultiValue) -> mlua::Result<Value>,
) -> mlua::Result<mlua::Function> {
    let st = st.clone();
    lua.create_function(move |_, args: MultiValue| apply(&mut st.lock(), &args))
}

fn int_of(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Integer(i) => Some(*i),
        Value::Number(n) => Some(*n as i64),
        _ => None,
    }
}

fn bool_of(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Boolean(b) => Some(*b),
        Value::String(s) => match s.to_string_lossy().as_str() {
            "on" => Some(true),
            "off" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let st = Arc::new(Mutex::new(Settings::default()));
    let t = lua.create_table()?;
    let s1 = st.clone();
    t.raw_set(
        "encode",
        lua.create_function(move |lua, args: MultiValue| {
            if args.len() != 1 {
                return Err(err("bad argument #1 to 'encode' (expected 1 argument)"));
            }
            let mut out = Vec::new();
            encode_value(&args[0], &mut out, &s1.lock(), 0)?;
            lua.create_string(&out)
        })?,
    )?;
    let s2 = st.clone();
    t.raw_set(
        "decode",
        lua.create_function(move |lua, args: MultiValue| {
            let s = match args.front() {
                Some(Value::String(s)) => s.as_bytes().to_vec(),
                _ => return Err(err("bad argument #1 to 'decode' (expected 1 argument)")),
            };
            let st = s2.lock();
            let mut p = Parser {
                s: &s,
                pos: 0,
                depth: 0,
            };
            let v = p.value(lua, &st)?;
            p.ws();
            if p.pos < s.len() {
                return Err(p.fail("the end"));
            }
            Ok(v)
        })?,
    )?;
    t.raw_set("null", null())?;
    t.raw_set("_NAME", "cjson")?;
    t.raw_set("_VERSION", "2.1.0")?;
    t.raw_set(
        "encode_keep_buffer",
        setting_fn(lua, &st, |_, a| {
            Ok(Value::Boolean(bool_of(a.front()).unwrap_or(true)))
        })?,
    )?;
    t.raw_set(
        "encode_max_depth",
        setting_fn(lua, &st, |s, a| {
            if let Some(n) = int_of(a.front()) {
                s.encode_max_depth = n.max(1) as usize;
            }
            Ok(Value::Number(s.encode_max_depth as f64))
        })?,
    )?;
    t.raw_set(
        "decode_max_depth",
        setting_fn(lua, &st, |s, a| {
            if let Some(n) = int_of(a.front()) {
                s.decode_max_depth = n.max(1) as usize;
            }
            Ok(Value::Number(s.decode_max_depth as f64))
        })?,
    )?;
    t.raw_set(
        "encode_invalid_numbers",
        setting_fn(lua, &st, |s, a| {
            if let Some(b) = bool_of(a.front()) {
                s.encode_invalid_numbers = b;
            }
            Ok(Value::Boolean(s.encode_invalid_numbers))
        })?,
    )?;
    t.raw_set(
        "decode_invalid_numbers",
        setting_fn(lua, &st, |s, a| {
            if let Some(b) = bool_of(a.front()) {
                s.decode_invalid_numbers = b;
            }
            Ok(Value::Boolean(s.decode_invalid_numbers))
        })?,
    )?;
    t.raw_set(
        "encode_number_precision",
        setting_fn(lua, &st, |s, a| {
            if let Some(n) = int_of(a.front()) {
                if !(1..=14).contains(&n) {
                    return Err(err(
                        "bad argument #1 to 'encode_number_precision' (expected integer between 1 and 14)",
                    ));
                }
                s.precision = n as usize;
            }
            Ok(Value::Number(s.precision as f64))
        })?,
    )?;
    t.raw_set(
        "encode_sparse_array",
        setting_fn(lua, &st, |s, a| {
            if let Some(b) = bool_of(a.front()) {
                s.sparse_convert = b;
            }
            if let Some(n) = int_of(a.get(1)) {
                s.sparse_ratio = n.max(0) as usize;
            }
            if let Some(n) = int_of(a.get(2)) {
                s.sparse_safe = n.max(0) as usize;
            }
            Ok(Value::Boolean(s.sparse_convert))
        })?,
    )?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::fmt_g;

    #[test]
    fn percent_g() {
        assert_eq!(fmt_g(0.0003, 14), "0.0003");
        assert_eq!(fmt_g(1023.2, 14), "1023.2");
        assert_eq!(fmt_g(1e20, 14), "1e+20");
        assert_eq!(fmt_g(0.1, 14), "0.1");
    }
}
