//! A deployment file (bring your own cluster): `loadgen suite --deployment FILE` measures a
//! deployment someone else started instead of local clusters. The type is called
//! [`ExternalTarget`] — not "deployment" — because the suite already has a *deployment part*
//! ([`super::deployment`], claims A1/A2: load balancer vs gateway + functions), which has
//! nothing to do with this file.
//!
//! The file (docs/deployment-file.md):
//!
//! ```toml
//! name = "staging"
//! entry_url = "http://bench.example:8080"
//! replica_urls = ["http://10.0.0.5:8080"]
//! redis_url = "redis://redis.example:6379"
//! admin_token_env = "AUTHBENCH_ADMIN_TOKEN"
//! [server]
//! store = "redis"
//! jwt_alg = "ES256"
//! revocation = "none"
//! users = 10000
//! [hooks]
//! kill_replica = "kubectl delete pod -l app=bench-server --wait=false"
//! ```

use std::fmt;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context as _};
use serde::Deserialize;

use super::deploy::Snapshot;
use super::scrape;
use authbench_report::model::{Alg, Revocation, Store, TargetInfo};

/// The admin token: never printed, logged or written to the run folder.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The token itself, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetFile {
    name: Option<String>,
    entry_url: String,
    #[serde(default)]
    replica_urls: Vec<String>,
    redis_url: Option<String>,
    admin_token_env: Option<String>,
    admin_token: Option<String>,
    server: ServerConfig,
    #[serde(default)]
    hooks: Hooks,
}

/// How the deployment's bench-server replicas were started (`[server]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// `--session-store`.
    pub store: Store,
    /// `--jwt-alg`.
    pub jwt_alg: Alg,
    /// `--revocation` (default `none`, as bench-server's).
    #[serde(default = "no_revocation")]
    pub revocation: Revocation,
    /// `--users`: accounts `user0`… seeded on every replica.
    pub users: usize,
}

fn no_revocation() -> Revocation {
    Revocation::None
}

/// Fault hooks (`[hooks]`): shell commands run with `sh -c`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hooks {
    /// Kills one replica (the balancer should route around it).
    pub kill_replica: Option<String>,
    /// Restarts Redis.
    pub restart_redis: Option<String>,
    /// Stalls Redis (connections open, no answers); needs `resume_redis`.
    pub stall_redis: Option<String>,
    /// Undoes `stall_redis`.
    pub resume_redis: Option<String>,
    /// How long a hook may run, seconds (default 60).
    pub timeout_seconds: Option<f64>,
}

const DEFAULT_HOOK_TIMEOUT: Duration = Duration::from_secs(60);

/// A validated deployment file.
#[derive(Debug, Clone)]
pub struct ExternalTarget {
    /// Shown in the report.
    pub name: String,
    /// Where the load goes, without a trailing `/`.
    pub entry_url: String,
    /// Replicas to probe and scrape, without trailing `/`.
    pub replica_urls: Vec<String>,
    /// Redis to read `INFO` from.
    pub redis_url: Option<String>,
    /// For force-logout.
    pub admin_token: Option<Secret>,
    /// How the replicas were started.
    pub server: ServerConfig,
    /// Fault hooks.
    pub hooks: Hooks,
}

