//! Graceful shutdown cancels a running `#[leader]` body and resigns at once
//! (another replica need not wait for the lease to expire); new calls are
//! refused. A test binary of its own: shutdown is process-wide.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use steadfast::leader::{self, ElectionStore};
use steadfast::{Rejected, shutdown};
use steadfast_etcd::EtcdStore;
use support::EtcdServer;

static DROPPED: AtomicBool = AtomicBool::new(false);

struct Flag;
impl Drop for Flag {
    fn drop(&mut self) {
        DROPPED.store(true, Ordering::SeqCst);
    }
}

// A long lease: an expiry would take 10 s.
#[steadfast::leader(election = "drain", lease = "10s")]
async fn long_job() -> Result<(), Rejected> {
    let _flag = Flag;
    tokio::time::sleep(Duration::from_secs(60)).await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_cancels_the_body_and_resigns_at_once() {
    let server = EtcdServer::start();
    let store = EtcdStore::new([server.endpoint()]);
    leader::install_as(store.clone(), "draining");
    let call = tokio::spawn(long_job());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let holder = store.leader("drain").await.unwrap().expect("held");
    assert_eq!(holder.candidate, "draining");
    let started = Instant::now();
    shutdown::begin();
    assert_eq!(call.await.unwrap(), Err(Rejected::shutting_down("drain")));
    assert!(DROPPED.load(Ordering::SeqCst), "the body was dropped");
    assert_eq!(store.leader("drain").await.unwrap(), None, "resigned");
    let resigned = started.elapsed();
    println!("body cancelled and election resigned {resigned:?} after shutdown began");
    assert!(resigned < Duration::from_secs(2), "{resigned:?}");
    assert_eq!(long_job().await, Err(Rejected::shutting_down("drain")));
    shutdown::reset();
    leader::uninstall();
}
