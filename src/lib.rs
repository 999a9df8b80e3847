//! Workspace-level examples and integration tests of `retry-runtime` live in
//! `examples/` and `tests/`; this crate only hosts them. It is not published.
