//! Hedged calls against three loopback replicas with a heavy-tailed latency.
//!
//! ```text
//! cargo run --release --example hedging
//! ```
//!
//! Three TCP servers on 127.0.0.1 answer `get <key>` after about 1 ms;
//! replica 0 takes 100 ms on 6 % of its requests, and since first attempts go
//! to the replicas in turn, 2 % of all calls meet it. A client makes 10,000
//! calls (8 at a time) twice: through `#[retryable]` without a hedge, then
//! with `hedge = "replicas"`, whose hedges go to the next replica (the body
//! reads [`current_attempt`]). Each run is preceded by 200 calls that are not
//! measured (a percentile delay sends no hedge before `min_samples`). It
//! prints p50, p99 and p99.9 of the calls' latency as the client saw it, and
//! how many requests the servers received, then ends.
//!
//! The delay is `p98`. A percentile delay is taken over the latencies of the
//! answers the site got (a hedged call records its winner's), so the share of
//! calls hedged is about one minus the percentile (the healthy answers slower
//! than it) plus the share slower than every healthy answer (the 2 % of slow
//! ones, which are all hedged): 2 % + 2 % = 4 % at most with `p98`, inside
//! the 5 % we allow; `p97` would be 5 % with no margin. The delay itself is
//! the healthy answers' 98th percentile, a few milliseconds, far below the
//! 100 ms it cuts. `HEDGE_DELAY=p95 cargo run --release --example hedging`
//! tries another delay.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use retry_runtime::{Config, current_attempt, install, retryable};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// The policy and the hedge; `{delay}` is `p98` unless the environment
/// variable `HEDGE_DELAY` says otherwise (`HEDGE_DELAY=p95`, `=5ms`).
const CONFIG: &str = r#"
[policies.replicas]
max_attempts = 2        # the first attempt and one hedge (or one retry)
backoff = "constant"
initial_delay = "1ms"
jitter = "none"

[hedges.replicas]
delay = "{delay}"       # p98 by default: see the module docs for why
max_hedges = 1
min_samples = 100
"#;

const CALLS: usize = 10_000;
const WARM_UP: usize = 200;
const CONCURRENCY: usize = 8;
/// Replica 0 is slow on this share of its requests (in percent).
const SLOW_PERCENT: u64 = 6;
const SLOW: Duration = Duration::from_millis(100);
const FAST: Duration = Duration::from_millis(1);

/// A replica: its address, the requests it received, and idle connections to it.
struct Replica {
    addr: String,
    received: Arc<AtomicU64>,
    idle: Mutex<Vec<BufReader<TcpStream>>>,
}

struct Replicas(Vec<Replica>);

impl Replicas {
    /// One request to replica `index`. A connection goes back to the pool
    /// only after its answer: a cancelled attempt (a losing hedge) drops it.
    async fn get(&self, index: usize, key: u64) -> io::Result<usize> {
        let replica = &self.0[index];
        let pooled = replica.idle.lock().expect("pool").pop();
        let mut stream = match pooled {
            Some(stream) => stream,
            None => BufReader::new(TcpStream::connect(&replica.addr).await?),
        };
        stream
            .get_mut()
            .write_all(format!("get {key}\n").as_bytes())
            .await?;
        let mut line = String::new();
        if stream.read_line(&mut line).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        replica.idle.lock().expect("pool").push(stream);
        Ok(index)
    }
}

/// Without a hedge: the first attempt goes to replica `key % 3`.
#[retryable(policy = "replicas", idempotent)]
async fn fetch_plain(replicas: &Replicas, key: u64) -> io::Result<bool> {
    let index = usize::try_from(key % 3).unwrap_or(0);
    replicas.get(index, key).await.map(|_| false)
}

/// With a hedge: attempt n goes to replica `(key + n - 1) % 3`, so a hedge
/// (or a retry) never asks the replica that is being slow. Returns whether
/// the answer came from a hedge.
#[retryable(policy = "replicas", hedge = "replicas", idempotent)]
async fn fetch_hedged(replicas: &Replicas, key: u64) -> io::Result<bool> {
    let attempt = current_attempt().expect("inside an attempt");
    let index = usize::try_from((key + u64::from(attempt.number()) - 1) % 3).unwrap_or(0);
    replicas.get(index, key).await.map(|_| attempt.is_hedge())
}

