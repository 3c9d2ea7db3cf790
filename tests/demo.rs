//! The README's demo (`cargo run --example demo`), in its short mode and its
//! plain view, against its real HTTP server on 127.0.0.1: the price breaker
//! opens while the server is down and closes again after it recovers, every
//! kind of policy outcome shows up in the summary, the rate-limited quotes
//! stay within the carrier's quota, only the failing warehouse's breaker
//! opens, `#[hedge]` cuts the reviews' p99, and the plain view fits in 100
//! columns with its counters labelled as cumulative.
//!
//! The run is real time on a shared machine, so the checks are bounds and
//! "at least one", never close timings: the quota check rests on the
//! limiter's admission bound (at most `burst + rate × t` calls in `t`),
//! which holds however slow the machine is, and the tail check compares a
//! slow answer (300 ms) with ten times less (the hedge's 30 ms).
//!
//! The demo's code is compiled into this test from `examples/demo/`. Its
//! breakers and bulkheads are `static`s, so this file runs the demo once
//! ([`demo`]) and every test reads that run.

#[allow(dead_code)]
#[path = "../examples/demo/app.rs"]
mod app;
#[allow(dead_code)]
#[path = "../examples/demo/ops.rs"]
mod ops;
#[allow(dead_code)]
#[path = "../examples/demo/server.rs"]
mod server;
#[allow(dead_code)]
#[path = "../examples/demo/shop.rs"]
mod shop;

use std::sync::OnceLock;
use std::time::Duration;

use app::{Options, Phase, Summary, View};
use steadfast::circuit_breaker::State;

/// The one run of the short demo: its summary and everything its plain view
/// wrote (the rows every second, then the summary).
#[derive(Debug)]
struct Run {
    summary: Summary,
    plain: String,
}

/// Runs the short demo in its plain view the first time it is called (on a
/// runtime of its own, two worker threads), and hands every caller that run,
/// or why it failed.
fn demo() -> &'static Result<Run, String> {
    static RUN: OnceLock<Result<Run, String>> = OnceLock::new();
    RUN.get_or_init(|| {
        let options = Options {
            duration: Options::SHORT_DURATION,
            view: View::Lines,
            ..Options::full()
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| format!("no runtime: {e}"))?;
        let mut plain = Vec::new();
        let summary = runtime
            .block_on(async {
                tokio::time::timeout(Duration::from_secs(20), app::run(&options, &mut plain)).await
            })
            .map_err(|_| "the short demo did not end within 20 s".to_string())?
            .map_err(|e| format!("the demo's server did not start on 127.0.0.1: {e}"))?;
        let plain = String::from_utf8(plain).map_err(|e| format!("plain view not UTF-8: {e}"))?;
        Ok(Run { summary, plain })
    })
}

#[test]
fn short_demo_opens_the_breaker_while_down_and_closes_it_after_recovery() {
    let run = demo().as_ref().expect("the short demo runs");
    let summary = &run.summary;
    // Shown when an assertion fails (or with `--nocapture`).
    println!("{}", summary.render());

    let price = summary.breaker("shop::price");
    assert!(
        price.was_open_during(Phase::Down),
        "the price breaker opened while the server was down: {price:#?}"
    );
    assert!(
        price.closed_during(Phase::Recovering),
        "the price breaker closed again after the server recovered: {price:#?}"
    );
    assert_eq!(price.state, State::Closed, "and it ends closed");
    let stock = summary.breaker("shop::stock");
    assert!(
        stock.was_open_during(Phase::Down),
        "the stock breaker opened while /stock hung: {stock:#?}"
    );

    let price = summary.function("price");
    assert!(price.ok > 0, "prices were served live: {price:?}");
    assert!(price.retries > 0, "failed attempts were retried: {price:?}");
    assert!(price.fallbacks > 0, "the cache answered: {price:?}");
    assert!(
        price.circuit_open > 0,
        "the open breaker refused calls: {price:?}"
    );
    let stock = summary.function("stock");
    assert!(stock.timeouts > 0, "hung requests timed out: {stock:?}");
    assert!(stock.fallbacks > 0, "\"stock unknown\" answered: {stock:?}");
    let reserve = summary.function("reserve");
    assert!(
        reserve.bulkhead_full > 0,
        "bursts of 5 overflowed a bulkhead of 2 + 2: {reserve:?}"
    );
    assert!(reserve.failed >= reserve.bulkhead_full, "{reserve:?}");
    assert!(
        summary.elapsed < Duration::from_secs(15),
        "the short demo took {:?}",
        summary.elapsed
    );
}

