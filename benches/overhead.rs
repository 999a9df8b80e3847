//! The cost of the success path: the same trivial async operation called plain,
//! through `#[retryable]` (policy only; with a breaker; with a breaker and a named
//! budget), and through `backon`, `tokio-retry2`, tower's `Retry` with a
//! `TpsBudget`, and the `failsafe` and `recloser` breakers.
//! A second group runs `#[retryable]` functions without a breaker and with one
//! breaker and one budget (unkeyed and keyed), and the peers that share state
//! between calls (tower's budget, the two breakers), from one thread and from
//! two at once. The keyed lines call the same breaker settings through `breaker_key`,
//! over four keys in turn. A third group does the same for sync functions,
//! against `retry` 2.x and backon's blocking retry; a fourth measures a nested
//! call (one `#[retryable]` inside another's attempt). A fifth, `hedge`,
//! measures hedged call sites whose hedge never fires (fixed and percentile
//! delays, with an attempt that answers at its first poll and one that waits
//! once); a sixth, `attempt_span`, the `retry.attempt` span with no subscriber
//! and with one that ignores `DEBUG`; a seventh, `clock`, one read of tokio's,
//! std's and a TSC clock; an eighth, `waits`, the success path of an attempt
//! that waits once (where slow-call timing reads the clock), beside
//! recloser. One line of the first group runs a breaker with `fleet = true`
//! (feature `redis`), whose success path must cost what a local breaker's
//! does. `OVERHEAD_PROBE` runs one line in a loop for an instruction
//! counter instead (see `probe`). See BENCHMARKS.md for results.
//!
//! ```text
//! cargo bench --bench overhead
//! python3 benches/summary.py    # ns added over `plain` and ratios, from criterion's estimates
//! ```

use std::hint::black_box;
use std::io;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use criterion::{Criterion, criterion_group};
use failsafe::futures::CircuitBreaker as _;
use retry_runtime::{Config, install, retryable};
use tokio_retry2::strategy::ExponentialBackoff;
use tokio_retry2::{Retry, RetryError};
use tower::Service as _;
use tower::retry::budget::{Budget as _, TpsBudget};

const CONFIG: &str = r#"
[policies.bench]
max_attempts = 3
backoff = "exponential"
initial_delay = "10ms"
jitter = "none"

[policies.bench-deadline]
base = "bench"
max_elapsed = "30s"

[breakers.bench]
window_size = 100
minimum_calls = 100

[breakers.untimed]
window_size = 100
minimum_calls = 100
slow_call_duration = "none"

# The same breaker shared with a fleet (feature `redis`): its success path is
# the local one, whether or not a fleet is joined.
[breakers.untimed-fleet]
base = "untimed"
fleet = true

[budgets.bench]
ttl = "10s"
min_retries_per_sec = 10
retry_ratio = 0.2

[hedges.bench-fixed]
delay = "10s"

[hedges.bench-p95]
delay = "p95"
"#;

/// The operation: trivial, but opaque to the optimizer.
#[inline(never)]
async fn op(x: u64) -> io::Result<u64> {
    Ok(black_box(x).wrapping_add(1))
}

/// Policy only (every call site also deposits into the `default` budget).
#[retryable(policy = "bench")]
async fn policy_only(x: u64) -> io::Result<u64> {
    op(x).await
}

#[retryable(policy = "bench", breaker = "bench")]
async fn with_breaker(x: u64) -> io::Result<u64> {
    op(x).await
}

#[retryable(policy = "bench", breaker = "bench", budget = "bench")]
async fn with_breaker_and_budget(x: u64) -> io::Result<u64> {
    op(x).await
}

/// As above, under a policy with a deadline (like the `network` preset): the
/// call reads the clock as it starts, and the breaker reuses that reading.
#[retryable(policy = "bench-deadline", breaker = "bench", budget = "bench")]
async fn with_deadline_breaker_and_budget(x: u64) -> io::Result<u64> {
    op(x).await
}

/// As above, with a breaker that does not time attempts (`slow_call_duration = "none"`).
#[retryable(policy = "bench", breaker = "untimed", budget = "bench")]
async fn with_untimed_breaker_and_budget(x: u64) -> io::Result<u64> {
    op(x).await
}

/// As above, with `fleet = true`: the call path reads no fleet state.
#[retryable(policy = "bench", breaker = "untimed-fleet", budget = "bench")]
async fn with_untimed_fleet_breaker_and_budget(x: u64) -> io::Result<u64> {
    op(x).await
}

