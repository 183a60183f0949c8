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
//! DUMP writes what Valkey writes for the same value in the same encoding: compact
//! collections as one listpack (or intset) blob, lists as quicklist nodes with the
//! boundaries Valkey would have, large hashes, sets and sorted sets element by
//! element. RESTORE reads every type Valkey 8 writes plus the older ziplist and zipmap
//! based ones (not modules or streams, which the store does not have), and picks each
//! value's encoding with the same rules as Valkey's loader.
//!
//! Payloads come from clients, so the reader treats every length as hostile: nothing
//! is allocated before the bytes it claims are known to exist, and every blob (listpack,
//! intset, ziplist) is checked entry by entry (Valkey's deep sanitization) whatever
//! `sanitize-dump-payload` says, because the decoded value must satisfy the store's
//! invariants (no duplicate members, sorted intsets) even when Valkey would accept it.

use super::hash::{self, Hash};
use super::list::List;
use super::set::{self, Elem, Set};
use super::table::OwnedValue;
use super::value::{Object, ValueRef};
use super::zset::{self, ZSet};
use std::collections::HashSet;

/// The RDB format version Valkey 8.1 writes (the last one shared with Redis OSS 7.2).
pub const RDB_VERSION: u16 = 11;

/// RDB object type bytes.
pub const RDB_TYPE_STRING: u8 = 0;
pub const RDB_TYPE_LIST: u8 = 1;
pub const RDB_TYPE_SET: u8 = 2;
pub const RDB_TYPE_ZSET: u8 = 3;
pub const RDB_TYPE_HASH: u8 = 4;
pub const RDB_TYPE_ZSET_2: u8 = 5;
pub const RDB_TYPE_HASH_ZIPMAP: u8 = 9;
pub const RDB_TYPE_LIST_ZIPLIST: u8 = 10;
pub const RDB_TYPE_SET_INTSET: u8 = 11;
pub const RDB_TYPE_ZSET_ZIPLIST: u8 = 12;
pub const RDB_TYPE_HASH_ZIPLIST: u8 = 13;
pub const RDB_TYPE_LIST_QUICKLIST: u8 = 14;
pub const RDB_TYPE_HASH_LISTPACK: u8 = 16;
pub const RDB_TYPE_ZSET_LISTPACK: u8 = 17;
pub const RDB_TYPE_LIST_QUICKLIST_2: u8 = 18;
pub const RDB_TYPE_SET_LISTPACK: u8 = 20;

/// Quicklist node containers in `RDB_TYPE_LIST_QUICKLIST_2`: one element stored as
/// is, or a listpack of elements.
const QUICKLIST_PLAIN: u64 = 1;
const QUICKLIST_PACKED: u64 = 2;

/// Valkey's `lpSafeToAdd` bound: no compact value grows past 1 GiB.
const LISTPACK_MAX_SAFETY: usize = 1 << 30;

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
        let Some(c) = lzf_compress(s, s.len() - 4) else {
            return false;
        };
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

/// liblzf's hash table size (`HLOG` 16).
const LZF_HSIZE: usize = 1 << 16;
const LZF_MAX_LIT: usize = 1 << 5;
const LZF_MAX_OFF: usize = 1 << 13;
const LZF_MAX_REF: usize = (1 << 8) + (1 << 3);

thread_local! {
    /// The compressor's hash table, kept between calls and cleared of the slots each
    /// call used (a fresh 256 KiB table per string would cost more than compressing).
    static LZF_TABLE: std::cell::RefCell<Vec<u32>> = std::cell::RefCell::new(vec![0; LZF_HSIZE]);
}

/// LZF compression exactly as Valkey's bundled liblzf does it (its default
/// "very fast" variant), including when it gives up: with `room` bytes of output it
/// fails as soon as its conservative bound checks say the result might not fit. The
/// same bytes and the same decision keep DUMP payloads identical to Valkey's. Only the
/// hash table differs: liblzf leaves it uninitialized, which can only add matches.
fn lzf_compress(data: &[u8], room: usize) -> Option<Vec<u8>> {
    let n = data.len();
    if n < 3 || room == 0 {
        return None;
    }
    LZF_TABLE.with(|t| {
        let mut table = t.borrow_mut();
        let mut used: Vec<usize> = Vec::with_capacity(n);
        let out = lzf_run(data, room, &mut table, &mut used);
        for i in used {
            table[i] = 0;
        }
        out
    })
}

fn lzf_run(d: &[u8], room: usize, htab: &mut [u32], used: &mut Vec<usize>) -> Option<Vec<u8>> {
    let n = d.len();
    let idx = |h: u32| ((h >> 8).wrapping_sub(h.wrapping_mul(5)) as usize) & (LZF_HSIZE - 1);
    let mut set = |htab: &mut [u32], h: u32, pos: usize| {
        let i = idx(h);
        htab[i] = pos as u32;
        used.push(i);
    };
    let mut out: Vec<u8> = Vec::with_capacity(room);
    let mut lit = 0usize;
    out.push(0); // the first literal run's header
    let mut ip = 0usize;
    let mut hval: u32 = ((d[0] as u32) << 8) | d[1] as u32;
    while ip + 2 < n {
        hval = (hval << 8) | d[ip + 2] as u32;
        let r = htab[idx(hval)] as usize;
        set(htab, hval, ip);
        let off = ip.wrapping_sub(r).wrapping_sub(1);
        if off < LZF_MAX_OFF && r > 0 && d[r + 2] == d[ip + 2] && d[r..r + 2] == d[ip..ip + 2] {
            let maxlen = (n - ip - 2).min(LZF_MAX_REF);
            if out.len() - (lit == 0) as usize + 4 >= room {
                return None;
            }
            // close the literal run, or drop its header if it is empty
            if lit == 0 {
                out.pop();
            } else {
                let at = out.len() - lit - 1;
                out[at] = (lit - 1) as u8;
            }
            // the match length, compared sixteen bytes at a time first as liblzf does
            // (which may run past `maxlen` near the end of the input)
            let mut len = 2usize;
            let mut stopped = false;
            if maxlen > 16 {
                for _ in 0..16 {
                    len += 1;
                    if d[r + len] != d[ip + len] {
                        stopped = true;
                        break;
                    }
                }
            }
            if !stopped {
                loop {
                    len += 1;
                    if !(len < maxlen && d[r + len] == d[ip + len]) {
                        break;
                    }
                }
            }
            len -= 2;
            ip += 1;
            if len < 7 {
                out.push(((off >> 8) + (len << 5)) as u8);
            } else {
                out.push(((off >> 8) + (7 << 5)) as u8);
                out.push((len - 7) as u8);
            }
            out.push(off as u8);
            lit = 0;
            out.push(0);
            ip += len + 1;
            if ip + 2 >= n {
                break;
            }
            ip -= 2;
            hval = ((d[ip] as u32) << 8) | d[ip + 1] as u32;
            hval = (hval << 8) | d[ip + 2] as u32;
            set(htab, hval, ip);
            ip += 1;
            hval = (hval << 8) | d[ip + 2] as u32;
            set(htab, hval, ip);
            ip += 1;
        } else {
            if out.len() >= room {
                return None;
            }
            lit += 1;
            out.push(d[ip]);
            ip += 1;
            if lit == LZF_MAX_LIT {
                let at = out.len() - lit - 1;
                out[at] = (lit - 1) as u8;
                lit = 0;
                out.push(0);
            }
        }
    }
    if out.len() + 3 > room {
        return None;
    }
    while ip < n {
        lit += 1;
        out.push(d[ip]);
        ip += 1;
        if lit == LZF_MAX_LIT {
            let at = out.len() - lit - 1;
            out[at] = (lit - 1) as u8;
            lit = 0;
            out.push(0);
        }
    }
    if lit == 0 {
        out.pop();
    } else {
        let at = out.len() - lit - 1;
        out[at] = (lit - 1) as u8;
    }
    Some(out)
}

/// The DUMP payload of a value; None only for a value no RDB encoding can hold.
pub fn encode(value: ValueRef, compress: bool) -> Option<Vec<u8>> {
    let mut w = Writer::new(compress);
    write_value(&mut w, value)?;
    Some(w.finish())
}

/// Writes a value's type byte and body, as Valkey's `rdbSaveObjectType` and
/// `rdbSaveObject` do for the value's current encoding.
pub fn write_value(w: &mut Writer, value: ValueRef) -> Option<()> {
    match value {
        ValueRef::Str(_) | ValueRef::Obj(Object::Str(_)) => {
            w.byte(RDB_TYPE_STRING);
            w.string(value.as_str()?);
        }
        ValueRef::Obj(Object::List(l)) => write_list(w, l)?,
        ValueRef::Obj(Object::Hash(h)) => write_hash(w, h)?,
        ValueRef::Obj(Object::Set(st)) => write_set(w, st)?,
        ValueRef::Obj(Object::ZSet(z)) => write_zset(w, z)?,
    }
    Some(())
}

impl Writer {
    /// A double as 8 little-endian bytes (`rdbSaveBinaryDoubleValue`).
    pub fn binary_double(&mut self, d: f64) {
        self.buf.extend_from_slice(&d.to_le_bytes());
    }
}

/// A quicklist: one node per node Valkey would hold, packed ones as listpacks.
fn write_list(w: &mut Writer, l: &List) -> Option<()> {
    // a plain node holds exactly one element; split any that claims more
    let mut nodes: Vec<(usize, bool)> = Vec::new();
    for (count, plain) in l.node_layout() {
        if plain {
            nodes.extend(std::iter::repeat_n((1, true), count));
        } else if count > 0 {
            nodes.push((count, false));
        }
    }
    if nodes.iter().map(|n| n.0).sum::<usize>() != l.len() {
        // boundaries out of step with the elements would lose or invent elements:
        // fall back to nodes of at most 8 KiB, large elements on their own
        nodes = fallback_nodes(l);
    }
    w.byte(RDB_TYPE_LIST_QUICKLIST_2);
    w.length(nodes.len() as u64);
    let mut items = l.iter();
    for (count, plain) in nodes {
        if plain {
            w.length(QUICKLIST_PLAIN);
            w.string(items.next()?);
        } else {
            let mut lp = ListpackWriter::new();
            for e in items.by_ref().take(count) {
                lp.push(e);
            }
            w.length(QUICKLIST_PACKED);
            w.string(&lp.finish()?);
        }
    }
    Some(())
}

