//! A real HTTP/1.1 server on 127.0.0.1 (hyper), scripted per path, recording
//! every request it sees (method, path, arrival instant). Used by the HTTP
//! round-trip tests and `examples/http_client.rs`: include it with
//! `#[path = "support/loopback.rs"] mod loopback;`.

#![allow(dead_code)] // each user needs a different part

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// What the server does with one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// This status, with a short body.
    Status(u16),
    /// This status with `Retry-After: <value>`.
    RetryAfter(u16, String),
    /// Never answers (the connection stays open).
    Hang,
    /// Closes the connection with a TCP reset, without answering.
    Reset,
}

impl Reply {
    /// `Retry-After` as an HTTP-date `secs` seconds from now (rounded up to
    /// the next whole second, since HTTP-dates have no fractions).
    pub fn retry_after_date(status: u16, secs: u64) -> Reply {
        let at = SystemTime::now() + Duration::from_secs(secs) + Duration::from_millis(999);
        Reply::RetryAfter(status, httpdate::fmt_http_date(at))
    }
}

/// A real reqwest client for loopback servers: no proxy, no TLS.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("a client without TLS builds")
}

/// One request the server saw.
#[derive(Debug, Clone)]
pub struct Hit {
    pub method: String,
    pub path: String,
    pub at: Instant,
}

#[derive(Default)]
struct State {
    /// Per path: the replies still to give; the last one repeats.
    script: HashMap<String, VecDeque<Reply>>,
    hits: Vec<Hit>,
}

/// A running server; it stops when the test's runtime does.
#[derive(Clone)]
pub struct Server {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl Server {
    /// Binds 127.0.0.1 on a free port and serves on the current runtime.
    pub async fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("the bound address");
        let state = Arc::new(Mutex::new(State::default()));
        let server = Server { addr, state };
        let serving = server.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                // A reset is a close with SO_LINGER 0: the kernel sends RST, not FIN.
                let _ = stream.set_zero_linger();
                let server = serving.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let server = server.clone();
                        async move { server.answer(request).await }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        server
    }

    /// The replies `path` gives, in order; the last one repeats. An unscripted
    /// path answers 200.
    pub fn script(&self, path: &str, replies: impl IntoIterator<Item = Reply>) {
        let mut state = self.state.lock().expect("server state");
        state
            .script
            .insert(path.to_owned(), replies.into_iter().collect());
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Every request to `path` so far.
    pub fn hits(&self, path: &str) -> Vec<Hit> {
        let state = self.state.lock().expect("server state");
        state
            .hits
            .iter()
            .filter(|h| h.path == path)
            .cloned()
            .collect()
    }

    /// Every request so far.
    pub fn all_hits(&self) -> Vec<Hit> {
        self.state.lock().expect("server state").hits.clone()
    }

    /// The gaps between consecutive requests to `path`.
    pub fn gaps(&self, path: &str) -> Vec<Duration> {
        self.hits(path)
            .windows(2)
            .map(|w| w[1].at.duration_since(w[0].at))
            .collect()
    }

    async fn answer(&self, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Reset> {
        let path = request.uri().path().to_owned();
        let reply = {
            let mut state = self.state.lock().expect("server state");
            state.hits.push(Hit {
                method: request.method().to_string(),
                path: path.clone(),
                at: Instant::now(),
            });
            match state.script.get_mut(&path) {
                Some(replies) if replies.len() > 1 => replies.pop_front(),
                Some(replies) => replies.front().cloned(),
                None => None,
            }
        };
        let (status, retry_after) = match reply {
            None => (200, None),
            Some(Reply::Status(status)) => (status, None),
            Some(Reply::RetryAfter(status, value)) => (status, Some(value)),
            Some(Reply::Hang) => std::future::pending().await,
            Some(Reply::Reset) => return Err(Reset),
        };
        let status = StatusCode::from_u16(status).expect("a valid status in the script");
        let mut response = Response::new(Full::new(Bytes::from(format!("{status}\n"))));
        *response.status_mut() = status;
        if let Some(value) = retry_after {
            response.headers_mut().insert(
                hyper::header::RETRY_AFTER,
                value.parse().expect("a valid header value"),
            );
        }
        Ok(response)
    }
}

/// The service's error: hyper drops the connection, which the zero linger turns into a reset.
#[derive(Debug)]
struct Reset;

impl std::fmt::Display for Reset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("scripted connection reset")
    }
}

impl std::error::Error for Reset {}
