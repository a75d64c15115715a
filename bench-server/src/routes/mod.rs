//! HTTP handlers, one file per area: the two schemes, admin, and operations endpoints.

pub mod admin;
pub mod jwt;
pub mod ops;
pub mod session;

use serde::{Deserialize, Serialize};

/// `POST /session/login` and `POST /jwt/login` body.
#[derive(Debug, Deserialize)]
pub struct LoginRequest {
    /// Username.
    pub username: String,
    /// Password.
    pub password: String,
}

/// Largest username or password accepted before any hashing (a cheap guard against
/// hashing megabytes).
pub const MAX_CREDENTIAL_FIELD: usize = 1024;

impl LoginRequest {
    /// Rejects empty or oversized fields.
    pub fn check(&self) -> Result<(), crate::error::ApiError> {
        use crate::error::ApiError;
        if self.username.is_empty() || self.password.is_empty() {
            return Err(ApiError::BadRequest(
                "username and password must not be empty".into(),
            ));
        }
        if self.username.len() > MAX_CREDENTIAL_FIELD || self.password.len() > MAX_CREDENTIAL_FIELD
        {
            return Err(ApiError::BadRequest(format!(
                "username and password are limited to {MAX_CREDENTIAL_FIELD} bytes"
            )));
        }
        Ok(())
    }
}

/// `GET /{scheme}/me` response.
#[derive(Debug, Serialize)]
pub struct Me<'a> {
    /// Username.
    pub user: &'a str,
    /// Roles.
    pub roles: &'a [String],
    /// Replica that served the request.
    pub replica: &'a str,
}

/// Checks a login body against the user directory; counts the outcome under `scheme`.
pub async fn authenticate_login(
    state: &crate::state::AppState,
    scheme: crate::error::Scheme,
    login: &LoginRequest,
) -> crate::error::ApiResult<crate::users::Authenticated> {
    use crate::error::{ApiError, AuthReason};
    login.check()?;
    state.metrics.password_hash();
    match state.users.verify(&login.username, &login.password).await {
        Some(user) => Ok(user),
        None => {
            state
                .metrics
                .auth_rejected(scheme, AuthReason::BadCredentials);
            Err(ApiError::unauthorized(scheme, AuthReason::BadCredentials))
        }
    }
}

/// `Cache-Control: no-store`, for responses that carry credentials.
pub fn no_store() -> [(axum::http::HeaderName, axum::http::HeaderValue); 1] {
    [(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    )]
}
