//! Cost family: S1, J1, X1.

use super::*;

/// S1: sessions vs the cheapest stateless JWT. Supported when every session store costs
/// more; refuted when none does; depends on the store otherwise.
pub fn s1_rule(sessions: &[(&str, f64)], cheapest_jwt: f64) -> Option<Outcome> {
    let items: Vec<(String, bool)> = sessions
        .iter()
        .map(|(n, c)| ((*n).to_owned(), compare(*c, cheapest_jwt) == Cmp::More))
        .collect();
    Some(match split(&items)? {
        Split::All => Outcome::Supported,
        Split::None => Outcome::Refuted,
        Split::Some(more, not) => Outcome::Depends(format!(
            "on the store: {} cost more CPU per request than a stateless JWT, {} do not",
            list(&more),
            list(&not)
        )),
    })
}

pub(super) fn s1(run: &SuiteRun) -> (Outcome, String) {
    let sess = sessions(run);
    let jwt = jwts(run)
        .into_iter()
        .min_by(|a, b| a.1.total_us.total_cmp(&b.1.total_us));
    let (Some((alg, jwt)), false) = (jwt, sess.is_empty()) else {
        return no_equal_rate_cells(run);
    };
    let pairs: Vec<(&str, f64)> = sess.iter().map(|(n, s)| (*n, s.total_us)).collect();
    let outcome = s1_rule(&pairs, jwt.total_us).unwrap_or(Outcome::Supported);
    let mut ev = format!("CPU per request (app + store): JWT {alg} {}", cost(&jwt));
    for (n, s) in &sess {
        let _ = write!(
            ev,
            "; {n} {} ({})",
            cost(s),
            f::rel(stats::relative(s.total_us, jwt.total_us).unwrap_or(f64::NAN))
        );
    }
    if sess.len() < 2 {
        let _ = write!(ev, "; Redis sessions not measured");
    }
    let mem: Vec<String> = run
        .state_cost
        .iter()
        .filter(|c| c.kind == "session")
        .map(|c| format!("{} per session in {}", f::bytes(c.bytes_per_entry), c.store))
        .collect();
    if !mem.is_empty() {
        let _ = write!(ev, ". State: {} (a stateless JWT: 0 B)", mem.join(", "));
    }
    (outcome, ev)
}

/// J1: each algorithm vs the session lookups. Supported when every algorithm costs no more
/// than the cheapest lookup; refuted when every one costs more than the dearest lookup;
/// depends on the algorithm otherwise.
pub fn j1_rule(algs: &[(&str, f64)], lookups: &[f64]) -> Option<Outcome> {
    if algs.is_empty() || lookups.is_empty() {
        return None;
    }
    let cheapest = lookups.iter().copied().fold(f64::INFINITY, f64::min);
    let dearest = lookups.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let cheap: Vec<(String, bool)> = algs
        .iter()
        .map(|(a, c)| ((*a).to_owned(), compare(*c, cheapest) != Cmp::More))
        .collect();
    let dear: Vec<(String, bool)> = algs
        .iter()
        .map(|(a, c)| ((*a).to_owned(), compare(*c, dearest) == Cmp::More))
        .collect();
    if split(&cheap)? == Split::All {
        return Some(Outcome::Supported);
    }
    if split(&dear)? == Split::All {
        return Some(Outcome::Refuted);
    }
    let cheap_algs: Vec<String> = cheap.iter().filter(|x| x.1).map(|x| x.0.clone()).collect();
    let dear_algs: Vec<String> = dear.iter().filter(|x| x.1).map(|x| x.0.clone()).collect();
    let middle: Vec<String> = algs
        .iter()
        .map(|a| a.0.to_owned())
        .filter(|a| !cheap_algs.contains(a) && !dear_algs.contains(a))
        .collect();
    let mut parts = Vec::new();
    if !cheap_algs.is_empty() {
        parts.push(format!(
            "{} cost no more than an in-process lookup",
            list(&cheap_algs)
        ));
    }
    if !middle.is_empty() {
        parts.push(format!("{} between the lookups", list(&middle)));
    }
    if !dear_algs.is_empty() {
        parts.push(format!(
            "{} more than {}",
            list(&dear_algs),
            if lookups.len() > 1 {
                "a Redis lookup"
            } else {
                "the lookup"
            }
        ));
    }
    Some(Outcome::Depends(format!(
        "on the algorithm: {}",
        parts.join("; ")
    )))
}