fn fallback_nodes(l: &List) -> Vec<(usize, bool)> {
    const NODE_BYTES: usize = 8192;
    let mut nodes = Vec::new();
    let (mut count, mut bytes) = (0usize, 0usize);
    for e in l.iter() {
        if e.len() > NODE_BYTES || bytes + e.len() > NODE_BYTES {
            if count > 0 {
                nodes.push((count, false));
            }
            (count, bytes) = (0, 0);
        }
        if e.len() > NODE_BYTES {
            nodes.push((1, true));
        } else {
            count += 1;
            bytes += e.len() + 11;
        }
    }
    if count > 0 {
        nodes.push((count, false));
    }
    nodes
}

fn write_hash(w: &mut Writer, h: &Hash) -> Option<()> {
    if h.is_listpack() {
        let mut lp = ListpackWriter::new();
        for (f, v) in h.iter() {
            lp.push(f);
            lp.push(v);
        }
        if let Some(blob) = lp.finish() {
            w.byte(RDB_TYPE_HASH_LISTPACK);
            w.string(&blob);
            return Some(());
        }
    }
    w.byte(RDB_TYPE_HASH);
    w.length(h.len() as u64);
    for (f, v) in h.iter() {
        w.string(f);
        w.string(v);
    }
    Some(())
}

fn write_set(w: &mut Writer, st: &Set) -> Option<()> {
    if st.is_intset() {
        let ints: Vec<i64> = st
            .iter()
            .filter_map(|e| match e {
                Elem::Int(n) => Some(n),
                Elem::Str(_) => None,
            })
            .collect();
        if ints.len() == st.len() {
            w.byte(RDB_TYPE_SET_INTSET);
            w.string(&intset_blob(&ints));
            return Some(());
        }
    } else if st.is_listpack() {
        let mut lp = ListpackWriter::new();
        for e in st.iter() {
            e.with_bytes(|b| lp.push(b));
        }
        if let Some(blob) = lp.finish() {
            w.byte(RDB_TYPE_SET_LISTPACK);
            w.string(&blob);
            return Some(());
        }
    }
    w.byte(RDB_TYPE_SET);
    w.length(st.len() as u64);
    for e in st.iter() {
        e.with_bytes(|b| w.string(b));
    }
    Some(())
}

fn write_zset(w: &mut Writer, z: &ZSet) -> Option<()> {
    if z.encoding() == "listpack" {
        let mut lp = ListpackWriter::new();
        for (m, score) in z.iter() {
            lp.push(m);
            // Valkey's zzlInsertAt: d2string's text, stored as an integer entry when it
            // is one; a listpack holds -0 as 0
            let score = if score == 0.0 { 0.0 } else { score };
            lp.push(crate::protocol::reply::format_double(score).as_bytes());
        }
        if let Some(blob) = lp.finish() {
            w.byte(RDB_TYPE_ZSET_LISTPACK);
            w.string(&blob);
            return Some(());
        }
    }
    // highest first, as Valkey walks its skiplist backwards so loading appends at the head
    w.byte(RDB_TYPE_ZSET_2);
    w.length(z.len() as u64);
    for (m, score) in z.iter().rev() {
        w.string(m);
        w.binary_double(score);
    }
    Some(())
}

// ---------------------------------------------------------------- listpack, intset

/// Listpack header: total bytes (u32) and element count (u16), both little endian.
const LP_HDR_SIZE: usize = 6;
const LP_EOF: u8 = 0xff;
/// Header count meaning "count them".
const LP_NUMELE_UNKNOWN: u16 = u16::MAX;

/// Builds a listpack blob as Valkey's `lpAppend` would.
struct ListpackWriter {
    buf: Vec<u8>,
    count: usize,
}

impl ListpackWriter {
    fn new() -> Self {
        ListpackWriter {
            buf: vec![0; LP_HDR_SIZE],
            count: 0,
        }
    }

    /// Appends an element: canonical integers in the narrowest integer encoding,
    /// anything else as a string.
    fn push(&mut self, s: &[u8]) {
        let start = self.buf.len();
        match crate::protocol::decode::parse_i64(s) {
            Some(v) => self.int(v),
            None => {
                let n = s.len();
                if n < 64 {
                    self.buf.push(0x80 | n as u8);
                } else if n < 4096 {
                    self.buf.push(0xe0 | (n >> 8) as u8);
                    self.buf.push(n as u8);
                } else {
                    self.buf.push(0xf0);
                    self.buf.extend_from_slice(&(n as u32).to_le_bytes());
                }
                self.buf.extend_from_slice(s);
            }
        }
        let entry = self.buf.len() - start;
        self.backlen(entry as u64);
        self.count += 1;
    }

    fn int(&mut self, v: i64) {
        let b = &mut self.buf;
        if (0..=127).contains(&v) {
            b.push(v as u8);
        } else if (-4096..=4095).contains(&v) {
            let u = (v & 0x1fff) as u16;
            b.push(0xc0 | (u >> 8) as u8);
            b.push(u as u8);
        } else if let Ok(h) = i16::try_from(v) {
            b.push(0xf1);
            b.extend_from_slice(&h.to_le_bytes());
        } else if (-(1 << 23)..(1 << 23)).contains(&v) {
            b.push(0xf2);
            b.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        } else if let Ok(i) = i32::try_from(v) {
            b.push(0xf3);
            b.extend_from_slice(&i.to_le_bytes());
        } else {
            b.push(0xf4);
            b.extend_from_slice(&v.to_le_bytes());
        }
    }

    /// The entry's length, written so it can be read backwards: most significant
    /// seven bits first, every byte but the first with the high bit set.
    fn backlen(&mut self, l: u64) {
        let n = backlen_size(l);
        for i in (0..n).rev() {
            let b = ((l >> (7 * i)) & 127) as u8;
            self.buf.push(if i == n - 1 { b } else { b | 128 });
        }
    }

    /// The blob, or None past the 32-bit size a listpack header can state.
    fn finish(mut self) -> Option<Vec<u8>> {
        self.buf.push(LP_EOF);
        let total = u32::try_from(self.buf.len()).ok()?;
        self.buf[..4].copy_from_slice(&total.to_le_bytes());
        let count = u16::try_from(self.count)
            .ok()
            .filter(|&c| c != LP_NUMELE_UNKNOWN)
            .unwrap_or(LP_NUMELE_UNKNOWN);
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        Some(self.buf)
    }
}

