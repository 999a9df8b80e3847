//! [`Policy`]: how many attempts, how long to wait between them, and the limits of a call.

use std::time::Duration;

use rand::Rng;

/// How the delay grows from one retry to the next (before jitter, capped at `max_delay`).
///
/// For retry *n* (n = 1 for the first retry):
///
/// | kind | delay |
/// |---|---|
/// | `Constant` | `initial_delay` |
/// | `Linear` | `initial_delay · n` |
/// | `Exponential` | `initial_delay · multiplierⁿ⁻¹` |
/// | `Decorrelated` | uniform(`initial_delay`, 3 · previous delay), the first "previous" being `initial_delay` |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backoff {
    /// The same delay before every retry.
    Constant,
    /// The delay grows by `initial_delay` with each retry.
    Linear,
    /// The delay is multiplied by `multiplier` with each retry.
    Exponential,
    /// AWS-style decorrelated jitter: each delay is drawn between `initial_delay`
    /// and three times the previous one.
    Decorrelated,
}

/// What a call does when it starts while another `#[retryable]` call's attempt
/// is running on the same task (async) or thread (sync).
///
/// Nesting is a property of the task: a task spawned inside an attempt is not
/// nested, even when it runs on the attempt's thread within the attempt (a
/// `LocalSet` driven by `run_until`, `block_on(tokio::spawn(..))` inside a
/// sync attempt). A future the attempt awaits or `block_on`s directly is.
///
/// Retrying at every layer multiplies attempts: three layers of three attempts
/// make 27 calls to the bottom service. By default only the outermost call
/// retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Nested {
    /// Make a single attempt (still consulting the breaker, depositing into the
    /// budget and classifying the error); the outer call alone retries.
    Single,
    /// Retry under this policy as if the call were not nested.
    Retry,
}

/// Randomness applied to each backoff delay *d* (after the cap), so that many
/// clients failing together do not retry together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Jitter {
    /// Wait exactly *d*.
    None,
    /// Wait uniform(0, *d*).
    Full,
    /// Wait *d*/2 + uniform(0, *d*/2).
    Equal,
}

/// A resolved retry policy: every field set, no `base` left to follow.
///
/// Policies are named and global: `#[retryable(policy = "network")]` uses the
/// policy called `network` of the installed [`Config`](crate::Config), or of the
/// built-in presets when none is installed. See [`Policy::DEFAULT`] for the
/// values of the `default` preset.
///
/// ```
/// use retry_runtime::{Backoff, Policy};
/// use std::time::Duration;
///
/// let p = Policy { backoff: Backoff::Linear, ..Policy::DEFAULT }.without_jitter();
/// assert_eq!(p.delay_before_retry(3, Duration::ZERO), Duration::from_millis(300));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// All attempts, the first included (1 means "never retry"). At least 1.
    pub max_attempts: u32,
    /// How the delay grows.
    pub backoff: Backoff,
    /// The first delay, and the unit of `Linear`.
    pub initial_delay: Duration,
    /// Growth factor of `Exponential` (at least 1.0).
    pub multiplier: f64,
    /// No delay exceeds this, jitter or not (a server's `RetryAfter` hint is honoured as given).
    pub max_delay: Duration,
    /// Randomness applied to each delay.
    pub jitter: Jitter,
    /// Bound on the whole call, measured from its start: no retry is made whose
    /// backoff sleep would end past it or, with an `attempt_timeout`, whose
    /// attempt could run past it. `None`: no bound.
    pub max_elapsed: Option<Duration>,
    /// Each attempt is cancelled after this long and counts as a transient failure,
    /// reported as [`Rejected::AttemptTimeout`](crate::Rejected::AttemptTimeout). `None`: no timeout.
    pub attempt_timeout: Option<Duration>,
    /// The longest [`Class::RetryAfter`](crate::Class::RetryAfter) hint that is
    /// waited: a longer one gives up at once with that error. `None`: no bound
    /// (the deadline still applies).
    pub max_retry_after: Option<Duration>,
    /// What the call does when it runs inside another `#[retryable]` call's attempt.
    pub nested: Nested,
}

