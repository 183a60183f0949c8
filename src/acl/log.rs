//! ACL LOG: recent denials and failed authentications, newest first. Similar events
//! within a minute are folded into one entry with a count, as Valkey does, so a client
//! retrying in a loop does not flush everything else out.

use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Events closer than this (ms) to a matching entry update it instead of adding one.
const GROUPING_MS: i64 = 60_000;
/// How many recent entries are searched for a match.
const SCAN: usize = 10;

#[derive(Clone, Debug)]
pub struct Entry {
    pub count: u64,
    /// "command", "key", "channel" or "auth".
    pub reason: &'static str,
    /// "toplevel", "multi" or "lua".
    pub context: &'static str,
    pub object: String,
    pub username: String,
    /// Unix ms of the last occurrence.
    pub updated: i64,
    pub created: i64,
    pub client_info: String,
    pub id: u64,
}

#[derive(Default)]
pub struct AclLog {
    inner: Mutex<Inner>,
    /// INFO's acl_access_denied_{auth,cmd,key,channel}, counted even when the log
    /// keeps nothing.
    pub denied: [AtomicU64; 4],
}

#[derive(Default)]
struct Inner {
    entries: VecDeque<Entry>,
    next_id: u64,
}

impl AclLog {
    /// Records an event; `max` is `acllog-max-len`.
    #[allow(clippy::too_many_arguments)]
    pub fn add(
        &self,
        reason: &'static str,
        context: &'static str,
        object: String,
        username: String,
        client_info: String,
        now: i64,
        max: usize,
    ) {
        let slot = match reason {
            "auth" => 0,
            "command" => 1,
            "key" => 2,
            _ => 3,
        };
        self.denied[slot].fetch_add(1, Relaxed);
        let mut g = self.inner.lock();
        if max == 0 {
            g.entries.clear();
            return;
        }
        let found = g.entries.iter().take(SCAN).position(|e| {
            e.reason == reason
                && e.context == context
                && e.object == object
                && e.username == username
                && now - e.updated <= GROUPING_MS
        });
        if let Some(i) = found {
            if let Some(mut e) = g.entries.remove(i) {
                e.count += 1;
                e.updated = now;
                e.client_info = client_info;
                g.entries.push_front(e);
            }
            return;
        }
        let id = g.next_id;
        g.next_id += 1;
        g.entries.push_front(Entry {
            count: 1,
            reason,
            context,
            object,
            username,
            updated: now,
            created: now,
            client_info,
            id,
        });
        g.entries.truncate(max);
    }

    /// Up to `n` entries, newest first.
    pub fn recent(&self, n: usize) -> Vec<Entry> {
        self.inner.lock().entries.iter().take(n).cloned().collect()
    }

    pub fn reset(&self) {
        self.inner.lock().entries.clear();
    }
}
