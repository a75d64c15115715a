//! What a running cluster consists of: URLs and child PIDs, as `bench-server cluster` prints
//! them (one JSON object on one line with `--json`).

use serde::Serialize;

use super::links::HopKind;
use super::redis::RedisChild;
use super::spec::BalancerKind;

/// The cluster, for printing and for scripts.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ClusterInfo {
    /// Where clients connect.
    pub entry: String,
    /// Every replica.
    pub replicas: Vec<ReplicaInfo>,
    /// The Redis the replicas use (`pid` is `null` for an external one).
    pub redis: Option<RedisInfo>,
    /// The balancer (`null` with `--balancer none`).
    pub balancer: Option<BalancerInfo>,
    /// Links in delayed hops (absent on loopback).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<LinkInfo>,
    /// The function pool behind the balancer (absent without `--functions`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub functions: Option<FunctionsInfo>,
    /// Every child PID: balancer, function pool, replicas, Redis, links.
    pub pids: Vec<u32>,
}

/// A link in a hop.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LinkInfo {
    /// Its hop.
    pub hop: HopKind,
    /// What it leads to.
    pub to: String,
    /// `HOST:PORT` it listens on.
    pub listen: String,
    /// `HOST:PORT` it forwards to.
    pub upstream: String,
    /// One-way delay, µs.
    pub delay_us: u64,
    /// Its admin URL (`/metrics`, toxics).
    pub admin_url: String,
    /// Its PID.
    pub pid: u32,
    /// Median round trip through it at start, µs (rounded).
    pub rtt_us: Option<u64>,
    /// Median round trip to its upstream directly at start, µs (rounded).
    pub direct_rtt_us: Option<u64>,
}

/// One replica.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReplicaInfo {
    /// `r<i>`.
    pub id: String,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// `null` while killed.
    pub pid: Option<u32>,
}

/// The Redis.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RedisInfo {
    /// `redis://…`.
    pub url: String,
    /// The child's PID; `null` for an external Redis.
    pub pid: Option<u32>,
}

/// The function pool (its instances come and go: `GET ADMIN/instances` lists them).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FunctionsInfo {
    /// Where the balancer sends requests.
    pub url: String,
    /// Its admin URL (`/metrics`, `/instances`).
    pub admin_url: String,
    /// Its PID.
    pub pid: u32,
}

/// The balancer.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BalancerInfo {
    /// `builtin`, `gateway`, `haproxy` or `nginx`.
    pub kind: BalancerKind,
    /// Its entry URL.
    pub url: String,
    /// The built-in balancer's admin URL (`/metrics`).
    pub admin_url: Option<String>,
    /// Its PID.
    pub pid: u32,
}

impl ClusterInfo {
    pub(super) fn of(cluster: &super::Cluster) -> ClusterInfo {
        let (replicas, redis, redis_url) = (
            &cluster.replicas,
            cluster.redis.as_ref(),
            cluster.redis_url.as_deref(),
        );
        let (balancer, functions) = (cluster.balancer.as_ref(), cluster.functions.as_ref());
        let (links, hops, entry) = (&cluster.links, &cluster.hops, cluster.entry_url());
        let links: Vec<LinkInfo> = links
            .iter()
            .zip(hops.iter().map(Some).chain(std::iter::repeat(None)))
            .map(|(l, m)| LinkInfo {
                hop: l.hop,
                to: l.to.clone(),
                listen: l.listen.to_string(),
                upstream: l.upstream.to_string(),
                delay_us: u64::try_from(l.delay.as_micros()).unwrap_or(u64::MAX),
                admin_url: l.admin_url.clone(),
                pid: l.process.pid(),
                rtt_us: m.map(|m| m.rtt_us.round() as u64),
                direct_rtt_us: m.map(|m| m.direct_rtt_us.round() as u64),
            })
            .collect();
        let balancer = balancer.map(|b| BalancerInfo {
            kind: b.kind,
            url: b.url.clone(),
            admin_url: b.admin_url.clone(),
            pid: b.process.pid(),
        });
        let replicas: Vec<ReplicaInfo> = replicas
            .iter()
            .map(|r| ReplicaInfo {
                id: r.id().to_owned(),
                url: r.url().to_owned(),
                pid: r.pid(),
            })
            .collect();
        let redis_info = redis_url.map(|url| RedisInfo {
            url: url.to_owned(),
            pid: redis.and_then(RedisChild::pid),
        });
        let functions = functions.map(|p| FunctionsInfo {
            url: p.url.clone(),
            admin_url: p.admin_url.clone(),
            pid: p.process.pid(),
        });
        let pids = balancer
            .iter()
            .map(|b| Some(b.pid))
            .chain(functions.iter().map(|f| Some(f.pid)))
            .chain(replicas.iter().map(|r| r.pid))
            .chain(redis_info.iter().map(|r| r.pid))
            .chain(links.iter().map(|l| Some(l.pid)))
            .flatten()
            .collect();
        ClusterInfo {
            entry,
            replicas,
            redis: redis_info,
            balancer,
            links,
            functions,
            pids,
        }
    }

    /// The human-readable form: `entry URL`, then `replica ID URL` per replica, then
    /// `redis URL` and `balancer KIND URL [admin URL]` when present.
    pub fn to_text(&self) -> String {
        let mut out = format!("entry {}\n", self.entry);
        for r in &self.replicas {
            out.push_str(&format!("replica {} {}\n", r.id, r.url));
        }
        if let Some(redis) = &self.redis {
            out.push_str(&format!("redis {}\n", redis.url));
        }
        if let Some(b) = &self.balancer {
            out.push_str(&format!("balancer {} {}", b.kind, b.url));
            if let Some(admin) = &b.admin_url {
                out.push_str(&format!(" admin {admin}"));
            }
            out.push('\n');
        }
        if let Some(f) = &self.functions {
            out.push_str(&format!("functions {} admin {}\n", f.url, f.admin_url));
        }
        for l in &self.links {
            out.push_str(&format!(
                "link {} {} → {} ({} µs one way{}) admin {}\n",
                l.hop.as_str(),
                l.listen,
                l.to,
                l.delay_us,
                match (l.rtt_us, l.direct_rtt_us) {
                    (Some(rtt), Some(direct)) =>
                        format!(", round trip {rtt} µs, direct {direct} µs"),
                    _ => String::new(),
                },
                l.admin_url
            ));
        }
        out
    }
}
