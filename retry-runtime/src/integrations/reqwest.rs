//! reqwest, ready for `#[retryable]` (feature `reqwest`).
//!
//! `reqwest::Error` cannot be a `#[retryable]` function's error type (the
//! framework needs `From<Rejected>`, which the orphan rule forbids anyone but
//! reqwest to write), so this module has one that can: [`Error`]. It wraps a
//! `reqwest::Error`, a failed response (keeping its status and `Retry-After`)
//! or a [`Rejected`], and knows the request's method. [`send`] sends a request
//! and turns any status that is not a success into an [`Error`]:
//!
//! ```no_run
//! use retry_runtime::{reqwest::{send, Error}, retryable};
//!
//! #[retryable(policy = "network", breaker = "catalog")]
//! async fn item(client: &reqwest::Client, id: u64) -> Result<String, Error> {
//!     let response = send(client.get(format!("http://catalog.internal/items/{id}"))).await?;
//!     Ok(response.text().await?)
//! }
//! ```
//!
//! How errors are classified:
//!
//! | error | class |
//! |---|---|
//! | a response whose status is not a success | [`classify_response`]: 408, 429, 5xx except 501/505 transient (`RetryAfter(d)` with a valid `Retry-After`); every other status permanent |
//! | timeout (`is_timeout`), connect error (`is_connect`) | `Transient` |
//! | `reqwest::Error` from `error_for_status` (`is_status`) | [`classify_status`] (the headers are gone) |
//! | body or decode error caused by the connection (an `io::Error` of a transient kind in its source chain: a body cut off, `UnexpectedEof`; a reset) | `Transient` |
//! | builder, redirect error; a body that arrived whole but does not decode (bad JSON, bad encoding) | `Permanent` |
//! | any other request error (the connection closed or reset mid-exchange) | `Transient` |
//! | [`Rejected`] | as [`Rejected`] classifies: attempt timeout transient, open breaker permanent |
//!
//! **Methods that are not idempotent.** RFC 9110 §9.2.2 makes GET, HEAD,
//! OPTIONS, TRACE, PUT and DELETE idempotent. A POST, PATCH, CONNECT (or any
//! other method) that failed *after it left the client* may have had its
//! effect, so its [`Error`] is not [replay-safe](crate::Classify::replay_safe):
//! the call gives up at once (reason `not idempotent`) unless the function is
//! marked `#[retryable(idempotent)]`. A connect error (the request never left)
//! is retried as usual. The runtime learns the method from [`send`], which
//! reads it off the built request, or from [`Error::with_method`] when you call
//! [`check`] yourself; an error whose method is unknown (a plain
//! `reqwest::Error` converted with `?`) is treated as replay-safe.

use std::fmt;
use std::time::Duration;

use http::{HeaderMap, Method, StatusCode};

use crate::http::{classify_response, classify_status, retry_after};
use crate::{Class, Classify, Rejected};

/// Timeouts and connect errors are transient, a status error goes by
/// [`classify_status`], a body cut off by the connection is transient,
/// builder and redirect errors and a body that does not decode are permanent;
/// see the [module](crate::reqwest) table.
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
impl Classify for reqwest::Error {
    fn classify(&self) -> Class {
        if self.is_timeout() || self.is_connect() {
            return Class::Transient;
        }
        if let Some(status) = self.status() {
            return classify_status(status);
        }
        if (self.is_body() || self.is_decode()) && cut_off(self) {
            return Class::Transient;
        }
        if self.is_builder() || self.is_redirect() || self.is_body() || self.is_decode() {
            return Class::Permanent;
        }
        if self.is_request() {
            return Class::Transient;
        }
        Class::Permanent
    }

    /// A 5xx status error: the service is down (see [`Classify::is_outage`]).
    fn is_outage(&self) -> bool {
        self.status().is_some_and(|status| status.is_server_error())
    }
}

/// Whether a body or decode error is the connection failing while the body
/// was read (hyper's "incomplete body" is an `io::Error` of kind
/// `UnexpectedEof` in the source chain; a reset is `ConnectionReset`), not a
/// body that arrived whole and does not decode: an `io::Error` in the chain
/// whose kind is transient (see `Classify for io::Error`) decides.
fn cut_off(error: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return io.classify() == Class::Transient;
        }
        source = e.source();
    }
    false
}

/// A failed HTTP exchange, as a `#[retryable]` function returns it.
///
/// Made from a `reqwest::Error` (`?` converts it), from a response whose
/// status is not a success ([`check`], [`send`]), or from a [`Rejected`] call.
/// Keeps the status and the `Retry-After` delay of a failed response, and the
/// request's method when it is known.
///
/// ```
/// use retry_runtime::{Class, Classify, Rejected, reqwest::Error};
///
/// let refused = Error::from(Rejected::breaker_open("catalog"));
/// assert_eq!(refused.classify(), Class::Permanent);
/// assert!(refused.rejected().is_some());
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
pub struct Error {
    kind: Kind,
    method: Option<Method>,
}

