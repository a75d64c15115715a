//! Fixtures: an in-process bench-server on port 0, and running loadgen in process.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod binaries;

use bench_server::config::ServerConfig;
use bench_server::users::HashCost;
use bench_server::AppState;
use loadgen::cli::{Cli, Command};
use loadgen::plan::Plan;
use loadgen::result::RunOutcome;
use tokio::sync::oneshot;

pub const ADMIN_TOKEN: &str = "loadgen-test-admin-token-123";

/// A bench-server in this process.
pub struct Server {
    pub url: String,
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Server {
    pub async fn start() -> Server {
        Server::start_with(|config| config).await
    }

    /// A server whose test configuration `adjust` may change.
    pub async fn start_with(adjust: impl FnOnce(ServerConfig) -> ServerConfig) -> Server {
        let config = adjust(ServerConfig {
            users: 200,
            password_hash_cost: HashCost {
                memory_kib: 64,
                iterations: 1,
                parallelism: 1,
            },
            admin_token: Some(ADMIN_TOKEN.into()),
            ..ServerConfig::default()
        });
        let state = AppState::build(&config).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(bench_server::run(listener, state.clone(), async move {
            let _ = stopped.await;
        }));
        Server {
            url,
            state,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

/// Parses `loadgen run ARGS…` into a plan, as the binary would.
pub fn plan(args: &[&str]) -> Plan {
    let mut argv = vec!["loadgen", "run"];
    argv.extend_from_slice(args);
    let cli = <Cli as clap::Parser>::try_parse_from(argv).unwrap();
    let Command::Run(run) = cli.command else {
        panic!("not a run command")
    };
    run.to_plan().unwrap()
}

/// Runs a plan to completion (no shutdown signal).
pub async fn run(plan: Plan) -> RunOutcome {
    loadgen::engine::run(plan, std::future::pending(), false)
        .await
        .unwrap()
}
