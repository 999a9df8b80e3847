//! The framework at work on a flaky storage service, on loopback.
//!
//! ```text
//! cargo run --example quickstart
//! ```
//!
//! A small key-value server (real TCP on 127.0.0.1) goes through four phases:
//! **flaky** (one request in ten fails, one in 25 is throttled with a
//! retry-after hint), a **brownout** (two in five fail), a full **outage**, and
//! **recovery**. Eight client tasks call two
//! `#[retryable]` functions throughout, configured from `examples/retry.toml`:
//! retries hide the flakiness, the circuit breaker fails fast during the
//! outage and lets trial calls through once it is over, and the retry budget
//! caps how much extra traffic retries add during the brownout. It ends by
//! itself in about 10 s.

use std::fmt;
use std::io::{self, IsTerminal, Write as _};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use retry_runtime::{BreakerState, Class, Classify, Config, Rejected, retryable};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

// ---------------------------------------------------------------------------
// The client: what a user of the framework writes.
// ---------------------------------------------------------------------------

/// What can go wrong talking to the store.
#[derive(Debug)]
enum StoreError {
    /// The server answered 503: worth another try.
    Unavailable,
    /// The server asked us to come back later.
    Throttled(Duration),
    /// The key does not exist: retrying would not help.
    NotFound,
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
            StoreError::NotFound => Class::Permanent,
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
            StoreError::NotFound => f.write_str("not found"),
            StoreError::Io(e) => write!(f, "i/o: {e}"),
            StoreError::Rejected(r) => r.fmt(f),
        }
    }
}

struct StoreClient {
    addr: SocketAddr,
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
        TALLIES[phase().index()]
            .attempts
            .fetch_add(1, Ordering::Relaxed);
        let mut stream = TcpStream::connect(self.addr).await?;
        stream.write_all(format!("{line}\n").as_bytes()).await?;
        let mut reply = String::new();
        BufReader::new(stream).read_line(&mut reply).await?;
        let reply = reply.trim_end();
        match reply.split_once(' ').unwrap_or((reply, "")) {
            ("OK", value) => Ok(value.to_owned()),
            ("UNAVAILABLE", _) => Err(StoreError::Unavailable),
            ("THROTTLE", ms) => Err(StoreError::Throttled(Duration::from_millis(
                ms.parse().unwrap_or(100),
            ))),
            ("NOTFOUND", _) => Err(StoreError::NotFound),
            _ => Err(
                io::Error::new(io::ErrorKind::InvalidData, format!("bad reply {reply:?}")).into(),
            ),
        }
    }
}

// ---------------------------------------------------------------------------
// The flaky server.
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Flaky,
    Brownout,
    Outage,
    Recovery,
}

impl Phase {
    const ALL: [Phase; PHASES] = [
        Phase::Flaky,
        Phase::Brownout,
        Phase::Outage,
        Phase::Recovery,
    ];

