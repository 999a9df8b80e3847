//! The fleet's background task: the one place that talks to Redis. It turns
//! fleet breakers' transitions into reports, the fleet's reports and messages
//! into local transitions, takes and frees trial locks, heartbeats and
//! reconciles; it connects again whenever the connection is lost.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use redis::aio::MultiplexedConnection;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::Instant;

use super::Event;
use super::client::{Shared, deactivate, forced_state, is_active, set_connected};
use super::protocol::{
    self, Forced, LEAVE_SCRIPT, LOCK_SCRIPT, LOCK_TTL, Lock, Message, REFRESH_SCRIPT,
    RELEASE_SCRIPT, REPORT_TTL, RESPONSE_TIMEOUT, TICK, ms,
};
use crate::BreakerState;
use crate::breaker::BreakerRef;
use crate::registry::fleet::{fleet_breaker, fleet_breakers};

/// Waits between connection attempts: doubled from the first to the last.
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_LAST: Duration = Duration::from_secs(2);

/// What this instance knows of its own part in the fleet; kept across
/// connections, so that a reconnection publishes it again.
#[derive(Default)]
struct Local {
    /// Breakers this instance reports open (opened by its own outcomes).
    reported: BTreeSet<String>,
    /// Trial locks held: id → the open epoch granted, and since when.
    held: HashMap<String, (u64, Instant)>,
    /// Trials asked for and not granted yet: id → open epoch.
    pending: HashMap<String, u64>,
    /// States set for the fleet and in force here.
    forced: HashMap<String, Forced>,
    /// Ids whose breakers show other instances reporting them open.
    viewed: HashSet<String>,
}

/// Why a connected session ended.
enum End {
    Leave,
    Lost(String),
}

/// The task's state: what is shared with the handle, its own bookkeeping,
/// and the scripts.
struct Task {
    shared: Arc<Shared>,
    local: Local,
    report: redis::Script,
    tick: redis::Script,
    lock: redis::Script,
    refresh: redis::Script,
    release: redis::Script,
}

pub(super) async fn run(
    shared: Arc<Shared>,
    client: redis::Client,
    mut events: UnboundedReceiver<Event>,
) {
    // However the task ends (its runtime shut down, say), breakers are local after it.
    let _local_after = LocalAfter(Arc::clone(&shared));
    let mut task = Task {
        shared,
        local: Local::default(),
        report: redis::Script::new(&protocol::report_script()),
        tick: redis::Script::new(&protocol::tick_script()),
        lock: redis::Script::new(LOCK_SCRIPT),
        refresh: redis::Script::new(REFRESH_SCRIPT),
        release: redis::Script::new(RELEASE_SCRIPT),
    };
    task.seed();
    let mut wait = RETRY_FIRST;
    let mut lost: Option<String> = None;
    let mut ever_connected = false;
    loop {
        let connecting = tokio::select! {
            () = task.shared.leave.notified() => break,
            c = connect(&client) => c,
        };
        let end = match connecting {
            Ok((connection, pubsub)) => {
                wait = RETRY_FIRST;
                task.session(
                    connection,
                    pubsub,
                    &mut events,
                    &mut ever_connected,
                    &mut lost,
                )
                .await
            }
            Err(error) => End::Lost(error),
        };
        match end {
            End::Leave => break,
            End::Lost(error) => {
                task.disconnected(&error, &mut lost, ever_connected);
                // Wait before the next attempt, still noting transitions.
                let until = Instant::now() + wait;
                wait = (wait * 2).min(RETRY_LAST);
                loop {
                    tokio::select! {
                        () = task.shared.leave.notified() => {
                            task.left(None).await;
                            return;
                        }
                        () = tokio::time::sleep_until(until) => break,
                        event = events.recv() => match event {
                            Some(event) => { task.note(event); }
                            None => {
                                task.left(None).await;
                                return;
                            }
                        },
                    }
                }
            }
        }
    }
    let connection = task
        .shared
        .connection
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    task.left(connection).await;
}

/// A command connection and a subscription, both with timeouts.
async fn connect(
    client: &redis::Client,
) -> Result<(MultiplexedConnection, redis::aio::PubSub), String> {
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(RESPONSE_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT));
    let connection = client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .map_err(|e| e.to_string())?;
    let pubsub = tokio::time::timeout(RESPONSE_TIMEOUT, client.get_async_pubsub())
        .await
        .map_err(|_| "timed out opening the subscription".to_owned())?
        .map_err(|e| e.to_string())?;
    Ok((connection, pubsub))
}

