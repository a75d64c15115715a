//! # authbench-contract
//!
//! What bench-server and the load generator agree on, without the server itself: the
//! replica's command line, the key directory, the balancing policies and the launcher of a
//! local cluster of replica processes. loadgen starts and drives clusters through this crate
//! and never links the server (axum, argon2, jsonwebtoken and its crypto backends).
//!
//! ## Layout
//!
//! * [`serve`] — `bench-server serve`'s flags ([`ServeArgs`]) and their value types: store,
//!   revocation strategy, durations, password-hash cost;
//! * [`keys`] — JWT algorithms ([`JwtAlg`]) and the key-directory format: file names,
//!   generating key material, the admin token, atomic 0600 writes;
//! * [`backend`] — the JWT crypto backend as a flag value;
//! * [`policy`] — balancing policies and the cookies they read;
//! * [`link`] — `bench-server link`'s flags: a TCP hop with a delay, and its value types;
//! * [`redis_url`] — `--redis-url`: one Redis or a Redis Cluster (`redis+cluster://`);
//! * [`cluster`] — N replica processes, optional Redis and a balancer (built-in, HAProxy,
//!   nginx) as children that die with the cluster, with faults on demand;
//! * [`shutdown_signal`] — Ctrl-C or SIGTERM; [`redact_url`] — passwords out of messages;
//!   [`require`] — when a missing `redis-server`/`haproxy`/`nginx` fails a test.

pub mod backend;
pub mod cluster;
pub mod conn;
pub mod keys;
pub mod link;
pub mod policy;
pub mod redis_url;
pub mod require;
pub mod serve;

mod redact;
mod signal;

pub use backend::CryptoBackend;
pub use keys::JwtAlg;
pub use policy::Policy;
pub use redact::redact_url;
pub use redis_url::RedisTarget;
pub use serve::ServeArgs;
pub use signal::shutdown_signal;
