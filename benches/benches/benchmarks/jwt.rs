//! JWT costs per algorithm (HS256, RS256, ES256, EdDSA), one token at a time.
//!
//! * `jwt_issue/{backend}/{alg}` — [`JwtService::issue`]: a 16-byte `jti` from the OS RNG,
//!   claims to JSON, base64url, sign (the `/jwt/login` cost after the password check);
//! * `jwt_verify/{backend}/{alg}` — [`JwtService::verify`]: split, base64url-decode, check the
//!   signature, parse the claims, validate `exp`/`iat`/`sub`/`aud`/`iss` — what every request
//!   under the JWT scheme pays;
//! * `jwt_verify_live/{backend}/{alg}` — the same through [`LiveJwt::current`], as the
//!   server calls it: one `ArcSwap` load more, the price of reloading keys without a restart;
//! * `jwt_signature_verify/{backend}/{alg}` — only the signature check, through each
//!   compiled-in backend's `CryptoProvider`, so aws-lc and RustCrypto are compared in one run
//!   whichever is installed process-wide. Like `jsonwebtoken::decode`, each iteration builds
//!   the verifier from the `DecodingKey` (`verifier_factory`; RustCrypto parses the public key
//!   there) and then verifies the signing input (`header.payload`) against the decoded
//!   signature.
//!
//! The backend of `jwt_issue` and `jwt_verify` is process-wide, because `jsonwebtoken` keeps
//! one installed provider per process: choose it with `AUTHBENCH_CRYPTO_BACKEND=aws-lc` (the
//! default) or `rust-crypto`. Its name is part of the group so baselines never mix backends.

use std::hint::black_box;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use bench_server::jwt::backend::Provider as _;
use bench_server::jwt::keys::JwtAlgorithm as _;
use bench_server::jwt::{JwtService, LiveJwt};
use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};

use super::{issue_token, process_backend, roles, services, USER};

/// `JwtService::issue` per algorithm, on the process-wide backend.
fn issue(c: &mut Criterion) {
    let roles = roles();
    let now = jsonwebtoken::get_current_timestamp();
    let mut group = c.benchmark_group(format!("jwt_issue/{}", process_backend()));
    group.throughput(Throughput::Elements(1));
    for svc in services() {
        let alg = svc.keys().alg();
        group.bench_with_input(BenchmarkId::from_parameter(alg), svc, |b, svc| {
            b.iter(|| {
                svc.issue(black_box(USER), black_box(&roles), None, now)
                    .expect("issuing a token succeeds")
            });
        });
    }
    group.finish();
}

/// `JwtService::verify` of a valid token per algorithm, on the process-wide backend.
fn verify(c: &mut Criterion) {
    let mut group = c.benchmark_group(format!("jwt_verify/{}", process_backend()));
    group.throughput(Throughput::Elements(1));
    for svc in services() {
        let alg = svc.keys().alg();
        let token = issue_token(svc);
        group.bench_with_input(BenchmarkId::from_parameter(alg), &token, |b, token| {
            b.iter(|| {
                svc.verify(black_box(token))
                    .expect("a freshly issued token verifies")
            });
        });
    }
    group.finish();
}

/// `JwtService::verify` through the swappable handle a replica reads once per request.
fn verify_live(c: &mut Criterion) {
    let mut group = c.benchmark_group(format!("jwt_verify_live/{}", process_backend()));
    group.throughput(Throughput::Elements(1));
    for svc in services() {
        let alg = svc.keys().alg();
        let token = issue_token(svc);
        let live = LiveJwt::new(svc.clone(), None);
        group.bench_with_input(BenchmarkId::from_parameter(alg), &token, |b, token| {
            b.iter(|| {
                live.current()
                    .verify(black_box(token))
                    .expect("a freshly issued token verifies")
            });
        });
    }
    group.finish();
}

/// A token cut into what the signature covers and the signature itself.
#[derive(Debug)]
struct SignedParts {
    /// `base64url(header) "." base64url(claims)`.
    message: String,
    /// The third segment, base64url-decoded.
    signature: Vec<u8>,
}

impl SignedParts {
    fn of(token: &str) -> Self {
        let (message, signature) = token
            .rsplit_once('.')
            .expect("a compact JWS has three dot-separated segments");
        SignedParts {
            message: message.to_owned(),
            signature: B64
                .decode(signature)
                .expect("the signature segment is base64url"),
        }
    }
}

/// Raw signature verification per algorithm, for every compiled-in backend.
fn signature_verify(c: &mut Criterion) {
    let mut group = c.benchmark_group("jwt_signature_verify");
    group.throughput(Throughput::Elements(1));
    for svc in services() {
        bench_signature(&mut group, svc);
    }
    group.finish();
}

fn bench_signature(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    svc: &JwtService,
) {
    let keys = svc.keys();
    let alg = keys.alg().algorithm();
    let parts = SignedParts::of(&issue_token(svc));
    for backend in bench_server::jwt::backend::available() {
        let provider = backend
            .provider()
            .expect("every available backend has a provider");
        // Tokens are signed by the process-wide backend; check the other one accepts them
        // before timing anything.
        (provider.verifier_factory)(&alg, keys.decoding())
            .expect("the decoding key suits its algorithm")
            .verify(parts.message.as_bytes(), &parts.signature)
            .unwrap_or_else(|err| panic!("{backend} rejects a valid {alg:?} signature: {err}"));
        let id = BenchmarkId::new(backend.to_string(), keys.alg());
        group.bench_with_input(id, &parts, |b, parts| {
            b.iter(|| {
                let verifier = (provider.verifier_factory)(black_box(&alg), keys.decoding())
                    .expect("the decoding key suits its algorithm");
                verifier
                    .verify(
                        black_box(parts.message.as_bytes()),
                        black_box(&parts.signature),
                    )
                    .expect("a valid signature verifies")
            });
        });
    }
}

criterion_group!(benches, issue, verify, verify_live, signature_verify);
