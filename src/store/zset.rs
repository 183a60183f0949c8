//! The zset value type: a compact encoding for small values and a full one past the
//! configured thresholds.
//!
//! Both encodings keep members ordered by score, then by member bytes, as Valkey does.
//!
//! The compact one ("listpack") is one contiguous byte buffer of entries in order, each
//! `varint(len) member score(8 bytes LE) reversed-varint(len)`: the trailing length lets
//! iteration run from either end without an offset table, and the whole value is a
//! single allocation. Lookups are linear, as in a real listpack; the thresholds keep
//! the buffer small (`zset-max-listpack-entries` 128, `-value` 64 by default).
//!
//! The full one ("skiplist") stores every member once, in a slab of nodes addressed by
//! `u32` ids. The nodes form a treap (a binary search tree kept balanced by random
//! heap priorities) ordered by (score, member) where each node counts its subtree, so
//! insertion, deletion, rank, select-by-rank and score seeks are all O(log n) expected,
//! like Valkey's skiplist with spans. A `hashbrown::HashTable<u32>` keyed by the member
//! bytes finds a member's node for ZSCORE and updates. Why a treap rather than a
//! skiplist or a B-tree: links are 4-byte ids inside the node (40 bytes per member plus
//! the member bytes and ~6-10 bytes of index), it needs no per-level arrays, and split /
//! merge keep the code small. Priorities come from a per-set seeded generator, so a
//! client cannot choose an insertion order that degenerates the tree.
//! Removed nodes go on a free list; the slab is rebuilt when it is mostly free, so a
//! set that shrinks gives its memory back.
//! Ids are `u32`, which bounds a set to 2^32 - 1 members (160 GB of nodes alone).

use super::varint;
use hashbrown::HashTable;
use std::cmp::Ordering;
use std::hash::BuildHasher;
use std::sync::LazyLock;

/// A score with a total order. NaN is never stored (every writer rejects it), so the
/// partial order of f64 is total here; -0 and 0 compare equal, as in Valkey.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Score(f64);

impl Eq for Score {}

impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Score {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.partial_cmp(&other.0).unwrap_or(Ordering::Equal)
    }
}

/// Orders two entries as Valkey's skiplist does: by score, then member bytes.
pub fn entry_cmp(a: (f64, &[u8]), b: (f64, &[u8])) -> Ordering {
    Score(a.0).cmp(&Score(b.0)).then_with(|| a.1.cmp(b.1))
}

/// The thresholds past which a zset leaves the compact encoding
/// (`zset-max-listpack-entries`, `zset-max-listpack-value`).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub entries: usize,
    pub value: usize,
}

#[derive(Clone, Debug)]
enum Repr {
    Pack(Pack),
    Skip(Box<Tree>),
}

/// A zset value.
#[derive(Clone, Debug)]
pub struct ZSet {
    repr: Repr,
}

impl Default for ZSet {
    fn default() -> Self {
        ZSet {
            repr: Repr::Pack(Pack::default()),
        }
    }
}

/// Equal when both the encoding and the (member, score) sequence agree.
impl PartialEq for ZSet {
    fn eq(&self, other: &Self) -> bool {
        self.encoding() == other.encoding()
            && self.len() == other.len()
            && self.iter().eq(other.iter())
    }
}

// ---------------------------------------------------------------------------------
// The compact encoding

/// Reads the reversed varint that ends just before `end`: (value, bytes used). It is
/// the forward encoding written back to front, so reading leftwards decodes it.
fn get_rev_varint(buf: &[u8], end: usize) -> (usize, usize) {
    let mut n = 0usize;
    let mut k = 0;
    loop {
        let b = buf[end - 1 - k];
        n |= ((b & 0x7f) as usize) << (7 * k);
        k += 1;
        if b & 0x80 == 0 {
            return (n, k);
        }
    }
}

fn pack_entry(member: &[u8], score: f64) -> Vec<u8> {
    let k = varint::len(member.len());
    let mut e = Vec::with_capacity(2 * k + member.len() + 8);
    varint::put(&mut e, member.len());
    e.extend_from_slice(member);
    e.extend_from_slice(&score.to_le_bytes());
    let mark = e.len();
    varint::put(&mut e, member.len());
    e[mark..].reverse();
    e
}

/// The entry starting at `at`: (member, score, offset of the next entry).
fn entry_at(buf: &[u8], at: usize) -> (&[u8], f64, usize) {
    let (len, m) = varint::read(buf, at);
    let k = m - at;
    let s = m + len;
    let mut raw = [0u8; 8];
    raw.copy_from_slice(&buf[s..s + 8]);
    (&buf[m..s], f64::from_le_bytes(raw), s + 8 + k)
}

/// The entry ending at `end`: (member, score, offset where it starts).
fn entry_before(buf: &[u8], end: usize) -> (&[u8], f64, usize) {
    let (len, k) = get_rev_varint(buf, end);
    let s = end - k - 8;
    let m = s - len;
    let mut raw = [0u8; 8];
    raw.copy_from_slice(&buf[s..s + 8]);
    (&buf[m..s], f64::from_le_bytes(raw), m - k)
}

#[derive(Clone, Debug, Default)]
struct Pack {
    buf: Vec<u8>,
    len: usize,
}

