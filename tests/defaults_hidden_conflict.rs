//! Issue 16: `check_defaults` reports every problem in one pass. A block
//! with an invalid table and a valid one still takes part in the conflict
//! check with its valid table: the conflict is not hidden behind the error.

use retry_runtime::{Config, InstallError, install};

retry_runtime::defaults!(
    "[breakers.broken]\nhalf_open_calls = 0\n\n[budgets.contested]\nretry_ratio = 0.5"
);

retry_runtime::defaults!("[budgets.contested]\nretry_ratio = 0.9");

#[test]
fn a_conflict_is_reported_alongside_an_invalid_table() {
    let err = match retry_runtime::check_defaults() {
        Ok(()) => panic!("expected an error"),
        Err(e) => e,
    };
    let text = err.to_string();
    assert_eq!(err.problems().len(), 2, "{text}");
    assert!(
        text.contains("breakers.broken.half_open_calls: must be at least 1"),
        "{text}"
    );
    assert!(
        text.contains("`budgets.contested` is defined differently by"),
        "{text}"
    );
    match install(Config::builtin()) {
        Err(InstallError::Defaults(e)) => assert_eq!(e.to_string(), text),
        other => panic!("expected a defaults error, got {other:?}"),
    }
}
