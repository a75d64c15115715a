//! Reading what the servers themselves count: replica `/metrics` (Prometheus text), the
//! balancer's CPU from `/proc`, and Redis `INFO`.
//!
//! The suite scrapes before and after each measured window; the deltas give CPU per request,
//! store operations per request and the server-side request count that cross-checks
//! loadgen's own.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{bail, Context as _};

/// One replica's counters at one instant.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplicaSnapshot {
    /// `process_cpu_seconds_total`.
    pub cpu_seconds: f64,
    /// Of which in user space (`authbench_process_cpu_seconds_total{mode="user"}`).
    pub cpu_user_seconds: f64,
    /// Of which in the kernel (`authbench_process_cpu_seconds_total{mode="system"}`).
    pub cpu_system_seconds: f64,
    /// `process_resident_memory_bytes`.
    pub rss_bytes: u64,
    /// `authbench_http_requests_total` by route (all statuses).
    pub requests: BTreeMap<String, u64>,
    /// Store operations (`authbench_store_op_duration_seconds_count`, all ops).
    pub store_ops: u64,
}

impl ReplicaSnapshot {
    /// Requests on the routes a load generator drives (everything but `/metrics` and
    /// `/healthz`, which the suite and balancers' health checks also hit), or only
    /// `/healthz` when `healthz` is set.
    pub fn load_requests(&self, healthz: bool) -> u64 {
        self.requests
            .iter()
            .filter(|(route, _)| {
                if healthz {
                    route.as_str() == "/healthz"
                } else {
                    !matches!(route.as_str(), "/metrics" | "/healthz")
                }
            })
            .map(|(_, n)| n)
            .sum()
    }
}

/// Redis's counters at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RedisSnapshot {
    /// `used_cpu_user + used_cpu_sys`, seconds.
    pub cpu_seconds: f64,
    /// `used_memory`, bytes.
    pub used_memory: u64,
}

/// One line of the Prometheus text format: name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub struct PromSample {
    /// Metric name.
    pub name: String,
    /// Labels in order.
    pub labels: Vec<(String, String)>,
    /// Value.
    pub value: f64,
}

impl PromSample {
    /// The value of label `key`.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses the Prometheus text exposition format (comments skipped; unparsable lines
/// ignored, so an exporter's extension never breaks a run).
pub fn parse_prometheus(text: &str) -> Vec<PromSample> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(parse_line)
        .collect()
}

fn parse_line(line: &str) -> Option<PromSample> {
    let (name, labels, rest) = match line.find('{') {
        Some(open) => {
            let close = line.rfind('}')?;
            (
                &line[..open],
                parse_labels(&line[open + 1..close])?,
                &line[close + 1..],
            )
        }
        None => {
            let (name, rest) = line.split_once(char::is_whitespace)?;
            (name, Vec::new(), rest)
        }
    };
    let value = rest.split_whitespace().next()?.parse().ok()?;
    Some(PromSample {
        name: name.trim().to_owned(),
        labels,
        value,
    })
}

fn parse_labels(text: &str) -> Option<Vec<(String, String)>> {
    let mut labels = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Some(labels);
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if chars.next() != Some('"') {
            return None;
        }
        let mut value = String::new();
        loop {
            match chars.next()? {
                '\\' => match chars.next()? {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                '"' => break,
                c => value.push(c),
            }
        }
        labels.push((key.trim().to_owned(), value));
    }
}

/// Any exporter's samples at one instant (the gateway's and the function pool's
/// `/metrics`), summed by name or by name and one label.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counters(Vec<PromSample>);

impl Counters {
    /// Parses a `/metrics` text.
    pub fn parse(text: &str) -> Counters {
        Counters(parse_prometheus(text))
    }

    /// The sum of every sample named `name`.
    pub fn sum(&self, name: &str) -> f64 {
        self.0
            .iter()
            .filter(|s| s.name == name)
            .map(|s| s.value)
            .sum()
    }

