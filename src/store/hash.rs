//! The hash value type: a compact encoding for small values and a full one past the
//! configured thresholds.
//!
//! Small hashes are one contiguous byte buffer of pairs, like Valkey's listpack:
//! insertion order is the iteration order clients see, a linear search over a few
//! entries is cheaper than hashing, and the whole value is a single allocation sized
//! exactly (a 10-field hash of short strings takes ~110 bytes, where a box per string
//! took ~640). Past `hash-max-listpack-entries` or `hash-max-listpack-value` the hash
//! becomes a chained table with power-of-two buckets so that HSCAN can use the
//! reverse-binary cursor and keep its guarantees across resizes; there each pair is
//! one allocation plus 28 bytes of slot and bucket. A hash never goes back to the
//! compact form, as in Valkey.

use super::varint;
use rand::Rng;
use std::hash::BuildHasher;
use std::sync::LazyLock;

static HASHER: LazyLock<foldhash::fast::RandomState> =
    LazyLock::new(foldhash::fast::RandomState::default);

/// Valkey refuses to grow a listpack past 1 GiB and converts instead (`lpSafeToAdd`).
const LISTPACK_MAX_BYTES: usize = 1 << 30;

const MIN_BUCKETS: usize = 4;

/// A hash value.
#[derive(Clone, Debug)]
pub struct Hash {
    repr: Repr,
}

#[derive(Clone, Debug)]
enum Repr {
    Listpack(Pack),
    Table(Box<Table>),
}

impl Default for Hash {
    fn default() -> Self {
        Hash {
            repr: Repr::Listpack(Pack::default()),
        }
    }
}

impl PartialEq for Hash {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(f, v)| other.get(f) == Some(v))
    }
}

/// The conversion thresholds, read from the configuration by the caller.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_entries: usize,
    pub max_value: usize,
}

// ---------------------------------------------------------------------------------
// The compact encoding: one buffer of pairs in insertion order, each
// `[h] [varint field len] [varint value len] field value`, where the header byte `h`
// holds both lengths as nibbles when they are below 15 (the usual case within the
// 64-byte default limit of short fields) and 15 in a nibble means its varint follows.
// One allocation per hash and one byte of overhead per short pair, where a box per
// string costs two allocations and 32 bytes of pointers per pair.

/// The varint-prefixed string starting at `at`: (bytes, offset just past it).
fn string_at(buf: &[u8], at: usize) -> (&[u8], usize) {
    let (n, s) = varint::read(buf, at);
    (&buf[s..s + n], s + n)
}

const NIBBLE_ESCAPE: usize = 15;

fn nibble_extra(n: usize) -> usize {
    if n < NIBBLE_ESCAPE {
        0
    } else {
        varint::len(n)
    }
}

fn encoded_len(field: &[u8], value: &[u8]) -> usize {
    1 + nibble_extra(field.len()) + nibble_extra(value.len()) + field.len() + value.len()
}

fn encode_pair(out: &mut Vec<u8>, field: &[u8], value: &[u8]) {
    let (f, v) = (field.len(), value.len());
    out.push((f.min(NIBBLE_ESCAPE) << 4 | v.min(NIBBLE_ESCAPE)) as u8);
    if f >= NIBBLE_ESCAPE {
        varint::put(out, f);
    }
    if v >= NIBBLE_ESCAPE {
        varint::put(out, v);
    }
    out.extend_from_slice(field);
    out.extend_from_slice(value);
}

/// The pair starting at `at`: (field, value, offset of the next pair).
fn pair_at(buf: &[u8], at: usize) -> (&[u8], &[u8], usize) {
    let h = buf[at] as usize;
    let mut pos = at + 1;
    let mut f = h >> 4;
    if f == NIBBLE_ESCAPE {
        (f, pos) = varint::read(buf, pos);
    }
    let mut v = h & 15;
    if v == NIBBLE_ESCAPE {
        (v, pos) = varint::read(buf, pos);
    }
    let vs = pos + f;
    (&buf[pos..vs], &buf[vs..vs + v], vs + v)
}

#[derive(Clone, Debug, Default)]
struct Pack {
    buf: Vec<u8>,
    len: usize,
}

