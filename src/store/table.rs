//! A chained hash table with power-of-two buckets, one per shard.
//!
//! Why not `hashbrown`: SCAN must never miss a key that is present for the whole scan
//! even while the table grows or shrinks, and RANDOMKEY, active expiry and eviction
//! need to sample random entries. Both fall out of Valkey's design (bucket = hash &
//! mask, reverse-binary cursor, random bucket picks) and neither is offered by an
//! open-addressing table whose probe sequences move entries around on resize.
//!
//! Each node is one small allocation holding the chain link, the entry metadata and a
//! byte buffer with the key, the optional expiry and a small string value inline; only
//! collections and mutated strings live behind a second pointer.

use super::value::{Object, ValueRef};
use std::hash::BuildHasher;
use std::sync::LazyLock;

static HASHER: LazyLock<foldhash::fast::RandomState> =
    LazyLock::new(foldhash::fast::RandomState::default);

/// The keyspace hash of a key. The top bits pick the shard and the low bits the bucket,
/// so the two choices stay independent.
#[inline]
pub fn hash_key(key: &[u8]) -> u64 {
    HASHER.hash_one(key)
}

const FLAG_VOLATILE: u64 = 1 << 32;
const FLAG_INLINE: u64 = 1 << 33;
const LRU_SHIFT: u32 = 40;
/// 24-bit clock in seconds, as Valkey's `LRU_CLOCK`.
pub const LRU_MAX: u32 = (1 << 24) - 1;

pub struct Node {
    next: Option<Box<Node>>,
    /// `[expire: i64 LE if volatile][key][inline string value]`
    data: Box<[u8]>,
    obj: Option<Box<Object>>,
    /// bits 0..32 key length, 32..40 flags, 40..64 LRU clock
    meta: u64,
}

/// The value to store for a key.
pub enum NewValue<'a> {
    Str(&'a [u8]),
    Obj(Object),
}

impl Node {
    fn build(key: &[u8], expire: Option<i64>, inline: &[u8], obj: Option<Box<Object>>) -> Node {
        let mut data = Vec::with_capacity(8 * expire.is_some() as usize + key.len() + inline.len());
        let mut meta = key.len() as u64;
        if let Some(e) = expire {
            data.extend_from_slice(&e.to_le_bytes());
            meta |= FLAG_VOLATILE;
        }
        data.extend_from_slice(key);
        if obj.is_none() {
            data.extend_from_slice(inline);
            meta |= FLAG_INLINE;
        }
        Node {
            next: None,
            data: data.into_boxed_slice(),
            obj,
            meta,
        }
    }

    fn new(key: &[u8], value: NewValue, expire: Option<i64>, lru: u32) -> Node {
        let mut n = match value {
            NewValue::Str(s) => Node::build(key, expire, s, None),
            NewValue::Obj(o) => Node::build(key, expire, &[], Some(Box::new(o))),
        };
        n.set_lru(lru);
        n
    }

    #[inline]
    fn key_off(&self) -> usize {
        if self.meta & FLAG_VOLATILE != 0 {
            8
        } else {
            0
        }
    }

    #[inline]
    fn key_len(&self) -> usize {
        (self.meta & 0xffff_ffff) as usize
    }

    #[inline]
    pub fn key(&self) -> &[u8] {
        let o = self.key_off();
        &self.data[o..o + self.key_len()]
    }

    /// Absolute expiry in unix milliseconds.
    #[inline]
    pub fn expire(&self) -> Option<i64> {
        if self.meta & FLAG_VOLATILE != 0 {
            let mut b = [0u8; 8];
            b.copy_from_slice(&self.data[..8]);
            Some(i64::from_le_bytes(b))
        } else {
            None
        }
    }

    #[inline]
    pub fn is_expired(&self, now: i64) -> bool {
        matches!(self.expire(), Some(e) if e <= now)
    }

