//! The README's demo (`cargo run --example demo`), in its short mode and its
//! plain view, against its real HTTP server on 127.0.0.1: the price breaker
//! opens while the server is down and closes again after it recovers, every
//! kind of policy outcome shows up in the summary, and the plain view fits in
//! 100 columns with its counters labelled as cumulative.
//!
//! The demo's code is compiled into this test from `examples/demo/`. Its
//! breakers and bulkheads are `static`s, so this file runs the demo once
//! ([`demo`]) and every test reads that run.

#[allow(dead_code)]
#[path = "../examples/demo/app.rs"]
mod app;
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

    // Every function has a row each second, with its `calls` total, and
    // the totals never go down.
    for function in ["price", "stock", "reserve"] {
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