/// Walks the pairs of a compact buffer.
struct PackIter<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Iterator for PackIter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.buf.len() {
            return None;
        }
        let (f, v, next) = pair_at(self.buf, self.at);
        self.at = next;
        Some((f, v))
    }
}

impl Pack {
    fn iter(&self) -> PackIter<'_> {
        PackIter {
            buf: &self.buf,
            at: 0,
        }
    }

    /// (start, end) of the pair holding `field`, and its value.
    fn find(&self, field: &[u8]) -> Option<(usize, usize, &[u8])> {
        let mut at = 0;
        while at < self.buf.len() {
            let (f, v, next) = pair_at(&self.buf, at);
            if f == field {
                return Some((at, next, v));
            }
            at = next;
        }
        None
    }

    fn push(&mut self, field: &[u8], value: &[u8]) {
        // exact growth: the buffer is the whole value, doubling would waste up to half
        self.buf.reserve_exact(encoded_len(field, value));
        encode_pair(&mut self.buf, field, value);
        self.len += 1;
    }

    /// Rewrites the pair at `at..end` with a new value.
    fn replace(&mut self, at: usize, end: usize, field: &[u8], value: &[u8]) {
        let mut enc = Vec::with_capacity(encoded_len(field, value));
        encode_pair(&mut enc, field, value);
        if enc.len() == end - at {
            self.buf[at..end].copy_from_slice(&enc);
        } else {
            let grows = enc.len() > end - at;
            if grows {
                self.buf.reserve_exact(enc.len() - (end - at));
            }
            self.buf.splice(at..end, enc);
            if !grows {
                self.buf.shrink_to_fit();
            }
        }
    }
}

