//! A fleet backs off together: N instance processes (default 6) call one
//! loopback dependency through two breakers with the same settings and the
//! same load, `fleet` (shared through Redis) and `local`. The dependency goes
//! down five times, then Redis goes down, then the dependency too, then both
//! come back. Everything printed is counted, by the dependency or by the
//! instances.
//!
//! ```text
//! cargo run --release --example fleet
//! REDIS_URL=redis://127.0.0.1:6379 FLEET_INSTANCES=10 cargo run --release --example fleet
//! ```
//!
//! (The workspace's examples build `retry-runtime` with every feature, `redis`
//! included.) Without `REDIS_URL` it starts `redis-server` itself (Debian: `apt-get
//! install redis-server`) on a free loopback port, and stops it at the end.

#[allow(dead_code)]
#[path = "../tests/fleet/support.rs"]
mod support;

use std::io::{self, BufRead};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use retry_runtime::{Config, retryable};
use support::{Driven, RedisServer};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

const CONFIG: &str = r#"
[policies.once]
max_attempts = 1

[breakers.fleet]
fleet = true
fleet_quorum = 2
window_size = 10
minimum_calls = 10
open_duration = "100ms"
half_open_calls = 2
slow_call_duration = "none"

[breakers.local]
base = "fleet"
fleet = false
"#;

/// The quorum above, for the table.
const QUORUM: usize = 2;
/// A call slower than this counts as slowed (the dependency answers on
/// loopback in well under a millisecond; a call held up by Redis would wait
/// for its one-second response timeout).
const SLOW: Duration = Duration::from_millis(50);

fn main() {
    if std::env::var_os("FLEET_EXAMPLE_ROLE").is_some() {
        instance_main();
    } else {
        coordinator();
    }
}

// ---------------------------------------------------------------------------
// The dependency: one line in ("fleet" or "local"), one line out ("ok" or
// "down"). While down it counts the requests that reach it, by breaker.

#[derive(Default)]
struct Dependency {
    up: AtomicBool,
    dead_fleet: AtomicU64,
    dead_local: AtomicU64,
}

async fn serve(listener: TcpListener, dependency: Arc<Dependency>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let dependency = Arc::clone(&dependency);
        tokio::spawn(async move {
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let up = dependency.up.load(Ordering::SeqCst);
                if !up {
                    let counter = if line == "fleet" {
                        &dependency.dead_fleet
                    } else {
                        &dependency.dead_local
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                let answer: &[u8] = if up { b"ok\n" } else { b"down\n" };
                if write.write_all(answer).await.is_err() {
                    break;
                }
            }
        });
    }
}

// ---------------------------------------------------------------------------
// The coordinator.

