//! One keyspace entry as a single allocation behind a thin pointer.
//!
//! Why: a `Box<Node>` holding a boxed key buffer and a boxed object cost two or three
//! allocations per key; loading 1M small strings took ~92 bytes/key. Packing the link,
//! the metadata, the key and the value (or the object itself) into one allocation
//! takes a 27-byte key + value entry into mimalloc's 48-byte class.
//!
//! Layout (the allocation is 8-aligned):
//!
//! ```text
//! 0   next: Option<Node>   the chain link (8 bytes, None = null)
//! 8   meta: u64            bits 0..38 key length, 38..40 flags, 40..64 LRU clock
//!     inline node (string value):
//! 16  vlen: u32            the value's length
//! 20  [expire: i64 LE]     only when FLAG_VOLATILE (unaligned, read as bytes)
//!     key bytes, value bytes
//!     object node:
//! 16  [expire: i64 LE]     only when FLAG_VOLATILE
//!     key bytes, padding to 8, then an `Object` (aligned)
//! ```
//!
//! An object node has no `vlen`, so a short key and a 40-byte `Object` fit mimalloc's
//! 64-byte class (a small hash's whole entry, besides its compact buffer).
//!
//! Invariants every function here keeps:
//! - `ptr` always points to a live allocation made by [`Node::alloc`] with the layout
//!   [`Node::layout`] computes from the header, which is never changed in a way that
//!   changes that layout without reallocating;
//! - an object node holds an initialized `Object` at `obj_off()`, dropped exactly once
//!   (in `Drop`) unless moved out by `ptr::read` right before the allocation is freed
//!   with [`Node::free_shell`];
//! - a `Node` owns its allocation uniquely, like a `Box`, so `&Node`/`&mut Node` give
//!   shared/exclusive access to all of it. A `&mut Node` is a reference to the slot
//!   holding the pointer (a bucket or the previous node's link), which is what lets
//!   methods that change the layout reallocate and repoint the slot in place.
//! - inline nodes have values shorter than 2^32 bytes, larger strings are stored as an
//!   `Object::Str` (never the case under the default 512 MB bulk limit); keys are
//!   shorter than 2^38 bytes (a bulk string that long cannot be read).

use super::table::{NewValue, OwnedValue};
use super::value::{Object, ValueRef};
use std::alloc::{alloc, dealloc, Layout};
use std::mem::{align_of, size_of, ManuallyDrop};
use std::ptr::{self, NonNull};

const META: usize = 8;
/// Where an inline node's value length sits.
const VLEN: usize = 16;
/// Header bytes of an object node and of an inline node.
const HDR_OBJ: usize = 16;
const HDR_INLINE: usize = 20;
const ALIGN: usize = 8;

const KEY_BITS: u32 = 38;
const KEY_MASK: u64 = (1 << KEY_BITS) - 1;
const FLAG_VOLATILE: u64 = 1 << 38;
const FLAG_INLINE: u64 = 1 << 39;
const LRU_SHIFT: u32 = 40;
/// 24-bit clock in seconds, as Valkey's `LRU_CLOCK`.
pub const LRU_MAX: u32 = (1 << 24) - 1;

const _: () = assert!(align_of::<Object>() <= ALIGN);
const _: () = assert!(size_of::<Option<Node>>() == 8);

/// An owning thin pointer to one entry (see the module documentation).
pub struct Node {
    ptr: NonNull<u8>,
}

// SAFETY: a Node owns its allocation exclusively (as a Box would) and the only
// non-plain data inside is an `Object`, which is Send + Sync.
unsafe impl Send for Node {}
unsafe impl Sync for Node {}

/// What a new allocation holds after the key.
enum Payload<'a> {
    Inline(&'a [u8]),
    Obj(Object),
}

#[inline]
fn round_up(n: usize) -> usize {
    (n + ALIGN - 1) & !(ALIGN - 1)
}

/// Bytes of an allocation for these parts.
#[inline]
fn size_for(klen: usize, volatile: bool, inline: Option<usize>) -> usize {
    let exp = 8 * volatile as usize;
    match inline {
        Some(v) => HDR_INLINE + exp + klen + v,
        None => round_up(HDR_OBJ + exp + klen) + size_of::<Object>(),
    }
}