/// The sync operation: trivial, but opaque to the optimizer.
#[inline(never)]
fn op_sync(x: u64) -> io::Result<u64> {
    Ok(black_box(x).wrapping_add(1))
}

#[retryable(policy = "bench")]
fn sync_policy_only(x: u64) -> io::Result<u64> {
    op_sync(x)
}

#[retryable(policy = "bench", breaker = "bench", budget = "bench")]
fn sync_with_breaker_and_budget(x: u64) -> io::Result<u64> {
    op_sync(x)
}

#[retryable(policy = "bench", breaker = "untimed", budget = "bench")]
fn sync_with_untimed_breaker_and_budget(x: u64) -> io::Result<u64> {
    op_sync(x)
}

/// An outer call whose attempt awaits an inner `#[retryable]` call.
#[retryable(policy = "bench")]
async fn nested_outer(x: u64) -> io::Result<u64> {
    policy_only(x).await
}

/// Hedged, fixed delay never reached.
#[retryable(policy = "bench", hedge = "bench-fixed", idempotent)]
async fn hedged_fixed(x: u64) -> io::Result<u64> {
    op(x).await
}

/// Hedged, percentile delay never reached (every success is recorded).
#[retryable(policy = "bench", hedge = "bench-p95", idempotent)]
async fn hedged_p95(x: u64) -> io::Result<u64> {
    op(x).await
}

/// The operation, waiting once (`Pending`, woken at once) before it answers.
#[inline(never)]
async fn op_yield(x: u64) -> io::Result<u64> {
    tokio::task::yield_now().await;
    Ok(black_box(x).wrapping_add(1))
}

#[retryable(policy = "bench")]
async fn policy_only_yield(x: u64) -> io::Result<u64> {
    op_yield(x).await
}

/// Breaker (slow calls timed) and budget, the attempt waiting once: timed
/// from its first wait, so two clock reads.
#[retryable(policy = "bench", breaker = "bench", budget = "bench")]
async fn with_breaker_and_budget_yield(x: u64) -> io::Result<u64> {
    op_yield(x).await
}

/// The same with an untimed breaker: no clock read.
#[retryable(policy = "bench", breaker = "untimed", budget = "bench")]
async fn with_untimed_breaker_and_budget_yield(x: u64) -> io::Result<u64> {
    op_yield(x).await
}

/// Hedged, fixed delay: the attempt waits, so the hedge timer is armed and dropped.
#[retryable(policy = "bench", hedge = "bench-fixed", idempotent)]
async fn hedged_fixed_yield(x: u64) -> io::Result<u64> {
    op_yield(x).await
}

/// Hedged, percentile delay: the attempt waits, so the clock is read twice.
#[retryable(policy = "bench", hedge = "bench-p95", idempotent)]
async fn hedged_p95_yield(x: u64) -> io::Result<u64> {
    op_yield(x).await
}

/// A subscriber like a `fmt` subscriber at `INFO`: it ignores `DEBUG` spans.
struct InfoOnly;

impl tracing::Subscriber for InfoOnly {
    fn register_callsite(
        &self,
        metadata: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        if self.enabled(metadata) {
            tracing::subscriber::Interest::always()
        } else {
            tracing::subscriber::Interest::never()
        }
    }

    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        *metadata.level() <= tracing::Level::INFO
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::INFO)
    }

    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, _: &tracing::Event<'_>) {}

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}

/// The same two layers with no retry loop anywhere.
#[inline(never)]
async fn plain_two_layers(x: u64) -> io::Result<u64> {
    op(x).await
}

/// As `with_untimed_breaker_and_budget`, on the instance of one key (`&str`)
/// of the breaker: the cost of a keyed breaker is the difference.
#[retryable(policy = "bench", breaker = "untimed", budget = "bench", breaker_key = host)]
async fn keyed_untimed_breaker_and_budget(host: &str, x: u64) -> io::Result<u64> {
    op(x).await
}

/// As above, keyed by a number (formatted for the lookup, not allocated).
#[retryable(policy = "bench", breaker = "untimed", budget = "bench", breaker_key = port)]
async fn keyed_by_number(port: u16, x: u64) -> io::Result<u64> {
    op(x).await
}

/// As `with_breaker_and_budget` (slow calls timed), keyed by `&str`.
#[retryable(policy = "bench", breaker = "bench", budget = "bench", breaker_key = host)]
async fn keyed_breaker_and_budget(host: &str, x: u64) -> io::Result<u64> {
    op(x).await
}

