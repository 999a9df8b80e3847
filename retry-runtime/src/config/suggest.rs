//! Messages for operators: serde messages rewritten, "did you mean", examples.

/// The three sections of a config, in the order the docs list them.
pub(super) const SECTIONS: [&str; 4] = ["policies", "breakers", "budgets", "hedges"];

// ---------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------

/// Rewrites a serde message for an operator: known keys and variants, the
/// closest match, and an example of the expected value.
pub(super) fn explain(path: &str, message: &str) -> String {
    let field = path.rsplit('.').next().unwrap_or(path);
    let quoted = backticked(message);
    if message.starts_with("unknown field")
        && let Some((bad, valid)) = quoted.split_first()
    {
        return unknown_key(bad, valid);
    }
    if message.starts_with("unknown variant")
        && let Some((bad, valid)) = quoted.split_first()
    {
        let list = valid.join(", ");
        let fix = match closest(bad, valid.iter().copied()) {
            Some(near) => format!("did you mean \"{near}\"?"),
            None => format!(
                "write one of them in quotes, like {field} = \"{}\"",
                valid.first().copied().unwrap_or_default()
            ),
        };
        return format!("unknown variant \"{bad}\", expected one of {list}; {fix}");
    }
    if message.starts_with("invalid type:") || message.starts_with("invalid value:") {
        let mut out = message
            .replace(
                "expected u32",
                &format!("expected a whole number from {}", count_range(field)),
            )
            .replace("expected f64", "expected a number")
            .replace("expected a map", "expected a table")
            .replace("expected a string", "expected a name in quotes");
        let depth = path.split('.').count();
        let fix = if depth == 1 && SECTIONS.contains(&field) {
            Some(format!(
                "write it as tables like [{field}.default] followed by their keys"
            ))
        } else {
            example(field).map(|ex| format!("write it like {ex}"))
        };
        if let Some(fix) = fix {
            out.push_str("; ");
            out.push_str(&fix);
        }
        return out;
    }
    message.to_owned()
}

/// The range a count key accepts, as its range check states it (the type's
/// own range, 0 to 4294967295, only for a key this does not know).
fn count_range(key: &str) -> String {
    use super::limits::{
        MAX_ATTEMPTS, MAX_HALF_OPEN_CALLS, MAX_KEYS, MAX_MIN_RETRIES_PER_SEC, MAX_MINIMUM_CALLS,
        MAX_WINDOW_SIZE,
    };
    match key {
        "max_attempts" => format!("1 to {MAX_ATTEMPTS}"),
        "window_size" => format!("1 to {MAX_WINDOW_SIZE}"),
        "minimum_calls" => {
            format!("1 to {MAX_MINIMUM_CALLS} (at most window_size for a count window)")
        }
        "half_open_calls" => format!("1 to {MAX_HALF_OPEN_CALLS}"),
        "max_keys" => format!("1 to {MAX_KEYS}"),
        "min_retries_per_sec" => format!("0 to {MAX_MIN_RETRIES_PER_SEC}"),
        _ => format!("0 to {}", u32::MAX),
    }
}

/// `unknown key; did you mean `x`? valid keys here: ...`.
pub(super) fn unknown_key(bad: &str, valid: &[&str]) -> String {
    let list = valid.join(", ");
    match closest(bad, valid.iter().copied()) {
        Some(near) => format!("unknown key; did you mean `{near}`? valid keys here: {list}"),
        None => format!("unknown key; remove it, or use one of the valid keys here: {list}"),
    }
}