/// A fleet breaker by id, if alive (or created, with `create`).
fn breaker(id: &str, create: bool) -> Option<BreakerRef> {
    let (name, key) = protocol::parse_id(id)?;
    fleet_breaker(&name, key.as_deref(), create)
}

/// The id of a live breaker.
fn id_of(breaker: &BreakerRef) -> String {
    protocol::id(&breaker.name, breaker.key().as_deref())
}

impl Task {
    fn me(&self) -> &str {
        &self.shared.instance
    }

    /// Breakers already open when the fleet is joined are reported too.
    fn seed(&mut self) {
        for breaker in fleet_breakers() {
            if matches!(breaker.state(), BreakerState::Open | BreakerState::HalfOpen) {
                self.local.reported.insert(id_of(&breaker));
            }
        }
    }

    fn is_active(&self) -> bool {
        is_active(&self.shared)
    }

    fn set_status(&self, status: super::FleetStatus) {
        self.shared.status.send_replace(status);
    }

    /// The connection was lost (or never made): local breakers, one `WARN`.
    fn disconnected(&mut self, error: &str, lost: &mut Option<String>, ever_connected: bool) {
        if self.is_active() {
            set_connected(false);
        }
        *self
            .shared
            .connection
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        for id in self.local.viewed.drain() {
            if let Some(b) = breaker(&id, false) {
                b.fleet_reports_view(0);
            }
        }
        if lost.is_none() {
            let namespace = &self.shared.namespace;
            let message = if ever_connected {
                format!(
                    "fleet `{namespace}`: lost Redis ({error}); breakers run as local breakers until it is back"
                )
            } else {
                format!(
                    "fleet `{namespace}`: cannot reach Redis ({error}); breakers run as local breakers until it is reachable"
                )
            };
            tracing::warn!(fleet = %namespace, error, "{message}");
            crate::ops::events::fleet_changed(namespace, message, Some(error));
        }
        *lost = Some(error.to_owned());
        self.set_status(super::FleetStatus::Disconnected(error.to_owned()));
    }

    /// One connected session: publish what this instance holds, read the
    /// fleet, then serve events, messages and ticks until the connection
    /// fails or the fleet is left.
    async fn session(
        &mut self,
        mut connection: MultiplexedConnection,
        mut pubsub: redis::aio::PubSub,
        events: &mut UnboundedReceiver<Event>,
        ever_connected: &mut bool,
        lost: &mut Option<String>,
    ) -> End {
        let channel = self.shared.keys.channel();
        if let Err(e) = tokio::time::timeout(RESPONSE_TIMEOUT, pubsub.subscribe(&channel)).await {
            return End::Lost(format!("subscribing timed out ({e})"));
        }
        let mut messages = pubsub.into_on_message();
        // Re-publish this instance's open breakers, then read the fleet.
        let reported: Vec<String> = self.local.reported.iter().cloned().collect();
        for id in reported {
            if let Err(e) = self.report(&mut connection, &id, true).await {
                return End::Lost(e.to_string());
            }
        }
        if let Err(e) = self.tick(&mut connection).await {
            return End::Lost(e.to_string());
        }
        *self
            .shared
            .connection
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(connection.clone());
        if self.is_active() {
            set_connected(true);
        }
        self.set_status(super::FleetStatus::Connected);
        let namespace = &self.shared.namespace;
        let open = self.local.reported.len();
        let message = if lost.take().is_some() && *ever_connected {
            format!(
                "fleet `{namespace}`: Redis is back; breakers are shared again ({open} reported open by this instance)"
            )
        } else {
            format!(
                "fleet `{namespace}`: joined as {} ({open} breakers reported open by this instance)",
                self.shared.instance
            )
        };
        tracing::info!(fleet = %namespace, instance = %self.shared.instance, open, "{message}");
        crate::ops::events::fleet_changed(namespace, message, None);
        *ever_connected = true;
        let mut ticks = tokio::time::interval(TICK);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.reset();
        loop {
            let step = tokio::select! {
                () = self.shared.leave.notified() => return End::Leave,
                event = events.recv() => match event {
                    Some(event) => self.event(&mut connection, event).await,
                    None => return End::Leave,
                },
                message = messages.next() => match message {
                    Some(message) => {
                        let text: String = message.get_payload().unwrap_or_default();
                        self.message(&mut connection, &text).await
                    }
                    None => return End::Lost("the subscription was closed".to_owned()),
                },
                _ = ticks.tick() => self.tick(&mut connection).await,
            };
            if let Err(e) = step {
                return End::Lost(e.to_string());
            }
        }
    }

