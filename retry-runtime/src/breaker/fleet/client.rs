//! The public side: [`join`](crate::fleet::join), [`Fleet`], its status, and the fleet-wide
//! controls of a [`BreakerHandle`].

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, watch};

use super::Event;
use super::protocol::{self, FORCE_SCRIPT, Forced, Keys, Message};
use crate::{BreakerHandle, BreakerState};

/// Whether the joined fleet is connected: fleet breakers then take their
/// trials by the fleet's lock; otherwise they run as local breakers.
static CONNECTED: AtomicBool = AtomicBool::new(false);

/// The fleet this process has joined, if any.
pub(super) static ACTIVE: RwLock<Option<Arc<Shared>>> = RwLock::new(None);

pub(super) fn connected() -> bool {
    CONNECTED.load(Ordering::Acquire)
}

pub(super) fn set_connected(on: bool) {
    CONNECTED.store(on, Ordering::Release);
}

/// Hands an event to the joined fleet's task; nothing if none is joined.
pub(super) fn send(event: Event) {
    if let Some(shared) = active() {
        // The task has stopped only if the fleet is being left: nothing to do.
        let _ = shared.events.send(event);
    }
}

fn active() -> Option<Arc<Shared>> {
    ACTIVE
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

/// Whether `shared` is the fleet joined now (not left, not replaced).
pub(super) fn is_active(shared: &Arc<Shared>) -> bool {
    active().is_some_and(|a| Arc::ptr_eq(&a, shared))
}

/// Forgets `shared` as the joined fleet (unless another replaced it).
pub(super) fn deactivate(shared: &Arc<Shared>) {
    let mut active = ACTIVE
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if active.as_ref().is_some_and(|a| Arc::ptr_eq(a, shared)) {
        *active = None;
        set_connected(false);
    }
}

/// What a joined fleet's handle and its task share.
pub(super) struct Shared {
    pub(super) namespace: String,
    pub(super) instance: String,
    pub(super) keys: Keys,
    pub(super) status: watch::Sender<FleetStatus>,
    /// The command connection while connected (cloned by fleet-wide controls).
    pub(super) connection: std::sync::Mutex<Option<redis::aio::MultiplexedConnection>>,
    pub(super) events: mpsc::UnboundedSender<Event>,
    /// Told when the fleet is left.
    pub(super) leave: Notify,
}

impl Shared {
    fn connection(&self) -> Result<redis::aio::MultiplexedConnection, FleetError> {
        let connection = self
            .connection
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        connection.ok_or_else(|| match &*self.status.borrow() {
            FleetStatus::Disconnected(error) => FleetError::Disconnected(error.clone()),
            _ => FleetError::Disconnected("not connected to Redis yet".to_owned()),
        })
    }
}

/// A joined fleet, from [`join`](crate::fleet::join). Dropping it leaves the fleet: the
/// instance's reports are withdrawn (or expire) and every breaker is local
/// again.
pub struct Fleet {
    pub(super) shared: Arc<Shared>,
}

impl Fleet {
    /// This process's id in the fleet (`PID-RANDOM`), as reports and the
    /// trial lock name it.
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), retry_runtime::fleet::FleetError> {
    /// let fleet = retry_runtime::fleet::join("redis://127.0.0.1:6379", "checkout")?;
    /// assert!(fleet.instance_id().starts_with(&std::process::id().to_string()));
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn instance_id(&self) -> &str {
        &self.shared.instance
    }

    /// The namespace joined.
    #[must_use]
    pub fn namespace(&self) -> &str {
        &self.shared.namespace
    }

    /// Whether the fleet's Redis is reachable now.
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), retry_runtime::fleet::FleetError> {
    /// use retry_runtime::fleet::FleetStatus;
    ///
    /// let fleet = retry_runtime::fleet::join("redis://127.0.0.1:6379", "checkout")?;
    /// match fleet.status() {
    ///     FleetStatus::Connected => println!("sharing"),
    ///     FleetStatus::Connecting => println!("first connection under way"),
    ///     FleetStatus::Disconnected(error) => println!("local breakers for now: {error}"),
    ///     _ => {}
    /// }
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn status(&self) -> FleetStatus {
        self.shared.status.borrow().clone()
    }

    /// Waits until the fleet is connected, at most `timeout`: whether it is.
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), retry_runtime::fleet::FleetError> {
    /// let fleet = retry_runtime::fleet::join("redis://127.0.0.1:6379", "checkout")?;
    /// let up = fleet.wait_connected(std::time::Duration::from_secs(1)).await;
    /// println!("connected: {up}");
    /// # Ok(()) }
    /// ```
    pub async fn wait_connected(&self, timeout: Duration) -> bool {
        let mut status = self.shared.status.subscribe();
        tokio::time::timeout(
            timeout,
            status.wait_for(|s| matches!(s, FleetStatus::Connected)),
        )
        .await
        .is_ok_and(|r| r.is_ok())
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        deactivate(&self.shared);
        self.shared.leave.notify_one();
    }
}

impl fmt::Debug for Fleet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fleet")
            .field("namespace", &self.shared.namespace)
            .field("instance_id", &self.shared.instance)
            .field("status", &self.status())
            .finish()
    }
}

