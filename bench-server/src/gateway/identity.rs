//! The verified identity the gateway forwards to backends in `X-Authbench-Identity`, and its
//! integrity check.
//!
//! Value: `base64url(JSON) "." base64url(HMAC-SHA256(secret, "authbench-identity-v1." ||
//! base64url(JSON)))`, where the JSON is an [`Identity`]: the claims of the token the gateway
//! verified (`sub`, `roles`, `exp`, `iat`, `jti`, `ver`) and the `kid` it was verified with.
//!
//! The secret (`--identity-secret-file`, at least [`MIN_SECRET_BYTES`] bytes) is shared by the
//! gateway and the backends started with `--trust-gateway`. The MAC makes the header
//! unforgeable by anyone without the secret; the gateway also removes the header from every
//! client request, so a client can neither forge nor replay one through it. What the MAC does
//! not stop is replay by someone who can reach a backend directly and has seen a header: the
//! backend checks `exp`, so a captured header dies with its token, and the network between
//! gateway and backends is the trust boundary, as with every gateway that forwards identity.

use std::fmt;
use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use hyper::header::{HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::error::AuthReason;
use crate::jwt::VerifiedClaims;

/// The header that carries the identity (lower case, as HTTP/1 header names compare).
pub const IDENTITY_HEADER: HeaderName = HeaderName::from_static("x-authbench-identity");

/// Shortest accepted secret.
pub const MIN_SECRET_BYTES: usize = 32;

/// Longest header value a backend looks at.
const MAX_IDENTITY_BYTES: usize = 16 * 1024;

/// Prefix of the MAC input, so that a MAC over an identity is never valid for anything else.
const DOMAIN: &[u8] = b"authbench-identity-v1.";

/// Who a verified token belongs to, as forwarded by the gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// Subject (username).
    pub sub: String,
    /// Roles.
    pub roles: Vec<String>,
    /// Expiry of the token (seconds since the epoch).
    pub exp: u64,
    /// Issued at.
    pub iat: u64,
    /// Token ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// Token version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ver: Option<u64>,
    /// The key the token was verified with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
}

impl Identity {
    /// The identity of verified `claims` (whose `iat` the verifier has required).
    pub fn from_claims(claims: &VerifiedClaims, kid: Option<&str>) -> Identity {
        Identity {
            sub: claims.sub.clone(),
            roles: claims.roles.clone(),
            exp: claims.exp,
            iat: claims.iat.unwrap_or_default(),
            jti: claims.jti.clone(),
            ver: claims.ver,
            kid: kid.map(str::to_owned),
        }
    }

    /// The claims a handler works with.
    pub fn into_claims(self) -> VerifiedClaims {
        VerifiedClaims {
            sub: self.sub,
            roles: self.roles,
            iat: Some(self.iat),
            exp: self.exp,
            jti: self.jti,
            ver: self.ver,
        }
    }
}

/// The shared secret, ready to sign and check identities.
#[derive(Clone)]
pub struct IdentityKey {
    mac: Hmac<Sha256>,
}

impl fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secret.
        f.write_str("IdentityKey(..)")
    }
}

