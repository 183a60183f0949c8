//! The set value type, with Valkey's three encodings: "intset" (sorted integers),
//! "listpack" (a small array in insertion order) and "hashtable". Which one a set uses
//! is observable through OBJECT ENCODING and through reply order, so every conversion
//! follows the same rules and thresholds as Valkey's `t_set.c`.

use crate::protocol::decode::parse_i64;
use rand::Rng;
use std::hash::BuildHasher;
use std::sync::LazyLock;

/// The configured encoding thresholds, read once per command.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub intset_entries: usize,
    pub listpack_entries: usize,
    pub listpack_value: usize,
}

impl Limits {
    /// An intset never grows past 2^30 entries whatever the configuration says.
    fn intset_max(&self) -> usize {
        self.intset_entries.min(1 << 30)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            intset_entries: 512,
            listpack_entries: 128,
            listpack_value: 64,
        }
    }
}

/// One member as stored: integers of an intset are not kept as text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Elem<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Elem<'_> {
    /// Calls `f` with the member's bytes.
    pub fn with_bytes<T>(self, f: impl FnOnce(&[u8]) -> T) -> T {
        match self {
            Elem::Str(s) => f(s),
            Elem::Int(n) => f(itoa::Buffer::new().format(n).as_bytes()),
        }
    }

    pub fn to_vec(self) -> Vec<u8> {
        self.with_bytes(|b| b.to_vec())
    }
}

#[derive(Clone, Debug)]
enum Enc {
    Ints(Vec<i64>),
    Pack(Vec<Box<[u8]>>),
    Table(Table),
}

/// A set value.
#[derive(Clone, Debug)]
pub struct Set {
    enc: Enc,
}

impl Default for Set {
    fn default() -> Self {
        Set::new_intset()
    }
}

impl PartialEq for Set {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|e| other.contains_elem(e))
    }
}

/// Digits of an integer including its sign, as Valkey's `sdigits10`.
fn sdigits10(n: i64) -> usize {
    let mut b = itoa::Buffer::new();
    b.format(n).len()
}

impl Set {
    pub fn new_intset() -> Set {
        Set {
            enc: Enc::Ints(Vec::new()),
        }
    }

    pub fn new_listpack() -> Set {
        Set {
            enc: Enc::Pack(Vec::new()),
        }
    }

    pub fn new_hashtable(cap: usize) -> Set {
        Set {
            enc: Enc::Table(Table::with_capacity(cap)),
        }
    }

    /// An intset of `ints`, which the caller knows to be sorted and distinct.
    pub fn from_sorted_ints(ints: Vec<i64>) -> Set {
        Set {
            enc: Enc::Ints(ints),
        }
    }

    /// A set of `members`, which the caller knows to be distinct, in the listpack
    /// encoding or (`compact` false) the hashtable one. For RESTORE.
    pub fn from_members(members: Vec<Box<[u8]>>, compact: bool) -> Set {
        if compact {
            return Set {
                enc: Enc::Pack(members),
            };
        }
        let mut t = Table::with_capacity(members.len());
        for m in &members {
            t.insert(m);
        }
        Set { enc: Enc::Table(t) }
    }

    /// An empty set that can hold `first`, sized for about `size_hint` members
    /// (Valkey's `setTypeCreate`).
    pub fn create_for(first: &[u8], size_hint: usize, lim: &Limits) -> Set {
        if parse_i64(first).is_some() && size_hint <= lim.intset_entries {
            Set::new_intset()
        } else if size_hint <= lim.listpack_entries {
            Set::new_listpack()
        } else {
            Set::new_hashtable(size_hint)
        }
    }

