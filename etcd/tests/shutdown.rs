//! Graceful shutdown leaves every group: the leases are revoked at once,
//! not left to expire. A test binary of its own: shutdown is process-wide.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use steadfast_etcd::EtcdStore;
use steadfast_runtime::membership::{Membership, MembershipStore};
use steadfast_runtime::shutdown;
use support::EtcdServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_revokes_the_leases() {
    let server = EtcdServer::start();
    let store: Arc<dyn MembershipStore> = Arc::new(EtcdStore::new([server.endpoint()]));
    // A long TTL: an expiry would take 10 s.
    let ttl = Duration::from_secs(10);
    let a = Membership::join(store.clone(), "drain", "a", ttl)
        .await
        .unwrap();
    let b = Membership::join(store.clone(), "drain", "b", ttl)
        .await
        .unwrap();
    assert_eq!(store.list("drain").await.unwrap().members, ["a", "b"]);
    let started = Instant::now();
    shutdown::begin();
    loop {
        if store.list("drain").await.unwrap().members.is_empty() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "still registered {:?} after shutdown began",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    println!(
        "both keys gone {:?} after shutdown began",
        started.elapsed()
    );
    assert!(!a.lease_alive());
    assert!(!b.lease_alive());
    shutdown::reset();
}