/// Serves one replica: each request line gets `ok` after its latency.
async fn serve(listener: TcpListener, number: usize, received: Arc<AtomicU64>) {
    let count = Arc::new(AtomicU64::new(0));
    while let Ok((stream, _)) = listener.accept().await {
        let (received, count) = (Arc::clone(&received), Arc::clone(&count));
        tokio::spawn(async move {
            let (read, mut write) = stream.into_split();
            let mut read = BufReader::new(read);
            let mut line = String::new();
            while matches!(read.read_line(&mut line).await, Ok(n) if n > 0) {
                line.clear();
                received.fetch_add(1, Ordering::Relaxed);
                let n = count.fetch_add(1, Ordering::Relaxed);
                let slow = number == 0 && mix(n) % 100 < SLOW_PERCENT;
                tokio::time::sleep(if slow { SLOW } else { FAST }).await;
                if write.write_all(b"ok\n").await.is_err() {
                    return;
                }
            }
        });
    }
}

/// A fixed pseudo-random sequence (SplitMix64), so every run is the same draw.
fn mix(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// What one run measured.
struct Run {
    latencies: Vec<Duration>,
    requests: u64,
    hedge_wins: u64,
}

/// Makes `calls` calls, `CONCURRENCY` at a time; returns each call's latency.
async fn drive(replicas: &Arc<Replicas>, calls: usize, hedged: bool) -> Run {
    let received = || -> u64 {
        replicas
            .0
            .iter()
            .map(|r| r.received.load(Ordering::Relaxed))
            .sum()
    };
    let before = received();
    let next = Arc::new(AtomicU64::new(0));
    let wins = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let (replicas, next, wins) = (Arc::clone(replicas), Arc::clone(&next), Arc::clone(&wins));
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let key = next.fetch_add(1, Ordering::Relaxed);
                if key >= calls as u64 {
                    return latencies;
                }
                let start = Instant::now();
                let from_hedge = if hedged {
                    fetch_hedged(&replicas, key).await
                } else {
                    fetch_plain(&replicas, key).await
                };
                latencies.push(start.elapsed());
                if from_hedge.expect("the replicas answer") {
                    wins.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    let mut latencies = Vec::with_capacity(calls);
    for task in tasks {
        latencies.extend(task.await.expect("no panic"));
    }
    latencies.sort_unstable();
    Run {
        latencies,
        requests: received() - before,
        hedge_wins: wins.load(Ordering::Relaxed),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let delay = std::env::var("HEDGE_DELAY").unwrap_or_else(|_| "p98".to_owned());
    install(Config::from_toml_str(&CONFIG.replace("{delay}", &delay))?)?;
    let mut replicas = Vec::new();
    for number in 0..3 {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let received = Arc::new(AtomicU64::new(0));
        let addr = listener.local_addr()?.to_string();
        tokio::spawn(serve(listener, number, Arc::clone(&received)));
        replicas.push(Replica {
            addr,
            received,
            idle: Mutex::new(Vec::new()),
        });
    }
    let replicas = Arc::new(Replicas(replicas));

    println!(
        "{CALLS} calls, {CONCURRENCY} at a time, to 3 loopback replicas; replica 0 takes {} ms on {SLOW_PERCENT} % of its requests (2 % of calls), every other request about {} ms\n",
        SLOW.as_millis(),
        FAST.as_millis()
    );
    println!(
        "{:<22} {:>10} {:>10} {:>10} {:>10} {:>8} {:>11}",
        "", "p50", "p99", "p99.9", "requests", "extra", "hedges won"
    );
    let mut rows = Vec::new();
    for hedged in [false, true] {
        drive(&replicas, WARM_UP, hedged).await;
        let run = drive(&replicas, CALLS, hedged).await;
        let extra = run.requests.saturating_sub(CALLS as u64);
        #[allow(clippy::cast_precision_loss)]
        let extra_share = extra as f64 * 100.0 / CALLS as f64;
        let label = if hedged {
            format!("hedge, delay = {delay}")
        } else {
            "no hedge".to_owned()
        };
        println!(
            "{label:<22} {:>10} {:>10} {:>10} {:>10} {:>7.1}% {:>11}",
            ms(percentile(&run.latencies, 50.0)),
            ms(percentile(&run.latencies, 99.0)),
            ms(percentile(&run.latencies, 99.9)),
            run.requests,
            extra_share,
            run.hedge_wins,
        );
        rows.push(run);
    }
    let site = retry_runtime::call_sites()
        .iter()
        .find(|s| s.name().ends_with("::fetch_hedged"))
        .expect("registered");
    if let Some(current) = site.hedge_delay() {
        println!("\nthe hedged site's delay at the end: {}", ms(current));
    }
    let (plain, hedged) = (&rows[0], &rows[1]);
    let ratio = percentile(&plain.latencies, 99.9).as_secs_f64()
        / percentile(&hedged.latencies, 99.9).as_secs_f64();
    println!("p99.9 without hedging / with: {ratio:.1}x");
    Ok(())
}
