//! `bench-server cluster`: the launcher of [`authbench_contract::cluster`] (replicas, Redis, a
//! balancer, faults on demand) behind a command line; re-exported here so that the server's
//! own tests and users of this crate find it where the command is.

pub mod command;

pub use authbench_contract::cluster::*;
