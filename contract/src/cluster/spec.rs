//! What a cluster should look like, and its validation into replica arguments.
//!
//! Replica flags come as `bench-server serve` arguments (the CLI's trailing `-- …`). The
//! cluster owns `--listen` and `--replica-id` (refused there) and `--redis-url` (set it with
//! the cluster's `--redis-url` or `--redis-server`); it adds `--key-dir` with a fresh key set
//! unless one is given, and `--session-store redis` when it has a Redis and no store is given.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use super::child::ChildLogs;
use super::error::ClusterError;
use super::functions::FunctionsSpec;
use super::links::NetworkDelays;
use crate::keys::JwtAlg;
use crate::policy::Policy;
use crate::serve::{Revocation, ServeArgs};

/// Which balancer fronts the replicas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BalancerKind {
    /// `bench-server balance` as a child process.
    Builtin,
    /// The system `haproxy` (Debian package `haproxy`).
    Haproxy,
    /// The system `nginx` (Debian package `nginx`).
    Nginx,
    /// No balancer: the entry is replica r0.
    None,
    /// `bench-server balance --gateway jwt`: the built-in balancer verifying bearer tokens at
    /// the edge with r0's published keys; the replicas trust the identity it forwards.
    Gateway,
}

impl fmt::Display for BalancerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BalancerKind::Builtin => "builtin",
            BalancerKind::Haproxy => "haproxy",
            BalancerKind::Nginx => "nginx",
            BalancerKind::None => "none",
            BalancerKind::Gateway => "gateway",
        })
    }
}

/// Where the replicas' Redis comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RedisMode {
    /// No Redis.
    #[default]
    None,
    /// A `redis-server` child on a free port.
    Spawn,
    /// An external Redis, Valkey or Redis Cluster endpoint.
    External(String),
}

/// `bench-server serve` alone, to check a replica's flags the way the replica will.
#[derive(Debug, Parser)]
#[command(name = "bench-server serve")]
struct ServeCommand {
    #[command(flatten)]
    args: ServeArgs,
}

/// A cluster to start.
#[derive(Debug, Clone)]
pub struct ClusterSpec {
    /// The `bench-server` binary the replicas (and the built-in balancer) run.
    pub binary: PathBuf,
    /// Number of replicas, named `r0` … `r{N-1}`.
    pub replicas: usize,
    /// The balancer.
    pub balancer: BalancerKind,
    /// Its policy.
    pub policy: Policy,
    /// The balancer's address (the entry); port 0 picks a free one.
    pub listen: SocketAddr,
    /// Redis for the replicas.
    pub redis: RedisMode,
    /// `bench-server serve` flags given to every replica.
    pub serve_args: Vec<String>,
    /// Active health-check interval (built-in balancer and HAProxy).
    pub health_interval: Duration,
    /// Balancer threads (built-in: tokio workers; HAProxy: `nbthread`); default: built-in
    /// one per core, HAProxy 1. nginx always runs one process.
    pub balancer_threads: Option<usize>,
    /// Bound on starting every part and on its first healthy `/healthz`.
    pub startup_timeout: Duration,
    /// Where children's stderr goes.
    pub child_logs: ChildLogs,
    /// One-way delays of the client, balancer and store hops (zero: loopback).
    pub network: NetworkDelays,
    /// A function pool as the balancer's one backend instead of the replicas (which still
    /// start: r0 issues the keys the gateway fetches).
    pub functions: Option<FunctionsSpec>,
    /// With the gateway: how long its authorizer caches a decision per token (zero: off).
    pub authorizer_cache_ttl: Duration,
}

impl ClusterSpec {
    /// Defaults: 3 replicas behind the built-in round-robin balancer on a free port, no
    /// Redis, health checks every second, 10 s to start.
    pub fn new(binary: impl Into<PathBuf>) -> ClusterSpec {
        ClusterSpec {
            binary: binary.into(),
            replicas: 3,
            balancer: BalancerKind::Builtin,
            policy: Policy::RoundRobin,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            redis: RedisMode::None,
            serve_args: Vec::new(),
            health_interval: Duration::from_secs(1),
            balancer_threads: None,
            startup_timeout: Duration::from_secs(10),
            child_logs: ChildLogs::Inherit,
            network: NetworkDelays::default(),
            functions: None,
            authorizer_cache_ttl: Duration::ZERO,
        }
    }