    /// The sum of the samples named `name` whose label `key` is `value`.
    pub fn sum_where(&self, name: &str, key: &str, value: &str) -> f64 {
        self.0
            .iter()
            .filter(|s| s.name == name && s.label(key) == Some(value))
            .map(|s| s.value)
            .sum()
    }

    /// The samples named `name`, summed per value of label `key`.
    pub fn by_label(&self, name: &str, key: &str) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        for s in self.0.iter().filter(|s| s.name == name) {
            *out.entry(s.label(key).unwrap_or("").to_owned())
                .or_default() += s.value;
        }
        out
    }
}

/// Fetches and parses `BASE/metrics` of any exporter.
pub async fn counters(client: &reqwest::Client, base: &str) -> anyhow::Result<Counters> {
    let url = format!("{}/metrics", base.trim_end_matches('/'));
    let response = client
        .get(&url)
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    if !response.status().is_success() {
        bail!("GET {url}: HTTP {}", response.status());
    }
    Ok(Counters::parse(&response.text().await?))
}

/// A replica's snapshot from its `/metrics` text.
pub fn replica_snapshot(text: &str) -> ReplicaSnapshot {
    let mut snap = ReplicaSnapshot::default();
    for sample in parse_prometheus(text) {
        match sample.name.as_str() {
            "process_cpu_seconds_total" => snap.cpu_seconds = sample.value,
            "process_resident_memory_bytes" => snap.rss_bytes = sample.value as u64,
            "authbench_process_cpu_seconds_total" => match sample.label("mode") {
                Some("user") => snap.cpu_user_seconds += sample.value,
                Some("system") => snap.cpu_system_seconds += sample.value,
                _ => {}
            },
            "authbench_http_requests_total" => {
                let route = sample.label("route").unwrap_or("?").to_owned();
                *snap.requests.entry(route).or_default() += sample.value as u64;
            }
            "authbench_store_op_duration_seconds_count" => snap.store_ops += sample.value as u64,
            _ => {}
        }
    }
    snap
}

/// Fetches and parses `BASE/metrics`.
pub async fn replica(client: &reqwest::Client, base: &str) -> anyhow::Result<ReplicaSnapshot> {
    let url = format!("{base}/metrics");
    let response = client
        .get(&url)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .with_context(|| format!("scraping {url}"))?;
    if !response.status().is_success() {
        bail!("scraping {url}: HTTP {}", response.status());
    }
    let text = response
        .text()
        .await
        .with_context(|| format!("scraping {url}"))?;
    Ok(replica_snapshot(&text))
}

/// Parses Redis `INFO` output.
pub fn redis_snapshot(info: &str) -> RedisSnapshot {
    let mut snap = RedisSnapshot::default();
    for line in info.lines() {
        let Some((key, value)) = line.trim().split_once(':') else {
            continue;
        };
        match key {
            "used_cpu_user" | "used_cpu_sys" => {
                snap.cpu_seconds += value.parse::<f64>().unwrap_or(0.0);
            }
            "used_memory" => snap.used_memory = value.parse().unwrap_or(0),
            _ => {}
        }
    }
    snap
}

/// `INFO cpu` + `INFO memory` from the Redis at `url`.
pub async fn redis(url: &str) -> anyhow::Result<RedisSnapshot> {
    let client = redis::Client::open(url).with_context(|| format!("redis {url}"))?;
    // As under redis 0.32: the 5 s bound below covers connecting and INFO has no timeout of
    // its own; redis 1.x's default 1 s connect / 500 ms response timeouts could fail the
    // scrape while the run saturates Redis.
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(None)
        .set_response_timeout(None);
    let mut conn = tokio::time::timeout(
        Duration::from_secs(5),
        client.get_multiplexed_async_connection_with_config(&config),
    )
    .await
    .with_context(|| format!("redis {url}: connect timed out"))?
    .with_context(|| format!("redis {url}"))?;
    let mut text = String::new();
    for section in ["cpu", "memory"] {
        let part: String = redis::cmd("INFO")
            .arg(section)
            .query_async(&mut conn)
            .await
            .with_context(|| format!("redis {url} INFO {section}"))?;
        text.push_str(&part);
    }
    Ok(redis_snapshot(&text))
}

