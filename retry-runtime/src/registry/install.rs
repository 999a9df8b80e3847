//! `install` and `reset_state`: the checks a config must pass against every
//! call site, the errors that say what failed, and the swap itself.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::call_site::{CallSite, call_sites};
use super::live::{GENERATION, INSTALLING, LIVE};
use super::objects::{NameKind, objects};
use crate::Config;
use crate::ops::events::Via;

/// Replaces the configuration, atomically, after checking it against every call site.
///
/// Every name that a registered call site uses (policy, breaker, budget, hedge) must be
/// defined by `config` (the built-in presets count as defined) or by a
/// library's [`defaults!`](crate::defaults!), which fills in the names
/// `config` lacks. If any is missing,
/// nothing changes and the error lists every missing name with the call sites
/// that use it. On success every call site picks up its new settings on its next
/// call; calls already running finish under the settings they started with.
///
/// Breakers and budgets whose settings did not change keep their state. One
/// whose settings changed starts fresh (closed, empty window, full reserve,
/// counters from zero), and so does one whose settings changed and later
/// changed back: the object made for those settings before is reused, reset,
/// so installing two configs in turn, for ever, does not grow memory (the
/// runtime keeps one breaker and budget per name and distinct settings, and
/// one resolution per call site and distinct policy and objects).
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
/// [`InstallError::SyncAttemptTimeout`] when a sync call site's policy has an
/// `attempt_timeout`; [`InstallError::Several`] with each of those when both
/// apply (every problem is reported at once);
/// [`InstallError::Defaults`] when a library's `defaults!` block is invalid.
pub fn install(config: Config) -> Result<(), InstallError> {
    install_via(config, Via::Install)
}

/// [`install`], recorded in the recent events as coming from `via`.
pub(crate) fn install_via(config: Config, via: Via<'_>) -> Result<(), InstallError> {
    let result = swap(config);
    crate::ops::events::installed(via, result.as_ref().err().map(|e| e as &dyn fmt::Display));
    result
}

fn swap(config: Config) -> Result<(), InstallError> {
    let _serial = INSTALLING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // Names the config lacks come from the libraries' `defaults!`.
    let config = crate::config::defaults::complete(config).map_err(InstallError::Defaults)?;
    // One pass, every problem: each kind of check runs whatever the others found.
    let missing = undefined_names(&config);
    let timed = sync_sites_with_attempt_timeout(&config);
    let mut errors = Vec::new();
    if !missing.is_empty() {
        errors.push(InstallError::UndefinedNames { missing });
    }
    if !timed.is_empty() {
        errors.push(InstallError::SyncAttemptTimeout { sites: timed });
    }
    match errors.len() {
        0 => {}
        1 => return Err(errors.remove(0)),
        _ => return Err(InstallError::Several(errors)),
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
    // holding an old one finish without recording on it).
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
/// with (their outcomes are not counted in the fresh windows). A reset
/// allocates nothing that stays: each breaker and budget is reset in place
/// when a call or handle next uses it, so a loop of resets does not grow
/// memory. Keyed breaker instances (`breaker_key`) are dropped: calls still
/// running on one record nothing more on it, and its memory is kept for the
/// name's next keys.
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

pub(super) fn undefined_names(config: &Config) -> Vec<UndefinedName> {
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
        if let Some(hedge) = site.hedge
            && config.hedge(hedge).is_none()
        {
            note(NameKind::Hedge, hedge, site);
        }
    }
    missing.sort_by_key(|m| (m.kind, m.name));
    missing
}

/// Why [`install`] refused a configuration. The running configuration is untouched.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InstallError {
    /// Call sites name policies, breakers, budgets or hedges that the configuration does not define.
    #[error("{HEADER}{}", render_missing(missing))]
    UndefinedNames {
        /// Every missing name, with the call sites that use it.
        missing: Vec<UndefinedName>,
    },
    /// Sync call sites whose policy has an `attempt_timeout`: a sync attempt
    /// cannot be cancelled, so the timeout could not be kept.
    #[error("{HEADER}{}", render_sync_timeouts(sites))]
    SyncAttemptTimeout {
        /// Each sync call site concerned.
        sites: Vec<SyncTimeout>,
    },
    /// More than one of the problems above, in this order: every problem the
    /// config has against the call sites, found in one pass.
    #[error("{HEADER}{}", render_several(.0))]
    Several(Vec<InstallError>),
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

pub(super) fn sync_sites_with_attempt_timeout(config: &Config) -> Vec<SyncTimeout> {
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

pub(super) fn render_sync_timeouts(sites: &[SyncTimeout]) -> String {
    use fmt::Write as _;
    let mut out = String::from(
        "a sync function's attempt cannot be cancelled, so its policy cannot have an attempt_timeout",
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

/// What every refusal starts with.
const HEADER: &str = "config not installed (the running one stays in force): ";

fn render_several(errors: &[InstallError]) -> String {
    let mut out = format!("{} problems", errors.len());
    for error in errors {
        let text = match error {
            InstallError::UndefinedNames { missing } => render_missing(missing),
            InstallError::SyncAttemptTimeout { sites } => render_sync_timeouts(sites),
            other => other.to_string(),
        };
        out.push_str("\n- ");
        out.push_str(&text.replace('\n', "\n  "));
    }
    out
}

pub(super) fn render_missing(missing: &[UndefinedName]) -> String {
    use fmt::Write as _;
    let mut out = format!(
        "{} name{} used in code {} not defined",
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
    /// Policy, breaker, budget or hedge.
    pub kind: NameKind,
    /// The name as written in the attribute.
    pub name: &'static str,
    /// The call sites that use it.
    pub used_by: Vec<&'static CallSite>,
}
