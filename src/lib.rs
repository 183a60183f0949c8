//! ferrokey: an in-memory, RESP-compatible cache server that behaves like Valkey.
//!
//! Layers, from the wire inwards:
//! - [`protocol`]: RESP2/RESP3 framing (request decoding, reply encoding);
//! - [`server`]: listener, connections, client state, statistics, background jobs;
//! - [`commands`]: the one command table and the dispatcher every caller uses
//!   (clients now; scripts, MULTI/EXEC and the AOF loader reuse the same path);
//! - [`store`]: databases, shards, entries, expiry;
//! - [`config`]: the declarative directive table behind the config file and CONFIG.

pub mod acl;
pub mod alloc;
pub mod commands;
pub mod config;
pub mod harness;
pub mod persistence;
pub mod protocol;
pub mod pubsub;
pub mod scripting;
pub mod server;
pub mod store;
