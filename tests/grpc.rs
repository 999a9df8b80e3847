//! Real gRPC round trips: a tonic server on 127.0.0.1 and a tonic channel to it,
//! with a hand-written codec of raw bytes (no protoc, no generated code), called
//! through `#[retryable]` functions returning `Result<_, tonic::Status>`.

mod support;

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut, Bytes};
use retry_runtime::{Class, Classify, Rejected, retryable};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::{Channel, Endpoint, Server};
use tonic::{Code, Status};

const CONFIG: &str = r#"
[policies.grpc]
max_attempts = 3
backoff = "constant"
initial_delay = "20ms"
jitter = "none"

[policies.grpc_timeout]
base = "grpc"
attempt_timeout = "300ms"

[breakers.grpc_forced]
minimum_calls = 20
"#;

/// Moves a message's bytes as they are.
#[derive(Debug, Clone, Copy, Default)]
struct Raw;

impl Codec for Raw {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = Raw;
    type Decoder = Raw;
    fn encoder(&mut self) -> Raw {
        Raw
    }
    fn decoder(&mut self) -> Raw {
        Raw
    }
}

impl Encoder for Raw {
    type Item = Bytes;
    type Error = Status;
    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for Raw {
    type Item = Bytes;
    type Error = Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

#[derive(Debug, Clone)]
enum Reply {
    Ok,
    Code(Code),
    /// `ResourceExhausted` with `grpc-retry-pushback-ms`.
    Pushback(u64),
    Hang,
}

#[derive(Default)]
struct State {
    script: HashMap<String, VecDeque<Reply>>,
    hits: HashMap<String, Vec<Instant>>,
}

#[derive(Clone)]
struct GrpcServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl GrpcServer {
    async fn start() -> GrpcServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let service = tower::service_fn(move |request: hyper::Request<tonic::body::Body>| {
            let state = shared.clone();
            async move {
                let method = request.uri().path().to_owned();
                let handler = tower::service_fn(move |_: tonic::Request<Bytes>| {
                    let state = state.clone();
                    let method = method.clone();
                    async move { answer(&state, &method).await }
                });
                Ok::<_, Infallible>(tonic::server::Grpc::new(Raw).unary(handler, request).await)
            }
        });
        tokio::spawn(Server::builder().serve_with_incoming(
            service,
            tonic::transport::server::TcpIncoming::from(listener),
        ));
        GrpcServer { addr, state }
    }

    fn script(&self, method: &str, replies: impl IntoIterator<Item = Reply>) {
        let mut state = self.state.lock().expect("state");
        state
            .script
            .insert(method.to_owned(), replies.into_iter().collect());
    }

    fn hits(&self, method: &str) -> Vec<Instant> {
        let state = self.state.lock().expect("state");
        state.hits.get(method).cloned().unwrap_or_default()
    }

    fn channel(&self) -> Channel {
        Endpoint::from_shared(format!("http://{}", self.addr))
            .expect("a valid endpoint")
            .connect_lazy()
    }
}

async fn answer(state: &Mutex<State>, method: &str) -> Result<tonic::Response<Bytes>, Status> {
    let reply = {
        let mut state = state.lock().expect("state");
        state
            .hits
            .entry(method.to_owned())
            .or_default()
            .push(Instant::now());
        match state.script.get_mut(method) {
            Some(replies) if replies.len() > 1 => replies.pop_front(),
            Some(replies) => replies.front().cloned(),
            None => None,
        }
    };
    match reply.unwrap_or(Reply::Ok) {
        Reply::Ok => Ok(tonic::Response::new(Bytes::from_static(b"value"))),
        Reply::Code(code) => Err(Status::new(code, "scripted")),
        Reply::Pushback(ms) => {
            let mut status = Status::resource_exhausted("quota");
            status.metadata_mut().insert(
                "grpc-retry-pushback-ms",
                ms.to_string().parse().expect("ascii"),
            );
            Err(status)
        }
        Reply::Hang => std::future::pending().await,
    }
}

/// One unary call of `method` with the raw codec.
async fn call(channel: &Channel, method: &'static str) -> Result<Bytes, Status> {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready()
        .await
        .map_err(|e| Status::unavailable(format!("channel not ready: {e}")))?;
    let path = hyper::http::uri::PathAndQuery::from_static(method);
    let response = grpc
        .unary(tonic::Request::new(Bytes::from_static(b"key")), path, Raw)
        .await?;
    Ok(response.into_inner())
}

#[retryable(policy = "grpc")]
async fn get(
    channel: &Channel,
    method: &'static str,
    attempts: &AtomicU32,
) -> Result<Bytes, Status> {
    attempts.fetch_add(1, Ordering::SeqCst);
    call(channel, method).await
}

#[retryable(policy = "grpc_timeout")]
async fn get_with_timeout(channel: &Channel, method: &'static str) -> Result<Bytes, Status> {
    call(channel, method).await
}

#[retryable(policy = "grpc", breaker = "grpc_forced")]
async fn get_behind_breaker(channel: &Channel, method: &'static str) -> Result<Bytes, Status> {
    call(channel, method).await
}

#[tokio::test]
async fn unavailable_twice_then_ok_succeeds_on_the_third_call() {
    support::install_once(CONFIG);
    let server = GrpcServer::start().await;
    server.script(
        "/store.Store/Flaky",
        [
            Reply::Code(Code::Unavailable),
            Reply::Code(Code::Unavailable),
            Reply::Ok,
        ],
    );
    let attempts = AtomicU32::new(0);
    let value = get(&server.channel(), "/store.Store/Flaky", &attempts)
        .await
        .expect("third call");
    assert_eq!(&value[..], b"value");
    assert_eq!(server.hits("/store.Store/Flaky").len(), 3);
}

#[tokio::test]
async fn not_found_is_one_call() {
    support::install_once(CONFIG);
    let server = GrpcServer::start().await;
    server.script("/store.Store/Missing", [Reply::Code(Code::NotFound)]);
    let attempts = AtomicU32::new(0);
    let status = get(&server.channel(), "/store.Store/Missing", &attempts)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(server.hits("/store.Store/Missing").len(), 1);
}

#[tokio::test]
async fn pushback_is_waited() {
    support::install_once(CONFIG);
    let server = GrpcServer::start().await;
    server.script("/store.Store/Quota", [Reply::Pushback(500), Reply::Ok]);
    let attempts = AtomicU32::new(0);
    get(&server.channel(), "/store.Store/Quota", &attempts)
        .await
        .expect("second call");
    let hits = server.hits("/store.Store/Quota");
    assert_eq!(hits.len(), 2);
    let gap = hits[1].duration_since(hits[0]);
    assert!(gap >= Duration::from_millis(500), "waited {gap:?}");
    assert!(gap < Duration::from_secs(3), "waited {gap:?}");
}

#[tokio::test]
async fn an_hour_of_pushback_gives_up_at_once() {
    support::install_once(CONFIG);
    let server = GrpcServer::start().await;
    server.script("/store.Store/Closed", [Reply::Pushback(3_600_000)]);
    let attempts = AtomicU32::new(0);
    let started = Instant::now();
    let status = get(&server.channel(), "/store.Store/Closed", &attempts)
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        status.classify(),
        Class::RetryAfter(Duration::from_secs(3600))
    );
    assert_eq!(server.hits("/store.Store/Closed").len(), 1);
}

