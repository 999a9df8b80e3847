//! The config file (DESIGN §5): parsing, presets and inheritance, and the
//! errors an operator sees for every kind of mistake.

use std::path::PathBuf;
use std::time::Duration;

use retry_runtime::config::Problem;
use retry_runtime::{
    Backoff, BreakerSettings, BudgetSettings, Config, ConfigError, Jitter, Policy, Window,
};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn parse(toml: &str) -> Config {
    match Config::from_toml_str(toml) {
        Ok(config) => config,
        Err(e) => panic!("expected a valid config, got:\n{e}"),
    }
}

fn error(toml: &str) -> ConfigError {
    match Config::from_toml_str(toml) {
        Ok(config) => panic!("expected an error, got {config:?}"),
        Err(e) => e,
    }
}

/// The only problem of `toml`: asserts there is exactly one and that its
/// rendered line contains every one of `needles`.
fn only_problem(toml: &str, needles: &[&str]) -> Problem {
    let err = error(toml);
    assert_eq!(err.problems().len(), 1, "expected one problem:\n{err}");
    let problem = err.problems()[0].clone();
    let line = problem.to_string();
    for needle in needles {
        assert!(line.contains(needle), "`{needle}` missing from:\n{line}");
    }
    assert!(
        err.to_string().contains(&line),
        "the error's Display shows the problem:\n{err}"
    );
    problem
}

fn paths(err: &ConfigError) -> Vec<&str> {
    err.problems().iter().map(Problem::path).collect()
}

const DESIGN_FILE: &str = r#"
[policies.default]
max_attempts = 3
backoff = "exponential"      # constant | linear | exponential | decorrelated
initial_delay = "100ms"
multiplier = 2.0
max_delay = "10s"
jitter = "full"              # none | full | equal
max_elapsed = "30s"          # optional
attempt_timeout = "2s"       # optional

[policies.network]
base = "default"             # inherit every field not set here
max_attempts = 5

[breakers.s3]
window = "count"             # count | time
window_size = 20             # calls (count) — or window_duration = "60s" (time)
failure_rate_threshold = 0.5 # fraction of failed calls
slow_call_duration = "2s"
slow_call_rate_threshold = 1.0
minimum_calls = 10
open_duration = "30s"
half_open_calls = 3

[budgets.default]
ttl = "10s"
min_retries_per_sec = 10
retry_ratio = 0.2
"#;

// ---------------------------------------------------------------------------
// Valid files
// ---------------------------------------------------------------------------

#[test]
fn the_design_file_parses_to_its_values() {
    let config = parse(DESIGN_FILE);
    let default = Policy {
        max_attempts: 3,
        backoff: Backoff::Exponential,
        initial_delay: ms(100),
        multiplier: 2.0,
        max_delay: secs(10),
        jitter: Jitter::Full,
        max_elapsed: Some(secs(30)),
        attempt_timeout: Some(secs(2)),
        max_retry_after: Some(secs(60)),
        nested: retry_runtime::Nested::Single,
    };
    assert_eq!(config.policy("default"), Some(&default));
    assert_eq!(
        config.policy("network"),
        Some(&Policy {
            max_attempts: 5,
            ..default
        })
    );
    assert_eq!(
        config.policy("none"),
        Some(&Policy::NONE),
        "untouched preset"
    );
    assert_eq!(
        config.breaker("s3"),
        Some(&BreakerSettings {
            window: Window::Count { size: 20 },
            failure_rate_threshold: 0.5,
            slow_call_duration: secs(2),
            slow_call_rate_threshold: 1.0,
            minimum_calls: 10,
            open_duration: secs(30),
            half_open_calls: 3,
            max_half_open_wait: Some(secs(60)),
            retry_after_is_failure: false,
            max_keys: 1000,
            fleet: false,
            fleet_quorum: 2,
        })
    );
    assert_eq!(config.breaker("default"), Some(&BreakerSettings::DEFAULT));
    assert_eq!(config.budget("default"), Some(&BudgetSettings::DEFAULT));
    let names: Vec<&str> = config.policies().map(|(name, _)| name).collect();
    assert_eq!(names, ["default", "network", "none"]);
    assert_eq!(config.breakers().count(), 2);
    assert_eq!(config.budgets().count(), 1);
}

#[test]
fn an_empty_file_gives_the_builtin_presets() {
    assert_eq!(parse(""), Config::builtin());
    assert_eq!(parse("# nothing to tune\n"), Config::default());
}

#[test]
fn the_example_config_of_the_quickstart_is_valid() {
    let config = parse(include_str!("../examples/retry.toml"));
    let storage = config.policy("storage").copied().unwrap_or(Policy::NONE);
    let writes = config
        .policy("storage-writes")
        .copied()
        .unwrap_or(Policy::NONE);
    assert_eq!(writes.max_attempts, 5);
    assert_eq!(
        Policy {
            max_attempts: 5,
            ..storage
        },
        writes
    );
}

#[test]
fn durations_are_human_strings() {
    let config = parse(
        r#"
        [policies.default]
        initial_delay = "250ms"
        max_delay = "1m 30s"
        max_elapsed = "2min"
        attempt_timeout = "1500ms"
        "#,
    );
    let p = config.policy("default").copied().unwrap_or(Policy::NONE);
    assert_eq!(p.initial_delay, ms(250));
    assert_eq!(p.max_delay, secs(90));
    assert_eq!(p.max_elapsed, Some(secs(120)));
    assert_eq!(p.attempt_timeout, Some(ms(1500)));
}

#[test]
fn none_removes_an_inherited_limit() {
    let config = parse(
        r#"
        [policies.unbounded]
        base = "network"
        max_elapsed = "none"
        "#,
    );
    assert_eq!(Policy::NETWORK.max_elapsed, Some(secs(30)));
    assert_eq!(
        config.policy("unbounded").map(|p| p.max_elapsed),
        Some(None)
    );
}

#[test]
fn slow_call_duration_none_turns_slow_calls_off_and_is_inherited() {
    let config = parse(
        r#"
        [breakers.cache]
        slow_call_duration = "none"

        [breakers.heir]
        base = "cache"
        "#,
    );
    for name in ["cache", "heir"] {
        assert_eq!(
            config.breaker(name).map(|b| b.slow_call_duration),
            Some(retry_runtime::BreakerSettings::NO_SLOW_CALLS),
            "{name}"
        );
    }
}

