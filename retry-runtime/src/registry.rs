//! The global registry: the live [`Config`], every call site, and [`install`].

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use arc_swap::{ArcSwap, ArcSwapOption};

use crate::{Config, Policy};

/// The configuration every call site resolves its names against.
static LIVE: LazyLock<ArcSwap<Config>> = LazyLock::new(|| ArcSwap::from_pointee(Config::builtin()));

/// Bumped by every successful [`install`]; a call site whose cached generation
/// differs re-resolves its names on its next call. Starts at 1 so that a fresh
/// call site (generation 0) resolves on its first call.
static GENERATION: AtomicU64 = AtomicU64::new(1);

/// Serializes installs, so validation and swap see the same configuration.
static INSTALLING: Mutex<()> = Mutex::new(());

/// Whether a config has been installed: until then, names that no preset
/// defines fall back to the `default` preset (with a warning).
static INSTALLED: AtomicBool = AtomicBool::new(false);

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
#[must_use]
pub fn current_config() -> Arc<Config> {
    LIVE.load_full()
}

/// Replaces the configuration, atomically, after checking it against every call site.
///
/// Every name that a registered call site uses (policy, breaker, budget) must be
/// defined by `config` (the built-in presets count as defined). If any is missing,
/// nothing changes and the error lists every missing name with the call sites
/// that use it. On success every call site picks up its new settings on its next
/// call; calls already running finish under the settings they started with.
///
/// ```
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
/// budget that `config` does not define.
pub fn install(config: Config) -> Result<(), InstallError> {
    let _serial = INSTALLING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let missing = undefined_names(&config);
    if !missing.is_empty() {
        return Err(InstallError::UndefinedNames { missing });
    }
    LIVE.store(Arc::new(config));
    INSTALLED.store(true, Ordering::Release);
    GENERATION.fetch_add(1, Ordering::AcqRel);
    Ok(())
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
    cache: SiteCache,
}

struct SiteCache {
    /// The [`GENERATION`] that `resolved` was computed under; 0 = never.
    generation: AtomicU64,
    resolved: ArcSwapOption<Resolved>,
}

/// What a call site's names resolve to under one configuration.
pub(crate) struct Resolved {
    pub(crate) policy: Policy,
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
            cache: SiteCache {
                generation: AtomicU64::new(0),
                resolved: ArcSwapOption::const_empty(),
            },
        }
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

    /// The line of the `#[retryable]` attribute.
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

    /// The policy this site currently resolves to (cached; re-resolved after an `install`).
    #[inline]
    pub(crate) fn current_policy(&'static self) -> Policy {
        let generation = GENERATION.load(Ordering::Acquire);
        if self.cache.generation.load(Ordering::Acquire) != generation {
            self.refresh(generation);
        }
        match &*self.cache.resolved.load() {
            Some(resolved) => resolved.policy,
            None => Policy::DEFAULT,
        }
    }

    #[cold]
    fn refresh(&'static self, generation: u64) {
        let config = LIVE.load();
        let policy = match config.policy(self.policy) {
            Some(policy) => *policy,
            None => {
                // Only reachable before the first install: install refuses configs
                // that leave a call site's policy undefined.
                if !INSTALLED.load(Ordering::Acquire) {
                    tracing::warn!(
                        call_site = self.name,
                        policy = self.policy,
                        "no built-in policy is called `{}`: using `default` until a config that defines it is installed",
                        self.policy
                    );
                }
                config.policy("default").copied().unwrap_or(Policy::DEFAULT)
            }
        };
        self.cache
            .resolved
            .store(Some(Arc::new(Resolved { policy })));
        self.cache.generation.store(generation, Ordering::Release);
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
            .field("file", &self.file)
            .field("line", &self.line)
            .finish_non_exhaustive()
    }
}
