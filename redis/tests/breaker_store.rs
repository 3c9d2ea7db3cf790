//! The shared circuit breaker's store against a real `redis-server` (one per
//! test, on a free port), through the `BreakerStore` methods directly.
//! Several `RedisStore`s on one server stand for several processes. Real
//! time: counts and generations are exact, durations are bracketed by the
//! server's clock read before and after.

mod support;

use std::collections::{HashMap, VecDeque};
use std::net::{Ipv4Addr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant};

use steadfast_redis::RedisStore;
use steadfast_runtime::circuit_breaker::State;
use steadfast_runtime::store::{
    BreakerSpec, BreakerStore, BreakerView, BreakerWindow, Outcomes, ProbeGrant, ProbeOutcome,
    StoreError, StoreErrorKind,
};
use support::{RedisServer, free_port, server_time_us};

const MS: Duration = Duration::from_millis(1);

fn store(server: &RedisServer) -> RedisStore {
    // Generous: the tests share two cores with the build and each other.
    RedisStore::new(&server.url())
        .expect("a valid URL")
        .with_timeout(Duration::from_secs(2))
}

/// A count window of `n`, `min_calls`, failure ratio 50 %, no slow rule, no
/// run rule, open 1 s, one probe, leases of 1 s.
fn spec(n: u32, min_calls: u32) -> BreakerSpec {
    BreakerSpec::new(
        BreakerWindow::Calls(n),
        min_calls,
        500_000,
        None,
        0,
        Duration::from_secs(1),
        1,
        Duration::from_secs(1),
    )
}

/// Outcomes: fast successes and failures, the failures ending the batch
/// (a success before them if there was one).
fn batch(successes: u32, failures: u32) -> Outcomes {
    let mut outcomes = Outcomes::default();
    outcomes.successes = successes;
    outcomes.failures = failures;
    outcomes.failure_run = failures;
    outcomes.ended_run = successes > 0;
    outcomes
}

async fn report(
    store: &RedisStore,
    name: &str,
    spec: BreakerSpec,
    generation: u64,
    outcomes: Outcomes,
) -> BreakerView {
    store
        .report(name, spec, generation, outcomes)
        .await
        .expect("a view")
}

async fn acquire(store: &RedisStore, name: &str, spec: BreakerSpec) -> ProbeGrant {
    store.acquire_probe(name, spec).await.expect("an answer")
}

async fn complete(
    store: &RedisStore,
    name: &str,
    spec: BreakerSpec,
    generation: u64,
    lease: u64,
    outcome: ProbeOutcome,
) -> BreakerView {
    store
        .complete_probe(name, spec, generation, lease, outcome)
        .await
        .expect("a view")
}

fn closed(generation: u64) -> BreakerView {
    BreakerView::new(State::Closed, generation, Duration::ZERO)
}

fn half_open(generation: u64) -> BreakerView {
    BreakerView::new(State::HalfOpen, generation, Duration::ZERO)
}

/// One field of the breaker's hash.
fn field(redis: &mut redis::Connection, name: &str, field: &str) -> Option<String> {
    redis::cmd("HGET")
        .arg(RedisStore::breaker_key(name))
        .arg(field)
        .query(redis)
        .unwrap()
}

fn number(redis: &mut redis::Connection, name: &str, f: &str) -> u64 {
    field(redis, name, f)
        .unwrap_or_else(|| panic!("field {f} of {name}"))
        .parse()
        .unwrap()
}

/// Sleeps until the server's clock has passed `open_until` (field `u`).
async fn wait_until_open_for_passed(redis: &mut redis::Connection, name: &str) {
    let until = number(redis, name, "u");
    let now = server_time_us(redis);
    if until >= now {
        tokio::time::sleep(Duration::from_micros(until - now) + 2 * MS).await;
    }
    assert!(server_time_us(redis) > until);
}

/// Trips `name` (with `spec`, from generation `generation`) by reporting
/// enough failures, and answers the open view.
async fn trip(store: &RedisStore, name: &str, spec: BreakerSpec, generation: u64) -> BreakerView {
    let view = report(store, name, spec, generation, batch(0, 1024)).await;
    assert_eq!(view.state, State::Open, "{view:?}");
    assert_eq!(view.generation, generation + 1);
    view
}

/// Trips `name` and waits out `open_for`: the next acquire goes half-open.
async fn due_for_probes(
    store: &RedisStore,
    redis: &mut redis::Connection,
    name: &str,
    spec: BreakerSpec,
) {
    trip(store, name, spec, 0).await;
    wait_until_open_for_passed(redis, name).await;
}

