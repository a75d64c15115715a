//! The gateway's inputs: the issuer's key set (`gateway/jwks.rs`), tokens checked at the edge
//! with its keys (`gateway/verify.rs`), and the identity header backends trust
//! (`gateway/identity.rs`).

use std::sync::OnceLock;
use std::time::Duration;

use bench_server::error::AuthReason;
use bench_server::gateway::identity::{Identity, IdentityKey};
use bench_server::gateway::jwks::{self, JwksKeys, ACCEPTED_ALGORITHMS};
use bench_server::gateway::verify::Verifier;
use bench_server::jwt::{JwtAlg, JwtConfig, JwtService, KeySet};
use proptest::prelude::*;
use serde_json::Value;

use super::mutate::{edit, mutated, syntax_bytes};
use super::support;

/// Checks what `parse` promises of a document it accepted.
fn check_parsed(body: &[u8], parsed: &JwksKeys) -> Result<(), TestCaseError> {
    let document: Value = serde_json::from_slice(body).unwrap();
    let entries = document["keys"].as_array().unwrap().len();
    prop_assert_eq!(parsed.len() + parsed.skipped.len(), entries);
    for kid in parsed.kids() {
        prop_assert!(!kid.is_empty());
        let key = parsed.get(kid).unwrap();
        prop_assert!(ACCEPTED_ALGORITHMS.contains(&key.alg), "{:?}", key.alg);
    }
    Ok(())
}

/// A key set as the replicas publish it: one RSA, one P-256 and one Ed25519 key.
struct Issuers {
    services: Vec<JwtService>,
    document: Value,
    keys: JwksKeys,
    tokens: Vec<String>,
}

fn issuers() -> &'static Issuers {
    static ISSUERS: OnceLock<Issuers> = OnceLock::new();
    ISSUERS.get_or_init(|| {
        let services: Vec<JwtService> = [JwtAlg::Rs256, JwtAlg::Es256, JwtAlg::EdDsa]
            .into_iter()
            .map(|alg| {
                JwtService::new(KeySet::ephemeral(alg).unwrap(), JwtConfig::default()).unwrap()
            })
            .collect();
        let keys: Vec<Value> = services
            .iter()
            .map(|s| s.keys().jwks()["keys"][0].clone())
            .collect();
        let document = serde_json::json!({ "keys": keys });
        let parsed = jwks::parse(&serde_json::to_vec(&document).unwrap()).unwrap();
        assert_eq!(parsed.len(), 3, "{:?}", parsed.skipped);
        let now = jsonwebtoken::get_current_timestamp();
        let tokens = services
            .iter()
            .map(|s| {
                s.issue("u", &["user".to_owned()], Some(1), now)
                    .unwrap()
                    .token
            })
            .collect();
        Issuers {
            services,
            document,
            keys: parsed,
            tokens,
        }
    })
}

#[test]
fn fuzz_jwks_arbitrary() {
    let body = prop_oneof![
        syntax_bytes(200),
        "\\{\"keys\": ?\\[[ -~]{0,80}\\]\\}".prop_map(String::into_bytes),
    ];
    support::run("jwks-arbitrary", 4.0, body, |body| {
        if let Ok(parsed) = jwks::parse(&body) {
            check_parsed(&body, &parsed)?;
        }
        Ok(())
    });
}

/// A key set with one member of one key replaced, removed or added, or its text mutated.
fn mutated_jwks() -> impl Strategy<Value = Vec<u8>> {
    let document = issuers().document.clone();
    let text = serde_json::to_vec(&document).unwrap();
    let member = prop::sample::select(vec![
        "kty", "alg", "kid", "use", "crv", "x", "y", "n", "e", "key_ops", "x5c", "d", "k",
    ]);
    let value = prop_oneof![
        Just(Value::Null),
        any::<i64>().prop_map(Value::from),
        "[A-Za-z0-9_-]{0,400}".prop_map(Value::from),
        prop::sample::select(vec![
            "RSA", "EC", "OKP", "oct", "P-256", "P-384", "P-521", "Ed25519", "X25519", "RS256",
            "PS512", "ES256", "ES384", "ES512", "EdDSA", "HS256", "none", "sig", "enc", "AQAB", "",
        ])
        .prop_map(Value::from),
        Just(Value::Array(vec![])),
    ];
    let structural = (0..3usize, member, prop::option::weighted(0.8, value)).prop_map(
        move |(i, member, value)| {
            let mut document = document.clone();
            let key = document["keys"][i].as_object_mut().unwrap();
            match value {
                Some(v) => key.insert(member.to_owned(), v),
                None => key.remove(member),
            };
            serde_json::to_vec(&document).unwrap()
        },
    );
    prop_oneof![structural, mutated(text, 4)]
}