#[test]
fn integers_are_accepted_where_numbers_are_expected() {
    let config = parse("[policies.default]\nmultiplier = 3\n[budgets.default]\nretry_ratio = 1");
    assert_eq!(config.policy("default").map(|p| p.multiplier), Some(3.0));
    assert_eq!(config.budget("default").map(|b| b.retry_ratio), Some(1.0));
}

// ---------------------------------------------------------------------------
// Presets and inheritance
// ---------------------------------------------------------------------------

#[test]
fn a_table_without_base_inherits_from_the_builtin_default() {
    let config = parse("[policies.reads]\nmax_attempts = 2");
    assert_eq!(
        config.policy("reads"),
        Some(&Policy {
            max_attempts: 2,
            ..Policy::DEFAULT
        })
    );
}

#[test]
fn a_table_without_base_inherits_from_the_files_default() {
    let config = parse(
        r#"
        [policies.reads]
        max_attempts = 2

        [policies.default]
        initial_delay = "1s"
        max_delay = "20s"
        "#,
    );
    let default = Policy {
        initial_delay: secs(1),
        max_delay: secs(20),
        ..Policy::DEFAULT
    };
    assert_eq!(config.policy("default"), Some(&default));
    assert_eq!(
        config.policy("reads"),
        Some(&Policy {
            max_attempts: 2,
            ..default
        })
    );
}

#[test]
fn redefining_a_preset_without_base_replaces_it() {
    let config = parse("[policies.network]\nmax_attempts = 7");
    assert_eq!(
        config.policy("network"),
        Some(&Policy {
            max_attempts: 7,
            ..Policy::DEFAULT
        }),
        "inherits from `default`, not from the `network` preset"
    );
}

#[test]
fn a_preset_is_tweaked_by_naming_itself_as_base() {
    let config = parse("[policies.network]\nbase = \"network\"\nmax_attempts = 7");
    assert_eq!(
        config.policy("network"),
        Some(&Policy {
            max_attempts: 7,
            ..Policy::NETWORK
        })
    );
}

#[test]
fn base_can_name_a_preset() {
    let config = parse(
        r#"
        [policies.default]
        max_attempts = 9

        [policies.uploads]
        base = "network"
        jitter = "equal"
        "#,
    );
    assert_eq!(
        config.policy("uploads"),
        Some(&Policy {
            jitter: Jitter::Equal,
            ..Policy::NETWORK
        }),
        "presets do not inherit from the file's `default`"
    );
}

#[test]
fn bases_chain_over_several_levels() {
    let config = parse(
        r#"
        [policies.c]
        base = "b"
        jitter = "none"

        [policies.b]
        base = "a"
        max_delay = "2s"

        [policies.a]
        base = "network"
        max_attempts = 8
        "#,
    );
    let a = Policy {
        max_attempts: 8,
        ..Policy::NETWORK
    };
    let b = Policy {
        max_delay: secs(2),
        ..a
    };
    let c = Policy {
        jitter: Jitter::None,
        ..b
    };
    assert_eq!(config.policy("a"), Some(&a));
    assert_eq!(config.policy("b"), Some(&b));
    assert_eq!(config.policy("c"), Some(&c));
}

#[test]
fn breakers_inherit_from_default_and_from_base() {
    let config = parse(
        r#"
        [breakers.default]
        open_duration = "5s"

        [breakers.s3]
        minimum_calls = 4

        [breakers.dynamo]
        base = "s3"
        half_open_calls = 1
        "#,
    );
    let default = BreakerSettings {
        open_duration: secs(5),
        ..BreakerSettings::DEFAULT
    };
    let s3 = BreakerSettings {
        minimum_calls: 4,
        ..default
    };
    assert_eq!(config.breaker("default"), Some(&default));
    assert_eq!(config.breaker("s3"), Some(&s3));
    assert_eq!(
        config.breaker("dynamo"),
        Some(&BreakerSettings {
            half_open_calls: 1,
            ..s3
        })
    );
}

#[test]
fn budgets_inherit_from_default_and_from_base() {
    let config = parse(
        r#"
        [budgets.default]
        ttl = "30s"

        [budgets.batch]
        retry_ratio = 0.5

        [budgets.bulk]
        base = "batch"
        min_retries_per_sec = 0
        "#,
    );
    let batch = BudgetSettings {
        ttl: secs(30),
        retry_ratio: 0.5,
        ..BudgetSettings::DEFAULT
    };
    assert_eq!(config.budget("batch"), Some(&batch));
    assert_eq!(
        config.budget("bulk"),
        Some(&BudgetSettings {
            min_retries_per_sec: 0,
            ..batch
        })
    );
}

#[test]
fn windows_map_to_the_window_enum() {
    let config = parse(
        r#"
        [breakers.by_time]
        window = "time"
        window_duration = "2m"

        [breakers.time_default]
        window = "time"

        [breakers.keeps_time]
        base = "by_time"
        minimum_calls = 3

        [breakers.back_to_count]
        base = "by_time"
        window = "count"

        [breakers.bigger]
        window_size = 50
        "#,
    );
    let window = |name: &str| config.breaker(name).map(|b| b.window);
    assert_eq!(
        window("by_time"),
        Some(Window::Time {
            duration: secs(120)
        })
    );
    assert_eq!(
        window("time_default"),
        Some(Window::Time { duration: secs(60) }),
        "a time window without window_duration spans 60 s"
    );
    assert_eq!(
        window("keeps_time"),
        Some(Window::Time {
            duration: secs(120)
        })
    );
    assert_eq!(
        window("back_to_count"),
        Some(Window::Count { size: 20 }),
        "a count window without window_size holds 20 calls"
    );
    assert_eq!(window("bigger"), Some(Window::Count { size: 50 }));
}

// ---------------------------------------------------------------------------
// Type errors: unknown keys, bad durations, misspelled variants, wrong types
// ---------------------------------------------------------------------------

#[test]
fn an_unknown_key_is_reported_with_its_full_path_and_the_closest_key() {
    let problem = only_problem(
        "[policies.network]\nmax_dealy = \"5s\"\n",
        &[
            "policies.network.max_dealy: unknown key; did you mean `max_delay`?",
            "valid keys here: base, max_attempts, backoff, initial_delay, multiplier, max_delay, jitter, max_elapsed, attempt_timeout, max_retry_after, nested",
            "(line 2, column 1)",
        ],
    );
    assert_eq!(problem.path(), "policies.network.max_dealy");
}

