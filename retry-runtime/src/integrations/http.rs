//! HTTP statuses and `Retry-After`, classified (feature `http`).
//!
//! Works with any stack built on the [`http`](https://docs.rs/http) crate's types
//! (reqwest, hyper, axum, tower, ureq 3, …).
//!
//! | status | class | why ([RFC 9110]) |
//! |---|---|---|
//! | 408 Request Timeout | `Transient` | §15.5.9: the server timed out waiting for the request; "the client may repeat the request" |
//! | 429 Too Many Requests | `Transient` ([RFC 6585] §4) | the client sent too many requests; come back later, often with `Retry-After` |
//! | 500 Internal Server Error, 502 Bad Gateway, 503 Service Unavailable, 504 Gateway Timeout, and every other 5xx | `Transient` | §15.6: the server failed to answer a request that may well be valid; 503 names the condition "temporary" |
//! | 501 Not Implemented | `Permanent` | §15.6.2: the server does not support the method: asking again will not change it |
//! | 505 HTTP Version Not Supported | `Permanent` | §15.6.6: the server refuses the protocol version: the same request fails the same way |
//! | every other status (2xx, 3xx, 4xx) | `Permanent` | §15.5: a 4xx says the request itself is wrong; repeating it unchanged cannot help |
//!
//! `Retry-After` ([RFC 9110] §10.2.3) is either delay-seconds (`Retry-After: 120`)
//! or an HTTP-date (`Retry-After: Fri, 31 Dec 1999 23:59:59 GMT`, in any of the
//! three forms of §5.6.7). A date is turned into a delay against the system's
//! wall clock; a date in the past is [`Duration::ZERO`]. Anything else is `None`,
//! and the status's own class stands. Only a transient status takes a hint: a
//! `Retry-After` on a 404 does not make it worth repeating.
//!
//! The policy key `max_retry_after` (default 60 s) bounds the hints that are
//! waited: a longer one gives up at once with the error.
//!
//! [RFC 9110]: https://www.rfc-editor.org/rfc/rfc9110
//! [RFC 6585]: https://www.rfc-editor.org/rfc/rfc6585

use std::time::{Duration, SystemTime};

use http::{HeaderMap, StatusCode, header::RETRY_AFTER};

use crate::Class;

/// The class of a status alone: 408, 429 and every 5xx except 501 and 505 are
/// `Transient`, every other status `Permanent` (see the [module](self) table).
///
/// ```
/// use http::StatusCode;
/// use retry_runtime::{Class, http::classify_status};
///
/// assert_eq!(classify_status(StatusCode::SERVICE_UNAVAILABLE), Class::Transient);
/// assert_eq!(classify_status(StatusCode::TOO_MANY_REQUESTS), Class::Transient);
/// assert_eq!(classify_status(StatusCode::NOT_IMPLEMENTED), Class::Permanent);
/// assert_eq!(classify_status(StatusCode::NOT_FOUND), Class::Permanent);
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
#[must_use]
pub fn classify_status(status: StatusCode) -> Class {
    match status.as_u16() {
        408 | 429 => Class::Transient,
        501 | 505 => Class::Permanent,
        500..=599 => Class::Transient,
        _ => Class::Permanent,
    }
}

/// The delay a `Retry-After` header asks for: delay-seconds, or an HTTP-date
/// measured from now (a past date is zero). `None` when the header is absent or
/// malformed (a negative or fractional number, a date in no HTTP form, …).
///
/// ```
/// use http::{HeaderMap, HeaderValue, header::RETRY_AFTER};
/// use retry_runtime::http::retry_after;
/// use std::time::Duration;
///
/// let mut headers = HeaderMap::new();
/// assert_eq!(retry_after(&headers), None);
/// headers.insert(RETRY_AFTER, HeaderValue::from_static("120"));
/// assert_eq!(retry_after(&headers), Some(Duration::from_secs(120)));
/// headers.insert(RETRY_AFTER, HeaderValue::from_static("Fri, 31 Dec 1999 23:59:59 GMT"));
/// assert_eq!(retry_after(&headers), Some(Duration::ZERO));
/// headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
/// assert_eq!(retry_after(&headers), None);
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
#[must_use]
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // delay-seconds = 1*DIGIT; a number too large for u64 is "a very long time".
        return Some(
            value
                .parse::<u64>()
                .map_or(Duration::MAX, Duration::from_secs),
        );
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(
        date.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// The class of a response: a transient status with a valid `Retry-After` is
/// `RetryAfter(d)`; otherwise [`classify_status`].
///
/// ```
/// use http::{HeaderMap, HeaderValue, StatusCode, header::RETRY_AFTER};
/// use retry_runtime::{Class, http::classify_response};
/// use std::time::Duration;
///
/// let mut headers = HeaderMap::new();
/// headers.insert(RETRY_AFTER, HeaderValue::from_static("2"));
/// assert_eq!(
///     classify_response(StatusCode::TOO_MANY_REQUESTS, &headers),
///     Class::RetryAfter(Duration::from_secs(2)),
/// );
/// // A hint on a permanent status does not make it transient.
/// assert_eq!(classify_response(StatusCode::NOT_FOUND, &headers), Class::Permanent);
/// assert_eq!(classify_response(StatusCode::BAD_GATEWAY, &HeaderMap::new()), Class::Transient);
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
#[must_use]
pub fn classify_response(status: StatusCode, headers: &HeaderMap) -> Class {
    match classify_status(status) {
        Class::Transient => retry_after(headers).map_or(Class::Transient, Class::RetryAfter),
        class => class,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn every_status_has_the_documented_class() {
        for code in 100..=999u16 {
            let Ok(status) = StatusCode::from_u16(code) else {
                continue;
            };
            let transient = code == 408
                || code == 429
                || ((500..=599).contains(&code) && code != 501 && code != 505);
            let expected = if transient {
                Class::Transient
            } else {
                Class::Permanent
            };
            assert_eq!(classify_status(status), expected, "status {code}");
        }
    }

    fn with(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(retry_after(&with("0")), Some(Duration::ZERO));
        assert_eq!(retry_after(&with(" 7 ")), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_after(&with("99999999999999999999999")),
            Some(Duration::MAX)
        );
        for malformed in ["-1", "1.5", "", "1s", "tomorrow", "+3"] {
            assert_eq!(retry_after(&with(malformed)), None, "{malformed:?}");
        }
        // The three HTTP-date forms of RFC 9110 §5.6.7, all long past.
        for past in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(retry_after(&with(past)), Some(Duration::ZERO), "{past:?}");
        }
        let later = SystemTime::now() + Duration::from_secs(3600);
        let mut headers = HeaderMap::new();
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_str(&httpdate::fmt_http_date(later)).expect("an HTTP-date is ASCII"),
        );
        let wait = retry_after(&headers).expect("a future date");
        assert!(
            wait > Duration::from_secs(3590) && wait <= Duration::from_secs(3600),
            "{wait:?}"
        );
    }
}
