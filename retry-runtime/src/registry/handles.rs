//! Handles: a breaker, a keyed instance or a budget, by name, for operators
//! and tests to inspect and take in hand; and `first_admitting`, failover
//! among keys.

use std::fmt;
use std::sync::{Arc, OnceLock};

use super::call_site::call_sites;
use super::live::LIVE;
use super::objects::{live_breaker, live_budget, live_keyed, objects};
use crate::breaker::keyed::KeyedBreakers;
use crate::breaker::lookup::ByDisplay;
use crate::breaker::{Breaker, BreakerRef};
use crate::budget::Budget;
use crate::{BreakerSettings, BudgetSettings, Config};

/// The live circuit breaker called `name`: one named in the installed config (or
/// the presets), or by some `#[retryable(breaker = "...")]` call site.
///
/// ```
/// use retry_runtime::{breaker, BreakerState};
///
/// let s3 = breaker("default").expect("the `default` breaker is a preset");
/// assert_eq!(s3.state(), BreakerState::Closed);
/// assert!(breaker("no-such-breaker").is_none());
/// ```
#[must_use]
pub fn breaker(name: &str) -> Option<BreakerHandle> {
    current_breaker(name).map(|live| BreakerHandle {
        name: Arc::from(name),
        key: None,
        last: Last::Named(live),
    })
}

/// The instance of the breaker `name` for `key`, as a call with
/// `#[retryable(breaker = "name", breaker_key = ...)]` whose key displays as
/// `key` would use it: created now (with the name's settings) if no call has
/// made it yet, so that an operator can force a key open before its first
/// call. `None` if no call site or config knows the name.
///
/// `key` is the key's full text, as the call displays it; an instance keeps a
/// key longer than 256 bytes in a short form (its start, `…#` and a digest),
/// which is what events and snapshots show.
///
/// The handle follows the key: if the instance is evicted (past `max_keys`)
/// or replaced (an `install` changed the name's settings), the handle's
/// `force_open`, `disable` and `reset` act on the key's instance of the
/// moment (creating it), and `state` and `metrics` read it (a key without a
/// live instance reads as a fresh one: closed, no calls).
///
/// ```
/// use retry_runtime::{breaker_for, BreakerState};
///
/// let host = breaker_for("default", "db-2.internal").expect("`default` is a preset");
/// host.force_open(); // take db-2 out of rotation
/// assert_eq!(host.state(), BreakerState::ForcedOpen);
/// assert_eq!(host.key(), Some("db-2.internal"));
/// // Other keys of the name are untouched.
/// assert_eq!(breaker_for("default", "db-1.internal").unwrap().state(), BreakerState::Closed);
/// host.reset();
/// ```
#[must_use]
pub fn breaker_for(name: &str, key: &str) -> Option<BreakerHandle> {
    let keyed = current_keyed(name)?;
    let live = keyed.get_ref(key);
    Some(BreakerHandle {
        name: Arc::from(name),
        key: Some(Arc::from(key)),
        last: Last::Keyed {
            settings: *keyed.settings(),
            text: live.key(),
            own: OnceLock::new(),
        },
    })
}

/// The first of `candidates` whose keyed instance of the breaker `name` would
/// let a call through now: closed, disabled, half-open with a trial place
/// free, or open with its `open_duration` over. A key without a live instance
/// admits (its first call would create a closed one). `None` when every
/// candidate is refused.
///
/// This is failover between endpoints: give the candidates in order of
/// preference (or rotated per call to spread load), call the one returned,
/// and an endpoint whose breaker opened is skipped at once instead of waited
/// for. It creates no instance and allocates nothing, so it is cheap enough
/// to run before every call. A name that no call site or config knows has no
/// instances: every candidate admits.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use retry_runtime::{breaker_for, first_admitting};
///
/// let hosts = ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"];
/// breaker_for("default", "10.0.0.1:80").unwrap().force_open();
/// assert_eq!(first_admitting("default", &hosts), Some(&"10.0.0.2:80"));
/// # breaker_for("default", "10.0.0.1:80").unwrap().reset();
/// # }
/// ```
#[must_use]
pub fn first_admitting<'k, I, K>(name: &str, candidates: I) -> Option<&'k K>
where
    I: IntoIterator<Item = &'k K>,
    K: fmt::Display + ?Sized + 'k,
{
    let keyed = {
        let objects = objects();
        objects.keyed.get(name).copied()
    };
    candidates.into_iter().find(|key| {
        keyed
            .and_then(|k| k.existing(&ByDisplay(*key)))
            .is_none_or(|instance| instance.admits())
    })
}

