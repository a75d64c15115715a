//! A local cluster: N `bench-server serve` replicas with one key set, optionally a Redis, and
//! a balancer in front (built-in, its gateway mode, HAProxy, nginx or none) — what
//! `bench-server cluster` runs
//! and the load generator's suite drives, faults included.
//!
//! * [`spec`] — what to start, validated;
//! * [`replica`], [`redis`], [`balancer`] (with [`haproxy`] and [`nginx`] configs) — the parts;
//! * [`child`] — child processes that die with the cluster; [`health`] — waiting for `/healthz`;
//! * [`links`] — network distance: a `bench-server link` child in each delayed hop, and the
//!   round trip measured through it at start;
//! * [`info`] — what is running, as printed (`--json`); [`error`] — what can go wrong.
//!
//! Every child is SIGKILLed when the [`Cluster`] is dropped, and by the kernel when the
//! cluster process dies (see [`child`]). [`Cluster::shutdown`] stops them gracefully.

pub mod balancer;
pub mod child;
pub mod error;
pub mod functions;
pub mod haproxy;
pub mod health;
pub mod info;
pub mod links;
pub mod nginx;
pub mod redis;
pub mod replica;
pub mod spec;

use std::net::SocketAddr;
use std::time::Duration;

pub use child::ChildLogs;
pub use error::ClusterError;
pub use functions::FunctionsSpec;
pub use info::ClusterInfo;
pub use links::{HopKind, HopMeasurement, NetworkDelays};
pub use spec::{BalancerKind, ClusterSpec, RedisMode};

use balancer::RunningBalancer;
use functions::RunningPool;
use links::RunningLink;
use redis::RedisChild;
use replica::Replica;

/// Time a child gets to exit after SIGTERM at shutdown.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// A running cluster.
#[derive(Debug)]
pub struct Cluster {
    spec: ClusterSpec,
    replicas: Vec<Replica>,
    redis: Option<RedisChild>,
    redis_url: Option<String>,
    balancer: Option<RunningBalancer>,
    functions: Option<RunningPool>,
    /// Links in start order: store, balancer → replicas, client.
    links: Vec<RunningLink>,
    hops: Vec<HopMeasurement>,
    dir: tempfile::TempDir,
}

impl Cluster {
    /// Starts every part and waits until each answers `/healthz` (bounded by
    /// `spec.startup_timeout`). On error, whatever was started is stopped.
    pub async fn start(spec: ClusterSpec) -> Result<Cluster, ClusterError> {
        let serve = spec.validate()?;
        let dir = tempfile::Builder::new()
            .prefix("authbench-cluster.")
            .tempdir()
            .map_err(ClusterError::io("creating the cluster's working directory"))?;
        let mut args = spec.serve_args.clone();
        if serve.key_dir.is_none() {
            let keys = dir.path().join("keys");
            crate::keys::create_key_dir(&keys, &[serve.jwt_alg], false)?;
            args.push("--key-dir".into());
            args.push(keys.display().to_string());
        }
        let redis = match spec.redis {
            RedisMode::Spawn => {
                Some(RedisChild::start(spec.child_logs, spec.startup_timeout).await?)
            }
            RedisMode::None | RedisMode::External(_) => None,
        };
        let redis_url = match &spec.redis {
            RedisMode::External(url) => Some(url.clone()),
            _ => redis.as_ref().map(RedisChild::url),
        };
        let mut links = Vec::new();
        if let Some(url) = &redis_url {
            let mut replica_url = url.clone();
            if !spec.network.store.is_zero() {
                let (upstream, rewrite) = redis_upstream(url)?;
                let link = RunningLink::start(
                    &spec.binary,
                    HopKind::Store,
                    "redis",
                    upstream,
                    spec.network.store,
                    spec.child_logs,
                    spec.startup_timeout,
                )
                .await?;
                replica_url = rewrite(link.listen);
                links.push(link);
            }
            args.push("--redis-url".into());
            args.push(replica_url);
            if !spec.has_serve_flag("--session-store") {
                args.push("--session-store".into());
                args.push("redis".into());
            }
        }
        if spec.balancer == BalancerKind::Gateway {
            // The secret the gateway signs forwarded identities with, shared with every replica.
            let secret = crate::keys::write_secret_file(
                dir.path(),
                crate::keys::GATEWAY_SECRET_FILE,
                &crate::keys::random_token(32),
                false,
            )?;
            args.push("--trust-gateway".into());
            args.push("--identity-secret-file".into());
            args.push(secret.display().to_string());
        }
        let mut cluster = Cluster {
            spec,
            replicas: Vec::new(),
            redis,
            redis_url,
            balancer: None,
            functions: None,
            links,
            hops: Vec::new(),
            dir,
        };
        if let Err(err) = cluster.start_parts(args).await {
            cluster.kill_all().await;
            return Err(err);
        }
        tracing::info!(entry = %cluster.entry_url(), replicas = cluster.replicas.len(), "cluster up");
        Ok(cluster)
    }

