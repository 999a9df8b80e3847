//! Items that `#[retryable]`'s expansion names by absolute path. Not a public API:
//! anything here may change in any release.

pub use crate::attempt::{
    CloneArg, Controller, Describe, DescribeDebug, DescribeOpaque, FromRejected, Retry,
    ReturnsResult, classify, retry_if,
};
pub use crate::classify::{RetryAfterField, TransparentField};
pub use crate::defaults::{DEFAULTS, Defaults};
pub use crate::keyed::{BreakerKey, KeyByDisplay, KeyByText, KeyProbe};
pub use crate::registry::{CALL_SITES, CallSite};
pub use core::ops::ControlFlow;
pub use linkme;
