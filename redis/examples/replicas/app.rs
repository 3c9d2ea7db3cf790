//! The replicas demo's parts: the policies every replica shares through
//! Redis, one replica's loop, and the parent that starts Redis and the
//! replicas and draws what they report.

use std::io::{self, BufRead, BufReader, Write};
use std::process::{Child, Command};
use std::sync::LazyLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use steadfast::store::OnStoreError;
use steadfast::{CircuitBreaker, RateLimiter, Rejected, circuit_breaker, rate_limit};
use steadfast_redis::RedisStore;

/// Replica processes.
pub(crate) const REPLICAS: usize = 3;
/// The shared limit: calls per second, and the burst.
pub(crate) const RATE: u32 = 60;
pub(crate) const BURST: u32 = 10;
/// Workers per replica, each asking every `ASK_EVERY`: about 300 asks a
/// second per replica, five times what the three may send together.
const WORKERS: usize = 3;
const ASK_EVERY: Duration = Duration::from_millis(10);

/// The run's length and its three phases (healthy, down, recovered), in
/// equal thirds, and the breaker's `open_for`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Options {
    pub(crate) seconds: u64,
    pub(crate) open_for: Duration,
}

impl Options {
    pub(crate) const FULL: Options = Options {
        seconds: 15,
        open_for: Duration::from_secs(1),
    };
    pub(crate) const SHORT: Options = Options {
        seconds: 6,
        open_for: Duration::from_millis(500),
    };

    /// Whether the upstream fails `elapsed` into the run (the middle third).
    fn down_at(&self, elapsed: Duration) -> bool {
        let third = Duration::from_secs(self.seconds) / 3;
        elapsed >= third && elapsed < 2 * third
    }

    pub(crate) fn phase(&self, second: u64) -> &'static str {
        let third = self.seconds / 3;
        match second {
            s if s < third => "healthy",
            s if s < 2 * third => "down",
            _ => "recovered",
        }
    }
}

/// The store every policy of this process keeps its state in: the URL the
/// parent passed (`STEADFAST_DEMO_REDIS`).
static STORE: LazyLock<RedisStore> = LazyLock::new(|| {
    let url = std::env::var("STEADFAST_DEMO_REDIS").expect("started by the demo's parent");
    RedisStore::new(&url).expect("a Redis URL")
});

/// One limit for the three replicas together: 60 calls a second.
static LIMIT: LazyLock<RateLimiter> = LazyLock::new(|| {
    RateLimiter::builder()
        .name("demo-upstream-quota")
        .rate(RATE)
        .burst(BURST)
        .store(&*STORE)
        .on_store_error(OnStoreError::Local)
        .build()
});

/// One breaker for the three: a window of the last 20 calls of any replica.
static BREAKER: LazyLock<CircuitBreaker> = LazyLock::new(|| {
    let open_for = std::env::var("STEADFAST_DEMO_OPEN_FOR_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map_or(Options::FULL.open_for, Duration::from_millis);
    CircuitBreaker::builder()
        .name("demo-upstream")
        .window_calls(20)
        .min_calls(10)
        .failure_ratio(0.5)
        .open_for(open_for)
        .store(&*STORE)
        .on_store_error(OnStoreError::Local)
        .sync_interval(Duration::from_millis(100))
        .build()
});

/// How a call ended.
#[derive(Debug)]
enum CallError {
    Upstream,
    Rejected(Rejected),
}

impl From<Rejected> for CallError {
    fn from(rejected: Rejected) -> Self {
        CallError::Rejected(rejected)
    }
}

/// The upstream, through both shared policies: an open breaker rejects
/// without spending a turn of the limit.
#[circuit_breaker(shared = &*BREAKER)]
#[rate_limit(shared = &*LIMIT)]
async fn upstream(down: bool) -> Result<(), CallError> {
    if down {
        Err(CallError::Upstream)
    } else {
        Ok(())
    }
}

/// One second of one replica: calls admitted (they reached the upstream),
/// rate-limited, rejected by the open breaker, failed; and the breaker's
/// state as this replica saw it at the end of the second.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Tick {
    pub(crate) admitted: u64,
    pub(crate) limited: u64,
    pub(crate) open: u64,
    pub(crate) failed: u64,
    pub(crate) state: String,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_millis() as u64
}

/// One replica: `WORKERS` workers ask until the run ends (`start_ms` on
/// the machine's clock, shared with the other replicas); one line a second
/// on stdout: `TICK second admitted limited open failed state`.
pub(crate) async fn replica(options: Options, start_ms: u64) {
    // The breaker's syncer (which reports outcomes and mirrors the shared
    // state) runs from a registered `'static`: `shared = &*BREAKER` names an
    // expression, which the attribute cannot register itself.
    BREAKER.register();
    let counts: &'static [std::sync::atomic::AtomicU64; 4] = Box::leak(Box::default());
    // Every replica starts asking at the same moment.
    tokio::time::sleep(Duration::from_millis(start_ms.saturating_sub(now_ms()))).await;
    let end_ms = start_ms + options.seconds * 1_000;
    let elapsed = move || Duration::from_millis(now_ms().saturating_sub(start_ms));
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            tokio::spawn(async move {
                while now_ms() < end_ms {
                    let slot = match upstream(options.down_at(elapsed())).await {
                        Ok(()) => 0,
                        Err(CallError::Upstream) => 3,
                        Err(CallError::Rejected(Rejected::RateLimited { .. })) => 1,
                        Err(CallError::Rejected(_)) => 2,
                    };
                    // A failed call was admitted too: it reached the upstream.
                    if slot == 3 {
                        counts[0].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    counts[slot].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tokio::time::sleep(ASK_EVERY).await;
                }
            })
        })
        .collect();
    for second in 1..=options.seconds {
        let at = start_ms + second * 1_000;
        tokio::time::sleep(Duration::from_millis(at.saturating_sub(now_ms()))).await;
        let [admitted, limited, open, failed] = counts
            .each_ref()
            .map(|c| c.swap(0, std::sync::atomic::Ordering::Relaxed));
        println!(
            "TICK {second} {admitted} {limited} {open} {failed} {}",
            BREAKER.state()
        );
    }
    for worker in workers {
        worker.await.expect("a worker");
    }
}

