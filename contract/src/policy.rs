//! Balancing policies, as every balancer the cluster can start understands them, and the
//! cookies they read: the built-in balancer implements them (`balance::policy`), HAProxy and
//! nginx get them as configuration.

use std::fmt;
use std::str::FromStr;

/// The balancer's sticky cookie.
pub const STICKY_COOKIE: &str = "SERVERID";

/// The session cookie that `hash-session` hashes (bench-server's).
pub const SESSION_COOKIE: &str = "sid";

/// How the balancer picks a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    /// Every healthy backend in turn.
    RoundRobin,
    /// The healthy backend with the fewest requests in flight.
    LeastConn,
    /// Pin each client to a backend with an inserted `SERVERID` cookie.
    StickyCookie,
    /// Hash of the `sid` session cookie.
    HashSession,
}

impl Policy {
    /// Every policy, in documentation order.
    pub const ALL: [Policy; 4] = [
        Policy::RoundRobin,
        Policy::LeastConn,
        Policy::StickyCookie,
        Policy::HashSession,
    ];

    /// The flag value, e.g. `round-robin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::RoundRobin => "round-robin",
            Policy::LeastConn => "least-conn",
            Policy::StickyCookie => "sticky-cookie",
            Policy::HashSession => "hash-session",
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Policy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Policy::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                format!("unknown policy {s:?}; expected round-robin, least-conn, sticky-cookie or hash-session")
            })
    }
}
