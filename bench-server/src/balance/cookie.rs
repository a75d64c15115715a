//! The few cookie operations the balancer needs: read one cookie, strip the balancer's own
//! cookie before a request goes to a backend, and build the sticky `Set-Cookie`.
//!
//! Sticky sessions work like HAProxy's `cookie SERVERID insert indirect nocache`: the
//! balancer inserts `SERVERID=<backend name>` on the response that pinned the client, removes
//! that cookie from requests (the backend never sees it: "indirect") and marks such responses
//! `Cache-Control: private` so that no shared cache stores the pin ("nocache").

pub use authbench_contract::policy::{SESSION_COOKIE, STICKY_COOKIE};
use hyper::header::{HeaderMap, HeaderValue, COOKIE};

/// The value of cookie `name` in the request's `Cookie` headers (the first one found).
pub fn find<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}

/// Removes cookie `name` from the `Cookie` headers; drops a header left empty.
pub fn strip(headers: &mut HeaderMap, name: &str) {
    if find(headers, name).is_none() {
        return;
    }
    let kept: Vec<String> = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .map(str::trim)
                .filter(|pair| {
                    !pair.is_empty() && pair.split_once('=').is_none_or(|(k, _)| k != name)
                })
                .collect::<Vec<_>>()
                .join("; ")
        })
        .filter(|v| !v.is_empty())
        .collect();
    headers.remove(COOKIE);
    for value in kept {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.append(COOKIE, value);
        }
    }
}

/// `SERVERID=<backend>; Path=/` (`None` if the name is not a valid cookie value, which
/// backend-name validation rules out).
pub fn sticky_set_cookie(backend: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("{STICKY_COOKIE}={backend}; Path=/")).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(COOKIE, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn finds_a_cookie_among_several_headers() {
        let h = headers(&["a=1; sid=abc", "SERVERID=r2"]);
        assert_eq!(find(&h, "sid"), Some("abc"));
        assert_eq!(find(&h, "SERVERID"), Some("r2"));
        assert_eq!(find(&h, "ServerId"), None);
    }

    #[test]
    fn strips_only_the_named_cookie() {
        let mut h = headers(&["SERVERID=r1; sid=abc", "SERVERID=r1"]);
        strip(&mut h, STICKY_COOKIE);
        let left: Vec<_> = h
            .get_all(COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(left, ["sid=abc"]);
        let mut h = headers(&["sid=abc"]);
        strip(&mut h, STICKY_COOKIE);
        assert_eq!(h.get(COOKIE).unwrap(), "sid=abc");
    }

    #[test]
    fn sticky_cookie_names_the_backend() {
        assert_eq!(sticky_set_cookie("r1").unwrap(), "SERVERID=r1; Path=/");
    }
}