    /// Bookkeeping of a breaker's event, connected or not; what then has to
    /// be said to Redis.
    fn note(&mut self, event: Event) -> Vec<Say> {
        let mut say = Vec::new();
        match event {
            Event::Transition {
                name,
                key,
                from,
                to,
                own,
            } => {
                let id = protocol::id(&name, key.as_deref());
                if own && to == BreakerState::Open && self.local.reported.insert(id.clone()) {
                    say.push(Say::Report(id.clone(), true));
                }
                if matches!(to, BreakerState::Closed | BreakerState::Disabled)
                    && self.local.reported.remove(&id)
                {
                    say.push(Say::Report(id.clone(), false));
                }
                let verdict = (own && from == BreakerState::HalfOpen)
                    .then_some(to == BreakerState::Closed)
                    .filter(|_| matches!(to, BreakerState::Closed | BreakerState::Open));
                let left_trial = from == BreakerState::HalfOpen
                    || !matches!(to, BreakerState::Open | BreakerState::HalfOpen);
                if left_trial || verdict.is_some() {
                    let held = self.local.held.remove(&id).is_some();
                    if held && let Some(b) = breaker(&id, false) {
                        b.fleet_grant_set(None);
                    }
                    match verdict {
                        Some(passed) => say.push(Say::Release(
                            id.clone(),
                            Message::Verdict {
                                id: id.clone(),
                                passed,
                                by: self.me().to_owned(),
                            },
                        )),
                        None if held => say.push(Say::Release(
                            id.clone(),
                            Message::Unlocked { id: id.clone() },
                        )),
                        None => {}
                    }
                }
                if to != BreakerState::Open {
                    self.local.pending.remove(&id);
                }
            }
            Event::WantsTrial { name, key, epoch } => {
                let id = protocol::id(&name, key.as_deref());
                self.local.pending.insert(id.clone(), epoch);
                say.push(Say::TryLock(id));
            }
        }
        say
    }

    async fn event(
        &mut self,
        connection: &mut MultiplexedConnection,
        event: Event,
    ) -> redis::RedisResult<()> {
        for say in self.note(event) {
            match say {
                Say::Report(id, open) => self.report(connection, &id, open).await?,
                Say::Release(id, message) => self.release(connection, &id, &message).await?,
                Say::TryLock(id) => self.try_lock(connection, &id).await?,
            }
        }
        Ok(())
    }

    /// Reports `id` open (or no longer) and reads who reports it now.
    async fn report(
        &mut self,
        connection: &mut MultiplexedConnection,
        id: &str,
        open: bool,
    ) -> redis::RedisResult<()> {
        let members: Vec<String> = self
            .report
            .key(self.shared.keys.open(id))
            .key(self.shared.keys.open_index())
            .arg(self.me())
            .arg(id)
            .arg(ms(REPORT_TTL))
            .arg(if open { "open" } else { "closed" })
            .arg(self.shared.keys.channel())
            .invoke_async(connection)
            .await?;
        self.reports(id, &members);
        Ok(())
    }

    /// `members` report `id` open: its view, and the quorum.
    fn reports(&mut self, id: &str, members: &[String]) {
        let others = members.iter().filter(|m| *m != self.me()).count();
        let others = u32::try_from(others).unwrap_or(u32::MAX);
        let mut target = breaker(id, false);
        if target.is_none() && others > 0 {
            // A breaker (or keyed instance) not alive here: made only when
            // the reports reach its quorum, so that it opens.
            let settings = protocol::parse_id(id)
                .and_then(|(name, _)| crate::current_config().breaker(&name).copied());
            if settings.is_some_and(|s| s.fleet && others >= s.fleet_quorum) {
                target = breaker(id, true);
            }
        }
        let Some(target) = target else { return };
        if others > 0 {
            self.local.viewed.insert(id.to_owned());
        } else {
            self.local.viewed.remove(id);
        }
        target.fleet_reports(others);
    }

    /// Frees `id`'s trial lock if held, leaving a verdict in its place for a
    /// while, and publishes `message`.
    async fn release(
        &self,
        connection: &mut MultiplexedConnection,
        id: &str,
        message: &Message,
    ) -> redis::RedisResult<()> {
        let (marker, ttl) = match message {
            Message::Verdict { passed, .. } => (
                if *passed { "=passed" } else { "=failed" },
                breaker(id, false).map_or(Duration::from_secs(1), |b| {
                    protocol::verdict_ttl(b.settings().open_duration)
                }),
            ),
            _ => ("", Duration::ZERO),
        };
        self.release
            .key(self.shared.keys.lock(id))
            .arg(self.me())
            .arg(self.shared.keys.channel())
            .arg(message.text())
            .arg(marker)
            .arg(ms(ttl))
            .invoke_async::<i64>(connection)
            .await?;
        Ok(())
    }

