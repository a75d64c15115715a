//! Real `bench-server` processes for tests that must see what a client sees: a replica
//! (`serve`) or the built-in balancer (`balance`) as its own process on port 0, its
//! listening lines read from stdout, killed by PID when dropped.

use std::io::BufRead as _;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::cluster::{BINARY, QUICK_SERVE};

/// How long a process may take to print its listening line.
const START_PATIENCE: Duration = Duration::from_secs(30);

/// A `bench-server` child process.
pub struct Process {
    child: Child,
    /// Where it serves HTTP.
    pub addr: SocketAddr,
    /// The balancer's admin port, if it has one.
    pub admin: Option<SocketAddr>,
}

impl Process {
    /// `bench-server serve` on 127.0.0.1:0 with quick password hashing and `extra` flags.
    pub fn serve(replica_id: &str, extra: &[&str]) -> Process {
        Process::serve_with(replica_id, extra, |_| {})
    }

    /// [`Process::serve`] with the command adjusted by `adjust` before it is spawned (a
    /// `pre_exec` that lowers a resource limit, say).
    pub fn serve_with(
        replica_id: &str,
        extra: &[&str],
        adjust: impl FnOnce(&mut Command),
    ) -> Process {
        let mut args = vec![
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--replica-id",
            replica_id,
        ];
        args.extend(QUICK_SERVE);
        args.extend(extra);
        Process::spawn(&args, adjust)
    }

    /// `bench-server balance` on 127.0.0.1:0 in front of `backends`, with an admin port.
    pub fn balance(backends: &[&Process], extra: &[&str]) -> Process {
        let backends: Vec<String> = backends
            .iter()
            .map(|b| format!("--backend=http://{}", b.addr))
            .collect();
        let mut args = vec![
            "balance",
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
        ];
        args.extend(backends.iter().map(String::as_str));
        args.extend(extra);
        Process::spawn(&args, |_| {})
    }

    fn spawn(args: &[&str], adjust: impl FnOnce(&mut Command)) -> Process {
        let mut command = Command::new(BINARY);
        command.args(args);
        adjust(&mut command);
        let mut child = command
            .env("RUST_LOG", "error")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("bench-server starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (lines_tx, lines) = std::sync::mpsc::channel();
        // Reads the listening lines, then keeps draining so the child never blocks on a pipe.
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = lines_tx.send(line);
            }
        });
        let wanted = if args[0] == "balance" { 2 } else { 1 };
        let deadline = Instant::now() + START_PATIENCE;
        let (mut addr, mut admin) = (None, None);
        while [addr.is_some(), admin.is_some()]
            .iter()
            .filter(|x| **x)
            .count()
            < wanted
        {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = lines.recv_timeout(left) else {
                let _ = child.kill();
                let _ = child.wait();
                panic!("bench-server {args:?} printed no listening line");
            };
            if let Some(url) = line.strip_prefix("listening on http://") {
                addr = Some(url.trim().parse().expect("listening address"));
            } else if let Some(url) = line.strip_prefix("admin on http://") {
                admin = Some(url.trim().parse().expect("admin address"));
            }
        }
        Process {
            child,
            addr: addr.expect("listening line"),
            admin,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `http://ADDR{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Where its `/metrics` page is: the admin port when it has one, else the main port.
    pub fn metrics_addr(&self) -> SocketAddr {
        self.admin.unwrap_or(self.addr)
    }

    /// File descriptors the process holds open now.
    pub fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .map(|dir| dir.count())
            .unwrap_or(0)
    }

    /// Sockets the process holds open now (its listeners and connections; files it opens
    /// for a moment, such as `/proc` reads for its metrics, are not counted).
    pub fn open_sockets(&self) -> usize {
        let Ok(dir) = std::fs::read_dir(format!("/proc/{}/fd", self.pid())) else {
            return 0;
        };
        dir.filter_map(Result::ok)
            .filter_map(|fd| std::fs::read_link(fd.path()).ok())
            .filter(|target| target.to_string_lossy().starts_with("socket:"))
            .count()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The sum of every sample of `metric` whose labels contain all of `labels`
/// (`route="/healthz"` and the like) on a Prometheus text page.
pub fn metric_sum(page: &str, metric: &str, labels: &[&str]) -> f64 {
    page.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let rest = series.strip_prefix(metric)?;
            if !(rest.is_empty() || rest.starts_with('{')) {
                return None;
            }
            labels
                .iter()
                .all(|l| rest.contains(l))
                .then(|| value.parse::<f64>().ok())?
        })
        .sum()
}
