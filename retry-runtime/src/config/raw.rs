//! The file as written: serde types of the raw tables, read table by table.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::error::{Locator, Problem};
use super::suggest::{explain, unknown_key};
use crate::{Backoff, Jitter, Nested};

// ---------------------------------------------------------------------------
// The file as written
// ---------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(
    deny_unknown_fields,
    expecting = "a table of [policies.NAME], [breakers.NAME] and [budgets.NAME] tables"
)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub(super) policies: BTreeMap<String, RawPolicy>,
    #[serde(default)]
    pub(super) breakers: BTreeMap<String, RawBreaker>,
    #[serde(default)]
    pub(super) budgets: BTreeMap<String, RawBudget>,
}

/// Names of tables that did not deserialize: already reported, so neither
/// their heirs nor references to them are.
#[derive(Default)]
pub(super) struct Failed {
    pub(super) policies: BTreeSet<String>,
    pub(super) breakers: BTreeSet<String>,
    pub(super) budgets: BTreeSet<String>,
}

impl RawConfig {
    /// Reads the document table by table, so that one table's type error
    /// does not hide another's.
    pub(super) fn from_document(
        root: DeTable<'_>,
        locator: &Locator<'_>,
        problems: &mut Vec<Problem>,
    ) -> (RawConfig, Failed) {
        let mut raw = RawConfig::default();
        let mut failed = Failed::default();
        for (key, value) in root {
            match key.get_ref().as_ref() {
                "policies" => read_section(
                    "policies",
                    value,
                    locator,
                    &mut raw.policies,
                    &mut failed.policies,
                    problems,
                ),
                "breakers" => read_section(
                    "breakers",
                    value,
                    locator,
                    &mut raw.breakers,
                    &mut failed.breakers,
                    problems,
                ),
                "budgets" => read_section(
                    "budgets",
                    value,
                    locator,
                    &mut raw.budgets,
                    &mut failed.budgets,
                    problems,
                ),
                other => problems.push(Problem {
                    location: locator.at(Some(key.span())),
                    ..Problem::new(other, unknown_key(other, &SECTIONS))
                }),
            }
        }
        (raw, failed)
    }
}

pub(super) const SECTIONS: [&str; 3] = ["policies", "breakers", "budgets"];

pub(super) fn read_section<T: DeserializeOwned>(
    section: &str,
    value: Spanned<DeValue<'_>>,
    locator: &Locator<'_>,
    tables: &mut BTreeMap<String, T>,
    failed: &mut BTreeSet<String>,
    problems: &mut Vec<Problem>,
) {
    let span = value.span();
    let entries = match value.into_inner() {
        DeValue::Table(entries) => entries,
        other => {
            // Not a table: let serde say so, in the words of the serde route.
            let value = ValueDeserializer::from(Spanned::new(span, other));
            if let Err(e) = serde_path_to_error::deserialize::<_, BTreeMap<String, T>>(value) {
                let message = explain(section, e.inner().message());
                problems.push(Problem {
                    location: locator.at(e.inner().span()),
                    ..Problem::new(section, message)
                });
            }
            return;
        }
    };
    for (name, value) in entries {
        let name = name.into_inner().into_owned();
        match serde_path_to_error::deserialize::<_, T>(ValueDeserializer::from(value)) {
            Ok(table) => {
                tables.insert(name, table);
            }
            Err(e) => {
                let path = path_string(&format!("{section}.{name}"), e.path());
                let message = explain(&path, e.inner().message());
                problems.push(Problem {
                    location: locator.at(e.inner().span()),
                    ..Problem::new(&path, message)
                });
                failed.insert(name);
            }
        }
    }
}

/// `prefix` followed by the segments of a serde path, dotted.
pub(super) fn path_string(prefix: &str, path: &serde_path_to_error::Path) -> String {
    let mut out = prefix.to_owned();
    for segment in path {
        let segment = match segment {
            serde_path_to_error::Segment::Map { key } => key.clone(),
            serde_path_to_error::Segment::Enum { variant } => variant.clone(),
            serde_path_to_error::Segment::Seq { index } => index.to_string(),
            serde_path_to_error::Segment::Unknown => "?".to_owned(),
        };
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(&segment);
    }
    out
}

/// A duration written as a human string: `"250ms"`, `"30s"`, `"1m 30s"`.
#[derive(Clone, Copy)]
pub(super) struct Dur(pub(super) Duration);

/// A duration, or `"none"` for no limit.
#[derive(Clone, Copy)]
pub(super) struct Limit(pub(super) Option<Duration>);

pub(super) struct DurationVisitor {
    pub(super) none_allowed: bool,
}

impl Visitor<'_> for DurationVisitor {
    type Value = Option<Duration>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.none_allowed {
            f.write_str("a duration like \"30s\", or \"none\"")
        } else {
            f.write_str("a duration like \"250ms\" or \"30s\"")
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        let text = v.trim();
        if self.none_allowed && text.eq_ignore_ascii_case("none") {
            return Ok(None);
        }
        humantime::parse_duration(text).map(Some).map_err(|e| {
            let none = if self.none_allowed {
                ", or \"none\" for no limit"
            } else {
                ""
            };
            E::custom(format!(
                "invalid duration \"{v}\": {e}; write it like \"250ms\" or \"30s\"{none}"
            ))
        })
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let d = deserializer.deserialize_str(DurationVisitor {
            none_allowed: false,
        })?;
        Ok(Dur(d.unwrap_or_default()))
    }
}

impl<'de> Deserialize<'de> for Limit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_str(DurationVisitor { none_allowed: true })
            .map(Limit)
    }
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table of policy settings, like [policies.NAME] followed by its keys"
)]
pub(super) struct RawPolicy {
    pub(super) base: Option<String>,
    pub(super) max_attempts: Option<u32>,
    pub(super) backoff: Option<Backoff>,
    pub(super) initial_delay: Option<Dur>,
    pub(super) multiplier: Option<f64>,
    pub(super) max_delay: Option<Dur>,
    pub(super) jitter: Option<Jitter>,
    pub(super) max_elapsed: Option<Limit>,
    pub(super) attempt_timeout: Option<Limit>,
    pub(super) max_retry_after: Option<Limit>,
    pub(super) nested: Option<Nested>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(super) enum WindowKind {
    Count,
    Time,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table of breaker settings, like [breakers.NAME] followed by its keys"
)]
pub(super) struct RawBreaker {
    pub(super) base: Option<String>,
    pub(super) window: Option<WindowKind>,
    pub(super) window_size: Option<u32>,
    pub(super) window_duration: Option<Dur>,
    pub(super) failure_rate_threshold: Option<f64>,
    pub(super) slow_call_duration: Option<Limit>,
    pub(super) slow_call_rate_threshold: Option<f64>,
    pub(super) minimum_calls: Option<u32>,
    pub(super) open_duration: Option<Dur>,
    pub(super) half_open_calls: Option<u32>,
    pub(super) max_half_open_wait: Option<Limit>,
    pub(super) retry_after_is_failure: Option<bool>,
    pub(super) max_keys: Option<u32>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table of budget settings, like [budgets.NAME] followed by its keys"
)]
pub(super) struct RawBudget {
    pub(super) base: Option<String>,
    pub(super) ttl: Option<Dur>,
    pub(super) min_retries_per_sec: Option<u32>,
    pub(super) retry_ratio: Option<f64>,
}
