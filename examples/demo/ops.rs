//! The client service's operations side: its own health endpoints
//! (liveness and readiness over real HTTP, from `steadfast::health::axum`),
//! a health check that probes the shop and gates readiness, and graceful
//! shutdown (at the end of the run, or on Ctrl-C / SIGTERM; breaker calls
//! tracked with `shutdown::track_calls`), whose report
//! the summary prints.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use steadfast::health::HealthCheck;
use tokio::task::JoinHandle;

use crate::shop::Shop;

/// Probes the shop's price endpoint twice a second; two failures in a row
/// make the service not ready, two successes ready again. It gates
/// readiness only: the breakers keep deciding from the calls themselves.
pub(crate) static SHOP_CHECK: HealthCheck = HealthCheck::builder("demo::shop")
    .every(Duration::from_millis(500))
    .timeout(Duration::from_millis(300))
    .failures_to_act(2)
    .successes_to_release(2)
    .build();

/// How long shutdown waits for the calls in flight.
pub(crate) const DRAIN_DEADLINE: Duration = Duration::from_secs(2);

/// Set by Ctrl-C or SIGTERM: the workers stop asking.
pub(crate) static STOPPING: AtomicBool = AtomicBool::new(false);

/// Woken by Ctrl-C or SIGTERM.
pub(crate) static STOP: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// The operations side, running.
pub(crate) struct Ops {
    /// Where `/health/live` and `/health/ready` answer.
    pub(crate) addr: SocketAddr,
    http: Client<HttpConnector, Empty<Bytes>>,
    server: JoinHandle<()>,
    probes: JoinHandle<()>,
}

/// One answer of the readiness endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Readiness {
    pub(crate) status: u16,
    pub(crate) body: String,
}

impl Ops {
    /// Serves the health endpoints on a free port of 127.0.0.1 (until
    /// shutdown begins), starts the shop's health check, and listens for
    /// Ctrl-C and SIGTERM.
    pub(crate) async fn start(shop: Arc<Shop>) -> std::io::Result<Ops> {
        // Before traffic: the breakers count their calls in flight, so that
        // shutdown drains and reports them as it does the bulkheads'.
        steadfast::shutdown::track_calls();
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, steadfast::health::axum::routes::<()>())
                .with_graceful_shutdown(steadfast::shutdown::begun())
                .await;
        });
        let probes = SHOP_CHECK.start(move || {
            let shop = Arc::clone(&shop);
            async move { shop.probe().await }
        });
        tokio::spawn(async {
            stop_signal().await;
            STOPPING.store(true, Ordering::Relaxed);
            STOP.notify_one();
        });
        Ok(Ops {
            addr,
            http: Client::builder(TokioExecutor::new()).build_http(),
            server,
            probes,
        })
    }

    /// `GET /health/ready` over HTTP: its status and JSON body.
    pub(crate) async fn readiness(&self) -> Option<Readiness> {
        let uri = format!("http://{}/health/ready", self.addr).parse().ok()?;
        let response = self.http.get(uri).await.ok()?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.ok()?.to_bytes();
        Some(Readiness {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }

    /// After shutdown began (`steadfast::shutdown`): the health endpoints
    /// stop and the check ends.
    pub(crate) async fn stop(self) {
        self.probes.abort();
        let _ = self.server.await;
    }
}

/// Ctrl-C, or SIGTERM on Unix.
async fn stop_signal() {
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            Some(_) = async { match term.as_mut() { Some(t) => t.recv().await, None => None } } => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
