//! Pulling credentials out of request headers: the session cookie and the bearer token.
//!
//! Parsing is strict and allocation-free: anything that is not exactly one well-formed
//! credential is rejected here, before a store or a verifier is touched.

use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::HeaderMap;

use crate::error::AuthReason;
use crate::metrics::{CredentialHeader, Metrics};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "sid";

/// Length of a session ID: 32 random bytes (256 bits) in unpadded base64url.
pub const SESSION_ID_LEN: usize = 43;

/// Bytes a header occupies on the wire in HTTP/1.1: `name: value\r\n`.
fn wire_len(name: &str, value: &[u8]) -> usize {
    name.len() + 2 + value.len() + 2
}

/// The session ID from the `Cookie` header(s), validated for shape.
///
/// `Ok(None)` when no `sid` cookie is present (other cookies are ignored).
pub fn session_id<'h>(
    headers: &'h HeaderMap,
    metrics: &Metrics,
) -> Result<Option<&'h str>, AuthReason> {
    let mut found: Option<&str> = None;
    for value in headers.get_all(COOKIE) {
        metrics.credential_header(
            CredentialHeader::Cookie,
            wire_len("cookie", value.as_bytes()),
        );
        let text = value.to_str().map_err(|_| AuthReason::Malformed)?;
        for pair in text.split(';') {
            let pair = pair.trim();
            if pair.is_empty() {
                continue;
            }
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            if name.trim() != SESSION_COOKIE {
                continue;
            }
            if found.is_some() {
                return Err(AuthReason::Duplicate);
            }
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            if !is_session_id(value) {
                return Err(AuthReason::Malformed);
            }
            found = Some(value);
        }
    }
    Ok(found)
}

/// Whether `value` has the shape of an ID this server issues.
pub fn is_session_id(value: &str) -> bool {
    value.len() == SESSION_ID_LEN
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The token from `Authorization: Bearer <token>`; counts the header's size.
pub fn bearer_token<'h>(headers: &'h HeaderMap, metrics: &Metrics) -> Result<&'h str, AuthReason> {
    if let Some(value) = headers.get(AUTHORIZATION) {
        metrics.credential_header(
            CredentialHeader::Authorization,
            wire_len("authorization", value.as_bytes()),
        );
    }
    parse_bearer(headers)
}

/// The token from `Authorization: Bearer <token>`, without counting anything (the balancer's
/// gateway mode, which has no replica metrics).
pub fn parse_bearer(headers: &HeaderMap) -> Result<&str, AuthReason> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(AuthReason::Missing);
    };
    if values.next().is_some() {
        return Err(AuthReason::Duplicate);
    }
    let text = value.to_str().map_err(|_| AuthReason::Malformed)?.trim();
    // `Bearer` with nothing after it (servers strip the trailing space): no token sent.
    if text.eq_ignore_ascii_case("bearer") {
        return Err(AuthReason::Missing);
    }
    let (scheme, token) = text.split_once(' ').ok_or(AuthReason::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthReason::Malformed);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(AuthReason::Missing);
    }
    // RFC 6750 b64token characters; a JWT uses only base64url and dots.
    if !token.bytes().all(|b| {
        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'+' | b'/' | b'=')
    }) {
        return Err(AuthReason::Malformed);
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &[u8])]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_bytes(value).unwrap());
        }
        map
    }

    const SID: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    #[test]
    fn cookie_parsing() {
        let m = Metrics::default();
        let ok = format!("theme=dark; sid={SID}; x=1");
        assert_eq!(
            session_id(&headers(&[("cookie", ok.as_bytes())]), &m),
            Ok(Some(SID))
        );
        assert_eq!(
            session_id(&headers(&[("cookie", b"theme=dark")]), &m),
            Ok(None)
        );
        assert_eq!(session_id(&HeaderMap::new(), &m), Ok(None));
        let dup = format!("sid={SID}; sid={SID}");
        assert_eq!(
            session_id(&headers(&[("cookie", dup.as_bytes())]), &m),
            Err(AuthReason::Duplicate)
        );
        let split = format!("sid={SID}");
        assert_eq!(
            session_id(
                &headers(&[("cookie", split.as_bytes()), ("cookie", split.as_bytes())]),
                &m
            ),
            Err(AuthReason::Duplicate)
        );
        assert_eq!(
            session_id(&headers(&[("cookie", b"sid=short")]), &m),
            Err(AuthReason::Malformed)
        );
        assert_eq!(
            session_id(&headers(&[("cookie", b"sid=\xff\xfe")]), &m),
            Err(AuthReason::Malformed)
        );
    }

    #[test]
    fn bearer_parsing() {
        let m = Metrics::default();
        assert_eq!(
            bearer_token(&HeaderMap::new(), &m),
            Err(AuthReason::Missing)
        );
        assert_eq!(
            bearer_token(&headers(&[("authorization", b"Bearer a.b.c")]), &m),
            Ok("a.b.c")
        );
        assert_eq!(
            bearer_token(&headers(&[("authorization", b"bearer a.b.c")]), &m),
            Ok("a.b.c")
        );
        assert_eq!(
            bearer_token(&headers(&[("authorization", b"Basic dTpw")]), &m),
            Err(AuthReason::Malformed)
        );
        assert_eq!(
            bearer_token(&headers(&[("authorization", b"Bearer ")]), &m),
            Err(AuthReason::Missing)
        );
        assert_eq!(
            bearer_token(&headers(&[("authorization", b"Bearer")]), &m),
            Err(AuthReason::Missing)
        );
        assert_eq!(
            bearer_token(&headers(&[("authorization", b"Bearer a b")]), &m),
            Err(AuthReason::Malformed)
        );
        assert_eq!(
            bearer_token(
                &headers(&[
                    ("authorization", b"Bearer a"),
                    ("authorization", b"Bearer b")
                ]),
                &m
            ),
            Err(AuthReason::Duplicate)
        );
    }
}
