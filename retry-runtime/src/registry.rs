//! The global registry: the live [`Config`], every call site, and [`install`].

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

use arc_swap::ArcSwap;

use crate::breaker::{Breaker, BreakerRef};
use crate::budget::Budget;
use crate::keyed::{ByDisplay, KeyedBreakers};
use crate::{BreakerSettings, BudgetSettings, Config, Policy};

/// The configuration every call site resolves its names against.
/// Before any install: the presets and the libraries' `defaults!`.
static LIVE: LazyLock<ArcSwap<Config>> =
    LazyLock::new(|| ArcSwap::from_pointee(crate::defaults::complete_leniently(Config::builtin())));

/// Bumped by every successful [`install`]; a call site whose cached generation
/// differs re-resolves its names on its next call. Starts at 1 so that a fresh
/// call site (generation 0) resolves on its first call.
static GENERATION: AtomicU64 = AtomicU64::new(1);

/// Serializes installs, so validation and swap see the same configuration.
static INSTALLING: Mutex<()> = Mutex::new(());

/// The live breakers and budgets, by name. Locked only to resolve a call site
/// (once per site and install), to install, and by handles.
static LIVE_OBJECTS: LazyLock<Mutex<Objects>> = LazyLock::new(|| Mutex::new(Objects::default()));

#[derive(Default)]
struct Objects {
    breakers: HashMap<String, &'static Breaker>,
    budgets: HashMap<String, &'static Budget>,
    /// The keyed instances (`breaker_key`) of each breaker name. The container
    /// is leaked like a breaker (one per name and settings); the instances in
    /// it are reference-counted and freed on eviction or retirement.
    keyed: HashMap<String, &'static KeyedBreakers>,
}

fn objects() -> MutexGuard<'static, Objects> {
    LIVE_OBJECTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[linkme::distributed_slice]
#[doc(hidden)]
pub static CALL_SITES: [&'static CallSite];

/// Every `#[retryable]` function of the program, registered at link time.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use retry_runtime::retryable;
///
/// #[retryable(policy = "network")]
/// async fn fetch() -> std::io::Result<u32> {
///     Ok(1)
/// }
///
/// let site = retry_runtime::call_sites()
///     .iter()
///     .find(|s| s.name().ends_with("::fetch"))
///     .unwrap();
/// assert_eq!(site.policy(), "network");
/// assert_eq!(site.budget(), "default");
/// # }
/// ```
#[must_use]
pub fn call_sites() -> &'static [&'static CallSite] {
    &CALL_SITES
}

/// The configuration in force: the last one [`install`]ed, or the built-in presets.
///
/// ```
/// let config = retry_runtime::current_config();
/// assert_eq!(config.policy("default").map(|p| p.max_attempts), Some(3));
/// ```
#[must_use]
pub fn current_config() -> Arc<Config> {
    LIVE.load_full()
}

