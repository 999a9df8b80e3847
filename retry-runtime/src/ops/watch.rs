//! [`watch`]: re-install a config file whenever it changes (feature `watch`).
//!
//! The file's directory is watched (not the file), so both kinds of save are
//! seen: a write in place, and an editor's write-to-a-temporary-then-rename
//! over the file. Changes are debounced ([`DEBOUNCE`] of quiet after the last
//! notification), and a change that leaves the text as it was is ignored.
//! One thread per watcher does the reading and installing; dropping the
//! [`Watcher`] stops and joins it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use notify::{RecursiveMode, Watcher as _};

use crate::ops::events::Via;
use crate::{Config, ConfigError, InstallError};

/// How long the file must be quiet after a change before it is read.
pub const DEBOUNCE: Duration = Duration::from_millis(100);

/// Why [`watch`] could not start, or why a change was refused
/// ([`Watcher::last_error`]). Its `Display` is the underlying error's text.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WatchError {
    /// The file could not be read or is not a valid config.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The config is valid but [`install`](crate::install) refused it.
    #[error(transparent)]
    Install(#[from] InstallError),
    /// The file system could not be watched.
    #[error("cannot watch `{path}`: {source}")]
    Notify {
        /// The directory that was to be watched.
        path: PathBuf,
        /// What the platform said.
        source: notify::Error,
    },
}

/// A running config watcher, from [`watch`]. Dropping it stops watching.
pub struct Watcher {
    shared: Arc<Shared>,
    stop: mpsc::Sender<Message>,
    // Declared before `thread`: dropped (unsubscribed) first.
    notify: Option<notify::RecommendedWatcher>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct Shared {
    last_error: Mutex<Option<Arc<WatchError>>>,
    reloads: std::sync::atomic::AtomicU64,
}

enum Message {
    Changed,
    Stop,
}

/// Installs the config file at `path` now, then re-installs it whenever it
/// changes, until the returned [`Watcher`] is dropped.
///
/// A change that does not parse or does not install keeps the running
/// config: the watcher emits a `WARN` `tracing` event with the full error
/// text, records a [`ReloadRefused`](crate::EventKind::ReloadRefused) event,
/// and keeps the error for [`Watcher::last_error`]. An accepted change is a
/// [`Reload`](crate::EventKind::Reload) event (and an `INFO` `tracing` event).
///
/// ```no_run
/// let watcher = retry_runtime::watch("retry.toml")?; // installed now
/// // ... run the service; edits of retry.toml apply within a moment ...
/// if let Some(error) = watcher.last_error() {
///     eprintln!("retry.toml was refused: {error}");
/// }
/// # Ok::<(), retry_runtime::WatchError>(())
/// ```
///
/// # Errors
///
/// The file cannot be read, is not a valid config, or does not install
/// ([`WatchError::Config`], [`WatchError::Install`]); or its directory cannot
/// be watched ([`WatchError::Notify`]). Nothing is installed then.
pub fn watch(path: impl AsRef<Path>) -> Result<Watcher, WatchError> {
    let path = path.as_ref().to_owned();
    let text = read(&path)?;
    let config = parse(&path, &text)?;
    crate::registry::install_via(config, Via::Watch(&path))?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().map(ToOwned::to_owned);
    let (tx, rx) = mpsc::channel();
    let notify_tx = tx.clone();
    let mut notify = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        // Only events that name our file (errors too: a re-read tells).
        let ours = match &event {
            Ok(event) => event.paths.iter().any(|p| p.file_name() == name.as_deref()),
            Err(_) => true,
        };
        if ours {
            let _ = notify_tx.send(Message::Changed);
        }
    })
    .map_err(|source| WatchError::Notify {
        path: dir.clone(),
        source,
    })?;
    notify
        .watch(&dir, RecursiveMode::NonRecursive)
        .map_err(|source| WatchError::Notify {
            path: dir.clone(),
            source,
        })?;
    let shared = Arc::new(Shared::default());
    let thread = {
        let shared = shared.clone();
        std::thread::Builder::new()
            .name("retry-runtime-watch".into())
            .spawn(move || run(&path, &rx, text, &shared))
            .map_err(|e| WatchError::Notify {
                path: dir,
                source: notify::Error::io(e),
            })?
    };
    Ok(Watcher {
        shared,
        stop: tx,
        notify: Some(notify),
        thread: Some(thread),
    })
}

impl Watcher {
    /// The error of the last change that was refused, until a change is
    /// accepted; `None` when the running config is the file's.
    ///
    /// ```no_run
    /// let watcher = retry_runtime::watch("retry.toml")?;
    /// assert!(watcher.last_error().is_none()); // the file installed at start
    /// # Ok::<(), retry_runtime::WatchError>(())
    /// ```
    #[must_use]
    pub fn last_error(&self) -> Option<Arc<WatchError>> {
        self.shared
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many changes were installed since [`watch`] started (the install
    /// at start not counted).
    #[must_use]
    pub fn reloads(&self) -> u64 {
        self.shared
            .reloads
            .load(std::sync::atomic::Ordering::Acquire)
    }
}

impl fmt::Debug for Watcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watcher")
            .field("reloads", &self.reloads())
            .field("last_error", &self.last_error())
            .finish_non_exhaustive()
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        drop(self.notify.take());
        let _ = self.stop.send(Message::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn read(path: &Path) -> Result<String, ConfigError> {
    Config::read_file(path)
}

fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    Config::from_file_text(path, text)
}

/// The watcher's thread: waits for a change, lets it settle, re-installs.
fn run(path: &Path, rx: &mpsc::Receiver<Message>, mut last_text: String, shared: &Shared) {
    while let Ok(Message::Changed) = rx.recv() {
        // Debounce: wait until no notification came for DEBOUNCE.
        loop {
            match rx.recv_timeout(DEBOUNCE) {
                Ok(Message::Changed) => {}
                Ok(Message::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                Err(RecvTimeoutError::Timeout) => break,
            }
        }
        let outcome = match read(path) {
            Ok(text) if text == last_text => continue,
            Ok(text) => {
                let result = match parse(path, &text) {
                    Ok(config) => crate::registry::install_via(config, Via::Watch(path))
                        .map_err(WatchError::from),
                    Err(e) => {
                        crate::ops::events::installed(Via::Watch(path), Some(&e));
                        Err(WatchError::from(e))
                    }
                };
                last_text = text;
                result
            }
            Err(e) => {
                // Unreadable (removed, say): reported; the next write re-reads.
                last_text.clear();
                crate::ops::events::installed(Via::Watch(path), Some(&e));
                Err(WatchError::from(e))
            }
        };
        let mut last_error = shared
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match outcome {
            Ok(()) => {
                *last_error = None;
                shared
                    .reloads
                    .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
                tracing::info!(path = %path.display(), "config file changed: installed");
            }
            Err(error) => {
                tracing::warn!(
                    path = %path.display(),
                    error = %error,
                    "config file changed but was refused; the running config stays"
                );
                *last_error = Some(Arc::new(error));
            }
        }
    }
}
