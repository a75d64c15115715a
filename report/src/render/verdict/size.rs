//! Size family: J6.

use super::*;

/// J6: Refuted when JWT requests are no more than 10 % bigger than session requests for any
/// algorithm; depends on the algorithm when only some are; otherwise supported when
/// throughput falls more than 10 % at the largest claim payload (or was not measured), and
/// depends on the payload when it does not (the fall itself is in the evidence).
pub fn j6_rule(bigger_by: &[(&str, f64)], throughput_drop: Option<f64>) -> Option<Outcome> {
    let items: Vec<(String, bool)> = bigger_by
        .iter()
        .map(|(a, rel)| ((*a).to_owned(), *rel > SAME_WITHIN))
        .collect();
    Some(match split(&items)? {
        Split::None => Outcome::Refuted,
        Split::Some(big, same) => Outcome::Depends(format!(
            "on the algorithm: {} requests are bigger, {} are not",
            list(&big),
            list(&same)
        )),
        Split::All => match throughput_drop {
            Some(d) if d <= SAME_WITHIN => Outcome::Depends(
                "on the payload: every request is bigger, yet throughput held up at the largest claims measured"
                    .to_owned(),
            ),
            _ => Outcome::Supported,
        },
    })
}

/// Extra claim bytes at which an HS256 token stops fitting a 4 KiB cookie: the first measured
/// size that does not fit, else a linear extrapolation from the measured sizes.
pub fn cookie_limit_claims(run: &SuiteRun) -> Option<(usize, bool)> {
    let mut hs: Vec<(usize, u64)> = run
        .token_sizes
        .iter()
        .filter(|t| t.auth == Auth::Jwt && t.alg == Some(Alg::Hs256))
        .map(|t| (t.extra_claim_bytes, t.credential_bytes))
        .collect();
    hs.sort();
    let limit = COOKIE_LIMIT_BYTES.saturating_sub(4);
    if let Some(w) = hs.windows(2).find(|w| w[0].1 <= limit && w[1].1 > limit) {
        let ((x0, y0), (x1, y1)) = (w[0], w[1]);
        let slope = (y1 as f64 - y0 as f64) / (x1 as f64 - x0 as f64);
        let x = x0 as f64 + (limit as f64 - y0 as f64) / slope;
        return Some((x.floor() as usize, true));
    }
    let (&(x0, y0), &(x1, y1)) = (hs.first()?, hs.last()?);
    if x1 == x0 || y1 <= y0 {
        return None;
    }
    let slope = (y1 as f64 - y0 as f64) / (x1 as f64 - x0 as f64);
    let x = x0 as f64 + (limit as f64 - y0 as f64) / slope;
    Some((x.max(0.0).floor() as usize, false))
}

pub(super) fn j6(run: &SuiteRun) -> (Outcome, String) {
    let session = eq_rate(run, pick::session(Store::Memory))
        .or_else(|| eq_rate(run, pick::session(Store::Redis)));
    let algs = jwts(run);
    let mut ev = Vec::new();
    let mut bigger: Vec<(String, f64)> = Vec::new();
    if let (Some(s), false) = (&session, algs.is_empty()) {
        for (a, j) in &algs {
            bigger.push((
                a.clone(),
                stats::relative(j.bytes_sent, s.bytes_sent).unwrap_or(0.0),
            ));
        }
        ev.push(format!(
            "request bytes: session {}, {}",
            f::bytes(s.bytes_sent),
            algs.iter()
                .map(|(a, j)| format!("{a} {}", f::bytes(j.bytes_sent)))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    } else {
        // Fall back to the credential header sizes.
        let ses = run.token_sizes.iter().find(|t| t.auth == Auth::Session);
        if let Some(s) = ses {
            for t in run
                .token_sizes
                .iter()
                .filter(|t| t.auth == Auth::Jwt && t.extra_claim_bytes == 0)
            {
                let a = t.alg.map(|a| a.to_string()).unwrap_or_default();
                bigger.push((
                    a,
                    stats::relative(t.header_bytes as f64, s.header_bytes as f64).unwrap_or(0.0),
                ));
            }
            ev.push(format!(
                "credential header bytes: session {}, {}",
                s.header_bytes,
                run.token_sizes
                    .iter()
                    .filter(|t| t.auth == Auth::Jwt && t.extra_claim_bytes == 0)
                    .map(|t| format!("{} {}", t.alg.map_or("?", Alg::as_str), t.header_bytes))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    let mut claims: Vec<(usize, CellStats)> = stats::cells(run, CLAIMS)
        .filter_map(|c| CellStats::of(c).map(|s| (c.config.extra_claim_bytes, s)))
        .collect();
    claims.sort_by_key(|c| c.0);
    let drop = match (claims.first(), claims.last()) {
        (Some((x0, s0)), Some((x1, s1))) if x1 > x0 && s0.throughput_rps > 0.0 => {
            let d = (s0.throughput_rps - s1.throughput_rps) / s0.throughput_rps;
            ev.push(format!(
                "throughput with +{} B of claims: {} vs {} ({})",
                f::int(*x1 as u64),
                f::rps(s1.throughput_rps),
                f::rps(s0.throughput_rps),
                f::rel(-d)
            ));
            Some(d)
        }
        _ => None,
    };
    let pairs: Vec<(&str, f64)> = bigger.iter().map(|(a, r)| (a.as_str(), *r)).collect();
    let Some(outcome) = j6_rule(&pairs, drop) else {
        return (
            not_measured(
                run,
                "Request sizes of sessions and JWTs",
                &["equal-rate", "token"],
            ),
            String::new(),
        );
    };
    if let Some((x, measured)) = cookie_limit_claims(run) {
        ev.push(format!(
            "an HS256 token outgrows a 4 KiB cookie at about +{} B of claims{}",
            f::int(x as u64),
            if measured { "" } else { " (extrapolated)" }
        ));
    }
    (outcome, ev.join("; "))
}
