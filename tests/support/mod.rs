//! Shared by the integration tests: each `tests/*.rs` file is its own binary
//! with one global configuration, installed once before its first call.

use std::sync::OnceLock;

/// A `default` budget that never refuses a retry, for tests about schedules
/// rather than budgets. Append it to a test binary's config.
pub const UNLIMITED_DEFAULT_BUDGET: &str = r#"
[budgets.default]
ttl = "10s"
min_retries_per_sec = 100000
retry_ratio = 1.0
"#;

/// Installs `config` plus [`UNLIMITED_DEFAULT_BUDGET`], once per test binary.
/// Every test calls it first: tests run in parallel and in any order.
pub fn install_once(config: &str) {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let toml = format!("{config}\n{UNLIMITED_DEFAULT_BUDGET}");
        let config =
            retry_runtime::Config::from_toml_str(&toml).expect("the test's config is valid");
        retry_runtime::install(config)
            .expect("the test's config defines every name its functions use");
    });
}

/// A current-thread runtime on a paused clock, for tests that run several
/// runtimes one after the other (each `#[tokio::test]` makes its own).
#[allow(dead_code)] // not every test binary needs one
pub fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a paused current-thread runtime")
}

/// The keys of the breaker `name`'s live keyed instances, sorted, from the snapshot.
#[allow(dead_code)] // not every test binary needs one
pub fn live_keys(name: &str) -> Vec<String> {
    retry_runtime::snapshot()
        .breakers
        .into_iter()
        .filter(|b| b.name == name)
        .filter_map(|b| b.key)
        .collect()
}
