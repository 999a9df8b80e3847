//! The `metrics` feature: counters and gauges of the README's table, read back
//! from `metrics-util`'s debugging recorder. One scenario, in order: the recorder
//! must be installed before the first call (handles are cached per call site).

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicU32, Ordering};

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use metrics_util::{CompositeKey, MetricKind};
use retry_runtime::{Config, install, retryable};

const CONFIG: &str = r#"
[policies.m]
max_attempts = 3
backoff = "constant"
initial_delay = "10ms"
jitter = "none"

[breakers.m]
window_size = 4
minimum_calls = 4
failure_rate_threshold = 1.0
open_duration = "10s"

[breakers.keyed]
window_size = 2
minimum_calls = 2
failure_rate_threshold = 1.0
open_duration = "10s"

[budgets.m]
ttl = "10s"
min_retries_per_sec = 0
retry_ratio = 0.5
"#;

#[retryable(policy = "m", breaker = "m", budget = "m", name = "m.call")]
async fn call(fail: bool, attempts: &AtomicU32) -> io::Result<u32> {
    attempts.fetch_add(1, Ordering::SeqCst);
    if fail {
        Err(io::ErrorKind::ConnectionReset.into())
    } else {
        Ok(1)
    }
}

#[retryable(policy = "m", breaker = "keyed", breaker_key = host)]
async fn keyed_call(host: &str) -> io::Result<u32> {
    let _ = host;
    Err(io::ErrorKind::ConnectionReset.into())
}

fn values(snapshotter: &Snapshotter) -> HashMap<String, f64> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value): (CompositeKey, _, _, DebugValue)| {
            let kind = key.kind();
            let key = key.key();
            let mut labels: Vec<String> = key
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            labels.sort();
            let name = format!("{}{{{}}}", key.name(), labels.join(","));
            #[allow(clippy::cast_precision_loss)]
            let value = match (kind, value) {
                (MetricKind::Counter, DebugValue::Counter(n)) => n as f64,
                (MetricKind::Gauge, DebugValue::Gauge(g)) => g.into_inner(),
                (_, other) => panic!("unexpected {name}: {other:?}"),
            };
            (name, value)
        })
        .collect()
}

#[test]
fn counters_and_gauges() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder
        .install()
        .expect("the only recorder of this binary");
    install(Config::from_toml_str(CONFIG).unwrap()).unwrap();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async {
        let attempts = AtomicU32::new(0);
        // Two successes: the budget (no reserve) holds 2 × 0.5 = 1 retry.
        call(false, &attempts).await.unwrap();
        call(false, &attempts).await.unwrap();
        // Deposit → 1.5; one retry (→ 0.5); the second is refused by the budget.
        call(true, &attempts).await.unwrap_err();
        // Deposit → 1.0; one retry (→ 0.0); its failure makes the window of four all
        // failures, opening the breaker, so the call gives up at once: the breaker
        // would refuse the next retry (counted as a breaker rejection), and the
        // budget is not asked.
        call(true, &attempts).await.unwrap_err();
        // The breaker rejects this call's first attempt.
        call(true, &attempts).await.unwrap_err();
        assert_eq!(attempts.load(Ordering::SeqCst), 2 + 2 + 2);

        // Keyed instances: nothing per key until the program opts in.
        keyed_call("quiet").await.unwrap_err();
        keyed_call("quiet").await.unwrap_err();
        retry_runtime::metrics::set_key_labels(true);
        keyed_call("loud").await.unwrap_err();
        keyed_call("loud").await.unwrap_err();
    });

    let v = values(&snapshotter);
    let get = |name: &str| *v.get(name).unwrap_or_else(|| panic!("no {name} in {v:#?}"));
    assert_eq!(get("retry_calls_total{call_site=m.call,outcome=ok}"), 2.0);
    assert_eq!(
        get("retry_calls_total{call_site=m.call,outcome=error}"),
        2.0
    );
    assert_eq!(
        get("retry_calls_total{call_site=m.call,outcome=rejected}"),
        1.0
    );
    // Attempts counts every attempt started, the rejected one included.
    assert_eq!(get("retry_attempts_total{call_site=m.call}"), 7.0);
    assert_eq!(get("retry_retries_total{call_site=m.call}"), 2.0);
    assert_eq!(
        get("retry_budget_exhausted_total{budget=m,call_site=m.call}"),
        1.0
    );
    // The retry of the call that opened the breaker, and the rejected call.
    assert_eq!(
        get("retry_breaker_rejections_total{breaker=m,call_site=m.call}"),
        2.0
    );
    assert_eq!(get("retry_breaker_state{breaker=m}"), 1.0, "open");
    assert_eq!(get("retry_budget_balance{budget=m}"), 0.0);

    // Both keyed instances opened; only the one that opened after the opt-in
    // has a `key`-labelled state, and the named breaker's own gauge is untouched.
    assert_eq!(
        get("retry_breaker_state{breaker=keyed,key=loud}"),
        1.0,
        "open"
    );
    assert!(!v.contains_key("retry_breaker_state{breaker=keyed,key=quiet}"));
    assert!(!v.contains_key("retry_breaker_state{breaker=keyed}"));
    assert_eq!(get("retry_breaker_keys{breaker=keyed}"), 2.0);
}
