//! Hostile config files (issue 9): each is handled fast, never a crash.
//! Time bounds are generous (debug builds on a shared machine); the point is
//! to catch quadratic behaviour, which misses them by orders of magnitude.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use retry_runtime::Config;

/// Runs `f` on a thread with a 2 MiB stack, the size of a tokio worker's.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(f)
        .expect("spawn a thread")
        .join()
        .expect("the thread finished")
}

fn timed<T>(what: &str, limit: Duration, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    let took = start.elapsed();
    eprintln!("{what}: {took:?}");
    assert!(took < limit, "{what} took {took:?}, more than {limit:?}");
    out
}

/// Issue 9, item 1: `base` chains resolve iteratively.
#[test]
fn a_100_000_long_base_chain_resolves_on_a_2_mib_thread() {
    const N: usize = 100_000;
    let mut text = String::new();
    for i in 0..N - 1 {
        let _ = writeln!(text, "[policies.p{i}]\nbase = \"p{}\"", i + 1);
    }
    let _ = writeln!(text, "[policies.p{}]\nmax_attempts = 7", N - 1);
    let config = on_small_stack(move || {
        timed("100,000-long chain", Duration::from_secs(60), || {
            Config::from_toml_str(&text)
        })
    })
    .expect("a long chain is valid");
    assert_eq!(config.policy("p0").map(|p| p.max_attempts), Some(7));
}

/// A cycle as long as the chain above is one problem, found without recursion.
#[test]
fn a_100_000_long_base_cycle_is_one_problem_on_a_2_mib_thread() {
    const N: usize = 100_000;
    let mut text = String::new();
    for i in 0..N {
        let _ = writeln!(text, "[breakers.b{i}]\nbase = \"b{}\"", (i + 1) % N);
    }
    let err = on_small_stack(move || Config::from_toml_str(&text)).expect_err("a cycle");
    assert_eq!(err.problems().len(), 1);
    assert!(
        err.problems()[0]
            .message()
            .starts_with("inheritance cycle b0 -> ")
    );
}

/// Issue 9, item 2: no "did you mean" over absurd names.
#[test]
fn names_of_100_kib_with_unknown_bases_finish_well_under_a_second() {
    let mut text = String::new();
    for i in 0..10 {
        let name = format!("{i}{}", "n".repeat(100 * 1024));
        let base = format!("{i}{}", "b".repeat(100 * 1024));
        let _ = writeln!(text, "[policies.{name}]\nbase = \"{base}\"");
    }
    let err = timed("100 KiB names", Duration::from_secs(5), || {
        Config::from_toml_str(&text)
    })
    .expect_err("unknown bases");
    assert_eq!(err.problems().len(), 10);
    for problem in err.problems() {
        assert!(problem.message().contains("add a [policies."), "{problem}");
        assert!(!problem.message().contains("did you mean"));
    }
}

/// Many tables naming unknown bases: the list of defined names is capped and
/// suggestions stop past a budget, so the work stays linear.
#[test]
fn fifty_thousand_unknown_bases_stay_linear() {
    let mut text = String::new();
    for i in 0..50_000 {
        let _ = writeln!(text, "[budgets.b{i}]\nbase = \"x{i}\"");
    }
    let err = timed("50,000 unknown bases", Duration::from_secs(30), || {
        Config::from_toml_str(&text)
    })
    .expect_err("unknown bases");
    assert_eq!(err.problems().len(), 50_000);
    assert!(err.problems()[0].message().contains("... (50001 in all)"));
}

/// Issue 9, item 3: locations come from one pass over the text.
#[test]
fn a_10_mb_file_with_100_000_problems_is_reported_in_a_few_seconds() {
    let mut text = String::new();
    let mut i = 0;
    while text.len() < 10_000_000 || i < 100_000 {
        let _ = writeln!(
            text,
            "[breakers.breaker_number_{i:08}]\nhalf_open_calls = 0 # {}",
            "padding ".repeat(6)
        );
        i += 1;
    }
    assert!(i >= 100_000, "{i} tables");
    let err = timed("10 MB, 100,000+ problems", Duration::from_secs(60), || {
        Config::from_toml_str(&text)
    })
    .expect_err("every table is wrong");
    assert_eq!(err.problems().len(), i);
    let last = &err.problems()[i - 1];
    assert_eq!(last.location().map(|l| l.line), Some(2 * i));
    // The display renders the first problems in full and counts the rest.
    let shown = timed("display", Duration::from_secs(5), || err.to_string());
    assert!(
        shown.lines().count() < 60,
        "{} lines",
        shown.lines().count()
    );
    assert!(
        shown.contains(&format!("and {} more", i - 50)),
        "{shown:.300}"
    );
}

/// The same on a single line: columns too come from one pass.
#[test]
fn one_long_line_with_many_problems_is_located_in_one_pass() {
    let mut text = String::from("budgets = { ");
    for i in 0..50_000 {
        let _ = write!(text, "b{i} = {{ retry_ratio = -1.0, ttl = \"0s\" }}, ");
    }
    text.push_str("\"é\" = { ttl = \"0s\" } }");
    let err = timed("one long line", Duration::from_secs(30), || {
        Config::from_toml_str(&text)
    })
    .expect_err("every table is wrong");
    assert_eq!(err.problems().len(), 100_001);
    let last = err.problems()[100_000]
        .location()
        .map(|l| (l.line, l.column));
    assert_eq!(last, Some((1, text.chars().count() - 7)));
    assert!(
        err.problems()
            .iter()
            .all(|p| p.location().map(|l| l.line) == Some(1))
    );
}

/// Deeply nested values are TOML's to refuse; they must not crash us.
#[test]
fn deeply_nested_values_do_not_crash_on_a_2_mib_thread() {
    for depth in [1_000, 100_000] {
        let text = format!(
            "[policies.a]\nmax_attempts = {}{}",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let result = on_small_stack(move || Config::from_toml_str(&text).map(|_| ()));
        assert!(result.is_err(), "depth {depth}");
        let text = format!(
            "[policies.a]\nmax_attempts = {}1{}",
            "{a=".repeat(depth),
            "}".repeat(depth)
        );
        let result = on_small_stack(move || Config::from_toml_str(&text).map(|_| ()));
        assert!(result.is_err(), "depth {depth}");
    }
}
