//! `/events/stream` with a client that never reads: the runtime is not
//! blocked and memory does not grow (live heap bytes counted by a global
//! allocator); when the client reads again it is told how many events it
//! lost. Its own binary for the allocator.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size().cast_signed(), Ordering::Relaxed);
        // SAFETY: the caller's layout is passed through.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size().cast_signed(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn churn(events: usize) {
    let handle = retry_runtime::breaker("stream-churn").unwrap();
    for _ in 0..events / 2 {
        handle.force_open();
        handle.reset();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_costs_bounded_memory_and_is_told_what_it_lost() {
    support::install_once("[breakers.stream-churn]");
    // Small socket buffers on both sides, so the stall reaches the server fast.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_send_buffer_size(4096).unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(8).unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, retry_runtime::admin::router()).await });

    let client = TcpSocket::new_v4().unwrap();
    client.set_recv_buffer_size(4096).unwrap();
    let mut stream = client.connect(addr).await.unwrap();
    stream
        .write_all(b"GET /events/stream HTTP/1.1\r\nhost: test\r\n\r\n")
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains(": subscribed") {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "the server closed the stream");
        seen.extend_from_slice(&buf[..n]);
    }

    // From here the client reads nothing. Fill every buffer on the way first.
    churn(10_000);
    let before = LIVE.load(Ordering::Relaxed);
    churn(40_000);
    let after = LIVE.load(Ordering::Relaxed);
    eprintln!(
        "live heap growth over 40,000 events with a stalled client: {} bytes",
        after - before
    );
    // 40,000 events kept would be >10 MB (an event is a few hundred bytes).
    assert!(
        after - before < 1 << 20,
        "live heap grew by {} bytes over 40,000 events",
        after - before
    );

    // Reading again: the client learns how many events it lost.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut text = String::new();
    let notice = "event: dropped\ndata: {\"dropped\":";
    let dropped = loop {
        // Every notice so far (the last may be cut short: read on).
        let total: u64 = text
            .match_indices(notice)
            .filter_map(|(at, _)| {
                let rest = &text[at + notice.len()..];
                rest.find('}')
                    .and_then(|end| rest[..end].parse::<u64>().ok())
            })
            .sum();
        if total > 40_000 {
            break total;
        }
        let n = tokio::time::timeout_at(deadline, stream.read(&mut buf))
            .await
            .expect("the dropped notices within 20 s")
            .unwrap();
        assert!(n > 0, "the server closed the stream");
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
    };
    assert!(
        dropped > 40_000,
        "most of the 50,000 events were dropped, not queued: {dropped}"
    );
}
