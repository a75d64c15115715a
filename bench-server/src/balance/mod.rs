//! The built-in load balancer (`bench-server balance`, also started by `bench-server
//! cluster`): HTTP/1 keep-alive to clients, pooled keep-alive connections to backends,
//! bodies streamed both ways, no authentication logic of its own — unless started in gateway
//! mode (`--gateway jwt`, [`crate::gateway`]), where bearer tokens are verified before a
//! backend is chosen.
//!
//! * [`policy`] — round-robin, least-conn, sticky-cookie, hash-session;
//! * [`cookie`] — the sticky `SERVERID` cookie and the `sid` cookie the hash reads;
//! * [`backend`] — one backend: address, health, in-flight count, counters;
//! * `hash` — FNV-1a, the stable hash of session keys and backend names;
//! * [`pool`] — idle connections to a backend, and connecting;
//! * [`proxy`] — forwarding a request, with the connect-retry rule;
//! * [`body`] — streamed response bodies that give the connection back when done;
//! * [`health`] — active `GET /healthz` checks;
//! * [`admin`] — Prometheus metrics on the admin port;
//! * [`server`] — the listening lines; [`command`] — `bench-server balance` (connections
//!   are accepted by the hardened loop of [`crate::conn`]);
//! * [`error`] — configuration and upstream errors.

pub mod admin;
pub mod backend;
pub mod body;
pub mod command;
pub mod cookie;
pub mod error;
mod hash;
pub mod health;
pub mod policy;
pub mod pool;
pub mod proxy;
pub mod server;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::conn::{ConnLimits, Hardening};

pub use backend::BackendSpec;
pub use error::BalanceError;
pub use policy::Policy;
pub use proxy::Balancer;

/// Default interval of the active health checks.
pub const DEFAULT_HEALTH_INTERVAL: Duration = Duration::from_secs(1);

/// A validated balancer configuration.
#[derive(Debug, Clone)]
pub struct BalanceConfig {
    /// Backends, in order (unnamed ones become `b0`, `b1`, …).
    pub backends: Vec<BackendSpec>,
    /// How to pick one.
    pub policy: Policy,
    /// How often every backend's `/healthz` is checked.
    pub health_interval: Duration,
}

impl BalanceConfig {
    /// The routing state this configuration describes.
    pub fn build(&self) -> Result<Arc<Balancer>, BalanceError> {
        self.build_with(None)
    }

    /// The routing state, in gateway mode when `gateway` is given.
    pub fn build_with(
        &self,
        gateway: Option<Arc<crate::gateway::Gateway>>,
    ) -> Result<Arc<Balancer>, BalanceError> {
        self.build_hardened(gateway, ConnLimits::default())
    }

    /// The routing state, with client connection limits `conn`.
    pub fn build_hardened(
        &self,
        gateway: Option<Arc<crate::gateway::Gateway>>,
        conn: ConnLimits,
    ) -> Result<Arc<Balancer>, BalanceError> {
        if let Err(bad) = conn.check() {
            return Err(BalanceError::BadFlag {
                flag: bad.flag,
                value: bad.value,
                reason: bad.reason.into(),
            });
        }
        if self.health_interval.is_zero() {
            return Err(BalanceError::BadFlag {
                flag: "--health-interval",
                value: format!("{:?}", self.health_interval),
                reason: "must be more than zero".into(),
            });
        }
        let backends = backend::build_backends(self.backends.clone())?;
        Ok(Arc::new(
            Balancer::new(backends, self.policy)
                .with_gateway(gateway)
                .with_conn(conn),
        ))
    }
}

/// Runs `balancer` on `listener` (and its metrics on `admin`, if given), with health checks
/// every `health_interval`, until `shutdown` completes; then drains open requests.
pub async fn run(
    listener: TcpListener,
    admin: Option<TcpListener>,
    balancer: Arc<Balancer>,
    health_interval: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let checks = health::spawn_checks(balancer.backends(), health_interval);
    let (stop_admin, admin_stopped) = tokio::sync::oneshot::channel::<()>();
    let admin_task = admin.map(|admin| {
        let balancer = Arc::clone(&balancer);
        // The admin port has limits of its own, so that clients at the proxy's limit never
        // lock the metrics out.
        let hardening = Hardening::new(balancer.conn().limits, 2);
        tokio::spawn(crate::conn::serve(
            admin,
            hardening,
            move |req| admin::handle(Arc::clone(&balancer), req),
            async move {
                let _ = admin_stopped.await;
            },
        ))
    });
    let proxy = Arc::clone(&balancer);
    crate::conn::serve(
        listener,
        balancer.conn().clone(),
        move |req| Arc::clone(&proxy).handle(req),
        shutdown,
    )
    .await;
    for check in checks {
        check.abort();
    }
    let _ = stop_admin.send(());
    if let Some(task) = admin_task {
        let _ = task.await;
    }
}
