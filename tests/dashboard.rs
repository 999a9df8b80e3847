//! The dashboard in a real headless browser (Debian's `chromium`): the page
//! loads under a prefix, shows a breaker this test opened, and its reset
//! button (present because the page was opened with a token) closes it.
//!
//! The browser is driven through the DevTools protocol over a WebSocket,
//! written here in a few lines (client frames, text only) rather than pulled
//! in as a dependency: the test needs `Runtime.evaluate` and nothing else.
//!
//! Without `chromium` on `PATH` it says so on one line and does not run;
//! under `CI=true` (where `.ci/run` installs it) a missing browser fails.

mod support;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use retry_runtime::{BreakerState, retryable};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};

const CONFIG: &str = r#"
[policies.dashboard]
max_attempts = 1

[breakers.dashboard]
window_size = 4
minimum_calls = 4
failure_rate_threshold = 0.5
open_duration = "1h"
"#;

const TOKEN: &str = "browser-token";

#[retryable(policy = "dashboard", breaker = "dashboard")]
async fn failing() -> std::io::Result<()> {
    Err(std::io::ErrorKind::ConnectionRefused.into())
}

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("chromium"))
        .find(|candidate| candidate.is_file())
}

/// A DevTools connection to one page.
struct Page {
    socket: TcpStream,
    next_id: u64,
}

