//! A timer precise to the microsecond for tokio tasks: one `timerfd` per link, armed for
//! the earliest pending deadline.
//!
//! tokio's own timer wheel has millisecond granularity, and a 250 µs hop released on the
//! next millisecond is a different network. A `timerfd` is an hrtimer with nanosecond
//! resolution that tokio's reactor waits on like any socket, so the link's one thread sleeps
//! in `epoll` until a socket is readable *or* a chunk is due, and handles every chunk due
//! at that instant in one wake-up.
//!
//! Wake-ups run late by the scheduler's latency, so the timer is armed that much early
//! (learnt as a moving average of how late past wakes came, the same idea as KVM's
//! `lapic_timer_advance`); a task woken a few microseconds early spins the rest.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use tokio::io::unix::AsyncFd;

/// The most a wake-up is advanced.
const MAX_ADVANCE: Duration = Duration::from_micros(100);
/// Sleeps made by [`PreciseTimer::calibrate`].
const CALIBRATION_SLEEPS: u32 = 16;
/// A deadline this close is spun to instead of slept for.
const SPIN: Duration = Duration::from_micros(20);

/// The timer's file descriptor, as tokio's reactor wants it.
#[derive(Debug)]
struct Fd(TimerFd);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

/// Hands the timer's descriptor to tokio's reactor.
#[allow(unsafe_code)]
fn register(fd: Fd) -> std::io::Result<AsyncFd<Fd>> {
    // SAFETY: `Fd` owns its descriptor (a `TimerFd` holds an `OwnedFd`), so it stays open
    // and the same for as long as the `AsyncFd` owns the `Fd`, and `as_raw_fd` always
    // returns it.
    unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }
        .map_err(std::io::Error::from)
}

#[derive(Debug)]
struct Entry {
    fire: Instant,
    seq: u64,
    waker: Waker,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.fire, self.seq) == (other.fire, other.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.fire, self.seq).cmp(&(other.fire, other.seq))
    }
}

#[derive(Debug, Default)]
struct Pending {
    heap: BinaryHeap<Reverse<Entry>>,
    /// When the timerfd is set to fire, if it is.
    armed: Option<Instant>,
    seq: u64,
}

/// The timer; cheap to share.
#[derive(Debug)]
pub struct PreciseTimer {
    fd: AsyncFd<Fd>,
    pending: Mutex<Pending>,
    /// How late wake-ups come, ns (moving average).
    lateness_ns: AtomicU64,
}

