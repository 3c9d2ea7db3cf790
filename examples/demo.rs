//! steadfast in the terminal: a flaky in-process "pricing service" called
//! through `#[fallback]`, `#[retry]` and `#[timeout]`.
//!
//! Run it with `cargo run --example demo`. Each scenario scripts the service's
//! next answers (a 503, a 429 with `Retry-After`, a slow answer, a 404), makes
//! one call, and prints how many attempts it took, how long, and what came
//! back. No network; it finishes in about a second and a half.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use steadfast::{Rejected, fallback, retry, timeout};

/// What the service does on one call.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// Answers at once.
    Healthy,
    /// 503: worth another try.
    Unavailable,
    /// 429, with a `Retry-After` of this many milliseconds.
    RateLimited(u64),
    /// Answers after this many milliseconds.
    Slow(u64),
    /// 404: asking again will not help.
    NotFound,
}

/// The errors a client sees.
#[derive(Debug, thiserror::Error)]
enum ApiError {
    #[error("503 service unavailable")]
    Unavailable,
    #[error("429 too many requests, retry after {retry_after:?}")]
    RateLimited { retry_after: Duration },
    #[error("404 no price for {0:?}")]
    NotFound(String),
    /// A policy gave up on the call (here: a timeout).
    #[error(transparent)]
    Rejected(#[from] Rejected),
}

impl ApiError {
    /// Whether another attempt, or the cache, may help.
    fn is_transient(&self) -> bool {
        !matches!(self, ApiError::NotFound(_))
    }

    /// The server's hint, used instead of the computed backoff.
    fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::RateLimited { retry_after } => Some(*retry_after),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Source {
    Live,
    Cache,
}

#[derive(Debug, Clone, Copy)]
struct Price {
    cents: u32,
    source: Source,
}

/// The stand-in for a remote service: call `n` follows `script[n]`, and every
/// call past the end of the script is healthy.
struct PricingService {
    script: &'static [Fault],
    calls: AtomicU32,
}

impl PricingService {
    async fn get_price(&self, sku: &str) -> Result<Price, ApiError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) as usize;
        match self.script.get(n).copied().unwrap_or(Fault::Healthy) {
            Fault::Healthy => {}
            Fault::Unavailable => return Err(ApiError::Unavailable),
            Fault::RateLimited(ms) => {
                return Err(ApiError::RateLimited {
                    retry_after: Duration::from_millis(ms),
                });
            }
            Fault::Slow(ms) => tokio::time::sleep(Duration::from_millis(ms)).await,
            Fault::NotFound => return Err(ApiError::NotFound(sku.to_string())),
        }
        Ok(Price {
            cents: 1250,
            source: Source::Live,
        })
    }
}

struct Client {
    service: PricingService,
}

impl Client {
    /// 150 ms per attempt; up to 4 attempts, 50 ms apart and doubling, or as
    /// long as a 429 asks (at most 400 ms); the last known price if every
    /// attempt failed for a transient reason.
    ///
    /// `jitter = none` keeps the demo's timings readable; in production, keep
    /// the default (`full`) so that clients do not retry in lock-step.
    #[fallback(|e| self.last_known(sku).ok_or(e), when = ApiError::is_transient)]
    #[retry(
        attempts = 4,
        backoff = exponential("50ms", factor = 2.0, max = "400ms"),
        jitter = none,
        when = ApiError::is_transient,
        delay_from = ApiError::retry_after
    )]
    #[timeout("150ms")]
    async fn price(&self, sku: &str) -> Result<Price, ApiError> {
        self.service.get_price(sku).await
    }

    /// 250 ms for the whole call, retries included: the timeout is on top.
    #[timeout("250ms")]
    #[retry(attempts = 5, backoff = fixed("100ms"), jitter = none)]
    async fn quote(&self, sku: &str) -> Result<Price, ApiError> {
        self.service.get_price(sku).await
    }

    fn last_known(&self, sku: &str) -> Option<Price> {
        (sku == "espresso").then_some(Price {
            cents: 1190,
            source: Source::Cache,
        })
    }
}

