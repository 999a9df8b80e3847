//! Defaults that libraries ship for the names their `#[retryable]` functions
//! use ([`defaults!`](crate::defaults!)), registered at link time like call
//! sites, checked once, and layered under the application's configuration.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use crate::config::Problem;
use crate::{Config, ConfigError};

#[linkme::distributed_slice]
#[doc(hidden)]
pub static DEFAULTS: [&'static Defaults];

/// Registers default policy, breaker, budget and hedge tables for the names a
/// library's `#[retryable]` functions use, so that an application's
/// [`install`](crate::install) does not fail on names it never heard of.
///
/// Write it once at item level in the library, with the TOML of a config
/// file. Its tables inherit from the built-in presets (and from each other
/// by `base`), never from the application's file. An application's table of
/// the same name replaces a library's whole; `base = "<its own name>"`
/// tweaks it instead, as with the presets. The block is checked at the first
/// [`install`](crate::install) (which refuses to proceed while a block is
/// invalid) and by [`check_defaults`], which a library's own tests can call.
///
/// A library may not define the built-in names (`default`, `network`,
/// `none`): they belong to the application. Two libraries that define the
/// same name with different settings make `install` fail, naming both,
/// unless the application's config defines that name itself.
///
/// ```standalone_crate
/// retry_runtime::defaults!(r#"
///     [policies.vendor]
///     max_attempts = 4
///     initial_delay = "20ms"
///
///     [breakers.vendor-api]
///     minimum_calls = 5
/// "#);
///
/// #[retry_runtime::retryable(policy = "vendor", breaker = "vendor-api")]
/// async fn call_vendor() -> std::io::Result<()> {
///     Ok(())
/// }
///
/// retry_runtime::check_defaults().expect("the library's defaults are valid");
/// let config = retry_runtime::Config::builtin();
/// assert!(config.policy("vendor").is_none()); // not in the application's config...
/// retry_runtime::install(config)?; // ...but install fills it in from the defaults
/// assert!(retry_runtime::current_config().policy("vendor").is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[macro_export]
macro_rules! defaults {
    ($toml:expr $(,)?) => {
        const _: () = {
            static DEFAULTS: $crate::__private::Defaults = $crate::__private::Defaults::new(
                $toml,
                ::core::env!("CARGO_PKG_NAME"),
                ::core::module_path!(),
                ::core::file!(),
                ::core::line!(),
            );
            #[$crate::__private::linkme::distributed_slice($crate::__private::DEFAULTS)]
            #[linkme(crate = $crate::__private::linkme)]
            static REGISTER: &'static $crate::__private::Defaults = &DEFAULTS;
        };
    };
}

/// One [`defaults!`](crate::defaults!) block: its TOML and where it is written.
///
/// ```
/// for block in retry_runtime::registered_defaults() {
///     println!("{} ({}:{})", block.crate_name(), block.file(), block.line());
/// }
/// ```
pub struct Defaults {
    toml: &'static str,
    krate: &'static str,
    module: &'static str,
    file: &'static str,
    line: u32,
}

impl Defaults {
    #[doc(hidden)]
    #[must_use]
    pub const fn new(
        toml: &'static str,
        krate: &'static str,
        module: &'static str,
        file: &'static str,
        line: u32,
    ) -> Defaults {
        Defaults {
            toml,
            krate,
            module,
            file,
            line,
        }
    }

    /// The TOML text of the block.
    #[must_use]
    pub fn toml(&self) -> &'static str {
        self.toml
    }

    /// The package that wrote it (`CARGO_PKG_NAME`).
    #[must_use]
    pub fn crate_name(&self) -> &'static str {
        self.krate
    }

    /// The module it is written in.
    #[must_use]
    pub fn module(&self) -> &'static str {
        self.module
    }

    /// The source file it is written in.
    #[must_use]
    pub fn file(&self) -> &'static str {
        self.file
    }

    /// The line of the `defaults!` call.
    #[must_use]
    pub fn line(&self) -> u32 {
        self.line
    }
}

impl fmt::Debug for Defaults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Defaults")
            .field("crate", &self.krate)
            .field("module", &self.module)
            .field("file", &self.file)
            .field("line", &self.line)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Defaults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "defaults! of crate `{}` ({}:{})",
            self.krate, self.file, self.line
        )
    }
}

/// Every [`defaults!`](crate::defaults!) block linked into the program.
///
/// ```standalone_crate
/// retry_runtime::defaults!("[budgets.listed]\nretry_ratio = 0.1");
///
/// let block = retry_runtime::registered_defaults()
///     .iter()
///     .find(|d| d.toml().contains("listed"))
///     .unwrap();
/// assert_eq!(block.crate_name(), "retry-runtime");
/// ```
#[must_use]
pub fn registered_defaults() -> &'static [&'static Defaults] {
    &DEFAULTS
}

