//! # bench-server
//!
//! One HTTP service that authenticates API requests two ways, side by side, so that their
//! costs can be measured under identical conditions:
//!
//! * **session ID** — `POST /session/login` checks the password (argon2id), stores a session
//!   under a random 256-bit ID and returns it in an `HttpOnly; SameSite=Lax` cookie; every
//!   request looks the ID up; logout and admin force-logout delete it;
//! * **JWT** — `POST /jwt/login` returns a signed token (HS256, RS256, ES256 or EdDSA); every
//!   request verifies signature and claims; logout revokes only if a revocation strategy
//!   (`denylist`, `token-version`) is configured.
//!
//! Sessions and revocation state live in process or in Redis. `/metrics` exposes what the
//! load generator needs to compute CPU per request and bytes per session.
//!
//! ## Layout
//!
//! * [`cli`] — flags (`serve`, `keys`, `balance`, `cluster`, `link`, `functions`) and the entry
//!   point the binary calls;
//! * [`config`] — the validated replica configuration;
//! * [`conn`] — the hardened accept loop every server here runs: timeouts, connection and
//!   head limits;
//! * [`state`] — shared state built from the configuration;
//! * [`app`] — the router; [`edge`] — its one middleware; [`routes`] — handlers;
//! * [`auth`] and [`credentials`] — authenticating a request under each scheme;
//! * [`cpu_burn`] — `--inject-cpu-us`, a known slowdown of every credential check that the
//!   CI regression gate is tested with;
//! * [`jwt`] — algorithms, keys, JWKS, issuing and verifying tokens;
//! * [`key_reload`] — re-reading `--key-dir` after a rotation, on `SIGHUP` or
//!   `POST /admin/keys/reload`;
//! * [`store`] — `SessionStore` / `RevocationStore`, in-process and Redis;
//! * [`users`] — seeded users and argon2id password checks;
//! * [`metrics`] and [`process_stats`] — Prometheus counters, CPU and RSS;
//! * [`error`] — error responses and the reasons credentials are rejected;
//! * [`balance`] — the built-in load balancer (`bench-server balance`): policies, pooled
//!   keep-alive proxying, health checks, its own metrics;
//! * [`gateway`] — the balancer's API-gateway mode (`balance --gateway jwt`): bearer tokens
//!   verified at the edge with the issuer's published keys, the verified identity forwarded
//!   to backends that trust it (`serve --trust-gateway`);
//! * [`cluster`] — `bench-server cluster`: N replica processes, optional Redis and a balancer
//!   as children that die with the cluster;
//! * [`link`] — `bench-server link`: a TCP hop with a one-way delay, jitter, bandwidth and
//!   fault toxics, put between tiers to give them a network distance;
//! * [`functions`] — `bench-server functions`: function replicas, `serve` instances started
//!   on demand (cold starts measured), throttled at a maximum, stopped when idle.
//!
//! What the load generator shares with the server without linking it — the `serve` flags,
//! the key-directory format, balancing policies and the cluster launcher — is the
//! `authbench-contract` crate; this crate re-exports it where its modules used to be.

pub mod app;
pub mod auth;
pub mod balance;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod conn;
pub mod cpu_burn;
pub mod credentials;
pub mod edge;
pub mod error;
pub mod functions;
pub mod gateway;
pub mod json_body;
pub mod jwt;
pub mod key_reload;
pub mod link;
pub mod metrics;
pub mod process_stats;
pub mod routes;
pub mod state;
pub mod store;
pub mod users;

use std::future::Future;

use tokio::net::TcpListener;
use tower::ServiceExt as _;

pub use app::app;
pub use config::ServerConfig;
pub use state::AppState;

/// Serves `state` on `listener` until `shutdown` completes, then drains open requests.
/// Connections go through the hardened accept loop ([`conn`]) with the state's limits.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let hardening = state.conn.clone();
    let router = app(state);
    conn::serve(
        listener,
        hardening,
        move |req: hyper::Request<hyper::body::Incoming>| {
            let router = router.clone();
            async move {
                match router.oneshot(req).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                }
            }
        },
        shutdown,
    )
    .await;
    Ok(())
}

pub use authbench_contract::shutdown_signal;
