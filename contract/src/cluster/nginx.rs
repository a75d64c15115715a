//! nginx in front of the replicas: a config generated from the policy, and the system
//! `nginx` run as one foreground process (`master_process off`, `daemon off`) with every
//! path (pid, logs, temp files) inside the cluster's working directory.
//!
//! Policies: round robin (nginx's default); `least_conn`; hash-session as `hash $cookie_sid
//! consistent` (requests without `sid` all hash to one replica). Open-source nginx has no
//! sticky cookie: [`super::spec::ClusterSpec::validate`] refuses it. Upstream keep-alive is
//! on; health is passive (`max_fails`); a failed connect goes to the next replica once.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;

use tokio::process::Command;

use super::child::{find_program, ChildLogs, ChildProcess};
use super::error::ClusterError;
use crate::policy::Policy;

/// The nginx configuration for `backends`, with every path under `dir`.
pub fn config(
    dir: &Path,
    listen: SocketAddr,
    backends: &[(String, SocketAddr)],
    policy: Policy,
) -> String {
    let d = dir.display();
    let mut cfg = String::new();
    let _ = write!(
        cfg,
        "master_process off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
         events {{ worker_connections 10000; }}\n\
         http {{\n    access_log off;\n    client_body_temp_path {d}/tmp/client;\n    \
         proxy_temp_path {d}/tmp/proxy;\n    fastcgi_temp_path {d}/tmp/fastcgi;\n    \
         uwsgi_temp_path {d}/tmp/uwsgi;\n    scgi_temp_path {d}/tmp/scgi;\n    \
         keepalive_requests 1000000;\n    keepalive_timeout 60s;\n\
         \n    upstream replicas {{\n"
    );
    match policy {
        Policy::LeastConn => cfg.push_str("        least_conn;\n"),
        Policy::HashSession => cfg.push_str("        hash $cookie_sid consistent;\n"),
        Policy::RoundRobin | Policy::StickyCookie => {}
    }
    for (name, addr) in backends {
        let _ = writeln!(
            cfg,
            "        server {addr} max_fails=1 fail_timeout=1s; # {name}"
        );
    }
    // Upstream idle connections are closed after `keepalive_timeout` (60 s, stated here though
    // it is nginx's default): shorter than a replica's `--keepalive-timeout` (75 s), so that
    // nginx, not the replica, closes them and no request races with the replica's close.
    let _ = write!(
        cfg,
        "        keepalive 256;\n        keepalive_requests 1000000;\n        keepalive_timeout 60s;\n    }}\n\
         \n    server {{\n        listen {listen};\n        location / {{\n            \
         proxy_pass http://replicas;\n            proxy_http_version 1.1;\n            \
         proxy_set_header Connection \"\";\n            proxy_set_header Host $host;\n            \
         proxy_buffering off;\n            proxy_next_upstream error timeout;\n            \
         proxy_next_upstream_tries 2;\n        }}\n    }}\n}}\n"
    );
    cfg
}

/// Writes the config into `dir` and starts `nginx -p DIR -c DIR/nginx.conf -e DIR/error.log
/// -g 'daemon off;'`.
pub fn start(
    dir: &Path,
    listen: SocketAddr,
    backends: &[(String, SocketAddr)],
    policy: Policy,
    logs: ChildLogs,
) -> Result<ChildProcess, ClusterError> {
    let program = find_program("nginx", "nginx")?;
    std::fs::create_dir_all(dir.join("tmp"))
        .map_err(ClusterError::io("creating nginx temp dir"))?;
    let path = dir.join("nginx.conf");
    std::fs::write(&path, config(dir, listen, backends, policy))
        .map_err(ClusterError::io(format!("writing {}", path.display())))?;
    let mut command = Command::new(program);
    command
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(&path)
        .arg("-e")
        .arg(dir.join("error.log"))
        .args(["-g", "daemon off;"]);
    ChildProcess::spawn("nginx", command, logs)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn each_policy_maps_to_its_nginx_directive_and_paths_stay_inside_dir() {
        let backends = vec![("r0".to_owned(), "127.0.0.1:1000".parse().unwrap())];
        let listen = "127.0.0.1:9000".parse().unwrap();
        let dir = Path::new("/tmp/x");
        let cfg = |p| config(dir, listen, &backends, p);
        assert!(cfg(Policy::LeastConn).contains("least_conn;\n"));
        assert!(cfg(Policy::HashSession).contains("hash $cookie_sid consistent;\n"));
        let rr = cfg(Policy::RoundRobin);
        assert!(!rr.contains("least_conn") && !rr.contains("hash "));
        assert!(rr.contains("keepalive 256;\n"));
        assert!(rr.contains("proxy_set_header Connection \"\";\n"));
        assert!(rr.contains("server 127.0.0.1:1000 max_fails=1"));
        for line in rr
            .lines()
            .filter(|l| l.contains("/tmp") || l.contains("pid "))
        {
            assert!(line.contains("/tmp/x/"), "{line}");
        }
    }
}
