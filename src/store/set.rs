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
    /// Boxed so that a `Set` (and so every stored object) stays small: objects live
    /// inline in their keyspace entries.
    Table(Box<Table>),
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
            enc: Enc::Table(Box::new(Table::with_capacity(cap))),
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
        Set {
            enc: Enc::Table(Box::new(t)),
        }
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
        self.enc = Enc::Table(Box::new(t));
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
            Enc::Table(t) => t.pop_random(rng),
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

/// The low 32 bits of a member's hash: they pick its bucket (ids are `u32`, so a table
/// never has more than 2^32 buckets) and, stored beside the member, let a lookup skip
/// non-matching entries and a resize relink without hashing anything again.
fn hash_member(m: &[u8]) -> u32 {
    HASHER.hash_one(m) as u32
}

/// Members up to this long live inside their entry, with no allocation of their own:
/// that covers typical ids and `element:000000012345`-style names.
const INLINE: usize = 22;

/// A member's bytes: inline when short, boxed otherwise; `Free` marks an entry on the
/// free list. 24 bytes either way.
#[derive(Clone, Debug)]
enum Member {
    Inline { len: u8, buf: [u8; INLINE] },
    Heap(Box<[u8]>),
    Free,
}

impl Member {
    fn new(m: &[u8]) -> Member {
        if m.len() <= INLINE {
            let mut buf = [0u8; INLINE];
            buf[..m.len()].copy_from_slice(m);
            Member::Inline {
                len: m.len() as u8,
                buf,
            }
        } else {
            Member::Heap(m.into())
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Member::Inline { len, buf } => &buf[..*len as usize],
            Member::Heap(b) => b,
            Member::Free => &[],
        }
    }

    fn is_free(&self) -> bool {
        matches!(self, Member::Free)
    }

    /// Heap bytes owned beyond the entry itself.
    fn heap(&self) -> usize {
        match self {
            Member::Heap(b) => b.len(),
            _ => 0,
        }
    }
}

/// One member with its hash and the link to the next entry of its chain (or, when
/// free, of the free list): 32 bytes.
#[derive(Clone, Debug)]
struct Entry {
    hash: u32,
    next: u32,
    m: Member,
}

const NIL: u32 = u32::MAX;
const MIN_BUCKETS: usize = 4;

/// Entries per chunk of the entry store: 128 KiB.
const CHUNK: usize = 4096;

/// The entries of a table, in fixed-size chunks past the first: a big set grows by
/// adding a chunk, never by reallocating and copying everything (which would also
/// leave the old block's pages resident after the copy, so a 1M-member set would
/// hold up to half again its size). The first chunk grows as a `Vec` does up to
/// `CHUNK`, so a small table stays small. Ids index across chunks.
#[derive(Clone, Debug, Default)]
struct Entries {
    chunks: Vec<Vec<Entry>>,
}

impl Entries {
    fn with_capacity(cap: usize) -> Entries {
        let mut e = Entries::default();
        if cap > 0 {
            e.chunks.push(Vec::with_capacity(cap.min(CHUNK)));
        }
        e
    }

    fn len(&self) -> usize {
        match self.chunks.last() {
            Some(last) => (self.chunks.len() - 1) * CHUNK + last.len(),
            None => 0,
        }
    }

    fn push(&mut self, e: Entry) {
        match self.chunks.last_mut() {
            Some(last) if last.len() < CHUNK => {
                if last.len() == last.capacity() {
                    let want = (last.len() * 2).clamp(MIN_BUCKETS, CHUNK);
                    last.reserve_exact(want - last.len());
                }
                last.push(e);
            }
            _ => {
                let mut c = Vec::with_capacity(if self.chunks.is_empty() {
                    MIN_BUCKETS
                } else {
                    CHUNK
                });
                c.push(e);
                self.chunks.push(c);
            }
        }
    }

    fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.chunks.iter().flatten()
    }

    fn iter_mut(&mut self) -> impl Iterator<Item = &mut Entry> {
        self.chunks.iter_mut().flatten()
    }

    /// Keeps the entries in use, packed from id 0, each chunk sized exactly.
    fn retain_used(&mut self) {
        let mut out = Entries::default();
        for c in std::mem::take(&mut self.chunks) {
            for e in c {
                if !e.m.is_free() {
                    out.push(e);
                }
            }
        }
        if let Some(last) = out.chunks.last_mut() {
            last.shrink_to_fit();
        }
        *self = out;
    }

    fn capacity(&self) -> usize {
        self.chunks.iter().map(Vec::capacity).sum()
    }
}

impl std::ops::Index<usize> for Entries {
    type Output = Entry;
    fn index(&self, i: usize) -> &Entry {
        &self.chunks[i / CHUNK][i % CHUNK]
    }
}

impl std::ops::IndexMut<usize> for Entries {
    fn index_mut(&mut self, i: usize) -> &mut Entry {
        &mut self.chunks[i / CHUNK][i % CHUNK]
    }
}

/// Chained buckets with a power-of-two count, grown at load factor 1 and shrunk below
/// 1/8: the layout SSCAN's reverse-binary cursor needs to return every member present
/// for the whole scan across resizes (a member's bucket depends only on its hash and
/// the size, never on what else was inserted, as open addressing would make it).
///
/// The chains are flat: a bucket is the `u32` id of its first entry and all entries
/// sit in one store, each holding its member (inline when short), its hash and the
/// next id. A lookup reads the bucket word, then entries whose stored hash matches
/// before comparing bytes; no per-member or per-bucket allocation for short members.
/// Removed entries go on a free list; the store is compacted when mostly free, so a
/// random member is drawn by picking entries uniformly and rejecting free ones (at
/// most 3/4 of them), which gives every member the same odds whatever its chain.
#[derive(Clone, Debug)]
struct Table {
    buckets: Vec<u32>,
    entries: Entries,
    free: u32,
    len: usize,
    /// Bytes of boxed (long) members, so MEMORY USAGE needs no walk.
    heap: usize,
}

impl Table {
    fn with_capacity(cap: usize) -> Table {
        let size = cap
            .max(MIN_BUCKETS)
            .checked_next_power_of_two()
            .unwrap_or(MIN_BUCKETS);
        Table {
            buckets: vec![NIL; size],
            entries: Entries::with_capacity(cap),
            free: NIL,
            len: 0,
            heap: 0,
        }
    }

    fn mask(&self) -> u32 {
        (self.buckets.len() - 1) as u32
    }

    /// The id of the entry holding `m`, whose hash is `h`.
    fn find(&self, m: &[u8], h: u32) -> Option<u32> {
        let mut i = self.buckets[(h & self.mask()) as usize];
        while i != NIL {
            let e = &self.entries[i as usize];
            if e.hash == h && e.m.bytes() == m {
                return Some(i);
            }
            i = e.next;
        }
        None
    }

    fn contains(&self, m: &[u8]) -> bool {
        self.find(m, hash_member(m)).is_some()
    }

    fn insert(&mut self, m: &[u8]) -> bool {
        let h = hash_member(m);
        if self.find(m, h).is_some() {
            return false;
        }
        self.insert_new(m, h);
        true
    }

    /// Adds a member known to be absent.
    fn insert_new(&mut self, m: &[u8], hash: u32) {
        if self.len >= self.buckets.len() {
            self.resize(self.buckets.len() * 2);
        }
        let b = (hash & self.mask()) as usize;
        let e = Entry {
            hash,
            next: self.buckets[b],
            m: Member::new(m),
        };
        self.heap += e.m.heap();
        let id = if self.free != NIL {
            let id = self.free;
            self.free = self.entries[id as usize].next;
            self.entries[id as usize] = e;
            id
        } else {
            self.entries.push(e);
            (self.entries.len() - 1) as u32
        };
        self.buckets[b] = id;
        self.len += 1;
    }

    fn remove(&mut self, m: &[u8]) -> bool {
        let h = hash_member(m);
        match self.find(m, h) {
            Some(id) => {
                self.remove_id(id);
                true
            }
            None => false,
        }
    }

