//! Shared test fixtures: an in-process server on port 0, a real `redis-server` child on a
//! free port, and small HTTP helpers.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod balancer;
pub mod cluster;
pub mod gateway;
pub mod process;
pub mod raw;
pub mod redis_cluster;
pub mod shared_store;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bench_server::config::{Revocation, ServerConfig, StoreKind};
use bench_server::jwt::JwtAlg;
use bench_server::users::HashCost;
use bench_server::AppState;
use reqwest::header::HeaderMap;
use serde_json::Value;
use tokio::sync::oneshot;

/// The admin credential used by test servers.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// A server configuration that is quick to test with: cheap password hashing.
pub fn config() -> ServerConfig {
    ServerConfig {
        users: 20,
        password_hash_cost: HashCost {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        },
        admin_token: Some(ADMIN_TOKEN.into()),
        ..ServerConfig::default()
    }
}

/// `config()` with a JWT algorithm and revocation strategy.
pub fn jwt_config(alg: JwtAlg, revocation: Revocation) -> ServerConfig {
    ServerConfig {
        jwt_alg: alg,
        revocation,
        ..config()
    }
}

/// `config` pointed at a Redis.
pub fn with_redis(config: ServerConfig, redis: &RedisServer) -> ServerConfig {
    ServerConfig {
        store: StoreKind::Redis,
        redis_url: Some(redis.url()),
        ..config
    }
}

/// An HTTP client that does not follow redirects, so tests see exactly what was answered.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A bench-server running in this process on 127.0.0.1:0.
pub struct TestServer {
    pub addr: SocketAddr,
    pub state: AppState,
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    pub async fn start(config: ServerConfig) -> TestServer {
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        TestServer::start_on(config, addr).await
    }

