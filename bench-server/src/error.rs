//! Errors a request can end in, and how each maps to an HTTP status and a short JSON body.
//!
//! Every failure a client can cause becomes a 4xx with `{"error": CODE, "message": TEXT}`;
//! the code is stable (tests and the load generator classify by it), the text is for humans.
//! Details that could help an attacker or leak a secret go to the log, never the body.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

/// Why a credential was not accepted. Also the `outcome` label of the auth metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthReason {
    /// No cookie / no `Authorization` header.
    Missing,
    /// Not parseable: bad cookie syntax, not a bearer token, bad base64 or JSON.
    Malformed,
    /// The same credential was sent more than once (duplicated cookie).
    Duplicate,
    /// The signature did not verify.
    BadSignature,
    /// The token's algorithm is not the one the server pins (including `none`).
    WrongAlg,
    /// `exp` is in the past.
    Expired,
    /// `nbf` is in the future.
    NotYetValid,
    /// `aud` does not name this service.
    WrongAudience,
    /// `iss` is not this service.
    WrongIssuer,
    /// A required claim is absent or has the wrong type.
    MissingClaim,
    /// Revoked by logout, deny-list or token version.
    Revoked,
    /// The session ID is well formed but not in the store (expired, logged out, other replica).
    UnknownSession,
    /// Username unknown or password wrong; deliberately one reason for both.
    BadCredentials,
    /// A refresh token that is not in the store: expired, logged out, or already used once
    /// (refresh tokens rotate: each works once).
    UnknownRefreshToken,
    /// The token's `kid` names no key the verifier holds: a key a rotation has retired, one a
    /// replica has not reloaded yet, one the gateway did not find even after fetching the
    /// issuer's key set again, or someone else's.
    UnknownKey,
}

impl AuthReason {
    /// Every reason, in metric order.
    pub const ALL: [AuthReason; 15] = [
        AuthReason::Missing,
        AuthReason::Malformed,
        AuthReason::Duplicate,
        AuthReason::BadSignature,
        AuthReason::WrongAlg,
        AuthReason::Expired,
        AuthReason::NotYetValid,
        AuthReason::WrongAudience,
        AuthReason::WrongIssuer,
        AuthReason::MissingClaim,
        AuthReason::Revoked,
        AuthReason::UnknownSession,
        AuthReason::BadCredentials,
        AuthReason::UnknownRefreshToken,
        AuthReason::UnknownKey,
    ];

    /// The stable machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            AuthReason::Missing => "missing",
            AuthReason::Malformed => "malformed",
            AuthReason::Duplicate => "duplicate",
            AuthReason::BadSignature => "bad_signature",
            AuthReason::WrongAlg => "wrong_alg",
            AuthReason::Expired => "expired",
            AuthReason::NotYetValid => "not_yet_valid",
            AuthReason::WrongAudience => "wrong_audience",
            AuthReason::WrongIssuer => "wrong_issuer",
            AuthReason::MissingClaim => "missing_claim",
            AuthReason::Revoked => "revoked",
            AuthReason::UnknownSession => "unknown_session",
            AuthReason::BadCredentials => "bad_credentials",
            AuthReason::UnknownRefreshToken => "unknown_refresh_token",
            AuthReason::UnknownKey => "unknown_key",
        }
    }

    /// Index into per-reason counter arrays (`ALL[i].index() == i`).
    pub fn index(self) -> usize {
        self as usize
    }

    /// The human-readable message of the 401 body.
    pub fn message(self) -> &'static str {
        match self {
            AuthReason::Missing => "no credential was sent",
            AuthReason::Malformed => "the credential is malformed",
            AuthReason::Duplicate => "the credential was sent more than once",
            AuthReason::BadSignature => "the token signature is invalid",
            AuthReason::WrongAlg => "the token algorithm is not accepted",
            AuthReason::Expired => "the credential has expired",
            AuthReason::NotYetValid => "the token is not valid yet",
            AuthReason::WrongAudience => "the token audience is not accepted",
            AuthReason::WrongIssuer => "the token issuer is not accepted",
            AuthReason::MissingClaim => "the token lacks a required claim",
            AuthReason::Revoked => "the credential has been revoked",
            AuthReason::UnknownSession => "the session does not exist",
            AuthReason::BadCredentials => "unknown user or wrong password",
            AuthReason::UnknownRefreshToken => {
                "the refresh token is unknown, expired, logged out or already used"
            }
            AuthReason::UnknownKey => "the token was signed with a key this server does not hold",
        }
    }
}

/// Which authentication scheme a request used; selects the 401 challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Session ID in a cookie.
    Session,
    /// Bearer JWT.
    Jwt,
}

