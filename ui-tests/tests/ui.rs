//! Builds every case under `ui/`: each `ui/fail/*.rs` must fail to compile with
//! the error in the `.stderr` next to it, each `ui/pass/*.rs` must build and run.
//!
//! The runtime's features change what the compiler lists (the types implementing
//! `Classify`), so the snapshots are taken without them; with the feature
//! `error-features`, the cases that need them run instead (`ui/pass-features`).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    if cfg!(feature = "error-features") {
        t.pass("ui/pass-features/*.rs");
    } else {
        t.compile_fail("ui/fail/*.rs");
        t.pass("ui/pass/*.rs");
    }
}
