//! Rate limiters next to each other, in one run: an admitted call through
//! governor's direct limiter, tower's `RateLimit`, leaky-bucket and
//! tower-resilience's rate limiter (`rate-limit-admitted`), and a call under
//! one of 1,000 keys through governor's keyed limiter (`rate-limit-keyed`),
//! with a bare call in each group, so that each row reads as a ratio.
//!
//! Every limiter is given a rate so high that it always admits: the rows
//! measure admission, never a wait or a rejection.
//!
//! Run with `cargo bench -p steadfast-benches --bench rate_limit [filter]`.

mod common;

use std::hint::black_box;
use std::num::NonZeroU32;
use std::time::Duration;

use common::{op, plain, ready, runtime, tower_on_runtime};
use criterion::{Criterion, criterion_group, criterion_main};
use governor::{Quota, RateLimiter};
use tower::ServiceBuilder;

/// The attribute as users write it, with a rate no run reaches.
#[steadfast::rate_limit(rate = 4_000_000_000)]
async fn limited(x: u64) -> Result<u64, std::io::Error> {
    op(x).map_err(|()| std::io::Error::other("no"))
}

/// The same, one limiter per key.
#[steadfast::rate_limit(rate = 4_000_000_000, key = key, max_keys = 2048)]
async fn limited_keyed(key: u64, x: u64) -> Result<u64, std::io::Error> {
    op(x).map_err(|()| std::io::Error::other("no"))
}

/// The programmatic limiter behind the attribute.
static DIRECT: steadfast::RateLimiter = steadfast::RateLimiter::builder()
    .rate(4_000_000_000)
    .build();

/// As many calls per second as governor counts: it always admits.
fn huge_quota() -> Quota {
    Quota::per_second(NonZeroU32::MAX)
}

/// A token count no benchmark spends (criterion makes well under 2^40 calls
/// per row).
const PLENTY: usize = 1 << 40;

// --- admitted calls --------------------------------------------------------------

fn admitted(c: &mut Criterion) {
    let rt = runtime();
    let governor = RateLimiter::direct(huge_quota());
    // Construction registers nothing with tokio; its `acquire` would sleep on
    // tokio's timer, `try_acquire` never waits.
    let leaky = leaky_bucket::RateLimiter::builder()
        .max(PLENTY)
        .initial(PLENTY)
        .refill(PLENTY)
        .interval(Duration::from_millis(1))
        .build();
    // tower's `RateLimit` makes its `Sleep` on construction: inside the runtime.
    let mut tower = rt.block_on(async {
        ServiceBuilder::new()
            .rate_limit(u64::MAX, Duration::from_secs(1))
            .service_fn(plain)
    });
    let resilience = tower_resilience_ratelimiter::RateLimiterLayer::builder()
        .limit_for_period(PLENTY)
        .refresh_period(Duration::from_secs(1))
        .timeout_duration(Duration::ZERO)
        .build()
        .expect("a valid tower-resilience rate limiter");
    let mut resilience = ServiceBuilder::new().layer(resilience).service_fn(plain);

    let mut group = c.benchmark_group("rate-limit-admitted");
    group.bench_function("bare async fn", |b| b.iter(|| ready(plain(black_box(7)))));
    group.bench_function("steadfast #[rate_limit]", |b| {
        b.iter(|| ready(limited(black_box(7))))
    });
    group.bench_function("steadfast try_acquire() + call", |b| {
        b.iter(|| {
            DIRECT
                .try_acquire()
                .map(|()| ready(plain(black_box(7))))
                .is_ok()
        })
    });
    group.bench_function("governor check()", |b| {
        b.iter(|| black_box(governor.check()).is_ok())
    });
    group.bench_function("governor check() + call", |b| {
        b.iter(|| {
            governor
                .check()
                .map(|()| ready(plain(black_box(7))))
                .is_ok()
        })
    });
    group.bench_function("leaky-bucket try_acquire + call", |b| {
        b.iter(|| leaky.try_acquire(1).then(|| ready(plain(black_box(7)))))
    });
    group.bench_function("tower rate_limit", |b| {
        b.iter_custom(|iters| tower_on_runtime(&rt, iters, &mut tower))
    });
    group.bench_function("tower-resilience rate limiter", |b| {
        b.iter_custom(|iters| tower_on_runtime(&rt, iters, &mut resilience))
    });
    group.finish();
}

// --- keyed: one of 1,000 keys ---------------------------------------------------------

/// Distinct keys in the keyed rows.
const KEYS: u64 = 1_000;

fn keyed(c: &mut Criterion) {
    let governor = RateLimiter::keyed(huge_quota());
    // Every key present before measuring: the rows measure a lookup that hits.
    for key in 0..KEYS {
        assert!(governor.check_key(&key).is_ok());
    }
    let mut group = c.benchmark_group("rate-limit-keyed");
    group.bench_function("bare async fn", |b| b.iter(|| ready(plain(black_box(7)))));
    for key in 0..KEYS {
        assert!(ready(limited_keyed(key, 7)).is_ok());
    }
    group.bench_function("steadfast #[rate_limit(key = …)], 1,000 keys", |b| {
        let mut key = 0;
        b.iter(|| {
            key = (key + 1) % KEYS;
            ready(limited_keyed(black_box(key), black_box(7)))
        })
    });
    group.bench_function("governor keyed check_key + call, 1,000 keys", |b| {
        let mut key = 0;
        b.iter(|| {
            key = (key + 1) % KEYS;
            governor
                .check_key(black_box(&key))
                .map(|()| ready(plain(black_box(7))))
                .is_ok()
        })
    });
    group.finish();
}

criterion_group!(benches, admitted, keyed);
criterion_main!(benches);