/// Replaces the configuration, atomically, after checking it against every call site.
///
/// Every name that a registered call site uses (policy, breaker, budget) must be
/// defined by `config` (the built-in presets count as defined) or by a
/// library's [`defaults!`](crate::defaults!), which fills in the names
/// `config` lacks. If any is missing,
/// nothing changes and the error lists every missing name with the call sites
/// that use it. On success every call site picks up its new settings on its next
/// call; calls already running finish under the settings they started with.
///
/// ```standalone_crate
/// use retry_runtime::{install, Config};
///
/// let config = Config::from_toml_str(r#"
///     [policies.default]
///     max_attempts = 4
/// "#)?;
/// install(config)?;
/// assert_eq!(retry_runtime::current_config().policy("default").unwrap().max_attempts, 4);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`InstallError::UndefinedNames`] when a call site names a policy, breaker or
/// budget that neither `config` nor a library's defaults define;
/// [`InstallError::Defaults`] when a library's `defaults!` block is invalid.
pub fn install(config: Config) -> Result<(), InstallError> {
    let _serial = INSTALLING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // Names the config lacks come from the libraries' `defaults!`.
    let config = crate::defaults::complete(config).map_err(InstallError::Defaults)?;
    let missing = undefined_names(&config);
    if !missing.is_empty() {
        return Err(InstallError::UndefinedNames { missing });
    }
    let timed = sync_sites_with_attempt_timeout(&config);
    if !timed.is_empty() {
        return Err(InstallError::SyncAttemptTimeout { sites: timed });
    }
    // Under the objects lock, so that no call site resolves against the old
    // config and re-creates an object it just dropped.
    let mut objects = objects();
    // Breakers and budgets whose settings did not change keep their state.
    objects
        .breakers
        .retain(|name, live| config.breaker(name) == Some(live.settings()));
    objects
        .budgets
        .retain(|name, live| config.budget(name) == Some(live.settings()));
    // Keyed instances follow their name: new settings, new instances (calls
    // holding an old one finish on it).
    objects.keyed.retain(|name, live| {
        let keep = config.breaker(name) == Some(live.settings());
        if !keep {
            live.retire();
        }
        keep
    });
    LIVE.store(Arc::new(config));
    GENERATION.fetch_add(1, Ordering::AcqRel);
    drop(objects);
    Ok(())
}

/// Forgets the state of every breaker and budget: each starts afresh (closed,
/// empty windows, full reserve) on the clock of the runtime that calls next.
/// The installed configuration and the call sites stay as they are.
///
/// Meant for tests: breakers and budgets are global, so a breaker one test
/// opened (or a budget it spent) is seen by the next test of the same binary,
/// and a paused clock that a test advanced by a day is not the clock of the
/// next test's runtime. Call it first in each test that cares; tests that run
/// in parallel in one binary and share names must not reset each other (give
/// them names of their own, or run them one at a time).
///
/// Calls already running finish on the breakers and budgets they started
/// with. Each reset leaves the replaced objects allocated (a few hundred bytes
/// each): fine for tests, not for a loop in production. Keyed breaker
/// instances (`breaker_key`) are dropped and freed.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use retry_runtime::{breaker, BreakerState};
///
/// breaker("default").unwrap().force_open();
/// retry_runtime::reset_state();
/// assert_eq!(breaker("default").unwrap().state(), BreakerState::Closed);
/// # }
/// ```
pub fn reset_state() {
    let _serial = INSTALLING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut objects = objects();
    objects.breakers.clear();
    objects.budgets.clear();
    for (_, keyed) in objects.keyed.drain() {
        keyed.retire();
    }
    // Every call site re-resolves on its next call, creating fresh objects.
    GENERATION.fetch_add(1, Ordering::AcqRel);
}

fn undefined_names(config: &Config) -> Vec<UndefinedName> {
    let mut missing: Vec<UndefinedName> = Vec::new();
    let mut note = |kind: NameKind, name: &'static str, site: &'static CallSite| match missing
        .iter_mut()
        .find(|m| m.kind == kind && m.name == name)
    {
        Some(m) => m.used_by.push(site),
        None => missing.push(UndefinedName {
            kind,
            name,
            used_by: vec![site],
        }),
    };
    for &site in call_sites() {
        if config.policy(site.policy).is_none() {
            note(NameKind::Policy, site.policy, site);
        }
        if let Some(breaker) = site.breaker
            && config.breaker(breaker).is_none()
        {
            note(NameKind::Breaker, breaker, site);
        }
        if config.budget(site.budget).is_none() {
            note(NameKind::Budget, site.budget, site);
        }
    }
    missing.sort_by_key(|m| (m.kind, m.name));
    missing
}

/// Why [`install`] refused a configuration. The running configuration is untouched.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InstallError {
    /// Call sites name policies, breakers or budgets that the configuration does not define.
    #[error("{}", render_missing(missing))]
    UndefinedNames {
        /// Every missing name, with the call sites that use it.
        missing: Vec<UndefinedName>,
    },
    /// Sync call sites whose policy has an `attempt_timeout`: a sync attempt
    /// cannot be cancelled, so the timeout could not be kept.
    #[error("{}", render_sync_timeouts(sites))]
    SyncAttemptTimeout {
        /// Each sync call site concerned.
        sites: Vec<SyncTimeout>,
    },
    /// A library's [`defaults!`](crate::defaults!) block is invalid, or two
    /// libraries define a name differently that the config does not define.
    #[error("config not installed (the running one stays in force): {0}")]
    Defaults(#[from] crate::DefaultsError),
}

