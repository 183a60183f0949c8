//! Reply encoding for RESP2 and RESP3.
//!
//! Handlers describe replies in RESP3 terms (maps, sets, doubles, booleans, nulls) and
//! this is the one place that downgrades them for RESP2 clients, so no handler ever
//! branches on the protocol version.

/// A reply buffer for one client. Handlers append to it; the connection writes it out.
#[derive(Debug)]
pub struct Reply {
    buf: Vec<u8>,
    resp3: bool,
}

impl Default for Reply {
    fn default() -> Self {
        Self::new(false)
    }
}

impl Reply {
    pub fn new(resp3: bool) -> Self {
        Reply {
            buf: Vec::with_capacity(16 * 1024),
            resp3,
        }
    }

    pub fn resp3(&self) -> bool {
        self.resp3
    }

    pub fn set_resp3(&mut self, v: bool) {
        self.resp3 = v;
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn clear(&mut self) {
        self.buf.clear();
    }

    /// Drops everything written after `len` (used to discard a partial reply).
    pub fn truncate(&mut self, len: usize) {
        self.buf.truncate(len);
    }

    /// Gives back memory after a huge reply, so an idle connection stays small.
    pub fn shrink(&mut self) {
        if self.buf.capacity() > 1024 * 1024 {
            self.buf = Vec::with_capacity(16 * 1024);
        }
    }

    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    pub fn raw(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    fn header(&mut self, tag: u8, n: i64) {
        self.buf.push(tag);
        let mut b = itoa::Buffer::new();
        self.buf.extend_from_slice(b.format(n).as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    /// A status reply. Newlines are replaced so the frame stays well formed.
    pub fn simple(&mut self, s: &str) {
        self.buf.push(b'+');
        self.push_line(s.as_bytes());
    }

    /// An error reply; `msg` includes its code, e.g. "ERR syntax error".
    pub fn error(&mut self, msg: &str) {
        self.buf.push(b'-');
        self.push_line(msg.as_bytes());
    }

    fn push_line(&mut self, s: &[u8]) {
        self.buf.extend(
            s.iter()
                .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }),
        );
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn int(&mut self, n: i64) {
        self.header(b':', n);
    }

    pub fn bulk(&mut self, b: &[u8]) {
        self.header(b'$', b.len() as i64);
        self.buf.extend_from_slice(b);
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn bulk_str(&mut self, s: &str) {
        self.bulk(s.as_bytes());
    }

    pub fn bulk_int(&mut self, n: i64) {
        let mut b = itoa::Buffer::new();
        self.bulk(b.format(n).as_bytes());
    }

    /// A null bulk string (RESP2 `$-1`, RESP3 `_`).
    pub fn null(&mut self) {
        if self.resp3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"$-1\r\n");
        }
    }

    /// A null array (RESP2 `*-1`, RESP3 `_`).
    pub fn null_array(&mut self) {
        if self.resp3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"*-1\r\n");
        }
    }

    pub fn array(&mut self, n: usize) {
        self.header(b'*', n as i64);
    }

    /// A map of `n` pairs; a flat array of 2n items for RESP2.
    pub fn map(&mut self, n: usize) {
        if self.resp3 {
            self.header(b'%', n as i64);
        } else {
            self.header(b'*', 2 * n as i64);
        }
    }

    /// A set; an array for RESP2.
    pub fn set(&mut self, n: usize) {
        self.header(if self.resp3 { b'~' } else { b'*' }, n as i64);
    }

    /// A push frame; an array for RESP2.
    pub fn push(&mut self, n: usize) {
        self.header(if self.resp3 { b'>' } else { b'*' }, n as i64);
    }

    /// A double; a bulk string for RESP2, formatted as Valkey does.
    pub fn double(&mut self, d: f64) {
        let s = format_double(d);
        if self.resp3 {
            self.buf.push(b',');
            self.buf.extend_from_slice(s.as_bytes());
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(s.as_bytes());
        }
    }