#[test]
fn the_key_is_hash_tagged_by_name() {
    assert_eq!(
        RedisStore::breaker_key("payments"),
        "steadfast:cb:{payments}"
    );
}

/// Nothing is decided before `min_calls`; then the breaker opens when
/// failures ≥ ceil(ratio × calls), whichever process reports them.
#[tokio::test]
async fn trips_by_ratio_once_min_calls_are_recorded() {
    let server = RedisServer::start();
    let (a, b) = (store(&server), store(&server));
    let mut redis = server.connection();
    let spec = spec(10, 4);
    // A missing key reads as a fresh closed breaker; the read writes nothing.
    assert_eq!(
        report(&a, "ratio", spec, 0, Outcomes::default()).await,
        closed(0)
    );
    let exists: u64 = redis::cmd("EXISTS")
        .arg(RedisStore::breaker_key("ratio"))
        .query(&mut redis)
        .unwrap();
    assert_eq!(exists, 0);

    // 3 failures of 3: every call failed, but fewer than min_calls.
    assert_eq!(report(&a, "few", spec, 0, batch(0, 3)).await, closed(0));
    assert_eq!(
        report(&b, "few", spec, 0, batch(0, 1)).await.state,
        State::Open
    );

    // Two processes' reports fill one window: 3 failures of 7 stay below
    // ceil(0.5 × 7) = 4; the 4th of 8 reaches ceil(4) = 4 and opens.
    for (store, outcomes) in [
        (&a, batch(0, 1)),
        (&b, batch(2, 0)),
        (&a, batch(1, 0)),
        (&b, batch(1, 0)),
        (&a, batch(0, 1)),
        (&b, batch(0, 1)),
    ] {
        assert_eq!(report(store, "ratio", spec, 0, outcomes).await, closed(0));
    }
    let before = server_time_us(&mut redis);
    let view = report(&a, "ratio", spec, 0, batch(0, 1)).await;
    let after = server_time_us(&mut redis);
    assert_eq!((view.state, view.generation), (State::Open, 1));
    // open_until = now + open_for, now between the two readings.
    let remaining = view.open_remaining.as_micros() as u64;
    assert!(
        remaining <= 1_000_000 && remaining >= 1_000_000 - (after - before),
        "{remaining} µs"
    );
    // Opening cleared the window and the run.
    for f in ["l", "ok", "err", "run"] {
        assert_eq!(number(&mut redis, "ratio", f), 0, "{f}");
    }
    assert_eq!(field(&mut redis, "ratio", "r0"), None);
    // The key lives at least a day after a write.
    let ttl: i64 = redis::cmd("PTTL")
        .arg(RedisStore::breaker_key("ratio"))
        .query(&mut redis)
        .unwrap();
    assert!(ttl > 86_400_000 && ttl <= 86_401_000, "{ttl}");
}

/// A count window holds the last n outcomes across reports: old ones leave
/// it, and a batch longer than n keeps n outcomes in the batch's proportions.
#[tokio::test]
async fn the_count_window_slides_across_batches() {
    let server = RedisServer::start();
    let store = store(&server);
    // 4 calls, 2 failures open.
    let spec = spec(4, 4);
    assert_eq!(
        report(&store, "slide", spec, 0, batch(0, 1)).await,
        closed(0)
    );
    assert_eq!(
        report(&store, "slide", spec, 0, batch(3, 0)).await,
        closed(0)
    );
    // The failure leaves as a success comes in...
    assert_eq!(
        report(&store, "slide", spec, 0, batch(1, 0)).await,
        closed(0)
    );
    // ... so one more failure is 1 of 4, not 2.
    assert_eq!(
        report(&store, "slide", spec, 0, batch(0, 1)).await,
        closed(0)
    );
    // A batch of 11 keeps 4 in its proportions: 10/11 of 4 is 3.6 successes,
    // 1/11 of 4 is 0.4 failures: the larger remainder rounds up, 4 successes
    // (the window's earlier failure is gone).
    assert_eq!(
        report(&store, "slide", spec, 0, batch(10, 1)).await,
        closed(0)
    );
    let mut redis = server.connection();
    for (f, count) in [("l", 4), ("ok", 4), ("err", 0)] {
        assert_eq!(number(&mut redis, "slide", f), count, "{f}");
    }
    // One failure is 1 of 4; the next makes 2 of 4.
    assert_eq!(
        report(&store, "slide", spec, 0, batch(0, 1)).await,
        closed(0)
    );
    assert_eq!(
        report(&store, "slide", spec, 0, batch(0, 1)).await.state,
        State::Open
    );
}

