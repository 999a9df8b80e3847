//! Failover between three loopback servers with a keyed breaker per server.
//!
//! ```text
//! cargo run --example failover
//! ```
//!
//! Three TCP servers on 127.0.0.1 answer `ping` with their number. A client
//! calls them in turn, each call through
//! `#[retryable(breaker = "backends", breaker_key = addr)]`, and before each
//! call asks [`retry_runtime::first_admitting`] which server's breaker lets
//! calls through. Three phases: all healthy; server 2 hangs (accepts, never
//! answers); server 2 recovers. While it hangs, the client pays the attempt
//! timeout only until server 2's breaker opens; from then on its turn goes to
//! the next server at once. After `open_duration` the breaker lets one trial
//! call through, the recovered server answers it, and its turns come back.
//! Every figure in the summary is counted during the run. It takes about
//! four seconds and ends by itself.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use retry_runtime::{BreakerState, Config, breaker_for, first_admitting, install, retryable};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

const CONFIG: &str = r#"
[policies.failover]
max_attempts = 1              # the client fails over instead of retrying
attempt_timeout = "200ms"

[breakers.backends]           # one instance per server address (breaker_key)
window_size = 4
minimum_calls = 3
failure_rate_threshold = 0.5
open_duration = "500ms"
half_open_calls = 1
slow_call_duration = "none"
max_keys = 16
"#;

const PHASES: [(&str, Duration); 3] = [
    ("healthy", Duration::from_millis(1000)),
    ("server 2 hangs", Duration::from_millis(1500)),
    ("server 2 recovered", Duration::from_millis(1500)),
];
/// A call every this often (a little more when a call is slow).
const PACE: Duration = Duration::from_millis(5);

/// One loopback server: answers `ping` with its number, or, while `down`,
/// accepts and never answers.
struct Server {
    number: u32,
    addr: String,
    down: AtomicBool,
    answered: AtomicU64,
    hung: AtomicU64,
}

async fn serve(listener: TcpListener, server: Arc<Server>) {
    while let Ok((stream, _)) = listener.accept().await {
        let server = Arc::clone(&server);
        tokio::spawn(async move {
            let (read, mut write) = stream.into_split();
            let mut line = String::new();
            let mut read = BufReader::new(read);
            while matches!(read.read_line(&mut line).await, Ok(n) if n > 0) {
                if server.down.load(Ordering::Relaxed) {
                    server.hung.fetch_add(1, Ordering::Relaxed);
                    // Hold the connection until the client gives up on it.
                    let _ = read.read_line(&mut line).await;
                    return;
                }
                server.answered.fetch_add(1, Ordering::Relaxed);
                if write
                    .write_all(format!("pong {}\n", server.number).as_bytes())
                    .await
                    .is_err()
                {
                    return;
                }
                line.clear();
            }
        });
    }
}

/// One call to the server at `addr`, under that address's breaker.
#[retryable(policy = "failover", breaker = "backends", breaker_key = addr)]
async fn ping(addr: &str) -> io::Result<u32> {
    let stream = TcpStream::connect(addr).await?;
    let (read, mut write) = stream.into_split();
    write.write_all(b"ping\n").await?;
    let mut line = String::new();
    BufReader::new(read).read_line(&mut line).await?;
    line.trim()
        .strip_prefix("pong ")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, line.clone()))
}

/// What the client saw in one phase, per server.
#[derive(Default, Clone)]
struct Tally {
    calls: [u64; 3],
    answered: [u64; 3],
    timed_out: [u64; 3],
    /// Turns of a server that went to another one because its breaker refused.
    skipped: [u64; 3],
    /// Server 2's calls that timed out while its breaker was closed.
    timed_out_closed: u64,
    /// Server 2's trial calls (its breaker open, `open_duration` over).
    trials: u64,
    /// The slowest call that started while server 2's breaker was open.
    slowest_while_open: Duration,
    unserved: u64,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    install(Config::from_toml_str(CONFIG)?)?;