/// A sync call site whose policy has an `attempt_timeout`, from
/// [`InstallError::SyncAttemptTimeout`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SyncTimeout {
    /// The call site.
    pub site: &'static CallSite,
    /// Its policy's name.
    pub policy: String,
    /// The timeout the policy sets.
    pub attempt_timeout: std::time::Duration,
}

fn sync_sites_with_attempt_timeout(config: &Config) -> Vec<SyncTimeout> {
    call_sites()
        .iter()
        .filter(|site| site.sync)
        .filter_map(|site| {
            let timeout = config.policy(site.policy)?.attempt_timeout?;
            Some(SyncTimeout {
                site,
                policy: site.policy.to_owned(),
                attempt_timeout: timeout,
            })
        })
        .collect()
}

fn render_sync_timeouts(sites: &[SyncTimeout]) -> String {
    use fmt::Write as _;
    let mut out = String::from(
        "config not installed (the running one stays in force): a sync function's attempt cannot be cancelled, so its policy cannot have an attempt_timeout",
    );
    for t in sites {
        let _ = write!(
            out,
            "\n  - {} ({}:{}) is sync and uses policy `{}`, whose key `policies.{}.attempt_timeout` is {:?}; remove that key (or set it to \"none\"), give this function a policy without one, or make it `async fn`",
            t.site.name, t.site.file, t.site.line, t.policy, t.policy, t.attempt_timeout
        );
    }
    out
}

fn render_missing(missing: &[UndefinedName]) -> String {
    use fmt::Write as _;
    let mut out = format!(
        "config not installed (the running one stays in force): {} name{} used in code {} not defined",
        missing.len(),
        if missing.len() == 1 { "" } else { "s" },
        if missing.len() == 1 { "is" } else { "are" },
    );
    for m in missing {
        let _ = write!(out, "\n  - {} `{}`, used by ", m.kind, m.name);
        for (i, site) in m.used_by.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            let _ = write!(out, "{sep}{} ({}:{})", site.name, site.file, site.line);
        }
        let _ = write!(
            out,
            "; add a `[{}.{}]` table to the config",
            m.kind.table(),
            m.name
        );
    }
    out
}

/// A name used in code but missing from a configuration.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct UndefinedName {
    /// Policy, breaker or budget.
    pub kind: NameKind,
    /// The name as written in the attribute.
    pub name: &'static str,
    /// The call sites that use it.
    pub used_by: Vec<&'static CallSite>,
}

/// The three kinds of named things a call site uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NameKind {
    /// A retry policy, `[policies.NAME]`.
    Policy,
    /// A circuit breaker, `[breakers.NAME]`.
    Breaker,
    /// A retry budget, `[budgets.NAME]`.
    Budget,
}

impl NameKind {
    fn table(self) -> &'static str {
        match self {
            NameKind::Policy => "policies",
            NameKind::Breaker => "breakers",
            NameKind::Budget => "budgets",
        }
    }
}

impl fmt::Display for NameKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NameKind::Policy => "policy",
            NameKind::Breaker => "breaker",
            NameKind::Budget => "budget",
        })
    }
}

/// One `#[retryable]` function: what it is called, where it is, which names it uses.
///
/// Each annotated function owns one `static CallSite`, registered at link time and
/// listed by [`call_sites`]. It also caches what its names resolve to, so that a
/// call neither locks nor looks anything up by name.
pub struct CallSite {
    name: &'static str,
    module: &'static str,
    file: &'static str,
    line: u32,
    policy: &'static str,
    breaker: Option<&'static str>,
    budget: &'static str,
    idempotent: bool,
    sync: bool,
    cache: SiteCache,
}

