//! Metrics of hedges (feature `metrics`): `retry_hedges_total` counts hedges
//! sent, `retry_hedges_won_total` the calls a hedge answered; each hedge is
//! also an attempt (`retry_attempts_total`). And the `DEBUG` event per hedge.

#[path = "support/capture.rs"]
mod capture;

use std::collections::HashMap;
use std::io;
use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use retry_runtime::{Config, current_attempt, install, retryable};

const CONFIG: &str = r#"
[policies.h]
max_attempts = 3
backoff = "constant"
initial_delay = "10ms"
jitter = "none"

[hedges.h]
delay = "20ms"
"#;

/// The first attempt takes `first_ms`, a hedge 5 ms.
#[retryable(policy = "h", hedge = "h", idempotent, name = "h.call")]
async fn call(first_ms: u64) -> io::Result<bool> {
    let hedge = current_attempt().unwrap().is_hedge();
    let wait = if hedge { 5 } else { first_ms };
    tokio::time::sleep(Duration::from_millis(wait)).await;
    Ok(hedge)
}

/// Every counter by name (one snapshot: reading it resets the recorder's view).
fn counters(recorder: &metrics_util::debugging::Snapshotter) -> HashMap<String, u64> {
    recorder
        .snapshot()
        .into_vec()
        .into_iter()
        .filter_map(|(key, _, _, value)| match value {
            DebugValue::Counter(n) => Some((key.key().name().to_owned(), n)),
            _ => None,
        })
        .collect()
}

#[test]
fn hedges_sent_and_won_are_counted_and_each_hedge_is_a_debug_event() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder
        .install()
        .expect("the only recorder of this binary");
    install(Config::from_toml_str(CONFIG).unwrap()).unwrap();
    let events = capture::Capture::default();
    let _default = tracing::subscriber::set_default(events.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async {
        assert!(
            !call(10).await.unwrap(),
            "answered before the delay: no hedge"
        );
        assert!(
            call(1000).await.unwrap(),
            "the hedge sent at 20 ms answers at 25 ms"
        );
        assert!(
            !call(22).await.unwrap(),
            "a hedge is sent at 20 ms, the first answers at 22 ms"
        );
    });
    let counters = counters(&snapshotter);
    assert_eq!(counters["retry_hedges_total"], 2);
    assert_eq!(counters["retry_hedges_won_total"], 1);
    assert_eq!(counters["retry_attempts_total"], 3 + 2);
    let hedges: Vec<_> = events
        .take()
        .into_iter()
        .filter(|e| e.message() == "attempt slow: sending a hedge")
        .collect();
    assert_eq!(hedges.len(), 2, "{hedges:?}");
    for event in &hedges {
        assert_eq!(event.level, tracing::Level::DEBUG);
        assert_eq!(event.field("call_site"), "h.call");
        assert_eq!(event.field("hedge"), "h");
        assert_eq!(event.field("attempt"), "2");
        assert_eq!(event.field("delay"), "Some(20ms)");
    }
}