    /// Checks the spec; returns the parsed replica flags (as given, before the cluster adds
    /// its own).
    pub fn validate(&self) -> Result<ServeArgs, ClusterError> {
        if self.replicas == 0 {
            return Err(ClusterError::bad_flag(
                "--replicas",
                0,
                "need at least one replica",
            ));
        }
        if self.balancer == BalancerKind::Nginx && self.policy == Policy::StickyCookie {
            return Err(ClusterError::bad_flag(
                "--policy",
                self.policy,
                "open-source nginx has no sticky cookie (that is nginx Plus `sticky cookie`); use \
                 --policy hash-session (nginx `hash $cookie_sid consistent`) or --balancer builtin|haproxy",
            ));
        }
        if self.balancer_threads == Some(0) {
            return Err(ClusterError::bad_flag(
                "--balancer-threads",
                0,
                "must be at least 1",
            ));
        }
        if self.health_interval.is_zero() {
            return Err(ClusterError::bad_flag(
                "--health-interval",
                "0s",
                "must be more than zero",
            ));
        }
        if let RedisMode::External(url) = &self.redis {
            let bad =
                |why: &str| ClusterError::bad_flag("--redis-url", crate::redact_url(url), why);
            if crate::redis_url::is_cluster_url(url) {
                crate::RedisTarget::parse(url).map_err(|why| bad(&why))?;
                if !self.network.store.is_zero() {
                    // Cluster nodes redirect clients (MOVED) to their own addresses.
                    return Err(bad(
                        "a store link cannot sit in front of a Redis Cluster (its nodes \
                         redirect clients to their own addresses): drop --store-delay",
                    ));
                }
            } else if !url.starts_with("redis://") && !url.starts_with("rediss://") {
                return Err(bad(
                    "expected redis://HOST:PORT or redis+cluster://HOST:PORT[,HOST:PORT…]",
                ));
            }
        }
        if let Some(functions) = &self.functions {
            functions.validate()?;
            if !matches!(self.balancer, BalancerKind::Builtin | BalancerKind::Gateway) {
                return Err(ClusterError::bad_flag(
                    "--balancer",
                    self.balancer,
                    "function pools sit behind the built-in balancer: use --balancer gateway \
                     (or builtin)",
                ));
            }
        }
        if !self.authorizer_cache_ttl.is_zero() && self.balancer != BalancerKind::Gateway {
            return Err(ClusterError::bad_flag(
                "--authorizer-cache-ttl",
                format!("{:?}", self.authorizer_cache_ttl),
                "only the gateway has an authorizer: add --balancer gateway",
            ));
        }
        let gateway = self.balancer == BalancerKind::Gateway;
        let owned_with_gateway = ["--trust-gateway", "--identity-secret-file"];
        let owned = ["--listen", "--replica-id", "--redis-url"]
            .into_iter()
            .chain(owned_with_gateway.into_iter().filter(|_| gateway));
        for owned in owned {
            if self.has_serve_flag(owned) {
                let reason = match owned {
                    "--redis-url" => {
                        "the cluster sets it: use `cluster --redis-url` or `--redis-server`"
                    }
                    "--trust-gateway" | "--identity-secret-file" => {
                        "the cluster sets it with --balancer gateway"
                    }
                    _ => "the cluster sets it for every replica",
                };
                return Err(ClusterError::bad_flag(
                    format!("-- {owned}"),
                    self.serve_args.join(" "),
                    reason,
                ));
            }
        }
        let serve = parse_serve_args(&self.serve_args)?;
        if gateway {
            self.check_gateway(&serve)?;
        }
        Ok(serve)
    }

    /// What `--balancer gateway` cannot work with.
    fn check_gateway(&self, serve: &ServeArgs) -> Result<(), ClusterError> {
        if serve.jwt_alg == JwtAlg::Hs256 {
            return Err(ClusterError::bad_flag(
                "--jwt-alg",
                serve.jwt_alg,
                "--balancer gateway verifies with the keys the replicas publish in their JWKS, \
                 and a shared HS256 secret is never published (real gateways' JWT authorizers \
                 take asymmetric keys only): add `-- --jwt-alg ES256` (or RS256, EdDSA)",
            ));
        }
        let checked = matches!(
            serve.revocation,
            Revocation::Denylist | Revocation::TokenVersion
        );
        if checked && self.redis == RedisMode::None {
            return Err(ClusterError::bad_flag(
                "--revocation",
                serve.revocation,
                "with --balancer gateway the edge checks revocation and the replicas trust it, so \
                 the revocation state must be shared: add --redis-server or --redis-url",
            ));
        }
        Ok(())
    }

    /// Whether the replica flags contain `flag` (as `--flag VALUE` or `--flag=VALUE`).
    pub fn has_serve_flag(&self, flag: &str) -> bool {
        self.serve_args.iter().any(|a| {
            a == flag
                || a.strip_prefix(flag)
                    .is_some_and(|rest| rest.starts_with('='))
        })
    }
}

