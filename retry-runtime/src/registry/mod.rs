//! The registry: names to live objects, and the config they come from.
//!
//! | file | job |
//! |---|---|
//! | `live.rs` | the config in force and its generation |
//! | `call_site.rs` | every `#[retryable]` function and its cached resolution |
//! | `objects.rs` | the live breakers, keyed tables and budgets, by name |
//! | `install.rs` | `install`, `reset_state`, and the errors of a refused config |
//! | `handles.rs` | `breaker`, `breaker_for`, `budget`, `first_admitting` |
//! | `snapshot.rs` | `snapshot` |
//! | `fleet.rs` | live fleet breakers by name and key, for the fleet's task |

mod call_site;
#[cfg(feature = "redis")]
pub(crate) mod fleet;
mod handles;
mod install;
mod live;
mod objects;
mod resolved;
mod snapshot;

pub use call_site::{CALL_SITES, CallSite, call_sites};
pub use handles::{BreakerHandle, BudgetHandle, breaker, breaker_for, budget, first_admitting};
#[cfg_attr(not(any(feature = "admin", feature = "watch")), allow(unused_imports))]
pub(crate) use install::install_via;
pub use install::{InstallError, SyncTimeout, UndefinedName, install, reset_state};
pub use live::current_config;
pub use objects::NameKind;
pub(crate) use resolved::{Hedging, Resolved};
pub use snapshot::{
    BreakerSnapshot, BudgetSnapshot, CallSiteSnapshot, FleetView, Snapshot, snapshot,
};
