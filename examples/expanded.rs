//! What `#[retryable]` generates, written out by hand and commented line by line.
//!
//! `cargo run --example expanded` runs both versions side by side. The function
//!
//! ```ignore
//! #[retryable(policy = "network", idempotent)]
//! async fn put(&mut self, key: &str, body: Vec<u8>) -> io::Result<usize> {
//!     self.puts += 1;
//!     self.backend.write(key, body).await
//! }
//! ```
//!
//! expands to `put_expanded` below (modulo hygiene: the made-up names such as
//! `__retry` are invisible to the body, so they can never clash with its names).
//! Everything it names lives under `retry_runtime::__private`, which is not a
//! public API: write the attribute, not this.
//!
//! Two keys change the shape, and only when they are written:
//! - `breaker_key = <expr>` replaces `Controller::start(&__RETRY_SITE)` with
//!   `(&KeyProbe(&(<expr>))).start_keyed(&__RETRY_SITE)`: the key is evaluated
//!   once, before the loop, and the call holds its keyed breaker instance (a
//!   `&str` or `String` key is looked up as text, any other `Display` key
//!   through its `Display` output: autoref specialization picks the way).
//! - `fallback = <path>` turns the loop into a labeled block,
//!   `let __outcome = '__retry: { … loop { … break '__retry __output … } };`
//!   (each `return __output` below becomes such a `break`), followed by
//!   `match __outcome { Ok(v) => Ok(v), Err(e) => <path>(<arguments>, e).await }`,
//!   the call going through a trait local to the function that checks the
//!   fallback's signature at the path.
//! - `hedge = "<name>"` (an `async fn` marked `idempotent`, with no `&mut`)
//!   adds `.hedged("<name>")` to the `CallSite` and replaces the pinned
//!   attempt with a closure that makes one: `let __attempt = || async { … };`
//!   (the same async block, now built afresh for each attempt of a round),
//!   handed to `__retry.hedged(__attempt, …)` instead of `__retry.attempt(…)`.
//!   The controller pins the round's first attempt in place and, when the
//!   hedge delay passes, calls the closure again for a hedge that runs beside
//!   it in the same future (`retry-runtime/src/call/hedge.rs`).
//!
//! Every attempt, hedged or not, is polled inside a `retry.attempt` span
//! (`DEBUG`, target `retry_runtime`, fields `call_site`, `attempt`, `hedge`)
//! with [`retry_runtime::current_attempt`] set to it.

use std::io;

use retry_runtime::retryable;

struct Backend {
    failures_left: u32,
}

impl Backend {
    async fn write(&mut self, _key: &str, body: Vec<u8>) -> io::Result<usize> {
        if self.failures_left > 0 {
            self.failures_left -= 1;
            return Err(io::ErrorKind::ConnectionReset.into());
        }
        Ok(body.len())
    }
}

struct Store {
    backend: Backend,
    puts: u32,
}

impl Store {
    /// The function as the user writes it.
    #[retryable(policy = "network", idempotent)]
    async fn put(&mut self, key: &str, body: Vec<u8>) -> io::Result<usize> {
        self.puts += 1;
        self.backend.write(key, body).await
    }