fn coordinator() {
    let instances: usize = std::env::var("FLEET_INSTANCES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(6);
    let mut own_redis = match std::env::var("REDIS_URL") {
        Ok(_) => None,
        Err(_) => {
            assert!(
                support::redis_installed(),
                "redis-server is not on PATH: install it (apt-get install redis-server) or set REDIS_URL"
            );
            Some(RedisServer::start())
        }
    };
    let url = std::env::var("REDIS_URL")
        .unwrap_or_else(|_| own_redis.as_ref().map(RedisServer::url).unwrap_or_default());
    let namespace = format!("fleet-example-{}", std::process::id());

    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let dependency = Arc::new(Dependency::default());
    dependency.up.store(true, Ordering::SeqCst);
    let listener = runtime
        .block_on(TcpListener::bind("127.0.0.1:0"))
        .expect("a loopback port");
    let address = listener.local_addr().expect("bound").to_string();
    runtime.spawn(serve(listener, Arc::clone(&dependency)));

    println!("{instances} instances, fleet_quorum = {QUORUM}, Redis at {url}");
    let mut fleet: Vec<Driven> = (0..instances)
        .map(|i| {
            let mut command = Command::new(std::env::current_exe().expect("this example"));
            command
                .env("FLEET_EXAMPLE_ROLE", i.to_string())
                .env("FLEET_EXAMPLE_URL", &url)
                .env("FLEET_EXAMPLE_NS", &namespace)
                .env("FLEET_EXAMPLE_DEPENDENCY", &address);
            let (driven, ready) = Driven::start(command);
            assert!(ready.starts_with("ready"), "{ready}");
            driven
        })
        .collect();
    let phase = |fleet: &mut Vec<Driven>, name: &str, length: Duration| {
        for instance in fleet.iter_mut() {
            instance.send(&format!("phase {name}"));
        }
        for instance in fleet.iter_mut() {
            instance.answer();
        }
        std::thread::sleep(length);
    };
    let reports = |fleet: &mut Vec<Driven>| -> Vec<Report> {
        fleet
            .iter_mut()
            .map(|i| Report::parse(&i.ask("report")))
            .collect()
    };

    phase(&mut fleet, "warm-up", Duration::from_secs(1));
    reports(&mut fleet);

    // The dependency goes down five times, with Redis up.
    let outages = 5;
    let mut to_all_open = Vec::new();
    let mut fleet_opened = Vec::new();
    for _ in 0..outages {
        dependency.up.store(false, Ordering::SeqCst);
        phase(&mut fleet, "outage", Duration::from_secs(3));
        dependency.up.store(true, Ordering::SeqCst);
        phase(&mut fleet, "recovery", Duration::from_millis(1500));
        let outage = reports(&mut fleet);
        let mut own: Vec<u64> = outage.iter().filter_map(|r| r.first_open_own).collect();
        own.sort_unstable();
        if let Some(&quorum_at) = own.get(QUORUM - 1) {
            let mut all = 0;
            for report in &outage {
                if let Some(opened) = report.first_open_any() {
                    let delay = opened.saturating_sub(quorum_at);
                    all = all.max(delay);
                    if report
                        .first_open_fleet
                        .is_some_and(|f| Some(f) == report.first_open_any())
                    {
                        fleet_opened.push(delay);
                    }
                }
            }
            to_all_open.push(all);
        }
    }
    let dead_fleet = dependency.dead_fleet.swap(0, Ordering::Relaxed);
    let dead_local = dependency.dead_local.swap(0, Ordering::Relaxed);

    // Redis dies while the dependency is up: no call may fail or slow down.
    let redis_kill = own_redis.as_mut();
    let killed = redis_kill.is_some();
    if let Some(redis) = redis_kill {
        redis.kill();
    }
    phase(&mut fleet, "redis-down", Duration::from_secs(3));
    let redis_down = reports(&mut fleet);
    // Then the dependency too: breakers are local.
    dependency.up.store(false, Ordering::SeqCst);
    phase(&mut fleet, "both-down", Duration::from_secs(2));
    reports(&mut fleet);
    // Both come back.
    if let Some(redis) = own_redis.as_mut() {
        redis.restart();
    }
    dependency.up.store(true, Ordering::SeqCst);
    phase(&mut fleet, "both-back", Duration::from_secs(3));
    let back = reports(&mut fleet);
    let statuses: Vec<String> = fleet.iter_mut().map(|i| i.ask("status")).collect();
    drop(fleet);

    let calls: u64 = redis_down.iter().map(|r| r.calls).sum();
    let failed: u64 = redis_down.iter().map(|r| r.failed).sum();
    let slowed: u64 = redis_down.iter().map(|r| r.slowed).sum();
    let slowest = redis_down.iter().map(|r| r.slowest_us).max().unwrap_or(0);
    let back_calls: u64 = back.iter().map(|r| r.calls).sum();
    let back_failed: u64 = back.iter().map(|r| r.failed).sum();
    let connected = statuses.iter().filter(|s| *s == "Connected").count();

    println!();
    println!(
        "| measured ({instances} instances, {outages} outages of 3 s, open_duration 100 ms, half_open_calls 2) | value |"
    );
    println!("|---|---|");
    println!("| requests that reached the dead dependency, `local` breakers | {dead_local} |");
    println!("| requests that reached the dead dependency, `fleet` breakers | {dead_fleet} |");
    println!(
        "| fewer with the fleet | {:.1}x |",
        dead_local as f64 / dead_fleet.max(1) as f64
    );
    println!(
        "| quorum'th opening → an instance opened by the fleet, p50 / p99 ({} openings) | {} / {} |",
        fleet_opened.len(),
        ms(percentile(&mut fleet_opened, 50)),
        ms(percentile(&mut fleet_opened, 99))
    );
    println!(
        "| quorum'th opening → every instance open, p50 / p99 ({} outages) | {} / {} |",
        to_all_open.len(),
        ms(percentile(&mut to_all_open, 50)),
        ms(percentile(&mut to_all_open, 99))
    );
    if killed {
        println!("| calls while Redis was dead (dependency up) | {calls} |");
        println!("| of them failed | {failed} |");
        println!(
            "| of them slower than {} ms (slowest: {}) | {slowed} |",
            SLOW.as_millis(),
            ms(slowest)
        );
    } else {
        println!(
            "| Redis death | not measured: REDIS_URL given, so the example did not stop that Redis |"
        );
    }
    println!(
        "| calls after both came back / refused or failed while the breakers closed again | {back_calls} / {back_failed} |"
    );
    println!("| instances connected again at the end | {connected} of {instances} |");
}

fn percentile(values: &mut [u64], p: usize) -> u64 {
    if values.is_empty() {
        return 0;
    }
    values.sort_unstable();
    let rank = (values.len() * p).div_ceil(100).max(1);
    values[rank - 1]
}

fn ms(us: u64) -> String {
    format!("{:.1} ms", us as f64 / 1000.0)
}

/// What an instance counted since its last report.
struct Report {
    calls: u64,
    failed: u64,
    slowed: u64,
    slowest_us: u64,
    /// Wall-clock µs of the `fleet` breaker's first opening from closed, by
    /// its own failures and by the fleet.
    first_open_own: Option<u64>,
    first_open_fleet: Option<u64>,
}

impl Report {
    fn parse(line: &str) -> Report {
        let words: Vec<u64> = line.split(' ').map(|w| w.parse().unwrap_or(0)).collect();
        let at = |i: usize| words.get(i).copied().unwrap_or(0);
        Report {
            calls: at(0),
            failed: at(1),
            slowed: at(2),
            slowest_us: at(3),
            first_open_own: Some(at(4)).filter(|&t| t > 0),
            first_open_fleet: Some(at(5)).filter(|&t| t > 0),
        }
    }

    fn first_open_any(&self) -> Option<u64> {
        match (self.first_open_own, self.first_open_fleet) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

// ---------------------------------------------------------------------------
// An instance.

static CALLS: AtomicU64 = AtomicU64::new(0);
static FAILED: AtomicU64 = AtomicU64::new(0);
static SLOWED: AtomicU64 = AtomicU64::new(0);
static SLOWEST_US: AtomicU64 = AtomicU64::new(0);
static OPEN_OWN: AtomicU64 = AtomicU64::new(0);
static OPEN_FLEET: AtomicU64 = AtomicU64::new(0);

/// One request to the dependency on this task's connection.
async fn request(connection: &mut BufReader<TcpStream>, tag: &str) -> io::Result<()> {
    connection
        .get_mut()
        .write_all(format!("{tag}\n").as_bytes())
        .await?;
    let mut answer = String::new();
    connection.read_line(&mut answer).await?;
    if answer == "ok\n" {
        Ok(())
    } else {
        Err(io::Error::from(io::ErrorKind::ConnectionReset))
    }
}

#[retryable(policy = "once", breaker = "fleet", idempotent)]
async fn call_fleet(connection: &mut BufReader<TcpStream>) -> io::Result<()> {
    request(connection, "fleet").await
}

#[retryable(policy = "once", breaker = "local", idempotent)]
async fn call_local(connection: &mut BufReader<TcpStream>) -> io::Result<()> {
    request(connection, "local").await
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// Records the `fleet` breaker's openings from closed, from the library's
/// own transition events.
struct Openings;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Openings {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        #[derive(Default)]
        struct Fields(String, String, String, String);
        impl tracing::field::Visit for Fields {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                let text = format!("{value:?}");
                match field.name() {
                    "breaker" => self.0 = text,
                    "from" => self.1 = text,
                    "to" => self.2 = text,
                    "reason" => self.3 = text,
                    _ => {}
                }
            }
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                self.record_debug(field, &format_args!("{value}"));
            }
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        if fields.0 == "fleet" && fields.1 == "closed" && fields.2 == "open" {
            let slot = if fields.3 == "fleet" {
                &OPEN_FLEET
            } else {
                &OPEN_OWN
            };
            let _ = slot.compare_exchange(0, now_us(), Ordering::Relaxed, Ordering::Relaxed);
        }
    }
}

/// Calls the dependency through `breaker` every `every`, for ever.
async fn load(address: String, fleet: bool, every: Duration) {
    let mut connection =
        BufReader::new(TcpStream::connect(&address).await.expect("the dependency"));
    let mut ticks = tokio::time::interval(every);
    loop {
        ticks.tick().await;
        let started = Instant::now();
        let outcome = if fleet {
            call_fleet(&mut connection).await
        } else {
            call_local(&mut connection).await
        };
        let took = started.elapsed();
        CALLS.fetch_add(1, Ordering::Relaxed);
        if outcome.is_err() {
            FAILED.fetch_add(1, Ordering::Relaxed);
        }
        if took >= SLOW {
            SLOWED.fetch_add(1, Ordering::Relaxed);
        }
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        SLOWEST_US.fetch_max(us, Ordering::Relaxed);
    }
}

fn instance_main() {
    use tracing_subscriber::layer::SubscriberExt as _;
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is set"));
    let index: u32 = var("FLEET_EXAMPLE_ROLE").parse().expect("an index");
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(Openings))
        .expect("the only subscriber");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        retry_runtime::install(Config::from_toml_str(CONFIG).expect("valid")).expect("installs");
        let fleet = retry_runtime::fleet::join(&var("FLEET_EXAMPLE_URL"), &var("FLEET_EXAMPLE_NS"))
            .expect("a valid URL and namespace");
        assert!(fleet.wait_connected(Duration::from_secs(10)).await);
        // Instances call at different rates (2 ms, 4 ms, ...), the same for both breakers.
        let every = Duration::from_millis(2 * u64::from(index + 1));
        let address = var("FLEET_EXAMPLE_DEPENDENCY");
        tokio::spawn(load(address.clone(), true, every));
        tokio::spawn(load(address, false, every));
        println!("@ ready {}", fleet.instance_id());
        let (lines, mut commands) = tokio::sync::mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        while let Some(line) = commands.recv().await {
            match line.as_str() {
                "quit" => break,
                "status" => println!("@ {:?}", fleet.status()),
                "report" => println!(
                    "@ {} {} {} {} {} {}",
                    CALLS.swap(0, Ordering::Relaxed),
                    FAILED.swap(0, Ordering::Relaxed),
                    SLOWED.swap(0, Ordering::Relaxed),
                    SLOWEST_US.swap(0, Ordering::Relaxed),
                    OPEN_OWN.swap(0, Ordering::Relaxed),
                    OPEN_FLEET.swap(0, Ordering::Relaxed),
                ),
                // `phase NAME`: a point the coordinator waits for.
                _ => println!("@ {line}"),
            }
        }
        drop(fleet);
    });
}