/// CPU seconds used so far by process `pid` and its direct children (nginx's workers are
/// children of its master), from `/proc`; `None` if the process is gone.
pub fn process_tree_cpu_seconds(pid: u32) -> Option<f64> {
    let ticks = ticks_per_second();
    let own = proc_stat(pid)?;
    let mut total = own.cpu_ticks;
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(child) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            if let Some(stat) = proc_stat(child).filter(|s| s.ppid == pid) {
                total += stat.cpu_ticks;
            }
        }
    }
    Some(total as f64 / ticks)
}

struct ProcStat {
    ppid: u32,
    cpu_ticks: u64,
}

fn proc_stat(pid: u32) -> Option<ProcStat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: fields start after the last ')'.
    let fields: Vec<&str> = text
        .get(text.rfind(')')? + 1..)?
        .split_whitespace()
        .collect();
    // After the name: state(0) ppid(1) … utime(11) stime(12).
    Some(ProcStat {
        ppid: fields.get(1)?.parse().ok()?,
        cpu_ticks: fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?,
    })
}

fn ticks_per_second() -> f64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .map_or(100.0, |t| t as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bench_server_metrics() {
        let text = "# HELP x y\n\
            authbench_http_requests_total{replica=\"r\\\"0\",route=\"/jwt/me\",status=\"200\"} 7\n\
            authbench_http_requests_total{replica=\"r0\",route=\"/jwt/me\",status=\"401\"} 3\n\
            authbench_http_requests_total{replica=\"r0\",route=\"/metrics\",status=\"200\"} 2\n\
            authbench_store_op_duration_seconds_count{replica=\"r0\",store=\"memory\",op=\"get\"} 10\n\
            authbench_store_op_duration_seconds_count{replica=\"r0\",store=\"memory\",op=\"create\"} 2\n\
            process_cpu_seconds_total 1.25\n\
            authbench_process_cpu_seconds_total{replica=\"r0\",mode=\"user\"} 1\n\
            authbench_process_cpu_seconds_total{replica=\"r0\",mode=\"system\"} 0.25\n\
            process_resident_memory_bytes 1.5e7\n\
            garbage line\n";
        let snap = replica_snapshot(text);
        assert_eq!(snap.requests["/jwt/me"], 10);
        assert_eq!(snap.load_requests(false), 10);
        assert_eq!(snap.store_ops, 12);
        assert_eq!(snap.cpu_seconds, 1.25);
        assert_eq!(
            (snap.cpu_user_seconds, snap.cpu_system_seconds),
            (1.0, 0.25)
        );
        assert_eq!(snap.rss_bytes, 15_000_000);
        let first = &parse_prometheus(text)[0];
        assert_eq!(first.label("replica"), Some("r\"0"));
    }

    #[test]
    fn counters_sum_by_name_and_label() {
        let c = Counters::parse(
            "a_total{reason=\"x\"} 2\na_total{reason=\"y\"} 3\na_total{reason=\"x\"} 1\nb 7\n",
        );
        assert_eq!(c.sum("a_total"), 6.0);
        assert_eq!(c.sum_where("a_total", "reason", "x"), 3.0);
        assert_eq!(c.by_label("a_total", "reason")["y"], 3.0);
        assert_eq!(c.sum("missing"), 0.0);
    }

    #[test]
    fn parses_redis_info() {
        let info = "# CPU\r\nused_cpu_sys:1.50\r\nused_cpu_user:2.25\r\n# Memory\r\nused_memory:1048576\r\nused_memory_human:1.00M\r\n";
        let snap = redis_snapshot(info);
        assert_eq!(snap.cpu_seconds, 3.75);
        assert_eq!(snap.used_memory, 1_048_576);
    }

    #[test]
    fn reads_own_process_cpu() {
        assert!(process_tree_cpu_seconds(std::process::id()).is_some());
        assert!(process_tree_cpu_seconds(u32::MAX).is_none());
    }
}
