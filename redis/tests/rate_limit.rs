//! The shared rate limiter against a real `redis-server` (one per test, on a
//! free port). Real time: counts are exact, durations have tolerances.

mod support;

use std::time::{Duration, Instant};

use steadfast_redis::RedisStore;
use steadfast_runtime::store::{RateDecision, RateSpec, RateStore, StoreErrorKind};
use support::{RedisServer, server_time_us};

const SECOND: Duration = Duration::from_secs(1);

fn store(server: &RedisServer) -> RedisStore {
    // Generous: the tests share two cores with the build and each other.
    RedisStore::new(&server.url())
        .expect("a valid URL")
        .with_timeout(Duration::from_secs(2))
}

async fn take(store: &RedisStore, name: &str, spec: RateSpec) -> RateDecision {
    store.take(name, spec).await.expect("a decision")
}

/// The burst passes back to back, the next call is rejected with the time to
/// the next turn, and a call made that much later is admitted.
#[tokio::test]
async fn burst_then_rejection_with_the_time_to_the_next_turn() {
    let server = RedisServer::start();
    let store = store(&server);
    // 10 per second (a turn every 100 ms), 5 back to back.
    let spec = RateSpec::new(10, SECOND, 5, Duration::ZERO);
    let start = Instant::now();
    for call in 0..5 {
        assert_eq!(
            take(&store, "burst", spec).await,
            RateDecision::Admitted,
            "call {call}"
        );
    }
    let RateDecision::Rejected { retry_after } = take(&store, "burst", spec).await else {
        panic!("the call after the burst is rejected");
    };
    let elapsed = start.elapsed();
    // The bucket's first turn freed up 100 ms after the first call.
    assert!(retry_after <= Duration::from_millis(100), "{retry_after:?}");
    assert!(
        retry_after + elapsed >= Duration::from_millis(100),
        "{retry_after:?} after {elapsed:?}"
    );
    // A rejection changes nothing: asked again, the next turn is no further.
    let RateDecision::Rejected { retry_after: again } = take(&store, "burst", spec).await else {
        panic!("still over the limit");
    };
    assert!(again <= retry_after);
    tokio::time::sleep(again).await;
    assert_eq!(take(&store, "burst", spec).await, RateDecision::Admitted);
    assert!(matches!(
        take(&store, "burst", spec).await,
        RateDecision::Rejected { .. }
    ));
    // Another name is another limiter, full.
    assert_eq!(take(&store, "other", spec).await, RateDecision::Admitted);
}

/// Two stores (two replicas, each on its own runtime and connection) share
/// one limit: driven hard for 1.5 s, together they take at most
/// `burst + rate × t / per` turns, and at least 95 % of that.
#[test]
fn two_replicas_share_one_limit() {
    let server = RedisServer::start();
    let spec = RateSpec::new(200, SECOND, 20, Duration::ZERO);
    let run_for = Duration::from_millis(1500);
    let mut clock = server.connection();
    let started = server_time_us(&mut clock);
    let replicas: Vec<_> = (0..2)
        .map(|_| {
            let url = server.url();
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async move {
                    let store = RedisStore::new(&url)
                        .unwrap()
                        .with_timeout(Duration::from_secs(2));
                    let deadline = Instant::now() + run_for;
                    // Four callers per replica, each asking back to back.
                    let store = &store;
                    let callers = (0..4).map(move |_| async move {
                        let (mut admitted, mut rejected) = (0_u64, 0_u64);
                        while Instant::now() < deadline {
                            match take(store, "shared", spec).await {
                                RateDecision::Admitted => admitted += 1,
                                RateDecision::Rejected { .. } => rejected += 1,
                                RateDecision::Wait(d) => panic!("no waiting allowed: {d:?}"),
                            }
                        }
                        (admitted, rejected)
                    });
                    let counts = futures_join_all(callers).await;
                    counts
                        .into_iter()
                        .fold((0, 0), |(a, r), (x, y)| (a + x, r + y))
                })
            })
        })
        .collect();
    let counts: Vec<(u64, u64)> = replicas.into_iter().map(|r| r.join().unwrap()).collect();
    let ended = server_time_us(&mut clock);
    let admitted: u64 = counts.iter().map(|c| c.0).sum();
    let rejected: u64 = counts.iter().map(|c| c.1).sum();
    let t_us = ended - started;
    // burst + floor(rate × t / per), t in server µs.
    let bound = 20 + 200 * t_us / 1_000_000;
    eprintln!(
        "two replicas: {admitted} admitted ({:?} per replica), {rejected} rejected, \
         bound {bound} over {t_us} µs",
        counts
    );
    assert!(admitted <= bound, "{admitted} admitted > bound {bound}");
    assert!(
        admitted * 100 >= bound * 95,
        "{admitted} admitted < 95 % of {bound}"
    );
    assert!(rejected > admitted, "driven hard: {rejected} rejections");
    assert!(
        counts.iter().all(|c| c.0 > 0),
        "both replicas admitted calls"
    );
}

