//! `bench-server link`: checks the flags and the upstream, binds, prints its addresses and
//! forwards until Ctrl-C / SIGTERM.
//!
//! Stdout: `listening on tcp://HOST:PORT` first, then `admin on http://HOST:PORT` when
//! `--admin-listen` is given; logs go to stderr.

use std::io::Write as _;

use anyhow::{bail, Context as _};
use authbench_contract::link::LinkArgs;
use tokio::net::TcpListener;

use super::{Link, LinkConfig};

/// Runs the link.
pub async fn link(args: LinkArgs) -> anyhow::Result<()> {
    if args.jitter > args.delay {
        bail!(
            "--jitter {}: larger than --delay {} (a chunk cannot arrive before it was sent)",
            args.jitter,
            args.delay
        );
    }
    if args.max_connections == 0 {
        bail!("--max-connections 0: must be at least 1");
    }
    let config = LinkConfig::from(&args);
    super::check_upstream(&config)
        .with_context(|| format!("--upstream {}: cannot connect", args.upstream))?;
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("--listen {}: cannot bind", args.listen))?;
    let admin = match args.admin_listen {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("--admin-listen {addr}: cannot bind"))?,
        ),
        None => None,
    };
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on tcp://{}", listener.local_addr()?)?;
        if let Some(admin) = &admin {
            writeln!(stdout, "admin on http://{}", admin.local_addr()?)?;
        }
        stdout.flush()?;
    }
    tracing::info!(
        listen = %listener.local_addr()?,
        upstream = %args.upstream,
        delay = %args.delay,
        "linking"
    );
    super::run(listener, admin, Link::new(config), crate::shutdown_signal())
        .await
        .context("running the link")
}
