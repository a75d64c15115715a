//! The balancer's cookies (`balance/cookie.rs`: finding, stripping, the sticky `SERVERID`) and
//! the policies' choice of a backend (`balance/policy.rs`: rendezvous hashing of `sid`).

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use bench_server::balance::backend::Backend;
use bench_server::balance::cookie::{find, sticky_set_cookie, strip, STICKY_COOKIE};
use bench_server::balance::policy::Picker;
use bench_server::balance::BackendSpec;
use hyper::header::{HeaderMap, HeaderValue, COOKIE};
use proptest::prelude::*;

use super::mutate::syntax_bytes;
use super::support;

fn cookie_headers(values: &[Vec<u8>]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for v in values {
        if let Ok(value) = HeaderValue::from_bytes(v) {
            map.append(COOKIE, value);
        }
    }
    map
}

/// Cookie header lines: arbitrary bytes, or `name=value` pairs with names the balancer reads.
fn cookie_lines() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let name = prop_oneof![
        prop::sample::select(vec!["sid", "SERVERID", "serverid", "a", " sid", "sid "])
            .prop_map(str::to_owned),
        "[ -:<-~]{0,6}",
    ];
    let pair =
        (name, "[ -:<-~]{0,10}", any::<bool>())
            .prop_map(|(n, v, eq)| if eq { format!("{n}={v}") } else { n });
    let line = prop_oneof![
        prop::collection::vec(pair, 0..5).prop_map(|pairs| pairs.join(";").into_bytes()),
        syntax_bytes(80),
    ];
    prop::collection::vec(line, 0..4)
}

#[test]
fn fuzz_cookie_find_strip() {
    let names = prop::sample::select(vec!["sid", "SERVERID", "a", "", "x=y"]);
    let others = prop::collection::vec("[a-zA-Z]{1,3}|sid|SERVERID", 0..4);
    support::run(
        "cookie-find-strip",
        4.0,
        (cookie_lines(), names, others),
        |(lines, name, others)| {
            let mut map = cookie_headers(&lines);
            let before: Vec<Option<String>> = others
                .iter()
                .map(|n| find(&map, n).map(str::to_owned))
                .collect();
            let present = find(&map, name).is_some();
            if let Some(value) = find(&map, name) {
                let pair = format!("{name}={value}");
                prop_assert!(map
                    .iter()
                    .any(|(_, v)| v.to_str().is_ok_and(|v| v.contains(&pair))));
            }
            strip(&mut map, name);
            prop_assert_eq!(find(&map, name), None);
            if present {
                // A header left empty by the strip is dropped.
                prop_assert!(map.get_all(COOKIE).iter().all(|v| !v.is_empty()));
            }
            // Every other cookie is still there, with its value.
            for (other, was) in others.iter().zip(before) {
                if other != name {
                    prop_assert_eq!(find(&map, other).map(str::to_owned), was, "{}", other);
                }
            }
            Ok(())
        },
    );
}

#[test]
fn fuzz_sticky_cookie() {
    let backend = prop_oneof!["[A-Za-z0-9_-]{1,24}", any::<String>()];
    support::run(
        "sticky-cookie",
        4.0,
        (backend, cookie_lines()),
        |(backend, lines)| {
            let Some(set) = sticky_set_cookie(&backend) else {
                // Only names a header cannot carry are refused.
                prop_assert!(HeaderValue::from_str(&backend).is_err() || backend.contains(';'));
                return Ok(());
            };
            let set = String::from_utf8_lossy(set.as_bytes()).into_owned();
            prop_assert!(set.starts_with("SERVERID=") && set.ends_with("; Path=/"));
            let valid = backend
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !valid {
                return Ok(());
            }
            // The client sends the pin back first, among whatever else it has.
            let cookie = set.split(';').next().unwrap().to_owned();
            let mut all = vec![cookie.into_bytes()];
            all.extend(lines);
            let mut map = cookie_headers(&all);
            prop_assert_eq!(find(&map, STICKY_COOKIE), Some(backend.as_str()));
            strip(&mut map, STICKY_COOKIE);
            prop_assert_eq!(find(&map, STICKY_COOKIE), None);
            Ok(())
        },
    );
}

fn backends(names: &[String], up: &[bool]) -> Vec<Arc<Backend>> {
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let port = 1000 + u16::try_from(i).unwrap();
            let backend = Backend::new(BackendSpec {
                name: Some(name.clone()),
                addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            });
            backend.set_up(up[i]);
            Arc::new(backend)
        })
        .collect()
}

#[test]
fn fuzz_hash_policy() {
    let strategy = prop::collection::btree_set("[a-z0-9_-]{1,8}", 1..8).prop_flat_map(|names| {
        let n = names.len();
        (
            Just(names.into_iter().collect::<Vec<_>>()),
            prop::collection::vec(any::<bool>(), n),
            any::<String>(),
            prop::option::of(0..n),
        )
    });
    support::run("hash-policy", 2.0, strategy, |(names, up, key, except)| {
        let all_up = backends(&names, &vec![true; names.len()]);
        let some_up = backends(&names, &up);
        let eligible = |i: usize| up[i] && Some(i) != except;
        let any_eligible = (0..names.len()).any(eligible);
        let picker = Picker::default();
        let pick = picker.hash(&some_up, &key, except);
        prop_assert_eq!(pick.is_some(), any_eligible);
        if let Some(i) = pick {
            prop_assert!(eligible(i));
        }
        // Stable: another picker (another process) picks the same.
        prop_assert_eq!(Picker::default().hash(&some_up, &key, except), pick);
        let home = picker.hash_home(&all_up, &key);
        prop_assert!(home < names.len());
        prop_assert_eq!(picker.hash(&all_up, &key, None), Some(home));
        // Rendezvous: a key whose home is still eligible stays there.
        if eligible(home) {
            prop_assert_eq!(pick, Some(home));
        }
        for choice in [
            picker.round_robin(&some_up, except),
            picker.least_conn(&some_up, except),
        ] {
            prop_assert_eq!(choice.is_some(), any_eligible);
            prop_assert!(choice.is_none_or(eligible));
        }
        Ok(())
    });
}