/// The live retry budget called `name`: one named in the installed config (or
/// the presets), or by some `#[retryable(budget = "...")]` call site.
///
/// ```
/// let default = retry_runtime::budget("default").expect("a preset");
/// assert!(default.balance() >= 100.0); // the reserve: 10 retries/s over 10 s
/// ```
#[must_use]
pub fn budget(name: &str) -> Option<BudgetHandle> {
    current_budget(name).map(|live| BudgetHandle {
        name: Arc::from(name),
        last: live,
    })
}

/// A circuit breaker, by name: inspect it and take it in hand.
///
/// A handle follows its name across [`install`](crate::install)s: if an install replaced the
/// breaker (its settings changed), the handle acts on the new one.
///
/// A handle from [`breaker_for`] acts on one keyed instance, the same way.
#[derive(Clone)]
pub struct BreakerHandle {
    name: Arc<str>,
    key: Option<Arc<str>>,
    last: Last,
}

/// What a handle acts on if its name is no longer known (an install took it
/// away).
#[derive(Clone)]
enum Last {
    /// The named breaker it last found.
    Named(&'static Breaker),
    /// A keyed handle's own instance of its key, made when first needed:
    /// never the slot of a table, which another key may take.
    Keyed {
        settings: BreakerSettings,
        /// The key as the instance stores it (a long key's short form).
        text: Option<Arc<str>>,
        own: OnceLock<Arc<Breaker>>,
    },
}

impl BreakerHandle {
    /// The breaker to act on: the one live under the name (and key), created if need be.
    fn live(&self) -> BreakerRef {
        match &self.key {
            None => current_breaker(&self.name).map_or_else(|| self.last(), BreakerRef::Static),
            Some(key) => {
                current_keyed(&self.name).map_or_else(|| self.last(), |k| k.get_ref(&**key))
            }
        }
    }

    /// The breaker to read: like [`live`](Self::live), but a key without a
    /// live instance reads as a fresh one instead of being created.
    fn read(&self) -> BreakerRef {
        match &self.key {
            None => self.live(),
            Some(key) => {
                let keyed = current_keyed(&self.name);
                match keyed.and_then(|k| k.existing(&**key)) {
                    Some(live) => BreakerRef::Static(live),
                    None => BreakerRef::Keyed(Arc::new(Breaker::with_key(
                        Arc::clone(&self.name),
                        Some(Arc::clone(key)),
                        keyed.map_or_else(|| *self.last().settings(), |k| *k.settings()),
                    ))),
                }
            }
        }
    }

    /// What to act on while the name is unknown.
    fn last(&self) -> BreakerRef {
        match &self.last {
            Last::Named(breaker) => BreakerRef::Static(breaker),
            Last::Keyed {
                settings,
                text,
                own,
            } => BreakerRef::Keyed(Arc::clone(own.get_or_init(|| {
                Arc::new(Breaker::with_key(
                    Arc::clone(&self.name),
                    text.clone(),
                    *settings,
                ))
            }))),
        }
    }

    /// The breaker's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key of a keyed instance (from [`breaker_for`]); `None` for the named breaker.
    ///
    /// ```
    /// assert_eq!(retry_runtime::breaker("default").unwrap().key(), None);
    /// assert_eq!(retry_runtime::breaker_for("default", "a").unwrap().key(), Some("a"));
    /// ```
    #[must_use]
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// How many keyed instances (`breaker_key`) of this breaker's name are
    /// alive: at most `max_keys` (see [keyed breakers](crate::guide::keyed_breakers_and_fallback#keyed-breakers) for when it can be more).
    ///
    /// ```
    /// let hosts = retry_runtime::breaker("default").unwrap();
    /// let _ = retry_runtime::breaker_for("default", "10.0.0.9");
    /// assert!(hosts.live_keys() >= 1);
    /// ```
    #[must_use]
    pub fn live_keys(&self) -> usize {
        current_keyed(&self.name).map_or(0, KeyedBreakers::live)
    }

