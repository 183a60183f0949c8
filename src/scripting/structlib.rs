//! The `struct` library scripts expect (Roberto Ierusalimschy's lua-struct API):
//! `struct.pack(fmt, ...)`, `struct.unpack(fmt, s [, pos])`, `struct.size(fmt)`.
//!
//! Format: `<` `>` `=` byte order, `!n` alignment, `x` padding, `b B h H l L T`
//! integers of 1, 2, 8, 8 bytes, `i[n] I[n]` integers of n bytes (default 4), `f d`
//! floats, `s` zero-terminated string, `c[n]` fixed string (`c0`: the length is the
//! previous value), spaces ignored.

use mlua::{Lua, MultiValue, Table, Value};

fn err(msg: impl Into<String>) -> mlua::Error {
    mlua::Error::RuntimeError(msg.into())
}

/// One parsed option of a format string.
#[derive(Clone, Copy)]
enum Opt {
    Pad,
    Int {
        size: usize,
        signed: bool,
    },
    Float,
    Double,
    Zstr,
    Chars(usize),
    /// A byte order or alignment change: nothing to read or write.
    Ctl,
}

struct Format<'a> {
    f: &'a [u8],
    pos: usize,
    little: bool,
    align: usize,
}

impl<'a> Format<'a> {
    fn new(f: &'a [u8]) -> Self {
        Format {
            f,
            pos: 0,
            little: cfg!(target_endian = "little"),
            align: 1,
        }
    }

    fn number(&mut self, default: usize) -> usize {
        let start = self.pos;
        while self.pos < self.f.len() && self.f[self.pos].is_ascii_digit() {
            self.pos += 1;
        }
        std::str::from_utf8(&self.f[start..self.pos])
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default)
    }

    fn next(&mut self) -> Option<mlua::Result<Opt>> {
        let c = *self.f.get(self.pos)?;
        self.pos += 1;
        Some(Ok(match c {
            b' ' => Opt::Ctl,
            b'<' => {
                self.little = true;
                Opt::Ctl
            }
            b'>' => {
                self.little = false;
                Opt::Ctl
            }
            b'=' => {
                self.little = cfg!(target_endian = "little");
                Opt::Ctl
            }
            b'!' => {
                let a = self.number(8);
                if !a.is_power_of_two() {
                    return Some(Err(err(format!("alignment {a} is not a power of 2"))));
                }
                self.align = a;
                Opt::Ctl
            }
            b'x' => Opt::Pad,
            b'b' => Opt::Int {
                size: 1,
                signed: true,
            },
            b'B' => Opt::Int {
                size: 1,
                signed: false,
            },
            b'h' => Opt::Int {
                size: 2,
                signed: true,
            },
            b'H' => Opt::Int {
                size: 2,
                signed: false,
            },
            b'l' => Opt::Int {
                size: 8,
                signed: true,
            },
            b'L' | b'T' => Opt::Int {
                size: 8,
                signed: false,
            },
            b'i' | b'I' => {
                let size = self.number(4);
                if !(1..=8).contains(&size) {
                    return Some(Err(err(format!(
                        "integral size {size} is larger than limit of 8"
                    ))));
                }
                Opt::Int {
                    size,
                    signed: c == b'i',
                }
            }
            b'f' => Opt::Float,
            b'd' => Opt::Double,
            b's' => Opt::Zstr,
            b'c' => Opt::Chars(self.number(1)),
            other => {
                return Some(Err(err(format!(
                    "invalid format option '{}'",
                    other as char
                ))))
            }
        }))
    }

    /// Padding needed before an item of `size` bytes at offset `len`.
    fn pad(&self, len: usize, size: usize) -> usize {
        let a = size.min(self.align);
        if a <= 1 {
            return 0;
        }
        (a - (len & (a - 1))) & (a - 1)
    }
}

fn num(v: Option<&Value>, i: usize) -> mlua::Result<f64> {
    match v {
        Some(Value::Integer(x)) => Ok(*x as f64),
        Some(Value::Number(x)) => Ok(*x),
        Some(Value::String(s)) => std::str::from_utf8(&s.as_bytes())
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| {
                err(format!(
                    "bad argument #{i} to 'pack' (number expected, got string)"
                ))
            }),
        other => Err(err(format!(
            "bad argument #{i} to 'pack' (number expected, got {})",
            other.map(|v| v.type_name()).unwrap_or("no value")
        ))),
    }
}

fn put_int(out: &mut Vec<u8>, v: i64, size: usize, little: bool) {
    let b = v.to_le_bytes();
    if little {
        out.extend_from_slice(&b[..size]);
    } else {
        out.extend(b[..size].iter().rev());
    }
}