/// A report does not say in which order its calls ended, so a window
/// smaller than the batch keeps the batch's mix, spread evenly: 900
/// successes and 100 failures (10 % failing) on a window of 10 hold 9
/// successes and 1 failure, and do not open a breaker at 50 % (appending the
/// failures last would have filled the window with them).
#[tokio::test]
async fn a_batch_larger_than_the_window_keeps_its_mix() {
    let server = RedisServer::start();
    let store = store(&server);
    let small = spec(10, 10);
    assert_eq!(
        report(&store, "mix", small, 0, batch(900, 100)).await,
        closed(0)
    );
    let mut redis = server.connection();
    for (f, count) in [("l", 10), ("ok", 9), ("err", 1)] {
        assert_eq!(number(&mut redis, "mix", f), count, "{f}");
    }
    // Half failing, on a window of 100 from a batch of 1,000: alternating,
    // so any stretch of the window holds half of each.
    assert_eq!(
        report(&store, "half", spec(100, 100), 0, batch(500, 500))
            .await
            .state,
        State::Open
    );
}

/// What the store appends for a batch on a window of `n` (the rule written
/// in `breaker.lua`): its last `m = min(k, n)` outcomes, each kind in the
/// batch's proportion (floors, then the largest remainders, failures first
/// on ties), each position taking the kind furthest behind its share.
fn spread(outcomes: Outcomes, n: u64) -> String {
    let add = [
        u64::from(outcomes.successes),
        u64::from(outcomes.slow_successes),
        u64::from(outcomes.failures),
        u64::from(outcomes.slow_failures),
    ];
    let chars = ['o', 'O', 'e', 'E'];
    let k: u64 = add.iter().sum();
    if k == 0 {
        return String::new();
    }
    let m = k.min(n);
    let mut added = add.map(|a| a * m / k);
    let mut rest: Vec<u64> = (0..4).map(|c| add[c] * m - added[c] * k).collect();
    let ties = [2, 3, 0, 1];
    while added.iter().sum::<u64>() < m {
        let mut best: Option<usize> = None;
        for &c in &ties {
            if rest[c] > 0 && best.is_none_or(|b| rest[c] > rest[b]) {
                best = Some(c);
            }
        }
        let best = best.expect("a remainder left");
        added[best] += 1;
        rest[best] = 0;
    }
    let mut emitted = [0_u64; 4];
    (1..=m)
        .map(|p| {
            let mut best: Option<(usize, i64)> = None;
            for &c in &ties {
                if emitted[c] < added[c] {
                    let behind = (p * added[c]) as i64 - (emitted[c] * m) as i64;
                    if best.is_none_or(|(_, lead)| behind > lead) {
                        best = Some((c, behind));
                    }
                }
            }
            let (c, _) = best.expect("a kind left");
            emitted[c] += 1;
            chars[c]
        })
        .collect()
}

/// The ring against a model: reports of many sizes on a window of 700 (three
/// chunks of the hash, the last one short), wrapping around many times; the
/// stored ring, read from the oldest, and its counts are the model's.
#[tokio::test]
async fn the_ring_matches_a_model_across_chunks_and_wraps() {
    let server = RedisServer::start();
    let store = store(&server);
    let mut redis = server.connection();
    let n = 700;
    // Never trips: min_calls above n.
    let spec = spec(n, n + 1);
    let mut model: VecDeque<char> = VecDeque::new();
    let mut seed: u64 = 0x5eed;
    let mut next = |bound: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % bound
    };
    for round in 0..60 {
        let mut outcomes = Outcomes::default();
        // Mostly small batches, some longer than the whole window.
        let scale = if round % 7 == 3 { 500 } else { 90 };
        outcomes.successes = next(scale) as u32;
        outcomes.slow_successes = next(scale / 3) as u32;
        outcomes.failures = next(scale / 2) as u32;
        outcomes.slow_failures = next(scale / 4) as u32;
        assert_eq!(report(&store, "ring", spec, 0, outcomes).await, closed(0));
        for c in spread(outcomes, u64::from(n)).chars() {
            model.push_back(c);
            if model.len() > n as usize {
                model.pop_front();
            }
        }
        let held = number(&mut redis, "ring", "l") as usize;
        let head = number(&mut redis, "ring", "h") as usize;
        let stored: String = (0..3)
            .map(|i| field(&mut redis, "ring", &format!("r{i}")).unwrap_or_default())
            .collect();
        assert_eq!(stored.len(), held, "round {round}");
        // Oldest first: from the head once full.
        let ring: String = if held == n as usize {
            stored[head..]
                .chars()
                .chain(stored[..head].chars())
                .collect()
        } else {
            stored.clone()
        };
        let expected: String = model.iter().collect();
        assert_eq!(ring, expected, "round {round}");
        let count = |c| expected.chars().filter(|&x| x == c).count() as u64;
        for (f, c) in [("ok", 'o'), ("sok", 'O'), ("err", 'e'), ("serr", 'E')] {
            assert_eq!(
                number(&mut redis, "ring", f),
                count(c),
                "{f}, round {round}"
            );
        }
    }
    assert_eq!(model.len(), n as usize);
}

