//! steadfast against a real HTTP server.
//!
//! `cargo run --example demo` starts a small shop API on 127.0.0.1 (axum, on
//! an ephemeral port) that goes through four phases: healthy, flaky (5xx
//! errors, 429s with `Retry-After`, slow answers), down (503s, and a stock
//! service that hangs) and recovering. The same port serves three more
//! services: three warehouses, of which one (`east`) goes down with the shop
//! while the others stay up, a carrier's shipping quotes, a partner API
//! that answers 429 beyond 10 requests a second, and the product reviews,
//! which answer every 20th request in 300 ms. A client calls them over
//! HTTP from concurrent workers, through `async fn`s that carry
//! `#[fallback]`, `#[retry]`, `#[circuit_breaker]` (one of them keyed per
//! warehouse, `key = warehouse`), `#[timeout]`, `#[bulkhead]`,
//! `#[rate_limit]` (8 quotes a second, so that the carrier's quota is never
//! exceeded) and `#[hedge]` (the reviews, read both plainly and hedged)
//! (`shop.rs`). Every second the terminal shows each function's
//! calls, successes, fallbacks, retries and rejections (totals since the
//! start), the calls that waited for their turn at the rate limiter, the
//! carrier's count and 429s, and the breakers' states, each warehouse's
//! included, and the reviews' p50/p99 with and without the hedge; at the end
//! (25 s by default) it prints a summary (the reviews' p50/p99 included) and
//! the policies' health.
//!
//! `--help` lists the flags; `tests/demo.rs` runs the `--short` mode.

mod app;
mod ops;
mod server;
mod shop;

use std::process::ExitCode;
use std::time::Duration;

use app::{Options, View};

const USAGE: &str = "\
steadfast demo: a real HTTP server on 127.0.0.1 goes healthy -> flaky -> down ->
recovering, while a client calls it through #[fallback], #[retry],
#[circuit_breaker], #[timeout], #[bulkhead] and #[rate_limit]. Two more
services answer on the same port: three warehouses, one of which (east) is down
with the shop while the others stay up, called through a breaker per warehouse
(#[circuit_breaker(key = warehouse)]); and a carrier's quote API that answers
429 beyond 10 requests a second, called through #[rate_limit(rate = 8,
burst = 1, max_wait = \"250ms\")], which keeps the client within the quota.
A last one, the product reviews, answers in 10-25 ms but every 20th request in
300 ms; the client reads it plainly and through #[hedge(after = \"30ms\")], and
the summary prints the p50/p99 of both.

Usage: cargo run --example demo -- [OPTIONS]

Options:
      --duration <SECS>    Total run time, at least 5 s, split 12% healthy,
                           24% flaky, 26% down, 38% recovering [default: 25]
      --short              A 6-second run (what tests/demo.rs runs)
      --error-rate <RATE>  Share of /price and /reserve requests that fail
                           (503, 500, or 429 with Retry-After) while flaky,
                           0 to 1 [default: 0.25]
      --spike-rate <RATE>  Share of requests answered slowly while flaky,
                           0 to 1 [default: 0.05]
      --latency-ms <MS>    How long a slow answer takes; the client's timeouts
                           are 250 ms (stock) and 300 ms (price) [default: 400]
      --plain              Plain rows instead of the live view, one per function
                           each second, at most 100 columns (the default when
                           stdout is not a terminal)
  -h, --help               Print this help
";

#[tokio::main]
async fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n(--help lists the options)");
            return ExitCode::from(2);
        }
    };
    match app::run(&options, &mut std::io::stdout()).await {
        Ok(_summary) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: could not start the demo server: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The options from the command line, or `None` for `--help`.
fn parse(args: impl Iterator<Item = String>) -> Result<Option<Options>, String> {
    let mut options = Options::full();
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_string(), Some(value.to_string())),
            None => (arg, None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--short" => options.duration = Options::SHORT_DURATION,
            "--plain" => options.view = View::Lines,
            "--duration" => {
                let secs: f64 = number(&value("--duration")?, "--duration")?;
                let duration = Duration::try_from_secs_f64(secs)
                    .map_err(|_| format!("--duration: {secs} is not a duration in seconds"))?;
                if duration < Options::MIN_DURATION {
                    return Err(format!(
                        "--duration must be at least {} s: the breakers stay open 1 s before \
                         they probe, and the phases need room for that",
                        Options::MIN_DURATION.as_secs()
                    ));
                }
                options.duration = duration;
            }
            "--error-rate" => {
                options.faults.error_rate = rate(&value("--error-rate")?, "--error-rate")?
            }
            "--spike-rate" => {
                options.faults.spike_rate = rate(&value("--spike-rate")?, "--spike-rate")?
            }
            "--latency-ms" => {
                let ms: u64 = number(&value("--latency-ms")?, "--latency-ms")?;
                options.faults.latency = Duration::from_millis(ms);
            }
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    if options.faults.error_rate + options.faults.spike_rate > 1.0 {
        return Err("--error-rate and --spike-rate add up to more than 1".into());
    }
    Ok(Some(options))
}

fn number<T: std::str::FromStr>(text: &str, flag: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{flag}: {text:?} is not a valid number"))
}

fn rate(text: &str, flag: &str) -> Result<f64, String> {
    let rate: f64 = number(text, flag)?;
    if (0.0..=1.0).contains(&rate) {
        Ok(rate)
    } else {
        Err(format!("{flag} must be between 0 and 1, not {rate}"))
    }
}
