//! A keyed state's hit path: finding the state of a present key among 1,000
//! (`Keyed::get` and dropping the `Held`; `Keyed::with`, which takes no
//! reference), alone and around a closed
//! breaker's call, next to the same call on a plain `static` breaker and to
//! governor's keyed limiter admitting a present key among 1,000 (a dashmap
//! lookup plus its GCRA compare-and-swap).
//!
//! Run with `cargo bench --bench keyed -- --warm-up-time 1 --measurement-time 2`.

use std::hint::black_box;
use std::num::NonZeroU32;

use criterion::{Criterion, criterion_group, criterion_main};
use steadfast::CircuitBreaker;
use steadfast::keyed::{Keyed, Probe};

const KEYS: u64 = 1_000;

static PER_KEY: Keyed<CircuitBreaker> =
    Keyed::new(CircuitBreaker::builder().name("bench-keyed"), 1024);

static PLAIN: CircuitBreaker = CircuitBreaker::builder().name("bench-plain").build();

fn keyed(c: &mut Criterion) {
    let mut group = c.benchmark_group("keyed_hit");
    for key in 0..KEYS {
        drop(PER_KEY.get(Probe::debug(&key)));
    }
    let hosts: Vec<String> = (0..KEYS).map(|i| format!("host-{i}.example")).collect();
    for host in &hosts {
        drop(PER_KEY.get(Probe::debug(host.as_str())));
    }
    let mut key = 0;
    group.bench_function("get_u64", |b| {
        b.iter(|| {
            key = (key + 1) % KEYS;
            drop(black_box(PER_KEY.get(Probe::debug(black_box(&key)))));
        });
    });
    let mut at = 0;
    group.bench_function("get_str", |b| {
        b.iter(|| {
            at = (at + 1) % hosts.len();
            drop(black_box(
                PER_KEY.get(Probe::debug(black_box(hosts[at].as_str()))),
            ));
        });
    });
    group.bench_function("get_u64_and_call", |b| {
        b.iter(|| {
            key = (key + 1) % KEYS;
            let breaker = PER_KEY.get(Probe::debug(black_box(&key)));
            black_box(breaker.call(|| Ok::<_, ()>(black_box(1))))
        });
    });
    group.bench_function("with_u64", |b| {
        b.iter(|| {
            key = (key + 1) % KEYS;
            black_box(PER_KEY.with(Probe::debug(black_box(&key)), CircuitBreaker::state))
        });
    });
    group.bench_function("plain_static_call", |b| {
        b.iter(|| black_box(PLAIN.call(|| Ok::<_, ()>(black_box(1)))));
    });
    let governor = governor::RateLimiter::keyed(governor::Quota::per_second(
        NonZeroU32::new(u32::MAX).unwrap(),
    ));
    for key in 0..KEYS {
        let _ = governor.check_key(&key);
    }
    group.bench_function("governor_keyed_check_u64", |b| {
        b.iter(|| {
            key = (key + 1) % KEYS;
            black_box(governor.check_key(black_box(&key)).is_ok())
        });
    });
    group.finish();
}

criterion_group!(benches, keyed);
criterion_main!(benches);