struct SiteCache {
    /// The [`GENERATION`] that `resolved` was computed under; 0 = never.
    generation: AtomicU64,
    /// What the site's names resolve to; null until the first call.
    resolved: AtomicPtr<Resolved>,
}

/// What a call site's names resolve to under one configuration.
pub(crate) struct Resolved {
    pub(crate) policy: Policy,
    pub(crate) breaker: Option<&'static Breaker>,
    /// The keyed instances of the breaker's name, for calls with a `breaker_key`.
    pub(crate) keyed: Option<&'static KeyedBreakers>,
    pub(crate) budget: &'static Budget,
    pub(crate) metrics: crate::metrics::SiteMetrics,
}

/// The settings of `name` in `config`, or of its `default` entry when `config`
/// lacks it (only possible before the first install: install refuses a config
/// that leaves a name used in code undefined).
fn settings_or_default<'c, T>(
    kind: NameKind,
    name: &str,
    site: &str,
    lookup: impl Fn(&str) -> Option<&'c T>,
    builtin: &'c T,
) -> &'c T {
    lookup(name).unwrap_or_else(|| {
        tracing::warn!(
            call_site = site,
            kind = %kind,
            name,
            "no built-in {kind} is called `{name}`: using the `default` {kind} until a config that defines it is installed"
        );
        lookup("default").unwrap_or(builtin)
    })
}

/// The live object called `name` in `live`, made from its settings (those of
/// `config`, or the `default` ones) and leaked if new: breakers, keyed tables
/// and budgets alike.
fn live_object<'c, T: 'static, S: Copy + 'c>(
    live: &mut HashMap<String, &'static T>,
    (kind, name, site): (NameKind, &str, &str),
    lookup: impl Fn(&str) -> Option<&'c S>,
    builtin: &'c S,
    make: impl FnOnce(S) -> T,
) -> &'static T {
    if let Some(object) = live.get(name) {
        return object;
    }
    let settings = *settings_or_default(kind, name, site, lookup, builtin);
    let object: &'static T = Box::leak(Box::new(make(settings)));
    live.insert(name.to_owned(), object);
    object
}

/// The live breaker called `name`, created from `config` (or the default settings) if new.
fn live_breaker(
    objects: &mut Objects,
    config: &Config,
    name: &str,
    site: &str,
) -> &'static Breaker {
    live_object(
        &mut objects.breakers,
        (NameKind::Breaker, name, site),
        |n| config.breaker(n),
        &BreakerSettings::DEFAULT,
        |settings| Breaker::new(name, settings),
    )
}

/// The keyed instances of the breaker `name`, a container created from
/// `config` (or the default settings) if new.
fn live_keyed(
    objects: &mut Objects,
    config: &Config,
    name: &str,
    site: &str,
) -> &'static KeyedBreakers {
    live_object(
        &mut objects.keyed,
        (NameKind::Breaker, name, site),
        |n| config.breaker(n),
        &BreakerSettings::DEFAULT,
        |settings| KeyedBreakers::new(name, settings),
    )
}

/// The live budget called `name`, created from `config` (or the default settings) if new.
fn live_budget(objects: &mut Objects, config: &Config, name: &str, site: &str) -> &'static Budget {
    live_object(
        &mut objects.budgets,
        (NameKind::Budget, name, site),
        |n| config.budget(n),
        &BudgetSettings::DEFAULT,
        Budget::new,
    )
}

/// Whether some call site or the live config knows a breaker called `name`.
fn breaker_is_known(config: &Config, name: &str) -> bool {
    config.breaker(name).is_some() || call_sites().iter().any(|s| s.breaker == Some(name))
}

/// Whether some call site or the live config knows a budget called `name`.
fn budget_is_known(config: &Config, name: &str) -> bool {
    config.budget(name).is_some() || call_sites().iter().any(|s| s.budget == name)
}

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
        last: BreakerRef::Static(live),
    })
}

