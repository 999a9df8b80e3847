//! Recent events: what changed in the runtime, kept in a small ring for
//! operators ([`recent_events`], the admin router's `/events` and its stream).
//!
//! Only changes are kept: breaker transitions (with their reason), installs
//! (accepted, and refused with the error's text), hot reloads, a budget
//! running dry and recovering, and the fleet (feature `redis`) reaching or
//! losing Redis. Calls, retries and give-ups are not events
//! here (they go to `tracing` and metrics), so however many calls fail, the
//! transition that explains them stays in the ring.
//!
//! Recording takes one mutex (a leaf: nothing else is locked under it), and
//! happens only on those changes, never on a call's path.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use crate::breaker::state::BreakerState;
use crate::budget::DrySpell;

/// How many events the ring keeps; the oldest go first.
pub const CAPACITY: usize = 256;

/// One change in the runtime: a breaker transition, an install, a reload, a
/// budget running dry or recovering. From [`recent_events`].
///
/// It serializes (JSON in the admin router) as
/// `{"seq": 7, "time": "2026-01-01T12:00:00.123Z", "kind": "breaker-transition",
/// "level": "warn", "message": "...", "fields": {"breaker": "s3", ...}}`.
///
/// ```
/// retry_runtime::breaker("default").unwrap().force_open();
/// let last = retry_runtime::recent_events().pop().unwrap();
/// assert_eq!(last.kind, retry_runtime::EventKind::BreakerTransition);
/// assert_eq!(last.fields["to"].to_string(), "forced-open");
/// # retry_runtime::breaker("default").unwrap().reset();
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct Event {
    /// Its number: 1 for the process's first event, one more for each after.
    pub seq: u64,
    /// When it happened (wall clock), serialized as RFC 3339 in UTC.
    #[serde(serialize_with = "rfc3339")]
    pub time: SystemTime,
    /// What happened.
    pub kind: EventKind,
    /// `warn` for what an operator should look at (a breaker opening, a
    /// refused install or reload, a budget running dry), else `info`.
    pub level: EventLevel,
    /// One line for people, as the matching `tracing` event says it.
    pub message: String,
    /// The same facts for programs, by name (`breaker`, `key`, `from`, `to`,
    /// `reason`, `error`, `budget`, ...).
    pub fields: BTreeMap<&'static str, EventField>,
}

/// What an [`Event`] is about. Serialized in kebab case (`breaker-transition`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum EventKind {
    /// A breaker (or a keyed instance) changed state; fields `breaker`, `key`
    /// (keyed instances), `from`, `to`, `reason`.
    BreakerTransition,
    /// A config was installed (by [`install`](crate::install) or the admin
    /// router's `PUT /config`); field `via`.
    Install,
    /// A config was refused; fields `via` and `error` (the error's text).
    InstallRefused,
    /// The watched file was re-installed (`watch(path)`, feature `watch`); field `path`.
    Reload,
    /// The watched file changed but was refused; the running config stays;
    /// fields `path` and `error`.
    ReloadRefused,
    /// A budget refused its first retry after granting; field `budget`.
    BudgetExhausted,
    /// A budget that ran dry granted a retry again; fields `budget` and
    /// `refused` (retries refused meanwhile).
    BudgetRecovered,
    /// The fleet (feature `redis`) reached Redis: joined, or back after a
    /// loss; field `fleet` (the namespace).
    FleetConnected,
    /// The fleet lost Redis (or cannot reach it): breakers run locally until
    /// it is back; fields `fleet` and `error`.
    FleetLost,
}

/// How much an [`Event`] matters. Serialized in lower case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventLevel {
    /// A normal change.
    Info,
    /// Something an operator should look at.
    Warn,
}

/// A value in [`Event::fields`]: text or a number (serialized as such).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum EventField {
    /// Text: a name, a state, an error's message.
    Text(String),
    /// A number: a rate, a count.
    Number(f64),
}

impl fmt::Display for EventField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventField::Text(text) => f.write_str(text),
            EventField::Number(n) => n.fmt(f),
        }
    }
}

impl From<&str> for EventField {
    fn from(text: &str) -> Self {
        EventField::Text(text.to_owned())
    }
}

impl From<String> for EventField {
    fn from(text: String) -> Self {
        EventField::Text(text)
    }
}

impl From<f64> for EventField {
    fn from(n: f64) -> Self {
        EventField::Number(n)
    }
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's signature
fn rfc3339<S: serde::Serializer>(time: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&humantime::format_rfc3339_millis(*time))
}