    fn name(self) -> &'static str {
        match self {
            Phase::Flaky => "flaky",
            Phase::Brownout => "brownout",
            Phase::Outage => "outage",
            Phase::Recovery => "recovery",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

static PHASE: AtomicU8 = AtomicU8::new(0);

fn phase() -> Phase {
    Phase::ALL[usize::from(PHASE.load(Ordering::Relaxed)).min(PHASES - 1)]
}

async fn serve(listener: TcpListener) {
    let served = Arc::new(AtomicU64::new(0));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let served = Arc::clone(&served);
        tokio::spawn(async move {
            let n = served.fetch_add(1, Ordering::Relaxed);
            let (read, mut write) = stream.into_split();
            let mut line = String::new();
            if BufReader::new(read).read_line(&mut line).await.is_err() {
                return;
            }
            let reply = match phase() {
                Phase::Outage => "UNAVAILABLE".to_owned(),
                // One request in 25 is throttled, one in 10 fails: deterministic, not random.
                Phase::Flaky if n % 25 == 7 => "THROTTLE 50".to_owned(),
                Phase::Flaky if n % 10 == 3 => "UNAVAILABLE".to_owned(),
                // Two in five fail: below the breaker's threshold, above what retries may add.
                Phase::Brownout if n % 5 < 2 => "UNAVAILABLE".to_owned(),
                _ if line.starts_with("GET missing") => "NOTFOUND".to_owned(),
                _ => format!("OK value-{n}"),
            };
            // A little service time, so that calls overlap as they do in real life.
            tokio::time::sleep(Duration::from_millis(2)).await;
            let _ = write.write_all(format!("{reply}\n").as_bytes()).await;
        });
    }
}

// ---------------------------------------------------------------------------
// The driver: traffic, progress and the summary.
// ---------------------------------------------------------------------------

/// What happened in one phase.
struct Tally {
    calls: AtomicU64,
    ok: AtomicU64,
    failed: AtomicU64,
    fast_failed: AtomicU64,
    /// Requests that reached the server: every attempt the breaker let through.
    attempts: AtomicU64,
    /// Retries the budget refused.
    refused: AtomicU64,
}

impl Tally {
    const fn new() -> Tally {
        Tally {
            calls: AtomicU64::new(0),
            ok: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            fast_failed: AtomicU64::new(0),
            attempts: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        }
    }
}

const PHASES: usize = 4;
static TALLIES: [Tally; PHASES] = [Tally::new(), Tally::new(), Tally::new(), Tally::new()];

const PHASE_LENGTH: Duration = Duration::from_millis(2500);
const WORKERS: u64 = 8;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/retry.toml");
    let config = Config::from_path(path)?;
    retry_runtime::install(config)?;
    println!("Installed examples/retry.toml. Call sites:");
    for site in retry_runtime::call_sites() {
        println!(
            "  {:<10} policy {:<15} breaker {:<8} budget {}",
            site.name(),
            site.policy(),
            site.breaker().unwrap_or("-"),
            site.budget()
        );
    }

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(serve(listener));
    println!(
        "Storage service listening on {addr}: {WORKERS} clients, four phases of {PHASE_LENGTH:?}.\n"
    );