    /// A boolean; the integer 1 or 0 for RESP2.
    pub fn boolean(&mut self, b: bool) {
        if self.resp3 {
            self.buf
                .extend_from_slice(if b { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(b as i64);
        }
    }

    /// A verbatim string ("txt" format); a bulk string for RESP2.
    pub fn verbatim(&mut self, s: &[u8]) {
        if self.resp3 {
            self.header(b'=', s.len() as i64 + 4);
            self.buf.extend_from_slice(b"txt:");
            self.buf.extend_from_slice(s);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(s);
        }
    }

    /// Writes a placeholder for an array whose length is known only afterwards;
    /// finish with [`Reply::fix_deferred`].
    pub fn deferred_array(&mut self) -> usize {
        let at = self.buf.len();
        // 20 digits fit any count; the placeholder is rewritten in place
        self.buf.extend_from_slice(b"*                    \r\n");
        at
    }

    pub fn fix_deferred(&mut self, at: usize, n: usize) {
        let mut b = itoa::Buffer::new();
        let digits = b.format(n).as_bytes();
        let mut hdr = Vec::with_capacity(24);
        hdr.push(b'*');
        hdr.extend_from_slice(digits);
        hdr.extend_from_slice(b"\r\n");
        self.buf.splice(at..at + 23, hdr);
    }
}

/// Formats a double as Valkey's `d2string` does for replies: integral values that fit
/// comfortably in an i64 print as integers, everything else as the shortest digits
/// that round-trip, laid out by fpconv's rules (plain for moderate exponents,
/// scientific otherwise).
pub fn format_double(d: f64) -> String {
    if d.is_nan() {
        return "nan".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if d == 0.0 {
        return if d.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    const HALF_MAX: f64 = (i64::MAX / 2) as f64;
    if d.fract() == 0.0 && (-HALF_MAX..=HALF_MAX).contains(&d) {
        return (d as i64).to_string();
    }
    fpconv(d)
}

/// fpconv's layout of the shortest round-trip digits of `d`.
fn fpconv(d: f64) -> String {
    // "{:e}" yields the shortest round-trip digits: "-1.2345e-7"
    let sci = format!("{:e}", d);
    let neg = sci.starts_with('-');
    let body = sci.trim_start_matches('-');
    let (mant, e10) = body.split_once('e').unwrap_or((body, "0"));
    let e10: i32 = e10.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let nd = digits.len() as i32;
    // value = digits * 10^k
    let k = e10 - (nd - 1);
    let exp = (k + nd - 1).abs();
    let mut out = String::with_capacity(24);
    if neg {
        out.push('-');
    }
    if k >= 0 && exp < nd + 7 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', k as usize));
        return out;
    }
    if k < 0 && (k > -7 || exp < 4) {
        let offset = nd - k.abs();
        if offset <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-offset) as usize));
            out.push_str(&digits);
        } else {
            out.push_str(&digits[..offset as usize]);
            out.push('.');
            out.push_str(&digits[offset as usize..]);
        }
        return out;
    }
    let keep = (nd as usize).min(18 - neg as usize);
    out.push_str(&digits[..1]);
    if keep > 1 {
        out.push('.');
        out.push_str(&digits[1..keep]);
    }
    out.push('e');
    out.push(if e10 < 0 { '-' } else { '+' });
    out.push_str(&exp.to_string());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downgrades_for_resp2() {
        let mut r = Reply::new(false);
        r.map(1);
        r.bulk(b"k");
        r.double(1.5);
        r.boolean(true);
        r.null();
        assert_eq!(r.as_bytes(), b"*2\r\n$1\r\nk\r\n$3\r\n1.5\r\n:1\r\n$-1\r\n");
        let mut r = Reply::new(true);
        r.map(1);
        r.double(1.5);
        r.boolean(false);
        r.null();
        assert_eq!(r.as_bytes(), b"%1\r\n,1.5\r\n#f\r\n_\r\n");
    }

    #[test]
    fn deferred_length() {
        let mut r = Reply::new(false);
        let at = r.deferred_array();
        r.int(1);
        r.int(2);
        r.fix_deferred(at, 2);
        assert_eq!(r.as_bytes(), b"*2\r\n:1\r\n:2\r\n");
    }

    #[test]
    fn doubles_match_valkey() {
        // each pair was read back from valkey-server 8 with ZADD + ZSCORE
        for (v, want) in [
            (0.1, "0.1"),
            (1e17, "100000000000000000"),
            (2e300, "2e+300"),
            (1.5e-7, "1.5e-7"),
            (123456789012345678.0, "123456789012345680"),
            (1e21, "1e+21"),
            (3.0, "3"),
            (1e-5, "0.00001"),
            (12345.678, "12345.678"),
            (1e20, "1e+20"),
            (123456789.123, "123456789.123"),
            (-2.5e-10, "-2.5e-10"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (0.000001, "0.000001"),
            (0.0000001, "1e-7"),
            (1e18, "1000000000000000000"),
            (1e19, "1e+19"),
            (1.5e19, "1.5e+19"),
            (12345678901234567890.0, "12345678901234567000"),
            (1.5e-6, "1.5e-6"),
            (-0.0, "-0"),
            (f64::INFINITY, "inf"),
        ] {
            assert_eq!(format_double(v), want, "formatting {v:e}");
        }
    }

    #[test]
    fn status_lines_cannot_break_framing() {
        let mut r = Reply::new(false);
        r.error("ERR bad\r\nthing");
        assert_eq!(r.as_bytes(), b"-ERR bad  thing\r\n");
    }
}
