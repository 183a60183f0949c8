//! The keyspace on the SET/GET path: one database of sharded chained tables holding
//! about a million small string keys, as `valkey-benchmark -r 1000000` would leave it.
//!
//! A `hashbrown` map behind one mutex is measured beside it as a yardstick: it is what
//! a first version would use, and it shows what the table layout (needed for SCAN's
//! guarantees and random sampling, see src/store/table.rs) costs or saves on lookups.
//!
//! `cargo bench --bench keyspace`

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ferrokey::store::{Keyspace, NewValue};
use parking_lot::Mutex;

const KEYS: usize = 1_000_000;
const VALUE: &[u8] = b"vvvvvvvvvvvvvvvv";
/// Lookups per measured iteration: enough to average over cache misses.
const BATCH: usize = 10_000;

fn key(i: usize) -> Vec<u8> {
    format!("key:{i:07}").into_bytes()
}

/// A fixed pseudo-random visiting order, so every run touches the same keys and no
/// hardware prefetcher gets a sequential pattern.
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

fn loaded() -> Keyspace {
    let ks = Keyspace::new(1);
    let db = ks.db(0);
    for i in 0..KEYS {
        let k = key(i);
        db.lock(&k).set(&k, NewValue::Str(VALUE), None, 0);
    }
    ks
}

type Baseline = Mutex<hashbrown::HashMap<Box<[u8]>, Box<[u8]>>>;

fn loaded_baseline() -> Baseline {
    let mut m = hashbrown::HashMap::new();
    for i in 0..KEYS {
        m.insert(key(i).into_boxed_slice(), VALUE.to_vec().into_boxed_slice());
    }
    Mutex::new(m)
}

fn load(c: &mut Criterion) {
    let keys: Vec<Vec<u8>> = (0..KEYS).map(key).collect();
    let mut g = c.benchmark_group("load_1m");
    g.sample_size(10);
    g.throughput(Throughput::Elements(KEYS as u64));
    g.bench_function("ferrokey", |b| {
        b.iter_batched(
            || Keyspace::new(1),
            |ks| {
                let db = ks.db(0);
                for k in &keys {
                    db.lock(k).set(k, NewValue::Str(VALUE), None, 0);
                }
                ks
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("hashbrown_mutex", |b| {
        b.iter_batched(
            Baseline::default,
            |m| {
                for k in &keys {
                    m.lock().insert(
                        k.clone().into_boxed_slice(),
                        VALUE.to_vec().into_boxed_slice(),
                    );
                }
                m
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn get_set(c: &mut Criterion) {
    let ks = loaded();
    let db = ks.db(0);
    let base = loaded_baseline();
    // 10% of the lookups miss, as a cache's GETs do
    let keys: Vec<Vec<u8>> = order(BATCH, KEYS + KEYS / 10)
        .into_iter()
        .map(key)
        .collect();
    let mut g = c.benchmark_group("keyspace_1m");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("get/ferrokey", |b| {
        b.iter(|| {
            let mut hits = 0usize;
            for k in &keys {
                let mut s = db.lock(k);
                if let Some(n) = s.get(black_box(k), 0) {
                    hits += n.value().as_str().map_or(0, |v| v.len());
                }
            }
            hits
        })
    });
    g.bench_function("get/hashbrown_mutex", |b| {
        b.iter(|| {
            let mut hits = 0usize;
            for k in &keys {
                if let Some(v) = base.lock().get(black_box(k.as_slice())) {
                    hits += v.len();
                }
            }
            hits
        })
    });
    g.bench_function("set_existing/ferrokey", |b| {
        b.iter(|| {
            for k in &keys {
                db.lock(k).set(black_box(k), NewValue::Str(VALUE), None, 0);
            }
        })
    });
    g.bench_function("set_existing/hashbrown_mutex", |b| {
        b.iter(|| {
            for k in &keys {
                base.lock().insert(
                    k.clone().into_boxed_slice(),
                    VALUE.to_vec().into_boxed_slice(),
                );
            }
        })
    });
    g.finish();
}

criterion_group!(benches, get_set, load);
criterion_main!(benches);
