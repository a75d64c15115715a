//! Starting the balancer in front of running replicas: the built-in one as a `bench-server
//! balance` child (plain, or in gateway mode), HAProxy or nginx from the system, or none.
//!
//! In gateway mode the balancer fetches keys from the first backend's
//! `/.well-known/jwks.json` and checks tokens with the replicas' issuer, audience, leeway
//! and crypto backend; with `--revocation denylist|token-version` it checks revocation in
//! the replicas' Redis (the replicas, trusting it, no longer do), and it signs identities
//! with the cluster's `gateway.secret`.

use std::net::SocketAddr;
use std::path::Path;

use tokio::process::Command;

use super::child::{free_port, ChildProcess};
use super::error::ClusterError;
use super::spec::{self, BalancerKind, ClusterSpec};
use super::{haproxy, nginx};
use crate::keys::GATEWAY_SECRET_FILE;
use crate::serve::Revocation;

/// A running balancer.
#[derive(Debug)]
pub struct RunningBalancer {
    /// Its kind.
    pub kind: BalancerKind,
    /// Its entry URL.
    pub url: String,
    /// The built-in balancer's admin URL (`/metrics`).
    pub admin_url: Option<String>,
    /// The process.
    pub process: ChildProcess,
}

/// Starts the balancer of `spec` in front of `backends` (`(name, address)`); `issuer` is
/// the replica whose JWKS the gateway fetches, `dir` the cluster's working directory,
/// `replica_args` the replicas' `serve` flags. `None` for [`BalancerKind::None`].
pub async fn start(
    spec: &ClusterSpec,
    backends: &[(String, SocketAddr)],
    issuer: Option<SocketAddr>,
    dir: &Path,
    replica_args: &[String],
) -> Result<Option<RunningBalancer>, ClusterError> {
    let fixed_listen = || -> Result<SocketAddr, ClusterError> {
        if spec.listen.port() != 0 {
            return Ok(spec.listen);
        }
        Ok(SocketAddr::new(spec.listen.ip(), free_port()?))
    };
    let running = match spec.balancer {
        BalancerKind::None => return Ok(None),
        BalancerKind::Builtin | BalancerKind::Gateway => {
            let mut command = Command::new(&spec.binary);
            command
                .arg("balance")
                .args(["--listen", &spec.listen.to_string()])
                .args(["--admin-listen", "127.0.0.1:0"])
                .args(["--policy", spec.policy.as_str()])
                .args([
                    "--health-interval",
                    &format!("{}ms", spec.health_interval.as_millis()),
                ]);
            if let Some(threads) = spec.balancer_threads {
                command.args(["--worker-threads", &threads.to_string()]);
            }
            for (id, addr) in backends {
                command.args(["--backend", &format!("{id}=http://{addr}")]);
            }
            if spec.balancer == BalancerKind::Gateway {
                command.args(gateway_args(spec, issuer, dir, replica_args)?);
            }
            let name = format!("balancer {}", spec.balancer);
            let mut process = ChildProcess::spawn(&name, command, spec.child_logs)?;
            let url = process
                .read_url("listening on", spec.startup_timeout)
                .await?;
            let admin_url = process.read_url("admin on", spec.startup_timeout).await?;
            RunningBalancer {
                kind: spec.balancer,
                url,
                admin_url: Some(admin_url),
                process,
            }
        }
        BalancerKind::Haproxy => {
            let listen = fixed_listen()?;
            let threads = spec.balancer_threads.unwrap_or(1);
            let process = haproxy::start(
                dir,
                listen,
                backends,
                spec.policy,
                threads,
                spec.health_interval,
                spec.child_logs,
            )?;
            RunningBalancer {
                kind: BalancerKind::Haproxy,
                url: format!("http://{listen}"),
                admin_url: None,
                process,
            }
        }
        BalancerKind::Nginx => {
            let listen = fixed_listen()?;
            let process = nginx::start(
                &dir.join("nginx"),
                listen,
                backends,
                spec.policy,
                spec.child_logs,
            )?;
            RunningBalancer {
                kind: BalancerKind::Nginx,
                url: format!("http://{listen}"),
                admin_url: None,
                process,
            }
        }
    };
    Ok(Some(running))
}

/// The `balance` flags of the gateway mode, matched to the replicas' flags.
fn gateway_args(
    spec: &ClusterSpec,
    issuer: Option<SocketAddr>,
    dir: &Path,
    replica_args: &[String],
) -> Result<Vec<String>, ClusterError> {
    let serve = spec::parse_serve_args(replica_args)?;
    let issuer = issuer.ok_or_else(|| {
        ClusterError::bad_flag(
            "--replicas",
            0,
            "the gateway needs a replica to fetch keys from",
        )
    })?;
    let mut args: Vec<String> = vec![
        "--gateway".into(),
        "jwt".into(),
        "--jwks-url".into(),
        format!("http://{issuer}/.well-known/jwks.json"),
        "--identity-secret-file".into(),
        dir.join(GATEWAY_SECRET_FILE).display().to_string(),
        "--jwt-issuer".into(),
        serve.jwt_issuer.clone(),
        "--jwt-audience".into(),
        serve.jwt_audience.clone(),
        "--jwt-leeway".into(),
        format!("{}ms", serve.jwt_leeway.0.as_millis()),
        "--crypto-backend".into(),
        serve.crypto_backend.to_string(),
        "--authorizer-cache-ttl".into(),
        format!("{}ms", spec.authorizer_cache_ttl.as_millis()),
    ];
    let edge_revocation = match serve.revocation {
        Revocation::Denylist => Some("denylist"),
        Revocation::TokenVersion => Some("token-version"),
        Revocation::None | Revocation::Refresh => None,
    };
    if let (Some(kind), Some(url)) = (edge_revocation, &serve.redis_url) {
        args.extend([
            "--gateway-revocation".into(),
            kind.into(),
            "--redis-url".into(),
            url.clone(),
            "--redis-namespace".into(),
            serve.redis_namespace.clone(),
            "--store-timeout".into(),
            format!("{}ms", serve.store_timeout.0.as_millis()),
        ]);
    }
    Ok(args)
}
