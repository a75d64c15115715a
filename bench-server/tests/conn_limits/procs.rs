//! Real `bench-server serve` and `balance` processes on port 0, killed when dropped.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

const BINARY: &str = env!("CARGO_BIN_EXE_bench-server");
const QUICK_SERVE: [&str; 4] = ["--users", "5", "--password-hash-cost", "m=64,t=1,p=1"];

/// A child process and the addresses it printed.
pub struct Proc {
    child: Child,
    /// Where it serves.
    pub addr: SocketAddr,
    /// Where its `/metrics` are (the same address for a replica, the admin port for a
    /// balancer).
    pub metrics: SocketAddr,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn addr_of(line: &str, prefix: &str) -> SocketAddr {
    line.trim()
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix("http://"))
        .unwrap_or_else(|| panic!("expected {prefix:?}, got {line:?}"))
        .parse()
        .unwrap()
}

fn start(mut command: Command, admin: bool) -> Proc {
    let mut child = command
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let addr = addr_of(&line, "listening on ");
    let metrics = if admin {
        line.clear();
        out.read_line(&mut line).unwrap();
        addr_of(&line, "admin on ")
    } else {
        addr
    };
    Proc {
        child,
        addr,
        metrics,
    }
}

/// `bench-server serve` with `flags`.
pub fn replica(flags: &[&str]) -> Proc {
    replica_with(flags, |_| {})
}

/// `bench-server serve` with `flags`, the command adjusted by `adjust` before spawning.
pub fn replica_with(flags: &[&str], adjust: impl FnOnce(&mut Command)) -> Proc {
    let mut command = Command::new(BINARY);
    command
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(QUICK_SERVE)
        .args(flags);
    adjust(&mut command);
    start(command, false)
}

/// `bench-server balance` in front of `backend`, with `flags`.
pub fn balancer(backend: &Proc, flags: &[&str]) -> Proc {
    let mut command = Command::new(BINARY);
    command
        .args(["balance", "--listen", "127.0.0.1:0"])
        .args(["--admin-listen", "127.0.0.1:0"])
        .arg("--backend")
        .arg(format!("http://{}", backend.addr))
        .args(flags);
    start(command, true)
}
