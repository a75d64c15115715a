//! Why a comparison could not be made; every such failure exits with status 2.

/// A comparison that cannot be made: a bad flag, a missing or unreadable input, or inputs
/// that do not measure the same things.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CompareError {
    /// A flag value is unusable.
    #[error("{flag} {value:?}: {message}")]
    Flag {
        /// The flag, e.g. `--threshold`.
        flag: &'static str,
        /// The value given.
        value: String,
        /// What is wrong with it.
        message: String,
    },
    /// An input (BASELINE or CANDIDATE) is missing or unreadable.
    #[error("{side} {path}: {message}")]
    Input {
        /// `BASELINE` or `CANDIDATE`.
        side: &'static str,
        /// The path given or the file read.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The inputs cannot be compared (different schema versions, no common cells…).
    #[error("cannot compare: {0}")]
    Incomparable(String),
}

impl CompareError {
    /// A rejection of `value` for `flag`.
    pub fn flag(flag: &'static str, value: impl ToString, message: impl ToString) -> Self {
        CompareError::Flag {
            flag,
            value: value.to_string(),
            message: message.to_string(),
        }
    }
}
