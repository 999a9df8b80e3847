//! A library's `defaults!` may ship a `[hedges.NAME]` table for the hedge its
//! functions name; `install` fills it in, and an application's table of the
//! same name replaces it.

use std::time::Duration;

use retry_runtime::{Config, HedgeDelay, install, retryable};

retry_runtime::defaults!(
    r#"
    [hedges.vendor-search]
    delay = "25ms"
    max_hedges = 2
    "#
);

#[retryable(hedge = "vendor-search", idempotent)]
async fn vendor_search() -> std::io::Result<u8> {
    Ok(1)
}

#[tokio::test]
async fn a_librarys_hedge_is_filled_in_and_the_application_may_replace_it() {
    retry_runtime::check_defaults().expect("valid defaults");
    install(Config::builtin()).expect("the library's hedge fills the name in");
    let hedge = *retry_runtime::current_config()
        .hedge("vendor-search")
        .unwrap();
    assert_eq!(hedge.delay, HedgeDelay::Fixed(Duration::from_millis(25)));
    assert_eq!(hedge.max_hedges, 2);
    assert_eq!(vendor_search().await.unwrap(), 1);

    let own = Config::from_toml_str("[hedges.vendor-search]\ndelay = \"p99\"").unwrap();
    install(own).expect("installs");
    let hedge = *retry_runtime::current_config()
        .hedge("vendor-search")
        .unwrap();
    assert_eq!(hedge.delay, HedgeDelay::Percentile(99.0));
    assert_eq!(
        hedge.max_hedges, 1,
        "the application's table replaces the library's whole"
    );
}