pub(super) fn j1(run: &SuiteRun) -> (Outcome, String) {
    let algs = jwts(run);
    let sess = sessions(run);
    let pairs: Vec<(&str, f64)> = algs.iter().map(|(a, s)| (a.as_str(), s.total_us)).collect();
    let lookups: Vec<f64> = sess.iter().map(|s| s.1.total_us).collect();
    let Some(outcome) = j1_rule(&pairs, &lookups) else {
        return (
            not_measured(
                run,
                "Equal-rate JWT and session cells",
                &["equal-rate", "jwt", "session"],
            ),
            String::new(),
        );
    };
    let mut ev = String::from("CPU per request: ");
    let mut parts: Vec<String> = algs
        .iter()
        .map(|(a, s)| format!("{a} {}", cost(s)))
        .collect();
    if let Some(rc) = eq_rate(run, |c| {
        c.auth == Auth::Jwt
            && c.alg.as_deref() == Some("ES256")
            && c.crypto_backend.as_deref() == Some("rust-crypto")
            && c.extra_claim_bytes == 0
    }) {
        parts.push(format!("ES256 with rust-crypto {}", cost(&rc)));
    }
    for (n, s) in &sess {
        parts.push(format!("{n} {}", cost(s)));
    }
    ev.push_str(&parts.join(", "));
    if let Some(base) = stats::baseline(run) {
        let _ = write!(ev, " (no-auth baseline {})", f::us(base.total_us));
    }
    if sess.len() < 2 {
        let _ = write!(
            ev,
            "; {} not measured",
            if sess.iter().any(|s| s.0 == "Redis sessions") {
                "in-process sessions"
            } else {
                "a Redis lookup"
            }
        );
    }
    (outcome, ev)
}

/// X1: JWT + deny-list vs a session lookup in the same store. Supported when in no store the
/// deny-listed JWT is more than 10 % cheaper; refuted when it is in every store; depends on
/// the store otherwise.
pub fn x1_rule(pairs: &[(&str, f64, f64)]) -> Option<Outcome> {
    let items: Vec<(String, bool)> = pairs
        .iter()
        .map(|(store, denylist, session)| {
            (
                (*store).to_owned(),
                compare(*denylist, *session) == Cmp::Less,
            )
        })
        .collect();
    Some(match split(&items)? {
        Split::None => Outcome::Supported,
        Split::All => Outcome::Refuted,
        Split::Some(kept, lost) => Outcome::Depends(format!(
            "on the store: a deny-listed JWT stays cheaper than a session in {}, not in {}",
            list(&kept),
            list(&lost)
        )),
    })
}

pub(super) fn x1(run: &SuiteRun) -> (Outcome, String) {
    let mut pairs = Vec::new();
    let mut ev = Vec::new();
    for (name, store) in [("memory", Store::Memory), ("Redis", Store::Redis)] {
        let d = eq_rate(run, pick::jwt_revoking("HS256", "denylist", store));
        let s = eq_rate(run, pick::session(store));
        if let (Some(d), Some(s)) = (d, s) {
            ev.push(format!(
                "{name}: JWT HS256 + deny-list {} CPU, p50 {} vs session {} CPU, p50 {}",
                cost(&d),
                f::lat(d.p50_us),
                cost(&s),
                f::lat(s.p50_us)
            ));
            pairs.push((name, d.total_us, s.total_us));
        }
    }
    let Some(outcome) = x1_rule(&pairs) else {
        return (
            not_measured(
                run,
                "JWT deny-list cells",
                &["denylist", "deny-list", "redis"],
            ),
            String::new(),
        );
    };
    if let Some(t) = eq_rate(
        run,
        pick::jwt_revoking("HS256", "token-version", Store::Redis),
    ) {
        ev.push(format!("token versions in Redis {}", cost(&t)));
    }
    if let Some(j) = eq_rate(run, pick::jwt("HS256")) {
        ev.push(format!("stateless HS256 {}", cost(&j)));
    }
    let denylist_state: Vec<String> = run
        .state_cost
        .iter()
        .filter(|c| c.kind == "denylist")
        .map(|c| {
            format!(
                "{} per revoked token in {}",
                f::bytes(c.bytes_per_entry),
                c.store
            )
        })
        .collect();
    if !denylist_state.is_empty() {
        ev.push(format!("state: {}", denylist_state.join(", ")));
    }
    (outcome, ev.join("; "))
}
