//! The Redis server the store benches talk to.
//!
//! `AUTHBENCH_BENCH_REDIS_URL` if set; otherwise `redis-server` from PATH, spawned as a child
//! on a free 127.0.0.1 port without persistence (`--save '' --appendonly no`), polled with
//! `PING` for at most 10 s and killed by PID when its guard is dropped; otherwise one line
//! saying the Redis benches are skipped.

use std::io::{ErrorKind, Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Environment variable with the URL of an already running Redis to use.
pub const REDIS_URL_ENV: &str = "AUTHBENCH_BENCH_REDIS_URL";

/// How long a spawned `redis-server` may take to answer `PING`.
const REDIS_START_TIMEOUT: Duration = Duration::from_secs(10);

/// A `redis-server` child process, killed by PID when dropped.
#[derive(Debug)]
pub struct RedisChild {
    child: Child,
    port: u16,
}

impl RedisChild {
    /// Spawns `redis-server` on a free loopback port and waits until it answers `PING`.
    /// `Ok(None)` if there is no `redis-server` on PATH.
    fn start() -> Result<Option<Self>, String> {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|listener| listener.local_addr())
            .map_err(|err| format!("no free loopback port: {err}"))?
            .port();
        let spawned = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(std::env::temp_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(err) if err.kind() == ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(format!("could not start redis-server: {err}")),
        };
        let mut server = RedisChild { child, port };
        let deadline = Instant::now() + REDIS_START_TIMEOUT;
        while !answers_ping(port) {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("redis-server on port {port} exited: {status}"));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "redis-server on port {port} did not answer PING within {} s",
                    REDIS_START_TIMEOUT.as_secs()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Some(server))
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

impl Drop for RedisChild {
    fn drop(&mut self) {
        // `Child::kill` signals this child's PID only; `wait` reaps it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether a Redis on `port` answers `PING` with `+PONG`.
fn answers_ping(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let mut reply = [0u8; 7];
    stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .is_ok()
        && stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG\r\n"
}

/// The Redis to bench against, and the child to kill afterwards if we started it.
pub fn redis_target() -> Option<(String, Option<RedisChild>)> {
    if let Ok(url) = std::env::var(REDIS_URL_ENV) {
        return Some((url, None));
    }
    match RedisChild::start() {
        Ok(Some(server)) => Some((server.url(), Some(server))),
        Ok(None) => {
            println!("skipping Redis benches: install redis-server or set {REDIS_URL_ENV}");
            None
        }
        Err(err) => {
            println!("skipping Redis benches: {err}");
            None
        }
    }
}