/// A time window of 500 ms counts the outcomes of its last ten 50 ms
/// buckets on the server's clock: failures reported 600 ms ago have left it.
#[tokio::test]
async fn time_window_buckets_expire_on_the_server_clock() {
    let server = RedisServer::start();
    let store = store(&server);
    let mut redis = server.connection();
    let mut spec = spec(1, 4);
    spec.window = BreakerWindow::Time(Duration::from_millis(500));
    let started = server_time_us(&mut redis);
    assert_eq!(
        report(&store, "timed", spec, 0, batch(0, 3)).await,
        closed(0)
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(server_time_us(&mut redis) - started >= 600_000);
    // With the 3 old failures this would be 4 of 5; they are gone: 1 of 2,
    // below min_calls.
    assert_eq!(
        report(&store, "timed", spec, 0, batch(1, 1)).await,
        closed(0)
    );
    // Within the window, reports add up: 3 of 4 ≥ 2 opens (the run rule is
    // off). The three reports are well within one 450 ms span.
    let view = report(&store, "timed", spec, 0, batch(0, 2)).await;
    assert_eq!((view.state, view.generation), (State::Open, 1), "{view:?}");
}

/// A window kept under other settings (a redeploy with another window)
/// starts afresh, its old fields deleted; the state and generation stay.
#[tokio::test]
async fn a_reconfigured_window_starts_afresh() {
    let server = RedisServer::start();
    let store = store(&server);
    let mut redis = server.connection();
    let ten = spec(10, 4);
    assert_eq!(
        report(&store, "redeploy", ten, 0, batch(0, 3)).await,
        closed(0)
    );
    // With the 3 failures kept, this would be 3 of 4 and open.
    let twenty = spec(20, 4);
    assert_eq!(
        report(&store, "redeploy", twenty, 0, batch(1, 0)).await,
        closed(0)
    );
    assert_eq!(field(&mut redis, "redeploy", "r0").as_deref(), Some("o"));
    let mut timed = spec(1, 4);
    timed.window = BreakerWindow::Time(Duration::from_secs(10));
    assert_eq!(
        report(&store, "redeploy", timed, 0, batch(0, 3)).await,
        closed(0)
    );
    assert_eq!(field(&mut redis, "redeploy", "r0"), None);
    assert_eq!(
        field(&mut redis, "redeploy", "w").as_deref(),
        Some("d1000000")
    );
    // Back to a count window: the buckets go.
    assert_eq!(
        report(&store, "redeploy", ten, 0, batch(0, 3)).await,
        closed(0)
    );
    let buckets: Vec<Option<String>> = (0..10)
        .map(|j| field(&mut redis, "redeploy", &format!("b{j}")))
        .collect();
    assert!(buckets.iter().all(Option::is_none), "{buckets:?}");
}

/// The failure run spans reports: it grows by each batch's trailing
/// failures, and restarts at them after a batch with a success.
#[tokio::test]
async fn the_failure_run_spans_batches() {
    let server = RedisServer::start();
    let store = store(&server);
    // 5 in a row open; the ratio never decides (min_calls above the window).
    let mut spec = spec(100, 101);
    spec.consecutive_failures = 5;
    let run = |failures, failure_run, ended_run| {
        let mut outcomes = batch(0, failures);
        outcomes.failure_run = failure_run;
        outcomes.ended_run = ended_run;
        outcomes
    };
    assert_eq!(
        report(&store, "run", spec, 0, run(2, 2, false)).await,
        closed(0)
    );
    assert_eq!(
        report(&store, "run", spec, 0, run(2, 2, false)).await,
        closed(0)
    );
    // 4 so far; a batch whose success came before its last failure.
    let mut ended = run(2, 1, true);
    ended.successes = 1;
    assert_eq!(report(&store, "run", spec, 0, ended).await, closed(0));
    // 1 + 3 = 4.
    assert_eq!(
        report(&store, "run", spec, 0, run(3, 3, false)).await,
        closed(0)
    );
    let view = report(&store, "run", spec, 0, run(1, 1, false)).await;
    assert_eq!((view.state, view.generation), (State::Open, 1));
}

/// Slow calls open the breaker at `slow ≥ ceil(slow_ratio × calls)`; slow
/// failures count as failures and as slow.
#[tokio::test]
async fn slow_calls_open_by_their_own_ratio() {
    let server = RedisServer::start();
    let store = store(&server);
    // Failures alone open only at 100 %.
    let mut spec = spec(10, 4);
    spec.failure_ratio_ppm = 1_000_000;
    spec.slow_ratio_ppm = Some(500_000);
    let slow = |successes, slow_successes| {
        let mut outcomes = batch(successes, 0);
        outcomes.slow_successes = slow_successes;
        outcomes
    };
    assert_eq!(report(&store, "slow", spec, 0, slow(2, 1)).await, closed(0));
    // 2 slow of 4 ≥ ceil(2).
    assert_eq!(
        report(&store, "slow", spec, 0, slow(0, 1)).await.state,
        State::Open
    );
    // Without the slow rule, the same calls do not open.
    let mut no_slow = spec;
    no_slow.slow_ratio_ppm = None;
    assert_eq!(
        report(&store, "fast", no_slow, 0, slow(2, 1)).await,
        closed(0)
    );
    assert_eq!(
        report(&store, "fast", no_slow, 0, slow(0, 1)).await,
        closed(0)
    );
    // Slow failures are failures: 2 of 4 at 50 %.
    let mut ratio = no_slow;
    ratio.failure_ratio_ppm = 500_000;
    let mut slow_failures = batch(2, 0);
    slow_failures.slow_failures = 2;
    slow_failures.failure_run = 2;
    assert_eq!(
        report(&store, "slow failures", ratio, 0, slow_failures)
            .await
            .state,
        State::Open
    );
}

/// Outcomes of another generation, or reported while the breaker is not
/// closed, are dropped: they move nothing and are not in the window later.
#[tokio::test]
async fn outcomes_of_a_stale_generation_are_dropped() {
    let server = RedisServer::start();
    let store = store(&server);
    let mut redis = server.connection();
    let spec = spec(10, 1);
    due_for_probes(&store, &mut redis, "stale", spec).await;
    // Open, generation 1: a report of generation 1 (admitted before the
    // state moved, received after) is dropped too: the breaker is open.
    let open = report(&store, "stale", spec, 1, batch(0, 5)).await;
    assert_eq!((open.state, open.generation), (State::Open, 1));
    let ProbeGrant::Granted { generation, lease } = acquire(&store, "stale", spec).await else {
        panic!("probes are due");
    };
    assert_eq!((generation, lease), (2, 1));
    assert_eq!(
        complete(&store, "stale", spec, 2, 1, ProbeOutcome::Success).await,
        closed(3)
    );
    // Generation 0's failures say nothing of generation 3.
    assert_eq!(
        report(&store, "stale", spec, 0, batch(0, 50)).await,
        closed(3)
    );
    assert_eq!(number(&mut redis, "stale", "l"), 0);
    // The current generation's are recorded.
    assert_eq!(
        report(&store, "stale", spec, 3, batch(1, 0)).await,
        closed(3)
    );
    assert_eq!(number(&mut redis, "stale", "l"), 1);
}

/// The time left open is open_until minus the server's now, at each call.
#[tokio::test]
async fn open_remaining_follows_server_time() {
    let server = RedisServer::start();
    let store = store(&server);
    let mut redis = server.connection();
    let spec = spec(10, 1);
    trip(&store, "remaining", spec, 0).await;
    let until = number(&mut redis, "remaining", "u");
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let before = server_time_us(&mut redis);
        let view = report(&store, "remaining", spec, 1, Outcomes::default()).await;
        let after = server_time_us(&mut redis);
        let remaining = view.open_remaining.as_micros() as u64;
        assert!(
            remaining <= until - before && remaining >= until.saturating_sub(after),
            "{remaining} µs, until − before {}, until − after {}",
            until - before,
            until.saturating_sub(after)
        );
    }
    wait_until_open_for_passed(&mut redis, "remaining").await;
    let view = report(&store, "remaining", spec, 1, Outcomes::default()).await;
    assert_eq!(view, BreakerView::new(State::Open, 1, Duration::ZERO));
}