#[test]
fn an_unknown_key_far_from_any_valid_key_lists_them() {
    only_problem(
        "[breakers.s3]\ncolor = \"red\"",
        &[
            "breakers.s3.color: unknown key; remove it, or use one of the valid keys here:",
            "window_duration",
        ],
    );
    only_problem(
        "[budgets.default]\nttls = \"5s\"",
        &["budgets.default.ttls: unknown key; did you mean `ttl`?"],
    );
}

#[test]
fn an_unknown_section_is_reported() {
    let problem = only_problem(
        "[polices.default]\nmax_attempts = 2",
        &[
            "polices: unknown key; did you mean `policies`?",
            "policies, breakers, budgets",
        ],
    );
    assert_eq!(problem.path(), "polices");
    only_problem(
        "retries = 3",
        &["retries: unknown key", "policies, breakers, budgets"],
    );
}

#[test]
fn a_bad_duration_names_the_key_and_how_to_write_one() {
    only_problem(
        "[policies.default]\ninitial_delay = \"10 parsecs\"",
        &[
            "policies.default.initial_delay: invalid duration \"10 parsecs\": ",
            "parsecs",
            "write it like \"250ms\" or \"30s\"",
        ],
    );
    only_problem(
        "[breakers.s3]\nopen_duration = \"30\"",
        &[
            "breakers.s3.open_duration: invalid duration \"30\"",
            "write it like \"250ms\" or \"30s\"",
        ],
    );
    only_problem(
        "[policies.default]\nmax_elapsed = \"soon\"",
        &[
            "policies.default.max_elapsed: invalid duration \"soon\"",
            "or \"none\" for no limit",
        ],
    );
}

#[test]
fn a_duration_written_as_a_number_is_refused() {
    only_problem(
        "[budgets.default]\nttl = 10",
        &[
            "budgets.default.ttl: invalid type: integer `10`, expected a duration like \"250ms\" or \"30s\"",
            "write it like ttl = \"10s\"",
        ],
    );
}

#[test]
fn a_misspelled_variant_lists_the_valid_ones() {
    only_problem(
        "[policies.default]\nbackoff = \"exponentail\"",
        &[
            "policies.default.backoff: unknown variant \"exponentail\", expected one of constant, linear, exponential, decorrelated",
            "did you mean \"exponential\"?",
        ],
    );
    only_problem(
        "[policies.default]\njitter = \"random\"",
        &[
            "policies.default.jitter: unknown variant \"random\", expected one of none, full, equal",
            "write one of them in quotes",
        ],
    );
    only_problem(
        "[breakers.s3]\nwindow = \"calls\"",
        &["breakers.s3.window: unknown variant \"calls\", expected one of count, time"],
    );
}

#[test]
fn a_value_of_the_wrong_type_is_refused() {
    only_problem(
        "[policies.default]\nmax_attempts = \"five\"",
        &[
            "policies.default.max_attempts: invalid type: string \"five\", expected a whole number",
            "write it like max_attempts = 5",
        ],
    );
    only_problem(
        "[breakers.s3]\nminimum_calls = -1",
        &[
            "breakers.s3.minimum_calls: invalid value: integer `-1`",
            "write it like minimum_calls = 10",
        ],
    );
    only_problem(
        "[budgets.default]\nretry_ratio = \"20%\"",
        &[
            "budgets.default.retry_ratio: invalid type: string \"20%\", expected a number",
            "retry_ratio = 0.2",
        ],
    );
    only_problem(
        "[policies.x]\nbase = 3",
        &[
            "policies.x.base: invalid type: integer `3`",
            "write it like base = \"default\"",
        ],
    );
    only_problem(
        "policies = 3",
        &[
            "policies: invalid type: an integer, expected a table",
            "[policies.default]",
        ],
    );
    only_problem(
        "[policies]\nfast = 3",
        &["policies.fast: invalid type: an integer, expected a table of policy settings"],
    );
}

#[test]
fn type_errors_of_different_tables_are_all_reported() {
    let err = error(
        r#"
        [policies.a]
        max_dealy = "1s"

        [policies.b]
        backoff = "exp"

        [breakers.c]
        window_size = "big"

        [polices.d]
        "#,
    );
    assert_eq!(
        paths(&err),
        [
            "policies.a.max_dealy",
            "policies.b.backoff",
            "breakers.c.window_size",
            "polices"
        ]
    );
    assert!(
        err.to_string()
            .starts_with("invalid retry config: 4 problems:\n  "),
        "{err}"
    );
}

/// A refused key is reported once; the rest of its table and its heirs are
/// still read and checked, but checks that relate several keys skip a table
/// whose values they would misjudge.
#[test]
fn a_refused_key_hides_nothing_else_and_does_not_cascade() {
    let err = error(
        r#"
        [policies.a]
        max_dealy = "1s"

        [policies.b]
        base = "a"
        max_attempts = 0

        [policies.default]
        jitter = "some"

        [policies.c]
        max_attempts = 2
        "#,
    );
    assert_eq!(
        paths(&err),
        [
            "policies.a.max_dealy",
            "policies.b.max_attempts",
            "policies.default.jitter"
        ],
        "{err}"
    );
    // `window` refused: `window_duration` is not judged against the
    // inherited count window, and the heir's window is not judged either.
    let err = error(
        r#"
        [breakers.a]
        window = "tme"
        window_duration = "2m"
        [breakers.b]
        base = "a"
        minimum_calls = 50
        "#,
    );
    assert_eq!(paths(&err), ["breakers.a.window"], "{err}");
}

#[test]
fn a_toml_syntax_error_has_a_location_and_no_path() {
    let err = error("[policies.default\nmax_attempts = 2");
    assert_eq!(err.path(), Some(""));
    let problem = &err.problems()[0];
    assert!(problem.message().starts_with("invalid TOML: "), "{problem}");
    assert_eq!(problem.location().map(|l| l.line), Some(1));
    let err = error("[policies.a]\nmax_attempts = 2\nmax_attempts = 3");
    assert!(err.to_string().contains("invalid TOML"), "{err}");
    assert_eq!(err.problems()[0].location().map(|l| l.line), Some(3));
}

// ---------------------------------------------------------------------------
// Bases: unknown names and cycles
// ---------------------------------------------------------------------------

