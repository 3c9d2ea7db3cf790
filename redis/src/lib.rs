//! Redis backend for [`steadfast`](https://docs.rs/steadfast): rate limits
//! and circuit breakers shared by every process that points at one Redis
//! server.
//!
//! A service running as four replicas, each allowed 100 calls/s, sends 400
//! calls/s to an upstream that accepts 100. With a [`RedisStore`], the
//! replicas' limiters keep their state in Redis under the limiter's name, so
//! the four share one limit of 100 calls/s. The in-process state stays the
//! default; this crate is what the runtime's
//! [`RateStore`](steadfast_runtime::store::RateStore) and
//! [`BreakerStore`](steadfast_runtime::store::BreakerStore) traits are
//! implemented by, and the runtime never depends on it (see [Shared circuit
//! breaker](#shared-circuit-breaker) for the second).
//!
//! ```no_run
//! use std::time::Duration;
//! use steadfast_redis::RedisStore;
//! use steadfast_runtime::store::{RateDecision, RateSpec, RateStore};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Nothing is connected yet: the first call connects.
//! let store = RedisStore::new("redis://127.0.0.1:6379")?.with_timeout(Duration::from_millis(50));
//! // 100 calls per second shared by every process using the name "upstream",
//! // 10 back to back, waiting up to 20 ms for a turn.
//! let spec = RateSpec::new(100, Duration::from_secs(1), 10, Duration::from_millis(20));
//! match store.take("upstream", spec).await? {
//!     RateDecision::Admitted => { /* call the upstream */ }
//!     RateDecision::Wait(turn) => {
//!         tokio::time::sleep(turn).await;
//!         /* call the upstream */
//!     }
//!     RateDecision::Rejected { retry_after } => println!("over the limit; retry in {retry_after:?}"),
//! }
//! # Ok(()) }
//! ```
//!
//! Most users do not call the store: they hand it to a rate limiter
//! (`RateLimiter::builder().store(…)`), which asks it for each call and
//! follows its `on_store_error` when Redis fails.
//!
//! # What is shared
//!
//! One Redis hash per limiter *name*, `steadfast:rl:{name}`
//! ([`RedisStore::rate_key`]): every process whose limiter carries that name
//! takes its turns from the same bucket, whatever the process, and its
//! settings should be the same everywhere (a call is decided with the
//! settings of the process that makes it). The hash holds one number, the
//! GCRA theoretical arrival time (TAT): the moment the bucket is full again.
//!
//! # One round trip, one script
//!
//! Each decision is one `EVALSHA` of a Lua script (`src/rate.lua`) that
//! reads the TAT, decides, and writes it back, atomically on the server; a
//! server that lost its script cache (a restart) gets the script once more
//! through redis-rs' `NOSCRIPT` fallback. The semantics are the in-process
//! limiter's:
//!
//! - in any interval `t`, at most `burst + floor(rate × t / per)` turns are
//!   taken, exactly, even for 3 per second; a new limiter starts full;
//! - a call whose turn comes within `max_wait` reserves it in the script and
//!   gets [`Wait`](steadfast_runtime::store::RateDecision::Wait) (the time to
//!   its turn); waiters get their turns in the order their scripts ran;
//! - otherwise it is
//!   [`Rejected`](steadfast_runtime::store::RateDecision::Rejected), changes
//!   nothing, and `retry_after` is the time to the next free turn, the turns
//!   reserved by waiters included.
//!
//! # Time is the server's
//!
//! The script reads the time with Redis `TIME`, never from a client:
//! replicas' clocks disagree, and a limiter deciding with each caller's
//! clock admits more than its limit whenever they do. Durations returned
//! (`Wait`, `retry_after`) are differences of server times, so they mean the
//! same on every client. A step of the *server's* clock (it is a wall clock)
//! moves every limiter at once: forward admits early, backward admits late.
//! `TIME` inside a script needs Redis 5 or later (3.2–4.x work too: the
//! script asks for effects replication); some managed offerings refuse it
//! (ElastiCache Serverless).
//!
//! # Keys
//!
//! The script touches one key, declared in `KEYS` and hash-tagged by the
//! limiter's name, so it runs on Redis Cluster. The key is given a `PEXPIRE`
//! that ends when its bucket is full again: an idle limiter leaves nothing
//! behind, and a missing key reads as the full bucket it stands for. A key
//! of that name that holds anything else (another type, or a hash that is
//! not a limiter's state) is an
//! [`InvalidReply`](steadfast_runtime::store::StoreErrorKind::InvalidReply),
//! never overwritten.
//!
//! # Exactness
//!
//! Lua's numbers are doubles, exact for integers below 2^53. Times are
//! microseconds (the clock is about 2^50.6 µs since 1970), and a turn,
//! `per / rate`, is whole µs plus a fraction counted in `1 / rate` µs; the
//! client computes a turn and the burst's capacity exactly (in 128-bit
//! integers) and the script only adds, subtracts and compares these pairs,
//! so every number it handles stays below 2^53 (below 2^33 for fractions).
//! That needs the horizon, `burst × per / rate + max_wait`, to be at most
//! 2^51 µs (71 years); a spec beyond it is refused with `InvalidReply`.
//! `per` is rounded up to the microsecond and `max_wait` down: a setting
//! finer than a microsecond makes the shared limit stricter, never looser.
//! The argument in full is in the script's comments (`src/rate.lua`).
//!
//! # Batched mode
//!
//! [`take_many`](steadfast_runtime::store::RateStore::take_many) runs the
//! same script with a count n (at most 1024): it takes the most turns k ≤ n
//! that are free now (a bisection over k, every step in the same exact
//! arithmetic) and answers k, or the time to the next free turn. A limiter
//! built with `.batch(n)` uses it to admit up to n calls per round trip; the
//! turns it holds were taken from the shared bucket when granted, so N
//! processes admit at most `burst + rate × t / per + N × (n − 1)` in any
//! interval t (see `RateLimiterBuilder::batch`).
//!
//! # Shared circuit breaker
//!
//! [`BreakerStore`](steadfast_runtime::store::BreakerStore) keeps one
//! breaker's window and state for every process that uses its name: four
//! replicas see one failure ratio over their calls together, open together,
//! and probe the dependency with `half_open_probes` calls cluster-wide, not
//! per replica. The breaker's syncer in the runtime calls the three methods
//! (report its outcomes, acquire a probe lease, complete it); a user does
//! not.
//!
//! - **The key.** One hash per breaker name, `steadfast:cb:{name}`
//!   ([`RedisStore::breaker_key`]), declared in `KEYS` and hash-tagged:
//!   Redis Cluster safe. It holds the state (closed, open, half-open), the
//!   generation, `open_until`, the window, the failure run, the half-open
//!   successes and the probe leases.
//! - **One script.** Each call is one `EVALSHA` of `src/breaker.lua` (one
//!   round trip, atomic on the server), with the server's clock (`TIME`, µs),
//!   never a client's. A report records its outcomes and, if the breaker is
//!   closed in the reported generation, opens it when `calls ≥ min_calls`
//!   and `failures ≥ ceil(failure_ratio × calls)` (or slow calls reach
//!   `slow_ratio`), or the failure run reaches `consecutive_failures`.
//! - **The window.** A count window of n keeps the last n outcomes from
//!   every process, as a ring of one character per outcome in chunks of 256
//!   with running counts: a report of k outcomes costs O(min(k, n)) string
//!   work, whatever n (at most 2^20). A time window is ten buckets of a tenth
//!   of it on the server's clock; a report goes to the current bucket and
//!   expired buckets leave the tally. A window kept under other window
//!   settings starts afresh.
//! - **Fencing.** Every state change moves the generation one on. Outcomes
//!   reported for another generation, or while the breaker is not closed,
//!   are dropped; a probe's result counts only if the breaker is still
//!   half-open in the lease's generation and the lease is still valid. A late
//!   or duplicated result moves nothing.
//! - **Leases.** An open breaker whose `open_for` has passed turns half-open
//!   on the first `acquire_probe` and grants leases while valid leases plus
//!   successes are fewer than `half_open_probes` (exactly that many, however
//!   many processes race). A lease expires `probe_lease` after its grant: a
//!   process that died holding one blocks its slot that long. The success
//!   that makes `half_open_probes` closes with a fresh window; any failure
//!   reopens with a new `open_until`; a release frees the slot.
//! - **Exactness.** Counts, generations and times are integers below 2^53,
//!   exact in Lua's doubles; `ceil(ppm × calls / 10⁶)` is split so that no
//!   product reaches 2^53. `open_for` is rounded up to the µs, `probe_lease`
//!   down; durations beyond 2^51 µs are refused. The argument is in the
//!   script's comments.
//! - **Expiry.** Every write sets the key's `PEXPIRE` to
//!   `max(24 h, open_for + probe_lease, window) + 1 s`: it never expires
//!   while it holds an open period, a lease or a window, and an idle
//!   breaker's state goes after a day. A missing key reads as a fresh closed
//!   breaker of generation 0. A read (a report without outcomes) writes
//!   nothing.
//! - **Foreign contents.** A key of that name that holds anything else is an
//!   [`InvalidReply`](steadfast_runtime::store::StoreErrorKind::InvalidReply),
//!   checked before anything is written, so it is never overwritten.
//!
//! # Failures
//!
//! Every call is bounded by the store's timeout (default 100 ms), connecting
//! included, and fails with a
//! [`StoreError`](steadfast_runtime::store::StoreError) whose kind says what
//! happened: `Unavailable` (refused, reset, server loading…), `Timeout`, or
//! `InvalidReply`. The store connects lazily and reconnects after a loss on
//! the next call, without being rebuilt. A call dropped before its reply may
//! or may not have taken its turn: a turn taken is lost, the limit still
//! holds. Likewise a breaker's report may or may not have been recorded
//! (entirely or not at all), and a probe lease granted to a dropped call
//! blocks its slot until `probe_lease` has passed.

#![forbid(unsafe_code)]

mod breaker;
mod error;
mod rate;
mod scripts;
mod store;

pub use store::{DEFAULT_TIMEOUT, RedisStore};
