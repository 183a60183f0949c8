//! The DUMP/RESTORE payload: Valkey's RDB serialization of one value, followed by a
//! footer of the RDB version (2 bytes, little endian) and a CRC64 (8 bytes, little
//! endian) of everything before the CRC.
//!
//! ```text
//! +-----------+------------------+-------------+-------------+
//! | type byte | RDB-encoded body | RDB version | CRC64 (Jones) |
//! +-----------+------------------+-------------+-------------+
//! ```
//!
//! Payloads come from clients, so the reader treats every length as hostile: nothing
//! is allocated before the bytes it claims are known to exist.
//!
//! Collection types add their RDB type bytes to [`encode`] and [`decode`], reusing
//! [`Writer`] and [`Reader`] for lengths and strings.

use super::table::OwnedValue;
use super::value::{Object, ValueRef};

/// The RDB format version Valkey 8.1 writes (the last one shared with Redis OSS 7.2).
pub const RDB_VERSION: u16 = 11;

/// RDB object type bytes.
pub const RDB_TYPE_STRING: u8 = 0;

/// Two-bit prefixes of an encoded length.
const LEN_6BIT: u8 = 0;
const LEN_14BIT: u8 = 1;
const LEN_32BIT: u8 = 0x80;
const LEN_64BIT: u8 = 0x81;
/// Prefix marking a specially encoded string instead of a length.
const ENCVAL: u8 = 3;
const ENC_INT8: u8 = 0;
const ENC_INT16: u8 = 1;
const ENC_INT32: u8 = 2;
const ENC_LZF: u8 = 3;

/// Why a payload was refused; each maps to one Valkey error line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpError {
    /// "ERR DUMP payload version or checksum are wrong"
    VersionOrChecksum,
    /// "ERR Bad data format"
    BadFormat,
}

impl DumpError {
    pub fn message(self) -> &'static str {
        match self {
            DumpError::VersionOrChecksum => "ERR DUMP payload version or checksum are wrong",
            DumpError::BadFormat => "ERR Bad data format",
        }
    }
}

// ---------------------------------------------------------------- CRC64

/// Jones polynomial, bit-reflected (the form used when processing LSB first).
const CRC64_POLY_REFLECTED: u64 = 0x95ac_9329_ac4b_c9b5;

static CRC64_TABLE: [[u64; 256]; 8] = crc64_tables();

