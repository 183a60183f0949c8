//! The list value type: a compact encoding for small values and a full one past the
//! configured thresholds.
//!
//! Elements always live in one ring of boxed byte strings; what changes with the
//! encoding is the label OBJECT ENCODING reports and the conversion bookkeeping. The
//! sizes that decide conversions are what Valkey's listpack would take for the same
//! elements, and a quicklist keeps the counts and sizes of the nodes Valkey would
//! have (not their contents), so both switches happen where Valkey's do.

use std::collections::VecDeque;

/// Listpack header (total bytes + count) and end marker.
const LP_OVERHEAD: usize = 7;
/// Valkey's `SIZE_SAFETY_LIMIT`: a count-limited node never grows past this.
const SIZE_SAFETY_LIMIT: usize = 8192;
/// Byte limits of the negative `list-max-listpack-size` classes -1..-5.
const SIZE_CLASSES: [usize; 5] = [4096, 8192, 16384, 32768, 65536];

/// A list value.
#[derive(Clone, Debug, PartialEq)]
pub struct List {
    items: VecDeque<Box<[u8]>>,
    /// Bytes a listpack holding every element would occupy.
    lp_bytes: usize,
    /// While quicklist-encoded: where Valkey's node boundaries would fall. Valkey only
    /// returns to a listpack from a single packed node, so the boundaries decide when.
    nodes: Option<VecDeque<QNode>>,
    /// `list-max-listpack-size` when the quicklist was made: like Valkey's, node
    /// boundaries keep following it after a CONFIG SET; only conversions use the
    /// current value.
    fill: i64,
}

/// Where an element goes or comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Head,
    Tail,
}

/// The (size, count) limits of one node for a `list-max-listpack-size` value.
fn node_limits(fill: i64) -> (usize, usize) {
    if fill >= 0 {
        (usize::MAX, fill.max(1) as usize)
    } else {
        let class = ((-(fill as i128)) - 1).min(SIZE_CLASSES.len() as i128 - 1) as usize;
        (SIZE_CLASSES[class], usize::MAX)
    }
}

/// Valkey's `quicklistNodeExceedsLimit`.
fn exceeds(fill: i64, bytes: usize, count: usize) -> bool {
    let (size, max) = node_limits(fill);
    if size != usize::MAX {
        bytes > size
    } else {
        bytes > SIZE_SAFETY_LIMIT || count > max
    }
}

/// A canonical decimal integer as listpack would store it in integer form.
fn as_int(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let v: i64 = std::str::from_utf8(s).ok()?.parse().ok()?;
    // only the exact canonical spelling is stored as an integer
    let mut buf = itoa::Buffer::new();
    (buf.format(v).as_bytes() == s).then_some(v)
}

/// Bytes one element takes in a listpack: encoding header, data and back-length.
fn entry_size(s: &[u8]) -> usize {
    let body = match as_int(s) {
        Some(v) if (0..=127).contains(&v) => 1,
        Some(v) if (-4096..4096).contains(&v) => 2,
        Some(v) if i16::try_from(v).is_ok() => 3,
        Some(v) if (-(1 << 23)..(1 << 23)).contains(&v) => 4,
        Some(v) if i32::try_from(v).is_ok() => 5,
        Some(_) => 9,
        None if s.len() < 64 => 1 + s.len(),
        None if s.len() < 4096 => 2 + s.len(),
        None => 5 + s.len(),
    };
    let back = match body {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    };
    body + back
}

/// One quicklist node: how many elements it holds and its listpack size (for a plain
/// node, the element's own length).
#[derive(Clone, Copy, Debug, PartialEq)]
struct QNode {
    count: usize,
    bytes: usize,
    plain: bool,
}

impl QNode {
    fn packed(es: usize) -> QNode {
        QNode {
            count: 1,
            bytes: LP_OVERHEAD + es,
            plain: false,
        }
    }

    /// A node holding just `v`: plain when the element is too large for any node.
    fn single(fill: i64, v: &[u8]) -> QNode {
        if is_large(fill, v.len()) {
            QNode {
                count: 1,
                bytes: v.len(),
                plain: true,
            }
        } else {
            QNode::packed(entry_size(v))
        }
    }
}

/// Valkey's per-entry estimate when deciding whether a node takes one more element.
const SIZE_ESTIMATE_OVERHEAD: usize = 8;

