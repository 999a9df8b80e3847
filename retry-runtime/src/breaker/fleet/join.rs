//! `join`: checks the URL and the namespace, makes this process's fleet
//! state, and starts the one background task that does all its Redis work.

use std::sync::Arc;

use tokio::sync::{Notify, mpsc, watch};

use super::client::{ACTIVE, Fleet, FleetError, FleetStatus, Shared, set_connected};
use super::protocol::Keys;

/// Joins the fleet `namespace` on the Redis server at `url`: from now on the
/// breakers configured with `fleet = true` are shared with every process that
/// joined the same namespace on the same Redis. Returns at once; the
/// connection is made (and remade whenever lost) by a background task.
///
/// One fleet per process: joining again leaves the fleet joined before.
/// Dropping the returned [`Fleet`] leaves the fleet.
///
/// ```no_run
/// # #[tokio::main] async fn main() -> Result<(), retry_runtime::fleet::FleetError> {
/// let fleet = retry_runtime::fleet::join("redis://127.0.0.1:6379", "checkout")?;
/// # drop(fleet); Ok(()) }
/// ```
///
/// # Errors
///
/// [`FleetError::InvalidUrl`] for a URL the Redis client cannot read, and
/// [`FleetError::InvalidNamespace`] for a namespace that is empty, longer than
/// 64 characters, or has characters other than ASCII letters, digits, `-`,
/// `_` and `.`. A server that cannot be reached is not an error: see
/// [`Fleet::status`].
///
/// # Panics
///
/// Outside a tokio runtime (like `tokio::spawn`).
pub fn join(url: &str, namespace: &str) -> Result<Fleet, FleetError> {
    check_namespace(namespace)?;
    let client = redis::Client::open(url).map_err(|e| FleetError::InvalidUrl(e.to_string()))?;
    let runtime = tokio::runtime::Handle::try_current().unwrap_or_else(|_| {
        panic!("retry_runtime::fleet::join must be called inside a tokio runtime: its connection runs on a background task")
    });
    let (events, receiver) = mpsc::unbounded_channel();
    let instance = format!("{}-{:08x}", std::process::id(), rand::random::<u32>());
    let shared = Arc::new(Shared {
        namespace: namespace.to_owned(),
        keys: Keys::new(namespace),
        instance,
        status: watch::Sender::new(FleetStatus::Connecting),
        connection: std::sync::Mutex::new(None),
        events,
        leave: Notify::new(),
    });
    let previous = ACTIVE
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .replace(Arc::clone(&shared));
    if let Some(previous) = previous {
        set_connected(false);
        previous.leave.notify_one();
    }
    runtime.spawn(super::task::run(Arc::clone(&shared), client, receiver));
    Ok(Fleet { shared })
}

pub(super) fn check_namespace(namespace: &str) -> Result<(), FleetError> {
    let problem = if namespace.is_empty() {
        "it is empty"
    } else if namespace.len() > 64 {
        "it is longer than 64 characters"
    } else if !namespace
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        "it has characters other than ASCII letters, digits, `-`, `_` and `.`"
    } else {
        return Ok(());
    };
    Err(FleetError::InvalidNamespace {
        namespace: namespace.to_owned(),
        problem,
    })
}
