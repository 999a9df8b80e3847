//! Measuring, part one: the library's own events (retries, give-ups, breaker
//! transitions), captured by a small `tracing` layer, each with the phase of
//! the call it belongs to (from the client's `call` span).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use tracing::field::{Field, Visit};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// One event of `retry_runtime` that the report uses.
#[derive(Clone, Debug, PartialEq)]
pub enum LibEvent {
    /// "attempt failed; retrying".
    Retry {
        /// The attempt that failed.
        attempt: u64,
    },
    /// "giving up", with its reason and the attempts the call made.
    GiveUp {
        /// The event's `call_site` field.
        call_site: String,
        /// The event's `reason` field.
        reason: String,
        /// The event's `attempts` field.
        attempts: u64,
    },
    /// A breaker transition, with the rate that tripped it if one did.
    Transition {
        /// The event's `breaker` field.
        breaker: String,
        /// The state it left.
        from: String,
        /// The state it entered.
        to: String,
        /// The `rate` and `value` fields, present when a threshold tripped it.
        tripped: Option<(String, f64)>,
    },
}

/// A captured event: when, in which call's phase (if inside a call), what.
#[derive(Clone, Debug)]
pub struct Captured {
    /// When it was emitted.
    pub at: std::time::Instant,
    /// The phase the enclosing call started in (from the `call` span).
    pub call_phase: Option<usize>,
    /// The enclosing call's span, to follow one call's events in order.
    pub call_id: Option<u64>,
    /// What it said.
    pub event: LibEvent,
}

/// Where the layer puts what it captures; cheap to clone.
#[derive(Clone, Default)]
pub struct Events(Arc<Mutex<Vec<Captured>>>);

impl Events {
    /// The events captured since `from` (an index into all of them).
    pub fn since(&self, from: usize) -> Vec<Captured> {
        let all = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        all.get(from..).map(<[_]>::to_vec).unwrap_or_default()
    }

    /// How many events were captured so far.
    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

/// A `tracing_subscriber` layer that keeps `retry_runtime`'s retry, give-up
/// and breaker-transition events.
pub struct EventLayer {
    events: Events,
}

impl EventLayer {
    /// A layer that appends to `events`.
    pub fn new(events: Events) -> Self {
        EventLayer { events }
    }
}

/// The phase of a call, kept in its `call` span.
struct CallPhase(usize);

#[derive(Default)]
struct Fields {
    strings: BTreeMap<&'static str, String>,
    numbers: BTreeMap<&'static str, f64>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.strings.insert(field.name(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.strings.insert(field.name(), format!("{value:?}"));
    }

    #[allow(clippy::cast_precision_loss)] // counts in an example
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.numbers.insert(field.name(), value as f64);
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.numbers.insert(field.name(), value);
    }
}

impl Fields {
    fn string(&mut self, name: &str) -> Option<String> {
        self.strings.remove(name)
    }
}

impl<S> tracing_subscriber::Layer<S> for EventLayer
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: Context<'_, S>,
    ) {
        if attrs.metadata().name() != "call" {
            return;
        }
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let (Some(phase), Some(span)) = (fields.numbers.get("phase"), ctx.span(id)) {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // 0..4
            span.extensions_mut().insert(CallPhase(*phase as usize));
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        if !event.metadata().target().starts_with("retry_runtime") {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let captured = if let (Some(from), Some(to)) = (fields.string("from"), fields.string("to"))
        {
            let tripped = fields
                .string("rate")
                .zip(fields.numbers.get("value").copied());
            LibEvent::Transition {
                breaker: fields.string("breaker").unwrap_or_default(),
                from,
                to,
                tripped,
            }
        } else if let Some(reason) = fields.string("reason") {
            LibEvent::GiveUp {
                call_site: fields.string("call_site").unwrap_or_default(),
                reason,
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                attempts: fields.numbers.get("attempts").copied().unwrap_or(0.0) as u64,
            }
        } else if fields.numbers.contains_key("delay_ms") {
            LibEvent::Retry {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                attempt: fields.numbers.get("attempt").copied().unwrap_or(0.0) as u64,
            }
        } else {
            return;
        };
        let call = ctx.event_span(event).and_then(|span| {
            span.scope().find_map(|s| {
                s.extensions()
                    .get::<CallPhase>()
                    .map(|p| (p.0, s.id().into_u64()))
            })
        });
        let (call_phase, call_id) = (call.map(|c| c.0), call.map(|c| c.1));
        self.events
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Captured {
                at: std::time::Instant::now(),
                call_phase,
                call_id,
                event: captured,
            });
    }
}