/// The instance of the breaker `name` for `key`, as a call with
/// `#[retryable(breaker = "name", breaker_key = ...)]` whose key displays as
/// `key` would use it: created now (with the name's settings) if no call has
/// made it yet, so that an operator can force a key open before its first
/// call. `None` if no call site or config knows the name.
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
    Some(BreakerHandle {
        name: Arc::from(name),
        key: Some(Arc::from(key)),
        last: BreakerRef::Keyed(keyed.get(key)),
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

/// The keyed instances of the breaker `name` (cold path: handles only).
fn current_keyed(name: &str) -> Option<&'static KeyedBreakers> {
    let mut objects = objects();
    let config = LIVE.load();
    breaker_is_known(&config, name)
        .then(|| live_keyed(&mut objects, &config, name, "retry_runtime::breaker_for"))
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

/// The breaker live now under `name`, created from the live config if new or
/// if an install replaced it (cold path: handles only); `None` if no call site
/// or config knows the name.
fn current_breaker(name: &str) -> Option<&'static Breaker> {
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

/// A circuit breaker, by name: inspect it and take it in hand.
///
/// A handle follows its name across [`install`]s: if an install replaced the
/// breaker (its settings changed), the handle acts on the new one.
///
/// A handle from [`breaker_for`] acts on one keyed instance, the same way.
#[derive(Clone)]
pub struct BreakerHandle {
    name: Arc<str>,
    key: Option<Arc<str>>,
    last: BreakerRef,
}

impl BreakerHandle {
    /// The breaker to act on: the one live under the name (and key), created if need be.
    fn live(&self) -> BreakerRef {
        match &self.key {
            None => {
                current_breaker(&self.name).map_or_else(|| self.last.clone(), BreakerRef::Static)
            }
            Some(key) => current_keyed(&self.name)
                .map_or_else(|| self.last.clone(), |k| BreakerRef::Keyed(k.get(&**key))),
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
                    Some(live) => BreakerRef::Keyed(live),
                    None => BreakerRef::Keyed(Arc::new(Breaker::with_key(
                        Arc::clone(&self.name),
                        Some(Arc::clone(key)),
                        keyed.map_or_else(|| *self.last.settings(), |k| *k.settings()),
                    ))),
                }
            }
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
        self.live().set(crate::BreakerState::ForcedOpen);
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
        self.live().set(crate::BreakerState::Disabled);
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
        self.live().set(crate::BreakerState::Closed);
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

impl CallSite {
    #[doc(hidden)]
    #[allow(clippy::too_many_arguments)] // only generated code calls it
    #[must_use]
    pub const fn new(
        name: &'static str,
        module: &'static str,
        file: &'static str,
        line: u32,
        policy: &'static str,
        breaker: Option<&'static str>,
        budget: &'static str,
        idempotent: bool,
    ) -> CallSite {
        CallSite {
            name,
            module,
            file,
            line,
            policy,
            breaker,
            budget,
            idempotent,
            sync: false,
            cache: SiteCache {
                generation: AtomicU64::new(0),
                resolved: AtomicPtr::new(std::ptr::null_mut()),
            },
        }
    }

    /// Marks the site as a sync function's (generated code only).
    #[doc(hidden)]
    #[must_use]
    pub const fn synchronous(self) -> CallSite {
        CallSite { sync: true, ..self }
    }

    /// Whether the function is sync (`fn`) rather than `async fn`: its
    /// attempts block the thread and cannot be cancelled, so its policy may
    /// not have an `attempt_timeout`.
    ///
    /// ```
    /// use retry_runtime::retryable;
    ///
    /// #[retryable]
    /// fn read() -> std::io::Result<u8> { Ok(1) }
    ///
    /// let site = retry_runtime::call_sites().iter().find(|s| s.name().ends_with("::read")).unwrap();
    /// assert!(site.is_sync());
    /// ```
    #[must_use]
    pub fn is_sync(&self) -> bool {
        self.sync
    }

    /// The call-site name used in logs and metrics: `name = "..."`, or `module_path::fn_name`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The module the function is defined in (`module_path!()`).
    #[must_use]
    pub fn module(&self) -> &'static str {
        self.module
    }

    /// The source file of the function.
    #[must_use]
    pub fn file(&self) -> &'static str {
        self.file
    }

    /// The line of the function's name.
    #[must_use]
    pub fn line(&self) -> u32 {
        self.line
    }

    /// The policy name (`"default"` unless set).
    #[must_use]
    pub fn policy(&self) -> &'static str {
        self.policy
    }

    /// The breaker name, if the function has one.
    #[must_use]
    pub fn breaker(&self) -> Option<&'static str> {
        self.breaker
    }

    /// The budget name (`"default"` unless set).
    #[must_use]
    pub fn budget(&self) -> &'static str {
        self.budget
    }

    /// Whether the author marked the function `idempotent`.
    #[must_use]
    pub fn idempotent(&self) -> bool {
        self.idempotent
    }

    /// What this site's names resolve to now (cached; re-resolved after an `install`).
    #[inline]
    pub(crate) fn resolve(&'static self) -> &'static Resolved {
        let generation = GENERATION.load(Ordering::Acquire);
        let resolved = self.cache.resolved.load(Ordering::Acquire);
        if self.cache.generation.load(Ordering::Acquire) != generation || resolved.is_null() {
            return self.refresh();
        }
        // SAFETY: the pointer is non-null, and every non-null pointer stored in
        // `resolved` comes from `Box::leak` in `refresh`: valid for 'static, never
        // written through, never freed.
        unsafe { &*resolved }
    }

    /// Resolves the site's names against the live config. A resolution is
    /// leaked (so calls hold it for free, with no reference count); a new one
    /// is made only when the site's settings actually changed, so memory grows
    /// with configuration changes, not with installs or calls.
    #[cold]
    fn refresh(&'static self) -> &'static Resolved {
        let mut objects = objects();
        // Read under the lock that `install` holds while it swaps.
        let generation = GENERATION.load(Ordering::Acquire);
        let config = LIVE.load();
        let policy = *settings_or_default(
            NameKind::Policy,
            self.policy,
            self.name,
            |n| config.policy(n),
            &Policy::DEFAULT,
        );
        let breaker = self
            .breaker
            .map(|b| live_breaker(&mut objects, &config, b, self.name));
        let keyed = self
            .breaker
            .map(|b| live_keyed(&mut objects, &config, b, self.name));
        let budget = live_budget(&mut objects, &config, self.budget, self.name);
        let current = self.cache.resolved.load(Ordering::Acquire);
        // SAFETY: as in `resolve`: null or leaked by an earlier `refresh`.
        let unchanged = unsafe { current.as_ref() }.filter(|r| {
            r.policy == policy
                && r.breaker.map(std::ptr::from_ref) == breaker.map(std::ptr::from_ref)
                && r.keyed.map(std::ptr::from_ref) == keyed.map(std::ptr::from_ref)
                && std::ptr::eq(r.budget, budget)
        });
        let resolved = match unchanged {
            Some(resolved) => resolved,
            None => {
                let resolved: &'static Resolved = Box::leak(Box::new(Resolved {
                    policy,
                    breaker,
                    keyed,
                    budget,
                    metrics: crate::metrics::SiteMetrics::new(self.name, self.breaker, self.budget),
                }));
                self.cache
                    .resolved
                    .store(std::ptr::from_ref(resolved).cast_mut(), Ordering::Release);
                resolved
            }
        };
        self.cache.generation.store(generation, Ordering::Release);
        resolved
    }
}

