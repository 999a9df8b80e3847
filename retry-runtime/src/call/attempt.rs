//! Which attempt is running: [`current_attempt`], and the `retry.attempt`
//! span each attempt of an async call runs in.

use std::cell::Cell;

/// One attempt of a `#[retryable]` call, as its body sees it through
/// [`current_attempt`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use retry_runtime::{current_attempt, retryable};
///
/// #[retryable]
/// async fn which() -> std::io::Result<(u32, bool)> {
///     let attempt = current_attempt().expect("inside an attempt");
///     Ok((attempt.number(), attempt.is_hedge()))
/// }
///
/// assert_eq!(which().await.unwrap(), (1, false));
/// assert!(current_attempt().is_none());
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Attempt {
    number: u32,
    hedge: bool,
}

impl Attempt {
    pub(crate) fn new(number: u32, hedge: bool) -> Attempt {
        Attempt { number, hedge }
    }

    /// The attempt's number in its call, 1-based: retries and hedges count.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// use retry_runtime::{current_attempt, retryable};
    ///
    /// #[retryable]
    /// async fn third_time_lucky() -> std::io::Result<u32> {
    ///     let n = current_attempt().unwrap().number();
    ///     if n < 3 { Err(std::io::ErrorKind::TimedOut.into()) } else { Ok(n) }
    /// }
    ///
    /// assert_eq!(third_time_lucky().await.unwrap(), 3);
    /// # }
    /// ```
    #[must_use]
    pub fn number(self) -> u32 {
        self.number
    }

    /// Whether the attempt is a hedge (started beside a slower one, see
    /// `hedge` in the attribute's docs) rather than a first attempt or a retry.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use retry_runtime::{current_attempt, retryable};
    ///
    /// #[retryable]
    /// async fn replica() -> std::io::Result<&'static str> {
    ///     // Hedges go to the second replica, like gRPC's distinct backends.
    ///     Ok(if current_attempt().unwrap().is_hedge() { "replica-b" } else { "replica-a" })
    /// }
    ///
    /// assert_eq!(replica().await.unwrap(), "replica-a");
    /// # }
    /// ```
    #[must_use]
    pub fn is_hedge(self) -> bool {
        self.hedge
    }
}

thread_local! {
    /// The attempt being polled (or run, for sync calls) on this thread: the
    /// [`Running`] of the innermost live [`Entered`] guard, or null. One
    /// pointer, so entering and leaving an attempt is one thread-local write
    /// each, whatever the attempt carries.
    static CURRENT: Cell<*const Running> = const { Cell::new(std::ptr::null()) };
}

/// Reads the [`Running`] of the attempt being polled on this thread, if any.
#[inline]
fn with_current<T>(read: impl FnOnce(&Running) -> T) -> Option<T> {
    let running = CURRENT.with(Cell::get);
    // SAFETY: a non-null `CURRENT` was set by `Running::enter` from a
    // `&Running` that the returned `Entered` guard borrows; the guard puts
    // the previous value back when dropped (unwinding included), and guards
    // nest (each is a local of the poll or sync run it covers). So while the
    // pointer is set, the `Running` it points to is borrowed, neither moved
    // nor dropped, and read here on the thread that set it. `Entered` is
    // crate-private and never leaked with `mem::forget`. Tested by
    // `tests/nested.rs`: `the_current_attempt_is_the_innermost_and_is_restored`
    // and `a_panicking_attempt_leaves_no_current_attempt`.
    (!running.is_null()).then(|| read(unsafe { &*running }))
}

/// The tokio task of the attempt being polled on this thread: `None` outside
/// any attempt, `Some(None)` for an attempt outside any task. A call starting
/// in that task is nested in it.
#[inline]
pub(crate) fn current_task() -> Option<Option<tokio::task::Id>> {
    with_current(|running| running.task)
}

/// The attempt of a `#[retryable]` call whose body is running on this thread
/// now, or `None` outside any attempt. Inside nested calls, the innermost.
///
/// A body reads it to route attempts: a hedge or a retry to another replica
/// (see [`Attempt`]). It is set while the attempt is polled, so read it in the
/// body itself (or in a function it awaits), not in a task it spawns.
///
/// ```
/// assert_eq!(retry_runtime::current_attempt(), None);
/// ```
#[must_use]
pub fn current_attempt() -> Option<Attempt> {
    with_current(|running| running.attempt)
}

/// An attempt's identity and its span, entered around each poll (or the run
/// of a sync attempt).
pub(crate) struct Running {
    attempt: Attempt,
    span: tracing::Span,
    /// The tokio task the attempt runs in (`None` outside any task), read
    /// once when it starts: a call made in this task while the attempt is
    /// polled is nested, a task spawned inside it is not.
    task: Option<tokio::task::Id>,
}

impl Running {
    /// An attempt of the call at `call_site`, with its `retry.attempt` span
    /// (level `DEBUG`, target `retry_runtime`), child of the current span.
    #[inline(always)]
    pub(crate) fn new(call_site: &'static str, attempt: Attempt) -> Running {
        let span = tracing::debug_span!(
            target: "retry_runtime",
            "retry.attempt",
            call_site,
            attempt = attempt.number,
            hedge = attempt.hedge,
        );
        Running {
            attempt,
            span,
            task: tokio::task::try_id(),
        }
    }

    pub(crate) fn attempt(&self) -> Attempt {
        self.attempt
    }

    /// Enters the span and makes this the current attempt until dropped: for
    /// [`current_attempt`], and for nested-call detection (a call that starts
    /// in this attempt's task is nested; a task spawned inside it is not).
    #[inline]
    pub(crate) fn enter(&self) -> Entered<'_> {
        Entered {
            previous: CURRENT.with(|c| c.replace(self)),
            _span: self.span.enter(),
        }
    }
}

/// Restores the previous current attempt (attempts nest) and leaves the span.
/// It borrows the [`Running`] it published, which keeps the pointer valid.
pub(crate) struct Entered<'a> {
    previous: *const Running,
    _span: tracing::span::Entered<'a>,
}

impl Drop for Entered<'_> {
    #[inline]
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.previous));
    }
}
