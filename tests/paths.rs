//! CRATE PATHS: stacking and duplicate detection work whatever path names the
//! attributes — a renamed import, a re-export with `crate = "…"` — and
//! written order holds for all of them.

mod common;

use common::{Probe, TestError, ms};
use steadfast as sf;
use steadfast::Rejected;
use tokio::time::Instant;

/// A toolkit of the user's that re-exports steadfast.
mod toolkit {
    pub(crate) use ::steadfast;
}

/// Attempts 1 and 2 hang; attempt 3 answers at once.
async fn hangs_twice(probe: &Probe) -> Result<u32, TestError> {
    let n = probe.hit();
    if n < 3 {
        tokio::time::sleep(ms(1000)).await;
    }
    Ok(n)
}

static RENAMED: Probe = Probe::new();

#[sf::retry(attempts = 3, backoff = none)]
#[sf::timeout("10ms")]
async fn renamed_import() -> Result<u32, TestError> {
    hangs_twice(&RENAMED).await
}

#[tokio::test(start_paused = true)]
async fn a_renamed_import_keeps_written_order() {
    let start = Instant::now();
    assert_eq!(renamed_import().await, Ok(3), "a timeout per attempt");
    assert_eq!(start.elapsed(), ms(20));
    assert_eq!(RENAMED.calls(), 3);
}

static RENAMED_OUTER: Probe = Probe::new();

#[sf::timeout("10ms")]
#[sf::retry(attempts = 3, backoff = none)]
async fn renamed_import_timeout_outside() -> Result<u32, TestError> {
    hangs_twice(&RENAMED_OUTER).await
}

#[tokio::test(start_paused = true)]
async fn a_renamed_import_timeout_written_first_bounds_every_attempt() {
    assert_eq!(
        renamed_import_timeout_outside().await,
        Err(TestError::Rejected(Rejected::timeout(ms(10))))
    );
    assert_eq!(RENAMED_OUTER.calls(), 1);
}

static MIXED: Probe = Probe::new();

#[steadfast::retry(attempts = 3, backoff = none)]
#[sf::timeout("10ms")]
async fn mixed_paths() -> Result<u32, TestError> {
    hangs_twice(&MIXED).await
}

#[tokio::test(start_paused = true)]
async fn mixed_paths_keep_written_order() {
    assert_eq!(mixed_paths().await, Ok(3));
    assert_eq!(MIXED.calls(), 3);
}

static REEXPORTED: Probe = Probe::new();

#[toolkit::steadfast::retry(attempts = 3, backoff = none, crate = "toolkit::steadfast")]
#[toolkit::steadfast::timeout("10ms")]
async fn reexported() -> Result<u32, TestError> {
    hangs_twice(&REEXPORTED).await
}

#[tokio::test(start_paused = true)]
async fn a_reexported_path_with_crate_keeps_written_order() {
    assert_eq!(reexported().await, Ok(3));
    assert_eq!(REEXPORTED.calls(), 3);
}

static REEXPORTED_LOWER: Probe = Probe::new();

// `crate = …` on the lower attribute only.
#[toolkit::steadfast::retry(attempts = 3, backoff = none, crate = "toolkit::steadfast")]
#[toolkit::steadfast::timeout("10ms", crate = "toolkit::steadfast")]
async fn reexported_both() -> Result<u32, TestError> {
    hangs_twice(&REEXPORTED_LOWER).await
}

#[tokio::test(start_paused = true)]
async fn a_reexported_path_named_on_both() {
    assert_eq!(reexported_both().await, Ok(3));
    assert_eq!(REEXPORTED_LOWER.calls(), 3);
}

static THREE: Probe = Probe::new();

// Three layers, the middle one under another path.
#[sf::fallback(|_e| Ok(99))]
#[steadfast::retry(attempts = 3, backoff = none)]
#[sf::timeout("10ms")]
async fn three_paths() -> Result<u32, TestError> {
    let n = THREE.hit();
    tokio::time::sleep(ms(1000)).await;
    Ok(n)
}

#[tokio::test(start_paused = true)]
async fn three_layers_under_two_paths() {
    let start = Instant::now();
    assert_eq!(three_paths().await, Ok(99));
    assert_eq!(THREE.calls(), 3, "each attempt timed out on its own");
    assert_eq!(start.elapsed(), ms(30));
}

static CFG_ATTR_BELOW: Probe = Probe::new();

// A toolkit attribute behind `cfg_attr` keeps its written place.
#[sf::retry(attempts = 3, backoff = none)]
#[cfg_attr(all(), sf::timeout("10ms"))]
async fn cfg_attr_below() -> Result<u32, TestError> {
    hangs_twice(&CFG_ATTR_BELOW).await
}

#[tokio::test(start_paused = true)]
async fn a_cfg_attr_below_keeps_written_order() {
    assert_eq!(cfg_attr_below().await, Ok(3), "a timeout per attempt");
    assert_eq!(CFG_ATTR_BELOW.calls(), 3);
}

static CFG_ATTR_ABOVE: Probe = Probe::new();

#[cfg_attr(all(), steadfast::retry(attempts = 3, backoff = none))]
#[steadfast::timeout("10ms")]
async fn cfg_attr_above() -> Result<u32, TestError> {
    hangs_twice(&CFG_ATTR_ABOVE).await
}

#[tokio::test(start_paused = true)]
async fn a_cfg_attr_above_keeps_written_order() {
    assert_eq!(cfg_attr_above().await, Ok(3), "a timeout per attempt");
    assert_eq!(CFG_ATTR_ABOVE.calls(), 3);
}
