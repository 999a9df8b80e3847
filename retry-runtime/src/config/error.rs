//! What went wrong and where: [`ConfigError`], [`Problem`], [`Location`].

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// Why a configuration was refused: the file could not be read, or it has
/// one or more [`Problem`]s.
///
/// Its `Display` is meant for an operator: one problem per line, each as
/// `path: what is wrong; how to fix it (line L, column C)`.
///
/// ```
/// use retry_runtime::Config;
///
/// let err = Config::from_toml_str(r#"
/// [policies.default]
/// max_attempts = 0
/// multiplier = 0.5
/// "#).unwrap_err();
/// assert_eq!(err.path(), Some("policies.default.max_attempts"));
/// let paths: Vec<&str> = err.problems().iter().map(|p| p.path()).collect();
/// assert_eq!(paths, ["policies.default.max_attempts", "policies.default.multiplier"]);
/// assert_eq!(err.to_string(), "\
/// invalid retry config: 2 problems:
///   policies.default.max_attempts: must be at least 1 (it counts the first attempt); \
/// write max_attempts = 1 to never retry (line 3, column 16)
///   policies.default.multiplier: must be a finite number of at least 1.0, got 0.5; \
/// write multiplier = 2.0 to double the delay at each retry, or 1.0 to keep it flat (line 4, column 14)");
/// ```
#[derive(Debug, thiserror::Error)]
#[error("{}", render(.file.as_deref(), .problems, .read.as_ref()))]
pub struct ConfigError {
    pub(super) file: Option<PathBuf>,
    pub(super) problems: Vec<Problem>,
    #[source]
    pub(super) read: Option<std::io::Error>,
}

impl ConfigError {
    pub(super) fn invalid(problems: Vec<Problem>) -> ConfigError {
        ConfigError {
            file: None,
            problems,
            read: None,
        }
    }

    /// The key path of the first problem (`"policies.network.max_delay"`);
    /// empty for a TOML syntax error, `None` when the file could not be read.
    ///
    /// ```
    /// let err = retry_runtime::Config::from_toml_str("[breakers.s3]\nminimum_calls = -1").unwrap_err();
    /// assert_eq!(err.path(), Some("breakers.s3.minimum_calls"));
    /// ```
    #[must_use]
    pub fn path(&self) -> Option<&str> {
        self.problems.first().map(Problem::path)
    }

    /// Every problem found, in the order of the file (empty when the file
    /// could not be read).
    ///
    /// ```
    /// let err = retry_runtime::Config::from_toml_str(r#"
    ///     [budgets.a]
    ///     ttl = "2m"
    ///     [budgets.b]
    ///     retry_ratio = -1.0
    /// "#).unwrap_err();
    /// assert_eq!(err.problems().len(), 2);
    /// assert_eq!(err.problems()[1].path(), "budgets.b.retry_ratio");
    /// ```
    #[must_use]
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// The file the configuration was read from, when it came from [`Config::from_path`].
    ///
    /// ```
    /// let err = retry_runtime::Config::from_toml_str("x = 1").unwrap_err();
    /// assert_eq!(err.file(), None);
    /// ```
    #[must_use]
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// The I/O error, when the file could not be read (also the error's `source()`).
    ///
    /// ```
    /// let err = retry_runtime::Config::from_path("no/such/file.toml").unwrap_err();
    /// assert_eq!(err.io_error().map(|e| e.kind()), Some(std::io::ErrorKind::NotFound));
    /// ```
    #[must_use]
    pub fn io_error(&self) -> Option<&std::io::Error> {
        self.read.as_ref()
    }
}

pub(super) fn render(
    file: Option<&Path>,
    problems: &[Problem],
    read: Option<&std::io::Error>,
) -> String {
    let file = file
        .map(|f| format!(" `{}`", f.display()))
        .unwrap_or_default();
    if let Some(read) = read {
        return format!("cannot read retry config{file}: {read}");
    }
    match problems {
        [] => format!("invalid retry config{file}"),
        [one] => format!("invalid retry config{file}: {one}"),
        many => {
            let mut out = format!("invalid retry config{file}: {} problems:", many.len());
            for problem in many {
                out.push_str("\n  ");
                out.push_str(&problem.to_string());
            }
            out
        }
    }
}

/// One thing wrong with a configuration.
///
/// ```
/// let err = retry_runtime::Config::from_toml_str("[policies.default]\njitter = \"ful\"").unwrap_err();
/// let problem = &err.problems()[0];
/// assert_eq!(problem.path(), "policies.default.jitter");
/// assert!(problem.message().contains("did you mean \"full\"?"));
/// assert_eq!(problem.location().map(|l| (l.line, l.column)), Some((2, 10)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub(super) path: String,
    pub(super) message: String,
    pub(super) location: Option<Location>,
}