#[test]
fn an_unknown_base_lists_the_defined_names_and_the_closest() {
    only_problem(
        "[policies.network]\nbase = \"netwrk\"\n\n[policies.reads]\nmax_attempts = 2",
        &[
            "policies.network.base: no policy is called \"netwrk\"; defined policies are: default, network, none, reads; did you mean \"network\"?",
            "(line 2, column 8)",
        ],
    );
    only_problem(
        "[breakers.s3]\nbase = \"dynamo\"",
        &[
            "breakers.s3.base: no breaker is called \"dynamo\"; defined breakers are: default, s3",
            "add a [breakers.dynamo] table",
        ],
    );
    only_problem(
        "[budgets.batch]\nbase = \"defualt\"",
        &[
            "budgets.batch.base: no budget is called \"defualt\"",
            "did you mean \"default\"?",
        ],
    );
}

#[test]
fn a_base_cycle_is_reported_once_with_its_members() {
    let problem = only_problem(
        r#"
        [policies.a]
        base = "b"
        [policies.b]
        base = "a"
        [policies.c]
        base = "a"
        "#,
        &[
            "policies.a.base: inheritance cycle a -> b -> a",
            "remove `base` from one of them",
        ],
    );
    assert_eq!(problem.path(), "policies.a.base");
}

#[test]
fn a_cycle_through_default_explains_the_implicit_base() {
    only_problem(
        r#"
        [policies.default]
        base = "reads"
        [policies.reads]
        max_attempts = 2
        "#,
        &[
            "policies.default.base: inheritance cycle default -> reads -> default",
            "a table without `base` inherits from `default`",
        ],
    );
}

#[test]
fn a_table_cannot_be_its_own_base_unless_a_preset_has_its_name() {
    only_problem(
        "[breakers.s3]\nbase = \"s3\"",
        &["breakers.s3.base: inheritance cycle s3 -> s3"],
    );
}

// ---------------------------------------------------------------------------
// Allowed values
// ---------------------------------------------------------------------------

#[test]
fn max_attempts_is_from_1_to_1000() {
    only_problem(
        "[policies.default]\nmax_attempts = 0",
        &[
            "policies.default.max_attempts: must be at least 1",
            "write max_attempts = 1 to never retry",
        ],
    );
    only_problem(
        "[policies.default]\nmax_attempts = 1001",
        &[
            "policies.default.max_attempts: 1001 is more than the limit of 1000",
            "max_elapsed",
        ],
    );
    assert_eq!(
        parse("[policies.default]\nmax_attempts = 1000")
            .policy("default")
            .map(|p| p.max_attempts),
        Some(1000)
    );
}

#[test]
fn initial_delay_is_above_zero_unless_backoff_is_constant() {
    only_problem(
        "[policies.default]\ninitial_delay = \"0s\"",
        &[
            "policies.default.initial_delay: must be longer than 0 with backoff = \"exponential\" (inherited from the built-in `default` policy)",
            "use backoff = \"constant\" to retry at once",
        ],
    );
    only_problem(
        "[policies.zero]\nbackoff = \"constant\"\ninitial_delay = \"0s\"\n[policies.lin]\nbase = \"zero\"\nbackoff = \"linear\"",
        &[
            "policies.lin.backoff: \"linear\" needs an initial_delay longer than 0, but it is 0 (inherited from `zero`)",
        ],
    );
    let config = parse("[policies.default]\nbackoff = \"constant\"\ninitial_delay = \"0s\"");
    assert_eq!(
        config.policy("default").map(|p| p.initial_delay),
        Some(Duration::ZERO)
    );
}

#[test]
fn multiplier_is_finite_and_at_least_one() {
    for bad in ["0.5", "nan", "inf", "-2.0"] {
        only_problem(
            &format!("[policies.default]\nmultiplier = {bad}"),
            &[
                "policies.default.multiplier: must be a finite number of at least 1.0",
                "write multiplier = 2.0",
            ],
        );
    }
    assert!(Config::from_toml_str("[policies.default]\nmultiplier = 1.0").is_ok());
}

#[test]
fn max_delay_is_at_least_initial_delay() {
    only_problem(
        "[policies.default]\nmax_delay = \"50ms\"",
        &[
            "policies.default.max_delay: 50ms is shorter than initial_delay 100ms (inherited from the built-in `default` policy)",
            "raise max_delay to at least 100ms",
        ],
    );
    only_problem(
        "[policies.slow]\ninitial_delay = \"20s\"",
        &[
            "policies.slow.initial_delay: 20s is longer than max_delay 10s (inherited from the built-in `default` policy)",
            "lower initial_delay to at most 10s",
        ],
    );
}

#[test]
fn limits_are_above_zero_when_set() {
    only_problem(
        "[policies.default]\nmax_elapsed = \"0s\"",
        &[
            "policies.default.max_elapsed: must be longer than 0",
            "\"none\" for no limit",
        ],
    );
    only_problem(
        "[policies.default]\nattempt_timeout = \"0ms\"",
        &[
            "policies.default.attempt_timeout: must be longer than 0",
            "attempt_timeout = \"2s\"",
        ],
    );
}

#[test]
fn breaker_thresholds_are_fractions_above_zero() {
    only_problem(
        "[breakers.s3]\nfailure_rate_threshold = 0.0",
        &[
            "breakers.s3.failure_rate_threshold: must be above 0.0 and at most 1.0, got 0",
            "0.5",
        ],
    );
    only_problem(
        "[breakers.s3]\nfailure_rate_threshold = 50",
        &[
            "breakers.s3.failure_rate_threshold: must be above 0.0 and at most 1.0, got 50",
            "for 50% write failure_rate_threshold = 0.5",
        ],
    );
    only_problem(
        "[breakers.s3]\nslow_call_rate_threshold = -0.1",
        &["breakers.s3.slow_call_rate_threshold: must be above 0.0 and at most 1.0"],
    );
    only_problem(
        "[breakers.s3]\nslow_call_rate_threshold = nan",
        &["breakers.s3.slow_call_rate_threshold: must be above 0.0 and at most 1.0, got NaN"],
    );
}

