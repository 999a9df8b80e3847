//! Items that `#[retryable]`'s expansion names by absolute path. Not a public API:
//! anything here may change in any release.

pub use crate::call::controller::{
    CloneArg, Controller, Describe, DescribeDebug, DescribeDisplay, DescribeOpaque, FromRejected,
    Retry, ReturnsResult, Shown, classify, retry_if,
};
pub use crate::call::key::{BreakerKey, KeyByDisplay, KeyByText, KeyProbe};
pub use crate::classify::{RetryAfterField, TransparentField};
pub use crate::config::defaults::{DEFAULTS, Defaults};
pub use crate::registry::{CALL_SITES, CallSite};
pub use core::ops::ControlFlow;
pub use linkme;
