//! What each credential costs on the wire, and what minting a session ID costs.
//!
//! Printed once per process, before any timing (whatever filter criterion was given): the
//! length in bytes of a token issued by `JwtService::issue` for `user1` with roles `["user"]`
//! per algorithm, the `Authorization: Bearer <token>` header line it travels in, and the
//! `Cookie: sid=<43 chars>` line of the session-ID scheme (header lines without CRLF; the
//! cookie line is the same size for every algorithm and backend).
//!
//! Timed: `session_id_generate/random_token/32` — `random_token(32)`, i.e. 32 bytes from the
//! OS CSPRNG, base64url-encoded to 43 characters: the ID `/session/login` stores.

use std::hint::black_box;
use std::sync::Once;

use bench_server::credentials::{is_session_id, SESSION_COOKIE};
use bench_server::jwt::keys::random_token;
use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};

use super::{issue_token, services, USER};

/// Bytes of a session ID: 32 random bytes, base64url without padding.
const SESSION_ID_BYTES: usize = 32;

/// One row of the size table.
#[derive(Debug)]
struct Row {
    credential: String,
    credential_bytes: usize,
    header_bytes: usize,
}

fn rows() -> Vec<Row> {
    let mut rows: Vec<Row> = services()
        .iter()
        .map(|svc| {
            let token = issue_token(svc);
            Row {
                credential: format!("JWT {}", svc.keys().alg()),
                credential_bytes: token.len(),
                header_bytes: format!("Authorization: Bearer {token}").len(),
            }
        })
        .collect();
    let sid = random_token(SESSION_ID_BYTES);
    assert!(
        is_session_id(&sid),
        "the server accepts {sid:?} as a session ID"
    );
    rows.push(Row {
        credential: format!("session ID ({SESSION_COOKIE})"),
        credential_bytes: sid.len(),
        header_bytes: format!("Cookie: {SESSION_COOKIE}={sid}").len(),
    });
    rows
}

/// Prints the size table to stdout, once per process.
pub fn print_sizes() {
    static PRINTED: Once = Once::new();
    PRINTED.call_once(|| {
        let rows = rows();
        let width = rows
            .iter()
            .map(|row| row.credential.len())
            .max()
            .unwrap_or(0)
            .max("credential".len());
        println!();
        println!("Credential sizes (sub \"{USER}\", roles [\"user\"]; header lines without CRLF)");
        println!(
            "{:<width$}  {:>11}  {:>12}",
            "credential", "value bytes", "header bytes"
        );
        for row in &rows {
            println!(
                "{:<width$}  {:>11}  {:>12}",
                row.credential, row.credential_bytes, row.header_bytes
            );
        }
        println!();
    });
}

/// Session-ID generation.
fn session_id(c: &mut Criterion) {
    print_sizes();
    let mut group = c.benchmark_group("session_id_generate");
    group.throughput(Throughput::Elements(1));
    group.bench_with_input(
        BenchmarkId::new("random_token", SESSION_ID_BYTES),
        &SESSION_ID_BYTES,
        |b, &n| b.iter(|| random_token(black_box(n))),
    );
    group.finish();
}

criterion_group!(benches, session_id);
