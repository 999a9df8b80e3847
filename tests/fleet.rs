//! The fleet on real Redis: `redis-server` processes started by the tests
//! and several instance processes (this test binary run again with
//! `RETRY_FLEET_ROLE` set, driven line by line through its stdin).
//!
//! Where `redis-server` is not installed and `CI` is unset, each test says on
//! one line that it did not run, and passes; under `CI` it fails.

#[path = "fleet/support.rs"]
mod support;

use std::io::{self, BufRead};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use retry_runtime::{Config, breaker, retryable};
use support::{Driven, RedisServer, redis_for};

// ---------------------------------------------------------------------------
// The instance process.

/// Calls whose body ran, and those of them that ran as half-open trials.
static RUNS: AtomicU64 = AtomicU64::new(0);
static TRIALS: AtomicU64 = AtomicU64::new(0);

fn body(name: &str, key: Option<&str>, fail: bool) -> io::Result<()> {
    RUNS.fetch_add(1, Ordering::Relaxed);
    if state_of(name, key) == "HalfOpen" {
        TRIALS.fetch_add(1, Ordering::Relaxed);
    }
    if fail {
        Err(io::Error::from(io::ErrorKind::ConnectionReset))
    } else {
        Ok(())
    }
}

#[retryable(policy = "once", breaker = "pay")]
async fn pay(fail: bool) -> io::Result<()> {
    body("pay", None, fail)
}

#[retryable(policy = "once", breaker = "hosts", breaker_key = host)]
async fn host(host: &str, fail: bool) -> io::Result<()> {
    body("hosts", Some(host), fail)
}

/// The fleet's own events seen: `WARN`s (Redis lost) and `INFO`s saying it is back.
static LOSSES: AtomicU64 = AtomicU64::new(0);
static RETURNS: AtomicU64 = AtomicU64::new(0);