impl Pack {
    fn iter(&self) -> PackIter<'_> {
        PackIter {
            buf: &self.buf,
            front: 0,
            back: self.buf.len(),
            left: self.len,
        }
    }

    /// (offset, entry length, rank) of `member`.
    fn find(&self, member: &[u8]) -> Option<(usize, usize, usize)> {
        let mut at = 0;
        let mut rank = 0;
        while at < self.buf.len() {
            let (m, _, next) = entry_at(&self.buf, at);
            if m == member {
                return Some((at, next - at, rank));
            }
            at = next;
            rank += 1;
        }
        None
    }

    /// The offset of the first entry ordered after (score, member).
    fn position(&self, score: f64, member: &[u8]) -> usize {
        let mut at = 0;
        while at < self.buf.len() {
            let (m, s, next) = entry_at(&self.buf, at);
            if entry_cmp((s, m), (score, member)) == Ordering::Greater {
                break;
            }
            at = next;
        }
        at
    }

    fn insert_at(&mut self, at: usize, entry: &[u8]) {
        // exact growth: the buffer is the whole value, doubling would waste up to half
        self.buf.reserve_exact(entry.len());
        self.buf.splice(at..at, entry.iter().copied());
        self.len += 1;
    }

    fn remove_at(&mut self, at: usize, n: usize) {
        self.buf.drain(at..at + n);
        self.len -= 1;
    }

    /// (offset, rank) of the first entry whose score fails `before`.
    fn score_offset(&self, mut before: impl FnMut(f64) -> bool) -> (usize, usize) {
        let mut at = 0;
        let mut rank = 0;
        while at < self.buf.len() {
            let (_, s, next) = entry_at(&self.buf, at);
            if !before(s) {
                break;
            }
            at = next;
            rank += 1;
        }
        (at, rank)
    }
}

struct PackIter<'a> {
    buf: &'a [u8],
    front: usize,
    back: usize,
    left: usize,
}

// ---------------------------------------------------------------------------------
// The full encoding

const NIL: u32 = u32::MAX;

static HASHER: LazyLock<foldhash::fast::RandomState> =
    LazyLock::new(foldhash::fast::RandomState::default);

fn hash_member(m: &[u8]) -> u64 {
    HASHER.hash_one(m)
}

#[derive(Clone, Debug)]
struct Node {
    member: Box<[u8]>,
    score: f64,
    left: u32,
    right: u32,
    /// Members in this subtree; 0 marks a free slot (whose `left` links the free list).
    size: u32,
    prio: u32,
}

#[derive(Clone, Debug)]
struct Tree {
    nodes: Vec<Node>,
    root: u32,
    free: u32,
    len: usize,
    /// Member bytes held, so MEMORY USAGE needs no walk.
    bytes: usize,
    index: HashTable<u32>,
    /// State of the priority generator (splitmix64), seeded per set.
    rng: u64,
}

impl Tree {
    fn new() -> Tree {
        Tree {
            nodes: Vec::new(),
            root: NIL,
            free: NIL,
            len: 0,
            bytes: 0,
            index: HashTable::new(),
            rng: rand::random(),
        }
    }

    fn with_capacity(n: usize) -> Tree {
        let mut t = Tree::new();
        t.nodes.reserve_exact(n);
        t.index.reserve(n, |_| 0);
        t
    }

