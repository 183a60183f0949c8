//! Request decoding: ferrokey's in-place decoder against the `redis-protocol` crate's
//! RESP2 decoder on the same bytes.
//!
//! The inputs are what a connection's read buffer holds: a pipelined batch of SET/GET
//! requests (as valkey-benchmark -P 16 sends them, and a larger batch), and one SET with
//! a 1 MiB value, both whole and arriving in 16 KiB reads. Each decoder is used the way a
//! server would use it: decode every complete request in the buffer and make its
//! arguments available as byte slices.
//!
//! `cargo bench --bench decoder`

use bytes::Bytes;
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ferrokey::protocol::{Decoded, Decoder, Limits};
use redis_protocol::resp2::decode::{decode, decode_bytes, decode_range};
use redis_protocol::resp2::types::{BytesFrame, OwnedFrame, RangeFrame};

fn encode(args: &[&[u8]], out: &mut Vec<u8>) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// `n` requests alternating SET key:NNNNNNNNNNNN <16 bytes> and GET of the same key.
fn set_get_batch(n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..n {
        let key = format!("key:{:012}", i / 2);
        if i % 2 == 0 {
            encode(&[b"SET", key.as_bytes(), b"xxxxxxxxxxxxxxxx"], &mut out);
        } else {
            encode(&[b"GET", key.as_bytes()], &mut out);
        }
    }
    out
}

fn big_bulk() -> Vec<u8> {
    let value = vec![b'v'; 1 << 20];
    let mut out = Vec::new();
    encode(&[b"SET", b"big", &value], &mut out);
    out
}

/// Decodes every complete request of `buf` with ferrokey's decoder; returns
/// (requests, argument bytes) so the work cannot be optimized away. Like the
/// redis-protocol frames, each request's arguments are gathered into a fresh Vec
/// (the server keeps them on the stack, so this slightly favours the other side).
fn ferrokey_all(d: &mut Decoder, buf: &[u8], lim: &Limits) -> (usize, usize) {
    let (mut off, mut reqs, mut bytes) = (0, 0, 0);
    loop {
        match d.decode(&buf[off..], lim) {
            Ok(Decoded::Request { consumed }) => {
                let mut args: Vec<&[u8]> = Vec::with_capacity(d.argc());
                d.args(&buf[off..], &mut args);
                bytes += args.iter().map(|a| a.len()).sum::<usize>();
                reqs += 1;
                off += consumed;
            }
            Ok(Decoded::Empty { consumed }) => off += consumed,
            Ok(Decoded::Incomplete { .. }) | Err(_) => return (reqs, bytes),
        }
    }
}

fn range_len(f: &RangeFrame) -> usize {
    match f {
        RangeFrame::Array(v) => v
            .iter()
            .map(|a| match a {
                RangeFrame::BulkString(r) => r.1 - r.0,
                _ => 0,
            })
            .sum(),
        _ => 0,
    }
}

/// redis-protocol's zero-copy interface: frames hold ranges into the buffer.
fn rp_range_all(buf: &[u8]) -> (usize, usize) {
    let (mut off, mut reqs, mut bytes) = (0, 0, 0);
    while let Ok(Some((f, n))) = decode_range(&buf[off..]) {
        bytes += range_len(&f);
        reqs += 1;
        off += n;
    }
    (reqs, bytes)
}

/// redis-protocol's `Bytes` interface: frames hold refcounted views of the buffer.
fn rp_bytes_all(buf: &Bytes) -> (usize, usize) {
    let (mut off, mut reqs, mut bytes) = (0, 0, 0);
    while let Ok(Some((f, n))) = decode_bytes(&buf.slice(off..)) {
        if let BytesFrame::Array(v) = f {
            for a in v {
                if let BytesFrame::BulkString(b) = a {
                    bytes += b.len();
                }
            }
        }
        reqs += 1;
        off += n;
    }
    (reqs, bytes)
}

/// redis-protocol's owned interface: every argument is copied into its own Vec.
fn rp_owned_all(buf: &[u8]) -> (usize, usize) {
    let (mut off, mut reqs, mut bytes) = (0, 0, 0);
    while let Ok(Some((f, n))) = decode(&buf[off..]) {
        if let OwnedFrame::Array(v) = f {
            for a in v {
                if let OwnedFrame::BulkString(b) = a {
                    bytes += b.len();
                }
            }
        }
        reqs += 1;
        off += n;
    }
    (reqs, bytes)
}

fn pipelined(c: &mut Criterion) {
    let lim = Limits::default();
    let mut g = c.benchmark_group("pipelined_set_get");
    for n in [16usize, 1024] {
        let input = set_get_batch(n);
        let shared = Bytes::from(input.clone());
        // every decoder must see the same requests, or the comparison means nothing
        let expect = ferrokey_all(&mut Decoder::new(), &input, &lim);
        assert_eq!(expect.0, n);
        assert_eq!(rp_range_all(&input), expect);
        assert_eq!(rp_bytes_all(&shared), expect);
        assert_eq!(rp_owned_all(&input), expect);
        g.throughput(Throughput::Elements(n as u64));
        let mut d = Decoder::new();
        g.bench_with_input(BenchmarkId::new("ferrokey", n), &input, |b, i| {
            b.iter(|| ferrokey_all(&mut d, black_box(i), &lim))
        });
        g.bench_with_input(
            BenchmarkId::new("redis-protocol_range", n),
            &input,
            |b, i| b.iter(|| rp_range_all(black_box(i))),
        );
        g.bench_with_input(
            BenchmarkId::new("redis-protocol_bytes", n),
            &shared,
            |b, i| b.iter(|| rp_bytes_all(black_box(i))),
        );
        g.bench_with_input(
            BenchmarkId::new("redis-protocol_owned", n),
            &input,
            |b, i| b.iter(|| rp_owned_all(black_box(i))),
        );
    }
    g.finish();
}

fn big(c: &mut Criterion) {
    let lim = Limits::default();
    let input = big_bulk();
    let mut g = c.benchmark_group("bulk_1mib");
    g.throughput(Throughput::Bytes(input.len() as u64));
    g.sample_size(30);
    let mut d = Decoder::new();
    g.bench_function("ferrokey_whole", |b| {
        b.iter(|| ferrokey_all(&mut d, black_box(&input), &lim))
    });
    g.bench_function("redis-protocol_range_whole", |b| {
        b.iter(|| rp_range_all(black_box(&input)))
    });
    g.bench_function("redis-protocol_owned_whole", |b| {
        b.iter(|| rp_owned_all(black_box(&input)))
    });
    // 16 KiB reads: the decoder is called on every read with the buffer so far, as
    // the connection does; the stateful decoder resumes, a stateless one restarts
    let chunks: Vec<usize> = (1..=input.len().div_ceil(16 << 10))
        .map(|k| (k * (16 << 10)).min(input.len()))
        .collect();
    g.bench_function("ferrokey_16k_reads", |b| {
        b.iter(|| {
            let mut d = Decoder::new();
            let mut done = 0;
            for &end in &chunks {
                if let Ok(Decoded::Request { .. }) = d.decode(black_box(&input[..end]), &lim) {
                    done += 1;
                }
            }
            assert_eq!(done, 1);
        })
    });
    g.bench_function("redis-protocol_range_16k_reads", |b| {
        b.iter(|| {
            let mut done = 0;
            for &end in &chunks {
                if let Ok(Some(_)) = decode_range(black_box(&input[..end])) {
                    done += 1;
                }
            }
            assert_eq!(done, 1);
        })
    });
    g.finish();
}

criterion_group!(benches, pipelined, big);
criterion_main!(benches);
