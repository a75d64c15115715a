//! Request-line and header limits, checked on the parsed head before the request reaches
//! a router or a backend, so that a client learns why in the project's JSON error format.
//!
//! hyper enforces looser limits of its own first ([`super::ConnLimits::hyper_buf_size`],
//! [`super::ConnLimits::hyper_max_headers`]; a URI longer than 65,534 bytes): beyond those
//! it answers an empty 431 or 414 and closes the connection, without calling the service.

use hyper::header::HeaderMap;
use hyper::{Method, StatusCode, Uri};

use super::limits::{ConnLimits, MAX_METHOD_BYTES};
use super::stats::Rejection;

/// The first limit the head breaks, if any.
pub fn check(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    limits: &ConnLimits,
) -> Option<Rejection> {
    if method.as_str().len() > MAX_METHOD_BYTES {
        return Some(Rejection::BadRequestLine);
    }
    if uri_len(uri) > limits.max_uri_bytes {
        return Some(Rejection::UriTooLong);
    }
    if headers.len() > limits.max_headers {
        return Some(Rejection::TooManyHeaders);
    }
    let max = limits.max_header_bytes;
    let mut total = 0usize;
    for (name, value) in headers {
        if value.len() > max {
            return Some(Rejection::HeadersTooLarge);
        }
        total += name.as_str().len() + value.len() + 4;
    }
    (total > max.saturating_mul(4)).then_some(Rejection::HeadersTooLarge)
}

/// The length of the request target as sent (origin or absolute form).
fn uri_len(uri: &Uri) -> usize {
    let path = uri.path_and_query().map_or(0, |pq| pq.as_str().len());
    let authority = uri.authority().map_or(0, |a| a.as_str().len());
    let scheme = uri.scheme_str().map_or(0, |s| s.len() + 3);
    scheme + authority + path
}

impl Rejection {
    /// The status, the stable `error` code and the message of the answer.
    pub fn answer(self) -> (StatusCode, &'static str, &'static str) {
        match self {
            Rejection::BadRequestLine => (
                StatusCode::BAD_REQUEST,
                "bad_request_line",
                "the request method is longer than any known method",
            ),
            Rejection::UriTooLong => (
                StatusCode::URI_TOO_LONG,
                "uri_too_long",
                "the request URI exceeds the limit",
            ),
            Rejection::HeadersTooLarge => (
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "headers_too_large",
                "the request headers exceed the limit",
            ),
            Rejection::TooManyHeaders => (
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "headers_too_large",
                "the request has more header fields than the limit",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use hyper::header::{HeaderName, HeaderValue};

    fn headers(n: usize, value_len: usize) -> HeaderMap {
        let mut map = HeaderMap::new();
        for i in 0..n {
            let name = HeaderName::from_bytes(format!("x-h{i}").as_bytes()).unwrap();
            map.insert(name, HeaderValue::from_str(&"v".repeat(value_len)).unwrap());
        }
        map
    }

    fn verdict(method: &str, uri: &str, headers: &HeaderMap) -> Option<Rejection> {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        check(
            &method,
            &uri.parse().unwrap(),
            headers,
            &ConnLimits::default(),
        )
    }

    #[test]
    fn ordinary_requests_pass() {
        assert_eq!(verdict("GET", "/healthz", &headers(10, 100)), None);
        assert_eq!(
            verdict("M-SEARCH", "http://a.example/x?y", &headers(100, 10)),
            None
        );
    }

    #[test]
    fn each_limit_has_its_reason() {
        let long_method = "X".repeat(33);
        assert_eq!(
            verdict(&long_method, "/", &headers(1, 1)),
            Some(Rejection::BadRequestLine)
        );
        let long_uri = format!("/{}", "a".repeat(8192));
        assert_eq!(
            verdict("GET", &long_uri, &headers(1, 1)),
            Some(Rejection::UriTooLong)
        );
        assert_eq!(
            verdict("GET", "/", &headers(101, 1)),
            Some(Rejection::TooManyHeaders)
        );
        assert_eq!(
            verdict("GET", "/", &headers(1, 8193)),
            Some(Rejection::HeadersTooLarge)
        );
        assert_eq!(
            verdict("GET", "/", &headers(5, 8000)),
            Some(Rejection::HeadersTooLarge)
        );
        assert_eq!(verdict("GET", "/", &headers(3, 8000)), None);
    }

    #[test]
    fn answers_are_4xx_with_stable_codes() {
        for reason in Rejection::ALL {
            let (status, code, _) = reason.answer();
            assert!(status.is_client_error());
            assert!(!code.is_empty());
        }
    }
}