    fn next_prio(&mut self) -> u32 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) as u32
    }

    #[inline]
    fn n(&self, id: u32) -> &Node {
        &self.nodes[id as usize]
    }

    #[inline]
    fn size(&self, id: u32) -> usize {
        if id == NIL {
            0
        } else {
            self.nodes[id as usize].size as usize
        }
    }

    #[inline]
    fn update(&mut self, id: u32) {
        let n = self.n(id);
        let s = 1 + self.size(n.left) + self.size(n.right);
        self.nodes[id as usize].size = s as u32;
    }

    /// Whether node `a` sorts before node `b`.
    #[inline]
    fn less(&self, a: u32, b: u32) -> bool {
        let (x, y) = (self.n(a), self.n(b));
        entry_cmp((x.score, &x.member), (y.score, &y.member)) == Ordering::Less
    }

    fn find(&self, member: &[u8]) -> Option<u32> {
        self.index
            .find(hash_member(member), |&id| {
                &*self.nodes[id as usize].member == member
            })
            .copied()
    }

    /// Splits subtree `t` (not holding `x`) into the nodes before `x` and after it.
    fn split(&mut self, t: u32, x: u32) -> (u32, u32) {
        if t == NIL {
            return (NIL, NIL);
        }
        if self.less(t, x) {
            let (a, b) = self.split(self.n(t).right, x);
            self.nodes[t as usize].right = a;
            self.update(t);
            (t, b)
        } else {
            let (a, b) = self.split(self.n(t).left, x);
            self.nodes[t as usize].left = b;
            self.update(t);
            (a, t)
        }
    }

    /// Joins two subtrees where every node of `a` sorts before every node of `b`.
    fn merge(&mut self, a: u32, b: u32) -> u32 {
        if a == NIL {
            return b;
        }
        if b == NIL {
            return a;
        }
        if self.n(a).prio > self.n(b).prio {
            let r = self.merge(self.n(a).right, b);
            self.nodes[a as usize].right = r;
            self.update(a);
            a
        } else {
            let l = self.merge(a, self.n(b).left);
            self.nodes[b as usize].left = l;
            self.update(b);
            b
        }
    }

    fn set_child(&mut self, parent: u32, left: bool, child: u32) {
        if parent == NIL {
            self.root = child;
        } else if left {
            self.nodes[parent as usize].left = child;
        } else {
            self.nodes[parent as usize].right = child;
        }
    }

    /// Links node `x` (in the slab, not in the tree) into the tree.
    fn link(&mut self, x: u32) {
        let prio = self.n(x).prio;
        let (mut parent, mut went_left) = (NIL, false);
        let mut t = self.root;
        while t != NIL && self.n(t).prio >= prio {
            self.nodes[t as usize].size += 1;
            parent = t;
            went_left = self.less(x, t);
            t = if went_left {
                self.n(t).left
            } else {
                self.n(t).right
            };
        }
        let (l, r) = self.split(t, x);
        let n = &mut self.nodes[x as usize];
        n.left = l;
        n.right = r;
        self.update(x);
        self.set_child(parent, went_left, x);
    }

    /// Takes node `x` out of the tree (it stays in the slab).
    fn unlink(&mut self, x: u32) {
        let (mut parent, mut went_left) = (NIL, false);
        let mut t = self.root;
        while t != x {
            self.nodes[t as usize].size -= 1;
            parent = t;
            went_left = self.less(x, t);
            t = if went_left {
                self.n(t).left
            } else {
                self.n(t).right
            };
        }
        let (l, r) = (self.n(x).left, self.n(x).right);
        let m = self.merge(l, r);
        self.set_child(parent, went_left, m);
    }

    fn alloc(&mut self, member: Box<[u8]>, score: f64) -> u32 {
        let prio = self.next_prio();
        let node = Node {
            member,
            score,
            left: NIL,
            right: NIL,
            size: 1,
            prio,
        };
        if self.free != NIL {
            let id = self.free;
            self.free = self.n(id).left;
            self.nodes[id as usize] = node;
            id
        } else {
            self.nodes.push(node);
            (self.nodes.len() - 1) as u32
        }
    }

    /// Adds a member known to be absent.
    fn add(&mut self, member: Box<[u8]>, score: f64) {
        let h = hash_member(&member);
        self.bytes += member.len();
        let id = self.alloc(member, score);
        let Tree { nodes, index, .. } = self;
        index.insert_unique(h, id, |&i| hash_member(&nodes[i as usize].member));
        self.link(id);
        self.len += 1;
    }

    /// Sets the score of an existing member.
    fn rescore(&mut self, id: u32, score: f64) {
        self.unlink(id);
        self.nodes[id as usize].score = score;
        self.link(id);
    }

    fn delete(&mut self, id: u32) {
        self.unlink(id);
        let h = hash_member(&self.n(id).member);
        if let Ok(e) = self.index.find_entry(h, |&i| i == id) {
            e.remove();
        }
        let n = &mut self.nodes[id as usize];
        self.bytes -= n.member.len();
        n.member = Box::default();
        n.size = 0;
        n.left = self.free;
        self.free = id;
        self.len -= 1;
    }

    /// Called after removals (never between them: ids change): rebuilds the slab
    /// once it is mostly free slots.
    fn maybe_compact(&mut self) {
        if self.nodes.len() > 64 && self.len * 4 < self.nodes.len() {
            self.compact();
        }
    }

    /// Rebuilds the slab without its free slots, so a shrinking set releases memory.
    fn compact(&mut self) {
        let ids: Vec<u32> = TreeIter::new(self, 0, self.len).ids().collect();
        let mut fresh = Tree::with_capacity(self.len);
        fresh.rng = self.rng;
        for id in ids {
            let n = &mut self.nodes[id as usize];
            fresh.add(std::mem::take(&mut n.member), n.score);
        }
        *self = fresh;
    }

    /// 0-based position of node `x` in order.
    fn rank_of(&self, x: u32) -> usize {
        let mut r = 0;
        let mut t = self.root;
        while t != x {
            if self.less(x, t) {
                t = self.n(t).left;
            } else {
                r += self.size(self.n(t).left) + 1;
                t = self.n(t).right;
            }
        }
        r + self.size(self.n(x).left)
    }

    /// How many members have a score for which `before` holds (a prefix of the order).
    fn count_before(&self, before: impl Fn(f64) -> bool) -> usize {
        let mut r = 0;
        let mut t = self.root;
        while t != NIL {
            if before(self.n(t).score) {
                r += self.size(self.n(t).left) + 1;
                t = self.n(t).right;
            } else {
                t = self.n(t).left;
            }
        }
        r
    }

    fn mem_usage(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node>()
            + self.index.allocation_size()
            + self.bytes
    }
}

/// In-order walk over ranks `front..back`, from both ends. Each end keeps the stack of
/// ancestors still to visit, built by one O(log n) descent on first use or after a
/// skip (`nth`), so stepping is O(1) amortized.
struct TreeIter<'a> {
    t: &'a Tree,
    front: usize,
    back: usize,
    fstack: Vec<u32>,
    bstack: Vec<u32>,
}

