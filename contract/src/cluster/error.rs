//! Errors of the cluster: bad flags, programs that are missing or do not start, parts that
//! never become healthy.

use std::path::PathBuf;
use std::time::Duration;

/// What can go wrong while planning, starting or operating a cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// A flag with a value that cannot work; names the flag and the value.
    #[error("{flag} {value}: {reason}")]
    BadFlag {
        /// The flag, e.g. `--replicas`.
        flag: String,
        /// The value as given.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// A program the cluster needs is not installed.
    #[error("{program} is not installed (or not on PATH): install the Debian package '{package}' (apt-get install {package})")]
    Missing {
        /// The program, e.g. `haproxy`.
        program: String,
        /// The Debian package that provides it.
        package: &'static str,
    },
    /// A child could not be spawned.
    #[error("cannot start {name} ({program}): {source}")]
    Spawn {
        /// The part, e.g. `replica r1`.
        name: String,
        /// The program.
        program: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A child exited or printed something else before its address line.
    #[error("{name} did not start: {reason}")]
    Startup {
        /// The part.
        name: String,
        /// What happened.
        reason: String,
    },
    /// A part did not answer `GET /healthz` with 200 in time.
    #[error("{name} ({url}) did not answer /healthz within {timeout:?}: {last_error}")]
    Unhealthy {
        /// The part.
        name: String,
        /// Its URL.
        url: String,
        /// The bound that was exceeded.
        timeout: Duration,
        /// The last check's failure.
        last_error: String,
    },
    /// A fault was asked of a part that does not exist (no such replica, no Redis child).
    #[error("{0}")]
    NoSuchPart(String),
    /// A signal could not be sent to a part (stall and resume faults).
    #[error("cannot send {signal} to {name}: {reason}")]
    Signal {
        /// The part.
        name: String,
        /// The signal, e.g. `SIGSTOP`.
        signal: &'static str,
        /// Why.
        reason: String,
    },
    /// The shared key set could not be created.
    #[error("creating the shared key set: {0}")]
    Keys(#[from] crate::keys::KeyError),
    /// Creating the working directory, key set or config files failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl ClusterError {
    /// A [`ClusterError::BadFlag`].
    pub fn bad_flag(
        flag: impl Into<String>,
        value: impl ToString,
        reason: impl Into<String>,
    ) -> Self {
        ClusterError::BadFlag {
            flag: flag.into(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    /// A [`ClusterError::Io`].
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let what = what.into();
        move |source| ClusterError::Io { what, source }
    }
}
