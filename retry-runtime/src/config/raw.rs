//! The file as written: the raw tables, read key by key so that one bad key
//! hides nothing else, from TOML text (with spans) or from a serde value.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::error::Problem;
use super::suggest::{SECTIONS, explain, unknown_key};
use crate::{Backoff, Jitter, Nested};

/// One value of the document: read from TOML text, with its span, or from
/// an already parsed [`toml::Value`] (serde and [`toml::Table`] routes).
pub(super) enum Leaf<'s> {
    Text(Spanned<DeValue<'s>>),
    Value(toml::Value),
}

/// A key of a table with its value.
pub(super) struct Entry<'s> {
    pub(super) key: String,
    /// Where the key is written, when read from text.
    pub(super) key_at: Option<usize>,
    pub(super) value: Leaf<'s>,
}

impl<'s> Leaf<'s> {
    /// Where the value starts in the text.
    pub(super) fn at(&self) -> Option<usize> {
        match self {
            Leaf::Text(v) => Some(v.span().start),
            Leaf::Value(_) => None,
        }
    }

    /// The entries of a table, or the value back when it is not one.
    pub(super) fn into_table(self) -> Result<Vec<Entry<'s>>, Leaf<'s>> {
        match self {
            Leaf::Text(v) => {
                let span = v.span();
                match v.into_inner() {
                    DeValue::Table(t) => Ok(entries_of(t)),
                    other => Err(Leaf::Text(Spanned::new(span, other))),
                }
            }
            Leaf::Value(toml::Value::Table(t)) => Ok(t
                .into_iter()
                .map(|(key, value)| Entry {
                    key,
                    key_at: None,
                    value: Leaf::Value(value),
                })
                .collect()),
            other => Err(other),
        }
    }

    /// The value read as a `T`, or the serde message and where it points.
    pub(super) fn read<T: DeserializeOwned>(self) -> Result<T, (String, Option<usize>)> {
        let at = self.at();
        let result = match self {
            Leaf::Text(v) => T::deserialize(ValueDeserializer::from(v)),
            Leaf::Value(v) => T::deserialize(v),
        };
        result.map_err(|e| {
            let message = e.message().lines().next().unwrap_or_default().to_owned();
            (message, e.span().map(|s| s.start).or(at))
        })
    }

    /// A short description of what the value is, for "expected a table" messages.
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Leaf::Text(v) => match v.get_ref() {
                DeValue::String(_) => "a string",
                DeValue::Integer(_) => "an integer",
                DeValue::Float(_) => "a number",
                DeValue::Boolean(_) => "a boolean",
                DeValue::Datetime(_) => "a date",
                DeValue::Array(_) => "an array",
                DeValue::Table(_) => "a table",
            },
            Leaf::Value(v) => match v {
                toml::Value::String(_) => "a string",
                toml::Value::Integer(_) => "an integer",
                toml::Value::Float(_) => "a number",
                toml::Value::Boolean(_) => "a boolean",
                toml::Value::Datetime(_) => "a date",
                toml::Value::Array(_) => "an array",
                toml::Value::Table(_) => "a table",
            },
        }
    }
}

/// The entries of a table parsed from text, in the order of the text.
pub(super) fn entries_of(table: DeTable<'_>) -> Vec<Entry<'_>> {
    let mut entries: Vec<Entry<'_>> = table
        .into_iter()
        .map(|(key, value)| Entry {
            key_at: Some(key.span().start),
            key: key.into_inner().into_owned(),
            value: Leaf::Text(value),
        })
        .collect();
    entries.sort_by_key(|e| e.key_at);
    entries
}

/// Why a key could not be set.
pub(super) enum SetError {
    Unknown,
    Bad(String, Option<usize>),
}

/// A raw table type: its keys, and how to set one from a value.
pub(super) trait RawTable: Default {
    /// Every key, in the order of the docs.
    const KEYS: &'static [&'static str];
    /// What a table of this kind looks like, for messages.
    const EXPECTING: &'static str;
    /// Reads `key`'s value into the table.
    fn set(&mut self, key: &str, value: Leaf<'_>) -> Result<(), SetError>;
    /// Where the table and its keys are written.
    fn spans(&self) -> &Spans;
    fn spans_mut(&mut self) -> &mut Spans;
}

/// Where a table's name and its keys are written, and which keys were refused.
#[derive(Default)]
pub(super) struct Spans {
    /// The table's name (`api` in `[policies.api]`), when read from text.
    pub(super) table: Option<usize>,
    /// Each key's value.
    pub(super) keys: Vec<(&'static str, usize)>,
    /// Keys whose values were refused (reported already).
    pub(super) failed: Vec<&'static str>,
}

impl Spans {
    /// Where `key`'s value is written, else where the table is.
    pub(super) fn of(&self, key: &str) -> Option<usize> {
        self.keys
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, at)| *at)
            .or(self.table)
    }

    pub(super) fn failed(&self, key: &str) -> bool {
        self.failed.contains(&key)
    }
}

