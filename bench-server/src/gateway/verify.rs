//! Verifying a token at the edge exactly as a replica does, with keys from the key set.
//!
//! The replica's rules ([`crate::jwt::tokens`]): tokens longer than `MAX_TOKEN_BYTES` are
//! refused unparsed; `exp`, `iat`, `sub`, `aud` and `iss` are required; `nbf` is checked;
//! `iat` may not be in the future; leeway as configured (0 by default); every
//! `jsonwebtoken` failure is mapped to a reason by the same `classify`.
//!
//! Choosing the key ([`choose`]): the key named by the token's `kid` — an unknown one is
//! fetched again (see [`super::keys_cache`]) and otherwise refused as `unknown_key` — whose
//! pinned algorithm must be the token's (`wrong_alg` otherwise: algorithm confusion and
//! `none` end here, before any key is used). A token without a `kid` is tried against the
//! keys pinned to its algorithm (Envoy's `jwt_authn` does the same; a replica, with one key,
//! needs no `kid` either); when no key is pinned to it, `wrong_alg`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, Header, Validation};

use super::jwks::{JwksKeys, VerifyingKey, ACCEPTED_ALGORITHMS};
use super::keys_cache::KeyCache;
use super::metrics::GatewayMetrics;
use super::rejection::Rejection;
use crate::error::AuthReason;
use crate::jwt::tokens::{classify, MAX_TOKEN_BYTES};
use crate::jwt::VerifiedClaims;

/// Claims rules of the edge: one prepared validation per accepted algorithm.
#[derive(Debug)]
pub struct Verifier {
    validations: HashMap<Algorithm, Validation>,
    leeway: u64,
}

impl Verifier {
    /// A verifier requiring `issuer` and `audience`, tolerating `leeway` on `exp`/`nbf`/`iat`.
    pub fn new(issuer: &str, audience: &str, leeway: Duration) -> Verifier {
        let validations = ACCEPTED_ALGORITHMS
            .iter()
            .map(|&alg| {
                let mut validation = Validation::new(alg);
                validation.set_required_spec_claims(&["exp", "iat", "sub", "aud", "iss"]);
                validation.set_audience(&[audience]);
                validation.set_issuer(&[issuer]);
                validation.validate_nbf = true;
                validation.leeway = leeway.as_secs();
                (alg, validation)
            })
            .collect();
        Verifier {
            validations,
            leeway: leeway.as_secs(),
        }
    }

    /// The token's header, with the replica's reasons for tokens that have none worth reading.
    pub fn header(token: &str) -> Result<Header, AuthReason> {
        if token.is_empty() {
            return Err(AuthReason::Missing);
        }
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthReason::Malformed);
        }
        jsonwebtoken::decode_header(token).map_err(|err| classify(err.kind(), token))
    }

    /// Signature and claims of `token` against `key`.
    pub fn check(&self, token: &str, key: &VerifyingKey) -> Result<VerifiedClaims, AuthReason> {
        let validation = self.validations.get(&key.alg).ok_or(AuthReason::WrongAlg)?;
        let claims = jsonwebtoken::decode::<VerifiedClaims>(token, &key.key, validation)
            .map_err(|err| classify(err.kind(), token))?
            .claims;
        let Some(iat) = claims.iat else {
            return Err(AuthReason::MissingClaim);
        };
        // A token from the future was not issued by the issuer's clock.
        if iat > jsonwebtoken::get_current_timestamp() + self.leeway {
            return Err(AuthReason::NotYetValid);
        }
        Ok(claims)
    }
}

/// Verifies `token` with the cached keys (fetching again for an unknown `kid`); returns the
/// claims and the `kid` of the key that verified them.
pub async fn verify(
    verifier: &Verifier,
    keys: &KeyCache,
    metrics: &GatewayMetrics,
    token: &str,
) -> Result<(VerifiedClaims, String), Rejection> {
    let header = Verifier::header(token).map_err(Rejection::Auth)?;
    let set = match keys.current() {
        Some(set) => set,
        None => keys.refetch(None).await.ok_or(Rejection::JwksUnavailable)?,
    };
    let candidates = choose(keys, set, &header).await?;
    let mut first_error = AuthReason::WrongAlg;
    for (i, key) in candidates.iter().enumerate() {
        let started = Instant::now();
        let result = verifier.check(token, key);
        metrics.verify_time(started.elapsed());
        match result {
            Ok(claims) => return Ok((claims, key.kid.clone())),
            Err(reason) if i == 0 => first_error = reason,
            Err(_) => {}
        }
    }
    Err(Rejection::Auth(first_error))
}

/// The keys to try for a token with this header, in order.
async fn choose(
    keys: &KeyCache,
    mut set: Arc<JwksKeys>,
    header: &Header,
) -> Result<Vec<Arc<VerifyingKey>>, Rejection> {
    match &header.kid {
        Some(kid) => {
            if set.get(kid).is_none() {
                set = keys.refetch(Some(&set)).await.unwrap_or(set);
            }
            let key = set
                .get(kid)
                .ok_or(Rejection::Auth(AuthReason::UnknownKey))?;
            if key.alg != header.alg {
                return Err(Rejection::Auth(AuthReason::WrongAlg));
            }
            Ok(vec![Arc::clone(key)])
        }
        None => {
            if set.is_empty() {
                set = keys.refetch(Some(&set)).await.unwrap_or(set);
                if set.is_empty() {
                    return Err(Rejection::Auth(AuthReason::UnknownKey));
                }
            }
            let candidates: Vec<Arc<VerifyingKey>> = set.with_alg(header.alg).cloned().collect();
            if candidates.is_empty() {
                return Err(Rejection::Auth(AuthReason::WrongAlg));
            }
            Ok(candidates)
        }
    }
}
