//! Reading a config from TOML text, a TOML table or any serde format: each
//! starts from the presets, which include the libraries' `defaults!`
//! (`defaults.rs` parses those with the crate's own presets alone, through
//! `Config::from_entries`, so this file and that one do not call each other).

use serde::Deserialize;
use serde::de::{self, Deserializer};
use toml::de::DeTable;

use super::defaults::presets;
use super::error::locate;
use super::raw::{Leaf, entries_of, join};
use super::{Config, ConfigError, Problem};

impl Config {
    /// Reads a configuration from TOML text: the presets, overridden and
    /// extended by the tables of `toml`.
    ///
    /// ```
    /// use retry_runtime::Config;
    ///
    /// let config = Config::from_toml_str(r#"
    ///     [policies.default]
    ///     max_attempts = 4
    ///
    ///     [policies.reads]
    ///     initial_delay = "20ms"
    ///     max_delay = "1s"
    /// "#)?;
    /// let reads = config.policy("reads").unwrap();
    /// assert_eq!(reads.max_attempts, 4); // from the file's `default`
    /// assert_eq!(reads.max_delay, std::time::Duration::from_secs(1));
    ///
    /// let err = Config::from_toml_str("[policies.reads]\nmax_dealy = \"1s\"").unwrap_err();
    /// assert_eq!(err.path(), Some("policies.reads.max_dealy"));
    /// assert!(err.to_string().contains("did you mean `max_delay`?"));
    /// # Ok::<(), retry_runtime::ConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] listing every problem: TOML syntax, unknown keys,
    /// values of the wrong type or out of range, unknown or cyclic bases.
    pub fn from_toml_str(toml: &str) -> Result<Config, ConfigError> {
        Config::from_toml_str_at(toml, "")
    }

    /// Reads the configuration embedded in an application's TOML text under
    /// `prefix` (a dotted path of bare keys, like `"retry"` or
    /// `"services.retry"`; `""` for the whole text): the recommended way to
    /// embed, since errors then carry the full key path and their line.
    /// Without a table at `prefix`, the presets serve.
    ///
    /// ```
    /// use retry_runtime::Config;
    ///
    /// let text = r#"
    /// listen = "0.0.0.0:8080"
    ///
    /// [retry.policies.api]
    /// max_attempts = 0
    /// max_dealy = "1s"
    /// "#;
    /// let err = Config::from_toml_str_at(text, "retry").unwrap_err();
    /// let problems: Vec<String> = err.problems().iter().map(|p| p.to_string()).collect();
    /// assert_eq!(problems, [
    ///     "retry.policies.api.max_attempts: must be at least 1 (it counts the first attempt); \
    ///      write max_attempts = 1 to never retry (line 5, column 16)",
    ///     "retry.policies.api.max_dealy: unknown key; did you mean `max_delay`? valid keys here: \
    ///      base, max_attempts, backoff, initial_delay, multiplier, max_delay, jitter, max_elapsed, \
    ///      attempt_timeout, max_retry_after, nested (line 6, column 1)",
    /// ]);
    /// assert_eq!(Config::from_toml_str_at("listen = ''", "retry")?, Config::builtin());
    /// # Ok::<(), retry_runtime::ConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Config::from_toml_str`]; also when `prefix` names a value that
    /// is not a table.
    pub fn from_toml_str_at(toml: &str, prefix: &str) -> Result<Config, ConfigError> {
        let root = DeTable::parse(toml).map_err(|e| {
            let mut problems = vec![Problem::syntax(&e)];
            locate(toml, &mut problems);
            ConfigError::invalid(problems)
        })?;
        let mut entries = entries_of(root.into_inner());
        let mut path = String::new();
        for segment in prefix.split('.').filter(|s| !s.is_empty()) {
            path = join(&path, segment);
            let Some(entry) = entries.into_iter().find(|e| e.key == segment) else {
                return Ok(Config::builtin());
            };
            let at = entry.value.at();
            entries = entry.value.into_table().map_err(|other| {
                let mut problems = vec![
                    Problem::new(
                        &path,
                        format!(
                            "expected a table of retry settings, got {}; write it as tables like [{path}.policies.default]",
                            other.kind()
                        ),
                    )
                    .at(at),
                ];
                locate(toml, &mut problems);
                ConfigError::invalid(problems)
            })?;
        }
        Config::from_entries(entries, prefix, Some(toml), presets()).map(|(config, _)| config)
    }