impl Page {
    async fn connect(ws_url: &str) -> Page {
        let rest = ws_url.strip_prefix("ws://").expect("a ws:// URL");
        let (host, path) = rest.split_at(rest.find('/').expect("a path"));
        let mut socket = TcpStream::connect(host).await.expect("connect to DevTools");
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        socket.write_all(request.as_bytes()).await.unwrap();
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            head.push(socket.read_u8().await.unwrap());
        }
        let head = String::from_utf8_lossy(&head);
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        Page { socket, next_id: 0 }
    }

    /// Sends one masked text frame (mask key zero: the payload goes as is).
    async fn send(&mut self, text: &str) {
        let payload = text.as_bytes();
        let mut frame = vec![0x81];
        match payload.len() {
            n if n < 126 => frame.push(0x80 | u8::try_from(n).unwrap()),
            n if n <= 0xffff => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&u16::try_from(n).unwrap().to_be_bytes());
            }
            n => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        frame.extend_from_slice(&[0, 0, 0, 0]);
        frame.extend_from_slice(payload);
        self.socket.write_all(&frame).await.unwrap();
    }

    /// Reads one whole message (fragments joined; control frames skipped).
    async fn receive(&mut self) -> String {
        let mut message = Vec::new();
        loop {
            let b0 = self.socket.read_u8().await.unwrap();
            let b1 = self.socket.read_u8().await.unwrap();
            let len = match b1 & 0x7f {
                126 => u64::from(self.socket.read_u16().await.unwrap()),
                127 => self.socket.read_u64().await.unwrap(),
                n => u64::from(n),
            };
            let mut payload = vec![0; usize::try_from(len).unwrap()];
            self.socket.read_exact(&mut payload).await.unwrap();
            if b0 & 0x0f >= 0x8 {
                continue; // close, ping, pong
            }
            message.extend_from_slice(&payload);
            if b0 & 0x80 != 0 {
                return String::from_utf8(message).unwrap();
            }
        }
    }

    /// Evaluates `expression` in the page; its value as JSON.
    async fn eval(&mut self, expression: &str) -> serde_json::Value {
        self.next_id += 1;
        let id = self.next_id;
        let request = serde_json::json!({
            "id": id,
            "method": "Runtime.evaluate",
            "params": { "expression": expression, "returnByValue": true },
        });
        self.send(&request.to_string()).await;
        loop {
            let reply: serde_json::Value = serde_json::from_str(&self.receive().await).unwrap();
            if reply["id"] == id {
                return reply["result"]["result"]["value"].clone();
            }
        }
    }

    /// Evaluates `expression` every 50 ms until it is `want`, for at most 20 s.
    async fn wait_for(&mut self, expression: &str, want: serde_json::Value) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let value = self.eval(expression).await;
            if value == want {
                return;
            }
            if Instant::now() >= deadline {
                let page = self
                    .eval("location.href + '\\n' + document.body.innerText.slice(0, 2000)")
                    .await;
                panic!("`{expression}` is {value}, not {want}, after 20 s; the page:\n{page}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_an_open_breaker_and_its_reset_button_closes_it() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true: chromium must be on PATH (.ci/run installs it)"
        );
        // Straight to stderr, past the test harness's capture: one line the user sees.
        let _ = writeln!(
            std::io::stderr(),
            "tests/dashboard.rs: chromium is not on PATH; the headless-browser test did not run"
        );
        return;
    };
    support::install_once(CONFIG);
    for _ in 0..4 {
        failing().await.unwrap_err();
    }
    let breaker = retry_runtime::breaker("dashboard").unwrap();
    assert_eq!(breaker.state(), BreakerState::Open);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().nest("/ops", retry_runtime::admin::router_with_token(TOKEN));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let profile = std::env::temp_dir().join(format!("retry-dashboard-{}", std::process::id()));
    let mut child = tokio::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--remote-debugging-port=0",
            "--window-size=1280,900",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        // At the prefix itself: axum's `nest` does not match "/ops/".
        .arg(format!("http://{addr}/ops#token={TOKEN}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start chromium");

    // "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID"
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    let browser_ws = loop {
        let line = timeout_at(deadline, lines.next_line())
            .await
            .expect("chromium's DevTools address within 30 s")
            .unwrap()
            .expect("chromium exited before listening");
        if let Some(at) = line.find("ws://") {
            break line[at..].trim().to_owned();
        }
    };
    // Keep draining chromium's stderr so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let devtools = browser_ws["ws://".len()..].split('/').next().unwrap();
    let targets = reqwest::get(format!("http://{devtools}/json/list"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let targets: Vec<serde_json::Value> = serde_json::from_str(&targets).unwrap();
    let page_ws = targets
        .iter()
        .find(|t| t["type"] == "page")
        .and_then(|t| t["webSocketDebuggerUrl"].as_str())
        .expect("a page target")
        .to_owned();
    let mut page = Page::connect(&page_ws).await;

    let state = r#"document.querySelector('tr.named[data-breaker="dashboard"] .state')?.textContent ?? null"#;
    page.wait_for(state, "open".into()).await;
    // The transition is in the event log, with its reason.
    page.wait_for(
        r#"[...document.querySelectorAll('#log li[data-kind="breaker-transition"]')]
            .some(li => li.textContent.includes("`dashboard` closed → open: failure_rate 1.00"))"#,
        true.into(),
    )
    .await;
    assert_eq!(
        page.eval("document.getElementById('mode').textContent")
            .await,
        "write access"
    );
    assert_eq!(
        page.eval("document.getElementById('status').textContent")
            .await,
        "",
        "no fetch failed"
    );
    // A keyed instance, forced open by hand, shows under its breaker.
    let key = retry_runtime::breaker_for("dashboard", "replica-7").unwrap();
    key.force_open();
    page.wait_for(
        r#"document.querySelector('tr.keyed[data-breaker="dashboard"][data-key="replica-7"] .state')?.textContent ?? null"#,
        "forced-open".into(),
    )
    .await;
    key.reset();

    let clicked = page
        .eval(
            r#"(() => { const b = document.querySelector('tr.named[data-breaker="dashboard"] button[data-action="reset"]');
                        if (!b) return false; b.click(); return true; })()"#,
        )
        .await;
    assert_eq!(clicked, true, "the reset button is there");
    let deadline = Instant::now() + Duration::from_secs(20);
    while breaker.state() != BreakerState::Closed {
        assert!(
            Instant::now() < deadline,
            "the click reset the breaker within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    page.wait_for(state, "closed".into()).await;

    child.kill().await.unwrap();
    let _ = std::fs::remove_dir_all(&profile);
}