    /// Unlinks entry `id` (in use) from its chain and frees it.
    fn remove_id(&mut self, id: u32) {
        let b = (self.entries[id as usize].hash & self.mask()) as usize;
        let next = self.entries[id as usize].next;
        if self.buckets[b] == id {
            self.buckets[b] = next;
        } else {
            let mut i = self.buckets[b];
            while self.entries[i as usize].next != id {
                i = self.entries[i as usize].next;
            }
            self.entries[i as usize].next = next;
        }
        let e = &mut self.entries[id as usize];
        self.heap -= e.m.heap();
        e.m = Member::Free;
        e.next = self.free;
        self.free = id;
        self.len -= 1;
        self.after_remove();
    }

    fn after_remove(&mut self) {
        let shrink = self.buckets.len() > MIN_BUCKETS && self.len * 8 < self.buckets.len();
        let size = if shrink {
            self.len.max(MIN_BUCKETS).next_power_of_two()
        } else {
            self.buckets.len()
        };
        if self.entries.len() > 64 && self.len * 4 < self.entries.len() {
            // ids change, bucket membership does not: a scan under way is unaffected
            self.entries.retain_used();
            self.free = NIL;
            self.resize(size);
        } else if shrink {
            self.resize(size);
        }
    }

    /// Relinks every entry in use into `size` buckets from its stored hash (the free
    /// list is left as it is).
    fn resize(&mut self, size: usize) {
        self.buckets = vec![NIL; size];
        let mask = self.mask();
        for (i, e) in self.entries.iter_mut().enumerate() {
            if !e.m.is_free() {
                let b = (e.hash & mask) as usize;
                e.next = self.buckets[b];
                self.buckets[b] = i as u32;
            }
        }
    }

    fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.entries
            .iter()
            .filter(|e| !e.m.is_free())
            .map(|e| e.m.bytes())
    }

    fn mem_usage(&self) -> usize {
        self.buckets.capacity() * std::mem::size_of::<u32>()
            + self.entries.capacity() * std::mem::size_of::<Entry>()
            + self.heap
    }

    /// The id of a uniformly chosen entry in use.
    fn random_id(&self, rng: &mut impl Rng) -> Option<u32> {
        if self.len == 0 {
            return None;
        }
        loop {
            let i = rng.gen_range(0..self.entries.len());
            if !self.entries[i].m.is_free() {
                return Some(i as u32);
            }
        }
    }

    fn random(&self, rng: &mut impl Rng) -> Option<&[u8]> {
        self.random_id(rng)
            .map(|i| self.entries[i as usize].m.bytes())
    }

    /// Removes and returns a uniformly chosen member.
    fn pop_random(&mut self, rng: &mut impl Rng) -> Option<Vec<u8>> {
        let id = self.random_id(rng)?;
        let m = self.entries[id as usize].m.bytes().to_vec();
        self.remove_id(id);
        Some(m)
    }

    fn scan_step(&self, cursor: u64, mut f: impl FnMut(&[u8])) -> u64 {
        let m = self.mask() as u64;
        let mut i = self.buckets[(cursor & m) as usize];
        while i != NIL {
            let e = &self.entries[i as usize];
            f(e.m.bytes());
            i = e.next;
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

    #[test]
    fn entries_are_compact() {
        assert_eq!(std::mem::size_of::<Member>(), 24);
        assert_eq!(std::mem::size_of::<Entry>(), 32);
    }

    #[test]
    fn long_members_and_pops_keep_the_table_consistent() {
        let mut s = Set::new_hashtable(0);
        let long = |i: usize| format!("{}{i}", "x".repeat(30)).into_bytes();
        for i in 0..500 {
            assert!(s.add(&long(i), &lim()));
            assert!(s.add(format!("s{i}").as_bytes(), &lim()));
        }
        assert!(!s.add(&long(7), &lim()));
        assert_eq!(s.len(), 1000);
        let mut rng = rand::thread_rng();
        let mut popped = std::collections::HashSet::new();
        while let Some(m) = s.pop_random(&mut rng) {
            assert!(!s.contains(&m));
            assert!(popped.insert(m));
            assert_eq!(s.iter().count(), s.len());
        }
        assert_eq!(popped.len(), 1000);
        if let Enc::Table(t) = &s.enc {
            assert_eq!(t.heap, 0);
        }
    }

    #[test]
    fn entries_span_chunks_and_compact() {
        let mut s = Set::new_hashtable(0);
        let n = CHUNK * 3 + 17;
        for i in 0..n {
            assert!(s.add(format!("e{i}").as_bytes(), &lim()));
        }
        assert!((0..n).all(|i| s.contains(format!("e{i}").as_bytes())));
        // down to a few members: the store is packed into one exact chunk
        for i in 0..n - 100 {
            assert!(s.remove(format!("e{i}").as_bytes()));
        }
        assert_eq!(s.len(), 100);
        assert!((n - 100..n).all(|i| s.contains(format!("e{i}").as_bytes())));
        assert_eq!(s.iter().count(), 100);
        if let Enc::Table(t) = &s.enc {
            assert!(t.entries.chunks.len() == 1 && t.entries.capacity() < CHUNK);
        }
        let mut c = 0;
        let mut seen = 0;
        loop {
            c = s.scan(c, 10, |_| seen += 1);
            if c == 0 {
                break;
            }
        }
        assert_eq!(seen, 100);
    }

    #[test]
    fn sscan_survives_resizes_between_steps() {
        let mut s = Set::new_hashtable(0);
        for i in 0..100 {
            s.add(format!("keep{i}").as_bytes(), &lim());
        }
        let mut seen = std::collections::HashSet::new();
        let (mut cursor, mut step) = (0, 0);
        loop {
            cursor = s.scan(cursor, 1, |e| {
                seen.insert(e.to_vec());
            });
            step += 1;
            // grow, then shrink (and compact the entries) while the scan is under way
            if step == 5 {
                for i in 0..2000 {
                    s.add(format!("tmp{i}").as_bytes(), &lim());
                }
            }
            if step == 300 {
                for i in 0..2000 {
                    s.remove(format!("tmp{i}").as_bytes());
                }
            }
            if cursor == 0 {
                break;
            }
        }
        assert!((0..100).all(|i| seen.contains(format!("keep{i}").as_bytes())));
    }

    #[test]
    fn random_members_are_roughly_uniform() {
        let mut s = Set::new_hashtable(0);
        for i in 0..40 {
            s.add(format!("m{i}").as_bytes(), &lim());
        }
        // free entries in the middle of the vector must not skew the odds
        for i in 0..20 {
            s.remove(format!("m{}", i * 2).as_bytes());
        }
        let mut rng = rand::thread_rng();
        let mut counts = std::collections::HashMap::new();
        for _ in 0..40_000 {
            if let Some(e) = s.random(&mut rng) {
                *counts.entry(e.to_vec()).or_insert(0u32) += 1;
            }
        }
        assert_eq!(counts.len(), 20);
        // expected 2000 each
        assert!(
            counts.values().all(|&n| (1600..2400).contains(&n)),
            "{counts:?}"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        #[test]
        fn hashtable_matches_a_model(
            ops in proptest::collection::vec((0u16..300, proptest::bool::ANY), 1..2000),
        ) {
            let mut s = Set::new_hashtable(0);
            let mut model = std::collections::HashSet::new();
            for (n, add) in ops {
                // both sides of the inline limit
                let m = format!("{}{n}", "m".repeat(n as usize % 30)).into_bytes();
                if add {
                    proptest::prop_assert_eq!(s.add(&m, &lim()), model.insert(m.clone()));
                } else {
                    proptest::prop_assert_eq!(s.remove(&m), model.remove(&m));
                }
                proptest::prop_assert_eq!(s.len(), model.len());
            }
            let got: std::collections::HashSet<Vec<u8>> = s.iter().map(Elem::to_vec).collect();
            proptest::prop_assert_eq!(&got, &model);
            if let Enc::Table(t) = &s.enc {
                let held: usize = t.entries.iter().map(|e| e.m.heap()).sum();
                proptest::prop_assert_eq!(t.heap, held);
            }
        }
    }
}
