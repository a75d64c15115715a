//! Where the balancer and the function pool listen: the lines the launcher reads. Their
//! connections are accepted by the hardened loop of [`crate::conn`].

use tokio::net::TcpListener;

pub use crate::conn::DRAIN_TIMEOUT;

/// Prints where a server listens, first thing on stdout (`listening on http://…`, then
/// `admin on http://…` when there is an admin port): what the cluster launcher reads.
pub fn announce(listener: &TcpListener, admin: Option<&TcpListener>) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on http://{}", listener.local_addr()?)?;
    if let Some(admin) = admin {
        writeln!(stdout, "admin on http://{}", admin.local_addr()?)?;
    }
    stdout.flush()
}