    pub fn value(&self) -> ValueRef<'_> {
        match &self.obj {
            Some(o) => ValueRef::Obj(o),
            None => ValueRef::Str(&self.data[self.key_off() + self.key_len()..]),
        }
    }

    /// The name OBJECT ENCODING reports, following how Valkey would have encoded the
    /// value: an unmodified string is "int" when it is a canonical integer, "embstr"
    /// up to 44 bytes (Valkey's embedded-string limit), "raw" otherwise.
    pub fn encoding(&self) -> &'static str {
        match self.value() {
            ValueRef::Str(s) => {
                if crate::protocol::decode::parse_i64(s).is_some() {
                    "int"
                } else if s.len() <= 44 {
                    "embstr"
                } else {
                    "raw"
                }
            }
            ValueRef::Obj(o) => o.encoding(),
        }
    }

    /// True when the string is stored inline (Valkey's int/embstr; "raw" otherwise).
    pub fn is_inline(&self) -> bool {
        self.meta & FLAG_INLINE != 0
    }

    /// The entry's 24 bits of access data: the access time in seconds under LRU
    /// policies, minutes and a logarithmic counter under LFU ones (see `store::evict`).
    pub fn lru(&self) -> u32 {
        (self.meta >> LRU_SHIFT) as u32
    }

    pub fn set_lru(&mut self, clock: u32) {
        self.meta = (self.meta & ((1u64 << LRU_SHIFT) - 1))
            | ((clock as u64 & LRU_MAX as u64) << LRU_SHIFT);
    }

    /// Replaces the value, keeping the expiry only if `keep_ttl`.
    pub fn set_value(&mut self, value: NewValue, keep_ttl: bool) {
        let expire = if keep_ttl { self.expire() } else { None };
        let lru = self.lru();
        let next = self.next.take();
        *self = Node::new(self.key_ref_copy().as_slice(), value, expire, lru);
        self.next = next;
    }

    fn key_ref_copy(&self) -> Vec<u8> {
        self.key().to_vec()
    }

    /// Sets or clears the expiry. Returns true if the node changed volatility.
    pub fn set_expire(&mut self, expire: Option<i64>) -> bool {
        match (self.expire(), expire) {
            (Some(_), Some(e)) => {
                self.data[..8].copy_from_slice(&e.to_le_bytes());
                false
            }
            (None, None) => false,
            _ => {
                let off = self.key_off();
                let body = &self.data[off..];
                let mut data = Vec::with_capacity(body.len() + 8);
                if let Some(e) = expire {
                    data.extend_from_slice(&e.to_le_bytes());
                    self.meta |= FLAG_VOLATILE;
                } else {
                    self.meta &= !FLAG_VOLATILE;
                }
                data.extend_from_slice(body);
                self.data = data.into_boxed_slice();
                true
            }
        }
    }

    /// Mutable access to the value as an object; an inline string is moved out to an
    /// owned, growable buffer first (Valkey's embstr -> raw conversion on APPEND).
    pub fn obj_mut(&mut self) -> &mut Object {
        if self.obj.is_none() {
            let off = self.key_off() + self.key_len();
            let s = self.data[off..].to_vec();
            self.data = self.data[..off].to_vec().into_boxed_slice();
            self.meta &= !FLAG_INLINE;
            self.obj = Some(Box::new(Object::Str(s)));
        }
        match self.obj.as_deref_mut() {
            Some(o) => o,
            None => unreachable!("object was just materialized"),
        }
    }

    /// Bytes this entry occupies, for MEMORY USAGE.
    pub fn mem_usage(&self) -> usize {
        std::mem::size_of::<Node>()
            + self.data.len()
            + self
                .obj
                .as_ref()
                .map_or(0, |o| std::mem::size_of::<Object>() + o.mem_usage())
    }

    /// Takes the value out (for RENAME/MOVE): the node is consumed.
    pub fn into_parts(self) -> (OwnedValue, Option<i64>) {
        let expire = self.expire();
        let v = match self.obj {
            Some(o) => OwnedValue::Obj(*o),
            None => {
                let off = self.key_off() + self.key_len();
                OwnedValue::Str(self.data[off..].to_vec())
            }
        };
        (v, expire)
    }
}

/// A value detached from its key.
pub enum OwnedValue {
    Str(Vec<u8>),
    Obj(Object),
}

impl OwnedValue {
    pub fn as_new(&self) -> NewValue<'_> {
        match self {
            OwnedValue::Str(s) => NewValue::Str(s),
            OwnedValue::Obj(o) => NewValue::Obj(o.clone()),
        }
    }
}

#[derive(Default)]
pub struct Table {
    buckets: Vec<Option<Box<Node>>>,
    len: usize,
}

const MIN_BUCKETS: usize = 4;

impl Table {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn buckets(&self) -> usize {
        self.buckets.len()
    }

    #[inline]
    fn mask(&self) -> u64 {
        self.buckets.len() as u64 - 1
    }

    pub fn get(&self, hash: u64, key: &[u8]) -> Option<&Node> {
        if self.buckets.is_empty() {
            return None;
        }
        let mut cur = self.buckets[(hash & self.mask()) as usize].as_deref();
        while let Some(n) = cur {
            if n.key_len() == key.len() && n.key() == key {
                return Some(n);
            }
            cur = n.next.as_deref();
        }
        None
    }