impl ExternalTarget {
    /// Reads and validates `path`; the admin token comes from the environment through `env`.
    pub fn load(path: &Path) -> anyhow::Result<ExternalTarget> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("--deployment {}: cannot read it", path.display()))?;
        let stem = path
            .file_stem()
            .map_or_else(|| "deployment".into(), |s| s.to_string_lossy().into_owned());
        if text.lines().any(|l| {
            l.trim_start().starts_with("admin_token ") || l.trim_start().starts_with("admin_token=")
        }) {
            eprintln!(
                "loadgen suite: {} holds admin_token itself; prefer admin_token_env (the token stays out of the file)",
                path.display()
            );
        }
        Self::parse(&text, &stem, |name| std::env::var(name).ok())
            .with_context(|| format!("--deployment {}", path.display()))
    }

    /// Parses and validates a deployment file's text (`default_name` when it has no `name`).
    pub fn parse(
        text: &str,
        default_name: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<ExternalTarget> {
        let file: TargetFile = toml::from_str(text).map_err(|e| anyhow::anyhow!("{e}"))?;
        let name = file.name.unwrap_or_else(|| default_name.to_owned());
        if name.trim().is_empty() {
            bail!("name = {name:?}: must not be empty");
        }
        let entry_url = http_url("entry_url", &file.entry_url)?;
        let replica_urls = file
            .replica_urls
            .iter()
            .enumerate()
            .map(|(i, url)| http_url(&format!("replica_urls[{i}]"), url))
            .collect::<anyhow::Result<Vec<_>>>()?;
        if let Some(url) = &file.redis_url {
            let scheme_ok = url.starts_with("redis://") || url.starts_with("rediss://");
            let has_host = reqwest::Url::parse(url).is_ok_and(|u| u.host_str().is_some());
            if !scheme_ok || !has_host {
                bail!(
                    "redis_url = {:?}: expected redis://HOST:PORT",
                    authbench_contract::redact_url(url)
                );
            }
        }
        let admin_token = match (&file.admin_token_env, &file.admin_token) {
            (Some(_), Some(_)) => {
                bail!("admin_token_env and admin_token: give one of them (admin_token_env preferred)")
            }
            (Some(var), None) => match env(var).map(|t| t.trim().to_owned()) {
                Some(token) if !token.is_empty() => Some(Secret(token)),
                _ => bail!("admin_token_env = {var:?}: the environment variable {var} is not set or is empty"),
            },
            (None, Some(token)) if token.trim().is_empty() => {
                bail!("admin_token: must not be empty")
            }
            (None, Some(token)) => Some(Secret(token.trim().to_owned())),
            (None, None) => None,
        };
        if file.server.users == 0 {
            bail!("server.users = 0: must be at least 1");
        }
        let hooks = file.hooks;
        for (key, command) in hooks.named() {
            if command.trim().is_empty() {
                bail!("hooks.{key}: must not be empty");
            }
        }
        if hooks.stall_redis.is_some() != hooks.resume_redis.is_some() {
            bail!("hooks.stall_redis and hooks.resume_redis: give both or neither (a stalled Redis must be resumed)");
        }
        if let Some(t) = hooks.timeout_seconds {
            if !(t > 0.0 && t <= 3600.0) {
                bail!("hooks.timeout_seconds = {t}: must be above 0 and at most 3600");
            }
        }
        Ok(ExternalTarget {
            name,
            entry_url,
            replica_urls,
            redis_url: file.redis_url,
            admin_token,
            server: file.server,
            hooks,
        })
    }

    /// What the run records about it (never the token, never Redis credentials).
    pub fn info(&self) -> TargetInfo {
        TargetInfo {
            name: self.name.clone(),
            entry_url: self.entry_url.clone(),
            replicas: self.replica_urls.len(),
            redis: self.redis_url.is_some(),
            admin_token: self.admin_token.is_some(),
            hooks: self.hooks.named().map(|(k, _)| k.to_owned()).collect(),
        }
    }

    /// How long a hook may run.
    pub fn hook_timeout(&self) -> Duration {
        self.hooks
            .timeout_seconds
            .map_or(DEFAULT_HOOK_TIMEOUT, Duration::from_secs_f64)
    }

    /// Checks that the entry answers `/healthz` and that every server reachable (the replicas,
    /// else the entry) reports the `[server]` store and algorithm on `/metrics`. bench-server
    /// does not report its `--revocation` or `--users`: those are taken on trust.
    pub async fn verify(&self, http: &reqwest::Client) -> anyhow::Result<()> {
        let healthz = format!("{}/healthz", self.entry_url);
        let response = http
            .get(&healthz)
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .with_context(|| format!("entry_url: GET {healthz}"))?;
        if !response.status().is_success() {
            bail!("entry_url: GET {healthz}: HTTP {}", response.status());
        }
        let servers = if self.replica_urls.is_empty() {
            vec![("entry_url", &self.entry_url)]
        } else {
            self.replica_urls
                .iter()
                .map(|u| ("replica_urls", u))
                .collect()
        };
        for (key, url) in servers {
            let counters = scrape::counters(http, url)
                .await
                .with_context(|| format!("{key}: {url} (bench-server's /metrics)"))?;
            let reported = |metric: &str, label: &str| -> Vec<String> {
                counters.by_label(metric, label).into_keys().collect()
            };
            let stores = reported("authbench_store_errors_total", "store");
            let algs = reported("authbench_jwt_verify_duration_seconds_count", "alg");
            check(key, url, "store", self.server.store.as_str(), &stores)?;
            check(key, url, "jwt_alg", self.server.jwt_alg.as_str(), &algs)?;
        }
        Ok(())
    }

    /// The replicas' counters and Redis `INFO` now. Without `replica_urls` the replica list is
    /// one unknown entry, so nothing is cross-checked against server counts.
    pub async fn snapshot(&self, http: &reqwest::Client) -> Snapshot {
        let mut replicas = Vec::with_capacity(self.replica_urls.len().max(1));
        for url in &self.replica_urls {
            replicas.push(scrape::replica(http, url).await.ok());
        }
        if replicas.is_empty() {
            replicas.push(None);
        }
        let redis = match &self.redis_url {
            Some(url) => scrape::redis(url).await.ok(),
            None => None,
        };
        Snapshot {
            replicas,
            balancer_cpu: None,
            redis,
        }
    }
}