/// Before open_for has passed, and while closed, no lease is granted.
#[tokio::test]
async fn acquire_before_open_for_is_refused() {
    let server = RedisServer::start();
    let store = store(&server);
    let spec = spec(10, 1);
    assert_eq!(
        acquire(&store, "early", spec).await,
        ProbeGrant::Refused(closed(0))
    );
    trip(&store, "early", spec, 0).await;
    let ProbeGrant::Refused(view) = acquire(&store, "early", spec).await else {
        panic!("open_for has not passed");
    };
    assert_eq!((view.state, view.generation), (State::Open, 1));
    assert!(view.open_remaining > Duration::from_millis(500), "{view:?}");
}

/// 50 acquires racing from five processes: exactly `half_open_probes`
/// leases, distinct, all of one generation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_acquires_get_exactly_the_probe_slots() {
    let server = RedisServer::start();
    let stores: Vec<Arc<RedisStore>> = (0..5).map(|_| Arc::new(store(&server))).collect();
    let mut redis = server.connection();
    for probes in [1, 3] {
        let name = format!("race{probes}");
        let mut spec = spec(10, 1);
        spec.half_open_probes = probes;
        due_for_probes(&stores[0], &mut redis, &name, spec).await;
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let store = Arc::clone(&stores[i % stores.len()]);
                let name = name.clone();
                tokio::spawn(async move { acquire(&store, &name, spec).await })
            })
            .collect();
        let mut granted = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                ProbeGrant::Granted { generation, lease } => granted.push((generation, lease)),
                ProbeGrant::Refused(view) => assert_eq!(view, half_open(2)),
            }
        }
        granted.sort_unstable();
        let expected: Vec<_> = (1..=u64::from(probes)).map(|lease| (2, lease)).collect();
        assert_eq!(granted, expected, "{probes} probes");
    }
}

