//! `[[deployments]]`: the two deployments the advice names (claims A1 and A2), each under
//! the same bursty open-loop schedule.
//!
//! ```toml
//! [[deployments]]
//! deployment = "lb-servers"          # long-lived replicas behind the built-in balancer
//! auth = "session"
//! store = ["memory", "redis"]
//! replicas = 2
//! policy = "sticky-cookie"
//!
//! [[deployments]]
//! deployment = "gateway-functions"   # JWTs verified at the edge, functions started on demand
//! auth = ["jwt", "session"]
//! store = "redis"
//! alg = "ES256"
//! max_instances = 6
//! idle_timeout = 0.5                 # seconds; the idle stage must outlast it
//! authorizer_cache_ttl = [0, 1]      # seconds; 0 = every request verified at the edge
//! ```
//!
//! `stages` (default [`DEFAULT_STAGES`]) is loadgen's `--stages`: warm, idle, burst. Every
//! deployment runs it from a cold start, with no warm-up: what the first and the bursty
//! requests cost is the point.

use super::*;
use crate::plan::parse_stages;
use authbench_report::deployment::{FunctionSettings, GatewaySettings, LoadStage};
use authbench_report::vocabulary::Deployment;

/// Warm for a second, idle past the idle timeout so instances stop, then a burst.
pub const DEFAULT_STAGES: &str = "1s:200,1.5s:0,2s:600";

/// Instances a function deployment may run at once unless the entry says otherwise.
pub const DEFAULT_MAX_INSTANCES: usize = 6;

/// One entry of `[[deployments]]`.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct DeploymentEntry {
    /// `lb-servers` or `gateway-functions`.
    pub deployment: String,
    /// `session`, `jwt` (one or a list).
    pub auth: Option<OneOrMany<Auth>>,
    /// `memory`, `redis`.
    pub store: Option<OneOrMany<Store>>,
    /// JWT algorithm (the gateway needs a public key: not HS256).
    pub alg: Option<OneOrMany<String>>,
    /// JWT revocation strategy at the replicas.
    pub revocation: Option<OneOrMany<String>>,
    /// `lb-servers`: replica count.
    pub replicas: Option<usize>,
    /// `lb-servers`: balancer policy.
    pub policy: Option<OneOrMany<String>>,
    /// `gateway-functions`: most instances at once (default [`DEFAULT_MAX_INSTANCES`]).
    pub max_instances: Option<usize>,
    /// `gateway-functions`: requests per instance at once (default 1).
    pub instance_concurrency: Option<usize>,
    /// `gateway-functions`: seconds idle before an instance stops (default 0.5).
    pub idle_timeout: Option<f64>,
    /// `gateway-functions`: seconds the edge caches an authorizer decision (0 = off).
    pub authorizer_cache_ttl: Option<OneOrMany<f64>>,
    /// `gateway-functions`: whether the edge checks the revocation store too.
    pub edge_revocation: Option<bool>,
    /// loadgen `--stages` (default [`DEFAULT_STAGES`]).
    pub stages: Option<String>,
    /// Virtual users.
    pub users: Option<usize>,
}

/// One deployment to run.
#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentPlan {
    /// `deployment/{deployment}/{slug}`.
    pub id: String,
    /// Which deployment.
    pub deployment: Deployment,
    /// Scheme, store, balancer.
    pub config: CellConfig,
    /// Gateway settings (gateway deployments).
    pub gateway: Option<GatewaySettings>,
    /// Pool settings (function deployments).
    pub functions: Option<FunctionSettings>,
    /// The schedule.
    pub stages: Vec<LoadStage>,
    /// Virtual users.
    pub users: usize,
}

