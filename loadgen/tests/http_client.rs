//! The HTTP/1.1 client against scripted raw TCP servers: keep-alive across framings,
//! reconnecting after `Connection: close`, timeouts, garbage, refused connections.

#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use loadgen::http::{Connection, Failure, HeaderLine, HttpClient, Outgoing, Reply};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

/// What the scripted server does with request number `n` (counted across connections).
#[derive(Clone, Copy)]
enum Answer {
    /// Write these bytes and keep the connection.
    Send(&'static [u8]),
    /// Write these bytes and close the connection.
    SendAndClose(&'static [u8]),
    /// Never answer.
    Stall,
}

/// A server answering requests in order from `script`; counts the connections it accepted.
struct Scripted {
    authority: String,
    accepted: Arc<AtomicUsize>,
}

async fn serve(script: Vec<Answer>) -> Scripted {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let authority = listener.local_addr().unwrap().to_string();
    let accepted = Arc::new(AtomicUsize::new(0));
    let script = Arc::new(script);
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&accepted);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(answer(stream, Arc::clone(&script), Arc::clone(&requests)));
        }
    });
    Scripted {
        authority,
        accepted,
    }
}

async fn answer(mut stream: TcpStream, script: Arc<Vec<Answer>>, requests: Arc<AtomicUsize>) {
    let mut pending = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        // One request: a head without a body (the tests send none).
        while !pending.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => pending.extend_from_slice(&buf[..n]),
            }
        }
        let end = pending.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        pending.drain(..end);
        let n = requests.fetch_add(1, Ordering::SeqCst);
        match script.get(n).copied().unwrap_or(Answer::Stall) {
            Answer::Send(bytes) => stream.write_all(bytes).await.unwrap(),
            Answer::SendAndClose(bytes) => {
                stream.write_all(bytes).await.unwrap();
                return;
            }
            Answer::Stall => {
                tokio::time::sleep(Duration::from_secs(60)).await;
                return;
            }
        }
    }
}

async fn get(
    client: &HttpClient,
    conn: &mut Connection,
    keep_body: bool,
) -> (Result<Reply, Failure>, u64) {
    let target = client.target("GET", "/healthz").unwrap();
    let credential = HeaderLine::new("Authorization", "Bearer t0k3n").unwrap();
    client
        .send(
            conn,
            Outgoing {
                target: &target,
                credential: Some(&credential),
                extra: None,
                json: None,
                keep_body,
                sent: Instant::now(),
            },
        )
        .await
}

const CHUNKED: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Replica: r7\r\n\r\n\
    4;ext=1\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\nX-Trailer: yes\r\n\r\n";
const LENGTH: &[u8] =
    b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 19\r\n\r\n{\"error\":\"expired\"}";
const LOGIN: &[u8] =
    b"HTTP/1.1 200 OK\r\nSet-Cookie: sid=s3ss10n; HttpOnly\r\nContent-Length: 2\r\n\r\n{}";
const CLOSE: &[u8] = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok";
const UNTIL_CLOSE: &[u8] = b"HTTP/1.1 200 OK\r\n\r\nbody until the close";

#[tokio::test]
async fn framings_share_one_keep_alive_connection() {
    let server = serve(vec![
        Answer::Send(CHUNKED),
        Answer::Send(LENGTH),
        Answer::Send(LOGIN),
    ])
    .await;
    let client = HttpClient::new(&server.authority, Duration::from_secs(5)).unwrap();
    let mut conn = Connection::default();

    let (reply, bytes_out) = get(&client, &mut conn, true).await;
    let reply = reply.unwrap();
    let expected_out = format!(
        "GET /healthz HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer t0k3n\r\n\r\n",
        server.authority
    );
    assert_eq!(bytes_out, expected_out.len() as u64);
    assert_eq!((reply.status, reply.bytes_in), (200, CHUNKED.len() as u64));
    assert_eq!(reply.replica.as_deref(), Some("r7"));
    assert_eq!(reply.body.as_deref(), Some(&b"{\"a\":1}"[..]));

    let reply = get(&client, &mut conn, false).await.0.unwrap();
    assert_eq!((reply.status, reply.bytes_in), (401, LENGTH.len() as u64));
    assert_eq!(
        reply.body.as_deref(),
        Some(&b"{\"error\":\"expired\"}"[..]),
        "a 401 keeps its body for the reason"
    );

    let reply = get(&client, &mut conn, true).await.0.unwrap();
    assert_eq!(reply.session_cookie.as_deref(), Some("s3ss10n"));
    assert_eq!(server.accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn connection_close_makes_the_next_request_reconnect() {
    let server = serve(vec![
        Answer::SendAndClose(CLOSE),
        Answer::SendAndClose(UNTIL_CLOSE),
        Answer::Send(LENGTH),
    ])
    .await;
    let client = HttpClient::new(&server.authority, Duration::from_secs(5)).unwrap();
    let mut conn = Connection::default();
    assert_eq!(get(&client, &mut conn, false).await.0.unwrap().status, 200);
    let reply = get(&client, &mut conn, true).await.0.unwrap();
    assert_eq!(reply.body.as_deref(), Some(&b"body until the close"[..]));
    assert_eq!(reply.bytes_in, UNTIL_CLOSE.len() as u64);
    assert_eq!(get(&client, &mut conn, false).await.0.unwrap().status, 401);
    assert_eq!(server.accepted.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_silent_server_times_out_and_the_next_request_reconnects() {
    let server = serve(vec![Answer::Stall, Answer::Send(LENGTH)]).await;
    let client = HttpClient::new(&server.authority, Duration::from_millis(200)).unwrap();
    let mut conn = Connection::default();
    let started = Instant::now();
    assert_eq!(
        get(&client, &mut conn, false).await.0.unwrap_err(),
        Failure::Timeout
    );
    assert!(started.elapsed() >= Duration::from_millis(190));
    assert_eq!(get(&client, &mut conn, false).await.0.unwrap().status, 401);
    assert_eq!(server.accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn garbage_and_truncation_are_io_failures() {
    let server = serve(vec![
        Answer::Send(b"garbage\r\n\r\n"),
        Answer::SendAndClose(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"),
        Answer::Send(LENGTH),
    ])
    .await;
    let client = HttpClient::new(&server.authority, Duration::from_secs(5)).unwrap();
    let mut conn = Connection::default();
    assert_eq!(
        get(&client, &mut conn, false).await.0.unwrap_err(),
        Failure::Io
    );
    assert_eq!(
        get(&client, &mut conn, false).await.0.unwrap_err(),
        Failure::Io
    );
    assert_eq!(get(&client, &mut conn, false).await.0.unwrap().status, 401);
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_failure() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let authority = listener.local_addr().unwrap().to_string();
    drop(listener);
    let client = HttpClient::new(&authority, Duration::from_secs(5)).unwrap();
    let mut conn = Connection::default();
    let (result, bytes_out) = get(&client, &mut conn, false).await;
    assert_eq!(result.unwrap_err(), Failure::Connect);
    assert!(bytes_out > 0, "the request's size is still reported");
}
