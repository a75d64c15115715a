//! Issuing and verifying access tokens.
//!
//! Verification pins the one configured algorithm (so `none` and algorithm confusion fail
//! before any key is used), requires `exp`, `iat`, `sub`, `aud` and `iss`, checks `nbf` when
//! present, and uses a leeway of 0 s by default so that revocation windows measure exactly.
//!
//! Tokens are signed with the current key of a [`KeyRing`] and carry its `kid`; they verify
//! with the key their `kid` names, current or previous. A `kid` outside the ring is
//! [`AuthReason::UnknownKey`]; a token without `kid` is checked with the current key. The
//! header this service writes is compared byte for byte first, so a token of the current key
//! costs no parse beyond `jsonwebtoken::decode`'s own.
use super::backend::Provider as _;
use super::keys::JwtAlgorithm as _;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Header, Validation};
use serde::{Deserialize, Serialize};

use super::backend::CryptoBackend;
use super::keys::{random_token, KeySet};
use super::ring::KeyRing;
use crate::error::AuthReason;

/// Longest token the verifier will look at; longer ones are rejected unparsed.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Settings of the JWT scheme.
#[derive(Debug, Clone)]
pub struct JwtConfig {
    /// Lifetime of issued tokens.
    pub ttl: Duration,
    /// `iss` claim issued and required.
    pub issuer: String,
    /// `aud` claim issued and required.
    pub audience: String,
    /// Clock skew tolerated on `exp` / `nbf`.
    pub leeway: Duration,
    /// Bytes of filler claim added to every token (to measure how size costs).
    pub extra_claim_bytes: usize,
    /// The crypto library.
    pub backend: CryptoBackend,
}

impl Default for JwtConfig {
    fn default() -> Self {
        JwtConfig {
            ttl: Duration::from_secs(900),
            issuer: "authbench".into(),
            audience: "authbench-api".into(),
            leeway: Duration::ZERO,
            extra_claim_bytes: 0,
            backend: CryptoBackend::AwsLc,
        }
    }
}

/// Claims as issued.
#[derive(Debug, Serialize)]
struct IssuedClaims<'a> {
    sub: &'a str,
    roles: &'a [String],
    iat: u64,
    exp: u64,
    jti: &'a str,
    iss: &'a str,
    aud: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ver: Option<u64>,
    #[serde(skip_serializing_if = "str::is_empty")]
    ext: &'a str,
}

/// The claims the server uses after verification. Registered claims that `jsonwebtoken`
/// validates (`aud`, `iss`, `nbf`) are not kept; absent required claims are reported by
/// the validator as missing, hence the defaults here.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct VerifiedClaims {
    /// Subject (username).
    #[serde(default)]
    pub sub: String,
    /// Roles.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Issued at (seconds since the epoch). `jsonwebtoken` cannot require `iat`, so
    /// [`JwtService::verify`] does.
    #[serde(default)]
    pub iat: Option<u64>,
    /// Expiry (seconds since the epoch).
    #[serde(default)]
    pub exp: u64,
    /// Token ID (deny-list key).
    #[serde(default)]
    pub jti: Option<String>,
    /// Token version (per-user revocation).
    #[serde(default)]
    pub ver: Option<u64>,
}

/// A freshly issued token.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The compact JWS.
    pub token: String,
    /// Its `jti`.
    pub jti: String,
    /// Seconds until expiry.
    pub expires_in: u64,
}

/// Signs with the current key of a ring and verifies with the key a token's `kid` names.
#[derive(Debug, Clone)]
pub struct JwtService {
    ring: KeyRing,
    header: Header,
    /// `base64url(header) "."` of the tokens the current key signs.
    current_prefix: String,
    /// The same for the previous key's tokens.
    previous_prefix: Option<String>,
    validation: Validation,
    config: JwtConfig,
    filler: String,
}

/// The header a replica writes for `key`.
fn header_for(key: &KeySet) -> Header {
    let mut header = Header::new(key.alg().algorithm());
    header.kid = Some(key.kid().to_owned());
    header
}

/// `base64url(header) "."`: how every token signed with `header` begins, exactly as
/// `jsonwebtoken::encode` writes it.
fn encoded_prefix(header: &Header) -> Result<String, String> {
    let json = serde_json::to_vec(header).map_err(|e| format!("token header: {e}"))?;
    Ok(format!("{}.", B64.encode(json)))
}