impl Hash {
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Listpack(p) => p.len,
            Repr::Table(t) => t.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes owned, for MEMORY USAGE.
    pub fn mem_usage(&self) -> usize {
        match &self.repr {
            Repr::Listpack(p) => p.buf.capacity(),
            Repr::Table(t) => std::mem::size_of::<Table>() + t.mem_usage(),
        }
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Listpack(_) => "listpack",
            Repr::Table(_) => "hashtable",
        }
    }

    pub fn is_listpack(&self) -> bool {
        matches!(self.repr, Repr::Listpack(_))
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match &self.repr {
            Repr::Listpack(p) => p.find(field).map(|(_, _, v)| v),
            Repr::Table(t) => t.get(field),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Valkey's `hashTypeTryConversion`, run before a multi-field write with the
    /// field/value arguments: converts up front when the write is bound to cross a
    /// threshold. More pairs than the entry limit convert even if some repeat, as there.
    pub fn prepare_write(&mut self, pairs: &[&[u8]], lim: Limits) {
        let Repr::Listpack(p) = &self.repr else {
            return;
        };
        let new_fields = pairs.len() / 2;
        if new_fields > lim.max_entries {
            self.convert(new_fields);
            return;
        }
        let mut sum = 0usize;
        for a in pairs {
            if a.len() > lim.max_value {
                self.convert(0);
                return;
            }
            sum += a.len();
        }
        if p.buf.len().saturating_add(sum) > LISTPACK_MAX_BYTES {
            self.convert(0);
            return;
        }
        // one allocation for the whole write rather than one per new pair
        let mut grow = 0;
        for pair in pairs.chunks_exact(2) {
            if p.find(pair[0]).is_none() {
                grow += encoded_len(pair[0], pair[1]);
            }
        }
        if let Repr::Listpack(p) = &mut self.repr {
            p.buf.reserve_exact(grow);
        }
    }

    /// Sets a field; returns true when the field is new.
    pub fn set(&mut self, field: &[u8], value: &[u8], lim: Limits) -> bool {
        if self.is_listpack() && (field.len() > lim.max_value || value.len() > lim.max_value) {
            self.convert(0);
        }
        match &mut self.repr {
            Repr::Listpack(p) => {
                if let Some((at, end, _)) = p.find(field) {
                    p.replace(at, end, field, value);
                    return false;
                }
                p.push(field, value);
                if p.len > lim.max_entries {
                    self.convert(0);
                }
                true
            }
            Repr::Table(t) => t.insert(field, value),
        }
    }

    /// Removes a field; returns whether it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Listpack(p) => match p.find(field) {
                Some((at, end, _)) => {
                    p.buf.drain(at..end);
                    // the buffer is the whole value: give the pair's bytes back, as
                    // Valkey's listpack shrinks on delete
                    p.buf.shrink_to_fit();
                    p.len -= 1;
                    true
                }
                None => false,
            },
            Repr::Table(t) => t.remove(field),
        }
    }

    /// Every pair: insertion order while compact, table order after.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&[u8], &[u8])> + '_> {
        match &self.repr {
            Repr::Listpack(p) => Box::new(p.iter()),
            Repr::Table(t) => Box::new(t.iter()),
        }
    }

    /// One pair picked at random; None for an empty hash.
    pub fn random(&self, rng: &mut impl Rng) -> Option<(&[u8], &[u8])> {
        match &self.repr {
            Repr::Listpack(p) => {
                if p.len == 0 {
                    return None;
                }
                p.iter().nth(rng.gen_range(0..p.len))
            }
            Repr::Table(t) => t.random(rng),
        }
    }

    /// One step of a cursor scan over a table-encoded hash (see the keyspace's
    /// `scan_step`); None for the compact encoding, which is returned whole.
    pub fn scan_step<'a>(&'a self, cursor: u64, f: impl FnMut(&'a [u8], &'a [u8])) -> Option<u64> {
        match &self.repr {
            Repr::Listpack(_) => None,
            Repr::Table(t) => Some(t.scan_step(cursor, f)),
        }
    }

    /// A hash of `pairs`, whose fields the caller knows to be distinct, in the compact
    /// encoding or (`compact` false) the table one. For RESTORE, which decides the
    /// encoding by the loader's own rules.
    #[allow(clippy::type_complexity)]
    pub fn from_pairs(pairs: Vec<(Box<[u8]>, Box<[u8]>)>, compact: bool) -> Hash {
        if !compact {
            let mut t = Table::with_capacity(pairs.len());
            for (f, x) in &pairs {
                t.insert_owned(f, x);
            }
            return Hash {
                repr: Repr::Table(Box::new(t)),
            };
        }
        let mut p = Pack::default();
        p.buf
            .reserve_exact(pairs.iter().map(|(f, x)| encoded_len(f, x)).sum());
        for (f, x) in &pairs {
            p.push(f, x);
        }
        Hash {
            repr: Repr::Listpack(p),
        }
    }

    fn convert(&mut self, hint: usize) {
        if let Repr::Listpack(p) = &self.repr {
            let mut t = Table::with_capacity(hint.max(p.len));
            for (f, x) in p.iter() {
                t.insert_owned(f, x);
            }
            self.repr = Repr::Table(Box::new(t));
        }
    }
}

/// A chained hash table with power-of-two buckets, grown at load factor 1 and shrunk
/// below 1/8 like Valkey's dict (without the incremental rehash), so that HSCAN's
/// reverse-binary cursor keeps its guarantees across resizes.
///
/// Memory: a bucket is a 4-byte slot id heading its chain; a slot is one allocation
/// holding `varint(field len) field value` plus a 4-byte link, 24 bytes in the slot
/// vector (ids are `u32`: at most 2^32 - 1 fields). Removed slots go on a free list
/// and the vector is rebuilt when mostly free. Each slot keeps the low 32 bits of its
/// field's hash (in what would be padding): a lookup compares it before reading the
/// slot's data, and a resize relinks without hashing again.
/// Random picks draw slots uniformly (rejecting free ones, at most 3/4 of them), which
/// gives every field the same probability whatever the chain lengths.
#[derive(Clone, Debug)]
struct Table {
    buckets: Vec<u32>,
    slots: Vec<Slot>,
    free: u32,
    len: usize,
    /// Bytes of slot data held, so MEMORY USAGE needs no walk.
    bytes: usize,
}

const NIL: u32 = u32::MAX;

#[derive(Clone, Debug)]
struct Slot {
    /// `varint(field len) field value`; empty for a free slot (a field's length
    /// prefix makes a used one at least a byte long).
    data: Box<[u8]>,
    /// The next slot of the chain or, for a free slot, of the free list.
    next: u32,
    /// `hash_of(field)`; it alone picks the bucket, so a table has at most 2^32.
    hash: u32,
}

