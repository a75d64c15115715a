//! What one connection is doing, as the watchdog needs to know it: waiting for a request
//! (idle), receiving a request head (since its first byte), or busy with a request (from
//! the complete head until its response body is done).
//!
//! Three pieces feed it: [`TrackedIo`] sees bytes arrive (idle → head), the service wrapper
//! sees a parsed head (head → busy), and [`TrackedBody`] sees the response end
//! (busy → idle, through a [`BusyGuard`]).

use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper::body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

/// The phase of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for the first byte of a request (a new connection starts here).
    Idle,
    /// A request head has started arriving.
    Head,
    /// A request is being served.
    Busy,
}

/// The phase and when it began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    /// The phase.
    pub phase: Phase,
    /// When it began.
    pub since: Instant,
}

/// One connection's activity, shared by its IO, its service and its watchdog.
#[derive(Debug)]
pub struct Activity {
    start: Instant,
    phase: AtomicU8,
    /// Milliseconds from `start` to the beginning of the phase.
    since_ms: AtomicU64,
    in_flight: AtomicU32,
}

const IDLE: u8 = 0;
const HEAD: u8 = 1;
const BUSY: u8 = 2;

impl Activity {
    /// A new connection: idle since now.
    pub fn new() -> Arc<Activity> {
        Arc::new(Activity {
            start: Instant::now(),
            phase: AtomicU8::new(IDLE),
            since_ms: AtomicU64::new(0),
            in_flight: AtomicU32::new(0),
        })
    }

    /// The phase and its start.
    pub fn snapshot(&self) -> Snapshot {
        let phase = match self.phase.load(Relaxed) {
            IDLE => Phase::Idle,
            HEAD => Phase::Head,
            _ => Phase::Busy,
        };
        let since = self.start + std::time::Duration::from_millis(self.since_ms.load(Relaxed));
        Snapshot { phase, since }
    }

    fn enter(&self, phase: u8) {
        let elapsed = Instant::now().saturating_duration_since(self.start);
        self.since_ms.store(
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            Relaxed,
        );
        self.phase.store(phase, Relaxed);
    }

    /// Bytes arrived: an idle connection starts receiving a head.
    pub fn bytes_read(&self) {
        if self.phase.load(Relaxed) == IDLE {
            self.enter(HEAD);
        }
    }

    /// A head was parsed: the connection is busy until the guard is dropped.
    pub fn request_started(self: &Arc<Self>) -> BusyGuard {
        self.in_flight.fetch_add(1, Relaxed);
        self.enter(BUSY);
        BusyGuard(Arc::clone(self))
    }
}

/// Held while a request is served; dropping it makes the connection idle again once no
/// request is left in flight.
#[derive(Debug)]
pub struct BusyGuard(Arc<Activity>);

impl Drop for BusyGuard {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Relaxed) == 1 {
            self.0.enter(IDLE);
        }
    }
}

/// A socket that reports arriving bytes to its [`Activity`].
#[derive(Debug)]
pub struct TrackedIo<T> {
    inner: T,
    activity: Arc<Activity>,
}

impl<T> TrackedIo<T> {
    /// Wraps `inner`.
    pub fn new(inner: T, activity: Arc<Activity>) -> Self {
        TrackedIo { inner, activity }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for TrackedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.bytes_read();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for TrackedIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// A response body that keeps its connection busy until it is done (or dropped).
#[derive(Debug)]
pub struct TrackedBody<B> {
    inner: B,
    guard: Option<BusyGuard>,
}

impl<B> TrackedBody<B> {
    /// Wraps `inner`, releasing `guard` at its end.
    pub fn new(inner: B, guard: BusyGuard) -> Self {
        TrackedBody {
            inner,
            guard: Some(guard),
        }
    }
}

impl<B: Body + Unpin> Body for TrackedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) {
            self.guard = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn phases_follow_bytes_requests_and_responses() {
        let activity = Activity::new();
        let t0 = Instant::now();
        assert_eq!(activity.snapshot().phase, Phase::Idle);
        tokio::time::advance(std::time::Duration::from_secs(3)).await;
        activity.bytes_read();
        let head = activity.snapshot();
        assert_eq!(head.phase, Phase::Head);
        assert_eq!(head.since - t0, std::time::Duration::from_secs(3));
        tokio::time::advance(std::time::Duration::from_secs(1)).await;
        activity.bytes_read();
        assert_eq!(activity.snapshot(), head, "more bytes of the same head");
        let guard = activity.request_started();
        assert_eq!(activity.snapshot().phase, Phase::Busy);
        activity.bytes_read();
        assert_eq!(activity.snapshot().phase, Phase::Busy, "body bytes");
        tokio::time::advance(std::time::Duration::from_secs(2)).await;
        drop(guard);
        let idle = activity.snapshot();
        assert_eq!(idle.phase, Phase::Idle);
        assert_eq!(idle.since - t0, std::time::Duration::from_secs(6));
    }
}
