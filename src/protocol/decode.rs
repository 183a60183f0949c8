//! Incremental request decoder: RESP multibulk arrays and inline commands.
//!
//! The decoder never copies multibulk arguments: it records their spans inside the
//! caller's read buffer, so a handler sees slices of the bytes that came off the socket.
//! Only inline commands (which may contain quoting and escapes) are unescaped into a
//! side buffer. State survives an incomplete read, so a huge request arriving in many
//! chunks is scanned once, not once per chunk.
//!
//! Error texts and limits follow Valkey's `networking.c` exactly, because clients and
//! the TCL suite match them.

/// Longest inline request, or multibulk/bulk header line, accepted before the
/// terminating newline arrives (Valkey's `PROTO_INLINE_MAX_SIZE`).
pub const INLINE_MAX_SIZE: usize = 64 * 1024;

/// The least a large bulk argument's [`Decoded::Incomplete`] hint asks for; beyond it
/// the hint grows with what has arrived, so a buffer doubles at most per step.
pub const HINT_FLOOR: usize = 1024 * 1024;

/// Limits a client is held to while its request is parsed.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// `proto-max-bulk-len`: longest single argument.
    pub max_bulk_len: usize,
    /// Unauthenticated clients get much smaller limits, so a stranger cannot make the
    /// server allocate before proving who it is.
    pub authenticated: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk_len: 512 * 1024 * 1024,
            authenticated: true,
        }
    }
}

/// A malformed request. The text is sent as `-ERR <text>` and the connection closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Protocol error: {}", self.0)
    }
}

fn perr(msg: impl Into<String>) -> ProtocolError {
    ProtocolError(msg.into())
}

/// Outcome of one decode step.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded {
    /// A full request was decoded from `buf[..consumed]`; its arguments are in
    /// [`Decoder::args`].
    Request { consumed: usize },
    /// An empty request (blank inline line, `*0`, `*-1`) was skipped; nothing to run.
    Empty { consumed: usize },
    /// More bytes are needed. `hint` is how many more bytes at least are needed when
    /// known (a large bulk argument), so the reader can reserve once.
    Incomplete { hint: usize },
}

/// Argument slices of one request; small requests need no heap allocation.
pub type Args<'a> = smallvec::SmallVec<[&'a [u8]; 8]>;

/// Where a decoded argument lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Input,
    Scratch,
}

#[derive(Debug, Default)]
pub struct Decoder {
    spans: Vec<(usize, usize)>,
    source: Option<Source>,
    scratch: Vec<u8>,
    // multibulk progress, kept across incomplete reads
    in_multibulk: bool,
    /// Valkey keeps parsing inline after a line of blanks only (it resets the request
    /// type after a command or an empty line, not then): what follows, even a `*`
    /// line, is read as inline until a request or an empty line.
    inline_sticky: bool,
    expected: usize,
    pos: usize,
}