/// Joins futures on the current task (no extra dependency for it).
async fn futures_join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut set = Vec::new();
    for future in futures {
        set.push(Box::pin(future));
    }
    let mut outputs: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in set.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(Option::unwrap).collect()
}

/// Waiters reserve consecutive turns, in the order they asked, up to
/// `max_wait`; the next call is rejected with the time to the first turn
/// after theirs.
#[tokio::test]
async fn waiters_reserve_consecutive_turns_in_order() {
    let server = RedisServer::start();
    let store = store(&server);
    // A turn every 100 ms, one back to back, waiting up to 1 s.
    let spec = RateSpec::new(10, SECOND, 1, SECOND);
    // The server decides each call at some moment between the client's
    // asking and its reply: each turn is checked within those bounds, so
    // that a slow round trip (a loaded machine) cannot fail the test, and
    // a turn off by more than the round trip does.
    let asked_first = Instant::now();
    assert_eq!(take(&store, "queue", spec).await, RateDecision::Admitted);
    let replied_first = Instant::now();
    let mut turns = Vec::new();
    loop {
        let asked = Instant::now();
        let decision = take(&store, "queue", spec).await;
        let replied = Instant::now();
        let (after, last) = match decision {
            RateDecision::Wait(wait) => (wait, false),
            RateDecision::Rejected { retry_after } => (retry_after, true),
            RateDecision::Admitted => panic!("no turn is free"),
        };
        // The turn, after the first call, is within these bounds.
        turns.push((
            (asked + after).saturating_duration_since(replied_first),
            (replied + after) - asked_first,
        ));
        if last {
            break;
        }
    }
    // Ten waiters (turns at 100 ms … 1 s), then a rejection whose next free
    // turn is 1.1 s after the first call. A µs of slack: the server counts
    // whole microseconds.
    assert_eq!(turns.len(), 11, "{turns:?}");
    let slack = Duration::from_micros(1);
    for (i, &(earliest, latest)) in turns.iter().enumerate() {
        let expected = Duration::from_millis(100 * (i as u64 + 1));
        assert!(
            earliest <= expected + slack && expected <= latest + slack,
            "turn {i}: expected {expected:?} within [{earliest:?}, {latest:?}]"
        );
    }
}