impl IdentityKey {
    /// A key from secret bytes; at least [`MIN_SECRET_BYTES`].
    pub fn from_secret(secret: &[u8]) -> Result<IdentityKey, String> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(format!(
                "the secret is {} bytes; at least {MIN_SECRET_BYTES} are required",
                secret.len()
            ));
        }
        let mac = Hmac::<Sha256>::new_from_slice(secret)
            .map_err(|_| "HMAC-SHA256 refused the secret".to_owned())?;
        Ok(IdentityKey { mac })
    }

    /// Reads the secret from a file (surrounding whitespace ignored). The error names the
    /// file, never its content.
    pub fn load(path: &Path) -> Result<IdentityKey, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        IdentityKey::from_secret(text.trim().as_bytes())
            .map_err(|e| format!("{}: {e}", path.display()))
    }

    fn tag(&self, payload_b64: &[u8]) -> Hmac<Sha256> {
        let mut mac = self.mac.clone();
        mac.update(DOMAIN);
        mac.update(payload_b64);
        mac
    }

    /// The header value for `identity`.
    pub fn sign(&self, identity: &Identity) -> HeaderValue {
        // Serialising plain strings and numbers cannot fail.
        let json = serde_json::to_vec(identity).unwrap_or_default();
        let payload = B64.encode(json);
        let tag = B64.encode(self.tag(payload.as_bytes()).finalize().into_bytes());
        let value = format!("{payload}.{tag}");
        // base64url and '.' only: always a valid header value.
        HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("invalid"))
    }

    /// The identity in a header value, if its MAC is valid and it has not expired at `now`
    /// (seconds since the epoch) with `leeway` seconds of tolerance.
    ///
    /// Reasons: a value that does not parse is `malformed`, a wrong MAC `bad_signature`, an
    /// expired identity `expired`.
    pub fn verify(&self, value: &[u8], now: u64, leeway: u64) -> Result<Identity, AuthReason> {
        if value.len() > MAX_IDENTITY_BYTES {
            return Err(AuthReason::Malformed);
        }
        let dot = value
            .iter()
            .position(|&b| b == b'.')
            .ok_or(AuthReason::Malformed)?;
        let (payload, tag) = (&value[..dot], &value[dot + 1..]);
        let tag = B64.decode(tag).map_err(|_| AuthReason::Malformed)?;
        // Constant-time comparison.
        self.tag(payload)
            .verify_slice(&tag)
            .map_err(|_| AuthReason::BadSignature)?;
        let json = B64.decode(payload).map_err(|_| AuthReason::Malformed)?;
        let identity: Identity =
            serde_json::from_slice(&json).map_err(|_| AuthReason::Malformed)?;
        if identity.exp.saturating_add(leeway) <= now {
            return Err(AuthReason::Expired);
        }
        Ok(identity)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn identity() -> Identity {
        Identity {
            sub: "user1".into(),
            roles: vec!["user".into()],
            exp: 2_000,
            iat: 1_000,
            jti: Some("j".into()),
            ver: Some(3),
            kid: Some("k1".into()),
        }
    }

    #[test]
    fn signed_identities_round_trip_and_expire() {
        let key = IdentityKey::from_secret(&[7; 32]).unwrap();
        let value = key.sign(&identity());
        assert_eq!(key.verify(value.as_bytes(), 1_500, 0), Ok(identity()));
        assert_eq!(
            key.verify(value.as_bytes(), 2_000, 0),
            Err(AuthReason::Expired)
        );
        assert!(key.verify(value.as_bytes(), 2_000, 1).is_ok());
        let claims = identity().into_claims();
        assert_eq!(Identity::from_claims(&claims, Some("k1")), identity());
    }

    #[test]
    fn forgeries_are_refused() {
        let key = IdentityKey::from_secret(&[7; 32]).unwrap();
        let other = IdentityKey::from_secret(&[8; 32]).unwrap();
        let value = other.sign(&identity());
        assert_eq!(
            key.verify(value.as_bytes(), 1_500, 0),
            Err(AuthReason::BadSignature)
        );
        // A changed payload under the original tag.
        let genuine = key.sign(&identity()).to_str().unwrap().to_owned();
        let (_, tag) = genuine.split_once('.').unwrap();
        let mut admin = identity();
        admin.roles = vec!["admin".into()];
        let payload = B64.encode(serde_json::to_vec(&admin).unwrap());
        let forged = format!("{payload}.{tag}");
        assert_eq!(
            key.verify(forged.as_bytes(), 1_500, 0),
            Err(AuthReason::BadSignature)
        );
        for garbage in [&b"no-dot"[..], b"a.%%%", b"", b"."] {
            assert!(key.verify(garbage, 1_500, 0).is_err(), "{garbage:?}");
        }
        assert_eq!(
            key.verify(&vec![b'a'; MAX_IDENTITY_BYTES + 1], 1_500, 0),
            Err(AuthReason::Malformed)
        );
    }

    #[test]
    fn short_secrets_are_refused_and_never_printed() {
        assert!(IdentityKey::from_secret(b"short")
            .unwrap_err()
            .contains("32"));
        let key = IdentityKey::from_secret(&[b'z'; 40]).unwrap();
        assert!(!format!("{key:?}").contains("zzz"));
    }
}