    /// Where a key sits: (bucket, depth in its chain).
    #[inline]
    pub fn position(&self, hash: u64, key: &[u8]) -> Option<(usize, usize)> {
        if self.buckets.is_empty() {
            return None;
        }
        let b = (hash & self.mask()) as usize;
        let mut cur = self.buckets[b].as_deref();
        let mut depth = 0;
        while let Some(n) = cur {
            if n.key_len() == key.len() && n.key() == key {
                return Some((b, depth));
            }
            cur = n.next.as_deref();
            depth += 1;
        }
        None
    }

    /// The node at a position found by [`Table::position`], reached without comparing
    /// keys again.
    #[inline]
    pub fn at_mut(&mut self, (b, depth): (usize, usize)) -> Option<&mut Node> {
        let mut cur = self.buckets.get_mut(b)?.as_deref_mut();
        for _ in 0..depth {
            cur = cur?.next.as_deref_mut();
        }
        cur
    }

    pub fn get_mut(&mut self, hash: u64, key: &[u8]) -> Option<&mut Node> {
        if self.buckets.is_empty() {
            return None;
        }
        let b = (hash & self.mask()) as usize;
        let mut cur = self.buckets[b].as_deref_mut();
        while let Some(n) = cur {
            if n.key_len() == key.len() && n.key() == key {
                return Some(n);
            }
            cur = n.next.as_deref_mut();
        }
        None
    }

    /// Inserts a new node; the caller guarantees the key is absent.
    pub fn insert_new(
        &mut self,
        hash: u64,
        key: &[u8],
        value: NewValue,
        expire: Option<i64>,
        lru: u32,
    ) -> &mut Node {
        self.grow_if_needed();
        let b = (hash & self.mask()) as usize;
        let mut node = Box::new(Node::new(key, value, expire, lru));
        node.next = self.buckets[b].take();
        self.len += 1;
        let slot = &mut self.buckets[b];
        *slot = Some(node);
        match slot.as_deref_mut() {
            Some(n) => n,
            None => unreachable!("slot was just filled"),
        }
    }

    pub fn insert_owned(
        &mut self,
        hash: u64,
        key: &[u8],
        value: OwnedValue,
        expire: Option<i64>,
        lru: u32,
    ) -> &mut Node {
        match value {
            OwnedValue::Str(s) => self.insert_new(hash, key, NewValue::Str(&s), expire, lru),
            OwnedValue::Obj(o) => self.insert_new(hash, key, NewValue::Obj(o), expire, lru),
        }
    }

    pub fn remove(&mut self, hash: u64, key: &[u8]) -> Option<Box<Node>> {
        if self.buckets.is_empty() {
            return None;
        }
        let b = (hash & self.mask()) as usize;
        let mut link = &mut self.buckets[b];
        loop {
            match link {
                None => return None,
                Some(n) if n.key_len() == key.len() && n.key() == key => {
                    let mut node = link.take()?;
                    *link = node.next.take();
                    self.len -= 1;
                    self.shrink_if_needed();
                    return Some(node);
                }
                Some(n) => link = &mut n.next,
            }
        }
    }

    fn grow_if_needed(&mut self) {
        if self.buckets.is_empty() {
            self.buckets.resize_with(MIN_BUCKETS, || None);
        } else if self.len >= self.buckets.len() {
            self.rehash(self.buckets.len() * 2);
        }
    }

    fn shrink_if_needed(&mut self) {
        // shrink below 1/8 fill, like Valkey's HASHTABLE_MIN_FILL
        if self.buckets.len() > MIN_BUCKETS && self.len * 8 < self.buckets.len() {
            let target = (self.len.max(MIN_BUCKETS)).next_power_of_two();
            self.rehash(target);
        }
        if self.len == 0 {
            self.buckets = Vec::new();
        }
    }

    fn rehash(&mut self, n: usize) {
        let mut new: Vec<Option<Box<Node>>> = Vec::new();
        new.resize_with(n, || None);
        let mask = n as u64 - 1;
        for slot in self.buckets.iter_mut() {
            let mut cur = slot.take();
            while let Some(mut node) = cur {
                cur = node.next.take();
                let b = (hash_key(node.key()) & mask) as usize;
                node.next = new[b].take();
                new[b] = Some(node);
            }
        }
        self.buckets = new;
    }

    /// Visits every node of the bucket at index `b` (modulo size).
    pub fn bucket(&self, b: usize) -> impl Iterator<Item = &Node> {
        let mut cur = if self.buckets.is_empty() {
            None
        } else {
            self.buckets[b & (self.buckets.len() - 1)].as_deref()
        };
        std::iter::from_fn(move || {
            let n = cur?;
            cur = n.next.as_deref();
            Some(n)
        })
    }

    pub fn iter(&self) -> impl Iterator<Item = &Node> {
        (0..self.buckets.len()).flat_map(move |b| self.bucket(b))
    }

