//! A health check's probe loop: one probe every `every`, each bounded by
//! `timeout`, its result recorded on the check.
//!
//! Each probe runs as a task of its own, so a probe that panics is a failure
//! (`probe panicked`) rather than the end of the loop, and one that outlives
//! its timeout is aborted (dropped at its next await) and counts as a failure
//! (`timed out after …`). Probes never overlap: a probe that is due while the
//! previous one runs waits for it (`MissedTickBehavior::Delay`).
//!
//! The loop ends when its task is aborted (the handle that
//! [`HealthCheck::start`] returns), when its runtime shuts down, or at the
//! first result after the check was started again (a newer loop replaces
//! it). The check then keeps its last record, and any breaker it holds.

use core::fmt;
use core::future::Future;

use tokio::task::JoinHandle;
use tokio::time::{MissedTickBehavior, interval};

use super::HealthCheck;

impl HealthCheck {
    /// Spawns the check's probe loop on the current tokio runtime: `probe`
    /// runs at once, then every [`every`](super::HealthCheckBuilder::every),
    /// each run bounded by [`timeout`](super::HealthCheckBuilder::timeout).
    /// Each probe runs as a task of its own: one that outlives its timeout
    /// is aborted and counts as a failure (`last_error`: `timed out after
    /// …`), and so does one that panics (`probe panicked`); the loop goes
    /// on. Probes never overlap: one due while the previous runs waits for
    /// it.
    /// The check is listed in [`health`](crate::health()) from now on,
    /// [`Pending`](super::CheckStatus::Pending) until its first verdict.
    ///
    /// Starting a started check starts afresh: a fresh record (breakers the
    /// check held are released), and the previous loop ends at its next
    /// result. Abort the returned handle to stop probing (the check keeps
    /// its last verdict).
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, as `tokio::spawn` does.
    pub fn start<P, F, E>(&'static self, probe: P) -> JoinHandle<()>
    where
        P: Fn() -> F + Send + 'static,
        F: Future<Output = Result<(), E>> + Send + 'static,
        E: fmt::Display + 'static,
    {
        let epoch = self.begin();
        tokio::spawn(async move {
            let mut ticks = interval(self.every());
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let outcome = self.probe_once(probe()).await;
                if !self.record(Some(epoch), outcome) {
                    return;
                }
            }
        })
    }

    /// Runs one probe in its own task, bounded by the check's timeout.
    async fn probe_once<F, E>(&self, probe: F) -> Result<(), String>
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
        E: fmt::Display + 'static,
    {
        let mut task = tokio::spawn(async move { probe.await.map_err(|e| e.to_string()) });
        match tokio::time::timeout(self.timeout(), &mut task).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(error)) if error.is_panic() => Err("probe panicked".to_owned()),
            Ok(Err(_)) => Err("probe cancelled".to_owned()),
            Err(_) => {
                task.abort();
                Err(format!("timed out after {:?}", self.timeout()))
            }
        }
    }
}
