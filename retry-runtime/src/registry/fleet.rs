//! What the fleet backend (`breaker/fleet/`) reads of the registry: the live
//! fleet breakers (`fleet = true`) by name and key. Cold: the fleet's task only.

use super::handles::{current_breaker, current_keyed};
use super::objects::objects;
use crate::breaker::BreakerRef;

/// The live fleet breaker `name` (or its instance for `key`). With `create`,
/// made if the name is known but not live yet (a keyed instance is created
/// under `max_keys` like a call would); without it, only one alive now.
pub(crate) fn fleet_breaker(name: &str, key: Option<&str>, create: bool) -> Option<BreakerRef> {
    let found = match key {
        None if create => current_breaker(name).map(BreakerRef::Static),
        None => objects()
            .breakers
            .get(name)
            .copied()
            .map(BreakerRef::Static),
        Some(key) => {
            let keyed = if create {
                current_keyed(name)
            } else {
                objects().keyed.get(name).copied()
            }?;
            if !keyed.settings().fleet {
                return None;
            }
            if create {
                Some(keyed.get_ref(key))
            } else {
                keyed.existing(key).map(BreakerRef::Static)
            }
        }
    }?;
    found.settings().fleet.then_some(found)
}

/// Every live fleet breaker and keyed instance.
pub(crate) fn fleet_breakers() -> Vec<BreakerRef> {
    let (named, keyed) = {
        let objects = objects();
        let named: Vec<BreakerRef> = objects
            .breakers
            .values()
            .filter(|b| b.settings().fleet)
            .map(|b| BreakerRef::Static(b))
            .collect();
        let keyed: Vec<_> = objects
            .keyed
            .values()
            .filter(|k| k.settings().fleet)
            .copied()
            .collect();
        (named, keyed)
    };
    let mut all = named;
    for table in keyed {
        all.extend(table.instances().into_iter().map(BreakerRef::Static));
    }
    all
}