    /// Whether a call would be let through now: closed, disabled, half-open
    /// with a trial place free, or open with its `open_duration` over. See
    /// [`first_admitting`] to pick among keys.
    ///
    /// ```
    /// let breaker = retry_runtime::breaker_for("default", "replica-3").unwrap();
    /// assert!(breaker.admits());
    /// breaker.force_open();
    /// assert!(!breaker.admits());
    /// breaker.reset();
    /// ```
    #[must_use]
    pub fn admits(&self) -> bool {
        self.read().admits()
    }

    /// The state now.
    ///
    /// ```
    /// use retry_runtime::BreakerState;
    ///
    /// let breaker = retry_runtime::breaker("default").expect("a built-in preset");
    /// assert_eq!(breaker.state(), BreakerState::Closed);
    /// ```
    #[must_use]
    pub fn state(&self) -> crate::BreakerState {
        self.read().state()
    }

    /// The settings in force.
    ///
    /// ```
    /// use retry_runtime::BreakerSettings;
    ///
    /// let breaker = retry_runtime::breaker("default").expect("a built-in preset");
    /// assert_eq!(breaker.settings(), BreakerSettings::DEFAULT);
    /// ```
    #[must_use]
    pub fn settings(&self) -> BreakerSettings {
        *self.read().settings()
    }

    /// Opens the breaker until [`reset`](Self::reset): every call is rejected, with no timeout.
    ///
    /// ```
    /// use retry_runtime::BreakerState;
    ///
    /// let breaker = retry_runtime::breaker("default").expect("a built-in preset");
    /// breaker.force_open(); // say, while the service behind it is in maintenance
    /// assert_eq!(breaker.state(), BreakerState::ForcedOpen);
    /// breaker.reset();
    /// assert_eq!(breaker.state(), BreakerState::Closed);
    /// ```
    pub fn force_open(&self) {
        self.set(crate::BreakerState::ForcedOpen);
    }

    /// Sets the state by hand. A keyed instance is found (or made) and set
    /// under the locks that eviction and `install` take, so the decision
    /// cannot land on an instance that is being dropped.
    fn set(&self, to: crate::BreakerState) {
        match &self.key {
            None => self.live().set(to),
            Some(key) => {
                let mut objects = objects();
                let config = LIVE.load();
                if breaker_is_known(&config, &self.name) {
                    let keyed = live_keyed(&mut objects, &config, &self.name, BREAKER_FOR);
                    keyed.set(&**key, to);
                } else {
                    drop(objects);
                    self.last().set(to);
                }
            }
        }
    }

    /// Switches the breaker off until [`reset`](Self::reset): every call passes, nothing is recorded.
    ///
    /// ```
    /// use retry_runtime::BreakerState;
    ///
    /// let breaker = retry_runtime::breaker("default").expect("a built-in preset");
    /// breaker.disable();
    /// assert_eq!(breaker.state(), BreakerState::Disabled);
    /// ```
    pub fn disable(&self) {
        self.set(crate::BreakerState::Disabled);
    }

    /// Closes the breaker with an empty window, whatever its state.
    ///
    /// ```
    /// use retry_runtime::BreakerState;
    ///
    /// let breaker = retry_runtime::breaker("default").expect("a built-in preset");
    /// breaker.force_open();
    /// breaker.reset();
    /// assert_eq!(breaker.state(), BreakerState::Closed);
    /// assert_eq!(breaker.metrics().window_calls, 0);
    /// ```
    pub fn reset(&self) {
        self.set(crate::BreakerState::Closed);
    }

