//! `watch(path)`: an in-place write and an editor's rename-over are picked up,
//! a bad file keeps the running config (and says why), and nothing is picked
//! up once the `Watcher` is dropped. Bounded polling, no fixed sleeps.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use retry_runtime::{EventKind, WatchError, current_config, recent_events};

fn attempts() -> u32 {
    current_config().policy("watched").unwrap().max_attempts
}

fn policy(n: u32) -> String {
    format!("[policies.watched]\nmax_attempts = {n}\n")
}

/// Polls `done` every 10 ms for at most 10 s.
fn eventually(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "not within 10 s: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("retry-watch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn reloads_of(path: &Path) -> usize {
    recent_events()
        .iter()
        .filter(|e| {
            e.kind == EventKind::Reload
                && e.fields["path"].to_string() == path.display().to_string()
        })
        .count()
}

// One test: the watched config is global, so the steps run in order.
#[test]
fn writes_and_renames_are_installed_bad_files_kept_out_and_drop_stops() {
    let dir = dir();
    let path = dir.join("retry.toml");
    std::fs::write(&path, policy(2)).unwrap();

    // A missing file or a bad one refuses to start.
    let missing = retry_runtime::watch(dir.join("absent.toml")).unwrap_err();
    assert!(matches!(missing, WatchError::Config(_)), "{missing}");
    assert!(missing.to_string().contains("absent.toml"), "{missing}");

    let watcher = retry_runtime::watch(&path).unwrap();
    assert_eq!(attempts(), 2, "installed at start");
    assert!(watcher.last_error().is_none());

    // In place.
    std::fs::write(&path, policy(3)).unwrap();
    eventually("the in-place write", || attempts() == 3);
    eventually("the reload counted", || watcher.reloads() == 1);

    // An editor's save: write a temporary file, rename it over.
    let temporary = dir.join(".retry.toml.swp");
    std::fs::write(&temporary, policy(4)).unwrap();
    std::fs::rename(&temporary, &path).unwrap();
    eventually("the rename-over", || attempts() == 4);

    // A bad file: the running config stays; the error is kept and reported.
    let bad = "[policies.watched]\nmax_attempts = 0\n";
    std::fs::write(&path, bad).unwrap();
    eventually("the refusal", || watcher.last_error().is_some());
    let error = watcher.last_error().unwrap();
    let expected = retry_runtime::Config::from_path(&path)
        .unwrap_err()
        .to_string();
    assert_eq!(error.to_string(), expected);
    assert!(
        expected.contains("max_attempts: must be at least 1"),
        "{expected}"
    );
    assert_eq!(attempts(), 4, "the running config stays");
    let refused = recent_events()
        .into_iter()
        .rfind(|e| e.kind == EventKind::ReloadRefused)
        .unwrap();
    assert_eq!(refused.fields["error"].to_string(), expected);

    // Fixed again: accepted, and the error is gone.
    std::fs::write(&path, policy(5)).unwrap();
    eventually("the fix", || attempts() == 5);
    assert!(watcher.last_error().is_none());
    assert!(reloads_of(&path) >= 3);

    // Dropped: a later write is not picked up. A second watcher on another
    // file of the same directory, written after, proves the write was seen
    // by the file system in time.
    drop(watcher);
    let reloads = reloads_of(&path);
    std::fs::write(&path, policy(6)).unwrap();
    let other = dir.join("other.toml");
    std::fs::write(&other, policy(7)).unwrap();
    let second = retry_runtime::watch(&other).unwrap();
    std::fs::write(&other, policy(8)).unwrap();
    eventually("the second watcher's reload", || attempts() == 8);
    assert_eq!(
        reloads_of(&path),
        reloads,
        "the dropped watcher installed nothing"
    );
    drop(second);
    std::fs::remove_dir_all(&dir).unwrap();
}
