//! What a call site's names resolve to under one configuration: the value a
//! call reads through its site's cache, with no lock and no lookup.

use crate::breaker::Breaker;
use crate::breaker::keyed::KeyedBreakers;
use crate::budget::Budget;
use crate::call::latency::Latency;
use crate::{HedgeDelay, HedgeSettings, Policy};

/// What a call site's names resolve to under one configuration.
pub(crate) struct Resolved {
    pub(crate) policy: Policy,
    pub(crate) breaker: Option<&'static Breaker>,
    /// The keyed instances of the breaker's name, for calls with a `breaker_key`.
    pub(crate) keyed: Option<&'static KeyedBreakers>,
    pub(crate) budget: &'static Budget,
    pub(crate) metrics: crate::ops::metrics::SiteMetrics,
    /// The site's hedge, when it names one.
    pub(crate) hedge: Option<Hedging>,
}

/// A hedged site's settings and, for a percentile delay, its latencies.
#[derive(Clone, Copy)]
pub(crate) struct Hedging {
    pub(crate) settings: HedgeSettings,
    /// The percentile in tenths (950 for p95), or `None` for a fixed delay.
    pub(crate) percentile: Option<u16>,
    pub(crate) latency: &'static Latency,
}

impl Hedging {
    /// The delay before the next hedge: the fixed one, or the percentile of
    /// the recent latencies once `min_samples` are recorded.
    #[inline]
    pub(crate) fn delay(&self) -> Option<std::time::Duration> {
        match (self.settings.delay, self.percentile) {
            (HedgeDelay::Fixed(delay), _) => Some(delay),
            (HedgeDelay::Percentile(_), Some(p)) => {
                self.latency.delay(p, self.settings.min_samples)
            }
            (HedgeDelay::Percentile(_), None) => None,
        }
    }

    /// Records a round's latency, if the delay is a percentile of them.
    #[inline]
    pub(crate) fn record(&self, latency: std::time::Duration) {
        if let Some(percentile) = self.percentile {
            self.latency.record(latency, percentile);
        }
    }
}
