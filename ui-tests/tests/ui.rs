//! Builds every case under `ui/`: each `ui/fail/*.rs` must fail to compile with
//! the error in the `.stderr` next to it, each `ui/pass/*.rs` must build and run.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/fail/*.rs");
    t.pass("ui/pass/*.rs");
}