impl<'a> TreeIter<'a> {
    fn new(t: &'a Tree, front: usize, back: usize) -> TreeIter<'a> {
        TreeIter {
            t,
            front,
            back: back.max(front),
            fstack: Vec::new(),
            bstack: Vec::new(),
        }
    }

    /// The stack whose top is the node at `rank`, holding the ancestors reached by
    /// going left (front) or right (back).
    fn seek(&mut self, rank: usize, front: bool) {
        let t = self.t;
        let stack = if front {
            &mut self.fstack
        } else {
            &mut self.bstack
        };
        stack.clear();
        let mut k = rank;
        let mut x = t.root;
        while x != NIL {
            let ls = t.size(t.n(x).left);
            match k.cmp(&ls) {
                Ordering::Equal => {
                    stack.push(x);
                    return;
                }
                Ordering::Less => {
                    if front {
                        stack.push(x);
                    }
                    x = t.n(x).left;
                }
                Ordering::Greater => {
                    if !front {
                        stack.push(x);
                    }
                    k -= ls + 1;
                    x = t.n(x).right;
                }
            }
        }
    }

    fn next_id(&mut self) -> Option<u32> {
        if self.front >= self.back {
            return None;
        }
        if self.fstack.is_empty() {
            self.seek(self.front, true);
        }
        let x = self.fstack.pop()?;
        let mut c = self.t.n(x).right;
        while c != NIL {
            self.fstack.push(c);
            c = self.t.n(c).left;
        }
        self.front += 1;
        Some(x)
    }

    fn next_back_id(&mut self) -> Option<u32> {
        if self.front >= self.back {
            return None;
        }
        if self.bstack.is_empty() {
            self.seek(self.back - 1, false);
        }
        let x = self.bstack.pop()?;
        let mut c = self.t.n(x).left;
        while c != NIL {
            self.bstack.push(c);
            c = self.t.n(c).right;
        }
        self.back -= 1;
        Some(x)
    }

    fn ids(mut self) -> impl Iterator<Item = u32> + 'a {
        std::iter::from_fn(move || self.next_id())
    }

    fn item(&self, x: u32) -> (&'a [u8], f64) {
        let n = self.t.n(x);
        (&n.member, n.score)
    }
}

// ---------------------------------------------------------------------------------
// Iteration

/// Iterates members in order (or reversed), yielding `(member, score)`. `nth` and
/// `nth_back` (hence `skip`) seek in O(log n) on the full encoding.
pub struct Iter<'a>(IterRepr<'a>);

enum IterRepr<'a> {
    Pack(PackIter<'a>),
    Tree(TreeIter<'a>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            IterRepr::Pack(p) => {
                if p.left == 0 {
                    return None;
                }
                let (m, s, next) = entry_at(p.buf, p.front);
                p.front = next;
                p.left -= 1;
                Some((m, s))
            }
            IterRepr::Tree(t) => t.next_id().map(|x| t.item(x)),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match &self.0 {
            IterRepr::Pack(p) => p.left,
            IterRepr::Tree(t) => t.back - t.front,
        };
        (n, Some(n))
    }

    fn nth(&mut self, n: usize) -> Option<Self::Item> {
        if let IterRepr::Tree(t) = &mut self.0 {
            if n > 0 {
                t.front = t.front.saturating_add(n).min(t.back);
                t.fstack.clear();
            }
            return self.next();
        }
        for _ in 0..n {
            self.next()?;
        }
        self.next()
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            IterRepr::Pack(p) => {
                if p.left == 0 {
                    return None;
                }
                let (m, s, start) = entry_before(p.buf, p.back);
                p.back = start;
                p.left -= 1;
                Some((m, s))
            }
            IterRepr::Tree(t) => t.next_back_id().map(|x| t.item(x)),
        }
    }

    fn nth_back(&mut self, n: usize) -> Option<Self::Item> {
        if let IterRepr::Tree(t) = &mut self.0 {
            if n > 0 {
                t.back = t.back.saturating_sub(n).max(t.front);
                t.bstack.clear();
            }
            return self.next_back();
        }
        for _ in 0..n {
            self.next_back()?;
        }
        self.next_back()
    }
}

impl ExactSizeIterator for Iter<'_> {}

// ---------------------------------------------------------------------------------
// The value

impl ZSet {
    pub fn new() -> ZSet {
        ZSet::default()
    }

    /// A new zset that will receive about `count` members, the longest `max_len`
    /// bytes: it starts in the full encoding when that is where it would end up, as
    /// Valkey's `zsetTypeCreate`.
    pub fn with_hint(count: usize, max_len: usize, lim: Limits) -> ZSet {
        let mut z = ZSet::new();
        if count > lim.entries || max_len > lim.value {
            z.make_skiplist();
        }
        z
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Pack(p) => p.len,
            Repr::Skip(t) => t.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes owned, for MEMORY USAGE.
    pub fn mem_usage(&self) -> usize {
        match &self.repr {
            Repr::Pack(p) => p.buf.capacity(),
            Repr::Skip(t) => std::mem::size_of::<Tree>() + t.mem_usage(),
        }
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Pack(_) => "listpack",
            Repr::Skip(_) => "skiplist",
        }
    }

