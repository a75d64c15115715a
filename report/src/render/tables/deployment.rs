//! The deployment part: load balancer + long-lived servers vs API gateway + functions under
//! one bursty schedule (claims A1, A2).

use super::Align::{Left, Right};
use super::{Section, Table};
use crate::deployment::DeploymentRun;
use crate::model::SuiteRun;
use crate::render::format as f;

/// What one run was, in a few words: `session · memory, sticky-cookie ×2` or
/// `jwt ES256, ≤6 instances, authorizer cache 1.00 s`.
pub fn describe(d: &DeploymentRun) -> String {
    let c = &d.config;
    // The scheme part only: the cluster is described below in the deployment's own terms.
    let scheme = crate::model::CellConfig {
        replicas: 1,
        balancer: crate::model::Balancer::None,
        policy: crate::model::Policy::None,
        ..c.clone()
    }
    .describe();
    let mut out = match &d.function_settings {
        None => format!("{scheme}, {} ×{}", c.policy, c.replicas),
        Some(fs) => format!(
            "{scheme}, ≤{} instances × {} at a time",
            fs.max_instances, fs.instance_concurrency
        ),
    };
    if let Some(g) = d.gateway_settings.filter(|g| g.authorizer_cache_ttl_ms > 0) {
        out.push_str(&format!(
            ", authorizer cache {}",
            f::seconds(g.authorizer_cache_ttl_ms as f64 / 1000.0)
        ));
    }
    out
}

/// 401s that mean a credential was lost, not never obtained: `missing` follows a login the
/// deployment refused (a 429), and is counted apart.
pub fn lost_credentials(d: &DeploymentRun) -> u64 {
    d.trial
        .unauthorized
        .iter()
        .filter(|(reason, _)| reason.as_str() != "missing")
        .map(|(_, n)| *n)
        .sum()
}

/// The section; `None` for runs without the part (they render as before).
pub fn deployments(run: &SuiteRun) -> Option<Section> {
    let first = run.deployments.first()?;
    let mut s = Section::new(
        "deployments",
        "Deployments: load balancer + servers vs API gateway + functions",
    );
    let schedule = first
        .stages
        .iter()
        .map(|st| format!("{} at {}", f::seconds(st.seconds), f::rps(st.rate)))
        .collect::<Vec<_>>()
        .join(", then ");
    s.intro.push(format!(
        "Each deployment starts cold and takes the same open-loop schedule ({schedule}, \
         {} users): the idle stage outlasts the function pool's idle timeout, so the burst \
         meets stopped instances. Latency is corrected for coordinated omission; exchanges \
         that waited for an instance to start are a class of their own. 401s lost: a \
         credential that stopped working (401s for a missing credential follow a refused \
         login and are counted with the 429s). CPU per request: the replicas or the function \
         instances, and the balancer or gateway apart. One run each: differences between \
         rows are not paired measurements.",
        first.users
    ));
    let mut t = Table::new(&[
        ("deployment", Left),
        ("configuration", Left),
        ("requests", Right),
        ("p50", Right),
        ("p99", Right),
        ("p99.9", Right),
        ("401s lost", Right),
        ("429s", Right),
        ("cold starts", Right),
        ("waited p50 / max", Right),
        ("app CPU/req", Right),
        ("edge CPU/req", Right),
    ]);
    for d in &run.deployments {
        let tr = &d.trial;
        let p = &tr.latency.corrected;
        let cold = d.cold_starts.as_ref();
        t.row(vec![
            d.deployment.label().to_owned(),
            describe(d),
            f::int(tr.requests),
            f::lat(p.p50_us as f64),
            f::lat(p.p99_us as f64),
            f::lat(p.p99_9_us as f64),
            f::int(lost_credentials(d)),
            f::int(tr.status.get("429").copied().unwrap_or(0)),
            d.functions
                .as_ref()
                .map_or("–".to_owned(), |fc| f::int(fc.cold_starts)),
            cold.map_or("–".to_owned(), |c| {
                format!(
                    "{} / {}",
                    f::lat(c.latency.p50_us as f64),
                    f::lat(c.latency.max_us as f64)
                )
            }),
            f::us(tr.cpu.app_us_per_request),
            tr.cpu.balancer_us_per_request.map_or("–".to_owned(), f::us),
        ]);
    }
    Some(s.table(t))
}