impl Scheme {
    /// Metric label.
    pub fn label(self) -> &'static str {
        match self {
            Scheme::Session => "session",
            Scheme::Jwt => "jwt",
        }
    }
}

/// A request that ends in an error response.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 401: a credential was missing or rejected.
    #[error("unauthorized ({})", .reason.code())]
    Unauthorized {
        /// The scheme whose credential failed.
        scheme: Scheme,
        /// Why.
        reason: AuthReason,
    },
    /// 400: the request body or parameters are invalid.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 403: authenticated but not allowed (admin routes).
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// 404: no such user (admin routes).
    #[error("not found: {0}")]
    NotFound(String),
    /// 405: the route exists with another method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 413: body larger than the configured limit.
    #[error("request body too large")]
    BodyTooLarge,
    /// 415: body is not JSON.
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// 431: headers larger than the configured limit.
    #[error("request headers too large")]
    HeadersTooLarge,
    /// 503: the session / revocation store did not answer.
    #[error("store unavailable")]
    StoreUnavailable,
    /// 500: a bug or an unexpected failure; the cause is logged, not returned.
    #[error("internal error")]
    Internal,
    /// 409, 422 or 500 from `POST /admin/keys/reload`: the replica has no key directory, or
    /// the directory could not be loaded (the keys in use stay in use). The message names
    /// the file, never its content.
    #[error("key reload refused ({code}): {message}")]
    KeyReload {
        /// 409, 422 or 500.
        status: StatusCode,
        /// The `error` code.
        code: &'static str,
        /// What went wrong.
        message: String,
    },
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: &'a str,
}

impl ApiError {
    /// Shorthand for a 401.
    pub fn unauthorized(scheme: Scheme, reason: AuthReason) -> Self {
        ApiError::Unauthorized { scheme, reason }
    }

    /// The HTTP status this error maps to.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::StoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::KeyReload { status, .. } => *status,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let (code, message): (&str, &str) = match &self {
            ApiError::Unauthorized { reason, .. } => (reason.code(), reason.message()),
            ApiError::BadRequest(msg) => ("bad_request", msg),
            ApiError::Forbidden(msg) => ("forbidden", msg),
            ApiError::NotFound(msg) => ("not_found", msg),
            ApiError::MethodNotAllowed => (
                "method_not_allowed",
                "this route does not accept that method",
            ),
            ApiError::BodyTooLarge => ("body_too_large", "the request body exceeds the limit"),
            ApiError::UnsupportedMediaType(msg) => ("unsupported_media_type", msg),
            ApiError::HeadersTooLarge => {
                ("headers_too_large", "the request headers exceed the limit")
            }
            ApiError::StoreUnavailable => (
                "store_unavailable",
                "the session store did not answer; retry later",
            ),
            ApiError::Internal => ("internal", "internal server error"),
            ApiError::KeyReload { code, message, .. } => (code, message),
        };
        let mut response = (
            status,
            Json(ErrorBody {
                error: code,
                message,
            }),
        )
            .into_response();
        if let ApiError::Unauthorized { scheme, reason } = self {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, challenge(scheme, reason));
        }
        response
    }
}

/// The `WWW-Authenticate` value of a 401 (also sent by the balancer's gateway mode).
pub fn challenge(scheme: Scheme, reason: AuthReason) -> HeaderValue {
    match scheme {
        // RFC 6750 §3: error="invalid_token" when a token was sent, bare realm otherwise.
        Scheme::Jwt if reason == AuthReason::Missing => {
            HeaderValue::from_static("Bearer realm=\"authbench\"")
        }
        Scheme::Jwt => bearer_challenge(reason),
        Scheme::Session => HeaderValue::from_static("Cookie realm=\"authbench\""),
    }
}

fn bearer_challenge(reason: AuthReason) -> HeaderValue {
    // All parts are static ASCII, so this cannot fail; fall back to the bare challenge anyway.
    let value = format!(
        "Bearer realm=\"authbench\", error=\"invalid_token\", error_description=\"{}\"",
        reason.code()
    );
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("Bearer"))
}

/// Result alias for handlers.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::AuthReason;

    #[test]
    fn reasons_index_their_own_slot_and_codes_are_unique() {
        for (i, reason) in AuthReason::ALL.iter().enumerate() {
            assert_eq!(reason.index(), i, "{reason:?}");
        }
        let mut codes: Vec<&str> = AuthReason::ALL.iter().map(|r| r.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), AuthReason::ALL.len());
        assert_eq!(AuthReason::UnknownKey.code(), "unknown_key");
    }
}
