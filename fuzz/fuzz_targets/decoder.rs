//! The request decoder and the inline splitter must never panic, never read outside
//! the buffer, and must decode the same requests whether the bytes arrive at once or
//! in small reads (as they do from a socket).
//!
//! `cargo +nightly fuzz run decoder` from the repository root.
#![no_main]

use ferrokey::protocol::decode::split_args;
use ferrokey::protocol::{Decoded, Decoder, Limits};
use libfuzzer_sys::fuzz_target;

/// Decodes `data` as a connection would, handing the decoder at most `step` more bytes
/// per read. Returns the decoded requests and whether decoding stopped on an error.
fn run(data: &[u8], step: usize, limits: &Limits) -> (Vec<Vec<Vec<u8>>>, bool) {
    let mut d = Decoder::new();
    let mut reqs = Vec::new();
    let mut start = 0;
    let mut avail = step.min(data.len());
    loop {
        let buf = &data[start..avail];
        match d.decode(buf, limits) {
            Ok(Decoded::Request { consumed }) => {
                assert!(consumed > 0 && consumed <= buf.len());
                let mut args: Vec<&[u8]> = Vec::new();
                d.args(buf, &mut args);
                assert_eq!(args.len(), d.argc());
                assert!(!args.is_empty());
                reqs.push(args.iter().map(|a| a.to_vec()).collect());
                start += consumed;
            }
            Ok(Decoded::Empty { consumed }) => {
                assert!(consumed > 0 && consumed <= buf.len());
                start += consumed;
            }
            Ok(Decoded::Incomplete { .. }) => {
                if avail == data.len() {
                    return (reqs, false);
                }
                avail = (avail + step).min(data.len());
            }
            Err(e) => {
                assert!(!e.0.is_empty());
                return (reqs, true);
            }
        }
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&first, data)) = input.split_first() else {
        return;
    };
    let step = 1 + (first as usize % 64);
    for limits in [
        Limits::default(),
        Limits {
            max_bulk_len: 16,
            authenticated: false,
        },
    ] {
        let (whole, whole_err) = run(data, data.len().max(1), &limits);
        let (chunked, chunked_err) = run(data, step, &limits);
        // limits on unterminated lines depend on how much has arrived, so after an
        // error one side may have decoded more; before it, both agree
        let n = whole.len().min(chunked.len());
        assert_eq!(whole[..n], chunked[..n]);
        if !whole_err && !chunked_err {
            assert_eq!(whole.len(), chunked.len());
        }
    }

    let mut out = Vec::new();
    let mut spans = Vec::new();
    if split_args(data, &mut out, &mut spans) {
        for &(s, e) in &spans {
            assert!(s <= e && e <= out.len());
        }
    }
});