/// The most recent events, oldest first: at most 256 of them.
///
/// ```standalone_crate
/// use retry_runtime::{Config, EventKind};
///
/// retry_runtime::install(Config::builtin())?;
/// let events = retry_runtime::recent_events();
/// assert_eq!(events.last().map(|e| e.kind), Some(EventKind::Install));
/// # Ok::<(), retry_runtime::InstallError>(())
/// ```
#[must_use]
pub fn recent_events() -> Vec<Event> {
    ring().events.iter().cloned().collect()
}

struct Ring {
    events: VecDeque<Event>,
    seq: u64,
    #[cfg(feature = "admin")]
    subscribers: Vec<subscribe::Sender>,
}

static RING: Mutex<Ring> = Mutex::new(Ring {
    events: VecDeque::new(),
    seq: 0,
    #[cfg(feature = "admin")]
    subscribers: Vec::new(),
});

fn ring() -> MutexGuard<'static, Ring> {
    RING.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Adds an event to the ring and hands it to every subscriber.
fn record(
    kind: EventKind,
    level: EventLevel,
    message: String,
    fields: Vec<(&'static str, EventField)>,
) {
    let mut ring = ring();
    ring.seq += 1;
    let event = Event {
        seq: ring.seq,
        time: SystemTime::now(),
        kind,
        level,
        message,
        fields: fields.into_iter().collect(),
    };
    #[cfg(feature = "admin")]
    ring.subscribers.retain(|s| s.offer(&event));
    if ring.events.len() == CAPACITY {
        ring.events.pop_front();
    }
    ring.events.push_back(event);
}

/// Why a breaker changed state, for its event.
pub(crate) enum Reason<'a> {
    /// A rate reached its threshold: its name and value.
    Rate(&'a str, f64),
    /// Half-open trials did not report in time.
    TrialsHung,
    /// `force_open`, `disable` or `reset`.
    ByHand,
    /// The breaker's own cycle: open → half-open → closed.
    Cycle,
    /// The fleet moved it (feature `redis`): why, in words.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    Fleet(String),
}

/// A breaker transition; `message` is the `tracing` event's text.
pub(crate) fn breaker_transition(
    name: &str,
    key: Option<&str>,
    from: BreakerState,
    to: BreakerState,
    reason: &Reason<'_>,
) {
    let reason_text = match (reason, from, to) {
        (Reason::Rate(rate, value), _, _) => format!("{rate} {value:.2} reached its threshold"),
        (Reason::TrialsHung, _, _) => "trial calls did not report within max_half_open_wait".into(),
        (Reason::ByHand, _, _) => "set by hand".into(),
        (Reason::Fleet(_), _, _) => "fleet".into(),
        (Reason::Cycle, _, BreakerState::HalfOpen) => "open_duration elapsed".into(),
        (Reason::Cycle, BreakerState::HalfOpen, BreakerState::Closed) => {
            "trial calls healthy".into()
        }
        (Reason::Cycle, _, _) => String::new(),
    };
    let label = match key {
        Some(key) => format!("`{name}` key `{key}`"),
        None => format!("`{name}`"),
    };
    let message = if let Reason::Fleet(cause) = reason {
        format!("circuit breaker {label} {from} → {to}: {cause}")
    } else if reason_text.is_empty() {
        format!("circuit breaker {label} {from} → {to}")
    } else {
        format!("circuit breaker {label} {from} → {to}: {reason_text}")
    };
    let level = if matches!(reason, Reason::Rate(..) | Reason::TrialsHung)
        || (matches!(reason, Reason::Fleet(_)) && to == BreakerState::Open)
    {
        EventLevel::Warn
    } else {
        EventLevel::Info
    };
    let mut fields = vec![
        ("breaker", EventField::from(name)),
        ("from", EventField::Text(from.to_string())),
        ("to", EventField::Text(to.to_string())),
        ("reason", EventField::Text(reason_text)),
    ];
    if let Some(key) = key {
        fields.push(("key", EventField::from(key)));
    }
    if let Reason::Rate(rate, value) = reason {
        fields.push(("rate", EventField::from(*rate)));
        fields.push(("value", EventField::Number(*value)));
    }
    if let Reason::Fleet(cause) = reason {
        fields.push(("cause", EventField::from(cause.as_str())));
    }
    record(EventKind::BreakerTransition, level, message, fields);
}

/// The fleet `namespace` (feature `redis`) reached Redis (`error: None`; the
/// message says whether it joined or came back) or lost it.
#[cfg(feature = "redis")]
pub(crate) fn fleet_changed(namespace: &str, message: String, error: Option<&str>) {
    let mut fields = vec![("fleet", EventField::from(namespace))];
    let (kind, level) = match error {
        Some(error) => {
            fields.push(("error", EventField::from(error)));
            (EventKind::FleetLost, EventLevel::Warn)
        }
        None => (EventKind::FleetConnected, EventLevel::Info),
    };
    record(kind, level, message, fields);
}

/// Who installed a config.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Via<'a> {
    /// [`install`](crate::install) called by the application.
    Install,
    /// The admin router's `PUT /config`.
    #[cfg_attr(not(feature = "admin"), allow(dead_code))]
    Admin,
    /// The config watcher, for this file.
    #[cfg_attr(not(feature = "watch"), allow(dead_code))]
    Watch(&'a std::path::Path),
}

/// An install (or reload) accepted, or refused with `error`'s text.
pub(crate) fn installed(via: Via<'_>, error: Option<&dyn fmt::Display>) {
    let (kind, level, message, mut fields) = match (via, error) {
        (Via::Watch(path), None) => (
            EventKind::Reload,
            EventLevel::Info,
            format!("config file {} installed", path.display()),
            vec![("path", EventField::Text(path.display().to_string()))],
        ),
        (Via::Watch(path), Some(_)) => (
            EventKind::ReloadRefused,
            EventLevel::Warn,
            format!(
                "config file {} changed but was refused; the running config stays",
                path.display()
            ),
            vec![("path", EventField::Text(path.display().to_string()))],
        ),
        (via, None) => (
            EventKind::Install,
            EventLevel::Info,
            format!("config installed by {}", via.name()),
            vec![("via", EventField::from(via.name()))],
        ),
        (via, Some(_)) => (
            EventKind::InstallRefused,
            EventLevel::Warn,
            format!("config refused by {}; the running config stays", via.name()),
            vec![("via", EventField::from(via.name()))],
        ),
    };
    if let Some(error) = error {
        fields.push(("error", EventField::Text(error.to_string())));
    }
    record(kind, level, message, fields);
}

impl Via<'_> {
    fn name(self) -> &'static str {
        match self {
            Via::Install => "install()",
            Via::Admin => "the admin router",
            Via::Watch(_) => "the config watcher",
        }
    }
}