#[test]
fn fuzz_jwks_mutated() {
    support::run("jwks-mutated", 0.5, mutated_jwks(), |body| {
        if let Ok(parsed) = jwks::parse(&body) {
            check_parsed(&body, &parsed)?;
        }
        Ok(())
    });
}

fn verifier() -> &'static Verifier {
    static VERIFIER: OnceLock<Verifier> = OnceLock::new();
    VERIFIER.get_or_init(|| Verifier::new("authbench", "authbench-api", Duration::ZERO))
}

/// The edge's checks of a token: its header, then the key its `kid` names.
fn edge_check(token: &str) -> Result<(), AuthReason> {
    let header = Verifier::header(token)?;
    let kid = header.kid.ok_or(AuthReason::UnknownKey)?;
    let key = issuers().keys.get(&kid).ok_or(AuthReason::UnknownKey)?;
    if key.alg != header.alg {
        return Err(AuthReason::WrongAlg);
    }
    verifier().check(token, key).map(|_| ())
}

#[test]
fn fuzz_gateway_token_mutation() {
    let s = issuers();
    let strategy = (0..s.tokens.len(), prop::collection::vec(edit(), 0..3));
    support::run("gateway-token-mutation", 1.0, strategy, |(which, edits)| {
        let token = &s.tokens[which];
        let mut bytes = token.clone().into_bytes();
        for e in &edits {
            super::mutate::apply(&mut bytes, e);
        }
        let Ok(mutated) = String::from_utf8(bytes) else {
            return Ok(());
        };
        let result = edge_check(&mutated);
        if &mutated == token {
            prop_assert_eq!(result, Ok(()));
            // The replica that issued it agrees.
            prop_assert!(s.services[which].verify(token).is_ok());
        } else {
            prop_assert!(result.is_err(), "{mutated:?} of {token:?} passed the edge");
        }
        Ok(())
    });
}

fn identity() -> impl Strategy<Value = Identity> {
    (
        any::<String>(),
        prop::collection::vec(any::<String>(), 0..3),
        1_000..u64::MAX,
        any::<u64>(),
        any::<Option<String>>(),
        any::<Option<u64>>(),
        prop::option::of("[A-Za-z0-9_-]{0,43}"),
    )
        .prop_map(|(sub, roles, exp, iat, jti, ver, kid)| Identity {
            sub,
            roles,
            exp,
            iat,
            jti,
            ver,
            kid,
        })
}

fn identity_key() -> &'static IdentityKey {
    static KEY: OnceLock<IdentityKey> = OnceLock::new();
    KEY.get_or_init(|| IdentityKey::from_secret(&[0x5a; 32]).unwrap())
}

#[test]
fn fuzz_identity_arbitrary() {
    let value = prop_oneof![
        syntax_bytes(200),
        "[A-Za-z0-9_-]{0,120}\\.[A-Za-z0-9_-]{0,50}".prop_map(String::into_bytes),
    ];
    support::run("identity-arbitrary", 4.0, value, |value| {
        let result = identity_key().verify(&value, 1_000, 0);
        prop_assert!(
            matches!(
                result,
                Err(AuthReason::Malformed | AuthReason::BadSignature)
            ),
            "{result:?}"
        );
        Ok(())
    });
}

#[test]
fn fuzz_identity_round_trip() {
    let strategy = (identity(), prop::collection::vec(edit(), 0..3));
    support::run("identity-round-trip", 2.0, strategy, |(identity, edits)| {
        let key = identity_key();
        let value = key.sign(&identity);
        let mut bytes = value.as_bytes().to_vec();
        for e in &edits {
            super::mutate::apply(&mut bytes, e);
        }
        let result = key.verify(&bytes, identity.exp - 1, 0);
        if bytes == value.as_bytes() {
            prop_assert_eq!(result, Ok(identity.clone()));
            prop_assert_eq!(
                key.verify(&bytes, identity.exp, 0),
                Err(AuthReason::Expired)
            );
        } else {
            prop_assert!(
                matches!(
                    result,
                    Err(AuthReason::Malformed | AuthReason::BadSignature)
                ),
                "{result:?}"
            );
        }
        Ok(())
    });
}
