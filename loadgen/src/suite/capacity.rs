//! The shared store's own capacity: unpipelined `GET`s from many connections against the
//! Redis the suite uses, for the scale-out projection. The load comes from this process on
//! the same cores, so on a small machine it is a lower bound.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context as _};

use super::context::SuiteContext;
use super::deploy;
use super::matrix::CapacityEntry;
use super::state_cost::config_of;
use authbench_report::model::StoreCapacity;
use authbench_report::vocabulary::StateMeasure;

/// Measures Redis GETs per second.
pub async fn measure(ctx: &SuiteContext, entry: &CapacityEntry) -> anyhow::Result<StoreCapacity> {
    let deployment = deploy::start(ctx, &config_of(StateMeasure::SessionRedis), 1).await?;
    let url = deployment
        .cluster
        .redis_url()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("the cluster has no Redis"));
    let result = match url {
        Ok(url) => {
            hammer(
                &url,
                entry.connections,
                Duration::from_secs_f64(entry.seconds),
            )
            .await
        }
        Err(e) => Err(e),
    };
    deployment.stop().await;
    let ops_per_second = result?;
    Ok(StoreCapacity {
        method: format!(
            "redis GET of one key, {} connections, unpipelined, from the suite's own process",
            entry.connections
        ),
        ops_per_second: ops_per_second.round(),
        connections: entry.connections,
    })
}

async fn hammer(url: &str, connections: usize, length: Duration) -> anyhow::Result<f64> {
    let client = redis::Client::open(url).with_context(|| format!("redis {url}"))?;
    // redis 1.x gives async connections a 500 ms response timeout by default; a slow reply
    // under saturation must count as slow, not end that connection's loop, so none here.
    let config = redis::AsyncConnectionConfig::new().set_response_timeout(None);
    let key = "authbench-suite-capacity-probe";
    let mut setup = client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .with_context(|| format!("redis {url}"))?;
    redis::cmd("SET")
        .arg(key)
        .arg("x".repeat(64))
        .query_async::<()>(&mut setup)
        .await
        .with_context(|| format!("redis {url} SET"))?;
    let ops = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..connections {
        // A connection of its own each, so every GET waits for its reply (no pipelining).
        let mut conn = client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .with_context(|| format!("redis {url}"))?;
        let (ops, done) = (Arc::clone(&ops), Arc::clone(&done));
        tasks.spawn(async move {
            while !done.load(Relaxed) {
                let got: redis::RedisResult<Option<String>> =
                    redis::cmd("GET").arg(key).query_async(&mut conn).await;
                if got.is_err() {
                    break;
                }
                ops.fetch_add(1, Relaxed);
            }
        });
    }
    let started = Instant::now();
    tokio::time::sleep(length).await;
    let count = ops.load(Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    done.store(true, Relaxed);
    while tasks.join_next().await.is_some() {}
    Ok(count as f64 / elapsed)
}