impl Decoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of arguments of the last decoded request.
    pub fn argc(&self) -> usize {
        self.spans.len()
    }

    /// Appends the arguments of the last decoded request to `out`. `input` must be the
    /// same buffer slice that was given to [`Decoder::decode`].
    pub fn args<'a>(&'a self, input: &'a [u8], out: &mut impl Extend<&'a [u8]>) {
        let base: &[u8] = match self.source {
            Some(Source::Scratch) => &self.scratch,
            _ => input,
        };
        out.extend(self.spans.iter().map(|&(s, e)| &base[s..e]));
    }

    /// True while a multibulk request is partially received: the connection must not be
    /// treated as idle between its chunks.
    pub fn in_progress(&self) -> bool {
        self.in_multibulk
    }

    /// Decodes at most one request from the start of `buf`.
    ///
    /// `buf` must start where the previous complete request ended; after `Incomplete`
    /// call again with the same start and more bytes appended.
    pub fn decode(&mut self, buf: &[u8], limits: &Limits) -> Result<Decoded, ProtocolError> {
        if !self.in_multibulk {
            if buf.is_empty() {
                return Ok(Decoded::Incomplete { hint: 0 });
            }
            if buf[0] != b'*' || self.inline_sticky {
                return self.decode_inline(buf);
            }
            // multibulk header
            let Some(cr) = line_end(b'\r', buf) else {
                if buf.len() > INLINE_MAX_SIZE {
                    return Err(perr("too big mbulk count string"));
                }
                return Ok(Decoded::Incomplete { hint: 0 });
            };
            if cr + 1 >= buf.len() {
                return Ok(Decoded::Incomplete { hint: 0 });
            }
            let count = parse_i64(&buf[1..cr]);
            let count = match count {
                Some(n) if n <= i32::MAX as i64 => n,
                _ => return Err(perr("invalid multibulk length")),
            };
            if !limits.authenticated && count > 10 {
                return Err(perr("unauthenticated multibulk length"));
            }
            if count <= 0 {
                return Ok(Decoded::Empty { consumed: cr + 2 });
            }
            self.spans.clear();
            self.source = Some(Source::Input);
            // never trust the declared count for allocation
            self.spans.reserve((count as usize).min(1024));
            self.expected = count as usize;
            self.pos = cr + 2;
            self.in_multibulk = true;
        }
        while self.spans.len() < self.expected {
            let rest = &buf[self.pos..];
            if rest.is_empty() {
                return Ok(Decoded::Incomplete { hint: 0 });
            }
            let Some(cr) = line_end(b'\r', rest) else {
                if rest.len() > INLINE_MAX_SIZE {
                    return Err(perr("too big bulk count string"));
                }
                return Ok(Decoded::Incomplete { hint: 0 });
            };
            if cr + 1 >= rest.len() {
                return Ok(Decoded::Incomplete { hint: 0 });
            }
            if rest[0] != b'$' {
                return Err(perr(format!(
                    "expected '$', got '{}'",
                    char::from(rest[0]).escape_default()
                )));
            }
            let len = match parse_i64(&rest[1..cr]) {
                Some(n) if n >= 0 => n as u64,
                _ => return Err(perr("invalid bulk length")),
            };
            // a length past proto-max-bulk-len is invalid for everybody, as in Valkey,
            // before the smaller limit of unauthenticated clients applies
            if len > limits.max_bulk_len as u64 {
                return Err(perr("invalid bulk length"));
            }
            if !limits.authenticated && len > 16384 {
                return Err(perr("unauthenticated bulk length"));
            }
            let len = len as usize;
            let start = self.pos + cr + 2;
            let end = start + len;
            // the argument plus its trailing CRLF must be present
            if buf.len() < end + 2 {
                // The hint only grows the buffer as far as the bytes that did arrive
                // justify (at least 1 MiB): an announced length alone must not make
                // the server allocate it, or a stranger could reserve 512 MB per
                // connection with a dozen bytes.
                let missing = end + 2 - buf.len();
                let arrived = buf.len() - start;
                return Ok(Decoded::Incomplete {
                    hint: missing.min(arrived.max(HINT_FLOOR)),
                });
            }
            self.spans.push((start, end));
            self.pos = end + 2;
        }
        self.in_multibulk = false;
        Ok(Decoded::Request { consumed: self.pos })
    }

    fn decode_inline(&mut self, buf: &[u8]) -> Result<Decoded, ProtocolError> {
        let Some(nl) = line_end(b'\n', buf) else {
            if buf.len() > INLINE_MAX_SIZE {
                return Err(perr("too big inline request"));
            }
            return Ok(Decoded::Incomplete { hint: 0 });
        };
        let mut line = &buf[..nl];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        self.spans.clear();
        self.scratch.clear();
        self.source = Some(Source::Scratch);
        if !split_args(line, &mut self.scratch, &mut self.spans) {
            return Err(perr("unbalanced quotes in request"));
        }
        // blanks only: the next request is inline too; an empty line or a request ends
        // that
        self.inline_sticky = self.spans.is_empty() && !line.is_empty();
        if self.spans.is_empty() {
            return Ok(Decoded::Empty { consumed: nl + 1 });
        }
        Ok(Decoded::Request { consumed: nl + 1 })
    }
}

