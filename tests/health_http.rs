//! Liveness and readiness over real HTTP on 127.0.0.1 (`steadfast::health::axum`,
//! cargo feature `axum`): readiness answers 503 while a gating check is not
//! up and 200 once it is, liveness answers 200 throughout, and both send the
//! documented JSON body.
//!
//! The check's results are reported by hand ([`HealthCheck::report`]), so
//! the test waits on nothing but the server's answers. One test in its own
//! binary: readiness is process-wide.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::http::Request;
use axum::http::header::CONTENT_TYPE;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use steadfast::health::HealthCheck;
use tokio::net::TcpListener;

static UPSTREAM: HealthCheck = HealthCheck::builder("http-upstream")
    .failures_to_act(1)
    .successes_to_release(1)
    .build();

/// One `GET` over a real connection: the status code, the content type and
/// the JSON body.
async fn get(addr: SocketAddr, path: &str) -> (u16, Option<String>, Value) {
    let client: Client<HttpConnector, Empty<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let request = Request::get(format!("http://{addr}{path}"))
        .body(Empty::new())
        .expect("a request");
    let response = client.request(request).await.expect("an answer");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .map(|value| value.to_str().expect("ASCII").to_owned());
    let body = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    let body = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&body)));
    (status, content_type, body)
}

/// `body` without its checks' `last_success_ms_ago` and
/// `last_failure_ms_ago`.
fn without_times(mut body: Value) -> Value {
    if let Some(checks) = body["checks"].as_array_mut() {
        for check in checks {
            if let Some(check) = check.as_object_mut() {
                check.remove("last_success_ms_ago");
                check.remove("last_failure_ms_ago");
            }
        }
    }
    body
}

#[tokio::test]
async fn readiness_answers_503_until_the_check_is_up_and_liveness_200_throughout() {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let app: axum::Router = steadfast::health::axum::routes();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    // No gating check yet: ready.
    let (status, content_type, body) = get(addr, "/health/ready").await;
    assert_eq!(status, 200);
    assert_eq!(content_type.as_deref(), Some("application/json"));
    assert_eq!(body["ready"], true);
    assert_eq!(body["checks"], serde_json::json!([]));

    // Down: not ready, still live.
    UPSTREAM.report(Err::<(), _>("connection refused"));
    let (status, _, body) = get(addr, "/health/ready").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["ready"], false);
    assert_eq!(body["live"], true);
    let check = &body["checks"][0];
    assert_eq!(check["name"], "http-upstream");
    assert_eq!(check["status"], "down");
    assert_eq!(check["last_error"], "connection refused");
    assert_eq!(check["consecutive_failures"], 1);
    let (status, _, live) = get(addr, "/health/live").await;
    assert_eq!(status, 200, "a failing dependency never fails liveness");
    // The same body, but for the times since the last result, which run on
    // the real clock between the two requests.
    assert_eq!(without_times(live), without_times(body));

    // Up again: ready.
    UPSTREAM.report(Ok::<(), &str>(()));
    let (status, _, body) = get(addr, "/health/ready").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ready"], true);
    assert_eq!(body["checks"][0]["status"], "up");
    let (status, _, _) = get(addr, "/health/live").await;
    assert_eq!(status, 200);

    server.abort();
}
