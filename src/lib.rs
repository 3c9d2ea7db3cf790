//! steadfast
#![forbid(unsafe_code)]
pub use steadfast_runtime::*;
