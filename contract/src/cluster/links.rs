//! Network distance inside a cluster: a `bench-server link` child in each hop that has a
//! delay, and the round trip measured through each one when the cluster starts.
//!
//! The hops are client → entry (in front of the balancer, or of r0 without one), balancer →
//! each replica (the balancer's health checks cross it too) and replicas → Redis. Control
//! traffic — `/metrics` scrapes, Redis `INFO`, fault commands — goes to the parts directly.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::process::Command;

use super::child::{ChildLogs, ChildProcess};
use super::error::ClusterError;

/// Round trips timed through each link (and directly) at start; the median is kept.
const RTT_SAMPLES: u32 = 25;
/// Round trips made first and not timed (connection set-up, caches).
const RTT_WARMUP: u32 = 3;

/// The one-way delay of each hop (zero: no link in that hop).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NetworkDelays {
    /// Load generator → entry.
    pub client: Duration,
    /// Balancer → each replica (ignored without a balancer).
    pub balancer: Duration,
    /// Replicas → Redis (ignored without Redis).
    pub store: Duration,
}

impl NetworkDelays {
    /// No delay anywhere: plain loopback.
    pub fn is_zero(&self) -> bool {
        self.client.is_zero() && self.balancer.is_zero() && self.store.is_zero()
    }
}

/// A hop between tiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HopKind {
    /// Load generator → entry.
    Client,
    /// Balancer → replica.
    Balancer,
    /// Replica → store.
    Store,
}

impl HopKind {
    /// Its name: `client`, `balancer`, `store`.
    pub const fn as_str(self) -> &'static str {
        match self {
            HopKind::Client => "client",
            HopKind::Balancer => "balancer",
            HopKind::Store => "store",
        }
    }
}

/// What a hop's round trip is timed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probe {
    /// `GET /healthz` on a keep-alive connection.
    Http,
    /// Redis `PING` (any one-line reply counts, `-NOAUTH` included).
    RedisPing,
}

/// A running link child.
#[derive(Debug)]
pub struct RunningLink {
    /// Its hop.
    pub hop: HopKind,
    /// What it leads to: `entry`, a replica id, or `redis`.
    pub to: String,
    /// Where it listens.
    pub listen: SocketAddr,
    /// Where it forwards.
    pub upstream: SocketAddr,
    /// Its one-way delay.
    pub delay: Duration,
    /// Its admin URL (`/metrics`, toxics).
    pub admin_url: String,
    /// The process.
    pub process: ChildProcess,
    probe: Probe,
}

/// The round trip through one hop, measured at start.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HopMeasurement {
    /// The hop.
    pub hop: HopKind,
    /// What it leads to.
    pub to: String,
    /// The link's one-way delay, µs.
    pub delay_us: u64,
    /// Round trips timed, each way.
    pub samples: u32,
    /// Median through the link, µs.
    pub rtt_us: f64,
    /// Median to the same upstream directly, µs.
    pub direct_rtt_us: f64,
}

impl RunningLink {
    /// Starts `bench-server link` from `binary` in front of `upstream`.
    pub async fn start(
        binary: &std::path::Path,
        hop: HopKind,
        to: &str,
        upstream: SocketAddr,
        delay: Duration,
        logs: ChildLogs,
        timeout: Duration,
    ) -> Result<RunningLink, ClusterError> {
        let mut command = Command::new(binary);
        command
            .arg("link")
            .args(["--listen", "127.0.0.1:0"])
            .args(["--upstream", &upstream.to_string()])
            .args(["--delay", &format!("{}us", delay.as_micros())])
            .args(["--admin-listen", "127.0.0.1:0"]);
        let name = format!("link {} → {to}", hop.as_str());
        let mut process = ChildProcess::spawn(&name, command, logs)?;
        let listen = process.read_addr("listening on", "tcp://", timeout).await?;
        let admin_url = process.read_url("admin on", timeout).await?;
        let listen: SocketAddr = listen.parse().map_err(|_| ClusterError::Startup {
            name: name.clone(),
            reason: format!("printed an address that does not parse: {listen}"),
        })?;
        Ok(RunningLink {
            hop,
            to: to.to_owned(),
            listen,
            upstream,
            delay,
            admin_url,
            process,
            probe: match hop {
                HopKind::Store => Probe::RedisPing,
                HopKind::Client | HopKind::Balancer => Probe::Http,
            },
        })
    }

    /// Times round trips through the link and directly to its upstream.
    pub async fn measure(&self) -> Result<HopMeasurement, ClusterError> {
        let failed = |err: std::io::Error| ClusterError::Startup {
            name: format!("link {} → {}", self.hop.as_str(), self.to),
            reason: format!("timing round trips: {err}"),
        };
        let through = median_rtt(self.listen, self.probe).await.map_err(failed)?;
        let direct = median_rtt(self.upstream, self.probe)
            .await
            .map_err(failed)?;
        Ok(HopMeasurement {
            hop: self.hop,
            to: self.to.clone(),
            delay_us: u64::try_from(self.delay.as_micros()).unwrap_or(u64::MAX),
            samples: RTT_SAMPLES,
            rtt_us: through,
            direct_rtt_us: direct,
        })
    }
}

/// The median of [`RTT_SAMPLES`] sequential round trips to `addr`, µs.
async fn median_rtt(addr: SocketAddr, probe: Probe) -> std::io::Result<f64> {
    let mut stream = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(addr))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"))??;
    stream.set_nodelay(true)?;
    let mut samples = Vec::with_capacity(RTT_SAMPLES as usize);
    for i in 0..RTT_WARMUP + RTT_SAMPLES {
        let t0 = Instant::now();
        tokio::time::timeout(Duration::from_secs(5), round_trip(&mut stream, probe))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer in 5 s"))??;
        if i >= RTT_WARMUP {
            samples.push(t0.elapsed().as_secs_f64() * 1e6);
        }
    }
    samples.sort_by(f64::total_cmp);
    Ok(samples[samples.len() / 2])
}

/// One request and its whole answer.
async fn round_trip(stream: &mut TcpStream, probe: Probe) -> std::io::Result<()> {
    let request: &[u8] = match probe {
        Probe::Http => b"GET /healthz HTTP/1.1\r\nHost: authbench\r\n\r\n",
        Probe::RedisPing => b"*1\r\n$4\r\nPING\r\n",
    };
    stream.write_all(request).await?;
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 512];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        let complete = match probe {
            Probe::RedisPing => buf.ends_with(b"\r\n"),
            Probe::Http => http_complete(&buf),
        };
        if complete {
            return Ok(());
        }
    }
}

/// Whether `buf` holds a whole HTTP/1.1 response with a `Content-Length` body.
fn http_complete(buf: &[u8]) -> bool {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&buf[..end]);
    let length = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .unwrap_or(0);
    buf.len() >= end + 4 + length
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_http_answer_is_complete_with_its_body() {
        let head = b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\n";
        assert!(!http_complete(&head[..20]));
        assert!(!http_complete(head));
        assert!(http_complete(&[&head[..], b"ok\n"].concat()));
        assert!(http_complete(b"HTTP/1.1 204 No Content\r\n\r\n"));
    }
}
