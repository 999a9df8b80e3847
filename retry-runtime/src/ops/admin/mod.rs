//! The admin router (feature `admin`): a live dashboard, the snapshot,
//! recent events, the running config, breaker controls and config installs,
//! as an [`axum::Router`] to mount in the service's own server.
//!
//! | route | answer |
//! |---|---|
//! | `GET /` | the dashboard: one HTML page, no external assets |
//! | `GET /snapshot` | [`snapshot()`](crate::snapshot) as JSON |
//! | `GET /events` | [`recent_events()`](crate::recent_events) as JSON, oldest first |
//! | `GET /events/stream` | Server-Sent Events: each new event as one `data:` line of JSON |
//! | `GET /config` | the running config as TOML ([`Config::to_toml_string`](crate::Config::to_toml_string)) |
//! | `PUT /config` | installs the TOML body: 200, 400 (parse error), 409 (install error) |
//! | `POST /breakers/{name}/force-open`, `disable`, `reset` | sets the breaker by hand: 200, 404 unknown name |
//! | `POST /breakers/{name}/keys/{key}/force-open`, `disable`, `reset` | the same for one keyed instance |
//!
//! **Write routes** (`PUT /config`, `POST /breakers/...`) need
//! `Authorization: Bearer <token>` on [`router_with_token`]: 401 without it or
//! with a wrong one (compared in constant time). On the read-only [`router`]
//! they answer 403. Errors are plain text, the same text
//! [`ConfigError`](crate::ConfigError) and [`InstallError`](crate::InstallError)
//! print; on any error the running config stays in force.
//!
//! **Nesting.** Mount it anywhere: `Router::new().nest("/admin", router())`.
//! The page uses relative URLs only, so it works under any prefix.
//!
//! **Security.** The router has no TLS, no rate limiting and no access log of
//! its own: mount it behind the service's own (or on a port only operators
//! reach). The token travels in a header; open the dashboard as
//! `.../#token=<token>` (a fragment, never sent to the server) to get its
//! write buttons.
//!
//! **The event stream** gives each client a queue of [`STREAM_QUEUE`] events:
//! a client that reads too slowly loses events rather than slowing the
//! runtime, and is told how many with an `event: dropped` message whose data
//! is `{"dropped": n}`. A comment line is sent every 15 s so that a client
//! that went away is noticed.
//!
//! `?scope=fleet` on a breaker's write route acts on every instance of the
//! fleet this process joined (feature `redis`, `fleet::join`), through
//! `BreakerHandle::{fleet_force_open, fleet_disable, fleet_reset}`: 200 once
//! Redis has it; 409 when no fleet is joined or the breaker is not
//! `fleet = true`; 503 when Redis cannot be reached (nothing changed). Without
//! the `redis` feature, and on `PUT /config` (a config is per process), it
//! answers 501. Any other scope but `local` answers 400.
//!
//! ```
//! fn app() -> axum::Router {
//!     axum::Router::new()
//!         // ... the service's own routes ...
//!         .nest("/admin", retry_runtime::admin::router_with_token("s3cr3t"))
//! }
//! // Serve it as usual: axum::serve(listener, app()).await
//! # drop(app());
//! ```

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::ops::events::Via;
use crate::ops::events::subscribe::{Subscription, subscribe};
use crate::{BreakerHandle, Config};

/// How many events the stream queues for one client before it drops.
pub const STREAM_QUEUE: usize = 64;

/// The read-only router: every `GET` route; write routes answer 403.
///
/// ```
/// let app: axum::Router = axum::Router::new().nest("/admin", retry_runtime::admin::router());
/// # drop(app);
/// ```
pub fn router() -> Router {
    routes(Access::ReadOnly)
}

/// The read and write router: every route; write routes need
/// `Authorization: Bearer <token>`. An empty `token` matches no request, so
/// every write answers 401.
///
/// ```
/// let app: axum::Router = retry_runtime::admin::router_with_token(std::env::var("ADMIN_TOKEN").unwrap_or_default());
/// # drop(app);
/// ```
pub fn router_with_token(token: impl Into<String>) -> Router {
    routes(Access::Token(token.into()))
}

/// Who may write.
enum Access {
    ReadOnly,
    Token(String),
}

type Shared = State<Arc<Access>>;

fn routes(access: Access) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/snapshot", get(snapshot))
        .route("/events", get(events))
        .route("/events/stream", get(stream))
        .route("/config", get(config).put(put_config))
        .route("/breakers/{name}/{action}", post(set_breaker))
        .route("/breakers/{name}/keys/{key}/{action}", post(set_keyed))
        .with_state(Arc::new(access))
}