    pub fn len(&self) -> usize {
        match &self.enc {
            Enc::Ints(v) => v.len(),
            Enc::Pack(v) => v.len(),
            Enc::Table(t) => t.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes owned, for MEMORY USAGE.
    pub fn mem_usage(&self) -> usize {
        match &self.enc {
            Enc::Ints(v) => v.capacity() * 8,
            Enc::Pack(v) => {
                v.capacity() * std::mem::size_of::<Box<[u8]>>()
                    + v.iter().map(|m| m.len()).sum::<usize>()
            }
            Enc::Table(t) => t.mem_usage(),
        }
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        match &self.enc {
            Enc::Ints(_) => "intset",
            Enc::Pack(_) => "listpack",
            Enc::Table(_) => "hashtable",
        }
    }

    pub fn is_intset(&self) -> bool {
        matches!(self.enc, Enc::Ints(_))
    }

    pub fn is_listpack(&self) -> bool {
        matches!(self.enc, Enc::Pack(_))
    }

    pub fn is_hashtable(&self) -> bool {
        matches!(self.enc, Enc::Table(_))
    }

    /// Before adding about `size_hint` members at once, goes straight to a hashtable
    /// when the compact encoding could not hold them (`setTypeMaybeConvert`).
    pub fn maybe_convert(&mut self, size_hint: usize, lim: &Limits) {
        let too_big = match &self.enc {
            Enc::Ints(_) => size_hint > lim.intset_entries,
            Enc::Pack(_) => size_hint > lim.listpack_entries,
            Enc::Table(_) => false,
        };
        if too_big {
            self.convert_to_hashtable(size_hint);
        }
    }

    fn convert_to_hashtable(&mut self, cap: usize) {
        let mut t = Table::with_capacity(cap.max(self.len()));
        for e in self.iter() {
            e.with_bytes(|b| t.insert(b));
        }
        self.enc = Enc::Table(t);
    }

    fn convert_to_listpack(&mut self) {
        let v: Vec<Box<[u8]>> = self.iter().map(|e| e.to_vec().into_boxed_slice()).collect();
        self.enc = Enc::Pack(v);
    }

    /// Adds a member; true if it was not there.
    pub fn add(&mut self, m: &[u8], lim: &Limits) -> bool {
        match parse_i64(m) {
            Some(n) if self.is_intset() => self.add_int(n, lim),
            _ => self.add_str(m, lim),
        }
    }

    /// Adds a member known in its stored form.
    pub fn add_elem(&mut self, e: Elem, lim: &Limits) -> bool {
        match e {
            Elem::Int(n) => self.add_int(n, lim),
            Elem::Str(s) => self.add_str(s, lim),
        }
    }

    fn add_int(&mut self, n: i64, lim: &Limits) -> bool {
        let Enc::Ints(v) = &mut self.enc else {
            return self.add_str(itoa::Buffer::new().format(n).as_bytes(), lim);
        };
        let Err(pos) = v.binary_search(&n) else {
            return false;
        };
        v.insert(pos, n);
        if v.len() > lim.intset_max() {
            self.convert_to_hashtable(0);
        }
        true
    }

    /// Adds a member given as text (which may still be an integer).
    fn add_str(&mut self, m: &[u8], lim: &Limits) -> bool {
        if self.is_intset() {
            if let Some(n) = parse_i64(m) {
                return self.add_int(n, lim);
            }
        }
        match &mut self.enc {
            Enc::Table(t) => t.insert(m),
            Enc::Pack(v) => {
                if v.iter().any(|x| &**x == m) {
                    return false;
                }
                if v.len() < lim.listpack_entries && m.len() <= lim.listpack_value {
                    v.push(m.into());
                } else {
                    let cap = v.len() + 1;
                    self.convert_to_hashtable(cap);
                    if let Enc::Table(t) = &mut self.enc {
                        t.insert(m);
                    }
                }
                true
            }
            Enc::Ints(v) => {
                // the longest integer bounds every member's length
                let widest = match (v.first(), v.last()) {
                    (Some(&lo), Some(&hi)) => sdigits10(lo).max(sdigits10(hi)),
                    _ => 0,
                };
                let fits = v.len() < lim.listpack_entries
                    && m.len() <= lim.listpack_value
                    && widest <= lim.listpack_value;
                if fits {
                    self.convert_to_listpack();
                    if let Enc::Pack(p) = &mut self.enc {
                        p.push(m.into());
                    }
                } else {
                    let cap = v.len() + 1;
                    self.convert_to_hashtable(cap);
                    if let Enc::Table(t) = &mut self.enc {
                        t.insert(m);
                    }
                }
                true
            }
        }
    }

    /// Removes a member; true if it was there. Never changes the encoding.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match &mut self.enc {
            Enc::Ints(v) => match parse_i64(m).map(|n| v.binary_search(&n)) {
                Some(Ok(pos)) => {
                    v.remove(pos);
                    true
                }
                _ => false,
            },
            Enc::Pack(v) => match v.iter().position(|x| &**x == m) {
                Some(pos) => {
                    v.remove(pos);
                    true
                }
                None => false,
            },
            Enc::Table(t) => t.remove(m),
        }
    }

