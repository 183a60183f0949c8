//! Scripts through the library API, without sockets: what one EVALSHA costs in the
//! server beside the plain commands it runs. The rate limiter is the script
//! `benches/compare.sh` runs against both servers (INCR, EXPIRE on the first hit,
//! TTL); the smaller scripts isolate the fixed cost of a script call and of one
//! `redis.call` from the work of the commands themselves.
//!
//! `cargo bench --bench scripting`

use criterion::{black_box, criterion_group, Criterion};
use ferrokey::commands::{after_command, dispatch};
use ferrokey::config::Config;
use ferrokey::protocol::Reply;
use ferrokey::server::{Client, ClientInfo, Server};
use std::sync::Arc;

// the server's allocator, so that allocation costs are the server's
#[global_allocator]
static GLOBAL: ferrokey::alloc::Counting = ferrokey::alloc::Counting;

const RATE_SCRIPT: &str = "local c = redis.call('INCR', KEYS[1]) if c == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end local ttl = redis.call('TTL', KEYS[1]) if c > tonumber(ARGV[1]) then return {0, ttl} end return {1, ttl}";
/// Keys the rate limiter spreads over, as `valkey-benchmark -r 100000`.
const KEYSPACE: u64 = 100_000;

struct Harness {
    srv: Arc<Server>,
    client: Client,
    out: Reply,
}

impl Harness {
    fn new() -> Harness {
        let srv = Server::new(Config::new(), None);
        let info = ClientInfo::new(1, "127.0.0.1:1".into(), "127.0.0.1:2".into(), -1);
        let client = Client::new(Arc::new(info), true);
        Harness {
            srv,
            client,
            out: Reply::new(false),
        }
    }

    /// One request as a connection runs it; the reply buffer is reused.
    fn run(&mut self, args: &[&[u8]]) {
        self.out.clear();
        dispatch(&self.srv, &mut self.client, &mut self.out, args);
        after_command(&self.srv);
        black_box(self.out.as_bytes());
    }

    /// SCRIPT LOAD: the SHA of `body`.
    fn load(&mut self, body: &str) -> Vec<u8> {
        self.run(&[b"SCRIPT", b"LOAD", body.as_bytes()]);
        // $40\r\n<sha>\r\n
        self.out.as_bytes()[5..45].to_vec()
    }
}

fn scripts(c: &mut Criterion) {
    let mut h = Harness::new();
    let rate = h.load(RATE_SCRIPT);
    let noop = h.load("return 1");
    let one_get = h.load("return redis.call('GET', KEYS[1])");
    let mut g = c.benchmark_group("script");
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next_key = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        format!("rl:{:012}", x % KEYSPACE).into_bytes()
    };
    g.bench_function("evalsha rate limiter", |b| {
        b.iter(|| {
            let k = next_key();
            h.run(&[b"EVALSHA", &rate, b"1", &k, b"100", b"60"]);
        })
    });
    g.bench_function("evalsha return 1", |b| {
        b.iter(|| h.run(&[b"EVALSHA", &noop, b"0"]))
    });
    g.bench_function("evalsha one GET", |b| {
        b.iter(|| h.run(&[b"EVALSHA", &one_get, b"1", b"somekey"]))
    });
    // the commands the rate limiter runs, sent directly: the floor for the script
    g.bench_function("INCR + TTL direct", |b| {
        b.iter(|| {
            let k = next_key();
            h.run(&[b"INCR", &k]);
            h.run(&[b"TTL", &k]);
        })
    });
    g.finish();
}

criterion_group!(benches, scripts);

/// `SCRIPT_BENCH_ITERS=N cargo bench --bench scripting` runs each workload N times
/// without criterion's statistics, for counting instructions or cycles with
/// `perf stat` (steadier than wall-clock time on a busy machine).
fn main() {
    let Some(n) = std::env::var("SCRIPT_BENCH_ITERS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    else {
        benches();
        Criterion::default().configure_from_args().final_summary();
        return;
    };
    let which = std::env::var("SCRIPT_BENCH_ONLY").unwrap_or_default();
    let mut h = Harness::new();
    let rate = h.load(RATE_SCRIPT);
    let noop = h.load("return 1");
    let one_get = h.load("return redis.call('GET', KEYS[1])");
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let k = format!("rl:{:012}", x % KEYSPACE).into_bytes();
        match which.as_str() {
            "noop" => h.run(&[b"EVALSHA", &noop, b"0"]),
            "get" => h.run(&[b"EVALSHA", &one_get, b"1", b"somekey"]),
            "direct" => {
                h.run(&[b"INCR", &k]);
                h.run(&[b"TTL", &k]);
            }
            "none" => {
                black_box((i, k));
            }
            _ => h.run(&[b"EVALSHA", &rate, b"1", &k, b"100", b"60"]),
        }
    }
}
