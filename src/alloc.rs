//! The global allocator: mimalloc, counting the bytes the program holds.
//!
//! `maxmemory` is checked before every write command, so reading the figure must cost
//! next to nothing, and so must keeping it. Each thread adds what it allocates and
//! frees to a thread-local balance and moves that balance into one shared counter
//! only once it exceeds [`FLUSH_BYTES`] either way: the hot path is a thread-local
//! add and compare. The shared figure is then off by at most `FLUSH_BYTES` per
//! thread, a few hundred KiB on a machine with a handful of workers; a thread that
//! needs its own allocations counted exactly (eviction measuring what a deletion
//! freed) adds its pending balance with [`used_exact`]. A thread that exits leaves
//! its balance (less than `FLUSH_BYTES`) uncounted; the server's threads are few and
//! long-lived, and its own short jobs call [`flush_thread`] when done.
//!
//! The figure counts the sizes asked for, as Valkey's `used_memory` counts what
//! its allocator hands out; the allocator's own bookkeeping and free pages show up
//! in RSS only (`mem_fragmentation_ratio`).
//!
//! The server executable installs [`Counting`] as `#[global_allocator]`. A program
//! that doesn't (the library's unit tests) reads [`used`] as `None`, and everything
//! depending on it (eviction, the OOM gate) stays off.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering::Relaxed};

/// A thread's balance moves into the shared counter once it reaches this many bytes.
const FLUSH_BYTES: i64 = 64 * 1024;

static USED: AtomicI64 = AtomicI64::new(0);
static INSTALLED: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// Bytes this thread allocated minus bytes it freed, not yet in [`USED`]. No
    /// destructor, so the allocator may touch it at any point of a thread's life.
    static PENDING: Cell<i64> = const { Cell::new(0) };
}

/// mimalloc, with every allocation counted (see the module documentation).
pub struct Counting;

#[inline]
fn account(delta: i64) {
    let flushed = PENDING.try_with(|p| {
        let v = p.get() + delta;
        if v.abs() >= FLUSH_BYTES {
            p.set(0);
            USED.fetch_add(v, Relaxed);
        } else {
            p.set(v);
        }
    });
    if flushed.is_err() {
        // the thread's locals are gone (late in its exit): count directly
        USED.fetch_add(delta, Relaxed);
    }
}

// SAFETY: every method forwards to mimalloc with the caller's arguments unchanged;
// the counting around it neither allocates nor touches the memory.
unsafe impl GlobalAlloc for Counting {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = mimalloc::MiMalloc.alloc(layout);
        if !p.is_null() {
            account(layout.size() as i64);
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = mimalloc::MiMalloc.alloc_zeroed(layout);
        if !p.is_null() {
            account(layout.size() as i64);
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        mimalloc::MiMalloc.dealloc(ptr, layout);
        account(-(layout.size() as i64));
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = mimalloc::MiMalloc.realloc(ptr, layout, new_size);
        if !p.is_null() {
            account(new_size as i64 - layout.size() as i64);
        }
        p
    }
}

impl Counting {
    /// Called once by the program that installs the allocator, so that readers know
    /// the counter is meaningful.
    pub fn mark_installed(&self) {
        INSTALLED.store(true, Relaxed);
    }
}

/// Bytes the program holds, as of the last flush of every thread; `None` when the
/// counting allocator is not the global allocator.
#[inline]
pub fn used() -> Option<u64> {
    if !INSTALLED.load(Relaxed) {
        return None;
    }
    Some(USED.load(Relaxed).max(0) as u64)
}

/// As [`used`], with this thread's pending balance added: exact for what this thread
/// itself allocated or freed since.
pub fn used_exact() -> Option<u64> {
    if !INSTALLED.load(Relaxed) {
        return None;
    }
    let pending = PENDING.try_with(|p| p.get()).unwrap_or(0);
    Some((USED.load(Relaxed) + pending).max(0) as u64)
}

/// Moves this thread's pending balance into the shared counter now. A thread's
/// balance is lost if it exits before reaching [`FLUSH_BYTES`], so short-lived work
/// that frees or allocates much (an eviction pass on a blocking thread) ends with this.
pub fn flush_thread() {
    let _ = PENDING.try_with(|p| {
        let v = p.replace(0);
        if v != 0 {
            USED.fetch_add(v, Relaxed);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balance_moves_to_the_shared_counter_in_steps() {
        // the test binary does not install the allocator: drive the counting directly
        let before = USED.load(Relaxed);
        let pending = PENDING.with(|p| p.get());
        account(FLUSH_BYTES - pending - 1);
        assert_eq!(USED.load(Relaxed), before);
        account(1);
        assert_eq!(USED.load(Relaxed), before + FLUSH_BYTES);
        account(-FLUSH_BYTES);
        assert_eq!(USED.load(Relaxed), before);
        assert_eq!(PENDING.with(|p| p.get()), 0);
    }
}
