//! `Authorization: Bearer` and `Cookie: sid=` extraction (`credentials.rs`, used by `auth.rs`).

use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use bench_server::credentials::{bearer_token, is_session_id, parse_bearer, session_id};
use bench_server::error::AuthReason;
use bench_server::metrics::Metrics;
use proptest::prelude::*;

use super::mutate::syntax_bytes;
use super::support;

/// Header values from arbitrary bytes (those `HeaderValue` refuses are dropped, as hyper
/// would never hand them over).
fn headers(name: axum::http::HeaderName, values: &[Vec<u8>]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for v in values {
        if let Ok(value) = HeaderValue::from_bytes(v) {
            map.append(name.clone(), value);
        }
    }
    map
}

fn b64token_char() -> impl Strategy<Value = char> {
    prop::sample::select("abcxyzABCXYZ0189-_.~+/=".chars().collect::<Vec<_>>())
}

/// A well-formed credential: any capitalisation of `Bearer`, spaces around, a b64token.
fn good_bearer() -> impl Strategy<Value = (String, String)> {
    (
        prop::sample::select(vec!["Bearer", "bearer", "BEARER", "bEaReR"]),
        " {0,3}",
        prop::collection::vec(b64token_char(), 1..200),
        " {0,3}",
    )
        .prop_map(|(scheme, pre, token, post)| {
            let token: String = token.into_iter().collect();
            (format!("{pre}{scheme} {token}{post}"), token)
        })
}

#[test]
fn fuzz_bearer_arbitrary() {
    let values = prop::collection::vec(syntax_bytes(120), 0..3);
    support::run("bearer-arbitrary", 4.0, values, |values| {
        let map = headers(AUTHORIZATION, &values);
        let parsed = parse_bearer(&map);
        // Counting the header changes nothing about the answer.
        prop_assert_eq!(bearer_token(&map, &Metrics::default()), parsed);
        match parsed {
            Ok(token) => {
                prop_assert_eq!(map.len(), 1);
                prop_assert!(!token.is_empty());
                prop_assert!(token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.~+/=".contains(&b)));
                let text = map.get(AUTHORIZATION).unwrap().to_str().unwrap();
                prop_assert!(text.trim().to_ascii_lowercase().starts_with("bearer "));
                prop_assert!(text.trim_end().ends_with(token));
            }
            Err(reason) => prop_assert!(matches!(
                reason,
                AuthReason::Missing | AuthReason::Malformed | AuthReason::Duplicate
            )),
        }
        Ok(())
    });
}

#[test]
fn fuzz_bearer_well_formed() {
    support::run(
        "bearer-well-formed",
        2.0,
        good_bearer(),
        |(value, token)| {
            let map = headers(AUTHORIZATION, &[value.into_bytes()]);
            prop_assert_eq!(parse_bearer(&map), Ok(token.as_str()));
            Ok(())
        },
    );
}

#[test]
fn fuzz_cookie_arbitrary() {
    let values = prop::collection::vec(syntax_bytes(160), 0..3);
    support::run("cookie-arbitrary", 4.0, values, |values| {
        let map = headers(COOKIE, &values);
        match session_id(&map, &Metrics::default()) {
            Ok(Some(id)) => {
                prop_assert!(is_session_id(id));
                let all: Vec<&str> = map.iter().map(|(_, v)| v.to_str().unwrap()).collect();
                prop_assert!(all.iter().any(|v| v.contains(id)));
            }
            Ok(None) => {}
            Err(reason) => prop_assert!(matches!(
                reason,
                AuthReason::Malformed | AuthReason::Duplicate
            )),
        }
        Ok(())
    });
}

/// A `Cookie` header holding other cookies and one well-formed `sid` (quoted or not, spaces
/// around), split over one or two header lines.
fn cookie_with_sid() -> impl Strategy<Value = (Vec<String>, String)> {
    let other = ("[a-rt-z][a-z0-9]{0,8}", "[A-Za-z0-9=_-]{0,12}")
        .prop_map(|(name, value)| format!("{name}={value}"));
    (
        prop::collection::vec(other, 0..6),
        "[A-Za-z0-9_-]{43}",
        any::<bool>(),
        " {0,2}",
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(mut pairs, sid, quoted, pad, at, split)| {
            let value = if quoted {
                format!("\"{sid}\"")
            } else {
                sid.clone()
            };
            pairs.insert(at.index(pairs.len() + 1), format!("{pad}sid={value}{pad}"));
            let cut = split.index(pairs.len() + 1);
            let lines: Vec<String> = [&pairs[..cut], &pairs[cut..]]
                .iter()
                .filter(|part| !part.is_empty())
                .map(|part| part.join("; "))
                .collect();
            (lines, sid)
        })
}

#[test]
fn fuzz_cookie_well_formed() {
    support::run(
        "cookie-well-formed",
        2.0,
        cookie_with_sid(),
        |(lines, sid)| {
            let values: Vec<Vec<u8>> = lines.into_iter().map(String::into_bytes).collect();
            let map = headers(COOKIE, &values);
            prop_assert_eq!(
                session_id(&map, &Metrics::default()),
                Ok(Some(sid.as_str()))
            );
            Ok(())
        },
    );
}