#[test]
fn window_keys_go_with_their_window_kind() {
    only_problem(
        "[breakers.s3]\nwindow_duration = \"60s\"",
        &[
            "breakers.s3.window_duration: only goes with window = \"time\", but this breaker's window is \"count\" (inherited from the built-in `default` breaker)",
            "add window = \"time\"",
        ],
    );
    only_problem(
        "[breakers.s3]\nwindow = \"time\"\nwindow_size = 20",
        &[
            "breakers.s3.window_size: only goes with window = \"count\", but this breaker's window is \"time\";",
            "replace window_size by window_duration",
        ],
    );
}

#[test]
fn window_sizes_and_durations_have_bounds() {
    only_problem(
        "[breakers.s3]\nwindow_size = 0",
        &["breakers.s3.window_size: must be from 1 to 10000 calls, got 0"],
    );
    only_problem(
        "[breakers.s3]\nwindow_size = 10001\nminimum_calls = 5",
        &["breakers.s3.window_size: must be from 1 to 10000 calls, got 10001"],
    );
    only_problem(
        "[breakers.s3]\nwindow = \"time\"\nwindow_duration = \"500ms\"",
        &["breakers.s3.window_duration: must be at least 1s, got 500ms"],
    );
}

#[test]
fn minimum_calls_must_fit_in_a_count_window() {
    only_problem(
        "[breakers.s3]\nminimum_calls = 30",
        &[
            "breakers.s3.minimum_calls: minimum_calls (30) is more than the window holds (window_size = 20), so the breaker could never open",
            "lower minimum_calls to at most 20",
        ],
    );
    only_problem(
        "[breakers.s3]\nwindow_size = 5",
        &[
            "breakers.s3.window_size: minimum_calls (10) is more than the window holds (window_size = 5)",
        ],
    );
    assert!(Config::from_toml_str("[breakers.s3]\nwindow = \"time\"\nminimum_calls = 500").is_ok());
}

#[test]
fn breaker_counts_and_durations_are_positive() {
    let err = error(
        r#"
        [breakers.s3]
        minimum_calls = 0
        half_open_calls = 0
        open_duration = "0s"
        slow_call_duration = "0s"
        "#,
    );
    assert_eq!(
        paths(&err),
        [
            "breakers.s3.minimum_calls",
            "breakers.s3.half_open_calls",
            "breakers.s3.open_duration",
            "breakers.s3.slow_call_duration",
        ],
        "{err}"
    );
    assert!(err.to_string().contains(
        "breakers.s3.minimum_calls: must be at least 1; write it like minimum_calls = 10"
    ));
    assert!(err.to_string().contains(
        "breakers.s3.open_duration: must be longer than 0; write it like open_duration = \"30s\""
    ));
}

#[test]
fn budget_ttl_is_from_1s_to_60s() {
    only_problem(
        "[budgets.default]\nttl = \"500ms\"",
        &[
            "budgets.default.ttl: must be between 1s and 1m, got 500ms",
            "ttl = \"10s\"",
        ],
    );
    only_problem(
        "[budgets.default]\nttl = \"61s\"",
        &["budgets.default.ttl: must be between 1s and 1m, got 1m 1s"],
    );
    assert!(Config::from_toml_str("[budgets.a]\nttl = \"1s\"\n[budgets.b]\nttl = \"60s\"").is_ok());
}

#[test]
fn budget_retry_ratio_is_from_0_to_1000() {
    for bad in ["-0.1", "1000.5", "nan", "inf"] {
        only_problem(
            &format!("[budgets.default]\nretry_ratio = {bad}"),
            &[
                "budgets.default.retry_ratio: must be a number from 0.0 to 1000.0",
                "retry_ratio = 0.2",
            ],
        );
    }
    let config = parse("[budgets.none]\nretry_ratio = 0.0\nmin_retries_per_sec = 0");
    assert_eq!(config.budget("none").map(|b| b.retry_ratio), Some(0.0));
}

#[test]
fn all_value_errors_of_a_file_are_reported_together_in_file_order() {
    let err = error(
        r#"
        [policies.default]
        max_attempts = 0
        multiplier = 0.5

        [breakers.s3]
        window_size = 0

        [budgets.default]
        ttl = "2m"

        [policies.reads]
        base = "nope"
        "#,
    );
    assert_eq!(
        paths(&err),
        [
            "policies.default.max_attempts",
            "policies.default.multiplier",
            "breakers.s3.window_size",
            "budgets.default.ttl",
            "policies.reads.base",
        ]
    );
    let text = err.to_string();
    assert!(
        text.starts_with("invalid retry config: 5 problems:\n"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 6, "{text}");
    assert!(text.contains("(line 3, column 24)"), "{text}");
}

#[test]
fn a_bad_inherited_value_is_reported_once_at_the_table_that_sets_it() {
    let err = error(
        r#"
        [policies.default]
        max_attempts = 0

        [policies.reads]
        jitter = "none"

        [policies.writes]
        base = "default"
        "#,
    );
    assert_eq!(paths(&err), ["policies.default.max_attempts"]);
}

// ---------------------------------------------------------------------------
// ConfigError
// ---------------------------------------------------------------------------

#[test]
fn config_error_exposes_its_problems() {
    let err = error("[policies.network]\nmax_delay = \"1ms\"");
    assert_eq!(err.path(), Some("policies.network.max_delay"));
    assert_eq!(err.file(), None);
    assert!(err.io_error().is_none());
    let problem = &err.problems()[0];
    assert_eq!(problem.path(), "policies.network.max_delay");
    assert!(
        problem
            .message()
            .starts_with("1ms is shorter than initial_delay 100ms")
    );
    let at = problem.location().map(|l| (l.line, l.column));
    assert_eq!(at, Some((2, 13)));
    assert_eq!(err.to_string(), format!("invalid retry config: {problem}"));
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(err);
    assert!(boxed.source().is_none());
}

/// A file in the temp directory, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, contents: &str) -> TempFile {
        let path = std::env::temp_dir().join(format!("retry-suite-{}-{name}", std::process::id()));
        if let Err(e) = std::fs::write(&path, contents) {
            panic!("cannot write {}: {e}", path.display());
        }
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn from_path_reads_a_file() {
    let file = TempFile::new("valid.toml", DESIGN_FILE);
    let config = match Config::from_path(&file.0) {
        Ok(config) => config,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(config, parse(DESIGN_FILE));
}

#[test]
fn from_path_names_the_file_of_an_invalid_config() {
    let file = TempFile::new("invalid.toml", "[policies.default]\nmax_attempts = 0\n");
    let err = match Config::from_path(&file.0) {
        Ok(config) => panic!("expected an error, got {config:?}"),
        Err(e) => e,
    };
    assert_eq!(err.file(), Some(file.0.as_path()));
    assert_eq!(err.path(), Some("policies.default.max_attempts"));
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "invalid retry config `{}`: policies.default.max_attempts: must be at least 1",
            file.0.display()
        )),
        "{text}"
    );
}