impl PreciseTimer {
    /// Creates the timer and spawns the task that fires it; call inside a tokio runtime.
    pub fn start() -> std::io::Result<Arc<PreciseTimer>> {
        let fd = TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )?;
        let timer = Arc::new(PreciseTimer {
            fd: register(Fd(fd))?,
            pending: Mutex::new(Pending::default()),
            lateness_ns: AtomicU64::new(0),
        });
        let driver = Arc::downgrade(&timer);
        tokio::spawn(async move {
            while let Some(timer) = driver.upgrade() {
                if timer.fire().await.is_err() {
                    break;
                }
            }
        });
        Ok(timer)
    }

    /// Learns how late wake-ups come before the first chunk needs it: a few short sleeps
    /// (about 5 ms in all), so the first round trips through a new link are as accurate as
    /// later ones.
    pub async fn calibrate(self: &Arc<Self>) {
        for _ in 0..CALIBRATION_SLEEPS {
            self.sleep_until(Instant::now() + Duration::from_micros(300))
                .await;
        }
    }

    /// How early the timer is armed before a deadline.
    pub fn advance(&self) -> Duration {
        Duration::from_nanos(self.lateness_ns.load(Relaxed))
    }

    /// Completes at `due` (never before it).
    pub fn sleep_until(self: &Arc<Self>, due: Instant) -> Sleep {
        Sleep {
            timer: Arc::clone(self),
            due,
            registered: None,
        }
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets the timerfd to fire at `at`.
    fn arm(&self, pending: &mut Pending, at: Instant) {
        let after = at
            .saturating_duration_since(Instant::now())
            .max(Duration::from_nanos(1));
        let set = self.fd.get_ref().0.set(
            Expiration::OneShot(TimeSpec::from_duration(after)),
            TimerSetTimeFlags::empty(),
        );
        if let Err(err) = set {
            tracing::warn!(cause = %err, "cannot arm the link's timer");
        }
        pending.armed = Some(at);
    }

    fn register(&self, fire: Instant, waker: &Waker) {
        let mut pending = self.pending();
        pending.seq += 1;
        let seq = pending.seq;
        pending.heap.push(Reverse(Entry {
            fire,
            seq,
            waker: waker.clone(),
        }));
        if pending.armed.is_none_or(|armed| fire < armed) {
            self.arm(&mut pending, fire);
        }
    }

    /// Waits for the timerfd, then wakes every task whose time came and arms the next.
    async fn fire(&self) -> std::io::Result<()> {
        let mut guard = self.fd.readable().await?;
        let mut expirations = [0u8; 8];
        match nix::unistd::read(guard.get_inner().0.as_fd(), &mut expirations) {
            Ok(_) | Err(nix::errno::Errno::EAGAIN) => {}
            Err(e) => return Err(e.into()),
        }
        guard.clear_ready();
        let now = Instant::now();
        let mut woken = Vec::new();
        {
            let mut pending = self.pending();
            if let Some(armed) = pending.armed.take() {
                self.learn(now.saturating_duration_since(armed));
            }
            while pending.heap.peek().is_some_and(|e| e.0.fire <= now) {
                if let Some(Reverse(entry)) = pending.heap.pop() {
                    woken.push(entry.waker);
                }
            }
            if let Some(next) = pending.heap.peek().map(|e| e.0.fire) {
                self.arm(&mut pending, next);
            }
        }
        woken.into_iter().for_each(Waker::wake);
        Ok(())
    }

    fn learn(&self, late: Duration) {
        let late = u64::try_from(late.min(MAX_ADVANCE).as_nanos()).unwrap_or(0);
        let old = self.lateness_ns.load(Relaxed);
        // Weight 1/8: follows a change of load within tens of wakes, shrugs off one outlier.
        self.lateness_ns.store((old * 7 + late) / 8, Relaxed);
    }
}

/// [`PreciseTimer::sleep_until`].
#[derive(Debug)]
pub struct Sleep {
    timer: Arc<PreciseTimer>,
    due: Instant,
    /// When, and whom, the timer was asked to wake: the same task polled again before then
    /// (its other futures woke it) is still registered and does not register again.
    registered: Option<(Instant, Waker)>,
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let now = Instant::now();
        if now >= self.due {
            return Poll::Ready(());
        }
        let left = self.due - now;
        if left <= SPIN {
            while Instant::now() < self.due {
                std::hint::spin_loop();
            }
            return Poll::Ready(());
        }
        if let Some((fire, waker)) = &self.registered {
            if now < *fire && waker.will_wake(cx.waker()) {
                return Poll::Pending;
            }
        }
        let fire = self
            .due
            .checked_sub(self.timer.advance())
            .unwrap_or(self.due)
            .max(now);
        self.timer.register(fire, cx.waker());
        self.registered = Some((fire, cx.waker().clone()));
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_sleep_never_ends_before_its_time_and_sleeps_interleave() {
        let timer = PreciseTimer::start().unwrap();
        let t0 = Instant::now();
        let later = timer.sleep_until(t0 + Duration::from_millis(3));
        let sooner = timer.sleep_until(t0 + Duration::from_millis(1));
        let (a, b) = tokio::join!(
            async {
                later.await;
                Instant::now()
            },
            async {
                sooner.await;
                Instant::now()
            }
        );
        assert!(a >= t0 + Duration::from_millis(3));
        assert!(b >= t0 + Duration::from_millis(1));
        timer.sleep_until(t0).await;
    }
}
