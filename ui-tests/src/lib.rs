//! Compile-time tests of `#[retryable]`: `tests/ui.rs` builds every case under
//! `ui/fail` (each must fail with the committed `.stderr`) and `ui/pass` (each
//! must build and run). Regenerate snapshots with
//! `TRYBUILD=overwrite cargo test -p ui-tests`, then read every `.stderr`.