impl Hooks {
    /// The hooks given, with their keys.
    pub fn named(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("kill_replica", &self.kill_replica),
            ("restart_redis", &self.restart_redis),
            ("stall_redis", &self.stall_redis),
            ("resume_redis", &self.resume_redis),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
    }
}

fn check(
    key: &str,
    url: &str,
    field: &str,
    expected: &str,
    reported: &[String],
) -> anyhow::Result<()> {
    match reported {
        [] => bail!("{key}: {url}/metrics reports no {field}: is it bench-server?"),
        [one] if one == expected => Ok(()),
        _ => bail!(
            "server.{field} = {expected:?}, but {url}/metrics reports {}: fix the [server] section or the deployment",
            reported.join(", ")
        ),
    }
}

fn http_url(key: &str, value: &str) -> anyhow::Result<String> {
    let url = reqwest::Url::parse(value)
        .map_err(|e| anyhow::anyhow!("{key} = {value:?}: not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        bail!("{key} = {value:?}: expected http://HOST:PORT or https://HOST:PORT");
    }
    if url.query().is_some() || url.fragment().is_some() {
        bail!("{key} = {value:?}: a base URL takes no query or fragment");
    }
    Ok(value.trim_end_matches('/').to_owned())
}

/// A hook's outcome: its output stays on the terminal (it may hold cluster credentials), never
/// in the run folder.
#[derive(Debug)]
pub struct HookRun {
    /// Wall time.
    pub elapsed: Duration,
}

/// A hook's process group (`sh` and everything it started), killed when dropped: when the
/// hook exits, times out, or the suite stops waiting for it. A hook must not leave processes
/// running; the suite never leaves children behind.
struct HookGroup(Option<u32>);

impl Drop for HookGroup {
    fn drop(&mut self) {
        use nix::sys::signal::{killpg, Signal};
        if let Some(pgid) = self.0.and_then(|id| i32::try_from(id).ok()) {
            // ESRCH (the group is already gone) is the usual outcome and fine.
            let _ = killpg(nix::unistd::Pid::from_raw(pgid), Signal::SIGKILL);
        }
    }
}

/// Runs hook `key` (`sh -c command`, in a process group of its own) bounded by `timeout`; an
/// error names the hook, its exit status and the end of its output.
pub async fn run_hook(key: &str, command: &str, timeout: Duration) -> anyhow::Result<HookRun> {
    let started = std::time::Instant::now();
    let child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("hooks.{key}: cannot run sh"))?;
    let group = HookGroup(child.id());
    let mut child = child;
    // The hook is done when `sh` exits; what it left running holds the pipes open, so the
    // output is read beside the wait and collected once the group is gone.
    let read = |pipe: Option<Box<dyn tokio::io::AsyncRead + Unpin + Send>>| {
        tokio::spawn(async move {
            let mut text = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = tokio::io::AsyncReadExt::read_to_end(&mut pipe, &mut text).await;
            }
            text
        })
    };
    let stdout = read(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = read(child.stderr.take().map(|p| Box::new(p) as _));
    let status = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(status) => status.with_context(|| format!("hooks.{key}: waiting for it"))?,
        Err(_) => bail!(
            "hooks.{key}: still running after {:.0} s (killed; raise hooks.timeout_seconds)",
            timeout.as_secs_f64()
        ),
    };
    drop(group);
    let output = std::process::Output {
        status,
        stdout: stdout.await.unwrap_or_default(),
        stderr: stderr.await.unwrap_or_default(),
    };
    let elapsed = started.elapsed();
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    let tail: String = {
        let t = text.trim();
        let start = t.char_indices().rev().nth(400).map_or(0, |(i, _)| i);
        t[start..].to_owned()
    };
    if !output.status.success() {
        bail!(
            "hooks.{key}: {} after {:.1} s; output: {tail:?}",
            output.status,
            elapsed.as_secs_f64()
        );
    }
    if !tail.is_empty() {
        eprintln!(
            "loadgen suite: hooks.{key} ({:.1} s): {tail}",
            elapsed.as_secs_f64()
        );
    }
    Ok(HookRun { elapsed })
}

#[cfg(test)]
#[path = "target_tests.rs"]
mod tests;
