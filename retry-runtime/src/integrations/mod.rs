//! The errors of real services: HTTP statuses and `Retry-After`, `reqwest`,
//! `tonic` and `anyhow`, each behind its feature.
//!
//! Each file here teaches the runtime one foreign stack and nothing else: it
//! turns that stack's errors into a [`Class`](crate::Class) and the runtime's
//! [`Rejected`](crate::Rejected) into that stack's error where the orphan rule
//! allows. The public modules are re-exported at the crate root
//! (`retry_runtime::http`, `retry_runtime::reqwest`, `retry_runtime::tonic`).

#[cfg(feature = "anyhow")]
mod anyhow;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "reqwest")]
pub mod reqwest;
#[cfg(feature = "tonic")]
pub mod tonic;
