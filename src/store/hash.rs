//! The hash value type: a compact encoding for small values and a full one past the
//! configured thresholds.
//!
//! Small hashes are a flat vector of pairs, like Valkey's listpack: insertion order is
//! the iteration order clients see, and a linear search over a few entries is cheaper
//! than hashing. Past `hash-max-listpack-entries` or `hash-max-listpack-value` the hash
//! becomes a chained table with power-of-two buckets so that HSCAN can use the
//! reverse-binary cursor and keep its guarantees across resizes. A hash never goes
//! back to the compact form, as in Valkey.

use rand::Rng;
use std::hash::BuildHasher;
use std::sync::LazyLock;

type Entry = (Box<[u8]>, Box<[u8]>);

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
// The compact encoding: one buffer of `varint(len) field varint(len) value` pairs in
// insertion order. A single allocation per hash, 2 bytes of overhead per pair for
// short strings, where separate boxes cost two allocations and 32 bytes of pointers.

fn put_varint(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn varint_len(mut n: usize) -> usize {
    let mut k = 1;
    while n >= 0x80 {
        n >>= 7;
        k += 1;
    }
    k
}

/// The string starting at `at`: (bytes, offset just past it).
fn string_at(buf: &[u8], at: usize) -> (&[u8], usize) {
    let mut n = 0usize;
    let mut k = 0;
    loop {
        let b = buf[at + k];
        n |= ((b & 0x7f) as usize) << (7 * k);
        k += 1;
        if b & 0x80 == 0 {
            break;
        }
    }
    let s = at + k;
    (&buf[s..s + n], s + n)
}

fn encoded_len(field: &[u8], value: &[u8]) -> usize {
    varint_len(field.len()) + field.len() + varint_len(value.len()) + value.len()
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
        let (f, v_at) = string_at(self.buf, self.at);
        let (v, next) = string_at(self.buf, v_at);
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

    /// (start of the pair, start of its value, end of the pair) for `field`.
    fn find(&self, field: &[u8]) -> Option<(usize, usize, usize)> {
        let mut at = 0;
        while at < self.buf.len() {
            let (f, v_at) = string_at(&self.buf, at);
            let (_, next) = string_at(&self.buf, v_at);
            if f == field {
                return Some((at, v_at, next));
            }
            at = next;
        }
        None
    }

    fn push(&mut self, field: &[u8], value: &[u8]) {
        // exact growth: the buffer is the whole value, doubling would waste up to half
        self.buf.reserve_exact(encoded_len(field, value));
        put_varint(&mut self.buf, field.len());
        self.buf.extend_from_slice(field);
        put_varint(&mut self.buf, value.len());
        self.buf.extend_from_slice(value);
        self.len += 1;
    }

    /// Replaces the value stored at `v_at..end`.
    fn replace_value(&mut self, v_at: usize, end: usize, value: &[u8]) {
        let mut enc = Vec::with_capacity(varint_len(value.len()) + value.len());
        put_varint(&mut enc, value.len());
        enc.extend_from_slice(value);
        if enc.len() == end - v_at {
            self.buf[v_at..end].copy_from_slice(&enc);
        } else {
            if enc.len() > end - v_at {
                self.buf.reserve_exact(enc.len() - (end - v_at));
            }
            self.buf.splice(v_at..end, enc);
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
        let entry = std::mem::size_of::<Entry>();
        match &self.repr {
            Repr::Listpack(p) => p.buf.capacity(),
            Repr::Table(t) => {
                std::mem::size_of::<Table>()
                    + t.buckets.capacity() * std::mem::size_of::<Vec<Entry>>()
                    + t.buckets
                        .iter()
                        .map(|b| {
                            b.capacity() * entry
                                + b.iter().map(|(f, x)| f.len() + x.len()).sum::<usize>()
                        })
                        .sum::<usize>()
            }
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
            Repr::Listpack(p) => p.find(field).map(|(_, v_at, _)| string_at(&p.buf, v_at).0),
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
        }
    }

    /// Sets a field; returns true when the field is new.
    pub fn set(&mut self, field: &[u8], value: &[u8], lim: Limits) -> bool {
        if self.is_listpack() && (field.len() > lim.max_value || value.len() > lim.max_value) {
            self.convert(0);
        }
        match &mut self.repr {
            Repr::Listpack(p) => {
                if let Some((_, v_at, end)) = p.find(field) {
                    p.replace_value(v_at, end, value);
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
                Some((at, _, end)) => {
                    p.buf.drain(at..end);
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
            Repr::Table(t) => Box::new(t.buckets.iter().flatten().map(|(f, x)| (&**f, &**x))),
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
    pub fn from_pairs(pairs: Vec<(Box<[u8]>, Box<[u8]>)>, compact: bool) -> Hash {
        if !compact {
            let mut t = Table::with_capacity(pairs.len());
            for (f, x) in pairs {
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
                t.insert_owned(f.into(), x.into());
            }
            self.repr = Repr::Table(Box::new(t));
        }
    }
}

/// A chained hash table with power-of-two buckets, grown at load factor 1 and shrunk
/// below 1/8 like Valkey's dict (without the incremental rehash).
#[derive(Clone, Debug)]
struct Table {
    buckets: Vec<Vec<Entry>>,
    len: usize,
    /// An upper bound on chain length (stale after removals, exact after a resize):
    /// random picks reject against it so every entry is equally likely.
    max_chain: usize,
}

fn hash_of(field: &[u8]) -> u64 {
    HASHER.hash_one(field)
}

impl Table {
    fn with_capacity(n: usize) -> Table {
        let size = n
            .max(MIN_BUCKETS)
            .checked_next_power_of_two()
            .unwrap_or(MIN_BUCKETS);
        Table {
            buckets: vec![Vec::new(); size],
            len: 0,
            max_chain: 0,
        }
    }

    fn mask(&self) -> u64 {
        self.buckets.len() as u64 - 1
    }

    fn slot(&self, field: &[u8]) -> usize {
        (hash_of(field) & self.mask()) as usize
    }

    fn get(&self, field: &[u8]) -> Option<&[u8]> {
        self.buckets[self.slot(field)]
            .iter()
            .find(|(f, _)| &**f == field)
            .map(|(_, x)| &**x)
    }

    fn insert(&mut self, field: &[u8], value: &[u8]) -> bool {
        let b = self.slot(field);
        if let Some(e) = self.buckets[b].iter_mut().find(|(f, _)| &**f == field) {
            e.1 = value.into();
            return false;
        }
        self.insert_owned(field.into(), value.into());
        true
    }

    /// Adds a field known to be absent.
    fn insert_owned(&mut self, field: Box<[u8]>, value: Box<[u8]>) {
        if self.len >= self.buckets.len() {
            self.resize(self.buckets.len() * 2);
        }
        let b = self.slot(&field);
        self.buckets[b].push((field, value));
        self.max_chain = self.max_chain.max(self.buckets[b].len());
        self.len += 1;
    }

    fn remove(&mut self, field: &[u8]) -> bool {
        let b = self.slot(field);
        let Some(i) = self.buckets[b].iter().position(|(f, _)| &**f == field) else {
            return false;
        };
        self.buckets[b].swap_remove(i);
        self.len -= 1;
        if self.buckets.len() > MIN_BUCKETS && self.len * 8 < self.buckets.len() {
            self.resize(self.len.max(MIN_BUCKETS).next_power_of_two());
        }
        true
    }

    fn resize(&mut self, size: usize) {
        let old = std::mem::replace(&mut self.buckets, vec![Vec::new(); size]);
        self.max_chain = 0;
        for (f, x) in old.into_iter().flatten() {
            let b = self.slot(&f);
            self.buckets[b].push((f, x));
            self.max_chain = self.max_chain.max(self.buckets[b].len());
        }
    }

    fn random(&self, rng: &mut impl Rng) -> Option<(&[u8], &[u8])> {
        if self.len == 0 {
            return None;
        }
        // A slot (bucket, depth) drawn uniformly holds each entry with the same
        // probability, where picking a bucket first would favour short chains. The load
        // factor stays above 1/8 and chains are short, so few draws are needed.
        let depth = self.max_chain.max(1);
        loop {
            let b = &self.buckets[rng.gen_range(0..self.buckets.len())];
            if let Some((f, x)) = b.get(rng.gen_range(0..depth)) {
                return Some((f, x));
            }
        }
    }

    fn scan_step<'a>(&'a self, cursor: u64, mut f: impl FnMut(&'a [u8], &'a [u8])) -> u64 {
        let m = self.mask();
        for (k, v) in &self.buckets[(cursor & m) as usize] {
            f(k, v);
        }
        let mut v = cursor | !m;
        v = v.reverse_bits();
        v = v.wrapping_add(1);
        v.reverse_bits()
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
        assert_eq!(small.mem_usage(), 10 * (1 + 2 + 1 + 8));
    }

    const LIM2: Limits = Limits {
        max_entries: 128,
        max_value: 64,
    };

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        #[test]
        fn matches_a_model(
            ops in proptest::collection::vec((0u8..40, 0u8..3, 0usize..12), 1..300),
            max_entries in 0usize..30,
        ) {
            let lim = Limits { max_entries, max_value: 8 };
            let mut h = Hash::default();
            // insertion-ordered model: the compact encoding must iterate in this order
            let mut model: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
            for (f, op, vlen) in ops {
                let field = format!("f{f}").into_bytes();
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