#[derive(Debug)]
enum Kind {
    Reqwest(reqwest::Error),
    Status {
        status: StatusCode,
        retry_after: Option<Duration>,
        class: Class,
        url: Box<reqwest::Url>,
    },
    Rejected(Rejected),
}

impl Error {
    /// The error for a response that is not a success: its status, `Retry-After`
    /// and URL are kept; it is classified by [`classify_response`].
    fn from_response(response: &reqwest::Response) -> Self {
        Error::from_parts(
            response.status(),
            response.headers(),
            response.url().clone(),
        )
    }

    fn from_parts(status: StatusCode, headers: &HeaderMap, url: reqwest::Url) -> Self {
        Error {
            kind: Kind::Status {
                status,
                retry_after: retry_after(headers),
                class: classify_response(status, headers),
                url: Box::new(url),
            },
            method: None,
        }
    }

    /// Records the request's method, so that a failed POST is not repeated
    /// unless the function is `idempotent` ([`send`] does this for you).
    ///
    /// ```
    /// use retry_runtime::{Classify, Rejected, reqwest::Error};
    ///
    /// let e = Error::from(Rejected::AttemptTimeout { attempt: 1, timeout: std::time::Duration::from_secs(1) })
    ///     .with_method(http::Method::POST);
    /// assert_eq!(e.method(), Some(&http::Method::POST));
    /// ```
    #[must_use]
    pub fn with_method(mut self, method: Method) -> Self {
        self.method = Some(method);
        self
    }

    /// The request's method, if known.
    ///
    /// ```
    /// # use retry_runtime::{Rejected, reqwest::Error};
    /// assert_eq!(Error::from(Rejected::breaker_open("b")).method(), None);
    /// ```
    #[must_use]
    pub fn method(&self) -> Option<&Method> {
        self.method.as_ref()
    }

    /// The response's status: of a failed response, or of a `reqwest::Error`
    /// made by `error_for_status`.
    ///
    /// ```
    /// # use retry_runtime::{Rejected, reqwest::Error};
    /// assert_eq!(Error::from(Rejected::breaker_open("b")).status(), None);
    /// ```
    #[must_use]
    pub fn status(&self) -> Option<StatusCode> {
        match &self.kind {
            Kind::Status { status, .. } => Some(*status),
            Kind::Reqwest(e) => e.status(),
            Kind::Rejected(_) => None,
        }
    }

    /// The delay the failed response's valid `Retry-After` asked for, whatever its status.
    ///
    /// ```
    /// # use retry_runtime::{Rejected, reqwest::Error};
    /// assert_eq!(Error::from(Rejected::breaker_open("b")).retry_after(), None);
    /// ```
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        match &self.kind {
            Kind::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The URL of the request, when known.
    ///
    /// ```
    /// # use retry_runtime::{Rejected, reqwest::Error};
    /// assert!(Error::from(Rejected::breaker_open("b")).url().is_none());
    /// ```
    #[must_use]
    pub fn url(&self) -> Option<&reqwest::Url> {
        match &self.kind {
            Kind::Status { url, .. } => Some(url),
            Kind::Reqwest(e) => e.url(),
            Kind::Rejected(_) => None,
        }
    }

    /// Whether the request never reached the server: it failed while connecting.
    ///
    /// ```
    /// # use retry_runtime::{Rejected, reqwest::Error};
    /// assert!(!Error::from(Rejected::breaker_open("b")).is_connect());
    /// ```
    #[must_use]
    pub fn is_connect(&self) -> bool {
        matches!(&self.kind, Kind::Reqwest(e) if e.is_connect())
    }

    /// The `reqwest::Error`, if this is one.
    ///
    /// ```
    /// # use retry_runtime::{Rejected, reqwest::Error};
    /// assert!(Error::from(Rejected::breaker_open("b")).as_reqwest().is_none());
    /// ```
    #[must_use]
    pub fn as_reqwest(&self) -> Option<&reqwest::Error> {
        match &self.kind {
            Kind::Reqwest(e) => Some(e),
            _ => None,
        }
    }

    /// The framework's refusal, if this is one (an open breaker, an attempt timeout).
    ///
    /// ```
    /// # use retry_runtime::{Rejected, reqwest::Error};
    /// let open = Rejected::breaker_open("b");
    /// assert_eq!(Error::from(open.clone()).rejected(), Some(&open));
    /// ```
    #[must_use]
    pub fn rejected(&self) -> Option<&Rejected> {
        match &self.kind {
            Kind::Rejected(r) => Some(r),
            _ => None,
        }
    }
}

impl From<reqwest::Error> for Error {
    fn from(error: reqwest::Error) -> Self {
        Error {
            kind: Kind::Reqwest(error),
            method: None,
        }
    }
}

impl From<Rejected> for Error {
    fn from(rejected: Rejected) -> Self {
        Error {
            kind: Kind::Rejected(rejected),
            method: None,
        }
    }
}

impl Classify for Error {
    fn classify(&self) -> Class {
        match &self.kind {
            Kind::Reqwest(e) => e.classify(),
            Kind::Status { class, .. } => *class,
            Kind::Rejected(r) => r.classify(),
        }
    }

