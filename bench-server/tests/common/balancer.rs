//! An in-process built-in balancer on 127.0.0.1:0 with its admin port, and helpers to count
//! where requests went.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bench_server::balance::{BalanceConfig, Balancer, Policy};
use bench_server::gateway::Gateway;
use tokio::sync::oneshot;

pub struct TestBalancer {
    pub url: String,
    pub admin_url: String,
    pub balancer: Arc<Balancer>,
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestBalancer {
    /// `backends` are `NAME=http://HOST:PORT`.
    pub async fn start(
        backends: &[String],
        policy: Policy,
        health_interval: Duration,
    ) -> TestBalancer {
        TestBalancer::start_with_gateway(backends, policy, health_interval, None).await
    }

    /// The same, in gateway mode when `gateway` is given.
    pub async fn start_with_gateway(
        backends: &[String],
        policy: Policy,
        health_interval: Duration,
        gateway: Option<Arc<Gateway>>,
    ) -> TestBalancer {
        let config = BalanceConfig {
            backends: backends.iter().map(|b| b.parse().unwrap()).collect(),
            policy,
            health_interval,
        };
        let balancer = config.build_with(gateway).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let admin_url = format!("http://{}", admin.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(bench_server::balance::run(
            listener,
            Some(admin),
            Arc::clone(&balancer),
            health_interval,
            async move {
                let _ = stopped.await;
            },
        ));
        TestBalancer {
            url,
            admin_url,
            balancer,
            client: super::client(),
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub async fn metrics(&self) -> String {
        let response = self
            .client
            .get(format!("{}/metrics", self.admin_url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    }

    /// Polls the metrics until `line` appears (bounded: 10 s).
    pub async fn wait_for_metric(&self, line: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = self.metrics().await;
            if text.lines().any(|l| l == line) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "metric line {line:?} never appeared:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }
}

/// Sends `n` GETs of `url` one after the other; counts responses by `X-Replica`.
pub async fn count_replicas(
    client: &reqwest::Client,
    url: &str,
    n: usize,
) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for _ in 0..n {
        let response = client.get(url).send().await.unwrap();
        assert_eq!(response.status(), 200, "GET {url}");
        *counts.entry(replica_of(&response)).or_default() += 1;
    }
    counts
}

pub fn replica_of(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("x-replica")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// The `SERVERID` value of a response's `Set-Cookie`, if it set one.
pub fn server_id_from(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("SERVERID="))
        .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
}