/// Declares a raw table: every key optional, read one by one.
macro_rules! raw_table {
    ($(#[doc = $doc:literal])* $name:ident, $expecting:literal { $($field:ident: $ty:ty),* $(,)? }) => {
        $(#[doc = $doc])*
        #[derive(Default)]
        pub(super) struct $name {
            $(pub(super) $field: Option<$ty>,)*
            pub(super) spans: Spans,
        }

        impl RawTable for $name {
            const KEYS: &'static [&'static str] = &[$(stringify!($field)),*];
            const EXPECTING: &'static str = $expecting;

            fn set(&mut self, key: &str, value: Leaf<'_>) -> Result<(), SetError> {
                match key {
                    $(stringify!($field) => {
                        if let Some(at) = value.at() {
                            self.spans.keys.push((stringify!($field), at));
                        }
                        match value.read::<$ty>() {
                            Ok(v) => {
                                self.$field = Some(v);
                                Ok(())
                            }
                            Err((message, at)) => {
                                self.spans.failed.push(stringify!($field));
                                Err(SetError::Bad(message, at))
                            }
                        }
                    })*
                    _ => Err(SetError::Unknown),
                }
            }

            fn spans(&self) -> &Spans {
                &self.spans
            }

            fn spans_mut(&mut self) -> &mut Spans {
                &mut self.spans
            }
        }
    };
}

raw_table! {
    /// `[policies.NAME]` as written.
    RawPolicy, "a table of policy settings, like [policies.NAME] followed by its keys" {
        base: String,
        max_attempts: u32,
        backoff: Backoff,
        initial_delay: Dur,
        multiplier: f64,
        max_delay: Dur,
        jitter: Jitter,
        max_elapsed: Limit,
        attempt_timeout: Limit,
        max_retry_after: Limit,
        nested: Nested,
    }
}

raw_table! {
    /// `[breakers.NAME]` as written.
    RawBreaker, "a table of breaker settings, like [breakers.NAME] followed by its keys" {
        base: String,
        window: WindowKind,
        window_size: u32,
        window_duration: Dur,
        failure_rate_threshold: f64,
        slow_call_duration: Limit,
        slow_call_rate_threshold: f64,
        minimum_calls: u32,
        open_duration: Dur,
        half_open_calls: u32,
        max_half_open_wait: Limit,
        retry_after_is_failure: bool,
        max_keys: u32,
        fleet: bool,
        fleet_quorum: u32,
    }
}

raw_table! {
    /// `[budgets.NAME]` as written.
    RawBudget, "a table of budget settings, like [budgets.NAME] followed by its keys" {
        base: String,
        ttl: Dur,
        min_retries_per_sec: u32,
        retry_ratio: f64,
    }
}

raw_table! {
    /// `[hedges.NAME]` as written.
    RawHedge, "a table of hedge settings, like [hedges.NAME] followed by its keys" {
        base: String,
        delay: RawHedgeDelay,
        max_hedges: u32,
        min_samples: u32,
    }
}

/// Every table of a document, as written.
#[derive(Default)]
pub(super) struct RawConfig {
    pub(super) policies: BTreeMap<String, RawPolicy>,
    pub(super) breakers: BTreeMap<String, RawBreaker>,
    pub(super) budgets: BTreeMap<String, RawBudget>,
    pub(super) hedges: BTreeMap<String, RawHedge>,
}

/// Names of tables that are not tables at all: already reported, so neither
/// their heirs nor references to them are.
#[derive(Default)]
pub(super) struct Failed {
    pub(super) policies: BTreeSet<String>,
    pub(super) breakers: BTreeSet<String>,
    pub(super) budgets: BTreeSet<String>,
    pub(super) hedges: BTreeSet<String>,
}

/// `prefix.key`, or `key` alone.
pub(super) fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

impl RawConfig {
    /// Reads every key of the document's entries; each problem found is
    /// appended with its path under `prefix` (`retry` for an embedded section).
    pub(super) fn read(
        entries: Vec<Entry<'_>>,
        prefix: &str,
        problems: &mut Vec<Problem>,
    ) -> (RawConfig, Failed) {
        let mut raw = RawConfig::default();
        let mut failed = Failed::default();
        for entry in entries {
            let path = join(prefix, &entry.key);
            match entry.key.as_str() {
                "policies" => read_section(
                    &path,
                    entry.value,
                    &mut raw.policies,
                    &mut failed.policies,
                    problems,
                ),
                "breakers" => read_section(
                    &path,
                    entry.value,
                    &mut raw.breakers,
                    &mut failed.breakers,
                    problems,
                ),
                "budgets" => read_section(
                    &path,
                    entry.value,
                    &mut raw.budgets,
                    &mut failed.budgets,
                    problems,
                ),
                "hedges" => read_section(
                    &path,
                    entry.value,
                    &mut raw.hedges,
                    &mut failed.hedges,
                    problems,
                ),
                other => problems.push(
                    Problem::new(&path, unknown_key(other, &SECTIONS))
                        .at(entry.key_at.or(entry.value.at())),
                ),
            }
        }
        (raw, failed)
    }
}

fn read_section<T: RawTable>(
    path: &str,
    value: Leaf<'_>,
    tables: &mut BTreeMap<String, T>,
    failed: &mut BTreeSet<String>,
    problems: &mut Vec<Problem>,
) {
    let section = path.rsplit('.').next().unwrap_or(path);
    let entries = match value.into_table() {
        Ok(entries) => entries,
        Err(other) => {
            problems.push(
                Problem::new(
                    path,
                    format!(
                        "invalid type: {}, expected a table; write it as tables like [{section}.default] followed by their keys",
                        other.kind()
                    ),
                )
                .at(other.at()),
            );
            return;
        }
    };
    for Entry { key, key_at, value } in entries {
        let table_path = format!("{path}.{key}");
        let value_at = value.at();
        let keys = match value.into_table() {
            Ok(keys) => keys,
            Err(other) => {
                problems.push(
                    Problem::new(
                        &table_path,
                        format!("invalid type: {}, expected {}", other.kind(), T::EXPECTING),
                    )
                    .at(value_at.or(key_at)),
                );
                failed.insert(key);
                continue;
            }
        };
        let mut table = T::default();
        table.spans_mut().table = key_at;
        for Entry {
            key: name,
            key_at,
            value,
        } in keys
        {
            let key_path = format!("{table_path}.{name}");
            match table.set(&name, value) {
                Ok(()) => {}
                Err(SetError::Unknown) => {
                    problems.push(Problem::new(&key_path, unknown_key(&name, T::KEYS)).at(key_at));
                }
                Err(SetError::Bad(message, at)) => {
                    problems.push(Problem::new(&key_path, explain(&key_path, &message)).at(at));
                }
            }
        }
        tables.insert(key, table);
    }
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

/// A hedge's `delay`: a duration, or a percentile written `"p90"` to `"p99.9"`.
#[derive(Clone, Copy)]
pub(super) struct RawHedgeDelay(pub(super) crate::HedgeDelay);

impl<'de> Deserialize<'de> for RawHedgeDelay {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DelayVisitor;
        impl Visitor<'_> for DelayVisitor {
            type Value = crate::HedgeDelay;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration like \"40ms\", or a percentile like \"p95\"")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                let text = v.trim();
                if let Some(number) = text.strip_prefix(['p', 'P']) {
                    return number
                        .parse::<f64>()
                        .ok()
                        .filter(|p| p.is_finite())
                        .map(crate::HedgeDelay::Percentile)
                        .ok_or_else(|| {
                            E::custom(format!(
                                "invalid percentile \"{v}\"; write it like \"p95\" or \"p99.9\" (from p90 to p99.9)"
                            ))
                        });
                }
                humantime::parse_duration(text)
                    .map(crate::HedgeDelay::Fixed)
                    .map_err(|e| {
                        E::custom(format!(
                            "invalid delay \"{v}\": {e}; write a duration like \"40ms\", or a percentile of the call site's latency like \"p95\""
                        ))
                    })
            }
        }
        deserializer
            .deserialize_str(DelayVisitor)
            .map(RawHedgeDelay)
    }
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(super) enum WindowKind {
    Count,
    Time,
}