    pub fn iter(&self) -> Iter<'_> {
        match &self.repr {
            Repr::Pack(p) => Iter(IterRepr::Pack(p.iter())),
            Repr::Skip(t) => Iter(IterRepr::Tree(TreeIter::new(t, 0, t.len))),
        }
    }

    /// The members scored within `lo..=hi`, found by search rather than by walking
    /// from an end.
    pub fn score_window(&self, lo: f64, hi: f64) -> Iter<'_> {
        match &self.repr {
            Repr::Pack(p) => {
                let (start, a) = p.score_offset(|s| s < lo);
                let (end, b) = p.score_offset(|s| s <= hi);
                let (end, b) = if end < start { (start, a) } else { (end, b) };
                Iter(IterRepr::Pack(PackIter {
                    buf: &p.buf,
                    front: start,
                    back: end,
                    left: b - a,
                }))
            }
            Repr::Skip(t) => {
                let a = t.count_before(|s| s < lo);
                let b = t.count_before(|s| s <= hi);
                Iter(IterRepr::Tree(TreeIter::new(t, a, b)))
            }
        }
    }

    /// How many members lie between two score bounds given as predicates that hold on
    /// a prefix of the order: `below(s)` for scores under the low bound, `upto(s)` for
    /// scores up to the high one. O(log n) on the full encoding (ZCOUNT).
    pub fn count_scores(&self, below: impl Fn(f64) -> bool, upto: impl Fn(f64) -> bool) -> usize {
        match &self.repr {
            Repr::Pack(p) => Iter(IterRepr::Pack(p.iter()))
                .filter(|&(_, s)| !below(s) && upto(s))
                .count(),
            Repr::Skip(t) => t.count_before(upto).saturating_sub(t.count_before(below)),
        }
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.repr {
            Repr::Pack(p) => p.find(member).map(|(at, _, _)| entry_at(&p.buf, at).1),
            Repr::Skip(t) => t.find(member).map(|id| t.n(id).score),
        }
    }

    /// 0-based position of `member` in ascending order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        match &self.repr {
            Repr::Pack(p) => p.find(member).map(|(_, _, r)| r),
            Repr::Skip(t) => t.find(member).map(|id| t.rank_of(id)),
        }
    }

    /// Sets `member` to `score` (never NaN), adding it if absent; converts to the full
    /// encoding when a threshold is crossed. Returns true if the member is new.
    pub fn insert(&mut self, member: &[u8], score: f64, lim: Limits) -> bool {
        let added = match &mut self.repr {
            Repr::Pack(p) => {
                // a listpack keeps -0 as 0, which is what Valkey reads back from one
                let score = if score == 0.0 { 0.0 } else { score };
                let old = p.find(member);
                if let Some((at, n, _)) = old {
                    p.remove_at(at, n);
                }
                let at = p.position(score, member);
                p.insert_at(at, &pack_entry(member, score));
                old.is_none()
            }
            Repr::Skip(t) => match t.find(member) {
                Some(id) => {
                    // an equal score (-0 and 0 included) leaves the member as it is
                    if t.n(id).score != score {
                        t.rescore(id, score);
                    }
                    false
                }
                None => {
                    t.add(member.into(), score);
                    true
                }
            },
        };
        if matches!(self.repr, Repr::Pack(_))
            && (self.len() > lim.entries || member.len() > lim.value)
        {
            self.make_skiplist();
        }
        added
    }

    /// Removes `member`; true if it was present.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Pack(p) => match p.find(member) {
                Some((at, n, _)) => {
                    p.remove_at(at, n);
                    true
                }
                None => false,
            },
            Repr::Skip(t) => match t.find(member) {
                Some(id) => {
                    t.delete(id);
                    t.maybe_compact();
                    true
                }
                None => false,
            },
        }
    }

    /// Removes the members at ascending positions `start..=end` (both in range).
    pub fn remove_rank_range(&mut self, start: usize, end: usize) -> usize {
        if end < start || start >= self.len() {
            return 0;
        }
        let end = end.min(self.len() - 1);
        match &mut self.repr {
            Repr::Pack(p) => {
                let mut it = p.iter();
                for _ in 0..start {
                    it.front = entry_at(it.buf, it.front).2;
                }
                let from = it.front;
                for _ in start..=end {
                    it.front = entry_at(it.buf, it.front).2;
                }
                let to = it.front;
                p.buf.drain(from..to);
                p.len -= end - start + 1;
                end - start + 1
            }
            Repr::Skip(t) => {
                let ids: Vec<u32> = TreeIter::new(t, start, end + 1).ids().collect();
                for &id in &ids {
                    t.delete(id);
                }
                t.maybe_compact();
                ids.len()
            }
        }
    }

    /// Removes every member for which `f(member, score)` holds.
    pub fn remove_where(&mut self, mut f: impl FnMut(&[u8], f64) -> bool) -> usize {
        match &mut self.repr {
            Repr::Pack(p) => {
                let mut out = Vec::with_capacity(p.buf.len());
                let mut at = 0;
                let mut removed = 0;
                while at < p.buf.len() {
                    let (m, s, next) = entry_at(&p.buf, at);
                    if f(m, s) {
                        removed += 1;
                    } else {
                        out.extend_from_slice(&p.buf[at..next]);
                    }
                    at = next;
                }
                if removed > 0 {
                    p.buf = out;
                    p.len -= removed;
                }
                removed
            }
            Repr::Skip(t) => {
                let ids: Vec<u32> = TreeIter::new(t, 0, t.len)
                    .ids()
                    .filter(|&id| f(&t.n(id).member, t.n(id).score))
                    .collect();
                for &id in &ids {
                    t.delete(id);
                }
                t.maybe_compact();
                ids.len()
            }
        }
    }

    /// Removes the given members (those present), in O(m log n) on the full encoding
    /// rather than a walk over the whole set.
    pub fn remove_members<'m>(&mut self, members: impl IntoIterator<Item = &'m [u8]>) -> usize {
        match &mut self.repr {
            Repr::Pack(_) => {
                let set: std::collections::HashSet<&[u8]> = members.into_iter().collect();
                self.remove_where(|m, _| set.contains(m))
            }
            Repr::Skip(t) => {
                let mut n = 0;
                for m in members {
                    if let Some(id) = t.find(m) {
                        t.delete(id);
                        n += 1;
                    }
                }
                t.maybe_compact();
                n
            }
        }
    }

    /// Removes and returns up to `count` members from the low end (or the high end).
    pub fn pop(&mut self, count: usize, max: bool) -> Vec<(Vec<u8>, f64)> {
        let n = count.min(self.len());
        if n == 0 {
            return Vec::new();
        }
        let taken: Vec<(Vec<u8>, f64)> = if max {
            self.iter()
                .rev()
                .take(n)
                .map(|(m, s)| (m.to_vec(), s))
                .collect()
        } else {
            self.iter().take(n).map(|(m, s)| (m.to_vec(), s)).collect()
        };
        let len = self.len();
        if max {
            self.remove_rank_range(len - n, len - 1);
        } else {
            self.remove_rank_range(0, n - 1);
        }
        taken
    }

    fn make_skiplist(&mut self) {
        if let Repr::Pack(p) = &self.repr {
            let mut t = Tree::with_capacity(p.len);
            for (m, s) in Iter(IterRepr::Pack(p.iter())) {
                t.add(m.into(), s);
            }
            self.repr = Repr::Skip(Box::new(t));
        }
    }

    /// Builds a zset from entries in any order, picking the encoding the result needs
    /// (used for stored results, as Valkey converts them back when small enough).
    pub fn from_entries(entries: impl IntoIterator<Item = (Vec<u8>, f64)>, lim: Limits) -> ZSet {
        let mut v: Vec<(f64, Vec<u8>)> = entries.into_iter().map(|(m, s)| (s, m)).collect();
        v.sort_by(|a, b| entry_cmp((a.0, &a.1), (b.0, &b.1)));
        v.dedup_by(|a, b| a.1 == b.1);
        let big = v.len() > lim.entries || v.iter().any(|(_, m)| m.len() > lim.value);
        if big {
            let mut t = Tree::with_capacity(v.len());
            for (s, m) in v {
                t.add(m.into_boxed_slice(), s);
            }
            return ZSet {
                repr: Repr::Skip(Box::new(t)),
            };
        }
        let mut p = Pack::default();
        let size: usize = v
            .iter()
            .map(|(_, m)| 2 * varint::len(m.len()) + m.len() + 8)
            .sum();
        p.buf.reserve_exact(size);
        for (s, m) in v {
            let s = if s == 0.0 { 0.0 } else { s };
            p.buf.extend_from_slice(&pack_entry(&m, s));
            p.len += 1;
        }
        ZSet {
            repr: Repr::Pack(p),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    const SMALL: Limits = Limits {
        entries: 128,
        value: 64,
    };
    const FULL: Limits = Limits {
        entries: 0,
        value: 64,
    };

    fn members(z: &ZSet) -> Vec<(String, f64)> {
        z.iter()
            .map(|(m, s)| (String::from_utf8_lossy(m).into_owned(), s))
            .collect()
    }

    #[test]
    fn orders_by_score_then_member() {
        for lim in [SMALL, FULL] {
            let mut z = ZSet::new();
            z.insert(b"b", 1.0, lim);
            z.insert(b"a", 1.0, lim);
            z.insert(b"c", 0.5, lim);
            z.insert(b"d", f64::NEG_INFINITY, lim);
            z.insert(b"e", f64::INFINITY, lim);
            assert_eq!(
                members(&z),
                vec![
                    ("d".into(), f64::NEG_INFINITY),
                    ("c".into(), 0.5),
                    ("a".into(), 1.0),
                    ("b".into(), 1.0),
                    ("e".into(), f64::INFINITY)
                ]
            );
            assert_eq!(z.rank(b"b"), Some(3));
            assert_eq!(z.rank(b"x"), None);
            assert!(!z.insert(b"a", 2.0, lim));
            assert_eq!(z.rank(b"a"), Some(3));
            assert_eq!(z.score(b"a"), Some(2.0));
            assert!(z.remove(b"a"));
            assert!(!z.remove(b"a"));
            assert_eq!(z.len(), 4);
        }
    }

    #[test]
    fn converts_past_thresholds() {
        let lim = Limits {
            entries: 2,
            value: 4,
        };
        let mut z = ZSet::new();
        z.insert(b"a", 1.0, lim);
        z.insert(b"b", 2.0, lim);
        assert_eq!(z.encoding(), "listpack");
        z.insert(b"c", 3.0, lim);
        assert_eq!(z.encoding(), "skiplist");
        assert_eq!(z.len(), 3);
        assert_eq!(z.rank(b"c"), Some(2));
        let mut z = ZSet::new();
        z.insert(b"abcde", 1.0, lim);
        assert_eq!(z.encoding(), "skiplist");
        let z = ZSet::from_entries(vec![(b"a".to_vec(), 1.0)], lim);
        assert_eq!(z.encoding(), "listpack");
        assert_eq!(ZSet::with_hint(3, 1, lim).encoding(), "skiplist");
    }

    #[test]
    fn score_windows() {
        for lim in [SMALL, FULL] {
            let mut z = ZSet::new();
            for (m, s) in [
                ("a", 1.0),
                ("b", 2.0),
                ("c", 2.0),
                ("d", 3.0),
                ("e", f64::INFINITY),
            ] {
                z.insert(m.as_bytes(), s, lim);
            }
            let names = |it: &mut dyn Iterator<Item = (&[u8], f64)>| {
                it.map(|(m, _)| String::from_utf8_lossy(m).into_owned())
                    .collect::<Vec<_>>()
            };
            assert_eq!(names(&mut z.score_window(2.0, 2.0)), vec!["b", "c"]);
            assert_eq!(
                names(&mut z.score_window(1.5, 3.0).rev()),
                vec!["d", "c", "b"]
            );
            assert_eq!(
                names(&mut z.score_window(3.0, f64::INFINITY)),
                vec!["d", "e"]
            );
            assert!(names(&mut z.score_window(3.0, 1.0)).is_empty());
            assert_eq!(z.count_scores(|s| s <= 1.0, |s| s < 3.0), 2);
            assert_eq!(z.count_scores(|s| s < 2.0, |s| s <= f64::INFINITY), 4);
            assert_eq!(z.count_scores(|s| s < 3.0, |s| s <= 1.0), 0);
            assert_eq!(
                names(&mut z.score_window(f64::NEG_INFINITY, 1.0)),
                vec!["a"]
            );
        }
    }

    #[test]
    fn pops_and_range_removal() {
        for lim in [SMALL, FULL] {
            let mut z = ZSet::new();
            for (i, m) in [b"a", b"b", b"c", b"d"].iter().enumerate() {
                z.insert(*m, i as f64, lim);
            }
            assert_eq!(z.pop(1, true), vec![(b"d".to_vec(), 3.0)]);
            assert_eq!(z.pop(10, false).len(), 3);
            assert!(z.is_empty());
            for (i, m) in [b"a", b"b", b"c", b"d"].iter().enumerate() {
                z.insert(*m, i as f64, lim);
            }
            assert_eq!(z.remove_rank_range(1, 2), 2);
            assert_eq!(z.remove_where(|_, s| s > 2.0), 1);
            assert_eq!(members(&z), vec![("a".into(), 0.0)]);
            z.insert(b"x", 5.0, lim);
            z.insert(b"y", 6.0, lim);
            assert_eq!(z.remove_members([&b"x"[..], b"nope", b"a"]), 2);
            assert_eq!(members(&z), vec![("y".into(), 6.0)]);
        }
    }

    #[test]
    fn negative_zero_equals_zero() {
        for lim in [SMALL, FULL] {
            let mut z = ZSet::new();
            z.insert(b"a", -0.0, lim);
            z.insert(b"b", 0.0, lim);
            z.insert(b"c", -0.0, lim);
            let names: Vec<String> = members(&z).into_iter().map(|(m, _)| m).collect();
            assert_eq!(names, ["a", "b", "c"]);
            assert_eq!(z.score_window(0.0, 0.0).count(), 3);
            assert_eq!(z.score_window(-0.0, -0.0).count(), 3);
        }
    }

    #[test]
    fn long_members_use_multibyte_lengths() {
        let lim = Limits {
            entries: 128,
            value: 100_000,
        };
        let mut z = ZSet::new();
        let long = vec![b'x'; 20_000];
        let mid = vec![b'y'; 200];
        z.insert(&long, 2.0, lim);
        z.insert(&mid, 1.0, lim);
        z.insert(b"s", 3.0, lim);
        assert_eq!(z.encoding(), "listpack");
        let fwd: Vec<usize> = z.iter().map(|(m, _)| m.len()).collect();
        let back: Vec<usize> = z.iter().rev().map(|(m, _)| m.len()).collect();
        assert_eq!(fwd, [200, 20_000, 1]);
        assert_eq!(back, [1, 20_000, 200]);
        assert_eq!(z.score(&long), Some(2.0));
    }

    #[test]
    fn shrinking_releases_slab() {
        let mut z = ZSet::new();
        for i in 0..10_000 {
            z.insert(format!("m{i}").as_bytes(), i as f64, FULL);
        }
        let big = z.mem_usage();
        assert_eq!(z.remove_rank_range(10, 9_999), 9_990);
        assert!(z.mem_usage() * 10 < big, "{} vs {big}", z.mem_usage());
        assert_eq!(z.len(), 10);
        assert_eq!(z.rank(b"m9"), Some(9));
        assert_eq!(z.iter().nth(5), Some((&b"m5"[..], 5.0)));
    }

    #[test]
    fn rank_and_select_on_a_large_set() {
        let mut z = ZSet::new();
        let n = 50_000;
        // inserted in an order unrelated to the sort order
        for i in 0..n {
            let k = (i * 7919) % n;
            z.insert(format!("m{k:06}").as_bytes(), (k / 3) as f64, FULL);
        }
        for k in (0..n).step_by(997) {
            let m = format!("m{k:06}");
            assert_eq!(z.rank(m.as_bytes()), Some(k));
            let (got, s) = z.iter().nth(k).unwrap();
            assert_eq!(got, m.as_bytes());
            assert_eq!(s, (k / 3) as f64);
            let (got, _) = z.iter().rev().nth(n - 1 - k).unwrap();
            assert_eq!(got, m.as_bytes());
        }
        let w: Vec<&[u8]> = z.score_window(10.0, 11.0).map(|(m, _)| m).collect();
        assert_eq!(w.len(), 6);
        assert_eq!(w[0], b"m000030");
    }

    #[test]
    fn iterators_mix_both_ends_and_skips() {
        for lim in [SMALL, FULL] {
            let mut z = ZSet::new();
            for i in 0..100 {
                z.insert(format!("m{i:03}").as_bytes(), (i / 10) as f64, lim);
            }
            let want: Vec<Vec<u8>> = (0..100).map(|i| format!("m{i:03}").into_bytes()).collect();
            // a fixed pseudo-random schedule of next / next_back / nth / nth_back
            let mut it = z.iter();
            let (mut lo, mut hi) = (0usize, 100usize);
            let mut x = 7u32;
            while lo < hi {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                let k = ((x >> 8) % 4) as usize;
                let n = ((x >> 16) % 5) as usize;
                let got = match k {
                    0 => it.next().map(|(m, _)| (m.to_vec(), lo)),
                    1 => it.next_back().map(|(m, _)| (m.to_vec(), hi - 1)),
                    2 => it.nth(n).map(|(m, _)| (m.to_vec(), lo + n)),
                    _ => it
                        .nth_back(n)
                        .map(|(m, _)| (m.to_vec(), hi.wrapping_sub(n + 1))),
                };
                let skip = if k >= 2 { n } else { 0 };
                if skip >= hi - lo {
                    assert!(got.is_none());
                    break;
                }
                let (m, at) = got.unwrap();
                assert_eq!(m, want[at]);
                assert_eq!(it.len(), hi - lo - skip - 1);
                if k.is_multiple_of(2) {
                    lo += skip + 1;
                } else {
                    hi -= skip + 1;
                }
            }
            assert_eq!(
                z.score_window(3.0, 4.0).rev().nth(15).map(|(m, _)| m),
                Some(&b"m034"[..])
            );
            assert_eq!(z.iter().rev().skip(95).count(), 5);
        }
    }

    #[derive(Clone, Debug)]
    enum Op {
        Insert(u8, i8),
        Remove(u8),
        RemoveRanks(u8, u8),
        Pop(u8, bool),
        RemoveAbove(i8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (any::<u8>(), -20i8..20).prop_map(|(m, s)| Op::Insert(m, s)),
            2 => any::<u8>().prop_map(Op::Remove),
            1 => (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Op::RemoveRanks(a % 64, b % 8)),
            1 => (any::<u8>(), any::<bool>()).prop_map(|(n, m)| Op::Pop(n % 5, m)),
            1 => (-20i8..20).prop_map(Op::RemoveAbove),
        ]
    }

    fn name(m: u8) -> Vec<u8> {
        // members of varied lengths, some sharing prefixes
        format!("{}{}", "k".repeat((m % 5) as usize), m).into_bytes()
    }

    fn check(z: &ZSet, model: &HashMap<Vec<u8>, f64>) {
        let mut want: Vec<(f64, Vec<u8>)> = model.iter().map(|(m, s)| (*s, m.clone())).collect();
        want.sort_by(|a, b| entry_cmp((a.0, &a.1), (b.0, &b.1)));
        let got: Vec<(f64, Vec<u8>)> = z.iter().map(|(m, s)| (s, m.to_vec())).collect();
        assert_eq!(got, want);
        let back: Vec<(f64, Vec<u8>)> = z.iter().rev().map(|(m, s)| (s, m.to_vec())).collect();
        assert_eq!(back.into_iter().rev().collect::<Vec<_>>(), want);
        assert_eq!(z.len(), want.len());
        for (i, (s, m)) in want.iter().enumerate() {
            assert_eq!(z.rank(m), Some(i));
            assert_eq!(z.score(m), Some(*s));
            assert_eq!(z.iter().nth(i).map(|(m, _)| m.to_vec()), Some(m.clone()));
        }
        for lo in [-5.0, 0.0, 3.5] {
            let hi = lo + 6.0;
            let w: Vec<Vec<u8>> = z.score_window(lo, hi).map(|(m, _)| m.to_vec()).collect();
            let e: Vec<Vec<u8>> = want
                .iter()
                .filter(|(s, _)| *s >= lo && *s <= hi)
                .map(|(_, m)| m.clone())
                .collect();
            assert_eq!(z.count_scores(|s| s < lo, |s| s <= hi), e.len());
            assert_eq!(w, e);
        }
        if let Repr::Skip(t) = &z.repr {
            let held: usize = want.iter().map(|(_, m)| m.len()).sum();
            assert_eq!(t.bytes, held);
            assert_eq!(t.index.len(), want.len());
            assert_eq!(t.size(t.root), want.len());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn matches_a_model(ops in prop::collection::vec(op(), 1..400), entries in 0usize..40) {
            let lim = Limits { entries, value: 64 };
            let mut z = ZSet::new();
            let mut model: HashMap<Vec<u8>, f64> = HashMap::new();
            for op in ops {
                match op {
                    Op::Insert(m, s) => {
                        let s = s as f64 / 2.0;
                        let added = z.insert(&name(m), s, lim);
                        prop_assert_eq!(added, model.insert(name(m), s).is_none());
                    }
                    Op::Remove(m) => {
                        prop_assert_eq!(z.remove(&name(m)), model.remove(&name(m)).is_some());
                    }
                    Op::RemoveRanks(a, n) => {
                        let (a, b) = (a as usize, a as usize + n as usize);
                        if b < z.len() {
                            let victims: Vec<Vec<u8>> =
                                z.iter().skip(a).take(b - a + 1).map(|(m, _)| m.to_vec()).collect();
                            prop_assert_eq!(z.remove_rank_range(a, b), victims.len());
                            for v in victims {
                                model.remove(&v);
                            }
                        }
                    }
                    Op::Pop(n, max) => {
                        for (m, _) in z.pop(n as usize, max) {
                            prop_assert!(model.remove(&m).is_some());
                        }
                    }
                    Op::RemoveAbove(t) => {
                        let t = t as f64 / 2.0;
                        let n = z.remove_where(|_, s| s > t);
                        let before = model.len();
                        model.retain(|_, s| *s <= t);
                        prop_assert_eq!(n, before - model.len());
                    }
                }
                if model.len() > lim.entries {
                    prop_assert_eq!(z.encoding(), "skiplist");
                }
            }
            check(&z, &model);
        }
    }
}