/// After a budget's withdrawal decision: an event when it runs dry (first
/// refusal after a grant) or recovers (first grant after refusals), at most
/// one dry spell per budget per quiet interval (see `Budget::note_dry`).
#[allow(clippy::cast_precision_loss)] // counts, shown
pub(crate) fn budget_withdrawal(budget: &crate::budget::Budget, name: &str, granted: bool) {
    match budget.note_dry(granted) {
        None => {}
        Some(DrySpell::Began { repeated }) => {
            let mut message =
                format!("retry budget `{name}` exhausted: retries are refused until it refills");
            if repeated > 0 {
                message.push_str(&format!(
                    " ({repeated} shorter dry spells since the last report)"
                ));
            }
            record(
                EventKind::BudgetExhausted,
                EventLevel::Warn,
                message,
                vec![
                    ("budget", EventField::from(name)),
                    ("repeated", EventField::Number(repeated as f64)),
                ],
            );
        }
        Some(DrySpell::Ended { refused }) => record(
            EventKind::BudgetRecovered,
            EventLevel::Info,
            format!("retry budget `{name}` grants retries again ({refused} refused meanwhile)"),
            vec![
                ("budget", EventField::from(name)),
                ("refused", EventField::Number(refused as f64)),
            ],
        ),
    }
}

/// Subscriptions for the admin router's `/events/stream`: each subscriber
/// has a bounded queue; a full queue drops the event and counts it, so a
/// slow or stalled client never blocks the runtime nor grows its memory.
#[cfg(feature = "admin")]
pub(crate) mod subscribe {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use tokio::sync::mpsc;

    use super::{Event, ring};

    /// The runtime's end of one subscription.
    pub(super) struct Sender {
        queue: mpsc::Sender<Event>,
        dropped: Arc<AtomicU64>,
    }

    impl Sender {
        /// Queues `event`, or counts it as dropped when the queue is full.
        /// `false` once the subscriber is gone.
        pub(super) fn offer(&self, event: &Event) -> bool {
            match self.queue.try_send(event.clone()) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                    true
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        }
    }

    /// The client's end: events as they happen, and how many were dropped.
    pub(crate) struct Subscription {
        pub(crate) events: mpsc::Receiver<Event>,
        pub(crate) dropped: Arc<AtomicU64>,
    }

    /// Subscribes to every event recorded from now on, with a queue of
    /// `capacity` events.
    pub(crate) fn subscribe(capacity: usize) -> Subscription {
        let (queue, events) = mpsc::channel(capacity.max(1));
        let dropped = Arc::new(AtomicU64::new(0));
        ring().subscribers.push(Sender {
            queue,
            dropped: dropped.clone(),
        });
        Subscription { events, dropped }
    }
}
