//! A JSON body extractor whose rejections are [`ApiError`]s, so malformed, oversized or
//! mistyped bodies get the same JSON error shape as everything else.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::Json;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Like [`axum::Json`], rejecting with [`ApiError`].
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(JsonBody(value)),
            Err(rejection) => Err(map_rejection(&rejection)),
        }
    }
}

fn map_rejection(rejection: &JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::UnsupportedMediaType("expected Content-Type: application/json".into())
        }
        JsonRejection::JsonDataError(err) => ApiError::BadRequest(err.body_text()),
        JsonRejection::JsonSyntaxError(_) => {
            ApiError::BadRequest("the body is not valid JSON".into())
        }
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::BodyTooLarge,
        other => ApiError::BadRequest(other.body_text()),
    }
}