    async fn start_parts(&mut self, args: Vec<String>) -> Result<(), ClusterError> {
        for i in 0..self.spec.replicas {
            let replica = Replica::start(
                &self.spec.binary,
                &format!("r{i}"),
                args.clone(),
                self.spec.child_logs,
                self.spec.startup_timeout,
            )
            .await?;
            self.replicas.push(replica);
        }
        for replica in &self.replicas {
            replica.wait_healthy(self.spec.startup_timeout).await?;
        }
        let issuer = self.replicas.first().and_then(|r| health::addr_of(r.url()));
        let mut backends: Vec<(String, SocketAddr)> = match &self.spec.functions {
            None => self
                .replicas
                .iter()
                .filter_map(|r| Some((r.id().to_owned(), health::addr_of(r.url())?)))
                .collect(),
            Some(functions) => {
                let pool = RunningPool::start(
                    &self.spec.binary,
                    functions,
                    &args,
                    self.spec.child_logs,
                    self.spec.startup_timeout,
                )
                .await?;
                let addr = health::addr_of(&pool.url).ok_or_else(|| ClusterError::Startup {
                    name: "functions".into(),
                    reason: format!("it listens on {}, which has no address", pool.url),
                })?;
                self.functions = Some(pool);
                vec![("functions".to_owned(), addr)]
            }
        };
        let delays = self.spec.network;
        if !delays.balancer.is_zero() && self.spec.balancer != BalancerKind::None {
            for (id, addr) in &mut backends {
                let link = self
                    .start_link(HopKind::Balancer, id, *addr, delays.balancer)
                    .await?;
                *addr = link;
            }
        }
        self.balancer =
            balancer::start(&self.spec, &backends, issuer, self.dir.path(), &args).await?;
        if let Some(balancer) = &self.balancer {
            let name = format!("balancer {}", balancer.kind);
            health::wait_healthy(&name, &balancer.url, self.spec.startup_timeout).await?;
        }
        if !delays.client.is_zero() {
            let entry = self.entry_url();
            let addr = health::addr_of(&entry).ok_or_else(|| ClusterError::Startup {
                name: "link client".into(),
                reason: format!("the entry {entry} has no address"),
            })?;
            self.start_link(HopKind::Client, "entry", addr, delays.client)
                .await?;
        }
        for link in &self.links {
            self.hops.push(link.measure().await?);
        }
        Ok(())
    }

    /// Starts a link in front of `upstream`; returns where it listens.
    async fn start_link(
        &mut self,
        hop: HopKind,
        to: &str,
        upstream: SocketAddr,
        delay: Duration,
    ) -> Result<SocketAddr, ClusterError> {
        let link = RunningLink::start(
            &self.spec.binary,
            hop,
            to,
            upstream,
            delay,
            self.spec.child_logs,
            self.spec.startup_timeout,
        )
        .await?;
        let listen = link.listen;
        self.links.push(link);
        Ok(listen)
    }