/// The key rotation through the gateway; `None` when it did not run.
pub fn rotation(run: &SuiteRun) -> Option<Section> {
    let k = run.key_rotation.as_ref()?;
    let mut s = Section::new("key-rotation", "Key rotation through the gateway");
    s.intro.push(
        "Open-loop load through the gateway while the signing key is rotated (the old key \
         kept for verification, both in the issuer's JWKS) and every replica reloads its keys. \
         The gateway learns a new key when a token names a kid it does not know: it fetches \
         the JWKS again (at most once per refetch interval)."
            .to_owned(),
    );
    let mut t = Table::new(&[
        ("configuration", Left),
        ("requests", Right),
        ("errors", Right),
        ("replicas reloaded", Right),
        ("new-key token issued", Right),
        ("accepted at the edge", Right),
        ("old token after", Left),
        ("JWKS fetches for an unknown kid", Right),
    ]);
    t.row(vec![
        k.config.describe(),
        f::int(k.requests),
        f::int(k.errors),
        f::ms(k.reloaded_ms),
        f::ms(k.new_token_ms),
        k.new_key_accepted_ms
            .map_or("not within 5 s".to_owned(), f::ms),
        if k.old_token_accepted_after {
            "still accepted".to_owned()
        } else {
            "rejected".to_owned()
        },
        f::int(k.unknown_key_fetches),
    ]);
    Some(s.table(t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deployment::{FunctionSettings, GatewaySettings, LoadStage};
    use crate::model::{Auth, Balancer, Store};
    use crate::render::example::example_run;
    use crate::vocabulary::Deployment;

    /// A function deployment of `auth` in `store`, losing `lost` credentials.
    fn functions(run: &SuiteRun, auth: Auth, store: Store, lost: u64) -> DeploymentRun {
        let fault = &run.faults[0];
        let mut trial = fault.trial.clone();
        trial.unauthorized.clear();
        if lost > 0 {
            trial.unauthorized.insert("unknown_session".into(), lost);
        }
        // Refused logins are not lost credentials.
        trial.unauthorized.insert("missing".into(), 5);
        let mut config = fault.config.clone();
        config.auth = auth;
        config.store = store;
        config.balancer = Balancer::Gateway;
        DeploymentRun {
            id: format!("deployment/gateway-functions/{auth}-{store}"),
            deployment: Deployment::GatewayFunctions,
            config,
            gateway_settings: Some(GatewaySettings {
                authorizer_cache_ttl_ms: 0,
                edge_revocation: false,
            }),
            function_settings: Some(FunctionSettings {
                max_instances: 6,
                instance_concurrency: 1,
                idle_timeout_ms: 500,
            }),
            stages: vec![LoadStage {
                seconds: 1.0,
                rate: 200.0,
            }],
            users: 50,
            trial,
            cold_starts: None,
            edge: None,
            functions: None,
        }
    }

    #[test]
    fn the_part_renders_and_decides_a2() {
        let mut run = example_run();
        assert!(deployments(&run).is_none(), "absent part, absent section");
        let lost = run.faults[0].trial.requests / 2;
        run.deployments = vec![
            functions(&run, Auth::Jwt, Store::Memory, 0),
            functions(&run, Auth::Session, Store::Memory, lost),
        ];
        let section = deployments(&run).unwrap();
        let table = section.table.unwrap();
        assert_eq!(table.rows.len(), 2);
        assert_eq!(
            table.rows[0][6], "0",
            "missing credentials are not lost ones"
        );
        let a2 = crate::render::verdict::verdicts(&run)
            .into_iter()
            .find(|v| v.claim == "A2")
            .unwrap();
        assert_eq!(a2.outcome, crate::render::verdict::Outcome::Supported);
        assert!(
            a2.evidence.starts_with("gateway + functions"),
            "{}",
            a2.evidence
        );
        // Sessions in Redis survive too: it depends on the store.
        run.deployments
            .push(functions(&run, Auth::Session, Store::Redis, 0));
        let a2 = crate::render::verdict::verdicts(&run)
            .into_iter()
            .find(|v| v.claim == "A2")
            .unwrap();
        assert!(matches!(
            a2.outcome,
            crate::render::verdict::Outcome::Depends(_)
        ));

        // Long-lived servers with sticky in-process sessions decide A1.
        let mut lb = functions(&run, Auth::Session, Store::Memory, lost);
        lb.deployment = Deployment::LbServers;
        lb.config.balancer = Balancer::Builtin;
        lb.config.policy = crate::model::Policy::StickyCookie;
        lb.function_settings = None;
        lb.gateway_settings = None;
        run.deployments.push(lb);
        let a1 = crate::render::verdict::verdicts(&run)
            .into_iter()
            .find(|v| v.claim == "A1")
            .unwrap();
        assert_eq!(
            a1.outcome,
            crate::render::verdict::Outcome::Refuted,
            "{}",
            a1.evidence
        );
        assert!(
            a1.evidence.contains("under the bursty load"),
            "{}",
            a1.evidence
        );
    }
}
