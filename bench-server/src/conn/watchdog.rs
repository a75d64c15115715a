//! The per-connection watchdog: two distinct timeouts, like HAProxy's `timeout
//! http-request` and `timeout http-keep-alive`.
//!
//! * header read: from the first byte of a request head until the head is complete;
//! * keep-alive: from the end of the last response (or the accept) until the first byte of
//!   the next request.
//!
//! hyper's own `header_read_timeout` cannot tell the two apart (it starts when the
//! connection goes idle), so the watchdog reads the connection's [`Activity`] and drops
//! the connection future when a deadline passes, which closes the socket. It wakes at most
//! once per header-read timeout while a connection is idle or busy, and exactly at the
//! deadline while a head is arriving.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use super::activity::{Activity, Phase, Snapshot};
use super::stats::CloseReason;

/// What to do with a connection now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A deadline has passed: close it.
    Close(CloseReason),
    /// Look again at this instant (or when the connection ends).
    WakeAt(Instant),
}

/// The verdict on a connection in `snapshot` at `now`.
pub fn judge(
    snapshot: Snapshot,
    header_read: Duration,
    keepalive: Duration,
    now: Instant,
) -> Verdict {
    match snapshot.phase {
        Phase::Idle => {
            let deadline = snapshot.since + keepalive;
            if now >= deadline {
                Verdict::Close(CloseReason::KeepaliveTimeout)
            } else {
                // A head may start at any moment; its deadline is then at least
                // `header_read` away, so looking again by then is soon enough.
                Verdict::WakeAt(deadline.min(now + header_read))
            }
        }
        Phase::Head => {
            let deadline = snapshot.since + header_read;
            if now >= deadline {
                Verdict::Close(CloseReason::HeaderTimeout)
            } else {
                Verdict::WakeAt(deadline)
            }
        }
        // No timeout while a request is served; look again when the next phase may start.
        Phase::Busy => Verdict::WakeAt(now + header_read.min(keepalive)),
    }
}

/// Drives `connection` until it ends, or until `activity` passes a deadline: then drops it
/// (closing the socket) and returns the reason.
pub async fn watch<C: Future>(
    connection: C,
    activity: &Activity,
    header_read: Duration,
    keepalive: Duration,
) -> Result<C::Output, CloseReason> {
    tokio::pin!(connection);
    loop {
        match judge(activity.snapshot(), header_read, keepalive, Instant::now()) {
            Verdict::Close(reason) => return Err(reason),
            Verdict::WakeAt(at) => tokio::select! {
                output = &mut connection => return Ok(output),
                () = tokio::time::sleep_until(at) => {}
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: Duration = Duration::from_secs(10);
    const IDLE: Duration = Duration::from_secs(75);

    fn at(phase: Phase, since: Instant) -> Snapshot {
        Snapshot { phase, since }
    }

    #[tokio::test(start_paused = true)]
    async fn deadlines_of_each_phase() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        assert_eq!(
            judge(at(Phase::Idle, t0), HEAD, IDLE, t0),
            Verdict::WakeAt(t0 + s(10))
        );
        assert_eq!(
            judge(at(Phase::Idle, t0), HEAD, IDLE, t0 + s(70)),
            Verdict::WakeAt(t0 + s(75))
        );
        assert_eq!(
            judge(at(Phase::Idle, t0), HEAD, IDLE, t0 + s(75)),
            Verdict::Close(CloseReason::KeepaliveTimeout)
        );
        assert_eq!(
            judge(at(Phase::Head, t0 + s(3)), HEAD, IDLE, t0 + s(5)),
            Verdict::WakeAt(t0 + s(13))
        );
        assert_eq!(
            judge(at(Phase::Head, t0 + s(3)), HEAD, IDLE, t0 + s(13)),
            Verdict::Close(CloseReason::HeaderTimeout)
        );
        assert_eq!(
            judge(at(Phase::Busy, t0), HEAD, IDLE, t0 + s(500)),
            Verdict::WakeAt(t0 + s(510))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_head_started_while_idle_gets_its_own_deadline() {
        let activity = Activity::new();
        let t0 = Instant::now();
        let trickle = {
            let activity = std::sync::Arc::clone(&activity);
            async move {
                tokio::time::sleep(Duration::from_secs(1)).await;
                activity.bytes_read();
                std::future::pending::<()>().await;
            }
        };
        let closed = watch(trickle, &activity, HEAD, IDLE).await;
        assert_eq!(closed, Err(CloseReason::HeaderTimeout));
        let elapsed = Instant::now() - t0;
        assert!(elapsed >= Duration::from_secs(11), "{elapsed:?}");
        assert!(elapsed <= Duration::from_secs(20), "{elapsed:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_connection_lasts_the_keepalive_timeout() {
        let activity = Activity::new();
        let t0 = Instant::now();
        let closed = watch(std::future::pending::<()>(), &activity, HEAD, IDLE).await;
        assert_eq!(closed, Err(CloseReason::KeepaliveTimeout));
        assert_eq!(Instant::now() - t0, IDLE);
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_connection_is_never_closed() {
        let activity = Activity::new();
        let guard = activity.request_started();
        let work = tokio::time::sleep(Duration::from_secs(600));
        assert_eq!(watch(work, &activity, HEAD, IDLE).await, Ok(()));
        drop(guard);
    }
}