    /// A 5xx response is an outage, with or without `Retry-After`: a breaker
    /// counts a `503` with `Retry-After` as a failure, while a `429` with one
    /// (a live service pushing back) counts as a success unless the breaker
    /// sets `retry_after_is_failure`.
    fn is_outage(&self) -> bool {
        self.status().is_some_and(|status| status.is_server_error())
    }

    /// `false` for a request whose method is known and not idempotent (RFC 9110
    /// §9.2.2) and that got past connecting.
    fn replay_safe(&self) -> bool {
        match &self.method {
            None => true,
            Some(method) => is_idempotent(method) || self.is_connect(),
        }
    }
}

/// GET, HEAD, OPTIONS, TRACE, PUT and DELETE (RFC 9110 §9.2.2); not POST,
/// PATCH, CONNECT, nor any extension method.
fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    )
}

/// Short enough for an event line: method, status, `Retry-After`, URL as text.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Error");
        if let Some(method) = &self.method {
            s.field("method", &format_args!("{method}"));
        }
        match &self.kind {
            Kind::Reqwest(e) => s.field("reqwest", e),
            Kind::Status {
                status,
                retry_after,
                url,
                ..
            } => {
                s.field("status", &format_args!("{}", status.as_u16()));
                if let Some(after) = retry_after {
                    s.field("retry_after", after);
                }
                s.field("url", &format_args!("{url}"))
            }
            Kind::Rejected(r) => s.field("rejected", r),
        };
        s.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(method) = &self.method {
            write!(f, "{method} ")?;
        }
        match &self.kind {
            Kind::Reqwest(e) => write!(f, "{e}"),
            Kind::Status {
                status,
                retry_after,
                url,
                ..
            } => {
                write!(f, "{url}: HTTP {status}")?;
                if let Some(after) = retry_after {
                    write!(f, " (retry after {after:?})")?;
                }
                Ok(())
            }
            Kind::Rejected(r) => write!(f, "{r}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            Kind::Reqwest(e) => Some(e),
            Kind::Rejected(r) => Some(r),
            Kind::Status { .. } => None,
        }
    }
}

/// Passes a success (2xx) through; turns any other status into an [`Error`]
/// that keeps the status and `Retry-After`, classified by [`classify_response`].
/// The method is not known here: add it with [`Error::with_method`], or use [`send`].
///
/// ```no_run
/// use retry_runtime::{reqwest::{check, Error}, retryable};
///
/// #[retryable]
/// async fn health(client: &reqwest::Client) -> Result<(), Error> {
///     check(client.get("http://127.0.0.1:8080/health").send().await?)?;
///     Ok(())
/// }
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
pub fn check(response: reqwest::Response) -> Result<reqwest::Response, Error> {
    if response.status().is_success() {
        Ok(response)
    } else {
        Err(Error::from_response(&response))
    }
}

/// Sends the request and [`check`]s the response, recording the method in any
/// [`Error`], so that a POST that reached the server is not repeated unless the
/// function is `idempotent`.
///
/// ```no_run
/// use retry_runtime::{reqwest::{send, Error}, retryable};
///
/// // Not `idempotent`: a 503 to this POST is returned, not repeated;
/// // a POST that could not connect is retried.
/// #[retryable(policy = "network")]
/// async fn order(client: &reqwest::Client, body: String) -> Result<String, Error> {
///     let response = send(client.post("http://127.0.0.1:8080/orders").body(body)).await?;
///     Ok(response.text().await?)
/// }
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
pub async fn send(request: reqwest::RequestBuilder) -> Result<reqwest::Response, Error> {
    let (client, request) = request.build_split();
    let request = request?;
    let method = request.method().clone();
    match client.execute(request).await {
        Ok(response) => check(response).map_err(|e| e.with_method(method)),
        Err(error) => Err(Error::from(error).with_method(method)),
    }
}