/// Counts the fleet's events (those with a `fleet` field).
struct FleetEvents;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for FleetEvents {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Seen {
            fleet: bool,
            message: String,
        }
        impl tracing::field::Visit for Seen {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                match field.name() {
                    "fleet" => self.fleet = true,
                    "message" => self.message = format!("{value:?}"),
                    _ => {}
                }
            }
        }
        let mut seen = Seen {
            fleet: false,
            message: String::new(),
        };
        event.record(&mut seen);
        if !seen.fleet {
            return;
        }
        if *event.metadata().level() == tracing::Level::WARN {
            LOSSES.fetch_add(1, Ordering::Relaxed);
        } else if seen.message.contains("Redis is back") {
            RETURNS.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A breaker's state as the snapshot shows it (`Absent` for a key without a
/// live instance: reading creates none).
fn state_of(name: &str, key: Option<&str>) -> String {
    retry_runtime::snapshot()
        .breakers
        .into_iter()
        .find(|b| b.name == name && b.key.as_deref() == key)
        .map_or_else(|| "Absent".to_owned(), |b| format!("{:?}", b.metrics.state))
}

/// Runs when this binary is started as an instance (`RETRY_FLEET_ROLE`);
/// in an ordinary test run it returns at once.
#[test]
fn instance_process() {
    if std::env::var_os("RETRY_FLEET_ROLE").is_none() {
        return;
    }
    {
        use tracing_subscriber::layer::SubscriberExt as _;
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(FleetEvents))
            .unwrap();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(instance_main());
}

async fn instance_main() {
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is set"));
    retry_runtime::install(Config::from_toml_str(&var("RETRY_FLEET_CONFIG")).unwrap()).unwrap();
    let fleet =
        retry_runtime::fleet::join(&var("RETRY_FLEET_URL"), &var("RETRY_FLEET_NS")).unwrap();
    assert!(fleet.wait_connected(Duration::from_secs(10)).await);
    // The admin router, served for real: `?scope=fleet` writes go through it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, retry_runtime::admin::router_with_token("t0ken")).await
    });
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
        let words: Vec<&str> = line.split_whitespace().collect();
        let answer = match words.as_slice() {
            ["quit"] => break,
            ["status"] => format!("{:?}", fleet.status()).replace(' ', "_"),
            // call pay ok|fail N, call hosts KEY ok|fail N: sequential calls.
            ["call", "pay", how, n] => calls(None, *how == "fail", n.parse().unwrap()).await,
            ["call", "hosts", key, how, n] => {
                calls(Some(key), *how == "fail", n.parse().unwrap()).await
            }
            // steady MS: successful calls on `pay` for MS milliseconds.
            ["steady", ms] => steady(Duration::from_millis(ms.parse().unwrap())).await,
            ["state", name] => state_of(name, None),
            ["state", name, key] => state_of(name, Some(key)),
            ["view", name] => {
                let b = retry_runtime::snapshot()
                    .breakers
                    .into_iter()
                    .find(|b| b.name == *name && b.key.is_none())
                    .unwrap();
                let view = b.fleet.unwrap();
                format!(
                    "{} {} {}",
                    view.reporting_open, view.quorum, view.trial_lock
                )
            }
            ["keys", name] => breaker(name).unwrap().live_keys().to_string(),
            ["trials"] => TRIALS.load(Ordering::Relaxed).to_string(),
            // The recent events (DESIGN §14): fleet changes and fleet transitions.
            ["recent"] => {
                let events = retry_runtime::recent_events();
                let count = |kind| events.iter().filter(|e| e.kind == kind).count();
                let by_fleet = events
                    .iter()
                    .filter(|e| {
                        e.kind == retry_runtime::EventKind::BreakerTransition
                            && e.fields
                                .get("reason")
                                .is_some_and(|r| r.to_string() == "fleet")
                    })
                    .count();
                format!(
                    "connected {} lost {} by-fleet {by_fleet}",
                    count(retry_runtime::EventKind::FleetConnected),
                    count(retry_runtime::EventKind::FleetLost)
                )
            }
            ["events"] => format!(
                "lost {} back {}",
                LOSSES.load(Ordering::Relaxed),
                RETURNS.load(Ordering::Relaxed)
            ),
            ["force" | "disable" | "reset", name] => {
                let handle = breaker(name).unwrap();
                let done = match words[0] {
                    "force" => handle.fleet_force_open().await,
                    "disable" => handle.fleet_disable().await,
                    _ => handle.fleet_reset().await,
                };
                match done {
                    Ok(()) => "ok".to_owned(),
                    Err(e) => format!("err {e}"),
                }
            }
            // admin ACTION NAME: POST /breakers/NAME/ACTION?scope=fleet.
            ["admin", action, name] => {
                let response = reqwest::Client::new()
                    .post(format!("{admin}/breakers/{name}/{action}?scope=fleet"))
                    .bearer_auth("t0ken")
                    .send()
                    .await
                    .unwrap();
                response.status().as_u16().to_string()
            }
            _ => format!("unknown command {line}"),
        };
        println!("@ {answer}");
    }
    drop(fleet);
}

/// `n` calls one after another: how many ran, were refused, failed.
async fn calls(key: Option<&str>, fail: bool, n: u32) -> String {
    let (mut ran, mut refused) = (0, 0);
    for _ in 0..n {
        let before = RUNS.load(Ordering::Relaxed);
        let _ = match key {
            None => pay(fail).await,
            Some(key) => host(key, fail).await,
        };
        if RUNS.load(Ordering::Relaxed) > before {
            ran += 1;
        } else {
            refused += 1;
        }
    }
    format!("ran {ran} refused {refused}")
}

