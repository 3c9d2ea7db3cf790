//! Three processes, one leader: `#[leader]` on etcd, with fencing.
//!
//! `cargo run -p steadfast-etcd --example leader` starts an `etcd` of its
//! own on free loopback ports, then three OS processes (this example again,
//! with `--replica NAME`) that call one job under
//! `#[leader(election = "demo-job", lease = "2s", wait = "10s")]`. Only the
//! leader runs it; its writes carry the fencing token. After 4 s the parent
//! kills the leader with `kill -9`; another takes over within the TTL and
//! its token is greater. It stops after 10 s.

#[path = "../tests/support/mod.rs"]
mod support;

use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use steadfast::Rejected;
use steadfast::leader::{self, ElectionStore, fencing_token};
use steadfast_etcd::EtcdStore;

/// The job: only the leader runs it. Its "writes" print the token; real
/// storage would refuse a token lower than the highest it has seen.
#[steadfast::leader(election = "demo-job", lease = "2s", wait = "10s")]
async fn job(me: &str) -> Result<(), Rejected> {
    let token = fencing_token().expect("inside the body");
    for step in 0..5 {
        println!("[{me}] leader (token {token}): step {step}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag, name, endpoint] if flag == "--replica" => replica(name, endpoint),
        [] => parent(),
        _ => {
            eprintln!("usage: leader  (or: leader --replica NAME ENDPOINT)");
            ExitCode::FAILURE
        }
    }
}

/// Starts etcd and three replicas; kills the leader after 4 s.
fn parent() -> ExitCode {
    let server = support::EtcdServer::start();
    println!("etcd on {}", server.endpoint());
    let exe = std::env::current_exe().expect("this example's path");
    let mut replicas: Vec<(String, Child)> = ["alpha", "beta", "gamma"]
        .iter()
        .map(|name| {
            let child = Command::new(&exe)
                .args(["--replica", name, &server.endpoint()])
                .stdout(Stdio::inherit())
                .spawn()
                .expect("a replica");
            (name.to_string(), child)
        })
        .collect();
    std::thread::sleep(Duration::from_secs(4));
    // The leader is the holder of the election key: ask etcd.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let store = EtcdStore::new([server.endpoint()]);
    let holder = runtime.block_on(store.leader("demo-job"));
    if let Ok(Some(holder)) = holder
        && let Some(index) = replicas
            .iter()
            .position(|(name, _)| *name == holder.candidate)
    {
        let (name, mut child) = replicas.remove(index);
        println!(
            "--- kill -9 {name} (the leader, token {}) ---",
            holder.token
        );
        let killed = Instant::now();
        let _ = child.kill();
        let _ = child.wait();
        let next = runtime.block_on(async {
            loop {
                if let Ok(Some(next)) = store.leader("demo-job").await
                    && next.token > holder.token
                {
                    return next;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        println!(
            "--- {} leads after {:?} (TTL 2 s), token {} ---",
            next.candidate,
            killed.elapsed(),
            next.token
        );
    }
    std::thread::sleep(Duration::from_secs(6));
    for (_, mut child) in replicas {
        let _ = child.kill();
        let _ = child.wait();
    }
    ExitCode::SUCCESS
}

/// One replica: runs the job again and again; only the leader's calls run.
fn replica(name: &str, endpoint: &str) -> ExitCode {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        leader::install_as(EtcdStore::new([endpoint]), name);
        loop {
            match job(name).await {
                Ok(()) => {}
                Err(Rejected::NotLeader { leader, .. }) => {
                    println!("[{name}] not the leader ({leader:?} is)");
                }
                Err(other) => println!("[{name}] {other}"),
            }
            // Give the others a chance to win the next round.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
}