#[test]
fn short_demo_keeps_the_carriers_quota_with_a_rate_limit() {
    let run = demo().as_ref().expect("the short demo runs");
    let summary = &run.summary;
    println!("{}", summary.render());

    let limiter = summary.quote_health();
    let (rate, burst) = (u64::from(limiter.rate), u64::from(limiter.burst));
    assert_eq!(limiter.per, Duration::from_secs(1), "{limiter:?}");
    assert!(
        rate + burst <= server::QUOTA,
        "the limiter admits at most the carrier's quota in any second: {limiter:?}"
    );
    let carrier = summary.requests.quote;
    let quote = summary.function("quote");
    // The limiter's bound over the whole run: `burst + rate × t`, with t the
    // run's length (every request was sent within it).
    let bound = burst as f64 + rate as f64 * summary.elapsed.as_secs_f64();
    assert!(
        (carrier.requests as f64) <= bound,
        "the carrier received {} requests in {:?}, more than burst + rate × t = {bound}",
        carrier.requests,
        summary.elapsed
    );
    assert_eq!(
        carrier.throttled, 0,
        "the carrier never answered 429: {carrier:?}"
    );
    assert!(
        carrier.peak <= server::QUOTA,
        "at most {} requests in any second of the server's clock: {carrier:?}",
        server::QUOTA
    );
    assert!(carrier.answered > 0, "quotes were answered: {carrier:?}");
    // The workers ask faster than the limiter admits.
    assert!(
        quote.calls as f64 > bound,
        "the workers asked for more than the limiter admits: {quote:?}, bound {bound}"
    );
    assert!(
        quote.rate_limited > 0,
        "calls over the limit were refused: {quote:?}"
    );
    assert!(
        quote.waited > 0,
        "calls whose turn was near waited for it: {quote:?}"
    );
    // (The flat rate also answers a request that failed or timed out, which
    // a loaded machine may cause: bounds, not equalities.)
    assert!(
        quote.fallbacks >= quote.rate_limited,
        "every refused call got the flat rate: {quote:?}"
    );
    assert!(
        carrier.requests <= quote.calls - quote.rate_limited,
        "only admitted calls reached the carrier: {quote:?} {carrier:?}"
    );
}

#[test]
fn short_demo_opens_only_the_failing_warehouses_breaker() {
    let run = demo().as_ref().expect("the short demo runs");
    let summary = &run.summary;
    println!("{}", summary.render());

    let failing = summary.warehouse(server::FAILING_WAREHOUSE);
    assert!(
        failing.breaker.was_open_during(Phase::Down),
        "the failing warehouse's breaker opened while it was down: {failing:#?}"
    );
    assert!(
        failing.breaker.closed_during(Phase::Recovering),
        "and closed again after it came back: {failing:#?}"
    );
    for warehouse in server::WAREHOUSES {
        if warehouse == server::FAILING_WAREHOUSE {
            continue;
        }
        let track = summary.warehouse(warehouse);
        assert!(
            Phase::ALL
                .iter()
                .all(|&phase| !track.breaker.was_open_during(phase)),
            "{warehouse}'s breaker never opened: {track:#?}"
        );
        assert!(
            track.ok_while_another_open > 0,
            "{warehouse} answered calls while {}'s breaker was open: {track:#?}",
            server::FAILING_WAREHOUSE
        );
    }
    let depot = summary.function("depot");
    assert!(
        depot.circuit_open > 0,
        "the open breaker refused calls to the failing warehouse: {depot:?}"
    );
    let keyed = summary.depot_health();
    assert_eq!(keyed.kind, "circuit_breaker");
    assert_eq!(
        keyed.keys as usize,
        server::WAREHOUSES.len(),
        "one breaker per warehouse in health(): {keyed:?}"
    );
    assert!(
        keyed.not_closed.is_empty(),
        "every warehouse's breaker ends closed: {keyed:?}"
    );
}

