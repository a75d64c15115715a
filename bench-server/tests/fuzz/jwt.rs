//! JWT verification around `jsonwebtoken` (`jwt/tokens.rs`): arbitrary strings, arbitrary
//! headers and claims signed with a real key, valid tokens, and mutations of valid tokens.

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use bench_server::error::AuthReason;
use bench_server::jwt::keys::JwtAlgorithm as _;
use bench_server::jwt::{JwtAlg, JwtConfig, JwtService, KeyRing, KeySet};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

use super::mutate::{edit, Edit};
use super::support;

/// The reasons a verifier may give (the others belong to stores and logins).
fn is_verify_reason(reason: AuthReason) -> bool {
    matches!(
        reason,
        AuthReason::Missing
            | AuthReason::Malformed
            | AuthReason::BadSignature
            | AuthReason::WrongAlg
            | AuthReason::Expired
            | AuthReason::NotYetValid
            | AuthReason::WrongAudience
            | AuthReason::WrongIssuer
            | AuthReason::MissingClaim
            | AuthReason::UnknownKey
    )
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// One service per algorithm (RS256 only where signing cost allows), and one with a rotated
/// ring whose previous key still verifies.
struct Services {
    fast: Vec<(JwtService, &'static str)>,
    rotated: JwtService,
    /// Tokens issued once (RS256 signing is slow), mutated by the mutation target.
    issued: Vec<(usize, String)>,
    all: Vec<JwtService>,
}

fn services() -> &'static Services {
    static SERVICES: OnceLock<Services> = OnceLock::new();
    SERVICES.get_or_init(|| {
        let service = |alg| JwtService::new(KeySet::ephemeral(alg).unwrap(), JwtConfig::default());
        let fast = vec![
            (service(JwtAlg::Hs256).unwrap(), "HS256"),
            (service(JwtAlg::Es256).unwrap(), "ES256"),
            (service(JwtAlg::EdDsa).unwrap(), "EdDSA"),
        ];
        let old = KeySet::ephemeral(JwtAlg::EdDsa).unwrap();
        let new = KeySet::ephemeral(JwtAlg::EdDsa).unwrap();
        let before = JwtService::new(old.clone(), JwtConfig::default()).unwrap();
        let rotated = before
            .with_keys(KeyRing::new(new, Some(old)).unwrap())
            .unwrap();
        let mut all: Vec<JwtService> = fast.iter().map(|(s, _)| s.clone()).collect();
        all.push(service(JwtAlg::Rs256).unwrap());
        all.push(rotated.clone());
        let mut issued = Vec::new();
        let roles = ["user".to_owned(), "admin".to_owned()];
        for (i, svc) in all.iter().enumerate() {
            for n in 0..4u64 {
                let token = svc
                    .issue(
                        &format!("user{n}"),
                        &roles[..n as usize % 3],
                        Some(n),
                        now(),
                    )
                    .unwrap()
                    .token;
                issued.push((i, token));
            }
        }
        // The previous key's tokens, verified by the rotated service.
        for n in 0..4u64 {
            let token = before.issue("old", &[], Some(n), now()).unwrap().token;
            issued.push((all.len() - 1, token));
        }
        Services {
            fast,
            rotated,
            issued,
            all,
        }
    })
}

/// Strings that look more or less like tokens.
fn token_like() -> impl Strategy<Value = String> {
    let json_part = any::<Vec<u8>>().prop_map(|b| B64.encode(b));
    prop_oneof![
        any::<String>(),
        "[A-Za-z0-9_.=+/-]{0,120}",
        "[A-Za-z0-9_-]{0,60}\\.[A-Za-z0-9_-]{0,60}\\.[A-Za-z0-9_-]{0,90}",
        (json_value(), json_part.clone(), "[A-Za-z0-9_-]{0,90}")
            .prop_map(|(h, c, s)| { format!("{}.{c}.{s}", B64.encode(h.to_string())) }),
    ]
}

#[test]
fn fuzz_jwt_arbitrary() {
    let s = services();
    support::run("jwt-arbitrary", 2.0, token_like(), |token| {
        for svc in &s.all {
            match svc.verify(&token) {
                Ok(claims) => prop_assert!(false, "{token:?} verified: {claims:?}"),
                Err(reason) => prop_assert!(is_verify_reason(reason), "{reason:?}"),
            }
        }
        Ok(())
    });
}

/// Any JSON value, small.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        "[ -~]{0,12}".prop_map(Value::from),
        prop::sample::select(vec![
            "HS256",
            "ES256",
            "EdDSA",
            "RS256",
            "none",
            "None",
            "authbench",
            "authbench-api",
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,4}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A change to one member of a JSON object.
#[derive(Debug, Clone)]
enum FieldEdit {
    Remove(prop::sample::Index),
    Replace(prop::sample::Index, Value),
    Add(String, Value),
}

fn field_edit(names: &'static [&'static str]) -> impl Strategy<Value = FieldEdit> {
    prop_oneof![
        any::<prop::sample::Index>().prop_map(FieldEdit::Remove),
        (any::<prop::sample::Index>(), json_value()).prop_map(|(i, v)| FieldEdit::Replace(i, v)),
        (
            prop_oneof![
                prop::sample::select(names).prop_map(str::to_owned),
                "[a-z]{1,5}"
            ],
            json_value()
        )
            .prop_map(|(k, v)| FieldEdit::Add(k, v)),
    ]
}

fn apply_field(object: &mut Map<String, Value>, edit: &FieldEdit) {
    let keys: Vec<String> = object.keys().cloned().collect();
    match edit {
        FieldEdit::Remove(i) if !keys.is_empty() => {
            object.remove(&keys[i.index(keys.len())]);
        }
        FieldEdit::Replace(i, v) if !keys.is_empty() => {
            object.insert(keys[i.index(keys.len())].clone(), v.clone());
        }
        FieldEdit::Add(k, v) => {
            object.insert(k.clone(), v.clone());
        }
        _ => {}
    }
}

const HEADER_FIELDS: &[&str] = &["alg", "kid", "typ", "cty", "jku", "x5c", "crit", "jwk"];
const CLAIM_FIELDS: &[&str] = &[
    "sub", "iat", "exp", "nbf", "iss", "aud", "jti", "ver", "roles",
];

#[test]
fn fuzz_jwt_signed_json() {
    let s = services();
    let strategy = (
        0..s.fast.len(),
        prop::collection::vec(field_edit(HEADER_FIELDS), 0..3),
        prop::collection::vec(field_edit(CLAIM_FIELDS), 0..3),
        prop::option::weighted(0.1, json_value()),
    );
    support::run(
        "jwt-signed-json",
        0.5,
        strategy,
        |(which, header_edits, claim_edits, whole)| {
            let (svc, alg) = &s.fast[which];
            let t = now();
            let mut header = Map::new();
            header.insert("typ".into(), json!("JWT"));
            header.insert("alg".into(), json!(alg));
            header.insert("kid".into(), json!(svc.keys().kid()));
            let mut claims = json!({"sub": "u1", "roles": ["user"], "iat": t, "exp": t + 600,
                "iss": "authbench", "aud": "authbench-api", "jti": "j", "ver": 1});
            let claims_map = claims.as_object_mut().unwrap();
            for e in &header_edits {
                apply_field(&mut header, e);
            }
            for e in &claim_edits {
                apply_field(claims_map, e);
            }
            let header = whole.clone().unwrap_or(Value::Object(header));
            let message = format!(
                "{}.{}",
                B64.encode(header.to_string()),
                B64.encode(claims.to_string())
            );
            let signature = jsonwebtoken::crypto::sign(
                message.as_bytes(),
                svc.keys().encoding(),
                svc.keys().alg().algorithm(),
            )
            .unwrap();
            let token = format!("{message}.{signature}");
            let untouched = header_edits.is_empty() && claim_edits.is_empty() && whole.is_none();
            match svc.verify(&token) {
                Ok(verified) => {
                    // Whatever was changed, what verifies is what the rules allow.
                    prop_assert_eq!(&header["alg"], &json!(alg));
                    let kid = header.get("kid");
                    // `"kid": null` is no kid: the current key.
                    let own = json!(svc.keys().kid());
                    prop_assert!(kid.is_none_or(|k| k.is_null() || k == &own), "{kid:?}");
                    prop_assert_eq!(&claims["sub"], &json!(verified.sub));
                    // jsonwebtoken also takes `iss` as an array (signed by this key, so harmless).
                    let iss = &claims["iss"];
                    prop_assert!(
                        iss == &json!("authbench")
                            || iss
                                .as_array()
                                .is_some_and(|a| a.contains(&json!("authbench"))),
                        "{iss}"
                    );
                    prop_assert!(verified.exp >= t, "{verified:?}");
                    prop_assert!(verified.iat.is_some_and(|iat| iat <= now()));
                }
                Err(reason) => {
                    prop_assert!(!untouched, "a valid token was refused: {reason:?}");
                    prop_assert!(is_verify_reason(reason), "{reason:?}");
                }
            }
            Ok(())
        },
    );
}

#[test]
fn fuzz_jwt_round_trip() {
    let s = services();
    let strategy = (
        0..=s.fast.len(),
        any::<String>(),
        prop::collection::vec(any::<String>(), 0..4),
        any::<Option<u64>>(),
    );
    support::run(
        "jwt-round-trip",
        0.5,
        strategy,
        |(which, sub, roles, ver)| {
            let svc = s.fast.get(which).map_or(&s.rotated, |(svc, _)| svc);
            let issued = svc.issue(&sub, &roles, ver, now()).unwrap();
            let claims = svc.verify(&issued.token).unwrap();
            prop_assert_eq!(claims.sub, sub);
            prop_assert_eq!(claims.roles, roles);
            prop_assert_eq!(claims.ver, ver);
            prop_assert_eq!(claims.jti, Some(issued.jti));
            Ok(())
        },
    );
}

#[test]
fn fuzz_jwt_mutation() {
    let s = services();
    let strategy = (0..s.issued.len(), prop::collection::vec(edit(), 1..3));
    support::run("jwt-mutation", 1.0, strategy, |(which, edits)| {
        let (svc, token) = &s.issued[which];
        let mut bytes = token.clone().into_bytes();
        for e in &edits {
            // Keep to ASCII so the mutation is one byte of the string too.
            let e = match *e {
                Edit::Replace(i, b) => Edit::Replace(i, b & 0x7f),
                Edit::Insert(i, b) => Edit::Insert(i, b & 0x7f),
                ref other => other.clone(),
            };
            super::mutate::apply(&mut bytes, &e);
        }
        let mutated = String::from_utf8(bytes).unwrap();
        if &mutated == token {
            return Ok(());
        }
        match s.all[*svc].verify(&mutated) {
            Ok(claims) => prop_assert!(false, "{mutated:?} of {token:?} verified: {claims:?}"),
            Err(reason) => prop_assert!(is_verify_reason(reason), "{reason:?}"),
        }
        Ok(())
    });
}
