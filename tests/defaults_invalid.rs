//! An invalid `defaults!` block, or one that defines a built-in name, is
//! reported with its crate, file and line, by `check_defaults` and by
//! `install`, which refuses to proceed.

use retry_runtime::{Config, InstallError, install};

retry_runtime::defaults!("[breakers.mine]\nhalf_open_calls = 0");

// Valid, but `default` belongs to the application.
retry_runtime::defaults!("[budgets.default]\nttl = \"5s\"");

#[test]
fn an_invalid_block_or_a_builtin_name_is_refused_naming_crate_file_and_line() {
    let err = match retry_runtime::check_defaults() {
        Ok(()) => panic!("expected an error"),
        Err(e) => e,
    };
    let text = err.to_string();
    assert_eq!(err.problems().len(), 2, "{text}");
    assert!(
        text.contains("defaults! of crate `retry-suite` (tests/defaults_invalid.rs:7) is invalid (lines count from the string's start); fix the block, or report it to the crate's authors:\n      breakers.mine.half_open_calls"),
        "{text}"
    );
    assert!(
        text.contains("breakers.mine.half_open_calls: must be at least 1"),
        "{text}"
    );
    assert!(text.contains("(line 2, column 19)"), "{text}");
    assert!(
        text.contains("defaults! of crate `retry-suite` (tests/defaults_invalid.rs:10) defines `budgets.default`, a built-in name that belongs to the application"),
        "{text}"
    );
    let before = retry_runtime::current_config();
    match install(Config::builtin()) {
        Err(InstallError::Defaults(e)) => assert_eq!(e.to_string(), text),
        other => panic!("expected a defaults error, got {other:?}"),
    }
    assert_eq!(retry_runtime::current_config(), before);
    // Before any install, the built-in `default` budget is untouched.
    assert_eq!(
        before.budget("default"),
        Some(&retry_runtime::BudgetSettings::DEFAULT)
    );
}
