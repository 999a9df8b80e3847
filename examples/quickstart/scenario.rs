//! The quickstart's scenario: a flaky key-value server on loopback, clients that
//! call it through `#[retryable]`, and a report of what happened, computed from
//! the run (the server's counters, the clients' counters and the library's own
//! `tracing` events).
//!
//! `examples/quickstart.rs` runs it with its default settings and prints the
//! report; `tests/quickstart.rs` runs it with other failure rates and a shorter
//! schedule, and checks that the report follows.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use retry_runtime::{BreakerState, Class, Classify, Rejected, retryable};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tracing::Instrument as _;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

// ---------------------------------------------------------------------------
// The client: what a user of the framework writes.
// ---------------------------------------------------------------------------

/// What can go wrong talking to the store.
#[derive(Debug)]
pub enum StoreError {
    /// The server answered "unavailable": worth another try.
    Unavailable,
    /// The server asked us to come back later.
    Throttled(Duration),
    /// The connection failed.
    Io(io::Error),
    /// The framework refused the call (open breaker) or cut an attempt short.
    Rejected(Rejected),
}

impl Classify for StoreError {
    fn classify(&self) -> Class {
        match self {
            StoreError::Unavailable => Class::Transient,
            StoreError::Throttled(after) => Class::RetryAfter(*after),
            StoreError::Io(e) => e.classify(),
            StoreError::Rejected(r) => r.classify(),
        }
    }
}

impl From<Rejected> for StoreError {
    fn from(r: Rejected) -> Self {
        StoreError::Rejected(r)
    }
}

impl From<io::Error> for StoreError {
    fn from(e: io::Error) -> Self {
        StoreError::Io(e)
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Unavailable => f.write_str("service unavailable"),
            StoreError::Throttled(d) => write!(f, "throttled, retry after {d:?}"),
            StoreError::Io(e) => write!(f, "i/o: {e}"),
            StoreError::Rejected(r) => r.fmt(f),
        }
    }
}

/// One client task's connection settings and attempt counter.
struct StoreClient {
    addr: SocketAddr,
    /// Requests this client sent (every attempt the breaker let through).
    attempts: AtomicU64,
}

impl StoreClient {
    #[retryable(
        policy = "storage",
        breaker = "storage",
        budget = "storage",
        name = "store.get"
    )]
    async fn get(&self, key: &str) -> Result<String, StoreError> {
        self.request(&format!("GET {key}")).await
    }

    #[retryable(
        policy = "storage-writes",
        breaker = "storage",
        budget = "storage",
        name = "store.put"
    )]
    async fn put(&self, key: &str, value: String) -> Result<(), StoreError> {
        self.request(&format!("PUT {key} {value}")).await.map(drop)
    }

    /// One request on a fresh connection: a line out, a line back.
    async fn request(&self, line: &str) -> Result<String, StoreError> {
        self.attempts.fetch_add(1, Ordering::Relaxed);
        let mut stream = TcpStream::connect(self.addr).await?;
        stream.write_all(format!("{line}\n").as_bytes()).await?;
        let mut reply = String::new();
        BufReader::new(stream).read_line(&mut reply).await?;
        let reply = reply.trim_end();
        match reply.split_once(' ').unwrap_or((reply, "")) {
            ("OK", value) => Ok(value.to_owned()),
            ("UNAVAILABLE", _) => Err(StoreError::Unavailable),
            ("THROTTLE", ms) => match ms.parse() {
                Ok(ms) => Err(StoreError::Throttled(Duration::from_millis(ms))),
                Err(_) => Err(StoreError::Unavailable),
            },
            _ => Err(
                io::Error::new(io::ErrorKind::InvalidData, format!("bad reply {reply:?}")).into(),
            ),
        }
    }
}

// ---------------------------------------------------------------------------
// The scenario's settings.
// ---------------------------------------------------------------------------

/// The number of phases.
pub const PHASES: usize = 4;

/// The server's phases, in order, each `Scenario::phase_length` long.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Phase {
    /// Occasional failures and throttling.
    Flaky,
    /// Many failures.
    Brownout,
    /// Every request fails (by default).
    Outage,
    /// Healthy again (by default).
    Recovery,
}

