//! Active health checks: `GET /healthz` on a new connection to every backend, every
//! interval. A backend is taken out after [`FALL`] failed checks in a row (or at once when a
//! request's connect fails, see [`super::proxy`]) and put back after one good check.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

pub use authbench_contract::cluster::health::check_once;

use super::backend::Backend;

/// Failed checks in a row that take a backend out.
pub const FALL: u32 = 2;

/// Starts one checking task per backend; abort the handles to stop them.
pub fn spawn_checks(backends: &[Arc<Backend>], interval: Duration) -> Vec<JoinHandle<()>> {
    backends
        .iter()
        .map(|backend| tokio::spawn(check_loop(Arc::clone(backend), interval)))
        .collect()
}

async fn check_loop(backend: Arc<Backend>, interval: Duration) {
    let timeout = interval.clamp(Duration::from_millis(500), Duration::from_secs(2));
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failures = 0u32;
    loop {
        ticker.tick().await;
        match check_once(backend.addr(), timeout).await {
            Ok(()) => {
                failures = 0;
                if !backend.set_up(true) {
                    tracing::info!(backend = backend.name(), "backend up: health check passed");
                }
            }
            Err(reason) => {
                failures += 1;
                if failures >= FALL && backend.set_up(false) {
                    tracing::warn!(backend = backend.name(), %reason, "backend down: health check failed");
                }
            }
        }
    }
}
