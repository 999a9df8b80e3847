//! The recent events' ring keeps the newest 256, oldest first. Its own
//! binary: it floods the ring, which would flush other tests' events.

mod support;

use retry_runtime::recent_events;

#[test]
fn the_ring_keeps_the_newest_oldest_first() {
    support::install_once("[breakers.events-ring]");
    let ring = retry_runtime::breaker("events-ring").unwrap();
    for _ in 0..200 {
        ring.force_open();
        ring.reset();
    }
    let events = recent_events();
    assert_eq!(events.len(), 256);
    assert!(
        events
            .windows(2)
            .all(|w| w[0].seq < w[1].seq && w[0].time <= w[1].time)
    );
    let last = events.last().unwrap();
    assert_eq!(last.fields["to"].to_string(), "closed");
    assert_eq!(last.fields["reason"].to_string(), "set by hand");
    let json = serde_json::to_value(last).unwrap();
    assert_eq!(json["kind"], "breaker-transition");
    assert_eq!(json["level"], "info");
    assert_eq!(json["fields"]["breaker"], "events-ring");
}