const fn crc64_tables() -> [[u64; 256]; 8] {
    let mut t = [[0u64; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u64;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ CRC64_POLY_REFLECTED
            } else {
                c >> 1
            };
            k += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    // tables 1..8 advance a byte through further zero bytes, for slicing-by-8
    let mut i = 0;
    while i < 256 {
        let mut j = 1;
        while j < 8 {
            let prev = t[j - 1][i];
            t[j][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            j += 1;
        }
        i += 1;
    }
    t
}

/// CRC-64 with the Jones polynomial, reflected, no final xor: Valkey's `crc64(crc, ...)`.
/// `crc64(0, b"123456789") == 0xe9c6d914c4b8d9ca`.
pub fn crc64(mut crc: u64, data: &[u8]) -> u64 {
    let t = &CRC64_TABLE;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let v = crc ^ u64::from_le_bytes(w);
        crc = t[7][(v & 0xff) as usize]
            ^ t[6][((v >> 8) & 0xff) as usize]
            ^ t[5][((v >> 16) & 0xff) as usize]
            ^ t[4][((v >> 24) & 0xff) as usize]
            ^ t[3][((v >> 32) & 0xff) as usize]
            ^ t[2][((v >> 40) & 0xff) as usize]
            ^ t[1][((v >> 48) & 0xff) as usize]
            ^ t[0][(v >> 56) as usize];
    }
    for &b in chunks.remainder() {
        crc = t[0][((crc ^ b as u64) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

// ---------------------------------------------------------------- writing

/// Builds an RDB body.
pub struct Writer {
    buf: Vec<u8>,
    /// LZF-compress strings longer than 20 bytes (the `rdbcompression` directive).
    compress: bool,
}

impl Writer {
    pub fn new(compress: bool) -> Self {
        Writer {
            buf: Vec::new(),
            compress,
        }
    }

    pub fn byte(&mut self, b: u8) {
        self.buf.push(b);
    }

    /// An RDB length: 6, 14, 32 or 64 bits, the wider forms big endian.
    pub fn length(&mut self, n: u64) {
        if n < 1 << 6 {
            self.buf.push((LEN_6BIT << 6) | n as u8);
        } else if n < 1 << 14 {
            self.buf.push((LEN_14BIT << 6) | (n >> 8) as u8);
            self.buf.push(n as u8);
        } else if n <= u32::MAX as u64 {
            self.buf.push(LEN_32BIT);
            self.buf.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            self.buf.push(LEN_64BIT);
            self.buf.extend_from_slice(&n.to_be_bytes());
        }
    }

    /// A string as Valkey's `rdbSaveRawString`: short canonical integers that fit 32
    /// bits in the integer encoding, longer strings LZF-compressed when that saves at
    /// least four bytes, everything else verbatim.
    pub fn string(&mut self, s: &[u8]) {
        if s.len() <= 11 {
            if let Some(v) = crate::protocol::decode::parse_i64(s) {
                if self.int_encoded(v) {
                    return;
                }
            }
        }
        if self.compress && s.len() > 20 && self.lzf(s) {
            return;
        }
        self.length(s.len() as u64);
        self.buf.extend_from_slice(s);
    }

    fn int_encoded(&mut self, v: i64) -> bool {
        let enc = |t: u8| (ENCVAL << 6) | t;
        if let Ok(b) = i8::try_from(v) {
            self.buf.push(enc(ENC_INT8));
            self.buf.push(b as u8);
        } else if let Ok(h) = i16::try_from(v) {
            self.buf.push(enc(ENC_INT16));
            self.buf.extend_from_slice(&h.to_le_bytes());
        } else if let Ok(w) = i32::try_from(v) {
            self.buf.push(enc(ENC_INT32));
            self.buf.extend_from_slice(&w.to_le_bytes());
        } else {
            return false;
        }
        true
    }

    fn lzf(&mut self, s: &[u8]) -> bool {
        // Valkey gives the compressor an output buffer four bytes shorter than the
        // input: compression that does not save at least that much is not used
        let Ok(c) = lzf::compress(s) else {
            return false;
        };
        if c.is_empty() || c.len() > s.len() - 4 {
            return false;
        }
        self.buf.push((ENCVAL << 6) | ENC_LZF);
        self.length(c.len() as u64);
        self.length(s.len() as u64);
        self.buf.extend_from_slice(&c);
        true
    }

    /// Appends the version and checksum footer and returns the payload.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.extend_from_slice(&RDB_VERSION.to_le_bytes());
        let crc = crc64(0, &self.buf);
        self.buf.extend_from_slice(&crc.to_le_bytes());
        self.buf
    }
}

/// The DUMP payload of a value, or None for a type whose serialization is not
/// written yet.
pub fn encode(value: ValueRef, compress: bool) -> Option<Vec<u8>> {
    let mut w = Writer::new(compress);
    match value {
        ValueRef::Str(s) => {
            w.byte(RDB_TYPE_STRING);
            w.string(s);
        }
        ValueRef::Obj(Object::Str(s)) => {
            w.byte(RDB_TYPE_STRING);
            w.string(s);
        }
        ValueRef::Obj(_) => return None,
    }
    Some(w.finish())
}

// ---------------------------------------------------------------- reading

/// RDB versions other software (Redis CE 7.4 and later) writes: refused even when
/// future versions are let through.
const FOREIGN_VERSIONS: std::ops::RangeInclusive<u16> = 12..=79;

/// Checks the footer as Valkey's `verifyDumpPayload`: a version no newer than ours (or,
/// with `relaxed` version checking, any future Valkey version) and a matching CRC64.
pub fn verify(payload: &[u8], relaxed: bool) -> Result<(), DumpError> {
    if payload.len() < 10 {
        return Err(DumpError::VersionOrChecksum);
    }
    let footer = payload.len() - 10;
    let version = u16::from_le_bytes([payload[footer], payload[footer + 1]]);
    if version > RDB_VERSION && (!relaxed || FOREIGN_VERSIONS.contains(&version)) {
        return Err(DumpError::VersionOrChecksum);
    }
    let mut crc = [0u8; 8];
    crc.copy_from_slice(&payload[footer + 2..]);
    if crc64(0, &payload[..footer + 2]) != u64::from_le_bytes(crc) {
        return Err(DumpError::VersionOrChecksum);
    }
    Ok(())
}

/// Reads RDB items from a byte slice, refusing anything that runs past its end.
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

/// A decoded length, or the special string encoding that took its place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Len {
    Plain(u64),
    Encoded(u8),
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    pub fn byte(&mut self) -> Result<u8, DumpError> {
        let b = *self.data.get(self.pos).ok_or(DumpError::BadFormat)?;
        self.pos += 1;
        Ok(b)
    }

    pub fn bytes(&mut self, n: u64) -> Result<&'a [u8], DumpError> {
        if n > self.remaining() as u64 {
            return Err(DumpError::BadFormat);
        }
        let s = &self.data[self.pos..self.pos + n as usize];
        self.pos += n as usize;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DumpError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.bytes(N as u64)?);
        Ok(a)
    }

    /// A length or a special-encoding marker.
    pub fn len_or_enc(&mut self) -> Result<Len, DumpError> {
        let b = self.byte()?;
        match b >> 6 {
            ENCVAL => Ok(Len::Encoded(b & 0x3f)),
            LEN_6BIT => Ok(Len::Plain((b & 0x3f) as u64)),
            LEN_14BIT => Ok(Len::Plain((((b & 0x3f) as u64) << 8) | self.byte()? as u64)),
            _ if b == LEN_32BIT => Ok(Len::Plain(u32::from_be_bytes(self.array()?) as u64)),
            _ if b == LEN_64BIT => Ok(Len::Plain(u64::from_be_bytes(self.array()?))),
            _ => Err(DumpError::BadFormat),
        }
    }

    /// A plain length. Like Valkey's `rdbLoadLen(rdb, NULL)`, a special-encoding byte
    /// here is read as its low six bits.
    pub fn length(&mut self) -> Result<u64, DumpError> {
        Ok(match self.len_or_enc()? {
            Len::Plain(n) => n,
            Len::Encoded(e) => e as u64,
        })
    }

    /// A string in any of its encodings: verbatim, integer or LZF.
    pub fn string(&mut self) -> Result<Vec<u8>, DumpError> {
        match self.len_or_enc()? {
            Len::Plain(n) => Ok(self.bytes(n)?.to_vec()),
            Len::Encoded(ENC_INT8) => Ok(int_text(i8::from_le_bytes(self.array()?) as i64)),
            Len::Encoded(ENC_INT16) => Ok(int_text(i16::from_le_bytes(self.array()?) as i64)),
            Len::Encoded(ENC_INT32) => Ok(int_text(i32::from_le_bytes(self.array()?) as i64)),
            Len::Encoded(ENC_LZF) => self.lzf_string(),
            Len::Encoded(_) => Err(DumpError::BadFormat),
        }
    }

    fn lzf_string(&mut self) -> Result<Vec<u8>, DumpError> {
        let clen = self.length()?;
        let len = self.length()?;
        let compressed = self.bytes(clen)?;
        if len == 0 {
            // Valkey compares the decompressed size with the declared one, and a failed
            // decompression also reports zero
            return Ok(Vec::new());
        }
        // one LZF back reference of three bytes expands to at most 264: a larger
        // claim cannot be honest, and must not be allocated
        if len > clen.saturating_mul(90).saturating_add(64) {
            return Err(DumpError::BadFormat);
        }
        let out = lzf::decompress(compressed, len as usize).map_err(|_| DumpError::BadFormat)?;
        if out.len() as u64 != len {
            return Err(DumpError::BadFormat);
        }
        Ok(out)
    }
}

fn int_text(v: i64) -> Vec<u8> {
    itoa::Buffer::new().format(v).as_bytes().to_vec()
}

/// Valkey's `rdbIsObjectType`: type bytes RESTORE knows of at all.
fn is_object_type(t: u8) -> bool {
    t <= 7 || (9..=21).contains(&t)
}

/// Decodes a payload that passed [`verify`]. As in Valkey the reader runs over the
/// whole payload, footer included, and ignores bytes left after the value.
pub fn decode(payload: &[u8]) -> Result<OwnedValue, DumpError> {
    let mut r = Reader::new(payload);
    let t = r.byte()?;
    if !is_object_type(t) {
        return Err(DumpError::BadFormat);
    }
    match t {
        RDB_TYPE_STRING => Ok(OwnedValue::Str(r.string()?)),
        _ => Err(DumpError::BadFormat),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload_of(s: &[u8], compress: bool) -> Vec<u8> {
        encode(ValueRef::Str(s), compress).unwrap_or_default()
    }

    fn restored(p: &[u8]) -> Result<Vec<u8>, DumpError> {
        verify(p, false)?;
        match decode(p)? {
            OwnedValue::Str(s) => Ok(s),
            OwnedValue::Obj(_) => panic!("not a string"),
        }
    }

    #[test]
    fn crc64_test_vector() {
        assert_eq!(crc64(0, b"123456789"), 0xe9c6_d914_c4b8_d9ca);
        assert_eq!(crc64(0, b""), 0);
        // the sliced path and the bytewise path agree
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 + 3) as u8).collect();
        let mut bytewise = 0u64;
        for &b in &data {
            bytewise = CRC64_TABLE[0][((bytewise ^ b as u64) & 0xff) as usize] ^ (bytewise >> 8);
        }
        assert_eq!(crc64(0, &data), bytewise);
        let (a, b) = data.split_at(333);
        assert_eq!(crc64(crc64(0, a), b), bytewise);
    }

    #[test]
    fn known_valkey_payloads() {
        // DUMP replies of valkey-server 8.0.1 (same RDB version as 8.1)
        let cases: [(&[u8], &[u8]); 5] = [
            (b"bar", b"\x00\x03bar\x0b\x00\x8fa\xf4\x13\x13\xf9\x14\x9e"),
            (b"1", b"\x00\xc0\x01\x0b\x00O\xa7Z\xc5,\x9e\xf8u"),
            (
                b"-100000",
                b"\x00\xc2`y\xfe\xff\x0b\x00\xc8\x159\x031\xbe\x84\x14",
            ),
            (
                b"12345678901",
                b"\x00\x0b12345678901\x0b\x00Y\x91\xef\xa4\xda\x88\x8c\x99",
            ),
            (
                &[b'a'; 48],
                b"\x00\xc3\t0\x01aa\xe0#\x00\x01aa\x0b\x00]\x1aO\xbc\xb5\xf38\x05",
            ),
        ];
        for (value, valkey) in cases {
            assert_eq!(
                payload_of(value, true),
                valkey,
                "{:?}",
                String::from_utf8_lossy(value)
            );
            assert_eq!(restored(valkey).unwrap(), value);
        }
    }

    #[test]
    fn integer_encodings() {
        for (s, tag) in [
            (&b"0"[..], 0xc0u8),
            (b"-128", 0xc0),
            (b"127", 0xc0),
            (b"128", 0xc1),
            (b"-32768", 0xc1),
            (b"32768", 0xc2),
            (b"-2147483648", 0xc2),
            (b"2147483647", 0xc2),
        ] {
            let p = payload_of(s, true);
            assert_eq!(p[1], tag, "{:?}", std::str::from_utf8(s));
            assert_eq!(restored(&p).unwrap(), s);
        }
        // not canonical, or beyond 32 bits: verbatim
        for s in [
            &b"2147483648"[..],
            b"007",
            b"+1",
            b"-0",
            b" 1",
            b"12345678901",
        ] {
            let p = payload_of(s, true);
            assert_eq!(p[1] as usize, s.len(), "{:?}", std::str::from_utf8(s));
            assert_eq!(restored(&p).unwrap(), s);
        }
    }

    #[test]
    fn lengths_round_trip() {
        for n in [
            0u64,
            1,
            63,
            64,
            16383,
            16384,
            u32::MAX as u64,
            u32::MAX as u64 + 1,
            u64::MAX,
        ] {
            let mut w = Writer::new(false);
            w.length(n);
            let mut r = Reader::new(&w.buf);
            assert_eq!(r.length().unwrap(), n);
            assert_eq!(r.remaining(), 0);
        }
        for len in [0usize, 1, 63, 64, 300, 20000] {
            let s: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            assert_eq!(restored(&payload_of(&s, false)).unwrap(), s);
        }
    }

    #[test]
    fn lzf_compressed_strings() {
        let s = vec![b'a'; 1000];
        let p = payload_of(&s, true);
        assert_eq!(p[1], 0xc3);
        assert!(p.len() < 100);
        assert_eq!(restored(&p).unwrap(), s);
        // without compression it is stored verbatim
        assert!(payload_of(&s, false).len() > 1000);
        // incompressible data is stored verbatim even with compression on
        let noise: Vec<u8> = (0..200u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        let p = payload_of(&noise, true);
        assert_ne!(p[1], 0xc3);
        assert_eq!(restored(&p).unwrap(), noise);
        // 20 bytes is never compressed
        assert_eq!(payload_of(&[b'x'; 20], true)[1], 20);
    }

    #[test]
    fn footer_checks() {
        let mut p = payload_of(b"hello", true);
        assert_eq!(verify(&p, false), Ok(()));
        let n = p.len();
        p[n - 1] ^= 1;
        assert_eq!(verify(&p, false), Err(DumpError::VersionOrChecksum));
        assert_eq!(verify(b"short", true), Err(DumpError::VersionOrChecksum));
        // older versions are accepted; newer ones only when relaxed, and never the
        // range other software uses
        for (v, strict, relaxed) in [
            (RDB_VERSION - 1, true, true),
            (0, true, true),
            (RDB_VERSION + 1, false, false),
            (79, false, false),
            (80, false, true),
            (222, false, true),
        ] {
            let mut w = Writer::new(false);
            w.byte(RDB_TYPE_STRING);
            w.string(b"x");
            let mut b = w.buf;
            b.extend_from_slice(&v.to_le_bytes());
            let crc = crc64(0, &b);
            b.extend_from_slice(&crc.to_le_bytes());
            assert_eq!(verify(&b, false).is_ok(), strict, "version {v}");
            assert_eq!(verify(&b, true).is_ok(), relaxed, "version {v}, relaxed");
        }
    }

    /// Wraps a body in a valid footer.
    fn sealed(body: &[u8]) -> Vec<u8> {
        let mut b = body.to_vec();
        b.extend_from_slice(&RDB_VERSION.to_le_bytes());
        let crc = crc64(0, &b);
        b.extend_from_slice(&crc.to_le_bytes());
        b
    }

    #[test]
    fn malformed_bodies_are_bad_format() {
        for body in [
            &b""[..],                                    // no type byte
            b"\x08\x01x",                                // type 8 does not exist
            b"\x16\x01x",                                // beyond the known types
            b"\x00\xc4",                                 // unknown string encoding
            b"\x00\x81\xff\xff\xff\xff\xff\xff\xff\xff", // 64-bit length past the end
            b"\x00\x80\x7f\xff\xff\xff",                 // 32-bit length past the end
            b"\x00\xc3\x01\x80\x10\x00\x00\x00a",        // LZF claiming an absurd size
            b"\x00\xc3\x02\x05\x20\x00",                 // LZF back reference before the start
            b"\x00\xc3\x02\x05\x00a",                    // LZF shorter than declared
        ] {
            let p = sealed(body);
            assert_eq!(verify(&p, false), Ok(()));
            assert_eq!(decode(&p).err(), Some(DumpError::BadFormat), "{body:?}");
        }
        // collections are not restorable yet
        assert_eq!(
            decode(&sealed(b"\x02\x01\x01a")).err(),
            Some(DumpError::BadFormat)
        );
    }

    #[test]
    fn a_length_may_run_into_the_footer() {
        // Valkey reads the value from the whole payload, footer included
        let mut b = vec![RDB_TYPE_STRING, 12];
        b.extend_from_slice(b"ab");
        let p = sealed(&b);
        let v = restored(&p).unwrap();
        assert_eq!(v.len(), 12);
        assert_eq!(&v[..2], b"ab");
    }

    #[test]
    fn lzf_with_zero_length_is_empty() {
        let p = sealed(b"\x00\xc3\x02\x00zz");
        assert_eq!(restored(&p).unwrap(), b"");
    }

    #[test]
    fn fuzz_never_panics() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        let seeds: Vec<Vec<u8>> = vec![
            payload_of(b"hello", true),
            payload_of(&[b'z'; 300], true),
            payload_of(b"-12345", true),
            payload_of(&(0..100u8).collect::<Vec<_>>(), true),
        ];
        for i in 0..50_000 {
            let mut p = seeds[i % seeds.len()].clone();
            let body_len = p.len() - 10;
            // mutate the body, then reseal it so the decoder itself is exercised
            let mut body = p[..body_len].to_vec();
            for _ in 0..rng.gen_range(1..4) {
                match rng.gen_range(0..4) {
                    0 if !body.is_empty() => {
                        let j = rng.gen_range(0..body.len());
                        body[j] = rng.gen();
                    }
                    1 if !body.is_empty() => {
                        body.truncate(rng.gen_range(0..body.len()));
                    }
                    2 => {
                        let j = rng.gen_range(0..=body.len());
                        body.insert(j, rng.gen());
                    }
                    _ => {
                        let n = rng.gen_range(0..16);
                        body = (0..n).map(|_| rng.gen()).collect();
                    }
                }
            }
            p = sealed(&body);
            let _ = decode(&p);
            // and raw garbage through the footer check
            let raw: Vec<u8> = (0..rng.gen_range(0..24)).map(|_| rng.gen()).collect();
            if verify(&raw, true).is_ok() {
                let _ = decode(&raw);
            }
        }
    }
}
