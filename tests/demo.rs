//! The README's demo (`cargo run --example demo`), in its short mode, against
//! its real HTTP server on 127.0.0.1: the price breaker opens while the
//! server is down and closes again after it recovers, and every kind of
//! policy outcome shows up in the summary.
//!
//! The demo's code is compiled into this test from `examples/demo/`. Its
//! breakers and bulkheads are `static`s, so this file runs the demo once.

#[allow(dead_code)]
#[path = "../examples/demo/app.rs"]
mod app;
#[allow(dead_code)]
#[path = "../examples/demo/server.rs"]
mod server;
#[allow(dead_code)]
#[path = "../examples/demo/shop.rs"]
mod shop;

use std::time::Duration;

use app::{Options, Phase, View};
use steadfast::circuit_breaker::State;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_demo_opens_the_breaker_while_down_and_closes_it_after_recovery() {
    let options = Options {
        duration: Options::SHORT_DURATION,
        view: View::Quiet,
        ..Options::full()
    };
    let summary = tokio::time::timeout(Duration::from_secs(20), app::run(&options))
        .await
        .expect("the short demo ends within 20 s")
        .expect("the demo's server starts on 127.0.0.1");
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