    /// Reads a configuration from a TOML table the application already
    /// parsed, with key paths under `prefix` (where the table sits in the
    /// application's config). Errors carry no line: prefer
    /// [`Config::from_toml_str_at`] when the text is at hand.
    ///
    /// ```
    /// use retry_runtime::Config;
    ///
    /// #[derive(serde::Deserialize)]
    /// struct App {
    ///     retry: toml::Table, // kept raw, handed over below
    /// }
    ///
    /// let app: App = toml::from_str("[retry.breakers.s3]\nhalf_open_calls = 0\nwindow = \"tme\"").unwrap();
    /// let err = Config::from_toml_table(app.retry, "retry").unwrap_err();
    /// let paths: Vec<&str> = err.problems().iter().map(|p| p.path()).collect();
    /// assert_eq!(paths, ["retry.breakers.s3.window", "retry.breakers.s3.half_open_calls"]);
    /// ```
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] listing every problem, as [`Config::from_toml_str`].
    pub fn from_toml_table(table: toml::Table, prefix: &str) -> Result<Config, ConfigError> {
        let entries = Leaf::Value(toml::Value::Table(table))
            .into_table()
            .unwrap_or_default();
        Config::from_entries(entries, prefix, None, presets()).map(|(config, _)| config)
    }
}

/// Reads a `Config` from any serde format, with the same keys, inheritance
/// and checks as [`Config::from_toml_str`]. Every problem is reported, in
/// one error of the format whose message is the [`ConfigError`]'s; but serde
/// tells a value neither where it sits in the document nor its text, so key
/// paths are relative to the `Config` value and carry no line (the format may
/// point at the whole table). Nor does it keep the document's order: the
/// section is read as a `toml::Value`, whose tables are sorted. Problems
/// come in two passes: first every value that could not be read (a wrong
/// type, an unknown key) by section, name and key in alphabetical order
/// (`breakers` before `policies`, `policies.alpha` before `policies.zeta`);
/// then range and inheritance problems, policies, breakers, budgets, each
/// section's names in alphabetical order.
/// For errors in file order, with the full path and the line of each key,
/// keep the section raw and use [`Config::from_toml_str_at`] (or
/// [`Config::from_toml_table`], which has the paths without lines).
///
/// ```
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct App {
///     listen: String,
///     retry: retry_runtime::Config,
/// }
///
/// let app: App = toml::from_str(r#"
///     listen = "0.0.0.0:8080"
///     [retry.policies.default]
///     max_attempts = 2
/// "#)?;
/// assert_eq!(app.retry.policy("default").unwrap().max_attempts, 2);
///
/// let err = toml::from_str::<App>("listen = ''\n[retry.policies.default]\nmax_attempts = 0\njitter = 1")
///     .err()
///     .unwrap();
/// assert!(err.message().contains("2 problems"));
/// assert!(err.message().contains("policies.default.max_attempts: must be at least 1"));
/// assert!(err.message().contains("policies.default.jitter: invalid type"));
/// # Ok::<(), toml::de::Error>(())
/// ```
impl<'de> Deserialize<'de> for Config {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = toml::Value::deserialize(deserializer)?;
        let entries = Leaf::Value(value).into_table().map_err(|other| {
            de::Error::custom(format!(
                "expected a table of retry settings, got {}; write it as tables like [policies.default]",
                other.kind()
            ))
        })?;
        Config::from_entries(entries, "", None, presets())
            .map(|(config, _)| config)
            .map_err(de::Error::custom)
    }
}
