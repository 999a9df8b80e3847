//! The client: what a user of the framework writes (an error type that says
//! which failures are transient, and two `#[retryable]` methods), and the
//! client tasks that call it throughout the run, counting what they see.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use retry_runtime::{Class, Classify, Rejected, retryable};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::Instrument as _;

use super::{PHASES, Scenario, phase_at};

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

/// What the clients saw in one phase (by the phase a call started in).
#[derive(Default)]
pub struct ClientCounts {
    pub calls: AtomicU64,
    pub ok: AtomicU64,
    pub ok_after_retry: AtomicU64,
    pub failed: AtomicU64,
    pub fast_failed: AtomicU64,
    pub attempts: AtomicU64,
}

/// Starts `scenario.workers` client tasks that call the server at `addr`
/// until `end`: every fifth call a `put`, the others `get`s. Each call is
/// counted in the phase it started in.
pub fn spawn(
    scenario: &Scenario,
    addr: SocketAddr,
    start: Instant,
    end: Instant,
    counts: &Arc<[ClientCounts; PHASES]>,
) -> Vec<JoinHandle<()>> {
    let mut workers = Vec::new();
    for worker in 0..scenario.workers {
        let counts = Arc::clone(counts);
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
    workers
}
