//! Answers the accept loop gives itself: the JSON refusals of requests that break a head
//! limit, and the canned `503 too_many_connections` written straight to a socket accepted
//! beyond `--max-connections`.

use std::time::Duration;

use hyper::header::{HeaderValue, CONNECTION, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// How long writing the canned 503 may take, and then how long the request the client may
/// have sent is read and discarded (so that closing does not reset the connection before
/// the client has read the answer).
pub const REFUSAL_DEADLINE: Duration = Duration::from_secs(1);

/// Most canned 503s being written at once; connections refused beyond are closed at once.
pub const MAX_REFUSING: usize = 256;

/// The project's JSON error body.
pub fn error_json(code: &str, message: &str) -> String {
    serde_json::json!({ "error": code, "message": message }).to_string()
}

/// A JSON error response that closes the connection after it is sent.
pub fn json_response<B: From<String>>(
    status: StatusCode,
    code: &str,
    message: &str,
) -> Response<B> {
    let mut response = Response::new(B::from(error_json(code, message)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

/// The bytes of the canned 503 sent beyond the connection limit.
pub fn too_many_connections() -> Vec<u8> {
    let body = error_json(
        "too_many_connections",
        "the server has as many connections open as it allows; retry later",
    );
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\nretry-after: 1\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Writes the canned 503 within [`REFUSAL_DEADLINE`], half-closes, discards what the client
/// sent for another [`REFUSAL_DEADLINE`] at most, then closes.
pub async fn refuse(mut stream: TcpStream) {
    let answer = too_many_connections();
    let written = tokio::time::timeout(REFUSAL_DEADLINE, async {
        stream.write_all(&answer).await?;
        stream.shutdown().await
    })
    .await;
    if !matches!(written, Ok(Ok(()))) {
        return;
    }
    let _ = tokio::time::timeout(REFUSAL_DEADLINE, async {
        let mut sink = [0u8; 4096];
        let mut left: usize = 64 * 1024;
        while left > 0 {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn canned_503_is_well_formed() {
        let text = String::from_utf8(too_many_connections()).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 "));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        assert!(head.contains("connection: close"));
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["error"], "too_many_connections");
    }
}
