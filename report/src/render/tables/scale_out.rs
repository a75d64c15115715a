//! The scale-out projection: computed from per-request costs, not measured.

use super::*;

/// The scale-out projection: costs and throughput per N.
pub fn projection(run: &SuiteRun) -> Vec<Section> {
    let projections = projection::projections(run);
    let mut costs = Section::new(
        "projection",
        "Scale-out projection (computed, not measured)",
    );
    if projections.is_empty() {
        return vec![costs.missing(
            run,
            "The equal-rate cells the projection needs were",
            &["equal-rate"],
        )];
    }
    costs.intro.push(
        "A projection from the per-request costs measured above, not a measurement: N replicas \
         on N cores serve at most N · 10⁶ / (app + balancer CPU-µs per request, as measured on \
         a busy replica in the closed-loop one-replica cell when the run has one); requests that \
         touch the shared store are also capped by the store's capacity (its measured \
         operations per second ÷ operations per request, or one Redis core at the measured \
         store CPU per request when capacity was not measured). Network, kernel and \
         loadgen costs are left out, so real clusters land lower."
            .to_owned(),
    );
    if !projections.iter().any(|p| p.costs.store_ops > 0.0) {
        if let Some(why) =
            verdict::not_measured(run, "The shared-store configurations were", &["redis"]).detail()
        {
            costs.intro.push(format!(
                "{why}; only stateless configurations are projected."
            ));
        }
    }
    if let Some(text) = store_round_trips(run) {
        costs.intro.push(text);
    }
    if let Some(cap) = &run.store_capacity {
        costs.intro.push(format!(
            "Store capacity measured: {} ({}).",
            f::rps(cap.ops_per_second).replace("/s", " operations/s"),
            cap.method
        ));
    }
    let mut t = Table::new(&[
        ("configuration", Left),
        ("CPU app", Right),
        ("CPU balancer", Right),
        ("per core", Right),
        ("store ops/req", Right),
        ("store limit", Right),
        ("store saturates at", Right),
    ]);
    for p in &projections {
        t.row(vec![
            p.name.clone(),
            f::us(p.costs.app_us),
            if p.costs.balancer_measured {
                f::us(p.costs.balancer_us)
            } else {
                "not measured".to_owned()
            },
            f::rps(p.per_core_rps),
            if p.costs.store_ops > 0.0 {
                format!("{:.1}", p.costs.store_ops)
            } else {
                "0".to_owned()
            },
            match (&p.limit, p.store_rps) {
                (StoreLimit::None, _) => "none".to_owned(),
                (StoreLimit::Measured { .. }, Some(r)) => format!("{} (measured)", f::rps(r)),
                (StoreLimit::FromCpu, Some(r)) => format!("{} (1 Redis core)", f::rps(r)),
                _ => "unknown".to_owned(),
            },
            match p.saturates_at {
                Some(n) => format!("{n} replicas"),
                None if matches!(p.limit, StoreLimit::None) => "never".to_owned(),
                None => "unknown".to_owned(),
            },
        ]);
    }
    costs = costs.table(t);
    let mut points = Section::new(
        "projection-points",
        "Projected throughput, N replicas on N cores",
    );
    let mut headers: Vec<(&str, Align)> = vec![("replicas", Right)];
    let names: Vec<String> = projections.iter().map(|p| p.name.clone()).collect();
    for n in &names {
        headers.push((n.as_str(), Right));
    }
    let mut t = Table::new(&headers);
    for (i, &n) in projection::PROJECTED_REPLICAS.iter().enumerate() {
        let mut row = vec![n.to_string()];
        for p in &projections {
            let (_, rps, bound) = p.points[i];
            row.push(if bound {
                format!("{} (store-bound)", f::rps(rps))
            } else {
                f::rps(rps)
            });
        }
        t.row(row);
    }
    points = points.table(t);
    vec![costs, points]
}