    /// The round trips measured through each link at start (empty on loopback).
    pub fn hops(&self) -> &[HopMeasurement] {
        &self.hops
    }

    fn client_link(&self) -> Option<&RunningLink> {
        self.links.iter().find(|l| l.hop == HopKind::Client)
    }

    /// SIGKILLs and reaps every child (failed start).
    async fn kill_all(&mut self) {
        for link in &mut self.links {
            link.process.kill().await;
        }
        if let Some(mut balancer) = self.balancer.take() {
            balancer.process.kill().await;
        }
        if let Some(mut pool) = self.functions.take() {
            pool.process.kill().await;
        }
        for replica in &mut self.replicas {
            replica.kill().await;
        }
        if let Some(redis) = &mut self.redis {
            redis.stop().await;
        }
    }

    /// Where clients connect: the client link when the client hop has a delay, else the
    /// balancer, or replica r0 without one.
    pub fn entry_url(&self) -> String {
        if let Some(link) = self.client_link() {
            return format!("http://{}", link.listen);
        }
        match &self.balancer {
            Some(b) => b.url.clone(),
            None => self
                .replicas
                .first()
                .map(|r| r.url().to_owned())
                .unwrap_or_default(),
        }
    }

    /// The replicas' URLs, in order r0, r1, ….
    pub fn replica_urls(&self) -> Vec<String> {
        self.replicas.iter().map(|r| r.url().to_owned()).collect()
    }

    /// The Redis URL the replicas use, if any.
    pub fn redis_url(&self) -> Option<&str> {
        self.redis_url.as_deref()
    }

    /// The function pool's admin base URL (`/metrics`, `/instances`), when there is one.
    pub fn functions_admin_url(&self) -> Option<&str> {
        self.functions.as_ref().map(|p| p.admin_url.as_str())
    }

    /// The function pool's PID, when there is one.
    pub fn functions_pid(&self) -> Option<u32> {
        self.functions.as_ref().map(|p| p.process.pid())
    }

    /// The built-in balancer's `/metrics` base URL.
    pub fn balancer_admin_url(&self) -> Option<&str> {
        self.balancer.as_ref().and_then(|b| b.admin_url.as_deref())
    }

    /// What is running, with PIDs.
    pub fn info(&self) -> ClusterInfo {
        ClusterInfo::of(self)
    }

    fn replica(&mut self, i: usize) -> Result<&mut Replica, ClusterError> {
        let n = self.replicas.len();
        self.replicas
            .get_mut(i)
            .ok_or_else(|| ClusterError::NoSuchPart(format!("no replica {i}: the cluster has {n}")))
    }

    /// Fault: SIGKILL replica `i` (its in-flight requests and in-process sessions are lost).
    pub async fn kill_replica(&mut self, i: usize) -> Result<(), ClusterError> {
        self.replica(i)?.kill().await;
        Ok(())
    }

    /// Starts replica `i` again on its port and waits until it is healthy.
    pub async fn restart_replica(&mut self, i: usize) -> Result<(), ClusterError> {
        let timeout = self.spec.startup_timeout;
        self.replica(i)?.restart(timeout).await
    }

    /// Fault: SIGKILL the Redis child (all keys lost).
    pub async fn stop_redis(&mut self) -> Result<(), ClusterError> {
        let redis = self.redis.as_mut().ok_or_else(no_redis_child)?;
        redis.stop().await;
        Ok(())
    }

    /// Fault: SIGSTOP the Redis child: it keeps its connections and keys and answers nothing
    /// until [`Cluster::resume_redis`] (or until the cluster stops: it is resumed first).
    pub fn stall_redis(&mut self) -> Result<(), ClusterError> {
        self.redis.as_mut().ok_or_else(no_redis_child)?.stall()
    }

