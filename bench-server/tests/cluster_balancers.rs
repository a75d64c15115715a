//! The same cluster behind the system HAProxy and nginx: round robin spreads evenly, sticky
//! cookies pin (HAProxy), the session hash pins (nginx, which has no open-source sticky
//! cookie). Skipped with a message when a binary is missing, unless
//! `AUTHBENCH_REQUIRE_BALANCERS` is `1` or `true` (scripts/test sets `1` after installing
//! both).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bench_server::balance::Policy;
use bench_server::cluster::{BalancerKind, Cluster, ClusterError, ClusterSpec};
use common::balancer::{count_replicas, replica_of, server_id_from};
use common::cluster::{assert_all_gone, balancer_available_or_skip, spec};

async fn start(balancer: BalancerKind, policy: Policy) -> Cluster {
    Cluster::start(ClusterSpec {
        balancer,
        policy,
        ..spec()
    })
    .await
    .unwrap()
}

async fn stop(cluster: Cluster) {
    let pids = cluster.info().pids;
    cluster.shutdown().await;
    assert_all_gone(&pids);
}

async fn assert_round_robin_is_even(cluster: &Cluster) {
    let client = reqwest::Client::new();
    let counts = count_replicas(&client, &format!("{}/healthz", cluster.entry_url()), 300).await;
    assert_eq!(counts.len(), 3, "{counts:?}");
    for (replica, n) in &counts {
        assert!(
            (95..=105).contains(n),
            "{replica} got {n} of 300: {counts:?}"
        );
    }
}

#[tokio::test]
async fn haproxy_round_robin_spreads_evenly() {
    if !balancer_available_or_skip("haproxy_round_robin", "haproxy") {
        return;
    }
    let cluster = start(BalancerKind::Haproxy, Policy::RoundRobin).await;
    assert_eq!(cluster.info().balancer.unwrap().kind, BalancerKind::Haproxy);
    assert_round_robin_is_even(&cluster).await;
    stop(cluster).await;
}

#[tokio::test]
async fn haproxy_sticky_cookie_keeps_a_client_on_one_replica() {
    if !balancer_available_or_skip("haproxy_sticky_cookie", "haproxy") {
        return;
    }
    let cluster = start(BalancerKind::Haproxy, Policy::StickyCookie).await;
    let client = reqwest::Client::new();
    let url = format!("{}/healthz", cluster.entry_url());
    let mut pins = std::collections::BTreeSet::new();
    for _ in 0..3 {
        let first = client.get(&url).send().await.unwrap();
        let pin = server_id_from(&first).expect("HAProxy inserts SERVERID");
        assert_eq!(replica_of(&first), pin);
        pins.insert(pin);
    }
    assert_eq!(pins.len(), 3, "new clients are spread: {pins:?}");
    for pin in pins {
        for _ in 0..10 {
            let response = client
                .get(&url)
                .header("cookie", format!("SERVERID={pin}"))
                .send()
                .await
                .unwrap();
            assert_eq!(replica_of(&response), pin);
            assert_eq!(
                server_id_from(&response),
                None,
                "indirect: not inserted again"
            );
        }
    }
    stop(cluster).await;
}

#[tokio::test]
async fn nginx_round_robin_spreads_evenly() {
    if !balancer_available_or_skip("nginx_round_robin", "nginx") {
        return;
    }
    let cluster = start(BalancerKind::Nginx, Policy::RoundRobin).await;
    assert_round_robin_is_even(&cluster).await;
    stop(cluster).await;
}

#[tokio::test]
async fn nginx_pins_by_session_hash_and_refuses_sticky_cookie() {
    let err = Cluster::start(ClusterSpec {
        balancer: BalancerKind::Nginx,
        policy: Policy::StickyCookie,
        ..spec()
    })
    .await
    .unwrap_err();
    assert!(matches!(err, ClusterError::BadFlag { .. }), "{err}");
    assert!(err.to_string().contains("hash-session"), "{err}");
    if !balancer_available_or_skip("nginx_session_hash", "nginx") {
        return;
    }
    let cluster = start(BalancerKind::Nginx, Policy::HashSession).await;
    let client = reqwest::Client::new();
    let url = format!("{}/healthz", cluster.entry_url());
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..30 {
        let mut replicas = std::collections::BTreeSet::new();
        for _ in 0..4 {
            let response = client
                .get(&url)
                .header("cookie", format!("sid=session-{i}"))
                .send()
                .await
                .unwrap();
            replicas.insert(replica_of(&response));
        }
        assert_eq!(replicas.len(), 1, "sid session-{i} went to {replicas:?}");
        seen.extend(replicas);
    }
    assert_eq!(seen.len(), 3, "{seen:?}");
    stop(cluster).await;
}
