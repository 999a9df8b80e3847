//! Call sites: every `#[retryable]` function, registered at link time, and the
//! cache through which a call finds its policy, breaker and budget without a
//! lock or a lookup by name.

use std::fmt;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};

use super::live::{GENERATION, LIVE};
use super::objects::{
    NameKind, live_breaker, live_budget, live_keyed, objects, settings_or_default,
};
use crate::breaker::Breaker;
use crate::breaker::keyed::KeyedBreakers;
use crate::budget::Budget;
use crate::call::latency::Latency;
use crate::{HedgeDelay, HedgeSettings, Policy};

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

/// One `#[retryable]` function: what it is called, where it is, which names it uses.
///
/// Each annotated function owns one `static CallSite`, registered at link time and
/// listed by [`call_sites`]. It also caches what its names resolve to, so that a
/// call neither locks nor looks anything up by name.
pub struct CallSite {
    pub(super) name: &'static str,
    pub(super) module: &'static str,
    pub(super) file: &'static str,
    pub(super) line: u32,
    pub(super) policy: &'static str,
    pub(super) breaker: Option<&'static str>,
    pub(super) budget: &'static str,
    pub(super) idempotent: bool,
    pub(super) sync: bool,
    /// `hedge = "<name>"`.
    pub(super) hedge: Option<&'static str>,
    /// Recent successful latencies, made (and leaked) by the site's first
    /// resolution with a hedge; null until then.
    pub(super) latency: AtomicPtr<Latency>,
    pub(super) cache: SiteCache,
}

pub(super) struct SiteCache {
    /// The [`GENERATION`] that `resolved` was computed under; 0 = never.
    generation: AtomicU64,
    /// What the site's names resolve to; null until the first call.
    resolved: AtomicPtr<Resolved>,
    /// Its give-up and rejection events during a storm (`ops/quiet.rs`).
    pub(crate) quiet: crate::ops::quiet::SiteQuiet,
}

/// What a call site's names resolve to under one configuration.
pub(crate) struct Resolved {
    pub(crate) policy: Policy,
    pub(crate) breaker: Option<&'static Breaker>,
    /// The keyed instances of the breaker's name, for calls with a `breaker_key`.
    pub(crate) keyed: Option<&'static KeyedBreakers>,
    pub(crate) budget: &'static Budget,
    pub(crate) metrics: crate::ops::metrics::SiteMetrics,
    /// The site's hedge, when it names one.
    pub(crate) hedge: Option<Hedging>,
}

/// A hedged site's settings and, for a percentile delay, its latencies.
#[derive(Clone, Copy)]
pub(crate) struct Hedging {
    pub(crate) settings: HedgeSettings,
    /// The percentile in tenths (950 for p95), or `None` for a fixed delay.
    pub(crate) percentile: Option<u16>,
    pub(crate) latency: &'static Latency,
}