/// Expands `[[deployments]]`.
pub(super) fn expand(
    entries: &[DeploymentEntry],
    ids: &mut BTreeSet<String>,
    profiles: &BTreeMap<NetworkProfile, Network>,
) -> anyhow::Result<Vec<DeploymentPlan>> {
    let mut out = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let section = format!("deployments[{i}]");
        let deployment = one_of(
            &format!("{section}.deployment"),
            &entry.deployment,
            Deployment::ALL,
        )?;
        let text = entry.stages.as_deref().unwrap_or(DEFAULT_STAGES);
        let parsed = parse_stages(text).map_err(|e| anyhow!("{section}.stages = {text:?}: {e}"))?;
        if parsed.iter().any(|s| s.ramp) {
            bail!("{section}.stages = {text:?}: ramps (`~`) are not supported here");
        }
        let stages: Vec<LoadStage> = parsed
            .iter()
            .map(|s| LoadStage {
                seconds: s.length.as_secs_f64(),
                rate: s.rate,
            })
            .collect();
        let users = entry.users.unwrap_or(50);
        if users == 0 {
            bail!("{section}.users must be at least 1");
        }
        let lb = deployment == Deployment::LbServers;
        let only = |present: bool, key: &str, of: &str| -> anyhow::Result<()> {
            if present {
                bail!("{section}.{key} applies to {of} only");
            }
            Ok(())
        };
        if lb {
            for (present, key) in [
                (entry.max_instances.is_some(), "max_instances"),
                (entry.instance_concurrency.is_some(), "instance_concurrency"),
                (entry.idle_timeout.is_some(), "idle_timeout"),
                (entry.authorizer_cache_ttl.is_some(), "authorizer_cache_ttl"),
                (entry.edge_revocation.is_some(), "edge_revocation"),
            ] {
                only(present, key, "deployment = \"gateway-functions\"")?;
            }
        } else {
            only(
                entry.replicas.is_some(),
                "replicas",
                "deployment = \"lb-servers\"",
            )?;
            only(
                entry.policy.is_some(),
                "policy",
                "deployment = \"lb-servers\"",
            )?;
        }
        let axes = Entry {
            auth: entry.auth.clone(),
            store: entry.store.clone(),
            // The gateway needs a published key: ES256 unless told otherwise.
            alg: match (&entry.alg, lb) {
                (None, false) => Some(OneOrMany::One(Alg::Es256.to_string())),
                (given, _) => given.clone(),
            },
            revocation: entry.revocation.clone(),
            replicas: Some(OneOrMany::One(if lb {
                entry.replicas.unwrap_or(2)
            } else {
                entry.max_instances.unwrap_or(DEFAULT_MAX_INSTANCES)
            })),
            balancer: Some(OneOrMany::One(
                if lb {
                    Balancer::Builtin
                } else {
                    Balancer::Gateway
                }
                .to_string(),
            )),
            policy: if lb { entry.policy.clone() } else { None },
            ..Entry::default()
        };
        let functions = if lb {
            None
        } else {
            let idle = secs(
                &format!("{section}.idle_timeout"),
                entry.idle_timeout.unwrap_or(0.5),
            )?;
            let concurrency = entry.instance_concurrency.unwrap_or(1);
            if concurrency == 0 {
                bail!("{section}.instance_concurrency must be at least 1");
            }
            Some(FunctionSettings {
                max_instances: entry.max_instances.unwrap_or(DEFAULT_MAX_INSTANCES),
                instance_concurrency: concurrency,
                idle_timeout_ms: idle.as_millis() as u64,
            })
        };
        let ttls = OneOrMany::values(&entry.authorizer_cache_ttl, 0.0);
        for config in configs(&axes, &section, profiles)? {
            if config.auth == Auth::None {
                bail!("{section}: auth = \"none\" is not a deployment of either scheme");
            }
            let gateways: Vec<Option<GatewaySettings>> = if lb {
                vec![None]
            } else if config.auth == Auth::Session {
                // The edge has no token to verify or cache for a session.
                vec![Some(GatewaySettings {
                    authorizer_cache_ttl_ms: 0,
                    edge_revocation: false,
                })]
            } else {
                let mut settings = Vec::new();
                for &ttl in &ttls {
                    if !(ttl.is_finite() && (0.0..=3600.0).contains(&ttl)) {
                        bail!("{section}.authorizer_cache_ttl = {ttl} must be 0–3600 seconds");
                    }
                    let s = GatewaySettings {
                        authorizer_cache_ttl_ms: (ttl * 1000.0).round() as u64,
                        edge_revocation: entry.edge_revocation.unwrap_or(false),
                    };
                    if !settings.contains(&Some(s)) {
                        settings.push(Some(s));
                    }
                }
                settings
            };
            for gateway in gateways {
                let slug = config.slug();
                let scheme = slug.split('/').next().unwrap_or(&slug);
                let mut id = match functions {
                    None => format!(
                        "deployment/{deployment}/{scheme}/r{}-{}",
                        config.replicas, config.policy
                    ),
                    Some(f) => format!(
                        "deployment/{deployment}/{scheme}/f{}c{}",
                        f.max_instances, f.instance_concurrency
                    ),
                };
                if let Some(g) = gateway.filter(|g| g.authorizer_cache_ttl_ms > 0) {
                    id.push_str(&format!("-authz{}ms", g.authorizer_cache_ttl_ms));
                }
                if !ids.insert(id.clone()) {
                    bail!("{section}: {id} appears twice");
                }
                out.push(DeploymentPlan {
                    id,
                    deployment,
                    config: config.clone(),
                    gateway,
                    functions,
                    stages: stages.clone(),
                    users,
                });
            }
        }
    }
    Ok(out)
}

