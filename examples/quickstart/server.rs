//! The flaky server: a key-value store on loopback TCP that fails, throttles
//! or answers each request as the scenario's phase says, and counts what it did.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::time::Instant;

use super::{PHASES, Phase, Scenario, phase_at};

/// The server's own counts for one phase (by the phase a request arrived in).
#[derive(Default)]
pub struct ServerCounts {
    pub requests: AtomicU64,
    pub unavailable: AtomicU64,
    pub throttled: AtomicU64,
}

/// The server's settings and counts, shared by its connection tasks.
pub struct Server {
    scenario: Scenario,
    start: Instant,
    served: AtomicU64,
    /// Per phase, by the phase a request arrived in.
    pub counts: [ServerCounts; PHASES],
}

impl Server {
    /// Starts the server on `listener`, its phases counted from `start`.
    pub fn start(
        scenario: &Scenario,
        listener: TcpListener,
        start: Instant,
    ) -> (Arc<Server>, tokio::task::JoinHandle<()>) {
        let server = Arc::new(Server {
            scenario: scenario.clone(),
            start,
            served: AtomicU64::new(0),
            counts: Default::default(),
        });
        let task = tokio::spawn(serve(listener, Arc::clone(&server)));
        (server, task)
    }

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

/// Accepts connections until aborted: one request per connection.
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