    /// Asks for `id`'s trial lock, for the epoch pending.
    async fn try_lock(
        &mut self,
        connection: &mut MultiplexedConnection,
        id: &str,
    ) -> redis::RedisResult<()> {
        let Some(&epoch) = self.local.pending.get(id) else {
            return Ok(());
        };
        let live = breaker(id, false).filter(|b| {
            let word = b.fleet_word();
            word.state() == BreakerState::Open && word.epoch() == epoch
        });
        let Some(live) = live else {
            self.local.pending.remove(id);
            return Ok(());
        };
        let answer: i64 = self
            .lock
            .key(self.shared.keys.lock(id))
            .arg(self.me())
            .arg(ms(LOCK_TTL))
            .invoke_async(connection)
            .await?;
        match Lock::of(answer) {
            Lock::Held => {
                self.local.pending.remove(id);
                self.local
                    .held
                    .insert(id.to_owned(), (epoch, Instant::now()));
                live.fleet_grant_set(Some(epoch));
            }
            Lock::Verdict(passed) => {
                // The fleet's trials just ended (and this instance missed
                // the message, or has not read it yet).
                self.local.pending.remove(id);
                live.fleet_verdict(passed);
            }
            Lock::Taken => {}
        }
        Ok(())
    }

    /// A message from the channel.
    async fn message(
        &mut self,
        connection: &mut MultiplexedConnection,
        text: &str,
    ) -> redis::RedisResult<()> {
        match Message::parse(text) {
            Some(Message::Reports { id, instances }) => self.reports(&id, &instances),
            Some(Message::Forced { id, state, by }) => {
                if state == Forced::Reset {
                    self.local.forced.remove(&id);
                    if by != self.me()
                        && let Some(b) = breaker(&id, false)
                    {
                        b.fleet_force(BreakerState::Closed);
                    }
                } else {
                    self.local.forced.insert(id.clone(), state);
                    if let Some(b) = breaker(&id, true) {
                        b.fleet_force(forced_state(state));
                    }
                }
            }
            Some(Message::Verdict { id, passed, by }) => {
                if by != self.me()
                    && let Some(b) = breaker(&id, false)
                {
                    b.fleet_verdict(passed);
                }
            }
            Some(Message::Unlocked { id }) => self.try_lock(connection, &id).await?,
            None => {}
        }
        Ok(())
    }

    /// The heartbeat and the reconciliation.
    async fn tick(&mut self, connection: &mut MultiplexedConnection) -> redis::RedisResult<()> {
        // Reports of breakers that are no longer open (replaced by an
        // install, say) are withdrawn.
        let stale: Vec<String> = self
            .local
            .reported
            .iter()
            .filter(|id| {
                breaker(id, false).is_none_or(|b| {
                    !matches!(
                        b.state(),
                        BreakerState::Open | BreakerState::HalfOpen | BreakerState::ForcedOpen
                    )
                })
            })
            .cloned()
            .collect();
        for id in stale {
            self.local.reported.remove(&id);
            self.report(connection, &id, false).await?;
        }
        let keys = &self.shared.keys;
        let mut call = self.tick.key(keys.instances());
        call.key(keys.open_index())
            .key(keys.forced())
            .arg(self.me())
            .arg(ms(REPORT_TTL))
            .arg(keys.prefix())
            .arg(ms(protocol::FORCED_TTL));
        for id in &self.local.reported {
            call.arg(id);
        }
        let fleet: Vec<String> = call.invoke_async(connection).await?;
        self.reconcile(&fleet);
        self.keep_locks(connection).await?;
        let pending: Vec<String> = self.local.pending.keys().cloned().collect();
        for id in pending {
            self.try_lock(connection, &id).await?;
        }
        Ok(())
    }