impl Problem {
    pub(super) fn new(path: &str, message: impl Into<String>) -> Problem {
        Problem {
            path: path.to_owned(),
            message: message.into(),
            location: None,
        }
    }

    pub(super) fn syntax(error: &toml::de::Error, src: &str) -> Problem {
        Problem {
            path: String::new(),
            message: format!("invalid TOML: {}", error.message().trim_end()),
            location: error.span().map(|s| location_of(src, s.start)),
        }
    }

    /// The dotted key path of the offending value (`"breakers.s3.window_size"`),
    /// or of its table; empty for a TOML syntax error.
    ///
    /// ```
    /// let err = retry_runtime::Config::from_toml_str("[budgets.x]\nttl = 5").unwrap_err();
    /// assert_eq!(err.problems()[0].path(), "budgets.x.ttl");
    /// ```
    #[must_use]
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What is wrong and how to fix it, without the path.
    ///
    /// ```
    /// let err = retry_runtime::Config::from_toml_str("[budgets.x]\nttl = \"0s\"").unwrap_err();
    /// assert!(err.problems()[0].message().starts_with("must be between 1s and 1m"));
    /// ```
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Where in the TOML text the problem is, when known (not for
    /// configurations read through serde).
    ///
    /// ```
    /// let err = retry_runtime::Config::from_toml_str("\n[policies.x]\nbase = \"y\"").unwrap_err();
    /// let at = err.problems()[0].location().unwrap();
    /// assert_eq!((at.line, at.column), (3, 8)); // the value "y"
    /// ```
    #[must_use]
    pub fn location(&self) -> Option<Location> {
        self.location
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)?;
        if let Some(location) = self.location {
            write!(f, " ({location})")?;
        }
        Ok(())
    }
}

/// A position in TOML text, both numbers counted from 1 (columns in characters).
///
/// ```
/// let err = retry_runtime::Config::from_toml_str("[policies.x]\nmax_attempts = 0").unwrap_err();
/// let at = err.problems()[0].location().unwrap();
/// assert_eq!(at.to_string(), "line 2, column 16");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// The line, from 1.
    pub line: usize,
    /// The column, from 1, in characters.
    pub column: usize,
}

impl Location {
    /// Sorts after every real location.
    pub(super) const END: Location = Location {
        line: usize::MAX,
        column: usize::MAX,
    };
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// The line and column of byte `offset` in `src`.
pub(super) fn location_of(src: &str, offset: usize) -> Location {
    let before = src.get(..offset).unwrap_or(src);
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Location {
        line: before.matches('\n').count() + 1,
        column: before[line_start..].chars().count() + 1,
    }
}

/// Where each key of a TOML document is, by dotted path: a value's span, or a table's name.
pub(super) struct Locator<'s> {
    pub(super) src: &'s str,
    pub(super) spans: HashMap<String, Range<usize>>,
}

impl<'s> Locator<'s> {
    pub(super) fn new(src: &'s str, root: &DeTable<'_>) -> Locator<'s> {
        fn walk(prefix: &str, table: &DeTable<'_>, spans: &mut HashMap<String, Range<usize>>) {
            for (key, value) in table {
                let path = if prefix.is_empty() {
                    key.get_ref().to_string()
                } else {
                    format!("{prefix}.{}", key.get_ref())
                };
                // A table is found by its name, a value by the value itself.
                if let DeValue::Table(inner) = value.get_ref() {
                    walk(&path, inner, spans);
                    spans.insert(path, key.span());
                } else {
                    spans.insert(path, value.span());
                }
            }
        }
        let mut spans = HashMap::new();
        walk("", root, &mut spans);
        Locator { src, spans }
    }

    pub(super) fn at(&self, span: Option<Range<usize>>) -> Option<Location> {
        span.map(|s| location_of(self.src, s.start))
    }

    /// The location of `path`'s key, or of its closest enclosing table.
    pub(super) fn find(&self, path: &str) -> Option<Location> {
        let mut path = path;
        loop {
            if let Some(span) = self.spans.get(path) {
                return Some(location_of(self.src, span.start));
            }
            path = path.rsplit_once('.')?.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_count_lines_and_characters_from_one() {
        let src = "a = 1\nbé = 2\n";
        assert_eq!(location_of(src, 0), Location { line: 1, column: 1 });
        let offset = src.rfind('=').unwrap_or_default();
        assert_eq!(offset, 10);
        assert_eq!(location_of(src, offset), Location { line: 2, column: 4 });
    }
}
