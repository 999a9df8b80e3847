//! What went wrong and where: [`ConfigError`], [`Problem`], [`Location`].

use std::fmt;
use std::path::{Path, PathBuf};

/// How many problems an error's `Display` renders in full; the rest are
/// counted. [`ConfigError::problems`] keeps them all.
pub(super) const RENDERED_PROBLEMS: usize = 50;

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

    /// The file the configuration was read from, when it came from [`Config::from_path`](crate::Config::from_path).
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
            for problem in many.iter().take(RENDERED_PROBLEMS) {
                out.push_str("\n  ");
                out.push_str(&problem.to_string());
            }
            if many.len() > RENDERED_PROBLEMS {
                let more = many.len() - RENDERED_PROBLEMS;
                out.push_str(&format!(
                    "\n  ... and {more} more (ConfigError::problems() lists every one); fix these first and run again"
                ));
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
    /// Byte offset in the text, until [`locate`] turns it into `location`.
    pub(super) offset: Option<usize>,
}

impl Problem {
    pub(super) fn new(path: &str, message: impl Into<String>) -> Problem {
        Problem {
            path: path.to_owned(),
            message: message.into(),
            location: None,
            offset: None,
        }
    }

    /// The same problem, pointing at byte `offset` of the text.
    pub(super) fn at(mut self, offset: Option<usize>) -> Problem {
        self.offset = offset;
        self
    }

    pub(super) fn syntax(error: &toml::de::Error) -> Problem {
        Problem::new("", format!("invalid TOML: {}", error.message().trim_end()))
            .at(error.span().map(|s| s.start))
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

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Puts `problems` in the order of the text (those without a place last, in
/// the order found) and gives each its line and column, in one pass over `src`:
/// linear in the size of the text plus the number of problems.
pub(super) fn locate(src: &str, problems: &mut [Problem]) {
    problems.sort_by_key(|p| p.offset.unwrap_or(usize::MAX));
    let mut line = 1;
    let mut column = 1;
    let mut pos = 0;
    for problem in problems.iter_mut() {
        let Some(offset) = problem.offset else { break };
        let offset = offset.min(src.len());
        if offset > pos {
            for c in src.get(pos..offset).unwrap_or_default().chars() {
                if c == '\n' {
                    line += 1;
                    column = 1;
                } else {
                    column += 1;
                }
            }
            pos = offset;
        }
        problem.location = Some(Location { line, column });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_count_lines_and_characters_from_one() {
        let src = "a = 1\nbé = 2\n";
        let offset = src.rfind('=').unwrap_or_default();
        assert_eq!(offset, 10);
        let mut problems = [
            Problem::new("b", "").at(Some(offset)),
            Problem::new("none", ""),
            Problem::new("a", "").at(Some(0)),
        ];
        locate(src, &mut problems);
        let at: Vec<_> = problems.iter().map(|p| (p.path(), p.location())).collect();
        assert_eq!(
            at,
            [
                ("a", Some(Location { line: 1, column: 1 })),
                ("b", Some(Location { line: 2, column: 4 })),
                ("none", None),
            ]
        );
    }
}