#[test]
fn plain_view_fits_100_columns_and_labels_its_counters_cumulative() {
    let run = demo().as_ref().expect("the short demo runs");
    let plain = &run.plain;
    // Shown when an assertion fails (or with `--nocapture`).
    println!("{plain}");

    let too_wide: Vec<(usize, &str)> = plain
        .lines()
        .enumerate()
        .filter(|(_, line)| line.chars().count() > app::PLAIN_WIDTH)
        .collect();
    assert!(
        too_wide.is_empty(),
        "plain-view lines wider than {} columns (line number, text): {too_wide:#?}",
        app::PLAIN_WIDTH
    );
    assert!(
        !plain.contains('\x1b'),
        "the plain view writes no terminal escapes"
    );

    // The counters grow over the run: the view says so once at the start,
    // above the column headings of every phase, and in the summary.
    assert!(
        plain.contains("The counters are CUMULATIVE: totals since"),
        "the introduction says the counters are cumulative"
    );
    let lines: Vec<&str> = plain.lines().collect();
    let phases: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].contains("  phase "))
        .collect();
    assert!(!phases.is_empty(), "the plain view announces the phases");
    for i in phases {
        assert!(
            lines
                .get(i + 1)
                .is_some_and(|next| next.contains(" cumulative totals since the start ")),
            "the column headings after {:?} say the counters are cumulative",
            lines[i]
        );
    }
    assert!(
        plain.contains("Totals over the whole run (cumulative):"),
        "the summary's table is labelled"
    );
    // The quote limiter's line and the warehouses' breakers follow the rows
    // each second.
    for line in ["  quote: ", "  depot: north "] {
        assert!(
            plain.lines().filter(|l| l.contains(line)).count() >= 5,
            "a {line:?} line each second"
        );
    }
    assert!(
        plain.contains(&format!("{} OPEN", server::FAILING_WAREHOUSE)),
        "the plain view shows the failing warehouse's breaker open"
    );

    // Every function has a row each second, with its `calls` total, and
    // the totals never go down.
    for function in ["price", "stock", "reserve", "quote", "depot"] {
        let calls: Vec<u64> = plain
            .lines()
            .filter_map(|line| {
                let mut words = line.split_whitespace();
                // `1.0s`, …, then `end` for the rows written after the run.
                let time = words.next()?;
                if time != "end" {
                    time.strip_suffix('s')?.parse::<f64>().ok()?;
                }
                (words.next()? == function).then_some(())?;
                words.next()?.parse().ok()
            })
            .collect();
        assert!(
            calls.len() >= 5,
            "{function}: a row each second of the 6 s run: {calls:?}"
        );
        assert!(
            calls.windows(2).all(|pair| pair[0] <= pair[1]),
            "{function}: cumulative calls never decrease: {calls:?}"
        );
        assert_eq!(
            calls.last().copied(),
            Some(run.summary.function(function).calls),
            "{function}: the last row shows the run's total"
        );
    }
}