impl Phase {
    /// Every phase, in order.
    pub const ALL: [Phase; PHASES] = [
        Phase::Flaky,
        Phase::Brownout,
        Phase::Outage,
        Phase::Recovery,
    ];

    /// The phase's name in the output.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Flaky => "flaky",
            Phase::Brownout => "brownout",
            Phase::Outage => "outage",
            Phase::Recovery => "recovery",
        }
    }

    /// The phase's position in [`Phase::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// How live progress is shown.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Progress {
    /// Not at all (tests).
    Off,
    /// One line about every second (output to a file or a pipe).
    Lines,
    /// A status line redrawn in place (a terminal).
    Redraw,
}

/// What the run does: how long, how many clients, how the server fails.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The length of each phase.
    pub phase_length: Duration,
    /// Client tasks calling the server concurrently.
    pub workers: u64,
    /// Seeds the server's draws, so that a run can be repeated.
    pub seed: u64,
    /// The share of requests the server answers "unavailable", per phase.
    pub failure_rate: [f64; PHASES],
    /// The share of requests the server throttles in the flaky phase.
    pub throttle_rate: f64,
    /// The delay a throttled request is told to wait.
    pub throttle_after: Duration,
    /// Live progress on standard output.
    pub progress: Progress,
}

impl Default for Scenario {
    /// The quickstart's run: four phases of 2.5 s, eight clients.
    fn default() -> Self {
        Scenario {
            phase_length: Duration::from_millis(2500),
            workers: 8,
            seed: 2024,
            failure_rate: [0.10, 0.30, 1.0, 0.0],
            throttle_rate: 0.04,
            throttle_after: Duration::from_millis(50),
            progress: Progress::Lines,
        }
    }
}

// ---------------------------------------------------------------------------
// The flaky server.
// ---------------------------------------------------------------------------

/// The server's own counts for one phase (by the phase a request arrived in).
#[derive(Default)]
struct ServerCounts {
    requests: AtomicU64,
    unavailable: AtomicU64,
    throttled: AtomicU64,
}

struct Server {
    scenario: Scenario,
    start: Instant,
    served: AtomicU64,
    counts: [ServerCounts; PHASES],
}

impl Server {
    /// Decides one request's answer from the seed and the request's number:
    /// repeatable, and independent from one request to the next.
    fn answer(&self, phase: Phase, n: u64) -> String {
        let draw = unit(splitmix64(self.scenario.seed ^ n.wrapping_mul(0x9E37_79B9)));
        let fail = self.scenario.failure_rate[phase.index()];
        let throttle = if phase == Phase::Flaky {
            self.scenario.throttle_rate
        } else {
            0.0
        };
        let counts = &self.counts[phase.index()];
        if draw < fail {
            counts.unavailable.fetch_add(1, Ordering::Relaxed);
            "UNAVAILABLE".to_owned()
        } else if draw < fail + throttle {
            counts.throttled.fetch_add(1, Ordering::Relaxed);
            format!("THROTTLE {}", self.scenario.throttle_after.as_millis())
        } else {
            format!("OK value-{n}")
        }
    }
}

async fn serve(listener: TcpListener, server: Arc<Server>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let server = Arc::clone(&server);
        tokio::spawn(async move {
            let phase = phase_at(&server.scenario, server.start.elapsed());
            let n = server.served.fetch_add(1, Ordering::Relaxed);
            server.counts[phase.index()]
                .requests
                .fetch_add(1, Ordering::Relaxed);
            let (read, mut write) = stream.into_split();
            let mut line = String::new();
            if BufReader::new(read).read_line(&mut line).await.is_err() {
                return;
            }
            let reply = server.answer(phase, n);
            // A little service time, so that calls overlap as they do in real life.
            tokio::time::sleep(Duration::from_millis(2)).await;
            let _ = write.write_all(format!("{reply}\n").as_bytes()).await;
        });
    }
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A uniform draw in [0, 1) from 53 bits.
#[allow(clippy::cast_precision_loss)] // 53 bits convert exactly
fn unit(x: u64) -> f64 {
    (x >> 11) as f64 / (1u64 << 53) as f64
}

