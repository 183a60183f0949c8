//! The list value type: a compact encoding for small values and a full one past the
//! configured thresholds.
//!
//! Elements always live in one ring of boxed byte strings; what changes with the
//! encoding is the label OBJECT ENCODING reports and the conversion bookkeeping. The
//! size that decides conversions is what Valkey's listpack would take for the same
//! elements, so the switch happens at exactly the element where Valkey's does.

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
    quick: bool,
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
            quick: false,
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
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        if self.quick {
            "quicklist"
        } else {
            "listpack"
        }
    }

    /// Before adding `elems`: converts to the quicklist layout if the compact one would
    /// outgrow `fill` (Valkey's `listTypeTryConvertListpack`, which counts the raw
    /// argument lengths, not their encoded size).
    pub fn grow_for<'a>(&mut self, fill: i64, elems: impl IntoIterator<Item = &'a [u8]>) {
        if self.quick {
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
            self.quick = true;
        }
    }

    /// After removing or replacing elements: back to the compact layout once the list
    /// fits in half a node (Valkey's hysteresis, so a list at the boundary does not
    /// flip on every push and pop).
    pub fn shrink(&mut self, fill: i64) {
        if !self.quick {
            return;
        }
        let (size, count) = node_limits(fill);
        if self.lp_bytes <= size / 2 && self.len() <= count / 2 {
            self.quick = false;
        }
    }

    pub fn push(&mut self, end: End, v: &[u8]) {
        self.lp_bytes += entry_size(v);
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
        self.lp_bytes -= entry_size(&v);
        Some(v)
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
        self.lp_bytes = self.lp_bytes - entry_size(slot) + entry_size(v);
        *slot = v.into();
        true
    }

    /// Inserts before position `i` (`i == len` appends).
    pub fn insert(&mut self, i: usize, v: &[u8]) {
        self.lp_bytes += entry_size(v);
        self.items.insert(i.min(self.items.len()), v.into());
    }

    /// Removes up to `count` elements equal to `v` (0 = all), scanning from `from`.
    /// Returns how many went.
    pub fn remove_matching(&mut self, v: &[u8], count: usize, from: End) -> usize {
        let mut removed = 0;
        let mut freed = 0;
        let limit = if count == 0 { usize::MAX } else { count };
        match from {
            End::Head => self.items.retain(|e| {
                if removed < limit && **e == *v {
                    removed += 1;
                    freed += entry_size(e);
                    false
                } else {
                    true
                }
            }),
            End::Tail => {
                let mut i = self.items.len();
                while i > 0 && removed < limit {
                    i -= 1;
                    if *self.items[i] == *v {
                        if let Some(e) = self.items.remove(i) {
                            freed += entry_size(&e);
                        }
                        removed += 1;
                    }
                }
            }
        }
        self.lp_bytes -= freed;
        removed
    }

    /// Keeps only elements `start..start + keep`.
    pub fn trim(&mut self, start: usize, keep: usize) {
        let start = start.min(self.items.len());
        let freed: usize = self.items.drain(..start).map(|e| entry_size(&e)).sum();
        let keep = keep.min(self.items.len());
        let freed_tail: usize = self.items.drain(keep..).map(|e| entry_size(&e)).sum();
        self.lp_bytes -= freed + freed_tail;
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
        // still above half a node
        l.pop(End::Head);
        l.pop(End::Head);
        l.shrink(4);
        assert_eq!(l.encoding(), "quicklist");
        l.pop(End::Head);
        l.shrink(4);
        assert_eq!(l.encoding(), "listpack");
        assert_eq!(l.iter().collect::<Vec<_>>(), vec![&b"d"[..], b"e"]);
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
    fn edits_keep_the_size_in_step() {
        let mut l = filled(-2, &[b"a", b"b", b"a", b"c", b"a"]);
        assert_eq!(l.remove_matching(b"a", 2, End::Tail), 2);
        assert_eq!(l.iter().collect::<Vec<_>>(), vec![&b"a"[..], b"b", b"c"]);
        l.insert(1, b"zz");
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