/// Bytes Valkey's `lpEncodeBacklen` uses for an entry of `l` bytes.
fn backlen_size(l: u64) -> u32 {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// An intset blob: encoding width and count (u32 little endian each), then the
/// sorted values at that width. The narrowest width holding every value is used.
fn intset_blob(ints: &[i64]) -> Vec<u8> {
    let width: usize = match (ints.first(), ints.last()) {
        (Some(&lo), Some(&hi)) if i16::try_from(lo).is_ok() && i16::try_from(hi).is_ok() => 2,
        (Some(&lo), Some(&hi)) if i32::try_from(lo).is_ok() && i32::try_from(hi).is_ok() => 4,
        (Some(_), Some(_)) => 8,
        _ => 2,
    };
    let mut b = Vec::with_capacity(8 + width * ints.len());
    b.extend_from_slice(&(width as u32).to_le_bytes());
    b.extend_from_slice(&(ints.len() as u32).to_le_bytes());
    for &v in ints {
        b.extend_from_slice(&v.to_le_bytes()[..width]);
    }
    b
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

/// The encoding thresholds a restored value is converted by, read from the
/// configuration by the caller.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// `list-max-listpack-size`
    pub list_fill: i64,
    pub hash: hash::Limits,
    pub set: set::Limits,
    pub zset: zset::Limits,
}

impl Default for Limits {
    /// The defaults of `conf/ferrokey.conf`.
    fn default() -> Self {
        Limits {
            list_fill: -2,
            hash: hash::Limits {
                max_entries: 128,
                max_value: 64,
            },
            set: set::Limits::default(),
            zset: zset::Limits {
                entries: 128,
                value: 64,
            },
        }
    }
}

/// Decodes a payload that passed [`verify`]. As in Valkey the reader runs over the
/// whole payload, footer included, and ignores bytes left after the value.
pub fn decode(payload: &[u8], lim: &Limits) -> Result<OwnedValue, DumpError> {
    let mut r = Reader::new(payload);
    let t = r.byte()?;
    if !is_object_type(t) {
        return Err(DumpError::BadFormat);
    }
    read_value(t, &mut r, lim)
}

/// Reads the body of a value of RDB type `t` (Valkey's `rdbLoadObject`). An empty
/// collection is refused, as Valkey refuses to create an empty key.
pub fn read_value(t: u8, r: &mut Reader, lim: &Limits) -> Result<OwnedValue, DumpError> {
    let obj = match t {
        RDB_TYPE_STRING => return Ok(OwnedValue::Str(r.string()?)),
        RDB_TYPE_LIST => Object::list(read_list(r, lim)?),
        RDB_TYPE_LIST_QUICKLIST | RDB_TYPE_LIST_QUICKLIST_2 => {
            Object::list(read_quicklist(r, t == RDB_TYPE_LIST_QUICKLIST_2, lim)?)
        }
        RDB_TYPE_LIST_ZIPLIST => {
            let blob = r.string()?;
            let texts: Vec<Vec<u8>> = ziplist_items(&blob)?.iter().map(|i| i.to_vec()).collect();
            nonempty(texts.len())?;
            // Valkey keeps this one as a quicklist without trying the compact form
            let elems = texts.iter().map(|t| &t[..]);
            Object::list(List::from_pushes(lim.list_fill, elems, false))
        }
        RDB_TYPE_SET => Object::Set(read_set(r, lim)?),
        RDB_TYPE_SET_INTSET => {
            let ints = intset_values(&r.string()?)?;
            if ints.len() > lim.set.intset_entries {
                let members = ints.iter().map(|&v| int_text(v).into()).collect();
                Object::Set(Set::from_members(members, false))
            } else {
                Object::Set(Set::from_sorted_ints(ints))
            }
        }
        RDB_TYPE_SET_LISTPACK => {
            let blob = r.string()?;
            let members = distinct(listpack_items(&blob)?)?;
            nonempty(members.len())?;
            let compact = members.len() <= lim.set.listpack_entries;
            Object::Set(Set::from_members(members, compact))
        }
        RDB_TYPE_ZSET | RDB_TYPE_ZSET_2 => Object::ZSet(read_zset(r, t == RDB_TYPE_ZSET_2, lim)?),
        RDB_TYPE_ZSET_LISTPACK | RDB_TYPE_ZSET_ZIPLIST => {
            let blob = r.string()?;
            let items = if t == RDB_TYPE_ZSET_LISTPACK {
                listpack_items(&blob)?
            } else {
                ziplist_items(&blob)?
            };
            let pairs = distinct_pairs(items)?;
            nonempty(pairs.len())?;
            let mut entries = Vec::with_capacity(pairs.len());
            for (m, score) in pairs {
                entries.push((m.into_vec(), score_of(&score)?));
            }
            // only the count decides here, as in Valkey, which does not scan lengths
            let z = zset::Limits {
                entries: lim.zset.entries,
                value: usize::MAX,
            };
            Object::ZSet(ZSet::from_entries(entries, z))
        }
        RDB_TYPE_HASH => Object::Hash(read_hash(r, lim)?),
        RDB_TYPE_HASH_ZIPMAP => {
            let blob = r.string()?;
            let items = zipmap_items(&blob)?;
            let pairs = distinct_pairs(items)?;
            // this old format converts by both count and length, as in Valkey
            let longest = pairs.iter().map(|(f, v)| f.len().max(v.len())).max();
            let compact =
                pairs.len() <= lim.hash.max_entries && longest.unwrap_or(0) <= lim.hash.max_value;
            Object::Hash(Hash::from_pairs(pairs, compact))
        }
        RDB_TYPE_HASH_LISTPACK | RDB_TYPE_HASH_ZIPLIST => {
            let blob = r.string()?;
            let items = if t == RDB_TYPE_HASH_LISTPACK {
                listpack_items(&blob)?
            } else {
                ziplist_items(&blob)?
            };
            let pairs = distinct_pairs(items)?;
            nonempty(pairs.len())?;
            let compact = pairs.len() <= lim.hash.max_entries;
            Object::Hash(Hash::from_pairs(pairs, compact))
        }
        _ => return Err(DumpError::BadFormat),
    };
    Ok(OwnedValue::Obj(obj))
}

fn nonempty(n: usize) -> Result<(), DumpError> {
    if n == 0 {
        Err(DumpError::BadFormat)
    } else {
        Ok(())
    }
}

/// A capacity for `n` claimed elements of at least one payload byte each: never more
/// than the bytes left could hold.
fn capacity(n: u64, r: &Reader) -> usize {
    n.min(r.remaining() as u64) as usize
}

/// `RDB_TYPE_LIST`: elements pushed one by one into a quicklist, then the encoding
/// chosen for the configured fill.
fn read_list(r: &mut Reader, lim: &Limits) -> Result<List, DumpError> {
    let n = r.length()?;
    if n == 0 {
        return Err(DumpError::BadFormat);
    }
    let mut elems = Vec::with_capacity(capacity(n, r));
    for _ in 0..n {
        elems.push(r.string()?);
    }
    Ok(List::from_pushes(
        lim.list_fill,
        elems.iter().map(|e| &e[..]),
        true,
    ))
}

/// `RDB_TYPE_LIST_QUICKLIST_2` (nodes with a container tag) and its ziplist-based
/// predecessor: node boundaries are kept, empty nodes skipped.
fn read_quicklist(r: &mut Reader, v2: bool, lim: &Limits) -> Result<List, DumpError> {
    let n = r.length()?;
    if n == 0 {
        return Err(DumpError::BadFormat);
    }
    let mut nodes = Vec::with_capacity(capacity(n, r));
    for _ in 0..n {
        let container = if v2 { r.length()? } else { QUICKLIST_PACKED };
        if container != QUICKLIST_PACKED && container != QUICKLIST_PLAIN {
            return Err(DumpError::BadFormat);
        }
        let data = r.string()?;
        if data.is_empty() {
            return Err(DumpError::BadFormat);
        }
        if container == QUICKLIST_PLAIN {
            nodes.push((vec![data.into_boxed_slice()], true));
            continue;
        }
        let items = if v2 {
            listpack_items(&data)?
        } else {
            ziplist_items(&data)?
        };
        let elems: Vec<Box<[u8]>> = items.iter().map(|i| i.to_vec().into()).collect();
        nodes.push((elems, false));
    }
    let l = List::from_nodes(lim.list_fill, nodes);
    nonempty(l.len())?;
    Ok(l)
}

/// Where Valkey's set loader would put the set so far.
#[derive(Clone, Copy, PartialEq)]
enum SetEnc {
    Ints,
    Pack,
    Table,
}

/// `RDB_TYPE_SET`: Valkey starts with an intset (or a hashtable past the intset
/// limit) and moves on per element, exactly as replayed here.
fn read_set(r: &mut Reader, lim: &Limits) -> Result<Set, DumpError> {
    let n = r.length()?;
    if n == 0 {
        return Err(DumpError::BadFormat);
    }
    let l = &lim.set;
    let mut enc = if n > l.intset_entries.min(1 << 30) as u64 {
        SetEnc::Table
    } else {
        SetEnc::Ints
    };
    let mut members: Vec<Box<[u8]>> = Vec::with_capacity(capacity(n, r));
    let (mut maxlen, mut sumlen) = (0usize, 0usize);
    for i in 0..n as usize {
        let m = r.string()?.into_boxed_slice();
        maxlen = maxlen.max(m.len());
        sumlen = sumlen.saturating_add(m.len());
        if enc == SetEnc::Ints && crate::protocol::decode::parse_i64(&m).is_none() {
            enc = if i < l.listpack_entries
                && maxlen <= l.listpack_value
                && sumlen <= LISTPACK_MAX_SAFETY
            {
                SetEnc::Pack
            } else {
                SetEnc::Table
            };
        }
        if enc == SetEnc::Pack && !(i < l.listpack_entries && m.len() <= l.listpack_value) {
            enc = SetEnc::Table;
        }
        members.push(m);
    }
    no_duplicates(members.iter().map(|m| &m[..]), members.len())?;
    Ok(match enc {
        SetEnc::Ints => {
            let mut ints: Vec<i64> = members
                .iter()
                .filter_map(|m| crate::protocol::decode::parse_i64(m))
                .collect();
            ints.sort_unstable();
            Set::from_sorted_ints(ints)
        }
        SetEnc::Pack => Set::from_members(members, true),
        SetEnc::Table => Set::from_members(members, false),
    })
}

/// `RDB_TYPE_ZSET_2` (binary scores) and `RDB_TYPE_ZSET` (scores as text); the
/// encoding is chosen after loading, by count and longest member.
fn read_zset(r: &mut Reader, binary: bool, lim: &Limits) -> Result<ZSet, DumpError> {
    let n = r.length()?;
    if n == 0 {
        return Err(DumpError::BadFormat);
    }
    let mut entries = Vec::with_capacity(capacity(n, r));
    for _ in 0..n {
        let m = r.string()?;
        let score = if binary {
            f64::from_le_bytes(r.array()?)
        } else {
            r.text_double()?
        };
        if score.is_nan() {
            return Err(DumpError::BadFormat);
        }
        entries.push((m, score));
    }
    no_duplicates(entries.iter().map(|e| &e.0[..]), entries.len())?;
    let total: usize = entries.iter().map(|(m, _)| m.len()).sum();
    let mut z = lim.zset;
    if total > LISTPACK_MAX_SAFETY {
        z.entries = 0;
    }
    Ok(ZSet::from_entries(entries, z))
}

/// `RDB_TYPE_HASH`: compact while every pair fits the thresholds.
fn read_hash(r: &mut Reader, lim: &Limits) -> Result<Hash, DumpError> {
    let n = r.length()?;
    if n == 0 {
        return Err(DumpError::BadFormat);
    }
    let mut compact = n <= lim.hash.max_entries as u64;
    let mut pairs = Vec::with_capacity(capacity(n, r));
    let mut total = 0usize;
    for _ in 0..n {
        let f = r.string()?.into_boxed_slice();
        let v = r.string()?.into_boxed_slice();
        total = total.saturating_add(f.len() + v.len());
        if f.len() > lim.hash.max_value
            || v.len() > lim.hash.max_value
            || total > LISTPACK_MAX_SAFETY
        {
            compact = false;
        }
        pairs.push((f, v));
    }
    no_duplicates(pairs.iter().map(|p| &p.0[..]), pairs.len())?;
    Ok(Hash::from_pairs(pairs, compact))
}

impl Reader<'_> {
    /// A double as text behind a length byte, with 253..255 meaning NaN, +inf and -inf
    /// (`rdbLoadDoubleValue`).
    fn text_double(&mut self) -> Result<f64, DumpError> {
        match self.byte()? {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => parse_score(self.bytes(n as u64)?).ok_or(DumpError::BadFormat),
        }
    }
}