/// An example line for a known key.
pub(super) fn example(key: &str) -> Option<&'static str> {
    Some(match key {
        "base" => "base = \"default\"",
        "max_attempts" => "max_attempts = 5",
        "backoff" => "backoff = \"exponential\"",
        "initial_delay" => "initial_delay = \"100ms\"",
        "multiplier" => "multiplier = 2.0",
        "max_delay" => "max_delay = \"10s\"",
        "jitter" => "jitter = \"full\"",
        "max_elapsed" => "max_elapsed = \"30s\" (or \"none\")",
        "attempt_timeout" => "attempt_timeout = \"2s\" (or \"none\")",
        "window" => "window = \"count\"",
        "window_size" => "window_size = 20",
        "window_duration" => "window_duration = \"60s\"",
        "failure_rate_threshold" => "failure_rate_threshold = 0.5",
        "slow_call_duration" => "slow_call_duration = \"2s\"",
        "slow_call_rate_threshold" => "slow_call_rate_threshold = 1.0",
        "minimum_calls" => "minimum_calls = 10",
        "open_duration" => "open_duration = \"30s\"",
        "half_open_calls" => "half_open_calls = 3",
        "max_half_open_wait" => "max_half_open_wait = \"60s\" (or \"none\")",
        "retry_after_is_failure" => "retry_after_is_failure = false",
        "max_keys" => "max_keys = 1000",
        "fleet" => "fleet = true",
        "fleet_quorum" => "fleet_quorum = 2",
        "max_retry_after" => "max_retry_after = \"60s\" (or \"none\")",
        "nested" => "nested = \"single\"",
        "ttl" => "ttl = \"10s\"",
        "min_retries_per_sec" => "min_retries_per_sec = 10",
        "retry_ratio" => "retry_ratio = 0.2",
        "delay" => "delay = \"p95\" (or a duration like \"40ms\")",
        "max_hedges" => "max_hedges = 1",
        "min_samples" => "min_samples = 100",
        _ => return None,
    })
}

/// The `quoted` parts of a serde message, in order.
pub(super) fn backticked(message: &str) -> Vec<&str> {
    message.split('`').skip(1).step_by(2).collect()
}

/// Names longer than this get no "did you mean": no real key or name is
/// that long, and comparing long strings costs time and memory.
pub(super) const MAX_SUGGESTED_LEN: usize = 64;

/// The candidate closest to `bad`, if close enough to be a likely typo:
/// at most a third of its characters differ (a swap of neighbours counts as
/// one edit). Names longer than [`MAX_SUGGESTED_LEN`] are neither suggested
/// nor given suggestions.
pub(super) fn closest<'c>(
    bad: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    if bad.len() > MAX_SUGGESTED_LEN {
        return None;
    }
    let bad = bad.to_lowercase();
    let bad_chars = bad.chars().count();
    candidates
        .into_iter()
        .filter(|c| c.len() <= MAX_SUGGESTED_LEN)
        .filter_map(|c| {
            let limit = (c.chars().count() / 3).max(1);
            // The distance is at least the difference of the lengths.
            if bad_chars.abs_diff(c.chars().count()) > limit {
                return None;
            }
            let d = strsim::osa_distance(&bad, &c.to_lowercase());
            (d <= limit).then_some((d, c))
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_does_not_compare_absurd_names() {
        let long = "x".repeat(100 * 1024);
        assert_eq!(closest(&long, ["default", long.as_str()]), None);
        assert_eq!(
            closest("defualt", ["default", long.as_str()]),
            Some("default")
        );
    }

    #[test]
    fn closest_suggests_only_likely_typos() {
        let keys = ["max_attempts", "max_delay", "max_elapsed"];
        assert_eq!(closest("max_dealy", keys), Some("max_delay"));
        assert_eq!(closest("MAX_DELAY", keys), Some("max_delay"));
        assert_eq!(closest("retries", keys), None);
        assert_eq!(closest("ful", ["none", "full", "equal"]), Some("full"));
    }

    #[test]
    fn serde_messages_are_rewritten_for_operators() {
        let m = explain(
            "policies.a.max_dealy",
            "unknown field `max_dealy`, expected one of `max_attempts`, `max_delay`",
        );
        assert_eq!(
            m,
            "unknown key; did you mean `max_delay`? valid keys here: max_attempts, max_delay"
        );
        let m = explain(
            "breakers.a.window",
            "unknown variant `cont`, expected `count` or `time`",
        );
        assert_eq!(
            m,
            "unknown variant \"cont\", expected one of count, time; did you mean \"count\"?"
        );
        let m = explain(
            "policies.a.max_attempts",
            "invalid type: string \"x\", expected u32",
        );
        assert_eq!(
            m,
            "invalid type: string \"x\", expected a whole number from 1 to 1000; write it like max_attempts = 5"
        );
    }
}
