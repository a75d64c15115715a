//! `--balancer gateway`: a cluster of real processes behind the built-in balancer in gateway
//! mode — tokens verified at the edge with r0's keys, replicas trusting the forwarded
//! identity, revocation checked at the edge in the shared Redis, HS256 refused up front.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bench_server::cluster::{BalancerKind, Cluster, ClusterError, ClusterSpec, RedisMode};
use common::cluster::{assert_all_gone, redis_available_or_skip, spec};
use serde_json::{json, Value};

fn gateway_spec(extra: &[&str], redis: RedisMode) -> ClusterSpec {
    let mut spec = ClusterSpec {
        balancer: BalancerKind::Gateway,
        replicas: 2,
        redis,
        ..spec()
    };
    spec.serve_args
        .extend(extra.iter().map(|s| (*s).to_owned()));
    spec
}

async fn login(client: &reqwest::Client, entry: &str, i: usize) -> String {
    let response = client
        .post(format!("{entry}/jwt/login"))
        .json(&json!({"username": format!("user{i}"), "password": format!("secret-{i}")}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn me(client: &reqwest::Client, entry: &str, token: &str) -> (u16, Value) {
    let response = client
        .get(format!("{entry}/jwt/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn hs256_is_refused_before_anything_starts() {
    let err = Cluster::start(gateway_spec(&[], RedisMode::None))
        .await
        .unwrap_err();
    assert!(matches!(err, ClusterError::BadFlag { .. }), "{err}");
    assert!(err.to_string().starts_with("--jwt-alg HS256"), "{err}");
}

#[tokio::test]
async fn tokens_are_verified_at_the_edge_and_trusted_by_the_replicas() {
    let redis = redis_available_or_skip("cluster gateway with revocation");
    let (extra, mode): (&[&str], RedisMode) = if redis {
        (
            &["--jwt-alg", "ES256", "--revocation", "denylist"],
            RedisMode::Spawn,
        )
    } else {
        (&["--jwt-alg", "ES256"], RedisMode::None)
    };
    let cluster = Cluster::start(gateway_spec(extra, mode)).await.unwrap();
    let info = cluster.info();
    assert_eq!(info.balancer.as_ref().unwrap().kind, BalancerKind::Gateway);
    let entry = cluster.entry_url();
    let client = reqwest::Client::new();

    let token = login(&client, &entry, 1).await;
    for _ in 0..4 {
        let (status, body) = me(&client, &entry, &token).await;
        assert_eq!((status, body["user"].as_str()), (200, Some("user1")));
    }
    let (status, body) = me(&client, &entry, "a.b.c").await;
    assert_eq!((status, body["error"].as_str()), (401, Some("malformed")));

    let admin = cluster.balancer_admin_url().unwrap();
    let metrics = client
        .get(format!("{admin}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("authbench_gateway_verifications_total{result=\"ok\"} 4"),
        "{metrics}"
    );
    let mut trusted = 0;
    for url in cluster.replica_urls() {
        let text = client
            .get(format!("{url}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let line = text
            .lines()
            .find(|l| l.starts_with("authbench_trusted_identity_total"))
            .unwrap();
        trusted += line.rsplit(' ').next().unwrap().parse::<u64>().unwrap();
    }
    assert_eq!(
        trusted, 4,
        "every verified request was trusted by a replica"
    );

    if redis {
        // Logout at a replica (through the gateway) is seen at the edge.
        let logout = client
            .post(format!("{entry}/jwt/logout"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(logout.status(), 200);
        let (status, body) = me(&client, &entry, &token).await;
        assert_eq!((status, body["error"].as_str()), (401, Some("revoked")));
    }
    let pids = cluster.info().pids;
    cluster.shutdown().await;
    assert_all_gone(&pids);
}

#[tokio::test]
async fn functions_behind_the_gateway_start_on_demand_and_stop_with_the_cluster() {
    let mut spec = gateway_spec(&["--jwt-alg", "ES256"], RedisMode::None);
    spec.replicas = 1;
    spec.functions = Some(bench_server::cluster::FunctionsSpec {
        max_instances: 2,
        instance_concurrency: 1,
        idle_timeout: std::time::Duration::from_secs(10),
    });
    let cluster = Cluster::start(spec).await.unwrap();
    let info = cluster.info();
    let pool = info
        .functions
        .clone()
        .expect("the pool in the cluster's info");
    assert!(info.pids.contains(&pool.pid));
    let client = reqwest::Client::new();
    let entry = cluster.entry_url();
    // The balancer's health checks are answered by the pool: no instance runs yet.
    let instances: Value = client
        .get(format!("{}/instances", pool.admin_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        instances["instances"].as_array().map(Vec::len),
        Some(0),
        "{instances}"
    );
    // A login starts an instance; the token it signs verifies at the edge with r0's keys.
    let token = login(&client, &entry, 1).await;
    let (status, body) = me(&client, &entry, &token).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["replica"].as_str().unwrap().starts_with('f'), "{body}");
    let mut pids = info.pids.clone();
    let instances: Value = client
        .get(format!("{}/instances", pool.admin_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    pids.extend(
        instances["instances"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|i| i["pid"].as_u64().map(|p| p as u32)),
    );
    assert!(pids.len() > info.pids.len(), "{instances}");
    cluster.shutdown().await;
    assert_all_gone(&pids);
}