/// Whether a [`Fleet`] reaches its Redis.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FleetStatus {
    /// The first connection is being made.
    Connecting,
    /// Connected: fleet breakers are shared.
    Connected,
    /// The connection was lost (or never made), with the last error; it is
    /// tried again in the background. Breakers run as local breakers.
    Disconnected(String),
}

/// Why a fleet could not be joined or steered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FleetError {
    /// The Redis URL could not be read.
    #[error(
        "the fleet's Redis URL cannot be read ({0}); write it like redis://127.0.0.1:6379 or redis://:password@host:6379/0"
    )]
    InvalidUrl(String),
    /// The namespace is empty, too long, or has characters not allowed.
    #[error(
        "the fleet namespace `{namespace}` is refused: {problem}; use a short name like `checkout` or `checkout-eu.v2`"
    )]
    InvalidNamespace {
        /// The namespace given.
        namespace: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// No fleet is joined in this process.
    #[error(
        "no fleet is joined in this process; call retry_runtime::fleet::join(url, namespace) first and keep the Fleet it returns"
    )]
    NotJoined,
    /// The breaker is not shared with the fleet.
    #[error(
        "breaker `{0}` is not shared with the fleet; set fleet = true in its [breakers.{0}] table"
    )]
    NotShared(String),
    /// Redis could not be reached.
    #[error(
        "the fleet's Redis cannot be reached ({0}); the state was not set for the fleet, try again when it is back"
    )]
    Disconnected(String),
}

/// A state set for the whole fleet from a handle.
async fn set_for_fleet(handle: &BreakerHandle, state: Forced) -> Result<(), FleetError> {
    if !handle.settings().fleet {
        return Err(FleetError::NotShared(handle.name().to_owned()));
    }
    let shared = active().ok_or(FleetError::NotJoined)?;
    let mut connection = shared.connection()?;
    let id = protocol::id(handle.name(), handle.key());
    let message = Message::Forced {
        id: id.clone(),
        state,
        by: shared.instance.clone(),
    };
    redis::Script::new(FORCE_SCRIPT)
        .key(shared.keys.forced())
        .arg(&id)
        .arg(state.word())
        .arg(protocol::ms(protocol::FORCED_TTL))
        .arg(shared.keys.channel())
        .arg(message.text())
        .invoke_async::<i64>(&mut connection)
        .await
        .map_err(|e| FleetError::Disconnected(e.to_string()))?;
    // Here at once; the other instances on the message (or, if they miss
    // it, at their next reconciliation).
    match state {
        Forced::Open => handle.force_open(),
        Forced::Disabled => handle.disable(),
        Forced::Reset => handle.reset(),
    }
    Ok(())
}