impl JwtService {
    /// A service for `keys` (a [`KeySet`] or a [`KeyRing`]); installs the configured crypto
    /// backend.
    pub fn new(keys: impl Into<KeyRing>, config: JwtConfig) -> Result<Self, String> {
        let ring = keys.into();
        config.backend.install()?;
        let header = header_for(ring.current());
        let current_prefix = encoded_prefix(&header)?;
        let previous_prefix = match ring.previous() {
            Some(previous) => Some(encoded_prefix(&header_for(previous))?),
            None => None,
        };
        let mut validation = Validation::new(ring.alg().algorithm());
        validation.set_required_spec_claims(&["exp", "iat", "sub", "aud", "iss"]);
        validation.set_audience(&[config.audience.as_str()]);
        validation.set_issuer(&[config.issuer.as_str()]);
        validation.validate_nbf = true;
        validation.leeway = config.leeway.as_secs();
        let filler = "x".repeat(config.extra_claim_bytes);
        Ok(JwtService {
            ring,
            header,
            current_prefix,
            previous_prefix,
            validation,
            config,
            filler,
        })
    }

    /// The same settings with other keys (a reload of the key directory).
    pub fn with_keys(&self, keys: impl Into<KeyRing>) -> Result<Self, String> {
        JwtService::new(keys, self.config.clone())
    }

    /// The current key: signs, and its `kid` is in every issued token.
    pub fn keys(&self) -> &KeySet {
        self.ring.current()
    }

    /// The current and previous keys.
    pub fn ring(&self) -> &KeyRing {
        &self.ring
    }

    /// The configuration.
    pub fn config(&self) -> &JwtConfig {
        &self.config
    }

    /// Issues a token for `user` at `now` (seconds since the epoch).
    pub fn issue(
        &self,
        user: &str,
        roles: &[String],
        version: Option<u64>,
        now: u64,
    ) -> Result<IssuedToken, jsonwebtoken::errors::Error> {
        let jti = random_token(16);
        let expires_in = self.config.ttl.as_secs();
        let claims = IssuedClaims {
            sub: user,
            roles,
            iat: now,
            exp: now + expires_in,
            jti: &jti,
            iss: &self.config.issuer,
            aud: &self.config.audience,
            ver: version,
            ext: &self.filler,
        };
        let token = jsonwebtoken::encode(&self.header, &claims, self.keys().encoding())?;
        Ok(IssuedToken {
            token,
            jti,
            expires_in,
        })
    }

    /// Signs arbitrary claims with this service's key and header (tests, benches, tooling).
    pub fn sign_raw<T: Serialize>(
        &self,
        claims: &T,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        jsonwebtoken::encode(&self.header, claims, self.keys().encoding())
    }

    /// Verifies signature, algorithm and registered claims; maps any failure to a reason.
    pub fn verify(&self, token: &str) -> Result<VerifiedClaims, AuthReason> {
        if token.is_empty() {
            return Err(AuthReason::Missing);
        }
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthReason::Malformed);
        }
        let key = self.key_for(token)?;
        let claims =
            match jsonwebtoken::decode::<VerifiedClaims>(token, key.decoding(), &self.validation) {
                Ok(data) => data.claims,
                Err(err) => return Err(classify(err.kind(), token)),
            };
        let Some(iat) = claims.iat else {
            return Err(AuthReason::MissingClaim);
        };
        // A token from the future was not issued by this service's clock.
        if iat > jsonwebtoken::get_current_timestamp() + self.config.leeway.as_secs() {
            return Err(AuthReason::NotYetValid);
        }
        Ok(claims)
    }

    /// The key `token` is checked with: the one its `kid` names. A header written by this
    /// ring is recognised by its bytes; any other header is parsed. Tokens whose header does
    /// not parse, or names another algorithm, go to the current key so that `decode` reports
    /// why they fail (malformed, wrong algorithm) as it always did.
    fn key_for(&self, token: &str) -> Result<&KeySet, AuthReason> {
        if token.starts_with(self.current_prefix.as_str()) {
            return Ok(self.ring.current());
        }
        if let (Some(prefix), Some(previous)) = (&self.previous_prefix, self.ring.previous()) {
            if token.starts_with(prefix.as_str()) {
                return Ok(previous);
            }
        }
        let current = self.ring.current();
        let Ok(header) = jsonwebtoken::decode_header(token) else {
            return Ok(current);
        };
        if header.alg != current.alg().algorithm() {
            return Ok(current);
        }
        match header.kid.as_deref() {
            None => Ok(current),
            Some(kid) => self.ring.find(kid).ok_or(AuthReason::UnknownKey),
        }
    }
}

