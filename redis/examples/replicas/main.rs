//! Three replicas of one service share a rate limit and a circuit breaker
//! through Redis.
//!
//! `cargo run -p steadfast-redis --example replicas` starts a `redis-server`
//! of its own on a free loopback port, then three OS processes (this
//! example again, with `--replica`) that call one upstream through
//! `#[circuit_breaker(shared = …)]` and `#[rate_limit(shared = …)]` over a
//! breaker and a limiter whose store is that Redis. Each asks about five
//! times the limit; the upstream is healthy, then down, then recovered.
//! Every second it prints each replica's admitted calls, the total (held to
//! the one shared limit, not three), the rejections, and the breaker's state
//! as each replica sees it: opened by the failures, shared by all three,
//! closed again by one probe once the upstream recovers.
//!
//! `--short` runs 6 s instead of 15; `redis/tests/replicas_demo.rs` runs it.

#[path = "../../tests/support/mod.rs"]
mod support;

mod app;

use std::process::{Command, ExitCode};

use app::Options;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--replica") {
        let env = |name: &str| -> u64 {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name}: a replica is started by the demo"))
        };
        let options = Options {
            seconds: env("STEADFAST_DEMO_SECONDS"),
            ..Options::FULL
        };
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(app::replica(options, env("STEADFAST_DEMO_START_MS")));
        return ExitCode::SUCCESS;
    }
    let options = if args.iter().any(|a| a == "--short") {
        Options::SHORT
    } else {
        Options::FULL
    };
    if let Some(unknown) = args.iter().find(|a| *a != "--short") {
        eprintln!("unknown argument {unknown:?}; the only option is --short (a 6-second run)");
        return ExitCode::from(2);
    }
    let server = support::RedisServer::start();
    let exe = std::env::current_exe().expect("the example's own path");
    let spawn = || {
        let mut command = Command::new(&exe);
        command.arg("--replica");
        command
    };
    match app::run(options, &server.url(), spawn, &mut std::io::stdout()) {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