/// Where a request's line (inline request, or `*`/`$` header) ends: the first `needle`
/// before any NUL byte. Valkey finds it with `strchr` on its NUL-terminated buffer,
/// which stops at a NUL; a line with a NUL before its end therefore never ends, and
/// the client is told "too big ..." once 64 KiB have piled up. The same here.
#[inline]
fn line_end(needle: u8, hay: &[u8]) -> Option<usize> {
    for (i, &b) in hay.iter().enumerate() {
        if b == needle {
            return Some(i);
        }
        if b == 0 {
            return None;
        }
    }
    None
}

/// Strict decimal i64 parsing as Valkey's `string2ll`: optional '-', no '+', no
/// leading zeros, no spaces, fits in i64.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || digits[0] == b'0' {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v > i64::MAX as u64 + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\n' | b'\r' | b'\t' | 0x0b | 0x0c)
}

fn hex_val(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Splits an inline command line the way Valkey's `sdssplitargs` does: blanks separate
/// arguments, "double quotes" understand \n \r \t \b \a \\ \" and \xHH, 'single quotes'
/// understand only \', and a closing quote must be followed by a blank or the end.
/// Returns false on unbalanced quotes.
pub fn split_args(line: &[u8], out: &mut Vec<u8>, spans: &mut Vec<(usize, usize)>) -> bool {
    let mut i = 0;
    let n = line.len();
    loop {
        while i < n && is_space(line[i]) {
            i += 1;
        }
        if i >= n {
            return true;
        }
        let start = out.len();
        let mut in_dq = false;
        let mut in_sq = false;
        loop {
            if in_dq {
                if i >= n {
                    return false;
                }
                let c = line[i];
                if c == b'\\'
                    && i + 3 < n
                    && line[i + 1] == b'x'
                    && hex_val(line[i + 2]).is_some()
                    && hex_val(line[i + 3]).is_some()
                {
                    let hi = hex_val(line[i + 2]).unwrap_or(0);
                    let lo = hex_val(line[i + 3]).unwrap_or(0);
                    out.push(hi * 16 + lo);
                    i += 3;
                } else if c == b'\\' && i + 1 < n {
                    i += 1;
                    out.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                } else if c == b'"' {
                    if i + 1 < n && !is_space(line[i + 1]) {
                        return false;
                    }
                    i += 1;
                    break;
                } else {
                    out.push(c);
                }
                i += 1;
            } else if in_sq {
                if i >= n {
                    return false;
                }
                let c = line[i];
                if c == b'\\' && i + 1 < n && line[i + 1] == b'\'' {
                    out.push(b'\'');
                    i += 1;
                } else if c == b'\'' {
                    if i + 1 < n && !is_space(line[i + 1]) {
                        return false;
                    }
                    i += 1;
                    break;
                } else {
                    out.push(c);
                }
                i += 1;
            } else {
                if i >= n {
                    break;
                }
                match line[i] {
                    c if is_space(c) => break,
                    b'"' => in_dq = true,
                    b'\'' => in_sq = true,
                    c => out.push(c),
                }
                i += 1;
            }
        }
        spans.push((start, out.len()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(input: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, ProtocolError> {
        let mut d = Decoder::new();
        let mut off = 0;
        let mut reqs = Vec::new();
        let lim = Limits::default();
        loop {
            match d.decode(&input[off..], &lim)? {
                Decoded::Request { consumed } => {
                    let mut v = Vec::new();
                    d.args(&input[off..], &mut v);
                    reqs.push(v.iter().map(|a| a.to_vec()).collect());
                    off += consumed;
                }
                Decoded::Empty { consumed } => off += consumed,
                Decoded::Incomplete { .. } => return Ok(reqs),
            }
        }
    }

    #[test]
    fn multibulk_and_pipelining() {
        let r = decode_all(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n").unwrap();
        assert_eq!(
            r,
            vec![vec![b"GET".to_vec(), b"k".to_vec()], vec![b"PING".to_vec()]]
        );
    }

    #[test]
    fn binary_safe_bulk() {
        let r = decode_all(b"*1\r\n$4\r\na\r\nb\r\n").unwrap();
        assert_eq!(r, vec![vec![b"a\r\nb".to_vec()]]);
    }

    #[test]
    fn incremental_byte_by_byte() {
        let input = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
        let mut d = Decoder::new();
        let lim = Limits::default();
        for end in 0..input.len() {
            assert!(matches!(
                d.decode(&input[..end], &lim).unwrap(),
                Decoded::Incomplete { .. }
            ));
        }
        assert_eq!(
            d.decode(input, &lim).unwrap(),
            Decoded::Request {
                consumed: input.len()
            }
        );
        let mut v = Vec::new();
        d.args(input, &mut v);
        assert_eq!(v, vec![&b"SET"[..], b"key", b"value"]);
    }

    #[test]
    fn large_bulk_hint() {
        let mut d = Decoder::new();
        let r = d.decode(b"*1\r\n$100\r\nab", &Limits::default()).unwrap();
        assert_eq!(r, Decoded::Incomplete { hint: 100 });
    }

    #[test]
    fn announced_length_alone_reserves_little() {
        let mut d = Decoder::new();
        let lim = Limits::default();
        let mut buf = b"*1\r\n$536870912\r\n".to_vec();
        let head = buf.len();
        buf.extend_from_slice(b"abc");
        assert_eq!(
            d.decode(&buf, &lim).unwrap(),
            Decoded::Incomplete { hint: HINT_FLOOR }
        );
        // past the floor, the hint follows what arrived: the buffer at most doubles
        buf.resize(head + 3 * HINT_FLOOR, b'x');
        assert_eq!(
            d.decode(&buf, &lim).unwrap(),
            Decoded::Incomplete {
                hint: 3 * HINT_FLOOR
            }
        );
        // near the end, exactly what is missing
        buf.resize(head + 536870912 - 5, b'x');
        assert_eq!(
            d.decode(&buf, &lim).unwrap(),
            Decoded::Incomplete { hint: 7 }
        );
    }

    #[test]
    fn lying_lengths_as_valkey() {
        // Valkey takes the two bytes after a bulk as its CRLF without looking at them:
        // a long bulk leaves its extra bytes to be read as the next request
        let r = decode_all(b"*1\r\n$2\r\nabcd\r\n").unwrap();
        assert_eq!(r, vec![vec![b"ab".to_vec()]]);
        // a short one waits for the bytes it announced
        let mut d = Decoder::new();
        assert!(matches!(
            d.decode(b"*1\r\n$4\r\nab\r\n", &Limits::default()),
            Ok(Decoded::Incomplete { .. })
        ));
        let e = |i: &[u8]| decode_all(i).unwrap_err().0;
        assert_eq!(e(b"*1\r\n*1\r\n$1\r\na\r\n"), "expected '$', got '*'");
        assert_eq!(e(b"*99999999999\r\n"), "invalid multibulk length");
        assert_eq!(e(b"*1\r\n$-2\r\n"), "invalid bulk length");
        assert_eq!(e(b"*1\r\n$99999999999999999999\r\n"), "invalid bulk length");
        assert_eq!(e(b"*1\r\n$+1\r\n"), "invalid bulk length");
        // negative counts are an empty request, as `*0`
        assert_eq!(decode_all(b"*-5\r\n").unwrap(), Vec::<Vec<Vec<u8>>>::new());
    }

    #[test]
    fn blank_inline_line_keeps_inline_parsing() {
        let r = decode_all(b"   \r\n*1\r\nPING\r\n*1\r\n$4\r\nPING\r\n").unwrap();
        assert_eq!(
            r,
            vec![
                vec![b"*1".to_vec()],
                vec![b"PING".to_vec()],
                vec![b"PING".to_vec()]
            ]
        );
        // an empty line ends it
        let r = decode_all(b" \r\n\r\n*1\r\n$4\r\nPING\r\n").unwrap();
        assert_eq!(r, vec![vec![b"PING".to_vec()]]);
    }

    #[test]
    fn nul_before_a_line_end_hides_it() {
        let mut d = Decoder::new();
        let lim = Limits::default();
        assert!(matches!(
            d.decode(b"PI\0NG\r\nPING\r\n", &lim),
            Ok(Decoded::Incomplete { .. })
        ));
        assert!(matches!(
            d.decode(b"*1\0\r\n", &lim),
            Ok(Decoded::Incomplete { .. })
        ));
        let mut big = b"*1\0\r\n".to_vec();
        big.resize(INLINE_MAX_SIZE + 10, b'x');
        assert_eq!(
            d.decode(&big, &lim).unwrap_err().0,
            "too big mbulk count string"
        );
        // NUL inside a bulk's data is just data
        let r = decode_all(b"*1\r\n$3\r\na\0b\r\n").unwrap();
        assert_eq!(r, vec![vec![b"a\0b".to_vec()]]);
    }

    #[test]
    fn protocol_errors() {
        let e = |i: &[u8]| decode_all(i).unwrap_err().to_string();
        assert_eq!(e(b"*x\r\n"), "Protocol error: invalid multibulk length");
        assert_eq!(
            e(b"*3000000000\r\n"),
            "Protocol error: invalid multibulk length"
        );
        assert_eq!(e(b"*1\r\n$-5\r\n"), "Protocol error: invalid bulk length");
        assert_eq!(e(b"*1\r\nfoo\r\n"), "Protocol error: expected '$', got 'f'");
        assert_eq!(
            e(b"SET \"a b\r\n"),
            "Protocol error: unbalanced quotes in request"
        );
        assert_eq!(
            e(b"SET \"a\"b\r\n"),
            "Protocol error: unbalanced quotes in request"
        );
        let big = vec![b'a'; INLINE_MAX_SIZE + 1];
        assert_eq!(e(&big), "Protocol error: too big inline request");
        let mut big = b"*1\r\n$".to_vec();
        big.extend(vec![b'1'; INLINE_MAX_SIZE + 1]);
        assert_eq!(e(&big), "Protocol error: too big bulk count string");
        let lim = Limits {
            max_bulk_len: 10,
            authenticated: true,
        };
        let mut d = Decoder::new();
        assert_eq!(
            d.decode(b"*1\r\n$11\r\n", &lim).unwrap_err().to_string(),
            "Protocol error: invalid bulk length"
        );
    }

    #[test]
    fn unauthenticated_limits() {
        let lim = Limits {
            max_bulk_len: 1 << 29,
            authenticated: false,
        };
        let mut d = Decoder::new();
        assert_eq!(
            d.decode(b"*11\r\n", &lim).unwrap_err().0,
            "unauthenticated multibulk length"
        );
        assert_eq!(
            d.decode(b"*1\r\n$16385\r\n", &lim).unwrap_err().0,
            "unauthenticated bulk length"
        );
        // past proto-max-bulk-len the length is invalid whoever sends it
        let mut d = Decoder::new();
        assert_eq!(
            d.decode(b"*1\r\n$999999999999\r\n", &lim).unwrap_err().0,
            "invalid bulk length"
        );
    }

    #[test]
    fn empty_requests_are_skipped() {
        let r = decode_all(b"*0\r\n*-1\r\n\r\n   \r\nPING\r\n").unwrap();
        assert_eq!(r, vec![vec![b"PING".to_vec()]]);
    }

    #[test]
    fn inline_quoting() {
        let r = decode_all(b"set \"a\\x41\\n\" 'it\\'s' plain\n").unwrap();
        assert_eq!(
            r,
            vec![vec![
                b"set".to_vec(),
                b"aA\n".to_vec(),
                b"it's".to_vec(),
                b"plain".to_vec()
            ]]
        );
        let r = decode_all(b"echo \"\"\r\n").unwrap();
        assert_eq!(r, vec![vec![b"echo".to_vec(), b"".to_vec()]]);
    }

    #[test]
    fn string2ll_rules() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_i64(b"01"), None);
        assert_eq!(parse_i64(b"+1"), None);
        assert_eq!(parse_i64(b" 1"), None);
        assert_eq!(parse_i64(b"-0"), None);
        assert_eq!(parse_i64(b"-"), None);
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_garbage(data in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = decode_all(&data);
        }

        #[test]
        fn roundtrips_any_args(args in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..64), 1..8)) {
            let mut wire = format!("*{}\r\n", args.len()).into_bytes();
            for a in &args {
                wire.extend(format!("${}\r\n", a.len()).bytes());
                wire.extend(a);
                wire.extend(b"\r\n");
            }
            let got = decode_all(&wire).unwrap();
            proptest::prop_assert_eq!(got, vec![args]);
        }
    }
}