/// The listpack size of `count` elements from `first`.
fn lp_size(items: &VecDeque<Box<[u8]>>, first: usize, count: usize) -> usize {
    let end = first.saturating_add(count).min(items.len());
    LP_OVERHEAD
        + items
            .range(first.min(end)..end)
            .map(|e| entry_size(e))
            .sum::<usize>()
}

/// Valkey's `isLargeElement`: such an element gets a plain node of its own.
fn is_large(fill: i64, sz: usize) -> bool {
    if fill >= 0 {
        sz > SIZE_SAFETY_LIMIT
    } else {
        sz > node_limits(fill).0
    }
}

/// Valkey's `_quicklistNodeAllowInsert`.
fn allow_insert(fill: i64, n: Option<&QNode>, sz: usize) -> bool {
    match n {
        Some(n) if !n.plain && !is_large(fill, sz) => {
            !exceeds(fill, n.bytes + sz + SIZE_ESTIMATE_OVERHEAD, n.count + 1)
        }
        _ => false,
    }
}

/// Valkey's `_quicklistNodeAllowMerge`.
fn allow_merge(fill: i64, a: &QNode, b: &QNode) -> bool {
    !a.plain && !b.plain && !exceeds(fill, a.bytes + b.bytes - LP_OVERHEAD, a.count + b.count)
}

impl Default for List {
    fn default() -> List {
        List::new()
    }
}