fn phase_at(scenario: &Scenario, elapsed: Duration) -> Phase {
    let index = elapsed.as_nanos() / scenario.phase_length.as_nanos().max(1);
    Phase::ALL[usize::try_from(index).unwrap_or(PHASES).min(PHASES - 1)]
}

// ---------------------------------------------------------------------------
// The library's own events, captured by a `tracing` layer.
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// The run.
// ---------------------------------------------------------------------------

/// What the clients saw in one phase (by the phase a call started in).
#[derive(Default)]
struct ClientCounts {
    calls: AtomicU64,
    ok: AtomicU64,
    ok_after_retry: AtomicU64,
    failed: AtomicU64,
    fast_failed: AtomicU64,
    attempts: AtomicU64,
}

/// The give-up reasons of the library's "giving up" events.
pub const REASON_BUDGET: &str = "retry budget exhausted";
/// A retry refused by the breaker.
pub const REASON_BREAKER: &str = "circuit breaker open";

/// One phase's figures, every one counted during the run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PhaseReport {
    /// Calls started in the phase.
    pub calls: u64,
    /// Of those, calls that returned a value.
    pub ok: u64,
    /// Of the `ok` calls, those that needed more than one attempt.
    pub ok_after_retry: u64,
    /// Calls that returned an error from the server (their last attempt's).
    pub failed: u64,
    /// Calls the breaker refused before their first attempt (`Rejected::BreakerOpen`).
    pub fast_failed: u64,
    /// Requests the clients sent for calls started in the phase.
    pub attempts: u64,
    /// "attempt failed; retrying" events of those calls.
    pub retries: u64,
    /// "giving up" events of those calls, by reason.
    pub gave_up: BTreeMap<String, u64>,
    /// Of the give-ups for an open breaker, those that came after a retry was
    /// announced: the breaker refused the retry when its backoff ended. The
    /// others gave up without sleeping: their own failure (or another call's)
    /// had opened the breaker, which would still be open after the backoff.
    pub retries_refused: u64,
    /// Of the give-ups for an empty budget, those that came after a retry was
    /// announced: the budget held a retry when the call decided to retry, but
    /// other calls had taken it by the time its backoff ended. The others gave
    /// up at once, without sleeping.
    pub budget_refused_after_sleep: u64,
    /// For the calls the budget stopped: attempts their policy still allowed.
    pub budget_spared: u64,
    /// Requests that reached the server during the phase.
    pub server_requests: u64,
    /// Of those, answered "unavailable".
    pub server_unavailable: u64,
    /// Of those, throttled.
    pub server_throttled: u64,
}

impl PhaseReport {
    /// Give-ups for `reason`.
    pub fn gave_up(&self, reason: &str) -> u64 {
        self.gave_up.get(reason).copied().unwrap_or(0)
    }
}

/// A breaker transition, from the library's event.
#[derive(Clone, Debug, PartialEq)]
pub struct Transition {
    /// Time since the run started.
    pub at: Duration,
    /// The phase the server was in then.
    pub phase: Phase,
    /// The breaker's name.
    pub breaker: String,
    /// The state it left.
    pub from: String,
    /// The state it entered.
    pub to: String,
    /// The rate that reached its threshold, if one did.
    pub tripped: Option<(String, f64)>,
}

/// Everything the summary prints.
#[derive(Clone, Debug)]
pub struct Report {
    /// The phase length of the run.
    pub phase_length: Duration,
    /// Per phase.
    pub phases: [PhaseReport; PHASES],
    /// Every transition of the `storage` breaker, in order.
    pub transitions: Vec<Transition>,
    /// Attempts the breaker refused during the run (`BreakerMetrics::not_permitted`).
    pub breaker_refused: u64,
    /// Retries the budget refused during the run (`BudgetHandle::exhausted`).
    pub budget_refused: u64,
    /// The breaker's state at the end.
    pub final_state: BreakerState,
}

