//! `Config::to_toml_string` (what the admin router's `GET /config` serves)
//! reads back to the same config: every section, every key, every shape of
//! value (durations to the nanosecond, "none", both windows, quoted names),
//! with inheritance resolved.

use retry_runtime::Config;

const EVERY_KEY: &str = r#"
[policies.default]
max_attempts = 4
backoff = "linear"
initial_delay = "150ms"
multiplier = 1.5
max_delay = "7s 5ns"
jitter = "equal"
max_elapsed = "1m 30s"
attempt_timeout = "250ms"
max_retry_after = "none"
nested = "retry"

[policies.heir]
base = "default"
max_attempts = 6

[policies.instant]
backoff = "constant"
initial_delay = "0s"
max_elapsed = "none"
attempt_timeout = "none"

[policies.decorrelated]
backoff = "decorrelated"
jitter = "none"
multiplier = 3.3333333333333335

[policies."with.dots and spaces"]
max_attempts = 2

[breakers.count]
window = "count"
window_size = 33
failure_rate_threshold = 0.3
slow_call_duration = "1500ms"
slow_call_rate_threshold = 0.9
minimum_calls = 7
open_duration = "45s"
half_open_calls = 2
max_half_open_wait = "none"
retry_after_is_failure = true
max_keys = 12

[breakers.time]
base = "count"
window = "time"
window_duration = "2m"
slow_call_duration = "none"

[budgets.default]
ttl = "3s"
min_retries_per_sec = 0
retry_ratio = 0.125

[budgets.big]
ttl = "60s"
min_retries_per_sec = 100000
retry_ratio = 1000.0

[hedges.fixed]
delay = "40ms 7ns"
max_hedges = 3
min_samples = 5

[hedges.tail]
delay = "p99.9"

[hedges.heir]
base = "tail"
delay = "p90"
max_hedges = 10
"#;

#[test]
fn every_key_reads_back_to_the_same_config() {
    let config = Config::from_toml_str(EVERY_KEY).unwrap();
    let text = config.to_toml_string();
    assert_eq!(Config::from_toml_str(&text).unwrap(), config, "{text}");
    assert!(!text.contains("base ="), "resolved, no base: {text}");
    assert!(
        text.contains("[policies.heir]\nmax_attempts = 6\nbackoff = \"linear\""),
        "{text}"
    );
    assert!(
        text.contains("[policies.\"with.dots and spaces\"]"),
        "{text}"
    );
    assert!(text.contains("max_delay = \"7s 5ns\""), "{text}");
    assert!(
        text.contains("[breakers.time]\nwindow = \"time\"\nwindow_duration = \"2m\""),
        "{text}"
    );
    assert!(text.contains("slow_call_duration = \"none\""), "{text}");
    assert!(
        text.contains("[hedges.fixed]\ndelay = \"40ms 7ns\"\nmax_hedges = 3\nmin_samples = 5"),
        "{text}"
    );
    assert!(text.contains("[hedges.tail]\ndelay = \"p99.9\""), "{text}");
    assert!(
        text.contains("[hedges.heir]\ndelay = \"p90\"\nmax_hedges = 10"),
        "{text}"
    );
}

#[test]
fn the_presets_read_back() {
    let presets = Config::builtin();
    let text = presets.to_toml_string();
    assert_eq!(Config::from_toml_str(&text).unwrap(), presets);
    assert_eq!(
        text.matches("\n[").count() + 1,
        6,
        "3 policies, 1 breaker, 1 budget, 1 hedge: {text}"
    );
}