/// Tower's `Retry` with a `TpsBudget` set like `[budgets.bench]` (10 s, 10 retries
/// a second, 20 %): a success deposits, a failure retries twice at most while
/// the budget allows. The success path never sleeps, so the retry future is a
/// ready one (a backoff would only change what a failure costs).
#[derive(Clone)]
struct TowerPolicy {
    budget: std::sync::Arc<TpsBudget>,
    retries_left: u8,
}

impl TowerPolicy {
    fn new() -> Self {
        Self {
            budget: std::sync::Arc::new(TpsBudget::new(Duration::from_secs(10), 10, 0.2)),
            retries_left: 2,
        }
    }
}

impl<E> tower::retry::Policy<u64, u64, E> for TowerPolicy {
    type Future = std::future::Ready<()>;

    fn retry(&mut self, _: &mut u64, result: &mut Result<u64, E>) -> Option<Self::Future> {
        match result {
            Ok(_) => {
                self.budget.deposit();
                None
            }
            Err(_) if self.retries_left > 0 && self.budget.withdraw() => {
                self.retries_left -= 1;
                Some(std::future::ready(()))
            }
            Err(_) => None,
        }
    }

    fn clone_request(&mut self, request: &u64) -> Option<u64> {
        Some(*request)
    }
}

/// `op` as a tower service, under `TowerPolicy` (a fresh budget each time).
/// `service_fn` is always ready and `Retry::poll_ready` only asks it, so the
/// benches call `call` directly.
fn tower_retry() -> impl tower::Service<u64, Response = u64, Error = io::Error> + Clone + Send {
    tower::retry::Retry::new(TowerPolicy::new(), tower::service_fn(op))
}

const HOSTS: [&str; 4] = [
    "api-1.internal.example",
    "api-2.internal.example",
    "api-3.internal.example",
    "api-4.internal.example",
];

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime")
}

fn success_path(c: &mut Criterion) {
    install(Config::from_toml_str(CONFIG).expect("valid")).expect("installs");
    let rt = runtime();
    let mut group = c.benchmark_group("success_path");
    group.bench_function("plain", |b| b.to_async(&rt).iter(|| op(black_box(1))));
    group.bench_function("retryable_policy", |b| {
        b.to_async(&rt).iter(|| policy_only(black_box(1)))
    });
    group.bench_function("retryable_breaker", |b| {
        b.to_async(&rt).iter(|| with_breaker(black_box(1)))
    });
    group.bench_function("retryable_breaker_budget", |b| {
        b.to_async(&rt)
            .iter(|| with_breaker_and_budget(black_box(1)))
    });
    group.bench_function("retryable_deadline_breaker_budget", |b| {
        b.to_async(&rt)
            .iter(|| with_deadline_breaker_and_budget(black_box(1)))
    });
    group.bench_function("retryable_untimed_breaker_budget", |b| {
        b.to_async(&rt)
            .iter(|| with_untimed_breaker_and_budget(black_box(1)))
    });
    group.bench_function("retryable_untimed_fleet_breaker_budget", |b| {
        b.to_async(&rt)
            .iter(|| with_untimed_fleet_breaker_and_budget(black_box(1)))
    });
    group.bench_function("keyed_untimed_breaker_budget", |b| {
        let mut i = 0;
        b.to_async(&rt).iter(|| {
            i += 1;
            keyed_untimed_breaker_and_budget(HOSTS[i % 4], black_box(1))
        })
    });
    group.bench_function("keyed_number_untimed_breaker_budget", |b| {
        let mut i = 0_u16;
        b.to_async(&rt).iter(|| {
            i = i.wrapping_add(1);
            keyed_by_number(8000 + i % 4, black_box(1))
        })
    });
    group.bench_function("keyed_breaker_budget", |b| {
        let mut i = 0;
        b.to_async(&rt).iter(|| {
            i += 1;
            keyed_breaker_and_budget(HOSTS[i % 4], black_box(1))
        })
    });
    group.bench_function("backon", |b| {
        b.to_async(&rt)
            .iter(|| (|| op(black_box(1))).retry(ExponentialBuilder::default().with_max_times(2)))
    });
    group.bench_function("tokio_retry2", |b| {
        b.to_async(&rt).iter(|| {
            Retry::spawn(ExponentialBackoff::from_millis(10).take(2), || async {
                op(black_box(1)).await.map_err(RetryError::transient)
            })
        })
    });
    let mut tower = tower_retry();
    group.bench_function("tower_retry_tps_budget", |b| {
        b.to_async(&rt).iter(|| tower.call(black_box(1)))
    });
    let breaker = failsafe::Config::new().build();
    group.bench_function("failsafe", |b| {
        b.to_async(&rt).iter(|| breaker.call(op(black_box(1))))
    });
    let recloser = recloser::AsyncRecloser::from(recloser::Recloser::default());
    group.bench_function("recloser", |b| {
        b.to_async(&rt).iter(|| recloser.call(op(black_box(1))))
    });
    group.finish();
}