    pub fn remove_elem(&mut self, e: Elem) -> bool {
        match (e, &mut self.enc) {
            (Elem::Int(n), Enc::Ints(v)) => match v.binary_search(&n) {
                Ok(pos) => {
                    v.remove(pos);
                    true
                }
                Err(_) => false,
            },
            (e, _) => e.with_bytes(|b| self.remove(b)),
        }
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        match &self.enc {
            Enc::Ints(v) => parse_i64(m).is_some_and(|n| v.binary_search(&n).is_ok()),
            Enc::Pack(v) => v.iter().any(|x| &**x == m),
            Enc::Table(t) => t.contains(m),
        }
    }

    pub fn contains_elem(&self, e: Elem) -> bool {
        match (e, &self.enc) {
            (Elem::Int(n), Enc::Ints(v)) => v.binary_search(&n).is_ok(),
            (e, _) => e.with_bytes(|b| self.contains(b)),
        }
    }

    /// Members in the encoding's own order: ascending for an intset, insertion order
    /// for a listpack, bucket order for a hashtable.
    pub fn iter(&self) -> Box<dyn Iterator<Item = Elem<'_>> + '_> {
        match &self.enc {
            Enc::Ints(v) => Box::new(v.iter().map(|&n| Elem::Int(n))),
            Enc::Pack(v) => Box::new(v.iter().map(|m| Elem::Str(m))),
            Enc::Table(t) => Box::new(t.iter().map(Elem::Str)),
        }
    }

    /// A uniformly chosen member, None when empty.
    pub fn random(&self, rng: &mut impl Rng) -> Option<Elem<'_>> {
        match &self.enc {
            Enc::Ints(v) if !v.is_empty() => Some(Elem::Int(v[rng.gen_range(0..v.len())])),
            Enc::Pack(v) if !v.is_empty() => Some(Elem::Str(&v[rng.gen_range(0..v.len())])),
            Enc::Table(t) => t.random(rng).map(Elem::Str),
            _ => None,
        }
    }

    /// Removes and returns a random member.
    pub fn pop_random(&mut self, rng: &mut impl Rng) -> Option<Vec<u8>> {
        match &mut self.enc {
            Enc::Ints(v) if !v.is_empty() => {
                let n = v.remove(rng.gen_range(0..v.len()));
                Some(itoa::Buffer::new().format(n).as_bytes().to_vec())
            }
            Enc::Pack(v) if !v.is_empty() => Some(v.remove(rng.gen_range(0..v.len())).into_vec()),
            Enc::Table(t) => {
                let m = t.random(rng)?.to_vec();
                t.remove(&m);
                Some(m)
            }
            _ => None,
        }
    }

    /// Up to `count` distinct members picked at random, in the set's own order
    /// (Valkey's listpack sampling, which keeps order).
    pub fn sample_ordered(&self, count: usize, rng: &mut impl Rng) -> Vec<Elem<'_>> {
        let n = self.len();
        let count = count.min(n);
        let mut out = Vec::with_capacity(count);
        let mut need = count;
        for (i, e) in self.iter().enumerate() {
            if need == 0 {
                break;
            }
            // selection sampling: each remaining member taken with need/left odds
            if rng.gen_range(0..n - i) < need {
                out.push(e);
                need -= 1;
            }
        }
        out
    }

    /// Converts to an intset when every member is an integer and the count allows it
    /// (`maybeConvertToIntset`); the caller knows the members are all integers.
    pub fn maybe_to_intset(&mut self, lim: &Limits) {
        if self.is_intset() || self.len() > lim.intset_max() {
            return;
        }
        let mut v: Vec<i64> = Vec::with_capacity(self.len());
        for e in self.iter() {
            match e {
                Elem::Int(n) => v.push(n),
                Elem::Str(s) => match parse_i64(s) {
                    Some(n) => v.push(n),
                    None => return,
                },
            }
        }
        v.sort_unstable();
        self.enc = Enc::Ints(v);
    }

    /// One SSCAN step: visits members and returns the next cursor. The compact
    /// encodings are returned whole in one call, as Valkey does.
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(Elem)) -> u64 {
        let Enc::Table(t) = &self.enc else {
            for e in self.iter() {
                visit(e);
            }
            return 0;
        };
        let mut cursor = cursor;
        let mut found = 0usize;
        let mut budget = count.saturating_mul(10);
        loop {
            cursor = t.scan_step(cursor, |m| {
                found += 1;
                visit(Elem::Str(m));
            });
            if cursor == 0 || budget == 0 || found >= count {
                return cursor;
            }
            budget -= 1;
        }
    }
}