fn pack(lua: &Lua, args: MultiValue) -> mlua::Result<mlua::LuaString> {
    let fmt = match args.front() {
        Some(Value::String(s)) => s.as_bytes().to_vec(),
        _ => return Err(err("bad argument #1 to 'pack' (string expected)")),
    };
    let mut f = Format::new(&fmt);
    let mut out = Vec::new();
    let mut arg = 1usize;
    while let Some(opt) = f.next() {
        let opt = opt?;
        match opt {
            Opt::Ctl => {}
            Opt::Pad => out.push(0),
            Opt::Int { size, signed: _ } => {
                let v = num(args.get(arg), arg + 1)?;
                arg += 1;
                out.resize(out.len() + f.pad(out.len(), size), 0);
                let iv = if v < 0.0 { v as i64 } else { v as u64 as i64 };
                put_int(&mut out, iv, size, f.little);
            }
            Opt::Float => {
                let v = num(args.get(arg), arg + 1)? as f32;
                arg += 1;
                out.resize(out.len() + f.pad(out.len(), 4), 0);
                out.extend(if f.little {
                    v.to_le_bytes()
                } else {
                    v.to_be_bytes()
                });
            }
            Opt::Double => {
                let v = num(args.get(arg), arg + 1)?;
                arg += 1;
                out.resize(out.len() + f.pad(out.len(), 8), 0);
                out.extend(if f.little {
                    v.to_le_bytes()
                } else {
                    v.to_be_bytes()
                });
            }
            Opt::Zstr | Opt::Chars(_) => {
                let s = match args.get(arg) {
                    Some(Value::String(s)) => s.as_bytes().to_vec(),
                    Some(v @ (Value::Integer(_) | Value::Number(_))) => {
                        num(Some(v), arg + 1)?.to_string().into_bytes()
                    }
                    _ => {
                        return Err(err(format!(
                            "bad argument #{} to 'pack' (string expected)",
                            arg + 1
                        )))
                    }
                };
                arg += 1;
                match opt {
                    Opt::Zstr => {
                        out.extend_from_slice(&s);
                        out.push(0);
                    }
                    Opt::Chars(n) => {
                        let n = if n == 0 { s.len() } else { n };
                        if s.len() < n {
                            return Err(err(format!(
                                "bad argument #{} to 'pack' (string too short)",
                                arg
                            )));
                        }
                        out.extend_from_slice(&s[..n]);
                    }
                    _ => {}
                }
            }
        }
    }
    lua.create_string(&out)
}

fn unpack(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    let (fmt, data) = match (args.front(), args.get(1)) {
        (Some(Value::String(f)), Some(Value::String(d))) => {
            (f.as_bytes().to_vec(), d.as_bytes().to_vec())
        }
        _ => return Err(err("bad argument to 'unpack' (string expected)")),
    };
    let mut pos = match args.get(2) {
        Some(v @ (Value::Integer(_) | Value::Number(_))) => {
            let p = num(Some(v), 3)? as i64;
            if p < 1 {
                return Err(err(
                    "bad argument #3 to 'unpack' (offset must be 1 or greater)",
                ));
            }
            (p - 1) as usize
        }
        _ => 0,
    };
    let mut f = Format::new(&fmt);
    let mut out = MultiValue::new();
    let mut last = 0f64;
    let short = || err("bad argument #2 to 'unpack' (data string too short)");
    while let Some(opt) = f.next() {
        let opt = opt?;
        match opt {
            Opt::Ctl => {}
            Opt::Pad => pos += 1,
            Opt::Int { size, signed } => {
                pos += f.pad(pos, size);
                let b = data.get(pos..pos + size).ok_or_else(short)?;
                let mut v: u64 = 0;
                for i in 0..size {
                    let byte = if f.little { b[size - 1 - i] } else { b[i] };
                    v = (v << 8) | byte as u64;
                }
                let n = if signed && size < 8 && v & (1 << (size * 8 - 1)) != 0 {
                    (v | (!0u64 << (size * 8))) as i64 as f64
                } else if signed {
                    v as i64 as f64
                } else {
                    v as f64
                };
                pos += size;
                last = n;
                out.push_back(Value::Number(n));
            }
            Opt::Float => {
                pos += f.pad(pos, 4);
                let b: [u8; 4] = data
                    .get(pos..pos + 4)
                    .ok_or_else(short)?
                    .try_into()
                    .map_err(|_| short())?;
                let v = if f.little {
                    f32::from_le_bytes(b)
                } else {
                    f32::from_be_bytes(b)
                };
                pos += 4;
                last = v as f64;
                out.push_back(Value::Number(v as f64));
            }
            Opt::Double => {
                pos += f.pad(pos, 8);
                let b: [u8; 8] = data
                    .get(pos..pos + 8)
                    .ok_or_else(short)?
                    .try_into()
                    .map_err(|_| short())?;
                let v = if f.little {
                    f64::from_le_bytes(b)
                } else {
                    f64::from_be_bytes(b)
                };
                pos += 8;
                last = v;
                out.push_back(Value::Number(v));
            }
            Opt::Zstr => {
                let rest = data.get(pos..).ok_or_else(short)?;
                let end = rest
                    .iter()
                    .position(|&b| b == 0)
                    .ok_or_else(|| err("unfinished string in data"))?;
                out.push_back(Value::String(lua.create_string(&rest[..end])?));
                pos += end + 1;
            }
            Opt::Chars(n) => {
                let n = if n == 0 { last.max(0.0) as usize } else { n };
                let s = data.get(pos..pos + n).ok_or_else(short)?;
                out.push_back(Value::String(lua.create_string(s)?));
                pos += n;
            }
        }
    }
    out.push_back(Value::Number((pos + 1) as f64));
    Ok(out)
}

fn size(_: &Lua, fmt: mlua::LuaString) -> mlua::Result<f64> {
    let fmt = fmt.as_bytes().to_vec();
    let mut f = Format::new(&fmt);
    let mut len = 0usize;
    while let Some(opt) = f.next() {
        match opt? {
            Opt::Ctl => {}
            Opt::Pad => len += 1,
            Opt::Int { size, .. } => len += f.pad(len, size) + size,
            Opt::Float => len += f.pad(len, 4) + 4,
            Opt::Double => len += f.pad(len, 8) + 8,
            Opt::Zstr | Opt::Chars(0) => {
                return Err(err("options 'c0' - 's' have undefined sizes"))
            }
            Opt::Chars(n) => len += n,
        }
    }
    Ok(len as f64)
}

pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("pack", lua.create_function(pack)?)?;
    t.raw_set("unpack", lua.create_function(unpack)?)?;
    t.raw_set("size", lua.create_function(size)?)?;
    Ok(t)
}