#[tokio::test]
async fn no_server_is_unavailable_and_retried() {
    support::install_once(CONFIG);
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let channel = Endpoint::from_shared(format!("http://{closed}"))
        .expect("endpoint")
        .connect_lazy();
    let attempts = AtomicU32::new(0);
    let status = get(&channel, "/store.Store/Any", &attempts)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn an_attempt_timeout_is_deadline_exceeded() {
    support::install_once(CONFIG);
    let server = GrpcServer::start().await;
    server.script("/store.Store/Hang", [Reply::Hang]);
    let status = get_with_timeout(&server.channel(), "/store.Store/Hang")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded);
    assert_eq!(status.classify(), Class::Transient);
    assert_eq!(server.hits("/store.Store/Hang").len(), 3);
}

#[tokio::test]
async fn an_open_breaker_is_unavailable_and_classified_as_its_rejection() {
    support::install_once(CONFIG);
    let server = GrpcServer::start().await;
    let channel = server.channel();
    // A first call resolves the breaker; then force it open.
    get_behind_breaker(&channel, "/store.Store/Ok")
        .await
        .expect("closed breaker");
    retry_runtime::breaker("grpc_forced")
        .expect("the breaker is live")
        .force_open();
    let status = get_behind_breaker(&channel, "/store.Store/Ok")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(status.classify(), Class::Permanent);
    let source = std::error::Error::source(&status).and_then(|s| s.downcast_ref::<Rejected>());
    assert!(matches!(
        source,
        Some(Rejected::BreakerOpen {
            breaker: "grpc_forced",
            key: None
        })
    ));
    assert_eq!(
        server.hits("/store.Store/Ok").len(),
        1,
        "the refused call never reached the server"
    );
}