impl BreakerHandle {
    /// Forces this breaker (or keyed instance) open on every instance of the
    /// joined fleet, within a second, until [`fleet_reset`](Self::fleet_reset).
    /// The state is kept in Redis: an instance that restarts and joins again
    /// takes it up. Here it is in force when this returns.
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let fleet = retry_runtime::fleet::join("redis://127.0.0.1:6379", "checkout")?;
    /// fleet.wait_connected(std::time::Duration::from_secs(1)).await;
    /// // `[breakers.payments]` has `fleet = true`.
    /// let payments = retry_runtime::breaker("payments").expect("configured");
    /// payments.fleet_force_open().await?; // the provider is in maintenance
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`FleetError::NotJoined`] without a joined fleet,
    /// [`FleetError::NotShared`] if the breaker does not have `fleet = true`,
    /// [`FleetError::Disconnected`] if Redis cannot be reached (nothing is
    /// changed then, here or elsewhere).
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub async fn fleet_force_open(&self) -> Result<(), FleetError> {
        set_for_fleet(self, Forced::Open).await
    }

    /// Disables this breaker (every call passes, nothing is recorded) on every
    /// instance of the joined fleet, within a second, until
    /// [`fleet_reset`](Self::fleet_reset); kept across restarts like
    /// [`fleet_force_open`](Self::fleet_force_open).
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let fleet = retry_runtime::fleet::join("redis://127.0.0.1:6379", "checkout")?;
    /// retry_runtime::breaker("payments").expect("configured").fleet_disable().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`fleet_force_open`](Self::fleet_force_open).
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub async fn fleet_disable(&self) -> Result<(), FleetError> {
        set_for_fleet(self, Forced::Disabled).await
    }

    /// Clears a state set for the fleet and closes this breaker, with an empty
    /// window, on every instance of the joined fleet within a second.
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let fleet = retry_runtime::fleet::join("redis://127.0.0.1:6379", "checkout")?;
    /// retry_runtime::breaker("payments").expect("configured").fleet_reset().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`fleet_force_open`](Self::fleet_force_open).
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub async fn fleet_reset(&self) -> Result<(), FleetError> {
        set_for_fleet(self, Forced::Reset).await
    }
}

/// The state a forced word sets on a breaker.
pub(super) fn forced_state(state: Forced) -> BreakerState {
    match state {
        Forced::Open => BreakerState::ForcedOpen,
        Forced::Disabled => BreakerState::Disabled,
        Forced::Reset => BreakerState::Closed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::breaker::fleet::join::{check_namespace, join};

    #[test]
    fn namespaces_are_checked() {
        assert!(check_namespace("checkout-eu.v2_1").is_ok());
        for bad in ["", "a b", "a:b", "{a}", &"x".repeat(65)] {
            let err = check_namespace(bad).unwrap_err();
            assert!(err.to_string().contains("like `checkout`"), "{err}");
        }
    }

    /// Routers (the admin router's `?scope=fleet`) await them on any worker.
    #[test]
    fn fleet_controls_are_send() {
        fn send<T: Send>(_: &T) {}
        let handle = crate::breaker("default").unwrap();
        send(&handle.fleet_force_open());
        send(&handle.fleet_disable());
        send(&handle.fleet_reset());
    }

    #[tokio::test]
    async fn fleet_controls_say_what_is_missing() {
        let handle = crate::breaker("default").unwrap();
        let err = handle.fleet_force_open().await.unwrap_err();
        assert_eq!(err, FleetError::NotShared("default".to_owned()));
        assert!(
            err.to_string()
                .contains("set fleet = true in its [breakers.default] table"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn join_refuses_only_malformed_input() {
        let err = join("http://example", "checkout").unwrap_err();
        assert!(matches!(err, FleetError::InvalidUrl(_)), "{err}");
        assert!(matches!(
            join("redis://127.0.0.1:1", "a b"),
            Err(FleetError::InvalidNamespace { .. })
        ));
        // Nothing listens on port 1: joining still succeeds, and connects in the background.
        let fleet = join("redis://127.0.0.1:1", "unit").unwrap();
        assert!(!fleet.wait_connected(Duration::from_millis(50)).await);
        assert!(matches!(
            fleet.status(),
            FleetStatus::Connecting | FleetStatus::Disconnected(_)
        ));
    }
}