/// Successful calls for `period`, one every millisecond: how many, and how
/// many failed or were refused.
async fn steady(period: Duration) -> String {
    let end = tokio::time::Instant::now() + period;
    let (mut calls, mut failed) = (0, 0);
    while tokio::time::Instant::now() < end {
        calls += 1;
        if pay(false).await.is_err() {
            failed += 1;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    format!("calls {calls} failed {failed}")
}

// ---------------------------------------------------------------------------
// The test side.

/// An instance process (this binary again), driven through its stdin.
fn instance(redis: &RedisServer, namespace: &str, config: &str) -> Driven {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "instance_process",
            "--exact",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("RETRY_FLEET_ROLE", "instance")
        .env("RETRY_FLEET_URL", redis.url())
        .env("RETRY_FLEET_NS", namespace)
        .env("RETRY_FLEET_CONFIG", config);
    let (instance, ready) = Driven::start(command);
    assert!(ready.starts_with("ready "), "{ready}");
    instance
}

/// Whether `check` holds within `limit`, polled.
fn within(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Polls every instance's answer to `command` until all are `expected`,
/// within `limit`; panics with the last answers otherwise.
fn all_become(instances: &mut [&mut Driven], command: &str, expected: &str, limit: Duration) {
    let mut last = Vec::new();
    let ok = within(limit, || {
        last = instances.iter_mut().map(|i| i.ask(command)).collect();
        last.iter().all(|a| a == expected)
    });
    assert!(
        ok,
        "`{command}` did not answer {expected} everywhere within {limit:?}: {last:?}"
    );
}

const LONG: Duration = Duration::from_secs(10);
/// The contract's deadline for manual fleet control.
const ONE_SECOND: Duration = Duration::from_secs(1);

fn config(pay: &str, hosts: &str) -> String {
    format!(
        r#"
        [policies.once]
        max_attempts = 1

        [breakers.pay]
        fleet = true
        window_size = 4
        minimum_calls = 4
        slow_call_duration = "none"
        {pay}

        [breakers.hosts]
        fleet = true
        window_size = 4
        minimum_calls = 4
        slow_call_duration = "none"
        {hosts}
        "#
    )
}

#[test]
fn a_quorum_of_other_instances_opens_a_closed_breaker() {
    let Some(redis) = redis_for("a_quorum_of_other_instances_opens_a_closed_breaker") else {
        return;
    };
    let config = config("fleet_quorum = 2\nopen_duration = \"60s\"", "");
    let mut a = instance(&redis, "quorum", &config);
    let mut b = instance(&redis, "quorum", &config);
    let mut c = instance(&redis, "quorum", &config);
    let mut d = instance(&redis, "quorum", &config);

    assert_eq!(a.ask("call pay fail 4"), "ran 4 refused 0");
    assert_eq!(a.ask("state pay"), "Open");
    // One report is below the quorum: the others see it and stay closed.
    all_become(&mut [&mut b, &mut c, &mut d], "view pay", "1 2 false", LONG);
    for other in [&mut b, &mut c, &mut d] {
        assert_eq!(other.ask("state pay"), "Closed");
    }
    assert_eq!(c.ask("call pay ok 1"), "ran 1 refused 0");

    // A second instance opens on its own failures: now C and D see two.
    assert_eq!(b.ask("call pay fail 4"), "ran 4 refused 0");
    all_become(&mut [&mut c, &mut d], "state pay", "Open", LONG);
    assert_eq!(c.ask("call pay ok 3"), "ran 0 refused 3");
    assert_eq!(d.ask("view pay"), "2 2 false");
    // A counts only the others: B.
    assert_eq!(a.ask("view pay"), "1 2 false");

    // A leaves the fleet (its Fleet is dropped): its report goes with it.
    drop(a);
    all_become(&mut [&mut c, &mut d], "view pay", "1 2 false", LONG);
}

#[test]
fn a_keyed_instance_is_shared_by_its_key_under_max_keys() {
    let Some(redis) = redis_for("a_keyed_instance_is_shared_by_its_key_under_max_keys") else {
        return;
    };
    let config = config(
        "",
        "fleet_quorum = 1\nopen_duration = \"60s\"\nmax_keys = 2",
    );
    let mut a = instance(&redis, "keyed", &config);
    let mut b = instance(&redis, "keyed", &config);
    let mut c = instance(&redis, "keyed", &config);

    assert_eq!(a.ask("call hosts db-1 fail 4"), "ran 4 refused 0");
    all_become(&mut [&mut b, &mut c], "state hosts db-1", "Open", LONG);
    assert_eq!(b.ask("call hosts db-1 ok 2"), "ran 0 refused 2");
    // Another key of the same name is its own breaker.
    assert_eq!(b.ask("call hosts db-2 ok 2"), "ran 2 refused 0");
    assert_eq!(b.ask("state hosts db-2"), "Closed");

    // More keys open in the fleet than max_keys: still at most 2 here.
    assert_eq!(a.ask("call hosts db-3 fail 4"), "ran 4 refused 0");
    assert_eq!(a.ask("call hosts db-4 fail 4"), "ran 4 refused 0");
    all_become(&mut [&mut b, &mut c], "state hosts db-4", "Open", LONG);
    for other in [&mut b, &mut c] {
        let live: usize = other.ask("keys hosts").parse().unwrap();
        assert!(live <= 2, "{live} keyed instances alive, max_keys = 2");
    }
}

#[test]
fn the_fleet_runs_half_open_calls_trials_in_all() {
    let Some(redis) = redis_for("the_fleet_runs_half_open_calls_trials_in_all") else {
        return;
    };
    let config = config(
        "fleet_quorum = 1\nopen_duration = \"400ms\"\nhalf_open_calls = 2",
        "",
    );
    let mut instances: Vec<Driven> = (0..4)
        .map(|_| instance(&redis, "trials", &config))
        .collect();
    assert_eq!(instances[0].ask("call pay fail 4"), "ran 4 refused 0");
    all_become(
        &mut instances.iter_mut().collect::<Vec<_>>(),
        "state pay",
        "Open",
        LONG,
    );
    // Every instance calls while the open duration runs out: one of them
    // takes the fleet's trial lock, its two trials pass, and every instance
    // closes. Calls run one after another on each instance.
    for instance in &mut instances {
        instance.send("steady 1500");
    }
    for instance in &mut instances {
        let answer = instance.answer();
        assert!(answer.starts_with("calls "), "{answer}");
    }
    all_become(
        &mut instances.iter_mut().collect::<Vec<_>>(),
        "state pay",
        "Closed",
        LONG,
    );
    let trials: u64 = instances
        .iter_mut()
        .map(|i| i.ask("trials").parse::<u64>().unwrap())
        .sum();
    assert_eq!(
        trials, 2,
        "trial calls in the whole fleet (half_open_calls = 2)"
    );
}

#[test]
fn manual_fleet_control_reaches_every_instance_within_a_second_and_survives_restarts() {
    let Some(redis) = redis_for(
        "manual_fleet_control_reaches_every_instance_within_a_second_and_survives_restarts",
    ) else {
        return;
    };
    let config = config("", "");
    let mut a = instance(&redis, "manual", &config);
    let mut b = instance(&redis, "manual", &config);
    let mut c = instance(&redis, "manual", &config);

    assert_eq!(a.ask("force pay"), "ok");
    assert_eq!(a.ask("state pay"), "ForcedOpen");
    all_become(&mut [&mut b, &mut c], "state pay", "ForcedOpen", ONE_SECOND);

    // An instance that restarts takes the forced state up when it joins.
    drop(c);
    let mut c = instance(&redis, "manual", &config);
    all_become(&mut [&mut c], "state pay", "ForcedOpen", LONG);
    assert_eq!(c.ask("call pay ok 1"), "ran 0 refused 1");

    assert_eq!(b.ask("disable pay"), "ok");
    all_become(
        &mut [&mut a, &mut b, &mut c],
        "state pay",
        "Disabled",
        ONE_SECOND,
    );
    assert_eq!(c.ask("reset pay"), "ok");
    all_become(
        &mut [&mut a, &mut b, &mut c],
        "state pay",
        "Closed",
        ONE_SECOND,
    );
    assert_eq!(a.ask("call pay ok 1"), "ran 1 refused 0");
}

#[test]
fn redis_frozen_then_killed_fails_no_call_and_sharing_resumes_on_reconnection() {
    let Some(mut redis) =
        redis_for("redis_frozen_then_killed_fails_no_call_and_sharing_resumes_on_reconnection")
    else {
        return;
    };
    let config = config("fleet_quorum = 1\nopen_duration = \"60s\"", "");
    let mut a = instance(&redis, "outage", &config);
    let mut b = instance(&redis, "outage", &config);

    // Calls run while Redis stops answering (a partition), then dies.
    a.send("steady 2500");
    b.send("steady 2500");
    std::thread::sleep(Duration::from_millis(300));
    redis.freeze();
    std::thread::sleep(Duration::from_millis(1500));
    redis.kill();
    for instance in [&mut a, &mut b] {
        let answer = instance.answer();
        let words: Vec<&str> = answer.split(' ').collect();
        assert_eq!(words[2..], ["failed", "0"], "{answer}");
        assert!(words[1].parse::<u64>().unwrap() > 0, "{answer}");
    }
    for instance in [&mut a, &mut b] {
        assert!(
            within(LONG, || instance.ask("status").starts_with("Disconnected")),
            "the loss is seen"
        );
    }
    // One WARN for the loss, however many reconnections fail.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(a.ask("events"), "lost 1 back 0");
    // Breakers are local meanwhile: A opens on its own failures (two, after
    // the window's two successes), B cannot know.
    assert_eq!(a.ask("call pay fail 4"), "ran 2 refused 2");
    assert_eq!(a.ask("state pay"), "Open");
    assert_eq!(b.ask("state pay"), "Closed");

    // Redis comes back empty: both reconnect, A publishes its open breaker
    // again, and B (quorum 1) opens.
    redis.restart();
    all_become(&mut [&mut a, &mut b], "status", "Connected", LONG);
    all_become(&mut [&mut b], "state pay", "Open", LONG);
    // And one INFO for the return.
    assert_eq!(a.ask("events"), "lost 1 back 1");
    // The recent events have them, and B's opening by the fleet.
    assert_eq!(a.ask("recent"), "connected 2 lost 1 by-fleet 0");
    assert_eq!(b.ask("recent"), "connected 2 lost 1 by-fleet 1");
}

/// Without a joined fleet, `fleet = true` changes nothing: the breaker opens,
/// waits and takes its trials like a local one (no Redis needed).
#[tokio::test(start_paused = true)]
async fn a_fleet_breaker_without_a_joined_fleet_is_a_local_breaker() {
    retry_runtime::install(
        Config::from_toml_str(&config("open_duration = \"1s\"\nhalf_open_calls = 2", "")).unwrap(),
    )
    .unwrap();
    for _ in 0..4 {
        assert!(pay(true).await.is_err());
    }
    assert_eq!(state_of("pay", None), "Open");
    let runs = RUNS.load(Ordering::Relaxed);
    assert!(pay(false).await.is_err(), "refused while open");
    assert_eq!(RUNS.load(Ordering::Relaxed), runs);
    tokio::time::advance(Duration::from_secs(1)).await;
    assert!(pay(false).await.is_ok(), "a trial");
    assert!(pay(false).await.is_ok(), "a trial");
    assert_eq!(state_of("pay", None), "Closed");
    let view = retry_runtime::snapshot()
        .breakers
        .into_iter()
        .find(|b| b.name == "pay" && b.key.is_none())
        .unwrap()
        .fleet
        .unwrap();
    assert_eq!(
        (view.reporting_open, view.quorum, view.trial_lock),
        (0, 2, false)
    );
}
