//! `[hedges.NAME]` in the config (DESIGN §13 with the checks of §5): every
//! key parsed, inherited and range-checked, unknown keys with "did you mean",
//! `ConfigBuilder::hedge`, and `install` naming an undefined hedge together
//! with every other undefined name.

use std::time::Duration;

use retry_runtime::{Config, ConfigError, HedgeDelay, HedgeSettings, InstallError, retryable};

fn error(toml: &str) -> ConfigError {
    match Config::from_toml_str(toml) {
        Ok(config) => panic!("expected an error, got {config:?}"),
        Err(e) => e,
    }
}

/// The only problem of `toml`: its path, and a rendered line containing every needle.
fn only_problem(toml: &str, path: &str, needles: &[&str]) {
    let err = error(toml);
    assert_eq!(err.problems().len(), 1, "expected one problem:\n{err}");
    let problem = &err.problems()[0];
    assert_eq!(problem.path(), path, "{err}");
    let line = problem.to_string();
    for needle in needles {
        assert!(line.contains(needle), "`{needle}` missing from: {line}");
    }
}

#[test]
fn every_key_is_read() {
    let config = Config::from_toml_str(
        r#"
        [hedges.search]
        delay = "p99.9"
        max_hedges = 3
        min_samples = 500

        [hedges.kv]
        delay = "40ms"
        "#,
    )
    .unwrap();
    assert_eq!(
        config.hedge("search"),
        Some(&HedgeSettings {
            delay: HedgeDelay::Percentile(99.9),
            max_hedges: 3,
            min_samples: 500,
        })
    );
    let kv = config.hedge("kv").unwrap();
    assert_eq!(kv.delay, HedgeDelay::Fixed(Duration::from_millis(40)));
    assert_eq!(
        kv.max_hedges,
        HedgeSettings::DEFAULT.max_hedges,
        "default 1"
    );
    assert_eq!(kv.min_samples, 100, "default 100");
}

#[test]
fn a_hedge_inherits_from_its_base_and_from_default() {
    let config = Config::from_toml_str(
        r#"
        [hedges.default]
        delay = "p90"
        max_hedges = 2

        [hedges.reads]
        min_samples = 50

        [hedges.writes]
        base = "reads"
        delay = "5ms"
        "#,
    )
    .unwrap();
    let reads = config.hedge("reads").unwrap();
    assert_eq!(
        (reads.delay, reads.max_hedges, reads.min_samples),
        (HedgeDelay::Percentile(90.0), 2, 50)
    );
    let writes = config.hedge("writes").unwrap();
    assert_eq!(
        (writes.delay, writes.max_hedges, writes.min_samples),
        (HedgeDelay::Fixed(Duration::from_millis(5)), 2, 50)
    );
}

#[test]
fn delay_out_of_range_or_unreadable() {
    only_problem(
        "[hedges.a]\ndelay = \"p89\"",
        "hedges.a.delay",
        &["from p90 to p99.9", "got p89", "line 2"],
    );
    only_problem(
        "[hedges.a]\ndelay = \"p99.95\"",
        "hedges.a.delay",
        &["at most one decimal"],
    );
    only_problem(
        "[hedges.a]\ndelay = \"p100\"",
        "hedges.a.delay",
        &["from p90 to p99.9"],
    );
    only_problem(
        "[hedges.a]\ndelay = \"pfast\"",
        "hedges.a.delay",
        &["invalid percentile", "\"p95\""],
    );
    only_problem(
        "[hedges.a]\ndelay = \"0s\"",
        "hedges.a.delay",
        &["more than 0s"],
    );
    only_problem(
        "[hedges.a]\ndelay = \"2m\"",
        "hedges.a.delay",
        &["at most 1m"],
    );
    only_problem(
        "[hedges.a]\ndelay = \"soon\"",
        "hedges.a.delay",
        &["invalid delay", "\"40ms\""],
    );
    only_problem(
        "[hedges.a]\ndelay = 40",
        "hedges.a.delay",
        &["invalid type"],
    );
}

#[test]
fn max_hedges_is_from_1_to_10() {
    only_problem(
        "[hedges.a]\nmax_hedges = 0",
        "hedges.a.max_hedges",
        &["from 1 to 10", "got 0"],
    );
    only_problem(
        "[hedges.a]\nmax_hedges = 11",
        "hedges.a.max_hedges",
        &["from 1 to 10", "got 11"],
    );
    only_problem(
        "[hedges.a]\nmax_hedges = -1",
        "hedges.a.max_hedges",
        &["invalid value"],
    );
}