    /// What the attribute turns it into. The signature is unchanged, so callers
    /// see the same function. (Lints do not fire on generated code; written out
    /// by hand, its deliberate shapes need these `allow`s.)
    #[allow(clippy::empty_loop, clippy::redundant_closure, clippy::needless_borrow)]
    async fn put_expanded(&mut self, key: &str, body: Vec<u8>) -> io::Result<usize> {
        // One static record per function: its names, where it is, and a cache of
        // what its names resolve to (policy, breaker, budget), refreshed only after
        // an `install`. Generic functions share one record across instantiations.
        static __RETRY_SITE: retry_runtime::__private::CallSite =
            retry_runtime::__private::CallSite::new(
                // `name = "..."`, or `module_path::fn_name` by default.
                concat!(module_path!(), "::", "put"),
                module_path!(),
                file!(),
                line!(),
                "network", // policy
                None,      // breaker (`breaker = "..."`)
                "default", // budget
                true,      // idempotent
            );
        // Registered at link time in a static slice (linkme): `call_sites()` lists
        // it and `install` validates the config against it, with no code run at startup.
        #[retry_runtime::__private::linkme::distributed_slice(retry_runtime::__private::CALL_SITES)]
        #[linkme(crate = retry_runtime::__private::linkme)]
        static __RETRY_REGISTER: &retry_runtime::__private::CallSite = &__RETRY_SITE;

        // Takes the site's cached settings (no lock, no lookup by name), deposits
        // into its retry budget, and reads the clock only if the policy has a deadline.
        let mut __retry = retry_runtime::__private::Controller::start(&__RETRY_SITE);
        loop {
            // The attempt lives in this block alone, so it is dropped (with
            // whatever it holds: a connection, a lock guard, the `&mut self`
            // borrow) as soon as its outcome is known, before any backoff sleep.
            let __step = {
                // Each attempt is a fresh, non-`move` async block that borrows the
                // arguments: nothing is boxed, and the future stays `Send` when the
                // body is. It is pinned where it stands (in this function's own
                // future) and the controller polls it through `Pin<&mut _>`, so it
                // is never moved.
                let __attempt = core::pin::pin!(async {
                    // `&mut self` is reborrowed per attempt under another name (the
                    // body's `self` is renamed to match), so a body that moves `self`
                    // still compiles.
                    let __self = &mut *self;
                    // By-value arguments are cloned per attempt: an attempt's changes
                    // to its copy never leak into the next one. (`CloneArg` is `Clone`
                    // with an error message written for this case.) `&str` needs nothing.
                    let body = retry_runtime::__private::CloneArg::clone_for_attempt(&body);
                    // The "fake return edge": pins the block's output to the declared
                    // return type, so `?` and `return` infer exactly as in the original
                    // body (`impl Trait` in the return type becomes `_` here).
                    #[allow(
                        unreachable_code,
                        clippy::diverging_sub_expression,
                        clippy::needless_return
                    )]
                    if false {
                        let __fake_return: io::Result<usize> = loop {};
                        return __fake_return;
                    }
                    // The original body, untouched but for `self` → `__self`. A
                    // `return` in it ends the attempt, as it ended the call.
                    __self.puts += 1;
                    __self.backend.write(key, body).await
                });
                // Runs the attempt under the breaker and the attempt timeout,
                // classifies an error (`Classify`, or the `retry_if` predicate;
                // spanned on the error type so a missing impl is reported there),
                // and decides: return (success, permanent error, attempts, deadline,
                // budget, or a breaker that will still be open after the backoff),
                // or retry after a delay.
                __retry
                    .attempt(
                        __attempt,
                        |__error| retry_runtime::__private::classify(__error),
                        |__rejected| {
                            retry_runtime::__private::FromRejected::from_rejected(__rejected)
                        },
                        // Shows the error in retry and give-up events by its `Display`,
                        // else its `Debug` (autoref specialization), requiring neither.
                        |__error| {
                            #[allow(unused_imports)]
                            use retry_runtime::__private::{
                                DescribeDebug as _, DescribeDisplay as _, DescribeOpaque as _,
                            };
                            (&&retry_runtime::__private::Describe(__error)).describe()
                        },
                    )
                    .await
            };
            match __step {
                retry_runtime::__private::ControlFlow::Break(__output) => return __output,
                // Sleeps the backoff, then asks the breaker for the next attempt; a
                // refusal returns the last real error.
                retry_runtime::__private::ControlFlow::Continue(__pending) => match __retry
                    .pause(__pending, |__error| {
                        #[allow(unused_imports)]
                        use retry_runtime::__private::{
                            DescribeDebug as _, DescribeDisplay as _, DescribeOpaque as _,
                        };
                        (&&retry_runtime::__private::Describe(__error)).describe()
                    })
                    .await
                {
                    retry_runtime::__private::ControlFlow::Break(__output) => return __output,
                    retry_runtime::__private::ControlFlow::Continue(()) => {}
                },
            }
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> io::Result<()> {
    let mut written = Store {
        backend: Backend { failures_left: 2 },
        puts: 0,
    };
    let n = written.put("greeting", b"hello".to_vec()).await?;
    println!(
        "#[retryable] put: wrote {n} bytes in {} attempts",
        written.puts
    );

    let mut expanded = Store {
        backend: Backend { failures_left: 2 },
        puts: 0,
    };
    let n = expanded.put_expanded("greeting", b"hello".to_vec()).await?;
    println!(
        "hand-expanded put: wrote {n} bytes in {} attempts",
        expanded.puts
    );
    assert_eq!(written.puts, expanded.puts);
    Ok(())
}
