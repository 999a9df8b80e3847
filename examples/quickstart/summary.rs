//! The summary printed at the end: the report's figures as a table and a
//! line of prose per phase.

use std::fmt::Write as _;

use super::Phase;
use super::report::{REASON_BREAKER, REASON_BUDGET, Report, Transition, describe};

fn plural(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

#[allow(clippy::cast_precision_loss)] // display only
fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        "-".to_owned()
    } else {
        format!("{:.1}%", 100.0 * part as f64 / whole as f64)
    }
}

#[allow(clippy::cast_precision_loss)] // display only
fn ratio(part: u64, whole: u64) -> String {
    if whole == 0 {
        "-".to_owned()
    } else {
        format!("{:.2}", part as f64 / whole as f64)
    }
}

impl Report {
    /// The summary table's row for one phase.
    pub fn row(&self, phase: Phase) -> String {
        let p = &self.phases[phase.index()];
        format!(
            "  {:<9} {:>6} {:>6} {:>7} {:>12} {:>9} {:>8} {:>11} {:>10}",
            phase.name(),
            p.calls,
            p.ok,
            p.failed,
            p.fast_failed,
            p.attempts,
            ratio(p.attempts, p.calls),
            p.server_requests,
            p.server_unavailable + p.server_throttled,
        )
    }

    /// The line of prose for one phase: what it showed and what it cost.
    pub fn phase_line(&self, phase: Phase) -> String {
        let p = &self.phases[phase.index()];
        let server_failed = p.server_unavailable + p.server_throttled;
        let opened: Vec<&Transition> = self
            .transitions
            .iter()
            .filter(|t| t.phase == phase && t.to == "open")
            .collect();
        let mut s = format!(
            "- {}: the server failed {} of the {} requests it received ({})",
            phase.name(),
            server_failed,
            p.server_requests,
            percent(server_failed, p.server_requests),
        );
        if p.server_throttled > 0 {
            let _ = write!(s, ", {} of them throttled", p.server_throttled);
        }
        let _ = write!(
            s,
            ". Of {} calls, {} succeeded ({}), {} of them after a retry; {} failed with the server's error ({}) and {} were refused by the breaker ({}).",
            p.calls,
            p.ok,
            percent(p.ok, p.calls),
            p.ok_after_retry,
            p.failed,
            percent(p.failed, p.calls),
            p.fast_failed,
            percent(p.fast_failed, p.calls),
        );
        let _ = write!(
            s,
            " Retries: {}, so {} requests per call ({} calls sent none).",
            p.retries,
            ratio(p.attempts, p.calls),
            p.fast_failed,
        );
        let budget = p.gave_up(REASON_BUDGET);
        if budget > 0 {
            let late = p.budget_refused_after_sleep;
            let when = if late == 0 {
                "at once".to_owned()
            } else {
                format!(
                    "at once ({late} when the backoff ended: other calls had taken the budget's last retries while they slept)"
                )
            };
            let _ = write!(
                s,
                " The budget refused {budget} {}: those calls returned their last error {when} instead of making up to {} more requests.",
                plural(budget, "retry", "retries"),
                p.budget_spared
            );
        }
        let refused = p.retries_refused;
        if refused > 0 {
            let _ = write!(
                s,
                " The breaker refused {refused} {} when the backoff ended (those calls returned their last error).",
                plural(refused, "retry", "retries"),
            );
        }
        let stopped = p.gave_up(REASON_BREAKER) - refused;
        if stopped > 0 {
            let _ = write!(
                s,
                " {stopped} {} gave up without a backoff sleep: after the failure the breaker was open and would still be when the sleep ended.",
                plural(stopped, "call", "calls"),
            );
        }
        if opened.is_empty() {
            s.push_str(" The breaker did not trip in this phase.");
        } else {
            let times: Vec<String> = opened
                .iter()
                .map(|t| format!("{:.2}s", t.at.as_secs_f64()))
                .collect();
            let _ = write!(
                s,
                " The breaker tripped open {} {} in this phase, at {}.",
                opened.len(),
                plural(
                    u64::try_from(opened.len()).unwrap_or(u64::MAX),
                    "time",
                    "times"
                ),
                times.join(", ")
            );
        }
        if phase == Phase::Recovery {
            s.push(' ');
            s.push_str(&self.recovery_cost());
        }
        s
    }

    /// How long a healthy-again server was kept behind an open breaker: from
    /// the phase's start to the breaker's last close, and the calls refused.
    fn recovery_cost(&self) -> String {
        let p = &self.phases[Phase::Recovery.index()];
        let phase_start = self.phase_length * 3;
        let closed = self
            .transitions
            .iter()
            .filter(|t| t.to == "closed" && t.at >= phase_start)
            .map(|t| t.at)
            .next();
        let open_at_start = self
            .transitions
            .iter()
            .rev()
            .find(|t| t.at < phase_start)
            .is_some_and(|t| t.to != "closed");
        match (open_at_start, closed) {
            (true, Some(at)) => format!(
                "It was not closed when the phase began and closed {:.2}s into it: in this phase it refused {} calls, while the server failed {} of the {} requests it received.",
                (at - phase_start).as_secs_f64(),
                p.fast_failed,
                p.server_unavailable + p.server_throttled,
                p.server_requests,
            ),
            (true, None) => format!(
                "It was not closed when the phase began and did not close in this phase: it refused {} calls.",
                p.fast_failed
            ),
            (false, _) => "It was closed when the phase began.".to_owned(),
        }
    }

    /// The whole summary, as printed at the end.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "Summary");
        let _ = writeln!(
            s,
            "  A call counts in the phase it started in; the server counts a request in the phase it arrived in."
        );
        let _ = writeln!(
            s,
            "  {:<9} {:>6} {:>6} {:>7} {:>12} {:>9} {:>8} {:>11} {:>10}",
            "phase",
            "calls",
            "ok",
            "failed",
            "fast-failed",
            "requests",
            "req/call",
            "server-got",
            "server-err",
        );
        for phase in Phase::ALL {
            let _ = writeln!(s, "{}", self.row(phase));
        }
        let _ = writeln!(
            s,
            "  (requests: sent by the clients for the phase's calls; server-got/server-err: received/failed by the server in the phase)"
        );
        let _ = writeln!(s);
        for phase in Phase::ALL {
            let _ = writeln!(s, "{}", self.phase_line(phase));
        }
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "Breaker transitions ({}, from the library's events):",
            self.transitions.len()
        );
        for t in &self.transitions {
            let _ = writeln!(s, "  [{:>5.2}s] {}", t.at.as_secs_f64(), describe(t));
        }
        let fast_failed: u64 = self.phases.iter().map(|p| p.fast_failed).sum();
        let refused_retries: u64 = self.phases.iter().map(|p| p.retries_refused).sum();
        let _ = writeln!(
            s,
            "In all the breaker refused {} attempts ({} first attempts, returned as BreakerOpen, and {} retries) and the budget refused {} retries; the breaker ends {}.",
            self.breaker_refused,
            fast_failed,
            refused_retries,
            self.budget_refused,
            self.final_state
        );
        s
    }
}
