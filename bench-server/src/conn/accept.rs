//! The hardened HTTP/1 accept loop: keep-alive, `TCP_NODELAY`, the connection limit, the
//! head checks, the watchdog's two timeouts, back-off when out of file descriptors, and a
//! graceful drain at shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use super::activity::{Activity, TrackedBody, TrackedIo};
use super::{head, refusal, watchdog, Hardening};

/// How long open connections may take to finish after shutdown.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// The pause after `accept` failed for want of file descriptors: long enough for some
/// connections to close, short enough not to leave the backlog waiting.
pub const EMFILE_BACKOFF: Duration = Duration::from_millis(50);

/// Serves `handler` on `listener` under `hardening` until `shutdown` completes, then gives
/// open connections up to [`DRAIN_TIMEOUT`] to finish. Generic over the response body,
/// which must be able to carry the JSON refusals.
pub async fn serve<H, F, B>(
    listener: TcpListener,
    hardening: Hardening,
    handler: H,
    shutdown: impl Future<Output = ()>,
) where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<B>> + Send + 'static,
    B: hyper::body::Body + From<String> + Unpin + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let graceful = GracefulShutdown::new();
    let limits = hardening.limits;
    let stats = Arc::clone(&hardening.stats);
    let mut builder = http1::Builder::new();
    builder
        .keep_alive(true)
        .max_buf_size(limits.hyper_buf_size())
        .max_headers(limits.hyper_max_headers());
    let refusing = Arc::new(AtomicUsize::new(0));
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(err) => {
                    accept_failed(&hardening, &err).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        stats.accepted.fetch_add(1, Relaxed);
        if stats.open.load(Relaxed) >= hardening.max_connections as u64 {
            stats.refused_limit.fetch_add(1, Relaxed);
            // Each refusal holds its descriptor for up to 2 s; under a flood, beyond
            // MAX_REFUSING at once, the connection is just closed.
            if refusing.fetch_add(1, Relaxed) < refusal::MAX_REFUSING {
                let refusing = Arc::clone(&refusing);
                tokio::spawn(async move {
                    refusal::refuse(stream).await;
                    refusing.fetch_sub(1, Relaxed);
                });
            } else {
                refusing.fetch_sub(1, Relaxed);
                drop(stream);
            }
            continue;
        }
        let _ = stream.set_nodelay(true);
        let open = OpenGuard::new(Arc::clone(&stats));
        let activity = Activity::new();
        let handler = handler.clone();
        let service = {
            let activity = Arc::clone(&activity);
            let stats = Arc::clone(&stats);
            let stamp = hardening.stamp.clone();
            service_fn(move |req: Request<Incoming>| {
                let guard = activity.request_started();
                // The refusal is built here, so the usual path clones nothing.
                let work = match head::check(req.method(), req.uri(), req.headers(), &limits) {
                    None => Ok(handler(req)),
                    Some(reason) => {
                        stats.rejected(reason);
                        let (status, code, message) = reason.answer();
                        let mut response = refusal::json_response::<B>(status, code, message);
                        if let Some((name, value)) = &stamp {
                            response.headers_mut().insert(name.clone(), value.clone());
                        }
                        Err(response)
                    }
                };
                async move {
                    let response = match work {
                        Ok(response) => response.await,
                        Err(refused) => refused,
                    };
                    Ok::<_, Infallible>(response.map(|body| TrackedBody::new(body, guard)))
                }
            })
        };
        let io = TokioIo::new(TrackedIo::new(stream, Arc::clone(&activity)));
        let connection = graceful.watch(builder.serve_connection(io, service));
        let stats = Arc::clone(&stats);
        tokio::spawn(async move {
            let _open = open;
            let watched = watchdog::watch(
                connection,
                &activity,
                limits.header_read_timeout,
                limits.keepalive_timeout,
            )
            .await;
            match watched {
                Ok(Ok(())) => {}
                Ok(Err(err)) => {
                    tracing::debug!(cause = %err, "client connection ended with an error")
                }
                Err(reason) => stats.closed(reason),
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after {DRAIN_TIMEOUT:?}; closing them");
    }
}

/// Counts a failed accept and backs off: briefly when out of file descriptors (serving
/// goes on with the connections already open), hardly at all otherwise (a connection
/// reset before it was accepted, and the like).
async fn accept_failed(hardening: &Hardening, err: &std::io::Error) {
    use nix::errno::Errno;
    let out_of_fds = matches!(
        err.raw_os_error(),
        Some(code) if code == Errno::EMFILE as i32 || code == Errno::ENFILE as i32
    );
    if out_of_fds {
        let before = hardening.stats.accept_emfile.fetch_add(1, Relaxed);
        if before.is_multiple_of(100) {
            tracing::warn!(cause = %err, times = before + 1, "accept failed: out of file descriptors; backing off");
        }
        tokio::time::sleep(EMFILE_BACKOFF).await;
    } else {
        hardening.stats.accept_other.fetch_add(1, Relaxed);
        tracing::debug!(cause = %err, "accept failed");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Counts one open connection for as long as it lives.
struct OpenGuard(Arc<super::ConnStats>);

impl OpenGuard {
    fn new(stats: Arc<super::ConnStats>) -> Self {
        stats.open.fetch_add(1, Relaxed);
        OpenGuard(stats)
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Relaxed);
    }
}
