//! Exact backoff schedules on tokio's paused clock: each kind, the cap, jitter
//! bounds, and `max_attempts` counting the first attempt.

mod support;

use std::io;
use std::sync::Mutex;
use std::time::Duration;

use retry_runtime::retryable;
use tokio::time::Instant;

const CONFIG: &str = r#"
[policies.constant]
max_attempts = 4
backoff = "constant"
initial_delay = "100ms"
jitter = "none"

[policies.linear]
max_attempts = 5
backoff = "linear"
initial_delay = "100ms"
max_delay = "10s"
jitter = "none"

[policies.exponential]
max_attempts = 5
backoff = "exponential"
initial_delay = "100ms"
multiplier = 2.0
max_delay = "10s"
jitter = "none"

[policies.fractional]
max_attempts = 4
backoff = "exponential"
initial_delay = "100ms"
multiplier = 1.5
jitter = "none"

[policies.capped]
max_attempts = 7
backoff = "exponential"
initial_delay = "100ms"
multiplier = 3.0
max_delay = "1s"
jitter = "none"

[policies.decorrelated]
max_attempts = 8
backoff = "decorrelated"
initial_delay = "10ms"
max_delay = "500ms"
jitter = "none"

[policies.full-jitter]
max_attempts = 6
backoff = "constant"
initial_delay = "100ms"
jitter = "full"

[policies.equal-jitter]
max_attempts = 6
backoff = "constant"
initial_delay = "100ms"
jitter = "equal"

[policies.single]
max_attempts = 1
initial_delay = "100ms"
jitter = "none"
"#;

fn setup() {
    support::install_once(CONFIG);
}

/// Records when each attempt starts, relative to the first one.
struct Recorder(Mutex<Vec<Instant>>);

impl Recorder {
    fn new() -> Recorder {
        Recorder(Mutex::new(Vec::new()))
    }

    fn hit(&self) {
        self.0.lock().unwrap().push(Instant::now());
    }

    /// The gaps between consecutive attempts: the delays actually slept.
    fn gaps(&self) -> Vec<Duration> {
        let times = self.0.lock().unwrap();
        times.windows(2).map(|w| w[1] - w[0]).collect()
    }

    fn attempts(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn down() -> io::Error {
    io::ErrorKind::ConnectionRefused.into()
}

#[retryable(policy = "constant")]
async fn constant(r: &Recorder) -> io::Result<()> {
    r.hit();
    Err(down())
}

#[retryable(policy = "linear")]
async fn linear(r: &Recorder) -> io::Result<()> {
    r.hit();
    Err(down())
}

#[retryable(policy = "exponential")]
async fn exponential(r: &Recorder) -> io::Result<()> {
    r.hit();
    Err(down())
}

#[retryable(policy = "fractional")]
async fn fractional(r: &Recorder) -> io::Result<()> {
    r.hit();
    Err(down())
}

#[retryable(policy = "capped")]
async fn capped(r: &Recorder) -> io::Result<()> {
    r.hit();
    Err(down())
}

#[retryable(policy = "decorrelated")]
async fn decorrelated(r: &Recorder) -> io::Result<()> {
    r.hit();
    Err(down())
}

#[retryable(policy = "full-jitter")]
async fn full_jitter(r: &Recorder) -> io::Result<()> {
    r.hit();
    Err(down())
}

#[retryable(policy = "equal-jitter")]
async fn equal_jitter(r: &Recorder) -> io::Result<()> {
    r.hit();
    Err(down())
}

#[retryable(policy = "single")]
async fn single(r: &Recorder) -> io::Result<()> {
    r.hit();
    Err(down())
}

/// Succeeds on attempt `succeed_on` (1-based).
#[retryable(policy = "exponential")]
async fn succeeds_on(r: &Recorder, succeed_on: usize) -> io::Result<usize> {
    r.hit();
    if r.attempts() >= succeed_on {
        Ok(r.attempts())
    } else {
        Err(down())
    }
}

#[tokio::test(start_paused = true)]
async fn constant_waits_initial_delay_before_every_retry() {
    setup();
    let r = Recorder::new();
    let start = Instant::now();
    constant(&r).await.unwrap_err();
    assert_eq!(r.gaps(), [ms(100); 3]);
    assert_eq!(start.elapsed(), ms(300));
}

#[tokio::test(start_paused = true)]
async fn linear_grows_by_initial_delay() {
    setup();
    let r = Recorder::new();
    linear(&r).await.unwrap_err();
    assert_eq!(r.gaps(), [ms(100), ms(200), ms(300), ms(400)]);
}

#[tokio::test(start_paused = true)]
async fn exponential_multiplies() {
    setup();
    let r = Recorder::new();
    exponential(&r).await.unwrap_err();
    assert_eq!(r.gaps(), [ms(100), ms(200), ms(400), ms(800)]);
}

#[tokio::test(start_paused = true)]
async fn fractional_multipliers_are_exact() {
    setup();
    let r = Recorder::new();
    fractional(&r).await.unwrap_err();
    assert_eq!(r.gaps(), [ms(100), ms(150), ms(225)]);
}

#[tokio::test(start_paused = true)]
async fn every_delay_is_capped_at_max_delay() {
    setup();
    let r = Recorder::new();
    capped(&r).await.unwrap_err();
    assert_eq!(
        r.gaps(),
        [ms(100), ms(300), ms(900), ms(1000), ms(1000), ms(1000)]
    );
}

#[tokio::test(start_paused = true)]
async fn decorrelated_draws_between_initial_and_three_times_the_previous() {
    setup();
    for _ in 0..50 {
        let r = Recorder::new();
        decorrelated(&r).await.unwrap_err();
        let gaps = r.gaps();
        assert_eq!(gaps.len(), 7);
        let mut previous = ms(10);
        for gap in gaps {
            assert!(gap >= ms(10), "{gap:?} below initial_delay");
            assert!(
                gap <= (previous * 3).min(ms(500)),
                "{gap:?} above 3 × {previous:?} or the cap"
            );
            previous = gap;
        }
    }
}

#[tokio::test(start_paused = true)]
async fn full_jitter_stays_within_zero_and_the_delay() {
    setup();
    let mut below_half = 0;
    for _ in 0..40 {
        let r = Recorder::new();
        full_jitter(&r).await.unwrap_err();
        for gap in r.gaps() {
            assert!(gap <= ms(100), "{gap:?}");
            below_half += usize::from(gap < ms(50));
        }
    }
    assert!(
        below_half > 0,
        "full jitter never drew below d/2 in 200 delays"
    );
}

#[tokio::test(start_paused = true)]
async fn equal_jitter_stays_within_half_and_the_delay() {
    setup();
    for _ in 0..40 {
        let r = Recorder::new();
        equal_jitter(&r).await.unwrap_err();
        for gap in r.gaps() {
            assert!(gap >= ms(50) && gap <= ms(100), "{gap:?}");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn max_attempts_counts_the_first_attempt() {
    setup();
    let r = Recorder::new();
    constant(&r).await.unwrap_err();
    assert_eq!(r.attempts(), 4);

    let r = Recorder::new();
    let start = Instant::now();
    single(&r).await.unwrap_err();
    assert_eq!(r.attempts(), 1);
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn a_success_ends_the_loop_and_returns_its_value() {
    setup();
    let r = Recorder::new();
    let start = Instant::now();
    assert_eq!(succeeds_on(&r, 3).await.unwrap(), 3);
    assert_eq!(r.gaps(), [ms(100), ms(200)]);
    assert_eq!(start.elapsed(), ms(300));
}
