//! The quickstart's scenario (`examples/quickstart/scenario.rs`) run with other
//! failure rates, another seed and short phases: the summary it prints must
//! follow the run, every figure equal to a counter of the server, the clients
//! or the library's events, and the counters must agree with each other.

#[allow(dead_code)] // the example uses parts of it that this test does not
#[path = "../examples/quickstart/scenario.rs"]
mod scenario;

use std::collections::BTreeMap;
use std::time::Duration;

use scenario::{Events, Phase, PhaseReport, Report, Scenario, Transition};
use tracing_subscriber::layer::SubscriberExt as _;

fn install() -> Events {
    let events = Events::default();
    let subscriber = tracing_subscriber::registry().with(scenario::EventLayer::new(events.clone()));
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber of this test");
    let config = retry_runtime::Config::from_toml_str(include_str!("../examples/retry.toml"))
        .expect("examples/retry.toml is valid");
    retry_runtime::install(config).expect("examples/retry.toml defines every name");
    events
}

/// One run: heavier failures than the quickstart's, so the breaker trips in
/// the brownout too; the summary must say so, with the run's own figures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn summary_follows_the_run() {
    let events = install();
    let scenario = Scenario {
        phase_length: Duration::from_millis(1200),
        workers: 4,
        seed: 7,
        failure_rate: [0.25, 0.75, 1.0, 0.0],
        throttle_rate: 0.05,
        progress: scenario::Progress::Off,
        ..Scenario::default()
    };
    let report = scenario::run(&scenario, &events)
        .await
        .expect("the run completes");
    let summary = report.summary();
    println!("{summary}");

    // Each call ends one way.
    for (phase, p) in Phase::ALL.iter().zip(&report.phases) {
        assert_eq!(p.ok + p.failed + p.fast_failed, p.calls, "{phase:?}: {p:?}");
        assert!(p.ok_after_retry <= p.ok, "{phase:?}: {p:?}");
        // Requests = first attempts the breaker let through + retries made:
        // every retry event is followed by an attempt unless the breaker or
        // the budget (emptied by other calls during the sleep) refuses it
        // when the backoff ends.
        assert!(p.retries_refused <= p.gave_up(scenario::REASON_BREAKER));
        assert!(p.budget_refused_after_sleep <= p.gave_up(scenario::REASON_BUDGET));
        assert_eq!(
            p.attempts,
            p.calls - p.fast_failed + p.retries - p.retries_refused - p.budget_refused_after_sleep,
            "{phase:?}: {p:?}"
        );
    }
    // What the clients sent is what the server received (loopback loses nothing).
    let sum = |f: fn(&PhaseReport) -> u64| report.phases.iter().map(f).sum::<u64>();
    assert_eq!(sum(|p| p.attempts), sum(|p| p.server_requests));
    // The breaker's and the budget's own counters match the events and the clients.
    assert_eq!(
        report.breaker_refused,
        sum(|p| p.fast_failed) + sum(|p| p.retries_refused)
    );
    assert_eq!(
        report.budget_refused,
        sum(|p| p.gave_up(scenario::REASON_BUDGET))
    );

    // The server failed about the share it was set to (a seeded draw per request).
    let share = |p: &PhaseReport| {
        (p.server_unavailable + p.server_throttled) as f64 / p.server_requests.max(1) as f64
    };
    let flaky = &report.phases[Phase::Flaky.index()];
    assert!(
        (share(flaky) - 0.30).abs() < 0.08,
        "flaky share {}",
        share(flaky)
    );
    let brownout = &report.phases[Phase::Brownout.index()];
    assert!(brownout.server_throttled == 0);
    let outage = &report.phases[Phase::Outage.index()];
    assert_eq!(outage.server_unavailable, outage.server_requests);
    assert!(
        outage.fast_failed > 0,
        "the breaker failed calls fast in the outage"
    );
    assert_eq!(report.phases[Phase::Recovery.index()].server_unavailable, 0);

    // Transitions come in order, each from the state the last one entered.
    let mut state = "closed";
    for t in &report.transitions {
        assert_eq!(t.from, state, "{:?}", report.transitions);
        state = &t.to;
    }
    assert_eq!(state, report.final_state.to_string());
    assert_eq!(report.final_state, retry_runtime::BreakerState::Closed);
    let tripped_in = |phase: Phase| {
        report
            .transitions
            .iter()
            .any(|t| t.phase == phase && t.to == "open" && t.tripped.is_some())
    };
    assert!(tripped_in(Phase::Brownout), "{:?}", report.transitions);
    assert!(tripped_in(Phase::Outage) || report.phases[Phase::Outage.index()].ok == 0);

    // The summary prints these figures, and nothing says otherwise.
    for phase in Phase::ALL {
        let p = &report.phases[phase.index()];
        assert!(summary.contains(&report.row(phase)), "{phase:?} row");
        let expected = format!(
            "- {}: the server failed {} of the {} requests it received",
            phase.name(),
            p.server_unavailable + p.server_throttled,
            p.server_requests
        );
        assert!(summary.contains(&expected), "missing {expected:?}");
        let calls = format!("Of {} calls, {} succeeded", p.calls, p.ok);
        assert!(summary.contains(&calls), "missing {calls:?}");
        assert!(summary.contains(&format!("Retries: {},", p.retries)));
    }
    assert!(summary.contains("The breaker tripped open"));
    for t in &report.transitions {
        assert!(summary.contains(&scenario::describe(t)), "missing {t:?}");
    }
    assert!(summary.contains(&format!(
        "In all the breaker refused {} attempts",
        report.breaker_refused
    )));
}

/// The summary of a run in which nothing tripped says so, and claims no
/// breaker episode (rendered from figures, no run needed).
#[test]
fn summary_of_a_quiet_run() {
    let phase = |server_requests, server_unavailable| PhaseReport {
        calls: 100,
        ok: 100,
        ok_after_retry: server_unavailable,
        attempts: server_requests,
        retries: server_unavailable,
        server_requests,
        server_unavailable,
        gave_up: BTreeMap::new(),
        ..PhaseReport::default()
    };
    let report = Report {
        phase_length: Duration::from_secs(1),
        phases: [phase(103, 3), phase(110, 10), phase(100, 0), phase(100, 0)],
        transitions: Vec::<Transition>::new(),
        breaker_refused: 0,
        budget_refused: 0,
        final_state: retry_runtime::BreakerState::Closed,
    };
    let summary = report.summary();
    assert!(
        summary.contains("- flaky: the server failed 3 of the 103 requests it received (2.9%)")
    );
    assert!(summary.contains("Of 100 calls, 100 succeeded (100.0%), 3 of them after a retry"));
    assert_eq!(
        summary
            .matches("The breaker did not trip in this phase.")
            .count(),
        4
    );
    assert!(summary.contains("It was closed when the phase began."));
    assert!(!summary.contains("The budget refused"));
    assert!(summary.contains("and the budget refused 0 retries"));
    assert!(summary.contains("Breaker transitions (0, from the library's events):"));

    // A budget emptied by other calls during a backoff refuses after the sleep.
    let mut report = report;
    report.phases[0].gave_up = BTreeMap::from([(scenario::REASON_BUDGET.to_owned(), 5)]);
    report.phases[0].budget_refused_after_sleep = 2;
    report.phases[0].budget_spared = 5;
    let summary = report.summary();
    assert!(
        summary.contains(
            "The budget refused 5 retries: those calls returned their last error at once (2 when the backoff ended: other calls had taken the budget's last retries while they slept) instead of making up to 5 more requests."
        ),
        "{summary}"
    );
}
