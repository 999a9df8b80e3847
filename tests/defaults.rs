//! Libraries ship their own defaults (DESIGN §11, issue 9 item 7), with a
//! real second crate: `tests/fixtures/vendor-lib`. Installs are global, so
//! the steps run in one test, in order.

use retry_runtime::{BreakerSettings, Config, Policy, install};

fn installed() -> std::sync::Arc<Config> {
    retry_runtime::current_config()
}

#[tokio::test]
async fn a_librarys_defaults_install_cleanly_and_the_application_overrides_them() {
    // The library's call site is registered with its names.
    let site = retry_runtime::call_sites()
        .iter()
        .find(|s| s.name().ends_with("vendor_lib::fetch"))
        .expect("vendor-lib's call site is linked");
    assert_eq!(
        (site.policy(), site.breaker(), site.budget()),
        ("vendor", Some("vendor-api"), "vendor")
    );
    let block = retry_runtime::registered_defaults()
        .iter()
        .find(|d| d.crate_name() == "vendor-lib")
        .expect("vendor-lib's defaults are linked");
    assert!(block.file().ends_with("lib.rs"), "{block:?}");
    assert_eq!(block.module(), "vendor_lib");
    retry_runtime::check_defaults().expect("valid defaults");

    // Before any install, the library's settings already serve.
    assert_eq!(
        installed().policy("vendor").map(|p| p.max_attempts),
        Some(4)
    );
    assert_eq!(vendor_lib::fetch().await.ok(), Some(7));

    // An empty application config installs: the library fills in its names.
    install(Config::from_toml_str("").expect("empty config")).expect("installs");
    let config = installed();
    assert_eq!(
        config.policy("vendor"),
        Some(&Policy {
            max_attempts: 4,
            initial_delay: std::time::Duration::from_millis(10),
            max_delay: std::time::Duration::from_secs(1),
            ..Policy::DEFAULT
        })
    );
    assert_eq!(
        config
            .breaker("vendor-api")
            .map(|b| (b.window, b.minimum_calls, b.half_open_calls)),
        Some((retry_runtime::Window::Count { size: 10 }, 5, 2))
    );
    assert_eq!(config.budget("vendor").map(|b| b.retry_ratio), Some(0.5));
    assert_eq!(
        retry_runtime::breaker("vendor-api").map(|b| b.settings().half_open_calls),
        Some(2)
    );

    // The builder's presets alone install too.
    install(Config::builtin()).expect("installs");

    // The application's table replaces the library's by name, whole: without
    // `base`, it inherits from `default`, not from the library's table.
    install(Config::from_toml_str("[breakers.vendor-api]\nhalf_open_calls = 9").expect("valid"))
        .expect("installs");
    let b = installed().breaker("vendor-api").copied();
    assert_eq!(
        b,
        Some(BreakerSettings {
            half_open_calls: 9,
            ..BreakerSettings::DEFAULT
        })
    );

    // Naming itself as base tweaks the library's table, like a preset.
    install(
        Config::from_toml_str("[breakers.vendor-api]\nbase = \"vendor-api\"\nhalf_open_calls = 9")
            .expect("valid"),
    )
    .expect("installs");
    let b = installed().breaker("vendor-api").copied();
    assert_eq!(
        b.map(|b| (b.window, b.minimum_calls, b.half_open_calls)),
        Some((retry_runtime::Window::Count { size: 10 }, 5, 9))
    );
    // And other tables may inherit from it.
    let config = Config::from_toml_str("[policies.mine]\nbase = \"vendor\"\nmax_attempts = 2")
        .expect("a library's table is a base");
    assert_eq!(
        config
            .policy("mine")
            .map(|p| (p.max_attempts, p.initial_delay)),
        Some((2, std::time::Duration::from_millis(10)))
    );

    // The builder: an application without files overrides in code.
    install(
        Config::builder()
            .policy("vendor", Policy::NONE)
            .build()
            .expect("valid"),
    )
    .expect("installs");
    assert_eq!(installed().policy("vendor"), Some(&Policy::NONE));
    assert_eq!(vendor_lib::fetch().await.ok(), Some(7));
}
