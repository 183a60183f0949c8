//! One big set and one big hash on the SADD/HSET path: the table encodings holding
//! 100k members `element:NNNNNNNNNNNN`, as `valkey-benchmark -t sadd,hset -r 100000`
//! leaves `myset` and `myhash`.
//!
//! A `hashbrown` set/map of boxed strings is measured beside them as a yardstick: it
//! is what the tables would be without SSCAN/HSCAN's guarantees across resizes and
//! uniform random sampling (see src/store/set.rs), so the gap is what those cost.
//!
//! `cargo bench --bench collections`

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ferrokey::store::hash::{Hash, Limits as HashLimits};
use ferrokey::store::set::{Limits as SetLimits, Set};

const MEMBERS: usize = 100_000;
const VALUE: &[u8] = b"xxxxxxxxxxxxxxxx";
/// Operations per measured iteration: enough to average over cache misses.
const BATCH: usize = 10_000;
const HASH_LIMITS: HashLimits = HashLimits {
    max_entries: 128,
    max_value: 64,
};

/// valkey-benchmark's `__rand_int__`: twelve zero-padded digits.
fn member(i: usize) -> Vec<u8> {
    format!("element:{i:012}").into_bytes()
}

/// A fixed pseudo-random visiting order, so every run touches the same members and
/// no hardware prefetcher gets a sequential pattern.
fn order(n: usize, modulo: usize) -> Vec<usize> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % modulo as u64) as usize
        })
        .collect()
}

fn loaded_set(members: &[Vec<u8>]) -> Set {
    let lim = SetLimits::default();
    let mut s = Set::create_for(&members[0], 1, &lim);
    for m in members {
        s.add(m, &lim);
    }
    s
}

fn loaded_hash(members: &[Vec<u8>]) -> Hash {
    let mut h = Hash::default();
    for m in members {
        h.set(m, VALUE, HASH_LIMITS);
    }
    h
}

fn sets(c: &mut Criterion) {
    let all: Vec<Vec<u8>> = (0..MEMBERS).map(member).collect();
    let lim = SetLimits::default();
    let mut set = loaded_set(&all);
    assert_eq!(set.encoding(), "hashtable");
    let base: hashbrown::HashSet<Box<[u8]>> =
        all.iter().map(|m| m.clone().into_boxed_slice()).collect();
    // 10% new members: the steady state of SADD with -r after the set has filled
    let batch: Vec<Vec<u8>> = order(BATCH, MEMBERS + MEMBERS / 10)
        .into_iter()
        .map(member)
        .collect();

    let mut g = c.benchmark_group("set_100k");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("sadd/ferrokey", |b| {
        b.iter_batched_ref(
            || set.clone(),
            |s| batch.iter().filter(|m| s.add(black_box(m), &lim)).count(),
            BatchSize::LargeInput,
        )
    });
    g.bench_function("sadd/hashbrown", |b| {
        b.iter_batched_ref(
            || base.clone(),
            |s| {
                batch
                    .iter()
                    .filter(|m| {
                        if s.contains(black_box(m.as_slice())) {
                            return false;
                        }
                        s.insert(Box::from(m.as_slice()))
                    })
                    .count()
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("sismember/ferrokey", |b| {
        b.iter(|| batch.iter().filter(|m| set.contains(black_box(m))).count())
    });
    g.bench_function("sismember/hashbrown", |b| {
        b.iter(|| {
            batch
                .iter()
                .filter(|m| base.contains(black_box(m.as_slice())))
                .count()
        })
    });
    let mut rng = rand::thread_rng();
    g.bench_function("spop_sadd/ferrokey", |b| {
        b.iter(|| {
            for _ in 0..BATCH {
                if let Some(m) = set.pop_random(&mut rng) {
                    set.add(&m, &lim);
                }
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("set_load_100k");
    g.sample_size(10);
    g.throughput(Throughput::Elements(MEMBERS as u64));
    g.bench_function("ferrokey", |b| b.iter(|| loaded_set(&all).len()));
    g.bench_function("hashbrown", |b| {
        b.iter(|| {
            let mut s = hashbrown::HashSet::new();
            for m in &all {
                if !s.contains(m.as_slice()) {
                    s.insert(m.clone().into_boxed_slice());
                }
            }
            s.len()
        })
    });
    g.finish();
}

fn hashes(c: &mut Criterion) {
    let all: Vec<Vec<u8>> = (0..MEMBERS).map(member).collect();
    let mut hash = loaded_hash(&all);
    assert_eq!(hash.encoding(), "hashtable");
    let mut base: hashbrown::HashMap<Box<[u8]>, Box<[u8]>> = all
        .iter()
        .map(|m| (m.clone().into_boxed_slice(), VALUE.into()))
        .collect();
    let batch: Vec<Vec<u8>> = order(BATCH, MEMBERS + MEMBERS / 10)
        .into_iter()
        .map(member)
        .collect();

    let mut g = c.benchmark_group("hash_100k");
    g.throughput(Throughput::Elements(BATCH as u64));
    // overwrites with a value of the same length are most of HSET's steady state;
    // the 10% new fields are inserted once, then overwritten too
    g.bench_function("hset/ferrokey", |b| {
        b.iter(|| {
            for m in &batch {
                hash.set(black_box(m), VALUE, HASH_LIMITS);
            }
        })
    });
    g.bench_function("hset/hashbrown", |b| {
        b.iter(|| {
            for m in &batch {
                match base.get_mut(black_box(m.as_slice())) {
                    Some(v) => *v = VALUE.into(),
                    None => {
                        base.insert(m.clone().into_boxed_slice(), VALUE.into());
                    }
                }
            }
        })
    });
    g.bench_function("hget/ferrokey", |b| {
        b.iter(|| batch.iter().filter_map(|m| hash.get(black_box(m))).count())
    });
    g.bench_function("hget/hashbrown", |b| {
        b.iter(|| {
            batch
                .iter()
                .filter_map(|m| base.get(black_box(m.as_slice())))
                .count()
        })
    });
    g.finish();
}

criterion_group!(benches, sets, hashes);
criterion_main!(benches);
