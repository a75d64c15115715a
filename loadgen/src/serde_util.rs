//! Serde helpers shared by the documents loadgen writes.

use std::time::Duration;

use serde::Serializer;

/// Serialises a duration as fractional seconds.
pub fn secs<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}
