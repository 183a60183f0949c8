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
        self.buf.extend(s.iter().map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }));
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

    /// A double; a bulk string for RESP2, formatted like Valkey's `%.17g`.
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

/// Formats a double as Valkey does for replies (`%.17g`, with inf/-inf/nan spelled out).
pub fn format_double(d: f64) -> String {
    if d.is_nan() {
        return "nan".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    format_g17(d)
}

/// `%.17g`: 17 significant digits, shortest of fixed/exponent form, trailing zeros cut.
pub fn format_g17(d: f64) -> String {
    format_g(d, 17)
}

/// `%.<prec>g` as C's printf.
pub fn format_g(d: f64, prec: usize) -> String {
    if d == 0.0 {
        return if d.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    let prec = prec.max(1);
    let e = format!("{:.*e}", prec - 1, d);
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= prec as i32 {
        let mant = trim_zeros(mant);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{}{:02}", mant, sign, exp.abs())
    } else {
        let decimals = (prec as i32 - 1 - exp).max(0) as usize;
        trim_zeros(&format!("{:.*}", decimals, d)).to_string()
    }
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
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
    fn g17_matches_c() {
        assert_eq!(format_g17(10.5), "10.5");
        assert_eq!(format_g17(3.0), "3");
        assert_eq!(format_g17(0.1), "0.10000000000000001");
        assert_eq!(format_g17(1e20), "1e+20");
        assert_eq!(format_g17(1.5e-7), "1.4999999999999999e-07");
        assert_eq!(format_g17(-2.0), "-2");
        assert_eq!(format_g(5.0e17, 17), "5e+17");
        assert_eq!(format_g(123456.0, 17), "123456");
    }

    #[test]
    fn status_lines_cannot_break_framing() {
        let mut r = Reply::new(false);
        r.error("ERR bad\r\nthing");
        assert_eq!(r.as_bytes(), b"-ERR bad  thing\r\n");
    }
}
