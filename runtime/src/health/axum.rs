//! Liveness and readiness over HTTP, as axum handlers (cargo feature
//! `axum`).
//!
//! [`liveness`] answers 200 whenever the process answers (a failing
//! dependency never gets a service restarted); [`readiness`] answers 200
//! while [`Health::ready`](super::Health::ready) holds and 503 otherwise.
//! Both send the same JSON body, `application/json`:
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `live` | bool | [`Health::live`](super::Health::live) (always true) |
//! | `ready` | bool | [`Health::ready`](super::Health::ready): every check that gates readiness is up |
//! | `checks` | array | the started health checks, as `checks[]` in [`health`](crate::health()) |
//!
//! ```
//! use axum::{Router, routing::get};
//! use steadfast::health::axum::{liveness, readiness};
//!
//! let app: Router = Router::new()
//!     .route("/health/live", get(liveness))
//!     .route("/health/ready", get(readiness));
//! # let _ = app;
//! ```
//!
//! [`routes`] builds those two routes.

use ::axum::Router;
use ::axum::http::{StatusCode, header};
use ::axum::response::{IntoResponse, Response};
use ::axum::routing::get;

use super::CheckHealth;

/// The body both handlers send.
#[derive(serde::Serialize)]
struct Probe {
    live: bool,
    ready: bool,
    checks: Vec<CheckHealth>,
}

/// The probe body and whether the service is ready.
fn probe() -> (bool, Response) {
    let checks = super::check::report_snapshot();
    let health = super::Health {
        breakers: Vec::new(),
        bulkheads: Vec::new(),
        rate_limiters: Vec::new(),
        keyed: Vec::new(),
        budgets: Vec::new(),
        checks,
        #[cfg(feature = "chaos")]
        chaos: Vec::new(),
        memberships: Vec::new(),
        elections: Vec::new(),
    };
    let (live, ready) = (health.live(), health.ready());
    let body = Probe {
        live,
        ready,
        checks: health.checks,
    };
    let json = serde_json::to_vec(&body).expect("plain data serializes");
    let response = ([(header::CONTENT_TYPE, "application/json")], json).into_response();
    (ready, response)
}

/// The liveness handler: 200 with the probe body, always (see the
/// [module docs](self)).
pub async fn liveness() -> Response {
    probe().1
}

/// The readiness handler: 200 with the probe body while every check that
/// gates readiness is up, 503 with it otherwise (see the
/// [module docs](self)).
pub async fn readiness() -> Response {
    let (ready, mut response) = probe();
    if !ready {
        *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    }
    response
}

/// `GET /health/live` ([`liveness`]) and `GET /health/ready`
/// ([`readiness`]), to [`merge`](Router::merge) into an application's
/// router.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/health/live", get(liveness))
        .route("/health/ready", get(readiness))
}
