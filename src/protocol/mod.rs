//! RESP framing only: request decoding and reply encoding. Knows nothing about
//! commands, so it can be fuzzed and benchmarked alone.

pub mod decode;
pub mod reply;

pub use decode::{Args, Decoded, Decoder, Limits, ProtocolError};
pub use reply::Reply;
