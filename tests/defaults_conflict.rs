//! Two crates define one name: identical settings agree; different ones make
//! `install` fail naming both, unless the application defines the name.

use retry_runtime::{Config, InstallError, install};

// The same `vendor` policy as vendor-lib's: no conflict.
retry_runtime::defaults!(
    r#"
    [policies.vendor]
    max_attempts = 4
    initial_delay = "10ms"
    max_delay = "1s"

    [budgets.vendor]
    retry_ratio = 0.9
    "#
);

#[test]
fn two_crates_defining_one_name_differently_must_be_settled_by_the_application() {
    // Link vendor-lib, whose budget `vendor` has retry_ratio = 0.5.
    assert!(
        retry_runtime::call_sites()
            .iter()
            .any(|s| s.name().ends_with("vendor_lib::fetch"))
    );
    let _ = vendor_lib::fetch;

    let err = match retry_runtime::check_defaults() {
        Ok(()) => panic!("expected a conflict"),
        Err(e) => e,
    };
    assert_eq!(err.problems().len(), 1, "{err}");
    let text = err.to_string();
    assert!(
        text.contains("`budgets.vendor` is defined differently by"),
        "{text}"
    );
    assert!(text.contains("crate `vendor-lib`"), "{text}");
    assert!(text.contains("crate `retry-suite`"), "{text}");
    assert!(
        text.contains("define [budgets.vendor] in the application's config"),
        "{text}"
    );

    let before = retry_runtime::current_config();
    match install(Config::builtin()) {
        Err(InstallError::Defaults(e)) => assert!(e.to_string().contains("budgets.vendor")),
        other => panic!("expected a defaults error, got {other:?}"),
    }
    assert_eq!(
        retry_runtime::current_config(),
        before,
        "the running config stays"
    );

    // The application settles it.
    install(Config::from_toml_str("[budgets.vendor]\nretry_ratio = 0.7").expect("valid"))
        .expect("installs");
    let config = retry_runtime::current_config();
    assert_eq!(config.budget("vendor").map(|b| b.retry_ratio), Some(0.7));
    // The policy both define alike is filled in.
    assert_eq!(config.policy("vendor").map(|p| p.max_attempts), Some(4));
}