impl Hedging {
    /// The delay before the next hedge: the fixed one, or the percentile of
    /// the recent latencies once `min_samples` are recorded.
    #[inline]
    pub(crate) fn delay(&self) -> Option<std::time::Duration> {
        match (self.settings.delay, self.percentile) {
            (HedgeDelay::Fixed(delay), _) => Some(delay),
            (HedgeDelay::Percentile(_), Some(p)) => {
                self.latency.delay(p, self.settings.min_samples)
            }
            (HedgeDelay::Percentile(_), None) => None,
        }
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
            hedge: None,
            latency: AtomicPtr::new(std::ptr::null_mut()),
            cache: SiteCache {
                generation: AtomicU64::new(0),
                resolved: AtomicPtr::new(std::ptr::null_mut()),
                quiet: crate::ops::quiet::SiteQuiet::new(),
            },
        }
    }

    /// Marks the site as a sync function's (generated code only).
    #[doc(hidden)]
    #[must_use]
    pub const fn synchronous(self) -> CallSite {
        CallSite { sync: true, ..self }
    }

    /// Names the site's hedge (generated code only).
    #[doc(hidden)]
    #[must_use]
    pub const fn hedged(self, hedge: &'static str) -> CallSite {
        CallSite {
            hedge: Some(hedge),
            ..self
        }
    }

    /// The hedge name (`hedge = "..."`), if the function hedges.
    ///
    /// ```
    /// use retry_runtime::retryable;
    ///
    /// #[retryable(hedge = "default", idempotent)]
    /// async fn lookup() -> std::io::Result<u8> { Ok(1) }
    ///
    /// let site = retry_runtime::call_sites().iter().find(|s| s.name().ends_with("::lookup")).unwrap();
    /// assert_eq!(site.hedge(), Some("default"));
    /// ```
    #[must_use]
    pub fn hedge(&self) -> Option<&'static str> {
        self.hedge
    }

    /// The delay after which this site sends a hedge now: the fixed delay, or
    /// the percentile of its recent latencies (`None` before `min_samples`
    /// are recorded, or when the site does not hedge).
    #[must_use]
    pub fn hedge_delay(&'static self) -> Option<std::time::Duration> {
        self.resolve().hedge.as_ref()?.delay()
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
    /// Its give-up and rejection events' quiet state during a storm.
    pub(crate) fn quiet(&self) -> &crate::ops::quiet::SiteQuiet {
        &self.cache.quiet
    }

    pub(crate) fn resolve(&'static self) -> &'static Resolved {
        let generation = GENERATION.load(Ordering::Acquire);
        // The site's generation before its pointer: `refresh` stores the
        // pointer first, so a matching generation (acquired) guarantees the
        // pointer read next is the one made for it, or a later one.
        if self.cache.generation.load(Ordering::Acquire) != generation {
            return self.refresh();
        }
        let resolved = self.cache.resolved.load(Ordering::Acquire);
        if resolved.is_null() {
            return self.refresh();
        }
        // SAFETY: the pointer is non-null, and every non-null pointer stored in
        // `resolved` comes from `Box::leak` in `refresh`: valid for 'static, never
        // written through, never freed.
        unsafe { &*resolved }
    }

    /// Resolves the site's names against the live config. A resolution is
    /// leaked (so calls hold it for free, with no reference count) and
    /// interned: the site reuses the one it made before for the same policy
    /// and objects, so memory is bounded by the distinct settings the site
    /// has seen, not by installs or calls.
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
        let hedge = self.hedge.map(|h| {
            *settings_or_default(
                NameKind::Hedge,
                h,
                self.name,
                |n| config.hedge(n),
                &HedgeSettings::DEFAULT,
            )
        });
        let made = objects
            .resolutions
            .entry(std::ptr::from_ref(self).addr())
            .or_default();
        let seen = made.iter().copied().find(|r| {
            r.policy == policy
                && r.breaker.map(std::ptr::from_ref) == breaker.map(std::ptr::from_ref)
                && r.keyed.map(std::ptr::from_ref) == keyed.map(std::ptr::from_ref)
                && std::ptr::eq(r.budget, budget)
                && r.hedge.map(|h| h.settings) == hedge
        });
        let resolved = match seen {
            Some(resolved) => resolved,
            None => {
                let resolved: &'static Resolved = Box::leak(Box::new(Resolved {
                    policy,
                    breaker,
                    keyed,
                    budget,
                    metrics: crate::ops::metrics::SiteMetrics::new(
                        self.name,
                        self.breaker,
                        self.budget,
                    ),
                    hedge: hedge.map(|settings| self.hedging(settings)),
                }));
                made.push(resolved);
                resolved
            }
        };
        self.cache
            .resolved
            .store(std::ptr::from_ref(resolved).cast_mut(), Ordering::Release);
        self.cache.generation.store(generation, Ordering::Release);
        resolved
    }
}

impl CallSite {
    /// The site's hedging state under `settings` (called by `refresh`,
    /// under the objects lock).
    fn hedging(&'static self, settings: HedgeSettings) -> Hedging {
        let percentile = match settings.delay {
            HedgeDelay::Fixed(_) => None,
            // Checked by the config: 90.0..=99.9 with one decimal.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            HedgeDelay::Percentile(p) => Some((p * 10.0).round() as u16),
        };
        // Only `refresh` writes `latency`, under the objects lock: no race.
        let mut latency = self.latency.load(Ordering::Acquire);
        if latency.is_null() {
            latency = Box::into_raw(Box::new(Latency::new()));
            self.latency.store(latency, Ordering::Release);
        }
        Hedging {
            settings,
            percentile,
            // SAFETY: non-null, from `Box::into_raw` just above (now or in an
            // earlier refresh), never freed nor written through: valid for 'static.
            latency: unsafe { &*latency },
        }
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
            .field("hedge", &self.hedge)
            .field("file", &self.file)
            .field("line", &self.line)
            .finish_non_exhaustive()
    }
}
