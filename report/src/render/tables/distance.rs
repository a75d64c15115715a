//! The network distance sections: what each configuration adds at each network profile, the
//! session − JWT differences there, and the round trips measured through the links. Present
//! only when the equal-rate cells ran at some profile other than loopback.

use super::{Left, Right, Section, Table};
use crate::model::{Auth, SuiteRun};
use crate::render::distance::{self, Series};
use crate::render::format as f;
use crate::render::latency::AddedLatency;
use crate::render::stats;

fn interval(a: Option<&AddedLatency>, f: impl Fn(&AddedLatency) -> String) -> String {
    a.map_or("–".to_owned(), f)
}

/// `session · redis: +295 µs at loopback → +845 µs at same-zone`.
fn p99_moves(s: &Series<'_>) -> String {
    let steps: Vec<String> = s
        .points
        .iter()
        .map(|p| {
            let v = p
                .added
                .as_ref()
                .map_or("–".to_owned(), |a| f::lat_signed(a.p99.estimate));
            format!("{v} at {}", p.network.profile)
        })
        .collect();
    format!("{}: {}", s.name, steps.join(" → "))
}

/// What each configuration measured at two or more profiles adds there, vs store RTT.
fn added_by_profile(series: &[Series<'_>]) -> Section {
    let mut s = Section::new("distance", "Network distance: latency added per profile");
    s.intro.push(
        "The equal-rate configurations measured at more than one network profile. A profile \
         puts a link — a process that holds every byte for a fixed one-way delay — on each hop \
         it delays: load generator → entry, balancer → replica, replica → Redis. Each profile has its own no-auth \
         baseline, which crossed the same client link, so +p50 / +p99 over it hold what the \
         scheme adds at that distance: for a session in Redis, its store round trips; for a \
         JWT, its verification. Store RTT: the round trip the profile's store link adds as \
         configured (twice its one-way delay); the links' measured round trips are below. \
         Intervals: 95 %, from paired trials."
            .to_owned(),
    );
    s.intro.push(format!(
        "How p99 moves with distance (added over each profile's own baseline): {}.",
        series.iter().map(p99_moves).collect::<Vec<_>>().join("; ")
    ));
    let mut t = Table::new(&[
        ("configuration", Left),
        ("network", Left),
        ("store RTT", Right),
        ("p50", Right),
        ("p99", Right),
        ("+p50", Right),
        ("+p99", Right),
        ("paired trials", Right),
    ]);
    for series in series {
        for p in &series.points {
            let a = p.added.as_ref();
            t.row(vec![
                series.name.clone(),
                p.network.describe(),
                distance::rtt(&p.network),
                f::lat(p.stats.p50_us),
                f::lat(p.stats.p99_us),
                interval(a, |a| f::interval_lat(&a.p50)),
                interval(a, |a| f::interval_lat(&a.p99)),
                a.map_or("–".to_owned(), |a| a.trials.to_string()),
            ]);
        }
    }
    s.table(t)
}

/// Session − JWT at each profile, for the sessions and JWTs measured at two or more.
fn session_minus_jwt(run: &SuiteRun, series: &[Series<'_>]) -> Section {
    let mut s = Section::new("distance-pairs", "Session − JWT by network profile");
    let intro = "A session lookup against a JWT verification at the same distance, on their own \
         per-trial differences (the baseline cancels): what X2 reads, profile by profile. The \
         verdict is decided by the farthest profile with a resolved finding (docs/claims.md)."
        .to_owned();
    let mut t = Table::new(&[
        ("network", Left),
        ("store RTT", Right),
        ("session", Left),
        ("JWT", Left),
        ("p50 difference", Right),
        ("p99 difference", Right),
        ("paired trials", Right),
    ]);
    let of = |auth: Auth| series.iter().filter(move |s| s.config.auth == auth);
    for n in distance::networks(run) {
        for sess in of(Auth::Session) {
            for jwt in of(Auth::Jwt) {
                let at = |s: &Series<'_>| {
                    s.points
                        .iter()
                        .find(|p| stats::same_network(&p.network, &n))
                        .and_then(|p| p.added.clone())
                };
                let Some(d) = at(sess).zip(at(jwt)).and_then(|(a, b)| a.minus(&b)) else {
                    continue;
                };
                t.row(vec![
                    n.describe(),
                    distance::rtt(&n),
                    sess.name.clone(),
                    jwt.name.clone(),
                    f::interval_lat(&d.p50),
                    f::interval_lat(&d.p99),
                    d.trials.to_string(),
                ]);
            }
        }
    }
    if t.rows.is_empty() {
        s.missing = Some(
            "No session and JWT configuration were both measured at more than one network \
             profile."
                .to_owned(),
        );
        return s;
    }
    s.intro.push(intro);
    s.table(t)
}

/// The round trips measured through each hop's link when the cells started.
fn hop_round_trips(run: &SuiteRun) -> Section {
    let mut s = Section::new("distance-hops", "Round trips through the links");
    let hops = distance::hops(run);
    if hops.is_empty() {
        s.missing = Some(
            "The cells recorded no round trips through their links (runs made before they \
             were recorded)."
                .to_owned(),
        );
        return s;
    }
    s.intro.push(
        "Measured when each cell started, sequentially (`GET /healthz` for the HTTP hops, \
         `PING` for the store), median over the cells of the profile: through the link and \
         straight to the same upstream; the difference is what the link added, ideally twice \
         its one-way delay."
            .to_owned(),
    );
    let mut t = Table::new(&[
        ("network", Left),
        ("hop", Left),
        ("one-way delay", Right),
        ("expected", Right),
        ("through link", Right),
        ("direct", Right),
        ("added", Right),
        ("cells", Right),
    ]);
    for h in &hops {
        t.row(vec![
            h.network.describe(),
            match h.hop {
                crate::model::Hop::Client => "client → entry".to_owned(),
                crate::model::Hop::Balancer => "balancer → replica".to_owned(),
                crate::model::Hop::Store => "replica → store".to_owned(),
            },
            f::lat(h.delay_us as f64),
            f::lat(2.0 * h.delay_us as f64),
            f::lat(h.rtt_us),
            f::lat(h.direct_rtt_us),
            f::lat_signed(h.added_us),
            h.records.to_string(),
        ]);
    }
    s.table(t)
}

/// The network distance sections; none when the run measured loopback only.
pub fn distance(run: &SuiteRun) -> Vec<Section> {
    if !distance::has_distance(run) {
        return Vec::new();
    }
    let series = distance::series(run);
    let mut out = Vec::new();
    if series.is_empty() {
        let mut s = Section::new("distance", "Network distance: latency added per profile");
        s.missing =
            Some("No configuration was measured at more than one network profile.".to_owned());
        out.push(s);
    } else {
        out.push(added_by_profile(&series));
        out.push(session_minus_jwt(run, &series));
    }
    out.push(hop_round_trips(run));
    out
}

/// For the projection: what the store's round trips add per request to each Redis-backed
/// configuration, profile by profile (measured at equal rate); `None` without other profiles.
pub fn store_round_trips(run: &SuiteRun) -> Option<String> {
    let lines: Vec<String> = distance::series(run)
        .iter()
        .filter(|s| stats::uses_redis(&s.config))
        .map(|s| {
            let steps: Vec<String> = s
                .points
                .iter()
                .filter_map(|p| {
                    let a = p.added.as_ref()?;
                    Some(format!(
                        "p50 {} at {}",
                        f::lat_signed(a.p50.estimate),
                        distance::label(&p.network)
                    ))
                })
                .collect();
            format!("{} adds {}", s.name, steps.join(", "))
        })
        .collect();
    (!lines.is_empty()).then(|| {
        format!(
            "The projection counts CPU, not distance: a request that touches the store also \
             waits for its round trips, which cost the store no CPU but the client time. \
             Measured at equal rate over each profile's own baseline, {}.",
            lines.join("; ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::distance::tests::{loopback_example, with_same_zone};

    #[test]
    fn sections_appear_only_with_other_profiles() {
        assert!(distance(&loopback_example()).is_empty());
        assert_eq!(store_round_trips(&loopback_example()), None);
        let run = with_same_zone(500, 550);
        let ids: Vec<&str> = distance(&run).iter().map(|s| s.id).collect();
        assert_eq!(ids, ["distance", "distance-pairs", "distance-hops"]);
        let text = store_round_trips(&run).unwrap();
        assert!(
            text.contains(
                "session · redis adds p50 +127 µs at loopback, p50 +677 µs at same-zone (store RTT 0.5 ms)"
            ),
            "{text}"
        );
    }

    #[test]
    fn rows_pair_each_profile_with_its_own_baseline() {
        let run = with_same_zone(500, 550);
        let sections = distance(&run);
        let added = sections[0].table.as_ref().unwrap();
        let rows: Vec<(&str, &str, &str)> = added
            .rows
            .iter()
            .map(|r| (r[0].as_str(), r[1].as_str(), r[5].as_str()))
            .collect();
        assert_eq!(
            rows,
            [
                ("session · redis", "loopback", "+127 µs [124, 131]"),
                ("session · redis", "same-zone", "+677 µs [674, 681]"),
                ("jwt HS256", "loopback", "+22 µs [22, 22]"),
                ("jwt HS256", "same-zone", "+22 µs [22, 22]"),
            ]
        );
        assert!(
            sections[0].intro[1]
                .contains("session · redis: +295 µs at loopback → +845 µs at same-zone"),
            "{}",
            sections[0].intro[1]
        );
        let pairs = sections[1].table.as_ref().unwrap();
        assert_eq!(pairs.rows.len(), 2);
        assert_eq!(pairs.rows[1][0], "same-zone");
        // The equal-rate table groups by profile, each row over its own profile's baseline.
        let eq = super::super::equal_rate(&run);
        let t = eq.table.unwrap();
        assert_eq!(t.headers[1], "network");
        let zone: Vec<_> = t
            .rows
            .iter()
            .filter(|r| r[1].starts_with("same-zone"))
            .map(|r| (r[0].as_str(), r[6].as_str()))
            .collect();
        assert_eq!(
            zone,
            [
                ("no auth (/healthz)", "–"),
                ("session · redis", "+677 µs [674, 681]"),
                ("jwt HS256", "+22 µs [22, 22]")
            ]
        );
        assert!(t.rows[..t.rows.len() - 3]
            .iter()
            .all(|r| r[1] == "loopback"));
    }
}