/// The reason a `jsonwebtoken` failure is reported under; `token` is the one that failed
/// (shared with the gateway's verifier, so that the edge and the replicas reject a token for
/// the same reason).
pub(crate) fn classify(kind: &ErrorKind, token: &str) -> AuthReason {
    match kind {
        ErrorKind::InvalidSignature => AuthReason::BadSignature,
        ErrorKind::InvalidAlgorithm
        | ErrorKind::MissingAlgorithm
        | ErrorKind::InvalidAlgorithmName => AuthReason::WrongAlg,
        ErrorKind::ExpiredSignature => AuthReason::Expired,
        ErrorKind::ImmatureSignature => AuthReason::NotYetValid,
        ErrorKind::InvalidAudience => AuthReason::WrongAudience,
        ErrorKind::InvalidIssuer => AuthReason::WrongIssuer,
        ErrorKind::MissingRequiredClaim(_) => AuthReason::MissingClaim,
        ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidEddsaKey
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidKeyFormat => AuthReason::BadSignature,
        // The header may name an algorithm `jsonwebtoken` does not know at all (`none`):
        // that is an algorithm rejection, not garbage.
        ErrorKind::Json(_) if header_names_unknown_alg(token) => AuthReason::WrongAlg,
        _ => AuthReason::Malformed,
    }
}

