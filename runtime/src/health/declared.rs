//! The checks declared with `#[health_check]`, started together by
//! [`start_checks`].
//!
//! Each attribute submits a [`Declared`] (its `static` [`HealthCheck`] and a
//! function that starts its probe loop) through `inventory`'s
//! life-before-main registration; [`start_checks`] starts them all. On a
//! platform that `inventory` does not support nothing is submitted, and
//! [`start_checks`] starts nothing (start each check's `static` by hand
//! there: the attribute documents its name).

use tokio::task::JoinHandle;

use super::HealthCheck;

/// One check declared with `#[health_check]`. **Not a stable API**: what the
/// attribute's expansion submits.
#[doc(hidden)]
#[derive(Debug)]
pub struct Declared {
    check: &'static HealthCheck,
    start: fn() -> JoinHandle<()>,
}

impl Declared {
    /// A declared check and the function that starts its loop.
    pub const fn new(check: &'static HealthCheck, start: fn() -> JoinHandle<()>) -> Self {
        Declared { check, start }
    }
}

inventory::collect!(Declared);

/// Starts every check declared with `#[health_check]` in the program (each
/// one's [`HealthCheck::start`], on the current tokio runtime), and returns
/// their loops' handles, in no particular order. Call it once, early in
/// `main`; calling it again starts each check afresh (see
/// [`HealthCheck::start`]). A declared check is listed in
/// [`health`](crate::health()) from its start.
///
/// # Panics
///
/// Outside a tokio runtime.
pub fn start_checks() -> Vec<JoinHandle<()>> {
    inventory::iter::<Declared>
        .into_iter()
        .map(|declared| (declared.start)())
        .collect()
}

/// The checks declared with `#[health_check]`, started or not.
#[must_use]
pub fn declared_checks() -> Vec<&'static HealthCheck> {
    inventory::iter::<Declared>
        .into_iter()
        .map(|declared| declared.check)
        .collect()
}

/// Lists a `static` [`HealthCheck`] with a function starting it, for
/// [`start_checks`]: what `#[health_check]` expands to. **Not a stable API.**
#[doc(hidden)]
#[macro_export]
macro_rules! register_health_check {
    ($check:ident, $start:expr) => {
        $crate::glue::inventory::submit! {
            $crate::health::Declared::new(&$check, $start)
        }
    };
}