/// A size past `isize::MAX` cannot be allocated; aborting (rather than panicking)
/// keeps the moves in [`Node::relocate`] free of unwinding paths.
#[cold]
fn too_big() -> ! {
    std::process::abort()
}

impl Node {
    /// Allocates and fills a node. Never unwinds: allocation failure aborts.
    fn alloc(key: &[u8], expire: Option<i64>, payload: Payload, lru: u32) -> Node {
        if key.len() as u64 > KEY_MASK {
            too_big();
        }
        let payload = match payload {
            Payload::Inline(v) if v.len() > u32::MAX as usize => {
                Payload::Obj(Object::Str(v.to_vec()))
            }
            p => p,
        };
        let volatile = expire.is_some();
        let inline_len = match &payload {
            Payload::Inline(v) => Some(v.len()),
            Payload::Obj(_) => None,
        };
        let size = size_for(key.len(), volatile, inline_len);
        let layout = match Layout::from_size_align(size, ALIGN) {
            Ok(l) => l,
            Err(_) => too_big(),
        };
        let mut meta = key.len() as u64 | ((lru & LRU_MAX) as u64) << LRU_SHIFT;
        if volatile {
            meta |= FLAG_VOLATILE;
        }
        if inline_len.is_some() {
            meta |= FLAG_INLINE;
        }
        // SAFETY: the layout is non-zero sized (HDR > 0); every write below stays within
        // `size` bytes as computed by `size_for`, and typed writes are aligned: `next`
        // and `meta` at 0 and 8 of an 8-aligned block, `vlen` at 16, the object at a
        // multiple of 8.
        unsafe {
            let p = alloc(layout);
            let Some(ptr) = NonNull::new(p) else {
                std::alloc::handle_alloc_error(layout)
            };
            ptr::write(p as *mut Option<Node>, None);
            let mut at = if inline_len.is_some() {
                HDR_INLINE
            } else {
                HDR_OBJ
            };
            if let Some(e) = expire {
                ptr::copy_nonoverlapping(e.to_le_bytes().as_ptr(), p.add(at), 8);
                at += 8;
            }
            ptr::copy_nonoverlapping(key.as_ptr(), p.add(at), key.len());
            at += key.len();
            match payload {
                Payload::Inline(v) => {
                    ptr::write(p.add(VLEN) as *mut u32, v.len() as u32);
                    ptr::copy_nonoverlapping(v.as_ptr(), p.add(at), v.len());
                }
                Payload::Obj(o) => ptr::write(p.add(round_up(at)) as *mut Object, o),
            }
            ptr::write(p.add(META) as *mut u64, meta);
            Node { ptr }
        }
    }

    pub(super) fn new(key: &[u8], value: NewValue, expire: Option<i64>, lru: u32) -> Node {
        match value {
            NewValue::Str(s) => Node::alloc(key, expire, Payload::Inline(s), lru),
            NewValue::Obj(o) => Node::alloc(key, expire, Payload::Obj(o), lru),
        }
    }