/// Checks every [`defaults!`](crate::defaults!) block of the program: each
/// must be a valid config that defines no built-in name, and no two may
/// define one name differently. A library's test suite can call it to catch
/// a bad block before its users do.
///
/// ```standalone_crate
/// retry_runtime::defaults!("[policies.checked]\nmax_attempts = 2");
/// retry_runtime::check_defaults()?;
/// # Ok::<(), retry_runtime::DefaultsError>(())
/// ```
///
/// # Errors
///
/// A [`DefaultsError`] listing every problem (conflicts included, even those
/// an application's config would settle).
pub fn check_defaults() -> Result<(), DefaultsError> {
    let library = library();
    let problems: Vec<DefaultsProblem> = library
        .invalid
        .iter()
        .cloned()
        .chain(library.conflicts.iter().map(|c| c.problem()))
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(DefaultsError { problems })
    }
}

/// Why the libraries' [`defaults!`](crate::defaults!) blocks cannot be used:
/// every problem, each naming its block's crate, file and line.
///
/// ```
/// match retry_runtime::check_defaults() {
///     Ok(()) => {}
///     Err(e) => {
///         for problem in e.problems() {
///             eprintln!("{problem}");
///         }
///     }
/// }
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", render(.problems))]
pub struct DefaultsError {
    problems: Vec<DefaultsProblem>,
}

impl DefaultsError {
    /// Every problem, by block.
    #[must_use]
    pub fn problems(&self) -> &[DefaultsProblem] {
        &self.problems
    }
}

fn render(problems: &[DefaultsProblem]) -> String {
    let mut out = String::from("the retry defaults that libraries ship cannot be used:");
    for problem in problems {
        out.push_str("\n  - ");
        out.push_str(&problem.to_string());
    }
    out
}

/// One problem with the libraries' defaults; its `Display` names the
/// block(s) and the fix.
///
/// ```
/// use retry_runtime::DefaultsProblem;
///
/// if let Err(e) = retry_runtime::check_defaults() {
///     for problem in e.problems() {
///         if let DefaultsProblem::Conflict { path, blocks } = problem {
///             eprintln!("{path} is defined by {} libraries", blocks.len());
///         }
///     }
/// }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum DefaultsProblem {
    /// A block is not a valid config.
    Invalid {
        /// The block.
        block: &'static Defaults,
        /// What is wrong with it; lines and columns count from the start of
        /// the block's string.
        problems: Vec<Problem>,
    },
    /// A block defines a built-in name.
    Builtin {
        /// The block.
        block: &'static Defaults,
        /// `policies.default` and the like.
        path: String,
    },
    /// Several blocks define one name with different settings.
    Conflict {
        /// `breakers.vendor-api` and the like.
        path: String,
        /// The blocks, in link order.
        blocks: Vec<&'static Defaults>,
    },
}

impl fmt::Display for DefaultsProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DefaultsProblem::Invalid { block, problems } => {
                write!(
                    f,
                    "{block} is invalid (lines count from the string's start); fix the block, or report it to the crate's authors:"
                )?;
                for problem in problems {
                    write!(f, "\n      {problem}")?;
                }
                Ok(())
            }
            DefaultsProblem::Builtin { block, path } => write!(
                f,
                "{block} defines `{path}`, a built-in name that belongs to the application; name the table after the library, like `{}.{}-default`",
                path.split('.').next().unwrap_or_default(),
                block.krate
            ),
            DefaultsProblem::Conflict { path, blocks } => {
                write!(f, "`{path}` is defined differently by ")?;
                for (i, block) in blocks.iter().enumerate() {
                    let sep = if i == 0 { "" } else { " and " };
                    write!(f, "{sep}{block}")?;
                }
                write!(f, "; define [{path}] in the application's config to choose")
            }
        }
    }
}

/// The libraries' defaults, checked once.
struct Library {
    /// Built-in presets plus every name defined without conflict.
    presets: Config,
    invalid: Vec<DefaultsProblem>,
    conflicts: Vec<Conflict>,
}

struct Conflict {
    section: &'static str,
    name: String,
    blocks: Vec<&'static Defaults>,
}

impl Conflict {
    fn problem(&self) -> DefaultsProblem {
        DefaultsProblem::Conflict {
            path: format!("{}.{}", self.section, self.name),
            blocks: self.blocks.clone(),
        }
    }
}

/// Settings of one name, whatever its kind, to compare blocks.
#[derive(PartialEq)]
enum Settings {
    Policy(crate::Policy),
    Breaker(crate::BreakerSettings),
    Budget(crate::BudgetSettings),
    Hedge(crate::HedgeSettings),
}

