//! The admin router over real HTTP: axum's server on 127.0.0.1, reqwest as
//! the client. Every route and status of DESIGN §11 and §14, the token rules,
//! nesting under a prefix, the config round trip and the event stream.

mod support;

use std::time::Duration;

use retry_runtime::{BreakerState, Config, EventKind, retryable};

const CONFIG: &str = r#"
[policies.admin]
max_attempts = 1

[breakers.admin-read]
[breakers.admin-write]
[breakers.admin-keyed]
[breakers.admin-stream]
"#;

const TOKEN: &str = "correct horse battery staple";

#[retryable(policy = "admin", breaker = "admin-keyed", breaker_key = host)]
async fn keyed_call(host: &str) -> std::io::Result<()> {
    let _ = host;
    Ok(())
}

/// Serves `app` on a free loopback port; returns its base URL.
async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn post(url: &str, bearer: Option<&str>) -> (u16, String) {
    let mut request = client().post(url);
    if let Some(token) = bearer {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn get(url: &str) -> (u16, String, String) {
    let response = client().get(url).send().await.unwrap();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (
        response.status().as_u16(),
        kind,
        response.text().await.unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_routes_answer_and_writes_are_refused_on_the_read_only_router() {
    support::install_once(CONFIG);
    let base = serve(retry_runtime::admin::router()).await;

    let (status, kind, page) = get(&format!("{base}/")).await;
    assert_eq!((status, kind.as_str()), (200, "text/html; charset=utf-8"));
    assert!(page.contains("<title>retry-runtime</title>"));
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "no external assets"
    );

    let (status, kind, body) = get(&format!("{base}/snapshot")).await;
    assert_eq!((status, kind.as_str()), (200, "application/json"));
    let snapshot: serde_json::Value = serde_json::from_str(&body).unwrap();
    let read = snapshot["breakers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "admin-read")
        .expect("the config's breaker is in the snapshot");
    assert_eq!(read["state"], "Closed");
    assert_eq!(read["failure_rate_threshold"], 0.5);

    let (status, kind, body) = get(&format!("{base}/events")).await;
    assert_eq!((status, kind.as_str()), (200, "application/json"));
    assert!(serde_json::from_str::<Vec<serde_json::Value>>(&body).is_ok());

    let (status, kind, _) = get(&format!("{base}/config")).await;
    assert_eq!(
        (status, kind.as_str()),
        (200, "application/toml; charset=utf-8")
    );

    for route in [
        "breakers/admin-read/force-open",
        "breakers/admin-read/disable",
        "breakers/admin-read/reset",
        "breakers/admin-keyed/keys/a/reset",
    ] {
        let (status, text) = post(&format!("{base}/{route}"), Some(TOKEN)).await;
        assert_eq!(status, 403, "{route}: {text}");
        assert!(text.contains("read-only"), "{text}");
    }
    let response = client()
        .put(format!("{base}/config"))
        .header("authorization", format!("Bearer {TOKEN}"))
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    assert_eq!(
        retry_runtime::breaker("admin-read").unwrap().state(),
        BreakerState::Closed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_routes_need_the_token() {
    support::install_once(CONFIG);
    let base = serve(retry_runtime::admin::router_with_token(TOKEN)).await;
    let url = format!("{base}/breakers/admin-write/force-open");
    let handle = retry_runtime::breaker("admin-write").unwrap();

    for bearer in [
        None,
        Some("wrong"),
        Some("correct horse battery stapl"),
        Some(""),
    ] {
        let (status, text) = post(&url, bearer).await;
        assert_eq!(status, 401, "{bearer:?}: {text}");
        assert!(text.contains("Authorization: Bearer"), "{text}");
    }
    let response = client()
        .post(&url)
        .header("authorization", TOKEN) // no "Bearer "
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_eq!(handle.state(), BreakerState::Closed, "nothing changed");

    assert_eq!(
        post(&url, Some(TOKEN)).await,
        (200, "breaker `admin-write` is forced-open\n".into())
    );
    assert_eq!(handle.state(), BreakerState::ForcedOpen);
    let (status, _) = post(&format!("{base}/breakers/admin-write/disable"), Some(TOKEN)).await;
    assert_eq!((status, handle.state()), (200, BreakerState::Disabled));
    let (status, _) = post(&format!("{base}/breakers/admin-write/reset"), Some(TOKEN)).await;
    assert_eq!((status, handle.state()), (200, BreakerState::Closed));

    let (status, text) = post(&format!("{base}/breakers/no-such/reset"), Some(TOKEN)).await;
    assert_eq!(status, 404);
    assert!(text.contains("no breaker `no-such`"), "{text}");
    let (status, text) = post(&format!("{base}/breakers/admin-write/open"), Some(TOKEN)).await;
    assert_eq!(status, 404);
    assert!(text.contains("force-open, disable and reset"), "{text}");
    // A fleet-wide write (feature `redis`) with no fleet to write to, and a
    // scope that does not exist. tests/fleet.rs writes to a real fleet.
    let (status, text) = post(&format!("{url}?scope=fleet"), Some(TOKEN)).await;
    assert_eq!(status, 409, "{text}");
    assert!(text.contains("set fleet = true"), "{text}");
    let (status, _) = post(&format!("{url}?scope=nearby"), Some(TOKEN)).await;
    assert_eq!(status, 400);
    let (status, _) = post(&format!("{url}?scope=local"), Some(TOKEN)).await;
    assert_eq!(status, 200);
    assert_eq!(handle.state(), BreakerState::ForcedOpen);
    handle.reset();
    // A write route read with GET: the method is wrong.
    assert_eq!(get(&url).await.0, 405);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_instances_have_their_own_routes() {
    support::install_once(CONFIG);
    let base = serve(retry_runtime::admin::router_with_token(TOKEN)).await;
    keyed_call("db-1").await.unwrap();
    let url = format!("{base}/breakers/admin-keyed/keys/db-1/force-open");
    assert_eq!(post(&url, None).await.0, 401);
    assert_eq!(
        post(&url, Some(TOKEN)).await,
        (
            200,
            "breaker `admin-keyed` key `db-1` is forced-open\n".into()
        )
    );
    let db1 = retry_runtime::breaker_for("admin-keyed", "db-1").unwrap();
    assert_eq!(db1.state(), BreakerState::ForcedOpen);
    assert_eq!(
        retry_runtime::breaker("admin-keyed").unwrap().state(),
        BreakerState::Closed,
        "the named breaker is not the key's"
    );
    assert!(keyed_call("db-1").await.is_err(), "the key refuses calls");
    assert!(keyed_call("db-2").await.is_ok(), "other keys do not");

    let (_, _, body) = get(&format!("{base}/snapshot")).await;
    let snapshot: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(snapshot["breakers"].as_array().unwrap().iter().any(|b| {
        b["name"] == "admin-keyed" && b["key"] == "db-1" && b["state"] == "ForcedOpen"
    }));

    // A key with characters that need escaping in a path.
    let odd = "10.0.0.7:5432/a b";
    let escaped = "10.0.0.7:5432%2Fa%20b";
    let url = format!("{base}/breakers/admin-keyed/keys/{escaped}/disable");
    assert_eq!(post(&url, Some(TOKEN)).await.0, 200);
    assert_eq!(
        retry_runtime::breaker_for("admin-keyed", odd)
            .unwrap()
            .state(),
        BreakerState::Disabled
    );
    for (key, action) in [("db-1", "reset"), (escaped, "reset")] {
        let url = format!("{base}/breakers/admin-keyed/keys/{key}/{action}");
        assert_eq!(post(&url, Some(TOKEN)).await.0, 200);
    }
    assert_eq!(db1.state(), BreakerState::Closed);
    assert_eq!(
        post(
            &format!("{base}/breakers/nope/keys/db-1/reset"),
            Some(TOKEN)
        )
        .await
        .0,
        404
    );
}

/// The number of the last recent event.
fn last_seq() -> u64 {
    retry_runtime::recent_events().last().map_or(0, |e| e.seq)
}

/// The install events (done or refused) after event `seq`. The other tests of
/// this binary run at the same time and move breakers, so the last event is
/// not always the install's.
fn install_events_since(seq: u64) -> Vec<retry_runtime::Event> {
    retry_runtime::recent_events()
        .into_iter()
        .filter(|e| e.seq > seq)
        .filter(|e| matches!(e.kind, EventKind::Install | EventKind::InstallRefused))
        .collect()
}

async fn put_config(base: &str, body: &str, bearer: Option<&str>) -> (u16, String) {
    let mut request = client().put(format!("{base}/config")).body(body.to_owned());
    if let Some(token) = bearer {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Every test of this binary that installs runs here, in order: the others
/// only read the config, and every config below keeps their names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_round_trips_and_installs_with_200_400_409() {
    support::install_once(CONFIG);
    // Nested under a prefix: the same routes, below it.
    let app =
        axum::Router::new().nest("/ops/admin", retry_runtime::admin::router_with_token(TOKEN));
    let base = format!("{}/ops/admin", serve(app).await);

    // GET /config reads back to the running config.
    let (status, _, text) = get(&format!("{base}/config")).await;
    assert_eq!(status, 200);
    let running = retry_runtime::current_config();
    assert_eq!(Config::from_toml_str(&text).unwrap(), *running);

    // 200: installed.
    let changed = text.replace(
        "[breakers.admin-read]\nwindow = \"count\"\nwindow_size = 20",
        "[breakers.admin-read]\nwindow = \"count\"\nwindow_size = 40",
    );
    assert_ne!(changed, text);
    assert_eq!(put_config(&base, &changed, None).await.0, 401);
    let before = last_seq();
    assert_eq!(
        put_config(&base, &changed, Some(TOKEN)).await,
        (200, "installed\n".into())
    );
    let installed = retry_runtime::current_config();
    assert_eq!(
        installed.breaker("admin-read").unwrap().window,
        retry_runtime::Window::Count { size: 40 }
    );
    let [last] = install_events_since(before).try_into().unwrap();
    assert_eq!(last.kind, EventKind::Install);
    assert_eq!(last.fields["via"].to_string(), "the admin router");

    // 400: the parse error's text; the running config stays.
    let bad = "[policies.admin]\nmax_attempts = 0\n";
    let before = last_seq();
    let (status, text) = put_config(&base, bad, Some(TOKEN)).await;
    assert_eq!(status, 400);
    assert_eq!(text, Config::from_toml_str(bad).unwrap_err().to_string());
    assert_eq!(retry_runtime::current_config(), installed);
    let [last] = install_events_since(before).try_into().unwrap();
    assert_eq!(last.kind, EventKind::InstallRefused);
    assert_eq!(last.fields["error"].to_string(), text);

    // 409: valid, but a call site names a policy it lacks.
    let lacking = "[breakers.admin-keyed]\n";
    let (status, text) = put_config(&base, lacking, Some(TOKEN)).await;
    assert_eq!(status, 409);
    let expected = retry_runtime::install(Config::from_toml_str(lacking).unwrap()).unwrap_err();
    assert_eq!(text, expected.to_string());
    assert!(text.contains("admin"), "{text}");
    assert_eq!(retry_runtime::current_config(), installed);

    // The rest of the routes under the prefix; the page at the prefix itself.
    for route in ["snapshot", "events", "config"] {
        assert_eq!(get(&format!("{base}/{route}")).await.0, 200, "{route}");
    }
    let (status, _, page) = get(&base).await;
    assert_eq!(status, 200);
    assert!(page.contains("<title>retry-runtime</title>"));
    assert!(!page.contains("\"/snapshot"), "relative URLs only");
    let (status, _) = post(&format!("{base}/breakers/admin-read/reset"), Some(TOKEN)).await;
    assert_eq!(status, 200);
}

/// Reads SSE chunks until a `data:` line satisfies `want`; bounded.
async fn next_data(
    response: &mut reqwest::Response,
    buffer: &mut String,
    want: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        while let Some(end) = buffer.find("\n\n") {
            let message: String = buffer.drain(..end + 2).collect();
            for line in message.lines() {
                if let Some(data) = line.strip_prefix("data: ") {
                    let value: serde_json::Value = serde_json::from_str(data).unwrap();
                    if want(&value) {
                        return value;
                    }
                }
            }
        }
        let chunk = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .expect("the event within 10 s")
            .unwrap()
            .expect("the stream stays open");
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_delivers_a_transition_that_happens_after_connecting() {
    support::install_once(CONFIG);
    let base = serve(retry_runtime::admin::router()).await;
    let mut response = client()
        .get(format!("{base}/events/stream"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    // The opening comment: the subscription is in place.
    let mut buffer = String::new();
    while !buffer.contains(": subscribed") {
        let chunk = response.chunk().await.unwrap().unwrap();
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    buffer.clear();

    let handle = retry_runtime::breaker("admin-stream").unwrap();
    handle.force_open();
    let event = next_data(&mut response, &mut buffer, |e| {
        e["fields"]["breaker"] == "admin-stream"
    })
    .await;
    assert_eq!(event["kind"], "breaker-transition");
    assert_eq!(event["fields"]["from"], "closed");
    assert_eq!(event["fields"]["to"], "forced-open");
    assert_eq!(event["fields"]["reason"], "set by hand");
    assert!(event["time"].as_str().unwrap().ends_with('Z'));
    handle.reset();
    let event = next_data(&mut response, &mut buffer, |e| {
        e["fields"]["breaker"] == "admin-stream"
    })
    .await;
    assert_eq!(event["fields"]["to"], "closed");
}