/// A score stored as text: decimal or scientific notation, or an infinity.
fn parse_score(b: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(b).ok()?;
    let v = match s.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        l if l.contains("nan") => return None,
        _ => s.parse::<f64>().ok()?,
    };
    (!v.is_nan()).then_some(v)
}

fn score_of(item: &[u8]) -> Result<f64, DumpError> {
    parse_score(item).ok_or(DumpError::BadFormat)
}

/// One element of a listpack or ziplist.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Item<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Item<'_> {
    fn to_vec(self) -> Vec<u8> {
        match self {
            Item::Int(v) => int_text(v),
            Item::Str(s) => s.to_vec(),
        }
    }
}

/// Set members from blob items, refusing duplicates (compared as text, as Valkey's
/// sanitizer does).
fn distinct(items: Vec<Item>) -> Result<Vec<Box<[u8]>>, DumpError> {
    let out: Vec<Box<[u8]>> = items.into_iter().map(|i| i.to_vec().into()).collect();
    no_duplicates(out.iter().map(|m| &m[..]), out.len())?;
    Ok(out)
}

/// Field/value pairs from blob items: an even count and no repeated field.
#[allow(clippy::type_complexity)]
fn distinct_pairs(items: Vec<Item>) -> Result<Vec<(Box<[u8]>, Box<[u8]>)>, DumpError> {
    if !items.len().is_multiple_of(2) {
        return Err(DumpError::BadFormat);
    }
    let out: Vec<(Box<[u8]>, Box<[u8]>)> = items
        .chunks_exact(2)
        .map(|p| (p[0].to_vec().into(), p[1].to_vec().into()))
        .collect();
    no_duplicates(out.iter().map(|p| &p.0[..]), out.len())?;
    Ok(out)
}

/// Refuses a repeated member or field: the store's values never hold one.
fn no_duplicates<'a>(items: impl Iterator<Item = &'a [u8]>, n: usize) -> Result<(), DumpError> {
    let mut seen: HashSet<&[u8]> = HashSet::with_capacity(n);
    for m in items {
        if !seen.insert(m) {
            return Err(DumpError::BadFormat);
        }
    }
    Ok(())
}

/// Little-endian fixed-width integer at `at`, or None past the end.
fn le_bytes<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    let s = b.get(at..at.checked_add(N)?)?;
    let mut a = [0u8; N];
    a.copy_from_slice(s);
    Some(a)
}

/// Sign-extends the low `bits` bits of `u`.
fn sign_extend(u: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((u << shift) as i64) >> shift
}

/// The entries of a listpack, checked as Valkey's deep `lpValidateIntegrity`: the
/// header's size is the blob's, every entry and its back-length agree and stay inside,
/// the terminator is the last byte and the count (unless "unknown") is right.
fn listpack_items(lp: &[u8]) -> Result<Vec<Item<'_>>, DumpError> {
    listpack_parse(lp).ok_or(DumpError::BadFormat)
}

fn listpack_parse(lp: &[u8]) -> Option<Vec<Item<'_>>> {
    if lp.len() < LP_HDR_SIZE + 1 {
        return None;
    }
    let total = u32::from_le_bytes(le_bytes(lp, 0)?) as usize;
    let numele = u16::from_le_bytes(le_bytes(lp, 4)?);
    let end = lp.len() - 1;
    if total != lp.len() || lp[end] != LP_EOF {
        return None;
    }
    // every entry takes at least two bytes
    let mut items = Vec::with_capacity((end - LP_HDR_SIZE) / 2);
    let mut p = LP_HDR_SIZE;
    while p < end {
        let b = lp[p];
        let byte = |i: usize| lp.get(p + i).copied().filter(|_| p + i < end);
        let (hdr, data, item): (usize, usize, _) = match b {
            0x00..=0x7f => (1, 0, Some(Item::Int(b as i64))),
            0x80..=0xbf => (1, (b & 0x3f) as usize, None),
            0xc0..=0xdf => {
                let u = (((b & 0x1f) as u64) << 8) | byte(1)? as u64;
                (2, 0, Some(Item::Int(sign_extend(u, 13))))
            }
            0xe0..=0xef => (2, (((b & 0x0f) as usize) << 8) | byte(1)? as usize, None),
            0xf0 => (5, u32::from_le_bytes(le_bytes(lp, p + 1)?) as usize, None),
            0xf1 => {
                let v = i16::from_le_bytes(le_bytes(lp, p + 1)?);
                (3, 0, Some(Item::Int(v as i64)))
            }
            0xf2 => {
                let a: [u8; 3] = le_bytes(lp, p + 1)?;
                let u = a[0] as u64 | (a[1] as u64) << 8 | (a[2] as u64) << 16;
                (4, 0, Some(Item::Int(sign_extend(u, 24))))
            }
            0xf3 => {
                let v = i32::from_le_bytes(le_bytes(lp, p + 1)?);
                (5, 0, Some(Item::Int(v as i64)))
            }
            0xf4 => {
                let v = i64::from_le_bytes(le_bytes(lp, p + 1)?);
                (9, 0, Some(Item::Int(v)))
            }
            // 0xf5..=0xfe are unused encodings; 0xff is a terminator before the end
            _ => return None,
        };
        let entry = hdr.checked_add(data)?;
        let next = p
            .checked_add(entry)?
            .checked_add(backlen_size(entry as u64) as usize)?;
        if next > end {
            return None;
        }
        // the back-length, read backwards from the entry's last byte
        let (mut val, mut shift, mut q) = (0u64, 0u32, next - 1);
        loop {
            val |= ((lp[q] & 127) as u64) << shift;
            if lp[q] & 128 == 0 {
                break;
            }
            shift += 7;
            if shift > 28 || q <= p {
                return None;
            }
            q -= 1;
        }
        if val != entry as u64 {
            return None;
        }
        items.push(item.unwrap_or_else(|| Item::Str(&lp[p + hdr..p + entry])));
        p = next;
    }
    if numele != LP_NUMELE_UNKNOWN && numele as usize != items.len() {
        return None;
    }
    Some(items)
}

/// The values of an intset blob, checked as Valkey's deep `intsetValidateIntegrity`:
/// a known width, a size matching the count, not empty, strictly ascending.
fn intset_values(blob: &[u8]) -> Result<Vec<i64>, DumpError> {
    let bad = DumpError::BadFormat;
    let width = u32::from_le_bytes(le_bytes(blob, 0).ok_or(bad)?) as usize;
    let count = u32::from_le_bytes(le_bytes(blob, 4).ok_or(bad)?) as usize;
    if !matches!(width, 2 | 4 | 8)
        || 8 + count as u64 * width as u64 != blob.len() as u64
        || count == 0
    {
        return Err(bad);
    }
    let mut out: Vec<i64> = Vec::with_capacity(count);
    for c in blob[8..].chunks_exact(width) {
        let v = match width {
            2 => i16::from_le_bytes([c[0], c[1]]) as i64,
            4 => i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64,
            _ => i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]),
        };
        if out.last().is_some_and(|&prev| v <= prev) {
            return Err(bad);
        }
        out.push(v);
    }
    Ok(out)
}

/// The fields and values of a zipmap (hashes in RDB files of Redis 2.4 and older),
/// checked as Valkey's deep `zipmapValidateIntegrity`: a count byte (254 when it does
/// not fit), then per pair a length (one byte below 254, else 254 and four more), the
/// field, a length, a byte of free space, the value and that much padding; 255 ends it.
fn zipmap_items(zm: &[u8]) -> Result<Vec<Item<'_>>, DumpError> {
    zipmap_parse(zm).ok_or(DumpError::BadFormat)
}

fn zipmap_parse(zm: &[u8]) -> Option<Vec<Item<'_>>> {
    const BIGLEN: u8 = 254;
    const END: u8 = 255;
    if zm.len() < 2 || zm[zm.len() - 1] != END {
        return None;
    }
    let end = zm.len() - 1;
    // (bytes of the length, the length) at `p`, which is inside the blob
    let length_at = |p: usize| -> Option<(usize, usize)> {
        if zm[p] < BIGLEN {
            Some((1, zm[p] as usize))
        } else {
            Some((5, u32::from_le_bytes(le_bytes(zm, p + 1)?) as usize))
        }
    };
    let mut items = Vec::new();
    let mut p = 1;
    while zm[p] != END {
        let (s, flen) = length_at(p)?;
        let field = p.checked_add(s)?;
        p = field.checked_add(flen)?;
        if p > end {
            return None;
        }
        let (s, vlen) = length_at(p)?;
        p = p.checked_add(s)?;
        if p > end {
            return None;
        }
        let free = zm[p] as usize;
        let value = p + 1;
        p = value.checked_add(vlen)?.checked_add(free)?;
        if p > end {
            return None;
        }
        items.push(Item::Str(&zm[field..field + flen]));
        items.push(Item::Str(&zm[value..value + vlen]));
    }
    let count = items.len() / 2;
    if count == 0 || (zm[0] != BIGLEN && zm[0] as usize != count) {
        return None;
    }
    Some(items)
}

/// Ziplist header: total bytes, offset of the last entry (u32 each), count (u16).
const ZL_HDR_SIZE: usize = 10;

/// The entries of a ziplist (the compact format before listpack, in RDB types 10, 12,
/// 13 and 14), checked as Valkey's deep `ziplistValidateIntegrity`.
fn ziplist_items(zl: &[u8]) -> Result<Vec<Item<'_>>, DumpError> {
    ziplist_parse(zl).ok_or(DumpError::BadFormat)
}

