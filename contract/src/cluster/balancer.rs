//! Starting the balancer in front of running replicas: the built-in one as a `bench-server
//! balance` child, HAProxy or nginx from the system, or none.

use std::net::SocketAddr;
use std::path::Path;

use tokio::process::Command;

use super::child::{free_port, ChildProcess};
use super::error::ClusterError;
use super::spec::{BalancerKind, ClusterSpec};
use super::{haproxy, nginx};

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

/// Starts the balancer of `spec` in front of `backends` (`(replica id, address)`); `dir` is
/// the cluster's working directory. `None` for [`BalancerKind::None`].
pub async fn start(
    spec: &ClusterSpec,
    backends: &[(String, SocketAddr)],
    dir: &Path,
) -> Result<Option<RunningBalancer>, ClusterError> {
    let fixed_listen = || -> Result<SocketAddr, ClusterError> {
        if spec.listen.port() != 0 {
            return Ok(spec.listen);
        }
        Ok(SocketAddr::new(spec.listen.ip(), free_port()?))
    };
    let running = match spec.balancer {
        BalancerKind::None => return Ok(None),
        BalancerKind::Builtin => {
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
            let mut process = ChildProcess::spawn("balancer builtin", command, spec.child_logs)?;
            let url = process
                .read_url("listening on", spec.startup_timeout)
                .await?;
            let admin_url = process.read_url("admin on", spec.startup_timeout).await?;
            RunningBalancer {
                kind: BalancerKind::Builtin,
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