    /// Counters and rates.
    ///
    /// ```
    /// let breaker = retry_runtime::breaker("default").expect("a built-in preset");
    /// let metrics = breaker.metrics();
    /// println!(
    ///     "{}: {} calls, {} failed, {} refused, failure rate {:.2}",
    ///     breaker.name(), metrics.calls, metrics.failures, metrics.not_permitted, metrics.failure_rate
    /// );
    /// ```
    #[must_use]
    pub fn metrics(&self) -> crate::BreakerMetrics {
        self.read().metrics()
    }
}

impl fmt::Debug for BreakerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BreakerHandle")
            .field("name", &self.name)
            .field("key", &self.key)
            .field("state", &self.state())
            .finish()
    }
}

/// A retry budget, by name.
#[derive(Clone)]
pub struct BudgetHandle {
    name: Arc<str>,
    last: &'static Budget,
}

impl BudgetHandle {
    fn live(&self) -> &'static Budget {
        current_budget(&self.name).unwrap_or(self.last)
    }

    /// The budget's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many retries the budget would allow right now.
    ///
    /// ```
    /// let budget = retry_runtime::budget("default").expect("a built-in preset");
    /// // Before any call, the reserve: min_retries_per_sec · ttl.
    /// assert!(budget.balance() > 0.0);
    /// ```
    #[must_use]
    pub fn balance(&self) -> f64 {
        self.live().balance()
    }

    /// How many retries the budget has refused.
    ///
    /// ```
    /// let budget = retry_runtime::budget("default").expect("a built-in preset");
    /// assert_eq!(budget.exhausted(), 0);
    /// ```
    #[must_use]
    pub fn exhausted(&self) -> u64 {
        self.live().exhausted()
    }

    /// The settings in force.
    ///
    /// ```
    /// use retry_runtime::BudgetSettings;
    ///
    /// let budget = retry_runtime::budget("default").expect("a built-in preset");
    /// assert_eq!(budget.settings(), BudgetSettings::DEFAULT);
    /// ```
    #[must_use]
    pub fn settings(&self) -> BudgetSettings {
        *self.live().settings()
    }

    /// Forgets every deposit, withdrawal and refusal: the budget holds its
    /// reserve alone, counted from now on the calling runtime's clock.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let default = retry_runtime::budget("default").unwrap();
    /// default.reset();
    /// assert_eq!(default.exhausted(), 0);
    /// assert_eq!(default.balance(), 100.0); // 10 retries/s over 10 s
    /// # }
    /// ```
    pub fn reset(&self) {
        self.live().reset();
    }
}

impl fmt::Debug for BudgetHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BudgetHandle")
            .field("name", &self.name)
            .field("balance", &self.balance())
            .finish()
    }
}

/// Whether some call site or the live config knows a breaker called `name`.
fn breaker_is_known(config: &Config, name: &str) -> bool {
    config.breaker(name).is_some() || call_sites().iter().any(|s| s.breaker == Some(name))
}

/// Whether some call site or the live config knows a budget called `name`.
fn budget_is_known(config: &Config, name: &str) -> bool {
    config.budget(name).is_some() || call_sites().iter().any(|s| s.budget == name)
}

/// What the warning of a name no config defines says is asking for a keyed instance.
const BREAKER_FOR: &str = "retry_runtime::breaker_for";

/// The keyed instances of the breaker `name` (cold path: handles only).
pub(super) fn current_keyed(name: &str) -> Option<&'static KeyedBreakers> {
    let mut objects = objects();
    let config = LIVE.load();
    breaker_is_known(&config, name).then(|| live_keyed(&mut objects, &config, name, BREAKER_FOR))
}

/// The breaker live now under `name`, created from the live config if new or
/// if an install replaced it (cold path: handles only); `None` if no call site
/// or config knows the name.
pub(super) fn current_breaker(name: &str) -> Option<&'static Breaker> {
    let mut objects = objects();
    let config = LIVE.load();
    breaker_is_known(&config, name)
        .then(|| live_breaker(&mut objects, &config, name, "retry_runtime::breaker"))
}

/// The budget live now under `name`, like [`current_breaker`].
fn current_budget(name: &str) -> Option<&'static Budget> {
    let mut objects = objects();
    let config = LIVE.load();
    budget_is_known(&config, name)
        .then(|| live_budget(&mut objects, &config, name, "retry_runtime::budget"))
}