/// 3 per second is 333,333⅓ µs a turn, counted exactly: after 30
/// reservations the TAT is exactly 10 s (in µs, fraction 0) past the first
/// call's clock reading, and in real time a limiter asked every 10 ms for
/// 2.25 s admits exactly 1 + floor(3 × 2.25) = 7 calls (a late poll only
/// moves later turns later: with a burst of 1 the count can only drop, and
/// the seventh turn has 250 ms of slack).
#[tokio::test]
async fn a_fractional_rate_is_counted_exactly() {
    let server = RedisServer::start();
    let store = store(&server);
    let mut redis = server.connection();
    let key = RedisStore::rate_key("thirds");

    // The stored state, exactly.
    let reserve = RateSpec::new(3, SECOND, 1, Duration::from_secs(10));
    assert_eq!(
        take(&store, "thirds", reserve).await,
        RateDecision::Admitted
    );
    let state = |redis: &mut redis::Connection| -> (u64, u64, u64) {
        redis::cmd("HMGET")
            .arg(&key)
            .arg(&["t", "f", "r"])
            .query(redis)
            .unwrap()
    };
    let (t1, f1, r) = state(&mut redis);
    assert_eq!((f1, r), (1, 3), "one turn: 333,333 µs and 1/3");
    let origin = t1 - 333_333;
    for n in 2..=30_u64 {
        let decision = take(&store, "thirds", reserve).await;
        assert!(
            matches!(decision, RateDecision::Wait(_)),
            "call {n}: {decision:?}"
        );
        let (t, f, _) = state(&mut redis);
        // n turns past the origin: n × 333,333 µs + n/3 µs.
        assert_eq!(
            (t, f),
            (origin + n * 333_333 + n / 3, n % 3),
            "after {n} turns"
        );
    }
    assert_eq!(state(&mut redis).0, origin + 10_000_000);

    // In real time.
    let spec = RateSpec::new(3, SECOND, 1, Duration::ZERO);
    let start = Instant::now();
    let mut admitted = 0;
    while start.elapsed() < Duration::from_millis(2250) {
        if take(&store, "thirds-live", spec).await == RateDecision::Admitted {
            admitted += 1;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(admitted, 7, "turns at 0, ⅓, ⅔, 1, 1⅓, 1⅔, 2 s");
}

/// An idle limiter's key expires when its bucket is full again, and the
/// limiter then starts full.
#[tokio::test]
async fn an_idle_key_expires_when_the_bucket_is_full_again() {
    let server = RedisServer::start();
    let store = store(&server);
    let mut redis = server.connection();
    let key = RedisStore::rate_key("idle");
    // A turn every 10 ms, 10 back to back: full again 100 ms after the burst.
    let spec = RateSpec::new(100, SECOND, 10, Duration::ZERO);
    for _ in 0..10 {
        assert_eq!(take(&store, "idle", spec).await, RateDecision::Admitted);
    }
    let ttl: i64 = redis::cmd("PTTL").arg(&key).query(&mut redis).unwrap();
    assert!((1..=101).contains(&ttl), "PTTL {ttl} ms");
    tokio::time::sleep(Duration::from_millis(150)).await;
    let exists: bool = redis::cmd("EXISTS").arg(&key).query(&mut redis).unwrap();
    assert!(!exists, "the key outlived its bucket");
    // A full burst again: admissions until the first refusal number the
    // burst, plus at most the turns that came back while they were made (the
    // machine may be slow; the count is bounded, never exact in real time).
    let start = std::time::Instant::now();
    let mut admitted = 0_u128;
    while take(&store, "idle", spec).await == RateDecision::Admitted {
        admitted += 1;
        assert!(admitted < 1_000, "never refused");
    }
    let refilled = start.elapsed().as_millis() / 10 + 1;
    assert!(
        (10..=10 + refilled).contains(&admitted),
        "{admitted} admitted from a full bucket of 10 (in {:?})",
        start.elapsed()
    );
}

/// A key holding something else is an invalid reply, and is left alone.
#[tokio::test]
async fn a_key_holding_something_else_is_an_invalid_reply() {
    let server = RedisServer::start();
    let store = store(&server);
    let mut redis = server.connection();
    let spec = RateSpec::new(10, SECOND, 1, Duration::ZERO);

    let list = RedisStore::rate_key("list");
    let () = redis::cmd("RPUSH")
        .arg(&list)
        .arg("x")
        .query(&mut redis)
        .unwrap();
    let error = store.take("list", spec).await.unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::InvalidReply, "{error}");
    let len: u64 = redis::cmd("LLEN").arg(&list).query(&mut redis).unwrap();
    assert_eq!(len, 1);

    let hash = RedisStore::rate_key("hash");
    let () = redis::cmd("HSET")
        .arg(&hash)
        .arg(&["t", "soon", "f", "0", "r", "10"])
        .query(&mut redis)
        .unwrap();
    let error = store.take("hash", spec).await.unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::InvalidReply, "{error}");
    assert!(error.detail().contains("rate limiter state"), "{error}");

    // The store still decides for other keys.
    assert_eq!(take(&store, "fine", spec).await, RateDecision::Admitted);
}

/// A limiter whose settings change (a deploy with a new rate) keeps its
/// TAT: the fraction counted in the old rate's units is rounded up to the
/// next whole µs, and the new rate's fractions are counted from there.
#[tokio::test]
async fn a_new_rate_keeps_the_tat_rounded_up_to_the_microsecond() {
    let server = RedisServer::start();
    let store = store(&server);
    let mut redis = server.connection();
    let key = RedisStore::rate_key("reconfigured");
    let state = |redis: &mut redis::Connection| -> (u64, u64, u64) {
        redis::cmd("HMGET")
            .arg(&key)
            .arg(&["t", "f", "r"])
            .query(redis)
            .unwrap()
    };
    let thirds = RateSpec::new(3, SECOND, 1, Duration::from_secs(5));
    assert_eq!(
        take(&store, "reconfigured", thirds).await,
        RateDecision::Admitted
    );
    let (t, f, r) = state(&mut redis);
    assert_eq!((f, r), (1, 3));
    // 7 per second: a turn of 142,857 µs and 1/7; reserved after the TAT
    // rounded up to t + 1.
    let sevenths = RateSpec::new(7, SECOND, 1, Duration::from_secs(5));
    assert!(matches!(
        take(&store, "reconfigured", sevenths).await,
        RateDecision::Wait(_)
    ));
    assert_eq!(state(&mut redis), (t + 1 + 142_857, 1, 7));
}