/// Plain text with a status.
fn text(status: StatusCode, body: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body.into(),
    )
        .into_response()
}

fn json(body: &impl serde::Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => ([(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        include_str!("dashboard.html"),
    )
        .into_response()
}

async fn snapshot() -> Response {
    json(&crate::snapshot())
}

async fn events() -> Response {
    json(&crate::recent_events())
}

async fn config() -> Response {
    (
        [(header::CONTENT_TYPE, "application/toml; charset=utf-8")],
        crate::current_config().to_toml_string(),
    )
        .into_response()
}

/// Checks a write: the router must have a token and the request must carry
/// it; then the scope (`?scope=local`, the default, or `fleet`).
fn authorize(access: &Access, headers: &HeaderMap, query: Option<&str>) -> Result<Scope, Refused> {
    let Access::Token(token) = access else {
        return Err(Refused::ReadOnly);
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if !given.is_some_and(|given| !token.is_empty() && same(given.as_bytes(), token.as_bytes())) {
        return Err(Refused::Unauthorized);
    }
    match scope(query) {
        Scope::Unknown(other) => Err(Refused::Scope(other)),
        // Fleet-wide writes (DESIGN §15) need a fleet to write to.
        Scope::Fleet if !cfg!(feature = "redis") => Err(Refused::Fleet),
        known => Ok(known),
    }
}

/// Why a write was refused before it ran.
enum Refused {
    ReadOnly,
    Unauthorized,
    Fleet,
    Scope(String),
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Refused::ReadOnly => text(
                StatusCode::FORBIDDEN,
                "this admin router is read-only (retry_runtime::admin::router); \
                 mount router_with_token(token) to allow writes",
            ),
            Refused::Unauthorized => {
                let mut response = text(
                    StatusCode::UNAUTHORIZED,
                    "this route needs the header `Authorization: Bearer <token>` with the admin token",
                );
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                response
            }
            Refused::Fleet => text(
                StatusCode::NOT_IMPLEMENTED,
                "scope=fleet: this process has no fleet to act on (the `redis` feature \
                 is off, or the route is not a breaker's); write without `?scope=` \
                 to act on this process",
            ),
            Refused::Scope(other) => text(
                StatusCode::BAD_REQUEST,
                format!(
                    "unknown scope `{other}`; write `?scope=local` (the default) or `?scope=fleet`"
                ),
            ),
        }
    }
}

/// Where a write acts.
enum Scope {
    Local,
    Fleet,
    Unknown(String),
}

fn scope(query: Option<&str>) -> Scope {
    let value = query
        .unwrap_or_default()
        .split('&')
        .find_map(|pair| pair.strip_prefix("scope="));
    match value {
        None | Some("local") => Scope::Local,
        Some("fleet") => Scope::Fleet,
        Some(other) => Scope::Unknown(other.to_owned()),
    }
}

/// Compares a given token with the expected one in time that depends only
/// on the expected token's length, not on where they differ.
fn same(given: &[u8], expected: &[u8]) -> bool {
    let mut diff = given.len() ^ expected.len();
    for (i, e) in expected.iter().enumerate() {
        diff |= usize::from(given.get(i).copied().unwrap_or(0) ^ e);
    }
    std::hint::black_box(diff) == 0
}

async fn put_config(
    State(access): Shared,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match authorize(&access, &headers, query.as_deref()) {
        Ok(Scope::Local) => {}
        Ok(_) => return Refused::Fleet.into_response(),
        Err(refused) => return refused.into_response(),
    }
    let Ok(body) = std::str::from_utf8(&body) else {
        let message = "the config must be UTF-8 TOML text";
        crate::ops::events::installed(Via::Admin, Some(&message));
        return text(StatusCode::BAD_REQUEST, message);
    };
    let config = match Config::from_toml_str(body) {
        Ok(config) => config,
        Err(e) => {
            crate::ops::events::installed(Via::Admin, Some(&e));
            return text(StatusCode::BAD_REQUEST, e.to_string());
        }
    };
    match crate::registry::install_via(config, Via::Admin) {
        Ok(()) => text(StatusCode::OK, "installed\n"),
        Err(e) => text(StatusCode::CONFLICT, e.to_string()),
    }
}

/// What a write route does to a breaker.
fn act(handle: &BreakerHandle, action: &str, what: &str) -> Response {
    match action {
        "force-open" => handle.force_open(),
        "disable" => handle.disable(),
        "reset" => handle.reset(),
        other => {
            return text(
                StatusCode::NOT_FOUND,
                format!("unknown action `{other}`; the actions are force-open, disable and reset"),
            );
        }
    }
    text(StatusCode::OK, format!("{what} is {}\n", handle.state()))
}

/// A write on this process (`Local`) or on the whole fleet.
async fn act_in(scope: Scope, handle: &BreakerHandle, action: &str, what: &str) -> Response {
    match scope {
        #[cfg(feature = "redis")]
        Scope::Fleet => act_fleet(handle, action, what).await,
        _ => act(handle, action, what),
    }
}

/// What a write route with `?scope=fleet` does: the fleet-wide control,
/// applied here at once and on every other instance within a second.
#[cfg(feature = "redis")]
async fn act_fleet(handle: &BreakerHandle, action: &str, what: &str) -> Response {
    use crate::fleet::FleetError;
    let done = match action {
        "force-open" => handle.fleet_force_open().await,
        "disable" => handle.fleet_disable().await,
        "reset" => handle.fleet_reset().await,
        other => {
            return text(
                StatusCode::NOT_FOUND,
                format!("unknown action `{other}`; the actions are force-open, disable and reset"),
            );
        }
    };
    match done {
        Ok(()) => text(
            StatusCode::OK,
            format!("{what} is {} here, and set for the fleet\n", handle.state()),
        ),
        Err(e @ FleetError::Disconnected(_)) => {
            text(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
        }
        Err(e) => text(StatusCode::CONFLICT, e.to_string()),
    }
}

fn unknown_breaker(name: &str) -> Response {
    text(
        StatusCode::NOT_FOUND,
        format!("no breaker `{name}`: neither the running config nor any call site names it"),
    )
}

async fn set_breaker(
    State(access): Shared,
    Path((name, action)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let scope = match authorize(&access, &headers, query.as_deref()) {
        Ok(scope) => scope,
        Err(refused) => return refused.into_response(),
    };
    match crate::breaker(&name) {
        Some(handle) => act_in(scope, &handle, &action, &format!("breaker `{name}`")).await,
        None => unknown_breaker(&name),
    }
}

async fn set_keyed(
    State(access): Shared,
    Path((name, key, action)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let scope = match authorize(&access, &headers, query.as_deref()) {
        Ok(scope) => scope,
        Err(refused) => return refused.into_response(),
    };
    match crate::breaker_for(&name, &key) {
        Some(handle) => {
            act_in(
                scope,
                &handle,
                &action,
                &format!("breaker `{name}` key `{key}`"),
            )
            .await
        }
        None => unknown_breaker(&name),
    }
}

async fn stream() -> impl IntoResponse {
    Sse::new(EventStream {
        subscription: subscribe(STREAM_QUEUE),
        reported: 0,
        greeted: false,
    })
    .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// One client's events, as SSE messages.
struct EventStream {
    subscription: Subscription,
    /// Dropped events already reported to the client.
    reported: u64,
    /// Whether the opening comment was sent (it makes the response start at
    /// once, so a client knows it is subscribed).
    greeted: bool,
}

impl futures_core::Stream for EventStream {
    type Item = Result<SseEvent, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if !self.greeted {
            self.greeted = true;
            return Poll::Ready(Some(Ok(SseEvent::default().comment("subscribed"))));
        }
        let dropped = self.subscription.dropped.load(Ordering::Relaxed);
        if dropped > self.reported {
            let missed = dropped - self.reported;
            self.reported = dropped;
            return Poll::Ready(Some(Ok(SseEvent::default()
                .event("dropped")
                .data(format!("{{\"dropped\":{missed}}}")))));
        }
        match self.subscription.events.poll_recv(cx) {
            Poll::Ready(Some(event)) => {
                let data = serde_json::to_string(&event).unwrap_or_default();
                Poll::Ready(Some(Ok(SseEvent::default().data(data))))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(same(b"s3cr3t", b"s3cr3t"));
        assert!(!same(b"s3cr3", b"s3cr3t"));
        assert!(!same(b"s3cr3tt", b"s3cr3t"));
        assert!(!same(b"S3cr3t", b"s3cr3t"));
        assert!(!same(b"", b"s3cr3t"));
        assert!(!same(b"s3cr3t\0", b"s3cr3t"));
    }

    #[test]
    fn scopes() {
        assert!(matches!(scope(None), Scope::Local));
        assert!(matches!(scope(Some("a=1&scope=fleet")), Scope::Fleet));
        assert!(matches!(scope(Some("scope=nearby")), Scope::Unknown(s) if s == "nearby"));
    }
}