/// Parses `bench-server serve` arguments the way a replica will.
pub fn parse_serve_args(args: &[String]) -> Result<ServeArgs, ClusterError> {
    let argv = ["bench-server serve"]
        .into_iter()
        .map(str::to_owned)
        .chain(args.iter().cloned());
    ServeCommand::try_parse_from(argv)
        .map(|command| command.args)
        .map_err(|err| {
            ClusterError::bad_flag(
                "-- SERVE_FLAGS",
                args.join(" "),
                err.to_string()
                    .lines()
                    .next()
                    .unwrap_or("invalid")
                    .to_owned(),
            )
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn spec(args: &[&str]) -> ClusterSpec {
        ClusterSpec {
            serve_args: args.iter().map(|s| (*s).to_owned()).collect(),
            ..ClusterSpec::new("bench-server")
        }
    }

    #[test]
    fn serve_flags_are_parsed_and_owned_flags_refused() {
        let args = spec(&["--users", "7", "--jwt-alg", "ES256"])
            .validate()
            .unwrap();
        assert_eq!(args.users, 7);
        for owned in ["--listen", "--replica-id", "--redis-url"] {
            let err = spec(&[owned, "x"]).validate().unwrap_err().to_string();
            assert!(err.starts_with(&format!("-- {owned}")), "{err}");
        }
        let err = spec(&["--replica-id=x"])
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("--replica-id"), "{err}");
        let err = spec(&["--users", "many"])
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("--users many"), "{err}");
    }

    #[test]
    fn the_gateway_needs_published_keys_and_shared_revocation_state() {
        let gateway = |args: &[&str], redis: RedisMode| ClusterSpec {
            balancer: BalancerKind::Gateway,
            redis,
            ..spec(args)
        };
        let err = gateway(&[], RedisMode::None)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("--jwt-alg HS256: --balancer gateway"),
            "{err}"
        );
        assert!(gateway(&["--jwt-alg", "ES256"], RedisMode::None)
            .validate()
            .is_ok());
        let denylist = ["--jwt-alg", "ES256", "--revocation", "denylist"];
        let err = gateway(&denylist, RedisMode::None)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("--revocation denylist"), "{err}");
        assert!(gateway(&denylist, RedisMode::Spawn).validate().is_ok());
        let err = gateway(&["--jwt-alg", "ES256", "--trust-gateway"], RedisMode::None)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("-- --trust-gateway"), "{err}");
    }

    #[test]
    fn impossible_combinations_name_the_flag() {
        let nginx_sticky = ClusterSpec {
            balancer: BalancerKind::Nginx,
            policy: Policy::StickyCookie,
            ..spec(&[])
        };
        let err = nginx_sticky.validate().unwrap_err().to_string();
        assert!(
            err.starts_with("--policy sticky-cookie: open-source nginx"),
            "{err}"
        );
        let none = ClusterSpec {
            replicas: 0,
            ..spec(&[])
        };
        assert!(none
            .validate()
            .unwrap_err()
            .to_string()
            .starts_with("--replicas 0"));
        let redis = ClusterSpec {
            redis: RedisMode::External("localhost:6379".into()),
            ..spec(&[])
        };
        assert!(redis
            .validate()
            .unwrap_err()
            .to_string()
            .starts_with("--redis-url localhost:6379"));
        for (url, why) in [
            ("redis+cluster://:pw@h:1,h:x", "not 1-65535"),
            ("redis+cluster://:pw@h:1,h:2", "--store-delay"),
        ] {
            let mut spec = ClusterSpec {
                redis: RedisMode::External(url.into()),
                ..spec(&[])
            };
            spec.network.store = Duration::from_micros(250);
            let err = spec.validate().unwrap_err().to_string();
            assert!(
                err.starts_with("--redis-url redis+cluster://***@h:1,h:"),
                "{err}"
            );
            assert!(err.contains(why) && !err.contains("pw"), "{err}");
        }
        let cluster = ClusterSpec {
            redis: RedisMode::External("redis+cluster://h:1,h:2".into()),
            ..spec(&[])
        };
        assert!(cluster.validate().is_ok());
    }

    #[test]
    fn function_pools_and_the_authorizer_cache_name_what_they_need() {
        let pool = |f: FunctionsSpec, balancer: BalancerKind| ClusterSpec {
            functions: Some(f),
            balancer,
            ..spec(&["--jwt-alg", "ES256"])
        };
        let ok = FunctionsSpec::default();
        assert!(pool(ok, BalancerKind::Gateway).validate().is_ok());
        for (bad, flag) in [
            (
                FunctionsSpec {
                    max_instances: 0,
                    ..ok
                },
                "--max-instances 0",
            ),
            (
                FunctionsSpec {
                    instance_concurrency: 0,
                    ..ok
                },
                "--instance-concurrency 0",
            ),
            (
                FunctionsSpec {
                    idle_timeout: Duration::ZERO,
                    ..ok
                },
                "--idle-timeout 0s",
            ),
        ] {
            let err = pool(bad, BalancerKind::Builtin).validate().unwrap_err();
            assert!(err.to_string().starts_with(flag), "{err}");
        }
        let err = pool(ok, BalancerKind::Haproxy).validate().unwrap_err();
        assert!(err.to_string().starts_with("--balancer haproxy"), "{err}");
        let cached = ClusterSpec {
            authorizer_cache_ttl: Duration::from_secs(1),
            ..spec(&[])
        };
        let err = cached.validate().unwrap_err().to_string();
        assert!(err.starts_with("--authorizer-cache-ttl"), "{err}");
    }
}
