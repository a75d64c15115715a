//! Gateway fixtures: the built-in balancer in gateway mode, a fake issuer serving a key set
//! it can change and counting fetches, trust-mode replicas, and tokens made to order.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use bench_server::balance::Policy;
use bench_server::config::ServerConfig;
use bench_server::gateway::{Gateway, GatewayConfig};
use bench_server::jwt::keys::{random_token, write_secret_file};
use bench_server::jwt::{JwtAlg, JwtConfig, JwtService, KeySet};
use serde_json::{json, Value};

use super::balancer::TestBalancer;

/// Health checks rare enough to stay out of the way.
pub const SLOW_CHECKS: Duration = Duration::from_secs(60);

/// A fresh identity secret in `dir`.
pub fn secret_file(dir: &Path) -> PathBuf {
    write_secret_file(dir, "gateway.secret", &random_token(32), false).unwrap()
}

/// `config` trusting a gateway that signs with `secret`.
pub fn trusting(config: ServerConfig, secret: &Path) -> ServerConfig {
    ServerConfig {
        trust_gateway: true,
        identity_secret_file: Some(secret.to_owned()),
        ..config
    }
}

/// An ES256 replica with its JWT deny-list in `redis`, trusting a gateway that signs with
/// `secret`: what the edge-revocation tests put behind the gateway.
pub async fn trusting_denylist_replica(
    redis: &super::RedisServer,
    secret: &Path,
) -> super::TestServer {
    use bench_server::config::Revocation;
    let config = super::jwt_config(JwtAlg::Es256, Revocation::Denylist);
    super::TestServer::start(trusting(super::with_redis(config, redis), secret)).await
}

/// Gateway defaults around a key-set URL, signing identities with `secret`.
pub fn gateway_config(jwks_url: &str, secret: Option<&Path>) -> GatewayConfig {
    GatewayConfig {
        identity_secret_file: secret.map(Path::to_owned),
        ..GatewayConfig::new(jwks_url.parse().unwrap())
    }
}

/// The balancer in gateway mode in front of `backends` (`NAME=http://ADDR`).
pub async fn start_gateway(config: GatewayConfig, backends: &[String]) -> TestBalancer {
    start_gateway_checked(config, backends, SLOW_CHECKS).await
}

/// The same with a health-check interval.
pub async fn start_gateway_checked(
    config: GatewayConfig,
    backends: &[String],
    health_interval: Duration,
) -> TestBalancer {
    let gateway = Gateway::start(config).await.unwrap();
    TestBalancer::start_with_gateway(backends, Policy::RoundRobin, health_interval, Some(gateway))
        .await
}

/// The gateway of a balancer started by [`start_gateway`].
pub fn gateway(lb: &TestBalancer) -> &Arc<Gateway> {
    lb.balancer.gateway().expect("gateway mode")
}

/// Polls until `done` holds (bounded: 15 s).
pub async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within 15 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `GET url` with extra headers: status, `error` code (or `user` on success) and headers.
pub async fn call(
    client: &reqwest::Client,
    url: &str,
    headers: &[(&str, String)],
) -> (u16, String, reqwest::header::HeaderMap) {
    let mut request = client.get(url);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let (status, headers, body) = super::split(request.send().await.unwrap()).await;
    let code = body["error"]
        .as_str()
        .or_else(|| body["user"].as_str())
        .unwrap_or_default()
        .to_owned();
    (status, code, headers)
}

/// `Authorization: Bearer <token>`.
pub fn bearer(token: &str) -> Vec<(&'static str, String)> {
    vec![("authorization", format!("Bearer {token}"))]
}

/// A signing key outside any replica, with its key-set document.
pub struct Issuer {
    pub service: JwtService,
    pub jwks: String,
}

impl Issuer {
    pub fn new(alg: JwtAlg) -> Issuer {
        let keys = KeySet::ephemeral(alg).unwrap();
        let jwks = keys.jwks().to_string();
        Issuer {
            service: JwtService::new(keys, JwtConfig::default()).unwrap(),
            jwks,
        }
    }

    /// A valid token for `user`.
    pub fn token(&self, user: &str) -> String {
        let now = jsonwebtoken::get_current_timestamp();
        self.service.issue(user, &[], None, now).unwrap().token
    }

    pub fn kid(&self) -> &str {
        self.service.keys().kid()
    }
}

/// Claims a replica accepts.
pub fn valid_claims() -> Value {
    let now = jsonwebtoken::get_current_timestamp();
    json!({"sub": "user1", "roles": ["user"], "iat": now, "exp": now + 600,
           "iss": "authbench", "aud": "authbench-api"})
}

/// `token` with its header's `kid` replaced (the signature no longer matches, but a verifier
/// looks the key up first).
pub fn with_kid(token: &str, kid: &str) -> String {
    let (header, rest) = token.split_once('.').unwrap();
    let mut header: Value = serde_json::from_slice(&B64.decode(header).unwrap()).unwrap();
    header["kid"] = json!(kid);
    format!("{}.{rest}", B64.encode(header.to_string()))
}

/// A key-set server whose answer can be changed; counts requests.
pub struct FakeIssuer {
    pub addr: SocketAddr,
    fetches: Arc<AtomicUsize>,
    document: Arc<Mutex<(u16, String)>>,
    task: tokio::task::JoinHandle<()>,
}

type IssuerState = (Arc<AtomicUsize>, Arc<Mutex<(u16, String)>>);

async fn serve_document(State((fetches, document)): State<IssuerState>) -> (StatusCode, String) {
    fetches.fetch_add(1, Ordering::SeqCst);
    let (status, body) = document.lock().unwrap().clone();
    (StatusCode::from_u16(status).unwrap(), body)
}

impl FakeIssuer {
    pub async fn start(body: &str) -> FakeIssuer {
        FakeIssuer::start_on("127.0.0.1:0".parse().unwrap(), body).await
    }

    pub async fn start_on(addr: SocketAddr, body: &str) -> FakeIssuer {
        let fetches = Arc::new(AtomicUsize::new(0));
        let document = Arc::new(Mutex::new((200, body.to_owned())));
        let app = Router::new()
            .route("/.well-known/jwks.json", get(serve_document))
            .with_state((Arc::clone(&fetches), Arc::clone(&document)));
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeIssuer {
            addr,
            fetches,
            document,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/.well-known/jwks.json", self.addr)
    }

    /// Requests served so far.
    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    /// What the next fetches get.
    pub fn set(&self, status: u16, body: &str) {
        *self.document.lock().unwrap() = (status, body.to_owned());
    }
}

impl Drop for FakeIssuer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A port nothing listens on (bound, then released).
pub fn free_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}