    #[inline]
    fn raw(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    #[inline]
    fn meta(&self) -> u64 {
        // SAFETY: `meta` is initialized and 8-aligned at offset 8 of a live allocation.
        unsafe { ptr::read(self.raw().add(META) as *const u64) }
    }

    #[inline]
    fn set_meta(&mut self, m: u64) {
        // SAFETY: as in `meta`, with exclusive access through `&mut self`.
        unsafe { ptr::write(self.raw().add(META) as *mut u64, m) }
    }

    /// An inline node's value length.
    #[inline]
    fn vlen(&self) -> usize {
        debug_assert!(self.is_inline());
        // SAFETY: an inline node's `vlen` is initialized and 4-aligned at offset 16.
        unsafe { ptr::read(self.raw().add(VLEN) as *const u32) as usize }
    }

    /// Where the expiry (if any) and then the key start.
    #[inline]
    fn hdr(&self) -> usize {
        if self.is_inline() {
            HDR_INLINE
        } else {
            HDR_OBJ
        }
    }

    #[inline]
    fn volatile(&self) -> bool {
        self.meta() & FLAG_VOLATILE != 0
    }

    #[inline]
    fn key_off(&self) -> usize {
        self.hdr() + 8 * self.volatile() as usize
    }

    #[inline]
    pub(super) fn key_len(&self) -> usize {
        (self.meta() & KEY_MASK) as usize
    }

    #[inline]
    fn obj_off(&self) -> usize {
        round_up(self.key_off() + self.key_len())
    }

    /// The allocation's layout, recomputed from the header.
    fn layout(&self) -> Layout {
        let inline = if self.is_inline() {
            Some(self.vlen())
        } else {
            None
        };
        let size = size_for(self.key_len(), self.volatile(), inline);
        // SAFETY: the same size and alignment were accepted by `Layout` at allocation.
        unsafe { Layout::from_size_align_unchecked(size, ALIGN) }
    }

    /// The chain link.
    #[inline]
    pub(super) fn next(&self) -> Option<&Node> {
        // SAFETY: `next` is an initialized Option<Node> at offset 0, 8-aligned.
        unsafe { (*(self.raw() as *const Option<Node>)).as_ref() }
    }

    #[inline]
    pub(super) fn next_slot(&mut self) -> &mut Option<Node> {
        // SAFETY: as in `next`, exclusive through `&mut self`.
        unsafe { &mut *(self.raw() as *mut Option<Node>) }
    }

    #[inline]
    pub fn key(&self) -> &[u8] {
        // SAFETY: the key's bytes are initialized at key_off..key_off + key_len.
        unsafe { std::slice::from_raw_parts(self.raw().add(self.key_off()), self.key_len()) }
    }

    #[inline]
    fn inline_value(&self) -> &[u8] {
        debug_assert!(self.is_inline());
        let at = self.key_off() + self.key_len();
        // SAFETY: an inline node holds `vlen` value bytes right after its key.
        unsafe { std::slice::from_raw_parts(self.raw().add(at), self.vlen()) }
    }

    #[inline]
    fn obj_ptr(&self) -> *mut Object {
        debug_assert!(!self.is_inline());
        // SAFETY: an object node holds an Object at obj_off, inside the allocation.
        unsafe { self.raw().add(self.obj_off()) as *mut Object }
    }

    /// Absolute expiry in unix milliseconds.
    #[inline]
    pub fn expire(&self) -> Option<i64> {
        if self.volatile() {
            let mut b = [0u8; 8];
            // SAFETY: a volatile node has 8 expiry bytes at its header's end.
            unsafe { ptr::copy_nonoverlapping(self.raw().add(self.hdr()), b.as_mut_ptr(), 8) };
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
        if self.is_inline() {
            ValueRef::Str(self.inline_value())
        } else {
            // SAFETY: initialized object, shared for the lifetime of `&self`.
            ValueRef::Obj(unsafe { &*self.obj_ptr() })
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
    #[inline]
    pub fn is_inline(&self) -> bool {
        self.meta() & FLAG_INLINE != 0
    }

    /// The entry's 24 bits of access data: the access time in seconds under LRU
    /// policies, minutes and a logarithmic counter under LFU ones (see `store::evict`).
    #[inline]
    pub fn lru(&self) -> u32 {
        (self.meta() >> LRU_SHIFT) as u32
    }

    #[inline]
    pub fn set_lru(&mut self, clock: u32) {
        let m = self.meta();
        self.set_meta((m & ((1u64 << LRU_SHIFT) - 1)) | ((clock & LRU_MAX) as u64) << LRU_SHIFT);
    }

    /// Replaces the value, keeping the expiry only if `keep_ttl`.
    pub fn set_value(&mut self, value: NewValue, keep_ttl: bool) {
        let expire = if keep_ttl { self.expire() } else { None };
        self.set_value_expire(value, expire);
    }

    /// Replaces the value and the expiry at once: one reallocation at most, none when
    /// the new value fits the old layout exactly (an overwrite by a same-sized string,
    /// or an object by an object, with the same volatility).
    pub fn set_value_expire(&mut self, value: NewValue, expire: Option<i64>) {
        let same_volatility = self.volatile() == expire.is_some();
        match value {
            NewValue::Str(s) if same_volatility && self.is_inline() && self.vlen() == s.len() => {
                let at = self.key_off() + self.key_len();
                // SAFETY: the inline value occupies exactly s.len() bytes at `at`; `s`
                // cannot alias them, as `self` is borrowed mutably.
                unsafe { ptr::copy_nonoverlapping(s.as_ptr(), self.raw().add(at), s.len()) };
                self.write_expire(expire);
            }
            NewValue::Obj(o) if same_volatility && !self.is_inline() => {
                // SAFETY: an initialized object lives there; assignment drops it and
                // moves the new one in.
                unsafe { *self.obj_ptr() = o };
                self.write_expire(expire);
            }
            value => {
                let mut new = Node::new(self.key(), value, expire, self.lru());
                *new.next_slot() = self.next_slot().take();
                // the old node (and its object) is dropped here
                *self = new;
            }
        }
    }

    /// Overwrites the expiry bytes of a node whose volatility already matches.
    fn write_expire(&mut self, expire: Option<i64>) {
        if let Some(e) = expire {
            debug_assert!(self.volatile());
            let at = self.hdr();
            // SAFETY: a volatile node has 8 expiry bytes at its header's end.
            unsafe { ptr::copy_nonoverlapping(e.to_le_bytes().as_ptr(), self.raw().add(at), 8) };
        }
    }

    /// Sets or clears the expiry. Returns true if the node changed volatility.
    pub fn set_expire(&mut self, expire: Option<i64>) -> bool {
        if self.volatile() == expire.is_some() {
            self.write_expire(expire);
            return false;
        }
        self.relocate(expire, false);
        true
    }

    /// Rebuilds the node with another expiry (changing its volatility) and/or with an
    /// inline string turned into an `Object::Str`, keeping key, value, LRU and link.
    fn relocate(&mut self, expire: Option<i64>, materialize: bool) {
        let lru = self.lru();
        let next = self.next_slot().take();
        let mut new = if self.is_inline() {
            let v = self.inline_value();
            if materialize {
                Node::alloc(
                    self.key(),
                    expire,
                    Payload::Obj(Object::Str(v.to_vec())),
                    lru,
                )
            } else {
                Node::alloc(self.key(), expire, Payload::Inline(v), lru)
            }
        } else {
            // SAFETY: the object is moved into the new node, and the old allocation is
            // freed below by `free_shell`, which does not drop it. Nothing between the
            // read and the free can unwind (`alloc` aborts on failure).
            let o = unsafe { ptr::read(self.obj_ptr()) };
            Node::alloc(self.key(), expire, Payload::Obj(o), lru)
        };
        *new.next_slot() = next;
        let was_inline = self.is_inline();
        let old = std::mem::replace(self, new);
        if was_inline {
            drop(old);
        } else {
            old.free_shell();
        }
    }

    /// Frees the allocation without dropping its object (moved out by the caller).
    /// The link must already be empty.
    fn free_shell(self) {
        let me = ManuallyDrop::new(self);
        debug_assert!(me.next().is_none());
        let layout = me.layout();
        // SAFETY: allocated by `alloc` with this layout; never used again.
        unsafe { dealloc(me.raw(), layout) }
    }

    /// Mutable access to the value as an object; an inline string is moved out to an
    /// owned, growable buffer first (Valkey's embstr -> raw conversion on APPEND).
    pub fn obj_mut(&mut self) -> &mut Object {
        if self.is_inline() {
            self.relocate(self.expire(), true);
        }
        // SAFETY: an object node (just ensured), exclusive through `&mut self`.
        unsafe { &mut *self.obj_ptr() }
    }

    /// Bytes this entry occupies, for MEMORY USAGE.
    pub fn mem_usage(&self) -> usize {
        self.layout().size()
            + match self.value() {
                ValueRef::Str(_) => 0,
                ValueRef::Obj(o) => o.mem_usage(),
            }
    }

    /// Takes the value out (for RENAME/MOVE): the node is consumed.
    pub fn into_parts(mut self) -> (OwnedValue, Option<i64>) {
        let expire = self.expire();
        drop(self.next_slot().take());
        if self.is_inline() {
            (OwnedValue::Str(self.inline_value().to_vec()), expire)
        } else {
            // SAFETY: moved out, then the allocation is freed without dropping it.
            let o = unsafe { ptr::read(self.obj_ptr()) };
            self.free_shell();
            (OwnedValue::Obj(o), expire)
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // unlink the rest of the chain iteratively: dropping a long chain recursively
        // could overflow the stack
        let mut next = self.next_slot().take();
        while let Some(mut n) = next {
            next = n.next_slot().take();
        }
        let layout = self.layout();
        // SAFETY: the object (if any) is initialized and dropped once here; the
        // allocation was made with this layout and is not used afterwards.
        unsafe {
            if !self.is_inline() {
                ptr::drop_in_place(self.obj_ptr());
            }
            dealloc(self.raw(), layout);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::hash::{Hash, Limits};

    fn s(n: &Node) -> &[u8] {
        match n.value() {
            ValueRef::Str(s) => s,
            ValueRef::Obj(_) => panic!("not inline"),
        }
    }

    #[test]
    fn one_allocation_of_the_expected_size() {
        let n = Node::new(b"key:0000001", NewValue::Str(b"0000000000000001"), None, 0);
        // 20-byte header + 11 + 16: mimalloc's 48-byte class
        assert_eq!(n.mem_usage(), 47);
        assert_eq!(size_of::<Node>(), 8);
        // an object node: 16-byte header, an 8-byte key, a 40-byte object in place
        assert!(
            size_of::<Object>() <= 40,
            "Object grew to {}",
            size_of::<Object>()
        );
        let h = Node::new(
            b"h:000001",
            NewValue::Obj(Object::Hash(Hash::default())),
            None,
            0,
        );
        assert_eq!(h.layout().size(), 24 + size_of::<Object>());
    }

    #[test]
    fn empty_key_and_empty_value() {
        let mut n = Node::new(b"", NewValue::Str(b""), None, 7);
        assert_eq!(n.key(), b"");
        assert_eq!(s(&n), b"");
        assert_eq!(n.lru(), 7);
        assert!(n.set_expire(Some(-5)));
        assert_eq!(n.expire(), Some(-5));
        assert!(n.is_expired(0));
        assert_eq!(n.key(), b"");
        assert_eq!(s(&n), b"");
        let (v, e) = n.into_parts();
        assert!(matches!(v, OwnedValue::Str(ref x) if x.is_empty()));
        assert_eq!(e, Some(-5));
        let mut n = Node::new(b"", NewValue::Obj(Object::Str(Vec::new())), Some(1), 0);
        assert!(matches!(n.value(), ValueRef::Obj(Object::Str(x)) if x.is_empty()));
        assert!(n.set_expire(None));
        assert_eq!(n.key(), b"");
    }

    #[test]
    fn huge_key_and_value() {
        let scale = if cfg!(miri) { 100 } else { 1 };
        let key = vec![b'k'; 100_000 / scale];
        let val = vec![b'v'; 300_000 / scale];
        let mut n = Node::new(&key, NewValue::Str(&val), Some(42), 1);
        assert_eq!(n.key(), &key[..]);
        assert_eq!(s(&n), &val[..]);
        assert!(n.set_expire(None));
        assert_eq!(n.key(), &key[..]);
        assert_eq!(s(&n), &val[..]);
        if let Object::Str(x) = n.obj_mut() {
            x.push(b'!');
        }
        assert_eq!(n.key(), &key[..]);
        assert_eq!(
            n.value().as_str().map(|x| x.len()),
            Some(300_000 / scale + 1)
        );
        assert_eq!(n.encoding(), "raw");
    }

    #[test]
    fn every_key_length_around_the_alignment() {
        // object offsets are rounded up to 8: check every remainder, volatile or not
        for k in 0..24 {
            let key = vec![b'a' + k as u8; k];
            for exp in [None, Some(123)] {
                let mut h = Hash::default();
                h.set(
                    b"f",
                    b"v",
                    Limits {
                        max_entries: 128,
                        max_value: 64,
                    },
                );
                let mut n = Node::new(&key, NewValue::Obj(Object::Hash(h)), exp, 3);
                assert_eq!(n.key(), &key[..]);
                assert_eq!(n.expire(), exp);
                assert!(
                    matches!(n.value(), ValueRef::Obj(Object::Hash(h)) if h.get(b"f") == Some(&b"v"[..]))
                );
                n.set_expire(if exp.is_some() { None } else { Some(9) });
                assert_eq!(n.key(), &key[..]);
                assert!(matches!(n.value(), ValueRef::Obj(Object::Hash(h)) if h.len() == 1));
                assert_eq!(n.lru(), 3);
            }
        }
    }

    #[test]
    fn volatile_flips_keep_everything() {
        let mut n = Node::new(b"key", NewValue::Str(b"value"), None, 5);
        assert_eq!(n.expire(), None);
        assert!(n.set_expire(Some(1234)));
        assert!(!n.set_expire(Some(99)));
        assert_eq!(n.expire(), Some(99));
        assert_eq!(n.key(), b"key");
        assert_eq!(s(&n), b"value");
        assert!(!n.set_expire(Some(99)));
        assert!(n.set_expire(None));
        assert!(!n.set_expire(None));
        assert_eq!(n.expire(), None);
        assert_eq!(s(&n), b"value");
        assert_eq!(n.lru(), 5);
        n.set_lru(LRU_MAX);
        assert_eq!(n.lru(), LRU_MAX);
        assert_eq!(n.key(), b"key");
        assert_eq!(n.expire(), None);
    }

    #[test]
    fn value_growth_and_replacement() {
        let mut n = Node::new(b"k", NewValue::Str(b"ab"), Some(10), 0);
        // same size, same volatility: in place
        n.set_value_expire(NewValue::Str(b"cd"), Some(11));
        assert_eq!(s(&n), b"cd");
        assert_eq!(n.expire(), Some(11));
        // growth: reallocation
        n.set_value(NewValue::Str(b"longer value"), true);
        assert_eq!(s(&n), b"longer value");
        assert_eq!(n.expire(), Some(11));
        n.set_value(NewValue::Str(b"x"), false);
        assert_eq!(n.expire(), None);
        assert!(n.is_inline());
        match n.obj_mut() {
            Object::Str(v) => v.extend_from_slice(&[b'y'; 1000]),
            _ => panic!("not a string"),
        }
        assert!(!n.is_inline());
        assert_eq!(n.value().as_str().map(|v| v.len()), Some(1001));
        // object by object: in place
        n.set_value(NewValue::Obj(Object::Hash(Hash::default())), false);
        assert_eq!(n.value().type_name(), "hash");
        n.set_value_expire(NewValue::Obj(Object::Str(b"z".to_vec())), Some(5));
        assert_eq!(n.value().as_str(), Some(&b"z"[..]));
        assert_eq!(n.expire(), Some(5));
        n.set_value(NewValue::Str(b"back inline"), true);
        assert!(n.is_inline());
        assert_eq!(s(&n), b"back inline");
        assert_eq!(n.expire(), Some(5));
        assert_eq!(n.key(), b"k");
        let (v, e) = n.into_parts();
        assert!(matches!(v, OwnedValue::Str(ref x) if x == b"back inline"));
        assert_eq!(e, Some(5));
    }

    #[test]
    fn links_survive_relocation_and_long_chains_drop() {
        let mut head = Node::new(b"a", NewValue::Str(b"1"), None, 0);
        *head.next_slot() = Some(Node::new(b"b", NewValue::Str(b"2"), None, 0));
        head.set_expire(Some(1));
        head.obj_mut();
        head.set_value(NewValue::Str(b"3"), false);
        assert_eq!(head.next().map(|n| n.key()), Some(&b"b"[..]));
        // a chain far longer than a recursive drop could take
        let mut chain: Option<Node> = None;
        let len = if cfg!(miri) { 2_000u32 } else { 200_000 };
        for i in 0..len {
            let mut n = Node::new(&i.to_le_bytes(), NewValue::Str(b""), None, 0);
            *n.next_slot() = chain.take();
            chain = Some(n);
        }
        *head.next_slot() = chain;
        drop(head);
    }

    #[test]
    fn objects_are_dropped_once() {
        // a hash's fields are heap buffers: moving the object between allocations must
        // neither leak nor double-free them (checked under miri and by the allocator)
        let mut h = Hash::default();
        for i in 0..200 {
            h.set(
                format!("f{i}").as_bytes(),
                b"v",
                Limits {
                    max_entries: 128,
                    max_value: 64,
                },
            );
        }
        let mut n = Node::new(b"h", NewValue::Obj(Object::Hash(h)), None, 0);
        for i in 0..10 {
            n.set_expire(if i % 2 == 0 { Some(i) } else { None });
        }
        let (v, _) = n.into_parts();
        assert!(matches!(v, OwnedValue::Obj(Object::Hash(ref h)) if h.len() == 200));
    }
}
