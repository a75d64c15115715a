//! Property-based fuzz targets for bench-server's parsers of untrusted input (proptest, stable
//! Rust): credentials, JWT verification, the balancer's cookies and hashing, the gateway's key
//! set and identity header. Every test is named `fuzz_*`; the budget is `support::cases`
//! (`AUTHBENCH_FUZZ_CASES`), and `scripts/fuzz` runs a long one in a release build.

#![allow(clippy::unwrap_used)]

#[path = "fuzz/balance.rs"]
mod balance;
#[path = "fuzz/credentials.rs"]
mod credentials;
#[path = "fuzz/gateway.rs"]
mod gateway;
#[path = "fuzz/jwt.rs"]
mod jwt;
use authbench_fuzz_support::{budget as support, mutate};
