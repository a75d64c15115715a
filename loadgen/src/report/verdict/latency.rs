//! Latency family: S3, X2.

use super::*;
use crate::report::cost::Resolved;

/// Where the projected shared store saturates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saturation {
    /// At this many replicas (within [`PROJECTION_HORIZON`]).
    Within(usize),
    /// Not within the horizon.
    Beyond,
    /// The store's capacity was not measured.
    Unknown,
}

/// S3: a shared store's cost and limit. Supported when Redis sessions' added CPU resolved as
/// more than in-process ones' (the cost part) *and* the store saturates within the projection
/// horizon; refuted when neither; depends otherwise. An unknown capacity decides on cost
/// alone.
pub fn s3_rule(redis_vs_memory: Resolved, saturation: Saturation) -> Outcome {
    let costlier = redis_vs_memory == Resolved::More;
    match (costlier, saturation) {
        (true, Saturation::Within(_) | Saturation::Unknown) => Outcome::Supported,
        (false, Saturation::Beyond | Saturation::Unknown) => Outcome::Refuted,
        (true, Saturation::Beyond) => Outcome::Depends(format!(
            "on scale: the shared store costs more per request but would carry more than {PROJECTION_HORIZON} replicas"
        )),
        (false, Saturation::Within(n)) => Outcome::Depends(format!(
            "on scale: the shared store costs no more per request but would saturate at {n} replicas"
        )),
    }
}

pub(super) fn s3(run: &SuiteRun) -> (Outcome, String) {
    let mem = eq_rate(run, pick::session(Store::Memory));
    let redis = eq_rate(run, pick::session(Store::Redis));
    let mem_cost = cost_of(run, pick::session(Store::Memory));
    let redis_cost = cost_of(run, pick::session(Store::Redis));
    let (Some(mem), Some(redis), Some(mem_cost), Some(redis_cost)) =
        (mem, redis, mem_cost, redis_cost)
    else {
        if run.cost.is_empty() {
            return super::cost::no_cost_part(run);
        }
        return (
            not_measured(run, "Redis sessions", &["redis"]),
            String::new(),
        );
    };
    let (diff, costlier) = crate::report::cost::compare(&redis_cost, &mem_cost);
    let proj = projection::projections(run)
        .into_iter()
        .find(|p| p.name == "session · redis");
    let saturation = match proj.as_ref().and_then(|p| p.saturates_at) {
        Some(n) if n <= PROJECTION_HORIZON => Saturation::Within(n),
        Some(_) => Saturation::Beyond,
        None => Saturation::Unknown,
    };
    let outcome = s3_rule(costlier, saturation);
    let mut ev = format!(
        "Redis over in-process sessions: added CPU {} vs {}, difference {} ({}); p50 {} vs {} ({}), p99 {} vs {}",
        f::interval_us(&redis_cost.total),
        f::interval_us(&mem_cost.total),
        f::interval_us(&diff),
        super::cost::resolved(costlier),
        f::lat(redis.p50_us),
        f::lat(mem.p50_us),
        f::lat_signed(redis.p50_us - mem.p50_us),
        f::lat(redis.p99_us),
        f::lat(mem.p99_us),
    );
    match (&proj, saturation) {
        (Some(p), Saturation::Within(n)) => {
            let _ = write!(
                ev,
                "; projection: the store ({}) saturates at {n} replicas, {}",
                match &p.limit {
                    projection::StoreLimit::Measured { .. } => "measured capacity",
                    _ => "one Redis core",
                },
                f::rps(p.store_rps.unwrap_or(f64::NAN))
            );
        }
        (Some(_), Saturation::Beyond) => {
            let _ = write!(
                ev,
                "; projection: the store lasts beyond {PROJECTION_HORIZON} replicas"
            );
        }
        _ => {
            let _ = write!(ev, "; the store's capacity was not measured");
        }
    }
    let series = stats::scaling_series(run, pick::session(Store::Redis));
    if let Some(last) = series.last().filter(|p| p.replicas > 1) {
        let _ = write!(
            ev,
            "; measured on {} shared cores: {} replicas {} (efficiency {})",
            run.env.cores,
            last.replicas,
            f::rps(last.stats.throughput_rps),
            last.efficiency.map_or("–".to_owned(), f::ratio)
        );
    }
    (outcome, ev)
}

/// X2: the largest difference between a session and a JWT configuration. Supported when the
/// p50 difference reaches [`TENS_OF_MS_US`]; refuted when p50 differs by less than
/// [`SUB_MS_US`] and p99 by less than [`TENS_OF_MS_US`]; depends otherwise.
pub fn x2_rule(max_p50_diff_us: f64, max_p99_diff_us: f64) -> Outcome {
    if max_p50_diff_us >= TENS_OF_MS_US {
        Outcome::Supported
    } else if max_p50_diff_us < SUB_MS_US && max_p99_diff_us < TENS_OF_MS_US {
        Outcome::Refuted
    } else if max_p99_diff_us >= TENS_OF_MS_US {
        Outcome::Depends(format!(
            "on the percentile: tens of ms only at p99 ({}), p50 differs by {}",
            f::lat(max_p99_diff_us),
            f::lat(max_p50_diff_us)
        ))
    } else {
        Outcome::Depends(format!(
            "on the configuration: up to {} at p50, short of tens of ms",
            f::lat(max_p50_diff_us)
        ))
    }
}

pub(super) fn x2(run: &SuiteRun) -> (Outcome, String) {
    let sess = sessions(run);
    let algs = jwts(run);
    if sess.is_empty() || algs.is_empty() {
        return no_equal_rate_cells(run);
    }
    let mut p50: f64 = 0.0;
    let mut p99: f64 = 0.0;
    for (_, s) in &sess {
        for (_, j) in &algs {
            p50 = p50.max((s.p50_us - j.p50_us).abs());
            p99 = p99.max((s.p99_us - j.p99_us).abs());
        }
    }
    let outcome = x2_rule(p50, p99);
    let mut ev = format!(
        "largest session–JWT difference: p50 {}, p99 {}",
        f::lat(p50),
        f::lat(p99)
    );
    if let Some(base) = stats::baseline(run) {
        let rate = base
            .offered_rps
            .map_or(String::new(), |r| format!(" at {}", f::rps(r)));
        let _ = write!(
            ev,
            "; added over no-auth{rate} (p50 {}, p99 {}):",
            f::lat(base.p50_us),
            f::lat(base.p99_us)
        );
        let added: Vec<String> = sess
            .iter()
            .map(|(n, s)| (n.to_string(), s))
            .chain(algs.iter().map(|(a, s)| (format!("JWT {a}"), s)))
            .map(|(n, s)| {
                let (a50, a99) = added_latency(s, &base);
                format!(" {n} {}/{}", f::lat_signed(a50), f::lat_signed(a99))
            })
            .collect();
        ev.push_str(&added.join(","));
    }
    (outcome, ev)
}
