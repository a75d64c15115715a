//! Why the gateway answered a protected request itself, and that answer.
//!
//! Token failures are 401s with the replica's codes, JSON body and `WWW-Authenticate`
//! challenge, so a client cannot tell the edge's refusal from a replica's. The edge adds
//! three of its own: `jwks_unavailable` (503: no key set was ever fetched), `store_unavailable`
//! (503: the revocation store did not answer, as on a replica) and `headers_too_large` (431:
//! an `Authorization` header over the replica's default 8 KiB limit, which a replica answers
//! the same way).

use hyper::header::{HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use hyper::{Response, StatusCode};

use crate::balance::body::ProxyBody;
use crate::balance::proxy::local_error;
use crate::error::{challenge, AuthReason, Scheme};

/// A refusal at the edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// The token (or its absence) failed, as on a replica: 401.
    Auth(AuthReason),
    /// No key set has been fetched yet (issuer unreachable, or its answer malformed): 503.
    JwksUnavailable,
    /// The revocation store did not answer: 503.
    StoreUnavailable,
    /// The `Authorization` header is longer than [`MAX_AUTHORIZATION_BYTES`]: 431.
    HeadersTooLarge,
}

/// Longest `Authorization` value looked at: a replica's default `--max-header-bytes`.
pub const MAX_AUTHORIZATION_BYTES: usize = 8192;

impl Rejection {
    /// Number of distinct rejections (metric slots).
    pub const COUNT: usize = AuthReason::ALL.len() + 3;

    /// Every rejection, in metric order.
    pub fn all() -> impl Iterator<Item = Rejection> {
        AuthReason::ALL.into_iter().map(Rejection::Auth).chain([
            Rejection::JwksUnavailable,
            Rejection::StoreUnavailable,
            Rejection::HeadersTooLarge,
        ])
    }

    /// Metric slot.
    pub fn index(self) -> usize {
        let base = AuthReason::ALL.len();
        match self {
            Rejection::Auth(reason) => reason.index(),
            Rejection::JwksUnavailable => base,
            Rejection::StoreUnavailable => base + 1,
            Rejection::HeadersTooLarge => base + 2,
        }
    }

    /// The `error` code of the body and the `reason` metric label.
    pub fn code(self) -> &'static str {
        match self {
            Rejection::Auth(reason) => reason.code(),
            Rejection::JwksUnavailable => "jwks_unavailable",
            Rejection::StoreUnavailable => "store_unavailable",
            Rejection::HeadersTooLarge => "headers_too_large",
        }
    }

    /// The response sent to the client.
    pub fn response(self) -> Response<ProxyBody> {
        match self {
            Rejection::Auth(reason) => {
                let mut response =
                    local_error(StatusCode::UNAUTHORIZED, reason.code(), reason.message());
                response
                    .headers_mut()
                    .insert(WWW_AUTHENTICATE, challenge(Scheme::Jwt, reason));
                response
            }
            Rejection::JwksUnavailable => {
                let mut response = local_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    self.code(),
                    "the issuer's signing keys could not be fetched yet; retry later",
                );
                response
                    .headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from_static("1"));
                response
            }
            Rejection::StoreUnavailable => local_error(
                StatusCode::SERVICE_UNAVAILABLE,
                self.code(),
                "the session store did not answer; retry later",
            ),
            Rejection::HeadersTooLarge => local_error(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                self.code(),
                "the request headers exceed the limit",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rejection_has_its_own_slot() {
        let all: Vec<Rejection> = Rejection::all().collect();
        assert_eq!(all.len(), Rejection::COUNT);
        for (i, r) in all.iter().enumerate() {
            assert_eq!(r.index(), i, "{r:?}");
        }
    }

    #[test]
    fn token_failures_look_like_a_replica_s() {
        let response = Rejection::Auth(AuthReason::Expired).response();
        assert_eq!(response.status(), 401);
        assert_eq!(
            response.headers()[WWW_AUTHENTICATE],
            "Bearer realm=\"authbench\", error=\"invalid_token\", error_description=\"expired\""
        );
        assert_eq!(Rejection::JwksUnavailable.response().status(), 503);
        assert_eq!(Rejection::HeadersTooLarge.response().status(), 431);
    }
}