/// Which client method a scenario calls.
#[derive(Debug, Clone, Copy)]
enum Call {
    Price,
    Quote,
}

struct Scenario {
    what: &'static str,
    call: Call,
    sku: &'static str,
    script: &'static [Fault],
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        what: "healthy",
        call: Call::Price,
        sku: "espresso",
        script: &[],
    },
    Scenario {
        what: "two 503s, then ok",
        call: Call::Price,
        sku: "espresso",
        script: &[Fault::Unavailable, Fault::Unavailable],
    },
    Scenario {
        what: "429 with Retry-After: 300ms",
        call: Call::Price,
        sku: "espresso",
        script: &[Fault::RateLimited(300)],
    },
    Scenario {
        what: "first answer too slow (500ms)",
        call: Call::Price,
        sku: "espresso",
        script: &[Fault::Slow(500)],
    },
    Scenario {
        what: "unknown product (404)",
        call: Call::Price,
        sku: "oolong",
        script: &[Fault::NotFound],
    },
    Scenario {
        what: "down for good (503 x 4)",
        call: Call::Price,
        sku: "espresso",
        script: &[Fault::Unavailable; 4],
    },
    Scenario {
        what: "503s past the 250ms call limit",
        call: Call::Quote,
        sku: "espresso",
        script: &[Fault::Unavailable; 5],
    },
];

#[derive(Default)]
struct Summary {
    calls: u32,
    attempts: u32,
    live: u32,
    cached: u32,
    errors: u32,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    println!("A flaky pricing service, called through two stacks of attributes:");
    println!();
    println!("  price: #[fallback(last known price, when = transient)]");
    println!("         #[retry(attempts = 4, exponential 50ms..400ms, honours Retry-After)]");
    println!("         #[timeout(\"150ms\")]    <- below #[retry]: per attempt");
    println!("  quote: #[timeout(\"250ms\")]    <- above #[retry]: the whole call");
    println!("         #[retry(attempts = 5, fixed 100ms)]");
    println!();
    println!(
        " #  {:<5}  {:<33} {:>8} {:>9}  outcome",
        "call", "scenario", "attempts", "elapsed"
    );

    let started = Instant::now();
    let mut summary = Summary::default();
    for (i, scenario) in SCENARIOS.iter().enumerate() {
        let client = Client {
            service: PricingService {
                script: scenario.script,
                calls: AtomicU32::new(0),
            },
        };
        let start = Instant::now();
        let result = match scenario.call {
            Call::Price => client.price(scenario.sku).await,
            Call::Quote => client.quote(scenario.sku).await,
        };
        let elapsed = start.elapsed();
        let attempts = client.service.calls.load(Ordering::SeqCst);

        summary.calls += 1;
        summary.attempts += attempts;
        let outcome = match result {
            Ok(price) => {
                match price.source {
                    Source::Live => summary.live += 1,
                    Source::Cache => summary.cached += 1,
                }
                let source = match price.source {
                    Source::Live => "live",
                    Source::Cache => "last known, from the fallback",
                };
                format!(
                    "ok: ${}.{:02} ({source})",
                    price.cents / 100,
                    price.cents % 100
                )
            }
            Err(error) => {
                summary.errors += 1;
                format!("error: {error}")
            }
        };
        println!(
            "{:>2}  {:<5}  {:<33} {:>8} {:>6} ms  {outcome}",
            i + 1,
            match scenario.call {
                Call::Price => "price",
                Call::Quote => "quote",
            },
            scenario.what,
            attempts,
            elapsed.as_millis(),
        );
    }

    println!();
    println!(
        "{} calls, {} attempts: {} ok from the service, {} from the fallback, {} errors, in {} ms",
        summary.calls,
        summary.attempts,
        summary.live,
        summary.cached,
        summary.errors,
        started.elapsed().as_millis()
    );
}