/// A lease not completed within probe_lease is reclaimed for another probe,
/// and its late result moves nothing.
#[tokio::test]
async fn an_expired_lease_is_reclaimed_and_its_result_fenced_off() {
    let server = RedisServer::start();
    let store = store(&server);
    let mut redis = server.connection();
    let mut spec = spec(10, 1);
    spec.probe_lease = Duration::from_millis(200);
    due_for_probes(&store, &mut redis, "lease", spec).await;
    let granted_at = server_time_us(&mut redis);
    assert_eq!(
        acquire(&store, "lease", spec).await,
        ProbeGrant::Granted {
            generation: 2,
            lease: 1
        }
    );
    assert_eq!(
        acquire(&store, "lease", spec).await,
        ProbeGrant::Refused(half_open(2))
    );
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(server_time_us(&mut redis) > granted_at + 200_000);
    // Expired, though still listed (no acquire has reclaimed it yet): its
    // failure moves nothing.
    assert_eq!(
        complete(&store, "lease", spec, 2, 1, ProbeOutcome::Failure).await,
        half_open(2)
    );
    assert_eq!(
        acquire(&store, "lease", spec).await,
        ProbeGrant::Granted {
            generation: 2,
            lease: 2
        }
    );
    // Reclaimed now, it is fenced off all the more.
    assert_eq!(
        complete(&store, "lease", spec, 2, 1, ProbeOutcome::Failure).await,
        half_open(2)
    );
    // An unknown lease too.
    assert_eq!(
        complete(&store, "lease", spec, 2, 7, ProbeOutcome::Success).await,
        half_open(2)
    );
    assert_eq!(
        complete(&store, "lease", spec, 2, 2, ProbeOutcome::Success).await,
        closed(3)
    );
}

/// A result of an earlier half-open generation moves nothing, even with a
/// lease number the current generation has granted.
#[tokio::test]
async fn a_result_of_an_old_generation_moves_nothing() {
    let server = RedisServer::start();
    let store = store(&server);
    let mut redis = server.connection();
    let mut spec = spec(10, 1);
    spec.open_for = Duration::from_millis(100);
    due_for_probes(&store, &mut redis, "fenced", spec).await;
    assert!(matches!(
        acquire(&store, "fenced", spec).await,
        ProbeGrant::Granted {
            generation: 2,
            lease: 1
        }
    ));
    // The probe fails: open again, generation 3.
    let view = complete(&store, "fenced", spec, 2, 1, ProbeOutcome::Failure).await;
    assert_eq!((view.state, view.generation), (State::Open, 3));
    wait_until_open_for_passed(&mut redis, "fenced").await;
    assert_eq!(
        acquire(&store, "fenced", spec).await,
        ProbeGrant::Granted {
            generation: 4,
            lease: 1
        }
    );
    // Generation 2's lease 1, late: not generation 4's lease 1.
    for outcome in [
        ProbeOutcome::Success,
        ProbeOutcome::Failure,
        ProbeOutcome::Released,
    ] {
        assert_eq!(
            complete(&store, "fenced", spec, 2, 1, outcome).await,
            half_open(4)
        );
    }
    assert_eq!(
        acquire(&store, "fenced", spec).await,
        ProbeGrant::Refused(half_open(4))
    );
}