#[test]
fn min_samples_is_from_1_to_1000() {
    only_problem(
        "[hedges.a]\nmin_samples = 0",
        "hedges.a.min_samples",
        &["from 1 to 1000", "got 0"],
    );
    only_problem(
        "[hedges.a]\nmin_samples = 5000",
        "hedges.a.min_samples",
        &["got 5000"],
    );
}

#[test]
fn unknown_keys_base_and_section_get_did_you_mean() {
    only_problem(
        "[hedges.a]\nmax_hedge = 2",
        "hedges.a.max_hedge",
        &["unknown key", "did you mean `max_hedges`?"],
    );
    only_problem(
        "[hedges.a]\ndelays = \"p95\"",
        "hedges.a.delays",
        &["did you mean `delay`?"],
    );
    only_problem(
        "[hedgs.a]\ndelay = \"p95\"",
        "hedgs",
        &["did you mean `hedges`?"],
    );
    only_problem(
        "[hedges.a]\nbase = \"serch\"\n[hedges.search]\ndelay = \"p95\"",
        "hedges.a.base",
        &["no hedge is called \"serch\"", "did you mean \"search\"?"],
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let err = error("[hedges.a]\ndelay = \"p50\"\nmax_hedges = 20\nmin_samples = 0\ncolour = 1");
    let paths: Vec<&str> = err.problems().iter().map(|p| p.path()).collect();
    assert_eq!(
        paths,
        [
            "hedges.a.delay",
            "hedges.a.max_hedges",
            "hedges.a.min_samples",
            "hedges.a.colour"
        ],
        "in the order of the file"
    );
}

#[test]
fn the_errors_read_well() {
    let err = error("[hedges.search]\ndelay = \"p50\"\nmax_hedges = 20\nmin_sample = 5");
    let text = err.to_string();
    for line in [
        "invalid retry config: 3 problems:",
        "hedges.search.delay: percentile must be from p90 to p99.9 with at most one decimal, got p50; write it like delay = \"p95\" (line 2, column 9)",
        "hedges.search.max_hedges: must be from 1 to 10 hedges in flight beside the first attempt, got 20; write it like max_hedges = 1 (line 3, column 14)",
        "hedges.search.min_sample: unknown key; did you mean `min_samples`? valid keys here: base, delay, max_hedges, min_samples (line 4, column 1)",
    ] {
        assert!(text.contains(line), "missing `{line}` in:\n{text}");
    }
}

#[test]
fn the_builder_checks_hedges_like_a_file() {
    let ok = Config::builder()
        .hedge(
            "kv",
            HedgeSettings {
                max_hedges: 2,
                ..HedgeSettings::DEFAULT
            },
        )
        .build()
        .unwrap();
    assert_eq!(ok.hedge("kv").unwrap().max_hedges, 2);
    let err = Config::builder()
        .hedge(
            "a",
            HedgeSettings {
                delay: HedgeDelay::Percentile(50.0),
                ..HedgeSettings::DEFAULT
            },
        )
        .hedge(
            "b",
            HedgeSettings {
                min_samples: 0,
                ..HedgeSettings::DEFAULT
            },
        )
        .build()
        .unwrap_err();
    let paths: Vec<&str> = err.problems().iter().map(|p| p.path()).collect();
    assert_eq!(paths, ["hedges.a.delay", "hedges.b.min_samples"]);
}

#[retryable(policy = "nowhere", hedge = "undefined-hedge", idempotent)]
async fn uses_undefined_names() -> std::io::Result<()> {
    Ok(())
}

#[test]
fn install_names_an_undefined_hedge_with_the_other_undefined_names() {
    let _ = uses_undefined_names; // registered at link time
    let err = retry_runtime::install(Config::builtin()).unwrap_err();
    let InstallError::UndefinedNames { missing } = &err else {
        panic!("expected undefined names, got {err}");
    };
    let names: Vec<(String, &str)> = missing
        .iter()
        .map(|m| (m.kind.to_string(), m.name))
        .collect();
    assert_eq!(
        names,
        [
            ("policy".to_owned(), "nowhere"),
            ("hedge".to_owned(), "undefined-hedge")
        ]
    );
    let text = err.to_string();
    assert!(
        text.contains("hedge `undefined-hedge`, used by hedge_config::uses_undefined_names"),
        "{text}"
    );
    assert!(
        text.contains("add a `[hedges.undefined-hedge]` table"),
        "{text}"
    );
}
