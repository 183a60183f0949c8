//! The zset value type: a compact encoding for small values and a full one past the
//! configured thresholds.
//!
//! Both encodings keep members ordered by score, then by member bytes, as Valkey does.
//! The compact one ("listpack") is a sorted vector: member lookups are linear, as in a
//! real listpack. The full one ("skiplist") is an ordered tree plus a member index, so
//! lookups and updates are O(log n); rank queries walk the tree and are O(rank).

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};

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

#[derive(Clone, Debug, PartialEq)]
enum Repr {
    Pack(Vec<(f64, Vec<u8>)>),
    Skip {
        tree: BTreeSet<(Score, Vec<u8>)>,
        dict: HashMap<Vec<u8>, f64>,
    },
}

/// The thresholds past which a zset leaves the compact encoding
/// (`zset-max-listpack-entries`, `zset-max-listpack-value`).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub entries: usize,
    pub value: usize,
}

/// A zset value.
#[derive(Clone, Debug, PartialEq)]
pub struct ZSet {
    repr: Repr,
}

impl Default for ZSet {
    fn default() -> Self {
        ZSet {
            repr: Repr::Pack(Vec::new()),
        }
    }
}

/// Iterates members in order (or reversed), yielding `(member, score)`.
pub enum Iter<'a> {
    Pack(std::slice::Iter<'a, (f64, Vec<u8>)>),
    Skip(std::collections::btree_set::Iter<'a, (Score, Vec<u8>)>),
    SkipRange(std::collections::btree_set::Range<'a, (Score, Vec<u8>)>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Pack(i) => i.next().map(|(s, m)| (m.as_slice(), *s)),
            Iter::Skip(i) => i.next().map(|(s, m)| (m.as_slice(), s.0)),
            Iter::SkipRange(i) => i.next().map(|(s, m)| (m.as_slice(), s.0)),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Iter::Pack(i) => i.size_hint(),
            Iter::Skip(i) => i.size_hint(),
            Iter::SkipRange(i) => i.size_hint(),
        }
    }

    fn nth(&mut self, n: usize) -> Option<Self::Item> {
        match self {
            Iter::Pack(i) => i.nth(n).map(|(s, m)| (m.as_slice(), *s)),
            Iter::Skip(i) => i.nth(n).map(|(s, m)| (m.as_slice(), s.0)),
            Iter::SkipRange(i) => i.nth(n).map(|(s, m)| (m.as_slice(), s.0)),
        }
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Pack(i) => i.next_back().map(|(s, m)| (m.as_slice(), *s)),
            Iter::Skip(i) => i.next_back().map(|(s, m)| (m.as_slice(), s.0)),
            Iter::SkipRange(i) => i.next_back().map(|(s, m)| (m.as_slice(), s.0)),
        }
    }
}

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
            Repr::Pack(v) => v.len(),
            Repr::Skip { dict, .. } => dict.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes owned, for MEMORY USAGE.
    pub fn mem_usage(&self) -> usize {
        match &self.repr {
            Repr::Pack(v) => {
                v.capacity() * std::mem::size_of::<(f64, Vec<u8>)>()
                    + v.iter().map(|(_, m)| m.capacity()).sum::<usize>()
            }
            Repr::Skip { tree, dict } => {
                let per = std::mem::size_of::<(Score, Vec<u8>)>() * 2 + 16;
                tree.iter().map(|(_, m)| per + 2 * m.len()).sum::<usize>()
                    + dict.capacity() * std::mem::size_of::<(Vec<u8>, f64)>()
            }
        }
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Pack(_) => "listpack",
            Repr::Skip { .. } => "skiplist",
        }
    }

    pub fn iter(&self) -> Iter<'_> {
        match &self.repr {
            Repr::Pack(v) => Iter::Pack(v.iter()),
            Repr::Skip { tree, .. } => Iter::Skip(tree.iter()),
        }
    }

    /// The members scored within `lo..=hi`, found by search rather than by walking
    /// from an end.
    pub fn score_window(&self, lo: f64, hi: f64) -> Iter<'_> {
        match &self.repr {
            Repr::Pack(v) => {
                let start = v.partition_point(|(s, _)| *s < lo);
                let end = v.partition_point(|(s, _)| *s <= hi).max(start);
                Iter::Pack(v[start..end].iter())
            }
            Repr::Skip { tree, .. } => {
                use std::ops::Bound::*;
                if lo > hi {
                    return Iter::SkipRange(
                        tree.range((Score(lo), Vec::new())..(Score(lo), Vec::new())),
                    );
                }
                // members sort after the empty one, so these bounds bracket whole scores
                let upper = if hi == f64::INFINITY {
                    Unbounded
                } else {
                    Excluded((Score(hi.next_up()), Vec::new()))
                };
                Iter::SkipRange(tree.range((Included((Score(lo), Vec::new())), upper)))
            }
        }
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.repr {
            Repr::Pack(v) => v.iter().find(|(_, m)| m == member).map(|(s, _)| *s),
            Repr::Skip { dict, .. } => dict.get(member).copied(),
        }
    }

    /// 0-based position of `member` in ascending order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        match &self.repr {
            Repr::Pack(v) => v.iter().position(|(_, m)| m == member),
            Repr::Skip { tree, dict } => {
                let s = *dict.get(member)?;
                Some(tree.range(..(Score(s), member.to_vec())).count())
            }
        }
    }

    /// Sets `member` to `score` (never NaN), adding it if absent; converts to the full
    /// encoding when a threshold is crossed. Returns true if the member is new.
    pub fn insert(&mut self, member: &[u8], score: f64, lim: Limits) -> bool {
        let added = match &mut self.repr {
            Repr::Pack(v) => {
                // a listpack keeps -0 as 0, which is what Valkey reads back from one
                let score = if score == 0.0 { 0.0 } else { score };
                let old = v.iter().position(|(_, m)| m == member);
                let added = old.is_none();
                let owned = match old {
                    Some(i) => v.remove(i).1,
                    None => member.to_vec(),
                };
                let at = v
                    .binary_search_by(|(s, m)| entry_cmp((*s, m), (score, member)))
                    .unwrap_or_else(|i| i);
                v.insert(at, (score, owned));
                added
            }
            Repr::Skip { tree, dict } => match dict.get_mut(member) {
                Some(old) => {
                    if let Some(k) = tree.take(&(Score(*old), member.to_vec())) {
                        tree.insert((Score(score), k.1));
                    }
                    *old = score;
                    false
                }
                None => {
                    tree.insert((Score(score), member.to_vec()));
                    dict.insert(member.to_vec(), score);
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
            Repr::Pack(v) => match v.iter().position(|(_, m)| m == member) {
                Some(i) => {
                    v.remove(i);
                    true
                }
                None => false,
            },
            Repr::Skip { tree, dict } => match dict.remove(member) {
                Some(s) => {
                    tree.remove(&(Score(s), member.to_vec()));
                    true
                }
                None => false,
            },
        }
    }

    /// Removes the members at ascending positions `start..=end` (both in range).
    pub fn remove_rank_range(&mut self, start: usize, end: usize) -> usize {
        let victims: Vec<Vec<u8>> = self
            .iter()
            .skip(start)
            .take(end.saturating_sub(start) + 1)
            .map(|(m, _)| m.to_vec())
            .collect();
        self.remove_all(&victims)
    }

    /// Removes every member for which `f(member, score)` holds.
    pub fn remove_where(&mut self, mut f: impl FnMut(&[u8], f64) -> bool) -> usize {
        let victims: Vec<Vec<u8>> = self
            .iter()
            .filter(|(m, s)| f(m, *s))
            .map(|(m, _)| m.to_vec())
            .collect();
        self.remove_all(&victims)
    }

    fn remove_all(&mut self, victims: &[Vec<u8>]) -> usize {
        if let Repr::Pack(v) = &mut self.repr {
            let before = v.len();
            let set: std::collections::HashSet<&[u8]> = victims.iter().map(Vec::as_slice).collect();
            v.retain(|(_, m)| !set.contains(m.as_slice()));
            return before - v.len();
        }
        victims.iter().filter(|m| self.remove(m)).count()
    }

    /// Removes and returns up to `count` members from the low end (or the high end).
    pub fn pop(&mut self, count: usize, max: bool) -> Vec<(Vec<u8>, f64)> {
        let n = count.min(self.len());
        let taken: Vec<(Vec<u8>, f64)> = if max {
            self.iter()
                .rev()
                .take(n)
                .map(|(m, s)| (m.to_vec(), s))
                .collect()
        } else {
            self.iter().take(n).map(|(m, s)| (m.to_vec(), s)).collect()
        };
        for (m, _) in &taken {
            self.remove(m);
        }
        taken
    }

    fn make_skiplist(&mut self) {
        if let Repr::Pack(v) = &mut self.repr {
            let v = std::mem::take(v);
            let mut tree = BTreeSet::new();
            let mut dict = HashMap::with_capacity(v.len());
            for (s, m) in v {
                dict.insert(m.clone(), s);
                tree.insert((Score(s), m));
            }
            self.repr = Repr::Skip { tree, dict };
        }
    }

    /// Builds a zset from entries in any order, picking the encoding the result needs
    /// (used for stored results, as Valkey converts them back when small enough).
    pub fn from_entries(entries: impl IntoIterator<Item = (Vec<u8>, f64)>, lim: Limits) -> ZSet {
        let mut v: Vec<(f64, Vec<u8>)> = entries.into_iter().map(|(m, s)| (s, m)).collect();
        v.sort_by(|a, b| entry_cmp((a.0, &a.1), (b.0, &b.1)));
        v.dedup_by(|a, b| a.1 == b.1);
        let big = v.len() > lim.entries || v.iter().any(|(_, m)| m.len() > lim.value);
        if !big {
            for e in &mut v {
                if e.0 == 0.0 {
                    e.0 = 0.0;
                }
            }
        }
        let mut z = ZSet {
            repr: Repr::Pack(v),
        };
        if big {
            z.make_skiplist();
        }
        z
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: Limits = Limits {
        entries: 128,
        value: 64,
    };

    fn members(z: &ZSet) -> Vec<(String, f64)> {
        z.iter()
            .map(|(m, s)| (String::from_utf8_lossy(m).into_owned(), s))
            .collect()
    }

    #[test]
    fn orders_by_score_then_member() {
        for lim in [
            SMALL,
            Limits {
                entries: 0,
                value: 64,
            },
        ] {
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
        for lim in [
            SMALL,
            Limits {
                entries: 0,
                value: 64,
            },
        ] {
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
            assert_eq!(
                names(&mut z.score_window(f64::NEG_INFINITY, 1.0)),
                vec!["a"]
            );
        }
    }

    #[test]
    fn pops_and_range_removal() {
        let mut z = ZSet::new();
        for (i, m) in [b"a", b"b", b"c", b"d"].iter().enumerate() {
            z.insert(*m, i as f64, SMALL);
        }
        assert_eq!(z.pop(1, true), vec![(b"d".to_vec(), 3.0)]);
        assert_eq!(z.pop(10, false).len(), 3);
        assert!(z.is_empty());
        for (i, m) in [b"a", b"b", b"c", b"d"].iter().enumerate() {
            z.insert(*m, i as f64, SMALL);
        }
        assert_eq!(z.remove_rank_range(1, 2), 2);
        assert_eq!(z.remove_where(|_, s| s > 2.0), 1);
        assert_eq!(members(&z), vec![("a".into(), 0.0)]);
    }
}