/// All `half_open_probes` successes close the breaker with a fresh window;
/// the close is one generation on.
#[tokio::test]
async fn the_last_success_closes_with_a_fresh_window() {
    let server = RedisServer::start();
    let store = store(&server);
    let mut redis = server.connection();
    let mut spec = spec(10, 2);
    spec.half_open_probes = 2;
    due_for_probes(&store, &mut redis, "close", spec).await;
    let mut leases = Vec::new();
    for _ in 0..2 {
        let ProbeGrant::Granted { generation, lease } = acquire(&store, "close", spec).await else {
            panic!("two slots");
        };
        leases.push((generation, lease));
    }
    assert_eq!(leases, [(2, 1), (2, 2)]);
    assert_eq!(
        complete(&store, "close", spec, 2, 1, ProbeOutcome::Success).await,
        half_open(2)
    );
    // One success and one lease held: both slots are taken.
    assert_eq!(
        acquire(&store, "close", spec).await,
        ProbeGrant::Refused(half_open(2))
    );
    assert_eq!(
        complete(&store, "close", spec, 2, 2, ProbeOutcome::Success).await,
        closed(3)
    );
    for f in ["l", "ok", "err", "sok", "serr", "run", "hs"] {
        assert_eq!(number(&mut redis, "close", f), 0, "{f}");
    }
    assert_eq!(field(&mut redis, "close", "ls").as_deref(), Some(""));
    // A fresh window: one failure is 1 call, below min_calls.
    assert_eq!(
        report(&store, "close", spec, 3, batch(0, 1)).await,
        closed(3)
    );
}

/// A failed probe reopens the breaker, one generation on, open for a new
/// open_for from the server's now.
#[tokio::test]
async fn a_failed_probe_reopens_with_a_new_open_until() {
    let server = RedisServer::start();
    let store = store(&server);
    let mut redis = server.connection();
    let mut spec = spec(10, 1);
    spec.open_for = Duration::from_millis(300);
    spec.half_open_probes = 2;
    due_for_probes(&store, &mut redis, "reopen", spec).await;
    let first_until = number(&mut redis, "reopen", "u");
    assert!(matches!(
        acquire(&store, "reopen", spec).await,
        ProbeGrant::Granted { .. }
    ));
    assert!(matches!(
        acquire(&store, "reopen", spec).await,
        ProbeGrant::Granted { .. }
    ));
    let before = server_time_us(&mut redis);
    let view = complete(&store, "reopen", spec, 2, 2, ProbeOutcome::Failure).await;
    let after = server_time_us(&mut redis);
    assert_eq!((view.state, view.generation), (State::Open, 3));
    let until = number(&mut redis, "reopen", "u");
    assert!(until >= before + 300_000 && until <= after + 300_000);
    assert!(until > first_until);
    // The other probe's result is now fenced off.
    assert_eq!(
        complete(&store, "reopen", spec, 2, 1, ProbeOutcome::Success)
            .await
            .state,
        State::Open
    );
    assert_eq!(field(&mut redis, "reopen", "ls").as_deref(), Some(""));
}

/// A released lease frees its slot for another probe and moves nothing
/// else.
#[tokio::test]
async fn a_released_lease_frees_the_slot() {
    let server = RedisServer::start();
    let store = store(&server);
    let mut redis = server.connection();
    let spec = spec(10, 1);
    due_for_probes(&store, &mut redis, "release", spec).await;
    assert!(matches!(
        acquire(&store, "release", spec).await,
        ProbeGrant::Granted { lease: 1, .. }
    ));
    assert_eq!(
        acquire(&store, "release", spec).await,
        ProbeGrant::Refused(half_open(2))
    );
    assert_eq!(
        complete(&store, "release", spec, 2, 1, ProbeOutcome::Released).await,
        half_open(2)
    );
    assert_eq!(number(&mut redis, "release", "hs"), 0);
    assert_eq!(
        acquire(&store, "release", spec).await,
        ProbeGrant::Granted {
            generation: 2,
            lease: 2
        }
    );
    // Released twice: the second moves nothing.
    assert_eq!(
        complete(&store, "release", spec, 2, 1, ProbeOutcome::Released).await,
        half_open(2)
    );
    assert_eq!(
        acquire(&store, "release", spec).await,
        ProbeGrant::Refused(half_open(2))
    );
}

