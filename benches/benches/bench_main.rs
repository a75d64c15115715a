//! Criterion entry point for the authbench micro-benchmarks.
//!
//! Groups, in run order (see `benches/README.md` for what each one measures):
//!
//! * [`benchmarks::sizes`] — prints credential sizes once, then `session_id_generate`;
//! * [`benchmarks::jwt`] — `jwt_issue/{backend}`, `jwt_verify/{backend}`,
//!   `jwt_verify_live/{backend}`, `jwt_signature_verify`;
//! * [`benchmarks::store`] — `store_session_get`, `store_session_create`,
//!   `store_revocation_check`, each in process and (when available) on Redis.

mod benchmarks;

criterion::criterion_main! {
    benchmarks::sizes::benches,
    benchmarks::jwt::benches,
    benchmarks::store::benches,
}
