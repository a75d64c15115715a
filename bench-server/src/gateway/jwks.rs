//! The issuer's key set: where it is (`--jwks-url`), fetching it over HTTP/1, and parsing it
//! into the keys tokens may be verified with.
//!
//! Fetching: plain `http://` only (the issuer is a replica on the private network; `https`
//! is refused with an error naming the flag), one new connection per fetch, the whole
//! exchange bounded by a timeout, the body by [`MAX_JWKS_BYTES`], anything but `200` an error.
//!
//! Parsing: the document must be a JSON object with a `keys` array, or the fetch counts as
//! failed (malformed). Each key is then kept or skipped, never trusted on partial grounds:
//!
//! * it needs a non-empty `kid` (tokens are matched to keys by it) and an `alg`: the
//!   algorithm is pinned per key, so a token whose header names another one is refused;
//! * `alg` must be asymmetric — RS256/384/512, PS256/384/512, ES256, ES384 or EdDSA — and
//!   `kty`/`crv` must fit it (RSA; P-256 / P-384; OKP Ed25519). Symmetric `oct` keys are
//!   skipped: a secret published in a key set is no secret, and accepting one is exactly
//!   the algorithm-confusion hole (real gateways' JWT authorizers take asymmetric keys only);
//! * `use`, when present, must be `sig`; RSA moduli must have at least 2048 bits;
//! * a second key with a `kid` already seen is skipped.
//!
//! A well-formed set whose keys are all skipped (or that has none) is an empty key set: the
//! issuer says no key is valid, and tokens are refused as `unknown_key`.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use http_body_util::{BodyExt as _, Empty, Limited};
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper::header::{ACCEPT, CONNECTION, HOST};
use hyper::{Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use tokio::net::TcpStream;

/// Largest key-set document accepted.
pub const MAX_JWKS_BYTES: usize = 64 * 1024;

/// Algorithms a key from a key set may carry.
pub const ACCEPTED_ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// A `--jwks-url`: `http://HOST[:PORT]/PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwksUrl {
    text: String,
    host: String,
    port: u16,
    authority: String,
    path: String,
}

impl FromStr for JwksUrl {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let uri: Uri = text.parse().map_err(|e| {
            format!("not a URL ({e}); expected http://HOST:PORT/.well-known/jwks.json")
        })?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(
                    "https is not supported: the gateway fetches keys over plain http \
                            from an issuer on the same private network"
                        .into(),
                )
            }
            _ => return Err("expected http://HOST:PORT/PATH".into()),
        }
        let authority = uri.authority().ok_or("the URL has no host")?;
        if authority.as_str().contains('@') {
            return Err("credentials in the URL are not supported".into());
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        if host.is_empty() {
            return Err("the URL has no host".into());
        }
        Ok(JwksUrl {
            text: text.to_owned(),
            host: host.to_owned(),
            port: authority.port_u16().unwrap_or(80),
            authority: authority.as_str().to_owned(),
            path: uri
                .path_and_query()
                .map_or("/", |pq| pq.as_str())
                .to_owned(),
        })
    }
}

impl fmt::Display for JwksUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Why a fetch failed (logged and counted; never sent to clients).
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Name resolution, connect, handshake or I/O.
    #[error("cannot reach {url}: {reason}")]
    Unreachable {
        /// The URL.
        url: String,
        /// The cause.
        reason: String,
    },
    /// No complete answer within the timeout.
    #[error("{url} did not answer within {timeout:?}")]
    Timeout {
        /// The URL.
        url: String,
        /// The bound.
        timeout: Duration,
    },
    /// An answer other than 200.
    #[error("{url} answered {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status.
        status: StatusCode,
    },
    /// A body over [`MAX_JWKS_BYTES`].
    #[error("{url}: the key set is larger than {MAX_JWKS_BYTES} bytes")]
    TooLarge {
        /// The URL.
        url: String,
    },
    /// A body that is not a key set.
    #[error("{url}: malformed key set: {reason}")]
    Malformed {
        /// The URL.
        url: String,
        /// What is wrong.
        reason: String,
    },
}

/// `GET url` on a new connection, bounded by `timeout`; the body of a 200.
pub async fn fetch(url: &JwksUrl, timeout: Duration) -> Result<Bytes, FetchError> {
    match tokio::time::timeout(timeout, fetch_unbounded(url)).await {
        Ok(result) => result,
        Err(_) => Err(FetchError::Timeout {
            url: url.text.clone(),
            timeout,
        }),
    }
}