/// Runs `iters` calls on each of `threads` threads (own current-thread runtime
/// each, released together) and returns the slowest thread's time: the time per
/// call as one thread saw it while the others hammered the same breaker and budget.
/// `make` gives each thread its caller (a tower service is called through `&mut`,
/// so each thread has its own clone, sharing the budget).
fn hammer<M, C, Fut, T, E>(threads: usize, iters: u64, make: M) -> Duration
where
    M: Fn() -> C + Sync,
    C: FnMut(u64) -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
    E: std::fmt::Debug,
{
    let barrier = Barrier::new(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut call = make();
                    let rt = runtime();
                    rt.block_on(async {
                        call(0).await.expect("warm");
                        barrier.wait();
                        let start = Instant::now();
                        for i in 0..iters {
                            black_box(call(black_box(i)).await.expect("ok"));
                        }
                        start.elapsed()
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("no panic"))
            .max()
            .unwrap_or_default()
    })
}

/// The key of call `i`: the four hosts in turn.
fn host(i: u64) -> &'static str {
    HOSTS[usize::try_from(i % 4).unwrap_or(0)]
}

fn contention(c: &mut Criterion) {
    install(Config::from_toml_str(CONFIG).expect("valid")).expect("installs");
    let mut group = c.benchmark_group("contention");
    let failsafe = failsafe::Config::new().build();
    let recloser = recloser::AsyncRecloser::from(recloser::Recloser::default());
    let tower = tower_retry();
    for threads in [1, 2] {
        group.bench_function(format!("plain_{threads}_threads"), |b| {
            b.iter_custom(|iters| hammer(threads, iters, || op))
        });
        group.bench_function(format!("retryable_policy_{threads}_threads"), |b| {
            b.iter_custom(|iters| hammer(threads, iters, || policy_only))
        });
        group.bench_function(format!("retryable_breaker_budget_{threads}_threads"), |b| {
            b.iter_custom(|iters| hammer(threads, iters, || with_breaker_and_budget))
        });
        group.bench_function(
            format!("retryable_untimed_breaker_budget_{threads}_threads"),
            |b| b.iter_custom(|iters| hammer(threads, iters, || with_untimed_breaker_and_budget)),
        );
        group.bench_function(
            format!("keyed_untimed_breaker_budget_{threads}_threads"),
            |b| {
                b.iter_custom(|iters| {
                    hammer(threads, iters, || {
                        |i| keyed_untimed_breaker_and_budget(host(i), i)
                    })
                })
            },
        );
        group.bench_function(format!("keyed_breaker_budget_{threads}_threads"), |b| {
            b.iter_custom(|iters| {
                hammer(threads, iters, || |i| keyed_breaker_and_budget(host(i), i))
            })
        });
        group.bench_function(format!("tower_retry_tps_budget_{threads}_threads"), |b| {
            b.iter_custom(|iters| {
                hammer(threads, iters, || {
                    let mut tower = tower.clone();
                    move |i| tower.call(i)
                })
            })
        });
        group.bench_function(format!("failsafe_{threads}_threads"), |b| {
            b.iter_custom(|iters| hammer(threads, iters, || |i| failsafe.call(op(i))))
        });
        group.bench_function(format!("recloser_{threads}_threads"), |b| {
            b.iter_custom(|iters| hammer(threads, iters, || |i| recloser.call(op(i))))
        });
    }
    group.finish();
}

fn sync_success_path(c: &mut Criterion) {
    use backon::BlockingRetryable;
    install(Config::from_toml_str(CONFIG).expect("valid")).expect("installs");
    let mut group = c.benchmark_group("sync_success_path");
    group.bench_function("plain", |b| b.iter(|| op_sync(black_box(1))));
    group.bench_function("retryable_policy", |b| {
        b.iter(|| sync_policy_only(black_box(1)))
    });
    group.bench_function("retryable_breaker_budget", |b| {
        b.iter(|| sync_with_breaker_and_budget(black_box(1)))
    });
    group.bench_function("retryable_untimed_breaker_budget", |b| {
        b.iter(|| sync_with_untimed_breaker_and_budget(black_box(1)))
    });
    group.bench_function("retry_2", |b| {
        b.iter(|| {
            retry::retry(retry::delay::Exponential::from_millis(10).take(2), || {
                op_sync(black_box(1))
            })
        })
    });
    group.bench_function("backon_blocking", |b| {
        b.iter(|| {
            (|| op_sync(black_box(1)))
                .retry(ExponentialBuilder::default().with_max_times(2))
                .call()
        })
    });
    group.finish();
}