    /// SIGCONT the Redis child after [`Cluster::stall_redis`].
    pub fn resume_redis(&mut self) -> Result<(), ClusterError> {
        self.redis.as_mut().ok_or_else(no_redis_child)?.resume()
    }

    /// Starts the Redis child again on its port (empty).
    pub async fn start_redis(&mut self) -> Result<(), ClusterError> {
        let timeout = self.spec.startup_timeout;
        self.redis
            .as_mut()
            .ok_or_else(no_redis_child)?
            .start_again(timeout)
            .await
    }

    /// Stops everything: balancer first, then replicas, then Redis (SIGTERM, then SIGKILL
    /// after a grace period).
    pub async fn shutdown(mut self) {
        let (outer, inner): (Vec<_>, Vec<_>) = std::mem::take(&mut self.links)
            .into_iter()
            .partition(|l| l.hop == HopKind::Client);
        for mut link in outer {
            link.process.stop(STOP_GRACE).await;
        }
        if let Some(mut balancer) = self.balancer.take() {
            balancer.process.stop(STOP_GRACE).await;
        }
        if let Some(mut pool) = self.functions.take() {
            // The pool stops its instances when it gets SIGTERM.
            pool.process.stop(STOP_GRACE).await;
        }
        for replica in &mut self.replicas {
            replica.stop(STOP_GRACE).await;
        }
        for mut link in inner {
            link.process.stop(STOP_GRACE).await;
        }
        if let Some(redis) = &mut self.redis {
            redis.stop().await;
        }
        tracing::info!("cluster stopped");
    }
}

/// The address a Redis URL points at, and how to point the same URL (credentials and
/// database kept) at another address.
#[allow(clippy::type_complexity)]
fn redis_upstream(
    url: &str,
) -> Result<(SocketAddr, Box<dyn Fn(SocketAddr) -> String + Send>), ClusterError> {
    let bad = |reason: &str| ClusterError::bad_flag("--redis-url", crate::redact_url(url), reason);
    if crate::redis_url::is_cluster_url(url) {
        // Cluster nodes redirect clients (MOVED) to their own addresses, around the link.
        return Err(bad(
            "a store link cannot sit in front of a Redis Cluster (its nodes redirect \
             clients to their own addresses): drop --store-delay",
        ));
    }
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| bad("expected redis://HOST:PORT"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((user, host)) => (format!("{user}@"), host),
        None => (String::new(), authority),
    };
    let hostport = if hostport.contains(':') {
        hostport.to_owned()
    } else {
        format!("{hostport}:6379")
    };
    let addr = std::net::ToSocketAddrs::to_socket_addrs(&hostport)
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| bad("its host does not resolve"))?;
    let (scheme, path) = (scheme.to_owned(), path.to_owned());
    Ok((
        addr,
        Box::new(move |link: SocketAddr| format!("{scheme}://{userinfo}{link}{path}")),
    ))
}

fn no_redis_child() -> ClusterError {
    ClusterError::NoSuchPart(
        "the cluster runs no redis-server child (start it with --redis-server)".into(),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_store_link_is_refused_in_front_of_a_redis_cluster() {
        let Err(err) = redis_upstream("redis+cluster://:pw@127.0.0.1:7000,127.0.0.1:7001") else {
            panic!("a link cannot proxy a cluster");
        };
        let err = err.to_string();
        assert!(
            err.starts_with("--redis-url redis+cluster://***@127.0.0.1:7000"),
            "{err}"
        );
        assert!(
            err.contains("--store-delay") && !err.contains("pw"),
            "{err}"
        );
        let (addr, rewrite) = redis_upstream("redis://:pw@127.0.0.1:7000/2").unwrap();
        assert_eq!(addr.port(), 7000);
        assert_eq!(
            rewrite("127.0.0.1:9".parse().unwrap()),
            "redis://:pw@127.0.0.1:9/2"
        );
    }
}
