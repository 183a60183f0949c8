//! A chained hash table with power-of-two buckets, one per shard.
//!
//! Why not `hashbrown`: SCAN must never miss a key that is present for the whole scan
//! even while the table grows or shrinks, and RANDOMKEY, active expiry and eviction
//! need to sample random entries. Both fall out of Valkey's design (bucket = hash &
//! mask, reverse-binary cursor, random bucket picks) and neither is offered by an
//! open-addressing table whose probe sequences move entries around on resize.
//!
//! Each entry is one allocation behind a thin pointer (see `store::node`): the chain
//! link, the metadata, the optional expiry, the key and either the string value or
//! the object itself.

use super::value::Object;
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

pub use super::node::{Node, LRU_MAX};

/// The value to store for a key.
pub enum NewValue<'a> {
    Str(&'a [u8]),
    Obj(Object),
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
    buckets: Vec<Option<Node>>,
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
        let mut cur = self.buckets[(hash & self.mask()) as usize].as_ref();
        while let Some(n) = cur {
            if n.key_len() == key.len() && n.key() == key {
                return Some(n);
            }
            cur = n.next();
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
        let mut cur = self.buckets[b].as_ref();
        let mut depth = 0;
        while let Some(n) = cur {
            if n.key_len() == key.len() && n.key() == key {
                return Some((b, depth));
            }
            cur = n.next();
            depth += 1;
        }
        None
    }

    /// The node at a position found by [`Table::position`], reached without comparing
    /// keys again.
    #[inline]
    pub fn at_mut(&mut self, (b, depth): (usize, usize)) -> Option<&mut Node> {
        let mut cur = self.buckets.get_mut(b)?.as_mut();
        for _ in 0..depth {
            cur = cur?.next_slot().as_mut();
        }
        cur
    }

    pub fn get_mut(&mut self, hash: u64, key: &[u8]) -> Option<&mut Node> {
        if self.buckets.is_empty() {
            return None;
        }
        let b = (hash & self.mask()) as usize;
        let mut cur = self.buckets[b].as_mut();
        while let Some(n) = cur {
            if n.key_len() == key.len() && n.key() == key {
                return Some(n);
            }
            cur = n.next_slot().as_mut();
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
        let mut node = Node::new(key, value, expire, lru);
        *node.next_slot() = self.buckets[b].take();
        self.len += 1;
        let slot = &mut self.buckets[b];
        *slot = Some(node);
        match slot.as_mut() {
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

    pub fn remove(&mut self, hash: u64, key: &[u8]) -> Option<Node> {
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
                    *link = node.next_slot().take();
                    self.len -= 1;
                    self.shrink_if_needed();
                    return Some(node);
                }
                Some(n) => link = n.next_slot(),
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
        let mut new: Vec<Option<Node>> = Vec::new();
        new.resize_with(n, || None);
        let mask = n as u64 - 1;
        for slot in self.buckets.iter_mut() {
            let mut cur = slot.take();
            while let Some(mut node) = cur {
                cur = node.next_slot().take();
                let b = (hash_key(node.key()) & mask) as usize;
                *node.next_slot() = new[b].take();
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
            self.buckets[b & (self.buckets.len() - 1)].as_ref()
        };
        std::iter::from_fn(move || {
            let n = cur?;
            cur = n.next();
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
    pub fn retain_bucket(&mut self, b: usize, mut remove: impl FnMut(&Node) -> bool) -> Vec<Node> {
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
                    *link = node.next_slot().take();
                    removed.push(node);
                }
                Some(n) => link = n.next_slot(),
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
                cur = n.next_slot().take();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ValueRef;

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
    fn relocated_nodes_stay_linked_across_resizes() {
        // entries reallocated in the middle of chains (volatility flips, strings made
        // raw, values grown) must keep their links through growth and shrinking
        let mut t = Table::default();
        let key = |i: usize| format!("key:{i}").into_bytes();
        for i in 0..300 {
            t.insert_new(hash_key(&key(i)), &key(i), NewValue::Str(b"v"), None, 0);
        }
        for i in 0..300 {
            let k = key(i);
            let n = t.get_mut(hash_key(&k), &k).unwrap();
            match i % 3 {
                0 => {
                    n.set_expire(Some(i as i64));
                }
                1 => {
                    if let Object::Str(s) = n.obj_mut() {
                        s.extend_from_slice(&k);
                    }
                }
                _ => n.set_value(NewValue::Str(&k), false),
            }
        }
        for i in 300..3000 {
            t.insert_new(hash_key(&key(i)), &key(i), NewValue::Str(b""), None, 0);
        }
        for i in 300..3000 {
            assert!(t.remove(hash_key(&key(i)), &key(i)).is_some());
        }
        assert_eq!(t.len(), 300);
        assert_eq!(t.iter().count(), 300);
        for i in 0..300 {
            let k = key(i);
            let n = t.get(hash_key(&k), &k).unwrap();
            let mut raw = b"v".to_vec();
            raw.extend_from_slice(&k);
            match i % 3 {
                0 => assert_eq!(
                    (n.expire(), n.value().as_str()),
                    (Some(i as i64), Some(&b"v"[..]))
                ),
                1 => assert_eq!(n.value().as_str(), Some(&raw[..])),
                _ => assert_eq!(n.value().as_str(), Some(&k[..])),
            }
        }
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
