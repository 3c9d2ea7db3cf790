//! The replicas demo (`cargo run -p steadfast-redis --example replicas`), in
//! its short mode, against a real `redis-server`: the three replicas
//! together stay within the one shared limit, every replica sees the shared
//! breaker open while the upstream is down (also the replicas that saw few
//! failures themselves), and every one sees it closed again at the end.
//!
//! The demo's code is compiled into this test from `examples/replicas/`;
//! its replicas are this test binary again, running the ignored test
//! [`demo_replica`].

#[allow(dead_code)]
#[path = "../examples/replicas/app.rs"]
mod app;
mod support;

use std::process::Command;

use app::{Options, REPLICAS};

#[test]
#[ignore = "a replica process of the_demo_shares_one_limit_and_one_breaker, started by it"]
fn demo_replica() {
    let start_ms = std::env::var("STEADFAST_DEMO_START_MS")
        .expect("started by the demo test")
        .parse()
        .unwrap();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(app::replica(Options::SHORT, start_ms));
}

#[test]
fn the_demo_shares_one_limit_and_one_breaker() {
    let server = support::RedisServer::start();
    let spawn = || {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command.args([
            "--exact",
            "demo_replica",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ]);
        command
    };
    let mut out = Vec::new();
    let summary = app::run(Options::SHORT, &server.url(), spawn, &mut out).expect("the demo ran");
    let out = String::from_utf8(out).unwrap();
    println!("{out}");
    assert!(
        summary.admitted() <= summary.bound(),
        "{} admitted, over the shared bound {}",
        summary.admitted(),
        summary.bound()
    );
    assert!(
        summary.admitted() > summary.bound() / 2,
        "the replicas used the limit: {} of {}",
        summary.admitted(),
        summary.bound()
    );
    let down: Vec<_> = (0..summary.ticks.len() as u64)
        .filter(|&s| Options::SHORT.phase(s) == "down")
        .collect();
    for replica in 0..REPLICAS {
        assert!(
            down.iter()
                .any(|&s| summary.ticks[s as usize][replica].state == "open"),
            "replica {replica} saw the shared breaker open while the upstream was down:\n{out}"
        );
        assert_eq!(
            summary.ticks.last().unwrap()[replica].state,
            "closed",
            "replica {replica} sees it closed at the end:\n{out}"
        );
    }
}