#[test]
fn from_path_on_a_missing_file_names_the_path() {
    let path = std::env::temp_dir().join(format!(
        "retry-suite-{}-does-not-exist.toml",
        std::process::id()
    ));
    let err = match Config::from_path(&path) {
        Ok(config) => panic!("expected an error, got {config:?}"),
        Err(e) => e,
    };
    assert_eq!(err.file(), Some(path.as_path()));
    assert_eq!(err.path(), None);
    assert!(err.problems().is_empty());
    assert_eq!(
        err.io_error().map(std::io::Error::kind),
        Some(std::io::ErrorKind::NotFound)
    );
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("cannot read retry config `{}`: ", path.display())),
        "{text}"
    );
    assert!(std::error::Error::source(&err).is_some());
}

// ---------------------------------------------------------------------------
// Embedding through serde
// ---------------------------------------------------------------------------

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct App {
    name: String,
    retry: Config,
}

#[test]
fn config_embeds_in_an_applications_own_config() {
    let app: App = match toml::from_str(
        r#"
        name = "uploader"

        [retry.policies.network]
        base = "default"
        max_attempts = 5

        [retry.breakers.s3]
        window = "time"
        "#,
    ) {
        Ok(app) => app,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(app.name, "uploader");
    assert_eq!(
        app.retry.policy("network"),
        Some(&Policy {
            max_attempts: 5,
            ..Policy::DEFAULT
        })
    );
    assert_eq!(
        app.retry.breaker("s3").map(|b| b.window),
        Some(Window::Time { duration: secs(60) })
    );
    assert_eq!(
        app.retry.policy("none"),
        Some(&Policy::NONE),
        "presets included"
    );
}

#[test]
fn serde_and_from_toml_str_agree() {
    #[derive(serde::Deserialize)]
    struct Wrapper {
        retry: Config,
    }
    let nested = DESIGN_FILE
        .replace("[policies.", "[retry.policies.")
        .replace("[breakers.", "[retry.breakers.")
        .replace("[budgets.", "[retry.budgets.");
    let wrapper: Wrapper = match toml::from_str(&nested) {
        Ok(w) => w,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(wrapper.retry, parse(DESIGN_FILE));
    let direct: Config = match toml::from_str(DESIGN_FILE) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(direct, parse(DESIGN_FILE));
}

#[test]
fn embedded_errors_carry_the_key_path() {
    let cases: [(&str, &[&str]); 4] = [
        (
            "[retry.policies.network]\nmax_dealy = \"1s\"",
            &[
                "policies.network.max_dealy: unknown key; did you mean `max_delay`? valid keys here: base, max_attempts, backoff, initial_delay, multiplier, max_delay, jitter, max_elapsed, attempt_timeout",
            ],
        ),
        (
            "[retry.policies.default]\ninitial_delay = \"10 parsecs\"",
            &[
                "policies.default.initial_delay: invalid duration \"10 parsecs\"",
                "write it like \"250ms\" or \"30s\"",
            ],
        ),
        (
            "[retry.policies.default]\nmax_attempts = 0\n[retry.budgets.default]\nttl = \"0s\"",
            &[
                "2 problems",
                "policies.default.max_attempts: must be at least 1",
                "budgets.default.ttl: must be between 1s and 1m",
            ],
        ),
        (
            "[retry.policies.a]\nbase = \"b\"\n[retry.policies.b]\nbase = \"a\"",
            &["policies.a.base: inheritance cycle a -> b -> a"],
        ),
    ];
    for (toml_text, needles) in cases {
        let text = format!("name = \"x\"\n{toml_text}");
        let err = match toml::from_str::<App>(&text) {
            Ok(app) => panic!("expected an error, got {app:?}"),
            Err(e) => e,
        };
        for needle in needles {
            assert!(
                err.message().contains(needle),
                "`{needle}` missing from:\n{err}"
            );
        }
        assert!(
            !err.message().contains("nested, "),
            "only the format's message, not its context, is read for keys:\n{err}"
        );
    }
}

#[test]
fn the_part_two_keys_parse_inherit_and_default() {
    let config = parse(
        r#"
        [policies.api]
        max_retry_after = "5s"
        nested = "retry"

        [policies.unbounded]
        max_retry_after = "none"

        [breakers.edge]
        max_half_open_wait = "10s"
        retry_after_is_failure = true
        max_keys = 50

        [breakers.child]
        base = "edge"
        max_half_open_wait = "none"
        "#,
    );
    let api = config.policy("api").unwrap();
    assert_eq!(api.max_retry_after, Some(secs(5)));
    assert_eq!(api.nested, retry_runtime::Nested::Retry);
    assert_eq!(config.policy("unbounded").unwrap().max_retry_after, None);
    assert_eq!(
        config.policy("default").unwrap().nested,
        retry_runtime::Nested::Single
    );
    let edge = config.breaker("edge").unwrap();
    assert_eq!(edge.max_half_open_wait, Some(secs(10)));
    assert!(edge.retry_after_is_failure);
    assert_eq!(edge.max_keys, 50);
    let child = config.breaker("child").unwrap();
    assert_eq!(child.max_half_open_wait, None);
    assert!(child.retry_after_is_failure, "inherited from its base");
    assert_eq!(child.max_keys, 50);
}

#[test]
fn the_part_two_keys_refuse_bad_values() {
    for (toml, path, needle) in [
        (
            "[policies.p]\nmax_retry_after = \"0s\"",
            "policies.p.max_retry_after",
            "longer than 0",
        ),
        (
            "[policies.p]\nnested = \"singel\"",
            "policies.p.nested",
            "did you mean \"single\"?",
        ),
        (
            "[breakers.b]\nmax_half_open_wait = \"0s\"",
            "breakers.b.max_half_open_wait",
            "longer than 0",
        ),
        (
            "[breakers.b]\nmax_keys = 0",
            "breakers.b.max_keys",
            "from 1 to 1000000",
        ),
        (
            "[breakers.b]\nmax_keys = 2000000",
            "breakers.b.max_keys",
            "from 1 to 1000000",
        ),
        (
            "[breakers.b]\nretry_after_is_failure = \"yes\"",
            "breakers.b.retry_after_is_failure",
            "expected a boolean",
        ),
    ] {
        let err = retry_runtime::Config::from_toml_str(toml).unwrap_err();
        assert_eq!(err.path(), Some(path), "{toml}: {err}");
        assert!(err.to_string().contains(needle), "{toml}: {err}");
    }
}

// ---------------------------------------------------------------------------
// Issue 9: every problem in one pass, the embedded route, limits
// ---------------------------------------------------------------------------

/// Issue 9, item 4: seven mistakes of different kinds, one error, file order.
#[test]
fn seven_mistakes_of_different_kinds_are_reported_in_one_error_in_file_order() {
    let err = error(
        r#"
[policies.api]
max_atempts = 5
backoff = "exponental"
initial_delay = "10 parsecs"
multiplier = "two"

[breakers.s3]
base = "s4"
half_open_calls = 0

[budgets.default]
retry_ratio = -1.0
"#,
    );
    assert_eq!(
        paths(&err),
        [
            "policies.api.max_atempts",    // unknown key
            "policies.api.backoff",        // unknown variant
            "policies.api.initial_delay",  // bad duration
            "policies.api.multiplier",     // wrong type
            "breakers.s3.base",            // undefined base
            "breakers.s3.half_open_calls", // out of range
            "budgets.default.retry_ratio", // out of range
        ],
        "{err}"
    );
    let lines: Vec<usize> = err
        .problems()
        .iter()
        .map(|p| p.location().map_or(0, |l| l.line))
        .collect();
    assert_eq!(lines, [3, 4, 5, 6, 9, 10, 13]);
    let text = err.to_string();
    assert!(
        text.starts_with("invalid retry config: 7 problems:\n"),
        "{text}"
    );
    assert!(text.contains("did you mean `max_attempts`?"), "{text}");
    assert!(text.contains("did you mean \"exponential\"?"), "{text}");
    assert!(
        text.contains("did you mean \"s3\"?") || text.contains("no breaker is called \"s4\""),
        "{text}"
    );
}

/// Issue 9, item 5: the recommended embedded route names the key, its line
/// and the prefix path, and reports every problem.
#[test]
fn the_embedded_route_names_the_key_its_line_and_the_prefix() {
    #[derive(Debug, serde::Deserialize)]
    struct RawApp {
        #[allow(dead_code)]
        name: String,
        #[allow(dead_code)]
        retry: toml::Table,
    }
    let text = "name = \"x\"\n\n[retry.policies.api]\nmax_dealy = \"1s\"\nmax_attempts = 0\n\n[retry.breakers.s3]\nwindow = \"cont\"\n";
    // The application's own struct still parses: the section is kept raw.
    let app: RawApp = match toml::from_str(text) {
        Ok(app) => app,
        Err(e) => panic!("{e}"),
    };
    let err = match Config::from_toml_str_at(text, "retry") {
        Ok(c) => panic!("expected an error, got {c:?}"),
        Err(e) => e,
    };
    let found: Vec<(&str, Option<(usize, usize)>)> = err
        .problems()
        .iter()
        .map(|p| (p.path(), p.location().map(|l| (l.line, l.column))))
        .collect();
    assert_eq!(
        found,
        [
            ("retry.policies.api.max_dealy", Some((4, 1))),
            ("retry.policies.api.max_attempts", Some((5, 16))),
            ("retry.breakers.s3.window", Some((8, 10))),
        ]
    );
    // From the parsed table: the same paths, no lines.
    let err = match Config::from_toml_table(app.retry, "retry") {
        Ok(c) => panic!("expected an error, got {c:?}"),
        Err(e) => e,
    };
    let mut from_table = paths(&err);
    from_table.sort_unstable();
    assert_eq!(
        from_table,
        [
            "retry.breakers.s3.window",
            "retry.policies.api.max_attempts",
            "retry.policies.api.max_dealy"
        ]
    );
    // A deeper prefix, and no table at the prefix: the presets.
    let nested = "[services.retry.budgets.x]\nttl = \"0s\"";
    let err = match Config::from_toml_str_at(nested, "services.retry") {
        Ok(c) => panic!("expected an error, got {c:?}"),
        Err(e) => e,
    };
    assert_eq!(paths(&err), ["services.retry.budgets.x.ttl"]);
    assert_eq!(
        Config::from_toml_str_at("name = 'x'", "retry").ok(),
        Some(Config::builtin())
    );
    let err = match Config::from_toml_str_at("retry = 3", "retry") {
        Ok(c) => panic!("expected an error, got {c:?}"),
        Err(e) => e,
    };
    assert_eq!(paths(&err), ["retry"]);
    assert!(
        err.to_string()
            .contains("expected a table of retry settings, got an integer")
    );
}

/// Through serde (`retry: Config`), every problem is in the one error.
#[test]
fn the_serde_route_reports_every_problem_at_once() {
    let text = "name = \"x\"\n[retry.policies.api]\nmax_dealy = \"1s\"\nmax_attempts = 0\n[retry.breakers.s3]\nwindow = \"cont\"\n";
    let err = match toml::from_str::<App>(text) {
        Ok(app) => panic!("expected an error, got {app:?}"),
        Err(e) => e,
    };
    let message = err.message();
    assert!(message.contains("3 problems"), "{message}");
    for path in [
        "policies.api.max_dealy",
        "policies.api.max_attempts",
        "breakers.s3.window",
    ] {
        assert!(message.contains(path), "{path} missing from {message}");
    }
}

/// Issue 16: a count written as text said "a whole number from 0 to
/// 4294967295" (the type's range), not the key's own range.
#[test]
fn a_count_of_the_wrong_type_states_the_keys_own_range() {
    only_problem(
        "[breakers.b]\nminimum_calls = \"five\"",
        &[
            "breakers.b.minimum_calls: invalid type: string \"five\", expected a whole number from 1 to 100000 (at most window_size for a count window)",
            "write it like minimum_calls = 10",
        ],
    );
    only_problem(
        "[policies.p]\nmax_attempts = \"x\"",
        &["expected a whole number from 1 to 1000;"],
    );
    only_problem(
        "[budgets.b]\nmin_retries_per_sec = 1.5",
        &["expected a whole number from 0 to 100000;"],
    );
    for (key, range) in [
        ("window_size", "1 to 10000"),
        ("half_open_calls", "1 to 1000"),
        ("max_keys", "1 to 1000000"),
    ] {
        only_problem(
            &format!("[breakers.b]\n{key} = true"),
            &[&format!("expected a whole number from {range}")],
        );
    }
}

/// Through serde, problems are listed by section, name and key in
/// alphabetical order (a deserialized table has no file order and no
/// lines); `Config::from_toml_str_at` gives file order and lines.
#[test]
fn the_serde_route_lists_problems_alphabetically_and_the_text_route_in_file_order() {
    let text = "name = \"x\"\n[retry.policies.zeta]\nmax_attempts = 0\n[retry.policies.alpha]\njitter = 1\n[retry.breakers.s3]\nwindow = \"cont\"\n";
    let err = match toml::from_str::<App>(text) {
        Ok(app) => panic!("expected an error, got {app:?}"),
        Err(e) => e,
    };
    let message = err.message();
    let at = |path: &str| {
        message
            .find(path)
            .unwrap_or_else(|| panic!("{path} missing from {message}"))
    };
    assert!(
        at("breakers.s3.window") < at("policies.alpha.jitter")
            && at("policies.alpha.jitter") < at("policies.zeta.max_attempts"),
        "{message}"
    );
    let err = match Config::from_toml_str_at(text, "retry") {
        Ok(c) => panic!("expected an error, got {c:?}"),
        Err(e) => e,
    };
    assert_eq!(
        paths(&err),
        [
            "retry.policies.zeta.max_attempts",
            "retry.policies.alpha.jitter",
            "retry.breakers.s3.window"
        ]
    );
}

/// Issue 9, item 6: every count has a documented upper bound.
#[test]
fn counts_have_upper_bounds() {
    only_problem(
        "[breakers.b]\nhalf_open_calls = 4294967295",
        &[
            "breakers.b.half_open_calls: must be from 1 to 1000 trial calls, got 4294967295",
            "write it like half_open_calls = 3",
        ],
    );
    only_problem(
        "[breakers.b]\nwindow = \"time\"\nminimum_calls = 4294967295",
        &["breakers.b.minimum_calls: must be from 1 to 100000 calls, got 4294967295"],
    );
    only_problem(
        "[budgets.b]\nmin_retries_per_sec = 4294967295",
        &["budgets.b.min_retries_per_sec: must be from 0 to 100000 retries per second"],
    );
    let at_the_bounds = parse(
        "[breakers.b]\nwindow = \"time\"\nminimum_calls = 100000\nhalf_open_calls = 1000\n[budgets.b]\nmin_retries_per_sec = 100000",
    );
    assert_eq!(
        at_the_bounds.breaker("b").map(|b| b.half_open_calls),
        Some(1000)
    );
}

/// Issue 9, item 6: a percent hint keeps the digits the user wrote.
#[test]
fn percent_hints_keep_the_digits_written() {
    only_problem(
        "[breakers.b]\nfailure_rate_threshold = 1.0000001",
        &["for 1.0000001% write failure_rate_threshold = 0.010000001"],
    );
    only_problem(
        "[breakers.b]\nslow_call_rate_threshold = 50",
        &["for 50% write slow_call_rate_threshold = 0.5"],
    );
    only_problem(
        "[breakers.b]\nfailure_rate_threshold = 12.5",
        &["for 12.5% write failure_rate_threshold = 0.125"],
    );
    only_problem(
        "[breakers.b]\nfailure_rate_threshold = 100",
        &["for 100% write failure_rate_threshold = 1.0"],
    );
}

// ---------------------------------------------------------------------------
// Fleet keys (`fleet`, `fleet_quorum`)
// ---------------------------------------------------------------------------

#[test]
fn fleet_keys_parse_inherit_and_default_to_local() {
    let config = parse(
        r#"
        [breakers.payments]
        fleet = true
        fleet_quorum = 3

        [breakers.refunds]
        base = "payments"
        fleet_quorum = 1
        "#,
    );
    let payments = config.breaker("payments").unwrap();
    assert!(payments.fleet);
    assert_eq!(payments.fleet_quorum, 3);
    let refunds = config.breaker("refunds").unwrap();
    assert!(refunds.fleet, "inherited from its base");
    assert_eq!(refunds.fleet_quorum, 1);
    let default = config.breaker("default").unwrap();
    assert!(
        !default.fleet,
        "breakers are local unless they say fleet = true"
    );
    assert_eq!(default.fleet_quorum, 2);
}

#[test]
fn fleet_quorum_is_checked() {
    let err = error("[breakers.a]\nfleet_quorum = 0\n\n[breakers.b]\nfleet_quorum = 1001");
    assert_eq!(
        paths(&err),
        ["breakers.a.fleet_quorum", "breakers.b.fleet_quorum"],
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains(
            "breakers.a.fleet_quorum: must be at least 1; write it like fleet_quorum = 2"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "must be from 1 to 1000 other instances, got 1001; write it like fleet_quorum = 2"
        ),
        "{text}"
    );
    only_problem(
        "[breakers.a]\nfleet = \"yes\"",
        &["breakers.a.fleet", "fleet = true"],
    );
}

#[test]
fn a_misspelt_fleet_key_gets_a_suggestion() {
    only_problem(
        "[breakers.a]\nfleet_qorum = 2",
        &["breakers.a.fleet_qorum: unknown key; did you mean `fleet_quorum`?"],
    );
    only_problem(
        "[breakers.a]\nflet = true",
        &["breakers.a.flet: unknown key; did you mean `fleet`?"],
    );
}

#[test]
fn the_builder_checks_fleet_quorum_like_the_file() {
    let shared = BreakerSettings {
        fleet: true,
        fleet_quorum: 3,
        ..BreakerSettings::DEFAULT
    };
    let config = Config::builder()
        .breaker("payments", shared)
        .build()
        .unwrap();
    assert_eq!(config.breaker("payments"), Some(&shared));
    let err = Config::builder()
        .breaker(
            "payments",
            BreakerSettings {
                fleet_quorum: 0,
                ..shared
            },
        )
        .build()
        .unwrap_err();
    assert_eq!(paths(&err), ["breakers.payments.fleet_quorum"]);
}