    let start = Instant::now();
    let total = PHASE_LENGTH * u32::try_from(PHASES)?;
    let end = start + total;
    let mut workers = Vec::new();
    for worker in 0..WORKERS {
        workers.push(tokio::spawn(async move {
            let client = StoreClient { addr };
            let mut i = 0u64;
            while Instant::now() < end {
                i += 1;
                let phase = phase();
                let tally = &TALLIES[phase.index()];
                let result = if i.is_multiple_of(5) {
                    client.put(&format!("k{worker}-{i}"), format!("v{i}")).await
                } else {
                    client.get(&format!("k{worker}-{i}")).await.map(drop)
                };
                tally.calls.fetch_add(1, Ordering::Relaxed);
                match result {
                    Ok(()) => tally.ok.fetch_add(1, Ordering::Relaxed),
                    Err(StoreError::Rejected(Rejected::BreakerOpen { .. })) => {
                        tally.fast_failed.fetch_add(1, Ordering::Relaxed);
                        // A real client would serve a fallback here; pace ourselves.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        0
                    }
                    Err(_) => tally.failed.fetch_add(1, Ordering::Relaxed),
                };
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }));
    }

    let breaker =
        retry_runtime::breaker("storage").ok_or("the config defines the `storage` breaker")?;
    let budget =
        retry_runtime::budget("storage").ok_or("the config defines the `storage` budget")?;
    let terminal = io::stdout().is_terminal();
    let mut last_state = breaker.state();
    let mut refused_before_phase = 0;
    // Poll often so that no breaker transition goes unseen; print less often.
    let mut ticker = tokio::time::interval(Duration::from_millis(20));
    let print_every = if terminal { 5 } else { 50 };
    let mut ticks = 0u64;
    loop {
        ticker.tick().await;
        ticks += 1;
        let elapsed = start.elapsed();
        let next_phase =
            Phase::ALL[usize::try_from(elapsed.as_millis() / PHASE_LENGTH.as_millis())
                .unwrap_or(PHASES)
                .min(PHASES - 1)];
        let refused_so_far = budget.exhausted();
        TALLIES[phase().index()]
            .refused
            .store(refused_so_far - refused_before_phase, Ordering::Relaxed);
        if next_phase != phase() {
            refused_before_phase = refused_so_far;
            PHASE.store(u8::try_from(next_phase.index())?, Ordering::Relaxed);
            clear_line(terminal);
            println!(
                "[{:>5.1}s] the service enters its {} phase",
                elapsed.as_secs_f64(),
                next_phase.name()
            );
        }
        let state = breaker.state();
        if state != last_state {
            clear_line(terminal);
            // Open only leads to Closed through HalfOpen, which may come and go between polls.
            let via = if (last_state, state) == (BreakerState::Open, BreakerState::Closed) {
                " -> half-open (3 trial calls succeeded)"
            } else {
                ""
            };
            println!(
                "[{:>5.1}s] breaker `storage`: {last_state}{via} -> {state}",
                elapsed.as_secs_f64()
            );
            last_state = state;
        }
        let t = &TALLIES[phase().index()];
        let line = format!(
            "[{:>5.1}s] {:<8} calls {:>5}  ok {:>5}  failed {:>4}  fast-failed {:>4}  attempts {:>5}  breaker {:<9}  budget {:>5.1}",
            elapsed.as_secs_f64(),
            phase().name(),
            t.calls.load(Ordering::Relaxed),
            t.ok.load(Ordering::Relaxed),
            t.failed.load(Ordering::Relaxed),
            t.fast_failed.load(Ordering::Relaxed),
            t.attempts.load(Ordering::Relaxed),
            state.to_string(),
            budget.balance(),
        );
        if ticks.is_multiple_of(print_every) {
            if terminal {
                print!("\r\x1b[2K{line}");
                io::stdout().flush()?;
            } else {
                println!("{line}");
            }
        }
        if elapsed >= total {
            break;
        }
    }
    for worker in workers {
        worker.await?;
    }
    clear_line(terminal);
    summary(&TALLIES, breaker.metrics().not_permitted, breaker.state());
    Ok(())
}

fn clear_line(terminal: bool) {
    if terminal {
        print!("\r\x1b[2K");
    }
}

#[allow(clippy::cast_precision_loss)] // display only
fn summary(tallies: &[Tally; PHASES], not_permitted: u64, final_state: BreakerState) {
    println!("\nSummary");
    println!(
        "  {:<9} {:>6} {:>6} {:>7} {:>12} {:>9} {:>14} {:>15}",
        "phase",
        "calls",
        "ok",
        "failed",
        "fast-failed",
        "attempts",
        "budget-refused",
        "attempts/call"
    );
    for phase in Phase::ALL {
        let t = &tallies[phase.index()];
        let calls = t.calls.load(Ordering::Relaxed);
        let attempts = t.attempts.load(Ordering::Relaxed);
        println!(
            "  {:<9} {:>6} {:>6} {:>7} {:>12} {:>9} {:>14} {:>15.2}",
            phase.name(),
            calls,
            t.ok.load(Ordering::Relaxed),
            t.failed.load(Ordering::Relaxed),
            t.fast_failed.load(Ordering::Relaxed),
            attempts,
            t.refused.load(Ordering::Relaxed),
            attempts as f64 / calls.max(1) as f64,
        );
    }
    let flaky = &tallies[Phase::Flaky.index()];
    let brownout = &tallies[Phase::Brownout.index()];
    let outage = &tallies[Phase::Outage.index()];
    println!();
    println!(
        "- flaky:    the server failed about 1 request in 7, yet {} of {} calls succeeded: retries hid the failures.",
        flaky.ok.load(Ordering::Relaxed),
        flaky.calls.load(Ordering::Relaxed)
    );
    let brownout_calls = brownout.calls.load(Ordering::Relaxed).max(1);
    println!(
        "- brownout: 2 requests in 5 failed, too few to trip the breaker; unchecked, retries would have added ~60% load. \
         The budget refused {} retries and held it to {:.2} attempts per call.",
        brownout.refused.load(Ordering::Relaxed),
        brownout.attempts.load(Ordering::Relaxed) as f64 / brownout_calls as f64,
    );
    println!(
        "- outage:   the breaker rejected {} calls without touching the server ({} rejections in all), so callers failed fast.",
        outage.fast_failed.load(Ordering::Relaxed),
        not_permitted
    );
    println!("- recovery: trial calls closed the breaker again; it ends {final_state}.");
}
