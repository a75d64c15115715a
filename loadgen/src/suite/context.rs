//! What every experiment of a suite run shares: the bench-server binary, one key set and
//! admin token, where Redis comes from, the run folder, and the stop signal.

use anyhow::Context as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use authbench_contract::keys::JwtAlg;
use tokio::sync::watch;

/// Where the Redis of Redis-backed configurations comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisSource {
    /// A `redis-server` child per cluster, on a free port.
    Spawn,
    /// An external Redis (`--redis-url`), shared by every cluster under its own namespace.
    External(String),
    /// None: Redis parts are skipped, with this reason.
    Unavailable(String),
}

impl RedisSource {
    /// Finds Redis: the URL given, else `redis-server` on the PATH, else unavailable.
    pub fn detect(url: Option<&str>) -> RedisSource {
        if let Some(url) = url {
            return RedisSource::External(url.to_owned());
        }
        if which("redis-server").is_some() {
            RedisSource::Spawn
        } else {
            RedisSource::Unavailable(
                "redis-server is not installed and no --redis-url was given".into(),
            )
        }
    }

    /// How the run records it.
    pub fn label(&self) -> &'static str {
        match self {
            RedisSource::Spawn => "spawned",
            RedisSource::External(_) => "external",
            RedisSource::Unavailable(_) => "none",
        }
    }
}

/// The first `name` on the PATH.
pub fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// Shared by every experiment.
#[derive(Debug)]
pub struct SuiteContext {
    /// The `bench-server` binary replicas run.
    pub bench_server: PathBuf,
    /// One key set for every cluster (all algorithms), with `admin.token`.
    pub key_dir: PathBuf,
    /// The admin bearer token from the key set.
    pub admin_token: String,
    /// Redis.
    pub redis: RedisSource,
    /// The run folder.
    pub run_dir: PathBuf,
    /// Argon2 cost of the seeded users' passwords (cheap by default: the suite measures
    /// authenticated requests, not password hashing; `scripts/bench-server` measures logins).
    pub password_hash_cost: String,
    /// `--inject-cpu-us` for every replica (0: off).
    pub slowdown_us: u64,
    /// Set on Ctrl-C: experiments stop and the run is written as partial.
    pub stop: watch::Receiver<bool>,
    /// For scraping and probing (not on the load path).
    pub http: reqwest::Client,
    namespaces: AtomicU64,
    _keys: tempfile::TempDir,
}

impl SuiteContext {
    /// Creates the key set in a temporary folder and the helper HTTP client.
    pub fn new(
        bench_server: PathBuf,
        redis: RedisSource,
        run_dir: PathBuf,
        password_hash_cost: String,
        slowdown_us: u64,
        stop: watch::Receiver<bool>,
    ) -> anyhow::Result<SuiteContext> {
        let keys = tempfile::Builder::new()
            .prefix("authbench-suite-keys.")
            .tempdir()
            .context("creating a key folder")?;
        let key_dir = keys.path().join("keys");
        let algs = [JwtAlg::Hs256, JwtAlg::Rs256, JwtAlg::Es256, JwtAlg::EdDsa];
        authbench_contract::keys::create_key_dir(&key_dir, &algs, false)
            .context("creating keys")?;
        let admin_token =
            std::fs::read_to_string(key_dir.join(authbench_contract::keys::ADMIN_TOKEN_FILE))
                .context("reading the admin token")?
                .trim()
                .to_owned();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(64)
            // Below a replica's `--keepalive-timeout` (75 s; reqwest's default here is 90 s),
            // so that the client drops idle connections before the server closes them.
            .pool_idle_timeout(std::time::Duration::from_secs(60))
            .build()
            .context("building the HTTP client")?;
        Ok(SuiteContext {
            bench_server,
            key_dir,
            admin_token,
            redis,
            run_dir,
            password_hash_cost,
            slowdown_us,
            stop,
            http,
            namespaces: AtomicU64::new(0),
            _keys: keys,
        })
    }

    /// Whether Ctrl-C was pressed.
    pub fn stopped(&self) -> bool {
        *self.stop.borrow()
    }

    /// A fresh Redis key namespace (so clusters sharing an external Redis never see each
    /// other's keys).
    pub fn namespace(&self) -> String {
        format!(
            "authbench-suite-{}-{}",
            std::process::id(),
            self.namespaces.fetch_add(1, Relaxed)
        )
    }

    /// A path inside the run folder.
    pub fn in_run(&self, relative: &Path) -> PathBuf {
        self.run_dir.join(relative)
    }
}