    let mut servers = Vec::new();
    for number in 1..=3 {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let server = Arc::new(Server {
            number,
            addr: listener.local_addr()?.to_string(),
            down: AtomicBool::new(false),
            answered: AtomicU64::new(0),
            hung: AtomicU64::new(0),
        });
        tokio::spawn(serve(listener, Arc::clone(&server)));
        servers.push(server);
    }
    let addrs: Vec<&str> = servers.iter().map(|s| s.addr.as_str()).collect();
    println!(
        "servers: {}",
        servers
            .iter()
            .map(|s| format!("{} on {}", s.number, s.addr))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let second = breaker_for("backends", addrs[1]).ok_or("`backends` is configured")?;
    let mut tallies = Vec::new();
    let mut transitions: Vec<(usize, Duration, BreakerState)> = Vec::new();
    let mut turn = 0usize;
    for (phase, (label, length)) in PHASES.iter().enumerate() {
        servers[1].down.store(phase == 1, Ordering::Relaxed);
        let mut tally = Tally::default();
        let started = Instant::now();
        let mut seen = second.state();
        while started.elapsed() < *length {
            // Round robin: this call's preferred server first, then the others.
            let preferred = turn % 3;
            turn += 1;
            let candidates: Vec<&str> = (0..3).map(|i| addrs[(preferred + i) % 3]).collect();
            let Some(&addr) = first_admitting("backends", &candidates) else {
                tally.unserved += 1;
                tokio::time::sleep(PACE).await;
                continue;
            };
            let chosen = addrs.iter().position(|a| *a == addr).unwrap_or(0);
            if chosen != preferred {
                tally.skipped[preferred] += 1;
            }
            let before = second.state();
            let call_started = Instant::now();
            let result = ping(addr).await;
            let took = call_started.elapsed();
            tally.calls[chosen] += 1;
            if chosen == 1 && before != BreakerState::Closed {
                tally.trials += 1;
            }
            match result {
                Ok(_) => tally.answered[chosen] += 1,
                Err(_) => {
                    tally.timed_out[chosen] += 1;
                    if chosen == 1 && before == BreakerState::Closed {
                        tally.timed_out_closed += 1;
                    }
                }
            }
            if before == BreakerState::Open && chosen != 1 {
                tally.slowest_while_open = tally.slowest_while_open.max(took);
            }
            let state = second.state();
            if state != seen {
                transitions.push((phase, started.elapsed(), state));
                seen = state;
            }
            tokio::time::sleep(PACE).await;
        }
        println!("{label}: done ({} calls)", tally.calls.iter().sum::<u64>());
        tallies.push(tally);
    }

    println!("\nwhere the calls went (answered / timed out, per server)");
    println!(
        "{:<20} {:>16} {:>16} {:>16} {:>22}",
        "phase", "server 1", "server 2", "server 3", "server 2's turns moved"
    );
    for ((label, _), tally) in PHASES.iter().zip(&tallies) {
        let cell = |i: usize| format!("{} / {}", tally.answered[i], tally.timed_out[i]);
        println!(
            "{:<20} {:>16} {:>16} {:>16} {:>22}",
            label,
            cell(0),
            cell(1),
            cell(2),
            tally.skipped[1]
        );
    }
    println!("\nserver 2's breaker:");
    for (phase, at, state) in &transitions {
        println!(
            "  {state} {:.0} ms into \"{}\"",
            at.as_secs_f64() * 1000.0,
            PHASES[*phase].0
        );
    }
    let down = &tallies[1];
    println!(
        "\nWhile server 2 hung, {} calls to it waited the 200 ms attempt timeout before its breaker opened, \
         and {} trial call(s), let through once each open_duration, timed out and reopened it; its other {} \
         turns went straight to servers 1 and 3 (the slowest call started while its breaker was open took \
         {:.1} ms). The server saw {} requests it never answered.",
        down.timed_out_closed,
        down.trials,
        down.skipped[1],
        down.slowest_while_open.as_secs_f64() * 1000.0,
        servers[1].hung.load(Ordering::Relaxed),
    );
    let back = &tallies[2];
    println!(
        "After it recovered, {} trial call(s) closed its breaker; server 2 answered {} of the {} calls of the last phase ({:.0}%; a third is its fair share).",
        back.trials,
        back.answered[1],
        back.calls.iter().sum::<u64>(),
        100.0 * back.answered[1] as f64 / back.calls.iter().sum::<u64>().max(1) as f64
    );
    println!(
        "Calls no server could take: {}. Answers counted by the servers: {}.",
        tallies.iter().map(|t| t.unserved).sum::<u64>(),
        servers
            .iter()
            .map(|s| format!(
                "{} by server {}",
                s.answered.load(Ordering::Relaxed),
                s.number
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}