static HASHER: LazyLock<foldhash::fast::RandomState> =
    LazyLock::new(foldhash::fast::RandomState::default);

fn hash_member(m: &[u8]) -> u64 {
    HASHER.hash_one(m)
}

/// Chained buckets with a power-of-two count: the layout SSCAN's reverse-binary cursor
/// needs to return every member present for the whole scan across resizes, and that
/// lets a random member be drawn without walking the set.
#[derive(Clone, Debug, Default)]
struct Table {
    buckets: Vec<Vec<Box<[u8]>>>,
    len: usize,
}

const MIN_BUCKETS: usize = 4;
/// Chains longer than this are so unlikely at a fill of at most one that sampling by
/// (bucket, slot) stays uniform in practice.
const SAMPLE_DEPTH: usize = 8;

impl Table {
    fn with_capacity(cap: usize) -> Table {
        let mut t = Table::default();
        if cap > 0 {
            t.rehash(cap.next_power_of_two().max(MIN_BUCKETS));
        }
        t
    }

    fn mask(&self) -> usize {
        self.buckets.len() - 1
    }

    fn bucket_of(&self, m: &[u8]) -> usize {
        hash_member(m) as usize & self.mask()
    }

    fn contains(&self, m: &[u8]) -> bool {
        !self.buckets.is_empty() && self.buckets[self.bucket_of(m)].iter().any(|x| &**x == m)
    }

    fn insert(&mut self, m: &[u8]) -> bool {
        if self.contains(m) {
            return false;
        }
        if self.buckets.is_empty() {
            self.rehash(MIN_BUCKETS);
        } else if self.len >= self.buckets.len() {
            self.rehash(self.buckets.len() * 2);
        }
        let b = self.bucket_of(m);
        self.buckets[b].push(m.into());
        self.len += 1;
        true
    }

    fn remove(&mut self, m: &[u8]) -> bool {
        if self.buckets.is_empty() {
            return false;
        }
        let b = self.bucket_of(m);
        let Some(pos) = self.buckets[b].iter().position(|x| &**x == m) else {
            return false;
        };
        self.buckets[b].swap_remove(pos);
        self.len -= 1;
        if self.buckets.len() > MIN_BUCKETS && self.len * 8 < self.buckets.len() {
            self.rehash(self.len.max(MIN_BUCKETS).next_power_of_two());
        }
        true
    }

    fn rehash(&mut self, n: usize) {
        let mut new: Vec<Vec<Box<[u8]>>> = Vec::new();
        new.resize_with(n, Vec::new);
        for chain in self.buckets.drain(..) {
            for m in chain {
                let b = hash_member(&m) as usize & (n - 1);
                new[b].push(m);
            }
        }
        self.buckets = new;
    }

    fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.buckets.iter().flat_map(|c| c.iter().map(|m| &**m))
    }

    fn mem_usage(&self) -> usize {
        self.buckets.capacity() * std::mem::size_of::<Vec<Box<[u8]>>>()
            + self
                .buckets
                .iter()
                .map(|c| c.capacity() * std::mem::size_of::<Box<[u8]>>())
                .sum::<usize>()
            + self.iter().map(|m| m.len()).sum::<usize>()
    }

    fn random(&self, rng: &mut impl Rng) -> Option<&[u8]> {
        if self.len == 0 {
            return None;
        }
        // every (bucket, slot) pair is equally likely, so every member is too
        for _ in 0..10_000 {
            let b = rng.gen_range(0..self.buckets.len());
            let k = rng.gen_range(0..SAMPLE_DEPTH);
            if let Some(m) = self.buckets[b].get(k) {
                return Some(m);
            }
        }
        self.iter().nth(rng.gen_range(0..self.len))
    }

    fn scan_step(&self, cursor: u64, mut f: impl FnMut(&[u8])) -> u64 {
        if self.buckets.is_empty() {
            return 0;
        }
        let m = self.mask() as u64;
        for x in &self.buckets[(cursor & m) as usize] {
            f(x);
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

    fn lim() -> Limits {
        Limits::default()
    }

    #[test]
    fn intset_stays_sorted_and_converts_past_its_limit() {
        let l = Limits {
            intset_entries: 4,
            ..lim()
        };
        let mut s = Set::create_for(b"5", 1, &l);
        for m in [&b"5"[..], b"-3", b"10", b"0"] {
            assert!(s.add(m, &l));
        }
        assert!(!s.add(b"10", &l));
        assert_eq!(s.encoding(), "intset");
        let got: Vec<Vec<u8>> = s.iter().map(Elem::to_vec).collect();
        assert_eq!(
            got,
            vec![b"-3".to_vec(), b"0".to_vec(), b"5".to_vec(), b"10".to_vec()]
        );
        assert!(s.add(b"11", &l));
        assert_eq!(s.encoding(), "hashtable");
        assert_eq!(s.len(), 5);
        assert!(s.contains(b"-3"));
    }

    #[test]
    fn non_canonical_integers_are_strings() {
        let mut s = Set::create_for(b"1", 1, &lim());
        s.add(b"1", &lim());
        assert!(s.add(b"01", &lim()));
        assert_eq!(s.encoding(), "listpack");
        assert!(s.contains(b"01") && s.contains(b"1"));
        assert!(!s.contains(b"+1"));
    }

    #[test]
    fn intset_to_listpack_or_hashtable_on_a_string() {
        let mut s = Set::new_intset();
        for i in 0..10 {
            s.add(i.to_string().as_bytes(), &lim());
        }
        s.add(b"a", &lim());
        assert_eq!(s.encoding(), "listpack");
        let mut big = Set::new_intset();
        for i in 0..200 {
            big.add(i.to_string().as_bytes(), &lim());
        }
        big.add(b"a", &lim());
        assert_eq!(big.encoding(), "hashtable");
        let l = Limits {
            listpack_value: 3,
            ..lim()
        };
        let mut wide = Set::new_intset();
        wide.add(b"-1000", &l);
        wide.add(b"x", &l);
        assert_eq!(wide.encoding(), "hashtable");
    }

    #[test]
    fn listpack_converts_on_count_or_length() {
        let l = Limits {
            listpack_entries: 3,
            listpack_value: 5,
            ..lim()
        };
        let mut s = Set::create_for(b"a", 1, &l);
        for m in [b"a", b"b", b"c"] {
            s.add(m, &l);
        }
        assert_eq!(s.encoding(), "listpack");
        s.add(b"d", &l);
        assert_eq!(s.encoding(), "hashtable");
        let mut t = Set::create_for(b"a", 1, &l);
        t.add(b"abcdef", &l);
        assert_eq!(t.encoding(), "hashtable");
    }

    #[test]
    fn hashtable_scan_covers_all_and_removal_shrinks() {
        let mut s = Set::new_hashtable(0);
        for i in 0..1000 {
            s.add(format!("m{i}").as_bytes(), &lim());
        }
        let mut seen = std::collections::HashSet::new();
        let mut c = 0;
        loop {
            c = s.scan(c, 10, |e| {
                seen.insert(e.to_vec());
            });
            if c == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), 1000);
        for i in 0..995 {
            assert!(s.remove(format!("m{i}").as_bytes()));
        }
        assert_eq!(s.len(), 5);
        assert_eq!(s.iter().count(), 5);
        let mut rng = rand::thread_rng();
        for _ in 0..50 {
            assert!(s.random(&mut rng).is_some());
        }
        assert_eq!(s.encoding(), "hashtable");
    }

    #[test]
    fn back_to_intset_when_all_integers() {
        let mut s = Set::new_hashtable(0);
        for m in [b"3", b"1", b"2"] {
            s.add(m, &lim());
        }
        s.maybe_to_intset(&lim());
        assert_eq!(s.encoding(), "intset");
        let got: Vec<Vec<u8>> = s.iter().map(Elem::to_vec).collect();
        assert_eq!(got, vec![b"1".to_vec(), b"2".to_vec(), b"3".to_vec()]);
        let mut p = Set::new_listpack();
        p.add(b"x", &lim());
        p.maybe_to_intset(&lim());
        assert_eq!(p.encoding(), "listpack");
    }

    #[test]
    fn sampling_is_distinct_and_bounded() {
        let mut s = Set::new_listpack();
        for i in 0..20 {
            s.add(format!("v{i}").as_bytes(), &lim());
        }
        let mut rng = rand::thread_rng();
        let picked = s.sample_ordered(7, &mut rng);
        assert_eq!(picked.len(), 7);
        let uniq: std::collections::HashSet<_> = picked.iter().map(|e| e.to_vec()).collect();
        assert_eq!(uniq.len(), 7);
        assert_eq!(s.sample_ordered(100, &mut rng).len(), 20);
        let mut total = 0;
        while s.pop_random(&mut rng).is_some() {
            total += 1;
        }
        assert_eq!(total, 20);
    }
}
