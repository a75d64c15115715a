//! The validated connection limits, and the default connection limit derived from the
//! process's file-descriptor limit.

use std::time::Duration;

use authbench_contract::conn::{
    ConnArgs, DEFAULT_MAX_HEADERS, DEFAULT_MAX_HEADER_BYTES, DEFAULT_MAX_URI_BYTES,
};

/// Descriptors kept spare for listeners, logs, store and backend connections, health checks.
pub const SPARE_FDS: u64 = 128;

/// Longest request method accepted (the longest registered method is 17 bytes).
pub const MAX_METHOD_BYTES: usize = 32;

/// Connection timeouts and limits (see [`ConnArgs`] for what each means).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimits {
    /// From the first byte of a request head to its end.
    pub header_read_timeout: Duration,
    /// Waiting for the next (or first) request on an open connection.
    pub keepalive_timeout: Duration,
    /// Most connections open at once; `None`: derived from the descriptor limit.
    pub max_connections: Option<usize>,
    /// Longest request URI.
    pub max_uri_bytes: usize,
    /// Largest header value; all headers together: 4×.
    pub max_header_bytes: usize,
    /// Most header fields.
    pub max_headers: usize,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            header_read_timeout: Duration::from_secs(10),
            keepalive_timeout: Duration::from_secs(75),
            max_connections: None,
            max_uri_bytes: DEFAULT_MAX_URI_BYTES,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            max_headers: DEFAULT_MAX_HEADERS,
        }
    }
}

impl From<&ConnArgs> for ConnLimits {
    fn from(args: &ConnArgs) -> Self {
        ConnLimits {
            header_read_timeout: args.header_read_timeout.0,
            keepalive_timeout: args.keepalive_timeout.0,
            max_connections: args.max_connections,
            max_uri_bytes: args.max_uri_bytes,
            max_header_bytes: args.max_header_bytes,
            max_headers: args.max_headers,
        }
    }
}

/// A limit that cannot work: the flag, its value and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{flag} {value}: {reason}")]
pub struct BadLimit {
    /// The flag, e.g. `--max-connections`.
    pub flag: &'static str,
    /// The value as given.
    pub value: String,
    /// Why it was refused.
    pub reason: &'static str,
}

impl ConnLimits {
    /// Checks that every limit can work.
    pub fn check(&self) -> Result<(), BadLimit> {
        let bad = |flag, value: String, reason| {
            Err(BadLimit {
                flag,
                value,
                reason,
            })
        };
        if self.header_read_timeout.is_zero() {
            return bad(
                "--header-read-timeout",
                "0s".into(),
                "must be more than zero",
            );
        }
        if self.keepalive_timeout.is_zero() {
            return bad("--keepalive-timeout", "0s".into(), "must be more than zero");
        }
        if self.max_connections == Some(0) {
            return bad("--max-connections", "0".into(), "must be at least 1");
        }
        if self.max_uri_bytes < 256 {
            let value = self.max_uri_bytes.to_string();
            return bad("--max-uri-bytes", value, "is below the 256-byte minimum");
        }
        if self.max_header_bytes < 512 {
            let value = self.max_header_bytes.to_string();
            return bad("--max-header-bytes", value, "is below the 512-byte minimum");
        }
        if !(8..=10_000).contains(&self.max_headers) {
            let value = self.max_headers.to_string();
            return bad("--max-headers", value, "must be 8 to 10000");
        }
        Ok(())
    }

    /// The connection limit: `--max-connections`, or what the descriptor limit allows when
    /// each connection costs `fds_per_connection` descriptors.
    pub fn max_connections(&self, fds_per_connection: u64) -> usize {
        self.max_connections
            .unwrap_or_else(|| derived_max_connections(nofile_soft_limit(), fds_per_connection))
    }

    /// The bytes hyper may buffer for one request head: a loose backstop well above the
    /// limits checked before routing (requests between the two get the JSON answers), and
    /// never below hyper's own default.
    pub fn hyper_buf_size(&self) -> usize {
        let head = self.max_uri_bytes + 4 * self.max_header_bytes + 64 * 1024;
        (2 * head).max(8192 + 4096 * 100)
    }

    /// The header count hyper parses at most (beyond: an empty 431 from hyper itself).
    pub fn hyper_max_headers(&self) -> usize {
        (4 * self.max_headers).max(200)
    }
}

/// `(soft − SPARE_FDS) / fds_per_connection`, at least 1.
pub fn derived_max_connections(soft_limit: u64, fds_per_connection: u64) -> usize {
    let usable = soft_limit.saturating_sub(SPARE_FDS) / fds_per_connection.max(1);
    usize::try_from(usable.max(1)).unwrap_or(usize::MAX)
}

/// The soft `RLIMIT_NOFILE` (1024 when it cannot be read).
pub fn nofile_soft_limit() -> u64 {
    nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .map_or(1024, |(soft, _)| soft)
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit, so that the derived connection limit
/// is as large as the system allows. Returns the soft limit in force afterwards.
pub fn raise_nofile_limit() -> u64 {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) if soft < hard => match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
            Ok(()) => hard,
            Err(err) => {
                tracing::debug!(cause = %err, "could not raise RLIMIT_NOFILE");
                soft
            }
        },
        Ok((soft, _)) => soft,
        Err(_) => 1024,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        conn: ConnArgs,
    }

    fn parse(args: &[&str]) -> Result<ConnLimits, String> {
        let cli = Cli::try_parse_from(std::iter::once("x").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        let limits = ConnLimits::from(&cli.conn);
        limits.check().map_err(|e| e.to_string())?;
        Ok(limits)
    }

    #[test]
    fn defaults_parse_and_pass() {
        let limits = parse(&[]).unwrap();
        assert_eq!(limits, ConnLimits::default());
        assert!(
            limits.hyper_buf_size() > 70 * 1024,
            "a 70 KB method reaches our check"
        );
    }

    #[test]
    fn flags_parse_like_the_other_durations() {
        let limits = parse(&[
            "--header-read-timeout",
            "1500ms",
            "--keepalive-timeout",
            "2m",
            "--max-connections",
            "50",
        ])
        .unwrap();
        assert_eq!(limits.header_read_timeout, Duration::from_millis(1500));
        assert_eq!(limits.keepalive_timeout, Duration::from_secs(120));
        assert_eq!(limits.max_connections(1), 50);
    }

    #[test]
    fn bad_values_name_the_flag_and_value() {
        let err = parse(&["--header-read-timeout", "soon"]).unwrap_err();
        assert!(
            err.contains("--header-read-timeout") && err.contains("soon"),
            "{err}"
        );
        let err = parse(&["--keepalive-timeout", "0s"]).unwrap_err();
        assert!(err.contains("--keepalive-timeout 0s"), "{err}");
        let err = parse(&["--max-connections", "0"]).unwrap_err();
        assert!(err.contains("--max-connections 0"), "{err}");
        let err = parse(&["--max-connections", "lots"]).unwrap_err();
        assert!(
            err.contains("--max-connections") && err.contains("lots"),
            "{err}"
        );
        let err = parse(&["--max-headers", "2"]).unwrap_err();
        assert!(err.contains("--max-headers 2"), "{err}");
        let err = parse(&["--max-uri-bytes", "10"]).unwrap_err();
        assert!(err.contains("--max-uri-bytes 10"), "{err}");
    }

    #[test]
    fn derived_limit_leaves_spare_descriptors() {
        assert_eq!(derived_max_connections(20_000, 1), 19_872);
        assert_eq!(derived_max_connections(20_000, 2), 9_936);
        assert_eq!(derived_max_connections(64, 2), 1);
    }
}