    /// Applies what the tick read: forced states, then reports.
    fn reconcile(&mut self, fleet: &[String]) {
        let forced_words: Vec<&str> = fleet
            .get(1)
            .map(|f| f.split(' ').filter(|w| !w.is_empty()).collect())
            .unwrap_or_default();
        let mut forced = HashMap::new();
        for pair in forced_words.chunks_exact(2) {
            if let Some(state) = Forced::parse(pair[1]) {
                forced.insert(pair[0].to_owned(), state);
            }
        }
        for (id, state) in &forced {
            if let Some(b) = breaker(id, true)
                && b.state() != forced_state(*state)
            {
                b.fleet_force(forced_state(*state));
            }
            self.local.forced.insert(id.clone(), *state);
        }
        let gone: Vec<(String, Forced)> = self
            .local
            .forced
            .iter()
            .filter(|(id, _)| !forced.contains_key(*id))
            .map(|(id, state)| (id.clone(), *state))
            .collect();
        for (id, state) in gone {
            self.local.forced.remove(&id);
            if let Some(b) = breaker(&id, false)
                && b.state() == forced_state(state)
            {
                b.fleet_force(BreakerState::Closed);
            }
        }
        let mut seen = HashSet::new();
        for pair in fleet.get(2..).unwrap_or_default().chunks_exact(2) {
            let members = protocol::members(&pair[1]);
            self.reports(&pair[0], &members);
            seen.insert(pair[0].clone());
        }
        let unseen: Vec<String> = self
            .local
            .viewed
            .iter()
            .filter(|id| !seen.contains(*id))
            .cloned()
            .collect();
        for id in unseen {
            self.reports(&id, &[]);
        }
    }

    /// Extends the trial locks whose trials run (or are about to); frees the
    /// ones no longer needed.
    async fn keep_locks(
        &mut self,
        connection: &mut MultiplexedConnection,
    ) -> redis::RedisResult<()> {
        let held: Vec<(String, u64, Instant)> = self
            .local
            .held
            .iter()
            .map(|(id, (epoch, since))| (id.clone(), *epoch, *since))
            .collect();
        for (id, epoch, since) in held {
            let live = breaker(&id, false);
            let needed = live.as_ref().is_some_and(|b| {
                let word = b.fleet_word();
                word.state() == BreakerState::HalfOpen
                    || (word.state() == BreakerState::Open
                        && word.epoch() == epoch
                        && since.elapsed() < LOCK_TTL)
            });
            let kept: i64 = if needed {
                self.refresh
                    .key(self.shared.keys.lock(&id))
                    .arg(self.me())
                    .arg(ms(LOCK_TTL))
                    .invoke_async(connection)
                    .await?
            } else {
                self.release(connection, &id, &Message::Unlocked { id: id.clone() })
                    .await?;
                0
            };
            if kept == 0 {
                self.local.held.remove(&id);
                if let Some(b) = live {
                    b.fleet_grant_set(None);
                }
            }
        }
        Ok(())
    }

    /// Leaves the fleet: withdraws this instance's reports, heartbeat and
    /// locks (at most a short while; whatever is left expires), and every
    /// breaker is local again.
    async fn left(&mut self, connection: Option<MultiplexedConnection>) {
        deactivate(&self.shared);
        if let Some(mut connection) = connection {
            let withdraw = async {
                let reported: Vec<String> = std::mem::take(&mut self.local.reported)
                    .into_iter()
                    .collect();
                for id in reported {
                    self.report(&mut connection, &id, false).await?;
                }
                let held: Vec<String> = self.local.held.keys().cloned().collect();
                for id in held {
                    let unlocked = Message::Unlocked { id: id.clone() };
                    self.release(&mut connection, &id, &unlocked).await?;
                }
                redis::Script::new(LEAVE_SCRIPT)
                    .key(self.shared.keys.instances())
                    .arg(self.me())
                    .invoke_async::<i64>(&mut connection)
                    .await
            };
            let _ = tokio::time::timeout(RESPONSE_TIMEOUT, withdraw).await;
        }
        for id in self.local.held.keys().chain(self.local.viewed.iter()) {
            if let Some(b) = breaker(id, false) {
                b.fleet_grant_set(None);
                b.fleet_reports_view(0);
            }
        }
        let namespace = &self.shared.namespace;
        tracing::info!(fleet = %namespace, "fleet `{namespace}`: left; breakers are local");
    }
}

/// Clears `CONNECTED` when the task ends, if its fleet is still the joined one.
struct LocalAfter(Arc<Shared>);

impl Drop for LocalAfter {
    fn drop(&mut self) {
        if is_active(&self.0) {
            set_connected(false);
        }
    }
}

/// What a breaker event makes the task say to Redis.
enum Say {
    Report(String, bool),
    Release(String, Message),
    TryLock(String),
}
