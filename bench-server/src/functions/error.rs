//! Errors of the function pool: bad flags, sockets that cannot be bound, and why an instance
//! did not start.

use std::net::SocketAddr;
use std::time::Duration;

/// What can go wrong while configuring or running the pool.
#[derive(Debug, thiserror::Error)]
pub enum FunctionsError {
    /// A flag with a value that cannot work; names the flag and the value.
    #[error("{flag} {value}: {reason}")]
    BadFlag {
        /// The flag, e.g. `--max-instances`.
        flag: String,
        /// The value as given.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// A listening socket could not be bound.
    #[error("{flag} {addr}: cannot bind: {source}")]
    Bind {
        /// `--listen` or `--admin-listen`.
        flag: &'static str,
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The key set shared by the instances could not be created.
    #[error("creating the instances' key directory: {0}")]
    Keys(String),
    /// Accepting, serving or starting the spawner thread failed.
    #[error("functions I/O: {0}")]
    Io(#[from] std::io::Error),
}

impl FunctionsError {
    /// A [`FunctionsError::BadFlag`].
    pub fn bad_flag(
        flag: impl Into<String>,
        value: impl std::fmt::Display,
        reason: impl Into<String>,
    ) -> FunctionsError {
        FunctionsError::BadFlag {
            flag: flag.into(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}

/// Why a cold start gave no ready instance (the waiting request gets a 503 saying so).
#[derive(Debug, Clone, thiserror::Error)]
pub enum StartError {
    /// The process could not be spawned, or exited / printed something else before its
    /// `listening on` line.
    #[error("instance {name} did not start: {reason}")]
    Failed {
        /// The instance, e.g. `f3`.
        name: String,
        /// What happened.
        reason: String,
    },
    /// It was not ready within `--cold-start-timeout`.
    #[error("instance {name} was not ready within {timeout:?}")]
    Timeout {
        /// The instance.
        name: String,
        /// The bound.
        timeout: Duration,
    },
    /// The pool is shutting down.
    #[error("the function pool is shutting down")]
    ShuttingDown,
}

impl StartError {
    /// The `error` code of the JSON body.
    pub fn code(&self) -> &'static str {
        match self {
            StartError::Failed { .. } => "cold_start_failed",
            StartError::Timeout { .. } => "cold_start_timeout",
            StartError::ShuttingDown => "shutting_down",
        }
    }
}