impl fmt::Debug for CallSite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallSite")
            .field("name", &self.name)
            .field("policy", &self.policy)
            .field("breaker", &self.breaker)
            .field("budget", &self.budget)
            .field("idempotent", &self.idempotent)
            .field("sync", &self.sync)
            .field("file", &self.file)
            .field("line", &self.line)
            .finish_non_exhaustive()
    }
}

/// A serializable picture of every breaker, budget and call site, for health
/// endpoints and dashboards. Take one with [`snapshot`].
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct Snapshot {
    /// Every breaker named by the config or by a call site, by name; each
    /// followed by its keyed instances (`breaker_key`), by key.
    pub breakers: Vec<BreakerSnapshot>,
    /// Every budget named by the config or by a call site, by name.
    pub budgets: Vec<BudgetSnapshot>,
    /// Every `#[retryable]` function, by name.
    pub call_sites: Vec<CallSiteSnapshot>,
}

/// One breaker in a [`Snapshot`].
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct BreakerSnapshot {
    /// Its name.
    pub name: String,
    /// The key of a keyed instance (`breaker_key`); `None` for the named breaker.
    pub key: Option<String>,
    /// Its counters, rates and state.
    #[serde(flatten)]
    pub metrics: crate::BreakerMetrics,
}

/// One budget in a [`Snapshot`].
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct BudgetSnapshot {
    /// Its name.
    pub name: String,
    /// Retries it would allow now.
    pub balance: f64,
    /// Retries it refused so far.
    pub exhausted: u64,
}