/// A key holding something else is an `InvalidReply` for every method, and
/// is left as it was.
#[tokio::test]
async fn invalid_key_contents_are_refused_and_untouched() {
    let server = RedisServer::start();
    let store = store(&server);
    let mut redis = server.connection();
    let spec = spec(10, 1);

    let dump = |redis: &mut redis::Connection, name: &str| -> HashMap<String, String> {
        redis::cmd("HGETALL")
            .arg(RedisStore::breaker_key(name))
            .query(redis)
            .unwrap()
    };
    let refused = |result: Result<(), StoreError>, what: &str| {
        let error = result.unwrap_err();
        assert_eq!(
            error.kind(),
            StoreErrorKind::InvalidReply,
            "{what}: {error}"
        );
    };
    let all = async |name: &str| {
        refused(
            store.report(name, spec, 0, batch(0, 5)).await.map(drop),
            name,
        );
        refused(store.acquire_probe(name, spec).await.map(drop), name);
        refused(
            store
                .complete_probe(name, spec, 0, 1, ProbeOutcome::Failure)
                .await
                .map(drop),
            name,
        );
    };

    let list = RedisStore::breaker_key("list");
    let () = redis::cmd("RPUSH")
        .arg(&list)
        .arg("x")
        .query(&mut redis)
        .unwrap();
    all("list").await;
    let len: u64 = redis::cmd("LLEN").arg(&list).query(&mut redis).unwrap();
    assert_eq!(len, 1);

    // A hash that is not a breaker's state, and breaker states broken in
    // one field each (a state of 7; a ring chunk of the wrong length).
    let () = redis::cmd("HSET")
        .arg(RedisStore::breaker_key("other"))
        .arg(&["name", "not a breaker"])
        .query(&mut redis)
        .unwrap();
    // A valid state first, then broken.
    report(&store, "state", spec, 0, batch(3, 0)).await;
    report(&store, "chunk", spec, 0, batch(3, 0)).await;
    let () = redis::cmd("HSET")
        .arg(RedisStore::breaker_key("state"))
        .arg(&["s", "7"])
        .query(&mut redis)
        .unwrap();
    let () = redis::cmd("HSET")
        .arg(RedisStore::breaker_key("chunk"))
        .arg(&["r0", "oo"])
        .query(&mut redis)
        .unwrap();
    for name in ["other", "state", "chunk"] {
        let before = dump(&mut redis, name);
        let error = store.report(name, spec, 0, batch(0, 5)).await.unwrap_err();
        assert!(error.detail().contains("circuit breaker state"), "{error}");
        if name == "chunk" {
            // The ring is read only to record outcomes; the probe calls on a
            // closed breaker read the header alone, and write nothing.
            assert_eq!(
                acquire(&store, name, spec).await,
                ProbeGrant::Refused(closed(0))
            );
        } else {
            all(name).await;
        }
        assert_eq!(dump(&mut redis, name), before, "{name}");
    }

    // The store still decides for other keys.
    assert_eq!(
        report(&store, "fine", spec, 0, batch(1, 0)).await,
        closed(0)
    );
}

/// Nothing listens: every method fails as unavailable within the timeout.
/// A server that never answers: as a timeout.
#[tokio::test]
async fn a_server_down_fails_within_the_timeout() {
    const TIMEOUT: Duration = Duration::from_millis(100);
    // What a loaded two-core machine may add to a timeout.
    const SLACK: Duration = Duration::from_millis(150);
    let spec = spec(10, 1);
    let silent = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    for (port, kinds) in [
        (
            free_port(),
            &[StoreErrorKind::Unavailable, StoreErrorKind::Timeout][..],
        ),
        (silent_port, &[StoreErrorKind::Timeout][..]),
    ] {
        let store = RedisStore::new(&format!("redis://127.0.0.1:{port}"))
            .unwrap()
            .with_timeout(TIMEOUT);
        for method in 0..3 {
            let start = Instant::now();
            let result = match method {
                0 => store.report("down", spec, 0, batch(0, 1)).await.map(drop),
                1 => store.acquire_probe("down", spec).await.map(drop),
                _ => store
                    .complete_probe("down", spec, 1, 1, ProbeOutcome::Success)
                    .await
                    .map(drop),
            };
            let elapsed = start.elapsed();
            let kind = result.unwrap_err().kind();
            assert!(
                kinds.contains(&kind),
                "port {port}, method {method}: {kind:?}"
            );
            assert!(elapsed <= TIMEOUT + SLACK, "{elapsed:?}");
        }
    }
    drop(silent);
}