impl Policy {
    /// The `default` preset: 3 attempts, exponential backoff from 100 ms doubling
    /// up to 10 s, full jitter, no deadline, no attempt timeout, retry-after
    /// hints of up to 60 s honoured, a single attempt when nested.
    pub const DEFAULT: Policy = Policy {
        max_attempts: 3,
        backoff: Backoff::Exponential,
        initial_delay: Duration::from_millis(100),
        multiplier: 2.0,
        max_delay: Duration::from_secs(10),
        jitter: Jitter::Full,
        max_elapsed: None,
        attempt_timeout: None,
        max_retry_after: Some(Duration::from_secs(60)),
        nested: Nested::Single,
    };

    /// The `network` preset: 5 attempts, exponential backoff from 200 ms doubling
    /// up to 10 s, full jitter, the whole call bounded by 30 s, no attempt timeout.
    pub const NETWORK: Policy = Policy {
        max_attempts: 5,
        initial_delay: Duration::from_millis(200),
        max_elapsed: Some(Duration::from_secs(30)),
        ..Policy::DEFAULT
    };

    /// The `none` preset: a single attempt, never retried. Point a call site's
    /// policy at it from the config file to switch its retries off.
    pub const NONE: Policy = Policy {
        max_attempts: 1,
        ..Policy::DEFAULT
    };

    /// This policy with `jitter = none`: handy in tests that assert exact schedules.
    ///
    /// ```
    /// use retry_runtime::{Jitter, Policy};
    /// use std::time::Duration;
    ///
    /// let policy = Policy::DEFAULT.without_jitter();
    /// assert_eq!(policy.jitter, Jitter::None);
    /// assert_eq!(policy.delay_before_retry(2, Duration::ZERO), Duration::from_millis(200));
    /// ```
    #[must_use]
    pub const fn without_jitter(self) -> Policy {
        Policy {
            jitter: Jitter::None,
            ..self
        }
    }

    /// The delay before retry `retry` (1 for the first retry), given the delay
    /// before the previous retry (only `Decorrelated` looks at it), with jitter
    /// applied and capped at `max_delay`.
    ///
    /// ```
    /// use retry_runtime::Policy;
    /// use std::time::Duration;
    ///
    /// let p = Policy::DEFAULT.without_jitter(); // exponential, 100 ms, ×2, cap 10 s
    /// let ms = |n| p.delay_before_retry(n, Duration::ZERO).as_millis();
    /// assert_eq!([ms(1), ms(2), ms(3), ms(9)], [100, 200, 400, 10_000]);
    /// ```
    #[must_use]
    pub fn delay_before_retry(&self, retry: u32, previous: Duration) -> Duration {
        let mut rng = rand::rng();
        let base = self.backoff_delay(retry, previous, &mut rng);
        self.apply_jitter(base, &mut rng)
    }

    /// The capped backoff delay before jitter.
    pub(crate) fn backoff_delay(
        &self,
        retry: u32,
        previous: Duration,
        rng: &mut impl Rng,
    ) -> Duration {
        let retry = retry.max(1);
        let delay = match self.backoff {
            Backoff::Constant => self.initial_delay,
            Backoff::Linear => self.initial_delay.saturating_mul(retry),
            Backoff::Exponential => scale(self.initial_delay, self.multiplier, retry - 1),
            Backoff::Decorrelated => {
                let previous = if retry == 1 || previous.is_zero() {
                    self.initial_delay
                } else {
                    previous
                };
                let low = self.initial_delay;
                let high = previous.saturating_mul(3).max(low);
                uniform(rng, low, high)
            }
        };
        delay.min(self.max_delay)
    }

