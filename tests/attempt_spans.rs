//! One `retry.attempt` span per attempt (DESIGN §14), child of the span that
//! was current where the function was called.

#[path = "support/capture.rs"]
mod capture;
mod support;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use capture::Fields;
use retry_runtime::retryable;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Instrument, Level, Metadata, Subscriber};

const CONFIG: &str = r#"
[policies.spans]
max_attempts = 3
backoff = "constant"
initial_delay = "10ms"
jitter = "none"

[hedges.spans]
delay = "20ms"
"#;

/// A span as the subscriber saw it created.
#[derive(Debug, Clone)]
struct SeenSpan {
    id: u64,
    name: &'static str,
    target: String,
    level: Level,
    parent: Option<u64>,
    fields: BTreeMap<String, String>,
}

#[derive(Clone, Default)]
struct Spans {
    seen: Arc<Mutex<Vec<SeenSpan>>>,
    next: Arc<AtomicU64>,
}

thread_local! {
    static STACK: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

impl Subscriber for Spans {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let parent = if attrs.is_contextual() {
            STACK.with(|s| s.borrow().last().copied())
        } else {
            attrs.parent().map(Id::into_u64)
        };
        let mut fields = BTreeMap::new();
        attrs.record(&mut Fields(&mut fields));
        self.seen.lock().unwrap().push(SeenSpan {
            id,
            name: attrs.metadata().name(),
            target: attrs.metadata().target().to_owned(),
            level: *attrs.metadata().level(),
            parent,
            fields,
        });
        Id::from_u64(id)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, _: &Event<'_>) {}

    fn enter(&self, id: &Id) {
        STACK.with(|s| s.borrow_mut().push(id.into_u64()));
    }

    fn exit(&self, _: &Id) {
        STACK.with(|s| s.borrow_mut().pop());
    }
}

impl Spans {
    fn attempts(&self) -> Vec<SeenSpan> {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .filter(|s| s.name == "retry.attempt")
            .cloned()
            .collect()
    }

    fn id_of(&self, name: &str) -> u64 {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .find(|s| s.name == name)
            .unwrap()
            .id
    }
}

#[retryable(policy = "spans")]
async fn flaky(failures: &AtomicU32) -> io::Result<u32> {
    if failures.fetch_sub(1, Ordering::SeqCst) > 0 {
        return Err(io::ErrorKind::ConnectionReset.into());
    }
    Ok(7)
}

#[tokio::test(start_paused = true)]
async fn three_attempts_make_three_spans_under_the_callers_span() {
    support::install_once(CONFIG);
    let spans = Spans::default();
    let _default = tracing::subscriber::set_default(spans.clone());
    let failures = AtomicU32::new(2);
    let result = flaky(&failures)
        .instrument(tracing::info_span!("request"))
        .await;
    assert_eq!(result.unwrap(), 7);
    let request = spans.id_of("request");
    let attempts = spans.attempts();
    assert_eq!(attempts.len(), 3, "{attempts:?}");
    for (i, span) in attempts.iter().enumerate() {
        assert_eq!(span.target, "retry_runtime");
        assert_eq!(span.level, Level::DEBUG);
        assert_eq!(
            span.parent,
            Some(request),
            "child of the caller's span: {span:?}"
        );
        assert_eq!(span.fields["attempt"], (i + 1).to_string());
        assert_eq!(span.fields["hedge"], "false");
        assert!(span.fields["call_site"].ends_with("::flaky"), "{span:?}");
    }
}

#[retryable(policy = "spans", hedge = "spans", idempotent)]
async fn slow_first() -> io::Result<bool> {
    let attempt = retry_runtime::current_attempt().unwrap();
    if !attempt.is_hedge() {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Ok(attempt.is_hedge())
}

#[tokio::test(start_paused = true)]
async fn a_hedge_has_its_own_span_marked_hedge() {
    support::install_once(CONFIG);
    let spans = Spans::default();
    let _default = tracing::subscriber::set_default(spans.clone());
    let won_by_hedge = slow_first()
        .instrument(tracing::info_span!("request"))
        .await
        .unwrap();
    assert!(won_by_hedge);
    let request = spans.id_of("request");
    let attempts = spans.attempts();
    let shown: Vec<(&str, &str)> = attempts
        .iter()
        .map(|s| (s.fields["attempt"].as_str(), s.fields["hedge"].as_str()))
        .collect();
    assert_eq!(shown, [("1", "false"), ("2", "true")]);
    assert!(attempts.iter().all(|s| s.parent == Some(request)));
}
