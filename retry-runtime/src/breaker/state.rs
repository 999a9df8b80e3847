//! A breaker's state, and the atomic word that holds it with its epoch and
//! its admitted half-open trials.

use std::fmt;

/// The state of a circuit breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum BreakerState {
    /// Calls pass; outcomes are recorded in the window.
    Closed,
    /// Calls are rejected until `open_duration` has passed.
    Open,
    /// Up to `half_open_calls` trial calls pass; their outcomes close or reopen the breaker.
    HalfOpen,
    /// Opened by hand ([`BreakerHandle::force_open`](crate::BreakerHandle::force_open)): rejects every call until reset.
    ForcedOpen,
    /// Switched off by hand ([`BreakerHandle::disable`](crate::BreakerHandle::disable)): every call passes, nothing is recorded.
    Disabled,
}

impl BreakerState {
    pub(super) fn from_u8(v: u8) -> BreakerState {
        match v {
            0 => BreakerState::Closed,
            1 => BreakerState::Open,
            2 => BreakerState::HalfOpen,
            3 => BreakerState::ForcedOpen,
            _ => BreakerState::Disabled,
        }
    }

    pub(crate) fn as_u8(self) -> u8 {
        match self {
            BreakerState::Closed => 0,
            BreakerState::Open => 1,
            BreakerState::HalfOpen => 2,
            BreakerState::ForcedOpen => 3,
            BreakerState::Disabled => 4,
        }
    }
}

impl fmt::Display for BreakerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half-open",
            BreakerState::ForcedOpen => "forced-open",
            BreakerState::Disabled => "disabled",
        })
    }
}

/// The breaker's state, its epoch and the half-open trials admitted, in one
/// atomic word, so that a trial is admitted only by a compare-and-swap on the
/// exact state and epoch it saw: a transition in between makes the swap fail.
///
/// `epoch << 24 | state << 20 | admitted`. The epoch is bumped at every
/// transition (2^40 of them before it wraps); a permit remembers it, and
/// outcomes of permits from an earlier epoch are ignored.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct Word(pub(super) u64);

const ADMITTED_BITS: u32 = 20;
const STATE_BITS: u32 = 4;
/// At most this many trials are admitted at once, whatever `half_open_calls` says.
pub(super) const MAX_ADMITTED: u32 = (1 << ADMITTED_BITS) - 1;

impl Word {
    pub(super) fn new(epoch: u64, state: BreakerState, admitted: u32) -> Word {
        Word(
            epoch << (ADMITTED_BITS + STATE_BITS)
                | u64::from(state.as_u8()) << ADMITTED_BITS
                | u64::from(admitted),
        )
    }

    pub(super) fn epoch(self) -> u64 {
        self.0 >> (ADMITTED_BITS + STATE_BITS)
    }

    #[allow(clippy::cast_possible_truncation)] // masked to 4 bits
    pub(super) fn state(self) -> BreakerState {
        BreakerState::from_u8((self.0 >> ADMITTED_BITS) as u8 & ((1 << STATE_BITS) - 1))
    }

    #[allow(clippy::cast_possible_truncation)] // masked to 20 bits
    pub(super) fn admitted(self) -> u32 {
        (self.0 & u64::from(MAX_ADMITTED)) as u32
    }
}