/// What the parent gathered: per second, each replica's tick.
#[derive(Debug, Clone, Default)]
pub(crate) struct Summary {
    pub(crate) ticks: Vec<[Tick; REPLICAS]>,
    pub(crate) elapsed: Duration,
}

impl Summary {
    pub(crate) fn admitted(&self) -> u64 {
        self.ticks.iter().flatten().map(|t| t.admitted).sum()
    }

    /// The most the shared limit lets through in the run.
    pub(crate) fn bound(&self) -> u64 {
        u64::from(BURST) + u64::from(RATE) * self.elapsed.as_millis() as u64 / 1_000
    }
}

/// Starts `REPLICAS` replicas (each made by `spawn`, given the Redis URL
/// and the start time through the environment), writes a row a second to
/// `out` and a summary at the end.
pub(crate) fn run(
    options: Options,
    url: &str,
    spawn: impl Fn() -> Command,
    out: &mut dyn Write,
) -> io::Result<Summary> {
    // A second to start the processes, then the run.
    let start_ms = now_ms() + 1_000;
    let children: Vec<Child> = (0..REPLICAS)
        .map(|_| {
            spawn()
                .env("STEADFAST_DEMO_REDIS", url)
                .env("STEADFAST_DEMO_START_MS", start_ms.to_string())
                .env("STEADFAST_DEMO_SECONDS", options.seconds.to_string())
                .env(
                    "STEADFAST_DEMO_OPEN_FOR_MS",
                    options.open_for.as_millis().to_string(),
                )
                .stdout(std::process::Stdio::piped())
                .spawn()
        })
        .collect::<io::Result<_>>()?;
    writeln!(
        out,
        "{REPLICAS} replicas share one limit of {RATE}/s (burst {BURST}) and one breaker through Redis at {url};\n\
         each asks about {}/s. The upstream is healthy, then down, then recovered.\n",
        WORKERS as u64 * 1_000 / ASK_EVERY.as_millis() as u64
    )?;
    writeln!(
        out,
        "{:>3}  {:<9}  {:>20}  {:>5}  {:>7}  {:>9}  breaker (per replica)",
        "s", "upstream", "admitted per replica", "total", "limited", "open-rej"
    )?;
    let mut lines: Vec<_> = children
        .into_iter()
        .map(|mut child| {
            let stdout = child.stdout.take().expect("piped");
            (child, BufReader::new(stdout).lines())
        })
        .collect();
    let mut summary = Summary::default();
    for second in 1..=options.seconds {
        let ticks: [Tick; REPLICAS] = std::array::from_fn(|i| read_tick(&mut lines[i].1, second));
        let admitted: Vec<String> = ticks.iter().map(|t| t.admitted.to_string()).collect();
        writeln!(
            out,
            "{second:>3}  {:<9}  {:>20}  {:>5}  {:>7}  {:>9}  {}",
            options.phase(second - 1),
            admitted.join(" + "),
            ticks.iter().map(|t| t.admitted).sum::<u64>(),
            ticks.iter().map(|t| t.limited).sum::<u64>(),
            ticks.iter().map(|t| t.open).sum::<u64>(),
            ticks
                .iter()
                .map(|t| t.state.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        )?;
        summary.ticks.push(ticks);
    }
    for (mut child, _) in lines {
        let status = child.wait()?;
        if !status.success() {
            return Err(io::Error::other(format!("a replica failed: {status}")));
        }
    }
    // Every admission happened between the start and now.
    summary.elapsed = Duration::from_millis(now_ms().saturating_sub(start_ms));
    let per_replica: Vec<u64> = (0..REPLICAS)
        .map(|i| summary.ticks.iter().map(|t| t[i].admitted).sum())
        .collect();
    writeln!(
        out,
        "\nadmitted {} in total ({per_replica:?} per replica); the shared limit allows at most {} \
         in {:.1} s ({BURST} + {RATE}/s), where three unshared limiters would have let {} through.",
        summary.admitted(),
        summary.bound(),
        summary.elapsed.as_secs_f64(),
        REPLICAS as u64 * summary.bound(),
    )?;
    Ok(summary)
}

fn read_tick(lines: &mut io::Lines<BufReader<std::process::ChildStdout>>, second: u64) -> Tick {
    for line in lines.by_ref() {
        let line = line.unwrap_or_default();
        let Some((_, rest)) = line.split_once("TICK ") else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.len() == 6 && fields[0] == second.to_string() {
            let n = |i: usize| fields[i].parse().unwrap_or(0);
            return Tick {
                admitted: n(1),
                limited: n(2),
                open: n(3),
                failed: n(4),
                state: fields[5].to_owned(),
            };
        }
    }
    Tick {
        state: "gone".to_owned(),
        ..Tick::default()
    }
}