impl List {
    pub fn new() -> List {
        List {
            items: VecDeque::new(),
            lp_bytes: LP_OVERHEAD,
            nodes: None,
            fill: -2,
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes owned, for MEMORY USAGE.
    pub fn mem_usage(&self) -> usize {
        self.items.capacity() * std::mem::size_of::<Box<[u8]>>()
            + self.items.iter().map(|e| e.len()).sum::<usize>()
            + self
                .nodes
                .as_ref()
                .map_or(0, |n| n.capacity() * std::mem::size_of::<QNode>())
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        if self.nodes.is_some() {
            "quicklist"
        } else {
            "listpack"
        }
    }

    /// Before adding `elems`: converts to the quicklist layout if the compact one would
    /// outgrow `fill` (Valkey's `listTypeTryConvertListpack`, which counts the raw
    /// argument lengths, not their encoded size).
    pub fn grow_for<'a>(&mut self, fill: i64, elems: impl IntoIterator<Item = &'a [u8]>) {
        if self.nodes.is_some() {
            return;
        }
        let (mut bytes, mut count) = (0usize, 0usize);
        for e in elems {
            bytes = bytes.saturating_add(e.len());
            count += 1;
        }
        if exceeds(
            fill,
            self.lp_bytes.saturating_add(bytes),
            self.len() + count,
        ) {
            // the whole listpack becomes the first node
            let mut nodes = VecDeque::new();
            if !self.is_empty() {
                nodes.push_back(QNode {
                    count: self.len(),
                    bytes: self.lp_bytes,
                    plain: false,
                });
            }
            self.nodes = Some(nodes);
            self.fill = fill;
        }
    }

    /// After removing or replacing elements: back to the compact layout once a single
    /// packed node is left and it fits in half a node (Valkey's hysteresis, so a list
    /// at the boundary does not flip on every push and pop).
    pub fn shrink(&mut self, fill: i64) {
        let Some(nodes) = &self.nodes else {
            return;
        };
        let (size, count) = node_limits(fill);
        if let (1, Some(n)) = (nodes.len(), nodes.front()) {
            if !n.plain && n.bytes <= size / 2 && n.count <= count / 2 {
                self.nodes = None;
            }
        }
    }

    pub fn push(&mut self, end: End, v: &[u8]) {
        let es = entry_size(v);
        self.lp_bytes += es;
        let fill = self.fill;
        if let Some(nodes) = &mut self.nodes {
            let edge = match end {
                End::Head => nodes.front_mut(),
                End::Tail => nodes.back_mut(),
            };
            match edge {
                Some(n) if allow_insert(fill, Some(n), v.len()) => {
                    n.count += 1;
                    n.bytes += es;
                }
                _ => match end {
                    End::Head => nodes.push_front(QNode::single(fill, v)),
                    End::Tail => nodes.push_back(QNode::single(fill, v)),
                },
            }
        }
        let b: Box<[u8]> = v.into();
        match end {
            End::Head => self.items.push_front(b),
            End::Tail => self.items.push_back(b),
        }
    }

    pub fn pop(&mut self, end: End) -> Option<Box<[u8]>> {
        let v = match end {
            End::Head => self.items.pop_front(),
            End::Tail => self.items.pop_back(),
        }?;
        let es = entry_size(&v);
        self.lp_bytes -= es;
        if let Some(nodes) = &mut self.nodes {
            let i = match end {
                End::Head => 0,
                End::Tail => nodes.len().saturating_sub(1),
            };
            Self::node_take(nodes, i, es, v.len());
        }
        Some(v)
    }

    /// One element of `es` listpack bytes (`len` raw) leaves node `i`.
    fn node_take(nodes: &mut VecDeque<QNode>, i: usize, es: usize, len: usize) {
        if let Some(n) = nodes.get_mut(i) {
            n.count = n.count.saturating_sub(1);
            n.bytes = n.bytes.saturating_sub(if n.plain { len } else { es });
            if n.count == 0 {
                nodes.remove(i);
            }
        }
    }

    /// The node holding element `i` and the element's offset in it.
    fn locate(nodes: &VecDeque<QNode>, mut i: usize) -> Option<(usize, usize)> {
        for (ni, n) in nodes.iter().enumerate() {
            if i < n.count {
                return Some((ni, i));
            }
            i -= n.count;
        }
        None
    }

    /// Valkey's `_quicklistMergeNodes` around node `c`.
    fn merge_around(fill: i64, nodes: &mut VecDeque<QNode>, c: usize) {
        let mut c = c;
        let try_merge = |nodes: &mut VecDeque<QNode>, a: usize| -> bool {
            let (Some(x), Some(y)) = (nodes.get(a), nodes.get(a + 1)) else {
                return false;
            };
            if !allow_merge(fill, x, y) {
                return false;
            }
            let merged = QNode {
                count: x.count + y.count,
                bytes: x.bytes + y.bytes - LP_OVERHEAD,
                plain: false,
            };
            nodes[a] = merged;
            nodes.remove(a + 1);
            true
        };
        if c >= 2 && try_merge(nodes, c - 2) {
            c -= 1;
        }
        try_merge(nodes, c + 1);
        if c >= 1 && try_merge(nodes, c - 1) {
            c -= 1;
        }
        try_merge(nodes, c);
    }

    pub fn get(&self, i: usize) -> Option<&[u8]> {
        self.items.get(i).map(|b| &**b)
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &[u8]> + ExactSizeIterator {
        self.items.iter().map(|b| &**b)
    }

    /// Elements `start..=stop` (clamped by the caller), in order.
    pub fn range(&self, start: usize, stop: usize) -> impl Iterator<Item = &[u8]> {
        self.items.range(start..=stop).map(|b| &**b)
    }

    /// Replaces the element at `i`; false if out of range.
    pub fn set(&mut self, i: usize, v: &[u8]) -> bool {
        let Some(slot) = self.items.get_mut(i) else {
            return false;
        };
        let (old_es, new_es) = (entry_size(slot), entry_size(v));
        self.lp_bytes = self.lp_bytes - old_es + new_es;
        *slot = v.into();
        let fill = self.fill;
        let Some(nodes) = &mut self.nodes else {
            return true;
        };
        let Some((ni, off)) = Self::locate(nodes, i) else {
            return true;
        };
        let n = nodes[ni];
        let large = is_large(fill, v.len());
        if !n.plain
            && !large
            && (new_es <= old_es
                || !exceeds(fill, (n.bytes + new_es).saturating_sub(old_es), n.count))
        {
            nodes[ni].bytes = (n.bytes + new_es).saturating_sub(old_es);
        } else if n.plain {
            nodes[ni] = QNode::single(fill, v);
        } else {
            // Valkey splits after the entry, puts the new element in a node of its own
            // and deletes the old one from the left part
            let first = i - off;
            let left = QNode {
                count: off,
                bytes: lp_size(&self.items, first, off),
                plain: false,
            };
            let right_count = n.count - off - 1;
            let right_bytes = lp_size(&self.items, i + 1, right_count);
            let mut at = ni;
            nodes.remove(ni);
            if left.count > 0 {
                nodes.insert(at, left);
                at += 1;
            }
            nodes.insert(at, QNode::single(fill, v));
            if right_count > 0 {
                nodes.insert(
                    at + 1,
                    QNode {
                        count: right_count,
                        bytes: right_bytes,
                        plain: false,
                    },
                );
            }
            if left.count > 0 {
                Self::merge_around(fill, nodes, at);
            }
        }
        true
    }

    /// Inserts `v` before or after the element at `anchor` (LINSERT's pivot).
    pub fn insert(&mut self, anchor: usize, after: bool, v: &[u8]) {
        let es = entry_size(v);
        self.lp_bytes += es;
        let pos = (anchor + after as usize).min(self.items.len());
        let fill = self.fill;
        if let Some(nodes) = &mut self.nodes {
            if let Some((ni, off)) = Self::locate(nodes, anchor) {
                let n = nodes[ni];
                let full = !allow_insert(fill, Some(&n), v.len());
                let at_tail = after && off + 1 == n.count;
                let at_head = !after && off == 0;
                let avail_next = at_tail && allow_insert(fill, nodes.get(ni + 1), v.len());
                let avail_prev =
                    at_head && ni > 0 && allow_insert(fill, nodes.get(ni - 1), v.len());
                if is_large(fill, v.len()) {
                    if n.plain || at_tail || at_head {
                        nodes.insert(ni + after as usize, QNode::single(fill, v));
                    } else {
                        let (l, r) = Self::split(&self.items, &n, off, after, anchor);
                        nodes[ni] = l;
                        nodes.insert(ni + 1, QNode::single(fill, v));
                        nodes.insert(ni + 2, r);
                    }
                } else if !full {
                    nodes[ni].count += 1;
                    nodes[ni].bytes += es;
                } else if at_tail && avail_next {
                    nodes[ni + 1].count += 1;
                    nodes[ni + 1].bytes += es;
                } else if at_head && avail_prev {
                    nodes[ni - 1].count += 1;
                    nodes[ni - 1].bytes += es;
                } else if at_tail || at_head {
                    nodes.insert(ni + after as usize, QNode::packed(es));
                } else {
                    let (mut l, mut r) = Self::split(&self.items, &n, off, after, anchor);
                    if after {
                        r.count += 1;
                        r.bytes += es;
                    } else {
                        l.count += 1;
                        l.bytes += es;
                    }
                    nodes[ni] = l;
                    nodes.insert(ni + 1, r);
                    Self::merge_around(fill, nodes, if after { ni } else { ni + 1 });
                }
            }
        }
        self.items.insert(pos, v.into());
    }

    /// The two halves of node `n` (index `ni`) split at the element `off` (overall
    /// index `anchor`): with `after` the element ends the left half, else starts the
    /// right one.
    fn split(
        items: &VecDeque<Box<[u8]>>,
        n: &QNode,
        off: usize,
        after: bool,
        anchor: usize,
    ) -> (QNode, QNode) {
        let left_count = off + after as usize;
        let left_bytes = lp_size(items, anchor - off, left_count);
        let l = QNode {
            count: left_count,
            bytes: left_bytes,
            plain: false,
        };
        let r = QNode {
            count: n.count.saturating_sub(left_count),
            bytes: (n.bytes + LP_OVERHEAD).saturating_sub(left_bytes),
            plain: false,
        };
        (l, r)
    }

    /// Removes up to `count` elements equal to `v` (0 = all), scanning from `from`.
    /// Returns how many went.
    pub fn remove_matching(&mut self, v: &[u8], count: usize, from: End) -> usize {
        let limit = if count == 0 { usize::MAX } else { count };
        let mut gone = Vec::new();
        match from {
            End::Head => {
                for (i, e) in self.items.iter().enumerate() {
                    if gone.len() >= limit {
                        break;
                    }
                    if **e == *v {
                        gone.push(i);
                    }
                }
            }
            End::Tail => {
                for (i, e) in self.items.iter().enumerate().rev() {
                    if gone.len() >= limit {
                        break;
                    }
                    if **e == *v {
                        gone.push(i);
                    }
                }
                gone.reverse();
            }
        }
        self.remove_indices(&gone);
        gone.len()
    }

    /// Removes the elements at the ascending positions `gone`.
    fn remove_indices(&mut self, gone: &[usize]) {
        if gone.is_empty() {
            return;
        }
        if let Some(nodes) = &mut self.nodes {
            // walk the nodes once, front to back, so the original positions stay valid
            let mut take = vec![(0usize, 0usize, 0usize); nodes.len()];
            let (mut ni, mut base) = (0usize, 0usize);
            for &i in gone {
                while ni < nodes.len() && i >= base + nodes[ni].count {
                    base += nodes[ni].count;
                    ni += 1;
                }
                if let Some(t) = take.get_mut(ni) {
                    t.0 += 1;
                    t.1 += entry_size(&self.items[i]);
                    t.2 += self.items[i].len();
                }
            }
            for (n, t) in nodes.iter_mut().zip(&take) {
                n.count = n.count.saturating_sub(t.0);
                n.bytes = n.bytes.saturating_sub(if n.plain { t.2 } else { t.1 });
            }
            nodes.retain(|n| n.count > 0);
        }
        let mut k = 0;
        let mut idx = 0;
        let mut freed = 0;
        self.items.retain(|e| {
            let keep = gone.get(k) != Some(&idx);
            if !keep {
                k += 1;
                freed += entry_size(e);
            }
            idx += 1;
            keep
        });
        self.lp_bytes -= freed;
    }

    /// Keeps only elements `start..start + keep`.
    pub fn trim(&mut self, start: usize, keep: usize) {
        let len = self.items.len();
        let start = start.min(len);
        let tail = len - start.saturating_add(keep).min(len);
        for _ in 0..start {
            self.pop(End::Head);
        }
        for _ in 0..tail {
            self.pop(End::Tail);
        }
    }
}

/// Serialization support (DUMP/RESTORE): the node boundaries Valkey would save, and
/// rebuilding a list from saved nodes the way Valkey's loader does.
impl List {
    /// `(element count, plain)` per node, in order; a compact list is one packed node.
    pub fn node_layout(&self) -> Vec<(usize, bool)> {
        match &self.nodes {
            None => vec![(self.len(), false)],
            Some(nodes) => nodes.iter().map(|n| (n.count, n.plain)).collect(),
        }
    }

    /// A list made of the given nodes, boundaries kept as they come (Valkey appends
    /// each saved node as it is, whatever the current fill); empty nodes are skipped.
    /// The encoding is then chosen for `fill` (Valkey's `LIST_CONV_AUTO`).
    pub fn from_nodes(fill: i64, nodes: Vec<(Vec<Box<[u8]>>, bool)>) -> List {
        let mut l = List {
            items: VecDeque::new(),
            lp_bytes: LP_OVERHEAD,
            nodes: Some(VecDeque::with_capacity(nodes.len())),
            fill,
        };
        for (elems, plain) in nodes {
            if elems.is_empty() {
                continue;
            }
            let sizes: usize = elems.iter().map(|e| entry_size(e)).sum();
            let node = QNode {
                count: elems.len(),
                bytes: if plain {
                    elems.iter().map(|e| e.len()).sum()
                } else {
                    LP_OVERHEAD + sizes
                },
                plain,
            };
            l.lp_bytes += sizes;
            l.items.extend(elems);
            if let Some(ns) = &mut l.nodes {
                ns.push_back(node);
            }
        }
        l.convert_auto(fill);
        l
    }

    /// A list built by pushing `elems` at the tail of a quicklist; with `auto`, the
    /// encoding is then chosen for `fill` (Valkey's loader for the plain list type).
    pub fn from_pushes<'a>(
        fill: i64,
        elems: impl IntoIterator<Item = &'a [u8]>,
        auto: bool,
    ) -> List {
        let mut l = List {
            items: VecDeque::new(),
            lp_bytes: LP_OVERHEAD,
            nodes: Some(VecDeque::new()),
            fill,
        };
        for e in elems {
            l.push(End::Tail, e);
        }
        if auto {
            l.convert_auto(fill);
        }
        l
    }

    /// Back to the compact layout when a single packed node within the limits is left
    /// (no hysteresis, unlike [`List::shrink`]).
    fn convert_auto(&mut self, fill: i64) {
        let Some(nodes) = &self.nodes else {
            return;
        };
        let (size, count) = node_limits(fill);
        if let (1, Some(n)) = (nodes.len(), nodes.front()) {
            if !n.plain && n.bytes <= size && n.count <= count {
                self.nodes = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(fill: i64, elems: &[&[u8]]) -> List {
        let mut l = List::new();
        l.grow_for(fill, elems.iter().copied());
        for e in elems {
            l.push(End::Tail, e);
        }
        l
    }

    #[test]
    fn listpack_sizes_match_valkey() {
        assert_eq!(entry_size(b"1"), 2);
        assert_eq!(entry_size(b"-1"), 3);
        assert_eq!(entry_size(b"01"), 4);
        assert_eq!(entry_size(b"hello"), 7);
        assert_eq!(entry_size(b"9223372036854775807"), 10);
        assert_eq!(entry_size(&[b'x'; 100]), 103);
        assert_eq!(entry_size(&[b'x'; 200]), 204);
        assert_eq!(List::new().lp_bytes, LP_OVERHEAD);
    }

    #[test]
    fn count_limit_converts_and_shrinks_back() {
        let mut l = filled(4, &[b"a", b"b", b"c", b"d"]);
        assert_eq!(l.encoding(), "listpack");
        l.grow_for(4, [&b"e"[..]]);
        l.push(End::Tail, b"e");
        assert_eq!(l.encoding(), "quicklist");
        // one node left, but still above half a node
        l.pop(End::Tail);
        l.pop(End::Tail);
        l.shrink(4);
        assert_eq!(l.encoding(), "quicklist");
        l.pop(End::Tail);
        l.shrink(4);
        assert_eq!(l.encoding(), "listpack");
        assert_eq!(l.iter().collect::<Vec<_>>(), vec![&b"a"[..], b"b"]);
    }

    #[test]
    fn size_limit_converts_on_a_large_element() {
        let big = vec![b'x'; 8192];
        let l = filled(-2, &[&big]);
        assert_eq!(l.encoding(), "quicklist");
        let l = filled(-2, &[&big[..8000]]);
        assert_eq!(l.encoding(), "listpack");
        let l = filled(-1, &[&big[..5000]]);
        assert_eq!(l.encoding(), "quicklist");
        // classes past -5 behave as -5
        let l = filled(-100, &[&big]);
        assert_eq!(l.encoding(), "listpack");
    }

    #[test]
    fn size_shrink_needs_half_a_node() {
        let big = vec![b'x'; 3000];
        let mut l = filled(-2, &[&big, &big, &big]);
        assert_eq!(l.encoding(), "quicklist");
        l.pop(End::Tail);
        l.shrink(-2);
        assert_eq!(l.encoding(), "quicklist");
        l.pop(End::Tail);
        l.shrink(-2);
        assert_eq!(l.encoding(), "listpack");
    }

    #[test]
    fn only_a_single_packed_node_converts_back() {
        // fill 2: pushes one by one open a node every two elements
        let mut l = List::new();
        for e in [b"a", b"b", b"c", b"d", b"e", b"f"] {
            l.grow_for(2, [&e[..]]);
            l.push(End::Tail, e);
        }
        assert_eq!(l.encoding(), "quicklist");
        assert_eq!(l.nodes.as_ref().map(|n| n.len()), Some(3));
        // one element left in each of two nodes: still two nodes
        assert_eq!(l.remove_matching(b"b", 0, End::Head), 1);
        l.trim(0, 2);
        l.shrink(2);
        assert_eq!(l.iter().collect::<Vec<_>>(), vec![&b"a"[..], b"c"]);
        assert_eq!(l.encoding(), "quicklist");
        // the count limit of a later CONFIG SET decides the conversion
        l.pop(End::Head);
        l.shrink(2);
        assert_eq!(l.encoding(), "listpack");
    }

    #[test]
    fn a_large_element_gets_a_plain_node() {
        let big = vec![b'x'; 9000];
        let mut l = filled(-2, &[b"a", &big, b"b"]);
        assert_eq!(l.encoding(), "quicklist");
        assert!(l.nodes.as_ref().is_some_and(|n| n.iter().any(|n| n.plain)));
        l.pop(End::Tail);
        l.pop(End::Tail);
        l.shrink(-2);
        assert_eq!(l.encoding(), "listpack");
    }

    #[test]
    fn edits_keep_the_size_in_step() {
        let mut l = filled(-2, &[b"a", b"b", b"a", b"c", b"a"]);
        assert_eq!(l.remove_matching(b"a", 2, End::Tail), 2);
        assert_eq!(l.iter().collect::<Vec<_>>(), vec![&b"a"[..], b"b", b"c"]);
        l.insert(1, false, b"zz");
        assert!(l.set(0, b"123"));
        assert!(!l.set(9, b"x"));
        l.trim(1, 2);
        assert_eq!(l.iter().collect::<Vec<_>>(), vec![&b"zz"[..], b"b"]);
        let fresh = filled(-2, &[b"zz", b"b"]);
        assert_eq!(l.lp_bytes, fresh.lp_bytes);
        assert_eq!(l.remove_matching(b"zz", 0, End::Head), 1);
        l.pop(End::Head);
        assert!(l.is_empty());
        assert_eq!(l.lp_bytes, LP_OVERHEAD);
    }
}