fn hash_of(field: &[u8]) -> u32 {
    HASHER.hash_one(field) as u32
}

/// (field, value) of a slot's bytes.
fn split_pair(data: &[u8]) -> (&[u8], &[u8]) {
    let (f, end) = string_at(data, 0);
    (f, &data[end..])
}

fn pair_data(field: &[u8], value: &[u8]) -> Box<[u8]> {
    let mut v = Vec::with_capacity(varint::len(field.len()) + field.len() + value.len());
    varint::put(&mut v, field.len());
    v.extend_from_slice(field);
    v.extend_from_slice(value);
    v.into_boxed_slice()
}

impl Table {
    fn with_capacity(n: usize) -> Table {
        let size = n
            .max(MIN_BUCKETS)
            .checked_next_power_of_two()
            .unwrap_or(MIN_BUCKETS);
        Table {
            buckets: vec![NIL; size],
            slots: Vec::with_capacity(n),
            free: NIL,
            len: 0,
            bytes: 0,
        }
    }

    fn mask(&self) -> u32 {
        (self.buckets.len() - 1) as u32
    }

    /// The slot holding `field`, whose hash is `h`.
    fn find(&self, field: &[u8], h: u32) -> Option<usize> {
        let mut i = self.buckets[(h & self.mask()) as usize];
        while i != NIL {
            let s = &self.slots[i as usize];
            if s.hash == h && split_pair(&s.data).0 == field {
                return Some(i as usize);
            }
            i = s.next;
        }
        None
    }

    fn get(&self, field: &[u8]) -> Option<&[u8]> {
        self.find(field, hash_of(field))
            .map(|i| split_pair(&self.slots[i].data).1)
    }

    fn insert(&mut self, field: &[u8], value: &[u8]) -> bool {
        let h = hash_of(field);
        if let Some(i) = self.find(field, h) {
            let data = &mut self.slots[i].data;
            let at = data.len() - split_pair(data).1.len();
            if data.len() - at == value.len() {
                // same length (the usual overwrite): no allocation
                data[at..].copy_from_slice(value);
            } else {
                let new = pair_data(field, value);
                self.bytes = self.bytes + new.len() - data.len();
                *data = new;
            }
            return false;
        }
        self.insert_data(pair_data(field, value), h);
        true
    }

    /// Adds a field known to be absent.
    fn insert_owned(&mut self, field: &[u8], value: &[u8]) {
        self.insert_data(pair_data(field, value), hash_of(field));
    }

    fn insert_data(&mut self, data: Box<[u8]>, hash: u32) {
        if self.len >= self.buckets.len() {
            self.resize(self.buckets.len() * 2);
        }
        let b = (hash & self.mask()) as usize;
        self.bytes += data.len();
        let slot = Slot {
            data,
            next: self.buckets[b],
            hash,
        };
        let id = if self.free != NIL {
            let id = self.free;
            self.free = self.slots[id as usize].next;
            self.slots[id as usize] = slot;
            id
        } else {
            self.slots.push(slot);
            (self.slots.len() - 1) as u32
        };
        self.buckets[b] = id;
        self.len += 1;
    }

    fn remove(&mut self, field: &[u8]) -> bool {
        let h = hash_of(field);
        let b = (h & self.mask()) as usize;
        let mut prev = NIL;
        let mut i = self.buckets[b];
        while i != NIL {
            let next = self.slots[i as usize].next;
            let s = &self.slots[i as usize];
            if s.hash == h && split_pair(&s.data).0 == field {
                if prev == NIL {
                    self.buckets[b] = next;
                } else {
                    self.slots[prev as usize].next = next;
                }
                let s = &mut self.slots[i as usize];
                self.bytes -= s.data.len();
                s.data = Box::default();
                s.next = self.free;
                self.free = i;
                self.len -= 1;
                self.after_remove();
                return true;
            }
            prev = i;
            i = next;
        }
        false
    }