fn nested(c: &mut Criterion) {
    install(Config::from_toml_str(CONFIG).expect("valid")).expect("installs");
    let rt = runtime();
    let mut group = c.benchmark_group("nested");
    group.bench_function("plain_two_layers", |b| {
        b.to_async(&rt).iter(|| plain_two_layers(black_box(1)))
    });
    group.bench_function("retryable_inside_retryable", |b| {
        b.to_async(&rt).iter(|| nested_outer(black_box(1)))
    });
    group.finish();
}

fn hedge(c: &mut Criterion) {
    install(Config::from_toml_str(CONFIG).expect("valid")).expect("installs");
    let rt = runtime();
    let mut group = c.benchmark_group("hedge");
    group.bench_function("plain", |b| b.to_async(&rt).iter(|| op(black_box(1))));
    group.bench_function("retryable_policy", |b| {
        b.to_async(&rt).iter(|| policy_only(black_box(1)))
    });
    group.bench_function("hedged_fixed", |b| {
        b.to_async(&rt).iter(|| hedged_fixed(black_box(1)))
    });
    group.bench_function("hedged_p95", |b| {
        b.to_async(&rt).iter(|| hedged_p95(black_box(1)))
    });
    group.bench_function("plain_yield", |b| {
        b.to_async(&rt).iter(|| op_yield(black_box(1)))
    });
    group.bench_function("retryable_policy_yield", |b| {
        b.to_async(&rt).iter(|| policy_only_yield(black_box(1)))
    });
    group.bench_function("hedged_fixed_yield", |b| {
        b.to_async(&rt).iter(|| hedged_fixed_yield(black_box(1)))
    });
    group.bench_function("hedged_p95_yield", |b| {
        b.to_async(&rt).iter(|| hedged_p95_yield(black_box(1)))
    });
    group.finish();
}

/// The success path of an attempt that waits once (`Pending`, woken at once),
/// as every attempt that does I/O does: what slow-call timing costs there (an
/// attempt that answers at its first poll reads no clock, see
/// `success_path`).
fn waits(c: &mut Criterion) {
    install(Config::from_toml_str(CONFIG).expect("valid")).expect("installs");
    let rt = runtime();
    let recloser = recloser::AsyncRecloser::from(recloser::Recloser::default());
    let mut group = c.benchmark_group("waits");
    group.bench_function("plain", |b| b.to_async(&rt).iter(|| op_yield(black_box(1))));
    group.bench_function("retryable_policy", |b| {
        b.to_async(&rt).iter(|| policy_only_yield(black_box(1)))
    });
    group.bench_function("retryable_breaker_budget", |b| {
        b.to_async(&rt)
            .iter(|| with_breaker_and_budget_yield(black_box(1)))
    });
    group.bench_function("retryable_untimed_breaker_budget", |b| {
        b.to_async(&rt)
            .iter(|| with_untimed_breaker_and_budget_yield(black_box(1)))
    });
    group.bench_function("recloser", |b| {
        b.to_async(&rt)
            .iter(|| async { recloser.call(op_yield(black_box(1))).await.is_ok() })
    });
    group.finish();
}

fn attempt_span(c: &mut Criterion) {
    install(Config::from_toml_str(CONFIG).expect("valid")).expect("installs");
    let rt = runtime();
    let mut group = c.benchmark_group("attempt_span");
    group.bench_function("plain_no_subscriber", |b| {
        b.to_async(&rt).iter(|| op(black_box(1)))
    });
    group.bench_function("retryable_policy_no_subscriber", |b| {
        b.to_async(&rt).iter(|| policy_only(black_box(1)))
    });
    tracing::subscriber::with_default(InfoOnly, || {
        group.bench_function("plain_info_subscriber", |b| {
            b.to_async(&rt).iter(|| op(black_box(1)))
        });
        group.bench_function("retryable_policy_info_subscriber", |b| {
            b.to_async(&rt).iter(|| policy_only(black_box(1)))
        });
    });
    group.finish();
}