fn settings_of(config: &Config, section: &str, name: &str) -> Option<Settings> {
    match section {
        "policies" => config.policy(name).copied().map(Settings::Policy),
        "breakers" => config.breaker(name).copied().map(Settings::Breaker),
        "hedges" => config.hedge(name).copied().map(Settings::Hedge),
        _ => config.budget(name).copied().map(Settings::Budget),
    }
}

fn insert(config: &mut Config, name: &str, settings: Settings) {
    match settings {
        Settings::Policy(p) => drop(config.policies.insert(name.to_owned(), p)),
        Settings::Breaker(b) => drop(config.breakers.insert(name.to_owned(), b)),
        Settings::Budget(b) => drop(config.budgets.insert(name.to_owned(), b)),
        Settings::Hedge(h) => drop(config.hedges.insert(name.to_owned(), h)),
    }
}

/// One block's settings for one name.
struct Definition {
    block: &'static Defaults,
    settings: Settings,
    /// Whether the whole block is valid (only then do its settings become presets).
    valid: bool,
}

fn library() -> &'static Library {
    static LIBRARY: OnceLock<Library> = OnceLock::new();
    LIBRARY.get_or_init(|| {
        let builtin = Config::builtin();
        let mut invalid = Vec::new();
        // (section, name) -> the blocks defining it, with their settings.
        let mut defined: BTreeMap<(&'static str, String), Vec<Definition>> = BTreeMap::new();
        for &block in registered_defaults() {
            // An invalid block's good tables still take part in the
            // conflict check: one pass reports every problem.
            let (config, names, error) = Config::from_library_toml(block.toml);
            if let Some(error) = &error {
                invalid.push(invalid_block(block, error));
            }
            for (section, name) in names {
                if settings_of(&builtin, section, &name).is_some() {
                    invalid.push(DefaultsProblem::Builtin {
                        block,
                        path: format!("{section}.{name}"),
                    });
                    continue;
                }
                if let Some(settings) = settings_of(&config, section, &name) {
                    defined
                        .entry((section, name))
                        .or_default()
                        .push(Definition {
                            block,
                            settings,
                            valid: error.is_none(),
                        });
                }
            }
        }
        let mut presets = builtin;
        let mut conflicts = Vec::new();
        for ((section, name), mut blocks) in defined {
            let agree = blocks.windows(2).all(|w| w[0].settings == w[1].settings);
            if agree {
                // Only a valid block's settings become a preset.
                if let Some(at) = blocks.iter().position(|d| d.valid) {
                    insert(&mut presets, &name, blocks.swap_remove(at).settings);
                }
            } else {
                conflicts.push(Conflict {
                    section,
                    name,
                    blocks: blocks.into_iter().map(|d| d.block).collect(),
                });
            }
        }
        Library {
            presets,
            invalid,
            conflicts,
        }
    })
}

fn invalid_block(block: &'static Defaults, error: &ConfigError) -> DefaultsProblem {
    DefaultsProblem::Invalid {
        block,
        problems: error.problems().to_vec(),
    }
}

/// The built-in presets and every library default without conflict: what a
/// config's `base` may name besides its own tables.
pub(crate) fn presets() -> &'static Config {
    &library().presets
}

/// `config` with every library default it lacks filled in.
///
/// # Errors
///
/// When a block is invalid, or blocks conflict on a name `config` lacks.
pub(crate) fn complete(config: Config) -> Result<Config, DefaultsError> {
    let library = library();
    let mut problems = library.invalid.clone();
    for conflict in &library.conflicts {
        if settings_of(&config, conflict.section, &conflict.name).is_none() {
            problems.push(conflict.problem());
        }
    }
    if !problems.is_empty() {
        return Err(DefaultsError { problems });
    }
    Ok(fill(config))
}

/// `config` with every usable library default it lacks.
fn fill(mut config: Config) -> Config {
    let (library, builtin) = (&library().presets, Config::builtin());
    for (name, p) in library.policies() {
        if builtin.policy(name).is_none() && config.policy(name).is_none() {
            config.policies.insert(name.to_owned(), *p);
        }
    }
    for (name, b) in library.breakers() {
        if builtin.breaker(name).is_none() && config.breaker(name).is_none() {
            config.breakers.insert(name.to_owned(), *b);
        }
    }
    for (name, b) in library.budgets() {
        if builtin.budget(name).is_none() && config.budget(name).is_none() {
            config.budgets.insert(name.to_owned(), *b);
        }
    }
    for (name, h) in library.hedges() {
        if builtin.hedge(name).is_none() && config.hedge(name).is_none() {
            config.hedges.insert(name.to_owned(), *h);
        }
    }
    config
}

/// `config` with the library defaults that can be used filled in, for the
/// configuration in force before any install (problems are logged; install
/// reports them).
pub(crate) fn complete_leniently(config: Config) -> Config {
    if let Err(e) = check_defaults() {
        tracing::warn!("{e}");
    }
    fill(config)
}