    fn after_remove(&mut self) {
        let shrink = self.buckets.len() > MIN_BUCKETS && self.len * 8 < self.buckets.len();
        let size = if shrink {
            self.len.max(MIN_BUCKETS).next_power_of_two()
        } else {
            self.buckets.len()
        };
        if self.slots.len() > 64 && self.len * 4 < self.slots.len() {
            self.slots.retain(|s| !s.data.is_empty());
            self.slots.shrink_to(self.len * 2);
            self.free = NIL;
            self.resize(size);
        } else if shrink {
            self.resize(size);
        }
    }

    /// Relinks every used slot into `size` buckets from the stored hashes (the free
    /// list is left as it is).
    fn resize(&mut self, size: usize) {
        self.buckets = vec![NIL; size];
        let mask = self.mask();
        for (i, s) in self.slots.iter_mut().enumerate() {
            if !s.data.is_empty() {
                let b = (s.hash & mask) as usize;
                s.next = self.buckets[b];
                self.buckets[b] = i as u32;
            }
        }
    }

    fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.slots
            .iter()
            .filter(|s| !s.data.is_empty())
            .map(|s| split_pair(&s.data))
    }

    fn random(&self, rng: &mut impl Rng) -> Option<(&[u8], &[u8])> {
        if self.len == 0 {
            return None;
        }
        loop {
            let s = &self.slots[rng.gen_range(0..self.slots.len())];
            if !s.data.is_empty() {
                return Some(split_pair(&s.data));
            }
        }
    }

    fn scan_step<'a>(&'a self, cursor: u64, mut f: impl FnMut(&'a [u8], &'a [u8])) -> u64 {
        let m = self.mask() as u64;
        let mut i = self.buckets[(cursor & m) as usize];
        while i != NIL {
            let s = &self.slots[i as usize];
            let (k, v) = split_pair(&s.data);
            f(k, v);
            i = s.next;
        }
        let mut v = cursor | !m;
        v = v.reverse_bits();
        v = v.wrapping_add(1);
        v.reverse_bits()
    }

    fn mem_usage(&self) -> usize {
        self.buckets.capacity() * 4
            + self.slots.capacity() * std::mem::size_of::<Slot>()
            + self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIM: Limits = Limits {
        max_entries: 4,
        max_value: 8,
    };

    #[test]
    fn stays_compact_within_limits_in_insertion_order() {
        let mut h = Hash::default();
        for f in ["d", "a", "c", "b"] {
            assert!(h.set(f.as_bytes(), b"v", LIM));
        }
        assert!(!h.set(b"a", b"12345678", LIM));
        assert_eq!(h.encoding(), "listpack");
        let keys: Vec<&[u8]> = h.iter().map(|(f, _)| f).collect();
        assert_eq!(keys, [b"d".as_slice(), b"a", b"c", b"b"]);
        assert_eq!(h.get(b"a"), Some(&b"12345678"[..]));
    }

    #[test]
    fn converts_past_entry_count_and_never_back() {
        let mut h = Hash::default();
        for i in 0..5 {
            h.set(format!("f{i}").as_bytes(), b"v", LIM);
        }
        assert_eq!(h.encoding(), "hashtable");
        for i in 0..4 {
            assert!(h.remove(format!("f{i}").as_bytes()));
        }
        assert_eq!(h.len(), 1);
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.get(b"f4"), Some(&b"v"[..]));
    }

    #[test]
    fn converts_on_long_field_or_value() {
        let mut h = Hash::default();
        h.set(b"f", b"123456789", LIM);
        assert_eq!(h.encoding(), "hashtable");
        let mut h = Hash::default();
        h.set(b"123456789", b"v", LIM);
        assert_eq!(h.encoding(), "hashtable");
    }

    #[test]
    fn prepare_write_converts_up_front() {
        let mut h = Hash::default();
        let pairs: [&[u8]; 10] = [b"a", b"1", b"b", b"2", b"c", b"3", b"d", b"4", b"e", b"5"];
        h.prepare_write(&pairs, LIM);
        assert_eq!(h.encoding(), "hashtable");
        let mut h = Hash::default();
        h.prepare_write(&[b"a".as_slice(), b"123456789"], LIM);
        assert_eq!(h.encoding(), "hashtable");
        let mut h = Hash::default();
        h.prepare_write(&[b"a".as_slice(), b"1"], LIM);
        assert_eq!(h.encoding(), "listpack");
    }

    #[test]
    fn table_grows_shrinks_and_scans_everything() {
        let lim = Limits {
            max_entries: 0,
            max_value: 64,
        };
        let mut h = Hash::default();
        for i in 0..1000 {
            h.set(format!("f{i}").as_bytes(), format!("{i}").as_bytes(), lim);
        }
        assert_eq!(h.len(), 1000);
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        loop {
            cursor = h
                .scan_step(cursor, |f, _| {
                    seen.insert(f.to_vec());
                })
                .unwrap_or(0);
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), 1000);
        for i in 0..995 {
            assert!(h.remove(format!("f{i}").as_bytes()));
        }
        assert_eq!(h.len(), 5);
        assert!(h.iter().all(|(f, v)| h.get(f) == Some(v)));
        let mut rng = rand::thread_rng();
        assert!(h.random(&mut rng).is_some());
    }

    #[test]
    fn scan_survives_resizes_between_steps() {
        let lim = Limits {
            max_entries: 0,
            max_value: 64,
        };
        let mut h = Hash::default();
        for i in 0..100 {
            h.set(format!("keep{i}").as_bytes(), b"v", lim);
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        let mut step = 0;
        loop {
            cursor = h
                .scan_step(cursor, |f, _| {
                    seen.insert(f.to_vec());
                })
                .unwrap_or(0);
            step += 1;
            // grow, then shrink, while the scan is under way
            if step == 5 {
                for i in 0..1000 {
                    h.set(format!("tmp{i}").as_bytes(), b"v", lim);
                }
            }
            if step == 300 {
                for i in 0..1000 {
                    h.remove(format!("tmp{i}").as_bytes());
                }
            }
            if cursor == 0 {
                break;
            }
        }
        assert!((0..100).all(|i| seen.contains(format!("keep{i}").as_bytes())));
    }

    #[test]
    fn random_picks_are_roughly_uniform() {
        let lim = Limits {
            max_entries: 0,
            max_value: 64,
        };
        let mut h = Hash::default();
        for i in 0..40 {
            h.set(format!("f{i}").as_bytes(), b"v", lim);
        }
        let mut rng = rand::thread_rng();
        let mut counts = std::collections::HashMap::new();
        for _ in 0..40_000 {
            if let Some((f, _)) = h.random(&mut rng) {
                *counts.entry(f.to_vec()).or_insert(0u32) += 1;
            }
        }
        assert_eq!(counts.len(), 40);
        // expected 1000 each; a bucket-first pick skews chained entries far more
        assert!(
            counts.values().all(|&n| (700..1300).contains(&n)),
            "{counts:?}"
        );
    }

    #[test]
    fn compact_buffer_handles_long_strings_and_updates() {
        let lim = Limits {
            max_entries: 128,
            max_value: 100_000,
        };
        let mut h = Hash::default();
        let long = vec![b'x'; 20_000];
        h.set(b"a", b"1", lim);
        h.set(&long, b"2", lim);
        h.set(b"c", &long, lim);
        assert_eq!(h.encoding(), "listpack");
        assert_eq!(h.get(&long), Some(&b"2"[..]));
        assert_eq!(h.get(b"c"), Some(&long[..]));
        // a value that changes size in place, longer then shorter
        h.set(b"a", &long[..300], lim);
        assert_eq!(h.get(b"a"), Some(&long[..300]));
        h.set(b"a", b"zz", lim);
        assert_eq!(h.get(b"a"), Some(&b"zz"[..]));
        let order: Vec<usize> = h.iter().map(|(f, _)| f.len()).collect();
        assert_eq!(order, [1, 20_000, 1]);
        assert!(h.remove(&long));
        assert_eq!(h.len(), 2);
        assert_eq!(h.iter().count(), 2);
        // one allocation, no slack from amortized growth
        let mut small = Hash::default();
        for i in 0..10 {
            small.set(format!("f{i}").as_bytes(), b"v0000000", LIM2);
        }
        assert_eq!(small.mem_usage(), 10 * (1 + 2 + 8));
        // a multi-field write allocates once, for the new pairs only
        let mut h = Hash::default();
        h.set(b"f0", b"old", LIM2);
        let args: [&[u8]; 6] = [b"f0", b"v0000000", b"f1", b"v0000000", b"f2", b"v0000000"];
        h.prepare_write(&args, LIM2);
        for p in args.chunks_exact(2) {
            h.set(p[0], p[1], LIM2);
        }
        assert_eq!(h.mem_usage(), 3 * 11);
    }

    const LIM2: Limits = Limits {
        max_entries: 128,
        max_value: 64,
    };

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        #[test]
        fn matches_a_model(
            ops in proptest::collection::vec((0u8..40, 0u8..3, 0usize..20), 1..300),
            max_entries in 0usize..30,
            max_value in 8usize..24,
        ) {
            let lim = Limits { max_entries, max_value };
            let mut h = Hash::default();
            // insertion-ordered model: the compact encoding must iterate in this order
            let mut model: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
            for (f, op, vlen) in ops {
                // lengths on both sides of the 15-byte nibble escape
                let field = format!("{}{f}", "f".repeat(f as usize % 18)).into_bytes();
                let pos = model.iter().position(|(k, _)| *k == field);
                if op == 0 {
                    proptest::prop_assert_eq!(h.remove(&field), pos.is_some());
                    if let Some(i) = pos {
                        model.remove(i);
                    }
                } else {
                    let value = vec![b'a' + f % 26; vlen];
                    proptest::prop_assert_eq!(h.set(&field, &value, lim), pos.is_none());
                    match pos {
                        Some(i) => model[i].1 = value,
                        None => model.push((field, value)),
                    }
                }
                proptest::prop_assert_eq!(h.len(), model.len());
            }
            for (f, v) in &model {
                proptest::prop_assert_eq!(h.get(f), Some(&v[..]));
            }
            if let Repr::Table(t) = &h.repr {
                let held: usize = t.slots.iter().map(|s| s.data.len()).sum();
                proptest::prop_assert_eq!(t.bytes, held);
            }
            let got: Vec<(Vec<u8>, Vec<u8>)> =
                h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
            if h.is_listpack() {
                proptest::prop_assert_eq!(got, model);
            } else {
                let mut got = got;
                got.sort();
                let mut want = model.clone();
                want.sort();
                proptest::prop_assert_eq!(got, want);
            }
        }
    }

    #[test]
    fn table_slots_stay_small_and_overwrites_keep_accounting() {
        // the stored hash sits in what was padding
        assert_eq!(std::mem::size_of::<Slot>(), 24);
        let lim = Limits {
            max_entries: 0,
            max_value: 64,
        };
        let mut h = Hash::default();
        h.set(b"f", b"12345678", lim);
        h.set(b"f", b"abcdefgh", lim);
        assert_eq!(h.get(b"f"), Some(&b"abcdefgh"[..]));
        h.set(b"f", b"xy", lim);
        assert_eq!(h.get(b"f"), Some(&b"xy"[..]));
        let Repr::Table(t) = &h.repr else {
            panic!("not a table")
        };
        assert_eq!(t.bytes, 1 + 1 + 2);
    }

    #[test]
    fn compact_buffer_keeps_no_slack() {
        let lim = Limits {
            max_entries: 128,
            max_value: 64,
        };
        let mut h = Hash::default();
        for i in 0..10 {
            h.set(format!("f{i}").as_bytes(), b"v0000000", lim);
        }
        // 10 pairs of one header byte, a 2-byte field and an 8-byte value
        assert_eq!(h.mem_usage(), 110);
        for i in 0..5 {
            assert!(h.remove(format!("f{i}").as_bytes()));
        }
        assert_eq!(h.mem_usage(), 55);
        h.set(b"f5", b"v", lim);
        assert_eq!(h.mem_usage(), 48);
        assert_eq!(h.get(b"f5"), Some(&b"v"[..]));
        assert_eq!(h.get(b"f9"), Some(&b"v0000000"[..]));
    }

    #[test]
    fn equality_ignores_encoding() {
        let mut a = Hash::default();
        let mut b = Hash::default();
        a.set(b"x", b"1", LIM);
        b.set(
            b"x",
            b"1",
            Limits {
                max_entries: 0,
                max_value: 0,
            },
        );
        assert_eq!(a, b);
    }
}