async fn fetch_unbounded(url: &JwksUrl) -> Result<Bytes, FetchError> {
    let unreachable = |reason: String| FetchError::Unreachable {
        url: url.text.clone(),
        reason,
    };
    let stream = TcpStream::connect((url.host.as_str(), url.port))
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    let _ = stream.set_nodelay(true);
    let (mut sender, conn) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    let request = Request::get(url.path.as_str())
        .header(HOST, url.authority.as_str())
        .header(ACCEPT, "application/json")
        .header(CONNECTION, "close")
        .body(Empty::<Bytes>::new())
        .map_err(|e| unreachable(e.to_string()))?;
    let result = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        if response.status() != StatusCode::OK {
            return Err(FetchError::Status {
                url: url.text.clone(),
                status: response.status(),
            });
        }
        match Limited::new(response.into_body(), MAX_JWKS_BYTES)
            .collect()
            .await
        {
            Ok(body) => Ok(body.to_bytes()),
            Err(err) if err.is::<http_body_util::LengthLimitError>() => Err(FetchError::TooLarge {
                url: url.text.clone(),
            }),
            Err(err) => Err(unreachable(err.to_string())),
        }
    }
    .await;
    driver.abort();
    result
}

/// One key a token may be verified with.
pub struct VerifyingKey {
    /// Its `kid`.
    pub kid: String,
    /// The one algorithm it verifies.
    pub alg: Algorithm,
    /// The public key.
    pub key: DecodingKey,
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// A parsed key set.
#[derive(Debug, Default)]
pub struct JwksKeys {
    keys: HashMap<String, Arc<VerifyingKey>>,
    /// Keys left out, with why (`kid` or position, and the rule).
    pub skipped: Vec<String>,
}

impl JwksKeys {
    /// The key with this `kid`.
    pub fn get(&self, kid: &str) -> Option<&Arc<VerifyingKey>> {
        self.keys.get(kid)
    }

    /// Keys pinned to `alg` (for tokens without a `kid`).
    pub fn with_alg(&self, alg: Algorithm) -> impl Iterator<Item = &Arc<VerifyingKey>> {
        self.keys.values().filter(move |k| k.alg == alg)
    }