/// The reviews service answers every 20th request in 300 ms: that sets the
/// p99 of the plain reads, while the hedged reads send a second request
/// after 30 ms, and their p99 is about that plus a fast answer. Bounds that
/// hold on a slow machine: the plain p99 is a slow answer (at least 300 ms),
/// the hedged p99 is below half of it (without the hedge it would be a slow
/// answer too), and the hedge sent some copies, not one per call.
#[test]
fn short_demo_hedge_cuts_the_reviews_p99() {
    let run = demo().as_ref().expect("the short demo runs");
    let summary = &run.summary;
    let (plain, hedged) = (summary.reviews, summary.reviews_hedged);
    println!("plain {plain:?}\nhedged {hedged:?}");

    // Enough calls for a p99: at least 100 each, and the server's slow
    // answers went to the plain reads at least as often as the p99 needs.
    for (name, p) in [("plain", plain), ("hedged", hedged)] {
        assert!(p.calls >= 100, "{name}: enough calls for a p99: {p:?}");
        assert!(
            p.failed * 100 <= p.calls,
            "{name}: the reviews answer (at most 1% failed): {p:?}"
        );
    }
    assert!(
        plain.p99 >= server::SLOW_REVIEWS,
        "the slow answers set the plain p99: {plain:?}"
    );
    assert!(
        hedged.p99 * 2 < plain.p99,
        "the hedge cut the p99 at least in half: hedged {hedged:?}, plain {plain:?}"
    );
    assert!(
        hedged.extra > 0 && hedged.extra * 4 <= hedged.calls,
        "the hedge sent a second request for some calls, not most: {hedged:?}"
    );

    // The summary prints both, one line each, in the plain view too.
    for (name, p) in [("plain", plain), ("hedged", hedged)] {
        let line = run
            .plain
            .lines()
            .find(|line| line.starts_with(&format!("  {name} ")) && line.contains(" p99 "))
            .unwrap_or_else(|| panic!("a summary line for the {name} reviews"));
        let after = |label: &str| -> u128 {
            let (_, rest) = line.split_once(label).expect(label);
            let ms = rest.split_whitespace().next().expect("a number");
            ms.parse().unwrap_or_else(|_| panic!("{label} in {line:?}"))
        };
        assert_eq!(after(" p50 "), p.p50.as_millis(), "{line}");
        assert_eq!(after(" p99 "), p.p99.as_millis(), "{line}");
    }
}

/// The service's own operations over real HTTP: its readiness endpoint
/// answered 503 while the shop's health check was down (with the check in
/// the JSON body) and 200 again once the shop recovered; at the end of the
/// run graceful shutdown drained the calls in flight (none left running,
/// within the deadline) and the report says so.
#[test]
fn short_demo_serves_readiness_and_shuts_down_gracefully() {
    let run = demo().as_ref().expect("the demo ran");
    let summary = &run.summary;
    assert!(
        summary.readiness.contains(&503),
        "not ready while the shop was down: {:?}",
        summary.readiness
    );
    let body = summary
        .not_ready_body
        .as_deref()
        .expect("a 503 with the check down");
    let json: serde_json::Value = serde_json::from_str(body).expect("JSON");
    assert_eq!(json["ready"], false);
    assert_eq!(
        json["live"], true,
        "a failing dependency never makes it not live"
    );
    assert_eq!(json["checks"][0]["name"], "demo::shop");
    assert_eq!(json["checks"][0]["status"], "down");
    let end = summary.ready_at_end.as_ref().expect("readiness at the end");
    assert_eq!(
        end.status, 200,
        "ready again after the shop recovered: {}",
        end.body
    );
    let report = &summary.shutdown;
    assert_eq!(report.still_running, 0, "{report}");
    assert!(!report.timed_out, "{report}");
    assert!(
        run.plain.contains("Graceful shutdown:"),
        "the report is printed"
    );
    // `shop::price` runs its bulkhead inside its breaker: with
    // `track_calls`, every call holding a slot is also a breaker call in
    // flight, drained and listed.
    let at_start = |kind: &str| {
        report
            .policies
            .iter()
            .find(|p| p.kind == kind && p.name == "shop::price")
            .map_or(0, |p| p.running_at_start)
    };
    assert!(
        at_start("circuit_breaker") >= at_start("bulkhead"),
        "breaker calls in flight are drained and listed: {report}"
    );
}