fn ziplist_parse(zl: &[u8]) -> Option<Vec<Item<'_>>> {
    if zl.len() < ZL_HDR_SIZE + 1 {
        return None;
    }
    let total = u32::from_le_bytes(le_bytes(zl, 0)?) as usize;
    let tail = u32::from_le_bytes(le_bytes(zl, 4)?) as usize;
    let count = u16::from_le_bytes(le_bytes(zl, 8)?);
    let end = zl.len() - 1;
    if total != zl.len() || zl[end] != 0xff || tail > end {
        return None;
    }
    let mut items = Vec::with_capacity((end - ZL_HDR_SIZE) / 2);
    let (mut p, mut prev_size, mut last) = (ZL_HDR_SIZE, 0usize, None);
    while p < end {
        let byte = |i: usize| zl.get(i).copied().filter(|_| i < end);
        // the previous entry's size: one byte, or 0xfe and four more
        let (plen, prev) = match byte(p)? {
            0xff => return None,
            0xfe => (5, u32::from_le_bytes(le_bytes(zl, p + 1)?) as usize),
            b => (1, b as usize),
        };
        if prev != prev_size {
            return None;
        }
        let e = p + plen;
        let b = byte(e)?;
        let (hdr, data, item) = match b >> 6 {
            0 => (1, (b & 0x3f) as usize, None),
            1 => (
                2,
                (((b & 0x3f) as usize) << 8) | byte(e + 1)? as usize,
                None,
            ),
            2 => {
                let a: [u8; 4] = le_bytes(zl, e + 1)?;
                (5, u32::from_be_bytes(a) as usize, None)
            }
            _ => match b {
                0xc0 => (3, 0, Some(i16::from_le_bytes(le_bytes(zl, e + 1)?) as i64)),
                0xd0 => (5, 0, Some(i32::from_le_bytes(le_bytes(zl, e + 1)?) as i64)),
                0xe0 => (9, 0, Some(i64::from_le_bytes(le_bytes(zl, e + 1)?))),
                0xf0 => {
                    let a: [u8; 3] = le_bytes(zl, e + 1)?;
                    let u = a[0] as u64 | (a[1] as u64) << 8 | (a[2] as u64) << 16;
                    (4, 0, Some(sign_extend(u, 24)))
                }
                0xfe => (2, 0, Some(i8::from_le_bytes(le_bytes(zl, e + 1)?) as i64)),
                0xf1..=0xfd => (1, 0, Some((b & 0x0f) as i64 - 1)),
                _ => return None,
            },
        };
        let size = plen.checked_add(hdr)?.checked_add(data)?;
        let next = p.checked_add(size)?;
        if next > end {
            return None;
        }
        items.push(match item {
            Some(v) => Item::Int(v),
            None => Item::Str(&zl[e + hdr..next]),
        });
        last = Some(p);
        prev_size = size;
        p = next;
    }
    if last.is_some_and(|l| l != tail) {
        return None;
    }
    if count != u16::MAX && count as usize != items.len() {
        return None;
    }
    Some(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload_of(s: &[u8], compress: bool) -> Vec<u8> {
        encode(ValueRef::Str(s), compress).unwrap_or_default()
    }

    fn restored(p: &[u8]) -> Result<Vec<u8>, DumpError> {
        verify(p, false)?;
        match decode(p, &Limits::default())? {
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
    fn lzf_output_matches_valkey() {
        // DUMP replies of valkey-server 8.0.1: its compressor's exact bytes, and its
        // refusal when the result would come within a few bytes of the input size
        let cases: [(&[u8], &[u8]); 5] = [
            (
                b"aaaaaaaaaaaaaaaaaaaaa",
                b"\x00\xc3\x06\x15\x01aa\xe0\n\x00\x0b\x00\x94\xd3\x0e\x1b\xfa\xde\xd6\xe1",
            ),
            (
                b"abaaaaaaaabbaaaabbabba",
                b"\x00\xc3\x0e\x16\x02aba\xa0\x00\x00b`\t \x05 \x02\x0b\x00\xdd\x97\x08\x1d`\xe5\"\xc6",
            ),
            (
                b"cagechcagechcagechcagechca",
                b"\x00\xc3\x0b\x1a\x06cagechc\xe0\n\x05\x0b\x00\"\xce\xa5\x0e\x17\x8d\xf4\x83",
            ),
            (
                b"bbabaabbabbbbaaabbbbabbbaaabbaaa",
                b"\x00\xc3\x18 \x06bbabaab \x05 \x00\x00a@\t \x06@\x03@\n \x04\x0b\x00P\xb6\x9f\x8d\x9a\x17\x13'",
            ),
            (
                b"01234567890123456789012345678901234567890123456789012345678901234567890123456",
                b"\x00\xc3\x12@M\n01234567890\xe07\t\x0156\x0b\x00e\x0b\xdb\x92\xe2\xd0t$",
            ),
        ];
        for (value, valkey) in cases {
            assert_eq!(payload_of(value, true), valkey);
            assert_eq!(restored(valkey).unwrap(), value);
        }
        // an intset blob Valkey stores verbatim although LZF would save four bytes
        let blob = intset_blob(&[-70000, 3, 9999999999]);
        assert_eq!(blob.len(), 32);
        assert_eq!(payload_of(&blob, true)[1], 32);
        // every compressed result decompresses back
        let mut x = 1u32;
        for len in 21..600 {
            let s: Vec<u8> = (0..len)
                .map(|_| {
                    x = x.wrapping_mul(1103515245).wrapping_add(12345);
                    b"abcab"[(x >> 16) as usize % 5]
                })
                .collect();
            assert_eq!(restored(&payload_of(&s, true)).unwrap(), s);
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
            assert_eq!(
                decode(&p, &Limits::default()).err(),
                Some(DumpError::BadFormat),
                "{body:?}"
            );
        }
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
            let _ = decode(&p, &Limits::default());
            // and raw garbage through the footer check
            let raw: Vec<u8> = (0..rng.gen_range(0..24)).map(|_| rng.gen()).collect();
            if verify(&raw, true).is_ok() {
                let _ = decode(&raw, &Limits::default());
            }
        }
    }
}

#[cfg(test)]
mod collection_tests {
    use super::*;
    use crate::store::list::End;

    fn list_of(fill: i64, elems: &[&[u8]]) -> List {
        let mut l = List::new();
        l.grow_for(fill, elems.iter().copied());
        for e in elems {
            l.push(End::Tail, e);
        }
        l
    }

    fn hash_of(pairs: &[(&[u8], &[u8])], lim: hash::Limits) -> Hash {
        let mut h = Hash::default();
        for (f, v) in pairs {
            h.set(f, v, lim);
        }
        h
    }

    fn set_of(members: &[&[u8]], lim: &set::Limits) -> Set {
        let mut s = Set::create_for(members[0], members.len(), lim);
        for m in members {
            s.add(m, lim);
        }
        s
    }

    fn zset_of(entries: &[(&[u8], f64)], lim: zset::Limits) -> ZSet {
        let mut z = ZSet::new();
        for (m, s) in entries {
            z.insert(m, *s, lim);
        }
        z
    }

    fn payload(o: &Object) -> Vec<u8> {
        encode(ValueRef::Obj(o), true).expect("encodable")
    }

    fn restore(p: &[u8], lim: &Limits) -> Result<Object, DumpError> {
        verify(p, false)?;
        match decode(p, lim)? {
            OwnedValue::Obj(o) => Ok(o),
            OwnedValue::Str(_) => panic!("a string"),
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

    /// Same contents and encoding; lists also the same node boundaries (their fill,
    /// which only matters for later growth, follows the configuration).
    fn assert_same(a: &Object, b: &Object) {
        match (a, b) {
            (Object::List(x), Object::List(y)) => {
                assert!(x.iter().eq(y.iter()), "list contents differ");
                assert_eq!(x.node_layout(), y.node_layout());
            }
            _ => assert_eq!(a, b),
        }
        assert_eq!(a.encoding(), b.encoding());
    }

    /// Encodes, decodes with the same limits and checks value and encoding survive.
    fn round_trip(o: &Object, lim: &Limits) {
        let back = restore(&payload(o), lim).expect("restores");
        assert_same(&back, o);
    }

    const SMALL_HASH: hash::Limits = hash::Limits {
        max_entries: 128,
        max_value: 64,
    };
    const SMALL_ZSET: zset::Limits = zset::Limits {
        entries: 128,
        value: 64,
    };

    #[test]
    fn valkey_collection_payloads() {
        // DUMP replies of valkey-server 8.0.1 for the same values built the same way
        let lim = Limits::default();
        let x70 = [b'x'; 70];
        let cases: Vec<(Object, &[u8])> = vec![
            (
                Object::list(list_of(-2, &[b"a", b"b", b"123", b"-7", &x70])),
                b"\x12\x01\x02\xc3\x1b@[\x13[\x00\x00\x00\x05\x00\x81a\x02\x81b\x02{\x01\xdf\xf9\x02\xe0Fx\xe0<\x00\x01H\xff\x0b\x00\xb6t\xef3\x82\xfd\xad\xc4",
            ),
            (
                Object::list(list_of(2, &[b"a", b"b", b"c", b"d", b"e"])),
                b"\x12\x03\x02\r\r\x00\x00\x00\x02\x00\x81a\x02\x81b\x02\xff\x02\r\r\x00\x00\x00\x02\x00\x81c\x02\x81d\x02\xff\x02\n\n\x00\x00\x00\x01\x00\x81e\x02\xff\x0b\x00\x85\x8d\x8b\xd4\x9d\xbfHR",
            ),
            (
                Object::Hash(hash_of(&[(b"f", b"v"), (b"n", b"-300")], SMALL_HASH)),
                b"\x10\x13\x13\x00\x00\x00\x04\x00\x81f\x02\x81v\x02\x81n\x02\xde\xd4\x02\xff\x0b\x00\x94~\x91\xc2(B\xbc6",
            ),
            (
                Object::Set(set_of(&[b"5", b"-70000", b"1"], &lim.set)),
                b"\x0b\x14\x04\x00\x00\x00\x03\x00\x00\x00\x90\xee\xfe\xff\x01\x00\x00\x00\x05\x00\x00\x00\x0b\x00N\x9c'\xe1\xc8\xeaX\x1e",
            ),
            (
                Object::Set(set_of(&[b"a", b"b", b"1"], &lim.set)),
                b"\x14\x0f\x0f\x00\x00\x00\x03\x00\x81a\x02\x81b\x02\x01\x01\xff\x0b\x00.\xbb\xdfA\xd7\x87\rd",
            ),
            (
                Object::ZSet(zset_of(
                    &[(b"a", 1.0), (b"b", 2.5), (b"c", f64::NEG_INFINITY)],
                    SMALL_ZSET,
                )),
                b"\x11\x1d\x1d\x00\x00\x00\x06\x00\x81c\x02\x84-inf\x05\x81a\x02\x01\x01\x81b\x02\x832.5\x04\xff\x0b\x00PM\x8e\xe8\x1c\x80\xdb\xb4",
            ),
        ];
        for (o, valkey) in cases {
            assert_eq!(payload(&o), valkey, "{}", o.type_name());
            assert_same(&restore(valkey, &lim).unwrap(), &o);
        }
    }

    #[test]
    fn every_listpack_entry_encoding_round_trips() {
        let lim = Limits {
            list_fill: -5,
            ..Limits::default()
        };
        let (s63, s64, s4095, s4096) = (
            vec![b's'; 63],
            vec![b's'; 64],
            vec![b's'; 4095],
            vec![b's'; 4096],
        );
        let elems: Vec<&[u8]> = vec![
            b"0",
            b"127",
            b"128",
            b"-1",
            b"-4096",
            b"4095",
            b"-4097",
            b"4096",
            b"32767",
            b"-32768",
            b"32768",
            b"-8388608",
            b"8388607",
            b"8388608",
            b"2147483647",
            b"-2147483648",
            b"2147483648",
            b"9223372036854775807",
            b"-9223372036854775808",
            b"9223372036854775808",
            b"007",
            b"+1",
            b"-0",
            b"",
            &s63,
            &s64,
            &s4095,
            &s4096,
        ];
        let l = Object::list(list_of(-5, &elems));
        assert_eq!(l.encoding(), "listpack");
        round_trip(&l, &lim);
        // every integer-looking element really went through an integer encoding
        let p = payload(&l);
        let restored = restore(&p, &lim).unwrap();
        let Object::List(r) = restored else {
            panic!("not a list")
        };
        assert_eq!(r.iter().collect::<Vec<_>>(), elems);
    }

    #[test]
    fn quicklists_keep_their_nodes() {
        let big = vec![b'y'; 9000];
        let lim = Limits::default();
        // a plain node between packed ones
        let l = list_of(-2, &[b"a", &big, b"b"]);
        assert_eq!(l.node_layout(), vec![(1, false), (1, true), (1, false)]);
        round_trip(&Object::list(l.clone()), &lim);
        // count-limited nodes
        let elems: Vec<Vec<u8>> = (0..50).map(|i| format!("e{i}").into_bytes()).collect();
        let refs: Vec<&[u8]> = elems.iter().map(|e| &e[..]).collect();
        let q = list_of(4, &refs);
        let lim4 = Limits {
            list_fill: 4,
            ..lim
        };
        round_trip(&Object::list(q.clone()), &lim4);
        let Object::List(back) = restore(&payload(&Object::list(q.clone())), &lim4).unwrap() else {
            panic!("not a list")
        };
        assert_eq!(back.node_layout(), q.node_layout());
        // restored where the fill allows one node: the compact encoding
        let Object::List(back) = restore(&payload(&Object::list(q)), &lim).unwrap() else {
            panic!("not a list")
        };
        assert_eq!(back.encoding(), "quicklist");
        assert_eq!(back.len(), 50);
        let one = list_of(4, &[b"a", b"b", b"c"]);
        let Object::List(back) = restore(&payload(&Object::list(one)), &lim).unwrap() else {
            panic!("not a list")
        };
        assert_eq!(back.encoding(), "listpack");
        // the fallback layout covers every element, large ones in plain nodes
        let big = vec![b'b'; 10000];
        let mixed: Vec<&[u8]> = (0..2000)
            .map(|i| if i % 500 == 0 { &big[..] } else { &b"elem"[..] })
            .collect();
        let l = list_of(-2, &mixed);
        let nodes = fallback_nodes(&l);
        assert_eq!(nodes.iter().map(|n| n.0).sum::<usize>(), 2000);
        assert_eq!(nodes.iter().filter(|n| n.1).count(), 4);
        assert!(nodes.iter().all(|n| !n.1 || n.0 == 1));
    }

    #[test]
    fn hashes_round_trip_in_both_encodings() {
        let lim = Limits::default();
        let small = hash_of(&[(b"a", b"1"), (b"b", b"x"), (b"7", b"-9")], SMALL_HASH);
        assert!(small.is_listpack());
        round_trip(&Object::Hash(small.clone()), &lim);
        let fields: Vec<(Vec<u8>, Vec<u8>)> = (0..300)
            .map(|i| (format!("f{i}").into_bytes(), format!("{i}").into_bytes()))
            .collect();
        let refs: Vec<(&[u8], &[u8])> = fields.iter().map(|(f, v)| (&f[..], &v[..])).collect();
        let big = hash_of(&refs, SMALL_HASH);
        assert!(!big.is_listpack());
        let p = payload(&Object::Hash(big.clone()));
        assert_eq!(p[0], RDB_TYPE_HASH);
        round_trip(&Object::Hash(big), &lim);
        // a long value makes the plain type restore as a table
        let long = hash_of(&[(b"a", &[b'v'; 100])], SMALL_HASH);
        assert_eq!(payload(&Object::Hash(long.clone()))[0], RDB_TYPE_HASH);
        round_trip(&Object::Hash(long), &lim);
        // a listpack payload past the count limit becomes a table; only the count decides
        let few = Limits {
            hash: hash::Limits {
                max_entries: 2,
                max_value: 1,
            },
            ..lim
        };
        let Object::Hash(h) = restore(&payload(&Object::Hash(small.clone())), &few).unwrap() else {
            panic!("not a hash")
        };
        assert!(!h.is_listpack());
        assert_eq!(h, small);
        let two = hash_of(&[(b"long-field", b"long-value")], SMALL_HASH);
        let Object::Hash(h) = restore(&payload(&Object::Hash(two)), &few).unwrap() else {
            panic!("not a hash")
        };
        assert!(h.is_listpack());
    }

    #[test]
    fn sets_round_trip_in_every_encoding() {
        let lim = Limits::default();
        for members in [
            vec![&b"1"[..], b"2", b"3"],
            vec![b"-70000", b"5", b"9999999999"],
            vec![b"-32768", b"32767"],
            vec![b"a", b"1", b"b"],
        ] {
            round_trip(&Object::Set(set_of(&members, &lim.set)), &lim);
        }
        let many: Vec<Vec<u8>> = (0..1000).map(|i| format!("{i}").into_bytes()).collect();
        let refs: Vec<&[u8]> = many.iter().map(|m| &m[..]).collect();
        let s = set_of(&refs, &lim.set);
        assert!(s.is_hashtable());
        assert_eq!(payload(&Object::Set(s.clone()))[0], RDB_TYPE_SET);
        round_trip(&Object::Set(s), &lim);
        let words: Vec<Vec<u8>> = (0..200).map(|i| format!("m{i}").into_bytes()).collect();
        let refs: Vec<&[u8]> = words.iter().map(|m| &m[..]).collect();
        round_trip(&Object::Set(set_of(&refs, &lim.set)), &lim);
        // the plain type replays Valkey's per-element conversions
        let body = |ms: &[&[u8]]| {
            let mut w = Writer::new(false);
            w.byte(RDB_TYPE_SET);
            w.length(ms.len() as u64);
            for m in ms {
                w.string(m);
            }
            w.finish()
        };
        let enc = |ms: &[&[u8]]| restore(&body(ms), &lim).unwrap().encoding();
        assert_eq!(enc(&[b"3", b"1", b"2"]), "intset");
        assert_eq!(enc(&[b"3", b"a"]), "listpack");
        assert_eq!(enc(&[b"3", &[b'a'; 65]]), "hashtable");
        assert_eq!(enc(&[b"a", b"3"]), "listpack");
        // an intset payload past the intset limit becomes a table
        let few = Limits {
            set: set::Limits {
                intset_entries: 2,
                listpack_entries: 2,
                listpack_value: 64,
            },
            ..lim
        };
        let three = Object::Set(set_of(&[b"1", b"2", b"3"], &lim.set));
        assert_eq!(
            restore(&payload(&three), &few).unwrap().encoding(),
            "hashtable"
        );
        let three = Object::Set(set_of(&[b"a", b"b", b"c"], &lim.set));
        assert_eq!(
            restore(&payload(&three), &few).unwrap().encoding(),
            "hashtable"
        );
    }

    #[test]
    fn zsets_round_trip_in_both_encodings() {
        let lim = Limits::default();
        let entries: [(&[u8], f64); 7] = [
            (b"a", 1.0),
            (b"b", 2.5),
            (b"c", f64::INFINITY),
            (b"d", f64::NEG_INFINITY),
            (b"e", -0.1),
            (b"f", 1e300),
            (b"g", 4611686018427387904.0),
        ];
        let small = zset_of(&entries, SMALL_ZSET);
        assert_eq!(small.encoding(), "listpack");
        round_trip(&Object::ZSet(small.clone()), &lim);
        let big = zset_of(
            &entries,
            zset::Limits {
                entries: 0,
                value: 64,
            },
        );
        assert_eq!(big.encoding(), "skiplist");
        let p = payload(&Object::ZSet(big.clone()));
        assert_eq!(p[0], RDB_TYPE_ZSET_2);
        // the plain type converts back to the compact encoding when it fits
        assert_eq!(restore(&p, &lim).unwrap(), Object::ZSet(small.clone()));
        assert_eq!(restore(&p, &lim).unwrap().encoding(), "listpack");
        // a listpack payload converts by count only
        let tight = Limits {
            zset: zset::Limits {
                entries: 7,
                value: 0,
            },
            ..lim
        };
        let back = restore(&payload(&Object::ZSet(small.clone())), &tight).unwrap();
        assert_eq!(back.encoding(), "listpack");
        let back = restore(&p, &tight).unwrap();
        assert_eq!(back.encoding(), "skiplist");
        let tight = Limits {
            zset: zset::Limits {
                entries: 6,
                value: 64,
            },
            ..lim
        };
        let back = restore(&payload(&Object::ZSet(small)), &tight).unwrap();
        assert_eq!(back.encoding(), "skiplist");
    }

    /// Builds a ziplist from entries, as Redis before 7 wrote them.
    fn ziplist(vals: &[Item]) -> Vec<u8> {
        let mut body = Vec::new();
        let (mut prev, mut tail) = (0usize, ZL_HDR_SIZE);
        for v in vals {
            tail = ZL_HDR_SIZE + body.len();
            let mut e = Vec::new();
            if prev < 254 {
                e.push(prev as u8);
            } else {
                e.push(0xfe);
                e.extend_from_slice(&(prev as u32).to_le_bytes());
            }
            match *v {
                Item::Int(n @ 0..=12) => e.push(0xf1 + n as u8),
                Item::Int(n) if i8::try_from(n).is_ok() => {
                    e.push(0xfe);
                    e.push(n as u8);
                }
                Item::Int(n) if i16::try_from(n).is_ok() => {
                    e.push(0xc0);
                    e.extend_from_slice(&(n as i16).to_le_bytes());
                }
                Item::Int(n) if (-(1 << 23)..(1 << 23)).contains(&n) => {
                    e.push(0xf0);
                    e.extend_from_slice(&(n as i32).to_le_bytes()[..3]);
                }
                Item::Int(n) if i32::try_from(n).is_ok() => {
                    e.push(0xd0);
                    e.extend_from_slice(&(n as i32).to_le_bytes());
                }
                Item::Int(n) => {
                    e.push(0xe0);
                    e.extend_from_slice(&n.to_le_bytes());
                }
                Item::Str(s) if s.len() < 64 => {
                    e.push(s.len() as u8);
                    e.extend_from_slice(s);
                }
                Item::Str(s) if s.len() < 16384 => {
                    e.push(0x40 | (s.len() >> 8) as u8);
                    e.push(s.len() as u8);
                    e.extend_from_slice(s);
                }
                Item::Str(s) => {
                    e.push(0x80);
                    e.extend_from_slice(&(s.len() as u32).to_be_bytes());
                    e.extend_from_slice(s);
                }
            }
            prev = e.len();
            body.extend_from_slice(&e);
        }
        let mut zl = Vec::new();
        zl.extend_from_slice(&((ZL_HDR_SIZE + body.len() + 1) as u32).to_le_bytes());
        zl.extend_from_slice(&(tail as u32).to_le_bytes());
        zl.extend_from_slice(&(vals.len() as u16).to_le_bytes());
        zl.extend_from_slice(&body);
        zl.push(0xff);
        zl
    }

    fn blob_payload(t: u8, blob: &[u8]) -> Vec<u8> {
        let mut w = Writer::new(false);
        w.byte(t);
        w.string(blob);
        w.finish()
    }

    #[test]
    fn ziplist_types_restore() {
        let lim = Limits::default();
        let big = vec![b'z'; 300];
        let vals = [
            Item::Str(b"a"),
            Item::Int(0),
            Item::Int(12),
            Item::Int(13),
            Item::Int(-100),
            Item::Int(-30000),
            Item::Int(100000),
            Item::Int(-3000000000),
            Item::Str(&big),
        ];
        let texts: Vec<Vec<u8>> = vals.iter().map(|v| v.to_vec()).collect();
        let zl = ziplist(&vals);
        assert_eq!(ziplist_items(&zl).unwrap(), vals);
        // list: one ziplist, and a quicklist of ziplists
        let Object::List(l) = restore(&blob_payload(RDB_TYPE_LIST_ZIPLIST, &zl), &lim).unwrap()
        else {
            panic!("not a list")
        };
        assert_eq!(l.iter().map(|e| e.to_vec()).collect::<Vec<_>>(), texts);
        assert_eq!(l.encoding(), "quicklist");
        let mut w = Writer::new(false);
        w.byte(RDB_TYPE_LIST_QUICKLIST);
        w.length(2);
        w.string(&ziplist(&vals[..4]));
        w.string(&ziplist(&vals[4..]));
        let Object::List(l) = restore(&w.finish(), &lim).unwrap() else {
            panic!("not a list")
        };
        assert_eq!(l.iter().map(|e| e.to_vec()).collect::<Vec<_>>(), texts);
        // hash and zset pairs
        let h = ziplist(&[Item::Str(b"f"), Item::Int(5), Item::Int(7), Item::Str(b"v")]);
        let Object::Hash(h) = restore(&blob_payload(RDB_TYPE_HASH_ZIPLIST, &h), &lim).unwrap()
        else {
            panic!("not a hash")
        };
        assert_eq!(h.get(b"f"), Some(&b"5"[..]));
        assert_eq!(h.get(b"7"), Some(&b"v"[..]));
        let z = ziplist(&[
            Item::Str(b"b"),
            Item::Str(b"2.5"),
            Item::Str(b"a"),
            Item::Int(1),
        ]);
        let Object::ZSet(z) = restore(&blob_payload(RDB_TYPE_ZSET_ZIPLIST, &z), &lim).unwrap()
        else {
            panic!("not a zset")
        };
        assert_eq!(
            z.iter().collect::<Vec<_>>(),
            vec![(&b"a"[..], 1.0), (&b"b"[..], 2.5)]
        );
        // the same checks as Valkey's deep validation
        let mut bad_tail = zl.clone();
        bad_tail[4] = 10;
        let mut bad_prev = zl.clone();
        bad_prev[ZL_HDR_SIZE + 3] = 7; // second entry's prevlen
        let mut bad_count = zl.clone();
        bad_count[8] = 3;
        for blob in [
            bad_tail,
            bad_prev,
            bad_count,
            zl[..zl.len() - 1].to_vec(),
            ziplist(&[Item::Str(b"f"), Item::Int(1), Item::Str(b"f"), Item::Int(2)]),
            ziplist(&[Item::Str(b"f")]),
        ] {
            assert_eq!(
                restore(&blob_payload(RDB_TYPE_HASH_ZIPLIST, &blob), &lim),
                Err(DumpError::BadFormat)
            );
        }
    }

    /// A zipmap of pairs, with `free` padding bytes after each value.
    fn zipmap(pairs: &[(&[u8], &[u8])], free: u8) -> Vec<u8> {
        let len = |b: &mut Vec<u8>, n: usize| {
            if n < 254 {
                b.push(n as u8);
            } else {
                b.push(254);
                b.extend_from_slice(&(n as u32).to_le_bytes());
            }
        };
        let mut b = vec![pairs.len().min(254) as u8];
        for (f, v) in pairs {
            len(&mut b, f.len());
            b.extend_from_slice(f);
            len(&mut b, v.len());
            b.push(free);
            b.extend_from_slice(v);
            b.extend(std::iter::repeat_n(0, free as usize));
        }
        b.push(255);
        b
    }

    #[test]
    fn zipmap_hashes_restore() {
        let lim = Limits::default();
        let long = vec![b'x'; 300];
        let restore_zm = |blob: &[u8]| restore(&blob_payload(RDB_TYPE_HASH_ZIPMAP, blob), &lim);
        let Object::Hash(h) = restore_zm(&zipmap(&[(b"a", b"1"), (b"bb", b"22")], 3)).unwrap()
        else {
            panic!("not a hash")
        };
        assert!(h.is_listpack());
        assert_eq!(h.get(b"bb"), Some(&b"22"[..]));
        // a long value or many fields: a table, as in Valkey
        let h = restore_zm(&zipmap(&[(b"f", b"v"), (b"g", &long)], 0)).unwrap();
        assert_eq!(h.encoding(), "hashtable");
        let names: Vec<Vec<u8>> = (0..300).map(|i| format!("f{i}").into_bytes()).collect();
        let pairs: Vec<(&[u8], &[u8])> = names.iter().map(|n| (&n[..], &b"v"[..])).collect();
        let big = zipmap(&pairs, 0);
        assert_eq!(big[0], 254);
        assert_eq!(restore_zm(&big).unwrap().encoding(), "hashtable");
        // refused: wrong count, repeated field, empty, truncated
        let mut wrong_count = zipmap(&[(b"a", b"1")], 0);
        wrong_count[0] = 3;
        let one = zipmap(&[(b"a", b"1")], 0);
        for blob in [
            wrong_count,
            zipmap(&[(b"a", b"1"), (b"a", b"2")], 0),
            zipmap(&[], 0),
            [&one[..one.len() - 3], &[255]].concat(),
            [&one[..4], &[9], &one[5..]].concat(), // padding past the end
        ] {
            assert_eq!(restore_zm(&blob), Err(DumpError::BadFormat), "{blob:?}");
        }
    }

    #[test]
    fn old_plain_types_restore() {
        let lim = Limits::default();
        let mut w = Writer::new(false);
        w.byte(RDB_TYPE_LIST);
        w.length(3);
        for e in [&b"a"[..], b"1", b"c"] {
            w.string(e);
        }
        let l = restore(&w.finish(), &lim).unwrap();
        assert_same(&l, &Object::list(list_of(-2, &[b"a", b"1", b"c"])));
        assert_eq!(l.encoding(), "listpack");
        // scores as text, with the length byte's special values
        let mut w = Writer::new(false);
        w.byte(RDB_TYPE_ZSET);
        w.length(3);
        w.string(b"a");
        w.byte(3);
        w.buf.extend_from_slice(b"1.5");
        w.string(b"b");
        w.byte(254);
        w.string(b"c");
        w.byte(255);
        let Object::ZSet(z) = restore(&w.finish(), &lim).unwrap() else {
            panic!("not a zset")
        };
        assert_eq!(
            z.iter().collect::<Vec<_>>(),
            vec![
                (&b"c"[..], f64::NEG_INFINITY),
                (&b"a"[..], 1.5),
                (&b"b"[..], f64::INFINITY)
            ]
        );
    }

    /// A listpack blob of the given raw entries (encoding + data, back-length added).
    fn raw_listpack(entries: &[&[u8]], count: u16) -> Vec<u8> {
        let mut b = vec![0u8; LP_HDR_SIZE];
        for e in entries {
            b.extend_from_slice(e);
            let mut w = ListpackWriter::new();
            w.buf.clear();
            w.backlen(e.len() as u64);
            b.extend_from_slice(&w.buf);
        }
        b.push(LP_EOF);
        let n = b.len() as u32;
        b[..4].copy_from_slice(&n.to_le_bytes());
        b[4..6].copy_from_slice(&count.to_le_bytes());
        b
    }

    #[test]
    fn corrupt_blobs_are_bad_format() {
        let lim = Limits::default();
        let good = raw_listpack(&[b"\x81a", b"\x01"], 2);
        assert!(restore(&blob_payload(RDB_TYPE_SET_LISTPACK, &good), &lim).is_ok());
        // the "unknown" count is accepted
        let unknown = raw_listpack(&[b"\x81a", b"\x01"], u16::MAX);
        assert!(restore(&blob_payload(RDB_TYPE_SET_LISTPACK, &unknown), &lim).is_ok());
        let mut wrong_total = good.clone();
        wrong_total[0] += 1;
        let mut bad_backlen = good.clone();
        bad_backlen[LP_HDR_SIZE + 2] = 5;
        let mut early_eof = good.clone();
        early_eof[LP_HDR_SIZE + 3] = LP_EOF;
        let cases: Vec<(u8, Vec<u8>)> = vec![
            (RDB_TYPE_SET_LISTPACK, wrong_total),
            (RDB_TYPE_SET_LISTPACK, bad_backlen),
            (RDB_TYPE_SET_LISTPACK, early_eof),
            (RDB_TYPE_SET_LISTPACK, good[..good.len() - 1].to_vec()),
            (RDB_TYPE_SET_LISTPACK, raw_listpack(&[b"\x81a", b"\x01"], 3)),
            (RDB_TYPE_SET_LISTPACK, raw_listpack(&[b"\xf5"], 1)),
            (RDB_TYPE_SET_LISTPACK, raw_listpack(&[b"\x85ab"], 1)),
            (
                RDB_TYPE_SET_LISTPACK,
                raw_listpack(&[b"\xf0\xff\xff\xff\x7f"], 1),
            ),
            (
                RDB_TYPE_SET_LISTPACK,
                raw_listpack(&[b"\x81a", b"\x81a"], 2),
            ),
            (RDB_TYPE_SET_LISTPACK, raw_listpack(&[b"\x011", b"\x01"], 2)),
            (RDB_TYPE_SET_LISTPACK, raw_listpack(&[], 0)),
            (RDB_TYPE_HASH_LISTPACK, raw_listpack(&[b"\x81a"], 1)),
            (
                RDB_TYPE_HASH_LISTPACK,
                raw_listpack(&[b"\x81a", b"\x01", b"\x81a", b"\x02"], 4),
            ),
            (
                RDB_TYPE_ZSET_LISTPACK,
                raw_listpack(&[b"\x81a", b"\x83abc"], 2),
            ),
            (
                RDB_TYPE_ZSET_LISTPACK,
                raw_listpack(&[b"\x81a", b"\x83nan"], 2),
            ),
            (
                RDB_TYPE_ZSET_LISTPACK,
                raw_listpack(&[b"\x81a", b"\x01", b"\x81a", b"\x02"], 4),
            ),
            (
                RDB_TYPE_SET_INTSET,
                b"\x02\x00\x00\x00\x02\x00\x00\x00\x02\x00\x01\x00".to_vec(),
            ),
            (
                RDB_TYPE_SET_INTSET,
                b"\x02\x00\x00\x00\x02\x00\x00\x00\x01\x00\x01\x00".to_vec(),
            ),
            (
                RDB_TYPE_SET_INTSET,
                b"\x03\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00".to_vec(),
            ),
            (
                RDB_TYPE_SET_INTSET,
                b"\x02\x00\x00\x00\x02\x00\x00\x00\x01\x00".to_vec(),
            ),
            (
                RDB_TYPE_SET_INTSET,
                b"\x02\x00\x00\x00\x00\x00\x00\x00".to_vec(),
            ),
            (
                RDB_TYPE_SET_INTSET,
                b"\x08\x00\x00\x00\xff\xff\xff\xff".to_vec(),
            ),
        ];
        for (t, blob) in cases {
            assert_eq!(
                restore(&blob_payload(t, &blob), &lim),
                Err(DumpError::BadFormat),
                "type {t} {blob:?}"
            );
        }
        // quicklists: unknown container, empty node data, only empty listpacks
        let empty_lp = raw_listpack(&[], 0);
        for body in [
            [
                &[RDB_TYPE_LIST_QUICKLIST_2, 1, 3][..],
                &[good.len() as u8],
                &good,
            ]
            .concat(),
            vec![RDB_TYPE_LIST_QUICKLIST_2, 1, 2, 0],
            vec![RDB_TYPE_LIST_QUICKLIST_2, 1, 1, 0],
            [
                &[RDB_TYPE_LIST_QUICKLIST_2, 1, 2][..],
                &[empty_lp.len() as u8],
                &empty_lp,
            ]
            .concat(),
            vec![RDB_TYPE_LIST_QUICKLIST_2, 0],
            vec![RDB_TYPE_LIST, 0],
            vec![RDB_TYPE_SET, 0],
            vec![RDB_TYPE_ZSET_2, 0],
            vec![RDB_TYPE_HASH, 0],
            vec![RDB_TYPE_SET, 2, 1, b'a', 1, b'a'],
            vec![RDB_TYPE_HASH, 2, 1, b'a', 0, 1, b'a', 0],
            [&[RDB_TYPE_ZSET_2, 1, 1, b'a'][..], &f64::NAN.to_le_bytes()].concat(),
            vec![RDB_TYPE_ZSET, 1, 1, b'a', 253],
            vec![
                RDB_TYPE_SET,
                0x81,
                0xff,
                0xff,
                0xff,
                0xff,
                0xff,
                0xff,
                0xff,
                0xff,
            ],
            vec![RDB_TYPE_HASH, 0x80, 0xff, 0xff, 0xff, 0xff, 1, b'a'],
        ] {
            assert_eq!(
                restore(&sealed(&body), &lim),
                Err(DumpError::BadFormat),
                "{body:?}"
            );
        }
        // empty listpack nodes are skipped when others hold elements
        let body = [
            &[RDB_TYPE_LIST_QUICKLIST_2, 2, 2][..],
            &[empty_lp.len() as u8],
            &empty_lp,
            &[2, good.len() as u8],
            &good,
        ]
        .concat();
        let Object::List(l) = restore(&sealed(&body), &lim).unwrap() else {
            panic!("not a list")
        };
        assert_eq!(l.len(), 2);
    }

    #[test]
    fn fuzzed_collections_never_panic() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::SmallRng::seed_from_u64(11);
        let lim = Limits::default();
        let ints: Vec<Vec<u8>> = (0..40)
            .map(|i| format!("{}", i * 1000 - 7).into_bytes())
            .collect();
        let int_refs: Vec<&[u8]> = ints.iter().map(|m| &m[..]).collect();
        let seeds: Vec<Vec<u8>> = vec![
            payload(&Object::list(list_of(-2, &[b"a", b"1", b"-300", b"xyz"]))),
            payload(&Object::list(list_of(
                2,
                &[b"a", b"1", &[b'q'; 9000], b"b", b"c"],
            ))),
            payload(&Object::Hash(hash_of(
                &[(b"a", b"1"), (b"b", b"2")],
                SMALL_HASH,
            ))),
            payload(&Object::Set(set_of(&int_refs, &lim.set))),
            payload(&Object::Set(set_of(&[b"a", b"b", b"3"], &lim.set))),
            payload(&Object::ZSet(zset_of(
                &[(b"a", 1.5), (b"b", 2.0)],
                SMALL_ZSET,
            ))),
            blob_payload(
                RDB_TYPE_HASH_ZIPMAP,
                &zipmap(&[(b"a", b"1"), (b"bb", &[b'z'; 300])], 2),
            ),
            blob_payload(
                RDB_TYPE_HASH_ZIPLIST,
                &ziplist(&[Item::Str(b"f"), Item::Int(5), Item::Int(7), Item::Str(b"v")]),
            ),
        ];
        for i in 0..30_000 {
            let p = &seeds[i % seeds.len()];
            let mut body = p[..p.len() - 10].to_vec();
            for _ in 0..rng.gen_range(1..4) {
                match rng.gen_range(0..3) {
                    0 if !body.is_empty() => {
                        let j = rng.gen_range(0..body.len());
                        body[j] = rng.gen();
                    }
                    1 if !body.is_empty() => {
                        body.truncate(rng.gen_range(0..body.len()));
                    }
                    _ => {
                        let j = rng.gen_range(0..=body.len());
                        body.insert(j, rng.gen());
                    }
                }
            }
            let _ = decode(&sealed(&body), &lim);
        }
    }
}