    /// Number of usable keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is usable.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The `kid`s, sorted (logs, tests).
    pub fn kids(&self) -> Vec<&str> {
        let mut kids: Vec<&str> = self.keys.keys().map(String::as_str).collect();
        kids.sort_unstable();
        kids
    }
}

/// Parses a key-set document; `Err` (a reason) when it is not `{"keys": [...]}`.
pub fn parse(body: &[u8]) -> Result<JwksKeys, String> {
    let document: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let entries = document
        .get("keys")
        .and_then(serde_json::Value::as_array)
        .ok_or("no \"keys\" array")?;
    let mut out = JwksKeys::default();
    for (i, entry) in entries.iter().enumerate() {
        let label = entry
            .get("kid")
            .and_then(serde_json::Value::as_str)
            .map_or_else(|| format!("key #{i}"), |kid| format!("kid {kid:?}"));
        match parse_key(entry) {
            Ok(key) if out.keys.contains_key(&key.kid) => {
                out.skipped
                    .push(format!("{label}: a second key with this kid"));
            }
            Ok(key) => {
                out.keys.insert(key.kid.clone(), Arc::new(key));
            }
            Err(reason) => out.skipped.push(format!("{label}: {reason}")),
        }
    }
    Ok(out)
}

fn parse_key(entry: &serde_json::Value) -> Result<VerifyingKey, String> {
    if entry.get("kty").and_then(serde_json::Value::as_str) == Some("oct") {
        return Err("symmetric (oct) keys are never accepted from a key set".into());
    }
    let jwk: Jwk = serde_json::from_value(entry.clone()).map_err(|e| format!("not a JWK: {e}"))?;
    let kid = jwk
        .common
        .key_id
        .clone()
        .filter(|kid| !kid.is_empty())
        .ok_or("no kid")?;
    match &jwk.common.public_key_use {
        None | Some(PublicKeyUse::Signature) => {}
        Some(_) => return Err("\"use\" is not \"sig\"".into()),
    }
    let alg = jwk
        .common
        .key_algorithm
        .ok_or("no alg: the algorithm must be pinned per key")
        .and_then(|alg| Algorithm::try_from(alg).map_err(|_| "an unsupported alg"))?;
    if !ACCEPTED_ALGORITHMS.contains(&alg) {
        return Err(format!("{alg:?} is not an asymmetric signature algorithm"));
    }
    let fits = match (&jwk.algorithm, alg) {
        (AlgorithmParameters::RSA(rsa), _)
            if alg.family() == jsonwebtoken::AlgorithmFamily::Rsa =>
        {
            let n = B64.decode(&rsa.n).map_err(|_| "n is not base64url")?;
            let bits = n.iter().skip_while(|&&b| b == 0).count() * 8;
            if bits < 2048 {
                return Err(format!("an RSA modulus of {bits} bits (2048 at least)"));
            }
            true
        }
        (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES256) => {
            ec.curve == EllipticCurve::P256
        }
        (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES384) => {
            ec.curve == EllipticCurve::P384
        }
        (AlgorithmParameters::OctetKeyPair(okp), Algorithm::EdDSA) => {
            okp.curve == EllipticCurve::Ed25519
        }
        _ => false,
    };
    if !fits {
        return Err(format!("kty/crv do not fit alg {alg:?}"));
    }
    let key = DecodingKey::from_jwk(&jwk).map_err(|e| format!("unusable key: {e}"))?;
    Ok(VerifyingKey { kid, alg, key })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::jwt::{JwtAlg, KeySet};
    use serde_json::json;

    #[test]
    fn urls_must_be_plain_http() {
        let url: JwksUrl = "http://127.0.0.1:8080/.well-known/jwks.json"
            .parse()
            .unwrap();
        assert_eq!((url.host.as_str(), url.port), ("127.0.0.1", 8080));
        assert_eq!(url.path, "/.well-known/jwks.json");
        let url: JwksUrl = "http://issuer/jwks".parse().unwrap();
        assert_eq!(url.port, 80);
        assert!("https://issuer/jwks"
            .parse::<JwksUrl>()
            .unwrap_err()
            .contains("https"));
        for bad in ["issuer/jwks", "ftp://x/y", "http://u:p@issuer/jwks", "::"] {
            assert!(bad.parse::<JwksUrl>().is_err(), "{bad}");
        }
    }

    #[test]
    fn replica_key_sets_parse_for_every_asymmetric_algorithm() {
        for alg in [JwtAlg::Rs256, JwtAlg::Es256, JwtAlg::EdDsa] {
            let keys = KeySet::ephemeral(alg).unwrap();
            let body = serde_json::to_vec(&keys.jwks()).unwrap();
            let parsed = parse(&body).unwrap();
            assert_eq!(parsed.kids(), [keys.kid()], "{alg}");
            assert!(parsed.skipped.is_empty(), "{:?}", parsed.skipped);
        }
        // The replica publishes nothing for HS256: a valid, empty set.
        let hs = KeySet::ephemeral(JwtAlg::Hs256).unwrap();
        let parsed = parse(&serde_json::to_vec(&hs.jwks()).unwrap()).unwrap();
        assert!(parsed.is_empty());
    }

    #[test]
    fn keys_outside_the_rules_are_skipped() {
        let es = KeySet::ephemeral(JwtAlg::Es256).unwrap().jwks()["keys"][0].clone();
        let with = |key: &str, value: serde_json::Value| {
            let mut k = es.clone();
            k[key] = value;
            k
        };
        let without = |key: &str| {
            let mut k = es.clone();
            k.as_object_mut().unwrap().remove(key);
            k
        };
        let cases = [
            (without("kid"), "no kid"),
            (without("alg"), "no alg"),
            (with("alg", json!("HS256")), "not an asymmetric"),
            (with("alg", json!("ES384")), "do not fit"),
            (with("alg", json!("RS256")), "do not fit"),
            (with("use", json!("enc")), "\"use\""),
            (
                json!({"kty": "oct", "k": "c2VjcmV0", "kid": "h", "alg": "HS256"}),
                "symmetric",
            ),
            (
                json!({"kty": "RSA", "n": "AQAB", "e": "AQAB", "kid": "r", "alg": "RS256"}),
                "2048",
            ),
        ];
        for (key, why) in cases {
            let body = serde_json::to_vec(&json!({"keys": [key]})).unwrap();
            let parsed = parse(&body).unwrap();
            assert!(parsed.is_empty(), "{why}");
            assert!(
                parsed.skipped[0].contains(why),
                "{why}: {:?}",
                parsed.skipped
            );
        }
        let dup = serde_json::to_vec(&json!({"keys": [es.clone(), es]})).unwrap();
        let parsed = parse(&dup).unwrap();
        assert_eq!(parsed.len(), 1);
        assert!(parsed.skipped[0].contains("second key"));
    }

    #[test]
    fn documents_that_are_not_key_sets_are_errors() {
        for bad in [&b"<html>"[..], b"{}", b"{\"keys\": {}}", b"[]", b""] {
            assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        assert!(parse(b"{\"keys\": []}").unwrap().is_empty());
    }
}