    /// Jitter applied to an already capped delay.
    pub(crate) fn apply_jitter(&self, delay: Duration, rng: &mut impl Rng) -> Duration {
        match self.jitter {
            Jitter::None => delay,
            Jitter::Full => uniform(rng, Duration::ZERO, delay),
            Jitter::Equal => {
                let half = delay / 2;
                half + uniform(rng, Duration::ZERO, delay - half)
            }
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy::DEFAULT
    }
}

/// `initial · multiplier^power`, rounded to the nanosecond, saturating at `Duration::MAX`.
fn scale(initial: Duration, multiplier: f64, power: u32) -> Duration {
    let factor = multiplier.powi(i32::try_from(power).unwrap_or(i32::MAX));
    #[allow(clippy::cast_precision_loss)] // durations beyond 2^53 ns (104 days) need no precision
    let nanos = (initial.as_nanos() as f64 * factor).round();
    if !nanos.is_finite() || nanos >= u64::MAX as f64 {
        return Duration::MAX;
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // checked just above
    Duration::from_nanos(nanos as u64)
}

/// A uniform draw in `low..=high`, at nanosecond resolution.
fn uniform(rng: &mut impl Rng, low: Duration, high: Duration) -> Duration {
    if high <= low {
        return low;
    }
    let span = u64::try_from((high - low).as_nanos()).unwrap_or(u64::MAX);
    low + Duration::from_nanos(rng.random_range(0..=span))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn schedule(p: &Policy, n: u32) -> Vec<Duration> {
        let mut prev = Duration::ZERO;
        (1..=n)
            .map(|i| {
                prev = p.delay_before_retry(i, prev);
                prev
            })
            .collect()
    }

    #[test]
    fn each_backoff_kind_follows_its_formula_and_the_cap() {
        let base = Policy {
            initial_delay: ms(100),
            multiplier: 3.0,
            max_delay: ms(1000),
            ..Policy::DEFAULT.without_jitter()
        };
        let constant = Policy {
            backoff: Backoff::Constant,
            ..base
        };
        let linear = Policy {
            backoff: Backoff::Linear,
            ..base
        };
        let exponential = Policy {
            backoff: Backoff::Exponential,
            ..base
        };
        assert_eq!(schedule(&constant, 3), [ms(100); 3]);
        assert_eq!(
            schedule(&linear, 12)[..4],
            [ms(100), ms(200), ms(300), ms(400)]
        );
        assert_eq!(schedule(&linear, 12)[11], ms(1000));
        assert_eq!(
            schedule(&exponential, 5),
            [ms(100), ms(300), ms(900), ms(1000), ms(1000)]
        );
    }

    #[test]
    fn fractional_multipliers_round_to_the_nanosecond() {
        let p = Policy {
            multiplier: 1.5,
            ..Policy::DEFAULT.without_jitter()
        };
        assert_eq!(schedule(&p, 3), [ms(100), ms(150), ms(225)]);
    }

    #[test]
    fn huge_exponents_saturate_at_the_cap() {
        let p = Policy {
            multiplier: 10.0,
            ..Policy::DEFAULT.without_jitter()
        };
        assert_eq!(p.delay_before_retry(10_000, Duration::ZERO), p.max_delay);
    }

    #[test]
    fn decorrelated_stays_between_initial_and_three_times_the_previous() {
        let p = Policy {
            backoff: Backoff::Decorrelated,
            initial_delay: ms(10),
            max_delay: ms(5000),
            ..Policy::DEFAULT.without_jitter()
        };
        for _ in 0..200 {
            let mut prev = ms(10);
            for n in 1..10 {
                let d = p.delay_before_retry(n, prev);
                assert!(
                    d >= ms(10) && d <= (prev * 3).min(ms(5000)),
                    "{d:?} after {prev:?}"
                );
                prev = d;
            }
        }
    }

    #[test]
    fn jitter_stays_in_its_range() {
        let full = Policy {
            backoff: Backoff::Constant,
            jitter: Jitter::Full,
            ..Policy::DEFAULT
        };
        let equal = Policy {
            jitter: Jitter::Equal,
            ..full
        };
        let mut seen_low_full = false;
        for _ in 0..500 {
            let d = full.delay_before_retry(1, Duration::ZERO);
            assert!(d <= ms(100));
            seen_low_full |= d < ms(50);
            let d = equal.delay_before_retry(1, Duration::ZERO);
            assert!(d >= ms(50) && d <= ms(100), "{d:?}");
        }
        assert!(
            seen_low_full,
            "full jitter never drew from the lower half in 500 draws"
        );
    }
}