/// Whether the token's header parses as JSON with an `alg` this server would never accept.
fn header_names_unknown_alg(token: &str) -> bool {
    #[derive(Deserialize)]
    struct RawHeader {
        alg: Option<String>,
    }
    let Some(segment) = token.split('.').next() else {
        return false;
    };
    let Ok(bytes) = B64.decode(segment) else {
        return false;
    };
    match serde_json::from_slice::<RawHeader>(&bytes) {
        Ok(RawHeader { alg: Some(alg) }) => alg.parse::<jsonwebtoken::Algorithm>().is_err(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwt::keys::JwtAlg;
    use serde_json::json;

    fn service(alg: JwtAlg) -> JwtService {
        JwtService::new(KeySet::ephemeral(alg).unwrap(), JwtConfig::default()).unwrap()
    }

    fn now() -> u64 {
        jsonwebtoken::get_current_timestamp()
    }

    #[test]
    fn issued_tokens_verify_for_every_algorithm() {
        for alg in [JwtAlg::Hs256, JwtAlg::Es256, JwtAlg::EdDsa] {
            let svc = service(alg);
            let roles = vec!["user".to_owned()];
            let issued = svc.issue("user1", &roles, Some(3), now()).unwrap();
            let claims = svc.verify(&issued.token).unwrap();
            assert_eq!(claims.sub, "user1", "{alg}");
            assert_eq!(claims.roles, roles);
            assert_eq!(claims.ver, Some(3));
            assert_eq!(claims.jti.as_deref(), Some(issued.jti.as_str()));
        }
    }

    #[test]
    fn registered_claims_are_enforced() {
        let svc = service(JwtAlg::Hs256);
        let t = now();
        let base = json!({"sub": "u", "iat": t, "exp": t + 60, "iss": "authbench", "aud": "authbench-api"});
        let with = |key: &str, value: serde_json::Value| {
            let mut c = base.clone();
            c[key] = value;
            svc.sign_raw(&c).unwrap()
        };
        let without = |key: &str| {
            let mut c = base.clone();
            c.as_object_mut().unwrap().remove(key);
            svc.sign_raw(&c).unwrap()
        };
        assert!(svc.verify(&svc.sign_raw(&base).unwrap()).is_ok());
        assert_eq!(
            svc.verify(&with("exp", json!(t - 1))),
            Err(AuthReason::Expired)
        );
        assert_eq!(
            svc.verify(&with("nbf", json!(t + 600))),
            Err(AuthReason::NotYetValid)
        );
        assert_eq!(
            svc.verify(&with("iat", json!(t + 600))),
            Err(AuthReason::NotYetValid)
        );
        assert_eq!(
            svc.verify(&with("iat", json!("yesterday"))),
            Err(AuthReason::Malformed)
        );
        assert_eq!(
            svc.verify(&with("aud", json!("other"))),
            Err(AuthReason::WrongAudience)
        );
        assert_eq!(
            svc.verify(&with("iss", json!("evil"))),
            Err(AuthReason::WrongIssuer)
        );
        for claim in ["exp", "iat", "sub", "aud", "iss"] {
            assert_eq!(
                svc.verify(&without(claim)),
                Err(AuthReason::MissingClaim),
                "{claim}"
            );
        }
    }

    #[test]
    fn garbage_is_malformed_and_none_is_wrong_alg() {
        let svc = service(JwtAlg::Hs256);
        assert_eq!(svc.verify(""), Err(AuthReason::Missing));
        assert_eq!(svc.verify("abc"), Err(AuthReason::Malformed));
        assert_eq!(svc.verify("a.b.c"), Err(AuthReason::Malformed));
        assert_eq!(
            svc.verify(&"a".repeat(MAX_TOKEN_BYTES + 1)),
            Err(AuthReason::Malformed)
        );
        let header = B64.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let payload = B64.encode(br#"{"sub":"user0","roles":["admin"]}"#);
        assert_eq!(
            svc.verify(&format!("{header}.{payload}.")),
            Err(AuthReason::WrongAlg)
        );
    }

    #[test]
    fn other_keys_and_other_algorithms_are_rejected() {
        let a = service(JwtAlg::Es256);
        let b = service(JwtAlg::Es256);
        let token = b.issue("u", &[], None, now()).unwrap().token;
        assert_eq!(a.verify(&token), Err(AuthReason::UnknownKey), "b's kid");
        let mut header = Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(a.keys().kid().to_owned());
        let claims = json!({"sub": "u", "iat": now(), "exp": now() + 60,
            "iss": "authbench", "aud": "authbench-api"});
        let forged = jsonwebtoken::encode(&header, &claims, b.keys().encoding()).unwrap();
        assert_eq!(a.verify(&forged), Err(AuthReason::BadSignature), "a's kid");
        let hs = service(JwtAlg::Hs256);
        let token = hs.issue("u", &[], None, now()).unwrap().token;
        assert_eq!(a.verify(&token), Err(AuthReason::WrongAlg));
    }

    #[test]
    fn tampering_breaks_the_signature() {
        let svc = service(JwtAlg::EdDsa);
        let token = svc.issue("user1", &[], None, now()).unwrap().token;
        let parts: Vec<&str> = token.split('.').collect();
        let forged_payload = B64.encode(
            serde_json::to_vec(&json!({"sub": "user0", "roles": ["admin"], "iat": now(),
                "exp": now() + 60, "iss": "authbench", "aud": "authbench-api"}))
            .unwrap(),
        );
        let forged = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
        assert_eq!(svc.verify(&forged), Err(AuthReason::BadSignature));
        let mut sig = parts[2].to_owned();
        let flipped = if sig.ends_with('A') { 'B' } else { 'A' };
        sig.pop();
        sig.push(flipped);
        let bad_sig = format!("{}.{}.{}", parts[0], parts[1], sig);
        assert!(matches!(
            svc.verify(&bad_sig),
            Err(AuthReason::BadSignature | AuthReason::Malformed)
        ));
    }

    fn ring(alg: JwtAlg) -> (KeySet, KeySet) {
        (
            KeySet::ephemeral(alg).unwrap(),
            KeySet::ephemeral(alg).unwrap(),
        )
    }

    #[test]
    fn tokens_of_the_previous_key_verify_and_unknown_kids_do_not() {
        for alg in [JwtAlg::Hs256, JwtAlg::Es256, JwtAlg::EdDsa] {
            let (old, new) = ring(alg);
            let before = JwtService::new(old.clone(), JwtConfig::default()).unwrap();
            let old_token = before.issue("u", &[], None, now()).unwrap().token;
            let rotated = before
                .with_keys(KeyRing::new(new.clone(), Some(old.clone())).unwrap())
                .unwrap();
            assert_eq!(rotated.keys().kid(), new.kid(), "{alg}");
            let new_token = rotated.issue("u", &[], None, now()).unwrap().token;
            assert_eq!(
                jsonwebtoken::decode_header(&new_token)
                    .unwrap()
                    .kid
                    .as_deref(),
                Some(new.kid())
            );
            assert_eq!(rotated.verify(&old_token).unwrap().sub, "u", "{alg}");
            assert_eq!(rotated.verify(&new_token).unwrap().sub, "u", "{alg}");
            // A replica that has not reloaded does not know the new kid.
            assert_eq!(
                before.verify(&new_token),
                Err(AuthReason::UnknownKey),
                "{alg}"
            );
            // After the next rotation the first key is retired.
            let third = KeySet::ephemeral(alg).unwrap();
            let again = rotated
                .with_keys(KeyRing::new(third, Some(new)).unwrap())
                .unwrap();
            assert_eq!(again.verify(&old_token), Err(AuthReason::UnknownKey));
            assert!(again.verify(&new_token).is_ok());
        }
    }

    #[test]
    fn previous_key_tokens_are_still_checked_in_full() {
        let (old, new) = ring(JwtAlg::EdDsa);
        let before = JwtService::new(old.clone(), JwtConfig::default()).unwrap();
        let t = now();
        let expired = before
            .sign_raw(&json!({"sub": "u", "iat": t - 120, "exp": t - 60,
                "iss": "authbench", "aud": "authbench-api"}))
            .unwrap();
        let rotated = before
            .with_keys(KeyRing::new(new, Some(old)).unwrap())
            .unwrap();
        assert_eq!(rotated.verify(&expired), Err(AuthReason::Expired));
        // Signed by the previous key but claiming the current kid: its signature fails.
        let claims = json!({"sub": "u", "iat": t, "exp": t + 60,
            "iss": "authbench", "aud": "authbench-api"});
        let mut header = Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.kid = Some(rotated.keys().kid().to_owned());
        let previous = rotated.ring().previous().unwrap();
        let lying = jsonwebtoken::encode(&header, &claims, previous.encoding()).unwrap();
        assert_eq!(rotated.verify(&lying), Err(AuthReason::BadSignature));
        // A header written by someone else (no `typ`) naming the previous key: parsed, found.
        header.kid = Some(previous.kid().to_owned());
        header.typ = None;
        let other_writer = jsonwebtoken::encode(&header, &claims, previous.encoding()).unwrap();
        assert!(!other_writer.starts_with(rotated.previous_prefix.as_deref().unwrap()));
        assert!(rotated.verify(&other_writer).is_ok());
    }

    #[test]
    fn tokens_without_kid_verify_with_the_current_key_only() {
        let (old, new) = ring(JwtAlg::Hs256);
        let svc =
            JwtService::new(KeyRing::new(new, Some(old)).unwrap(), JwtConfig::default()).unwrap();
        let t = now();
        let claims = json!({"sub": "u", "iat": t, "exp": t + 60,
            "iss": "authbench", "aud": "authbench-api"});
        let header = Header::new(jsonwebtoken::Algorithm::HS256);
        let by_current = jsonwebtoken::encode(&header, &claims, svc.keys().encoding()).unwrap();
        assert!(svc.verify(&by_current).is_ok());
        let previous = svc.ring().previous().unwrap();
        let by_previous = jsonwebtoken::encode(&header, &claims, previous.encoding()).unwrap();
        assert_eq!(svc.verify(&by_previous), Err(AuthReason::BadSignature));
        // The algorithm is still pinned before the kid is looked at.
        let mut header = Header::new(jsonwebtoken::Algorithm::HS384);
        header.kid = Some("unknown".into());
        let other_alg = jsonwebtoken::encode(&header, &claims, svc.keys().encoding()).unwrap();
        assert_eq!(svc.verify(&other_alg), Err(AuthReason::WrongAlg));
    }

    #[test]
    fn the_header_prefix_is_what_jsonwebtoken_writes() {
        for alg in [JwtAlg::Hs256, JwtAlg::EdDsa] {
            let svc = service(alg);
            let token = svc.issue("u", &[], None, now()).unwrap().token;
            assert!(token.starts_with(svc.current_prefix.as_str()), "{alg}");
        }
    }

    #[test]
    fn filler_claim_grows_the_token() {
        let keys = KeySet::ephemeral(JwtAlg::Hs256).unwrap();
        let small = JwtService::new(keys.clone(), JwtConfig::default()).unwrap();
        let big = JwtService::new(
            keys,
            JwtConfig {
                extra_claim_bytes: 1000,
                ..JwtConfig::default()
            },
        )
        .unwrap();
        let a = small.issue("u", &[], None, now()).unwrap().token;
        let b = big.issue("u", &[], None, now()).unwrap().token;
        assert!(b.len() >= a.len() + 1300, "{} vs {}", a.len(), b.len());
        assert!(big.verify(&b).is_ok());
    }
}