/// `OVERHEAD_PROBE=<line> [OVERHEAD_PROBE_CALLS=n]`: instead of criterion, make
/// `n` (default 100,000) calls of one line in a loop, after one call per key to
/// warm the site, for an instruction counter: `valgrind --tool=callgrind
/// --toggle-collect='*probe_calls*'` counts only the loop, so its total divided
/// by `n` is the instructions per call (see BENCHMARKS.md).
fn probe() -> bool {
    let Ok(line) = std::env::var("OVERHEAD_PROBE") else {
        return false;
    };
    let calls = std::env::var("OVERHEAD_PROBE_CALLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000_u64);
    install(Config::from_toml_str(CONFIG).expect("valid")).expect("installs");
    let rt = runtime();
    macro_rules! lines {
        ($($name:literal => $call:expr,)*) => {
            match line.as_str() {
                $($name => probe_run(&rt, calls, $call),)*
                other => panic!("OVERHEAD_PROBE: no line `{other}`; one of {:?}", [$($name),*]),
            }
        };
    }
    let failsafe = failsafe::Config::new().build();
    let recloser = recloser::AsyncRecloser::from(recloser::Recloser::default());
    let mut tower = tower_retry();
    lines! {
        "plain" => op,
        "policy" => policy_only,
        "breaker_budget" => with_breaker_and_budget,
        "deadline_breaker_budget" => with_deadline_breaker_and_budget,
        "untimed_breaker_budget" => with_untimed_breaker_and_budget,
        "keyed_breaker_budget" => |i| keyed_breaker_and_budget(host(i), i),
        "keyed_untimed_breaker_budget" => |i| keyed_untimed_breaker_and_budget(host(i), i),
        "hedged_fixed" => hedged_fixed,
        "plain_yield" => op_yield,
        "policy_yield" => policy_only_yield,
        "breaker_budget_yield" => with_breaker_and_budget_yield,
        "untimed_breaker_budget_yield" => with_untimed_breaker_and_budget_yield,
        "tokio_retry2" => |_| Retry::spawn(ExponentialBackoff::from_millis(10).take(2), || async {
            op(black_box(1)).await.map_err(RetryError::transient)
        }),
        "backon" => |_| (|| op(black_box(1))).retry(ExponentialBuilder::default().with_max_times(2)),
        "tower_retry_tps_budget" => |i| tower.call(i),
        "failsafe" => |i| {
            let call = failsafe.call(op(i));
            async { call.await.map_err(|_| io::Error::other("rejected")) }
        },
        "recloser" => |i| {
            let call = recloser.call(op(i));
            async { call.await.map_err(|_| io::Error::other("rejected")) }
        },
    }
    true
}

/// One call per key to warm the site, then the counted loop.
fn probe_run<C, Fut>(rt: &tokio::runtime::Runtime, calls: u64, mut call: C)
where
    C: FnMut(u64) -> Fut,
    Fut: std::future::Future<Output = io::Result<u64>>,
{
    for i in 0..4 {
        rt.block_on(call(i)).expect("warm");
    }
    probe_calls(rt, calls, &mut call);
}

#[inline(never)]
fn probe_calls<C, Fut>(rt: &tokio::runtime::Runtime, calls: u64, mut call: C)
where
    C: FnMut(u64) -> Fut,
    Fut: std::future::Future<Output = io::Result<u64>>,
{
    rt.block_on(async {
        for i in 0..calls {
            black_box(call(black_box(i)).await.expect("ok"));
        }
    });
}

/// What one clock read costs, for the slow-call timing of a breaker (two reads
/// per call): the runtime's clock (tokio's, as `clock::now` reads it), the
/// standard one under it, and a TSC clock (`quanta`) and its cached "recent"
/// reading, the alternatives BENCHMARKS.md weighs.
fn clock(c: &mut Criterion) {
    let rt = runtime();
    let _runtime = rt.enter();
    let mut group = c.benchmark_group("clock");
    group.bench_function("tokio_instant_now", |b| b.iter(tokio::time::Instant::now));
    group.bench_function("std_instant_now", |b| b.iter(Instant::now));
    let tsc = quanta::Clock::new();
    group.bench_function("quanta_now", |b| b.iter(|| tsc.now()));
    group.bench_function("quanta_raw", |b| b.iter(|| tsc.raw()));
    group.finish();
}

criterion_group!(
    benches,
    success_path,
    contention,
    sync_success_path,
    nested,
    hedge,
    waits,
    attempt_span,
    clock
);

fn main() {
    if probe() {
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
