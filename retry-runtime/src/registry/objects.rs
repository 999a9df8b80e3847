//! The live objects: one breaker, one table of keyed instances and one budget
//! per name, made from the live config's settings when first needed.
//!
//! Objects are leaked, so that calls hold them as `&'static` with no
//! reference count, and **interned**: every object ever made is kept, by name
//! and settings, and a config that brings back settings seen before gets the
//! object made for them again (revived: closed, empty, counting from zero),
//! not a new one. Memory is bounded by the distinct settings a name has had,
//! not by the installs: configs that alternate, or a reload loop that
//! installs the same file, allocate nothing after their first round.
//!
//! Locked only to resolve a call site (once per site and install), by
//! `install`, `reset_state`, handles and the snapshot; never by a call.

use std::collections::HashMap;
use std::fmt;
use std::sync::{LazyLock, Mutex, MutexGuard};

use super::resolved::Resolved;
use crate::breaker::Breaker;
use crate::breaker::keyed::KeyedBreakers;
use crate::budget::Budget;
use crate::{BreakerSettings, BudgetSettings, Config};

/// The live breakers and budgets, by name. Locked only to resolve a call site
/// (once per site and install), to install, and by handles.
pub(super) static LIVE_OBJECTS: LazyLock<Mutex<Objects>> =
    LazyLock::new(|| Mutex::new(Objects::default()));

#[derive(Default)]
pub(super) struct Objects {
    pub(super) breakers: HashMap<String, &'static Breaker>,
    pub(super) budgets: HashMap<String, &'static Budget>,
    /// The keyed instances (`breaker_key`) of each breaker name. The container
    /// is leaked like a breaker (one per name and settings), and so are the
    /// slots of its instances, reset and reused on eviction or retirement.
    pub(super) keyed: HashMap<String, &'static KeyedBreakers>,
    /// Every object made, live or not, by name: one per distinct settings.
    made: Made,
    /// Every resolution made, by call site (its address): one per distinct
    /// policy, breaker and budget the site has resolved to.
    pub(super) resolutions: HashMap<usize, Vec<&'static Resolved>>,
}

#[derive(Default)]
struct Made {
    breakers: HashMap<String, Vec<&'static Breaker>>,
    keyed: HashMap<String, Vec<&'static KeyedBreakers>>,
    budgets: HashMap<String, Vec<&'static Budget>>,
}

/// A live object that settings make, and that can be made live again.
pub(super) trait Interned: Sync + 'static {
    type Settings: PartialEq + Copy;
    fn settings(&self) -> &Self::Settings;
    /// Back to what a new object with the same settings would be.
    fn revive(&self);
}

impl Interned for Breaker {
    type Settings = BreakerSettings;
    fn settings(&self) -> &BreakerSettings {
        Breaker::settings(self)
    }
    fn revive(&self) {
        Breaker::revive(self);
    }
}

impl Interned for KeyedBreakers {
    type Settings = BreakerSettings;
    fn settings(&self) -> &BreakerSettings {
        KeyedBreakers::settings(self)
    }
    fn revive(&self) {
        KeyedBreakers::revive(self);
    }
}

impl Interned for Budget {
    type Settings = BudgetSettings;
    fn settings(&self) -> &BudgetSettings {
        Budget::settings(self)
    }
    fn revive(&self) {
        self.reset();
    }
}

pub(super) fn objects() -> MutexGuard<'static, Objects> {
    LIVE_OBJECTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The settings of `name` in `config`, or of its `default` entry when `config`
/// lacks it (only possible before the first install: install refuses a config
/// that leaves a name used in code undefined).
pub(super) fn settings_or_default<'c, T>(
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
/// `config`, or the `default` ones) if it is not live: the object made
/// before for the same name and settings, revived, or a new one, leaked and
/// kept in `made`. Breakers, keyed tables and budgets alike.
fn live_object<'c, T: Interned>(
    (live, made): (
        &mut HashMap<String, &'static T>,
        &mut HashMap<String, Vec<&'static T>>,
    ),
    (kind, name, site): (NameKind, &str, &str),
    lookup: impl Fn(&str) -> Option<&'c T::Settings>,
    builtin: &'c T::Settings,
    make: impl FnOnce(T::Settings) -> T,
) -> &'static T {
    if let Some(object) = live.get(name) {
        return object;
    }
    let settings = *settings_or_default(kind, name, site, lookup, builtin);
    let seen = made.entry(name.to_owned()).or_default();
    let object = match seen.iter().find(|o| *o.settings() == settings) {
        Some(&object) => {
            object.revive();
            object
        }
        None => {
            let object: &'static T = Box::leak(Box::new(make(settings)));
            seen.push(object);
            object
        }
    };
    live.insert(name.to_owned(), object);
    object
}

/// The live breaker called `name`, created from `config` (or the default settings) if new.
pub(super) fn live_breaker(
    objects: &mut Objects,
    config: &Config,
    name: &str,
    site: &str,
) -> &'static Breaker {
    live_object(
        (&mut objects.breakers, &mut objects.made.breakers),
        (NameKind::Breaker, name, site),
        |n| config.breaker(n),
        &BreakerSettings::DEFAULT,
        |settings| Breaker::new(name, settings),
    )
}

/// The keyed instances of the breaker `name`, a container created from
/// `config` (or the default settings) if new.
pub(super) fn live_keyed(
    objects: &mut Objects,
    config: &Config,
    name: &str,
    site: &str,
) -> &'static KeyedBreakers {
    live_object(
        (&mut objects.keyed, &mut objects.made.keyed),
        (NameKind::Breaker, name, site),
        |n| config.breaker(n),
        &BreakerSettings::DEFAULT,
        |settings| KeyedBreakers::new(name, settings),
    )
}

/// The live budget called `name`, created from `config` (or the default settings) if new.
pub(super) fn live_budget(
    objects: &mut Objects,
    config: &Config,
    name: &str,
    site: &str,
) -> &'static Budget {
    live_object(
        (&mut objects.budgets, &mut objects.made.budgets),
        (NameKind::Budget, name, site),
        |n| config.budget(n),
        &BudgetSettings::DEFAULT,
        Budget::new,
    )
}

/// The kinds of named things a call site uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum NameKind {
    /// A retry policy, `[policies.NAME]`.
    Policy,
    /// A circuit breaker, `[breakers.NAME]`.
    Breaker,
    /// A retry budget, `[budgets.NAME]`.
    Budget,
    /// A hedge, `[hedges.NAME]`.
    Hedge,
}

impl NameKind {
    pub(super) fn table(self) -> &'static str {
        match self {
            NameKind::Policy => "policies",
            NameKind::Breaker => "breakers",
            NameKind::Budget => "budgets",
            NameKind::Hedge => "hedges",
        }
    }
}

impl fmt::Display for NameKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NameKind::Policy => "policy",
            NameKind::Breaker => "breaker",
            NameKind::Budget => "budget",
            NameKind::Hedge => "hedge",
        })
    }
}