    /// A server on a given address (to bring a backend back on the port it had).
    pub async fn start_on(config: ServerConfig, addr: SocketAddr) -> TestServer {
        let state = AppState::build(&config).await.expect("state builds");
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(bench_server::run(listener, state.clone(), async move {
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            state,
            client: client(),
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// The `/metrics` page.
    pub async fn metrics(&self) -> String {
        let response = self.client.get(self.url("/metrics")).send().await.unwrap();
        response.text().await.unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Stops the server and waits for it to drain.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }

    pub async fn login(&self, scheme: &str, user: &str, password: &str) -> reqwest::Response {
        self.client
            .post(self.url(&format!("/{scheme}/login")))
            .json(&serde_json::json!({"username": user, "password": password}))
            .send()
            .await
            .unwrap()
    }

    /// Logs `user<i>` in to the session scheme; returns the `sid` value.
    pub async fn session_login(&self, i: usize) -> String {
        let response = self
            .login("session", &format!("user{i}"), &format!("secret-{i}"))
            .await;
        assert_eq!(response.status(), 200);
        sid_from(response.headers()).expect("login sets the sid cookie")
    }

    /// Logs `user<i>` in to the JWT scheme; returns the token.
    pub async fn jwt_login(&self, i: usize) -> String {
        let response = self
            .login("jwt", &format!("user{i}"), &format!("secret-{i}"))
            .await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn get_with(&self, path: &str, header: &str, value: &str) -> (u16, HeaderMap, Value) {
        let response = self
            .client
            .get(self.url(path))
            .header(header, value)
            .send()
            .await
            .unwrap();
        split(response).await
    }

    pub async fn post_with(
        &self,
        path: &str,
        header: &str,
        value: &str,
    ) -> (u16, HeaderMap, Value) {
        let response = self
            .client
            .post(self.url(path))
            .header(header, value)
            .send()
            .await
            .unwrap();
        split(response).await
    }

    /// POSTs a JSON body, with a bearer token when given.
    pub async fn post_json(
        &self,
        path: &str,
        bearer: Option<&str>,
        body: &Value,
    ) -> (u16, HeaderMap, Value) {
        let mut request = self.client.post(self.url(path)).json(body);
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        split(request.send().await.unwrap()).await
    }

    /// Logs `user<i>` in to the JWT scheme with `--revocation refresh`; returns the access
    /// and refresh tokens.
    pub async fn jwt_login_with_refresh(&self, i: usize) -> (String, String) {
        let response = self
            .login("jwt", &format!("user{i}"), &format!("secret-{i}"))
            .await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        (
            body["access_token"].as_str().unwrap().to_owned(),
            body["refresh_token"]
                .as_str()
                .expect("a refresh token")
                .to_owned(),
        )
    }

    /// `POST /jwt/refresh`: the status and body.
    pub async fn refresh(&self, refresh_token: &str) -> (u16, Value) {
        let body = serde_json::json!({ "refresh_token": refresh_token });
        let (status, _, body) = self.post_json("/jwt/refresh", None, &body).await;
        (status, body)
    }

    pub async fn session_me(&self, sid: &str) -> u16 {
        self.get_with("/session/me", "cookie", &format!("sid={sid}"))
            .await
            .0
    }

    pub async fn jwt_me(&self, token: &str) -> (u16, Value) {
        let (status, _, body) = self
            .get_with("/jwt/me", "authorization", &format!("Bearer {token}"))
            .await;
        (status, body)
    }

    pub async fn force_logout(&self, user: &str) -> (u16, Value) {
        let (status, _, body) = self
            .post_with(
                &format!("/admin/users/{user}/logout"),
                "authorization",
                &format!("Bearer {ADMIN_TOKEN}"),
            )
            .await;
        (status, body)
    }
}

pub async fn split(response: reqwest::Response) -> (u16, HeaderMap, Value) {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, headers, body)
}

/// The `sid` value of a `Set-Cookie` header.
pub fn sid_from(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("sid="))
        .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
        .filter(|sid| !sid.is_empty())
}

/// A `redis-server` child on a free port; killed when dropped.
pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
}

/// `AUTHBENCH_REQUIRE_REDIS` / `…_BALANCERS`: see [`authbench_contract::require`].
pub use authbench_contract::require::required_by_env;

pub fn redis_available() -> bool {
    Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl RedisServer {
    /// Starts one, or returns `None` (skip) when `redis-server` is not installed — unless
    /// `AUTHBENCH_REQUIRE_REDIS` requires it (see [`required_by_env`]), as `scripts/test`
    /// sets, which makes that a failure.
    pub fn start_or_skip(test: &str) -> Option<RedisServer> {
        if !redis_available() {
            if required_by_env("AUTHBENCH_REQUIRE_REDIS") {
                panic!(
                    "{test}: redis-server is not installed and AUTHBENCH_REQUIRE_REDIS requires it"
                );
            }
            eprintln!("{test}: SKIPPED, redis-server is not installed (scripts/test installs it)");
            return None;
        }
        let mut server = RedisServer {
            port: free_port(),
            child: None,
        };
        server.spawn();
        Some(server)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let ok = redis::Client::open(self.url())
                .and_then(|c| c.get_connection())
                .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
            if ok.is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer within 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server (SIGKILL, all data lost) and starts a new one on the same port.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// SIGSTOP: Redis keeps its connections open and stops answering, until the returned
    /// guard is dropped (SIGCONT) — also when the test fails halfway.
    pub fn stall(&self) -> StalledRedis<'_> {
        self.signal(nix::sys::signal::Signal::SIGSTOP);
        StalledRedis(self)
    }

    fn signal(&self, signal: nix::sys::signal::Signal) {
        if let Some(child) = &self.child {
            let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
            nix::sys::signal::kill(pid, signal).unwrap();
        }
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // A stopped process is killed too, but never leave one stopped.
            if let Ok(pid) = i32::try_from(child.id()) {
                let pid = nix::unistd::Pid::from_raw(pid);
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT);
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A Redis stopped by [`RedisServer::stall`]; SIGCONT when dropped.
pub struct StalledRedis<'a>(&'a RedisServer);

impl StalledRedis<'_> {
    /// SIGCONT now.
    pub fn resume(self) {}
}

impl Drop for StalledRedis<'_> {
    fn drop(&mut self) {
        self.0.signal(nix::sys::signal::Signal::SIGCONT);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
