//! HAProxy in front of the replicas: a config generated from the policy, and the system
//! `haproxy` run in the foreground (`-db`) as a child.
//!
//! Policies: `balance roundrobin`; `balance leastconn`; sticky-cookie as `cookie SERVERID
//! insert indirect nocache` over round robin; hash-session as `balance hash req.cook(sid)`
//! with `hash-type consistent`. Keep-alive to clients and `http-reuse always` to the
//! replicas; active checks `GET /healthz`; a failed connect is redispatched once.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use tokio::process::Command;

use super::child::{find_program, ChildLogs, ChildProcess};
use super::error::ClusterError;
use crate::policy::Policy;
use crate::policy::STICKY_COOKIE;

/// The HAProxy configuration for `backends` (`(name, address)`).
pub fn config(
    listen: SocketAddr,
    backends: &[(String, SocketAddr)],
    policy: Policy,
    threads: usize,
    health_interval: Duration,
) -> String {
    let mut cfg = String::new();
    // Idle server-side connections (`http-reuse always`) are purged by HAProxy every
    // `pool-purge-delay` (5 s by default; it closes a share of the idle ones each time), and
    // a connection it reuses idle past a replica's `--keepalive-timeout` (75 s) is retried
    // (`retries 1`). No server-side idle timeout longer than the replica's is configured.
    let _ = write!(
        cfg,
        "global\n    nbthread {threads}\n    maxconn 8000\n\n\
         defaults\n    mode http\n    timeout connect 2s\n    timeout client 60s\n    \
         timeout server 60s\n    timeout http-keep-alive 60s\n    option http-keep-alive\n    \
         http-reuse always\n    retries 1\n    option redispatch\n\n\
         frontend entry\n    bind {listen}\n    default_backend replicas\n\n\
         backend replicas\n"
    );
    let balance = match policy {
        Policy::RoundRobin => "    balance roundrobin\n".to_owned(),
        Policy::LeastConn => "    balance leastconn\n".to_owned(),
        Policy::StickyCookie => {
            format!("    balance roundrobin\n    cookie {STICKY_COOKIE} insert indirect nocache\n")
        }
        Policy::HashSession => {
            "    balance hash req.cook(sid)\n    hash-type consistent\n".to_owned()
        }
    };
    cfg.push_str(&balance);
    cfg.push_str("    option httpchk GET /healthz\n");
    let inter = health_interval.as_millis().max(1);
    for (name, addr) in backends {
        let _ = write!(
            cfg,
            "    server {name} {addr} check inter {inter}ms fall 2 rise 1"
        );
        if policy == Policy::StickyCookie {
            let _ = write!(cfg, " cookie {name}");
        }
        cfg.push('\n');
    }
    cfg
}

/// Writes the config into `dir` and starts `haproxy -db -f DIR/haproxy.cfg`.
pub fn start(
    dir: &Path,
    listen: SocketAddr,
    backends: &[(String, SocketAddr)],
    policy: Policy,
    threads: usize,
    health_interval: Duration,
    logs: ChildLogs,
) -> Result<ChildProcess, ClusterError> {
    let program = find_program("haproxy", "haproxy")?;
    let path = dir.join("haproxy.cfg");
    std::fs::write(
        &path,
        config(listen, backends, policy, threads, health_interval),
    )
    .map_err(ClusterError::io(format!("writing {}", path.display())))?;
    let mut command = Command::new(program);
    command.arg("-db").arg("-f").arg(&path);
    ChildProcess::spawn("haproxy", command, logs)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn backends() -> Vec<(String, SocketAddr)> {
        vec![
            ("r0".into(), "127.0.0.1:1000".parse().unwrap()),
            ("r1".into(), "127.0.0.1:1001".parse().unwrap()),
        ]
    }

    #[test]
    fn each_policy_maps_to_its_haproxy_directive() {
        let listen = "127.0.0.1:9000".parse().unwrap();
        let cfg = |p| config(listen, &backends(), p, 1, Duration::from_secs(1));
        assert!(cfg(Policy::RoundRobin).contains("balance roundrobin\n"));
        assert!(cfg(Policy::LeastConn).contains("balance leastconn\n"));
        let sticky = cfg(Policy::StickyCookie);
        assert!(
            sticky.contains("cookie SERVERID insert indirect nocache\n"),
            "{sticky}"
        );
        assert!(sticky
            .contains("server r1 127.0.0.1:1001 check inter 1000ms fall 2 rise 1 cookie r1\n"));
        assert!(cfg(Policy::HashSession).contains("balance hash req.cook(sid)\n"));
        let rr = cfg(Policy::RoundRobin);
        assert!(rr.contains("bind 127.0.0.1:9000\n"));
        assert!(rr.contains("nbthread 1\n"));
        assert!(!rr.contains("cookie r0"));
    }
}