/// Runs the scenario: starts the server, drives the clients through the
/// phases, shows progress, and returns the report. `events` must be the store
/// of an [`EventLayer`] installed in the global subscriber.
pub async fn run(
    scenario: &Scenario,
    events: &Events,
) -> Result<Report, Box<dyn std::error::Error + Send + Sync>> {
    let breaker =
        retry_runtime::breaker("storage").ok_or("the config defines the `storage` breaker")?;
    let budget =
        retry_runtime::budget("storage").ok_or("the config defines the `storage` budget")?;
    let config = retry_runtime::current_config();
    let max_attempts: BTreeMap<&str, u64> = retry_runtime::call_sites()
        .iter()
        .filter_map(|site| {
            let policy = config.policy(site.policy())?;
            Some((site.name(), u64::from(policy.max_attempts)))
        })
        .collect();
    let refused_before = breaker.metrics().not_permitted;
    let budget_before = budget.exhausted();
    let first_event = events.len();

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let start = Instant::now();
    let std_start = std::time::Instant::now();
    let server = Arc::new(Server {
        scenario: scenario.clone(),
        start,
        served: AtomicU64::new(0),
        counts: Default::default(),
    });
    let server_task = tokio::spawn(serve(listener, Arc::clone(&server)));
    if scenario.progress != Progress::Off {
        println!(
            "Storage service listening on {addr}: {} clients, {PHASES} phases of {:?}.",
            scenario.workers, scenario.phase_length
        );
        println!(
            "Progress, for the calls started in the current phase: calls, ok, failed (the server's error), \
             fast-failed (refused by the open breaker), requests sent; the breaker's state; \
             budget = retries the `storage` budget would allow now.\n"
        );
    }

    let counts: Arc<[ClientCounts; PHASES]> = Arc::new(Default::default());
    let total = scenario.phase_length * u32::try_from(PHASES)?;
    let end = start + total;
    let mut workers = Vec::new();
    for worker in 0..scenario.workers {
        let counts = Arc::clone(&counts);
        let scenario = scenario.clone();
        workers.push(tokio::spawn(async move {
            let client = StoreClient {
                addr,
                attempts: AtomicU64::new(0),
            };
            let mut i = 0u64;
            while Instant::now() < end {
                i += 1;
                let phase = phase_at(&scenario, start.elapsed());
                let tally = &counts[phase.index()];
                let attempts_before = client.attempts.load(Ordering::Relaxed);
                // The span tells the event layer which phase this call belongs to.
                let span = tracing::info_span!("call", phase = phase.index() as u64);
                let result = async {
                    if i.is_multiple_of(5) {
                        client.put(&format!("k{worker}-{i}"), format!("v{i}")).await
                    } else {
                        client.get(&format!("k{worker}-{i}")).await.map(drop)
                    }
                }
                .instrument(span)
                .await;
                let attempts = client.attempts.load(Ordering::Relaxed) - attempts_before;
                tally.calls.fetch_add(1, Ordering::Relaxed);
                tally.attempts.fetch_add(attempts, Ordering::Relaxed);
                match result {
                    Ok(()) => {
                        tally.ok.fetch_add(1, Ordering::Relaxed);
                        if attempts > 1 {
                            tally.ok_after_retry.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(StoreError::Rejected(Rejected::BreakerOpen { .. })) => {
                        tally.fast_failed.fetch_add(1, Ordering::Relaxed);
                        // A real client would serve a fallback here; pace ourselves.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    Err(_) => {
                        tally.failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }));
    }

    let mut shown = first_event;
    let mut last_phase = None;
    let mut ticker = tokio::time::interval(Duration::from_millis(20));
    let print_every = match scenario.progress {
        Progress::Redraw => 5,
        _ => 50,
    };
    let mut ticks = 0u64;
    let mut last_line_len = false;
    loop {
        ticker.tick().await;
        ticks += 1;
        let elapsed = start.elapsed();
        let phase = phase_at(
            scenario,
            elapsed.min(total.saturating_sub(Duration::from_nanos(1))),
        );
        let mut lines = Vec::new();
        if last_phase != Some(phase) {
            last_phase = Some(phase);
            lines.push(format!(
                "[{:>5.2}s] the server enters its {} phase: it is set to fail {:.0}% of requests{}",
                (scenario.phase_length * u32::try_from(phase.index())?).as_secs_f64(),
                phase.name(),
                100.0 * scenario.failure_rate[phase.index()],
                if phase == Phase::Flaky && scenario.throttle_rate > 0.0 {
                    format!(" and to throttle {:.0}%", 100.0 * scenario.throttle_rate)
                } else {
                    String::new()
                }
            ));
        }
        let new = events.since(shown);
        shown += new.len();
        for captured in &new {
            if let LibEvent::Transition { .. } = captured.event
                && let Some(t) = transition(scenario, std_start, captured)
            {
                lines.push(format!("[{:>5.2}s] {}", t.at.as_secs_f64(), describe(&t)));
            }
        }
        if scenario.progress != Progress::Off {
            let redraw = scenario.progress == Progress::Redraw;
            for line in lines {
                if redraw && last_line_len {
                    print!("\r\x1b[2K");
                }
                println!("{line}");
                last_line_len = false;
            }
            if ticks.is_multiple_of(print_every) {
                let t = &counts[phase.index()];
                let line = format!(
                    "[{:>5.2}s] {:<8} calls {:>5}  ok {:>5}  failed {:>4}  fast-failed {:>4}  requests {:>5}  breaker {:<9}  budget {:>5.1}",
                    elapsed.as_secs_f64(),
                    phase.name(),
                    t.calls.load(Ordering::Relaxed),
                    t.ok.load(Ordering::Relaxed),
                    t.failed.load(Ordering::Relaxed),
                    t.fast_failed.load(Ordering::Relaxed),
                    t.attempts.load(Ordering::Relaxed),
                    breaker.state().to_string(),
                    budget.balance(),
                );
                if redraw {
                    print!("\r\x1b[2K{line}");
                    io::stdout().flush()?;
                    last_line_len = true;
                } else {
                    println!("{line}");
                }
            }
        }
        if elapsed >= total {
            break;
        }
    }
    for worker in workers {
        worker.await?;
    }
    if last_line_len {
        print!("\r\x1b[2K");
    }
    server_task.abort();

    // Every call has returned, so every event of the run has been captured.
    let captured = events.since(first_event);
    let mut phases: [PhaseReport; PHASES] = Default::default();
    for (report, (client, server)) in phases
        .iter_mut()
        .zip(counts.iter().zip(server.counts.iter()))
    {
        report.calls = client.calls.load(Ordering::Relaxed);
        report.ok = client.ok.load(Ordering::Relaxed);
        report.ok_after_retry = client.ok_after_retry.load(Ordering::Relaxed);
        report.failed = client.failed.load(Ordering::Relaxed);
        report.fast_failed = client.fast_failed.load(Ordering::Relaxed);
        report.attempts = client.attempts.load(Ordering::Relaxed);
        report.server_requests = server.requests.load(Ordering::Relaxed);
        report.server_unavailable = server.unavailable.load(Ordering::Relaxed);
        report.server_throttled = server.throttled.load(Ordering::Relaxed);
    }
    let mut transitions = Vec::new();
    // The attempt after which each call last announced a retry.
    let mut announced: std::collections::HashMap<u64, u64> = std::collections::HashMap::new();
    for c in &captured {
        // A give-up right after its retry was announced (same attempt count):
        // the breaker or the budget refused that retry when the backoff ended.
        let after_retry = match (&c.event, c.call_id) {
            (LibEvent::Retry { attempt }, Some(id)) => {
                announced.insert(id, *attempt);
                false
            }
            (LibEvent::GiveUp { attempts, .. }, Some(id)) => announced.get(&id) == Some(attempts),
            _ => false,
        };
        match (&c.event, c.call_phase.and_then(|p| phases.get_mut(p))) {
            (LibEvent::Retry { .. }, Some(report)) => report.retries += 1,
            (
                LibEvent::GiveUp {
                    call_site,
                    reason,
                    attempts,
                },
                Some(report),
            ) => {
                *report.gave_up.entry(reason.clone()).or_default() += 1;
                if reason == REASON_BREAKER && after_retry {
                    report.retries_refused += 1;
                }
                if reason == REASON_BUDGET && after_retry {
                    report.budget_refused_after_sleep += 1;
                }
                if reason == REASON_BUDGET {
                    let allowed = max_attempts.get(call_site.as_str()).copied().unwrap_or(0);
                    report.budget_spared += allowed.saturating_sub(*attempts);
                }
            }
            (LibEvent::Transition { .. }, _) => {
                transitions.extend(transition(scenario, std_start, c));
            }
            _ => {}
        }
    }
    Ok(Report {
        phase_length: scenario.phase_length,
        phases,
        transitions,
        breaker_refused: breaker.metrics().not_permitted - refused_before,
        budget_refused: budget.exhausted() - budget_before,
        final_state: breaker.state(),
    })
}

/// A transition event of the `storage` breaker, placed in the run's time.
fn transition(
    scenario: &Scenario,
    std_start: std::time::Instant,
    captured: &Captured,
) -> Option<Transition> {
    let LibEvent::Transition {
        breaker,
        from,
        to,
        tripped,
    } = &captured.event
    else {
        return None;
    };
    if breaker != "storage" {
        return None;
    }
    let at = captured.at.saturating_duration_since(std_start);
    Some(Transition {
        at,
        phase: phase_at(scenario, at),
        breaker: breaker.clone(),
        from: from.clone(),
        to: to.clone(),
        tripped: tripped.clone(),
    })
}

/// One transition in words.
pub fn describe(t: &Transition) -> String {
    let why = match (&t.tripped, t.from.as_str(), t.to.as_str()) {
        (Some((rate, value)), _, _) => format!(": {rate} {value:.2} reached its threshold"),
        (None, "open", "half-open") => ": open_duration over, trial calls allowed".to_owned(),
        (None, "half-open", "closed") => ": the trial calls were healthy".to_owned(),
        _ => String::new(),
    };
    format!(
        "breaker `{}` {} → {}{why} ({} phase)",
        t.breaker,
        t.from,
        t.to,
        t.phase.name()
    )
}

// ---------------------------------------------------------------------------
// The summary.
// ---------------------------------------------------------------------------

fn plural(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

#[allow(clippy::cast_precision_loss)] // display only
fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        "-".to_owned()
    } else {
        format!("{:.1}%", 100.0 * part as f64 / whole as f64)
    }
}

#[allow(clippy::cast_precision_loss)] // display only
fn ratio(part: u64, whole: u64) -> String {
    if whole == 0 {
        "-".to_owned()
    } else {
        format!("{:.2}", part as f64 / whole as f64)
    }
}

impl Report {
    /// The summary table's row for one phase.
    pub fn row(&self, phase: Phase) -> String {
        let p = &self.phases[phase.index()];
        format!(
            "  {:<9} {:>6} {:>6} {:>7} {:>12} {:>9} {:>8} {:>11} {:>10}",
            phase.name(),
            p.calls,
            p.ok,
            p.failed,
            p.fast_failed,
            p.attempts,
            ratio(p.attempts, p.calls),
            p.server_requests,
            p.server_unavailable + p.server_throttled,
        )
    }

    /// The line of prose for one phase: what it showed and what it cost.
    pub fn phase_line(&self, phase: Phase) -> String {
        let p = &self.phases[phase.index()];
        let server_failed = p.server_unavailable + p.server_throttled;
        let opened: Vec<&Transition> = self
            .transitions
            .iter()
            .filter(|t| t.phase == phase && t.to == "open")
            .collect();
        let mut s = format!(
            "- {}: the server failed {} of the {} requests it received ({})",
            phase.name(),
            server_failed,
            p.server_requests,
            percent(server_failed, p.server_requests),
        );
        if p.server_throttled > 0 {
            let _ = write!(s, ", {} of them throttled", p.server_throttled);
        }
        let _ = write!(
            s,
            ". Of {} calls, {} succeeded ({}), {} of them after a retry; {} failed with the server's error ({}) and {} were refused by the breaker ({}).",
            p.calls,
            p.ok,
            percent(p.ok, p.calls),
            p.ok_after_retry,
            p.failed,
            percent(p.failed, p.calls),
            p.fast_failed,
            percent(p.fast_failed, p.calls),
        );
        let _ = write!(
            s,
            " Retries: {}, so {} requests per call ({} calls sent none).",
            p.retries,
            ratio(p.attempts, p.calls),
            p.fast_failed,
        );
        let budget = p.gave_up(REASON_BUDGET);
        if budget > 0 {
            let late = p.budget_refused_after_sleep;
            let when = if late == 0 {
                "at once".to_owned()
            } else {
                format!(
                    "at once ({late} when the backoff ended: other calls had taken the budget's last retries while they slept)"
                )
            };
            let _ = write!(
                s,
                " The budget refused {budget} {}: those calls returned their last error {when} instead of making up to {} more requests.",
                plural(budget, "retry", "retries"),
                p.budget_spared
            );
        }
        let refused = p.retries_refused;
        if refused > 0 {
            let _ = write!(
                s,
                " The breaker refused {refused} {} when the backoff ended (those calls returned their last error).",
                plural(refused, "retry", "retries"),
            );
        }
        let stopped = p.gave_up(REASON_BREAKER) - refused;
        if stopped > 0 {
            let _ = write!(
                s,
                " {stopped} {} gave up without a backoff sleep: after the failure the breaker was open and would still be when the sleep ended.",
                plural(stopped, "call", "calls"),
            );
        }
        if opened.is_empty() {
            s.push_str(" The breaker did not trip in this phase.");
        } else {
            let times: Vec<String> = opened
                .iter()
                .map(|t| format!("{:.2}s", t.at.as_secs_f64()))
                .collect();
            let _ = write!(
                s,
                " The breaker tripped open {} {} in this phase, at {}.",
                opened.len(),
                plural(
                    u64::try_from(opened.len()).unwrap_or(u64::MAX),
                    "time",
                    "times"
                ),
                times.join(", ")
            );
        }
        if phase == Phase::Recovery {
            s.push(' ');
            s.push_str(&self.recovery_cost());
        }
        s
    }

    /// How long a healthy-again server was kept behind an open breaker: from
    /// the phase's start to the breaker's last close, and the calls refused.
    fn recovery_cost(&self) -> String {
        let p = &self.phases[Phase::Recovery.index()];
        let phase_start = self.phase_length * 3;
        let closed = self
            .transitions
            .iter()
            .filter(|t| t.to == "closed" && t.at >= phase_start)
            .map(|t| t.at)
            .next();
        let open_at_start = self
            .transitions
            .iter()
            .rev()
            .find(|t| t.at < phase_start)
            .is_some_and(|t| t.to != "closed");
        match (open_at_start, closed) {
            (true, Some(at)) => format!(
                "It was not closed when the phase began and closed {:.2}s into it: in this phase it refused {} calls, while the server failed {} of the {} requests it received.",
                (at - phase_start).as_secs_f64(),
                p.fast_failed,
                p.server_unavailable + p.server_throttled,
                p.server_requests,
            ),
            (true, None) => format!(
                "It was not closed when the phase began and did not close in this phase: it refused {} calls.",
                p.fast_failed
            ),
            (false, _) => "It was closed when the phase began.".to_owned(),
        }
    }

    /// The whole summary, as printed at the end.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "Summary");
        let _ = writeln!(
            s,
            "  A call counts in the phase it started in; the server counts a request in the phase it arrived in."
        );
        let _ = writeln!(
            s,
            "  {:<9} {:>6} {:>6} {:>7} {:>12} {:>9} {:>8} {:>11} {:>10}",
            "phase",
            "calls",
            "ok",
            "failed",
            "fast-failed",
            "requests",
            "req/call",
            "server-got",
            "server-err",
        );
        for phase in Phase::ALL {
            let _ = writeln!(s, "{}", self.row(phase));
        }
        let _ = writeln!(
            s,
            "  (requests: sent by the clients for the phase's calls; server-got/server-err: received/failed by the server in the phase)"
        );
        let _ = writeln!(s);
        for phase in Phase::ALL {
            let _ = writeln!(s, "{}", self.phase_line(phase));
        }
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "Breaker transitions ({}, from the library's events):",
            self.transitions.len()
        );
        for t in &self.transitions {
            let _ = writeln!(s, "  [{:>5.2}s] {}", t.at.as_secs_f64(), describe(t));
        }
        let fast_failed: u64 = self.phases.iter().map(|p| p.fast_failed).sum();
        let refused_retries: u64 = self.phases.iter().map(|p| p.retries_refused).sum();
        let _ = writeln!(
            s,
            "In all the breaker refused {} attempts ({} first attempts, returned as BreakerOpen, and {} retries) and the budget refused {} retries; the breaker ends {}.",
            self.breaker_refused,
            fast_failed,
            refused_retries,
            self.budget_refused,
            self.final_state
        );
        s
    }
}