    /// One step of Valkey's reverse-binary scan: calls `f` for each node in the bucket
    /// the cursor names and returns the next cursor (0 when done). Keys present for the
    /// whole scan are returned at least once even if the table is resized in between.
    pub fn scan_step(&self, cursor: u64, mut f: impl FnMut(&Node)) -> u64 {
        if self.buckets.is_empty() {
            return 0;
        }
        let m = self.mask();
        for n in self.bucket((cursor & m) as usize) {
            f(n);
        }
        let mut v = cursor | !m;
        v = v.reverse_bits();
        v = v.wrapping_add(1);
        v.reverse_bits()
    }

    /// Removes every node for which `pred` is true in the bucket `b`; returns how many.
    pub fn retain_bucket(
        &mut self,
        b: usize,
        mut remove: impl FnMut(&Node) -> bool,
    ) -> Vec<Box<Node>> {
        let mut removed = Vec::new();
        if self.buckets.is_empty() {
            return removed;
        }
        let idx = b & (self.buckets.len() - 1);
        let mut link = &mut self.buckets[idx];
        loop {
            match link {
                None => break,
                Some(n) if remove(n) => {
                    let Some(mut node) = link.take() else { break };
                    *link = node.next.take();
                    removed.push(node);
                }
                Some(n) => link = &mut n.next,
            }
        }
        self.len -= removed.len();
        if !removed.is_empty() {
            self.shrink_if_needed();
        }
        removed
    }

    pub fn clear(&mut self) -> Table {
        std::mem::take(self)
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        // unlink chains iteratively: a long chain dropped recursively could overflow
        for slot in self.buckets.iter_mut() {
            let mut cur = slot.take();
            while let Some(mut n) = cur {
                cur = n.next.take();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ins(t: &mut Table, k: &str) {
        let h = hash_key(k.as_bytes());
        if t.get(h, k.as_bytes()).is_none() {
            t.insert_new(h, k.as_bytes(), NewValue::Str(b"v"), None, 0);
        }
    }

    #[test]
    fn insert_get_remove_and_resize() {
        let mut t = Table::default();
        for i in 0..1000 {
            ins(&mut t, &format!("k{i}"));
        }
        assert_eq!(t.len(), 1000);
        assert!(t.buckets() >= 1000);
        for i in 0..1000 {
            let k = format!("k{i}");
            assert!(t.get(hash_key(k.as_bytes()), k.as_bytes()).is_some());
        }
        for i in 0..990 {
            let k = format!("k{i}");
            assert!(t.remove(hash_key(k.as_bytes()), k.as_bytes()).is_some());
        }
        assert_eq!(t.len(), 10);
        assert!(t.buckets() <= 64, "shrank to {}", t.buckets());
        assert_eq!(t.iter().count(), 10);
    }

    #[test]
    fn node_layout_roundtrip() {
        let mut n = Node::new(b"key", NewValue::Str(b"value"), None, 5);
        assert_eq!(n.key(), b"key");
        assert!(matches!(n.value(), ValueRef::Str(b"value")));
        assert_eq!(n.expire(), None);
        n.set_expire(Some(1234));
        assert_eq!(n.expire(), Some(1234));
        assert_eq!(n.key(), b"key");
        assert!(matches!(n.value(), ValueRef::Str(b"value")));
        n.set_expire(Some(99));
        assert_eq!(n.expire(), Some(99));
        assert_eq!(n.lru(), 5);
        if let Object::Str(s) = n.obj_mut() {
            s.extend_from_slice(b"!!");
        }
        assert!(matches!(n.value(), ValueRef::Obj(Object::Str(s)) if s == b"value!!"));
        assert_eq!(n.expire(), Some(99));
        n.set_expire(None);
        assert_eq!(n.key(), b"key");
        n.set_value(NewValue::Str(b"x"), false);
        assert!(matches!(n.value(), ValueRef::Str(b"x")));
        assert!(n.is_inline());
    }

    #[test]
    fn scan_survives_growth() {
        let mut t = Table::default();
        for i in 0..100 {
            ins(&mut t, &format!("a{i}"));
        }
        let mut seen = std::collections::HashSet::new();
        let mut cur = 0;
        let mut step = 0;
        loop {
            cur = t.scan_step(cur, |n| {
                seen.insert(n.key().to_vec());
            });
            step += 1;
            // grow the table under the scan
            // grow for a while, then let the scan finish
            if step % 3 == 0 && step < 60 {
                for j in 0..50 {
                    ins(&mut t, &format!("b{step}_{j}"));
                }
            }
            if cur == 0 {
                break;
            }
        }
        for i in 0..100 {
            assert!(seen.contains(format!("a{i}").as_bytes()), "missed a{i}");
        }
    }
}