/// One call site in a [`Snapshot`].
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct CallSiteSnapshot {
    /// `name = "..."`, or `module_path::fn_name`.
    pub name: &'static str,
    /// Its policy.
    pub policy: &'static str,
    /// Its breaker, if any.
    pub breaker: Option<&'static str>,
    /// Its budget.
    pub budget: &'static str,
    /// Whether it is marked `idempotent`.
    pub idempotent: bool,
    /// Where it is: `file:line`.
    pub location: String,
}

/// The state of every breaker, budget and call site now.
///
/// ```
/// let snapshot = retry_runtime::snapshot();
/// assert!(snapshot.budgets.iter().any(|b| b.name == "default"));
/// ```
#[must_use]
pub fn snapshot() -> Snapshot {
    let (breakers, budgets) = {
        let mut objects = objects();
        let config = LIVE.load();
        let mut breaker_names: Vec<&str> = config.breakers.keys().map(String::as_str).collect();
        breaker_names.extend(call_sites().iter().filter_map(|s| s.breaker));
        breaker_names.sort_unstable();
        breaker_names.dedup();
        let mut budget_names: Vec<&str> = config.budgets.keys().map(String::as_str).collect();
        budget_names.extend(call_sites().iter().map(|s| s.budget));
        budget_names.sort_unstable();
        budget_names.dedup();
        let mut breakers = Vec::new();
        for name in breaker_names {
            breakers.push(BreakerSnapshot {
                name: name.to_owned(),
                key: None,
                metrics: live_breaker(&mut objects, &config, name, "retry_runtime::snapshot")
                    .metrics(),
            });
            // Each name's keyed instances follow it, by key.
            if let Some(keyed) = objects.keyed.get(name) {
                let mut instances: Vec<BreakerSnapshot> = keyed
                    .instances()
                    .iter()
                    .map(|instance| BreakerSnapshot {
                        name: name.to_owned(),
                        key: instance.key().map(|k| k.to_string()),
                        metrics: instance.metrics(),
                    })
                    .collect();
                instances.sort_by(|a, b| a.key.cmp(&b.key));
                breakers.extend(instances);
            }
        }
        let budgets = budget_names
            .into_iter()
            .map(|name| {
                let live = live_budget(&mut objects, &config, name, "retry_runtime::snapshot");
                BudgetSnapshot {
                    name: name.to_owned(),
                    balance: live.balance(),
                    exhausted: live.exhausted(),
                }
            })
            .collect();
        (breakers, budgets)
    };
    let mut call_sites: Vec<CallSiteSnapshot> = call_sites()
        .iter()
        .map(|s| CallSiteSnapshot {
            name: s.name,
            policy: s.policy,
            breaker: s.breaker,
            budget: s.budget,
            idempotent: s.idempotent,
            location: format!("{}:{}", s.file, s.line),
        })
        .collect();
    call_sites.sort_by_key(|s| s.name);
    Snapshot {
        breakers,
        budgets,
        call_sites,
    }
}
