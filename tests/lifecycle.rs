//! `install` over a running program: refusals leave the old config in force,
//! unchanged breakers and budgets keep their state, changed ones start fresh,
//! in-flight calls finish under the settings they started with, and calls made
//! during installs all complete. The scenarios share the global config, so they
//! run in order inside one test.

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use retry_runtime::{BreakerState, Config, breaker, budget, install, retryable};

/// The two tests install configs: one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[retryable(policy = "life", breaker = "life", budget = "life")]
async fn call(fail: bool, attempts: &AtomicU32) -> io::Result<u32> {
    attempts.fetch_add(1, Ordering::SeqCst);
    if fail {
        Err(io::ErrorKind::ConnectionReset.into())
    } else {
        Ok(1)
    }
}

#[retryable(policy = "life-slow", budget = "life")]
async fn slow(attempts: &AtomicU32) -> io::Result<u32> {
    attempts.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(100)).await;
    Err(io::ErrorKind::ConnectionReset.into())
}

fn config(max_attempts: u32, open_duration: &str, budget_ratio: f64) -> Config {
    Config::from_toml_str(&format!(
        r#"
        [policies.life]
        max_attempts = {max_attempts}
        backoff = "constant"
        initial_delay = "10ms"
        jitter = "none"

        [policies.life-slow]
        max_attempts = {max_attempts}
        backoff = "constant"
        initial_delay = "10ms"
        jitter = "none"

        [breakers.life]
        window_size = 2
        minimum_calls = 2
        failure_rate_threshold = 1.0
        open_duration = "{open_duration}"

        [budgets.life]
        ttl = "10s"
        min_retries_per_sec = 100
        retry_ratio = {budget_ratio}

        [policies.churn]
        [budgets.churn]
        "#
    ))
    .expect("valid config")
}

#[tokio::test(start_paused = true)]
async fn install_over_a_running_program() {
    let _serial = SERIAL.lock().await;
    install(config(3, "60s", 1.0)).unwrap();
    let attempts = AtomicU32::new(0);

    // A refused config: every missing name, with the call sites' file:line.
    let error =
        install(Config::from_toml_str("[policies.life]\nmax_attempts = 1").unwrap()).unwrap_err();
    let message = error.to_string();
    for part in [
        "policy `life-slow`",
        "breaker `life`",
        "budget `life`",
        "tests/lifecycle.rs:",
    ] {
        assert!(message.contains(part), "{message}\nlacks {part}");
    }
    // ... leaves the old one in force: 3 attempts, not 1.
    slow(&attempts).await.unwrap_err();
    assert_eq!(attempts.swap(0, Ordering::SeqCst), 3);
    assert_eq!(
        retry_runtime::current_config()
            .policy("life")
            .unwrap()
            .max_attempts,
        3
    );

    // Two failed attempts fill the breaker's window of 2: it opens and refuses the third.
    call(true, &attempts).await.unwrap_err();
    assert_eq!(attempts.swap(0, Ordering::SeqCst), 2);
    let life = breaker("life").unwrap();
    assert_eq!(life.state(), BreakerState::Open);
    let balance = budget("life").unwrap().balance();

    // Only a policy changed: the open breaker stays open, the budget keeps its balance.
    install(config(2, "60s", 1.0)).unwrap();
    assert_eq!(life.state(), BreakerState::Open);
    assert_eq!(budget("life").unwrap().balance(), balance);
    call(false, &attempts).await.unwrap_err();
    assert_eq!(
        attempts.swap(0, Ordering::SeqCst),
        0,
        "still rejected by the open breaker"
    );

    // The breaker's own settings changed: it starts fresh (closed); the budget changed too.
    install(config(2, "30s", 0.5)).unwrap();
    assert_eq!(life.state(), BreakerState::Closed);
    assert_eq!(
        budget("life").unwrap().balance(),
        1_000.0,
        "a fresh budget: just the reserve"
    );
    assert_eq!(call(false, &attempts).await.unwrap(), 1);
    attempts.store(0, Ordering::SeqCst);
    // ... and the new policy is in force: 2 attempts.
    call(true, &attempts).await.unwrap_err();
    assert_eq!(attempts.swap(0, Ordering::SeqCst), 2);
    life.reset();

    // A call in flight keeps the policy it started with: 5 attempts, though the
    // config says 1 by the time its first attempt ends.
    install(config(5, "30s", 0.5)).unwrap();
    let slow_attempts = AtomicU32::new(0);
    let in_flight = slow(&slow_attempts);
    let swap = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        install(config(1, "30s", 0.5)).unwrap();
    };
    let (result, ()) = tokio::join!(in_flight, swap);
    result.unwrap_err();
    assert_eq!(slow_attempts.swap(0, Ordering::SeqCst), 5);
    // The next call starts under the new policy.
    slow(&slow_attempts).await.unwrap_err();
    assert_eq!(slow_attempts.load(Ordering::SeqCst), 1);
}

#[test]
fn calls_during_installs_all_complete() {
    let _serial = SERIAL.blocking_lock();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    runtime.block_on(async {
        static ATTEMPTS: AtomicU32 = AtomicU32::new(0);
        #[retryable(policy = "churn", budget = "churn")]
        async fn churn(i: u32) -> io::Result<u32> {
            let n = ATTEMPTS.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
            if n.is_multiple_of(3) { Err(io::ErrorKind::ConnectionReset.into()) } else { Ok(i) }
        }
        let churn_config = |attempts: u32| {
            Config::from_toml_str(&format!(
                "[policies.churn]\nmax_attempts = {attempts}\ninitial_delay = \"1ms\"\njitter = \"none\"\n\
                 [budgets.churn]\nmin_retries_per_sec = 100000\n\
                 [policies.life]\n[policies.life-slow]\n[breakers.life]\n[budgets.life]\n"
            ))
            .unwrap()
        };
        let calls: Vec<_> = (0..400).map(|i| tokio::spawn(churn(i))).collect();
        for round in 0..20 {
            install(churn_config(3 + round % 3)).unwrap();
            tokio::task::yield_now().await;
        }
        for (i, call) in calls.into_iter().enumerate() {
            // Every call completes (a few may exhaust their attempts; none hangs or panics).
            match call.await.expect("no call panicked") {
                Ok(v) => assert_eq!(v as usize, i),
                Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset),
            }
        }
    });
}