/// `[rotation]`: a signing key rotated under load through the gateway.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct RotationEntry {
    /// JWT algorithm (not HS256: the gateway needs a published key; default ES256).
    pub alg: Option<String>,
    /// Open-loop rate (default 300).
    pub rate: Option<f64>,
    /// Length of the run, seconds (default 3).
    pub seconds: Option<f64>,
    /// When the key is rotated, seconds into the run (default 1).
    pub rotate_at: Option<f64>,
    /// Virtual users (default 20).
    pub users: Option<usize>,
}

/// The rotation part, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct RotationPlan {
    /// Two replicas behind the gateway.
    pub config: CellConfig,
    /// Open-loop rate.
    pub rate: f64,
    /// Run length.
    pub seconds: Duration,
    /// When the key is rotated.
    pub rotate_at: Duration,
    /// Virtual users.
    pub users: usize,
}

/// Expands `[rotation]`.
pub(super) fn rotation(entry: &RotationEntry) -> anyhow::Result<RotationPlan> {
    let alg = match &entry.alg {
        Some(a) => one_of("rotation.alg", a, Alg::ALL)?,
        None => Alg::Es256,
    };
    if alg == Alg::Hs256 {
        bail!("rotation.alg = \"HS256\": the gateway verifies with published keys (use ES256, RS256 or EdDSA)");
    }
    let rate = entry.rate.unwrap_or(300.0);
    if !(rate.is_finite() && rate > 0.0) {
        bail!("rotation.rate = {rate} must be positive");
    }
    let seconds = secs("rotation.seconds", entry.seconds.unwrap_or(3.0))?;
    let rotate_at = secs("rotation.rotate_at", entry.rotate_at.unwrap_or(1.0))?;
    if rotate_at >= seconds {
        bail!(
            "rotation.rotate_at = {} must fall inside the run ({} s)",
            rotate_at.as_secs_f64(),
            seconds.as_secs_f64()
        );
    }
    let users = entry.users.unwrap_or(20);
    if users == 0 {
        bail!("rotation.users must be at least 1");
    }
    Ok(RotationPlan {
        config: CellConfig {
            auth: Auth::Jwt,
            store: Store::Memory,
            alg: Some(alg),
            revocation: Some(Revocation::None),
            crypto_backend: Some(CryptoBackend::AwsLc),
            extra_claim_bytes: 0,
            replicas: 2,
            balancer: Balancer::Gateway,
            policy: Policy::RoundRobin,
            network: Network::default(),
        },
        rate,
        seconds,
        rotate_at,
        users,
    })
}
